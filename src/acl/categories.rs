//! ACL categories (`@read`, `@admin`...): Redis's list, in its order, and each command slot's
//! membership, read from the published COMMAND INFO data (`src/command/meta.txt`), which holds
//! every category Redis gives a command, the implied ones (`@write` for write commands...)
//! included.

use std::sync::LazyLock;

use crate::command::meta::META;
use crate::command::slots::SLOTS;

/// Category names and bits, in Redis's order (ACL CAT, and the order rules are described in).
pub const CATEGORIES: &[(&str, u32)] = &[
    ("keyspace", 1),
    ("read", 1 << 1),
    ("write", 1 << 2),
    ("set", 1 << 3),
    ("sortedset", 1 << 4),
    ("list", 1 << 5),
    ("hash", 1 << 6),
    ("string", 1 << 7),
    ("bitmap", 1 << 8),
    ("hyperloglog", 1 << 9),
    ("geo", 1 << 10),
    ("stream", 1 << 11),
    ("pubsub", 1 << 12),
    ("admin", 1 << 13),
    ("fast", 1 << 14),
    ("slow", 1 << 15),
    ("blocking", 1 << 16),
    ("dangerous", 1 << 17),
    ("connection", 1 << 18),
    ("transaction", 1 << 19),
    ("scripting", 1 << 20),
];

/// The bit of category `name` (any case, without `@`).
pub fn by_name(name: &[u8]) -> Option<u32> {
    CATEGORIES
        .iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|(_, b)| *b)
}

/// Each slot's categories, computed once.
static OF: LazyLock<Vec<u32>> = LazyLock::new(|| {
    (0..SLOTS.len())
        .map(|slot| {
            META.get(SLOTS.name(slot).as_bytes()).map_or(0, |m| {
                m.acl_categories
                    .iter()
                    .filter_map(|c| by_name(c.trim_start_matches('@').as_bytes()))
                    .fold(0, |a, b| a | b)
            })
        })
        .collect()
});

/// The categories of command slot `slot`.
pub fn of(slot: usize) -> u32 {
    OF.get(slot).copied().unwrap_or(0)
}
