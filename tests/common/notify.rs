//! Differential keyspace notifications: the same commands on redis-server and Rustis, with
//! `notify-keyspace-events` set on both, and the events each server published compared in order.
//!
//! A subscriber on each server listens on `__key*` (keyspace and keyevent channels). After the
//! commands, the client publishes a sentinel on another channel: the subscriber reads messages up
//! to it, so every event the commands raised is in (each command's events are published before its
//! reply, and the sentinel is published after the last reply), with no timing involved.

use super::{bulks, Conn, Diff};

/// Both servers, a client and a subscriber on each, notifications on.
pub struct NotifyDiff {
    pub d: Diff,
    sub_a: Conn,
    sub_b: Conn,
}

impl NotifyDiff {
    /// Starts both servers with `notify-keyspace-events` = `classes` (e.g. `KEA`).
    pub fn new(classes: &str) -> Self {
        let mut d = Diff::new();
        d.check(&["config", "set", "notify-keyspace-events", classes]);
        let mut sub_a = Conn::new(d.redis.port);
        let mut sub_b = Conn::new(d.rustis.port);
        for s in [&mut sub_a, &mut sub_b] {
            s.call(&["psubscribe", "__key*"]);
            s.call(&["subscribe", "sentinel"]);
        }
        NotifyDiff { d, sub_a, sub_b }
    }

    /// Runs `script` (one command a line, as [`Diff::script`]: replies must match), then asserts
    /// that both servers published the same events in the same order; returns them, each as
    /// `channel payload`.
    pub fn events(&mut self, script: &str) -> Vec<String> {
        self.d.script(script);
        let (a, b) = self.collect();
        assert_eq!(
            b, a,
            "events differ after:\n{script}\n(left: rustis, right: redis)"
        );
        a
    }

    /// Runs `script` as [`NotifyDiff::events`] does, and asserts that each key got the same events
    /// in the same order on both servers, whatever the interleaving between keys (when active
    /// expiry may take keys before the commands reach them, in an order of its own).
    pub fn events_per_key(&mut self, script: &str) -> Vec<String> {
        self.d.script(script);
        let (a, b) = self.collect();
        assert_eq!(
            by_key(&b),
            by_key(&a),
            "per-key events differ after:\n{script}\n(left: rustis, right: redis)"
        );
        a
    }

    /// The events published since the last call, on each server, sorted (for events whose order
    /// is the hash table's, as active expiry's).
    pub fn events_unordered(&mut self) -> Vec<String> {
        let (mut a, mut b) = self.collect();
        a.sort();
        b.sort();
        assert_eq!(b, a, "events differ (left: rustis, right: redis)");
        a
    }

    /// Publishes the sentinel and reads both subscribers up to it.
    fn collect(&mut self) -> (Vec<String>, Vec<String>) {
        self.d.check(&["publish", "sentinel", "end"]);
        (drain(&mut self.sub_a), drain(&mut self.sub_b))
    }
}

/// The messages a subscriber got up to the sentinel, as `channel payload`.
fn drain(sub: &mut Conn) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let m = bulks(&sub.read_reply());
        match m.first().map(String::as_str) {
            Some("message") if m.get(1).map(String::as_str) == Some("sentinel") => return out,
            Some("pmessage") if m.len() == 4 => out.push(format!("{} {}", m[2], m[3])),
            _ => out.push(format!("unexpected: {m:?}")),
        }
    }
}

/// Events grouped by the key they name (a keyspace event's channel, a keyevent's payload), each
/// key's in order.
fn by_key(events: &[String]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for e in events {
        let (channel, payload) = e.split_once(' ').unwrap_or((e, ""));
        let key = match channel.split_once("__:") {
            Some((kind, key)) if kind.starts_with("__keyspace@") => key.to_string(),
            _ => payload.to_string(),
        };
        out.entry(key).or_default().push(e.clone());
    }
    out
}
