//! Differential tests of the list family against a real redis-server: identical bytes required.
//!
//! With the harness's two workers, keys "b", "c", "z", "str" live on worker 0 and "a", "x", "y", "l"
//! on worker 1 (owner = slot * 2 / 16384), so the multi-key commands below run both on one shard and
//! across shards.

mod common;
use common::Diff;

#[test]
fn push_and_length() {
    let mut d = Diff::new();
    d.script(
        "
        LPUSH l a b c
        RPUSH l d e
        LRANGE l 0 -1
        LPUSH l a
        LLEN l
        LLEN nosuch
        LPUSHX nosuch a
        RPUSHX nosuch a b
        EXISTS nosuch
        RPUSHX l y z
        LPUSHX l w v
        LRANGE l 0 -1
        TYPE l
        OBJECT ENCODING l
        SET str v
        LPUSH str a
        RPUSH str a
        LPUSHX str a
        RPUSHX str a
        LLEN str
        GET str
        LPUSH l
        RPUSHX l
        LLEN
        LLEN l extra
        ",
    );
    // Empty strings and binary-looking elements are stored as given.
    d.check(&["RPUSH", "bin", "", " ", "\r\n", "0", "-1"]);
    d.check(&["LRANGE", "bin", "0", "-1"]);
    d.check(&["LPOS", "bin", ""]);
    d.check(&["LREM", "bin", "0", ""]);
    d.check(&["LRANGE", "bin", "0", "-1"]);
}

#[test]
fn pop_with_and_without_count() {
    let mut d = Diff::new();
    d.script(
        "
        RPUSH l a b c d e f
        LPOP l
        RPOP l
        LPOP l 2
        RPOP l 1
        LPOP l 0
        RPOP l 0
        LRANGE l 0 -1
        RPOP l 10
        EXISTS l
        LPOP nosuch
        RPOP nosuch
        LPOP nosuch 2
        RPOP nosuch 2
        LPOP nosuch 0
        RPUSH l x y
        LPOP l -1
        LPOP l abc
        LPOP l -0
        LPOP l +1
        LPOP l 00
        LPOP l 1.5
        LPOP l 9223372036854775808
        RPOP l -9223372036854775808
        LPOP l 1 2
        RPOP l 1 2 3
        LPOP l 9223372036854775807
        EXISTS l
        SET str v
        LPOP str
        RPOP str 1
        LPOP str x
        LPOP str 0
        ",
    );
}

#[test]
fn ranges_and_indices() {
    let mut d = Diff::new();
    d.script(
        "
        RPUSH l a b c d e
        LRANGE l 0 -1
        LRANGE l -100 100
        LRANGE l 2 1
        LRANGE l 5 10
        LRANGE l -1 -1
        LRANGE l -5 0
        LRANGE l 1 -2
        LRANGE l -9223372036854775808 9223372036854775807
        LRANGE l 9223372036854775807 -9223372036854775808
        LRANGE l 0 9223372036854775808
        LRANGE l a 1
        LRANGE l 0 b
        LRANGE nosuch 0 -1
        LRANGE nosuch x -1
        LINDEX l 0
        LINDEX l -1
        LINDEX l 4
        LINDEX l 5
        LINDEX l -5
        LINDEX l -6
        LINDEX l 9223372036854775807
        LINDEX l -9223372036854775808
        LINDEX l x
        LINDEX nosuch 0
        LINDEX nosuch x
        SET str v
        LINDEX str 0
        LINDEX str x
        LRANGE str 0 1
        LRANGE str x 1
        ",
    );
}

#[test]
fn lset_lrem_ltrim_linsert() {
    let mut d = Diff::new();
    d.script(
        "
        RPUSH l a b c a b c a
        LSET l 1 B
        LSET l -1 Z
        LSET l 7 x
        LSET l -8 x
        LSET l 9223372036854775807 x
        LSET l -9223372036854775808 x
        LSET l x v
        LSET nosuch 0 x
        LSET nosuch x v
        LRANGE l 0 -1
        LREM l 1 a
        LREM l -1 a
        LREM l 0 c
        LREM l 0 nothere
        LRANGE l 0 -1
        LREM nosuch 0 a
        LREM nosuch x a
        LREM l x a
        RPUSH r a x a x a x a
        LREM r -2 a
        LRANGE r 0 -1
        LREM r 2 x
        LRANGE r 0 -1
        LREM r -9223372036854775808 a
        LRANGE r 0 -1
        LREM r 9223372036854775807 x
        EXISTS r
        LINSERT l BEFORE B x
        LINSERT l AFTER Z y
        LINSERT l after x y2
        LINSERT l before a first
        LINSERT l AFTER nothere y
        LINSERT l MIDDLE B y
        LINSERT nosuch BEFORE a b
        LINSERT nosuch MIDDLE a b
        LRANGE l 0 -1
        LTRIM l 1 -2
        LRANGE l 0 -1
        LTRIM l 0 100
        LRANGE l 0 -1
        LTRIM l 5 1
        EXISTS l
        LTRIM nosuch 0 1
        LTRIM nosuch x 1
        RPUSH t 1 2 3 4 5 6
        LTRIM t -3 -1
        LRANGE t 0 -1
        LTRIM t -9223372036854775808 9223372036854775807
        LRANGE t 0 -1
        LTRIM t x 1
        LTRIM t 0 y
        LTRIM t -9223372036854775808 -9223372036854775808
        EXISTS t
        SET str v
        LSET str 0 x
        LSET str x v
        LREM str 0 a
        LREM str x a
        LTRIM str 0 1
        LTRIM str x 1
        LINSERT str BEFORE a b
        LINSERT str MIDDLE a b
        ",
    );
}

#[test]
fn lpos_variants() {
    let mut d = Diff::new();
    d.script(
        "
        RPUSH l a b c 1 2 3 c c
        LPOS l c
        LPOS l c RANK 2
        LPOS l c RANK 3
        LPOS l c RANK 4
        LPOS l c RANK -1
        LPOS l c RANK -3
        LPOS l c RANK -4
        LPOS l c COUNT 0
        LPOS l c COUNT 2
        LPOS l c RANK 2 COUNT 0
        LPOS l c RANK -1 COUNT 2
        LPOS l c RANK -2 COUNT 0 MAXLEN 2
        LPOS l c MAXLEN 2
        LPOS l c MAXLEN 3
        LPOS l c COUNT 0 MAXLEN 3
        LPOS l c rank 1 count 1 maxlen 0
        LPOS l c RANK 1 RANK 2
        LPOS l c COUNT 1 COUNT 0
        LPOS l c MAXLEN 1 MAXLEN 0
        LPOS l c RANK 9223372036854775807
        LPOS l c RANK -9223372036854775807 COUNT 0
        LPOS l c RANK -9223372036854775808
        LPOS l c RANK -9223372036854775808 COUNT 1
        LPOS l c RANK -9223372036854775808 COUNT 1 MAXLEN 1
        LPOS l c COUNT 9223372036854775807 MAXLEN 9223372036854775807
        LPOS l zz
        LPOS l zz COUNT 0
        LPOS nosuch a
        LPOS nosuch a COUNT 1
        LPOS nosuch a RANK 0
        LPOS nosuch a COUNT 1 FOO
        LPOS l c RANK 0
        LPOS l c RANK x
        LPOS l c RANK 9223372036854775808
        LPOS l c COUNT -1
        LPOS l c COUNT x
        LPOS l c MAXLEN -1
        LPOS l c MAXLEN x
        LPOS l c FOO 1
        LPOS l c FOO x
        LPOS l c RANK
        LPOS l c COUNT
        LPOS l c RANK 1 COUNT
        SET str v
        LPOS str c
        LPOS str c COUNT 1
        LPOS str c FOO
        LPOS str c RANK 0
        ",
    );
}

#[test]
fn long_list() {
    let mut d = Diff::new();
    let items: Vec<String> = (0..1000).map(|i| format!("e{}", i % 97)).collect();
    let mut cmd = vec!["RPUSH", "big"];
    cmd.extend(items.iter().map(String::as_str));
    d.check(&cmd);
    for (s, e) in [
        ("0", "-1"),
        ("100", "199"),
        ("-300", "-250"),
        ("990", "2000"),
        ("500", "400"),
    ] {
        d.check(&["LRANGE", "big", s, e]);
    }
    for i in ["0", "499", "500", "999", "-1", "-1000", "1000", "-1001"] {
        d.check(&["LINDEX", "big", i]);
    }
    d.script(
        "
        LPOS big e5
        LPOS big e5 RANK -2
        LPOS big e5 COUNT 0
        LPOS big e5 RANK 3 COUNT 4 MAXLEN 600
        LINSERT big BEFORE e50 x
        LINSERT big AFTER e96 y
        LSET big 500 middle
        LREM big 3 e1
        LREM big -3 e2
        LREM big 0 e3
        LLEN big
        LTRIM big 10 -10
        LLEN big
        LPOP big 5
        RPOP big 5
        LRANGE big 490 510
        LRANGE big 0 -1
        ",
    );
}

#[test]
fn moves_across_workers() {
    let mut d = Diff::new();
    // "a" lives on worker 1 and "b" on worker 0; "x" and "y" share worker 1.
    d.script(
        "
        RPUSH a 1 2 3 4 5
        RPUSH b x
        LMOVE a b LEFT RIGHT
        LMOVE a b RIGHT LEFT
        LMOVE a b LEFT LEFT
        LMOVE a b RIGHT RIGHT
        LMOVE a b left right
        LRANGE a 0 -1
        LRANGE b 0 -1
        EXISTS a
        RPOPLPUSH b a
        RPOPLPUSH nosuch a
        LMOVE nosuch a LEFT RIGHT
        EXISTS nosuch
        LMOVE a b UP DOWN
        LMOVE a b LEFT DOWN
        LMOVE nosuch b UP LEFT
        RPUSH x 1 2 3
        LMOVE x y RIGHT LEFT
        LMOVE x y RIGHT LEFT
        RPOPLPUSH x y
        LRANGE y 0 -1
        EXISTS x
        RPOPLPUSH b newlist
        LRANGE newlist 0 -1
        LRANGE b 0 -1
        SET str v
        LMOVE a str LEFT LEFT
        LMOVE str a LEFT LEFT
        LMOVE nosuch str LEFT LEFT
        RPOPLPUSH a str
        RPOPLPUSH str a
        RPOPLPUSH nosuch str
        LRANGE a 0 -1
        GET str
        LMOVE a a LEFT RIGHT
        LMOVE a a RIGHT LEFT
        RPOPLPUSH a a
        LRANGE a 0 -1
        ",
    );
    // A list moved onto itself keeps its TTL (Redis never deletes it in between).
    d.script(
        "
        RPUSH one v
        EXPIRE one 1000
        LMOVE one one LEFT RIGHT
        TTL one
        RPOPLPUSH one one
        TTL one
        LRANGE one 0 -1
        ",
    );
}

#[test]
fn lmpop_across_workers() {
    let mut d = Diff::new();
    d.script(
        "
        RPUSH a 1 2 3
        RPUSH c c1 c2
        LMPOP 2 nosuch a LEFT
        LMPOP 2 nosuch a RIGHT COUNT 10
        EXISTS a
        LMPOP 1 nosuch LEFT
        LMPOP 3 x a c left
        LMPOP 3 x y z RIGHT
        LMPOP 6 a b c x y z RIGHT COUNT 5
        EXISTS c
        RPUSH b b1 b2 b3
        RPUSH z z1
        LMPOP 6 a x c y b z LEFT COUNT 2
        LMPOP 2 z b RIGHT COUNT 9223372036854775807
        LMPOP 0 a LEFT
        LMPOP -1 a LEFT
        LMPOP x a LEFT
        LMPOP 9223372036854775808 a LEFT
        LMPOP 3 a b LEFT
        LMPOP 10 a LEFT
        LMPOP 9223372036854775807 a LEFT
        LMPOP 2 a b
        LMPOP 1 b MIDDLE
        LMPOP 1 b MIDDLE COUNT 0
        LMPOP 1 b LEFT COUNT 0
        LMPOP 1 b LEFT COUNT -1
        LMPOP 1 b LEFT COUNT x
        LMPOP 1 b LEFT COUNT
        LMPOP 1 b LEFT COUNT 1 COUNT 1
        LMPOP 1 b LEFT FOO
        SET str v
        RPUSH y y1
        LMPOP 2 str y LEFT
        LMPOP 2 y str LEFT
        LMPOP 2 nosuch str LEFT
        LMPOP 1 str LEFT COUNT 0
        LMPOP 1 y LEFT COUNT 1
        LMPOP
        LMPOP 1
        LMPOP 1 a
        ",
    );
}

#[test]
fn expired_lists_are_missing() {
    let mut d = Diff::new();
    d.script(
        "
        RPUSH e 1 2
        PEXPIRE e 1
        ",
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    d.script(
        "
        LLEN e
        LPOP e
        LPOP e 1
        LINDEX e 0
        LPUSHX e x
        EXISTS e
        LPUSH e 3
        TTL e
        LRANGE e 0 -1
        ",
    );
}

#[test]
fn resp3_replies() {
    let mut d = Diff::new();
    d.both(&["HELLO", "3"]);
    d.script(
        "
        LPOP nosuch
        RPOP nosuch
        LPOP nosuch 1
        LPOP nosuch 0
        RPUSH l a b
        LPOP l 5
        RPUSH l a b c
        RPOP l 0
        RPOP l
        LMPOP 1 nosuch LEFT
        LMPOP 1 l LEFT COUNT 1
        LINDEX l 3
        LINDEX nosuch 0
        LPOS l zz
        LPOS l zz COUNT 0
        LPOS l a COUNT 0
        LPOS nosuch a COUNT 0
        LRANGE l 0 -1
        LMOVE nosuch l LEFT LEFT
        RPOPLPUSH l l
        ",
    );
}
