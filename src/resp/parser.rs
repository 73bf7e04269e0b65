//! In-place RESP request parser.
//!
//! A request is parsed straight out of the connection's read buffer: the result is a list of byte ranges
//! into that buffer, so no argument is allocated or copied. Inline commands (`PING\r\n`, as typed into
//! telnet) are the one exception: their quoting rules may rewrite bytes, so their arguments are unescaped
//! into a scratch buffer owned by the caller.
//!
//! The error texts are Redis's own, because clients and test suites match on them.

use std::ops::Range;

use crate::num::parse_i64;

/// Longest header line (`*<n>` / `$<n>`) or inline request accepted without its terminator, as in Redis.
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// Which buffer the ranges of a parsed command point into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Ranges index the read buffer that was parsed.
    Input,
    /// Ranges index the caller's scratch buffer (an inline command).
    Scratch,
}

/// Outcome of one call to [`parse_command`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// The buffer does not yet hold a whole request; read more and call again.
    Incomplete,
    /// A whole request of `consumed` bytes; its arguments were written to `args`. `args` may be empty
    /// (`*0\r\n`, a blank inline line): the request is consumed and nothing is executed.
    Command { consumed: usize, source: Source },
}

/// A protocol violation: the message is Redis's error text (without `-ERR `); the connection is answered
/// and then closed, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

/// Parses one request from the front of `buf`.
///
/// `args` is cleared and receives one range per argument. `max_bulk_len` is `proto-max-bulk-len`.
/// Cost: O(header bytes + number of arguments); bulk payloads are skipped, not scanned.
pub fn parse_command(
    buf: &[u8],
    args: &mut Vec<Range<usize>>,
    scratch: &mut Vec<u8>,
    max_bulk_len: usize,
) -> Result<Parsed, ProtocolError> {
    args.clear();
    match buf.first() {
        None => Ok(Parsed::Incomplete),
        Some(b'*') => parse_multibulk::<true>(buf, args, max_bulk_len),
        Some(_) => parse_inline(buf, args, scratch),
    }
}

/// Finds the `\r\n`-terminated line starting at `from`; returns the index of its `\r`.
#[inline]
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    // Header lines are a few digits: look at the first bytes one by one before paying for a
    // vectorised search (which costs more to set up than such a line takes to scan).
    let near = (from + 24).min(buf.len());
    let cr = match buf[from..near].iter().position(|&b| b == b'\r') {
        Some(rel) => from + rel,
        None if near == buf.len() => return None,
        None => near + memchr::memchr(b'\r', &buf[near..])?,
    };
    // Redis looks for "\r\n"; a lone '\r' followed by more data is part of the line. Headers are digits,
    // so a stray '\r' simply makes the number invalid, which is the same outcome.
    if cr + 1 < buf.len() {
        Some(cr)
    } else {
        None
    }
}

/// The common header line, read in one pass: one to nine decimal digits without a leading zero (or
/// a lone `0`) starting at `from`, then `\r` and at least one more byte. Returns the number and the
/// index of its `\r`. Anything else (a longer or negative number, a malformed or incomplete line)
/// returns None and takes the general path, which finds the line and then parses it as Redis
/// does: both paths agree wherever this one answers.
#[inline(always)]
fn short_header(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let b = buf.get(from..)?;
    let first = *b.first()?;
    let mut v = first.wrapping_sub(b'1') as usize;
    if v > 8 {
        return (first == b'0' && b.get(1) == Some(&b'\r') && b.len() > 2).then_some((0, from + 1));
    }
    v += 1;
    let end = b.len().min(10);
    let mut i = 1;
    while i < end {
        let c = b[i];
        if c == b'\r' {
            return (i + 1 < b.len()).then_some((v, from + i));
        }
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as usize;
        i += 1;
    }
    None
}

/// A multibulk request; `FAST` reads common header lines with [`short_header`] (false only in the
/// test that checks both paths agree).
fn parse_multibulk<const FAST: bool>(
    buf: &[u8],
    args: &mut Vec<Range<usize>>,
    max_bulk_len: usize,
) -> Result<Parsed, ProtocolError> {
    let (count, mut pos) = match FAST.then(|| short_header(buf, 1)).flatten() {
        Some((n, cr)) => (n as i64, cr + 2),
        None => {
            let Some(cr) = line_end(buf, 1) else {
                if buf.len() > INLINE_MAX_SIZE {
                    return Err(ProtocolError(
                        "Protocol error: too big mbulk count string".into(),
                    ));
                }
                return Ok(Parsed::Incomplete);
            };
            match parse_i64(&buf[1..cr]) {
                Some(n) if n <= i32::MAX as i64 => (n, cr + 2),
                _ => {
                    return Err(ProtocolError(
                        "Protocol error: invalid multibulk length".into(),
                    ))
                }
            }
        }
    };
    if count <= 0 {
        return Ok(Parsed::Command {
            consumed: pos,
            source: Source::Input,
        });
    }
    for _ in 0..count {
        if pos >= buf.len() {
            return Ok(Parsed::Incomplete);
        }
        let fast = match buf[pos] {
            b'$' if FAST => short_header(buf, pos + 1),
            _ => None,
        };
        let (len, cr) = match fast {
            Some((n, cr)) if n <= max_bulk_len => (n, cr),
            Some(_) => return Err(ProtocolError("Protocol error: invalid bulk length".into())),
            None => {
                let Some(cr) = line_end(buf, pos) else {
                    if buf.len() - pos > INLINE_MAX_SIZE {
                        return Err(ProtocolError(
                            "Protocol error: too big bulk count string".into(),
                        ));
                    }
                    return Ok(Parsed::Incomplete);
                };
                if buf[pos] != b'$' {
                    let got = buf[pos] as char;
                    return Err(ProtocolError(format!(
                        "Protocol error: expected '$', got '{got}'"
                    )));
                }
                match parse_i64(&buf[pos + 1..cr]) {
                    Some(n) if n >= 0 && (n as u64) <= max_bulk_len as u64 => (n as usize, cr),
                    _ => return Err(ProtocolError("Protocol error: invalid bulk length".into())),
                }
            }
        };
        let start = cr + 2;
        // Redis skips the two bytes after the payload without checking them; so do we.
        let end = start + len;
        if end + 2 > buf.len() {
            return Ok(Parsed::Incomplete);
        }
        args.push(start..end);
        pos = end + 2;
    }
    Ok(Parsed::Command {
        consumed: pos,
        source: Source::Input,
    })
}

/// The length a multibulk request at the front of `buf` will have at least, as far as the headers
/// received tell: the end of its first incomplete bulk argument; 0 when unknown (no header yet, an
/// inline request, or a malformed one, which [`parse_command`] reports). Lets the reader size its
/// buffer once for a big argument instead of growing it by doubling. O(header bytes).
pub fn bytes_needed(buf: &[u8]) -> usize {
    if buf.first() != Some(&b'*') {
        return 0;
    }
    let Some(cr) = line_end(buf, 1) else {
        return 0;
    };
    let count = parse_i64(&buf[1..cr]).unwrap_or(0);
    let mut pos = cr + 2;
    for _ in 0..count {
        let Some(cr) = (pos < buf.len()).then(|| line_end(buf, pos)).flatten() else {
            return 0;
        };
        let Some(len) = parse_i64(&buf[pos + 1..cr]).and_then(|n| usize::try_from(n).ok()) else {
            return 0;
        };
        let end = (cr + 2).saturating_add(len).saturating_add(2);
        if end > buf.len() {
            return end;
        }
        pos = end;
    }
    0
}

fn parse_inline(
    buf: &[u8],
    args: &mut Vec<Range<usize>>,
    scratch: &mut Vec<u8>,
) -> Result<Parsed, ProtocolError> {
    // Redis finds the end of an inline request with strchr(), which stops at a NUL byte: a request with a
    // NUL before its newline stays incomplete until it is too big.
    let nl = match memchr::memchr2(b'\n', 0, buf) {
        Some(i) if buf[i] == b'\n' => Some(i),
        _ => None,
    };
    let Some(nl) = nl else {
        if buf.len() > INLINE_MAX_SIZE {
            return Err(ProtocolError(
                "Protocol error: too big inline request".into(),
            ));
        }
        return Ok(Parsed::Incomplete);
    };
    let mut line = &buf[..nl];
    if let Some((b'\r', rest)) = line.split_last() {
        line = rest;
    }
    scratch.clear();
    if !split_args(line, args, scratch) {
        return Err(ProtocolError(
            "Protocol error: unbalanced quotes in request".into(),
        ));
    }
    Ok(Parsed::Command {
        consumed: nl + 1,
        source: Source::Scratch,
    })
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits an inline line into arguments with Redis's quoting rules (`sdssplitargs`): double quotes
/// with `\n \r \t \b \a \xHH` escapes, single quotes with `\'`; a closing quote must be followed by a
/// space or the end. Returns false on unbalanced quotes.
pub fn split_args(line: &[u8], args: &mut Vec<Range<usize>>, out: &mut Vec<u8>) -> bool {
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return true;
        }
        let start = out.len();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            if in_dq {
                if i >= n {
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 3 < n && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(line[i + 2]), hex_val(line[i + 3])) {
                        out.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < n {
                    let e = match line[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    };
                    out.push(e);
                    i += 2;
                } else if c == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                    i += 1;
                }
            } else if in_sq {
                if i >= n {
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    out.push(b'\'');
                    i += 2;
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                    i += 1;
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => out.push(c),
                }
                i += 1;
            }
        }
        args.push(start..out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass header reading agrees with the general path on every input: well-formed,
    /// cut short anywhere, and with header bytes replaced by digits, signs, zeros and terminators.
    #[test]
    fn fast_headers_agree_with_the_general_path() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let alphabet = b"0123456789-+$*\r\n a";
        let (mut fa, mut sa) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let argc = rnd(4);
            let mut req = format!("*{argc}\r\n").into_bytes();
            for _ in 0..argc {
                let len = [0, 1, 3, 9, 10, 12, 1_000_000_000][rnd(7) as usize];
                let len = if len > 20 { len } else { rnd(len + 1) };
                req.extend_from_slice(format!("${len}\r\n").as_bytes());
                if len <= 20 {
                    req.extend((0..len).map(|_| b'v'));
                    req.extend_from_slice(b"\r\n");
                }
            }
            for _ in 0..rnd(3) {
                let i = rnd(req.len() as u64) as usize;
                req[i] = alphabet[rnd(alphabet.len() as u64) as usize];
            }
            let cut = if rnd(2) == 0 {
                req.len()
            } else {
                rnd(req.len() as u64 + 1) as usize
            };
            let buf = &req[..cut];
            if buf.first() != Some(&b'*') {
                continue;
            }
            for max in [512 << 20, 5] {
                let fast = parse_multibulk::<true>(buf, &mut fa, max);
                let slow = parse_multibulk::<false>(buf, &mut sa, max);
                assert_eq!(fast, slow, "{:?} max {max}", String::from_utf8_lossy(buf));
                assert_eq!(fa, sa, "{:?}", String::from_utf8_lossy(buf));
            }
        }
    }

    #[test]
    fn bytes_needed_sees_the_incomplete_bulk() {
        assert_eq!(
            bytes_needed(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nab"),
            26 + 102
        );
        assert_eq!(bytes_needed(b"*2\r\n$3\r\nGET\r\n$1"), 0);
        assert_eq!(bytes_needed(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), 0);
        assert_eq!(bytes_needed(b"PING"), 0);
        assert_eq!(bytes_needed(b"*1\r\n$-5\r\n"), 0);
    }

    fn parse_all(mut buf: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut out = Vec::new();
        let mut args = Vec::new();
        let mut scratch = Vec::new();
        loop {
            match parse_command(buf, &mut args, &mut scratch, 512 << 20)? {
                Parsed::Incomplete => return Ok(out),
                Parsed::Command { consumed, source } => {
                    let base = if source == Source::Input {
                        buf
                    } else {
                        &scratch[..]
                    };
                    let cmd: Vec<Vec<u8>> = args.iter().map(|r| base[r.clone()].to_vec()).collect();
                    if !cmd.is_empty() {
                        out.push(cmd);
                    }
                    buf = &buf[consumed..];
                }
            }
        }
    }

    fn strs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_pipeline() {
        let got =
            parse_all(b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n").unwrap();
        assert_eq!(got, vec![strs(&["PING"]), strs(&["SET", "k", ""])]);
    }

    #[test]
    fn incomplete_frames_wait() {
        let full = b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n";
        for cut in 0..full.len() {
            assert_eq!(
                parse_all(&full[..cut]).unwrap(),
                Vec::<Vec<Vec<u8>>>::new(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn inline_with_quotes() {
        let got = parse_all(b"SET \"a b\" 'c\\'d' \"\\x41\\n\"\r\nPING\n").unwrap();
        assert_eq!(
            got,
            vec![
                vec![
                    b"SET".to_vec(),
                    b"a b".to_vec(),
                    b"c'd".to_vec(),
                    b"A\n".to_vec()
                ],
                strs(&["PING"])
            ]
        );
    }

    #[test]
    fn protocol_errors_use_redis_text() {
        let e = |b: &[u8]| parse_all(b).unwrap_err().0;
        assert_eq!(e(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(
            e(b"*1\r\n+foo\r\n"),
            "Protocol error: expected '$', got '+'"
        );
        assert_eq!(e(b"*1\r\n$-2\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(
            e(b"*1\r\n$999999999999\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            e(b"SET \"abc\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            e(b"SET \"abc\"d\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            e(&vec![b'a'; INLINE_MAX_SIZE + 1]),
            "Protocol error: too big inline request"
        );
    }

    #[test]
    fn inline_nul_before_newline_waits_as_redis() {
        assert_eq!(
            parse_all(b"ECHO \0\r\n").unwrap(),
            Vec::<Vec<Vec<u8>>>::new()
        );
        assert_eq!(
            parse_all(b"PING\r\n\0PING\r\n").unwrap(),
            vec![strs(&["PING"])]
        );
        let mut big = b"PING \0".to_vec();
        big.resize(INLINE_MAX_SIZE + 10, b'\n');
        assert_eq!(
            parse_all(&big).unwrap_err().0,
            "Protocol error: too big inline request"
        );
    }

    #[test]
    fn empty_requests_are_consumed() {
        assert_eq!(
            parse_all(b"*0\r\n*-1\r\n\r\n  \r\n").unwrap(),
            Vec::<Vec<Vec<u8>>>::new()
        );
    }
}
