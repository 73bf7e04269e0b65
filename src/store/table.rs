//! The keyspace table of one database of one shard: an extendible hash of bounded segments.
//!
//! A directory of `2^depth` slots points at segments; the low `depth` bits of a key's hash pick the
//! slot. A segment is a small open-addressing table (linear probing, one tag byte per slot, backward
//! shift deletion) of at most [`SEGMENT_CAP`] slots: when it is full it splits in two on its next hash
//! bit, and the directory doubles if needed. So growing never rehashes the whole table: the longest
//! pause is one segment's split, whatever the size of the keyspace (Redis rehashes incrementally;
//! Dragonfly's Dashtable grows by segments, as here).
//!
//! Because the slot of a key is computable without touching memory, a batch of commands can
//! [`Table::prefetch`] every key's slot before executing any, so their cache misses overlap.
//!
//! The directory slots are also SCAN's buckets: the cursor walks them in reverse-binary order, which,
//! as in Redis's `dictScan`, returns every key present for the whole scan even if the table grows.

use ahash::RandomState;

/// The key hasher of every table in the process: seeded at random once per process (against hash
/// flooding: a client cannot choose keys that collide), shared so one key hashes alike on every
/// worker.
static PROCESS_HASHER: std::sync::LazyLock<RandomState> =
    std::sync::LazyLock::new(RandomState::new);

use super::key::Key;
use super::value::Value;

/// Slots of the largest segment; a segment splits instead of growing beyond it. Bounds the cost of a
/// split, of a SCAN step and of an active-expiry step.
pub const SEGMENT_CAP: usize = 4096;
/// A segment grows (or splits) when it is more than 3/4 full.
const fn full(len: usize, cap: usize) -> bool {
    len * 4 >= cap * 3
}
/// Tag of an empty slot; occupied slots have the top bit set.
const EMPTY: u8 = 0;

/// One key and its value, with its deadline and its access field (LRU clock or LFU counter)
/// packed in one word: see [`super::access`] for the layout and the accessors
/// (`expire_at`, `set_expire_at`, `access`).
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key.
    pub key: Key,
    /// Its value.
    pub value: Value,
    /// Deadline and access field ([`super::access`]).
    pub(super) meta: u64,
}

#[inline]
fn tag_of(h: u64) -> u8 {
    ((h >> 57) as u8) | 0x80
}

/// The home slot of hash `h` in a segment of `cap` slots: the high half of the hash scaled to the
/// capacity (multiply-shift), so capacities need not be powers of two and segments can be sized to
/// their load instead of doubling.
#[inline]
fn home_of(h: u64, cap: usize) -> usize {
    (((h >> 32) * cap as u64) >> 32) as usize
}

/// The slot after `pos` in a segment of `cap` slots (linear probing wraps around).
#[inline]
fn next_slot(pos: usize, cap: usize) -> usize {
    if pos + 1 == cap {
        0
    } else {
        pos + 1
    }
}

/// An open-addressing table of at most SEGMENT_CAP slots.
struct Segment {
    depth: u32,
    /// The snapshot epoch this segment's entries were last handed to a snapshot at: the segment
    /// is still to be saved while a snapshot of a later epoch runs ([`Table::begin_snapshot`]).
    saved: u32,
    len: usize,
    tags: Vec<u8>,
    slots: Vec<Option<Entry>>,
}

impl Segment {
    fn new(depth: u32) -> Self {
        Segment {
            depth,
            saved: 0,
            len: 0,
            tags: Vec::new(),
            slots: Vec::new(),
        }
    }

    fn with_capacity(depth: u32, cap: usize) -> Self {
        Segment {
            depth,
            saved: 0,
            len: 0,
            tags: vec![EMPTY; cap],
            slots: (0..cap).map(|_| None).collect(),
        }
    }

    #[inline]
    fn cap(&self) -> usize {
        self.tags.len()
    }

    /// The slot holding `key`. O(1) expected.
    #[inline]
    fn find(&self, h: u64, key: &[u8]) -> Option<usize> {
        if self.tags.is_empty() {
            return None;
        }
        let (cap, tag) = (self.cap(), tag_of(h));
        let mut pos = home_of(h, cap);
        loop {
            let t = self.tags[pos];
            if t == EMPTY {
                return None;
            }
            if t == tag {
                if let Some(e) = &self.slots[pos] {
                    if e.key.as_bytes() == key {
                        return Some(pos);
                    }
                }
            }
            pos = next_slot(pos, cap);
        }
    }

    /// Asks the CPU to start loading the cache lines a lookup of hash `h` will touch first.
    #[inline]
    fn prefetch(&self, h: u64) {
        if self.tags.is_empty() {
            return;
        }
        let pos = home_of(h, self.cap());
        prefetch_read(&self.tags[pos] as *const u8);
        prefetch_read(&self.slots[pos] as *const Option<Entry> as *const u8);
    }

    /// Places an entry known to be absent, assuming room. O(1) expected.
    fn place(&mut self, h: u64, entry: Entry) -> usize {
        let cap = self.cap();
        let mut pos = home_of(h, cap);
        while self.tags[pos] != EMPTY {
            pos = next_slot(pos, cap);
        }
        self.tags[pos] = tag_of(h);
        self.slots[pos] = Some(entry);
        self.len += 1;
        pos
    }

    /// Rebuilds with `cap` slots. O(cap).
    fn resize(&mut self, cap: usize, hasher: &RandomState) {
        let old = std::mem::replace(self, Segment::with_capacity(self.depth, cap));
        self.saved = old.saved;
        for e in old.slots.into_iter().flatten() {
            let h = hasher.hash_one(e.key.as_bytes());
            self.place(h, e);
        }
    }

    /// Removes the entry at `pos`, shifting later entries of the probe run back. O(1) expected.
    fn remove_at(&mut self, pos: usize, hasher: &RandomState) -> Option<Entry> {
        let out = self.slots[pos].take()?;
        self.tags[pos] = EMPTY;
        self.len -= 1;
        let cap = self.cap();
        let dist = |from: usize, to: usize| {
            if to >= from {
                to - from
            } else {
                to + cap - from
            }
        };
        let mut hole = pos;
        let mut j = pos;
        loop {
            j = next_slot(j, cap);
            if self.tags[j] == EMPTY {
                break;
            }
            let Some(e) = &self.slots[j] else { break };
            let home = home_of(hasher.hash_one(e.key.as_bytes()), cap);
            // Move j into the hole unless its home lies cyclically in (hole, j].
            if dist(home, j) >= dist(hole, j) {
                self.slots[hole] = self.slots[j].take();
                self.tags[hole] = self.tags[j];
                self.tags[j] = EMPTY;
                hole = j;
            }
        }
        Some(out)
    }

    fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten()
    }

    /// Takes out every entry (the segment keeps its depth). O(cap).
    fn take_all(&mut self) -> Vec<Entry> {
        let depth = self.depth;
        let old = std::mem::replace(self, Segment::new(depth));
        self.saved = old.saved;
        old.slots.into_iter().flatten().collect()
    }
}

/// Capacity that holds `len` entries at about 60% load (room to grow before the 75% limit).
fn capacity_for(len: usize) -> usize {
    (len * 5 / 3 + 8).min(SEGMENT_CAP)
}

#[inline]
fn prefetch_read(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is a hint; it never faults, even on an invalid address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Where a snapshot sends a table's entries: each segment's entries once, either when the
/// snapshot's walk reaches it ([`Table::snapshot_step`]) or just before a write would change it,
/// whichever comes first. So the entries a sink receives are exactly those the table held when
/// [`Table::begin_snapshot`] ran, while the table keeps serving writes: no fork, no copy of the
/// keyspace, and at most one segment's entries in flight beyond what the sink buffers.
pub trait SnapshotSink: Send {
    /// Takes the entries of one segment, as they were when the snapshot began.
    fn save(&mut self, entries: &mut dyn Iterator<Item = &Entry>);
    /// Called once, after the last segment. A sink dropped without it was cut short (its table
    /// was dropped mid-snapshot) and must say so to whoever waits for it.
    fn finish(self: Box<Self>);
}

/// A snapshot in progress over one table.
struct Snap {
    sink: Box<dyn SnapshotSink>,
    /// The next segment index the walk visits (segments only ever get appended).
    cursor: usize,
}

/// An extendible hash table of entries keyed by their key bytes.
pub struct Table {
    depth: u32,
    dir: Vec<u32>,
    segments: Vec<Segment>,
    len: usize,
    hasher: RandomState,
    /// The snapshot epoch: segments whose `saved` differs are still to be saved while `snap` runs.
    epoch: u32,
    snap: Option<Box<Snap>>,
}

impl Default for Table {
    fn default() -> Self {
        Self::new()
    }
}

impl Table {
    /// An empty table (one empty segment; allocates nothing for entries).
    pub fn new() -> Self {
        Table {
            depth: 0,
            dir: vec![0],
            segments: vec![Segment::new(0)],
            len: 0,
            hasher: PROCESS_HASHER.clone(),
            epoch: 0,
            snap: None,
        }
    }

    /// Makes an empty table ready for about `n` entries without a split or a resize on the way
    /// (the load of a snapshot, whose RESIZEDB says how many keys come): 2^d segments of the
    /// capacity their share needs. No effect on a table that holds entries. O(n) slots.
    pub fn reserve(&mut self, n: usize) {
        if self.len != 0 || n == 0 {
            return;
        }
        let per_segment = SEGMENT_CAP * 3 / 5;
        let mut depth = 0u32;
        while (n >> depth) > per_segment && depth < 24 {
            depth += 1;
        }
        let share = (n >> depth) + 1;
        self.depth = depth;
        self.dir = (0..1u32 << depth).collect();
        self.segments = (0..1usize << depth)
            .map(|_| {
                let mut seg = Segment::with_capacity(depth, capacity_for(share));
                seg.saved = self.epoch;
                seg
            })
            .collect();
    }

    /// Starts a snapshot of the table as it is now into `sink` (see [`SnapshotSink`]). O(1): every
    /// segment becomes "to be saved" by the epoch moving on. A snapshot already running is ended
    /// first (its remaining segments saved into its own sink).
    pub fn begin_snapshot(&mut self, sink: Box<dyn SnapshotSink>) {
        while !self.snapshot_step(usize::MAX) {}
        self.epoch = self.epoch.wrapping_add(1);
        self.snap = Some(Box::new(Snap { sink, cursor: 0 }));
    }

    /// Whether a snapshot is running over this table.
    pub fn snapshotting(&self) -> bool {
        self.snap.is_some()
    }

    /// Saves segments still to be saved until about `budget` entries were handed to the sink;
    /// returns true (and finishes the sink) once every segment is saved, or when no snapshot runs.
    /// O(budget + SEGMENT_CAP).
    pub fn snapshot_step(&mut self, budget: usize) -> bool {
        let Some(snap) = self.snap.as_mut() else {
            return true;
        };
        let mut spent = 0usize;
        while snap.cursor < self.segments.len() {
            let seg = &mut self.segments[snap.cursor];
            snap.cursor += 1;
            if seg.saved != self.epoch {
                snap.sink.save(&mut seg.iter());
                seg.saved = self.epoch;
                spent = spent.saturating_add(seg.len.max(1));
                if spent >= budget && snap.cursor < self.segments.len() {
                    return false;
                }
            }
        }
        if let Some(done) = self.snap.take() {
            done.sink.finish();
        }
        true
    }

    /// Called before anything changes segment `s`: while a snapshot runs, a segment it has not
    /// saved yet is saved first. One test when no snapshot runs.
    #[inline]
    fn before_write(&mut self, s: usize) {
        if self.snap.is_some() {
            self.save_segment(s);
        }
    }

    #[cold]
    fn save_segment(&mut self, s: usize) {
        if let Some(snap) = self.snap.as_mut() {
            let seg = &mut self.segments[s];
            if seg.saved != self.epoch {
                snap.sink.save(&mut seg.iter());
                seg.saved = self.epoch;
            }
        }
    }

    /// Number of entries. O(1).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty. O(1).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash of `key` used by this table.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn segment_of(&self, h: u64) -> usize {
        self.dir[(h & ((1u64 << self.depth) - 1)) as usize] as usize
    }

    /// Starts loading the memory a lookup of `key` will touch. O(1), no memory is read.
    #[inline]
    pub fn prefetch(&self, key: &[u8]) {
        let h = self.hash(key);
        self.segments[self.segment_of(h)].prefetch(h);
    }

    /// The entry for `key`. O(1).
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.get_hashed(self.hash(key), key)
    }

    /// The entry for `key` whose hash `h` the caller already computed. O(1).
    #[inline]
    pub fn get_hashed(&self, h: u64, key: &[u8]) -> Option<&Entry> {
        let seg = &self.segments[self.segment_of(h)];
        seg.find(h, key).and_then(|p| seg.slots[p].as_ref())
    }

    /// The entry for `key`, mutable. O(1).
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.get_mut_hashed(self.hash(key), key)
    }

    /// The entry for `key` with precomputed hash `h`, mutable. O(1).
    #[inline]
    pub fn get_mut_hashed(&mut self, h: u64, key: &[u8]) -> Option<&mut Entry> {
        let s = self.segment_of(h);
        self.before_write(s);
        let seg = &mut self.segments[s];
        let p = seg.find(h, key)?;
        seg.slots[p].as_mut()
    }

    /// Removes and returns the entry for `key`. O(1).
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let h = self.hash(key);
        let s = self.segment_of(h);
        let p = self.segments[s].find(h, key)?;
        self.before_write(s);
        let e = self.segments[s].remove_at(p, &self.hasher)?;
        self.len -= 1;
        Some(e)
    }

    /// Makes room for one more entry of hash `h`; returns its segment. O(1) amortised; a resize or split
    /// costs O(SEGMENT_CAP).
    fn reserve_one(&mut self, h: u64) -> usize {
        let mut s = self.segment_of(h);
        loop {
            let seg = &self.segments[s];
            let cap = seg.tags.len();
            if !full(seg.len + 1, cap.max(1)) && cap > 0 {
                return s;
            }
            if cap < SEGMENT_CAP {
                let new_cap = (cap + cap / 2).clamp(8, SEGMENT_CAP);
                let hasher = self.hasher.clone();
                self.segments[s].resize(new_cap, &hasher);
                return s;
            }
            self.split(s);
            s = self.segment_of(h);
        }
    }

    /// Inserts `entry`, replacing and returning any entry with the same key. O(1) amortised.
    pub fn insert(&mut self, entry: Entry) -> Option<Entry> {
        let h = self.hash(&entry.key);
        if let Some(e) = self.get_mut_hashed(h, &entry.key) {
            return Some(std::mem::replace(e, entry));
        }
        // Saved by the lookup above already: splitting it below moves entries to a new segment.
        let s = self.reserve_one(h);
        self.segments[s].place(h, entry);
        self.len += 1;
        None
    }

    /// Returns the entry for `key`, inserting the one `make` builds when absent. O(1) amortised.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> Entry) -> &mut Entry {
        let h = self.hash(key);
        let s = self.segment_of(h);
        self.before_write(s);
        let (s, pos) = match self.segments[s].find(h, key) {
            Some(p) => (s, p),
            None => {
                let s = self.reserve_one(h);
                let p = self.segments[s].place(h, make());
                self.len += 1;
                (s, p)
            }
        };
        match self.segments[s].slots[pos].as_mut() {
            Some(e) => e,
            None => unreachable!("slot found or just filled"),
        }
    }

    /// Splits segment `s` on its next hash bit; doubles the directory first if the segment is as deep as
    /// it. O(SEGMENT_CAP + directory size).
    fn split(&mut self, s: usize) {
        let old_depth = self.segments[s].depth;
        if old_depth == self.depth {
            self.dir.extend_from_within(..);
            self.depth += 1;
        }
        let bit = 1u64 << old_depth;
        let entries = self.segments[s].take_all();
        let hashed: Vec<(u64, Entry)> = entries
            .into_iter()
            .map(|e| (self.hasher.hash_one(e.key.as_bytes()), e))
            .collect();
        let high = hashed.iter().filter(|(h, _)| h & bit != 0).count();
        let mut lo = Segment::with_capacity(old_depth + 1, capacity_for(hashed.len() - high));
        let mut hi = Segment::with_capacity(old_depth + 1, capacity_for(high));
        for (h, e) in hashed {
            if h & bit != 0 {
                hi.place(h, e);
            } else {
                lo.place(h, e);
            }
        }
        // Both halves hold what the split one held: saved or not alike.
        let saved = self.segments[s].saved;
        lo.saved = saved;
        hi.saved = saved;
        self.segments[s] = lo;
        let new_index = self.segments.len() as u32;
        self.segments.push(hi);
        for (slot, seg) in self.dir.iter_mut().enumerate() {
            if *seg as usize == s && (slot as u64) & bit != 0 {
                *seg = new_index;
            }
        }
    }

    /// Removes every entry. O(n) deallocation. A snapshot running saves the rest of the table
    /// first, then goes on over the empty one.
    pub fn clear(&mut self) {
        if self.snap.is_some() {
            for s in 0..self.segments.len() {
                self.save_segment(s);
            }
        }
        let (epoch, snap) = (self.epoch, self.snap.take());
        *self = Table {
            hasher: self.hasher.clone(),
            epoch,
            snap,
            ..Table::new()
        };
        self.segments[0].saved = epoch;
    }

    /// Iterates every entry (KEYS). O(n).
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.segments.iter().flat_map(|s| s.iter())
    }

    /// One SCAN step: calls `emit` for every entry of directory slot `cursor` and returns the next
    /// cursor (0 when the walk is complete). Reverse-binary order over the directory, as Redis's dictScan.
    pub fn scan_step(&self, cursor: u64, mut emit: impl FnMut(&Entry)) -> u64 {
        let mask = (1u64 << self.depth) - 1;
        let slot = cursor & mask;
        let seg = &self.segments[self.dir[slot as usize] as usize];
        for e in seg.iter() {
            if self.hash(&e.key) & mask == slot {
                emit(e);
            }
        }
        // Increment the reversed cursor over the mask bits (Redis's dictScan step).
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// A random entry (RANDOMKEY): a random segment, then a random occupied slot. O(SEGMENT_CAP) worst.
    pub fn random_entry(&self, rnd: u64) -> Option<&Entry> {
        if self.len == 0 {
            return None;
        }
        let n = self.segments.len();
        for i in 0..n {
            let seg = &self.segments[(rnd as usize).wrapping_add(i) % n];
            let cap = seg.slots.len();
            if seg.len == 0 {
                continue;
            }
            let start = (rnd >> 20) as usize % cap;
            for j in 0..cap {
                if let Some(e) = &seg.slots[(start + j) % cap] {
                    return Some(e);
                }
            }
        }
        None
    }

    /// Bytes of this table that hold no key or value (INFO's `used_memory_overhead`): the directory,
    /// the segments' headers and tag bytes, the empty slots, and each entry's expiry field. O(segments).
    pub fn overhead_bytes(&self) -> usize {
        let slot = std::mem::size_of::<Option<Entry>>();
        let mut n = self.dir.capacity() * std::mem::size_of::<u32>()
            + self.segments.capacity() * std::mem::size_of::<Segment>();
        for s in &self.segments {
            n += s.tags.capacity()
                + s.slots.capacity().saturating_sub(s.len) * slot
                + s.len * std::mem::size_of::<u64>();
        }
        n
    }

    /// Visits entries from a random place (`rnd`) onwards, slot by slot and segment by segment,
    /// calling `take` on each until it returned true `count` times or `budget` entries were
    /// visited (Redis's dictGetSomeKeys, for eviction's sampling). O(budget + empty slots).
    pub fn sample(
        &self,
        rnd: u64,
        count: usize,
        budget: usize,
        mut take: impl FnMut(&Entry) -> bool,
    ) {
        if self.len == 0 || count == 0 {
            return;
        }
        let n = self.segments.len();
        let first = (rnd as usize) % n;
        let (mut taken, mut visited) = (0, 0);
        for i in 0..n {
            let seg = &self.segments[(first + i) % n];
            let cap = seg.slots.len();
            if seg.len == 0 {
                continue;
            }
            let start = if i == 0 {
                (rnd >> 24) as usize % cap
            } else {
                0
            };
            for j in 0..cap {
                if let Some(e) = &seg.slots[(start + j) % cap] {
                    visited += 1;
                    if take(e) {
                        taken += 1;
                    }
                    if taken >= count || visited >= budget {
                        return;
                    }
                }
            }
        }
    }

    /// Number of segments; active expiry walks them one at a time.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Removes the entries of segment `seg` for which `pred` holds; returns how many, and how many
    /// entries were examined. O(SEGMENT_CAP).
    pub fn remove_where_in_segment(
        &mut self,
        seg: usize,
        mut pred: impl FnMut(&Entry) -> bool,
        mut removed: impl FnMut(Entry),
    ) -> (usize, usize) {
        let Some(s) = self.segments.get_mut(seg) else {
            return (0, 0);
        };
        let examined = s.len;
        if !s.iter().any(&mut pred) {
            return (0, examined);
        }
        self.before_write(seg);
        let s = &mut self.segments[seg];
        let cap = s.tags.len();
        let all = s.take_all();
        let before = all.len();
        let mut keep = Segment::with_capacity(s.depth, cap);
        keep.saved = s.saved;
        for e in all {
            if pred(&e) {
                removed(e);
            } else {
                keep.place(self.hasher.hash_one(e.key.as_bytes()), e);
            }
        }
        let removed = before - keep.len;
        *s = keep;
        self.len -= removed;
        (removed, examined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::value::StrValue;

    fn entry(k: &str) -> Entry {
        Entry::new(k.as_bytes().into(), Value::Str(StrValue::Int(1)), 0)
    }

    /// A sink recording what it is given (key, and the integer of a string value).
    type Seen = std::sync::Arc<std::sync::Mutex<(Vec<(Vec<u8>, i64)>, bool)>>;
    struct Record(Seen);

    impl SnapshotSink for Record {
        fn save(&mut self, entries: &mut dyn Iterator<Item = &Entry>) {
            let mut r = self.0.lock().unwrap();
            for e in entries {
                let v = match &e.value {
                    Value::Str(StrValue::Int(n)) => *n,
                    _ => -1,
                };
                r.0.push((e.key.to_vec(), v));
            }
        }
        fn finish(self: Box<Self>) {
            self.0.lock().unwrap().1 = true;
        }
    }

    fn valued(k: &str, v: i64) -> Entry {
        Entry::new(k.as_bytes().into(), Value::Str(StrValue::Int(v)), 0)
    }

    #[test]
    fn a_snapshot_sees_the_table_as_it_was_while_writes_go_on() {
        let mut t = Table::new();
        for i in 0..20_000 {
            t.insert(valued(&format!("k{i}"), 0));
        }
        let seen = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), false)));
        t.begin_snapshot(Box::new(Record(seen.clone())));
        let mut round = 0;
        loop {
            // Between two slices: overwrite, delete, insert (growing and splitting), expire.
            for j in 0..300 {
                let i = (round * 300 + j) % 20_000;
                if let Some(e) = t.get_mut(format!("k{i}").as_bytes()) {
                    e.value = Value::Str(StrValue::Int(1));
                }
                t.remove(format!("k{}", (i * 7) % 20_000).as_bytes());
                t.insert(valued(&format!("new{round}-{j}"), 2));
            }
            t.remove_where_in_segment(round % t.segment_count(), |e| e.key.ends_with(b"3"), drop);
            round += 1;
            if t.snapshot_step(500) {
                break;
            }
        }
        let (got, finished) = &*seen.lock().unwrap();
        assert!(*finished);
        assert_eq!(got.len(), 20_000, "every key of the instant, once");
        let mut keys: Vec<&Vec<u8>> = got.iter().map(|(k, _)| k).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 20_000);
        assert!(got.iter().all(|(k, v)| k.starts_with(b"k") && *v == 0));
        assert!(!t.snapshotting());
        // A second snapshot sees the table as it is now; a clear saves everything first.
        let before = t.len();
        let again = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), false)));
        t.begin_snapshot(Box::new(Record(again.clone())));
        t.clear();
        t.insert(valued("after", 9));
        assert!(t.snapshot_step(usize::MAX));
        let (got, finished) = &*again.lock().unwrap();
        assert!(*finished);
        assert_eq!(got.len(), before);
        assert!(got.iter().all(|(k, _)| k != b"after"));
    }

    #[test]
    fn a_reserved_table_takes_its_entries_without_growing() {
        let mut t = Table::new();
        t.reserve(50_000);
        let segments = t.segment_count();
        assert!(segments >= 16);
        for i in 0..50_000 {
            assert!(t.insert(entry(&format!("k{i}"))).is_none());
        }
        assert!(t.segment_count() <= segments * 2, "few splits");
        assert!((0..50_000).all(|i| t.get(format!("k{i}").as_bytes()).is_some()));
        let mut seen = 0;
        let mut cursor = 0;
        loop {
            cursor = t.scan_step(cursor, |_| seen += 1);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, 50_000);
    }

    #[test]
    fn grows_by_splitting_and_keeps_everything() {
        let mut t = Table::new();
        for i in 0..20_000 {
            assert!(t.insert(entry(&format!("k{i}"))).is_none());
        }
        assert_eq!(t.len(), 20_000);
        assert!(t.segment_count() > 4);
        for i in 0..20_000 {
            assert!(t.get(format!("k{i}").as_bytes()).is_some());
        }
        assert!(t.remove(b"k7").is_some());
        assert!(t.get(b"k7").is_none());
        assert_eq!(t.len(), 19_999);
    }

    #[test]
    fn removal_keeps_probe_runs_reachable() {
        let mut t = Table::new();
        for i in 0..5_000 {
            t.insert(entry(&format!("k{i}")));
        }
        for i in (0..5_000).step_by(3) {
            assert!(t.remove(format!("k{i}").as_bytes()).is_some());
        }
        for i in 0..5_000 {
            assert_eq!(
                t.get(format!("k{i}").as_bytes()).is_some(),
                i % 3 != 0,
                "k{i}"
            );
        }
        let (removed, _) = (0..t.segment_count()).fold((0, 0), |acc, s| {
            let (r, e) = t.remove_where_in_segment(s, |e| e.key.ends_with(b"1"), drop);
            (acc.0 + r, acc.1 + e)
        });
        assert!(removed > 0);
        assert!(t.iter().all(|e| !e.key.ends_with(b"1")));
        assert_eq!(t.iter().count(), t.len());
    }

    #[test]
    fn scan_visits_every_key_once_without_growth_and_at_least_once_with_growth() {
        let mut t = Table::new();
        for i in 0..10_000 {
            t.insert(entry(&format!("k{i}")));
        }
        let mut seen = std::collections::HashMap::new();
        let mut cursor = 0;
        let mut grow = 10_000;
        loop {
            cursor = t.scan_step(cursor, |e| *seen.entry(e.key.to_vec()).or_insert(0) += 1);
            // Grow the table during the scan: new keys may or may not be seen, old ones must be.
            for _ in 0..50 {
                t.insert(entry(&format!("k{grow}")));
                grow += 1;
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..10_000 {
            assert!(seen.contains_key(format!("k{i}").as_bytes()), "missed k{i}");
        }
    }
}
