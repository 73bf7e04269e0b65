//! Routing: where each command runs. Connection commands and local keys run at once; foreign keys
//! go into the batch for their owner; commands over several workers fan out, broadcast, run
//! coordinated (copies fetched, handler run here, writes sent back) or, for cursor commands, go
//! from shard to shard.

use super::*;

impl Worker {
    /// [`Worker::dispatch`], with a last line of defence: a bug that panics in a handler answers that
    /// client with an error instead of taking the worker, and every client on it, down.
    pub(super) fn dispatch_guarded(&mut self, k: usize, args: &Args, arg1_owner: usize) {
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
    pub(super) fn dispatch(&mut self, k: usize, args: &Args, arg1_owner: usize) {
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
                            if self.try_borrowed(k, o, f, args, slot) {
                                self.keys = keys;
                                return;
                            }
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
            Exec::Cursor(_, steps) => {
                // Counted once here; pages run on other workers add only their time.
                let started = Started::now();
                let target = (steps.shard)(args, self.n)
                    .filter(|&w| w < self.n)
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

    pub(super) fn reply_error_bytes(&mut self, k: usize, msg: &[u8]) {
        if let Some(conn) = self.conns.get_mut(k) {
            let resp3 = conn.session.resp3;
            let (out, refs) = conn.reply_target();
            Reply::with_refs(out, refs, resp3).error_bytes(msg);
            conn.end_reply();
        }
    }

    pub(super) fn reply_unknown_subcommand(&mut self, k: usize, args: &Args) {
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
    pub(super) fn account(&mut self, slot: usize, started: Started, how: Count) {
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

    pub(super) fn reply_error(&mut self, k: usize, msg: &str) {
        if let Some(conn) = self.conns.get_mut(k) {
            let resp3 = conn.session.resp3;
            let (out, refs) = conn.reply_target();
            Reply::with_refs(out, refs, resp3).error(msg);
            conn.end_reply();
        }
    }

    pub(super) fn exec_conn(&mut self, k: usize, f: ConnFn, args: &Args, slot: usize) {
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

    pub(super) fn exec_local(&mut self, k: usize, f: KeyedFn, args: &Args, slot: usize) {
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

    /// Runs a command whose keys all belong to worker `owner` on that worker's shard, borrowed
    /// because the owner is parked: no wake, no hop, the reply written here. The shard stays held
    /// for the connection's next requests on that owner (a pipeline runs on it as on a local
    /// shard) until the owner asks for it back or the batch of requests parsed ahead ends
    /// ([`Worker::release_held`], which publishes its INFO figures once).
    /// Returns false (and does nothing) when the order of replies or effects could break, and the
    /// command is forwarded:
    /// - this connection still has a reply outstanding (an earlier request may be in flight to that
    ///   owner, and must run first);
    /// - this worker has something for that owner not yet pushed (the write-back of a coordinated
    ///   command this connection was just answered for, say);
    /// - the owner is not parked, or any worker sent it something since it parked (say the write
    ///   back of a command whose client was already answered, and told this client).
    ///
    /// Cost: one CAS when the shard is claimed, one load per command while held, one store and the
    /// shard's INFO figures when it is given back.
    pub(super) fn try_borrowed(
        &mut self,
        k: usize,
        owner: usize,
        f: KeyedFn,
        args: &Args,
        slot: usize,
    ) -> bool {
        let Some(conn) = self.conns.get(k) else {
            return true;
        };
        // Anything this worker has for that owner and not yet pushed must run first: it is in the
        // outbox, not in the ring, so the parked flag cannot tell.
        if !conn.slots.is_empty() || self.outbox[owner].is_some() {
            return false;
        }
        match self.held {
            Some(h) if h == owner => {
                if self.shards.wanted(owner) {
                    self.release_held();
                    return false;
                }
            }
            _ => {
                self.release_held();
                if !self.shards.acquire(owner) {
                    return false;
                }
                // Checked while holding the shard: the owner drained its inbox before it parked,
                // and a sender clears its parked flag when it pushes; still set means nothing
                // waits to run first.
                if !self.mail.untouched_since_parked(owner) {
                    self.shards.release(owner);
                    return false;
                }
                self.held = Some(owner);
                // SAFETY: just acquired; the reference ends with this statement.
                let ks = unsafe { self.shards.held_mut(owner) };
                super::housekeeping::refresh_shard(ks, &self.shared.params);
            }
        }
        let started = Started::now();
        let Some(conn) = self.conns.get_mut(k) else {
            return true;
        };
        let (db, resp3) = (conn.session.db, conn.session.resp3);
        let mut ctx = Ctx {
            // SAFETY: held (`self.held` names it); released only by `release_held`, after this
            // command.
            ks: unsafe { self.shards.held_mut(owner) },
            db,
            now: self.now,
            reply: {
                let (out, refs) = conn.reply_target();
                Reply::with_refs(out, refs, resp3)
            },
            worker: owner,
            workers: self.n,
        };
        f(&mut ctx, args);
        conn.end_reply();
        self.stats.borrowed += 1;
        self.account(slot, started, Count::Call);
        true
    }

    /// Gives back the shard held by [`Worker::try_borrowed`], if any, after publishing its INFO
    /// figures. Called when a pass over a connection's input ends, so a shard is never held while
    /// this worker waits for anything.
    pub(super) fn release_held(&mut self) {
        if let Some(owner) = self.held.take() {
            // SAFETY: still held until the release below; the reference ends before it.
            let ks = unsafe { self.shards.held_mut(owner) };
            super::housekeeping::publish_shard(ks, &self.shared.stats[owner]);
            self.shards.release(owner);
        }
    }

    /// The batch for `dest`, taken from the pool when this iteration has none yet.
    pub(super) fn batch_for(&mut self, dest: usize) -> &mut Batch {
        let pool = &mut self.pool;
        self.outbox[dest].get_or_insert_with(|| pool.pop().unwrap_or_default())
    }

    /// Sends a command to the owner of its keys and reserves its reply slot.
    pub(super) fn forward(&mut self, k: usize, dest: usize, ci: usize, args: &Args, _part: u32) {
        self.stats.forwarded += 1;
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
    pub(super) fn fanout(
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
    pub(super) fn broadcast(
        &mut self,
        k: usize,
        ci: usize,
        f: KeyedFn,
        combine: Combine,
        args: &Args,
    ) {
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
    pub(super) fn coordinate(&mut self, k: usize, ci: usize, keys: &[usize], args: &Args) {
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let (db, resp3, client) = (conn.session.db, conn.session.resp3, conn.session.id);
        let key_db = TABLE.get(ci).key_db;
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
                let other = key_db.and_then(|f| f(args, i));
                (other.filter(|&d| d < self.ks.dbs.len()).unwrap_or(db), i)
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
    pub(super) fn run_chain(&mut self, k: usize, seq: u64, target: usize) {
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let (db, resp3, client) = (conn.session.db, conn.session.resp3, conn.session.id);
        let Some(Slot::Chain(chain)) = conn.slot_mut(seq) else {
            return;
        };
        let (data, ranges) = chain.flat_args();
        let ci = chain.cmd;
        let args = Args::new(&data, &ranges);
        if target != self.id {
            // The connection's later commands wait for the last page, as Redis runs the whole
            // call before them: else one on a shard not reached yet would change what it sees.
            conn.stalled = true;
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
}
