//! Differential tests of the stream family against a real redis-server: every command with its
//! errors, id edge cases (the largest id, `ms-*` overflow, malformed ids, absurd counts), consumer
//! groups, XINFO, RESP3, keys on both workers (x, y, a, d, e, t on one; z, b, c, w, s on the
//! other), and blocking XREAD/XREADGROUP woken across workers. Ids are explicit wherever a reply
//! shows them (`*` ids differ between servers); times (idle, delivery and seen times) are compared
//! within a tolerance.

mod common;
use common::{owner, Conn, Diff};

/// Compares two raw replies line by line, letting integers differ by up to `tol`.
fn close(ra: &[u8], rb: &[u8], tol: i64, what: &str) {
    let a = String::from_utf8_lossy(ra);
    let b = String::from_utf8_lossy(rb);
    let la: Vec<&str> = a.split("\r\n").collect();
    let lb: Vec<&str> = b.split("\r\n").collect();
    assert_eq!(la.len(), lb.len(), "{what}: rustis {b:?}, redis {a:?}");
    for (x, y) in la.iter().zip(&lb) {
        if x == y {
            continue;
        }
        let (Some(nx), Some(ny)) = (
            x.strip_prefix(':').and_then(|v| v.parse::<i64>().ok()),
            y.strip_prefix(':').and_then(|v| v.parse::<i64>().ok()),
        ) else {
            panic!("{what}: line {y:?} (rustis) vs {x:?} (redis) in {b:?} / {a:?}");
        };
        assert!((nx - ny).abs() <= tol, "{what}: {ny} vs {nx}");
    }
}

/// Sends `args` to both servers; integers may differ by `tol` (times).
fn near(d: &mut Diff, args: &[&str], tol: i64) {
    let ra = d.a.call(args);
    let rb = d.b.call(args);
    close(&ra, &rb, tol, &format!("{args:?}"));
}

#[test]
fn keys_used_are_on_both_workers() {
    for k in ["x", "y", "a", "d", "e", "t"] {
        assert_eq!(owner(k, 2), 1, "{k}");
    }
    for k in ["z", "b", "c", "w", "s"] {
        assert_eq!(owner(k, 2), 0, "{k}");
    }
}

#[test]
fn xadd_ids_and_errors() {
    let mut d = Diff::new();
    d.script(
        "
        xadd s 1-1 a 1
        xadd s 1-1 a 1
        xadd s 1-0 a 1
        xadd s 0-1 a 1
        xadd s 1-* b 2
        xadd s 1 c 3
        xadd s 2-* c 3
        xadd s 2-* c 4 d 5
        xadd s 3-5 a 1 b 2
        xadd x 0-0 a 1
        exists x
        xadd x 0-* a 1
        xadd x 0 a 1
        xadd x 0-1 a 1
        xadd x 5-18446744073709551615 a 1
        xadd x 5-* a 1
        xadd x 6-* a 1
        xadd x 18446744073709551615-* a 1
        xadd x 18446744073709551615-18446744073709551615 a 1
        xadd x 18446744073709551615-18446744073709551615 a 1
        xadd x * a 1
        xadd y 18446744073709551616-0 a 1
        xadd y 1-18446744073709551616 a 1
        xadd y -1 a 1
        xadd y 1- a 1
        xadd y -1-1 a 1
        xadd y 1-2-3 a 1
        xadd y abc a 1
        xadd y +5 a 1
        xadd y 007-0 a 1
        xadd y 1-* a 1
        xadd y - a 1
        xadd y + a 1
        xadd y 10-x a 1
        xadd y 1-1 a
        xadd y 1-1
        xadd y
        xadd y 2-1 a 1 b
        xadd y nomkstream 3-1 a 1
        xadd w nomkstream 3-1 a 1
        exists w
        xadd y maxlen
        xadd y maxlen 2
        xadd y maxlen -1 9-1 a 1
        xadd y maxlen abc 9-1 a 1
        xadd y maxlen 2 minid 1 9-1 a 1
        xadd y limit 10 9-1 a 1
        xadd y maxlen 2 limit 10 9-1 a 1
        xadd y maxlen ~ 2 limit -1 9-1 a 1
        xadd y maxlen ~ 2 limit abc 9-1 a 1
        xadd y minid ~ abc 9-1 a 1
        xadd y minid - 9-1 a 1
        xadd y maxlen = 1 10-1 a 1
        xadd y maxlen ~ 1 limit 5 11-1 a 1
        xlen y
        xrange y - +
        set str v
        xadd str 1-1 a 1
        xlen str
        xrange str - +
        xlen nosuch
        type s
        object encoding s
        xlen s
        xrange s - +
        ",
    );
}

#[test]
fn ranges_counts_and_deletes() {
    let mut d = Diff::new();
    for i in 1..=30 {
        let id = format!("{}-{}", i / 3, i % 3);
        let v = format!("v{i}");
        if i % 4 == 0 {
            d.check(&["xadd", "s", &id, "other", &v]);
        } else {
            d.check(&["xadd", "s", &id, "f", &v, "g", "1"]);
        }
        d.check(&["xadd", "t", &id, "f", &v]);
    }
    d.script(
        "
        xrange s - +
        xrange s - + count 3
        xrange s - + count 0
        xrange s - + count -5
        xrange s - + count 9223372036854775807
        xrange s - + count 99999999999999999999
        xrange s - + count
        xrange s - + limit 3
        xrange s (1-0 (3-0
        xrange s (1 (3
        xrange s 2 2
        xrange s 3 1
        xrange s (18446744073709551615-18446744073709551615 +
        xrange s - (0-0
        xrange s ( +
        xrange s (- +
        xrange s - (+
        xrange s 1-x +
        xrange s - 18446744073709551616
        xrevrange s + -
        xrevrange s + - count 4
        xrevrange s (5-0 (2-1
        xrevrange s 4 4
        xrevrange s - +
        xrange t 5-0 +
        xdel s 1-1 1-2 99-0
        xdel s 1-1
        xdel s bad
        xdel s 2-0 bad
        xdel nosuch 1-1
        xrange s - + count 5
        xlen s
        xinfo stream s
        xtrim s maxlen 20
        xtrim s maxlen = 15
        xtrim s minid 7
        xtrim s minid ~ 8
        xtrim s maxlen ~ 1
        xtrim s
        xtrim s foo 1
        xtrim s maxlen ~ 2 limit 1
        xtrim s maxlen 2 limit 1
        xtrim nosuch maxlen 1
        xlen s
        xrange s - +
        xinfo stream s
        xdel t 0-1 0-2 1-0 1-1 1-2
        xinfo stream t
        xsetid t 5-0
        xsetid t 100-0
        xsetid t 100-0 entriesadded 2
        xsetid t 100-0 entriesadded -1
        xsetid t 200-0 entriesadded 1000 maxdeletedid 300-0
        xsetid t 200-0 entriesadded 1000 maxdeletedid 150-0
        xsetid t 200-0 foo
        xsetid nosuch 1-0
        xsetid t -
        xinfo stream t
        xadd t 150-0 a 1
        xadd t 200-1 a 1
        ",
    );
}

#[test]
fn approximate_trimming_follows_redis_blocks() {
    let mut d = Diff::new();
    d.check(&["config", "set", "stream-node-max-entries", "10"]);
    for i in 1..=95 {
        d.check(&["xadd", "x", &format!("{i}-0"), "f", &format!("{i}")]);
    }
    d.script(
        "
        xinfo stream x
        xtrim x maxlen ~ 50
        xlen x
        xtrim x minid ~ 70
        xlen x
        xadd x maxlen ~ 10 96-0 f 1
        xlen x
        xinfo stream x
        xtrim x maxlen = 3
        xinfo stream x full
        ",
    );
    // Byte limit: long values cut blocks early, as listpacks fill.
    d.check(&["config", "set", "stream-node-max-bytes", "200"]);
    for i in 1..=40 {
        let v = "v".repeat(i * 3);
        d.check(&[
            "xadd",
            "a",
            &format!("{i}-0"),
            "field",
            &v,
            "n",
            &format!("{i}"),
        ]);
    }
    d.script(
        "
        xinfo stream a
        xtrim a maxlen ~ 20
        xlen a
        ",
    );
}

#[test]
fn consumer_groups() {
    let mut d = Diff::new();
    for i in 1..=10 {
        d.check(&["xadd", "c", &format!("{i}-0"), "f", &format!("{i}")]);
    }
    d.script(
        "
        xgroup help
        xgroup create c g 0
        xgroup create c g 0
        xgroup create c g2 $
        xgroup create c g3 5 entriesread 3
        xgroup create c g4 5 entriesread -2
        xgroup create c g4 5 entriesread abc
        xgroup create c g4 bad
        xgroup create c g4 - 
        xgroup create nosuch g 0
        xgroup create nosuch g $ mkstream
        xinfo stream nosuch
        xgroup create c g5 0 foo
        xgroup setid c g 3
        xgroup setid c nog 3
        xgroup setid c g 3 entriesread 2
        xgroup setid c g 0
        xgroup createconsumer c g alice
        xgroup createconsumer c g alice
        xgroup createconsumer c nog alice
        xgroup foo c g
        xgroup create
        xinfo groups c
        xinfo consumers c nog
        xreadgroup group g alice count 3 streams c >
        xreadgroup group g bob count 2 streams c >
        xreadgroup group g alice streams c 0
        xreadgroup group g alice count 1 streams c 1-0
        xreadgroup group g bob streams c 0
        xreadgroup group g alice streams c $
        xreadgroup group nog alice streams c >
        xreadgroup group g alice streams nosuch >
        xreadgroup group g alice streams c
        xreadgroup group g alice streams c > >
        xreadgroup streams c >
        xreadgroup group g alice streams c bad
        xread group g alice streams c >
        xread noack streams c 0
        xread streams c >
        xpending c g
        xpending c g2
        xpending c nog
        xpending nosuch g
        ",
    );
    // The extended form shows idle times in milliseconds: compared within a tolerance.
    for args in [
        &["xpending", "c", "g", "-", "+", "10"][..],
        &["xpending", "c", "g", "-", "+", "10", "bob"],
        &["xpending", "c", "g", "-", "+", "10", "nobody"],
        &["xpending", "c", "g", "(1-0", "(4-0", "10"],
    ] {
        near(&mut d, args, 200);
    }
    d.script(
        "
        xpending c g - + 0
        xpending c g - + -3
        xpending c g - + abc
        xpending c g - +
        xpending c g idle abc - + 10
        xpending c g idle 0 - +
        xpending c g 5 1 10
        xack c g 1-0 2-0 bad
        xack c g 1-0 2-0 99-0
        xack c g 1-0
        xack c nog 3-0
        xack nosuch g 3-0
        xpending c g
        xdel c 4-0
        xreadgroup group g alice streams c 0
        xreadgroup group g alice noack count 2 streams c >
        xpending c g
        xinfo groups c
        xgroup delconsumer c g bob
        xgroup delconsumer c g bob
        xpending c g
        xgroup destroy c g3
        xgroup destroy c g3
        xgroup destroy c nog
        xinfo groups c
        set str v
        xgroup create str g 0
        xreadgroup group g a streams str >
        xpending str g
        xack str g 1-0
        xinfo stream str
        xinfo groups str
        xinfo consumers str g
        xinfo help
        xinfo help x
        xinfo foo c
        xinfo stream c full count
        xinfo stream c full bar
        xinfo stream c foo
        xinfo stream c full count abc
        ",
    );
    near(&mut d, &["xinfo", "consumers", "c", "g"], 200);
    near(&mut d, &["xpending", "c", "g", "-", "+", "10"], 200);
    near(
        &mut d,
        &["xpending", "c", "g", "idle", "100000", "-", "+", "10"],
        200,
    );
    near(&mut d, &["xinfo", "stream", "c", "full"], 1000);
    near(
        &mut d,
        &["xinfo", "stream", "c", "full", "count", "1"],
        1000,
    );
    near(
        &mut d,
        &["xinfo", "stream", "c", "full", "count", "0"],
        1000,
    );
    near(
        &mut d,
        &["xinfo", "stream", "c", "full", "count", "-4"],
        1000,
    );
}

#[test]
fn claims() {
    let mut d = Diff::new();
    for i in 1..=8 {
        d.check(&["xadd", "d", &format!("{i}-0"), "f", &format!("{i}")]);
    }
    d.script(
        "
        xgroup create d g 0
        xreadgroup group g alice count 5 streams d >
        xclaim d g bob 0 1-0 2-0
        xclaim d g bob 0 1-0 justid
        xclaim d g bob 0 3-0 retrycount 7 justid
        xclaim d g bob 0 6-0
        xclaim d g bob 0 6-0 force justid
        xclaim d g bob 0 99-0 force
        xclaim d g bob 100000 4-0
        xclaim d g bob abc 4-0
        xclaim d g bob 0 4-0 idle abc
        xclaim d g bob 0 4-0 time abc
        xclaim d g bob 0 4-0 retrycount abc
        xclaim d g bob 0 4-0 lastid bad
        xclaim d g bob 0 4-0 foo
        xclaim d g bob 0 bad
        xclaim d nog bob 0 4-0
        xclaim nosuch g bob 0 4-0
        xclaim d g carol 0 5-0 lastid 7-0 justid
        xinfo groups d
        xdel d 2-0
        xclaim d g carol 0 2-0
        xpending d g
        xautoclaim d g dave 0 0
        xautoclaim d g dave 0 0 count 2 justid
        xautoclaim d g erin 0 (1-0 count 1
        xautoclaim d g erin 0 0 count 0
        xautoclaim d g erin 0 0 count -1
        xautoclaim d g erin 0 0 count abc
        xautoclaim d g erin 0 0 count 999999999999999999
        xautoclaim d g erin 0 0 count 100000000000000
        xautoclaim d g erin 0 0 foo
        xautoclaim d g erin abc 0
        xautoclaim d g erin 0 bad
        xautoclaim d g erin 0 (18446744073709551615-18446744073709551615
        xautoclaim d nog erin 0 0
        xautoclaim nosuch g erin 0 0
        xdel d 3-0 5-0
        xautoclaim d g frank 0 0
        xautoclaim d g frank 0 0 count 1
        xpending d g
        xinfo groups d
        ",
    );
    near(&mut d, &["xpending", "d", "g", "-", "+", "100"], 200);
    near(
        &mut d,
        &["xclaim", "d", "g", "zed", "0", "1-0", "idle", "5000"],
        200,
    );
    near(&mut d, &["xpending", "d", "g", "-", "+", "100"], 200);
    near(&mut d, &["xclaim", "d", "g", "zed", "1000", "1-0"], 200);
    near(
        &mut d,
        &["xpending", "d", "g", "idle", "1000", "-", "+", "100"],
        200,
    );
}

#[test]
fn xread_non_blocking_across_workers_and_resp3() {
    let mut d = Diff::new();
    for i in 1..=5 {
        d.check(&["xadd", "s", &format!("{i}-0"), "f", &format!("s{i}")]);
        d.check(&["xadd", "x", &format!("{i}-1"), "f", &format!("x{i}")]);
    }
    let script = "
        xread streams s x 0 0
        xread count 2 streams s x 0 3
        xread streams s x $ $
        xread streams s x 5-0 0
        xread streams s nosuch 0 0
        xread streams nosuch 0
        xread count -1 streams s 0
        xread count abc streams s 0
        xread streams s
        xread streams s x 0
        xread s 0
        xread count 1
        xread block -1 streams s 0
        xread block abc streams s 0
        xread block 0 streams s 0
        xread streams s (1-0
        xread streams s -
        xread streams s +
        xread streams s 18446744073709551615-18446744073709551615
        xinfo stream s
        xinfo stream x full
        xgroup create s g 0
        xreadgroup group g c count 2 streams s >
        xinfo groups s
        xpending s g
        multi
        xread block 0 streams s $
        xreadgroup group g c block 0 streams s >
        exec
        set str v
        xread streams str 0
        xread streams s str 0 0
    ";
    d.script(script);
    d.resp3();
    d.check(&["del", "s", "x", "str"]);
    for i in 1..=5 {
        d.check(&["xadd", "s", &format!("{i}-0"), "f", &format!("s{i}")]);
        d.check(&["xadd", "x", &format!("{i}-1"), "f", &format!("x{i}")]);
    }
    d.script(script);
    near(&mut d, &["xinfo", "consumers", "s", "g"], 200);
    near(&mut d, &["xinfo", "stream", "s", "full"], 1000);
}

#[test]
fn keyspace_commands_on_streams() {
    let mut d = Diff::new();
    for i in 1..=5 {
        d.check(&["xadd", "s", &format!("{i}-0"), "f", &format!("s{i}")]);
    }
    d.script(
        "
        xgroup create s g 0
        xreadgroup group g c count 2 streams s >
        copy s b
        xrange b - +
        xinfo groups b
        xpending b g
        copy s b
        rename b z
        type z
        xlen z
        move z 1
        exists z
        select 1
        xrange z - +
        select 0
        expire s 100
        ttl s
        scan 0 type stream
        scan 0 type string
        lpush s x
        get s
        del s
        exists s
        ",
    );
}

/// The number of blocked clients INFO reports, once it reaches `n` (or after a few seconds).
fn wait_blocked(c: &mut Conn, n: u64) {
    for _ in 0..500 {
        let info = String::from_utf8_lossy(&c.call(&["info", "clients"])).into_owned();
        let now = info
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if now == n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("never saw {n} blocked clients");
}

/// One blocking scenario on the server at `port`; the replies in order.
fn blocking_scenarios(port: u16, resp3: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut ctl = Conn::new(port);
    let mut w1 = Conn::new(port);
    let mut w2 = Conn::new(port);
    if resp3 {
        for c in [&mut w1, &mut w2] {
            c.call(&["hello", "3"]);
        }
    }
    ctl.call(&["flushall"]);
    // XREAD $ on a key of each worker, data arriving on the other worker's key.
    ctl.call(&["xadd", "s", "1-0", "f", "v"]);
    w1.send(&[b"xread", b"block", b"0", b"streams", b"s", b"x", b"$", b"$"]);
    w2.send(&[
        b"xread", b"count", b"1", b"block", b"0", b"streams", b"x", b"0-0",
    ]);
    wait_blocked(&mut ctl, 2);
    out.push(ctl.call(&["xadd", "x", "5-0", "a", "1"]));
    out.push(w1.read_reply());
    out.push(w2.read_reply());
    // XADD to the key that already held data before blocking: only what is new.
    w1.send(&[b"xread", b"block", b"0", b"streams", b"s", b"$"]);
    wait_blocked(&mut ctl, 1);
    out.push(ctl.call(&["xdel", "s", "1-0"]));
    out.push(ctl.call(&["xadd", "s", "2-0", "b", "2"]));
    out.push(w1.read_reply());
    // Timeout.
    out.push(w1.call(&["xread", "block", "30", "streams", "s", "$"]));
    // XREADGROUP >: one waiter served per entry, the next waits on.
    ctl.call(&["xgroup", "create", "s", "g", "$"]);
    w1.send(&[
        b"xreadgroup",
        b"group",
        b"g",
        b"c1",
        b"block",
        b"0",
        b"streams",
        b"s",
        b">",
    ]);
    wait_blocked(&mut ctl, 1);
    w2.send(&[
        b"xreadgroup",
        b"group",
        b"g",
        b"c2",
        b"block",
        b"0",
        b"streams",
        b"s",
        b">",
    ]);
    wait_blocked(&mut ctl, 2);
    out.push(ctl.call(&["xadd", "s", "3-0", "c", "3"]));
    out.push(w1.read_reply());
    out.push(ctl.call(&["xadd", "s", "4-0", "c", "4"]));
    out.push(w2.read_reply());
    out.push(ctl.call(&["xpending", "s", "g"]));
    // The group destroyed while a consumer waits: NOGROUP.
    w1.send(&[
        b"xreadgroup",
        b"group",
        b"g",
        b"c1",
        b"block",
        b"0",
        b"streams",
        b"s",
        b">",
    ]);
    wait_blocked(&mut ctl, 1);
    out.push(ctl.call(&["xgroup", "destroy", "s", "g"]));
    out.push(w1.read_reply());
    // The key deleted while a consumer waits: UNBLOCKED; a plain XREAD waits on.
    ctl.call(&["xgroup", "create", "s", "g", "$"]);
    w1.send(&[
        b"xreadgroup",
        b"group",
        b"g",
        b"c1",
        b"block",
        b"0",
        b"streams",
        b"s",
        b">",
    ]);
    wait_blocked(&mut ctl, 1);
    w2.send(&[b"xread", b"block", b"0", b"streams", b"s", b"$"]);
    wait_blocked(&mut ctl, 2);
    out.push(ctl.call(&["del", "s"]));
    out.push(w1.read_reply());
    wait_blocked(&mut ctl, 1);
    out.push(ctl.call(&["xadd", "s", "9-0", "after", "del"]));
    out.push(w2.read_reply());
    // A key overwritten by another type: XREADGROUP gets UNBLOCKED.
    ctl.call(&["xgroup", "create", "s", "g", "$"]);
    w1.send(&[
        b"xreadgroup",
        b"group",
        b"g",
        b"c1",
        b"block",
        b"0",
        b"streams",
        b"s",
        b">",
    ]);
    wait_blocked(&mut ctl, 1);
    out.push(ctl.call(&["set", "s", "str"]));
    out.push(w1.read_reply());
    // XREADGROUP across workers with COUNT; a missing key created by XGROUP MKSTREAM.
    ctl.call(&["xgroup", "create", "y", "g", "$", "mkstream"]);
    ctl.call(&["xgroup", "create", "b", "g", "$", "mkstream"]);
    w1.send(&[
        b"xreadgroup",
        b"group",
        b"g",
        b"c",
        b"count",
        b"2",
        b"block",
        b"0",
        b"streams",
        b"y",
        b"b",
        b">",
        b">",
    ]);
    wait_blocked(&mut ctl, 1);
    out.push(ctl.call(&["xadd", "b", "7-0", "k", "v"]));
    out.push(w1.read_reply());
    out.push(ctl.call(&["xinfo", "groups", "b"]));
    out
}

#[test]
fn blocking_reads_match_redis() {
    let d = Diff::new();
    for resp3 in [false, true] {
        let ra = blocking_scenarios(d.redis.port, resp3);
        let rb = blocking_scenarios(d.rustis.port, resp3);
        assert_eq!(ra.len(), rb.len());
        for (i, (a, b)) in ra.iter().zip(&rb).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(b),
                String::from_utf8_lossy(a),
                "step {i} (resp3 {resp3}): rustis left, redis right"
            );
        }
    }
}

#[test]
fn keyspace_events() {
    for classes in ["KEA", "Kt", "Eg$"] {
        let mut n = common::notify::NotifyDiff::new(classes);
        n.events(
            "
            xadd s 1-0 a 1
            xadd s 2-0 a 2
            xadd s maxlen 1 3-0 a 3
            xadd s maxlen ~ 1 4-0 a 4
            xadd w nomkstream 1-0 a 1
            xdel s 3-0 99-0
            xdel s 99-0
            xtrim s maxlen 0
            xtrim s maxlen 0
            xsetid s 10-0
            xgroup create s g $
            xgroup create x g $ mkstream
            xgroup setid s g 0
            xgroup createconsumer s g c
            xgroup createconsumer s g c
            xadd s 11-0 a 1
            xreadgroup group g d streams s >
            xclaim s g e 0 11-0
            xautoclaim s g f 0 0
            xack s g 11-0
            xgroup delconsumer s g c
            xgroup delconsumer s g nobody
            xgroup destroy s g
            xgroup destroy s g
            xread streams s 0
            del s x
            ",
        );
    }
}
