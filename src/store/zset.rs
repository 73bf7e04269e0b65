//! Sorted sets in two representations, as Redis has two encodings. A small set (while Redis would
//! keep a listpack) is one packed byte buffer of (score, member) entries in order, scanned linearly:
//! O(N) per operation for N <= zset-max-listpack-entries, and no allocation per member. A large set
//! is a member -> score map plus an ordered index of (score, member): O(1) ZSCORE, O(log N) insert
//! and remove, O(log N) positioning for score and lex ranges, and O(log N) ranks, the index being an
//! order-statistic B-tree ([`super::ostree`]) whose inner nodes count the keys under each child, as
//! Redis's skiplist keeps span counts.
//!
//! A listpack-encoded set stores a zero score as the integer 0 (so `-0` reads back as `0` until the
//! set converts to a skiplist, which keeps the double as given), as Redis does.

use std::ops::Bound::{self, Excluded, Included, Unbounded};

use indexmap::IndexMap;

use super::encoding::{Elem, EncodingLimits};
use super::ostree::{self, OsTree};
use super::SetValue;

/// A score with a total order (Redis rejects NaN scores, so `total_cmp` matches numeric order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // -0.0 and 0.0 compare equal in Redis; normalise before total_cmp.
        let a = if self.0 == 0.0 { 0.0 } else { self.0 };
        let b = if other.0 == 0.0 { 0.0 } else { other.0 };
        a.total_cmp(&b)
    }
}

/// An entry of the ordered index: a score and its member.
pub type Pair = (Score, Elem);
/// The ordered index of a large sorted set.
pub type Sorted = OsTree<Pair>;
/// A score range end: the value, and whether it is exclusive (`(1.5`).
pub type ScoreEnd = (f64, bool);
/// A probe into the order of a sorted set: a score and a member, borrowed.
type Probe<'a> = (Score, &'a [u8]);

/// A sorted set. While Redis would encode it as a listpack (`listpack`), it is one packed byte buffer
/// of (score, member) entries in set order, scanned linearly as Redis scans its listpack: no
/// allocation per member, so 100k small sets cost less than Redis's. Past the listpack limits it
/// converts (once, as Redis) to a member -> score map plus an order-statistic index of (score,
/// member). Every read and edit goes through the methods below. Never empty while stored.
#[derive(Debug, Clone)]
pub struct ZSetValue {
    /// `Small` exactly while Redis would still encode the set as a listpack (so the flag costs no
    /// byte: the value is 32 bytes).
    repr: Repr,
}

/// The two representations.
#[derive(Debug, Clone)]
enum Repr {
    Small(Packed),
    Big(Box<Big>),
}

/// The large representation.
#[derive(Debug, Clone, Default)]
struct Big {
    /// Member -> score, in insertion order as kept by swap removal (the "table order" ZRANDMEMBER
    /// and ZSCAN walk).
    scores: IndexMap<Elem, f64, ahash::RandomState>,
    /// The ordered index: (score, member), ascending.
    sorted: Sorted,
}

/// The small representation: `n` entries, ascending by (score, member). An entry is a header, the
/// score (an i8/i16/i32 for an integral score, else the f64, as the header's tag says) and the
/// member bytes. The header is one byte `0b0ttlllll` for a member shorter than 32 bytes (tag `t`,
/// length `l`), else `0x80 | t` followed by the length in LEB128.
#[derive(Debug, Clone, Default)]
struct Packed {
    buf: Vec<u8>,
    n: usize,
}

const TAG_F64: u8 = 0;
const TAG_I8: u8 = 1;
const TAG_I16: u8 = 2;
const TAG_I32: u8 = 3;

/// Appends one packed entry. O(len).
fn put_entry(out: &mut Vec<u8>, s: f64, m: &[u8]) {
    let i = s as i32;
    let tag = if i as f64 == s && !(s == 0.0 && s.is_sign_negative()) {
        if i8::try_from(i).is_ok() {
            TAG_I8
        } else if i16::try_from(i).is_ok() {
            TAG_I16
        } else {
            TAG_I32
        }
    } else {
        TAG_F64
    };
    if m.len() < 32 {
        out.push(tag << 5 | m.len() as u8);
    } else {
        out.push(0x80 | tag);
        let mut len = m.len();
        loop {
            let b = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
    }
    match tag {
        TAG_I8 => out.extend_from_slice(&(i as i8).to_le_bytes()),
        TAG_I16 => out.extend_from_slice(&(i as i16).to_le_bytes()),
        TAG_I32 => out.extend_from_slice(&i.to_le_bytes()),
        _ => out.extend_from_slice(&s.to_le_bytes()),
    }
    out.extend_from_slice(m);
}

/// Decodes the entry at `off`: its score, member and the offset of the next entry. O(1).
#[inline]
fn read_entry(buf: &[u8], mut off: usize) -> Option<(f64, &[u8], usize)> {
    let head = *buf.get(off)?;
    off += 1;
    let (tag, len) = if head & 0x80 == 0 {
        (head >> 5, (head & 0x1f) as usize)
    } else {
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let b = *buf.get(off)?;
            off += 1;
            len |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 56 {
                return None;
            }
        }
        (head & 0x7f, len)
    };
    let (s, w) = match tag {
        TAG_I8 => (i8::from_le_bytes([*buf.get(off)?]) as f64, 1),
        TAG_I16 => (
            i16::from_le_bytes(buf.get(off..off + 2)?.try_into().ok()?) as f64,
            2,
        ),
        TAG_I32 => (
            i32::from_le_bytes(buf.get(off..off + 4)?.try_into().ok()?) as f64,
            4,
        ),
        _ => (
            f64::from_le_bytes(buf.get(off..off + 8)?.try_into().ok()?),
            8,
        ),
    };
    off += w;
    let m = buf.get(off..off + len)?;
    Some((s, m, off + len))
}

impl Packed {
    /// The entries from the start, with their offsets. O(1) per step.
    fn walk(&self) -> impl Iterator<Item = (usize, f64, &[u8], usize)> + '_ {
        let mut off = 0;
        std::iter::from_fn(move || {
            let (s, m, next) = read_entry(&self.buf, off)?;
            let at = off;
            off = next;
            Some((at, s, m, next))
        })
    }

    /// The byte offset of the entry of rank `r` (the end of the buffer when `r` is the length). O(r).
    fn offset_of(&self, r: usize) -> usize {
        if r >= self.n {
            return self.buf.len();
        }
        self.walk().nth(r).map_or(self.buf.len(), |e| e.0)
    }

    /// The offsets and score of member `m`. O(N).
    fn find(&self, m: &[u8]) -> Option<(usize, usize, f64)> {
        self.walk()
            .find(|e| e.2 == m)
            .map(|(at, s, _, next)| (at, next, s))
    }

    /// Inserts an entry at its place in the order. O(N).
    fn insert(&mut self, s: f64, m: &[u8]) {
        let key = (Score(s), m);
        let at = self
            .walk()
            .find(|e| (Score(e.1), e.2) > key)
            .map_or(self.buf.len(), |e| e.0);
        let mut enc = Vec::with_capacity(m.len() + 12);
        put_entry(&mut enc, s, m);
        self.buf.reserve_exact(enc.len());
        self.buf.splice(at..at, enc);
        self.n += 1;
    }

    /// Removes the bytes `at..end` holding `k` entries, giving back slack memory. O(N).
    fn cut(&mut self, at: usize, end: usize, k: usize) {
        self.buf.drain(at..end);
        self.n -= k;
        if self.buf.capacity() > self.buf.len() + 32 {
            self.buf.shrink_to_fit();
        }
    }

    /// Number of entries below `key` (with `inclusive`, at or below). O(N).
    fn count_below(&self, key: Probe, inclusive: bool) -> usize {
        self.walk()
            .take_while(|e| {
                let c = (Score(e.1), e.2).cmp(&key);
                c == std::cmp::Ordering::Less || (inclusive && c == std::cmp::Ordering::Equal)
            })
            .count()
    }

    /// The entries of ranks `lo..hi`. O(lo) to position.
    fn run(&self, lo: usize, hi: usize) -> SmallIter<'_> {
        let hi = hi.min(self.n);
        let lo = lo.min(hi);
        SmallIter {
            buf: &self.buf,
            off: self.offset_of(lo),
            lo,
            hi,
            back: Vec::new(),
        }
    }
}

/// An iterator over entries `lo..hi` of a packed set, ascending; double-ended (the back end collects
/// the offsets of the remaining entries on first use, O(M)).
#[derive(Debug, Clone)]
pub struct SmallIter<'z> {
    buf: &'z [u8],
    /// Byte offset of the entry of rank `lo`.
    off: usize,
    lo: usize,
    hi: usize,
    /// Offsets of the entries of ranks `lo..hi` as of the first `next_back` (only the last
    /// `hi - lo` are still to come from the back).
    back: Vec<usize>,
}

impl<'z> Iterator for SmallIter<'z> {
    type Item = (f64, &'z [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.lo >= self.hi {
            return None;
        }
        let (s, m, next) = read_entry(self.buf, self.off)?;
        self.off = next;
        self.lo += 1;
        Some((s, m))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.hi - self.lo;
        (n, Some(n))
    }

    fn count(self) -> usize {
        self.hi - self.lo
    }
}

impl DoubleEndedIterator for SmallIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.lo >= self.hi {
            return None;
        }
        if self.back.is_empty() {
            let mut off = self.off;
            for _ in self.lo..self.hi {
                self.back.push(off);
                off = read_entry(self.buf, off)?.2;
            }
        }
        let at = self.back.pop()?;
        self.hi -= 1;
        read_entry(self.buf, at).map(|(s, m, _)| (s, m))
    }
}

impl ExactSizeIterator for SmallIter<'_> {}

/// A contiguous run of a sorted set in set order, ascending (double-ended, exact-sized): the
/// members of a rank, score or lex range. Items are (score, member).
#[derive(Debug, Clone)]
pub enum Run<'z> {
    /// Over the order-statistic index: `nth` re-seeks in O(log N).
    Big(ostree::Iter<'z, Pair>),
    /// Over a packed set.
    Small(SmallIter<'z>),
}

impl Run<'_> {
    /// The ranks `lo..hi` the run still covers. O(1).
    pub fn ranks(&self) -> (usize, usize) {
        match self {
            Run::Big(it) => (it.front_rank(), it.back_rank()),
            Run::Small(it) => (it.lo, it.hi),
        }
    }
}

impl<'z> Iterator for Run<'z> {
    type Item = (f64, &'z [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Run::Big(it) => it.next().map(|(s, m)| (s.0, &**m)),
            Run::Small(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Run::Big(it) => it.size_hint(),
            Run::Small(it) => it.size_hint(),
        }
    }

    fn count(self) -> usize {
        self.len()
    }

    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        match self {
            Run::Big(it) => it.nth(n).map(|(s, m)| (s.0, &**m)),
            Run::Small(it) => it.nth(n),
        }
    }
}

impl DoubleEndedIterator for Run<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Run::Big(it) => it.next_back().map(|(s, m)| (s.0, &**m)),
            Run::Small(it) => it.next_back(),
        }
    }

    fn nth_back(&mut self, n: usize) -> Option<Self::Item> {
        match self {
            Run::Big(it) => it.nth_back(n).map(|(s, m)| (s.0, &**m)),
            Run::Small(it) => it.nth_back(n),
        }
    }
}

impl ExactSizeIterator for Run<'_> {}

/// The members of a sorted set with their scores in table order: set order for a packed set, the
/// map's order for a large one (what ZRANDMEMBER, ZSCAN and the set algebra walk).
#[derive(Debug, Clone)]
pub enum Entries<'z> {
    /// The map of a large set.
    Big(indexmap::map::Iter<'z, Elem, f64>),
    /// A packed set.
    Small(SmallIter<'z>),
}

impl<'z> Iterator for Entries<'z> {
    type Item = (&'z [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Entries::Big(it) => it.next().map(|(m, s)| (&**m, *s)),
            Entries::Small(it) => it.next().map(|(s, m)| (m, s)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Entries::Big(it) => it.size_hint(),
            Entries::Small(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for Entries<'_> {}

/// The probes bounding the members whose scores lie between `min` and `max` (value, exclusive);
/// None when the interval is empty (Redis's `zslIsInRange` test).
fn score_bounds(
    min: ScoreEnd,
    max: ScoreEnd,
) -> Option<(Bound<Probe<'static>>, Bound<Probe<'static>>)> {
    if min.0 > max.0 || (min.0 == max.0 && (min.1 || max.1)) {
        return None;
    }
    // The empty member sorts first among members of equal score.
    let at = |s: f64| (Score(s), &b""[..]);
    let lo = match min {
        (v, true) if v == f64::INFINITY => return None,
        (v, true) => Included(at(v.next_up())),
        (v, false) if v == f64::NEG_INFINITY => Unbounded,
        (v, false) => Included(at(v)),
    };
    let hi = match max {
        (v, true) => Excluded(at(v)),
        (v, false) if v == f64::INFINITY => Unbounded,
        (v, false) => Excluded(at(v.next_up())),
    };
    Some((lo, hi))
}

/// A lexicographic range end: `-`, `+`, `[member` or `(member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lex<'a> {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[member`: inclusive.
    Incl(&'a [u8]),
    /// `(member`: exclusive.
    Excl(&'a [u8]),
}

/// Whether `m` is at or above the range end `min`.
fn gte_min(m: &[u8], min: Lex) -> bool {
    match min {
        Lex::Min => true,
        Lex::Max => false,
        Lex::Incl(x) => m >= x,
        Lex::Excl(x) => m > x,
    }
}

/// Whether `m` is at or below the range end `max`.
fn lte_max(m: &[u8], max: Lex) -> bool {
    match max {
        Lex::Min => false,
        Lex::Max => true,
        Lex::Incl(x) => m <= x,
        Lex::Excl(x) => m < x,
    }
}

/// Whether a lex range can match nothing whatever the set holds (Redis's `sdscmplex` test).
fn lex_empty(min: Lex, max: Lex) -> bool {
    use std::cmp::Ordering::*;
    let cmp = match (min, max) {
        (Lex::Min, Lex::Min) | (Lex::Max, Lex::Max) => Equal,
        (Lex::Min, _) | (_, Lex::Max) => Less,
        (Lex::Max, _) | (_, Lex::Min) => Greater,
        (Lex::Incl(a) | Lex::Excl(a), Lex::Incl(b) | Lex::Excl(b)) => a.cmp(b),
    };
    let excl = |l: Lex| !matches!(l, Lex::Incl(_));
    cmp == Greater || (cmp == Equal && (excl(min) || excl(max)))
}

/// Redis's index sanitizing for rank ranges (negative indices count from the end, the end is clamped):
/// the inclusive ascending index range, or None when empty. O(1).
fn rank_indices(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if stop < 0 { len + stop } else { stop };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, e as usize))
}

impl Default for ZSetValue {
    /// An empty large-encoded set (what `listpack: false` means).
    fn default() -> Self {
        ZSetValue {
            repr: Repr::Big(Box::default()),
        }
    }
}

impl ZSetValue {
    /// An empty sorted set, encoded as Redis 7.0's ZADD creates one whose first member has
    /// `first_len` bytes: a skiplist when listpacks are disabled or that member is too long. O(1).
    pub fn for_first_member(first_len: usize, l: &EncodingLimits) -> Self {
        let listpack = l.zset_max_listpack_entries != 0 && first_len <= l.zset_max_listpack_value;
        Self::empty(listpack)
    }

    /// An empty set in the representation `listpack` calls for. O(1).
    fn empty(listpack: bool) -> Self {
        if listpack {
            ZSetValue {
                repr: Repr::Small(Packed::default()),
            }
        } else {
            Self::default()
        }
    }

    /// A sorted set of `pairs` (distinct members), encoded as Redis's `zsetConvertToListpackIfNeeded`
    /// leaves a computed result: a listpack when it has at most `zset-max-listpack-entries` members
    /// none longer than `zset-max-listpack-value`. O(M log M) (O(M^2) while packed, M <= 128 there
    /// by default).
    pub fn from_pairs(pairs: &[(&[u8], f64)], l: &EncodingLimits) -> Self {
        let longest = pairs.iter().map(|p| p.0.len()).max().unwrap_or(0);
        let listpack =
            pairs.len() <= l.zset_max_listpack_entries && longest <= l.zset_max_listpack_value;
        let mut z = Self::empty(listpack);
        if let Repr::Big(b) = &mut z.repr {
            b.scores.reserve(pairs.len());
        }
        for &(m, s) in pairs {
            z.insert_raw(m, s);
        }
        z
    }

    /// Whether Redis would encode the set as a listpack (OBJECT ENCODING). O(1).
    #[inline]
    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Small(_))
    }

    /// Number of members. O(1).
    #[inline]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(p) => p.n,
            Repr::Big(b) => b.scores.len(),
        }
    }

    /// Whether the set has no member. O(1).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of `m`. O(1) for a large set, O(N) packed.
    #[inline]
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Small(p) => p.find(m).map(|f| f.2),
            Repr::Big(b) => b.scores.get(m).copied(),
        }
    }

    /// Whether `m` is a member. As [`Self::score`].
    pub fn contains(&self, m: &[u8]) -> bool {
        self.score(m).is_some()
    }

    /// Every member with its score in table order (see [`Entries`]). O(1) per step.
    pub fn iter_table(&self) -> Entries<'_> {
        match &self.repr {
            Repr::Small(p) => Entries::Small(p.run(0, p.n)),
            Repr::Big(b) => Entries::Big(b.scores.iter()),
        }
    }

    /// The member at table index `i` (see [`Entries`]). O(1) for a large set, O(i) packed.
    pub fn table_entry(&self, i: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Small(p) => p.run(i, i + 1).next().map(|(s, m)| (m, s)),
            Repr::Big(b) => b.scores.get_index(i).map(|(m, s)| (&**m, *s)),
        }
    }

    /// Every member and its score in sorted-set order (score, then member bytes), reversible. O(1)
    /// per step.
    pub fn iter_sorted(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> + '_ {
        self.iter().map(|(s, m)| (m, s))
    }

    /// A sorted set of `pairs` (distinct members) added one by one in the given order, as Redis's
    /// ZRANGESTORE fills its destination: it starts as a listpack when `listpack` (Redis's
    /// `zrangeResultBeginStore`: the rank form's result fits `zset-max-listpack-entries`, or the
    /// length is unknown), and converts at the first member that overflows the limits (`zsetAdd`),
    /// so zero scores added before the conversion read back as 0. O(M log M).
    pub fn from_added(pairs: &[(&[u8], f64)], listpack: bool, l: &EncodingLimits) -> Self {
        let mut z = Self::empty(listpack);
        for &(m, s) in pairs {
            z.add_absent(m, s, l);
        }
        z
    }

    /// The heap bytes of the packed buffer, or None for a large set (MEMORY USAGE). O(1).
    pub fn packed_capacity(&self) -> Option<usize> {
        match &self.repr {
            Repr::Small(p) => Some(p.buf.capacity()),
            Repr::Big(_) => None,
        }
    }

    /// The entry capacity of a large set's member map (0 packed; MEMORY USAGE). O(1).
    pub fn table_capacity(&self) -> usize {
        match &self.repr {
            Repr::Small(_) => 0,
            Repr::Big(b) => b.scores.capacity(),
        }
    }

    /// The score as the current encoding stores it: a listpack keeps integral scores as integers, so a
    /// zero score (even -0) reads back as 0; a skiplist keeps the double as given. O(1).
    #[inline]
    fn as_stored(&self, s: f64) -> f64 {
        if self.is_listpack() && s == 0.0 {
            0.0
        } else {
            s
        }
    }

    /// Inserts an absent member in the current representation. O(log N), O(N) packed.
    fn insert_raw(&mut self, m: &[u8], s: f64) {
        let s = self.as_stored(s);
        match &mut self.repr {
            Repr::Small(p) => p.insert(s, m),
            Repr::Big(b) => {
                let e: Elem = m.into();
                b.sorted.insert((Score(s), e.clone()));
                b.scores.insert(e, s);
            }
        }
    }

    /// Converts a packed set to the large representation (Redis's `zsetConvert` to a skiplist);
    /// scores keep the values the listpack held. O(N log N).
    fn convert(&mut self) {
        let Repr::Small(p) = &self.repr else {
            return;
        };
        let mut big = Big::default();
        big.scores.reserve(p.n);
        for (_, s, m, _) in p.walk() {
            let e: Elem = m.into();
            big.sorted.insert((Score(s), e.clone()));
            big.scores.insert(e, s);
        }
        self.repr = Repr::Big(Box::new(big));
    }

    /// Adds a member known to be absent, converting to a skiplist first when the listpack would grow
    /// past its limits (as Redis's `zsetAdd`). O(log N); O(N) packed.
    pub fn add_absent(&mut self, m: &[u8], s: f64, l: &EncodingLimits) {
        if self.is_listpack()
            && (self.len() + 1 > l.zset_max_listpack_entries || m.len() > l.zset_max_listpack_value)
        {
            self.convert();
        }
        self.insert_raw(m, s);
    }

    /// Moves a present member from score `old` to `new`, reusing its allocations and keeping its
    /// position in the map. O(log N); O(N) packed.
    pub fn rescore(&mut self, m: &[u8], old: f64, new: f64) {
        let new = self.as_stored(new);
        match &mut self.repr {
            Repr::Small(p) => {
                if let Some((at, end, _)) = p.find(m) {
                    p.cut(at, end, 1);
                    p.insert(new, m);
                }
            }
            Repr::Big(b) => {
                let Some((i, key, _)) = b.scores.swap_remove_full(m) else {
                    return;
                };
                let probe = (Score(old), key);
                let taken = b.sorted.take(&probe);
                let key = probe.1;
                let e = match taken {
                    Some((_, e)) => e,
                    None => key.clone(),
                };
                b.sorted.insert((Score(new), e));
                let (j, _) = b.scores.insert_full(key, new);
                b.scores.swap_indices(i, j);
            }
        }
    }

    /// Removes `m`; returns whether it was present. O(log N); O(N) packed.
    pub fn remove_member(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Small(p) => match p.find(m) {
                Some((at, end, _)) => {
                    p.cut(at, end, 1);
                    true
                }
                None => false,
            },
            Repr::Big(b) => match b.scores.swap_remove_entry(m) {
                Some((e, s)) => {
                    b.sorted.remove(&(Score(s), e));
                    true
                }
                None => false,
            },
        }
    }

    /// Removes and returns the member with the highest score (`max`) or the lowest. O(log N); O(N)
    /// packed.
    pub fn pop(&mut self, max: bool) -> Option<Pair> {
        match &mut self.repr {
            Repr::Small(p) => {
                let r = if max { p.n.checked_sub(1)? } else { 0 };
                let at = p.offset_of(r);
                let (s, m, end) = read_entry(&p.buf, at)?;
                let out = (Score(s), Elem::from(m));
                p.cut(at, end, 1);
                Some(out)
            }
            Repr::Big(b) => {
                let popped = if max {
                    b.sorted.pop_last()
                } else {
                    b.sorted.pop_first()
                }?;
                b.scores.swap_remove(&popped.1);
                Some(popped)
            }
        }
    }

    /// Number of members ordered below `key` (with `inclusive`, at or below). O(log N); O(N) packed.
    fn count_below(&self, key: Probe, inclusive: bool) -> usize {
        match &self.repr {
            Repr::Small(p) => p.count_below(key, inclusive),
            Repr::Big(b) => b.sorted.count_below_by(
                |(ks, km)| ks.cmp(&key.0).then_with(|| (**km).cmp(key.1)),
                inclusive,
            ),
        }
    }

    /// 0-based ascending rank of `m`. O(log N); O(N) packed.
    pub fn rank_of(&self, m: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Small(p) => p.walk().position(|e| e.2 == m),
            Repr::Big(b) => {
                let s = Score(*b.scores.get(m)?);
                Some(self.count_below((s, m), false))
            }
        }
    }

    /// The members of ranks `lo..hi` (clamped), ascending. O(log N) to position; O(lo) packed.
    pub fn rank_range(&self, lo: usize, hi: usize) -> Run<'_> {
        match &self.repr {
            Repr::Small(p) => Run::Small(p.run(lo, hi)),
            Repr::Big(b) => Run::Big(b.sorted.rank_range(lo, hi)),
        }
    }

    /// Every member, ascending. O(1) to create.
    pub fn iter(&self) -> Run<'_> {
        self.rank_range(0, usize::MAX)
    }

    /// The ranks `lo..hi` of the members between two probe bounds. O(log N); O(N) packed.
    fn bound_ranks(&self, lo: Bound<Probe>, hi: Bound<Probe>) -> (usize, usize) {
        let lo = match lo {
            Unbounded => 0,
            Included(k) => self.count_below(k, false),
            Excluded(k) => self.count_below(k, true),
        };
        let hi = match hi {
            Unbounded => self.len(),
            Included(k) => self.count_below(k, true),
            Excluded(k) => self.count_below(k, false),
        };
        (lo, hi.max(lo))
    }

    /// The ranks of the members whose scores lie between `min` and `max`. O(log N).
    fn score_ranks(&self, min: ScoreEnd, max: ScoreEnd) -> (usize, usize) {
        score_bounds(min, max).map_or((0, 0), |(lo, hi)| self.bound_ranks(lo, hi))
    }

    /// The members whose scores lie between `min` and `max`, ascending. O(log N) to position.
    pub fn score_run(&self, min: ScoreEnd, max: ScoreEnd) -> Run<'_> {
        let (lo, hi) = self.score_ranks(min, max);
        self.rank_range(lo, hi)
    }

    /// How many members have scores between `min` and `max`: a difference of two ranks, O(log N).
    pub fn score_count(&self, min: ScoreEnd, max: ScoreEnd) -> usize {
        let (lo, hi) = self.score_ranks(min, max);
        hi - lo
    }

    /// The members of the lex range `min`..`max`, ascending (`rev`: located from the top, which
    /// differs only when scores are mixed). O(log N) when all scores are equal (the case lex ranges
    /// are defined for), O(N) otherwise.
    pub fn lex_run(&self, min: Lex<'_>, max: Lex<'_>, rev: bool) -> Run<'_> {
        let (lo, hi) = self.lex_ranks(min, max, rev);
        self.rank_range(lo, hi)
    }

    /// [`Self::lex_run`] after skipping `offset` members (ZRANGE ... BYLEX LIMIT offset count), and
    /// the part of `offset` the caller still has to skip in the run. Over mixed scores Redis's
    /// listpack walk skips the offset from the first member in range without checking the range,
    /// and only then walks while the far end holds; that run is returned with nothing left to skip.
    /// Over one common score the range is an interval and the whole offset is left to the caller.
    /// Costs as [`Self::lex_run`], plus O(offset) over mixed scores.
    pub fn lex_run_from(
        &self,
        min: Lex<'_>,
        max: Lex<'_>,
        rev: bool,
        offset: usize,
    ) -> (Run<'_>, usize) {
        let (lo, hi) = self.lex_ranks(min, max, rev);
        let len = self.len();
        let mixed = match (self.iter().next(), self.iter().next_back()) {
            (Some(a), Some(b)) => Score(a.0) != Score(b.0),
            _ => false,
        };
        if offset == 0 || lo >= hi || !mixed {
            return (self.rank_range(lo, hi), offset);
        }
        let empty = (self.rank_range(0, 0), 0);
        if !rev {
            let at = lo.saturating_add(offset);
            match self.rank_range(at, len).next() {
                Some((_, m)) if lte_max(m, max) => {}
                _ => return empty,
            }
            let n = self
                .rank_range(at, len)
                .take_while(|(_, m)| lte_max(m, max))
                .count();
            (self.rank_range(at, at + n), 0)
        } else {
            let Some(at) = (hi - 1).checked_sub(offset) else {
                return empty;
            };
            match self.rank_range(at, at + 1).next() {
                Some((_, m)) if gte_min(m, min) => {}
                _ => return empty,
            }
            let n = self
                .rank_range(0, at + 1)
                .rev()
                .take_while(|(_, m)| gte_min(m, min))
                .count();
            (self.rank_range(at + 1 - n, at + 1), 0)
        }
    }

    /// How many members the lex range `min`..`max` holds. O(log N) when all scores are equal, O(N)
    /// otherwise.
    pub fn lex_count(&self, min: Lex<'_>, max: Lex<'_>) -> usize {
        let (lo, hi) = self.lex_ranks(min, max, false);
        hi - lo
    }

    /// Locates a lex range as ranks `lo..hi`. Redis first rules out ranges that cannot match (the
    /// bounds are inverted, the last member is below `min`, the first above `max`), then starts at
    /// the first member >= `min` (the last <= `max` when `rev`) and walks while the far end holds.
    /// With one common score that is an interval of the order, found by two rank probes; with mixed
    /// scores it is whatever run that walk finds (as Redis's listpack encoding does).
    fn lex_ranks(&self, min: Lex<'_>, max: Lex<'_>, rev: bool) -> (usize, usize) {
        const NONE: (usize, usize) = (0, 0);
        if lex_empty(min, max) {
            return NONE;
        }
        let len = self.len();
        let (Some(first), Some(last)) = (
            self.iter().next(),
            self.rank_range(len.saturating_sub(1), len).next(),
        ) else {
            return NONE;
        };
        if !gte_min(last.1, min) || !lte_max(first.1, max) {
            return NONE;
        }
        if Score(first.0) == Score(last.0) {
            let s = Score(first.0);
            let lo = match min {
                Lex::Min => Unbounded,
                Lex::Max => return NONE,
                Lex::Incl(x) => Included((s, x)),
                Lex::Excl(x) => Excluded((s, x)),
            };
            let hi = match max {
                Lex::Max => Unbounded,
                Lex::Min => return NONE,
                Lex::Incl(x) => Included((s, x)),
                Lex::Excl(x) => Excluded((s, x)),
            };
            return self.bound_ranks(lo, hi);
        }
        if !rev {
            let Some(start) = self.iter().position(|(_, m)| gte_min(m, min)) else {
                return NONE;
            };
            let n = self
                .rank_range(start, len)
                .take_while(|(_, m)| lte_max(m, max))
                .count();
            (start, start + n)
        } else {
            let Some(j) = self.iter().rev().position(|(_, m)| lte_max(m, max)) else {
                return NONE;
            };
            let start = len - 1 - j;
            let n = self
                .rank_range(0, start + 1)
                .rev()
                .take_while(|(_, m)| gte_min(m, min))
                .count();
            (start + 1 - n, start + 1)
        }
    }

    /// The run of ranks `start..=stop` (indices in the direction given by `rev`), ascending, and its
    /// length. O(log N) to position each end.
    pub fn rank_run(&self, start: i64, stop: i64, rev: bool) -> (Run<'_>, usize) {
        let len = self.len();
        let Some((s, e)) = rank_indices(len, start, stop) else {
            return (self.rank_range(0, 0), 0);
        };
        let (s, e) = if rev {
            (len - 1 - e, len - 1 - s)
        } else {
            (s, e)
        };
        let run = self.rank_range(s, e + 1);
        let n = run.len();
        (run, n)
    }

    /// Removes the members of the run `pick` selects (see [`Self::score_run`], [`Self::lex_run`],
    /// [`Self::rank_run`]); returns how many. O(M log N), O(N) packed, plus what `pick` costs.
    pub fn remove_run(&mut self, pick: impl FnOnce(&ZSetValue) -> Run<'_>) -> usize {
        let (lo, hi) = pick(self).ranks();
        self.remove_ranks(lo, hi)
    }

    /// Removes the members of ranks `lo..hi`; returns how many. O(M log N); O(N) packed.
    fn remove_ranks(&mut self, lo: usize, hi: usize) -> usize {
        let hi = hi.min(self.len());
        if lo >= hi {
            return 0;
        }
        match &mut self.repr {
            Repr::Small(p) => {
                let (at, end) = (p.offset_of(lo), p.offset_of(hi));
                p.cut(at, end, hi - lo);
            }
            Repr::Big(b) => {
                for _ in lo..hi {
                    if let Some((_, e)) = b.sorted.remove_at(lo) {
                        b.scores.swap_remove(&e);
                    }
                }
            }
        }
        hi - lo
    }
}

/// An input of ZUNION, ZINTER, ZDIFF and their STORE forms: a sorted set, a plain set (every member
/// scores 1, as in Redis), or a missing key (an empty input).
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// The key does not exist.
    Missing,
    /// A sorted set.
    ZSet(&'a ZSetValue),
    /// A plain set: members score 1.
    Set(&'a SetValue),
}

impl<'a> Source<'a> {
    /// The number of members. O(1).
    pub fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::ZSet(z) => z.len(),
            Source::Set(s) => s.members.len(),
        }
    }

    /// Whether the input has no member. O(1).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of `m`, None when absent. O(1).
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::ZSet(z) => z.score(m),
            Source::Set(s) => s.members.contains(m).then_some(1.0),
        }
    }

    /// Every member with its score, in table order. O(N).
    pub fn each(&self, mut f: impl FnMut(&'a [u8], f64) -> bool) {
        match *self {
            Source::Missing => {}
            Source::ZSet(z) => {
                for (m, s) in z.iter_table() {
                    if !f(m, s) {
                        return;
                    }
                }
            }
            Source::Set(s) => {
                for m in &s.members {
                    if !f(m, 1.0) {
                        return;
                    }
                }
            }
        }
    }
}

/// How ZUNION and ZINTER combine the weighted scores of a member found in several inputs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Aggregate {
    /// The sum (`inf + -inf` gives 0, as Redis's convention).
    Sum,
    /// The smallest.
    Min,
    /// The largest.
    Max,
}

impl Aggregate {
    /// Folds `v` into `acc` as Redis's `zunionInterAggregate`: a NaN sum becomes 0, and a NaN `v`
    /// never wins a MIN or MAX comparison. O(1).
    #[inline]
    pub fn fold(self, acc: &mut f64, v: f64) {
        match self {
            Aggregate::Sum => {
                *acc += v;
                if acc.is_nan() {
                    *acc = 0.0;
                }
            }
            Aggregate::Min => {
                if v < *acc {
                    *acc = v
                }
            }
            Aggregate::Max => {
                if v > *acc {
                    *acc = v
                }
            }
        }
    }
}

/// The operation of ZUNION, ZINTER, ZDIFF.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Algebra {
    /// Members of any input.
    Union,
    /// Members of every input.
    Inter,
    /// Members of the first input found in no other (scores of the first, unweighted).
    Diff,
}

/// `w * s`, a NaN (0 times an infinity) read as 0, as Redis initialises an aggregate.
#[inline]
fn weighted(w: f64, s: f64) -> f64 {
    let v = w * s;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// Sorts result pairs as a sorted set orders them (score, then member bytes). O(M log M).
fn sort_pairs(out: &mut [(&[u8], f64)]) {
    out.sort_unstable_by(|a, b| Score(a.1).cmp(&Score(b.1)).then_with(|| a.0.cmp(b.0)));
}

/// The result of ZUNION/ZINTER/ZDIFF over `inputs` (each with its weight), sorted as a sorted set.
/// Union and intersection visit the inputs from the smallest to the largest (a stable sort, as Redis's
/// qsort by cardinality), so float sums are added in Redis's order. Union O(N) in the members of all
/// inputs, intersection O(N*K) for N the smallest input, difference O(N*K) for N the first; plus
/// O(M log M) to sort the M results.
pub fn combine<'a>(
    inputs: &[(Source<'a>, f64)],
    op: Algebra,
    agg: Aggregate,
) -> Vec<(&'a [u8], f64)> {
    let mut out: Vec<(&'a [u8], f64)> = Vec::new();
    let mut order: Vec<&(Source<'a>, f64)> = inputs.iter().collect();
    if op != Algebra::Diff {
        order.sort_by_key(|(s, _)| s.len());
    }
    match op {
        Algebra::Inter => {
            let Some(((first, w0), rest)) = order.split_first() else {
                return out;
            };
            first.each(|m, s| {
                let mut acc = weighted(*w0, s);
                for (src, w) in rest {
                    match src.score(m) {
                        Some(v) => agg.fold(&mut acc, v * w),
                        None => return true,
                    }
                }
                out.push((m, acc));
                true
            });
        }
        Algebra::Union => {
            let biggest = order.last().map_or(0, |(s, _)| s.len());
            let mut acc: IndexMap<&'a [u8], f64, ahash::RandomState> =
                IndexMap::with_capacity_and_hasher(biggest, Default::default());
            for (src, w) in &order {
                src.each(|m, s| {
                    let v = weighted(*w, s);
                    match acc.entry(m) {
                        indexmap::map::Entry::Occupied(mut e) => agg.fold(e.get_mut(), v),
                        indexmap::map::Entry::Vacant(e) => {
                            e.insert(v);
                        }
                    }
                    true
                });
            }
            out.extend(acc);
        }
        Algebra::Diff => {
            let Some(((first, _), rest)) = order.split_first() else {
                return out;
            };
            first.each(|m, s| {
                if rest.iter().all(|(src, _)| src.score(m).is_none()) {
                    out.push((m, s));
                }
                true
            });
        }
    }
    sort_pairs(&mut out);
    out
}

/// The size of the intersection of `inputs`, counting stops at `limit` (0: no limit). O(N*K) for N
/// the smallest input.
pub fn inter_card(inputs: &[Source<'_>], limit: usize) -> usize {
    let mut order: Vec<&Source> = inputs.iter().collect();
    order.sort_by_key(|s| s.len());
    let Some((first, rest)) = order.split_first() else {
        return 0;
    };
    let mut n = 0;
    first.each(|m, _| {
        if rest.iter().all(|src| src.score(m).is_some()) {
            n += 1;
            if limit != 0 && n >= limit {
                return false;
            }
        }
        true
    });
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Both representations of the same members: packed (listpack limits wide open) and large.
    fn both(items: &[(f64, &[u8])]) -> (ZSetValue, ZSetValue) {
        let wide = EncodingLimits {
            zset_max_listpack_entries: usize::MAX,
            zset_max_listpack_value: usize::MAX,
            ..EncodingLimits::default()
        };
        let mut small = ZSetValue::for_first_member(0, &wide);
        let mut big = ZSetValue::default();
        for &(s, m) in items {
            for z in [&mut small, &mut big] {
                match z.score(m) {
                    Some(old) => z.rescore(m, old, s),
                    None => z.add_absent(m, s, &wide),
                }
            }
        }
        assert!(small.is_listpack() && !big.is_listpack());
        (small, big)
    }

    /// A lex range end as ZRANGEBYLEX writes it (the tests' own parser).
    fn lex(b: &[u8]) -> Lex<'_> {
        match b[0] {
            b'-' => Lex::Min,
            b'+' => Lex::Max,
            b'[' => Lex::Incl(&b[1..]),
            _ => Lex::Excl(&b[1..]),
        }
    }

    fn all(r: Run<'_>) -> Vec<(f64, Vec<u8>)> {
        r.map(|(s, m)| (s, m.to_vec())).collect()
    }

    #[test]
    fn ranks_from_either_end() {
        let mut z = ZSetValue::default();
        let l = EncodingLimits::default();
        for (i, m) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
            z.add_absent(m.as_bytes(), i as f64, &l);
        }
        for (i, m) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
            assert_eq!(z.rank_of(m.as_bytes()), Some(i));
            assert_eq!(
                z.rank_range(i, i + 1).next().map(|k| k.1),
                Some(m.as_bytes())
            );
        }
        assert_eq!(z.rank_of(b"zz"), None);
        z.rescore(b"a", 0.0, 10.0);
        assert_eq!(z.rank_of(b"a"), Some(5));
        assert_eq!(z.table_entry(0).map(|(k, _)| k), Some(&b"a"[..]));
    }

    #[test]
    fn small_value_is_four_words() {
        assert_eq!(std::mem::size_of::<ZSetValue>(), 32);
    }

    #[test]
    fn packed_scores_round_trip() {
        for s in [
            0.0,
            1.0,
            -1.0,
            127.0,
            128.0,
            -129.0,
            40000.0,
            -3e9,
            1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
        ] {
            for len in [0, 1, 31, 32, 200] {
                let mut b = Vec::new();
                put_entry(&mut b, s, &vec![7u8; len]);
                let (got, m, next) = read_entry(&b, 0).unwrap();
                assert_eq!((got, m.len(), next), (s, len, b.len()));
            }
        }
    }

    #[test]
    fn inverted_or_degenerate_bounds_never_panic() {
        let (a, b) = both(&[(0.0, b"a"), (1.0, b"b")]);
        for z in [&a, &b] {
            for min in [f64::NEG_INFINITY, -1.0, -0.0, 0.0, 1.0, f64::INFINITY] {
                for max in [f64::NEG_INFINITY, -1.0, -0.0, 0.0, 1.0, f64::INFINITY] {
                    for ex in [(false, false), (true, false), (false, true), (true, true)] {
                        let _ = z.score_run((min, ex.0), (max, ex.1)).count();
                    }
                }
            }
            let words: [&[u8]; 6] = [b"-", b"+", b"[a", b"(a", b"[b", b"(b"];
            for lo in words {
                for hi in words {
                    let (min, max) = (lex(lo), lex(hi));
                    let _ = z.lex_run(min, max, false).count();
                    let _ = z.lex_run(min, max, true).count();
                }
            }
        }
    }

    #[test]
    fn lex_ranges_over_one_score() {
        let (a, b) = both(&[(0.0, b"a"), (0.0, b"b"), (0.0, b"c")]);
        for s in [&a, &b] {
            assert_eq!(s.lex_count(Lex::Incl(b"b"), Lex::Max), 2);
            assert_eq!(s.lex_count(Lex::Excl(b"a"), Lex::Excl(b"c")), 1);
            assert_eq!(s.lex_count(Lex::Max, Lex::Min), 0);
            let names: Vec<&[u8]> = s
                .lex_run(Lex::Min, Lex::Incl(b"b"), false)
                .map(|p| p.1)
                .collect();
            assert_eq!(names, [&b"a"[..], b"b"]);
            assert_eq!(s.score_count((0.0, false), (0.0, false)), 3);
            assert_eq!(s.score_count((0.0, true), (1.0, false)), 0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The packed representation answers every query as the large one does.
        #[test]
        fn packed_matches_large(
            ops in proptest::collection::vec((0u8..6, 0u8..12, -4i8..4, any::<bool>()), 0..80),
            probes in proptest::collection::vec((0u8..12, 0u8..12, -5i8..5, -5i8..5, 0u8..4, -6i64..6, -6i64..6), 12),
        ) {
            let name = |k: u8| -> Vec<u8> { vec![b'a' + k % 4; 1 + (k / 4) as usize] };
            let wide = EncodingLimits { zset_max_listpack_entries: usize::MAX, zset_max_listpack_value: usize::MAX, ..EncodingLimits::default() };
            let (mut a, mut b) = both(&[]);
            for &(op, k, sc, half) in &ops {
                let m = name(k);
                let s = sc as f64 + if half { 0.5 } else { 0.0 };
                for z in [&mut a, &mut b] {
                    match op {
                        0..=2 => match z.score(&m) {
                            Some(old) => z.rescore(&m, old, s),
                            None => z.add_absent(&m, s, &wide),
                        },
                        3 => { z.remove_member(&m); }
                        4 => { z.pop(half); }
                        _ => { z.remove_run(|z| z.score_run((sc as f64, half), (sc as f64 + 2.0, false))); }
                    }
                }
                prop_assert_eq!(a.len(), b.len());
            }
            prop_assert_eq!(all(a.iter()), all(b.iter()));
            prop_assert_eq!(all(a.iter()).into_iter().rev().collect::<Vec<_>>(), a.iter().rev().map(|(s, m)| (s, m.to_vec())).collect::<Vec<_>>());
            for k in 0..12u8 {
                let m = name(k);
                prop_assert_eq!(a.score(&m), b.score(&m));
                prop_assert_eq!(a.rank_of(&m), b.rank_of(&m));
            }
            for &(x, y, lo, hi, ex, start, stop) in &probes {
                let (min, max) = ((lo as f64, ex & 1 != 0), (hi as f64, ex & 2 != 0));
                prop_assert_eq!(all(a.score_run(min, max)), all(b.score_run(min, max)));
                prop_assert_eq!(a.score_count(min, max), b.score_count(min, max));
                let (nx, ny) = (name(x), name(y));
                let ends = [Lex::Min, Lex::Max, Lex::Incl(&nx), Lex::Excl(&nx), Lex::Incl(&ny), Lex::Excl(&ny)];
                let (l1, l2) = (ends[(x % 6) as usize], ends[(y % 6) as usize]);
                for rev in [false, true] {
                    prop_assert_eq!(all(a.lex_run(l1, l2, rev)), all(b.lex_run(l1, l2, rev)));
                    let (ra, na) = a.rank_run(start, stop, rev);
                    let (rb, nb) = b.rank_run(start, stop, rev);
                    prop_assert_eq!(na, nb);
                    prop_assert_eq!(all(ra), all(rb));
                }
                prop_assert_eq!(a.lex_count(l1, l2), b.lex_count(l1, l2));
                let skip = (x as usize) % 4;
                prop_assert_eq!(a.iter().rev().skip(skip).map(|p| p.0).collect::<Vec<_>>(), b.iter().rev().skip(skip).map(|p| p.0).collect::<Vec<_>>());
            }
        }
    }
}
