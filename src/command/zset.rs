//! The zset command family.

use super::Command;

/// The zset commands.
pub fn commands() -> Vec<Command> {
    vec![]
}
