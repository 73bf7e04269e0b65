//! Differential tests of MONITOR against redis-server 7.0: the lines a monitor receives for other
//! clients' commands (on keys of both workers, across SELECT, inside MULTI/EXEC, from a script,
//! with arguments that need quoting), which commands are hidden (admin ones), MONITOR inside
//! MULTI, and RESET leaving monitor mode. Timestamps and client addresses are blanked out; the
//! monitor reads up to a sentinel command, so nothing is timed.

mod common;
use common::{start_redis, start_rustis, Conn};

/// A monitor line without its timestamp and address: `[db] "arg" ...`.
fn strip(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line).into_owned();
    let s = s.trim_end_matches("\r\n");
    match (s.find('['), s.find(']')) {
        (Some(a), Some(b)) if a < b => {
            let inside = &s[a + 1..b];
            let db = inside.split(' ').next().unwrap_or("");
            let by = if inside.ends_with(" lua") { " lua" } else { "" };
            format!("[{db}{by}]{}", &s[b + 1..])
        }
        _ => s.to_string(),
    }
}

/// The lines a monitor got up to the `echo sentinel` line (included).
fn lines(m: &mut Conn) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let l = strip(&m.read_reply());
        let end = l.ends_with("\"echo\" \"sentinel\"");
        out.push(l);
        if end {
            return out;
        }
    }
}

fn run(port: u16, script: &[&[&str]]) -> Vec<String> {
    let mut m = Conn::new(port);
    assert_eq!(m.call(&["monitor"]), b"+OK\r\n");
    let mut c = Conn::new(port);
    for args in script {
        c.call(args);
    }
    c.call(&["echo", "sentinel"]);
    lines(&mut m)
}

#[test]
fn monitor_sees_what_redis_shows() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let script: &[&[&str]] = &[
        &["set", "x", "1"],
        &[
            "set",
            "z",
            "with \"quotes\" and \\ and \n\t\r\x07\x08 and \x01\x7f\u{e9}",
        ],
        &["mget", "x", "z"],
        &["config", "get", "maxmemory"],
        &["select", "2"],
        &["set", "x", "in db 2"],
        &["select", "0"],
        &["multi"],
        &["incr", "n"],
        &["get", "z"],
        &["exec"],
        &[
            "eval",
            "redis.call('set', KEYS[1], 'v') return redis.call('get', KEYS[1])",
            "1",
            "x",
        ],
        &["client", "list"],
        &["debug-not-a-command"],
        &["ping"],
        &["del", "x", "z", "n"],
    ];
    let (a, b) = (run(redis.port, script), run(rustis.port, script));
    assert_eq!(b, a, "(left: rustis, right: redis)");
}

#[test]
fn monitor_refused_in_multi_and_left_by_reset() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    for port in [redis.port, rustis.port] {
        let mut c = Conn::new(port);
        c.call(&["multi"]);
        assert_eq!(c.call(&["monitor"]), b"+QUEUED\r\n");
        let r = c.call(&["exec"]);
        assert_eq!(
            String::from_utf8_lossy(&r),
            "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n",
            "port {port}"
        );
        let mut m = Conn::new(port);
        m.call(&["monitor"]);
        m.send(&[b"monitor"]);
        assert_eq!(
            m.call(&["reset"]),
            b"+RESET\r\n",
            "MONITOR twice answers nothing"
        );
        let mut other = Conn::new(port);
        other.call(&["set", "after", "reset"]);
        // No line came for that SET: the next reply is PING's.
        assert_eq!(m.call(&["ping"]), b"+PONG\r\n", "port {port}");
    }
}
