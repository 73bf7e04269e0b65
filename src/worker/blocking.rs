//! Blocked clients (BLPOP, BLMOVE, BZPOPMIN...) across workers.
//!
//! A blocking call gets a [`Ticket`] on its connection's worker before it is routed. Wherever its
//! keys are (here, on a borrowed shard, forwarded to their owner, or over several shards held as
//! one atomic step), its handler runs with [`Block::May`]: when no key has data it writes no
//! reply, and the ticket is registered on every key's shard in the same step, so no push can slip
//! between the check and the registration. The connection keeps an empty reply slot and reads no
//! further input until the slot is filled, as a blocked Redis client does.
//!
//! A write to a key clients wait on marks it ready (`run_keyed`); once the command, transaction
//! or script that wrote it ends, whoever holds the shard serves the key's waiters first come
//! first served: it claims a ticket (one CAS, so a client blocked on several shards is served
//! once), runs the call again on that key alone ([`Block::Serve`]) and sends the reply to the
//! ticket's worker. A BLMOVE whose destination lives on another shard is handed back to its
//! worker instead, which runs it again as an atomic step.
//!
//! The connection's worker times the wait out, and answers CLIENT UNBLOCK and disconnects, by
//! claiming the ticket the same way; registrations left on other shards are dropped when met or
//! swept.

use std::cmp::Reverse;

use super::*;
use crate::command::Block;
use crate::store::{Ticket, Value};

/// A blocked call answered by the shard that got data.
pub(super) enum Served {
    /// Its reply.
    Reply(Arc<Ticket>, Vec<u8>),
    /// Its destination is on another shard: its worker runs it again.
    Retry(Arc<Ticket>),
}

/// What a call that may block did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attempt {
    /// It answered (the reply is written).
    Answered,
    /// It waits on its keys (no reply written).
    Waits,
    /// Its ticket was answered before it ran (timed out meanwhile): nothing was done.
    Gone,
}

/// The worker owning `key` among `n`.
#[inline]
fn owner_of(key: &[u8], n: usize) -> usize {
    if n == 1 {
        0
    } else {
        slot_owner(key_slot(key), n)
    }
}

/// Where ticket `t`'s reply goes.
fn origin_of(t: &Ticket) -> Origin {
    Origin {
        token: t.token,
        client: t.client,
        seq: t.seq,
        part: 0,
    }
}

/// Runs keyed handler `f` of command `ci` in `ctx`; with `ticket`, as a call that may block,
/// registering the ticket on `ctx.ks` for each key it waits on.
pub(super) fn run_blocking(
    ctx: &mut Ctx,
    ci: usize,
    f: KeyedFn,
    args: &Args,
    ticket: Option<&Arc<Ticket>>,
) -> Attempt {
    let Some(t) = ticket else {
        run_keyed(ctx, ci, f, args);
        return Attempt::Answered;
    };
    if !t.begin() {
        return Attempt::Gone;
    }
    ctx.block = Block::May;
    run_keyed(ctx, ci, f, args);
    match ctx.block {
        Block::Waits { source_only } => {
            for key in wait_keys(ci, args, source_only) {
                ctx.ks.blocked.add(ctx.db, key, t.clone());
            }
            t.wait();
            Attempt::Waits
        }
        _ => {
            t.finish();
            Attempt::Answered
        }
    }
}

/// The keys a waiting call waits on: all its keys, or the first (BLMOVE's source).
pub(super) fn wait_keys<'a>(ci: usize, args: &Args<'a>, source_only: bool) -> Vec<&'a [u8]> {
    let mut keys = Vec::new();
    TABLE.get(ci).key_indices(args, &mut keys);
    if source_only {
        keys.truncate(1);
    }
    keys.iter().map(|&i| args.get(i)).collect()
}

/// Serves the clients waiting on the keys of `ks` (shard `shard` of `n`) written since it was
/// last served, in the order the keys were written and each key's clients first come first
/// served; a served BLMOVE that fills a key others wait on serves them too. The answers are
/// appended to `out` for the caller to route.
pub(super) fn serve_ready(
    shared: &Shared,
    ks: &mut Keyspace,
    shard: usize,
    n: usize,
    now: u64,
    out: &mut Vec<Served>,
) {
    while let Some((db, key, mut queue)) = ks.blocked.next_ready() {
        let mut i = 0;
        while i < queue.len() && ks.dbs[db].peek(&key, now).is_some() {
            let t = queue[i].clone();
            let (data, ranges) = t.args();
            let args = Args::new(data, ranges);
            let ci = t.cmd as usize;
            let cmd = TABLE.get(ci);
            let Exec::Keyed(f) = cmd.exec else {
                queue.remove(i);
                continue;
            };
            // Serving touches the served key only, and BLMOVE's destination: that one may live
            // on another shard.
            let moves = matches!(cmd.name, "blmove" | "brpoplpush");
            let elsewhere = moves && args.len() > 2 && owner_of(args.get(2), n) != shard;
            if elsewhere {
                // A BLMOVE to another shard's key: its worker runs it again, holding both. Only
                // when the source is a list (of another type, the client waits on, as in Redis).
                let is_list = ks.dbs[db]
                    .peek(&key, now)
                    .is_some_and(|e| matches!(e.value, Value::List(_)));
                if !is_list {
                    i += 1;
                    continue;
                }
                if t.begin() {
                    t.finish();
                    out.push(Served::Retry(t));
                }
                queue.remove(i);
                continue;
            }
            if !t.begin() {
                queue.remove(i);
                continue;
            }
            let mut reply = Vec::new();
            let mut ctx = Ctx {
                ks,
                db: t.db,
                now,
                reply: Reply::new(&mut reply, t.resp3),
                worker: shard,
                workers: n,
                block: Block::Serve(&key),
                shared,
            };
            run_keyed(&mut ctx, ci, f, &args);
            if let Block::Waits { .. } = ctx.block {
                // Nothing for this one here (another type): it waits on; the next may be served.
                t.wait();
                i += 1;
                continue;
            }
            t.finish();
            queue.remove(i);
            out.push(Served::Reply(t, reply));
        }
        ks.blocked.put_back(db, key, queue);
    }
}

impl Worker {
    /// Before routing blocking command `ci` of connection `k`: its ticket, kept for the place it
    /// runs ([`Worker::take_ticket`]), and its timeout. A call inside MULTI never gets here (it
    /// is queued, and runs without waiting).
    pub(super) fn begin_blocking(&mut self, k: usize, ci: usize, args: &Args) {
        let cmd = TABLE.get(ci);
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let seq = conn.head_seq + conn.slots.len() as u64;
        let ticket = Arc::new(Ticket::new(
            self.id,
            k as u32,
            conn.session.id,
            seq,
            conn.session.db,
            conn.session.resp3,
            ci as u16,
            args.iter_from(0),
        ));
        let timeout = cmd
            .block_timeout
            .map(|at| at(args))
            .filter(|&i| i < args.len())
            .and_then(|i| crate::command::blocking::parse_timeout(args.get(i)).ok())
            .unwrap_or(0);
        let deadline = self
            .retry_deadline
            .take()
            .unwrap_or_else(|| crate::command::blocking::deadline(timeout, self.now));
        conn.block = Some((ticket.clone(), deadline));
        // The next request waits for this one's reply, however long it takes.
        conn.quiet_wait = true;
        if deadline > 0 {
            self.timers
                .push(Reverse((deadline, k, conn.session.id, seq)));
        }
        if let Some(c) = self.shared.clients().get_mut(&conn.session.id) {
            c.block = Some(ticket.clone());
            c.block_timed = deadline > 0;
        }
        self.ticket = Some(ticket);
    }

    /// The ticket of the blocking call being routed, for the place that runs it.
    #[inline]
    pub(super) fn take_ticket(&mut self) -> Option<Arc<Ticket>> {
        self.ticket.take()
    }

    /// After a call ran here for connection `k`: a call that waits keeps an empty reply slot
    /// (filled by the shard that serves it, or by the timeout).
    pub(super) fn after_attempt(&mut self, k: usize, attempt: Attempt) {
        if attempt == Attempt::Answered {
            if let Some(c) = self.conns.get_mut(k) {
                c.block = None;
            }
            return;
        }
        if let Some(conn) = self.conns.get_mut(k) {
            conn.push_slot(Slot::Waiting);
        }
    }

    /// After commands ran on this worker's own shard: serves the clients blocked on keys that got
    /// data, and publishes the keyspace notifications the shard recorded.
    pub(super) fn serve_own(&mut self) {
        if self.shardless {
            return;
        }
        if self.ks.blocked.has_ready() {
            let mut served = std::mem::take(&mut self.served);
            serve_ready(
                &self.shared,
                &mut self.ks,
                self.id,
                self.n,
                self.now,
                &mut served,
            );
            self.route_served(&mut served);
            self.served = served;
        }
        self.publish_own_notes();
    }

    /// Publishes the keyspace notifications this worker's own shard recorded, oldest first, and
    /// the invalidations of the keys it changed. O(1) when there are none.
    pub(super) fn publish_own_notes(&mut self) {
        if self.shardless {
            return;
        }
        let (shared, n) = (&self.shared, self.n);
        let pending = &mut self.bcast_pending;
        publish_events(
            shared,
            n,
            &mut self.notes,
            &mut self.changed,
            pending,
            &mut self.ks,
        );
    }

    /// Serves the ready keys of `ks`, shard `id` (held by this worker), and publishes its
    /// keyspace notifications.
    pub(super) fn serve_shard(&mut self, ks: &mut Keyspace, id: usize) {
        if ks.blocked.has_ready() {
            let mut served = std::mem::take(&mut self.served);
            serve_ready(&self.shared, ks, id, self.n, self.now, &mut served);
            self.route_served(&mut served);
            self.served = served;
        }
        self.publish_notes_of(ks);
    }

    /// [`Worker::publish_own_notes`] for `ks`: a shard held by this worker, or an atomic step's
    /// copies.
    pub(super) fn publish_notes_of(&mut self, ks: &mut Keyspace) {
        let pending = &mut self.bcast_pending;
        publish_events(
            &self.shared,
            self.n,
            &mut self.notes,
            &mut self.changed,
            pending,
            ks,
        );
    }

    /// Sends each answer to its client: here at once, or in the batch for its worker.
    pub(super) fn route_served(&mut self, served: &mut Vec<Served>) {
        for s in served.drain(..) {
            let (t, reply) = match s {
                Served::Reply(t, reply) => (t, Some(reply)),
                Served::Retry(t) => (t, None),
            };
            if t.worker == self.id {
                match reply {
                    Some(r) => self.deliver(origin_of(&t), &r, &[], 0),
                    None => self.retries.push(t),
                }
                continue;
            }
            let out = self.batch_for(t.worker);
            let body = match reply {
                Some(r) => {
                    let start = out.data.len();
                    out.data.extend_from_slice(&r);
                    Body::Bytes(start..out.data.len())
                }
                None => Body::Retry(t.clone()),
            };
            out.responses.push(mailbox::Response {
                origin: origin_of(&t),
                body,
            });
        }
    }

    /// Runs again the blocked calls handed back by the shard that got data (a BLMOVE whose
    /// destination is on another shard): each as it came, with the deadline it had.
    pub(super) fn run_retries(&mut self) {
        for t in std::mem::take(&mut self.retries) {
            let k = t.token as usize;
            let Some(conn) = live(&mut self.conns, t.token, t.client) else {
                continue;
            };
            let Some((_, deadline)) = conn.block.take().filter(|(b, _)| Arc::ptr_eq(b, &t)) else {
                continue;
            };
            // Its empty slot is the connection's last (its input waited).
            if conn.head_seq + conn.slots.len() as u64 != t.seq + 1 {
                continue;
            }
            conn.slots.pop_back();
            let (data, ranges) = t.args();
            self.retry_deadline = Some(deadline);
            self.dispatch_guarded(k, &Args::new(data, ranges), usize::MAX);
            self.retry_deadline = None;
            self.queue_flush(k);
        }
    }

    /// The nearest wait deadline (Unix ms), if any.
    pub(super) fn next_deadline(&self) -> Option<u64> {
        let timer = self.timers.peek().map(|Reverse((d, ..))| *d);
        let pause = if self.pause_waiters.is_empty() {
            None
        } else {
            self.shared.pause.until().map(|u| u + 1)
        };
        match (timer, pause) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Once a CLIENT PAUSE ended or changed, puts the connections it held back to work (each
    /// dispatches its waiting request again, and waits again if the new pause covers it); keeps
    /// the shard's expiry held while a pause lasts. O(1) when nothing waits.
    pub(super) fn end_pause(&mut self) {
        let paused = self.shared.pause.mode(self.now) != crate::pause::Mode::Off;
        if !self.shardless {
            self.ks.hold_expiry(paused);
        }
        if self.pause_waiters.is_empty() {
            return;
        }
        let epoch = self.shared.pause.epoch();
        if paused && epoch == self.pause_epoch {
            return;
        }
        self.pause_epoch = epoch;
        for k in std::mem::take(&mut self.pause_waiters) {
            if let Some(conn) = self.conns.get_mut(k) {
                conn.paused = false;
                if let Some(c) = self.shared.clients().get_mut(&conn.session.id) {
                    c.postponed = false;
                }
                self.schedule_resume(k);
            }
        }
    }

    /// Answers the waits whose deadline passed with Redis's timeout reply (a null array). A timer
    /// acts only on a call whose own deadline passed: an earlier call's timer never cancels a
    /// later one.
    pub(super) fn expire_waits(&mut self) {
        while let Some(&Reverse((deadline, k, client, seq))) = self.timers.peek() {
            if deadline > self.now {
                return;
            }
            self.timers.pop();
            let Some(conn) = live(&mut self.conns, k as u32, client) else {
                continue;
            };
            let Some((t, _)) = conn
                .block
                .as_ref()
                .filter(|(t, d)| t.seq == seq && *d > 0 && *d <= self.now)
            else {
                continue;
            };
            if t.running() {
                // A shard runs it this instant: its answer decides; look again shortly.
                self.timers.push(Reverse((self.now + 1, k, client, seq)));
                continue;
            }
            if t.cancel() {
                let resp3 = t.resp3;
                let origin = origin_of(t);
                self.answer_wait(origin, resp3, None);
            }
        }
    }

    /// Answers a wait this worker cancelled: the timeout's null array, or an error.
    fn answer_wait(&mut self, origin: Origin, resp3: bool, error: Option<&str>) {
        let mut out = Vec::new();
        let mut r = Reply::new(&mut out, resp3);
        match error {
            Some(e) => r.error(e),
            None => r.null_array(),
        }
        self.deliver(origin, &out, &[], 0);
    }

    /// What other connections asked of this worker's connections: CLIENT UNBLOCK (the call was
    /// claimed by the worker that ran it) and CLIENT KILL.
    pub(super) fn take_controls(&mut self) {
        let queue = &self.shared.controls[self.id];
        if !queue.pending() {
            return;
        }
        for c in queue.take() {
            match c {
                crate::shared::Control::Unblock(t, error) => {
                    let error = error.then_some("UNBLOCKED client unblocked via CLIENT UNBLOCK");
                    self.answer_wait(origin_of(&t), t.resp3, error);
                }
                crate::shared::Control::Messages(batch) => self.deliver_messages(batch),
                crate::shared::Control::Monitor(line, to) => {
                    for (token, client) in to {
                        self.deliver_raw(token, client, &line);
                    }
                }
                crate::shared::Control::Invalidate(list) => {
                    for (token, client, m) in list {
                        self.deliver_raw(token, client, &m);
                    }
                }
                crate::shared::Control::Recheck(client) => {
                    let k = self
                        .conns
                        .iter()
                        .find(|(_, c)| c.session.id == client)
                        .map(|(k, _)| k);
                    if let Some(k) = k {
                        if self.may_stay_subscribed(k) == Some(false) {
                            self.close(k);
                        }
                    }
                }
                crate::shared::Control::Kill(client) => {
                    let k = self
                        .conns
                        .iter()
                        .find(|(_, c)| c.session.id == client)
                        .map(|(k, _)| k);
                    if let Some(k) = k {
                        self.close(k);
                    }
                }
            }
        }
    }
}

impl Worker {
    /// Whether connection `k`'s subscriptions are all still allowed by its user's rules (None:
    /// no such connection). A deleted user allows none.
    fn may_stay_subscribed(&mut self, k: usize) -> Option<bool> {
        let acl = &self.shared.acl;
        let c = self.conns.get_mut(k)?;
        if let crate::acl::Refresh::Deleted = c.session.auth.refresh(acl) {
            return Some(false);
        }
        let s = &c.session;
        Some(crate::acl::may_keep_subscriptions(
            &s.auth.user,
            &s.channels,
            &s.patterns,
            &s.shard_channels,
        ))
    }

    /// Writes `bytes` pushed to connection `token` (client `client`): a MONITOR line, an
    /// invalidation; then holds it to its output limit.
    fn deliver_raw(&mut self, token: u32, client: u64, bytes: &[u8]) {
        let k = token as usize;
        let Some(conn) = live(&mut self.conns, token, client) else {
            return;
        };
        let (out, _) = conn.reply_target();
        out.extend_from_slice(bytes);
        conn.end_reply();
        if !self.over_output_limit(k) {
            self.queue_flush(k);
        }
    }

    /// Writes published messages to this worker's subscribed connections, in order, each in its
    /// connection's protocol, holding each to its output limit.
    fn deliver_messages(&mut self, batch: Vec<crate::pubsub::Delivery>) {
        for (token, client, m) in batch {
            let k = token as usize;
            let Some(conn) = live(&mut self.conns, token, client) else {
                continue;
            };
            // Sent under CLIENT REPLY OFF too, in either protocol: Redis pushes messages.
            let resp3 = conn.session.resp3;
            let (out, _) = conn.reply_target();
            crate::command::pubsub::encode_message(out, resp3, &m);
            conn.end_reply();
            if !self.over_output_limit(k) {
                self.queue_flush(k);
            }
        }
    }

    /// `client-output-buffer-limit` for connection `k`, of class normal, replica (a monitor) or
    /// pubsub (subscribed): when its unsent output reached the class's hard limit, or has stayed
    /// at or past the soft limit longer than its seconds, it is closed, as Redis closes it.
    /// Returns whether it was. A few loads when the class has no limit.
    pub(super) fn over_output_limit(&mut self, k: usize) -> bool {
        let Some(conn) = self.conns.get_mut(k) else {
            return false;
        };
        let class = if conn.session.monitor {
            1
        } else if conn.session.subscribed() {
            2
        } else {
            0
        };
        let l = &self.shared.params.output_limits[class];
        let (hard, soft) = (
            l[0].load(Ordering::Relaxed) as usize,
            l[1].load(Ordering::Relaxed) as usize,
        );
        if hard == 0 && soft == 0 {
            return false;
        }
        let used = conn.pending_output(hard.max(soft));
        let mut over = hard != 0 && used >= hard;
        if soft != 0 && used >= soft {
            if conn.soft_limit_since == 0 {
                conn.soft_limit_since = self.now.max(1);
            } else if self.now.saturating_sub(conn.soft_limit_since)
                > l[2].load(Ordering::Relaxed).saturating_mul(1000)
            {
                over = true;
            }
        } else {
            conn.soft_limit_since = 0;
        }
        if over {
            crate::log_at!(
                Warning,
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                conn.session.id,
                conn.session.addr
            );
            self.close(k);
        }
        over
    }
}

/// After commands ran on `ks`: publishes its keyspace notifications, oldest first, then sends
/// the invalidations of the keys it changed to their readers, and keeps them in `bcast` for
/// the broadcasting clients (told once per loop iteration). `notes` and `changed` are scratch
/// space. O(1) when it recorded nothing.
fn publish_events(
    shared: &Shared,
    n: usize,
    notes: &mut Vec<crate::store::notify::Note>,
    changed: &mut Vec<(Box<[u8]>, u64)>,
    bcast: &mut Vec<(Box<[u8]>, u64)>,
    ks: &mut Keyspace,
) {
    if !ks.has_notes() {
        return;
    }
    ks.take_notes(notes);
    if !notes.is_empty() {
        crate::command::pubsub::publish_notes(shared, ks.notify_flags(), notes);
        notes.clear();
    }
    let flushed = ks.take_changed(changed);
    if !changed.is_empty() || flushed {
        super::tracking::invalidate(shared, n, changed, flushed);
    }
    if shared.tracking.broadcasting() {
        bcast.append(changed);
    }
    changed.clear();
}
