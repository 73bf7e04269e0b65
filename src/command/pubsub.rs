//! Pub/sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, their shard forms
//! (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH), PUBSUB, and the publication of keyspace notifications. Subscriptions live
//! in the server-wide registry ([`crate::pubsub`]); a message reaches a connection of another
//! worker through that worker's control queue, and is encoded there in the connection's protocol
//! ([`encode_message`]).

use std::sync::Arc;

use super::ctx::{unknown_subcommand, ConnCtx};
use super::Args;
use crate::pubsub::{Delivery, Message, Subscriber};
use crate::resp::Reply;
use crate::shared::Shared;
use crate::store::notify::Note;

/// The pub/sub commands, with Redis 7.0's arity and flags.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<super::Command> {
    use super::flag::*;
    use super::{cmd, Exec::Conn, KeySpec::None as K0, KeySpec::Range};
    const P: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
    vec![
        cmd("subscribe", -2, P, K0, Conn(subscribe)),
        cmd("unsubscribe", -1, P, K0, Conn(unsubscribe)),
        cmd("psubscribe", -2, P, K0, Conn(psubscribe)),
        cmd("punsubscribe", -1, P, K0, Conn(punsubscribe)),
        cmd("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, K0, Conn(publish)),
        cmd("ssubscribe", -2, P, Range(1, -1, 1), Conn(ssubscribe)),
        cmd("sunsubscribe", -1, P, Range(1, -1, 1), Conn(sunsubscribe)),
        cmd("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, Range(1, 1, 1), Conn(spublish)),
        cmd("pubsub", -2, 0, K0, Conn(pubsub)).with_subs(PUBSUB_SUBCOMMANDS),
    ]
}

/// The sub-commands of PUBSUB, with Redis's arities.
pub const PUBSUB_SUBCOMMANDS: &[super::Sub] = &[
    ("channels", -2),
    ("numsub", -2),
    ("numpat", 2),
    ("shardchannels", -2),
    ("shardnumsub", -2),
    ("help", 2),
];

/// Whether command `name` (un)subscribes: its confirmations are pushes, sent even under CLIENT
/// REPLY OFF.
pub fn is_subscription(name: &str) -> bool {
    matches!(
        name,
        "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "ssubscribe" | "sunsubscribe"
    )
}

/// Whether command `name` may run on a RESP2 connection in subscribed mode (Redis 7.0's list).
pub fn allowed_when_subscribed(name: &str) -> bool {
    is_subscription(name) || matches!(name, "ping" | "quit" | "reset")
}

/// The error a subscribed RESP2 connection gets for any other command.
pub fn not_allowed_when_subscribed(fullname: &str) -> String {
    format!(
        "ERR Can't execute '{fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )
}

/// A push header: `>n` in RESP3, an array in RESP2.
fn push(r: &mut Reply, n: usize) {
    if r.resp3() {
        r.raw(format!(">{n}\r\n").as_bytes());
    } else {
        r.array(n);
    }
}

/// Appends `m` as the connection receiving it expects it: `message channel payload`, or
/// `pmessage pattern channel payload`; a push in RESP3. O(bytes).
pub fn encode_message(out: &mut Vec<u8>, resp3: bool, m: &Message) {
    let bytes = m.encoded[resp3 as usize].get_or_init(|| {
        let mut v = Vec::with_capacity(m.channel.len() + m.payload.len() + 48);
        encode_message_into(&mut v, resp3, m);
        v.into_boxed_slice()
    });
    out.extend_from_slice(bytes);
}

fn encode_message_into(out: &mut Vec<u8>, resp3: bool, m: &Message) {
    let mut r = Reply::new(out, resp3);
    match &m.pattern {
        Some(p) => {
            push(&mut r, 4);
            r.bulk(b"pmessage");
            r.bulk(p);
        }
        None => {
            push(&mut r, 3);
            r.bulk(if m.shard { b"smessage" } else { b"message" });
        }
    }
    r.bulk(&m.channel);
    r.bulk(&m.payload);
}

fn who(c: &ConnCtx) -> Subscriber {
    Subscriber {
        worker: c.worker,
        token: c.session.token,
        client: c.session.id,
    }
}

/// What a subscription names: a channel, a pattern, or a shard channel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    /// The session's list of this kind.
    fn mine(self, s: &mut super::ctx::Session) -> &mut Vec<Vec<u8>> {
        match self {
            Kind::Channel => &mut s.channels,
            Kind::Pattern => &mut s.patterns,
            Kind::Shard => &mut s.shard_channels,
        }
    }

    /// The confirmation names: (subscribe, unsubscribe).
    fn words(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Kind::Channel => (b"subscribe", b"unsubscribe"),
            Kind::Pattern => (b"psubscribe", b"punsubscribe"),
            Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }
}

/// One (un)subscription confirmation: `word`, the name (null for none), and the count Redis
/// gives: channels and patterns together, shard channels apart.
fn confirm(c: &mut ConnCtx, kind: Kind, word: &[u8], name: Option<&[u8]>) {
    let n = match kind {
        Kind::Shard => c.session.shard_channels.len(),
        _ => c.session.subscriptions(),
    };
    push(&mut c.reply, 3);
    c.reply.bulk(word);
    match name {
        Some(x) => c.reply.bulk(x),
        None => c.reply.null(),
    }
    c.reply.int(n as i64);
}

/// Mirrors the subscription counts into the client registry (CLIENT LIST sub, psub, ssub).
fn publish_counts(c: &ConnCtx) {
    if let Some(ci) = c.shared.clients().get_mut(&c.session.id) {
        ci.subs = c.session.channels.len();
        ci.psubs = c.session.patterns.len();
        ci.ssubs = c.session.shard_channels.len();
    }
}

/// SUBSCRIBE channel [channel ...]. O(channels).
pub(super) fn subscribe(c: &mut ConnCtx, a: &Args) {
    join(c, a, Kind::Channel)
}

/// PSUBSCRIBE pattern [pattern ...]. O(patterns).
pub(super) fn psubscribe(c: &mut ConnCtx, a: &Args) {
    join(c, a, Kind::Pattern)
}

/// SSUBSCRIBE shardchannel [shardchannel ...]; refused inside EXEC, as Redis refuses it to a
/// client that must not block. O(channels).
pub(super) fn ssubscribe(c: &mut ConnCtx, a: &Args) {
    if c.in_exec {
        return c
            .reply
            .error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    }
    join(c, a, Kind::Shard)
}

/// SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE: each name joined once, each confirmed.
fn join(c: &mut ConnCtx, a: &Args, kind: Kind) {
    let me = who(c);
    for name in a.iter_from(1) {
        let mine = kind.mine(c.session);
        if !mine.iter().any(|x| x == name) {
            mine.push(name.to_vec());
            let mut registry = c.shared.pubsub();
            match kind {
                Kind::Channel => registry.subscribe(name, me),
                Kind::Pattern => registry.psubscribe(name, me),
                Kind::Shard => registry.ssubscribe(name, me),
            }
        }
        confirm(c, kind, kind.words().0, Some(name));
    }
    publish_counts(c);
}

/// UNSUBSCRIBE [channel ...]: the channels named, or every one; with none subscribed, one
/// confirmation with a null channel. O(channels).
pub(super) fn unsubscribe(c: &mut ConnCtx, a: &Args) {
    leave(c, a, Kind::Channel)
}

/// PUNSUBSCRIBE [pattern ...], as UNSUBSCRIBE for patterns. O(patterns).
pub(super) fn punsubscribe(c: &mut ConnCtx, a: &Args) {
    leave(c, a, Kind::Pattern)
}

/// SUNSUBSCRIBE [shardchannel ...], as UNSUBSCRIBE for shard channels. O(channels).
pub(super) fn sunsubscribe(c: &mut ConnCtx, a: &Args) {
    leave(c, a, Kind::Shard)
}

/// UNSUBSCRIBE, PUNSUBSCRIBE and SUNSUBSCRIBE.
fn leave(c: &mut ConnCtx, a: &Args, kind: Kind) {
    let me = who(c);
    let word = kind.words().1;
    let names: Vec<Vec<u8>> = if a.len() > 1 {
        a.iter_from(1).map(<[u8]>::to_vec).collect()
    } else {
        kind.mine(c.session).clone()
    };
    if names.is_empty() {
        confirm(c, kind, word, None);
    }
    for name in names {
        let mine = kind.mine(c.session);
        if let Some(i) = mine.iter().position(|x| *x == name) {
            mine.remove(i);
            let mut registry = c.shared.pubsub();
            match kind {
                Kind::Channel => registry.unsubscribe(&name, me),
                Kind::Pattern => registry.punsubscribe(&name, me),
                Kind::Shard => registry.sunsubscribe(&name, me),
            }
        }
        confirm(c, kind, word, Some(&name));
    }
    publish_counts(c);
}

/// PUBLISH channel message: hands the message to every subscriber of the channel and of each
/// matching pattern, on every worker, and replies how many receive it.
/// O(receivers + patterns).
pub(super) fn publish(c: &mut ConnCtx, a: &Args) {
    let n = publish_to(c.shared, &[(a.get(1), a.get(2))]);
    c.reply.int(n);
}

/// SPUBLISH shardchannel message: as PUBLISH, to the shard channel's subscribers (patterns do
/// not see shard channels). O(receivers).
pub(super) fn spublish(c: &mut ConnCtx, a: &Args) {
    let (channel, payload) = (a.get(1), a.get(2));
    let mut per_worker: Vec<Vec<Delivery>> = vec![Vec::new(); c.shared.workers];
    let mut count = 0;
    let registry = c.shared.pubsub();
    let subs = registry.shard_receivers(channel);
    if !subs.is_empty() {
        let mut m = Message::new(None, channel, payload);
        m.shard = true;
        let m = Arc::new(m);
        for s in subs {
            per_worker[s.worker].push((s.token, s.client, m.clone()));
            count += 1;
        }
    }
    hand_over(c.shared, per_worker);
    drop(registry);
    c.reply.int(count);
}

/// Queues each worker's batch of messages (while the caller holds the registry, so that two
/// publishers' messages reach every worker in the same order).
fn hand_over(shared: &Shared, per_worker: Vec<Vec<Delivery>>) {
    for (worker, batch) in per_worker.into_iter().enumerate() {
        if !batch.is_empty() {
            shared.control(worker, crate::shared::Control::Messages(batch));
        }
    }
}

/// Publishes each (channel, payload) of `messages`, in order, and returns how many receivers
/// they reached. The registry is locked once, and each worker gets one batch; the batches are
/// queued while the registry is held, so two publishers' messages reach every worker in the
/// same order. O(receivers + messages x patterns).
pub fn publish_to(shared: &Shared, messages: &[(&[u8], &[u8])]) -> i64 {
    let mut per_worker: Vec<Vec<Delivery>> = vec![Vec::new(); shared.workers];
    let mut count = 0;
    let registry = shared.pubsub();
    for &(channel, payload) in messages {
        let (direct, by_pattern) = registry.receivers(channel);
        if !direct.is_empty() {
            let m = Arc::new(Message::new(None, channel, payload));
            for s in direct {
                per_worker[s.worker].push((s.token, s.client, m.clone()));
                count += 1;
            }
        }
        for (pattern, subs) in by_pattern {
            let m = Arc::new(Message::new(Some(pattern), channel, payload));
            for s in subs {
                per_worker[s.worker].push((s.token, s.client, m.clone()));
                count += 1;
            }
        }
    }
    hand_over(shared, per_worker);
    count
}

/// Publishes keyspace notifications (`notify-keyspace-events` classes `flags`): for each note,
/// its event on `__keyspace@<db>__:<key>` (with `K`) and its key on `__keyevent@<db>__:<event>`
/// (with `E`), as Redis's notifyKeyspaceEvent. O(notes x (receivers + patterns)).
pub fn publish_notes(shared: &Shared, flags: u32, notes: &[Note]) {
    use crate::store::notify::{KEYEVENT, KEYSPACE};
    let mut channels: Vec<Vec<u8>> = Vec::with_capacity(2 * notes.len());
    for n in notes {
        if flags & KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{}__:", n.db).into_bytes();
            ch.extend_from_slice(&n.key);
            channels.push(ch);
        }
        if flags & KEYEVENT != 0 {
            channels.push(format!("__keyevent@{}__:{}", n.db, n.event).into_bytes());
        }
    }
    let mut messages: Vec<(&[u8], &[u8])> = Vec::with_capacity(channels.len());
    let mut ch = channels.iter();
    for n in notes {
        if flags & KEYSPACE != 0 {
            if let Some(c) = ch.next() {
                messages.push((c, n.event.as_bytes()));
            }
        }
        if flags & KEYEVENT != 0 {
            if let Some(c) = ch.next() {
                messages.push((c, &n.key));
            }
        }
    }
    publish_to(shared, &messages);
}

/// PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | SHARDCHANNELS [pattern] |
/// SHARDNUMSUB [channel ...] | HELP.
pub(super) fn pubsub(c: &mut ConnCtx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"channels" | b"shardchannels" if a.len() <= 3 => {
            let names: Vec<Vec<u8>> = {
                let pattern = (a.len() == 3).then(|| a.get(2));
                let registry = c.shared.pubsub();
                let found = if sub == b"channels" {
                    registry.channels(pattern)
                } else {
                    registry.shard_channels(pattern)
                };
                found.into_iter().map(<[u8]>::to_vec).collect()
            };
            c.reply.array(names.len());
            for n in names {
                c.reply.bulk(&n);
            }
        }
        b"numsub" | b"shardnumsub" => {
            let counts: Vec<usize> = {
                let registry = c.shared.pubsub();
                a.iter_from(2)
                    .map(|ch| {
                        if sub == b"numsub" {
                            registry.numsub(ch)
                        } else {
                            registry.shard_numsub(ch)
                        }
                    })
                    .collect()
            };
            c.reply.array(2 * counts.len());
            for (ch, n) in a.iter_from(2).zip(counts) {
                c.reply.bulk(ch);
                c.reply.int(n as i64);
            }
        }
        b"numpat" => {
            let n = c.shared.pubsub().numpat();
            c.reply.int(n as i64)
        }
        b"help" => {
            let lines = [
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]",
                "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Return the number of subscribers for the specified shard level channel(s)",
                "HELP",
                "    Prints this help.",
            ];
            c.reply.array(lines.len());
            for l in lines {
                c.reply.simple(l);
            }
        }
        _ => unknown_subcommand(&mut c.reply, a),
    }
}
