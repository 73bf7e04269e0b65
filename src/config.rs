//! Every setting: the command line (clap) and the runtime parameters CONFIG GET/SET see.
//!
//! Runtime parameters use Redis's names. Hot ones (limits read per request) are mirrored in atomics so
//! the event loops never take the lock; the rest live behind a mutex touched only by CONFIG.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use clap::Parser;

/// Command-line options.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "rustis",
    version,
    about = "A Redis-compatible in-memory key-value server: one event loop per core."
)]
pub struct Cli {
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 6379)]
    pub port: u16,
    /// Address to bind (IPv4 or IPv6).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Worker threads, one event loop and one keyspace shard each (default: available cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Maximum simultaneous clients; the open-file limit is raised to fit.
    #[arg(long, default_value_t = 10000)]
    pub maxclients: usize,
    /// Number of logical databases (SELECT 0..N-1).
    #[arg(long, default_value_t = 16)]
    pub databases: usize,
    /// Log verbosity: debug, verbose, notice or warning.
    #[arg(long, default_value = "notice", value_parser = ["debug", "verbose", "notice", "warning", "nothing"])]
    pub loglevel: String,
}

impl Cli {
    /// The worker count: `--threads`, or the cores available to this process.
    pub fn worker_count(&self) -> usize {
        self.threads
            .filter(|&n| n > 0)
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            })
            .min(256)
    }
}

/// How a parameter's value is validated and shown.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// An integer within bounds.
    Int(i64, i64),
    /// A byte size; accepts `1gb`, `512mb`, `64kb`, `100b`.
    Memory,
    /// `yes` or `no`.
    Bool,
    /// One of the listed words.
    Enum(&'static [&'static str]),
    /// Free text.
    Text,
    /// Space-separated percentiles between 0 and 100 (latency-tracking-info-percentiles), stored as
    /// Redis prints them (`%f` without trailing zeros).
    Percentiles,
    /// Shown but not changeable at runtime.
    Immutable,
}

/// Parameters: name, default, kind. Encoding tunables are accepted and remembered (they only change
/// what OBJECT ENCODING reports).
const PARAMS: &[(&str, &str, Kind)] = &[
    ("bind", "127.0.0.1", Kind::Immutable),
    ("port", "6379", Kind::Immutable),
    ("databases", "16", Kind::Immutable),
    ("maxclients", "10000", Kind::Int(1, 1_000_000)),
    (
        "loglevel",
        "notice",
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
    ),
    ("proto-max-bulk-len", "536870912", Kind::Memory),
    ("client-query-buffer-limit", "1073741824", Kind::Memory),
    ("hz", "10", Kind::Int(1, 500)),
    ("maxmemory", "0", Kind::Memory),
    (
        "maxmemory-policy",
        "noeviction",
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
    ),
    ("maxmemory-samples", "5", Kind::Int(1, 64)),
    ("timeout", "0", Kind::Int(0, i32::MAX as i64)),
    ("tcp-keepalive", "300", Kind::Int(0, i32::MAX as i64)),
    ("tcp-backlog", "511", Kind::Immutable),
    ("save", "", Kind::Text),
    ("appendonly", "no", Kind::Bool),
    (
        "appendfsync",
        "everysec",
        Kind::Enum(&["always", "everysec", "no"]),
    ),
    ("dir", "/tmp", Kind::Text),
    ("dbfilename", "dump.rdb", Kind::Text),
    ("requirepass", "", Kind::Text),
    ("protected-mode", "yes", Kind::Bool),
    ("io-threads", "1", Kind::Immutable),
    ("activerehashing", "yes", Kind::Bool),
    ("active-expire-effort", "1", Kind::Int(1, 10)),
    ("lazyfree-lazy-eviction", "no", Kind::Bool),
    ("lazyfree-lazy-expire", "no", Kind::Bool),
    ("lazyfree-lazy-server-del", "no", Kind::Bool),
    ("lazyfree-lazy-user-del", "no", Kind::Bool),
    ("lazyfree-lazy-user-flush", "no", Kind::Bool),
    ("notify-keyspace-events", "", Kind::Text),
    ("slowlog-log-slower-than", "10000", Kind::Int(-1, i64::MAX)),
    ("slowlog-max-len", "128", Kind::Int(0, i64::MAX)),
    ("latency-monitor-threshold", "0", Kind::Int(0, i64::MAX)),
    ("latency-tracking", "yes", Kind::Bool),
    (
        "latency-tracking-info-percentiles",
        "50 99 99.9",
        Kind::Percentiles,
    ),
    ("busy-reply-threshold", "5000", Kind::Int(0, i64::MAX)),
    ("lua-time-limit", "5000", Kind::Int(0, i64::MAX)),
    (
        "list-max-listpack-size",
        "-2",
        Kind::Int(i32::MIN as i64, i32::MAX as i64),
    ),
    (
        "list-max-ziplist-size",
        "-2",
        Kind::Int(i32::MIN as i64, i32::MAX as i64),
    ),
    ("list-compress-depth", "0", Kind::Int(0, i32::MAX as i64)),
    ("set-max-intset-entries", "512", Kind::Int(0, i64::MAX)),
    ("hash-max-listpack-entries", "512", Kind::Int(0, i64::MAX)),
    ("hash-max-ziplist-entries", "512", Kind::Int(0, i64::MAX)),
    ("hash-max-listpack-value", "64", Kind::Int(0, i64::MAX)),
    ("hash-max-ziplist-value", "64", Kind::Int(0, i64::MAX)),
    ("zset-max-listpack-entries", "128", Kind::Int(0, i64::MAX)),
    ("zset-max-ziplist-entries", "128", Kind::Int(0, i64::MAX)),
    ("zset-max-listpack-value", "64", Kind::Int(0, i64::MAX)),
    ("zset-max-ziplist-value", "64", Kind::Int(0, i64::MAX)),
    ("stream-node-max-bytes", "4096", Kind::Memory),
    ("stream-node-max-entries", "100", Kind::Int(0, i64::MAX)),
    ("hll-sparse-max-bytes", "3000", Kind::Memory),
];

/// Pairs of parameters that are one setting under two names (Redis's old ziplist names).
const ALIASES: &[(&str, &str)] = &[
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("lua-time-limit", "busy-reply-threshold"),
];

/// Parses a Redis memory size: digits with an optional b/k/kb/m/mb/g/gb suffix (any case).
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let (digits, mul) = [
        ("gb", 1i64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, m)| lower.strip_suffix(suf).map(|d| (d.to_string(), *m)))
    .unwrap_or((lower.clone(), 1));
    let n: i64 = digits.parse().ok()?;
    if n < 0 {
        return None;
    }
    n.checked_mul(mul)
}

/// A percentile as Redis prints it (latency-tracking-info-percentiles, INFO latencystats): `%f`
/// without its trailing zeros and point.
pub fn format_percentile(p: f64) -> String {
    let s = format!("{p:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The percentiles of a stored latency-tracking-info-percentiles value, with their printed names.
pub fn percentiles(v: &str) -> Vec<(f64, String)> {
    v.split(' ')
        .filter_map(|p| p.parse().ok())
        .map(|p| (p, format_percentile(p)))
        .collect()
}

/// The runtime parameters, shared by all workers.
pub struct Params {
    values: Mutex<Vec<String>>,
    /// Bumped on every change so workers refresh their cached copies once per loop iteration.
    pub epoch: AtomicU64,
    /// proto-max-bulk-len, read per request.
    pub proto_max_bulk_len: AtomicU64,
    /// client-query-buffer-limit, read per read.
    pub query_buffer_limit: AtomicU64,
    /// maxclients.
    pub maxclients: AtomicU64,
    /// latency-monitor-threshold (ms; 0 disables the monitor), read per command.
    pub latency_monitor_threshold: AtomicU64,
    /// latency-tracking (per-command latency histograms), read per command.
    pub latency_tracking: AtomicBool,
}

/// Why CONFIG SET refused a value.
#[derive(Debug)]
pub enum SetError {
    /// No such parameter.
    Unknown(String),
    /// The parameter exists but cannot be changed or the value is invalid; carries Redis's reason.
    Invalid(String, String),
}

/// The index of a parameter by name (case-insensitive).
fn index_of(name: &str) -> Option<usize> {
    PARAMS
        .iter()
        .position(|(n, _, _)| n.eq_ignore_ascii_case(name))
}

impl Params {
    /// Defaults, overridden by the command line.
    pub fn new(cli: &Cli) -> Self {
        let mut values: Vec<String> = PARAMS.iter().map(|(_, d, _)| d.to_string()).collect();
        let mut put = |name: &str, v: String| {
            if let Some(i) = index_of(name) {
                values[i] = v;
            }
        };
        put("bind", cli.bind.clone());
        put("port", cli.port.to_string());
        put("databases", cli.databases.to_string());
        put("maxclients", cli.maxclients.to_string());
        put("loglevel", cli.loglevel.clone());
        Params {
            values: Mutex::new(values),
            epoch: AtomicU64::new(0),
            proto_max_bulk_len: AtomicU64::new(512 << 20),
            query_buffer_limit: AtomicU64::new(1 << 30),
            maxclients: AtomicU64::new(cli.maxclients as u64),
            latency_monitor_threshold: AtomicU64::new(0),
            latency_tracking: AtomicBool::new(true),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current value of `name`.
    pub fn get(&self, name: &str) -> Option<String> {
        let i = index_of(name)?;
        Some(self.lock()[i].clone())
    }

    /// The current value of `name` as an integer (0 if unset or not a number).
    pub fn get_i64(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// Every (name, value) whose name matches the glob `pattern`, in table order.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let values = self.lock();
        PARAMS
            .iter()
            .zip(values.iter())
            .filter(|((n, _, _), _)| {
                crate::command::keyspace::glob_match(pattern, n.as_bytes(), true)
            })
            .map(|((n, _, _), v)| (*n, v.clone()))
            .collect()
    }

    /// Validates and normalises `value` for parameter `name`; returns the index and the stored form.
    pub fn validate(&self, name: &str, value: &str) -> Result<(usize, String), SetError> {
        let i = index_of(name).ok_or_else(|| SetError::Unknown(name.to_string()))?;
        let (pname, _, kind) = PARAMS[i];
        let invalid = |why: &str| SetError::Invalid(pname.to_string(), why.to_string());
        let stored = match kind {
            Kind::Immutable => return Err(invalid("can't set immutable config")),
            Kind::Int(lo, hi) => {
                let n: i64 = value
                    .parse()
                    .map_err(|_| invalid("argument couldn't be parsed into an integer"))?;
                if n < lo || n > hi {
                    return Err(invalid(&format!(
                        "argument must be between {lo} and {hi} inclusive"
                    )));
                }
                n.to_string()
            }
            Kind::Memory => parse_memory(value)
                .ok_or_else(|| invalid("argument must be a memory value"))?
                .to_string(),
            Kind::Bool => match value.to_ascii_lowercase().as_str() {
                "yes" | "no" => value.to_ascii_lowercase(),
                _ => return Err(invalid("argument must be 'yes' or 'no'")),
            },
            Kind::Enum(words) => {
                let v = value.to_ascii_lowercase();
                if !words.contains(&v.as_str()) {
                    return Err(invalid(
                        "argument(s) must be one of the following: "
                            .to_string()
                            .as_str(),
                    )
                    .with_words(words));
                }
                v
            }
            Kind::Text => value.to_string(),
            Kind::Percentiles => {
                let mut out = Vec::new();
                // Split on single spaces as Redis does: an empty word (two spaces) is invalid, an
                // empty value means no percentile.
                for w in value.split(' ').filter(|_| !value.is_empty()) {
                    let p: f64 = match w.parse() {
                        Ok(p) if !f64::is_nan(p) => p,
                        _ => {
                            return Err(invalid(
                                "Invalid latency-tracking-info-percentiles parameters",
                            ))
                        }
                    };
                    if !(0.0..=100.0).contains(&p) {
                        return Err(invalid("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"));
                    }
                    out.push(format_percentile(p));
                }
                out.join(" ")
            }
        };
        Ok((i, stored))
    }

    /// Applies validated values (all or nothing is the caller's job: validate every pair first).
    pub fn apply(&self, changes: &[(usize, String)]) {
        let mut values = self.lock();
        for (i, v) in changes {
            values[*i] = v.clone();
            let name = PARAMS[*i].0;
            for (a, b) in ALIASES {
                let other = if *a == name {
                    Some(*b)
                } else if *b == name {
                    Some(*a)
                } else {
                    None
                };
                if let Some(j) = other.and_then(index_of) {
                    values[j] = v.clone();
                }
            }
            let n = v.parse::<u64>().unwrap_or(0);
            match name {
                "proto-max-bulk-len" => self.proto_max_bulk_len.store(n, Ordering::Relaxed),
                "client-query-buffer-limit" => self.query_buffer_limit.store(n, Ordering::Relaxed),
                "maxclients" => self.maxclients.store(n, Ordering::Relaxed),
                "latency-monitor-threshold" => {
                    self.latency_monitor_threshold.store(n, Ordering::Relaxed)
                }
                "latency-tracking" => self.latency_tracking.store(v == "yes", Ordering::Relaxed),
                _ => {}
            }
        }
        self.epoch.fetch_add(1, Ordering::Release);
    }
}

impl SetError {
    fn with_words(self, words: &[&str]) -> SetError {
        match self {
            SetError::Invalid(n, why) => SetError::Invalid(n, format!("{why}{}", words.join(", "))),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("512mb"), Some(512 << 20));
        assert_eq!(parse_memory("1GB"), Some(1 << 30));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn percentiles_validate_like_redis() {
        use clap::Parser;
        let p = Params::new(&Cli::parse_from(["rustis"]));
        let ok = |v: &str| {
            p.validate("latency-tracking-info-percentiles", v)
                .map(|x| x.1)
        };
        assert_eq!(ok("1e1 99.99999 00.5").unwrap(), "10 99.99999 0.5");
        assert_eq!(ok("").unwrap(), "");
        assert!(ok("50  99").is_err());
        assert!(ok(" 50").is_err());
        assert!(ok("abc").is_err());
        assert!(ok("nan").is_err());
        assert_eq!(format_percentile(99.9), "99.9");
        assert_eq!(format_percentile(50.0), "50");
        assert_eq!(percentiles("50 99.9").len(), 2);
        match ok("101") {
            Err(SetError::Invalid(_, why)) => assert!(why.contains("[0.0,100.0]")),
            other => panic!("{other:?}"),
        }
    }
}
