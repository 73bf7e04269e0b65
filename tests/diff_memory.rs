//! MEMORY against a real redis-server: the replies a client parses (HELP, errors, option checks,
//! STATS' fields) are Redis's; the figures are ours, so they are checked for sense, not equality.

mod common;
use common::diff::int_of;
use common::Diff;

#[test]
fn help_errors_and_options() {
    let mut d = Diff::new();
    d.script(
        "
        SET a 1
        SET z 1
        MEMORY HELP
        MEMORY
        MEMORY FOO
        MEMORY HELP x
        MEMORY STATS x
        MEMORY DOCTOR x
        MEMORY PURGE x
        MEMORY MALLOC-STATS x
        MEMORY USAGE
        MEMORY USAGE nokey
        MEMORY USAGE a SAMPLES
        MEMORY USAGE a SAMPLES -1
        MEMORY USAGE a SAMPLES x
        MEMORY USAGE a SAMPLES 99999999999999999999
        MEMORY USAGE a FOO 1
        MEMORY USAGE nokey SAMPLES x
        MEMORY USAGE nokey SAMPLES 0
        MEMORY PURGE
        ",
    );
}

/// MEMORY STATS has Redis's fields in Redis's order, in RESP2 and RESP3.
#[test]
fn stats_fields() {
    let mut d = Diff::new();
    d.both(&["SET", "a", "1"]);
    d.both(&["SELECT", "3"]);
    d.both(&["SET", "z", "1"]);
    for resp3 in [false, true] {
        if resp3 {
            d.resp3();
        }
        let a = String::from_utf8_lossy(&d.a.call(&["MEMORY", "STATS"])).into_owned();
        let b = String::from_utf8_lossy(&d.b.call(&["MEMORY", "STATS"])).into_owned();
        // The names (and the nested db maps' shape) match; the numbers are each server's own.
        let shape = |s: &str| -> Vec<String> {
            s.split("\r\n")
                .filter(|l| {
                    l.starts_with('*')
                        || l.starts_with('%')
                        || l.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                })
                .map(str::to_string)
                .collect()
        };
        assert_eq!(shape(&b), shape(&a), "rustis:\n{b}\nredis:\n{a}");
    }
}

/// USAGE grows with what a value holds, for every type, on both workers.
#[test]
fn usage_tracks_size() {
    let mut d = Diff::new();
    for key in ["a", "z"] {
        let usage = |d: &mut Diff, k: &str| int_of(&d.b.call(&["MEMORY", "USAGE", k])).unwrap();
        d.b.call(&["SET", key, "x"]);
        let small = usage(&mut d, key);
        d.b.call(&["SET", key, &"x".repeat(10_000)]);
        let big = usage(&mut d, key);
        assert!(small > 0 && big >= small + 10_000, "{small} {big}");
        d.b.call(&["DEL", key]);
        for (add, ty) in [
            ("RPUSH", "list"),
            ("SADD", "set"),
            ("ZADD", "zset"),
            ("HSET", "hash"),
        ] {
            d.b.call(&["DEL", key]);
            let mut n = 0;
            let mut sizes = Vec::new();
            for step in [10, 100, 1000] {
                while n < step {
                    let m = format!("member-{n:06}-{}", "p".repeat(20));
                    let args: Vec<&str> = match add {
                        "ZADD" | "HSET" if add == "ZADD" => vec![add, key, "1", &m],
                        "HSET" => vec![add, key, &m, "value-value-value"],
                        _ => vec![add, key, &m],
                    };
                    d.b.call(&args);
                    n += 1;
                }
                sizes.push(usage(&mut d, key));
                let all = int_of(&d.b.call(&["MEMORY", "USAGE", key, "SAMPLES", "0"])).unwrap();
                // Members are alike: the 5-sample estimate is close to the exact walk.
                assert!(
                    all.abs_diff(*sizes.last().unwrap()) * 10 <= all as u64,
                    "{ty}"
                );
            }
            assert!(
                sizes[0] < sizes[1] && sizes[1] < sizes[2],
                "{ty}: {sizes:?}"
            );
            // At least the members' bytes.
            assert!(sizes[2] >= 1000 * 27, "{ty}: {sizes:?}");
        }
    }
}

#[test]
fn doctor_and_malloc_stats_answer() {
    let mut d = Diff::new();
    let doc = String::from_utf8_lossy(&d.b.call(&["MEMORY", "DOCTOR"])).into_owned();
    assert!(doc.starts_with('$') && doc.contains("Sam"), "{doc}");
    let stats = String::from_utf8_lossy(&d.b.call(&["MEMORY", "MALLOC-STATS"])).into_owned();
    assert!(
        stats.starts_with('$') && stats.contains("subproc"),
        "{stats}"
    );
}
