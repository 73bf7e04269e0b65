//! Differential tests of Lua scripting (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT) against a real
//! redis-server 7.0: the conversions Lua -> reply and reply -> Lua (RESP2 and RESP3 clients, with
//! `redis.setresp(2)` and `redis.setresp(3)` inside the script), error texts (runtime errors,
//! `redis.call` refusals, the globals protection, compile errors, numkeys, shebangs), the
//! `redis.*` helpers, SCRIPT's sub-commands, and scripts whose keys live on both workers. Every
//! reply is compared byte for byte; each test gathers all of its mismatches before failing, so
//! one divergence does not hide the others.
//!
//! The last test is not differential: an atomicity stress of scripts moving a counter between
//! keys of different workers while other clients read both keys.

mod common;
use common::{int_of, owner, Conn, Diff};

/// A differential session that records every reply that differs instead of stopping at the first.
struct T {
    d: Diff,
    bad: Vec<String>,
    count: usize,
    /// A label added to mismatch reports (e.g. the protocol of the session).
    label: String,
}

impl T {
    fn new(label: &str) -> T {
        T {
            d: Diff::new(),
            bad: Vec::new(),
            count: 0,
            label: label.to_string(),
        }
    }

    /// Switches both connections to RESP3.
    fn resp3(&mut self) {
        self.d.resp3();
    }

    /// Sends `args` to both servers and records a mismatch; returns Redis's reply.
    fn cmd(&mut self, args: &[&str]) -> String {
        let ra = self.d.a.call(args);
        let rb = self.d.b.call(args);
        self.count += 1;
        let (ra, rb) = (
            String::from_utf8_lossy(&ra).into_owned(),
            String::from_utf8_lossy(&rb).into_owned(),
        );
        if ra != rb {
            let shown: Vec<String> = args.iter().map(|a| clip(a, 0, 200)).collect();
            self.bad.push(format!(
                "[{}] {shown:?}\n{}",
                self.label,
                describe_difference(&ra, &rb)
            ));
        }
        ra
    }

    /// `verb body numkeys keys... argv...` on both servers.
    fn run(&mut self, verb: &str, body: &str, keys: &[&str], argv: &[&str]) -> String {
        let n = keys.len().to_string();
        let mut args = vec![verb, body, n.as_str()];
        args.extend_from_slice(keys);
        args.extend_from_slice(argv);
        self.cmd(&args)
    }

    fn eval(&mut self, body: &str, keys: &[&str], argv: &[&str]) -> String {
        self.run("EVAL", body, keys, argv)
    }

    fn eval_ro(&mut self, body: &str, keys: &[&str], argv: &[&str]) -> String {
        self.run("EVAL_RO", body, keys, argv)
    }

    /// Fails with every mismatch recorded.
    fn done(self) {
        assert!(
            self.bad.is_empty(),
            "{} of {} replies differ:\n{}",
            self.bad.len(),
            self.count,
            self.bad.join("\n")
        );
    }
}

/// At most `len` characters of `s` from character `from`, with `...` where it was cut.
fn clip(s: &str, from: usize, len: usize) -> String {
    let total = s.chars().count();
    let body: String = s.chars().skip(from).take(len).collect();
    format!(
        "{}{body}{}",
        if from > 0 { "..." } else { "" },
        if from + len < total { "..." } else { "" }
    )
}

/// Both replies, whole when short; else their lengths and where they first differ.
fn describe_difference(redis: &str, rustis: &str) -> String {
    if redis.len() + rustis.len() < 600 {
        return format!("    redis:  {redis:?}\n    rustis: {rustis:?}");
    }
    let at = redis
        .chars()
        .zip(rustis.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let from = at.saturating_sub(60);
    format!(
        "    {} vs {} characters, first difference at character {at}:\n    redis:  {:?}\n    rustis: {:?}",
        redis.chars().count(),
        rustis.chars().count(),
        clip(redis, from, 160),
        clip(rustis, from, 160)
    )
}

/// The SHA1 of a script body, as SCRIPT LOAD and EVALSHA spell it.
fn sha(body: &str) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

// ------------------------------------------------------------------------------------------------
// Lua -> reply

/// Script bodies whose return value exercises the conversion of Lua values to replies.
const LUA_TO_REPLY: &[&str] = &[
    // strings
    "return 'hello'",
    "return ''",
    "return 'a\\0b'",
    "return '3.0'",
    "return tostring(1/3)",
    "return 'line1\\r\\nline2'",
    // numbers: truncated toward zero, negatives, huge
    "return 3",
    "return 0",
    "return -3",
    "return 3.99",
    "return -3.99",
    "return 0.5",
    "return -0.5",
    "return 123456789012",
    "return 2^53",
    "return 2^53 + 1",
    "return -2^53",
    "return 2^62",
    "return -2^63",
    // booleans and nil
    "return true",
    "return false",
    "return nil",
    "return",
    "return type(nil)",
    // tables: nested, holes, mixed element types
    "return {}",
    "return {1,'a',{2,{3,'x'}},'b'}",
    "return {1,2,nil,4}",
    "return {nil,2}",
    "return {1.9,-1.9,true,'s'}",
    "return {1,false,3}",
    "return {{},{{}}}",
    "return {1, 2, 3, 'ciao', {1, 2}}",
    "return {[1]='a',[2]='b',[4]='d'}",
    "return {x=1, y=2}",
    "return {1, x=1}",
    "return function() end",
    "return coroutine.create(function() end)",
    "return setmetatable({}, {__index=function(t, k) return 'meta' end})",
    "return setmetatable({1}, {__index=function(t, k) return k end})",
    "local t = {} for i = 1, 5000 do t[i] = i end return t",
    "return string.rep('x', 100000)",
    // ok / err tables
    "return {ok='fine'}",
    "return {ok=''}",
    "return {ok=42}",
    "return {ok='a\\r\\nb'}",
    "return {err='My Error'}",
    "return {err='ERR oops'}",
    "return {err='-ERR dash'}",
    "return {err=''}",
    "return {err=42}",
    "return {err='a\\r\\nb'}",
    "return {ok='a', err='b'}",
    "return {1, ok='x'}",
    "return {1,{err='inner'},{ok='in'}}",
    "return {{ok='deep'}}",
    // redis.status_reply / redis.error_reply
    "return redis.status_reply('fine')",
    "return redis.status_reply('')",
    "return redis.error_reply('My Error')",
    "return redis.error_reply('-My Error')",
    "return redis.error_reply('ERR My Error')",
    "return redis.error_reply('-ERR My Error')",
    "return redis.error_reply('CODE with code')",
    "return redis.error_reply('-CODE with code')",
    "return redis.error_reply('')",
    "return redis.error_reply('-')",
    "local r = redis.error_reply('X y'); return {type(r), r.err}",
    "local r = redis.status_reply('X y'); return {type(r), r.ok}",
    // RESP3 types
    "return {double=3.14}",
    "return {double=3}",
    "return {double=-2.5}",
    "return {double=1e300}",
    "return {double=0.1}",
    "return {double=1/0}",
    "return {double=-1/0}",
    "return {double='1.5'}",
    "return {1, {double=2.5}}",
    "return {map={a=1}}",
    "return {map={a={1,2}}}",
    "return {map={}}",
    "return {map={[1]='one'}}",
    "return {map={a={map={b='c'}}}}",
    "return {set={a=true}}",
    "return {set={}}",
    "return {set={[5]=true}}",
    "return {1,{map={a='b'}},{set={c=true}}}",
    "return {big_number='123456789012345678901234567890'}",
    "return {big_number='-1'}",
    "return {big_number='1\\r\\n2'}",
    "return {verbatim_string={format='txt',string='hello'}}",
    "return {verbatim_string={format='mkd',string=''}}",
    "return {verbatim_string={format='txt',string='a\\r\\nb'}}",
    // booleans after setresp(3)
    "redis.setresp(3); return true",
    "redis.setresp(3); return false",
    "redis.setresp(3); return {true,false,1}",
    "redis.setresp(3); return {map={a=false}}",
    "redis.setresp(2); return {true,false,1}",
];

fn lua_to_reply(resp3: bool, prefix: &str) {
    let mut t = T::new(&format!(
        "{} prefix={prefix:?}",
        if resp3 { "RESP3" } else { "RESP2" }
    ));
    if resp3 {
        t.resp3();
    }
    for body in LUA_TO_REPLY {
        let body = format!("{prefix}{body}");
        t.eval(&body, &[], &[]);
    }
    t.done();
}

#[test]
fn lua_to_reply_resp2() {
    lua_to_reply(false, "");
}

#[test]
fn lua_to_reply_resp3() {
    lua_to_reply(true, "");
}

#[test]
fn lua_to_reply_setresp3_resp2() {
    lua_to_reply(false, "redis.setresp(3); ");
}

#[test]
fn lua_to_reply_setresp3_resp3() {
    lua_to_reply(true, "redis.setresp(3); ");
}

/// Numbers whose conversion to an integer reply is out of range or not a number: Redis casts the
/// double to `long long` (x86-64: 0x8000000000000000 for any of them).
#[test]
fn lua_to_reply_out_of_range_numbers() {
    let mut t = T::new("RESP2");
    for body in [
        "return 2^63",
        "return 1e20",
        "return -1e20",
        "return math.huge",
        "return -math.huge",
        "return 0/0",
        "return {2^63, 1e20}",
    ] {
        t.eval(body, &[], &[]);
    }
    t.done();
}

/// Deeply nested tables: Redis converts them until the Lua stack is exhausted (about 8000 levels
/// of arrays, 2664 of maps), then ends the reply with `-ERR reached lua stack limit`. The replies
/// are read on a thread with a large stack (the harness reads nested replies recursively).
fn lua_to_reply_deep_nesting(resp3: bool) {
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || {
            let mut t = T::new(if resp3 { "RESP3" } else { "RESP2" });
            if resp3 {
                t.resp3();
            }
            for depth in [200, 201, 1000, 2600, 8000] {
                t.eval(
                    &format!(
                        "local t = {{}} local c = t for i = 1, {depth} do c[1] = {{}} c = c[1] end return t"
                    ),
                    &[],
                    &[],
                );
                t.eval(
                    &format!(
                        "local t = {{}} local c = t for i = 1, {depth} do c.map = {{k = {{}}}} c = c.map.k end return t"
                    ),
                    &[],
                    &[],
                );
            }
            t.cmd(&["PING"]);
            t.done();
        })
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

#[test]
fn lua_to_reply_deep_nesting_resp2() {
    lua_to_reply_deep_nesting(false);
}

#[test]
fn lua_to_reply_deep_nesting_resp3() {
    lua_to_reply_deep_nesting(true);
}

// ------------------------------------------------------------------------------------------------
// reply -> Lua

/// (body, keys) whose `redis.call` replies cover each type a command returns. Keys: `str` a
/// string, `list` a list, `h` a hash of one field, `s` a set of one member, `zs` a sorted set of
/// one member, `n` a counter, `none` missing.
const REPLY_TO_LUA: &[(&str, &[&str])] = &[
    // integer
    ("return redis.call('incr', KEYS[1])", &["n"]),
    ("return type(redis.call('incr', KEYS[1]))", &["n"]),
    ("return redis.call('incr', KEYS[1]) + 0.5", &["n"]),
    ("return redis.call('exists', KEYS[1], KEYS[2])", &["str", "none"]),
    // bulk and null bulk
    ("return redis.call('get', KEYS[1])", &["str"]),
    ("return type(redis.call('get', KEYS[1]))", &["str"]),
    ("return redis.call('get', KEYS[1])", &["none"]),
    ("return type(redis.call('get', KEYS[1]))", &["none"]),
    ("return tostring(redis.call('get', KEYS[1]))", &["none"]),
    ("return redis.call('get', KEYS[1]) == false", &["none"]),
    ("return redis.call('get', KEYS[1]) == nil", &["none"]),
    ("return redis.call('echo', '')", &[]),
    ("return redis.call('getrange', KEYS[1], 0, -1)", &["none"]),
    // arrays, with nulls inside
    ("return redis.call('lrange', KEYS[1], 0, -1)", &["list"]),
    ("return #redis.call('lrange', KEYS[1], 0, -1)", &["list"]),
    ("return redis.call('lrange', KEYS[1], 0, -1)", &["none"]),
    ("return type(redis.call('lrange', KEYS[1], 0, -1))", &["none"]),
    ("return redis.call('hmget', KEYS[1], 'f', 'nofield')", &["h"]),
    (
        "local t = redis.call('hmget', KEYS[1], 'f', 'nofield'); return {type(t[1]), type(t[2])}",
        &["h"],
    ),
    ("return redis.call('mget', KEYS[1], KEYS[2], KEYS[3])", &["str", "none", "n"]),
    // null array
    ("return redis.call('lpop', KEYS[1], 2)", &["none"]),
    ("return type(redis.call('lpop', KEYS[1], 2))", &["none"]),
    ("return tostring(redis.call('lpop', KEYS[1], 2))", &["none"]),
    // status
    ("return redis.call('set', KEYS[1], 'v')", &["tmp"]),
    ("local r = redis.call('set', KEYS[1], 'v'); return {type(r), r.ok}", &["tmp"]),
    ("return redis.call('ping')", &[]),
    ("return redis.call('ping', 'hi')", &[]),
    ("return redis.call('type', KEYS[1])", &["h"]),
    ("local r = redis.call('type', KEYS[1]); return r.ok", &["zs"]),
    ("local r = redis.call('type', KEYS[1]); return r", &["none"]),
    // errors through redis.pcall
    ("return redis.pcall('incr', KEYS[1])", &["str"]),
    ("local r = redis.pcall('incr', KEYS[1]); return {type(r), r.err}", &["str"]),
    ("local r = redis.pcall('lpush', KEYS[1], 'x'); return r.err", &["h"]),
    ("local r = redis.pcall('hget', KEYS[1], 'f'); return r", &["list"]),
    // maps, sets, doubles (RESP3 shapes only after setresp(3))
    ("return redis.call('hgetall', KEYS[1])", &["h"]),
    ("return redis.call('hgetall', KEYS[1])", &["none"]),
    (
        "local t = redis.call('hgetall', KEYS[1]); return {type(t), #t, tostring(t.map ~= nil)}",
        &["h"],
    ),
    (
        "local t = redis.call('hgetall', KEYS[1]); if t.map then return t.map.f end return t[2]",
        &["h"],
    ),
    ("return redis.call('smembers', KEYS[1])", &["s"]),
    ("return redis.call('smembers', KEYS[1])", &["none"]),
    (
        "local t = redis.call('smembers', KEYS[1]); if t.set then return {'set', tostring(t.set.m)} end return t",
        &["s"],
    ),
    ("return redis.call('zscore', KEYS[1], 'm')", &["zs"]),
    ("return type(redis.call('zscore', KEYS[1], 'm'))", &["zs"]),
    (
        "local s = redis.call('zscore', KEYS[1], 'm'); if type(s) == 'table' then return {'double', tostring(s.double)} end return s",
        &["zs"],
    ),
    ("return redis.call('zscore', KEYS[1], 'nomember')", &["zs"]),
    ("return type(redis.call('zscore', KEYS[1], 'nomember'))", &["zs"]),
    ("return redis.call('zrange', KEYS[1], 0, -1, 'withscores')", &["zs"]),
    ("return redis.call('zincrby', KEYS[1], 1, 'm')", &["zs"]),
    ("return redis.call('zincrby', KEYS[1], -1, 'm')", &["zs"]),
    ("return redis.call('config', 'get', 'maxmemory')", &[]),
    // verbatim string (INFO of a section that does not exist is empty)
    ("return redis.call('info', 'nosuchsection')", &[]),
    ("return type(redis.call('info', 'nosuchsection'))", &[]),
    // a reply returned unchanged
    (
        "local r = redis.call('mget', KEYS[1], KEYS[2]); r[3] = redis.call('hgetall', KEYS[3]); return r",
        &["str", "none", "h"],
    ),
];

fn reply_to_lua(resp3: bool, setresp: &str) {
    let mut t = T::new(&format!(
        "{} setresp={setresp}",
        if resp3 { "RESP3" } else { "RESP2" }
    ));
    if resp3 {
        t.resp3();
    }
    t.script(
        "FLUSHALL
         SET str hello
         RPUSH list a b c
         HSET h f v
         SADD s m
         ZADD zs 1.5 m
         SET n 10",
    );
    let prefix = format!("redis.setresp({setresp}); ");
    for (body, keys) in REPLY_TO_LUA {
        t.eval(&format!("{prefix}{body}"), keys, &[]);
    }
    t.done();
}

impl T {
    /// One command a line, whitespace-separated.
    fn script(&mut self, lines: &str) {
        for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let args: Vec<&str> = line.split_whitespace().collect();
            self.cmd(&args);
        }
    }
}

#[test]
fn reply_to_lua_setresp2_resp2() {
    reply_to_lua(false, "2");
}

#[test]
fn reply_to_lua_setresp2_resp3() {
    reply_to_lua(true, "2");
}

#[test]
fn reply_to_lua_setresp3_resp2() {
    reply_to_lua(false, "3");
}

#[test]
fn reply_to_lua_setresp3_resp3() {
    reply_to_lua(true, "3");
}

// ------------------------------------------------------------------------------------------------
// Error texts

/// (body, keys) that fail, or catch a failure. `str` holds a string, `h` a hash.
const ERRORS: &[(&str, &[&str])] = &[
    // runtime errors
    ("error('x')", &[]),
    ("error('x', 0)", &[]),
    ("error('x', 2)", &[]),
    ("error({err='CODE msg'})", &[]),
    ("error({err='msg without code'})", &[]),
    ("error({err='-ERR dash'})", &[]),
    // (`error({})`, a table without `err`, is left out: it crashes redis-server 7.0.15.)
    ("error(42)", &[]),
    ("error()", &[]),
    ("error(redis.error_reply('MY thing'))", &[]),
    ("local t = nil; return t.x", &[]),
    ("local t = {}; return t.a.b", &[]),
    ("return nil + 1", &[]),
    ("return 'a' + 1", &[]),
    ("return #5", &[]),
    ("local f; f()", &[]),
    ("\n\nerror('third line')", &[]),
    ("assert(false)", &[]),
    ("assert(false, 'assertion text')", &[]),
    // redis.call errors
    ("return redis.call('incr', KEYS[1])", &["str"]),
    ("return redis.call('lpush', KEYS[1], 'x')", &["h"]),
    ("return redis.call('nosuch')", &[]),
    ("return redis.call('nosuch', 'a', 'b')", &[]),
    ("return redis.call('get')", &[]),
    ("return redis.call('get', 'a', 'b')", &[]),
    ("return redis.call('set', KEYS[1])", &["str"]),
    ("return redis.call('eval', 'return 1', '0')", &[]),
    ("return redis.call('evalsha', 'abc', '0')", &[]),
    ("return redis.call('eval_ro', 'return 1', '0')", &[]),
    ("return redis.call('multi')", &[]),
    ("return redis.call('exec')", &[]),
    ("return redis.call('discard')", &[]),
    ("return redis.call('watch', 'x')", &[]),
    ("return redis.call('script', 'load', 'return 1')", &[]),
    ("return redis.call('script', 'flush')", &[]),
    ("return redis.call('hello')", &[]),
    ("return redis.call('select', 99)", &[]),
    ("return redis.call('select', 'x')", &[]),
    ("return redis.call('config', 'nosuch')", &[]),
    ("return redis.call('object', 'nosuch')", &[]),
    ("return redis.call('incrby', KEYS[1], 'x')", &["n"]),
    ("return redis.call('set', KEYS[1], 'v', 'EX', 0)", &["n"]),
    ("return redis.call()", &[]),
    ("return redis.call({})", &[]),
    ("return redis.call('get', {})", &[]),
    ("return redis.call('get', nil)", &[]),
    ("return redis.call('get', true)", &[]),
    ("return redis.call(nil)", &[]),
    ("return redis.pcall()", &[]),
    ("return redis.pcall({})", &[]),
    ("return redis.pcall('nosuch')", &[]),
    ("return redis.pcall('get')", &[]),
    ("return redis.pcall('multi')", &[]),
    ("local r = redis.pcall('nosuch'); return r.err", &[]),
    ("local r = redis.pcall('get'); return r.err", &[]),
    (
        "local r = redis.pcall('incr', KEYS[1]); return r.err",
        &["str"],
    ),
    (
        "local r = redis.pcall('eval', 'return 1', '0'); return r.err",
        &[],
    ),
    (
        "redis.pcall('incr', KEYS[1]); return redis.call('get', KEYS[1])",
        &["str"],
    ),
    (
        "local r = redis.pcall('incr', KEYS[1]); r.err = 'CHANGED it'; return r",
        &["str"],
    ),
    // pcall around redis.call and runtime errors
    (
        "local ok, e = pcall(redis.call, 'incr', KEYS[1]); return {tostring(ok), type(e), e.err}",
        &["str"],
    ),
    (
        "local ok, e = pcall(redis.call, 'nosuch'); return {tostring(ok), type(e), e.err}",
        &[],
    ),
    (
        "local ok, e = pcall(redis.call, 'get'); return {tostring(ok), type(e), e.err}",
        &[],
    ),
    (
        "local ok, e = pcall(redis.call, 'incr', KEYS[1]); return e",
        &["str"],
    ),
    (
        "local ok, e = pcall(error, 'x'); return {tostring(ok), e}",
        &[],
    ),
    (
        "local ok, e = pcall(function() local t = nil; return t.x end); return {tostring(ok), e}",
        &[],
    ),
    (
        "local ok, e = pcall(error, {err='CODE x'}); return {tostring(ok), type(e), e.err}",
        &[],
    ),
    // (`pcall(redis.call)` with no arguments is left out: it crashes redis-server 7.0.15.)
    // globals protection
    ("x = 1", &[]),
    ("x = 1; return x", &[]),
    ("return undefinedvar", &[]),
    ("return type(undefinedvar)", &[]),
    ("string.foo = 1", &[]),
    ("redis.call = nil", &[]),
    ("redis.myfield = 1", &[]),
    ("table.insert = nil", &[]),
    ("math.pi = 3", &[]),
    ("rawset(_G, 'x', 1)", &[]),
    ("rawset(_G, 'x', 1); return x", &[]),
    ("setmetatable(_G, {})", &[]),
    ("setmetatable(_G, nil)", &[]),
    ("_G.x = 1", &[]),
    ("_G['KEYS'] = 1", &[]),
    ("KEYS = {}", &[]),
    ("KEYS[1] = 'x'; return KEYS[1]", &["a"]),
    ("ARGV[5] = 'x'; return #ARGV", &[]),
    ("local x = 1; return x", &[]),
    ("function f() return 1 end", &[]),
    ("local function f() return 1 end; return f()", &[]),
    ("return rawget(_G, 'nothing')", &[]),
    ("return type(getmetatable(_G))", &[]),
    ("return type(_G)", &[]),
];

fn error_texts(resp3: bool) {
    let mut t = T::new(if resp3 { "RESP3" } else { "RESP2" });
    if resp3 {
        t.resp3();
    }
    t.script(
        "FLUSHALL
         SET str hello
         HSET h f v
         SET n 10",
    );
    for (body, keys) in ERRORS {
        t.eval(body, keys, &[]);
    }
    // Writes refused: from EVAL_RO, and from a script flagged no-writes.
    t.eval_ro("return redis.call('set', KEYS[1], 'x')", &["a"], &[]);
    t.eval_ro("return redis.call('get', KEYS[1])", &["str"], &[]);
    t.eval_ro("return redis.pcall('del', KEYS[1])", &["str"], &[]);
    t.eval_ro("return redis.call('incr', KEYS[1])", &["str"], &[]);
    t.eval_ro("return redis.call('nosuch')", &[], &[]);
    t.eval_ro("return redis.call('ping')", &[], &[]);
    t.eval(
        "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], '1')",
        &["a"],
        &[],
    );
    t.eval(
        "#!lua flags=no-writes\nreturn redis.pcall('set', KEYS[1], '1')",
        &["a"],
        &[],
    );
    t.eval(
        "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])",
        &["str"],
        &[],
    );
    t.cmd(&["EXISTS", "a"]);
    t.cmd(&["GET", "str"]);
    t.done();
}

#[test]
fn error_texts_resp2() {
    error_texts(false);
}

#[test]
fn error_texts_resp3() {
    error_texts(true);
}

/// A few sandbox probes: what the script environment offers.
#[test]
fn sandbox_environment() {
    let mut t = T::new("RESP2");
    for body in [
        "return type(loadstring)",
        "return type(os)",
        "return type(io)",
        "return type(dofile)",
        "return type(loadfile)",
        "return type(require)",
        "return type(module)",
        "return type(print)",
        "return type(getfenv)",
        "return type(setfenv)",
        "return type(newproxy)",
        "return type(gcinfo)",
        "return type(collectgarbage)",
        "return type(debug)",
        "return type(coroutine)",
        "return type(string.format)",
        "return type(table.concat)",
        "return type(math.floor)",
        "return type(unpack)",
        "return type(select)",
        "return type(pcall)",
        "return type(xpcall)",
        "return type(tonumber)",
        "return type(redis)",
        "return type(redis.call)",
        "return type(redis.setresp)",
        "return type(KEYS)",
        "return type(ARGV)",
        "return string.format('%d %s %5.2f', 3, 'x', 1.5)",
        "return table.concat({'a', 'b', 'c'}, '-')",
        "return math.floor(3.7)",
        "return string.rep('ab', 3)",
        "return tostring(tonumber('0x10'))",
        "return select('#', 1, 2, 3)",
        "return {unpack({1, 2, 3})}",
        "return tostring(12345678901234567890)",
        "return tostring(0.1)",
        "return tostring(-0)",
        "return string.len('\\0\\1')",
        // Precompiled chunks are refused: Redis's parser reads them as text.
        "local f, e = loadstring(string.char(27) .. 'Lua'); return {type(f), e}",
        "local f, e = loadstring(string.dump(function() return 1 end)); return {type(f), e}",
        "return type(string.dump)",
    ] {
        t.eval(body, &[], &[]);
    }
    t.done();
}

/// Scripts that do not compile, through EVAL and SCRIPT LOAD.
#[test]
fn compile_errors() {
    let mut t = T::new("RESP2");
    for body in [
        "return (",
        "return 'unterminated",
        "end",
        "x ==",
        "return 1 +",
        "\n\nreturn )",
        "local = 1",
        "return \"\\q\"",
        "for i = 1 do end",
        "return [[unfinished",
        "\u{1b}Lua",
        "",
        " ",
        "-- a comment only",
    ] {
        t.eval(body, &[], &[]);
        t.cmd(&["SCRIPT", "LOAD", body]);
    }
    t.done();
}

/// The numkeys argument, and the arity of the EVAL family.
#[test]
fn numkeys_and_arity() {
    let mut t = T::new("RESP2");
    t.cmd(&["FLUSHALL"]);
    for verb in ["EVAL", "EVAL_RO"] {
        t.cmd(&[verb, "return 1", "-1"]);
        t.cmd(&[verb, "return 1", "-1", "a"]);
        t.cmd(&[verb, "return 1", "2", "a"]);
        t.cmd(&[verb, "return 1", "1"]);
        t.cmd(&[verb, "return 1", "abc"]);
        t.cmd(&[verb, "return 1", "1.5"]);
        t.cmd(&[verb, "return 1", ""]);
        t.cmd(&[verb, "return 1", "99999999999999999999"]);
        t.cmd(&[verb, "return 1", " 1", "a"]);
        t.cmd(&[verb, "return 1", "+1", "a"]);
        t.cmd(&[verb, "return 1", "01", "a"]);
        t.cmd(&[verb, "return 1"]);
        t.cmd(&[verb]);
        t.cmd(&[verb, "return #KEYS", "0"]);
        t.cmd(&[verb, "return #KEYS", "1", "a"]);
        t.cmd(&[verb, "return {#KEYS, #ARGV}", "2", "a", "b", "c"]);
        t.cmd(&[verb, "return (", "-1"]);
    }
    for verb in ["EVALSHA", "EVALSHA_RO"] {
        t.cmd(&[verb, &sha("return 1"), "-1"]);
        t.cmd(&[verb, &sha("return 1"), "x"]);
        t.cmd(&[verb, &sha("return 1")]);
        t.cmd(&[verb]);
    }
    t.done();
}

/// EVALSHA and EVALSHA_RO: unknown, wrong length, upper case, after SCRIPT FLUSH; EVAL caches.
#[test]
fn evalsha() {
    let mut t = T::new("RESP2");
    t.cmd(&["SCRIPT", "FLUSH"]);
    let body = "return {KEYS[1], ARGV[1]}";
    let s = sha(body);
    let upper = s.to_ascii_uppercase();
    t.cmd(&["EVALSHA", &s, "1", "k", "v"]);
    t.cmd(&["EVALSHA", &"0".repeat(40), "0"]);
    t.cmd(&["EVALSHA", "abc", "0"]);
    t.cmd(&["EVALSHA", &"0".repeat(41), "0"]);
    t.cmd(&["EVALSHA", "", "0"]);
    t.cmd(&["EVALSHA", &"z".repeat(40), "0"]);
    t.cmd(&["SCRIPT", "LOAD", body]);
    t.cmd(&["EVALSHA", &s, "1", "k", "v"]);
    t.cmd(&["EVALSHA", &upper, "1", "k", "v"]);
    t.cmd(&["EVALSHA_RO", &s, "1", "k", "v"]);
    t.cmd(&["EVALSHA_RO", &upper, "1", "k", "v"]);
    t.cmd(&["EVALSHA", &format!("{s}0"), "1", "k", "v"]);
    t.cmd(&["EVALSHA", &s[..39], "1", "k", "v"]);
    t.cmd(&["EVALSHA", &s, "2", "k"]);
    t.cmd(&["EVALSHA", &s, "-2", "k"]);
    // EVAL caches the script: EVALSHA finds it.
    let body2 = "return 'cached by eval'";
    t.cmd(&["EVAL", body2, "0"]);
    t.cmd(&["SCRIPT", "EXISTS", &sha(body2)]);
    t.cmd(&["EVALSHA", &sha(body2), "0"]);
    // A script that does not compile is not cached.
    t.cmd(&["EVAL", "return (", "0"]);
    t.cmd(&["SCRIPT", "EXISTS", &sha("return (")]);
    // A script that fails at run time is cached.
    t.cmd(&["EVAL", "error('runtime')", "0"]);
    t.cmd(&["SCRIPT", "EXISTS", &sha("error('runtime')")]);
    // EVALSHA of a write script through EVALSHA_RO.
    let w = "return redis.call('set', KEYS[1], 'x')";
    t.cmd(&["SCRIPT", "LOAD", w]);
    t.cmd(&["EVALSHA_RO", &sha(w), "1", "a"]);
    t.cmd(&["EVALSHA", &sha(w), "1", "a"]);
    t.cmd(&["GET", "a"]);
    // After SCRIPT FLUSH every cached script is gone.
    t.cmd(&["SCRIPT", "FLUSH"]);
    t.cmd(&["EVALSHA", &s, "1", "k", "v"]);
    t.cmd(&["SCRIPT", "EXISTS", &s, &sha(body2), &sha(w)]);
    t.done();
}

/// SCRIPT LOAD, EXISTS, FLUSH, KILL, HELP, unknown sub-commands and arities, in RESP2 and RESP3.
#[test]
fn script_subcommands() {
    for resp3 in [false, true] {
        let mut t = T::new(if resp3 { "RESP3" } else { "RESP2" });
        if resp3 {
            t.resp3();
        }
        t.cmd(&["SCRIPT", "FLUSH"]);
        let a = "return 1";
        let b = "return 2";
        t.cmd(&["SCRIPT", "LOAD", a]);
        t.cmd(&["SCRIPT", "LOAD", a]);
        t.cmd(&["SCRIPT", "LOAD", ""]);
        t.cmd(&[
            "SCRIPT",
            "EXISTS",
            &sha(a),
            &sha(b),
            &sha(a).to_ascii_uppercase(),
            "abc",
            "",
            &sha(""),
        ]);
        t.cmd(&["script", "exists", &sha(a)]);
        t.cmd(&["SCRIPT", "FLUSH"]);
        t.cmd(&["SCRIPT", "EXISTS", &sha(a)]);
        t.cmd(&["SCRIPT", "LOAD", b]);
        t.cmd(&["SCRIPT", "FLUSH", "SYNC"]);
        t.cmd(&["SCRIPT", "EXISTS", &sha(b)]);
        t.cmd(&["SCRIPT", "LOAD", b]);
        t.cmd(&["SCRIPT", "FLUSH", "ASYNC"]);
        t.cmd(&["SCRIPT", "EXISTS", &sha(b)]);
        t.cmd(&["SCRIPT", "FLUSH", "async"]);
        t.cmd(&["SCRIPT", "FLUSH", "sync"]);
        t.cmd(&["SCRIPT", "FLUSH", "BAD"]);
        t.cmd(&["SCRIPT", "FLUSH", "SYNC", "ASYNC"]);
        t.cmd(&["SCRIPT", "FLUSH", ""]);
        t.cmd(&["SCRIPT", "HELP"]);
        t.cmd(&["script", "help"]);
        t.cmd(&["SCRIPT", "HELP", "extra"]);
        t.cmd(&["SCRIPT", "NOSUCH"]);
        t.cmd(&["SCRIPT", "NOSUCH", "a", "b"]);
        t.cmd(&["SCRIPT"]);
        t.cmd(&["SCRIPT", "KILL"]);
        t.cmd(&["SCRIPT", "KILL", "extra"]);
        t.cmd(&["SCRIPT", "LOAD"]);
        t.cmd(&["SCRIPT", "LOAD", "a", "b"]);
        t.cmd(&["SCRIPT", "EXISTS"]);
        t.cmd(&["SCRIPT", "LOAD", "#!lua flags=bad\nreturn 1"]);
        t.cmd(&["SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn 1"]);
        t.cmd(&["EVALSHA", &sha("#!lua flags=no-writes\nreturn 1"), "0"]);
        t.done();
    }
}

/// The script cache is one for the server: a script loaded or run on one connection (whichever
/// worker serves it) is found by the others, and SCRIPT FLUSH on one empties it for all.
#[test]
fn script_cache_shared_across_connections() {
    let d = Diff::new();
    let mut conns: Vec<(Conn, Conn)> = (0..4)
        .map(|_| (Conn::new(d.redis.port), Conn::new(d.rustis.port)))
        .collect();
    let mut bad = Vec::new();
    let mut step = |conns: &mut Vec<(Conn, Conn)>, i: usize, args: &[&str]| {
        let (ra, rb) = (conns[i].0.call(args), conns[i].1.call(args));
        let (ra, rb) = (String::from_utf8_lossy(&ra), String::from_utf8_lossy(&rb));
        if ra != rb {
            bad.push(format!(
                "conn {i} {args:?}\n    redis:  {ra:?}\n    rustis: {rb:?}"
            ));
        }
    };
    let loaded = "return 'loaded ' .. ARGV[1]";
    let evaled = "return 'evaled ' .. ARGV[1]";
    step(&mut conns, 0, &["SCRIPT", "FLUSH"]);
    step(&mut conns, 0, &["SCRIPT", "LOAD", loaded]);
    step(&mut conns, 1, &["EVAL", evaled, "0", "x"]);
    for i in 0..4 {
        let n = i.to_string();
        step(
            &mut conns,
            i,
            &["SCRIPT", "EXISTS", &sha(loaded), &sha(evaled)],
        );
        step(&mut conns, i, &["EVALSHA", &sha(loaded), "0", &n]);
        step(&mut conns, i, &["EVALSHA_RO", &sha(evaled), "0", &n]);
    }
    step(&mut conns, 2, &["SCRIPT", "FLUSH"]);
    for i in 0..4 {
        step(&mut conns, i, &["EVALSHA", &sha(loaded), "0", "gone"]);
        step(
            &mut conns,
            i,
            &["SCRIPT", "EXISTS", &sha(loaded), &sha(evaled)],
        );
    }
    // Loaded again after the flush, from another connection.
    step(&mut conns, 3, &["SCRIPT", "LOAD", loaded]);
    for i in 0..4 {
        step(&mut conns, i, &["EVALSHA", &sha(loaded), "0", "back"]);
    }
    assert!(
        bad.is_empty(),
        "{} replies differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Shebang lines: flags, unknown flags and options, engines, and where line numbers start.
#[test]
fn shebangs() {
    let mut t = T::new("RESP2");
    t.cmd(&["FLUSHALL"]);
    for body in [
        "#!lua\nreturn 1",
        "#!lua\nerror('x')",
        "#!lua\n\nreturn x",
        "#!lua flags=no-writes\nerror('y')",
        "#!lua flags=no-writes\nreturn 1",
        "#!lua flags=no-writes,allow-oom\nreturn 1",
        "#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys\nreturn 1",
        "#!lua flags=\nreturn 1",
        "#!lua flags=bad\nreturn 1",
        "#!lua flags=no-writes,bad\nreturn 1",
        "#!lua flags=no-writes flags=allow-oom\nreturn 1",
        "#!lua name=x\nreturn 1",
        "#!lua bogus\nreturn 1",
        "#!python\nreturn 1",
        "#!luaxx\nreturn 1",
        "#!\nreturn 1",
        "#! lua\nreturn 1",
        "#!lua",
        "#!lua flags=no-writes",
        "#!lua  flags=no-writes\nreturn 2",
        "#!lua\nreturn redis.call('set', KEYS[1], 'shebang')",
        "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], '1')",
        "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])",
        " #!lua\nreturn 1",
        "#lua\nreturn 1",
    ] {
        t.eval(body, &["a"], &[]);
        t.eval_ro(body, &["a"], &[]);
    }
    t.cmd(&["GET", "a"]);
    t.done();
}

// ------------------------------------------------------------------------------------------------
// redis.* helpers, KEYS and ARGV

#[test]
fn redis_helpers() {
    for resp3 in [false, true] {
        let mut t = T::new(if resp3 { "RESP3" } else { "RESP2" });
        if resp3 {
            t.resp3();
        }
        for body in [
            "return redis.sha1hex('')",
            "return redis.sha1hex('abc')",
            "return redis.sha1hex(123)",
            "return redis.sha1hex('a\\0b')",
            "return redis.sha1hex()",
            "return redis.sha1hex('a', 'b')",
            "return redis.sha1hex({})",
            "return redis.sha1hex(nil)",
            "return redis.log(redis.LOG_WARNING, 'a warning from a test')",
            "return redis.log(redis.LOG_DEBUG, 'a', 'b', 3)",
            "return redis.log(redis.LOG_NOTICE, 1.5)",
            "return redis.log(redis.LOG_VERBOSE, 'v')",
            "return redis.log(99, 'x')",
            "return redis.log(-1, 'x')",
            "return redis.log('x')",
            "return redis.log()",
            "return redis.log(redis.LOG_WARNING)",
            "return redis.log(redis.LOG_WARNING, {})",
            "return redis.log('0', 'x')",
            "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
            "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
            "return redis.setresp(2)",
            "return redis.setresp(3)",
            "return redis.setresp('3')",
            "return redis.setresp(4)",
            "return redis.setresp(1)",
            "return redis.setresp()",
            "return redis.setresp(2, 3)",
            "return redis.setresp('x')",
            "return redis.setresp({})",
            "return redis.setresp(2.5)",
            "return redis.set_repl(redis.REPL_ALL)",
            "return redis.set_repl(redis.REPL_NONE)",
            "return redis.set_repl(redis.REPL_AOF)",
            "return redis.set_repl(99)",
            "return redis.set_repl(-1)",
            "return redis.set_repl()",
            "return redis.set_repl('x')",
            "return redis.set_repl(1, 2)",
            "return redis.replicate_commands()",
            "return type(redis.replicate_commands())",
            "return redis.REDIS_VERSION",
            "return redis.REDIS_VERSION_NUM",
            "return type(redis.REDIS_VERSION_NUM)",
            "return redis.breakpoint()",
            "return type(redis.breakpoint())",
            "return redis.debug('x')",
            "return redis.error_reply()",
            "return redis.error_reply(1)",
            "return redis.error_reply('a', 'b')",
            "return redis.error_reply({})",
            "return redis.status_reply()",
            "return redis.status_reply(1)",
            "return redis.status_reply('a', 'b')",
            "return redis.status_reply({})",
        ] {
            t.eval(body, &[], &[]);
        }
        t.done();
    }
}

#[test]
fn keys_and_argv() {
    let mut t = T::new("RESP2");
    t.eval(
        "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}",
        &["a", "b"],
        &["c", "d"],
    );
    t.eval("return #KEYS", &[], &[]);
    t.eval("return #KEYS", &["a", "b", "c"], &[]);
    t.eval("return #ARGV", &["a"], &["x", "y"]);
    t.eval("return {#KEYS, #ARGV}", &[], &[]);
    t.eval("return ARGV", &[], &["a", "", "c"]);
    t.eval("return KEYS", &["k1", "k2"], &[]);
    t.eval("return KEYS[3]", &["a", "b"], &[]);
    t.eval("return type(KEYS[1])", &["a"], &[]);
    t.eval("return type(ARGV[1])", &[], &["1"]);
    t.eval("return type(KEYS)", &[], &[]);
    t.eval("return tonumber(ARGV[1]) + 1", &[], &["41"]);
    t.eval("return ARGV[1] .. KEYS[1]", &["k"], &["v"]);
    t.eval("return string.len(ARGV[1])", &[], &["a\u{0}b"]);
    t.eval("return ARGV[1]", &[], &["a\u{0}b\r\nc"]);
    t.eval("return {KEYS[1], ARGV[1]}", &[""], &[""]);
    t.eval("return ARGV[1]", &[], &["\u{e9}\u{4e16}"]);
    // KEYS and ARGV from one run do not leak into the next.
    t.eval("return {#KEYS, #ARGV, KEYS[1], ARGV[1]}", &[], &[]);
    t.done();
}

/// Arguments of redis.call that are numbers (converted with Lua's %.14g), and integer replies.
#[test]
fn call_argument_conversion() {
    let mut t = T::new("RESP2");
    t.cmd(&["FLUSHALL"]);
    for body in [
        "redis.call('set', KEYS[1], 1.5); return redis.call('get', KEYS[1])",
        "redis.call('set', KEYS[1], 1e20); return redis.call('get', KEYS[1])",
        "redis.call('set', KEYS[1], 10); return redis.call('get', KEYS[1])",
        "redis.call('set', KEYS[1], -0.1); return redis.call('get', KEYS[1])",
        "redis.call('set', KEYS[1], 1/3); return redis.call('get', KEYS[1])",
        "redis.call('set', KEYS[1], 2^53); return redis.call('get', KEYS[1])",
        "return redis.call('incrby', KEYS[1], 3.7)",
        "return redis.call('incrbyfloat', KEYS[1], 1.5)",
        "return redis.call('echo', 12)",
        "return redis.call('ECHO', 'upper')",
        "return redis.call('EcHo', 'mixed')",
        "return redis.call('set', KEYS[1], '')",
    ] {
        t.eval(body, &["a"], &[]);
    }
    t.done();
}

// ------------------------------------------------------------------------------------------------
// Keys on both workers

fn assert_workers() {
    assert_ne!(
        owner("a", 2),
        owner("b", 2),
        "a and b must be on different workers"
    );
    assert_ne!(
        owner("x", 2),
        owner("z", 2),
        "x and z must be on different workers"
    );
    assert_ne!(
        owner("{t0}", 2),
        owner("{t2}", 2),
        "the tags must be on different workers"
    );
}

#[test]
fn cross_worker_declared_keys() {
    assert_workers();
    for resp3 in [false, true] {
        let mut t = T::new(if resp3 { "RESP3" } else { "RESP2" });
        if resp3 {
            t.resp3();
        }
        t.cmd(&["FLUSHALL"]);
        let set2 = "redis.call('set', KEYS[1], ARGV[1]); redis.call('set', KEYS[2], ARGV[2]); \
                    return redis.call('mget', KEYS[1], KEYS[2])";
        t.eval(set2, &["a", "b"], &["1", "2"]);
        t.cmd(&["MGET", "a", "b"]);
        t.eval(set2, &["x", "z"], &["3", "4"]);
        t.cmd(&["MGET", "x", "z"]);
        t.eval(set2, &["{t0}k", "{t2}k"], &["5", "6"]);
        t.cmd(&["MGET", "{t0}k", "{t2}k"]);
        t.eval(
            "return redis.call('incrby', KEYS[1], 10) + redis.call('incrby', KEYS[2], 20)",
            &["a", "b"],
            &[],
        );
        t.eval(
            "local v = redis.call('get', KEYS[1]); redis.call('set', KEYS[2], v); \
             return redis.call('get', KEYS[2])",
            &["a", "b"],
            &[],
        );
        t.cmd(&["MGET", "a", "b"]);
        t.eval(
            "return {redis.call('del', KEYS[1], KEYS[2], KEYS[3]), redis.call('exists', KEYS[1], KEYS[2])}",
            &["a", "b", "c"],
            &[],
        );
        t.eval(
            "redis.call('rpush', KEYS[1], 'p', 'q'); redis.call('sadd', KEYS[2], 'm'); \
             return {redis.call('lrange', KEYS[1], 0, -1), redis.call('smembers', KEYS[2]), \
             redis.call('type', KEYS[1]), redis.call('type', KEYS[2])}",
            &["x", "z"],
            &[],
        );
        t.eval(
            "return redis.call('rename', KEYS[1], KEYS[2])",
            &["x", "y"],
            &[],
        );
        t.cmd(&["LRANGE", "y", "0", "-1"]);
        t.eval(
            "return redis.call('smove', KEYS[1], KEYS[2], 'm')",
            &["z", "s2"],
            &[],
        );
        t.cmd(&["SMEMBERS", "s2"]);
        // An error after a write on the other worker: the write stays (no rollback in Redis).
        t.eval(
            "redis.call('set', KEYS[1], 'kept'); return redis.call('incr', KEYS[2])",
            &["a", "y"],
            &[],
        );
        t.cmd(&["GET", "a"]);
        t.eval(
            "redis.call('set', KEYS[1], 'kept2'); error('after write')",
            &["b", "a"],
            &[],
        );
        t.cmd(&["GET", "b"]);
        t.cmd(&["DBSIZE"]);
        t.done();
    }
}

/// Scripts that touch keys they did not declare, on the other worker and on their own.
#[test]
fn cross_worker_undeclared_keys() {
    assert_workers();
    let mut t = T::new("RESP2");
    t.cmd(&["FLUSHALL"]);
    let set = "return redis.call('set', ARGV[1], ARGV[2])";
    for k in ["a", "b", "x", "z", "{t0}u", "{t2}u"] {
        t.eval(set, &[], &[k, "undeclared"]);
        t.cmd(&["GET", k]);
    }
    t.eval(
        "return redis.call('mget', ARGV[1], ARGV[2], ARGV[3], ARGV[4])",
        &[],
        &["a", "b", "x", "z"],
    );
    // Reads first, then writes to both workers.
    t.eval(
        "local v = redis.call('get', ARGV[1]) .. redis.call('get', ARGV[2]); \
         redis.call('set', ARGV[1], v); redis.call('set', ARGV[2], v); return v",
        &[],
        &["a", "b"],
    );
    t.cmd(&["MGET", "a", "b"]);
    // A declared key on one worker, an undeclared one on the other.
    t.eval(
        "redis.call('incr', KEYS[1]); return redis.call('incr', ARGV[1])",
        &["c1"],
        &["d1"],
    );
    t.eval(
        "redis.call('incr', KEYS[1]); return redis.call('incr', ARGV[1])",
        &["d1"],
        &["c1"],
    );
    t.cmd(&["MGET", "c1", "d1"]);
    // Read-only scripts reaching the other worker.
    t.eval_ro("return redis.call('get', ARGV[1])", &[], &["a"]);
    t.eval_ro("return redis.call('get', ARGV[1])", &[], &["b"]);
    t.eval_ro(
        "return {redis.call('get', KEYS[1]), redis.call('get', ARGV[1])}",
        &["x"],
        &["z"],
    );
    // Whole-keyspace commands from a script.
    t.eval("return redis.call('dbsize')", &[], &[]);
    t.eval("return #redis.call('keys', '*')", &[], &[]);
    t.eval("return redis.call('exists', 'a', 'b', 'x', 'z')", &[], &[]);
    t.eval(
        "redis.call('flushdb'); return redis.call('dbsize')",
        &[],
        &[],
    );
    t.cmd(&["DBSIZE"]);
    t.done();
}

/// SELECT inside a script changes the database of the script only.
#[test]
fn select_inside_script() {
    assert_workers();
    for resp3 in [false, true] {
        let mut t = T::new(if resp3 { "RESP3" } else { "RESP2" });
        if resp3 {
            t.resp3();
        }
        t.cmd(&["FLUSHALL"]);
        t.cmd(&["SET", "a", "db0"]);
        t.cmd(&["SET", "b", "db0"]);
        t.eval(
            "redis.call('select', 1); redis.call('set', KEYS[1], 'db1'); \
             redis.call('set', KEYS[2], 'db1'); return redis.call('mget', KEYS[1], KEYS[2])",
            &["a", "b"],
            &[],
        );
        t.cmd(&["MGET", "a", "b"]);
        t.eval("return redis.call('get', KEYS[1])", &["a"], &[]);
        t.eval(
            "redis.call('select', 1); local v = redis.call('get', KEYS[1]); \
             redis.call('select', 0); return {v, redis.call('get', KEYS[1])}",
            &["b"],
            &[],
        );
        t.eval("return redis.call('select', 2)", &[], &[]);
        t.eval(
            "redis.call('select', 2); return redis.call('dbsize')",
            &[],
            &[],
        );
        t.cmd(&["SELECT", "1"]);
        t.cmd(&["MGET", "a", "b"]);
        t.eval(
            "return redis.call('mget', KEYS[1], KEYS[2])",
            &["a", "b"],
            &[],
        );
        t.eval(
            "redis.call('select', 0); return redis.call('get', KEYS[1])",
            &["a"],
            &[],
        );
        t.cmd(&["GET", "a"]);
        t.cmd(&["SELECT", "0"]);
        t.cmd(&["MGET", "a", "b"]);
        t.eval(
            "redis.call('swapdb', 0, 1); return redis.call('get', KEYS[1])",
            &["a"],
            &[],
        );
        t.cmd(&["MGET", "a", "b"]);
        t.done();
    }
}

/// EVAL inside MULTI / EXEC, with keys on both workers.
#[test]
fn eval_in_multi() {
    assert_workers();
    for resp3 in [false, true] {
        let mut t = T::new(if resp3 { "RESP3" } else { "RESP2" });
        if resp3 {
            t.resp3();
        }
        t.cmd(&["FLUSHALL"]);
        t.cmd(&["SCRIPT", "FLUSH"]);
        let set2 = "redis.call('set', KEYS[1], ARGV[1]); redis.call('set', KEYS[2], ARGV[1]); \
                    return redis.call('mget', KEYS[1], KEYS[2])";
        t.cmd(&["MULTI"]);
        t.cmd(&["SET", "a", "0"]);
        t.run("EVAL", set2, &["a", "b"], &["in-multi"]);
        t.cmd(&["GET", "b"]);
        t.run("EVAL", "return redis.call('incr', KEYS[1])", &["a"], &[]);
        t.run("EVAL", "return {double=1.5}", &[], &[]);
        t.run("EVAL", "error('inside exec')", &[], &[]);
        t.run(
            "EVAL",
            "return redis.call('set', ARGV[1], 'u')",
            &[],
            &["z"],
        );
        t.run("EVAL_RO", "return redis.call('get', KEYS[1])", &["z"], &[]);
        t.run("EVAL_RO", "return redis.call('del', KEYS[1])", &["z"], &[]);
        t.cmd(&["EVALSHA", &sha(set2), "2", "x", "z", "sha"]);
        t.cmd(&["SCRIPT", "LOAD", "return 'loaded in multi'"]);
        t.cmd(&["EVALSHA", &sha("return 'loaded in multi'"), "0"]);
        t.cmd(&["EXEC"]);
        t.cmd(&["MGET", "a", "b", "x", "z"]);
        // Errors while queueing.
        t.cmd(&["MULTI"]);
        t.cmd(&["EVAL", "return 1"]);
        t.cmd(&["EXEC"]);
        t.cmd(&["MULTI"]);
        t.cmd(&["EVAL", "return 1", "-1"]);
        t.cmd(&["EVAL", "return (", "0"]);
        t.cmd(&["EVALSHA", &"0".repeat(40), "0"]);
        t.cmd(&["EXEC"]);
        t.cmd(&["MULTI"]);
        t.cmd(&["SCRIPT", "KILL"]);
        t.cmd(&["SCRIPT", "NOSUCH"]);
        t.cmd(&["EXEC"]);
        // WATCH, then a script of the same connection writes the key.
        t.cmd(&["WATCH", "a"]);
        t.run(
            "EVAL",
            "return redis.call('set', KEYS[1], 'w')",
            &["a"],
            &[],
        );
        t.cmd(&["MULTI"]);
        t.cmd(&["GET", "a"]);
        t.cmd(&["EXEC"]);
        t.done();
    }
}

/// A script's writes are seen by the commands that follow, pipelined or not, from this
/// connection and others.
#[test]
fn writes_seen_by_following_commands() {
    assert_workers();
    let mut d = Diff::new();
    d.check(&["FLUSHALL"]);
    d.check(&[
        "EVAL",
        "redis.call('set', KEYS[1], ARGV[1]); return redis.call('set', KEYS[2], ARGV[1])",
        "2",
        "a",
        "b",
        "v1",
    ]);
    d.check(&["GET", "a"]);
    d.check(&["GET", "b"]);
    let mut other = (Conn::new(d.redis.port), Conn::new(d.rustis.port));
    assert_eq!(
        String::from_utf8_lossy(&other.1.call(&["MGET", "a", "b"])),
        String::from_utf8_lossy(&other.0.call(&["MGET", "a", "b"]))
    );

    // A pipeline mixing plain commands and scripts on both workers.
    let inc = "return redis.call('incr', KEYS[1]) + redis.call('incr', KEYS[2])";
    let undeclared = "return redis.call('append', ARGV[1], ARGV[2])";
    let mut pipeline = Vec::new();
    let mut n = 0;
    for i in 0..100 {
        let v = i.to_string();
        for cmd in [
            vec!["SET", "x", v.as_str()],
            vec!["EVAL", inc, "2", "x", "z"],
            vec!["GET", "z"],
            vec!["INCR", "x"],
            vec![
                "EVAL",
                "return redis.call('mget', KEYS[1], KEYS[2])",
                "2",
                "x",
                "z",
            ],
            vec!["EVAL", undeclared, "0", "a", v.as_str()],
            vec!["EVAL", undeclared, "0", "b", v.as_str()],
            vec!["STRLEN", "a"],
            vec!["EVAL_RO", "return redis.call('strlen', KEYS[1])", "1", "b"],
            vec!["EVALSHA", &"0".repeat(40), "0"],
        ] {
            let args: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
            pipeline.extend_from_slice(&common::encode(&args));
            n += 1;
        }
    }
    d.a.send_raw(&pipeline);
    d.b.send_raw(&pipeline);
    for i in 0..n {
        let ra = d.a.read_reply();
        let rb = d.b.read_reply();
        assert_eq!(
            String::from_utf8_lossy(&rb),
            String::from_utf8_lossy(&ra),
            "pipelined reply {i} differs (left: rustis, right: redis)"
        );
    }
    d.check(&["MGET", "a", "b", "x", "z"]);
}

/// A script's own undeclared write on its worker, then on the other: Redis runs it whole.
#[test]
fn write_then_undeclared_key_on_other_worker() {
    assert_workers();
    let mut t = T::new("RESP2");
    t.cmd(&["FLUSHALL"]);
    // Whichever worker the connection is on, one of the two orders writes a key of that worker
    // first and then one of the other worker.
    for (i, (k1, k2)) in [("a", "b"), ("b", "a")].into_iter().enumerate() {
        let body = format!(
            "-- first run {i}\nredis.call('set', ARGV[1], 'first'); \
             return redis.call('set', ARGV[2], 'second')"
        );
        t.eval(&body, &[], &[k1, k2]);
        t.cmd(&["MGET", k1, k2]);
    }
    // Writes first, on one worker then the other, in both orders (distinct scripts, so neither
    // has run before).
    for (i, (k1, k2)) in [("a", "b"), ("b", "a"), ("x", "z"), ("z", "x")]
        .into_iter()
        .enumerate()
    {
        let body = format!(
            "-- write first {i}\nredis.call('set', ARGV[1], 'w1'); redis.call('set', ARGV[2], 'w2'); \
             return redis.call('mget', ARGV[1], ARGV[2])"
        );
        t.eval(&body, &[], &[k1, k2]);
        t.cmd(&["MGET", k1, k2]);
        // And again, once the script is known.
        t.eval(&body, &[], &[k2, k1]);
        t.cmd(&["MGET", k1, k2]);
    }
    // A write to a declared key, then a command over every key.
    t.eval(
        "-- write then dbsize\nredis.call('set', KEYS[1], 'v'); return redis.call('dbsize')",
        &["a"],
        &[],
    );
    t.eval(
        "-- write then keys\nredis.call('set', KEYS[1], 'v'); return #redis.call('keys', '*')",
        &["b"],
        &[],
    );
    t.eval(
        "-- write then exists\nredis.call('set', KEYS[1], 'v'); return redis.call('exists', 'a', 'b', 'x', 'z')",
        &["x"],
        &[],
    );
    // Keys named by the script's text, not its arguments.
    t.eval(
        "-- literal keys\nredis.call('set', 'lit-a', 1); redis.call('set', 'lit-b', 2); \
         redis.call('set', 'lit-c', 3); return redis.call('mget', 'lit-a', 'lit-b', 'lit-c')",
        &[],
        &[],
    );
    t.cmd(&["MGET", "lit-a", "lit-b", "lit-c"]);
    t.done();
}

// ------------------------------------------------------------------------------------------------
// Atomicity (Rustis only)

const TOTAL: i64 = 1000;
const ITERATIONS: usize = 2000;

/// Moves one unit from `from` to `to`, declaring both keys.
const MOVE_DECLARED: &str =
    "redis.call('decrby', KEYS[1], 1); return redis.call('incrby', KEYS[2], 1)";

/// The sum of `a` and `b`, by MGET or by a read-only script; panics on anything but integers.
fn read_sum(c: &mut Conn, script: bool) -> i64 {
    if script {
        let r = c.call(&[
            "EVAL_RO",
            "return tonumber(redis.call('get', KEYS[1])) + tonumber(redis.call('get', KEYS[2]))",
            "2",
            "a",
            "b",
        ]);
        int_of(&r).unwrap_or_else(|| panic!("reader: {}", String::from_utf8_lossy(&r)))
    } else {
        let r = c.call(&["MGET", "a", "b"]);
        common::bulks(&r)
            .iter()
            .map(|v| v.parse::<i64>().expect("an integer"))
            .sum()
    }
}

/// A mover's loop, run on a thread with a connection of its own.
type Mover = Box<dyn FnOnce(&mut Conn) + Send>;

/// Runs `movers` (each given a fresh connection) alongside two readers (MGET and a read-only
/// script), each for ITERATIONS steps; every read must see TOTAL, and `a` and `b` must end as
/// they started (the movers cancel out).
fn stress(movers: Vec<Mover>) {
    assert_workers();
    let server = common::start_rustis(2);
    let port = server.port;
    let mut setup = Conn::new(port);
    setup.call(&["MSET", "a", &TOTAL.to_string(), "b", "0"]);
    let mut threads = Vec::new();
    for m in movers {
        threads.push(std::thread::spawn(move || m(&mut Conn::new(port))));
    }
    for script in [false, true] {
        threads.push(std::thread::spawn(move || {
            let mut c = Conn::new(port);
            for i in 0..ITERATIONS {
                let sum = read_sum(&mut c, script);
                assert_eq!(
                    sum,
                    TOTAL,
                    "read {i} ({}) saw a sum other than the total",
                    if script { "EVAL_RO" } else { "MGET" }
                );
            }
        }));
    }
    let mut failed = Vec::new();
    for th in threads {
        if let Err(e) = th.join() {
            failed.push(
                e.downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "a thread panicked".into()),
            );
        }
    }
    let r = setup.call(&["MGET", "a", "b"]);
    assert!(
        failed.is_empty(),
        "{failed:#?}; finally MGET a b = {:?}",
        String::from_utf8_lossy(&r)
    );
    let vals: Vec<i64> = common::bulks(&r)
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(vals, vec![TOTAL, 0], "the movers cancel out");
}

/// Moves `from` -> `to` ITERATIONS times with `body`, keys declared or passed in ARGV.
fn mover(c: &mut Conn, body: &str, declared: bool, from: &str, to: &str) {
    let numkeys = if declared { "2" } else { "0" };
    let reply = c.call(&["EVAL", body, numkeys, from, to]);
    assert!(
        int_of(&reply).is_some(),
        "mover {from} -> {to}: {}",
        String::from_utf8_lossy(&reply)
    );
}

/// Scripts move a unit between `a` and `b` (different workers), both ways, declaring their
/// keys, while readers look at both with MGET and with a read-only script.
#[test]
fn scripts_are_atomic_across_workers() {
    stress(vec![
        Box::new(|c: &mut Conn| {
            for _ in 0..ITERATIONS {
                mover(c, MOVE_DECLARED, true, "a", "b");
            }
        }),
        Box::new(|c: &mut Conn| {
            for _ in 0..ITERATIONS {
                mover(c, MOVE_DECLARED, true, "b", "a");
            }
        }),
    ]);
}

/// The same with scripts that do not declare their keys (numkeys 0, the keys in ARGV): one
/// connection alternates two scripts, one per direction, so that whichever worker it is on,
/// one of them writes a key of that worker before touching the other worker on its first run;
/// a second mover declares its keys.
#[test]
fn undeclared_key_scripts_are_atomic_across_workers() {
    const A_TO_B: &str =
        "-- a to b\nredis.call('decrby', ARGV[1], 1); return redis.call('incrby', ARGV[2], 1)";
    const B_TO_A: &str =
        "-- b to a\nredis.call('decrby', ARGV[1], 1); return redis.call('incrby', ARGV[2], 1)";
    stress(vec![
        Box::new(|c: &mut Conn| {
            for _ in 0..ITERATIONS / 2 {
                mover(c, A_TO_B, false, "a", "b");
                mover(c, B_TO_A, false, "b", "a");
            }
        }),
        Box::new(|c: &mut Conn| {
            for _ in 0..ITERATIONS / 2 {
                mover(c, MOVE_DECLARED, true, "a", "b");
                mover(c, MOVE_DECLARED, true, "b", "a");
            }
        }),
    ]);
}

/// A script pipelined after a write to a key on another worker sees that write, whichever worker
/// the connection is served by: the script declares a key on one worker and reads (undeclared) the
/// key just written, on the same or the other worker. A script whose declared keys are local runs
/// without waiting for the connection's earlier replies, so this is the case where it must stop
/// and wait before it reaches the other shard.
#[test]
fn pipelined_script_sees_the_connections_earlier_writes() {
    assert_workers();
    let server = common::start_rustis(2);
    // Background clients keep both workers running, so that requests to the other worker travel
    // (and are in flight when the script arrives) instead of borrowing a parked owner's shard.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (stop, port) = (stop.clone(), server.port);
        load.push(std::thread::spawn(move || {
            let mut c = Conn::new(port);
            let mut batch = Vec::new();
            for _ in 0..50 {
                batch.extend_from_slice(&common::encode(&[b"INCR", b"{t0}load"]));
                batch.extend_from_slice(&common::encode(&[b"INCR", b"{t2}load"]));
            }
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                c.send_raw(&batch);
                for _ in 0..100 {
                    c.read_reply();
                }
            }
        }));
    }
    // It reaches the undeclared key only when told to: a first run that does not leaves it
    // cached as a script that keeps to its KEYS.
    let body = "if ARGV[2] == 'far' then return redis.call('get', ARGV[1]) end return 'near'";
    for round in 0..100 {
        for declared in ["a", "b"] {
            for written in ["a", "b", "x", "z"] {
                let body = format!("{body} -- {round} {declared} {written}");
                let mut c = Conn::new(server.port);
                let near = c.call(&["EVAL", &body, "1", declared, written, "near"]);
                assert_eq!(near, b"$4\r\nnear\r\n");
                let value = format!("v{round}{declared}{written}");
                let mut pipeline = Vec::new();
                for _ in 0..8 {
                    pipeline.extend_from_slice(&common::encode(&[
                        b"SET",
                        written.as_bytes(),
                        value.as_bytes(),
                    ]));
                }
                pipeline.extend_from_slice(&common::encode(&[
                    b"EVAL",
                    body.as_bytes(),
                    b"1",
                    declared.as_bytes(),
                    written.as_bytes(),
                    b"far",
                ]));
                c.send_raw(&pipeline);
                for _ in 0..8 {
                    assert_eq!(c.read_reply(), b"+OK\r\n");
                }
                let expected = format!("${}\r\n{value}\r\n", value.len());
                assert_eq!(
                    String::from_utf8_lossy(&c.read_reply()),
                    expected,
                    "declared {declared}, written {written}"
                );
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
}
