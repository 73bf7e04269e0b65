//! Scripts on the worker: EVAL and its variants run here, on the connection's worker, as one
//! atomic step over the shards of the keys the script declares (KEYS). Each `redis.call` goes
//! through [`ScriptHost`] to the held shards, exactly as a command of a MULTI block would.
//!
//! Keys a script did not declare (allowed outside cluster mode, and common in the wild): a
//! script's first run takes every shard and notes whether its calls kept to the shards of its
//! KEYS ([`Scope`]); only a script that did runs on those shards alone afterwards. One that later
//! reaches another shard takes it too when lock order allows; if not, a run that wrote nothing
//! yet starts over with every shard held, and one that wrote waits (bounded) for the shard. A
//! script that reaches undeclared keys holds every shard from then on (the slow path, counted in
//! INFO as `rustis_scripts_wide_runs`).

use super::atomic::{owners_of, Held};
use super::*;
use crate::command::scripting::NO_SCRIPT;
use crate::resp::err;
use crate::script::store::{flags, parse_shebang, sha1_hex, sha_key, Scope};
use crate::script::{self, Checked, Host, Invocation, Outcome, Refusal};

/// The door a running script's commands go through: the worker and the shards the step holds.
struct ScriptHost<'a> {
    worker: &'a mut Worker,
    held: &'a Held,
    /// Every shard is held: no call can reach beyond.
    all: bool,
    /// The script's own session: the caller's database at the start (SELECT inside the script
    /// changes it for the script only, as in Redis 7), the protocol the script chose.
    session: Session,
    /// Scratch for the owners of a call's keys.
    owners: Vec<usize>,
    /// A call reached a key the script did not declare, on a shard not held at the start.
    reached_undeclared: bool,
    /// The connection still waits for replies from other workers: a run that reaches another
    /// shard before writing is dropped (to run once they are in) rather than extended.
    defer: bool,
    /// The workers owning the script's declared keys (sorted).
    declared: &'a [usize],
    /// Busy ticks so far.
    ticks: u32,
    /// Client-side caching: the caller's id and the script's declared keys, remembered for it
    /// once the script calls a read-only command (as Redis tracks scripts), if it tracks reads.
    track: Option<(u64, &'a [&'a [u8]])>,
}

impl Host for ScriptHost<'_> {
    fn check(
        &mut self,
        buf: &[u8],
        ranges: &[Range<usize>],
        read_only: bool,
    ) -> Result<Checked, Refusal> {
        let args = Args::new(buf, ranges);
        let refuse = |msg: &str| Err(Refusal::Error(msg.to_string()));
        let Some((ci, cmd)) = TABLE.lookup(args.get(0)) else {
            return refuse("ERR Unknown Redis command called from script");
        };
        if !cmd.arity_ok(args.len()) {
            return refuse("ERR Wrong number of args calling Redis command from script");
        }
        let (flags, slot) = match SLOTS.lookup(ci, &args) {
            SubLookup::Whole => (cmd.flags, ci),
            SubLookup::Known(slot, arity) => {
                if !crate::stats::arity_fits(arity, args.len()) {
                    return refuse("ERR Wrong number of args calling Redis command from script");
                }
                (SLOTS.flags(slot), slot)
            }
            SubLookup::Unknown => return refuse("ERR Unknown Redis command called from script"),
        };
        if flags & flag::NOSCRIPT != 0 {
            return refuse("ERR This Redis command is not allowed from script");
        }
        if !self.session.auth.fast(&self.worker.shared.acl) {
            let shared = self.worker.shared.clone();
            let _ = self.session.auth.refresh(&shared.acl);
            if let Err(d) = crate::acl::check(&self.session.auth.user, ci, slot, &args) {
                crate::command::acl::log_denied_command(
                    &shared,
                    &self.session,
                    d,
                    crate::acl::Context::Lua,
                    slot,
                    &args,
                    self.worker.now,
                );
                return refuse(&format!(
                    "ERR The user executing the script {}",
                    d.message()
                ));
            }
        }
        let write = flags & flag::WRITE != 0;
        // A may-replicate command (PUBLISH...) is a write to a read-only script, as in Redis.
        if (write || flags & flag::MAY_REPLICATE != 0) && read_only {
            return refuse("ERR Write commands are not allowed from read-only scripts.");
        }
        if write && self.defer {
            // Running ahead of its connection's replies from other workers, a script only reads:
            // at its first write it is put back, to run once they are in (a later call could
            // reach a shard they concern, and a written script cannot start over).
            return Err(Refusal::Restart);
        }
        Ok(Checked { cmd: ci, write })
    }

    fn knows(&self, name: &[u8]) -> bool {
        TABLE.lookup(name).is_some()
    }

    fn call(
        &mut self,
        checked: Checked,
        buf: &[u8],
        ranges: &[Range<usize>],
        resp3: bool,
        wrote: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Refusal> {
        let ci = checked.cmd;
        let args = &Args::new(buf, ranges);
        // Over maxmemory when the script started, its first command that may grow memory is
        // refused (Redis's scriptVerifyOOM); once it wrote, it cannot stop halfway.
        if !wrote && self.worker.script_oom && TABLE.get(ci).flags & flag::DENYOOM != 0 {
            return Err(Refusal::Error(super::maxmemory::OOM.to_string()));
        }
        if TABLE.get(ci).flags & flag::READONLY != 0 {
            if let Some((client, keys)) = self.track.take() {
                let n = self.worker.n;
                for key in keys {
                    let owner = slot_owner(key_slot(key), n);
                    self.worker.shared.tracking.remember(owner, key, client);
                }
            }
        }
        let w = &mut *self.worker;
        let cmd = TABLE.get(ci);
        // The workers owning the command's keys: for the check below, and for the common case
        // of keys on one shard, which runs straight there.
        self.owners.clear();
        if w.n > 1 {
            let mut keys = std::mem::take(&mut w.keys);
            owners_of(ci, args, w.n, w.id, &mut keys, &mut self.owners);
            w.keys = keys;
            self.owners.sort_unstable();
            self.owners.dedup();
        }
        if self
            .owners
            .iter()
            .any(|id| self.declared.binary_search(id).is_err())
        {
            // Keys outside its KEYS' shards (with every shard held, the run only notes it).
            self.reached_undeclared = true;
        }
        if !self.all {
            for i in 0..self.owners.len() {
                let id = self.owners[i];
                if self.held.covers(id) {
                    continue;
                }
                if self.defer && !wrote {
                    // Its connection waits for replies that may concern this key: the run is
                    // dropped and made again once they are in.
                    return Err(Refusal::Restart);
                }
                // In lock order the shard is simply taken too; out of order, a script that
                // wrote nothing yet starts over holding every shard, and one that wrote waits
                // for it (a bounded time: two such scripts could be waiting for each other).
                let params = &w.shared.params;
                if self.held.extend(id, false, params) {
                    continue;
                }
                if !wrote {
                    return Err(Refusal::Restart);
                }
                if !self.held.extend(id, true, params) {
                    return Err(Refusal::Error(format!(
                        "ERR Script attempted to access a key of worker {id} that it did not \
                         declare in KEYS and could not lock in time; declare every key in KEYS"
                    )));
                }
            }
        }
        self.session.resp3 = resp3;
        let slot = SLOTS.slot_of(ci, args);
        let started = Started::now();
        match cmd.exec {
            Exec::Keyed(f) | Exec::Fanout(f, _) if self.owners.len() <= 1 => {
                let id = self.owners.first().copied().unwrap_or(w.id);
                let (db, now, n) = (self.session.db, w.now, w.n);
                let shared = &*w.shared;
                self.held.on(&mut w.ks, id, |ks| {
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
                });
            }
            _ => w.exec_held(self.held, &mut self.session, ci, args, out),
        }
        w.account(slot, started, Count::Call);
        w.monitor(slot, args, self.session.db, Some("lua"), 0);
        Ok(())
    }

    fn busy_tick(&mut self) {
        // This worker's own shard may be held by another worker's step while the script keeps
        // to others: then nothing here may touch it.
        let me = self.worker.id;
        let was = self.worker.shardless;
        self.worker.shardless = was || !self.held.covers(me);
        // Every connection at the first tick and now and then; else those with an event.
        self.worker.serve_while_busy(self.ticks.is_multiple_of(64));
        self.worker.shardless = was;
        self.ticks = self.ticks.wrapping_add(1);
    }

    fn stopping(&self) -> bool {
        self.worker.shared.stopping()
    }
}

impl Worker {
    /// While a script of this worker runs past busy-reply-threshold (called from its Lua hook):
    /// accepts new clients and serves every other connection's ready input, which dispatch
    /// answers with -BUSY unless it is an allow-busy command such as SCRIPT KILL. The connection
    /// running the script is left alone (its input waits for the script's reply).
    ///
    /// With `sweep`, every connection is tried, not only those with a new event: input whose
    /// event was taken by the poll that preceded the script is served too.
    pub(super) fn serve_while_busy(&mut self, sweep: bool) {
        let mut events = Events::with_capacity(256);
        if self.poll.poll(&mut events, Some(Duration::ZERO)).is_err() {
            return;
        }
        // The script's time stands still (as Redis's): keys do not expire under it.
        let now = self.now;
        self.now = unix_ms();
        if sweep {
            let all: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
            for k in all {
                if self.in_process.contains(&k) {
                    continue;
                }
                self.service(k);
                self.flush(k);
            }
        }
        for ev in events.iter() {
            match ev.token() {
                LISTENER_TOKEN => self.accept(),
                WAKER_TOKEN => {}
                Token(t) => {
                    let k = t - CONN_BASE;
                    if self.in_process.contains(&k) {
                        // Its edge is spent: serve it once the script is done.
                        if let Some(c) = self.conns.get_mut(k) {
                            c.queued_resume = true;
                            if ev.is_read_closed() || ev.is_error() {
                                c.peer_closed = true;
                            }
                        }
                        self.schedule_resume(k);
                        continue;
                    }
                    if ev.is_writable() {
                        self.flush(k);
                    }
                    if ev.is_read_closed() || ev.is_error() {
                        if let Some(c) = self.conns.get_mut(k) {
                            c.peer_closed = true;
                        }
                    }
                    if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                        self.service(k);
                        self.flush(k);
                    }
                }
            }
        }
        // Requests other workers sent here before the script went busy: -BUSY, unrun (only
        // the busy worker itself: a worker waiting for its shard runs them once it is back).
        // (A worker whose shard the script holds does the same: nothing of those requests
        // can run here until the script is done.)
        let was = std::mem::replace(&mut self.answering_busy, true);
        self.drain_inbox();
        self.answering_busy = was;
        self.send_outboxes();
        self.now = now;
    }

    /// Takes this worker's shard back after poll or a lend. While a busy script of another
    /// worker holds it, this worker keeps answering its clients (-BUSY, SCRIPT KILL reaches the
    /// script) instead of waiting blind.
    pub(super) fn reclaim_own(&mut self) {
        let mut spins = 0u32;
        let mut served = 0u32;
        while !self.ks.try_reclaim() {
            if self.shared.scripts.busy_count() > 0 {
                let was = std::mem::replace(&mut self.shardless, true);
                self.serve_while_busy(served.is_multiple_of(64));
                served = served.wrapping_add(1);
                self.shardless = was;
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            spins += 1;
            if spins < 128 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// A safe point: lends this worker's shard to another worker's atomic step that waits for
    /// it, and takes it back ([`Worker::reclaim_own`]).
    pub(super) fn lend_if_asked(&mut self) {
        if self.ks.lend() {
            self.reclaim_own();
        }
    }

    /// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO: runs once every earlier reply of the connection is in
    /// (the script sees every effect those stood for), its reply in order. Returns whether the
    /// request was consumed.
    pub(super) fn run_script(&mut self, k: usize, ci: usize, args: &Args, slot: usize) -> bool {
        self.evict_on(self.id);
        let (client, db, open) = self.conns.get(k).map_or((0, 0, false), |c| {
            (
                c.session.id,
                c.session.db,
                c.session.auth.fast(&self.shared.acl),
            )
        });
        // A restricted user's script runs here, where its rules are known (a forwarded script
        // runs as nobody in particular).
        let sole = if open {
            self.sole_script_owner(ci, args)
        } else {
            None
        };
        if let Some(owner) = sole {
            self.monitor_line(args, db, None, client);
            // Every key on one busy worker: the script runs there, on its own shard, in order
            // with this connection's other requests to it (a parked owner's shard is taken below
            // with one CAS instead, with no wake and no hop).
            self.forward(k, owner, ci, args);
            return true;
        }
        // A script whose declared keys are all here need not wait for the connection's replies
        // from other workers, any more than a local GET does (its reply still goes out after
        // theirs); if it reaches an undeclared key before writing, it is put back and waits.
        let in_flight = self.conns.get(k).is_some_and(|c| !c.slots.is_empty());
        let local = in_flight && self.script_is_local(ci, args);
        if !local && self.waits_for_replies(k) {
            return false;
        }
        self.monitor_line(args, db, None, client);
        let started = Started::now();
        let Some(conn) = self.conns.get_mut(k) else {
            return true;
        };
        let mut session = std::mem::take(&mut conn.session);
        // The connection keeps its id meanwhile: replies from other workers still find it.
        conn.session.id = session.id;
        let mut out = std::mem::take(&mut self.step_out);
        out.clear();
        let deferred = self.exec_script_from(None, &mut session, ci, args, &mut out, local);
        if let Some(conn) = self.conns.get_mut(k) {
            conn.session = session;
            if deferred {
                conn.quiet_wait = true;
                self.step_out = out;
                return false;
            }
            let (target, _) = conn.reply_target();
            target.extend_from_slice(&out);
            conn.end_reply();
        }
        if out.capacity() <= 64 * 1024 {
            self.step_out = out;
        }
        let (client, db) = self
            .conns
            .get(k)
            .map_or((0, 0), |c| (c.session.id, c.session.db));
        self.account_call(slot, started, args, client, db);
        true
    }

    /// The worker owning every key a script command declares, when that is another worker that
    /// is busy (or has requests from here on the way), and the script is not known to reach
    /// keys it did not declare.
    fn sole_script_owner(&self, ci: usize, args: &Args) -> Option<usize> {
        if self.n == 1 || args.len() < 4 {
            return None;
        }
        let numkeys = args
            .int(2)
            .filter(|&n| n >= 1 && n <= (args.len() - 3) as i64)? as usize;
        let owner = slot_owner(key_slot(args.get(3)), self.n);
        if owner == self.id
            || (4..3 + numkeys).any(|i| slot_owner(key_slot(args.get(i)), self.n) != owner)
        {
            return None;
        }
        if self.mail.untouched_since_parked(owner) && self.outbox[owner].is_none() {
            return None;
        }
        known_narrow(&self.shared.scripts, ci, args).then_some(owner)
    }

    /// Whether a script command declares keys, all on this worker's shard, and is not known to
    /// reach keys it did not declare.
    fn script_is_local(&self, ci: usize, args: &Args) -> bool {
        if args.len() < 4 {
            return false;
        }
        let Some(numkeys) = args
            .int(2)
            .filter(|&n| n >= 1 && n <= (args.len() - 3) as i64)
        else {
            return false;
        };
        if (3..3 + numkeys as usize).any(|i| slot_owner(key_slot(args.get(i)), self.n) != self.id) {
            return false;
        }
        known_narrow(&self.shared.scripts, ci, args)
    }

    /// A script command another worker forwarded here (all its keys are on this shard): its
    /// reply appended to `out`.
    pub(super) fn run_forwarded_script(
        &mut self,
        ci: usize,
        args: &Args,
        db: usize,
        resp3: bool,
        out: &mut Vec<u8>,
    ) {
        let mut session = Session {
            db,
            resp3,
            ..Session::default()
        };
        self.exec_script(None, &mut session, ci, args, out);
    }

    /// Runs script command `ci` (EVAL, EVALSHA, FCALL and their `_RO` forms) for `session`, its
    /// reply appended to `out`. `held`: the shards an enclosing step holds (EXEC, which holds
    /// every shard); None to take the script's own.
    pub(super) fn exec_script(
        &mut self,
        held: Option<&Held>,
        session: &mut Session,
        ci: usize,
        args: &Args,
        out: &mut Vec<u8>,
    ) {
        self.exec_script_from(held, session, ci, args, out, false);
    }

    /// [`Worker::exec_script`]; with `defer`, a run that would need a shard it does not hold
    /// before writing anything is dropped instead of started again: nothing is written to `out`
    /// and true is returned (the caller runs it later).
    fn exec_script_from(
        &mut self,
        held: Option<&Held>,
        session: &mut Session,
        ci: usize,
        args: &Args,
        out: &mut Vec<u8>,
        defer: bool,
    ) -> bool {
        let resp3 = session.resp3;
        let shared = self.shared.clone();
        let Some(target) = resolve(&shared.scripts, ci, args, &mut Reply::new(out, resp3)) else {
            return false;
        };
        let numkeys = target.numkeys;
        let first = 3;
        let last = first + numkeys;
        let keys: Vec<&[u8]> = (first..last).map(|i| args.get(i)).collect();
        let argv: Vec<&[u8]> = (last..args.len()).map(|i| args.get(i)).collect();
        let inv = Invocation {
            busy: Some((&shared.scripts, self.id)),
            threshold_ms: shared.params.busy_reply_threshold.load(Ordering::Relaxed),
            name: target.name.as_bytes(),
            keys: &keys,
            argv: &argv,
            read_only: target.read_only,
            eval: target.sha.is_some(),
            command: args.get(0),
        };
        let generation = shared.scripts.generation();
        let scope = target.scope();
        let mut wide = held.is_some() || scope != Scope::Narrow;
        if scope == Scope::Wide {
            shared.scripts.wide_runs.fetch_add(1, Ordering::Relaxed);
        }
        // The workers owning the declared keys: a call reaching another one reaches keys the
        // script did not declare.
        let mut declared: Vec<usize> = keys
            .iter()
            .map(|k| slot_owner(key_slot(k), self.n))
            .collect();
        declared.sort_unstable();
        declared.dedup();
        loop {
            let ids: Vec<usize> = if wide {
                (0..self.n).collect()
            } else {
                declared.clone()
            };
            let own = held.is_none().then(|| self.hold(ids));
            let Some(step) = held.or(own.as_ref()) else {
                return false;
            };
            let mark = out.len();
            let outcome = {
                let mut host = ScriptHost {
                    worker: self,
                    held: step,
                    all: wide,
                    session: Session {
                        id: session.id,
                        db: session.db,
                        auth: session.auth.clone(),
                        ..Session::default()
                    },
                    owners: Vec::new(),
                    reached_undeclared: false,
                    defer,
                    declared: &declared,
                    ticks: 0,
                    track: super::tracking::tracks_reads(session)
                        .then_some((session.id, &keys[..])),
                };
                let id = host.worker.id;
                let outcome = script::with_engine(|e| {
                    let reply = &mut Reply::new(out, resp3);
                    let outcome = match (&target.sha, &target.entry) {
                        (Some(sha), Some(entry)) => {
                            e.sync(generation);
                            if !e.has(sha) {
                                if let Err(msg) = e.compile(sha, &entry.body) {
                                    reply.error(&format!("ERR {msg}"));
                                    return Outcome::Done;
                                }
                            }
                            e.run(sha, &inv, &mut host, reply)
                        }
                        _ => {
                            e.sync_libraries(&shared.scripts.libraries);
                            e.call_function(&target.name, &inv, &mut host, reply)
                        }
                    };
                    shared.scripts.note_lua_memory(id, e.memory());
                    outcome
                });
                if host.reached_undeclared {
                    // From the next run on, every shard is taken at the start.
                    target.set_scope(Scope::Wide);
                } else if scope == Scope::Unknown && outcome == Some(Outcome::Done) {
                    // It kept to its KEYS: from now on only their shards are taken.
                    target.set_scope(Scope::Narrow);
                }
                outcome
            };
            if let Some(own) = own {
                self.unhold(own);
            }
            if shared.stopping() {
                // SHUTDOWN NOSAVE stopped it: the connection closes without a reply, as Redis's.
                out.truncate(mark);
                return false;
            }
            match outcome {
                Some(Outcome::Restart) if defer => {
                    // Its connection still waits for replies: it runs once they are in.
                    out.truncate(mark);
                    return true;
                }
                Some(Outcome::Restart) if !wide => {
                    out.truncate(mark);
                    shared.scripts.wide_runs.fetch_add(1, Ordering::Relaxed);
                    wide = true;
                }
                Some(_) => return false,
                None => {
                    Reply::new(out, resp3)
                        .error("ERR This Redis command is not allowed from script");
                    return false;
                }
            }
        }
    }
}

/// What a script command runs: an EVAL script (its SHA1 and cache entry) or a library function.
struct Target {
    sha: Option<[u8; 40]>,
    entry: Option<std::sync::Arc<crate::script::store::ScriptEntry>>,
    /// The name in error texts: the SHA1, or the function's name.
    name: String,
    numkeys: usize,
    read_only: bool,
}

thread_local! {
    /// What each function's runs reach, as this worker learnt it (functions have no cache entry
    /// to carry it; each worker learns it once).
    static FUNCTION_SCOPES: std::cell::RefCell<std::collections::HashMap<Vec<u8>, Scope>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Whether the script command `ci` names is known, from its earlier runs, to keep to the shards
/// of its KEYS (a body or SHA1 not cached yet is not).
fn known_narrow(scripts: &crate::script::store::Scripts, ci: usize, args: &Args) -> bool {
    match TABLE.get(ci).name {
        "eval" | "eval_ro" => scripts
            .get(&sha1_hex(args.get(1)))
            .is_some_and(|e| scope_of(&e) == Scope::Narrow),
        "evalsha" | "evalsha_ro" => sha_key(args.get(1))
            .and_then(|sha| scripts.get(&sha))
            .is_some_and(|e| scope_of(&e) == Scope::Narrow),
        _ => function_scope(args.get(1)) == Scope::Narrow,
    }
}

/// The scope an EVAL script's runs showed.
fn scope_of(e: &crate::script::store::ScriptEntry) -> Scope {
    Scope::from_u8(e.scope.load(Ordering::Relaxed))
}

/// The scope function `name`'s runs showed on this worker.
fn function_scope(name: &[u8]) -> Scope {
    FUNCTION_SCOPES.with(|m| m.borrow().get(name).copied().unwrap_or(Scope::Unknown))
}

impl Target {
    /// What the script's runs reach, as learnt so far.
    fn scope(&self) -> Scope {
        match &self.entry {
            Some(e) => scope_of(e),
            None => function_scope(self.name.as_bytes()),
        }
    }

    /// Remembers what its runs reach (once wide, it stays wide).
    fn set_scope(&self, scope: Scope) {
        match &self.entry {
            Some(e) => {
                let _ = e.scope.fetch_max(scope as u8, Ordering::Relaxed);
            }
            None => FUNCTION_SCOPES.with(|m| {
                let mut m = m.borrow_mut();
                let s = m.entry(self.name.as_bytes().to_vec()).or_insert(scope);
                if scope as u8 > *s as u8 {
                    *s = scope;
                }
            }),
        }
    }
}

/// Checks a script command's arguments and finds what it runs (compiling and caching an EVAL
/// body seen for the first time), in Redis's order of checks; None once the error is replied.
fn resolve(
    scripts: &crate::script::store::Scripts,
    ci: usize,
    args: &Args,
    r: &mut Reply,
) -> Option<Target> {
    let name = TABLE.get(ci).name;
    let ro = name.ends_with("_ro");
    let numkeys = |r: &mut Reply, bad: &str| -> Option<usize> {
        let Some(n) = args.int(2) else {
            r.error(bad);
            return None;
        };
        if n > (args.len() - 3) as i64 {
            r.error("ERR Number of keys can't be greater than number of args");
            return None;
        }
        if n < 0 {
            r.error("ERR Number of keys can't be negative");
            return None;
        }
        Some(n as usize)
    };
    if name.starts_with("fcall") {
        let Some((_, info)) = scripts.libraries.function(args.get(1)) else {
            r.error("ERR Function not found");
            return None;
        };
        let n = numkeys(r, "ERR Bad number of keys provided")?;
        if ro && info.flags & flags::NO_WRITES == 0 {
            r.error("ERR Can not execute a script with write flag using *_ro command.");
            return None;
        }
        return Some(Target {
            sha: None,
            entry: None,
            name: info.name,
            numkeys: n,
            read_only: ro || info.flags & flags::NO_WRITES != 0,
        });
    }
    let by_sha = name.starts_with("evalsha");
    if by_sha && args.get(1).len() != 40 {
        r.error(NO_SCRIPT);
        return None;
    }
    let n = numkeys(r, err::NOT_INT)?;
    let sha = if by_sha {
        sha_key(args.get(1)).unwrap_or([b'0'; 40])
    } else {
        sha1_hex(args.get(1))
    };
    let entry = match scripts.get(&sha) {
        Some(e) => e,
        None if by_sha => {
            r.error(NO_SCRIPT);
            return None;
        }
        None => {
            let body = args.get(1);
            let flags = match parse_shebang(body) {
                Ok((f, _)) => f,
                Err(e) => {
                    r.error(&format!("ERR {e}"));
                    return None;
                }
            };
            let generation = scripts.generation();
            match script::with_engine(|e| {
                e.sync(generation);
                e.compile(&sha, body)
            }) {
                Some(Ok(())) => scripts.insert(sha, body, flags),
                Some(Err(e)) => {
                    r.error(&format!("ERR {e}"));
                    return None;
                }
                None => {
                    r.error("ERR This Redis command is not allowed from script");
                    return None;
                }
            }
        }
    };
    let compat = entry.flags & flags::COMPAT != 0;
    if !compat && entry.flags & flags::NO_WRITES == 0 && ro {
        r.error("ERR Can not execute a script with write flag using *_ro command.");
        return None;
    }
    Some(Target {
        sha: Some(sha),
        name: String::from_utf8_lossy(&sha).into_owned(),
        read_only: ro || (!compat && entry.flags & flags::NO_WRITES != 0),
        entry: Some(entry),
        numkeys: n,
    })
}

/// Whether script command `ci` (EVAL, EVALSHA, FCALL and their _RO forms) may write, as
/// CLIENT PAUSE WRITE sees it: not a _RO form, and the script or function not flagged
/// `no-writes` (a script without a shebang may write). Unknown scripts may write.
pub(super) fn script_may_write(
    scripts: &crate::script::store::Scripts,
    ci: usize,
    args: &Args,
) -> bool {
    let name = TABLE.get(ci).name;
    if name.ends_with("_ro") {
        return false;
    }
    if name.starts_with("fcall") {
        return scripts
            .libraries
            .function(args.get(1))
            .is_none_or(|(_, info)| info.flags & flags::NO_WRITES == 0);
    }
    script_flags(scripts, ci, args)
        .is_none_or(|f| f & flags::COMPAT != 0 || f & flags::NO_WRITES == 0)
}

/// The flags a script or function called by command `ci` declared (its shebang, or
/// `register_function`); COMPAT for a script without a shebang; None when it is not known yet
/// (an EVALSHA of a script not loaded, a function that does not exist, a bad shebang).
pub(super) fn script_flags(
    scripts: &crate::script::store::Scripts,
    ci: usize,
    args: &Args,
) -> Option<u32> {
    let name = TABLE.get(ci).name;
    if name.starts_with("fcall") {
        return scripts
            .libraries
            .function(args.get(1))
            .map(|(_, info)| info.flags);
    }
    let sha = if name.starts_with("evalsha") {
        sha_key(args.get(1))?
    } else {
        sha1_hex(args.get(1))
    };
    match scripts.get(&sha) {
        Some(e) => Some(e.flags),
        None if name.starts_with("evalsha") => None,
        None => parse_shebang(args.get(1)).ok().map(|(f, _)| f),
    }
}
