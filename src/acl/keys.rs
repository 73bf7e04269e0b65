//! What a command does with each of its keys and channels, for the permission check: the key
//! positions are the command table's (those routing uses), the access each needs comes from
//! Redis's key specs (`access` needs read permission; `insert`, `update`, `delete` need write),
//! with Redis's own rules for the commands whose flags depend on their arguments (SET with GET,
//! BITFIELD with only GETs, SORT's STORE).

use super::rules::{READ, WRITE};
use crate::command::meta::{BeginSearch, FindKeys, META};
use crate::command::slots::SLOTS;
use crate::command::{Args, TABLE};

/// The permission bits a key spec's flags ask for.
fn needs_of(flags: &[&str]) -> u8 {
    let mut n = 0;
    for f in flags {
        match *f {
            "access" => n |= READ,
            "insert" | "update" | "delete" => n |= WRITE,
            _ => {}
        }
    }
    n
}

/// Appends (argument index, permissions needed) for every key of command `ci` (slot `slot`)
/// called with `args`.
pub fn key_needs(ci: usize, slot: usize, args: &Args, out: &mut Vec<(usize, u8)>) {
    let cmd = TABLE.get(ci);
    let mut pos = Vec::new();
    cmd.key_indices(args, &mut pos);
    if pos.is_empty() {
        return;
    }
    let name = SLOTS.name(slot);
    match name {
        "set" => {
            let get = (3..args.len()).any(|i| args.get(i).eq_ignore_ascii_case(b"get"));
            let need = if get { READ | WRITE } else { WRITE };
            out.extend(pos.iter().map(|&p| (p, need)));
            return;
        }
        "bitfield" => {
            let need = if bitfield_read_only(args) {
                READ
            } else {
                READ | WRITE
            };
            out.extend(pos.iter().map(|&p| (p, need)));
            return;
        }
        "sort" | "sort_ro" => {
            for (j, &p) in pos.iter().enumerate() {
                out.push((p, if j == 0 { READ } else { WRITE }));
            }
            return;
        }
        _ => {}
    }
    let Some(meta) = META.get(name.as_bytes()) else {
        out.extend(pos.iter().map(|&p| (p, READ | WRITE)));
        return;
    };
    let specs: Vec<_> = meta
        .key_specs
        .iter()
        .filter(|s| !s.flags.contains(&"not_key"))
        .collect();
    if specs.is_empty() && !meta.key_specs.is_empty() {
        // Only `not_key` specs (SPUBLISH's shard channel): no key to check.
        return;
    }
    let union = specs.iter().fold(0, |a, s| a | needs_of(&s.flags));
    let mut found: Vec<(usize, u8)> = Vec::new();
    for s in &specs {
        spec_positions(s, args, needs_of(&s.flags), &mut found);
    }
    for p in pos {
        let need = found
            .iter()
            .filter(|(q, _)| *q == p)
            .fold(None, |a: Option<u8>, (_, n)| Some(a.unwrap_or(0) | n))
            .unwrap_or(union);
        out.push((p, need));
    }
}

/// Redis's bitfieldGetKeys: read-only when every operation is a GET (with its arguments) or
/// OVERFLOW.
fn bitfield_read_only(args: &Args) -> bool {
    let mut i = 2;
    while i < args.len() {
        let rem = args.len() - i - 1;
        if args.is(i, "get") && rem >= 2 {
            i += 3;
        } else if args.is(i, "overflow") && rem >= 1 {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

/// The positions one key spec designates (Redis's getKeysUsingKeySpecs for one spec); nothing
/// for a spec these arguments do not fit.
fn spec_positions(
    s: &crate::command::meta::KeySpecMeta,
    args: &Args,
    need: u8,
    out: &mut Vec<(usize, u8)>,
) {
    let argc = args.len() as i64;
    let first = match s.begin_search {
        BeginSearch::Index(i) => i,
        BeginSearch::Keyword(kw, from) => {
            let start = if from > 0 { from } else { argc + from };
            let end = if from > 0 { argc - 1 } else { 1 };
            let mut i = start;
            let mut at = 0;
            loop {
                if i >= argc || i < 1 {
                    break;
                }
                if args.get(i as usize).eq_ignore_ascii_case(kw.as_bytes()) {
                    at = i + 1;
                    break;
                }
                if i == end {
                    break;
                }
                i = if start <= end { i + 1 } else { i - 1 };
            }
            if at == 0 {
                return;
            }
            at
        }
        BeginSearch::Unknown => return,
    };
    let (first, last, step) = match s.find_keys {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => {
            let last = if lastkey >= 0 {
                first + lastkey
            } else if limit == 0 {
                argc + lastkey
            } else {
                first + ((argc - first) / limit + lastkey)
            };
            (first, last, keystep)
        }
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => {
            let at = first + keynumidx;
            if at >= argc || at < 0 {
                return;
            }
            let Some(n) = crate::resp::parse_i64(args.get(at as usize)).filter(|&n| n >= 0) else {
                return;
            };
            let f = first + firstkey;
            (f, f + n - 1, keystep)
        }
        FindKeys::Unknown => return,
    };
    if last >= argc || last < first || first >= argc || step <= 0 {
        return;
    }
    let mut i = first;
    while i <= last {
        out.push((i as usize, need));
        i += step;
    }
}

/// Appends (argument index, is a pattern) for every channel command `ci` publishes or subscribes
/// to (unsubscribing needs no permission).
pub fn channels(ci: usize, args: &Args, out: &mut Vec<(usize, bool)>) {
    match TABLE.get(ci).name {
        "subscribe" | "ssubscribe" => out.extend((1..args.len()).map(|i| (i, false))),
        "psubscribe" => out.extend((1..args.len()).map(|i| (i, true))),
        "publish" | "spublish" if args.len() > 1 => out.push((1, false)),
        _ => {}
    }
}
