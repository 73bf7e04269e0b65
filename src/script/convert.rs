//! Conversions between RESP and Lua, both ways, as Redis 7.0 makes them.
//!
//! A command a script calls replies in RESP (2, or 3 after `redis.setresp(3)`); [`reply_to_lua`]
//! turns those bytes into the Lua value the script sees. The script's return value goes the other
//! way, into the calling client's protocol, with [`lua_to_reply`].

use mlua::{Lua, Table, Value};

use crate::resp::Reply;

/// How deep [`lua_to_reply`] follows nested tables before answering an error instead (Redis
/// stops at Lua's C stack limit with "reached lua stack limit"; a cyclic table would never end).
const MAX_DEPTH: usize = 200;

/// The Lua value of the RESP reply at the start of `bytes`, and the bytes it took. Types as Redis
/// maps them: integer -> number; bulk -> string; status -> `{ok=...}`; error -> `{err=...}`; array
/// -> table; RESP2 null bulk or null array -> false; RESP3 null -> nil; boolean -> boolean; double
/// -> `{double=n}`; map -> `{map={...}}`; set -> `{set={member=true}}`; big number ->
/// `{big_number=s}`; verbatim -> `{verbatim_string={format=f, string=s}}`; attributes are skipped.
/// Malformed input (never produced by the server's own encoder) reads as nil.
pub fn reply_to_lua(lua: &Lua, bytes: &[u8]) -> mlua::Result<(Value, usize)> {
    let mut at = 0;
    let v = parse(lua, bytes, &mut at, 0)?;
    Ok((v, at))
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

fn parse(lua: &Lua, bytes: &[u8], at: &mut usize, depth: usize) -> mlua::Result<Value> {
    let Some(&tag) = bytes.get(*at) else {
        return Ok(Value::Nil);
    };
    if depth > 4 * MAX_DEPTH {
        // Deeper than any reply the server writes: the rest reads as nil.
        *at = bytes.len();
        return Ok(Value::Nil);
    }
    let Some(head) = line(bytes, at) else {
        *at = bytes.len();
        return Ok(Value::Nil);
    };
    let bulk_body = |at: &mut usize, n: i64| -> Option<&[u8]> {
        let n = usize::try_from(n).ok()?;
        let body = bytes.get(*at..*at + n)?;
        *at += n + 2;
        Some(body)
    };
    Ok(match tag {
        b':' => Value::Number(number(head) as f64),
        b'+' => {
            let t = lua.create_table()?;
            t.raw_set("ok", lua.create_string(head)?)?;
            Value::Table(t)
        }
        b'-' => {
            let mut msg = Vec::with_capacity(head.len() + 1);
            msg.push(b'-');
            msg.extend_from_slice(head);
            Value::Table(error_table(lua, &msg)?)
        }
        b'$' => {
            let n = number(head);
            if n < 0 {
                Value::Boolean(false)
            } else {
                match bulk_body(at, n) {
                    Some(body) => Value::String(lua.create_string(body)?),
                    None => Value::Nil,
                }
            }
        }
        b'*' | b'~' | b'>' => {
            let n = number(head);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table()?;
            if tag == b'~' {
                for _ in 0..n {
                    let v = parse(lua, bytes, at, depth + 1)?;
                    t.raw_set(v, true)?;
                }
                let outer = lua.create_table()?;
                outer.raw_set("set", t)?;
                Value::Table(outer)
            } else {
                for i in 0..n {
                    let v = parse(lua, bytes, at, depth + 1)?;
                    t.raw_set(i + 1, v)?;
                }
                Value::Table(t)
            }
        }
        b'%' => {
            let t = lua.create_table()?;
            for _ in 0..number(head).max(0) {
                let k = parse(lua, bytes, at, depth + 1)?;
                let v = parse(lua, bytes, at, depth + 1)?;
                t.raw_set(k, v)?;
            }
            let outer = lua.create_table()?;
            outer.raw_set("map", t)?;
            Value::Table(outer)
        }
        b'|' => {
            for _ in 0..number(head).max(0) {
                parse(lua, bytes, at, depth + 1)?;
                parse(lua, bytes, at, depth + 1)?;
            }
            parse(lua, bytes, at, depth)?
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(head == b"t"),
        b',' => {
            let d = crate::num::strtod(head).0;
            let t = lua.create_table()?;
            t.raw_set("double", d)?;
            Value::Table(t)
        }
        b'(' => {
            let t = lua.create_table()?;
            t.raw_set("big_number", lua.create_string(head)?)?;
            Value::Table(t)
        }
        b'=' => match bulk_body(at, number(head)) {
            Some(body) if body.len() >= 4 => {
                let inner = lua.create_table()?;
                inner.raw_set("string", lua.create_string(&body[4..])?)?;
                inner.raw_set("format", lua.create_string(&body[..3])?)?;
                let t = lua.create_table()?;
                t.raw_set("verbatim_string", inner)?;
                Value::Table(t)
            }
            _ => Value::Nil,
        },
        _ => Value::Nil,
    })
}

/// Writes the Lua value `v` as a reply into `r`, the calling client's protocol. As Redis:
/// string -> bulk; number -> integer (truncated); boolean -> `:1`/null when the script speaks
/// RESP2 (`script_resp3` false), else a RESP3 boolean; a table with `err` -> error (its code kept),
/// `ok` -> status, `double`, `big_number`, `verbatim_string`, `map`, `set` -> that RESP3 type (its
/// RESP2 form for a RESP2 client); any other table -> the array of its items 1..n up to the first
/// nil; anything else -> null.
pub fn lua_to_reply(r: &mut Reply, v: &Value, script_resp3: bool) {
    write(r, v, script_resp3, 0)
}

fn write(r: &mut Reply, v: &Value, script_resp3: bool, depth: usize) {
    if depth > MAX_DEPTH {
        return r.error("ERR reached lua stack limit");
    }
    match v {
        Value::String(s) => r.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if script_resp3 {
                r.bool(*b)
            } else if *b {
                r.int(1)
            } else {
                r.null()
            }
        }
        Value::Integer(n) => r.int(*n),
        Value::Number(n) => r.int(lua_number_to_i64(*n)),
        Value::Table(t) => write_table(r, t, script_resp3, depth),
        _ => r.null(),
    }
}

/// C's `(long long)` cast of a Lua number, as Redis replies it (saturating where C is undefined).
pub fn lua_number_to_i64(n: f64) -> i64 {
    if n.is_nan() {
        i64::MIN
    } else {
        n as i64
    }
}

fn write_table(r: &mut Reply, t: &Table, script_resp3: bool, depth: usize) {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        // `-%s` of the message: its code kept as the script wrote it.
        return r.error_bytes(&e.as_bytes());
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        let s: Vec<u8> = s
            .as_bytes()
            .iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect();
        r.raw(b"+");
        r.raw(&s);
        return r.raw(b"\r\n");
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        return r.double(d);
    }
    if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
        return r.double(d as f64);
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
        let s: Vec<u8> = s
            .as_bytes()
            .iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect();
        if r.resp3() {
            r.raw(b"(");
            r.raw(&s);
            return r.raw(b"\r\n");
        }
        return r.bulk(&s);
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        if let (Ok(Value::String(f)), Ok(Value::String(s))) =
            (vt.raw_get::<Value>("format"), vt.raw_get::<Value>("string"))
        {
            let (f, s) = (f.as_bytes(), s.as_bytes());
            if r.resp3() {
                let mut fmt = [b' '; 3];
                for (d, c) in fmt.iter_mut().zip(f.iter()) {
                    *d = *c;
                }
                r.raw(b"=");
                r.raw(itoa::Buffer::new().format(s.len() + 4).as_bytes());
                r.raw(b"\r\n");
                r.raw(&fmt);
                r.raw(b":");
                r.raw(&s);
                return r.raw(b"\r\n");
            }
            return r.bulk(&s);
        }
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().flatten().collect();
        r.map(pairs.len());
        for (k, v) in &pairs {
            write(r, k, script_resp3, depth + 1);
            write(r, v, script_resp3, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let members: Vec<Value> = s
            .pairs::<Value, Value>()
            .flatten()
            .map(|(k, _)| k)
            .collect();
        r.set(members.len());
        for k in &members {
            write(r, k, script_resp3, depth + 1);
        }
        return;
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    r.array(items.len());
    for v in &items {
        write(r, v, script_resp3, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_reply(lua: &Lua, code: &str, resp3_client: bool, script_resp3: bool) -> Vec<u8> {
        let v: Value = lua.load(code).eval().unwrap();
        let mut out = Vec::new();
        lua_to_reply(&mut Reply::new(&mut out, resp3_client), &v, script_resp3);
        out
    }

    #[test]
    fn lua_values_become_redis_replies() {
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
