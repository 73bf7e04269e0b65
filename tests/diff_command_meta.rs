//! Differential test of command introspection: for every command of the table and every subcommand
//! of its containers, COMMAND INFO and COMMAND DOCS must be redis-server 7.0.15's bytes, in RESP2 and
//! RESP3; COMMAND, COMMAND INFO and COMMAND DOCS without names, COMMAND COUNT and COMMAND LIST (with
//! its filters) must be Redis's restricted to our commands; and redis-cli's `HELP <command>` must
//! print the same text for both servers.
//!
//! Redis lists subcommands (and, without names, commands) in the order of a hash table seeded at random
//! per process, so those lists are compared as sets of byte-exact entries: that order is the only
//! thing not compared byte for byte.

mod common;
use common::{start_redis, start_rustis, Conn};

use rustis::command::TABLE;

/// One RESP value as it came on the wire: its own bytes (a header line, or a whole bulk string or
/// simple value) and, for aggregates, its elements (a map's as key, value, key, value...).
#[derive(Clone, PartialEq, Eq, Debug)]
struct Node {
    head: Vec<u8>,
    children: Vec<Node>,
}

impl Node {
    fn parse(bytes: &[u8]) -> Node {
        let (n, used) = Node::parse_at(bytes, 0);
        assert_eq!(used, bytes.len(), "one reply");
        n
    }

    fn parse_at(b: &[u8], at: usize) -> (Node, usize) {
        let end = at + b[at..].windows(2).position(|w| w == b"\r\n").expect("CRLF") + 2;
        let line = &b[at..end];
        let count = || -> i64 {
            std::str::from_utf8(&line[1..line.len() - 2])
                .unwrap()
                .parse()
                .unwrap()
        };
        let mut node = Node {
            head: line.to_vec(),
            children: Vec::new(),
        };
        let mut pos = end;
        match line[0] {
            b'$' | b'=' | b'!' => {
                let n = count();
                if n >= 0 {
                    node.head.extend_from_slice(&b[pos..pos + n as usize + 2]);
                    pos += n as usize + 2;
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let pairs = matches!(line[0], b'%' | b'|');
                let n = count().max(0) as usize * if pairs { 2 } else { 1 };
                for _ in 0..n {
                    let (child, next) = Node::parse_at(b, pos);
                    node.children.push(child);
                    pos = next;
                }
            }
            _ => {}
        }
        (node, pos)
    }

    fn bytes(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.head);
        for c in &self.children {
            c.bytes(out);
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.bytes(&mut v);
        v
    }

    /// The text of a bulk string.
    fn text(&self) -> String {
        let s = String::from_utf8_lossy(&self.head).into_owned();
        assert!(s.starts_with('$'), "{s:?}");
        s.split("\r\n").nth(1).unwrap_or_default().to_string()
    }

    /// The elements taken two by two (a map in RESP3, a flat array of pairs in RESP2).
    fn pairs(&self) -> Vec<(Node, Node)> {
        assert!(self.children.len().is_multiple_of(2));
        self.children
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect()
    }

    fn from_pairs(head: &[u8], pairs: Vec<(Node, Node)>) -> Node {
        Node {
            head: head.to_vec(),
            children: pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        }
    }
}

/// A COMMAND INFO entry with its subcommands' entries sorted by name.
fn sorted_info_entry(e: &Node) -> Node {
    let mut e = e.clone();
    if e.children.len() == 10 {
        let subs = &mut e.children[9];
        subs.children.sort_by_key(|s| s.children[0].text());
    }
    e
}

/// A COMMAND DOCS value (a doc map) with its `subcommands` sorted by name, nested ones too.
fn sorted_doc(doc: &Node) -> Node {
    let pairs = doc
        .pairs()
        .into_iter()
        .map(|(k, v)| {
            if k.text() == "subcommands" {
                let mut subs: Vec<(Node, Node)> = v
                    .pairs()
                    .into_iter()
                    .map(|(n, d)| (n, sorted_doc(&d)))
                    .collect();
                subs.sort_by_key(|(n, _)| n.text());
                (k, Node::from_pairs(&v.head, subs))
            } else {
                (k, v)
            }
        })
        .collect();
    Node::from_pairs(&doc.head, pairs)
}

/// A COMMAND INFO reply, subcommands sorted.
fn info_reply(bytes: &[u8]) -> Vec<u8> {
    let mut n = Node::parse(bytes);
    n.children = n.children.iter().map(sorted_info_entry).collect();
    n.to_bytes()
}

/// A COMMAND DOCS reply, subcommands sorted (the order of the names asked is kept).
fn docs_reply(bytes: &[u8]) -> Vec<u8> {
    let n = Node::parse(bytes);
    let pairs = n
        .pairs()
        .into_iter()
        .map(|(k, d)| (k, sorted_doc(&d)))
        .collect();
    Node::from_pairs(&n.head, pairs).to_bytes()
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts identical bytes; on a difference, shows where it starts before the whole replies.
fn same(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let around = |b: &[u8]| show(&b[at.saturating_sub(80)..(at + 80).min(b.len())]);
    panic!(
        "{what}: Rustis differs from redis-server at byte {at}\n  rustis: {:?}\n  redis:  {:?}\n\nrustis: {:?}\nredis:  {:?}",
        around(got),
        around(want),
        show(got),
        show(want)
    );
}

/// A pair of connections, one to each server, speaking the same protocol.
struct Pair {
    redis: Conn,
    rustis: Conn,
}

impl Pair {
    fn new(redis: u16, rustis: u16, resp3: bool) -> Pair {
        let mut p = Pair {
            redis: Conn::new(redis),
            rustis: Conn::new(rustis),
        };
        if resp3 {
            // The replies differ by client id only; HELLO itself is compared in diff_server.
            p.redis.call(&["HELLO", "3"]);
            p.rustis.call(&["HELLO", "3"]);
        }
        p
    }

    /// Sends `args` to both and returns (redis, rustis) raw replies.
    fn both(&mut self, args: &[&str]) -> (Vec<u8>, Vec<u8>) {
        (self.redis.call(args), self.rustis.call(args))
    }

    fn check_info(&mut self, args: &[&str]) {
        let (a, b) = self.both(args);
        same(&info_reply(&b), &info_reply(&a), &format!("{args:?}"));
    }

    fn check_docs(&mut self, args: &[&str]) {
        let (a, b) = self.both(args);
        same(&docs_reply(&b), &docs_reply(&a), &format!("{args:?}"));
    }
}

/// The bulk strings of a flat array reply.
fn names(reply: &[u8]) -> Vec<String> {
    Node::parse(reply).children.iter().map(Node::text).collect()
}

/// Every table command and every subcommand Redis lists for its containers.
fn every_name(p: &mut Pair) -> Vec<String> {
    let mut all = Vec::new();
    for cmd in &TABLE.commands {
        all.push(cmd.name.to_string());
        let (subs, _) = p.both(&[
            "COMMAND",
            "LIST",
            "FILTERBY",
            "PATTERN",
            &format!("{}|*", cmd.name),
        ]);
        let mut subs = names(&subs);
        subs.sort();
        all.extend(subs);
    }
    all
}

#[test]
fn command_info_and_docs_match_redis_for_every_command() {
    let redis = start_redis();
    let rustis = start_rustis(2);
    for resp3 in [false, true] {
        let mut p = Pair::new(redis.port, rustis.port, resp3);
        let all = every_name(&mut p);
        assert!(
            all.len() > TABLE.commands.len() + 40,
            "subcommands of CONFIG, CLIENT, COMMAND, OBJECT, FUNCTION"
        );
        for name in &all {
            p.check_info(&["COMMAND", "INFO", name]);
            p.check_docs(&["COMMAND", "DOCS", name]);
        }
        // Any case, several names, unknown names and malformed subcommand names.
        p.check_info(&[
            "COMMAND",
            "INFO",
            "GET",
            "nosuch",
            "Config|Get",
            "get|x",
            "object|",
            "config|get|x",
            "|get",
            "set",
        ]);
        p.check_docs(&[
            "COMMAND",
            "DOCS",
            "SET",
            "nosuch",
            "CONFIG|GET",
            "get|x",
            "config|",
            "get",
            "get",
        ]);
        p.check_docs(&["COMMAND", "DOCS", "nosuch"]);
        // CLIENT SETINFO is Redis 7.2's: 7.0 does not describe it, neither do we.
        p.check_info(&["COMMAND", "INFO", "client|setinfo"]);
    }
}

/// The entries of a whole-table reply by command name: COMMAND / COMMAND INFO (an array of entries)
/// or COMMAND DOCS (pairs of name and doc), each normalized.
fn entries(reply: &[u8], docs: bool) -> std::collections::BTreeMap<String, Vec<u8>> {
    let n = Node::parse(reply);
    if docs {
        n.pairs()
            .into_iter()
            .map(|(k, d)| (k.text(), sorted_doc(&d).to_bytes()))
            .collect()
    } else {
        n.children
            .iter()
            .map(|e| (e.children[0].text(), sorted_info_entry(e).to_bytes()))
            .collect()
    }
}

#[test]
fn whole_table_replies_are_redis_restricted_to_our_commands() {
    let redis = start_redis();
    let rustis = start_rustis(2);
    let ours: Vec<String> = TABLE.commands.iter().map(|c| c.name.to_string()).collect();
    for resp3 in [false, true] {
        let mut p = Pair::new(redis.port, rustis.port, resp3);
        for (args, docs) in [
            (&["COMMAND"][..], false),
            (&["COMMAND", "INFO"][..], false),
            (&["COMMAND", "DOCS"][..], true),
        ] {
            let (a, b) = p.both(args);
            let (theirs, mine) = (entries(&a, docs), entries(&b, docs));
            let mut listed: Vec<&String> = mine.keys().collect();
            let mut want: Vec<&String> = ours.iter().collect();
            listed.sort();
            want.sort();
            assert_eq!(
                listed, want,
                "{args:?} lists every command of the table, once"
            );
            for (name, entry) in &mine {
                let theirs = theirs.get(name).map_or(&[][..], |v| v.as_slice());
                same(entry, theirs, &format!("{args:?}: {name}"));
            }
        }
        let (_, count) = p.both(&["COMMAND", "COUNT"]);
        assert_eq!(show(&count), format!(":{}\r\n", ours.len()));
        // COMMAND LIST and its filters: Redis's names (subcommands included) that are ours.
        let is_ours =
            |n: &String| ours.contains(&n.split('|').next().unwrap_or_default().to_string());
        let (cats, _) = p.both(&["ACL", "CAT"]);
        let mut filters: Vec<Vec<String>> = vec![vec![]];
        for cat in names(&cats) {
            filters.push(vec!["FILTERBY".into(), "ACLCAT".into(), cat]);
        }
        for pat in [
            "*",
            "c*",
            "config|*",
            "*|get",
            "CONFIG|G*",
            "*expire*",
            "h?et",
            "x*",
        ] {
            filters.push(vec!["FILTERBY".into(), "PATTERN".into(), pat.into()]);
        }
        filters.push(vec!["FILTERBY".into(), "MODULE".into(), "x".into()]);
        for f in filters {
            let mut args = vec!["COMMAND", "LIST"];
            args.extend(f.iter().map(String::as_str));
            let (a, b) = p.both(&args);
            let mut want: Vec<String> = names(&a).into_iter().filter(is_ours).collect();
            let mut got = names(&b);
            want.sort();
            got.sort();
            assert_eq!(got, want, "{args:?}");
        }
    }
}

/// redis-cli's `HELP <command>`, which it builds from COMMAND DOCS (arguments included).
fn help(port: u16, words: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "HELP"])
        .args(words)
        .output()
        .expect("redis-cli is required for this test (apt-get install redis-tools)");
    assert!(out.status.success(), "redis-cli HELP {words:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_help_matches_redis() {
    let redis = start_redis();
    let rustis = start_rustis(2);
    let set = help(rustis.port, &["SET"]);
    assert!(
        set.contains("key value [NX|XX] [GET] [EX seconds|PX milliseconds"),
        "{set:?}"
    );
    let mut p = Pair::new(redis.port, rustis.port, false);
    for name in every_name(&mut p) {
        let words: Vec<&str> = name.split('|').collect();
        let (a, b) = (help(redis.port, &words), help(rustis.port, &words));
        assert!(a.contains("summary:"), "redis-cli HELP {name} {a:?}");
        assert_eq!(b, a, "redis-cli HELP {name} (left: rustis, right: redis)");
    }
}
