//! The hash command family. A hash is an insertion-ordered map: O(1) field access and O(1) random
//! field. While Redis would keep it as a listpack, removals preserve insertion order (as a listpack
//! does), so HGETALL lists fields exactly as Redis does.

use indexmap::IndexMap;

use super::{
    cmd, distinct_indices, flag::*, parse_scan, scan_down, Args, Command, Ctx, Exec, KeySpec,
};
use crate::resp::reply::{long_double_incr, IncrError};
use crate::resp::{err, parse_i64, Reply};
use crate::store::{Elem, HashValue, Keyspace, Value};

/// The hash commands.
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("hset", -4, W | FAST, K(1, 1, 1), Keyed(hset), "hash", "2.0.0", "Creates or modifies the value of a field in a hash.", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs."),
        cmd("hmset", -4, W | FAST, K(1, 1, 1), Keyed(hmset), "hash", "2.0.0", "Sets the values of multiple fields.", "O(N) where N is the number of fields being set."),
        cmd("hsetnx", 4, W | FAST, K(1, 1, 1), Keyed(hsetnx), "hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", "O(1)"),
        cmd("hget", 3, READONLY | FAST, K(1, 1, 1), Keyed(hget), "hash", "2.0.0", "Returns the value of a field in a hash.", "O(1)"),
        cmd("hmget", -3, READONLY | FAST, K(1, 1, 1), Keyed(hmget), "hash", "2.0.0", "Returns the values of all fields in a hash.", "O(N) where N is the number of fields being requested."),
        cmd("hgetall", 2, READONLY, K(1, 1, 1), Keyed(hgetall), "hash", "2.0.0", "Returns all fields and values in a hash.", "O(N) where N is the size of the hash."),
        cmd("hdel", -3, WRITE | FAST, K(1, 1, 1), Keyed(hdel), "hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", "O(N) where N is the number of fields to be removed."),
        cmd("hlen", 2, READONLY | FAST, K(1, 1, 1), Keyed(hlen), "hash", "2.0.0", "Returns the number of fields in a hash.", "O(1)"),
        cmd("hexists", 3, READONLY | FAST, K(1, 1, 1), Keyed(hexists), "hash", "2.0.0", "Determines whether a field exists in a hash.", "O(1)"),
        cmd("hkeys", 2, READONLY, K(1, 1, 1), Keyed(hkeys), "hash", "2.0.0", "Returns all fields in a hash.", "O(N) where N is the size of the hash."),
        cmd("hvals", 2, READONLY, K(1, 1, 1), Keyed(hvals), "hash", "2.0.0", "Returns all values in a hash.", "O(N) where N is the size of the hash."),
        cmd("hincrby", 4, W | FAST, K(1, 1, 1), Keyed(hincrby), "hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", "O(1)"),
        cmd("hincrbyfloat", 4, W | FAST, K(1, 1, 1), Keyed(hincrbyfloat), "hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", "O(1)"),
        cmd("hstrlen", 3, READONLY | FAST, K(1, 1, 1), Keyed(hstrlen), "hash", "3.2.0", "Returns the length of the value of a field.", "O(1)"),
        cmd("hrandfield", -2, READONLY, K(1, 1, 1), Keyed(hrandfield), "hash", "6.2.0", "Returns one or more random fields from a hash.", "O(N) where N is the number of fields returned"),
        cmd("hscan", -3, READONLY, K(1, 1, 1), Keyed(hscan), "hash", "2.8.0", "Iterates over fields and values of a hash.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
    ]
}

/// The hash at `key`: Ok(None) if absent, Err(()) for another type. Borrows only the keyspace.
fn read<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    now: u64,
    key: &[u8],
) -> Result<Option<&'k mut HashValue>, ()> {
    match ks.dbs[db].get(key, now).map(|e| &mut e.value) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(()),
    }
}

impl HashValue {
    /// Sets a field; returns whether it is new. Converts the encoding as Redis would. O(1).
    fn put(&mut self, f: &[u8], v: &[u8], max_entries: usize, max_value: usize) -> bool {
        if f.len() > max_value || v.len() > max_value {
            self.listpack = false;
        }
        let new = match self.fields.get_mut(f) {
            Some(old) => {
                *old = v.into();
                false
            }
            None => {
                self.fields.insert(f.into(), v.into());
                true
            }
        };
        if self.fields.len() > max_entries {
            self.listpack = false;
        }
        new
    }

    /// Removes a field, keeping insertion order while listpack-encoded. O(1), O(n) for a listpack.
    fn del(&mut self, f: &[u8]) -> bool {
        if self.listpack {
            self.fields.shift_remove(f).is_some()
        } else {
            self.fields.swap_remove(f).is_some()
        }
    }
}

/// The hash at `key`, created empty if absent; Err(()) for another type.
fn write<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<&'k mut HashValue, ()> {
    let now = ctx.now;
    let db = ctx.db;
    let d = &mut ctx.ks.dbs[db];
    match d.get(key, now).map(|e| &e.value) {
        None | Some(Value::Hash(_)) => {}
        Some(_) => return Err(()),
    }
    let e = d.get_or_create(key, now, || {
        Value::Hash(Box::new(HashValue {
            fields: IndexMap::default(),
            listpack: true,
        }))
    });
    match &mut e.value {
        Value::Hash(h) => Ok(h),
        _ => Err(()),
    }
}

fn set_pairs(ctx: &mut Ctx, a: &Args, name: &str) -> Option<i64> {
    if a.len() % 2 == 1 {
        ctx.reply.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
        return None;
    }
    let l = ctx.ks.limits;
    let Ok(h) = write(ctx, a.get(1)) else {
        ctx.reply.error(err::WRONGTYPE);
        return None;
    };
    let mut added = 0;
    for i in (2..a.len()).step_by(2) {
        if h.put(
            a.get(i),
            a.get(i + 1),
            l.hash_max_listpack_entries,
            l.hash_max_listpack_value,
        ) {
            added += 1;
        }
    }
    Some(added)
}

/// HSET key field value [field value ...]: fields added. O(N).
fn hset(ctx: &mut Ctx, a: &Args) {
    if let Some(n) = set_pairs(ctx, a, "hset") {
        ctx.reply.int(n);
    }
}

/// HMSET key field value [field value ...]. O(N).
fn hmset(ctx: &mut Ctx, a: &Args) {
    if set_pairs(ctx, a, "hmset").is_some() {
        ctx.reply.ok();
    }
}

/// HSETNX key field value. O(1).
fn hsetnx(ctx: &mut Ctx, a: &Args) {
    let l = ctx.ks.limits;
    let (key, f, v) = (a.get(1), a.get(2), a.get(3));
    match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(Some(h)) if h.fields.contains_key(f) => return ctx.reply.int(0),
        _ => {}
    }
    if let Ok(h) = write(ctx, key) {
        h.put(f, v, l.hash_max_listpack_entries, l.hash_max_listpack_value);
    }
    ctx.reply.int(1);
}

/// HGET key field. O(1).
fn hget(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(h) => match h.and_then(|h| h.fields.get(a.get(2))) {
            Some(v) => ctx.reply.bulk(v),
            None => ctx.reply.null(),
        },
    }
}

/// HMGET key field [field ...]. O(N).
fn hmget(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(h) => {
            ctx.reply.array(a.len() - 2);
            for f in a.iter_from(2) {
                match h.as_ref().and_then(|h| h.fields.get(f)) {
                    Some(v) => ctx.reply.bulk(v),
                    None => ctx.reply.null(),
                }
            }
        }
    }
}

/// HGETALL key. O(N).
fn hgetall(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(None) => ctx.reply.map(0),
        Ok(Some(h)) => {
            ctx.reply.map(h.fields.len());
            for (f, v) in &h.fields {
                ctx.reply.bulk(f);
                ctx.reply.bulk(v);
            }
        }
    }
}

/// HDEL key field [field ...]. O(N).
fn hdel(ctx: &mut Ctx, a: &Args) {
    let key = a.get(1);
    let n = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(h)) => a.iter_from(2).filter(|f| h.del(f)).count(),
    };
    ctx.db().remove_if_empty(key);
    ctx.reply.int(n as i64);
}

/// HLEN key. O(1).
fn hlen(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(h) => ctx.reply.int(h.map(|h| h.fields.len()).unwrap_or(0) as i64),
    }
}

/// HEXISTS key field. O(1).
fn hexists(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(h) => ctx
            .reply
            .int(h.is_some_and(|h| h.fields.contains_key(a.get(2))) as i64),
    }
}

/// HKEYS key. O(N).
fn hkeys(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(None) => ctx.reply.array(0),
        Ok(Some(h)) => {
            ctx.reply.array(h.fields.len());
            for f in h.fields.keys() {
                ctx.reply.bulk(f);
            }
        }
    }
}

/// HVALS key. O(N).
fn hvals(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(None) => ctx.reply.array(0),
        Ok(Some(h)) => {
            ctx.reply.array(h.fields.len());
            for v in h.fields.values() {
                ctx.reply.bulk(v);
            }
        }
    }
}

/// HINCRBY key field increment. O(1).
fn hincrby(ctx: &mut Ctx, a: &Args) {
    let Some(by) = a.int(3) else {
        return ctx.reply.error(err::NOT_INT);
    };
    let l = ctx.ks.limits;
    let f = a.get(2);
    let Ok(h) = write(ctx, a.get(1)) else {
        return ctx.reply.error(err::WRONGTYPE);
    };
    let cur = match h.fields.get(f) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => {
                ctx.db().remove_if_empty(a.get(1));
                return ctx.reply.error("ERR hash value is not an integer");
            }
        },
    };
    let Some(next) = cur.checked_add(by) else {
        ctx.db().remove_if_empty(a.get(1));
        return ctx.reply.error(err::OVERFLOW);
    };
    h.put(
        f,
        itoa::Buffer::new().format(next).as_bytes(),
        l.hash_max_listpack_entries,
        l.hash_max_listpack_value,
    );
    ctx.reply.int(next);
}

/// HINCRBYFLOAT key field increment: long double arithmetic, as Redis. O(1).
fn hincrbyfloat(ctx: &mut Ctx, a: &Args) {
    let l = ctx.ks.limits;
    let (key, f) = (a.get(1), a.get(2));
    let current = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(h) => h.and_then(|h| h.fields.get(f).map(|v| v.to_vec())),
    };
    let text = match long_double_incr(current.as_deref(), a.get(3), true) {
        Ok(t) => t,
        Err(IncrError::BadCurrent) => return ctx.reply.error("ERR hash value is not a float"),
        Err(IncrError::BadIncrement) => return ctx.reply.error(err::NOT_FLOAT),
        Err(IncrError::InfiniteIncrement) => {
            return ctx.reply.error("ERR value is NaN or Infinity")
        }
        Err(IncrError::NotFinite) => {
            return ctx
                .reply
                .error("ERR increment would produce NaN or Infinity")
        }
    };
    let Ok(h) = write(ctx, key) else {
        return ctx.reply.error(err::WRONGTYPE);
    };
    h.put(
        f,
        &text,
        l.hash_max_listpack_entries,
        l.hash_max_listpack_value,
    );
    ctx.reply.bulk(&text);
}

/// HSTRLEN key field. O(1).
fn hstrlen(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(h) => ctx.reply.int(
            h.and_then(|h| h.fields.get(a.get(2)))
                .map(|v| v.len())
                .unwrap_or(0) as i64,
        ),
    }
}

fn reply_field(r: &mut Reply, f: &Elem, v: &Elem, with_values: bool) {
    if with_values {
        if r.resp3() {
            r.array(2);
        }
        r.bulk(f);
        r.bulk(v);
    } else {
        r.bulk(f);
    }
}

/// HRANDFIELD key [count [WITHVALUES]]. O(|count|).
fn hrandfield(ctx: &mut Ctx, a: &Args) {
    let (count, with_values) = match a.len() {
        2 => (None, false),
        3 | 4 => {
            let Some(c) = a.int(2) else {
                return ctx.reply.error(err::NOT_INT);
            };
            if a.len() == 4 && !a.is(3, "withvalues") {
                return ctx.reply.error(err::SYNTAX);
            }
            (Some(c), a.len() == 4)
        }
        _ => return ctx.reply.error(err::SYNTAX),
    };
    let mut rng = ctx.ks.random();
    let h = match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => {
            return if count.is_some() {
                ctx.reply.array(0)
            } else {
                ctx.reply.null()
            }
        }
        Ok(Some(h)) => h,
    };
    let len = h.fields.len();
    let mut next = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((rng >> 33) as usize) % len.max(1)
    };
    let elems = |n: usize, r: bool| if with_values && !r { n * 2 } else { n };
    match count {
        None => match h.fields.get_index(next()) {
            Some((f, _)) => ctx.reply.bulk(f),
            None => ctx.reply.null(),
        },
        Some(c) if c < 0 => {
            let n = c.unsigned_abs() as usize;
            let resp3 = ctx.reply.resp3();
            ctx.reply.array(elems(n, resp3));
            for _ in 0..n {
                if let Some((f, v)) = h.fields.get_index(next()) {
                    reply_field(&mut ctx.reply, f, v, with_values);
                }
            }
        }
        Some(c) => {
            let n = (c as usize).min(len);
            let resp3 = ctx.reply.resp3();
            ctx.reply.array(elems(n, resp3));
            if n == len {
                for (f, v) in &h.fields {
                    reply_field(&mut ctx.reply, f, v, with_values);
                }
                return;
            }
            for i in distinct_indices(len, n, || next() as u64) {
                if let Some((f, v)) = h.fields.get_index(i) {
                    reply_field(&mut ctx.reply, f, v, with_values);
                }
            }
        }
    }
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]. A listpack-encoded hash is returned whole with
/// cursor 0 (as Redis does); a larger one is walked from its last index down.
fn hscan(ctx: &mut Ctx, a: &Args) {
    let Some(o) = parse_scan(&mut ctx.reply, a, 2, false) else {
        return;
    };
    let h = match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => {
            ctx.reply.array(2);
            ctx.reply.bulk(b"0");
            return ctx.reply.array(0);
        }
        Ok(Some(h)) => h,
    };
    let mut found: Vec<(&Elem, &Elem)> = Vec::new();
    let next = if h.listpack {
        found.extend(h.fields.iter().filter(|(f, _)| o.matches(f)));
        0
    } else {
        scan_down(h.fields.len(), o.cursor, o.count, |i| {
            if let Some(fv) = h.fields.get_index(i).filter(|(f, _)| o.matches(f)) {
                found.push(fv);
            }
        })
    };
    ctx.reply.array(2);
    ctx.reply.bulk(next.to_string().as_bytes());
    ctx.reply.array(found.len() * 2);
    for (f, v) in found {
        ctx.reply.bulk(f);
        ctx.reply.bulk(v);
    }
}
