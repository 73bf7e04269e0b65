//! Scripting commands: EVAL and its variants (run by the worker, `worker/script.rs`, which holds
//! the shards of the script's keys), and SCRIPT, which manages the shared cache.
//!
//! The texts are Redis 7.0's: clients match on them.

use super::{cmd, flag::*, Args, Command, Exec, KeySpec, Sub};
use crate::command::ctx::{unknown_subcommand, ConnCtx};
use crate::script::store::{parse_shebang, sha1_hex, sha_key};

/// EVALSHA of a script that is not cached.
pub const NO_SCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// The sub-commands of SCRIPT Rustis implements (SCRIPT DEBUG, Redis's Lua debugger, is not
/// one of them: it is refused as unknown rather than accepted and ignored).
pub const SCRIPT_SUBCOMMANDS: &[Sub] = &[
    ("exists", -3),
    ("flush", -2),
    ("help", 2),
    ("kill", 2),
    ("load", 3),
];

/// Key positions of `EVAL script numkeys key [key ...] arg [arg ...]` (and EVALSHA, FCALL...).
pub fn keys_numkeys_at_2(args: &Args, out: &mut Vec<usize>) {
    super::keys_numkeys(args, 2, out)
}

/// The scripting commands.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use KeySpec::Custom;
    const EVAL: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS;
    vec![
        cmd("eval", -3, EVAL, Custom(keys_numkeys_at_2), Exec::Script),
        cmd("evalsha", -3, EVAL, Custom(keys_numkeys_at_2), Exec::Script),
        cmd("eval_ro", -3, READONLY | EVAL, Custom(keys_numkeys_at_2), Exec::Script),
        cmd("evalsha_ro", -3, READONLY | EVAL, Custom(keys_numkeys_at_2), Exec::Script),
        cmd("script", -2, 0, KeySpec::None, Exec::Conn(script)).with_subs(SCRIPT_SUBCOMMANDS),
    ]
}

/// SCRIPT LOAD | EXISTS | FLUSH | KILL | HELP.
fn script(c: &mut ConnCtx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    match (sub.as_slice(), a.len()) {
        (b"load", 3) => {
            let body = a.get(2);
            let sha = sha1_hex(body);
            let scripts = &c.shared.scripts;
            if scripts.get(&sha).is_none() {
                let flags = match parse_shebang(body) {
                    Ok((flags, _)) => flags,
                    Err(e) => return c.reply.error(&format!("ERR {e}")),
                };
                let generation = scripts.generation();
                let compiled = crate::script::with_engine(|e| {
                    e.sync(generation);
                    e.compile(&sha, body)
                });
                match compiled {
                    Some(Ok(())) => {}
                    Some(Err(e)) => return c.reply.error(&format!("ERR {e}")),
                    None => return c.reply.error("ERR the script engine is unavailable"),
                }
                scripts.insert(sha, body, flags);
            }
            c.reply.bulk(&sha);
        }
        (b"exists", _) => {
            c.reply.array(a.len() - 2);
            for s in a.iter_from(2) {
                let known = sha_key(s).is_some_and(|k| c.shared.scripts.get(&k).is_some());
                c.reply.int(known as i64);
            }
        }
        (b"flush", 2) => {
            c.shared.scripts.flush();
            c.reply.ok();
        }
        (b"flush", 3) if a.is(2, "sync") || a.is(2, "async") => {
            c.shared.scripts.flush();
            c.reply.ok();
        }
        (b"flush", _) => c
            .reply
            .error("ERR SCRIPT FLUSH only support SYNC|ASYNC option"),
        (b"kill", 2) => crate::script::kill(c.shared, true, &mut c.reply),
        (b"help", 2) => {
            let lines = [
                "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "EXISTS <sha1> [<sha1> ...]",
                "    Return information about the existence of the scripts in the script cache.",
                "FLUSH [ASYNC|SYNC]",
                "    Flush the Lua scripts cache. Very dangerous on replicas.",
                "    When called without the optional mode argument, the behavior is determined by the",
                "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
                "    * ASYNC: Asynchronously flush the scripts cache.",
                "    * SYNC: Synchronously flush the scripts cache.",
                "KILL",
                "    Kill the currently executing Lua script.",
                "LOAD <script>",
                "    Load a script into the scripts cache without executing it.",
                "HELP",
                "    Prints this help.",
            ];
            c.reply.array(lines.len());
            for l in lines {
                c.reply.simple(l);
            }
        }
        _ => unknown_subcommand(&mut c.reply, a),
    }
}
