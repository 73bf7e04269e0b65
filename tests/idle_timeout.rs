//! `timeout` (CONFIG SET timeout N) against redis-server 7.0: a client idle past it is closed,
//! while a subscribed client and one blocked in BLPOP stay, on both servers. Bounded: each
//! server is watched for at most 10 seconds.

mod common;
use common::{start_redis, start_rustis, Conn};
use std::io::Read;
use std::time::{Duration, Instant};

/// Whether the server closed `c` (a read sees the end of the stream) within `limit`.
fn closed_within(c: &Conn, limit: Duration) -> bool {
    let mut s = c.stream();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn idle_clients_are_closed_past_timeout() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    for port in [redis.port, rustis.port] {
        let mut admin = Conn::new(port);
        assert_eq!(admin.call(&["config", "set", "timeout", "1"]), b"+OK\r\n");
        let idle = Conn::new(port);
        let mut sub = Conn::new(port);
        sub.call(&["subscribe", "ch"]);
        let mut blocked = Conn::new(port);
        blocked.send(&[b"blpop", b"nothing", b"0"]);
        assert!(
            closed_within(&idle, Duration::from_secs(10)),
            "port {port}: idle client kept"
        );
        // The others are still there: a message and a push reach them. (The first admin
        // connection was idle too.)
        let mut admin = Conn::new(port);
        assert_eq!(admin.call(&["config", "set", "timeout", "0"]), b"+OK\r\n");
        assert_eq!(
            admin.call(&["publish", "ch", "m"]),
            b":1\r\n",
            "port {port}"
        );
        assert_eq!(admin.call(&["rpush", "nothing", "v"]), b":1\r\n");
        assert_eq!(
            blocked.read_reply(),
            b"*2\r\n$7\r\nnothing\r\n$1\r\nv\r\n".to_vec(),
            "port {port}"
        );
    }
}
