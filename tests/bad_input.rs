//! Malformed and hostile input: Redis's error text, the connection closed exactly when Redis closes
//! it, every other client still served, and no panic (a fresh connection still gets PONG).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends raw bytes; returns what came back within a short wait and whether the server closed.
fn exchange(port: u16, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return (out, false)
            }
            Err(_) => return (out, true),
        }
    }
}

fn alive(port: u16) {
    let mut c = common::Conn::new(port);
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n", "server must keep serving");
}

#[test]
fn protocol_errors_match_redis_and_close() {
    let redis = common::start_redis();
    let rustis = common::start_rustis(2);
    let cases: &[&[u8]] = &[
        b"*x\r\n",
        b"*1\r\n+foo\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$600000000\r\n",
        b"*2147483648\r\n",
        b"*1\r\n$abc\r\n",
        b"SET \"a b\r\n",
        b"SET 'a\r\n",
        b"SET \"a\"b c\r\n",
        b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n",
        b"ECHO \"\\x41\\n\"\r\n",
        b"\r\n\r\nPING\r\n",
        b"*0\r\n*-1\r\nPING\r\n",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    ];
    for case in cases {
        let want = exchange(redis.port, case);
        let got = exchange(rustis.port, case);
        assert_eq!(
            (String::from_utf8_lossy(&got.0), got.1),
            (String::from_utf8_lossy(&want.0), want.1),
            "input {:?} (left: rustis, right: redis)",
            String::from_utf8_lossy(case)
        );
        alive(rustis.port);
    }
}

#[test]
fn oversized_inline_and_header_lines() {
    let redis = common::start_redis();
    let rustis = common::start_rustis(2);
    for case in [
        vec![b'a'; 70 * 1024],
        [b"*1\r\n$".as_slice(), &vec![b'1'; 70 * 1024]].concat(),
    ] {
        let want = exchange(redis.port, &case);
        let got = exchange(rustis.port, &case);
        assert_eq!(
            String::from_utf8_lossy(&got.0),
            String::from_utf8_lossy(&want.0)
        );
        assert_eq!(got.1, want.1);
        alive(rustis.port);
    }
}

#[test]
fn split_frames_byte_by_byte() {
    let rustis = common::start_rustis(2);
    let mut s = TcpStream::connect(("127.0.0.1", rustis.port)).unwrap();
    s.set_nodelay(true).unwrap();
    let req =
        b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\n";
    for b in req.iter() {
        s.write_all(&[*b]).unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let want = b"+OK\r\n$5\r\nvalue\r\n+PONG\r\n";
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(got, want);
}

#[test]
fn garbage_and_abandoned_pipelines_leave_the_server_serving() {
    let rustis = common::start_rustis(2);
    let mut seed = 0x1234_5678_9abc_def0u64;
    for _ in 0..50 {
        let bytes: Vec<u8> = (0..512)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = exchange(rustis.port, &bytes);
    }
    // Half a pipeline, then disconnect.
    {
        let mut s = TcpStream::connect(("127.0.0.1", rustis.port)).unwrap();
        let mut p = Vec::new();
        for i in 0..1000 {
            p.extend_from_slice(&common::encode(&[b"SET", format!("k{i}").as_bytes(), b"v"]));
        }
        s.write_all(&p[..p.len() / 2 + 7]).unwrap();
    }
    alive(rustis.port);
}

#[test]
fn a_client_that_never_reads_does_not_block_others() {
    let rustis = common::start_rustis(2);
    let mut greedy = TcpStream::connect(("127.0.0.1", rustis.port)).unwrap();
    greedy
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut setup = common::Conn::new(rustis.port);
    setup.call(&["SET", "big", &"x".repeat(64 * 1024)]);
    let req = common::encode(&[b"GET", b"big"]);
    let mut batch = Vec::new();
    for _ in 0..200 {
        batch.extend_from_slice(&req);
    }
    // Keep sending GETs of a 64 KB value without reading any reply, until the socket pushes back.
    for _ in 0..500 {
        if greedy.write_all(&batch).is_err() {
            break;
        }
    }
    // Everyone else is still served, on every worker.
    let mut other = common::Conn::new(rustis.port);
    for i in 0..100 {
        let k = format!("key{i}");
        assert_eq!(other.call(&["SET", &k, "v"]), b"+OK\r\n");
        assert_eq!(other.call(&["GET", &k]), b"$1\r\nv\r\n");
    }
    drop(greedy);
    alive(rustis.port);
}
