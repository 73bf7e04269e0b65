//! Starting from a configuration file and the command line, as redis-server does: an optional
//! first argument names a file in redis.conf syntax, `-` reads more from standard input, and
//! every `--name value...` becomes one more line appended after them (so the command line
//! overrides the file). Lines are read one by one, each checked as CONFIG SET would check it, and
//! the first bad one stops the start with Redis's report: the line's number and text, then the
//! reason (config.c's loadServerConfigFromString).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::split::{repr, split_args};
use super::{index_of, validate, Cli, Kind, SetError, PARAMS};

/// A start that ends before serving: what to print, and the exit status.
#[derive(Debug)]
pub struct Exit {
    /// 0 for `--help` and `--version`, 1 for an error.
    pub status: i32,
    /// Warnings for the log, one a line (Redis logs "can't open config file" rather than
    /// printing it).
    pub log: Vec<String>,
    /// Printed on standard output (`--help`, `--version`).
    pub stdout: String,
    /// Printed on standard error (the FATAL CONFIG FILE ERROR report).
    pub stderr: Vec<u8>,
}

impl Exit {
    /// Redis's report of a bad line: its number within the text being read, the line as trimmed,
    /// the reason.
    fn bad_line(linenum: usize, line: &[u8], why: &str) -> Exit {
        let mut e = format!(
            "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line {linenum}\n>>> '",
            crate::shared::REDIS_VERSION
        )
        .into_bytes();
        e.extend_from_slice(line);
        e.extend_from_slice(format!("'\n{why}\n").as_bytes());
        Exit {
            status: 1,
            log: Vec::new(),
            stdout: String::new(),
            stderr: e,
        }
    }

    /// Redis's log line for a file that cannot be read (its path as Redis names it).
    fn cannot_open(path: &[u8], e: &std::io::Error) -> Exit {
        Exit {
            status: 1,
            log: vec![format!(
                "Fatal error, can't open config file '{}': {}",
                String::from_utf8_lossy(path),
                strerror(e)
            )],
            stdout: String::new(),
            stderr: Vec::new(),
        }
    }
}

/// The C library's text for an I/O error (`strerror`), without Rust's " (os error N)".
pub(super) fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Names Redis 7.0.15 knows (its CONFIG GET * list) and Rustis's table does not have: a file
/// that uses one is refused as not supported rather than as a bad directive.
const REDIS_PARAMETERS: &str = "\
    acl-pubsub-default aclfile acllog-max-len active-defrag-cycle-max active-defrag-cycle-min \
    active-defrag-ignore-bytes active-defrag-max-scan-fields active-defrag-threshold-lower \
    active-defrag-threshold-upper active-expire-effort activedefrag activerehashing \
    always-show-logo aof-disable-auto-gc aof-load-truncated aof-rewrite-incremental-fsync \
    aof-timestamp-enabled aof-use-rdb-preamble aof_rewrite_cpulist appenddirname appendfilename \
    appendfsync appendonly auto-aof-rewrite-min-size auto-aof-rewrite-percentage bgsave_cpulist \
    bind bind-source-addr bio_cpulist busy-reply-threshold client-output-buffer-limit \
    client-query-buffer-limit cluster-allow-pubsubshard-when-down cluster-allow-reads-when-down \
    cluster-allow-replica-migration cluster-announce-bus-port cluster-announce-hostname \
    cluster-announce-ip cluster-announce-port cluster-announce-tls-port cluster-config-file \
    cluster-enabled cluster-link-sendbuf-limit cluster-migration-barrier cluster-node-timeout \
    cluster-port cluster-preferred-endpoint-type cluster-replica-no-failover \
    cluster-replica-validity-factor cluster-require-full-coverage cluster-slave-no-failover \
    cluster-slave-validity-factor crash-log-enabled crash-memcheck-enabled daemonize databases \
    dbfilename dir disable-thp dynamic-hz enable-debug-command enable-module-command \
    enable-protected-configs hash-max-listpack-entries hash-max-listpack-value \
    hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes hz ignore-warnings \
    io-threads io-threads-do-reads jemalloc-bg-thread latency-monitor-threshold \
    latency-tracking latency-tracking-info-percentiles lazyfree-lazy-eviction \
    lazyfree-lazy-expire lazyfree-lazy-server-del lazyfree-lazy-user-del \
    lazyfree-lazy-user-flush lfu-decay-time lfu-log-factor list-compress-depth \
    list-max-listpack-size list-max-ziplist-size logfile loglevel lua-time-limit masterauth \
    masteruser maxclients maxmemory maxmemory-clients maxmemory-eviction-tenacity \
    maxmemory-policy maxmemory-samples min-replicas-max-lag min-replicas-to-write \
    min-slaves-max-lag min-slaves-to-write no-appendfsync-on-rewrite notify-keyspace-events \
    oom-score-adj oom-score-adj-values pidfile port proc-title-template \
    propagation-error-behavior protected-mode proto-max-bulk-len rdb-del-sync-files \
    rdb-save-incremental-fsync rdbchecksum rdbcompression repl-backlog-size repl-backlog-ttl \
    repl-disable-tcp-nodelay repl-diskless-load repl-diskless-sync repl-diskless-sync-delay \
    repl-diskless-sync-max-replicas repl-ping-replica-period repl-ping-slave-period \
    repl-timeout replica-announce-ip replica-announce-port replica-announced \
    replica-ignore-disk-write-errors replica-ignore-maxmemory replica-lazy-flush \
    replica-priority replica-read-only replica-serve-stale-data replicaof requirepass \
    sanitize-dump-payload save server_cpulist set-max-intset-entries set-proc-title \
    shutdown-on-sigint shutdown-on-sigterm shutdown-timeout slave-announce-ip \
    slave-announce-port slave-ignore-maxmemory slave-lazy-flush slave-priority slave-read-only \
    slave-serve-stale-data slaveof slowlog-log-slower-than slowlog-max-len socket-mark-id \
    stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries supervised \
    syslog-enabled syslog-facility syslog-ident tcp-backlog tcp-keepalive timeout \
    tls-auth-clients tls-ca-cert-dir tls-ca-cert-file tls-cert-file tls-ciphers \
    tls-ciphersuites tls-client-cert-file tls-client-key-file tls-client-key-file-pass \
    tls-cluster tls-dh-params-file tls-key-file tls-key-file-pass tls-port \
    tls-prefer-server-ciphers tls-protocols tls-replication tls-session-cache-size \
    tls-session-cache-timeout tls-session-caching tracking-table-max-keys unixsocket \
    unixsocketperm zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries \
    zset-max-ziplist-value";

/// Directives Redis reads from a file that Rustis has no room for yet.
const UNSUPPORTED_DIRECTIVES: &[&str] = &["rename-command", "loadmodule", "sentinel"];

/// Redis 7.0's deprecated directives, read and ignored with exactly one argument.
const DEPRECATED: &[&str] = &[
    "list-max-ziplist-entries",
    "list-max-ziplist-value",
    "lua-replicate-commands",
];

/// The reason given for a directive Redis knows and Rustis does not support yet.
pub const DIRECTIVE_NOT_SUPPORTED: &str = "Rustis does not support this directive yet";

/// Includes nested deeper than this are refused (Redis recurses until its stack overflows).
const MAX_INCLUDE_DEPTH: usize = 200;

/// Whether a parameter takes several arguments on one line (Redis's MULTI_ARG_CONFIG): they are
/// joined with spaces into the one value CONFIG SET would take.
fn multi_arg(i: usize) -> bool {
    let (name, _, kind, _) = PARAMS[i];
    name == "bind"
        || matches!(
            kind,
            Kind::SavePoints | Kind::OutputLimits | Kind::Percentiles
        )
}

/// What reading the configuration produced, in the order the lines gave it.
#[derive(Default)]
struct Loader {
    /// (parameter index, value as stored), one per line, in order: applied in that order.
    changes: Vec<(usize, String)>,
    /// `save` lines add points to the ones before, except that the first resets the defaults.
    save_loaded: bool,
    /// `threads` (Rustis's own directive).
    threads: Option<usize>,
    /// The directory relative includes start from: the working directory, then the last `dir`
    /// (Redis changes directory as it reads `dir`).
    cwd: PathBuf,
    /// The files being read, outermost first (canonical paths), to refuse include loops.
    stack: Vec<PathBuf>,
    /// `user` lines: (name, rules with selectors merged), created once the server exists.
    users: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
    /// The first `user` rule that passes the line's check but fails when the users are created
    /// (an unknown command or category, a name with spaces): Redis reports it after the whole
    /// configuration is read, in its log.
    acl_failure: Option<String>,
}

/// How a directive failed: a reason reported against its line, or an exit decided deeper (an
/// included file's own report).
enum Fail {
    Reason(String),
    Exit(Exit),
}

impl From<&str> for Fail {
    fn from(s: &str) -> Fail {
        Fail::Reason(s.to_string())
    }
}

/// The bytes Redis reads from a file: fgets chunks of at most 1024 bytes, each cut at its first
/// NUL byte (it appends them as C strings).
fn as_redis_reads(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while !rest.is_empty() {
        let window = &rest[..rest.len().min(1024)];
        let n = window
            .iter()
            .position(|&b| b == b'\n')
            .map_or(window.len(), |i| i + 1);
        let chunk = &rest[..n];
        out.extend_from_slice(&chunk[..chunk.iter().position(|&b| b == 0).unwrap_or(n)]);
        rest = &rest[n..];
    }
    out
}

/// Trims Redis's blanks (` \t\r\n`) from both ends.
fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r' | b'\n', r @ ..] = s {
        s = r;
    }
    while let [r @ .., b' ' | b'\t' | b'\r' | b'\n'] = s {
        s = r;
    }
    s
}

/// Reads a whole file (`-` is not special here).
fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut data = Vec::new();
    // A read error after a successful open (a directory, say) ends the text, as fgets does.
    let _ = f.read_to_end(&mut data);
    Ok(data)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn has_wildcard(p: &[u8]) -> bool {
    p.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// The files a wildcard include names, as glob(3) lists them: each component with a wildcard
/// matched against its directory (names starting with `.` only by a pattern starting with
/// `.`), sorted. No match at all is no file.
fn expand(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for comp in pattern.components() {
        let c = comp.as_os_str().as_bytes();
        let mut next = Vec::new();
        for base in &found {
            if !has_wildcard(c) {
                next.push(base.join(comp));
                continue;
            }
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<OsString> = entries
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .filter(|n| {
                    let n = n.as_bytes();
                    (!n.starts_with(b".") || c.starts_with(b"."))
                        && crate::glob::glob_match(c, n, false)
                })
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| base.join(n)));
        }
        found = next;
    }
    found.retain(|p| p.exists());
    found
}

impl Loader {
    /// Reads configuration text line by line (Redis's loadServerConfigFromString).
    fn load(&mut self, config: &[u8]) -> Result<(), Exit> {
        for (i, raw) in config.split(|&b| b == b'\n').enumerate() {
            let line = trim(raw);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let fail = |why: &str| Exit::bad_line(i + 1, line, why);
            let Some(argv) = split_args(line) else {
                return Err(fail("Unbalanced quotes in configuration line"));
            };
            let Some((name, args)) = argv.split_first() else {
                continue;
            };
            let name = lossy(name).to_ascii_lowercase();
            match self.directive(&name, args) {
                Ok(()) => {}
                Err(Fail::Reason(why)) => return Err(fail(&why)),
                Err(Fail::Exit(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// One directive: a parameter of the table, `include`, or Rustis's `threads`.
    fn directive(&mut self, name: &str, args: &[Vec<u8>]) -> Result<(), Fail> {
        if let Some(i) = index_of(name) {
            return self.parameter(i, args);
        }
        if DEPRECATED.contains(&name) && args.len() == 1 {
            return Ok(());
        }
        match name {
            "include" if args.len() == 1 => return self.include(&args[0]),
            "user" if !args.is_empty() => return self.user(args),
            "threads" if args.len() == 1 => {
                let n = crate::resp::parse_i64(&args[0])
                    .filter(|&n| n >= 0)
                    .ok_or("argument couldn't be parsed into an integer")?;
                self.threads = Some(n as usize);
                return Ok(());
            }
            _ => {}
        }
        if name.contains('.') && args.is_empty() {
            return Err("Module config specified without value".into());
        }
        if UNSUPPORTED_DIRECTIVES.contains(&name)
            || name.contains('.')
            || REDIS_PARAMETERS.split_whitespace().any(|p| p == name)
        {
            return Err(DIRECTIVE_NOT_SUPPORTED.into());
        }
        Err("Bad directive or wrong number of arguments".into())
    }

    /// A parameter's line, checked as CONFIG SET checks the value (immutable and protected
    /// parameters included: this is where they are set).
    fn parameter(&mut self, i: usize, args: &[Vec<u8>]) -> Result<(), Fail> {
        let (name, _, kind, _) = PARAMS[i];
        let value = if !multi_arg(i) {
            if args.len() != 1 {
                return Err("wrong number of arguments".into());
            }
            lossy(&args[0])
        } else {
            // One non-empty argument is split again (`--save "3600 1"`), as Redis does.
            let parts: Vec<Vec<u8>> = match args {
                [one] if !one.is_empty() => split_args(one).unwrap_or_default(),
                // Several arguments are taken one by one in Redis, so one holding a blank is
                // invalid there ("3600 1" is no number): its blanks become a byte no value
                // accepts, so that the word stays one word and fails the same check.
                _ => args
                    .iter()
                    .map(|a| {
                        a.iter()
                            .map(|&b| if b.is_ascii_whitespace() { 1 } else { b })
                            .collect()
                    })
                    .collect(),
            };
            if name == "bind" && parts.len() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            parts.iter().map(|p| lossy(p)).collect::<Vec<_>>().join(" ")
        };
        let value = if name == "dir" {
            // Redis changes to the directory as it reads the line (and shows getcwd()).
            let p = self.cwd.join(&value);
            match std::fs::metadata(&p) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err("Not a directory".into()),
                Err(e) => return Err(Fail::Reason(strerror(&e))),
            }
            let abs = p.canonicalize().unwrap_or(p);
            self.cwd = abs.clone();
            abs.to_string_lossy().into_owned()
        } else {
            value
        };
        if name == "bind" {
            super::check_bind(&value).map_err(Fail::from)?;
        }
        let (i, stored) = match validate(name, &value, true) {
            Ok(ok) => ok,
            Err(SetError::Invalid(_, why)) => return Err(Fail::Reason(why)),
            Err(SetError::Unknown(_)) => {
                return Err("Bad directive or wrong number of arguments".into())
            }
        };
        let stored = if matches!(kind, Kind::SavePoints) {
            // `save ""` clears the points; the first line replaces the defaults, later ones add.
            let before = self
                .changes
                .iter()
                .rev()
                .find(|(j, _)| *j == i)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let first = !std::mem::replace(&mut self.save_loaded, true);
            if stored.is_empty() || first || before.is_empty() {
                stored
            } else {
                format!("{before} {stored}")
            }
        } else {
            stored
        };
        self.changes.push((i, stored));
        Ok(())
    }

    /// `user name rules...`: checked on a scratch user as Redis's ACLAppendUserForLoading does
    /// (an unknown command or category passes here and fails later), kept for creation.
    fn user(&mut self, args: &[Vec<u8>]) -> Result<(), Fail> {
        use crate::acl::rules::{merge_selectors, RuleError, User};
        // Redis names the failing rule by its index among the merged rules, but looks it up
        // in the whole line ("user", name, rules...): the word it shows is two to the left.
        let declaration = |j: usize, why: &str| {
            let word = if j == 0 {
                b"user".as_slice()
            } else {
                args.get(j - 1).map_or(b"".as_slice(), |a| a.as_slice())
            };
            Fail::Reason(format!(
                "Error in user declaration '{}': {why}",
                lossy(word)
            ))
        };
        let name = &args[0];
        if self.users.iter().any(|(n, _)| n == name) {
            return Err(declaration(
                1,
                "Duplicate user found. A user can only be defined once in config files",
            ));
        }
        let rules: Vec<&[u8]> = args[1..].iter().map(|a| a.as_slice()).collect();
        let merged =
            merge_selectors(&rules).map_err(|j| declaration(j, RuleError::UnknownName.text()))?;
        if self.acl_failure.is_none() && name.iter().any(|b| b.is_ascii_whitespace()) {
            self.acl_failure = Some("Spaces not allowed in ACL usernames".to_string());
        }
        let mut scratch = User::new(0, b"", 0);
        for (j, op) in merged.iter().enumerate() {
            match scratch.apply(op, 0) {
                Ok(()) => {}
                Err(RuleError::UnknownName) => {
                    if self.acl_failure.is_none() {
                        self.acl_failure = Some(format!(
                            "Error loading ACL rule '{}' for the user named '{}': {}",
                            lossy(op),
                            lossy(name),
                            RuleError::UnknownName.text()
                        ));
                    }
                }
                Err(e) => return Err(declaration(j, e.text())),
            }
        }
        self.users.push((name.clone(), merged));
        Ok(())
    }

    /// `include path`: the file's lines are read at this point, numbered on their own (a bad line
    /// is reported with its number in the included file). A wildcard path includes every file
    /// it matches, or none; a file including itself, directly or not, is refused.
    fn include(&mut self, path: &[u8]) -> Result<(), Fail> {
        let p = Path::new(std::ffi::OsStr::from_bytes(path));
        let full = self.cwd.join(p);
        let files = if has_wildcard(path) {
            expand(&full)
        } else {
            vec![full]
        };
        // The files a wildcard matches are read as one text (Redis concatenates them), so
        // their lines are numbered on from one file to the next.
        let mut text = Vec::new();
        let mut canons = Vec::new();
        for f in files {
            let shown = if has_wildcard(path) {
                f.as_os_str().as_bytes().to_vec()
            } else {
                path.to_vec()
            };
            let data = read(&f).map_err(|e| Fail::Exit(Exit::cannot_open(&shown, &e)))?;
            let canon = f.canonicalize().unwrap_or(f);
            if self.stack.contains(&canon) {
                return Err(Fail::Reason(format!(
                    "Recursive include of '{}'",
                    lossy(&shown)
                )));
            }
            text.extend_from_slice(&as_redis_reads(&data));
            canons.push(canon);
        }
        if canons.is_empty() {
            return Ok(());
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(Fail::Reason(format!(
                "Includes nested more than {MAX_INCLUDE_DEPTH} deep"
            )));
        }
        let depth = self.stack.len();
        self.stack.extend(canons);
        let r = self.load(&text);
        self.stack.truncate(depth);
        r.map_err(Fail::Exit)?;
        Ok(())
    }
}

/// Redis's absolute form of the configuration file's path (getAbsolutePath): trimmed, joined to
/// the working directory, leading `../` folded into it.
fn absolute(path: &[u8], cwd: &Path) -> Vec<u8> {
    let mut rel = trim(path);
    if rel.first() == Some(&b'/') {
        return rel.to_vec();
    }
    let mut abs = cwd.as_os_str().as_bytes().to_vec();
    if abs.last() != Some(&b'/') {
        abs.push(b'/');
    }
    while rel.starts_with(b"../") {
        rel = &rel[3..];
        if abs.len() > 1 {
            abs.pop();
            while abs.last().is_some_and(|&b| b != b'/') {
                abs.pop();
            }
        }
    }
    abs.extend_from_slice(rel);
    abs
}

/// The usage text of `--help`.
const USAGE: &str = "Usage: rustis [/path/to/rustis.conf] [options] [-]
       rustis - (read config from stdin)
       rustis -v or --version
       rustis -h or --help

Options are Redis's configuration parameters, as redis-server takes them: every
`--name value [value ...]` is read as the line `name value ...` after the file
(so it overrides the file). Rustis adds `--threads N` (worker threads, default:
the cores available).

Examples:
       rustis (run the server with default settings)
       rustis /etc/rustis/6379.conf
       rustis --port 7777
       rustis /etc/myrustis.conf --loglevel verbose --save \"60 1\" --save \"300 10\"
";

/// The configuration text the command line adds after the file: one line per `--name`, its
/// arguments quoted (Redis's main() in server.c, including its `--save` with no value).
/// Returns the text and whether `-` asked for standard input.
fn options_of(argv: &[Vec<u8>], first: usize) -> (Vec<u8>, bool) {
    let mut options = Vec::new();
    let mut stdin = false;
    let mut handled_last = true;
    let argc = argv.len();
    for j in first..argc {
        let a = &argv[j];
        let next_is_option = j + 1 < argc && argv[j + 1].starts_with(b"--");
        if a == b"-" && (j == 1 || j == argc - 1) {
            stdin = true;
        } else if handled_last && a.starts_with(b"--") {
            if !options.is_empty() {
                options.push(b'\n');
            }
            options.extend_from_slice(&a[2..]);
            options.push(b' ');
            let words = split_args(a).map_or(0, |w| w.len());
            if words == 1 {
                handled_last = false;
                let save = a.eq_ignore_ascii_case(b"--save");
                let sentinel = a.eq_ignore_ascii_case(b"--sentinel");
                if save && next_is_option {
                    options.extend_from_slice(b"\"\"");
                    handled_last = true;
                } else if save && j == argc - 1 {
                    options.extend_from_slice(b"\"\"");
                } else if sentinel && next_is_option {
                    handled_last = true;
                }
            } else {
                handled_last = true;
            }
        } else {
            options.extend_from_slice(repr(a).as_bytes());
            options.push(b' ');
            handled_last = true;
        }
    }
    (options, stdin)
}

impl Cli {
    /// The settings of a start as redis-server takes its arguments: `[config-file] [-] [--name
    /// value...]`. Every parameter of the table can be given either way; the last line setting
    /// one wins. Err is what to print and the exit status (`--help`, `--version`, a bad line, a
    /// file that cannot be read).
    pub fn from_args<I, T>(args: I) -> Result<Cli, Exit>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let argv: Vec<Vec<u8>> = args
            .into_iter()
            .map(|a| a.into().as_bytes().to_vec())
            .collect();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let mut loader = Loader {
            cwd: cwd.clone(),
            ..Default::default()
        };
        let mut config_file = None;
        if argv.len() >= 2 {
            let quit = |text: String| Exit {
                status: 0,
                log: Vec::new(),
                stdout: text,
                stderr: Vec::new(),
            };
            match argv[1].as_slice() {
                b"-v" | b"--version" => {
                    return Err(quit(format!(
                        "Rustis server v={} (Redis {} compatible)\n",
                        crate::shared::VERSION,
                        crate::shared::REDIS_VERSION
                    )))
                }
                b"-h" | b"--help" => return Err(quit(USAGE.to_string())),
                _ => {}
            }
            let first = if argv[1].first() != Some(&b'-') {
                config_file = Some(absolute(&argv[1], &cwd));
                2
            } else {
                1
            };
            let (options, stdin) = options_of(&argv, first);
            let mut text = Vec::new();
            if let Some(path) = &config_file {
                let p = PathBuf::from(std::ffi::OsStr::from_bytes(path));
                let data = read(&p).map_err(|e| Exit::cannot_open(path, &e))?;
                text = as_redis_reads(&data);
                loader.stack.push(p.canonicalize().unwrap_or(p));
            }
            if stdin {
                use std::io::Read;
                crate::log_at!(Warning, "Reading config from stdin");
                let mut data = Vec::new();
                let _ = std::io::stdin().read_to_end(&mut data);
                text.extend_from_slice(&as_redis_reads(&data));
            }
            text.push(b'\n');
            text.extend_from_slice(&options);
            loader.load(&text)?;
            if let Some(why) = loader.acl_failure.take() {
                return Err(Exit {
                    status: 1,
                    log: vec![
                        why,
                        "Critical error while loading ACLs. Exiting.".to_string(),
                    ],
                    stdout: String::new(),
                    stderr: Vec::new(),
                });
            }
        }
        let mut cli = <Cli as clap::Parser>::try_parse_from(["rustis"]).map_err(|e| Exit {
            status: 1,
            log: Vec::new(),
            stdout: String::new(),
            stderr: e.to_string().into_bytes(),
        })?;
        let last = |name: &str| {
            let i = index_of(name)?;
            loader
                .changes
                .iter()
                .rev()
                .find(|(j, _)| *j == i)
                .map(|(_, v)| v.clone())
        };
        if let Some(v) = last("port").and_then(|v| v.parse().ok()) {
            cli.port = v;
        }
        if let Some(v) = last("bind") {
            cli.bind = v;
        }
        if let Some(v) = last("databases").and_then(|v| v.parse().ok()) {
            cli.databases = v;
        }
        if let Some(v) = last("maxclients").and_then(|v| v.parse().ok()) {
            cli.maxclients = v;
        }
        if let Some(v) = last("loglevel") {
            cli.loglevel = v;
        }
        if let Some(v) = last("requirepass") {
            cli.requirepass = v;
        }
        if let Some(v) = last("protected-mode") {
            cli.protected_mode = v;
        }
        cli.threads = loader.threads;
        cli.config_file = config_file.map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(&p)));
        cli.settings = loader.changes;
        cli.users = loader.users;
        Ok(cli)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> String {
        let argv: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        String::from_utf8(options_of(&argv, 1).0).unwrap()
    }

    #[test]
    fn command_line_becomes_lines_as_in_redis() {
        assert_eq!(opts(&["rustis", "--port", "7000"]), "port \"7000\" ");
        assert_eq!(
            opts(&["rustis", "--save", "--port", "1"]),
            "save \"\"\nport \"1\" "
        );
        assert_eq!(
            opts(&["rustis", "--port", "1", "--save"]),
            "port \"1\" \nsave \"\""
        );
        assert_eq!(
            opts(&["rustis", "--save", "3600", "1", "--save", "60 100"]),
            "save \"3600\" \"1\" \nsave \"60 100\" "
        );
        assert_eq!(opts(&["rustis", "--port 7000"]), "port 7000 ");
    }

    #[test]
    fn absolute_paths_as_redis() {
        let cwd = Path::new("/a/b");
        assert_eq!(absolute(b"x.conf", cwd), b"/a/b/x.conf");
        assert_eq!(absolute(b"../../x.conf", cwd), b"/x.conf");
        assert_eq!(absolute(b" /etc/x.conf\n", cwd), b"/etc/x.conf");
    }

    #[test]
    fn reads_as_fgets() {
        // The NUL cuts the rest of its line, newline included, as strlen does in Redis.
        assert_eq!(as_redis_reads(b"ab\0cd\nef"), b"abef");
        let long = vec![b'a'; 2100];
        assert_eq!(as_redis_reads(&long).len(), 2100);
        let mut z = vec![b'a'; 1030];
        z[1025] = 0;
        assert_eq!(as_redis_reads(&z).len(), 1025);
    }
}
