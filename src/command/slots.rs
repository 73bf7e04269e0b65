//! Sub-commands and statistics slots.
//!
//! A container command (CONFIG, CLIENT, OBJECT...) declares, in its family file, the sub-commands
//! Rustis implements with Redis's arities. Dispatch refuses a wrong arity or an unknown
//! sub-command before running, as Redis does, and statistics count each sub-command apart
//! (`cmdstat_config|get`): every command-table entry has a stats slot of the same index, and the
//! sub-commands have the slots after them.

use std::sync::LazyLock;

use super::{Args, Sub, TABLE};

/// The stats slots: one per command-table entry (same index), then one per sub-command.
pub struct Slots {
    /// Full names, `get` or `config|get`.
    names: Vec<String>,
    /// For each command-table index, its sub-commands and the slot of the first.
    subs: Vec<Option<(usize, &'static [Sub])>>,
    /// For each command-table index, whether it has sub-commands (the test made per command).
    container: Vec<bool>,
    /// For each slot, the command-table index of the command it belongs to.
    parent: Vec<usize>,
    /// Command-table indices of the commands whose reply reads the statistics (INFO...): the
    /// worker publishes its counters before running them.
    readers: Vec<bool>,
    /// For each slot, its command flags: the table's for a command, Redis's published ones for a
    /// sub-command (scripts check `noscript` and `write` on them).
    flags: Vec<u32>,
}

/// The process-wide slot layout.
pub static SLOTS: LazyLock<Slots> = LazyLock::new(|| {
    let n = TABLE.commands.len();
    let mut names: Vec<String> = TABLE.commands.iter().map(|c| c.name.to_string()).collect();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut subs = vec![None; n];
    for (ci, c) in TABLE.commands.iter().enumerate() {
        if c.subs.is_empty() {
            continue;
        }
        subs[ci] = Some((names.len(), c.subs));
        for (sub, _) in c.subs {
            names.push(format!("{}|{sub}", c.name));
            parent.push(ci);
        }
    }
    let readers = TABLE
        .commands
        .iter()
        .map(|c| matches!(c.name, "info" | "config" | "latency"))
        .collect();
    let flags = names
        .iter()
        .enumerate()
        .map(|(slot, name)| match TABLE.commands.get(slot) {
            Some(c) => c.flags,
            None => super::meta::META
                .get(name.as_bytes())
                .and_then(|m| m.sub)
                .map_or(0, |s| s.flags),
        })
        .collect();
    Slots {
        names,
        flags,
        container: subs.iter().map(Option::is_some).collect(),
        subs,
        parent,
        readers,
    }
});

/// What the sub-command argument of a command names.
pub enum SubLookup {
    /// Not a container command, or a container called alone: counted under the command itself.
    Whole,
    /// A known sub-command: its slot and arity.
    Known(usize, i32),
    /// A container with an unknown sub-command: refused before running, counted nowhere.
    Unknown,
}

impl Slots {
    /// Number of slots.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is no slot (never: every command has one).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The full name of a slot.
    pub fn name(&self, slot: usize) -> &str {
        &self.names[slot]
    }

    /// The command flags of a slot ([`super::flag`] bits).
    pub fn flags(&self, slot: usize) -> u32 {
        self.flags.get(slot).copied().unwrap_or(0)
    }

    /// The command-table index a slot belongs to.
    pub fn parent(&self, slot: usize) -> usize {
        self.parent[slot]
    }

    /// The slots of the subcommands of `slot` (none unless it is a container's command slot).
    pub fn subs_of(&self, slot: usize) -> std::ops::Range<usize> {
        match self.subs.get(slot) {
            Some(Some((first, list))) => *first..first + list.len(),
            _ => 0..0,
        }
    }

    /// Whether command `ci` is a container (has subcommands).
    pub fn has_subs(&self, ci: usize) -> bool {
        self.container.get(ci).copied().unwrap_or(false)
    }

    /// The slot of subcommand `name` (any case) of container `ci`.
    pub fn sub_slot(&self, ci: usize, name: &[u8]) -> Option<usize> {
        let (first, list) = self.subs.get(ci).copied().flatten()?;
        list.iter()
            .position(|(s, _)| s.as_bytes().eq_ignore_ascii_case(name))
            .map(|j| first + j)
    }

    /// Whether command `ci` reads the statistics.
    #[inline]
    pub fn reads_stats(&self, ci: usize) -> bool {
        self.readers[ci]
    }

    /// Resolves the sub-command of command `ci` called with `args`. O(1) unless `ci` is a container.
    #[inline(always)]
    pub fn lookup(&self, ci: usize, args: &Args) -> SubLookup {
        if !self.container.get(ci).copied().unwrap_or(false) {
            return SubLookup::Whole;
        }
        self.lookup_sub(ci, args)
    }

    #[inline(never)]
    fn lookup_sub(&self, ci: usize, args: &Args) -> SubLookup {
        match self.subs[ci] {
            Some((first, list)) if args.len() >= 2 => {
                let name = args.get(1);
                match list
                    .iter()
                    .position(|(s, _)| s.as_bytes().eq_ignore_ascii_case(name))
                {
                    Some(j) => SubLookup::Known(first + j, list[j].1),
                    None => SubLookup::Unknown,
                }
            }
            _ => SubLookup::Whole,
        }
    }

    /// The slot command `ci` called with `args` is counted in (the owner of a forwarded command
    /// resolves it again: arity and sub-command were checked where it arrived).
    #[inline(always)]
    pub fn slot_of(&self, ci: usize, args: &Args) -> usize {
        match self.lookup(ci, args) {
            SubLookup::Known(slot, _) => slot,
            _ => ci,
        }
    }

    /// The slots a name designates for LATENCY HISTOGRAM: `config|get` one sub-command, `config`
    /// the container and all its sub-commands, `get` one command. Any case.
    pub fn resolve(&self, name: &[u8]) -> Vec<usize> {
        let (base, sub) = match memchr::memchr(b'|', name) {
            Some(at) => (&name[..at], Some(&name[at + 1..])),
            None => (name, None),
        };
        let Some((ci, _)) = TABLE.lookup(base) else {
            return Vec::new();
        };
        let subs = self.subs[ci];
        match (sub, subs) {
            (None, None) => vec![ci],
            (None, Some((first, list))) => {
                let mut v = vec![ci];
                v.extend(first..first + list.len());
                v
            }
            (Some(s), Some((first, list))) => list
                .iter()
                .position(|(n, _)| n.as_bytes().eq_ignore_ascii_case(s))
                .map(|j| vec![first + j])
                .unwrap_or_default(),
            (Some(_), None) => Vec::new(),
        }
    }
}
