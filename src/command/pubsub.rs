//! Pub/sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB. Subscriptions live
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
    use super::{cmd, Exec::Conn, KeySpec::None as K0};
    const P: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
    vec![
        cmd("subscribe", -2, P, K0, Conn(subscribe)),
        cmd("unsubscribe", -1, P, K0, Conn(unsubscribe)),
        cmd("psubscribe", -2, P, K0, Conn(psubscribe)),
        cmd("punsubscribe", -1, P, K0, Conn(punsubscribe)),
        cmd("publish", 3, PUBSUB | LOADING | STALE | FAST, K0, Conn(publish)),
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

/// Whether command `name` may run on a RESP2 connection in subscribed mode (Redis 7.0's list).
pub fn allowed_when_subscribed(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "unsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
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
            r.bulk(b"message");
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

/// One (un)subscription confirmation: `kind`, the channel or pattern (null for none), the count.
fn confirm(c: &mut ConnCtx, kind: &[u8], name: Option<&[u8]>) {
    let n = c.session.subscriptions();
    push(&mut c.reply, 3);
    c.reply.bulk(kind);
    match name {
        Some(x) => c.reply.bulk(x),
        None => c.reply.null(),
    }
    c.reply.int(n as i64);
}

/// Mirrors the subscription counts into the client registry (CLIENT LIST sub, psub).
fn publish_counts(c: &ConnCtx) {
    if let Some(ci) = c.shared.clients().get_mut(&c.session.id) {
        ci.subs = c.session.channels.len();
        ci.psubs = c.session.patterns.len();
    }
}

/// SUBSCRIBE channel [channel ...]. O(channels).
pub(super) fn subscribe(c: &mut ConnCtx, a: &Args) {
    let me = who(c);
    for ch in a.iter_from(1) {
        if !c.session.channels.iter().any(|x| x == ch) {
            c.session.channels.push(ch.to_vec());
            c.shared.pubsub().subscribe(ch, me);
        }
        confirm(c, b"subscribe", Some(ch));
    }
    publish_counts(c);
}

/// PSUBSCRIBE pattern [pattern ...]. O(patterns).
pub(super) fn psubscribe(c: &mut ConnCtx, a: &Args) {
    let me = who(c);
    for p in a.iter_from(1) {
        if !c.session.patterns.iter().any(|x| x == p) {
            c.session.patterns.push(p.to_vec());
            c.shared.pubsub().psubscribe(p, me);
        }
        confirm(c, b"psubscribe", Some(p));
    }
    publish_counts(c);
}

/// UNSUBSCRIBE [channel ...]: the channels named, or every one; with none subscribed, one
/// confirmation with a null channel. O(channels).
pub(super) fn unsubscribe(c: &mut ConnCtx, a: &Args) {
    leave(c, a, false)
}

/// PUNSUBSCRIBE [pattern ...], as UNSUBSCRIBE for patterns. O(patterns).
pub(super) fn punsubscribe(c: &mut ConnCtx, a: &Args) {
    leave(c, a, true)
}

/// UNSUBSCRIBE (`patterns` false) and PUNSUBSCRIBE.
fn leave(c: &mut ConnCtx, a: &Args, patterns: bool) {
    let me = who(c);
    let kind: &[u8] = if patterns {
        b"punsubscribe"
    } else {
        b"unsubscribe"
    };
    let names: Vec<Vec<u8>> = if a.len() > 1 {
        a.iter_from(1).map(<[u8]>::to_vec).collect()
    } else if patterns {
        c.session.patterns.clone()
    } else {
        c.session.channels.clone()
    };
    if names.is_empty() {
        confirm(c, kind, None);
    }
    for name in names {
        let mine = if patterns {
            &mut c.session.patterns
        } else {
            &mut c.session.channels
        };
        if let Some(i) = mine.iter().position(|x| *x == name) {
            mine.remove(i);
            let mut registry = c.shared.pubsub();
            if patterns {
                registry.punsubscribe(&name, me);
            } else {
                registry.unsubscribe(&name, me);
            }
        }
        confirm(c, kind, Some(&name));
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
    for (worker, batch) in per_worker.into_iter().enumerate() {
        if !batch.is_empty() {
            shared.control(worker, crate::shared::Control::Messages(batch));
        }
    }
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
/// SHARDNUMSUB [channel ...] | HELP. (No shard channels exist yet: SSUBSCRIBE is not
/// implemented, so the SHARD forms answer as Redis does with none.)
pub(super) fn pubsub(c: &mut ConnCtx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"channels" | b"shardchannels" if a.len() <= 3 => {
            let names: Vec<Vec<u8>> = if sub == b"channels" {
                let pattern = (a.len() == 3).then(|| a.get(2));
                c.shared
                    .pubsub()
                    .channels(pattern)
                    .into_iter()
                    .map(<[u8]>::to_vec)
                    .collect()
            } else {
                Vec::new()
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
                            0
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
