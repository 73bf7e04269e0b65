//! Differential tests of keyspace notifications for the list commands (src/command/list.rs):
//! every command's events against redis-server 7.0's, in order, including the no-op cases that
//! raise nothing (a pop of a missing key, LPUSHX of a missing key, LREM of no match, a count of
//! 0), errors, `new` events on created keys, moves across workers, and blocked clients served by a
//! push from another connection. With the harness's two workers, keys x, y, a, d, e, t are on
//! worker 1 and z, b, c, w, s on worker 0.

mod common;
use common::notify::NotifyDiff;

/// Every class these commands raise, and `new` (spelled without `A`: Rustis keeps the classes as
/// CONFIG GET shows them, and Redis shows `A` without the `n`).
const WITH_NEW: &str = "KEglszxn";
use common::Conn;
use std::time::{Duration, Instant};

#[test]
fn pushes() {
    let mut n = NotifyDiff::new("KEA");
    let ev = n.events(
        "
        lpush x a b
        rpush x c
        lpushx x d e
        rpushx x f
        lpushx nosuch a
        rpushx nosuch a
        rpush z 1 2 3
        set s str
        lpush s a
        rpushx s a
        ",
    );
    assert_eq!(ev.len(), 12, "{ev:?}");
    // The databases' `new` comes before the push that created the key.
    let mut n = NotifyDiff::new(WITH_NEW);
    n.events("lpush x a\nlpush x b\nrpush z a\nlpushx y a\nrpushx y a");
}

#[test]
fn pops() {
    let mut n = NotifyDiff::new("KEA");
    let ev = n.events(
        "
        rpush x a b c d e f
        lpop x
        rpop x
        lpop x 0
        rpop x 0
        lpop x 2
        rpop x 1
        lpop x 5
        lpop x
        rpop nosuch
        lpop nosuch 3
        lpop x -1
        lpop x notanumber
        lpop x 1 2
        rpush z a
        rpop z 3
        rpush z a
        lpop z
        set s str
        lpop s
        rpop s 2
        ",
    );
    assert!(ev.iter().any(|e| e == "__keyevent@0__:del x"), "{ev:?}");
}

#[test]
fn linsert_lset_ltrim_lrem() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        rpush x a b c a b c a
        linsert x before b B
        linsert x after c C
        linsert x before nope v
        linsert nosuch before a v
        linsert x sideways a v
        lset x 0 A
        lset x -1 Z
        lset x 100 v
        lset x notanumber v
        lset nosuch 0 v
        ltrim x 0 -1
        ltrim x 1 -2
        ltrim nosuch 0 1
        ltrim x a b
        lrem x 1 a
        lrem x -1 b
        lrem x 0 nope
        lrem nosuch 0 a
        lrem x notanumber a
        lrange x 0 -1
        rpush y q q q
        lrem y 0 q
        rpush y a b
        ltrim y 5 10
        rpush z a b c
        ltrim z 2 1
        set s str
        linsert s before a b
        lset s 0 a
        ltrim s 0 1
        lrem s 0 a
        ",
    );
}

#[test]
fn lmove_and_rpoplpush() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        rpush x a b c
        lmove x y left right
        lmove x y right left
        lmove x x left right
        lmove x x right right
        lmove x z left left
        lmove y z right right
        lmove z x left left
        lmove nosuch x left left
        lmove nosuch nosuch left left
        set s str
        lmove s x left left
        lmove x s left left
        lmove z s left left
        lmove x y up down
        rpoplpush x y
        rpoplpush y z
        rpoplpush z z
        rpoplpush nosuch z
        rpoplpush z s
        lrange x 0 -1
        lrange y 0 -1
        lrange z 0 -1
        ",
    );
    // A destination created on the way, and a source emptied, on one worker and across both.
    let mut n = NotifyDiff::new(WITH_NEW);
    n.events(
        "
        rpush x a b
        lmove x y left left
        lmove x z right right
        rpush t 1
        rpoplpush t e
        rpoplpush z b
        rpush a only
        lmove a a left right
        ",
    );
}

#[test]
fn lmpop() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        rpush y a b c d
        rpush z 1 2 3
        lmpop 2 nosuch y left
        lmpop 2 nosuch y right count 2
        lmpop 3 nosuch z y left count 10
        lmpop 1 y right count 10
        lmpop 1 y left
        lmpop 2 x y left
        lmpop 0 x left
        lmpop 1 x up
        lmpop 1 x left count 0
        set s str
        lmpop 2 nosuch s left
        lmpop 2 z s left
        ",
    );
}

#[test]
fn blocking_forms_with_data() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        rpush x a b c
        rpush z 1 2
        blpop nosuch x 0
        brpop nosuch z 0
        brpop z 0
        blmove x y left right 0
        blmove x z right left 0
        brpoplpush z y 0
        brpoplpush y y 0
        blmpop 0 2 nosuch y left count 5
        rpush z 1 2
        blmpop 0 1 z right
        blpop x 1.5
        blpop x notatimeout
        blpop x -1
        blmove x y left up 0
        blmpop 0 0 x left
        set s str
        blpop s 0
        blmove s x left left 0
        ",
    );
    // Inside MULTI an empty key answers as a timeout at once, with no event.
    n.events(
        "
        multi
        blpop nosuch 0
        brpop nosuch z 0
        blmove nosuch y left left 0
        blmpop 0 1 nosuch left
        lpush nosuch v
        blpop nosuch 0
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
fn blocked_pops_served_by_a_push() {
    for classes in ["KEA", WITH_NEW] {
        let mut n = NotifyDiff::new(classes);
        let mut w = Waiter::new(&n);
        // A key on each worker; the push comes from the main connection.
        for key in ["x", "z"] {
            w.block(&mut n, &format!("blpop nosuch {key} 0"), 1);
            n.events(&format!("rpush {key} a b"));
            w.reply();
            n.events(&format!("lrange {key} 0 -1\ndel {key}"));
            w.block(&mut n, &format!("brpop {key} 0"), 1);
            n.events(&format!("rpush {key} only"));
            w.reply();
            n.events("");
        }
        // Two waiters on one key, one push of three elements: both served, in order.
        let mut w2 = Waiter::new(&n);
        w.block(&mut n, "blpop y 0", 1);
        w2.block(&mut n, "brpop y 0", 2);
        n.events("rpush y 1 2 3");
        w.reply();
        w2.reply();
        n.events("lrange y 0 -1");
        // Two waiters, one element: the first is served and deletes the key, the second waits on.
        w.block(&mut n, "blpop b 0", 1);
        w2.block(&mut n, "blpop b 0", 2);
        n.events("lpush b v");
        w.reply();
        n.events("lpush b v2");
        w2.reply();
        n.events("");
        // BLMPOP with a count, served by a push.
        w.block(&mut n, "blmpop 0 2 nosuch c right count 2", 1);
        n.events("rpush c 1 2 3");
        w.reply();
        n.events("del c");
        w.block(&mut n, "blmpop 0 1 c left count 5", 1);
        n.events("lpush c a b");
        w.reply();
        n.events("");
    }
}

#[test]
fn blocked_moves_served_by_a_push() {
    for classes in ["KEA", WITH_NEW] {
        let mut n = NotifyDiff::new(classes);
        let mut w = Waiter::new(&n);
        // On one worker, then across workers, each creating its destination and emptying its
        // source. Across workers, the worker serves the move after the push has replied (Redis
        // serves it before): the events are compared once the waiter has its reply.
        for (src, dst) in [("x", "y"), ("b", "c"), ("x", "z"), ("z", "a")] {
            let across = common::owner(src, 2) != common::owner(dst, 2);
            for (call, push) in [
                (
                    format!("blmove {src} {dst} left right 0"),
                    format!("lpush {src} v"),
                ),
                (
                    format!("brpoplpush {src} {dst} 0"),
                    format!("rpush {src} 1 2"),
                ),
            ] {
                w.block(&mut n, &call, 1);
                if across {
                    n.d.script(&push);
                    w.reply();
                    n.events("");
                } else {
                    n.events(&push);
                    w.reply();
                }
                n.events(&format!("lrange {src} 0 -1\nlrange {dst} 0 -1"));
            }
            n.events(&format!("del {src} {dst}"));
        }
        // A chain: the move into y serves the client waiting on y.
        let mut w2 = Waiter::new(&n);
        w.block(&mut n, "blmove x y right left 0", 1);
        w2.block(&mut n, "blpop y 0", 2);
        n.events("rpush x v");
        w.reply();
        w2.reply();
        n.events("");
        // The chain across workers: x (worker 1) to z (worker 0).
        w.block(&mut n, "blmove x z left left 0", 1);
        w2.block(&mut n, "brpop z 0", 2);
        n.d.script("rpush x v");
        w.reply();
        w2.reply();
        n.events("");
        // A destination of another type by the time the source gets data: WRONGTYPE, no move.
        w.block(&mut n, "blmove d e left left 0", 1);
        n.events("set e str\nrpush d v");
        w.reply();
        n.events("lrange d 0 -1\ndel d e");
    }
}

#[test]
fn pushes_in_multi_serve_after_exec() {
    let mut n = NotifyDiff::new("KEA");
    let mut w = Waiter::new(&n);
    w.block(&mut n, "blpop x 0", 1);
    n.events("multi\nrpush x a\nrpush x b\nlpop x\nexec");
    w.reply();
    n.events("lrange x 0 -1");
}
