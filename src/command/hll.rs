//! The HyperLogLog command family: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST. The sketch and
//! its byte format are [`crate::store::hll`]; a sketch is a plain string value, so GET and SET
//! move it between servers.
//!
//! Handlers follow Redis 7.0's order of lookups and checks: every source key is type-checked and
//! validated before anything is written, a corrupt sketch is answered with INVALIDOBJ, and the
//! edits a command made before finding corruption stay, as in Redis.

use super::ctx::ConnCtx;
use super::{cmd, flag::*, typed, Args, Command, Ctx, Exec, Handled, KeySpec};
use crate::store::hll::{self, Corrupt, DENSE, REGISTERS, SPARSE};
use crate::store::notify::STRING;
use crate::store::{StrValue, Value};

/// Redis's reply to a string that is not a HyperLogLog.
const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
/// Redis's reply to a sketch whose registers are corrupt.
const INVALID: &str = "INVALIDOBJ Corrupted HLL object detected";

/// The HyperLogLog commands, with Redis 7.0's arity, flags and key positions.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::{Conn, Keyed};
    use KeySpec::Range as K;
    vec![
        cmd("pfadd", -2, WRITE | DENYOOM | FAST, K(1, 1, 1), Keyed(typed!(pfadd))),
        cmd("pfcount", -2, READONLY | MAY_REPLICATE, K(1, -1, 1), Keyed(typed!(pfcount))),
        cmd("pfmerge", -2, WRITE | DENYOOM, K(1, -1, 1), Keyed(typed!(pfmerge))),
        cmd("pfdebug", 3, WRITE | DENYOOM | ADMIN, K(2, 2, 1), Keyed(typed!(pfdebug))),
        cmd("pfselftest", 1, ADMIN, KeySpec::None, Conn(pfselftest)),
    ]
}

/// The bytes of a string that passes Redis's HLL check, as a vector to edit in place (Redis's
/// dbUnshareStringValue: the value is `raw` from then on); None when the string is not a sketch
/// (an integer-encoded string never is). O(1), O(len) the first time a shared value is edited.
fn editable(s: &mut StrValue) -> Option<&mut Vec<u8>> {
    if matches!(s, StrValue::Int(_)) || !s.with_bytes(hll::is_hll) {
        return None;
    }
    Some(s.make_raw())
}

/// Whether a looked-up string is a sketch (Redis's isHLLObjectOrReply once the type is right).
fn is_sketch(s: &StrValue) -> bool {
    !matches!(s, StrValue::Int(_)) && s.with_bytes(hll::is_hll)
}

/// PFADD key [element ...]: creates the sketch when missing and adds the elements; 1 when a
/// register changed (or the key was created). O(N) on a dense sketch, without allocation;
/// O(N * len) on a sparse one.
fn pfadd(ctx: &mut Ctx, a: &Args) -> Handled {
    let key = a.get(1);
    let now = ctx.now;
    let max_bytes = ctx.ks.limits.hll_sparse_max_bytes;
    let mut updated = false;
    let db = ctx.db();
    let exists = db.get_as::<StrValue>(key, now)?.is_some();
    if !exists {
        db.set(key, Value::Str(StrValue::Raw(hll::new_sparse())), 0);
        updated = true;
    }
    let Some(s) = ctx.db().get_as::<StrValue>(key, now)? else {
        return Ok(());
    };
    let Some(v) = editable(s) else {
        return ctx.error(NOT_HLL);
    };
    for ele in a.iter_from(2) {
        match hll::add(v, ele, max_bytes) {
            Ok(changed) => updated |= changed,
            Err(Corrupt) => return ctx.error(INVALID),
        }
    }
    if updated {
        hll::invalidate(v);
        ctx.notify(STRING, "pfadd", key);
    }
    ctx.reply.int(updated as i64);
    Ok(())
}

/// PFCOUNT key [key ...]. One key: the cached cardinality, or a new estimate that is cached in
/// the value (which is then changed, as Redis's signalModifiedKey says). Several keys: the
/// cardinality of their union, merged into a temporary register set; nothing is written.
/// O(1) cached, O(len + registers) per key otherwise.
fn pfcount(ctx: &mut Ctx, a: &Args) -> Handled {
    let now = ctx.now;
    if a.len() > 2 {
        let mut max = [0u8; REGISTERS];
        for key in a.iter_from(1) {
            let Some(s) = ctx.ks.read::<StrValue>(ctx.db, key, now)? else {
                continue;
            };
            if !is_sketch(s) {
                return ctx.error(NOT_HLL);
            }
            if s.with_bytes(|v| hll::merge_into(&mut max, v)).is_err() {
                return ctx.error(INVALID);
            }
        }
        let card = hll::estimate(&hll::histogram_raw(&max));
        ctx.reply.int(card as i64);
        return Ok(());
    }
    let key = a.get(1);
    if ctx.ks.read::<StrValue>(ctx.db, key, now)?.is_none() {
        ctx.reply.int(0);
        return Ok(());
    }
    let Some(s) = ctx.db().get_as::<StrValue>(key, now)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    let Some(v) = editable(s) else {
        return ctx.error(NOT_HLL);
    };
    if let Some(card) = hll::cached(v) {
        ctx.reply.int(card as i64);
        return Ok(());
    }
    let Ok(card) = hll::count(v) else {
        return ctx.error(INVALID);
    };
    hll::set_cached(v, card);
    // The value changed (its cache), though PFCOUNT is a read: a WATCH sees it, as Redis's
    // signalModifiedKey. Client-side caching is not told: Rustis remembers this read before
    // running it, so the reader would be told of its own refresh, which Redis never does (the
    // reader starts tracking the key after it); another reader keeps bytes that differ only by
    // the cache, which count the same.
    let db = ctx.db;
    ctx.ks.watches.touch(db, key);
    ctx.reply.int(card as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]: the union of the sketches (the destination's own included)
/// stored at the destination, created when missing; dense when any input is. O(N * registers)
/// (times the sparse length while the destination stays sparse, as in Redis).
fn pfmerge(ctx: &mut Ctx, a: &Args) -> Handled {
    let now = ctx.now;
    let max_bytes = ctx.ks.limits.hll_sparse_max_bytes;
    let mut max = [0u8; REGISTERS];
    let mut use_dense = false;
    for key in a.iter_from(1) {
        let Some(s) = ctx.ks.read::<StrValue>(ctx.db, key, now)? else {
            continue;
        };
        if !is_sketch(s) {
            return ctx.error(NOT_HLL);
        }
        let merged = s.with_bytes(|v| {
            use_dense |= v[4] == DENSE;
            hll::merge_into(&mut max, v)
        });
        if merged.is_err() {
            return ctx.error(INVALID);
        }
    }
    let dest = a.get(1);
    let db = ctx.db();
    if db.get_as::<StrValue>(dest, now)?.is_none() {
        db.set(dest, Value::Str(StrValue::Raw(hll::new_sparse())), 0);
    }
    let Some(v) = ctx
        .db()
        .get_as::<StrValue>(dest, now)?
        .map(StrValue::make_raw)
    else {
        return Ok(());
    };
    if use_dense && hll::to_dense(v).is_err() {
        return ctx.error(INVALID);
    }
    for (j, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        match v[4] {
            DENSE => {
                hll::dense_set(&mut v[hll::HDR..], j, m);
            }
            SPARSE => {
                // Redis ignores the outcome here: the destination was validated as a source.
                let _ = hll::sparse_set(v, j, m, max_bytes);
            }
            _ => {}
        }
    }
    hll::invalidate(v);
    ctx.notify(STRING, "pfadd", dest);
    ctx.reply.ok();
    Ok(())
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key: the registers (converting a sparse sketch to
/// dense), the sparse opcodes as text, the encoding, or a conversion to dense. O(len + registers).
fn pfdebug(ctx: &mut Ctx, a: &Args) -> Handled {
    let (key, now, db) = (a.get(2), ctx.now, ctx.db);
    let Some(s) = ctx.ks.dbs[db].get_as::<StrValue>(key, now)? else {
        return ctx.error("ERR The specified key does not exist");
    };
    let Some(v) = editable(s) else {
        return ctx.error(NOT_HLL);
    };
    // Redis compares the subcommand as a C string: it ends at a NUL byte.
    let sub = a.get(1);
    let sub = &sub[..sub.iter().position(|&c| c == 0).unwrap_or(sub.len())];
    let is = |w: &str| sub.eq_ignore_ascii_case(w.as_bytes());
    if is("getreg") {
        if hll::to_dense(v).is_err() {
            return ctx.error(INVALID);
        }
        let r = &mut ctx.reply;
        r.array(REGISTERS);
        for reg in hll::registers(v) {
            r.int(reg as i64);
        }
    } else if is("decode") {
        if v[4] != SPARSE {
            return ctx.error("ERR HLL encoding is not sparse");
        }
        let text = hll::decode(v);
        ctx.reply.bulk(&text);
    } else if is("encoding") {
        ctx.reply
            .simple(if v[4] == DENSE { "dense" } else { "sparse" });
    } else if is("todense") {
        let sparse = v[4] == SPARSE;
        if sparse && hll::to_dense(v).is_err() {
            return ctx.error(INVALID);
        }
        ctx.reply.int(sparse as i64);
    } else {
        let mut msg = b"ERR Unknown PFDEBUG subcommand '".to_vec();
        msg.extend_from_slice(sub);
        msg.push(b'\'');
        ctx.reply.error_bytes(&msg);
    }
    Ok(())
}

/// PFSELFTEST: Redis's self test of the register layout and of the estimator's error (10^7
/// elements, about a second in a release build). O(10^7).
fn pfselftest(c: &mut ConnCtx, _a: &Args) {
    let max_bytes = c.shared.params.get_i64("hll-sparse-max-bytes").max(0) as usize;
    let mut rng = super::Rng(c.now ^ 0x9e37_79b9_7f4a_7c15 ^ c.session.id);
    match hll::selftest(|| rng.next_u64(), max_bytes) {
        Ok(()) => c.reply.ok(),
        Err(msg) => c.reply.error(&format!("ERR {msg}")),
    }
}
