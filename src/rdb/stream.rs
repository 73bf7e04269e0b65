//! Streams in Redis's RDB object format: RDB_TYPE_STREAM_LISTPACKS_2 (19), which Redis 7.0 writes,
//! and RDB_TYPE_STREAM_LISTPACKS (15), which Redis 5 and 6 wrote.
//!
//! The object is the radix tree of entry nodes (each: its master id as a 16-byte big-endian RDB
//! string, then the node as a listpack string), the length, the last id, then (type 19 only) the
//! first id, the largest deleted id and the count of entries ever added, then the consumer groups:
//! name, last delivered id, (type 19 only) entries read, the group's pending entries (16-byte raw
//! id, delivery time as 8 bytes little endian, delivery count), and its consumers (name, seen time,
//! and the raw ids of the pending entries they own).
//!
//! A node's listpack is Redis's stream layout (t_stream.c): the master entry `count, deleted,
//! num-fields, field..., 0`, then per entry `flags, ms-diff, seq-diff, [num-fields, field, value...
//! | value...], lp-count`, where SAMEFIELDS (2) omits the field names when they are the master's,
//! DELETED (1) marks a tombstone and lp-count (the entry's element count) lets Redis walk the
//! listpack backwards. Rustis's blocks are cut where Redis cuts its listpacks and keep the same
//! flags, so writing one rebuilds the listpack Redis holds, byte for byte.
//!
//! Reading validates as Redis's deep sanitization does (listpack integrity, the master entry and
//! its terminator, every entry's shape, lp-count, no element left over, unique node keys, group
//! and consumer names, PEL ids, every pending entry owned by one consumer) and more, for what
//! Rustis relies on: ids ascending across nodes and at or after their node's key, counts matching
//! the flags, the length matching the live entries, the last id not below any entry, flags within
//! the two Redis defines. Anything else is [`ReadError::Bad`], never a panic.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::pack::{canonical_i64, read_listpack, ListpackWriter};
use super::value::{write_raw_string, ReadError, WriteOptions};
use super::{write_len, Reader};
use crate::store::stream::{BlockBuilder, Consumer, Group, Nack, Stream, StreamId};

/// Entry flags (t_stream.c).
const FLAG_DELETED: i64 = 1;
const FLAG_SAME_FIELDS: i64 = 2;

type Read<T> = Result<T, ReadError>;

fn bad<T>(o: Option<T>) -> Read<T> {
    o.ok_or(ReadError::Bad)
}

/// An id as the 16 bytes Redis uses for radix tree keys and PEL ids (big endian ms, then seq).
fn id_bytes(id: StreamId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.ms.to_be_bytes());
    k[8..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

/// The id of 16 raw bytes (a node key, a PEL id); anything but 16 bytes is malformed.
fn id_from(b: &[u8]) -> Read<StreamId> {
    if b.len() != 16 {
        return Err(ReadError::Bad);
    }
    let (ms, seq) = b.split_at(8);
    let ms = u64::from_be_bytes(ms.try_into().map_err(|_| ReadError::Bad)?);
    let seq = u64::from_be_bytes(seq.try_into().map_err(|_| ReadError::Bad)?);
    Ok(StreamId::new(ms, seq))
}

/// An id as two RDB lengths, ms then seq, as the stream metadata and groups hold it.
fn write_id_lens(out: &mut Vec<u8>, id: StreamId) {
    write_len(out, id.ms);
    write_len(out, id.seq);
}

/// Rebuilds one block's listpack as Redis holds it: master entry, entries, lp-counts; strings
/// that read as integers in listpack's integer encodings, as lpAppend stores them. O(block).
fn block_listpack(v: &crate::store::stream::BlockView<'_>) -> Vec<u8> {
    let mut w = ListpackWriter::new();
    let master = v.master_fields();
    w.push_int(v.live as i64);
    w.push_int(v.dead as i64);
    w.push_int(master.len() as i64);
    for f in &master {
        w.push(f);
    }
    w.push_int(0);
    for e in v.entries() {
        let same = e.same_fields();
        let mut flags = if same { FLAG_SAME_FIELDS } else { 0 };
        if e.deleted {
            flags |= FLAG_DELETED;
        }
        w.push_int(flags);
        w.push_int(e.id.ms.wrapping_sub(v.base.ms) as i64);
        w.push_int(e.id.seq.wrapping_sub(v.base.seq) as i64);
        if same {
            for (_, val) in e.pairs() {
                w.push(val);
            }
            w.push_int(e.n as i64 + 3);
        } else {
            w.push_int(e.n as i64);
            for (f, val) in e.pairs() {
                w.push(f);
                w.push(val);
            }
            w.push_int(2 * e.n as i64 + 4);
        }
    }
    w.finish()
}

/// Appends the RDB_TYPE_STREAM_LISTPACKS_2 object of `s` (without the type byte), as Redis 7.0's
/// rdbSaveObject writes it. O(entries + pending entries + consumers).
pub fn write_stream(out: &mut Vec<u8>, s: &Stream, o: &WriteOptions) {
    write_len(out, s.block_count() as u64);
    for v in s.block_views() {
        write_raw_string(out, &id_bytes(v.base), o);
        write_raw_string(out, &block_listpack(&v), o);
    }
    write_len(out, s.length);
    write_id_lens(out, s.last_id);
    write_id_lens(out, s.first_id);
    write_id_lens(out, s.max_deleted);
    write_len(out, s.entries_added);
    let Some(groups) = s.groups.as_deref() else {
        write_len(out, 0);
        return;
    };
    write_len(out, groups.len() as u64);
    for (name, g) in groups {
        write_raw_string(out, name, o);
        write_id_lens(out, g.last_id);
        // Redis saves the signed counter as a length: -1 (unknown) becomes 2^64-1.
        write_len(out, g.entries_read as u64);
        write_len(out, g.pel.len() as u64);
        for (id, n) in &g.pel {
            out.extend_from_slice(&id_bytes(*id));
            out.extend_from_slice(&(n.delivery_time as i64).to_le_bytes());
            write_len(out, n.delivery_count);
        }
        write_len(out, g.consumers.len() as u64);
        for (name, c) in &g.consumers {
            write_raw_string(out, name, o);
            out.extend_from_slice(&(c.seen_time as i64).to_le_bytes());
            write_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id_bytes(*id));
            }
        }
    }
}

/// A listpack element read as an integer, as lpGetIntegerIfValid does (integer encodings, or a
/// string that is a canonical decimal integer).
fn int(e: &[u8]) -> Read<i64> {
    bad(canonical_i64(e))
}

/// A count in a node: a non-negative integer.
fn count(e: &[u8]) -> Read<usize> {
    usize::try_from(int(e)?).map_err(|_| ReadError::Bad)
}

/// Reads one node (master id `base`, listpack `lp`) into `s`, after `prev` (the largest node key
/// or entry id of the nodes before, if any); returns the live entries and the node's last entry
/// id. A node of a master entry only (which Redis never writes, and loads) is checked and
/// dropped. O(node).
fn read_node(
    s: &mut Stream,
    base: StreamId,
    lp: &[u8],
    prev: Option<StreamId>,
) -> Read<(u64, Option<StreamId>)> {
    let els = bad(read_listpack(lp))?;
    // Serialized nodes are never empty: Redis drops a node when its last entry goes.
    if els.is_empty() {
        return Err(ReadError::Bad);
    }
    // Node keys ascend, each above every entry before it (Redis walks its radix tree in order).
    if prev.is_some_and(|p| base <= p) {
        return Err(ReadError::Bad);
    }
    let mut it = els.iter().map(|e| &e[..]);
    let mut next = || it.next().ok_or(ReadError::Bad);
    let live = count(next()?)?;
    let dead = count(next()?)?;
    let nf = count(next()?)?;
    let mut master: Vec<&[u8]> = Vec::with_capacity(nf.min(els.len()));
    for _ in 0..nf {
        master.push(next()?);
    }
    if int(next()?)? != 0 {
        return Err(ReadError::Bad);
    }
    let total = live.checked_add(dead).ok_or(ReadError::Bad)?;
    let mut b = BlockBuilder::new(base, &master);
    let (mut seen_live, mut seen_dead) = (0usize, 0usize);
    let mut last = prev;
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut values: Vec<&[u8]> = Vec::new();
    for _ in 0..total {
        let flags = int(next()?)?;
        if !(0..=FLAG_DELETED | FLAG_SAME_FIELDS).contains(&flags) {
            return Err(ReadError::Bad);
        }
        let ms = base.ms.wrapping_add(int(next()?)? as u64);
        let seq = base.seq.wrapping_add(int(next()?)? as u64);
        let id = StreamId::new(ms, seq);
        if id < base || last.is_some_and(|l| id <= l) {
            return Err(ReadError::Bad);
        }
        last = Some(id);
        let same = flags & FLAG_SAME_FIELDS != 0;
        let n = if same { nf } else { count(next()?)? };
        fields.clear();
        values.clear();
        for _ in 0..n {
            if !same {
                fields.push(next()?);
            }
            values.push(next()?);
        }
        let want = if same { n + 3 } else { 2 * n + 4 };
        if count(next()?)? != want {
            return Err(ReadError::Bad);
        }
        let deleted = flags & FLAG_DELETED != 0;
        if deleted {
            seen_dead += 1;
        } else {
            seen_live += 1;
        }
        b.entry(id, deleted, (!same).then_some(&fields[..]), &values);
    }
    if next().is_ok() || seen_live != live || seen_dead != dead {
        return Err(ReadError::Bad);
    }
    // The listpack's size less its two count elements: what Redis measures (with the counts as
    // they then are) when deciding whether the next entry still fits this node.
    let counts = listpack_int_size(live as i64) + listpack_int_size(dead as i64);
    if !b.is_empty() {
        s.push_block(b, lp.len().saturating_sub(counts));
    }
    Ok((live as u64, last.max(Some(base))))
}

/// Bytes listpack spends on integer `v` (encoding and back-length).
fn listpack_int_size(v: i64) -> usize {
    let mut w = ListpackWriter::new();
    w.push_int(v);
    w.bytes() - 7
}

/// An 8-byte little-endian millisecond time (rdbLoadMillisecondTime).
fn ms_time(r: &mut Reader<'_>) -> Read<u64> {
    let b = bad(r.bytes(8))?;
    Ok(i64::from_le_bytes(b.try_into().map_err(|_| ReadError::Bad)?) as u64)
}

/// Reads a stream object of RDB type 15 (`v2` false) or 19 (`v2` true) from `r`. O(payload).
pub fn read_stream(r: &mut Reader<'_>, v2: bool) -> Read<Stream> {
    let mut s = Stream::default();
    let nodes = bad(r.length())?;
    let mut live = 0u64;
    // The largest node key or entry id so far, and the largest entry id.
    let (mut prev, mut last) = (None, None);
    for _ in 0..nodes {
        let base = id_from(&bad(r.string())?)?;
        let lp = bad(r.string())?;
        let blocks_before = s.block_count();
        let (n, upto) = read_node(&mut s, base, &lp, prev)?;
        live += n;
        if s.block_count() > blocks_before {
            last = upto;
        }
        prev = upto;
    }
    s.length = bad(r.length())?;
    s.last_id = StreamId::new(bad(r.length())?, bad(r.length())?);
    if s.length != live || last.is_some_and(|l| l > s.last_id) {
        return Err(ReadError::Bad);
    }
    if v2 {
        s.first_id = StreamId::new(bad(r.length())?, bad(r.length())?);
        s.max_deleted = StreamId::new(bad(r.length())?, bad(r.length())?);
        s.entries_added = bad(r.length())?;
        // XSETID refuses an entries-added below the length: no payload of Redis's has one.
        if s.entries_added < s.length {
            return Err(ReadError::Bad);
        }
    } else {
        // As Redis migrates a Redis 5/6 stream: nothing deleted recorded, every entry counted
        // once, the first live id (the largest id when there is none, as streamGetEdgeID).
        s.entries_added = s.length;
        s.first_id = s.edge(true).unwrap_or(StreamId::MAX);
    }
    let ngroups = bad(r.length())?;
    let mut groups: BTreeMap<Box<[u8]>, Group> = BTreeMap::new();
    for _ in 0..ngroups {
        let name = bad(r.string())?;
        let last_id = StreamId::new(bad(r.length())?, bad(r.length())?);
        let entries_read = if v2 {
            bad(r.length())? as i64
        } else {
            s.estimate_distance(last_id).unwrap_or(-1)
        };
        if groups.contains_key(&name[..]) {
            return Err(ReadError::Bad);
        }
        let g = read_group(r, last_id, entries_read)?;
        groups.insert(name.into_boxed_slice(), g);
    }
    if !groups.is_empty() {
        s.groups = Some(Box::new(groups));
    }
    Ok(s)
}

/// A group's PEL and consumers: every consumer's pending id in the group's PEL, every PEL entry
/// owned by exactly one consumer.
fn read_group(r: &mut Reader<'_>, last_id: StreamId, entries_read: i64) -> Read<Group> {
    let mut g = Group::new(last_id, entries_read);
    let npel = bad(r.length())?;
    // Delivery time and count per pending id, until a consumer claims it.
    let mut pending: BTreeMap<StreamId, (u64, u64)> = BTreeMap::new();
    for _ in 0..npel {
        let id = id_from(bad(r.bytes(16))?)?;
        let time = ms_time(r)?;
        let count = bad(r.length())?;
        if pending.insert(id, (time, count)).is_some() {
            return Err(ReadError::Bad);
        }
    }
    let nconsumers = bad(r.length())?;
    for _ in 0..nconsumers {
        let name: Arc<[u8]> = Arc::from(bad(r.string())?);
        if g.consumers.contains_key(&name) {
            return Err(ReadError::Bad);
        }
        let mut c = Consumer {
            seen_time: ms_time(r)?,
            ..Consumer::default()
        };
        let n = bad(r.length())?;
        for _ in 0..n {
            let id = id_from(bad(r.bytes(16))?)?;
            // Unknown to the group, or already owned (by this consumer or another).
            let (time, count) = bad(pending.remove(&id))?;
            c.pel.insert(id);
            g.pel.insert(
                id,
                Nack {
                    consumer: name.clone(),
                    delivery_time: time,
                    delivery_count: count,
                },
            );
        }
        g.consumers.insert(name, c);
    }
    if !pending.is_empty() {
        return Err(ReadError::Bad);
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::stream::NodeLimits;

    fn lim(n: u64) -> NodeLimits {
        NodeLimits {
            max_bytes: 4096,
            max_entries: n,
        }
    }

    fn payload(s: &Stream) -> Vec<u8> {
        let mut out = Vec::new();
        write_stream(&mut out, s, &WriteOptions::default());
        out
    }

    fn back(p: &[u8]) -> Read<Stream> {
        let mut r = Reader::new(p);
        let s = read_stream(&mut r, true)?;
        assert_eq!(r.remaining(), 0);
        Ok(s)
    }

    #[test]
    fn one_entry_as_redis_writes_it() {
        // Redis 7.0.15: XADD s 1-1 f v; DUMP s (the object after the type byte 0x13).
        let mut s = Stream::default();
        s.append(StreamId::new(1, 1), &[(b"f", b"v")], lim(100))
            .unwrap();
        let mut want = b"\x01\x10".to_vec();
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        want.extend_from_slice(b"\x1d\x1d\x00\x00\x00\x0a\x00\x01\x01\x00\x01\x01\x01\x81f\x02");
        want.extend_from_slice(b"\x00\x01\x02\x01\x00\x01\x00\x01\x81v\x02\x04\x01\xff");
        want.extend_from_slice(b"\x01\x01\x01\x01\x01\x00\x00\x01\x00");
        assert_eq!(payload(&s), want);
    }

    #[test]
    fn streams_round_trip_byte_for_byte() {
        let mut s = Stream::default();
        for i in 1..=250u64 {
            let f: &[u8] = if i % 7 == 0 { b"other" } else { b"f" };
            let v = format!("{}", i * 1000);
            s.append(
                StreamId::new(i, i % 3),
                &[(f, v.as_bytes()), (b"g", b"x")],
                lim(10),
            )
            .unwrap();
        }
        for i in (5..200u64).step_by(9) {
            s.delete(StreamId::new(i, i % 3));
        }
        s.trim(crate::store::stream::Trim::MaxLen(200), false, 0);
        s.max_deleted = StreamId::new(190, 1);
        let mut g = Group::new(StreamId::new(100, 1), -1);
        let (alice, _) = g.consumer(b"alice", 1234);
        g.consumer(b"12", 99);
        for id in [StreamId::new(60, 0), StreamId::new(61, 1)] {
            g.pel.insert(
                id,
                Nack {
                    consumer: alice.clone(),
                    delivery_time: 5555,
                    delivery_count: 2,
                },
            );
            g.consumers.get_mut(&alice).unwrap().pel.insert(id);
        }
        let mut groups = BTreeMap::new();
        groups.insert(b"grp".to_vec().into_boxed_slice(), g);
        groups.insert(
            b"empty".to_vec().into_boxed_slice(),
            Group::new(StreamId::MIN, 0),
        );
        s.groups = Some(Box::new(groups));
        let p = payload(&s);
        let t = back(&p).unwrap();
        assert_eq!(payload(&t), p);
        assert_eq!(t.length, s.length);
        assert_eq!(t.block_count(), s.block_count());
        // Appending after the load cuts blocks where the original does.
        let (mut a, mut b) = (s.clone(), t);
        for i in 300..340u64 {
            a.append(StreamId::new(i, 0), &[(b"f", b"1")], lim(10))
                .unwrap();
            b.append(StreamId::new(i, 0), &[(b"f", b"1")], lim(10))
                .unwrap();
        }
        assert_eq!(payload(&a), payload(&b));
    }

    /// A node holding a master entry and no entry, then a node of one entry 1-0 (keys `k1`, `k2`).
    fn two_nodes(k1: StreamId, k2: StreamId) -> Vec<u8> {
        let mut w = ListpackWriter::new();
        for v in [0, 0, 1] {
            w.push_int(v);
        }
        w.push(b"f");
        w.push_int(0);
        let empty = w.finish();
        let mut one = Stream::default();
        one.append(k2, &[(b"f", b"v")], lim(100)).unwrap();
        let p = payload(&one);
        // `p` is: 1 node, its key, its listpack, the metadata.
        let mut out = vec![2];
        write_raw_string(&mut out, &id_bytes(k1), &WriteOptions::default());
        write_raw_string(&mut out, &empty, &WriteOptions::default());
        out.extend_from_slice(&p[1..]);
        out
    }

    #[test]
    fn empty_nodes_are_dropped_and_keys_must_ascend() {
        let s = back(&two_nodes(StreamId::new(1, 0), StreamId::new(2, 0))).unwrap();
        assert_eq!(s.block_count(), 1);
        assert_eq!(s.length, 1);
        assert_eq!(s.edge(true), Some(StreamId::new(2, 0)));
        for (k1, k2) in [(3, 2), (2, 2)] {
            let p = two_nodes(StreamId::new(k1, 0), StreamId::new(k2, 0));
            assert_eq!(back(&p).err(), Some(ReadError::Bad), "{k1} {k2}");
        }
    }

    #[test]
    fn damage_is_refused_without_panicking() {
        let mut s = Stream::default();
        for i in 1..=30u64 {
            s.append(StreamId::new(i, 0), &[(b"f", b"v"), (b"n", b"12")], lim(8))
                .unwrap();
        }
        let mut g = Group::new(StreamId::new(3, 0), 3);
        let (c, _) = g.consumer(b"c", 1);
        g.pel.insert(
            StreamId::new(2, 0),
            Nack {
                consumer: c.clone(),
                delivery_time: 1,
                delivery_count: 1,
            },
        );
        g.consumers
            .get_mut(&c)
            .unwrap()
            .pel
            .insert(StreamId::new(2, 0));
        let mut groups = BTreeMap::new();
        groups.insert(b"g".to_vec().into_boxed_slice(), g);
        s.groups = Some(Box::new(groups));
        let p = payload(&s);
        assert!(back(&p).is_ok());
        let mut rng = 12345u64;
        let mut step = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) as usize
        };
        for cut in 0..p.len() {
            let _ = read_stream(&mut Reader::new(&p[..cut]), true);
            let _ = read_stream(&mut Reader::new(&p[..cut]), false);
        }
        for _ in 0..3000 {
            let mut q = p.clone();
            for _ in 0..1 + step() % 3 {
                let i = step() % q.len();
                q[i] ^= 1 << (step() % 8);
            }
            let _ = read_stream(&mut Reader::new(&q), true);
            let _ = read_stream(&mut Reader::new(&q), false);
        }
    }

    /// Every entry (id, pairs) of `s`, live ones, in order.
    type Entries = Vec<(StreamId, Vec<(Vec<u8>, Vec<u8>)>)>;

    fn entries(s: &Stream) -> Entries {
        let mut v = Vec::new();
        s.range(StreamId::MIN, StreamId::MAX, false, |e| {
            v.push((
                e.id,
                e.pairs().map(|(f, x)| (f.to_vec(), x.to_vec())).collect(),
            ));
            true
        });
        v
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8, u8, u16),
        Del(u16),
        Trim(u16, bool),
        Group(u8, u16),
        Deliver(u8, u8, u16),
        Ack(u8, u16),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            8 => (0u8..4, 0u8..4, any::<u16>()).prop_map(|(a, b, c)| Op::Add(a, b, c)),
            2 => any::<u16>().prop_map(Op::Del),
            1 => (0u16..200, any::<bool>()).prop_map(|(n, a)| Op::Trim(n, a)),
            1 => (0u8..3, any::<u16>()).prop_map(|(g, n)| Op::Group(g, n)),
            3 => (0u8..3, 0u8..4, any::<u16>()).prop_map(|(g, c, n)| Op::Deliver(g, c, n)),
            1 => (0u8..3, any::<u16>()).prop_map(|(g, n)| Op::Ack(g, n)),
        ]
    }

    proptest::proptest! {
        /// Random histories (appends with changing fields and integer or text values, deletes,
        /// trims, groups, deliveries, acks) write, read back and write again to the same bytes,
        /// with the same entries, groups and node cuts.
        #[test]
        fn random_histories_round_trip(ops in proptest::collection::vec(op(), 1..300), max in 1u64..12) {
            let limits = NodeLimits { max_bytes: 200, max_entries: max };
            let mut s = Stream::default();
            let mut next = 1u64;
            for o in ops {
                match o {
                    Op::Add(step, nf, v) => {
                        let id = StreamId::new(next / 4, (next % 4) * u64::from(step));
                        next += 1 + u64::from(step);
                        let vals: Vec<Vec<u8>> = (0..nf)
                            .map(|i| {
                                if v % 3 == 0 {
                                    vec![b'x'; (v % 90) as usize + usize::from(i)]
                                } else {
                                    format!("{}", i64::from(v) * 1000 - 7 * i64::from(i)).into_bytes()
                                }
                            })
                            .collect();
                        let names: Vec<Vec<u8>> = (0..nf).map(|i| vec![b'a' + i + (step & 1)]).collect();
                        let pairs: Vec<(&[u8], &[u8])> = names.iter().zip(&vals).map(|(f, x)| (&f[..], &x[..])).collect();
                        if id > s.last_id {
                            s.append(id, &pairs, limits).unwrap();
                        }
                    }
                    Op::Del(k) => {
                        let all = entries(&s);
                        if !all.is_empty() {
                            let id = all[k as usize % all.len()].0;
                            s.delete(id);
                            s.max_deleted = s.max_deleted.max(id);
                            if s.length == 0 {
                                s.first_id = StreamId::MIN;
                            } else {
                                s.first_id = s.edge(true).unwrap();
                            }
                        }
                    }
                    Op::Trim(n, approx) => {
                        s.trim(crate::store::stream::Trim::MaxLen(u64::from(n)), approx, 0);
                    }
                    Op::Group(g, n) => {
                        let groups = s.groups.get_or_insert_with(Box::default);
                        let read = if n % 2 == 0 { -1 } else { i64::from(n) };
                        groups.entry(vec![b'g', g].into_boxed_slice()).or_insert_with(|| Group::new(StreamId::new(u64::from(n), 0), read));
                    }
                    Op::Deliver(g, c, n) => {
                        let all = entries(&s);
                        if let (Some(groups), false) = (s.groups.as_mut(), all.is_empty()) {
                            if let Some(grp) = groups.get_mut(&[b'g', g][..]) {
                                let id = all[n as usize % all.len()].0;
                                let (name, _) = grp.consumer(&[b'c', c], u64::from(n) * 1000);
                                if let std::collections::btree_map::Entry::Vacant(slot) = grp.pel.entry(id) {
                                    slot.insert(Nack {
                                        consumer: name.clone(),
                                        delivery_time: u64::from(n),
                                        delivery_count: u64::from(c),
                                    });
                                    if let Some(con) = grp.consumers.get_mut(&name) {
                                        con.pel.insert(id);
                                    }
                                }
                            }
                        }
                    }
                    Op::Ack(g, n) => {
                        if let Some(grp) = s.groups.as_mut().and_then(|gs| gs.get_mut(&[b'g', g][..])) {
                            if let Some(id) = grp.pel.keys().nth(n as usize % (grp.pel.len() + 1)).copied() {
                                grp.ack(id);
                            }
                        }
                    }
                }
            }
            let p = payload(&s);
            let t = back(&p).unwrap();
            proptest::prop_assert_eq!(payload(&t), p.clone());
            proptest::prop_assert_eq!(entries(&t), entries(&s));
            proptest::prop_assert_eq!(t.block_count(), s.block_count());
            proptest::prop_assert_eq!(t.group_count(), s.group_count());
            // Appending after the load cuts nodes where the original does.
            let (mut a, mut b) = (s, t);
            for i in 0..30u64 {
                let id = StreamId::new(next + i, 0);
                let v = vec![b'v'; (i * 7 % 40) as usize];
                a.append(id, &[(b"a", &v)], limits).unwrap();
                b.append(id, &[(b"a", &v)], limits).unwrap();
            }
            proptest::prop_assert_eq!(payload(&a), payload(&b));
        }
    }
}
