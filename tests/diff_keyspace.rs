//! Differential tests of the keyspace commands against a real redis-server: identical replies byte for
//! byte, except time-dependent ones (TTL, PTTL, EXPIRETIME) compared within a tolerance, and replies
//! whose order Redis leaves unspecified (KEYS, SCAN) compared as sorted sets.

mod common;
use common::{owner, Diff};

/// Follows SCAN from cursor 0 to 0 on one connection; returns the sorted, deduplicated keys.
fn scan_all(conn: &mut common::Conn, opts: &[&str]) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor = "0".to_string();
    for _ in 0..100_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(opts);
        let r = String::from_utf8(conn.call(&args)).unwrap();
        let parts: Vec<&str> = r.split("\r\n").collect();
        assert!(parts[0] == "*2", "SCAN reply {r:?}");
        let next = parts[2].to_string();
        keys.extend(parts[4..].iter().skip(1).step_by(2).map(|s| s.to_string()));
        cursor = next;
        if cursor == "0" {
            keys.sort();
            keys.dedup();
            return keys;
        }
    }
    panic!("SCAN never returned to cursor 0");
}

/// SCAN with `opts` on both servers must visit the same keys.
fn check_scan(d: &mut Diff, opts: &[&str]) {
    let want = scan_all(&mut d.a, opts);
    let got = scan_all(&mut d.b, opts);
    assert_eq!(got, want, "SCAN {opts:?} (left: rustis, right: redis)");
}

const EXISTS_DEL_TYPE_RENAME: &str = "
    SET a 1
    SET b 2
    RPUSH l x
    SADD s x
    HSET h f v
    ZADD z 1 m
    TYPE a
    TYPE l
    TYPE s
    TYPE h
    TYPE z
    TYPE nosuch
    EXISTS a b l nosuch a
    TOUCH a nosuch b
    DEL a a nosuch
    UNLINK b l
    EXISTS a b l
    SET c v
    RENAME c d
    GET d
    RENAME nosuch e
    RENAME nosuch nosuch
    RENAMENX nosuch nosuch
    RENAME d d
    RENAMENX d d
    SET e other
    RENAMENX d e
    RENAMENX d f
    GET f
    SET t v EX 100
    RENAME t t2
    TTL t2
    SET dst v EX 1000
    SET src v
    RENAME src dst
    TTL dst
    RENAME s h
    TYPE h
    SMEMBERS h
    RENAME h z
    TYPE z
";

#[test]
fn exists_del_type_rename() {
    let mut d = Diff::new();
    d.script_loose(EXISTS_DEL_TYPE_RENAME);
}

#[test]
fn exists_del_type_rename_resp3() {
    let mut d = Diff::new();
    d.resp3();
    d.script_loose(EXISTS_DEL_TYPE_RENAME);
}

#[test]
fn rename_copy_move_across_workers() {
    let mut d = Diff::new();
    // a and b live on different workers, so do c and x, k and src.
    for (p, q) in [("a", "b"), ("c", "x"), ("k", "src"), ("d", "c")] {
        assert_ne!(
            owner(p, 2),
            owner(q, 2),
            "{p} and {q} must be on different workers"
        );
    }
    d.script_loose(
        "
        SET a va EX 1000
        RENAME a b
        TTL b
        GET b
        EXISTS a
        RENAME b a
        RENAMENX a b
        SET b vb
        RENAMENX a b
        RENAME a b
        GET b
        TTL b
        RENAME nosuch b
        RENAMENX nosuch b
        RPUSH l 1 2 3
        RENAME l b
        TYPE b
        LRANGE b 0 -1
        SET d vd
        RENAME b d
        TYPE d
        LRANGE d 0 -1
        COPY d c
        LRANGE c 0 -1
        COPY d c
        COPY d c REPLACE
        RPUSH d 4
        LLEN c
        SET src sv PX 500000
        COPY src k
        PTTL k
        GET k
        COPY src k DB 3
        SELECT 3
        GET k
        PTTL k
        COPY k k
        COPY k k DB 0
        SELECT 0
        COPY d x DB 2 REPLACE
        SELECT 2
        LRANGE x 0 -1
        SELECT 0
        MOVE src 5
        EXISTS src
        SELECT 5
        GET src
        PTTL src
        MOVE src 0
        SELECT 0
        SET c collide
        SELECT 5
        SET c other
        SELECT 0
        MOVE c 5
        GET c
        SELECT 5
        GET c
        SWAPDB 5 0
        GET c
        MGET src k c
        SWAPDB 0 5
        FLUSHDB
        DBSIZE
        SELECT 0
        DBSIZE
        KEYS *
        ",
    );
}

#[test]
fn copy_and_move() {
    let mut d = Diff::new();
    d.script_loose(
        "
        SET a v
        COPY a b
        GET b
        COPY a b
        COPY a b REPLACE
        COPY a b REPLACE REPLACE
        COPY a a
        COPY a a DB 0
        COPY a a DB 1
        COPY nosuch b
        COPY nosuch nosuch
        COPY a b DB 1
        SELECT 1
        GET b
        SELECT 0
        COPY a b DB 99
        COPY a b DB -1
        COPY a b DB 16
        COPY a b DB x
        COPY a b DB 1.5
        COPY a b DB
        COPY a b DB 1 DB 2
        COPY a b FOO
        COPY nosuch b DB 99
        COPY nosuch b FOO
        COPY a c replace db 2
        SELECT 2
        GET c
        SELECT 0
        RPUSH l 1 2 3
        COPY l l2
        LRANGE l2 0 -1
        RPUSH l2 4
        LLEN l
        SADD s m1 m2
        COPY s s2
        SMEMBERS s2
        HSET h f v
        COPY h h2
        HGETALL h2
        ZADD z 1 m
        COPY z z2
        ZRANGE z2 0 -1 WITHSCORES
        MOVE a 1
        EXISTS a
        SELECT 1
        GET a
        MOVE a 0
        SELECT 0
        SET x 1
        MOVE x 1
        MOVE nosuch 1
        MOVE nosuch 99
        MOVE x 0
        MOVE x 16
        MOVE x -1
        MOVE x abc
        MOVE x 1.5
        MOVE x 999999999999999999999
        ",
    );
}

#[test]
fn expiry_commands() {
    let mut d = Diff::new();
    d.script_loose(
        "
        SET k v
        TTL k
        PTTL k
        EXPIRETIME k
        PEXPIRETIME k
        TTL nosuch
        PTTL nosuch
        EXPIRETIME nosuch
        PEXPIRETIME nosuch
        EXPIRE k 100
        TTL k
        EXPIRE k 50 NX
        EXPIRE k 50 XX
        TTL k
        EXPIRE k 10 GT
        EXPIRE k 1000 GT
        TTL k
        EXPIRE k 2000 LT
        EXPIRE k 20 LT
        TTL k
        PERSIST k
        PERSIST k
        PERSIST nosuch
        EXPIRE k 100 GT
        EXPIRE k 100 LT
        TTL k
        PERSIST k
        EXPIRE k 100 XX
        EXPIRE k 100 NX XX
        EXPIRE k 100 GT LT
        EXPIRE k 100 nx gt
        EXPIRE k 100 lt xx
        EXPIRE k 100 NX NX
        EXPIRE k 100 XX XX
        EXPIRE k 100 FOO
        EXPIRE k 100 FOO NX
        EXPIRE k 100 NX FOO
        # Options are checked before the time argument.
        EXPIRE k abc NX XX
        EXPIRE k abc FOO
        EXPIRE nosuch 100 NX XX
        EXPIRE nosuch 100 FOO
        EXPIRE nosuch abc
        EXPIRE k abc
        EXPIRE k 1.5
        EXPIRE nosuch 10
        PEXPIRE k 100000
        PTTL k
        PEXPIREAT k 99999999999999
        PEXPIRETIME k
        EXPIRETIME k
        EXPIREAT k 99999999999
        EXPIRETIME k
        PEXPIRETIME k
        # EXPIRETIME rounds to the nearest second, as TTL does.
        PEXPIREAT k 1999999999499
        EXPIRETIME k
        PEXPIREAT k 1999999999500
        EXPIRETIME k
        PEXPIREAT k 9223372036854775807
        EXPIRETIME k
        PEXPIRETIME k
        EXPIREAT k 9223372036854775
        EXPIRETIME k
        EXPIREAT k 9223372036854775807
        EXPIRE k 9223372036854775807
        EXPIRE k 9223372036854775
        EXPIRE k 9223372036854776
        PEXPIRE k 9223372036854775807
        EXPIRE k -9223372036854775808
        EXISTS k
        EXPIRE k -1
        EXISTS k
        SET k v
        PEXPIRE k -9223372036854775808
        EXISTS k
        SET k2 v
        EXPIREAT k2 1
        EXISTS k2
        SET k3 v
        PEXPIRE k3 0
        GET k3
        SET k4 v
        EXPIREAT k4 -1
        EXISTS k4
        SET k5 v
        PEXPIREAT k5 0
        EXISTS k5
        SET m v
        EXPIRE m -1 GT
        EXISTS m
        EXPIRE m -1 XX
        EXISTS m
        EXPIRE m -1 NX
        EXISTS m
        SET m v EX 100
        EXPIRE m -1 GT
        EXPIRE m -1 LT
        EXISTS m
        RPUSH l a
        EXPIRE l 100
        TTL l
        PERSIST l
        TTL l
        ",
    );
}

#[test]
fn expiry_commands_resp3() {
    let mut d = Diff::new();
    d.resp3();
    d.script_loose(
        "
        SET k v
        TTL k
        EXPIRE k 100 GT
        EXPIRE k 100
        EXPIRE k 100 NX
        TTL k
        PERSIST k
        EXPIRETIME k
        EXPIRE nosuch 1
        EXPIRE k 1 FOO
        ",
    );
}

#[test]
fn expired_keys_disappear() {
    let mut d = Diff::new();
    d.script_loose(
        "
        SET a v PX 50
        SET b v PX 50
        RPUSH c x
        PEXPIRE c 50
        SET d v
        PEXPIRE d 50
        SETEX keep 100 v
        GETEX e1 PX 50
        SET e1 v
        GETEX e1 PX 50
        PSETEX f 50 v
        ",
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    d.script_loose(
        "
        GET a
        EXISTS b
        TYPE c
        TTL d
        GET e1
        GET f
        EXISTS keep
        DBSIZE
        KEYS *
        RENAME a z
        COPY b z
        MOVE d 1
        APPEND a x
        GET a
        INCR b
        SET c v XX
        SET f v NX
        ",
    );
}

#[test]
fn keys_glob_patterns() {
    let mut d = Diff::new();
    let keys = [
        "hello",
        "hallo",
        "hxllo",
        "hllo",
        "heeello",
        "h*llo",
        "h?llo",
        "h[a]llo",
        "h\\llo",
        "a]b",
        "a-b",
        "a^b",
        "abc",
        "ABC",
        "aBc",
        "x",
        "",
        "[",
        "]",
        "\\",
        "*",
        "?",
        "-",
        "^",
        "foo:1",
        "foo:12",
        "foo:bar:baz",
        "ab\\",
        "a\\b",
        "b-a",
        "c",
        "Hello",
        "h]llo",
        "h-llo",
    ];
    for k in keys {
        d.check(&["SET", k, "v"]);
    }
    let patterns = [
        "*",
        "h?llo",
        "h*llo",
        "h[ae]llo",
        "h[^e]llo",
        "h[a-b]llo",
        "h[b-a]llo",
        "h\\*llo",
        "h\\?llo",
        "*llo",
        "h*",
        "*\\\\*",
        "[",
        "[a",
        "[a-",
        "[a-]",
        "[]]",
        "[]",
        "[^]",
        "a[]]b",
        "a[-]b",
        "a[^]]b",
        "a\\]b",
        "\\",
        "\\\\",
        "a\\",
        "ab\\",
        "*\\",
        "[\\]]*",
        "[\\-]",
        "a[\\-]b",
        "a[b-]",
        "*-*",
        "??",
        "?",
        "",
        "**",
        "***",
        "*[c]",
        "[abc]",
        "[!a]*",
        "foo:*",
        "foo:?",
        "foo:[0-9]*",
        "foo:[0-9]",
        "*:*:*",
        "h[a-e-x]llo",
        "h[e-]llo",
        "h[-e]llo",
        "[A-Z]*",
        "[a-Z]*",
        "[Z-a]*",
        "*o",
        "*lo*o",
        "*l*l*o*",
        "h**llo",
        "x*",
        "\\x",
        "[x",
        "[[]",
        "[\\[]",
        "a[\\]]b",
        "A?C",
        "*c",
        "*C",
        "nomatch*",
    ];
    for p in patterns {
        d.check_unordered(&["KEYS", p]);
        check_scan(&mut d, &["MATCH", p, "COUNT", "3"]);
    }
}

#[test]
fn keys_scan_dbsize_flush_swapdb() {
    let mut d = Diff::new();
    for i in 0..200 {
        d.check(&["SET", &format!("key:{i}"), "v"]);
    }
    for i in 0..20 {
        d.check(&["SADD", &format!("set:{i}"), "x"]);
        d.check(&["RPUSH", &format!("list:{i}"), "x"]);
        d.check(&["HSET", &format!("hash:{i}"), "f", "v"]);
        d.check(&["ZADD", &format!("zset:{i}"), "1", "m"]);
    }
    d.check_unordered(&["KEYS", "*"]);
    d.check_unordered(&["KEYS", "key:1*"]);
    d.check_unordered(&["KEYS", "key:[1-2]"]);
    d.check_unordered(&["KEYS", "set:?"]);
    d.check(&["KEYS", "nomatch*"]);
    d.check(&["DBSIZE"]);
    // SCAN: follow the cursor to 0 on both and compare the sorted union.
    for opts in [
        &[][..],
        &["COUNT", "1"],
        &["COUNT", "7"],
        &["COUNT", "1000"],
        &["MATCH", "key:1*"],
        &["MATCH", "key:1*", "COUNT", "5"],
        &["TYPE", "set"],
        &["TYPE", "string"],
        &["TYPE", "list", "COUNT", "3"],
        &["TYPE", "hash", "MATCH", "hash:1*"],
        &["TYPE", "zset"],
        &["type", "STRING", "match", "*9", "count", "2"],
        &["MATCH", "nomatch*"],
        &["TYPE", "nosuchtype"],
    ] {
        check_scan(&mut d, opts);
    }
    d.script_loose(
        "
        SCAN x
        SCAN 1.5
        SCAN 5x
        SCAN --1
        SCAN 18446744073709551616
        SCAN 0 COUNT 0
        SCAN 0 COUNT -1
        SCAN 0 COUNT x
        SCAN 0 FOO bar
        SCAN 0 MATCH
        SCAN 0 COUNT
        SCAN 0 TYPE
        SELECT 1
        SET other v
        DBSIZE
        SELECT 0
        SWAPDB 0 1
        DBSIZE
        GET other
        SWAPDB 0 1
        SWAPDB 0 0
        SWAPDB 0 99
        SWAPDB -1 0
        SWAPDB x 1
        SWAPDB 0 y
        SWAPDB 0
        FLUSHDB
        DBSIZE
        SELECT 1
        DBSIZE
        FLUSHALL ASYNC
        DBSIZE
        SET a 1
        FLUSHALL SYNC
        DBSIZE
        FLUSHALL sync
        FLUSHDB async
        FLUSHALL FOO
        FLUSHDB FOO
        FLUSHALL ASYNC SYNC
        FLUSHDB ASYNC SYNC
        SELECT 0
        RANDOMKEY
        SET only v
        RANDOMKEY
        RANDOMKEY x
        DEL only
        RANDOMKEY
        ",
    );
}

#[test]
fn object_subcommands() {
    let mut d = Diff::new();
    d.script_loose(
        "
        SET a 1
        OBJECT ENCODING a
        OBJECT encoding a
        OBJECT ENCODING nosuch
        OBJECT FOO a
        OBJECT nosuchsub a b c
        OBJECT ENCODING
        OBJECT ENCODING a b
        OBJECT HELP
        OBJECT help
        OBJECT HELP extra
        OBJECT REFCOUNT a
        OBJECT REFCOUNT nosuch
        OBJECT IDLETIME nosuch
        OBJECT FREQ nosuch
        OBJECT FREQ a
        SET emb abcdefghij
        OBJECT ENCODING emb
        SET raw aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        OBJECT ENCODING raw
        APPEND emb x
        OBJECT ENCODING emb
        RPUSH l x
        OBJECT ENCODING l
        SADD si 1 2 3
        OBJECT ENCODING si
        SADD ss a b
        OBJECT ENCODING ss
        HSET hh a b
        OBJECT ENCODING hh
        ZADD zz 1 a
        OBJECT ENCODING zz
        ",
    );
}

#[test]
fn arity_errors() {
    let mut d = Diff::new();
    d.script_loose(
        "
        DEL
        UNLINK
        EXISTS
        TOUCH
        TYPE
        TYPE a b
        RENAME a
        RENAME a b c
        RENAMENX a
        COPY
        COPY a
        MOVE a
        MOVE a 1 2
        RANDOMKEY x
        KEYS
        KEYS a b
        SCAN
        EXPIRE a
        PEXPIRE a
        EXPIREAT a
        PEXPIREAT a
        TTL
        TTL a b
        PTTL
        EXPIRETIME
        PEXPIRETIME a b
        PERSIST
        OBJECT
        DBSIZE x
        SWAPDB 0
        ",
    );
}

#[test]
fn many_keys_across_workers() {
    let mut d = Diff::new();
    let keys: Vec<String> = (0..80).map(|i| format!("mk:{i}")).collect();
    let on0 = keys.iter().filter(|k| owner(k, 2) == 0).count();
    assert!(on0 > 10 && on0 < 70, "keys must land on both workers");
    for (i, k) in keys.iter().enumerate() {
        match i % 4 {
            0 => d.check(&["SET", k, "v"]),
            1 => d.check(&["RPUSH", k, "a", "b"]),
            2 => d.check(&["SADD", k, "m"]),
            _ => d.check(&["SET", k, "v", "EX", "1000"]),
        };
    }
    let all: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut exists = vec!["EXISTS"];
    exists.extend(&all);
    exists.extend(&all[..10]);
    exists.push("missing");
    d.check(&exists);
    let mut touch = exists.clone();
    touch[0] = "TOUCH";
    d.check(&touch);
    for k in &all {
        d.check(&["TYPE", k]);
        d.check_near(&["TTL", k], 1);
    }
    // Rename every key to a name on the other worker, and back; copy each into DB 1.
    for k in &all {
        let to = format!("{k}:renamed");
        d.check(&["RENAME", k, &to]);
        d.check_near(&["TTL", &to], 1);
        d.check(&["COPY", &to, k, "DB", "1"]);
        d.check(&["RENAMENX", &to, k]);
    }
    d.check(&["DBSIZE"]);
    d.check(&["SELECT", "1"]);
    d.check(&["DBSIZE"]);
    d.check_unordered(&["KEYS", "mk:*"]);
    let mut del = vec!["DEL"];
    del.extend(&all[..40]);
    del.extend(&all[..5]);
    d.check(&del);
    let mut unlink = vec!["UNLINK"];
    unlink.extend(&all[40..]);
    unlink.push("missing");
    d.check(&unlink);
    d.check(&["DBSIZE"]);
    d.check(&["SELECT", "0"]);
    d.check(&["DBSIZE"]);
    check_scan(&mut d, &["COUNT", "4"]);
    check_scan(&mut d, &["TYPE", "list"]);
}

/// A small database comes back whole from one `SCAN 0`, with cursor 0, as in Redis, whichever
/// worker owns each key: a call goes on into the next shard until COUNT is met.
#[test]
fn small_database_scans_in_one_call() {
    let mut d = Diff::new();
    // Keys on both workers (slots 0..8191 on worker 0, 8192.. on worker 1).
    d.both(&["MSET", "{a}1", "v", "{b}2", "v", "{c}3", "v"]);
    d.both(&["SADD", "aset", "x"]);
    assert_ne!(owner("{a}1", 2), owner("{b}2", 2));
    for opts in [
        &[][..],
        &["MATCH", "a*", "TYPE", "set"][..],
        &["COUNT", "100"][..],
        &["TYPE", "string"][..],
    ] {
        let mut args = vec!["SCAN", "0"];
        args.extend_from_slice(opts);
        let ra = d.a.call(&args);
        let rb = d.b.call(&args);
        assert!(
            rb.starts_with(b"*2\r\n$1\r\n0\r\n"),
            "SCAN {opts:?}: {:?}",
            String::from_utf8_lossy(&rb)
        );
        assert_eq!(
            common::sorted_elements(&rb[11..]),
            common::sorted_elements(&ra[11..]),
            "SCAN {opts:?} (left: rustis, right: redis)"
        );
    }
    // With 3 workers too, and COUNT 1: each call returns at least one key until the end.
    let rustis = common::start_rustis(3);
    let mut c = common::Conn::new(rustis.port);
    for i in 0..20 {
        c.call(&["SET", &format!("k{i}"), "v"]);
    }
    let all = scan_all(&mut c, &["COUNT", "1"]);
    assert_eq!(all.len(), 20);
    let whole = c.call(&["SCAN", "0", "COUNT", "1000"]);
    assert!(
        whole.starts_with(b"*2\r\n$1\r\n0\r\n*20\r\n"),
        "{:?}",
        String::from_utf8_lossy(&whole)
    );
}
