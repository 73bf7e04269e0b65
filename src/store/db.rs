//! One database of one shard, and the shard's set of databases ([`Keyspace`]).
//!
//! Expiry lives here: a key past its deadline is deleted when it is touched (lazy), and
//! [`Db::active_expire`] deletes unseen ones a bounded slice at a time (active), so no pause grows with
//! the keyspace.

use super::access::Access;
use super::encoding::EncodingLimits;
use super::notify::{self, Note};
use super::table::{Entry, Table};
use super::value::{Kind, Value, WrongType};

/// A database: the key table plus the count of keys carrying a TTL (INFO keyspace's `expires`).
#[derive(Default)]
pub struct Db {
    /// The keys and their entries.
    pub table: Table,
    expires: usize,
    expire_cursor: usize,
    /// Which of the events this database raises itself are recorded ([`notify::EXPIRED`] for a
    /// key whose TTL passed, [`notify::NEW`] for a key created, [`notify::KEY_MISS`] for a read
    /// that found nothing); the shard sets it from
    /// `notify-keyspace-events`.
    pub record: u32,
    /// Those events, oldest first, until the shard gathers them ([`Keyspace::note`]).
    pub raised: Vec<(u32, &'static str, Box<[u8]>)>,
    /// Keys deleted on access because their TTL passed, since the shard last counted them.
    lazily_expired: u64,
    /// While a CLIENT PAUSE lasts, a key past its deadline reads as absent but stays.
    keep_expired: bool,
    /// How an access updates an entry's access field (the policy's kind, the LFU parameters).
    pub access: Access,
    /// The random source of LFU increments.
    rng: u64,
}

#[inline]
fn is_expired(e: &Entry, now: u64) -> bool {
    e.has_ttl() && e.expire_at() <= now
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

    /// Keys deleted on access because their TTL passed (part of INFO's `expired_keys`). O(1).
    pub fn lazily_expired(&self) -> u64 {
        self.lazily_expired
    }

    /// The live entry for `key`, deleting it first if it has expired; an access (its LRU clock or
    /// LFU counter is updated). O(1).
    #[inline]
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let h = self.table.hash(key);
        let expired = is_expired(self.table.get_hashed(h, key)?, now);
        if expired {
            if !self.keep_expired {
                self.expire_now(key);
            }
            return None;
        }
        let rnd = self.next_random();
        let access = self.access;
        let e = self.table.get_mut_hashed(h, key)?;
        e.set_access(access.touched(e.access(), now, rnd));
        Some(e)
    }

    /// [`Db::get`] for a read (Redis's lookupKeyRead): a key that is absent, or expired, is also
    /// a `keymiss` event when that class is recorded. `touch`: the access updates the key's LRU
    /// clock or LFU counter (false: Redis's LOOKUP_NOTOUCH, for TYPE, TTL, EXISTS, OBJECT). O(1).
    #[inline]
    pub fn get_read(&mut self, key: &[u8], now: u64, touch: bool) -> Option<&mut Entry> {
        let h = self.table.hash(key);
        match self.table.get_hashed(h, key) {
            Some(e) if !is_expired(e, now) => {}
            found => {
                if found.is_some() && !self.keep_expired {
                    self.expire_now(key);
                }
                self.raise(notify::KEY_MISS, "keymiss", key);
                return None;
            }
        }
        let rnd = if touch { self.next_random() } else { 0 };
        let access = self.access;
        let e = self.table.get_mut_hashed(h, key)?;
        if touch {
            e.set_access(access.touched(e.access(), now, rnd));
        }
        Some(e)
    }

    /// The access field of a key created now (Redis's createObject), for an entry a command
    /// builds itself (COPY, RESTORE). O(1).
    #[inline]
    pub fn fresh_access(&self, now: u64) -> u64 {
        self.access.fresh(now)
    }

    #[inline]
    fn next_random(&mut self) -> u64 {
        if !self.access.lfu {
            return 0;
        }
        self.rng = self.rng.wrapping_add(0xa076_1d64_78bd_642f);
        let t = (self.rng as u128).wrapping_mul((self.rng ^ 0xe703_7ed1_a0b4_28db) as u128);
        ((t >> 64) as u64) ^ (t as u64)
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
    /// returned. The entry's access field is a new key's, or, under an LFU policy, the old key's
    /// counter after one access (Redis's dbOverwrite keeps it). O(1).
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: u64) -> Option<Entry> {
        let now = super::access::clock_ms();
        if expire_at != 0 {
            self.expires += 1;
        }
        let mut entry = Entry::new(key.into(), value, expire_at);
        entry.set_access(self.access.fresh(now));
        let access = self.access;
        let rnd = self.next_random();
        let h = self.table.hash(key);
        if let Some(e) = self.table.get_mut_hashed(h, key) {
            if access.lfu {
                entry.set_access(access.touched(e.access(), now, rnd));
            }
            let old = std::mem::replace(e, entry);
            if old.has_ttl() {
                self.expires -= 1;
            }
            return Some(old);
        }
        self.table.insert(entry);
        self.raise(notify::NEW, "new", key);
        None
    }

    /// Puts a whole entry (RENAME, MOVE, COPY), replacing any old one; a key that was not there is
    /// a new key. O(1).
    pub fn put(&mut self, entry: Entry) -> Option<Entry> {
        if self.record & notify::NEW != 0 && self.table.get(entry.key.as_bytes()).is_none() {
            self.raised
                .push((notify::NEW, "new", entry.key.as_bytes().into()));
        }
        self.restore(entry)
    }

    /// Puts back an entry that only moved between copies of this database (a step over keys of
    /// several workers runs on copies, then writes them back): replacing any old one, raising no
    /// event, since the command raised its own. O(1).
    pub fn restore(&mut self, entry: Entry) -> Option<Entry> {
        if entry.has_ttl() {
            self.expires += 1;
        }
        let old = self.table.insert(entry);
        if let Some(o) = &old {
            if o.has_ttl() {
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
        match self.table.get(key) {
            Some(e) if is_expired(e, now) => self.expire_now(key),
            Some(_) => {}
            None => {}
        }
        if self.record & notify::NEW != 0 && self.table.get(key).is_none() {
            self.raise(notify::NEW, "new", key);
        }
        let access = self.access.fresh(now);
        self.table.get_or_insert_with(key, || {
            let mut e = Entry::new(key.into(), make(), 0);
            e.set_access(access);
            e
        })
    }

    /// Removes `key` if it is live; returns its entry. O(1).
    pub fn remove(&mut self, key: &[u8], now: u64) -> Option<Entry> {
        let e = self.remove_entry(key)?;
        if is_expired(&e, now) {
            self.lazily_expired += 1;
            self.raise(notify::EXPIRED, "expired", key);
            None
        } else {
            Some(e)
        }
    }

    /// Deletes `key`, found past its deadline on access (lazy expiry). O(1).
    fn expire_now(&mut self, key: &[u8]) {
        self.remove_entry(key);
        self.lazily_expired += 1;
        self.raise(notify::EXPIRED, "expired", key);
    }

    /// Records event `event` of `class` on `key` when that class is recorded. O(1), and one test
    /// when it is not.
    #[inline]
    fn raise(&mut self, class: u32, event: &'static str, key: &[u8]) {
        if self.record & class != 0 {
            self.raised.push((class, event, key.into()));
        }
    }

    fn remove_entry(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.table.remove(key)?;
        if e.has_ttl() {
            self.expires -= 1;
        }
        Some(e)
    }

    /// Removes `key` for maxmemory (live or not: an evicted key is gone either way). O(1).
    pub fn evict_key(&mut self, key: &[u8]) -> Option<Entry> {
        self.remove_entry(key)
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
        let before = e.has_ttl();
        e.set_expire_at(at);
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
        if self.expires == 0 || self.keep_expired {
            return 0;
        }
        let (mut removed, mut examined) = (0, 0);
        let segments = self.table.segment_count();
        for _ in 0..segments {
            if examined >= budget {
                break;
            }
            self.expire_cursor = (self.expire_cursor + 1) % segments;
            let record = self.record & notify::EXPIRED != 0;
            let raised = &mut self.raised;
            let (r, e) = self.table.remove_where_in_segment(
                self.expire_cursor,
                |e| is_expired(e, now),
                |e| {
                    if record {
                        raised.push((notify::EXPIRED, "expired", e.key.as_bytes().into()));
                    }
                },
            );
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
    /// Write commands that changed something (INFO's `rdb_changes_since_last_save` counts from
    /// the sum over shards; save points compare it).
    pub dirty: u64,
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
        self.dirty += other.dirty;
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
    /// Small integers count as Redis's shared objects (no access field of their own: OBJECT
    /// REFCOUNT and FREQ say so): true unless maxmemory is set with an LRU or LFU policy.
    pub shared_integers: bool,
    /// maxmemory eviction: the policy, the pool of candidates, the count of evicted keys.
    pub evict: super::evict::Evictor,
    /// The parameters epoch `limits` and `lfu_policy` were read at (u64::MAX: never).
    pub params_epoch: u64,
    /// This shard's INFO counters, which its worker publishes.
    pub stats: ShardStats,
    /// The keys of this shard that clients WATCH.
    pub watches: super::Watches,
    /// The clients blocked on keys of this shard (BLPOP...).
    pub blocked: super::Blocked,
    /// The `notify-keyspace-events` classes in force ([`notify`]'s bits).
    notify: u32,
    /// Keyspace events raised by commands and expiry, oldest first, until the worker publishes
    /// them ([`Keyspace::take_notes`]).
    notes: Vec<Note>,
    /// Client-side caching: how many keys are tracked plus how many clients broadcast, server
    /// wide (attached by the worker); while it is above 0, changed keys are recorded.
    pub interest: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    /// Whether the databases record expiry for tracking (synced with `interest` before each
    /// command, [`Keyspace::sync_tracking`]).
    armed: bool,
    /// Keys changed (written, deleted, expired) while tracking is of interest, with the client
    /// that changed them (0: expiry), and whether every key was flushed.
    modified: Vec<(Box<[u8]>, u64)>,
    /// The client whose command runs on the shard now (the writer of `modified`).
    pub writer: u64,
    flushed: bool,
    rng: u64,
    /// Set by a blocking call that decided to wait: arguments to replace in its ticket before it
    /// waits (XREAD's `$` becomes the stream's last id at that moment), as (index, new bytes).
    pub block_args: Option<Vec<(usize, Vec<u8>)>>,
}

impl Keyspace {
    /// `databases` empty databases.
    pub fn new(databases: usize, seed: u64) -> Self {
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            limits: EncodingLimits::default(),
            lfu_policy: false,
            shared_integers: true,
            evict: Default::default(),
            params_epoch: u64::MAX,
            stats: ShardStats::default(),
            watches: super::Watches::default(),
            blocked: super::Blocked::default(),
            notify: 0,
            notes: Vec::new(),
            interest: None,
            armed: false,
            modified: Vec::new(),
            writer: 0,
            flushed: false,
            rng: seed | 1,
            block_args: None,
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

    /// Sets the `notify-keyspace-events` classes (from the parameter, or a shard's for its
    /// copies). O(databases).
    pub fn set_notify(&mut self, flags: u32) {
        self.notify = flags;
        self.set_record();
    }

    /// Sets what the databases record: the events notifications want, and expiry while
    /// tracking is armed. O(databases).
    fn set_record(&mut self) {
        let own = notify::EXPIRED | notify::NEW | notify::KEY_MISS;
        let mut record = if notify::wanted(self.notify, own) {
            self.notify & own
        } else {
            0
        };
        if self.armed {
            record |= notify::EXPIRED;
        }
        for db in &mut self.dbs {
            db.record = record;
        }
    }

    /// Whether expiry and changed keys are recorded for client-side caching.
    #[inline]
    pub fn armed(&self) -> bool {
        self.armed
    }

    /// Whether client-side caching wants changed keys now. One load.
    #[inline]
    pub fn tracks(&self) -> bool {
        self.interest
            .as_ref()
            .is_some_and(|i| i.load(std::sync::atomic::Ordering::Acquire) > 0)
    }

    /// Before a command runs: arms or disarms the recording of expired keys as tracking is
    /// wanted or not. One load when nothing changed.
    #[inline]
    pub fn sync_tracking(&mut self) {
        let t = self.tracks();
        if t != self.armed {
            self.armed = t;
            self.set_record();
        }
    }

    /// Records that `key` changed (by the current writer), while tracking wants it. O(1).
    #[inline]
    pub fn changed(&mut self, key: &[u8]) {
        if self.armed || self.tracks() {
            let w = self.writer;
            self.modified.push((key.into(), w));
        }
    }

    /// Records that every key was flushed (FLUSHDB, FLUSHALL), while tracking wants it.
    pub fn flushed_all(&mut self) {
        if self.tracks() {
            self.flushed = true;
        }
    }

    /// The keys changed since the last call (with their writers), moved into `out`, and whether
    /// everything was flushed. O(keys).
    pub fn take_changed(&mut self, out: &mut Vec<(Box<[u8]>, u64)>) -> bool {
        self.gather();
        out.clear();
        std::mem::swap(out, &mut self.modified);
        std::mem::take(&mut self.flushed)
    }

    /// While `hold` (a CLIENT PAUSE lasts), keys past their deadline read as absent but are not
    /// deleted, neither on access nor by active expiry, as Redis holds expiry during a pause.
    /// O(databases).
    pub fn hold_expiry(&mut self, hold: bool) {
        if self.dbs.first().is_some_and(|d| d.keep_expired != hold) {
            for db in &mut self.dbs {
                db.keep_expired = hold;
            }
        }
    }

    /// The `notify-keyspace-events` classes in force.
    pub fn notify_flags(&self) -> u32 {
        self.notify
    }

    /// Records keyspace event `event` of `class` (a [`notify`] bit) on `key` of database `db`, to
    /// be published once the command ends, after what the databases raised before it (a key
    /// created, or found expired, on the way). One test when the class is off. O(1).
    #[inline]
    pub fn note(&mut self, db: usize, class: u32, event: &'static str, key: &[u8]) {
        if notify::wanted(self.notify, class) {
            self.gather();
            self.notes.push(Note {
                db,
                event,
                key: key.into(),
            });
        }
    }

    /// Moves the databases' own events (expired, new, keymiss) into the notes, in order, and
    /// expired keys into the changed keys while tracking is armed. O(databases).
    fn gather(&mut self) {
        for (i, db) in self.dbs.iter_mut().enumerate() {
            for (class, event, key) in db.raised.drain(..) {
                if class == notify::EXPIRED && self.armed {
                    self.modified.push((key.clone(), 0));
                }
                if notify::wanted(self.notify, class) {
                    self.notes.push(Note { db: i, event, key });
                }
            }
        }
    }

    /// Whether events wait to be published or changed keys to be invalidated. O(1) when
    /// notifications and tracking are off.
    #[inline]
    pub fn has_notes(&self) -> bool {
        (self.notify != 0 || self.armed)
            && (!self.notes.is_empty()
                || !self.modified.is_empty()
                || self.flushed
                || self.dbs.iter().any(|d| !d.raised.is_empty()))
    }

    /// The events waiting, oldest first, moved into `out` (emptied first). O(events).
    pub fn take_notes(&mut self, out: &mut Vec<Note>) {
        self.gather();
        out.clear();
        std::mem::swap(out, &mut self.notes);
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
        let found = self.dbs[db].get_read(key, now, true);
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
        let found = self.dbs[db].get_read(key, now, true);
        self.stats.lookup(found.is_some());
        found.map(|e| &*e)
    }

    /// [`Keyspace::read_any`] that leaves the key's LRU clock or LFU counter as it is (Redis's
    /// LOOKUP_NOTOUCH: TYPE, TTL and its kin, EXISTS, OBJECT). O(1).
    #[inline]
    pub fn read_untouched(&mut self, db: usize, key: &[u8], now: u64) -> Option<&Entry> {
        let found = self.dbs[db].get_read(key, now, false);
        self.stats.lookup(found.is_some());
        found.map(|e| &*e)
    }

    /// Sets how accesses are recorded in every database (after a CONFIG SET). O(databases).
    pub fn set_access(&mut self, access: super::access::Access) {
        for db in &mut self.dbs {
            db.access = access;
        }
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

    /// Keys deleted because their TTL passed, found on access or by active expiry (INFO's
    /// `expired_keys`). O(databases).
    pub fn expired_keys(&self) -> u64 {
        self.stats.expired_keys + self.dbs.iter().map(Db::lazily_expired).sum::<u64>()
    }

    /// Starts a snapshot of every non-empty database as it is now (see
    /// [`crate::store::table::SnapshotSink`]): `sink(db)` makes the sink of database `db`.
    /// Returns how many sinks were made. O(databases).
    pub fn begin_snapshot(
        &mut self,
        mut sink: impl FnMut(usize) -> Box<dyn super::table::SnapshotSink>,
    ) -> usize {
        let mut made = 0;
        for (i, db) in self.dbs.iter_mut().enumerate() {
            if !db.is_empty() {
                db.table.begin_snapshot(sink(i));
                made += 1;
            }
        }
        made
    }

    /// Whether a snapshot still runs over one of the databases.
    pub fn snapshotting(&self) -> bool {
        self.dbs.iter().any(|d| d.table.snapshotting())
    }

    /// Moves the running snapshot on by about `budget` entries; true once it is complete (or
    /// none runs). O(budget + SEGMENT_CAP).
    pub fn snapshot_step(&mut self, budget: usize) -> bool {
        let mut left = budget;
        for db in &mut self.dbs {
            if db.table.snapshotting() {
                let before = left;
                if !db.table.snapshot_step(left) {
                    return false;
                }
                left = before.saturating_sub(db.len().max(1));
                if left == 0 {
                    return !self.snapshotting();
                }
            }
        }
        true
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
