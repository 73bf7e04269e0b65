//! Differential tests of the set family against a real redis-server.
//!
//! Replies must be byte-identical wherever Redis's order is determined: intset-encoded sets (and
//! results Redis builds as intsets) list members in ascending order. Hashtable order is Redis's own, so
//! those replies are compared as sorted member lists, and random replies (SPOP, SRANDMEMBER) by count
//! and membership. With two workers, "b", "c", "z", "str" live on worker 0 and "a", "x", "y" on worker 1.

mod common;
use common::{Conn, Diff};

/// A decoded reply, enough to compare unordered and random replies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum V {
    Bulk(Vec<u8>),
    Int(i64),
    Arr(Vec<V>),
    Null,
    Line(String),
}

fn parse(b: &[u8]) -> V {
    fn line(b: &[u8], i: &mut usize) -> String {
        let start = *i;
        while &b[*i..*i + 2] != b"\r\n" {
            *i += 1;
        }
        let s = String::from_utf8_lossy(&b[start..*i]).into_owned();
        *i += 2;
        s
    }
    fn value(b: &[u8], i: &mut usize) -> V {
        let tag = b[*i];
        *i += 1;
        let l = line(b, i);
        match tag {
            b':' => V::Int(l.parse().unwrap()),
            b'_' => V::Null,
            b'$' => {
                let n: i64 = l.parse().unwrap();
                if n < 0 {
                    return V::Null;
                }
                let v = b[*i..*i + n as usize].to_vec();
                *i += n as usize + 2;
                V::Bulk(v)
            }
            b'*' | b'~' => {
                let n: i64 = l.parse().unwrap();
                if n < 0 {
                    return V::Null;
                }
                V::Arr((0..n).map(|_| value(b, i)).collect())
            }
            _ => V::Line(format!("{}{l}", tag as char)),
        }
    }
    value(b, &mut 0)
}

/// The bulk strings of an array reply.
fn members(v: &V) -> Vec<Vec<u8>> {
    match v {
        V::Arr(items) => items
            .iter()
            .map(|x| match x {
                V::Bulk(b) => b.clone(),
                other => panic!("not a bulk string: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

/// Sorts arrays recursively: the reply with Redis's unspecified hashtable order removed.
fn normalized(v: V) -> V {
    match v {
        V::Arr(items) => {
            let mut items: Vec<V> = items.into_iter().map(normalized).collect();
            items.sort();
            V::Arr(items)
        }
        other => other,
    }
}

/// Sends `args` to both servers and compares the replies with every array sorted (the outer array of
/// an SSCAN reply holds the cursor and the members; sorting it keeps both).
fn check_sorted(d: &mut Diff, args: &[&str]) {
    let ra = d.a.call(args);
    let rb = d.b.call(args);
    assert_eq!(
        normalized(parse(&rb)),
        normalized(parse(&ra)),
        "replies differ for {args:?} once sorted:\n rustis {:?}\n redis  {:?}",
        String::from_utf8_lossy(&rb),
        String::from_utf8_lossy(&ra)
    );
}

fn call(c: &mut Conn, args: &[&str]) -> V {
    parse(&c.call(args))
}

#[test]
fn basics_and_encodings() {
    let mut d = Diff::new();
    d.script(
        "
        SADD s 3 1 2
        SADD s 2 5
        SADD s 5 5 5
        SMEMBERS s
        OBJECT ENCODING s
        TYPE s
        SADD s x
        OBJECT ENCODING s
        SREM s x
        OBJECT ENCODING s
        SCARD s
        SCARD nosuch
        SISMEMBER s 1
        SISMEMBER s 9
        SISMEMBER nosuch 1
        SMISMEMBER s 1 9 x 2
        SMISMEMBER nosuch a b
        SREM s 1 9 x
        SREM nosuch a
        SREM s 2 3 5
        EXISTS s
        SMEMBERS nosuch
        SADD i 10 -5 7 0 -9223372036854775808 9223372036854775807
        SMEMBERS i
        OBJECT ENCODING i
        SADD n1 01
        OBJECT ENCODING n1
        SADD n2 -0
        OBJECT ENCODING n2
        SADD n3 +1
        OBJECT ENCODING n3
        SADD n4 9223372036854775808
        OBJECT ENCODING n4
        SADD n5 1 1.5
        OBJECT ENCODING n5
        SADD n6 a 1
        OBJECT ENCODING n6
        SREM n6 a
        OBJECT ENCODING n6
        SMEMBERS n6
        CONFIG SET set-max-intset-entries 2
        SADD j 1 2
        SADD j 2 1
        OBJECT ENCODING j
        SADD j 3
        OBJECT ENCODING j
        SREM j 3
        OBJECT ENCODING j
        SADD k 1 2 3
        OBJECT ENCODING k
        CONFIG SET set-max-intset-entries 512
        SADD
        SADD s
        SCARD
        SISMEMBER s
        SMISMEMBER s
        ",
    );
    // Membership and removal are byte-exact, empty members included.
    d.check(&["SADD", "e", "", " ", "\0", "a"]);
    d.check(&["SISMEMBER", "e", ""]);
    d.check(&["SMISMEMBER", "e", "", "\0", "b"]);
    d.check(&["SREM", "e", "", "zz"]);
    d.check(&["SCARD", "e"]);
    check_sorted(&mut d, &["SMEMBERS", "e"]);
    check_sorted(&mut d, &["SMEMBERS", "n6"]);
}

#[test]
fn wrong_types() {
    let mut d = Diff::new();
    d.script(
        "
        SET str v
        RPUSH list a
        SADD str a
        SREM str a
        SMEMBERS str
        SCARD str
        SISMEMBER str a
        SMISMEMBER str a
        SMOVE str s a
        SINTER str
        SUNION list
        SDIFF str
        SINTERSTORE d str
        SUNIONSTORE d str
        SDIFFSTORE d str
        SINTERCARD 1 str
        SSCAN str 0
        SPOP str
        SPOP str 1
        SRANDMEMBER str
        SRANDMEMBER str 1
        GET str
        LRANGE list 0 -1
        ",
    );
}

#[test]
fn algebra_across_workers() {
    let mut d = Diff::new();
    // a, x: worker 1; b, c, z: worker 0.
    d.script(
        "
        SADD a 1 2 3 4
        SADD b 3 4 5
        SADD c 4 5 6
        SINTER a b
        SINTER a b c
        SINTER c b a
        SINTER a
        SINTER a a
        SINTER a nosuch
        SINTER nosuch a
        SUNION a b c
        SUNION a
        SUNION nosuch
        SUNION nosuch a nosuch
        SDIFF a b
        SDIFF a b c
        SDIFF a a
        SDIFF a nosuch
        SDIFF nosuch a
        SINTERSTORE x a b
        SMEMBERS x
        OBJECT ENCODING x
        SUNIONSTORE z a c
        SMEMBERS z
        SDIFFSTORE y a b c
        SMEMBERS y
        SINTERSTORE x a nosuch
        EXISTS x
        SDIFFSTORE z a a
        EXISTS z
        SUNIONSTORE a a b
        SMEMBERS a
        SDIFFSTORE a a b
        SMEMBERS a
        SET str v
        SINTER a str
        SINTER nosuch str
        SINTER str nosuch
        SUNION a nosuch str
        SDIFF nosuch str
        SUNIONSTORE x a str
        SINTERSTORE str a
        TYPE str
        SMEMBERS str
        SADD t 9
        EXPIRE t 1000
        SUNIONSTORE t a b
        TTL t
        SMEMBERS t
        SINTERSTORE
        SINTERSTORE d
        SINTER
        ",
    );
    // Results Redis builds as intsets (every member an integer, few enough) come out ascending even
    // when a source is a hashtable; larger or mixed results are compared as sorted lists.
    d.script(
        "
        SADD h 30 10 x 20
        SREM h x
        OBJECT ENCODING h
        SUNION h
        SDIFF h nosuch
        SUNIONSTORE u h
        OBJECT ENCODING u
        SMEMBERS u
        SINTER h a b c
        SADD small 20 30
        SINTER h small
        SINTERSTORE v h small
        OBJECT ENCODING v
        CONFIG SET set-max-intset-entries 2
        SUNIONSTORE w a b
        OBJECT ENCODING w
        SINTERSTORE w2 a b
        OBJECT ENCODING w2
        CONFIG SET set-max-intset-entries 512
        ",
    );
    check_sorted(&mut d, &["SMEMBERS", "w"]);
    check_sorted(&mut d, &["SUNION", "h", "a", "b", "c"]);
    d.check(&["SADD", "m1", "x", "y", "z", "1"]);
    d.check(&["SADD", "m2", "y", "z", "q", "2"]);
    for cmd in [
        &["SUNION", "m1", "m2"][..],
        &["SINTER", "m1", "m2"],
        &["SDIFF", "m1", "m2"],
        &["SDIFF", "m2", "m1", "a"],
        &["SUNION", "m1", "a", "c"],
    ] {
        check_sorted(&mut d, cmd);
    }
    for (store, read) in [
        ("SUNIONSTORE", "m3"),
        ("SINTERSTORE", "m4"),
        ("SDIFFSTORE", "m5"),
    ] {
        d.check(&[store, read, "m1", "m2"]);
        check_sorted(&mut d, &["SMEMBERS", read]);
        d.check(&["OBJECT", "ENCODING", read]);
    }
}

#[test]
fn intercard() {
    let mut d = Diff::new();
    d.script(
        "
        SADD a 1 2 3 4
        SADD b 3 4 5
        SADD c 4 5 6
        SINTERCARD 2 a b
        SINTERCARD 3 a b c
        SINTERCARD 1 a
        SINTERCARD 2 a a
        SINTERCARD 2 a nosuch
        SINTERCARD 1 nosuch
        SINTERCARD 2 a b LIMIT 0
        SINTERCARD 2 a b LIMIT 1
        SINTERCARD 2 a b LIMIT 2
        SINTERCARD 2 a b LIMIT 3
        SINTERCARD 1 a LIMIT 9223372036854775807
        SINTERCARD 2 a b limit 1 LIMIT 0
        SINTERCARD 0 a
        SINTERCARD -1 a
        SINTERCARD x a
        SINTERCARD 9223372036854775808 a
        SINTERCARD 3 a b
        SINTERCARD 10 a
        SINTERCARD 9223372036854775807 a
        SINTERCARD 2 a b LIMIT -1
        SINTERCARD 2 a b LIMIT x
        SINTERCARD 2 a b LIMIT
        SINTERCARD 2 a b FOO 1
        SINTERCARD 1 a b
        SET str v
        SINTERCARD 2 a str
        SINTERCARD 2 nosuch str
        SINTERCARD 2 str a LIMIT x
        SINTERCARD
        SINTERCARD 1
        ",
    );
}

#[test]
fn smove_across_workers() {
    let mut d = Diff::new();
    // a: worker 1, b: worker 0, x and y: worker 1.
    d.script(
        "
        SADD a 1 2 3
        SADD b 3 4
        SMOVE a b 1
        SMOVE a b 3
        SMOVE a b 9
        SMEMBERS a
        SMEMBERS b
        SMOVE a b 2
        EXISTS a
        SMEMBERS b
        SMOVE nosuch b 1
        SADD x p q
        SMOVE x y p
        OBJECT ENCODING y
        SMOVE x y q
        EXISTS x
        SCARD y
        SMOVE b y 4
        OBJECT ENCODING y
        SMOVE b newset 3
        OBJECT ENCODING newset
        SMEMBERS newset
        SADD same a 1
        SMOVE same same a
        SMOVE same same zz
        SCARD same
        SET str v
        SMOVE nosuch str m
        SMOVE str nosuch m
        SMOVE str b m
        SMOVE b str 1
        SMOVE b str nothere
        SMOVE str str m
        GET str
        SMOVE a b
        ",
    );
    check_sorted(&mut d, &["SMEMBERS", "y"]);
    check_sorted(&mut d, &["SMEMBERS", "same"]);
}

#[test]
fn pop_and_random_errors_and_fixed_replies() {
    let mut d = Diff::new();
    d.script(
        "
        SPOP nosuch
        SPOP nosuch 3
        SPOP nosuch 0
        SRANDMEMBER nosuch
        SRANDMEMBER nosuch 3
        SRANDMEMBER nosuch -3
        SRANDMEMBER nosuch 0
        SADD s a
        SPOP s 0
        SRANDMEMBER s 0
        SPOP s -1
        SPOP s x
        SPOP s 1.5
        SPOP s 9223372036854775808
        SRANDMEMBER s x
        SRANDMEMBER s 9223372036854775808
        SRANDMEMBER s -9223372036854775808
        SRANDMEMBER nosuch -9223372036854775808
        SRANDMEMBER nosuch x
        SPOP s 1 2
        SRANDMEMBER s 1 2
        SRANDMEMBER s
        SRANDMEMBER s 1
        SRANDMEMBER s 5
        SRANDMEMBER s -3
        SRANDMEMBER s 9223372036854775807
        SPOP s 5
        EXISTS s
        SADD i 5 3 9 1
        SRANDMEMBER i 4
        SRANDMEMBER i 100
        SPOP i 4
        EXISTS i
        SADD i 5 3 9 1
        SPOP i 9223372036854775807
        SADD one x
        SPOP one
        EXISTS one
        SPOP
        SRANDMEMBER
        ",
    );
}

#[test]
fn pop_and_random_members() {
    let mut d = Diff::new();
    let all: Vec<String> = (1..=10)
        .map(|i| i.to_string())
        .chain(["x".to_string()])
        .collect();
    let mut sadd = vec!["SADD", "r"];
    sadd.extend(all.iter().map(String::as_str));
    d.check(&sadd);
    let all: Vec<Vec<u8>> = all.into_iter().map(String::into_bytes).collect();
    let mut b = Conn::new(d.rustis.port);
    for _ in 0..20 {
        let m = members(&V::Arr(vec![call(&mut b, &["SRANDMEMBER", "r"])]));
        assert!(all.contains(&m[0]));
        let mut v = members(&call(&mut b, &["SRANDMEMBER", "r", "5"]));
        assert_eq!(v.len(), 5);
        assert!(v.iter().all(|m| all.contains(m)));
        v.sort();
        v.dedup();
        assert_eq!(v.len(), 5, "a positive count returns distinct members");
        let v = members(&call(&mut b, &["SRANDMEMBER", "r", "10"]));
        assert_eq!(v.len(), 10);
        let v = members(&call(&mut b, &["SRANDMEMBER", "r", "-30"]));
        assert_eq!(v.len(), 30, "a negative count allows repeats");
        assert!(v.iter().all(|m| all.contains(m)));
        let v = members(&call(&mut b, &["SRANDMEMBER", "r", "1"]));
        assert_eq!(v.len(), 1);
    }
    // SPOP removes exactly what it returns.
    let mut left = all.clone();
    let mut popped = members(&call(&mut b, &["SPOP", "r", "4"]));
    assert_eq!(popped.len(), 4);
    match call(&mut b, &["SPOP", "r"]) {
        V::Bulk(m) => popped.push(m),
        other => panic!("SPOP replied {other:?}"),
    }
    popped.extend(members(&call(&mut b, &["SPOP", "r", "3"])));
    for m in &popped {
        assert!(
            left.contains(m),
            "popped a member twice or a stranger: {m:?}"
        );
        left.retain(|x| x != m);
        assert_eq!(
            call(&mut b, &["SISMEMBER", "r", std::str::from_utf8(m).unwrap()]),
            V::Int(0)
        );
    }
    assert_eq!(call(&mut b, &["SCARD", "r"]), V::Int(3));
    let mut rest = members(&call(&mut b, &["SPOP", "r", "3"]));
    rest.sort();
    left.sort();
    assert_eq!(rest, left);
    assert_eq!(call(&mut b, &["EXISTS", "r"]), V::Int(0));
    // Both servers agree on the counts.
    d.script(
        "
        SADD q a b c d e f g
        SCARD q
        ",
    );
    let (ra, rb) = (d.a.call(&["SPOP", "q", "3"]), d.b.call(&["SPOP", "q", "3"]));
    assert_eq!(members(&parse(&ra)).len(), members(&parse(&rb)).len());
    d.check(&["SCARD", "q"]);
    // A big set: many pops stay consistent with SCARD and leave no duplicates.
    let many: Vec<String> = (0..2000).map(|i| format!("m{i}")).collect();
    let mut sadd = vec!["SADD", "big"];
    sadd.extend(many.iter().map(String::as_str));
    b.call(&sadd);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10 {
        for m in members(&call(&mut b, &["SPOP", "big", "150"])) {
            assert!(seen.insert(m));
        }
    }
    assert_eq!(call(&mut b, &["SCARD", "big"]), V::Int(500));
}

#[test]
fn sscan_walks_everything() {
    let d = Diff::new();
    let mut b = Conn::new(d.rustis.port);
    let members_: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut cmd = vec!["SADD", "big"];
    cmd.extend(members_.iter().map(String::as_str));
    b.call(&cmd);
    // A full scan sees every member once; removing members during the scan never hides the others.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    let mut removed = 0;
    let mut gone = std::collections::HashSet::new();
    loop {
        let V::Arr(parts) = call(&mut b, &["SSCAN", "big", &cursor, "COUNT", "50"]) else {
            panic!("bad SSCAN reply");
        };
        let V::Bulk(c) = &parts[0] else {
            panic!("bad cursor");
        };
        cursor = String::from_utf8(c.clone()).unwrap();
        for m in members(&parts[1]) {
            seen.insert(m);
        }
        // Remove two members not seen yet; they may or may not be returned, the rest must be.
        for i in (0..1000).rev() {
            if removed >= 400 {
                break;
            }
            let m = format!("m{i}");
            if !seen.contains(m.as_bytes()) && gone.insert(m.clone()) {
                assert_eq!(call(&mut b, &["SREM", "big", &m]), V::Int(1));
                removed += 1;
                if removed % 2 == 0 {
                    break;
                }
            }
        }
        if cursor == "0" {
            break;
        }
    }
    let remaining = members(&call(&mut b, &["SMEMBERS", "big"]));
    assert_eq!(remaining.len(), 1000 - removed);
    for m in remaining {
        assert!(seen.contains(&m), "member never returned: {m:?}");
    }
    // MATCH filters; COUNT is a hint; an out-of-range cursor ends the scan.
    let V::Arr(parts) = call(
        &mut b,
        &["SSCAN", "big", "0", "MATCH", "m1?", "COUNT", "5000"],
    ) else {
        panic!()
    };
    assert_eq!(parts[0], V::Bulk(b"0".to_vec()));
    assert!(members(&parts[1])
        .iter()
        .all(|m| m.len() == 3 && m.starts_with(b"m1")));
    let V::Arr(parts) = call(&mut b, &["SSCAN", "big", "999999999", "COUNT", "5"]) else {
        panic!()
    };
    assert_eq!(members(&parts[1]).len(), 5);
    // -1 reads as 2^64 - 1 (strtoul): a cursor never issued; the scan is over, as Redis ends it
    // after the last bucket.
    let V::Arr(parts) = call(&mut b, &["SSCAN", "big", "-1", "COUNT", "5"]) else {
        panic!()
    };
    assert_eq!(parts[0], V::Bulk(b"0".to_vec()));
    assert_eq!(members(&parts[1]).len(), 0);
}

#[test]
fn sscan_replies_and_errors() {
    let mut d = Diff::new();
    d.script(
        "
        SADD small 30 1 2 3 10 20
        SSCAN small 0
        SSCAN small 0 COUNT 1
        SSCAN small 5 COUNT 1
        SSCAN small 0 MATCH 2
        SSCAN small 0 MATCH *0
        SSCAN small 0 MATCH * COUNT 100
        SSCAN small 0 match [12] count 2 MATCH 3
        SSCAN nosuch 0
        SSCAN nosuch 0 FOO
        SSCAN nosuch 0 COUNT x
        SSCAN nosuch x
        SSCAN nosuch x FOO
        SSCAN small x
        SSCAN small 1.5
        SSCAN small 18446744073709551615
        SSCAN small 18446744073709551616
        SSCAN small -1
        SSCAN small +5
        SSCAN small -
        SSCAN small 0 COUNT 0
        SSCAN small 0 COUNT -1
        SSCAN small 0 COUNT x
        SSCAN small 0 COUNT
        SSCAN small 0 MATCH
        SSCAN small 0 FOO
        SSCAN small 0 FOO bar
        SSCAN small 0 TYPE set
        SET str v
        SSCAN str 0
        SSCAN str 0 FOO
        SSCAN str x
        SSCAN small
        ",
    );
    for cursor in ["", " 5", "5 ", "\t1"] {
        d.check(&["SSCAN", "small", cursor]);
        d.check(&["SSCAN", "nosuch", cursor]);
    }
    // Small hashtable sets come back whole in one call; Redis's order is its own.
    d.check(&["SADD", "h", "apple", "banana", "cherry", "", "1"]);
    for args in [
        &["SSCAN", "h", "0"][..],
        &["SSCAN", "h", "0", "MATCH", "*an*"],
        &["SSCAN", "h", "0", "MATCH", "*"],
        &["SSCAN", "h", "0", "MATCH", "?"],
    ] {
        check_sorted(&mut d, args);
    }
}

#[test]
fn expired_sets_are_missing() {
    let mut d = Diff::new();
    d.script(
        "
        SADD e 1 2
        SADD f 2 3
        PEXPIRE e 1
        ",
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    d.script(
        "
        SCARD e
        SISMEMBER e 1
        SINTER e f
        SUNION e f
        SMOVE e f 1
        SPOP e
        SADD e 9
        TTL e
        SMEMBERS e
        ",
    );
}

#[test]
fn resp3_replies() {
    let mut d = Diff::new();
    d.both(&["HELLO", "3"]);
    d.script(
        "
        SMEMBERS nosuch
        SADD s 3 1 2
        SMEMBERS s
        SISMEMBER s 1
        SISMEMBER s 9
        SMISMEMBER s 1 9
        SINTER s s
        SINTER s nosuch
        SUNION s nosuch
        SDIFF s s
        SINTERCARD 1 s
        SSCAN s 0
        SSCAN nosuch 0
        SPOP nosuch
        SPOP nosuch 2
        SPOP s 0
        SRANDMEMBER nosuch
        SRANDMEMBER nosuch 2
        SRANDMEMBER s 0
        SRANDMEMBER s 3
        SRANDMEMBER s 10
        SPOP s 3
        SADD one x
        SPOP one
        SPOP one
        ",
    );
}

#[test]
fn command_getkeys() {
    let mut d = Diff::new();
    d.script(
        "
        COMMAND GETKEYS SMOVE a b m
        COMMAND GETKEYS SINTERSTORE d a b c
        COMMAND GETKEYS SINTERCARD 2 a b LIMIT 1
        COMMAND GETKEYS LMPOP 2 a b LEFT
        COMMAND GETKEYS LMOVE a b LEFT RIGHT
        ",
    );
}
