//! What a connection command runs with: the connection's session and the shared server state,
//! and the two error texts every family shares (unknown command, unknown subcommand).

use super::Args;
use crate::resp::reply::{c_str, c_str_max};
use crate::resp::Reply;
use crate::shared::Shared;

/// The client-visible state of one connection.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub id: u64,
    pub db: usize,
    pub resp3: bool,
    pub name: Vec<u8>,
    pub lib_name: String,
    pub lib_ver: String,
    /// Close the connection once this reply is written (QUIT, protocol errors).
    pub quit: bool,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created_ms: u64,
    /// The MULTI block being queued, if MULTI was called and not yet ended by EXEC or DISCARD.
    pub multi: Option<Box<MultiState>>,
    /// The keys this connection WATCHes, if any.
    pub watch: Option<Box<WatchState>>,
    /// The connection's slab token on its worker (where published messages find it).
    pub token: u32,
    /// CLIENT REPLY OFF: no reply is sent (RESP3 pushes still are).
    pub reply_off: bool,
    /// CLIENT REPLY SKIP: the next command's reply is not sent.
    pub skip_next: bool,
    /// The channels, patterns and shard channels it is subscribed to, in the order subscribed.
    pub channels: Vec<Vec<u8>>,
    pub patterns: Vec<Vec<u8>>,
    pub shard_channels: Vec<Vec<u8>>,
    /// In MONITOR mode: sent a line for every command run.
    pub monitor: bool,
    /// CLIENT TRACKING, when on, and CLIENT CACHING's flag for the next command.
    pub tracking: Option<crate::tracking::Mode>,
    pub caching: bool,
    /// Who it is authenticated as ([`crate::acl`]).
    pub auth: crate::acl::Auth,
}

/// What a connection WATCHes: its flag (shared with the shards holding the keys, which set it
/// when a key changes) and each key with its database and whether it held a live value at WATCH
/// time (one that did and no longer does was deleted or expired: EXEC fails, as Redis 7.0's).
#[derive(Debug, Clone, Default)]
pub struct WatchState {
    pub flag: std::sync::Arc<crate::store::WatchFlag>,
    pub keys: Vec<(usize, Vec<u8>, bool)>,
}

impl Session {
    /// Channels and patterns subscribed to (what SUBSCRIBE replies count).
    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Whether it is subscribed to anything, shard channels included (RESP2's subscribed mode).
    pub fn subscribed(&self) -> bool {
        self.subscriptions() + self.shard_channels.len() > 0
    }

    /// Drops every subscription (RESET, disconnect) from `registry`; `who` is this connection.
    pub fn unsubscribe_all(
        &mut self,
        registry: &mut crate::pubsub::Registry,
        who: crate::pubsub::Subscriber,
    ) {
        for ch in self.channels.drain(..) {
            registry.unsubscribe(&ch, who);
        }
        for p in self.patterns.drain(..) {
            registry.punsubscribe(&p, who);
        }
        for ch in self.shard_channels.drain(..) {
            registry.sunsubscribe(&ch, who);
        }
    }

    /// Stops watching (UNWATCH, EXEC, DISCARD, RESET, disconnect): the shards forget the flag.
    pub fn unwatch(&mut self) {
        if let Some(w) = self.watch.take() {
            w.flag.release();
        }
    }
}

/// A transaction being queued (between MULTI and EXEC): every queued command's arguments in one
/// buffer, so queueing allocates nothing per command once the buffers have grown.
#[derive(Debug, Clone, Default)]
pub struct MultiState {
    /// Each queued command: its table index and the range of its arguments in `ranges`.
    cmds: Vec<(u16, std::ops::Range<u32>)>,
    data: Vec<u8>,
    ranges: Vec<std::ops::Range<usize>>,
    /// A command was refused while queueing (unknown, wrong arity...): EXEC answers EXECABORT
    /// and runs nothing, as Redis's CLIENT_DIRTY_EXEC.
    pub aborted: bool,
}

impl MultiState {
    /// Queues command `cmd` (table index) with a copy of its arguments. O(bytes).
    pub fn push(&mut self, cmd: usize, args: &super::Args) {
        let first = self.ranges.len() as u32;
        for a in args.iter_from(0) {
            let start = self.data.len();
            self.data.extend_from_slice(a);
            self.ranges.push(start..self.data.len());
        }
        self.cmds
            .push((cmd as u16, first..self.ranges.len() as u32));
    }

    /// Number of commands queued.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// The queued commands in order: table index and arguments.
    pub fn iter(&self) -> impl Iterator<Item = (usize, super::Args<'_>)> + '_ {
        self.cmds.iter().map(|(ci, r)| {
            let ranges = &self.ranges[r.start as usize..r.end as usize];
            (*ci as usize, super::Args::new(&self.data, ranges))
        })
    }
}

/// Where a command needing every shard runs ([`super::Exec::Shards`]): each worker's shard, in
/// worker order, all held by the caller, and the connection's context.
pub struct ShardsCtx<'a> {
    pub shards: Vec<&'a mut crate::store::Keyspace>,
    pub c: ConnCtx<'a>,
}

/// Where a connection command runs: the session, the shared server state, the reply.
pub struct ConnCtx<'a> {
    pub session: &'a mut Session,
    pub reply: Reply<'a>,
    pub shared: &'a Shared,
    pub worker: usize,
    pub now: u64,
    /// Running inside EXEC, where a command must not block (Redis's CLIENT_DENY_BLOCKING):
    /// SSUBSCRIBE is refused there.
    pub in_exec: bool,
}

impl ConnCtx<'_> {
    /// Mirrors the session's visible fields into the client registry (CLIENT LIST).
    pub(crate) fn publish(&self) {
        if let Some(c) = self.shared.clients().get_mut(&self.session.id) {
            c.name = String::from_utf8_lossy(&self.session.name).into_owned();
            c.lib_name = self.session.lib_name.clone();
            c.lib_ver = self.session.lib_ver.clone();
            c.db = self.session.db;
            c.resp = if self.session.resp3 { 3 } else { 2 };
        }
    }
}

/// Whether `name` may name a connection (CLIENT SETNAME, HELLO SETNAME): printable ASCII without
/// spaces, as Redis requires.
pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// Redis's unknown-subcommand error, byte for byte: `unknown subcommand '%.128s'. Try <CMD> HELP.`
/// (the subcommand quoted as sent, up to 128 bytes or its first NUL; the command upper-cased).
pub fn unknown_subcommand(r: &mut Reply, a: &Args) {
    let mut msg = b"ERR unknown subcommand '".to_vec();
    msg.extend_from_slice(c_str_max(a.get(1), 128));
    msg.extend_from_slice(b"'. Try ");
    msg.extend(c_str(a.get(0)).iter().map(u8::to_ascii_uppercase));
    msg.extend_from_slice(b" HELP.");
    r.error_bytes(&msg);
}

/// Redis's unknown-command error, byte for byte: `unknown command '%.128s', with args beginning with:
/// ` and then `'%.*s' ` for each argument while the list is under 128 bytes (each quoted argument cut
/// to the room left, or at its first NUL).
pub fn unknown_command_bytes(a: &Args) -> Vec<u8> {
    let mut rest: Vec<u8> = Vec::new();
    for arg in a.iter_from(1) {
        if rest.len() >= 128 {
            break;
        }
        let room = 128 - rest.len();
        rest.push(b'\'');
        rest.extend_from_slice(c_str_max(arg, room));
        rest.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(c_str_max(a.get(0), 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&rest);
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Args;

    /// Consecutive ranges of the given lengths.
    fn args(lens: &[usize]) -> Vec<std::ops::Range<usize>> {
        let mut at = 0;
        lens.iter()
            .map(|&n| {
                at += n;
                at - n..at
            })
            .collect()
    }

    #[test]
    fn unknown_command_text_is_byte_exact() {
        let buf = b"NO\xffSUCHa\x00bc";
        let ranges = args(&[7, 3, 1]);
        let msg = unknown_command_bytes(&Args::new(buf, &ranges));
        assert_eq!(
            msg,
            b"ERR unknown command 'NO\xffSUCH', with args beginning with: 'a' 'c' ".to_vec()
        );
        // Arguments are quoted while the list is under 128 bytes, the last one cut to fit.
        let long = [b'x'; 200];
        let ranges = [0..3, 0..200, 0..5];
        let msg = unknown_command_bytes(&Args::new(&long, &ranges));
        let expected = format!(
            "ERR unknown command 'xxx', with args beginning with: '{}' ",
            "x".repeat(128)
        );
        assert_eq!(String::from_utf8(msg).unwrap(), expected);
    }
}
