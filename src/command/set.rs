//! The set command family: parsing and replies; the set, its encoding and its algebra are
//! [`crate::store::set`].
//!
//! Handlers validate in Redis 7.0's order (arguments, key lookup, type check, remaining options), check
//! the type of every key before modifying anything, and write replies straight into the output.

use std::ops::Range;

use super::{
    cmd, distinct_indices, flag::*, parse_cursor, parse_scan_options, scan_down, typed, Args,
    Command, Ctx, Exec, Handled, KeySpec, Rng,
};
use crate::resp::{err, Reply};
use crate::store::notify::{GENERIC, SET};
use crate::store::set::{combine, from_members, intersection_card, SetOp};
use crate::store::{Elem, Keyspace, Kind, SetValue, Value, WrongType};

/// The set commands, with Redis 7.0's arity, flags, key positions and COMMAND DOCS texts.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("sadd", -3, W | FAST, K(1, 1, 1), Keyed(typed!(sadd))),
        cmd("srem", -3, WRITE | FAST, K(1, 1, 1), Keyed(typed!(srem))),
        cmd("smembers", 2, READONLY, K(1, 1, 1), Keyed(typed!(smembers))),
        cmd("scard", 2, READONLY | FAST, K(1, 1, 1), Keyed(typed!(scard))),
        cmd("sismember", 3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(sismember))),
        cmd("smismember", -3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(smismember))),
        cmd("smove", 4, WRITE | FAST, K(1, 2, 1), Keyed(typed!(smove))),
        cmd("sinter", -2, READONLY, K(1, -1, 1), Keyed(typed!(sinter))),
        cmd("sunion", -2, READONLY, K(1, -1, 1), Keyed(typed!(sunion))),
        cmd("sdiff", -2, READONLY, K(1, -1, 1), Keyed(typed!(sdiff))),
        cmd("sinterstore", -3, W, K(1, -1, 1), Keyed(typed!(sinterstore))),
        cmd("sunionstore", -3, W, K(1, -1, 1), Keyed(typed!(sunionstore))),
        cmd("sdiffstore", -3, W, K(1, -1, 1), Keyed(typed!(sdiffstore))),
        cmd("sintercard", -3, READONLY | MOVABLEKEYS, KeySpec::Custom(super::keys_numkeys_at_1), Keyed(typed!(sintercard))),
        cmd("sscan", -3, READONLY, K(1, 1, 1), Keyed(typed!(sscan))),
        cmd("spop", -2, WRITE | FAST, K(1, 1, 1), Keyed(typed!(spop))),
        cmd("srandmember", -2, READONLY, K(1, 1, 1), Keyed(typed!(srandmember))),
    ]
}

/// The intset size limit in force.
fn intset_max(ctx: &Ctx) -> usize {
    ctx.ks.limits.intset_max()
}

/// Replies every member of `s` (a RESP3 set when `as_set`, else an array): ascending for an intset as
/// Redis iterates one, table order otherwise. O(N), O(N log N) for an intset.
fn reply_all(r: &mut Reply, s: &SetValue, as_set: bool) {
    let n = s.members.len();
    if as_set {
        r.set(n)
    } else {
        r.array(n)
    }
    for m in s.ordered() {
        r.bulk(m);
    }
}

/// SADD key member [member ...]. One write lookup when the set exists (the common case); a missing
/// key is inserted whole. O(N) in the members given.
fn sadd(ctx: &mut Ctx, a: &Args) -> Handled {
    let key = a.get(1);
    let max = intset_max(ctx);
    if let Some(s) = ctx.ks.write::<SetValue>(ctx.db, key, ctx.now)? {
        let mut added = 0i64;
        for m in a.iter_from(2) {
            added += s.add(m, max) as i64;
        }
        ctx.reply.int(added);
        if added > 0 {
            ctx.notify(SET, "sadd", key);
        }
        return Ok(());
    }
    let mut s = SetValue::for_first(a.get(2));
    s.members.reserve(a.len() - 2);
    for m in a.iter_from(2) {
        s.add(m, max);
    }
    let n = s.members.len() as i64;
    ctx.db().set(key, Value::Set(Box::new(s)), 0);
    ctx.reply.int(n);
    ctx.notify(SET, "sadd", key);
    Ok(())
}

/// SREM key member [member ...]. Deletes the key when the set empties. O(N) in the members given.
fn srem(ctx: &mut Ctx, a: &Args) -> Handled {
    let key = a.get(1);
    let removed = match ctx.ks.write::<SetValue>(ctx.db, key, ctx.now)? {
        None => 0,
        Some(s) => {
            let n = a.iter_from(2).filter(|m| s.remove(m)).count();
            if n > 0 {
                let empty = s.members.is_empty();
                ctx.elements_removed(SET, key, "srem", empty);
            }
            n
        }
    };
    ctx.reply.int(removed as i64);
    Ok(())
}

/// SMEMBERS key. O(N).
fn smembers(ctx: &mut Ctx, a: &Args) -> Handled {
    match ctx.ks.read::<SetValue>(ctx.db, a.get(1), ctx.now)? {
        None => ctx.reply.set(0),
        Some(s) => reply_all(&mut ctx.reply, s, true),
    }
    Ok(())
}

/// SCARD key. O(1).
fn scard(ctx: &mut Ctx, a: &Args) -> Handled {
    let s = ctx.ks.read::<SetValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.int(s.map_or(0, |s| s.members.len()) as i64);
    Ok(())
}

/// SISMEMBER key member. O(1).
fn sismember(ctx: &mut Ctx, a: &Args) -> Handled {
    let s = ctx.ks.read::<SetValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply
        .int(s.is_some_and(|s| s.members.contains(a.get(2))) as i64);
    Ok(())
}

/// SMISMEMBER key member [member ...]. O(N) in the members given.
fn smismember(ctx: &mut Ctx, a: &Args) -> Handled {
    let s = ctx.ks.read::<SetValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.array(a.len() - 2);
    for m in a.iter_from(2) {
        ctx.reply
            .int(s.is_some_and(|s| s.members.contains(m)) as i64);
    }
    Ok(())
}

/// SMOVE source destination member. As in Redis: both keys are looked up, then 0 when the source
/// is missing (whatever the destination holds), then both types are checked, then a move onto
/// itself only tests membership. Events as Redis's: `srem` on the source, `del` when it emptied,
/// then `sadd` on the destination (after `new` when created) unless it held the member. O(1).
fn smove(ctx: &mut Ctx, a: &Args) -> Handled {
    let (src, dst, m) = (a.get(1), a.get(2), a.get(3));
    let max = intset_max(ctx);
    let now = ctx.now;
    let db = &mut ctx.ks.dbs[ctx.db];
    let src_has = db
        .get_as::<SetValue>(src, now)
        .map(|s| s.map(|s| s.members.contains(m)));
    // Looked up even when the source is missing (an expired destination goes), as Redis does.
    let dst_type = db.get_as::<SetValue>(dst, now).map(|_| ());
    let Some(src_has) = src_has? else {
        ctx.reply.int(0);
        return Ok(());
    };
    dst_type?;
    if src == dst || !src_has {
        ctx.reply.int(src_has as i64);
        return Ok(());
    }
    let emptied = db.get_as::<SetValue>(src, now)?.is_some_and(|s| {
        s.remove(m);
        s.members.is_empty()
    });
    ctx.elements_removed(SET, src, "srem", emptied);
    // The destination was checked to be a set or absent: this cannot fail.
    let make = || Value::Set(Box::new(SetValue::for_first(m)));
    let added = ctx.ks.dbs[ctx.db]
        .get_or_create_as::<SetValue>(dst, now, make)
        .is_ok_and(|s| s.add(m, max));
    if added {
        ctx.notify(SET, "sadd", dst);
    }
    ctx.reply.int(1);
    Ok(())
}

/// The sets at the keys in `keys` (None for a missing key), each a read lookup, in order; Err at the
/// first key of another type (the later ones are not looked up), as Redis checks every key before
/// computing. Like Redis's lookupKeyRead, a key found expired is deleted (`expired`) and a missing
/// one is a `keymiss` event, which the peeks that hold the sets together cannot do: those keys get
/// a lookup of their own first. O(K).
fn lookup<'d>(
    ks: &'d mut Keyspace,
    db: usize,
    a: &Args,
    keys: Range<usize>,
    now: u64,
) -> Result<Vec<Option<&'d SetValue>>, WrongType> {
    let d = &mut ks.dbs[db];
    for i in keys.clone() {
        match d.peek(a.get(i), now) {
            Some(e) if SetValue::of(&e.value).is_none() => break,
            Some(_) => {}
            None => {
                d.get_read(a.get(i), now, true);
            }
        }
    }
    let (db, stats) = ks.reader(db);
    keys.map(|i| {
        let found = db.peek_as::<SetValue>(a.get(i), now);
        stats.lookup(!matches!(found, Ok(None)));
        found
    })
    .collect()
}

/// SINTER/SUNION/SDIFF key [key ...]: replies the result as a set.
fn reply_op(ctx: &mut Ctx, a: &Args, op: SetOp) -> Handled {
    let max = intset_max(ctx);
    let sets = lookup(ctx.ks, ctx.db, a, 1..a.len(), ctx.now)?;
    let out = combine(&sets, op, max);
    ctx.reply.set(out.len());
    for m in out {
        ctx.reply.bulk(m);
    }
    Ok(())
}

/// SINTER key [key ...]. O(N*M), N the smallest cardinality, M the sets.
fn sinter(ctx: &mut Ctx, a: &Args) -> Handled {
    reply_op(ctx, a, SetOp::Inter)
}

/// SUNION key [key ...]. O(N), N the members of all sets.
fn sunion(ctx: &mut Ctx, a: &Args) -> Handled {
    reply_op(ctx, a, SetOp::Union)
}

/// SDIFF key [key ...]. O(N), N the members of all sets.
fn sdiff(ctx: &mut Ctx, a: &Args) -> Handled {
    reply_op(ctx, a, SetOp::Diff)
}

/// SINTERSTORE/SUNIONSTORE/SDIFFSTORE destination key [key ...]: the result replaces the destination
/// (any type, TTL dropped), or deletes it when empty; replies its cardinality. The result is encoded as
/// Redis's, which builds it from an empty intset. The sources are read (and counted, as Redis counts
/// them) before the destination is touched, so the destination may be one of them.
/// Raises `event` (`sinterstore`...) on a stored result, `del` when an empty result deleted the
/// destination.
fn store_op(ctx: &mut Ctx, a: &Args, op: SetOp, event: &'static str) -> Handled {
    let (max, now) = (intset_max(ctx), ctx.now);
    let sets = lookup(ctx.ks, ctx.db, a, 2..a.len(), now)?;
    let members = combine(&sets, op, max);
    let n = members.len();
    let result = (n > 0).then(|| from_members(&members, max));
    drop(members);
    drop(sets);
    let (db, dst) = (ctx.db(), a.get(1));
    match result {
        Some(s) => {
            // Redis's setKey looks the destination up first: one found expired goes (`expired`),
            // and the result is then a `new` key.
            db.get(dst, now);
            db.set(dst, Value::Set(Box::new(s)), 0);
            ctx.notify(SET, event, dst);
        }
        None => {
            // Redis's dbDelete, which does not look at the TTL.
            if db.remove(dst, 0).is_some() {
                ctx.notify(GENERIC, "del", dst);
            }
        }
    }
    ctx.reply.int(n as i64);
    Ok(())
}

/// SINTERSTORE destination key [key ...]. O(N*M), N the smallest cardinality, M the sets.
fn sinterstore(ctx: &mut Ctx, a: &Args) -> Handled {
    store_op(ctx, a, SetOp::Inter, "sinterstore")
}

/// SUNIONSTORE destination key [key ...]. O(N), N the members of all sets.
fn sunionstore(ctx: &mut Ctx, a: &Args) -> Handled {
    store_op(ctx, a, SetOp::Union, "sunionstore")
}

/// SDIFFSTORE destination key [key ...]. O(N), N the members of all sets.
fn sdiffstore(ctx: &mut Ctx, a: &Args) -> Handled {
    store_op(ctx, a, SetOp::Diff, "sdiffstore")
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]: counts the intersection without building it and
/// stops at the limit (0: none). O(N*M), N the smallest cardinality, M the sets.
fn sintercard(ctx: &mut Ctx, a: &Args) -> Handled {
    let numkeys = match a.int(1) {
        Some(n) if n > 0 => n as u64,
        _ => return ctx.error("ERR numkeys should be greater than 0"),
    };
    if numkeys > (a.len() - 2) as u64 {
        return ctx.error("ERR Number of keys can't be greater than number of args");
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut i = end;
    while i < a.len() {
        if i + 1 < a.len() && a.is(i, "limit") {
            // A non-integer gets the option's own message (getPositiveLongFromObjectOrReply).
            match a.int(i + 1) {
                Some(n) if n >= 0 => limit = n as u64,
                _ => return ctx.error("ERR LIMIT can't be negative"),
            }
            i += 2;
        } else {
            return ctx.error(err::SYNTAX);
        }
    }
    let sets = lookup(ctx.ks, ctx.db, a, 2..end, ctx.now)?;
    let n = intersection_card(&sets, limit);
    ctx.reply.int(n as i64);
    Ok(())
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. Redis parses the cursor, then looks the key up, then
/// parses the options. An intset-encoded set is returned whole with cursor 0, as Redis does for its
/// compact encodings; a larger one is walked from its last index down (see [`scan_down`]), so members
/// moved by removals during the scan (swap-remove moves the last member down) are never skipped.
/// O(COUNT) per call; O(N log N) for an intset.
fn sscan(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(cursor) = parse_cursor(a.get(2)) else {
        return ctx.error("ERR invalid cursor");
    };
    let Some(s) = ctx.ks.read::<SetValue>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
        return Ok(());
    };
    let Some(o) = parse_scan_options(&mut ctx.reply, a, cursor, 3, false) else {
        return Ok(());
    };
    let (count, matches) = (o.count, |m: &[u8]| o.matches(m));
    let mut found: Vec<&Elem> = Vec::new();
    let next = if s.intset {
        found.extend(s.ordered().filter(|m| matches(m)));
        0
    } else {
        scan_down(s.members.len(), cursor, count, |i| {
            if let Some(m) = s.members.get_index(i).filter(|m| matches(m)) {
                found.push(m);
            }
        })
    };
    ctx.reply.array(2);
    ctx.reply.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.reply.array(found.len());
    for m in found {
        ctx.reply.bulk(m);
    }
    Ok(())
}

/// SPOP key [count]. Without a count: one member or null. With one: a set of min(count, size) distinct
/// members (the whole set, in Redis's order, when count >= size); the key is deleted when emptied.
/// O(1) per member popped.
fn spop(ctx: &mut Ctx, a: &Args) -> Handled {
    if a.len() > 3 {
        return ctx.error(err::SYNTAX);
    }
    let count = if a.len() == 3 {
        // getPositiveLongFromObjectOrReply: a non-integer gets the same error as a negative count.
        match a.int(2) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return ctx.error(err::POSITIVE),
        }
    } else {
        None
    };
    let key = a.get(1);
    let mut rng = Rng(ctx.ks.random());
    let Some(s) = ctx.ks.write::<SetValue>(ctx.db, key, ctx.now)? else {
        match count {
            Some(_) => ctx.reply.set(0),
            None => ctx.reply.null(),
        }
        return Ok(());
    };
    let len = s.members.len();
    match count {
        None => match s.members.swap_remove_index(rng.below(len)) {
            Some(m) => ctx.reply.bulk(&m),
            None => ctx.reply.null(),
        },
        // Redis's fast exit: no event.
        Some(0) => {
            ctx.reply.set(0);
            return Ok(());
        }
        Some(n) if n >= len as u64 => {
            reply_all(&mut ctx.reply, s, true);
            s.members.clear();
        }
        Some(n) => {
            ctx.reply.set(n as usize);
            for _ in 0..n {
                match s.members.swap_remove_index(rng.below(s.members.len())) {
                    Some(m) => ctx.reply.bulk(&m),
                    None => ctx.reply.null(),
                }
            }
        }
    }
    let empty = s.members.is_empty();
    ctx.elements_removed(SET, key, "spop", empty);
    Ok(())
}

/// SRANDMEMBER key [count]. Without a count: one member or null. A positive count: distinct members
/// (the whole set, in Redis's order, when count >= size); a negative one: |count| members, repeats
/// allowed. O(1) without a count, O(|count|) with one.
fn srandmember(ctx: &mut Ctx, a: &Args) -> Handled {
    if a.len() > 3 {
        return ctx.error(err::SYNTAX);
    }
    let count = if a.len() == 3 {
        match a.int(2) {
            Some(i64::MIN) => return ctx.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
            Some(n) => Some(n),
            None => return ctx.error(err::NOT_INT),
        }
    } else {
        None
    };
    let mut rng = Rng(ctx.ks.random());
    let Some(s) = ctx.ks.read::<SetValue>(ctx.db, a.get(1), ctx.now)? else {
        match count {
            Some(_) => ctx.reply.array(0),
            None => ctx.reply.null(),
        }
        return Ok(());
    };
    let len = s.members.len();
    match count {
        None => match s.members.get_index(rng.below(len)) {
            Some(m) => ctx.reply.bulk(m),
            None => ctx.reply.null(),
        },
        Some(0) => ctx.reply.array(0),
        Some(_) if len == 0 => ctx.reply.array(0),
        Some(c) if c < 0 || c == 1 => {
            let n = usize::try_from(c.unsigned_abs()).unwrap_or(usize::MAX);
            ctx.reply.array(n);
            for _ in 0..n {
                match s.members.get_index(rng.below(len)) {
                    Some(m) => ctx.reply.bulk(m),
                    None => ctx.reply.null(),
                }
            }
        }
        Some(c) if c as u64 >= len as u64 => reply_all(&mut ctx.reply, s, false),
        Some(c) => {
            let n = c as usize;
            ctx.reply.array(n);
            for i in distinct_indices(len, n, || rng.next_u64()) {
                match s.members.get_index(i) {
                    Some(m) => ctx.reply.bulk(m),
                    None => ctx.reply.null(),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_index_stays_below_bound() {
        let mut r = Rng(42);
        assert_eq!(r.below(0), 0);
        for n in [1usize, 2, 3, 1000] {
            for _ in 0..1000 {
                assert!(r.below(n) < n);
            }
        }
    }
}
