//! Connection buffers grow on demand and shrink when idle, as Redis's query and reply buffers do,
//! checked through the server's own accounting (CLIENT LIST) beside a real redis-server. The first
//! two tests follow Redis's own unit/querybuf.

mod common;

use std::time::{Duration, Instant};

use common::{start_redis, start_rustis, Conn};

/// The fields of the CLIENT LIST line of the client named `name`.
fn client_fields(admin: &mut Conn, name: &str) -> Option<Vec<(String, u64)>> {
    let reply = admin.call(&["CLIENT", "LIST"]);
    let text = String::from_utf8_lossy(&reply).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains(&format!(" name={name} ")))?;
    Some(
        line.split(' ')
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect(),
    )
}

fn field(fields: &[(String, u64)], name: &str) -> u64 {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no {name} in CLIENT LIST"))
}

/// qbuf + qbuf-free of client `name` (0 when absent), as Redis's test computes it.
fn query_buffer(admin: &mut Conn, name: &str) -> u64 {
    client_fields(admin, name).map_or(0, |f| field(&f, "qbuf") + field(&f, "qbuf-free"))
}

/// Polls `cond` until it holds or `secs` pass; returns whether it held.
fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn idle_query_buffer_is_freed(port: u16, server: &str) {
    let mut admin = Conn::new(port);
    let mut c = Conn::new(port);
    assert_eq!(c.call(&["CLIENT", "SETNAME", "qb_idle"]), b"+OK\r\n");
    let orig = query_buffer(&mut admin, "qb_idle");
    assert!(
        (16384..32768).contains(&orig),
        "{server}: query buffer after a read is {orig}"
    );
    let freed = wait_for(10, || {
        let f = client_fields(&mut admin, "qb_idle").expect("client listed");
        field(&f, "idle") >= 3 && field(&f, "qbuf") + field(&f, "qbuf-free") == 0
    });
    assert!(freed, "{server}: idle query buffer was not freed");
}

fn big_query_buffer_shrinks_to_its_peak(port: u16, server: &str) {
    let mut admin = Conn::new(port);
    let mut c = Conn::new(port);
    assert_eq!(c.call(&["CLIENT", "SETNAME", "qb_busy"]), b"+OK\r\n");
    let big = "A".repeat(400_000);
    assert_eq!(c.call(&["SET", "x", &big]), b"+OK\r\n");
    let orig = query_buffer(&mut admin, "qb_busy");
    assert!(
        orig > 32768,
        "{server}: query buffer after a 400 KB SET is {orig}"
    );
    let small = "A".repeat(100);
    let shrunk = wait_for(5, || {
        assert_eq!(c.call(&["SET", "x", &small]), b"+OK\r\n");
        query_buffer(&mut admin, "qb_busy") < orig
    });
    let now = query_buffer(&mut admin, "qb_busy");
    assert!(
        shrunk && now > 0 && now < orig,
        "{server}: query buffer {orig} -> {now}"
    );
}

#[test]
fn idle_query_buffer_is_freed_like_redis() {
    let redis = start_redis();
    let rustis = start_rustis(2);
    idle_query_buffer_is_freed(redis.port, "redis");
    idle_query_buffer_is_freed(rustis.port, "rustis");
}

#[test]
fn big_query_buffer_shrinks_like_redis() {
    let redis = start_redis();
    let rustis = start_rustis(2);
    big_query_buffer_shrinks_to_its_peak(redis.port, "redis");
    big_query_buffer_shrinks_to_its_peak(rustis.port, "rustis");
}

/// A request over 1 MB does not leave its buffer behind, and an idle connection holds no more
/// memory than the same connection on redis-server.
#[test]
fn idle_and_big_request_memory_not_above_redis() {
    let redis = start_redis();
    let rustis = start_rustis(2);
    let mut idle_mem = Vec::new();
    for (port, server) in [(redis.port, "redis"), (rustis.port, "rustis")] {
        let mut admin = Conn::new(port);
        let mut c = Conn::new(port);
        assert_eq!(c.call(&["CLIENT", "SETNAME", "mem"]), b"+OK\r\n");
        let big = "B".repeat(3 << 20);
        assert_eq!(c.call(&["SET", "big", &big]), b"+OK\r\n");
        assert_eq!(c.call(&["GET", "big"]).len(), big.len() + 12);
        if server == "rustis" {
            let f = client_fields(&mut admin, "mem").expect("listed");
            assert!(
                field(&f, "qbuf") + field(&f, "qbuf-free") < 1 << 20,
                "rustis kept the big request's buffer"
            );
        }
        let settled = wait_for(10, || {
            let f = client_fields(&mut admin, "mem").expect("listed");
            field(&f, "idle") >= 3 && field(&f, "qbuf") + field(&f, "qbuf-free") == 0
        });
        assert!(settled, "{server}: buffers not released when idle");
        let f = client_fields(&mut admin, "mem").expect("listed");
        assert_eq!(field(&f, "obl"), 0);
        assert_eq!(field(&f, "omem"), 0);
        idle_mem.push(field(&f, "tot-mem"));
    }
    assert!(
        idle_mem[1] <= idle_mem[0],
        "idle connection: rustis tot-mem {} > redis {}",
        idle_mem[1],
        idle_mem[0]
    );
}

/// A big request is not held twice: the value a 48 MB SET stores is a slice of the buffer the
/// request was read into, on the worker that read it or on the owner of the key it crossed to, so
/// the server's resident memory grows by about the value's size (as redis-server's does), not
/// twice that; and it goes back once the keys are deleted and the client has left.
#[test]
fn a_big_set_costs_its_size_once() {
    use std::process::{Command, Stdio};
    fn rss(pid: u32) -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .unwrap_or(0)
            * 1024
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_rustis"))
        .args([
            "--save",
            "",
            "--dir",
            &common::test_dir("conn-buffers"),
            "--port",
            &port.to_string(),
            "--threads",
            "2",
            "--loglevel",
            "warning",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rustis");
    // Killed however the test ends (a failed assertion must not leave a server behind).
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "rustis did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Keys "z" and "x" belong to different workers (of two): whichever worker the connection
    // lands on, one SET runs on its own shard and the other crosses to the owner.
    let size = 48usize << 20;
    let before = rss(child.0.id());
    let mut c = Conn::new(port);
    for (i, key) in ["z", "x"].into_iter().enumerate() {
        let value = vec![b'v'; size];
        c.send(&[b"SET", key.as_bytes(), &value]);
        drop(value);
        assert_eq!(c.read_reply(), b"+OK\r\n");
        let grown = rss(child.0.id()).saturating_sub(before);
        let held = (i as u64 + 1) * size as u64;
        let info = String::from_utf8_lossy(&c.call(&["INFO", "memory"])).into_owned();
        let used = info
            .lines()
            .find(|l| l.starts_with("used_memory:"))
            .unwrap_or("")
            .to_string();
        assert!(
            grown < held * 13 / 10,
            "{} {size}-byte SETs grew the server by {grown} bytes (before {before}, {used})",
            i + 1
        );
        assert_eq!(
            c.call(&["STRLEN", key]),
            format!(":{size}\r\n").into_bytes()
        );
    }
    assert_eq!(c.call(&["DEL", "z", "x"]), b":2\r\n");
    drop(c);
    let released = wait_for(10, || rss(child.0.id()) < before + (8 << 20));
    drop(child);
    assert!(released, "memory not returned after DEL and disconnect");
}
