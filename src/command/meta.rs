//! What Redis 7.0 publishes about its commands through COMMAND DOCS and COMMAND INFO, for the commands
//! of our table: summaries, argument trees (redis-cli's `HELP` and typing hints), history, ACL
//! categories, tips, key specs, and the subcommands of container commands (CONFIG, CLIENT...).
//!
//! Why embedded data rather than fields of the table: these are Redis's own texts and structures, long
//! and nested (SET's arguments are a tree), and they must be Redis's exactly for tools to work.
//! `tools/gen_command_meta.py` asks redis-server 7.0.15 for them and writes `meta.txt` (its format is
//! described there), checking that the text gives back what the server answered, byte for byte, in
//! RESP2 and RESP3. The command table stays the one source of what the worker routes on (name, arity,
//! flags, key positions) and COMMAND INFO shows those from the table; the file holds only what the
//! table does not carry, plus arity, flags and key range of subcommands, which are not table entries.
//!
//! The text is parsed once, on first use, into borrowed slices of the embedded string. A parse failure
//! is a build defect, not a client's doing: the unit tests below parse the embedded file and check it
//! against the table, so the panic in [`META`] cannot be reached by a build that passed its tests.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::flag;
use crate::resp::Reply;

/// The embedded data, written by `tools/gen_command_meta.py`.
const TEXT: &str = include_str!("meta.txt");

/// The parsed data (parsed on first use; see the module comment for why the panic is unreachable).
pub static META: LazyLock<Meta> =
    LazyLock::new(|| Meta::parse(TEXT).unwrap_or_else(|e| panic!("src/command/meta.txt: {e}")));

/// Every command's published facts, top-level commands and subcommands alike.
pub struct Meta {
    /// In file order: each container is followed by its subcommands.
    pub commands: Vec<CommandMeta>,
    /// Index in `commands` by lower-case name (`config|get` for a subcommand).
    by_name: HashMap<&'static str, usize>,
}

/// One command's or subcommand's facts.
#[derive(Default)]
pub struct CommandMeta {
    /// Lower-case name; `container|subcommand` for a subcommand.
    pub name: &'static str,
    pub docs: Docs,
    /// Arity, flags and legacy key range of a subcommand (a top-level command's are the table's).
    pub sub: Option<SubInfo>,
    /// ACL categories with their `@`, in Redis's order.
    pub acl_categories: Vec<&'static str>,
    /// Command tips (`nondeterministic_output`, `request_policy:all_shards`...).
    pub tips: Vec<&'static str>,
    pub key_specs: Vec<KeySpecMeta>,
    /// Indices in [`Meta::commands`] of the subcommands, sorted by name.
    pub subcommands: Vec<usize>,
}

/// COMMAND INFO's fixed fields for a subcommand.
#[derive(Clone, Copy, Default)]
pub struct SubInfo {
    pub arity: i64,
    /// [`flag`] bits.
    pub flags: u32,
    pub first_key: i64,
    pub last_key: i64,
    pub key_step: i64,
}

/// COMMAND DOCS's fields of one command (absent ones are not sent).
#[derive(Default)]
pub struct Docs {
    pub summary: Option<&'static str>,
    pub since: Option<&'static str>,
    pub group: Option<&'static str>,
    pub complexity: Option<&'static str>,
    pub doc_flags: Vec<&'static str>,
    pub deprecated_since: Option<&'static str>,
    pub replaced_by: Option<&'static str>,
    /// (version, what changed), in order.
    pub history: Vec<(&'static str, &'static str)>,
    pub arguments: Vec<Arg>,
}

/// One argument of a command, with its nested arguments for `oneof` and `block` types.
#[derive(Default)]
pub struct Arg {
    pub name: &'static str,
    pub typ: &'static str,
    pub key_spec_index: Option<i64>,
    pub token: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    pub flags: Vec<&'static str>,
    pub arguments: Vec<Arg>,
}

/// One key spec: where a command's keys are and what it does with them.
pub struct KeySpecMeta {
    pub notes: Option<&'static str>,
    /// `RW`, `RO`, `OW`, `RM`, `access`, `update`, `insert`, `delete`...
    pub flags: Vec<&'static str>,
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

/// Where the search for a key spec's keys starts.
pub enum BeginSearch {
    /// At a fixed argument index.
    Index(i64),
    /// After `keyword`, searched from argument `startfrom` (negative: from the end, backwards).
    Keyword(&'static str, i64),
    Unknown,
}

/// How the keys are found once the search has begun.
pub enum FindKeys {
    /// `lastkey` relative to the first key (negative: from the end), every `keystep`; `limit`
    /// divides the remaining arguments when `lastkey` is -1.
    Range {
        lastkey: i64,
        keystep: i64,
        limit: i64,
    },
    /// The number of keys is the argument at `keynumidx`; the first key is `firstkey` after the start.
    Keynum {
        keynumidx: i64,
        firstkey: i64,
        keystep: i64,
    },
    Unknown,
}

impl Meta {
    /// The facts of the command or subcommand named `name`, any case (`CONFIG|GET`).
    pub fn get(&self, name: &[u8]) -> Option<&CommandMeta> {
        let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        self.by_name.get(lower.as_str()).map(|&i| &self.commands[i])
    }

    /// The subcommands of `m`.
    pub fn subcommands<'a>(&'a self, m: &'a CommandMeta) -> impl Iterator<Item = &'a CommandMeta> {
        m.subcommands.iter().map(|&i| &self.commands[i])
    }

    /// Parses the text of `meta.txt`.
    pub fn parse(text: &'static str) -> Result<Meta, String> {
        let mut p = Parser::default();
        for (n, line) in text.lines().enumerate() {
            p.line(line)
                .map_err(|e| format!("line {}: {e}: {line:?}", n + 1))?;
        }
        p.finish_command();
        let mut by_name = HashMap::new();
        for (i, c) in p.commands.iter().enumerate() {
            if c.name != c.name.to_ascii_lowercase() {
                return Err(format!("{} is not lower-case", c.name));
            }
            if by_name.insert(c.name, i).is_some() {
                return Err(format!("{} is described twice", c.name));
            }
        }
        let mut commands = p.commands;
        for i in 0..commands.len() {
            let name = commands[i].name;
            let Some((container, _)) = name.split_once('|') else {
                continue;
            };
            let parent = *by_name
                .get(container)
                .ok_or_else(|| format!("{name} comes without its container"))?;
            commands[parent].subcommands.push(i);
        }
        let names: Vec<&'static str> = commands.iter().map(|c| c.name).collect();
        for c in &mut commands {
            c.subcommands.sort_by_key(|&s| names[s]);
        }
        let meta = Meta { commands, by_name };
        Ok(meta)
    }
}

/// What a line at some depth belongs to while the file is read.
enum Open {
    KeySpec(KeySpecMeta),
    Arg(Arg),
}

#[derive(Default)]
struct Parser {
    commands: Vec<CommandMeta>,
    current: Option<CommandMeta>,
    /// Open key specs and arguments with the depth of the line that opened them.
    open: Vec<(usize, Open)>,
}

fn int(v: &str) -> Result<i64, String> {
    v.parse().map_err(|_| format!("{v:?} is not an integer"))
}

fn words(v: &'static str) -> Vec<&'static str> {
    v.split(' ').filter(|w| !w.is_empty()).collect()
}

fn set_once(slot: &mut Option<&'static str>, v: &'static str) -> Result<(), String> {
    if slot.replace(v).is_some() {
        return Err("field given twice".into());
    }
    Ok(())
}

impl Parser {
    fn line(&mut self, line: &'static str) -> Result<(), String> {
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        if !indent.is_multiple_of(2) {
            return Err("odd indentation".into());
        }
        let depth = indent / 2;
        let (key, value) = body.split_once(' ').unwrap_or((body, ""));
        if depth == 0 {
            if key != "command" || value.is_empty() {
                return Err("expected `command <name>`".into());
            }
            self.finish_command();
            self.current = Some(CommandMeta {
                name: value,
                ..Default::default()
            });
            return Ok(());
        }
        self.close_to(depth)?;
        match self.open.last_mut() {
            None if depth == 1 => self.command_field(key, value, depth),
            None => Err("indented too deep".into()),
            Some((d, _)) if *d + 1 != depth => Err("indented too deep".into()),
            Some((_, Open::KeySpec(ks))) => key_spec_field(ks, key, value),
            Some((_, Open::Arg(arg))) => {
                if key == "argument" {
                    self.open.push((depth, Open::Arg(new_arg(value)?)));
                    Ok(())
                } else {
                    arg_field(arg, key, value)
                }
            }
        }
    }

    fn command(&mut self) -> Result<&mut CommandMeta, String> {
        self.current
            .as_mut()
            .ok_or_else(|| "a field before any command".to_string())
    }

    fn command_field(&mut self, key: &str, v: &'static str, depth: usize) -> Result<(), String> {
        match key {
            "key_spec" => {
                self.open.push((
                    depth,
                    Open::KeySpec(KeySpecMeta {
                        notes: None,
                        flags: Vec::new(),
                        begin_search: BeginSearch::Unknown,
                        find_keys: FindKeys::Unknown,
                    }),
                ));
                return Ok(());
            }
            "argument" => {
                self.open.push((depth, Open::Arg(new_arg(v)?)));
                return Ok(());
            }
            _ => {}
        }
        let c = self.command()?;
        let is_sub = c.name.contains('|');
        let d = &mut c.docs;
        match key {
            "summary" => set_once(&mut d.summary, v)?,
            "since" => set_once(&mut d.since, v)?,
            "group" => set_once(&mut d.group, v)?,
            "complexity" => set_once(&mut d.complexity, v)?,
            "deprecated_since" => set_once(&mut d.deprecated_since, v)?,
            "replaced_by" => set_once(&mut d.replaced_by, v)?,
            "doc_flags" => d.doc_flags = words(v),
            "history" => {
                let (version, what) = v
                    .split_once(' ')
                    .ok_or("expected `history <version> <text>`")?;
                d.history.push((version, what));
            }
            "acl_categories" => c.acl_categories = words(v),
            "tips" => c.tips = words(v),
            "arity" | "flags" | "first_key" | "last_key" | "key_step" => {
                if !is_sub {
                    return Err(
                        "a top-level command's arity, flags and keys are the table's".into(),
                    );
                }
                let s = c.sub.get_or_insert_with(SubInfo::default);
                match key {
                    "arity" => s.arity = int(v)?,
                    "first_key" => s.first_key = int(v)?,
                    "last_key" => s.last_key = int(v)?,
                    "key_step" => s.key_step = int(v)?,
                    _ => {
                        for w in words(v) {
                            let bit = flag::NAMES
                                .iter()
                                .find(|(_, n)| *n == w)
                                .ok_or_else(|| format!("unknown command flag {w:?}"))?;
                            s.flags |= bit.0;
                        }
                    }
                }
            }
            _ => return Err(format!("unknown command field {key:?}")),
        }
        Ok(())
    }

    /// Closes the key specs and arguments opened at `depth` or deeper, attaching each to its parent.
    fn close_to(&mut self, depth: usize) -> Result<(), String> {
        while self.open.last().is_some_and(|(d, _)| *d >= depth) {
            let Some((_, node)) = self.open.pop() else {
                break;
            };
            match (node, self.open.last_mut()) {
                (Open::Arg(a), Some((_, Open::Arg(parent)))) => parent.arguments.push(a),
                (Open::Arg(a), None) => self.command()?.docs.arguments.push(a),
                (Open::KeySpec(ks), None) => self.command()?.key_specs.push(ks),
                _ => return Err("a key spec inside an argument".into()),
            }
        }
        Ok(())
    }

    fn finish_command(&mut self) {
        // Depth 1 closes everything; nothing can fail with a current command.
        if self.current.is_some() {
            let _ = self.close_to(1);
        }
        if let Some(c) = self.current.take() {
            self.commands.push(c);
        }
    }
}

fn new_arg(name: &'static str) -> Result<Arg, String> {
    if name.is_empty() {
        return Err("an argument without a name".into());
    }
    Ok(Arg {
        name,
        ..Default::default()
    })
}

fn arg_field(a: &mut Arg, key: &str, v: &'static str) -> Result<(), String> {
    match key {
        "type" => a.typ = v,
        "key_spec_index" => a.key_spec_index = Some(int(v)?),
        "token" => set_once(&mut a.token, v)?,
        "since" => set_once(&mut a.since, v)?,
        "deprecated_since" => set_once(&mut a.deprecated_since, v)?,
        "flags" => a.flags = words(v),
        _ => return Err(format!("unknown argument field {key:?}")),
    }
    Ok(())
}

fn key_spec_field(ks: &mut KeySpecMeta, key: &str, v: &'static str) -> Result<(), String> {
    let w = words(v);
    let ints = |from: usize, n: usize| -> Result<Vec<i64>, String> {
        if w.len() != from + n {
            return Err(format!("expected {n} numbers"));
        }
        w[from..].iter().map(|x| int(x)).collect()
    };
    match (key, w.first().copied()) {
        ("notes", _) => set_once(&mut ks.notes, v)?,
        ("flags", _) => ks.flags = w,
        ("begin_search", Some("index")) => ks.begin_search = BeginSearch::Index(ints(1, 1)?[0]),
        ("begin_search", Some("keyword")) if w.len() == 3 => {
            ks.begin_search = BeginSearch::Keyword(w[1], int(w[2])?)
        }
        ("begin_search", Some("unknown")) if w.len() == 1 => ks.begin_search = BeginSearch::Unknown,
        ("find_keys", Some("range")) => {
            let n = ints(1, 3)?;
            ks.find_keys = FindKeys::Range {
                lastkey: n[0],
                keystep: n[1],
                limit: n[2],
            }
        }
        ("find_keys", Some("keynum")) => {
            let n = ints(1, 3)?;
            ks.find_keys = FindKeys::Keynum {
                keynumidx: n[0],
                firstkey: n[1],
                keystep: n[2],
            }
        }
        ("find_keys", Some("unknown")) if w.len() == 1 => ks.find_keys = FindKeys::Unknown,
        _ => return Err(format!("unknown key spec field {key:?}")),
    }
    Ok(())
}

// --------------------------------------------------------------------------------------------- render

/// The flag names of `bits`, in the order Redis prints them.
pub fn flag_names(bits: u32) -> impl Iterator<Item = &'static str> {
    flag::NAMES
        .iter()
        .filter(move |(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
}

/// COMMAND INFO's fixed fields of an entry: from the table for a top-level command, from the data for
/// a subcommand.
pub struct InfoHead<'a> {
    pub name: &'a str,
    pub arity: i64,
    pub flags: u32,
    pub first_key: i64,
    pub last_key: i64,
    pub key_step: i64,
}

/// One COMMAND INFO entry: the ten fields Redis 7.0 sends, with the subcommands' entries nested.
/// `m` is None only for a command the data misses (a unit test proves none does): its entry then has
/// no categories, tips, key specs or subcommands.
pub fn write_info(r: &mut Reply, head: &InfoHead, m: Option<&CommandMeta>) {
    r.array(10);
    r.bulk(head.name.as_bytes());
    r.int(head.arity);
    let flags: Vec<&str> = flag_names(head.flags).collect();
    r.set(flags.len());
    for f in flags {
        r.simple(f);
    }
    r.int(head.first_key);
    r.int(head.last_key);
    r.int(head.key_step);
    let empty = CommandMeta::default();
    let m = m.unwrap_or(&empty);
    r.set(m.acl_categories.len());
    for c in &m.acl_categories {
        r.simple(c);
    }
    r.set(m.tips.len());
    for t in &m.tips {
        r.bulk(t.as_bytes());
    }
    r.set(m.key_specs.len());
    for ks in &m.key_specs {
        write_key_spec(r, ks);
    }
    // Redis sends an array of the subcommands' entries for a container, an empty set otherwise.
    if m.subcommands.is_empty() {
        r.set(0);
    } else {
        r.array(m.subcommands.len());
        for sub in META.subcommands(m) {
            write_sub_info(r, sub);
        }
    }
}

/// COMMAND INFO's entry of a subcommand, entirely from the data.
pub fn write_sub_info(r: &mut Reply, m: &CommandMeta) {
    let s = m.sub.unwrap_or_default();
    let head = InfoHead {
        name: m.name,
        arity: s.arity,
        flags: s.flags,
        first_key: s.first_key,
        last_key: s.last_key,
        key_step: s.key_step,
    };
    write_info(r, &head, Some(m));
}

fn write_key_spec(r: &mut Reply, ks: &KeySpecMeta) {
    r.map(3 + ks.notes.is_some() as usize);
    if let Some(n) = ks.notes {
        r.bulk(b"notes");
        r.bulk(n.as_bytes());
    }
    r.bulk(b"flags");
    r.set(ks.flags.len());
    for f in &ks.flags {
        r.simple(f);
    }
    r.bulk(b"begin_search");
    r.map(2);
    r.bulk(b"type");
    match ks.begin_search {
        BeginSearch::Index(i) => {
            r.bulk(b"index");
            r.bulk(b"spec");
            r.map(1);
            r.bulk(b"index");
            r.int(i);
        }
        BeginSearch::Keyword(k, from) => {
            r.bulk(b"keyword");
            r.bulk(b"spec");
            r.map(2);
            r.bulk(b"keyword");
            r.bulk(k.as_bytes());
            r.bulk(b"startfrom");
            r.int(from);
        }
        BeginSearch::Unknown => {
            r.bulk(b"unknown");
            r.bulk(b"spec");
            r.map(0);
        }
    }
    r.bulk(b"find_keys");
    r.map(2);
    r.bulk(b"type");
    let (kind, fields): (&[u8], [(&[u8], i64); 3]) = match ks.find_keys {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => (
            b"range",
            [
                (b"lastkey", lastkey),
                (b"keystep", keystep),
                (b"limit", limit),
            ],
        ),
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => (
            b"keynum",
            [
                (b"keynumidx", keynumidx),
                (b"firstkey", firstkey),
                (b"keystep", keystep),
            ],
        ),
        FindKeys::Unknown => {
            r.bulk(b"unknown");
            r.bulk(b"spec");
            r.map(0);
            return;
        }
    };
    r.bulk(kind);
    r.bulk(b"spec");
    r.map(3);
    for (k, v) in fields {
        r.bulk(k);
        r.int(v);
    }
}

/// One COMMAND DOCS value: the map of a command's documentation, subcommands' nested by name.
pub fn write_docs(r: &mut Reply, m: &CommandMeta) {
    let d = &m.docs;
    let texts = [
        ("summary", d.summary),
        ("since", d.since),
        ("group", d.group),
        ("complexity", d.complexity),
    ];
    let late = [
        ("deprecated_since", d.deprecated_since),
        ("replaced_by", d.replaced_by),
    ];
    let n = texts
        .iter()
        .chain(&late)
        .filter(|(_, v)| v.is_some())
        .count()
        + !d.doc_flags.is_empty() as usize
        + !d.history.is_empty() as usize
        + !d.arguments.is_empty() as usize
        + !m.subcommands.is_empty() as usize;
    r.map(n);
    let field = |r: &mut Reply, (k, v): (&str, Option<&str>)| {
        if let Some(v) = v {
            r.bulk(k.as_bytes());
            r.bulk(v.as_bytes());
        }
    };
    for t in texts {
        field(r, t);
    }
    if !d.doc_flags.is_empty() {
        r.bulk(b"doc_flags");
        r.set(d.doc_flags.len());
        for f in &d.doc_flags {
            r.simple(f);
        }
    }
    for t in late {
        field(r, t);
    }
    if !d.history.is_empty() {
        r.bulk(b"history");
        r.set(d.history.len());
        for (version, what) in &d.history {
            r.array(2);
            r.bulk(version.as_bytes());
            r.bulk(what.as_bytes());
        }
    }
    if !d.arguments.is_empty() {
        r.bulk(b"arguments");
        write_args(r, &d.arguments);
    }
    if !m.subcommands.is_empty() {
        r.bulk(b"subcommands");
        r.map(m.subcommands.len());
        for sub in META.subcommands(m) {
            r.bulk(sub.name.as_bytes());
            write_docs(r, sub);
        }
    }
}

fn write_args(r: &mut Reply, args: &[Arg]) {
    r.array(args.len());
    for a in args {
        let texts = [
            ("token", a.token),
            ("since", a.since),
            ("deprecated_since", a.deprecated_since),
        ];
        let n = 2
            + a.key_spec_index.is_some() as usize
            + texts.iter().filter(|(_, v)| v.is_some()).count()
            + !a.flags.is_empty() as usize
            + !a.arguments.is_empty() as usize;
        r.map(n);
        r.bulk(b"name");
        r.bulk(a.name.as_bytes());
        r.bulk(b"type");
        r.bulk(a.typ.as_bytes());
        if let Some(i) = a.key_spec_index {
            r.bulk(b"key_spec_index");
            r.int(i);
        }
        for (k, v) in texts {
            if let Some(v) = v {
                r.bulk(k.as_bytes());
                r.bulk(v.as_bytes());
            }
        }
        if !a.flags.is_empty() {
            r.bulk(b"flags");
            r.set(a.flags.len());
            for f in &a.flags {
                r.simple(f);
            }
        }
        if !a.arguments.is_empty() {
            r.bulk(b"arguments");
            write_args(r, &a.arguments);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{KeySpec, TABLE};
    use super::*;

    #[test]
    fn embedded_data_parses() {
        let meta = Meta::parse(TEXT).expect("meta.txt parses");
        assert!(meta.commands.len() > TABLE.commands.len());
        // Forcing the static takes the same path.
        assert_eq!(META.commands.len(), meta.commands.len());
    }

    #[test]
    fn data_and_table_describe_the_same_commands() {
        let top: Vec<&str> = META
            .commands
            .iter()
            .filter(|c| !c.name.contains('|'))
            .map(|c| c.name)
            .collect();
        let table: Vec<&str> = TABLE.commands.iter().map(|c| c.name).collect();
        assert_eq!(top, table, "regenerate with tools/gen_command_meta.py");
        for c in &META.commands {
            assert!(
                c.docs.summary.is_some() && c.docs.group.is_some(),
                "{}",
                c.name
            );
            assert!(!c.acl_categories.is_empty(), "{}", c.name);
            assert_eq!(c.sub.is_some(), c.name.contains('|'), "{}", c.name);
            for ks in &c.key_specs {
                assert!(!ks.flags.is_empty(), "{}", c.name);
            }
            fn typed(args: &[Arg]) -> bool {
                args.iter()
                    .all(|a| !a.typ.is_empty() && typed(&a.arguments))
            }
            assert!(
                typed(&c.docs.arguments),
                "{}: an argument without a type",
                c.name
            );
        }
    }

    #[test]
    fn table_flags_agree_with_the_data() {
        for cmd in &TABLE.commands {
            let m = META.get(cmd.name.as_bytes()).expect("described");
            // Redis derives movablekeys from key specs that a fixed range cannot express; a
            // container's keys (OBJECT's) are its subcommands'.
            if !m.subcommands.is_empty() {
                assert_eq!(cmd.flags & flag::MOVABLEKEYS, 0, "{}", cmd.name);
                continue;
            }
            let movable = m.key_specs.iter().any(|ks| {
                !matches!(ks.begin_search, BeginSearch::Index(_))
                    || !matches!(ks.find_keys, FindKeys::Range { .. })
            });
            assert_eq!(cmd.flags & flag::MOVABLEKEYS != 0, movable, "{}", cmd.name);
            // SORT_RO's unknown key spec is its BY/GET patterns, which the table reaches as found
            // keys ([`Command::found_keys`]): its argument keys are the one fixed key.
            assert_eq!(
                matches!(cmd.keys, KeySpec::Custom(_)),
                movable && cmd.name != "sort_ro",
                "{}",
                cmd.name
            );
        }
    }

    #[test]
    fn malformed_text_is_refused() {
        for bad in [
            "  summary x\n",
            "command get\n arity 2\n",
            "command get\n  arity 2\n",
            "command get\n  nosuch 1\n",
            "command a|b\n  arity x\n",
            "command a|b\n  flags nosuch\n",
            "command get\n  key_spec\n    begin_search index\n",
            "command get\n  argument x\n      type key\n",
            "command get\ncommand get\n",
            "command a|b\n  arity 2\n",
            "command GET\n",
            "command get\n    summary x\n",
        ] {
            assert!(Meta::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arguments_nest() {
        let m = META.get(b"SET").expect("set");
        let names: Vec<&str> = m.docs.arguments.iter().map(|a| a.name).collect();
        assert_eq!(names, ["key", "value", "condition", "get", "expiration"]);
        assert_eq!(m.docs.arguments[4].arguments.len(), 5);
        assert_eq!(m.docs.arguments[4].arguments[0].token, Some("EX"));
        let config = META.get(b"config").expect("config");
        let subs: Vec<&str> = META.subcommands(config).map(|s| s.name).collect();
        assert!(subs.contains(&"config|get") && subs.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            META.get(b"CONFIG|GET").and_then(|c| c.sub).map(|s| s.arity),
            Some(-3)
        );
    }
}
