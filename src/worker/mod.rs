//! The per-core event loop.
//!
//! Each worker owns a `mio::Poll`, its own SO_REUSEPORT listener, a slab of connections and one shard of
//! the keyspace. One iteration: read every readable connection and run what it asked for (local keys
//! inline, foreign keys appended to the batch for their owner), execute the batches other workers sent,
//! deliver the replies they returned, push this iteration's batches, then write each connection's
//! output once.

pub mod conn;
pub mod mailbox;

use std::io;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::command::ctx::unknown_command_bytes;
use crate::command::ctx::{ConnCtx, Session};
use crate::command::slots::{SubLookup, SLOTS};
use crate::command::{Args, Combine, ConnFn, Ctx, Exec, KeyedFn, TABLE};
use crate::keyslot::{key_slot, slot_owner};
use crate::resp::reply::SharedValue;
use crate::resp::{parse_command, Parsed, Reply, Source};
use crate::shared::{unix_ms, ClientInfo, ConnGauge, Shared};
use crate::stats::{Count, Started};
use crate::store::{Entry, Keyspace};
use conn::{Chain, Conn, Coord, Gather, Slot};
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
    /// `used_memory_startup` was offered (at this worker's first publication).
    startup_noted: bool,
}

/// One worker thread: event loop, connections, keyspace shard, mailboxes.
pub struct Worker {
    id: usize,
    n: usize,
    poll: Poll,
    listener: TcpListener,
    shared: Arc<Shared>,
    mail: Arc<Mailboxes>,
    conns: Slab<Conn>,
    ks: Keyspace,
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
    sub_args: Vec<Range<usize>>,
    scratch: Vec<u8>,
    keys: Vec<usize>,
    to_flush: Vec<usize>,
    to_resume: Vec<usize>,
    paused_on_ring: Vec<usize>,
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

/// The number of statistics slots a worker's command table needs (commands and sub-commands).
pub fn stats_slots() -> usize {
    SLOTS.len()
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
        mut listener: TcpListener,
        shared: Arc<Shared>,
        mail: Arc<Mailboxes>,
    ) -> io::Result<Self> {
        poll.registry()
            .register(&mut listener, LISTENER_TOKEN, Interest::READABLE)?;
        let n = shared.workers;
        let ks = Keyspace::new(shared.databases, unix_ms() ^ ((id as u64 + 1) << 40));
        Ok(Worker {
            id,
            n,
            poll,
            listener,
            mail,
            conns: Slab::with_capacity(1024),
            ks,
            outbox: (0..n).map(|_| None).collect(),
            pool: Vec::new(),
            ring_full: false,
            now: unix_ms(),
            args: Vec::with_capacity(64),
            batch_args: Vec::with_capacity(64),
            spans: Vec::with_capacity(PREFETCH_BATCH),
            sub_args: Vec::with_capacity(8),
            scratch: Vec::new(),
            keys: Vec::with_capacity(16),
            to_flush: Vec::with_capacity(1024),
            to_resume: Vec::new(),
            paused_on_ring: Vec::new(),
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
            let busy = self.ring_full || !self.to_resume.is_empty();
            let timeout = if busy {
                Duration::ZERO
            } else {
                let until_cron = self.cron_interval.saturating_sub(self.last_cron.elapsed());
                if self.mail.park(self.id) {
                    until_cron
                } else {
                    Duration::ZERO
                }
            };
            let polled = self.poll.poll(&mut events, Some(timeout));
            self.mail.unpark(self.id);
            if let Err(e) = polled {
                if e.kind() != io::ErrorKind::Interrupted {
                    crate::log_at!(Warning, "worker {}: poll failed: {e}", self.id);
                    return;
                }
            }
            self.now = unix_ms();
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
                    }
                }
            }
            self.drain_inbox();
            self.resume();
            // Statistics first: a client that sees a reply must see its effect in INFO too.
            self.publish_stats();
            self.send_outboxes();
            self.flush_all();
            if self.last_cron.elapsed() >= self.cron_interval {
                self.cron();
            }
        }
    }

    // ------------------------------------------------------------------------------------ connections

    fn accept(&mut self) {
        loop {
            let (mut sock, peer) = match self.listener.accept() {
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
                addr: peer.to_string(),
                laddr: laddr.clone(),
                fd: sock.as_raw_fd(),
                created_ms: self.now,
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

    fn close(&mut self, k: usize) {
        if !self.conns.contains(k) {
            return;
        }
        let mut conn = self.conns.remove(k);
        let _ = self.poll.registry().deregister(&mut conn.sock);
        self.shared.clients().remove(&conn.session.id);
        self.shared.stats[self.id]
            .connected_clients
            .fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether connection input must wait (and why it will be resumed).
    fn input_blocked(&self, conn: &Conn) -> bool {
        conn.closing
            || conn.stalled
            || self.ring_full
            || conn.pending_output(OUTPUT_PAUSE) > OUTPUT_PAUSE
            || conn.slots.len() > MAX_SLOTS
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
            let blocked = conn.stalled
                || self.ring_full
                || conn.pending_output(OUTPUT_PAUSE) > OUTPUT_PAUSE
                || conn.slots.len() > MAX_SLOTS;
            if blocked {
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
                            pos = p + consumed;
                            if !one.is_empty() {
                                self.dispatch_guarded(k, &Args::new(&scratch, &one), usize::MAX);
                            }
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
            if spans.len() > 1 {
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
                pos = end;
                if b > a {
                    self.dispatch_guarded(k, &Args::new(&rbuf, &all[a..b]), owner);
                }
            }
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
        if let Some(conn) = self.conns.get_mut(k) {
            conn.rbuf = rbuf;
            conn.rpos = pos;
        }
        self.args = one;
        self.batch_args = all;
        self.spans = spans;
        self.scratch = scratch;
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
        if !conn.slots.is_empty() && conn.unwritten() < DEFER_WRITE_MAX && !conn.want_write {
            // Replies are still coming from other workers: write once they are all here (the delivery
            // queues this flush again), instead of one small write now and another then.
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

    // ---------------------------------------------------------------------------------------- routing

    /// [`Worker::dispatch`], with a last line of defence: a bug that panics in a handler answers that
    /// client with an error instead of taking the worker, and every client on it, down.
    fn dispatch_guarded(&mut self, k: usize, args: &Args, arg1_owner: usize) {
        let run = std::panic::AssertUnwindSafe(|| self.dispatch(k, args, arg1_owner));
        if std::panic::catch_unwind(run).is_err() {
            crate::log_at!(
                Warning,
                "worker {}: internal error while executing a command",
                self.id
            );
            self.reply_error(k, "ERR internal error");
        }
    }

    /// Routes one command: connection commands and local keys run now; foreign keys are batched.
    /// `arg1_owner` is the owner of argument 1 when the caller already computed it (else usize::MAX).
    ///
    /// Statistics: a command is counted once, where its handler runs on the whole command (here,
    /// or on the owner of its keys for a forwarded one); a command split over several shards
    /// (fan-out, broadcast) is counted here, and the shards add the time their part took.
    fn dispatch(&mut self, k: usize, args: &Args, arg1_owner: usize) {
        self.stats.executed = true;
        let Some((ci, cmd)) = TABLE.lookup(args.get(0)) else {
            return self.reply_error_bytes(k, &unknown_command_bytes(args));
        };
        if let Some(c) = self.conns.get(k) {
            c.gauge.last_cmd.store(ci as u32 + 1, Ordering::Relaxed);
        }
        if !cmd.arity_ok(args.len()) {
            self.shared.stats[self.id].ext.cmds.reject(ci);
            return self.reply_error(k, &cmd.arity_error());
        }
        let slot = match SLOTS.lookup(ci, args) {
            SubLookup::Whole => ci,
            SubLookup::Known(slot, arity) => {
                if !crate::stats::arity_fits(arity, args.len()) {
                    self.shared.stats[self.id].ext.cmds.reject(slot);
                    let msg = format!(
                        "ERR wrong number of arguments for '{}' command",
                        SLOTS.name(slot)
                    );
                    return self.reply_error(k, &msg);
                }
                slot
            }
            SubLookup::Unknown => return self.reply_unknown_subcommand(k, args),
        };
        match cmd.exec {
            Exec::Conn(f) => {
                if SLOTS.reads_stats(ci) {
                    self.publish_stats();
                }
                self.exec_conn(k, f, args, slot)
            }
            Exec::Keyed(f) | Exec::Fanout(f, _) => {
                let mut keys = std::mem::take(&mut self.keys);
                keys.clear();
                cmd.key_indices(args, &mut keys);
                let mut owner = None;
                let mut spread = false;
                for &i in &keys {
                    let o = if i == 1 && arg1_owner != usize::MAX {
                        arg1_owner
                    } else {
                        slot_owner(key_slot(args.get(i)), self.n)
                    };
                    match owner {
                        None => owner = Some(o),
                        Some(p) if p != o => spread = true,
                        _ => {}
                    }
                }
                if !spread {
                    match owner {
                        Some(o) if o != self.id => {
                            let started = Started::now();
                            self.forward(k, o, ci, args, 0);
                            // The owner of a fan-out command's keys counts only its part.
                            if matches!(cmd.exec, Exec::Fanout(..)) {
                                self.account(slot, started, Count::Call);
                            }
                        }
                        _ => self.exec_local(k, f, args, slot),
                    }
                } else if let Exec::Fanout(f, combine) = cmd.exec {
                    let step = match cmd.keys {
                        crate::command::KeySpec::Range(_, _, s) => s.max(1) as usize,
                        _ => 1,
                    };
                    let started = Started::now();
                    self.fanout(k, ci, f, combine, step, &keys, args);
                    self.account(slot, started, Count::Call);
                } else {
                    // Counted when its handler runs, once the copies of its keys are here.
                    self.coordinate(k, ci, &keys, args);
                }
                self.keys = keys;
            }
            Exec::Broadcast(f, combine) => {
                let started = Started::now();
                self.broadcast(k, ci, f, combine, args);
                self.account(slot, started, Count::Call);
            }
            Exec::Cursor(..) => {
                // Counted once here; pages run on other workers add only their time.
                let started = Started::now();
                let target = crate::command::parse_cursor(args.get(1))
                    .map(|c| (c % self.n as u64) as usize)
                    .unwrap_or(self.id);
                let Some(conn) = self.conns.get_mut(k) else {
                    return;
                };
                let chain = Chain {
                    cmd: ci,
                    args: args.iter_from(0).map(<[u8]>::to_vec).collect(),
                    items: Vec::new(),
                    count: 0,
                };
                let seq = conn.push_slot(Slot::Chain(Box::new(chain)));
                self.run_chain(k, seq, target);
                self.account(slot, started, Count::Call);
            }
        }
    }

    fn reply_error_bytes(&mut self, k: usize, msg: &[u8]) {
        if let Some(conn) = self.conns.get_mut(k) {
            let resp3 = conn.session.resp3;
            let (out, refs) = conn.reply_target();
            Reply::with_refs(out, refs, resp3).error_bytes(msg);
            conn.end_reply();
        }
    }

    fn reply_unknown_subcommand(&mut self, k: usize, args: &Args) {
        if let Some(conn) = self.conns.get_mut(k) {
            let resp3 = conn.session.resp3;
            let (out, refs) = conn.reply_target();
            crate::command::ctx::unknown_subcommand(&mut Reply::with_refs(out, refs, resp3), args);
            conn.end_reply();
        }
    }

    /// Accounts for an execution of stats slot `slot` begun at `started`: counters, latency
    /// histogram, and a latency-monitor event when a whole command took latency-monitor-threshold ms
    /// or more.
    #[inline]
    fn account(&mut self, slot: usize, started: Started, how: Count) {
        let params = &self.shared.params;
        let track = params.latency_tracking.load(Ordering::Relaxed);
        let ns = self.shared.stats[self.id]
            .ext
            .cmds
            .finish(slot, started, how, track);
        if how != Count::Call {
            return;
        }
        self.stats.commands += 1;
        let threshold = params.latency_monitor_threshold.load(Ordering::Relaxed);
        if threshold != 0 && ns / 1_000_000 >= threshold {
            let fast = TABLE.get(SLOTS.parent(slot)).flags & crate::command::flag::FAST != 0;
            let event = if fast { "fast-command" } else { "command" };
            self.shared
                .info
                .latency_event(event, ns / 1_000_000, unix_ms() / 1000);
        }
    }

    fn reply_error(&mut self, k: usize, msg: &str) {
        if let Some(conn) = self.conns.get_mut(k) {
            let resp3 = conn.session.resp3;
            let (out, refs) = conn.reply_target();
            Reply::with_refs(out, refs, resp3).error(msg);
            conn.end_reply();
        }
    }

    fn exec_conn(&mut self, k: usize, f: ConnFn, args: &Args, slot: usize) {
        let started = Started::now();
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let resp3 = conn.session.resp3;
        let out = if conn.slots.is_empty() {
            &mut conn.wbuf
        } else {
            conn.slots
                .push_back(Slot::Ready(conn.spill.len()..usize::MAX));
            &mut conn.spill
        };
        let mut ctx = ConnCtx {
            session: &mut conn.session,
            reply: Reply::new(out, resp3),
            shared: &self.shared,
            worker: self.id,
            now: self.now,
        };
        f(&mut ctx, args);
        conn.end_reply();
        if conn.session.quit {
            conn.closing = true;
        }
        self.account(slot, started, Count::Call);
    }

    fn exec_local(&mut self, k: usize, f: KeyedFn, args: &Args, slot: usize) {
        let started = Started::now();
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let (db, resp3) = (conn.session.db, conn.session.resp3);
        let mut ctx = Ctx {
            ks: &mut self.ks,
            db,
            now: self.now,
            reply: {
                let (out, refs) = conn.reply_target();
                Reply::with_refs(out, refs, resp3)
            },
            worker: self.id,
            workers: self.n,
        };
        f(&mut ctx, args);
        conn.end_reply();
        self.account(slot, started, Count::Call);
    }

    /// The batch for `dest`, taken from the pool when this iteration has none yet.
    fn batch_for(&mut self, dest: usize) -> &mut Batch {
        let pool = &mut self.pool;
        self.outbox[dest].get_or_insert_with(|| pool.pop().unwrap_or_default())
    }

    /// Sends a command to the owner of its keys and reserves its reply slot.
    fn forward(&mut self, k: usize, dest: usize, ci: usize, args: &Args, _part: u32) {
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let seq = conn.push_slot(Slot::Waiting);
        let origin = Origin {
            token: k as u32,
            client: conn.session.id,
            seq,
            part: 0,
        };
        let (db, resp3) = (conn.session.db, conn.session.resp3);
        self.batch_for(dest).push_request(
            origin,
            db,
            resp3,
            Op::Exec(ci as u16),
            args.iter_from(0),
        );
    }

    /// Splits a multi-key command into one sub-command per key group, run by each key's owner.
    #[allow(clippy::too_many_arguments)]
    fn fanout(
        &mut self,
        k: usize,
        ci: usize,
        f: KeyedFn,
        combine: Combine,
        step: usize,
        keys: &[usize],
        args: &Args,
    ) {
        if keys.last().is_some_and(|&i| i + step > args.len()) {
            return self.reply_error(k, &TABLE.get(ci).arity_error());
        }
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let (db, resp3, client) = (conn.session.db, conn.session.resp3, conn.session.id);
        let parts = keys.len();
        let seq = conn.push_slot(Slot::Gather(Gather {
            combine,
            parts: vec![None; parts],
            missing: parts,
            resp3,
        }));
        let mut sub = std::mem::take(&mut self.sub_args);
        for (part, &i) in keys.iter().enumerate() {
            let owner = slot_owner(key_slot(args.get(i)), self.n);
            let mut idx = [0usize; 8];
            idx[0] = 0;
            let width = step.min(7);
            for j in 0..width {
                idx[j + 1] = i + j;
            }
            let sub_args = args.pick(&idx[..width + 1], &mut sub);
            if owner == self.id {
                let mut out = Vec::new();
                let mut ctx = Ctx {
                    ks: &mut self.ks,
                    db,
                    now: self.now,
                    reply: Reply::new(&mut out, resp3),
                    worker: self.id,
                    workers: self.n,
                };
                f(&mut ctx, &sub_args);
                self.fill_part(k, client, seq, part, out);
            } else {
                let origin = Origin {
                    token: k as u32,
                    client,
                    seq,
                    part: part as u32,
                };
                self.batch_for(owner).push_request(
                    origin,
                    db,
                    resp3,
                    Op::Exec(ci as u16),
                    sub_args.iter_from(0),
                );
            }
        }
        self.sub_args = sub;
    }

    /// Runs a command on every shard and combines the replies.
    fn broadcast(&mut self, k: usize, ci: usize, f: KeyedFn, combine: Combine, args: &Args) {
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let (db, resp3, client) = (conn.session.db, conn.session.resp3, conn.session.id);
        let n = self.n;
        let seq = conn.push_slot(Slot::Gather(Gather {
            combine,
            parts: vec![None; n],
            missing: n,
            resp3,
        }));
        for w in 0..n {
            if w == self.id {
                let mut out = Vec::new();
                let mut ctx = Ctx {
                    ks: &mut self.ks,
                    db,
                    now: self.now,
                    reply: Reply::new(&mut out, resp3),
                    worker: self.id,
                    workers: n,
                };
                f(&mut ctx, args);
                self.fill_part(k, client, seq, w, out);
            } else {
                let origin = Origin {
                    token: k as u32,
                    client,
                    seq,
                    part: w as u32,
                };
                self.batch_for(w).push_request(
                    origin,
                    db,
                    resp3,
                    Op::Exec(ci as u16),
                    args.iter_from(0),
                );
            }
        }
    }

    /// A command whose keys live on several workers: fetch copies of its keys, run it here on the
    /// copies, write the results back. The connection's later commands wait until it is done.
    fn coordinate(&mut self, k: usize, ci: usize, keys: &[usize], args: &Args) {
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let (db, resp3, client) = (conn.session.db, conn.session.resp3, conn.session.id);
        let cmd = TABLE.get(ci);
        let copy_db = if cmd.name == "copy" {
            crate::command::keyspace::copy_target_db(args)
        } else {
            None
        };
        let mut data = Vec::new();
        let mut ranges = Vec::with_capacity(args.len());
        for a in args.iter_from(0) {
            let s = data.len();
            data.extend_from_slice(a);
            ranges.push(s..data.len());
        }
        let key_dbs: Vec<(usize, usize)> = keys
            .iter()
            .map(|&i| {
                (
                    if i == 2 {
                        copy_db.filter(|&d| d < self.ks.dbs.len()).unwrap_or(db)
                    } else {
                        db
                    },
                    i,
                )
            })
            .collect();
        let nkeys = key_dbs.len();
        let coord = Coord {
            cmd: ci,
            db,
            resp3,
            data,
            ranges,
            keys: key_dbs.clone(),
            fetched: (0..nkeys).map(|_| None).collect(),
            missing: nkeys,
        };
        let seq = conn.push_slot(Slot::Coord(Box::new(coord)));
        conn.stalled = true;
        for (part, (kdb, i)) in key_dbs.into_iter().enumerate() {
            let key = args.get(i);
            let owner = slot_owner(key_slot(key), self.n);
            if owner == self.id {
                let e = self.ks.dbs[kdb].peek(key, self.now).cloned().map(Box::new);
                self.fill_fetch(k, client, seq, part, e);
            } else {
                let origin = Origin {
                    token: k as u32,
                    client,
                    seq,
                    part: part as u32,
                };
                self.batch_for(owner).push_request(
                    origin,
                    kdb,
                    resp3,
                    Op::Fetch,
                    std::iter::once(key),
                );
            }
        }
    }

    /// Runs the next page of the cursor command in slot `seq` on worker `target`: here at once, or
    /// forwarded, its reply coming back through [`Worker::chain_page`].
    fn run_chain(&mut self, k: usize, seq: u64, target: usize) {
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let (db, resp3, client) = (conn.session.db, conn.session.resp3, conn.session.id);
        let Some(Slot::Chain(chain)) = conn.slot_mut(seq) else {
            return;
        };
        let mut data = Vec::new();
        let mut ranges = Vec::with_capacity(chain.args.len());
        for a in &chain.args {
            ranges.push(data.len()..data.len() + a.len());
            data.extend_from_slice(a);
        }
        let ci = chain.cmd;
        let args = Args::new(&data, &ranges);
        if target != self.id {
            let origin = Origin {
                token: k as u32,
                client,
                seq,
                part: 0,
            };
            self.batch_for(target).push_request(
                origin,
                db,
                resp3,
                Op::Exec(ci as u16),
                args.iter_from(0),
            );
            return;
        }
        let Exec::Cursor(f, _) = TABLE.get(ci).exec else {
            return;
        };
        let mut out = Vec::new();
        let mut ctx = Ctx {
            ks: &mut self.ks,
            db,
            now: self.now,
            reply: Reply::new(&mut out, resp3),
            worker: self.id,
            workers: self.n,
        };
        f(&mut ctx, &args);
        self.chain_page(k, client, seq, &out);
    }

    /// Takes one shard's page of a cursor command: gathers its items, then either runs the next
    /// shard's page or answers with every item gathered and the last cursor.
    fn chain_page(&mut self, k: usize, client: u64, seq: u64, page: &[u8]) {
        let n = self.n;
        let Some(conn) = live(&mut self.conns, k as u32, client) else {
            return;
        };
        let resp3 = conn.session.resp3;
        let Some(Slot::Chain(chain)) = conn.slot_mut(seq) else {
            return;
        };
        let answer = match split_cursor_page(page) {
            None => page.to_vec(),
            Some((cursor, items, body)) => {
                chain.items.extend_from_slice(body);
                chain.count += items;
                let ranges: Vec<Range<usize>> = {
                    let mut at = 0;
                    chain
                        .args
                        .iter()
                        .map(|a| {
                            at += a.len();
                            at - a.len()..at
                        })
                        .collect()
                };
                let data: Vec<u8> = chain.args.concat();
                let Exec::Cursor(_, more) = TABLE.get(chain.cmd).exec else {
                    return;
                };
                if let Some(next) = more(&Args::new(&data, &ranges), chain.count, cursor, n) {
                    chain.args[1] = next.to_string().into_bytes();
                    return self.run_chain(k, seq, (next % n as u64) as usize);
                }
                let mut out = Vec::with_capacity(chain.items.len() + 32);
                let mut r = Reply::new(&mut out, resp3);
                r.array(2);
                r.bulk(itoa::Buffer::new().format(cursor).as_bytes());
                r.array(chain.count);
                r.raw(&chain.items);
                out
            }
        };
        let ready = conn.ready_slot(&answer, &[], 0);
        if let Some(slot) = conn.slot_mut(seq) {
            *slot = ready;
        }
        conn.drain_ready();
        self.after_delivery(k);
    }

    // -------------------------------------------------------------------------------- reply delivery

    fn fill_part(&mut self, k: usize, client: u64, seq: u64, part: usize, bytes: Vec<u8>) {
        let Some(conn) = live(&mut self.conns, k as u32, client) else {
            return;
        };
        let Some(Slot::Gather(g)) = conn.slot_mut(seq) else {
            return;
        };
        if let Some(p) = g.parts.get_mut(part) {
            if p.is_none() {
                g.missing -= 1;
            }
            *p = Some(bytes);
        }
        if g.missing == 0 {
            let out = combine(g);
            let ready = conn.ready_slot(&out, &[], 0);
            if let Some(slot) = conn.slot_mut(seq) {
                *slot = ready;
            }
            conn.drain_ready();
            self.after_delivery(k);
        }
    }

    fn fill_fetch(
        &mut self,
        k: usize,
        client: u64,
        seq: u64,
        part: usize,
        entry: Option<Box<Entry>>,
    ) {
        let Some(conn) = live(&mut self.conns, k as u32, client) else {
            return;
        };
        let Some(Slot::Coord(c)) = conn.slot_mut(seq) else {
            return;
        };
        if let Some(f) = c.fetched.get_mut(part) {
            *f = entry;
            c.missing -= 1;
        }
        if c.missing == 0 {
            self.finish_coord(k, seq);
        }
    }

    fn finish_coord(&mut self, k: usize, seq: u64) {
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let Some(slot) = conn.slot_mut(seq) else {
            return;
        };
        let Slot::Coord(mut c) = std::mem::replace(slot, Slot::Waiting) else {
            return;
        };
        let mut temp = Keyspace::new(self.shared.databases, self.ks.random());
        temp.limits = self.ks.limits;
        for ((db, _), e) in c.keys.iter().zip(c.fetched.iter_mut()) {
            if let Some(e) = e.take() {
                temp.dbs[*db].put(*e);
            }
        }
        let cmd = TABLE.get(c.cmd);
        let mut out = Vec::new();
        if let Exec::Keyed(f) | Exec::Fanout(f, _) = cmd.exec {
            let args = Args::new(&c.data, &c.ranges);
            let mut ctx = Ctx {
                ks: &mut temp,
                db: c.db,
                now: self.now,
                reply: Reply::new(&mut out, c.resp3),
                worker: self.id,
                workers: self.n,
            };
            f(&mut ctx, &args);
        }
        if cmd.is_write() {
            let mut done: Vec<(usize, &[u8])> = Vec::new();
            for &(db, i) in &c.keys {
                let key = &c.data[c.ranges[i].clone()];
                if done.contains(&(db, key)) {
                    continue;
                }
                done.push((db, key));
                let result = temp.dbs[db].table.remove(key);
                let owner = slot_owner(key_slot(key), self.n);
                if owner == self.id {
                    apply(&mut self.ks, db, key, result);
                } else {
                    let origin = Origin {
                        token: k as u32,
                        client: 0,
                        seq: 0,
                        part: 0,
                    };
                    let op = Op::Apply(result.map(Box::new));
                    self.batch_for(owner)
                        .push_request(origin, db, false, op, std::iter::once(key));
                }
            }
        }
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let ready = conn.ready_slot(&out, &[], 0);
        if let Some(slot) = conn.slot_mut(seq) {
            *slot = ready;
        }
        conn.stalled = false;
        conn.drain_ready();
        self.after_delivery(k);
        self.schedule_resume(k);
    }

    /// Places a forwarded command's reply in its slot and moves ready replies to the output.
    /// `refs` are the large values the reply references, at offsets relative to `base`.
    fn deliver(
        &mut self,
        origin: Origin,
        bytes: &[u8],
        refs: &[(usize, SharedValue)],
        base: usize,
    ) {
        let Some(conn) = live(&mut self.conns, origin.token, origin.client) else {
            return;
        };
        match conn.slot_mut(origin.seq) {
            Some(Slot::Waiting) => {
                if origin.seq == conn.head_seq {
                    conn.push_output(bytes, refs, base);
                    conn.slots.pop_front();
                    conn.head_seq += 1;
                } else {
                    let ready = conn.ready_slot(bytes, refs, base);
                    if let Some(s) = conn.slot_mut(origin.seq) {
                        *s = ready;
                    }
                }
            }
            Some(Slot::Chain(_)) => {
                let flat = flatten(bytes, refs, base);
                return self.chain_page(origin.token as usize, origin.client, origin.seq, &flat);
            }
            Some(Slot::Gather(_)) => {
                // Parts are combined byte-wise: inline the referenced values.
                let flat = flatten(bytes, refs, base);
                return self.fill_part(
                    origin.token as usize,
                    origin.client,
                    origin.seq,
                    origin.part as usize,
                    flat,
                );
            }
            _ => return,
        }
        conn.drain_ready();
        self.after_delivery(origin.token as usize);
    }

    fn after_delivery(&mut self, k: usize) {
        self.queue_flush(k);
        if let Some(c) = self.conns.get(k) {
            if c.queued_resume
                && !c.stalled
                && c.slots.len() < MAX_SLOTS / 2
                && c.pending_output(OUTPUT_PAUSE) <= OUTPUT_PAUSE
            {
                self.schedule_resume(k);
            }
        }
    }

    // ------------------------------------------------------------------------------------- mailboxes

    fn drain_inbox(&mut self) {
        for src in 0..self.n {
            if src == self.id {
                continue;
            }
            while let Some(mut batch) = self.mail.recv(src, self.id) {
                let run = std::panic::AssertUnwindSafe(|| self.handle_batch(src, &mut batch));
                if std::panic::catch_unwind(run).is_err() {
                    crate::log_at!(
                        Warning,
                        "worker {}: internal error while executing a batch from worker {src}",
                        self.id
                    );
                }
                batch.clear();
                if self.pool.len() < 2 * self.n {
                    self.pool.push(batch);
                }
            }
        }
    }

    /// Executes the requests of a batch from `src` (replying in one batch) and delivers its replies.
    fn handle_batch(&mut self, src: usize, batch: &mut Batch) {
        self.stats.executed = true;
        let Batch {
            data,
            ranges,
            refs,
            requests,
            responses,
        } = batch;
        // Keys to prefetch, PREFETCH_BATCH requests ahead of execution.
        let key_of = |req: &mailbox::Request| {
            (req.args.end - req.args.start >= 2)
                .then(|| (req.db as usize, ranges[req.args.start as usize + 1].clone()))
        };
        let ahead: Vec<Option<(usize, Range<usize>)>> = requests.iter().map(key_of).collect();
        for (i, req) in requests.drain(..).enumerate() {
            if i % PREFETCH_BATCH == 0 {
                for (db, r) in ahead[i..(i + PREFETCH_BATCH).min(ahead.len())]
                    .iter()
                    .flatten()
                {
                    if let Some(db) = self.ks.dbs.get(*db) {
                        db.table.prefetch(&data[r.clone()]);
                    }
                }
            }
            let args = Args::new(
                data,
                &ranges[req.args.start as usize..req.args.end as usize],
            );
            let db = (req.db as usize).min(self.ks.dbs.len() - 1);
            match req.op {
                Op::Exec(ci) => {
                    // A whole command is counted here; a part of a fan-out or broadcast command,
                    // or a page of a cursor command, was counted where it arrived, and adds only
                    // its time (broadcast parts all answer the same error: the part run where it
                    // arrived counts it).
                    let (f, how, muted) = match TABLE.get(ci as usize).exec {
                        Exec::Keyed(f) => (f, Count::Call, false),
                        Exec::Cursor(f, _) => (f, Count::Part, false),
                        Exec::Fanout(f, _) => (f, Count::Part, false),
                        Exec::Broadcast(f, _) => (f, Count::Part, true),
                        Exec::Conn(_) => continue,
                    };
                    let slot = SLOTS.slot_of(ci as usize, &args);
                    let started = Started::now();
                    let pool = &mut self.pool;
                    let out =
                        self.outbox[src].get_or_insert_with(|| pool.pop().unwrap_or_default());
                    let start = out.data.len();
                    let mut ctx = Ctx {
                        ks: &mut self.ks,
                        db,
                        now: self.now,
                        reply: Reply::with_refs(&mut out.data, &mut out.refs, req.resp3),
                        worker: self.id,
                        workers: self.n,
                    };
                    if muted {
                        crate::resp::reply::errors::muted(|| f(&mut ctx, &args));
                    } else {
                        f(&mut ctx, &args);
                    }
                    let end = out.data.len();
                    out.responses.push(mailbox::Response {
                        origin: req.origin,
                        body: Body::Bytes(start..end),
                    });
                    self.account(slot, started, how);
                }
                Op::Fetch => {
                    let e = self.ks.dbs[db]
                        .peek(args.get(0), self.now)
                        .cloned()
                        .map(Box::new);
                    let resp = mailbox::Response {
                        origin: req.origin,
                        body: Body::Entry(e),
                    };
                    self.batch_for(src).responses.push(resp);
                }
                Op::Apply(e) => apply(&mut self.ks, db, args.get(0), e.map(|b| *b)),
            }
        }
        // Replies were appended in order, and so were the values they reference: walk both together.
        let mut next_ref = 0;
        for resp in responses.drain(..) {
            match resp.body {
                Body::Bytes(r) => {
                    let first = next_ref;
                    while next_ref < refs.len() && refs[next_ref].0 < r.end {
                        next_ref += 1;
                    }
                    self.deliver(
                        resp.origin,
                        &data[r.clone()],
                        &refs[first..next_ref],
                        r.start,
                    )
                }
                Body::Entry(e) => {
                    let o = resp.origin;
                    // The last copy of a coordinated command's keys runs its handler: count it.
                    let completes = self.completing_coord(&o);
                    let started = Started::now();
                    self.fill_fetch(o.token as usize, o.client, o.seq, o.part as usize, e);
                    if let Some(slot) = completes {
                        self.account(slot, started, Count::Call);
                    }
                }
            }
        }
    }

    /// The stats slot of the coordinated command that the fetched copy for `o` completes, if any.
    fn completing_coord(&mut self, o: &Origin) -> Option<usize> {
        let conn = live(&mut self.conns, o.token, o.client)?;
        match conn.slot_mut(o.seq)? {
            Slot::Coord(c) if c.missing == 1 && (o.part as usize) < c.fetched.len() => {
                Some(SLOTS.slot_of(c.cmd, &Args::new(&c.data, &c.ranges)))
            }
            _ => None,
        }
    }

    fn send_outboxes(&mut self) {
        let was_full = self.ring_full;
        self.ring_full = false;
        for dest in 0..self.n {
            let Some(b) = self.outbox[dest].take() else {
                continue;
            };
            if b.is_empty() {
                self.outbox[dest] = Some(b);
                continue;
            }
            if let Err(b) = self.mail.send(self.id, dest, b) {
                self.outbox[dest] = Some(b);
                self.ring_full = true;
            }
        }
        if was_full && !self.ring_full {
            for k in std::mem::take(&mut self.paused_on_ring) {
                self.schedule_resume(k);
            }
        }
    }

    // ---------------------------------------------------------------------------------- housekeeping

    fn refresh_params(&mut self) {
        let p = &self.shared.params;
        let epoch = p.epoch.load(Ordering::Acquire);
        if epoch == self.config_epoch {
            return;
        }
        self.config_epoch = epoch;
        self.max_bulk = p.proto_max_bulk_len.load(Ordering::Relaxed) as usize;
        self.query_limit = p.query_buffer_limit.load(Ordering::Relaxed) as usize;
        self.hz = p.get_i64("hz").clamp(1, 500) as u64;
        self.cron_interval = Duration::from_micros(1_000_000 / self.hz);
        self.keepalive = p.get_i64("tcp-keepalive").max(0) as u64;
        self.ks.lfu_policy = p
            .get("maxmemory-policy")
            .is_some_and(|v| v.ends_with("-lfu"));
        let l = &mut self.ks.limits;
        l.set_max_intset_entries = p.get_i64("set-max-intset-entries").max(0) as usize;
        l.hash_max_listpack_entries = p.get_i64("hash-max-listpack-entries").max(0) as usize;
        l.hash_max_listpack_value = p.get_i64("hash-max-listpack-value").max(0) as usize;
        l.zset_max_listpack_entries = p.get_i64("zset-max-listpack-entries").max(0) as usize;
        l.zset_max_listpack_value = p.get_i64("zset-max-listpack-value").max(0) as usize;
    }

    fn publish_stats(&mut self) {
        if !self.stats.startup_noted {
            // The first worker to end a loop iteration does so before any command ran anywhere (a
            // command needs a connection, accepted in an earlier iteration of its worker).
            self.stats.startup_noted = true;
            self.shared.info.note_startup(self.shared.used_memory());
        }
        let s = &self.shared.stats[self.id];
        if std::mem::take(&mut self.stats.executed)
            || self.stats.net_in != 0
            || self.stats.net_out != 0
            || self.stats.connections != 0
        {
            let st = &mut self.stats;
            s.ext
                .reads
                .fetch_add(std::mem::take(&mut st.reads), Ordering::Relaxed);
            s.ext
                .writes
                .fetch_add(std::mem::take(&mut st.writes), Ordering::Relaxed);
            s.ext.publish_errors();
            s.used_memory.store(
                crate::alloc::thread_net_bytes() as i64 as u64,
                Ordering::Relaxed,
            );
            s.commands
                .fetch_add(std::mem::take(&mut self.stats.commands), Ordering::Relaxed);
            s.net_input_bytes
                .fetch_add(std::mem::take(&mut self.stats.net_in), Ordering::Relaxed);
            s.net_output_bytes
                .fetch_add(std::mem::take(&mut self.stats.net_out), Ordering::Relaxed);
            s.total_connections.fetch_add(
                std::mem::take(&mut self.stats.connections),
                Ordering::Relaxed,
            );
            s.rejected_connections
                .fetch_add(std::mem::take(&mut self.stats.rejected), Ordering::Relaxed);
            for (db, (keys, expires)) in self.ks.dbs.iter().zip(&s.keys) {
                keys.store(db.len() as u64, Ordering::Relaxed);
                expires.store(db.expires() as u64, Ordering::Relaxed);
            }
            s.keyspace_hits
                .store(self.ks.stats.keyspace_hits, Ordering::Relaxed);
            s.keyspace_misses
                .store(self.ks.stats.keyspace_misses, Ordering::Relaxed);
            s.expired_keys
                .store(self.ks.stats.expired_keys, Ordering::Relaxed);
        }
    }

    /// Visits 1/hz of the connections (at least 50) per tick, round robin, so each one's buffers
    /// are checked about once a second ([`Conn::resize_buffers`]). O(visited).
    fn resize_conn_buffers(&mut self) {
        let cap = self.conns.capacity();
        if cap == 0 {
            return;
        }
        let visit = (cap / self.hz as usize).max(50).min(cap);
        for _ in 0..visit {
            self.resize_cursor = (self.resize_cursor + 1) % cap;
            if let Some(conn) = self.conns.get_mut(self.resize_cursor) {
                conn.resize_buffers(self.now);
                conn.publish_gauge();
            }
        }
    }

    /// Every 5 seconds, as Redis's serverCron: this shard's databases (verbose) and, from worker 0,
    /// the clients and memory in use (debug).
    fn log_activity(&self) {
        if crate::log::enabled(crate::log::Level::Verbose) {
            for (j, db) in self.ks.dbs.iter().enumerate() {
                if !db.is_empty() {
                    crate::log_at!(
                        Verbose,
                        "DB {j}: {} keys ({} volatile) in the shard of worker {}.",
                        db.len(),
                        db.expires(),
                        self.id
                    );
                }
            }
        }
        if self.id == 0 && crate::log::enabled(crate::log::Level::Debug) {
            let sum = |f: fn(&crate::shared::WorkerStats) -> &std::sync::atomic::AtomicU64| {
                self.shared
                    .stats
                    .iter()
                    .map(|s| f(s).load(Ordering::Relaxed) as i64)
                    .sum::<i64>()
            };
            crate::log_at!(
                Debug,
                "{} clients connected (0 replicas), {} bytes in use",
                sum(|s| &s.connected_clients),
                sum(|s| &s.used_memory) + crate::alloc::retired_bytes() as i64
            );
        }
    }

    fn cron(&mut self) {
        self.last_cron = Instant::now();
        self.resize_conn_buffers();
        self.cron_ticks += 1;
        if self.cron_ticks.is_multiple_of(5 * self.hz) {
            self.log_activity();
        }
        if self.cron_ticks.is_multiple_of(self.hz) {
            crate::alloc::collect();
        }
        let effort = self
            .shared
            .params
            .get_i64("active-expire-effort")
            .clamp(1, 10) as usize;
        let started = crate::stats::ticks();
        self.ks.active_expire(self.now, EXPIRE_BUDGET * effort);
        self.expire_cycle_done(started);
        self.measure_memory_and_cpu();
        if self.id == 0 {
            self.sample_server_stats();
        }
        let s = &self.shared.stats[self.id];
        for (db, (keys, expires)) in self.ks.dbs.iter().zip(&s.keys) {
            keys.store(db.len() as u64, Ordering::Relaxed);
            expires.store(db.expires() as u64, Ordering::Relaxed);
        }
        s.expired_keys
            .store(self.ks.stats.expired_keys, Ordering::Relaxed);
        s.used_memory.store(
            crate::alloc::thread_net_bytes() as i64 as u64,
            Ordering::Relaxed,
        );
    }

    /// Accounts for an active-expiry pass begun at `started` (ticks): `expire_cycle_cpu_milliseconds`,
    /// and an `expire-cycle` latency event when it took latency-monitor-threshold ms or more.
    fn expire_cycle_done(&mut self, started: u64) {
        let ns = crate::stats::ticks_to_ns(crate::stats::ticks().saturating_sub(started));
        self.shared.stats[self.id]
            .ext
            .expire_us
            .fetch_add(ns / 1000, Ordering::Relaxed);
        let threshold = self
            .shared
            .params
            .latency_monitor_threshold
            .load(Ordering::Relaxed);
        if threshold != 0 && ns / 1_000_000 >= threshold {
            self.shared
                .info
                .latency_event("expire-cycle", ns / 1_000_000, unix_ms() / 1000);
        }
    }

    /// Publishes what INFO memory and cpu need from this worker: the bytes its connections' buffers
    /// hold (and the largest input and output buffer), its key tables' overhead, its CPU time.
    /// O(connections + table segments), every housekeeping tick.
    fn measure_memory_and_cpu(&mut self) {
        let (mut total, mut max_in, mut max_out) = (0usize, 0usize, 0usize);
        for (_, c) in self.conns.iter() {
            let input = c.rbuf.capacity();
            let output = c.wbuf.capacity() + c.spill.capacity();
            max_in = max_in.max(input);
            max_out = max_out.max(output);
            total += input
                + output
                + std::mem::size_of::<Conn>()
                + c.slots.capacity() * std::mem::size_of::<Slot>();
        }
        let tables: usize = self.ks.dbs.iter().map(|d| d.table.overhead_bytes()).sum();
        let ext = &self.shared.stats[self.id].ext;
        ext.client_mem.store(total as u64, Ordering::Relaxed);
        ext.client_max_in.store(max_in as u64, Ordering::Relaxed);
        ext.client_max_out.store(max_out as u64, Ordering::Relaxed);
        ext.table_overhead.store(tables as u64, Ordering::Relaxed);
        let (user, sys) = crate::stats::thread_cpu_us();
        ext.cpu_user_us.store(user, Ordering::Relaxed);
        ext.cpu_sys_us.store(sys, Ordering::Relaxed);
    }

    /// Server-wide sampling done by one worker every housekeeping tick: the tick rate of the clock,
    /// the instantaneous metrics, the memory peak.
    fn sample_server_stats(&mut self) {
        crate::stats::recalibrate();
        let mut totals = [0u64; 3];
        for w in &self.shared.stats {
            totals[0] += w.commands.load(Ordering::Relaxed);
            totals[1] += w.net_input_bytes.load(Ordering::Relaxed);
            totals[2] += w.net_output_bytes.load(Ordering::Relaxed);
        }
        self.shared
            .info
            .sample(self.shared.used_memory(), unix_ms(), totals);
    }

    /// Stops: writes what was already computed (best effort, bounded), then returns.
    fn shutdown(&mut self) {
        self.mail.wake_all();
        let deadline = Instant::now() + Duration::from_millis(500);
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for k in keys {
            if let Some(conn) = self.conns.get_mut(k) {
                conn.drain_ready();
                while conn.unwritten() > 0 && Instant::now() < deadline {
                    match conn.write_pending() {
                        Ok(0) => std::thread::sleep(Duration::from_millis(1)),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            }
            self.close(k);
        }
    }
}

/// Writes the result of a coordinated command back: replace the entry, or delete the key.
fn apply(ks: &mut Keyspace, db: usize, key: &[u8], entry: Option<Entry>) {
    match entry {
        Some(e) => {
            ks.dbs[db].put(e);
        }
        None => {
            ks.dbs[db].remove(key, 0);
        }
    }
}

/// A reply with its referenced values copied in place.
fn flatten(bytes: &[u8], refs: &[(usize, SharedValue)], base: usize) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(bytes.len() + refs.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut cur = 0;
    for (off, v) in refs {
        let at = off - base;
        out.extend_from_slice(&bytes[cur..at]);
        out.extend_from_slice(v);
        cur = at;
    }
    out.extend_from_slice(&bytes[cur..]);
    out
}

/// Parses `:<n>\r\n`.
fn parse_int_reply(b: &[u8]) -> Option<i64> {
    let s = b.strip_prefix(b":")?.strip_suffix(b"\r\n")?;
    crate::resp::parse_i64(s)
}

/// Splits `*<n>\r\n<body>` into n and body.
fn split_array_reply(b: &[u8]) -> Option<(i64, &[u8])> {
    let rest = b.strip_prefix(b"*")?;
    let cr = memchr::memchr(b'\r', rest)?;
    let n = crate::resp::parse_i64(&rest[..cr])?;
    Some((n, &rest[cr + 2..]))
}

/// Splits a cursor command's page `*2 <cursor> *N <items>` into (cursor, N, the encoded items);
/// None for anything else (an error, answered as it is).
fn split_cursor_page(b: &[u8]) -> Option<(u64, usize, &[u8])> {
    let rest = b.strip_prefix(b"*2\r\n$")?;
    let cr = memchr::memchr(b'\r', rest)?;
    let len: usize = std::str::from_utf8(&rest[..cr]).ok()?.parse().ok()?;
    let cursor = rest.get(cr + 2..cr + 2 + len)?;
    let cursor: u64 = std::str::from_utf8(cursor).ok()?.parse().ok()?;
    let (items, body) = split_array_reply(rest.get(cr + 2 + len + 2..)?)?;
    Some((cursor, usize::try_from(items).ok()?, body))
}

/// Combines the parts of a gathered reply. An error part wins.
fn combine(g: &mut Gather) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = g
        .parts
        .iter_mut()
        .map(|p| p.take().unwrap_or_default())
        .collect();
    if let Some(e) = parts.iter().find(|p| p.first() == Some(&b'-')) {
        return e.clone();
    }
    let mut out = Vec::new();
    let mut r = Reply::new(&mut out, g.resp3);
    match g.combine {
        Combine::SumInts => r.int(parts.iter().filter_map(|p| parse_int_reply(p)).sum()),
        Combine::AllOk => r.ok(),
        Combine::ConcatArrays => {
            let split: Vec<(i64, &[u8])> =
                parts.iter().filter_map(|p| split_array_reply(p)).collect();
            r.array(split.iter().map(|(n, _)| *n as usize).sum());
            for (_, body) in split {
                r.raw(body);
            }
        }
        Combine::AnyNonNull => {
            let pick = parts
                .iter()
                .find(|p| p.as_slice() != b"$-1\r\n" && p.as_slice() != b"_\r\n");
            r.raw(
                pick.or(parts.first())
                    .map(|v| v.as_slice())
                    .unwrap_or(b"$-1\r\n"),
            );
        }
    }
    out
}
