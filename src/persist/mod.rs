//! Snapshots to disk: SAVE, BGSAVE, save points, the save at shutdown, and the load at startup.
//!
//! A snapshot captures every shard at one logical instant without a fork: the caller holds every
//! shard at once (an atomic step over all of them) while [`start`] marks each table "to be saved"
//! ([`crate::store::table::SnapshotSink`]). From then on each shard's segments are serialized
//! either by its worker's housekeeping ([`crate::store::Keyspace::snapshot_step`], in parallel
//! across workers) or just before a write would change them, whichever comes first; the workers
//! keep serving meanwhile. The serialized chunks go to one writer thread ([`writer`]) that writes
//! the file as Redis 7.0 does (`REDIS0010`, aux fields, libraries, keys, CRC64) into a temporary
//! file, then fsync, rename and fsync of the directory: a crash at any point leaves the previous
//! file whole.
//!
//! The memory a snapshot costs is the chunks in flight (the writer writes as they come) plus, at
//! worst, one segment's serialization per write that forces one: no copy of the keyspace.

pub mod load;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use crate::rdb::file::{write_entry, write_select};
use crate::rdb::value::WriteOptions;
use crate::store::table::SnapshotSink;
use crate::store::{Entry, Keyspace};

/// The Unix time in seconds (LASTSAVE, `ctime`).
fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Redis's refusal of writes while snapshots fail (stop-writes-on-bgsave-error).
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Serialized bytes a sink gathers before handing them to the writer.
const CHUNK: usize = 256 * 1024;
/// Serialized bytes waiting for the writer above which the workers' slices pause (writes still
/// save the segments they touch): the memory a snapshot costs stays near this, whatever the
/// disk's speed.
const MAX_IN_FLIGHT: u64 = 8 << 20;

/// What a sink sends the writer thread.
enum Msg {
    /// Serialized records (each chunk starts with SELECTDB).
    Data(Vec<u8>),
    /// One sink is complete.
    Done,
    /// A sink was dropped before its table was saved whole: the snapshot is void.
    Aborted,
    /// Every sink of the snapshot exists now: this many.
    Sealed(usize),
    /// A key whose value has no RDB form here: the snapshot fails.
    Unwritable(Vec<u8>),
}

/// One table's sink: serializes the entries it is given into chunks for the writer.
struct ChunkSink {
    db: usize,
    buf: Vec<u8>,
    tx: Sender<Msg>,
    in_flight: std::sync::Arc<AtomicU64>,
    opts: WriteOptions,
    finished: bool,
}

impl ChunkSink {
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            self.in_flight
                .fetch_add(self.buf.len() as u64, Ordering::Relaxed);
            let _ = self.tx.send(Msg::Data(std::mem::take(&mut self.buf)));
        }
    }
}

impl SnapshotSink for ChunkSink {
    fn save(&mut self, entries: &mut dyn Iterator<Item = &Entry>) {
        for e in entries {
            if self.buf.is_empty() {
                self.buf.reserve(CHUNK + CHUNK / 4);
                write_select(&mut self.buf, self.db, None);
            }
            if !write_entry(&mut self.buf, e, &self.opts) {
                // Never skipped in silence: the snapshot fails, and says which key.
                let _ = self.tx.send(Msg::Unwritable(e.key.to_vec()));
            }
            if self.buf.len() >= CHUNK {
                self.flush();
            }
        }
    }

    fn finish(mut self: Box<Self>) {
        self.flush();
        self.finished = true;
        let _ = self.tx.send(Msg::Done);
    }
}

impl Drop for ChunkSink {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.tx.send(Msg::Aborted);
        }
    }
}

/// How a snapshot ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Which snapshot (see [`Persist::started`]).
    pub id: u64,
    /// The error that voided it, logged too.
    pub error: Option<String>,
}

/// What INFO persistence and LASTSAVE show, and what save points and SAVE wait on.
#[derive(Debug)]
pub struct Status {
    /// The snapshot running now: its id, when it started, and whether a client's BGSAVE (not a
    /// save point) asked for it.
    pub running: Option<(u64, Instant)>,
    /// Snapshots started so far (the last one's id).
    pub started: u64,
    /// The last finished snapshot's outcome.
    pub last: Option<Outcome>,
    /// Unix seconds of the last successful save (or of the start when none happened yet).
    pub lastsave: u64,
    /// Unix seconds of the last attempt, successful or not (save points wait 5 s after a failure).
    pub last_try: u64,
    /// Seconds the last background save took (-1: none yet).
    pub last_bgsave_secs: i64,
    /// Successful saves.
    pub saves: u64,
    /// A BGSAVE asked for inside MULTI, to start at the next housekeeping tick.
    pub scheduled: bool,
    /// Keys loaded and keys skipped as expired by the load at startup.
    pub loaded: (u64, u64),
}

/// The server's persistence state, shared by the workers.
pub struct Persist {
    status: Mutex<Status>,
    changed: Condvar,
    /// Serialized bytes sent to the writer and not written yet.
    in_flight: std::sync::Arc<AtomicU64>,
    /// The change count (the sum of every shard's `dirty`) when the last successful snapshot
    /// started: INFO's `rdb_changes_since_last_save` is the count now minus this.
    pub dirty_base: AtomicU64,
    /// The last snapshot failed: one load per command tells that nothing needs checking.
    failed: std::sync::atomic::AtomicBool,
    /// SHUTDOWN decided about the final save already (done, or NOSAVE): the process does not
    /// save again on its way out.
    exit_handled: std::sync::atomic::AtomicBool,
}

impl Default for Persist {
    fn default() -> Self {
        let now = unix_secs();
        Persist {
            status: Mutex::new(Status {
                running: None,
                started: 0,
                last: None,
                lastsave: now,
                last_try: 0,
                last_bgsave_secs: -1,
                saves: 0,
                scheduled: false,
                loaded: (0, 0),
            }),
            changed: Condvar::new(),
            dirty_base: AtomicU64::new(0),
            in_flight: Default::default(),
            exit_handled: Default::default(),
            failed: Default::default(),
        }
    }
}

/// Where and how to write a snapshot.
#[derive(Clone, Debug)]
pub struct Target {
    /// The file (`dir`/`dbfilename`).
    pub path: PathBuf,
    /// `rdbcompression`.
    pub compress: bool,
    /// `rdbchecksum`.
    pub checksum: bool,
    /// `list-max-listpack-size`, which cuts lists into nodes.
    pub list_fill: i64,
    /// The `redis-ver` aux field: the Redis version whose replies this server gives.
    pub redis_ver: &'static str,
}

impl Persist {
    /// The status, locked (poisoning is ignored: the status is plain data).
    pub fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts `n` bytes written by the writer.
    fn written(&self, n: usize) {
        self.in_flight.fetch_sub(n as u64, Ordering::Relaxed);
    }

    /// Whether the writer keeps up: the workers' snapshot slices wait while it does not.
    #[inline]
    pub fn has_room(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) < MAX_IN_FLIGHT
    }

    /// Whether the last snapshot failed, as one relaxed load (the command path's first check).
    #[inline]
    pub fn failed_fast(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Records that SHUTDOWN dealt with the final save.
    pub fn exit_handled(&self) {
        self.exit_handled.store(true, Ordering::SeqCst);
    }

    /// Whether SHUTDOWN dealt with the final save (else a signal stopped the server).
    pub fn exit_was_handled(&self) -> bool {
        self.exit_handled.load(Ordering::SeqCst)
    }

    /// Whether a snapshot is running.
    pub fn running(&self) -> bool {
        self.status().running.is_some()
    }

    /// Whether the last snapshot failed (for stop-writes-on-bgsave-error).
    pub fn last_failed(&self) -> bool {
        self.status()
            .last
            .as_ref()
            .is_some_and(|o| o.error.is_some())
    }

    /// Waits until snapshot `id` has finished; its outcome.
    pub fn wait(&self, id: u64) -> Outcome {
        let mut s = self.status();
        loop {
            // Every snapshot that ends records its outcome: id's, or a later one's.
            if let Some(o) = s.last.as_ref().filter(|o| o.id >= id) {
                return o.clone();
            }
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Records the end of snapshot `id` (from the writer thread).
    fn finish(&self, id: u64, error: Option<String>, dirty_at_start: u64) {
        let mut s = self.status();
        let now = unix_secs();
        if let Some((_, started)) = s.running.take() {
            s.last_bgsave_secs = started.elapsed().as_secs() as i64;
        }
        s.last_try = now;
        match &error {
            None => {
                s.lastsave = now;
                s.saves += 1;
                self.dirty_base.store(dirty_at_start, Ordering::Relaxed);
                crate::log_at!(Notice, "DB saved on disk");
            }
            Some(e) => crate::log_at!(Warning, "Background saving error: {e}"),
        }
        self.failed.store(error.is_some(), Ordering::Relaxed);
        s.last = Some(Outcome { id, error });
        drop(s);
        self.changed.notify_all();
    }
}

/// Why a snapshot could not start.
#[derive(Debug)]
pub enum StartError {
    /// One is running already.
    InProgress,
    /// The writer thread could not be started.
    Spawn(String),
}

/// Starts a snapshot of `shards` (every shard, held by the caller at once: the logical instant
/// the file captures) into `target`. Returns its id; the shards are serialized from then on by
/// [`Keyspace::snapshot_step`] and by writes, and the writer thread records the outcome in
/// `persist`. `functions` are the libraries' code; `dirty` the change count now. O(databases).
pub fn start(
    persist: &std::sync::Arc<Persist>,
    shards: &mut [&mut Keyspace],
    target: &Target,
    functions: Vec<Vec<u8>>,
    dirty: u64,
    used_memory: u64,
) -> Result<u64, StartError> {
    let mut status = persist.status();
    if status.running.is_some() {
        return Err(StartError::InProgress);
    }
    let id = status.started + 1;
    let databases = shards.first().map_or(0, |s| s.dbs.len());
    let mut sizes = vec![(0u64, 0u64); databases];
    for ks in shards.iter() {
        for (i, db) in ks.dbs.iter().enumerate() {
            if let Some(s) = sizes.get_mut(i) {
                s.0 += db.len() as u64;
                s.1 += db.expires() as u64;
            }
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let persist_for_writer = persist.clone();
    let job = writer::Job {
        id,
        target: target.clone(),
        functions,
        sizes,
        used_memory,
        dirty_at_start: dirty,
    };
    std::thread::Builder::new()
        .name("rustis-rdb".into())
        .spawn(move || writer::run(persist_for_writer, job, rx))
        .map_err(|e| StartError::Spawn(e.to_string()))?;
    let opts = WriteOptions {
        compress: target.compress,
        list_fill: target.list_fill,
    };
    let mut sinks = 0;
    for ks in shards.iter_mut() {
        sinks += ks.begin_snapshot(|db| {
            Box::new(ChunkSink {
                db,
                buf: Vec::new(),
                tx: tx.clone(),
                in_flight: persist.in_flight.clone(),
                opts,
                finished: false,
            })
        });
    }
    let _ = tx.send(Msg::Sealed(sinks));
    status.started = id;
    status.running = Some((id, Instant::now()));
    status.scheduled = false;
    Ok(id)
}

/// Serializes every shard's snapshot to the end on this thread and the others, one thread per
/// shard (SAVE, and the save at shutdown: the caller holds every shard). O(dataset / shards).
pub fn drain(shards: &mut [&mut Keyspace]) {
    std::thread::scope(|s| {
        let mut rest = shards.iter_mut();
        let first = rest.next();
        for ks in rest {
            s.spawn(move || while !ks.snapshot_step(usize::MAX) {});
        }
        if let Some(ks) = first {
            while !ks.snapshot_step(usize::MAX) {}
        }
    });
}

/// A save point due: `points` as `save` holds them ("3600 1 300 100"), `changes` since the last
/// save, `since` seconds since it. Redis's rule: any point whose changes and seconds are both
/// reached.
pub fn save_point_due(points: &str, changes: u64, since: u64) -> bool {
    let nums: Vec<u64> = points
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    nums.chunks(2)
        .any(|p| p.len() == 2 && changes >= p[1] && since >= p[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_points_need_both_changes_and_seconds() {
        assert!(!save_point_due("", 100, 100));
        assert!(save_point_due("60 10", 10, 60));
        assert!(!save_point_due("60 10", 9, 600));
        assert!(!save_point_due("60 10", 900, 59));
        assert!(save_point_due("3600 1 300 100 60 10000", 100, 301));
    }
}
