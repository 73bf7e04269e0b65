//! Test harness: start Rustis in-process and a real redis-server as a child, both on free ports, and
//! talk raw RESP to them so replies can be compared byte for byte.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustis::config::Cli;

pub mod diff;
pub mod notify;
pub mod pair;
#[allow(unused_imports)] // each test binary uses a few of them
pub use diff::{bulks, int_of};

/// The worker (of `workers`) that owns `key`: the owner of its Redis Cluster slot.
pub fn owner(key: &str, workers: usize) -> usize {
    rustis::keyslot::slot_owner(rustis::keyslot::key_slot(key.as_bytes()), workers)
}

/// A deterministic pseudo-random sequence (a 64-bit LCG, high bits), so failures reproduce.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next 31-bit value.
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A value in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A Rustis server running in this process on a free port.
pub struct Rustis {
    pub port: u16,
    pub server: Option<rustis::server::Server>,
}

impl Drop for Rustis {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

/// Starts Rustis with `threads` workers on a free port.
pub fn start_rustis(threads: usize) -> Rustis {
    start_rustis_with(threads, &[])
}

/// Starts Rustis with `threads` workers on a free port and extra command-line arguments, read
/// as the binary reads them (`--name value` for any parameter of the table).
pub fn start_rustis_with(threads: usize, extra: &[&str]) -> Rustis {
    let threads = threads.to_string();
    // No snapshots, and a directory of its own: a test server never loads nor writes another's
    // dump.rdb (a test of persistence passes its own --dir and --save, which come later and win).
    let dir = test_dir("rustis");
    let mut argv = vec![
        "rustis",
        "--port",
        "0",
        "--threads",
        threads.as_str(),
        "--loglevel",
        "warning",
        "--save",
        "",
        "--dir",
        dir.as_str(),
    ];
    argv.extend_from_slice(extra);
    let cli = Cli::from_args(argv).expect("valid test flags");
    let server = rustis::server::start(&cli).expect("start rustis");
    Rustis {
        port: server.addr.port(),
        server: Some(server),
    }
}

/// A fresh empty directory under the system's temporary directory, unique to this process and
/// call (left behind for inspection; the OS cleans its temporary directory).
pub fn test_dir(tag: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a test directory");
    dir.to_string_lossy().into_owned()
}

/// A redis-server child on a free port, killed on drop.
pub struct Redis {
    pub port: u16,
    child: Child,
}

impl Drop for Redis {
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

/// Starts a real redis-server. Panics when it is missing: differential tests must not be skipped.
pub fn start_redis() -> Redis {
    // A directory of its own: redis-server loads the dump.rdb of its directory at startup.
    start_redis_in(&test_dir("redis"))
}

/// Starts a real redis-server serving directory `dir` (its dump.rdb, if any, loaded at startup).
pub fn start_redis_in(dir: &str) -> Redis {
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                dir,
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server is required for differential tests (apt-get install redis-server)",
            );
        let mut r = Redis { port, child };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            // The free port may have been taken by another test's server between our probe and
            // redis-server's bind: wait until the server answering is ours.
            match server_pid(port) {
                Some(pid) if pid == r.child.id() => return r,
                Some(_) => break,
                None => {}
            }
            if let Ok(Some(_)) = r.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("redis-server did not start");
}

/// The process id INFO reports on `port`, or None if nothing answers (yet).
fn server_pid(port: u16) -> Option<u32> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(&encode(&[b"INFO", b"server"])).ok()?;
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(at) = text.find("process_id:") {
            if let Some(end) = text[at..].find("\r\n") {
                return text[at + "process_id:".len()..at + end].parse().ok();
            }
        }
        let n = s.read(&mut buf).ok().filter(|&n| n > 0)?;
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

/// A raw RESP connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    /// Connects to 127.0.0.1:`port`.
    pub fn new(port: u16) -> Self {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        }
    }

    /// Another handle on the socket, e.g. to write a pipeline from one thread while another reads
    /// the replies.
    pub fn stream(&self) -> TcpStream {
        self.writer.try_clone().unwrap()
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// Sends a command as a multibulk request.
    pub fn send(&mut self, args: &[&[u8]]) {
        self.send_raw(&encode(args));
    }

    /// Reads one whole reply, returned as its raw bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        read_value(&mut self.reader, &mut out);
        out
    }

    /// Sends a command and reads its reply.
    pub fn call(&mut self, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send(&a);
        self.read_reply()
    }

    /// Reads until the server closes the connection; returns what came.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.reader.read_to_end(&mut out);
        out
    }
}

/// Encodes a multibulk request.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn read_line<R: BufRead>(r: &mut R, out: &mut Vec<u8>) -> Vec<u8> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).expect("read reply");
    assert!(!line.is_empty(), "connection closed while reading a reply");
    out.extend_from_slice(&line);
    line.truncate(line.len().saturating_sub(2));
    line
}

fn read_value<R: BufRead>(r: &mut R, out: &mut Vec<u8>) {
    let line = read_line(r, out);
    let n = || {
        std::str::from_utf8(&line[1..])
            .unwrap()
            .parse::<i64>()
            .unwrap()
    };
    match line[0] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {}
        b'$' | b'=' | b'!' => {
            let len = n();
            if len >= 0 {
                let mut body = vec![0; len as usize + 2];
                r.read_exact(&mut body).unwrap();
                out.extend_from_slice(&body);
            }
        }
        b'*' | b'~' | b'>' => {
            for _ in 0..n().max(0) {
                read_value(r, out);
            }
        }
        b'%' | b'|' => {
            for _ in 0..2 * n().max(0) {
                read_value(r, out);
            }
        }
        c => panic!(
            "unexpected reply type {:?} in {:?}",
            c as char,
            String::from_utf8_lossy(&line)
        ),
    }
}

/// Both servers, for differential tests: each command goes to both, replies must be identical.
pub struct Diff {
    pub redis: Redis,
    pub rustis: Rustis,
    pub a: Conn,
    pub b: Conn,
}

impl Diff {
    /// Starts redis-server and a 2-worker Rustis.
    pub fn new() -> Self {
        let redis = start_redis();
        let rustis = start_rustis(2);
        let a = Conn::new(redis.port);
        let b = Conn::new(rustis.port);
        Diff {
            redis,
            rustis,
            a,
            b,
        }
    }

    /// Sends `args` to both and asserts identical raw replies; returns the reply.
    pub fn check(&mut self, args: &[&str]) -> String {
        let ra = self.a.call(args);
        let rb = self.b.call(args);
        assert_eq!(
            String::from_utf8_lossy(&rb),
            String::from_utf8_lossy(&ra),
            "reply differs for {args:?} (left: rustis, right: redis)"
        );
        String::from_utf8_lossy(&ra).into_owned()
    }

    /// Sends `args` to both without comparing (replies that differ by nature: client ids, time).
    pub fn both(&mut self, args: &[&str]) {
        self.a.call(args);
        self.b.call(args);
    }

    /// Runs every command of a script (one command per line, whitespace-separated, no quoting).
    pub fn script(&mut self, script: &str) {
        for line in script
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let args: Vec<&str> = line.split_whitespace().collect();
            self.check(&args);
        }
    }

    /// Sends `args` to both and asserts the replies are equal after sorting array elements
    /// (for commands whose order is unspecified, e.g. SMEMBERS, KEYS).
    pub fn check_unordered(&mut self, args: &[&str]) {
        let ra = self.a.call(args);
        let rb = self.b.call(args);
        assert_eq!(
            sorted_elements(&rb),
            sorted_elements(&ra),
            "unordered reply differs for {args:?}"
        );
    }
}

/// Splits a flat array reply of bulk strings into its sorted elements (header first).
pub fn sorted_elements(reply: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(reply).into_owned();
    let mut lines: Vec<&str> = s.split("\r\n").collect();
    let header = lines.remove(0).to_string();
    let mut elems: Vec<String> = lines
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| format!("{}\r\n{}", c[0], c[1]))
        .collect();
    elems.sort();
    elems.insert(0, header);
    elems
}
