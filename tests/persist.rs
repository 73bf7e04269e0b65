//! RDB snapshots: files that redis-server and redis-check-rdb read, files of redis-server that
//! Rustis loads, every type and encoding, several databases, deadlines and function libraries;
//! BGSAVE as one logical instant while writes go on; save points, SIGTERM, SHUTDOWN SAVE, failed
//! saves (-MISCONF), damaged files refused at startup.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{bulks, int_of, start_redis_in, start_rustis_with, test_dir, Conn};

/// Fills the server behind `c` with one key of every type and encoding Redis 7.0 has, in two
/// databases, some with deadlines, and a function library.
fn fill(c: &mut Conn) {
    let far = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 3_600_000)
        .to_string();
    let long: String = "abcdefgh".repeat(40);
    let mut cmds: Vec<Vec<String>> = vec![
        vec!["SET".into(), "int".into(), "12345".into()],
        vec!["SET".into(), "neg".into(), "-9000000000".into()],
        vec!["SET".into(), "str".into(), "hello".into()],
        vec!["SET".into(), "long".into(), long.clone()],
        vec![
            "SET".into(),
            "ttl".into(),
            "v".into(),
            "PXAT".into(),
            far.clone(),
        ],
        vec!["SETBIT".into(), "bits".into(), "1000".into(), "1".into()],
        vec![
            "PFADD".into(),
            "hll".into(),
            "a".into(),
            "b".into(),
            "c".into(),
        ],
        vec![
            "RPUSH".into(),
            "list".into(),
            "a".into(),
            "1".into(),
            long.clone(),
        ],
        vec![
            "SADD".into(),
            "iset".into(),
            "1".into(),
            "2".into(),
            "-3".into(),
        ],
        vec!["SADD".into(), "sset".into(), "x".into(), "y".into()],
        vec![
            "HSET".into(),
            "hsmall".into(),
            "f".into(),
            "v".into(),
            "n".into(),
            "7".into(),
        ],
        vec!["HSET".into(), "hlongval".into(), "f".into(), long.clone()],
        vec![
            "ZADD".into(),
            "zsmall".into(),
            "1.5".into(),
            "a".into(),
            "-2".into(),
            "b".into(),
        ],
        vec!["PEXPIREAT".into(), "zsmall".into(), far.clone()],
        vec![
            "XADD".into(),
            "stream".into(),
            "1-1".into(),
            "f".into(),
            "v".into(),
        ],
        vec![
            "XADD".into(),
            "stream".into(),
            "2-5".into(),
            "f".into(),
            "w".into(),
            "g".into(),
            "7".into(),
        ],
        vec![
            "XGROUP".into(),
            "CREATE".into(),
            "stream".into(),
            "grp".into(),
            "0".into(),
        ],
        vec![
            "XREADGROUP".into(),
            "GROUP".into(),
            "grp".into(),
            "alice".into(),
            "COUNT".into(),
            "1".into(),
            "STREAMS".into(),
            "stream".into(),
            ">".into(),
        ],
    ];
    let mut biglist = vec!["RPUSH".to_string(), "biglist".into()];
    let mut bigiset = vec!["SADD".to_string(), "bigiset".into()];
    let mut bighash = vec!["HSET".to_string(), "bighash".into()];
    let mut bigzset = vec!["ZADD".to_string(), "bigzset".into()];
    for i in 0..1000 {
        biglist.push(format!("element-{i}"));
        bigiset.push(i.to_string());
        if i < 300 {
            bighash.push(format!("f{i}"));
            bighash.push(format!("value {i}"));
            bigzset.push(format!("{}", i as f64 / 7.0));
            bigzset.push(format!("m{i}"));
        }
    }
    cmds.extend([biglist, bigiset, bighash, bigzset]);
    for cmd in &cmds {
        let a: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let r = c.call(&a);
        assert!(
            !r.starts_with(b"-"),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&r)
        );
    }
    assert_eq!(c.call(&["SELECT", "5"]), b"+OK\r\n");
    c.call(&["SET", "in5", "five"]);
    c.call(&["RPUSH", "l5", "x"]);
    assert_eq!(c.call(&["SELECT", "0"]), b"+OK\r\n");
    let lib = "#!lua name=persistlib\nredis.register_function('echo1', function(keys, args) return args[1] end)";
    let r = c.call(&["FUNCTION", "LOAD", lib]);
    assert_eq!(r, b"$10\r\npersistlib\r\n");
}

/// What a client sees of every key of database `db`: type, encoding, deadline and contents in a
/// canonical order, by key.
fn view(c: &mut Conn, db: usize) -> BTreeMap<String, String> {
    assert_eq!(c.call(&["SELECT", &db.to_string()]), b"+OK\r\n");
    let mut out = BTreeMap::new();
    for key in bulks(&c.call(&["KEYS", "*"])) {
        let t = String::from_utf8_lossy(&c.call(&["TYPE", &key])).into_owned();
        let mut enc = String::from_utf8_lossy(&c.call(&["OBJECT", "ENCODING", &key])).into_owned();
        // A string written in place (PFADD, SETBIT) is raw; loaded, one of 44 bytes or less is
        // embstr, in Redis as here.
        if enc == "$3\r\nraw\r\n" && int_of(&c.call(&["STRLEN", &key])).unwrap_or(99) <= 44 {
            enc = "$6\r\nembstr\r\n".into();
        }
        let at = String::from_utf8_lossy(&c.call(&["PEXPIRETIME", &key])).into_owned();
        let body = match t.trim() {
            "+string" => String::from_utf8_lossy(&c.call(&["GET", &key])).into_owned(),
            "+list" => bulks(&c.call(&["LRANGE", &key, "0", "-1"])).join(","),
            "+set" => {
                let mut m = bulks(&c.call(&["SMEMBERS", &key]));
                m.sort();
                m.join(",")
            }
            "+hash" => {
                let mut m = bulks(&c.call(&["HGETALL", &key]))
                    .chunks(2)
                    .map(|p| p.join("="))
                    .collect::<Vec<_>>();
                m.sort();
                m.join(",")
            }
            "+zset" => bulks(&c.call(&["ZRANGE", &key, "0", "-1", "WITHSCORES"])).join(","),
            "+stream" => {
                // Entries, groups and their pending entries (delivery times differ by nature).
                let entries =
                    String::from_utf8_lossy(&c.call(&["XRANGE", &key, "-", "+"])).into_owned();
                let groups =
                    String::from_utf8_lossy(&c.call(&["XINFO", "GROUPS", &key])).into_owned();
                let pending =
                    String::from_utf8_lossy(&c.call(&["XPENDING", &key, "grp"])).into_owned();
                format!("{entries} {groups} {pending}")
            }
            other => panic!("unexpected type {other}"),
        };
        out.insert(key, format!("{t} {enc} {at} {body}"));
    }
    assert_eq!(c.call(&["SELECT", "0"]), b"+OK\r\n");
    out
}

fn views(c: &mut Conn) -> Vec<BTreeMap<String, String>> {
    vec![view(c, 0), view(c, 5)]
}

/// Asserts two servers' views are equal, naming only the keys that differ.
fn same_views(got: &[BTreeMap<String, String>], want: &[BTreeMap<String, String>], what: &str) {
    for (db, (g, w)) in got.iter().zip(want).enumerate() {
        let keys: std::collections::BTreeSet<&String> = g.keys().chain(w.keys()).collect();
        for k in keys {
            let short = |v: Option<&String>| v.map(|s| s.chars().take(160).collect::<String>());
            assert_eq!(
                short(g.get(k)),
                short(w.get(k)),
                "{what}: db {db} key {k} (left: got, right: expected)"
            );
            assert_eq!(g.get(k), w.get(k), "{what}: db {db} key {k}");
        }
    }
    assert_eq!(got.len(), want.len());
}

fn check_rdb(path: &str) {
    let out = Command::new("redis-check-rdb")
        .arg(path)
        .output()
        .expect("redis-check-rdb (redis-tools) is required");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb refused {path}: {text}"
    );
}

#[test]
fn redis_loads_what_rustis_saves() {
    let dir = test_dir("persist-out");
    let expected;
    {
        let r = start_rustis_with(2, &["--dir", &dir]);
        let mut c = Conn::new(r.port);
        fill(&mut c);
        expected = views(&mut c);
        assert!(expected[0].len() > 15 && expected[1].len() == 2);
        assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
        let info = String::from_utf8_lossy(&c.call(&["INFO", "persistence"])).into_owned();
        assert!(info.contains("rdb_changes_since_last_save:0\r\n"), "{info}");
        assert!(info.contains("rdb_last_bgsave_status:ok\r\n"), "{info}");
        assert!(info.contains("rdb_saves:1\r\n"), "{info}");
    }
    check_rdb(&format!("{dir}/dump.rdb"));
    let redis = start_redis_in(&dir);
    let mut c = Conn::new(redis.port);
    same_views(&views(&mut c), &expected, "redis after loading");
    let libs = String::from_utf8_lossy(&c.call(&["FUNCTION", "LIST"])).into_owned();
    assert!(
        libs.contains("persistlib") && libs.contains("echo1"),
        "{libs}"
    );
}

#[test]
fn rustis_loads_what_redis_saves() {
    let dir = test_dir("persist-in");
    let expected;
    {
        let redis = start_redis_in(&dir);
        let mut c = Conn::new(redis.port);
        fill(&mut c);
        expected = views(&mut c);
        assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    }
    for threads in [1, 3] {
        let r = start_rustis_with(threads, &["--dir", &dir]);
        let mut c = Conn::new(r.port);
        same_views(&views(&mut c), &expected, &format!("{threads} workers"));
        let info = String::from_utf8_lossy(&c.call(&["INFO", "persistence"])).into_owned();
        let loaded = expected[0].len() + expected[1].len();
        assert!(
            info.contains(&format!("rdb_last_load_keys_loaded:{loaded}\r\n")),
            "{info}"
        );
        assert_eq!(c.call(&["FCALL", "echo1", "0", "hi"]), b"$2\r\nhi\r\n");
    }
}

#[test]
fn a_restart_keeps_everything_and_expired_keys_stay_gone() {
    let dir = test_dir("persist-restart");
    let expected;
    {
        let r = start_rustis_with(2, &["--dir", &dir]);
        let mut c = Conn::new(r.port);
        fill(&mut c);
        c.call(&["SET", "short", "v", "PX", "150"]);
        expected = views(&mut c)
            .into_iter()
            .map(|mut m| {
                m.remove("short");
                m
            })
            .collect::<Vec<_>>();
        assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    }
    std::thread::sleep(Duration::from_millis(250));
    let r = start_rustis_with(2, &["--dir", &dir]);
    let mut c = Conn::new(r.port);
    same_views(&views(&mut c), &expected, "after a restart");
    let info = String::from_utf8_lossy(&c.call(&["INFO", "persistence"])).into_owned();
    assert!(info.contains("rdb_last_load_keys_expired:1\r\n"), "{info}");
}

/// Reads a snapshot file back: every key of database 0 with its string value.
fn read_back(path: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let data = std::fs::read(path).expect("the snapshot exists");
    let mut out = BTreeMap::new();
    rustis::rdb::file::read_file(
        &data,
        16,
        &rustis::store::EncodingLimits::default(),
        0,
        true,
        |db, e| {
            assert_eq!(db, 0);
            let v = match &e.value {
                rustis::store::Value::Str(s) => s.with_bytes(|b| b.to_vec()),
                _ => panic!("not a string"),
            };
            out.insert(e.key.as_bytes().to_vec(), v);
            Ok(())
        },
        |_, _| {},
    )
    .expect("the snapshot loads");
    out
}

fn info_field(c: &mut Conn, field: &str) -> String {
    let info = String::from_utf8_lossy(&c.call(&["INFO", "persistence"])).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .to_string()
}

fn wait_for_bgsave(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(c, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE never ended");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn bgsave_captures_one_instant_while_writes_go_on() {
    let dir = test_dir("persist-instant");
    let r = start_rustis_with(2, &["--dir", &dir]);
    let port = r.port;
    let mut c = Conn::new(port);
    // Filler on both workers, so that the snapshot takes many slices.
    for chunk in 0..40 {
        let mut cmd = vec!["MSET".to_string()];
        for i in 0..5000 {
            cmd.push(format!("fill:{chunk}:{i}"));
            cmd.push("x".repeat(20));
        }
        let a: Vec<&str> = cmd.iter().map(String::as_str).collect();
        assert_eq!(c.call(&a), b"+OK\r\n");
    }
    // 400 keys on both workers, always written together (MSET is atomic across workers).
    let keys: Vec<String> = (0..400).map(|i| format!("pair:{i}")).collect();
    let mset = |c: &mut Conn, v: &str| {
        let mut cmd = vec!["MSET".to_string()];
        for k in &keys {
            cmd.push(k.clone());
            cmd.push(v.to_string());
        }
        let a: Vec<&str> = cmd.iter().map(String::as_str).collect();
        assert_eq!(c.call(&a), b"+OK\r\n");
    };
    mset(&mut c, "0");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, keys) = (stop.clone(), keys.clone());
        std::thread::spawn(move || {
            let mut w = Conn::new(port);
            let mut round = 1u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && round < 100_000 {
                let mut cmd = vec!["MSET".to_string()];
                for k in &keys {
                    cmd.push(k.clone());
                    cmd.push(round.to_string());
                }
                cmd.push(format!("late:{round}"));
                cmd.push("new".into());
                let a: Vec<&str> = cmd.iter().map(String::as_str).collect();
                assert_eq!(w.call(&a), b"+OK\r\n");
                w.call(&["DEL", &format!("fill:{}:{}", round % 40, round % 5000)]);
                round += 1;
            }
            round
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(c.call(&["BGSAVE"]), b"+Background saving started\r\n");
    wait_for_bgsave(&mut c);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rounds = writer.join().unwrap();
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    let saved = read_back(&format!("{dir}/dump.rdb"));
    let values: std::collections::BTreeSet<&Vec<u8>> = keys
        .iter()
        .map(|k| saved.get(k.as_bytes()).expect("every pair key is saved"))
        .collect();
    assert_eq!(
        values.len(),
        1,
        "pair keys from different instants: {values:?}"
    );
    let v: u64 = String::from_utf8_lossy(values.iter().next().unwrap())
        .parse()
        .unwrap();
    // The keys written before the instant are there, those after are not; deleted filler too.
    let late = saved.keys().filter(|k| k.starts_with(b"late:")).count() as u64;
    assert_eq!(
        late, v,
        "late keys of rounds 1..={v} exactly ({rounds} rounds ran)"
    );
    // Round r's DEL follows its MSET: the instant may fall between the two.
    let deleted = 200_000 - saved.keys().filter(|k| k.starts_with(b"fill:")).count() as u64;
    assert!(
        deleted == v || deleted + 1 == v.max(1) || (v == 0 && deleted == 0),
        "{deleted} filler keys deleted at round {v}"
    );
}

#[test]
fn a_damaged_file_stops_the_start() {
    let dir = test_dir("persist-damaged");
    {
        let r = start_rustis_with(1, &["--dir", &dir]);
        let mut c = Conn::new(r.port);
        c.call(&["SET", "k", "v"]);
        c.call(&["RPUSH", "l", "a", "b"]);
        assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    }
    let path = format!("{dir}/dump.rdb");
    let good = std::fs::read(&path).unwrap();
    let start = |extra: &[&str]| {
        let mut argv = vec![
            "rustis",
            "--port",
            "0",
            "--loglevel",
            "warning",
            "--dir",
            &dir,
        ];
        argv.extend_from_slice(extra);
        rustis::server::start(&rustis::config::Cli::from_args(argv).unwrap())
    };
    for bad in [
        good[..good.len() - 3].to_vec(),
        good[..good.len() / 2].to_vec(),
        b"REDIS0010\xfe\x00garbage".to_vec(),
        b"NOTREDIS".to_vec(),
        {
            let mut d = good.clone();
            let i = d.len() - 12;
            d[i] ^= 0xff;
            d
        },
    ] {
        std::fs::write(&path, &bad).unwrap();
        match start(&[]) {
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}"),
            Ok(s) => {
                s.stop();
                panic!("a damaged file was loaded");
            }
        }
    }
    // The same file without its checksum checked (rdbchecksum no) still refuses real damage.
    std::fs::write(&path, &good).unwrap();
    let s = start(&["--rdbchecksum", "no"]).expect("a good file loads");
    s.stop();
}

#[test]
fn a_failed_save_refuses_writes_until_it_works_again() {
    let dir = test_dir("persist-fail");
    let r = start_rustis_with(2, &["--dir", &dir, "--save", "3600 1"]);
    let mut c = Conn::new(r.port);
    c.call(&["SET", "k", "v"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(c.call(&["BGSAVE"]), b"+Background saving started\r\n");
    wait_for_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    let misconf = format!("-{}\r\n", rustis::persist::MISCONF);
    assert_eq!(c.call(&["SET", "k", "w"]), misconf.as_bytes());
    assert_eq!(c.call(&["PING"]), misconf.as_bytes());
    assert_eq!(c.call(&["GET", "k"]), b"$1\r\nv\r\n", "reads go on");
    assert_eq!(c.call(&["SAVE"]), b"-ERR\r\n");
    assert_eq!(
        c.call(&["SHUTDOWN"]),
        b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n",
        "a shutdown that cannot save keeps the data in memory"
    );
    assert_eq!(c.call(&["GET", "k"]), b"$1\r\nv\r\n");
    // Without save points writes are taken again, as in Redis.
    assert_eq!(c.call(&["CONFIG", "SET", "save", ""]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "k", "w"]), b"+OK\r\n");
    assert_eq!(c.call(&["CONFIG", "SET", "save", "3600 1"]), b"+OK\r\n");
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(c.call(&["SAVE"]), b"+OK\r\n");
    assert_eq!(c.call(&["SET", "k", "x"]), b"+OK\r\n");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
}

#[test]
fn save_points_signals_and_shutdown_save() {
    let dir = test_dir("persist-points");
    {
        let r = start_rustis_with(2, &["--dir", &dir, "--save", "1 1"]);
        let mut c = Conn::new(r.port);
        let before: i64 = int_of(&c.call(&["LASTSAVE"])).unwrap();
        c.call(&["SET", "a", "1"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while info_field(&mut c, "rdb_saves") == "0" {
            assert!(Instant::now() < deadline, "the save point never fired");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(int_of(&c.call(&["LASTSAVE"])).unwrap() >= before);
        c.call(&["SET", "b", "2"]);
        // Dropped: stopped as by SIGTERM, which saves when save points are configured.
    }
    {
        let r = start_rustis_with(1, &["--dir", &dir, "--save", ""]);
        let mut c = Conn::new(r.port);
        assert_eq!(bulks(&c.call(&["MGET", "a", "b"])), ["1", "2"]);
        c.call(&["SET", "c", "3"]);
        // No save points: stopping does not save...
    }
    {
        let r = start_rustis_with(1, &["--dir", &dir, "--save", ""]);
        let mut c = Conn::new(r.port);
        assert_eq!(c.call(&["EXISTS", "c"]), b":0\r\n");
        c.call(&["SET", "c", "3"]);
        // ...unless SHUTDOWN SAVE says so: no reply, the connection closes.
        c.send(&[b"SHUTDOWN", b"SAVE"]);
        assert_eq!(c.read_to_close(), b"");
    }
    let r = start_rustis_with(1, &["--dir", &dir, "--save", ""]);
    let mut c = Conn::new(r.port);
    assert_eq!(c.call(&["GET", "c"]), b"$1\r\n3\r\n");
}

#[test]
fn bgsave_replies_as_redis() {
    let dir = test_dir("persist-replies");
    let r = start_rustis_with(2, &["--dir", &dir]);
    let redis_dir = test_dir("persist-replies-redis");
    let redis = start_redis_in(&redis_dir);
    for port in [r.port, redis.port] {
        let mut c = Conn::new(port);
        assert_eq!(
            c.call(&["BGSAVE", "now"]),
            b"-ERR syntax error\r\n",
            "port {port}"
        );
        assert_eq!(
            c.call(&["SAVE", "x"]),
            b"-ERR wrong number of arguments for 'save' command\r\n"
        );
        assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
        assert_eq!(c.call(&["BGSAVE"]), b"+QUEUED\r\n");
        assert_eq!(c.call(&["EXEC"]), b"*1\r\n+Background saving scheduled\r\n");
        wait_scheduled_save(&mut c);
        assert_eq!(c.call(&["MULTI"]), b"+OK\r\n");
        assert_eq!(
            c.call(&["SAVE"]),
            b"-ERR Command not allowed inside a transaction\r\n"
        );
        assert_eq!(c.call(&["DISCARD"]), b"+OK\r\n");
        assert!(int_of(&c.call(&["LASTSAVE"])).is_some());
    }
}

/// Waits until the BGSAVE scheduled in MULTI has run (Redis runs it from its cron).
fn wait_scheduled_save(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(c, "rdb_saves") == "0" || info_field(c, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "the scheduled BGSAVE never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
}
