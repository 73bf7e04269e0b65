//! What every value type shares: the element type of collections and Redis's encoding thresholds.
//! A leaf of the store: the type files depend on it, it depends on nothing.

/// An element of a collection (list item, set member, hash field or value, zset member).
pub type Elem = Box<[u8]>;

/// Redis's thresholds for its compact encodings (CONFIG parameters); only what OBJECT ENCODING reports
/// depends on them.
#[derive(Debug, Clone, Copy)]
pub struct EncodingLimits {
    /// set-max-intset-entries.
    pub set_max_intset_entries: usize,
    /// hash-max-listpack-entries.
    pub hash_max_listpack_entries: usize,
    /// hash-max-listpack-value.
    pub hash_max_listpack_value: usize,
    /// zset-max-listpack-entries.
    pub zset_max_listpack_entries: usize,
    /// zset-max-listpack-value.
    pub zset_max_listpack_value: usize,
    /// proto-max-bulk-len: the longest string SETBIT, BITFIELD... may grow (Redis checks bit offsets
    /// against it).
    pub proto_max_bulk_len: u64,
    /// hll-sparse-max-bytes: the largest sparse HyperLogLog, header included ([`super::hll`]).
    pub hll_sparse_max_bytes: usize,
    /// stream-node-max-bytes and stream-node-max-entries: where stream blocks are cut.
    pub stream_node: super::stream::NodeLimits,
}

impl EncodingLimits {
    /// The intset size limit in force: set-max-intset-entries, capped at 2^30 as Redis caps it. O(1).
    pub fn intset_max(&self) -> usize {
        self.set_max_intset_entries.min(1 << 30)
    }
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            set_max_intset_entries: 512,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            proto_max_bulk_len: 512 << 20,
            hll_sparse_max_bytes: 3000,
            stream_node: super::stream::NodeLimits {
                max_bytes: 4096,
                max_entries: 100,
            },
        }
    }
}
