//! The stream type (Redis 7.0's `t_stream.c`): entries in packed blocks, consumer groups with their
//! pending entries lists.
//!
//! Entries live in blocks of up to `stream-node-max-entries` entries and about
//! `stream-node-max-bytes` bytes, as Redis's listpacks in a radix tree. A block is one allocation
//! (`Box<[u8]>`): a fixed header (live and deleted counts, and the size the same entries would take
//! in a Redis listpack, so that blocks are cut exactly where Redis cuts them), the *master entry* (the
//! field names of the block's first entry), then each entry: a flag byte, its id as varint deltas
//! against the block's first id, and its values (its field names too, only when they differ from the
//! master's). Deleted entries are flagged in place, as Redis does, and a block whose entries are all
//! deleted is dropped.
//!
//! The blocks are kept in a vector sorted by first id (ids only grow, so XADD appends): a lookup is a
//! binary search, O(log B) for B blocks, then a scan of one block, O(block). Trimming drops blocks
//! from the front (a move of the remaining block pointers, O(B), paid once per dropped block).
//! Memory per stream: the 96-byte header box, 32 bytes per block pointer, and the blocks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A stream entry id: milliseconds and sequence number, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// 0-0.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest id.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// An id from its parts.
    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The next id, or None after the largest (Redis's streamIncrID failing).
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                None
            } else {
                Some(StreamId::new(self.ms + 1, 0))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous id, or None before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                None
            } else {
                Some(StreamId::new(self.ms - 1, u64::MAX))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// Whether it is 0-0.
    pub fn is_zero(self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// `ms-seq`, as replies show it.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut a = itoa::Buffer::new();
        let mut v = a.format(self.ms).as_bytes().to_vec();
        v.push(b'-');
        v.extend_from_slice(a.format(self.seq).as_bytes());
        v
    }

    /// The 128-bit big-endian form Redis uses as radix tree key.
    fn key_bytes(self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.ms.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }
}

/// The size limits of a block (the `stream-node-max-*` settings).
#[derive(Debug, Clone, Copy)]
pub struct NodeLimits {
    /// stream-node-max-bytes (0: no limit but Redis's 1 GiB).
    pub max_bytes: usize,
    /// stream-node-max-entries (0: no limit).
    pub max_entries: u64,
}

/// The largest listpack Redis builds (STREAM_LISTPACK_MAX_SIZE).
pub const LISTPACK_MAX: usize = 1 << 30;

/// Entry flag: deleted.
const DELETED: u8 = 1;
/// Entry flag: same fields as the master entry.
const SAME_FIELDS: u8 = 2;
/// Bytes of the fixed block header: live count, deleted count, listpack-equivalent size (u32 LE).
const HEADER: usize = 12;

// ---- varints ----

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Reads a varint at `*pos`. Blocks are written by this module only, so a read past the end
/// cannot happen; it answers 0 rather than panic.
#[inline]
fn get_varint(b: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&byte) = b.get(*pos) {
        *pos += 1;
        if shift < 64 {
            v |= u64::from(byte & 0x7f) << shift;
        }
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    v
}

/// Reads a length-prefixed byte string at `*pos`.
#[inline]
fn get_bytes<'a>(b: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let n = get_varint(b, pos) as usize;
    let start = (*pos).min(b.len());
    let end = start.saturating_add(n).min(b.len());
    *pos = end;
    &b[start..end]
}

fn put_bytes(out: &mut Vec<u8>, s: &[u8]) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

// ---- listpack sizes (to cut blocks where Redis cuts its listpacks) ----

/// Bytes of a listpack element's back-length field for an element of `l` bytes.
fn lp_backlen(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes a listpack spends on integer `v`.
fn lp_int(v: i64) -> usize {
    let enc = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if i16::try_from(v).is_ok() {
        3
    } else if (-8388608..=8388607).contains(&v) {
        4
    } else if i32::try_from(v).is_ok() {
        5
    } else {
        9
    };
    enc + lp_backlen(enc)
}

/// Bytes a listpack spends on string `s` (stored as an integer when it reads as one).
fn lp_str(s: &[u8]) -> usize {
    if s.len() <= 20 {
        if let Some(v) = crate::num::parse_i64(s) {
            return lp_int(v);
        }
    }
    let enc = match s.len() {
        0..=63 => 1 + s.len(),
        64..=4095 => 2 + s.len(),
        _ => 5 + s.len(),
    };
    enc + lp_backlen(enc)
}

// ---- blocks ----

fn rd32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

fn wr32(b: &mut [u8], at: usize, v: u32) {
    if let Some(s) = b.get_mut(at..at + 4) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

/// One entry as read from a block: its id, whether it is deleted, and where its fields are.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    /// The entry's id.
    pub id: StreamId,
    /// Flagged deleted (a tombstone).
    pub deleted: bool,
    /// Field-value pairs.
    pub n: usize,
    same: bool,
    /// The master field names (used when `same`).
    master: &'a [u8],
    /// The entry's values (or field-value pairs), from their first byte.
    body: &'a [u8],
}

impl<'a> EntryRef<'a> {
    /// Whether the entry shares its block's master field names (Redis's SAMEFIELDS flag, which
    /// the RDB listpack form records). O(1).
    pub fn same_fields(&self) -> bool {
        self.same
    }

    /// The field-value pairs, in order. O(fields).
    pub fn pairs(&self) -> Pairs<'a> {
        Pairs {
            left: self.n,
            same: self.same,
            master: self.master,
            mpos: 0,
            body: self.body,
            pos: 0,
        }
    }
}

/// Iterator over an entry's field-value pairs.
pub struct Pairs<'a> {
    left: usize,
    same: bool,
    master: &'a [u8],
    mpos: usize,
    body: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let f = if self.same {
            get_bytes(self.master, &mut self.mpos)
        } else {
            get_bytes(self.body, &mut self.pos)
        };
        let v = get_bytes(self.body, &mut self.pos);
        Some((f, v))
    }
}

/// A block's parsed master entry.
struct Master<'a> {
    nfields: usize,
    /// The master field names.
    fields: &'a [u8],
    /// Offset of the first entry.
    first: usize,
}

fn master(b: &[u8]) -> Master<'_> {
    let mut pos = HEADER;
    let nfields = get_varint(b, &mut pos) as usize;
    let start = pos;
    for _ in 0..nfields {
        get_bytes(b, &mut pos);
    }
    Master {
        nfields,
        fields: b.get(start..pos).unwrap_or(&[]),
        first: pos,
    }
}

/// Reads the entry at `pos` of block `b` (first id `base`, master `m`); returns it and the offset
/// after it.
fn read_entry<'a>(
    b: &'a [u8],
    base: StreamId,
    m: &Master<'a>,
    mut pos: usize,
) -> (EntryRef<'a>, usize) {
    let flags = b.get(pos).copied().unwrap_or(0);
    pos += 1;
    let ms = base.ms.wrapping_add(get_varint(b, &mut pos));
    let seq = base
        .seq
        .wrapping_add(unzigzag(get_varint(b, &mut pos)) as u64);
    let same = flags & SAME_FIELDS != 0;
    let n = if same {
        m.nfields
    } else {
        get_varint(b, &mut pos) as usize
    };
    let body_start = pos.min(b.len());
    let strings = if same { n } else { 2 * n };
    for _ in 0..strings {
        get_bytes(b, &mut pos);
    }
    let e = EntryRef {
        id: StreamId::new(ms, seq),
        deleted: flags & DELETED != 0,
        n,
        same,
        master: m.fields,
        body: &b[body_start..pos.min(b.len())],
    };
    (e, pos)
}

/// Offsets of every entry of a block (for reverse walks and edits). O(block).
fn entry_offsets(b: &[u8], base: StreamId) -> Vec<usize> {
    let m = master(b);
    let mut out = Vec::new();
    let mut pos = m.first;
    while pos < b.len() {
        out.push(pos);
        pos = read_entry(b, base, &m, pos).1;
    }
    out
}

fn live(b: &[u8]) -> u64 {
    u64::from(rd32(b, 0))
}

fn dead(b: &[u8]) -> u64 {
    u64::from(rd32(b, 4))
}

/// The size of the same block as a Redis listpack.
fn lp_bytes(b: &[u8]) -> usize {
    rd32(b, 8) as usize + lp_int(live(b) as i64) + lp_int(dead(b) as i64)
}

/// Marks the entry at `pos` deleted and updates the counts. Returns whether the block is now
/// empty of live entries.
fn mark_deleted(b: &mut [u8], pos: usize) -> bool {
    if let Some(f) = b.get_mut(pos) {
        *f |= DELETED;
    }
    let l = rd32(b, 0).saturating_sub(1);
    let d = rd32(b, 4) + 1;
    wr32(b, 0, l);
    wr32(b, 4, d);
    l == 0
}

// ---- consumer groups ----

/// A pending entry: delivered to a consumer of a group, not yet acknowledged.
#[derive(Debug, Clone)]
pub struct Nack {
    /// The consumer it was delivered to.
    pub consumer: Arc<[u8]>,
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    /// Times delivered.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, Default)]
pub struct Consumer {
    /// Unix ms it was last seen (reads, claims).
    pub seen_time: u64,
    /// Its pending entries.
    pub pel: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone)]
pub struct Group {
    /// The last id delivered.
    pub last_id: StreamId,
    /// Entries read (Redis's entries_read; -1 when unknown).
    pub entries_read: i64,
    /// The pending entries of all its consumers.
    pub pel: BTreeMap<StreamId, Nack>,
    /// Consumers by name (ordered, as Redis's radix tree).
    pub consumers: BTreeMap<Arc<[u8]>, Consumer>,
}

impl Group {
    /// A group at `last_id` with `entries_read` (-1: unknown).
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// The consumer `name`'s key (shared with its pending entries), creating it at `now` when
    /// missing; the bool says whether it was created. O(log consumers).
    pub fn consumer(&mut self, name: &[u8], now: u64) -> (Arc<[u8]>, bool) {
        if let Some((k, c)) = self.consumers.get_key_value(name) {
            let k = k.clone();
            let _ = c;
            return (k, false);
        }
        let k: Arc<[u8]> = Arc::from(name);
        self.consumers.insert(
            k.clone(),
            Consumer {
                seen_time: now,
                pel: BTreeSet::new(),
            },
        );
        (k, true)
    }

    /// Removes consumer `name` and its pending entries from the group; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Acknowledges `id`; whether it was pending. O(log pending).
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&*n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }
}

// ---- the stream ----

/// A stream: its blocks and its bookkeeping (Redis's `stream` struct).
#[derive(Debug, Clone, Default)]
pub struct Stream {
    /// Blocks by first (master) id, ascending.
    blocks: Vec<(StreamId, Box<[u8]>)>,
    /// Live entries.
    pub length: u64,
    /// The last id added (or set by XSETID).
    pub last_id: StreamId,
    /// The first live entry's id as Redis records it (0-0 when empty).
    pub first_id: StreamId,
    /// The largest id deleted by XDEL.
    pub max_deleted: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups by name, when there are any.
    pub groups: Option<Box<BTreeMap<Box<[u8]>, Group>>>,
}

/// Why an append failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendError {
    /// The id is not greater than the last one (EDOM).
    IdTooSmall,
    /// The elements exceed what a block may hold (ERANGE).
    TooLarge,
}

/// How to trim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries below this id.
    MinId(StreamId),
}

impl Stream {
    /// Blocks (radix tree keys in Redis). O(1).
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// The node count of a Redis radix tree holding this stream's block keys (XINFO's
    /// radix-tree-nodes), for the canonical compressed tree. O(B).
    pub fn rax_nodes(&self) -> usize {
        fn count(keys: &[[u8; 16]], depth: usize) -> usize {
            if depth >= 16 || keys.is_empty() {
                return 1;
            }
            let (first, last) = (&keys[0], &keys[keys.len() - 1]);
            let mut lcp = 0;
            while depth + lcp < 16 && first[depth + lcp] == last[depth + lcp] {
                lcp += 1;
            }
            if lcp > 0 {
                return 1 + count(keys, depth + lcp);
            }
            let mut n = 1;
            let mut i = 0;
            while i < keys.len() {
                let c = keys[i][depth];
                let mut j = i;
                while j < keys.len() && keys[j][depth] == c {
                    j += 1;
                }
                n += count(&keys[i..j], depth + 1);
                i = j;
            }
            n
        }
        if self.blocks.is_empty() {
            return 1;
        }
        let keys: Vec<[u8; 16]> = self.blocks.iter().map(|(k, _)| k.key_bytes()).collect();
        count(&keys, 0)
    }

    /// Heap bytes of the blocks and their index (MEMORY USAGE). O(B).
    pub fn block_bytes(&self) -> (usize, usize, usize) {
        (
            self.blocks.capacity(),
            self.blocks.len(),
            self.blocks.iter().map(|(_, b)| b.len()).sum(),
        )
    }

    /// Appends an entry of `pairs` (field, value) with id `id`; Redis's streamAppendItem after the
    /// id was chosen. O(log B + block) for the copy into the tail block.
    pub fn append(
        &mut self,
        id: StreamId,
        pairs: &[(&[u8], &[u8])],
        limits: NodeLimits,
    ) -> Result<(), AppendError> {
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        let total: usize = pairs.iter().map(|(f, v)| f.len() + v.len()).sum();
        if total > LISTPACK_MAX {
            return Err(AppendError::TooLarge);
        }
        let mut new_block = true;
        if let Some((_, b)) = self.blocks.last() {
            let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX {
                LISTPACK_MAX
            } else {
                limits.max_bytes
            };
            new_block = lp_bytes(b) + total >= max_bytes
                || (limits.max_entries != 0 && live(b) + dead(b) >= limits.max_entries);
        }
        let nf = pairs.len();
        if new_block {
            let mut v = Vec::with_capacity(HEADER + 16 + total + 4 * nf);
            v.extend_from_slice(&[0u8; HEADER]);
            put_varint(&mut v, nf as u64);
            // Listpack: header and terminator, num-fields, fields, the master's zero.
            let mut lp = 7 + lp_int(nf as i64) + lp_int(0);
            for (f, _) in pairs {
                put_bytes(&mut v, f);
                lp += lp_str(f);
            }
            wr32(&mut v, 8, lp as u32);
            self.blocks.reserve_exact(1);
            self.blocks.push((id, v.into_boxed_slice()));
        }
        let Some((base, b)) = self.blocks.last_mut() else {
            return Err(AppendError::TooLarge);
        };
        let base = *base;
        let m = master(b);
        let same = m.nfields == nf && {
            let mut pos = 0;
            pairs
                .iter()
                .all(|(f, _)| get_bytes(m.fields, &mut pos) == *f)
        };
        let ms_delta = id.ms.wrapping_sub(base.ms);
        let seq_delta = id.seq.wrapping_sub(base.seq) as i64;
        let mut add = 1 + varint_len(ms_delta) + varint_len(zigzag(seq_delta));
        let mut lp = lp_int(if same { SAME_FIELDS } else { 0 } as i64)
            + lp_int(ms_delta as i64)
            + lp_int(seq_delta);
        if !same {
            add += varint_len(nf as u64);
            lp += lp_int(nf as i64);
        }
        for (f, v) in pairs {
            if !same {
                add += varint_len(f.len() as u64) + f.len();
                lp += lp_str(f);
            }
            add += varint_len(v.len() as u64) + v.len();
            lp += lp_str(v);
        }
        let lp_count = if same { nf + 3 } else { 2 * nf + 4 };
        lp += lp_int(lp_count as i64);
        let mut v = std::mem::take(b).into_vec();
        v.reserve_exact(add);
        v.push(if same { SAME_FIELDS } else { 0 });
        put_varint(&mut v, ms_delta);
        put_varint(&mut v, zigzag(seq_delta));
        if !same {
            put_varint(&mut v, nf as u64);
        }
        for (f, val) in pairs {
            if !same {
                put_bytes(&mut v, f);
            }
            put_bytes(&mut v, val);
        }
        let l = rd32(&v, 0) + 1;
        wr32(&mut v, 0, l);
        let rest = rd32(&v, 8) as usize + lp;
        wr32(&mut v, 8, rest.min(u32::MAX as usize) as u32);
        *b = v.into_boxed_slice();
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// Index of the block that would hold `id`: the last whose first id is <= `id` (0 when none).
    fn block_for(&self, id: StreamId) -> usize {
        self.blocks
            .partition_point(|(k, _)| *k <= id)
            .saturating_sub(1)
    }

    /// Calls `f` on the live entries with ids in `start..=end`, ascending (or descending when
    /// `rev`), until it returns false. O(log B + entries visited).
    pub fn range<'a>(
        &'a self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(EntryRef<'a>) -> bool,
    ) {
        if start > end || self.blocks.is_empty() {
            return;
        }
        if !rev {
            for (base, b) in &self.blocks[self.block_for(start)..] {
                if *base > end {
                    return;
                }
                let m = master(b);
                let mut pos = m.first;
                while pos < b.len() {
                    let (e, next) = read_entry(b, *base, &m, pos);
                    pos = next;
                    if e.id > end {
                        return;
                    }
                    if e.deleted || e.id < start {
                        continue;
                    }
                    if !f(e) {
                        return;
                    }
                }
            }
        } else {
            let last = self.block_for(end);
            for (base, b) in self.blocks[..=last].iter().rev() {
                let m = master(b);
                for &pos in entry_offsets(b, *base).iter().rev() {
                    let (e, _) = read_entry(b, *base, &m, pos);
                    if e.id < start {
                        return;
                    }
                    if e.deleted || e.id > end {
                        continue;
                    }
                    if !f(e) {
                        return;
                    }
                }
            }
        }
    }

    /// The live entry `id`, if any. O(log B + block).
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        let mut out = None;
        self.range(id, id, false, |e| {
            out = Some(e);
            false
        });
        out
    }

    /// Whether live entry `id` exists.
    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The first (or last) live id, if any (Redis's streamGetEdgeID skipping tombstones).
    pub fn edge(&self, first: bool) -> Option<StreamId> {
        let mut out = None;
        self.range(StreamId::MIN, StreamId::MAX, !first, |e| {
            out = Some(e.id);
            false
        });
        out
    }

    /// The first id of the stream, tombstones included (XADD/XTRIM's rewritten MINID).
    pub fn first_any(&self) -> Option<StreamId> {
        let (base, b) = self.blocks.first()?;
        let m = master(b);
        (m.first < b.len()).then(|| read_entry(b, *base, &m, m.first).0.id)
    }

    /// Deletes live entry `id` (flags it; drops its block when nothing live remains). Whether it
    /// was there. O(log B + block).
    pub fn delete(&mut self, id: StreamId) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let i = self.block_for(id);
        let (base, b) = &mut self.blocks[i];
        let base = *base;
        let m = master(b);
        let mut pos = m.first;
        let mut found = None;
        while pos < b.len() {
            let (e, next) = read_entry(b, base, &m, pos);
            if e.id == id && !e.deleted {
                found = Some(pos);
                break;
            }
            if e.id > id {
                break;
            }
            pos = next;
        }
        let Some(at) = found else {
            return false;
        };
        if mark_deleted(b, at) {
            self.blocks.remove(i);
        }
        self.length -= 1;
        true
    }

    /// Trims as Redis's streamTrim: whole blocks from the head, then (unless `approx`) entries
    /// of the next block; at most `limit` entries when `limit` > 0. Returns the entries removed.
    /// O(blocks removed + block).
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        let mut drop = 0;
        let mut partial = None;
        for (i, (base, b)) in self.blocks.iter().enumerate() {
            if let Trim::MaxLen(max) = how {
                if self.length - deleted <= max {
                    break;
                }
            }
            let entries = live(b);
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove = match how {
                Trim::MaxLen(max) => self.length - deleted - entries >= max,
                Trim::MinId(min) => {
                    let offs = entry_offsets(b, *base);
                    let m = master(b);
                    let last = offs
                        .last()
                        .map_or(*base, |&p| read_entry(b, *base, &m, p).0.id);
                    last < min
                }
            };
            if remove {
                drop = i + 1;
                deleted += entries;
                continue;
            }
            if !approx {
                partial = Some(i);
            }
            break;
        }
        self.blocks.drain(..drop);
        self.length -= deleted;
        if let Some(i) = partial.map(|i| i - drop) {
            if let Some((base, b)) = self.blocks.get_mut(i) {
                let base = *base;
                let offs = entry_offsets(b, base);
                let mut from_block = 0;
                for pos in offs {
                    let (id, del) = {
                        let m = master(b);
                        let (e, _) = read_entry(b, base, &m, pos);
                        (e.id, e.deleted)
                    };
                    let stop = match how {
                        Trim::MaxLen(max) => self.length <= max,
                        Trim::MinId(min) => id >= min,
                    };
                    if stop {
                        break;
                    }
                    if !del {
                        mark_deleted(b, pos);
                        from_block += 1;
                        self.length -= 1;
                    }
                }
                // A block left without live entries stays, as Redis leaves its listpack.
                deleted += from_block;
            }
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge(true).unwrap_or(StreamId::MAX);
        }
        deleted
    }

    /// The group `name`, if any. O(log groups).
    pub fn group(&self, name: &[u8]) -> Option<&Group> {
        self.groups.as_ref()?.get(name)
    }

    /// The group `name`, mutably.
    pub fn group_mut(&mut self, name: &[u8]) -> Option<&mut Group> {
        self.groups.as_mut()?.get_mut(name)
    }

    /// Number of groups.
    pub fn group_count(&self) -> usize {
        self.groups.as_ref().map_or(0, |g| g.len())
    }

    /// Whether some range from `start` on (to `end`, or the end) may hold a tombstone (Redis's
    /// streamRangeHasTombstones).
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted {
            return false;
        }
        let s = start.unwrap_or(StreamId::MIN);
        let e = end.unwrap_or(StreamId::MAX);
        s <= self.max_deleted && self.max_deleted <= e
    }

    /// Redis's streamEstimateDistanceFromFirstEverEntry: the logical read counter of `id`, or
    /// None when it cannot be known.
    pub fn estimate_distance(&self, id: StreamId) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added as i64);
        }
        if id == self.last_id {
            return Some(self.entries_added as i64);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted.is_zero() || self.max_deleted < self.first_id {
            if id < self.first_id {
                return Some((self.entries_added - self.length) as i64);
            }
            if id == self.first_id {
                return Some((self.entries_added - self.length + 1) as i64);
            }
        }
        None
    }

    /// A group's lag (XINFO), or None when unknown (Redis's streamReplyWithCGLag).
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != -1 && !self.range_has_tombstones(Some(g.last_id), None) {
            return Some((self.entries_added as i64).wrapping_sub(g.entries_read));
        }
        self.estimate_distance(g.last_id)
            .map(|r| self.entries_added as i64 - r)
    }
}

// ---- blocks as RDB sees them ----

/// One block, read-only, for serializing it as Redis's stream listpack (see `rdb::stream`): its
/// master id and fields, its counts, and every entry, deleted ones included.
pub struct BlockView<'a> {
    /// The master id (the radix tree key in Redis).
    pub base: StreamId,
    /// Live entries.
    pub live: u64,
    /// Entries flagged deleted.
    pub dead: u64,
    b: &'a [u8],
    m: Master<'a>,
}

impl<'a> BlockView<'a> {
    /// The master entry's field names, in order. O(fields).
    pub fn master_fields(&self) -> Vec<&'a [u8]> {
        let mut pos = 0;
        (0..self.m.nfields)
            .map(|_| get_bytes(self.m.fields, &mut pos))
            .collect()
    }

    /// Every entry in id order, deleted ones too (with `deleted` set). O(block).
    pub fn entries(&self) -> impl Iterator<Item = EntryRef<'a>> + '_ {
        let mut pos = self.m.first;
        std::iter::from_fn(move || {
            if pos >= self.b.len() {
                return None;
            }
            let (e, next) = read_entry(self.b, self.base, &self.m, pos);
            pos = next;
            Some(e)
        })
    }
}

/// Builds one block from entries loaded from an RDB payload, keeping the flags and master fields
/// the payload had, so that the block is the one Redis held (and DUMPs back the same bytes).
pub struct BlockBuilder {
    base: StreamId,
    v: Vec<u8>,
    live: u32,
    dead: u32,
}

impl BlockBuilder {
    /// A block with master id `base` and master field names `fields`. O(fields).
    pub fn new(base: StreamId, fields: &[&[u8]]) -> Self {
        let mut v = Vec::with_capacity(HEADER + 16);
        v.extend_from_slice(&[0u8; HEADER]);
        put_varint(&mut v, fields.len() as u64);
        for f in fields {
            put_bytes(&mut v, f);
        }
        BlockBuilder {
            base,
            v,
            live: 0,
            dead: 0,
        }
    }

    /// Appends entry `id` (at or after the master id, after the previous entry: the caller
    /// checks). `fields` is None when the entry uses the master's field names, in which case
    /// `values` has one value per master field; otherwise it pairs with `values`. O(entry).
    pub fn entry(
        &mut self,
        id: StreamId,
        deleted: bool,
        fields: Option<&[&[u8]]>,
        values: &[&[u8]],
    ) {
        let mut flags = if deleted { DELETED } else { 0 };
        if fields.is_none() {
            flags |= SAME_FIELDS;
        }
        self.v.push(flags);
        put_varint(&mut self.v, id.ms.wrapping_sub(self.base.ms));
        put_varint(
            &mut self.v,
            zigzag(id.seq.wrapping_sub(self.base.seq) as i64),
        );
        match fields {
            Some(fs) => {
                put_varint(&mut self.v, fs.len().min(values.len()) as u64);
                for (f, val) in fs.iter().zip(values) {
                    put_bytes(&mut self.v, f);
                    put_bytes(&mut self.v, val);
                }
            }
            None => {
                for val in values {
                    put_bytes(&mut self.v, val);
                }
            }
        }
        if deleted {
            self.dead += 1;
        } else {
            self.live += 1;
        }
    }

    /// Entries appended so far, live and deleted.
    pub fn len(&self) -> u64 {
        u64::from(self.live) + u64::from(self.dead)
    }

    /// Whether no entry was appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Stream {
    /// Every block in id order, for serialization. O(1) per block.
    pub fn block_views(&self) -> impl Iterator<Item = BlockView<'_>> + '_ {
        self.blocks.iter().map(|(base, b)| BlockView {
            base: *base,
            live: live(b),
            dead: dead(b),
            b,
            m: master(b),
        })
    }

    /// Appends a block built from a payload after every block held (the caller checks that its
    /// ids follow theirs). `lp_size` is the size of the block's Redis listpack without its two
    /// count entries, as the payload had it, so that later appends cut blocks where Redis would.
    /// Only the blocks are changed: the caller sets the length and ids. O(1) amortized.
    pub fn push_block(&mut self, block: BlockBuilder, lp_size: usize) {
        let mut v = block.v;
        wr32(&mut v, 0, block.live);
        wr32(&mut v, 4, block.dead);
        wr32(&mut v, 8, lp_size.min(u32::MAX as usize) as u32);
        self.blocks.push((block.base, v.into_boxed_slice()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIM: NodeLimits = NodeLimits {
        max_bytes: 4096,
        max_entries: 100,
    };

    fn ids(s: &Stream) -> Vec<StreamId> {
        let mut v = Vec::new();
        s.range(StreamId::MIN, StreamId::MAX, false, |e| {
            v.push(e.id);
            true
        });
        v
    }

    #[test]
    fn blocks_are_cut_at_the_entry_limit() {
        let mut s = Stream::default();
        for i in 1..=250u64 {
            s.append(StreamId::new(i, 0), &[(b"f", b"v")], LIM).unwrap();
        }
        assert_eq!(s.block_count(), 3);
        assert_eq!(s.length, 250);
        assert!(s.rax_nodes() >= 4);
        assert_eq!(s.trim(Trim::MaxLen(120), true, 0), 100);
        assert_eq!(s.length, 150);
        assert_eq!(s.trim(Trim::MaxLen(120), false, 0), 30);
        assert_eq!(ids(&s)[0], StreamId::new(131, 0));
        assert_eq!(s.first_id, StreamId::new(131, 0));
    }

    #[test]
    fn fields_differ_from_master() {
        let mut s = Stream::default();
        s.append(StreamId::new(1, 0), &[(b"a", b"1"), (b"b", b"2")], LIM)
            .unwrap();
        s.append(StreamId::new(1, 1), &[(b"c", b"3")], LIM).unwrap();
        s.append(StreamId::new(2, 0), &[(b"a", b"x"), (b"b", b"y")], LIM)
            .unwrap();
        let mut got = Vec::new();
        s.range(StreamId::MIN, StreamId::MAX, true, |e| {
            got.push((
                e.id,
                e.pairs()
                    .map(|(f, v)| (f.to_vec(), v.to_vec()))
                    .collect::<Vec<_>>(),
            ));
            true
        });
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, StreamId::new(2, 0));
        assert_eq!(got[1].1, vec![(b"c".to_vec(), b"3".to_vec())]);
        assert_eq!(
            s.append(StreamId::new(2, 0), &[(b"a", b"1")], LIM),
            Err(AppendError::IdTooSmall)
        );
    }

    type Fields = Vec<(Vec<u8>, Vec<u8>)>;

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8, u8, u8),
        Del(u16),
        TrimLen(u16, bool),
        TrimId(u16, bool),
        Range(u16, u16, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..3, 0u8..4, 0u8..3).prop_map(|(a, b, c)| Op::Add(a, b, c)),
            2 => any::<u16>().prop_map(Op::Del),
            1 => (0u16..300, any::<bool>()).prop_map(|(n, a)| Op::TrimLen(n, a)),
            1 => (0u16..600, any::<bool>()).prop_map(|(n, a)| Op::TrimId(n, a)),
            2 => (0u16..600, 0u16..600, any::<bool>()).prop_map(|(a, b, r)| Op::Range(a, b, r)),
        ]
    }

    proptest! {
        #[test]
        fn blocks_match_a_btreemap(ops in proptest::collection::vec(op(), 1..400), max in 1u64..8) {
            let lim = NodeLimits { max_bytes: 64, max_entries: max };
            let mut s = Stream::default();
            let mut model: BTreeMap<StreamId, Fields> = BTreeMap::new();
            let mut next = 1u64;
            for o in ops {
                match o {
                    Op::Add(step, nf, kind) => {
                        let id = StreamId::new(next / 3, next % 3 + u64::from(step));
                        next += 1 + u64::from(step);
                        let fields: Vec<(Vec<u8>, Vec<u8>)> = (0..nf)
                            .map(|i| (vec![b'a' + i + kind], format!("{}", next * 7 + u64::from(i)).into_bytes()))
                            .collect();
                        let pairs: Vec<(&[u8], &[u8])> = fields.iter().map(|(f, v)| (&f[..], &v[..])).collect();
                        if id > s.last_id {
                            s.append(id, &pairs, lim).unwrap();
                            model.insert(id, fields);
                        }
                    }
                    Op::Del(k) => {
                        let id = model.keys().nth(k as usize % (model.len() + 1)).copied().unwrap_or(StreamId::new(9999, 0));
                        prop_assert_eq!(s.delete(id), model.remove(&id).is_some());
                    }
                    Op::TrimLen(n, approx) => {
                        let before = s.length;
                        let d = s.trim(Trim::MaxLen(u64::from(n)), approx, 0);
                        prop_assert_eq!(before - d, s.length);
                        if !approx { prop_assert!(s.length <= u64::from(n)); }
                        let ids = ids(&s);
                        let keep: BTreeMap<_, _> = model.iter().filter(|(k, _)| ids.contains(k)).map(|(k, v)| (*k, v.clone())).collect();
                        prop_assert_eq!(keep.len() as u64 + d, model.len() as u64);
                        // Trimming removes a prefix.
                        prop_assert!(model.keys().take(d as usize).all(|k| !ids.contains(k)));
                        model = keep;
                    }
                    Op::TrimId(n, approx) => {
                        let min = StreamId::new(u64::from(n) / 3, 0);
                        let d = s.trim(Trim::MinId(min), approx, 0);
                        let before = model.len();
                        if !approx {
                            model.retain(|k, _| *k >= min);
                            prop_assert_eq!(before - model.len(), d as usize);
                        } else {
                            let ids = ids(&s);
                            model.retain(|k, _| ids.contains(k));
                            prop_assert_eq!(before - model.len(), d as usize);
                        }
                    }
                    Op::Range(a, b, rev) => {
                        let (a, b) = (StreamId::new(u64::from(a) / 3, 1), StreamId::new(u64::from(b) / 3, 2));
                        let mut got = Vec::new();
                        s.range(a, b, rev, |e| { got.push((e.id, e.pairs().map(|(f, v)| (f.to_vec(), v.to_vec())).collect::<Vec<_>>())); true });
                        let mut want: Vec<_> = if a <= b { model.range(a..=b).map(|(k, v)| (*k, v.clone())).collect() } else { vec![] };
                        if rev { want.reverse(); }
                        prop_assert_eq!(got, want);
                    }
                }
                prop_assert_eq!(s.length as usize, model.len());
                prop_assert_eq!(s.edge(true), model.keys().next().copied());
                prop_assert_eq!(s.edge(false), model.keys().next_back().copied());
            }
        }
    }
}
