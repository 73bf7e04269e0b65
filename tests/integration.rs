//! Integration tests through a real client library (the `redis` crate) against servers with 2 and 3
//! workers: keys on every worker, deep pipelines checked reply by reply, many concurrent connections,
//! multi-key commands across workers, databases, expiry, FLUSHALL.

mod common;

use std::collections::HashMap;

use redis::{Commands, Value};

use common::owner;

fn client(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Asserts that `keys` land on every one of `workers` workers, reasonably evenly.
fn assert_spread(keys: &[String], workers: usize) {
    let mut per_worker = vec![0usize; workers];
    for k in keys {
        per_worker[owner(k, workers)] += 1;
    }
    let min = keys.len() / workers / 3;
    assert!(
        per_worker.iter().all(|&n| n > min),
        "keys land on every worker: {per_worker:?}"
    );
}

#[test]
fn keys_spread_over_every_worker() {
    for workers in [2, 3] {
        let server = common::start_rustis(workers);
        let mut con = client(server.port);
        let keys: Vec<String> = (0..1000).map(|i| format!("key:{i}")).collect();
        assert_spread(&keys, workers);
        for k in &keys {
            let _: () = con.set(k, format!("value-{k}")).unwrap();
        }
        for k in &keys {
            let v: String = con.get(k).unwrap();
            assert_eq!(v, format!("value-{k}"));
        }
        let n: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, 1000);
        // Every key again in one MGET, with holes.
        let mut asked: Vec<String> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            asked.push(k.clone());
            if i % 100 == 0 {
                asked.push(format!("missing:{i}"));
            }
        }
        let all: Vec<Option<String>> = con.mget(&asked).unwrap();
        assert_eq!(all.len(), asked.len());
        for (k, v) in asked.iter().zip(&all) {
            if k.starts_with("missing") {
                assert_eq!(v, &None);
            } else {
                assert_eq!(v.as_deref(), Some(format!("value-{k}").as_str()), "{k}");
            }
        }
        // KEYS and a full SCAN see every key exactly once.
        let mut listed: Vec<String> = con.keys("key:*").unwrap();
        listed.sort();
        let mut expected = keys.clone();
        expected.sort();
        assert_eq!(listed, expected);
        let mut scanned: Vec<String> = con.scan_match::<_, String>("key:*").unwrap().collect();
        scanned.sort();
        scanned.dedup();
        assert_eq!(scanned, expected);
        // Counters on every key.
        for (i, k) in keys.iter().enumerate().take(300) {
            let _: () = con.set(k, i).unwrap();
            let v: i64 = con.incr(k, 5).unwrap();
            assert_eq!(v, i as i64 + 5);
            let len: usize = con.append(k, "0").unwrap();
            assert_eq!(len, (i as i64 + 5).to_string().len() + 1);
        }
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
    let replies: Vec<Value> = pipe.query(&mut con).unwrap();
    assert_eq!(replies.len(), 10_000);
    for (i, pair) in replies.chunks(2).enumerate() {
        assert_eq!(pair[0], Value::Okay);
        assert_eq!(pair[1], Value::Int(i as i64 + 1), "reply {i} out of order");
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

/// A tiny model of the string keyspace, to predict every reply of a mixed pipeline.
#[derive(Default)]
struct Model {
    kv: HashMap<String, String>,
}

impl Model {
    fn get(&self, k: &str) -> Value {
        match self.kv.get(k) {
            Some(v) => Value::BulkString(v.as_bytes().to_vec()),
            None => Value::Nil,
        }
    }
}

#[test]
fn mixed_pipeline_of_ten_thousand_commands() {
    for workers in [2, 3] {
        let server = common::start_rustis(workers);
        let mut con = client(server.port);
        let keys: Vec<String> = (0..200).map(|i| format!("mix:{i}")).collect();
        let counters: Vec<String> = (0..30).map(|i| format!("ctr:{i}")).collect();
        assert_spread(&keys, workers);
        assert_spread(&counters, workers);
        let mut model = Model::default();
        let mut pipe = redis::pipe();
        let mut expected: Vec<Value> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for i in 0..10_000 {
            let k = &keys[rand(keys.len())];
            let k2 = &keys[rand(keys.len())];
            match rand(9) {
                0 => {
                    let v = format!("v{i}");
                    pipe.cmd("SET").arg(k).arg(&v);
                    model.kv.insert(k.clone(), v);
                    expected.push(Value::Okay);
                }
                1 => {
                    pipe.cmd("GET").arg(k);
                    expected.push(model.get(k));
                }
                2 => {
                    // Counters live on keys no string command touches, so every INCR succeeds.
                    let c = &counters[rand(counters.len())];
                    pipe.cmd("INCR").arg(c);
                    let n = model.kv.get(c).map_or(0, |v| v.parse::<i64>().unwrap()) + 1;
                    model.kv.insert(c.clone(), n.to_string());
                    expected.push(Value::Int(n));
                }
                3 => {
                    pipe.cmd("MGET").arg(k).arg(k2).arg("nosuch");
                    expected.push(Value::Array(vec![model.get(k), model.get(k2), Value::Nil]));
                }
                4 => {
                    let n = model.kv.remove(k).is_some() as i64
                        + (k2 != k && model.kv.remove(k2).is_some()) as i64;
                    pipe.cmd("DEL").arg(k).arg(k2);
                    expected.push(Value::Int(n));
                }
                5 => {
                    let n = model.kv.contains_key(k) as i64 + model.kv.contains_key(k2) as i64;
                    pipe.cmd("EXISTS").arg(k).arg(k2);
                    expected.push(Value::Int(n));
                }
                6 => {
                    let (v, v2) = (format!("a{i}"), format!("b{i}"));
                    pipe.cmd("MSET").arg(k).arg(&v).arg(k2).arg(&v2);
                    model.kv.insert(k.clone(), v);
                    model.kv.insert(k2.clone(), v2);
                    expected.push(Value::Okay);
                }
                7 => {
                    pipe.cmd("APPEND").arg(k).arg("x");
                    let e = model.kv.entry(k.clone()).or_default();
                    e.push('x');
                    expected.push(Value::Int(e.len() as i64));
                }
                _ => {
                    pipe.cmd("PING");
                    expected.push(Value::SimpleString("PONG".into()));
                }
            }
        }
        let replies: Vec<Value> = pipe.query(&mut con).unwrap();
        assert_eq!(replies.len(), 10_000);
        for (i, (got, want)) in replies.iter().zip(&expected).enumerate() {
            assert_eq!(got, want, "reply {i} ({workers} workers)");
        }
        // The final state agrees with the model, key by key.
        let all: Vec<String> = keys.iter().chain(&counters).cloned().collect();
        let state: Vec<Option<String>> = con.mget(&all).unwrap();
        for (k, v) in all.iter().zip(state) {
            assert_eq!(v, model.kv.get(k).cloned(), "{k}");
        }
    }
}

#[test]
fn many_connections_count_exactly() {
    for workers in [2, 3] {
        let server = common::start_rustis(workers);
        let port = server.port;
        let threads: Vec<_> = (0..50)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut con = client(port);
                    for i in 0..200 {
                        let _: i64 = con.incr("shared", 1).unwrap();
                        let _: i64 = con.incr(format!("spread:{}", i % 10), 1).unwrap();
                        let own = format!("own:{t}:{}", i % 10);
                        let _: () = con.set(&own, i).unwrap();
                        let v: i64 = con.get(&own).unwrap();
                        assert_eq!(v, i);
                        let n: i64 = con.incr(format!("count:{t}"), 1).unwrap();
                        assert_eq!(n, i + 1);
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
        let spread: Vec<i64> = con
            .mget((0..10).map(|i| format!("spread:{i}")).collect::<Vec<_>>())
            .unwrap();
        assert_eq!(spread, vec![50 * 20; 10]);
        let counts: Vec<i64> = con
            .mget((0..50).map(|t| format!("count:{t}")).collect::<Vec<_>>())
            .unwrap();
        assert!(counts.iter().all(|&c| c == 200));
        let n: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, 1 + 10 + 50 * 10 + 50);
    }
}

#[test]
fn concurrent_pipelines_on_shared_keys() {
    let server = common::start_rustis(3);
    let port = server.port;
    let threads: Vec<_> = (0..20)
        .map(|t| {
            std::thread::spawn(move || {
                let mut con = client(port);
                let mut pipe = redis::pipe();
                for i in 0..500 {
                    pipe.cmd("INCRBY")
                        .arg(format!("hot:{}", i % 5))
                        .arg(2)
                        .ignore();
                    pipe.cmd("SET").arg(format!("mine:{t}:{i}")).arg(i).ignore();
                }
                let _: () = pipe.query(&mut con).unwrap();
                let mine: Vec<i64> = con
                    .mget(
                        (0..500)
                            .map(|i| format!("mine:{t}:{i}"))
                            .collect::<Vec<_>>(),
                    )
                    .unwrap();
                assert_eq!(mine, (0..500).collect::<Vec<i64>>());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut con = client(port);
    let hot: Vec<i64> = con
        .mget((0..5).map(|i| format!("hot:{i}")).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(hot, vec![20 * 100 * 2; 5]);
}

#[test]
fn multi_key_commands_across_workers() {
    for workers in [2, 3] {
        let server = common::start_rustis(workers);
        let mut con = client(server.port);
        let keys: Vec<String> = (0..60).map(|i| format!("mk:{i}")).collect();
        assert_spread(&keys, workers);
        let pairs: Vec<(String, String)> =
            keys.iter().map(|k| (k.clone(), format!("v-{k}"))).collect();
        let _: () = con.mset(&pairs).unwrap();
        let got: Vec<String> = con.mget(&keys).unwrap();
        assert_eq!(got, pairs.iter().map(|p| p.1.clone()).collect::<Vec<_>>());
        // MSETNX: all or nothing, whichever worker holds the existing key.
        let fresh: Vec<(String, i64)> = (0..30).map(|i| (format!("fresh:{i}"), i)).collect();
        let ok: bool = con.mset_nx(&fresh).unwrap();
        assert!(ok);
        let mut blocked = vec![("brand:new".to_string(), 1)];
        blocked.push(("fresh:17".to_string(), 2));
        let ok: bool = con.mset_nx(&blocked).unwrap();
        assert!(!ok);
        let none: Option<i64> = con.get("brand:new").unwrap();
        assert_eq!(none, None);
        // EXISTS counts repeats; DEL and UNLINK count what existed.
        let mut ask: Vec<&str> = keys.iter().map(String::as_str).collect();
        ask.extend(["nosuch", "mk:0", "mk:1"]);
        let n: usize = con.exists(&ask).unwrap();
        assert_eq!(n, 62);
        let n: usize = redis::cmd("TOUCH").arg(&ask).query(&mut con).unwrap();
        assert_eq!(n, 62);
        // RENAME and COPY between keys of different workers keep value and TTL.
        let (a, b) = (&keys[0], &keys[1]);
        let (x, y) = keys[10..]
            .iter()
            .flat_map(|x| keys[10..].iter().map(move |y| (x, y)))
            .find(|(x, y)| owner(x, workers) != owner(y, workers))
            .unwrap();
        let _: () = con.set_ex(x, "moving", 1000).unwrap();
        let _: () = redis::cmd("RENAME")
            .arg(x)
            .arg("renamed")
            .query(&mut con)
            .unwrap();
        let _: () = redis::cmd("RENAME")
            .arg("renamed")
            .arg(y)
            .query(&mut con)
            .unwrap();
        let v: String = con.get(y).unwrap();
        assert_eq!(v, "moving");
        let ttl: i64 = con.ttl(y).unwrap();
        assert!((990..=1000).contains(&ttl), "{ttl}");
        let copied: bool = redis::cmd("COPY").arg(y).arg(x).query(&mut con).unwrap();
        assert!(copied);
        let v: String = con.get(x).unwrap();
        assert_eq!(v, "moving");
        let copied: bool = redis::cmd("COPY").arg(y).arg(x).query(&mut con).unwrap();
        assert!(!copied);
        let copied: bool = redis::cmd("COPY")
            .arg(a)
            .arg(x)
            .arg("REPLACE")
            .query(&mut con)
            .unwrap();
        assert!(copied);
        let v: String = con.get(x).unwrap();
        assert_eq!(v, format!("v-{a}"));
        let n: bool = redis::cmd("RENAMENX")
            .arg(b)
            .arg(a)
            .query(&mut con)
            .unwrap();
        assert!(!n);
        let lcs: String = redis::cmd("LCS").arg(a).arg(b).query(&mut con).unwrap();
        assert_eq!(lcs, "v-mk:");
        let deleted: usize = con.del(&keys[..30]).unwrap();
        assert_eq!(deleted, 30);
        let unlinked: usize = con.unlink(&keys).unwrap();
        assert_eq!(unlinked, 30);
    }
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
fn databases_are_isolated_per_connection() {
    for workers in [2, 3] {
        let server = common::start_rustis(workers);
        let port = server.port;
        // One thread per database, all writing the same key names at once.
        let threads: Vec<_> = (0..16)
            .map(|db| {
                std::thread::spawn(move || {
                    let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/{db}"))
                        .unwrap()
                        .get_connection()
                        .unwrap();
                    for i in 0..50 {
                        let _: () = con.set(format!("k{i}"), format!("db{db}-{i}")).unwrap();
                    }
                    let _: i64 = con.incr("counter", db + 1).unwrap();
                    let size: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
                    assert_eq!(size, 51);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut con = client(port);
        for db in 0..16i64 {
            let _: () = redis::cmd("SELECT").arg(db).query(&mut con).unwrap();
            let vals: Vec<String> = con
                .mget((0..50).map(|i| format!("k{i}")).collect::<Vec<_>>())
                .unwrap();
            assert!(vals
                .iter()
                .enumerate()
                .all(|(i, v)| *v == format!("db{db}-{i}")));
            let c: i64 = con.get("counter").unwrap();
            assert_eq!(c, db + 1);
        }
        // MOVE and COPY ... DB between databases, for keys on every worker.
        let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
        for i in 0..50 {
            let moved: bool = redis::cmd("MOVE")
                .arg(format!("k{i}"))
                .arg(1)
                .query(&mut con)
                .unwrap();
            assert!(!moved, "k{i} exists in db 1 already");
            let copied: bool = redis::cmd("COPY")
                .arg(format!("k{i}"))
                .arg(format!("copy{i}"))
                .arg("DB")
                .arg(15)
                .query(&mut con)
                .unwrap();
            assert!(copied);
        }
        let _: () = redis::cmd("SELECT").arg(15).query(&mut con).unwrap();
        let v: String = con.get("copy7").unwrap();
        assert_eq!(v, "db0-7");
        // FLUSHDB empties one database only; FLUSHALL every one.
        let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
        let n: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, 0);
        let _: () = redis::cmd("SELECT").arg(14).query(&mut con).unwrap();
        let n: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, 51);
        let _: () = redis::cmd("FLUSHALL").arg("ASYNC").query(&mut con).unwrap();
        for db in 0..16 {
            let _: () = redis::cmd("SELECT").arg(db).query(&mut con).unwrap();
            let n: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
            assert_eq!(n, 0, "db {db} after FLUSHALL");
        }
    }
}

#[test]
fn expiry_on_every_worker() {
    let server = common::start_rustis(3);
    let mut con = client(server.port);
    let keys: Vec<String> = (0..90).map(|i| format!("exp:{i}")).collect();
    assert_spread(&keys, 3);
    for (i, k) in keys.iter().enumerate() {
        match i % 3 {
            0 => redis::cmd("SET")
                .arg(k)
                .arg("v")
                .arg("PX")
                .arg(50)
                .query::<()>(&mut con),
            1 => redis::cmd("PSETEX")
                .arg(k)
                .arg(50)
                .arg("v")
                .query::<()>(&mut con),
            _ => {
                let _: () = con.set(k, "v").unwrap();
                redis::cmd("PEXPIRE").arg(k).arg(50).query::<()>(&mut con)
            }
        }
        .unwrap();
    }
    let _: () = con.set("persistent", "v").unwrap();
    let _: () = con.set_ex("long", "v", 1000).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let vals: Vec<Option<String>> = con.mget(&keys).unwrap();
    assert!(vals.iter().all(Option::is_none), "{vals:?}");
    let n: usize = con.exists(&keys).unwrap();
    assert_eq!(n, 0);
    let listed: Vec<String> = con.keys("*").unwrap();
    let mut listed = listed;
    listed.sort();
    assert_eq!(listed, vec!["long", "persistent"]);
    let ttl: i64 = con.ttl("persistent").unwrap();
    assert_eq!(ttl, -1);
    let ttl: i64 = con.ttl("exp:0").unwrap();
    assert_eq!(ttl, -2);
    let persisted: bool = con.persist("long").unwrap();
    assert!(persisted);
    let ttl: i64 = con.ttl("long").unwrap();
    assert_eq!(ttl, -1);
}

#[test]
fn resp3_client_session() {
    let server = common::start_rustis(2);
    let mut con = redis::Client::open(format!("redis://127.0.0.1:{}/?protocol=resp3", server.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = con.set("a", "1").unwrap();
    let _: () = con.set("b", "2").unwrap();
    let v: Vec<Option<String>> = con.mget(&["a", "b", "nosuch"]).unwrap();
    assert_eq!(v, vec![Some("1".into()), Some("2".into()), None]);
    let raw: Value = redis::cmd("GET").arg("nosuch").query(&mut con).unwrap();
    assert_eq!(raw, Value::Nil);
    let cfg: HashMap<String, String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query(&mut con)
        .unwrap();
    assert_eq!(cfg.get("maxmemory").map(String::as_str), Some("0"));
    let raw: Value = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query(&mut con)
        .unwrap();
    assert!(matches!(raw, Value::Map(_)), "{raw:?}");
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
