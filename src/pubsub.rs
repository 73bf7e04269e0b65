//! Who is subscribed to what, across every worker (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, PUBLISH,
//! SPUBLISH, PUBSUB). Shard channels are a namespace of their own: without a cluster, every
//! shard channel lives on this one node, so they work as plain channels that patterns never
//! match.
//!
//! One registry for the whole server, behind one lock: PUBLISH must count every receiver on every
//! worker, and a subscription is rare next to a message. A publisher takes the lock once per
//! message, finds the receivers, and hands each worker one batch of (connection, encoded message)
//! through its control queue; the worker writes them to its connections in the order they came,
//! so messages keep their publisher's order.

use std::collections::HashMap;
use std::sync::Arc;

/// A subscribed connection: its worker, slab token there, and client id (tokens are reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscriber {
    /// The worker serving the connection.
    pub worker: usize,
    /// Its slab token on that worker.
    pub token: u32,
    /// Its client id.
    pub client: u64,
}

/// A published message: for every receiver of one kind (channel, shard channel or one pattern),
/// encoded once per protocol, by the first worker that needs that form.
#[derive(Debug)]
pub struct Message {
    /// The pattern it matched (a `pmessage`), or None (a `message`).
    pub pattern: Option<Box<[u8]>>,
    /// Published on a shard channel (an `smessage`).
    pub shard: bool,
    /// The channel and the payload.
    pub channel: Box<[u8]>,
    pub payload: Box<[u8]>,
    /// The RESP2 and RESP3 encodings, made on first use.
    pub encoded: [std::sync::OnceLock<Box<[u8]>>; 2],
}

impl Message {
    /// A message on `channel` (through `pattern`, if any).
    pub fn new(pattern: Option<&[u8]>, channel: &[u8], payload: &[u8]) -> Self {
        Message {
            pattern: pattern.map(Box::from),
            shard: false,
            channel: channel.into(),
            payload: payload.into(),
            encoded: Default::default(),
        }
    }
}

/// A message for one connection: its token, client id, and the message.
pub type Delivery = (u32, u64, Arc<Message>);

/// The subscribers reached through patterns: each matching pattern with its subscribers.
pub type ByPattern<'a> = Vec<(&'a [u8], &'a [Subscriber])>;

/// The subscriptions of every connection.
#[derive(Debug, Default)]
pub struct Registry {
    channels: HashMap<Box<[u8]>, Vec<Subscriber>>,
    shard_channels: HashMap<Box<[u8]>, Vec<Subscriber>>,
    /// Patterns with their subscribers, in the order they were first subscribed.
    patterns: Vec<(Box<[u8]>, Vec<Subscriber>)>,
}

impl Registry {
    /// Adds `who` to `channel` (once). O(subscribers of the channel).
    pub fn subscribe(&mut self, channel: &[u8], who: Subscriber) {
        let list = self.channels.entry(Box::from(channel)).or_default();
        if !list.contains(&who) {
            list.push(who);
        }
    }

    /// Removes `who` from `channel`. O(subscribers of the channel).
    pub fn unsubscribe(&mut self, channel: &[u8], who: Subscriber) {
        leave(&mut self.channels, channel, who)
    }

    /// Adds `who` to shard channel `channel` (once). O(subscribers of the channel).
    pub fn ssubscribe(&mut self, channel: &[u8], who: Subscriber) {
        let list = self.shard_channels.entry(Box::from(channel)).or_default();
        if !list.contains(&who) {
            list.push(who);
        }
    }

    /// Removes `who` from shard channel `channel`. O(subscribers of the channel).
    pub fn sunsubscribe(&mut self, channel: &[u8], who: Subscriber) {
        leave(&mut self.shard_channels, channel, who)
    }

    /// The subscribers of shard channel `channel` (SPUBLISH's receivers).
    pub fn shard_receivers(&self, channel: &[u8]) -> &[Subscriber] {
        self.shard_channels
            .get(channel)
            .map_or(&[][..], |v| v.as_slice())
    }

    /// The shard channels with a subscriber, matching `pattern` (all without one).
    pub fn shard_channels(&self, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        matching(&self.shard_channels, pattern)
    }

    /// Subscribers of shard channel `channel`.
    pub fn shard_numsub(&self, channel: &[u8]) -> usize {
        self.shard_channels.get(channel).map_or(0, Vec::len)
    }

    /// Adds `who` to `pattern` (once). O(patterns).
    pub fn psubscribe(&mut self, pattern: &[u8], who: Subscriber) {
        match self.patterns.iter_mut().find(|(p, _)| **p == *pattern) {
            Some((_, list)) if !list.contains(&who) => list.push(who),
            Some(_) => {}
            None => self.patterns.push((Box::from(pattern), vec![who])),
        }
    }

    /// Removes `who` from `pattern`. O(patterns).
    pub fn punsubscribe(&mut self, pattern: &[u8], who: Subscriber) {
        self.patterns.retain_mut(|(p, list)| {
            if **p == *pattern {
                list.retain(|s| *s != who);
            }
            !list.is_empty()
        });
    }

    /// The receivers of a message on `channel`: each channel subscriber, then each subscriber of
    /// each matching pattern (with the pattern), as Redis counts and sends them.
    /// O(subscribers + patterns).
    pub fn receivers<'a>(&'a self, channel: &[u8]) -> (&'a [Subscriber], ByPattern<'a>) {
        let direct = self.channels.get(channel).map_or(&[][..], |v| v.as_slice());
        let by_pattern = self
            .patterns
            .iter()
            .filter(|(p, _)| crate::glob::glob_match(p, channel, false))
            .map(|(p, list)| (&**p, list.as_slice()))
            .collect();
        (direct, by_pattern)
    }

    /// The channels with at least one subscriber matching `pattern` (all without one).
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        matching(&self.channels, pattern)
    }

    /// Subscribers of `channel`.
    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, Vec::len)
    }

    /// Distinct patterns subscribed to.
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }
}

type Channels = HashMap<Box<[u8]>, Vec<Subscriber>>;

/// Removes `who` from `channel` of `map`, and the channel once nobody is left. O(subscribers).
fn leave(map: &mut Channels, channel: &[u8], who: Subscriber) {
    if let Some(list) = map.get_mut(channel) {
        list.retain(|s| *s != who);
        if list.is_empty() {
            map.remove(channel);
        }
    }
}

/// The channels of `map` matching `pattern` (all without one). O(channels).
fn matching<'a>(map: &'a Channels, pattern: Option<&[u8]>) -> Vec<&'a [u8]> {
    map.keys()
        .filter(|c| pattern.is_none_or(|p| crate::glob::glob_match(p, c, false)))
        .map(|c| &**c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(client: u64) -> Subscriber {
        Subscriber {
            worker: 0,
            token: client as u32,
            client,
        }
    }

    #[test]
    fn receivers_are_channel_then_pattern_subscribers() {
        let mut r = Registry::default();
        r.subscribe(b"news", who(1));
        r.subscribe(b"news", who(1));
        r.psubscribe(b"n*", who(2));
        r.psubscribe(b"x*", who(3));
        let (direct, pats) = r.receivers(b"news");
        assert_eq!(direct, &[who(1)]);
        assert_eq!(pats.len(), 1);
        assert_eq!(pats[0].0, b"n*");
        r.unsubscribe(b"news", who(1));
        r.punsubscribe(b"n*", who(2));
        assert!(r.channels(None).is_empty());
        assert_eq!(r.numpat(), 1);
    }
}
