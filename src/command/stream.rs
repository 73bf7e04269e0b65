//! The stream command family (Redis 7.0's `t_stream.c`): parsing, validation order and replies;
//! the stream itself is [`crate::store::stream`].
//!
//! Every handler validates in Redis's order (which decides the error a client sees) and writes its
//! reply straight into the output buffer; replies whose length is only known at the end (XRANGE with
//! tombstones, XREAD over several keys) are gathered first.

use std::sync::Arc;

use super::{blocking, cmd, flag::*, typed, Args, Block, Command, Ctx, Exec, Handled, KeySpec};
use crate::resp::err;
use crate::resp::reply::c_str;
use crate::resp::Reply;
use crate::store::notify::STREAM;
use crate::store::stream::{AppendError, EntryRef, Group, Nack, Trim};
use crate::store::{Stream, StreamId, Value};

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
/// Not a Redis flag: a container whose sub-commands write (see [`super::flag`]).
const SUBW: u32 = SUB_WRITES;

/// The sub-commands of XGROUP with Redis's arities.
pub const XGROUP_SUBCOMMANDS: &[super::Sub] = &[
    ("create", -5),
    ("setid", -5),
    ("destroy", 4),
    ("createconsumer", 5),
    ("delconsumer", 5),
    ("help", 2),
];

/// The sub-commands of XINFO with Redis's arities.
pub const XINFO_SUBCOMMANDS: &[super::Sub] =
    &[("stream", -3), ("groups", 3), ("consumers", 4), ("help", 2)];

/// The stream commands, with Redis 7.0's arity, flags and key positions.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    vec![
        cmd("xadd", -5, WRITE | DENYOOM | FAST, K(1, 1, 1), Keyed(typed!(xadd))),
        cmd("xrange", -4, READONLY, K(1, 1, 1), Keyed(typed!(xrange))),
        cmd("xrevrange", -4, READONLY, K(1, 1, 1), Keyed(typed!(xrevrange))),
        cmd("xlen", 2, READONLY | FAST, K(1, 1, 1), Keyed(typed!(xlen))),
        cmd("xdel", -3, WRITE | FAST, K(1, 1, 1), Keyed(typed!(xdel))),
        cmd("xtrim", -4, WRITE, K(1, 1, 1), Keyed(typed!(xtrim))),
        cmd("xsetid", -3, WRITE | DENYOOM | FAST, K(1, 1, 1), Keyed(typed!(xsetid))),
        cmd("xread", -4, READONLY | MOVABLEKEYS, KeySpec::Custom(xread_keys), Keyed(typed!(xread))).blocking(xread_timeout),
        cmd("xreadgroup", -7, WRITE | MOVABLEKEYS, KeySpec::Custom(xread_keys), Keyed(typed!(xreadgroup))).blocking(xread_timeout),
        cmd("xack", -4, WRITE | FAST, K(1, 1, 1), Keyed(typed!(xack))),
        cmd("xpending", -3, READONLY, K(1, 1, 1), Keyed(typed!(xpending))),
        cmd("xclaim", -6, WRITE | FAST, K(1, 1, 1), Keyed(typed!(xclaim))),
        cmd("xautoclaim", -6, WRITE | FAST, K(1, 1, 1), Keyed(typed!(xautoclaim))),
        cmd("xgroup", -2, SUBW, KeySpec::Custom(sub_key), Keyed(typed!(xgroup))).with_subs(XGROUP_SUBCOMMANDS),
        cmd("xinfo", -2, 0, KeySpec::Custom(sub_key), Keyed(typed!(xinfo))).with_subs(XINFO_SUBCOMMANDS),
    ]
}

/// XGROUP's and XINFO's key is argument 2 (none for HELP).
fn sub_key(a: &Args, out: &mut Vec<usize>) {
    if a.len() > 2 && !a.is(1, "help") {
        out.push(2);
    }
}

/// Where XREAD's options end: the index of the first key (after STREAMS), following the parser's
/// walk over the options, or None.
fn streams_at(a: &Args) -> Option<usize> {
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - i - 1;
        if (a.is(i, "block") || a.is(i, "count")) && more > 0 {
            i += 2;
        } else if a.is(i, "streams") && more > 0 {
            return Some(i + 1);
        } else if a.is(i, "group") && more >= 2 {
            i += 3;
        } else {
            i += 1;
        }
    }
    None
}

/// XREAD/XREADGROUP key positions: the first half of the arguments after STREAMS.
fn xread_keys(a: &Args, out: &mut Vec<usize>) {
    if let Some(s) = streams_at(a) {
        let n = a.len() - s;
        if n.is_multiple_of(2) {
            out.extend(s..s + n / 2);
        }
    }
}

/// The wait of XREAD/XREADGROUP BLOCK ms (None without BLOCK: the call never waits).
fn xread_timeout(a: &Args) -> Option<u64> {
    let s = streams_at(a).unwrap_or(a.len());
    let mut i = 1;
    let mut found = None;
    while i + 1 < s {
        if a.is(i, "block") {
            found = Some(a.int(i + 1).map_or(0, |n| n.max(0) as u64));
            i += 2;
        } else if a.is(i, "count") {
            i += 2;
        } else if a.is(i, "group") {
            i += 3;
        } else {
            i += 1;
        }
    }
    found
}

// ---- ids ----

/// C's strtoull in base 10 as Redis's string2ull falls back to it: leading spaces, a sign (a
/// minus negates, wrapping), digits to the end; None on overflow or stray bytes.
fn strtoull(s: &[u8]) -> Option<u64> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    if i >= s.len() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &s[i..] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Redis's string2ull.
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(n) = crate::num::parse_i64(s) {
        return u64::try_from(n).ok();
    }
    if s.is_empty() {
        return None;
    }
    strtoull(s)
}

/// Redis's streamGenericParseIDOrReply: `-`, `+` (unless `strict`), `ms`, `ms-seq`, and with
/// `seq_star` `ms-*` (the bool: whether the sequence was given). `missing_seq` fills `ms` alone.
fn parse_id_full(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    seq_star: bool,
) -> Option<(StreamId, bool)> {
    if arg.len() > 127 {
        return None;
    }
    let buf = c_str(arg);
    if strict && (buf == b"-" || buf == b"+") {
        return None;
    }
    if buf == b"-" {
        return Some((StreamId::MIN, true));
    }
    if buf == b"+" {
        return Some((StreamId::MAX, true));
    }
    let (ms_part, seq_part) = match buf.iter().position(|&c| c == b'-') {
        Some(d) => (&buf[..d], Some(&buf[d + 1..])),
        None => (buf, None),
    };
    let ms = string2ull(ms_part)?;
    match seq_part {
        Some(b"*") if seq_star => Some((StreamId::new(ms, 0), false)),
        Some(s) => Some((StreamId::new(ms, string2ull(s)?), true)),
        None => Some((StreamId::new(ms, missing_seq), true)),
    }
}

/// A strict id (no `-`/`+`).
fn strict_id(arg: &[u8]) -> Option<StreamId> {
    parse_id_full(arg, 0, true, false).map(|(id, _)| id)
}

/// A range bound: `(` for exclusive, `-`/`+`, an incomplete id's sequence from `missing_seq`.
/// Errors carry Redis's texts.
fn range_bound(arg: &[u8], missing_seq: u64, start: bool) -> Result<StreamId, &'static str> {
    if arg.len() > 1 && arg[0] == b'(' {
        let id = parse_id_full(&arg[1..], missing_seq, true, false)
            .ok_or(INVALID_ID)?
            .0;
        return if start {
            id.incr().ok_or("ERR invalid start ID for the interval")
        } else {
            id.decr().ok_or("ERR invalid end ID for the interval")
        };
    }
    Ok(parse_id_full(arg, missing_seq, false, false)
        .ok_or(INVALID_ID)?
        .0)
}

/// Writes `id` as a bulk string.
fn reply_id(r: &mut Reply, id: StreamId) {
    let mut a = itoa::Buffer::new();
    let mut buf = [0u8; 41];
    let ms = a.format(id.ms).as_bytes();
    let n = ms.len();
    buf[..n].copy_from_slice(ms);
    buf[n] = b'-';
    let seq = a.format(id.seq).as_bytes();
    buf[n + 1..n + 1 + seq.len()].copy_from_slice(seq);
    r.bulk(&buf[..n + 1 + seq.len()]);
}

/// Writes one entry: `[id, [field, value, ...]]`.
fn reply_entry(r: &mut Reply, e: &EntryRef) {
    r.array(2);
    reply_id(r, e.id);
    r.array(e.n * 2);
    for (f, v) in e.pairs() {
        r.bulk(f);
        r.bulk(v);
    }
}

/// An error naming client bytes (key or group names, cut at a NUL as C's `%s` is).
fn error_fmt(ctx: &mut Ctx, parts: &[&[u8]]) {
    let mut msg = Vec::new();
    for p in parts {
        msg.extend_from_slice(p);
    }
    ctx.reply.error_bytes(&msg);
}

/// The NOGROUP error of XPENDING, XCLAIM, XAUTOCLAIM.
fn no_key_or_group(ctx: &mut Ctx, key: &[u8], group: &[u8]) {
    error_fmt(
        ctx,
        &[
            b"NOGROUP No such key '",
            c_str(key),
            b"' or consumer group '",
            c_str(group),
            b"'",
        ],
    );
}

// ---- XADD / XTRIM ----

/// The trimming options of XADD and XTRIM.
struct TrimArgs {
    how: Option<Trim>,
    approx: bool,
    limit: u64,
    /// XADD: the id (None for `*`), and whether its sequence was given.
    id: Option<(StreamId, bool)>,
    nomkstream: bool,
    /// Index of the id (XADD).
    id_at: usize,
}

/// Redis's streamParseAddOrTrimArgsOrReply.
fn parse_trim(ctx: &mut Ctx, a: &Args, xadd: bool) -> Option<TrimArgs> {
    let mut t = TrimArgs {
        how: None,
        approx: false,
        limit: 0,
        id: None,
        nomkstream: false,
        id_at: a.len(),
    };
    let mut limit_given = false;
    let mut i = 2;
    const BOTH: &str =
        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
    while i < a.len() {
        let more = a.len() - 1 - i;
        let opt = a.get(i);
        if xadd && opt == b"*" {
            break;
        } else if (a.is(i, "maxlen") || a.is(i, "minid")) && more > 0 {
            if t.how.is_some() {
                ctx.reply.error(BOTH);
                return None;
            }
            let maxlen = a.is(i, "maxlen");
            t.approx = false;
            let next = a.get(i + 1);
            if more >= 2 && next == b"~" {
                t.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            if maxlen {
                let Some(n) = a.int(i + 1) else {
                    ctx.reply.error(err::NOT_INT);
                    return None;
                };
                if n < 0 {
                    ctx.reply.error("ERR The MAXLEN argument must be >= 0.");
                    return None;
                }
                t.how = Some(Trim::MaxLen(n as u64));
            } else {
                let Some(id) = strict_id(a.get(i + 1)) else {
                    ctx.reply.error(INVALID_ID);
                    return None;
                };
                t.how = Some(Trim::MinId(id));
            }
            i += 1;
        } else if a.is(i, "limit") && more > 0 {
            let Some(n) = a.int(i + 1) else {
                ctx.reply.error(err::NOT_INT);
                return None;
            };
            if n < 0 {
                ctx.reply.error("ERR The LIMIT argument must be >= 0.");
                return None;
            }
            t.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && a.is(i, "nomkstream") {
            t.nomkstream = true;
        } else if xadd {
            match parse_id_full(opt, 0, true, true) {
                Some(id) => t.id = Some(id),
                None => {
                    ctx.reply.error(INVALID_ID);
                    return None;
                }
            }
            break;
        } else {
            ctx.reply.error(err::SYNTAX);
            return None;
        }
        i += 1;
    }
    t.id_at = i;
    if t.limit > 0 && t.how.is_none() {
        ctx.reply
            .error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && t.how.is_none() {
        ctx.reply
            .error("ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    if limit_given {
        if !t.approx {
            ctx.reply
                .error("ERR syntax error, LIMIT cannot be used without the special ~ option");
            return None;
        }
    } else if t.approx {
        let n = 100i128 * i128::from(ctx.ks.limits.stream_node.max_entries);
        t.limit = if n <= 0 {
            10000
        } else {
            n.min(1_000_000) as u64
        };
    } else {
        t.limit = 0;
    }
    Some(t)
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value
/// [field value ...]. O(1) amortized plus the trimming.
fn xadd(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(t) = parse_trim(ctx, a, true) else {
        return Ok(());
    };
    let fields_at = t.id_at + 1;
    if a.len() < fields_at + 2 || (a.len() - fields_at) % 2 == 1 {
        return ctx.error("ERR wrong number of arguments for 'xadd' command");
    }
    if let Some((id, true)) = t.id {
        if id.is_zero() {
            return ctx.error("ERR The ID specified in XADD must be greater than 0-0");
        }
    }
    let key = a.get(1);
    let (now, limits) = (ctx.now, ctx.ks.limits.stream_node);
    let created = if ctx.ks.write::<Stream>(ctx.db, key, now)?.is_none() {
        if t.nomkstream {
            ctx.reply.null();
            return Ok(());
        }
        ctx.db().set(key, Value::Stream(Box::default()), 0);
        true
    } else {
        false
    };
    let Some(s) = ctx.ks.write::<Stream>(ctx.db, key, now)? else {
        return Ok(());
    };
    if s.last_id == StreamId::MAX {
        let e = "ERR The stream has exhausted the last possible ID, unable to add more items";
        return ctx.error(e);
    }
    let id = match t.id {
        Some((id, true)) => Some(id),
        Some((id, false)) => {
            if s.last_id.ms == id.ms {
                if s.last_id.seq == u64::MAX {
                    None
                } else {
                    Some(StreamId::new(id.ms, s.last_id.seq + 1))
                }
            } else {
                Some(id)
            }
        }
        None => Some(if now > s.last_id.ms {
            StreamId::new(now, 0)
        } else {
            s.last_id.incr().unwrap_or(StreamId::MIN)
        }),
    };
    let pairs: Vec<(&[u8], &[u8])> = (fields_at..a.len())
        .step_by(2)
        .map(|i| (a.get(i), a.get(i + 1)))
        .collect();
    // An `ms-*` whose sequence would overflow fails without Redis setting errno: it answers
    // with its ERANGE text, not the EDOM one.
    let outcome = match id {
        Some(id) => s.append(id, &pairs, limits).map(|_| id),
        None => Err(AppendError::TooLarge),
    };
    let id = match outcome {
        Ok(id) => id,
        Err(e) => {
            let msg = match e {
                AppendError::IdTooSmall => {
                    "ERR The ID specified in XADD is equal or smaller than the target stream top item"
                }
                AppendError::TooLarge => "ERR Elements are too large to be stored",
            };
            // A stream created for this call stays, as in Redis (it checks 0-0 first only).
            let _ = created;
            return ctx.error(msg);
        }
    };
    reply_id(&mut ctx.reply, id);
    let trimmed = t.how.is_some_and(|how| s.trim(how, t.approx, t.limit) > 0);
    ctx.notify(STREAM, "xadd", key);
    if trimmed {
        ctx.notify(STREAM, "xtrim", key);
    }
    Ok(())
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]. O(entries removed).
fn xtrim(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(t) = parse_trim(ctx, a, false) else {
        return Ok(());
    };
    let key = a.get(1);
    let Some(s) = ctx.ks.write::<Stream>(ctx.db, key, ctx.now)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    let Some(how) = t.how else {
        return Ok(());
    };
    let n = s.trim(how, t.approx, t.limit);
    ctx.reply.int(n as i64);
    if n > 0 {
        ctx.notify(STREAM, "xtrim", key);
    }
    Ok(())
}

// ---- reads ----

/// XRANGE key start end [COUNT count]. O(log N + M).
fn xrange(ctx: &mut Ctx, a: &Args) -> Handled {
    range(ctx, a, false)
}

/// XREVRANGE key end start [COUNT count]. O(log N + M).
fn xrevrange(ctx: &mut Ctx, a: &Args) -> Handled {
    range(ctx, a, true)
}

fn range(ctx: &mut Ctx, a: &Args, rev: bool) -> Handled {
    let (sa, ea) = if rev { (3, 2) } else { (2, 3) };
    let start = match range_bound(a.get(sa), 0, true) {
        Ok(id) => id,
        Err(e) => return ctx.error(e),
    };
    let end = match range_bound(a.get(ea), u64::MAX, false) {
        Ok(id) => id,
        Err(e) => return ctx.error(e),
    };
    let mut count: i64 = -1;
    let mut j = 4;
    while j < a.len() {
        if a.is(j, "count") && j + 1 < a.len() {
            match a.int(j + 1) {
                Some(n) => count = n.max(0),
                None => return ctx.error(err::NOT_INT),
            }
            j += 2;
        } else {
            return ctx.error(err::SYNTAX);
        }
    }
    let Some(s) = ctx.ks.read::<Stream>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.array(0);
        return Ok(());
    };
    if count == 0 {
        ctx.reply.null_array();
        return Ok(());
    }
    let limit = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    let mut found = Vec::new();
    s.range(start, end, rev, |e| {
        found.push(e);
        found.len() < limit
    });
    ctx.reply.array(found.len());
    for e in &found {
        reply_entry(&mut ctx.reply, e);
    }
    Ok(())
}

/// XLEN key. O(1).
fn xlen(ctx: &mut Ctx, a: &Args) -> Handled {
    let s = ctx.ks.read::<Stream>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.int(s.map_or(0, |s| s.length) as i64);
    Ok(())
}

/// XDEL key id [id ...]. O(log N + block) per id.
fn xdel(ctx: &mut Ctx, a: &Args) -> Handled {
    let key = a.get(1);
    let now = ctx.now;
    if ctx.ks.write::<Stream>(ctx.db, key, now)?.is_none() {
        ctx.reply.int(0);
        return Ok(());
    }
    let mut ids = Vec::with_capacity(a.len() - 2);
    for i in 2..a.len() {
        match strict_id(a.get(i)) {
            Some(id) => ids.push(id),
            None => return ctx.error(INVALID_ID),
        }
    }
    let Some(s) = ctx.ks.write::<Stream>(ctx.db, key, now)? else {
        return Ok(());
    };
    let mut deleted = 0;
    let mut first = false;
    for id in ids {
        if s.delete(id) {
            if id == s.first_id {
                first = true;
            }
            if id > s.max_deleted {
                s.max_deleted = id;
            }
            deleted += 1;
        }
    }
    if deleted > 0 {
        if s.length == 0 {
            s.first_id = StreamId::MIN;
        } else if first {
            s.first_id = s.edge(true).unwrap_or(StreamId::MAX);
        }
    }
    ctx.reply.int(deleted);
    if deleted > 0 {
        ctx.notify(STREAM, "xdel", key);
    }
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]. O(1).
fn xsetid(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(id) = strict_id(a.get(2)) else {
        return ctx.error(INVALID_ID);
    };
    let mut added: i64 = -1;
    let mut max_del = StreamId::MIN;
    let mut i = 3;
    while i < a.len() {
        let more = a.len() - 1 - i;
        if a.is(i, "entriesadded") && more > 0 {
            match a.int(i + 1) {
                None => return ctx.error(err::NOT_INT),
                Some(n) if n < 0 => return ctx.error("ERR entries_added must be positive"),
                Some(n) => added = n,
            }
            i += 2;
        } else if a.is(i, "maxdeletedid") && more > 0 {
            match strict_id(a.get(i + 1)) {
                None => return ctx.error(INVALID_ID),
                Some(m) if id < m => {
                    return ctx.error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
                }
                Some(m) => max_del = m,
            }
            i += 2;
        } else {
            return ctx.error(err::SYNTAX);
        }
    }
    let key = a.get(1);
    let Some(s) = ctx.ks.write::<Stream>(ctx.db, key, ctx.now)? else {
        return ctx.error(err::NO_SUCH_KEY);
    };
    if s.length > 0 {
        let max = s.edge(false).unwrap_or(StreamId::MIN);
        if id < max {
            return ctx.error(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            );
        }
        if added != -1 && s.length > added as u64 {
            return ctx.error(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            );
        }
    }
    s.last_id = id;
    if added != -1 {
        s.entries_added = added as u64;
    }
    if !max_del.is_zero() {
        s.max_deleted = max_del;
    }
    ctx.reply.ok();
    ctx.notify(STREAM, "xsetid", key);
    Ok(())
}

// ---- XREAD / XREADGROUP ----

/// XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...].
fn xread(ctx: &mut Ctx, a: &Args) -> Handled {
    read(ctx, a, false)
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key [key ...] id
/// [id ...].
fn xreadgroup(ctx: &mut Ctx, a: &Args) -> Handled {
    read(ctx, a, true)
}

/// Where a read starts on one stream.
#[derive(Clone, Copy)]
enum From {
    /// Entries after this id.
    After(StreamId),
    /// `>`: entries the group has not delivered.
    New,
}

/// XREAD and XREADGROUP, as Redis's xreadCommand (and, when serving a blocked call, its
/// serveClientsBlockedOnStreamKey).
fn read(ctx: &mut Ctx, a: &Args, group_form: bool) -> Handled {
    let mut timeout: Option<u64> = None;
    let mut count: i64 = 0;
    let mut streams = 0;
    let mut nstreams = 0;
    let mut noack = false;
    let mut group: Option<(&[u8], &[u8])> = None;
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - i - 1;
        if a.is(i, "block") && more > 0 {
            i += 1;
            match a.int(i) {
                None => return ctx.error("ERR timeout is not an integer or out of range"),
                Some(n) if n < 0 => return ctx.error("ERR timeout is negative"),
                Some(n) => timeout = Some(n as u64),
            }
        } else if a.is(i, "count") && more > 0 {
            i += 1;
            match a.int(i) {
                None => return ctx.error(err::NOT_INT),
                Some(n) => count = n.max(0),
            }
        } else if a.is(i, "streams") && more > 0 {
            streams = i + 1;
            let n = a.len() - streams;
            if !n.is_multiple_of(2) {
                return ctx.error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
            }
            nstreams = n / 2;
            break;
        } else if a.is(i, "group") && more >= 2 {
            if !group_form {
                return ctx.error(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                );
            }
            group = Some((a.get(i + 1), a.get(i + 2)));
            i += 2;
        } else if a.is(i, "noack") {
            if !group_form {
                return ctx.error(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                );
            }
            noack = true;
        } else {
            return ctx.error(err::SYNTAX);
        }
        i += 1;
    }
    if streams == 0 {
        return ctx.error(err::SYNTAX);
    }
    if group_form && group.is_none() {
        return ctx.error("ERR Missing GROUP option for XREADGROUP");
    }
    let serving = ctx.block.serving();
    let now = ctx.now;
    // Resolve each key's starting point, in Redis's order of checks.
    let mut froms = Vec::with_capacity(nstreams);
    let mut resolved: Vec<(usize, Vec<u8>)> = Vec::new();
    for k in 0..nstreams {
        let key = a.get(streams + k);
        let idarg = a.get(streams + nstreams + k);
        if !ctx.block.looks_at(key) {
            froms.push(None);
            continue;
        }
        let s = match ctx.ks.read::<Stream>(ctx.db, key, now) {
            Ok(s) => s,
            Err(_) if serving => {
                if group.is_some() {
                    return ctx.error("UNBLOCKED the stream key no longer exists");
                }
                ctx.block = Block::Waits { source_only: false };
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if let Some((g, _)) = group {
            if s.and_then(|s| s.group(g)).is_none() {
                if serving {
                    if s.is_none() {
                        return ctx.error("UNBLOCKED the stream key no longer exists");
                    }
                    return ctx.error(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    );
                }
                error_fmt(
                    ctx,
                    &[
                        b"NOGROUP No such key '",
                        c_str(key),
                        b"' or consumer group '",
                        c_str(g),
                        b"' in XREADGROUP with GROUP option",
                    ],
                );
                return Ok(());
            }
        }
        if idarg == b"$" {
            if group_form {
                return ctx.error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
            }
            let last = s.map_or(StreamId::MIN, |s| s.last_id);
            resolved.push((streams + nstreams + k, last.to_bytes()));
            froms.push(Some(From::After(last)));
            continue;
        }
        if idarg == b">" {
            if !group_form {
                return ctx.error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
            }
            froms.push(Some(From::New));
            continue;
        }
        match strict_id(idarg) {
            Some(id) => froms.push(Some(From::After(id))),
            None => return ctx.error(INVALID_ID),
        }
    }
    let count = if serving && count == 0 {
        1000
    } else {
        count as usize
    };
    // Serve what can be served now.
    let mut body = Vec::new();
    let mut served = 0;
    let mut new_consumers = Vec::new();
    for (k, from) in froms.iter().enumerate() {
        let Some(from) = *from else { continue };
        let key = a.get(streams + k);
        let Some(s) = ctx.ks.write::<Stream>(ctx.db, key, now)? else {
            continue;
        };
        let mut r = Reply::new(&mut body, ctx.reply.resp3());
        let wrote = match group {
            None => {
                let From::After(gt) = from else { continue };
                let ready = if serving {
                    s.last_id > gt
                } else {
                    s.length > 0 && s.edge(false).is_some_and(|m| m > gt)
                };
                if !ready {
                    continue;
                }
                if !r.resp3() {
                    r.array(2);
                }
                r.bulk(key);
                if let Some(start) = gt.incr() {
                    deliver(s, &mut r, start, count, None, now);
                } else {
                    r.array(0);
                }
                true
            }
            Some((g, consumer)) => {
                let mut groups = s.groups.take();
                let Some(grp) = groups.as_mut().and_then(|gs| gs.get_mut(g)) else {
                    s.groups = groups;
                    continue;
                };
                let (history, gt) = match from {
                    From::After(id) => (true, id),
                    From::New => {
                        let last = grp.last_id;
                        let ready = if serving {
                            s.last_id > last
                        } else {
                            s.length > 0 && s.edge(false).is_some_and(|m| m > last)
                        };
                        if !ready {
                            s.groups = groups;
                            continue;
                        }
                        (false, last)
                    }
                };
                if !r.resp3() {
                    r.array(2);
                }
                r.bulk(key);
                let (cname, created) = grp.consumer(consumer, now);
                if let Some(c) = grp.consumers.get_mut(&*cname) {
                    c.seen_time = now;
                }
                if created {
                    new_consumers.push(key);
                }
                let start = gt.incr();
                if history {
                    match start {
                        Some(start) => history_from_pel(s, grp, &cname, &mut r, start, count, now),
                        None => r.array(0),
                    }
                } else if let Some(start) = start {
                    let cg = Some((&mut *grp, cname.clone(), noack));
                    deliver(s, &mut r, start, count, cg, now);
                } else {
                    r.array(0);
                }
                s.groups = groups;
                true
            }
        };
        if wrote {
            served += 1;
        }
    }
    for key in new_consumers {
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    if served > 0 {
        if ctx.reply.resp3() {
            ctx.reply.map(served);
        } else {
            ctx.reply.array(served);
        }
        ctx.reply.raw(&body);
        return Ok(());
    }
    if timeout.is_some() {
        if !resolved.is_empty() {
            ctx.ks.block_args = Some(resolved);
        }
        blocking::nothing(ctx, true, false);
        return Ok(());
    }
    ctx.reply.null_array();
    Ok(())
}

/// Writes the entries from `start` on (at most `count`, 0: all) and, for a group read, records
/// them in the group: its last id and read counter, and (without NOACK) the pending entries of
/// the group and the consumer (Redis's streamReplyWithRange with a group).
fn deliver(
    s: &Stream,
    r: &mut Reply,
    start: StreamId,
    count: usize,
    mut group: Option<(&mut Group, Arc<[u8]>, bool)>,
    now: u64,
) {
    let limit = if count == 0 { usize::MAX } else { count };
    let mut found = Vec::new();
    s.range(start, StreamId::MAX, false, |e| {
        found.push(e);
        found.len() < limit
    });
    r.array(found.len());
    for e in &found {
        reply_entry(r, e);
        let Some((g, cname, noack)) = group.as_mut() else {
            continue;
        };
        let id = e.id;
        if id > g.last_id {
            if g.entries_read != -1 && !s.range_has_tombstones(Some(id), None) {
                g.entries_read = g.entries_read.wrapping_add(1);
            } else if s.entries_added > 0 {
                g.entries_read = s.estimate_distance(id).unwrap_or(-1);
            }
            g.last_id = id;
        }
        if *noack {
            continue;
        }
        let prev = g.pel.insert(
            id,
            Nack {
                consumer: cname.clone(),
                delivery_time: now,
                delivery_count: 1,
            },
        );
        if let Some(old) = prev {
            if let Some(c) = g.consumers.get_mut(&*old.consumer) {
                c.pel.remove(&id);
            }
        }
        if let Some(c) = g.consumers.get_mut(&**cname) {
            c.pel.insert(id);
        }
    }
}

/// XREADGROUP with an id: the consumer's pending entries from `start` on, each with its fields (or
/// a null when it was deleted meanwhile); each delivered again (Redis's
/// streamReplyWithRangeFromConsumerPEL).
fn history_from_pel(
    s: &Stream,
    g: &mut Group,
    cname: &[u8],
    r: &mut Reply,
    start: StreamId,
    count: usize,
    now: u64,
) {
    let limit = if count == 0 { usize::MAX } else { count };
    let ids: Vec<StreamId> = g
        .consumers
        .get(cname)
        .map(|c| c.pel.range(start..).take(limit).copied().collect())
        .unwrap_or_default();
    r.array(ids.len());
    for id in ids {
        match s.get(id) {
            Some(e) => {
                reply_entry(r, &e);
                if let Some(n) = g.pel.get_mut(&id) {
                    n.delivery_time = now;
                    n.delivery_count += 1;
                }
            }
            None => {
                r.array(2);
                reply_id(r, id);
                r.null_array();
            }
        }
    }
}

// ---- consumer groups ----

/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP. O(1) but DESTROY and DELCONSUMER,
/// O(pending entries).
fn xgroup(ctx: &mut Ctx, a: &Args) -> Handled {
    let sub = a.get(1).to_ascii_lowercase();
    let now = ctx.now;
    let mut mkstream = false;
    let mut entries_read: i64 = -1;
    let mut exists = false;
    if a.len() >= 4 {
        let create = sub == b"create";
        let setid = sub == b"setid";
        let mut i = 5;
        while i < a.len() {
            if create && a.is(i, "mkstream") {
                mkstream = true;
                i += 1;
            } else if (create || setid) && a.is(i, "entriesread") && i + 1 < a.len() {
                match a.int(i + 1) {
                    None => return ctx.error(err::NOT_INT),
                    Some(n) if n < 0 && n != -1 => {
                        return ctx.error("ERR value for ENTRIESREAD must be positive or -1")
                    }
                    Some(n) => entries_read = n,
                }
                i += 2;
            } else {
                return sub_syntax(ctx, a);
            }
        }
        exists = ctx.ks.write::<Stream>(ctx.db, a.get(2), now)?.is_some();
    }
    let (key, gname) = if a.len() >= 4 {
        (a.get(2), a.get(3))
    } else {
        (&b""[..], &b""[..])
    };
    if a.len() >= 4 && !mkstream {
        if !exists {
            return ctx.error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
        }
        let has_group = ctx
            .ks
            .write::<Stream>(ctx.db, key, now)?
            .is_some_and(|s| s.group(gname).is_some());
        if !has_group && matches!(&sub[..], b"setid" | b"createconsumer" | b"delconsumer") {
            error_fmt(
                ctx,
                &[
                    b"NOGROUP No such consumer group '",
                    c_str(gname),
                    b"' for key name '",
                    c_str(key),
                    b"'",
                ],
            );
            return Ok(());
        }
    }
    match &sub[..] {
        b"help" if a.len() == 2 => {
            ctx.reply.help(
                "XGROUP",
                &[
                    "CREATE <key> <groupname> <id|$> [option]",
                    "    Create a new consumer group. Options are:",
                    "    * MKSTREAM",
                    "      Create the empty stream if it does not exist.",
                    "    * ENTRIESREAD entries_read",
                    "      Set the group's entries_read counter (internal use).",
                    "CREATECONSUMER <key> <groupname> <consumer>",
                    "    Create a new consumer in the specified group.",
                    "DELCONSUMER <key> <groupname> <consumer>",
                    "    Remove the specified consumer.",
                    "DESTROY <key> <groupname>",
                    "    Remove the specified group.",
                    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
                    "    Set the current group ID and entries_read counter.",
                ],
            );
        }
        b"create" if (5..=8).contains(&a.len()) => {
            let id = if a.get(4) == b"$" {
                ctx.ks
                    .write::<Stream>(ctx.db, key, now)?
                    .map_or(StreamId::MIN, |s| s.last_id)
            } else {
                match strict_id(a.get(4)) {
                    Some(id) => id,
                    None => return ctx.error(INVALID_ID),
                }
            };
            if !exists {
                ctx.db().set(key, Value::Stream(Box::default()), 0);
            }
            let Some(s) = ctx.ks.write::<Stream>(ctx.db, key, now)? else {
                return Ok(());
            };
            let groups = s.groups.get_or_insert_with(Box::default);
            if groups.contains_key(gname) {
                return ctx.error("BUSYGROUP Consumer Group name already exists");
            }
            groups.insert(gname.into(), Group::new(id, entries_read));
            ctx.reply.ok();
            ctx.notify(STREAM, "xgroup-create", key);
        }
        b"setid" if a.len() == 5 || a.len() == 7 => {
            let Some(s) = ctx.ks.write::<Stream>(ctx.db, key, now)? else {
                return Ok(());
            };
            let id = if a.get(4) == b"$" {
                s.last_id
            } else {
                match parse_id_full(a.get(4), 0, false, false) {
                    Some((id, _)) => id,
                    None => return ctx.error(INVALID_ID),
                }
            };
            if let Some(g) = s.group_mut(gname) {
                g.last_id = id;
                g.entries_read = entries_read;
            }
            ctx.reply.ok();
            ctx.notify(STREAM, "xgroup-setid", key);
        }
        b"destroy" if a.len() == 4 => {
            let Some(s) = ctx.ks.write::<Stream>(ctx.db, key, now)? else {
                return Ok(());
            };
            let removed = s.groups.as_mut().and_then(|g| g.remove(gname)).is_some();
            if s.groups.as_ref().is_some_and(|g| g.is_empty()) {
                s.groups = None;
            }
            ctx.reply.int(removed as i64);
            if removed {
                ctx.notify(STREAM, "xgroup-destroy", key);
            }
        }
        b"createconsumer" if a.len() == 5 => {
            let Some(g) = ctx
                .ks
                .write::<Stream>(ctx.db, key, now)?
                .and_then(|s| s.group_mut(gname))
            else {
                return Ok(());
            };
            let (_, created) = g.consumer(a.get(4), now);
            ctx.reply.int(created as i64);
            if created {
                ctx.notify(STREAM, "xgroup-createconsumer", key);
            }
        }
        b"delconsumer" if a.len() == 5 => {
            let Some(g) = ctx
                .ks
                .write::<Stream>(ctx.db, key, now)?
                .and_then(|s| s.group_mut(gname))
            else {
                return Ok(());
            };
            match g.delete_consumer(a.get(4)) {
                Some(n) => {
                    ctx.reply.int(n as i64);
                    ctx.notify(STREAM, "xgroup-delconsumer", key);
                }
                None => ctx.reply.int(0),
            }
        }
        _ => return sub_syntax(ctx, a),
    }
    Ok(())
}

/// Redis's addReplySubcommandSyntaxError.
fn sub_syntax(ctx: &mut Ctx, a: &Args) -> Handled {
    let mut msg = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    msg.extend_from_slice(crate::resp::reply::c_str_max(a.get(1), 128));
    msg.extend_from_slice(b"'. Try ");
    msg.extend(c_str(a.get(0)).iter().map(u8::to_ascii_uppercase));
    msg.extend_from_slice(b" HELP.");
    ctx.reply.error_bytes(&msg);
    Ok(())
}

/// XACK key group id [id ...]. O(log P) per id.
fn xack(ctx: &mut Ctx, a: &Args) -> Handled {
    let (key, gname, now) = (a.get(1), a.get(2), ctx.now);
    let has = ctx
        .ks
        .read::<Stream>(ctx.db, key, now)?
        .is_some_and(|s| s.group(gname).is_some());
    if !has {
        ctx.reply.int(0);
        return Ok(());
    }
    let mut ids = Vec::with_capacity(a.len() - 3);
    for i in 3..a.len() {
        match strict_id(a.get(i)) {
            Some(id) => ids.push(id),
            None => return ctx.error(INVALID_ID),
        }
    }
    let Some(g) = ctx
        .ks
        .write::<Stream>(ctx.db, key, now)?
        .and_then(|s| s.group_mut(gname))
    else {
        return Ok(());
    };
    let n = ids.into_iter().filter(|&id| g.ack(id)).count();
    ctx.reply.int(n as i64);
    Ok(())
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]]. Summary: O(consumers);
/// extended: O(log P + M).
fn xpending(ctx: &mut Ctx, a: &Args) -> Handled {
    let justinfo = a.len() == 3;
    if a.len() != 3 && (a.len() < 6 || a.len() > 9) {
        return ctx.error(err::SYNTAX);
    }
    let (mut start, mut end) = (StreamId::MIN, StreamId::MAX);
    let mut count: i64 = 0;
    let mut minidle: i64 = 0;
    let mut consumer = None;
    if a.len() >= 6 {
        let mut at = 3;
        if a.is(3, "idle") {
            match a.int(4) {
                Some(n) => minidle = n,
                None => return ctx.error(err::NOT_INT),
            }
            if a.len() < 8 {
                return ctx.error(err::SYNTAX);
            }
            at += 2;
        }
        match a.int(at + 2) {
            Some(n) => count = n.max(0),
            None => return ctx.error(err::NOT_INT),
        }
        start = match range_bound(a.get(at), 0, true) {
            Ok(id) => id,
            Err(e) => return ctx.error(e),
        };
        end = match range_bound(a.get(at + 1), u64::MAX, false) {
            Ok(id) => id,
            Err(e) => return ctx.error(e),
        };
        if at + 3 < a.len() {
            consumer = Some(a.get(at + 3));
        }
    }
    let (key, gname, now) = (a.get(1), a.get(2), ctx.now);
    let s = ctx.ks.read::<Stream>(ctx.db, key, now)?;
    let Some(g) = s.and_then(|s| s.group(gname)) else {
        no_key_or_group(ctx, key, gname);
        return Ok(());
    };
    let r = &mut ctx.reply;
    if justinfo {
        r.array(4);
        r.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(&first), Some(&last)) => {
                reply_id(r, first);
                reply_id(r, last);
                let with: Vec<_> = g
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pel.is_empty())
                    .collect();
                r.array(with.len());
                for (name, c) in with {
                    r.array(2);
                    r.bulk(name);
                    r.bulk_i64(c.pel.len() as i64);
                }
            }
            _ => {
                r.null();
                r.null();
                r.null_array();
            }
        }
        return Ok(());
    }
    let mut out: Vec<(StreamId, &Nack)> = Vec::new();
    if start <= end {
        match consumer {
            Some(cn) => {
                let Some(c) = g.consumers.get(cn) else {
                    r.array(0);
                    return Ok(());
                };
                for id in c.pel.range(start..=end) {
                    if (out.len() as i64) >= count {
                        break;
                    }
                    let Some(n) = g.pel.get(id) else { continue };
                    if minidle != 0 && (now as i64).wrapping_sub(n.delivery_time as i64) < minidle {
                        continue;
                    }
                    out.push((*id, n));
                }
            }
            None => {
                for (id, n) in g.pel.range(start..=end) {
                    if (out.len() as i64) >= count {
                        break;
                    }
                    if minidle != 0 && (now as i64).wrapping_sub(n.delivery_time as i64) < minidle {
                        continue;
                    }
                    out.push((*id, n));
                }
            }
        }
    } else if let Some(cn) = consumer {
        if !g.consumers.contains_key(cn) {
            r.array(0);
            return Ok(());
        }
    }
    r.array(out.len());
    for (id, n) in out {
        r.array(4);
        reply_id(r, id);
        r.bulk(&n.consumer);
        r.int((now as i64).wrapping_sub(n.delivery_time as i64).max(0));
        r.int(n.delivery_count as i64);
    }
    Ok(())
}

/// Parses a 64-bit integer option of XCLAIM/XAUTOCLAIM with its own error text.
fn int_or(ctx: &mut Ctx, a: &Args, i: usize, msg: &str) -> Option<i64> {
    let v = a.int(i);
    if v.is_none() {
        ctx.reply.error(msg);
    }
    v
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms] [RETRYCOUNT n]
/// [FORCE] [JUSTID] [LASTID id]. O(log N) per id.
fn xclaim(ctx: &mut Ctx, a: &Args) -> Handled {
    let (key, gname, now) = (a.get(1), a.get(2), ctx.now);
    let has = ctx
        .ks
        .read::<Stream>(ctx.db, key, now)?
        .is_some_and(|s| s.group(gname).is_some());
    if !has {
        no_key_or_group(ctx, key, gname);
        return Ok(());
    }
    let Some(minidle) = int_or(ctx, a, 4, "ERR Invalid min-idle-time argument for XCLAIM") else {
        return Ok(());
    };
    let minidle = minidle.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < a.len() {
        match strict_id(a.get(j)) {
            Some(id) => ids.push((id, j)),
            None => break,
        }
        j += 1;
    }
    let (mut force, mut justid) = (false, false);
    let mut retry: i64 = -1;
    let mut delivery: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if a.is(j, "force") {
            force = true;
        } else if a.is(j, "justid") {
            justid = true;
        } else if a.is(j, "idle") && more > 0 {
            j += 1;
            let Some(v) = int_or(ctx, a, j, "ERR Invalid IDLE option argument for XCLAIM") else {
                return Ok(());
            };
            delivery = (now as i64).wrapping_sub(v);
        } else if a.is(j, "time") && more > 0 {
            j += 1;
            let Some(v) = int_or(ctx, a, j, "ERR Invalid TIME option argument for XCLAIM") else {
                return Ok(());
            };
            delivery = v;
        } else if a.is(j, "retrycount") && more > 0 {
            j += 1;
            let Some(v) = int_or(
                ctx,
                a,
                j,
                "ERR Invalid RETRYCOUNT option argument for XCLAIM",
            ) else {
                return Ok(());
            };
            retry = v;
        } else if a.is(j, "lastid") && more > 0 {
            j += 1;
            match strict_id(a.get(j)) {
                Some(id) => last_id = id,
                None => return ctx.error(INVALID_ID),
            }
        } else {
            error_fmt(
                ctx,
                &[b"ERR Unrecognized XCLAIM option '", c_str(a.get(j)), b"'"],
            );
            return Ok(());
        }
        j += 1;
    }
    let Some(s) = ctx.ks.write::<Stream>(ctx.db, key, now)? else {
        return Ok(());
    };
    let mut groups = s.groups.take();
    let Some(g) = groups.as_mut().and_then(|gs| gs.get_mut(gname)) else {
        s.groups = groups;
        return Ok(());
    };
    if last_id > g.last_id {
        g.last_id = last_id;
    }
    let delivery = if delivery != -1 {
        if delivery < 0 || delivery > now as i64 {
            now
        } else {
            delivery as u64
        }
    } else {
        now
    };
    let mut body = Vec::new();
    let mut r = Reply::new(&mut body, ctx.reply.resp3());
    let mut n = 0;
    let mut cname: Option<Arc<[u8]>> = None;
    let mut created = false;
    for (id, _) in ids {
        let exists = s.get(id);
        let Some(entry) = exists else {
            // Gone from the stream: forgotten by the group too.
            g.ack(id);
            continue;
        };
        let mut nack = g.pel.get(&id).cloned();
        let forced = nack.is_none() && force;
        if nack.is_none() && !force {
            continue;
        }
        if let Some(old) = &nack {
            if minidle != 0 && (now as i64).wrapping_sub(old.delivery_time as i64) < minidle {
                continue;
            }
        }
        let name = match &cname {
            Some(c) => c.clone(),
            None => {
                let (c, made) = g.consumer(a.get(3), now);
                if let Some(cc) = g.consumers.get_mut(&*c) {
                    cc.seen_time = now;
                }
                created |= made;
                cname = Some(c.clone());
                c
            }
        };
        let mut cur = nack.take().unwrap_or(Nack {
            consumer: name.clone(),
            delivery_time: now,
            delivery_count: 1,
        });
        if !forced && cur.consumer != name {
            if let Some(c) = g.consumers.get_mut(&*cur.consumer) {
                c.pel.remove(&id);
            }
        }
        cur.delivery_time = delivery;
        if retry >= 0 {
            cur.delivery_count = retry as u64;
        } else if !justid {
            cur.delivery_count += 1;
        }
        cur.consumer = name.clone();
        g.pel.insert(id, cur);
        if let Some(c) = g.consumers.get_mut(&*name) {
            c.pel.insert(id);
        }
        if justid {
            reply_id(&mut r, id);
        } else {
            reply_entry(&mut r, &entry);
        }
        n += 1;
    }
    s.groups = groups;
    if created {
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    ctx.reply.array(n);
    ctx.reply.raw(&body);
    Ok(())
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]. O(count).
fn xautoclaim(ctx: &mut Ctx, a: &Args) -> Handled {
    let (key, gname, now) = (a.get(1), a.get(2), ctx.now);
    let Some(minidle) = int_or(
        ctx,
        a,
        4,
        "ERR Invalid min-idle-time argument for XAUTOCLAIM",
    ) else {
        return Ok(());
    };
    let minidle = minidle.max(0);
    let start = match range_bound(a.get(5), 0, true) {
        Ok(id) => id,
        Err(e) => return ctx.error(e),
    };
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if a.is(j, "count") && more > 0 {
            let max = i64::MAX / 16;
            match a.int(j + 1) {
                Some(n) if (1..=max).contains(&n) => count = n,
                Some(_) => return ctx.error("ERR COUNT must be > 0"),
                None => return ctx.error("ERR COUNT must be > 0"),
            }
            j += 1;
        } else if a.is(j, "justid") {
            justid = true;
        } else {
            return ctx.error(err::SYNTAX);
        }
        j += 1;
    }
    let has = ctx
        .ks
        .read::<Stream>(ctx.db, key, now)?
        .is_some_and(|s| s.group(gname).is_some());
    if !has {
        no_key_or_group(ctx, key, gname);
        return Ok(());
    }
    // Redis allocates room for COUNT deleted ids up front; a count it cannot allocate fails.
    if count.saturating_mul(16) > 1 << 40 {
        return ctx
            .error("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
    }
    let Some(s) = ctx.ks.write::<Stream>(ctx.db, key, now)? else {
        return Ok(());
    };
    let mut groups = s.groups.take();
    let Some(g) = groups.as_mut().and_then(|gs| gs.get_mut(gname)) else {
        s.groups = groups;
        return Ok(());
    };
    let mut attempts = count.saturating_mul(10);
    let mut body = Vec::new();
    let mut r = Reply::new(&mut body, ctx.reply.resp3());
    let mut claimed = 0;
    let mut deleted = Vec::new();
    let mut cname: Option<Arc<[u8]>> = None;
    let mut created = false;
    let mut cursor = start;
    let mut next = None;
    loop {
        let item = g.pel.range(cursor..).next().map(|(id, n)| (*id, n.clone()));
        let Some((id, nack)) = item else {
            next = None;
            break;
        };
        if attempts == 0 || count == 0 {
            next = Some(id);
            break;
        }
        attempts -= 1;
        cursor = match id.incr() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        let at_end = id == StreamId::MAX;
        let Some(entry) = s.get(id) else {
            g.ack(id);
            deleted.push(id);
            count -= 1;
            if at_end {
                break;
            }
            continue;
        };
        if minidle != 0 && (now as i64).wrapping_sub(nack.delivery_time as i64) < minidle {
            if at_end {
                break;
            }
            continue;
        }
        let name = match &cname {
            Some(c) => c.clone(),
            None => {
                let (c, made) = g.consumer(a.get(3), now);
                if let Some(cc) = g.consumers.get_mut(&*c) {
                    cc.seen_time = now;
                }
                created |= made;
                cname = Some(c.clone());
                c
            }
        };
        if nack.consumer != name {
            if let Some(c) = g.consumers.get_mut(&*nack.consumer) {
                c.pel.remove(&id);
            }
        }
        let mut cur = nack;
        cur.delivery_time = now;
        if !justid {
            cur.delivery_count += 1;
        }
        cur.consumer = name.clone();
        g.pel.insert(id, cur);
        if let Some(c) = g.consumers.get_mut(&*name) {
            c.pel.insert(id);
        }
        if justid {
            reply_id(&mut r, id);
        } else {
            reply_entry(&mut r, &entry);
        }
        claimed += 1;
        count -= 1;
        if at_end {
            break;
        }
    }
    s.groups = groups;
    if created {
        ctx.notify(STREAM, "xgroup-createconsumer", key);
    }
    let r = &mut ctx.reply;
    r.array(3);
    reply_id(r, next.unwrap_or(StreamId::MIN));
    r.array(claimed);
    r.raw(&body);
    r.array(deleted.len());
    for id in deleted {
        reply_id(r, id);
    }
    Ok(())
}

// ---- XINFO ----

/// XINFO STREAM key [FULL [COUNT n]] | GROUPS key | CONSUMERS key group | HELP.
fn xinfo(ctx: &mut Ctx, a: &Args) -> Handled {
    if a.is(1, "help") {
        if a.len() != 2 {
            return sub_syntax(ctx, a);
        }
        ctx.reply.help(
            "XINFO",
            &[
                "CONSUMERS <key> <groupname>",
                "    Show consumers of <groupname>.",
                "GROUPS <key>",
                "    Show the stream consumer groups.",
                "STREAM <key> [FULL [COUNT <count>]",
                "    Show information about the stream.",
            ],
        );
        return Ok(());
    }
    if a.len() < 3 {
        return sub_syntax(ctx, a);
    }
    let (key, now) = (a.get(2), ctx.now);
    let Some(s) = ctx.ks.read::<Stream>(ctx.db, key, now)? else {
        return ctx.error(err::NO_SUCH_KEY);
    };
    let r = &mut ctx.reply;
    if a.is(1, "consumers") && a.len() == 4 {
        let Some(g) = s.group(a.get(3)) else {
            let mut msg = b"NOGROUP No such consumer group '".to_vec();
            msg.extend_from_slice(c_str(a.get(3)));
            msg.extend_from_slice(b"' for key name '");
            msg.extend_from_slice(c_str(key));
            msg.push(b'\'');
            r.error_bytes(&msg);
            return Ok(());
        };
        r.array(g.consumers.len());
        for (name, c) in &g.consumers {
            r.map(3);
            r.bulk(b"name");
            r.bulk(name);
            r.bulk(b"pending");
            r.int(c.pel.len() as i64);
            r.bulk(b"idle");
            r.int((now as i64).wrapping_sub(c.seen_time as i64).max(0));
        }
    } else if a.is(1, "groups") && a.len() == 3 {
        let Some(groups) = &s.groups else {
            r.array(0);
            return Ok(());
        };
        r.array(groups.len());
        for (name, g) in groups.iter() {
            r.map(6);
            r.bulk(b"name");
            r.bulk(name);
            r.bulk(b"consumers");
            r.int(g.consumers.len() as i64);
            r.bulk(b"pending");
            r.int(g.pel.len() as i64);
            r.bulk(b"last-delivered-id");
            reply_id(r, g.last_id);
            r.bulk(b"entries-read");
            reply_opt(r, (g.entries_read != -1).then_some(g.entries_read));
            r.bulk(b"lag");
            reply_opt(r, s.lag(g));
        }
    } else if a.is(1, "stream") {
        let opts = a.len() - 3;
        let mut full = false;
        let mut count: i64 = 10;
        if opts > 0 {
            if opts != 1 && opts != 3 {
                return sub_syntax(ctx, a);
            }
            if !a.is(3, "full") {
                return sub_syntax(ctx, a);
            }
            full = true;
            if opts == 3 {
                if !a.is(4, "count") {
                    return sub_syntax(ctx, a);
                }
                match a.int(5) {
                    Some(n) => count = if n < 0 { 10 } else { n },
                    None => return ctx.error(err::NOT_INT),
                }
            }
        }
        let r = &mut ctx.reply;
        r.map(if full { 9 } else { 10 });
        r.bulk(b"length");
        r.int(s.length as i64);
        r.bulk(b"radix-tree-keys");
        r.int(s.block_count() as i64);
        r.bulk(b"radix-tree-nodes");
        r.int(s.rax_nodes() as i64);
        r.bulk(b"last-generated-id");
        reply_id(r, s.last_id);
        r.bulk(b"max-deleted-entry-id");
        reply_id(r, s.max_deleted);
        r.bulk(b"entries-added");
        r.int(s.entries_added as i64);
        r.bulk(b"recorded-first-entry-id");
        reply_id(r, s.first_id);
        if !full {
            r.bulk(b"groups");
            r.int(s.group_count() as i64);
            for (label, rev) in [(&b"first-entry"[..], false), (b"last-entry", true)] {
                r.bulk(label);
                let mut e = None;
                s.range(StreamId::MIN, StreamId::MAX, rev, |x| {
                    e = Some(x);
                    false
                });
                match e {
                    Some(e) => reply_entry(r, &e),
                    None => r.null(),
                }
            }
            return Ok(());
        }
        let limit = if count == 0 {
            usize::MAX
        } else {
            count as usize
        };
        r.bulk(b"entries");
        let mut found = Vec::new();
        s.range(StreamId::MIN, StreamId::MAX, false, |e| {
            found.push(e);
            found.len() < limit
        });
        r.array(found.len());
        for e in &found {
            reply_entry(r, e);
        }
        r.bulk(b"groups");
        let Some(groups) = &s.groups else {
            r.array(0);
            return Ok(());
        };
        r.array(groups.len());
        for (name, g) in groups.iter() {
            r.map(7);
            r.bulk(b"name");
            r.bulk(name);
            r.bulk(b"last-delivered-id");
            reply_id(r, g.last_id);
            r.bulk(b"entries-read");
            reply_opt(r, (g.entries_read != -1).then_some(g.entries_read));
            r.bulk(b"lag");
            reply_opt(r, s.lag(g));
            r.bulk(b"pel-count");
            r.int(g.pel.len() as i64);
            r.bulk(b"pending");
            let pel: Vec<_> = g.pel.iter().take(limit).collect();
            r.array(pel.len());
            for (id, n) in pel {
                r.array(4);
                reply_id(r, *id);
                r.bulk(&n.consumer);
                r.int(n.delivery_time as i64);
                r.int(n.delivery_count as i64);
            }
            r.bulk(b"consumers");
            r.array(g.consumers.len());
            for (cname, c) in &g.consumers {
                r.map(4);
                r.bulk(b"name");
                r.bulk(cname);
                r.bulk(b"seen-time");
                r.int(c.seen_time as i64);
                r.bulk(b"pel-count");
                r.int(c.pel.len() as i64);
                r.bulk(b"pending");
                let ids: Vec<_> = c.pel.iter().take(limit).collect();
                r.array(ids.len());
                for id in ids {
                    let n = g.pel.get(id);
                    r.array(3);
                    reply_id(r, *id);
                    r.int(n.map_or(0, |n| n.delivery_time as i64));
                    r.int(n.map_or(0, |n| n.delivery_count as i64));
                }
            }
        }
    } else {
        return sub_syntax(ctx, a);
    }
    Ok(())
}

/// An integer, or a null.
fn reply_opt(r: &mut Reply, v: Option<i64>) {
    match v {
        Some(n) => r.int(n),
        None => r.null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis_parses_them() {
        assert_eq!(
            parse_id_full(b"1-2", 0, true, false),
            Some((StreamId::new(1, 2), true))
        );
        assert_eq!(
            parse_id_full(b"5", 7, true, false),
            Some((StreamId::new(5, 7), true))
        );
        assert_eq!(
            parse_id_full(b"5-*", 0, true, true),
            Some((StreamId::new(5, 0), false))
        );
        assert_eq!(parse_id_full(b"5-*", 0, true, false), None);
        assert_eq!(parse_id_full(b"-", 0, true, false), None);
        assert_eq!(
            parse_id_full(b"+", 0, false, false),
            Some((StreamId::MAX, true))
        );
        assert_eq!(
            parse_id_full(b"18446744073709551615-18446744073709551615", 0, true, false),
            Some((StreamId::MAX, true))
        );
        assert_eq!(parse_id_full(b"18446744073709551616", 0, true, false), None);
        assert_eq!(parse_id_full(b"-1", 0, true, false), None);
        assert_eq!(parse_id_full(b"1-", 0, true, false), None);
        assert_eq!(
            parse_id_full(b"+5", 0, true, false),
            Some((StreamId::new(5, 0), true))
        );
        assert_eq!(
            parse_id_full(b"007", 0, true, false),
            Some((StreamId::new(7, 0), true))
        );
        assert_eq!(parse_id_full(b"abc", 0, true, false), None);
    }
}
