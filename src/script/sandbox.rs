//! The Lua VM a script runs in, set up as Redis 7.0 sets up its own: Lua 5.1's base, table,
//! string and math libraries, `cjson`, `cmsgpack`, `bit` and `struct`, the `redis` API, and no
//! `os`, `io`, `print`, `loadfile`, `dofile`, `getfenv`/`setfenv` or `debug`.
//!
//! Protection: every global, and every library table, is read-only. Stock Lua 5.1 has no read-only
//! tables (Redis patches its Lua for them), so each protected table is an empty proxy whose
//! metatable reads through to the real table and refuses writes; the real tables are reachable
//! from nowhere a script can get at. `rawset`, `rawget`, `next`, `pairs`, `ipairs`,
//! `setmetatable`, `getmetatable`, `load` and `loadstring` see through the proxies as they would
//! see through Redis's flag. Reading a global that does not exist is an error, as in Redis.
//!
//! The error handler gives every error Redis's shape: a table `{err=..., source=..., line=...}`
//! whose source and line are the user code's frame (frames of C functions and of this file's
//! internal chunk are skipped).

use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value};

/// The chunk name of the internal Lua code below; the error handler skips its frames.
pub const INTERNAL: &str = "=rustis";

/// The globals a script sees, as redis-server 7.0.15 has them (`pairs(_G)`), KEYS and ARGV aside.
const GLOBALS: &[&str] = &[
    "_G",
    "_VERSION",
    "__redis__err__handler",
    "assert",
    "bit",
    "cjson",
    "cmsgpack",
    "collectgarbage",
    "coroutine",
    "error",
    "gcinfo",
    "getmetatable",
    "ipairs",
    "load",
    "loadstring",
    "math",
    "next",
    "pairs",
    "pcall",
    "rawequal",
    "rawget",
    "rawset",
    "redis",
    "select",
    "setmetatable",
    "string",
    "struct",
    "table",
    "tonumber",
    "tostring",
    "type",
    "unpack",
    "xpcall",
];

/// The library tables that are protected like the global table.
const LIBRARIES: &[&str] = &[
    "string",
    "math",
    "table",
    "coroutine",
    "redis",
    "cjson",
    "bit",
    "struct",
    "cmsgpack",
];

/// Internal setup, run once per VM with the real globals' contents moved into `vault` (the
/// globals table `G` left empty): installs the error handler, Redis's `pcall`, the
/// protection, and the runner. `describe(e)` tells what a native error (a userdata) stands for:
/// the error table a `redis.*` function raised, or else a library's message.
const SETUP: &str = r#"
local vault, G, describe, libraries, dbg, load_api = ...
local rawget_, rawset_, next_, setmetatable_, getmetatable_, type_, tostring_, error_, xpcall_,
      pcall_ =
  vault.rawget, vault.rawset, vault.next, vault.setmetatable, vault.getmetatable, vault.type,
  vault.tostring, vault.error, vault.xpcall, vault.pcall

-- The error handler: Redis's error shape, located at the user's frame.
local function handler(err)
  local level, info = 2, nil
  while true do
    info = dbg.getinfo(level, 'nSl')
    if not info then break end
    if info.what ~= 'C' and info.source ~= '=rustis' then break end
    level = level + 1
  end
  if type_(err) == 'userdata' then
    -- Raised by native code: a redis.* error table, or a library's message (which reads as
    -- luaL_error's, with the user's position).
    local t, msg = describe(err)
    if t then
      err = t
    elseif msg then
      err = msg
      if info and info.currentline and info.currentline > 0 then
        err = info.short_src .. ':' .. info.currentline .. ': ' .. msg
      end
    end
  end
  if type_(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring_(err)}
  end
  if info then
    err['source'] = info.source
    err['line'] = info.currentline
  end
  return err
end

local G_meta
local real_of = setmetatable_({}, {__mode = 'k'})
local protected = setmetatable_({}, {__mode = 'k'})

local function readonly()
  error_('Attempt to modify a readonly table', 2)
end

local shown_meta = {}
protected[shown_meta] = true

-- An empty proxy reading through to `real`, refusing every write.
local function protect(real, index)
  local proxy = {}
  setmetatable_(proxy, {__index = index or real, __newindex = readonly, __metatable = shown_meta})
  real_of[proxy] = real
  protected[proxy] = true
  protected[real] = true
  return proxy
end

local function unwrap(t)
  return real_of[t] or t
end

-- Redis's pcall: an error table raised by redis.call comes back as its message.
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = ...
  if type_(e) == 'userdata' then
    local t, msg = describe(e)
    e = t or msg or e
  end
  if type_(e) == 'table' then
    local m = rawget_(e, 'err')
    if type_(m) == 'string' or type_(m) == 'number' then return false, m end
  end
  return false, e
end

vault.pcall = function(f, ...)
  return pcall_result(pcall_(f, ...))
end
vault.rawset = function(t, k, v)
  if protected[t] then error_('Attempt to modify a readonly table', 0) end
  return rawset_(t, k, v)
end
vault.rawget = function(t, k) return rawget_(unwrap(t), k) end
vault.next = function(t, k) return next_(unwrap(t), k) end
vault.pairs = function(t) return vault.next, t, nil end
vault.ipairs = function(t)
  local real = unwrap(t)
  return function(_, i)
    i = i + 1
    local v = rawget_(real, i)
    if v ~= nil then return i, v end
  end, t, 0
end
vault.setmetatable = function(t, m)
  if protected[t] then error_('Attempt to modify a readonly table', 0) end
  return setmetatable_(t, m)
end
-- Source only, never precompiled chunks (as Redis's Lua): the error Lua gives for a stray
-- ESC byte, with the chunk named as Lua names a string chunk.
local loadstring_, load_, byte_, sub_, find_, concat_ = vault.loadstring, vault.load,
  vault.string.byte, vault.string.sub, vault.string.find, vault.table.concat
local function chunk_id(source)
  -- As C sees it: up to the first NUL; then up to the first line break, 43 bytes at most,
  -- with "..." when anything was cut.
  local cut = (find_(source, '%z') or #source + 1) - 1
  local len = (find_(source, '[\r\n]') or cut + 1) - 1
  if len > cut then len = cut end
  if len > 43 then len = 43 end
  if len < cut then return '[string "' .. sub_(source, 1, len) .. '..."]' end
  return '[string "' .. sub_(source, 1, cut) .. '"]'
end
local function binary_refused(s, name)
  return nil, chunk_id(name or s) .. ":1: unexpected symbol near 'char(27)'"
end
vault.loadstring = function(s, name)
  if type_(s) == 'string' and byte_(s, 1) == 27 then return binary_refused(s, name) end
  return loadstring_(s, name)
end
vault.load = function(f, name)
  if type_(f) ~= 'function' then return load_(f, name) end
  local parts = {}
  while true do
    local piece = f()
    if piece == nil or piece == '' then break end
    if type_(piece) ~= 'string' then return load_(function() return piece end, name) end
    parts[#parts + 1] = piece
  end
  local s = concat_(parts)
  if byte_(s, 1) == 27 then return binary_refused(s, name or '=(load)') end
  return loadstring_(s, name or '=(load)')
end
vault.__redis__err__handler = handler

for i = 1, #libraries do
  local name = libraries[i]
  if vault[name] ~= nil then vault[name] = protect(vault[name]) end
end
vault._G = G
setmetatable_(vault, {__index = function(_, k)
  error_("Script attempted to access nonexistent global variable '" .. tostring_(k) .. "'", 2)
end})
protected[vault] = true
G_meta = {__index = vault, __newindex = readonly, __metatable = shown_meta}
setmetatable_(G, G_meta)
real_of[G] = vault
protected[G] = true
-- Methods of strings read through the protected string table too.
getmetatable_('').__index = vault.string

-- FUNCTION LOAD runs a library's code with only the load API visible (redis.register_function,
-- redis.log, the constants); its functions, when called later, see the whole environment.
local missing_meta = {__index = function(_, k)
  error_("Script attempted to access nonexistent global variable '" .. tostring_(k) .. "'", 2)
end}
setmetatable_(load_api, missing_meta)
local load_vault = setmetatable_({redis = protect(load_api)}, missing_meta)
protected[load_vault] = true
local function set_loading(on)
  rawset_(G_meta, '__index', on and load_vault or vault)
end

-- Lua 5.1's xpcall passes no arguments: the function and its two (FCALL's keys and args) wait
-- in upvalues for the trampoline.
local cur_f, cur_a, cur_b
local function trampoline()
  return cur_f(cur_a, cur_b)
end
return function(f, a, b)
  cur_f, cur_a, cur_b = f, a, b
  local ok, v = xpcall_(trampoline, handler)
  cur_f, cur_a, cur_b = nil, nil, nil
  return ok, v
end, set_loading
"#;

/// Creates the VM and loads the standard libraries Redis loads (and `debug`, which only the
/// error handler keeps).
pub fn new_vm() -> mlua::Result<Lua> {
    // SAFETY: the debug library is needed by the error handler (Redis keeps it the same way);
    // `protect` removes it from the globals before any script runs.
    let lua = unsafe {
        Lua::unsafe_new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
            LuaOptions::new(),
        )
    };
    super::libs::register(&lua)?;
    Ok(lua)
}

/// Locks the environment of `lua` down as described in this module's doc. `redis` must be in
/// the globals already, with its native functions; `describe` is the native error reader (see
/// [`SETUP`]).
/// Returns the runner (`run(f, a, b)` -> `ok, value`: `f(a, b)` under the error handler) and
/// the vault (the real globals, where KEYS and ARGV go before each run). Code compiled in `lua`
/// afterwards, the scripts' and what they `loadstring`, sees the protected globals.
/// `load_api` is what a library's code sees while FUNCTION LOAD runs it (as `redis`); the
/// returned `set_loading(on)` switches the globals to that view and back.
pub fn protect(
    lua: &Lua,
    describe: Function,
    load_api: Table,
) -> mlua::Result<(Function, Function, Table)> {
    let globals = lua.globals();
    let debug: Table = globals.raw_get("debug")?;
    let vault = lua.create_table()?;
    let keys: Vec<Value> = globals
        .pairs::<Value, Value>()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    for k in keys {
        let v: Value = globals.raw_get(k.clone())?;
        if let Value::String(name) = &k {
            let name = name.to_str().map(|s| s.to_owned()).unwrap_or_default();
            if GLOBALS.contains(&name.as_str()) {
                vault.raw_set(k.clone(), v)?;
            }
        }
        globals.raw_set(k, Value::Nil)?;
    }
    let libraries = lua.create_sequence_from(LIBRARIES.iter().copied())?;
    let setup = lua.load(SETUP).set_name(INTERNAL).into_function()?;
    let (runner, set_loading): (Function, Function) =
        setup.call((vault.clone(), globals, describe, libraries, debug, load_api))?;
    Ok((runner, set_loading, vault))
}
