//! maxmemory eviction from one shard: Redis's approximated LRU and LFU (sampling plus a pool of
//! the best candidates seen), random and nearest-deadline policies.
//!
//! The worker decides how many bytes a shard must give back (its share of what the process holds
//! over the limit) and measures what each deletion freed; the shard picks the keys. Each pick
//! samples `maxmemory-samples` keys of every database that has candidates, merges them into a
//! pool of 16 kept sorted by score (idle time, 255 minus the LFU counter, or the nearness of the
//! deadline), and deletes the best candidate still present, as Redis's evictionPoolPopulate and
//! performEvictions do. A volatile policy takes only keys with a TTL.

use super::access::idle_ms;
use super::db::Keyspace;
use super::notify;

/// Redis's EVPOOL_SIZE.
pub const POOL_SIZE: usize = 16;

/// maxmemory-policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Policy {
    /// Refuse writes over the limit.
    #[default]
    NoEviction,
    /// Least recently used among all keys.
    AllkeysLru,
    /// Least frequently used among all keys.
    AllkeysLfu,
    /// Any key.
    AllkeysRandom,
    /// Least recently used among keys with a TTL.
    VolatileLru,
    /// Least frequently used among keys with a TTL.
    VolatileLfu,
    /// Any key with a TTL.
    VolatileRandom,
    /// The key with the nearest deadline.
    VolatileTtl,
}

impl Policy {
    /// The policy named `s` (a validated maxmemory-policy value); noeviction otherwise.
    pub fn parse(s: &str) -> Policy {
        match s {
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }

    /// Takes only keys with a TTL.
    pub fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    /// Counts accesses (the access field is an LFU counter).
    pub fn lfu(self) -> bool {
        matches!(self, Policy::AllkeysLfu | Policy::VolatileLfu)
    }

    /// Evicts by LRU or LFU: Redis then stops sharing small integers between keys.
    pub fn tracks_access(self) -> bool {
        matches!(
            self,
            Policy::AllkeysLru | Policy::AllkeysLfu | Policy::VolatileLru | Policy::VolatileLfu
        )
    }
}

/// A key seen by sampling, with its score (higher: evicted first).
#[derive(Debug)]
struct Candidate {
    score: u64,
    db: usize,
    key: Box<[u8]>,
}

/// A shard's eviction state: the policy in force, the pool, the count of keys evicted.
#[derive(Debug, Default)]
pub struct Evictor {
    /// maxmemory-policy.
    pub policy: Policy,
    /// maxmemory-samples.
    pub samples: usize,
    /// Keys evicted from this shard (INFO's `evicted_keys`).
    pub evicted: u64,
    /// Candidates, ascending by score (the best last).
    pool: Vec<Candidate>,
    /// Where the random policies start looking (Redis's static next_db).
    next_db: usize,
}

/// What one eviction pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evicted {
    /// Bytes freed, as measured by the caller's gauge.
    pub freed: i64,
    /// Keys deleted.
    pub keys: u64,
    /// The shard has no key the policy may take.
    pub exhausted: bool,
}

impl Evictor {
    /// Adds a sampled key to the pool if it beats the worst one there or the pool has room.
    fn offer(&mut self, score: u64, db: usize, key: &[u8]) {
        if self.pool.len() >= POOL_SIZE && self.pool.first().is_some_and(|c| c.score >= score) {
            return;
        }
        if self.pool.iter().any(|c| c.db == db && &*c.key == key) {
            return;
        }
        let at = self.pool.partition_point(|c| c.score < score);
        self.pool.insert(
            at,
            Candidate {
                score,
                db,
                key: key.into(),
            },
        );
        if self.pool.len() > POOL_SIZE {
            self.pool.remove(0);
        }
    }

    /// Forgets every candidate (after a flush or a change of policy).
    pub fn clear_pool(&mut self) {
        self.pool.clear();
    }
}

impl Keyspace {
    /// How many keys of this shard the policy in force may evict. O(databases).
    pub fn evictable(&self) -> u64 {
        match self.evict.policy {
            Policy::NoEviction => 0,
            p if p.volatile() => self.dbs.iter().map(|d| d.expires() as u64).sum(),
            _ => self.dbs.iter().map(|d| d.len() as u64).sum(),
        }
    }

    /// Deletes keys the policy picks until `to_free` bytes were freed (as `gauge`, the caller's
    /// allocated-bytes counter, measures), no key is left to take, or `budget_us` microseconds
    /// passed (checked every 16 keys; 0: no limit). Each key evicted raises `evicted`, breaks
    /// WATCHes and invalidates client-side caches. O(keys evicted x (samples x databases)).
    pub fn evict(
        &mut self,
        to_free: i64,
        now: u64,
        budget_us: u64,
        gauge: &dyn Fn() -> i64,
    ) -> Evicted {
        let mut out = Evicted::default();
        if self.evict.policy == Policy::NoEviction {
            out.exhausted = true;
            return out;
        }
        let started = std::time::Instant::now();
        let writer = std::mem::take(&mut self.writer);
        while out.freed < to_free {
            let Some((db, key)) = self.pick(now) else {
                out.exhausted = true;
                break;
            };
            let before = gauge();
            let gone = self.dbs[db].evict_key(&key);
            let found = gone.is_some();
            drop(gone);
            out.freed += before - gauge();
            if !found {
                continue;
            }
            out.keys += 1;
            self.evict.evicted += 1;
            self.watches.touch(db, &key);
            self.changed(&key);
            self.note(db, notify::EVICTED, "evicted", &key);
            if budget_us != 0
                && out.keys.is_multiple_of(16)
                && started.elapsed().as_micros() as u64 >= budget_us
            {
                break;
            }
        }
        self.writer = writer;
        out
    }

    /// The next key to evict, by the policy in force; None when no key may be taken.
    fn pick(&mut self, now: u64) -> Option<(usize, Box<[u8]>)> {
        let policy = self.evict.policy;
        let volatile = policy.volatile();
        let has = |d: &super::Db| {
            if volatile {
                d.expires() > 0
            } else {
                !d.is_empty()
            }
        };
        if matches!(policy, Policy::AllkeysRandom | Policy::VolatileRandom) {
            let n = self.dbs.len();
            for i in 0..n {
                let db = (self.evict.next_db + i) % n;
                if !has(&self.dbs[db]) {
                    continue;
                }
                let rnd = self.random();
                let mut found = None;
                if volatile {
                    self.dbs[db].table.sample(rnd, 1, 4096, |e| {
                        if e.has_ttl() {
                            found = Some(e.key.as_bytes().into());
                            true
                        } else {
                            false
                        }
                    });
                } else {
                    found = self.dbs[db]
                        .table
                        .random_entry(rnd)
                        .map(|e| e.key.as_bytes().into());
                }
                if let Some(k) = found {
                    self.evict.next_db = db + 1;
                    return Some((db, k));
                }
            }
            return None;
        }
        // Sampling into the pool, then the best candidate still there (it may have been
        // deleted, or lost its TTL, since it was sampled).
        for _round in 0..16 {
            let mut any = false;
            let samples = self.evict.samples.max(1);
            for db in 0..self.dbs.len() {
                if !has(&self.dbs[db]) {
                    continue;
                }
                any = true;
                let rnd = self.random();
                let access = self.dbs[db].access;
                let mut seen: Vec<(u64, Box<[u8]>)> = Vec::with_capacity(samples);
                self.dbs[db].table.sample(rnd, samples, samples * 64, |e| {
                    if volatile && !e.has_ttl() {
                        return false;
                    }
                    seen.push((score_of(policy, &access, e, now), e.key.as_bytes().into()));
                    true
                });
                for (score, key) in seen {
                    self.evict.offer(score, db, &key);
                }
            }
            if !any {
                return None;
            }
            while let Some(c) = self.evict.pool.pop() {
                let access = self.dbs[c.db].access;
                let Some(e) = self.dbs[c.db].table.get(&c.key) else {
                    continue;
                };
                if volatile && !e.has_ttl() {
                    continue;
                }
                // A key read since it was sampled has a lower score now: it goes back into
                // the pool at its place when another candidate beats it (Redis evicts on the
                // score seen at sampling time).
                let score = score_of(policy, &access, e, now);
                if self
                    .evict
                    .pool
                    .last()
                    .is_some_and(|next| next.score > score)
                {
                    self.evict.offer(score, c.db, &c.key);
                    continue;
                }
                return Some((c.db, c.key));
            }
        }
        None
    }
}

/// The eviction score of `e` under `policy` at `now` (higher: evicted first): idle
/// milliseconds, 255 minus the LFU counter, or how near the deadline is. O(1).
#[inline]
fn score_of(policy: Policy, access: &super::access::Access, e: &super::Entry, now: u64) -> u64 {
    match policy {
        Policy::VolatileTtl => u64::MAX - e.expire_at(),
        _ if !e.tracks_access() => 0,
        p if p.lfu() => 255 - access.counter(e.access(), now),
        _ => idle_ms(e.access(), now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StrValue, Value};

    fn shard(policy: Policy) -> Keyspace {
        let mut ks = Keyspace::new(2, 3);
        ks.evict.policy = policy;
        ks.evict.samples = 5;
        ks
    }

    fn fill(ks: &mut Keyspace, n: usize, ttl_every: usize) {
        for i in 0..n {
            let at = if ttl_every != 0 && i % ttl_every == 0 {
                crate::store::access::clock_ms() + 1_000_000 + i as u64
            } else {
                0
            };
            ks.dbs[i % 2].set(
                format!("k{i}").as_bytes(),
                Value::Str(StrValue::from_bytes(b"value")),
                at,
            );
        }
    }

    /// Evicts up to `n` keys: the gauge drops by one between the two reads around a deletion.
    fn evict_n(ks: &mut Keyspace, n: i64, now: u64) -> Evicted {
        let c = std::cell::Cell::new(0i64);
        let gauge = || {
            c.set(c.get() - 1);
            c.get()
        };
        ks.evict(n, now, 0, &gauge)
    }

    #[test]
    fn volatile_policies_take_only_keys_with_a_ttl() {
        for p in [
            Policy::VolatileLru,
            Policy::VolatileLfu,
            Policy::VolatileRandom,
            Policy::VolatileTtl,
        ] {
            let mut ks = shard(p);
            fill(&mut ks, 1000, 10);
            let before: usize = ks.dbs.iter().map(|d| d.expires()).sum();
            assert_eq!(before, 100);
            let now = crate::store::access::clock_ms();
            let r = evict_n(&mut ks, 1000, now);
            assert!(r.exhausted);
            let total = r.keys;
            assert_eq!(total, 100, "{p:?}");
            assert!(ks.dbs.iter().all(|d| d.expires() == 0));
            let left: usize = ks.dbs.iter().map(|d| d.len()).sum();
            assert_eq!(left, 900, "{p:?} took a key without a TTL");
            assert_eq!(ks.evictable(), 0);
        }
    }

    #[test]
    fn volatile_ttl_takes_the_nearest_deadlines_first() {
        let mut ks = shard(Policy::VolatileTtl);
        let now = crate::store::access::clock_ms();
        for i in 0..200u64 {
            ks.dbs[0].set(
                format!("k{i}").as_bytes(),
                Value::Str(StrValue::Int(1)),
                now + 10_000 + i * 1000,
            );
        }
        ks.evict.samples = 64;
        for _ in 0..20 {
            evict_n(&mut ks, 1, now);
        }
        // With 64 samples out of 200, what goes first has near deadlines.
        let gone: Vec<u64> = (0..200u64)
            .filter(|i| ks.dbs[0].table.get(format!("k{i}").as_bytes()).is_none())
            .collect();
        assert_eq!(gone.len(), 20);
        let mean = gone.iter().sum::<u64>() / 20;
        assert!(mean < 60, "evicted {gone:?}");
    }

    #[test]
    fn noeviction_takes_nothing_and_lru_prefers_idle_keys() {
        let mut ks = shard(Policy::NoEviction);
        fill(&mut ks, 100, 0);
        let r = ks.evict(1000, 0, 0, &|| 0);
        assert!(r.exhausted && r.keys == 0);
        let mut ks = shard(Policy::AllkeysLru);
        let now = crate::store::access::clock_ms();
        fill(&mut ks, 1000, 0);
        // Half the keys read "now + 100 s", the others keep their creation time.
        for i in (0..1000).step_by(2) {
            ks.dbs[i % 2].get(format!("k{i}").as_bytes(), now + 100_000);
        }
        for _ in 0..300 {
            evict_n(&mut ks, 1, now + 100_000);
        }
        let hot_gone = (0..1000)
            .step_by(2)
            .filter(|i| {
                ks.dbs[i % 2]
                    .table
                    .get(format!("k{i}").as_bytes())
                    .is_none()
            })
            .count();
        assert!(hot_gone < 15, "{hot_gone} recently read keys evicted");
        assert_eq!(ks.evict.evicted, 300);
    }
}
