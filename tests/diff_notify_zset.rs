//! Differential tests of keyspace notifications for the sorted-set commands
//! (src/command/zset.rs): every command's events against redis-server 7.0's, in order, including
//! the no-op cases that raise nothing (ZADD XX of a new member, ZADD NX of a present one, a score
//! left as it was, ZREM of a missing member, a range that removes nothing, a count of 0), errors,
//! `new` events on created keys, and blocked clients served by a ZADD from another connection.
//! With the harness's two workers, keys x, y, a, d, e, t are on worker 1 and z, b, c, w, s on
//! worker 0.

mod common;
use common::notify::NotifyDiff;
use common::Conn;
use std::time::{Duration, Instant};

/// Every class these commands raise, and `new` (spelled without `A`: Rustis keeps the classes as
/// CONFIG GET shows them, and Redis shows `A` without the `n`).
const WITH_NEW: &str = "KEglszxn";

#[test]
fn zadd_and_zincrby() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        zadd x 1 a 2 b
        zadd x 1 a
        zadd x 3 a
        zadd x nx 5 a
        zadd x nx 5 c
        zadd x xx 1 nosuch
        zadd x xx 9 a
        zadd x xx ch 9 a 10 b
        zadd x gt 1 a
        zadd x gt 20 a
        zadd x lt 30 a
        zadd x lt 1 a
        zadd x gt ch 1 a 100 new
        zadd nosuch xx 1 a
        zadd nosuch xx incr 1 a
        zadd x incr 1 a
        zadd x incr 0 a
        zadd x incr nx 1 a
        zadd x incr xx 1 nope
        zadd x incr gt -5 a
        zadd x incr 1 fresh
        zincrby x 2 a
        zincrby x 0 a
        zincrby x 1 other
        zincrby z 1 m
        zadd z inf m
        zincrby z -inf m
        zadd z incr -inf m
        zadd x notafloat a
        zadd x 1
        zadd x nx xx 1 a
        zadd x gt lt 1 a
        zadd x incr 1 a 2 b
        zincrby x notafloat a
        set s str
        zadd s 1 a
        zadd s xx 1 a
        zincrby s 1 a
        zrange x 0 -1 withscores
        ",
    );
    let mut n = NotifyDiff::new(WITH_NEW);
    n.events(
        "zadd x 1 a\nzadd x 2 a\nzincrby y 1 a\nzadd z incr 1 a\nzadd b gt 1 a\nzadd c nx 1 a",
    );
}

#[test]
fn zrem_and_remranges() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        zadd x 1 a 2 b 3 c 4 d 5 e
        zrem x nope
        zrem nosuch a
        zrem x a nope
        zrem x b c
        zrem x d e nope
        zadd x 1 a 2 b 3 c 4 d 5 e
        zremrangebyscore x 10 20
        zremrangebyscore x (1 2
        zremrangebyscore x -inf (1
        zremrangebyscore nosuch 0 10
        zremrangebyscore x a b
        zremrangebyrank x 10 20
        zremrangebyrank x 0 0
        zremrangebyrank x -1 -1
        zremrangebyrank nosuch 0 -1
        zremrangebyrank x a 1
        zremrangebyrank x 0 -1
        zadd z 0 a 0 b 0 c 0 d
        zremrangebylex z [x [y
        zremrangebylex z [a (c
        zremrangebylex z - +
        zremrangebylex nosuch - +
        zremrangebylex z a b
        zadd z 0 a
        zremrangebylex z - (a
        zremrangebylex z [a [a
        set s str
        zrem s a
        zremrangebyscore s 0 1
        zremrangebyrank s 0 1
        zremrangebylex s - +
        ",
    );
}

#[test]
fn pops() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        zadd x 1 a 2 b 3 c 4 d 5 e
        zpopmin x
        zpopmax x
        zpopmin x 0
        zpopmax x 0
        zpopmin x 2
        zpopmax x 10
        zpopmin x
        zpopmin nosuch
        zpopmax nosuch 3
        zpopmin x -1
        zpopmin x a
        zpopmin x 1 2
        zadd z 1 a 2 b 3 c
        zmpop 2 nosuch z min
        zmpop 2 nosuch z max count 1
        zmpop 1 z min count 10
        zmpop 1 z min
        zmpop 0 z min
        zmpop 1 z up
        zmpop 1 z min count 0
        zadd b 1 a
        zmpop 2 x b max count 3
        set s str
        zpopmin s
        zpopmax s 2
        zmpop 2 nosuch s min
        zmpop 2 z s min
        ",
    );
}

#[test]
fn blocking_forms_with_data() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        zadd x 1 a 2 b 3 c
        zadd z 1 a
        bzpopmin nosuch x 0
        bzpopmax nosuch x 0
        bzpopmin z x 0
        bzpopmax x 0
        zadd y 1 a 2 b 3 c
        bzmpop 0 2 nosuch y min count 2
        bzmpop 0 1 y max count 5
        bzpopmin x notatimeout
        bzpopmin x -1
        bzmpop 0 1 x up
        set s str
        bzpopmin s 0
        bzmpop 0 1 s min
        ",
    );
    n.events(
        "
        multi
        bzpopmin nosuch 0
        bzpopmax nosuch z 0
        bzmpop 0 1 nosuch min
        zadd nosuch 1 a
        bzpopmax nosuch 0
        exec
        ",
    );
}

// ------------------------------------------------------------------------------------------------
// Blocked clients

/// INFO's blocked_clients on the server `c` talks to.
fn blocked_clients(c: &mut Conn) -> u64 {
    let info = String::from_utf8_lossy(&c.call(&["info", "clients"])).into_owned();
    info.split("\r\n")
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(u64::MAX)
}

/// A second connection to each server, for a call that blocks.
struct Waiter {
    a: Conn,
    b: Conn,
}

impl Waiter {
    fn new(n: &NotifyDiff) -> Self {
        Waiter {
            a: Conn::new(n.d.redis.port),
            b: Conn::new(n.d.rustis.port),
        }
    }

    /// Sends the blocking call `line` on both, then waits until both servers count `blocked`
    /// blocked clients (polled, with a generous bound), so what follows finds it waiting.
    fn block(&mut self, n: &mut NotifyDiff, line: &str, blocked: u64) {
        let args: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        self.a.send(&args);
        self.b.send(&args);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (ra, rb) = (blocked_clients(&mut n.d.a), blocked_clients(&mut n.d.b));
            if ra == blocked && rb == blocked {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{line}: blocked_clients redis {ra}, rustis {rb}, expected {blocked}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The reply each server gave the blocked call, which must be equal.
    fn reply(&mut self) -> String {
        let ra = String::from_utf8_lossy(&self.a.read_reply()).into_owned();
        let rb = String::from_utf8_lossy(&self.b.read_reply()).into_owned();
        assert_eq!(rb, ra, "blocked reply differs (left: rustis, right: redis)");
        ra
    }
}

#[test]
fn blocked_pops_served_by_a_zadd() {
    for classes in ["KEA", WITH_NEW] {
        let mut n = NotifyDiff::new(classes);
        let mut w = Waiter::new(&n);
        let mut w2 = Waiter::new(&n);
        for key in ["x", "z"] {
            // Served with the only member: the key goes.
            w.block(&mut n, &format!("bzpopmin nosuch {key} 0"), 1);
            n.events(&format!("zadd {key} 1 a"));
            w.reply();
            // Served with one of two members.
            w.block(&mut n, &format!("bzpopmax {key} 0"), 1);
            n.events(&format!("zadd {key} 1 a 2 b"));
            w.reply();
            n.events(&format!("zrange {key} 0 -1\ndel {key}"));
            // BZMPOP with a count, two waiters on one key.
            w.block(&mut n, &format!("bzmpop 0 2 nosuch {key} min count 2"), 1);
            w2.block(&mut n, &format!("bzmpop 0 1 {key} max"), 2);
            n.events(&format!("zadd {key} 1 a 2 b 3 c 4 d"));
            w.reply();
            w2.reply();
            n.events(&format!("zrange {key} 0 -1\ndel {key}"));
        }
        // A waiter on keys of both workers, served by either.
        w.block(&mut n, "bzpopmin x z 0", 1);
        n.events("zadd z 5 m");
        w.reply();
        w.block(&mut n, "bzpopmax z x 0", 1);
        n.events("zadd x 5 m 6 n");
        w.reply();
        n.events("del x");
        // A ZADD that changes nothing raises nothing and serves nobody; ZINCRBY serves.
        w.block(&mut n, "bzpopmin y 0", 1);
        n.events("zadd y xx 1 a\nzincrby y 1 a");
        w.reply();
        // Served after a MULTI.
        w.block(&mut n, "bzpopmax y 0", 1);
        n.events("multi\nzadd y 1 a 2 b\nzrem y a\nexec");
        w.reply();
        n.events("");
    }
}
