//! Hashes: an insertion-ordered map, O(1) field access and O(1) random field by index (HRANDFIELD).
//! While Redis would keep the hash as a listpack, removals preserve insertion order (as a listpack
//! does), so HGETALL, HKEYS, HVALS and HSCAN list fields exactly as Redis does; once it converts to a
//! hash table the order is Redis's unspecified one in both servers.

use indexmap::IndexMap;

use super::encoding::{Elem, EncodingLimits};

/// A hash. `fields` is public for reads and picks by index; fields are set and removed through
/// [`HashValue::put_field`] and [`HashValue::del_field`], which keep `listpack` (the encoding Redis
/// would report) and the listpack's order right. Never empty while stored.
#[derive(Debug, Clone)]
pub struct HashValue {
    /// Field -> value, in insertion order while `listpack`.
    pub fields: IndexMap<Elem, Elem, ahash::RandomState>,
    /// Whether Redis would still encode the hash as a listpack.
    pub listpack: bool,
}

impl Default for HashValue {
    /// An empty hash, listpack-encoded (see [`HashValue::new`]).
    fn default() -> Self {
        Self::new()
    }
}

impl HashValue {
    /// An empty hash, listpack-encoded as Redis creates one. O(1), no allocation.
    pub fn new() -> Self {
        HashValue {
            fields: Default::default(),
            listpack: true,
        }
    }

    /// Sets a field; returns whether it is new. Converts to a hash table as Redis's `hashTypeSet` does
    /// (a field or value longer than the value limit, or more fields than the entry limit), never
    /// back. An overwritten value of the same length is rewritten in place. O(1).
    pub fn put_field(&mut self, f: &[u8], v: &[u8], l: &EncodingLimits) -> bool {
        if f.len() > l.hash_max_listpack_value || v.len() > l.hash_max_listpack_value {
            self.listpack = false;
        }
        let new = match self.fields.get_mut(f) {
            Some(old) if old.len() == v.len() => {
                old.copy_from_slice(v);
                false
            }
            Some(old) => {
                *old = v.into();
                false
            }
            None => {
                self.fields.insert(f.into(), v.into());
                true
            }
        };
        if self.fields.len() > l.hash_max_listpack_entries {
            self.listpack = false;
        }
        new
    }

    /// Removes a field; returns whether it was there. While listpack-encoded the insertion order is
    /// kept (O(N), as deleting from a listpack is); afterwards the last field moves into the hole
    /// (O(1)).
    pub fn del_field(&mut self, f: &[u8]) -> bool {
        if self.listpack {
            self.fields.shift_remove(f).is_some()
        } else {
            self.fields.swap_remove(f).is_some()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_converts_once() {
        let l = EncodingLimits {
            hash_max_listpack_entries: 2,
            hash_max_listpack_value: 4,
            ..EncodingLimits::default()
        };
        let mut h = HashValue::new();
        assert!(h.put_field(b"a", b"1", &l));
        assert!(!h.put_field(b"a", b"2", &l));
        assert!(h.put_field(b"b", b"2", &l));
        assert!(h.listpack);
        assert!(h.put_field(b"c", b"3", &l));
        assert!(!h.listpack);
        h.del_field(b"c");
        assert!(!h.listpack, "never converts back");
        let mut g = HashValue::new();
        g.put_field(b"a", b"12345", &l);
        assert!(!g.listpack);
    }

    #[test]
    fn listpack_deletes_keep_order() {
        let l = EncodingLimits::default();
        let mut h = HashValue::new();
        for f in [&b"a"[..], b"b", b"c", b"d"] {
            h.put_field(f, b"v", &l);
        }
        h.del_field(b"b");
        let keys: Vec<&[u8]> = h.fields.keys().map(|k| &**k).collect();
        assert_eq!(keys, [&b"a"[..], b"c", b"d"]);
    }
}
