//! The mailboxes: running the batches other workers sent (on this worker, the owner) and pushing
//! this iteration's batches out (one wake per batch, only to a parked owner).

use super::*;

impl Worker {
    pub(super) fn drain_inbox(&mut self) {
        for src in 0..self.n {
            if src == self.id {
                continue;
            }
            while let Some(mut batch) = self.mail.recv(src, self.id) {
                let run = std::panic::AssertUnwindSafe(|| self.handle_batch(src, &mut batch));
                if std::panic::catch_unwind(run).is_err() {
                    crate::log_at!(
                        Warning,
                        "worker {}: internal error while executing a batch from worker {src}",
                        self.id
                    );
                }
                batch.clear();
                if self.pool.len() < 2 * self.n {
                    self.pool.push(batch);
                }
            }
        }
    }

    /// Executes the requests of a batch from `src` (replying in one batch) and delivers its replies.
    pub(super) fn handle_batch(&mut self, src: usize, batch: &mut Batch) {
        if self.answering_busy {
            return self.answer_busy(src, batch);
        }
        self.stats.executed = true;
        let Batch {
            data,
            ranges,
            refs,
            requests,
            responses,
        } = batch;
        // Keys to prefetch, PREFETCH_BATCH requests ahead of execution.
        let key_of = |req: &mailbox::Request| {
            (req.args.end - req.args.start >= 2 && req.shared.is_none())
                .then(|| (req.db as usize, ranges[req.args.start as usize + 1].clone()))
        };
        let ahead: Vec<Option<(usize, Range<usize>)>> = requests.iter().map(key_of).collect();
        for (i, req) in requests.drain(..).enumerate() {
            if i % PREFETCH_BATCH == 0 {
                for (db, r) in ahead[i..(i + PREFETCH_BATCH).min(ahead.len())]
                    .iter()
                    .flatten()
                {
                    if let Some(db) = self.ks.dbs.get(*db) {
                        db.table.prefetch(&data[r.clone()]);
                    }
                }
            }
            let arg_ranges = &ranges[req.args.start as usize..req.args.end as usize];
            let args = match &req.shared {
                Some(buf) => Args::frozen(buf, arg_ranges),
                None => Args::new(data, arg_ranges),
            };
            let db = (req.db as usize).min(self.ks.dbs.len() - 1);
            if let Op::Exec(ci) = req.op {
                if let Exec::Script = TABLE.get(ci as usize).exec {
                    // A script whose keys are all here: it runs as on a connection of this
                    // worker (its own shard, no lock), its reply sent back in the batch.
                    let started = Started::now();
                    let mut reply = std::mem::take(&mut self.step_out);
                    reply.clear();
                    self.run_forwarded_script(ci as usize, &args, db, req.resp3, &mut reply);
                    let pool = &mut self.pool;
                    let out =
                        self.outbox[src].get_or_insert_with(|| pool.pop().unwrap_or_default());
                    let start = out.data.len();
                    out.data.extend_from_slice(&reply);
                    out.responses.push(mailbox::Response {
                        origin: req.origin,
                        body: Body::Bytes(start..out.data.len()),
                    });
                    if reply.capacity() <= 64 * 1024 {
                        self.step_out = reply;
                    }
                    self.account(SLOTS.slot_of(ci as usize, &args), started, Count::Call);
                    self.serve_own();
                    continue;
                }
            }
            // One command (its handler and how it counts: a page of a cursor command was counted
            // where it arrived, and adds only its time), or a MULTI block whose keys are all on
            // this shard. Commands over several shards run as atomic steps and do not travel.
            let single = match &req.op {
                Op::Exec(ci) => match TABLE.get(*ci as usize).exec {
                    Exec::Keyed(f) | Exec::Fanout(f, _) => Some((*ci as usize, f, Count::Call)),
                    Exec::Cursor(f, _) => Some((*ci as usize, f, Count::Part)),
                    Exec::Broadcast(..)
                    | Exec::Conn(_)
                    | Exec::Transaction
                    | Exec::Watch
                    | Exec::Script
                    | Exec::Shards(_) => continue,
                },
                Op::Block(_) => None,
            };
            self.evict_on(self.id);
            let pool = &mut self.pool;
            let out = self.outbox[src].get_or_insert_with(|| pool.pop().unwrap_or_default());
            let start = out.data.len();
            self.ks.writer = req.origin.client;
            let mut ctx = Ctx {
                ks: &mut self.ks,
                db,
                now: self.now,
                reply: Reply::with_refs(&mut out.data, &mut out.refs, req.resp3),
                worker: self.id,
                workers: self.n,
                block: crate::command::Block::Never,
                shared: &self.shared,
            };
            // Each command's stats slot and start, accounted once the reply is in place.
            let mut timed = None;
            let mut block_timed = Vec::new();
            let mut attempt = blocking::Attempt::Answered;
            if let Some((ci, f, how)) = single {
                let started = Started::now();
                attempt = blocking::run_blocking(&mut ctx, ci, f, &args, req.ticket.as_ref());
                timed = Some((SLOTS.slot_of(ci, &args), started, how));
            } else if let Op::Block(cmds) = &req.op {
                // EXEC's reply: an array of the commands' replies; EXEC itself (the last entry)
                // is accounted after them.
                let (&(exec_ci, exec_argc), cmds) = cmds.split_last().unwrap_or((&(0, 0), &[]));
                let block_started = Started::now();
                ctx.reply.array(cmds.len());
                let mut from = req.args.start as usize;
                for &(ci, argc) in cmds.iter() {
                    let to = from + argc as usize;
                    let one = Args::new(data, &ranges[from..to]);
                    from = to;
                    let started = Started::now();
                    if let Exec::Keyed(f) | Exec::Fanout(f, _) = TABLE.get(ci as usize).exec {
                        run_keyed(&mut ctx, ci as usize, f, &one);
                    }
                    block_timed.push((
                        SLOTS.slot_of(ci as usize, &one),
                        started,
                        from - argc as usize..to,
                    ));
                }
                let exec_args = from..from + exec_argc as usize;
                let exec_slot = SLOTS.slot_of(
                    exec_ci as usize,
                    &Args::new(data, &ranges[exec_args.clone()]),
                );
                block_timed.push((exec_slot, block_started, exec_args));
            }
            let end = out.data.len();
            // A call that waits (or was answered meanwhile) has no reply now.
            if attempt == blocking::Attempt::Answered {
                out.responses.push(mailbox::Response {
                    origin: req.origin,
                    body: Body::Bytes(start..end),
                });
            }
            if let Some((slot, started, how)) = timed {
                if how == Count::Call {
                    self.account_call(slot, started, &args, req.origin.client, db);
                } else {
                    self.account(slot, started, how);
                }
            }
            for (slot, started, r) in block_timed {
                let one = Args::new(data, &ranges[r]);
                self.account_call(slot, started, &one, req.origin.client, db);
            }
            // What this request pushed serves the clients waiting on it, before the next runs.
            self.serve_own();
        }
        // Replies were appended in order, and so were the values they reference: walk both together.
        let mut next_ref = 0;
        for resp in responses.drain(..) {
            let r = match resp.body {
                Body::Bytes(r) => r,
                Body::Retry(t) => {
                    self.retries.push(t);
                    continue;
                }
            };
            let first = next_ref;
            while next_ref < refs.len() && refs[next_ref].0 < r.end {
                next_ref += 1;
            }
            self.deliver(
                resp.origin,
                &data[r.clone()],
                &refs[first..next_ref],
                r.start,
            );
        }
    }

    /// A batch that arrived while this worker's script is busy: its requests are answered
    /// -BUSY unrun (as Redis answers what arrives during a busy script); its replies to this
    /// worker's own requests are delivered as usual.
    fn answer_busy(&mut self, src: usize, batch: &mut Batch) {
        let busy = self.shared.scripts.busy_error();
        for req in batch.requests.drain(..) {
            let pool = &mut self.pool;
            let out = self.outbox[src].get_or_insert_with(|| pool.pop().unwrap_or_default());
            let start = out.data.len();
            Reply::new(&mut out.data, req.resp3).error(busy);
            out.responses.push(mailbox::Response {
                origin: req.origin,
                body: Body::Bytes(start..out.data.len()),
            });
        }
        if !batch.responses.is_empty() {
            // Replies to this worker's own requests are delivered now (a client waiting for one
            // is answered); the requests are gone, so nothing else of the batch runs.
            self.answering_busy = false;
            self.handle_batch(src, batch);
            self.answering_busy = true;
        }
    }

    pub(super) fn send_outboxes(&mut self) {
        let was_full = self.ring_full;
        self.ring_full = false;
        for dest in 0..self.n {
            let Some(b) = self.outbox[dest].take() else {
                continue;
            };
            if b.is_empty() {
                self.outbox[dest] = Some(b);
                continue;
            }
            if let Err(b) = self.mail.send(self.id, dest, b) {
                self.outbox[dest] = Some(b);
                self.ring_full = true;
            }
        }
        if was_full && !self.ring_full {
            for k in std::mem::take(&mut self.paused_on_ring) {
                self.schedule_resume(k);
            }
        }
    }
}
