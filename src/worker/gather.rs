//! Replies coming back: each fills its reply slot, cursor pages chain on; ready slots move to
//! the output in request order. And how the parts of a command run on several shards combine.

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
        if conn
            .block
            .as_ref()
            .is_some_and(|(t, _)| t.seq == origin.seq)
        {
            // The blocking call is answered: the connection reads on.
            conn.block = None;
        }
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
            Some(Slot::Dropped) => {
                let start = conn.spill.len();
                if let Some(s) = conn.slot_mut(origin.seq) {
                    *s = Slot::Ready(start..start);
                }
            }
            Some(Slot::Chain(_)) => {
                let flat = flatten(bytes, refs, base);
                return self.chain_page(origin.token as usize, origin.client, origin.seq, &flat);
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

/// A random index below `n` (> 0): std's per-call random hasher keys, which need no state here.
fn random_below(n: usize) -> usize {
    use std::hash::{BuildHasher, Hasher};
    let h = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (h % n as u64) as usize
}

/// Combines the replies of a command's parts (one per shard or per key group) into its reply. An
/// error part wins.
pub(super) fn combine(how: Combine, parts: Vec<Vec<u8>>, resp3: bool) -> Vec<u8> {
    if let Some(e) = parts.iter().find(|p| p.first() == Some(&b'-')) {
        return e.clone();
    }
    let mut out = Vec::new();
    let mut r = Reply::new(&mut out, resp3);
    match how {
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
        Combine::RandomNonNull => {
            let found: Vec<&Vec<u8>> = parts
                .iter()
                .filter(|p| p.as_slice() != b"$-1\r\n" && p.as_slice() != b"_\r\n")
                .collect();
            let pick = match found.len() {
                0 => parts.first(),
                n => Some(found[random_below(n)]),
            };
            r.raw(pick.map(|v| v.as_slice()).unwrap_or(b"$-1\r\n"));
        }
    }
    out
}
