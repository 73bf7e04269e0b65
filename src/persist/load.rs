//! The load at startup: the RDB file is read whole, and each key goes to the shard that owns it
//! (before any worker runs, so nothing else can see a half-loaded keyspace).

use std::path::Path;

use crate::keyslot::{key_slot, slot_owner};
use crate::rdb::file::{read_file, Loaded};
use crate::store::{EncodingLimits, Keyspace};

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
    let loaded = read_file(&data, databases, limits, now_ms, check_crc, |db, e| {
        let owner = slot_owner(key_slot(e.key.as_bytes()), n);
        let key = e.key.clone();
        match shards[owner].dbs[db].restore(e) {
            None => Ok(()),
            Some(_) => Err(format!(
                "RDB has duplicated key '{}' in DB {db}",
                String::from_utf8_lossy(key.as_bytes())
            )),
        }
    })?;
    Ok(Some(loaded))
}
