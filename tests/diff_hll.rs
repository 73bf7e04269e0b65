//! Differential tests of the HyperLogLog family (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST)
//! against a real redis-server: replies, error texts and the sketches' bytes (GET) must be
//! identical, sparse and dense; sketches move between the servers through GET and SET; corrupt
//! sketches (random byte flips) must give Redis's answers, never a crash. Keys are spread over
//! both workers (x, y, a, d, e, t on one; z, b, c, w, s on the other).

mod common;
use common::notify::NotifyDiff;
use common::pair::Pair;
use common::{owner, start_redis, start_rustis, Diff, Lcg};

/// Sends a binary command to both servers, asserts identical replies, returns the reply.
fn both_raw(d: &mut Diff, args: &[&[u8]]) -> Vec<u8> {
    d.a.send(args);
    let ra = d.a.read_reply();
    d.b.send(args);
    let rb = d.b.read_reply();
    let show = |r: &[u8]| String::from_utf8_lossy(&r[..r.len().min(300)]).into_owned();
    assert!(
        ra == rb,
        "reply differs for {:?}: rustis {:?}, redis {:?}",
        args.iter()
            .map(|a| String::from_utf8_lossy(&a[..a.len().min(40)]).into_owned())
            .collect::<Vec<_>>(),
        show(&rb),
        show(&ra)
    );
    ra
}

/// The body of a bulk reply (`$n\r\n...\r\n`).
fn bulk_body(r: &[u8]) -> Vec<u8> {
    if r == b"$-1\r\n" {
        return Vec::new();
    }
    assert_eq!(r[0], b'$', "not a bulk: {:?}", String::from_utf8_lossy(r));
    let nl = r.iter().position(|&c| c == b'\n').unwrap();
    r[nl + 1..r.len() - 2].to_vec()
}

/// GET of `key` on both servers, asserted identical; the value's bytes.
fn same_bytes(d: &mut Diff, key: &str) -> Vec<u8> {
    bulk_body(&both_raw(d, &[b"get", key.as_bytes()]))
}

/// PFADD `key` with `n` elements starting at number `from`, in batches, on both servers.
fn add_many(d: &mut Diff, key: &str, from: u64, n: u64, batch: u64) {
    let mut i = from;
    while i < from + n {
        let end = (i + batch).min(from + n);
        let elems: Vec<String> = (i..end).map(|j| format!("el:{j}")).collect();
        let mut args: Vec<&[u8]> = vec![b"pfadd", key.as_bytes()];
        args.extend(elems.iter().map(|e| e.as_bytes()));
        both_raw(d, &args);
        i = end;
    }
}

#[test]
fn keys_used_are_on_both_workers() {
    for k in ["x", "y", "a", "d", "e", "t"] {
        assert_eq!(owner(k, 2), 1, "{k}");
    }
    for k in ["z", "b", "c", "w", "s"] {
        assert_eq!(owner(k, 2), 0, "{k}");
    }
}

#[test]
fn basics_errors_and_arity() {
    let mut d = Diff::new();
    d.check(&["config", "resetstat"]);
    d.script(
        "
        pfadd x
        exists x
        pfcount x
        pfadd x a b c
        pfadd x a b c
        pfadd x
        pfcount x
        pfcount x
        pfadd x d e f g h i j k l m n o p
        pfcount x
        pfcount nosuch
        pfcount nosuch nosuch2
        pfadd x \"\"
        object encoding x
        strlen x
        getrange x 0 3
        getrange x 15 15
        pfadd
        pfcount
        pfmerge
        pfdebug
        pfdebug encoding
        pfdebug encoding x extra
        pfselftest extra
        set s notanhll
        pfadd s a
        pfcount s
        pfcount s x
        pfcount x s
        pfmerge s x
        pfmerge x s
        pfdebug encoding s
        set s 12345
        pfadd s a
        pfcount s
        set s HYLL
        pfadd s a
        rpush l a
        pfadd l a
        pfcount l
        pfcount x l
        pfmerge l x
        pfmerge x l
        pfmerge nosuch2 l
        exists nosuch2
        pfdebug encoding l
        pfdebug encoding nosuch
        pfdebug getreg nosuch
        pfdebug foo x
        pfdebug foo nosuch
        pfdebug FOO s
        pfdebug ENCODING x
        pfdebug decode x
        pfdebug todense x
        pfdebug todense x
        pfdebug encoding x
        pfdebug decode x
        pfcount x
        pfadd x more elements here
        pfcount x
        ",
    );
    // PFDEBUG GETREG converts to dense and lists every register.
    d.script(
        "
        del x
        pfadd x 1 2 3
        pfdebug encoding x
        pfdebug getreg x
        pfdebug encoding x
        ",
    );
    same_bytes(&mut d, "x");
    // The subcommand is a C string for Redis: it ends at a NUL byte.
    both_raw(&mut d, &[b"pfdebug", b"encoding\0junk", b"x"]);
    both_raw(&mut d, &[b"pfdebug", b"bad\0junk", b"x"]);
    both_raw(&mut d, &[b"pfdebug", b"bad\r\nline", b"x"]);
    // Elements are binary-safe.
    both_raw(&mut d, &[b"pfadd", b"y", b"\0\xff\r\n", b"", b"\x80"]);
    same_bytes(&mut d, "y");
    d.check(&["pfcount", "y"]);
    // Every error above is counted by its code, listed in byte order.
    d.check(&["info", "errorstats"]);
}

#[test]
fn pfmerge_and_multi_key_pfcount() {
    let mut d = Diff::new();
    d.script(
        "
        pfadd x a b c
        pfadd z b c d
        pfadd b c d e
        pfmerge y x z b
        pfcount y
        pfcount x z b
        pfcount x z b nosuch
        pfcount x x
        pfmerge w
        exists w
        pfdebug encoding w
        pfmerge x
        pfcount x
        pfmerge nosuch3 nosuch4
        pfcount nosuch3
        pfdebug decode y
        pfdebug todense z
        pfmerge c x z
        pfdebug encoding c
        pfcount c
        pfmerge x x
        pfcount x
        ",
    );
    for k in ["y", "w", "x", "c", "nosuch3"] {
        same_bytes(&mut d, k);
    }
    // Merging into an existing destination keeps its stale cache bytes, marking them stale.
    d.script(
        "
        del t
        pfadd t q r s
        pfcount t
        pfmerge t x
        getrange t 8 15
        pfcount t
        getrange t 8 15
        ",
    );
    // Big unions, sparse and dense, with the destination sparse then dense.
    add_many(&mut d, "a", 0, 1500, 100);
    add_many(&mut d, "s", 1000, 1500, 100);
    add_many(&mut d, "e", 0, 20000, 500);
    d.script(
        "
        pfdebug encoding a
        pfdebug encoding s
        pfdebug encoding e
        pfcount a s
        pfcount a s e
        pfmerge d a
        pfdebug encoding d
        pfmerge d s
        pfdebug encoding d
        pfcount d
        pfmerge b a e
        pfdebug encoding b
        pfcount b
        pfmerge e a s
        pfcount e
        ",
    );
    for k in ["d", "b", "e"] {
        same_bytes(&mut d, k);
    }
}

#[test]
fn sketches_are_byte_identical_sparse_and_dense() {
    let mut d = Diff::new();
    // Promotion at the default threshold, and every stage of it.
    let mut total = 0;
    for (step, batch) in [
        (1, 1),
        (9, 3),
        (90, 7),
        (400, 50),
        (500, 100),
        (1000, 100),
        (3000, 300),
        (10000, 1000),
    ] {
        add_many(&mut d, "x", total, step, batch);
        total += step;
        d.check(&["pfdebug", "encoding", "x"]);
        d.check(&["pfcount", "x"]);
        same_bytes(&mut d, "x");
        d.check(&["pfcount", "x"]);
        same_bytes(&mut d, "x");
    }
    // Another threshold, as CONFIG SET makes it, small and large.
    for max in ["0", "100", "700", "16000", "3000"] {
        d.check(&["config", "set", "hll-sparse-max-bytes", max]);
        d.check(&["del", "z"]);
        add_many(&mut d, "z", 7, 2500, 37);
        d.check(&["pfdebug", "encoding", "z"]);
        d.check(&["pfcount", "z"]);
        same_bytes(&mut d, "z");
    }
    d.check(&["config", "get", "hll-sparse-max-bytes"]);
}

#[test]
fn sketches_move_between_servers() {
    let mut d = Diff::new();
    for (n, key) in [(0u64, "x"), (5, "z"), (300, "y"), (2000, "b"), (40000, "t")] {
        // Built on Redis, read by Rustis.
        let elems: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
        d.a.send(&[b"del", key.as_bytes()]);
        d.a.read_reply();
        for chunk in elems.chunks(500).chain(std::iter::once(&[][..])) {
            let mut args: Vec<&[u8]> = vec![b"pfadd", key.as_bytes()];
            args.extend(chunk.iter().map(|e| e.as_bytes()));
            d.a.send(&args);
            d.a.read_reply();
        }
        d.a.send(&[b"get", key.as_bytes()]);
        let v = bulk_body(&d.a.read_reply());
        d.b.send(&[b"set", key.as_bytes(), &v]);
        assert_eq!(d.b.read_reply(), b"+OK\r\n");
        d.check(&["pfcount", key]);
        d.check(&["pfdebug", "encoding", key]);
        d.check(&["pfadd", key, "one", "more"]);
        d.check(&["pfcount", key]);
        same_bytes(&mut d, key);
        // Built on Rustis, read by Redis.
        let other = format!("{key}2");
        d.b.send(&[b"del", other.as_bytes()]);
        d.b.read_reply();
        for chunk in elems.chunks(500).chain(std::iter::once(&[][..])) {
            let mut args: Vec<&[u8]> = vec![b"pfadd", other.as_bytes()];
            args.extend(chunk.iter().map(|e| e.as_bytes()));
            d.b.send(&args);
            d.b.read_reply();
        }
        d.b.send(&[b"get", other.as_bytes()]);
        let w = bulk_body(&d.b.read_reply());
        d.a.send(&[b"set", other.as_bytes(), &w]);
        assert_eq!(d.a.read_reply(), b"+OK\r\n");
        d.check(&["pfcount", &other]);
        same_bytes(&mut d, &other);
        d.check(&["pfcount", key, &other]);
        d.check(&["object", "encoding", key]);
    }
}

/// Flips random bytes of valid sketches (sparse and dense), stores the result on both servers
/// and compares every command's answer and the bytes they leave.
#[test]
fn corrupt_sketches_answer_as_redis() {
    let mut d = Diff::new();
    let mut rng = Lcg(std::env::var("HLL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed));
    let mut cut = 0;
    let rounds: u64 = std::env::var("HLL_FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    for round in 0..rounds {
        let n = match round % 4 {
            0 => rng.below(20),
            1 => rng.below(300),
            2 => rng.below(3000),
            _ => rng.below(300) + 2000,
        };
        let elems: Vec<String> = (0..n).map(|i| format!("{round}:{i}")).collect();
        d.a.send(&[b"del", b"x"]);
        d.a.read_reply();
        let mut args: Vec<&[u8]> = vec![b"pfadd", b"x"];
        args.extend(elems.iter().map(|e| e.as_bytes()));
        d.a.send(&args);
        d.a.read_reply();
        d.a.send(&[b"get", b"x"]);
        let mut v = bulk_body(&d.a.read_reply());
        for _ in 0..5 {
            let pos = rng.below(v.len() as u64) as usize;
            // Mostly the registers; sometimes the header, and sometimes a byte appended or cut.
            match rng.below(20) {
                0 => v.push(rng.below(256) as u8),
                1 if v.len() > 16 => {
                    v.pop();
                }
                2 => v[rng.below(16) as usize] = rng.below(256) as u8,
                _ => v[pos] = rng.below(256) as u8,
            }
            if rng.below(2) == 0 {
                break;
            }
        }
        if ends_in_cut_xzero(&v) {
            // Redis reads the missing byte past the string's end, where its edits may leave
            // garbage; Rustis reads 0 there. Only check that Rustis answers everything.
            cut += 1;
            survive(&mut d, &v);
            continue;
        }
        both_raw(&mut d, &[b"set", b"x", &v]);
        both_raw(&mut d, &[b"set", b"z", &v]);
        both_raw(&mut d, &[b"set", b"y", &v]);
        both_raw(&mut d, &[b"pfcount", b"x"]);
        both_raw(&mut d, &[b"pfcount", b"x", b"nosuch"]);
        both_raw(&mut d, &[b"pfdebug", b"decode", b"x"]);
        both_raw(&mut d, &[b"pfadd", b"x", b"p", b"q", b"r", b"s"]);
        same_bytes(&mut d, "x");
        both_raw(&mut d, &[b"pfcount", b"x"]);
        both_raw(&mut d, &[b"pfmerge", b"w", b"z"]);
        both_raw(&mut d, &[b"pfmerge", b"z", b"w"]);
        same_bytes(&mut d, "z");
        both_raw(&mut d, &[b"pfadd", b"y", b"a"]);
        same_bytes(&mut d, "y");
        both_raw(&mut d, &[b"pfdebug", b"todense", b"y"]);
        both_raw(&mut d, &[b"pfdebug", b"getreg", b"y"]);
        same_bytes(&mut d, "y");
        both_raw(&mut d, &[b"del", b"w"]);
    }
    assert!(cut < rounds / 10 + 1, "{cut} rounds left unchecked");
}

/// Whether a sparse sketch's last opcode is an XZERO missing its second byte.
fn ends_in_cut_xzero(v: &[u8]) -> bool {
    if v.len() < 16 || v[4] != 1 {
        return false;
    }
    let mut p = 16;
    while p < v.len() {
        let wide = v[p] & 0xc0 == 0x40;
        if wide && p + 1 == v.len() {
            return true;
        }
        p += if wide { 2 } else { 1 };
    }
    false
}

/// Runs the fuzz commands on Rustis alone on sketch `v`, checking only that each is answered.
fn survive(d: &mut Diff, v: &[u8]) {
    let cmds: &[&[&[u8]]] = &[
        &[b"set", b"x", v],
        &[b"pfcount", b"x"],
        &[b"pfcount", b"x", b"nosuch"],
        &[b"pfdebug", b"decode", b"x"],
        &[b"pfadd", b"x", b"p", b"q", b"r", b"s"],
        &[b"pfcount", b"x"],
        &[b"pfmerge", b"w", b"x"],
        &[b"pfdebug", b"todense", b"x"],
        &[b"pfdebug", b"getreg", b"x"],
        &[b"del", b"w"],
    ];
    for c in cmds {
        d.b.send(c);
        let r = d.b.read_reply();
        assert!(!r.is_empty());
    }
}

/// Hand-made corrupt sparse sketches at the edges of the format.
#[test]
fn crafted_sparse_edges() {
    let mut d = Diff::new();
    let hdr = |enc: u8| {
        let mut v = b"HYLL".to_vec();
        v.push(enc);
        v.resize(16, 0);
        v
    };
    let cases: Vec<Vec<u8>> = vec![
        hdr(1),
        hdr(0),
        hdr(2),
        {
            // An XZERO whose second byte is missing (C reads the terminator as 0).
            let mut v = hdr(1);
            v.extend_from_slice(&[0x7f, 0xff, 0x40]);
            v
        },
        {
            let mut v = hdr(1);
            v.extend_from_slice(&[0x7f, 0xfe, 0x40]);
            v
        },
        {
            let mut v = hdr(1);
            v.extend_from_slice(&[0x7f]);
            v
        },
        {
            // Registers past the end through VAL runs.
            let mut v = hdr(1);
            v.extend_from_slice(&[0x7f, 0xff, 0x83, 0x83]);
            v
        },
        {
            // Too few registers.
            let mut v = hdr(1);
            v.extend_from_slice(&[0x7f, 0xf0, 0x80]);
            v
        },
        {
            // Every register in VAL runs of 4 (an odd but valid encoding).
            let mut v = hdr(1);
            v.extend(std::iter::repeat_n(0x83u8 | (5 << 2), 4096));
            v
        },
        {
            // Non-canonical: many small ZERO runs and XZEROs of 1.
            let mut v = hdr(1);
            v.extend(std::iter::repeat_n(0x00u8, 8192));
            for _ in 0..8192 {
                v.extend_from_slice(&[0x40, 0x00]);
            }
            v
        },
        {
            // A cached cardinality that is valid but wrong, and unused header bytes set.
            let mut v = hdr(1);
            v[5] = 9;
            v[8] = 42;
            v.extend_from_slice(&[0x7f, 0xff]);
            v
        },
        {
            let mut v = hdr(0);
            v.resize(12304, 0xff);
            v
        },
        {
            let mut v = hdr(0);
            v.resize(12304, 0x41);
            v[15] = 0x80;
            v
        },
    ];
    for v in &cases {
        for key in [&b"x"[..], b"z"] {
            both_raw(&mut d, &[b"set", key, v]);
        }
        both_raw(&mut d, &[b"pfcount", b"x"]);
        both_raw(&mut d, &[b"pfcount", b"x"]);
        both_raw(&mut d, &[b"pfcount", b"x", b"z"]);
        both_raw(&mut d, &[b"pfdebug", b"decode", b"x"]);
        both_raw(&mut d, &[b"pfdebug", b"encoding", b"x"]);
        for e in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            both_raw(&mut d, &[b"pfadd", b"x", e.as_bytes()]);
        }
        same_bytes(&mut d, "x");
        both_raw(&mut d, &[b"pfmerge", b"y", b"z"]);
        same_bytes(&mut d, "y");
        both_raw(&mut d, &[b"pfmerge", b"z"]);
        same_bytes(&mut d, "z");
        both_raw(&mut d, &[b"pfdebug", b"getreg", b"z"]);
        same_bytes(&mut d, "z");
        both_raw(&mut d, &[b"del", b"y"]);
    }
}

#[test]
fn sketches_keep_their_ttl() {
    let mut d = Diff::new();
    d.script_loose(
        "
        pfadd e a
        expire e 100
        pfadd e b
        ttl e
        pfcount e
        ttl e
        pfmerge e nosuch
        ttl e
        pfdebug todense e
        ttl e
        pfadd w a
        pexpire w 1
        ",
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    d.script(
        "
        pfcount w
        pfadd w a
        pfcount w
        ",
    );
}

#[test]
fn keys_on_both_workers_and_transactions() {
    let mut d = Diff::new();
    d.script(
        "
        pfadd x 1 2 3
        pfadd z 3 4 5
        pfcount x z
        pfmerge b x z
        pfcount b
        pfmerge y z b
        pfcount y
        multi
        pfadd x 9
        pfadd z 10
        pfcount x z
        pfmerge s x z
        pfcount s
        exec
        pfcount x z s
        ",
    );
    for k in ["b", "y", "s"] {
        same_bytes(&mut d, k);
    }
    // A PFCOUNT that refreshes the cache changes the value: WATCH sees it.
    d.script(
        "
        pfadd a q w e
        watch a
        pfcount a
        multi
        ping
        exec
        watch a
        pfcount a
        multi
        ping
        exec
        ",
    );
}

/// Client-side caching: a PFCOUNT that refreshes the cache does not tell its own reader, and a
/// PFADD that changes registers tells the readers.
#[test]
fn tracking_readers_of_sketches() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 2);
    p.quiet(0, &["hello", "3"]);
    p.call(0, &["client", "tracking", "on"]);
    p.call(1, &["pfadd", "x", "a", "b"]);
    p.call(0, &["pfcount", "x"]);
    p.call(0, &["pfcount", "x"]);
    p.nothing_pending(0);
    p.call(1, &["pfadd", "x", "c"]);
    p.read(0, "invalidate x after PFADD");
    p.call(0, &["pfcount", "x", "z"]);
    p.call(1, &["pfadd", "z", "q"]);
    p.read(0, "invalidate z after PFADD");
    p.call(1, &["pfmerge", "x", "z"]);
    p.read(0, "invalidate x after PFMERGE");
    p.call(0, &["pfcount", "x"]);
    p.nothing_pending(0);
}

#[test]
fn resp3() {
    let mut d = Diff::new();
    d.resp3();
    d.script(
        "
        pfadd x a b c
        pfcount x
        pfcount x nosuch
        pfmerge z x
        pfdebug encoding z
        pfdebug decode z
        pfdebug getreg z
        pfdebug foo z
        pfadd nope
        set s foo
        pfadd s a
        ",
    );
}

#[test]
fn keyspace_events() {
    for classes in ["KEA", "KE$", "Kg", "KEn$"] {
        let mut n = NotifyDiff::new(classes);
        n.events(
            "
            pfadd x a b
            pfadd x a b
            pfadd x
            pfadd y
            pfcount x
            pfcount x y nosuch
            pfmerge z x y
            pfmerge z
            pfmerge w nosuch
            pfdebug todense z
            pfdebug getreg x
            set s foo
            pfadd s a
            pfmerge s x
            pfmerge x s
            ",
        );
    }
}

#[test]
fn selftest_passes() {
    let mut d = Diff::new();
    // Tens of millions of register operations: seconds in a debug build.
    for c in [&d.a, &d.b] {
        c.stream()
            .set_read_timeout(Some(std::time::Duration::from_secs(300)))
            .unwrap();
    }
    d.check(&["pfselftest"]);
}
