//! The hash command family: parsing and replies; the hash itself is [`crate::store::hash`].
//!
//! Errors are checked in Redis 7.0's order (argument parsing, then the key's type, then its contents),
//! and HINCRBYFLOAT computes in C long double as Redis does, so replies match byte for byte.

use super::{
    cmd, distinct_indices, flag::*, parse_cursor, parse_scan_options, typed, Args, Command, Ctx,
    Exec, Handled, KeySpec, Rng,
};
use crate::num::{long_double_incr, parse_i64, IncrError};
use crate::resp::{err, Reply};
use crate::store::notify::HASH;
use crate::store::{Elem, HashValue, Value, WrongType};

/// The hash commands (Redis 7.0.15's arity, flags, key positions and documentation).
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("hset", -4, W | FAST, K(1, 1, 1), Keyed(typed!(hset))),
        cmd("hsetnx", 4, W | FAST, K(1, 1, 1), Keyed(typed!(hsetnx))),
        cmd("hmset", -4, W | FAST, K(1, 1, 1), Keyed(typed!(hmset))),
        cmd("hget", 3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(hget))),
        cmd("hmget", -3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(hmget))),
        cmd("hgetall", 2, READONLY, K(1, 1, 1), Keyed(typed!(hgetall))),
        cmd("hdel", -3, WRITE | FAST, K(1, 1, 1), Keyed(typed!(hdel))),
        cmd("hlen", 2, READONLY | FAST, K(1, 1, 1), Keyed(typed!(hlen))),
        cmd("hexists", 3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(hexists))),
        cmd("hkeys", 2, READONLY, K(1, 1, 1), Keyed(typed!(hkeys))),
        cmd("hvals", 2, READONLY, K(1, 1, 1), Keyed(typed!(hvals))),
        cmd("hincrby", 4, W | FAST, K(1, 1, 1), Keyed(typed!(hincrby))),
        cmd("hincrbyfloat", 4, W | FAST, K(1, 1, 1), Keyed(typed!(hincrbyfloat))),
        cmd("hstrlen", 3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(hstrlen))),
        cmd("hrandfield", -2, READONLY, K(1, 1, 1), Keyed(typed!(hrandfield))),
        cmd("hscan", -3, READONLY, K(1, 1, 1), Keyed(typed!(hscan))),
    ]
}

const NOT_INT_VALUE: &str = "ERR hash value is not an integer";
const NOT_FLOAT_VALUE: &str = "ERR hash value is not a float";
const NAN_OR_INF_INCR: &str = "ERR value is NaN or Infinity";
const NAN_OR_INF_RESULT: &str = "ERR increment would produce NaN or Infinity";

/// Most elements HRANDFIELD with a negative count may reply. Redis has no limit and exhausts its memory
/// trying to build a reply of billions of fields; Rustis refuses such counts with Redis's out-of-range
/// error instead of aborting the whole server.
const MAX_RANDOM_REPLY: u64 = 1 << 26;

/// The hash at `key`, created empty (listpack-encoded, as Redis creates it) if absent: a write
/// lookup, one table lookup. The caller deletes the key again if it leaves it empty.
fn hash_or_new<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<&'k mut HashValue, WrongType> {
    ctx.ks.dbs[ctx.db].get_or_create_as(key, ctx.now, || Value::Hash(Box::default()))
}

/// HSET/HMSET body: sets the pairs from argument 2 and raises `hset` (whether or not a value
/// changed, as Redis); Ok(None) after replying an error. O(N) pairs.
fn set_pairs(ctx: &mut Ctx, a: &Args, name: &str) -> Result<Option<i64>, WrongType> {
    if a.len() % 2 == 1 {
        ctx.reply.error(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ));
        return Ok(None);
    }
    let l = ctx.ks.limits;
    let h = hash_or_new(ctx, a.get(1))?;
    let mut added = 0;
    for i in (2..a.len()).step_by(2) {
        added += h.put_field(a.get(i), a.get(i + 1), &l) as i64;
    }
    ctx.notify(HASH, "hset", a.get(1));
    Ok(Some(added))
}

/// HSET key field value [field value ...]: the number of fields added. O(N) pairs.
fn hset(ctx: &mut Ctx, a: &Args) -> Handled {
    if let Some(n) = set_pairs(ctx, a, "hset")? {
        ctx.reply.int(n);
    }
    Ok(())
}

/// HMSET key field value [field value ...]: `+OK`. O(N) pairs.
fn hmset(ctx: &mut Ctx, a: &Args) -> Handled {
    if set_pairs(ctx, a, "hmset")?.is_some() {
        ctx.reply.ok();
    }
    Ok(())
}

/// HSETNX key field value: 1 if the field was set, 0 if it existed (nothing converts then). O(1).
fn hsetnx(ctx: &mut Ctx, a: &Args) -> Handled {
    let l = ctx.ks.limits;
    let (f, v) = (a.get(2), a.get(3));
    let h = hash_or_new(ctx, a.get(1))?;
    if h.fields.contains_key(f) {
        ctx.reply.int(0);
    } else {
        h.put_field(f, v, &l);
        ctx.reply.int(1);
        ctx.notify(HASH, "hset", a.get(1));
    }
    Ok(())
}

/// HGET key field. O(1).
fn hget(ctx: &mut Ctx, a: &Args) -> Handled {
    let h = ctx.ks.read::<HashValue>(ctx.db, a.get(1), ctx.now)?;
    match h.and_then(|h| h.fields.get(a.get(2))) {
        Some(v) => ctx.reply.bulk(v),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// HMGET key field [field ...]: one value or null per field. O(N) fields.
fn hmget(ctx: &mut Ctx, a: &Args) -> Handled {
    let h = ctx.ks.read::<HashValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.array(a.len() - 2);
    for f in a.iter_from(2) {
        match h.and_then(|h| h.fields.get(f)) {
            Some(v) => ctx.reply.bulk(v),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

/// HGETALL key: a map in RESP3, a flat array in RESP2. O(N).
fn hgetall(ctx: &mut Ctx, a: &Args) -> Handled {
    match ctx.ks.read::<HashValue>(ctx.db, a.get(1), ctx.now)? {
        None => ctx.reply.map(0),
        Some(h) => {
            ctx.reply.map(h.fields.len());
            for (f, v) in &h.fields {
                ctx.reply.bulk(f);
                ctx.reply.bulk(v);
            }
        }
    }
    Ok(())
}

/// HDEL key field [field ...]: fields removed; the key goes with its last field. Raises `hdel`
/// when a field went, then `del` when the key did, as Redis. O(N) fields (times the listpack size
/// while listpack-encoded, as in Redis).
fn hdel(ctx: &mut Ctx, a: &Args) -> Handled {
    let key = a.get(1);
    let (n, emptied) = match ctx.ks.write::<HashValue>(ctx.db, key, ctx.now)? {
        None => (0, false),
        Some(h) => {
            let n = a.iter_from(2).filter(|f| h.del_field(f)).count();
            (n, h.fields.is_empty())
        }
    };
    if n > 0 {
        ctx.elements_removed(HASH, key, "hdel", emptied);
    }
    ctx.reply.int(n as i64);
    Ok(())
}

/// HLEN key. O(1).
fn hlen(ctx: &mut Ctx, a: &Args) -> Handled {
    let h = ctx.ks.read::<HashValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.int(h.map_or(0, |h| h.fields.len()) as i64);
    Ok(())
}

/// HEXISTS key field. O(1).
fn hexists(ctx: &mut Ctx, a: &Args) -> Handled {
    let h = ctx.ks.read::<HashValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply
        .int(h.is_some_and(|h| h.fields.contains_key(a.get(2))) as i64);
    Ok(())
}

/// HKEYS key. O(N).
fn hkeys(ctx: &mut Ctx, a: &Args) -> Handled {
    match ctx.ks.read::<HashValue>(ctx.db, a.get(1), ctx.now)? {
        None => ctx.reply.array(0),
        Some(h) => {
            ctx.reply.array(h.fields.len());
            for f in h.fields.keys() {
                ctx.reply.bulk(f);
            }
        }
    }
    Ok(())
}

/// HVALS key. O(N).
fn hvals(ctx: &mut Ctx, a: &Args) -> Handled {
    match ctx.ks.read::<HashValue>(ctx.db, a.get(1), ctx.now)? {
        None => ctx.reply.array(0),
        Some(h) => {
            ctx.reply.array(h.fields.len());
            for v in h.fields.values() {
                ctx.reply.bulk(v);
            }
        }
    }
    Ok(())
}

/// HSTRLEN key field: the value's length, 0 when absent. O(1).
fn hstrlen(ctx: &mut Ctx, a: &Args) -> Handled {
    let h = ctx.ks.read::<HashValue>(ctx.db, a.get(1), ctx.now)?;
    let n = h
        .and_then(|h| h.fields.get(a.get(2)))
        .map_or(0, |v| v.len());
    ctx.reply.int(n as i64);
    Ok(())
}

/// HINCRBY key field increment: the increment is checked first, then the key's type, then the
/// current value (a canonical 64-bit integer), then overflow. O(1).
fn hincrby(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(by) = a.int(3) else {
        ctx.reply.error(err::NOT_INT);
        return Ok(());
    };
    let l = ctx.ks.limits;
    let (key, f) = (a.get(1), a.get(2));
    let h = hash_or_new(ctx, key)?;
    let cur = match h.fields.get(f) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => {
                ctx.reply.error(NOT_INT_VALUE);
                return Ok(());
            }
        },
    };
    // A new key has no field yet, so it never fails: no empty hash is left behind.
    let Some(next) = cur.checked_add(by) else {
        ctx.reply.error(err::OVERFLOW);
        return Ok(());
    };
    h.put_field(f, itoa::Buffer::new().format(next).as_bytes(), &l);
    ctx.reply.int(next);
    ctx.notify(HASH, "hincrby", key);
    Ok(())
}

/// The error for an HINCRBYFLOAT increment that Redis rejects before looking at the key, if any.
fn incr_error(incr: &[u8]) -> Option<&'static str> {
    match long_double_incr(None, incr, true) {
        Ok(_) => None,
        Err(IncrError::InfiniteIncrement) => Some(NAN_OR_INF_INCR),
        Err(_) => Some(err::NOT_FLOAT),
    }
}

/// HINCRBYFLOAT key field increment: long double arithmetic and formatting, as Redis. Errors in
/// Redis's order: the increment (not a float, then NaN or infinite), the key's type, the current value,
/// the result. One write lookup (a new key has no field, so its increment cannot fail and leave an
/// empty hash behind). O(1) (O(digits) to print).
fn hincrbyfloat(ctx: &mut Ctx, a: &Args) -> Handled {
    let (key, f, incr) = (a.get(1), a.get(2), a.get(3));
    if let Some(e) = incr_error(incr) {
        ctx.reply.error(e);
        return Ok(());
    }
    let l = ctx.ks.limits;
    let h = hash_or_new(ctx, key)?;
    let text = match long_double_incr(h.fields.get(f).map(|v| &**v), incr, true) {
        Ok(t) => t,
        Err(e) => {
            ctx.reply.error(match e {
                IncrError::BadCurrent => NOT_FLOAT_VALUE,
                IncrError::BadIncrement => err::NOT_FLOAT,
                IncrError::InfiniteIncrement => NAN_OR_INF_INCR,
                IncrError::NotFinite => NAN_OR_INF_RESULT,
            });
            return Ok(());
        }
    };
    h.put_field(f, &text, &l);
    ctx.reply.bulk(&text);
    ctx.notify(HASH, "hincrbyfloat", key);
    Ok(())
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

/// HRANDFIELD key [count [WITHVALUES]]. Without a count: one field or null. A positive count: that
/// many distinct fields (the whole hash, in its order, when the count reaches its size); a negative
/// one: |count| fields, repeats allowed. WITHVALUES pairs come as `[field, value]` arrays in RESP3.
/// Checks in Redis's order: count, syntax, WITHVALUES range, key. O(1) without a count, O(|count|)
/// with one (each field found by index).
fn hrandfield(ctx: &mut Ctx, a: &Args) -> Handled {
    let mut count = None;
    let mut with_values = false;
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
        if a.len() > 4 || (a.len() == 4 && !a.is(3, "withvalues")) {
            return ctx.error(err::SYNTAX);
        }
        if a.len() == 4 {
            with_values = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&c) {
                return ctx.error("ERR value is out of range");
            }
        }
        if c < 0 && c.unsigned_abs() > MAX_RANDOM_REPLY {
            return ctx.error("ERR value is out of range");
        }
        count = Some(c);
    }
    let mut rng = Rng(ctx.ks.random());
    let Some(h) = ctx.ks.read::<HashValue>(ctx.db, a.get(1), ctx.now)? else {
        match count {
            Some(_) => ctx.reply.array(0),
            None => ctx.reply.null(),
        }
        return Ok(());
    };
    let len = h.fields.len();
    let r = &mut ctx.reply;
    let flat = with_values && !r.resp3();
    let header = |n: usize| if flat { 2 * n } else { n };
    match count {
        None => match h.fields.get_index(rng.below(len)) {
            Some((f, _)) => r.bulk(f),
            None => r.null(),
        },
        Some(0) => r.array(0),
        Some(c) if c < 0 => {
            let n = c.unsigned_abs() as usize;
            r.array(header(n));
            for _ in 0..n {
                if let Some((f, v)) = h.fields.get_index(rng.below(len)) {
                    reply_field(r, f, v, with_values);
                }
            }
        }
        Some(c) if c as u64 >= len as u64 => {
            r.array(header(len));
            for (f, v) in &h.fields {
                reply_field(r, f, v, with_values);
            }
        }
        Some(c) => {
            let n = c as usize;
            r.array(header(n));
            for i in distinct_indices(len, n, || rng.next_u64()) {
                if let Some((f, v)) = h.fields.get_index(i) {
                    reply_field(r, f, v, with_values);
                }
            }
        }
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]. As Redis: the cursor is parsed first, then the key
/// is looked up (absent: an empty scan, whatever the options), then the options. A listpack-encoded
/// hash is returned whole with cursor 0, as Redis does for compact encodings; a larger one is walked
/// from its highest index down, so the swap-removals of HDEL during a scan only ever move an unvisited
/// field into a visited position's place from above, never hide one. O(count) per call.
fn hscan(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(cursor) = parse_cursor(a.get(2)) else {
        return ctx.error("ERR invalid cursor");
    };
    let Some(h) = ctx.ks.read::<HashValue>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
        return Ok(());
    };
    let r = &mut ctx.reply;
    let Some(o) = parse_scan_options(r, a, cursor, 3, false) else {
        return Ok(());
    };
    let (count, matches) = (o.count, |f: &[u8]| o.matches(f));
    let len = h.fields.len();
    // The indices visited by this call, highest first: all of them for a listpack.
    let (next, lo, hi) = if h.listpack {
        (0, 0, len)
    } else {
        let top = if cursor == 0 {
            len
        } else {
            usize::try_from(cursor).unwrap_or(usize::MAX).min(len)
        };
        let lo = top.saturating_sub(count);
        (lo as u64, lo, top)
    };
    let visit = || {
        (lo..hi)
            .rev()
            .filter_map(|i| h.fields.get_index(i))
            .filter(|(f, _)| matches(f))
    };
    let listpack = h.listpack;
    let found = visit().count();
    r.array(2);
    r.bulk(itoa::Buffer::new().format(next).as_bytes());
    r.array(2 * found);
    if listpack {
        // A listpack scan keeps the hash's order.
        for (f, v) in h.fields.iter().filter(|(f, _)| matches(f)) {
            r.bulk(f);
            r.bulk(v);
        }
    } else {
        for (f, v) in visit() {
            r.bulk(f);
            r.bulk(v);
        }
    }
    Ok(())
}
