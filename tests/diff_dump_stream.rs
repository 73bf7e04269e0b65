//! Differential tests of DUMP and RESTORE of streams against a real redis-server: payload bytes
//! equal to Redis's for streams of every shape built by the same commands (one entry, many nodes,
//! node limits by count and by bytes, varying fields, integer and long values, deleted entries,
//! trims, XSETID with entries-added and max-deleted-id, empty streams, groups without consumers);
//! with consumers and pending entries (whose times are wall-clock) the payloads cross both ways and
//! XINFO STREAM FULL, XRANGE, XPENDING and XINFO GROUPS/CONSUMERS are compared, and a restored
//! payload DUMPs back byte for byte on the other server; Redis 5/6 payloads (type 15) load as Redis
//! 7.0 migrates them; damaged payloads are refused as Redis refuses them (never a crash).

mod common;
use common::{Conn, Diff, Lcg};
use rustis::rdb::Reader;

/// The body of a bulk reply.
fn bulk_body(r: &[u8]) -> Vec<u8> {
    assert_eq!(r[0], b'$', "not a bulk: {:?}", String::from_utf8_lossy(r));
    let nl = r.iter().position(|&c| c == b'\n').unwrap();
    r[nl + 1..r.len() - 2].to_vec()
}

fn dump(c: &mut Conn, key: &str) -> Vec<u8> {
    bulk_body(&c.call(&["dump", key]))
}

fn restore(c: &mut Conn, key: &str, payload: &[u8]) -> Vec<u8> {
    c.send(&[b"restore", key.as_bytes(), b"0", payload, b"replace"]);
    c.read_reply()
}

/// Compares two raw replies line by line, letting integers differ by up to `tol` (times).
fn close(ra: &[u8], rb: &[u8], tol: i64, what: &str) {
    let a = String::from_utf8_lossy(ra);
    let b = String::from_utf8_lossy(rb);
    let la: Vec<&str> = a.split("\r\n").collect();
    let lb: Vec<&str> = b.split("\r\n").collect();
    assert_eq!(la.len(), lb.len(), "{what}: rustis {b:?}, redis {a:?}");
    for (x, y) in la.iter().zip(&lb) {
        if x == y {
            continue;
        }
        let (Some(nx), Some(ny)) = (
            x.strip_prefix(':').and_then(|v| v.parse::<i64>().ok()),
            y.strip_prefix(':').and_then(|v| v.parse::<i64>().ok()),
        ) else {
            panic!("{what}: line {y:?} (rustis) vs {x:?} (redis) in {b:?} / {a:?}");
        };
        assert!((nx - ny).abs() <= tol, "{what}: {ny} vs {nx}");
    }
}

fn near(d: &mut Diff, args: &[&str], tol: i64) {
    let ra = d.a.call(args);
    let rb = d.b.call(args);
    close(&ra, &rb, tol, &format!("{args:?}"));
}

/// Both servers' payloads of `key` must be the same bytes; then each is restored into the other
/// server, DUMPs back unchanged, reads the same, and takes more entries cut into the same nodes.
fn same_bytes(d: &mut Diff, key: &str) {
    let pa = dump(&mut d.a, key);
    let pb = dump(&mut d.b, key);
    assert_eq!(pb, pa, "DUMP {key}: rustis {pb:?}, redis {pa:?}");
    assert_eq!(pa[0], 19, "{key}: RDB_TYPE_STREAM_LISTPACKS_2");
    let copy = format!("{key}:copy");
    assert_eq!(restore(&mut d.b, &copy, &pa), b"+OK\r\n");
    assert_eq!(restore(&mut d.a, &copy, &pa), b"+OK\r\n");
    assert_eq!(
        dump(&mut d.b, &copy),
        pa,
        "{key}: restored and dumped again"
    );
    d.check(&["xinfo", "stream", &copy, "full"]);
    d.check(&["xrange", &copy, "-", "+"]);
    d.check(&["object", "encoding", &copy]);
    for i in 0..120 {
        let v = "w".repeat(i % 50);
        d.both(&["xadd", &copy, "*", "f", &v]);
    }
    // `*` ids differ between the servers (and so the radix trees' shapes): the node count
    // shows in XINFO.
    let info = |c: &mut Conn| {
        let r = String::from_utf8_lossy(&c.call(&["xinfo", "stream", &copy])).into_owned();
        let lines: Vec<String> = r.split("\r\n").map(str::to_string).collect();
        assert_eq!(lines[5], "radix-tree-keys", "{r}");
        (lines[3].clone(), lines[6].clone())
    };
    assert_eq!(
        info(&mut d.b),
        info(&mut d.a),
        "{key}: nodes after more XADDs"
    );
    d.a.call(&["del", &copy]);
    d.b.call(&["del", &copy]);
}

#[test]
fn payload_bytes_match_redis() {
    let mut d = Diff::new();
    d.check(&["xadd", "x", "1-1", "f", "v"]);
    // Many entries over several nodes of 100 (the default), fields changing from the master's.
    for i in 1..=650u64 {
        let f = if i % 11 == 0 { "other" } else { "f" };
        d.check(&[
            "xadd",
            "y",
            &format!("{}-{}", i * 3, i % 4),
            f,
            &format!("{}", i * 1000),
            "g",
            &format!("v{i}"),
        ]);
    }
    // Integers of every listpack width, strings that are not integers, empty, long, very long.
    let values = [
        "0",
        "-1",
        "127",
        "128",
        "-4096",
        "4095",
        "32767",
        "-32769",
        "8388607",
        "-8388609",
        "2147483647",
        "-2147483649",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "007",
        "-0",
        "+5",
        "1.5",
        "",
        &"long".repeat(20),
        &"x".repeat(5000),
        &(0..300)
            .map(|i| ((i * 7 % 26) as u8 + b'a') as char)
            .collect::<String>(),
    ];
    for (i, v) in values.iter().enumerate() {
        d.check(&["xadd", "a", &format!("5-{i}"), "n", v, v, "x"]);
    }
    // Negative seq deltas, an ms delta past i64, the largest id.
    d.script(
        "
        xadd z 5-10 f v
        xadd z 6-0 f v
        xadd z 18446744073709551614-3 f v
        xadd z 18446744073709551615-18446744073709551615 f v
        ",
    );
    // Deletions: inside a node, a node's every entry (the node goes), the first entry.
    for i in 1..=250 {
        d.check(&["xadd", "b", &format!("{i}-0"), "f", &format!("{i}")]);
    }
    for i in (101..=200).chain([1, 5, 50, 250]) {
        d.check(&["xdel", "b", &format!("{i}-0")]);
    }
    // Trims: exact (tombstones left in the cut node), approximate, by min id.
    for i in 1..=400 {
        d.check(&[
            "xadd",
            "c",
            &format!("{i}-0"),
            "f",
            &format!("{i}"),
            "g",
            "h",
        ]);
    }
    d.script(
        "
        xtrim c maxlen 333
        xtrim c maxlen ~ 250
        xtrim c minid 180
        xdel c 190-0 191-0
        xadd c maxlen = 150 401-0 f 1
        ",
    );
    // XSETID with entries-added and max-deleted-id; an emptied stream; XTRIM to nothing.
    d.script(
        "
        xadd d 1-0 a 1
        xadd d 2-0 a 2
        xsetid d 100-5 entriesadded 40 maxdeletedid 50-0
        xadd e 1-0 a 1
        xdel e 1-0
        xadd t 1-0 a 1
        xadd t 2-0 a 1
        xtrim t maxlen 0
        ",
    );
    // Groups without consumers (no wall-clock times): an empty stream made by MKSTREAM too.
    d.script(
        "
        xgroup create w g0 $ mkstream
        xgroup create w 12345 0
        xgroup create c g1 0
        xgroup create c g2 $ entriesread 7
        xgroup create c 17 180-0
        xgroup setid c g1 200-0 entriesread 3
        ",
    );
    // Node limits by count and by bytes.
    d.check(&["config", "set", "stream-node-max-entries", "7"]);
    for i in 1..=60 {
        d.check(&["xadd", "s", &format!("{i}-0"), "f", &i.to_string()]);
    }
    d.check(&["config", "set", "stream-node-max-bytes", "300"]);
    for i in 1..=60 {
        let v = "q".repeat(i * 2);
        d.check(&[
            "xadd",
            "h",
            &format!("{i}-0"),
            "field",
            &v,
            "n",
            &i.to_string(),
        ]);
    }
    // One node of more than 65535 listpack elements (its header count then reads "unknown").
    d.check(&["config", "set", "stream-node-max-entries", "0"]);
    d.check(&["config", "set", "stream-node-max-bytes", "0"]);
    d.check(&[
        "eval",
        "for i = 1, 14000 do redis.call('xadd', KEYS[1], i .. '-0', 'f', i) end",
        "1",
        "big",
    ]);
    d.check(&["xdel", "big", "7-0", "13999-0"]);
    for k in [
        "x", "y", "a", "z", "b", "c", "d", "e", "t", "w", "s", "h", "big",
    ] {
        same_bytes(&mut d, k);
    }
}

/// Both payloads of `key` restored into both servers: equal replies for every group (times
/// loaded from the payload are the same on both), each payload DUMPed back unchanged by the
/// server that did not write it; the original compared with a tolerance for its times.
fn cross(d: &mut Diff, key: &str, groups: &[&str]) {
    let tol = 5000;
    near(d, &["xinfo", "stream", key, "full"], tol);
    let pa = dump(&mut d.a, key);
    let pb = dump(&mut d.b, key);
    let (from_redis, from_rustis) = (format!("{key}:r"), format!("{key}:o"));
    for (k, p) in [(&from_redis, &pa), (&from_rustis, &pb)] {
        assert_eq!(restore(&mut d.a, k, p), b"+OK\r\n", "redis restores {k}");
        assert_eq!(restore(&mut d.b, k, p), b"+OK\r\n", "rustis restores {k}");
    }
    assert_eq!(
        dump(&mut d.b, &from_redis),
        pa,
        "{key}: Redis's payload back"
    );
    assert_eq!(
        dump(&mut d.a, &from_rustis),
        pb,
        "{key}: ours, back from Redis"
    );
    for k in [&from_redis, &from_rustis] {
        d.check(&["type", k]);
        d.check(&["xinfo", "stream", k, "full"]);
        d.check(&["xinfo", "stream", k, "full", "count", "2"]);
        d.check(&["xinfo", "stream", k]);
        d.check(&["xrange", k, "-", "+"]);
        d.check(&["xinfo", "groups", k]);
        for g in groups {
            d.check(&["xpending", k, g]);
            near(d, &["xpending", k, g, "-", "+", "100"], tol);
            near(d, &["xinfo", "consumers", k, g], tol);
        }
    }
    // The restored groups go on working alike.
    for k in [&from_redis, &from_rustis] {
        for g in groups {
            d.check(&[
                "xreadgroup",
                "group",
                g,
                "newcomer",
                "count",
                "2",
                "streams",
                k,
                ">",
            ]);
            d.check(&["xpending", k, g]);
            d.check(&["xack", k, g, "3-0", "4-0"]);
            d.check(&["xinfo", "groups", k]);
        }
    }
}

#[test]
fn groups_cross_both_ways() {
    let mut d = Diff::new();
    for i in 1..=40 {
        d.check(&["xadd", "c", &format!("{i}-0"), "f", &i.to_string()]);
    }
    d.script(
        "
        xgroup create c g 0
        xgroup create c idle $
        xgroup create c 99 10-0 entriesread 10
        xreadgroup group g alice count 5 streams c >
        xreadgroup group g bob count 7 streams c >
        xreadgroup group g alice count 3 streams c >
        xreadgroup group 99 carol count 4 streams c >
        xack c g 2-0 9-0 10-0
        xclaim c g carol 0 3-0 4-0 retrycount 7
        xclaim c g alice 0 11-0 justid
        xgroup createconsumer c g dave
        xgroup createconsumer c idle erin
        xdel c 5-0 12-0
        xtrim c minid 3-0
        ",
    );
    d.check(&["xautoclaim", "c", "g", "zed", "0", "0-0", "count", "2"]);
    // An empty stream with a group whose consumer read nothing.
    d.script(
        "
        xgroup create e g $ mkstream
        xgroup createconsumer e g solo
        xadd e 1-0 a b
        xreadgroup group g solo streams e >
        xdel e 1-0
        ",
    );
    // Pending entries across several nodes.
    d.check(&["config", "set", "stream-node-max-entries", "5"]);
    for i in 1..=30 {
        d.check(&["xadd", "b", &format!("{i}-1"), "f", &i.to_string()]);
    }
    d.script(
        "
        xgroup create b g 0
        xreadgroup group g one count 12 streams b >
        xreadgroup group g two count 12 streams b >
        xack b g 2-1 20-1
        xtrim b maxlen 20
        ",
    );
    cross(&mut d, "c", &["g", "idle", "99"]);
    cross(&mut d, "e", &["g"]);
    cross(&mut d, "b", &["g"]);
}

/// Where the groups of a type-19 stream body start (their count).
fn groups_offset(body: &[u8]) -> usize {
    let mut r = Reader::new(&body[1..]);
    for _ in 0..r.length().unwrap() {
        r.string().unwrap();
        r.string().unwrap();
    }
    for _ in 0..8 {
        r.length().unwrap();
    }
    1 + r.pos
}

/// Rewrites a type-19 stream body as Redis 5/6 wrote it (type 15): no first id, max deleted
/// id, entries added, nor the groups' entries-read.
fn to_v15(body: &[u8]) -> Vec<u8> {
    assert_eq!(body[0], 19);
    let data = &body[1..];
    let mut r = Reader::new(data);
    let mut out = vec![15u8];
    let nodes = r.length().unwrap();
    for _ in 0..nodes {
        r.string().unwrap();
        r.string().unwrap();
    }
    for _ in 0..3 {
        r.length().unwrap();
    }
    out.extend_from_slice(&data[..r.pos]);
    for _ in 0..5 {
        r.length().unwrap();
    }
    let mut from = r.pos;
    let groups = r.length().unwrap();
    for _ in 0..groups {
        r.string().unwrap();
        r.length().unwrap();
        r.length().unwrap();
        out.extend_from_slice(&data[from..r.pos]);
        r.length().unwrap();
        from = r.pos;
        for _ in 0..r.length().unwrap() {
            r.bytes(16 + 8).unwrap();
            r.length().unwrap();
        }
        for _ in 0..r.length().unwrap() {
            r.string().unwrap();
            r.bytes(8).unwrap();
            for _ in 0..r.length().unwrap() {
                r.bytes(16).unwrap();
            }
        }
    }
    out.extend_from_slice(&data[from..r.pos]);
    assert_eq!(r.remaining(), 0);
    out
}

#[test]
fn redis6_payloads_load_as_redis_migrates_them() {
    let mut d = Diff::new();
    for i in 1..=30 {
        d.check(&["xadd", "c", &format!("{i}-0"), "f", &i.to_string()]);
    }
    d.script(
        "
        xdel c 7-0 1-0
        xgroup create c g 0
        xgroup create c late 20-0
        xgroup create c first 0-0
        xgroup create c end $
        xreadgroup group g alice count 3 streams c >
        xadd e 1-0 a b
        xdel e 1-0
        xadd t 1-0 a b
        xadd t 2-0 a b
        xtrim t maxlen 1
        xgroup create t g 1-0
        xgroup create t g0 0-0
        xgroup create t g2 2-0
        ",
    );
    for key in ["c", "e", "t"] {
        let p = dump(&mut d.a, key);
        let mut v15 = to_v15(&p[..p.len() - 10]);
        rustis::rdb::seal(&mut v15);
        let k = format!("{key}:v15");
        assert_eq!(
            restore(&mut d.a, &k, &v15),
            b"+OK\r\n",
            "redis restores {k}"
        );
        assert_eq!(
            restore(&mut d.b, &k, &v15),
            b"+OK\r\n",
            "rustis restores {k}"
        );
        d.check(&["xinfo", "stream", &k, "full"]);
        d.check(&["xinfo", "groups", &k]);
        assert_eq!(dump(&mut d.b, &k), dump(&mut d.a, &k), "{k} as type 19");
    }
}

/// A payload of Redis 5 (from Redis's tests/unit/type/stream-cgroups.tcl): XADD x 1-0..6-0
/// data a..f, XDEL x 3-0, XGROUP CREATE x g1 0 and g2 0, XREADGROUP GROUP g1 c11 COUNT 4,
/// XTRIM x MAXLEN = 2; with its RDB version 9 trailer.
const REDIS5_PAYLOAD: &[&str] = &[
    "0f011000000000000000010000000000000000c3404a40571657000000230002010401010184646174610500",
    "0103010020010381610204200a0001400a0062600a0002400a0063600a4022018164200a4039200a0065600a",
    "0005400a0066200a00ff02060002026731050004000000000000000100000000000000003ef783437a010000",
    "01000000000000000200000000000000003ef783437a01000001000000000000000400000000000000003ef7",
    "83437a01000001000000000000000500000000000000003ef783437a0100000101036331313ef783437a0100",
    "0004000000000000000100000000000000000000000000000002000000000000000000000000000000040000",
    "000000000000000000000000000500000000000000000267320000000009003d52ef6867521dfa",
];

#[test]
fn a_redis5_payload_loads_as_in_redis() {
    let mut d = Diff::new();
    let hex: String = REDIS5_PAYLOAD.concat();
    let p: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(p[0], 15);
    assert_eq!(restore(&mut d.a, "x", &p), b"+OK\r\n");
    assert_eq!(restore(&mut d.b, "x", &p), b"+OK\r\n");
    let full = d.check(&["xinfo", "stream", "x", "full"]);
    // What Redis's test asserts: the migrated counters.
    assert!(full.contains("entries-added\r\n:2\r\n"), "{full}");
    assert!(
        full.contains("entries-read\r\n:1\r\n$3\r\nlag\r\n:1\r\n"),
        "{full}"
    );
    assert!(
        full.contains("entries-read\r\n:0\r\n$3\r\nlag\r\n:2\r\n"),
        "{full}"
    );
    d.check(&["xrange", "x", "-", "+"]);
    d.check(&["xinfo", "groups", "x"]);
    d.check(&["xpending", "x", "g1"]);
    assert_eq!(dump(&mut d.b, "x"), dump(&mut d.a, "x"));
}

/// RESTORE of `payload` on both servers (then DEL): the same answer, except that Rustis, which
/// checks more than Redis's deep sanitization (counts against flags, ids ascending, the length,
/// a PEL id owned twice), may refuse what Redis took.
fn restore_both(d: &mut Diff, payload: &[u8], what: &str) {
    let ra = restore(&mut d.a, "k", payload);
    let rb = restore(&mut d.b, "k", payload);
    if ra != rb {
        assert!(
            rb.starts_with(b"-ERR Bad data format") && ra == b"+OK\r\n",
            "{what}: rustis {:?}, redis {:?}",
            String::from_utf8_lossy(&rb),
            String::from_utf8_lossy(&ra)
        );
    }
    d.a.call(&["del", "k"]);
    d.b.call(&["del", "k"]);
}

fn sealed(body: &[u8]) -> Vec<u8> {
    let mut v = body.to_vec();
    rustis::rdb::seal(&mut v);
    v
}

#[test]
fn corrupt_payloads_are_refused_as_redis_does() {
    let mut d = Diff::new();
    assert_eq!(
        d.a.call(&["config", "set", "sanitize-dump-payload", "yes"]),
        b"+OK\r\n"
    );
    d.check(&["config", "set", "stream-node-max-entries", "4"]);
    for i in 1..=13 {
        d.check(&[
            "xadd",
            "c",
            &format!("{i}-0"),
            "f",
            &i.to_string(),
            "g",
            "x",
        ]);
    }
    d.check(&["xadd", "c", "14-0", "other", "1"]);
    d.script(
        "
        xdel c 2-0
        xgroup create c g 0
        xreadgroup group g alice count 2 streams c >
        xreadgroup group g bob count 2 streams c >
        xgroup create c h $
        ",
    );
    let p = dump(&mut d.a, "c");
    let body = &p[..p.len() - 10];
    // Hand-made damage: no node but a length, a node key of 15 bytes, an empty listpack, the
    // same node twice, a PEL entry no consumer owns, a consumer's id missing from the PEL, the
    // same id owned twice, a group twice.
    let key1 = [0u8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let lp_one = b"\x1d\x1d\x00\x00\x00\x0a\x00\x01\x01\x00\x01\x01\x01\x81f\x02\x00\x01\x02\x01\x00\x01\x00\x01\x81v\x02\x04\x01\xff";
    let node = |key: &[u8]| {
        let mut v = vec![key.len() as u8];
        v.extend_from_slice(key);
        v.extend_from_slice(lp_one);
        v
    };
    let tail_ok = b"\x01\x01\x00\x01\x00\x00\x00\x01";
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    bodies.push(b"\x13\x00\x01\x01\x00\x01\x00\x00\x00\x01\x00".to_vec());
    bodies.push([&b"\x13\x01"[..], &node(&key1[..15]), tail_ok, b"\x00"].concat());
    bodies.push([&b"\x13\x01"[..], &node(&key1), tail_ok, b"\x00"].concat());
    let mut empty_lp = vec![0x13, 0x01, 16];
    empty_lp.extend_from_slice(&key1);
    empty_lp.extend_from_slice(b"\x07\x07\x00\x00\x00\x00\x00\xff");
    empty_lp.extend_from_slice(tail_ok);
    empty_lp.push(0);
    bodies.push(empty_lp);
    bodies.push(
        [
            &b"\x13\x02"[..],
            &node(&key1),
            &node(&key1),
            b"\x02\x01\x00\x01\x00\x00\x00\x02\x00",
        ]
        .concat(),
    );
    let group = |pel: &[u8], consumers: &[u8]| {
        [
            &b"\x13\x01"[..],
            &node(&key1),
            tail_ok,
            b"\x01\x01g\x01\x00\x01",
            pel,
            consumers,
        ]
        .concat()
    };
    let pel1 = [&b"\x01"[..], &key1, &[0u8; 8], b"\x01"].concat();
    let owns = |name: &[u8]| [&[name.len() as u8][..], name, &[0u8; 8], b"\x01", &key1].concat();
    bodies.push(group(
        &pel1,
        b"\x01\x01a\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ));
    bodies.push(group(b"\x00", &[&b"\x01"[..], &owns(b"a")].concat()));
    bodies.push(group(
        &pel1,
        &[&b"\x02"[..], &owns(b"a"), &owns(b"b")].concat(),
    ));
    bodies.push(group(&pel1, &[&b"\x01"[..], &owns(b"a")].concat()));
    let dup = [
        &b"\x13\x01"[..],
        &node(&key1),
        tail_ok,
        b"\x02\x01g\x01\x00\x01\x00\x00\x01g\x01\x00\x01\x00\x00",
    ]
    .concat();
    bodies.push(dup);
    for (i, b) in bodies.iter().enumerate() {
        restore_both(&mut d, &sealed(b), &format!("body {i}"));
    }
    // The well-formed ones above are accepted by both (checks the hand-made encoding).
    assert_eq!(restore(&mut d.b, "ok1", &sealed(&bodies[2])), b"+OK\r\n");
    assert_eq!(restore(&mut d.b, "ok2", &sealed(&bodies[8])), b"+OK\r\n");
    d.check(&["ping"]);
    // Random flips and cuts of a real payload, resealed so that the CRC passes. Redis 7.0.15
    // frees a pending entry twice when a consumer lists one id twice, and may crash freeing a
    // stream whose load stopped inside a group: flips in the groups, and cuts, go to Rustis
    // only (which must answer OK or the error, and go on serving); flips before them to both.
    let groups_at = groups_offset(body);
    let mut rng = Lcg(11);
    for round in 0..1500 {
        let mut b = body.to_vec();
        if round % 5 == 0 {
            b.truncate(rng.below(b.len() as u64) as usize);
            assert_eq!(
                restore(&mut d.b, "k", &sealed(&b)),
                b"-ERR Bad data format\r\n"
            );
            continue;
        }
        let to_both = round % 5 != 1;
        let (lo, hi) = if to_both {
            (1, groups_at)
        } else {
            (groups_at, b.len())
        };
        for _ in 0..1 + rng.below(3) {
            let i = lo + rng.below((hi - lo) as u64) as usize;
            b[i] ^= 1 << rng.below(8);
        }
        if to_both {
            restore_both(&mut d, &sealed(&b), &format!("round {round}: {b:?}"));
        } else {
            let r = restore(&mut d.b, "k", &sealed(&b));
            assert!(r == b"+OK\r\n" || r == b"-ERR Bad data format\r\n", "{r:?}");
            d.b.call(&["del", "k"]);
        }
    }
    d.check(&["xlen", "c"]);
    d.check(&["xinfo", "stream", "c"]);
}
