//! Differential tests of the hash family against a real redis-server: replies and error texts must be
//! byte-identical; random replies (HRANDFIELD) are checked for size and membership.

mod common;
use common::{bulks, Conn, Diff};
use std::collections::HashSet;

#[test]
fn basics() {
    let mut d = Diff::new();
    d.script(
        "
        HSET h f1 v1 f2 v2
        HSET h f1 x f3 v3
        HSET h f1 y f1 z
        HSET h f1
        HSET h f1 v f2
        HMSET h a 1 b 2
        HMSET h a
        HGETALL h
        HDEL h f2 nothere
        HGETALL h
        HSET h f2 back
        HGETALL h
        HSET h f1 longer-value-now
        HGETALL h
        HKEYS h
        HVALS h
        HLEN h
        HLEN nosuch
        HGET h f1
        HGET h nothere
        HGET nosuch f
        HMGET h f1 nothere a
        HMGET nosuch a b
        HEXISTS h a
        HEXISTS h zz
        HEXISTS nosuch a
        HSTRLEN h f3
        HSTRLEN h zz
        HSTRLEN nosuch zz
        HSETNX h a 9
        HSETNX h new 9
        HSETNX nosuch2 f v
        HGETALL nosuch
        HKEYS nosuch
        HVALS nosuch
        HDEL h f1 f3 a b new f2 f2
        EXISTS h
        HDEL h a
        HDEL nosuch a
        OBJECT ENCODING nosuch2
        ",
    );
    d.check(&["HSET", "e", "", ""]);
    d.check(&["HGET", "e", ""]);
    d.check(&["HSTRLEN", "e", ""]);
    d.check(&["HGETALL", "e"]);
}

#[test]
fn wrong_types_and_arity() {
    let mut d = Diff::new();
    d.script(
        "
        SET s v
        HSET s a b
        HSET s a
        HMSET s a b
        HSETNX s a b
        HGET s a
        HMGET s a b
        HGETALL s
        HDEL s a
        HLEN s
        HEXISTS s a
        HKEYS s
        HVALS s
        HINCRBY s a 1
        HINCRBY s a x
        HINCRBYFLOAT s a 1
        HINCRBYFLOAT s a x
        HINCRBYFLOAT s a inf
        HSTRLEN s a
        HRANDFIELD s
        HRANDFIELD s 0
        HRANDFIELD s 2 WITHVALUES
        HRANDFIELD s x
        HRANDFIELD s 1 x
        HSCAN s 0
        HSCAN s x
        HSCAN s 0 COUNT 0
        HSET
        HSET h
        HSET h a
        HSETNX h a
        HGET h
        HMGET h
        HGETALL
        HDEL h
        HLEN
        HEXISTS h
        HKEYS h a
        HINCRBY h a
        HINCRBYFLOAT h a
        HSTRLEN h
        HRANDFIELD
        HSCAN h
        GET s
        ",
    );
}

#[test]
fn counters() {
    let mut d = Diff::new();
    d.script(
        "
        HINCRBY h n 5
        HINCRBY h n -7
        HINCRBY h n x
        HINCRBY h n 1.5
        HINCRBY h n 9223372036854775808
        HSET h s abc
        HINCRBY h s 1
        HSET h big 9223372036854775807
        HINCRBY h big 1
        HINCRBY h big 0
        HINCRBY h big -9223372036854775808
        HSET h small -9223372036854775808
        HINCRBY h small -1
        HINCRBY h small 0
        HINCRBY h small 9223372036854775807
        HSET h lead 012
        HINCRBY h lead 1
        HSET h plus +1
        HINCRBY h plus 1
        HSET h negzero -0
        HINCRBY h negzero 1
        HINCRBYFLOAT h f 1.5
        HINCRBYFLOAT h f 0.1
        HINCRBYFLOAT h f -1.6
        HINCRBYFLOAT h g 10.5
        HINCRBYFLOAT h g 0.1
        HINCRBYFLOAT h k 5.6
        HINCRBYFLOAT h k 1e3
        HINCRBYFLOAT h k 0x10
        HINCRBYFLOAT h k -1005.6
        HINCRBYFLOAT h s 1
        HINCRBYFLOAT h s abc
        HINCRBYFLOAT h f abc
        HINCRBYFLOAT h f inf
        HINCRBYFLOAT h f -inf
        HINCRBYFLOAT h f nan
        HINCRBYFLOAT h n 2.5e3
        HINCRBYFLOAT h e 1e308
        HINCRBYFLOAT h e 1e308
        HINCRBYFLOAT h e 1e4000
        HINCRBYFLOAT h x 1e4932
        HINCRBYFLOAT h x 1e4932
        HINCRBYFLOAT h i 3
        HINCRBY h i 1
        HINCRBYFLOAT h i 1.0
        HINCRBYFLOAT h t 1.000000000000000000000001
        HINCRBYFLOAT h t -1
        HINCRBYFLOAT h u 0.1
        HINCRBYFLOAT h u -0.1
        HINCRBYFLOAT h v -5
        OBJECT ENCODING h
        HMGET h n s big small lead plus negzero f g k e x i t u v
        HINCRBY nosuch f 1
        HINCRBYFLOAT nosuch2 f 1.25
        HINCRBY nosuch3 f x
        HINCRBYFLOAT nosuch3 f x
        EXISTS nosuch3
        ",
    );
    for v in [" 12", "12 ", "1.5 ", " 1.5", "", "1e", "1\u{0}"] {
        d.check(&["HSET", "w", "f", v]);
        d.check(&["HINCRBY", "w", "f", "1"]);
        d.check(&["HINCRBYFLOAT", "w", "f", "1"]);
    }
    // Redis parses long doubles from at most 5119 bytes.
    for len in [5119, 5120] {
        let n = format!("{}1", "0".repeat(len - 1));
        d.check(&["HINCRBYFLOAT", "len", "f", &n]);
        d.check(&["HSET", "len", "g", &n]);
        d.check(&["HINCRBYFLOAT", "len", "g", "1"]);
    }
    for incr in [" 1", "1 ", "", "\t1", "1\u{0}2"] {
        d.check(&["HINCRBYFLOAT", "h", "f", incr]);
        d.check(&["HINCRBY", "h", "n", incr]);
    }
}

#[test]
fn encodings_follow_redis() {
    let mut d = Diff::new();
    let long = "x".repeat(65);
    let at_limit = "y".repeat(64);
    d.check_owned(&["HSET".into(), "lv".into(), "f".into(), long.clone()]);
    d.check_owned(&["HSET".into(), "lf".into(), long.clone(), "v".into()]);
    d.check_owned(&["HSET".into(), "ok".into(), at_limit.clone(), at_limit]);
    d.check_owned(&["HINCRBY".into(), "li".into(), long.clone(), "1".into()]);
    d.check_owned(&[
        "HINCRBYFLOAT".into(),
        "lff".into(),
        long.clone(),
        "1".into(),
    ]);
    d.check(&["HSET", "nx", "a", "1"]);
    // HSETNX on an existing field does not look at the value.
    d.check_owned(&["HSETNX".into(), "nx".into(), "a".into(), long.clone()]);
    d.check(&["OBJECT", "ENCODING", "nx"]);
    d.check_owned(&["HSETNX".into(), "nx".into(), "b".into(), long]);
    d.script(
        "
        OBJECT ENCODING lv
        OBJECT ENCODING lf
        OBJECT ENCODING ok
        OBJECT ENCODING li
        OBJECT ENCODING lff
        OBJECT ENCODING nx
        HSET lff2 a 1
        HINCRBYFLOAT lff2 a 10000000000000000000000000000000000000000000000000000000000000000000000
        OBJECT ENCODING lff2
        CONFIG SET hash-max-listpack-entries 2
        HSET dup a 1 a 2 a 3
        OBJECT ENCODING dup
        HSET two a 1 b 2
        OBJECT ENCODING two
        HSET two a 3
        OBJECT ENCODING two
        HSET two c 3
        OBJECT ENCODING two
        HDEL two c b
        OBJECT ENCODING two
        HINCRBY three a 1
        HINCRBY three b 1
        HINCRBY three c 1
        OBJECT ENCODING three
        CONFIG SET hash-max-listpack-entries 0
        HSET zero a 1
        OBJECT ENCODING zero
        HSCAN zero 0
        CONFIG SET hash-max-listpack-entries 512
        CONFIG SET hash-max-listpack-value 2
        HSET v ab cd
        OBJECT ENCODING v
        HSET v ab cde
        OBJECT ENCODING v
        CONFIG SET hash-max-listpack-value 64
        ",
    );
}

/// While listpack-encoded, the order of HGETALL/HKEYS/HVALS/HSCAN is insertion order with deletions
/// closing the gap, as in Redis.
#[test]
fn listpack_order() {
    let mut d = Diff::new();
    d.script(
        "
        HSET h a 1 b 2 c 3 d 4 e 5
        HDEL h b
        HSET h b 22 a 11
        HDEL h d
        HINCRBY h c 10
        HINCRBYFLOAT h f 1.5
        HSETNX h g 7
        HGETALL h
        HKEYS h
        HVALS h
        HSCAN h 0
        HSCAN h 12345
        HSCAN h 0 MATCH [a-c]
        HSCAN h 0 MATCH * COUNT 1
        HSCAN h 0 COUNT 1 MATCH ?
        HSCAN h 0 match nothing*
        HRANDFIELD h 10
        HRANDFIELD h 7 WITHVALUES
        HRANDFIELD h 100 WITHVALUES
        HMGET h g f e d c b a
        ",
    );
}

#[test]
fn hscan_arguments() {
    let mut d = Diff::new();
    d.script(
        "
        HSET h a 1 b 2
        HSCAN h -1
        HSCAN h +5
        HSCAN h 18446744073709551615
        HSCAN h 18446744073709551616
        HSCAN h x
        HSCAN h 1x
        HSCAN h 0x1
        HSCAN h - 
        HSCAN nosuch 0
        HSCAN nosuch 0 COUNT 0
        HSCAN nosuch 0 FOO bar
        HSCAN nosuch x
        HSCAN h 0 COUNT 0
        HSCAN h 0 COUNT -1
        HSCAN h 0 COUNT x
        HSCAN h 0 COUNT
        HSCAN h 0 MATCH
        HSCAN h 0 TYPE string
        HSCAN h 0 NOVALUES
        HSCAN h 0 COUNT 1 COUNT 2
        HSCAN h 0 MATCH a MATCH b
        ",
    );
    d.check(&["HSCAN", "h", ""]);
    d.check(&["HSCAN", "h", " 1"]);
    d.check(&["HSCAN", "h", "1 "]);
    d.check(&["HSCAN", "h", "0\u{0}9"]);
}

#[test]
fn hrandfield() {
    let mut d = Diff::new();
    d.script(
        "
        HSET h a 1 b 2 c 3 d 4 e 5
        HRANDFIELD nosuch
        HRANDFIELD nosuch 2
        HRANDFIELD nosuch -2 WITHVALUES
        HRANDFIELD nosuch 0
        HRANDFIELD nosuch x
        HRANDFIELD nosuch 0 x
        HRANDFIELD h 0
        HRANDFIELD h 0 WITHVALUES
        HRANDFIELD h 5
        HRANDFIELD h 6 WITHVALUES
        HRANDFIELD h 1 FOO
        HRANDFIELD h 1 withvalues x
        HRANDFIELD h x
        HRANDFIELD h 1.5
        HRANDFIELD h -9223372036854775808
        HRANDFIELD h 9223372036854775807 WITHVALUES
        HRANDFIELD h -4611686018427387904 WITHVALUES
        HRANDFIELD h 4611686018427387904 WITHVALUES
        HRANDFIELD h 9223372036854775807
        ",
    );
    let all: HashSet<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut b = Conn::new(d.rustis.port);
    let mut seen = HashSet::new();
    for _ in 0..100 {
        let one = bulks(&b.call(&["HRANDFIELD", "h"]));
        assert_eq!(one.len(), 1);
        assert!(all.contains(&one[0]));
        seen.insert(one[0].clone());
    }
    assert_eq!(seen.len(), 5, "every field comes up eventually");
    for n in 1..5 {
        let r = b.call(&["HRANDFIELD", "h", &n.to_string()]);
        let f = bulks(&r);
        assert!(r.starts_with(format!("*{n}\r\n").as_bytes()));
        assert_eq!(f.len(), n);
        assert_eq!(f.iter().collect::<HashSet<_>>().len(), n, "distinct: {f:?}");
        assert!(f.iter().all(|x| all.contains(x)));
        let r = b.call(&["HRANDFIELD", "h", &n.to_string(), "WITHVALUES"]);
        assert!(r.starts_with(format!("*{}\r\n", 2 * n).as_bytes()));
        let fv = bulks(&r);
        for p in fv.chunks(2) {
            let want = (p[0].as_bytes()[0] - b'a' + 1).to_string();
            assert_eq!(p[1], want, "value belongs to its field");
        }
    }
    let r = b.call(&["HRANDFIELD", "h", "-20"]);
    assert!(r.starts_with(b"*20\r\n"));
    let f = bulks(&r);
    assert_eq!(f.len(), 20);
    assert!(f.iter().all(|x| all.contains(x)));
    let r = b.call(&["HRANDFIELD", "h", "-7", "WITHVALUES"]);
    assert!(r.starts_with(b"*14\r\n"));
    // RESP3: WITHVALUES pairs are nested arrays, in both servers.
    d.both(&["HELLO", "3"]);
    d.script(
        "
        HRANDFIELD h 5 WITHVALUES
        HRANDFIELD h 0 WITHVALUES
        HRANDFIELD nosuch
        HRANDFIELD nosuch 3 WITHVALUES
        ",
    );
    b.call(&["HELLO", "3"]);
    let r = String::from_utf8(b.call(&["HRANDFIELD", "h", "-3", "WITHVALUES"])).unwrap();
    assert!(r.starts_with("*3\r\n*2\r\n$1\r\n"), "{r}");
    let r = String::from_utf8(b.call(&["HRANDFIELD", "h", "2", "WITHVALUES"])).unwrap();
    assert!(r.starts_with("*2\r\n*2\r\n$1\r\n"), "{r}");
}

#[test]
fn resp3() {
    let mut d = Diff::new();
    d.both(&["HELLO", "3"]);
    d.script(
        "
        HSET h a 1 b 2
        HGETALL h
        HGETALL nosuch
        HKEYS nosuch
        HVALS h
        HGET h nothere
        HMGET h a nothere
        HEXISTS h a
        HSCAN h 0
        HSCAN nosuch 0
        HSCAN h x
        HINCRBYFLOAT h a 1.5
        HINCRBY h b 1
        HRANDFIELD nosuch
        ",
    );
}

/// A hash table-encoded hash: contents compared without order, HSCAN coverage checked on Rustis,
/// including fields deleted and added while the scan runs.
#[test]
fn big_hash_and_hscan() {
    let mut d = Diff::new();
    let mut cmd = vec!["HSET".to_string(), "big".to_string()];
    for i in 0..600 {
        cmd.push(format!("f{i}"));
        cmd.push(format!("v{i}"));
    }
    d.check_owned(&cmd);
    d.script(
        "
        OBJECT ENCODING big
        HLEN big
        HGET big f599
        HDEL big f0 f1 f2 nothere
        HLEN big
        HSTRLEN big f10
        HINCRBY big f10 1
        HINCRBYFLOAT big counter 2.5
        ",
    );
    d.check_unordered(&["HKEYS", "big"]);
    d.check_unordered(&["HVALS", "big"]);

    let mut b = Conn::new(d.rustis.port);
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut deleted = HashSet::new();
    let mut round = 0;
    loop {
        let r = String::from_utf8(b.call(&["HSCAN", "big", &cursor, "COUNT", "25"])).unwrap();
        let parts: Vec<&str> = r.split("\r\n").collect();
        cursor = parts[2].to_string();
        let fv = bulks(r.as_bytes());
        for p in fv[1..].chunks(2) {
            if p[0].starts_with('f') && p[0] != "f10" {
                assert_eq!(&p[1][1..], &p[0][1..], "value follows its field");
            }
            seen.insert(p[0].clone());
        }
        // Delete some fields and add others mid-scan.
        round += 1;
        let victim = format!("f{}", 3 + round * 7);
        b.call(&["HDEL", "big", &victim]);
        deleted.insert(victim);
        b.call(&["HSET", "big", &format!("new{round}"), "x"]);
        if cursor == "0" {
            break;
        }
    }
    for i in 3..600 {
        let f = format!("f{i}");
        if !deleted.contains(&f) {
            assert!(seen.contains(&f), "{f} present throughout but not returned");
        }
    }
    let r = String::from_utf8(b.call(&["HSCAN", "big", "0", "MATCH", "f59?", "COUNT", "1000"]))
        .unwrap();
    let fv = bulks(r.as_bytes());
    assert_eq!(fv[0], "0");
    assert_eq!(fv.len(), 1 + 2 * 10, "{r}");
}

#[test]
fn command_metadata_matches() {
    let mut d = Diff::new();
    for c in [
        "hset",
        "hsetnx",
        "hmset",
        "hget",
        "hmget",
        "hgetall",
        "hdel",
        "hlen",
        "hexists",
        "hkeys",
        "hvals",
        "hincrby",
        "hincrbyfloat",
        "hstrlen",
        "hrandfield",
        "hscan",
    ] {
        let a = d.a.call(&["COMMAND", "INFO", c]);
        let b = d.b.call(&["COMMAND", "INFO", c]);
        let head = |r: &[u8]| {
            let s = String::from_utf8_lossy(r).into_owned();
            let lines: Vec<&str> = s.split("\r\n").collect();
            let nflags: usize = lines[5][1..].parse().unwrap();
            lines[..6 + nflags + 3].join("|")
        };
        assert_eq!(head(&b), head(&a), "COMMAND INFO {c}");
        let docs = |r: &[u8]| {
            let s = String::from_utf8_lossy(r).into_owned();
            let lines: Vec<&str> = s.split("\r\n").collect();
            ["summary", "since", "group", "complexity"]
                .iter()
                .map(|k| {
                    let i = lines.iter().position(|l| l == k).unwrap();
                    lines[i + 2].to_string()
                })
                .collect::<Vec<_>>()
        };
        let a = d.a.call(&["COMMAND", "DOCS", c]);
        let b = d.b.call(&["COMMAND", "DOCS", c]);
        assert_eq!(docs(&b), docs(&a), "COMMAND DOCS {c}");
    }
}
