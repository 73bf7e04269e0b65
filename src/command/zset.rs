//! The sorted set command family. A sorted set is a member -> score map plus an ordered set of
//! (score, member): O(1) ZSCORE, O(log n) insert and remove, ordered walks for ranges; ranks are
//! O(rank) walks (Redis's skiplist keeps span counts to make them O(log n)).

use std::ops::Bound;

use indexmap::IndexMap;

use super::{cmd, flag::*, parse_f64, Args, Command, Ctx, Exec, KeySpec};
use crate::resp::{err, Reply};
use crate::store::{Elem, Keyspace, Score, Value, ZSetValue};

/// The sorted set commands.
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    const LOGN: &str = "O(log(N)) where N is the number of elements in the sorted set.";
    const RANGE: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.";
    vec![
        cmd("zadd", -4, W | FAST, K(1, 1, 1), Keyed(zadd), "sorted-set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
        cmd("zincrby", 4, W | FAST, K(1, 1, 1), Keyed(zincrby), "sorted-set", "1.2.0", "Increments the score of a member in a sorted set.", LOGN),
        cmd("zrem", -3, WRITE | FAST, K(1, 1, 1), Keyed(zrem), "sorted-set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."),
        cmd("zscore", 3, READONLY | FAST, K(1, 1, 1), Keyed(zscore), "sorted-set", "1.2.0", "Returns the score of a member in a sorted set.", "O(1)"),
        cmd("zmscore", -3, READONLY | FAST, K(1, 1, 1), Keyed(zmscore), "sorted-set", "6.2.0", "Returns the score of one or more members in a sorted set.", "O(N) where N is the number of members being requested."),
        cmd("zcard", 2, READONLY | FAST, K(1, 1, 1), Keyed(zcard), "sorted-set", "1.2.0", "Returns the number of members in a sorted set.", "O(1)"),
        cmd("zrank", 3, READONLY | FAST, K(1, 1, 1), Keyed(zrank), "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", "O(log(N))"),
        cmd("zrevrank", 3, READONLY | FAST, K(1, 1, 1), Keyed(zrevrank), "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", "O(log(N))"),
        cmd("zcount", 4, READONLY | FAST, K(1, 1, 1), Keyed(zcount), "sorted-set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", LOGN),
        cmd("zlexcount", 4, READONLY | FAST, K(1, 1, 1), Keyed(zlexcount), "sorted-set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", LOGN),
        cmd("zpopmin", -2, WRITE | FAST, K(1, 1, 1), Keyed(zpopmin), "sorted-set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
        cmd("zpopmax", -2, WRITE | FAST, K(1, 1, 1), Keyed(zpopmax), "sorted-set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
        cmd("zrange", -4, READONLY, K(1, 1, 1), Keyed(zrange), "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes.", RANGE),
        cmd("zrangebyscore", -4, READONLY, K(1, 1, 1), Keyed(zrangebyscore), "sorted-set", "1.0.5", "Returns members in a sorted set within a range of scores.", RANGE),
        cmd("zrevrangebyscore", -4, READONLY, K(1, 1, 1), Keyed(zrevrangebyscore), "sorted-set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", RANGE),
        cmd("zrevrange", -4, READONLY, K(1, 1, 1), Keyed(zrevrange), "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", RANGE),
        cmd("zrangebylex", -4, READONLY, K(1, 1, 1), Keyed(zrangebylex), "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range.", RANGE),
        cmd("zrevrangebylex", -4, READONLY, K(1, 1, 1), Keyed(zrevrangebylex), "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", RANGE),
        cmd("zremrangebyscore", 4, WRITE, K(1, 1, 1), Keyed(zremrangebyscore), "sorted-set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
        cmd("zremrangebyrank", 4, WRITE, K(1, 1, 1), Keyed(zremrangebyrank), "sorted-set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
        cmd("zremrangebylex", 4, WRITE, K(1, 1, 1), Keyed(zremrangebylex), "sorted-set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    ]
}

/// The sorted set at `key`: Ok(None) if absent, Err(()) for another type. Borrows only the keyspace.
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

impl ZSetValue {
    /// Sets `member`'s score (adding it if new). O(log n).
    fn put(&mut self, member: &[u8], score: f64) {
        if let Some(old) = self.scores.get_mut(member) {
            if *old == score {
                return;
            }
            let elem: Elem = member.into();
            self.sorted.remove(&(Score(*old), elem.clone()));
            *old = score;
            self.sorted.insert((Score(score), elem));
        } else {
            let elem: Elem = member.into();
            self.scores.insert(elem.clone(), score);
            self.sorted.insert((Score(score), elem));
        }
    }

    /// Removes `member`; returns whether it was present. O(log n).
    fn del(&mut self, member: &[u8]) -> bool {
        match self.scores.swap_remove_entry(member) {
            Some((elem, score)) => {
                self.sorted.remove(&(Score(score), elem));
                true
            }
            None => false,
        }
    }

    /// Converts to the big encoding when Redis would.
    fn check_encoding(&mut self, max_entries: usize, max_value: usize, longest: usize) {
        if self.scores.len() > max_entries || longest > max_value {
            self.listpack = false;
        }
    }

    /// 0-based rank of `member` in ascending order. O(rank).
    fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = *self.scores.get(member)?;
        Some(
            self.sorted
                .range(..(Score(score), Elem::from(member)))
                .count(),
        )
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]. O(M log N).
fn zadd(ctx: &mut Ctx, a: &Args) {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < a.len() {
        let w = a.get(i).to_ascii_lowercase();
        match w.as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            b"ch" => ch = true,
            b"incr" => incr = true,
            _ => break,
        }
        i += 1;
    }
    let pairs = a.len() - i;
    if pairs == 0 || !pairs.is_multiple_of(2) {
        return ctx.reply.error(err::SYNTAX);
    }
    if nx && xx {
        return ctx
            .reply
            .error("ERR XX and NX options at the same time are not compatible");
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return ctx
            .reply
            .error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if incr && pairs > 2 {
        return ctx
            .reply
            .error("ERR INCR option supports a single increment-element pair");
    }
    let mut items = Vec::with_capacity(pairs / 2);
    for j in (i..a.len()).step_by(2) {
        let Some(s) = parse_f64(a.get(j)) else {
            return ctx.reply.error(err::NOT_FLOAT);
        };
        items.push((s, a.get(j + 1)));
    }
    let key = a.get(1);
    let l = ctx.ks.limits;
    let now = ctx.now;
    let db = ctx.db;
    let exists = match ctx.ks.dbs[db].get(key, now).map(|e| &e.value) {
        None => false,
        Some(Value::ZSet(_)) => true,
        Some(_) => return ctx.reply.error(err::WRONGTYPE),
    };
    if !exists && xx {
        return if incr {
            ctx.reply.null()
        } else {
            ctx.reply.int(0)
        };
    }
    let longest = items.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    let entry = ctx.ks.dbs[db].get_or_create(key, now, || {
        let listpack = l.zset_max_listpack_entries != 0
            && l.zset_max_listpack_entries >= items.len()
            && longest <= l.zset_max_listpack_value;
        Value::ZSet(Box::new(ZSetValue {
            scores: IndexMap::default(),
            sorted: Default::default(),
            listpack,
        }))
    });
    let Value::ZSet(z) = &mut entry.value else {
        return ctx.reply.error(err::WRONGTYPE);
    };
    let (mut added, mut updated) = (0, 0);
    let mut result = None;
    for (s, m) in items {
        match z.scores.get(m).copied() {
            Some(cur) => {
                if nx {
                    continue;
                }
                let new = if incr { cur + s } else { s };
                if new.is_nan() {
                    ctx.db().remove_if_empty(key);
                    return ctx.reply.error("ERR resulting score is not a number (NaN)");
                }
                if (gt && new <= cur) || (lt && new >= cur) {
                    continue;
                }
                if new != cur {
                    z.put(m, new);
                    updated += 1;
                }
                result = Some(new);
            }
            None => {
                if xx {
                    continue;
                }
                z.put(m, s);
                added += 1;
                result = Some(s);
            }
        }
    }
    z.check_encoding(
        l.zset_max_listpack_entries,
        l.zset_max_listpack_value,
        longest,
    );
    ctx.db().remove_if_empty(key);
    if incr {
        match result {
            Some(v) => ctx.reply.double(v),
            None => ctx.reply.null(),
        }
    } else {
        ctx.reply.int(if ch { added + updated } else { added });
    }
}

/// ZINCRBY key increment member. O(log N).
fn zincrby(ctx: &mut Ctx, a: &Args) {
    let Some(by) = parse_f64(a.get(2)) else {
        return ctx.reply.error(err::NOT_FLOAT);
    };
    let (key, m) = (a.get(1), a.get(3));
    let l = ctx.ks.limits;
    let now = ctx.now;
    let db = ctx.db;
    match ctx.ks.dbs[db].get(key, now).map(|e| &e.value) {
        None | Some(Value::ZSet(_)) => {}
        Some(_) => return ctx.reply.error(err::WRONGTYPE),
    }
    let entry = ctx.ks.dbs[db].get_or_create(key, now, || {
        let listpack = l.zset_max_listpack_entries != 0 && m.len() <= l.zset_max_listpack_value;
        Value::ZSet(Box::new(ZSetValue {
            scores: IndexMap::default(),
            sorted: Default::default(),
            listpack,
        }))
    });
    let Value::ZSet(z) = &mut entry.value else {
        return ctx.reply.error(err::WRONGTYPE);
    };
    let new = z.scores.get(m).copied().unwrap_or(0.0) + by;
    if new.is_nan() {
        ctx.db().remove_if_empty(key);
        return ctx.reply.error("ERR resulting score is not a number (NaN)");
    }
    z.put(m, new);
    z.check_encoding(
        l.zset_max_listpack_entries,
        l.zset_max_listpack_value,
        m.len(),
    );
    ctx.reply.double(new);
}

/// ZREM key member [member ...]. O(M log N).
fn zrem(ctx: &mut Ctx, a: &Args) {
    let key = a.get(1);
    let n = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(z)) => a.iter_from(2).filter(|m| z.del(m)).count(),
    };
    ctx.db().remove_if_empty(key);
    ctx.reply.int(n as i64);
}

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

/// ZMSCORE key member [member ...]. O(N).
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
        Ok(z) => ctx.reply.int(z.map(|z| z.scores.len()).unwrap_or(0) as i64),
    }
}

fn rank_generic(ctx: &mut Ctx, a: &Args, rev: bool) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(z) => match z.and_then(|z| {
            z.rank(a.get(2))
                .map(|r| if rev { z.scores.len() - 1 - r } else { r })
        }) {
            Some(r) => ctx.reply.int(r as i64),
            None => ctx.reply.null(),
        },
    }
}

/// ZRANK key member. O(rank).
fn zrank(ctx: &mut Ctx, a: &Args) {
    rank_generic(ctx, a, false)
}

/// ZREVRANK key member. O(rank).
fn zrevrank(ctx: &mut Ctx, a: &Args) {
    rank_generic(ctx, a, true)
}

/// A score bound: value and whether it is exclusive (`(` prefix).
#[derive(Clone, Copy)]
struct ScoreBound {
    v: f64,
    excl: bool,
}

fn parse_score_bound(b: &[u8]) -> Option<ScoreBound> {
    let (excl, rest) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    let v = parse_f64(rest)?;
    Some(ScoreBound { v, excl })
}

/// A lexicographic bound.
#[derive(Clone)]
enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

fn parse_lex_bound(b: &[u8]) -> Option<LexBound> {
    match b.first() {
        Some(b'-') if b.len() == 1 => Some(LexBound::NegInf),
        Some(b'+') if b.len() == 1 => Some(LexBound::PosInf),
        Some(b'[') => Some(LexBound::Incl(b[1..].to_vec())),
        Some(b'(') => Some(LexBound::Excl(b[1..].to_vec())),
        _ => None,
    }
}

fn above_min(m: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Incl(x) => m >= x.as_slice(),
        LexBound::Excl(x) => m > x.as_slice(),
    }
}

fn below_max(m: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Incl(x) => m <= x.as_slice(),
        LexBound::Excl(x) => m < x.as_slice(),
    }
}

fn in_score(s: f64, min: ScoreBound, max: ScoreBound) -> bool {
    (if min.excl { s > min.v } else { s >= min.v })
        && (if max.excl { s < max.v } else { s <= max.v })
}

/// What a range selects.
enum Sel {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

/// Members selected by `sel`, in ascending order or descending when `rev`, after LIMIT.
/// O(log N + M) for score ranges from the low end, O(N) at worst otherwise.
fn select<'z>(
    z: &'z ZSetValue,
    sel: &Sel,
    rev: bool,
    offset: i64,
    count: i64,
) -> Vec<(&'z Elem, f64)> {
    let len = z.sorted.len() as i64;
    let take = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    if offset < 0 {
        return Vec::new();
    }
    let skip = offset as usize;
    match sel {
        Sel::Rank(start, stop) => {
            let mut s = if *start < 0 { len + start } else { *start };
            let mut e = if *stop < 0 { len + stop } else { *stop };
            s = s.max(0);
            if e >= len {
                e = len - 1;
            }
            if s > e || s >= len {
                return Vec::new();
            }
            let n = (e - s + 1) as usize;
            if rev {
                z.sorted
                    .iter()
                    .rev()
                    .skip(s as usize)
                    .take(n)
                    .map(|(sc, m)| (m, sc.0))
                    .collect()
            } else {
                z.sorted
                    .iter()
                    .skip(s as usize)
                    .take(n)
                    .map(|(sc, m)| (m, sc.0))
                    .collect()
            }
        }
        Sel::Score(min, max) => {
            let (min, max) = (*min, *max);
            if rev {
                let upper = if max.v == f64::INFINITY {
                    Bound::Unbounded
                } else {
                    Bound::Excluded((Score(max.v.next_up()), Elem::default()))
                };
                z.sorted
                    .range((Bound::Unbounded, upper))
                    .rev()
                    .skip_while(|(s, _)| !in_score(s.0, min, max) && s.0 >= min.v)
                    .take_while(|(s, _)| in_score(s.0, min, max))
                    .skip(skip)
                    .take(take)
                    .map(|(sc, m)| (m, sc.0))
                    .collect()
            } else {
                let lower = if min.v == f64::NEG_INFINITY {
                    Bound::Unbounded
                } else {
                    Bound::Included((Score(min.v), Elem::default()))
                };
                z.sorted
                    .range((lower, Bound::Unbounded))
                    .skip_while(|(s, _)| !in_score(s.0, min, max) && s.0 <= max.v)
                    .take_while(|(s, _)| in_score(s.0, min, max))
                    .skip(skip)
                    .take(take)
                    .map(|(sc, m)| (m, sc.0))
                    .collect()
            }
        }
        Sel::Lex(min, max) => {
            let it: Box<dyn Iterator<Item = &(Score, Elem)>> = if rev {
                Box::new(z.sorted.iter().rev())
            } else {
                Box::new(z.sorted.iter())
            };
            it.filter(|(_, m)| above_min(m, min) && below_max(m, max))
                .skip(skip)
                .take(take)
                .map(|(sc, m)| (m, sc.0))
                .collect()
        }
    }
}

fn reply_range(r: &mut Reply, items: &[(&Elem, f64)], with_scores: bool) {
    if with_scores && r.resp3() {
        r.array(items.len());
        for (m, s) in items {
            r.array(2);
            r.bulk(m);
            r.double(*s);
        }
    } else {
        r.array(if with_scores {
            items.len() * 2
        } else {
            items.len()
        });
        for (m, s) in items {
            r.bulk(m);
            if with_scores {
                r.double(*s);
            }
        }
    }
}

/// Parses min/max for the selection kind; replies the error and returns None when invalid.
fn parse_sel(r: &mut Reply, kind: u8, lo: &[u8], hi: &[u8]) -> Option<Sel> {
    match kind {
        b's' => match (parse_score_bound(lo), parse_score_bound(hi)) {
            (Some(a), Some(b)) => Some(Sel::Score(a, b)),
            _ => {
                r.error("ERR min or max is not a float");
                None
            }
        },
        b'l' => match (parse_lex_bound(lo), parse_lex_bound(hi)) {
            (Some(a), Some(b)) => Some(Sel::Lex(a, b)),
            _ => {
                r.error("ERR min or max not valid string range item");
                None
            }
        },
        _ => match (crate::resp::parse_i64(lo), crate::resp::parse_i64(hi)) {
            (Some(a), Some(b)) => Some(Sel::Rank(a, b)),
            _ => {
                r.error(err::NOT_INT);
                None
            }
        },
    }
}

/// Shared body of every ZRANGE form. `kind` is b'r' (rank), b's' (score) or b'l' (lex); `lo`/`hi`
/// are the argument indices of the range ends as the client gave them; `opts` the first option.
fn range_command(ctx: &mut Ctx, a: &Args, mut kind: u8, mut rev: bool, opts: usize, generic: bool) {
    let (mut with_scores, mut limit) = (false, None);
    let mut i = opts;
    while i < a.len() {
        if a.is(i, "withscores") {
            with_scores = true;
        } else if a.is(i, "limit") && i + 2 < a.len() {
            let (Some(o), Some(c)) = (a.int(i + 1), a.int(i + 2)) else {
                return ctx.reply.error(err::NOT_INT);
            };
            limit = Some((o, c));
            i += 2;
        } else if generic && a.is(i, "byscore") {
            kind = b's';
        } else if generic && a.is(i, "bylex") {
            kind = b'l';
        } else if generic && a.is(i, "rev") {
            rev = true;
        } else {
            return ctx.reply.error(err::SYNTAX);
        }
        i += 1;
    }
    if generic && limit.is_some() && kind == b'r' {
        return ctx.reply.error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
    }
    if with_scores && kind == b'l' {
        return if generic {
            ctx.reply
                .error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        } else {
            ctx.reply.error(err::SYNTAX)
        };
    }
    // ZRANGE ... BYSCORE|BYLEX REV takes max then min, as the ZREV* forms do.
    let (lo, hi) = if rev && kind != b'r' {
        (a.get(3), a.get(2))
    } else {
        (a.get(2), a.get(3))
    };
    let Some(sel) = parse_sel(&mut ctx.reply, kind, lo, hi) else {
        return;
    };
    let (offset, count) = limit.unwrap_or((0, -1));
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(None) => ctx.reply.array(0),
        Ok(Some(z)) => {
            let items = select(z, &sel, rev, offset, count);
            reply_range(&mut ctx.reply, &items, with_scores)
        }
    }
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES].
fn zrange(ctx: &mut Ctx, a: &Args) {
    range_command(ctx, a, b'r', false, 4, true)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count].
fn zrangebyscore(ctx: &mut Ctx, a: &Args) {
    range_command(ctx, a, b's', false, 4, false)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count].
fn zrevrangebyscore(ctx: &mut Ctx, a: &Args) {
    range_command(ctx, a, b's', true, 4, false)
}

/// ZREVRANGE key start stop [WITHSCORES].
fn zrevrange(ctx: &mut Ctx, a: &Args) {
    range_command(ctx, a, b'r', true, 4, false)
}

/// ZRANGEBYLEX key min max [LIMIT offset count].
fn zrangebylex(ctx: &mut Ctx, a: &Args) {
    range_command(ctx, a, b'l', false, 4, false)
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count].
fn zrevrangebylex(ctx: &mut Ctx, a: &Args) {
    range_command(ctx, a, b'l', true, 4, false)
}

fn count_generic(ctx: &mut Ctx, a: &Args, kind: u8) {
    let Some(sel) = parse_sel(&mut ctx.reply, kind, a.get(2), a.get(3)) else {
        return;
    };
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(None) => ctx.reply.int(0),
        Ok(Some(z)) => {
            let n = select(z, &sel, false, 0, -1).len();
            ctx.reply.int(n as i64)
        }
    }
}

/// ZCOUNT key min max.
fn zcount(ctx: &mut Ctx, a: &Args) {
    count_generic(ctx, a, b's')
}

/// ZLEXCOUNT key min max.
fn zlexcount(ctx: &mut Ctx, a: &Args) {
    count_generic(ctx, a, b'l')
}

fn remrange(ctx: &mut Ctx, a: &Args, kind: u8) {
    let Some(sel) = parse_sel(&mut ctx.reply, kind, a.get(2), a.get(3)) else {
        return;
    };
    let key = a.get(1);
    let n = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(z)) => {
            let victims: Vec<Elem> = select(z, &sel, false, 0, -1)
                .into_iter()
                .map(|(m, _)| m.clone())
                .collect();
            for m in &victims {
                z.del(m);
            }
            victims.len()
        }
    };
    ctx.db().remove_if_empty(key);
    ctx.reply.int(n as i64);
}

/// ZREMRANGEBYSCORE key min max.
fn zremrangebyscore(ctx: &mut Ctx, a: &Args) {
    remrange(ctx, a, b's')
}

/// ZREMRANGEBYRANK key start stop.
fn zremrangebyrank(ctx: &mut Ctx, a: &Args) {
    remrange(ctx, a, b'r')
}

/// ZREMRANGEBYLEX key min max.
fn zremrangebylex(ctx: &mut Ctx, a: &Args) {
    remrange(ctx, a, b'l')
}

/// ZPOPMIN/ZPOPMAX key [count]. O(M log N).
fn zpop(ctx: &mut Ctx, a: &Args, max: bool) {
    if a.len() > 3 {
        return ctx.reply.error(err::SYNTAX);
    }
    let count = if a.len() == 3 {
        match a.int(2) {
            Some(n) if n >= 0 => n as usize,
            _ => return ctx.reply.error(err::POSITIVE),
        }
    } else {
        1
    };
    let key = a.get(1);
    let popped: Vec<(Elem, f64)> = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => Vec::new(),
        Ok(Some(z)) => {
            let mut out = Vec::new();
            for _ in 0..count {
                let next = if max {
                    z.sorted.pop_last()
                } else {
                    z.sorted.pop_first()
                };
                let Some((s, m)) = next else { break };
                z.scores.swap_remove(&m);
                out.push((m, s.0));
            }
            out
        }
    };
    ctx.db().remove_if_empty(key);
    let nested = a.len() == 3 && ctx.reply.resp3();
    if nested {
        ctx.reply.array(popped.len());
        for (m, s) in &popped {
            ctx.reply.array(2);
            ctx.reply.bulk(m);
            ctx.reply.double(*s);
        }
    } else {
        ctx.reply.array(popped.len() * 2);
        for (m, s) in &popped {
            ctx.reply.bulk(m);
            ctx.reply.double(*s);
        }
    }
}

/// ZPOPMIN key [count].
fn zpopmin(ctx: &mut Ctx, a: &Args) {
    zpop(ctx, a, false)
}

/// ZPOPMAX key [count].
fn zpopmax(ctx: &mut Ctx, a: &Args) {
    zpop(ctx, a, true)
}
