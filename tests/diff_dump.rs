//! Differential tests of DUMP and RESTORE against a real redis-server: the payloads' bytes where
//! Redis's are deterministic (strings, integers, LZF, listpack hashes and sorted sets, intsets,
//! lists), payloads crossing in both directions (Redis's DUMP restored here, ours restored there,
//! including big hash tables, skiplists and sets whose order is the table's), RESTORE's options
//! and errors in Redis's order, TTLs, events, corrupt and truncated payloads (never a crash), and
//! keys on both workers (x, y, a, d, e, t on one; z, b, c, w, s on the other).

mod common;
use common::notify::NotifyDiff;
use common::{Diff, Lcg};

/// Sends a binary command to both servers, asserts identical replies, returns the reply.
fn both_raw(d: &mut Diff, args: &[&[u8]]) -> Vec<u8> {
    d.a.send(args);
    let ra = d.a.read_reply();
    d.b.send(args);
    let rb = d.b.read_reply();
    assert!(
        ra == rb,
        "reply differs for {:?}: rustis {:?}, redis {:?}",
        args.iter()
            .map(|a| String::from_utf8_lossy(&a[..a.len().min(40)]).into_owned())
            .collect::<Vec<_>>(),
        String::from_utf8_lossy(&rb[..rb.len().min(300)]),
        String::from_utf8_lossy(&ra[..ra.len().min(300)]),
    );
    ra
}

/// The body of a bulk reply.
fn bulk_body(r: &[u8]) -> Vec<u8> {
    assert_eq!(r[0], b'$', "not a bulk: {:?}", String::from_utf8_lossy(r));
    let nl = r.iter().position(|&c| c == b'\n').unwrap();
    r[nl + 1..r.len() - 2].to_vec()
}

/// Runs `cmds` on both servers (replies compared).
fn fill(d: &mut Diff, cmds: &[&[&str]]) {
    for c in cmds {
        d.check(c);
    }
}

/// A command whose arguments are a prefix and many generated ones.
fn many(prefix: &[&str], items: impl Iterator<Item = String>) -> Vec<String> {
    prefix
        .iter()
        .map(|s| s.to_string())
        .chain(items)
        .collect::<Vec<_>>()
}

fn run(d: &mut Diff, args: &[String]) {
    let v: Vec<&str> = args.iter().map(String::as_str).collect();
    d.check(&v);
}

/// Redis's and Rustis's payloads for `key`.
fn dumps(d: &mut Diff, key: &str) -> (Vec<u8>, Vec<u8>) {
    let ra = d.a.call(&["dump", key]);
    let rb = d.b.call(&["dump", key]);
    (bulk_body(&ra), bulk_body(&rb))
}

/// Restores Redis's payload of `key` into Rustis and ours into Redis (under `key`:from-*), then
/// checks that both servers see the same type, encoding and contents for each copy.
fn cross(d: &mut Diff, key: &str, contents: &[&str]) {
    let (pa, pb) = dumps(d, key);
    let from_redis = format!("{key}:from-redis");
    let from_rustis = format!("{key}:from-rustis");
    d.b.send(&[b"restore", from_redis.as_bytes(), b"0", &pa]);
    assert_eq!(d.b.read_reply(), b"+OK\r\n");
    d.a.send(&[b"restore", from_redis.as_bytes(), b"0", &pa]);
    assert_eq!(d.a.read_reply(), b"+OK\r\n");
    d.a.send(&[b"restore", from_rustis.as_bytes(), b"0", &pb]);
    assert_eq!(d.a.read_reply(), b"+OK\r\n");
    d.b.send(&[b"restore", from_rustis.as_bytes(), b"0", &pb]);
    assert_eq!(d.b.read_reply(), b"+OK\r\n");
    for k in [key, &from_redis, &from_rustis] {
        d.check(&["type", k]);
        d.check(&["object", "encoding", k]);
        for c in contents {
            let mut args: Vec<&str> = c.split(' ').collect();
            args.insert(1, k);
            if args[0] == "smembers" || args[0] == "hgetall" {
                d.check_unordered(&args);
            } else {
                d.check(&args);
            }
        }
    }
}

#[test]
fn payload_bytes_match_redis() {
    let mut d = Diff::new();
    fill(
        &mut d,
        &[
            &["set", "x", "12"],
            &["set", "z", "-129"],
            &["set", "a", "70000"],
            &["set", "b", "123456789012345"],
            &["set", "c", "hello"],
            &["set", "d", &"x".repeat(100)],
            &[
                "set",
                "e",
                "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz",
            ],
            &["set", "t", "012"],
            &["set", "w", ""],
            &[
                "rpush",
                "y",
                "a",
                "1",
                "-1",
                "300",
                "-5000",
                "70000",
                "-9000000",
                "5000000000",
                "hello world",
            ],
            &["sadd", "s", "1", "2", "3", "-70000"],
            &["sadd", "s2", "5", "-2", "40000", "9000000000"],
            &["hset", "h", "f", "v", "n", "12345", "empty", ""],
            &[
                "zadd", "zs", "1", "a", "2.5", "b", "inf", "c", "-3", "d", "1e20", "e", "-0", "f",
                "0.1", "g",
            ],
        ],
    );
    let mut big = vec!["rpush".to_string(), "l2".to_string()];
    big.extend((0..3000).map(|i| format!("element-{i}")));
    run(&mut d, &big);
    let mut left = vec!["lpush".to_string(), "l3".to_string()];
    left.extend((0..2000).map(|i| i.to_string()));
    run(&mut d, &left);
    for k in [
        "x", "z", "a", "b", "c", "d", "e", "t", "w", "y", "s", "s2", "h", "zs", "l2", "l3",
    ] {
        let (pa, pb) = dumps(&mut d, k);
        assert_eq!(pb, pa, "DUMP {k}: rustis {pb:?}, redis {pa:?}");
    }
    d.check(&["dump", "nosuchkey"]);
}

#[test]
fn payloads_cross_both_ways() {
    let mut d = Diff::new();
    // Big encodings, whose element order is each server's table order: compared by contents.
    run(
        &mut d,
        &many(
            &["hset", "h"],
            (0..600).flat_map(|i| [format!("f{i}"), format!("v{i}")]),
        ),
    );
    run(
        &mut d,
        &many(&["sadd", "s"], (0..700).map(|i| format!("m{i}"))),
    );
    run(
        &mut d,
        &many(&["sadd", "x"], (0..600).map(|i| i.to_string())),
    );
    run(
        &mut d,
        &many(
            &["zadd", "z"],
            (0..300).flat_map(|i| [format!("{}", i as f64 / 7.0), format!("m{i}")]),
        ),
    );
    run(
        &mut d,
        &many(&["rpush", "y"], (0..500).map(|i| "v".repeat(i % 90))),
    );
    fill(
        &mut d,
        &[
            &["hset", "a", "field", &"long".repeat(30)],
            &["zadd", "b", "1", &"m".repeat(80)],
            &["zadd", "c", "-0", "neg-zero", "5", "five"],
            &["set", "d", &"q".repeat(5000)],
        ],
    );
    cross(&mut d, "h", &["hgetall", "hlen"]);
    cross(&mut d, "s", &["smembers", "scard"]);
    cross(&mut d, "x", &["smembers"]);
    cross(&mut d, "z", &["zrange 0 -1 withscores"]);
    cross(&mut d, "y", &["lrange 0 -1"]);
    cross(&mut d, "a", &["hgetall"]);
    cross(&mut d, "b", &["zrange 0 -1 withscores"]);
    cross(&mut d, "c", &["zrange 0 -1 withscores", "zscore neg-zero"]);
    cross(&mut d, "d", &["get", "strlen"]);
}

#[test]
fn restore_options_and_errors_in_redis_order() {
    let mut d = Diff::new();
    d.check(&["set", "x", "v"]);
    d.check(&["set", "z", "w"]);
    let (p, _) = dumps(&mut d, "x");
    let payload = p.as_slice();
    let cases: &[&[&[u8]]] = &[
        &[b"restore", b"x", b"0", payload],
        &[b"restore", b"x", b"0", payload, b"replace"],
        &[b"restore", b"z", b"-1", payload, b"replace"],
        &[b"restore", b"z", b"abc", payload, b"replace"],
        &[b"restore", b"z", b"0", b"garbage", b"replace"],
        &[b"restore", b"z", b"0", payload, b"bogus"],
        &[b"restore", b"z", b"0", payload, b"replace", b"idletime"],
        &[
            b"restore",
            b"z",
            b"0",
            payload,
            b"replace",
            b"idletime",
            b"-1",
        ],
        &[
            b"restore",
            b"z",
            b"0",
            payload,
            b"replace",
            b"idletime",
            b"x",
        ],
        &[b"restore", b"z", b"0", payload, b"replace", b"freq", b"256"],
        &[
            b"restore",
            b"z",
            b"0",
            payload,
            b"replace",
            b"idletime",
            b"5",
            b"freq",
            b"5",
        ],
        &[
            b"restore",
            b"z",
            b"0",
            payload,
            b"replace",
            b"freq",
            b"5",
            b"idletime",
            b"5",
        ],
        &[
            b"restore",
            b"z",
            b"0",
            payload,
            b"replace",
            b"idletime",
            b"100",
        ],
        &[b"restore", b"z", b"0", payload, b"replace", b"freq", b"100"],
        &[b"restore", b"newkey", b"-1", b"garbage"],
        &[b"restore", b"newkey", b"0", b"short"],
        &[b"restore"],
        &[b"restore", b"a", b"0"],
        &[b"dump"],
        &[b"dump", b"a", b"b"],
    ];
    for c in cases {
        both_raw(&mut d, c);
    }
    d.check(&["get", "z"]);
    // TTLs: relative, absolute, already past (stores nothing, deletes a replaced key).
    both_raw(&mut d, &[b"restore", b"a", b"100000", payload]);
    d.check(&["ttl", "a"]);
    both_raw(
        &mut d,
        &[b"restore", b"b", b"4102444800000", payload, b"absttl"],
    );
    d.check(&["expiretime", "b"]);
    both_raw(&mut d, &[b"restore", b"c", b"1", payload, b"absttl"]);
    d.check(&["exists", "c"]);
    both_raw(
        &mut d,
        &[b"restore", b"a", b"1", payload, b"absttl", b"replace"],
    );
    d.check(&["exists", "a"]);
    // A payload of another RDB version or with a flipped bit is refused; a cut one too.
    let mut flipped = payload.to_vec();
    flipped[1] ^= 0x20;
    both_raw(&mut d, &[b"restore", b"t", b"0", &flipped]);
    let mut newer = payload.to_vec();
    let n = newer.len();
    newer[n - 10] = 11;
    both_raw(&mut d, &[b"restore", b"t", b"0", &newer]);
    both_raw(&mut d, &[b"restore", b"t", b"0", &payload[..n - 1]]);
    d.check(&["exists", "t"]);
}

/// Seals `body` as a DUMP payload: RDB version 10 and the CRC64 (Jones) of everything before.
fn seal(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&10u16.to_le_bytes());
    let mut crc: u64 = 0;
    for &b in &out {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// RESTORE (with REPLACE) of `payload` under `key` on both servers, then deletes it. Redis, with
/// sanitize-dump-payload no (its default), accepts some damaged payloads (an unsorted intset, a
/// listpack with a wrong count) and then holds a broken value; Rustis validates everything, so an
/// error here where Redis said OK is accepted. Every other difference fails.
fn restore_both(d: &mut Diff, key: &str, payload: &[u8], what: &str) {
    d.a.send(&[b"restore", key.as_bytes(), b"0", payload, b"replace"]);
    let ra = d.a.read_reply();
    d.b.send(&[b"restore", key.as_bytes(), b"0", payload, b"replace"]);
    let rb = d.b.read_reply();
    if ra != rb {
        assert!(
            rb.starts_with(b"-ERR Bad data format") && ra == b"+OK\r\n",
            "{what}: rustis {:?}, redis {:?}",
            String::from_utf8_lossy(&rb),
            String::from_utf8_lossy(&ra)
        );
    }
    d.a.call(&["del", key]);
    d.b.call(&["del", key]);
}

#[test]
fn corrupt_payloads_are_refused_as_redis_does() {
    let mut d = Diff::new();
    // Without deep sanitization Redis asserts (and dies) on some damaged payloads; Rustis always
    // validates the whole value, as Redis does with this setting.
    assert_eq!(
        d.a.call(&["config", "set", "sanitize-dump-payload", "yes"]),
        b"+OK\r\n"
    );
    fill(
        &mut d,
        &[
            &["rpush", "y", "a", "b", "300"],
            &["hset", "h", "f", "v"],
            &["zadd", "z", "1", "a", "2", "b"],
            &["sadd", "s", "1", "2"],
            &["sadd", "x", "a", "b"],
            &["set", "e", &"lzf".repeat(30)],
        ],
    );
    // Hand-made bodies with valid trailers: empty collections, duplicates, NaN, odd pairs,
    // unknown types, truncated lengths, lying listpack headers.
    let bodies: &[&[u8]] = &[
        b"\x02\x00",
        b"\x02\x02\x01a\x01a",
        b"\x04\x01\x01f",
        b"\x05\x01\x01a\x00\x00\x00\x00\x00\x00\xf8\x7f",
        b"\x05\x02\x01a\x00\x00\x00\x00\x00\x00\xf0\x3f\x01a\x00\x00\x00\x00\x00\x00\xf0\x3f",
        b"\x10\x0a\x0a\x00\x00\x00\x01\x00\x81f\x02\xff",
        b"\x10\x0b\x0b\x00\x00\x00\x02\x00\x81f\x02\x01\x01\xff",
        b"\x13\x00",
        b"\x06\x00",
        b"\x63",
        b"\x00\x85abc",
        b"\x00\xc3\x05\x0a\x00",
        b"\x12\x01\x02\x07\x07\x00\x00\x00\x00\x00\xff",
        b"\x12\x01\x03\x01a",
        b"\x0b\x0c\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00",
        b"",
    ];
    for (i, body) in bodies.iter().enumerate() {
        let key = format!("k{i}");
        restore_both(&mut d, &key, &seal(body), &format!("body {i}"));
    }
    // Every payload of ours, with random byte flips and cuts (resealed so the CRC passes):
    // whatever Redis answers, Rustis answers too, and never dies.
    let mut rng = Lcg(7);
    for k in ["y", "h", "z", "s", "x", "e"] {
        let (p, _) = dumps(&mut d, k);
        let body = &p[..p.len() - 10];
        for round in 0..60 {
            let mut b = body.to_vec();
            if round % 3 == 0 {
                b.truncate(rng.below(b.len() as u64) as usize);
            } else {
                for _ in 0..1 + rng.below(3) {
                    let i = rng.below(b.len() as u64) as usize;
                    b[i] ^= 1 << rng.below(8);
                }
            }
            let key = format!("{k}:fuzz");
            restore_both(&mut d, &key, &seal(&b), &format!("{k} round {round}"));
        }
    }
    d.check(&["ping"]);
}

#[test]
fn restore_events() {
    let mut n = NotifyDiff::new("KEA");
    let events = n.events("set x v\nset z w\n");
    assert!(!events.is_empty());
    let p = bulk_body(&n.d.a.call(&["dump", "x"]));
    for (key, extra) in [
        ("y", &[][..]),
        ("z", &[&b"replace"[..]][..]),
        ("t", &[&b"replace"[..]][..]),
    ] {
        let mut args: Vec<&[u8]> = vec![b"restore", key.as_bytes(), b"0", &p];
        args.extend_from_slice(extra);
        let ra = {
            n.d.a.send(&args);
            n.d.a.read_reply()
        };
        n.d.b.send(&args);
        assert_eq!(n.d.b.read_reply(), ra);
    }
    // A replaced key restored with a TTL in the past is deleted: a del event.
    let args: Vec<&[u8]> = vec![b"restore", b"z", b"1", &p, b"absttl", b"replace"];
    n.d.a.send(&args);
    let ra = n.d.a.read_reply();
    n.d.b.send(&args);
    assert_eq!(n.d.b.read_reply(), ra);
    let ev = n.events("get x\n");
    assert!(ev.iter().any(|e| e == "__keyevent@0__:restore y"), "{ev:?}");
    assert!(ev.iter().any(|e| e == "__keyevent@0__:del z"), "{ev:?}");
}
