//! The generic key commands (keyspace family): existence, deletion, renaming, expiry, iteration, and
//! the whole-database commands that run on every shard (DBSIZE, FLUSHDB, FLUSHALL, SWAPDB).

use super::{cmd, flag::*, int_arg, Args, Combine, Command, Ctx, CursorSteps, Exec, KeySpec};
use crate::num::parse_i64;
use crate::resp::err;
use crate::store::notify::GENERIC;
use crate::store::{Entry, Value};

/// The keyspace commands.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::{Broadcast, Cursor, Fanout, Keyed};
    use KeySpec::{None as K0, Range as K};
    vec![
        cmd("del", -2, WRITE, K(1, -1, 1), Fanout(del, Combine::SumInts)),
        cmd("unlink", -2, WRITE | FAST, K(1, -1, 1), Fanout(del, Combine::SumInts)),
        cmd("exists", -2, READONLY | FAST, K(1, -1, 1), Fanout(exists, Combine::SumInts)),
        cmd("touch", -2, READONLY | FAST, K(1, -1, 1), Fanout(touch, Combine::SumInts)),
        cmd("type", 2, READONLY | FAST, K(1, 1, 1), Keyed(type_)),
        cmd("rename", 3, WRITE, K(1, 2, 1), Keyed(rename)),
        cmd("renamenx", 3, WRITE | FAST, K(1, 2, 1), Keyed(renamenx)),
        cmd("copy", -3, WRITE | DENYOOM, K(1, 2, 1), Keyed(copy)).with_key_db(copy_key_db),
        cmd("move", 3, WRITE | FAST, K(1, 1, 1), Keyed(move_)),
        cmd("randomkey", 1, READONLY, K0, Broadcast(randomkey, Combine::RandomNonNull)),
        cmd("keys", 2, READONLY, K0, Broadcast(keys, Combine::ConcatArrays)),
        cmd("scan", -2, READONLY, K0, Cursor(scan, SCAN_STEPS)),
        cmd("expire", -3, WRITE | FAST, K(1, 1, 1), Keyed(expire)),
        cmd("pexpire", -3, WRITE | FAST, K(1, 1, 1), Keyed(pexpire)),
        cmd("expireat", -3, WRITE | FAST, K(1, 1, 1), Keyed(expireat)),
        cmd("pexpireat", -3, WRITE | FAST, K(1, 1, 1), Keyed(pexpireat)),
        cmd("ttl", 2, READONLY | FAST, K(1, 1, 1), Keyed(ttl)),
        cmd("pttl", 2, READONLY | FAST, K(1, 1, 1), Keyed(pttl)),
        cmd("expiretime", 2, READONLY | FAST, K(1, 1, 1), Keyed(expiretime)),
        cmd("pexpiretime", 2, READONLY | FAST, K(1, 1, 1), Keyed(pexpiretime)),
        cmd("persist", 2, WRITE | FAST, K(1, 1, 1), Keyed(persist)),
        cmd("object", -2, 0, KeySpec::Custom(object_keys), Keyed(object)).with_subs(OBJECT_SUBCOMMANDS),
        cmd("dbsize", 1, READONLY | FAST, K0, Broadcast(dbsize, Combine::SumInts)),
        cmd("flushdb", -1, WRITE, K0, Broadcast(flushdb, Combine::AllOk)),
        cmd("flushall", -1, WRITE, K0, Broadcast(flushall, Combine::AllOk)),
        cmd("swapdb", 3, WRITE | FAST, K0, Broadcast(swapdb, Combine::AllOk)),
    ]
}

/// DEL/UNLINK key [key ...]: how many existed. O(N).
fn del(ctx: &mut Ctx, a: &Args) {
    let now = ctx.now;
    let mut n = 0;
    for k in a.iter_from(1) {
        if ctx.db().remove(k, now).is_some() {
            ctx.notify(GENERIC, "del", k);
            n += 1;
        }
    }
    ctx.reply.int(n);
}

/// EXISTS key [key ...]: how many exist (repeats counted); each key is a read lookup that leaves
/// its access time as it is (Redis's LOOKUP_NOTOUCH). O(N).
fn exists(ctx: &mut Ctx, a: &Args) {
    let (db, now) = (ctx.db, ctx.now);
    let n = a
        .iter_from(1)
        .filter(|k| ctx.ks.read_untouched(db, k, now).is_some())
        .count();
    ctx.reply.int(n as i64);
}

/// TOUCH key [key ...]: how many exist; each key is a read lookup that counts as an access. O(N).
fn touch(ctx: &mut Ctx, a: &Args) {
    let (db, now) = (ctx.db, ctx.now);
    let n = a
        .iter_from(1)
        .filter(|k| ctx.ks.read_any(db, k, now).is_some())
        .count();
    ctx.reply.int(n as i64);
}

/// TYPE key (a read lookup). O(1).
fn type_(ctx: &mut Ctx, a: &Args) {
    let t = ctx
        .ks
        .read_untouched(ctx.db, a.get(1), ctx.now)
        .map_or("none", |e| e.value.type_name());
    ctx.reply.simple(t);
}

/// Moves `src` to `dst` keeping its TTL; `nx` refuses an existing destination. Replies.
fn rename_generic(ctx: &mut Ctx, a: &Args, nx: bool) {
    let (src, dst) = (a.get(1), a.get(2));
    let now = ctx.now;
    let db = ctx.db();
    if db.get(src, now).is_none() {
        return ctx.reply.error(err::NO_SUCH_KEY);
    }
    if src == dst {
        return if nx { ctx.reply.int(0) } else { ctx.reply.ok() };
    }
    if nx && db.get(dst, now).is_some() {
        return ctx.reply.int(0);
    }
    if let Some(e) = db.remove(src, now) {
        db.remove(dst, now);
        let mut moved = e;
        moved.key = dst.into();
        db.put(moved);
        ctx.notify(GENERIC, "rename_from", src);
        ctx.notify(GENERIC, "rename_to", dst);
    }
    if nx {
        ctx.reply.int(1)
    } else {
        ctx.reply.ok()
    }
}

/// RENAME key newkey. O(1).
fn rename(ctx: &mut Ctx, a: &Args) {
    rename_generic(ctx, a, false)
}

/// RENAMENX key newkey. O(1).
fn renamenx(ctx: &mut Ctx, a: &Args) {
    rename_generic(ctx, a, true)
}

/// For COPY src dst DB n: the database of the destination key (argument 2), when given.
fn copy_key_db(args: &Args, index: usize) -> Option<usize> {
    if index != 2 {
        return None;
    }
    let mut i = 3;
    while i < args.len() {
        if args.is(i, "db") && i + 1 < args.len() {
            return args.int(i + 1).filter(|&n| n >= 0).map(|n| n as usize);
        }
        i += 1;
    }
    None
}

/// COPY source destination [DB destination-db] [REPLACE]. O(N) in the value's size.
fn copy(ctx: &mut Ctx, a: &Args) {
    let mut target = ctx.db;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if a.is(i, "replace") {
            replace = true;
        } else if a.is(i, "db") && i + 1 < a.len() {
            let Some(n) = int_arg(&mut ctx.reply, a, i + 1) else {
                return;
            };
            if n < 0 || n as usize >= ctx.ks.dbs.len() {
                return ctx.reply.error(err::DB_INDEX);
            }
            target = n as usize;
            i += 1;
        } else {
            return ctx.reply.error(err::SYNTAX);
        }
        i += 1;
    }
    let (src, dst) = (a.get(1), a.get(2));
    if src == dst && target == ctx.db {
        return ctx
            .reply
            .error("ERR source and destination objects are the same");
    }
    let now = ctx.now;
    // The source is a read lookup (counted), the destination a write lookup, as in Redis.
    let (db, stats) = ctx.ks.reader(ctx.db);
    let e = db.peek(src, now).cloned();
    stats.lookup(e.is_some());
    let Some(e) = e else {
        return ctx.reply.int(0);
    };
    let tdb = &mut ctx.ks.dbs[target];
    if tdb.get(dst, now).is_some() {
        if !replace {
            return ctx.reply.int(0);
        }
        tdb.remove(dst, now);
    }
    let at = e.expire_at();
    let mut copied = Entry::new(dst.into(), e.value, at);
    copied.set_access(tdb.fresh_access(now));
    tdb.put(copied);
    ctx.ks.note(target, GENERIC, "copy_to", dst);
    ctx.reply.int(1);
}

/// MOVE key db. O(1).
fn move_(ctx: &mut Ctx, a: &Args) {
    let Some(n) = a.int(2) else {
        return ctx.reply.error(err::NOT_INT);
    };
    if n < 0 || n as usize >= ctx.ks.dbs.len() {
        return ctx.reply.error(err::DB_INDEX);
    }
    let target = n as usize;
    if target == ctx.db {
        return ctx
            .reply
            .error("ERR source and destination objects are the same");
    }
    let now = ctx.now;
    let key = a.get(1);
    if ctx.db().get(key, now).is_none() || ctx.ks.dbs[target].get(key, now).is_some() {
        return ctx.reply.int(0);
    }
    if let Some(e) = ctx.db().remove(key, now) {
        ctx.ks.dbs[target].put(e);
        ctx.ks.watches.touch(target, key);
        ctx.notify(GENERIC, "move_from", key);
        ctx.ks.note(target, GENERIC, "move_to", key);
    }
    ctx.reply.int(1);
}

/// RANDOMKEY on one shard: a random live key or null. O(1) expected.
fn randomkey(ctx: &mut Ctx, _: &Args) {
    let now = ctx.now;
    for _ in 0..16 {
        let r = ctx.ks.random();
        let db = &ctx.ks.dbs[ctx.db];
        match db.table.random_entry(r) {
            None => break,
            Some(e) if !e.has_ttl() || e.expire_at() > now => {
                let k = e.key.clone();
                return ctx.reply.bulk(&k);
            }
            Some(_) => continue,
        }
    }
    ctx.reply.null();
}

/// KEYS pattern on one shard. O(N).
fn keys(ctx: &mut Ctx, a: &Args) {
    let now = ctx.now;
    let pat = a.get(1);
    let all = pat == b"*";
    let db = &ctx.ks.dbs[ctx.db];
    let found: Vec<&[u8]> = db
        .table
        .iter()
        .filter(|e| {
            (!e.has_ttl() || e.expire_at() > now)
                && (all || crate::glob::glob_match(pat, &e.key, false))
        })
        .map(|e| &*e.key)
        .collect();
    ctx.reply.array(found.len());
    for k in found {
        ctx.reply.bulk(k);
    }
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] on the shard the cursor names.
/// The global cursor is `local * workers + worker`. O(COUNT) per call.
fn scan(ctx: &mut Ctx, a: &Args) {
    let Some(o) = super::parse_scan(&mut ctx.reply, a, 1, true) else {
        return;
    };
    let (cursor, count, typ) = (o.cursor, o.count as i64, o.typ.as_deref());
    let workers = ctx.workers.max(1) as u64;
    let mut local = cursor / workers;
    let now = ctx.now;
    let (db, stats) = ctx.ks.reader(ctx.db);
    let mut found: Vec<crate::store::Key> = Vec::new();
    let mut steps = 0i64;
    loop {
        local = db.table.scan_step(local, |e| {
            if !o.matches(&e.key) {
                return;
            }
            let live = !e.has_ttl() || e.expire_at() > now;
            // As in Redis, a TYPE filter looks up each key that matched the pattern: a read lookup.
            if let Some(t) = typ {
                stats.lookup(live);
                if t != e.value.type_name().as_bytes() {
                    return;
                }
            }
            if live {
                found.push(e.key.clone());
            }
        });
        steps += 1;
        if local == 0 || found.len() as i64 >= count || steps >= count.saturating_mul(10) {
            break;
        }
    }
    let next = if local != 0 {
        local * workers + ctx.worker as u64
    } else if (ctx.worker as u64) + 1 < workers {
        ctx.worker as u64 + 1
    } else {
        0
    };
    ctx.reply.array(2);
    ctx.reply.bulk(next.to_string().as_bytes());
    ctx.reply.array(found.len());
    for k in found {
        ctx.reply.bulk(&k);
    }
}

/// SCAN's cursor is `local * workers + worker`: the shard is the cursor modulo the workers, and a
/// cursor below `workers` is the start of that worker's shard.
const SCAN_STEPS: CursorSteps = CursorSteps {
    shard: scan_shard,
    more: scan_continue,
};

fn scan_shard(a: &Args, workers: usize) -> Option<usize> {
    super::parse_cursor(a.get(1)).map(|c| (c % workers.max(1) as u64) as usize)
}

/// Whether one SCAN call goes on into the next shard: its page ended a shard and fewer than COUNT
/// keys were gathered, so a small keyspace comes back whole in one call with cursor 0, as in Redis.
fn scan_continue(a: &Args, gathered: usize, next: u64, workers: usize) -> Option<(u64, usize)> {
    let mut count = 10usize;
    let mut i = 2;
    while i + 1 < a.len() {
        if a.is(i, "count") {
            count = usize::try_from(a.int(i + 1)?).ok()?;
        }
        i += 2;
    }
    (next != 0 && next < workers as u64 && gathered < count).then_some((next, next as usize))
}

/// EXPIRE-family core: `at_ms` is the new deadline; `cmd` names the command in errors. O(1).
/// As Redis's `expireGenericCommand`: the options are checked before the time argument.
fn expire_generic(ctx: &mut Ctx, a: &Args, unit: i64, absolute: bool, name: &str) {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in a.iter_from(3) {
        match opt.to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => {
                let mut msg = b"ERR Unsupported option ".to_vec();
                msg.extend_from_slice(crate::resp::reply::c_str(opt));
                return ctx.reply.error_bytes(&msg);
            }
        }
    }
    if nx && (xx || gt || lt) {
        return ctx
            .reply
            .error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return ctx
            .reply
            .error("ERR GT and LT options at the same time are not compatible");
    }
    let Some(v) = int_arg(&mut ctx.reply, a, 2) else {
        return;
    };
    let now = ctx.now as i64;
    let at = v.checked_mul(unit).and_then(|ms| {
        if absolute {
            Some(ms)
        } else {
            ms.checked_add(now)
        }
    });
    let Some(at) = at else {
        return ctx
            .reply
            .error(&format!("ERR invalid expire time in '{name}' command"));
    };
    let key = a.get(1);
    let nowu = ctx.now;
    let db = ctx.db();
    let Some(e) = db.get(key, nowu) else {
        return ctx.reply.int(0);
    };
    let current = e.expire_at();
    let ok = if nx {
        current == 0
    } else if xx && current == 0 {
        false
    } else if gt {
        current != 0 && at > current as i64
    } else if lt {
        current == 0 || at < current as i64
    } else {
        true
    };
    if !ok {
        return ctx.reply.int(0);
    }
    if at <= now {
        db.remove(key, nowu);
        ctx.notify(GENERIC, "del", key);
    } else {
        db.set_expire(key, at as u64, nowu);
        ctx.notify(GENERIC, "expire", key);
    }
    ctx.reply.int(1);
}

/// EXPIRE key seconds [NX|XX|GT|LT]. O(1).
fn expire(ctx: &mut Ctx, a: &Args) {
    expire_generic(ctx, a, 1000, false, "expire")
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT]. O(1).
fn pexpire(ctx: &mut Ctx, a: &Args) {
    expire_generic(ctx, a, 1, false, "pexpire")
}

/// EXPIREAT key unix-seconds [NX|XX|GT|LT]. O(1).
fn expireat(ctx: &mut Ctx, a: &Args) {
    expire_generic(ctx, a, 1000, true, "expireat")
}

/// PEXPIREAT key unix-ms [NX|XX|GT|LT]. O(1).
fn pexpireat(ctx: &mut Ctx, a: &Args) {
    expire_generic(ctx, a, 1, true, "pexpireat")
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: the deadline of a key (a read lookup), in seconds or `ms`,
/// from now or `absolute`; -2 when the key is missing, -1 when it has no TTL. O(1).
fn ttl_generic(ctx: &mut Ctx, a: &Args, ms: bool, absolute: bool) {
    match ctx
        .ks
        .read_untouched(ctx.db, a.get(1), ctx.now)
        .map(|e| e.expire_at())
    {
        None => ctx.reply.int(-2),
        Some(0) => ctx.reply.int(-1),
        Some(at) => {
            // Redis rounds seconds to the nearest: (ms + 500) / 1000, for EXPIRETIME too.
            let v: i128 = if absolute {
                at as i128
            } else {
                at.saturating_sub(ctx.now) as i128
            };
            let v = if ms { v } else { (v + 500) / 1000 };
            ctx.reply.int(v as i64)
        }
    }
}

/// TTL key. O(1).
fn ttl(ctx: &mut Ctx, a: &Args) {
    ttl_generic(ctx, a, false, false)
}

/// PTTL key. O(1).
fn pttl(ctx: &mut Ctx, a: &Args) {
    ttl_generic(ctx, a, true, false)
}

/// EXPIRETIME key. O(1).
fn expiretime(ctx: &mut Ctx, a: &Args) {
    ttl_generic(ctx, a, false, true)
}

/// PEXPIRETIME key. O(1).
fn pexpiretime(ctx: &mut Ctx, a: &Args) {
    ttl_generic(ctx, a, true, true)
}

/// PERSIST key (a write lookup). O(1).
fn persist(ctx: &mut Ctx, a: &Args) {
    let now = ctx.now;
    let db = ctx.db();
    match db.get(a.get(1), now).map(|e| e.expire_at()) {
        Some(at) if at != 0 => {
            db.set_expire(a.get(1), 0, now);
            ctx.notify(GENERIC, "persist", a.get(1));
            ctx.reply.int(1)
        }
        _ => ctx.reply.int(0),
    }
}

/// OBJECT's key is argument 2 (after the subcommand), except for HELP.
/// The sub-commands of OBJECT and their arities (see `server::CLIENT_SUBCOMMANDS`).
pub const OBJECT_SUBCOMMANDS: &[super::Sub] = &[
    ("encoding", 3),
    ("refcount", 3),
    ("idletime", 3),
    ("freq", 3),
    ("help", 2),
];

fn object_keys(args: &Args, out: &mut Vec<usize>) {
    if args.len() > 2 {
        out.push(2);
    }
}

/// OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP key. O(1).
fn object(ctx: &mut Ctx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    if sub == b"help" {
        if a.len() != 2 {
            return ctx
                .reply
                .error("ERR wrong number of arguments for 'object|help' command");
        }
        let lines = [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help.",
        ];
        ctx.reply.array(lines.len());
        for l in lines {
            ctx.reply.simple(l);
        }
        return;
    }
    if !matches!(
        sub.as_slice(),
        b"encoding" | b"refcount" | b"idletime" | b"freq"
    ) {
        return super::ctx::unknown_subcommand(&mut ctx.reply, a);
    }
    if a.len() != 3 {
        let name = String::from_utf8_lossy(&sub).into_owned();
        return ctx.reply.error(&format!(
            "ERR wrong number of arguments for 'object|{name}' command"
        ));
    }
    let (lfu, shares, now) = (ctx.ks.lfu_policy, ctx.ks.shared_integers, ctx.now);
    let access = ctx.ks.dbs[ctx.db].access;
    // OBJECT looks its key up without touching it (Redis's LOOKUP_NOTOUCH).
    let Some(e) = ctx.ks.read_untouched(ctx.db, a.get(2), now) else {
        return ctx.reply.null();
    };
    // Small integers are one shared object in Redis unless maxmemory evicts by LRU or LFU: it
    // has no counter of its own.
    let shared = shares
        && matches!(&e.value, Value::Str(crate::store::StrValue::Int(n)) if (0..10000).contains(n));
    match sub.as_slice() {
        b"encoding" => {
            let enc = e.value.encoding();
            ctx.reply.bulk(enc.as_bytes())
        }
        b"refcount" => ctx.reply.int(if shared { i32::MAX as i64 } else { 1 }),
        b"idletime" if lfu => ctx.reply.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        b"idletime" => {
            let idle = if e.tracks_access() {
                crate::store::access::idle_ms(e.access(), now) / 1000
            } else {
                0
            };
            ctx.reply.int(idle as i64)
        }
        b"freq" if lfu => {
            let freq = if shared {
                0
            } else if e.tracks_access() {
                access.counter(e.access(), now)
            } else {
                crate::store::access::LFU_INIT
            };
            ctx.reply.int(freq as i64)
        }
        _ => ctx.reply.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
    }
}

/// DBSIZE on one shard. O(1).
fn dbsize(ctx: &mut Ctx, _: &Args) {
    let n = ctx.db().len();
    ctx.reply.int(n as i64);
}

fn flush_mode_ok(a: &Args) -> bool {
    a.len() == 1 || (a.len() == 2 && (a.is(1, "async") || a.is(1, "sync")))
}

/// FLUSHDB [ASYNC|SYNC] on one shard. O(N).
fn flushdb(ctx: &mut Ctx, a: &Args) {
    if !flush_mode_ok(a) {
        return ctx.reply.error(err::SYNTAX);
    }
    ctx.ks.touch_live_watched(ctx.db, ctx.now);
    ctx.db().clear();
    // Clients blocked in XREADGROUP on a flushed key are answered (Redis 7.0 signals deleted
    // stream keys); the others wait on.
    ctx.ks.blocked.signal_db(ctx.db);
    // Client-side caching forgets every key, once for the whole command (worker 0's part).
    if ctx.worker == 0 {
        ctx.ks.flushed_all();
    }
    ctx.reply.ok();
}

/// FLUSHALL [ASYNC|SYNC] on one shard. O(N).
fn flushall(ctx: &mut Ctx, a: &Args) {
    if !flush_mode_ok(a) {
        return ctx.reply.error(err::SYNTAX);
    }
    for db in 0..ctx.ks.dbs.len() {
        ctx.ks.touch_live_watched(db, ctx.now);
        ctx.ks.dbs[db].clear();
        ctx.ks.blocked.signal_db(db);
    }
    if ctx.worker == 0 {
        ctx.ks.flushed_all();
    }
    ctx.reply.ok();
}

/// SWAPDB index1 index2 on one shard. O(1).
fn swapdb(ctx: &mut Ctx, a: &Args) {
    let Some(x) = parse_i64(a.get(1)) else {
        return ctx.reply.error("ERR invalid first DB index");
    };
    let Some(y) = parse_i64(a.get(2)) else {
        return ctx.reply.error("ERR invalid second DB index");
    };
    let n = ctx.ks.dbs.len() as i64;
    if x < 0 || x >= n || y < 0 || y >= n {
        return ctx.reply.error(err::DB_INDEX);
    }
    // A watched key of either database changes when either side held it (Redis 7.0 touches the
    // keys that exist in the emptied or the replacing database).
    let (x, y) = (x as usize, y as usize);
    if !ctx.ks.watches.is_empty() {
        let now = ctx.now;
        let (dx, dy) = (&ctx.ks.dbs[x], &ctx.ks.dbs[y]);
        let live = |k: &[u8]| dx.peek(k, now).is_some() || dy.peek(k, now).is_some();
        let watches = &mut ctx.ks.watches;
        watches.touch_where(x, live);
        watches.touch_where(y, live);
    }
    ctx.ks.dbs.swap(x, y);
    // Clients blocked on a key of either database are served if it holds data now.
    ctx.ks.blocked.signal_db(x);
    ctx.ks.blocked.signal_db(y);
    ctx.reply.ok();
}
