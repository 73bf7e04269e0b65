//! Integration tests through a real client library (the `redis` crate) against servers with 2 and 3
//! workers: keys on every worker, deep pipelines, many concurrent connections.

mod common;

use redis::Commands;

fn client(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap()
}

fn owner_of(key: &str, workers: usize) -> usize {
    rustis::keyslot::slot_owner(rustis::keyslot::key_slot(key.as_bytes()), workers)
}

#[test]
fn keys_spread_over_every_worker() {
    for workers in [2, 3] {
        let server = common::start_rustis(workers);
        let mut con = client(server.port);
        let keys: Vec<String> = (0..1000).map(|i| format!("key:{i}")).collect();
        let mut per_worker = vec![0; workers];
        for k in &keys {
            per_worker[owner_of(k, workers)] += 1;
            let _: () = con.set(k, format!("value-{k}")).unwrap();
        }
        assert!(
            per_worker.iter().all(|&n| n > 100),
            "keys land on every worker: {per_worker:?}"
        );
        for k in &keys {
            let v: String = con.get(k).unwrap();
            assert_eq!(v, format!("value-{k}"));
        }
        let n: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, 1000);
        let all: Vec<Option<String>> = con.mget(&keys[..50]).unwrap();
        assert!(all
            .iter()
            .enumerate()
            .all(|(i, v)| v.as_deref() == Some(format!("value-key:{i}").as_str())));
        let deleted: usize = con.del(&keys[..100]).unwrap();
        assert_eq!(deleted, 100);
        let exists: usize = con.exists(&keys[..200]).unwrap();
        assert_eq!(exists, 100);
        let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
        let n: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, 0);
    }
}

#[test]
fn deep_pipeline_keeps_order_across_workers() {
    let server = common::start_rustis(3);
    let mut con = client(server.port);
    let mut pipe = redis::pipe();
    for i in 0..5000 {
        pipe.cmd("SET").arg(format!("p{i}")).arg(i);
        pipe.cmd("INCR").arg(format!("p{i}"));
    }
    let replies: Vec<redis::Value> = pipe.query(&mut con).unwrap();
    assert_eq!(replies.len(), 10_000);
    for (i, pair) in replies.chunks(2).enumerate() {
        assert_eq!(pair[0], redis::Value::Okay);
        assert_eq!(
            pair[1],
            redis::Value::Int(i as i64 + 1),
            "reply {i} out of order"
        );
    }
    let mut pipe = redis::pipe();
    for i in 0..10_000 {
        pipe.cmd("GET").arg(format!("p{}", i % 5000));
    }
    let values: Vec<i64> = pipe.query(&mut con).unwrap();
    assert!(values
        .iter()
        .enumerate()
        .all(|(i, v)| *v == (i % 5000) as i64 + 1));
}

#[test]
fn many_connections_count_exactly() {
    let server = common::start_rustis(2);
    let port = server.port;
    let threads: Vec<_> = (0..50)
        .map(|t| {
            std::thread::spawn(move || {
                let mut con = client(port);
                for i in 0..200 {
                    let _: i64 = con.incr("shared", 1).unwrap();
                    let own = format!("own:{t}:{}", i % 10);
                    let _: () = con.set(&own, i).unwrap();
                    let v: i64 = con.get(&own).unwrap();
                    assert_eq!(v, i);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut con = client(port);
    let total: i64 = con.get("shared").unwrap();
    assert_eq!(total, 50 * 200);
    let n: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 1 + 50 * 10);
}

#[test]
fn databases_and_multi_key_commands() {
    let server = common::start_rustis(2);
    let mut con = client(server.port);
    let _: () = redis::cmd("MSET")
        .arg("a")
        .arg(1)
        .arg("b")
        .arg(2)
        .arg("c")
        .arg(3)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let none: Option<i64> = con.get("a").unwrap();
    assert_eq!(none, None);
    let _: () = con.set("a", "db3").unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
    let a: i64 = con.get("a").unwrap();
    assert_eq!(a, 1);
    let _: () = redis::cmd("RENAME")
        .arg("a")
        .arg("renamed")
        .query(&mut con)
        .unwrap();
    let r: i64 = con.get("renamed").unwrap();
    assert_eq!(r, 1);
    let _: usize = con.sadd("s1", &["x", "y", "z"]).unwrap();
    let _: usize = con.sadd("s2", &["y", "z", "w"]).unwrap();
    let n: usize = redis::cmd("SINTERSTORE")
        .arg("dst")
        .arg("s1")
        .arg("s2")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 2);
    let mut members: Vec<String> = con.smembers("dst").unwrap();
    members.sort();
    assert_eq!(members, vec!["y", "z"]);
    let _: () = redis::cmd("SWAPDB").arg(0).arg(3).query(&mut con).unwrap();
    let a: String = con.get("a").unwrap();
    assert_eq!(a, "db3");
}

#[test]
fn large_values_are_served_intact_from_every_worker() {
    let server = common::start_rustis(2);
    let mut con = client(server.port);
    let sizes = [1023usize, 1024, 4096, 100_000, 1_000_000];
    let mut pipe = redis::pipe();
    for (i, size) in sizes.iter().enumerate() {
        for k in 0..8 {
            let value: Vec<u8> = (0..*size).map(|j| (j * 31 + i * 7 + k) as u8).collect();
            pipe.cmd("SET")
                .arg(format!("big:{i}:{k}"))
                .arg(value)
                .ignore();
        }
    }
    let _: () = pipe.query(&mut con).unwrap();
    // Interleave small and large replies, local and forwarded, in one pipeline.
    let mut pipe = redis::pipe();
    for (i, _) in sizes.iter().enumerate() {
        for k in 0..8 {
            pipe.cmd("GET").arg(format!("big:{i}:{k}"));
            pipe.cmd("PING");
        }
    }
    let replies: Vec<redis::Value> = pipe.query(&mut con).unwrap();
    let mut it = replies.into_iter();
    for (i, size) in sizes.iter().enumerate() {
        for k in 0..8 {
            let expected: Vec<u8> = (0..*size).map(|j| (j * 31 + i * 7 + k) as u8).collect();
            match it.next() {
                Some(redis::Value::BulkString(v)) => {
                    assert!(v == expected, "value big:{i}:{k} corrupted")
                }
                other => panic!("unexpected reply {other:?}"),
            }
            assert!(matches!(it.next(), Some(redis::Value::SimpleString(ref s)) if s == "PONG"));
        }
    }
    let vals: Vec<Vec<u8>> = redis::cmd("MGET")
        .arg("big:2:0")
        .arg("big:2:1")
        .arg("big:3:5")
        .query(&mut con)
        .unwrap();
    assert_eq!(vals[2].len(), 100_000);
    let n: usize = redis::cmd("APPEND")
        .arg("big:2:0")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 4097);
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("big:2:0")
        .query(&mut con)
        .unwrap();
    assert_eq!(enc, "raw");
}
