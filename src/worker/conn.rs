//! One client connection: its socket, read and write buffers, session, and the ordered reply slots
//! that keep replies in request order when some are computed by other workers.

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use mio::net::TcpStream;

use crate::command::ctx::Session;
use crate::resp::reply::Refs;
use crate::shared::ConnGauge;

/// A reply that is not yet written because an earlier one is still being computed elsewhere.
pub enum Slot {
    /// Computed; waiting for the slots before it. The bytes are this range of [`Conn::spill`]
    /// (`end == usize::MAX` while the reply is being written).
    Ready(Range<usize>),
    /// Forwarded to another worker.
    Waiting,
    /// A cursor command going from shard to shard within one call.
    Chain(Box<Chain>),
    /// Forwarded, and its reply is not to be sent (CLIENT REPLY OFF or SKIP).
    Dropped,
}

/// A cursor command (SCAN) in progress: its arguments, owned so the cursor can be rewritten for
/// the next shard, and the items gathered from the shards done so far.
pub struct Chain {
    /// Index in the command table.
    pub cmd: usize,
    pub args: Vec<Vec<u8>>,
    /// Items gathered, as encoded reply elements, and their count.
    pub items: Vec<u8>,
    pub count: usize,
}

impl Chain {
    /// The arguments as one buffer and their ranges in it, the form `Args` reads. O(bytes).
    pub fn flat_args(&self) -> (Vec<u8>, Vec<Range<usize>>) {
        let mut data = Vec::with_capacity(self.args.iter().map(Vec::len).sum());
        let mut ranges = Vec::with_capacity(self.args.len());
        for a in &self.args {
            ranges.push(data.len()..data.len() + a.len());
            data.extend_from_slice(a);
        }
        (data, ranges)
    }
}

/// A client connection.
pub struct Conn {
    pub sock: TcpStream,
    pub session: Session,
    /// Bytes read and not yet parsed start at `rpos`.
    pub rbuf: Vec<u8>,
    pub rpos: usize,
    /// Bytes to write start at `wpos`.
    pub wbuf: Vec<u8>,
    pub wpos: usize,
    /// Large values written between bytes of `wbuf` (zero-copy); those before `wref_head` are sent, and
    /// `wref_done` bytes of the one at `wref_head`.
    pub wrefs: Refs,
    pub wref_head: usize,
    pub wref_done: usize,
    /// Reply slots in request order; the first has sequence number `head_seq`.
    pub slots: VecDeque<Slot>,
    /// Bytes of ready replies that wait behind an earlier one: one buffer, no allocation per reply.
    pub spill: Vec<u8>,
    /// Large values referenced from `spill`.
    pub spill_refs: Refs,
    pub head_seq: u64,
    /// Registered for WRITABLE (only after a write would block).
    pub want_write: bool,
    /// Queued in the worker's list of connections to flush this iteration.
    pub queued_flush: bool,
    /// Stopped reading or parsing before the socket was drained; the worker must come back to it.
    pub queued_resume: bool,
    /// A cursor command is going from shard to shard: later commands wait for its last page.
    pub stalled: bool,
    /// The next request runs as an atomic step (EXEC, keys on several workers) and waits until
    /// every earlier reply is in.
    pub quiet_wait: bool,
    /// Its next request waits for the end of a CLIENT PAUSE.
    pub paused: bool,
    /// Since when (Unix ms) its unsent output has been at or past its class's soft limit
    /// (client-output-buffer-limit); 0: it is not.
    pub soft_limit_since: u64,
    /// Stop reading; close once the output is written.
    pub closing: bool,
    /// The blocking call (BLPOP...) this connection waits in, and its deadline (Unix ms, 0 for
    /// none): its reply fills the connection's last slot.
    pub block: Option<(Arc<crate::store::Ticket>, u64)>,
    /// The peer hung up or the socket reported an error (EPOLLRDHUP/HUP/ERR seen): reads go on to
    /// the end of stream instead of stopping at a short read.
    pub peer_closed: bool,
    /// Unix ms of the last read that brought bytes (CLIENT LIST idle; idle buffers are freed).
    pub last_ms: u64,
    /// Largest query-buffer length and reply-buffer length since the last resize check.
    pub qbuf_peak: usize,
    pub wbuf_peak: usize,
    /// What CLIENT LIST shows of this connection, published after each pass.
    pub gauge: Arc<ConnGauge>,
}

/// Read granularity: the spare room ensured before each read (Redis's PROTO_IOBUF_LEN).
const READ_CHUNK: usize = 16 * 1024;
/// A query buffer larger than this is trimmed to its recent peak (Redis's PROTO_RESIZE_THRESHOLD).
const RESIZE_THRESHOLD: usize = 32 * 1024;
/// Free room worth giving back: less is left alone (Redis: 4 KB).
const WASTE_MIN: usize = 4 * 1024;
/// An empty query buffer larger than this is freed at once.
pub const BIG_INPUT: usize = 1 << 20;
/// Seconds without input after which an empty query buffer is freed (Redis: 2).
const IDLE_FREE_MS: u64 = 2000;

impl Conn {
    /// A new connection with an empty session `id`.
    ///
    /// No buffer is allocated before the first byte arrives: an idle connection costs its record only.
    pub fn new(sock: TcpStream, session: Session, gauge: Arc<ConnGauge>, now: u64) -> Self {
        Conn {
            sock,
            session,
            rbuf: Vec::new(),
            rpos: 0,
            wbuf: Vec::new(),
            wpos: 0,
            wrefs: Vec::new(),
            wref_head: 0,
            wref_done: 0,
            slots: VecDeque::new(),
            spill: Vec::new(),
            spill_refs: Vec::new(),
            head_seq: 0,
            want_write: false,
            queued_flush: false,
            queued_resume: false,
            stalled: false,
            quiet_wait: false,
            paused: false,
            soft_limit_since: 0,
            closing: false,
            block: None,
            peer_closed: false,
            last_ms: now,
            qbuf_peak: 0,
            wbuf_peak: 0,
            gauge,
        }
    }

    /// Bytes received and not yet parsed.
    pub fn unparsed(&self) -> usize {
        self.rbuf.len() - self.rpos
    }

    /// Bytes waiting to be written.
    pub fn unwritten(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    /// Reply bytes held for this client: unwritten output and replies waiting behind a remote one,
    /// referenced values included (counted up to `cap`, which is all callers compare with).
    pub fn pending_output(&self, cap: usize) -> usize {
        let mut n = self.unwritten() + self.spill.len();
        for (_, v) in self.wrefs[self.wref_head..]
            .iter()
            .chain(self.spill_refs.iter())
        {
            if n > cap {
                break;
            }
            n += v.len();
        }
        n
    }

    /// Reads once into the spare capacity of the read buffer without zeroing it. Returns the byte count
    /// (0 is end of stream) and whether the read filled the room offered: a shorter read means the
    /// socket is drained (epoll(7): for stream sockets a partial read shows the edge was consumed), which
    /// saves the extra `recv` that would only say EAGAIN.
    pub fn read_some(&mut self) -> io::Result<(usize, bool)> {
        if self.rpos > 0 && self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        }
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
            if self.rpos > 0 {
                self.rbuf.drain(..self.rpos);
                self.rpos = 0;
            }
            // A big argument on its way: room for the whole request at once, not by doubling
            // (which would peak at twice the request and copy it at every step).
            let need = crate::resp::parser::bytes_needed(&self.rbuf);
            if need > self.rbuf.len() + READ_CHUNK {
                self.rbuf.reserve_exact(need - self.rbuf.len());
            } else {
                self.rbuf.reserve(READ_CHUNK);
            }
        }
        let spare = self.rbuf.spare_capacity_mut();
        let room = spare.len();
        // SAFETY: recv writes at most spare.len() bytes into memory we own; we only extend the length
        // by what it reports written.
        let n = unsafe {
            libc::recv(
                self.sock.as_raw_fd(),
                spare.as_mut_ptr() as *mut libc::c_void,
                spare.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel initialised the first n bytes of the spare capacity.
        unsafe { self.rbuf.set_len(self.rbuf.len() + n as usize) };
        self.qbuf_peak = self.qbuf_peak.max(self.unparsed());
        Ok((n as usize, (n as usize) < room))
    }

    /// Writes pending output, buffer bytes and referenced values interleaved in one `writev` per
    /// round, until done or the socket would block. Returns bytes written.
    pub fn write_pending(&mut self) -> io::Result<usize> {
        const MAX_IOV: usize = 64;
        let mut total = 0;
        self.wbuf_peak = self.wbuf_peak.max(self.wbuf.len());
        while self.wpos < self.wbuf.len() {
            let mut iov = [libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            }; MAX_IOV];
            let mut n = 0;
            let mut cur = self.wpos;
            let mut all_refs = true;
            for (i, (off, v)) in self.wrefs[self.wref_head..].iter().enumerate() {
                if n + 2 > MAX_IOV {
                    all_refs = false;
                    break;
                }
                if *off > cur {
                    let part = &self.wbuf[cur..*off];
                    iov[n] = libc::iovec {
                        iov_base: part.as_ptr() as *mut libc::c_void,
                        iov_len: part.len(),
                    };
                    n += 1;
                    cur = *off;
                }
                let part = &v[if i == 0 { self.wref_done } else { 0 }..];
                iov[n] = libc::iovec {
                    iov_base: part.as_ptr() as *mut libc::c_void,
                    iov_len: part.len(),
                };
                n += 1;
            }
            if all_refs && cur < self.wbuf.len() && n < MAX_IOV {
                let part = &self.wbuf[cur..];
                iov[n] = libc::iovec {
                    iov_base: part.as_ptr() as *mut libc::c_void,
                    iov_len: part.len(),
                };
                n += 1;
            }
            // SAFETY: every iovec points into wbuf or a referenced value, all alive and unmodified
            // for the duration of the call; n <= MAX_IOV.
            let w = unsafe { libc::writev(self.sock.as_raw_fd(), iov.as_ptr(), n as libc::c_int) };
            if w < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => break,
                    _ => return Err(e),
                }
            }
            if w == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.consume(w as usize);
            total += w as usize;
        }
        if self.wpos == self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
            self.wrefs.clear();
            self.wref_head = 0;
            self.wref_done = 0;
        }
        Ok(total)
    }

    /// Advances the write position by `n` bytes across buffer bytes and referenced values.
    fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let next_ref = self
                .wrefs
                .get(self.wref_head)
                .map(|r| r.0)
                .unwrap_or(self.wbuf.len());
            if self.wpos < next_ref {
                let t = n.min(next_ref - self.wpos);
                self.wpos += t;
                n -= t;
                continue;
            }
            let Some((_, v)) = self.wrefs.get(self.wref_head) else {
                break;
            };
            let t = n.min(v.len() - self.wref_done);
            self.wref_done += t;
            n -= t;
            if self.wref_done == v.len() {
                self.wref_head += 1;
                self.wref_done = 0;
            }
        }
    }

    /// Appends a reply (bytes and the values they reference, at offsets relative to `base`) to the
    /// output.
    pub fn push_output(
        &mut self,
        bytes: &[u8],
        refs: &[(usize, crate::resp::reply::SharedValue)],
        base: usize,
    ) {
        let at = self.wbuf.len();
        self.wbuf.extend_from_slice(bytes);
        self.wrefs
            .extend(refs.iter().map(|(off, v)| (at + off - base, v.clone())));
    }

    /// Where the reply of the command being executed goes: straight to the output buffer when no
    /// earlier reply is outstanding, else the spill buffer behind a new ready slot, which
    /// [`Conn::end_reply`] closes once the reply is written.
    pub fn reply_target(&mut self) -> (&mut Vec<u8>, &mut Refs) {
        if self.slots.is_empty() {
            (&mut self.wbuf, &mut self.wrefs)
        } else {
            self.slots
                .push_back(Slot::Ready(self.spill.len()..usize::MAX));
            (&mut self.spill, &mut self.spill_refs)
        }
    }

    /// Closes the slot [`Conn::reply_target`] opened, if any.
    #[inline]
    pub fn end_reply(&mut self) {
        let end = self.spill.len();
        if let Some(Slot::Ready(r)) = self.slots.back_mut() {
            if r.end == usize::MAX {
                r.end = end;
            }
        }
    }

    /// A ready slot holding a copy of `bytes` (and the values they reference, offsets relative to
    /// `base`).
    pub fn ready_slot(
        &mut self,
        bytes: &[u8],
        refs: &[(usize, crate::resp::reply::SharedValue)],
        base: usize,
    ) -> Slot {
        let start = self.spill.len();
        self.spill.extend_from_slice(bytes);
        self.spill_refs
            .extend(refs.iter().map(|(off, v)| (start + off - base, v.clone())));
        Slot::Ready(start..self.spill.len())
    }

    /// Reserves the next reply slot and returns its sequence number.
    pub fn push_slot(&mut self, slot: Slot) -> u64 {
        self.slots.push_back(slot);
        self.head_seq + self.slots.len() as u64 - 1
    }

    /// The slot with sequence number `seq`, if still pending.
    pub fn slot_mut(&mut self, seq: u64) -> Option<&mut Slot> {
        let i = seq.checked_sub(self.head_seq)?;
        self.slots.get_mut(i as usize)
    }

    /// Whether this connection's input must wait: it is closing, a cursor call is in progress, its
    /// unwritten output or its replies in flight are over their limits, or its next request waits
    /// for the replies in flight.
    pub fn input_waits(&self) -> bool {
        self.closing
            || self.paused
            || self.stalled
            || (self.quiet_wait && !self.slots.is_empty())
            || self.pending_output(super::OUTPUT_PAUSE) > super::OUTPUT_PAUSE
            || self.slots.len() > super::MAX_SLOTS
    }

    /// Moves every leading ready slot into the output buffer, in order.
    pub fn drain_ready(&mut self) {
        while let Some(Slot::Ready(r)) = self.slots.front() {
            if r.end == usize::MAX {
                break;
            }
            let r = r.clone();
            let at = self.wbuf.len();
            self.wbuf.extend_from_slice(&self.spill[r.clone()]);
            let first = self.spill_refs.partition_point(|(off, _)| *off < r.start);
            for (off, v) in self.spill_refs[first..]
                .iter()
                .take_while(|(off, _)| *off < r.end)
            {
                self.wrefs.push((at + off - r.start, v.clone()));
            }
            self.slots.pop_front();
            self.head_seq += 1;
        }
        if self.slots.is_empty() {
            self.spill.clear();
            self.spill_refs.clear();
        }
    }
}

impl Conn {
    /// Gives back buffer room this connection is not using, as Redis's clientsCron does; called about
    /// once a second per connection. O(1) unless a buffer is reallocated (O(bytes kept)).
    ///
    /// - Query buffer: freed when empty and idle for 2 s; else trimmed to the recent peak when it is
    ///   over 32 KB and more than twice that peak (a big request's buffer does not outlive it), but
    ///   never below what a request still arriving needs.
    /// - Reply and spill buffers: when empty, trimmed to the recent peak (freed after a quiet period).
    ///
    /// The peaks restart from the present length, so each check looks at the last second only.
    pub fn resize_buffers(&mut self, now: u64) {
        if self.rpos > 0 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        let cap = self.rbuf.capacity();
        if cap - self.rbuf.len() > WASTE_MIN {
            if self.rbuf.is_empty() && now.saturating_sub(self.last_ms) > IDLE_FREE_MS {
                self.rbuf = Vec::new();
            } else {
                // Room for a big request still arriving is kept (as Redis keeps its bulk's): trimmed
                // now, it would be copied again when the rest came.
                let keep = self
                    .qbuf_peak
                    .max(self.rbuf.len())
                    .max(crate::resp::parser::bytes_needed(&self.rbuf));
                if cap > RESIZE_THRESHOLD && cap / 2 > keep {
                    self.rbuf.shrink_to(keep);
                }
            }
        }
        self.qbuf_peak = self.rbuf.len();
        if self.wbuf.is_empty() && self.wbuf.capacity() / 2 > self.wbuf_peak {
            if self.wbuf_peak == 0 {
                self.wbuf = Vec::new();
            } else {
                self.wbuf.shrink_to(self.wbuf_peak);
            }
        }
        self.wbuf_peak = self.wbuf.len();
        if self.slots.is_empty() {
            if self.spill.capacity() > WASTE_MIN {
                self.spill = Vec::new();
            }
            self.spill_refs.shrink_to(4);
            self.slots.shrink_to(4);
        }
        self.wrefs.shrink_to(self.wrefs.len().max(4));
    }

    /// Frees a query buffer over 1 MB as soon as the request that needed it is consumed: a big
    /// request's memory goes back at once (smaller buffers wait for [`Conn::resize_buffers`]).
    #[inline]
    pub fn release_big_input(&mut self) {
        if self.rpos == self.rbuf.len() && self.rbuf.capacity() > BIG_INPUT {
            self.rbuf = Vec::new();
            self.rpos = 0;
            self.qbuf_peak = 0;
        }
    }

    /// Every heap byte this connection holds, its record included (CLIENT LIST tot-mem).
    pub fn memory(&self) -> usize {
        std::mem::size_of::<Conn>()
            + self.rbuf.capacity()
            + self.wbuf.capacity()
            + self.spill.capacity()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + (self.wrefs.capacity() + self.spill_refs.capacity())
                * std::mem::size_of::<(usize, crate::resp::reply::SharedValue)>()
            + self.session.name.capacity()
    }

    /// Publishes this connection's figures for CLIENT LIST (relaxed stores, read by any worker).
    pub fn publish_gauge(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let g = &self.gauge;
        let unwritten = self.unwritten();
        let queued = self.pending_output(usize::MAX) - unwritten;
        g.qbuf.store(self.unparsed() as u64, Relaxed);
        g.qbuf_free
            .store((self.rbuf.capacity() - self.unparsed()) as u64, Relaxed);
        g.rbs.store(self.wbuf.capacity() as u64, Relaxed);
        g.rbp
            .store(self.wbuf_peak.max(self.wbuf.len()) as u64, Relaxed);
        g.obl.store(unwritten as u64, Relaxed);
        g.oll.store(self.slots.len() as u64, Relaxed);
        g.omem.store(queued as u64, Relaxed);
        g.tot_mem.store(self.memory() as u64, Relaxed);
        g.want_write.store(self.want_write, Relaxed);
        let multi = self
            .session
            .multi
            .as_ref()
            .map_or(0, |m| m.len() as u64 + 1);
        g.multi.store(multi, Relaxed);
        let dirty = self
            .session
            .watch
            .as_ref()
            .is_some_and(|w| w.flag.is_dirty());
        g.dirty_cas.store(dirty, Relaxed);
    }
}
