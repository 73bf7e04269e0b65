//! Every way a peer can go away releases its connection: the slab entry (connected_clients) and the
//! file descriptor come back, on a server with 2 workers.
//!
//! One test function on purpose: it counts this process's descriptors, so nothing else may open or
//! close sockets in this binary meanwhile.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::{encode, start_rustis, Conn};

/// How the client leaves.
#[derive(Clone, Copy, Debug)]
enum Leave {
    /// close(): FIN.
    Fin,
    /// SO_LINGER 0 then close(): RST.
    Rst,
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).unwrap();
    s
}

fn leave(s: TcpStream, how: Leave) {
    match how {
        Leave::Fin => drop(s),
        Leave::Rst => {
            let sock = socket2::Socket::from(s);
            sock.set_linger(Some(Duration::ZERO)).unwrap();
            drop(sock);
        }
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn connected_clients(admin: &mut Conn) -> u64 {
    let reply = admin.call(&["INFO", "clients"]);
    let text = String::from_utf8_lossy(&reply);
    text.split("\r\n")
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|v| v.parse().ok())
        .expect("connected_clients in INFO")
}

/// Waits (bounded) until the server reports `want` clients and this process holds `fds`
/// descriptors; fails with what it saw otherwise.
fn settle(admin: &mut Conn, want: u64, fds: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (c, f) = (connected_clients(admin), open_fds());
        if c == want && f == fds {
            return;
        }
        if Instant::now() > deadline {
            panic!("{what}: connected_clients {c} (want {want}), descriptors {f} (want {fds})");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Keys owned by each of the two workers (slots 0..8191 and 8192..16383).
const KEYS: [&str; 2] = ["{a}k", "{b}k"];

#[test]
fn every_way_a_peer_leaves_releases_the_connection() {
    let server = start_rustis(2);
    let port = server.port;
    let mut admin = Conn::new(port);
    let mut setup = Conn::new(port);
    assert_eq!(
        rustis::keyslot::slot_owner(rustis::keyslot::key_slot(KEYS[0].as_bytes()), 2),
        1 - rustis::keyslot::slot_owner(rustis::keyslot::key_slot(KEYS[1].as_bytes()), 2),
        "the two keys live on different workers"
    );
    let big = "x".repeat(4 << 20);
    for k in KEYS {
        assert_eq!(setup.call(&["SET", k, &big]), b"+OK\r\n");
    }
    drop(setup);
    let deadline = Instant::now() + Duration::from_secs(20);
    while connected_clients(&mut admin) != 1 {
        assert!(Instant::now() < deadline, "setup connection not released");
        std::thread::sleep(Duration::from_millis(20));
    }
    let base_fds = open_fds();

    let partial: [&[u8]; 4] = [
        b"PIN",
        b"*2\r\n$3\r\nGET\r\n",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nhalf",
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n",
    ];
    for how in [Leave::Fin, Leave::Rst] {
        // A partial request, closed at once: 200 of each kind.
        for req in partial {
            for _ in 0..200 {
                let mut s = connect(port);
                s.write_all(req).unwrap();
                leave(s, how);
            }
        }
        settle(
            &mut admin,
            1,
            base_fds,
            &format!("partial request, {how:?}"),
        );

        // A complete request whose reply is never read.
        for _ in 0..200 {
            let mut s = connect(port);
            s.write_all(&encode(&[b"PING"])).unwrap();
            leave(s, how);
        }
        settle(
            &mut admin,
            1,
            base_fds,
            &format!("complete request, {how:?}"),
        );

        // Replies pending from the other worker: a pipeline of reads on both workers' keys.
        let mut pipeline = Vec::new();
        for i in 0..2000 {
            pipeline.extend(encode(&[b"STRLEN", KEYS[i % 2].as_bytes()]));
        }
        for _ in 0..50 {
            let mut s = connect(port);
            s.write_all(&pipeline).unwrap();
            leave(s, how);
        }
        settle(
            &mut admin,
            1,
            base_fds,
            &format!("pending remote replies, {how:?}"),
        );

        // During a large write, and while paused by backpressure: 4 MB values asked for until more
        // than the 16 MB output pause is waiting, with the client never reading.
        for reads in [1usize, 12] {
            for _ in 0..10 {
                let mut s = connect(port);
                let mut req = Vec::new();
                for i in 0..reads {
                    req.extend(encode(&[b"GET", KEYS[i % 2].as_bytes()]));
                }
                req.extend(b"*2\r\n$3\r\nGET\r\n");
                s.write_all(&req).unwrap();
                std::thread::sleep(Duration::from_millis(20));
                leave(s, how);
            }
            settle(
                &mut admin,
                1,
                base_fds,
                &format!("large write ({reads} values), {how:?}"),
            );
        }

        // Half-close after a complete request: Redis closes on end of stream too.
        let mut s = connect(port);
        s.write_all(&encode(&[b"PING"])).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        drop(s);
        settle(&mut admin, 1, base_fds, &format!("half-close, {how:?}"));
    }

    // The server still serves.
    assert_eq!(admin.call(&["PING"]), b"+PONG\r\n");
}
