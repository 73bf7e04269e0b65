//! The bitmap command family: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO,
//! which treat a string value as an array of bits (bit 0 is the most significant bit of the first
//! byte, as in Redis).
//!
//! Handlers check their arguments in Redis 7.0's order (`bitops.c`), read integer-encoded strings
//! through their decimal form, and grow a string with zero bytes exactly to the byte the highest
//! bit written needs (never beyond `proto-max-bulk-len`). Counting and searching work on 64-bit
//! words (`popcnt` when the CPU has it).

use std::borrow::Cow;

use super::{cmd, flag::*, typed, Args, Command, Ctx, Exec, Handled, KeySpec};
use crate::num::parse_i64;
use crate::resp::reply::c_str;
use crate::resp::{err, Reply};
use crate::store::notify::{GENERIC, STRING};
use crate::store::{Keyspace, Kind, StrValue, Value, WrongType};

/// Redis's error for a bit offset that is not an integer, negative, or past proto-max-bulk-len.
const OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
/// SETBIT's error for a bit value other than 0 or 1.
const BIT_VALUE_ERR: &str = "ERR bit is not an integer or out of range";
/// BITFIELD's error for a type other than i1..i64, u1..u63.
const TYPE_ERR: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// The bitmap commands, with Redis 7.0's arity, flags and key positions.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("setbit", 4, W, K(1, 1, 1), Keyed(typed!(setbit))),
        cmd("getbit", 3, READONLY | FAST, K(1, 1, 1), Keyed(typed!(getbit))),
        cmd("bitcount", -2, READONLY, K(1, 1, 1), Keyed(typed!(bitcount))),
        cmd("bitpos", -3, READONLY, K(1, 1, 1), Keyed(typed!(bitpos))),
        cmd("bitop", -4, W, K(2, -1, 1), Keyed(typed!(bitop))),
        cmd("bitfield", -2, W, K(1, 1, 1), Keyed(typed!(bitfield))),
        cmd("bitfield_ro", -2, READONLY | FAST, K(1, 1, 1), Keyed(typed!(bitfield_ro))),
    ]
}

/// Whether `arg` is the keyword `word`, ignoring case, compared as C's `strcasecmp` compares it
/// (the argument ends at its first NUL byte). O(len).
fn word(arg: &[u8], word: &str) -> bool {
    c_str(arg).eq_ignore_ascii_case(word.as_bytes())
}

/// Parses a bit offset as Redis's getBitOffsetFromArgument: a Redis integer, or for BITFIELD
/// (`bits` > 0) also `#n`, meaning n times the field width. The product is computed as Redis's C
/// does (wrapping on overflow, so a huge `#n` may land on a valid offset exactly as in Redis).
/// None when negative or when the byte it falls in is at or past `max_bulk`. O(len).
fn bit_offset(arg: &[u8], bits: u32, max_bulk: u64) -> Option<u64> {
    let hash = bits > 0 && arg.first() == Some(&b'#');
    let n = parse_i64(if hash { &arg[1..] } else { arg })?;
    let n = if hash { n.wrapping_mul(bits as i64) } else { n };
    (n >= 0 && ((n >> 3) as u64) < max_bulk).then_some(n as u64)
}

/// The default proto-max-bulk-len: strings up to this size are allocated zeroed at once (calloc:
/// fresh pages cost nothing until touched); beyond it (the limit raised by CONFIG SET) the
/// allocation is tried first, so that an impossible one is refused rather than fatal.
const ZEROED_AT_ONCE: usize = 512 << 20;

/// What [`string_for_bits`] answers when the memory for the string could not be had.
const NO_MEMORY: &str = "ERR not enough memory to grow the string to that bit offset";

/// The string at `key` grown with zero bytes so that bit `maxbit` exists (created when absent, with
/// exactly the bytes needed), as a mutable byte vector, and whether it was created or grown (Redis's
/// lookupStringForBitCommand: a write lookup). Growth reserves exactly what the bit needs. Ok(None),
/// nothing changed, when a string larger than [`ZEROED_AT_ONCE`] cannot be allocated. O(1)
/// amortised plus the bytes added; a value not yet `raw` is converted (O(len)), as Redis unshares
/// it.
fn string_for_bits<'k>(
    ks: &'k mut Keyspace,
    db: usize,
    key: &[u8],
    now: u64,
    maxbit: u64,
) -> Result<Option<(&'k mut Vec<u8>, bool)>, WrongType> {
    // maxbit is below 8 * proto-max-bulk-len, checked by the caller.
    let need = usize::try_from(maxbit >> 3)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    // Past the default limit the memory is reserved before the key is touched, and may be refused.
    let mut spare = None;
    if need > ZEROED_AT_ONCE {
        let mut v: Vec<u8> = Vec::new();
        if v.try_reserve_exact(need).is_err() {
            return Ok(None);
        }
        spare = Some(v);
    }
    let mut created = false;
    let s = ks.dbs[db].get_or_create_as::<StrValue>(key, now, || {
        created = true;
        let v = match spare.take() {
            Some(mut v) => {
                v.resize(need, 0);
                v
            }
            None => vec![0; need],
        };
        Value::Str(StrValue::Raw(v))
    })?;
    let v = s.make_raw();
    let grown = v.len() < need;
    if grown {
        match spare {
            Some(mut big) => {
                big.extend_from_slice(v);
                big.resize(need, 0);
                *v = big;
            }
            None => {
                v.reserve_exact(need - v.len());
                v.resize(need, 0);
            }
        }
    }
    Ok(Some((v, created || grown)))
}

/// SETBIT key offset value: sets or clears one bit, replies its previous value. Raises `setbit`
/// when the string was created, grown or the bit changed. O(1), plus the bytes added.
fn setbit(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(offset) = bit_offset(a.get(2), 0, ctx.ks.limits.proto_max_bulk_len) else {
        return ctx.error(OFFSET_ERR);
    };
    let on = match parse_i64(a.get(3)) {
        Some(v) if v & !1 == 0 => v as u8,
        _ => return ctx.error(BIT_VALUE_ERR),
    };
    let key = a.get(1);
    let Some((v, dirty)) = string_for_bits(ctx.ks, ctx.db, key, ctx.now, offset)? else {
        return ctx.error(NO_MEMORY);
    };
    let (byte, shift) = ((offset >> 3) as usize, 7 - (offset & 7) as u32);
    let old = (v[byte] >> shift) & 1;
    if dirty || old != on {
        v[byte] = (v[byte] & !(1 << shift)) | (on << shift);
        ctx.notify(STRING, "setbit", key);
    }
    ctx.reply.int(old as i64);
    Ok(())
}

/// GETBIT key offset: the bit, 0 past the end or for a missing key. O(1).
fn getbit(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(offset) = bit_offset(a.get(2), 0, ctx.ks.limits.proto_max_bulk_len) else {
        return ctx.error(OFFSET_ERR);
    };
    let s = ctx.ks.read::<StrValue>(ctx.db, a.get(1), ctx.now)?;
    let bit = s.is_some_and(|s| {
        s.with_bytes(|b| {
            b.get((offset >> 3) as usize)
                .is_some_and(|&x| (x >> (7 - (offset & 7))) & 1 == 1)
        })
    });
    ctx.reply.int(bit as i64);
    Ok(())
}

/// Parses the BYTE|BIT unit argument: Some(true) for BIT, None for anything else.
fn unit_is_bit(arg: &[u8]) -> Option<bool> {
    if word(arg, "bit") {
        Some(true)
    } else if word(arg, "byte") {
        Some(false)
    } else {
        None
    }
}

/// Redis's normalisation of a BITCOUNT/BITPOS range over `total` units (bytes or bits): negative
/// indexes count from the end, then both are clamped into the string. None when the range is
/// empty (always so for an empty string). O(1).
fn clamp_range(mut start: i64, mut end: i64, total: i64) -> Option<(u64, u64)> {
    // total is at most 8 * 512 MB: adding it to a negative i64 cannot overflow.
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    (start <= end).then_some((start as u64, end as u64))
}

/// The bits `lo..=hi` (0 the most significant) of a byte, as a mask.
#[inline]
fn byte_mask(lo: u32, hi: u32) -> u8 {
    (0xFFu8 >> lo) & (0xFFu8 << (7 - hi))
}

/// The first eight bytes of `c` (which has at least eight) as a big-endian word.
#[inline]
fn be_word(c: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&c[..8]);
    u64::from_be_bytes(w)
}

/// Number of set bits in `b`. O(n), a 64-bit word at a time.
#[inline(always)]
fn popcount_words(b: &[u8]) -> u64 {
    let mut chunks = b.chunks_exact(32);
    let mut n = 0u64;
    for c in &mut chunks {
        n += (be_word(c).count_ones()
            + be_word(&c[8..]).count_ones()
            + be_word(&c[16..]).count_ones()
            + be_word(&c[24..]).count_ones()) as u64;
    }
    let mut words = chunks.remainder().chunks_exact(8);
    for c in &mut words {
        n += be_word(c).count_ones() as u64;
    }
    n + words
        .remainder()
        .iter()
        .map(|x| x.count_ones() as u64)
        .sum::<u64>()
}

/// [`popcount_words`] compiled for CPUs with the `popcnt` instruction.
///
/// # Safety
/// Only to be called when the CPU supports `popcnt`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn popcount_hw(b: &[u8]) -> u64 {
    popcount_words(b)
}

/// Number of set bits in `b`, with the CPU's popcount instruction when it has one. O(n).
fn popcount(b: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU supports popcnt, checked just above.
        return unsafe { popcount_hw(b) };
    }
    popcount_words(b)
}

/// Number of set bits among bits `from..=to` of `p` (both within it). O(to - from).
fn count_bits(p: &[u8], from: u64, to: u64) -> u64 {
    let (sb, eb) = ((from >> 3) as usize, (to >> 3) as usize);
    let (lo, hi) = ((from & 7) as u32, (to & 7) as u32);
    if sb == eb {
        return (p[sb] & byte_mask(lo, hi)).count_ones() as u64;
    }
    (p[sb] & byte_mask(lo, 7)).count_ones() as u64
        + popcount(&p[sb + 1..eb])
        + (p[eb] & byte_mask(0, hi)).count_ones() as u64
}

/// Position of the first bit equal to `bit` in `b`, if any. O(n), a 64-bit word at a time.
fn find_in(b: &[u8], bit: bool) -> Option<u64> {
    let flip = if bit { 0 } else { u64::MAX };
    // Runs of 32 bytes with no such bit are skipped with one test each.
    let mut skip = 0;
    for c in b.chunks_exact(32) {
        let any = (be_word(c) ^ flip)
            | (be_word(&c[8..]) ^ flip)
            | (be_word(&c[16..]) ^ flip)
            | (be_word(&c[24..]) ^ flip);
        if any != 0 {
            break;
        }
        skip += 32;
    }
    let b = &b[skip..];
    let mut words = b.chunks_exact(8);
    let mut base = 8 * skip as u64;
    for c in &mut words {
        let w = be_word(c) ^ flip;
        if w != 0 {
            return Some(base + w.leading_zeros() as u64);
        }
        base += 64;
    }
    words.remainder().iter().enumerate().find_map(|(i, &x)| {
        let v = x ^ flip as u8;
        (v != 0).then(|| base + 8 * i as u64 + v.leading_zeros() as u64)
    })
}

/// Position of the first bit equal to `bit` among bits `from..=to` of `p` (both within it).
/// O(to - from).
fn first_bit(p: &[u8], from: u64, to: u64, bit: bool) -> Option<u64> {
    let (sb, eb) = ((from >> 3) as usize, (to >> 3) as usize);
    let (lo, hi) = ((from & 7) as u32, (to & 7) as u32);
    let flip = if bit { 0 } else { 0xFF };
    let edge = |i: usize, lo: u32, hi: u32| {
        let v = (p[i] ^ flip) & byte_mask(lo, hi);
        (v != 0).then(|| 8 * i as u64 + v.leading_zeros() as u64)
    };
    if sb == eb {
        return edge(sb, lo, hi);
    }
    edge(sb, lo, 7)
        .or_else(|| find_in(&p[sb + 1..eb], bit).map(|x| 8 * (sb as u64 + 1) + x))
        .or_else(|| edge(eb, 0, hi))
}

/// BITCOUNT key [start end [BYTE|BIT]]: the set bits of the string or of a range of it. As in
/// Redis, a missing key answers 0 before the range is read, and a range of two negative indexes
/// with start > end answers 0 before the unit is checked. O(N) in the range's bytes.
fn bitcount(ctx: &mut Ctx, a: &Args) -> Handled {
    let Some(s) = ctx.ks.read::<StrValue>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    let mut tmp = itoa::Buffer::new();
    let p = s.as_bytes(&mut tmp);
    let range = match a.len() {
        2 => whole(p.len()),
        4 | 5 => {
            let (Some(start), Some(end)) = (a.int(2), a.int(3)) else {
                ctx.reply.error(err::NOT_INT);
                return Ok(());
            };
            if start < 0 && end < 0 && start > end {
                ctx.reply.int(0);
                return Ok(());
            }
            let isbit = if a.len() == 5 {
                match unit_is_bit(a.get(4)) {
                    Some(b) => b,
                    None => {
                        ctx.reply.error(err::SYNTAX);
                        return Ok(());
                    }
                }
            } else {
                false
            };
            bit_range(start, end, p.len(), isbit)
        }
        _ => {
            ctx.reply.error(err::SYNTAX);
            return Ok(());
        }
    };
    let n = match range {
        Some((from, to)) => count_bits(p, from, to),
        None => 0,
    };
    ctx.reply.int(n as i64);
    Ok(())
}

/// A whole string of `len` bytes as an inclusive bit range (None when empty).
fn whole(len: usize) -> Option<(u64, u64)> {
    (len > 0).then(|| (0, len as u64 * 8 - 1))
}

/// A range given in bytes or bits (`isbit`) over a string of `len` bytes, normalised as Redis,
/// as inclusive bit positions; None when it is empty.
fn bit_range(start: i64, end: i64, len: usize, isbit: bool) -> Option<(u64, u64)> {
    let total = if isbit { len as i64 * 8 } else { len as i64 };
    clamp_range(start, end, total).map(|(s, e)| if isbit { (s, e) } else { (s * 8, e * 8 + 7) })
}

/// BITPOS key bit [start [end [BYTE|BIT]]]: the position of the first bit equal to `bit`. A
/// missing key is all zeros (0, or -1 looking for a 1) whatever the range; an empty range or no
/// such bit answers -1, except that looking for a 0 without an explicit end finds the first bit
/// past the range (the string is taken as zero-padded on the right). O(N) in the range's bytes.
fn bitpos(ctx: &mut Ctx, a: &Args) -> Handled {
    let bit = match a.int(2) {
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return ctx.error("ERR The bit argument must be 1 or 0."),
        None => return ctx.error(err::NOT_INT),
    };
    let Some(s) = ctx.ks.read::<StrValue>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let mut tmp = itoa::Buffer::new();
    let p = s.as_bytes(&mut tmp);
    let len = p.len();
    let (range, end_given) = match a.len() {
        3 => (whole(len), false),
        4..=6 => {
            let Some(start) = a.int(3) else {
                ctx.reply.error(err::NOT_INT);
                return Ok(());
            };
            let mut isbit = false;
            if a.len() == 6 {
                match unit_is_bit(a.get(5)) {
                    Some(b) => isbit = b,
                    None => {
                        ctx.reply.error(err::SYNTAX);
                        return Ok(());
                    }
                }
            }
            let end = if a.len() >= 5 {
                let Some(end) = a.int(4) else {
                    ctx.reply.error(err::NOT_INT);
                    return Ok(());
                };
                end
            } else if isbit {
                len as i64 * 8 + 7
            } else {
                len as i64 - 1
            };
            (bit_range(start, end, len, isbit), a.len() >= 5)
        }
        _ => {
            ctx.reply.error(err::SYNTAX);
            return Ok(());
        }
    };
    let pos = match range {
        None => -1,
        Some((from, to)) => match first_bit(p, from, to, bit) {
            Some(x) => x as i64,
            None if !bit && !end_given => to as i64 + 1,
            None => -1,
        },
    };
    ctx.reply.int(pos);
    Ok(())
}

/// The bitwise operation of BITOP.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// The string values at argument indices `keys` (empty for a missing key), each a read lookup in
/// order, as Redis's BITOP makes them; Err at the first key of another type (the later ones are not
/// looked up). Integer-encoded values are formatted; others are borrowed. O(K).
fn read_strings<'d>(
    ks: &'d mut Keyspace,
    db: usize,
    a: &Args,
    keys: std::ops::Range<usize>,
    now: u64,
) -> Result<Vec<Cow<'d, [u8]>>, WrongType> {
    // Keys found expired go, and missing ones are `keymiss` events, before the values are held
    // together by the peeks below.
    let d = &mut ks.dbs[db];
    for i in keys.clone() {
        match d.peek(a.get(i), now) {
            Some(e) if StrValue::of(&e.value).is_none() => break,
            Some(_) => {}
            None => {
                d.get_read(a.get(i), now, true);
            }
        }
    }
    let (db, stats) = ks.reader(db);
    keys.map(|i| {
        let found = db.peek_as::<StrValue>(a.get(i), now);
        stats.lookup(!matches!(found, Ok(None)));
        Ok(match found? {
            None => Cow::Borrowed(&[][..]),
            Some(StrValue::Int(n)) => {
                Cow::Owned(itoa::Buffer::new().format(*n).as_bytes().to_vec())
            }
            Some(StrValue::Inline { len, buf }) => Cow::Borrowed(&buf[..*len as usize]),
            Some(StrValue::Emb(b)) => Cow::Borrowed(&b[..]),
            Some(StrValue::Raw(v)) => Cow::Borrowed(&v[..]),
            Some(StrValue::Shared(b)) => Cow::Borrowed(&b[..]),
        })
    })
    .collect()
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: stores the bitwise operation of the strings (the
/// shorter ones zero-padded) at destkey, as a `raw` string the length of the longest, and replies
/// that length; when every source is empty or missing, deletes destkey instead (`del`). The
/// sources are read before destkey is touched, so destkey may be one of them. Raises `set` on a
/// stored result. O(N) in the total length of the sources.
fn bitop(ctx: &mut Ctx, a: &Args) -> Handled {
    let name = a.get(1);
    let op = if word(name, "and") {
        BitOp::And
    } else if word(name, "or") {
        BitOp::Or
    } else if word(name, "xor") {
        BitOp::Xor
    } else if word(name, "not") {
        BitOp::Not
    } else {
        return ctx.error(err::SYNTAX);
    };
    if op == BitOp::Not && a.len() != 4 {
        return ctx.error("ERR BITOP NOT must be called with a single source key.");
    }
    let now = ctx.now;
    let srcs = read_strings(ctx.ks, ctx.db, a, 3..a.len(), now)?;
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let result = (maxlen > 0).then(|| {
        // Built in one pass over the first source (no zero-filling first: on a big result the
        // page faults of touching fresh memory twice dominate).
        let mut res = Vec::with_capacity(maxlen);
        if op == BitOp::Not {
            res.extend(srcs[0].iter().map(|x| !x));
        } else {
            res.extend_from_slice(&srcs[0]);
            res.resize(maxlen, 0);
        }
        match op {
            BitOp::Not => {}
            BitOp::And => {
                for s in &srcs[1..] {
                    res.iter_mut().zip(s.iter()).for_each(|(x, y)| *x &= y);
                    res[s.len()..].fill(0);
                }
            }
            BitOp::Or => {
                for s in &srcs[1..] {
                    res.iter_mut().zip(s.iter()).for_each(|(x, y)| *x |= y);
                }
            }
            BitOp::Xor => {
                for s in &srcs[1..] {
                    res.iter_mut().zip(s.iter()).for_each(|(x, y)| *x ^= y);
                }
            }
        }
        res
    });
    drop(srcs);
    let (db, dst) = (ctx.db(), a.get(2));
    match result {
        Some(res) => {
            // Redis's setKey looks the destination up first: one found expired goes (`expired`),
            // and the result is then a `new` key.
            db.get(dst, now);
            db.set(dst, Value::Str(StrValue::Raw(res)), 0);
            ctx.notify(STRING, "set", dst);
        }
        None => {
            // Redis's dbDelete, which does not look at the TTL.
            if db.remove(dst, 0).is_some() {
                ctx.notify(GENERIC, "del", dst);
            }
        }
    }
    ctx.reply.int(maxlen as i64);
    Ok(())
}

/// What BITFIELD does on overflow (OVERFLOW WRAP|SAT|FAIL).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// A BITFIELD subcommand.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

/// One parsed BITFIELD operation.
struct Field {
    op: FieldOp,
    /// Bit offset of the field's most significant bit.
    offset: u64,
    /// Width, 1..=64 (signed) or 1..=63 (unsigned).
    bits: u32,
    signed: bool,
    /// SET's value or INCRBY's increment.
    value: i64,
    overflow: Overflow,
}

/// Parses a BITFIELD type, `i1`..`i64` or `u1`..`u63` (the width read as C reads it, up to a
/// NUL byte): (signed, bits).
fn field_type(arg: &[u8]) -> Option<(bool, u32)> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return None,
    };
    let n = parse_i64(c_str(&arg[1..]))?;
    let max = if signed { 64 } else { 63 };
    (1..=max).contains(&n).then_some((signed, n as u32))
}

/// All ones in the low `bits` bits.
#[inline]
fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// The nine bytes from `byte` on, zero-padded past the end of `p`, as a big-endian 72-bit word:
/// they hold any field of up to 64 bits starting in byte `byte`.
#[inline]
fn load72(p: &[u8], byte: usize) -> u128 {
    (0..9).fold(0u128, |w, i| {
        (w << 8) | p.get(byte.saturating_add(i)).copied().unwrap_or(0) as u128
    })
}

/// The unsigned field of `bits` bits at bit `offset` of `p` (zeros past its end). O(1).
fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let shift = 72 - (offset & 7) as u32 - bits;
    (load72(p, (offset >> 3) as usize) >> shift) as u64 & low_mask(bits)
}

/// The signed (two's complement) field of `bits` bits at bit `offset` of `p`. O(1).
fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(p, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | !low_mask(bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset` of `p`; the bytes the field covers must
/// exist. O(1).
fn set_field(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    let byte = (offset >> 3) as usize;
    let shift = 72 - (offset & 7) as u32 - bits;
    let m = (low_mask(bits) as u128) << shift;
    let w = (load72(p, byte) & !m) | (((value & low_mask(bits)) as u128) << shift);
    for (i, b) in p.iter_mut().skip(byte).take(9).enumerate() {
        *b = (w >> (64 - 8 * i)) as u8;
    }
}

/// Redis's checkUnsignedBitfieldOverflow: whether `value + incr` leaves `bits` unsigned bits, and
/// the value to store then under `ow` (wrapped, or saturated; none for FAIL). Values above the
/// maximum (a negative SET value seen as unsigned) overflow upwards, as in Redis.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = low_mask(bits);
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || value.wrapping_add(incr as u64) & low_mask(bits);
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Sat => max,
            _ => wrap(),
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Sat => 0,
            _ => wrap(),
        })
    } else {
        None
    }
}

/// Redis's checkSignedBitfieldOverflow: whether `value + incr` leaves `bits` signed bits, and the
/// value to store then under `ow`. The bounds are computed with Redis's wrapping arithmetic, so
/// its corner cases (a SET value near i64::MIN saturating upwards) are the same.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            if c & (1 << (bits - 1)) != 0 {
                (c | !low_mask(bits)) as i64
            } else {
                (c & low_mask(bits)) as i64
            }
        } else {
            c as i64
        }
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Sat => max,
            _ => wrap(),
        })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(match ow {
            Overflow::Sat => min,
            _ => wrap(),
        })
    } else {
        None
    }
}

/// Runs one SET or INCRBY on `p`: the reply value (SET: the old value, INCRBY: the new one), or
/// None when it overflowed under FAIL (nothing written); and whether the stored bits changed.
fn write_field(p: &mut [u8], f: &Field) -> (Option<i64>, bool) {
    let incr = f.op == FieldOp::IncrBy;
    let (reply, old, new) = if f.signed {
        let old = get_signed(p, f.offset, f.bits);
        let (value, by) = if incr { (old, f.value) } else { (f.value, 0) };
        let over = signed_overflow(value, by, f.bits, f.overflow);
        if over.is_some() && f.overflow == Overflow::Fail {
            return (None, false);
        }
        let new = over.unwrap_or(value.wrapping_add(by));
        (if incr { new } else { old }, old as u64, new as u64)
    } else {
        let old = get_unsigned(p, f.offset, f.bits);
        let (value, by) = if incr {
            (old, f.value)
        } else {
            (f.value as u64, 0)
        };
        let over = unsigned_overflow(value, by, f.bits, f.overflow);
        if over.is_some() && f.overflow == Overflow::Fail {
            return (None, false);
        }
        let new = over.unwrap_or(value.wrapping_add(by as u64));
        ((if incr { new } else { old }) as i64, old, new)
    };
    set_field(p, f.offset, f.bits, new);
    (Some(reply), old != new)
}

/// Replies the value of a GET field of `p`.
fn reply_get(r: &mut Reply, p: &[u8], f: &Field) {
    if f.signed {
        r.int(get_signed(p, f.offset, f.bits))
    } else {
        r.int(get_unsigned(p, f.offset, f.bits) as i64)
    }
}

/// BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
/// [OVERFLOW WRAP|SAT|FAIL] ...
fn bitfield(ctx: &mut Ctx, a: &Args) -> Handled {
    bitfield_generic(ctx, a, false)
}

/// BITFIELD_RO key [GET type offset] ...: BITFIELD refusing any write.
fn bitfield_ro(ctx: &mut Ctx, a: &Args) -> Handled {
    bitfield_generic(ctx, a, true)
}

/// BITFIELD and BITFIELD_RO (`ro`), as Redis's bitfieldGeneric: every subcommand is parsed and
/// checked first (the first bad one answers its error), then a call of GETs only is a read lookup
/// (a missing key reads as zeros), while one that writes grows the string once to its farthest
/// written bit and runs the operations in order. Replies one value per GET/SET/INCRBY (nil for
/// an overflow under FAIL); raises `setbit` once when a write changed the string (or created or
/// grew it). O(1) per subcommand, plus the bytes added.
fn bitfield_generic(ctx: &mut Ctx, a: &Args, ro: bool) -> Handled {
    let max_bulk = ctx.ks.limits.proto_max_bulk_len;
    let mut ops: Vec<Field> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest: Option<u64> = None;
    let mut j = 2;
    while j < a.len() {
        let remaining = a.len() - j - 1;
        let sub = a.get(j);
        let op = if word(sub, "get") && remaining >= 2 {
            FieldOp::Get
        } else if word(sub, "set") && remaining >= 3 {
            FieldOp::Set
        } else if word(sub, "incrby") && remaining >= 3 {
            FieldOp::IncrBy
        } else if word(sub, "overflow") && remaining >= 1 {
            let kind = a.get(j + 1);
            overflow = if word(kind, "wrap") {
                Overflow::Wrap
            } else if word(kind, "sat") {
                Overflow::Sat
            } else if word(kind, "fail") {
                Overflow::Fail
            } else {
                return ctx.error("ERR Invalid OVERFLOW type specified");
            };
            j += 2;
            continue;
        } else {
            return ctx.error(err::SYNTAX);
        };
        let Some((signed, bits)) = field_type(a.get(j + 1)) else {
            return ctx.error(TYPE_ERR);
        };
        let Some(offset) = bit_offset(a.get(j + 2), bits, max_bulk) else {
            return ctx.error(OFFSET_ERR);
        };
        let mut value = 0;
        if op != FieldOp::Get {
            let last = offset + bits as u64 - 1;
            highest = Some(highest.map_or(last, |h| h.max(last)));
            match a.int(j + 3) {
                Some(v) => value = v,
                None => return ctx.error(err::NOT_INT),
            }
        }
        ops.push(Field {
            op,
            offset,
            bits,
            signed,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    let (key, now) = (a.get(1), ctx.now);
    let Some(highest) = highest else {
        // GETs only: a read lookup; a missing key reads as zeros.
        let s = ctx.ks.read::<StrValue>(ctx.db, key, now)?;
        let mut tmp = itoa::Buffer::new();
        let p: &[u8] = s.map_or(&[], |s| s.as_bytes(&mut tmp));
        ctx.reply.array(ops.len());
        for f in &ops {
            reply_get(&mut ctx.reply, p, f);
        }
        return Ok(());
    };
    if ro {
        return ctx.error("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let Some((p, dirty)) = string_for_bits(ctx.ks, ctx.db, key, now, highest)? else {
        return ctx.error(NO_MEMORY);
    };
    ctx.reply.array(ops.len());
    let mut changed = false;
    for f in &ops {
        if f.op == FieldOp::Get {
            reply_get(&mut ctx.reply, p, f);
            continue;
        }
        let (reply, diff) = write_field(p, f);
        match reply {
            Some(v) => {
                ctx.reply.int(v);
                changed |= dirty || diff;
            }
            None => ctx.reply.null(),
        }
    }
    if changed {
        ctx.notify(STRING, "setbit", key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_and_write_across_bytes() {
        let mut p = vec![0u8; 3];
        set_field(&mut p, 7, 5, 23);
        assert_eq!(p, [0b0000_0001, 0b0111_0000, 0]);
        assert_eq!(get_unsigned(&p, 7, 5), 23);
        assert_eq!(get_signed(&p, 7, 5), 23 - 32);
        // Past the end reads zeros.
        assert_eq!(get_unsigned(&p, 20, 63), 0);
        let mut q = vec![0u8; 9];
        set_field(&mut q, 3, 64, u64::MAX);
        assert_eq!(get_signed(&q, 3, 64), -1);
        assert_eq!(q[0], 0x1F);
        assert_eq!(q[8], 0xE0);
    }

    #[test]
    fn counts_and_searches_match_a_bit_loop() {
        let p: Vec<u8> = (0..100u32)
            .map(|i| (i.wrapping_mul(0x9E37_79B9) >> 13) as u8)
            .collect();
        let bit = |i: u64| (p[(i >> 3) as usize] >> (7 - (i & 7))) & 1;
        for (from, to) in [(0, 799), (3, 4), (5, 5), (9, 700), (63, 130), (1, 798)] {
            let n: u64 = (from..=to).map(|i| bit(i) as u64).sum();
            assert_eq!(count_bits(&p, from, to), n, "{from}..={to}");
            for b in [false, true] {
                let want = (from..=to).find(|&i| bit(i) == b as u8);
                assert_eq!(first_bit(&p, from, to, b), want);
            }
        }
        assert_eq!(first_bit(&[0xFF; 40], 0, 319, false), None);
        assert_eq!(first_bit(&[0; 40], 0, 319, true), None);
        assert_eq!(popcount(&[0xFF; 77]), 77 * 8);
        // A lone bit anywhere in long runs, for both kinds of search.
        for k in (0..300 * 8).step_by(37).chain([0, 255, 256, 2399]) {
            let mut zeros = vec![0u8; 300];
            zeros[k / 8] |= 0x80 >> (k % 8);
            let ones: Vec<u8> = zeros.iter().map(|x| !x).collect();
            assert_eq!(find_in(&zeros, true), Some(k as u64));
            assert_eq!(find_in(&ones, false), Some(k as u64));
            assert_eq!(
                first_bit(&zeros, 3, 2397, true),
                (3..=2397).contains(&k).then_some(k as u64)
            );
        }
    }

    #[test]
    fn an_impossible_string_is_refused_and_changes_nothing() {
        let mut ks = Keyspace::new(1, 1);
        // Far past any memory: refused before the key is touched.
        assert!(matches!(
            string_for_bits(&mut ks, 0, b"k", 0, 1 << 62),
            Ok(None)
        ));
        assert!(ks.dbs[0].peek(b"k", 0).is_none());
        ks.dbs[0].set(b"k", Value::Str(StrValue::from_bytes(b"12")), 0);
        assert!(matches!(
            string_for_bits(&mut ks, 0, b"k", 0, 1 << 62),
            Ok(None)
        ));
        let (v, grown) = string_for_bits(&mut ks, 0, b"k", 0, 23).unwrap().unwrap();
        assert_eq!((v.as_slice(), grown), (&b"12\0"[..], true));
        assert_eq!(v.capacity(), 3);
    }

    #[test]
    fn offsets_follow_redis() {
        let max = 512 << 20;
        assert_eq!(bit_offset(b"0", 0, max), Some(0));
        assert_eq!(bit_offset(b"-1", 0, max), None);
        assert_eq!(bit_offset(b"4294967295", 0, max), Some(4294967295));
        assert_eq!(bit_offset(b"4294967296", 0, max), None);
        assert_eq!(bit_offset(b"#3", 0, max), None);
        assert_eq!(bit_offset(b"#3", 8, max), Some(24));
        assert_eq!(bit_offset(b"#", 8, max), None);
        assert_eq!(field_type(b"u64"), None);
        assert_eq!(field_type(b"i64"), Some((true, 64)));
        assert_eq!(field_type(b"u0"), None);
        assert_eq!(field_type(b"I8"), None);
    }
}
