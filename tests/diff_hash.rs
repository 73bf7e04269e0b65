//! Differential tests of the hash family against a real redis-server.

mod common;
use common::Diff;

#[test]
fn basics() {
    let mut d = Diff::new();
    d.script(
        "
        HSET h f1 v1 f2 v2
        HSET h f1 x f3 v3
        HSET h f1
        HMSET h a 1 b 2
        HMSET h a
        HGETALL h
        HDEL h f2 nothere
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
        HSTRLEN h f3
        HSTRLEN h zz
        HSETNX h a 9
        HSETNX h new 9
        HSETNX nosuch2 f v
        HGETALL nosuch
        HKEYS nosuch
        HDEL h f1 f3 a b new
        EXISTS h
        SET str v
        HSET str a b
        HGET str a
        HGETALL str
        HLEN str
        OBJECT ENCODING nosuch2
        HSET big f 0123456789012345678901234567890123456789012345678901234567890123456789
        OBJECT ENCODING big
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
        HSET h s abc
        HINCRBY h s 1
        HSET h big 9223372036854775807
        HINCRBY h big 1
        HINCRBYFLOAT h f 1.5
        HINCRBYFLOAT h f 0.1
        HINCRBYFLOAT h f -1.6
        HINCRBYFLOAT h s 1
        HINCRBYFLOAT h f abc
        HINCRBYFLOAT h f inf
        HINCRBYFLOAT h n 2.5e3
        HGETALL h
        HINCRBY nosuch f 1
        HINCRBYFLOAT nosuch2 f 1.25
        ",
    );
}

#[test]
fn resp3_and_random() {
    let mut d = Diff::new();
    d.both(&["HELLO", "3"]);
    d.script(
        "
        HSET h a 1 b 2
        HGETALL h
        HGETALL nosuch
        HRANDFIELD nosuch
        HRANDFIELD nosuch 2
        HRANDFIELD h 0
        HRANDFIELD h 2 WITHVALUES
        HRANDFIELD h 5
        HRANDFIELD h 1 FOO
        HRANDFIELD h x
        HSCAN h 0
        HSCAN nosuch 0
        HSCAN h x
        ",
    );
    d.both(&["HELLO", "2"]);
    d.check(&["HRANDFIELD", "h", "2", "WITHVALUES"]);
    let mut b = common::Conn::new(d.rustis.port);
    let r = String::from_utf8(b.call(&["HRANDFIELD", "h", "-5", "WITHVALUES"])).unwrap();
    assert!(r.starts_with("*10\r\n"), "{r}");
}

#[test]
fn hscan_walks_a_big_hash() {
    let d = Diff::new();
    let mut b = common::Conn::new(d.rustis.port);
    let mut cmd = vec!["HSET".to_string(), "big".to_string()];
    for i in 0..500 {
        cmd.push(format!("f{i}"));
        cmd.push(format!("v{i}"));
    }
    let c: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
    b.call(&c);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let r = String::from_utf8(b.call(&["HSCAN", "big", &cursor, "COUNT", "30"])).unwrap();
        let parts: Vec<&str> = r.split("\r\n").collect();
        cursor = parts[2].to_string();
        for f in parts[4..].iter().skip(1).step_by(4) {
            seen.insert(f.to_string());
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
}
