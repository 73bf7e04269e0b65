//! Starting from a configuration file and the command line, and CONFIG REWRITE, against
//! redis-server 7.0: the same bad files must be refused with the same report (line number,
//! line, reason) and exit status; the same good files must give the same CONFIG GET values; the
//! same CONFIG SETs followed by CONFIG REWRITE must give the same file.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bulks, Conn, Rustis};
use rustis::config::Cli;

const RUSTIS: &str = env!("CARGO_BIN_EXE_rustis");

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rustis-conf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(path: &Path, text: &[u8]) {
    std::fs::write(path, text).unwrap();
}

/// What a server printed before exiting: status, stderr, and its log lines without their
/// `pid:role date` prefix.
#[derive(Debug, PartialEq)]
struct Ended {
    status: Option<i32>,
    stderr: String,
    log: Vec<String>,
}

/// Runs `program args` (stdin fed with `input`), which must exit within 10 s.
fn run(program: &str, args: &[&str], input: &[u8]) -> Ended {
    run_in(Path::new("."), program, args, input)
}

/// [`run`] in the working directory `cwd`.
fn run_in(cwd: &Path, program: &str, args: &[&str], input: &[u8]) -> Ended {
    let mut child = Command::new(program)
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-server is required (apt-get install redis-server)");
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input);
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{program} {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stdout)
        .lines()
        // `123:C 04 Dec 2026 01:24:59.305 # text` -> `# text`
        .map(|l| l.splitn(6, ' ').nth(5).unwrap_or(l).to_string())
        .filter(|l| l.starts_with("# "))
        .collect();
    Ended {
        status: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        log,
    }
}

/// Both servers refuse `args` the same way (exit status 1, same report, same warnings).
fn same_refusal(args: &[&str], input: &[u8]) -> Ended {
    let redis = run("redis-server", args, input);
    let ours = run(RUSTIS, args, input);
    assert_eq!(redis.status, Some(1), "redis-server {args:?}: {redis:?}");
    assert_eq!(ours, redis, "rustis {args:?}");
    ours
}

/// A bad file (and optional command line) is refused as redis-server refuses it.
fn same_file_refusal(dir: &Path, text: &str, extra: &[&str]) -> String {
    let f = dir.join("bad.conf");
    write(&f, text.as_bytes());
    let mut args = vec![f.to_str().unwrap()];
    args.extend_from_slice(extra);
    same_refusal(&args, b"").stderr
}

#[test]
fn errors_are_reported_as_redis_reports_them() {
    let dir = scratch("errors");
    let cases: &[(&str, &[&str])] = &[
        ("port 7000\n# comment\n\n  foo bar  \n", &[]),
        ("timeout 5 6\n", &[]),
        ("timeout\n", &[]),
        ("timeout abc\n", &[]),
        ("timeout 01\n", &[]),
        ("timeout -1\n", &[]),
        ("hz 99999999999\n", &[]),
        ("maxmemory 1zb\n", &[]),
        ("proto-max-bulk-len 1k\n", &[]),
        ("hash-max-listpack-value -1\n", &[]),
        ("protected-mode maybe\n", &[]),
        ("loglevel loud\n", &[]),
        ("maxmemory-policy lru\n", &[]),
        ("port 65536\n", &[]),
        ("io-threads 0\n", &[]),
        ("tcp-backlog x\n", &[]),
        ("requirepass \"abc\n", &[]),
        ("requirepass 'abc\n", &[]),
        ("requirepass \"a\"b\n", &[]),
        ("requirepass 'a'b\n", &[]),
        ("client-output-buffer-limit normal 1 2\n", &[]),
        ("client-output-buffer-limit master 1 2 3\n", &[]),
        ("client-output-buffer-limit normal 1x 2 3\n", &[]),
        ("client-output-buffer-limit normal 1 2 -3\n", &[]),
        ("notify-keyspace-events KQ\n", &[]),
        ("latency-tracking-info-percentiles 50 101\n", &[]),
        ("latency-tracking-info-percentiles 50 abc\n", &[]),
        ("save 3600\n", &[]),
        ("save 0 1\n", &[]),
        ("save \"3600 1\" \"60 2\"\n", &[]),
        ("bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n", &[]),
        ("slowlog-log-slower-than -2\n", &[]),
        ("mymodule.option\n", &[]),
        // Deprecated directives are read and ignored (with one argument).
        (
            "list-max-ziplist-entries 5\nlua-replicate-commands yes\nfoo\n",
            &[],
        ),
        ("list-max-ziplist-value 1 2\n", &[]),
        // The command line's lines come after the file's, numbered on.
        ("port 7000\ntimeout 1\n", &["--timeout", "abc"]),
        ("", &["--port", "7000", "--foo", "bar"]),
        ("", &["--timeout"]),
        ("", &["--timeout", "1", "2"]),
        ("", &["--save", "--timeout", "x"]),
        ("", &["--port 7000 8000"]),
        ("", &["--requirepass", "a\"b\n", "c"]),
        ("user bob on badrule\n", &[]),
        ("user bob on\nuser bob off\n", &[]),
        ("user bob on (~x\n", &[]),
        ("user\n", &[]),
        ("user bob on #abc\n", &[]),
        ("user bob on ~x allkeys ~y\n", &[]),
        ("user bob on &x allchannels &y\n", &[]),
        ("user bob on +nosuchcmd\nfoo\n", &[]),
        ("include\n", &[]),
        ("include a b\n", &[]),
        ("\x07\x01garbage\n", &[]),
    ];
    for (text, extra) in cases {
        let report = same_file_refusal(&dir, text, extra);
        assert!(
            report.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"),
            "{report}"
        );
    }
    // Without a file, the command line alone.
    same_refusal(&["--port", "7000", "--timeout", "x"], b"");
    same_refusal(&["--maxmemory-policy"], b"");
    // Standard input: after the file, before the command line.
    let f = dir.join("ok.conf");
    write(&f, b"timeout 1\n");
    same_refusal(&[f.to_str().unwrap(), "-"], b"hz 5\nfoo\n");
    same_refusal(&["-"], b"timeout x\n");
    // Rules that pass the line's check and fail when the users are created: Redis reports
    // them in its log once it is running, then exits.
    for text in [
        "user bob on +nosuchcmd\n",
        "user \"a b\" on\n",
        "user ok on\nuser bob on +@nosuchcat\n",
    ] {
        let f = dir.join("acl.conf");
        write(&f, text.as_bytes());
        let port = free_port().to_string();
        let args = [f.to_str().unwrap(), "--port", port.as_str()];
        let redis = run("redis-server", &args, b"");
        let ours = run(RUSTIS, &args, b"");
        assert_eq!(redis.status, Some(1));
        assert_eq!(ours.status, Some(1));
        assert_eq!(ours.log, redis.log[redis.log.len() - 2..], "{text}");
        assert!(ours.log[1].contains("Critical error while loading ACLs"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn users_from_the_file_as_redis_creates_them() {
    let dir = scratch("users");
    let f = dir.join("u.conf");
    write(
        &f,
        b"requirepass other\n\
          user bob on >pw ~k* +get resetchannels (~x +set)\n\
          user default on >secret ~* &* +@all\n\
          user carol\n",
    );
    let redis = redis_from(&f, &[]);
    let ours = rustis_from(Some(&f), &[]);
    for (pw, reply) in [("secret", "+OK\r\n"), ("other", "")] {
        let mut rc = Conn::new(redis.port);
        let mut oc = Conn::new(ours.port);
        let theirs = rc.call(&["auth", pw]);
        assert_eq!(oc.call(&["auth", pw]), theirs);
        if !reply.is_empty() {
            assert_eq!(theirs, reply.as_bytes());
            assert_eq!(oc.call(&["acl", "list"]), rc.call(&["acl", "list"]));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreadable_files_and_includes_as_redis() {
    let dir = scratch("includes");
    let missing = dir.join("missing.conf");
    let ended = same_refusal(&[missing.to_str().unwrap()], b"");
    assert!(ended.log[0].contains("Fatal error, can't open config file"));
    // An error inside an included file is reported with its own line number.
    let inc = dir.join("inc.conf");
    write(&inc, b"# included\n\ntimeout 1\nhz abc\n");
    same_file_refusal(
        &dir,
        &format!("port 7000\ninclude {}\ntimeout 2\n", inc.display()),
        &[],
    );
    same_file_refusal(&dir, &format!("include {}\n", missing.display()), &[]);
    // A wildcard that matches nothing includes nothing; one that matches includes in order.
    write(&dir.join("a-1.conf"), b"timeout 1\n");
    write(&dir.join("a-2.conf"), b"bogus 1\n");
    same_file_refusal(
        &dir,
        &format!(
            "include {}/none-*.conf\ninclude {}/a-*.conf\n",
            dir.display(),
            dir.display()
        ),
        &[],
    );
    // Relative paths start from the working directory, then from the last `dir` (Redis
    // changes to it as it reads the line); the file itself is named by its absolute path.
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    write(&dir.join("first.conf"), b"timeout 1\n");
    write(&sub.join("second.conf"), b"# in sub\nhz abc\n");
    write(
        &dir.join("rel.conf"),
        b"include first.conf\ndir sub\ninclude second.conf\n",
    );
    for args in [
        &["rel.conf"][..],
        &["./rel.conf"],
        &["missing.conf"],
        &["sub/../missing.conf"],
    ] {
        let redis = run_in(&dir, "redis-server", args, b"");
        let ours = run_in(&dir, RUSTIS, args, b"");
        assert_eq!(redis.status, Some(1));
        assert_eq!(ours, redis, "{args:?}");
    }
    same_file_refusal(&dir, "dir /nonexistent/dir\n", &[]);
    same_file_refusal(
        &dir,
        &format!("dir {}\n", dir.join("first.conf").display()),
        &[],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_files_end_in_a_report() {
    let dir = scratch("hostile");
    // A 5 MB line, then a bad one: same report as Redis.
    let mut big = b"requirepass ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 5 << 20));
    big.extend_from_slice(b"\nfoo\n");
    let f = dir.join("big.conf");
    write(&f, &big);
    same_refusal(&[f.to_str().unwrap()], b"");
    // NUL bytes cut their line (with its newline) as in Redis.
    let f = dir.join("nul.conf");
    write(&f, b"timeout 1\ntime\0out 2\nout 3\nhz x\n");
    same_refusal(&[f.to_str().unwrap()], b"");
    // Binary garbage: refused with a report, never a crash or a hang.
    let mut seed = 0x2545F4914F6CDD1Du64;
    for round in 0..20 {
        let bytes: Vec<u8> = (0..4096)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            })
            .collect();
        let f = dir.join(format!("garbage{round}.conf"));
        write(&f, &bytes);
        let ours = run(RUSTIS, &[f.to_str().unwrap(), "--port", "0"], b"");
        assert_eq!(ours.status, Some(1), "{ours:?}");
        assert!(ours.stderr.contains("FATAL CONFIG FILE ERROR"), "{ours:?}");
    }
    // An include loop (Redis overflows its stack): refused at the including line.
    let a = dir.join("loop-a.conf");
    let b = dir.join("loop-b.conf");
    write(
        &a,
        format!("timeout 1\ninclude {}\n", b.display()).as_bytes(),
    );
    write(&b, format!("include {}\n", a.display()).as_bytes());
    let ours = run(RUSTIS, &[a.to_str().unwrap()], b"");
    assert_eq!(ours.status, Some(1));
    assert!(
        ours.stderr.contains("Recursive include of") && ours.stderr.contains("at line 1"),
        "{ours:?}"
    );
    // A deep chain of distinct files is fine up to the limit, refused past it.
    for n in 0..300 {
        let next = dir.join(format!("chain{}.conf", n + 1));
        write(
            &dir.join(format!("chain{n}.conf")),
            format!("include {}\n", next.display()).as_bytes(),
        );
    }
    write(&dir.join("chain300.conf"), b"timeout 1\n");
    let ours = run(RUSTIS, &[dir.join("chain0.conf").to_str().unwrap()], b"");
    assert_eq!(ours.status, Some(1));
    assert!(
        ours.stderr.contains("Includes nested more than"),
        "{ours:?}"
    );
    let cli = Cli::from_args(["rustis", dir.join("chain200.conf").to_str().unwrap()]);
    assert!(cli.is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A redis-server child started from a file, killed on drop.
struct RedisChild {
    port: u16,
    child: std::process::Child,
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts redis-server from `file` on a free port (given on its command line).
fn redis_from(file: &Path, extra: &[&str]) -> RedisChild {
    let port = free_port();
    let mut args = vec![
        file.to_str().unwrap().to_string(),
        "--port".to_string(),
        port.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new("redis-server")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is required");
    let r = RedisChild { port, child };
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    r
}

/// Starts Rustis in-process from `file` and extra arguments, on a free port.
fn rustis_from(file: Option<&Path>, extra: &[&str]) -> Rustis {
    let mut argv: Vec<String> = vec!["rustis".into()];
    if let Some(f) = file {
        argv.push(f.to_str().unwrap().into());
    }
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv.extend(["--port", "0", "--threads", "2"].map(String::from));
    let cli = Cli::from_args(argv).expect("file accepted");
    let server = rustis::server::start(&cli).expect("start rustis");
    Rustis {
        port: server.addr.port(),
        server: Some(server),
    }
}

/// CONFIG GET * as a map.
fn all_params(port: u16, password: Option<&str>) -> BTreeMap<String, String> {
    let mut c = Conn::new(port);
    if let Some(p) = password {
        c.call(&["auth", p]);
    }
    let b = bulks(&c.call(&["config", "get", "*"]));
    b.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}

/// Parameters whose values differ between the servers for reasons outside this test: where
/// they listen, and defaults Rustis chose differently (bind, dir) or cannot change yet.
const LOCAL: &[&str] = &["port", "bind", "dir", "save", "appendonly", "databases"];

/// The values Rustis shows must be Redis's for every parameter both have.
fn same_values(ours: &BTreeMap<String, String>, redis: &BTreeMap<String, String>) {
    for (k, v) in ours {
        if LOCAL.contains(&k.as_str()) {
            continue;
        }
        let theirs = redis
            .get(k)
            .unwrap_or_else(|| panic!("redis-server has no {k}"));
        assert_eq!(v, theirs, "{k}");
    }
}

/// A file exercising the syntax: quoting and escapes, units, aliases, case, repeated and
/// multi-argument directives, an include, comments and blank lines.
fn syntax_file(dir: &Path) -> PathBuf {
    let inc = dir.join("inc.conf");
    write(&inc, b"# included\nslowlog-max-len 64\nhz 20\n");
    let text = format!(
        "# Rustis test file\n\
         \n\
         TimeOut 7\n\
         \ttimeout   8   \r\n\
         requirepass \"p\\x41ss \\\"w\\\"\\n\"\n\
         notify-keyspace-events 'KEA'\n\
         hash-max-ziplist-entries 100\n\
         hash-max-listpack-value 1kb\n\
         proto-max-bulk-len 2MB\n\
         client-query-buffer-limit 1g\n\
         stream-node-max-bytes 4Kb\n\
         zset-max-listpack-value 1K\n\
         client-output-buffer-limit pubsub 64mb 16mb 90\n\
         client-output-buffer-limit normal 1mb 512kb 10 replica 1gb 1gb 0\n\
         latency-tracking-info-percentiles 50 99.5\n\
         maxmemory-policy ALLKEYS-LRU\n\
         acl-pubsub-default allchannels\n\
         save \"\"\n\
         save \"\"\n\
         include {}\n\
         lazyfree-lazy-user-del yes\n",
        inc.display()
    );
    let f = dir.join("syntax.conf");
    write(&f, text.as_bytes());
    f
}

#[test]
fn a_file_sets_what_redis_sets() {
    let dir = scratch("syntax");
    let f = syntax_file(&dir);
    let redis = redis_from(&f, &[]);
    let ours = rustis_from(Some(&f), &[]);
    let pw = Some("pAss \"w\"\n");
    let r = all_params(redis.port, pw);
    let o = all_params(ours.port, pw);
    same_values(&o, &r);
    assert_eq!(o["timeout"], "8");
    assert_eq!(o["hash-max-listpack-entries"], "100");
    assert_eq!(o["hash-max-listpack-value"], "1024");
    assert_eq!(o["client-query-buffer-limit"], "1000000000");
    assert_eq!(o["acl-pubsub-default"], "allchannels");
    // acl-pubsub-default's effect: a new user gets every channel.
    let mut c = Conn::new(ours.port);
    c.call(&["auth", "pAss \"w\"\n"]);
    c.call(&["acl", "setuser", "u1"]);
    let mut rc = Conn::new(redis.port);
    rc.call(&["auth", "pAss \"w\"\n"]);
    rc.call(&["acl", "setuser", "u1"]);
    assert_eq!(
        c.call(&["acl", "getuser", "u1"]),
        rc.call(&["acl", "getuser", "u1"])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn command_line_overrides_the_file() {
    let dir = scratch("override");
    let f = dir.join("o.conf");
    write(&f, b"timeout 7\nhz 20\nbind 127.0.0.1\n");
    let args = [
        "--timeout",
        "9",
        "--bind",
        "127.0.0.1 ::1",
        "--maxmemory-policy",
        "volatile-lfu",
        "--client-output-buffer-limit",
        "pubsub 1mb 1mb 1",
        "--latency-tracking-info-percentiles",
        "1",
        "2",
        "--notify-keyspace-events",
        "Ex",
        "--requirepass",
        "",
        "--tcp-backlog",
        "100",
        "--io-threads",
        "2",
        "--enable-debug-command",
        "no",
    ];
    let redis = redis_from(&f, &args);
    let ours = rustis_from(Some(&f), &args);
    let o = all_params(ours.port, None);
    same_values(&o, &all_params(redis.port, None));
    assert_eq!(o["timeout"], "9");
    assert_eq!(o["bind"], "127.0.0.1 ::1");
    assert_eq!(o["tcp-backlog"], "100");
    // Immutable parameters are set this way only.
    let mut c = Conn::new(ours.port);
    assert!(
        String::from_utf8_lossy(&c.call(&["config", "set", "io-threads", "3"]))
            .contains("immutable")
    );
    // databases from the command line: SELECT past it fails.
    let few = rustis_from(None, &["--databases", "4"]);
    let mut c = Conn::new(few.port);
    assert_eq!(c.call(&["select", "3"]), b"+OK\r\n");
    assert_eq!(
        c.call(&["select", "4"]),
        b"-ERR DB index is out of range\r\n"
    );
    // --threads is Rustis's own, on the command line or in the file.
    write(&f, b"threads 3\n");
    let cli = Cli::from_args(["rustis", f.to_str().unwrap()]).unwrap();
    assert_eq!(cli.worker_count(), 3);
    let cli = Cli::from_args(["rustis", f.to_str().unwrap(), "--threads", "1"]).unwrap();
    assert_eq!(cli.worker_count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_parameter_is_a_directive_and_a_flag() {
    let dir = scratch("every");
    let defaults = all_params(rustis_from(None, &[]).port, None);
    assert!(defaults.len() >= 60, "{}", defaults.len());
    let mut text = String::new();
    for (k, v) in &defaults {
        if k == "port" {
            continue;
        }
        // Each value as CONFIG GET shows it reads back as itself, from a file...
        text.push_str(&format!("{k} {}\n", quote(v)));
    }
    let f = dir.join("all.conf");
    write(&f, text.as_bytes());
    let from_file = all_params(rustis_from(Some(&f), &[]).port, None);
    // ... and from the command line.
    let mut args: Vec<String> = Vec::new();
    for (k, v) in &defaults {
        if k != "port" {
            args.push(format!("--{k}"));
            args.push(v.clone());
        }
    }
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let from_args = all_params(rustis_from(None, &argv).port, None);
    for (k, v) in &defaults {
        if k != "port" {
            assert_eq!(&from_file[k], v, "{k} from a file");
            assert_eq!(&from_args[k], v, "{k} from the command line");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `v` as a file argument.
fn quote(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                s.push('\\');
                s.push(c)
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[test]
fn repeated_save_lines_add_up_as_in_redis() {
    let dir = scratch("save");
    let f = dir.join("s.conf");
    write(&f, b"save 3600 1\nsave 60 100\n");
    let redis = redis_from(&f, &[]);
    let theirs = all_params(redis.port, None)["save"].clone();
    assert_eq!(theirs, "3600 1 60 100");
    match Cli::from_args(["rustis", f.to_str().unwrap()]) {
        // Until snapshots exist, save points are refused rather than ignored.
        Err(e) => assert!(
            String::from_utf8_lossy(&e.stderr).contains(rustis::config::NOT_SUPPORTED),
            "{e:?}"
        ),
        Ok(_) => {
            let ours = rustis_from(Some(&f), &[]);
            assert_eq!(all_params(ours.port, None)["save"], theirs);
        }
    }
    // The command line's repeated --save, and `--save` with no value, as redis-server.
    write(&f, b"save \"\"\n");
    let redis = redis_from(&f, &["--save", "", "--save", "--timeout", "1"]);
    assert_eq!(all_params(redis.port, None)["save"], "");
    let ours = rustis_from(Some(&f), &["--save", "", "--save", "--timeout", "1"]);
    assert_eq!(all_params(ours.port, None)["save"], "");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The lines of a rewritten file: those before the signature in order, those after it as a
/// set (Redis appends in its hash table's order), each line's arguments as read back, without
/// the lines of parameters only one server writes.
fn shape(text: &str) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let skip = ["dir", "port"];
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut past = false;
    for l in text.lines() {
        if l == "# Generated by CONFIG REWRITE" {
            past = true;
            continue;
        }
        let words: Vec<String> = if l.starts_with('#') || l.is_empty() {
            vec![l.to_string()]
        } else {
            rustis_split(l)
        };
        if words.first().is_some_and(|w| skip.contains(&w.as_str())) {
            continue;
        }
        if past {
            after.push(words);
        } else {
            before.push(words);
        }
    }
    after.sort();
    (before, after)
}

/// A line's arguments (only plain and double-quoted words occur in rewritten files).
fn rustis_split(l: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut inq = false;
    let mut chars = l.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        match (inq, c) {
            (false, ' ') => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (false, '"') => {
                inq = true;
                any = true
            }
            (true, '"') => inq = false,
            (true, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(match n {
                        'n' => '\n',
                        n => n,
                    })
                }
            }
            (_, c) => {
                cur.push(c);
                any = true
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

const START: &str = "# A starting file\n\
# with comments\n\
\n\
bind 127.0.0.1 -::1\n\
\n\
# limits\n\
timeout 10\n\
timeout 20\n\
hash-max-ziplist-entries 100\n\
   maxmemory-policy allkeys-lru   \n\
client-output-buffer-limit pubsub 64mb 16mb 90\n\
notify-keyspace-events \"KEA\"\n\
loglevel notice\n\
\n\
\n\
slowlog-max-len 64\n\
hz 20\n\
user bob on >pw ~k* +get\n\
save \"\"\n";

/// The same CONFIG SETs on both servers.
const SETS: &[&[&str]] = &[
    &["timeout", "0"],
    &["hz", "10"],
    &["slowlog-max-len", "10", "slowlog-log-slower-than", "-1"],
    &[
        "hash-max-listpack-entries",
        "128",
        "proto-max-bulk-len",
        "1gb",
    ],
    &["notify-keyspace-events", ""],
    &["client-query-buffer-limit", "3000000"],
    &[
        "client-output-buffer-limit",
        "normal 1mb 1mb 5 pubsub 32mb 8mb 60",
    ],
    &["latency-tracking-info-percentiles", "12.5 99"],
    &["requirepass", "a b\"c"],
    &["list-max-ziplist-size", "5"],
    &["maxmemory-policy", "volatile-ttl"],
    &["acllog-max-len", "64"],
];

/// The same ACL changes on both servers (CONFIG REWRITE writes the users).
const ACL: &[&[&str]] = &[
    &["acl", "setuser", "alice", "on", ">x", "~a*", "+@read"],
    &["acl", "setuser", "bob", "off", "resetkeys"],
];

fn config_set(c: &mut Conn, pairs: &[&str]) -> Vec<u8> {
    let mut args = vec!["config", "set"];
    args.extend_from_slice(pairs);
    c.call(&args)
}

#[test]
fn config_rewrite_matches_redis_and_round_trips() {
    let dir = scratch("rewrite");
    let rf = dir.join("redis.conf");
    let of = dir.join("rustis.conf");
    write(&rf, START.as_bytes());
    write(&of, START.as_bytes());
    let redis = redis_from(&rf, &[]);
    let ours = rustis_from(Some(&of), &[]);
    let mut rc = Conn::new(redis.port);
    let mut oc = Conn::new(ours.port);
    for s in SETS {
        let theirs = config_set(&mut rc, s);
        assert_eq!(config_set(&mut oc, s), theirs, "{s:?}");
    }
    for a in ACL {
        let theirs = rc.call(a);
        assert_eq!(oc.call(a), theirs, "{a:?}");
    }
    let pw = "a b\"c";
    rc.call(&["auth", pw]);
    oc.call(&["auth", pw]);
    assert_eq!(rc.call(&["config", "rewrite"]), b"+OK\r\n");
    assert_eq!(oc.call(&["config", "rewrite"]), b"+OK\r\n");
    let theirs = std::fs::read_to_string(&rf).unwrap();
    let mine = std::fs::read_to_string(&of).unwrap();
    assert_eq!(shape(&mine), shape(&theirs), "\n{mine}\n---\n{theirs}");
    // Again: the file's last newline reads as one more (empty) line, in both; from then on
    // the text no longer changes.
    assert_eq!(rc.call(&["config", "rewrite"]), b"+OK\r\n");
    assert_eq!(oc.call(&["config", "rewrite"]), b"+OK\r\n");
    let theirs = std::fs::read_to_string(&rf).unwrap();
    let mine = std::fs::read_to_string(&of).unwrap();
    assert_eq!(shape(&mine), shape(&theirs), "\n{mine}\n---\n{theirs}");
    assert!(mine.ends_with("\n\n") && theirs.ends_with("\n\n"));
    assert_eq!(oc.call(&["config", "rewrite"]), b"+OK\r\n");
    assert_eq!(std::fs::read_to_string(&of).unwrap(), mine);
    // Nothing left beside the file, which has a new file's mode.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("rustis.conf"))
        .collect();
    assert_eq!(names, ["rustis.conf"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&of).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o600, 0o600);
    // Restarting from the rewritten file gives the same parameters.
    let before = all_params(ours.port, Some(pw));
    let again = rustis_from(Some(&of), &[]);
    let after = all_params(again.port, Some(pw));
    assert_eq!(before, after);
    // A rewrite back to defaults removes lines as Redis does.
    for c in [&mut rc, &mut oc] {
        config_set(
            c,
            &[
                "client-output-buffer-limit",
                "normal 0 0 0 pubsub 32mb 8mb 60",
            ],
        );
        config_set(c, &["requirepass", ""]);
        c.call(&["config", "rewrite"]);
    }
    let theirs = std::fs::read_to_string(&rf).unwrap();
    let mine = std::fs::read_to_string(&of).unwrap();
    assert_eq!(shape(&mine), shape(&theirs), "\n{mine}\n---\n{theirs}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_rewrite_failures_as_redis() {
    // Without a file.
    let ours = rustis_from(None, &[]);
    assert_eq!(
        Conn::new(ours.port).call(&["config", "rewrite"]),
        b"-ERR The server is running without a config file\r\n"
    );
    // The file's directory gone: both fail creating the temporary file.
    let dir = scratch("rewrite-fail");
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    write(&sub.join("r.conf"), b"timeout 5\n");
    write(&sub.join("o.conf"), b"timeout 5\n");
    let redis = redis_from(&sub.join("r.conf"), &[]);
    let ours = rustis_from(Some(&sub.join("o.conf")), &[]);
    std::fs::remove_dir_all(&sub).unwrap();
    let theirs = Conn::new(redis.port).call(&["config", "rewrite"]);
    assert_eq!(
        theirs,
        b"-ERR Rewriting config file: No such file or directory\r\n"
    );
    assert_eq!(Conn::new(ours.port).call(&["config", "rewrite"]), theirs);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_get_star_lists_every_parameter() {
    // Every row of the table, each once; every name is one redis-server 7.0 knows.
    let ours = all_params(rustis_from(None, &[]).port, None);
    let redis = common::start_redis();
    let theirs = all_params(redis.port, None);
    for k in ours.keys() {
        assert!(theirs.contains_key(k), "{k} is not a Redis parameter");
    }
    let server = rustis_from(None, &[]);
    let mut c = Conn::new(server.port);
    let listed = bulks(&c.call(&["config", "get", "*"]));
    assert_eq!(listed.len() / 2, ours.len(), "a name listed twice");
}
