//! DUMP and RESTORE: a value as Redis 7.0's serialized-value payload (RDB type and object, RDB
//! version, CRC64, see [`crate::rdb::value`]), so that values move between Redis and Rustis in
//! either direction.

use super::{cmd, flag::*, Args, Command, Ctx, Exec, KeySpec};
use crate::rdb::value::{read_value, write_value, ReadError, WriteOptions};
use crate::rdb::{seal, unseal, Reader};
use crate::resp::err;
use crate::store::notify::GENERIC;
use crate::store::Entry;

/// The DUMP/RESTORE commands, with Redis 7.0's arity, flags and key positions.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use KeySpec::Range as K;
    vec![
        cmd("dump", 2, READONLY, K(1, 1, 1), Exec::Keyed(dump)),
        cmd("restore", -4, WRITE | DENYOOM, K(1, 1, 1), Exec::Keyed(restore)),
    ]
}

/// How this server writes values: Redis's defaults, with the list node size from CONFIG.
fn write_options(ctx: &Ctx) -> WriteOptions {
    WriteOptions {
        list_fill: ctx.shared.params.get_i64("list-max-listpack-size"),
        ..WriteOptions::default()
    }
}

/// DUMP key: the serialized value, or nil. A read lookup. O(N) in the value's size.
fn dump(ctx: &mut Ctx, a: &Args) {
    let options = write_options(ctx);
    let Some(e) = ctx.ks.read_any(ctx.db, a.get(1), ctx.now) else {
        return ctx.reply.null();
    };
    let mut payload = Vec::new();
    write_value(&mut payload, &e.value, &options);
    seal(&mut payload);
    ctx.reply.bulk(&payload);
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency].
/// Checks in Redis's order: options, an existing key (BUSYKEY), the TTL, the payload's trailer,
/// then the value. A TTL already in the past stores nothing (and deletes a replaced key). The
/// IDLETIME hint sets the key's LRU clock under an LRU policy, FREQ its LFU counter under an LFU
/// one (the other is ignored, as in Redis). O(N) in the value's size.
fn restore(ctx: &mut Ctx, a: &Args) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (None, None);
    let mut j = 4;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "replace") {
            replace = true;
        } else if a.is(j, "absttl") {
            absttl = true;
        } else if a.is(j, "idletime") && more && freq.is_none() {
            let Some(v) = a.int(j + 1) else {
                return ctx.reply.error(err::NOT_INT);
            };
            if v < 0 {
                return ctx.reply.error("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(v);
            j += 1;
        } else if a.is(j, "freq") && more && idle.is_none() {
            let Some(v) = a.int(j + 1) else {
                return ctx.reply.error(err::NOT_INT);
            };
            if !(0..=255).contains(&v) {
                return ctx
                    .reply
                    .error("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(v);
            j += 1;
        } else {
            return ctx.reply.error(err::SYNTAX);
        }
        j += 1;
    }
    let (key, now) = (a.get(1), ctx.now);
    if !replace && ctx.db().get(key, now).is_some() {
        return ctx.reply.error("BUSYKEY Target key name already exists.");
    }
    let Some(ttl) = a.int(2) else {
        return ctx.reply.error(err::NOT_INT);
    };
    if ttl < 0 {
        return ctx.reply.error("ERR Invalid TTL value, must be >= 0");
    }
    let Some((body, _version)) = unseal(a.get(3)) else {
        return ctx
            .reply
            .error("ERR DUMP payload version or checksum are wrong");
    };
    let limits = ctx.ks.limits;
    let value = match body.split_first() {
        Some((&t, rest)) => read_value(t, &mut Reader::new(rest), &limits),
        None => Err(ReadError::Bad),
    };
    let Ok(value) = value else {
        return ctx.reply.error("ERR Bad data format");
    };
    let deleted = replace && ctx.db().remove(key, now).is_some();
    let at = match (ttl, absttl) {
        (0, _) => 0,
        (t, true) => t as u64,
        (t, false) => (now as i64).saturating_add(t) as u64,
    };
    if at != 0 && at <= now {
        if deleted {
            ctx.notify(GENERIC, "del", key);
        }
        return ctx.reply.ok();
    }
    // IDLETIME under an LRU policy or FREQ under an LFU one sets the access field
    // (objectSetLRUOrLFU); otherwise the key is as new.
    let db = ctx.db();
    let mut entry = Entry::new(key.into(), value, at);
    let access = db.access;
    entry.set_access(
        access
            .restored(freq, idle, now)
            .unwrap_or_else(|| access.fresh(now)),
    );
    db.put(entry);
    ctx.notify(GENERIC, "restore", key);
    ctx.reply.ok();
}
