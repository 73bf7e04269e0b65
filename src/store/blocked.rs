//! Clients blocked on keys of this shard (BLPOP, BLMOVE, BZPOPMIN...), and the keys that got data
//! since the shard last served them.
//!
//! A blocked client has one [`Ticket`], shared by every shard holding one of its keys: whichever
//! shard gets data first claims the ticket (one compare-and-swap) and serves it; the others find it
//! taken and forget it. That is how a client blocked on keys of several workers is served exactly
//! once. Its connection's worker claims the ticket the same way for a timeout, CLIENT UNBLOCK or a
//! disconnect, so a reply and a timeout can never both reach the client.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// Created; the command has not run yet (it may be in flight to the keys' owner).
const PENDING: u8 = 0;
/// Registered on its keys, waiting for data.
const WAITING: u8 = 1;
/// A shard is running the command for it right now.
const RUNNING: u8 = 2;
/// Answered (served, timed out, unblocked, or the client is gone): nothing more may happen.
const TAKEN: u8 = 3;

/// One blocked call: where its reply goes and what to run when a key gets data.
#[derive(Debug)]
pub struct Ticket {
    state: AtomicU8,
    /// The worker serving the client's connection, its slab token and client id (tokens are
    /// reused), and the reply slot the answer fills.
    pub worker: usize,
    /// The connection's slab token on its worker.
    pub token: u32,
    /// The connection's client id.
    pub client: u64,
    /// The reply slot the answer fills.
    pub seq: u64,
    /// The database selected when the command was called, and the protocol of the reply.
    pub db: usize,
    /// Whether the reply is RESP3.
    pub resp3: bool,
    /// The command (table index) and its arguments, run again on the key that got data.
    pub cmd: u16,
    data: Vec<u8>,
    ranges: Vec<Range<usize>>,
    /// The arguments as rewritten when the call decided to wait ([`Ticket::rewrite`]).
    rewritten: std::sync::OnceLock<(Vec<u8>, Vec<Range<usize>>)>,
}

impl Ticket {
    /// A pending ticket for command `cmd` with arguments `args`. O(bytes of the arguments).
    #[allow(clippy::too_many_arguments)]
    pub fn new<'a>(
        worker: usize,
        token: u32,
        client: u64,
        seq: u64,
        db: usize,
        resp3: bool,
        cmd: u16,
        args: impl Iterator<Item = &'a [u8]>,
    ) -> Self {
        let mut data = Vec::new();
        let mut ranges = Vec::new();
        for a in args {
            ranges.push(data.len()..data.len() + a.len());
            data.extend_from_slice(a);
        }
        Ticket {
            state: AtomicU8::new(PENDING),
            worker,
            token,
            client,
            seq,
            db,
            resp3,
            cmd,
            data,
            ranges,
            rewritten: std::sync::OnceLock::new(),
        }
    }

    /// Replaces arguments (index, bytes) for every later run of the call: a wait that resolved
    /// an argument relative to the data present when it began (XREAD's `$`). Once per ticket.
    pub fn rewrite(&self, with: &[(usize, Vec<u8>)]) {
        let mut data = Vec::new();
        let mut ranges = Vec::new();
        for (i, r) in self.ranges.iter().enumerate() {
            let arg = with
                .iter()
                .find(|(j, _)| *j == i)
                .map_or(&self.data[r.clone()], |(_, b)| &b[..]);
            ranges.push(data.len()..data.len() + arg.len());
            data.extend_from_slice(arg);
        }
        let _ = self.rewritten.set((data, ranges));
    }

    /// The command's arguments: one buffer and the ranges of each argument in it.
    pub fn args(&self) -> (&[u8], &[Range<usize>]) {
        match self.rewritten.get() {
            Some((d, r)) => (d, r),
            None => (&self.data, &self.ranges),
        }
    }

    /// Claims the ticket to run its command (pending or waiting to running). False when someone
    /// else answered it, or is running it.
    pub fn begin(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        (s == PENDING || s == WAITING)
            && self
                .state
                .compare_exchange(s, RUNNING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// After [`Ticket::begin`]: the command found nothing and the client waits on.
    pub fn wait(&self) {
        self.state.store(WAITING, Ordering::Release);
    }

    /// After [`Ticket::begin`]: the command answered.
    pub fn finish(&self) {
        self.state.store(TAKEN, Ordering::Release);
    }

    /// Claims the ticket to answer it without running (timeout, CLIENT UNBLOCK, disconnect).
    /// False when it is answered already or running: see [`Ticket::running`].
    pub fn cancel(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        (s == PENDING || s == WAITING)
            && self
                .state
                .compare_exchange(s, TAKEN, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// Claims a ticket registered on its keys to answer it without running (CLIENT UNBLOCK: only
    /// a client that waits is unblocked). False otherwise.
    pub fn cancel_waiting(&self) -> bool {
        self.state
            .compare_exchange(WAITING, TAKEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether a shard is running the command now (a cancel must be tried again shortly).
    pub fn running(&self) -> bool {
        self.state.load(Ordering::Acquire) == RUNNING
    }

    /// Whether the client waits on its keys (registered and not answered).
    pub fn waiting(&self) -> bool {
        self.state.load(Ordering::Acquire) == WAITING
    }

    /// Whether the ticket is answered and only takes room.
    pub fn taken(&self) -> bool {
        self.state.load(Ordering::Acquire) == TAKEN
    }
}

/// The tickets waiting on one key, oldest first.
pub type Queue = VecDeque<Arc<Ticket>>;

/// A key of a database.
type BlockKey = (usize, Box<[u8]>);

/// The blocked clients of one shard, by key, first come first served.
#[derive(Debug, Default)]
pub struct Blocked {
    keys: HashMap<BlockKey, VecDeque<Arc<Ticket>>>,
    /// Keys written while clients wait on them, in the order they were written; each once.
    ready: Vec<BlockKey>,
}

impl Blocked {
    /// Whether no client waits on a key of this shard: what every write checks first. O(1).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether some written key waits to be served. O(1).
    #[inline]
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Whether a client waits on `key` of `db`. O(key length).
    pub fn contains(&self, db: usize, key: &[u8]) -> bool {
        !self.keys.is_empty() && self.keys.contains_key(&(db, Box::from(key)))
    }

    /// Puts `ticket` at the end of `key`'s queue. O(1) amortized.
    pub fn add(&mut self, db: usize, key: &[u8], ticket: Arc<Ticket>) {
        self.keys
            .entry((db, Box::from(key)))
            .or_default()
            .push_back(ticket);
    }

    /// `key` of `db` was written: if clients wait on it, it is served at the end of the command
    /// (or of the transaction or script) that wrote it. O(ready keys).
    pub fn signal(&mut self, db: usize, key: &[u8]) {
        if !self.contains(db, key) {
            return;
        }
        if !self.ready.iter().any(|(d, k)| *d == db && **k == *key) {
            self.ready.push((db, Box::from(key)));
        }
    }

    /// Signals every key of `db` clients wait on (SWAPDB, FLUSHDB: any of them may hold data now).
    pub fn signal_db(&mut self, db: usize) {
        let keys: Vec<BlockKey> = self.keys.keys().filter(|k| k.0 == db).cloned().collect();
        for (d, k) in keys {
            self.signal(d, &k);
        }
    }

    /// The next ready key and its queue, taken out of the registry while it is served (put it back
    /// with [`Blocked::put_back`]).
    pub fn next_ready(&mut self) -> Option<(usize, Box<[u8]>, Queue)> {
        while !self.ready.is_empty() {
            let (db, key) = self.ready.remove(0);
            if let Some(q) = self.keys.remove(&(db, key.clone())) {
                return Some((db, key, q));
            }
        }
        None
    }

    /// Returns a queue taken by [`Blocked::next_ready`]; tickets that joined meanwhile stay behind
    /// the older ones. O(queue).
    pub fn put_back(&mut self, db: usize, key: Box<[u8]>, mut queue: VecDeque<Arc<Ticket>>) {
        queue.retain(|t| !t.taken());
        if let Some(newer) = self.keys.remove(&(db, key.clone())) {
            queue.extend(newer);
        }
        if !queue.is_empty() {
            self.keys.insert((db, key), queue);
        }
    }

    /// Forgets answered tickets. O(tickets).
    pub fn sweep(&mut self) {
        self.keys.retain(|_, q| {
            q.retain(|t| !t.taken());
            !q.is_empty()
        });
    }

    /// Tickets registered (answered ones not yet swept included).
    pub fn len(&self) -> usize {
        self.keys.values().map(VecDeque::len).sum()
    }

    /// Distinct keys clients wait on (INFO's blocked_keys... per shard).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(client: u64) -> Arc<Ticket> {
        Arc::new(Ticket::new(
            0,
            0,
            client,
            0,
            0,
            false,
            0,
            [&b"blpop"[..]].into_iter(),
        ))
    }

    #[test]
    fn a_ticket_is_answered_once() {
        let t = ticket(1);
        assert!(t.begin());
        assert!(!t.cancel(), "running: a timeout must wait");
        assert!(t.running());
        t.wait();
        assert!(t.waiting());
        assert!(t.cancel());
        assert!(!t.begin(), "cancelled: no shard may serve it");
        assert!(t.taken());
    }

    #[test]
    fn ready_keys_are_served_in_order_once_each() {
        let mut b = Blocked::default();
        b.signal(0, b"k");
        assert!(!b.has_ready(), "nobody waits on k");
        b.add(0, b"k", ticket(1));
        b.add(0, b"j", ticket(2));
        b.signal(0, b"k");
        b.signal(0, b"j");
        b.signal(0, b"k");
        let (_, key, q) = b.next_ready().unwrap();
        assert_eq!(&*key, b"k");
        assert_eq!(q.len(), 1);
        b.put_back(0, key, q);
        let (_, key, _) = b.next_ready().unwrap();
        assert_eq!(&*key, b"j");
        assert!(b.next_ready().is_none());
    }

    #[test]
    fn answered_tickets_are_forgotten() {
        let mut b = Blocked::default();
        let t = ticket(1);
        b.add(0, b"k", t.clone());
        assert!(t.cancel());
        b.sweep();
        assert!(b.is_empty());
    }
}
