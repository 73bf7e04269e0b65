//! The string command family: GET/SET and friends, counters, ranges.

use super::{cmd, flag::*, int_arg, typed, Args, Combine, Command, Ctx, Exec, Handled, KeySpec};
use crate::num::{long_double_incr, parse_i64, IncrError};
use crate::resp::{err, Reply};
use crate::store::db::Db;
use crate::store::notify::{EXPIRED, GENERIC, NEW, STRING};
use crate::store::{StrValue, Value};

/// Largest string value, as Redis's proto-max-bulk-len default.
const MAX_STRING: i64 = 512 * 1024 * 1024;

/// The string commands.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::{Fanout, Keyed};
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("get", 2, READONLY | FAST, K(1, 1, 1), Keyed(typed!(get))),
        cmd("set", -3, W, K(1, 1, 1), Keyed(typed!(set))),
        cmd("setnx", 3, W | FAST, K(1, 1, 1), Keyed(setnx)),
        cmd("setex", 4, W, K(1, 1, 1), Keyed(setex)),
        cmd("psetex", 4, W, K(1, 1, 1), Keyed(psetex)),
        cmd("getset", 3, W | FAST, K(1, 1, 1), Keyed(typed!(getset))),
        cmd("getdel", 2, WRITE | FAST, K(1, 1, 1), Keyed(typed!(getdel))),
        cmd("getex", -2, WRITE | FAST, K(1, 1, 1), Keyed(typed!(getex))),
        cmd("mget", -2, READONLY | FAST, K(1, -1, 1), Fanout(mget, Combine::ConcatArrays)),
        cmd("mset", -3, W, K(1, -1, 2), Fanout(mset, Combine::AllOk)),
        cmd("msetnx", -3, W, K(1, -1, 2), Keyed(msetnx)),
        cmd("incr", 2, W | FAST, K(1, 1, 1), Keyed(typed!(incr))),
        cmd("decr", 2, W | FAST, K(1, 1, 1), Keyed(typed!(decr))),
        cmd("incrby", 3, W | FAST, K(1, 1, 1), Keyed(typed!(incrby))),
        cmd("decrby", 3, W | FAST, K(1, 1, 1), Keyed(typed!(decrby))),
        cmd("incrbyfloat", 3, W | FAST, K(1, 1, 1), Keyed(typed!(incrbyfloat))),
        cmd("append", 3, W | FAST, K(1, 1, 1), Keyed(typed!(append))),
        cmd("strlen", 2, READONLY | FAST, K(1, 1, 1), Keyed(typed!(strlen))),
        cmd("getrange", 4, READONLY, K(1, 1, 1), Keyed(typed!(getrange))),
        cmd("substr", 4, READONLY, K(1, 1, 1), Keyed(typed!(getrange))),
        cmd("lcs", -3, READONLY, K(1, 2, 1), Keyed(lcs)),
        cmd("setrange", 4, W, K(1, 1, 1), Keyed(typed!(setrange))),
    ]
}

/// Replies a string value, or null: large values by reference (see [`Reply::bulk_shared`]).
fn reply_str(r: &mut Reply, s: Option<&StrValue>) {
    match s {
        None => r.null(),
        Some(StrValue::Shared(b)) => r.bulk_shared(b),
        Some(s) => r.bulk(s.as_bytes(&mut itoa::Buffer::new())),
    }
}

/// GET key. O(1).
fn get(ctx: &mut Ctx, a: &Args) -> Handled {
    // The hottest command: the reply is written here rather than through `reply_str`, which the
    // compiler does not inline.
    match ctx.ks.read::<StrValue>(ctx.db, a.get(1), ctx.now)? {
        None => ctx.reply.null(),
        Some(StrValue::Shared(b)) => ctx.reply.bulk_shared(b),
        Some(s) => ctx.reply.bulk(s.as_bytes(&mut itoa::Buffer::new())),
    }
    Ok(())
}

/// When a key set by SET-like commands expires.
#[derive(Clone, Copy, PartialEq)]
enum Ttl {
    /// Remove any TTL.
    Clear,
    /// Keep the current TTL (KEEPTTL).
    Keep,
    /// Expire at this Unix time in ms.
    At(u64),
}

/// Parses an expire argument for `command` (`unit_ms` is 1 or 1000; `absolute` for EXAT/PXAT).
/// Replies the error and returns None when invalid.
fn expire_arg(
    ctx: &mut Ctx,
    arg: &[u8],
    unit_ms: i64,
    absolute: bool,
    command: &str,
) -> Option<u64> {
    let Some(v) = parse_i64(arg) else {
        ctx.reply.error(err::NOT_INT);
        return None;
    };
    let invalid = |ctx: &mut Ctx| {
        ctx.reply
            .error(&format!("ERR invalid expire time in '{command}' command"))
    };
    if v <= 0 {
        invalid(ctx);
        return None;
    }
    let Some(ms) = v.checked_mul(unit_ms) else {
        invalid(ctx);
        return None;
    };
    let at = if absolute {
        Some(ms)
    } else {
        ms.checked_add(ctx.now as i64)
    };
    match at {
        Some(at) if at > 0 => Some(at as u64),
        _ => {
            invalid(ctx);
            None
        }
    }
}

/// Stores argument `vi` of `a` under `key` with the given TTL policy, as Redis's setKey (then
/// setExpire): a big value read into a buffer of its own is kept without a copy
/// ([`Args::shared`]). Raises the `set` event, and `expire` for [`Ttl::At`], after the `expired`
/// and `new` events the database raises on the way. A deadline already past is stored as given, as
/// Redis 7.0 does: the key goes by expiry (an `expired` event) when next touched. O(1).
fn store(ctx: &mut Ctx, key: &[u8], a: &Args, vi: usize, ttl: Ttl) {
    let value = a.get(vi);
    let now = ctx.now;
    let db = ctx.db();
    let at = match ttl {
        Ttl::Keep => db.get(key, now).map_or(0, |e| e.expire_at()),
        Ttl::Clear => {
            expire_old(db, key, now);
            0
        }
        Ttl::At(at) => {
            expire_old(db, key, now);
            at
        }
    };
    let v = match a.shared(vi) {
        Some(b) => StrValue::from_shared(b),
        None => StrValue::from_bytes(value),
    };
    db.set(key, Value::Str(v), at);
    ctx.notify(STRING, "set", key);
    if let Ttl::At(_) = ttl {
        ctx.notify(GENERIC, "expire", key);
    }
}

/// Redis's setKey looks the key up first (lookupKeyWrite), so an old value past its deadline goes
/// by expiry (`expired`) and the value stored is a `new` key. That lookup only shows in events:
/// made only when those are recorded, one test otherwise. O(1).
#[inline]
fn expire_old(db: &mut Db, key: &[u8], now: u64) {
    if db.record & (EXPIRED | NEW) != 0 {
        db.get(key, now);
    }
}

/// Option flags of SET and GETEX, as Redis's `OBJ_*` flags.
const OPT_NX: u32 = 1;
const OPT_XX: u32 = 1 << 1;
const OPT_EX: u32 = 1 << 2;
const OPT_PX: u32 = 1 << 3;
const OPT_KEEPTTL: u32 = 1 << 4;
const OPT_GET: u32 = 1 << 5;
const OPT_EXAT: u32 = 1 << 6;
const OPT_PXAT: u32 = 1 << 7;
const OPT_PERSIST: u32 = 1 << 8;
/// Any of the expire options.
const OPT_EXPIRE: u32 = OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT;

/// Parses the options of SET (`set`) or GETEX exactly as Redis's `parseExtendedStringArgumentsOrReply`:
/// an expire option excludes the other expire kinds, KEEPTTL and PERSIST, but may repeat (the last
/// value wins); NX and XX exclude each other; NX, XX, GET and KEEPTTL are SET-only, PERSIST GETEX-only.
/// Returns the flags and the expire argument, or None for a syntax error (the value of an expire option
/// is not validated here: a syntax error later in the line wins over it).
fn parse_string_options<'a>(a: &Args<'a>, set: bool) -> Option<(u32, Option<&'a [u8]>)> {
    let mut flags = 0u32;
    let mut expire = None;
    let mut j = if set { 3 } else { 2 };
    while j < a.len() {
        let has_next = j + 1 < a.len();
        // The expire kinds a given expire option is incompatible with (itself excluded).
        let other_expire = |own: u32| flags & (OPT_EXPIRE & !own | OPT_KEEPTTL | OPT_PERSIST) == 0;
        if set && a.is(j, "nx") && flags & OPT_XX == 0 {
            flags |= OPT_NX;
        } else if set && a.is(j, "xx") && flags & OPT_NX == 0 {
            flags |= OPT_XX;
        } else if set && a.is(j, "get") {
            flags |= OPT_GET;
        } else if set && a.is(j, "keepttl") && flags & (OPT_EXPIRE | OPT_PERSIST) == 0 {
            flags |= OPT_KEEPTTL;
        } else if !set && a.is(j, "persist") && flags & (OPT_EXPIRE | OPT_KEEPTTL) == 0 {
            flags |= OPT_PERSIST;
        } else {
            let kind = if a.is(j, "ex") {
                OPT_EX
            } else if a.is(j, "px") {
                OPT_PX
            } else if a.is(j, "exat") {
                OPT_EXAT
            } else if a.is(j, "pxat") {
                OPT_PXAT
            } else {
                return None;
            };
            if !has_next || !other_expire(kind) {
                return None;
            }
            flags |= kind;
            expire = Some(a.get(j + 1));
            j += 1;
        }
        j += 1;
    }
    Some((flags, expire))
}

/// The deadline an expire option of SET/GETEX asks for (Redis's `getExpireMillisecondsOrReply`);
/// replies the error and returns None when invalid.
fn option_deadline(ctx: &mut Ctx, flags: u32, arg: &[u8], command: &str) -> Option<u64> {
    let unit = if flags & (OPT_EX | OPT_EXAT) != 0 {
        1000
    } else {
        1
    };
    let absolute = flags & (OPT_EXAT | OPT_PXAT) != 0;
    expire_arg(ctx, arg, unit, absolute, command)
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts|KEEPTTL]. O(1).
fn set(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some((flags, expire)) = parse_string_options(a, true) else {
        return ctx.error(err::SYNTAX);
    };
    let (nx, xx, get) = (
        flags & OPT_NX != 0,
        flags & OPT_XX != 0,
        flags & OPT_GET != 0,
    );
    let ttl = match expire {
        Some(arg) => match option_deadline(ctx, flags, arg, "set") {
            Some(at) => Ttl::At(at),
            None => return Ok(()),
        },
        None if flags & OPT_KEEPTTL != 0 => Ttl::Keep,
        None => Ttl::Clear,
    };
    let key = a.get(1);
    let now = ctx.now;
    // Only NX, XX and GET need to look at the current value; a plain SET just overwrites it. GET reads
    // it as GET does (a read lookup, counted); NX and XX only ask whether the key exists, as Redis's
    // write lookup does (not counted; an expired key goes, an `expired` event).
    let exists = if get {
        let old = ctx.ks.read::<StrValue>(ctx.db, key, now)?;
        let found = old.is_some();
        reply_str(&mut ctx.reply, old);
        found
    } else if nx || xx {
        ctx.db().get(key, now).is_some()
    } else {
        false
    };
    if (nx && exists) || (xx && !exists) {
        if !get {
            ctx.reply.null();
        }
        return Ok(());
    }
    store(ctx, key, a, 2, ttl);
    if !get {
        ctx.reply.ok();
    }
    Ok(())
}

/// SETNX key value. O(1).
fn setnx(ctx: &mut Ctx, a: &Args) {
    let now = ctx.now;
    if ctx.db().get(a.get(1), now).is_some() {
        return ctx.reply.int(0);
    }
    store(ctx, a.get(1), a, 2, Ttl::Clear);
    ctx.reply.int(1);
}

fn setex_generic(ctx: &mut Ctx, a: &Args, unit: i64, name: &str) {
    let Some(at) = expire_arg(ctx, a.get(2), unit, false, name) else {
        return;
    };
    store(ctx, a.get(1), a, 3, Ttl::At(at));
    ctx.reply.ok();
}

/// SETEX key seconds value. O(1).
fn setex(ctx: &mut Ctx, a: &Args) {
    setex_generic(ctx, a, 1000, "setex")
}

/// PSETEX key milliseconds value. O(1).
fn psetex(ctx: &mut Ctx, a: &Args) {
    setex_generic(ctx, a, 1, "psetex")
}

/// GETSET key value. O(1).
fn getset(ctx: &mut Ctx, a: &Args) -> Handled {
    let old = ctx.ks.read::<StrValue>(ctx.db, a.get(1), ctx.now)?;
    reply_str(&mut ctx.reply, old);
    store(ctx, a.get(1), a, 2, Ttl::Clear);
    Ok(())
}

/// GETDEL key. O(1).
fn getdel(ctx: &mut Ctx, a: &Args) -> Handled {
    let old = ctx.ks.read::<StrValue>(ctx.db, a.get(1), ctx.now)?;
    let found = old.is_some();
    reply_str(&mut ctx.reply, old);
    if found {
        let now = ctx.now;
        ctx.db().remove(a.get(1), now);
        ctx.notify(GENERIC, "del", a.get(1));
    }
    Ok(())
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ts|PERSIST]. O(1).
///
/// As in Redis: options are checked for syntax first, then the key is looked up (nil or WRONGTYPE
/// before the expire value is validated), then the expire value.
fn getex(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some((flags, expire)) = parse_string_options(a, false) else {
        return ctx.error(err::SYNTAX);
    };
    let Some(old) = ctx.ks.read::<StrValue>(ctx.db, a.get(1), ctx.now)?.cloned() else {
        ctx.reply.null();
        return Ok(());
    };
    let ttl = match expire {
        Some(arg) => match option_deadline(ctx, flags, arg, "getex") {
            Some(at) => Ttl::At(at),
            None => return Ok(()),
        },
        None if flags & OPT_PERSIST != 0 => Ttl::Clear,
        None => Ttl::Keep,
    };
    reply_str(&mut ctx.reply, Some(&old));
    let (key, now) = (a.get(1), ctx.now);
    match ttl {
        Ttl::Keep => {}
        Ttl::Clear => {
            // PERSIST: an event only when there was a TTL to remove.
            let db = ctx.db();
            if db.peek(key, now).is_some_and(|e| e.has_ttl()) {
                db.set_expire(key, 0, now);
                ctx.notify(GENERIC, "persist", key);
            }
        }
        Ttl::At(at) if at <= now => {
            // Only EXAT/PXAT can name a past time: the key is deleted.
            ctx.db().remove(key, now);
            ctx.notify(GENERIC, "del", key);
        }
        Ttl::At(at) => {
            ctx.db().set_expire(key, at, now);
            ctx.notify(GENERIC, "expire", key);
        }
    }
    Ok(())
}

/// MGET key [key ...]: nil for missing keys and non-strings; every key is a read lookup. O(N).
fn mget(ctx: &mut Ctx, a: &Args) {
    ctx.reply.array(a.len() - 1);
    for key in a.iter_from(1) {
        match ctx.ks.read_any(ctx.db, key, ctx.now).map(|e| &e.value) {
            Some(Value::Str(StrValue::Shared(b))) => ctx.reply.bulk_shared(b),
            Some(Value::Str(s)) => ctx.reply.bulk(s.as_bytes(&mut itoa::Buffer::new())),
            _ => ctx.reply.null(),
        }
    }
}

/// MSET key value [key value ...]. O(N).
fn mset(ctx: &mut Ctx, a: &Args) {
    if a.len().is_multiple_of(2) {
        return ctx
            .reply
            .error("ERR wrong number of arguments for 'mset' command");
    }
    for i in (1..a.len()).step_by(2) {
        store(ctx, a.get(i), a, i + 1, Ttl::Clear);
    }
    ctx.reply.ok();
}

/// MSETNX key value [key value ...]: all or nothing. O(N).
fn msetnx(ctx: &mut Ctx, a: &Args) {
    if a.len().is_multiple_of(2) {
        return ctx
            .reply
            .error("ERR wrong number of arguments for 'msetnx' command");
    }
    // Write lookups in order up to the first key that exists, as Redis's (expired keys go).
    let now = ctx.now;
    if (1..a.len())
        .step_by(2)
        .any(|i| ctx.db().get(a.get(i), now).is_some())
    {
        return ctx.reply.int(0);
    }
    for i in (1..a.len()).step_by(2) {
        store(ctx, a.get(i), a, i + 1, Ttl::Clear);
    }
    ctx.reply.int(1);
}

/// Adds `by` to the integer at `key` (created as 0), keeping its TTL. O(1).
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> Handled {
    let now = ctx.now;
    let s = ctx.ks.dbs[ctx.db]
        .get_or_create_as::<StrValue>(key, now, || Value::Str(StrValue::Int(0)))?;
    let current = match &*s {
        StrValue::Int(n) => *n,
        other => match other.with_bytes(parse_i64) {
            Some(n) => n,
            None => return ctx.error(err::NOT_INT),
        },
    };
    let Some(next) = current.checked_add(by) else {
        return ctx.error(err::OVERFLOW);
    };
    *s = StrValue::Int(next);
    ctx.notify(STRING, "incrby", key);
    ctx.reply.int(next);
    Ok(())
}

/// INCR key. O(1).
fn incr(ctx: &mut Ctx, a: &Args) -> Handled {
    incr_by(ctx, a.get(1), 1)
}

/// DECR key. O(1).
fn decr(ctx: &mut Ctx, a: &Args) -> Handled {
    incr_by(ctx, a.get(1), -1)
}

/// INCRBY key increment. O(1).
fn incrby(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(by) = int_arg(&mut ctx.reply, a, 2) else {
        return Ok(());
    };
    incr_by(ctx, a.get(1), by)
}

/// DECRBY key decrement. O(1).
fn decrby(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(by) = int_arg(&mut ctx.reply, a, 2) else {
        return Ok(());
    };
    if by == i64::MIN {
        return ctx.error("ERR decrement would overflow");
    }
    incr_by(ctx, a.get(1), -by)
}

/// INCRBYFLOAT key increment: long double arithmetic, as Redis. O(1).
fn incrbyfloat(ctx: &mut Ctx, a: &Args) -> Handled {
    let key = a.get(1);
    let now = ctx.now;
    // A write lookup first, as Redis's: an expired key goes even when the increment is refused.
    let current = ctx.ks.write::<StrValue>(ctx.db, key, now)?;
    let current = current.map(|s| s.with_bytes(|b| b.to_vec()));
    let text = match long_double_incr(current.as_deref(), a.get(2), false) {
        Ok(t) => t,
        Err(IncrError::NotFinite) => {
            return ctx.error("ERR increment would produce NaN or Infinity")
        }
        Err(_) => return ctx.error(err::NOT_FLOAT),
    };
    let entry = ctx
        .db()
        .get_or_create(key, now, || Value::Str(StrValue::Int(0)));
    entry.value = Value::Str(StrValue::text(&text));
    ctx.notify(STRING, "incrbyfloat", key);
    ctx.reply.bulk(&text);
    Ok(())
}

/// APPEND key value: new length. O(1) amortised.
fn append(ctx: &mut Ctx, a: &Args) -> Handled {
    let (key, tail) = (a.get(1), a.get(2));
    match ctx.ks.write::<StrValue>(ctx.db, key, ctx.now)? {
        None => {
            ctx.db()
                .set(key, Value::Str(StrValue::Raw(tail.to_vec())), 0);
            ctx.reply.int(tail.len() as i64)
        }
        Some(s) => {
            if (s.len() + tail.len()) as i64 > MAX_STRING {
                return ctx.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            }
            let data = s.make_raw();
            data.extend_from_slice(tail);
            let n = data.len() as i64;
            ctx.reply.int(n)
        }
    }
    ctx.notify(STRING, "append", key);
    Ok(())
}

/// STRLEN key. O(1).
fn strlen(ctx: &mut Ctx, a: &Args) -> Handled {
    let s = ctx.ks.read::<StrValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.int(s.map_or(0, |s| s.len()) as i64);
    Ok(())
}

/// GETRANGE key start end (and SUBSTR). O(N) in the returned length.
fn getrange(ctx: &mut Ctx, a: &Args) -> Handled {
    let (Some(mut start), Some(mut end)) = (a.int(2), a.int(3)) else {
        return ctx.error(err::NOT_INT);
    };
    let Some(s) = ctx.ks.read::<StrValue>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.bulk(b"");
        return Ok(());
    };
    s.with_bytes(|b| {
        let len = b.len() as i64;
        if start < 0 && end < 0 && start > end {
            return ctx.reply.bulk(b"");
        }
        if start < 0 {
            start += len;
        }
        if end < 0 {
            end += len;
        }
        start = start.max(0);
        end = end.max(0);
        if end >= len {
            end = len - 1;
        }
        if start > end || len == 0 {
            ctx.reply.bulk(b"")
        } else {
            ctx.reply.bulk(&b[start as usize..=end as usize])
        }
    });
    Ok(())
}

/// SETRANGE key offset value: new length. O(M) in the written length.
fn setrange(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(offset) = int_arg(&mut ctx.reply, a, 2) else {
        return Ok(());
    };
    if offset < 0 {
        return ctx.error("ERR offset is out of range");
    }
    let (key, val) = (a.get(1), a.get(3));
    let now = ctx.now;
    // A write lookup, as Redis's: an expired key goes even when nothing is written.
    let existing = ctx.ks.write::<StrValue>(ctx.db, key, now)?.map(|s| s.len());
    if val.is_empty() {
        ctx.reply.int(existing.unwrap_or(0) as i64);
        return Ok(());
    }
    if offset.saturating_add(val.len() as i64) > MAX_STRING {
        return ctx.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    let s = ctx.ks.dbs[ctx.db]
        .get_or_create_as::<StrValue>(key, now, || Value::Str(StrValue::Raw(Vec::new())))?;
    let data = s.make_raw();
    let end = offset as usize + val.len();
    if data.len() < end {
        data.resize(end, 0);
    }
    data[offset as usize..end].copy_from_slice(val);
    let n = data.len() as i64;
    ctx.notify(STRING, "setrange", key);
    ctx.reply.int(n);
    Ok(())
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest common subsequence, as
/// Redis computes it (dynamic programming table, ranges emitted from the end). O(N*M) time and memory.
fn lcs(ctx: &mut Ctx, a: &Args) {
    let now = ctx.now;
    let mut values: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    // Both keys are read lookups (counted; expired keys go, misses are `keymiss` events) before
    // either type is checked, as in Redis.
    let mut wrong_type = false;
    for (i, v) in values.iter_mut().enumerate() {
        match ctx.ks.read_any(ctx.db, a.get(1 + i), now).map(|e| &e.value) {
            None => {}
            Some(Value::Str(s)) => *v = s.with_bytes(|b| b.to_vec()),
            Some(_) => wrong_type = true,
        }
    }
    if wrong_type {
        return ctx
            .reply
            .error("ERR The specified keys must contain string values");
    }
    let (mut getlen, mut getidx, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    let mut j = 3;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if a.is(j, "idx") {
            getidx = true;
        } else if a.is(j, "len") {
            getlen = true;
        } else if a.is(j, "withmatchlen") {
            withmatchlen = true;
        } else if a.is(j, "minmatchlen") && more > 0 {
            let Some(n) = int_arg(&mut ctx.reply, a, j + 1) else {
                return;
            };
            minmatchlen = n.max(0);
            j += 1;
        } else {
            return ctx.reply.error(err::SYNTAX);
        }
        j += 1;
    }
    if getlen && getidx {
        return ctx
            .reply
            .error("ERR If you want both the length and indexes, please just use IDX.");
    }
    let [x, y] = &values;
    if x.len() >= u32::MAX as usize - 1 || y.len() >= u32::MAX as usize - 1 {
        return ctx.reply.error("ERR String too long for LCS");
    }
    let (alen, blen) = (x.len(), y.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells.saturating_mul(4) > MAX_STRING as u64 {
        return ctx
            .reply
            .error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        return ctx
            .reply
            .error("ERR Insufficient memory, failed allocating transient memory for LCS");
    }
    table.resize(cells as usize, 0);
    let at = |i: usize, j: usize| j + i * (blen + 1);
    for i in 1..=alen {
        for j in 1..=blen {
            table[at(i, j)] = if x[i - 1] == y[j - 1] {
                table[at(i - 1, j - 1)] + 1
            } else {
                table[at(i - 1, j)].max(table[at(i, j - 1)])
            };
        }
    }
    let total = table[at(alen, blen)];
    let mut idx = total as usize;
    let computelcs = getidx || !getlen;
    let mut result = vec![0u8; if computelcs { idx } else { 0 }];
    // Ranges (a start, a end, b start, b end, length), as Redis emits them from the end of the strings.
    let mut ranges: Vec<[u32; 5]> = Vec::new();
    let alen32 = alen as u32;
    let (mut astart, mut aend, mut bstart, mut bend) = (alen32, 0u32, 0u32, 0u32);
    let (mut i, mut j) = (alen, blen);
    while computelcs && i > 0 && j > 0 {
        let mut emit = false;
        if x[i - 1] == y[j - 1] {
            result[idx - 1] = x[i - 1];
            if astart == alen32 {
                astart = (i - 1) as u32;
                aend = (i - 1) as u32;
                bstart = (j - 1) as u32;
                bend = (j - 1) as u32;
            } else if astart == i as u32 && bstart == j as u32 {
                astart -= 1;
                bstart -= 1;
            } else {
                emit = true;
            }
            if astart == 0 || bstart == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[at(i - 1, j)] > table[at(i, j - 1)] {
                i -= 1;
            } else {
                j -= 1;
            }
            if astart != alen32 {
                emit = true;
            }
        }
        let match_len = aend.wrapping_sub(astart).wrapping_add(1);
        if emit {
            if (minmatchlen == 0 || match_len as i64 >= minmatchlen) && getidx {
                ranges.push([astart, aend, bstart, bend, match_len]);
            }
            astart = alen32;
        }
    }
    if getidx {
        let r = &mut ctx.reply;
        r.map(2);
        r.bulk(b"matches");
        r.array(ranges.len());
        for [a0, a1, b0, b1, n] in ranges {
            r.array(2 + withmatchlen as usize);
            r.array(2);
            r.int(a0 as i64);
            r.int(a1 as i64);
            r.array(2);
            r.int(b0 as i64);
            r.int(b1 as i64);
            if withmatchlen {
                r.int(n as i64);
            }
        }
        r.bulk(b"len");
        r.int(total as i64);
    } else if getlen {
        ctx.reply.int(total as i64);
    } else {
        ctx.reply.bulk(&result);
    }
}
