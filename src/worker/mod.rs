//! The per-core event loop.
//!
//! Each worker owns a `mio::Poll`, its own SO_REUSEPORT listener, a slab of connections and one shard of
//! the keyspace. One iteration: read every readable connection and run what it asked for (local keys
//! inline, foreign keys appended to the batch for their owner), execute the batches other workers sent,
//! deliver the replies they returned, push this iteration's batches, then write each connection's
//! output once.
//!
//! The rooms: this file is the loop and the I/O (accept, read, parse, write, close); `route` decides
//! where each command runs; `gather` takes replies back into their slots; `remote` runs other
//! workers' batches and sends ours; `housekeeping` is the periodic work; [`conn`] is one
//! connection; [`mailbox`] the rings. The loop knows no command by name: what differs between
//! commands is in their declarations (`command::Exec`, `KeySpec`, `CursorSteps`, `key_db`).

mod atomic;
mod blocking;
pub mod conn;
mod gather;
mod housekeeping;
pub mod mailbox;
mod maxmemory;
mod remote;
mod route;
mod script;
pub mod shard;
mod tracking;

pub use housekeeping::refresh_shard;

use std::io;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::command::ctx::unknown_command_bytes;
use crate::command::ctx::{ConnCtx, MultiState, Session};
use crate::command::slots::{SubLookup, SLOTS};
use crate::command::{flag, Args, Combine, ConnFn, Ctx, Exec, KeyedFn, TABLE};
use crate::keyslot::{key_slot, slot_owner};
use crate::resp::reply::SharedValue;
use crate::resp::{parse_command, Parsed, Reply, Source};
use crate::shared::{unix_ms, ClientInfo, ConnGauge, Shared};
use crate::stats::{Count, Started};
use crate::store::Keyspace;
use conn::{Chain, Conn, Slot};
use mailbox::{Batch, Body, Mailboxes, Op, Origin};

/// Poll token of the listener.
pub const LISTENER_TOKEN: Token = Token(0);
/// Poll token of the waker other workers use.
pub const WAKER_TOKEN: Token = Token(1);
const CONN_BASE: usize = 2;

/// Unwritten output above which a connection's input is no longer executed (a client that does not
/// read its replies must not grow our memory without bound).
const OUTPUT_PAUSE: usize = 16 << 20;
/// Pending reply slots above which a connection's input waits for replies to come back.
const MAX_SLOTS: usize = 4096;
/// Output held back while a connection still waits for replies from other workers.
const DEFER_WRITE_MAX: usize = 64 * 1024;
/// Requests parsed ahead of execution so their keys' table slots can be prefetched together.
const PREFETCH_BATCH: usize = 16;
/// Entries examined per database per housekeeping tick by active expiry.
const EXPIRE_BUDGET: usize = 20_000;

/// Counters kept locally and published to [`Shared`] once per iteration (and before a command that
/// reads them, such as INFO, runs). Per-command counters go straight to this worker's
/// [`crate::stats::CmdTable`].
#[derive(Default)]
struct LocalStats {
    /// Something ran on this shard since the last publication.
    executed: bool,
    /// Commands that ran (refused ones are not counted, as in Redis).
    commands: u64,
    net_in: u64,
    net_out: u64,
    connections: u64,
    rejected: u64,
    /// Read and write system calls that moved data (`total_reads_processed`...).
    reads: u64,
    writes: u64,
    /// Commands run on a borrowed shard, and commands forwarded to their owner.
    borrowed: u64,
    forwarded: u64,
    /// `used_memory_startup` was offered (at this worker's first publication).
    startup_noted: bool,
}

/// One worker thread: event loop, connections, keyspace shard, mailboxes.
pub struct Worker {
    id: usize,
    n: usize,
    poll: Poll,
    /// One listener per bound address (all registered under [`LISTENER_TOKEN`]).
    listeners: Vec<TcpListener>,
    shared: Arc<Shared>,
    mail: Arc<Mailboxes>,
    conns: Slab<Conn>,
    /// This worker's shard: borrowable by others while this worker is parked ([`shard`]).
    ks: shard::Own,
    /// Every worker's shard, to borrow a parked owner's.
    shards: Arc<shard::Shards>,
    /// The worker whose shard this one holds, borrowed, for the current batch of requests.
    held: Option<usize>,
    /// The batch being filled for each other worker this iteration.
    outbox: Vec<Option<Box<Batch>>>,
    /// Emptied batches kept for reuse.
    #[allow(clippy::vec_box)]
    // batches travel through the rings boxed; the pool keeps them boxed
    pool: Vec<Box<Batch>>,
    /// A ring was full at the last send: input is not executed until it drains.
    ring_full: bool,
    now: u64,
    args: Vec<Range<usize>>,
    /// Argument ranges of the requests parsed ahead for prefetching, and each request's
    /// (first range, end range, end offset in the read buffer).
    batch_args: Vec<Range<usize>>,
    spans: Vec<(usize, usize, usize, usize)>,
    scratch: Vec<u8>,
    /// The replies of the atomic step being run, before they join the connection's output.
    step_out: Vec<u8>,
    /// This worker's shard is away (a busy script on another worker holds it) while it serves
    /// its clients: nothing may touch the shard, every command but the allow-busy connection
    /// commands is answered -BUSY.
    shardless: bool,
    /// The process was over maxmemory with nothing to evict when the command being run
    /// arrived: a script it starts may not run a `denyoom` command before it wrote.
    script_oom: bool,
    /// Connections whose requests are being run, innermost last.
    in_process: Vec<usize>,
    /// Requests from other workers are answered -BUSY unrun (this worker's script is busy).
    answering_busy: bool,
    /// The ticket of the blocking call being routed, for the place that runs it.
    ticket: Option<Arc<crate::store::Ticket>>,
    /// The deadline a blocking call run again keeps (instead of starting a new wait).
    /// Argument rewrites of a spread blocking call that decided to wait (XREAD's `$`), from
    /// the copies it ran on to its ticket.
    spread_block_args: Option<Vec<(usize, Vec<u8>)>>,
    retry_deadline: Option<u64>,
    /// Wait deadlines of this worker's blocked connections: (Unix ms, token, client, slot).
    timers: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize, u64, u64)>>,
    /// Answers of served blocked calls, being routed (kept for its allocation).
    served: Vec<blocking::Served>,
    /// Scratch for the keyspace notifications being published and the changed keys being
    /// invalidated (kept for their capacity).
    notes: Vec<crate::store::notify::Note>,
    changed: Vec<(Box<[u8]>, u64)>,
    /// Keys changed during this loop iteration, for the broadcasting clients (CLIENT TRACKING
    /// BCAST), with the client that changed each.
    bcast_pending: Vec<(Box<[u8]>, u64)>,
    /// Rounds the tracking table has stayed over tracking-table-max-keys (the effort grows).
    tracking_effort: usize,
    /// `timeout`: seconds after which an idle client is closed (0: never).
    idle_timeout: u64,
    /// Blocked calls handed back to be run again here.
    retries: Vec<Arc<crate::store::Ticket>>,
    keys: Vec<usize>,
    to_flush: Vec<usize>,
    to_resume: Vec<usize>,
    paused_on_ring: Vec<usize>,
    /// Connections whose next request waits for the end of a CLIENT PAUSE, and the pause epoch
    /// they were held under.
    pause_waiters: Vec<usize>,
    pause_epoch: u64,
    config_epoch: u64,
    max_bulk: usize,
    query_limit: usize,
    last_cron: Instant,
    /// Period of housekeeping (active expiry, buffer trimming, statistics): 1 s / `hz`, with hz
    /// clamped to 1..=500 as Redis does.
    cron_interval: Duration,
    hz: u64,
    /// `tcp-keepalive` seconds set on accepted sockets (0: off).
    keepalive: u64,
    /// Next connection whose buffers the housekeeping checks.
    resize_cursor: usize,
    /// Housekeeping ticks so far (some work runs every tenth).
    cron_ticks: u64,
    stats: LocalStats,
}

/// Entries a worker serializes per loop iteration while a snapshot runs over its shard: about
/// one segment, so that serving keeps its latency.
const SNAPSHOT_SLICE: usize = 4096;

/// The number of statistics slots a worker's command table needs (commands and sub-commands).
pub fn stats_slots() -> usize {
    SLOTS.len()
}

/// Runs keyed handler `f` of command `ci` (table index). When the shard has watched keys and the
/// command may write, the watchers of each of its keys that was live before or is live after are
/// marked (WATCH): a write that found nothing and left nothing changed nothing, as a DEL of a
/// missing or stale key does not touch it in Redis. One check more when nothing is watched.
///
/// Likewise, a write to a key clients are blocked on marks it ready: they are served once the
/// command (or its transaction or script) ends (`blocking.rs`).
///
/// A write command that did not answer an error counts as a change (INFO's
/// `rdb_changes_since_last_save`, save points).
#[inline]
fn run_keyed(ctx: &mut Ctx, ci: usize, f: KeyedFn, args: &Args) {
    ctx.ks.sync_tracking();
    let cmd = TABLE.get(ci);
    let write = cmd.is_write();
    let at = ctx.reply.len();
    if !write || (ctx.ks.watches.is_empty() && ctx.ks.blocked.is_empty() && !ctx.ks.armed()) {
        f(ctx, args);
    } else {
        run_write_observed(ctx, cmd, f, args);
    }
    if write && !ctx.reply.error_since(at) {
        ctx.ks.stats.dirty += 1;
    }
}

/// Runs write `f` with what observes its keys: WATCH, blocked clients, tracking.
fn run_write_observed(ctx: &mut Ctx, cmd: &crate::command::Command, f: KeyedFn, args: &Args) {
    let mut keys = Vec::new();
    cmd.key_indices(args, &mut keys);
    let dbs = ctx.ks.dbs.len();
    let places: Vec<(usize, &[u8])> = keys
        .iter()
        .map(|&i| {
            let db = cmd
                .key_db
                .and_then(|g| g(args, i))
                .filter(|&d| d < dbs)
                .unwrap_or(ctx.db);
            (db, args.get(i))
        })
        .collect();
    let watched: Vec<(usize, &[u8], bool)> = places
        .iter()
        .filter(|&&(db, key)| ctx.ks.watches.contains(db, key))
        .map(|&(db, key)| (db, key, ctx.ks.dbs[db].peek(key, ctx.now).is_some()))
        .collect();
    f(ctx, args);
    for (db, key, before) in watched {
        if before || ctx.ks.dbs[db].peek(key, ctx.now).is_some() {
            ctx.ks.watches.touch(db, key);
        }
    }
    if !ctx.ks.blocked.is_empty() {
        // A key deleted while clients wait on it is signalled too: XREADGROUP's waiters are
        // then answered with an error (the others find nothing and wait on).
        for &(db, key) in &places {
            ctx.ks.blocked.signal(db, key);
        }
    }
    if ctx.ks.armed() {
        for (_, key) in places {
            ctx.ks.changed(key);
        }
    }
}

/// Unknown slab keys and stale client ids mean the connection is gone; its replies are dropped.
fn live(conns: &mut Slab<Conn>, token: u32, client: u64) -> Option<&mut Conn> {
    conns
        .get_mut(token as usize)
        .filter(|c| c.session.id == client)
}

impl Worker {
    /// A worker with its poll (whose waker is in `mail`) and listener.
    pub fn new(
        id: usize,
        poll: Poll,
        mut listeners: Vec<TcpListener>,
        shared: Arc<Shared>,
        mail: Arc<Mailboxes>,
        shards: Arc<shard::Shards>,
    ) -> io::Result<Self> {
        for l in &mut listeners {
            poll.registry()
                .register(l, LISTENER_TOKEN, Interest::READABLE)?;
        }
        let n = shared.workers;
        let mut ks = shards.own(id);
        ks.interest = Some(shared.tracking.interest());
        Ok(Worker {
            id,
            n,
            poll,
            listeners,
            mail,
            conns: Slab::with_capacity(1024),
            ks,
            shards,
            held: None,
            outbox: (0..n).map(|_| None).collect(),
            pool: Vec::new(),
            ring_full: false,
            now: unix_ms(),
            args: Vec::with_capacity(64),
            batch_args: Vec::with_capacity(64),
            spans: Vec::with_capacity(PREFETCH_BATCH),
            scratch: Vec::new(),
            step_out: Vec::new(),
            shardless: false,
            script_oom: false,
            in_process: Vec::new(),
            answering_busy: false,
            ticket: None,
            retry_deadline: None,
            spread_block_args: None,
            timers: Default::default(),
            served: Vec::new(),
            notes: Vec::new(),
            changed: Vec::new(),
            bcast_pending: Vec::new(),
            tracking_effort: 0,
            idle_timeout: 0,
            retries: Vec::new(),
            keys: Vec::with_capacity(16),
            to_flush: Vec::with_capacity(1024),
            to_resume: Vec::new(),
            paused_on_ring: Vec::new(),
            pause_waiters: Vec::new(),
            pause_epoch: 0,
            config_epoch: u64::MAX,
            max_bulk: 512 << 20,
            query_limit: 1 << 30,
            last_cron: Instant::now(),
            cron_interval: Duration::from_millis(100),
            hz: 10,
            keepalive: 300,
            resize_cursor: 0,
            cron_ticks: 0,
            stats: LocalStats::default(),
            shared,
        })
    }

    /// Runs the event loop until shutdown.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        self.refresh_params();
        loop {
            if self.shared.stopping() {
                self.shutdown();
                return;
            }
            let busy = self.ring_full
                || !self.to_resume.is_empty()
                || !self.retries.is_empty()
                || self.shared.controls[self.id].pending()
                || (self.ks.snapshotting() && self.shared.persist.has_room());
            let timeout = if busy {
                Duration::ZERO
            } else {
                let mut until_cron = self.cron_interval.saturating_sub(self.last_cron.elapsed());
                if self.ks.snapshotting() {
                    // The writer is behind: look again soon.
                    until_cron = until_cron.min(Duration::from_millis(1));
                }
                if let Some(d) = self.next_deadline() {
                    let ms = d.saturating_sub(unix_ms());
                    until_cron = until_cron.min(Duration::from_millis(ms));
                }
                if self.mail.park(self.id) {
                    until_cron
                } else {
                    Duration::ZERO
                }
            };
            // Blocking: the shard is free for others to borrow until poll returns.
            let parked = timeout > Duration::ZERO;
            if parked {
                self.ks.park();
            }
            let polled = self.poll.poll(&mut events, Some(timeout));
            if parked {
                self.reclaim_own();
            }
            self.mail.unpark(self.id);
            if let Err(e) = polled {
                if e.kind() != io::ErrorKind::Interrupted {
                    crate::log_at!(Warning, "worker {}: poll failed: {e}", self.id);
                    return;
                }
            }
            self.now = unix_ms();
            crate::store::access::set_clock_ms(self.now);
            self.refresh_params();
            for ev in events.iter() {
                match ev.token() {
                    LISTENER_TOKEN => self.accept(),
                    WAKER_TOKEN => {}
                    Token(t) => {
                        let k = t - CONN_BASE;
                        if ev.is_writable() {
                            self.flush(k);
                        }
                        if ev.is_read_closed() || ev.is_error() {
                            // The hang-up arrives on the same edge as the last bytes: remember it,
                            // or a short read of those bytes would look like "drained" and the
                            // end of stream would never be read (no further edge comes).
                            if let Some(c) = self.conns.get_mut(k) {
                                c.peer_closed = true;
                            }
                        }
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            self.service(k);
                        }
                        // A safe point: another worker's atomic step may be waiting for this shard.
                        self.lend_if_asked();
                    }
                }
            }
            self.drain_inbox();
            self.lend_if_asked();
            self.take_controls();
            self.expire_waits();
            self.end_pause();
            self.run_retries();
            self.resume();
            self.lend_if_asked();
            // Events and statistics first: a client that sees a reply must see its effects.
            self.publish_own_notes();
            if !self.bcast_pending.is_empty() {
                tracking::broadcast(&self.shared, self.n, &self.bcast_pending);
                self.bcast_pending.clear();
            }
            self.publish_stats();
            self.send_outboxes();
            self.flush_all();
            if self.ks.snapshotting() && self.shared.persist.has_room() {
                // A snapshot in progress: one more slice of this shard, between two rounds of
                // serving (writes save the segments they touch themselves).
                self.ks.snapshot_step(SNAPSHOT_SLICE);
            }
            if self.last_cron.elapsed() >= self.cron_interval {
                self.cron();
            }
        }
    }

    // ------------------------------------------------------------------------------------ connections

    /// Accepts what every listener has pending (one per bound address).
    fn accept(&mut self) {
        for li in 0..self.listeners.len() {
            self.accept_from(li);
        }
    }

    fn accept_from(&mut self, li: usize) {
        loop {
            let Some(listener) = self.listeners.get(li) else {
                return;
            };
            let (mut sock, peer) = match listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::log_at!(Warning, "worker {}: accept failed: {e}", self.id);
                    return;
                }
            };
            let connected: u64 = self
                .shared
                .stats
                .iter()
                .map(|s| s.connected_clients.load(Ordering::Relaxed))
                .sum();
            if connected >= self.shared.params.maxclients.load(Ordering::Relaxed) {
                use std::io::Write;
                let _ = sock.write(b"-ERR max number of clients reached\r\n");
                self.stats.rejected += 1;
                continue;
            }
            if self.protected_refuses(peer) {
                use std::io::Write;
                let _ = sock.write(crate::acl::PROTECTED_DENIED.as_bytes());
                self.stats.rejected += 1;
                continue;
            }
            let _ = sock.set_nodelay(true);
            if self.keepalive > 0 {
                // As Redis's anetKeepAlive: probes after `keepalive` idle seconds, every third of
                // that, three of them.
                let secs = Duration::from_secs(self.keepalive);
                let ka = socket2::TcpKeepalive::new()
                    .with_time(secs)
                    .with_interval((secs / 3).max(Duration::from_secs(1)))
                    .with_retries(3);
                let _ = socket2::SockRef::from(&sock).set_tcp_keepalive(&ka);
            }
            let entry = self.conns.vacant_entry();
            let k = entry.key();
            if self
                .poll
                .registry()
                .register(&mut sock, Token(k + CONN_BASE), Interest::READABLE)
                .is_err()
            {
                continue;
            }
            let id = self.shared.next_client_id.fetch_add(1, Ordering::Relaxed);
            crate::log_at!(Verbose, "Accepted {peer} (id={id}, worker {})", self.id);
            let gauge = Arc::new(ConnGauge::default());
            let laddr = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
            use std::os::fd::AsRawFd;
            let session = Session {
                id,
                token: k as u32,
                addr: peer.to_string(),
                laddr: laddr.clone(),
                fd: sock.as_raw_fd(),
                created_ms: self.now,
                auth: self.shared.acl.new_auth(),
                ..Session::default()
            };
            self.shared.clients().insert(
                id,
                ClientInfo {
                    id,
                    addr: peer.to_string(),
                    laddr,
                    fd: session.fd,
                    resp: 2,
                    created_ms: self.now,
                    gauge: gauge.clone(),
                    worker: self.id,
                    token: k as u32,
                    user: String::from_utf8_lossy(&session.auth.user.name).into_owned(),
                    user_id: session.auth.user.id,
                    ..Default::default()
                },
            );
            entry
                .insert(Conn::new(sock, session, gauge, self.now))
                .publish_gauge();
            self.stats.connections += 1;
            self.shared.stats[self.id]
                .connected_clients
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Protected mode (Redis's clientAcceptHandler): with `protected-mode yes` and no password
    /// on the default user, only loopback clients are served.
    fn protected_refuses(&self, peer: std::net::SocketAddr) -> bool {
        let local = match peer.ip() {
            std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
            std::net::IpAddr::V6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
        };
        if local || !self.shared.params.protected_mode.load(Ordering::Relaxed) {
            return false;
        }
        let reg = self.shared.acl.read();
        reg.default_user().flags & crate::acl::rules::uflag::NOPASS != 0
    }

    fn close(&mut self, k: usize) {
        if !self.conns.contains(k) {
            return;
        }
        let mut conn = self.conns.remove(k);
        conn.session.unwatch();
        crate::command::client::stop_tracking(&self.shared, &mut conn.session);
        if conn.session.monitor {
            self.shared.unmonitor(crate::pubsub::Subscriber {
                worker: self.id,
                token: k as u32,
                client: conn.session.id,
            });
        }
        if conn.session.subscribed() {
            let who = crate::pubsub::Subscriber {
                worker: self.id,
                token: k as u32,
                client: conn.session.id,
            };
            conn.session.unsubscribe_all(&mut self.shared.pubsub(), who);
        }
        if let Some((t, _)) = conn.block.take() {
            // Nothing is served to a client that left; its registrations are swept.
            t.cancel();
        }
        let _ = self.poll.registry().deregister(&mut conn.sock);
        self.shared.clients().remove(&conn.session.id);
        self.shared.stats[self.id]
            .connected_clients
            .fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether connection input must wait (and why it will be resumed).
    fn input_blocked(&self, conn: &Conn) -> bool {
        self.ring_full || conn.input_waits()
    }

    /// Reads and executes a connection's input until its socket is drained or its input must wait,
    /// then publishes its figures for CLIENT LIST.
    fn service(&mut self, k: usize) {
        self.service_input(k);
        if let Some(conn) = self.conns.get_mut(k) {
            conn.release_big_input();
            conn.publish_gauge();
        }
    }

    fn service_input(&mut self, k: usize) {
        let mut drained = false;
        loop {
            self.process(k);
            let Some(conn) = self.conns.get_mut(k) else {
                return;
            };
            if conn.closing {
                self.queue_flush(k);
                return;
            }
            // A normal client's own replies are held to its limit too, when one is set.
            let normal = &self.shared.params.output_limits[0];
            if (normal[0].load(Ordering::Relaxed) | normal[1].load(Ordering::Relaxed)) != 0
                && self.over_output_limit(k)
            {
                return;
            }
            let Some(conn) = self.conns.get_mut(k) else {
                return;
            };
            if conn.block.is_some() && conn.peer_closed {
                // A blocked client that hung up leaves at once (its input is not read meanwhile).
                return self.close(k);
            }
            if self.ring_full || conn.input_waits() {
                conn.queued_resume = true;
                if self.ring_full {
                    self.paused_on_ring.push(k);
                }
                self.queue_flush(k);
                return;
            }
            if drained {
                self.queue_flush(k);
                return;
            }
            match conn.read_some() {
                Ok((0, _)) => {
                    crate::log_at!(
                        Verbose,
                        "Client closed connection id={} addr={}",
                        conn.session.id,
                        conn.session.addr
                    );
                    return self.close(k);
                }
                Ok((n, short)) => {
                    // After a hang-up, read on until the end of stream (or an error) is seen.
                    drained = short && !conn.peer_closed;
                    conn.last_ms = self.now;
                    conn.publish_gauge();
                    self.stats.net_in += n as u64;
                    self.stats.reads += 1;
                    if conn.unparsed() > self.query_limit {
                        crate::log_at!(
                            Warning,
                            "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: {:?})",
                            conn.session.id,
                            conn.session.addr,
                            String::from_utf8_lossy(&conn.rbuf[conn.rpos..(conn.rpos + 64).min(conn.rbuf.len())])
                        );
                        return self.close(k);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.queue_flush(k);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.close(k),
            }
        }
    }

    /// Parses and dispatches every complete request in the connection's read buffer.
    ///
    /// Requests are taken [`PREFETCH_BATCH`] at a time: the table slot of each one's key is prefetched
    /// before any executes, so the cache misses of a pipeline overlap instead of adding up.
    fn process(&mut self, k: usize) {
        // Known while its requests run: a busy script serving the other connections from its
        // hook must leave this one alone (its buffers and session are taken).
        self.in_process.push(k);
        self.process_requests(k);
        self.in_process.pop();
    }

    fn process_requests(&mut self, k: usize) {
        if self.process_big_request(k) {
            return;
        }
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let rbuf = std::mem::take(&mut conn.rbuf);
        let mut pos = conn.rpos;
        let db = conn.session.db;
        let mut one = std::mem::take(&mut self.args);
        let mut all = std::mem::take(&mut self.batch_args);
        let mut spans = std::mem::take(&mut self.spans);
        let mut scratch = std::mem::take(&mut self.scratch);
        'outer: while pos < rbuf.len() {
            match self.conns.get(k) {
                Some(c) if !self.input_blocked(c) => {}
                _ => break,
            }
            all.clear();
            spans.clear();
            let mut p = pos;
            let mut error = None;
            while spans.len() < PREFETCH_BATCH && p < rbuf.len() {
                match parse_command(&rbuf[p..], &mut one, &mut scratch, self.max_bulk) {
                    Ok(Parsed::Incomplete) => break,
                    Ok(Parsed::Command {
                        consumed,
                        source: Source::Input,
                    }) => {
                        let first = all.len();
                        all.extend(one.iter().map(|r| r.start + p..r.end + p));
                        p += consumed;
                        spans.push((first, all.len(), p, usize::MAX));
                    }
                    Ok(Parsed::Command {
                        consumed,
                        source: Source::Scratch,
                    }) => {
                        // An inline command's arguments live in the scratch buffer: run it alone.
                        if spans.is_empty() {
                            if !one.is_empty()
                                && !self.dispatch_guarded(k, &Args::new(&scratch, &one), usize::MAX)
                            {
                                break 'outer;
                            }
                            pos = p + consumed;
                            continue 'outer;
                        }
                        break;
                    }
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            // (Not while the shard is away: another worker's busy script holds it.)
            if spans.len() > 1 && !self.shardless {
                let table = &self.ks.dbs[db.min(self.ks.dbs.len() - 1)].table;
                for (a, b, _, owner) in spans.iter_mut() {
                    if *b - *a >= 2 {
                        let key = &rbuf[all[*a + 1].clone()];
                        *owner = if self.n == 1 {
                            0
                        } else {
                            slot_owner(key_slot(key), self.n)
                        };
                        if *owner == self.id {
                            table.prefetch(key);
                        }
                    }
                }
            }
            for &(a, b, end, owner) in spans.iter() {
                match self.conns.get(k) {
                    Some(c) if !self.input_blocked(c) => {}
                    _ => break 'outer,
                }
                if b > a && !self.dispatch_guarded(k, &Args::new(&rbuf, &all[a..b]), owner) {
                    break 'outer;
                }
                pos = end;
            }
            // A borrowed shard is held for one batch of requests at most: its owner may be
            // waiting for it.
            self.release_held();
            if let Some(e) = error {
                if let Some(conn) = self.conns.get_mut(k) {
                    let resp3 = conn.session.resp3;
                    let (out, refs) = conn.reply_target();
                    Reply::with_refs(out, refs, resp3).error(&format!("ERR {}", e.0));
                    conn.end_reply();
                    conn.closing = true;
                    conn.drain_ready();
                }
                pos = rbuf.len();
                break;
            }
            if spans.is_empty() {
                break;
            }
        }
        // A borrowed shard is never kept past this pass: its owner may be waiting for it.
        self.release_held();
        if let Some(conn) = self.conns.get_mut(k) {
            conn.rbuf = rbuf;
            conn.rpos = pos;
        }
        self.args = one;
        self.batch_args = all;
        self.spans = spans;
        self.scratch = scratch;
    }

    /// A single request over 1 MB that fills the read buffer (sized for it by `read_some`) runs with
    /// that buffer frozen into shared bytes, so a value it stores keeps a slice of the buffer instead
    /// of a copy: a 300 MB SET costs 300 MB, not twice that. Returns whether it ran.
    fn process_big_request(&mut self, k: usize) -> bool {
        let Some(conn) = self.conns.get_mut(k) else {
            return false;
        };
        if conn.rpos != 0 || conn.rbuf.capacity() <= conn::BIG_INPUT || self.input_blocked_k(k) {
            return false;
        }
        let Some(conn) = self.conns.get_mut(k) else {
            return false;
        };
        let mut one = std::mem::take(&mut self.args);
        let whole = matches!(
            parse_command(&conn.rbuf, &mut one, &mut self.scratch, self.max_bulk),
            Ok(Parsed::Command { consumed, source: Source::Input }) if consumed == conn.rbuf.len()
        );
        if !whole || one.is_empty() {
            self.args = one;
            return false;
        }
        let frozen = bytes::Bytes::from(std::mem::take(&mut conn.rbuf));
        conn.rpos = 0;
        let consumed = self.dispatch_guarded(k, &Args::frozen(&frozen, &one), usize::MAX);
        self.release_held();
        self.args = one;
        if let Some(conn) = self.conns.get_mut(k) {
            if consumed {
                conn.qbuf_peak = 0;
            } else {
                // It waits for earlier replies: the request stays in the buffer (no copy when
                // nothing kept a slice of it).
                conn.rbuf = Vec::from(frozen);
            }
        }
        true
    }

    /// [`Worker::input_blocked`] for connection `k` (true when it is gone).
    fn input_blocked_k(&self, k: usize) -> bool {
        self.conns.get(k).is_none_or(|c| self.input_blocked(c))
    }

    fn queue_flush(&mut self, k: usize) {
        if let Some(c) = self.conns.get_mut(k) {
            if !c.queued_flush {
                c.queued_flush = true;
                self.to_flush.push(k);
            }
        }
    }

    /// Puts a paused connection back to work at the end of this iteration.
    fn schedule_resume(&mut self, k: usize) {
        if let Some(c) = self.conns.get_mut(k) {
            if c.queued_resume {
                c.queued_resume = false;
                self.to_resume.push(k);
            }
        }
    }

    fn resume(&mut self) {
        let list = std::mem::take(&mut self.to_resume);
        for &k in &list {
            self.service(k);
        }
        let mut list = list;
        list.clear();
        if self.to_resume.is_empty() {
            self.to_resume = list;
        }
    }

    /// Writes a connection's output; closes it if it asked to be closed and everything is out.
    fn flush(&mut self, k: usize) {
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        conn.queued_flush = false;
        if !conn.slots.is_empty()
            && conn.unwritten() < DEFER_WRITE_MAX
            && !conn.want_write
            && conn.block.is_none()
        {
            // Replies are still coming from other workers: write once they are all here (the delivery
            // queues this flush again), instead of one small write now and another then. Not when
            // the last one is a blocked call's: it may never come.
            return;
        }
        match conn.write_pending() {
            Ok(n) => {
                self.stats.net_out += n as u64;
                self.stats.writes += (n > 0) as u64;
            }
            Err(_) => return self.close(k),
        }
        let pending = conn.unwritten() > 0;
        if pending != conn.want_write {
            conn.want_write = pending;
            let interest = if pending {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if self
                .poll
                .registry()
                .reregister(&mut conn.sock, Token(k + CONN_BASE), interest)
                .is_err()
            {
                return self.close(k);
            }
        }
        if conn.closing && !pending && conn.slots.is_empty() {
            return self.close(k);
        }
        conn.publish_gauge();
        if !pending && conn.queued_resume && !conn.stalled && !self.ring_full {
            self.schedule_resume(k);
        }
    }

    fn flush_all(&mut self) {
        let mut list = std::mem::take(&mut self.to_flush);
        for &k in &list {
            self.flush(k);
        }
        list.clear();
        if self.to_flush.is_empty() {
            self.to_flush = list;
        } else {
            self.to_flush.append(&mut list);
        }
    }
}
