//! A shard's data: the key table, one file per value type with its encodings and the cost of each
//! operation, expiry. Knows nothing of sockets, of the protocol or of commands: it imports only
//! [`crate::num`].
#![warn(missing_docs)]

pub mod access;
pub mod blocked;
pub mod db;
pub mod encoding;
pub mod evict;
pub mod geohash;
pub mod hash;
pub mod hll;
pub mod key;
pub mod list;
pub mod memory;
pub mod notify;
pub mod ostree;
pub mod set;
pub mod stream;
pub mod table;
pub mod value;
pub mod watch;
pub mod zset;

pub use blocked::{Blocked, Ticket};
pub use db::{Db, Keyspace, ShardStats};
pub use encoding::{Elem, EncodingLimits};
pub use hash::HashValue;
pub use key::Key;
pub use list::ListValue;
pub use set::SetValue;
pub use stream::{Stream, StreamId};
pub use table::{Entry, Table};
pub use value::{Kind, StrValue, Value, WrongType};
pub use watch::{WatchFlag, Watches};
pub use zset::{Score, ZSetValue};
