//! What monitoring tools read, against a real redis-server: INFO's field names section by section,
//! command and error statistics after a known sequence of commands, the instantaneous metrics under
//! load, the memory peak, and the replies of the LATENCY family.

mod common;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{owner, Conn, Diff};

/// Fields redis-server 7.0 shows that Rustis cannot report, each with the reason. Every other field
/// Redis shows must be in Rustis's reply. (Empty today: the features Rustis lacks report what Redis
/// reports when they are idle, and everything else has a real value. Keep the reason when adding one.)
const NOT_APPLICABLE: &[(&str, &str)] = &[];

/// Fields Rustis adds to Redis's, and why.
const RUSTIS_ONLY: &[(&str, &str)] = &[
    (
        "rustis_version",
        "Rustis's own version, beside redis_version",
    ),
    (
        "rustis_workers",
        "the number of worker threads (Redis has one)",
    ),
    (
        "rustis_commands_borrowed",
        "commands run on a parked owner's shard by the connection's worker",
    ),
    (
        "rustis_commands_forwarded",
        "commands sent to the worker owning their keys",
    ),
    (
        "rustis_scripts_wide_runs",
        "script runs that took every shard because the script reached keys it did not declare",
    ),
];

/// The sections compared, as INFO takes them.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
    "commandstats",
    "latencystats",
    "everything",
];

/// The text of an INFO reply (bulk or verbatim string).
fn info_text(reply: &[u8]) -> String {
    let s = String::from_utf8_lossy(reply).into_owned();
    let body = s.split_once("\r\n").map(|(_, b)| b).unwrap_or("");
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

/// Section titles and `name:value` fields of an INFO text, in order.
fn parse(text: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut titles = Vec::new();
    let mut fields = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if let Some(t) = line.strip_prefix("# ") {
            titles.push(t.to_string());
        } else if let Some((k, v)) = line.split_once(':') {
            fields.push((k.to_string(), v.to_string()));
        }
    }
    (titles, fields)
}

fn info(c: &mut Conn, section: &str) -> (Vec<String>, Vec<(String, String)>) {
    parse(&info_text(&c.call(&["INFO", section])))
}

/// A key of each worker of a 2-worker Rustis, so that the sequence crosses workers.
fn keys_on_both_workers() -> (String, String) {
    let k0 = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| owner(k, 2) == 0)
        .unwrap();
    let k1 = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| owner(k, 2) == 1)
        .unwrap();
    (k0, k1)
}

/// Commands run on both servers before the field names are compared and the statistics checked:
/// successes, a rejected command (arity), failures of several kinds, an unknown command, unknown
/// and rejected sub-commands, fan-out, broadcast and coordinated commands across workers.
fn known_sequence(a: &str, b: &str) -> Vec<Vec<String>> {
    let script = [
        "SET A v",
        "GET A",
        "GET",
        "LPUSH A x",
        "INCR A",
        "NOSUCHCOMMAND x y",
        "CONFIG GET",
        "CONFIG NOSUCHSUB",
        "CONFIG SET nosuchparam 1",
        "CONFIG GET maxclients",
        "OBJECT ENCODING A",
        "OBJECT ENCODING",
        "OBJECT NOSUCHSUB A",
        "CLIENT",
        "CLIENT ID",
        "HELLO 4",
        "MSET A 1 B 2",
        "MSET A 1 B",
        "MGET A B nosuch",
        "DEL A B",
        "SET A v",
        "RENAME nosuch B",
        "RENAME A B",
        "DBSIZE",
        "SWAPDB 0 99",
        "FLUSHALL BADARG",
        "SCAN 0",
        "EXPIRE B abc",
        "ZADD z 1 m",
        "ZINCRBY z x m",
        "PING",
        "ECHO",
        "LATENCY LATEST",
        "LATENCY NOSUCHSUB",
        "LATENCY HISTORY",
        "COMMAND COUNT",
    ];
    script
        .iter()
        .map(|l| {
            l.split_whitespace()
                .map(|w| match w {
                    "A" => a.to_string(),
                    "B" => b.to_string(),
                    w => w.to_string(),
                })
                .collect()
        })
        .collect()
}

fn run_known_sequence(d: &mut Diff) {
    let (a, b) = keys_on_both_workers();
    for cmd in known_sequence(&a, &b) {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        // Replies that differ by nature: client ids, the command count, SCAN cursors.
        if matches!(args[0], "COMMAND" | "SCAN") || args.starts_with(&["CLIENT", "ID"]) {
            d.both(&args);
        } else {
            d.check(&args);
        }
    }
}

#[test]
fn info_field_names_match_redis_section_by_section() {
    let mut d = Diff::new();
    d.check(&["FLUSHALL"]);
    run_known_sequence(&mut d);
    let allowed = |name: &str| NOT_APPLICABLE.iter().any(|(n, _)| *n == name);
    for section in SECTIONS {
        let (redis_titles, redis) = info(&mut d.a, section);
        let (rustis_titles, rustis) = info(&mut d.b, section);
        assert_eq!(
            rustis_titles, redis_titles,
            "INFO {section}: section titles (left: rustis, right: redis)"
        );
        let mine: Vec<&str> = rustis.iter().map(|(k, _)| k.as_str()).collect();
        let missing: Vec<&str> = redis
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !mine.contains(k) && !allowed(k))
            .collect();
        assert!(
            missing.is_empty(),
            "INFO {section}: fields redis-server shows and Rustis does not: {missing:?}"
        );
        let theirs: Vec<&str> = redis.iter().map(|(k, _)| k.as_str()).collect();
        let extra: Vec<&str> = mine
            .iter()
            .copied()
            .filter(|k| !theirs.contains(k) && !RUSTIS_ONLY.iter().any(|(n, _)| n == k))
            .collect();
        assert!(
            extra.is_empty(),
            "INFO {section}: fields Rustis shows and redis-server does not: {extra:?}"
        );
    }
    for (name, _) in NOT_APPLICABLE {
        let (_, rustis) = info(&mut d.b, "everything");
        assert!(
            !rustis.iter().any(|(k, _)| k == name),
            "{name} is reported now: take it off NOT_APPLICABLE"
        );
    }
}

/// `calls`, `rejected_calls` and `failed_calls` of each cmdstat line (the times differ by nature).
fn call_counts(fields: &[(String, String)]) -> BTreeMap<String, String> {
    fields
        .iter()
        .filter(|(k, _)| k.starts_with("cmdstat_"))
        .map(|(k, v)| {
            let kept: Vec<&str> = v
                .split(',')
                .filter(|p| {
                    p.starts_with("calls=")
                        || p.starts_with("rejected_calls=")
                        || p.starts_with("failed_calls=")
                })
                .collect();
            (k.clone(), kept.join(","))
        })
        .collect()
}

fn stat(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn command_and_error_statistics_match_redis() {
    let mut d = Diff::new();
    d.check(&["FLUSHALL"]);
    d.check(&["CONFIG", "RESETSTAT"]);
    run_known_sequence(&mut d);
    let (_, redis) = info(&mut d.a, "commandstats");
    let (_, rustis) = info(&mut d.b, "commandstats");
    assert_eq!(
        call_counts(&rustis),
        call_counts(&redis),
        "cmdstat calls/rejected/failed (left: rustis, right: redis)"
    );
    let (_, redis) = info(&mut d.a, "errorstats");
    let (_, rustis) = info(&mut d.b, "errorstats");
    let sorted = |mut v: Vec<(String, String)>| {
        v.sort();
        v
    };
    assert_eq!(sorted(rustis), sorted(redis), "errorstats");
    let (_, redis) = info(&mut d.a, "stats");
    let (_, rustis) = info(&mut d.b, "stats");
    for name in ["total_error_replies", "total_commands_processed"] {
        assert_eq!(stat(&rustis, name), stat(&redis, name), "{name}");
    }
    // Latencystats lists the same commands with the configured percentiles.
    let names = |f: Vec<(String, String)>| -> Vec<(String, Vec<String>)> {
        let mut v: Vec<(String, Vec<String>)> = f
            .into_iter()
            .map(|(k, v)| {
                let keys = v
                    .split(',')
                    .map(|p| p.split('=').next().unwrap_or("").to_string())
                    .collect();
                (k, keys)
            })
            .collect();
        v.sort();
        v
    };
    d.check(&[
        "CONFIG",
        "SET",
        "latency-tracking-info-percentiles",
        "1e1 99.99999 00.5",
    ]);
    d.check(&["CONFIG", "GET", "latency-tracking-info-percentiles"]);
    let (_, redis) = info(&mut d.a, "latencystats");
    let (_, rustis) = info(&mut d.b, "latencystats");
    assert_eq!(names(rustis), names(redis), "latencystats");
    for bad in ["abc", "101", "50  99", ""] {
        d.check(&["CONFIG", "SET", "latency-tracking-info-percentiles", bad]);
    }
    d.check(&["CONFIG", "SET", "latency-tracking", "maybe"]);
    // CONFIG RESETSTAT starts command, error and latency statistics again from zero.
    d.check(&["CONFIG", "RESETSTAT"]);
    for section in ["commandstats", "errorstats"] {
        let (_, redis) = info(&mut d.a, section);
        let (_, rustis) = info(&mut d.b, section);
        assert_eq!(
            call_counts(&rustis),
            call_counts(&redis),
            "{section} after reset"
        );
        if section == "errorstats" {
            assert!(rustis.is_empty(), "{rustis:?}");
        }
    }
    let (_, rustis) = info(&mut d.b, "stats");
    assert_eq!(stat(&rustis, "total_error_replies"), "0");
    assert_ne!(stat(&rustis, "total_reads_processed"), "0");
}

#[test]
fn instantaneous_ops_per_sec_rises_under_load() {
    let rustis = common::start_rustis(2);
    let port = rustis.port;
    let mut probe = Conn::new(port);
    let (_, idle) = info(&mut probe, "stats");
    assert_ne!(stat(&idle, "total_reads_processed"), "0");
    // A bounded load: 40 rounds of 150 pipelined PINGs, about 25 ms apart (6000 PINGs over ~1 s).
    let load = std::thread::spawn(move || {
        let mut c = Conn::new(port);
        let batch: Vec<u8> = b"*1\r\n$4\r\nPING\r\n".repeat(150);
        for _ in 0..40 {
            c.send_raw(&batch);
            for _ in 0..150 {
                assert_eq!(c.read_reply(), b"+PONG\r\n");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    });
    let mut seen = (0u64, 0f64, 0f64);
    while !load.is_finished() {
        let (_, f) = info(&mut probe, "stats");
        let ops: u64 = stat(&f, "instantaneous_ops_per_sec").parse().unwrap();
        let kin: f64 = stat(&f, "instantaneous_input_kbps").parse().unwrap();
        let kout: f64 = stat(&f, "instantaneous_output_kbps").parse().unwrap();
        seen = (seen.0.max(ops), seen.1.max(kin), seen.2.max(kout));
        std::thread::sleep(Duration::from_millis(100));
    }
    load.join().unwrap();
    assert!(seen.0 > 0, "instantaneous_ops_per_sec stayed 0 under load");
    assert!(
        seen.1 > 0.0 && seen.2 > 0.0,
        "instantaneous kbps stayed 0: {seen:?}"
    );
    let (_, f) = info(&mut probe, "stats");
    let writes: u64 = stat(&f, "total_writes_processed").parse().unwrap();
    let reads: u64 = stat(&f, "total_reads_processed").parse().unwrap();
    assert!(reads >= 40 && writes >= 40, "reads {reads} writes {writes}");
}

/// The Rustis binary as a child process (its counting allocator is what `used_memory` reports).
struct Binary(Child, u16);

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_binary() -> Binary {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rustis"))
        .args(["--save", "", "--dir", &common::test_dir("diff-info")])
        .args(["--port", "0", "--threads", "2", "--loglevel", "notice"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the rustis binary");
    let out = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .expect("startup line");
    let port = line
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    Binary(child, port)
}

fn memory(c: &mut Conn) -> BTreeMap<String, String> {
    info(c, "memory").1.into_iter().collect()
}

fn num(m: &BTreeMap<String, String>, k: &str) -> u64 {
    m[k].parse().unwrap_or_else(|_| panic!("{k}: {}", m[k]))
}

#[test]
fn used_memory_peak_stays_after_a_big_value_is_deleted() {
    let server = start_binary();
    let mut c = Conn::new(server.1);
    let before = memory(&mut c);
    let big = vec![b'x'; 8 << 20];
    c.send(&[b"SET", b"big", &big]);
    assert_eq!(c.read_reply(), b"+OK\r\n");
    let with = memory(&mut c);
    assert!(
        num(&with, "used_memory") >= num(&before, "used_memory") + (8 << 20),
        "{with:?}"
    );
    assert_eq!(c.call(&["DEL", "big"]), b":1\r\n");
    let after = memory(&mut c);
    let (used, peak) = (num(&after, "used_memory"), num(&after, "used_memory_peak"));
    assert!(used < num(&with, "used_memory"), "{after:?}");
    assert!(
        peak >= num(&with, "used_memory") && peak >= used,
        "{after:?}"
    );
    assert!(after["used_memory_peak_human"].ends_with('M'), "{after:?}");
    assert!(after["used_memory_peak_perc"].ends_with('%'), "{after:?}");
    let startup = num(&after, "used_memory_startup");
    let overhead = num(&after, "used_memory_overhead");
    assert!(
        startup > 0 && overhead >= startup && overhead <= used,
        "{after:?}"
    );
    assert_eq!(num(&after, "used_memory_dataset"), used - overhead);
    // The peak is not reset by CONFIG RESETSTAT (Redis 7.0 keeps it too).
    assert_eq!(c.call(&["CONFIG", "RESETSTAT"]), b"+OK\r\n");
    assert!(num(&memory(&mut c), "used_memory_peak") >= peak);
}

/// Replaces every integer reply by `:N` (times and latencies differ by nature).
fn masked(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply)
        .split("\r\n")
        .map(|l| match l.strip_prefix(':') {
            Some(n) if n.parse::<i64>().is_ok() => ":N",
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Runs a command that takes well over 1 ms (a glob that never matches, over 200k keys) until the
/// latency monitor has an event, at most 20 times.
fn until_an_event(c: &mut Conn) {
    for _ in 0..20 {
        c.call(&["KEYS", "*a*b*c*d*e*f*"]);
        if c.call(&["LATENCY", "LATEST"]) != b"*0\r\n" {
            return;
        }
    }
    panic!("no latency event recorded");
}

fn populate(c: &mut Conn) {
    for chunk in 0..200 {
        let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
        for i in 0..1000 {
            args.push(format!("key:{chunk}:{i}").into_bytes());
            args.push(b"v".to_vec());
        }
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        c.send(&refs);
    }
    for _ in 0..200 {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
}

#[test]
fn latency_replies_match_redis() {
    let mut d = Diff::new();
    d.check(&["FLUSHALL"]);
    // Nothing recorded: LATEST is an empty array (redis_exporter calls it at every scrape).
    d.check(&["LATENCY", "LATEST"]);
    d.check(&["LATENCY", "HISTORY", "command"]);
    d.check(&["LATENCY", "RESET"]);
    d.check(&["LATENCY", "HELP"]);
    d.check(&["LATENCY", "DOCTOR"]);
    d.check(&["LATENCY", "GRAPH", "command"]);
    d.check(&["LATENCY", "LATEST", "extra"]);
    d.check(&["LATENCY", "RESET", "a", "b"]);
    populate(&mut d.a);
    populate(&mut d.b);
    // From here on, one slow command makes one sample on each server.
    d.check(&["CONFIG", "SET", "latency-monitor-threshold", "1"]);
    d.check(&["CONFIG", "GET", "latency-monitor-threshold"]);
    until_an_event(&mut d.a);
    until_an_event(&mut d.b);
    for args in [
        &["LATENCY", "LATEST"][..],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "HISTORY", "COMMAND"],
        &["LATENCY", "HISTORY", "nosuch"],
    ] {
        let ra = masked(&d.a.call(args));
        let rb = masked(&d.b.call(args));
        assert_eq!(rb, ra, "{args:?} (left: rustis, right: redis)");
    }
    let doctor = String::from_utf8(d.b.call(&["LATENCY", "DOCTOR"])).unwrap();
    assert!(doctor.contains("1. command: 1 latency spikes"), "{doctor}");
    let graph = String::from_utf8(d.b.call(&["LATENCY", "GRAPH", "command"])).unwrap();
    assert!(graph.contains("command - high "), "{graph}");
    // RESET with names counts the events reset, any case, each name once.
    d.check(&["LATENCY", "RESET", "COMMAND", "command"]);
    d.check(&["LATENCY", "LATEST"]);
    d.check(&["LATENCY", "RESET"]);
    d.check(&["CONFIG", "SET", "latency-monitor-threshold", "0"]);
    // HISTOGRAM: calls and cumulative buckets per command, sub-commands by full name.
    d.check(&["CONFIG", "RESETSTAT"]);
    d.check(&["SET", "x", "1"]);
    d.check(&["CONFIG", "GET", "maxclients"]);
    for args in [
        &["LATENCY", "HISTOGRAM", "set"][..],
        &["LATENCY", "HISTOGRAM", "config|get"],
        &["LATENCY", "HISTOGRAM", "nosuch", "get"],
    ] {
        let ra = masked(&d.a.call(args));
        let rb = masked(&d.b.call(args));
        assert_eq!(rb, ra, "{args:?} (left: rustis, right: redis)");
    }
    d.both(&["HELLO", "3"]);
    let ra = masked(&d.a.call(&["LATENCY", "HISTOGRAM", "set"]));
    let rb = masked(&d.b.call(&["LATENCY", "HISTOGRAM", "set"]));
    assert_eq!(rb, ra, "RESP3 histogram");
}
