//! Differential tests of the keyspace commands against a real redis-server.

mod common;
use common::Diff;

#[test]
fn exists_del_type_rename() {
    let mut d = Diff::new();
    d.script(
        "
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
        RENAME d d
        RENAMENX d d
        SET e other
        RENAMENX d e
        RENAMENX d f
        GET f
        SET t v EX 100
        RENAME t t2
        TTL t2
        RENAME s h
        TYPE h
        ",
    );
}

#[test]
fn copy_and_move() {
    let mut d = Diff::new();
    d.script(
        "
        SET a v
        COPY a b
        GET b
        COPY a b
        COPY a b REPLACE
        COPY a a
        COPY nosuch b
        COPY a b DB 1
        SELECT 1
        GET b
        SELECT 0
        COPY a b DB 99
        COPY a b DB x
        COPY a b FOO
        RPUSH l 1 2 3
        COPY l l2
        LRANGE l2 0 -1
        RPUSH l2 4
        LLEN l
        MOVE a 1
        EXISTS a
        SELECT 1
        GET a
        MOVE a 0
        SELECT 0
        SET x 1
        MOVE x 1
        MOVE nosuch 1
        MOVE x 0
        MOVE x 16
        MOVE x abc
        ",
    );
}

#[test]
fn expiry() {
    let mut d = Diff::new();
    d.script(
        "
        SET k v
        TTL k
        PTTL k
        EXPIRETIME k
        TTL nosuch
        PTTL nosuch
        EXPIRETIME nosuch
        EXPIRE k 100
        TTL k
        EXPIRE k 50 NX
        EXPIRE k 50 XX
        TTL k
        EXPIRE k 10 GT
        EXPIRE k 100 GT
        TTL k
        EXPIRE k 200 LT
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
        EXPIRE k 100 FOO
        EXPIRE k abc
        EXPIRE nosuch 10
        PEXPIRE k 100000
        PEXPIREAT k 99999999999999
        PEXPIRETIME k
        EXPIREAT k 99999999999
        EXPIRETIME k
        EXPIRE k 9223372036854775807
        EXPIRE k -1
        EXISTS k
        SET k2 v
        EXPIREAT k2 1
        EXISTS k2
        SET k3 v
        PEXPIRE k3 0
        GET k3
        ",
    );
}

#[test]
fn expired_keys_disappear() {
    let mut d = Diff::new();
    d.script(
        "
        SET a v PX 50
        SET b v PX 50
        RPUSH c x
        PEXPIRE c 50
        ",
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    d.script(
        "
        GET a
        EXISTS b
        TYPE c
        DBSIZE
        ",
    );
}

#[test]
fn keys_scan_dbsize_flush_swapdb() {
    let mut d = Diff::new();
    for i in 0..50 {
        d.check(&["SET", &format!("key:{i}"), "v"]);
    }
    d.check(&["SADD", "set:1", "x"]);
    d.check_unordered(&["KEYS", "*"]);
    d.check_unordered(&["KEYS", "key:1*"]);
    d.check_unordered(&["KEYS", "key:[1-2]"]);
    d.check_unordered(&["KEYS", "set:?"]);
    d.check(&["KEYS", "nomatch*"]);
    d.check(&["DBSIZE"]);
    // SCAN: follow the cursor to 0 on both and compare the sorted union.
    for (pattern, typ) in [(None, None), (Some("key:1*"), None), (None, Some("set"))] {
        let mut all = Vec::new();
        for conn in [&mut d.a, &mut d.b] {
            let mut keys = Vec::new();
            let mut cursor = "0".to_string();
            loop {
                let mut args = vec![
                    "SCAN".to_string(),
                    cursor.clone(),
                    "COUNT".into(),
                    "7".into(),
                ];
                if let Some(p) = pattern {
                    args.extend(["MATCH".into(), p.to_string()]);
                }
                if let Some(t) = typ {
                    args.extend(["TYPE".into(), t.to_string()]);
                }
                let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
                let r = String::from_utf8(conn.call(&a)).unwrap();
                let parts: Vec<&str> = r.split("\r\n").collect();
                cursor = parts[2].to_string();
                keys.extend(
                    parts[4..]
                        .iter()
                        .skip(1)
                        .step_by(2)
                        .filter(|s| !s.is_empty())
                        .map(|s| s.to_string()),
                );
                if cursor == "0" {
                    break;
                }
            }
            keys.sort();
            keys.dedup();
            all.push(keys);
        }
        assert_eq!(all[0], all[1], "SCAN {pattern:?} {typ:?}");
    }
    d.script(
        "
        SCAN x
        SCAN 0 COUNT 0
        SCAN 0 COUNT x
        SCAN 0 FOO bar
        SELECT 1
        SET other v
        DBSIZE
        SELECT 0
        SWAPDB 0 1
        DBSIZE
        GET other
        SWAPDB 0 1
        SWAPDB 0 99
        SWAPDB x 1
        SWAPDB 0 y
        FLUSHDB
        DBSIZE
        SELECT 1
        DBSIZE
        FLUSHALL ASYNC
        DBSIZE
        FLUSHALL SYNC
        FLUSHALL FOO
        FLUSHDB FOO
        SELECT 0
        RANDOMKEY
        SET only v
        RANDOMKEY
        ",
    );
}

#[test]
fn object_subcommands() {
    let mut d = Diff::new();
    d.script(
        "
        SET a 1
        OBJECT ENCODING a
        OBJECT ENCODING nosuch
        OBJECT FOO a
        OBJECT ENCODING
        RPUSH l x
        OBJECT ENCODING l
        ",
    );
}
