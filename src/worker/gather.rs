//! Replies coming back: each fills its reply slot, parts of a fan-out or broadcast are combined,
//! fetched copies complete a coordinated command, cursor pages chain on; ready slots move to the
//! output in request order.

use super::remote::apply;
use super::*;

impl Worker {
    /// Takes one shard's page of a cursor command: gathers its items, then either runs the next
    /// shard's page or answers with every item gathered and the last cursor.
    pub(super) fn chain_page(&mut self, k: usize, client: u64, seq: u64, page: &[u8]) {
        let n = self.n;
        let Some(conn) = live(&mut self.conns, k as u32, client) else {
            return;
        };
        let resp3 = conn.session.resp3;
        let Some(Slot::Chain(chain)) = conn.slot_mut(seq) else {
            return;
        };
        let answer = match split_cursor_page(page) {
            None => page.to_vec(),
            Some((cursor, items, body)) => {
                chain.items.extend_from_slice(body);
                chain.count += items;
                let (data, ranges) = chain.flat_args();
                let Exec::Cursor(_, steps) = TABLE.get(chain.cmd).exec else {
                    return;
                };
                let args = Args::new(&data, &ranges);
                if let Some((next, shard)) = (steps.more)(&args, chain.count, cursor, n) {
                    chain.args[1] = next.to_string().into_bytes();
                    return self.run_chain(k, seq, shard.min(n - 1));
                }
                let mut out = Vec::with_capacity(chain.items.len() + 32);
                let mut r = Reply::new(&mut out, resp3);
                r.array(2);
                r.bulk(itoa::Buffer::new().format(cursor).as_bytes());
                r.array(chain.count);
                r.raw(&chain.items);
                out
            }
        };
        let ready = conn.ready_slot(&answer, &[], 0);
        if let Some(slot) = conn.slot_mut(seq) {
            *slot = ready;
        }
        conn.stalled = false;
        conn.drain_ready();
        self.after_delivery(k);
        self.schedule_resume(k);
    }

    pub(super) fn fill_part(
        &mut self,
        k: usize,
        client: u64,
        seq: u64,
        part: usize,
        bytes: Vec<u8>,
    ) {
        let Some(conn) = live(&mut self.conns, k as u32, client) else {
            return;
        };
        let Some(Slot::Gather(g)) = conn.slot_mut(seq) else {
            return;
        };
        if let Some(p) = g.parts.get_mut(part) {
            if p.is_none() {
                g.missing -= 1;
            }
            *p = Some(bytes);
        }
        if g.missing == 0 {
            let out = combine(g);
            let ready = conn.ready_slot(&out, &[], 0);
            if let Some(slot) = conn.slot_mut(seq) {
                *slot = ready;
            }
            conn.drain_ready();
            self.after_delivery(k);
        }
    }

    pub(super) fn fill_fetch(
        &mut self,
        k: usize,
        client: u64,
        seq: u64,
        part: usize,
        entry: Option<Box<Entry>>,
    ) {
        let Some(conn) = live(&mut self.conns, k as u32, client) else {
            return;
        };
        let Some(Slot::Coord(c)) = conn.slot_mut(seq) else {
            return;
        };
        if let Some(f) = c.fetched.get_mut(part) {
            *f = entry;
            c.missing -= 1;
        }
        if c.missing == 0 {
            self.finish_coord(k, seq);
        }
    }

    pub(super) fn finish_coord(&mut self, k: usize, seq: u64) {
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let Some(slot) = conn.slot_mut(seq) else {
            return;
        };
        let Slot::Coord(mut c) = std::mem::replace(slot, Slot::Waiting) else {
            return;
        };
        let mut temp = Keyspace::new(self.shared.databases, self.ks.random());
        temp.limits = self.ks.limits;
        for ((db, _), e) in c.keys.iter().zip(c.fetched.iter_mut()) {
            if let Some(e) = e.take() {
                temp.dbs[*db].put(*e);
            }
        }
        let cmd = TABLE.get(c.cmd);
        let mut out = Vec::new();
        if let Exec::Keyed(f) | Exec::Fanout(f, _) = cmd.exec {
            let args = Args::new(&c.data, &c.ranges);
            let mut ctx = Ctx {
                ks: &mut temp,
                db: c.db,
                now: self.now,
                reply: Reply::new(&mut out, c.resp3),
                worker: self.id,
                workers: self.n,
            };
            f(&mut ctx, &args);
        }
        // The lookups it made on the copies count as this shard's, as Redis counts them once.
        self.ks.stats.add(&temp.stats);
        if cmd.is_write() {
            let mut done: Vec<(usize, &[u8])> = Vec::new();
            for &(db, i) in &c.keys {
                let key = &c.data[c.ranges[i].clone()];
                if done.contains(&(db, key)) {
                    continue;
                }
                done.push((db, key));
                let result = temp.dbs[db].table.remove(key);
                let owner = slot_owner(key_slot(key), self.n);
                if owner == self.id {
                    apply(&mut self.ks, db, key, result);
                } else {
                    let origin = Origin {
                        token: k as u32,
                        client: 0,
                        seq: 0,
                        part: 0,
                    };
                    let op = Op::Apply(result.map(Box::new));
                    self.batch_for(owner)
                        .push_request(origin, db, false, op, std::iter::once(key));
                }
            }
        }
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let ready = conn.ready_slot(&out, &[], 0);
        if let Some(slot) = conn.slot_mut(seq) {
            *slot = ready;
        }
        conn.stalled = false;
        conn.drain_ready();
        self.after_delivery(k);
        self.schedule_resume(k);
    }

    /// Places a forwarded command's reply in its slot and moves ready replies to the output.
    /// `refs` are the large values the reply references, at offsets relative to `base`.
    pub(super) fn deliver(
        &mut self,
        origin: Origin,
        bytes: &[u8],
        refs: &[(usize, SharedValue)],
        base: usize,
    ) {
        let Some(conn) = live(&mut self.conns, origin.token, origin.client) else {
            return;
        };
        match conn.slot_mut(origin.seq) {
            Some(Slot::Waiting) => {
                if origin.seq == conn.head_seq {
                    conn.push_output(bytes, refs, base);
                    conn.slots.pop_front();
                    conn.head_seq += 1;
                } else {
                    let ready = conn.ready_slot(bytes, refs, base);
                    if let Some(s) = conn.slot_mut(origin.seq) {
                        *s = ready;
                    }
                }
            }
            Some(Slot::Chain(_)) => {
                let flat = flatten(bytes, refs, base);
                return self.chain_page(origin.token as usize, origin.client, origin.seq, &flat);
            }
            Some(Slot::Gather(_)) => {
                // Parts are combined byte-wise: inline the referenced values.
                let flat = flatten(bytes, refs, base);
                return self.fill_part(
                    origin.token as usize,
                    origin.client,
                    origin.seq,
                    origin.part as usize,
                    flat,
                );
            }
            _ => return,
        }
        conn.drain_ready();
        self.after_delivery(origin.token as usize);
    }

    pub(super) fn after_delivery(&mut self, k: usize) {
        self.queue_flush(k);
        if let Some(c) = self.conns.get(k) {
            if c.queued_resume
                && !c.stalled
                && c.slots.len() < MAX_SLOTS / 2
                && c.pending_output(OUTPUT_PAUSE) <= OUTPUT_PAUSE
            {
                self.schedule_resume(k);
            }
        }
    }
}

/// A reply with its referenced values copied in place.
pub(super) fn flatten(bytes: &[u8], refs: &[(usize, SharedValue)], base: usize) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(bytes.len() + refs.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut cur = 0;
    for (off, v) in refs {
        let at = off - base;
        out.extend_from_slice(&bytes[cur..at]);
        out.extend_from_slice(v);
        cur = at;
    }
    out.extend_from_slice(&bytes[cur..]);
    out
}

/// Parses `:<n>\r\n`.
pub(super) fn parse_int_reply(b: &[u8]) -> Option<i64> {
    let s = b.strip_prefix(b":")?.strip_suffix(b"\r\n")?;
    crate::resp::parse_i64(s)
}

/// Splits `*<n>\r\n<body>` into n and body.
pub(super) fn split_array_reply(b: &[u8]) -> Option<(i64, &[u8])> {
    let rest = b.strip_prefix(b"*")?;
    let cr = memchr::memchr(b'\r', rest)?;
    let n = crate::resp::parse_i64(&rest[..cr])?;
    Some((n, &rest[cr + 2..]))
}

/// Splits a cursor command's page `*2 <cursor> *N <items>` into (cursor, N, the encoded items);
/// None for anything else (an error, answered as it is).
pub(super) fn split_cursor_page(b: &[u8]) -> Option<(u64, usize, &[u8])> {
    let rest = b.strip_prefix(b"*2\r\n$")?;
    let cr = memchr::memchr(b'\r', rest)?;
    let len: usize = std::str::from_utf8(&rest[..cr]).ok()?.parse().ok()?;
    let cursor = rest.get(cr + 2..cr + 2 + len)?;
    let cursor: u64 = std::str::from_utf8(cursor).ok()?.parse().ok()?;
    let (items, body) = split_array_reply(rest.get(cr + 2 + len + 2..)?)?;
    Some((cursor, usize::try_from(items).ok()?, body))
}

/// Combines the parts of a gathered reply. An error part wins.
pub(super) fn combine(g: &mut Gather) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = g
        .parts
        .iter_mut()
        .map(|p| p.take().unwrap_or_default())
        .collect();
    if let Some(e) = parts.iter().find(|p| p.first() == Some(&b'-')) {
        return e.clone();
    }
    let mut out = Vec::new();
    let mut r = Reply::new(&mut out, g.resp3);
    match g.combine {
        Combine::SumInts => r.int(parts.iter().filter_map(|p| parse_int_reply(p)).sum()),
        Combine::AllOk => r.ok(),
        Combine::ConcatArrays => {
            let split: Vec<(i64, &[u8])> =
                parts.iter().filter_map(|p| split_array_reply(p)).collect();
            r.array(split.iter().map(|(n, _)| *n as usize).sum());
            for (_, body) in split {
                r.raw(body);
            }
        }
        Combine::AnyNonNull => {
            let pick = parts
                .iter()
                .find(|p| p.as_slice() != b"$-1\r\n" && p.as_slice() != b"_\r\n");
            r.raw(
                pick.or(parts.first())
                    .map(|v| v.as_slice())
                    .unwrap_or(b"$-1\r\n"),
            );
        }
    }
    out
}
