//! Differential tests of keyspace notifications for the set commands (src/command/set.rs): every
//! command's events against redis-server 7.0's, in order, including the no-op cases that raise
//! nothing (SADD of present members, SREM of a missing member, SMOVE of a member the source lacks,
//! a STORE with an empty result onto a missing key), errors, `new` and `keymiss` events, and
//! commands over keys of both workers. With the harness's two workers, keys x, y, a, d, e, t are
//! on worker 1 and z, b, c, w, s on worker 0. SPOP is only compared where its result is
//! deterministic (a one-member set, or a count covering an intset, whose order is ascending).

mod common;
use common::notify::NotifyDiff;

/// Every class these commands raise, and `new` (spelled without `A`: Rustis keeps the classes as
/// CONFIG GET shows them, and Redis shows `A` without the `n`).
const WITH_NEW: &str = "KEglszxn";

#[test]
fn sadd_and_srem() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        sadd x a b c
        sadd x a
        sadd x a d
        sadd z 1 2 3
        sadd z 3
        srem x nope
        srem nosuch a
        srem x a nope
        srem x b c d
        srem x a
        srem z 1 2 3 4
        set s str
        sadd s a
        srem s a
        ",
    );
    let mut n = NotifyDiff::new(WITH_NEW);
    n.events("sadd x a\nsadd x b\nsadd z 1\nsrem z 1\nsadd z 2");
}

#[test]
fn spop_deterministic() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        sadd x only
        spop x
        spop x
        sadd x 1 2 3
        spop x 0
        spop x 3
        sadd z 1 2 3
        spop z 10
        spop nosuch
        spop nosuch 2
        sadd y one
        spop y 1
        spop y -1
        spop y a
        spop y 1 2
        set s str
        spop s
        spop s 1
        ",
    );
}

#[test]
fn smove() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        sadd x a b c
        sadd y c
        smove x y a
        smove x y c
        smove x y nope
        smove x x b
        smove x x nope
        smove nosuch y a
        smove x z b
        smove z x b
        smove z nosuch2 b
        set s str
        smove s x a
        smove x s a
        smove nosuch s a
        smove y c a
        scard y
        ",
    );
    // Destinations created on the way, sources emptied, on one worker and across both.
    let mut n = NotifyDiff::new(WITH_NEW);
    n.events(
        "
        sadd x a
        smove x y a
        smove y z a
        smove z b a
        sadd c a
        smove b c a
        ",
    );
}

#[test]
fn stores() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        sadd x a b c
        sadd y b c d
        sinterstore t x y
        sunionstore t x y
        sdiffstore t x y
        sinterstore t x nosuch
        sinterstore t x nosuch
        sunionstore t nosuch nosuch2
        sdiffstore t y x
        sdiffstore t x x
        sdiffstore t x x
        sinterstore x x y
        sunionstore y y x
        set t str
        sinterstore t x y
        set t str
        sdiffstore t x x
        set t str
        sinterstore t x nosuch
        set s str
        sinterstore t x s
        sunionstore t s x
        sdiffstore t x s
        ",
    );
    // Across workers: the destination on one worker, the sources on the other, or mixed.
    n.events(
        "
        sadd x a b c
        sadd y b c d
        sadd b c e
        sinterstore z x y
        sunionstore z x y b
        sdiffstore z x b
        sdiffstore z x x
        sinterstore z x nosuch
        sinterstore z x nosuch
        sunionstore w z x
        sinterstore c x b
        sunionstore x b c
        scard x
        ",
    );
    let mut n = NotifyDiff::new(WITH_NEW);
    n.events("sadd x a b\nsadd y b\nsinterstore t x y\nsinterstore t x y\nsunionstore z x y\nsdiffstore c x y");
}

#[test]
fn keymiss_of_read_lookups() {
    let mut n = NotifyDiff::new("KEm");
    n.events(
        "
        sadd x a
        sinter x nosuch
        sunion nosuch x nosuch2
        sdiff nosuch x
        sinterstore t x nosuch
        sunionstore t nosuch x
        sintercard 2 x nosuch
        smembers nosuch
        scard nosuch
        sismember nosuch a
        smismember nosuch a b
        srandmember nosuch
        srandmember nosuch 2
        sscan nosuch 0
        srem nosuch a
        spop nosuch
        smove nosuch x a
        set s str
        sinter nosuch s nosuch2
        ",
    );
    // An expired source is deleted by the read lookup (expired, then keymiss).
    let mut n = NotifyDiff::new("KEAm");
    n.events("sadd x a\nsadd y a\npexpire y 1");
    std::thread::sleep(std::time::Duration::from_millis(20));
    // (On one worker: a step over keys of both works on copies of the live keys only, so an
    // expired source there goes by active expiry, later.)
    n.events("sinter x y\nsadd e a\npexpire e 1");
    std::thread::sleep(std::time::Duration::from_millis(20));
    n.events("sunionstore t e x");
}
