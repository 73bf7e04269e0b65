//! The list command family: parsing and replies; the list itself is [`crate::store::list`].
//!
//! Every handler follows the order in which Redis 7.0 validates (argument errors, key lookup, type
//! check, then the remaining arguments), because that order decides which error a client sees, and
//! writes its reply straight into the output buffer: elements are only allocated when stored.

use super::{blocking, cmd, flag::*, int_arg, typed, Args, Command, Ctx, Exec, Handled, KeySpec};
use crate::resp::err;
use crate::store::notify::{GENERIC, LIST};

/// Key positions of BLMPOP: `timeout numkeys key [key ...]`.
fn keys_numkeys_at_2(args: &Args, out: &mut Vec<usize>) {
    super::keys_numkeys(args, 2, out)
}
use crate::store::{ListValue, Value, WrongType};

/// The event of a push at the head (`left`) or the tail.
#[inline]
fn push_event(left: bool) -> &'static str {
    if left {
        "lpush"
    } else {
        "rpush"
    }
}

/// The event of a pop from the head (`left`) or the tail.
#[inline]
fn pop_event(left: bool) -> &'static str {
    if left {
        "lpop"
    } else {
        "rpop"
    }
}

/// The list commands, with Redis 7.0's arity, flags, key positions and COMMAND DOCS texts.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("lpush", -3, W | FAST, K(1, 1, 1), Keyed(typed!(lpush))),
        cmd("rpush", -3, W | FAST, K(1, 1, 1), Keyed(typed!(rpush))),
        cmd("lpushx", -3, W | FAST, K(1, 1, 1), Keyed(typed!(lpushx))),
        cmd("rpushx", -3, W | FAST, K(1, 1, 1), Keyed(typed!(rpushx))),
        cmd("lpop", -2, WRITE | FAST, K(1, 1, 1), Keyed(typed!(lpop))),
        cmd("rpop", -2, WRITE | FAST, K(1, 1, 1), Keyed(typed!(rpop))),
        cmd("lrange", 4, READONLY, K(1, 1, 1), Keyed(typed!(lrange))),
        cmd("llen", 2, READONLY | FAST, K(1, 1, 1), Keyed(typed!(llen))),
        cmd("lindex", 3, READONLY, K(1, 1, 1), Keyed(typed!(lindex))),
        cmd("lset", 4, W, K(1, 1, 1), Keyed(typed!(lset))),
        cmd("lrem", 4, WRITE, K(1, 1, 1), Keyed(typed!(lrem))),
        cmd("ltrim", 4, WRITE, K(1, 1, 1), Keyed(typed!(ltrim))),
        cmd("linsert", 5, W, K(1, 1, 1), Keyed(typed!(linsert))),
        cmd("lpos", -3, READONLY, K(1, 1, 1), Keyed(typed!(lpos))),
        cmd("lmove", 5, W, K(1, 2, 1), Keyed(typed!(lmove))),
        cmd("rpoplpush", 3, W, K(1, 2, 1), Keyed(typed!(rpoplpush))),
        cmd("lmpop", -4, WRITE | MOVABLEKEYS, KeySpec::Custom(super::keys_numkeys_at_1), Keyed(typed!(lmpop))),
        cmd("blpop", -3, WRITE | NOSCRIPT, K(1, -2, 1), Keyed(typed!(blpop))).blocking(blocking::timeout_last),
        cmd("brpop", -3, WRITE | NOSCRIPT, K(1, -2, 1), Keyed(typed!(brpop))).blocking(blocking::timeout_last),
        cmd("blmove", 6, W | NOSCRIPT, K(1, 2, 1), Keyed(typed!(blmove))).blocking(blocking::timeout_last),
        cmd("brpoplpush", 4, W | NOSCRIPT, K(1, 2, 1), Keyed(typed!(brpoplpush))).blocking(blocking::timeout_last),
        cmd("blmpop", -5, WRITE | MOVABLEKEYS, KeySpec::Custom(keys_numkeys_at_2), Keyed(typed!(blmpop))).blocking(blocking::timeout_first),
    ]
}

/// Pushes every element from index 2 on, at the head (`left`) or the tail; `create` when a missing key
/// may be created (LPUSH/RPUSH) rather than left alone (LPUSHX/RPUSHX). Replies the new length.
/// One write lookup when the list exists (the common case); a missing key is inserted whole. O(N) in
/// the elements pushed.
fn push(ctx: &mut Ctx, a: &Args, left: bool, create: bool) -> Handled {
    let key = a.get(1);
    if let Some(l) = ctx.ks.write::<ListValue>(ctx.db, key, ctx.now)? {
        l.items.reserve(a.len() - 2);
        for v in a.iter_from(2) {
            l.push(v.into(), left);
        }
        ctx.reply.int(l.len() as i64);
        ctx.notify(LIST, push_event(left), key);
        return Ok(());
    }
    if !create {
        ctx.reply.int(0);
        return Ok(());
    }
    let mut l = ListValue::with_capacity(a.len() - 2);
    for v in a.iter_from(2) {
        l.push(v.into(), left);
    }
    let n = l.len() as i64;
    ctx.db().set(key, Value::List(Box::new(l)), 0);
    ctx.reply.int(n);
    ctx.notify(LIST, push_event(left), key);
    Ok(())
}

/// LPUSH key element [element ...]. O(N) in the elements pushed.
fn lpush(ctx: &mut Ctx, a: &Args) -> Handled {
    push(ctx, a, true, true)
}

/// RPUSH key element [element ...]. O(N) in the elements pushed.
fn rpush(ctx: &mut Ctx, a: &Args) -> Handled {
    push(ctx, a, false, true)
}

/// LPUSHX key element [element ...]. O(N) in the elements pushed.
fn lpushx(ctx: &mut Ctx, a: &Args) -> Handled {
    push(ctx, a, true, false)
}

/// RPUSHX key element [element ...]. O(N) in the elements pushed.
fn rpushx(ctx: &mut Ctx, a: &Args) -> Handled {
    push(ctx, a, false, false)
}

/// LPOP/RPOP key [count]. Without a count: the element or a null bulk. With one: an array (empty for
/// count 0), or a null array when the key is missing. O(N) in the elements returned.
fn pop(ctx: &mut Ctx, a: &Args, left: bool) -> Handled {
    if a.len() > 3 {
        let name = if left { "lpop" } else { "rpop" };
        return ctx.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
    }
    let count = if a.len() == 3 {
        // getPositiveLongFromObjectOrReply: a non-integer gets the same error as a negative count.
        match a.int(2) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.error(err::POSITIVE),
        }
    } else {
        None
    };
    let key = a.get(1);
    let Some(l) = ctx.ks.write::<ListValue>(ctx.db, key, ctx.now)? else {
        match count {
            Some(_) => ctx.reply.null_array(),
            None => ctx.reply.null(),
        }
        return Ok(());
    };
    let popped = match count {
        None => match l.pop(left) {
            Some(v) => {
                ctx.reply.bulk(&v);
                true
            }
            None => {
                ctx.reply.null();
                false
            }
        },
        Some(n) => {
            let n = n.min(l.len());
            ctx.reply.array(n);
            for _ in 0..n {
                if let Some(v) = l.pop(left) {
                    ctx.reply.bulk(&v);
                }
            }
            n > 0
        }
    };
    // Redis's fast exit for a count of 0 raises nothing.
    if popped {
        let empty = l.is_empty();
        ctx.elements_removed(LIST, key, pop_event(left), empty);
    }
    Ok(())
}

/// LPOP key [count].
fn lpop(ctx: &mut Ctx, a: &Args) -> Handled {
    pop(ctx, a, true)
}

/// RPOP key [count].
fn rpop(ctx: &mut Ctx, a: &Args) -> Handled {
    pop(ctx, a, false)
}

/// LRANGE key start stop. O(S+N): S the start offset, N the elements returned.
fn lrange(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(start), Some(stop)) = (a.int(2), a.int(3)) else {
        return ctx.error(err::NOT_INT);
    };
    let l = ctx.ks.read::<ListValue>(ctx.db, a.get(1), ctx.now)?;
    match l.and_then(|l| Some((l, l.range(start, stop)?))) {
        None => ctx.reply.array(0),
        Some((l, (s, e))) => {
            ctx.reply.array(e + 1 - s);
            for x in l.items.range(s..=e) {
                ctx.reply.bulk(x);
            }
        }
    }
    Ok(())
}

/// LLEN key. O(1).
fn llen(ctx: &mut Ctx, a: &Args) -> Handled {
    let l = ctx.ks.read::<ListValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.int(l.map_or(0, |l| l.len()) as i64);
    Ok(())
}

/// LINDEX key index. The key is looked up before the index is parsed, as in Redis. O(1).
fn lindex(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(l) = ctx.ks.read::<ListValue>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.null();
        return Ok(());
    };
    if let Some(i) = int_arg(&mut ctx.reply, a, 2) {
        match l.get(i) {
            Some(v) => ctx.reply.bulk(v),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

/// LSET key index element. The key is looked up before the index is parsed, as in Redis. O(1).
fn lset(ctx: &mut Ctx, a: &Args) -> Handled {
    let key = a.get(1);
    let Some(l) = ctx.ks.write::<ListValue>(ctx.db, key, ctx.now)? else {
        return ctx.error(err::NO_SUCH_KEY);
    };
    if let Some(i) = int_arg(&mut ctx.reply, a, 2) {
        if l.set(i, a.get(3).into()) {
            ctx.reply.ok();
            ctx.notify(LIST, "lset", key);
        } else {
            ctx.reply.error(err::OUT_OF_RANGE)
        }
    }
    Ok(())
}

/// LREM key count element: the first `count` matches from the head (count > 0), the last `-count`
/// from the tail (count < 0), or all of them (0). In place, no allocation. O(N).
fn lrem(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(count) = int_arg(&mut ctx.reply, a, 2) else {
        return Ok(());
    };
    let (key, val) = (a.get(1), a.get(3));
    let removed = match ctx.ks.write::<ListValue>(ctx.db, key, ctx.now)? {
        None => 0,
        Some(l) => {
            let n = l.remove(val, count);
            if n > 0 {
                let empty = l.is_empty();
                ctx.elements_removed(LIST, key, "lrem", empty);
            }
            n
        }
    };
    ctx.reply.int(removed as i64);
    Ok(())
}

/// LTRIM key start stop. O(N) in the removed elements.
fn ltrim(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(start), Some(stop)) = (a.int(2), a.int(3)) else {
        return ctx.error(err::NOT_INT);
    };
    let key = a.get(1);
    if let Some(l) = ctx.ks.write::<ListValue>(ctx.db, key, ctx.now)? {
        l.trim(start, stop);
        // Raised even when nothing was trimmed, as in Redis.
        let empty = l.is_empty();
        ctx.elements_removed(LIST, key, "ltrim", empty);
    }
    ctx.reply.ok();
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element. Replies the new length, -1 without the pivot, 0 without the
/// key. O(N) to find the pivot, then O(min(i, N-i)) to insert.
fn linsert(ctx: &mut Ctx, a: &Args) -> Handled {
    let after = if a.is(2, "after") {
        true
    } else if a.is(2, "before") {
        false
    } else {
        return ctx.error(err::SYNTAX);
    };
    let (key, pivot, val) = (a.get(1), a.get(3), a.get(4));
    let n = match ctx.ks.write::<ListValue>(ctx.db, key, ctx.now)? {
        None => 0,
        Some(l) => l
            .insert_at(pivot, val.into(), after)
            .map_or(-1, |n| n as i64),
    };
    if n > 0 {
        ctx.notify(LIST, "linsert", key);
    }
    ctx.reply.int(n);
    Ok(())
}

/// Redis's error for LPOS RANK 0.
const RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]. Options are validated before the key
/// is looked up; a repeated option overrides the earlier one. O(N), O(MAXLEN) with MAXLEN.
fn lpos(ctx: &mut Ctx, a: &Args) -> Handled {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<u64>, 0u64);
    let mut i = 3;
    while i < a.len() {
        let more = i + 1 < a.len();
        if more && a.is(i, "rank") {
            let Some(v) = int_arg(&mut ctx.reply, a, i + 1) else {
                return Ok(());
            };
            if v == 0 {
                return ctx.error(RANK_ZERO);
            }
            rank = v;
        } else if more && a.is(i, "count") {
            // A non-integer gets the option's own message (getPositiveLongFromObjectOrReply).
            match a.int(i + 1) {
                Some(v) if v >= 0 => count = Some(v as u64),
                _ => return ctx.error("ERR COUNT can't be negative"),
            }
        } else if more && a.is(i, "maxlen") {
            match a.int(i + 1) {
                Some(v) if v >= 0 => maxlen = v as u64,
                _ => return ctx.error("ERR MAXLEN can't be negative"),
            }
        } else {
            return ctx.error(err::SYNTAX);
        }
        i += 2;
    }
    let val = a.get(2);
    let l = ctx.ks.read::<ListValue>(ctx.db, a.get(1), ctx.now)?;
    let indices = l.map_or_else(Vec::new, |l| l.positions(val, rank, count, maxlen));
    if count.is_some() {
        ctx.reply.array(indices.len());
        for x in indices {
            ctx.reply.int(x as i64);
        }
    } else {
        match indices.first() {
            Some(&x) => ctx.reply.int(x as i64),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

/// Parses LEFT|RIGHT: Some(true) for LEFT.
fn side(a: &Args, i: usize) -> Option<bool> {
    if a.is(i, "left") {
        Some(true)
    } else if a.is(i, "right") {
        Some(false)
    } else {
        None
    }
}

/// Moves one element from `src` (its head when `from_left`) to `dst` (its head when `to_left`) and
/// replies it, or null when `src` is missing. Both types are checked before anything changes; a list
/// moved onto itself is rotated in place, so it keeps its TTL as in Redis. Events as Redis's
/// lmoveGenericCommand: the push on `dst` (after `new` when created), the pop on `src`, then `del`
/// when `src` emptied. O(1).
fn move_one(ctx: &mut Ctx, src: &[u8], dst: &[u8], from_left: bool, to_left: bool) -> Handled {
    let now = ctx.now;
    let db = &mut ctx.ks.dbs[ctx.db];
    if db.get_as::<ListValue>(src, now)?.is_none() {
        ctx.reply.null();
        return Ok(());
    }
    if src == dst {
        let rotated = db.get_as::<ListValue>(src, now)?.and_then(|l| {
            let v = l.pop(from_left)?;
            ctx.reply.bulk(&v);
            l.push(v, to_left);
            Some(())
        });
        match rotated {
            None => ctx.reply.null(),
            Some(()) => {
                ctx.notify(LIST, push_event(to_left), dst);
                ctx.notify(LIST, pop_event(from_left), src);
            }
        }
        return Ok(());
    }
    db.get_as::<ListValue>(dst, now)?;
    let Some((v, emptied)) = db.get_as::<ListValue>(src, now)?.and_then(|l| {
        let v = l.pop(from_left)?;
        Some((v, l.is_empty()))
    }) else {
        ctx.reply.null();
        return Ok(());
    };
    if emptied {
        db.remove(src, now);
    }
    ctx.reply.bulk(&v);
    // The destination was checked to be a list or absent: this cannot fail, and must not reply twice.
    if let Ok(l) = db.get_or_create_as::<ListValue>(dst, now, || Value::List(Box::default())) {
        l.push(v, to_left);
    }
    ctx.notify(LIST, push_event(to_left), dst);
    ctx.notify(LIST, pop_event(from_left), src);
    if emptied {
        ctx.notify(GENERIC, "del", src);
    }
    Ok(())
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT. O(1).
fn lmove(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(from), Some(to)) = (side(a, 3), side(a, 4)) else {
        return ctx.error(err::SYNTAX);
    };
    move_one(ctx, a.get(1), a.get(2), from, to)
}

/// RPOPLPUSH source destination. O(1).
fn rpoplpush(ctx: &mut Ctx, a: &Args) -> Handled {
    move_one(ctx, a.get(1), a.get(2), false, true)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]. O(N) in the elements popped.
fn lmpop(ctx: &mut Ctx, a: &Args) -> Handled {
    mpop(ctx, a, 1, false)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: LMPOP, or a wait. The timeout is
/// checked after the other arguments, as in Redis. O(N) in the elements popped.
fn blmpop(ctx: &mut Ctx, a: &Args) -> Handled {
    mpop(ctx, a, 2, true)
}

/// LMPOP and BLMPOP, with numkeys at `numkeys_at`: `[key, [element ...]]` from the first key
/// holding a non-empty list, else (LMPOP, or BLMPOP that may not wait) a null array.
fn mpop(ctx: &mut Ctx, a: &Args, numkeys_at: usize, blocking: bool) -> Handled {
    let m = match blocking::parse_mpop(a, numkeys_at, ["left", "right"], blocking) {
        Ok(m) => m,
        Err(e) => return ctx.error(e),
    };
    let (left, count) = (m.first_side, m.count);
    for k in m.keys {
        let key = a.get(k);
        let Some(l) = blocking_source(ctx.ks, ctx.db, ctx.now, ctx.block, key)? else {
            continue;
        };
        let n = count.min(l.len());
        ctx.reply.array(2);
        ctx.reply.bulk(key);
        ctx.reply.array(n);
        for _ in 0..n {
            if let Some(v) = l.pop(left) {
                ctx.reply.bulk(&v);
            }
        }
        let empty = l.is_empty();
        ctx.elements_removed(LIST, key, pop_event(left), empty);
        return Ok(());
    }
    if blocking {
        blocking::nothing(ctx, true, false);
    } else {
        ctx.reply.null_array();
    }
    Ok(())
}

/// The non-empty list at `key` a pop may take from, or None: missing, empty, not looked at in
/// this call, or (while serving a blocked client) of another type, which leaves it waiting as in
/// Redis. Otherwise a key of another type is a WRONGTYPE error.
fn blocking_source<'c>(
    ks: &'c mut crate::store::Keyspace,
    db: usize,
    now: u64,
    block: super::Block,
    key: &[u8],
) -> Result<Option<&'c mut ListValue>, WrongType> {
    if !block.looks_at(key) {
        return Ok(None);
    }
    let serving = block.serving();
    match ks.write::<ListValue>(db, key, now) {
        Ok(Some(l)) if !l.is_empty() => Ok(Some(l)),
        Ok(_) => Ok(None),
        Err(_) if serving => Ok(None),
        Err(e) => Err(e),
    }
}

/// BLPOP/BRPOP key [key ...] timeout: `[key, element]` from the first key holding a list, or a
/// wait. O(1) per key.
fn bpop(ctx: &mut Ctx, a: &Args, left: bool) -> Handled {
    if let Err(e) = blocking::parse_timeout(a.get(a.len() - 1)) {
        return ctx.error(e);
    }
    for i in 1..a.len() - 1 {
        let key = a.get(i);
        let Some(l) = blocking_source(ctx.ks, ctx.db, ctx.now, ctx.block, key)? else {
            continue;
        };
        let Some(v) = l.pop(left) else { continue };
        let empty = l.is_empty();
        ctx.reply.array(2);
        ctx.reply.bulk(key);
        ctx.reply.bulk(&v);
        ctx.elements_removed(LIST, key, pop_event(left), empty);
        return Ok(());
    }
    blocking::nothing(ctx, true, false);
    Ok(())
}

/// BLPOP key [key ...] timeout.
fn blpop(ctx: &mut Ctx, a: &Args) -> Handled {
    bpop(ctx, a, true)
}

/// BRPOP key [key ...] timeout.
fn brpop(ctx: &mut Ctx, a: &Args) -> Handled {
    bpop(ctx, a, false)
}

/// BLMOVE/BRPOPLPUSH: LMOVE when the source holds a list, else a wait on the source alone (a
/// null, not a null array, when it may not wait). O(1).
fn bmove(ctx: &mut Ctx, a: &Args, from_left: bool, to_left: bool) -> Handled {
    let (src, dst) = (a.get(1), a.get(2));
    if blocking_source(ctx.ks, ctx.db, ctx.now, ctx.block, src)?.is_none() {
        blocking::nothing(ctx, false, true);
        return Ok(());
    }
    move_one(ctx, src, dst, from_left, to_left)
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout. O(1).
fn blmove(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(from), Some(to)) = (side(a, 3), side(a, 4)) else {
        return ctx.error(err::SYNTAX);
    };
    if let Err(e) = blocking::parse_timeout(a.get(5)) {
        return ctx.error(e);
    }
    bmove(ctx, a, from, to)
}

/// BRPOPLPUSH source destination timeout. O(1).
fn brpoplpush(ctx: &mut Ctx, a: &Args) -> Handled {
    if let Err(e) = blocking::parse_timeout(a.get(3)) {
        return ctx.error(e);
    }
    bmove(ctx, a, false, true)
}
