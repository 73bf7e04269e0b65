//! The thread that writes one snapshot file: the header, then the shards' chunks as they come,
//! then the trailer; crash-safe (temporary file, fsync, rename, fsync of the directory).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use super::{Msg, Persist, Target};
use crate::rdb::crc64;
use crate::rdb::file::{write_function, write_header, write_select, write_trailer};

/// What the writer needs to know of its snapshot.
pub(super) struct Job {
    pub id: u64,
    pub target: Target,
    /// Function libraries' code, written before the databases.
    pub functions: Vec<Vec<u8>>,
    /// Per database: keys and keys with a TTL when the snapshot started (RESIZEDB hints).
    pub sizes: Vec<(u64, u64)>,
    pub used_memory: u64,
    pub dirty_at_start: u64,
}

/// Writes the snapshot, then records its outcome in `persist`.
pub(super) fn run(persist: Arc<Persist>, job: Job, rx: Receiver<Msg>) {
    let dir = job
        .target
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| ".".into());
    let tmp = dir.join(format!("temp-{}-{}.rdb", std::process::id(), job.id));
    let result = write(&persist, &job, &tmp, &rx).and_then(|bytes| {
        std::fs::rename(&tmp, &job.target.path)
            .map_err(|e| format!("Error moving temp DB file on the final destination: {e}"))?;
        // The rename itself is durable only once the directory is synced.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(bytes)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    persist.finish(job.id, result.err(), job.dirty_at_start);
}

/// Writes the whole file at `tmp` and syncs it; the bytes written.
fn write(persist: &Persist, job: &Job, tmp: &Path, rx: &Receiver<Msg>) -> Result<u64, String> {
    let file = File::create(tmp).map_err(|e| {
        format!(
            "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
            tmp.file_name().map_or("".into(), |n| n.to_string_lossy()),
            tmp.parent().map_or("".into(), |p| p.display().to_string())
        )
    })?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut crc = 0u64;
    let mut bytes = 0u64;
    let mut put = |out: &mut BufWriter<File>, b: &[u8]| -> Result<(), String> {
        if job.target.checksum {
            crc = crc64(crc, b);
        }
        bytes += b.len() as u64;
        out.write_all(b)
            .map_err(|e| format!("Write error saving DB on disk: {e}"))
    };
    let mut head = Vec::new();
    write_header(
        &mut head,
        job.target.redis_ver,
        super::unix_secs(),
        job.used_memory,
    );
    for f in &job.functions {
        write_function(&mut head, f);
    }
    for (db, &(keys, expires)) in job.sizes.iter().enumerate() {
        if keys > 0 {
            write_select(&mut head, db, Some((keys, expires)));
        }
    }
    put(&mut out, &head)?;
    let (mut done, mut expected) = (0usize, None);
    while expected != Some(done) {
        match rx.recv() {
            Ok(Msg::Data(chunk)) => {
                put(&mut out, &chunk)?;
                persist.written(chunk.len());
            }
            Ok(Msg::Done) => done += 1,
            Ok(Msg::Sealed(n)) => expected = Some(n),
            Ok(Msg::Unwritable(key)) => {
                return Err(format!(
                    "the value of key '{}' cannot be saved in an RDB file yet",
                    String::from_utf8_lossy(&key)
                ))
            }
            Ok(Msg::Aborted) => return Err("the snapshot was cut short (a shard went away)".into()),
            Err(_) => return Err("the snapshot was cut short (its shards went away)".into()),
        }
    }
    let mut tail = Vec::new();
    write_trailer(&mut tail, job.target.checksum.then_some(crc));
    bytes += tail.len() as u64;
    out.write_all(&tail)
        .map_err(|e| format!("Write error saving DB on disk: {e}"))?;
    let file = out
        .into_inner()
        .map_err(|e| format!("Write error saving DB on disk: {}", e.error()))?;
    file.sync_all()
        .map_err(|e| format!("Write error saving DB on disk (fsync): {e}"))?;
    Ok(bytes)
}
