//! Atomic steps over several shards: a command whose keys span workers, and a MULTI/EXEC block.
//!
//! The worker running the step holds every shard involved at once, taken in worker order
//! ([`shard::Shards::lock`]: a parked owner's shard at once, a running owner's at its next safe
//! point), runs the commands one after the other on them, and gives them back. No other client can
//! see a state between two of the step's effects, nor change anything in the middle of it. A step
//! whose keys are all on this worker's shard takes no lock at all.
//!
//! Order: a step starts only once every earlier reply of its connection is in (the caller defers
//! it until then, [`Conn::waits_for_replies`]), so it sees every effect those stood for. Requests
//! other connections sent to the held shards run before the step or after it, each whole.
//!
//! [`Worker::run_atomic`] is the interface: "run these commands atomically, each reply after the
//! other"; scripting will run on it too.

use super::gather::{combine, split_cursor_page};
use super::*;
use crate::command::ctx::{ShardsCtx, WatchState};

/// The shards an atomic step holds; dropping it releases them (unwinding from a handler's panic
/// included, so a bug cannot leave shards locked).
pub(super) struct Held {
    shards: Arc<shard::Shards>,
    /// Shards locked for the step: ascending as [`Worker::hold`] took them, then any a script
    /// added ([`Held::extend`]).
    ids: std::cell::RefCell<Vec<usize>>,
    /// The worker taking the step.
    me: usize,
    /// Its own shard is reached as its running owner (not parked, not locked): a step that
    /// needed no other shard at the start.
    own: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        for &id in self.ids.borrow().iter().rev() {
            self.shards.release(id);
        }
    }
}

impl Held {
    /// Whether shard `id` is reachable in this step.
    pub(super) fn covers(&self, id: usize) -> bool {
        (self.own && id == self.me) || self.ids.borrow().contains(&id)
    }

    /// Takes shard `id` too, in the middle of the step (a script reaching a key it did not
    /// declare). In lock order (above every shard held) it waits as [`Worker::hold`] does;
    /// otherwise only when `out_of_order`, and then for a bounded time. Returns whether the
    /// shard is held now.
    pub(super) fn extend(
        &self,
        id: usize,
        out_of_order: bool,
        params: &crate::config::Params,
    ) -> bool {
        if self.covers(id) {
            return true;
        }
        let highest = self
            .ids
            .borrow()
            .iter()
            .copied()
            .chain(self.own.then_some(self.me))
            .max();
        let in_order = highest.is_none_or(|h| id > h);
        if in_order {
            self.shards.lock(id);
        } else if !out_of_order
            || !self
                .shards
                .lock_within(id, std::time::Duration::from_secs(2))
        {
            return false;
        }
        if id != self.me {
            // SAFETY: just locked; the reference ends with this statement.
            super::housekeeping::refresh_shard(unsafe { self.shards.held_mut(id) }, params);
        }
        self.ids.borrow_mut().push(id);
        true
    }

    /// Runs `f` on shard `id`'s keyspace: `own` when it is this worker's shard reached as its
    /// running owner, else the locked shard.
    pub(super) fn on<R>(
        &self,
        own: &mut shard::Own,
        id: usize,
        f: impl FnOnce(&mut Keyspace) -> R,
    ) -> R {
        if self.own && id == self.me {
            return f(own);
        }
        assert!(self.ids.borrow().contains(&id), "shard {id} is not held");
        // SAFETY: `id` is held (locked by `Worker::hold` or `Held::extend`, released when the
        // step ends), and the reference does not outlive this call.
        f(unsafe { self.shards.held_mut(id) })
    }
}

impl Held {
    /// Every shard, in worker order, for a step that holds them all ([`Worker::hold`] of every
    /// id, or this worker's own shard alone when it is the only one).
    pub(super) fn all<'a>(&'a self, own: &'a mut shard::Own) -> Vec<&'a mut Keyspace> {
        if self.own {
            return vec![&mut **own];
        }
        let ids = self.ids.borrow().clone();
        ids.into_iter()
            // SAFETY: each id is held (locked by `Worker::hold`) until `self` is dropped, ids
            // are distinct, and the references do not outlive `self`.
            .map(|id| unsafe { self.shards.held_mut(id) })
            .collect()
    }
}

/// Where a command's keys live, as an atomic step needs them: the workers its keys belong to.
pub(super) fn owners_of(
    cmd: usize,
    args: &Args,
    n: usize,
    me: usize,
    keys: &mut Vec<usize>,
    out: &mut Vec<usize>,
) {
    let c = TABLE.get(cmd);
    match c.exec {
        Exec::Conn(_) | Exec::Transaction | Exec::Watch => {}
        // A script may reach keys it did not declare: inside EXEC it cannot start over, so the
        // block takes every shard.
        Exec::Broadcast(..) | Exec::Cursor(..) | Exec::Script | Exec::Shards(_) => out.extend(0..n),
        // A call reading keys its data names (SORT ... BY w_*) may reach any shard.
        Exec::Keyed(_) if n > 1 && c.reaches_found_keys(args) => out.extend(0..n),
        Exec::Keyed(_) | Exec::Fanout(..) => {
            keys.clear();
            c.key_indices(args, keys);
            if keys.is_empty() {
                out.push(me);
            }
            out.extend(keys.iter().map(|&i| slot_owner(key_slot(args.get(i)), n)));
        }
    }
}

impl Worker {
    /// Runs `cmds` on connection `k` as one atomic step and writes their replies, in order, to the
    /// connection's output: as an array when `as_block` (EXEC's reply), else each as it is
    /// (a lone command whose keys span workers). Each command is counted in the statistics as a
    /// call of its own.
    /// For EXEC, `watch` is what the connection WATCHes: when one of those keys changed since, or
    /// held a value at WATCH time and no longer does (deleted, expired), nothing runs and the reply
    /// is a null array.
    pub(super) fn run_atomic(
        &mut self,
        k: usize,
        cmds: &[(usize, Args)],
        as_block: bool,
        watch: Option<&WatchState>,
    ) {
        self.evict_on(self.id);
        let Some(conn) = self.conns.get(k) else {
            return;
        };
        let resp3 = conn.session.resp3;
        let mut ids = Vec::new();
        let mut keys = std::mem::take(&mut self.keys);
        for (ci, args) in cmds {
            owners_of(*ci, args, self.n, self.id, &mut keys, &mut ids);
        }
        if let Some(w) = watch {
            ids.extend(
                w.keys
                    .iter()
                    .map(|(_, key, _)| slot_owner(key_slot(key), self.n)),
            );
        }
        self.keys = keys;
        ids.sort_unstable();
        ids.dedup();
        let held = self.hold(ids);
        let mut out = std::mem::take(&mut self.step_out);
        out.clear();
        let now = self.now;
        let n = self.n;
        let broken = watch.is_some_and(|w| {
            w.flag.is_dirty()
                || w.keys.iter().any(|(db, key, live)| {
                    *live
                        && held.on(&mut self.ks, slot_owner(key_slot(key), n), |ks| {
                            ks.dbs[*db].peek(key, now).is_none()
                        })
                })
        });
        if broken {
            Reply::new(&mut out, resp3).null_array();
        } else if as_block {
            Reply::new(&mut out, resp3).array(cmds.len());
        }
        let mut session = self
            .conns
            .get_mut(k)
            .map(|c| {
                // The connection keeps its id meanwhile: replies from other workers still find it.
                let s = std::mem::take(&mut c.session);
                c.session.id = s.id;
                s
            })
            .unwrap_or_default();
        for &(ci, ref args) in cmds.iter().take(if broken { 0 } else { cmds.len() }) {
            let slot = match SLOTS.lookup(ci, args) {
                SubLookup::Known(slot, _) => slot,
                _ => ci,
            };
            if as_block && !session.auth.fast(&self.shared.acl) {
                // Checked again at EXEC, in case the rules changed since it was queued.
                let _ = session.auth.refresh(&self.shared.acl);
                if let Err(d) = crate::acl::check(&session.auth.user, ci, slot, args) {
                    crate::command::acl::log_denied_command(
                        &self.shared,
                        &session,
                        d,
                        crate::acl::Context::Multi,
                        slot,
                        args,
                        now,
                    );
                    Reply::new(&mut out, resp3).error(&format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {}", d.exec_reason()));
                    continue;
                }
            }
            let started = Started::now();
            self.exec_held(&held, &mut session, ci, args, &mut out);
            self.account_call(slot, started, args, session.id, session.db);
        }
        self.unhold(held);
        if let Some(conn) = self.conns.get_mut(k) {
            conn.session = session;
            let (target, _) = conn.reply_target();
            target.extend_from_slice(&out);
            conn.end_reply();
            if conn.session.quit {
                conn.closing = true;
            }
        }
        // Kept for the next step unless a big reply made it big.
        if out.capacity() <= 64 * 1024 {
            self.step_out = out;
        }
    }

    /// Runs `f` on connection `k` holding every shard at once (SAVE, BGSAVE, SHUTDOWN), once
    /// every earlier reply of the connection is in. Returns false when it has to wait for them.
    pub(super) fn exec_all_shards(
        &mut self,
        k: usize,
        f: crate::command::ShardsFn,
        args: &Args,
        slot: usize,
    ) -> bool {
        if self.waits_for_replies(k) {
            return false;
        }
        let Some(conn) = self.conns.get_mut(k) else {
            return true;
        };
        let resp3 = conn.session.resp3;
        // The connection keeps its id meanwhile: replies from other workers still find it.
        let mut session = std::mem::take(&mut conn.session);
        conn.session.id = session.id;
        let started = Started::now();
        let held = self.hold((0..self.n).collect());
        let mut out = Vec::new();
        {
            let mut ctx = ShardsCtx {
                shards: held.all(&mut self.ks),
                c: ConnCtx {
                    session: &mut session,
                    reply: Reply::new(&mut out, resp3),
                    shared: &self.shared,
                    worker: self.id,
                    now: self.now,
                    in_exec: false,
                },
            };
            f(&mut ctx, args);
        }
        self.unhold(held);
        let (client, db) = (session.id, session.db);
        if let Some(conn) = self.conns.get_mut(k) {
            conn.session = session;
            let (target, _) = conn.reply_target();
            target.extend_from_slice(&out);
            conn.end_reply();
            if conn.session.quit {
                conn.closing = true;
            }
        }
        self.account_call(slot, started, args, client, db);
        true
    }

    /// Takes the shards `ids` (ascending) for an atomic step: nothing to do when the step needs
    /// this worker's shard alone; else this worker parks its own shard (so it waits holding only
    /// smaller ids) and locks each in order.
    pub(super) fn hold(&mut self, ids: Vec<usize>) -> Held {
        self.release_held();
        let shards = self.shards.clone();
        if ids.iter().all(|&id| id == self.id) {
            return Held {
                shards,
                ids: Default::default(),
                me: self.id,
                own: true,
            };
        }
        self.ks.park();
        for &id in &ids {
            shards.lock(id);
            if id != self.id {
                // SAFETY: just locked; the reference ends with this statement.
                let ks = unsafe { shards.held_mut(id) };
                super::housekeeping::refresh_shard(ks, &self.shared.params);
            }
        }
        Held {
            shards,
            ids: std::cell::RefCell::new(ids),
            me: self.id,
            own: false,
        }
    }

    /// Gives back what [`Worker::hold`] took, publishing the INFO figures of the other workers'
    /// shards, and takes this worker's own shard back.
    /// Clients blocked on keys the step wrote are served first, while the shards are still held.
    pub(super) fn unhold(&mut self, held: Held) {
        let ids: Vec<usize> = held.ids.borrow().clone();
        for &id in &ids {
            // SAFETY: held until `held` is dropped below; the reference ends with the statement.
            self.serve_shard(unsafe { held.shards.held_mut(id) }, id);
        }
        for &id in held.ids.borrow().iter() {
            if id != self.id {
                // SAFETY: still held until `held` is dropped below; the reference ends before.
                let ks = unsafe { held.shards.held_mut(id) };
                super::housekeeping::publish_shard(ks, &self.shared.stats[id]);
            }
        }
        let own = held.own;
        drop(held);
        if !own {
            self.reclaim_own();
        }
        self.serve_own();
    }

    /// A blocking call whose keys span workers (BLPOP a b, BLMOVE src dst...), with its ticket
    /// taken: one atomic step over their shards that either answers it, or registers the ticket on
    /// every key it waits on before any shard is let go.
    pub(super) fn run_blocking_spread(&mut self, k: usize, ci: usize, args: &Args) {
        let Some(ticket) = self.take_ticket() else {
            return;
        };
        let Some(conn) = self.conns.get(k) else {
            return;
        };
        let (db, resp3) = (conn.session.db, conn.session.resp3);
        let started = Started::now();
        let mut keys = Vec::new();
        TABLE.get(ci).key_indices(args, &mut keys);
        let owners: Vec<usize> = keys
            .iter()
            .map(|&i| slot_owner(key_slot(args.get(i)), self.n))
            .collect();
        let mut ids = owners.clone();
        ids.sort_unstable();
        ids.dedup();
        let held = self.hold(ids);
        let mut out = Vec::new();
        let attempt = if !ticket.begin() {
            blocking::Attempt::Gone
        } else {
            let did =
                self.exec_on_copies(&held, ci, args, &keys, &owners, db, resp3, &mut out, true);
            let rewrite = self.spread_block_args.take();
            if let Some(source_only) = did {
                if let Some(with) = rewrite {
                    ticket.rewrite(&with);
                }
                for key in blocking::wait_keys(ci, args, source_only) {
                    let owner = slot_owner(key_slot(key), self.n);
                    let t = ticket.clone();
                    held.on(&mut self.ks, owner, |ks| ks.blocked.add(db, key, t));
                }
                ticket.wait();
                blocking::Attempt::Waits
            } else {
                ticket.finish();
                blocking::Attempt::Answered
            }
        };
        let slot = SLOTS.slot_of(ci, args);
        self.account_conn(k, slot, started, args);
        self.unhold(held);
        if attempt == blocking::Attempt::Answered {
            if let Some(conn) = self.conns.get_mut(k) {
                let (target, _) = conn.reply_target();
                target.extend_from_slice(&out);
                conn.end_reply();
            }
        }
        self.after_attempt(k, attempt);
    }

    /// Runs one command of an atomic step on the held shards, its reply appended to `out`, and
    /// publishes the keyspace notifications it raised (so a step's events keep their order
    /// across shards).
    pub(super) fn exec_held(
        &mut self,
        held: &Held,
        session: &mut Session,
        ci: usize,
        args: &Args,
        out: &mut Vec<u8>,
    ) {
        if session.tracking.is_some() {
            super::tracking::remember_reads(&self.shared, self.n, session, ci, args);
        }
        self.exec_held_command(held, session, ci, args, out);
        if held.own {
            self.publish_own_notes();
        }
        let count = held.ids.borrow().len();
        for i in 0..count {
            let id = held.ids.borrow()[i];
            self.publish_notes_on(held, id);
        }
    }

    /// Publishes the keyspace notifications of shard `id`, held in this step.
    fn publish_notes_on(&mut self, held: &Held, id: usize) {
        if held.own && id == self.id {
            self.publish_own_notes();
        } else if held.covers(id) {
            // SAFETY: held for the whole step; the reference ends with this statement.
            self.publish_notes_of(unsafe { held.shards.held_mut(id) });
        }
    }

    fn exec_held_command(
        &mut self,
        held: &Held,
        session: &mut Session,
        ci: usize,
        args: &Args,
        out: &mut Vec<u8>,
    ) {
        let (db, resp3) = (session.db, session.resp3);
        let (n, me, now) = (self.n, self.id, self.now);
        let cmd = TABLE.get(ci);
        let writer = session.id;
        let shared = self.shared.clone();
        let shared = &*shared;
        let run = |ks: &mut Keyspace, f: KeyedFn, args: &Args, out: &mut Vec<u8>, id: usize| {
            ks.writer = writer;
            let mut ctx = Ctx {
                ks,
                db,
                now,
                reply: Reply::new(out, resp3),
                worker: id,
                workers: n,
                block: crate::command::Block::Never,
                shared,
            };
            run_keyed(&mut ctx, ci, f, args);
        };
        match cmd.exec {
            Exec::Conn(f) => {
                let mut ctx = ConnCtx {
                    session,
                    reply: Reply::new(out, resp3),
                    shared: &self.shared,
                    worker: me,
                    now,
                    in_exec: true,
                };
                f(&mut ctx, args);
            }
            // Never queued (they run at once inside MULTI), never run as a lone step.
            Exec::Transaction | Exec::Watch => {}
            // Inside EXEC: the block holds every shard (see `owners_of`).
            Exec::Shards(f) => {
                let mut ctx = ShardsCtx {
                    shards: held.all(&mut self.ks),
                    c: ConnCtx {
                        session,
                        reply: Reply::new(out, resp3),
                        shared: &self.shared,
                        worker: me,
                        now,
                        in_exec: true,
                    },
                };
                f(&mut ctx, args);
            }
            // Inside EXEC: the block holds every shard (see `owners_of`).
            Exec::Script => {
                self.monitor_line(args, session.db, None, session.id);
                self.exec_script(Some(held), session, ci, args, out)
            }
            Exec::Keyed(f) | Exec::Fanout(f, _) => {
                let mut keys = std::mem::take(&mut self.keys);
                keys.clear();
                cmd.key_indices(args, &mut keys);
                let owner_of = |i: usize| slot_owner(key_slot(args.get(i)), n);
                let first = keys.first().map(|&i| owner_of(i));
                let found = n > 1 && cmd.reaches_found_keys(args);
                if !found && keys.iter().skip(1).all(|&i| Some(owner_of(i)) == first) {
                    let id = first.unwrap_or(me);
                    held.on(&mut self.ks, id, |ks| run(ks, f, args, out, id));
                    self.keys = keys;
                    return;
                }
                let owners: Vec<usize> = keys.iter().map(|&i| owner_of(i)).collect();
                if let Exec::Fanout(f, how) = cmd.exec {
                    let step = match cmd.keys {
                        crate::command::KeySpec::Range(_, _, s) => s.max(1) as usize,
                        _ => 1,
                    };
                    if keys.last().is_some_and(|&i| i + step > args.len()) {
                        return Reply::new(out, resp3).error(&cmd.arity_error());
                    }
                    let mut parts = Vec::with_capacity(keys.len());
                    let mut sub = Vec::new();
                    for (&i, &owner) in keys.iter().zip(&owners) {
                        let mut idx = vec![0];
                        idx.extend(i..i + step);
                        let sub_args = args.pick(&idx, &mut sub);
                        let mut part = Vec::new();
                        held.on(&mut self.ks, owner, |ks| {
                            run(ks, f, &sub_args, &mut part, owner)
                        });
                        // Each key's events in the order of the keys, as Redis raises them.
                        self.publish_notes_on(held, owner);
                        parts.push(part);
                    }
                    out.extend_from_slice(&combine(how, parts, resp3));
                } else {
                    self.exec_on_copies(held, ci, args, &keys, &owners, db, resp3, out, false);
                }
                self.keys = keys;
            }
            Exec::Broadcast(f, how) => {
                let mut parts = Vec::with_capacity(n);
                for w in 0..n {
                    let mut part = Vec::new();
                    if w == 0 {
                        held.on(&mut self.ks, w, |ks| run(ks, f, args, &mut part, w));
                    } else {
                        // Every part answers the same error: the first one counts it.
                        crate::resp::reply::errors::muted(|| {
                            held.on(&mut self.ks, w, |ks| run(ks, f, args, &mut part, w))
                        });
                    }
                    parts.push(part);
                }
                out.extend_from_slice(&combine(how, parts, resp3));
            }
            Exec::Cursor(f, steps) => {
                let mut chain = Chain {
                    cmd: ci,
                    args: args.iter_from(0).map(<[u8]>::to_vec).collect(),
                    items: Vec::new(),
                    count: 0,
                };
                let mut target = (steps.shard)(args, n).filter(|&w| w < n).unwrap_or(me);
                loop {
                    let (data, ranges) = chain.flat_args();
                    let page_args = Args::new(&data, &ranges);
                    let mut page = Vec::new();
                    held.on(&mut self.ks, target, |ks| {
                        run(ks, f, &page_args, &mut page, target)
                    });
                    let Some((cursor, items, body)) = split_cursor_page(&page) else {
                        out.extend_from_slice(&page);
                        return;
                    };
                    chain.items.extend_from_slice(body);
                    chain.count += items;
                    if let Some((next, shard)) = (steps.more)(&page_args, chain.count, cursor, n) {
                        chain.args[1] = next.to_string().into_bytes();
                        target = shard.min(n - 1);
                        continue;
                    }
                    let mut r = Reply::new(out, resp3);
                    r.array(2);
                    r.bulk(itoa::Buffer::new().format(cursor).as_bytes());
                    r.array(chain.count);
                    r.raw(&chain.items);
                    return;
                }
            }
        }
    }

    /// A command whose keys span shards and that has no per-key split (RENAME, SMOVE, LMOVE,
    /// SINTERSTORE...): its keys are copied from their shards into a scratch keyspace, the handler
    /// runs there, and a write command's keys are put back where they belong (or deleted there).
    /// With `may_block`, a blocking command that finds nothing writes no reply, and the result
    /// says it waits (`Some(source_only)`, see [`crate::command::Block::Waits`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn exec_on_copies(
        &mut self,
        held: &Held,
        ci: usize,
        args: &Args,
        keys: &[usize],
        owners: &[usize],
        db: usize,
        resp3: bool,
        out: &mut Vec<u8>,
        may_block: bool,
    ) -> Option<bool> {
        let cmd = TABLE.get(ci);
        let now = self.now;
        let dbs = self.shared.databases;
        let mut places: Vec<(usize, usize, &[u8])> = Vec::with_capacity(keys.len());
        for (&i, &owner) in keys.iter().zip(owners) {
            let kdb = cmd
                .key_db
                .and_then(|f| f(args, i))
                .filter(|&d| d < dbs)
                .unwrap_or(db);
            let key = args.get(i);
            if !places.contains(&(owner, kdb, key)) {
                places.push((owner, kdb, key));
            }
        }
        let (seed, limits, access) = held.on(&mut self.ks, owners[0], |ks| {
            (ks.random(), ks.limits, ks.dbs[0].access)
        });
        let mut temp = Keyspace::new(dbs, seed);
        temp.limits = limits;
        temp.set_access(access);
        // Whether each key was live before: a watched key changes when it was, or is after. A
        // key past its deadline is copied too, so that the command's own lookups expire it as
        // they would on its shard (its `expired` event, its count).
        let mut live_before = Vec::with_capacity(places.len());
        let mut stale_before = Vec::with_capacity(places.len());
        for &(owner, kdb, key) in &places {
            let e = held.on(&mut self.ks, owner, |ks| {
                ks.dbs[kdb].table.get(key).cloned()
            });
            let live = e
                .as_ref()
                .is_some_and(|e| !e.has_ttl() || e.expire_at() > now);
            live_before.push(live);
            stale_before.push(e.is_some() && !live);
            if let Some(e) = e {
                temp.dbs[kdb].restore(e);
            }
        }
        // The keys the call's data names (SORT's BY and GET patterns), from whichever shard owns
        // them (the step holds every shard): read there, never written back.
        if let Some(fk) = cmd.found_keys.filter(|f| (f.reaches)(args)) {
            let mut found = Vec::new();
            (fk.keys)(&temp, db, args, now, &mut found);
            for key in found {
                if temp.dbs[db].table.get(&key).is_some()
                    || places
                        .iter()
                        .any(|&(_, d, k)| d == db && k == key.as_slice())
                {
                    continue;
                }
                let owner = slot_owner(key_slot(&key), self.n);
                let e = held.on(&mut self.ks, owner, |ks| {
                    ks.dbs[db].table.get(&key).cloned()
                });
                if let Some(e) = e {
                    temp.dbs[db].restore(e);
                }
            }
        }
        // Events from here on are the command's own (the copies above are not new keys).
        temp.set_notify(held.on(&mut self.ks, owners[0], |ks| ks.notify_flags()));
        temp.interest = Some(self.shared.tracking.interest());
        temp.sync_tracking();
        let mut waits = None;
        if let Exec::Keyed(f) | Exec::Fanout(f, _) = cmd.exec {
            let mut ctx = Ctx {
                ks: &mut temp,
                db,
                now,
                reply: Reply::new(out, resp3),
                worker: owners[0],
                workers: self.n,
                block: if may_block {
                    crate::command::Block::May
                } else {
                    crate::command::Block::Never
                },
                shared: &self.shared,
            };
            f(&mut ctx, args);
            if let crate::command::Block::Waits { source_only } = ctx.block {
                waits = Some(source_only);
            }
            self.spread_block_args = temp.block_args.take();
        }
        let mut stats = temp.stats;
        stats.expired_keys = temp.expired_keys();
        held.on(&mut self.ks, owners[0], |ks| ks.stats.add(&stats));
        self.publish_notes_of(&mut temp);
        if cmd.is_write() {
            for (&(owner, kdb, key), &before) in places.iter().zip(&live_before) {
                let result = temp.dbs[kdb].table.remove(key);
                held.on(&mut self.ks, owner, |ks| {
                    if before || result.is_some() {
                        ks.watches.touch(kdb, key);
                    }
                    if result.is_some() {
                        ks.blocked.signal(kdb, key);
                    }
                    ks.changed(key);
                    match result {
                        Some(e) => {
                            ks.dbs[kdb].restore(e);
                        }
                        None => {
                            ks.dbs[kdb].remove(key, 0);
                        }
                    }
                });
            }
        } else {
            // A read expired what it found stale: so does the key's shard (without a second
            // event).
            for (&(owner, kdb, key), &stale) in places.iter().zip(&stale_before) {
                if stale && temp.dbs[kdb].table.get(key).is_none() {
                    held.on(&mut self.ks, owner, |ks| ks.dbs[kdb].remove(key, 0));
                }
            }
        }
        waits
    }
}
