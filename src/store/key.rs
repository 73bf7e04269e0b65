//! Key bytes stored inline in the table entry when short (most keys are), on the heap otherwise.
//!
//! An inline key saves an allocation per key (memory) and, on lookup, the cache miss of following a
//! pointer to compare the key (speed).

use std::fmt;
use std::ops::Deref;

/// Longest key kept inline.
pub const INLINE_KEY: usize = 22;

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

/// A key: 24 bytes, no allocation up to [`INLINE_KEY`] bytes.
#[derive(Clone)]
pub struct Key(Repr);

impl Key {
    /// The key's bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..*len as usize],
            Repr::Heap(b) => b,
        }
    }
}

impl From<&[u8]> for Key {
    #[inline]
    fn from(b: &[u8]) -> Self {
        if b.len() <= INLINE_KEY {
            let mut buf = [0u8; INLINE_KEY];
            buf[..b.len()].copy_from_slice(b);
            Key(Repr::Inline {
                len: b.len() as u8,
                buf,
            })
        } else {
            Key(Repr::Heap(b.into()))
        }
    }
}

impl Deref for Key {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_round_trip() {
        for len in [0, 1, 21, 22, 23, 100] {
            let v: Vec<u8> = (0..len as u8).collect();
            let k = Key::from(&v[..]);
            assert_eq!(&*k, &v[..]);
            assert_eq!(k.clone(), k);
        }
        assert_eq!(std::mem::size_of::<Key>(), 24);
    }
}
