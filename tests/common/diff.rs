//! Helpers the differential tests (tests/diff_*.rs) share beyond `Diff::check`: loose comparison of
//! time-dependent replies, scripts that use it, RESP3 sessions, commands built from owned strings, and
//! small reply decoders.

use super::Diff;

/// The value of an integer reply (`:n\r\n`), or None for any other reply.
pub fn int_of(reply: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(reply).ok()?;
    s.strip_prefix(':')?.trim_end().parse().ok()
}

/// The bulk strings of a reply, in order (nested arrays flattened; headers, nulls and integers dropped).
pub fn bulks(reply: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(reply).into_owned();
    let lines: Vec<&str> = s.split("\r\n").collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with('$') && lines[i] != "$-1" {
            out.push(lines[i + 1].to_string());
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

impl Diff {
    /// Sends `args` to both; non-negative integer replies may differ by `tol`, anything else must
    /// match.
    pub fn check_near(&mut self, args: &[&str], tol: i64) {
        let ra = self.a.call(args);
        let rb = self.b.call(args);
        match (int_of(&ra), int_of(&rb)) {
            (Some(x), Some(y)) if x >= 0 && y >= 0 => assert!(
                (x - y).abs() <= tol,
                "{args:?}: rustis {y}, redis {x} (tolerance {tol})"
            ),
            _ => assert_eq!(
                String::from_utf8_lossy(&rb),
                String::from_utf8_lossy(&ra),
                "reply differs for {args:?} (left: rustis, right: redis)"
            ),
        }
    }

    /// Like `Diff::script` (one command per line, whitespace-separated, no quoting), with TTL-like
    /// replies compared within a tolerance (TTL and EXPIRETIME 1 s, PTTL and PEXPIRETIME 1000 ms) and
    /// KEYS and SMEMBERS compared unordered.
    pub fn script_loose(&mut self, script: &str) {
        for line in script
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let args: Vec<&str> = line.split_whitespace().collect();
            match args[0].to_ascii_uppercase().as_str() {
                "TTL" | "EXPIRETIME" => self.check_near(&args, 1),
                "PTTL" | "PEXPIRETIME" => self.check_near(&args, 1000),
                "KEYS" | "SMEMBERS" => self.check_unordered(&args),
                _ => {
                    self.check(&args);
                }
            }
        }
    }

    /// Makes both connections speak RESP3 (the HELLO replies differ by the client id only).
    pub fn resp3(&mut self) {
        let ra = String::from_utf8(self.a.call(&["HELLO", "3"])).unwrap();
        let rb = String::from_utf8(self.b.call(&["HELLO", "3"])).unwrap();
        assert!(ra.starts_with("%7\r\n") && rb.starts_with("%7\r\n"), "{rb}");
    }

    /// `Diff::check` for a command built from owned strings.
    pub fn check_owned(&mut self, args: &[String]) -> String {
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        self.check(&a)
    }
}
