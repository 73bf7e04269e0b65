//! The wire protocol only: requests in ([`parser`]), replies out ([`reply`]). It knows nothing of the store.

pub mod parser;
pub mod reply;

pub use parser::{parse_command, parse_i64, Parsed, ProtocolError, Source};
pub use reply::{err, Reply};
