//! The process: binds the listeners, spawns one worker per core, handles signals, and holds the state
//! every worker may read (parameters, client registry, published statistics).

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use mio::{Poll, Waker};
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::{Cli, Params};
use crate::worker::{mailbox::Mailboxes, Worker, WAKER_TOKEN};

/// Rustis's version, reported by INFO and the startup line.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Redis version whose behaviour Rustis reproduces (INFO's `redis_version`, HELLO's `version`).
pub const REDIS_VERSION: &str = "7.0.15";

/// Set by SIGINT/SIGTERM; every worker checks it each loop iteration.
pub static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// Statistics one worker publishes for INFO (written only by that worker, read by any).
#[derive(Default)]
pub struct WorkerStats {
    pub connected_clients: AtomicU64,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub commands: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub expired_keys: AtomicU64,
    /// Net heap bytes this worker's thread allocated (signed, stored as i64 bits).
    pub used_memory: AtomicU64,
    /// Per database: keys, keys with a TTL.
    pub keys: Vec<(AtomicU64, AtomicU64)>,
    /// Command and error statistics, and what housekeeping measures (see [`crate::stats`]).
    pub ext: crate::stats::WorkerExt,
}

/// What CLIENT LIST shows of a connection; updated on connect, close and the commands that change it.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub name: String,
    pub lib_name: String,
    pub lib_ver: String,
    pub db: usize,
    pub resp: u8,
    pub created_ms: u64,
    /// Live buffer figures and activity, written by the connection's worker.
    pub gauge: Arc<ConnGauge>,
}

/// Live figures of one connection for CLIENT LIST / CLIENT INFO. Only the connection's worker writes
/// them (relaxed stores after each read/write pass, no lock); any worker may read them.
#[derive(Debug, Default)]
pub struct ConnGauge {
    /// Unparsed query bytes, and the free room of the query buffer.
    pub qbuf: AtomicU64,
    pub qbuf_free: AtomicU64,
    /// Reply buffer capacity and the peak it saw since the last resize check.
    pub rbs: AtomicU64,
    pub rbp: AtomicU64,
    /// Unwritten bytes of the reply buffer; replies queued behind it (count and bytes).
    pub obl: AtomicU64,
    pub oll: AtomicU64,
    pub omem: AtomicU64,
    /// Every byte this connection holds: its record and all its buffers.
    pub tot_mem: AtomicU64,
    /// Unix ms of the last command.
    pub last_ms: AtomicU64,
    /// Table index + 1 of the last command (0: none yet).
    pub last_cmd: AtomicU32,
    /// Waiting for the socket to become writable.
    pub want_write: AtomicBool,
}

/// State shared by all workers. Nothing here is touched per command except relaxed atomics.
pub struct Shared {
    pub params: Params,
    pub workers: usize,
    pub databases: usize,
    pub addr: SocketAddr,
    pub started: Instant,
    pub run_id: String,
    pub next_client_id: AtomicU64,
    pub shutdown: AtomicBool,
    pub clients: Mutex<BTreeMap<u64, ClientInfo>>,
    pub stats: Vec<WorkerStats>,
    /// INFO stats counters reset by CONFIG RESETSTAT are offsets subtracted from the published totals.
    pub stat_base: Mutex<[u64; 8]>,
    /// Server-wide statistics: instantaneous metrics, memory peak, latency monitor, reset base.
    pub info: crate::stats::ServerInfo,
}

impl Shared {
    /// Asks every worker to stop (SHUTDOWN, signals): they flush computed replies and exit.
    pub fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
    }

    /// Whether the server is stopping.
    pub fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed) || SIGNALLED.load(Ordering::Relaxed)
    }

    /// Every worker's statistics tables, for the readers in [`crate::stats`].
    pub fn worker_exts(&self) -> Vec<&crate::stats::WorkerExt> {
        self.stats.iter().map(|w| &w.ext).collect()
    }

    /// INFO's `used_memory`: heap bytes counted by the allocator wrapper, the sum of every worker's
    /// net bytes and of the other threads'. Without the wrapper (library use, tests), the resident
    /// size stands in.
    pub fn used_memory(&self) -> u64 {
        if crate::alloc::active() {
            let workers: i64 = self
                .stats
                .iter()
                .map(|w| w.used_memory.load(Ordering::Relaxed) as i64)
                .sum();
            (workers + crate::alloc::retired_bytes() as i64).max(1) as u64
        } else {
            crate::stats::rss_bytes().max(1)
        }
    }

    /// Locks the client registry (poisoning is ignored: the data is display-only).
    pub fn clients(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, ClientInfo>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Current Unix time in milliseconds.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A running server: its address and worker threads.
pub struct Server {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Waits for every worker to exit.
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }

    /// Stops the server and waits for it.
    pub fn stop(self) {
        self.shared.request_shutdown();
        self.join();
    }
}

/// Fails with "Address already in use" if anything listens on `addr` already, another Rustis
/// included. Our own listeners share the port through SO_REUSEPORT, which would also let a second
/// process join the group and take half the connections; a socket bound *without* SO_REUSEPORT
/// conflicts with any listener, so binding one first and closing it refuses that, as Redis does.
/// (Two processes started within the same instant could still both pass: the window is the few
/// microseconds between this probe and the first listener's bind.)
fn refuse_taken_port(addr: SocketAddr) -> io::Result<()> {
    let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    probe.set_reuse_address(true)?;
    if addr.is_ipv6() {
        probe.set_only_v6(true)?;
    }
    probe.bind(&addr.into())
}

fn listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(511)?;
    Ok(socket.into())
}

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// Installs SIGINT/SIGTERM handlers that ask the workers to stop, and ignores SIGPIPE.
pub fn install_signal_handlers() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Binds every worker's listener on the same address (SO_REUSEPORT) and starts the workers.
///
/// A setting out of its range fails with [`io::ErrorKind::InvalidInput`] and Redis's startup text
/// (the directive, then the reason) before anything is bound.
pub fn start(cli: &Cli) -> io::Result<Server> {
    let params = Params::new(cli).map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))?;
    crate::log::set_level(&cli.loglevel);
    let workers = cli.worker_count();
    let ip: std::net::IpAddr = cli.bind.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid --bind address '{}'", cli.bind),
        )
    })?;
    if cli.port != 0 {
        refuse_taken_port(SocketAddr::new(ip, cli.port))?;
    }
    let first = listener(SocketAddr::new(ip, cli.port))?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..workers {
        listeners.push(listener(addr)?);
    }
    let mut polls = Vec::with_capacity(workers);
    let mut wakers = Vec::with_capacity(workers);
    for _ in 0..workers {
        let poll = Poll::new()?;
        wakers.push(Waker::new(poll.registry(), WAKER_TOKEN)?);
        polls.push(poll);
    }
    let mail = Arc::new(Mailboxes::new(workers, wakers));
    let rnd = unix_ms() ^ (std::process::id() as u64) << 32;
    let shared = Arc::new(Shared {
        params,
        workers,
        databases: cli.databases.max(1),
        addr,
        started: Instant::now(),
        run_id: format!(
            "{:016x}{:016x}{:08x}",
            rnd.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            rnd.rotate_left(17),
            rnd as u32
        ),
        next_client_id: AtomicU64::new(1),
        shutdown: AtomicBool::new(false),
        clients: Mutex::new(BTreeMap::new()),
        stats: (0..workers)
            .map(|_| WorkerStats {
                keys: (0..cli.databases.max(1))
                    .map(|_| Default::default())
                    .collect(),
                ext: crate::stats::WorkerExt::new(crate::worker::stats_slots()),
                ..Default::default()
            })
            .collect(),
        stat_base: Mutex::new([0; 8]),
        info: Default::default(),
    });
    let mut threads = Vec::with_capacity(workers);
    for (id, (poll, l)) in polls.into_iter().zip(listeners).enumerate() {
        let worker = Worker::new(
            id,
            poll,
            mio::net::TcpListener::from_std(l),
            shared.clone(),
            mail.clone(),
        )?;
        let t = std::thread::Builder::new()
            .name(format!("rustis-w{id}"))
            .spawn(move || worker.run())?;
        threads.push(t);
    }
    Ok(Server {
        addr,
        shared,
        threads,
    })
}
