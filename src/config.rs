//! Every setting: the command line (clap) and the runtime parameters CONFIG GET/SET see.
//!
//! Runtime parameters use Redis's names. Hot ones (limits read per request) are mirrored in atomics so
//! the event loops never take the lock; the rest live behind a mutex touched only by CONFIG.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use clap::Parser;

mod file;
mod rewrite;
mod split;

pub use file::{Exit, DIRECTIVE_NOT_SUPPORTED};

/// Command-line options. [`Cli::from_args`] reads them as redis-server does (a configuration
/// file, then `--name value` for any parameter of the table); clap's parser takes only the flags
/// below, for the tests that start a server in-process.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "rustis",
    version,
    // A flag given twice takes its last value, as redis-server takes its last directive.
    args_override_self = true,
    about = "A Redis-compatible in-memory key-value server: one event loop per core."
)]
pub struct Cli {
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 6379)]
    pub port: u16,
    /// Addresses to bind (IPv4 or IPv6, space-separated, up to 16; `-addr`: skipped if absent).
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
    /// Log verbosity.
    #[arg(long, default_value = "notice", value_parser = ["debug", "verbose", "notice", "warning"])]
    pub loglevel: String,
    /// The default user's password (Redis's requirepass); empty: none.
    #[arg(long, default_value = "")]
    pub requirepass: String,
    /// With `yes` and no password on the default user, only loopback clients are served.
    #[arg(long, default_value = "yes", value_parser = ["yes", "no"])]
    pub protected_mode: String,
    /// The configuration file the server started from (absolute, as Redis keeps it): CONFIG
    /// REWRITE writes it back. None: CONFIG REWRITE is refused.
    #[arg(skip)]
    pub config_file: Option<std::path::PathBuf>,
    /// Every parameter the file and the command line set, in their order: (index in the
    /// table, value as stored), already checked.
    #[arg(skip)]
    settings: Vec<(usize, String)>,
    /// The file's `user` lines: (name, rules), created in order once the server exists.
    #[arg(skip)]
    users: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
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

/// How a parameter's value is validated and shown: Redis 7.0's type and range for each (config.c's
/// table), so that a value Redis refuses is refused here with the same text.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// An integer within bounds, parsed as Redis's string2ll (no sign '+', no leading zero).
    Int(i64, i64),
    /// A byte size within bounds; also accepts `1gb`, `512mb`, `64kb`, `1k`, `100b` (Redis's memtoull).
    Memory(i64, i64),
    /// A byte size from 0 to 2^64 - 1 (Redis's unsigned long long memory settings).
    MemoryU64,
    /// `yes` or `no`.
    Bool,
    /// One of the listed words, listed in Redis's order (its refusal names them in that order).
    Enum(&'static [&'static str]),
    /// Free text.
    Text,
    /// `save`: pairs of integers (seconds changes), or empty.
    SavePoints,
    /// `notify-keyspace-events`: classes from `Ag$lshzxeKEtmdn`.
    EventClasses,
    /// `client-output-buffer-limit`: `<class> <hard> <soft> <seconds>` groups; the classes
    /// given replace theirs, the others stay.
    OutputLimits,
    /// Space-separated percentiles between 0 and 100 (latency-tracking-info-percentiles), stored as
    /// Redis prints them (`%f` without trailing zeros).
    Percentiles,
    /// Shown, never changed at runtime: Redis's "can't set immutable config". Checked at startup
    /// as an integer within these bounds, or as free text when they are `None`.
    Immutable(Option<(i64, i64)>),
    /// Shown, changed only when enable-protected-configs allows it (never here): Redis's "can't set
    /// protected config".
    Protected,
}

/// Whether a parameter does what it says in Rustis yet.
#[derive(Clone, Copy, Debug)]
enum Support {
    /// Every valid value works.
    Full,
    /// Only this value is Rustis's behaviour today; any other valid value is refused (a setting that
    /// is accepted and then ignored would mislead the operator).
    Only(&'static str),
}

const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

/// The refusal text of a valid value for a feature Rustis does not have yet.
pub const NOT_SUPPORTED: &str = "Rustis does not support this value yet";

/// Parameters: name, default, kind, support. Encoding tunables are accepted and remembered (they
/// change what OBJECT ENCODING reports).
const PARAMS: &[(&str, &str, Kind, Support)] = &[
    ("bind", "127.0.0.1", Kind::Immutable(None), Support::Full),
    (
        "port",
        "6379",
        Kind::Immutable(Some((0, 65535))),
        Support::Full,
    ),
    (
        "databases",
        "16",
        Kind::Immutable(Some((1, MAX_DATABASES))),
        Support::Full,
    ),
    (
        "maxclients",
        "10000",
        Kind::Int(1, u32::MAX as i64),
        Support::Full,
    ),
    (
        "loglevel",
        "notice",
        Kind::Enum(&["debug", "verbose", "notice", "warning"]),
        Support::Full,
    ),
    (
        "proto-max-bulk-len",
        "536870912",
        Kind::Memory(1 << 20, LONG_MAX),
        Support::Full,
    ),
    (
        "client-query-buffer-limit",
        "1073741824",
        Kind::Memory(1 << 20, LONG_MAX),
        Support::Full,
    ),
    ("hz", "10", Kind::Int(0, INT_MAX), Support::Full),
    ("maxmemory", "0", Kind::MemoryU64, Support::Full),
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
        Support::Full,
    ),
    (
        "maxmemory-samples",
        "5",
        Kind::Int(1, INT_MAX),
        Support::Full,
    ),
    (
        "maxmemory-eviction-tenacity",
        "10",
        Kind::Int(0, 100),
        Support::Full,
    ),
    ("lfu-log-factor", "10", Kind::Int(0, INT_MAX), Support::Full),
    ("lfu-decay-time", "1", Kind::Int(0, INT_MAX), Support::Full),
    ("timeout", "0", Kind::Int(0, INT_MAX), Support::Full),
    ("tcp-keepalive", "300", Kind::Int(0, INT_MAX), Support::Full),
    (
        "tcp-backlog",
        "511",
        Kind::Immutable(Some((0, INT_MAX))),
        Support::Full,
    ),
    (
        "save",
        "3600 1 300 100 60 10000",
        Kind::SavePoints,
        Support::Full,
    ),
    ("rdbcompression", "yes", Kind::Bool, Support::Full),
    ("rdbchecksum", "yes", Kind::Immutable(None), Support::Full),
    (
        "stop-writes-on-bgsave-error",
        "yes",
        Kind::Bool,
        Support::Full,
    ),
    ("appendonly", "no", Kind::Bool, Support::Only("no")),
    (
        "appendfsync",
        "everysec",
        Kind::Enum(&["everysec", "always", "no"]),
        Support::Full,
    ),
    // `dir` is the current directory unless given (Params::new makes it absolute).
    ("dir", ".", Kind::Protected, Support::Full),
    ("dbfilename", "dump.rdb", Kind::Protected, Support::Full),
    ("requirepass", "", Kind::Text, Support::Full),
    (
        "acllog-max-len",
        "128",
        Kind::Int(0, LONG_MAX),
        Support::Full,
    ),
    (
        "acl-pubsub-default",
        "resetchannels",
        Kind::Enum(&["allchannels", "resetchannels"]),
        Support::Full,
    ),
    ("protected-mode", "yes", Kind::Bool, Support::Full),
    // Transparent huge pages are turned off for the process at startup (src/os.rs), as Redis does.
    (
        "disable-thp",
        "yes",
        Kind::Immutable(None),
        Support::Only("yes"),
    ),
    (
        "enable-protected-configs",
        "no",
        Kind::Immutable(None),
        Support::Full,
    ),
    (
        "enable-debug-command",
        "no",
        Kind::Immutable(None),
        Support::Full,
    ),
    (
        "enable-module-command",
        "no",
        Kind::Immutable(None),
        Support::Full,
    ),
    (
        "io-threads",
        "1",
        Kind::Immutable(Some((1, 128))),
        Support::Full,
    ),
    ("activerehashing", "yes", Kind::Bool, Support::Full),
    ("active-expire-effort", "1", Kind::Int(1, 10), Support::Full),
    ("lazyfree-lazy-eviction", "no", Kind::Bool, Support::Full),
    ("lazyfree-lazy-expire", "no", Kind::Bool, Support::Full),
    ("lazyfree-lazy-server-del", "no", Kind::Bool, Support::Full),
    ("lazyfree-lazy-user-del", "no", Kind::Bool, Support::Full),
    ("lazyfree-lazy-user-flush", "no", Kind::Bool, Support::Full),
    (
        "tracking-table-max-keys",
        "1000000",
        Kind::Int(0, LONG_MAX),
        Support::Full,
    ),
    (
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        Kind::OutputLimits,
        Support::Full,
    ),
    (
        "notify-keyspace-events",
        "",
        Kind::EventClasses,
        Support::Full,
    ),
    (
        "slowlog-log-slower-than",
        "10000",
        Kind::Int(-1, i64::MAX),
        Support::Full,
    ),
    (
        "slowlog-max-len",
        "128",
        Kind::Int(0, LONG_MAX),
        Support::Full,
    ),
    (
        "latency-monitor-threshold",
        "0",
        Kind::Int(0, i64::MAX),
        Support::Full,
    ),
    ("latency-tracking", "yes", Kind::Bool, Support::Full),
    (
        "latency-tracking-info-percentiles",
        "50 99 99.9",
        Kind::Percentiles,
        Support::Full,
    ),
    (
        "busy-reply-threshold",
        "5000",
        Kind::Int(0, LONG_MAX),
        Support::Full,
    ),
    (
        "lua-time-limit",
        "5000",
        Kind::Int(0, LONG_MAX),
        Support::Full,
    ),
    (
        "list-max-listpack-size",
        "-2",
        Kind::Int(i32::MIN as i64, INT_MAX),
        Support::Full,
    ),
    (
        "list-max-ziplist-size",
        "-2",
        Kind::Int(i32::MIN as i64, INT_MAX),
        Support::Full,
    ),
    (
        "list-compress-depth",
        "0",
        Kind::Int(0, INT_MAX),
        Support::Full,
    ),
    (
        "set-max-intset-entries",
        "512",
        Kind::Int(0, LONG_MAX),
        Support::Full,
    ),
    (
        "hash-max-listpack-entries",
        "512",
        Kind::Int(0, LONG_MAX),
        Support::Full,
    ),
    (
        "hash-max-ziplist-entries",
        "512",
        Kind::Int(0, LONG_MAX),
        Support::Full,
    ),
    (
        "hash-max-listpack-value",
        "64",
        Kind::Memory(0, LONG_MAX),
        Support::Full,
    ),
    (
        "hash-max-ziplist-value",
        "64",
        Kind::Memory(0, LONG_MAX),
        Support::Full,
    ),
    (
        "zset-max-listpack-entries",
        "128",
        Kind::Int(0, LONG_MAX),
        Support::Full,
    ),
    (
        "zset-max-ziplist-entries",
        "128",
        Kind::Int(0, LONG_MAX),
        Support::Full,
    ),
    (
        "zset-max-listpack-value",
        "64",
        Kind::Memory(0, LONG_MAX),
        Support::Full,
    ),
    (
        "zset-max-ziplist-value",
        "64",
        Kind::Memory(0, LONG_MAX),
        Support::Full,
    ),
    (
        "stream-node-max-bytes",
        "4096",
        Kind::Memory(0, LONG_MAX),
        Support::Full,
    ),
    (
        "stream-node-max-entries",
        "100",
        Kind::Int(0, i64::MAX),
        Support::Full,
    ),
    (
        "hll-sparse-max-bytes",
        "3000",
        Kind::Memory(0, LONG_MAX),
        Support::Full,
    ),
];

/// Most databases Rustis accepts: every worker holds every database (about 200 bytes each when
/// empty), so Redis's own bound (2^31 - 1) would let one flag exhaust memory at startup.
pub const MAX_DATABASES: i64 = 1 << 16;

/// Pairs of parameters that are one setting under two names (Redis's old ziplist names).
const ALIASES: &[(&str, &str)] = &[
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("lua-time-limit", "busy-reply-threshold"),
];

/// Parses a Redis memory size as memtoull does: digits with an optional b/k/kb/m/mb/g/gb suffix (any
/// case); `k`, `m`, `g` are powers of 1000, `kb`, `mb`, `gb` powers of 1024.
pub fn parse_memory(s: &str) -> Option<i64> {
    let digits_end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    let mul: i64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => return None,
    };
    // No digits at all reads as 0, as strtoull of an empty string does in Redis.
    // No digits at all reads as 0 and an overflow as the largest value, as strtoull does in
    // Redis; the product wraps, and a result past i64::MAX fails the range check as it does there.
    let n: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().unwrap_or(u64::MAX)
    };
    Some(n.wrapping_mul(mul as u64) as i64)
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

/// Redis's check of a `save` value: empty, or pairs of integers separated by spaces, seconds
/// at least 1 and changes at least 0.
fn valid_save_points(v: &str) -> bool {
    let parts: Vec<&str> = v.split(' ').filter(|p| !p.is_empty()).collect();
    parts.len().is_multiple_of(2)
        && parts.chunks(2).all(|pair| {
            let n = |s: &str| s.parse::<i64>().ok();
            n(pair[0]).is_some_and(|s| s >= 1) && n(pair[1]).is_some_and(|c| c >= 0)
        })
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
    /// maxmemory (bytes; 0: no limit), read before every command.
    pub maxmemory: AtomicU64,
    /// latency-monitor-threshold (ms; 0 disables the monitor), read per command.
    pub latency_monitor_threshold: AtomicU64,
    /// latency-tracking (per-command latency histograms), read per command.
    pub latency_tracking: AtomicBool,
    /// protected-mode, read at each accept.
    pub protected_mode: AtomicBool,
    /// busy-reply-threshold (alias lua-time-limit), ms: a script running longer is busy (other
    /// clients get -BUSY, SCRIPT KILL may stop it). 0: never.
    pub busy_reply_threshold: AtomicU64,
    /// notify-keyspace-events, as class bits ([`crate::store::notify`]).
    pub notify_keyspace_events: std::sync::atomic::AtomicU32,
    /// slowlog-log-slower-than (µs; negative: log nothing), read per command.
    pub slowlog_slower_than: std::sync::atomic::AtomicI64,
    /// slowlog-max-len.
    pub slowlog_max_len: AtomicU64,
    /// client-output-buffer-limit: hard bytes, soft bytes, soft seconds, for each class in
    /// [`OUTPUT_CLASSES`] order (0: no limit).
    pub output_limits: [[AtomicU64; 3]; 3],
    /// The configuration file CONFIG REWRITE writes (None: started without one).
    config_file: Option<std::path::PathBuf>,
    /// Held by CONFIG REWRITE: two workers' rewrites must not interleave.
    rewrite_lock: Mutex<()>,
    /// The users the configuration declared (`user` lines), for the server to create.
    startup_users: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
}

/// The client classes of `client-output-buffer-limit`, in the order Redis shows them.
pub const OUTPUT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// One class's limits: hard bytes, soft bytes, soft seconds.
pub type OutputLimit = [u64; 3];

/// Parses a `client-output-buffer-limit` value as Redis's updateClientOutputBufferLimit: groups
/// of `<class> <hard> <soft> <seconds>`, class `normal`, `replica`/`slave` or `pubsub`. Returns
/// the limits given, by class, or Redis's reason for refusing the whole value.
pub fn parse_output_limits(v: &str) -> Result<[Option<OutputLimit>; 3], &'static str> {
    let args: Vec<&str> = v.split(' ').filter(|a| !a.is_empty()).collect();
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.");
    }
    let mut out = [None; 3];
    for g in args.chunks(4) {
        let class = match g[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => return Err("Invalid client class specified in buffer limit configuration."),
        };
        let bad = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = parse_memory(g[1]).ok_or(bad)? as u64;
        let soft = parse_memory(g[2]).ok_or(bad)? as u64;
        let secs: i64 = if g[3].is_empty() {
            0
        } else {
            g[3].parse().map_err(|_| bad)?
        };
        if secs < 0 {
            return Err(bad);
        }
        out[class] = Some([hard, soft, secs as u64]);
    }
    Ok(out)
}

/// Redis's limits on `bind`: up to 16 addresses, each IPv4 or IPv6, optionally prefixed with
/// `-` (skipped when the machine lacks it).
fn check_bind(v: &str) -> Result<(), &'static str> {
    let words: Vec<&str> = v.split_whitespace().collect();
    if words.len() > 16 {
        return Err("Too many bind addresses specified.");
    }
    if words.is_empty()
        || words.iter().any(|w| {
            w.trim_start_matches('-')
                .parse::<std::net::IpAddr>()
                .is_err()
        })
    {
        return Err("Invalid bind address (IPv4 or IPv6 addresses, optionally prefixed with '-')");
    }
    Ok(())
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
        .position(|(n, ..)| n.eq_ignore_ascii_case(name))
}

impl Params {
    /// Defaults, overridden by the command line. Every value given is checked as CONFIG SET
    /// would check it (immutable ones against their bounds); the error is Redis's startup text:
    /// the directive as given, then the reason.
    pub fn new(cli: &Cli) -> Result<Self, String> {
        let values: Vec<String> = PARAMS.iter().map(|(_, d, ..)| d.to_string()).collect();
        let given = [
            ("bind", cli.bind.clone()),
            ("port", cli.port.to_string()),
            ("databases", cli.databases.to_string()),
            ("maxclients", cli.maxclients.to_string()),
            ("loglevel", cli.loglevel.clone()),
            ("requirepass", cli.requirepass.clone()),
            ("protected-mode", cli.protected_mode.clone()),
        ];
        let mut changes = Vec::new();
        for (name, v) in given {
            match validate(name, &v, true) {
                Ok(ch) => changes.push(ch),
                Err(SetError::Invalid(_, why)) => return Err(format!("'{name} \"{v}\"'\n{why}")),
                Err(SetError::Unknown(_)) => {
                    return Err(format!(
                        "'{name} \"{v}\"'\nBad directive or wrong number of arguments"
                    ))
                }
            }
        }
        check_bind(&cli.bind).map_err(|why| format!("'bind \"{}\"'\n{why}", cli.bind))?;
        // The file's and the command line's settings, in their order (the flags above are the
        // last of them when the start went through `Cli::from_args`).
        changes.extend(cli.settings.iter().cloned());
        let params = Params {
            values: Mutex::new(values),
            epoch: AtomicU64::new(0),
            proto_max_bulk_len: AtomicU64::new(512 << 20),
            query_buffer_limit: AtomicU64::new(1 << 30),
            maxclients: AtomicU64::new(cli.maxclients as u64),
            maxmemory: AtomicU64::new(0),
            latency_monitor_threshold: AtomicU64::new(0),
            busy_reply_threshold: AtomicU64::new(5000),
            notify_keyspace_events: Default::default(),
            slowlog_slower_than: std::sync::atomic::AtomicI64::new(10_000),
            slowlog_max_len: AtomicU64::new(128),
            output_limits: [
                [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
                [
                    AtomicU64::new(256 << 20),
                    AtomicU64::new(64 << 20),
                    AtomicU64::new(60),
                ],
                [
                    AtomicU64::new(32 << 20),
                    AtomicU64::new(8 << 20),
                    AtomicU64::new(60),
                ],
            ],
            latency_tracking: AtomicBool::new(true),
            protected_mode: AtomicBool::new(cli.protected_mode == "yes"),
            config_file: cli.config_file.clone(),
            rewrite_lock: Mutex::new(()),
            startup_users: cli.users.clone(),
        };
        // Applied as CONFIG SET applies them, so every derived value (atomics, aliases, the
        // output limits' classes) follows the settings.
        params.apply(&changes);
        // The snapshot's place, checked as Redis checks it at startup; `dir` kept absolute (Redis
        // changes into it and shows the absolute path).
        let file = params.get("dbfilename").unwrap_or_default();
        if file.contains('/') {
            return Err(format!(
                "'dbfilename \"{file}\"'\ndbfilename can't be a path, just a filename"
            ));
        }
        let dir = params.get("dir").unwrap_or_else(|| ".".into());
        let abs = std::fs::canonicalize(&dir)
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| format!("'dir \"{dir}\"'\nNo such file or directory"))?;
        if let Some(i) = index_of("dir") {
            params.lock()[i] = abs.to_string_lossy().into_owned();
        }
        Ok(params)
    }

    /// The users the configuration file declared: (name, rules), in order.
    pub fn startup_users(&self) -> &[(Vec<u8>, Vec<Vec<u8>>)] {
        &self.startup_users
    }

    /// The configuration file the server started from, if any.
    pub fn config_file(&self) -> Option<&std::path::Path> {
        self.config_file.as_deref()
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
            .filter(|((n, ..), _)| crate::glob::glob_match(pattern, n.as_bytes(), true))
            .map(|((n, ..), v)| (*n, v.clone()))
            .collect()
    }

    /// Whether `name` may be changed at runtime at all: Redis's first check, made for every name
    /// of a CONFIG SET before any value is looked at. None for an unknown name.
    pub fn settable(&self, name: &str) -> Option<Result<(), &'static str>> {
        let (_, _, kind, _) = PARAMS[index_of(name)?];
        Some(match kind {
            Kind::Immutable(_) => Err("can't set immutable config"),
            Kind::Protected => Err("can't set protected config"),
            _ => Ok(()),
        })
    }

    /// Validates and normalises `value` for parameter `name`; returns the index and the stored form.
    pub fn validate(&self, name: &str, value: &str) -> Result<(usize, String), SetError> {
        validate(name, value, false)
    }
}

/// Validates `value` for `name`, at startup (`startup`: immutable parameters are checked against
/// their bounds instead of refused) or for CONFIG SET.
fn validate(name: &str, value: &str, startup: bool) -> Result<(usize, String), SetError> {
    {
        let i = index_of(name).ok_or_else(|| SetError::Unknown(name.to_string()))?;
        let (pname, _, mut kind, support) = PARAMS[i];
        if startup {
            // At startup (file and command line) immutable and protected parameters are set.
            match kind {
                Kind::Immutable(b) => kind = b.map_or(Kind::Text, |(lo, hi)| Kind::Int(lo, hi)),
                Kind::Protected => kind = Kind::Text,
                _ => {}
            }
        }
        let invalid = |why: &str| SetError::Invalid(pname.to_string(), why.to_string());
        let bounded = |n: i64, lo: i64, hi: i64| {
            if n < lo || n > hi {
                Err(invalid(&format!(
                    "argument must be between {lo} and {hi} inclusive"
                )))
            } else {
                Ok(n.to_string())
            }
        };
        let stored = match kind {
            Kind::Immutable(_) => return Err(invalid("can't set immutable config")),
            Kind::Protected => return Err(invalid("can't set protected config")),
            Kind::Int(lo, hi) => {
                let n = crate::resp::parse_i64(value.as_bytes())
                    .ok_or_else(|| invalid("argument couldn't be parsed into an integer"))?;
                bounded(n, lo, hi)?
            }
            Kind::Memory(lo, hi) => {
                let n = parse_memory(value)
                    .ok_or_else(|| invalid("argument must be a memory value"))?;
                bounded(n, lo, hi)?
            }
            Kind::MemoryU64 => (parse_memory(value)
                .ok_or_else(|| invalid("argument must be a memory value"))?
                as u64)
                .to_string(),
            Kind::Bool => match value.to_ascii_lowercase().as_str() {
                "yes" | "no" => value.to_ascii_lowercase(),
                _ => return Err(invalid("argument must be 'yes' or 'no'")),
            },
            Kind::Enum(words) => {
                let v = value.to_ascii_lowercase();
                if !words.contains(&v.as_str()) {
                    return Err(invalid(&format!(
                        "argument(s) must be one of the following: {}",
                        words.join(", ")
                    )));
                }
                v
            }
            Kind::Text => value.to_string(),
            Kind::SavePoints => {
                if !valid_save_points(value) {
                    return Err(invalid("Invalid save parameters"));
                }
                value
                    .split(' ')
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
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
            Kind::OutputLimits => {
                parse_output_limits(value).map_err(&invalid)?;
                value.to_string()
            }
            // Kept as given: applying it stores the classes and shows them as Redis does.
            Kind::EventClasses => match crate::store::notify::parse_classes(value) {
                Some(_) => value.to_string(),
                None => {
                    return Err(invalid(
                        "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
                    ))
                }
            },
        };
        let stored = if pname == "hz" {
            // Redis keeps hz within 1..=500 whatever is asked.
            stored
                .parse::<i64>()
                .unwrap_or(10)
                .clamp(1, 500)
                .to_string()
        } else {
            stored
        };
        if pname == "maxclients" && !startup {
            // As Redis: more clients than the descriptor limit can hold are refused.
            let n: u64 = stored.parse().unwrap_or(0);
            let fits = crate::os::raise_fd_limit(n);
            if fits < n {
                return Err(invalid(&format!(
                    "The operating system is not able to handle the specified number of clients, try with {fits}"
                )));
            }
        }
        if let Support::Only(works) = support {
            if stored != works {
                return Err(invalid(NOT_SUPPORTED));
            }
        }
        Ok((i, stored))
    }
}

impl Params {
    /// Applies validated values (all or nothing is the caller's job: validate every pair first).
    pub fn apply(&self, changes: &[(usize, String)]) {
        let mut values = self.lock();
        for (i, v) in changes {
            let before = std::mem::replace(&mut values[*i], v.clone());
            let name = PARAMS[*i].0;
            if name == "client-output-buffer-limit" {
                // The classes given replace theirs; the value shown lists all three.
                let mut all = parse_output_limits(&before).unwrap_or_default();
                if let Ok(given) = parse_output_limits(v) {
                    for (class, l) in given.iter().enumerate() {
                        if let Some(l) = l {
                            all[class] = Some(*l);
                        }
                    }
                }
                let mut shown = Vec::new();
                for (class, l) in all.iter().enumerate() {
                    let l = l.unwrap_or_default();
                    for (j, a) in self.output_limits[class].iter().enumerate() {
                        a.store(l[j], Ordering::Relaxed);
                    }
                    shown.push(format!(
                        "{} {} {} {}",
                        OUTPUT_CLASSES[class], l[0], l[1], l[2]
                    ));
                }
                values[*i] = shown.join(" ");
            }
            if name == "notify-keyspace-events" {
                // The classes themselves are kept: the text Redis shows loses `n` beside `A`
                // (`KEAn` reads back `AKE`), yet `new` events are raised.
                let flags = crate::store::notify::parse_classes(v).unwrap_or(0);
                self.notify_keyspace_events.store(flags, Ordering::Relaxed);
                values[*i] = crate::store::notify::classes_to_string(flags);
            }
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
                "maxmemory" => self.maxmemory.store(n, Ordering::Relaxed),
                "loglevel" => crate::log::set_level(v),
                "latency-monitor-threshold" => {
                    self.latency_monitor_threshold.store(n, Ordering::Relaxed)
                }
                "latency-tracking" => self.latency_tracking.store(v == "yes", Ordering::Relaxed),
                "protected-mode" => self.protected_mode.store(v == "yes", Ordering::Relaxed),
                "busy-reply-threshold" | "lua-time-limit" => {
                    self.busy_reply_threshold.store(n, Ordering::Relaxed)
                }
                "slowlog-log-slower-than" => self
                    .slowlog_slower_than
                    .store(v.parse().unwrap_or(10_000), Ordering::Relaxed),
                "slowlog-max-len" => self.slowlog_max_len.store(n, Ordering::Relaxed),
                _ => {}
            }
        }
        self.epoch.fetch_add(1, Ordering::Release);
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
        let p = Params::new(&Cli::parse_from(["rustis"])).expect("defaults are valid");
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
