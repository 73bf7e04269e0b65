//! Housekeeping, every 1/hz seconds: parameters, statistics, active expiry, connection buffers,
//! the allocator's free pages, the activity log, and the orderly shutdown.

use super::*;

impl Worker {
    pub(super) fn refresh_params(&mut self) {
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
        self.idle_timeout = p.get_i64("timeout").max(0) as u64;
        refresh_shard(&mut self.ks, p);
    }

    pub(super) fn publish_stats(&mut self) {
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
            s.borrowed
                .fetch_add(std::mem::take(&mut st.borrowed), Ordering::Relaxed);
            s.forwarded
                .fetch_add(std::mem::take(&mut st.forwarded), Ordering::Relaxed);
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
            publish_shard(&self.ks, s);
        }
    }

    /// Visits 1/hz of the connections (at least 50) per tick, round robin, so each one's buffers
    /// are checked about once a second ([`Conn::resize_buffers`]), and an idle one is closed past
    /// `timeout`. O(visited).
    pub(super) fn resize_conn_buffers(&mut self) {
        let cap = self.conns.capacity();
        if cap == 0 {
            return;
        }
        let visit = (cap / self.hz as usize).max(50).min(cap);
        for _ in 0..visit {
            self.resize_cursor = (self.resize_cursor + 1) % cap;
            let k = self.resize_cursor;
            if let Some(conn) = self.conns.get_mut(k) {
                // `timeout`: an idle client is closed, unless it monitors, is subscribed or
                // waits in a blocking call or a pause (Redis's clientsCronHandleTimeout).
                let idle_s = self.now.saturating_sub(conn.last_ms) / 1000;
                if self.idle_timeout > 0
                    && idle_s > self.idle_timeout
                    && !conn.session.monitor
                    && !conn.session.subscribed()
                    && conn.block.is_none()
                    && !conn.paused
                {
                    crate::log_at!(Verbose, "Closing idle client");
                    self.close(k);
                    continue;
                }
                conn.resize_buffers(self.now);
                conn.publish_gauge();
            }
        }
    }

    /// Every 5 seconds, as Redis's serverCron: this shard's databases (verbose) and, from worker 0,
    /// the clients and memory in use (debug).
    pub(super) fn log_activity(&self) {
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

    pub(super) fn cron(&mut self) {
        self.last_cron = Instant::now();
        self.resize_conn_buffers();
        self.cron_ticks += 1;
        if self.cron_ticks.is_multiple_of(10) && !self.ks.watches.is_empty() {
            // Flags of clients that stopped watching, or whose watch already broke.
            self.ks.watches.sweep();
        }
        if self.cron_ticks.is_multiple_of(10) && !self.ks.blocked.is_empty() && !self.shardless {
            // Tickets answered elsewhere (timed out, unblocked, served by another key, gone).
            self.ks.blocked.sweep();
        }
        if self.cron_ticks.is_multiple_of(5 * self.hz) {
            self.log_activity();
        }
        if self.cron_ticks.is_multiple_of(self.hz) {
            crate::alloc::collect();
        }
        if self.id == 0 {
            self.persist_cron();
        }
        let effort = self
            .shared
            .params
            .get_i64("active-expire-effort")
            .clamp(1, 10) as usize;
        let started = crate::stats::ticks();
        self.ks.active_expire(self.now, EXPIRE_BUDGET * effort);
        if !self.shardless {
            refresh_shard(&mut self.ks, &self.shared.params);
            self.evict_on(self.id);
        }
        self.publish_own_notes();
        if self.id == 0 && self.shared.tracking.active() {
            // tracking-table-max-keys: the effort grows while the table stays over the limit.
            let max = self.shared.params.get_i64("tracking-table-max-keys").max(0) as usize;
            let (keys, ..) = self.shared.tracking.totals();
            if max != 0 && keys > max {
                self.tracking_effort += 1;
                let effort = 100 * self.tracking_effort;
                tracking::limit_table(&self.shared, self.n, max, effort);
            } else {
                self.tracking_effort = 0;
            }
        }
        self.expire_cycle_done(started);
        self.measure_memory_and_cpu();
        if self.id == 0 {
            self.sample_server_stats();
        }
        let s = &self.shared.stats[self.id];
        publish_shard(&self.ks, s);
        s.used_memory.store(
            crate::alloc::thread_net_bytes() as i64 as u64,
            Ordering::Relaxed,
        );
    }

    /// Accounts for an active-expiry pass begun at `started` (ticks): `expire_cycle_cpu_milliseconds`,
    /// and an `expire-cycle` latency event when it took latency-monitor-threshold ms or more.
    pub(super) fn expire_cycle_done(&mut self, started: u64) {
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
    pub(super) fn measure_memory_and_cpu(&mut self) {
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
    pub(super) fn sample_server_stats(&mut self) {
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

    /// Starts a background snapshot when a save point is due (Redis's serverCron rule: enough
    /// changes and enough seconds since the last save; 5 s at least after a failed attempt) or
    /// when a BGSAVE inside MULTI scheduled one. Worker 0 checks, every tick.
    fn persist_cron(&mut self) {
        let now = unix_ms() / 1000;
        let due = {
            let st = self.shared.persist.status();
            if st.running.is_some() {
                return;
            }
            let retry_ok = st.last.as_ref().is_none_or(|o| o.error.is_none())
                || now.saturating_sub(st.last_try) >= 5;
            st.scheduled
                || (retry_ok && {
                    let points = self.shared.params.get("save").unwrap_or_default();
                    let changes = self
                        .shared
                        .changes_total()
                        .saturating_sub(self.shared.persist.dirty_base.load(Ordering::Relaxed));
                    crate::persist::save_point_due(
                        &points,
                        changes,
                        now.saturating_sub(st.lastsave),
                    )
                })
        };
        if !due {
            return;
        }
        let held = self.hold((0..self.n).collect());
        {
            let mut shards = held.all(&mut self.ks);
            match crate::command::persist::start_snapshot(&self.shared, &mut shards) {
                Ok(_) => crate::log_at!(Notice, "Background saving started (save point)"),
                Err(e) => crate::log_at!(Warning, "Can't save in background: {e:?}"),
            }
        }
        self.unhold(held);
    }

    /// Stops: writes what was already computed (best effort, bounded), then returns.
    pub(super) fn shutdown(&mut self) {
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
        // A worker still running an atomic step may wait for this shard: leave it free.
        self.ks.park();
    }
}

/// Brings a shard's copies of the parameters (encoding limits, LFU policy) up to date after a
/// CONFIG SET; whoever holds the shard calls it before running a command on it. O(1) when nothing
/// changed (one atomic load).
pub fn refresh_shard(ks: &mut Keyspace, p: &crate::config::Params) {
    let epoch = p.epoch.load(Ordering::Acquire);
    if epoch == ks.params_epoch {
        return;
    }
    ks.params_epoch = epoch;
    let policy = crate::store::evict::Policy::parse(&p.get("maxmemory-policy").unwrap_or_default());
    ks.lfu_policy = policy.lfu();
    if ks.evict.policy != policy {
        ks.evict.clear_pool();
    }
    ks.evict.policy = policy;
    ks.evict.samples = p.get_i64("maxmemory-samples").clamp(1, 1 << 16) as usize;
    ks.shared_integers = p.maxmemory.load(Ordering::Relaxed) == 0 || !policy.tracks_access();
    ks.set_access(crate::store::access::Access {
        lfu: policy.lfu(),
        log_factor: p.get_i64("lfu-log-factor").clamp(0, i32::MAX as i64) as u32,
        decay_minutes: p.get_i64("lfu-decay-time").clamp(0, i32::MAX as i64) as u32,
    });
    let l = &mut ks.limits;
    l.set_max_intset_entries = p.get_i64("set-max-intset-entries").max(0) as usize;
    l.hash_max_listpack_entries = p.get_i64("hash-max-listpack-entries").max(0) as usize;
    l.hash_max_listpack_value = p.get_i64("hash-max-listpack-value").max(0) as usize;
    l.zset_max_listpack_entries = p.get_i64("zset-max-listpack-entries").max(0) as usize;
    l.zset_max_listpack_value = p.get_i64("zset-max-listpack-value").max(0) as usize;
    l.proto_max_bulk_len = p.proto_max_bulk_len.load(Ordering::Relaxed);
    l.hll_sparse_max_bytes = p.get_i64("hll-sparse-max-bytes").max(0) as usize;
    l.stream_node.max_bytes = p.get_i64("stream-node-max-bytes").max(0) as usize;
    l.stream_node.max_entries = p.get_i64("stream-node-max-entries").max(0) as u64;
    ks.set_notify(p.notify_keyspace_events.load(Ordering::Relaxed));
}

/// Publishes a shard's figures (keys and keys with a TTL per database, hits, misses, expired keys)
/// into its owner's statistics; whoever holds the shard calls it after running commands on it, so
/// that a client that sees a reply sees its effect in INFO. O(databases).
pub(super) fn publish_shard(ks: &Keyspace, s: &crate::shared::WorkerStats) {
    for (db, (keys, expires)) in ks.dbs.iter().zip(&s.keys) {
        keys.store(db.len() as u64, Ordering::Relaxed);
        expires.store(db.expires() as u64, Ordering::Relaxed);
    }
    s.keyspace_hits
        .store(ks.stats.keyspace_hits, Ordering::Relaxed);
    s.keyspace_misses
        .store(ks.stats.keyspace_misses, Ordering::Relaxed);
    s.expired_keys.store(ks.expired_keys(), Ordering::Relaxed);
    s.evicted_keys.store(ks.evict.evicted, Ordering::Relaxed);
    s.evictable.store(ks.evictable(), Ordering::Relaxed);
    s.dirty.store(ks.stats.dirty, Ordering::Relaxed);
}
