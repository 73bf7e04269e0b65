//! A shard's data: the key table, value types and their encodings, expiry. Knows nothing of sockets.

pub mod db;
pub mod key;
pub mod table;
pub mod value;

pub use db::{Db, EncodingLimits, Keyspace, ShardStats};
pub use key::Key;
pub use table::{Entry, Table};
pub use value::{Elem, HashValue, ListValue, Score, SetValue, StrValue, Value, ZSetValue};
