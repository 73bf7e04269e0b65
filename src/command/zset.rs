//! The sorted set command family: parsing and replies; the sorted set itself, its ranges and their
//! costs are [`crate::store::zset`].
//!
//! Parsing and replies follow Redis 7.0 exactly: scores are parsed with C's `strtod` as Redis does
//! (hex floats, `inf`, and for range ends also leading spaces and the empty string), and errors are
//! checked in Redis's order.

use super::{blocking, cmd, flag::*, typed, Args, Command, Ctx, Exec, Handled, KeySpec};
use crate::num::{parse_i64, strtod};
use crate::resp::{err, Reply};
use crate::store::notify::ZSET;
use crate::store::zset::{
    lex_count, lex_run, rank_run, score_count, score_run, Lex, Pair, Run, ScoreEnd, Sorted,
};
use crate::store::{Value, WrongType, ZSetValue};

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
        match z.scores.get(m).copied() {
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
            (n, z.sorted.is_empty())
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
    match z.and_then(|z| z.scores.get(a.get(2)).copied()) {
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
        match z.and_then(|z| z.scores.get(m).copied()) {
            Some(s) => ctx.reply.double(s),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

/// ZCARD key. O(1).
fn zcard(ctx: &mut Ctx, a: &Args) -> Handled {
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.int(z.map_or(0, |z| z.scores.len()) as i64);
    Ok(())
}

/// ZRANK/ZREVRANK: the member's rank from the bottom, or from the top when `rev`.
fn rank_generic(ctx: &mut Ctx, a: &Args, rev: bool) -> Handled {
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)?;
    match z.and_then(|z| {
        let r = z.rank_of(a.get(2))?;
        Some(if rev { z.scores.len() - 1 - r } else { r })
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
    let n = z.map_or(0, |z| score_count(&z.sorted, min, max));
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
    let n = z.map_or(0, |z| lex_count(&z.sorted, min, max));
    ctx.reply.int(n as i64);
    Ok(())
}

// -------------------------------------------------------------------------------------------- ranges

/// Writes a range reply: members, with their scores when asked (flat in RESP2, `[member, score]` pairs
/// in RESP3, as Redis 7.0). `known` is the element count when the caller knows it; otherwise the
/// iterator is walked twice (once to count) rather than buffered. O(M).
fn emit<'z, I>(r: &mut Reply, it: I, known: Option<usize>, with_scores: bool)
where
    I: Iterator<Item = &'z Pair> + Clone,
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
fn range_generic(ctx: &mut Ctx, a: &Args, by: Option<By>, rev: Option<bool>) -> Handled {
    let (mut by, mut rev) = (by, rev);
    let (mut with_scores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = 4;
    while j < a.len() {
        let left = a.len() - j - 1;
        if a.is(j, "withscores") {
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
        (a.get(3), a.get(2))
    } else {
        (a.get(2), a.get(3))
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
    let Some(z) = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.array(0);
        return Ok(());
    };
    let r = &mut ctx.reply;
    let sorted = &z.sorted;
    // A negative offset walks past the end in Redis; an offset past the end selects nothing.
    let offset = match usize::try_from(offset) {
        Ok(o) if o < sorted.len() || o == 0 => o,
        _ if by == By::Rank => 0,
        _ => {
            r.array(0);
            return Ok(());
        }
    };
    match sel {
        Sel::Rank(start, stop) => {
            let (run, n) = rank_run(sorted, start, stop, rev);
            emit_run(r, run, Some(n), rev, 0, -1, with_scores)
        }
        Sel::Score(min, max) => {
            let run = score_run(sorted, min, max);
            emit_run(r, run, None, rev, offset, limit, with_scores)
        }
        Sel::Lex(min, max) => {
            let run = lex_run(sorted, min, max, rev);
            emit_run(r, run, None, rev, offset, limit, false)
        }
    }
    Ok(())
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
    pick: impl FnOnce(&Sorted) -> Run<'_>,
) -> Handled {
    let (n, empty) = match ctx.ks.write::<ZSetValue>(ctx.db, key, ctx.now)? {
        None => (0, false),
        Some(z) => {
            let n = z.remove_run(pick);
            (n, z.sorted.is_empty())
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
    remrange(ctx, a.get(1), "zremrangebyscore", |sorted| {
        score_run(sorted, min, max)
    })
}

/// ZREMRANGEBYRANK key start stop. O(min(start, N - start) + min(stop, N - stop) + M log N).
fn zremrangebyrank(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(start), Some(stop)) = (a.int(2), a.int(3)) else {
        return ctx.error(err::NOT_INT);
    };
    remrange(ctx, a.get(1), "zremrangebyrank", |sorted| {
        rank_run(sorted, start, stop, false).0
    })
}

/// ZREMRANGEBYLEX key min max. O(log N + M log N) with equal scores, O(N + M log N) otherwise.
fn zremrangebylex(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(min), Some(max)) = (parse_lex(a.get(2)), parse_lex(a.get(3))) else {
        return ctx.error(NOT_LEX_RANGE);
    };
    remrange(ctx, a.get(1), "zremrangebylex", |sorted| {
        lex_run(sorted, min, max, false)
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
    let n = count.unwrap_or(1).min(z.sorted.len() as u64) as usize;
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
        let empty = z.sorted.is_empty();
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
        Ok(Some(z)) if !z.sorted.is_empty() => Ok(Some(z)),
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
        let empty = z.sorted.is_empty();
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
        let n = count.min(z.sorted.len());
        ctx.reply.array(2);
        ctx.reply.bulk(key);
        ctx.reply.array(n);
        for _ in 0..n {
            let Some((s, m)) = z.pop(max) else { break };
            ctx.reply.array(2);
            ctx.reply.bulk(&m);
            ctx.reply.double(s.0);
        }
        let empty = z.sorted.is_empty();
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
