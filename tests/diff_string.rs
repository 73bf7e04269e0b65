//! Differential tests of the string family against a real redis-server: every reply must be identical
//! byte for byte, except time-dependent ones (TTL, PTTL, EXPIRETIME), compared within a tolerance.

mod common;
use common::{owner, Diff};

const SET_OPTIONS: &str = "
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
    SET k v EX 9223372036854775
    SET k v EX 9223372036854776
    SET k v PX 9223372036854775807
    SET k v EXAT 1
    EXISTS k
    SET k v PXAT 1
    SET k v EXAT 0
    SET k v PXAT -5
    SET k v NX XX
    SET k v XX NX
    SET k v EX 10 PX 10
    SET k v PX 10 EXAT 10
    SET k v EX 10 KEEPTTL
    SET k v KEEPTTL EX 10
    SET k v FOO
    SET k v EX
    SET k v PX
    SET k v GET EX
    # A syntax error anywhere wins over an invalid expire value (options are parsed first).
    SET k v EX 0 FOO
    SET k v EX abc NX XX
    SET k v PX -1 BAR
    SET k v EXAT abc KEEPTTL
    # The same option may repeat (the last expire value wins).
    SET k v EX 10 EX 1000
    TTL k
    SET k v NX NX
    SET k v XX XX
    SET k v GET GET
    SET k v KEEPTTL KEEPTTL
    TTL k
    SET k v ex 100 get
    SET k v px 100 nx get
    SET k2 v px 100 nx get
    SET k2 v2 nx get
    SET k3 v xx get
    GET k3
    SET k v EX 1.5
    SET k v EX +1
    SET k v EX 01
    RPUSH list a
    SET list v GET
    SET list v NX GET
    SET list v EX 0 GET
    SET list v
    GET list
    GET nosuch
";

#[test]
fn set_options() {
    let mut d = Diff::new();
    d.script_loose(SET_OPTIONS);
}

#[test]
fn set_options_resp3() {
    let mut d = Diff::new();
    d.resp3();
    d.script_loose(SET_OPTIONS);
}

const VARIANTS: &str = "
    SETNX a 1
    SETNX a 2
    GET a
    SETEX b 100 v
    TTL b
    SETEX b 0 v
    SETEX b -1 v
    SETEX b x v
    SETEX b 9223372036854775807 v
    SETEX b 9223372036854776 v
    PSETEX c 100000 v
    PTTL c
    PSETEX c -5 v
    PSETEX c 0 v
    PSETEX c 1.5 v
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
    GETEX e EX -1
    GETEX e PX abc
    GETEX e EX 9223372036854775807
    GETEX e EXAT 9223372036854775807
    TTL e
    GETEX e PXAT 99999999999999
    PEXPIRETIME e
    GETEX e EXAT 1
    EXISTS e
    GETEX nosuch EX 10
    # GETEX checks the syntax, then the key (nil, WRONGTYPE), then the expire value.
    GETEX nosuch EX 0
    GETEX nosuch EX abc
    GETEX nosuch FOO
    GETEX e FOO
    GETEX e EX
    GETEX e EX 10 PX 10
    GETEX e PERSIST EX 10
    GETEX e EX 10 PERSIST
    GETEX e KEEPTTL
    GETEX e NX
    GETEX e GET
    SET e v PX 100000
    GETEX e PERSIST PERSIST
    TTL e
    GETEX e EX 10 EX 20
    TTL e
    RPUSH l x
    GETEX l
    GETEX l EX 0
    GETSET l v
    GETDEL l
    SETNX l v
    LLEN l
";

#[test]
fn variants() {
    let mut d = Diff::new();
    d.script_loose(VARIANTS);
}

#[test]
fn variants_resp3() {
    let mut d = Diff::new();
    d.resp3();
    d.script_loose(VARIANTS);
}

#[test]
fn multi_keys_across_workers() {
    let mut d = Diff::new();
    assert_ne!(owner("a", 2), owner("b", 2));
    d.script(
        "
        MSET a 1 b 2 c 3 d 4 e 5 f 6
        MGET a b c d e f nosuch
        MSET a 1 b 2 a 3
        MGET a b a
        MSET a
        MSET a 1 b
        RPUSH l x
        MGET a l b
        MSETNX a 1 zz 2
        MSETNX x1 1 x2 2 x3 3
        MGET x1 x2 x3
        MSETNX x1 1
        MSETNX y1 1 y2
        MSETNX p 1 q 2 p 3
        MGET p q
        DEL a b c x1 x2 x3 nosuch
        EXISTS a b c d d d
        ",
    );
}

#[test]
fn many_keys_on_both_workers() {
    let mut d = Diff::new();
    let keys: Vec<String> = (0..60).map(|i| format!("str:{i}")).collect();
    let on0 = keys.iter().filter(|k| owner(k, 2) == 0).count();
    assert!(on0 > 5 && on0 < 55, "keys must land on both workers");
    // MSET of every key in one command, then read back in one MGET with holes.
    let mut mset = vec!["MSET"];
    let values: Vec<String> = (0..60).map(|i| format!("v{i}")).collect();
    for (k, v) in keys.iter().zip(&values) {
        mset.push(k);
        mset.push(v);
    }
    d.check(&mset);
    let mut mget = vec!["MGET"];
    for (i, k) in keys.iter().enumerate() {
        mget.push(k);
        if i % 7 == 0 {
            mget.push("missing");
        }
    }
    d.check(&mget);
    // Wrong types are nil in MGET.
    d.check(&["DEL", "str:3", "str:4"]);
    d.check(&["SADD", "str:3", "x"]);
    d.check(&["HSET", "str:4", "f", "v"]);
    d.check(&mget);
    // MSETNX across workers: refused when any key exists, wherever it lives.
    let fresh: Vec<String> = (0..20).map(|i| format!("fresh:{i}")).collect();
    let mut msetnx = vec!["MSETNX"];
    for k in &fresh {
        msetnx.push(k);
        msetnx.push("1");
    }
    d.check(&msetnx);
    d.check(&msetnx);
    let mut mixed = vec!["MSETNX", "brand-new", "1"];
    mixed.extend(["fresh:7", "2"]);
    d.check(&mixed);
    d.check(&["EXISTS", "brand-new"]);
    // Counters and strings on every key, one at a time.
    for k in keys.iter().take(20) {
        d.check(&["APPEND", k, "-tail"]);
        d.check(&["STRLEN", k]);
        d.check(&["GETRANGE", k, "1", "-2"]);
        d.check(&["SETRANGE", k, "2", "XY"]);
        d.check(&["GET", k]);
        d.check(&["INCR", k]);
    }
    for (i, k) in fresh.iter().enumerate() {
        d.check(&["INCRBY", k, &(i as i64 * 1000 - 7000).to_string()]);
        d.check(&["DECR", k]);
        d.check(&["INCRBYFLOAT", k, "0.25"]);
        d.check(&["GETSET", k, "x"]);
        d.check(&["GETDEL", k]);
    }
    let mut del = vec!["DEL"];
    del.extend(keys.iter().map(String::as_str));
    del.extend(fresh.iter().map(String::as_str));
    del.push("brand-new");
    d.check(&del);
    d.check(&["DBSIZE"]);
}

const COUNTERS: &str = "
    INCR n
    INCRBY n 10
    DECR n
    DECRBY n 5
    INCRBY n x
    INCRBY n 1.5
    INCRBY n +1
    DECRBY n -9223372036854775808
    INCRBY n -9223372036854775808
    SET big 9223372036854775807
    INCR big
    INCRBY big 0
    SET neg -9223372036854775808
    DECR neg
    DECRBY neg 1
    INCRBY neg 9223372036854775807
    SET s abc
    INCR s
    SET sp 12
    APPEND sp 3
    INCR sp
    SET lz 012
    INCR lz
    SET m0 -0
    INCR m0
    SET f 10.5
    INCR f
    INCRBYFLOAT f 0.1
    INCRBYFLOAT f -5
    INCRBYFLOAT f 1e3
    INCRBYFLOAT f abc
    INCRBYFLOAT f inf
    INCRBYFLOAT f -inf
    INCRBYFLOAT f nan
    INCRBYFLOAT f 0x10
    INCRBYFLOAT f 1e
    INCRBYFLOAT f .5
    INCRBYFLOAT f 5.
    INCRBYFLOAT f -0
    INCRBYFLOAT f 1e308
    INCRBYFLOAT f 1e308
    GET f
    INCRBYFLOAT s 1
    INCRBYFLOAT nf 3
    INCRBYFLOAT nf 1.5e-3
    INCRBYFLOAT nf 1.23456789012345678901234567890
    INCRBYFLOAT nf 1e-20
    INCRBYFLOAT nf 5e-400
    INCRBYFLOAT nf 1e400
    SET i 5
    INCRBYFLOAT i 2
    OBJECT ENCODING i
    INCRBYFLOAT i -7
    GET i
    SET e5 1e5
    INCRBYFLOAT e5 1
    SET infv inf
    INCRBYFLOAT infv 1
    RPUSH l a
    INCR l
    INCRBY l 1
    DECR l
    DECRBY l 1
    INCRBYFLOAT l 1
";

#[test]
fn counters() {
    let mut d = Diff::new();
    d.script_loose(COUNTERS);
    // Values with spaces can't go through a whitespace-split script.
    d.check(&["SET", "sp1", " 1"]);
    d.check(&["INCR", "sp1"]);
    d.check(&["INCRBYFLOAT", "sp1", "1"]);
    d.check(&["SET", "sp2", "1 "]);
    d.check(&["INCR", "sp2"]);
    d.check(&["INCRBYFLOAT", "sp2", "1"]);
    d.check(&["INCRBY", "n", " 1"]);
    d.check(&["INCRBY", "n", ""]);
    d.check(&["INCRBYFLOAT", "n", ""]);
    d.check(&["INCRBYFLOAT", "n", " 1"]);
}

#[test]
fn counters_resp3() {
    let mut d = Diff::new();
    d.resp3();
    d.script_loose(COUNTERS);
}

#[test]
fn append_strlen_ranges() {
    let mut d = Diff::new();
    d.script_loose(
        "
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
        GETRANGE ap 0 0
        GETRANGE ap -1 -1
        GETRANGE ap -100 -50
        GETRANGE ap -100 2
        GETRANGE ap 1 0
        GETRANGE ap -1 0
        GETRANGE ap 0 -100
        GETRANGE ap 9223372036854775807 9223372036854775807
        GETRANGE ap -9223372036854775808 9223372036854775807
        GETRANGE ap 0 9223372036854775807
        GETRANGE nosuch 0 1
        GETRANGE ap x 1
        GETRANGE ap 0 y
        GETRANGE ap 1.5 2
        SUBSTR ap 1 3
        SUBSTR ap -3 -1
        SET num 12345
        GETRANGE num 1 2
        GETRANGE num -2 -1
        STRLEN num
        SETRANGE num 1 x
        GET num
        SET e1 v
        SETRANGE e1 0 x
        SETRANGE ap 5 _
        GET ap
        SETRANGE sr 3 abc
        GET sr
        STRLEN sr
        SETRANGE sr -1 x
        SETRANGE sr x x
        SETRANGE sr 1.5 x
        SETRANGE sr 536870912 a
        SETRANGE sr 536870911 ab
        SETRANGE sr 9223372036854775807 a
        SETRANGE nosuch3 536870912 a
        EXISTS nosuch3
        SETRANGE sr 10 z
        GET sr
        STRLEN sr
        RPUSH l a
        APPEND l x
        STRLEN l
        GETRANGE l 0 1
        SUBSTR l 0 1
        SETRANGE l 0 x
        ",
    );
    // Empty values.
    d.check(&["SET", "empty", ""]);
    d.check(&["GET", "empty"]);
    d.check(&["STRLEN", "empty"]);
    d.check(&["GETRANGE", "empty", "0", "-1"]);
    d.check(&["GETRANGE", "empty", "0", "0"]);
    d.check(&["GETRANGE", "empty", "-1", "-1"]);
    d.check(&["APPEND", "empty", ""]);
    d.check(&["SETRANGE", "empty", "0", ""]);
    d.check(&["SETRANGE", "empty", "3", ""]);
    d.check(&["SETRANGE", "nosuch2", "0", ""]);
    d.check(&["SETRANGE", "nosuch2", "536870912", ""]);
    d.check(&["EXISTS", "nosuch2"]);
    d.check(&["SETRANGE", "sr", "1", ""]);
    d.check(&["SETRANGE", "sr", "-1", ""]);
    d.check(&["SETRANGE", "l", "0", ""]);
    d.check(&["APPEND", "new-empty", ""]);
    d.check(&["EXISTS", "new-empty"]);
    d.check(&["GET", "new-empty"]);
    // Binary-safe values.
    d.check(&["SET", "bin", "a\0b\r\nc\u{7f}"]);
    d.check(&["GET", "bin"]);
    d.check(&["APPEND", "bin", "\0"]);
    d.check(&["STRLEN", "bin"]);
    d.check(&["GETRANGE", "bin", "1", "3"]);
}

#[test]
fn encodings() {
    let mut d = Diff::new();
    d.script_loose(
        "
        SET e1 123
        OBJECT ENCODING e1
        SET e2 0123
        OBJECT ENCODING e2
        SET e3 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        OBJECT ENCODING e3
        SET e4 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        OBJECT ENCODING e4
        SET e5 12345678901234567890
        OBJECT ENCODING e5
        SET e6 9223372036854775807
        OBJECT ENCODING e6
        SET e7 -9223372036854775808
        OBJECT ENCODING e7
        SET e8 -0
        OBJECT ENCODING e8
        SET e9 1.0
        OBJECT ENCODING e9
        SET e10 12345678901234567890123456789012345678901234
        OBJECT ENCODING e10
        SET e11 123456789012345678901234567890123456789012345
        OBJECT ENCODING e11
        APPEND e1 4
        OBJECT ENCODING e1
        GET e1
        INCR e1
        OBJECT ENCODING e1
        SETRANGE e1 0 9
        OBJECT ENCODING e1
        SET e12 5
        OBJECT ENCODING e12
        SET r0 0
        OBJECT REFCOUNT r0
        SET r1 9999
        OBJECT REFCOUNT r1
        SET r2 10000
        OBJECT REFCOUNT r2
        SET r3 -1
        OBJECT REFCOUNT r3
        SET r4 abc
        OBJECT REFCOUNT r4
        INCRBYFLOAT f1 1
        OBJECT ENCODING f1
        SET k v
        OBJECT ENCODING k
        SETEX ex 100 123
        OBJECT ENCODING ex
        GETSET gs 42
        OBJECT ENCODING gs
        MSET m1 7 m2 seven
        OBJECT ENCODING m1
        OBJECT ENCODING m2
        ",
    );
    let long = "x".repeat(5000);
    d.check(&["SET", "big", &long]);
    d.check(&["OBJECT", "ENCODING", "big"]);
    d.check(&["GET", "big"]);
    d.check(&["APPEND", "big", "y"]);
    d.check(&["OBJECT", "ENCODING", "big"]);
    d.check(&["STRLEN", "big"]);
    d.check(&["GETRANGE", "big", "4990", "-1"]);
}

#[test]
fn arity_errors() {
    let mut d = Diff::new();
    d.script_loose(
        "
        GET
        GET a b
        SET
        SET a
        SETNX
        SETNX k
        SETNX k v x
        SETEX k 10
        SETEX k 10 v x
        PSETEX k 10
        GETSET
        GETSET k
        GETDEL
        GETDEL k x
        GETEX
        MGET
        MSET
        MSET a
        MSETNX
        MSETNX a
        INCR
        INCR k k
        DECR
        INCRBY k
        DECRBY k
        INCRBYFLOAT k
        APPEND
        APPEND k
        STRLEN
        STRLEN k k
        GETRANGE k 0
        GETRANGE k 0 1 2
        SUBSTR k
        SETRANGE k 0
        get
        gEt a b
        ",
    );
}

#[test]
fn lcs() {
    let mut d = Diff::new();
    // key1/key2 on one worker each way round, a/b on different workers (coordinated execution).
    assert_ne!(owner("a", 2), owner("b", 2));
    let mut script = String::from(
        "
        MSET key1 ohmytext key2 mynewtext a 123456 b 1x2x3456
        MSET c aaaaaaaaaa d aaa e abcabcabcxyz f xyzabcqqqabc
        ",
    );
    for (x, y) in [
        ("key1", "key2"),
        ("a", "b"),
        ("c", "d"),
        ("e", "f"),
        ("c", "c"),
    ] {
        for opts in [
            "",
            "LEN",
            "len",
            "IDX",
            "IDX MINMATCHLEN 4",
            "IDX WITHMATCHLEN",
            "IDX MINMATCHLEN 2 WITHMATCHLEN",
            "idx withmatchlen minmatchlen 1",
            "IDX MINMATCHLEN -5 WITHMATCHLEN",
            "WITHMATCHLEN",
            "MINMATCHLEN 2",
            "LEN IDX",
            "IDX LEN",
            "FOO",
            "MINMATCHLEN",
            "MINMATCHLEN x",
        ] {
            script.push_str(&format!("LCS {x} {y} {opts}\nLCS {y} {x} {opts}\n"));
        }
    }
    script.push_str(
        "
        LCS key1 nosuch
        LCS nosuch nosuch2 IDX
        LCS nosuch nosuch2 LEN
        RPUSH l x
        LCS key1 l
        LCS l key1 FOO
        LCS key1
        ",
    );
    d.script_loose(&script);
    d.check(&["SET", "big1", &"a".repeat(12_000)]);
    d.check(&["SET", "big2", &"b".repeat(12_000)]);
    d.check(&["LCS", "big1", "big2"]);
    d.check(&["SET", "m1", &"a".repeat(300)]);
    d.check(&["SET", "m2", &"ab".repeat(200)]);
    d.check(&["LCS", "m1", "m2", "LEN"]);
    d.check(&["LCS", "m2", "m1", "IDX", "MINMATCHLEN", "2"]);
    d.resp3();
    d.script_loose("LCS e f IDX WITHMATCHLEN\nLCS key1 key2 IDX\nLCS l key1");
}
