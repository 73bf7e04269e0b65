//! State every worker may read: runtime parameters, the client registry (CLIENT LIST), the
//! statistics each worker publishes for INFO, and the process's identity. Nothing here is touched
//! per command except relaxed atomics. It sits below the workers and the commands, which both read
//! it, so neither has to import the other's room for it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::config::Params;

/// Rustis's version, reported by INFO and the startup line.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub use crate::version::REDIS_VERSION;

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
    /// Keys evicted by maxmemory from this worker's shard (INFO's `evicted_keys`).
    pub evicted_keys: AtomicU64,
    /// How many keys of this worker's shard the maxmemory policy may evict, as last published:
    /// other workers read it to share the eviction out and to tell when nothing is left.
    pub evictable: AtomicU64,
    /// Write commands of this shard that changed something (see `ShardStats::dirty`).
    pub dirty: AtomicU64,
    /// Net heap bytes this worker's thread allocated (signed, stored as i64 bits).
    pub used_memory: AtomicU64,
    /// Per database: keys, keys with a TTL.
    pub keys: Vec<(AtomicU64, AtomicU64)>,
    /// Command and error statistics, and what housekeeping measures (see [`crate::stats`]).
    pub ext: crate::stats::WorkerExt,
    /// Commands this worker ran on a parked owner's borrowed shard, and commands it forwarded to
    /// their owner (INFO stats `rustis_commands_borrowed` / `rustis_commands_forwarded`).
    pub borrowed: AtomicU64,
    pub forwarded: AtomicU64,
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
    /// The worker serving the connection, and its slab token there.
    pub worker: usize,
    pub token: u32,
    /// CLIENT TRACKING, when on: what invalidators of its keys need to know.
    pub tracking: Option<crate::tracking::Mode>,
    /// The ticket of its blocking call (BLPOP...), while it has one (CLIENT UNBLOCK claims it).
    pub block: Option<Arc<crate::store::Ticket>>,
    /// Whether that call has a timeout (INFO clients_in_timeout_table).
    pub block_timed: bool,
    /// Its next command waits for the end of a CLIENT PAUSE (counted as blocked, as in Redis).
    pub postponed: bool,
    /// In MONITOR mode (CLIENT LIST flag `O`).
    pub monitor: bool,
    /// CLIENT NO-EVICT ON (CLIENT LIST flag `e`).
    pub no_evict: bool,
    /// Channels, patterns and shard channels it is subscribed to (CLIENT LIST sub, psub, ssub).
    pub subs: usize,
    pub psubs: usize,
    pub ssubs: usize,
    /// The user it is authenticated as (CLIENT LIST user=), and that user's id.
    pub user: String,
    pub user_id: u64,
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
    /// Statistics slot + 1 of the last command, its subcommand's for a container (0: none yet).
    pub last_cmd: AtomicU32,
    /// Waiting for the socket to become writable.
    pub want_write: AtomicBool,
    /// Commands queued in MULTI + 1 (0: not in MULTI): CLIENT LIST's `multi` and flag `x`.
    pub multi: AtomicU64,
    /// A watched key changed (CLIENT LIST flag `d`).
    pub dirty_cas: AtomicBool,
}

/// State shared by all workers. Nothing here is touched per command except relaxed atomics.
pub struct Shared {
    pub params: Params,
    /// Snapshots: the running one, the last outcome, LASTSAVE, the change count base.
    pub persist: Arc<crate::persist::Persist>,
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
    pub stat_base: Mutex<[u64; 9]>,
    /// Server-wide statistics: instantaneous metrics, memory peak, latency monitor, reset base.
    pub info: crate::stats::ServerInfo,
    /// The EVAL script cache every worker compiles from.
    pub scripts: crate::script::store::Scripts,
    /// Per worker: what other connections asked of its connections (CLIENT UNBLOCK, CLIENT KILL).
    pub controls: Vec<Controls>,
    /// Per worker: its poll's waker (to hand it work that does not travel in the rings).
    pub wakers: Vec<Arc<mio::Waker>>,
    /// Every connection's channel and pattern subscriptions.
    pub pubsub: Mutex<crate::pubsub::Registry>,
    /// CLIENT PAUSE, which every worker obeys.
    pub pause: crate::pause::Pause,
    /// The slow log (SLOWLOG).
    pub slowlog: Mutex<crate::slowlog::SlowLog>,
    /// The connections in MONITOR mode, and how many (one load per command when none).
    pub monitors: Mutex<Vec<crate::pubsub::Subscriber>>,
    pub monitor_count: AtomicUsize,
    /// Client-side caching: who read which key, who follows which prefix.
    pub tracking: crate::tracking::Tracking,
    /// Users and their rules, the ACL log.
    pub acl: crate::acl::Acl,
}

/// Bytes for connections of one worker: (slab token, client id, bytes).
pub type Pushes = Vec<(u32, u64, Arc<[u8]>)>;

/// What a connection command asks of a connection another worker serves.
#[derive(Debug)]
pub enum Control {
    /// CLIENT UNBLOCK claimed this blocked call: reply the UNBLOCKED error (true) or the timeout
    /// reply.
    Unblock(Arc<crate::store::Ticket>, bool),
    /// CLIENT KILL: close this client's connection.
    Kill(u64),
    /// ACL SETUSER changed this client's user's channel rules: close it if one of its
    /// subscriptions is no longer allowed.
    Recheck(u64),
    /// PUBLISH: messages for connections of this worker, in order.
    Messages(Vec<crate::pubsub::Delivery>),
    /// MONITOR: one command's line for these monitors (token, client id) of this worker.
    Monitor(Arc<[u8]>, Vec<(u32, u64)>),
    /// Client-side caching: invalidation messages for connections (token, client id) of this
    /// worker.
    Invalidate(Pushes),
}

/// The requests queued for one worker's connections, in order; the worker takes them every
/// iteration (one load when there are none).
#[derive(Debug, Default)]
pub struct Controls {
    pending: AtomicBool,
    queue: Mutex<Vec<Control>>,
}

impl Controls {
    /// Queues a request for this worker.
    pub fn push(&self, control: Control) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(control);
        self.pending.store(true, Ordering::Release);
    }

    /// Whether something is queued: one load, what the worker checks every iteration.
    #[inline]
    pub fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Everything queued.
    pub fn take(&self) -> Vec<Control> {
        self.pending.store(false, Ordering::Release);
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Shared {
    /// Queues `control` for `worker` and wakes it.
    pub fn control(&self, worker: usize, control: Control) {
        if let Some(c) = self.controls.get(worker) {
            c.push(control);
        }
        if let Some(w) = self.wakers.get(worker) {
            let _ = w.wake();
        }
    }

    /// Sends every monitor the line of a command that ran: `db`, the client's address, and the
    /// arguments quoted as Redis quotes them. O(monitors + bytes).
    pub fn feed_monitors(&self, db: usize, addr: &str, args: &[&[u8]]) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = format!(
            "+{}.{:06} [{db} {addr}]",
            now.as_secs(),
            now.subsec_micros()
        )
        .into_bytes();
        for a in args {
            line.push(b' ');
            crate::resp::reply::quote_repr(&mut line, a);
        }
        line.extend_from_slice(b"\r\n");
        let line: Arc<[u8]> = line.into();
        let mut per_worker: Vec<Vec<(u32, u64)>> = vec![Vec::new(); self.workers];
        for m in self
            .monitors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            per_worker[m.worker].push((m.token, m.client));
        }
        for (w, list) in per_worker.into_iter().enumerate() {
            if !list.is_empty() {
                self.control(w, Control::Monitor(line.clone(), list));
            }
        }
    }

    /// Ends MONITOR mode for `who` (RESET, disconnect).
    pub fn unmonitor(&self, who: crate::pubsub::Subscriber) {
        let mut m = self.monitors.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|s| *s != who);
        self.monitor_count.store(m.len(), Ordering::Release);
    }

    /// The slow log, locked.
    pub fn slowlog(&self) -> std::sync::MutexGuard<'_, crate::slowlog::SlowLog> {
        self.slowlog.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes every worker (a change they must all look at: CLIENT UNPAUSE).
    pub fn wake_all(&self) {
        for w in &self.wakers {
            let _ = w.wake();
        }
    }

    /// Asks every worker to stop (SHUTDOWN, signals): they flush computed replies and exit.
    pub fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
    }

    /// Write commands that changed something, over every shard (as last published): what save
    /// points and `rdb_changes_since_last_save` count from.
    pub fn changes_total(&self) -> u64 {
        self.stats
            .iter()
            .map(|s| s.dirty.load(Ordering::Relaxed))
            .sum()
    }

    /// Whether save points are configured (`save` is not empty).
    pub fn has_save_points(&self) -> bool {
        self.params
            .get("save")
            .is_some_and(|v| !v.trim().is_empty())
    }

    /// Whether writes (and PING) are refused with -MISCONF: the last snapshot failed, save
    /// points are configured and `stop-writes-on-bgsave-error` is on (Redis's
    /// writeCommandsDeniedByDiskError).
    pub fn writes_refused_by_disk_error(&self) -> bool {
        self.persist.last_failed()
            && self.params.get("stop-writes-on-bgsave-error").as_deref() == Some("yes")
            && self.has_save_points()
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

    /// The subscription registry, locked (poisoning is ignored: every change is one step).
    pub fn pubsub(&self) -> std::sync::MutexGuard<'_, crate::pubsub::Registry> {
        self.pubsub.lock().unwrap_or_else(|p| p.into_inner())
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
