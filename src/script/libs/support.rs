//! What the four script libraries share, so each can behave exactly like its C original:
//!
//! - the bridge that makes a Rust function a Lua 5.1 C function whose errors are plain strings,
//!   with `luaL_error`'s position prefix and `luaL_argerror`'s function names (mlua alone would
//!   raise userdata errors, which `pcall` callers in scripts cannot treat as strings);
//! - Lua 5.1's argument checks and conversions (`luaL_checknumber`, `luaL_checklstring`, ...);
//! - the C conversions whose results Redis exposes: x86-64 double to integer casts, glibc's
//!   `strtod` and `printf("%.14g")`;
//! - ways to walk tables and hold thousands of nested tables or results without exhausting
//!   mlua's reference stack (about as small as Lua's C stack, which Redis's limits are made of).
//!
//! Declared from `bit.rs` (the file layout of `libs` is fixed) and used by all four libraries.

use std::ffi::{c_int, c_void};

use mlua::{ffi, Function, LightUserData, Lua, MultiValue, Table, Value};

/// Lua 5.1's `LUAI_MAXCSTACK`: how many stack slots a C function may use. Redis's libraries
/// fail with "stack overflow" messages past it, so they are emulated against this count.
pub(crate) const MAX_C_STACK: i64 = 8000;

/// How a library function failed, mirroring the ways the C libraries raise errors.
pub(crate) enum Raise {
    /// `luaL_error`: the message gets the caller's position ("user_script:1: ") in front.
    Error(Vec<u8>),
    /// `luaL_argerror(narg, msg)`: "bad argument #narg to 'name' (msg)", name as Lua sees it.
    Arg(i32, Vec<u8>),
    /// An error raised by the Lua core inside a C function (e.g. "table index is nil"): the
    /// message is used as is.
    Raw(Vec<u8>),
    /// An error of mlua itself (out of memory, ...), propagated unchanged.
    Lua(mlua::Error),
}

impl From<mlua::Error> for Raise {
    fn from(e: mlua::Error) -> Self {
        Raise::Lua(e)
    }
}

/// The result type of library function bodies.
pub(crate) type LibResult<T> = Result<T, Raise>;

/// Shorthand for a `luaL_error` style failure.
pub(crate) fn error<T>(msg: impl Into<Vec<u8>>) -> LibResult<T> {
    Err(Raise::Error(msg.into()))
}

/// Shorthand for a `luaL_argerror` style failure.
pub(crate) fn arg_error<T>(narg: i32, msg: impl Into<Vec<u8>>) -> LibResult<T> {
    Err(Raise::Arg(narg, msg.into()))
}

/// The address whose light userdata marks "raise this error" results; no Lua value can hold it.
static SENTINEL: u8 = 0;

fn sentinel() -> *mut c_void {
    &SENTINEL as *const u8 as *mut c_void
}

const KIND_WHERE: f64 = 0.0;
const KIND_ARG: f64 = 1.0;
const KIND_RAW: f64 = 2.0;
const KIND_SPREAD: f64 = 3.0;

/// The C function every library function is: it calls the Rust body (its upvalue) and, when that
/// reports an error, raises it from this C frame the way the C libraries do. Only plain values
/// live in this frame, so the `longjmp` of `lua_error` skips no Rust destructor.
unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    unsafe {
        let nargs = ffi::lua_gettop(state);
        if ffi::lua_checkstack(state, 1) == 0 {
            ffi::lua_pushstring(state, c"stack overflow".as_ptr());
            ffi::lua_error(state);
        }
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
        let nres = ffi::lua_gettop(state);
        if nres == 4
            && ffi::lua_type(state, 1) == ffi::LUA_TLIGHTUSERDATA
            && ffi::lua_touserdata(state, 1) == sentinel()
            && ffi::lua_checkstack(state, 3) != 0
        {
            let kind = ffi::lua_tonumber(state, 2);
            if kind == KIND_SPREAD {
                // Results kept in a table (see `Results`): put its items on the stack.
                let n = ffi::lua_tonumber(state, 3) as c_int;
                ffi::lua_replace(state, 1);
                ffi::lua_settop(state, 1);
                if ffi::lua_checkstack(state, n) == 0 {
                    ffi::lua_pushstring(state, c"stack overflow".as_ptr());
                    ffi::lua_error(state);
                }
                for i in 1..=n {
                    ffi::lua_rawgeti(state, 1, ffi::lua_Integer::from(i));
                }
                return n;
            }
            if kind == KIND_ARG {
                let narg = ffi::lua_tonumber(state, 3) as c_int;
                let msg = ffi::lua_tolstring(state, 4, std::ptr::null_mut());
                ffi::luaL_argerror(state, narg, msg);
            } else if kind == KIND_WHERE {
                ffi::luaL_where(state, 1);
                ffi::lua_pushvalue(state, 4);
                ffi::lua_concat(state, 2);
            } else {
                ffi::lua_pushvalue(state, 4);
            }
            ffi::lua_error(state);
        }
        nres
    }
}

/// Makes a Lua function out of a library body: for Lua code it is a C function whose errors are
/// the strings the C library would raise (so `pcall` returns them, with the same positions and
/// argument names), while the body itself is safe Rust.
pub(crate) fn lib_function<F>(lua: &Lua, body: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, Vec<Value>) -> LibResult<MultiValue> + 'static,
{
    let inner = lua.create_function(move |lua, args: MultiValue| {
        let (kind, narg, msg) = match body(lua, args.into_vec()) {
            Ok(values) => return Ok(values),
            Err(Raise::Lua(e)) => return Err(e),
            Err(Raise::Error(msg)) => (KIND_WHERE, 0, msg),
            Err(Raise::Arg(narg, msg)) => (KIND_ARG, narg, msg),
            Err(Raise::Raw(msg)) => (KIND_RAW, 0, msg),
        };
        Ok(MultiValue::from_vec(vec![
            Value::LightUserData(LightUserData(sentinel())),
            Value::Number(kind),
            Value::Number(f64::from(narg)),
            Value::String(lua.create_string(msg)?),
        ]))
    })?;
    // SAFETY: the closure only pops the function exec_raw pushed and pushes the closure made of it.
    unsafe {
        lua.exec_raw::<Function>(inner, |state| {
            ffi::lua_pushcclosure(state, trampoline, 1);
        })
    }
}

/// Sets `name` in `table` to a library function made by [`lib_function`].
pub(crate) fn set_function<F>(lua: &Lua, table: &Table, name: &str, body: F) -> mlua::Result<()>
where
    F: Fn(&Lua, Vec<Value>) -> LibResult<MultiValue> + 'static,
{
    table.raw_set(name, lib_function(lua, body)?)
}

/// The results of a library function that may return thousands of values (as many as Lua's C
/// stack allows): past a few dozen they are kept in a Lua table, not as one mlua reference each
/// (mlua's reference stack is about as small as Lua's C stack), and spread by the trampoline.
pub(crate) struct Results<'l> {
    lua: &'l Lua,
    small: Vec<Value>,
    table: Option<Table>,
    len: usize,
}

const SMALL_RESULTS: usize = 64;

impl<'l> Results<'l> {
    /// No results yet.
    pub(crate) fn new(lua: &'l Lua) -> Self {
        Results {
            lua,
            small: Vec::new(),
            table: None,
            len: 0,
        }
    }

    /// How many results there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends a result.
    pub(crate) fn push(&mut self, v: Value) -> mlua::Result<()> {
        if self.table.is_none() && self.small.len() == SMALL_RESULTS {
            let table = self.lua.create_table()?;
            for (i, v) in self.small.drain(..).enumerate() {
                table.raw_set(i + 1, v)?;
            }
            self.table = Some(table);
        }
        self.len += 1;
        match &self.table {
            Some(table) => table.raw_set(self.len, v),
            None => {
                self.small.push(v);
                Ok(())
            }
        }
    }

    /// Replaces result `i` (1-based, at most `len`).
    pub(crate) fn set(&mut self, i: usize, v: Value) -> mlua::Result<()> {
        match &self.table {
            Some(table) => table.raw_set(i, v),
            None => {
                if let Some(slot) = i.checked_sub(1).and_then(|i| self.small.get_mut(i)) {
                    *slot = v;
                }
                Ok(())
            }
        }
    }

    /// The last result (nil when there is none).
    pub(crate) fn last(&self) -> mlua::Result<Value> {
        match &self.table {
            Some(table) => table.raw_get(self.len),
            None => Ok(self.small.last().cloned().unwrap_or(Value::Nil)),
        }
    }

    /// Drops the last result.
    pub(crate) fn pop(&mut self) -> mlua::Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        match &self.table {
            Some(table) => table.raw_set(self.len, Value::Nil)?,
            None => {
                self.small.pop();
            }
        }
        self.len -= 1;
        Ok(())
    }

    /// The values to return from the body.
    pub(crate) fn finish(self) -> LibResult<MultiValue> {
        Ok(match self.table {
            None => MultiValue::from_vec(self.small),
            Some(table) => MultiValue::from_vec(vec![
                Value::LightUserData(LightUserData(sentinel())),
                Value::Number(KIND_SPREAD),
                Value::Number(self.len as f64),
                Value::Table(table),
            ]),
        })
    }
}

/// Depth from which the containers below the innermost one are parked in a Lua table.
const SPILL_FROM: usize = 64;

/// The open containers of an iterative encoder or decoder: per level some Rust state `F` plus
/// a table and one more Lua value (a key). Only the innermost level keeps its Lua values as
/// mlua references; from [`SPILL_FROM`] levels down the outer ones are parked in one Lua table,
/// so nesting as deep as Lua's C stack allows (about 8000) cannot exhaust mlua's references.
pub(crate) struct DeepStack<'l, F> {
    lua: &'l Lua,
    frames: Vec<(F, Option<(Table, Value)>)>,
    parked: Option<Table>,
}

impl<'l, F> DeepStack<'l, F> {
    /// An empty stack.
    pub(crate) fn new(lua: &'l Lua) -> Self {
        DeepStack {
            lua,
            frames: Vec::new(),
            parked: None,
        }
    }

    /// How many levels are open.
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// Opens a level.
    pub(crate) fn push(&mut self, state: F, table: Table, extra: Value) -> mlua::Result<()> {
        let n = self.frames.len();
        if n >= SPILL_FROM {
            if let Some((t, e)) = self.frames[n - 1].1.take() {
                let parked = match &self.parked {
                    Some(p) => p,
                    None => self.parked.insert(self.lua.create_table()?),
                };
                parked.raw_set(2 * n - 1, t)?;
                parked.raw_set(2 * n, e)?;
            }
        }
        self.frames.push((state, Some((table, extra))));
        Ok(())
    }

    /// The innermost level: its state, table and extra value.
    pub(crate) fn top(&mut self) -> Option<(&mut F, &Table, &mut Value)> {
        match self.frames.last_mut() {
            Some((state, Some((table, extra)))) => Some((state, &*table, extra)),
            _ => None,
        }
    }

    /// Closes the innermost level, returning its state, table and extra value.
    pub(crate) fn pop(&mut self) -> mlua::Result<Option<(F, Table, Value)>> {
        let Some((state, held)) = self.frames.pop() else {
            return Ok(None);
        };
        let n = self.frames.len();
        if let (Some((_, slot @ None)), Some(parked)) = (self.frames.last_mut(), &self.parked) {
            let t: Table = parked.raw_get(2 * n - 1)?;
            let e: Value = parked.raw_get(2 * n)?;
            parked.raw_set(2 * n - 1, Value::Nil)?;
            parked.raw_set(2 * n, Value::Nil)?;
            *slot = Some((t, e));
        }
        Ok(held.map(|(t, e)| (state, t, e)))
    }
}

/// One result.
pub(crate) fn ret1(v: Value) -> LibResult<MultiValue> {
    Ok(MultiValue::from_vec(vec![v]))
}

/// A table walked in `lua_next` order, a few pairs per protected call, so an encoder can stop
/// at any pair (to descend into a nested table) and resume later while holding only the pairs
/// of the current batch (a `Vec` of all pairs would exhaust mlua's reference stack).
pub(crate) struct PairWalk {
    batch: std::collections::VecDeque<(Value, Value)>,
    /// The key to continue after (nil before the first batch).
    key: Value,
    ended: bool,
}

impl PairWalk {
    /// A walk from the first pair.
    pub(crate) fn new() -> Self {
        PairWalk {
            batch: Default::default(),
            key: Value::Nil,
            ended: false,
        }
    }

    /// The next pair, `None` at the end; `batch` pairs are fetched per call into Lua.
    pub(crate) fn next(
        &mut self,
        lua: &Lua,
        table: &Table,
        batch: usize,
    ) -> mlua::Result<Option<(Value, Value)>> {
        if self.batch.is_empty() && !self.ended {
            let (pairs, ended) = next_pairs(
                lua,
                table,
                std::mem::replace(&mut self.key, Value::Nil),
                batch,
            )?;
            self.ended = ended;
            if let Some((k, _)) = pairs.last() {
                self.key = k.clone();
            }
            self.batch.extend(pairs);
        }
        Ok(self.batch.pop_front())
    }
}

/// `lua_next` on `table` after `key`, without metamethods; `None` at the end.
pub(crate) fn raw_next(
    lua: &Lua,
    table: &Table,
    key: Value,
) -> mlua::Result<Option<(Value, Value)>> {
    let (mut pairs, _) = next_pairs(lua, table, key, 1)?;
    Ok(pairs.pop())
}

/// Up to `n` pairs of `table` after `key` (`lua_next`, no metamethods), and whether the walk
/// reached the end.
fn next_pairs(
    lua: &Lua,
    table: &Table,
    key: Value,
    n: usize,
) -> mlua::Result<(Vec<(Value, Value)>, bool)> {
    let n = n.clamp(1, 64) as c_int;
    // SAFETY: exec_raw pushes the table (index 1) and the key (index 2) on a fresh protected
    // frame. Each lua_next pops the key on top and pushes a pair, whose key is copied to the top
    // for the next call; at the end it pushes nothing. The copy is not made after the n-th pair,
    // so the stack ends as the table, the pairs, and a boolean "ended"; the table is removed.
    // Space for all of it is checked first; errors (invalid key) are caught by exec_raw.
    let values: MultiValue = unsafe {
        lua.exec_raw((table, key), move |state| {
            if ffi::lua_checkstack(state, 2 * n + 4) == 0 {
                // No room: a nil flag reports it.
                ffi::lua_settop(state, 0);
                ffi::lua_pushnil(state);
                return;
            }
            let mut ended = false;
            let mut count = 0;
            while count < n {
                if ffi::lua_next(state, 1) == 0 {
                    ended = true;
                    break;
                }
                count += 1;
                if count < n {
                    ffi::lua_pushvalue(state, -2);
                }
            }
            ffi::lua_pushboolean(state, c_int::from(ended));
            ffi::lua_remove(state, 1);
        })?
    };
    let mut values = values.into_vec();
    let ended = match values.pop() {
        Some(Value::Boolean(ended)) => ended,
        _ => return Err(mlua::Error::StackError),
    };
    let mut pairs = Vec::with_capacity(values.len() / 2);
    let mut it = values.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k, v));
    }
    let ended = ended || pairs.is_empty();
    Ok((pairs, ended))
}

/// `lua_next` over the whole table in one protected call (much cheaper than a call per pair),
/// until `f` returns `false`; for passes that do not descend into nested tables.
pub(crate) fn for_each_until(
    table: &Table,
    mut f: impl FnMut(Value, Value) -> LibResult<bool>,
) -> LibResult<()> {
    let mut outcome: LibResult<()> = Ok(());
    let mut stopped = false;
    // mlua's for_each stops at the first error the callback returns; a placeholder one is used
    // to stop early, and the real outcome is kept aside.
    let walked = table.for_each(|k: Value, v: Value| {
        let result = f(k, v);
        match result {
            Ok(true) => return Ok(()),
            Ok(false) => stopped = true,
            Err(e) => outcome = Err(e),
        }
        Err(mlua::Error::RuntimeError(String::new()))
    });
    match walked {
        Ok(()) => outcome,
        Err(_) if stopped => Ok(()),
        Err(_) if outcome.is_err() => outcome,
        Err(e) => Err(e.into()),
    }
}

/// The type name Lua 5.1's `luaL_typename` gives a value, "no value" for a missing argument.
pub(crate) fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::LightUserData(_)) | Some(Value::UserData(_)) => "userdata",
        Some(Value::Integer(_)) | Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// `luaL_typerror`: "bad argument #narg to 'f' (tname expected, got type)".
pub(crate) fn type_error<T>(args: &[Value], narg: usize, tname: &str) -> LibResult<T> {
    let msg = format!("{} expected, got {}", tname, type_name(arg(args, narg)));
    arg_error(narg as i32, msg)
}

/// Argument `n` (1-based), `None` when absent ("none" in Lua's terms).
pub(crate) fn arg(args: &[Value], n: usize) -> Option<&Value> {
    n.checked_sub(1).and_then(|i| args.get(i))
}

/// The number value of a Lua number, as Lua 5.1 holds it (an f64).
pub(crate) fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// `lua_tonumber`: numbers and strings Lua can convert (with Lua's own conversion).
pub(crate) fn to_number(lua: &Lua, v: Option<&Value>) -> LibResult<Option<f64>> {
    Ok(match v {
        None => None,
        Some(v @ Value::String(_)) => lua.coerce_number(v.clone())?,
        Some(v) => as_number(v),
    })
}

/// `luaL_checknumber` on argument `n`.
pub(crate) fn check_number(lua: &Lua, args: &[Value], n: usize) -> LibResult<f64> {
    match to_number(lua, arg(args, n))? {
        Some(x) => Ok(x),
        None => type_error(args, n, "number"),
    }
}

/// `luaL_checkinteger` on argument `n` (Lua 5.1 on x86-64: the number cast to a 64-bit integer).
pub(crate) fn check_integer(lua: &Lua, args: &[Value], n: usize) -> LibResult<i64> {
    check_number(lua, args, n).map(f64_to_i64)
}

/// `luaL_optinteger` on argument `n`: `default` when absent or nil.
pub(crate) fn opt_integer(lua: &Lua, args: &[Value], n: usize, default: i64) -> LibResult<i64> {
    match arg(args, n) {
        None | Some(Value::Nil) => Ok(default),
        Some(_) => check_integer(lua, args, n),
    }
}

/// `luaL_checklstring` on argument `n`: strings, and numbers converted the way Lua does.
pub(crate) fn check_string(lua: &Lua, args: &[Value], n: usize) -> LibResult<mlua::LuaString> {
    match arg(args, n) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ (Value::Number(_) | Value::Integer(_))) => match lua.coerce_string(v.clone())? {
            Some(s) => Ok(s),
            None => type_error(args, n, "string"),
        },
        _ => type_error(args, n, "string"),
    }
}

/// The part of a byte string a C function sees through `const char *`: up to the first NUL.
pub(crate) fn c_str(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// C's `(int64_t)d` as x86-64 computes it: truncation, and INT64_MIN when out of range or NaN.
pub(crate) fn f64_to_i64(d: f64) -> i64 {
    if d.is_nan() || !(-TWO_63..TWO_63).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// C's `(int)d` as x86-64 computes it: truncation, and INT_MIN when out of range or NaN.
pub(crate) fn f64_to_i32(d: f64) -> i32 {
    if d.is_nan() || !(-2_147_483_648.0..2_147_483_648.0).contains(&d) {
        i32::MIN
    } else {
        d as i32
    }
}

/// C's `(uint64_t)d` as gcc compiles it for x86-64 (values from 2^63 go through a subtraction).
pub(crate) fn f64_to_u64(d: f64) -> u64 {
    if d >= TWO_63 {
        (f64_to_i64(d - TWO_63) as u64) ^ (1 << 63)
    } else {
        f64_to_i64(d) as u64
    }
}

/// C's `(float)d` on x86-64, NaN payloads included (truncated, quiet bit set, sign kept).
pub(crate) fn f64_to_f32(d: f64) -> f32 {
    if d.is_nan() {
        let bits = d.to_bits();
        let sign = ((bits >> 63) as u32) << 31;
        let payload = ((bits >> 29) as u32) & 0x007f_ffff;
        f32::from_bits(sign | 0x7fc0_0000 | payload)
    } else {
        d as f32
    }
}

/// C's `(double)f` on x86-64, NaN payloads included.
pub(crate) fn f32_to_f64(f: f32) -> f64 {
    if f.is_nan() {
        let bits = f.to_bits();
        let sign = u64::from(bits >> 31) << 63;
        let payload = u64::from(bits & 0x007f_ffff) << 29;
        f64::from_bits(sign | 0x7ff8_0000_0000_0000 | payload)
    } else {
        f64::from(f)
    }
}

/// `printf("%.<prec>g", x)` as glibc prints it (exact decimal value, ties to even).
pub(crate) fn format_g(x: f64, prec: usize) -> String {
    let p = prec.max(1);
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    if x == 0.0 {
        out.push('0');
        return out;
    }
    // Integers of at most `p` digits print as themselves (the common case, made cheap).
    let a = x.abs();
    if a.fract() == 0.0 && a < 10f64.powi(p.min(15) as i32) {
        out.push_str(&(a as u64).to_string());
        return out;
    }
    // Rust's exponent form rounds the exact value to p digits, ties to even, like glibc.
    let sci = format!("{:.*e}", p - 1, x.abs());
    let (mantissa, exp) = match sci.split_once('e') {
        Some(parts) => parts,
        None => return sci,
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let trim = |d: &[u8]| -> String {
        let end = d.iter().rposition(|&c| c != b'0').map_or(0, |i| i + 1);
        String::from_utf8_lossy(&d[..end]).into_owned()
    };
    if exp < -4 || exp >= p as i32 {
        out.push(char::from(digits[0]));
        let frac = trim(&digits[1..]);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(&frac);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        out.push_str(&String::from_utf8_lossy(&digits[..int_len]));
        let frac = trim(&digits[int_len..]);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(&frac);
        }
    } else {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&trim(&digits));
    }
    out
}

/// glibc's `strtod` in the C locale on `s` (the caller ensures no leading white space matters):
/// the value and how many bytes it used, `None` when no number starts there. Bytes past the end
/// are treated as NUL, as C sees the end of a Lua string.
pub(crate) fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    let negative = match at(0) {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let signed = |v: f64| if negative { -v } else { v };
    let lower_is = |from: usize, word: &[u8]| {
        word.iter()
            .enumerate()
            .all(|(k, &w)| at(from + k).to_ascii_lowercase() == w)
    };
    if lower_is(i, b"inf") {
        let used = if lower_is(i, b"infinity") {
            i + 8
        } else {
            i + 3
        };
        return Some((signed(f64::INFINITY), used));
    }
    if lower_is(i, b"nan") {
        let mut used = i + 3;
        let mut value = f64::NAN;
        if at(used) == b'(' {
            let start = used + 1;
            let mut end = start;
            while at(end).is_ascii_alphanumeric() || at(end) == b'_' {
                end += 1;
            }
            if at(end) == b')' {
                if let Some(payload) = nan_payload(&s[start..end]) {
                    let payload = payload & 0x0007_ffff_ffff_ffff;
                    if payload != 0 {
                        value = f64::from_bits(0x7ff8_0000_0000_0000 | payload);
                    }
                }
                used = end + 1;
            }
        }
        return Some((signed(value), used));
    }
    if at(i) == b'0' && (at(i + 1) | 0x20) == b'x' {
        if let Some((v, used)) = hex_float(s, i + 2) {
            return Some((signed(v), used));
        }
        // "0x" without hex digits: just the zero.
        return Some((signed(0.0), i + 1));
    }
    // Decimal: digits [. digits] [e [sign] digits], at least one mantissa digit.
    let mut digits: Vec<u8> = Vec::new();
    let mut int_digits: i64 = 0;
    let mut leading_zeros_after_point: i64 = 0;
    let mut seen_digit = false;
    while at(i).is_ascii_digit() {
        seen_digit = true;
        if !(digits.is_empty() && at(i) == b'0') {
            digits.push(at(i));
            int_digits += 1;
        }
        i += 1;
    }
    if at(i) == b'.' {
        let mut j = i + 1;
        let mut frac_seen = false;
        while at(j).is_ascii_digit() {
            frac_seen = true;
            if digits.is_empty() && at(j) == b'0' {
                leading_zeros_after_point += 1;
            } else {
                digits.push(at(j));
            }
            j += 1;
        }
        if seen_digit || frac_seen {
            seen_digit = true;
            i = j;
        }
    }
    if !seen_digit {
        return None;
    }
    let mut exp: i64 = 0;
    if (at(i) | 0x20) == b'e' {
        let mut j = i + 1;
        let exp_negative = match at(j) {
            b'-' => {
                j += 1;
                true
            }
            b'+' => {
                j += 1;
                false
            }
            _ => false,
        };
        if at(j).is_ascii_digit() {
            while at(j).is_ascii_digit() {
                exp = (exp * 10 + i64::from(at(j) - b'0')).min(1 << 40);
                j += 1;
            }
            if exp_negative {
                exp = -exp;
            }
            i = j;
        }
    }
    // Value = 0.DIGITS * 10^e10, with DIGITS starting with a non-zero digit.
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return Some((signed(0.0), i));
    }
    let e10 = exp + int_digits - leading_zeros_after_point;
    let value = if e10 > 400 {
        f64::INFINITY
    } else if e10 < -400 {
        0.0
    } else {
        let mut text = String::with_capacity(digits.len() + 8);
        text.push_str("0.");
        text.push_str(&String::from_utf8_lossy(&digits));
        text.push('e');
        text.push_str(&e10.to_string());
        text.parse::<f64>().unwrap_or(0.0)
    };
    Some((signed(value), i))
}

/// glibc's NaN payload: the `n-char-sequence` read by `strtoull(.., 0)`, only if it is all used.
fn nan_payload(seq: &[u8]) -> Option<u64> {
    let (digits, radix) = if seq.len() >= 2 && seq[0] == b'0' && (seq[1] | 0x20) == b'x' {
        (&seq[2..], 16)
    } else if seq.first() == Some(&b'0') {
        (seq, 8)
    } else {
        (seq, 10)
    };
    if digits.is_empty() {
        // "0x" alone leaves the "x" unread; an empty sequence is a plain NaN.
        return None;
    }
    let mut value: u64 = 0;
    for &c in digits {
        let d = char::from(c).to_digit(radix)?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .unwrap_or(u64::MAX);
    }
    Some(value)
}

/// A hexadecimal float after "0x" at `start`: hex digits [. hex digits] [p [sign] digits],
/// correctly rounded; `None` when there is no hex digit.
fn hex_float(s: &[u8], start: usize) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let hex = |c: u8| char::from(c).to_digit(16).map(u64::from);
    let mut i = start;
    let mut mantissa: u64 = 0;
    let mut sig_digits = 0;
    let mut sticky = false;
    let mut exp2: i64 = 0;
    let mut seen = false;
    while let Some(d) = hex(at(i)) {
        seen = true;
        if mantissa == 0 && d == 0 {
            // leading zero
        } else if sig_digits < 16 {
            mantissa = mantissa << 4 | d;
            sig_digits += 1;
        } else {
            sticky |= d != 0;
            exp2 += 4;
        }
        i += 1;
    }
    if at(i) == b'.' {
        let mut j = i + 1;
        let mut frac_seen = false;
        while let Some(d) = hex(at(j)) {
            frac_seen = true;
            if mantissa == 0 && d == 0 {
                exp2 -= 4;
            } else if sig_digits < 16 {
                mantissa = mantissa << 4 | d;
                sig_digits += 1;
                exp2 -= 4;
            } else {
                sticky |= d != 0;
            }
            j += 1;
        }
        if seen || frac_seen {
            seen = true;
            i = j;
        }
    }
    if !seen {
        return None;
    }
    if (at(i) | 0x20) == b'p' {
        let mut j = i + 1;
        let negative = match at(j) {
            b'-' => {
                j += 1;
                true
            }
            b'+' => {
                j += 1;
                false
            }
            _ => false,
        };
        if at(j).is_ascii_digit() {
            let mut e: i64 = 0;
            while at(j).is_ascii_digit() {
                e = (e * 10 + i64::from(at(j) - b'0')).min(1 << 40);
                j += 1;
            }
            exp2 += if negative { -e } else { e };
            i = j;
        }
    }
    Some((compose_f64(mantissa, exp2, sticky), i))
}

/// `mantissa * 2^exp2` (plus a non-zero fraction below the last bit when `sticky`) as the
/// nearest f64, ties to even, with subnormals and overflow to infinity.
fn compose_f64(mantissa: u64, exp2: i64, sticky: bool) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let lz = mantissa.leading_zeros();
    let m = mantissa << lz;
    let exp2 = exp2 - i64::from(lz);
    // value = m * 2^exp2, m in [2^63, 2^64): binary exponent of the leading bit.
    let e = exp2 + 63;
    if e > 1023 {
        return f64::INFINITY;
    }
    let shift: i64 = if e >= -1022 { 11 } else { 11 + (-1022 - e) };
    if shift > 64 {
        return 0.0;
    }
    let (kept, rest_half, rest_more) = if shift == 64 {
        (0u64, m >> 63 == 1, (m << 1) != 0 || sticky)
    } else {
        let kept = m >> shift;
        let rem = m & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        (kept, rem >= half, (rem & (half - 1)) != 0 || sticky)
    };
    let round_up = rest_half && (rest_more || kept & 1 == 1);
    let kept = kept + u64::from(round_up);
    let bits = if e >= -1022 {
        // kept in [2^52, 2^53]; a carry to 2^53 moves into the exponent as it should.
        (((e + 1023) as u64) << 52) + kept - (1u64 << 52)
    } else {
        kept
    };
    f64::from_bits(bits)
}

/// What the libraries' tests share: running Lua snippets as Redis runs scripts.
#[cfg(test)]
pub(crate) mod testing {
    use mlua::{Lua, Value};
    use proptest::prelude::*;

    /// Runs `code` as Redis names scripts, returning the string result or the error message.
    pub(crate) fn eval(lua: &Lua, code: &str) -> Result<String, String> {
        match lua.load(code).set_name("@user_script").eval::<Value>() {
            Ok(Value::String(s)) => Ok(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
            Ok(other) => Ok(format!("<{other:?}>")),
            // mlua appends a traceback to errors that escape the chunk; Redis shows none.
            Err(mlua::Error::RuntimeError(msg)) => {
                Err(match msg.split_once("\nstack traceback:") {
                    Some((head, _)) => head.to_string(),
                    None => msg,
                })
            }
            Err(e) => Err(format!("<{e}>")),
        }
    }

    /// Checks every (code, expected) pair, reporting all mismatches at once.
    pub(crate) fn check_cases(lua: &Lua, cases: &[(&str, Result<&str, &str>)]) {
        let mut failures = Vec::new();
        for (code, want) in cases {
            let got = eval(lua, code);
            let want = want.map(str::to_string).map_err(str::to_string);
            if got != want {
                failures.push(format!("case: {code}\n  got:  {got:?}\n  want: {want:?}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases differ:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }

    /// Calls `lib.func(args...)`, returning its results or its error message.
    pub(crate) fn call(
        lua: &Lua,
        lib: &str,
        func: &str,
        args: impl mlua::IntoLuaMulti,
    ) -> Result<Vec<Value>, String> {
        let f: mlua::Function = lua
            .globals()
            .get::<mlua::Table>(lib)
            .and_then(|t| t.get(func))
            .map_err(|e| e.to_string())?;
        match f.call::<mlua::MultiValue>(args) {
            Ok(values) => Ok(values.into_vec()),
            Err(mlua::Error::RuntimeError(msg)) => Err(msg),
            Err(e) => Err(format!("<{e}>")),
        }
    }

    /// A Lua value to generate in property tests (tables without nil holes).
    #[derive(Debug, Clone)]
    pub(crate) enum Tv {
        Bool(bool),
        Num(f64),
        Str(Vec<u8>),
        Arr(Vec<Tv>),
        Map(Vec<(Vec<u8>, Tv)>),
    }

    /// Values nested up to 4 deep, with numbers from `num`.
    pub(crate) fn tv_strategy(num: BoxedStrategy<f64>) -> BoxedStrategy<Tv> {
        use proptest::collection::vec;
        let leaf = prop_oneof![
            any::<bool>().prop_map(Tv::Bool),
            num.prop_map(Tv::Num),
            vec(any::<u8>(), 0..40).prop_map(Tv::Str),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                vec(inner.clone(), 1..8).prop_map(Tv::Arr),
                vec((vec(any::<u8>(), 0..10), inner), 0..8).prop_map(Tv::Map),
            ]
        })
        .boxed()
    }

    /// Builds the Lua value.
    pub(crate) fn to_lua(lua: &Lua, tv: &Tv) -> Value {
        match tv {
            Tv::Bool(b) => Value::Boolean(*b),
            Tv::Num(n) => Value::Number(*n),
            Tv::Str(s) => Value::String(lua.create_string(s).unwrap()),
            Tv::Arr(items) => {
                let t = lua.create_table().unwrap();
                for (i, item) in items.iter().enumerate() {
                    t.raw_set(i + 1, to_lua(lua, item)).unwrap();
                }
                Value::Table(t)
            }
            Tv::Map(pairs) => {
                let t = lua.create_table().unwrap();
                for (k, v) in pairs {
                    t.raw_set(lua.create_string(k).unwrap(), to_lua(lua, v))
                        .unwrap();
                }
                Value::Table(t)
            }
        }
    }

    /// Deep equality of plain values (NaN equals NaN, -0 equals 0).
    pub(crate) fn lua_equal(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Table(x), Value::Table(y)) => {
                let count = |t: &mlua::Table| t.pairs::<Value, Value>().count();
                count(x) == count(y)
                    && x.pairs::<Value, Value>().all(|pair| {
                        let (k, v) = pair.unwrap();
                        lua_equal(&v, &y.raw_get::<Value>(k).unwrap())
                    })
            }
            (Value::String(x), Value::String(y)) => x.as_bytes() == y.as_bytes(),
            (Value::Boolean(x), Value::Boolean(y)) => x == y,
            (Value::Nil, Value::Nil) => true,
            _ => match (super::as_number(a), super::as_number(b)) {
                (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g_matches_c_printf() {
        // Compared with Lua's own string.format, which calls the C library's printf.
        let lua = Lua::new();
        let fmt: Function = lua
            .load("return function(p, x) return string.format('%.' .. p .. 'g', x) end")
            .eval()
            .unwrap();
        let mut samples = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            2.5,
            1e-5,
            1e-4,
            123456789012345.0,
            1e14,
            1e15,
            1e21,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            0.1,
            1.0 / 3.0,
            100.0,
            1e300,
            123.456,
            9.99999999999995,
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let x = f64::from_bits(seed);
            if x.is_finite() {
                samples.push(x);
            }
            samples.push((seed % 100_000_000) as f64 / 1000.0);
        }
        // Integers around powers of ten (the integer fast path's boundaries).
        for e in 0..17 {
            let t = 10f64.powi(e);
            samples.extend([t - 1.0, t, t + 1.0, -t, -(t - 1.0), t * 5.0]);
        }
        for x in samples {
            for p in [1usize, 2, 3, 6, 13, 14] {
                let want: String = fmt.call((p, x)).unwrap();
                assert_eq!(format_g(x, p), want, "x={x:e} p={p}");
            }
        }
    }

    #[test]
    fn strtod_matches_lua_tonumber() {
        // Lua 5.1's tonumber is the C library's strtod (glibc) on the whole string.
        let lua = Lua::new();
        let cases = [
            "1",
            "-1",
            "1.5",
            "1e5",
            "1E+5",
            "1e-5",
            ".5",
            "5.",
            "0x10",
            "0X1p4",
            "0x1.8p1",
            "0x.8",
            "1e400",
            "-1e400",
            "1e-400",
            "4.9e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "0x1.fffffffffffff8p1023",
            "0x1.fffffffffffff7ffp1023",
            "0x1p-1074",
            "0x1p-1075",
            "0x1.1p-1075",
            "0x3p-1076",
            "123456789012345678901234567890",
            "0.000000000000000000000000000001234",
            "179769313486231580793728971405301e276",
            "0x123456789abcdef123",
            "0x0.000000000000000000001p3",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "00012",
            "-0",
            "0x",
        ];
        for c in cases {
            let want: Option<f64> = lua.load(format!("return tonumber('{c}')")).eval().unwrap();
            let got = strtod(c.as_bytes())
                .filter(|&(_, used)| used == c.len())
                .map(|(v, _)| v);
            match (want, got) {
                (Some(w), Some(g)) => assert_eq!(w.to_bits(), g.to_bits(), "{c}"),
                (None, None) => {}
                // Lua rejects "0x" (its strtoul retry reads nothing) while strtod reads "0".
                (None, Some(_)) if c == "0x" => {}
                other => panic!("{c}: {other:?}"),
            }
        }
    }

    #[test]
    fn strtod_prefixes() {
        assert_eq!(strtod(b"1e"), Some((1.0, 1)));
        assert_eq!(strtod(b"1e+x"), Some((1.0, 1)));
        assert_eq!(strtod(b"-"), None);
        assert_eq!(strtod(b"infinit").map(|v| v.1), Some(3));
        assert_eq!(strtod(b"-Infinity").map(|v| v.1), Some(9));
        assert_eq!(strtod(b"nan(12").map(|v| v.1), Some(3));
        assert_eq!(
            strtod(b"nan(12)").map(|v| v.0.to_bits()),
            Some(0x7ff8_0000_0000_000c)
        );
        assert_eq!(strtod(b"0x.p1"), Some((0.0, 1)));
        assert_eq!(strtod(b"1.5.5"), Some((1.5, 3)));
    }

    #[test]
    fn c_casts() {
        assert_eq!(f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(f64_to_i64(1e19), i64::MIN);
        assert_eq!(f64_to_i64(-1.9), -1);
        assert_eq!(f64_to_i32(3e9), i32::MIN);
        assert_eq!(f64_to_u64(2f64.powi(64)), 0);
        assert_eq!(f64_to_u64(f64::INFINITY), 0);
        assert_eq!(f64_to_u64(1.5 * 2f64.powi(63)), 0xc000_0000_0000_0000);
        assert_eq!(f64_to_u64(f64::NAN), 1 << 63);
        assert_eq!(
            f64_to_f32(f64::from_bits(0xfff8_0000_0000_0000)).to_bits(),
            0xffc0_0000
        );
        assert_eq!(
            f32_to_f64(f32::from_bits(0xffc0_0001)).to_bits(),
            0xfff8_0000_2000_0000
        );
    }
}
