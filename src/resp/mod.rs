//! The wire protocol only: requests in ([`parser`]), replies out ([`reply`]). It knows nothing of the store.

pub mod parser;
pub mod reply;

/// Redis's integer syntax (`string2ll`), which the parser reads lengths with; re-exported here for the
/// callers that reach it through the protocol.
pub use crate::num::parse_i64;
pub use parser::{parse_command, Parsed, ProtocolError, Source};
pub use reply::{err, Reply};
