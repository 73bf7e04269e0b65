//! The script cache every worker shares: EVAL bodies by SHA1, with their shebang flags. Each
//! worker compiles a body into its own VM the first time it runs it; SCRIPT FLUSH empties the
//! cache and bumps the generation, which tells every worker to drop what it compiled.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// One cached script.
#[derive(Debug)]
pub struct ScriptEntry {
    /// The body as EVAL received it (shebang line included).
    pub body: Box<[u8]>,
    /// Its shebang flags ([`flags`]); [`flags::COMPAT`] without a shebang.
    pub flags: u32,
    /// What its runs reach ([`Scope`]): unknown until a first run, made with every shard held,
    /// shows whether it keeps to the shards of its KEYS.
    pub scope: std::sync::atomic::AtomicU8,
}

/// What a script's runs reach, as learnt from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Scope {
    /// Never run: the next run takes every shard, and tells.
    Unknown = 0,
    /// Its runs kept to the shards of their KEYS: only those are taken.
    Narrow = 1,
    /// A run reached keys it did not declare, on other shards: every shard is taken (the slow
    /// path, counted in INFO).
    Wide = 2,
}

impl Scope {
    /// The scope stored as `v`.
    pub fn from_u8(v: u8) -> Scope {
        match v {
            1 => Scope::Narrow,
            2 => Scope::Wide,
            _ => Scope::Unknown,
        }
    }
}

/// Script flags, from a `#!lua flags=...` shebang (EVAL) or `register_function` (FUNCTION).
pub mod flags {
    /// No shebang: EVAL's backward-compatible mode (the flags of the command itself apply).
    pub const COMPAT: u32 = 1;
    pub const NO_WRITES: u32 = 1 << 1;
    pub const ALLOW_OOM: u32 = 1 << 2;
    pub const ALLOW_STALE: u32 = 1 << 3;
    pub const NO_CLUSTER: u32 = 1 << 4;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 5;
    /// Flag names, as Redis spells them.
    pub const NAMES: &[(u32, &str)] = &[
        (NO_WRITES, "no-writes"),
        (ALLOW_OOM, "allow-oom"),
        (ALLOW_STALE, "allow-stale"),
        (NO_CLUSTER, "no-cluster"),
        (ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
    ];

    /// The flag named `name`, if Redis knows it.
    pub fn by_name(name: &[u8]) -> Option<u32> {
        NAMES
            .iter()
            .find(|(_, n)| n.as_bytes() == name)
            .map(|(f, _)| *f)
    }
}

/// The shared cache, and what each worker's running script shows the others.
#[derive(Debug, Default)]
pub struct Scripts {
    map: RwLock<HashMap<[u8; 40], Arc<ScriptEntry>, ahash::RandomState>>,
    generation: AtomicU64,
    /// Runs that took every shard because of keys they did not declare (INFO).
    pub wide_runs: AtomicU64,
    /// One per worker: its script, once that runs past busy-reply-threshold.
    pub busy: Box<[Busy]>,
    /// Each worker's Lua VM size in bytes (INFO's used_memory_lua), updated after its runs.
    lua_bytes: Box<[AtomicU64]>,
    /// How many of them are active: every command checks this one word.
    busy_now: std::sync::atomic::AtomicUsize,
    /// The function libraries.
    pub libraries: Libraries,
}

/// A worker's script that runs past busy-reply-threshold, as SCRIPT KILL and the other workers see
/// it. Written by the worker running it (from the Lua hook, every 100,000 instructions), read by
/// the others.
#[derive(Debug, Default)]
pub struct Busy {
    /// A script of this worker is past the threshold and still running.
    pub active: AtomicBool,
    /// It is an EVAL script (SCRIPT KILL), not a function (FUNCTION KILL).
    pub eval: AtomicBool,
    /// It ran a write command: only SHUTDOWN NOSAVE can stop it.
    pub wrote: AtomicBool,
    /// SCRIPT KILL or FUNCTION KILL asked it to stop.
    pub kill: AtomicBool,
    /// When it started (Unix ms).
    pub started_ms: AtomicU64,
    /// Its name and its call's arguments (FUNCTION STATS), written when it turns busy.
    pub detail: std::sync::Mutex<Option<(String, Vec<Vec<u8>>)>>,
}

/// What [`Scripts::kill`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum KillOutcome {
    Killed,
    NotBusy,
    Unkillable,
    /// SCRIPT KILL for a function, or FUNCTION KILL for a script.
    WrongKind,
}

/// A SHA1 in lower-case hex, as a cache key; None when `sha` is not 40 bytes. O(1).
pub fn sha_key(sha: &[u8]) -> Option<[u8; 40]> {
    let mut k: [u8; 40] = sha.try_into().ok()?;
    k.make_ascii_lowercase();
    Some(k)
}

/// The SHA1 of `body` in lower-case hex. O(len).
pub fn sha1_hex(body: &[u8]) -> [u8; 40] {
    let digest = sha1_smol::Sha1::from(body).digest().bytes();
    let mut out = [0u8; 40];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = b"0123456789abcdef"[(b >> 4) as usize];
        out[2 * i + 1] = b"0123456789abcdef"[(b & 15) as usize];
    }
    out
}

impl Scripts {
    /// An empty cache for `workers` workers.
    pub fn new(workers: usize) -> Scripts {
        Scripts {
            busy: (0..workers).map(|_| Busy::default()).collect(),
            lua_bytes: (0..workers).map(|_| AtomicU64::new(0)).collect(),
            ..Default::default()
        }
    }

    /// The busy function (FCALL), if one runs past the threshold: its name, its call's
    /// arguments and how long it has run (ms).
    pub fn busy_function(&self) -> Option<(String, Vec<Vec<u8>>, u64)> {
        let b = self
            .busy
            .iter()
            .find(|b| b.active.load(Ordering::Acquire) && !b.eval.load(Ordering::Acquire))?;
        let ms = unix_ms().saturating_sub(b.started_ms.load(Ordering::Acquire));
        let (name, call) = b.detail.lock().ok()?.clone()?;
        Some((name, call, ms))
    }

    /// Worker `id`'s VM now takes `bytes`.
    pub fn note_lua_memory(&self, id: usize, bytes: usize) {
        if let Some(m) = self.lua_bytes.get(id) {
            m.store(bytes as u64, Ordering::Relaxed);
        }
    }

    /// Every worker's VM together, in bytes.
    pub fn lua_memory(&self) -> u64 {
        self.lua_bytes
            .iter()
            .map(|m| m.load(Ordering::Relaxed))
            .sum()
    }

    /// Whether the busy script is an EVAL script (FUNCTION STATS then answers -BUSY, as Redis).
    pub fn busy_eval(&self) -> bool {
        self.busy
            .iter()
            .any(|b| b.active.load(Ordering::Acquire) && b.eval.load(Ordering::Acquire))
    }

    /// How many scripts run past the busy threshold (one relaxed load: every command asks).
    #[inline]
    pub fn busy_count(&self) -> usize {
        self.busy_now.load(Ordering::Relaxed)
    }

    /// Worker `id`'s script went past the threshold (`on`) or ended.
    pub fn set_busy(&self, id: usize, on: bool) {
        let Some(b) = self.busy.get(id) else {
            return;
        };
        if b.active.swap(on, Ordering::SeqCst) != on {
            if on {
                self.busy_now.fetch_add(1, Ordering::SeqCst);
            } else {
                self.busy_now.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// The -BUSY error for the command of another client, naming the command that can stop the
    /// busy script, as Redis's.
    pub fn busy_error(&self) -> &'static str {
        let eval = self
            .busy
            .iter()
            .find(|b| b.active.load(Ordering::Acquire))
            .is_none_or(|b| b.eval.load(Ordering::Acquire));
        if eval {
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        } else {
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        }
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL: asks the busy script to stop, unless it wrote.
    pub fn kill(&self, eval: bool) -> KillOutcome {
        let Some(b) = self.busy.iter().find(|b| b.active.load(Ordering::Acquire)) else {
            return KillOutcome::NotBusy;
        };
        if b.wrote.load(Ordering::Acquire) {
            return KillOutcome::Unkillable;
        }
        if b.eval.load(Ordering::Acquire) != eval {
            return KillOutcome::WrongKind;
        }
        // Asked first, then the write checked again: the script shows a write before making it
        // and gives up the write when it sees the kill (see `script::raw_call`).
        b.kill.store(true, Ordering::SeqCst);
        if b.wrote.load(Ordering::SeqCst) {
            b.kill.store(false, Ordering::SeqCst);
            return KillOutcome::Unkillable;
        }
        KillOutcome::Killed
    }

    /// The script with SHA1 `sha` (lower-case hex), if cached. O(1), a read lock.
    pub fn get(&self, sha: &[u8; 40]) -> Option<Arc<ScriptEntry>> {
        self.map.read().ok()?.get(sha).cloned()
    }

    /// Caches `body` (already compiled once, so known valid) under `sha`; the entry already there
    /// stays. Returns the cached entry.
    pub fn insert(&self, sha: [u8; 40], body: &[u8], flags: u32) -> Arc<ScriptEntry> {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.entry(sha)
            .or_insert_with(|| {
                Arc::new(ScriptEntry {
                    body: body.into(),
                    flags,
                    scope: std::sync::atomic::AtomicU8::new(Scope::Unknown as u8),
                })
            })
            .clone()
    }

    /// SCRIPT FLUSH: forgets every script; workers drop their compiled copies on their next run.
    pub fn flush(&self) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.clear();
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Bumped by every flush.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Number of cached scripts and the bytes of their bodies (INFO's number_of_cached_scripts,
    /// used_memory_scripts_eval).
    pub fn usage(&self) -> (usize, usize) {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let bytes = map.values().map(|e| e.body.len() + 40 + 64).sum();
        (map.len(), bytes)
    }
}

/// A script's shebang (`#!lua flags=no-writes,allow-oom`): its flags and the length of the line
/// (the newline stays in the body, keeping line numbers). Without a shebang: COMPAT and 0. Errors
/// read as Redis's.
pub fn parse_shebang(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((flags::COMPAT, 0));
    }
    let Some(end) = memchr::memchr(b'\n', body) else {
        return Err("Invalid script shebang".into());
    };
    let parts = split_args(&body[..end]).unwrap_or_default();
    let mut parts = parts.iter().map(Vec::as_slice);
    let Some(engine) = parts.next() else {
        return Err("Invalid engine in script shebang".into());
    };
    if engine != b"#!lua" {
        return Err(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(engine)
        ));
    }
    let mut out = 0;
    for part in parts {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            ));
        };
        if list.is_empty() {
            continue;
        }
        for name in list.split(|&c| c == b',') {
            match flags::by_name(name) {
                Some(f) => out |= f,
                None => {
                    return Err(format!(
                        "Unexpected flag in script shebang: {}",
                        String::from_utf8_lossy(name)
                    ))
                }
            }
        }
    }
    Ok((out, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_redis() {
        // redis-cli SCRIPT LOAD "return 1"
        assert_eq!(
            &sha1_hex(b"return 1"),
            b"e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }

    #[test]
    fn shebangs_parse_as_redis_does() {
        assert_eq!(parse_shebang(b"return 1"), Ok((flags::COMPAT, 0)));
        assert_eq!(
            parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1"),
            Ok((flags::NO_WRITES | flags::ALLOW_OOM, 31))
        );
        assert_eq!(parse_shebang(b"#!lua\nreturn 1"), Ok((0, 5)));
        assert_eq!(
            parse_shebang(b"#!lua"),
            Err("Invalid script shebang".into())
        );
        assert_eq!(
            parse_shebang(b"#!py\n"),
            Err("Unexpected engine in script shebang: #!py".into())
        );
        assert_eq!(
            parse_shebang(b"#!lua flags=bad\n"),
            Err("Unexpected flag in script shebang: bad".into())
        );
        assert_eq!(
            parse_shebang(b"#!lua x=1\n"),
            Err("Unknown lua shebang option: x=1".into())
        );
    }
}

/// One function of a library.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    pub name: String,
    pub description: Option<Vec<u8>>,
    /// [`flags`] bits (never COMPAT).
    pub flags: u32,
}

/// A function library (FUNCTION LOAD): its code, as given, and what it registered.
#[derive(Debug)]
pub struct Library {
    pub name: String,
    pub code: Box<[u8]>,
    pub functions: Vec<FunctionInfo>,
}

/// Every loaded library, by name (ordered: FUNCTION LIST and DUMP go in name order). Workers
/// load each into their own VM when the generation moves.
#[derive(Debug, Default)]
pub struct Libraries {
    map: RwLock<std::collections::BTreeMap<String, Arc<Library>>>,
    generation: AtomicU64,
}

impl Libraries {
    /// A snapshot of the libraries, in name order.
    pub fn all(&self) -> Vec<Arc<Library>> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.values().cloned().collect()
    }

    /// The library named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Library>> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(name).cloned()
    }

    /// The function named `name` (case-sensitive, as Redis's) and its library.
    pub fn function(&self, name: &[u8]) -> Option<(Arc<Library>, FunctionInfo)> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        // Function names are case-insensitive, as Redis's; of two that differ only in case
        // (possible within one library), the one registered last answers.
        map.values().find_map(|lib| {
            lib.functions
                .iter()
                .rev()
                .find(|f| f.name.as_bytes().eq_ignore_ascii_case(name))
                .map(|f| (lib.clone(), f.clone()))
        })
    }

    /// Installs `libs` as one change: with `flush`, in place of every library; else beside them,
    /// those with a taken name replacing the old ones when `replace`, refused otherwise. A
    /// function name may belong to one library only. Errors read as Redis's.
    pub fn install(&self, libs: Vec<Library>, replace: bool, flush: bool) -> Result<(), String> {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let mut next = if flush {
            Default::default()
        } else {
            map.clone()
        };
        for lib in &libs {
            if next.contains_key(&lib.name) {
                if !replace {
                    return Err(format!("Library '{}' already exists", lib.name));
                }
                next.remove(&lib.name);
            }
        }
        for lib in &libs {
            for f in &lib.functions {
                let taken = next.values().any(|l| {
                    l.functions
                        .iter()
                        .any(|g| g.name.eq_ignore_ascii_case(&f.name))
                });
                if taken {
                    return Err(format!("Function {} already exists", f.name));
                }
            }
            // Two libraries of one payload may collide with each other as well.
            next.insert(
                lib.name.clone(),
                Arc::new(Library {
                    name: lib.name.clone(),
                    code: lib.code.clone(),
                    functions: lib.functions.clone(),
                }),
            );
        }
        *map = next;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// FUNCTION DELETE: whether there was such a library.
    pub fn delete(&self, name: &str) -> bool {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let found = map.remove(name).is_some();
        if found {
            self.generation.fetch_add(1, Ordering::Release);
        }
        found
    }

    /// FUNCTION FLUSH.
    pub fn flush(&self) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.clear();
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Bumped by every change.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// A library's metadata line (`#!lua name=mylib`): its name, and the code after the line (the
/// newline kept, so line numbers hold). Errors read as Redis's.
pub fn parse_library_header(code: &[u8]) -> Result<(String, &[u8]), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = memchr::memchr(b'\n', code) else {
        return Err("Invalid library metadata".into());
    };
    let Some(parts) = split_args(&code[..end]) else {
        return Err("Invalid library metadata".into());
    };
    let mut parts = parts.iter().map(Vec::as_slice);
    let Some(engine) = parts.next() else {
        return Err("Invalid library metadata".into());
    };
    let mut name: Option<&[u8]> = None;
    for part in parts {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(&part[5..]);
            continue;
        }
        return Err(format!(
            "Invalid metadata value given: {}",
            String::from_utf8_lossy(part)
        ));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    if !valid_name(name) {
        return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    let engine = &engine[2..];
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!(
            "Engine '{}' not found",
            String::from_utf8_lossy(engine)
        ));
    }
    Ok((String::from_utf8_lossy(name).into_owned(), &code[end..]))
}

/// Whether `name` may name a library or a function: letters, digits and underscores, at least
/// one.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The time in Unix milliseconds.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A line split into arguments as Redis's `sdssplitargs` splits it: blanks separate, `"..."`
/// takes `\n \r \t \b \a \\ \" \xHH` escapes, `'...'` takes `\'`; a closing quote must end the
/// argument. None for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let blank = |c: u8| matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c);
    loop {
        while i < line.len() && blank(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut dq, mut sq) = (false, false);
        loop {
            if dq {
                let c = *line.get(i)?;
                if c == b'\\'
                    && i + 3 < line.len()
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    let hex = std::str::from_utf8(&line[i + 2..i + 4]).ok()?;
                    cur.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 3;
                } else if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < line.len() && !blank(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if sq {
                let c = *line.get(i)?;
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < line.len() && !blank(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                match line.get(i) {
                    None => break,
                    Some(&c) if blank(c) => break,
                    Some(b'"') => dq = true,
                    Some(b'\'') => sq = true,
                    Some(&c) => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}
