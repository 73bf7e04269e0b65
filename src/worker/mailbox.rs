//! What crosses between workers: batches of forwarded requests and of their replies, carried by one
//! bounded SPSC ring per ordered pair of workers, with at most one wake-up per batch.
//!
//! A worker appends every request for a foreign key to the [`Batch`] for the owner during one loop
//! iteration and pushes the batch at the end of the iteration; the owner answers with one batch of
//! replies. A waker is only signalled when the receiver announced it is parked in `poll`.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;
use mio::Waker;

use crate::resp::reply::Refs;
use crate::store::Ticket;

/// Data capacity a pooled batch keeps across uses; a bigger buffer is given back when emptied.
pub const KEPT_DATA: usize = 1 << 20;

/// Batches a ring holds before its producer must wait (backpressure, never loss).
pub const RING_CAPACITY: usize = 256;

/// Where a reply must go: the connection (slab token and client id, since tokens are reused), the
/// reply slot in that connection's order, and the part of a gathered (fan-out) reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub token: u32,
    pub client: u64,
    pub seq: u64,
    pub part: u32,
}

/// What the owner does with a request.
#[derive(Debug)]
pub enum Op {
    /// Execute command `cmd` (index in the command table) on the owner's shard and reply.
    Exec(u16),
    /// Execute a MULTI block whose keys all belong to the owner, one command after the other
    /// (each a command index and its number of arguments, the arguments following one another),
    /// and reply with the array EXEC answers. The last entry is EXEC itself: not run, but counted
    /// and shown to monitors once the block's commands were, as Redis shows it.
    Block(Box<[(u16, u32)]>),
}

/// A forwarded request: a command whose keys all belong to the receiver. (A command over several
/// workers' keys does not travel: it runs as an atomic step holding their shards, `atomic.rs`.)
#[derive(Debug)]
pub struct Request {
    pub origin: Origin,
    pub db: u16,
    pub resp3: bool,
    pub op: Op,
    /// Indices into [`Batch::ranges`] of this request's arguments.
    pub args: Range<u32>,
    /// A big request's own buffer (one request over 1 MB, read into a buffer of its own): its
    /// argument ranges index into this, not [`Batch::data`], so a 64 MB value crosses workers
    /// without a copy and is stored as a slice of it.
    pub shared: Option<Box<bytes::Bytes>>,
    /// For a blocking call (BLPOP...): its ticket, registered on the keys if it waits
    /// (`worker/blocking.rs`).
    pub ticket: Option<Arc<Ticket>>,
}

/// The payload of a reply.
#[derive(Debug)]
pub enum Body {
    /// Encoded RESP bytes at this range of [`Batch::data`].
    Bytes(Range<usize>),
    /// A blocked call served by a shard that cannot run it whole (a BLMOVE whose destination
    /// is elsewhere): its worker runs it again.
    Retry(Arc<Ticket>),
}

/// A reply to a forwarded request.
#[derive(Debug)]
pub struct Response {
    pub origin: Origin,
    pub body: Body,
}

/// Everything one worker sends another in one loop iteration.
#[derive(Debug, Default)]
pub struct Batch {
    /// Argument bytes of requests and encoded replies.
    pub data: Vec<u8>,
    /// Argument ranges into `data`.
    pub ranges: Vec<Range<usize>>,
    /// Large values the replies in `data` reference instead of copying (zero-copy GET).
    pub refs: Refs,
    pub requests: Vec<Request>,
    pub responses: Vec<Response>,
}

impl Batch {
    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.responses.is_empty()
    }

    /// Empties the batch, keeping its allocations for reuse (but not a data buffer that one big
    /// reply or request grew past [`KEPT_DATA`]: pooled batches would hold it for good).
    pub fn clear(&mut self) {
        if self.data.capacity() > KEPT_DATA {
            self.data = Vec::new();
        }
        self.data.clear();
        self.ranges.clear();
        self.refs.clear();
        self.requests.clear();
        self.responses.clear();
    }

    /// Appends a request whose arguments are `args` (copied into the batch).
    pub fn push_request<'a>(
        &mut self,
        origin: Origin,
        db: usize,
        resp3: bool,
        op: Op,
        args: impl Iterator<Item = &'a [u8]>,
    ) {
        let first = self.ranges.len() as u32;
        for a in args {
            let start = self.data.len();
            self.data.extend_from_slice(a);
            self.ranges.push(start..self.data.len());
        }
        let args = first..self.ranges.len() as u32;
        self.requests.push(Request {
            origin,
            db: db as u16,
            resp3,
            op,
            args,
            ticket: None,
            shared: None,
        });
    }

    /// Appends a request whose arguments are `ranges` of the reference-counted `buf`, which the
    /// request keeps (a reference, not a copy). O(arguments).
    pub fn push_shared_request(
        &mut self,
        origin: Origin,
        db: usize,
        resp3: bool,
        op: Op,
        buf: &bytes::Bytes,
        ranges: &[Range<usize>],
    ) {
        let first = self.ranges.len() as u32;
        self.ranges.extend_from_slice(ranges);
        let args = first..self.ranges.len() as u32;
        self.requests.push(Request {
            origin,
            db: db as u16,
            resp3,
            op,
            args,
            ticket: None,
            shared: Some(Box::new(buf.clone())),
        });
    }
}

/// The rings and wakers of all workers.
pub struct Mailboxes {
    workers: usize,
    rings: Vec<ArrayQueue<Box<Batch>>>,
    wakers: Vec<Arc<Waker>>,
    parked: Vec<CachePadded<AtomicBool>>,
}

impl Mailboxes {
    /// Rings for every ordered pair of `wakers.len()` workers.
    pub fn new(workers: usize, wakers: Vec<Arc<Waker>>) -> Self {
        Mailboxes {
            workers,
            rings: (0..workers * workers)
                .map(|_| ArrayQueue::new(RING_CAPACITY))
                .collect(),
            wakers,
            parked: (0..workers)
                .map(|_| CachePadded::new(AtomicBool::new(false)))
                .collect(),
        }
    }

    #[inline]
    fn ring(&self, from: usize, to: usize) -> &ArrayQueue<Box<Batch>> {
        &self.rings[from * self.workers + to]
    }

    /// Sends a batch; wakes the receiver if it is parked. Gives the batch back when the ring is full.
    pub fn send(&self, from: usize, to: usize, batch: Box<Batch>) -> Result<(), Box<Batch>> {
        self.ring(from, to).push(batch)?;
        // SeqCst pairs with `park`: either the receiver sees our batch, or we see it parked.
        if self.parked[to].swap(false, Ordering::SeqCst) {
            let _ = self.wakers[to].wake();
        }
        Ok(())
    }

    /// Whether `worker` is parked and nothing was sent to it since it parked (a sender clears the
    /// flag when it pushes, before its own clients can be answered).
    #[inline]
    pub fn untouched_since_parked(&self, worker: usize) -> bool {
        self.parked[worker].load(Ordering::SeqCst)
    }

    /// Takes the next batch `from` sent to `to`.
    #[inline]
    pub fn recv(&self, from: usize, to: usize) -> Option<Box<Batch>> {
        self.ring(from, to).pop()
    }

    /// Announces that `me` is about to block in poll. Returns false (and stays awake) if a batch is
    /// already waiting.
    pub fn park(&self, me: usize) -> bool {
        self.parked[me].store(true, Ordering::SeqCst);
        let pending = (0..self.workers).any(|from| from != me && !self.ring(from, me).is_empty());
        if pending {
            self.parked[me].store(false, Ordering::SeqCst);
        }
        !pending
    }

    /// Announces that `me` is running again (senders need not wake it).
    #[inline]
    pub fn unpark(&self, me: usize) {
        self.parked[me].store(false, Ordering::Relaxed);
    }

    /// Wakes every worker (shutdown).
    pub fn wake_all(&self) {
        for w in &self.wakers {
            let _ = w.wake();
        }
    }
}
