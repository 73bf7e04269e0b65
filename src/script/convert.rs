//! Conversions between RESP and Lua, both ways, as Redis 7.0 makes them.
//!
//! A command a script calls replies in RESP (2, or 3 after `redis.setresp(3)`); [`reply_to_lua`]
//! turns those bytes into the Lua value the script sees. The script's return value goes the other
//! way, into the calling client's protocol, with [`lua_to_reply`].

use std::ffi::c_int;

use mlua::{ffi, Lua, Table, Value};

use crate::resp::Reply;

/// The Lua value of the RESP reply at the start of `bytes`, and the bytes it took. Types as Redis
/// maps them: integer -> number; bulk -> string; status -> `{ok=...}`; error -> `{err=...}`; array
/// -> table; RESP2 null bulk or null array -> false; RESP3 null -> nil; boolean -> boolean; double
/// -> `{double=n}`; map -> `{map={...}}`; set -> `{set={member=true}}`; big number ->
/// `{big_number=s}`; verbatim -> `{verbatim_string={format=f, string=s}}`; attributes are skipped.
/// (`redis.call` pushes the same values straight onto Lua's stack.)
pub fn reply_to_lua(lua: &Lua, bytes: &[u8]) -> mlua::Result<(Value, usize)> {
    let mut at = 0;
    // SAFETY: `push_reply` pushes exactly one value and checks the stack it uses.
    let v = unsafe {
        lua.exec_raw::<Value>((), |state| {
            super::call::push_reply(state, bytes, &mut at, 0);
        })
    }?;
    Ok((v, at))
}

/// An error table as Redis builds one from an error reply: `{err="CODE message"}` (a message
/// without a space gets the code ERR), flagged so the error is not counted twice.
pub fn error_table(lua: &Lua, msg: &[u8]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(error_text(msg))?)?;
    Ok(t)
}

/// Redis's error-text normal form (luaPushErrorBuff): a leading '-' is dropped and the code is
/// what precedes the first space (ERR when there is none); trailing CR/LF are trimmed.
pub fn error_text(msg: &[u8]) -> Vec<u8> {
    let trimmed = |s: &[u8]| -> Vec<u8> {
        let mut s = s.to_vec();
        while s.last().is_some_and(|&c| c == b'\r' || c == b'\n') {
            s.pop();
        }
        let start = s.iter().take_while(|&&c| c == b'\r' || c == b'\n').count();
        s.drain(..start);
        s
    };
    let mut out = Vec::with_capacity(msg.len() + 4);
    match msg.strip_prefix(b"-") {
        Some(rest) => match memchr::memchr(b' ', rest) {
            Some(sp) => {
                out.extend_from_slice(&rest[..sp]);
                out.push(b' ');
                out.extend_from_slice(&trimmed(&rest[sp + 1..]));
            }
            None => {
                out.extend_from_slice(b"ERR ");
                out.extend_from_slice(&trimmed(rest));
            }
        },
        None => {
            out.extend_from_slice(b"ERR ");
            out.extend_from_slice(&trimmed(msg));
        }
    }
    out
}

/// Writes the Lua value `v` as a reply into `r`, the calling client's protocol. As Redis:
/// string -> bulk; number -> integer (truncated); boolean -> `:1`/null when the script speaks
/// RESP2 (`script_resp3` false), else a RESP3 boolean; a table with `err` -> error (its code kept),
/// `ok` -> status, `double`, `big_number`, `verbatim_string`, `map`, `set` -> that RESP3 type (its
/// RESP2 form for a RESP2 client); any other table -> the array of its items 1..n up to the first
/// nil; anything else -> null.
///
/// The walk runs on Lua's own stack, as Redis's does: a table nested deeper than Lua's stack
/// allows ends in the same "reached lua stack limit" error at the same depth, and a table that
/// contains itself ends there too.
pub fn lua_to_reply(lua: &Lua, r: &mut Reply, v: &Value, script_resp3: bool) {
    let mark = r.len();
    // A nil below the value: Redis converts with the error handler and the value on the stack.
    // SAFETY: `write_top` only uses the stack slots it checks for, consumes exactly the value it
    // converts, and raises no Lua error (raw accesses only).
    let done = unsafe {
        lua.exec_raw::<()>((Value::Nil, v.clone()), |state| {
            write_top(state, r, script_resp3);
            ffi::lua_settop(state, 0);
        })
    };
    if done.is_err() {
        r.truncate(mark);
        r.error("ERR reached lua stack limit");
    }
}

/// Pushes the string `s` (a field name).
unsafe fn push_str(state: *mut ffi::lua_State, s: &str) {
    ffi::lua_pushlstring(state, s.as_ptr() as *const _, s.len());
}

/// The bytes of the string at `idx` (valid while it stays on the stack).
unsafe fn bytes_at<'s>(state: *mut ffi::lua_State, idx: c_int) -> &'s [u8] {
    let mut len = 0usize;
    let p = ffi::lua_tolstring(state, idx, &mut len);
    if p.is_null() {
        return &[];
    }
    std::slice::from_raw_parts(p as *const u8, len)
}

/// The table at the top's field `name` pushed on the stack, and its type.
unsafe fn field(state: *mut ffi::lua_State, name: &str) -> c_int {
    push_str(state, name);
    ffi::lua_rawget(state, -2);
    ffi::lua_type(state, -1)
}

/// `\r` and `\n` as spaces (status and big number replies are one line).
fn one_line(s: &[u8]) -> Vec<u8> {
    s.iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect()
}

/// Converts the value at the top of the stack and pops it (luaReplyToRedisReply's walk).
pub(super) unsafe fn write_top(state: *mut ffi::lua_State, r: &mut Reply, script_resp3: bool) {
    if ffi::lua_checkstack(state, 4) == 0 {
        r.error("ERR reached lua stack limit");
        ffi::lua_pop(state, 1);
        return;
    }
    match ffi::lua_type(state, -1) {
        ffi::LUA_TSTRING => r.bulk(bytes_at(state, -1)),
        ffi::LUA_TBOOLEAN => {
            let b = ffi::lua_toboolean(state, -1) != 0;
            if script_resp3 {
                r.bool(b)
            } else if b {
                r.int(1)
            } else {
                r.null()
            }
        }
        ffi::LUA_TNUMBER => r.int(lua_number_to_i64(ffi::lua_tonumber(state, -1))),
        ffi::LUA_TTABLE => return write_table(state, r, script_resp3),
        _ => r.null(),
    }
    ffi::lua_pop(state, 1);
}

/// [`write_top`] for a table (popped too).
unsafe fn write_table(state: *mut ffi::lua_State, r: &mut Reply, script_resp3: bool) {
    if field(state, "err") == ffi::LUA_TSTRING {
        // `-%s` of the message, cut at a NUL as C's %s: its code kept as the script wrote it.
        let msg = bytes_at(state, -1);
        let msg = &msg[..memchr::memchr(0, msg).unwrap_or(msg.len())];
        // An error a redis.call answered was counted when it happened.
        ffi::lua_pushvalue(state, -2);
        let counted = field(state, "ignore_error_stats_update") == ffi::LUA_TBOOLEAN
            && ffi::lua_toboolean(state, -1) != 0;
        ffi::lua_pop(state, 2);
        if counted {
            crate::resp::reply::errors::muted(|| r.error_bytes(msg));
        } else {
            r.error_bytes(msg);
        }
        ffi::lua_pop(state, 2);
        return;
    }
    ffi::lua_pop(state, 1);
    if field(state, "ok") == ffi::LUA_TSTRING {
        let ok = bytes_at(state, -1);
        let ok = one_line(&ok[..memchr::memchr(0, ok).unwrap_or(ok.len())]);
        r.raw(b"+");
        r.raw(&ok);
        r.raw(b"\r\n");
        ffi::lua_pop(state, 2);
        return;
    }
    ffi::lua_pop(state, 1);
    if field(state, "double") == ffi::LUA_TNUMBER {
        r.double(ffi::lua_tonumber(state, -1));
        ffi::lua_pop(state, 2);
        return;
    }
    ffi::lua_pop(state, 1);
    if field(state, "big_number") == ffi::LUA_TSTRING {
        let n = one_line(bytes_at(state, -1));
        if r.resp3() {
            r.raw(b"(");
            r.raw(&n);
            r.raw(b"\r\n");
        } else {
            r.bulk(&n);
        }
        ffi::lua_pop(state, 2);
        return;
    }
    ffi::lua_pop(state, 1);
    if field(state, "verbatim_string") == ffi::LUA_TTABLE {
        if field(state, "format") == ffi::LUA_TSTRING {
            push_str(state, "string");
            ffi::lua_rawget(state, -3);
            if ffi::lua_type(state, -1) == ffi::LUA_TSTRING {
                let format = bytes_at(state, -2);
                let text = bytes_at(state, -1);
                if r.resp3() {
                    let mut fmt = [b' '; 3];
                    for (d, c) in fmt.iter_mut().zip(format.iter()) {
                        *d = *c;
                    }
                    r.raw(b"=");
                    r.raw(itoa::Buffer::new().format(text.len() + 4).as_bytes());
                    r.raw(b"\r\n");
                    r.raw(&fmt);
                    r.raw(b":");
                    r.raw(text);
                    r.raw(b"\r\n");
                } else {
                    r.bulk(text);
                }
                ffi::lua_pop(state, 4);
                return;
            }
            ffi::lua_pop(state, 1);
        }
        ffi::lua_pop(state, 1);
    }
    ffi::lua_pop(state, 1);
    if field(state, "map") == ffi::LUA_TTABLE {
        let mut n = 0;
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, -2) != 0 {
            n += 1;
            ffi::lua_pop(state, 1);
        }
        r.map(n);
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, -2) != 0 {
            ffi::lua_pushvalue(state, -2);
            write_top(state, r, script_resp3);
            write_top(state, r, script_resp3);
        }
        ffi::lua_pop(state, 2);
        return;
    }
    ffi::lua_pop(state, 1);
    if field(state, "set") == ffi::LUA_TTABLE {
        let mut n = 0;
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, -2) != 0 {
            n += 1;
            ffi::lua_pop(state, 1);
        }
        r.set(n);
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, -2) != 0 {
            ffi::lua_pop(state, 1);
            ffi::lua_pushvalue(state, -1);
            write_top(state, r, script_resp3);
        }
        ffi::lua_pop(state, 2);
        return;
    }
    ffi::lua_pop(state, 1);
    let mut n = 0;
    loop {
        ffi::lua_rawgeti(state, -1, n + 1);
        let nil = ffi::lua_type(state, -1) == ffi::LUA_TNIL;
        ffi::lua_pop(state, 1);
        if nil {
            break;
        }
        n += 1;
    }
    r.array(n as usize);
    for j in 1..=n {
        ffi::lua_rawgeti(state, -1, j);
        write_top(state, r, script_resp3);
    }
    ffi::lua_pop(state, 1);
}

/// C's `(long long)` cast of a Lua number as x86-64 makes it (what Redis replies): truncation,
/// and the "integer indefinite" value i64::MIN for NaN and anything out of range.
pub fn lua_number_to_i64(n: f64) -> i64 {
    // 2^63, exactly representable.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if (-LIMIT..LIMIT).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_reply(lua: &Lua, code: &str, resp3_client: bool, script_resp3: bool) -> Vec<u8> {
        let v: Value = lua.load(code).eval().unwrap();
        let mut out = Vec::new();
        lua_to_reply(
            lua,
            &mut Reply::new(&mut out, resp3_client),
            &v,
            script_resp3,
        );
        out
    }

    #[test]
    fn lua_values_become_redis_replies() {
        // The walk recurses as deep as Lua's stack allows: room as a worker thread has.
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(lua_values_become_redis_replies_inner)
            .unwrap()
            .join()
            .unwrap();
    }

    fn lua_values_become_redis_replies_inner() {
        let lua = Lua::new();
        assert_eq!(
            to_reply(
                &lua,
                "return {1, 2, 3.7, 'x', true, false, nil, 4}",
                false,
                false
            ),
            b"*6\r\n:1\r\n:2\r\n:3\r\n$1\r\nx\r\n:1\r\n$-1\r\n".to_vec()
        );
        assert_eq!(
            to_reply(&lua, "return {err='MY bad\\r\\nthing'}", false, false),
            b"-MY bad  thing\r\n".to_vec()
        );
        assert_eq!(
            to_reply(&lua, "return {ok='fine'}", false, false),
            b"+fine\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return {double=3.5}", true, false),
            b",3.5\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return {double=3.5}", false, false),
            b"$3\r\n3.5\r\n"
        );
        assert_eq!(to_reply(&lua, "return false", true, true), b"#f\r\n");
        assert_eq!(to_reply(&lua, "return false", true, false), b"_\r\n");
        assert_eq!(to_reply(&lua, "return -2.9", false, false), b":-2\r\n");
        assert_eq!(
            to_reply(&lua, "return {map={a=1}}", true, true),
            b"%1\r\n$1\r\na\r\n:1\r\n".to_vec()
        );
        assert_eq!(
            to_reply(&lua, "return {set={a=true}}", false, true),
            b"*1\r\n$1\r\na\r\n".to_vec()
        );
        // A table that holds itself ends in an error, not in a stack overflow.
        let deep = to_reply(&lua, "local t = {} t[1] = t return t", false, false);
        assert!(deep.ends_with(b"-ERR reached lua stack limit\r\n"));
    }

    #[test]
    fn replies_become_lua_values() {
        let lua = Lua::new();
        let check = |bytes: &[u8], code: &str| {
            let (v, used) = reply_to_lua(&lua, bytes).unwrap();
            assert_eq!(used, bytes.len());
            lua.globals().set("v", v).unwrap();
            assert!(lua.load(code).eval::<bool>().unwrap(), "{code}");
        };
        check(b":42\r\n", "return v == 42");
        check(b"$-1\r\n", "return v == false");
        check(b"*-1\r\n", "return v == false");
        check(b"_\r\n", "return v == nil");
        check(b"+OK\r\n", "return v.ok == 'OK'");
        check(b"-WRONGTYPE bad\r\n", "return v.err == 'WRONGTYPE bad'");
        check(b"-oops\r\n", "return v.err == 'ERR oops'");
        check(
            b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
            "return v[1] == 'a' and v[2][1] == 1",
        );
        check(b"%1\r\n$1\r\nk\r\n$1\r\nv\r\n", "return v.map.k == 'v'");
        check(b"~1\r\n$1\r\nm\r\n", "return v.set.m == true");
        check(b"#t\r\n", "return v == true");
        check(b",1.5\r\n", "return v.double == 1.5");
        check(b"(123\r\n", "return v.big_number == '123'");
        check(
            b"=7\r\ntxt:abc\r\n",
            "return v.verbatim_string.format == 'txt' and v.verbatim_string.string == 'abc'",
        );
        check(b"|1\r\n$1\r\na\r\n$1\r\nb\r\n:7\r\n", "return v == 7");
    }

    #[test]
    fn error_texts_take_redis_normal_form() {
        assert_eq!(error_text(b"-NOSCRIPT No match\r\n"), b"NOSCRIPT No match");
        assert_eq!(error_text(b"-FOO"), b"ERR FOO");
        assert_eq!(error_text(b"plain words"), b"ERR plain words");
    }
}
