//! Differential tests of the set family against a real redis-server.

mod common;
use common::Diff;

#[test]
fn basics_and_encodings() {
    let mut d = Diff::new();
    d.script(
        "
        SADD s 3 1 2
        SADD s 2 5
        SMEMBERS s
        OBJECT ENCODING s
        SADD s x
        OBJECT ENCODING s
        SCARD s
        SCARD nosuch
        SISMEMBER s 1
        SISMEMBER s 9
        SISMEMBER nosuch 1
        SMISMEMBER s 1 9 x
        SMISMEMBER nosuch a
        SREM s 1 9 x
        SREM nosuch a
        SREM s 2 3 5
        EXISTS s
        SMEMBERS nosuch
        SET str v
        SADD str a
        SMEMBERS str
        SCARD str
        SISMEMBER str a
        SADD i 10 -5 7
        SMEMBERS i
        OBJECT ENCODING i
        CONFIG SET set-max-intset-entries 2
        SADD j 1 2 3
        OBJECT ENCODING j
        CONFIG SET set-max-intset-entries 512
        ",
    );
}

#[test]
fn algebra_across_workers() {
    let mut d = Diff::new();
    d.script(
        "
        SADD a 1 2 3 4
        SADD b 3 4 5
        SADD c 4 5 6
        SINTER a b
        SINTER a b c
        SINTER a nosuch
        SUNION a b c
        SDIFF a b
        SDIFF a b c
        SDIFF nosuch a
        SINTERSTORE d1 a b
        SMEMBERS d1
        SUNIONSTORE d2 a c
        SMEMBERS d2
        SDIFFSTORE d3 a b c
        SMEMBERS d3
        SINTERSTORE d1 a nosuch
        EXISTS d1
        SINTERCARD 2 a b
        SINTERCARD 3 a b c LIMIT 1
        SINTERCARD 1 a LIMIT 0
        SINTERCARD 0 a
        SINTERCARD 3 a b
        SINTERCARD 2 a b LIMIT -1
        SINTERCARD 2 a b FOO 1
        SET str v
        SINTER a str
        SUNIONSTORE d4 a str
        SMOVE a b 1
        SMOVE a b 9
        SMOVE nosuch b 1
        SMOVE a str 2
        SMOVE a a 2
        SMOVE a newset 2
        SMEMBERS a
        SMEMBERS b
        SMEMBERS newset
        ",
    );
    d.check_unordered(&["SADD", "w1", "x", "y", "z"]);
    d.check(&["SADD", "w2", "y", "z", "q"]);
    d.check_unordered(&["SUNION", "w1", "w2"]);
    d.check_unordered(&["SINTER", "w1", "w2"]);
}

#[test]
fn random_members() {
    let mut d = Diff::new();
    d.script(
        "
        SPOP nosuch
        SPOP nosuch 3
        SRANDMEMBER nosuch
        SRANDMEMBER nosuch 3
        SADD s a
        SPOP s 0
        SRANDMEMBER s 0
        SPOP s -1
        SPOP s x
        SRANDMEMBER s x
        SPOP s 1 2
        SRANDMEMBER s 5
        SRANDMEMBER s -3
        SPOP s 5
        EXISTS s
        ",
    );
    let mut b = common::Conn::new(d.rustis.port);
    b.call(&[
        "SADD", "r", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "x",
    ]);
    let distinct = String::from_utf8(b.call(&["SRANDMEMBER", "r", "5"])).unwrap();
    assert!(distinct.starts_with("*5\r\n"));
    let mut seen: Vec<&str> = distinct
        .split("\r\n")
        .skip(2)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        5,
        "SRANDMEMBER with a positive count returns distinct members"
    );
    let rep = String::from_utf8(b.call(&["SRANDMEMBER", "r", "-20"])).unwrap();
    assert!(rep.starts_with("*20\r\n"));
    let popped = String::from_utf8(b.call(&["SPOP", "r", "4"])).unwrap();
    assert!(popped.starts_with("*4\r\n"));
    assert_eq!(b.call(&["SCARD", "r"]), b":7\r\n");
}

#[test]
fn sscan_walks_everything() {
    let mut d = Diff::new();
    let mut b = common::Conn::new(d.rustis.port);
    let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut cmd = vec!["SADD", "big"];
    cmd.extend(members.iter().map(|s| s.as_str()));
    b.call(&cmd);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let r = String::from_utf8(b.call(&["SSCAN", "big", &cursor, "COUNT", "50"])).unwrap();
        let parts: Vec<&str> = r.split("\r\n").collect();
        cursor = parts[2].to_string();
        for m in parts[4..].iter().skip(1).step_by(2) {
            seen.insert(m.to_string());
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    d.script(
        "
        SADD small 1 2 3
        SSCAN small 0
        SSCAN small 0 MATCH 2
        SSCAN nosuch 0
        SSCAN small x
        SSCAN small 0 COUNT 0
        SSCAN small 0 FOO
        ",
    );
}
