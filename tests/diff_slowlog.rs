//! Differential tests of SLOWLOG against redis-server 7.0: with `slowlog-log-slower-than 0`
//! every command is logged; the entries' ids, arguments (at most 32, each cut to 128 bytes, as
//! Redis notes what was left out) and client names must match, newest first, with GET's count,
//! LEN, RESET, `slowlog-max-len`, a negative threshold, commands run inside EXEC, commands on
//! keys of both workers, and the argument errors. Times, durations and addresses are not
//! compared.

mod common;
use common::Diff;

/// One decoded reply.
#[derive(Debug, PartialEq)]
enum V {
    Int(i64),
    Bulk(String),
    Array(Vec<V>),
    Other(String),
}

fn parse(lines: &mut std::slice::Iter<&str>) -> V {
    let l = lines.next().expect("truncated reply");
    match l.as_bytes()[0] {
        b':' => V::Int(l[1..].parse().unwrap()),
        b'$' => V::Bulk(lines.next().unwrap().to_string()),
        b'*' => V::Array(
            (0..l[1..].parse::<usize>().unwrap())
                .map(|_| parse(lines))
                .collect(),
        ),
        _ => V::Other(l.to_string()),
    }
}

/// SLOWLOG GET's reply with each entry's time, duration and peer blanked out.
fn entries(reply: &str) -> V {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    let mut it = lines.iter();
    match parse(&mut it) {
        V::Array(es) => V::Array(
            es.into_iter()
                .map(|e| match e {
                    V::Array(mut f) if f.len() == 6 => {
                        f[1] = V::Int(0);
                        f[2] = V::Int(0);
                        f[4] = V::Bulk("peer".into());
                        V::Array(f)
                    }
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

fn get(d: &mut Diff, args: &[&str]) {
    let a = String::from_utf8_lossy(&d.a.call(args)).into_owned();
    let b = String::from_utf8_lossy(&d.b.call(args)).into_owned();
    assert_eq!(
        entries(&b),
        entries(&a),
        "{args:?} (left: rustis, right: redis)"
    );
}

#[test]
fn every_command_logged_with_threshold_zero() {
    let mut d = Diff::new();
    d.check(&["config", "set", "slowlog-log-slower-than", "0"]);
    d.check(&["client", "setname", "logger"]);
    d.check(&["set", "x", "1"]);
    d.check(&["set", "z", "2"]);
    d.check(&["mget", "x", "z"]);
    let big = "v".repeat(200);
    d.check(&["set", "y", &big]);
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut cmd = vec!["rpush", "l"];
    cmd.extend(many.iter().map(String::as_str));
    d.check(&cmd);
    d.check(&["multi"]);
    d.check(&["incr", "n"]);
    d.check(&["get", "z"]);
    d.check(&["exec"]);
    d.check(&["slowlog", "len"]);
    get(&mut d, &["slowlog", "get"]);
    get(&mut d, &["slowlog", "get", "3"]);
    get(&mut d, &["slowlog", "get", "-1"]);
    get(&mut d, &["slowlog", "get", "0"]);
    d.check(&["slowlog", "get", "-2"]);
    d.check(&["slowlog", "get", "x"]);
    d.check(&["slowlog", "get", "1", "2"]);
    d.check(&["slowlog", "len", "x"]);
    d.check(&["slowlog", "nope"]);
    d.check(&["slowlog", "help"]);
    d.check(&["slowlog", "reset"]);
    d.check(&["slowlog", "len"]);
    get(&mut d, &["slowlog", "get"]);
}

#[test]
fn max_len_and_a_negative_threshold() {
    let mut d = Diff::new();
    d.check(&["config", "set", "slowlog-max-len", "3"]);
    d.check(&["config", "set", "slowlog-log-slower-than", "0"]);
    for i in 0..6 {
        d.check(&["set", "x", &i.to_string()]);
    }
    d.check(&["slowlog", "len"]);
    get(&mut d, &["slowlog", "get", "-1"]);
    d.check(&["config", "set", "slowlog-log-slower-than", "-1"]);
    d.check(&["slowlog", "reset"]);
    d.check(&["set", "x", "1"]);
    d.check(&["slowlog", "len"]);
    // The default threshold (10 ms): quick commands are not logged.
    d.check(&["config", "set", "slowlog-log-slower-than", "10000"]);
    d.check(&["get", "x"]);
    d.check(&["slowlog", "len"]);
}
