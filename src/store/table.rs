//! The keyspace table of one database of one shard: an extendible hash of bounded segments.
//!
//! A directory of `2^depth` slots points at segments (hashbrown tables); the low `depth` bits of a
//! key's hash pick the slot. A segment holds at most [`SEGMENT_MAX`] entries: when it is full it splits
//! in two on its next hash bit, and the directory doubles if needed. So growing never rehashes the whole
//! table: the longest pause is one segment's split, whatever the size of the keyspace (Redis rehashes
//! incrementally; Dragonfly's Dashtable grows by segments, as here).
//!
//! The directory slots are also SCAN's buckets: the cursor walks them in reverse-binary order, which,
//! as in Redis's `dictScan`, returns every key present for the whole scan even if the table grows.

use ahash::RandomState;
use hashbrown::HashTable;

use super::key::Key;
use super::value::Value;

/// Entries per segment before it splits; bounds the cost of a split and of a SCAN step.
pub const SEGMENT_MAX: usize = 2048;

/// One key and its value. `expire_at` is a Unix time in milliseconds, 0 when the key has no TTL.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Key,
    pub value: Value,
    pub expire_at: u64,
}

struct Segment {
    depth: u32,
    map: HashTable<Entry>,
}

/// An extendible hash table of entries keyed by their key bytes.
pub struct Table {
    depth: u32,
    dir: Vec<u32>,
    segments: Vec<Segment>,
    len: usize,
    hasher: RandomState,
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
            segments: vec![Segment { depth: 0, map: HashTable::new() }],
            len: 0,
            hasher: RandomState::with_seeds(0x5275_7374, 0x6973_2121, 0x6b65_7973, 0x7061_6365),
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

    /// The hash handed to a segment's hashbrown table. The directory consumes the low bits, which are
    /// therefore equal for every key of a segment; hashbrown also probes by low bits, so it gets the
    /// halves swapped, or every key of a segment would collide.
    #[inline]
    fn inner(h: u64) -> u64 {
        h.rotate_left(32)
    }

    #[inline]
    fn segment_of(&self, h: u64) -> usize {
        self.dir[(h & ((1u64 << self.depth) - 1)) as usize] as usize
    }

    /// The entry for `key`. O(1).
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.get_hashed(self.hash(key), key)
    }

    /// The entry for `key` whose hash `h` the caller already computed. O(1).
    #[inline]
    pub fn get_hashed(&self, h: u64, key: &[u8]) -> Option<&Entry> {
        self.segments[self.segment_of(h)].map.find(Self::inner(h), |e| &*e.key == key)
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
        self.segments[s].map.find_mut(Self::inner(h), |e| &*e.key == key)
    }

    /// Removes and returns the entry for `key`. O(1).
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let h = self.hash(key);
        let s = self.segment_of(h);
        let found = self.segments[s].map.find_entry(Self::inner(h), |e| &*e.key == key).ok()?;
        self.len -= 1;
        Some(found.remove().0)
    }

    /// Inserts `entry`, replacing and returning any entry with the same key. O(1) amortised; a split
    /// costs O(SEGMENT_MAX).
    pub fn insert(&mut self, entry: Entry) -> Option<Entry> {
        let h = self.hash(&entry.key);
        let mut s = self.segment_of(h);
        if let Some(e) = self.segments[s].map.find_mut(Self::inner(h), |e| e.key == entry.key) {
            return Some(std::mem::replace(e, entry));
        }
        if self.segments[s].map.len() >= SEGMENT_MAX {
            self.split(s);
            s = self.segment_of(h);
        }
        let hasher = &self.hasher;
        self.segments[s].map.insert_unique(Self::inner(h), entry, |e| Self::inner(hasher.hash_one(&*e.key)));
        self.len += 1;
        None
    }

    /// Returns the entry for `key`, inserting the one `make` builds when absent. O(1) amortised.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> Entry) -> &mut Entry {
        let h = self.hash(key);
        let mut s = self.segment_of(h);
        if self.segments[s].map.find(Self::inner(h), |e| &*e.key == key).is_none() {
            if self.segments[s].map.len() >= SEGMENT_MAX {
                self.split(s);
                s = self.segment_of(h);
            }
            let hasher = &self.hasher;
            self.segments[s].map.insert_unique(Self::inner(h), make(), |e| Self::inner(hasher.hash_one(&*e.key)));
            self.len += 1;
        }
        match self.segments[s].map.find_mut(Self::inner(h), |e| &*e.key == key) {
            Some(e) => e,
            None => unreachable!("present or just inserted"),
        }
    }

    /// Splits segment `s` on its next hash bit; doubles the directory first if the segment is as deep as
    /// it. O(SEGMENT_MAX + directory size).
    fn split(&mut self, s: usize) {
        let old_depth = self.segments[s].depth;
        if old_depth == self.depth {
            self.dir.extend_from_within(..);
            self.depth += 1;
        }
        let bit = 1u64 << old_depth;
        let hasher = self.hasher.clone();
        let moved: Vec<Entry> =
            self.segments[s].map.extract_if(|e| hasher.hash_one(&*e.key) & bit != 0).collect();
        let mut map = HashTable::with_capacity(moved.len().max(16));
        for e in moved {
            let h = hasher.hash_one(&*e.key);
            map.insert_unique(Self::inner(h), e, |e| Self::inner(hasher.hash_one(&*e.key)));
        }
        self.segments[s].depth = old_depth + 1;
        self.segments[s].map.shrink_to_fit(|e| Self::inner(hasher.hash_one(&*e.key)));
        let new_index = self.segments.len() as u32;
        self.segments.push(Segment { depth: old_depth + 1, map });
        for (slot, seg) in self.dir.iter_mut().enumerate() {
            if *seg as usize == s && (slot as u64) & bit != 0 {
                *seg = new_index;
            }
        }
    }

    /// Removes every entry. O(n) deallocation.
    pub fn clear(&mut self) {
        *self = Table { hasher: self.hasher.clone(), ..Table::new() };
    }

    /// Iterates every entry (KEYS). O(n).
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.segments.iter().flat_map(|s| s.map.iter())
    }

    /// One SCAN step: calls `emit` for every entry of directory slot `cursor` and returns the next
    /// cursor (0 when the walk is complete). Reverse-binary order over the directory, as Redis's dictScan.
    pub fn scan_step(&self, cursor: u64, mut emit: impl FnMut(&Entry)) -> u64 {
        let mask = (1u64 << self.depth) - 1;
        let slot = cursor & mask;
        let seg = &self.segments[self.dir[slot as usize] as usize];
        for e in seg.map.iter() {
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

    /// A uniformly chosen segment's random entry (RANDOMKEY); `rnd` is a random number.
    /// O(SEGMENT_MAX) at worst.
    pub fn random_entry(&self, rnd: u64) -> Option<&Entry> {
        if self.len == 0 {
            return None;
        }
        let n = self.segments.len();
        for i in 0..n {
            let seg = &self.segments[(rnd as usize).wrapping_add(i) % n];
            let len = seg.map.len();
            if len > 0 {
                return seg.map.iter().nth((rnd >> 20) as usize % len);
            }
        }
        None
    }

    /// Number of segments; active expiry walks them one at a time.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Removes the entries of segment `seg` for which `pred` holds; returns how many and how many entries
    /// were examined. O(segment).
    pub fn remove_where_in_segment(&mut self, seg: usize, mut pred: impl FnMut(&Entry) -> bool) -> (usize, usize) {
        let Some(s) = self.segments.get_mut(seg) else { return (0, 0) };
        let examined = s.map.len();
        let removed = s.map.extract_if(|e| pred(e)).count();
        self.len -= removed;
        (removed, examined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::value::StrValue;

    fn entry(k: &str) -> Entry {
        Entry { key: k.as_bytes().into(), value: Value::Str(StrValue::Int(1)), expire_at: 0 }
    }

    #[test]
    fn grows_by_splitting_and_keeps_everything() {
        let mut t = Table::new();
        for i in 0..20_000 {
            assert!(t.insert(entry(&format!("k{i}"))).is_none());
        }
        assert_eq!(t.len(), 20_000);
        assert!(t.segment_count() > 8);
        for i in 0..20_000 {
            assert!(t.get(format!("k{i}").as_bytes()).is_some());
        }
        assert!(t.remove(b"k7").is_some());
        assert!(t.get(b"k7").is_none());
        assert_eq!(t.len(), 19_999);
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
            cursor = t.scan_step(cursor, |e| *seen.entry(e.key.clone()).or_insert(0) += 1);
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
