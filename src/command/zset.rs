//! The sorted set command family. A sorted set is a member -> score map plus an ordered set of
//! (score, member): O(1) ZSCORE, O(log N) insert and remove, O(log N) positioning for score and lex
//! ranges. Ranks are not indexed (Redis's skiplist keeps span counts, a B-tree set does not), so a rank
//! costs a walk from the nearer end of the set: O(min(rank, N - rank)).
//!
//! Parsing and replies follow Redis 7.0 exactly: scores are parsed with C's `strtod` as Redis does
//! (hex floats, `inf`, and for range ends also leading spaces and the empty string), errors are checked
//! in Redis's order, and a listpack-encoded set stores a zero score as the integer 0 (so `-0` reads back
//! as `0` until the set converts to a skiplist, which keeps the double as given).

use std::collections::{btree_set, BTreeSet};
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use super::{cmd, flag::*, Args, Command, Ctx, Exec, KeySpec};
use crate::num::{parse_i64, strtod};
use crate::resp::{err, Reply};
use crate::store::{Elem, EncodingLimits, Keyspace, Score, Value, ZSetValue};

/// The sorted set commands (Redis 7.0.15's arity, flags, key positions and documentation).
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("zadd", -4, W | FAST, K(1, 1, 1), Keyed(zadd)),
        cmd("zincrby", 4, W | FAST, K(1, 1, 1), Keyed(zincrby)),
        cmd("zrem", -3, WRITE | FAST, K(1, 1, 1), Keyed(zrem)),
        cmd("zscore", 3, READONLY | FAST, K(1, 1, 1), Keyed(zscore)),
        cmd("zmscore", -3, READONLY | FAST, K(1, 1, 1), Keyed(zmscore)),
        cmd("zcard", 2, READONLY | FAST, K(1, 1, 1), Keyed(zcard)),
        cmd("zrank", 3, READONLY | FAST, K(1, 1, 1), Keyed(zrank)),
        cmd("zrevrank", 3, READONLY | FAST, K(1, 1, 1), Keyed(zrevrank)),
        cmd("zcount", 4, READONLY | FAST, K(1, 1, 1), Keyed(zcount)),
        cmd("zlexcount", 4, READONLY | FAST, K(1, 1, 1), Keyed(zlexcount)),
        cmd("zpopmin", -2, WRITE | FAST, K(1, 1, 1), Keyed(zpopmin)),
        cmd("zpopmax", -2, WRITE | FAST, K(1, 1, 1), Keyed(zpopmax)),
        cmd("zrange", -4, READONLY, K(1, 1, 1), Keyed(zrange)),
        cmd("zrangebyscore", -4, READONLY, K(1, 1, 1), Keyed(zrangebyscore)),
        cmd("zrevrangebyscore", -4, READONLY, K(1, 1, 1), Keyed(zrevrangebyscore)),
        cmd("zrevrange", -4, READONLY, K(1, 1, 1), Keyed(zrevrange)),
        cmd("zrangebylex", -4, READONLY, K(1, 1, 1), Keyed(zrangebylex)),
        cmd("zrevrangebylex", -4, READONLY, K(1, 1, 1), Keyed(zrevrangebylex)),
        cmd("zremrangebyscore", 4, WRITE, K(1, 1, 1), Keyed(zremrangebyscore)),
        cmd("zremrangebyrank", 4, WRITE, K(1, 1, 1), Keyed(zremrangebyrank)),
        cmd("zremrangebylex", 4, WRITE, K(1, 1, 1), Keyed(zremrangebylex)),
    ]
}

/// An entry of the ordered index.
type Key = (Score, Elem);
/// The ordered index of a sorted set.
type Sorted = BTreeSet<Key>;
/// A contiguous run of the ordered index, in ascending order; None when empty.
type Run<'z> = Option<btree_set::Range<'z, Key>>;

const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";
const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";

// ------------------------------------------------------------------------------------- float parsing

/// A score argument, parsed as Redis's `getDoubleFromObject`: the whole string is a C float, no
/// leading space, no overflow or underflow to zero, not NaN. None means "ERR value is not a valid float".
fn parse_score(b: &[u8]) -> Option<f64> {
    match b.first() {
        None | Some(b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') => return None,
        _ => {}
    }
    let (v, used, erange) = strtod(b);
    if used != b.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        None
    } else {
        Some(v)
    }
}

/// A score range end (`1.5`, `(1.5`, `-inf`), parsed as Redis's `zslParseRange`: plain `strtod`, so
/// leading spaces, overflow and the empty string (0) are accepted; only NaN and trailing garbage are
/// not. Returns the value and whether it is exclusive.
fn parse_score_end(b: &[u8]) -> Option<(f64, bool)> {
    let (excl, s) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    let (v, used, _) = strtod(s);
    if (used < s.len() && s[used] != 0) || v.is_nan() {
        None
    } else {
        Some((v, excl))
    }
}

/// The B-tree bounds of the members whose scores lie between `min` and `max` (value, exclusive); None
/// when the interval is empty (Redis's `zslIsInRange` test; also what keeps `BTreeSet::range` from
/// panicking on inverted bounds).
fn score_bounds(min: (f64, bool), max: (f64, bool)) -> Option<(Bound<Key>, Bound<Key>)> {
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

// --------------------------------------------------------------------------------------- lex ranges

/// A lexicographic range end: `-`, `+`, `[member` or `(member`.
#[derive(Clone, Copy)]
enum Lex<'a> {
    Min,
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

/// Parses a lex range end as Redis's `zslParseLexRangeItem` (which reads C strings: `+` and `-` may be
/// followed by a NUL byte).
fn parse_lex(b: &[u8]) -> Option<Lex<'_>> {
    match b.first()? {
        b'+' if b.len() == 1 || b[1] == 0 => Some(Lex::Max),
        b'-' if b.len() == 1 || b[1] == 0 => Some(Lex::Min),
        b'(' => Some(Lex::Excl(&b[1..])),
        b'[' => Some(Lex::Incl(&b[1..])),
        _ => None,
    }
}

fn gte_min(m: &[u8], min: Lex) -> bool {
    match min {
        Lex::Min => true,
        Lex::Max => false,
        Lex::Incl(x) => m >= x,
        Lex::Excl(x) => m > x,
    }
}

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
    Empty,
    /// Every member has the same score: the range is a B-tree interval, found in O(log N).
    Bounds(Bound<Key>, Bound<Key>),
    /// Mixed scores (undefined in Redis's documentation): Redis's listpack walk, reproduced exactly.
    Run(btree_set::Range<'z, Key>),
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
    /// The members of the span, ascending.
    fn run(self, sorted: &'z Sorted) -> Run<'z> {
        match self {
            LexSpan::Empty => None,
            LexSpan::Bounds(lo, hi) => Some(sorted.range((lo, hi))),
            LexSpan::Run(r) => Some(r),
        }
    }

    /// How many members the span holds.
    fn count(self, sorted: &Sorted) -> usize {
        match self {
            LexSpan::Empty => 0,
            LexSpan::Bounds(lo, hi) => count_between(sorted, lo.as_ref(), hi.as_ref()),
            LexSpan::Run(r) => r.count(),
        }
    }
}

// ------------------------------------------------------------------------------------ index helpers

/// Number of index entries between `lo` and `hi`, counting the inside and the outside of the interval
/// in lockstep and stopping at whichever ends first: O(log N + min(M, N - M)).
fn count_between(sorted: &Sorted, lo: Bound<&Key>, hi: Bound<&Key>) -> usize {
    let mut inside = sorted.range((lo, hi));
    let mut before = match lo {
        Unbounded => None,
        Included(k) => Some(sorted.range((Unbounded, Excluded(k)))),
        Excluded(k) => Some(sorted.range((Unbounded, Included(k)))),
    }
    .into_iter()
    .flatten();
    let mut after = match hi {
        Unbounded => None,
        Included(k) => Some(sorted.range((Excluded(k), Unbounded))),
        Excluded(k) => Some(sorted.range((Included(k), Unbounded))),
    }
    .into_iter()
    .flatten();
    let (mut n_in, mut n_out) = (0, 0);
    loop {
        if inside.next().is_none() {
            return n_in;
        }
        n_in += 1;
        if before.next().is_none() && after.next().is_none() {
            return sorted.len() - n_out;
        }
        n_out += 1;
    }
}

/// The entry at ascending index `i`, walked to from the nearer end: O(min(i, N - i)).
fn nth(sorted: &Sorted, i: usize) -> Option<&Key> {
    let len = sorted.len();
    if i < len / 2 {
        sorted.iter().nth(i)
    } else {
        sorted.iter().rev().nth(len.checked_sub(i + 1)?)
    }
}

/// Redis's index sanitizing for rank ranges (negative indices count from the end, the end is clamped):
/// the inclusive ascending index range, or None when empty.
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
/// length. O(min(i, N - i)) to find each end.
fn rank_run(sorted: &Sorted, start: i64, stop: i64, rev: bool) -> (Run<'_>, usize) {
    let len = sorted.len();
    let Some((s, e)) = rank_indices(len, start, stop) else {
        return (None, 0);
    };
    let (s, e) = if rev {
        (len - 1 - e, len - 1 - s)
    } else {
        (s, e)
    };
    match (nth(sorted, s), nth(sorted, e)) {
        (Some(first), Some(last)) => (
            Some(sorted.range((Included(first), Included(last)))),
            e - s + 1,
        ),
        _ => (None, 0),
    }
}

impl ZSetValue {
    /// An empty sorted set, encoded as Redis 7.0's ZADD creates one whose first member has
    /// `first_len` bytes: a skiplist when listpacks are disabled or that member is too long.
    fn for_first_member(first_len: usize, l: &EncodingLimits) -> Self {
        ZSetValue {
            scores: Default::default(),
            sorted: BTreeSet::new(),
            listpack: l.zset_max_listpack_entries != 0 && first_len <= l.zset_max_listpack_value,
        }
    }

    /// The score as the current encoding stores it: a listpack keeps integral scores as integers, so a
    /// zero score (even -0) reads back as 0; a skiplist keeps the double as given.
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
    fn add_absent(&mut self, m: &[u8], s: f64, l: &EncodingLimits) {
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
    fn rescore(&mut self, m: &[u8], old: f64, new: f64) {
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
    fn remove_member(&mut self, m: &[u8]) -> bool {
        match self.scores.swap_remove_entry(m) {
            Some((e, s)) => {
                self.sorted.remove(&(Score(s), e));
                true
            }
            None => false,
        }
    }

    /// 0-based ascending rank of `m`: the entries below and above it are counted in lockstep, so the
    /// cost is O(log N + min(rank, N - rank)).
    fn rank_of(&self, m: &[u8]) -> Option<usize> {
        let s = *self.scores.get(m)?;
        let key = (Score(s), Elem::from(m));
        let mut below = self.sorted.range((Unbounded, Excluded(&key)));
        let mut above = self.sorted.range((Excluded(&key), Unbounded));
        let n = self.sorted.len();
        let (mut b, mut a) = (0, 0);
        loop {
            if below.next().is_none() {
                return Some(b);
            }
            b += 1;
            if above.next().is_none() {
                return Some(n - 1 - a);
            }
            a += 1;
        }
    }

    /// Removes the members of the run `pick` selects; returns how many. O(M log N).
    fn remove_run(&mut self, pick: impl FnOnce(&Sorted) -> Run<'_>) -> usize {
        let ZSetValue { scores, sorted, .. } = self;
        let mut victims: Vec<Key> = Vec::new();
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

/// The sorted set at `key`: Ok(None) if absent, Err(()) for another type. Borrows only the keyspace,
/// so the reply can be written while the set is borrowed.
fn read<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    now: u64,
    key: &[u8],
) -> Result<Option<&'k mut ZSetValue>, ()> {
    match ks.dbs[db].get(key, now).map(|e| &mut e.value) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(()),
    }
}

// -------------------------------------------------------------------------------------------- writes

/// ZADD's options.
#[derive(Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// ZADD and ZINCRBY (Redis's `zaddGenericCommand`): score-member pairs from `first`, every score parsed
/// before anything changes, then each pair applied. O(M log N) for M pairs.
fn add_generic(ctx: &mut Ctx, a: &Args, first: usize, f: AddFlags) {
    let pairs = (a.len() - first) / 2;
    // One pair (the usual case) needs no buffer; more are parsed into one allocation.
    let mut one = 0.0;
    let mut many: Vec<f64> = Vec::new();
    if pairs > 1 {
        many.reserve_exact(pairs);
    }
    for j in 0..pairs {
        let Some(s) = parse_score(a.get(first + 2 * j)) else {
            return ctx.reply.error(err::NOT_FLOAT);
        };
        if pairs == 1 {
            one = s;
        } else {
            many.push(s);
        }
    }
    let score_at = |j: usize| if pairs == 1 { one } else { many[j] };

    let key = a.get(1);
    let l = ctx.ks.limits;
    let (now, db) = (ctx.now, ctx.db);
    let d = &mut ctx.ks.dbs[db];
    // One lookup: XX never creates the key; otherwise it is created (if absent) before the type check.
    let entry = if f.xx {
        match d.get(key, now) {
            Some(e) => e,
            None if f.incr => return ctx.reply.null(),
            None => return ctx.reply.int(0),
        }
    } else {
        let first_len = a.get(first + 1).len();
        d.get_or_create(key, now, || {
            Value::ZSet(Box::new(ZSetValue::for_first_member(first_len, &l)))
        })
    };
    let Value::ZSet(z) = &mut entry.value else {
        return ctx.reply.error(err::WRONGTYPE);
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0);
    let mut result = 0.0;
    for j in 0..pairs {
        let (s, m) = (score_at(j), a.get(first + 2 * j + 1));
        match z.scores.get(m).copied() {
            Some(cur) => {
                if f.nx {
                    continue;
                }
                let new = if f.incr { cur + s } else { s };
                if new.is_nan() {
                    // Only INCR on a present member gets here: the key is not empty.
                    return ctx.reply.error(NAN_SCORE);
                }
                if (f.lt && new >= cur) || (f.gt && new <= cur) {
                    continue;
                }
                if new != cur {
                    z.rescore(m, cur, new);
                    updated += 1;
                }
                processed += 1;
                result = new;
            }
            None => {
                if f.xx {
                    continue;
                }
                z.add_absent(m, s, &l);
                added += 1;
                processed += 1;
                result = s;
            }
        }
    }
    if f.incr {
        if processed > 0 {
            ctx.reply.double(result)
        } else {
            ctx.reply.null()
        }
    } else {
        ctx.reply.int(if f.ch { added + updated } else { added })
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]: options are taken while they
/// match, then the pairs; errors in Redis's order (pair count, NX+XX, GT/LT/NX, INCR with several
/// pairs, unparsable score). O(M log N) for M pairs.
fn zadd(ctx: &mut Ctx, a: &Args) {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < a.len() {
        let o = a.get(i);
        let flag = match o.len() {
            2 if o.eq_ignore_ascii_case(b"nx") => &mut f.nx,
            2 if o.eq_ignore_ascii_case(b"xx") => &mut f.xx,
            2 if o.eq_ignore_ascii_case(b"gt") => &mut f.gt,
            2 if o.eq_ignore_ascii_case(b"lt") => &mut f.lt,
            2 if o.eq_ignore_ascii_case(b"ch") => &mut f.ch,
            4 if o.eq_ignore_ascii_case(b"incr") => &mut f.incr,
            _ => break,
        };
        *flag = true;
        i += 1;
    }
    let elements = a.len() - i;
    if elements == 0 || elements % 2 == 1 {
        return ctx.reply.error(err::SYNTAX);
    }
    if f.nx && f.xx {
        return ctx
            .reply
            .error("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return ctx
            .reply
            .error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && elements > 2 {
        return ctx
            .reply
            .error("ERR INCR option supports a single increment-element pair");
    }
    add_generic(ctx, a, i, f)
}

/// ZINCRBY key increment member: ZADD INCR. O(log N).
fn zincrby(ctx: &mut Ctx, a: &Args) {
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add_generic(ctx, a, 2, f)
}

/// ZREM key member [member ...]: members removed; the key goes when the set empties. O(M log N).
fn zrem(ctx: &mut Ctx, a: &Args) {
    let key = a.get(1);
    let n = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(z)) => a.iter_from(2).filter(|m| z.remove_member(m)).count(),
    };
    if n > 0 {
        ctx.db().remove_if_empty(key);
    }
    ctx.reply.int(n as i64);
}

// --------------------------------------------------------------------------------------------- reads

/// ZSCORE key member. O(1).
fn zscore(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(z) => match z.and_then(|z| z.scores.get(a.get(2)).copied()) {
            Some(s) => ctx.reply.double(s),
            None => ctx.reply.null(),
        },
    }
}

/// ZMSCORE key member [member ...]: one score or null per member. O(M).
fn zmscore(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(z) => {
            ctx.reply.array(a.len() - 2);
            for m in a.iter_from(2) {
                match z.as_ref().and_then(|z| z.scores.get(m).copied()) {
                    Some(s) => ctx.reply.double(s),
                    None => ctx.reply.null(),
                }
            }
        }
    }
}

/// ZCARD key. O(1).
fn zcard(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(z) => ctx.reply.int(z.map_or(0, |z| z.scores.len()) as i64),
    }
}

fn rank_generic(ctx: &mut Ctx, a: &Args, rev: bool) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(z) => match z.and_then(|z| {
            let r = z.rank_of(a.get(2))?;
            Some(if rev { z.scores.len() - 1 - r } else { r })
        }) {
            Some(r) => ctx.reply.int(r as i64),
            None => ctx.reply.null(),
        },
    }
}

/// ZRANK key member (Redis 7.0: no WITHSCORE). O(log N + min(rank, N - rank)): the B-tree keeps no
/// subtree sizes, so the rank is counted from the nearer end.
fn zrank(ctx: &mut Ctx, a: &Args) {
    rank_generic(ctx, a, false)
}

/// ZREVRANK key member. O(log N + min(rank, N - rank)), as ZRANK.
fn zrevrank(ctx: &mut Ctx, a: &Args) {
    rank_generic(ctx, a, true)
}

/// ZCOUNT key min max. O(log N + min(M, N - M)) (counted in lockstep with the complement).
fn zcount(ctx: &mut Ctx, a: &Args) {
    let (Some(min), Some(max)) = (parse_score_end(a.get(2)), parse_score_end(a.get(3))) else {
        return ctx.reply.error(NOT_FLOAT_RANGE);
    };
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(None) => ctx.reply.int(0),
        Ok(Some(z)) => {
            let n = score_bounds(min, max).map_or(0, |(lo, hi)| {
                count_between(&z.sorted, lo.as_ref(), hi.as_ref())
            });
            ctx.reply.int(n as i64)
        }
    }
}

/// ZLEXCOUNT key min max. O(log N + min(M, N - M)) when all scores are equal (the case lex ranges are
/// defined for), O(N) otherwise.
fn zlexcount(ctx: &mut Ctx, a: &Args) {
    let (Some(min), Some(max)) = (parse_lex(a.get(2)), parse_lex(a.get(3))) else {
        return ctx.reply.error(NOT_LEX_RANGE);
    };
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(None) => ctx.reply.int(0),
        Ok(Some(z)) => {
            let n = lex_span(&z.sorted, min, max, false).count(&z.sorted);
            ctx.reply.int(n as i64)
        }
    }
}

// -------------------------------------------------------------------------------------------- ranges

/// Writes a range reply: members, with their scores when asked (flat in RESP2, `[member, score]` pairs
/// in RESP3, as Redis 7.0). `known` is the element count when the caller knows it; otherwise the
/// iterator is walked twice (once to count) rather than buffered. O(M).
fn emit<'z, I>(r: &mut Reply, it: I, known: Option<usize>, with_scores: bool)
where
    I: Iterator<Item = &'z Key> + Clone,
{
    let n = known.unwrap_or_else(|| it.clone().count());
    if with_scores && r.resp3() {
        r.array(n);
        for (s, m) in it {
            r.array(2);
            r.bulk(m);
            r.double(s.0);
        }
    } else {
        r.array(if with_scores { 2 * n } else { n });
        for (s, m) in it {
            r.bulk(m);
            if with_scores {
                r.double(s.0);
            }
        }
    }
}

/// Emits `run` ascending or descending after skipping `offset` and keeping `limit` (negative: all).
fn emit_run(
    r: &mut Reply,
    run: Run,
    known: Option<usize>,
    rev: bool,
    offset: usize,
    limit: i64,
    with_scores: bool,
) {
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    let it = run.into_iter().flatten();
    if rev {
        emit(r, it.rev().skip(offset).take(take), known, with_scores)
    } else {
        emit(r, it.skip(offset).take(take), known, with_scores)
    }
}

/// What a range selects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// Every ZRANGE form (Redis's `zrangeGenericCommand`). `by` and `rev` are None when the command lets the
/// options choose (ZRANGE). Options are checked first, then their conflicts, then the range ends, and
/// only then the key. Costs: by rank O(min(start, N - start) + min(stop, N - stop) + M); by score
/// O(log N + offset + M); by lex the same when all scores are equal, O(N) otherwise.
fn range_generic(ctx: &mut Ctx, a: &Args, by: Option<By>, rev: Option<bool>) {
    let (mut by, mut rev) = (by, rev);
    let (mut with_scores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = 4;
    while j < a.len() {
        let left = a.len() - j - 1;
        if a.is(j, "withscores") {
            with_scores = true;
        } else if a.is(j, "limit") && left >= 2 {
            let (Some(o), Some(c)) = (a.int(j + 1), a.int(j + 2)) else {
                return ctx.reply.error(err::NOT_INT);
            };
            (offset, limit) = (o, c);
            j += 2;
        } else if rev.is_none() && a.is(j, "rev") {
            rev = Some(true);
        } else if by.is_none() && a.is(j, "bylex") {
            by = Some(By::Lex);
        } else if by.is_none() && a.is(j, "byscore") {
            by = Some(By::Score);
        } else {
            return ctx.reply.error(err::SYNTAX);
        }
        j += 1;
    }
    let by = by.unwrap_or(By::Rank);
    let rev = rev.unwrap_or(false);
    if limit != -1 && by == By::Rank {
        return ctx.reply.error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
    }
    if with_scores && by == By::Lex {
        return ctx
            .reply
            .error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    // Reverse score and lex ranges are given as max, min.
    let (lo, hi) = if rev && by != By::Rank {
        (a.get(3), a.get(2))
    } else {
        (a.get(2), a.get(3))
    };
    enum Sel<'a> {
        Rank(i64, i64),
        Score((f64, bool), (f64, bool)),
        Lex(Lex<'a>, Lex<'a>),
    }
    let sel = match by {
        By::Rank => match (parse_i64(lo), parse_i64(hi)) {
            (Some(s), Some(e)) => Sel::Rank(s, e),
            _ => return ctx.reply.error(err::NOT_INT),
        },
        By::Score => match (parse_score_end(lo), parse_score_end(hi)) {
            (Some(min), Some(max)) => Sel::Score(min, max),
            _ => return ctx.reply.error(NOT_FLOAT_RANGE),
        },
        By::Lex => match (parse_lex(lo), parse_lex(hi)) {
            (Some(min), Some(max)) => Sel::Lex(min, max),
            _ => return ctx.reply.error(NOT_LEX_RANGE),
        },
    };
    let z = match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => return ctx.reply.array(0),
        Ok(Some(z)) => z,
    };
    let r = &mut ctx.reply;
    let sorted = &z.sorted;
    // A negative offset walks past the end in Redis; an offset past the end selects nothing.
    let offset = match usize::try_from(offset) {
        Ok(o) if o < sorted.len() || o == 0 => o,
        _ if by == By::Rank => 0,
        _ => return r.array(0),
    };
    match sel {
        Sel::Rank(start, stop) => {
            let (run, n) = rank_run(sorted, start, stop, rev);
            emit_run(r, run, Some(n), rev, 0, -1, with_scores)
        }
        Sel::Score(min, max) => {
            let run = score_bounds(min, max).map(|b| sorted.range(b));
            emit_run(r, run, None, rev, offset, limit, with_scores)
        }
        Sel::Lex(min, max) => {
            let run = lex_span(sorted, min, max, rev).run(sorted);
            emit_run(r, run, None, rev, offset, limit, false)
        }
    }
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES].
/// See [`range_generic`] for the cost.
fn zrange(ctx: &mut Ctx, a: &Args) {
    range_generic(ctx, a, None, None)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]. O(log N + offset + M).
fn zrangebyscore(ctx: &mut Ctx, a: &Args) {
    range_generic(ctx, a, Some(By::Score), Some(false))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]. O(log N + offset + M).
fn zrevrangebyscore(ctx: &mut Ctx, a: &Args) {
    range_generic(ctx, a, Some(By::Score), Some(true))
}

/// ZREVRANGE key start stop [WITHSCORES]. O(min(start, N - start) + min(stop, N - stop) + M).
fn zrevrange(ctx: &mut Ctx, a: &Args) {
    range_generic(ctx, a, Some(By::Rank), Some(true))
}

/// ZRANGEBYLEX key min max [LIMIT offset count]. O(log N + offset + M) with equal scores.
fn zrangebylex(ctx: &mut Ctx, a: &Args) {
    range_generic(ctx, a, Some(By::Lex), Some(false))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]. O(log N + offset + M) with equal scores.
fn zrevrangebylex(ctx: &mut Ctx, a: &Args) {
    range_generic(ctx, a, Some(By::Lex), Some(true))
}

/// Shared tail of the ZREMRANGEBY* commands: removes what `pick` selects, deletes an emptied key and
/// replies the count.
fn remrange(ctx: &mut Ctx, key: &[u8], pick: impl FnOnce(&Sorted) -> Run<'_>) {
    let n = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(z)) => z.remove_run(pick),
    };
    if n > 0 {
        ctx.db().remove_if_empty(key);
    }
    ctx.reply.int(n as i64);
}

/// ZREMRANGEBYSCORE key min max. O(log N + M log N).
fn zremrangebyscore(ctx: &mut Ctx, a: &Args) {
    let (Some(min), Some(max)) = (parse_score_end(a.get(2)), parse_score_end(a.get(3))) else {
        return ctx.reply.error(NOT_FLOAT_RANGE);
    };
    remrange(ctx, a.get(1), |sorted| {
        score_bounds(min, max).map(|b| sorted.range(b))
    })
}

/// ZREMRANGEBYRANK key start stop. O(min(start, N - start) + min(stop, N - stop) + M log N).
fn zremrangebyrank(ctx: &mut Ctx, a: &Args) {
    let (Some(start), Some(stop)) = (a.int(2), a.int(3)) else {
        return ctx.reply.error(err::NOT_INT);
    };
    remrange(ctx, a.get(1), |sorted| {
        rank_run(sorted, start, stop, false).0
    })
}

/// ZREMRANGEBYLEX key min max. O(log N + M log N) with equal scores, O(N + M log N) otherwise.
fn zremrangebylex(ctx: &mut Ctx, a: &Args) {
    let (Some(min), Some(max)) = (parse_lex(a.get(2)), parse_lex(a.get(3))) else {
        return ctx.reply.error(NOT_LEX_RANGE);
    };
    remrange(ctx, a.get(1), |sorted| {
        lex_span(sorted, min, max, false).run(sorted)
    })
}

// ---------------------------------------------------------------------------------------------- pops

/// ZPOPMIN/ZPOPMAX key [count]: the count must be a non-negative integer ("must be positive" error
/// otherwise), checked before the key. With a count, RESP3 replies `[member, score]` pairs; without
/// one, a flat pair. Members are written as they are popped. O(M log N).
fn zpop(ctx: &mut Ctx, a: &Args, max: bool) {
    if a.len() > 3 {
        return ctx.reply.error(err::SYNTAX);
    }
    let count = if a.len() == 3 {
        match a.int(2) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return ctx.reply.error(err::POSITIVE),
        }
    } else {
        None
    };
    let key = a.get(1);
    let z = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => return ctx.reply.array(0),
        Ok(Some(z)) => z,
    };
    let n = count.unwrap_or(1).min(z.sorted.len() as u64) as usize;
    let nested = count.is_some() && ctx.reply.resp3();
    ctx.reply.array(if nested { n } else { 2 * n });
    for _ in 0..n {
        let popped = if max {
            z.sorted.pop_last()
        } else {
            z.sorted.pop_first()
        };
        let Some((s, m)) = popped else { break };
        z.scores.swap_remove(&m);
        if nested {
            ctx.reply.array(2);
        }
        ctx.reply.bulk(&m);
        ctx.reply.double(s.0);
    }
    if n > 0 {
        ctx.db().remove_if_empty(key);
    }
}

/// ZPOPMIN key [count]. O(M log N).
fn zpopmin(ctx: &mut Ctx, a: &Args) {
    zpop(ctx, a, false)
}

/// ZPOPMAX key [count]. O(M log N).
fn zpopmax(ctx: &mut Ctx, a: &Args) {
    zpop(ctx, a, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_redis() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert!(parse_score(b"1e-310").is_some());
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"1\0"), None);
        let long = format!("1{}", "0".repeat(300));
        assert_eq!(parse_score(long.as_bytes()), Some(1e300));
    }

    #[test]
    fn range_ends_parse_like_zsl_parse_range() {
        assert_eq!(parse_score_end(b"(1"), Some((1.0, true)));
        assert_eq!(parse_score_end(b""), Some((0.0, false)));
        assert_eq!(parse_score_end(b"("), Some((0.0, true)));
        assert_eq!(parse_score_end(b" 2"), Some((2.0, false)));
        assert_eq!(parse_score_end(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_score_end(b"3\0x"), Some((3.0, false)));
        assert_eq!(parse_score_end(b"nan"), None);
        assert_eq!(parse_score_end(b"1x"), None);
    }

    fn set(items: &[(f64, &str)]) -> Sorted {
        items
            .iter()
            .map(|&(s, m)| (Score(s), Elem::from(m.as_bytes())))
            .collect()
    }

    #[test]
    fn counting_in_lockstep_matches_walking() {
        let s = set(&[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d"), (5.0, "e")]);
        for lo in 0..7 {
            for hi in 0..7 {
                for (le, he) in [(false, false), (true, false), (false, true), (true, true)] {
                    let (min, max) = ((lo as f64, le), (hi as f64, he));
                    let walk = s
                        .iter()
                        .filter(|(x, _)| {
                            (if le { x.0 > min.0 } else { x.0 >= min.0 })
                                && (if he { x.0 < max.0 } else { x.0 <= max.0 })
                        })
                        .count();
                    let got = score_bounds(min, max)
                        .map_or(0, |(l, h)| count_between(&s, l.as_ref(), h.as_ref()));
                    assert_eq!(got, walk, "{min:?} {max:?}");
                }
            }
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
            assert_eq!(nth(&z.sorted, i).map(|k| &*k.1), Some(m.as_bytes()));
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
                let (min, max) = (parse_lex(lo).unwrap(), parse_lex(hi).unwrap());
                let _ = lex_span(&s, min, max, false).count(&s);
                let _ = lex_span(&s, min, max, true).count(&s);
            }
        }
    }
}
