//! Value types of the keyspace and the encodings Redis reports for them: strings here, collections in
//! their own files ([`super::list`], [`super::set`], [`super::hash`], [`super::zset`]).
//!
//! Each type keeps the data structure that gives Redis's complexity for its commands, plus the
//! encoding name Redis would report (`OBJECT ENCODING`): Redis converts small encodings to big ones
//! once a threshold is crossed and never back, and clients observe that, so we track the same switch.

use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::stream::Stream;
use super::zset::ZSetValue;
use crate::num::parse_i64;

/// A string value, in the smallest form that holds it: integers that print back identically are kept
/// as integers (Redis's `int` encoding), short strings inline in the entry (no allocation), up to 44
/// bytes in an exact-size box (both `embstr`), longer or modified-in-place strings in a growable
/// vector (`raw`).
#[derive(Debug, Clone, PartialEq)]
pub enum StrValue {
    /// Canonical decimal of an i64.
    Int(i64),
    /// Up to [`INLINE_STR`] bytes stored in place.
    Inline {
        /// Bytes used.
        len: u8,
        /// The bytes, `len` of them significant.
        buf: [u8; INLINE_STR],
    },
    /// Up to [`EMBSTR_MAX`] bytes.
    Emb(Box<[u8]>),
    /// Strings grown by APPEND or SETRANGE, and strings shorter than [`SHARED_MIN`] bytes.
    Raw(Vec<u8>),
    /// Large strings, reference-counted so that replies reference them instead of copying them.
    /// Boxed so that a value stays 32 bytes and an entry one cache line (only values of
    /// `SHARED_MIN` bytes and more pay the box).
    Shared(Box<bytes::Bytes>),
}

/// Longest string stored inline.
pub const INLINE_STR: usize = 22;
/// Longest string Redis stores as `embstr`.
pub const EMBSTR_MAX: usize = 44;
/// Strings of at least this many bytes are stored reference-counted ([`StrValue::Shared`]), so that a
/// reply can point at them instead of copying them. It is the reply encoder's zero-copy threshold
/// (`resp::reply::ZERO_COPY_MIN`), which the store may not name; a unit test of the command layer
/// checks that the two agree.
pub const SHARED_MIN: usize = 1024;

impl StrValue {
    /// Builds a string value from client bytes, choosing the encoding Redis would.
    pub fn from_bytes(b: &[u8]) -> Self {
        if b.len() <= 20 {
            if let Some(n) = parse_i64(b) {
                return StrValue::Int(n);
            }
        }
        Self::text(b)
    }

    /// A string value that Redis stores as a string even when it looks like an integer (the results of
    /// INCRBYFLOAT are `embstr`, not `int`).
    pub fn text(b: &[u8]) -> Self {
        if b.len() <= INLINE_STR {
            let mut buf = [0u8; INLINE_STR];
            buf[..b.len()].copy_from_slice(b);
            StrValue::Inline {
                len: b.len() as u8,
                buf,
            }
        } else if b.len() <= EMBSTR_MAX {
            StrValue::Emb(b.into())
        } else if b.len() < SHARED_MIN {
            StrValue::Raw(b.to_vec())
        } else {
            StrValue::Shared(Box::new(bytes::Bytes::copy_from_slice(b)))
        }
    }

    /// A string value made of bytes already shared: no copy (a big argument read into a buffer of
    /// its own, see `Args::shared`). Values below the sharing threshold are copied as usual.
    pub fn from_shared(b: bytes::Bytes) -> Self {
        if b.len() < SHARED_MIN {
            return Self::from_bytes(&b);
        }
        StrValue::Shared(Box::new(b))
    }

    /// The string's bytes; integers are formatted into `tmp`. O(1).
    #[inline]
    pub fn as_bytes<'a>(&'a self, tmp: &'a mut itoa::Buffer) -> &'a [u8] {
        match self {
            StrValue::Int(n) => tmp.format(*n).as_bytes(),
            StrValue::Inline { len, buf } => &buf[..*len as usize],
            StrValue::Emb(b) => b,
            StrValue::Raw(v) => v,
            StrValue::Shared(b) => b,
        }
    }

    /// Length in bytes of the string form. O(1).
    pub fn len(&self) -> usize {
        self.as_bytes(&mut itoa::Buffer::new()).len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with the string's bytes (integers are formatted on the stack).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        f(self.as_bytes(&mut itoa::Buffer::new()))
    }

    /// The string's bytes as a growable vector, for in-place edits (APPEND, SETRANGE); it is `raw`
    /// from then on, as in Redis.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Raw(_)) {
            *self = StrValue::Raw(self.with_bytes(|b| b.to_vec()));
        }
        match self {
            StrValue::Raw(v) => v,
            _ => unreachable!("converted above"),
        }
    }

    /// The encoding name Redis reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Inline { .. } | StrValue::Emb(_) => "embstr",
            StrValue::Raw(_) | StrValue::Shared(_) => "raw",
        }
    }
}

/// A value stored under a key. Collections are boxed so that an entry stays one cache line
/// (key 24 + value 32 + deadline 8 bytes) and a small string needs no other allocation.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string (Redis type `string`).
    Str(StrValue),
    /// A list ([`super::list`]).
    List(Box<ListValue>),
    /// A set ([`super::set`]).
    Set(Box<SetValue>),
    /// A hash ([`super::hash`]).
    Hash(Box<HashValue>),
    /// A sorted set ([`super::zset`]).
    ZSet(Box<ZSetValue>),
    /// A stream ([`super::stream`]).
    Stream(Box<Stream>),
}

/// A typed lookup found its key holding a value of another type: Redis answers
/// `WRONGTYPE Operation against a key holding the wrong kind of value`. The command layer writes that
/// reply for any handler that returns this error (with `?`), so no handler writes it by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongType;

/// A value type a typed lookup can ask for ([`super::Db::get_as`], [`super::Keyspace::read`]).
pub trait Kind: Sized {
    /// The value as this type, or None when it is another one. O(1).
    fn of(v: &Value) -> Option<&Self>;
    /// The same, mutably. O(1).
    fn of_mut(v: &mut Value) -> Option<&mut Self>;
}

/// Implements [`Kind`] for the type held by one variant of [`Value`] (boxed or not).
macro_rules! kind {
    ($t:ty, $variant:ident) => {
        impl Kind for $t {
            #[inline]
            fn of(v: &Value) -> Option<&Self> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }

            #[inline]
            fn of_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}

kind!(StrValue, Str);
kind!(ListValue, List);
kind!(SetValue, Set);
kind!(HashValue, Hash);
kind!(ZSetValue, ZSet);
kind!(Stream, Stream);

impl Value {
    /// The type name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Hash(_) => "hash",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The encoding name OBJECT ENCODING reports (Redis 7.0's names).
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(_) => "quicklist",
            Value::Set(s) => {
                if s.intset {
                    "intset"
                } else {
                    "hashtable"
                }
            }
            Value::Hash(h) => {
                if h.listpack {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::ZSet(z) => {
                if z.is_listpack() {
                    "listpack"
                } else {
                    "skiplist"
                }
            }
            Value::Stream(_) => "stream",
        }
    }

    /// Whether a collection became empty (Redis deletes empty collections).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.items.is_empty(),
            Value::Set(s) => s.members.is_empty(),
            Value::Hash(h) => h.fields.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            // Redis keeps empty streams.
            Value::Stream(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Value>(), 32);
        assert_eq!(std::mem::size_of::<crate::store::Entry>(), 64);
    }

    #[test]
    fn string_encodings() {
        assert_eq!(StrValue::from_bytes(b"123").encoding(), "int");
        assert_eq!(StrValue::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(StrValue::from_bytes(&[b'a'; 4096]).encoding(), "raw");
        assert!(matches!(
            StrValue::from_bytes(&[b'a'; 4096]),
            StrValue::Shared(_)
        ));
        let mut s = StrValue::from_bytes(b"12");
        s.make_raw().push(b'x');
        assert_eq!(s.encoding(), "raw");
        assert_eq!(s.with_bytes(|b| b.to_vec()), b"12x");
    }
}
