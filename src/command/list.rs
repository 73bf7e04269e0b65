//! The list command family.

use super::Command;

/// The list commands.
pub fn commands() -> Vec<Command> {
    vec![]
}
