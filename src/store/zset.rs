//! Sorted sets: a member -> score map plus an ordered index of (score, member). O(1) ZSCORE, O(log N)
//! insert and remove, O(log N) positioning for score and lex ranges, and O(log N) ranks: the index is
//! an order-statistic B-tree ([`super::ostree`]) whose inner nodes count the keys under each child,
//! as Redis's skiplist keeps span counts.
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
/// The ordered index of a sorted set.
pub type Sorted = OsTree<Pair>;
/// A contiguous run of the ordered index, in ascending order; None when empty.
pub type Run<'z> = Option<ostree::Iter<'z, Pair>>;
/// A score range end: the value, and whether it is exclusive (`(1.5`).
pub type ScoreEnd = (f64, bool);

/// A sorted set. `scores` (member -> score) and `sorted` (the ordered index) always hold the same
/// members; both are public for reads, and every edit goes through the methods below, which keep
/// them in step and keep `listpack` (the encoding Redis would report) right. Never empty while stored.
#[derive(Debug, Clone, Default)]
pub struct ZSetValue {
    /// Member -> score.
    pub scores: IndexMap<Elem, f64, ahash::RandomState>,
    /// The ordered index: (score, member), ascending.
    pub sorted: Sorted,
    /// Whether Redis would still encode the set as a listpack.
    pub listpack: bool,
}

/// The B-tree bounds of the members whose scores lie between `min` and `max` (value, exclusive); None
/// when the interval is empty (Redis's `zslIsInRange` test; also what keeps `BTreeSet::range` from
/// panicking on inverted bounds).
fn score_bounds(min: ScoreEnd, max: ScoreEnd) -> Option<(Bound<Pair>, Bound<Pair>)> {
    if min.0 > max.0 || (min.0 == max.0 && (min.1 || max.1)) {
        return None;
    }
    // The empty member sorts first among members of equal score.
    let at = |s: f64| (Score(s), Elem::default());
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

/// The members whose scores lie between `min` and `max`, ascending. O(log N) to position.
pub fn score_run(sorted: &Sorted, min: ScoreEnd, max: ScoreEnd) -> Run<'_> {
    score_bounds(min, max).map(|b| sorted.range(b))
}

/// How many members have scores between `min` and `max`: a difference of two ranks, O(log N).
pub fn score_count(sorted: &Sorted, min: ScoreEnd, max: ScoreEnd) -> usize {
    score_bounds(min, max).map_or(0, |b| sorted.range_len(b))
}

/// The members of the lex range `min`..`max`, ascending (`rev`: located from the top, which differs
/// only when scores are mixed). O(log N) when all scores are equal (the case lex ranges are defined
/// for), O(N) otherwise.
pub fn lex_run<'z>(sorted: &'z Sorted, min: Lex<'_>, max: Lex<'_>, rev: bool) -> Run<'z> {
    lex_span(sorted, min, max, rev).run(sorted)
}

/// How many members the lex range `min`..`max` holds. O(log N) when all scores are equal, O(N)
/// otherwise.
pub fn lex_count(sorted: &Sorted, min: Lex<'_>, max: Lex<'_>) -> usize {
    lex_span(sorted, min, max, false).count(sorted)
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

/// Where a lex range lies in a sorted set.
enum LexSpan<'z> {
    /// Nothing matches.
    Empty,
    /// Every member has the same score: the range is a B-tree interval, found in O(log N).
    Bounds(Bound<Pair>, Bound<Pair>),
    /// Mixed scores (undefined in Redis's documentation): Redis's listpack walk, reproduced exactly.
    Run(ostree::Iter<'z, Pair>),
}

/// Locates a lex range. Redis first rules out ranges that cannot match (the bounds are inverted, the
/// last member is below `min`, the first above `max`), then starts at the first member >= `min` (the
/// last <= `max` when `rev`) and walks while the far end holds. With one common score that is an
/// interval of the index; with mixed scores it is whatever run that walk finds (as Redis's listpack
/// encoding does). O(log N) for one common score, O(N) otherwise.
fn lex_span<'z>(sorted: &'z Sorted, min: Lex<'_>, max: Lex<'_>, rev: bool) -> LexSpan<'z> {
    if lex_empty(min, max) {
        return LexSpan::Empty;
    }
    let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
        return LexSpan::Empty;
    };
    if !gte_min(&last.1, min) || !lte_max(&first.1, max) {
        return LexSpan::Empty;
    }
    if first.0 == last.0 {
        let s = first.0;
        let lo = match min {
            Lex::Min => Unbounded,
            Lex::Max => return LexSpan::Empty,
            Lex::Incl(x) => Included((s, x.into())),
            Lex::Excl(x) => Excluded((s, x.into())),
        };
        let hi = match max {
            Lex::Max => Unbounded,
            Lex::Min => return LexSpan::Empty,
            Lex::Incl(x) => Included((s, x.into())),
            Lex::Excl(x) => Excluded((s, x.into())),
        };
        return LexSpan::Bounds(lo, hi);
    }
    if !rev {
        let Some(start) = sorted.iter().find(|k| gte_min(&k.1, min)) else {
            return LexSpan::Empty;
        };
        if !lte_max(&start.1, max) {
            return LexSpan::Empty;
        }
        let end = sorted
            .range((Excluded(start), Unbounded))
            .take_while(|k| lte_max(&k.1, max))
            .last()
            .unwrap_or(start);
        LexSpan::Run(sorted.range((Included(start), Included(end))))
    } else {
        let Some(start) = sorted.iter().rev().find(|k| lte_max(&k.1, max)) else {
            return LexSpan::Empty;
        };
        if !gte_min(&start.1, min) {
            return LexSpan::Empty;
        }
        let end = sorted
            .range((Unbounded, Excluded(start)))
            .rev()
            .take_while(|k| gte_min(&k.1, min))
            .last()
            .unwrap_or(start);
        LexSpan::Run(sorted.range((Included(end), Included(start))))
    }
}

impl<'z> LexSpan<'z> {
    /// The members of the span, ascending. O(log N).
    fn run(self, sorted: &'z Sorted) -> Run<'z> {
        match self {
            LexSpan::Empty => None,
            LexSpan::Bounds(lo, hi) => Some(sorted.range((lo, hi))),
            LexSpan::Run(r) => Some(r),
        }
    }

    /// How many members the span holds: O(log N).
    fn count(self, sorted: &Sorted) -> usize {
        match self {
            LexSpan::Empty => 0,
            LexSpan::Bounds(lo, hi) => sorted.range_len((lo, hi)),
            LexSpan::Run(r) => r.len(),
        }
    }
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

/// The run of ranks `start..=stop` (indices in the direction given by `rev`), ascending, and its
/// length. O(log N) to position each end.
pub fn rank_run(sorted: &Sorted, start: i64, stop: i64, rev: bool) -> (Run<'_>, usize) {
    let len = sorted.len();
    let Some((s, e)) = rank_indices(len, start, stop) else {
        return (None, 0);
    };
    let (s, e) = if rev {
        (len - 1 - e, len - 1 - s)
    } else {
        (s, e)
    };
    let run = sorted.rank_range(s, e + 1);
    let n = run.len();
    (Some(run), n)
}

impl ZSetValue {
    /// An empty sorted set, encoded as Redis 7.0's ZADD creates one whose first member has
    /// `first_len` bytes: a skiplist when listpacks are disabled or that member is too long. O(1).
    pub fn for_first_member(first_len: usize, l: &EncodingLimits) -> Self {
        ZSetValue {
            scores: Default::default(),
            sorted: OsTree::new(),
            listpack: l.zset_max_listpack_entries != 0 && first_len <= l.zset_max_listpack_value,
        }
    }

    /// The score as the current encoding stores it: a listpack keeps integral scores as integers, so a
    /// zero score (even -0) reads back as 0; a skiplist keeps the double as given. O(1).
    #[inline]
    fn as_stored(&self, s: f64) -> f64 {
        if self.listpack && s == 0.0 {
            0.0
        } else {
            s
        }
    }

    /// Adds a member known to be absent, converting to a skiplist first when the listpack would grow
    /// past its limits (as Redis's `zsetAdd`). O(log N).
    pub fn add_absent(&mut self, m: &[u8], s: f64, l: &EncodingLimits) {
        if self.listpack
            && (self.scores.len() + 1 > l.zset_max_listpack_entries
                || m.len() > l.zset_max_listpack_value)
        {
            self.listpack = false;
        }
        let s = self.as_stored(s);
        let e: Elem = m.into();
        self.sorted.insert((Score(s), e.clone()));
        self.scores.insert(e, s);
    }

    /// Moves a present member from score `old` to `new`, reusing its allocations and keeping its
    /// position in the map. O(log N).
    pub fn rescore(&mut self, m: &[u8], old: f64, new: f64) {
        let new = self.as_stored(new);
        let Some((i, key, _)) = self.scores.swap_remove_full(m) else {
            return;
        };
        let probe = (Score(old), key);
        let taken = self.sorted.take(&probe);
        let key = probe.1;
        let e = match taken {
            Some((_, e)) => e,
            None => key.clone(),
        };
        self.sorted.insert((Score(new), e));
        let (j, _) = self.scores.insert_full(key, new);
        self.scores.swap_indices(i, j);
    }

    /// Removes `m`; returns whether it was present. O(log N).
    pub fn remove_member(&mut self, m: &[u8]) -> bool {
        match self.scores.swap_remove_entry(m) {
            Some((e, s)) => {
                self.sorted.remove(&(Score(s), e));
                true
            }
            None => false,
        }
    }

    /// Removes and returns the member with the highest score (`max`) or the lowest. O(log N).
    pub fn pop(&mut self, max: bool) -> Option<Pair> {
        let popped = if max {
            self.sorted.pop_last()
        } else {
            self.sorted.pop_first()
        }?;
        self.scores.swap_remove(&popped.1);
        Some(popped)
    }

    /// 0-based ascending rank of `m`, counted down the order-statistic index without building a
    /// probe key. O(log N).
    pub fn rank_of(&self, m: &[u8]) -> Option<usize> {
        let s = Score(*self.scores.get(m)?);
        Some(
            self.sorted
                .rank_by(|(ks, km)| ks.cmp(&s).then_with(|| (**km).cmp(m))),
        )
    }

    /// Removes the members of the run `pick` selects from the index (see [`score_run`], [`lex_run`],
    /// [`rank_run`]); returns how many. O(M log N), plus what `pick` costs.
    pub fn remove_run(&mut self, pick: impl FnOnce(&Sorted) -> Run<'_>) -> usize {
        let ZSetValue { scores, sorted, .. } = self;
        let mut victims: Vec<Pair> = Vec::new();
        for (_, m) in pick(sorted).into_iter().flatten() {
            if let Some((e, s)) = scores.swap_remove_entry(&**m) {
                victims.push((Score(s), e));
            }
        }
        for k in &victims {
            sorted.remove(k);
        }
        victims.len()
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
            Source::ZSet(z) => z.scores.len(),
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
            Source::ZSet(z) => z.scores.get(m).copied(),
            Source::Set(s) => s.members.contains(m).then_some(1.0),
        }
    }

    /// Every member with its score, in table order. O(N).
    pub fn each(&self, mut f: impl FnMut(&'a [u8], f64) -> bool) {
        match *self {
            Source::Missing => {}
            Source::ZSet(z) => {
                for (m, s) in &z.scores {
                    if !f(m, *s) {
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

impl ZSetValue {
    /// A sorted set of `pairs` (distinct members), encoded as Redis's `zsetConvertToListpackIfNeeded`
    /// leaves a computed result: a listpack when it has at most `zset-max-listpack-entries` members
    /// none longer than `zset-max-listpack-value`. O(M log M).
    pub fn from_pairs(pairs: &[(&[u8], f64)], l: &EncodingLimits) -> Self {
        let longest = pairs.iter().map(|p| p.0.len()).max().unwrap_or(0);
        let mut z = ZSetValue {
            scores: IndexMap::with_capacity_and_hasher(pairs.len(), Default::default()),
            sorted: OsTree::new(),
            listpack: pairs.len() <= l.zset_max_listpack_entries
                && longest <= l.zset_max_listpack_value,
        };
        for &(m, s) in pairs {
            let s = z.as_stored(s);
            let e: Elem = m.into();
            z.sorted.insert((Score(s), e.clone()));
            z.scores.insert(e, s);
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[(f64, &str)]) -> Sorted {
        items
            .iter()
            .map(|&(s, m)| (Score(s), Elem::from(m.as_bytes())))
            .collect()
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

    #[test]
    fn ranks_from_either_end() {
        let mut z = ZSetValue::default();
        let l = EncodingLimits::default();
        for (i, m) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
            z.add_absent(m.as_bytes(), i as f64, &l);
        }
        for (i, m) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
            assert_eq!(z.rank_of(m.as_bytes()), Some(i));
            assert_eq!(z.sorted.select(i).map(|k| &*k.1), Some(m.as_bytes()));
        }
        assert_eq!(z.rank_of(b"zz"), None);
        z.rescore(b"a", 0.0, 10.0);
        assert_eq!(z.rank_of(b"a"), Some(5));
        assert_eq!(z.scores.get_index(0).map(|(k, _)| &**k), Some(&b"a"[..]));
    }

    #[test]
    fn inverted_or_degenerate_bounds_never_panic() {
        let s = set(&[(0.0, "a"), (1.0, "b")]);
        for min in [f64::NEG_INFINITY, -1.0, -0.0, 0.0, 1.0, f64::INFINITY] {
            for max in [f64::NEG_INFINITY, -1.0, -0.0, 0.0, 1.0, f64::INFINITY] {
                for ex in [(false, false), (true, false), (false, true), (true, true)] {
                    if let Some(b) = score_bounds((min, ex.0), (max, ex.1)) {
                        let _ = s.range(b).count();
                    }
                }
            }
        }
        let words: [&[u8]; 6] = [b"-", b"+", b"[a", b"(a", b"[b", b"(b"];
        for lo in words {
            for hi in words {
                let (min, max) = (lex(lo), lex(hi));
                let _ = lex_span(&s, min, max, false).count(&s);
                let _ = lex_span(&s, min, max, true).count(&s);
            }
        }
    }

    #[test]
    fn lex_ranges_over_one_score() {
        let s = set(&[(0.0, "a"), (0.0, "b"), (0.0, "c")]);
        assert_eq!(lex_count(&s, Lex::Incl(b"b"), Lex::Max), 2);
        assert_eq!(lex_count(&s, Lex::Excl(b"a"), Lex::Excl(b"c")), 1);
        assert_eq!(lex_count(&s, Lex::Max, Lex::Min), 0);
        let names: Vec<&[u8]> = lex_run(&s, Lex::Min, Lex::Incl(b"b"), false)
            .into_iter()
            .flatten()
            .map(|p| &*p.1)
            .collect();
        assert_eq!(names, [&b"a"[..], b"b"]);
        assert_eq!(score_count(&s, (0.0, false), (0.0, false)), 3);
        assert_eq!(score_count(&s, (0.0, true), (1.0, false)), 0);
    }
}
