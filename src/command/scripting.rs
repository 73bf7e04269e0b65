//! Scripting commands: EVAL and its variants (run by the worker, `worker/script.rs`, which holds
//! the shards of the script's keys), and SCRIPT, which manages the shared cache.
//!
//! The texts are Redis 7.0's: clients match on them.

use super::{cmd, flag::*, Args, Command, Exec, KeySpec, Sub};
use crate::command::ctx::{unknown_subcommand, ConnCtx};
use crate::resp::Reply;
use crate::script::store::{
    flags, parse_library_header, parse_shebang, sha1_hex, sha_key, Library,
};

/// EVALSHA of a script that is not cached.
pub const NO_SCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// The sub-commands of SCRIPT, with Redis's arities. Of SCRIPT DEBUG (Redis's Lua debugger) only
/// NO, the default, is accepted: YES and SYNC are refused rather than accepted and ignored.
pub const SCRIPT_SUBCOMMANDS: &[Sub] = &[
    ("debug", 3),
    ("exists", -3),
    ("flush", -2),
    ("help", 2),
    ("kill", 2),
    ("load", 3),
];

/// The sub-commands of FUNCTION, with Redis's arities.
pub const FUNCTION_SUBCOMMANDS: &[Sub] = &[
    ("delete", 3),
    ("dump", 2),
    ("flush", -2),
    ("help", 2),
    ("kill", 2),
    ("list", -2),
    ("load", -3),
    ("restore", -3),
    ("stats", 2),
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
        cmd("eval", -3, EVAL | MAY_REPLICATE, Custom(keys_numkeys_at_2), Exec::Script),
        cmd("evalsha", -3, EVAL | MAY_REPLICATE, Custom(keys_numkeys_at_2), Exec::Script),
        cmd("eval_ro", -3, READONLY | EVAL, Custom(keys_numkeys_at_2), Exec::Script),
        cmd("evalsha_ro", -3, READONLY | EVAL, Custom(keys_numkeys_at_2), Exec::Script),
        cmd("fcall", -3, EVAL | MAY_REPLICATE, Custom(keys_numkeys_at_2), Exec::Script),
        cmd("fcall_ro", -3, READONLY | EVAL, Custom(keys_numkeys_at_2), Exec::Script),
        cmd("script", -2, 0, KeySpec::None, Exec::Conn(script)).with_subs(SCRIPT_SUBCOMMANDS),
        cmd("function", -2, 0, KeySpec::None, Exec::Conn(function)).with_subs(FUNCTION_SUBCOMMANDS),
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
        (b"kill", 2) => crate::script::kill(&c.shared.scripts, true, &mut c.reply),
        (b"debug", 3) => {
            if a.is(2, "no") {
                c.reply.ok()
            } else if a.is(2, "yes") || a.is(2, "sync") {
                c.reply
                    .error("ERR SCRIPT DEBUG YES and SYNC are not supported: this server has no Lua debugger")
            } else {
                c.reply.error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
            }
        }
        (b"help", 2) => {
            let lines = [
                "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DEBUG (YES|SYNC|NO)",
                "    Set the debug mode for subsequent scripts executed.",
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

/// Installs function libraries from their code (the load at startup), as FUNCTION RESTORE
/// APPEND would: Redis's error text for a library that fails to load or clashes.
pub fn restore_libraries(shared: &crate::shared::Shared, codes: &[Vec<u8>]) -> Result<(), String> {
    let libs = codes
        .iter()
        .map(|c| load_library(c))
        .collect::<Result<Vec<_>, _>>()?;
    shared.scripts.libraries.install(libs, false, false)
}

/// Runs `code` (a whole library, metadata line included) in this worker's VM as FUNCTION LOAD
/// does: the library, or Redis's error text.
fn load_library(code: &[u8]) -> Result<Library, String> {
    let (name, body) = parse_library_header(code)?;
    let loaded = crate::script::with_engine(|e| e.load_library(body))
        .unwrap_or_else(|| Err("the script engine is unavailable".into()))?;
    if loaded.is_empty() {
        return Err("No functions registered".into());
    }
    Ok(Library {
        name,
        code: code.into(),
        functions: loaded.into_iter().map(|(info, _)| info).collect(),
    })
}

/// FUNCTION LOAD | DELETE | LIST | DUMP | RESTORE | FLUSH | STATS | KILL | HELP.
fn function(c: &mut ConnCtx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    let libs = &c.shared.scripts.libraries;
    match sub.as_slice() {
        b"load" => {
            let mut at = 2;
            let mut replace = false;
            while at < a.len() - 1 {
                if !a.is(at, "replace") {
                    let msg = format!(
                        "ERR Unknown option given: {}",
                        String::from_utf8_lossy(a.get(at))
                    );
                    return c.reply.error(&msg);
                }
                replace = true;
                at += 1;
            }
            // A taken name is refused before the code is looked at, as in Redis.
            if !replace {
                if let Ok((name, _)) = parse_library_header(a.get(at)) {
                    if libs.get(&name).is_some() {
                        return c.reply.error(&format!("ERR Library '{name}' already exists"));
                    }
                }
            }
            let lib = match load_library(a.get(at)) {
                Ok(lib) => lib,
                Err(e) => return c.reply.error(&format!("ERR {e}")),
            };
            let name = lib.name.clone();
            match libs.install(vec![lib], replace, false) {
                Ok(()) => c.reply.bulk(name.as_bytes()),
                Err(e) => c.reply.error(&format!("ERR {e}")),
            }
        }
        b"delete" => {
            if libs.delete(&String::from_utf8_lossy(a.get(2))) {
                c.reply.ok()
            } else {
                c.reply.error("ERR Library not found")
            }
        }
        b"list" => list(c, a),
        b"dump" => {
            let mut payload = Vec::new();
            for lib in libs.all() {
                payload.push(crate::rdb::OPCODE_FUNCTION2);
                crate::rdb::write_string(&mut payload, &lib.code);
            }
            crate::rdb::seal(&mut payload);
            c.reply.bulk(&payload);
        }
        b"restore" => restore(c, a),
        b"flush" if a.len() > 3 => subcommand_syntax_error(&mut c.reply, a),
        b"flush" => {
            if a.len() == 2 || (a.len() == 3 && (a.is(2, "sync") || a.is(2, "async"))) {
                libs.flush();
                c.reply.ok();
            } else {
                c.reply
                    .error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
            }
        }
        b"stats" if c.shared.scripts.busy_eval() => c.reply.error(
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
        ),
        b"stats" => {
            let r = &mut c.reply;
            r.map(2);
            r.bulk(b"running_script");
            // A function past busy-reply-threshold, on any worker.
            match c.shared.scripts.busy_function() {
                Some((name, call, ms)) => {
                    r.map(3);
                    r.bulk(b"name");
                    r.bulk(name.as_bytes());
                    r.bulk(b"command");
                    r.array(call.len());
                    for a in &call {
                        r.bulk(a);
                    }
                    r.bulk(b"duration_ms");
                    r.int(ms as i64);
                }
                None => r.null(),
            }
            r.bulk(b"engines");
            r.map(1);
            r.bulk(b"LUA");
            r.map(2);
            let all = libs.all();
            r.bulk(b"libraries_count");
            r.int(all.len() as i64);
            r.bulk(b"functions_count");
            r.int(all.iter().map(|l| l.functions.len()).sum::<usize>() as i64);
        }
        b"kill" => crate::script::kill(&c.shared.scripts, false, &mut c.reply),
        b"help" => {
            let lines = FUNCTION_HELP;
            c.reply.array(lines.len());
            for l in lines {
                c.reply.simple(l);
            }
        }
        _ => unknown_subcommand(&mut c.reply, a),
    }
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
fn list(c: &mut ConnCtx, a: &Args) {
    let (mut with_code, mut pattern) = (false, None);
    let mut at = 2;
    while at < a.len() {
        if !with_code && a.is(at, "withcode") {
            with_code = true;
            at += 1;
            continue;
        }
        if pattern.is_none() && a.is(at, "libraryname") {
            if at + 1 >= a.len() {
                return c.reply.error("ERR library name argument was not given");
            }
            pattern = Some(a.get(at + 1));
            at += 2;
            continue;
        }
        let msg = format!(
            "ERR Unknown argument {}",
            String::from_utf8_lossy(a.get(at))
        );
        return c.reply.error(&msg);
    }
    let libs: Vec<_> = c
        .shared
        .scripts
        .libraries
        .all()
        .into_iter()
        .filter(|l| pattern.is_none_or(|p| crate::glob::glob_match(p, l.name.as_bytes(), true)))
        .collect();
    let r = &mut c.reply;
    r.array(libs.len());
    for lib in &libs {
        r.map(if with_code { 4 } else { 3 });
        r.bulk(b"library_name");
        r.bulk(lib.name.as_bytes());
        r.bulk(b"engine");
        r.bulk(b"LUA");
        r.bulk(b"functions");
        r.array(lib.functions.len());
        for f in &lib.functions {
            r.map(3);
            r.bulk(b"name");
            r.bulk(f.name.as_bytes());
            r.bulk(b"description");
            match &f.description {
                Some(d) => r.bulk(d),
                None => r.null(),
            }
            r.bulk(b"flags");
            write_flags(r, f.flags);
        }
        if with_code {
            r.bulk(b"library_code");
            r.bulk(&lib.code);
        }
    }
}

/// A function's flags as FUNCTION LIST shows them: a set of names.
fn write_flags(r: &mut Reply, bits: u32) {
    let names: Vec<&str> = flags::NAMES
        .iter()
        .filter(|(f, _)| bits & f != 0)
        .map(|(_, n)| *n)
        .collect();
    r.set(names.len());
    for n in names {
        r.simple(n);
    }
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: the payload of a FUNCTION DUMP, from this
/// server or from Redis 7.0 (LZF-compressed code included).
fn restore(c: &mut ConnCtx, a: &Args) {
    if a.len() > 4 {
        return subcommand_syntax_error(&mut c.reply, a);
    }
    let (mut replace, mut flush) = (false, false);
    if a.len() == 4 {
        if a.is(3, "append") {
        } else if a.is(3, "replace") {
            replace = true;
        } else if a.is(3, "flush") {
            flush = true;
        } else {
            return c.reply.error(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            );
        }
    }
    let Some((body, _version)) = crate::rdb::unseal(a.get(2)) else {
        return c
            .reply
            .error("ERR DUMP payload version or checksum are wrong");
    };
    let mut reader = crate::rdb::Reader::new(body);
    let mut loaded: Vec<Library> = Vec::new();
    while reader.remaining() > 0 {
        let Some(kind) = reader.byte() else {
            return c.reply.error("ERR can not read data type");
        };
        if kind != crate::rdb::OPCODE_FUNCTION2 {
            return c.reply.error("ERR given type is not a function");
        }
        let Some(code) = reader.string() else {
            return c.reply.error("ERR Failed loading library payload");
        };
        if let Ok((name, _)) = parse_library_header(&code) {
            if loaded.iter().any(|l| l.name == name) {
                return c
                    .reply
                    .error(&format!("ERR Library '{name}' already exists"));
            }
        }
        match load_library(&code) {
            Ok(lib) => {
                if let Some(f) = lib.functions.iter().find(|f| {
                    loaded
                        .iter()
                        .any(|l| l.functions.iter().any(|g| g.name == f.name))
                }) {
                    let msg = format!("ERR Function {} already exists", f.name);
                    return c.reply.error(&msg);
                }
                loaded.push(lib)
            }
            Err(e) => return c.reply.error(&format!("ERR {e}")),
        }
    }
    match c.shared.scripts.libraries.install(loaded, replace, flush) {
        Ok(()) => c.reply.ok(),
        Err(e) => {
            // RESTORE names a taken library without quotes, unlike LOAD.
            let e = e
                .replacen("Library '", "Library ", 1)
                .replacen("' already", " already", 1);
            c.reply.error(&format!("ERR {e}"))
        }
    }
}

/// FUNCTION HELP's lines, as Redis 7.0's.
const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

/// Redis's reply to a known subcommand called with the wrong arguments:
/// `unknown subcommand or wrong number of arguments for '<sub>'. Try FUNCTION HELP.`
fn subcommand_syntax_error(r: &mut Reply, a: &Args) {
    let msg = format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(a.get(1)),
        String::from_utf8_lossy(a.get(0)).to_ascii_uppercase()
    );
    r.error(&msg);
}
