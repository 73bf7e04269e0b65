//! The sorted set command family: parsing and replies; the sorted set itself, its ranges and their
//! costs are [`crate::store::zset`].
//!
//! Parsing and replies follow Redis 7.0 exactly: scores are parsed with C's `strtod` as Redis does
//! (hex floats, `inf`, and for range ends also leading spaces and the empty string), and errors are
//! checked in Redis's order.

use std::ops::Range;

use super::{
    blocking, cmd, distinct_indices, flag::*, parse_cursor, parse_scan_options, scan_down, typed,
    Args, Command, Ctx, Exec, Handled, KeySpec, Rng,
};
use crate::num::{format_double, parse_i64, strtod};
use crate::resp::{err, Reply};
use crate::store::notify::{GENERIC, ZSET};
use crate::store::zset::{combine, inter_card, Aggregate, Algebra, Lex, Run, ScoreEnd, Source};
use crate::store::{Keyspace, Value, WrongType, ZSetValue};

/// The sorted set commands (Redis 7.0.15's arity, flags, key positions and documentation).
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("zadd", -4, W | FAST, K(1, 1, 1), Keyed(typed!(zadd))),
        cmd("zincrby", 4, W | FAST, K(1, 1, 1), Keyed(typed!(zincrby))),
        cmd("zrem", -3, WRITE | FAST, K(1, 1, 1), Keyed(typed!(zrem))),
        cmd("zscore", 3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(zscore))),
        cmd("zmscore", -3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(zmscore))),
        cmd("zcard", 2, READONLY | FAST, K(1, 1, 1), Keyed(typed!(zcard))),
        cmd("zrank", 3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(zrank))),
        cmd("zrevrank", 3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(zrevrank))),
        cmd("zcount", 4, READONLY | FAST, K(1, 1, 1), Keyed(typed!(zcount))),
        cmd("zlexcount", 4, READONLY | FAST, K(1, 1, 1), Keyed(typed!(zlexcount))),
        cmd("zpopmin", -2, WRITE | FAST, K(1, 1, 1), Keyed(typed!(zpopmin))),
        cmd("zpopmax", -2, WRITE | FAST, K(1, 1, 1), Keyed(typed!(zpopmax))),
        cmd("zmpop", -4, WRITE | MOVABLEKEYS, KeySpec::Custom(super::keys_numkeys_at_1), Keyed(typed!(zmpop))),
        cmd("bzpopmin", -3, WRITE | NOSCRIPT | FAST, K(1, -2, 1), Keyed(typed!(bzpopmin))).blocking(blocking::timeout_last),
        cmd("bzpopmax", -3, WRITE | NOSCRIPT | FAST, K(1, -2, 1), Keyed(typed!(bzpopmax))).blocking(blocking::timeout_last),
        cmd("bzmpop", -5, WRITE | MOVABLEKEYS, KeySpec::Custom(keys_numkeys_at_2), Keyed(typed!(bzmpop))).blocking(blocking::timeout_first),
        cmd("zrange", -4, READONLY, K(1, 1, 1), Keyed(typed!(zrange))),
        cmd("zrangebyscore", -4, READONLY, K(1, 1, 1), Keyed(typed!(zrangebyscore))),
        cmd("zrevrangebyscore", -4, READONLY, K(1, 1, 1), Keyed(typed!(zrevrangebyscore))),
        cmd("zrevrange", -4, READONLY, K(1, 1, 1), Keyed(typed!(zrevrange))),
        cmd("zrangebylex", -4, READONLY, K(1, 1, 1), Keyed(typed!(zrangebylex))),
        cmd("zrevrangebylex", -4, READONLY, K(1, 1, 1), Keyed(typed!(zrevrangebylex))),
        cmd("zremrangebyscore", 4, WRITE, K(1, 1, 1), Keyed(typed!(zremrangebyscore))),
        cmd("zremrangebyrank", 4, WRITE, K(1, 1, 1), Keyed(typed!(zremrangebyrank))),
        cmd("zremrangebylex", 4, WRITE, K(1, 1, 1), Keyed(typed!(zremrangebylex))),
        cmd("zunionstore", -4, W | MOVABLEKEYS, KeySpec::Custom(super::keys_dest_numkeys_at_2), Keyed(typed!(zunionstore))),
        cmd("zinterstore", -4, W | MOVABLEKEYS, KeySpec::Custom(super::keys_dest_numkeys_at_2), Keyed(typed!(zinterstore))),
        cmd("zdiffstore", -4, W | MOVABLEKEYS, KeySpec::Custom(super::keys_dest_numkeys_at_2), Keyed(typed!(zdiffstore))),
        cmd("zunion", -3, READONLY | MOVABLEKEYS, KeySpec::Custom(super::keys_numkeys_at_1), Keyed(typed!(zunion))),
        cmd("zinter", -3, READONLY | MOVABLEKEYS, KeySpec::Custom(super::keys_numkeys_at_1), Keyed(typed!(zinter))),
        cmd("zdiff", -3, READONLY | MOVABLEKEYS, KeySpec::Custom(super::keys_numkeys_at_1), Keyed(typed!(zdiff))),
        cmd("zintercard", -3, READONLY | MOVABLEKEYS, KeySpec::Custom(super::keys_numkeys_at_1), Keyed(typed!(zintercard))),
        cmd("zrangestore", -5, W, K(1, 2, 1), Keyed(typed!(zrangestore))),
        cmd("zrandmember", -2, READONLY, K(1, 1, 1), Keyed(typed!(zrandmember))),
        cmd("zscan", -3, READONLY, K(1, 1, 1), Keyed(typed!(zscan))),
    ]
}

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
fn parse_score_end(b: &[u8]) -> Option<ScoreEnd> {
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

// --------------------------------------------------------------------------------------- lex ranges

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
fn add_generic(ctx: &mut Ctx, a: &Args, first: usize, f: AddFlags) -> Handled {
    let pairs = (a.len() - first) / 2;
    // One pair (the usual case) needs no buffer; more are parsed into one allocation.
    let mut one = 0.0;
    let mut many: Vec<f64> = Vec::new();
    if pairs > 1 {
        many.reserve_exact(pairs);
    }
    for j in 0..pairs {
        let Some(s) = parse_score(a.get(first + 2 * j)) else {
            return ctx.error(err::NOT_FLOAT);
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
    // One write lookup: XX never creates the key; otherwise it is created (if absent) before the type
    // check.
    let z = if f.xx {
        match d.get_as::<ZSetValue>(key, now)? {
            Some(z) => z,
            None if f.incr => {
                ctx.reply.null();
                return Ok(());
            }
            None => {
                ctx.reply.int(0);
                return Ok(());
            }
        }
    } else {
        let first_len = a.get(first + 1).len();
        d.get_or_create_as::<ZSetValue>(key, now, || {
            Value::ZSet(Box::new(ZSetValue::for_first_member(first_len, &l)))
        })?
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0);
    let mut result = 0.0;
    for j in 0..pairs {
        let (s, m) = (score_at(j), a.get(first + 2 * j + 1));
        match z.score(m) {
            Some(cur) => {
                if f.nx {
                    continue;
                }
                let new = if f.incr { cur + s } else { s };
                if new.is_nan() {
                    // Only INCR on a present member gets here: the key is not empty, and nothing
                    // was added or updated (INCR takes one pair), so there is no event.
                    return ctx.error(NAN_SCORE);
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
    if added > 0 || updated > 0 {
        ctx.notify(ZSET, if f.incr { "zincr" } else { "zadd" }, key);
    }
    Ok(())
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]: options are taken while they
/// match, then the pairs; errors in Redis's order (pair count, NX+XX, GT/LT/NX, INCR with several
/// pairs, unparsable score). O(M log N) for M pairs.
fn zadd(ctx: &mut Ctx, a: &Args) -> Handled {
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
        return ctx.error(err::SYNTAX);
    }
    if f.nx && f.xx {
        return ctx.error("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return ctx.error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && elements > 2 {
        return ctx.error("ERR INCR option supports a single increment-element pair");
    }
    add_generic(ctx, a, i, f)
}

/// ZINCRBY key increment member: ZADD INCR. O(log N).
fn zincrby(ctx: &mut Ctx, a: &Args) -> Handled {
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add_generic(ctx, a, 2, f)
}

/// ZREM key member [member ...]: members removed; the key goes when the set empties. O(M log N).
fn zrem(ctx: &mut Ctx, a: &Args) -> Handled {
    let key = a.get(1);
    let (n, empty) = match ctx.ks.write::<ZSetValue>(ctx.db, key, ctx.now)? {
        None => (0, false),
        Some(z) => {
            let n = a.iter_from(2).filter(|m| z.remove_member(m)).count();
            (n, z.is_empty())
        }
    };
    if n > 0 {
        ctx.elements_removed(ZSET, key, "zrem", empty);
    }
    ctx.reply.int(n as i64);
    Ok(())
}

/// The event of a pop of the highest scores (`max`) or the lowest.
#[inline]
fn pop_event(max: bool) -> &'static str {
    if max {
        "zpopmax"
    } else {
        "zpopmin"
    }
}

// --------------------------------------------------------------------------------------------- reads

/// ZSCORE key member. O(1).
fn zscore(ctx: &mut Ctx, a: &Args) -> Handled {
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)?;
    match z.and_then(|z| z.score(a.get(2))) {
        Some(s) => ctx.reply.double(s),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]: one score or null per member. O(M).
fn zmscore(ctx: &mut Ctx, a: &Args) -> Handled {
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.array(a.len() - 2);
    for m in a.iter_from(2) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => ctx.reply.double(s),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

/// ZCARD key. O(1).
fn zcard(ctx: &mut Ctx, a: &Args) -> Handled {
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.int(z.map_or(0, |z| z.len()) as i64);
    Ok(())
}

/// ZRANK/ZREVRANK: the member's rank from the bottom, or from the top when `rev`.
fn rank_generic(ctx: &mut Ctx, a: &Args, rev: bool) -> Handled {
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)?;
    match z.and_then(|z| {
        let r = z.rank_of(a.get(2))?;
        Some(if rev { z.len() - 1 - r } else { r })
    }) {
        Some(r) => ctx.reply.int(r as i64),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// ZRANK key member (Redis 7.0: no WITHSCORE). O(log N + min(rank, N - rank)): the B-tree keeps no
/// subtree sizes, so the rank is counted from the nearer end.
fn zrank(ctx: &mut Ctx, a: &Args) -> Handled {
    rank_generic(ctx, a, false)
}

/// ZREVRANK key member. O(log N + min(rank, N - rank)), as ZRANK.
fn zrevrank(ctx: &mut Ctx, a: &Args) -> Handled {
    rank_generic(ctx, a, true)
}

/// ZCOUNT key min max. O(log N + min(M, N - M)) (counted in lockstep with the complement).
fn zcount(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(min), Some(max)) = (parse_score_end(a.get(2)), parse_score_end(a.get(3))) else {
        return ctx.error(NOT_FLOAT_RANGE);
    };
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)?;
    let n = z.map_or(0, |z| z.score_count(min, max));
    ctx.reply.int(n as i64);
    Ok(())
}

/// ZLEXCOUNT key min max. O(log N + min(M, N - M)) when all scores are equal (the case lex ranges are
/// defined for), O(N) otherwise.
fn zlexcount(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(min), Some(max)) = (parse_lex(a.get(2)), parse_lex(a.get(3))) else {
        return ctx.error(NOT_LEX_RANGE);
    };
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)?;
    let n = z.map_or(0, |z| z.lex_count(min, max));
    ctx.reply.int(n as i64);
    Ok(())
}

// -------------------------------------------------------------------------------------------- ranges

/// Writes a range reply: members, with their scores when asked (flat in RESP2, `[member, score]` pairs
/// in RESP3, as Redis 7.0). `known` is the element count when the caller knows it; otherwise the
/// iterator is walked twice (once to count) rather than buffered. O(M).
fn emit<'z, I>(r: &mut Reply, it: I, known: Option<usize>, with_scores: bool)
where
    I: Iterator<Item = (f64, &'z [u8])> + Clone,
{
    let n = known.unwrap_or_else(|| it.clone().count());
    if with_scores && r.resp3() {
        r.array(n);
        for (s, m) in it {
            r.array(2);
            r.bulk(m);
            r.double(s);
        }
    } else {
        r.array(if with_scores { 2 * n } else { n });
        for (s, m) in it {
            r.bulk(m);
            if with_scores {
                r.double(s);
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
    let it = run;
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
fn range_generic(ctx: &mut Ctx, a: &Args, by: Option<By>, rev: Option<bool>) -> Handled {
    range_or_store(ctx, a, false, by, rev)
}

/// [`range_generic`] for ZRANGE's forms (`store` false: key at 1) and ZRANGESTORE (`store`: the
/// destination at 1, the source at 2, no WITHSCORES). The stored result is encoded as Redis's
/// `zrangeResultBeginStore` and `zsetAdd` leave it.
fn range_or_store(
    ctx: &mut Ctx,
    a: &Args,
    store: bool,
    by: Option<By>,
    rev: Option<bool>,
) -> Handled {
    let base = if store { 2 } else { 1 };
    let (mut by, mut rev) = (by, rev);
    let (mut with_scores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = base + 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        if !store && a.is(j, "withscores") {
            with_scores = true;
        } else if a.is(j, "limit") && left >= 2 {
            let (Some(o), Some(c)) = (a.int(j + 1), a.int(j + 2)) else {
                return ctx.error(err::NOT_INT);
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
            return ctx.error(err::SYNTAX);
        }
        j += 1;
    }
    let by = by.unwrap_or(By::Rank);
    let rev = rev.unwrap_or(false);
    if limit != -1 && by == By::Rank {
        return ctx.error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
    }
    if with_scores && by == By::Lex {
        return ctx.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    // Reverse score and lex ranges are given as max, min.
    let (lo, hi) = if rev && by != By::Rank {
        (a.get(base + 2), a.get(base + 1))
    } else {
        (a.get(base + 1), a.get(base + 2))
    };
    enum Sel<'a> {
        Rank(i64, i64),
        Score(ScoreEnd, ScoreEnd),
        Lex(Lex<'a>, Lex<'a>),
    }
    let sel = match by {
        By::Rank => match (parse_i64(lo), parse_i64(hi)) {
            (Some(s), Some(e)) => Sel::Rank(s, e),
            _ => return ctx.error(err::NOT_INT),
        },
        By::Score => match (parse_score_end(lo), parse_score_end(hi)) {
            (Some(min), Some(max)) => Sel::Score(min, max),
            _ => return ctx.error(NOT_FLOAT_RANGE),
        },
        By::Lex => match (parse_lex(lo), parse_lex(hi)) {
            (Some(min), Some(max)) => Sel::Lex(min, max),
            _ => return ctx.error(NOT_LEX_RANGE),
        },
    };
    if store {
        let limits = ctx.ks.limits;
        let result = match ctx.ks.read::<ZSetValue>(ctx.db, a.get(2), ctx.now)? {
            None => None,
            Some(z) => {
                // As for ZRANGE: an offset past the end (or negative) selects nothing.
                let offset = usize::try_from(offset)
                    .ok()
                    .filter(|&o| o < z.len() || o == 0);
                let by_rank = matches!(sel, Sel::Rank(..));
                let pairs = match (sel, offset) {
                    (Sel::Rank(start, stop), _) => {
                        select(z.rank_run(start, stop, rev).0, rev, 0, -1)
                    }
                    (Sel::Score(min, max), Some(o)) => select(z.score_run(min, max), rev, o, limit),
                    (Sel::Lex(min, max), Some(o)) => {
                        let (run, o) = z.lex_run_from(min, max, rev, o);
                        select(run, rev, o, limit)
                    }
                    _ => Vec::new(),
                };
                // The rank form knows its length up front; the others start as a listpack.
                let listpack = !by_rank || pairs.len() <= limits.zset_max_listpack_entries;
                (!pairs.is_empty()).then(|| ZSetValue::from_added(&pairs, listpack, &limits))
            }
        };
        store_result(ctx, a.get(1), result, "zrangestore");
        return Ok(());
    }
    let Some(z) = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.array(0);
        return Ok(());
    };
    let r = &mut ctx.reply;
    // A negative offset walks past the end in Redis; an offset past the end selects nothing.
    let offset = match usize::try_from(offset) {
        Ok(o) if o < z.len() || o == 0 => o,
        _ if by == By::Rank => 0,
        _ => {
            r.array(0);
            return Ok(());
        }
    };
    match sel {
        Sel::Rank(start, stop) => {
            let (run, n) = z.rank_run(start, stop, rev);
            emit_run(r, run, Some(n), rev, 0, -1, with_scores)
        }
        Sel::Score(min, max) => {
            let run = z.score_run(min, max);
            emit_run(r, run, None, rev, offset, limit, with_scores)
        }
        Sel::Lex(min, max) => {
            let (run, offset) = z.lex_run_from(min, max, rev, offset);
            emit_run(r, run, None, rev, offset, limit, false)
        }
    }
    Ok(())
}

/// The members and scores of `run`, ascending or descending, after skipping `offset` and keeping
/// `limit` (negative: all). O(offset + M).
fn select<'z>(run: Run<'z>, rev: bool, offset: usize, limit: i64) -> Vec<(&'z [u8], f64)> {
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    let it = run;
    let pair = |p: (f64, &'z [u8])| -> (&'z [u8], f64) { (p.1, p.0) };
    if rev {
        it.rev().skip(offset).take(take).map(pair).collect()
    } else {
        it.skip(offset).take(take).map(pair).collect()
    }
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]: ZRANGE's selection
/// stored at `dst` (deleted when empty). Costs as [`range_generic`], plus O(M log M) to build.
fn zrangestore(ctx: &mut Ctx, a: &Args) -> Handled {
    range_or_store(ctx, a, true, None, None)
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES].
/// See [`range_generic`] for the cost.
fn zrange(ctx: &mut Ctx, a: &Args) -> Handled {
    range_generic(ctx, a, None, None)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]. O(log N + offset + M).
fn zrangebyscore(ctx: &mut Ctx, a: &Args) -> Handled {
    range_generic(ctx, a, Some(By::Score), Some(false))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]. O(log N + offset + M).
fn zrevrangebyscore(ctx: &mut Ctx, a: &Args) -> Handled {
    range_generic(ctx, a, Some(By::Score), Some(true))
}

/// ZREVRANGE key start stop [WITHSCORES]. O(min(start, N - start) + min(stop, N - stop) + M).
fn zrevrange(ctx: &mut Ctx, a: &Args) -> Handled {
    range_generic(ctx, a, Some(By::Rank), Some(true))
}

/// ZRANGEBYLEX key min max [LIMIT offset count]. O(log N + offset + M) with equal scores.
fn zrangebylex(ctx: &mut Ctx, a: &Args) -> Handled {
    range_generic(ctx, a, Some(By::Lex), Some(false))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]. O(log N + offset + M) with equal scores.
fn zrevrangebylex(ctx: &mut Ctx, a: &Args) -> Handled {
    range_generic(ctx, a, Some(By::Lex), Some(true))
}

/// Shared tail of the ZREMRANGEBY* commands: removes what `pick` selects, deletes an emptied key and
/// replies the count.
fn remrange(
    ctx: &mut Ctx,
    key: &[u8],
    event: &'static str,
    pick: impl FnOnce(&ZSetValue) -> Run<'_>,
) -> Handled {
    let (n, empty) = match ctx.ks.write::<ZSetValue>(ctx.db, key, ctx.now)? {
        None => (0, false),
        Some(z) => {
            let n = z.remove_run(pick);
            (n, z.is_empty())
        }
    };
    if n > 0 {
        ctx.elements_removed(ZSET, key, event, empty);
    }
    ctx.reply.int(n as i64);
    Ok(())
}

/// ZREMRANGEBYSCORE key min max. O(log N + M log N).
fn zremrangebyscore(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(min), Some(max)) = (parse_score_end(a.get(2)), parse_score_end(a.get(3))) else {
        return ctx.error(NOT_FLOAT_RANGE);
    };
    remrange(ctx, a.get(1), "zremrangebyscore", |z| z.score_run(min, max))
}

/// ZREMRANGEBYRANK key start stop. O(min(start, N - start) + min(stop, N - stop) + M log N).
fn zremrangebyrank(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(start), Some(stop)) = (a.int(2), a.int(3)) else {
        return ctx.error(err::NOT_INT);
    };
    remrange(ctx, a.get(1), "zremrangebyrank", |z| {
        z.rank_run(start, stop, false).0
    })
}

/// ZREMRANGEBYLEX key min max. O(log N + M log N) with equal scores, O(N + M log N) otherwise.
fn zremrangebylex(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(min), Some(max)) = (parse_lex(a.get(2)), parse_lex(a.get(3))) else {
        return ctx.error(NOT_LEX_RANGE);
    };
    remrange(ctx, a.get(1), "zremrangebylex", |z| {
        z.lex_run(min, max, false)
    })
}

// ---------------------------------------------------------------------------------------------- pops

/// ZPOPMIN/ZPOPMAX key [count]: the count must be a non-negative integer ("must be positive" error
/// otherwise), checked before the key. With a count, RESP3 replies `[member, score]` pairs; without
/// one, a flat pair. Members are written as they are popped. O(M log N).
fn zpop(ctx: &mut Ctx, a: &Args, max: bool) -> Handled {
    if a.len() > 3 {
        return ctx.error(err::SYNTAX);
    }
    let count = if a.len() == 3 {
        match a.int(2) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return ctx.error(err::POSITIVE),
        }
    } else {
        None
    };
    let key = a.get(1);
    let Some(z) = ctx.ks.write::<ZSetValue>(ctx.db, key, ctx.now)? else {
        ctx.reply.array(0);
        return Ok(());
    };
    let n = count.unwrap_or(1).min(z.len() as u64) as usize;
    let nested = count.is_some() && ctx.reply.resp3();
    ctx.reply.array(if nested { n } else { 2 * n });
    for _ in 0..n {
        let Some((s, m)) = z.pop(max) else { break };
        if nested {
            ctx.reply.array(2);
        }
        ctx.reply.bulk(&m);
        ctx.reply.double(s.0);
    }
    if n > 0 {
        let empty = z.is_empty();
        ctx.elements_removed(ZSET, key, pop_event(max), empty);
    }
    Ok(())
}

/// ZPOPMIN key [count]. O(M log N).
fn zpopmin(ctx: &mut Ctx, a: &Args) -> Handled {
    zpop(ctx, a, false)
}

/// ZPOPMAX key [count]. O(M log N).
fn zpopmax(ctx: &mut Ctx, a: &Args) -> Handled {
    zpop(ctx, a, true)
}

/// Key positions of BZMPOP: `timeout numkeys key [key ...]`.
fn keys_numkeys_at_2(args: &Args, out: &mut Vec<usize>) {
    super::keys_numkeys(args, 2, out)
}

/// The non-empty sorted set at `key` a blocking pop may take from, or None: missing, not looked
/// at in this call, or (while serving a blocked client) of another type, which leaves it waiting
/// as in Redis. Otherwise a key of another type is a WRONGTYPE error.
fn blocking_source<'c>(
    ks: &'c mut crate::store::Keyspace,
    db: usize,
    now: u64,
    block: super::Block,
    key: &[u8],
) -> Result<Option<&'c mut ZSetValue>, WrongType> {
    if !block.looks_at(key) {
        return Ok(None);
    }
    let serving = block.serving();
    match ks.write::<ZSetValue>(db, key, now) {
        Ok(Some(z)) if !z.is_empty() => Ok(Some(z)),
        Ok(_) => Ok(None),
        Err(_) if serving => Ok(None),
        Err(e) => Err(e),
    }
}

/// BZPOPMIN/BZPOPMAX key [key ...] timeout: `[key, member, score]` from the first key holding a
/// sorted set, or a wait. O(log N).
fn bzpop(ctx: &mut Ctx, a: &Args, max: bool) -> Handled {
    if let Err(e) = blocking::parse_timeout(a.get(a.len() - 1)) {
        return ctx.error(e);
    }
    for i in 1..a.len() - 1 {
        let key = a.get(i);
        let Some(z) = blocking_source(ctx.ks, ctx.db, ctx.now, ctx.block, key)? else {
            continue;
        };
        let Some((s, m)) = z.pop(max) else { continue };
        let empty = z.is_empty();
        ctx.reply.array(3);
        ctx.reply.bulk(key);
        ctx.reply.bulk(&m);
        ctx.reply.double(s.0);
        ctx.elements_removed(ZSET, key, pop_event(max), empty);
        return Ok(());
    }
    blocking::nothing(ctx, true, false);
    Ok(())
}

/// BZPOPMIN key [key ...] timeout. O(log N).
fn bzpopmin(ctx: &mut Ctx, a: &Args) -> Handled {
    bzpop(ctx, a, false)
}

/// BZPOPMAX key [key ...] timeout. O(log N).
fn bzpopmax(ctx: &mut Ctx, a: &Args) -> Handled {
    bzpop(ctx, a, true)
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]. O(K + M log N).
fn zmpop(ctx: &mut Ctx, a: &Args) -> Handled {
    mpop(ctx, a, 1, false)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: ZMPOP, or a wait. The timeout is
/// checked after the other arguments, as in Redis. O(K + M log N).
fn bzmpop(ctx: &mut Ctx, a: &Args) -> Handled {
    mpop(ctx, a, 2, true)
}

/// ZMPOP and BZMPOP, with numkeys at `numkeys_at`: `[key, [[member, score] ...]]` from the first
/// key holding a sorted set, else (ZMPOP, or BZMPOP that may not wait) a null array.
fn mpop(ctx: &mut Ctx, a: &Args, numkeys_at: usize, blocking: bool) -> Handled {
    let m = match blocking::parse_mpop(a, numkeys_at, ["min", "max"], blocking) {
        Ok(m) => m,
        Err(e) => return ctx.error(e),
    };
    let (max, count) = (!m.first_side, m.count);
    for k in m.keys {
        let key = a.get(k);
        let Some(z) = blocking_source(ctx.ks, ctx.db, ctx.now, ctx.block, key)? else {
            continue;
        };
        let n = count.min(z.len());
        ctx.reply.array(2);
        ctx.reply.bulk(key);
        ctx.reply.array(n);
        for _ in 0..n {
            let Some((s, m)) = z.pop(max) else { break };
            ctx.reply.array(2);
            ctx.reply.bulk(&m);
            ctx.reply.double(s.0);
        }
        let empty = z.is_empty();
        ctx.elements_removed(ZSET, key, pop_event(max), empty);
        return Ok(());
    }
    if blocking {
        blocking::nothing(ctx, true, false);
    } else {
        ctx.reply.null_array();
    }
    Ok(())
}

// ------------------------------------------------------------------------------- union, inter, diff

/// The inputs at the keys in `keys`, in order, each with a read lookup (a found expired key is
/// deleted, a missing one is a `keymiss`) as Redis's `lookupKeyRead`; Err at the first key holding
/// neither a sorted set nor a set (the later ones are not looked up). O(K).
fn lookup_sources<'d>(
    ks: &'d mut Keyspace,
    db: usize,
    a: &Args,
    keys: Range<usize>,
    now: u64,
) -> Result<Vec<Source<'d>>, WrongType> {
    let d = &mut ks.dbs[db];
    for i in keys.clone() {
        match d.peek(a.get(i), now) {
            Some(e) if !matches!(e.value, Value::ZSet(_) | Value::Set(_)) => return Err(WrongType),
            Some(_) => {}
            None => {
                d.get_read(a.get(i), now, true);
            }
        }
    }
    let (db, stats) = ks.reader(db);
    Ok(keys
        .map(|i| {
            let found = match db.peek(a.get(i), now).map(|e| &e.value) {
                Some(Value::ZSet(z)) => Source::ZSet(z),
                Some(Value::Set(s)) => Source::Set(s),
                _ => Source::Missing,
            };
            stats.lookup(!matches!(found, Source::Missing));
            found
        })
        .collect())
}

/// Writes `(member, score)` pairs as a range reply: flat in RESP2, `[member, score]` pairs in RESP3
/// when scores are asked for. O(M).
fn emit_pairs(r: &mut Reply, pairs: &[(&[u8], f64)], with_scores: bool) {
    let nested = with_scores && r.resp3();
    r.array(if with_scores && !nested {
        2 * pairs.len()
    } else {
        pairs.len()
    });
    for &(m, s) in pairs {
        if nested {
            r.array(2);
        }
        r.bulk(m);
        if with_scores {
            r.double(s);
        }
    }
}

/// Stores a computed sorted set at `dst` as Redis's STORE commands do: a non-empty result replaces
/// the destination (any type, TTL dropped) and raises `event`; an empty one deletes the destination
/// (a `del` event if it existed). Replies the result's cardinality. O(M log M).
fn store_result(ctx: &mut Ctx, dst: &[u8], result: Option<ZSetValue>, event: &'static str) {
    let now = ctx.now;
    let db = ctx.db();
    match result {
        Some(z) => {
            let n = z.len();
            // Redis's setKey looks the destination up first: one found expired goes (`expired`).
            db.get(dst, now);
            db.set(dst, Value::ZSet(Box::new(z)), 0);
            ctx.notify(ZSET, event, dst);
            ctx.reply.int(n as i64);
        }
        None => {
            // Redis's dbDelete, which does not look at the TTL.
            if db.remove(dst, 0).is_some() {
                ctx.notify(GENERIC, "del", dst);
            }
            ctx.reply.int(0);
        }
    }
}

/// ZUNION/ZINTER/ZDIFF/ZINTERCARD and the STORE forms (Redis's `zunionInterDiffGenericCommand`):
/// numkeys at `numkeys_at`, the destination at 1 when `store`. Checked in Redis's order: numkeys
/// (an integer, at least 1, no more than the arguments left), every input key (a sorted set or a
/// set, else WRONGTYPE), then the options (WEIGHTS and AGGREGATE but not for ZDIFF and ZINTERCARD,
/// WITHSCORES only without a destination, LIMIT only for ZINTERCARD). See [`combine`] for the cost.
fn algebra_generic(
    ctx: &mut Ctx,
    a: &Args,
    name: &'static str,
    op: Algebra,
    store: bool,
    card_only: bool,
) -> Handled {
    let numkeys_at = if store { 2 } else { 1 };
    let Some(n) = a.int(numkeys_at) else {
        return ctx.error(err::NOT_INT);
    };
    if n < 1 {
        return ctx.error(&format!(
            "ERR at least 1 input key is needed for '{name}' command"
        ));
    }
    if n as u64 > (a.len() - numkeys_at - 1) as u64 {
        return ctx.error(err::SYNTAX);
    }
    let n = n as usize;
    let first = numkeys_at + 1;
    let end = first + n;
    let now = ctx.now;
    let limits = ctx.ks.limits;
    let sources = lookup_sources(ctx.ks, ctx.db, a, first..end, now)?;
    let mut weights = vec![1.0f64; n];
    let (mut agg, mut with_scores, mut limit) = (Aggregate::Sum, false, 0usize);
    let mut j = end;
    let weighted = op != Algebra::Diff && !card_only;
    let mut error: Option<&str> = None;
    while j < a.len() {
        let left = a.len() - j;
        if weighted && left > n && a.is(j, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                match parse_score(a.get(j)) {
                    Some(v) => *w = v,
                    None => {
                        error = Some("ERR weight value is not a float");
                        break;
                    }
                }
                j += 1;
            }
            if error.is_some() {
                break;
            }
        } else if weighted && left >= 2 && a.is(j, "aggregate") {
            agg = match a.get(j + 1) {
                o if o.eq_ignore_ascii_case(b"sum") => Aggregate::Sum,
                o if o.eq_ignore_ascii_case(b"min") => Aggregate::Min,
                o if o.eq_ignore_ascii_case(b"max") => Aggregate::Max,
                _ => {
                    error = Some(err::SYNTAX);
                    break;
                }
            };
            j += 2;
        } else if !store && !card_only && a.is(j, "withscores") {
            with_scores = true;
            j += 1;
        } else if card_only && left >= 2 && a.is(j, "limit") {
            // getPositiveLongFromObjectOrReply: a non-integer gets the option's own message.
            match a.int(j + 1) {
                Some(l) if l >= 0 => limit = usize::try_from(l).unwrap_or(usize::MAX),
                _ => {
                    error = Some("ERR LIMIT can't be negative");
                    break;
                }
            }
            j += 2;
        } else {
            error = Some(err::SYNTAX);
            break;
        }
    }
    if let Some(e) = error {
        drop(sources);
        return ctx.error(e);
    }
    if card_only {
        let count = inter_card(&sources, limit);
        drop(sources);
        ctx.reply.int(count as i64);
        return Ok(());
    }
    let inputs: Vec<(Source, f64)> = sources.into_iter().zip(weights).collect();
    let pairs = combine(&inputs, op, agg);
    if store {
        let result = (!pairs.is_empty()).then(|| ZSetValue::from_pairs(&pairs, &limits));
        drop(pairs);
        drop(inputs);
        store_result(ctx, a.get(1), result, name);
    } else {
        emit_pairs(&mut ctx.reply, &pairs, with_scores);
    }
    Ok(())
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX].
/// O(N + M log M), N the members of all inputs, M the result's.
fn zunionstore(ctx: &mut Ctx, a: &Args) -> Handled {
    algebra_generic(ctx, a, "zunionstore", Algebra::Union, true, false)
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX].
/// O(N*K + M log M), N the smallest input.
fn zinterstore(ctx: &mut Ctx, a: &Args) -> Handled {
    algebra_generic(ctx, a, "zinterstore", Algebra::Inter, true, false)
}

/// ZDIFFSTORE destination numkeys key [key ...]. O(N*K + M log M), N the first input.
fn zdiffstore(ctx: &mut Ctx, a: &Args) -> Handled {
    algebra_generic(ctx, a, "zdiffstore", Algebra::Diff, true, false)
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES].
/// O(N + M log M).
fn zunion(ctx: &mut Ctx, a: &Args) -> Handled {
    algebra_generic(ctx, a, "zunion", Algebra::Union, false, false)
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES].
/// O(N*K + M log M).
fn zinter(ctx: &mut Ctx, a: &Args) -> Handled {
    algebra_generic(ctx, a, "zinter", Algebra::Inter, false, false)
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]. O(N*K + M log M).
fn zdiff(ctx: &mut Ctx, a: &Args) -> Handled {
    algebra_generic(ctx, a, "zdiff", Algebra::Diff, false, false)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's size, counting stopped at the
/// limit (0: none). O(N*K), N the smallest input.
fn zintercard(ctx: &mut Ctx, a: &Args) -> Handled {
    algebra_generic(ctx, a, "zintercard", Algebra::Inter, false, true)
}

// ------------------------------------------------------------------------------- random and scan

/// Most elements ZRANDMEMBER with a negative count may reply. Redis has no limit and exhausts its
/// memory building a reply of billions of members; Rustis refuses such counts (when the set exists)
/// with Redis's out-of-range error instead.
const MAX_RANDOM_REPLY: u64 = 1 << 26;

/// One ZRANDMEMBER element: the member, with its score when asked (a `[member, score]` pair in RESP3).
fn reply_member(r: &mut Reply, m: &[u8], s: f64, with_scores: bool) {
    if with_scores && r.resp3() {
        r.array(2);
    }
    r.bulk(m);
    if with_scores {
        r.double(s);
    }
}

/// ZRANDMEMBER key [count [WITHSCORES]] (Redis's `zrandmemberCommand`). Without a count: one member
/// or null. A positive count: distinct members (the whole set, ascending, when count >= size); a
/// negative one: |count| members, repeats allowed. O(1) without a count, O(|count|) with one
/// (O(N) for the whole set, replied descending as Redis walks it).
fn zrandmember(ctx: &mut Ctx, a: &Args) -> Handled {
    let mut count = None;
    let mut with_scores = false;
    if a.len() >= 3 {
        let c = match a.int(2) {
            Some(i64::MIN) => {
                return ctx.error(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                )
            }
            Some(c) => c,
            None => return ctx.error(err::NOT_INT),
        };
        if a.len() > 4 || (a.len() == 4 && !a.is(3, "withscores")) {
            return ctx.error(err::SYNTAX);
        }
        if a.len() == 4 {
            with_scores = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&c) {
                return ctx.error("ERR value is out of range");
            }
        }
        count = Some(c);
    }
    let mut rng = Rng(ctx.ks.random());
    let Some(z) = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)? else {
        match count {
            Some(_) => ctx.reply.array(0),
            None => ctx.reply.null(),
        }
        return Ok(());
    };
    let len = z.len();
    let r = &mut ctx.reply;
    let header = |r: &mut Reply, n: usize| {
        let flat = with_scores && !r.resp3();
        r.array(if flat { 2 * n } else { n })
    };
    match count {
        None => match z.table_entry(rng.below(len)) {
            Some((m, _)) => r.bulk(m),
            None => r.null(),
        },
        Some(0) => r.array(0),
        Some(c) if c < 0 || c == 1 => {
            if c.unsigned_abs() > MAX_RANDOM_REPLY {
                r.error("ERR value is out of range");
                return Ok(());
            }
            let n = c.unsigned_abs() as usize;
            header(r, n);
            for _ in 0..n {
                if let Some((m, s)) = z.table_entry(rng.below(len)) {
                    reply_member(r, m, s, with_scores);
                }
            }
        }
        Some(c) if c as u64 >= len as u64 => {
            // Redis walks the set from its top (zuiNext iterates backwards).
            header(r, len);
            for (m, s) in z.iter_sorted().rev() {
                reply_member(r, m, s, with_scores);
            }
        }
        Some(c) => {
            let n = c as usize;
            header(r, n);
            for i in distinct_indices(len, n, || rng.next_u64()) {
                if let Some((m, s)) = z.table_entry(i) {
                    reply_member(r, m, s, with_scores);
                }
            }
        }
    }
    Ok(())
}

/// A score as a listpack holds it (Redis's `d2string`): an integral value within +-2^62 as an
/// integer, otherwise `%.17g`; ZSCAN of a listpack-encoded set replies scores this way. O(1).
fn listpack_score(s: f64, tmp: &mut [u8; 64]) -> &[u8] {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if s == 0.0 {
        return if s.is_sign_negative() { b"-0" } else { b"0" };
    }
    if (-HALF..=HALF).contains(&s) && (s as i64) as f64 == s {
        let mut b = itoa::Buffer::new();
        let t = b.format(s as i64).as_bytes();
        tmp[..t.len()].copy_from_slice(t);
        return &tmp[..t.len()];
    }
    format_double(s, tmp)
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]: member-score pairs, the scores as bulk strings in
/// both protocols. Redis parses the cursor, then looks the key up, then parses the options. A
/// listpack-encoded set is returned whole (ascending) with cursor 0, as Redis does for its compact
/// encodings; a larger one is walked from its last table index down (see [`scan_down`]), so members
/// moved by removals during the scan are never skipped. O(COUNT) per call; O(N) for a listpack.
fn zscan(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(cursor) = parse_cursor(a.get(2)) else {
        return ctx.error("ERR invalid cursor");
    };
    let Some(z) = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
        return Ok(());
    };
    let r = &mut ctx.reply;
    let Some(o) = parse_scan_options(r, a, cursor, 3, false) else {
        return Ok(());
    };
    let (count, matches) = (o.count, |m: &[u8]| o.matches(m));
    let mut found: Vec<(&[u8], f64)> = Vec::new();
    let next = if z.is_listpack() {
        found.extend(z.iter_sorted().filter(|p| matches(p.0)));
        0
    } else {
        scan_down(z.len(), cursor, count, |i| {
            if let Some(p) = z.table_entry(i).filter(|p| matches(p.0)) {
                found.push(p);
            }
        })
    };
    r.array(2);
    r.bulk(itoa::Buffer::new().format(next).as_bytes());
    r.array(2 * found.len());
    let mut tmp = [0u8; 64];
    for (m, s) in found {
        r.bulk(m);
        if z.is_listpack() {
            r.bulk(listpack_score(s, &mut tmp));
        } else {
            r.bulk(format_double(s, &mut tmp));
        }
    }
    Ok(())
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
}
