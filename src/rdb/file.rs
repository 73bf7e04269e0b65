//! RDB files as Redis 7.0 writes and reads them (rdb.c): the `REDIS0010` header, aux fields,
//! function libraries, databases (SELECTDB, RESIZEDB), keys with their millisecond deadlines and
//! values ([`super::value`]), the EOF opcode and the CRC64 of everything before it.
//!
//! A file may select the same database more than once: Redis's loader only switches databases on
//! SELECTDB, so the chunks every shard writes for a database can follow one another in any order.

use super::value::{read_value, write_raw_string, write_value, ReadError, WriteOptions};
use super::{crc64, write_len, write_string, Reader, RDB_VERSION};
use crate::store::{EncodingLimits, Entry};

/// RDB opcodes (rdb.h).
pub mod opcode {
    /// A function library (its code as one string).
    pub const FUNCTION2: u8 = 245;
    /// A function library in 7.0-rc's format.
    pub const FUNCTION_RC: u8 = 246;
    /// Module auxiliary data.
    pub const MODULE_AUX: u8 = 247;
    /// The next key's LRU idle time in seconds.
    pub const IDLE: u8 = 248;
    /// The next key's LFU counter.
    pub const FREQ: u8 = 249;
    /// An auxiliary field: two strings.
    pub const AUX: u8 = 250;
    /// Hints: the sizes of the main and expires tables of the current database.
    pub const RESIZEDB: u8 = 251;
    /// The next key's deadline, Unix milliseconds (8 bytes, little endian).
    pub const EXPIRETIME_MS: u8 = 252;
    /// The next key's deadline, Unix seconds (4 bytes, little endian; older files).
    pub const EXPIRETIME: u8 = 253;
    /// The database the next keys belong to.
    pub const SELECTDB: u8 = 254;
    /// End of the file; the CRC64 follows (version 5 and later).
    pub const EOF: u8 = 255;
}

/// RDB types of module values (rdb.h `RDB_TYPE_MODULE`, `RDB_TYPE_MODULE_2`).
const MODULE_TYPES: [u8; 2] = [6, 7];

/// Appends the magic, the version and the aux fields Redis 7.0 writes (rdbSaveInfoAuxFields):
/// `redis-ver`, `redis-bits`, `ctime` (Unix seconds), `used-mem` and `aof-base`.
pub fn write_header(out: &mut Vec<u8>, redis_ver: &str, ctime: u64, used_mem: u64) {
    out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    let o = WriteOptions::default();
    let mut aux = |k: &str, v: &[u8]| {
        out.push(opcode::AUX);
        write_raw_string(out, k.as_bytes(), &o);
        write_raw_string(out, v, &o);
    };
    aux("redis-ver", redis_ver.as_bytes());
    aux("redis-bits", b"64");
    aux("ctime", ctime.to_string().as_bytes());
    aux("used-mem", used_mem.to_string().as_bytes());
    aux("aof-base", b"0");
}

/// Appends a function library (its whole code, `#!lua name=...` header included).
pub fn write_function(out: &mut Vec<u8>, code: &[u8]) {
    out.push(opcode::FUNCTION2);
    write_string(out, code);
}

/// Appends SELECTDB `db`, and the RESIZEDB hint when `sizes` (keys, keys with a TTL) is given.
pub fn write_select(out: &mut Vec<u8>, db: usize, sizes: Option<(u64, u64)>) {
    out.push(opcode::SELECTDB);
    write_len(out, db as u64);
    if let Some((keys, expires)) = sizes {
        out.push(opcode::RESIZEDB);
        write_len(out, keys);
        write_len(out, expires);
    }
}

/// Appends one key: its deadline if it has one, its value's type, the key, the value. O(value).
/// False (and nothing appended) for a value that has no RDB form here.
pub fn write_entry(out: &mut Vec<u8>, e: &Entry, o: &WriteOptions) -> bool {
    if e.has_ttl() {
        out.push(opcode::EXPIRETIME_MS);
        out.extend_from_slice(&e.expire_at().to_le_bytes());
    }
    // The type byte comes before the key: write the value after a placeholder, then move the
    // type into place (a value is written as its type byte followed by its body).
    let before = out.len();
    let start = out.len();
    out.push(0);
    write_raw_string(out, e.key.as_bytes(), o);
    let key_end = out.len();
    write_value(out, &e.value, o);
    if out.len() > key_end {
        out[start] = out[key_end];
        out.remove(key_end);
        true
    } else {
        out.truncate(before);
        false
    }
}

/// Appends the EOF opcode and the CRC64 of everything before the checksum: `crc` is the CRC64
/// of what was written before this call (0 when `rdbchecksum no`, as Redis writes it).
pub fn write_trailer(out: &mut Vec<u8>, crc: Option<u64>) {
    out.push(opcode::EOF);
    let sum = crc.map_or(0, |c| crc64(c, &[opcode::EOF]));
    out.extend_from_slice(&sum.to_le_bytes());
}

/// What a load found besides the keys.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Keys handed over.
    pub keys: u64,
    /// Keys skipped because their deadline had passed (Redis's `rdb_last_load_keys_expired`).
    pub expired: u64,
    /// The function libraries' code, in file order.
    pub functions: Vec<Vec<u8>>,
    /// The RDB version of the file.
    pub version: u16,
    /// The `redis-ver` aux field, when present.
    pub redis_ver: Option<String>,
}

/// Reads a whole RDB file. Every key whose deadline is not past `now_ms` goes to `put(db, entry)`
/// (which may refuse it: a duplicate key, say); each RESIZEDB hint to `sized(db, keys)`. Any damage (a bad magic or version, a truncated
/// or malformed record, a module or unknown type, a database out of range, a wrong checksum when
/// `check_crc`) stops the load with a message saying what and where: never a silent skip.
/// O(file size).
pub fn read_file(
    data: &[u8],
    databases: usize,
    limits: &EncodingLimits,
    now_ms: u64,
    check_crc: bool,
    mut put: impl FnMut(usize, Entry) -> Result<(), String>,
    mut sized: impl FnMut(usize, u64),
) -> Result<Loaded, String> {
    if data.len() < 9 || &data[..5] != b"REDIS" {
        return Err("Wrong signature trying to load DB from file".into());
    }
    let version: u16 = std::str::from_utf8(&data[5..9])
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or("Wrong signature trying to load DB from file")?;
    if version == 0 || version > RDB_VERSION {
        return Err(format!("Can't handle RDB format version {version}"));
    }
    let mut r = Reader::new(data);
    r.pos = 9;
    let mut out = Loaded {
        version,
        ..Loaded::default()
    };
    let mut db = 0usize;
    let mut expire_at: u64 = 0;
    let short = |r: &Reader<'_>| format!("Short read or bad data loading DB at byte {}", r.pos);
    loop {
        let at = r.pos;
        let t = r.byte().ok_or_else(|| short(&r))?;
        match t {
            opcode::EXPIRETIME_MS => {
                let b = r.bytes(8).ok_or_else(|| short(&r))?;
                let v = i64::from_le_bytes(b.try_into().map_err(|_| short(&r))?);
                // Deadlines before the epoch are past; keep them past (1 ms).
                expire_at = v.max(1) as u64;
                continue;
            }
            opcode::EXPIRETIME => {
                let b = r.bytes(4).ok_or_else(|| short(&r))?;
                let v = i32::from_le_bytes(b.try_into().map_err(|_| short(&r))?);
                expire_at = (v as i64 * 1000).max(1) as u64;
                continue;
            }
            opcode::SELECTDB => {
                let n = r.length().ok_or_else(|| short(&r))?;
                if n >= databases as u64 {
                    return Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {databases} databases. Exiting"));
                }
                db = n as usize;
                continue;
            }
            opcode::RESIZEDB => {
                let keys = r.length().ok_or_else(|| short(&r))?;
                r.length().ok_or_else(|| short(&r))?;
                sized(db, keys);
                continue;
            }
            opcode::AUX => {
                let k = r.string().ok_or_else(|| short(&r))?;
                let v = r.string().ok_or_else(|| short(&r))?;
                if k == b"redis-ver" {
                    out.redis_ver = Some(String::from_utf8_lossy(&v).into_owned());
                }
                continue;
            }
            opcode::IDLE => {
                r.length().ok_or_else(|| short(&r))?;
                continue;
            }
            opcode::FREQ => {
                r.byte().ok_or_else(|| short(&r))?;
                continue;
            }
            opcode::MODULE_AUX => {
                return Err(format!(
                    "The RDB file contains module AUX data at byte {at}, which this server cannot load (no modules)"
                ));
            }
            opcode::FUNCTION_RC => {
                return Err(format!(
                    "The RDB file contains a function library in Redis 7.0-rc's format at byte {at}, which is not supported"
                ));
            }
            opcode::FUNCTION2 => {
                out.functions.push(r.string().ok_or_else(|| short(&r))?);
                continue;
            }
            opcode::EOF => {
                if version >= 5 {
                    let b = r.bytes(8).ok_or_else(|| short(&r))?;
                    let expected = u64::from_le_bytes(b.try_into().map_err(|_| short(&r))?);
                    if check_crc && expected != 0 {
                        let got = crc64(0, &data[..r.pos - 8]);
                        if got != expected {
                            return Err(format!(
                                "Wrong RDB checksum expected: ({expected:x}) got ({got:x}). Aborting now."
                            ));
                        }
                    }
                }
                return Ok(out);
            }
            t if MODULE_TYPES.contains(&t) => {
                return Err(format!(
                    "The RDB file contains a module value (type {t}) at byte {at}, which this server cannot load (no modules)"
                ));
            }
            t => {
                let key = r.string().ok_or_else(|| short(&r))?;
                let value = read_value(t, &mut r, limits).map_err(|e| match e {
                    ReadError::Bad => format!(
                        "Bad data format loading key '{}' (RDB type {t}) at byte {at}",
                        String::from_utf8_lossy(&key)
                    ),
                    ReadError::Unsupported(u) => {
                        format!(
                            "Unknown RDB encoding type {u} for key '{}' at byte {at}",
                            String::from_utf8_lossy(&key)
                        )
                    }
                })?;
                let deadline = std::mem::take(&mut expire_at);
                if deadline != 0 && deadline <= now_ms {
                    out.expired += 1;
                    continue;
                }
                // A loaded key is as new: its LRU clock reads now (Redis's createObject).
                let mut entry = Entry::new(key.as_slice().into(), value, deadline);
                entry.set_access(crate::store::access::lru_clock(now_ms));
                put(db, entry)?;
                out.keys += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StrValue, Value};

    fn entry(k: &str, v: &str, at: u64) -> Entry {
        Entry::new(
            k.as_bytes().into(),
            Value::Str(StrValue::from_bytes(v.as_bytes())),
            at,
        )
    }

    fn file(entries: &[(usize, Entry)], functions: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out, "7.0.15", 1, 2);
        for f in functions {
            write_function(&mut out, f);
        }
        let o = WriteOptions::default();
        for (db, e) in entries {
            write_select(&mut out, *db, None);
            assert!(write_entry(&mut out, e, &o));
        }
        let crc = crc64(0, &out);
        write_trailer(&mut out, Some(crc));
        out
    }

    type Keys = Vec<(usize, Vec<u8>, u64)>;

    fn load(data: &[u8], now: u64) -> Result<(Loaded, Keys), String> {
        let mut got = Vec::new();
        let l = read_file(
            data,
            16,
            &EncodingLimits::default(),
            now,
            true,
            |db, e| {
                got.push((db, e.key.as_bytes().to_vec(), e.expire_at()));
                Ok(())
            },
            |_, _| {},
        )?;
        Ok((l, got))
    }

    #[test]
    fn round_trips_keys_databases_deadlines_and_functions() {
        let data = file(
            &[
                (0, entry("a", "1", 0)),
                (3, entry("b", "hello world, a longer string value", 5_000)),
                (0, entry("c", "x", 0)),
            ],
            &[b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"],
        );
        let (l, got) = load(&data, 10).expect("loads");
        assert_eq!(l.keys, 3);
        assert_eq!(l.functions.len(), 1);
        assert_eq!(l.redis_ver.as_deref(), Some("7.0.15"));
        assert_eq!(
            got,
            vec![
                (0, b"a".to_vec(), 0),
                (3, b"b".to_vec(), 5_000),
                (0, b"c".to_vec(), 0)
            ]
        );
        let (l, got) = load(&data, 6_000).expect("loads");
        assert_eq!((l.keys, l.expired, got.len()), (2, 1, 2));
    }

    #[test]
    fn refuses_damage_without_panicking() {
        let data = file(&[(0, entry("a", "1", 0)), (1, entry("b", "2", 0))], &[]);
        for cut in 0..data.len() {
            assert!(load(&data[..cut], 0).is_err(), "truncated at {cut}");
        }
        for i in 9..data.len() - 8 {
            let mut d = data.clone();
            d[i] ^= 0x5a;
            assert!(load(&d, 0).is_err(), "flipped byte {i} loaded");
        }
        let mut d = data.clone();
        d[5..9].copy_from_slice(b"0011");
        assert!(load(&d, 0).unwrap_err().contains("version 11"));
    }

    #[test]
    fn databases_out_of_range_and_modules_are_refused() {
        let data = file(&[(20, entry("a", "1", 0))], &[]);
        assert!(load(&data, 0)
            .unwrap_err()
            .contains("more than 16 databases"));
        let mut m = Vec::new();
        write_header(&mut m, "7.0.15", 1, 2);
        m.push(7);
        let crc = crc64(0, &m);
        write_trailer(&mut m, Some(crc));
        assert!(load(&m, 0).unwrap_err().contains("module"));
    }
}
