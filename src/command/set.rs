//! The set command family.

use super::Command;

/// The set commands.
pub fn commands() -> Vec<Command> {
    vec![]
}
