//! The `cmsgpack` library (lua-cmsgpack 0.4.0, as Redis 7.0 bundles it): MessagePack encoding
//! of Lua values and decoding back, byte for byte as Redis does it.
//!
//! Encoding picks the smallest form: integral numbers become (u)int8..64 or fixnums, other
//! numbers float32 when that is exact, else float64; strings use fixstr/str8/16/32; a table whose
//! keys are exactly 1..n is an array, any other table a map (in `next` order); tables nested 16
//! deep, and values MessagePack cannot hold (functions, userdata, nil), become nil. Decoding
//! accepts what the C library accepts (no bin or ext types) and fails with its messages; its
//! nesting is bounded, as in Redis, by Lua's C stack limit, and done without recursion.

use mlua::{Lua, MultiValue, Table, Value};

use super::bit::support::{
    arg_error, check_integer, check_string, error, f32_to_f64, f64_to_i32, f64_to_i64,
    for_each_until, opt_integer, ret1, set_function, DeepStack, LibResult, PairWalk, Raise,
    Results, MAX_C_STACK,
};

/// Installs the global `cmsgpack` table with its functions and metadata, as Redis 7.0 does, so
/// that scripts written for Redis produce and read the same MessagePack bytes.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let table = lua.create_table()?;
    set_function(lua, &table, "pack", pack)?;
    set_function(lua, &table, "unpack", |lua, args| {
        let nargs = args.len();
        unpack_full(lua, &args, nargs, 0, 0)
    })?;
    set_function(lua, &table, "unpack_one", |lua, args| {
        let offset = opt_integer(lua, &args, 2, 0)?;
        unpack_full(lua, &args, 1, 1, offset)
    })?;
    set_function(lua, &table, "unpack_limit", |lua, args| {
        let limit = check_integer(lua, &args, 2)?;
        let offset = opt_integer(lua, &args, 3, 0)?;
        unpack_full(lua, &args, 1, limit, offset)
    })?;
    table.raw_set("_NAME", "cmsgpack")?;
    table.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    table.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    table.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    lua.globals().raw_set("cmsgpack", table)
}

/// Tables at this depth are encoded as nil (protection against cycles).
const MAX_NESTING: u32 = 16;

/// Lua's C stack check (`luaL_checkstack`) at `top` used slots needing `extra` more.
fn check_stack(top: i64, extra: i64, what: &str) -> LibResult<()> {
    if top + extra > MAX_C_STACK {
        return error(format!("stack overflow ({what})"));
    }
    Ok(())
}

// ------------------------------- Encoding -------------------------------

fn encode_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        buf.push(0xa0 | len as u8);
    } else if len <= 0xff {
        buf.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        buf.push(0xda);
        buf.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        buf.push(0xdb);
        buf.extend_from_slice(&(len as u32).to_be_bytes());
    }
    buf.extend_from_slice(s);
}

fn encode_int(buf: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            buf.push(n as u8);
        } else if n <= 0xff {
            buf.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            buf.push(0xcd);
            buf.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            buf.push(0xce);
            buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            buf.push(0xcf);
            buf.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        buf.push(n as i8 as u8);
    } else if n >= -128 {
        buf.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        buf.push(0xd1);
        buf.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        buf.push(0xd2);
        buf.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        buf.push(0xd3);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

/// Integral numbers (that fit an int64) as integers, others as float32 when exact, else float64.
fn encode_number(buf: &mut Vec<u8>, n: f64) {
    let i = f64_to_i64(n);
    if !n.is_infinite() && i as f64 == n {
        encode_int(buf, i);
    } else {
        let f = n as f32;
        if f64::from(f) == n {
            buf.push(0xca);
            buf.extend_from_slice(&f.to_be_bytes());
        } else {
            buf.push(0xcb);
            buf.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// Array (0x9_, 0xdc, 0xdd) or map (0x8_, 0xde, 0xdf) header.
fn encode_header(buf: &mut Vec<u8>, n: usize, fix: u8, code16: u8) {
    if n <= 15 {
        buf.push(fix | n as u8);
    } else if n <= 0xffff {
        buf.push(code16);
        buf.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        buf.push(code16 + 1);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Encodes `v` at nesting `level`; `top` is how many Lua stack slots the C code would use with
/// `v` pushed, for its stack checks.
fn encode(lua: &Lua, buf: &mut Vec<u8>, v: &Value, level: u32, top: i64) -> LibResult<()> {
    match v {
        Value::String(s) => encode_bytes(buf, &s.as_bytes()),
        Value::Boolean(b) => buf.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_number(buf, *i as f64),
        Value::Number(n) => encode_number(buf, *n),
        Value::Table(t) if level < MAX_NESTING => encode_table(lua, buf, t, level, top)?,
        _ => buf.push(0xc0),
    }
    Ok(())
}

/// Whether the keys are exactly 1..n (positive numbers that fit a C int, as many as the largest).
fn is_array(t: &Table, top: i64) -> LibResult<bool> {
    check_stack(top, 2, "in function table_is_an_array")?;
    let mut count: i64 = 0;
    let mut max: i64 = 0;
    let mut array = true;
    for_each_until(t, |k, _| {
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => f64::NAN,
        };
        if n.is_nan() || n <= 0.0 || f64::from(f64_to_i32(n)) != n {
            array = false;
            return Ok(false);
        }
        max = max.max(n as i64);
        count += 1;
        Ok(true)
    })?;
    Ok(array && max == count)
}

fn encode_table(lua: &Lua, buf: &mut Vec<u8>, t: &Table, level: u32, top: i64) -> LibResult<()> {
    if is_array(t, top)? {
        let len = t.raw_len();
        encode_header(buf, len, 0x90, 0xdc);
        check_stack(top, 1, "in function mp_encode_lua_table_as_array")?;
        for j in 1..=len {
            let item: Value = t.raw_get(j)?;
            encode(lua, buf, &item, level + 1, top + 1)?;
        }
    } else {
        check_stack(top, 3, "in function mp_encode_lua_table_as_map")?;
        let mut len = 0;
        for_each_until(t, |_, _| {
            len += 1;
            Ok(true)
        })?;
        encode_header(buf, len, 0x80, 0xde);
        let mut walk = PairWalk::new();
        while let Some((k, v)) = walk.next(lua, t, 16)? {
            encode(lua, buf, &k, level + 1, top + 3)?;
            encode(lua, buf, &v, level + 1, top + 2)?;
        }
    }
    Ok(())
}

/// `cmsgpack.pack(...)`: the concatenated encodings of all arguments.
fn pack(lua: &Lua, args: Vec<Value>) -> LibResult<MultiValue> {
    let nargs = args.len() as i64;
    if nargs == 0 {
        return arg_error(0, "MessagePack pack needs input.");
    }
    if 2 * nargs > MAX_C_STACK {
        return arg_error(0, "Too many arguments for MessagePack pack.");
    }
    let mut buf = Vec::new();
    for (i, v) in args.iter().enumerate() {
        let top = nargs + i as i64;
        check_stack(top, 1, "in function mp_check")?;
        encode(lua, &mut buf, v, 0, top + 1)?;
    }
    ret1(Value::String(lua.create_string(&buf)?))
}

// ------------------------------- Decoding -------------------------------

/// Why decoding stopped early, reported once back at the top level.
enum Stop {
    Eof,
    BadFormat,
    Raise(Raise),
}

impl From<Raise> for Stop {
    fn from(r: Raise) -> Self {
        Stop::Raise(r)
    }
}

impl From<mlua::Error> for Stop {
    fn from(e: mlua::Error) -> Self {
        Stop::Raise(Raise::Lua(e))
    }
}

/// What one encoded item starts.
enum Item {
    Value(Value),
    Array(usize),
    Map(usize),
}

/// A table being filled (a map's decoded key is the level's extra value).
enum MpState {
    Array { left: usize, index: f64 },
    Map { left: usize, has_key: bool },
}

struct Decoder<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
    /// Lua stack slots the C decoder would be using (for its "stack overflow" errors).
    top: i64,
}

impl Decoder<'_> {
    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    fn need(&self, n: usize) -> Result<(), Stop> {
        if self.left() < n {
            Err(Stop::Eof)
        } else {
            Ok(())
        }
    }

    fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut b = [0u8; N];
        b.copy_from_slice(&self.data[self.pos + at..self.pos + at + N]);
        b
    }

    fn string(&mut self, header: usize, len: usize) -> Result<Value, Stop> {
        self.need(header.saturating_add(len))?;
        let start = self.pos + header;
        let s = self.lua.create_string(&self.data[start..start + len])?;
        self.pos = start + len;
        Ok(Value::String(s))
    }

    /// Reads the item at the cursor (the C `mp_decode_to_lua_type` up to its recursion).
    fn item(&mut self) -> Result<Item, Stop> {
        self.need(1)?;
        check_stack(
            self.top,
            1,
            "too many return values at once; use unpack_one or unpack_limit instead.",
        )?;
        let c = self.data[self.pos];
        let num = |n: f64| Item::Value(Value::Number(n));
        let item = match c {
            0xcc => {
                self.need(2)?;
                num(f64::from(self.data[self.pos + 1]))
            }
            0xd0 => {
                self.need(2)?;
                num(f64::from(self.data[self.pos + 1] as i8))
            }
            0xcd => {
                self.need(3)?;
                num(f64::from(u16::from_be_bytes(self.bytes(1))))
            }
            0xd1 => {
                self.need(3)?;
                num(f64::from(i16::from_be_bytes(self.bytes(1))))
            }
            0xce => {
                self.need(5)?;
                num(f64::from(u32::from_be_bytes(self.bytes(1))))
            }
            0xd2 => {
                self.need(5)?;
                num(f64::from(i32::from_be_bytes(self.bytes(1))))
            }
            // uint64 goes through lua_pushinteger: a signed 64-bit integer.
            0xcf | 0xd3 => {
                self.need(9)?;
                num(i64::from_be_bytes(self.bytes(1)) as f64)
            }
            0xc0 => Item::Value(Value::Nil),
            0xc3 => Item::Value(Value::Boolean(true)),
            0xc2 => Item::Value(Value::Boolean(false)),
            0xca => {
                self.need(5)?;
                num(f32_to_f64(f32::from_be_bytes(self.bytes(1))))
            }
            0xcb => {
                self.need(9)?;
                num(f64::from_be_bytes(self.bytes(1)))
            }
            0xd9 => {
                self.need(2)?;
                let len = usize::from(self.data[self.pos + 1]);
                return Ok(Item::Value(self.string(2, len)?));
            }
            0xda => {
                self.need(3)?;
                let len = usize::from(u16::from_be_bytes(self.bytes(1)));
                return Ok(Item::Value(self.string(3, len)?));
            }
            0xdb => {
                self.need(5)?;
                let len = u32::from_be_bytes(self.bytes(1)) as usize;
                return Ok(Item::Value(self.string(5, len)?));
            }
            0xdc | 0xde => {
                self.need(3)?;
                let len = usize::from(u16::from_be_bytes(self.bytes(1)));
                self.pos += 3;
                return Ok(if c == 0xdc {
                    Item::Array(len)
                } else {
                    Item::Map(len)
                });
            }
            0xdd | 0xdf => {
                self.need(5)?;
                let len = u32::from_be_bytes(self.bytes(1)) as usize;
                self.pos += 5;
                return Ok(if c == 0xdd {
                    Item::Array(len)
                } else {
                    Item::Map(len)
                });
            }
            0x00..=0x7f => num(f64::from(c)),
            0xe0..=0xff => num(f64::from(c as i8)),
            0xa0..=0xbf => return Ok(Item::Value(self.string(1, usize::from(c & 0x1f))?)),
            0x90..=0x9f => {
                self.pos += 1;
                return Ok(Item::Array(usize::from(c & 0xf)));
            }
            0x80..=0x8f => {
                self.pos += 1;
                return Ok(Item::Map(usize::from(c & 0xf)));
            }
            _ => return Err(Stop::BadFormat),
        };
        self.pos += match c {
            0xcc | 0xd0 => 2,
            0xcd | 0xd1 => 3,
            0xce | 0xd2 | 0xca => 5,
            0xcf | 0xd3 | 0xcb => 9,
            _ => 1,
        };
        Ok(item)
    }

    /// Decodes one complete top-level object, keeping nested tables on a heap stack.
    fn object(&mut self) -> Result<Value, Stop> {
        let mut stack: DeepStack<MpState> = DeepStack::new(self.lua);
        loop {
            if let Some((MpState::Array { .. }, _, _)) = stack.top() {
                self.top += 1; // the index pushed before each element
            }
            let mut value = match self.item()? {
                Item::Value(v) => {
                    self.top += 1;
                    v
                }
                Item::Array(len) => {
                    let table = self.lua.create_table()?;
                    self.top += 1;
                    check_stack(self.top, 1, "in function mp_decode_to_lua_array")?;
                    if len > 0 {
                        stack.push(
                            MpState::Array {
                                left: len,
                                index: 1.0,
                            },
                            table,
                            Value::Nil,
                        )?;
                        continue;
                    }
                    Value::Table(table)
                }
                Item::Map(len) => {
                    let table = self.lua.create_table()?;
                    self.top += 1;
                    if len > 0 {
                        stack.push(
                            MpState::Map {
                                left: len,
                                has_key: false,
                            },
                            table,
                            Value::Nil,
                        )?;
                        continue;
                    }
                    Value::Table(table)
                }
            };
            // Store the finished value into its parent, closing the tables it completes.
            loop {
                let done = match stack.top() {
                    None => return Ok(value),
                    Some((MpState::Array { left, index }, table, _)) => {
                        table.raw_set(*index, value)?;
                        *index += 1.0;
                        self.top -= 2;
                        *left -= 1;
                        *left == 0
                    }
                    Some((MpState::Map { left, has_key }, table, key)) => {
                        if !*has_key {
                            *key = value;
                            *has_key = true;
                            break;
                        }
                        *has_key = false;
                        let k = std::mem::replace(key, Value::Nil);
                        match &k {
                            Value::Nil => {
                                return Err(Raise::Raw(b"table index is nil".to_vec()).into())
                            }
                            Value::Number(n) if n.is_nan() => {
                                return Err(Raise::Raw(b"table index is NaN".to_vec()).into())
                            }
                            _ => {}
                        }
                        table.raw_set(k, value)?;
                        self.top -= 2;
                        *left -= 1;
                        *left == 0
                    }
                };
                if !done {
                    break;
                }
                value = match stack.pop()? {
                    Some((_, table, _)) => Value::Table(table),
                    None => Value::Nil,
                };
            }
        }
    }
}

/// The common body of the three unpack functions: up to `limit` objects from `offset` (all of
/// them when both are 0), plus the next offset (-1 at the end) unless all were asked for.
/// `base` is how many arguments the C function keeps on the Lua stack.
fn unpack_full(
    lua: &Lua,
    args: &[Value],
    base: usize,
    limit: i64,
    offset: i64,
) -> LibResult<MultiValue> {
    let s = check_string(lua, args, 1)?;
    let data = s.as_bytes();
    let len = data.len();
    if offset < 0 || limit < 0 {
        return error(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        ));
    }
    if offset as u64 > len as u64 {
        return error(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        ));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all {
        i64::from(i32::MAX)
    } else {
        limit
    };
    let mut dec = Decoder {
        lua,
        data: &data,
        pos: offset as usize,
        top: base as i64,
    };
    let mut results = Results::new(lua);
    if !decode_all {
        results.push(Value::Nil)?; // the offset, filled in at the end
    }
    let mut count: i64 = 0;
    while dec.left() > 0 && count < limit {
        match dec.object() {
            Ok(v) => results.push(v)?,
            Err(Stop::Eof) => return error("Missing bytes in input."),
            Err(Stop::BadFormat) => return error("Bad data format in input."),
            Err(Stop::Raise(r)) => return Err(r),
        }
        count += 1;
    }
    if !decode_all {
        check_stack(dec.top, 1, "in function mp_unpack_full")?;
        let next = if dec.left() == 0 {
            -1.0
        } else {
            dec.pos as f64
        };
        results.set(1, Value::Number(next))?;
    }
    results.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua() -> Lua {
        let lua = Lua::new();
        super::super::register(&lua).unwrap();
        lua
    }

    // BEGIN REDIS CASES
    // Expected values captured from redis-server 7.0.15 (EVAL <code> 0); errors that escape the
    // script are shown without Redis's "ERR " prefix and " script: <sha>, on @user_script:1." suffix.
    const CASES: &[(&str, Result<&str, &str>)] = &[
        // pack small ints
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack(0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2^53, 2^63 - 1024))"#,
            Ok(
                r#"00017fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000cf0020000000000000cf7ffffffffffffc00"#,
            ),
        ),
        // pack negative ints
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack(-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -2^53, -2^63))"#,
            Ok(
                r#"ffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffd3ffe0000000000000d38000000000000000"#,
            ),
        ),
        // pack floats
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack(0.5, -1.5, 0.1, 1e300, 2^63, 2^64, -2^63 - 2^11, 1/3, 3.4028234663852886e38, 1e-45))"#,
            Ok(
                r#"ca3f000000cabfc00000cb3fb999999999999acb7e37e43c8800759cca5f000000ca5f800000cbc3e0000000000001cb3fd5555555555555ca7f7fffffcb3696d601ad376ab9"#,
            ),
        ),
        // pack special floats
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack(1/0, -1/0, 0/0, -(0/0), -0.0))"#,
            Ok(r#"ca7f800000caff800000cbfff8000000000000cb7ff800000000000000"#),
        ),
        // pack strings
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local r = {}
for _, n in ipairs({0, 1, 31, 32, 255, 256, 65535, 65536}) do
  local p = cmsgpack.pack(string.rep("x", n))
  r[#r + 1] = #p .. ":" .. hex(p:sub(1, 6))
end
return table.concat(r, " ")"#,
            Ok(
                r#"1:a0 2:a178 32:bf7878787878 34:d92078787878 257:d9ff78787878 259:da0100787878 65538:daffff787878 65541:db0001000078"#,
            ),
        ),
        // pack binary string
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack("a\0\255b"))"#,
            Ok(r#"a46100ff62"#),
        ),
        // pack booleans and nil
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack(true, false, nil, tostring, coroutine.create(function() end), cjson.null))"#,
            Ok(r#"c3c2c0c0c0c0"#),
        ),
        // pack arrays
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack({}, {1, 2, 3}, {"a", {true}}, {[1] = 1, [2] = 2}))"#,
            Ok(r#"909301020392a16191c3920102"#),
        ),
        // pack array sizes
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local r = {}
for _, n in ipairs({15, 16, 65535, 65536}) do
  local t = {} for i = 1, n do t[i] = 0 end
  local p = cmsgpack.pack(t)
  r[#r + 1] = #p .. ":" .. hex(p:sub(1, 6))
end
return table.concat(r, " ")"#,
            Ok(r#"16:9f0000000000 19:dc0010000000 65538:dcffff000000 65541:dd0001000000"#),
        ),
        // pack maps
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack({a = 1}, {[2] = 1}, {[0] = 1}, {[1.5] = 1}, {[-1] = 1}, {1, 2, nil, 4}, {[1] = 1, x = 2}))"#,
            Ok(r#"81a1610181020181000181ca3fc000000181ff0183010102020404820101a17802"#),
        ),
        // pack map sizes
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local r = {}
for _, n in ipairs({15, 16, 65535, 65536}) do
  local t = {} for i = 1, n do t["k" .. i] = 0 end
  local p = cmsgpack.pack(t)
  r[#r + 1] = #p .. ":" .. hex(p:sub(1, 3))
end
return table.concat(r, " ")"#,
            Ok(r#"67:8fa36b 74:de0010 513177:deffff 513187:df0001"#),
        ),
        // pack map order
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack({alpha = 1, beta = 2, gamma = 3, delta = 4, [10] = 5, [true] = 6}))"#,
            Ok(r#"86a462657461020a05c306a564656c746104a5616c70686101a567616d6d6103"#),
        ),
        // pack table keys
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack({[{1}] = {x = {y = 1}}}))"#,
            Ok(r#"81910181a17881a17901"#),
        ),
        // pack big int keys
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack({[2^31] = 1})) .. " " .. hex(cmsgpack.pack({[2^31 - 1] = 1}))"#,
            Ok(r#"81ce8000000001 81ce7fffffff01"#),
        ),
        // pack nesting 16
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local t = {}
local cur = t
for i = 1, 20 do cur[1] = {} cur = cur[1] end
return hex(cmsgpack.pack(t))"#,
            Ok(r#"91919191919191919191919191919191c0"#),
        ),
        // pack nesting map
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local t = {}
local cur = t
for i = 1, 18 do cur.k = {} cur = cur.k end
return hex(cmsgpack.pack(t))"#,
            Ok(
                r#"81a16b81a16b81a16b81a16b81a16b81a16b81a16b81a16b81a16b81a16b81a16b81a16b81a16b81a16b81a16b81a16bc0"#,
            ),
        ),
        // pack cycle
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local t = {} t[1] = t
local m = {} m.self = m
return hex(cmsgpack.pack(t)) .. " " .. hex(cmsgpack.pack(m))"#,
            Ok(
                r#"91919191919191919191919191919191c0 81a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c6681a473656c66c0"#,
            ),
        ),
        // pack metatable ignored
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local t = setmetatable({1, 2}, {__index = function() return 9 end, __len = function() return 5 end})
return hex(cmsgpack.pack(t))"#,
            Ok(r#"920102"#),
        ),
        // pack no input
        (
            r#"local ok, e = pcall(cmsgpack.pack) return e"#,
            Ok(r#"bad argument #0 to '?' (MessagePack pack needs input.)"#),
        ),
        // pack no input position
        (
            r#"return cmsgpack.pack()"#,
            Err(r#"user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)"#),
        ),
        // pack too many args
        (
            r#"local t = {} for i = 1, 4001 do t[i] = i end
local ok, e = pcall(cmsgpack.pack, unpack(t)) return e"#,
            Ok(r#"bad argument #0 to '?' (Too many arguments for MessagePack pack.)"#),
        ),
        // pack many args
        (
            r#"local t = {} for i = 1, 4000 do t[i] = 1 end
return tostring(#cmsgpack.pack(unpack(t)))"#,
            Ok(r#"4000"#),
        ),
        // pack many args with tables
        (
            r#"local t = {} for i = 1, 4000 do t[i] = {{{1}}} end
local ok, e = pcall(cmsgpack.pack, unpack(t)) return tostring(ok) .. " " .. tostring(e)"#,
            Ok(r#"false stack overflow (in function table_is_an_array)"#),
        ),
        // pack numeric string
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack("12"))"#,
            Ok(r#"a23132"#),
        ),
        // unpack ints
        (
            r#"return table.concat({cmsgpack.unpack(cmsgpack.pack(0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649))}, ",")"#,
            Ok(
                r#"0,1,127,128,255,256,65535,65536,4294967295,4294967296,-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649"#,
            ),
        ),
        // unpack 64 bit
        (
            r#"return string.format("%.17g %.17g %.17g %.17g", cmsgpack.unpack("\207\255\255\255\255\255\255\255\255\207\128\0\0\0\0\0\0\0\211\128\0\0\0\0\0\0\0\211\0\0\0\0\0\0\0\5"))"#,
            Ok(r#"-1 -9.2233720368547758e+18 -9.2233720368547758e+18 5"#),
        ),
        // unpack raw ints
        (
            r#"return table.concat({cmsgpack.unpack("\204\200\208\200\205\255\254\209\255\254\206\255\255\255\255\210\255\255\255\254\255\224\127")}, ",")"#,
            Ok(r#"200,-56,65534,-2,4294967295,-2,-1,-32,127"#),
        ),
        // unpack floats
        (
            r#"return string.format("%.17g %.17g %.17g %s %s", cmsgpack.unpack("\202\63\192\0\0\203\63\185\153\153\153\153\153\154\202\61\204\204\205\202\127\128\0\0\203\255\240\0\0\0\0\0\0"))"#,
            Ok(r#"1.5 0.10000000000000001 0.10000000149011612 inf -inf"#),
        ),
        // unpack nan bits
        (
            r#"local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
return hex(cmsgpack.pack((cmsgpack.unpack("\202\127\192\0\1")))) .. " " .. hex(cmsgpack.pack((cmsgpack.unpack("\203\127\248\0\0\0\0\0\1"))))"#,
            Ok(r#"cb7ff8000020000000 cb7ff8000000000001"#),
        ),
        // unpack strings
        (
            r#"local a, b, c, d = cmsgpack.unpack("\163abc\217\3xyz\218\0\2hi\219\0\0\0\1!")
return a .. "|" .. b .. "|" .. c .. "|" .. d"#,
            Ok(r#"abc|xyz|hi|!"#),
        ),
        // unpack misc
        (
            r#"local a, b, c, d = cmsgpack.unpack("\192\195\194\192")
return tostring(a) .. tostring(b) .. tostring(c) .. tostring(d) .. select('#', cmsgpack.unpack("\192\195\194\192"))"#,
            Ok(r#"niltruefalsenil4"#),
        ),
        // unpack arrays
        (
            r#"local t = cmsgpack.unpack("\147\1\146\2\3\161a")
return #t .. t[1] .. #t[2] .. t[2][1] .. t[2][2] .. t[3]"#,
            Ok(r#"31223a"#),
        ),
        // unpack array16 32
        (
            r#"local a, b = cmsgpack.unpack("\220\0\2\1\2\221\0\0\0\1\7")
return #a .. a[2] .. #b .. b[1]"#,
            Ok(r#"2217"#),
        ),
        // unpack maps
        (
            r#"local t = cmsgpack.unpack("\130\161a\1\161b\146\1\2")
return t.a .. #t.b"#,
            Ok(r#"12"#),
        ),
        // unpack map16 32
        (
            r#"local a, b = cmsgpack.unpack("\222\0\1\1\2\223\0\0\0\1\161k\161v")
return a[1] .. b.k"#,
            Ok(r#"2v"#),
        ),
        // unpack nil values
        (
            r#"local t = cmsgpack.unpack("\147\192\192\3")
local m = cmsgpack.unpack("\129\1\192")
local n = 0 for k in pairs(m) do n = n + 1 end
return #t .. " " .. tostring(t[3]) .. " " .. n"#,
            Ok(r#"0 3 0"#),
        ),
        // unpack nil key
        (
            r#"local ok, e = pcall(cmsgpack.unpack, "\129\192\1") return e"#,
            Ok(r#"table index is nil"#),
        ),
        // unpack nil key position
        (
            r#"return cmsgpack.unpack("\129\192\1")"#,
            Err(r#"table index is nil"#),
        ),
        // unpack nan key
        (
            r#"local ok, e = pcall(cmsgpack.unpack, "\129\203\127\248\0\0\0\0\0\0\1") return e"#,
            Ok(r#"table index is NaN"#),
        ),
        // unpack table key
        (
            r#"local t = cmsgpack.unpack("\129\145\1\2")
for k, v in pairs(t) do return type(k) .. k[1] .. v end"#,
            Ok(r#"table12"#),
        ),
        // unpack empty
        (
            r#"return select('#', cmsgpack.unpack("")) .. "|" .. select('#', cmsgpack.unpack_one("")) .. "|" .. tostring(cmsgpack.unpack_one(""))"#,
            Ok(r#"0|1|-1"#),
        ),
        // unpack missing bytes
        (
            r#"local r = {}
for _, s in ipairs({"\204", "\205\1", "\206\1\1\1", "\207\1", "\202\1", "\203\1", "\217", "\217\5ab", "\218\0", "\219\0\0\0\9abc", "\163ab", "\146\1", "\220\0", "\221\0\0\0\2\1", "\130\1\1\1", "\222\0\1\1", "\223\0\0\0\1"}) do
  local ok, e = pcall(cmsgpack.unpack, s) r[#r + 1] = e
end
return table.concat(r, ";")"#,
            Ok(
                r#"Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input.;Missing bytes in input."#,
            ),
        ),
        // unpack bad format
        (
            r#"local r = {}
for _, b in ipairs({193, 196, 197, 198, 199, 200, 201, 212, 213, 214, 215, 216}) do
  local ok, e = pcall(cmsgpack.unpack, string.char(b, 1, 1, 1, 1, 1)) r[#r + 1] = e
end
return table.concat(r, ";")"#,
            Ok(
                r#"Bad data format in input.;Bad data format in input.;Bad data format in input.;Bad data format in input.;Bad data format in input.;Bad data format in input.;Bad data format in input.;Bad data format in input.;Bad data format in input.;Bad data format in input.;Bad data format in input.;Bad data format in input."#,
            ),
        ),
        // unpack bad format nested
        (
            r#"local ok, e = pcall(cmsgpack.unpack, "\145\193") return e"#,
            Ok(r#"Bad data format in input."#),
        ),
        // unpack error position
        (
            r#"return cmsgpack.unpack("\193")"#,
            Err(r#"user_script:1: Bad data format in input."#),
        ),
        // unpack missing position
        (
            r#"local function f() local x = cmsgpack.unpack("\146") return x end
return f()"#,
            Err(r#"user_script:1: Missing bytes in input."#),
        ),
        // unpack bad arg
        (
            r#"local ok, e = pcall(cmsgpack.unpack, {}) return e"#,
            Ok(r#"bad argument #1 to '?' (string expected, got table)"#),
        ),
        // unpack no arg
        (
            r#"local ok, e = pcall(cmsgpack.unpack) return e"#,
            Ok(r#"bad argument #1 to '?' (string expected, got no value)"#),
        ),
        // unpack number arg
        (
            r#"return table.concat({cmsgpack.unpack(12)}, ",")"#,
            Ok(r#"49,50"#),
        ),
        // unpack extra args
        (
            r#"return table.concat({cmsgpack.unpack("\1\2", "x", 5)}, ",")"#,
            Ok(r#"1,2"#),
        ),
        // unpack_one
        (
            r#"return table.concat({cmsgpack.unpack_one("\1\2\3")}, ",") .. " " .. table.concat({cmsgpack.unpack_one("\1\2\3", 1)}, ",") .. " " .. table.concat({cmsgpack.unpack_one("\1\2\3", 2)}, ",") .. " " .. table.concat({cmsgpack.unpack_one("\1\2\3", 3)}, ",")"#,
            Ok(r#"1,1 2,2 -1,3 -1"#),
        ),
        // unpack_one nested
        (
            r#"local off, t = cmsgpack.unpack_one("\146\1\2\163abc")
local off2, s = cmsgpack.unpack_one("\146\1\2\163abc", off)
return off .. " " .. #t .. " " .. off2 .. " " .. s"#,
            Ok(r#"3 2 -1 abc"#),
        ),
        // unpack_one errors
        (
            r#"local r = {}
local ok, e = pcall(cmsgpack.unpack_one, "\1", -1) r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_one, "\1\2", 3) r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_one, "\1", "x") r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_one, {}, "x") r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_one) r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_one, "\146\1") r[#r + 1] = e
return table.concat(r, ";")"#,
            Ok(
                r#"Invalid request to unpack with offset of -1 and limit of 1.;Start offset 3 greater than input length 2.;bad argument #2 to '?' (number expected, got string);bad argument #2 to '?' (number expected, got string);bad argument #1 to '?' (string expected, got no value);Missing bytes in input."#,
            ),
        ),
        // unpack_one fractional offset
        (
            r#"return table.concat({cmsgpack.unpack_one("\1\2\3", 1.7)}, ",") .. " " .. table.concat({cmsgpack.unpack_one("\1\2\3", "1")}, ",")"#,
            Ok(r#"2,2 2,2"#),
        ),
        // unpack_limit
        (
            r#"return table.concat({cmsgpack.unpack_limit("\1\2\3\4", 2)}, ",") .. " " .. table.concat({cmsgpack.unpack_limit("\1\2\3\4", 2, 2)}, ",") .. " " .. table.concat({cmsgpack.unpack_limit("\1\2\3\4", 10, 1)}, ",") .. " " .. table.concat({cmsgpack.unpack_limit("\1\2\3\4", 0)}, ",") .. " " .. table.concat({cmsgpack.unpack_limit("\1\2\3\4", 0, 1)}, ",") .. " " .. table.concat({cmsgpack.unpack_limit("\1\2\3\4", 1, 4)}, ",")"#,
            Ok(r#"2,1,2 -1,3,4 -1,2,3,4 1,2,3,4 1 -1"#),
        ),
        // unpack_limit errors
        (
            r#"local r = {}
local ok, e = pcall(cmsgpack.unpack_limit, "\1") r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_limit, "\1", -1) r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_limit, "\1\2\3", -1, 2) r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_limit, "\1", 1, 9) r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_limit, "\1", {}) r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_limit, "\1", 1, {}) r[#r + 1] = e
ok, e = pcall(cmsgpack.unpack_limit, "\1", 2^40) r[#r + 1] = tostring(ok)
ok, e = pcall(cmsgpack.unpack_limit, "\1", 1, 2^32) r[#r + 1] = e
return table.concat(r, ";")"#,
            Ok(
                r#"bad argument #2 to '?' (number expected, got no value);Invalid request to unpack with offset of 0 and limit of 1.;Invalid request to unpack with offset of 2 and limit of 3.;Start offset 9 greater than input length 1.;bad argument #2 to '?' (number expected, got table);bad argument #3 to '?' (number expected, got table);true;Start offset 0 greater than input length 1."#,
            ),
        ),
        // unpack many values
        (
            r#"local s = string.rep("\1", 7999)
return tostring(select('#', cmsgpack.unpack(s)))"#,
            Ok(r#"7999"#),
        ),
        // unpack too many values
        (
            r#"local ok, e = pcall(cmsgpack.unpack, string.rep("\1", 8000)) return e"#,
            Ok(
                r#"stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#,
            ),
        ),
        // unpack too many values extra arg
        (
            r#"local ok, e = pcall(cmsgpack.unpack, string.rep("\1", 7999), 1) return e"#,
            Ok(
                r#"stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#,
            ),
        ),
        // unpack_limit many values
        (
            r#"return tostring(select('#', cmsgpack.unpack_limit(string.rep("\1", 9000), 7998)))"#,
            Ok(r#"7999"#),
        ),
        // unpack_limit too many values
        (
            r#"local ok, e = pcall(cmsgpack.unpack_limit, string.rep("\1", 9000), 7999) return e"#,
            Ok(r#"stack overflow (in function mp_unpack_full)"#),
        ),
        // unpack many strings
        (
            r#"local t = {cmsgpack.unpack(string.rep("\161a", 7999))} return #t .. t[7999]"#,
            Ok(r#"7999a"#),
        ),
        // unpack deep arrays
        (
            r#"local n = 3999
local t = cmsgpack.unpack(string.rep("\145", n) .. "\1")
local d = 0 while type(t) == "table" do t = t[1] d = d + 1 end
return d .. " " .. t"#,
            Ok(r#"3999 1"#),
        ),
        // unpack too deep arrays
        (
            r#"local ok, e = pcall(cmsgpack.unpack, string.rep("\145", 4000) .. "\1") return e"#,
            Ok(r#"stack overflow (in function mp_decode_to_lua_array)"#),
        ),
        // unpack deep maps
        (
            r#"local n = 3999
local t = cmsgpack.unpack(string.rep("\129\1", n) .. "\1")
local d = 0 while type(t) == "table" do t = t[1] d = d + 1 end
return d .. " " .. t"#,
            Ok(r#"3999 1"#),
        ),
        // unpack too deep maps
        (
            r#"local ok, e = pcall(cmsgpack.unpack, string.rep("\129\1", 4000) .. "\1") return e"#,
            Ok(
                r#"stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#,
            ),
        ),
        // unpack deep map keys
        (
            r#"local ok, e = pcall(cmsgpack.unpack, string.rep("\129", 4000) .. "\1") return e"#,
            Ok(r#"Missing bytes in input."#),
        ),
        // unpack deep empty array
        (
            r#"local ok, e = pcall(cmsgpack.unpack, string.rep("\145", 3999) .. "\144") return tostring(ok) .. tostring(e)"#,
            Ok(r#"falsestack overflow (in function mp_decode_to_lua_array)"#),
        ),
        // unpack deep empty array over
        (
            r#"local ok, e = pcall(cmsgpack.unpack, string.rep("\145", 4000) .. "\144") return tostring(ok) .. tostring(e)"#,
            Ok(r#"falsestack overflow (in function mp_decode_to_lua_array)"#),
        ),
        // unpack deep truncated
        (
            r#"local ok, e = pcall(cmsgpack.unpack, string.rep("\145", 100000)) return e"#,
            Ok(r#"stack overflow (in function mp_decode_to_lua_array)"#),
        ),
        // round trip
        (
            r#"local v = {1, -1, 1.5, "str", {a = {1, 2, {b = "c"}}, [5] = false}, true, 2^40, -2^40, 1e-300}
local p = cmsgpack.pack(v)
return cmsgpack.pack(cmsgpack.unpack(p)) == p and "same" or "different""#,
            Ok(r#"same"#),
        ),
        // metadata
        (
            r#"return cmsgpack._NAME .. "|" .. cmsgpack._VERSION .. "|" .. cmsgpack._COPYRIGHT .. "|" .. cmsgpack._DESCRIPTION"#,
            Ok(
                r#"cmsgpack|lua-cmsgpack 0.4.0|Copyright (C) 2012, Salvatore Sanfilippo|MessagePack C implementation for Lua"#,
            ),
        ),
        // contents
        (
            r#"local n = {} for k in pairs(cmsgpack) do n[#n + 1] = k end table.sort(n) return table.concat(n, ",")"#,
            Ok(r#"_COPYRIGHT,_DESCRIPTION,_NAME,_VERSION,pack,unpack,unpack_limit,unpack_one"#),
        ),
        // method call errors
        (
            r#"local ok, e = pcall(function() return cmsgpack:unpack_limit() end) return e"#,
            Ok(
                r#"user_script:1: bad argument #1 to 'unpack_limit' (number expected, got no value)"#,
            ),
        ),
        // cmsgpack order
        (
            r#"local n = {} for k in pairs(cmsgpack) do n[#n + 1] = k end return table.concat(n, ",")"#,
            Ok(r#"_DESCRIPTION,pack,_NAME,unpack,_COPYRIGHT,_VERSION,unpack_one,unpack_limit"#),
        ),
    ];
    // END REDIS CASES

    use super::super::bit::support::testing::{call, lua_equal, to_lua, tv_strategy};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn pack_unpack_round_trip(tv in tv_strategy(any::<f64>().boxed())) {
            let lua = lua();
            let v = to_lua(&lua, &tv);
            let packed = call(&lua, "cmsgpack", "pack", v.clone()).unwrap();
            let back = call(&lua, "cmsgpack", "unpack", packed[0].clone()).unwrap();
            prop_assert_eq!(back.len(), 1);
            prop_assert!(lua_equal(&v, &back[0]));
            let again = call(&lua, "cmsgpack", "pack", back[0].clone()).unwrap();
            prop_assert_eq!(packed[0].to_string().ok().map(|s| s.len()), again[0].to_string().ok().map(|s| s.len()));
        }

        #[test]
        fn unpack_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..48), n in 0i64..4) {
            let lua = lua();
            let s = lua.create_string(&bytes).unwrap();
            for result in [
                call(&lua, "cmsgpack", "unpack", s.clone()),
                call(&lua, "cmsgpack", "unpack_one", (s.clone(), n)),
                call(&lua, "cmsgpack", "unpack_limit", (s.clone(), n, n)),
            ] {
                // Failures are the C library's plain string errors, never mlua errors.
                if let Err(e) = result {
                    prop_assert!(!e.starts_with('<'), "{}", e);
                }
            }
        }
    }

    #[test]
    fn matches_redis() {
        super::super::bit::support::testing::check_cases(&lua(), CASES);
    }
}
