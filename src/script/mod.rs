//! Lua scripting: EVAL scripts (and FUNCTION libraries), run by each worker in a Lua 5.1 VM of its
//! own, with Redis 7.0's API, sandbox and type conversions.
//!
//! The data path of `EVAL body numkeys k... a...`: the worker finds the script (the shared
//! [`store::Scripts`] cache, compiled into this thread's [`Engine`] on first use), takes the
//! shards of the declared keys as one atomic step, and calls [`Engine::run`] with a [`Host`]: the
//! door through which each `redis.call` reaches those shards. The reply of every call comes back
//! as RESP bytes, which [`convert::reply_to_lua`] turns into Lua values; the script's return
//! value goes to the client through [`convert::lua_to_reply`].

mod call;
pub mod convert;
pub mod libs;
pub mod sandbox;
pub mod store;

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use std::ffi::c_int;

use mlua::{ffi, Function, Lua, MultiValue, Table, Value};

use crate::resp::reply::errors;
use crate::resp::Reply;
use store::{Busy, KillOutcome};

/// Where a running script's commands execute: the worker holding the script's shards. The
/// command table is the host's: this module knows commands only through these answers.
pub trait Host {
    /// Checks the command whose arguments are the `ranges` of `buf` as Redis's scriptCall does
    /// (known, right arity, allowed in scripts; no write from a `read_only` script), with
    /// Redis's texts.
    fn check(
        &mut self,
        buf: &[u8],
        ranges: &[Range<usize>],
        read_only: bool,
    ) -> Result<Checked, Refusal>;

    /// Runs the command [`Host::check`] accepted, appending its reply to `out` in RESP3 when
    /// `resp3`. `wrote` says whether the script already ran a write command.
    fn call(
        &mut self,
        cmd: Checked,
        buf: &[u8],
        ranges: &[Range<usize>],
        resp3: bool,
        wrote: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Refusal>;

    /// Whether `name` names a command (redis.acl_check_cmd).
    fn knows(&self, name: &[u8]) -> bool;

    /// Called every 100,000 Lua instructions while the script is past busy-reply-threshold: the
    /// host answers its other clients meanwhile (-BUSY, SCRIPT KILL...).
    fn busy_tick(&mut self) {}

    /// Whether the server is stopping (SHUTDOWN): the script is then stopped, written or not.
    fn stopping(&self) -> bool {
        false
    }
}

/// A command [`Host::check`] accepted: the host's handle on it, and whether it writes.
#[derive(Debug, Clone, Copy)]
pub struct Checked {
    pub cmd: usize,
    pub write: bool,
}

/// Why a [`Host`] did not run a command.
#[derive(Debug)]
pub enum Refusal {
    /// The command's keys are on a shard the run does not hold and nothing was written yet: the
    /// run is abandoned and starts again with every shard held.
    Restart,
    /// An error for the script, as Redis's text (`ERR ...` or without its code).
    Error(String),
}

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The reply was written.
    Done,
    /// Nothing was written to the client: run again with every shard held ([`Refusal::Restart`]).
    Restart,
}

/// One invocation of a compiled script.
pub struct Invocation<'a> {
    /// Where this worker shows a script that runs past busy-reply-threshold: the shared
    /// registry and this worker's id.
    pub busy: Option<(&'a store::Scripts, usize)>,
    /// busy-reply-threshold in ms (0: never busy).
    pub threshold_ms: u64,
    /// The script's name in error texts: its SHA1 for EVAL, the function's name for FCALL.
    pub name: &'a [u8],
    pub keys: &'a [&'a [u8]],
    pub argv: &'a [&'a [u8]],
    /// `*_RO`, or a script flagged `no-writes`: write commands are refused.
    pub read_only: bool,
    /// EVAL (KEYS and ARGV are globals) rather than FCALL (they are the function's arguments).
    pub eval: bool,
    /// The command's name as the client sent it (FUNCTION STATS shows the busy call).
    pub command: &'a [u8],
}

/// The state of the run in progress, reached by the native `redis.*` functions through the VM's
/// app data.
struct Run {
    /// The host of the run in progress; None outside a run. A raw pointer because the host
    /// borrows the worker for the run's duration only: [`Engine::run`] sets it before calling
    /// into Lua and clears it before returning, and nothing reads it outside that window.
    host: Option<*mut (dyn Host + 'static)>,
    resp3: bool,
    read_only: bool,
    wrote: bool,
    restart: bool,
    /// Scratch for the arguments of one call and its reply, kept across calls.
    buf: Vec<u8>,
    ranges: Vec<Range<usize>>,
    out: Vec<u8>,
    /// math.random's state (Redis's own 48-bit generator, so sequences match across platforms).
    rand48: u64,
    /// While FUNCTION LOAD runs a library's code: the functions it registered, and when it
    /// started (the load is stopped after [`LOAD_TIMEOUT_MS`]).
    loading: Option<Vec<(store::FunctionInfo, Function)>>,
    load_started: Option<std::time::Instant>,
    /// The error table [`raise`] left, under its token.
    pending: Option<(u64, Value)>,
    pending_id: u64,
    /// When the run started, the busy threshold (ms, 0: none), where this worker shows a busy
    /// script, and whether this run shows there (past the threshold) or was killed.
    started: std::time::Instant,
    threshold_ms: u64,
    busy: Option<(*const store::Scripts, usize)>,
    /// The invocation in progress (FUNCTION STATS shows a busy function's call); set and
    /// cleared with `host`.
    inv: Option<*const Invocation<'static>>,
    marked: bool,
    killed: bool,
    eval: bool,
}

/// The text a killed script's reply starts with.
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// How long a library's code may run in FUNCTION LOAD (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT_MS: u64 = 500;

/// Instructions between two looks of the hook at the clock and at SCRIPT KILL.
const HOOK_EVERY: u32 = 100_000;

impl Run {
    /// This worker's busy slot, while the run shows there.
    fn busy(&self) -> Option<&Busy> {
        let (scripts, id) = self.registry()?;
        scripts.busy.get(id).filter(|_| self.marked)
    }

    /// The shared registry and this worker's id, during a run.
    fn registry(&self) -> Option<(&store::Scripts, usize)> {
        // SAFETY: set by `Engine::run_function` from a reference that outlives the run, cleared
        // with `host` when it ends.
        self.busy.map(|(s, id)| (unsafe { &*s }, id))
    }
}

/// A worker thread's Lua VM and the scripts it has compiled.
pub struct Engine {
    lua: Lua,
    runner: Function,
    set_loading: Function,
    vault: Table,
    compiled: HashMap<[u8; 40], Function, ahash::RandomState>,
    /// The shared cache's generation these compilations belong to.
    generation: u64,
    /// The functions of every library, loaded in this VM, and the libraries' generation.
    functions: HashMap<String, Function, ahash::RandomState>,
    lib_generation: u64,
    /// KEYS and ARGV of the last EVAL are globals still.
    eval_globals: bool,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's engine, created on first use. None when the engine is already in
/// use on this thread (a script cannot run a script) or cannot be created.
pub fn with_engine<R>(f: impl FnOnce(&mut Engine) -> R) -> Option<R> {
    ENGINE.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        if slot.is_none() {
            match Engine::new() {
                Ok(e) => *slot = Some(e),
                Err(e) => {
                    crate::log_at!(Warning, "cannot create the Lua VM: {e}");
                    return None;
                }
            }
        }
        slot.as_mut().map(f)
    })
}

/// The version number Redis gives scripts: 0x00MMmmpp.
fn version_num() -> f64 {
    let mut parts = crate::version::REDIS_VERSION
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    ((a << 16) | (b << 8) | c) as f64
}

/// What a native `redis.*` function answers: `true, value`, or `false, error table` (which
/// `redis.call` and the others raise, and `redis.pcall` returns).
type Answer = (bool, Value);

/// Raises the Lua error table `err` from native code. mlua raises native errors as userdata, so
/// the table waits in the run state under a token, and the error handler and `pcall` exchange
/// the userdata for it ([`describe`]).
fn raise(lua: &Lua, err: Value) -> mlua::Result<Value> {
    let token = match lua.try_app_data_mut::<Run>().ok().flatten() {
        Some(mut run) => {
            run.pending_id += 1;
            let id = run.pending_id;
            run.pending = Some((id, err));
            id
        }
        None => 0,
    };
    Err(mlua::Error::runtime(format!("{PENDING}{token}")))
}

/// The prefix of the message under which [`raise`] leaves an error table.
const PENDING: &str = "rustis: pending error #";

/// What the native error `e` stands for: `(table, nil)` for an error table left by [`raise`],
/// `(nil, message)` for any other native error, `(nil, nil)` when `e` is not one.
fn describe(lua: &Lua, e: Value) -> mlua::Result<(Value, Value)> {
    let Value::Error(e) = e else {
        return Ok((Value::Nil, Value::Nil));
    };
    let text = lua_error_text(&e);
    if let Some(id) = text
        .strip_prefix(PENDING)
        .and_then(|n| n.parse::<u64>().ok())
    {
        if let Some(mut run) = lua.try_app_data_mut::<Run>().ok().flatten() {
            if run.pending.as_ref().is_some_and(|(p, _)| *p == id) {
                if let Some((_, t)) = run.pending.take() {
                    return Ok((t, Value::Nil));
                }
            }
        }
    }
    Ok((Value::Nil, Value::String(lua.create_string(text)?)))
}

/// A native `redis.*` function for scripts: `f`'s error answers are raised.
fn raising(
    lua: &Lua,
    f: impl Fn(&Lua, MultiValue) -> mlua::Result<Answer> + 'static,
) -> mlua::Result<Function> {
    lua.create_function(move |lua, args: MultiValue| match f(lua, args)? {
        (true, v) => Ok(v),
        (false, e) => raise(lua, e),
    })
}

fn fail(lua: &Lua, msg: &str) -> mlua::Result<Answer> {
    Ok((
        false,
        Value::Table(convert::error_table(lua, msg.as_bytes())?),
    ))
}

/// Lua's `lua_tonumber`: the number a value reads as, 0 when it is not one.
fn lua_tonumber(lua: &Lua, v: &Value) -> f64 {
    lua.coerce_number(v.clone()).ok().flatten().unwrap_or(0.0)
}

/// The bytes of a command argument given by a script: strings as they are, numbers as `%.17g`.
fn arg_bytes(v: &Value, buf: &mut Vec<u8>) -> bool {
    match v {
        Value::String(s) => buf.extend_from_slice(&s.as_bytes()),
        Value::Number(n) => {
            let mut tmp = [0u8; 64];
            buf.extend_from_slice(crate::num::format_double(*n, &mut tmp));
        }
        Value::Integer(n) => buf.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        _ => return false,
    }
    true
}

/// Installs the native `redis.*` functions in `api`.
fn native_api(lua: &Lua, api: &Table) -> mlua::Result<()> {
    // SAFETY: C functions of the Lua API, see `call`.
    unsafe {
        api.raw_set("call", lua.create_c_function(call::redis_call)?)?;
        api.raw_set("pcall", lua.create_c_function(call::redis_pcall)?)?;
    }
    api.raw_set(
        "setresp",
        raising(lua, |lua, args: MultiValue| {
            let Some(mut run) = lua
                .try_app_data_mut::<Run>()
                .ok()
                .flatten()
                .filter(|r| r.host.is_some())
            else {
                return fail(
                    lua,
                    "redis.setresp can only be called inside a script invocation",
                );
            };
            if args.len() != 1 {
                return fail(lua, "redis.setresp() requires one argument.");
            }
            let n = lua_tonumber(lua, &args[0]) as i64;
            if n != 2 && n != 3 {
                return fail(lua, "RESP version must be 2 or 3.");
            }
            run.resp3 = n == 3;
            Ok((true, Value::Nil))
        })?,
    )?;
    api.raw_set(
        "sha1hex",
        raising(lua, |lua, args: MultiValue| {
            if args.len() != 1 {
                return fail(lua, "wrong number of arguments");
            }
            let bytes = match lua.coerce_string(args[0].clone()) {
                Ok(Some(s)) => s.as_bytes().to_vec(),
                _ => Vec::new(),
            };
            Ok((
                true,
                Value::String(lua.create_string(store::sha1_hex(&bytes))?),
            ))
        })?,
    )?;
    api.raw_set(
        "error_reply",
        raising(lua, |lua, args: MultiValue| {
            match (args.len(), args.front()) {
                (1, Some(Value::String(s))) => {
                    let s = s.as_bytes();
                    let mut msg = Vec::with_capacity(s.len() + 1);
                    if !s.starts_with(b"-") {
                        msg.push(b'-');
                    }
                    msg.extend_from_slice(&s);
                    Ok((true, Value::Table(convert::error_table(lua, &msg)?)))
                }
                // Returned, not raised, as Redis does.
                _ => Ok((
                    true,
                    Value::Table(convert::error_table(
                        lua,
                        b"wrong number or type of arguments",
                    )?),
                )),
            }
        })?,
    )?;
    api.raw_set(
        "status_reply",
        raising(lua, |lua, args: MultiValue| {
            match (args.len(), args.front()) {
                (1, Some(Value::String(s))) => {
                    let t = lua.create_table()?;
                    t.raw_set("ok", s.clone())?;
                    Ok((true, Value::Table(t)))
                }
                _ => Ok((
                    true,
                    Value::Table(convert::error_table(
                        lua,
                        b"wrong number or type of arguments",
                    )?),
                )),
            }
        })?,
    )?;
    api.raw_set(
        "log",
        raising(lua, |lua, args: MultiValue| {
            if args.len() < 2 {
                return fail(lua, "redis.log() requires two arguments or more.");
            }
            let level = match &args[0] {
                Value::Number(n) => *n as i64,
                Value::Integer(n) => *n,
                Value::String(s) => match crate::num::parse_i64(&s.as_bytes()) {
                    Some(n) => n,
                    None => return fail(lua, "First argument must be a number (log level)."),
                },
                _ => return fail(lua, "First argument must be a number (log level)."),
            };
            use crate::log::Level;
            let level = match level {
                0 => Level::Debug,
                1 => Level::Verbose,
                2 => Level::Notice,
                3 => Level::Warning,
                _ => return fail(lua, "Invalid debug level."),
            };
            if crate::log::enabled(level) {
                let mut text = Vec::new();
                for v in args.iter().skip(1) {
                    if let Ok(Some(s)) = lua.coerce_string(v.clone()) {
                        if !text.is_empty() {
                            text.push(b' ');
                        }
                        text.extend_from_slice(&s.as_bytes());
                    }
                }
                crate::log::log(level, format_args!("{}", String::from_utf8_lossy(&text)));
            }
            Ok((true, Value::Nil))
        })?,
    )?;
    api.raw_set(
        "set_repl",
        raising(lua, |lua, args: MultiValue| {
            if lua
                .try_app_data_ref::<Run>()
                .ok()
                .flatten()
                .is_none_or(|r| r.host.is_none())
            {
                return fail(
                    lua,
                    "redis.set_repl can only be called inside a script invocation",
                );
            }
            if args.len() != 1 {
                return fail(lua, "redis.set_repl() requires two arguments.");
            }
            // lua_tonumber: what is not a number reads as 0 (REPL_NONE).
            let n = lua_tonumber(lua, &args[0]) as i64;
            if !(0..=3).contains(&n) {
                return fail(
                    lua,
                    "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                );
            }
            // No replication and no AOF yet: nothing to switch.
            Ok((true, Value::Nil))
        })?,
    )?;
    api.raw_set(
        "replicate_commands",
        raising(lua, |_, _: MultiValue| Ok((true, Value::Boolean(true))))?,
    )?;
    api.raw_set(
        "breakpoint",
        raising(lua, |_, _: MultiValue| Ok((true, Value::Boolean(false))))?,
    )?;
    api.raw_set(
        "debug",
        raising(lua, |_, _: MultiValue| Ok((true, Value::Nil)))?,
    )?;
    api.raw_set(
        "acl_check_cmd",
        raising(lua, |lua, args: MultiValue| {
            if args.is_empty() {
                return fail(
                    lua,
                    "Please specify at least one argument for this redis lib call",
                );
            }
            let mut buf = Vec::new();
            if !arg_bytes(&args[0], &mut buf) {
                return fail(
                    lua,
                    "Lua redis lib command arguments must be strings or integers",
                );
            }
            let known = lua
                .try_app_data_ref::<Run>()
                .ok()
                .flatten()
                .and_then(|r| r.host)
                // SAFETY: set for the duration of the run this function is called in.
                .map(|h| unsafe { (*h).knows(&buf) });
            match known {
                None => {
                    return fail(
                        lua,
                        "redis.acl_check_cmd can only be called inside a script invocation",
                    )
                }
                Some(false) => return fail(lua, "Invalid command passed to redis.acl_check_cmd()"),
                Some(true) => {}
            }
            // Every user may run every command until ACLs exist.
            Ok((true, Value::Boolean(true)))
        })?,
    )?;
    Ok(())
}

/// A number as Lua's `tostring` writes it (`%.14g`), where Lua takes a number for a string.
fn lua_number_text(n: f64) -> Vec<u8> {
    let mut buf = [0u8; 64];
    // SAFETY: snprintf writes at most 64 bytes, NUL included, into `buf`.
    let len = unsafe {
        libc::snprintf(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%.14g".as_ptr(),
            n,
        )
    };
    buf[..(len.max(0) as usize).min(63)].to_vec()
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=...,
/// callback=..., flags={...}, description=...}`, during FUNCTION LOAD only. Texts as Redis's.
fn register_function(lua: &Lua, args: MultiValue) -> mlua::Result<Answer> {
    if lua
        .try_app_data_ref::<Run>()
        .ok()
        .flatten()
        .is_none_or(|r| r.loading.is_none())
    {
        return fail(
            lua,
            "redis.register_function can only be called on FUNCTION LOAD command",
        );
    }
    let (mut name, mut callback, mut description, mut flags) = (None, None, None, 0u32);
    match args.len() {
        1 => {
            let Value::Table(t) = &args[0] else {
                return fail(lua, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
            };
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                // lua_isstring: numbers are strings too.
                let k =
                    match k {
                        Value::String(k) => k.as_bytes().to_ascii_lowercase(),
                        Value::Number(n) => lua_number_text(n),
                        Value::Integer(n) => n.to_string().into_bytes(),
                        _ => return fail(
                            lua,
                            "named argument key given to redis.register_function is not a string",
                        ),
                    };
                match k.as_slice() {
                    b"function_name" => match v {
                        Value::String(s) => name = Some(s.as_bytes().to_vec()),
                        Value::Number(n) => name = Some(lua_number_text(n)),
                        Value::Integer(n) => name = Some(n.to_string().into_bytes()),
                        _ => return fail(lua, "function_name argument given to redis.register_function must be a string"),
                    },
                    b"description" => match v {
                        Value::String(s) => description = Some(s.as_bytes().to_vec()),
                        Value::Number(n) => description = Some(lua_number_text(n)),
                        Value::Integer(n) => description = Some(n.to_string().into_bytes()),
                        _ => return fail(lua, "description argument given to redis.register_function must be a string"),
                    },
                    b"callback" => match v {
                        Value::Function(f) => callback = Some(f),
                        _ => return fail(lua, "callback argument given to redis.register_function must be a function"),
                    },
                    b"flags" => {
                        let Value::Table(list) = v else {
                            return fail(lua, "flags argument to redis.register_function must be a table representing function flags");
                        };
                        for i in 1.. {
                            let flag = match list.get::<Value>(i)? {
                                Value::Nil => break,
                                Value::String(s) => s.as_bytes().to_ascii_lowercase(),
                                Value::Number(n) => n.to_string().into_bytes(),
                                _ => return fail(lua, "unknown flag given"),
                            };
                            match store::flags::by_name(&flag) {
                                Some(f) => flags |= f,
                                None => return fail(lua, "unknown flag given"),
                            }
                        }
                    }
                    _ => return fail(lua, "unknown argument given to redis.register_function"),
                }
            }
        }
        2 => {
            name = match &args[0] {
                Value::String(s) => Some(s.as_bytes().to_vec()),
                Value::Number(n) => Some(lua_number_text(*n)),
                Value::Integer(n) => Some(n.to_string().into_bytes()),
                _ => {
                    return fail(
                        lua,
                        "first argument to redis.register_function must be a string",
                    )
                }
            };
            callback = match &args[1] {
                Value::Function(f) => Some(f.clone()),
                _ => {
                    return fail(
                        lua,
                        "second argument to redis.register_function must be a function",
                    )
                }
            };
        }
        _ => return fail(lua, "wrong number of arguments to redis.register_function"),
    }
    let Some(name) = name else {
        return fail(
            lua,
            "redis.register_function must get a function name argument",
        );
    };
    let Some(callback) = callback else {
        return fail(lua, "redis.register_function must get a callback argument");
    };
    if !store::valid_name(&name) {
        return fail(lua, "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let Some(mut run) = lua.try_app_data_mut::<Run>().ok().flatten() else {
        return Ok((true, Value::Nil));
    };
    let Some(list) = run.loading.as_mut() else {
        return Ok((true, Value::Nil));
    };
    if list.iter().any(|(f, _)| f.name == name) {
        drop(run);
        return fail(lua, "Function already exists in the library");
    }
    list.push((
        store::FunctionInfo {
            name,
            description,
            flags,
        },
        callback,
    ));
    Ok((true, Value::Nil))
}

/// Redis's rand48 step: the next 31-bit value (`redisLrand48`).
fn rand48_next(state: &mut u64) -> i32 {
    *state = (state.wrapping_mul(0x5DEECE66D).wrapping_add(0xB)) & ((1u64 << 48) - 1);
    (*state >> 17) as i32
}

/// Redis's initial rand48 state (and `redisSrand48(seed)`'s).
fn rand48_seed(seed: i32) -> u64 {
    (((seed as u32) as u64) << 16) | 0x330E
}

impl Engine {
    /// A VM with Redis's environment, no script compiled yet.
    pub fn new() -> mlua::Result<Engine> {
        let lua = sandbox::new_vm()?;
        lua.set_app_data(Run {
            host: None,
            resp3: false,
            read_only: false,
            wrote: false,
            restart: false,
            buf: Vec::new(),
            ranges: Vec::new(),
            out: Vec::new(),
            rand48: 0x1234_ABCD_330E,
            pending: None,
            pending_id: 0,
            inv: None,
            loading: None,
            load_started: None,
            started: std::time::Instant::now(),
            threshold_ms: 0,
            busy: None,
            marked: false,
            killed: false,
            eval: true,
        });
        lua.set_global_hook(
            mlua::HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            busy_hook,
        )?;
        let redis = lua.create_table()?;
        redis.raw_set("REDIS_VERSION", crate::version::REDIS_VERSION)?;
        redis.raw_set("REDIS_VERSION_NUM", version_num())?;
        for (name, level) in [
            ("LOG_DEBUG", 0),
            ("LOG_VERBOSE", 1),
            ("LOG_NOTICE", 2),
            ("LOG_WARNING", 3),
        ] {
            redis.raw_set(name, level)?;
        }
        for (name, v) in [
            ("REPL_NONE", 0),
            ("REPL_AOF", 1),
            ("REPL_SLAVE", 2),
            ("REPL_REPLICA", 2),
            ("REPL_ALL", 3),
        ] {
            redis.raw_set(name, v)?;
        }
        native_api(&lua, &redis)?;
        lua.globals().raw_set("redis", redis)?;
        let math: Table = lua.globals().raw_get("math")?;
        math.raw_set(
            "random",
            lua.create_function(|lua, args: MultiValue| {
                let Some(mut run) = lua.try_app_data_mut::<Run>().ok().flatten() else {
                    return Err(mlua::Error::runtime("math.random unavailable"));
                };
                let max = i32::MAX as f64;
                let r = (rand48_next(&mut run.rand48) as f64 % max) / max;
                drop(run);
                let int = |v: &Value| lua_tonumber(lua, v) as i32;
                Ok(match args.len() {
                    0 => r,
                    1 => {
                        let u = int(&args[0]);
                        if u < 1 {
                            return Err(mlua::Error::runtime(
                                "bad argument #1 to 'random' (interval is empty)",
                            ));
                        }
                        (r * u as f64).floor() + 1.0
                    }
                    2 => {
                        let (l, u) = (int(&args[0]), int(&args[1]));
                        if l > u {
                            return Err(mlua::Error::runtime(
                                "bad argument #2 to 'random' (interval is empty)",
                            ));
                        }
                        (r * (u as f64 - l as f64 + 1.0)).floor() + l as f64
                    }
                    _ => return Err(mlua::Error::runtime("wrong number of arguments")),
                })
            })?,
        )?;
        math.raw_set(
            "randomseed",
            lua.create_function(|lua, seed: f64| {
                if let Some(mut run) = lua.try_app_data_mut::<Run>().ok().flatten() {
                    run.rand48 = rand48_seed(seed as i32);
                }
                Ok(())
            })?,
        )?;
        let describe = lua.create_function(describe)?;
        let load_api = lua.create_table()?;
        load_api.raw_set("register_function", raising(&lua, register_function)?)?;
        let redis: Table = lua.globals().raw_get("redis")?;
        for name in [
            "log",
            "LOG_DEBUG",
            "LOG_VERBOSE",
            "LOG_NOTICE",
            "LOG_WARNING",
            "REDIS_VERSION",
            "REDIS_VERSION_NUM",
        ] {
            load_api.raw_set(name, redis.raw_get::<Value>(name)?)?;
        }
        let (runner, set_loading, vault) = sandbox::protect(&lua, describe, load_api)?;
        Ok(Engine {
            lua,
            runner,
            set_loading,
            vault,
            compiled: HashMap::default(),
            generation: 0,
            functions: HashMap::default(),
            lib_generation: u64::MAX,
            eval_globals: false,
        })
    }

    /// Drops what was compiled for an older generation of the shared cache (SCRIPT FLUSH).
    pub fn sync(&mut self, generation: u64) {
        if generation != self.generation {
            self.compiled.clear();
            self.generation = generation;
            let _ = self.lua.gc_collect();
        }
    }

    /// Compiles `body` (its shebang line blanked, the newline kept so line numbers hold) as the
    /// script named `sha`, unless it is compiled already. Errors read as Redis's.
    pub fn compile(&mut self, sha: &[u8; 40], body: &[u8]) -> Result<(), String> {
        if self.compiled.contains_key(sha) {
            return Ok(());
        }
        let (_, skip) = store::parse_shebang(body)?;
        if body.get(skip) == Some(&0x1b) {
            // Precompiled chunks are refused (Redis's Lua loads source only).
            return Err(
                "Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'"
                    .into(),
            );
        }
        let f = self
            .lua
            .load(&body[skip..])
            .set_name("@user_script")
            .into_function()
            .map_err(|e| {
                format!(
                    "Error compiling script (new function): {}",
                    lua_error_text(&e)
                )
            })?;
        self.compiled.insert(*sha, f);
        Ok(())
    }

    /// Runs a library's code (after its metadata line) as FUNCTION LOAD does, with only the load
    /// API visible and at most [`LOAD_TIMEOUT_MS`]: the functions it registered, or Redis's error.
    pub fn load_library(
        &mut self,
        body: &[u8],
    ) -> Result<Vec<(store::FunctionInfo, Function)>, String> {
        if body.first() == Some(&0x1b) {
            return Err(
                "Error compiling function: user_function:1: unexpected symbol near 'char(27)'"
                    .into(),
            );
        }
        let f = self
            .lua
            .load(body)
            .set_name("@user_function")
            .into_function()
            .map_err(|e| format!("Error compiling function: {}", lua_error_text(&e)))?;
        if let Some(mut run) = self.lua.try_app_data_mut::<Run>().ok().flatten() {
            run.loading = Some(Vec::new());
            run.load_started = Some(std::time::Instant::now());
            run.pending = None;
        }
        let _ = self.set_loading.call::<()>(true);
        let result = self
            .runner
            .call::<(bool, Value)>((f, Value::Nil, Value::Nil));
        // The load ends before any more Lua runs (the hook of a timed-out load raises on
        // every line while `load_started` is set).
        let (registered, timed_out) = match self.lua.try_app_data_mut::<Run>().ok().flatten() {
            Some(mut run) => {
                let timed_out = run
                    .load_started
                    .take()
                    .is_some_and(|t| t.elapsed().as_millis() as u64 > LOAD_TIMEOUT_MS);
                run.pending = None;
                (run.loading.take().unwrap_or_default(), timed_out)
            }
            None => (Vec::new(), false),
        };
        if timed_out {
            let _ = self.lua.set_global_hook(
                mlua::HookTriggers::new().every_nth_instruction(HOOK_EVERY),
                busy_hook,
            );
        }
        let _ = self.set_loading.call::<()>(false);
        if timed_out {
            return Err("Error registering functions: ERR FUNCTION LOAD timeout".into());
        }
        match result {
            Ok((true, _)) => Ok(registered),
            Ok((false, Value::Table(t))) => {
                let msg = match t.raw_get::<Value>("err") {
                    Ok(Value::String(s)) => s.to_string_lossy(),
                    _ => "(null)".to_string(),
                };
                Err(format!("Error registering functions: {msg}"))
            }
            Ok((false, _)) => Err("Error registering functions: (null)".into()),
            Err(e) => Err(format!(
                "Error registering functions: {}",
                lua_error_text(&e)
            )),
        }
    }

    /// Loads every library of `libs` into this VM when they changed since the last look.
    pub fn sync_libraries(&mut self, libs: &store::Libraries) {
        let generation = libs.generation();
        if generation == self.lib_generation {
            return;
        }
        self.functions.clear();
        for lib in libs.all() {
            let Ok((_, body)) = store::parse_library_header(&lib.code) else {
                continue;
            };
            match self.load_library(body) {
                Ok(list) => {
                    // Keyed in lower case: function names are case-insensitive (the last
                    // registered of two that differ in case answers, as in Redis).
                    for (info, f) in list {
                        self.functions.insert(info.name.to_ascii_lowercase(), f);
                    }
                }
                Err(e) => crate::log_at!(Warning, "library {} did not load: {e}", lib.name),
            }
        }
        self.lib_generation = generation;
        let _ = self.lua.gc_collect();
    }

    /// Runs function `name` of a loaded library (FCALL), as [`Engine::run`] runs a script.
    pub fn call_function(
        &mut self,
        name: &str,
        inv: &Invocation,
        host: &mut dyn Host,
        reply: &mut Reply,
    ) -> Outcome {
        let Some(f) = self.functions.get(&name.to_ascii_lowercase()).cloned() else {
            reply.error("ERR Function not found");
            return Outcome::Done;
        };
        self.run_function(&f, inv, host, reply)
    }

    /// Whether script `sha` is compiled in this VM.
    pub fn has(&self, sha: &[u8; 40]) -> bool {
        self.compiled.contains_key(sha)
    }

    /// Bytes the VM uses (INFO's used_memory_lua).
    pub fn memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// Runs compiled script `sha` with `inv`, its commands through `host`, and writes its reply
    /// (or its error, as Redis words it) to `reply`. Returns [`Outcome::Restart`] without writing
    /// anything when the host asked for a run with every shard.
    pub fn run(
        &mut self,
        sha: &[u8; 40],
        inv: &Invocation,
        host: &mut dyn Host,
        reply: &mut Reply,
    ) -> Outcome {
        let Some(f) = self.compiled.get(sha).cloned() else {
            reply.error("NOSCRIPT No matching script. Please use EVAL.");
            return Outcome::Done;
        };
        self.run_function(&f, inv, host, reply)
    }

    /// [`Engine::run`] on a function value (a compiled EVAL body, or a library's function).
    pub fn run_function(
        &mut self,
        f: &Function,
        inv: &Invocation,
        host: &mut dyn Host,
        reply: &mut Reply,
    ) -> Outcome {
        let lua = &self.lua;
        {
            let Some(mut run) = lua.try_app_data_mut::<Run>().ok().flatten() else {
                reply.error("ERR the script engine is unavailable");
                return Outcome::Done;
            };
            // SAFETY (lifetime erasure): the pointer is cleared below, before `host`'s borrow
            // ends, and only `raw_call` dereferences it, from inside the Lua call in between.
            let host: *mut (dyn Host + '_) = host;
            run.host = Some(unsafe {
                std::mem::transmute::<*mut (dyn Host + '_), *mut (dyn Host + 'static)>(host)
            });
            run.resp3 = false;
            run.read_only = inv.read_only;
            run.wrote = false;
            run.restart = false;
            run.started = std::time::Instant::now();
            run.threshold_ms = inv.threshold_ms;
            run.busy = inv.busy.map(|(s, id)| (s as *const store::Scripts, id));
            // SAFETY (lifetime erasure): cleared with `host` below, while `inv` is borrowed.
            run.inv = Some(unsafe {
                std::mem::transmute::<*const Invocation<'_>, *const Invocation<'static>>(inv)
            });
            run.marked = false;
            run.killed = false;
            run.eval = inv.eval;
            run.pending = None;
        }
        // One protected call does it all on Lua's stack: KEYS and ARGV (for EVAL, globals left
        // in place until the next run replaces them, or a function's run removes them), the
        // runner (the script under the error handler), and a successful result's conversion.
        let eval = inv.eval;
        let had_globals = self.eval_globals;
        self.eval_globals = eval;
        let mut written = false;
        // SAFETY: the closure keeps to the stack slots it checks for; the runner raises no
        // error of its own (xpcall), and `write_top` only does raw accesses.
        // A panic in the host (a bug) must not leave the run state set: caught here, the state
        // cleared below, then the panic goes on.
        let mut panic = None;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
            let written = &mut written;
            let reply = &mut *reply;
            lua.exec_raw::<(bool, Value)>(
                (self.runner.clone(), f.clone(), self.vault.clone()),
                move |state| {
                    // 1 runner, 2 function, 3 vault; then 4 KEYS, 5 ARGV.
                    for list in [inv.keys, inv.argv] {
                        ffi::lua_createtable(state, list.len().min(1 << 20) as c_int, 0);
                        for (i, item) in list.iter().enumerate() {
                            ffi::lua_pushlstring(state, item.as_ptr() as *const _, item.len());
                            ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
                        }
                    }
                    if eval || had_globals {
                        for (name, at) in [("KEYS", 4), ("ARGV", 5)] {
                            ffi::lua_pushlstring(state, name.as_ptr() as *const _, name.len());
                            if eval {
                                ffi::lua_pushvalue(state, at);
                            } else {
                                ffi::lua_pushnil(state);
                            }
                            ffi::lua_rawset(state, 3);
                        }
                    }
                    ffi::lua_pushvalue(state, 1);
                    ffi::lua_pushvalue(state, 2);
                    if eval {
                        ffi::lua_pushnil(state);
                        ffi::lua_pushnil(state);
                    } else {
                        ffi::lua_pushvalue(state, 4);
                        ffi::lua_pushvalue(state, 5);
                    }
                    ffi::lua_call(state, 3, 2);
                    // 6 ok, 7 value: moved down to 1 and 2, so that the conversion finds the
                    // stack as Redis's does (two slots in use) and fails at the same depth.
                    for _ in 0..5 {
                        ffi::lua_remove(state, 1);
                    }
                    let ok = ffi::lua_toboolean(state, 1) != 0;
                    let lua = Lua::get_or_init_from_ptr(state);
                    let (resp3, stop) = lua
                        .try_app_data_ref::<Run>()
                        .ok()
                        .flatten()
                        .map_or((false, true), |r| (r.resp3, r.restart || r.killed));
                    if ok && !stop {
                        convert::write_top(state, reply, resp3);
                        ffi::lua_pushnil(state);
                        *written = true;
                    }
                },
            )
        }))
        .unwrap_or_else(|p| {
            panic = Some(p);
            Err(mlua::Error::runtime("internal error"))
        });
        let (_, restart, killed) = match lua.try_app_data_mut::<Run>().ok().flatten() {
            Some(mut run) => {
                if let Some(b) = run.busy() {
                    use std::sync::atomic::Ordering::SeqCst;
                    b.kill.store(false, SeqCst);
                    b.wrote.store(false, SeqCst);
                }
                if run.marked {
                    if let Some((scripts, id)) = run.registry() {
                        scripts.set_busy(id, false);
                    }
                }
                run.host = None;
                run.busy = None;
                run.inv = None;
                run.marked = false;
                (run.resp3, run.restart, run.killed)
            }
            None => (false, false, false),
        };
        if killed || restart {
            // Back to the count hook only (the kill or restart made it fire on every line).
            let _ = lua.set_global_hook(
                mlua::HookTriggers::new().every_nth_instruction(HOOK_EVERY),
                busy_hook,
            );
            if killed {
                crate::log_at!(Warning, "Lua script killed by user with SCRIPT KILL.");
            }
        }
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        if restart {
            return Outcome::Restart;
        }
        match result {
            Ok((false, Value::Table(t))) if killed => {
                let _ = t.raw_set("err", KILLED);
                write_script_error(reply, &Value::Table(t), inv.name);
            }
            _ if killed => reply.error(KILLED),
            Ok((true, _)) if written => {}
            Ok((true, _)) => reply.error("ERR reached lua stack limit"),
            Ok((false, e)) => write_script_error(reply, &e, inv.name),
            Err(e) => {
                let msg = format!(
                    "ERR Error running script {}, {:.100}",
                    String::from_utf8_lossy(inv.name),
                    lua_error_text(&e)
                );
                reply.error(&msg);
            }
        }
        Outcome::Done
    }
}

/// The count hook: past busy-reply-threshold, shows the script as busy (other clients then get
/// -BUSY, SCRIPT KILL can reach it); once killed, raises on every line so that a pcall cannot keep
/// the script alive.
pub(super) fn busy_hook(lua: &Lua, debug: &mlua::debug::Debug) -> mlua::Result<mlua::VmState> {
    use std::sync::atomic::Ordering::SeqCst;
    // Never inside the internal code (the error handler above all: raising there would lose
    // the error's location).
    if debug.source().source.as_deref() == Some(sandbox::INTERNAL) {
        return Ok(mlua::VmState::Continue);
    }
    let Some(mut run) = lua.try_app_data_mut::<Run>().ok().flatten() else {
        return Ok(mlua::VmState::Continue);
    };
    if let Some(started) = run.load_started {
        if started.elapsed().as_millis() as u64 <= LOAD_TIMEOUT_MS {
            return Ok(mlua::VmState::Continue);
        }
        drop(run);
        // On every line from now on, so that a pcall cannot keep the load going.
        lua.set_global_hook(
            mlua::HookTriggers::new()
                .every_line()
                .every_nth_instruction(1),
            busy_hook,
        )?;
        return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
    }
    if run.host.is_none() {
        return Ok(mlua::VmState::Continue);
    }
    if run.killed || run.restart {
        return Err(mlua::Error::runtime(KILLED));
    }
    if !run.marked {
        let elapsed = run.started.elapsed().as_millis() as u64;
        if run.threshold_ms == 0 || elapsed < run.threshold_ms || run.busy.is_none() {
            return Ok(mlua::VmState::Continue);
        }
        run.marked = true;
        if let Some(b) = run.busy() {
            let started = store::unix_ms().saturating_sub(elapsed);
            b.started_ms.store(started, SeqCst);
            // SAFETY: set by `Engine::run_function` for the run in progress.
            if let Some(inv) = run.inv.map(|p| unsafe { &*p }) {
                let mut call: Vec<Vec<u8>> = vec![inv.command.to_vec(), inv.name.to_vec()];
                if !inv.eval {
                    call.push(inv.keys.len().to_string().into_bytes());
                }
                call.extend(inv.keys.iter().chain(inv.argv).map(|a| a.to_vec()));
                if let Ok(mut d) = b.detail.lock() {
                    *d = Some((String::from_utf8_lossy(inv.name).into_owned(), call));
                }
            }
            b.wrote.store(run.wrote, SeqCst);
            b.eval.store(run.eval, SeqCst);
            b.kill.store(false, SeqCst);
        }
        if let Some((scripts, id)) = run.registry() {
            scripts.set_busy(id, true);
        }
        crate::log_at!(
            Warning,
            "Slow script detected: still in execution after {elapsed} milliseconds. You can try \
             killing the script using the {} command.",
            if run.eval {
                "SCRIPT KILL"
            } else {
                "FUNCTION KILL"
            }
        );
    }
    let Some(host) = run.host else {
        return Ok(mlua::VmState::Continue);
    };
    drop(run);
    // SAFETY: the host outlives the run (see `Run::host`); no native call is in progress while
    // the hook runs, so nothing else borrows it.
    let host = unsafe { &mut *host };
    host.busy_tick();
    let stopping = host.stopping();
    let Some(mut run) = lua.try_app_data_mut::<Run>().ok().flatten() else {
        return Ok(mlua::VmState::Continue);
    };
    // SHUTDOWN NOSAVE stops even a script that wrote.
    let kill = stopping || (run.busy().is_some_and(|b| b.kill.load(SeqCst)) && !run.wrote);
    if kill {
        run.killed = true;
        drop(run);
        lua.set_global_hook(
            mlua::HookTriggers::new()
                .every_line()
                .every_nth_instruction(1),
            busy_hook,
        )?;
        return Err(mlua::Error::runtime(KILLED));
    }
    Ok(mlua::VmState::Continue)
}

/// SCRIPT KILL (`eval`) or FUNCTION KILL, answered with Redis's texts.
pub fn kill(scripts: &store::Scripts, eval: bool, reply: &mut Reply) {
    match scripts.kill(eval) {
        KillOutcome::Killed => reply.ok(),
        KillOutcome::NotBusy => reply.error("NOTBUSY No scripts in execution right now."),
        KillOutcome::Unkillable => reply.error(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. \
             You can either wait the script termination or kill the server in a hard way using \
             the SHUTDOWN NOSAVE command.",
        ),
        KillOutcome::WrongKind if eval => reply.error(
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.",
        ),
        KillOutcome::WrongKind => reply.error(
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
        ),
    }
}

/// The text of a Lua error as Lua would print it (mlua's wrapping and tracebacks removed).
fn lua_error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_error_text(cause),
        other => other.to_string(),
    }
}

/// A failed run's error reply, as Redis builds it from the error handler's table:
/// `-<err> script: <name>, on <source>:<line>.` (the location when known).
fn write_script_error(reply: &mut Reply, e: &Value, name: &[u8]) {
    let Value::Table(t) = e else {
        let msg = format!(
            "ERR Error running script {}, execution failure",
            String::from_utf8_lossy(name)
        );
        return reply.error(&msg);
    };
    let text = |k: &str| -> Option<Vec<u8>> {
        match t.raw_get::<Value>(k).ok()? {
            Value::String(s) => Some(s.as_bytes().to_vec()),
            Value::Number(n) => Some(crate::num::format_double(n, &mut [0u8; 64]).to_vec()),
            Value::Integer(n) => Some(itoa::Buffer::new().format(n).as_bytes().to_vec()),
            _ => None,
        }
    };
    let mut msg = text("err").unwrap_or_else(|| b"(null)".to_vec());
    if let (Some(source), Some(line)) = (text("source"), text("line")) {
        msg.extend_from_slice(b" script: ");
        msg.extend_from_slice(name);
        msg.extend_from_slice(b", on ");
        msg.extend_from_slice(&source);
        msg.push(b':');
        msg.extend_from_slice(&line);
        msg.push(b'.');
    }
    let counted = matches!(
        t.raw_get::<Value>("ignore_error_stats_update"),
        Ok(Value::Boolean(true))
    );
    if counted {
        errors::muted(|| reply.error_bytes(&msg));
    } else {
        reply.error_bytes(&msg);
    }
}
