//! The hash command family: parsing and replies; the hash itself is [`crate::store::hash`].
//!
//! Errors are checked in Redis 7.0's order (argument parsing, then the key's type, then its contents),
//! and HINCRBYFLOAT computes in C long double as Redis does, so replies match byte for byte.

use super::{
    cmd, distinct_indices, flag::*, parse_cursor, parse_scan_options, Args, Command, Ctx, Exec,
    KeySpec, Rng,
};
use crate::num::{long_double_incr, parse_i64, IncrError};
use crate::resp::{err, Reply};
use crate::store::{Elem, HashValue, Keyspace, Value};

/// The hash commands (Redis 7.0.15's arity, flags, key positions and documentation).
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("hset", -4, W | FAST, K(1, 1, 1), Keyed(hset)),
        cmd("hsetnx", 4, W | FAST, K(1, 1, 1), Keyed(hsetnx)),
        cmd("hmset", -4, W | FAST, K(1, 1, 1), Keyed(hmset)),
        cmd("hget", 3, READONLY | FAST, K(1, 1, 1), Keyed(hget)),
        cmd("hmget", -3, READONLY | FAST, K(1, 1, 1), Keyed(hmget)),
        cmd("hgetall", 2, READONLY, K(1, 1, 1), Keyed(hgetall)),
        cmd("hdel", -3, WRITE | FAST, K(1, 1, 1), Keyed(hdel)),
        cmd("hlen", 2, READONLY | FAST, K(1, 1, 1), Keyed(hlen)),
        cmd("hexists", 3, READONLY | FAST, K(1, 1, 1), Keyed(hexists)),
        cmd("hkeys", 2, READONLY, K(1, 1, 1), Keyed(hkeys)),
        cmd("hvals", 2, READONLY, K(1, 1, 1), Keyed(hvals)),
        cmd("hincrby", 4, W | FAST, K(1, 1, 1), Keyed(hincrby)),
        cmd("hincrbyfloat", 4, W | FAST, K(1, 1, 1), Keyed(hincrbyfloat)),
        cmd("hstrlen", 3, READONLY | FAST, K(1, 1, 1), Keyed(hstrlen)),
        cmd("hrandfield", -2, READONLY, K(1, 1, 1), Keyed(hrandfield)),
        cmd("hscan", -3, READONLY, K(1, 1, 1), Keyed(hscan)),
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

/// The hash at `key`: Ok(None) if absent, Err(()) for another type. Borrows only the keyspace, so the
/// reply can be written while the hash is borrowed.
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

/// The hash at `key`, created empty (listpack-encoded, as Redis creates it) if absent; Err(()) for
/// another type. One table lookup. The caller deletes the key again if it leaves it empty.
fn write<'k>(ctx: &'k mut Ctx, key: &[u8]) -> Result<&'k mut HashValue, ()> {
    let (now, db) = (ctx.now, ctx.db);
    let e = ctx.ks.dbs[db].get_or_create(key, now, || Value::Hash(Box::default()));
    match &mut e.value {
        Value::Hash(h) => Ok(h),
        _ => Err(()),
    }
}

/// HSET/HMSET body: sets the pairs from argument 2; None after replying an error. O(N) pairs.
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
        added += h.put_field(a.get(i), a.get(i + 1), &l) as i64;
    }
    Some(added)
}

/// HSET key field value [field value ...]: the number of fields added. O(N) pairs.
fn hset(ctx: &mut Ctx, a: &Args) {
    if let Some(n) = set_pairs(ctx, a, "hset") {
        ctx.reply.int(n);
    }
}

/// HMSET key field value [field value ...]: `+OK`. O(N) pairs.
fn hmset(ctx: &mut Ctx, a: &Args) {
    if set_pairs(ctx, a, "hmset").is_some() {
        ctx.reply.ok();
    }
}

/// HSETNX key field value: 1 if the field was set, 0 if it existed (nothing converts then). O(1).
fn hsetnx(ctx: &mut Ctx, a: &Args) {
    let l = ctx.ks.limits;
    let (f, v) = (a.get(2), a.get(3));
    let Ok(h) = write(ctx, a.get(1)) else {
        return ctx.reply.error(err::WRONGTYPE);
    };
    if h.fields.contains_key(f) {
        return ctx.reply.int(0);
    }
    h.put_field(f, v, &l);
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

/// HMGET key field [field ...]: one value or null per field. O(N) fields.
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

/// HGETALL key: a map in RESP3, a flat array in RESP2. O(N).
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

/// HDEL key field [field ...]: fields removed; the key goes with its last field. O(N) fields (times
/// the listpack size while listpack-encoded, as in Redis).
fn hdel(ctx: &mut Ctx, a: &Args) {
    let key = a.get(1);
    let n = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(h)) => a.iter_from(2).filter(|f| h.del_field(f)).count(),
    };
    if n > 0 {
        ctx.db().remove_if_empty(key);
    }
    ctx.reply.int(n as i64);
}

/// HLEN key. O(1).
fn hlen(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(h) => ctx.reply.int(h.map_or(0, |h| h.fields.len()) as i64),
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

/// HSTRLEN key field: the value's length, 0 when absent. O(1).
fn hstrlen(ctx: &mut Ctx, a: &Args) {
    match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => ctx.reply.error(err::WRONGTYPE),
        Ok(h) => ctx.reply.int(
            h.and_then(|h| h.fields.get(a.get(2)))
                .map_or(0, |v| v.len()) as i64,
        ),
    }
}

/// HINCRBY key field increment: the increment is checked first, then the key's type, then the
/// current value (a canonical 64-bit integer), then overflow. O(1).
fn hincrby(ctx: &mut Ctx, a: &Args) {
    let Some(by) = a.int(3) else {
        return ctx.reply.error(err::NOT_INT);
    };
    let l = ctx.ks.limits;
    let (key, f) = (a.get(1), a.get(2));
    let Ok(h) = write(ctx, key) else {
        return ctx.reply.error(err::WRONGTYPE);
    };
    let cur = match h.fields.get(f) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return ctx.reply.error(NOT_INT_VALUE),
        },
    };
    // A new key has no field yet, so it never fails: no empty hash is left behind.
    let Some(next) = cur.checked_add(by) else {
        return ctx.reply.error(err::OVERFLOW);
    };
    h.put_field(f, itoa::Buffer::new().format(next).as_bytes(), &l);
    ctx.reply.int(next);
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
/// the result. O(1) (O(digits) to print).
fn hincrbyfloat(ctx: &mut Ctx, a: &Args) {
    let (key, f, incr) = (a.get(1), a.get(2), a.get(3));
    let res = match read(ctx.ks, ctx.db, ctx.now, key) {
        Err(()) => {
            let e = incr_error(incr).unwrap_or(err::WRONGTYPE);
            return ctx.reply.error(e);
        }
        Ok(h) => long_double_incr(h.and_then(|h| h.fields.get(f)).map(|v| &**v), incr, true),
    };
    let text = match res {
        Ok(t) => t,
        Err(IncrError::BadCurrent) => {
            let e = incr_error(incr).unwrap_or(NOT_FLOAT_VALUE);
            return ctx.reply.error(e);
        }
        Err(IncrError::BadIncrement) => return ctx.reply.error(err::NOT_FLOAT),
        Err(IncrError::InfiniteIncrement) => return ctx.reply.error(NAN_OR_INF_INCR),
        Err(IncrError::NotFinite) => return ctx.reply.error(NAN_OR_INF_RESULT),
    };
    let text = &text[..];
    let l = ctx.ks.limits;
    let Ok(h) = write(ctx, key) else {
        return ctx.reply.error(err::WRONGTYPE);
    };
    h.put_field(f, text, &l);
    ctx.reply.bulk(text);
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
fn hrandfield(ctx: &mut Ctx, a: &Args) {
    let mut count = None;
    let mut with_values = false;
    if a.len() >= 3 {
        let c = match a.int(2) {
            Some(i64::MIN) => {
                return ctx.reply.error(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                )
            }
            Some(c) => c,
            None => return ctx.reply.error(err::NOT_INT),
        };
        if a.len() > 4 || (a.len() == 4 && !a.is(3, "withvalues")) {
            return ctx.reply.error(err::SYNTAX);
        }
        if a.len() == 4 {
            with_values = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&c) {
                return ctx.reply.error("ERR value is out of range");
            }
        }
        if c < 0 && c.unsigned_abs() > MAX_RANDOM_REPLY {
            return ctx.reply.error("ERR value is out of range");
        }
        count = Some(c);
    }
    let mut rng = Rng(ctx.ks.random());
    let h = match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) if count.is_some() => return ctx.reply.array(0),
        Ok(None) => return ctx.reply.null(),
        Ok(Some(h)) => h,
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
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]. As Redis: the cursor is parsed first, then the key
/// is looked up (absent: an empty scan, whatever the options), then the options. A listpack-encoded
/// hash is returned whole with cursor 0, as Redis does for compact encodings; a larger one is walked
/// from its highest index down, so the swap-removals of HDEL during a scan only ever move an unvisited
/// field into a visited position's place from above, never hide one. O(count) per call.
fn hscan(ctx: &mut Ctx, a: &Args) {
    let Some(cursor) = parse_cursor(a.get(2)) else {
        return ctx.reply.error("ERR invalid cursor");
    };
    let h = match read(ctx.ks, ctx.db, ctx.now, a.get(1)) {
        Err(()) => return ctx.reply.error(err::WRONGTYPE),
        Ok(None) => return ctx.reply.raw(b"*2\r\n$1\r\n0\r\n*0\r\n"),
        Ok(Some(h)) => h,
    };
    let r = &mut ctx.reply;
    let Some(o) = parse_scan_options(r, a, cursor, 3, false) else {
        return;
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
}
