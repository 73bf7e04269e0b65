//! The hash command family.

use super::Command;

/// The hash commands.
pub fn commands() -> Vec<Command> {
    vec![]
}
