//! Differential tests of the bitmap family (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
//! BITFIELD_RO) against a real redis-server: replies, errors and their order, integer-encoded
//! strings, huge offsets, keys on both workers, RESP3, keyspace events, and small random
//! comparisons of ranges and of BITFIELD overflow arithmetic. Binary values are compared as raw
//! bytes. Keys x, y, a, d, e, t live on worker 1 and z, b, c, w, s on worker 0.

mod common;
use common::notify::NotifyDiff;
use common::{owner, Diff, Lcg};

/// Sends binary-safe `args` to both servers and asserts byte-identical replies; returns the reply.
fn raw(d: &mut Diff, args: &[&[u8]]) -> Vec<u8> {
    d.a.send(args);
    let ra = d.a.read_reply();
    d.b.send(args);
    let rb = d.b.read_reply();
    assert_eq!(
        rb,
        ra,
        "raw reply differs for {:?} (left: rustis, right: redis)",
        args.iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>()
    );
    ra
}

/// `n` pseudo-random bytes (any value, 0x00 and 0xFF included).
fn random_bytes(rng: &mut Lcg, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| match rng.below(8) {
            0 => 0,
            1 => 0xFF,
            _ => rng.below(256) as u8,
        })
        .collect()
}

#[test]
fn workers_of_the_keys_used() {
    // The cross-worker cases below rely on these owners.
    for k in ["x", "y", "a", "d", "e", "t"] {
        assert_eq!(owner(k, 2), 1, "{k}");
    }
    for k in ["z", "b", "c", "w", "s"] {
        assert_eq!(owner(k, 2), 0, "{k}");
    }
}

#[test]
fn setbit_and_getbit() {
    let mut d = Diff::new();
    d.script(
        "
        SETBIT k 7 1
        GET k
        GETBIT k 7
        GETBIT k 6
        GETBIT k 0
        GETBIT k 8
        GETBIT k 100
        SETBIT k 7 1
        SETBIT k 7 0
        SETBIT k 7 0
        STRLEN k
        OBJECT ENCODING k
        SETBIT k 30 1
        STRLEN k
        GET k
        # offsets
        SETBIT k -1 1
        SETBIT k abc 1
        SETBIT k 1.5 1
        SETBIT k +1 1
        SETBIT k 01 1
        SETBIT k 4294967296 1
        SETBIT k 9223372036854775807 1
        SETBIT k 9223372036854775808 1
        SETBIT k -9223372036854775808 1
        GETBIT k -1
        GETBIT k 4294967296
        GETBIT k 4294967295
        GETBIT k 18446744073709551615
        GETBIT nosuch 5
        GETBIT nosuch -1
        GETBIT nosuch 4294967296
        # values
        SETBIT k 1 2
        SETBIT k 1 -1
        SETBIT k 1 abc
        SETBIT k 1 1.0
        SETBIT k 1 01
        SETBIT k 1 +1
        SETBIT k 1 9223372036854775808
        SETBIT k abc abc
        SETBIT k -1 2
        SETBIT k 4294967296 abc
        # a new key, a far offset
        SETBIT n2 1000 1
        STRLEN n2
        GETBIT n2 1000
        GETBIT n2 999
        BITCOUNT n2
        OBJECT ENCODING n2
        # wrong types: the offset and value are checked first
        RPUSH l a
        SETBIT l 0 1
        GETBIT l 0
        GETBIT l -1
        SETBIT l 0 2
        SETBIT l -1 1
        # arity
        SETBIT
        SETBIT k
        SETBIT k 1
        SETBIT k 1 1 1
        GETBIT k
        GETBIT k 1 1
        ",
    );
}

#[test]
fn integer_encoded_and_special_strings() {
    let mut d = Diff::new();
    d.script("SET n 123");
    for i in 0..30 {
        d.check(&["GETBIT", "n", &i.to_string()]);
    }
    d.script(
        "
        OBJECT ENCODING n
        BITCOUNT n
        BITCOUNT n 0 0
        BITCOUNT n 1 -1 BIT
        BITPOS n 1
        BITPOS n 0
        BITPOS n 0 1
        BITPOS n 1 2 2
        BITFIELD n GET u8 0 GET i16 4 GET u63 0 GET i64 1
        BITFIELD_RO n GET u8 8
        SET m -9223372036854775808
        BITCOUNT m
        BITPOS m 0 3
        GETBIT m 2
        SETBIT n 7 0
        GET n
        OBJECT ENCODING n
        SET n2 456
        BITFIELD n2 SET u8 0 50
        GET n2
        OBJECT ENCODING n2
        SET n3 789
        BITFIELD n3 GET u8 0
        OBJECT ENCODING n3
        SET n4 1
        SETBIT n4 10 1
        GET n4
        SET emb abcdefghijklmnopqrstuvwxyz
        OBJECT ENCODING emb
        SETBIT emb 0 1
        OBJECT ENCODING emb
        GET emb
        ",
    );
    // The empty string is a key, and an empty bitmap.
    d.check(&["SET", "e", ""]);
    d.script(
        "
        GETBIT e 0
        BITCOUNT e
        BITCOUNT e 0 -1
        BITCOUNT e 0 -1 BIT
        BITPOS e 0
        BITPOS e 1
        BITPOS e 0 0
        BITPOS e 0 0 -1
        BITPOS e 0 0 -1 BIT
        BITFIELD e GET u8 0
        BITOP OR x e
        EXISTS x
        SETBIT e 3 1
        GET e
        ",
    );
    // Large values are shared (reference-counted) in Rustis: the first write copies them.
    let big = "Q".repeat(3000);
    d.check(&["SET", "big", &big]);
    d.script(
        "
        SETBIT big 23999 1
        GETBIT big 23999
        BITCOUNT big
        STRLEN big
        SETBIT big 24000 1
        STRLEN big
        BITCOUNT big -2 -1
        ",
    );
}

#[test]
fn huge_offsets() {
    let mut d = Diff::new();
    d.script(
        "
        BITFIELD k GET u8 4294967295
        BITFIELD k GET i64 4294967295
        BITFIELD k GET u8 4294967296
        BITFIELD k GET u8 #536870911
        BITFIELD k GET u8 #536870912
        BITFIELD k GET i64 #67108863
        BITFIELD k GET i64 #67108864
        BITFIELD k GET u8 #2305843009213693953
        BITFIELD k GET i3 #6148914691236517206
        BITFIELD k GET u8 #-1
        BITFIELD k GET u8 #
        BITFIELD k GET u8 ##1
        BITFIELD k GET u8 # 1
        SETBIT k 4294967295 1
        STRLEN k
        GETBIT k 4294967295
        GETBIT k 4294967294
        BITCOUNT k
        BITCOUNT k -1 -1
        BITCOUNT k 4294967295 4294967295 BIT
        BITPOS k 1
        BITPOS k 1 -1
        BITPOS k 1 536870911 536870911
        BITPOS k 0 -1
        BITPOS k 0 -1 -1
        BITPOS k 1 4294967290 -1 BIT
        BITFIELD k GET u8 4294967288 GET i8 4294967288 INCRBY u1 4294967295 1
        BITFIELD k SET u8 4294967288 7 GET u8 #536870911
        BITFIELD k SET u8 4294967289 7
        SETBIT k 4294967296 1
        DEL k
        ",
    );
}

#[test]
fn bitcount_ranges_and_errors() {
    let mut d = Diff::new();
    d.script(
        "
        SET s foobar
        BITCOUNT s
        BITCOUNT s 0 0
        BITCOUNT s 1 1
        BITCOUNT s 1 1 BYTE
        BITCOUNT s 1 1 byte
        BITCOUNT s 5 30 BIT
        BITCOUNT s 5 30 bit
        BITCOUNT s 5 30 BiT
        BITCOUNT s 0 -1
        BITCOUNT s -2 -1
        BITCOUNT s -1 -2
        BITCOUNT s -1 -2 FOO
        BITCOUNT s -1 -2 BIT
        BITCOUNT s 2 1
        BITCOUNT s 2 1 FOO
        BITCOUNT s 2 1 BIT
        BITCOUNT s -100 100
        BITCOUNT s 0 -100
        BITCOUNT s -100 -100
        BITCOUNT s 100 200
        BITCOUNT s 0 1 bit
        BITCOUNT s 0 47 bit
        BITCOUNT s 0 48 bit
        BITCOUNT s 47 47 bit
        BITCOUNT s -1 -1 bit
        BITCOUNT s -9 -2 bit
        BITCOUNT s 7 7 bit
        BITCOUNT s 3 12 bit
        BITCOUNT s 9 9 bit
        BITCOUNT s 9223372036854775807 -9223372036854775808
        BITCOUNT s -9223372036854775808 9223372036854775807
        BITCOUNT s -9223372036854775808 9223372036854775807 BIT
        BITCOUNT s -9223372036854775808 -9223372036854775808 BIT
        BITCOUNT s 0
        BITCOUNT s 0 1 bit extra
        BITCOUNT s 0 1 2 3 4
        BITCOUNT s a 1
        BITCOUNT s 1 a
        BITCOUNT s a 1 FOO
        BITCOUNT s 1 a FOO
        BITCOUNT s 1.0 2
        BITCOUNT s 9223372036854775808 1
        BITCOUNT nosuch
        BITCOUNT nosuch a b c d e
        BITCOUNT nosuch 0
        RPUSH l a
        BITCOUNT l
        BITCOUNT l a b
        BITCOUNT l 0
        BITCOUNT
        ",
    );
}

#[test]
fn bitpos_ranges_and_errors() {
    let mut d = Diff::new();
    d.script(
        "
        SET s foobar
        BITPOS s 1
        BITPOS s 0
        BITPOS s 1 2
        BITPOS s 0 2
        BITPOS s 1 2 -1
        BITPOS s 1 2 -1 BYTE
        BITPOS s 1 2 -1 byte
        BITPOS s 1 7 15 BIT
        BITPOS s 0 7 15 bit
        BITPOS s 1 9 9 bit
        BITPOS s 0 9 9 bit
        BITPOS s 1 -1
        BITPOS s 1 -100
        BITPOS s 1 100
        BITPOS s 0 100
        BITPOS s 1 3 2
        BITPOS s 0 3 2
        BITPOS s 1 -1 -2
        BITPOS s 1 -1 -2 BIT
        BITPOS s 0 46 47 BIT
        BITPOS s 1 46 47 BIT
        BITPOS s 0 40 100 BIT
        BITPOS s 1 -3 -1 BIT
        BITPOS s 1 9223372036854775807
        BITPOS s 1 -9223372036854775808
        BITPOS s 1 -9223372036854775808 9223372036854775807 BIT
        BITPOS s 2
        BITPOS s -1
        BITPOS s a
        BITPOS s 1.0
        BITPOS s 1 a
        BITPOS s 1 0 a
        BITPOS s 1 0 a FOO
        BITPOS s 1 a 1 FOO
        BITPOS s 1 0 1 FOO
        BITPOS s 1 0 1 bit extra
        BITPOS s 1 0 BIT
        BITPOS nosuch 0
        BITPOS nosuch 1
        BITPOS nosuch 1 a b c
        BITPOS nosuch 0 a b c d e f
        BITPOS nosuch 2
        BITPOS nosuch a
        RPUSH l a
        BITPOS l 1
        BITPOS l 2
        BITPOS l 1 a
        BITPOS
        BITPOS s
        ",
    );
}

#[test]
fn bitpos_on_all_ones_and_all_zeros() {
    let mut d = Diff::new();
    for n in [1usize, 3, 4, 8, 9, 31, 32, 33, 100] {
        let last = (n * 8 - 1).to_string();
        let nb = n.to_string();
        d.check(&["DEL", "zero", "ones"]);
        d.check(&["SETBIT", "zero", &last, "0"]);
        d.check(&["BITOP", "NOT", "ones", "zero"]);
        for args in [
            vec!["BITPOS", "ones", "0"],
            vec!["BITPOS", "ones", "1"],
            vec!["BITPOS", "ones", "0", "0"],
            vec!["BITPOS", "ones", "0", "1"],
            vec!["BITPOS", "ones", "0", "-1"],
            vec!["BITPOS", "ones", "0", "0", "-1"],
            vec!["BITPOS", "ones", "0", "0", &nb],
            vec!["BITPOS", "ones", "0", "1", "-1"],
            vec!["BITPOS", "ones", "0", "0", "-1", "BIT"],
            vec!["BITPOS", "ones", "0", "3", "-1", "BIT"],
            vec!["BITPOS", "ones", "0", "3", "-3", "BIT"],
            vec!["BITPOS", "ones", "0", "0", &last, "BIT"],
            vec!["BITPOS", "ones", "0", "5"],
            vec!["BITPOS", "ones", "1", "0", "-1", "BIT"],
            vec!["BITPOS", "zero", "1"],
            vec!["BITPOS", "zero", "0"],
            vec!["BITPOS", "zero", "1", "0", "-1"],
            vec!["BITPOS", "zero", "0", "0", "-1"],
            vec!["BITPOS", "zero", "0", "2", "-1", "BIT"],
            vec!["BITPOS", "zero", "1", "2", "-1", "BIT"],
            vec!["BITCOUNT", "ones"],
            vec!["BITCOUNT", "ones", "1", "-2", "BIT"],
            vec!["BITCOUNT", "zero"],
        ] {
            d.check(&args);
        }
        // One zero bit somewhere inside the ones.
        let hole = (n * 8 / 2 + 1).to_string();
        d.check(&["SETBIT", "ones", &hole, "0"]);
        for args in [
            vec!["BITPOS", "ones", "0"],
            vec!["BITPOS", "ones", "0", "0", "-1"],
            vec!["BITPOS", "ones", "0", "1"],
            vec!["BITPOS", "ones", "0", &hole, "-1", "BIT"],
            vec!["BITPOS", "ones", "0", "0", &hole, "BIT"],
            vec!["BITCOUNT", "ones"],
        ] {
            d.check(&args);
        }
    }
}

#[test]
fn random_ranges_match() {
    let mut d = Diff::new();
    let mut rng = Lcg(7);
    for round in 0..12 {
        let n = [1, 2, 7, 8, 9, 15, 16, 17, 33, 64, 100, 257][round];
        let bytes = random_bytes(&mut rng, n);
        raw(&mut d, &[b"SET", b"r", &bytes]);
        let bits = (n * 8) as u64;
        for _ in 0..60 {
            let pick = |rng: &mut Lcg, total: u64| -> String {
                let v = rng.below(total + 6) as i64 - 3;
                if rng.below(3) == 0 {
                    (-v - 1).to_string()
                } else {
                    v.to_string()
                }
            };
            let isbit = rng.below(2) == 0;
            let total = if isbit { bits } else { n as u64 };
            let (s, e) = (pick(&mut rng, total), pick(&mut rng, total));
            let unit = if isbit { "BIT" } else { "BYTE" };
            d.check(&["BITCOUNT", "r", &s, &e, unit]);
            d.check(&["BITPOS", "r", "1", &s, &e, unit]);
            d.check(&["BITPOS", "r", "0", &s, &e, unit]);
            d.check(&["BITPOS", "r", "0", &s]);
            d.check(&["BITPOS", "r", "1", &s]);
            if !isbit {
                d.check(&["BITCOUNT", "r", &s, &e]);
                d.check(&["BITPOS", "r", "0", &s, &e]);
            }
        }
        d.check(&["BITCOUNT", "r"]);
        d.check(&["BITPOS", "r", "0"]);
        d.check(&["BITPOS", "r", "1"]);
    }
}

#[test]
fn bitop_operations() {
    let mut d = Diff::new();
    d.script(
        "
        SET a abc
        SET z foobarbaz
        SET b 1234567
        BITOP AND x a z
        GET x
        BITOP OR c a z b
        GET c
        BITOP XOR x a z b
        GET x
        BITOP OR x a nosuch
        GET x
        BITOP AND x a nosuch
        STRLEN x
        BITCOUNT x
        BITOP AND x nosuch a
        BITCOUNT x
        BITOP xor d b b
        BITCOUNT d
        BITOP not x a
        BITOP Or x a
        OBJECT ENCODING x
        OBJECT ENCODING c
        # NOT takes exactly one source
        BITOP NOT x a z
        BITOP NOT x nosuch
        EXISTS x
        BITOP FOO x a
        BITOP ANDX x a
        BITOP NOT x
        BITOP AND x
        # every source missing or empty: the destination goes
        SET x v
        BITOP AND x nosuch nosuch2
        EXISTS x
        BITOP AND x nosuch nosuch2
        # wrong types: no change
        SET x keep
        RPUSH l a
        BITOP AND x a l
        BITOP OR x l nosuch
        BITOP OR x nosuch l a
        GET x
        BITOP NOT l a
        TYPE l
        BITOP FOO x l
        # the destination may be a source, of any type, and loses its TTL
        BITOP OR a a z
        GET a
        SET y v EX 100
        BITOP OR y a
        TTL y
        HSET h f v
        BITOP OR h a
        TYPE h
        # integer-encoded sources
        SET n 123
        BITOP OR x n a
        GET x
        BITOP NOT x n
        GET x
        ",
    );
    d.check(&["SET", "e", ""]);
    d.script(
        "
        SET x v
        BITOP OR x e
        EXISTS x
        BITOP OR x e a
        GET x
        ",
    );
    // Longer values (word-sized runs) of unequal lengths, binary content, keys on both workers.
    let mut rng = Lcg(11);
    let keys: [&[u8]; 5] = [b"a", b"z", b"b", b"t", b"w"];
    for round in 0..20 {
        for k in keys {
            let n = rng.below(if round % 2 == 0 { 70 } else { 300 }) as usize;
            let v = random_bytes(&mut rng, n);
            raw(&mut d, &[b"SET", k, &v]);
        }
        for op in [&b"AND"[..], b"OR", b"XOR"] {
            let m = 1 + rng.below(5) as usize;
            let mut args: Vec<&[u8]> = vec![b"BITOP", op, if round % 2 == 0 { b"x" } else { b"c" }];
            args.extend(keys.iter().take(m));
            raw(&mut d, &args);
            raw(&mut d, &[b"GET", args[2]]);
        }
        raw(&mut d, &[b"BITOP", b"NOT", b"s", keys[round % 5]]);
        raw(&mut d, &[b"GET", b"s"]);
    }
}

#[test]
fn bitfield_operations_and_errors() {
    let mut d = Diff::new();
    d.script(
        "
        BITFIELD bf SET u8 0 255
        GET bf
        BITFIELD bf GET u8 0
        BITFIELD bf GET i8 0
        BITFIELD bf INCRBY u8 0 10
        BITFIELD bf OVERFLOW SAT INCRBY u8 0 1000
        BITFIELD bf OVERFLOW FAIL INCRBY u8 0 1000
        BITFIELD bf OVERFLOW WRAP INCRBY i8 0 200 OVERFLOW SAT INCRBY i8 0 -1000 GET i8 0
        BITFIELD bf SET i64 0 -1 GET u63 0 GET u63 1 GET i64 0
        BITFIELD bf SET u1 100 1 GET u1 100 GET u8 96 GET i1 100
        BITFIELD bf SET u8 #1 5 GET u8 8 GET u8 #1 GET u4 #3
        BITFIELD bf set u8 0 1 get u8 0 incrby u8 0 1 overflow sat incrby u8 0 -5
        BITFIELD bf
        BITFIELD nosuch
        EXISTS nosuch
        BITFIELD nosuch GET u8 0 GET i64 100
        EXISTS nosuch
        BITFIELD nosuch2 OVERFLOW FAIL INCRBY u8 0 300
        EXISTS nosuch2
        STRLEN nosuch2
        BITFIELD nosuch3 OVERFLOW FAIL SET i8 16 300 GET u8 16
        STRLEN nosuch3
        # types
        BITFIELD bf GET u64 0
        BITFIELD bf GET i65 0
        BITFIELD bf GET i0 0
        BITFIELD bf GET u0 0
        BITFIELD bf GET i-1 0
        BITFIELD bf GET x8 0
        BITFIELD bf GET I8 0
        BITFIELD bf GET U8 0
        BITFIELD bf GET i 0
        BITFIELD bf GET i08 0
        BITFIELD bf GET i+8 0
        BITFIELD bf GET u8.0 0
        # offsets
        BITFIELD bf GET u8 -1
        BITFIELD bf GET u8 #-1
        BITFIELD bf GET u8 abc
        BITFIELD bf GET u8 1.0
        BITFIELD bf GET u8 #1.0
        # values
        BITFIELD bf SET u8 0 abc
        BITFIELD bf INCRBY u8 0 1.5
        BITFIELD bf SET u8 0 9223372036854775808
        # syntax: a subcommand missing arguments, an unknown one
        BITFIELD bf SET u8 0
        BITFIELD bf GET u8
        BITFIELD bf INCRBY u8 0
        BITFIELD bf OVERFLOW
        BITFIELD bf OVERFLOW FOO GET u8 0
        BITFIELD bf OVERFLOW sat OVERFLOW FOO
        BITFIELD bf FOO
        BITFIELD bf GET u8 0 FOO
        BITFIELD bf GET u8 0 SET u8 0
        # the first bad argument answers, in order
        BITFIELD bf GET u64 -1
        BITFIELD bf GET u8 -1 FOO
        BITFIELD bf SET u64 0 abc
        BITFIELD bf SET u8 -1 abc
        BITFIELD bf FOO GET u64 0
        # wrong type: after every argument was checked
        RPUSH l a
        BITFIELD l GET u8 0
        BITFIELD l SET u8 0 1
        BITFIELD l GET u64 0
        BITFIELD l
        BITFIELD_RO l GET u8 0
        BITFIELD_RO l SET u8 0 1
        # BITFIELD_RO
        BITFIELD_RO bf GET u8 0 GET i16 3
        BITFIELD_RO bf SET u8 0 1
        BITFIELD_RO bf INCRBY u8 0 1
        BITFIELD_RO bf GET u8 0 SET u8 0 1
        BITFIELD_RO bf OVERFLOW SAT GET u8 0
        BITFIELD_RO bf SET u8 0 abc
        BITFIELD_RO bf GET u64 0
        BITFIELD_RO bf
        BITFIELD_RO nosuch GET u8 0
        BITFIELD_RO nosuch SET u8 0 1
        EXISTS nosuch
        BITFIELD
        BITFIELD_RO
        ",
    );
}

#[test]
fn bitfield_overflow_corners() {
    let mut d = Diff::new();
    d.script(
        "
        BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775808
        BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775680
        BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775681
        BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775679
        BITFIELD k OVERFLOW FAIL SET i8 0 -9223372036854775808
        BITFIELD k OVERFLOW WRAP SET i8 0 -9223372036854775808
        BITFIELD k OVERFLOW SAT SET u8 0 -1
        BITFIELD k OVERFLOW FAIL SET u8 0 -1
        BITFIELD k OVERFLOW WRAP SET u8 0 -1
        BITFIELD k OVERFLOW SAT SET u8 0 256 GET u8 0
        BITFIELD k OVERFLOW SAT SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 -1
        BITFIELD k OVERFLOW WRAP INCRBY i64 0 1 INCRBY i64 0 -1
        BITFIELD k OVERFLOW FAIL INCRBY i64 0 -9223372036854775808 INCRBY i64 0 9223372036854775807
        BITFIELD k OVERFLOW SAT SET i64 0 -9223372036854775808 INCRBY i64 0 -1 INCRBY i64 0 9223372036854775807
        BITFIELD k OVERFLOW WRAP SET i64 0 -9223372036854775808 INCRBY i64 0 -1
        BITFIELD k SET u63 0 9223372036854775807 INCRBY u63 0 1 GET u63 0
        BITFIELD k OVERFLOW SAT SET u63 0 9223372036854775807 INCRBY u63 0 1 INCRBY u63 0 -9223372036854775808
        BITFIELD k OVERFLOW FAIL INCRBY u63 0 -1 SET u63 0 -1
        BITFIELD k OVERFLOW SAT SET u63 0 -1 INCRBY u63 0 9223372036854775807
        BITFIELD k SET u1 0 1 INCRBY u1 0 1 OVERFLOW SAT INCRBY u1 0 5 INCRBY u1 0 -5
        BITFIELD k SET i1 0 -1 INCRBY i1 0 1 OVERFLOW SAT INCRBY i1 0 5 INCRBY i1 0 -5 GET i1 0
        BITFIELD k OVERFLOW FAIL SET i1 0 1 SET i1 0 -1 SET i1 0 -2 SET u1 0 2
        BITFIELD k OVERFLOW SAT INCRBY i2 0 9223372036854775807 INCRBY i2 0 -9223372036854775808
        BITFIELD k OVERFLOW WRAP INCRBY i2 0 9223372036854775807 INCRBY i2 0 -9223372036854775808
        BITFIELD k OVERFLOW WRAP INCRBY u2 0 9223372036854775807 INCRBY u2 0 -9223372036854775808
        BITFIELD k OVERFLOW SAT INCRBY u2 0 9223372036854775807 INCRBY u2 0 -9223372036854775808
        GET k
        ",
    );
}

#[test]
fn bitfield_random_against_redis() {
    let mut d = Diff::new();
    let mut rng = Lcg(2024);
    let interesting = |rng: &mut Lcg, bits: u32, signed: bool| -> i64 {
        let max: i64 = if signed {
            if bits == 64 {
                i64::MAX
            } else {
                (1i64 << (bits - 1)) - 1
            }
        } else {
            ((1u64 << bits) - 1) as i64
        };
        let min: i64 = if signed { -max - 1 } else { 0 };
        let r = ((rng.next() << 33) ^ (rng.next() << 2) ^ rng.next()) as i64;
        match rng.below(12) {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => max,
            4 => min,
            5 => max.wrapping_add(1),
            6 => min.wrapping_sub(1),
            7 => i64::MAX,
            8 => i64::MIN,
            9 => r,
            10 => r >> (rng.below(60) + 1),
            _ => rng.below(300) as i64 - 150,
        }
    };
    for _ in 0..400 {
        let key = if rng.below(2) == 0 { "fz" } else { "s" };
        let mut args: Vec<String> = vec!["BITFIELD".into(), key.into()];
        for _ in 0..1 + rng.below(4) {
            if rng.below(4) == 0 {
                let ow = ["WRAP", "SAT", "FAIL"][rng.below(3) as usize];
                args.extend(["OVERFLOW".into(), ow.into()]);
            }
            let signed = rng.below(2) == 0;
            let bits = if signed {
                1 + rng.below(64) as u32
            } else {
                1 + rng.below(63) as u32
            };
            let ty = format!("{}{bits}", if signed { 'i' } else { 'u' });
            let offset = if rng.below(4) == 0 {
                format!("#{}", rng.below(6))
            } else {
                rng.below(200).to_string()
            };
            match rng.below(3) {
                0 => args.extend(["GET".into(), ty, offset]),
                1 => {
                    let v = interesting(&mut rng, bits, signed);
                    args.extend(["SET".into(), ty, offset, v.to_string()]);
                }
                _ => {
                    let v = interesting(&mut rng, bits, signed);
                    args.extend(["INCRBY".into(), ty, offset, v.to_string()]);
                }
            }
        }
        d.check_owned(&args);
    }
    raw(&mut d, &[b"GET", b"fz"]);
    raw(&mut d, &[b"GET", b"s"]);
}

#[test]
fn resp3_replies() {
    let mut d = Diff::new();
    d.resp3();
    d.script(
        "
        SETBIT k 3 1
        GETBIT k 3
        BITCOUNT k
        BITPOS k 1
        BITOP NOT x k
        BITFIELD k OVERFLOW FAIL INCRBY u2 0 10 GET u8 0 SET i8 0 -3
        BITFIELD_RO k GET i8 0
        BITFIELD k
        BITFIELD_RO k SET u8 0 1
        ",
    );
}

#[test]
fn keyspace_events() {
    for classes in ["KEA", "KEmn$g", "K$", "Eg"] {
        let mut n = NotifyDiff::new(classes);
        n.events(
            "
            setbit x 0 1
            setbit x 0 1
            setbit x 0 0
            setbit x 100 0
            setbit x 1 2
            getbit x 0
            getbit nosuch 0
            bitop or z x
            bitop or z x
            bitop and z nosuch
            bitop and z nosuch
            bitop not c x
            bitop not c nosuch
            bitfield x set u8 0 1
            bitfield x set u8 0 1
            bitfield x get u8 0
            bitfield x overflow fail incrby u8 0 1000
            bitfield b overflow fail incrby u8 0 1000
            bitfield w set u8 0 0
            bitfield x set u8 200 0 set u8 0 0
            bitfield x set u8 0 5 set u8 8 5
            bitfield nosuch get u8 0
            bitfield_ro x get u8 0
            bitfield_ro nosuch get u8 0
            bitcount x
            bitcount nosuch
            bitpos x 1
            bitpos nosuch 1
            rpush l a
            setbit l 0 1
            bitop or l x
            bitfield l get u8 0
            ",
        );
    }
}

#[test]
fn keys_on_both_workers_stay_atomic() {
    // BITOP gathers sources from both workers and writes its destination back to its owner.
    let mut d = Diff::new();
    d.script(
        "
        SET x abcdef
        SET z 0123456789
        SET y zz
        SET w hello
        BITOP AND c x z
        BITOP OR d x z y w
        BITOP XOR s d c
        BITOP NOT t s
        GET c
        GET d
        GET t
        STRLEN s
        BITCOUNT t
        MULTI
        SETBIT e 5 1
        BITOP OR b e x
        BITFIELD b INCRBY u8 0 1
        EXEC
        GET b
        ",
    );
    raw(&mut d, &[b"GET", b"s"]);
}

#[test]
fn offsets_follow_proto_max_bulk_len() {
    let mut d = Diff::new();
    d.script(
        "
        CONFIG SET proto-max-bulk-len 1048576
        SETBIT z 8388607 1
        SETBIT z 8388608 1
        SETBIT x 8388608 1
        GETBIT x 8388608
        GETBIT x 8388607
        BITFIELD x GET u8 8388600
        BITFIELD x GET u8 8388608
        BITFIELD x SET u16 8388600 1
        STRLEN x
        BITFIELD z INCRBY u4 #2097151 1
        BITFIELD z INCRBY u4 #2097152 1
        STRLEN z
        BITCOUNT z
        CONFIG SET proto-max-bulk-len 536870912
        SETBIT z 8388608 1
        STRLEN z
        ",
    );
}

/// keyspace_hits and keyspace_misses, as `INFO stats` reports them.
fn hits_misses(c: &mut common::Conn) -> (u64, u64) {
    let info = String::from_utf8_lossy(&c.call(&["INFO", "stats"])).into_owned();
    let field = |name: &str| -> u64 {
        info.split("\r\n")
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX)
    };
    (field("keyspace_hits:"), field("keyspace_misses:"))
}

#[test]
fn read_lookups_are_counted_as_redis_counts_them() {
    // Reads (GETBIT, BITCOUNT, BITPOS, BITOP's sources, BITFIELD of GETs only, BITFIELD_RO) count
    // a hit or a miss per key; writes (SETBIT, BITFIELD with a write, BITOP's destination) do not;
    // an argument error before the lookup counts nothing.
    let mut d = Diff::new();
    let script = "
        SETBIT x 3 1
        SETBIT z 3 1
        RPUSH l a
        GETBIT x 3
        GETBIT nosuch 3
        GETBIT l 3
        GETBIT x -1
        BITCOUNT x
        BITCOUNT nosuch
        BITCOUNT x 0
        BITPOS x 1
        BITPOS nosuch 1
        BITPOS x 2
        BITOP OR c x z nosuch
        BITOP OR c x l z
        BITOP FOO c x
        BITFIELD x GET u8 0
        BITFIELD nosuch GET u8 0
        BITFIELD x SET u8 0 1 GET u8 0
        BITFIELD x GET u64 0
        BITFIELD_RO z GET u8 0
        BITFIELD_RO nosuch GET u8 0
        BITFIELD_RO z SET u8 0 1
        BITFIELD x
    ";
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let args: Vec<&str> = line.split_whitespace().collect();
        d.check(&args);
        let want = hits_misses(&mut d.a);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let got = loop {
            let got = hits_misses(&mut d.b);
            if got == want || std::time::Instant::now() >= deadline {
                break got;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert_eq!(got, want, "hits/misses after {line} (left: rustis)");
    }
}

#[test]
fn ttls_and_expired_keys() {
    let mut d = Diff::new();
    d.script_loose(
        "
        SET x abc EX 100
        SETBIT x 100 1
        TTL x
        BITFIELD x SET u8 200 1
        TTL x
        BITFIELD x GET u8 0
        TTL x
        SET z abc EX 100
        BITOP NOT z x
        TTL z
        ",
    );
    let mut n = NotifyDiff::new("KEA");
    n.d.script(
        "
        set x abc px 1
        set z abc px 1
        set c abc px 1
        set w abc px 1
        set s abc px 1
        set b abc px 1
        ",
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    n.events(
        "
        setbit x 3 1
        bitfield z set u8 0 1
        bitfield c get u8 0
        getbit w 0
        bitop or s b
        ",
    );
}

#[test]
fn from_scripts_and_transactions() {
    let mut d = Diff::new();
    for args in [
        &["EVAL", "return redis.call('setbit', KEYS[1], 9, 1)", "1", "x"][..],
        &["EVAL", "return redis.call('bitfield', KEYS[1], 'overflow', 'fail', 'incrby', 'u8', 0, 300, 'get', 'u16', 0)", "1", "x"],
        &["EVAL", "return redis.call('bitfield_ro', KEYS[1], 'get', 'i8', 0)", "1", "x"],
        &["EVAL", "return redis.call('bitop', 'not', KEYS[1], KEYS[2])", "2", "z", "x"],
        &["EVAL", "return {redis.call('bitcount', KEYS[1]), redis.call('bitpos', KEYS[1], 0)}", "1", "z"],
        &["EVAL", "return redis.pcall('bitfield', KEYS[1], 'get', 'u64', 0)", "1", "z"],
        &["EVAL", "return redis.pcall('setbit', KEYS[1], -1, 0)", "1", "z"],
    ] {
        d.check(args);
    }
    d.script(
        "
        MULTI
        SETBIT y 0 1
        BITFIELD y GET u64 0
        BITFIELD y INCRBY u8 0 1
        GETBIT y 7
        EXEC
        ",
    );
}
