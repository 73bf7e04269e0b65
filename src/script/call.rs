//! `redis.call` and `redis.pcall`: C functions on Lua's own stack, as Redis's are. Arguments are
//! read from the stack into the run's buffer, the command goes to the [`Host`], and its RESP reply
//! is pushed back as Lua values ([`push_reply`]) with no intermediate value. An error is a table
//! `{err=...}`: `redis.call` raises it (`lua_error`), `redis.pcall` returns it.
//!
//! The C functions do their work in [`call`], which owns every Rust value with a destructor;
//! only once it has returned does `redis.call` raise, so the longjmp of `lua_error` crosses no
//! frame with anything to drop.

use std::ffi::c_int;

use mlua::ffi;

use super::*;

/// `redis.call(...)`.
pub(super) unsafe extern "C-unwind" fn redis_call(state: *mut ffi::lua_State) -> c_int {
    if guarded(state) {
        ffi::lua_error(state);
    }
    1
}

/// `redis.pcall(...)`.
pub(super) unsafe extern "C-unwind" fn redis_pcall(state: *mut ffi::lua_State) -> c_int {
    guarded(state);
    1
}

/// [`call`], with a bug's panic turned into an error for the script (a panic must not unwind
/// through Lua's C frames): `ERR internal error`.
unsafe fn guarded(state: *mut ffi::lua_State) -> bool {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(state))) {
        Ok(is_error) => is_error,
        Err(_) => {
            crate::log_at!(Warning, "internal error while a script called a command");
            ffi::lua_settop(state, 0);
            push_error(state, b"-ERR internal error", false);
            true
        }
    }
}

/// Runs the call whose arguments are on the stack and leaves its result there alone; true when
/// that result is an error table.
unsafe fn call(state: *mut ffi::lua_State) -> bool {
    let lua = Lua::get_or_init_from_ptr(state);
    let Some(mut run) = lua.try_app_data_mut::<Run>().ok().flatten() else {
        ffi::lua_settop(state, 0);
        push_error(
            state,
            b"redis.call/pcall can only be called inside a script invocation",
            false,
        );
        return true;
    };
    let run = &mut *run;
    let n = ffi::lua_gettop(state);
    if run.host.is_none() {
        ffi::lua_settop(state, 0);
        push_error(
            state,
            b"redis.call/pcall can only be called inside a script invocation",
            false,
        );
        return true;
    }
    if n == 0 {
        push_error(
            state,
            b"Please specify at least one argument for this redis lib call",
            false,
        );
        return true;
    }
    run.buf.clear();
    run.ranges.clear();
    let mut ok = true;
    for i in 1..=n {
        let start = run.buf.len();
        match ffi::lua_type(state, i) {
            ffi::LUA_TNUMBER => {
                let mut tmp = [0u8; 64];
                let d = ffi::lua_tonumber(state, i);
                run.buf
                    .extend_from_slice(crate::num::format_double(d, &mut tmp));
            }
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(state, i, &mut len);
                run.buf
                    .extend_from_slice(std::slice::from_raw_parts(p as *const u8, len));
            }
            _ => {
                ok = false;
                break;
            }
        }
        run.ranges.push(start..run.buf.len());
    }
    // The arguments are not needed any more: room on the stack for the result (as Redis).
    ffi::lua_settop(state, 0);
    if !ok {
        push_error(
            state,
            b"Lua redis lib command arguments must be strings or integers",
            false,
        );
        return true;
    }
    let step = execute(run);
    if run.restart {
        // Raise on every line from now on: a pcall cannot keep the abandoned run going.
        let _ = lua.set_global_hook(
            mlua::HookTriggers::new()
                .every_line()
                .every_nth_instruction(1),
            super::busy_hook,
        );
    }
    match step {
        Step::Reply => {
            let is_error = run.out.first() == Some(&b'-');
            let mut at = 0;
            push_reply(state, &run.out, &mut at, 0);
            if is_error && ffi::lua_type(state, -1) == ffi::LUA_TTABLE {
                // Counted when the command replied it.
                push_str(state, "ignore_error_stats_update");
                ffi::lua_pushboolean(state, 1);
                ffi::lua_rawset(state, -3);
            }
            if run.out.capacity() > 64 * 1024 {
                run.out = Vec::new();
            }
            is_error
        }
        Step::Refused(msg) => {
            // Counted where it happens, as Redis's afterErrorReply (a pcall may swallow it).
            errors::note(msg.as_bytes());
            let mut text = Vec::with_capacity(msg.len() + 1);
            text.push(b'-');
            text.extend_from_slice(msg.as_bytes());
            push_error(state, &text, true);
            true
        }
        Step::Failed(msg) => {
            push_error(state, msg.as_bytes(), false);
            true
        }
    }
}

/// What a call came to.
enum Step {
    /// The command ran: its reply is in `run.out`.
    Reply,
    /// Refused before running, with Redis's text (code included).
    Refused(String),
    /// The run stops (a kill, a restart): Redis-style message without code.
    Failed(&'static str),
}

/// Checks the command in `run.buf` as Redis's scriptCall does, then runs it on the host.
fn execute(run: &mut Run) -> Step {
    // A run being abandoned (to start over) or killed runs nothing more, even under pcall.
    if run.restart {
        return Step::Failed("ERR the script is run again with every shard held");
    }
    if run.killed {
        return Step::Failed(KILLED);
    }
    let Some(host) = run.host else {
        return Step::Failed("redis.call/pcall can only be called inside a script invocation");
    };
    // SAFETY: set by `Engine::run_function` for the duration of the Lua call this runs in; no
    // other reference to the host is live meanwhile.
    let host = unsafe { &mut *host };
    let checked = match host.check(&run.buf, &run.ranges, run.read_only) {
        Ok(c) => c,
        Err(Refusal::Error(msg)) => return Step::Refused(msg),
        Err(Refusal::Restart) => {
            run.restart = true;
            return Step::Failed("ERR the script is run again with every shard held");
        }
    };
    let write = checked.write;
    if write {
        if let Some(b) = run.busy() {
            // Shown before the write, then SCRIPT KILL checked: a kill either lands before any
            // write or is refused as UNKILLABLE (see `Scripts::kill`).
            b.wrote.store(true, std::sync::atomic::Ordering::SeqCst);
            if b.kill.load(std::sync::atomic::Ordering::SeqCst) && !run.wrote {
                run.killed = true;
                return Step::Failed(KILLED);
            }
        }
    }
    run.out.clear();
    match host.call(
        checked,
        &run.buf,
        &run.ranges,
        run.resp3,
        run.wrote,
        &mut run.out,
    ) {
        Ok(()) => {}
        Err(Refusal::Restart) => {
            run.restart = true;
            return Step::Failed("ERR the script is run again with every shard held");
        }
        Err(Refusal::Error(msg)) => return Step::Refused(msg),
    }
    if write {
        run.wrote = true;
    }
    Step::Reply
}

/// Pushes the string `s`.
unsafe fn push_str(state: *mut ffi::lua_State, s: &str) {
    ffi::lua_pushlstring(state, s.as_ptr() as *const _, s.len());
}

/// Pushes `{err = <msg in Redis's normal form>}` ([`convert::error_text`]), flagged as already
/// counted when `counted`.
unsafe fn push_error(state: *mut ffi::lua_State, msg: &[u8], counted: bool) {
    let text = convert::error_text(msg);
    ffi::lua_createtable(state, 0, 2);
    push_str(state, "err");
    ffi::lua_pushlstring(state, text.as_ptr() as *const _, text.len());
    ffi::lua_rawset(state, -3);
    if counted {
        push_str(state, "ignore_error_stats_update");
        ffi::lua_pushboolean(state, 1);
        ffi::lua_rawset(state, -3);
    }
}

/// The line after the type byte at `*at`, advancing past its CRLF.
fn line<'b>(bytes: &'b [u8], at: &mut usize) -> Option<&'b [u8]> {
    let start = *at + 1;
    let rest = bytes.get(start..)?;
    let end = memchr::memchr(b'\r', rest)?;
    *at = start + end + 2;
    Some(&rest[..end])
}

fn number(s: &[u8]) -> i64 {
    crate::num::parse_i64(s).unwrap_or(0)
}

/// How deep a reply is turned into nested tables.
const MAX_DEPTH: usize = 2000;

/// Pushes the Lua value of the RESP reply at `bytes[*at..]`, advancing `*at` past it. Types as
/// Redis maps them (see [`convert::reply_to_lua`]). Malformed input (the server's own encoder
/// never writes it) reads as nil; no more stack than checked for is used.
pub(super) unsafe fn push_reply(
    state: *mut ffi::lua_State,
    bytes: &[u8],
    at: &mut usize,
    depth: usize,
) {
    if ffi::lua_checkstack(state, 4) == 0 || depth > MAX_DEPTH {
        *at = bytes.len();
        ffi::lua_pushnil(state);
        return;
    }
    let Some(&tag) = bytes.get(*at) else {
        ffi::lua_pushnil(state);
        return;
    };
    let Some(head) = line(bytes, at) else {
        *at = bytes.len();
        ffi::lua_pushnil(state);
        return;
    };
    let body = |at: &mut usize, n: i64| -> Option<&[u8]> {
        let n = usize::try_from(n).ok()?;
        let b = bytes.get(*at..*at + n)?;
        *at += n + 2;
        Some(b)
    };
    let push_bytes = |b: &[u8]| ffi::lua_pushlstring(state, b.as_ptr() as *const _, b.len());
    match tag {
        b':' => ffi::lua_pushnumber(state, number(head) as f64),
        b'+' => {
            ffi::lua_createtable(state, 0, 1);
            push_str(state, "ok");
            push_bytes(head);
            ffi::lua_rawset(state, -3);
        }
        b'-' => {
            let mut msg = Vec::with_capacity(head.len() + 1);
            msg.push(b'-');
            msg.extend_from_slice(head);
            push_error(state, &msg, false);
        }
        b'$' => {
            let n = number(head);
            if n < 0 {
                ffi::lua_pushboolean(state, 0);
            } else {
                match body(at, n) {
                    Some(b) => {
                        push_bytes(b);
                    }
                    None => ffi::lua_pushnil(state),
                }
            }
        }
        b'*' | b'>' => {
            let n = number(head);
            if n < 0 {
                ffi::lua_pushboolean(state, 0);
                return;
            }
            ffi::lua_createtable(state, n.clamp(0, 1024) as c_int, 0);
            for i in 0..n {
                push_reply(state, bytes, at, depth + 1);
                ffi::lua_rawseti(state, -2, i + 1);
            }
        }
        b'~' => {
            ffi::lua_createtable(state, 0, 1);
            push_str(state, "set");
            ffi::lua_createtable(state, 0, 0);
            for _ in 0..number(head).max(0) {
                push_reply(state, bytes, at, depth + 1);
                if ffi::lua_type(state, -1) == ffi::LUA_TNIL {
                    ffi::lua_pop(state, 1);
                    continue;
                }
                ffi::lua_pushboolean(state, 1);
                ffi::lua_rawset(state, -3);
            }
            ffi::lua_rawset(state, -3);
        }
        b'%' => {
            ffi::lua_createtable(state, 0, 1);
            push_str(state, "map");
            ffi::lua_createtable(state, 0, 0);
            for _ in 0..number(head).max(0) {
                push_reply(state, bytes, at, depth + 1);
                push_reply(state, bytes, at, depth + 1);
                if ffi::lua_type(state, -2) == ffi::LUA_TNIL {
                    ffi::lua_pop(state, 2);
                    continue;
                }
                ffi::lua_rawset(state, -3);
            }
            ffi::lua_rawset(state, -3);
        }
        b'|' => {
            // Attributes are skipped: parsed and dropped.
            for _ in 0..number(head).max(0) {
                push_reply(state, bytes, at, depth + 1);
                push_reply(state, bytes, at, depth + 1);
                ffi::lua_pop(state, 2);
            }
            push_reply(state, bytes, at, depth);
        }
        b'_' => ffi::lua_pushnil(state),
        b'#' => ffi::lua_pushboolean(state, (head == b"t") as c_int),
        b',' => {
            ffi::lua_createtable(state, 0, 1);
            push_str(state, "double");
            ffi::lua_pushnumber(state, crate::num::strtod(head).0);
            ffi::lua_rawset(state, -3);
        }
        b'(' => {
            ffi::lua_createtable(state, 0, 1);
            push_str(state, "big_number");
            push_bytes(head);
            ffi::lua_rawset(state, -3);
        }
        b'=' => match body(at, number(head)) {
            Some(b) if b.len() >= 4 => {
                ffi::lua_createtable(state, 0, 1);
                push_str(state, "verbatim_string");
                ffi::lua_createtable(state, 0, 2);
                push_str(state, "string");
                push_bytes(&b[4..]);
                ffi::lua_rawset(state, -3);
                push_str(state, "format");
                push_bytes(&b[..3]);
                ffi::lua_rawset(state, -3);
                ffi::lua_rawset(state, -3);
            }
            _ => ffi::lua_pushnil(state),
        },
        _ => ffi::lua_pushnil(state),
    }
}
