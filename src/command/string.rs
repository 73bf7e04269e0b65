//! The string command family.

use super::Command;

/// The string commands.
pub fn commands() -> Vec<Command> {
    vec![]
}
