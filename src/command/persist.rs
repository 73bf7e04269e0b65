//! Persistence commands: SAVE, BGSAVE, LASTSAVE and SHUTDOWN (which saves first when asked to or
//! when save points are configured). The snapshot machinery is in [`crate::persist`]; these run
//! holding every shard ([`Exec::Shards`]), the instant a snapshot captures.

use super::ctx::{ConnCtx, ShardsCtx};
use super::{cmd, flag::*, Args, Command, Exec, KeySpec};
use crate::persist::{self, StartError, Target};
use crate::resp::err;
use crate::shared::Shared;

/// The persistence commands.
pub fn commands() -> Vec<Command> {
    use Exec::{Conn, Shards};
    const K0: KeySpec = KeySpec::None;
    vec![
        cmd(
            "save",
            1,
            ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
            K0,
            Shards(save),
        ),
        cmd(
            "bgsave",
            -1,
            ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
            K0,
            Shards(bgsave),
        ),
        cmd("lastsave", 1, LOADING | STALE | FAST, K0, Conn(lastsave)),
        cmd(
            "shutdown",
            -1,
            ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
            K0,
            Shards(shutdown),
        ),
    ]
}

/// Where snapshots go and how they are written, from the parameters now.
pub fn target(shared: &Shared) -> Target {
    let p = &shared.params;
    let dir = p.get("dir").unwrap_or_else(|| ".".into());
    let file = p.get("dbfilename").unwrap_or_else(|| "dump.rdb".into());
    Target {
        path: std::path::Path::new(&dir).join(file),
        compress: p.get("rdbcompression").as_deref() != Some("no"),
        checksum: p.get("rdbchecksum").as_deref() != Some("no"),
        list_fill: p.get_i64("list-max-listpack-size"),
        redis_ver: crate::shared::REDIS_VERSION,
    }
}

/// Whether save points are configured (`save` is not empty).
pub fn has_save_points(shared: &Shared) -> bool {
    shared.has_save_points()
}

/// Starts a snapshot of `shards` (every shard, held by the caller). O(databases).
pub fn start_snapshot(
    shared: &Shared,
    shards: &mut [&mut crate::store::Keyspace],
) -> Result<u64, StartError> {
    let functions = shared
        .scripts
        .libraries
        .all()
        .iter()
        .map(|l| l.code.to_vec())
        .collect();
    let dirty = shards.iter().map(|ks| ks.stats.dirty).sum();
    persist::start(
        &shared.persist,
        shards,
        &target(shared),
        functions,
        dirty,
        shared.used_memory(),
    )
}

/// A snapshot taken to the end before returning (SAVE, SHUTDOWN): every shard serialized in
/// parallel by this thread and helpers, the file synced and renamed. A running background
/// snapshot is finished first. Ok, or the error that voided it (logged).
pub fn save_now(shared: &Shared, shards: &mut [&mut crate::store::Keyspace]) -> Result<(), String> {
    let id = match start_snapshot(shared, shards) {
        Ok(id) => id,
        Err(StartError::InProgress) => {
            let running = shared.persist.status().started;
            persist::drain(shards);
            shared.persist.wait(running);
            start_snapshot(shared, shards).map_err(|e| format!("{e:?}"))?
        }
        Err(e) => return Err(format!("{e:?}")),
    };
    persist::drain(shards);
    match shared.persist.wait(id).error {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// SAVE: a snapshot taken while every shard is held, as Redis blocks while it saves.
fn save(x: &mut ShardsCtx, _a: &Args) {
    if x.c.shared.persist.running() {
        return x.c.reply.error("ERR Background save already in progress");
    }
    match save_now(x.c.shared, &mut x.shards) {
        Ok(()) => x.c.reply.ok(),
        Err(_) => x.c.reply.error("ERR"),
    }
}

/// BGSAVE [SCHEDULE]: starts a snapshot the workers serialize while serving; inside MULTI it is
/// scheduled for the next housekeeping tick, as Redis does.
fn bgsave(x: &mut ShardsCtx, a: &Args) {
    if a.len() > 2 || (a.len() == 2 && !a.is(1, "schedule")) {
        return x.c.reply.error(err::SYNTAX);
    }
    let p = &x.c.shared.persist;
    if p.running() {
        return x.c.reply.error("ERR Background save already in progress");
    }
    if x.c.in_exec {
        p.status().scheduled = true;
        return x.c.reply.simple("Background saving scheduled");
    }
    match start_snapshot(x.c.shared, &mut x.shards) {
        Ok(_) => {
            crate::log_at!(Notice, "Background saving started");
            x.c.reply.simple("Background saving started")
        }
        Err(StartError::InProgress) => x.c.reply.error("ERR Background save already in progress"),
        Err(StartError::Spawn(e)) => {
            crate::log_at!(Warning, "Can't save in background: {e}");
            x.c.reply.error("ERR")
        }
    }
}

/// LASTSAVE: the Unix time of the last successful save.
fn lastsave(c: &mut ConnCtx, _a: &Args) {
    c.reply.int(c.shared.persist.status().lastsave as i64);
}

/// SHUTDOWN while a script runs past busy-reply-threshold (its shards are held, so no save can
/// be taken): as Redis, only SHUTDOWN NOSAVE stops the server; anything else gets -BUSY.
pub fn shutdown_while_busy(c: &mut ConnCtx, a: &Args) {
    if a.iter_from(1).any(|w| w.eq_ignore_ascii_case(b"nosave")) {
        crate::log_at!(Warning, "User requested shutdown...");
        c.shared.persist.exit_handled();
        c.shared.request_shutdown();
        c.session.quit = true;
    } else {
        c.reply.error(c.shared.scripts.busy_error());
    }
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], as Redis 7.0 parses it. With SAVE, or with
/// save points and no NOSAVE, the data is saved first; if that fails the server keeps running
/// and answers Redis's error, unless FORCE. On success there is no reply: the server stops.
fn shutdown(x: &mut ShardsCtx, a: &Args) {
    let (mut nosave, mut save, mut force, mut now, mut abort) = (false, false, false, false, false);
    for arg in a.iter_from(1) {
        match arg.to_ascii_lowercase().as_slice() {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"now" => now = true,
            b"force" => force = true,
            b"abort" => abort = true,
            _ => return x.c.reply.error(err::SYNTAX),
        }
    }
    if (abort && (nosave || save || now || force)) || (nosave && save) {
        return x.c.reply.error(err::SYNTAX);
    }
    if abort {
        return x.c.reply.error("ERR No shutdown in progress.");
    }
    crate::log_at!(Warning, "User requested shutdown...");
    let shared = x.c.shared;
    if save || (!nosave && has_save_points(shared)) {
        crate::log_at!(Notice, "Saving the final RDB snapshot before exiting.");
        if let Err(e) = save_now(shared, &mut x.shards) {
            crate::log_at!(Warning, "Error trying to save the DB, can't exit: {e}");
            if !force {
                return x
                    .c
                    .reply
                    .error("ERR Errors trying to SHUTDOWN. Check logs.");
            }
        }
    }
    shared.persist.exit_handled();
    shared.request_shutdown();
    x.c.session.quit = true;
}
