//! The set command family. A set is an insertion-ordered hash set: O(1) membership and O(1) random
//! member (SPOP, SRANDMEMBER). While Redis would keep it as an intset (all members integers, at most
//! set-max-intset-entries), members are listed in ascending numeric order, as Redis lists an intset.

use ahash::RandomState;
use indexmap::IndexSet;

use super::{
    cmd, distinct_indices, flag::*, keys_numkeys_at_1, parse_scan, scan_down, Args, Command, Ctx,
    Exec, KeySpec,
};
use crate::resp::{err, parse_i64, Reply};
use crate::store::{Elem, Keyspace, SetValue, Value};

/// The set commands.
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("sadd", -3, W | FAST, K(1, 1, 1), Keyed(sadd), "set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
        cmd("srem", -3, WRITE | FAST, K(1, 1, 1), Keyed(srem), "set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", "O(N) where N is the number of members to be removed."),
        cmd("smembers", 2, READONLY, K(1, 1, 1), Keyed(smembers), "set", "1.0.0", "Returns all members of a set.", "O(N) where N is the set cardinality."),
        cmd("scard", 2, READONLY | FAST, K(1, 1, 1), Keyed(scard), "set", "1.0.0", "Returns the number of members in a set.", "O(1)"),
        cmd("sismember", 3, READONLY | FAST, K(1, 1, 1), Keyed(sismember), "set", "1.0.0", "Determines whether a member belongs to a set.", "O(1)"),
        cmd("smismember", -3, READONLY | FAST, K(1, 1, 1), Keyed(smismember), "set", "6.2.0", "Determines whether multiple members belong to a set.", "O(N) where N is the number of elements being checked for membership"),
        cmd("smove", 4, WRITE | FAST, K(1, 2, 1), Keyed(smove), "set", "1.0.0", "Moves a member from one set to another.", "O(1)"),
        cmd("sinter", -2, READONLY, K(1, -1, 1), Keyed(sinter), "set", "1.0.0", "Returns the intersect of multiple sets.", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
        cmd("sunion", -2, READONLY, K(1, -1, 1), Keyed(sunion), "set", "1.0.0", "Returns the union of multiple sets.", "O(N) where N is the total number of elements in all given sets."),
        cmd("sdiff", -2, READONLY, K(1, -1, 1), Keyed(sdiff), "set", "1.0.0", "Returns the difference of multiple sets.", "O(N) where N is the total number of elements in all given sets."),
        cmd("sinterstore", -3, W, K(1, -1, 1), Keyed(sinterstore), "set", "1.0.0", "Stores the intersect of multiple sets in a key.", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
        cmd("sunionstore", -3, W, K(1, -1, 1), Keyed(sunionstore), "set", "1.0.0", "Stores the union of multiple sets in a key.", "O(N) where N is the total number of elements in all given sets."),
        cmd("sdiffstore", -3, W, K(1, -1, 1), Keyed(sdiffstore), "set", "1.0.0", "Stores the difference of multiple sets in a key.", "O(N) where N is the total number of elements in all given sets."),
        cmd("sintercard", -3, READONLY, KeySpec::Custom(keys_numkeys_at_1), Keyed(sintercard), "set", "7.0.0", "Returns the number of members of the intersect of multiple sets.", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
        cmd("sscan", -3, READONLY, K(1, 1, 1), Keyed(sscan), "set", "2.8.0", "Iterates over members of a set.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
        cmd("spop", -2, WRITE | FAST, K(1, 1, 1), Keyed(spop), "set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count."),
        cmd("srandmember", -2, READONLY, K(1, 1, 1), Keyed(srandmember), "set", "1.0.0", "Get one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count."),
    ]
}

/// The set at `key`: Ok(None) if absent, Err(()) for another type. Borrows only the keyspace.
fn read<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    now: u64,
    key: &[u8],
) -> Result<Option<&'k mut SetValue>, ()> {
    match ks.dbs[db].get(key, now).map(|e| &mut e.value) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

fn is_int(m: &[u8]) -> bool {
    m.len() <= 20 && parse_i64(m).is_some()
}

impl SetValue {
    /// Adds a member, keeping the intset flag as Redis would convert. Returns whether it was new. O(1).
    fn add(&mut self, m: &[u8], max_intset: usize) -> bool {
        let added = self.members.insert(m.into());
        if self.intset && (!is_int(m) || self.members.len() > max_intset) {
            self.intset = false;
        }
        added
    }

    /// Members in the order Redis lists them: ascending for an intset, table order otherwise.
    fn ordered(&self) -> Vec<&Elem> {
        let mut v: Vec<&Elem> = self.members.iter().collect();
        if self.intset {
            v.sort_by_key(|m| parse_i64(m).unwrap_or(0));
        }
        v
    }
}

/// A new, empty set whose encoding starts as Redis's would for its first member.
fn new_set(first: &[u8]) -> SetValue {
    SetValue {
        members: IndexSet::default(),
        intset: is_int(first),
    }
}

fn reply_members<'a>(r: &mut Reply, members: impl ExactSizeIterator<Item = &'a Elem>) {
    r.set(members.len());
    for m in members {
        r.bulk(m);
    }
}

/// SADD key member [member ...]. O(N).
fn sadd(ctx: &mut Ctx, a: &Args) {
    let key = a.get(1);
    let max = ctx.ks.limits.set_max_intset_entries;
    let now = ctx.now;
    let db = ctx.db();
    match db.get(key, now).map(|e| &e.value) {
        None | Some(Value::Set(_)) => {}
        Some(_) => return ctx.reply.error(err::WRONGTYPE),
    }
    let first = a.get(2);
    let e = db.get_or_create(key, now, || Value::Set(Box::new(new_set(first))));
    let Value::Set(s) = &mut e.value else {
        return ctx.reply.error(err::WRONGTYPE);
    };
    let added = a.iter_from(2).filter(|m| s.add(m, max)).count();
    ctx.reply.int(added as i64);
}

/// SREM key member [member ...]. O(N).
fn srem(ctx: &mut Ctx, a: &Args) {
    let key = a.get(1);
    let removed = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(s)) => a.iter_from(2).filter(|m| s.members.swap_remove(*m)).count(),
    };
    ctx.db().remove_if_empty(key);
    ctx.reply.int(removed as i64);
}

/// SMEMBERS key. O(N).
fn smembers(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(None) => ctx.reply.set(0),
        Ok(Some(s)) => reply_members(&mut ctx.reply, s.ordered().into_iter()),
    }
}

/// SCARD key. O(1).
fn scard(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(s) => ctx
            .reply
            .int(s.map(|s| s.members.len()).unwrap_or(0) as i64),
    }
}

/// SISMEMBER key member. O(1).
fn sismember(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(s) => ctx
            .reply
            .int(s.is_some_and(|s| s.members.contains(a.get(2))) as i64),
    }
}

/// SMISMEMBER key member [member ...]. O(N).
fn smismember(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(s) => {
            ctx.reply.array(a.len() - 2);
            for m in a.iter_from(2) {
                ctx.reply
                    .int(s.as_ref().is_some_and(|s| s.members.contains(m)) as i64);
            }
        }
    }
}

/// SMOVE source destination member. O(1).
fn smove(ctx: &mut Ctx, a: &Args) {
    let (src, dst, m) = (a.get(1), a.get(2), a.get(3));
    let max = ctx.ks.limits.set_max_intset_entries;
    let now = ctx.now;
    let db = ctx.db();
    let src_has = match db.get(src, now).map(|e| &e.value) {
        None => None,
        Some(Value::Set(s)) => Some(s.members.contains(m)),
        Some(_) => return ctx.reply.error(err::WRONGTYPE),
    };
    match db.get(dst, now).map(|e| &e.value) {
        None | Some(Value::Set(_)) => {}
        Some(_) => return ctx.reply.error(err::WRONGTYPE),
    }
    if src_has != Some(true) {
        return ctx.reply.int(0);
    }
    if src == dst {
        return ctx.reply.int(1);
    }
    if let Some(Value::Set(s)) = db.get(src, now).map(|e| &mut e.value) {
        s.members.swap_remove(m);
    }
    db.remove_if_empty(src);
    let e = db.get_or_create(dst, now, || Value::Set(Box::new(new_set(m))));
    if let Value::Set(s) = &mut e.value {
        s.add(m, max);
    }
    ctx.reply.int(1);
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Computes the set operation over the keys at `keys`; Err(()) if one holds another type.
/// O(total members) for union/diff, O(smallest * keys) for intersection.
fn compute(
    ctx: &mut Ctx,
    a: &Args,
    keys: std::ops::Range<usize>,
    op: Op,
) -> Result<(Vec<Elem>, bool), ()> {
    let now = ctx.now;
    let db = ctx.db();
    let mut sets: Vec<Option<&SetValue>> = Vec::with_capacity(keys.len());
    for i in keys {
        match db.peek(a.get(i), now).map(|e| &e.value) {
            None => sets.push(None),
            Some(Value::Set(s)) => sets.push(Some(s)),
            Some(_) => return Err(()),
        }
    }
    let all_int = sets.iter().flatten().all(|s| s.intset);
    let out: Vec<Elem> = match op {
        Op::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                Vec::new()
            } else {
                let mut sets: Vec<&SetValue> = sets.into_iter().flatten().collect();
                sets.sort_by_key(|s| s.members.len());
                let (first, rest) = sets.split_first().map(|(f, r)| (*f, r)).ok_or(())?;
                first
                    .members
                    .iter()
                    .filter(|m| rest.iter().all(|s| s.members.contains(*m)))
                    .cloned()
                    .collect()
            }
        }
        Op::Union => {
            let mut u: IndexSet<Elem, RandomState> = IndexSet::default();
            for s in sets.iter().flatten() {
                u.extend(s.members.iter().cloned());
            }
            u.into_iter().collect()
        }
        Op::Diff => match sets.split_first() {
            Some((Some(first), rest)) => first
                .members
                .iter()
                .filter(|m| !rest.iter().flatten().any(|s| s.members.contains(*m)))
                .cloned()
                .collect(),
            _ => Vec::new(),
        },
    };
    Ok((out, all_int))
}

fn reply_op(ctx: &mut Ctx, a: &Args, op: Op) {
    match compute(ctx, a, 1..a.len(), op) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok((mut v, all_int)) => {
            if all_int {
                v.sort_by_key(|m| parse_i64(m).unwrap_or(0));
            }
            reply_members(&mut ctx.reply, v.iter())
        }
    }
}

/// SINTER key [key ...].
fn sinter(ctx: &mut Ctx, a: &Args) {
    reply_op(ctx, a, Op::Inter)
}

/// SUNION key [key ...].
fn sunion(ctx: &mut Ctx, a: &Args) {
    reply_op(ctx, a, Op::Union)
}

/// SDIFF key [key ...].
fn sdiff(ctx: &mut Ctx, a: &Args) {
    reply_op(ctx, a, Op::Diff)
}

fn store_op(ctx: &mut Ctx, a: &Args, op: Op) {
    let (members, _) = match compute(ctx, a, 2..a.len(), op) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(x) => x,
    };
    let dst = a.get(1);
    let now = ctx.now;
    let max = ctx.ks.limits.set_max_intset_entries;
    let n = members.len();
    let db = ctx.db();
    db.remove(dst, now);
    if n > 0 {
        let mut s = new_set(&members[0]);
        for m in &members {
            s.add(m, max);
        }
        db.set(dst, Value::Set(Box::new(s)), 0);
    }
    ctx.reply.int(n as i64);
}

/// SINTERSTORE destination key [key ...].
fn sinterstore(ctx: &mut Ctx, a: &Args) {
    store_op(ctx, a, Op::Inter)
}

/// SUNIONSTORE destination key [key ...].
fn sunionstore(ctx: &mut Ctx, a: &Args) {
    store_op(ctx, a, Op::Union)
}

/// SDIFFSTORE destination key [key ...].
fn sdiffstore(ctx: &mut Ctx, a: &Args) {
    store_op(ctx, a, Op::Diff)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit].
fn sintercard(ctx: &mut Ctx, a: &Args) {
    let numkeys = match a.int(1) {
        Some(n) if n > 0 => n as usize,
        _ => return ctx.reply.error("ERR numkeys should be greater than 0"),
    };
    if numkeys > a.len() - 2 {
        return ctx
            .reply
            .error("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while i < a.len() {
        if a.is(i, "limit") && i + 1 < a.len() {
            match a.int(i + 1) {
                Some(n) if n >= 0 => limit = n as usize,
                Some(_) => return ctx.reply.error("ERR LIMIT can't be negative"),
                None => return ctx.reply.error(err::NOT_INT),
            }
            i += 2;
        } else {
            return ctx.reply.error(err::SYNTAX);
        }
    }
    match compute(ctx, a, 2..2 + numkeys, Op::Inter) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok((v, _)) => {
            let n = if limit > 0 {
                v.len().min(limit)
            } else {
                v.len()
            };
            ctx.reply.int(n as i64)
        }
    }
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. A compact (intset) set is returned whole with
/// cursor 0, as Redis does; a larger one is walked from its last index down, so members moved by
/// removals during the scan (swap-remove moves the last member down) are never skipped.
fn sscan(ctx: &mut Ctx, a: &Args) {
    let Some(o) = parse_scan(&mut ctx.reply, a, 2, false) else {
        return;
    };
    let s = match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => {
            ctx.reply.array(2);
            ctx.reply.bulk(b"0");
            return ctx.reply.array(0);
        }
        Ok(Some(s)) => s,
    };
    let mut found: Vec<&Elem> = Vec::new();
    let next = if s.intset {
        found.extend(s.ordered().into_iter().filter(|m| o.matches(m)));
        0
    } else {
        scan_down(s.members.len(), o.cursor, o.count, |i| {
            if let Some(m) = s.members.get_index(i).filter(|m| o.matches(m)) {
                found.push(m);
            }
        })
    };
    ctx.reply.array(2);
    ctx.reply.bulk(next.to_string().as_bytes());
    ctx.reply.array(found.len());
    for m in found {
        ctx.reply.bulk(m);
    }
}

/// SPOP key [count]. O(1) per member popped.
fn spop(ctx: &mut Ctx, a: &Args) {
    if a.len() > 3 {
        return ctx.reply.error(err::SYNTAX);
    }
    let count = if a.len() == 3 {
        match a.int(2) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.reply.error(err::POSITIVE),
        }
    } else {
        None
    };
    let key = a.get(1);
    let (ks, db, now) = (&mut *ctx.ks, ctx.db, ctx.now);
    let mut rng = ks.random();
    let s = match read(ks, db, now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => {
            return if count.is_some() {
                ctx.reply.set(0)
            } else {
                ctx.reply.null()
            }
        }
        Ok(Some(s)) => s,
    };
    let n = count.unwrap_or(1).min(s.members.len());
    let mut popped = Vec::with_capacity(n);
    for _ in 0..n {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let i = ((rng >> 33) as usize) % s.members.len();
        if let Some(m) = s.members.swap_remove_index(i) {
            popped.push(m);
        }
    }
    ctx.db().remove_if_empty(key);
    match count {
        None => match popped.first() {
            Some(m) => ctx.reply.bulk(m),
            None => ctx.reply.null(),
        },
        Some(_) => reply_members(&mut ctx.reply, popped.iter()),
    }
}

/// SRANDMEMBER key [count]: distinct members for a positive count, repeats allowed for a negative one.
/// O(|count|).
fn srandmember(ctx: &mut Ctx, a: &Args) {
    if a.len() > 3 {
        return ctx.reply.error(err::SYNTAX);
    }
    let count = if a.len() == 3 {
        match a.int(2) {
            Some(n) if n != i64::MIN => Some(n),
            Some(_) => return ctx.reply.error("ERR value is out of range, must be between -9223372036854775807 and 9223372036854775807"),
            None => return ctx.reply.error(err::NOT_INT),
        }
    } else {
        None
    };
    let (ks, db, now) = (&mut *ctx.ks, ctx.db, ctx.now);
    let mut rng = ks.random();
    let s = match read(ks, db, now, a.get(1)) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => {
            return if count.is_some() {
                ctx.reply.array(0)
            } else {
                ctx.reply.null()
            }
        }
        Ok(Some(s)) => s,
    };
    let len = s.members.len();
    let mut next = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((rng >> 33) as usize) % len
    };
    match count {
        None => {
            let i = next();
            let m = s.members.get_index(i).cloned();
            match m {
                Some(m) => ctx.reply.bulk(&m),
                None => ctx.reply.null(),
            }
        }
        Some(c) if c < 0 => {
            let n = c.unsigned_abs() as usize;
            ctx.reply.array(n);
            for _ in 0..n {
                let i = next();
                if let Some(m) = s.members.get_index(i) {
                    ctx.reply.bulk(m);
                }
            }
        }
        Some(c) => {
            let n = (c as usize).min(len);
            if n == len {
                ctx.reply.array(n);
                for m in s.ordered() {
                    ctx.reply.bulk(m);
                }
                return;
            }
            ctx.reply.array(n);
            for i in distinct_indices(len, n, || next() as u64) {
                if let Some(m) = s.members.get_index(i) {
                    ctx.reply.bulk(m);
                }
            }
        }
    }
}
