//! What a key and its value cost in memory here (MEMORY USAGE): a model of the structures the store
//! really uses, with mimalloc's size classes, not Redis's figures. Collections are sampled as Redis
//! does (`SAMPLES`, default 5): the average cost of the sampled elements stands for every element.

use std::mem::size_of;

use super::table::Entry;
use super::value::{StrValue, Value};
use super::zset::Pair;
use super::Elem;

/// Bytes mimalloc hands out for a request of `n` bytes: its small size classes (multiples of 8 up to
/// 64, then four classes per doubling), page-rounded beyond 128 KiB. O(1).
pub fn alloc_size(n: usize) -> usize {
    match n {
        0 => 0,
        1..=64 => (n + 7) & !7,
        _ if n > 128 << 10 => (n + 4095) & !4095,
        _ => {
            // Four classes per power of two: round up to a quarter of the power below n.
            let top = usize::BITS - 1 - (n - 1).leading_zeros();
            let quarter = 1usize << (top - 2);
            (n + quarter - 1) & !(quarter - 1)
        }
    }
}

/// The heap bytes of one boxed element (member, field, value, list item).
fn elem_cost(e: &Elem) -> usize {
    alloc_size(e.len())
}

/// The average of `cost` over at most `samples` of `items` (all of them when `samples` is 0),
/// times the number of items: Redis's sampled estimate. O(samples).
fn sampled<T>(
    items: impl ExactSizeIterator<Item = T>,
    samples: usize,
    cost: impl Fn(T) -> usize,
) -> usize {
    let n = items.len();
    let take = if samples == 0 { n } else { samples.min(n) };
    if take == 0 {
        return 0;
    }
    let sum: usize = items.take(take).map(cost).sum();
    (sum as f64 / take as f64 * n as f64) as usize
}

/// The heap bytes of an index-map table of `len` entries with `cap` entry slots of `slot` bytes: the
/// entry vector plus hashbrown's index table (a `usize` and a control byte per bucket, at most 7/8
/// full).
fn index_map_cost(len: usize, cap: usize, slot: usize) -> usize {
    let buckets = if len == 0 {
        0
    } else {
        (len * 8 / 7 + 1).next_power_of_two().max(4)
    };
    alloc_size(cap * slot) + alloc_size(buckets * (size_of::<usize>() + 1))
}

impl Value {
    /// The bytes this value holds on the heap, beyond the entry it sits in; collections sampled over
    /// `samples` elements (0: all). O(samples).
    pub fn memory_usage(&self, samples: usize) -> usize {
        match self {
            Value::Str(StrValue::Int(_) | StrValue::Inline { .. }) => 0,
            Value::Str(StrValue::Emb(b)) => alloc_size(b.len()),
            Value::Str(StrValue::Raw(v)) => alloc_size(v.capacity()),
            // The box, the `Bytes` header's shared block and the bytes.
            Value::Str(StrValue::Shared(b)) => {
                alloc_size(size_of::<bytes::Bytes>()) + alloc_size(b.len()) + 32
            }
            Value::List(l) => {
                let slots = l.items.capacity() * size_of::<Elem>();
                alloc_size(size_of_val(&**l))
                    + alloc_size(slots)
                    + sampled(l.items.iter(), samples, elem_cost)
            }
            Value::Set(s) => {
                let slot = size_of::<Elem>() + size_of::<u64>();
                alloc_size(size_of_val(&**s))
                    + index_map_cost(s.members.len(), s.members.capacity(), slot)
                    + sampled(s.members.iter(), samples, elem_cost)
            }
            Value::Hash(h) => {
                let slot = 2 * size_of::<Elem>() + size_of::<u64>();
                alloc_size(size_of_val(&**h))
                    + index_map_cost(h.fields.len(), h.fields.capacity(), slot)
                    + sampled(h.fields.iter(), samples, |(f, v)| {
                        elem_cost(f) + elem_cost(v)
                    })
            }
            Value::ZSet(z) => match z.packed_capacity() {
                // One packed buffer.
                Some(cap) => alloc_size(size_of_val(&**z)) + alloc_size(cap),
                None => {
                    let slot = size_of::<Elem>() + size_of::<f64>() + size_of::<u64>();
                    // The ordered index holds a second copy of each member; its B-tree nodes
                    // carry up to 31 pairs and are about two thirds full on average. The
                    // large representation sits in a box of its own.
                    let ordered = z.len() * size_of::<Pair>() * 3 / 2;
                    alloc_size(size_of_val(&**z))
                        + 160
                        + index_map_cost(z.len(), z.table_capacity(), slot)
                        + ordered
                        + sampled(z.iter_table(), samples, |(m, _)| 2 * alloc_size(m.len()))
                }
            },
            Value::Stream(s) => stream_cost(s),
        }
    }
}

/// The heap bytes of a stream: its header box, the block index, every block (each one exact-size
/// allocation), and its consumer groups (B-tree nodes estimated at 3/2 of their entries). O(B + groups
/// + pending entries).
fn stream_cost(s: &super::stream::Stream) -> usize {
    use super::stream::{Group, Nack, StreamId};
    let (cap, n, bytes) = s.block_bytes();
    let slot = size_of::<(StreamId, Box<[u8]>)>();
    let mut total = alloc_size(size_of::<super::stream::Stream>()) + alloc_size(cap * slot);
    total += bytes + n * 8;
    if let Some(groups) = &s.groups {
        for (name, g) in groups.iter() {
            total += alloc_size(name.len()) + size_of::<Group>() * 3 / 2;
            total += g.pel.len() * (size_of::<StreamId>() + size_of::<Nack>()) * 3 / 2;
            for (cname, c) in &g.consumers {
                total +=
                    alloc_size(cname.len() + 16) + 64 + c.pel.len() * size_of::<StreamId>() * 3 / 2;
            }
        }
    }
    total
}

/// MEMORY USAGE of a key: its share of the table slot, the key bytes when they do not fit in the
/// slot, and the value. O(samples).
pub fn entry_usage(e: &Entry, samples: usize) -> usize {
    let key = if e.key.len() > super::key::INLINE_KEY {
        alloc_size(e.key.len())
    } else {
        0
    };
    // A slot is the entry and a one-byte tag, in a table kept about 7/8 full.
    let slot = (size_of::<Option<Entry>>() + 1) * 8 / 7;
    slot + key + e.value.memory_usage(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes() {
        assert_eq!(alloc_size(0), 0);
        assert_eq!(alloc_size(1), 8);
        assert_eq!(alloc_size(64), 64);
        assert_eq!(alloc_size(65), 80);
        assert_eq!(alloc_size(129), 160);
        assert_eq!(alloc_size(1000), 1024);
        assert_eq!(alloc_size(1 << 20), 1 << 20);
        for n in 1..5000 {
            assert!(alloc_size(n) >= n && alloc_size(n) <= n + n / 4 + 8, "{n}");
        }
    }

    #[test]
    fn bigger_values_cost_more() {
        let small = Value::Str(StrValue::from_bytes(b"abc"));
        let big = Value::Str(StrValue::from_bytes(&[b'x'; 5000]));
        assert_eq!(small.memory_usage(5), 0);
        assert!(big.memory_usage(5) >= 5000);
        let mut h = crate::store::HashValue {
            fields: Default::default(),
            listpack: false,
        };
        for i in 0..100u32 {
            h.fields
                .insert(i.to_string().into_bytes().into(), vec![b'v'; 50].into());
        }
        let v = Value::Hash(Box::new(h));
        // 100 fields of ~2+50 bytes: at least their bytes, and sampling all agrees with sampling 5.
        assert!(v.memory_usage(0) > 100 * 56);
        assert!(v.memory_usage(5).abs_diff(v.memory_usage(0)) < v.memory_usage(0) / 10);
    }
}
