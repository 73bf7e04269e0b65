//! One database of one shard, and the shard's set of databases ([`Keyspace`]).
//!
//! Expiry lives here: a key past its deadline is deleted when it is touched (lazy), and
//! [`Db::active_expire`] deletes unseen ones a bounded slice at a time (active), so no pause grows with
//! the keyspace.

use super::encoding::EncodingLimits;
use super::table::{Entry, Table};
use super::value::Value;

/// A database: the key table plus the count of keys carrying a TTL (INFO keyspace's `expires`).
#[derive(Default)]
pub struct Db {
    /// The keys and their entries.
    pub table: Table,
    expires: usize,
    expire_cursor: usize,
}

#[inline]
fn is_expired(e: &Entry, now: u64) -> bool {
    e.expire_at != 0 && e.expire_at <= now
}

impl Db {
    /// Number of keys (including ones expired but not yet reclaimed). O(1).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the database holds no key. O(1).
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Number of keys with a TTL. O(1).
    pub fn expires(&self) -> usize {
        self.expires
    }

    /// The live entry for `key`, deleting it first if it has expired. O(1).
    #[inline]
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let h = self.table.hash(key);
        let expired = is_expired(self.table.get_hashed(h, key)?, now);
        if expired {
            self.remove_entry(key);
            return None;
        }
        self.table.get_mut_hashed(h, key)
    }

    /// The live entry for `key` without reclaiming an expired one (read paths that hold `&self`). O(1).
    #[inline]
    pub fn peek(&self, key: &[u8], now: u64) -> Option<&Entry> {
        self.table.get(key).filter(|e| !is_expired(e, now))
    }

    /// Stores `value` under `key` with deadline `expire_at` (0: none), replacing any old entry, which is
    /// returned. O(1).
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: u64) -> Option<Entry> {
        if expire_at != 0 {
            self.expires += 1;
        }
        let old = self.table.insert(Entry {
            key: key.into(),
            value,
            expire_at,
        });
        if let Some(o) = &old {
            if o.expire_at != 0 {
                self.expires -= 1;
            }
        }
        old
    }

    /// Puts back a whole entry (RENAME, MOVE, SWAPDB-style transfers), replacing any old one. O(1).
    pub fn put(&mut self, entry: Entry) -> Option<Entry> {
        let (key, value, at) = (entry.key, entry.value, entry.expire_at);
        if at != 0 {
            self.expires += 1;
        }
        let old = self.table.insert(Entry {
            key,
            value,
            expire_at: at,
        });
        if let Some(o) = &old {
            if o.expire_at != 0 {
                self.expires -= 1;
            }
        }
        old
    }

    /// The live entry for `key`, created with `make()` and no TTL when absent (or expired). O(1).
    pub fn get_or_create(
        &mut self,
        key: &[u8],
        now: u64,
        make: impl FnOnce() -> Value,
    ) -> &mut Entry {
        if self.table.get(key).is_some_and(|e| is_expired(e, now)) {
            self.remove_entry(key);
        }
        self.table.get_or_insert_with(key, || Entry {
            key: key.into(),
            value: make(),
            expire_at: 0,
        })
    }

    /// Removes `key` if it is live; returns its entry. O(1).
    pub fn remove(&mut self, key: &[u8], now: u64) -> Option<Entry> {
        let e = self.remove_entry(key)?;
        if is_expired(&e, now) {
            None
        } else {
            Some(e)
        }
    }

    fn remove_entry(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.table.remove(key)?;
        if e.expire_at != 0 {
            self.expires -= 1;
        }
        Some(e)
    }

    /// Deletes `key` if its value is an empty collection (Redis never keeps empty collections). O(1).
    pub fn remove_if_empty(&mut self, key: &[u8]) {
        if self
            .table
            .get(key)
            .is_some_and(|e| e.value.is_empty_collection())
        {
            self.remove_entry(key);
        }
    }

    /// Sets or clears (`at == 0`) the deadline of a live key. Returns false when the key is absent. O(1).
    pub fn set_expire(&mut self, key: &[u8], at: u64, now: u64) -> bool {
        let Some(e) = self.get(key, now) else {
            return false;
        };
        let before = e.expire_at != 0;
        e.expire_at = at;
        match (before, at != 0) {
            (false, true) => self.expires += 1,
            (true, false) => self.expires -= 1,
            _ => {}
        }
        true
    }

    /// Removes every key. O(n).
    pub fn clear(&mut self) {
        self.table.clear();
        self.expires = 0;
        self.expire_cursor = 0;
    }

    /// Active expiry: examines whole segments, round robin, until about `budget` entries were looked at;
    /// deletes the expired ones and returns how many. O(budget + SEGMENT_MAX).
    pub fn active_expire(&mut self, now: u64, budget: usize) -> usize {
        if self.expires == 0 {
            return 0;
        }
        let (mut removed, mut examined) = (0, 0);
        let segments = self.table.segment_count();
        for _ in 0..segments {
            if examined >= budget {
                break;
            }
            self.expire_cursor = (self.expire_cursor + 1) % segments;
            let (r, e) = self
                .table
                .remove_where_in_segment(self.expire_cursor, |e| is_expired(e, now));
            removed += r;
            examined += e;
        }
        self.expires -= removed;
        removed
    }
}

/// Counters a shard keeps for INFO stats.
#[derive(Debug, Default, Clone, Copy)]
pub struct ShardStats {
    /// Read lookups that found their key (INFO's `keyspace_hits`).
    pub keyspace_hits: u64,
    /// Read lookups that did not (`keyspace_misses`).
    pub keyspace_misses: u64,
    /// Keys deleted because their TTL passed (`expired_keys`).
    pub expired_keys: u64,
}

/// All databases of one shard, with the shard's random source, encoding limits and counters.
pub struct Keyspace {
    /// The databases, by SELECT index.
    pub dbs: Vec<Db>,
    /// The encoding thresholds in force (CONFIG SET changes them).
    pub limits: EncodingLimits,
    /// maxmemory-policy is an LFU one (OBJECT FREQ answers, OBJECT IDLETIME refuses).
    pub lfu_policy: bool,
    /// This shard's INFO counters, which its worker publishes.
    pub stats: ShardStats,
    rng: u64,
}

impl Keyspace {
    /// `databases` empty databases.
    pub fn new(databases: usize, seed: u64) -> Self {
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            limits: EncodingLimits::default(),
            lfu_policy: false,
            stats: ShardStats::default(),
            rng: seed | 1,
        }
    }

    /// A pseudo-random number (wyrand): SPOP, SRANDMEMBER, RANDOMKEY. Not for cryptography.
    pub fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0xa076_1d64_78bd_642f);
        let t = (self.rng as u128).wrapping_mul((self.rng ^ 0xe703_7ed1_a0b4_28db) as u128);
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// Active expiry over every database with a total budget of examined entries; returns keys removed.
    pub fn active_expire(&mut self, now: u64, budget: usize) -> usize {
        let mut removed = 0;
        for db in &mut self.dbs {
            removed += db.active_expire(now, budget);
        }
        self.stats.expired_keys += removed as u64;
        removed
    }
}
