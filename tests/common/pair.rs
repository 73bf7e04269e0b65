//! The same clients on redis-server and Rustis, for differential tests of several connections
//! at once (client control, tracking): each step is sent to both, and each reply or push read on
//! both must be the same bytes.

use super::Conn;
use std::time::{Duration, Instant};

/// The same clients on both servers.
pub struct Pair {
    pub a: Vec<Conn>,
    pub b: Vec<Conn>,
}

impl Pair {
    pub fn new(redis: u16, rustis: u16, n: usize) -> Pair {
        Pair {
            a: (0..n).map(|_| Conn::new(redis)).collect(),
            b: (0..n).map(|_| Conn::new(rustis)).collect(),
        }
    }

    pub fn send(&mut self, i: usize, args: &[&str]) {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.a[i].send(&a);
        self.b[i].send(&a);
    }

    /// Reads one reply or push on client `i` of both and asserts they are equal.
    pub fn read(&mut self, i: usize, what: &str) -> String {
        let (ra, rb) = (self.a[i].read_reply(), self.b[i].read_reply());
        let (ra, rb) = (
            String::from_utf8_lossy(&ra).into_owned(),
            String::from_utf8_lossy(&rb).into_owned(),
        );
        assert_eq!(rb, ra, "{what} on client {i} (left: rustis, right: redis)");
        ra
    }

    pub fn call(&mut self, i: usize, args: &[&str]) -> String {
        self.send(i, args);
        self.read(i, &args.join(" "))
    }

    /// Sends and reads on both without comparing (HELLO, CLIENT ID: ids differ).
    pub fn quiet(&mut self, i: usize, args: &[&str]) -> (String, String) {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.a[i].send(&a);
        self.b[i].send(&a);
        (
            String::from_utf8_lossy(&self.a[i].read_reply()).into_owned(),
            String::from_utf8_lossy(&self.b[i].read_reply()).into_owned(),
        )
    }

    /// The next thing client `i` gets is PING's reply: no message is pending.
    pub fn nothing_pending(&mut self, i: usize) {
        assert_eq!(
            self.call(i, &["ping"]),
            "+PONG\r\n",
            "a message was pending on {i}"
        );
    }

    /// Each server's client id of client `i`.
    pub fn ids(&mut self, i: usize) -> (String, String) {
        let (a, b) = self.quiet(i, &["client", "id"]);
        (
            a.trim_start_matches(':').trim().to_string(),
            b.trim_start_matches(':').trim().to_string(),
        )
    }

    /// Waits (bounded) until both servers count `n` blocked clients, asked on client `i`.
    pub fn blocked(&mut self, i: usize, n: usize) {
        let want = format!("blocked_clients:{n}");
        let deadline = Instant::now() + Duration::from_secs(10);
        for conn in [&mut self.a[i], &mut self.b[i]] {
            loop {
                let info = String::from_utf8_lossy(&conn.call(&["info", "clients"])).into_owned();
                if info.contains(&want) {
                    break;
                }
                assert!(Instant::now() < deadline, "never {want}: {info}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}
