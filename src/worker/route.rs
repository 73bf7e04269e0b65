//! Routing: where each command runs. Connection commands and local keys run at once; foreign keys
//! go into the batch for their owner; commands over several workers fan out, broadcast, run
//! coordinated (copies fetched, handler run here, writes sent back) or, for cursor commands, go
//! from shard to shard.

use super::*;

impl Worker {
    /// [`Worker::dispatch`], with a last line of defence: a bug that panics in a handler answers that
    /// client with an error instead of taking the worker, and every client on it, down (shards an
    /// atomic step held are released by the unwinding, and this worker's own is taken back).
    /// Returns whether the request was consumed (false: it waits for earlier replies).
    pub(super) fn dispatch_guarded(&mut self, k: usize, args: &Args, arg1_owner: usize) -> bool {
        // CLIENT REPLY OFF / SKIP: what this command answers is taken back once it ran.
        let marks = self.conns.get_mut(k).and_then(|c| {
            (c.session.reply_off || c.session.skip_next).then(|| {
                let skip = std::mem::take(&mut c.session.skip_next);
                (
                    skip,
                    c.wbuf.len(),
                    c.wrefs.len(),
                    c.head_seq + c.slots.len() as u64,
                )
            })
        });
        let run = std::panic::AssertUnwindSafe(|| self.dispatch(k, args, arg1_owner));
        let consumed = std::panic::catch_unwind(run);
        if let (Some(marks), Ok(true)) = (marks, &consumed) {
            self.drop_replies(k, args, marks);
        } else if let (Some((skip, ..)), Ok(false)) = (marks, &consumed) {
            // Not run yet: it is dispatched again later, with its SKIP still due.
            if let Some(c) = self.conns.get_mut(k) {
                c.session.skip_next |= skip;
            }
        }
        if let Ok(true) = consumed {
            // CLIENT CACHING affects the next command (or transaction) only, as in Redis.
            if let Some(c) = self.conns.get_mut(k).filter(|c| c.session.caching) {
                if c.session.multi.is_none() && !args.is(0, "client") {
                    c.session.caching = false;
                }
            }
        }
        match consumed {
            Ok(consumed) => consumed,
            Err(_) => {
                // Not the serving kind of reclaim: this is no place to run other clients.
                self.ks.reclaim();
                crate::log_at!(
                    Warning,
                    "worker {}: internal error while executing a command",
                    self.id
                );
                self.reply_error(k, "ERR internal error");
                true
            }
        }
    }

    /// After a command ran under CLIENT REPLY OFF or SKIP (or one that set them): drops the
    /// replies it produced, here and in flight; (un)subscribe confirmations are pushes, which
    /// Redis sends anyway, in either protocol.
    fn drop_replies(&mut self, k: usize, args: &Args, marks: (bool, usize, usize, u64)) {
        let (skipped, wlen, rlen, seq) = marks;
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let name = TABLE.lookup(args.get(0)).map_or("", |(_, c)| c.name);
        let push = crate::command::pubsub::is_subscription(name);
        // CLIENT REPLY ON clears OFF and SKIP before it answers, so its OK is sent.
        let reply_on =
            args.len() == 3 && args.is(0, "client") && args.is(1, "reply") && args.is(2, "on");
        if !(conn.session.reply_off || skipped) || push || reply_on {
            return;
        }
        if conn.wbuf.len() >= wlen && wlen >= conn.wpos {
            conn.wbuf.truncate(wlen);
            conn.wrefs.truncate(rlen.max(conn.wref_head));
        }
        for s in seq..conn.head_seq + conn.slots.len() as u64 {
            if let Some(slot) = conn.slot_mut(s) {
                match slot {
                    Slot::Waiting => *slot = Slot::Dropped,
                    Slot::Ready(r) if r.end != usize::MAX => *r = r.start..r.start,
                    _ => {}
                }
            }
        }
    }

    /// Routes one command: connection commands and local keys run now; foreign keys are batched;
    /// a command whose keys span workers, and EXEC, run as one atomic step ([`Worker::run_atomic`])
    /// once the connection's earlier replies are in. Inside MULTI, commands are queued instead.
    /// `arg1_owner` is the owner of argument 1 when the caller already computed it (else usize::MAX).
    /// Returns false when the command must wait for the connection's earlier replies (it is not
    /// consumed, and is dispatched again once they are in).
    ///
    /// Statistics: a command is counted once, where its handler runs on the whole command (here,
    /// or on the owner of its keys for a forwarded one, or in the atomic step); the pages of a
    /// cursor command run elsewhere add only their time.
    pub(super) fn dispatch(&mut self, k: usize, args: &Args, arg1_owner: usize) -> bool {
        self.stats.executed = true;
        let Some((ci, cmd)) = TABLE.lookup(args.get(0)) else {
            self.refuse_in_multi(k);
            self.reply_error_bytes(k, &unknown_command_bytes(args));
            return true;
        };
        if let Some(c) = self.conns.get(k) {
            c.gauge.last_cmd.store(ci as u32 + 1, Ordering::Relaxed);
        }
        if !cmd.arity_ok(args.len()) {
            self.shared.stats[self.id].ext.cmds.reject(ci);
            self.refuse_in_multi(k);
            self.reply_error(k, &cmd.arity_error());
            return true;
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
                    self.refuse_in_multi(k);
                    self.reply_error(k, &msg);
                    return true;
                }
                slot
            }
            SubLookup::Unknown => {
                self.refuse_in_multi(k);
                self.reply_unknown_subcommand(k, args);
                return true;
            }
        };
        if slot != ci {
            // CLIENT LIST's cmd= names the subcommand (`client|list`).
            if let Some(c) = self.conns.get(k) {
                c.gauge.last_cmd.store(slot as u32 + 1, Ordering::Relaxed);
            }
        }
        // ACL: one load and a compare for a connection that may run anything.
        if let Some(c) = self.conns.get(k) {
            if !c.session.auth.fast(&self.shared.acl) && !self.acl_allows(k, ci, slot, args) {
                return true;
            }
        }
        if let Some(c) = self.conns.get(k) {
            if !c.session.resp3
                && c.session.subscribed()
                && !crate::command::pubsub::allowed_when_subscribed(cmd.name)
            {
                let msg = crate::command::pubsub::not_allowed_when_subscribed(SLOTS.name(slot));
                self.refuse_in_multi(k);
                self.reply_error(k, &msg);
                return true;
            }
        }
        if self.shardless || self.shared.scripts.busy_count() > 0 {
            // A script runs past busy-reply-threshold: as in Redis, only the commands flagged
            // allow-busy that touch no shard run (SCRIPT KILL, FUNCTION KILL and STATS, MULTI...).
            let busy_ok = SLOTS.flags(slot) & flag::ALLOW_BUSY != 0;
            if busy_ok && matches!(cmd.exec, Exec::Shards(_)) {
                // SHUTDOWN: the busy script holds shards, so it runs without them.
                self.exec_conn(k, crate::command::persist::shutdown_while_busy, args, slot);
                return true;
            }
            let allowed = busy_ok && matches!(cmd.exec, Exec::Conn(_));
            if !allowed {
                self.refuse_in_multi(k);
                self.reply_error(k, self.shared.scripts.busy_error());
                return true;
            }
        }
        if self.refused_for_memory(k, ci, slot, args) {
            return true;
        }
        if self.shared.persist.failed_fast()
            && (cmd.is_write() || cmd.name == "ping")
            && self.shared.writes_refused_by_disk_error()
        {
            self.refuse_in_multi(k);
            self.reply_error(k, crate::persist::MISCONF);
            return true;
        }
        if self.held_by_pause(k, ci, args) {
            return false;
        }
        if self.queue_in_multi(k, ci, args) {
            return true;
        }
        if let Some(c) = self.conns.get(k).filter(|c| c.session.tracking.is_some()) {
            tracking::remember_reads(&self.shared, self.n, &c.session, ci, args);
        }
        match cmd.exec {
            Exec::Conn(f) => {
                if SLOTS.reads_stats(ci) {
                    self.publish_stats();
                }
                self.exec_conn(k, f, args, slot)
            }
            Exec::Transaction => return self.exec_block(k, slot, args),
            Exec::Watch => return self.watch_keys(k, slot, args),
            Exec::Script => return self.run_script(k, ci, args, slot),
            Exec::Shards(f) => return self.exec_all_shards(k, f, args, slot),
            Exec::Keyed(f) | Exec::Fanout(f, _) => {
                if cmd.block_timeout.is_some_and(|t| t(args).is_some()) {
                    // A call that may wait starts once every earlier reply is in (it may be the
                    // last thing this connection gets for a while), and holds the input after it.
                    if self.waits_for_replies(k) {
                        return false;
                    }
                    self.begin_blocking(k, ci, args);
                }
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
                self.keys = keys;
                if self.n > 1 && cmd.reaches_found_keys(args) {
                    spread = true;
                }
                if spread {
                    if self.ticket.is_some() {
                        self.run_blocking_spread(k, ci, args);
                        return true;
                    }
                    if self.waits_for_replies(k) {
                        return false;
                    }
                    self.run_atomic(k, &[(ci, *args)], false, None);
                    return true;
                }
                match owner {
                    Some(o) if o != self.id => {
                        if self.try_borrowed(k, o, f, args, slot) {
                            return true;
                        }
                        self.forward(k, o, ci, args);
                    }
                    _ => self.exec_local(k, f, args, slot),
                }
            }
            Exec::Broadcast(f, _) => {
                if self.n == 1 {
                    self.exec_local(k, f, args, slot);
                } else {
                    // Every shard at once, as one step: no client sees a database half flushed.
                    if self.waits_for_replies(k) {
                        return false;
                    }
                    self.run_atomic(k, &[(ci, *args)], false, None);
                }
            }
            Exec::Cursor(_, steps) => {
                // Counted once here; pages run on other workers add only their time.
                let started = Started::now();
                let target = (steps.shard)(args, self.n)
                    .filter(|&w| w < self.n)
                    .unwrap_or(self.id);
                let Some(conn) = self.conns.get_mut(k) else {
                    return true;
                };
                let chain = Chain {
                    cmd: ci,
                    args: args.iter_from(0).map(<[u8]>::to_vec).collect(),
                    items: Vec::new(),
                    count: 0,
                };
                let seq = conn.push_slot(Slot::Chain(Box::new(chain)));
                self.run_chain(k, seq, target);
                self.account_conn(k, slot, started, args);
            }
        }
        true
    }

    /// Whether connection `k` still waits for replies from other workers; if so its input stops
    /// until they are in (the request at hand is dispatched again then). Once they are, the
    /// connection's input flows freely again.
    pub(super) fn waits_for_replies(&mut self, k: usize) -> bool {
        let Some(conn) = self.conns.get_mut(k) else {
            return false;
        };
        conn.quiet_wait = !conn.slots.is_empty();
        conn.quiet_wait
    }

    /// CLIENT PAUSE: whether command `ci` of connection `k` must wait for the end of the pause
    /// (every command with ALL; with WRITE, a write or may-replicate command, or an EXEC of a
    /// block holding one). If so, the connection's input stops here until the pause ends
    /// ([`Worker::end_pause`]). Two loads when no pause is set.
    fn held_by_pause(&mut self, k: usize, ci: usize, args: &Args) -> bool {
        use crate::pause::Mode;
        let mode = self.shared.pause.mode(self.now);
        if mode == Mode::Off {
            return false;
        }
        let Some(conn) = self.conns.get_mut(k) else {
            return false;
        };
        let scripts = &self.shared.scripts;
        let writes = |c: usize, a: &Args| {
            TABLE.get(c).flags & (flag::WRITE | flag::MAY_REPLICATE) != 0
                && (!matches!(TABLE.get(c).exec, Exec::Script)
                    || script::script_may_write(scripts, c, a))
        };
        let held = mode == Mode::All
            || writes(ci, args)
            || (matches!(TABLE.get(ci).exec, Exec::Transaction)
                && conn
                    .session
                    .multi
                    .as_ref()
                    .is_some_and(|m| m.iter().any(|(c, a)| writes(c, &a))));
        if held {
            conn.paused = true;
            if let Some(c) = self.shared.clients().get_mut(&conn.session.id) {
                c.postponed = true;
            }
            self.pause_waiters.push(k);
        }
        held
    }

    /// Inside MULTI, a command refused before it could be queued (unknown, wrong arity, not
    /// allowed in a transaction) makes EXEC fail, as Redis's flagTransaction.
    /// The ACL check of a connection whose user is restricted or must authenticate (Redis's
    /// processCommand order: authentication, then permissions), answering the refusal. A
    /// connection whose user was deleted is closed unanswered. Returns whether it may run.
    #[inline(never)]
    fn acl_allows(&mut self, k: usize, ci: usize, slot: usize, args: &Args) -> bool {
        let shared = self.shared.clone();
        let Some(c) = self.conns.get_mut(k) else {
            return false;
        };
        if let crate::acl::Refresh::Deleted = c.session.auth.refresh(&shared.acl) {
            c.closing = true;
            return false;
        }
        if c.session.auth.open {
            return true;
        }
        if SLOTS.flags(slot) & flag::NO_AUTH == 0 && c.session.auth.auth_required(&shared.acl) {
            shared.stats[self.id].ext.cmds.reject(slot);
            self.refuse_acl(k, ci, "NOAUTH Authentication required.");
            return false;
        }
        if c.session.multi.is_some() && TABLE.get(ci).flags & flag::NO_MULTI != 0 {
            // Refused as not allowed in a transaction first, as Redis does.
            return true;
        }
        match crate::acl::check(&c.session.auth.user, ci, slot, args) {
            Ok(()) => {
                let name = TABLE.get(ci).name;
                if name == "sort" || name == "sort_ro" {
                    if let Some(msg) =
                        crate::acl::sort_refusal(&c.session.auth.user, ci, slot, args)
                    {
                        self.refuse_in_multi(k);
                        self.reply_error(k, msg);
                        return false;
                    }
                }
                true
            }
            Err(d) => {
                let context = if c.session.multi.is_some() {
                    crate::acl::Context::Multi
                } else {
                    crate::acl::Context::Toplevel
                };
                crate::command::acl::log_denied_command(
                    &shared, &c.session, d, context, slot, args, self.now,
                );
                shared.stats[self.id].ext.cmds.reject(slot);
                self.refuse_acl(k, ci, &d.error(slot));
                false
            }
        }
    }

    /// Answers an ACL refusal: a refused EXEC discards the transaction (Redis's
    /// execCommandAbort), any other refused command marks it aborted.
    pub(super) fn refuse_acl(&mut self, k: usize, ci: usize, msg: &str) {
        if matches!(TABLE.get(ci).exec, Exec::Transaction) {
            if let Some(c) = self.conns.get_mut(k) {
                c.session.multi = None;
                c.session.unwatch();
            }
            let msg = format!("EXECABORT Transaction discarded because of: {msg}");
            self.reply_error(k, &msg);
        } else {
            self.refuse_in_multi(k);
            self.reply_error(k, msg);
        }
    }

    fn refuse_in_multi(&mut self, k: usize) {
        if let Some(m) = self.conns.get_mut(k).and_then(|c| c.session.multi.as_mut()) {
            m.aborted = true;
        }
    }

    /// Inside MULTI, queues command `ci` (answering +QUEUED) unless it is one that runs at once
    /// (MULTI, EXEC, DISCARD, QUIT, RESET), or refuses one that is not allowed in a transaction.
    /// Returns whether the command was dealt with.
    fn queue_in_multi(&mut self, k: usize, ci: usize, args: &Args) -> bool {
        let flags = TABLE.get(ci).flags;
        let Some(conn) = self.conns.get_mut(k) else {
            return true;
        };
        let Some(m) = conn.session.multi.as_mut() else {
            return false;
        };
        if flags & flag::NOT_QUEUED != 0 {
            return false;
        }
        if flags & flag::NO_MULTI != 0 {
            m.aborted = true;
            self.shared.stats[self.id].ext.cmds.reject(ci);
            self.reply_error(k, "ERR Command not allowed inside a transaction");
            return true;
        }
        // An aborted block is not worth the memory: EXEC will only discard it (as Redis).
        if !m.aborted {
            m.push(ci, args);
        }
        let resp3 = conn.session.resp3;
        let (out, refs) = conn.reply_target();
        Reply::with_refs(out, refs, resp3).simple("QUEUED");
        conn.end_reply();
        true
    }

    /// EXEC: without MULTI, or after a refusal while queueing, an error; else the queued block as
    /// one atomic step, once every earlier reply of the connection is in. Returns whether EXEC was
    /// consumed.
    fn exec_block(&mut self, k: usize, slot: usize, args: &Args) -> bool {
        if self.waits_for_replies(k) {
            return false;
        }
        let started = Started::now();
        let Some(conn) = self.conns.get_mut(k) else {
            return true;
        };
        let Some(block) = conn.session.multi.take() else {
            // Without MULTI, EXEC does not end the WATCH (as Redis).
            self.reply_error(k, "ERR EXEC without MULTI");
            self.account_conn(k, slot, started, args);
            return true;
        };
        // EXEC ends the WATCH whatever the outcome; the shards forget the flag.
        let watch = conn.session.watch.take();
        if block.aborted {
            self.reply_error(k, crate::command::multi::EXECABORT);
        } else if let Some(owner) = watch
            .is_none()
            .then(|| self.sole_foreign_owner(&block))
            .flatten()
            .filter(|&o| !self.mail.untouched_since_parked(o) || self.outbox[o].is_some())
        {
            // The owner is busy: the block joins its batch instead of stopping it. (A parked
            // owner's shard is taken below with one CAS, with no wake and no hop.) The owner
            // counts EXEC and shows it to monitors after the block's commands.
            self.forward_block(k, owner, &block, (SLOTS.parent(slot), args));
            return true;
        } else {
            let cmds: Vec<(usize, Args)> = block.iter().collect();
            self.run_atomic(k, &cmds, true, watch.as_deref());
        }
        if let Some(w) = watch {
            w.flag.release();
        }
        self.account_conn(k, slot, started, args);
        true
    }

    /// The worker owning every key of a MULTI block, when that is another worker and every command
    /// is a keyed one (no connection command such as SELECT, no command over all shards): the block
    /// then runs there as one request, in order with what this connection sent before, without
    /// holding any shard from here.
    fn sole_foreign_owner(&mut self, block: &MultiState) -> Option<usize> {
        let mut keys = std::mem::take(&mut self.keys);
        let mut owner = None;
        let mut ok = !block.is_empty();
        for (ci, args) in block.iter() {
            let cmd = TABLE.get(ci);
            if !matches!(cmd.exec, Exec::Keyed(_) | Exec::Fanout(..)) {
                ok = false;
                break;
            }
            keys.clear();
            cmd.key_indices(&args, &mut keys);
            if keys.is_empty() {
                ok = false;
                break;
            }
            for &i in &keys {
                let o = slot_owner(key_slot(args.get(i)), self.n);
                if o == self.id || owner.is_some_and(|p| p != o) {
                    ok = false;
                }
                owner = Some(o);
            }
            if !ok {
                break;
            }
        }
        self.keys = keys;
        owner.filter(|_| ok)
    }

    /// Sends a MULTI block to the worker owning all its keys, as one request (see
    /// [`mailbox::Op::Block`]), and reserves its reply slot.
    fn forward_block(&mut self, k: usize, dest: usize, block: &MultiState, exec: (usize, &Args)) {
        let (exec_ci, exec_args) = exec;
        let shape: Box<[(u16, u32)]> = block
            .iter()
            .map(|(ci, args)| (ci as u16, args.len() as u32))
            .chain(std::iter::once((exec_ci as u16, exec_args.len() as u32)))
            .collect();
        let args = block
            .iter()
            .flat_map(|(_, args)| (0..args.len()).map(move |i| args.get(i)))
            .chain(exec_args.iter_from(0));
        self.forward_with(k, dest, |batch, origin, db, resp3| {
            batch.push_request(origin, db, resp3, Op::Block(shape), args)
        });
    }

    /// WATCH key [key ...]: registers each key not yet watched by this connection with the shard
    /// that owns it (all of them in one atomic step, after the connection's earlier replies, so
    /// what it saw before is not a change), noting whether it held a live value. Refused inside
    /// MULTI. Returns whether WATCH was consumed.
    fn watch_keys(&mut self, k: usize, slot: usize, args: &Args) -> bool {
        let started = Started::now();
        if self.conns.get(k).is_some_and(|c| c.session.multi.is_some()) {
            self.reply_error(k, "ERR WATCH inside MULTI is not allowed");
            self.account_conn(k, slot, started, args);
            return true;
        }
        if self.waits_for_replies(k) {
            return false;
        }
        let Some(conn) = self.conns.get_mut(k) else {
            return true;
        };
        let db = conn.session.db;
        let mut state = conn.session.watch.take().unwrap_or_default();
        let mut fresh: Vec<&[u8]> = Vec::new();
        for key in args.iter_from(1) {
            let seen = |w: &(usize, Vec<u8>, bool)| w.0 == db && w.1 == key;
            if !state.keys.iter().any(seen) && !fresh.contains(&key) {
                fresh.push(key);
            }
        }
        let mut ids: Vec<usize> = fresh
            .iter()
            .map(|key| slot_owner(key_slot(key), self.n))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let held = self.hold(ids);
        let now = self.now;
        for key in fresh {
            let flag = state.flag.clone();
            let live = held.on(&mut self.ks, slot_owner(key_slot(key), self.n), |ks| {
                ks.watches.add(db, key, flag);
                ks.dbs[db].peek(key, now).is_some()
            });
            state.keys.push((db, key.to_vec(), live));
        }
        self.unhold(held);
        if let Some(conn) = self.conns.get_mut(k) {
            conn.session.watch = Some(state);
        }
        self.reply_ok(k);
        self.account_conn(k, slot, started, args);
        true
    }

    pub(super) fn reply_ok(&mut self, k: usize) {
        if let Some(conn) = self.conns.get_mut(k) {
            let resp3 = conn.session.resp3;
            let (out, refs) = conn.reply_target();
            Reply::with_refs(out, refs, resp3).ok();
            conn.end_reply();
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
    /// Counts a command that ran since `started` in the statistics of `slot`, and in the latency
    /// monitor; returns how long it ran (ns).
    pub(super) fn account(&mut self, slot: usize, started: Started, how: Count) -> u64 {
        let params = &self.shared.params;
        let track = params.latency_tracking.load(Ordering::Relaxed);
        let ns = self.shared.stats[self.id]
            .ext
            .cmds
            .finish(slot, started, how, track);
        if how != Count::Call {
            return ns;
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
        ns
    }

    /// Sends the monitors the line of command `args` (in `slot`, on database `db`), run by
    /// client `client` or, with `by` (`lua`), by a script: admin and skip-monitor commands
    /// excepted, as in Redis. One load when nobody monitors.
    pub(super) fn monitor(
        &self,
        slot: usize,
        args: &Args,
        db: usize,
        by: Option<&str>,
        client: u64,
    ) {
        if SLOTS.flags(slot) & (crate::command::flag::SKIP_MONITOR | crate::command::flag::ADMIN)
            == 0
        {
            self.monitor_line(args, db, by, client);
        }
    }

    /// The monitors' line for `args`, whatever the command's flags: EVAL, EVALSHA and FCALL
    /// are shown this way before they run, so that their scripts' commands come after them, as
    /// in Redis. One load when nobody monitors.
    pub(super) fn monitor_line(&self, args: &Args, db: usize, by: Option<&str>, client: u64) {
        if self.shared.monitor_count.load(Ordering::Acquire) == 0 {
            return;
        }
        let addr = match by {
            Some(b) => b.to_string(),
            None => self
                .shared
                .clients()
                .get(&client)
                .map(|c| c.addr.clone())
                .unwrap_or_default(),
        };
        let argv: Vec<&[u8]> = args.iter_from(0).collect();
        self.shared.feed_monitors(db, &addr, &argv);
    }

    /// [`Worker::account_call`] for a command of connection `k`.
    pub(super) fn account_conn(&mut self, k: usize, slot: usize, started: Started, args: &Args) {
        let (client, db) = self
            .conns
            .get(k)
            .map_or((0, 0), |c| (c.session.id, c.session.db));
        self.account_call(slot, started, args, client, db);
    }

    /// [`Worker::account`], then the slow log (command `args` of client `client`, in `slot`,
    /// when it ran at least `slowlog-log-slower-than`) and the monitors (with the client's
    /// database `db` after the command). A load and a compare for each when neither applies.
    pub(super) fn account_call(
        &mut self,
        slot: usize,
        started: Started,
        args: &Args,
        client: u64,
        db: usize,
    ) {
        let ns = self.account(slot, started, Count::Call);
        self.monitor(slot, args, db, None, client);
        let threshold = self
            .shared
            .params
            .slowlog_slower_than
            .load(Ordering::Relaxed);
        let us = ns / 1000;
        if threshold < 0 || (us as i64) < threshold {
            return;
        }
        if SLOTS.flags(slot) & crate::command::flag::SKIP_SLOWLOG != 0 {
            return;
        }
        let (peer, name) = self
            .shared
            .clients()
            .get(&client)
            .map(|c| (c.addr.clone(), c.name.clone()))
            .unwrap_or_default();
        let max_len = self.shared.params.slowlog_max_len.load(Ordering::Relaxed) as usize;
        let args: Vec<&[u8]> = args.iter_from(0).collect();
        self.shared
            .slowlog()
            .push(args.into_iter(), us, unix_ms() / 1000, peer, name, max_len);
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
            in_exec: false,
        };
        f(&mut ctx, args);
        conn.end_reply();
        if conn.session.quit {
            conn.closing = true;
        }
        let (client, db) = (conn.session.id, conn.session.db);
        self.account_call(slot, started, args, client, db);
    }

    pub(super) fn exec_local(&mut self, k: usize, f: KeyedFn, args: &Args, slot: usize) {
        self.evict_on(self.id);
        let started = Started::now();
        let ticket = self.take_ticket();
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let (db, resp3) = (conn.session.db, conn.session.resp3);
        self.ks.writer = conn.session.id;
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
            block: crate::command::Block::Never,
            shared: &self.shared,
        };
        let attempt =
            blocking::run_blocking(&mut ctx, SLOTS.parent(slot), f, args, ticket.as_ref());
        conn.end_reply();
        let client = conn.session.id;
        self.account_call(slot, started, args, client, db);
        if ticket.is_some() {
            self.after_attempt(k, attempt);
        }
        self.serve_own();
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
        self.evict_on(owner);
        let started = Started::now();
        let ticket = self.take_ticket();
        let Some(conn) = self.conns.get_mut(k) else {
            return true;
        };
        let (db, resp3) = (conn.session.db, conn.session.resp3);
        // SAFETY: held (`self.held` names it); the reference ends with this statement.
        unsafe { self.shards.held_mut(owner) }.writer = conn.session.id;
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
            block: crate::command::Block::Never,
            shared: &self.shared,
        };
        let attempt =
            blocking::run_blocking(&mut ctx, SLOTS.parent(slot), f, args, ticket.as_ref());
        conn.end_reply();
        let client = conn.session.id;
        self.stats.borrowed += 1;
        self.account_call(slot, started, args, client, db);
        if ticket.is_some() {
            self.after_attempt(k, attempt);
        }
        let shards = self.shards.clone();
        // SAFETY: still held (`self.held`); the reference ends with this statement.
        self.serve_shard(unsafe { shards.held_mut(owner) }, owner);
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

    /// Sends command `ci` with arguments `args` to worker `dest` (the owner of its keys) and
    /// reserves its reply slot. A big request read into a buffer of its own travels as a
    /// reference to that buffer; any other is copied into the batch.
    pub(super) fn forward(&mut self, k: usize, dest: usize, ci: usize, args: &Args) {
        let op = Op::Exec(ci as u16);
        self.forward_with(k, dest, |batch, origin, db, resp3| {
            match args.shared_parts() {
                Some((buf, ranges)) => {
                    batch.push_shared_request(origin, db, resp3, op, buf, ranges)
                }
                None => batch.push_request(origin, db, resp3, op, args.iter_from(0)),
            }
        });
    }

    /// Reserves connection `k`'s reply slot for a request to worker `dest` and lets `push` append
    /// the request (given its origin, database and protocol) to this iteration's batch for `dest`.
    fn forward_with(
        &mut self,
        k: usize,
        dest: usize,
        push: impl FnOnce(&mut Batch, Origin, usize, bool),
    ) {
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
        let ticket = self.ticket.take();
        let batch = self.batch_for(dest);
        push(batch, origin, db, resp3);
        if let Some(req) = batch.requests.last_mut() {
            req.ticket = ticket;
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
            block: crate::command::Block::Never,
            shared: &self.shared,
        };
        f(&mut ctx, &args);
        self.chain_page(k, client, seq, &out);
    }
}
