//! Values in Redis 7.0's RDB object format: the type byte and the serialized object that DUMP
//! returns (sealed with the version and CRC64 by [`super::seal`]) and that snapshot files hold
//! after each key.
//!
//! Writing picks the RDB type Redis picks for the value's encoding (a listpack-encoded hash is saved
//! as a listpack, a skiplist sorted set as scores in binary...), so that Redis loads what we write
//! into the same encoding. Reading accepts every type Redis 7.0 reads for strings, lists, sets,
//! hashes, sorted sets and streams ([`super::stream`]), including the ziplist, zipmap and intset forms older versions wrote, and
//! converts encodings as `rdbLoadObject` does. Anything malformed, empty, duplicated or of a type
//! Rustis does not hold (modules) is refused, never half-loaded.

use super::pack::{
    canonical_i64, read_intset, read_listpack, read_ziplist, read_zipmap, write_intset,
    ListpackWriter,
};
use super::{write_len, Reader};
use crate::num::{format_double, strtod};
use crate::store::list::ListValue;
use crate::store::set::SetValue;
use crate::store::value::StrValue;
use crate::store::zset::ZSetValue;
use crate::store::{EncodingLimits, HashValue, Value};

/// RDB object types (rdb.h).
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// Quicklist node containers (quicklist.h).
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;
/// quicklist's per-entry size estimate and the node size that is always safe (quicklist.c).
const NODE_ENTRY_OVERHEAD: usize = 8;
const NODE_SAFETY_LIMIT: usize = 8192;
/// Node byte limits of `list-max-listpack-size` -1 to -5.
const NODE_SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

/// How values are written: Redis's settings that change the bytes.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// `rdbcompression`: LZF for strings longer than 20 bytes.
    pub compress: bool,
    /// `list-max-listpack-size`: how list elements are cut into quicklist nodes.
    pub list_fill: i64,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compress: true,
            list_fill: -2,
        }
    }
}

/// Appends an RDB string as rdbSaveRawString does: small canonical integers in 1, 2 or 4 bytes,
/// LZF when compression is on, the string is longer than 20 bytes and it saves at least 4 bytes,
/// otherwise the length and the bytes. O(len).
pub fn write_raw_string(out: &mut Vec<u8>, s: &[u8], o: &WriteOptions) {
    if s.len() <= 11 {
        if let Some(v) = canonical_i64(s) {
            if write_small_int(out, v) {
                return;
            }
        }
    }
    if o.compress && s.len() > 20 {
        if let Some(c) = super::lzf::lzf_compress(s, s.len() - 4) {
            out.push(0xc3);
            write_len(out, c.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Appends `v` in RDB's integer string encodings when it fits 32 bits (rdbEncodeInteger); false
/// when it does not.
fn write_small_int(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(b) = i8::try_from(v) {
        out.extend_from_slice(&[0xc0, b as u8]);
    } else if let Ok(h) = i16::try_from(v) {
        out.push(0xc1);
        out.extend_from_slice(&h.to_le_bytes());
    } else if let Ok(w) = i32::try_from(v) {
        out.push(0xc2);
        out.extend_from_slice(&w.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// Appends a sorted-set score to a listpack as zzlInsertAt does: an integer entry when the score
/// is integral and within ±2^62 (double2ll), otherwise its `%.17g` / `inf` text.
fn push_score(w: &mut ListpackWriter, s: f64) {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if (-HALF..=HALF).contains(&s) && (s as i64) as f64 == s {
        w.push_int(s as i64);
    } else {
        let mut tmp = [0u8; 64];
        w.push_str(format_double(s, &mut tmp));
    }
}

/// Splits list elements into listpack nodes as quicklistPushTail fills them under `fill`
/// (`list-max-listpack-size`: negative for a byte limit per node, positive for a count). O(N).
fn list_nodes<'a>(items: impl Iterator<Item = &'a [u8]>, fill: i64) -> Vec<Vec<u8>> {
    let mut nodes = Vec::new();
    let mut w = ListpackWriter::new();
    for e in items {
        if !w.is_empty() && !node_allows(w.bytes(), w.len(), e.len(), fill) {
            nodes.push(std::mem::take(&mut w).finish());
        }
        w.push(e);
    }
    if !w.is_empty() {
        nodes.push(w.finish());
    }
    nodes
}

/// Whether a node of `node_bytes` and `count` entries takes one more element of `sz` bytes
/// (_quicklistNodeAllowInsert).
fn node_allows(node_bytes: usize, count: usize, sz: usize, fill: i64) -> bool {
    let new_sz = node_bytes + sz + NODE_ENTRY_OVERHEAD;
    if fill < 0 {
        let level = (-fill - 1) as usize;
        if level < NODE_SIZE_LEVELS.len() && new_sz <= NODE_SIZE_LEVELS[level] {
            return true;
        }
    }
    new_sz <= NODE_SAFETY_LIMIT && (count as i64) < fill
}

/// The RDB type byte and serialized object of `v`, as Redis's rdbSaveObjectType and
/// rdbSaveObject write it for the encoding `v` has. O(N) in the value's size.
pub fn write_value(out: &mut Vec<u8>, v: &Value, o: &WriteOptions) {
    match v {
        Value::Stream(s) => {
            out.push(types::STREAM_LISTPACKS_2);
            super::stream::write_stream(out, s, o);
        }
        Value::Str(s) => {
            out.push(types::STRING);
            match s {
                StrValue::Int(n) if write_small_int(out, *n) => {}
                _ => s.with_bytes(|b| write_raw_string(out, b, o)),
            }
        }
        Value::List(l) => {
            out.push(types::LIST_QUICKLIST_2);
            let nodes = list_nodes(l.items.iter().map(|e| &e[..]), o.list_fill);
            write_len(out, nodes.len() as u64);
            for n in nodes {
                write_len(out, CONTAINER_PACKED);
                write_raw_string(out, &n, o);
            }
        }
        Value::Set(s) => {
            if s.intset {
                out.push(types::SET_INTSET);
                let mut ints: Vec<i64> =
                    s.members.iter().filter_map(|m| canonical_i64(m)).collect();
                ints.sort_unstable();
                write_raw_string(out, &write_intset(&ints), o);
            } else {
                out.push(types::SET);
                write_len(out, s.members.len() as u64);
                for m in &s.members {
                    write_raw_string(out, m, o);
                }
            }
        }
        Value::Hash(h) => {
            if h.listpack {
                out.push(types::HASH_LISTPACK);
                let mut w = ListpackWriter::new();
                for (f, v) in &h.fields {
                    w.push(f);
                    w.push(v);
                }
                write_raw_string(out, &w.finish(), o);
            } else {
                out.push(types::HASH);
                write_len(out, h.fields.len() as u64);
                for (f, v) in &h.fields {
                    write_raw_string(out, f, o);
                    write_raw_string(out, v, o);
                }
            }
        }
        Value::ZSet(z) => {
            if z.is_listpack() {
                out.push(types::ZSET_LISTPACK);
                let mut w = ListpackWriter::new();
                for (score, m) in z.iter() {
                    w.push(m);
                    push_score(&mut w, score);
                }
                write_raw_string(out, &w.finish(), o);
            } else {
                out.push(types::ZSET_2);
                write_len(out, z.len() as u64);
                // Highest first, as Redis walks its skiplist from the tail.
                for (score, m) in z.iter().rev() {
                    write_raw_string(out, m, o);
                    out.extend_from_slice(&score.to_le_bytes());
                }
            }
        }
    }
}

/// Why a serialized value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// Malformed, truncated, empty, duplicated members, NaN scores (Redis: "Bad data format").
    Bad,
    /// A type Redis has and Rustis does not hold (modules), by its RDB type byte.
    Unsupported(u8),
}

type Read<T> = Result<T, ReadError>;

fn bad<T>(o: Option<T>) -> Read<T> {
    o.ok_or(ReadError::Bad)
}

/// Reads one object of RDB type `t` from `r`, building the value in the encoding Redis 7.0 would
/// give it under `limits`. O(N) in the value's size; allocates no more than the input implies.
pub fn read_value(t: u8, r: &mut Reader<'_>, limits: &EncodingLimits) -> Read<Value> {
    use types::*;
    Ok(match t {
        STRING => Value::Str(StrValue::from_bytes(&bad(r.string())?)),
        LIST => {
            let n = bad(r.length())?;
            let mut l = ListValue::with_capacity(capacity(n, r));
            for _ in 0..n {
                l.push(bad(r.string())?.into(), false);
            }
            nonempty_list(l)?
        }
        LIST_ZIPLIST => {
            let mut l = ListValue::with_capacity(0);
            for e in bad(read_ziplist(&bad(r.string())?))? {
                l.push(e.into(), false);
            }
            nonempty_list(l)?
        }
        LIST_QUICKLIST | LIST_QUICKLIST_2 => {
            let nodes = bad(r.length())?;
            let mut l = ListValue::with_capacity(0);
            for _ in 0..nodes {
                let container = if t == LIST_QUICKLIST_2 {
                    bad(r.length())?
                } else {
                    CONTAINER_PACKED
                };
                let data = bad(r.string())?;
                if data.is_empty() {
                    return Err(ReadError::Bad);
                }
                match container {
                    CONTAINER_PLAIN => l.push(data.into(), false),
                    CONTAINER_PACKED => {
                        let entries = if t == LIST_QUICKLIST_2 {
                            read_listpack(&data)
                        } else {
                            read_ziplist(&data)
                        };
                        for e in bad(entries)? {
                            l.push(e.into(), false);
                        }
                    }
                    _ => return Err(ReadError::Bad),
                }
            }
            nonempty_list(l)?
        }
        SET => {
            let n = bad(r.length())?;
            let mut members = Vec::with_capacity(capacity(n, r));
            for _ in 0..n {
                members.push(bad(r.string())?);
            }
            build_set(members.iter().map(|m| &m[..]), limits)?
        }
        SET_INTSET => {
            let ints = bad(read_intset(&bad(r.string())?))?;
            let text: Vec<Vec<u8>> = ints.iter().map(|v| v.to_string().into_bytes()).collect();
            build_set(text.iter().map(|m| &m[..]), limits)?
        }
        HASH => {
            let n = bad(r.length())?;
            let mut pairs = Vec::with_capacity(capacity(n, r));
            for _ in 0..n {
                pairs.push((bad(r.string())?, bad(r.string())?));
            }
            build_hash(pairs, limits, false)?
        }
        HASH_ZIPMAP => {
            let pairs = bad(read_zipmap(&bad(r.string())?))?;
            let longest = pairs.iter().map(|(f, v)| f.len().max(v.len())).max();
            let listpack = pairs.len() <= limits.hash_max_listpack_entries
                && longest.unwrap_or(0) <= limits.hash_max_listpack_value;
            let mut h = build_hash(pairs, limits, true)?;
            if let Value::Hash(h) = &mut h {
                h.listpack = listpack;
            }
            h
        }
        HASH_ZIPLIST | HASH_LISTPACK => {
            let flat = bad(if t == HASH_LISTPACK {
                read_listpack(&bad(r.string())?)
            } else {
                read_ziplist(&bad(r.string())?)
            })?;
            build_hash(pairs_of(flat)?, limits, true)?
        }
        ZSET | ZSET_2 => {
            let n = bad(r.length())?;
            let mut pairs = Vec::with_capacity(capacity(n, r));
            for _ in 0..n {
                let m = bad(r.string())?;
                let s = if t == ZSET_2 {
                    f64::from_le_bytes(bad(r.bytes(8))?.try_into().map_err(|_| ReadError::Bad)?)
                } else {
                    read_text_double(r)?
                };
                pairs.push((m, s));
            }
            let longest = pairs.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
            let listpack = pairs.len() <= limits.zset_max_listpack_entries
                && longest <= limits.zset_max_listpack_value;
            build_zset(pairs, listpack)?
        }
        ZSET_ZIPLIST | ZSET_LISTPACK => {
            let flat = bad(if t == ZSET_LISTPACK {
                read_listpack(&bad(r.string())?)
            } else {
                read_ziplist(&bad(r.string())?)
            })?;
            let mut pairs = Vec::with_capacity(flat.len() / 2);
            for (m, s) in pairs_of(flat)? {
                let (score, used, _) = strtod(&s);
                if used != s.len() || s.is_empty() {
                    return Err(ReadError::Bad);
                }
                pairs.push((m, score));
            }
            let listpack = pairs.len() <= limits.zset_max_listpack_entries;
            build_zset(pairs, listpack)?
        }
        STREAM_LISTPACKS | STREAM_LISTPACKS_2 => Value::Stream(Box::new(
            super::stream::read_stream(r, t == STREAM_LISTPACKS_2)?,
        )),
        other => return Err(ReadError::Unsupported(other)),
    })
}

/// A preallocation for `n` claimed elements that the input can actually hold (one byte each at
/// least), so a forged count cannot reserve memory.
fn capacity(n: u64, r: &Reader<'_>) -> usize {
    (n as usize).min(r.remaining())
}

fn nonempty_list(l: ListValue) -> Read<Value> {
    if l.is_empty() {
        return Err(ReadError::Bad);
    }
    Ok(Value::List(Box::new(l)))
}

/// Pairs of consecutive entries (field/value, member/score); an odd count is malformed.
fn pairs_of(flat: Vec<Vec<u8>>) -> Read<Vec<(Vec<u8>, Vec<u8>)>> {
    if !flat.len().is_multiple_of(2) {
        return Err(ReadError::Bad);
    }
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

/// A set of `members` in the encoding SADD would reach (intset while every member is an integer
/// and there are at most set-max-intset-entries); duplicates are malformed.
fn build_set<'a>(mut members: impl Iterator<Item = &'a [u8]>, l: &EncodingLimits) -> Read<Value> {
    let first = bad(members.next())?;
    let mut s = SetValue::for_first(first);
    s.add(first, l.intset_max());
    for m in members {
        if !s.add(m, l.intset_max()) {
            return Err(ReadError::Bad);
        }
    }
    Ok(Value::Set(Box::new(s)))
}

/// A hash of `pairs`; `packed` says the payload was a listpack, ziplist or zipmap, which stays a
/// listpack unless it has too many fields (Redis checks only the count then). Duplicate fields are
/// malformed.
fn build_hash(pairs: Vec<(Vec<u8>, Vec<u8>)>, l: &EncodingLimits, packed: bool) -> Read<Value> {
    if pairs.is_empty() {
        return Err(ReadError::Bad);
    }
    let n = pairs.len();
    let mut h = HashValue::new();
    for (f, v) in pairs {
        if !h.put_field(&f, &v, l) {
            return Err(ReadError::Bad);
        }
    }
    if packed {
        h.listpack = n <= l.hash_max_listpack_entries;
    }
    Ok(Value::Hash(Box::new(h)))
}

/// A sorted set of `pairs` in the given encoding; NaN scores and duplicate members are malformed.
fn build_zset(pairs: Vec<(Vec<u8>, f64)>, listpack: bool) -> Read<Value> {
    if pairs.is_empty() {
        return Err(ReadError::Bad);
    }
    // Limits that make the constructor choose `listpack` and never convert while loading.
    let limits = EncodingLimits {
        zset_max_listpack_entries: if listpack { usize::MAX } else { 0 },
        zset_max_listpack_value: usize::MAX,
        ..EncodingLimits::default()
    };
    let mut z = ZSetValue::for_first_member(0, &limits);
    for (m, s) in pairs {
        if s.is_nan() || z.contains(&m[..]) {
            return Err(ReadError::Bad);
        }
        z.add_absent(&m, s, &limits);
    }
    Ok(Value::ZSet(Box::new(z)))
}

/// A score in the old text form (RDB_TYPE_ZSET): a length byte, 253 for NaN, 254 for +inf, 255
/// for -inf, else that many bytes of decimal text.
fn read_text_double(r: &mut Reader<'_>) -> Read<f64> {
    let n = bad(r.byte())?;
    match n {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        _ => {
            let text = bad(r.bytes(n as usize))?;
            let (v, used, _) = strtod(text);
            if used != text.len() || text.is_empty() {
                return Err(ReadError::Bad);
            }
            Ok(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: &Value) -> Value {
        let mut out = Vec::new();
        write_value(&mut out, v, &WriteOptions::default());
        let mut r = Reader::new(&out[1..]);
        let back = read_value(out[0], &mut r, &EncodingLimits::default()).unwrap();
        assert_eq!(r.remaining(), 0);
        back
    }

    #[test]
    fn strings_as_redis_writes_them() {
        let mut out = Vec::new();
        write_value(
            &mut out,
            &Value::Str(StrValue::from_bytes(b"12")),
            &WriteOptions::default(),
        );
        assert_eq!(out, [0, 0xc0, 12]);
        out.clear();
        write_value(
            &mut out,
            &Value::Str(StrValue::from_bytes(b"hello")),
            &WriteOptions::default(),
        );
        assert_eq!(out, [0, 5, b'h', b'e', b'l', b'l', b'o']);
        let long = Value::Str(StrValue::from_bytes(&[b'x'; 100]));
        out.clear();
        write_value(&mut out, &long, &WriteOptions::default());
        assert_eq!(out[1], 0xc3);
        match round_trip(&long) {
            Value::Str(s) => assert_eq!(s.with_bytes(|b| b.to_vec()), vec![b'x'; 100]),
            _ => panic!("type"),
        }
    }

    #[test]
    fn collections_round_trip() {
        let l = EncodingLimits::default();
        let mut z = ZSetValue::for_first_member(1, &l);
        z.add_absent(b"a", 1.5, &l);
        z.add_absent(b"b", f64::INFINITY, &l);
        z.add_absent(b"c", -3.0, &l);
        match round_trip(&Value::ZSet(Box::new(z))) {
            Value::ZSet(z) => {
                let got: Vec<(f64, Vec<u8>)> = z.iter().map(|(s, m)| (s, m.to_vec())).collect();
                assert_eq!(
                    got,
                    vec![
                        (-3.0, b"c".to_vec()),
                        (1.5, b"a".to_vec()),
                        (f64::INFINITY, b"b".to_vec())
                    ]
                );
                assert!(z.is_listpack());
            }
            _ => panic!("type"),
        }
        let mut h = HashValue::new();
        h.put_field(b"f", b"1", &l);
        h.put_field(b"g", &[b'v'; 100], &l);
        match round_trip(&Value::Hash(Box::new(h))) {
            Value::Hash(h) => {
                assert_eq!(h.fields.len(), 2);
                assert!(!h.listpack);
            }
            _ => panic!("type"),
        }
        let mut list = ListValue::with_capacity(0);
        for i in 0..3000 {
            list.push(format!("element-{i}").into_bytes().into(), false);
        }
        match round_trip(&Value::List(Box::new(list))) {
            Value::List(l) => assert_eq!(l.items.len(), 3000),
            _ => panic!("type"),
        }
    }

    #[test]
    fn garbage_is_refused() {
        let l = EncodingLimits::default();
        for t in 0..=20u8 {
            for bytes in [&b""[..], b"\x05abc", b"\x01\x00", b"\xff\xff\xff"] {
                let _ = read_value(t, &mut Reader::new(bytes), &l);
            }
        }
        // A duplicate set member.
        assert_eq!(
            read_value(types::SET, &mut Reader::new(b"\x02\x01a\x01a"), &l).err(),
            Some(ReadError::Bad)
        );
    }
}
