//! maxmemory and eviction: every policy takes only what it may, the limit holds across workers,
//! -OOM (and reads still served) when nothing can be evicted, OBJECT FREQ/IDLETIME and RESTORE's
//! IDLETIME/FREQ against redis-server, the `evicted` event, nothing lost under the limit.
//!
//! This binary installs the counting allocator (as the server binary does): eviction measures
//! what each deletion frees with it.

mod common;

use common::*;

#[global_allocator]
static GLOBAL: rustis::alloc::Counting<std::alloc::System> =
    rustis::alloc::Counting(std::alloc::System);

/// Keys owned by worker 1 and worker 0 of two.
const ON_1: [&str; 6] = ["x", "y", "a", "d", "e", "t"];
const ON_0: [&str; 5] = ["z", "b", "c", "w", "s"];

fn server() -> Rustis {
    rustis::alloc::activate();
    let r = start_rustis(2);
    assert_eq!(owner("x", 2), 1);
    assert_eq!(owner("z", 2), 0);
    r
}

/// The integer field `name` of INFO `section`.
fn info(c: &mut Conn, section: &str, name: &str) -> u64 {
    let text = String::from_utf8_lossy(&c.call(&["INFO", section])).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO {section}"))
}

/// Writes `n` keys `{prefix}{i}` with `size`-byte values (with a TTL of `ttl_s` seconds plus i
/// ms when non-zero), pipelined; returns how many were answered +OK.
fn fill(c: &mut Conn, prefix: &str, from: usize, n: usize, size: usize, ttl_s: u64) -> usize {
    let value = vec![b'v'; size];
    let mut ok = 0;
    for chunk in (from..from + n).collect::<Vec<_>>().chunks(200) {
        for i in chunk {
            let key = format!("{prefix}{i}");
            if ttl_s != 0 {
                let px = (ttl_s * 1000 + *i as u64).to_string();
                c.send(&[b"SET", key.as_bytes(), &value, b"PX", px.as_bytes()]);
            } else {
                c.send(&[b"SET", key.as_bytes(), &value]);
            }
        }
        for _ in chunk {
            if c.read_reply() == b"+OK\r\n" {
                ok += 1;
            }
        }
    }
    ok
}

fn exists(c: &mut Conn, key: &str) -> bool {
    c.call(&["EXISTS", key]) == b":1\r\n"
}

/// Sets maxmemory to what the server uses now plus `room` bytes; returns the limit.
fn limit_above_use(c: &mut Conn, room: u64) -> u64 {
    let used = info(c, "memory", "used_memory");
    let limit = used + room;
    assert_eq!(
        c.call(&["CONFIG", "SET", "maxmemory", &limit.to_string()]),
        b"+OK\r\n"
    );
    limit
}

#[test]
fn allkeys_policies_keep_used_memory_near_the_limit_on_both_workers() {
    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
        let r = server();
        let mut c = Conn::new(r.port);
        assert_eq!(
            c.call(&["CONFIG", "SET", "maxmemory-policy", policy]),
            b"+OK\r\n"
        );
        let limit = limit_above_use(&mut c, 4 << 20);
        // About 4x the room written: every write is accepted.
        let written = fill(&mut c, "k", 0, 60_000, 200, 0);
        assert_eq!(written, 60_000, "{policy}: a write was refused");
        let used = info(&mut c, "memory", "used_memory");
        assert!(
            used <= limit + limit / 20,
            "{policy}: used_memory {used} over the limit {limit}"
        );
        let evicted = info(&mut c, "stats", "evicted_keys");
        assert!(evicted > 10_000, "{policy}: {evicted} evicted");
        let (mut left0, mut left1) = (0, 0);
        for i in (0..60_000).step_by(7) {
            let k = format!("k{i}");
            if exists(&mut c, &k) {
                if owner(&k, 2) == 0 {
                    left0 += 1;
                } else {
                    left1 += 1;
                }
            }
        }
        // Both shards kept keys and gave some back, in proportion.
        assert!(left0 > 100 && left1 > 100, "{policy}: {left0} / {left1}");
        let ratio = left0 as f64 / left1 as f64;
        assert!((0.5..2.0).contains(&ratio), "{policy}: {left0} / {left1}");
    }
}

#[test]
fn volatile_policies_never_take_a_key_without_a_ttl() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let r = server();
        let mut c = Conn::new(r.port);
        c.call(&["CONFIG", "SET", "maxmemory-policy", policy]);
        // Keys without a TTL on both workers, then room for a few MB.
        assert_eq!(fill(&mut c, "p", 0, 5_000, 100, 0), 5_000);
        for k in ON_0.iter().chain(ON_1.iter()) {
            c.call(&["SET", k, "persistent"]);
        }
        limit_above_use(&mut c, 2 << 20);
        // Keys with a TTL: four times the room; the volatile ones make way for each other.
        assert_eq!(fill(&mut c, "v", 0, 40_000, 200, 3600), 40_000, "{policy}");
        assert!(info(&mut c, "stats", "evicted_keys") > 5_000, "{policy}");
        for i in 0..5_000 {
            assert!(exists(&mut c, &format!("p{i}")), "{policy} evicted p{i}");
        }
        for k in ON_0.iter().chain(ON_1.iter()) {
            assert_eq!(c.call(&["GET", k]), b"$10\r\npersistent\r\n", "{policy}");
        }
        if policy == "volatile-ttl" {
            // The nearest deadlines went first: the first keys written (shortest TTL) are gone
            // more often than the last ones.
            let early = (0..5_000)
                .filter(|i| exists(&mut c, &format!("v{i}")))
                .count();
            let late = (35_000..40_000)
                .filter(|i| exists(&mut c, &format!("v{i}")))
                .count();
            assert!(early < late, "volatile-ttl kept {early} early, {late} late");
        }
        // Once no key with a TTL is left, writes are refused and reads still served.
        c.call(&["CONFIG", "SET", "maxmemory", "1"]);
        let mut refused = false;
        for i in 0..200_000 {
            let reply = c.call(&["SET", &format!("q{i}"), "x"]);
            if reply.starts_with(b"-OOM") {
                refused = true;
                break;
            }
        }
        assert!(refused, "{policy}: never refused");
        assert_eq!(
            c.call(&["GET", "x"]),
            b"$10\r\npersistent\r\n",
            "{policy}: reads must keep working"
        );
        assert!(exists(&mut c, "p0"));
    }
}

#[test]
fn nothing_acknowledged_is_lost_under_the_limit() {
    let r = server();
    let mut c = Conn::new(r.port);
    c.call(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    limit_above_use(&mut c, 256 << 20);
    assert_eq!(fill(&mut c, "k", 0, 20_000, 100, 0), 20_000);
    assert_eq!(info(&mut c, "stats", "evicted_keys"), 0);
    for i in 0..20_000 {
        assert!(exists(&mut c, &format!("k{i}")), "k{i} lost");
    }
}

#[test]
fn lru_keeps_a_hot_set_read_throughout() {
    let r = server();
    let mut c = Conn::new(r.port);
    c.call(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    assert_eq!(fill(&mut c, "hot", 0, 1_000, 200, 0), 1_000);
    limit_above_use(&mut c, 3 << 20);
    // The idle clock has a resolution of one second: the cold keys are written over 3 s.
    for round in 0..30 {
        fill(&mut c, "cold", round * 1_000, 1_000, 200, 0);
        for i in 0..1_000 {
            c.call(&["GET", &format!("hot{i}")]);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(info(&mut c, "stats", "evicted_keys") > 5_000);
    let kept = (0..1_000)
        .filter(|i| exists(&mut c, &format!("hot{i}")))
        .count();
    assert!(kept >= 900, "only {kept} of 1000 hot keys kept");
}

#[test]
fn evicted_keys_raise_the_evicted_event() {
    let r = server();
    let mut sub = Conn::new(r.port);
    let mut c = Conn::new(r.port);
    c.call(&["CONFIG", "SET", "notify-keyspace-events", "Ee"]);
    c.call(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]);
    sub.call(&["SUBSCRIBE", "__keyevent@0__:evicted"]);
    fill(&mut c, "k", 0, 2_000, 100, 0);
    limit_above_use(&mut c, 1 << 20);
    fill(&mut c, "k", 2_000, 20_000, 200, 0);
    let msg = String::from_utf8_lossy(&sub.read_reply()).into_owned();
    assert!(
        msg.contains("__keyevent@0__:evicted") && msg.contains("$"),
        "{msg}"
    );
}

#[test]
fn noeviction_refuses_writes_and_serves_reads_like_redis() {
    rustis::alloc::activate();
    let mut d = Diff::new();
    d.script(
        "
        SET x v1
        SET z v0
        CONFIG SET maxmemory 1
        SET x v2
        SET z v2
        INCR y
        LPUSH b 1
        GET x
        GET z
        MGET x z a
        EXISTS x z
        DEL nosuch
        MULTI
        GET x
        EXEC
        MULTI
        SET a 1
        DISCARD
        CONFIG SET maxmemory 0
        MULTI
        SET a 1
        GET z
        ",
    );
    // EXEC of a block holding a write, once over the limit: the block is discarded.
    let mut other_a = Conn::new(d.redis.port);
    let mut other_b = Conn::new(d.rustis.port);
    other_a.call(&["CONFIG", "SET", "maxmemory", "1"]);
    other_b.call(&["CONFIG", "SET", "maxmemory", "1"]);
    d.script(
        "
        EXEC
        GET a
        INFO keyspace
        CONFIG SET maxmemory 0
        SET a ok
        GET a
        ",
    );
}

#[test]
fn scripts_are_refused_at_their_first_write_over_the_limit_like_redis() {
    rustis::alloc::activate();
    let mut d = Diff::new();
    d.check(&["SET", "x", "1"]);
    d.check(&["CONFIG", "SET", "maxmemory", "1"]);
    for script in [
        "return redis.call('set','x','2')",
        "return redis.pcall('set','z','2')",
        "return redis.call('get','x')",
        "redis.call('del','nosuch'); return redis.call('set','x','3')",
    ] {
        d.check(&["EVAL", script, "0"]);
    }
    d.check(&["CONFIG", "SET", "maxmemory", "0"]);
    d.check(&["GET", "x"]);
}

#[test]
fn object_freq_and_idletime_like_redis() {
    rustis::alloc::activate();
    let mut d = Diff::new();
    d.script(
        "
        CONFIG SET lfu-log-factor 0
        CONFIG SET lfu-decay-time 0
        CONFIG SET maxmemory-policy allkeys-lfu
        SET x foo
        SET z bar
        OBJECT FREQ x
        GET x
        OBJECT FREQ x
        GET x
        GET x
        GET z
        OBJECT FREQ x
        OBJECT FREQ z
        TYPE x
        EXISTS x
        TTL x
        PTTL x
        OBJECT ENCODING x
        OBJECT FREQ x
        TOUCH x
        OBJECT FREQ x
        STRLEN x
        APPEND x more
        OBJECT FREQ x
        OBJECT IDLETIME x
        CONFIG SET maxmemory-policy allkeys-lru
        OBJECT FREQ x
        GET x
        OBJECT IDLETIME x
        CONFIG SET maxmemory-policy noeviction
        GET z
        OBJECT IDLETIME z
        ",
    );
    // RESTORE's FREQ under LFU, IDLETIME under LRU.
    let dump_a = raw_bulk(&d.a.call(&["DUMP", "z"]));
    let dump_b = raw_bulk(&d.b.call(&["DUMP", "z"]));
    assert_eq!(dump_a, dump_b);
    let check = |d: &mut Diff, args: &[&[u8]]| {
        d.a.send(args);
        d.b.send(args);
        let (ra, rb) = (d.a.read_reply(), d.b.read_reply());
        assert_eq!(
            String::from_utf8_lossy(&rb),
            String::from_utf8_lossy(&ra),
            "{:?}",
            String::from_utf8_lossy(args[0])
        );
    };
    d.check(&["CONFIG", "SET", "maxmemory-policy", "volatile-lfu"]);
    check(&mut d, &[b"RESTORE", b"s", b"0", &dump_a, b"FREQ", b"100"]);
    d.check(&["OBJECT", "FREQ", "s"]);
    check(
        &mut d,
        &[b"RESTORE", b"e", b"0", &dump_a, b"IDLETIME", b"100"],
    );
    d.check(&["OBJECT", "FREQ", "e"]);
    d.check(&["CONFIG", "SET", "maxmemory-policy", "volatile-lru"]);
    check(
        &mut d,
        &[b"RESTORE", b"w", b"0", &dump_a, b"IDLETIME", b"1000"],
    );
    d.check_near(&["OBJECT", "IDLETIME", "w"], 1);
    // TYPE and EXISTS leave the clock alone; a read sets it to now.
    d.check(&["TYPE", "w"]);
    d.check(&["EXISTS", "w"]);
    d.check_near(&["OBJECT", "IDLETIME", "w"], 1);
    d.check(&["GET", "w"]);
    d.check(&["OBJECT", "IDLETIME", "w"]);
    check(&mut d, &[b"RESTORE", b"t", b"0", &dump_a, b"FREQ", b"7"]);
    d.check_near(&["OBJECT", "IDLETIME", "t"], 1);
    d.check(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
}

/// The body of a bulk reply.
fn raw_bulk(reply: &[u8]) -> Vec<u8> {
    let start = reply.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1);
    reply[start..reply.len().saturating_sub(2)].to_vec()
}

#[test]
fn maxmemory_settings_read_back_like_redis() {
    rustis::alloc::activate();
    let mut d = Diff::new();
    d.script(
        "
        CONFIG SET maxmemory 100mb
        CONFIG GET maxmemory
        CONFIG SET maxmemory 1gb
        CONFIG GET maxmemory
        CONFIG SET maxmemory-samples 10
        CONFIG GET maxmemory-samples
        CONFIG SET maxmemory-samples 0
        CONFIG SET maxmemory-eviction-tenacity 100
        CONFIG SET maxmemory-eviction-tenacity 101
        CONFIG GET maxmemory-eviction-tenacity
        CONFIG SET lfu-log-factor -1
        CONFIG GET lfu-log-factor
        CONFIG GET lfu-decay-time
        CONFIG SET maxmemory-policy volatile-ttl
        CONFIG GET maxmemory-policy
        CONFIG SET maxmemory-policy bogus
        CONFIG SET maxmemory 0
        ",
    );
    for field in ["maxmemory", "maxmemory_human", "maxmemory_policy"] {
        let line = |c: &mut Conn| {
            let t = String::from_utf8_lossy(&c.call(&["INFO", "memory"])).into_owned();
            t.lines()
                .find(|l| l.starts_with(&format!("{field}:")))
                .map(str::to_string)
        };
        d.check(&["CONFIG", "SET", "maxmemory", "123456789"]);
        assert_eq!(line(&mut d.b), line(&mut d.a));
        d.check(&["CONFIG", "SET", "maxmemory", "0"]);
    }
}

#[test]
fn functions_and_shebang_scripts_are_refused_by_their_flags_like_redis() {
    rustis::alloc::activate();
    let mut d = Diff::new();
    let lib = "#!lua name=evictlib\nredis.register_function('w', function(k, a) return redis.call('set', k[1], 'v') end)\nredis.register_function{function_name='r', callback=function(k, a) return redis.call('get', k[1]) end, flags={'no-writes'}}\nredis.register_function{function_name='o', callback=function(k, a) return redis.call('set', k[1], 'o') end, flags={'allow-oom'}}";
    d.check(&["FUNCTION", "LOAD", lib]);
    d.check(&["SET", "x", "1"]);
    d.check(&["CONFIG", "SET", "maxmemory", "1"]);
    d.check(&["FCALL", "w", "1", "x"]);
    d.check(&["FCALL", "r", "1", "x"]);
    d.check(&["FCALL", "o", "1", "z"]);
    d.check(&["FCALL", "nosuch", "0"]);
    d.check(&["EVAL", "#!lua\nreturn redis.call('get', KEYS[1])", "1", "x"]);
    d.check(&[
        "EVAL",
        "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])",
        "1",
        "x",
    ]);
    d.check(&[
        "EVAL",
        "#!lua flags=allow-oom\nreturn redis.call('set', KEYS[1], '2')",
        "1",
        "x",
    ]);
    d.check(&["CONFIG", "SET", "maxmemory", "0"]);
    d.check(&["MGET", "x", "z"]);
    d.check(&["FUNCTION", "FLUSH"]);
}
