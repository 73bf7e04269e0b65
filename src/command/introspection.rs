//! COMMAND: the command table and Redis 7.0.15's published metadata (COMMAND INFO/DOCS/LIST/
//! COUNT/GETKEYS).

use super::ctx::{unknown_subcommand, ConnCtx};
use super::flag::NO_MANDATORY_KEYS;
use super::meta::{self, CommandMeta, META};
use super::{Args, Command, KeySpec, TABLE};
use crate::resp::{err, Reply};

/// A name COMMAND INFO and COMMAND DOCS answer for: a command of the table, or a subcommand of one
/// of its containers (`config|get`), any case.
enum Described {
    Top(&'static Command),
    Sub(&'static CommandMeta),
}

fn describe(name: &[u8]) -> Option<Described> {
    match name.iter().position(|&b| b == b'|') {
        None => TABLE.lookup(name).map(|(_, cmd)| Described::Top(cmd)),
        Some(at) => {
            TABLE.lookup(&name[..at])?;
            META.get(name)
                .filter(|m| m.sub.is_some())
                .map(Described::Sub)
        }
    }
}

/// The ACL categories of a command or subcommand.
fn acl_categories(d: &Described) -> &'static [&'static str] {
    match d {
        Described::Top(cmd) => META
            .get(cmd.name.as_bytes())
            .map_or(&[], |m| m.acl_categories.as_slice()),
        Described::Sub(m) => &m.acl_categories,
    }
}

/// COMMAND INFO's entry: arity, flags and key range from the table, the rest from Redis's data.
fn command_info(r: &mut Reply, cmd: &Command) {
    let (first, last, step) = match cmd.keys {
        KeySpec::Range(f, l, s) => (f as i64, l as i64, s as i64),
        KeySpec::None => (0, 0, 0),
        KeySpec::Custom(_) => legacy_range(META.get(cmd.name.as_bytes())),
    };
    let head = meta::InfoHead {
        name: cmd.name,
        arity: cmd.arity as i64,
        flags: cmd.flags,
        first_key: first,
        last_key: last,
        key_step: step,
    };
    meta::write_info(r, &head, META.get(cmd.name.as_bytes()));
}

/// The legacy (first, last, step) key range of a command whose keys the table computes, as Redis's
/// `populateCommandLegacyRangeSpec` derives it from the key specs: the consecutive fixed-index
/// range specs of step 1 (GEORADIUS's source key: `1 1 1`; none for LMPOP: `0 0 0`). O(specs).
fn legacy_range(m: Option<&CommandMeta>) -> (i64, i64, i64) {
    let Some(m) = m else { return (0, 0, 0) };
    let (mut first, mut last, mut prev_last) = (i64::MAX, 0i64, 0i64);
    for ks in &m.key_specs {
        let (
            meta::BeginSearch::Index(pos),
            meta::FindKeys::Range {
                lastkey, keystep, ..
            },
        ) = (&ks.begin_search, &ks.find_keys)
        else {
            continue;
        };
        if *keystep != 1 || (prev_last != 0 && prev_last != pos - 1) {
            continue;
        }
        first = first.min(*pos);
        let abs = if *lastkey >= 0 {
            lastkey + pos
        } else {
            *lastkey
        };
        // Redis compares as unsigned, so a negative (counted from the end) last key wins.
        last = if (last as u64) >= (abs as u64) {
            last
        } else {
            abs
        };
        prev_last = last;
    }
    if first == i64::MAX {
        return (0, 0, 0);
    }
    (first, last, 1)
}

/// COMMAND DOCS's pair for one command: its name, then its documentation (an empty map for a command
/// the data misses, which a unit test proves none does).
fn command_docs(r: &mut Reply, name: &str, m: Option<&CommandMeta>) {
    r.bulk(name.as_bytes());
    match m {
        Some(m) => meta::write_docs(r, m),
        None => r.map(0),
    }
}

pub(super) fn command(c: &mut ConnCtx, a: &Args) {
    let table = &*TABLE;
    if a.len() == 1 {
        c.reply.array(table.commands.len());
        for cmd in &table.commands {
            command_info(&mut c.reply, cmd);
        }
        return;
    }
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"count" if a.len() == 2 => c.reply.int(table.commands.len() as i64),
        b"list" => {
            // COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: every command
            // and, as Redis lists them, the subcommands of each container.
            let mut all: Vec<(&str, Described)> = Vec::new();
            for cmd in &table.commands {
                all.push((cmd.name, Described::Top(cmd)));
                if let Some(m) = META.get(cmd.name.as_bytes()) {
                    all.extend(META.subcommands(m).map(|s| (s.name, Described::Sub(s))));
                }
            }
            if a.len() == 5 && a.is(2, "filterby") {
                let arg = a.get(4);
                if a.is(3, "module") {
                    all.clear();
                } else if a.is(3, "aclcat") {
                    let cat = String::from_utf8_lossy(arg).to_ascii_lowercase();
                    all.retain(|(_, d)| acl_categories(d).iter().any(|x| x[1..] == cat));
                } else if a.is(3, "pattern") {
                    all.retain(|(n, _)| crate::glob::glob_match(arg, n.as_bytes(), true));
                } else {
                    return c.reply.error(err::SYNTAX);
                }
            } else if a.len() != 2 {
                return c.reply.error(err::SYNTAX);
            }
            c.reply.array(all.len());
            for (n, _) in all {
                c.reply.bulk(n.as_bytes());
            }
        }
        b"info" => {
            if a.len() == 2 {
                c.reply.array(table.commands.len());
                for cmd in &table.commands {
                    command_info(&mut c.reply, cmd);
                }
                return;
            }
            c.reply.array(a.len() - 2);
            for name in a.iter_from(2) {
                match describe(name) {
                    Some(Described::Top(cmd)) => command_info(&mut c.reply, cmd),
                    Some(Described::Sub(m)) => meta::write_sub_info(&mut c.reply, m),
                    None => c.reply.null(),
                }
            }
        }
        b"docs" => {
            let found: Vec<(&str, Option<&CommandMeta>)> = if a.len() == 2 {
                table
                    .commands
                    .iter()
                    .map(|cmd| (cmd.name, META.get(cmd.name.as_bytes())))
                    .collect()
            } else {
                a.iter_from(2)
                    .filter_map(|n| match describe(n)? {
                        Described::Top(cmd) => Some((cmd.name, META.get(cmd.name.as_bytes()))),
                        Described::Sub(m) => Some((m.name, Some(m))),
                    })
                    .collect()
            };
            c.reply.map(found.len());
            for (name, m) in found {
                command_docs(&mut c.reply, name, m);
            }
        }
        b"getkeys" | b"getkeysandflags" if a.len() >= 4 => {
            // Redis's order of checks: the command, whether it takes keys at all, its arity, then
            // whether these arguments name any (a numkeys of 0 does not, unless keys are optional).
            let Some((_, cmd)) = table.lookup(a.get(2)) else {
                return c.reply.error("ERR Invalid command specified");
            };
            if matches!(cmd.keys, KeySpec::None) {
                return c.reply.error("ERR The command has no key arguments");
            }
            let inner = a.skip(2);
            if !cmd.arity_ok(inner.len()) {
                return c
                    .reply
                    .error("ERR Invalid number of arguments specified for command");
            }
            let mut keys = Vec::new();
            cmd.key_indices(&inner, &mut keys);
            if keys.is_empty() {
                if cmd.flags & NO_MANDATORY_KEYS != 0 {
                    return c.reply.array(0);
                }
                return c.reply.error("ERR Invalid arguments specified for command");
            }
            let with_flags = sub.as_slice() == b"getkeysandflags";
            c.reply.array(keys.len());
            for k in keys {
                if with_flags {
                    c.reply.array(2);
                    c.reply.bulk(inner.get(k));
                    c.reply.set(1);
                    c.reply.simple(if cmd.is_write() { "RW" } else { "RO" });
                } else {
                    c.reply.bulk(inner.get(k));
                }
            }
        }
        b"help" => {
            let lines = [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all Redis commands.",
                "COUNT",
                "    Return the total number of commands in this Redis server.",
                "LIST",
                "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "GETKEYS <full-command>",
                "    Return the keys from a full Redis command.",
                "GETKEYSANDFLAGS <full-command>",
                "    Return the keys and the access flags from a full Redis command.",
                "HELP",
                "    Prints this help.",
            ];
            c.reply.array(lines.len());
            for l in lines {
                c.reply.simple(l);
            }
        }
        b"count" | b"getkeys" | b"getkeysandflags" => {
            let name = String::from_utf8_lossy(&sub).into_owned();
            c.reply.error(&format!(
                "ERR wrong number of arguments for 'command|{name}' command"
            ))
        }
        _ => unknown_subcommand(&mut c.reply, a),
    }
}
