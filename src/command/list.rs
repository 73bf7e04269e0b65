//! The list command family. Lists are deques: O(1) at both ends, O(1) indexing.

use std::collections::VecDeque;

use super::{cmd, flag::*, int_arg, keys_numkeys_at_1, Args, Command, Ctx, Exec, KeySpec};
use crate::resp::err;
use crate::store::{Elem, Keyspace, ListValue, Value};

/// The list commands.
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("lpush", -3, W | FAST, K(1, 1, 1), Keyed(lpush), "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
        cmd("rpush", -3, W | FAST, K(1, 1, 1), Keyed(rpush), "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
        cmd("lpushx", -3, W | FAST, K(1, 1, 1), Keyed(lpushx), "list", "2.2.0", "Prepends one or more elements to a list only when the list exists.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
        cmd("rpushx", -3, W | FAST, K(1, 1, 1), Keyed(rpushx), "list", "2.2.0", "Appends an element to a list only when the list exists.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
        cmd("lpop", -2, WRITE | FAST, K(1, 1, 1), Keyed(lpop), "list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", "O(N) where N is the number of elements returned"),
        cmd("rpop", -2, WRITE | FAST, K(1, 1, 1), Keyed(rpop), "list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", "O(N) where N is the number of elements returned"),
        cmd("lrange", 4, READONLY, K(1, 1, 1), Keyed(lrange), "list", "1.0.0", "Returns a range of elements from a list.", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."),
        cmd("llen", 2, READONLY | FAST, K(1, 1, 1), Keyed(llen), "list", "1.0.0", "Returns the length of a list.", "O(1)"),
        cmd("lindex", 3, READONLY, K(1, 1, 1), Keyed(lindex), "list", "1.0.0", "Returns an element from a list by its index.", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1)."),
        cmd("lset", 4, W, K(1, 1, 1), Keyed(lset), "list", "1.0.0", "Sets the value of an element in a list by its index.", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."),
        cmd("lrem", 4, WRITE, K(1, 1, 1), Keyed(lrem), "list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", "O(N+M) where N is the length of the list and M is the number of elements removed."),
        cmd("ltrim", 4, WRITE, K(1, 1, 1), Keyed(ltrim), "list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", "O(N) where N is the number of elements to be removed by the operation."),
        cmd("linsert", 5, W, K(1, 1, 1), Keyed(linsert), "list", "2.2.0", "Inserts an element before or after another element in a list.", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N)."),
        cmd("lpos", -3, READONLY, K(1, 1, 1), Keyed(lpos), "list", "6.0.6", "Returns the index of matching elements in a list.", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time."),
        cmd("lmove", 5, W, K(1, 2, 1), Keyed(lmove), "list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", "O(1)"),
        cmd("rpoplpush", 3, W, K(1, 2, 1), Keyed(rpoplpush), "list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", "O(1)"),
        cmd("lmpop", -4, WRITE, KeySpec::Custom(keys_numkeys_at_1), Keyed(lmpop), "list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", "O(N+M) where N is the number of provided keys and M is the number of elements returned."),
    ]
}

/// The list at `key`: Ok(None) if absent, Err(()) if the key holds another type. Borrows only the
/// keyspace, so the caller can still reply while holding the list.
fn read<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    now: u64,
    key: &[u8],
) -> Result<Option<&'k mut ListValue>, ()> {
    match ks.dbs[db].get(key, now).map(|e| &mut e.value) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(()),
    }
}

/// Pushes every element from index 2 on; `create` when the key may be created. Replies the length.
/// O(N) in the elements pushed.
fn push(ctx: &mut Ctx, a: &Args, left: bool, create: bool) {
    let key = a.get(1);
    let now = ctx.now;
    let db = ctx.db();
    let exists = match db.get(key, now).map(|e| &e.value) {
        None => false,
        Some(Value::List(_)) => true,
        Some(_) => return ctx.reply.error(err::WRONGTYPE),
    };
    if !exists && !create {
        return ctx.reply.int(0);
    }
    let e = db.get_or_create(key, now, || Value::List(Box::default()));
    let Value::List(l) = &mut e.value else {
        return ctx.reply.error(err::WRONGTYPE);
    };
    for v in a.iter_from(2) {
        if left {
            l.items.push_front(v.into());
        } else {
            l.items.push_back(v.into());
        }
    }
    let n = l.items.len() as i64;
    ctx.reply.int(n);
}

/// LPUSH key element [element ...].
fn lpush(ctx: &mut Ctx, a: &Args) {
    push(ctx, a, true, true)
}

/// RPUSH key element [element ...].
fn rpush(ctx: &mut Ctx, a: &Args) {
    push(ctx, a, false, true)
}

/// LPUSHX key element [element ...].
fn lpushx(ctx: &mut Ctx, a: &Args) {
    push(ctx, a, true, false)
}

/// RPUSHX key element [element ...].
fn rpushx(ctx: &mut Ctx, a: &Args) {
    push(ctx, a, false, false)
}

/// Pops up to `count` elements from one end of the list at `key`, deleting it when emptied.
fn pop_n(ctx: &mut Ctx, key: &[u8], left: bool, count: usize) -> Vec<Elem> {
    let now = ctx.now;
    let db = ctx.db();
    let mut out = Vec::new();
    if let Some(Value::List(l)) = db.get(key, now).map(|e| &mut e.value) {
        for _ in 0..count {
            match if left {
                l.items.pop_front()
            } else {
                l.items.pop_back()
            } {
                Some(v) => out.push(v),
                None => break,
            }
        }
    }
    db.remove_if_empty(key);
    out
}

/// LPOP/RPOP key [count]. O(N) in the elements returned.
fn pop(ctx: &mut Ctx, a: &Args, left: bool) {
    if a.len() > 3 {
        let name = if left { "lpop" } else { "rpop" };
        return ctx.reply.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
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
    match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => {
            return if count.is_some() {
                ctx.reply.null_array()
            } else {
                ctx.reply.null()
            }
        }
        Ok(Some(_)) => {}
    }
    match count {
        None => {
            let v = pop_n(ctx, key, left, 1);
            match v.first() {
                Some(x) => ctx.reply.bulk(x),
                None => ctx.reply.null(),
            }
        }
        Some(n) => {
            let v = pop_n(ctx, key, left, n);
            ctx.reply.array(v.len());
            for x in &v {
                ctx.reply.bulk(x);
            }
        }
    }
}

/// LPOP key [count].
fn lpop(ctx: &mut Ctx, a: &Args) {
    pop(ctx, a, true)
}

/// RPOP key [count].
fn rpop(ctx: &mut Ctx, a: &Args) {
    pop(ctx, a, false)
}

/// Clamps Redis start/stop indices to a list of `len`; None when the range is empty.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
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

/// LRANGE key start stop. O(S+N).
fn lrange(ctx: &mut Ctx, a: &Args) {
    let (Some(start), Some(stop)) = (a.int(2), a.int(3)) else {
        return ctx.reply.error(err::NOT_INT);
    };
    let l = match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => return ctx.reply.array(0),
        Ok(Some(l)) => l,
    };
    match clamp_range(start, stop, l.items.len()) {
        None => ctx.reply.array(0),
        Some((s, e)) => {
            ctx.reply.array(e + 1 - s);
            for x in l.items.range(s..=e) {
                ctx.reply.bulk(x);
            }
        }
    }
}

/// LLEN key. O(1).
fn llen(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(l) => {
            let n = l.map(|l| l.items.len()).unwrap_or(0) as i64;
            ctx.reply.int(n)
        }
    }
}

/// Resolves a possibly negative index against `len`.
fn index_of(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

/// LINDEX key index. O(1).
fn lindex(ctx: &mut Ctx, a: &Args) {
    let Some(i) = int_arg(&mut ctx.reply, a, 2) else {
        return;
    };
    let v = match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => None,
        Ok(Some(l)) => index_of(i, l.items.len()).map(|i| l.items[i].clone()),
    };
    match v {
        Some(v) => ctx.reply.bulk(&v),
        None => ctx.reply.null(),
    }
}

/// LSET key index element. O(1).
fn lset(ctx: &mut Ctx, a: &Args) {
    let Some(i) = int_arg(&mut ctx.reply, a, 2) else {
        return;
    };
    let val = a.get(3);
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(None) => ctx.reply.error(err::NO_SUCH_KEY),
        Ok(Some(l)) => match index_of(i, l.items.len()) {
            None => ctx.reply.error(err::OUT_OF_RANGE),
            Some(i) => {
                l.items[i] = val.into();
                ctx.reply.ok()
            }
        },
    }
}

/// LREM key count element. O(N).
fn lrem(ctx: &mut Ctx, a: &Args) {
    let Some(count) = int_arg(&mut ctx.reply, a, 2) else {
        return;
    };
    let (key, val) = (a.get(1), a.get(3));
    let removed = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(l)) => {
            let limit = if count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let mut removed = 0;
            let mut kept: VecDeque<Elem> = VecDeque::with_capacity(l.items.len());
            if count >= 0 {
                for x in l.items.drain(..) {
                    if removed < limit && &*x == val {
                        removed += 1;
                    } else {
                        kept.push_back(x);
                    }
                }
            } else {
                for x in l.items.drain(..).rev() {
                    if removed < limit && &*x == val {
                        removed += 1;
                    } else {
                        kept.push_front(x);
                    }
                }
            }
            l.items = kept;
            removed
        }
    };
    ctx.db().remove_if_empty(key);
    ctx.reply.int(removed as i64);
}

/// LTRIM key start stop. O(N) in the removed elements.
fn ltrim(ctx: &mut Ctx, a: &Args) {
    let (Some(start), Some(stop)) = (a.int(2), a.int(3)) else {
        return ctx.reply.error(err::NOT_INT);
    };
    let key = a.get(1);
    match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => {}
        Ok(Some(l)) => match clamp_range(start, stop, l.items.len()) {
            None => l.items.clear(),
            Some((s, e)) => {
                l.items.truncate(e + 1);
                l.items.drain(..s);
            }
        },
    }
    ctx.db().remove_if_empty(key);
    ctx.reply.ok();
}

/// LINSERT key BEFORE|AFTER pivot element. O(N).
fn linsert(ctx: &mut Ctx, a: &Args) {
    let after = if a.is(2, "after") {
        true
    } else if a.is(2, "before") {
        false
    } else {
        return ctx.reply.error(err::SYNTAX);
    };
    let (pivot, val) = (a.get(3), a.get(4));
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(None) => ctx.reply.int(0),
        Ok(Some(l)) => match l.items.iter().position(|x| &**x == pivot) {
            None => ctx.reply.int(-1),
            Some(p) => {
                l.items.insert(if after { p + 1 } else { p }, val.into());
                let n = l.items.len() as i64;
                ctx.reply.int(n)
            }
        },
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]. O(N).
fn lpos(ctx: &mut Ctx, a: &Args) {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<i64>, 0i64);
    let mut i = 3;
    while i < a.len() {
        if i + 1 >= a.len() {
            return ctx.reply.error(err::SYNTAX);
        }
        let Some(v) = int_arg(&mut ctx.reply, a, i + 1) else {
            return;
        };
        if a.is(i, "rank") {
            if v == 0 {
                return ctx.reply.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
            }
            if v == i64::MIN {
                return ctx.reply.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            }
            rank = v;
        } else if a.is(i, "count") {
            if v < 0 {
                return ctx.reply.error("ERR COUNT can't be negative");
            }
            count = Some(v);
        } else if a.is(i, "maxlen") {
            if v < 0 {
                return ctx.reply.error("ERR MAXLEN can't be negative");
            }
            maxlen = v;
        } else {
            return ctx.reply.error(err::SYNTAX);
        }
        i += 2;
    }
    let val = a.get(2);
    let l = match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => {
            return if count.is_some() {
                ctx.reply.array(0)
            } else {
                ctx.reply.null()
            }
        }
        Ok(Some(l)) => l,
    };
    let len = l.items.len();
    let want = match count {
        Some(0) => usize::MAX,
        Some(c) => c as usize,
        None => 1,
    };
    let limit = if maxlen == 0 {
        len
    } else {
        (maxlen as usize).min(len)
    };
    let mut skip = rank.unsigned_abs() - 1;
    let mut found = Vec::new();
    for step in 0..limit {
        let idx = if rank > 0 { step } else { len - 1 - step };
        if &*l.items[idx] == val {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(idx as i64);
            if found.len() >= want {
                break;
            }
        }
    }
    if count.is_some() {
        ctx.reply.array(found.len());
        for x in found {
            ctx.reply.int(x);
        }
    } else {
        match found.first() {
            Some(&x) => ctx.reply.int(x),
            None => ctx.reply.null(),
        }
    }
}

/// Parses LEFT|RIGHT.
fn side(a: &Args, i: usize) -> Option<bool> {
    if a.is(i, "left") {
        Some(true)
    } else if a.is(i, "right") {
        Some(false)
    } else {
        None
    }
}

/// Moves one element from `src` (end `from_left`) to `dst` (end `to_left`). Replies it or null.
fn move_one(ctx: &mut Ctx, src: &[u8], dst: &[u8], from_left: bool, to_left: bool) {
    let now = ctx.now;
    let db = ctx.db();
    match db.get(src, now).map(|e| &e.value) {
        None => return ctx.reply.null(),
        Some(Value::List(_)) => {}
        Some(_) => return ctx.reply.error(err::WRONGTYPE),
    }
    match db.get(dst, now).map(|e| &e.value) {
        None | Some(Value::List(_)) => {}
        Some(_) => return ctx.reply.error(err::WRONGTYPE),
    }
    let v = pop_n(ctx, src, from_left, 1);
    let Some(v) = v.into_iter().next() else {
        return ctx.reply.null();
    };
    let e = ctx
        .db()
        .get_or_create(dst, now, || Value::List(Box::default()));
    if let Value::List(l) = &mut e.value {
        if to_left {
            l.items.push_front(v.clone());
        } else {
            l.items.push_back(v.clone());
        }
    }
    ctx.reply.bulk(&v);
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT. O(1).
fn lmove(ctx: &mut Ctx, a: &Args) {
    let (Some(from), Some(to)) = (side(a, 3), side(a, 4)) else {
        return ctx.reply.error(err::SYNTAX);
    };
    move_one(ctx, a.get(1), a.get(2), from, to)
}

/// RPOPLPUSH source destination. O(1).
fn rpoplpush(ctx: &mut Ctx, a: &Args) {
    move_one(ctx, a.get(1), a.get(2), false, true)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]. O(N+M).
fn lmpop(ctx: &mut Ctx, a: &Args) {
    let numkeys = match a.int(1) {
        Some(n) if n > 0 => n as usize,
        _ => return ctx.reply.error("ERR numkeys should be greater than 0"),
    };
    if numkeys > a.len().saturating_sub(2) {
        return ctx
            .reply
            .error("ERR Number of keys can't be greater than number of args");
    }
    let where_at = 2 + numkeys;
    if where_at >= a.len() {
        return ctx.reply.error(err::SYNTAX);
    }
    let Some(left) = side(a, where_at) else {
        return ctx.reply.error(err::SYNTAX);
    };
    let mut count = 1usize;
    let mut i = where_at + 1;
    let mut seen_count = false;
    while i < a.len() {
        if a.is(i, "count") && i + 1 < a.len() && !seen_count {
            match a.int(i + 1) {
                Some(n) if n > 0 => count = n as usize,
                _ => return ctx.reply.error("ERR count should be greater than 0"),
            }
            seen_count = true;
            i += 2;
        } else {
            return ctx.reply.error(err::SYNTAX);
        }
    }
    for k in 2..where_at {
        let key = a.get(k);
        match read(ctx.ks, ctx.db, ctx.now, key) {
            Err(()) => return ctx.reply.error(err::WRONGTYPE),
            Ok(None) => continue,
            Ok(Some(_)) => {
                let v = pop_n(ctx, key, left, count);
                ctx.reply.array(2);
                ctx.reply.bulk(key);
                ctx.reply.array(v.len());
                for x in &v {
                    ctx.reply.bulk(x);
                }
                return;
            }
        }
    }
    ctx.reply.null_array();
}
