//! Differential tests of the string family against a real redis-server.

mod common;
use common::Diff;

#[test]
fn set_options() {
    let mut d = Diff::new();
    d.script(
        "
        SET k v
        GET k
        SET k v2 NX
        SET k v3 XX
        GET k
        SET nk v XX
        GET nk
        SET k v4 GET
        SET nk2 v GET
        SET k v5 NX GET
        SET k v6 XX GET
        SET k v EX 100
        TTL k
        SET k v PX 100000
        SET k v KEEPTTL
        TTL k
        SET k v
        TTL k
        SET k v EX 0
        SET k v EX -1
        SET k v EX abc
        SET k v PX 0
        SET k v EX 9223372036854775807
        SET k v EXAT 1
        EXISTS k
        SET k v PXAT 1
        SET k v NX XX
        SET k v EX 10 PX 10
        SET k v EX 10 KEEPTTL
        SET k v FOO
        SET k v EX
        RPUSH list a
        SET list v GET
        SET list v
        GET list
        GET nosuch
        ",
    );
}

#[test]
fn variants() {
    let mut d = Diff::new();
    d.script(
        "
        SETNX a 1
        SETNX a 2
        GET a
        SETEX b 100 v
        TTL b
        SETEX b 0 v
        SETEX b x v
        PSETEX c 100000 v
        PTTL c
        PSETEX c -5 v
        GETSET a 10
        GETSET nosuch v
        GET nosuch
        GETDEL a
        GETDEL a
        SET e v EX 100
        GETEX e
        TTL e
        GETEX e PERSIST
        TTL e
        GETEX e EX 50
        TTL e
        GETEX e PX 0
        GETEX e EXAT 1
        EXISTS e
        GETEX nosuch EX 10
        GETEX e FOO
        RPUSH l x
        GETEX l
        GETSET l v
        GETDEL l
        ",
    );
}

#[test]
fn multi_keys_across_workers() {
    let mut d = Diff::new();
    d.script(
        "
        MSET a 1 b 2 c 3 d 4 e 5 f 6
        MGET a b c d e f nosuch
        MSET a
        MSET a 1 b
        RPUSH l x
        MGET a l b
        MSETNX a 1 zz 2
        MSETNX x1 1 x2 2 x3 3
        MGET x1 x2 x3
        MSETNX x1 1
        MSETNX y1 1 y2
        DEL a b c x1 x2 x3 nosuch
        EXISTS a b c d
        ",
    );
}

#[test]
fn counters_and_ranges() {
    let mut d = Diff::new();
    d.script(
        "
        INCR n
        INCRBY n 10
        DECR n
        DECRBY n 5
        INCRBY n x
        DECRBY n -9223372036854775808
        SET big 9223372036854775807
        INCR big
        SET neg -9223372036854775808
        DECR neg
        SET s abc
        INCR s
        SET sp 12
        APPEND sp 3
        INCR sp
        SET f 10.5
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f -5
        INCRBYFLOAT f 1e3
        INCRBYFLOAT f abc
        INCRBYFLOAT s 1
        INCRBYFLOAT nf 3
        INCRBYFLOAT nf 1.5e-3
        SET i 5
        INCRBYFLOAT i 2
        OBJECT ENCODING i
        APPEND ap hello
        APPEND ap world
        GET ap
        STRLEN ap
        STRLEN nosuch
        GETRANGE ap 0 4
        GETRANGE ap -5 -1
        GETRANGE ap 5 100
        GETRANGE ap -1 -5
        GETRANGE ap 8 2
        GETRANGE nosuch 0 1
        GETRANGE ap x 1
        SUBSTR ap 1 3
        SETRANGE ap 5 _
        GET ap
        SETRANGE sr 3 abc
        GET sr
        SETRANGE sr -1 x
        SETRANGE nosuch2 0
        EXISTS nosuch2
        SETRANGE sr 1
        RPUSH l a
        APPEND l x
        STRLEN l
        GETRANGE l 0 1
        SETRANGE l 0 x
        INCR l
        SET e1 123
        OBJECT ENCODING e1
        SET e2 0123
        OBJECT ENCODING e2
        SET e3 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        OBJECT ENCODING e3
        SET e4 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        OBJECT ENCODING e4
        APPEND e1 4
        OBJECT ENCODING e1
        INCR e1
        OBJECT ENCODING e1
        ",
    );
}
