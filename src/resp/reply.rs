//! Reply encoder for RESP2 and RESP3.
//!
//! Handlers describe a reply in terms of its meaning (a map, a set, a double, a null); the encoder picks
//! the wire form for the client's protocol version, so no handler ever branches on the protocol.

/// Common error replies, Redis's exact text.
pub mod err {
    pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    pub const NOT_INT: &str = "ERR value is not an integer or out of range";
    pub const NOT_FLOAT: &str = "ERR value is not a valid float";
    pub const SYNTAX: &str = "ERR syntax error";
    pub const NO_SUCH_KEY: &str = "ERR no such key";
    pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
    pub const DB_INDEX: &str = "ERR DB index is out of range";
    pub const OUT_OF_RANGE: &str = "ERR index out of range";
    pub const POSITIVE: &str = "ERR value is out of range, must be positive";
}

/// The error replies written by this thread, for INFO's `total_error_replies` and errorstats.
///
/// Every error reply goes through [`Reply::error`] or [`Reply::error_bytes`], which count it here: a
/// thread-local tally, so counting costs nothing on the path of replies that are not errors and takes
/// no lock. The worker publishes the tally once per loop iteration (and before INFO runs), and compares
/// [`count`] before and after a handler to know whether that command failed, as Redis compares its
/// `stat_total_error_replies`.
pub mod errors {
    use std::cell::{Cell, RefCell};

    /// Distinct error codes tallied at most (Redis caps errorstats at 128 codes too); errors of further
    /// codes still count in the total.
    pub const MAX_CODES: usize = 128;

    thread_local! {
        static TOTAL: Cell<u64> = const { Cell::new(0) };
        static MUTED: Cell<bool> = const { Cell::new(false) };
        static CODES: RefCell<Vec<(Box<[u8]>, u64)>> = const { RefCell::new(Vec::new()) };
    }

    /// The code of an error message as Redis keys errorstats: the first word when a space comes within
    /// the first 31 bytes (32 counting the `-` of the wire form), else `ERR`.
    pub fn code(msg: &[u8]) -> &[u8] {
        match memchr::memchr(b' ', &msg[..msg.len().min(31)]) {
            Some(at) => &msg[..at],
            None => b"ERR",
        }
    }

    /// Counts one error reply. O(codes seen) for the code lookup, errors only.
    pub fn note(msg: &[u8]) {
        if MUTED.with(Cell::get) {
            return;
        }
        TOTAL.with(|t| t.set(t.get() + 1));
        let code = code(msg);
        CODES.with(|c| {
            let mut c = c.borrow_mut();
            if let Some(e) = c.iter_mut().find(|(k, _)| &**k == code) {
                e.1 += 1;
            } else if c.len() < MAX_CODES {
                c.push((code.into(), 1));
            }
        });
    }

    /// Error replies written by this thread so far.
    #[inline]
    pub fn count() -> u64 {
        TOTAL.with(Cell::get)
    }

    /// Calls `f` on this thread's (code, count) pairs, in order of first occurrence.
    pub fn with_codes<R>(f: impl FnOnce(&[(Box<[u8]>, u64)]) -> R) -> R {
        CODES.with(|c| f(&c.borrow()))
    }

    /// Runs `f` without counting the errors it writes (the parts of a command run on every shard
    /// answer the same error each: the part run where the command arrived counts it once).
    pub fn muted<R>(f: impl FnOnce() -> R) -> R {
        /// Restores the previous state even if `f` panics (the worker survives a handler's panic).
        struct Restore(bool);
        impl Drop for Restore {
            fn drop(&mut self) {
                let was = self.0;
                let _ = MUTED.try_with(|m| m.set(was));
            }
        }
        let _restore = Restore(MUTED.with(|m| m.replace(true)));
        f()
    }
}

/// A large value shared with the keyspace instead of copied into an output buffer.
pub type SharedValue = bytes::Bytes;

/// Large values to send at byte offsets of an output buffer: `(offset, value)` means the value's bytes
/// go out right before the buffer byte at `offset`. Offsets never decrease.
pub type Refs = Vec<(usize, SharedValue)>;

/// Values shorter than this are copied into the output; longer ones are referenced and written with
/// `writev` straight from the keyspace (no copy in user space).
pub const ZERO_COPY_MIN: usize = 1024;

/// A reply being written for one command into an output buffer.
pub struct Reply<'a> {
    out: &'a mut Vec<u8>,
    refs: Option<&'a mut Refs>,
    resp3: bool,
}

impl<'a> Reply<'a> {
    /// Starts writing replies into `out` for a client speaking RESP3 when `resp3`.
    #[inline]
    pub fn new(out: &'a mut Vec<u8>, resp3: bool) -> Self {
        Reply {
            out,
            refs: None,
            resp3,
        }
    }

    /// Like [`Reply::new`], with a list where large values are referenced instead of copied.
    #[inline]
    pub fn with_refs(out: &'a mut Vec<u8>, refs: &'a mut Refs, resp3: bool) -> Self {
        Reply {
            out,
            refs: Some(refs),
            resp3,
        }
    }

    /// A bulk string whose bytes are shared with the keyspace: referenced when the output supports it,
    /// copied otherwise.
    pub fn bulk_shared(&mut self, value: &SharedValue) {
        if value.len() < ZERO_COPY_MIN || self.refs.is_none() {
            return self.bulk(value);
        }
        self.header(b'$', value.len() as i64);
        let at = self.out.len();
        if let Some(refs) = self.refs.as_deref_mut() {
            refs.push((at, value.clone()));
        }
        self.out.extend_from_slice(b"\r\n");
    }

    /// Whether the client speaks RESP3 (a few replies differ in content, not only in form).
    #[inline]
    pub fn resp3(&self) -> bool {
        self.resp3
    }

    /// Switches the protocol (HELLO answers in the version it just negotiated).
    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }

    /// Bytes written so far (used to tell whether a handler replied).
    #[inline]
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether what was written after byte `at` (see [`Reply::len`]) starts with an error.
    #[inline]
    pub fn error_since(&self, at: usize) -> bool {
        self.out.get(at) == Some(&b'-')
    }

    /// Whether nothing has been written yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Discards what was written after `len` (a handler that changes its mind, e.g. an aborted reply).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.out.truncate(len)
    }

    /// Appends pre-encoded RESP.
    #[inline]
    pub fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// A `<COMMAND> HELP` reply, as Redis's addReplyHelp writes it: the heading, the lines, then
    /// the HELP entry every command has.
    pub fn help(&mut self, command: &str, lines: &[&str]) {
        self.array(lines.len() + 3);
        self.simple(&format!(
            "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
        ));
        for l in lines {
            self.simple(l);
        }
        self.simple("HELP");
        self.simple("    Prints this help.");
    }

    /// `+OK`.
    #[inline]
    pub fn ok(&mut self) {
        self.raw(b"+OK\r\n");
    }

    /// A simple string (`+text`).
    #[inline]
    pub fn simple(&mut self, s: &str) {
        self.out.push(b'+');
        self.out.extend_from_slice(s.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// An error; `msg` carries its code (`ERR ...`, `WRONGTYPE ...`). Line breaks become spaces, as in Redis.
    /// Counted in this thread's [`errors`] tally.
    pub fn error(&mut self, msg: &str) {
        errors::note(msg.as_bytes());
        self.out.push(b'-');
        self.out.extend(
            msg.bytes()
                .map(|c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
        self.out.extend_from_slice(b"\r\n");
    }

    /// An error given as bytes (it may quote client bytes verbatim, as Redis does, valid UTF-8 or not).
    /// Line breaks become spaces. Counted in this thread's [`errors`] tally.
    pub fn error_bytes(&mut self, msg: &[u8]) {
        errors::note(msg);
        self.out.push(b'-');
        self.out.extend(
            msg.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
        self.out.extend_from_slice(b"\r\n");
    }

    #[inline]
    fn header(&mut self, tag: u8, n: i64) {
        self.out.push(tag);
        let mut b = itoa::Buffer::new();
        self.out.extend_from_slice(b.format(n).as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// An integer (`:n`).
    #[inline]
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    /// A bulk string.
    #[inline]
    pub fn bulk(&mut self, s: &[u8]) {
        self.header(b'$', s.len() as i64);
        self.out.extend_from_slice(s);
        self.out.extend_from_slice(b"\r\n");
    }

    /// An integer sent as a bulk string (GET of an integer-encoded value).
    #[inline]
    pub fn bulk_i64(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    #[inline]
    pub fn null(&mut self) {
        if self.resp3 {
            self.raw(b"_\r\n")
        } else {
            self.raw(b"$-1\r\n")
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    #[inline]
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.raw(b"_\r\n")
        } else {
            self.raw(b"*-1\r\n")
        }
    }

    /// An array header of `n` elements.
    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map header of `n` pairs: `%n` in RESP3, a flat array of `2n` in RESP2.
    #[inline]
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64)
        } else {
            self.header(b'*', 2 * n as i64)
        }
    }

    /// A set header: `~n` in RESP3, an array in RESP2.
    #[inline]
    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// A double: `,d` in RESP3, a bulk string in RESP2; formatted as Redis 7.0 does (`%.17g`).
    pub fn double(&mut self, d: f64) {
        let mut tmp = [0u8; 64];
        let s = crate::num::format_double(d, &mut tmp);
        if self.resp3 {
            self.out.push(b',');
            self.out.extend_from_slice(s);
            self.out.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn bool(&mut self, b: bool) {
        if self.resp3 {
            self.raw(if b { b"#t\r\n" } else { b"#f\r\n" })
        } else {
            self.int(b as i64)
        }
    }

    /// Text for humans (INFO, CLIENT LIST): a verbatim string in RESP3, a bulk string in RESP2.
    pub fn verbatim(&mut self, s: &[u8]) {
        if self.resp3 {
            self.header(b'=', s.len() as i64 + 4);
            self.out.extend_from_slice(b"txt:");
            self.out.extend_from_slice(s);
            self.out.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }
}

/// Appends `b` quoted as Redis's sdscatrepr quotes it (MONITOR, redis-cli): in double quotes,
/// with `\\`, `"`, `\n`, `\r`, `\t`, `\a`, `\b` escaped and other unprintable bytes as `\xHH`.
/// O(bytes).
pub fn quote_repr(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'"');
    for &c in b {
        match c {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// What C's `%s` prints of a client argument: its bytes up to the first NUL (Redis formats error
/// messages with printf-style functions).
pub fn c_str(b: &[u8]) -> &[u8] {
    match memchr::memchr(0, b) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// What C's `%.Ns` prints: at most `max` bytes, up to the first NUL.
pub fn c_str_max(b: &[u8], max: usize) -> &[u8] {
    let b = c_str(b);
    &b[..b.len().min(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(resp3: bool, f: impl FnOnce(&mut Reply)) -> String {
        let mut v = Vec::new();
        f(&mut Reply::new(&mut v, resp3));
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn protocol_dependent_forms() {
        assert_eq!(enc(false, |r| r.null()), "$-1\r\n");
        assert_eq!(enc(true, |r| r.null()), "_\r\n");
        assert_eq!(enc(false, |r| r.map(2)), "*4\r\n");
        assert_eq!(enc(true, |r| r.map(2)), "%2\r\n");
        assert_eq!(enc(false, |r| r.double(1.5)), "$3\r\n1.5\r\n");
        assert_eq!(enc(true, |r| r.double(f64::INFINITY)), ",inf\r\n");
        assert_eq!(
            enc(false, |r| r.double(0.1)),
            "$19\r\n0.10000000000000001\r\n"
        );
        assert_eq!(enc(false, |r| r.error("ERR a\r\nb")), "-ERR a  b\r\n");
        let mut v = Vec::new();
        Reply::new(&mut v, false).error_bytes(b"ERR \xff\r\n");
        assert_eq!(v, b"-ERR \xff  \r\n");
        assert_eq!(c_str(b"a\0b"), b"a");
        assert_eq!(c_str_max(b"abcdef", 3), b"abc");
        assert_eq!(c_str_max(b"a\0bcdef", 3), b"a");
    }

    #[test]
    fn errors_are_tallied_by_code() {
        let before = errors::count();
        let mut v = Vec::new();
        let mut r = Reply::new(&mut v, false);
        r.error("WRONGTYPE Operation against a key");
        r.error_bytes(b"NOSPACEHERE");
        errors::muted(|| r.error("ERR not counted"));
        assert_eq!(errors::count(), before + 2);
        let panicked = std::panic::catch_unwind(|| errors::muted(|| panic!("handler bug")));
        assert!(panicked.is_err());
        r.error("ERR counted again after a panic while muted");
        assert_eq!(errors::count(), before + 3);
        assert_eq!(errors::code(b"ERR x"), b"ERR");
        assert_eq!(errors::code(b"NOPROTO sorry"), b"NOPROTO");
        assert_eq!(errors::code(&[b'A'; 40]), b"ERR");
        errors::with_codes(|c| {
            assert!(c.iter().any(|(k, n)| &**k == b"WRONGTYPE" && *n >= 1));
            assert!(c.iter().any(|(k, _)| &**k == b"ERR"));
        });
    }
}
