//! maxmemory: keeping the process's allocated bytes under the limit by evicting keys, and
//! refusing `denyoom` commands when nothing is left to evict (Redis's performEvictions and the
//! maxmemory part of processCommand).
//!
//! The limit is process-wide: what the process holds is the sum of every worker's published
//! allocation counter plus this thread's live one. A shard runs eviction itself, just before a
//! command runs on it (on its owner, or on a worker that borrowed it) and in housekeeping; it
//! gives back its share of the excess, in proportion to how many of the process's evictable keys
//! it holds, so that the shards shrink together and no shard takes another's. A worker decides
//! a refusal where it checks ACLs: over the limit after its own shard's eviction, with no
//! evictable key left on any shard.

use super::*;
use crate::store::Keyspace;

/// Redis's refusal of a `denyoom` command over the limit.
pub(super) const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// The bytes the process holds now, as the limit sees them: the other workers' published
/// counters plus this thread's live one (published on the way). Without the counting allocator
/// (unit tests), the resident set.
fn used_now(shared: &Shared, me: usize) -> u64 {
    if crate::alloc::active() {
        shared.stats[me].used_memory.store(
            crate::alloc::thread_net_bytes() as i64 as u64,
            Ordering::Relaxed,
        );
    }
    shared.used_memory()
}

/// The time one eviction pass may take, in µs (Redis's evictionTimeLimitUs: 50 µs per step up to
/// tenacity 10, then 15% more per step; 100: no limit, here 0).
fn pass_budget_us(tenacity: i64) -> u64 {
    match tenacity {
        t if t <= 0 => 1,
        t if t <= 10 => 50 * t as u64,
        t if t < 100 => (500.0 * 1.15f64.powi(t as i32 - 10)) as u64,
        _ => 0,
    }
}

/// Whether the process is out of memory: over maxmemory with no key left that the policy may
/// evict on any shard (`ks`, this worker's own, counted now; the others as published). O(1)
/// under the limit (a load per worker).
fn out_of_memory(ks: &Keyspace, me: usize, shared: &Shared, now: u64) -> bool {
    let limit = shared.params.maxmemory.load(Ordering::Relaxed);
    if limit == 0 || !crate::alloc::active() || shared.pause.mode(now) != crate::pause::Mode::Off {
        return false;
    }
    if used_now(shared, me) <= limit {
        return false;
    }
    ks.evictable() == 0
        && shared
            .stats
            .iter()
            .enumerate()
            .all(|(w, s)| w == me || s.evictable.load(Ordering::Relaxed) == 0)
}

/// Evicts from shard `shard` (held by worker `me`, which runs the next command on it) its share
/// of what the process holds over maxmemory. Returns whether the process is out of memory:
/// over the limit with no key left that the policy may evict, on this shard or any other.
/// O(1) under the limit (a load per worker); O(keys evicted) over it.
pub(super) fn enforce(
    ks: &mut Keyspace,
    shard: usize,
    me: usize,
    shared: &Shared,
    now: u64,
) -> bool {
    let limit = shared.params.maxmemory.load(Ordering::Relaxed);
    // What a deletion frees is measured by the counting allocator; without it (a test binary
    // that did not install it) nothing is enforced.
    if limit == 0 || !crate::alloc::active() {
        return false;
    }
    // As Redis, nothing is evicted while clients are paused (the data set must not change).
    if shared.pause.mode(now) != crate::pause::Mode::Off {
        return false;
    }
    let used = used_now(shared, me);
    if used <= limit {
        return false;
    }
    let excess = (used - limit) as i64;
    let mine = ks.evictable();
    let others: u64 = shared
        .stats
        .iter()
        .enumerate()
        .filter(|&(w, _)| w != shard)
        .map(|(_, s)| s.evictable.load(Ordering::Relaxed))
        .sum();
    let st = &shared.stats[shard];
    if mine == 0 {
        st.evictable.store(0, Ordering::Relaxed);
        return others == 0;
    }
    let share = ((excess as i128 * mine as i128) / (mine + others) as i128).max(1) as i64;
    let budget = pass_budget_us(shared.params.get_i64("maxmemory-eviction-tenacity"));
    let gauge = || crate::alloc::thread_net_bytes() as i64;
    let started = crate::stats::ticks();
    let done = ks.evict(share, now, budget, &gauge);
    let ms = crate::stats::ticks_to_ns(crate::stats::ticks().saturating_sub(started)) / 1_000_000;
    let threshold = shared
        .params
        .latency_monitor_threshold
        .load(Ordering::Relaxed);
    if threshold != 0 && ms >= threshold {
        shared.info.latency_event("eviction-cycle", ms, now / 1000);
    }
    st.evicted_keys.store(ks.evict.evicted, Ordering::Relaxed);
    let left = ks.evictable();
    st.evictable.store(left, Ordering::Relaxed);
    if crate::alloc::active() {
        shared.stats[me].used_memory.store(
            crate::alloc::thread_net_bytes() as i64 as u64,
            Ordering::Relaxed,
        );
    }
    done.exhausted && others == 0 && (used as i64 - done.freed) as u64 > limit
}

impl Worker {
    /// Before a command of connection `k` is routed: answers -OOM (returning true) when the
    /// process is over maxmemory with nothing to evict and the command may grow memory: one flagged `denyoom`, an
    /// EXEC of a block holding one, or any command queued in MULTI but EXEC, DISCARD, QUIT and
    /// RESET (Redis's rule: queueing itself takes memory). A refused EXEC discards its block; a
    /// command refused while queueing makes EXEC fail. O(1) under the limit.
    pub(super) fn refused_for_memory(
        &mut self,
        k: usize,
        ci: usize,
        slot: usize,
        args: &Args,
    ) -> bool {
        self.script_oom = false;
        if self.shared.params.maxmemory.load(Ordering::Relaxed) == 0 || self.shardless {
            return false;
        }
        super::housekeeping::refresh_shard(&mut self.ks, &self.shared.params);
        let oom = out_of_memory(&self.ks, self.id, &self.shared, self.now);
        if !oom {
            return false;
        }
        let cmd = TABLE.get(ci);
        // A script or function that declared flags is refused at once unless it declared
        // no-writes or allow-oom (Redis's scriptFlagsToCmdFlags); one without a shebang is
        // refused at its first write instead (scriptVerifyOOM).
        let mut script_denies = false;
        if matches!(cmd.exec, Exec::Script) {
            use crate::script::store::flags;
            match super::script::script_flags(&self.shared.scripts, ci, args) {
                Some(f) if f & flags::COMPAT != 0 => self.script_oom = true,
                Some(f) => script_denies = f & (flags::NO_WRITES | flags::ALLOW_OOM) == 0,
                None => self.script_oom = true,
            }
        }
        let Some(conn) = self.conns.get(k) else {
            return false;
        };
        let is_exec = matches!(cmd.exec, Exec::Transaction);
        let denyoom = script_denies
            || SLOTS.flags(slot) & flag::DENYOOM != 0
            || cmd.flags & flag::DENYOOM != 0
            || (is_exec
                && conn.session.multi.as_ref().is_some_and(|m| {
                    m.iter()
                        .any(|(c, _)| TABLE.get(c).flags & flag::DENYOOM != 0)
                }));
        let queued = conn.session.multi.is_some()
            && !is_exec
            && !matches!(cmd.name, "discard" | "quit" | "reset");
        if !(denyoom || queued) {
            return false;
        }
        self.shared.stats[self.id].ext.cmds.reject(slot);
        self.refuse_acl(k, ci, OOM);
        true
    }

    /// Before running commands on shard `owner` (borrowed, or this worker's own for a batch from
    /// another worker): evicts that shard's share when over maxmemory. The refusal was decided
    /// where the command arrived. O(1) under the limit.
    pub(super) fn evict_on(&mut self, owner: usize) {
        if self.shared.params.maxmemory.load(Ordering::Relaxed) == 0 {
            return;
        }
        if owner == self.id {
            if self.shardless {
                return;
            }
            let evicted = self.ks.evict.evicted;
            enforce(&mut self.ks, owner, self.id, &self.shared, self.now);
            if self.ks.evict.evicted != evicted {
                self.publish_own_notes();
            }
        } else if self.held == Some(owner) {
            let shards = self.shards.clone();
            // SAFETY: held (`self.held` names it); the reference ends with this statement.
            let ks = unsafe { shards.held_mut(owner) };
            enforce(ks, owner, self.id, &self.shared, self.now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenacity_budget_follows_redis() {
        assert_eq!(pass_budget_us(10), 500);
        assert_eq!(pass_budget_us(1), 50);
        assert_eq!(pass_budget_us(100), 0);
        assert!(pass_budget_us(99) > 60_000_000);
    }
}
