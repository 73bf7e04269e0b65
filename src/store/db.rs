//! One database of one shard, and the shard's set of databases ([`Keyspace`]).
//!
//! Expiry lives here: a key past its deadline is deleted when it is touched (lazy), and
//! [`Db::active_expire`] deletes unseen ones a bounded slice at a time (active), so no pause grows with
//! the keyspace.

use super::encoding::EncodingLimits;
use super::table::{Entry, Table};
use super::value::{Kind, Value, WrongType};

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

    /// The typed lookup: the live value at `key` as a `T`, Ok(None) when the key is absent (an expired
    /// key is deleted first), Err([`WrongType`]) when it holds another type. It counts nothing: a
    /// command's read lookups go through [`Keyspace::read`], which counts them. O(1), the cost of
    /// [`Db::get`].
    #[inline]
    pub fn get_as<T: Kind>(&mut self, key: &[u8], now: u64) -> Result<Option<&mut T>, WrongType> {
        match self.get(key, now) {
            None => Ok(None),
            Some(e) => T::of_mut(&mut e.value).map(Some).ok_or(WrongType),
        }
    }

    /// [`Db::get_as`] without reclaiming an expired key, for a command that holds several values at
    /// once (SINTER and friends). O(1).
    #[inline]
    pub fn peek_as<T: Kind>(&self, key: &[u8], now: u64) -> Result<Option<&T>, WrongType> {
        match self.peek(key, now) {
            None => Ok(None),
            Some(e) => T::of(&e.value).map(Some).ok_or(WrongType),
        }
    }

    /// The live value at `key` as a `T`, created with `make()` (which must build a `T`) and no TTL
    /// when absent; Err([`WrongType`]) when the key holds another type. One lookup. O(1).
    pub fn get_or_create_as<T: Kind>(
        &mut self,
        key: &[u8],
        now: u64,
        make: impl FnOnce() -> Value,
    ) -> Result<&mut T, WrongType> {
        T::of_mut(&mut self.get_or_create(key, now, make).value).ok_or(WrongType)
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
///
/// Keyspace hits and misses are counted where Redis counts them (its `lookupKeyRead`): once for every
/// key a command looks up in order to read it, a hit when the key exists (whatever its type, so a
/// WRONGTYPE reply is a hit), a miss otherwise. Lookups made in order to write (Redis's
/// `lookupKeyWrite`) count nothing. [`Keyspace::read`] and [`Keyspace::read_any`] count; so does a
/// command that peeks at several keys through [`Keyspace::reader`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ShardStats {
    /// Read lookups that found their key (INFO's `keyspace_hits`).
    pub keyspace_hits: u64,
    /// Read lookups that did not (`keyspace_misses`).
    pub keyspace_misses: u64,
    /// Keys deleted because their TTL passed (`expired_keys`).
    pub expired_keys: u64,
}

impl ShardStats {
    /// Counts one read lookup: a keyspace hit when the key was `found`, a miss otherwise. O(1).
    #[inline]
    pub fn lookup(&mut self, found: bool) {
        if found {
            self.keyspace_hits += 1;
        } else {
            self.keyspace_misses += 1;
        }
    }

    /// Adds the counters of `other`: those of a temporary shard a command ran on (the copies a
    /// command whose keys span workers runs on) belong to the shard that ran it. O(1).
    pub fn add(&mut self, other: &ShardStats) {
        self.keyspace_hits += other.keyspace_hits;
        self.keyspace_misses += other.keyspace_misses;
        self.expired_keys += other.expired_keys;
    }
}

/// All databases of one shard, with the shard's random source, encoding limits and counters.
pub struct Keyspace {
    /// The databases, by SELECT index.
    pub dbs: Vec<Db>,
    /// The encoding thresholds in force (CONFIG SET changes them).
    pub limits: EncodingLimits,
    /// maxmemory-policy is an LFU one (OBJECT FREQ answers, OBJECT IDLETIME refuses).
    pub lfu_policy: bool,
    /// The parameters epoch `limits` and `lfu_policy` were read at (u64::MAX: never).
    pub params_epoch: u64,
    /// This shard's INFO counters, which its worker publishes.
    pub stats: ShardStats,
    /// The keys of this shard that clients WATCH.
    pub watches: super::Watches,
    /// The clients blocked on keys of this shard (BLPOP...).
    pub blocked: super::Blocked,
    rng: u64,
}

impl Keyspace {
    /// `databases` empty databases.
    pub fn new(databases: usize, seed: u64) -> Self {
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            limits: EncodingLimits::default(),
            lfu_policy: false,
            params_epoch: u64::MAX,
            stats: ShardStats::default(),
            watches: super::Watches::default(),
            blocked: super::Blocked::default(),
            rng: seed | 1,
        }
    }

    /// Marks the watchers of the keys of `db` that hold a live value (FLUSHDB, FLUSHALL, SWAPDB:
    /// a key that did not exist is not changed by emptying its database). O(watched keys).
    pub fn touch_live_watched(&mut self, db: usize, now: u64) {
        if self.watches.is_empty() {
            return;
        }
        let d = &self.dbs[db];
        self.watches.touch_where(db, |k| d.peek(k, now).is_some());
    }

    /// A read lookup (Redis's `lookupKeyRead`): the typed lookup [`Db::get_as`] in database `db`,
    /// counted as a keyspace hit when the key exists, whatever its type, and a miss otherwise. O(1).
    #[inline]
    pub fn read<T: Kind>(
        &mut self,
        db: usize,
        key: &[u8],
        now: u64,
    ) -> Result<Option<&T>, WrongType> {
        let found = self.dbs[db].get(key, now);
        self.stats.lookup(found.is_some());
        match found {
            None => Ok(None),
            Some(e) => T::of(&e.value).map(Some).ok_or(WrongType),
        }
    }

    /// A read lookup of a key of any type (TYPE, TTL, EXISTS, OBJECT, MGET), counted as
    /// [`Keyspace::read`] counts. O(1).
    #[inline]
    pub fn read_any(&mut self, db: usize, key: &[u8], now: u64) -> Option<&Entry> {
        let found = self.dbs[db].get(key, now);
        self.stats.lookup(found.is_some());
        found.map(|e| &*e)
    }

    /// A write lookup (Redis's `lookupKeyWrite`): the typed lookup [`Db::get_as`], counting nothing.
    /// O(1).
    #[inline]
    pub fn write<T: Kind>(
        &mut self,
        db: usize,
        key: &[u8],
        now: u64,
    ) -> Result<Option<&mut T>, WrongType> {
        self.dbs[db].get_as(key, now)
    }

    /// Database `db` to peek into and the counters to count each read lookup in, for a command that
    /// reads several values at once (SINTER, LCS, COPY's source: [`Db::peek_as`], then
    /// [`ShardStats::lookup`]). O(1).
    #[inline]
    pub fn reader(&mut self, db: usize) -> (&Db, &mut ShardStats) {
        (&self.dbs[db], &mut self.stats)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{HashValue, StrValue};

    fn shard() -> Keyspace {
        let mut ks = Keyspace::new(1, 7);
        let db = &mut ks.dbs[0];
        db.set(b"s", Value::Str(StrValue::from_bytes(b"v")), 0);
        db.set(b"h", Value::Hash(Box::default()), 0);
        db.set(b"old", Value::Str(StrValue::from_bytes(b"v")), 5);
        ks
    }

    #[test]
    fn read_lookups_count_hits_and_misses_whatever_the_type() {
        let mut ks = shard();
        assert!(ks.read::<StrValue>(0, b"s", 10).is_ok_and(|s| s.is_some()));
        assert_eq!(ks.read::<HashValue>(0, b"s", 10).err(), Some(WrongType));
        assert!(ks
            .read::<StrValue>(0, b"nope", 10)
            .is_ok_and(|s| s.is_none()));
        assert!(ks
            .read::<StrValue>(0, b"old", 10)
            .is_ok_and(|s| s.is_none()));
        assert!(ks.read_any(0, b"h", 10).is_some());
        assert_eq!((ks.stats.keyspace_hits, ks.stats.keyspace_misses), (3, 2));
        assert_eq!(ks.dbs[0].len(), 2, "the expired key was reclaimed");
    }

    #[test]
    fn write_lookups_count_nothing() {
        let mut ks = shard();
        assert!(ks
            .write::<HashValue>(0, b"h", 10)
            .is_ok_and(|h| h.is_some()));
        assert_eq!(ks.write::<HashValue>(0, b"s", 10).err(), Some(WrongType));
        assert!(ks
            .write::<HashValue>(0, b"nope", 10)
            .is_ok_and(|h| h.is_none()));
        let db = &mut ks.dbs[0];
        assert!(db
            .get_or_create_as::<HashValue>(b"new", 10, || Value::Hash(Box::default()))
            .is_ok());
        assert_eq!(
            db.get_or_create_as::<HashValue>(b"s", 10, || Value::Hash(Box::default()))
                .err(),
            Some(WrongType)
        );
        assert_eq!((ks.stats.keyspace_hits, ks.stats.keyspace_misses), (0, 0));
    }

    #[test]
    fn peeks_type_without_reclaiming() {
        let mut ks = shard();
        let (db, stats) = ks.reader(0);
        assert!(db
            .peek_as::<StrValue>(b"old", 10)
            .is_ok_and(|s| s.is_none()));
        assert_eq!(db.peek_as::<StrValue>(b"h", 10).err(), Some(WrongType));
        stats.lookup(false);
        assert_eq!(ks.dbs[0].len(), 3, "peeking reclaims nothing");
        let mut other = ShardStats::default();
        other.lookup(true);
        ks.stats.add(&other);
        assert_eq!((ks.stats.keyspace_hits, ks.stats.keyspace_misses), (1, 1));
    }
}
