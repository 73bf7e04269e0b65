//! The load at startup: the RDB file is read whole and parsed on this thread, and each key goes,
//! in batches, to a thread per shard that inserts it into the shard that owns it (before any
//! worker runs, so nothing else can see a half-loaded keyspace). Parsing and inserting overlap.

use std::path::Path;
use std::sync::mpsc::sync_channel;

use crate::keyslot::{key_slot, slot_owner};
use crate::rdb::file::{read_file, Loaded};
use crate::store::{EncodingLimits, Entry, Keyspace};

/// Keys handed to a shard's inserting thread at once.
const BATCH: usize = 1024;

/// What a shard's inserting thread is sent.
enum Item {
    /// Keys for the shard: (database, entry).
    Batch(Vec<(usize, Entry)>),
    /// About this many keys of database `db` will come (the file's RESIZEDB, shared out).
    Reserve(usize, usize),
}

/// Inserts the keys it is sent into `ks`; the first duplicated key is an error.
fn insert_all(ks: &mut Keyspace, items: std::sync::mpsc::Receiver<Item>) -> Result<(), String> {
    let mut first_error = None;
    for item in items {
        let batch = match item {
            Item::Reserve(db, n) => {
                if let Some(d) = ks.dbs.get_mut(db) {
                    d.table.reserve(n);
                }
                continue;
            }
            Item::Batch(b) => b,
        };
        for (db, e) in batch {
            let key = e.key.clone();
            if ks.dbs[db].restore(e).is_some() && first_error.is_none() {
                first_error = Some(format!(
                    "RDB has duplicated key '{}' in DB {db}",
                    String::from_utf8_lossy(key.as_bytes())
                ));
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Loads `path` into `shards` (empty, one per worker). `Ok(None)` when there is no such file;
/// an error (the file's damage, a duplicated key) leaves the caller to refuse to start, as Redis
/// does. O(file size).
pub fn load(
    path: &Path,
    shards: &mut [Keyspace],
    limits: &EncodingLimits,
    check_crc: bool,
    now_ms: u64,
) -> Result<Option<Loaded>, String> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    let n = shards.len();
    let databases = shards.first().map_or(0, |s| s.dbs.len());
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(n);
        let mut inserters = Vec::with_capacity(n);
        for ks in shards.iter_mut() {
            let (tx, rx) = sync_channel::<Item>(64);
            senders.push(tx);
            inserters.push(scope.spawn(move || insert_all(ks, rx)));
        }
        let mut pending: Vec<Vec<(usize, Entry)>> = (0..n).map(|_| Vec::new()).collect();
        let parsed = read_file(
            &data,
            databases,
            limits,
            now_ms,
            check_crc,
            |db, e| {
                let owner = slot_owner(key_slot(e.key.as_bytes()), n);
                pending[owner].push((db, e));
                if pending[owner].len() >= BATCH {
                    let batch = std::mem::replace(&mut pending[owner], Vec::with_capacity(BATCH));
                    senders[owner]
                        .send(Item::Batch(batch))
                        .map_err(|_| "a loading thread stopped".to_string())?;
                }
                Ok(())
            },
            |db, keys| {
                // Keys spread evenly over the shards (hash slots); a little room over the share. A
                // key takes 3 bytes of the file at least: a hint beyond that is a lie, not obeyed.
                let keys = (keys as usize).min(data.len() / 3);
                let share = (keys / n) + (keys / n) / 16;
                for tx in &senders {
                    let _ = tx.send(Item::Reserve(db, share));
                }
            },
        );
        for (owner, batch) in pending.into_iter().enumerate() {
            if !batch.is_empty() {
                let _ = senders[owner].send(Item::Batch(batch));
            }
        }
        drop(senders);
        let inserted: Result<(), String> = inserters.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err("a loading thread panicked".into()))
        });
        let loaded = parsed?;
        inserted?;
        Ok(Some(loaded))
    })
}
