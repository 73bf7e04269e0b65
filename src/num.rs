//! Redis's number syntax and formatting, in one room: integers as `string2ll` reads them, doubles as
//! C's `strtod` reads them and as Redis prints them (`%.17g`), and INCRBYFLOAT's long double
//! arithmetic (C's `long double` has no Rust counterpart: its Rust side is here, its C side in
//! `src/c/ldouble.c`, compiled by `build.rs`).
//!
//! The command families parse arguments with these and the reply encoder formats doubles with them.
//! This module imports nothing of the crate, so anything may use it.
#![warn(missing_docs)]

/// Parses a signed decimal exactly as Redis's `string2ll`: no '+', no leading zeros, no spaces, fits i64.
/// O(len).
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// This thread's `errno`, through which `strtod` reports overflow and underflow.
#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn errno_ptr() -> *mut libc::c_int {
    libc::__errno_location()
}

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly"
))]
/// This thread's `errno`, through which `strtod` reports overflow and underflow.
unsafe fn errno_ptr() -> *mut libc::c_int {
    libc::__error()
}

/// C's `strtod` on `b` (as if NUL-terminated, so an embedded NUL ends the number): the value, how many
/// bytes it used, and whether it set ERANGE. Redis parses scores and range ends with it, and clients
/// can tell (hex floats, overflow, leading spaces), so Rust's float parser is not a substitute.
/// O(len); allocates only for arguments of 128 bytes or more.
pub fn strtod(b: &[u8]) -> (f64, usize, bool) {
    let mut stack = [0u8; 128];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if b.len() < stack.len() {
        &mut stack[..=b.len()]
    } else {
        heap.resize(b.len() + 1, 0);
        &mut heap
    };
    buf[..b.len()].copy_from_slice(b);
    buf[b.len()] = 0;
    let start = buf.as_ptr() as *const libc::c_char;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; strtod only reads up to the NUL and
    // stores into `end` a pointer within `buf`. errno is thread-local.
    let (v, erange) = unsafe {
        *errno_ptr() = 0;
        let v = libc::strtod(start, &mut end);
        (v, *errno_ptr() == libc::ERANGE)
    };
    let used = (end as usize).saturating_sub(start as usize).min(b.len());
    (v, used, erange)
}

/// Formats a double as Redis 7.0 replies do: `inf`, `-inf`, `nan`, otherwise C's `%.17g`, into `tmp`.
/// O(1).
pub fn format_double(d: f64, tmp: &mut [u8; 64]) -> &[u8] {
    if d.is_infinite() {
        return if d > 0.0 { b"inf" } else { b"-inf" };
    }
    if d.is_nan() {
        return b"nan";
    }
    // SAFETY: the format string is NUL-terminated, takes exactly one double, and snprintf never writes
    // more than tmp.len() bytes (including the terminating NUL).
    let n = unsafe {
        libc::snprintf(
            tmp.as_mut_ptr() as *mut libc::c_char,
            tmp.len(),
            c"%.17g".as_ptr(),
            d,
        )
    };
    &tmp[..(n.max(0) as usize).min(tmp.len() - 1)]
}

/// Why a long double increment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrError {
    /// The current value is not a number.
    BadCurrent,
    /// The increment is not a number.
    BadIncrement,
    /// The increment itself is infinite (rejected by HINCRBYFLOAT).
    InfiniteIncrement,
    /// The result would be NaN or infinite.
    NotFinite,
}

extern "C" {
    fn rustis_ld_incr(
        cur: *const u8,
        cur_len: usize,
        incr: *const u8,
        incr_len: usize,
        check_incr_finite: i32,
        out: *mut u8,
        out_cap: usize,
    ) -> i32;
}

/// `current + increment` computed and printed exactly as Redis's INCRBYFLOAT does: C long double
/// arithmetic, `%.17Lf`, trailing zeros removed. `current` is None for a missing value. O(digits).
pub fn long_double_incr(
    current: Option<&[u8]>,
    increment: &[u8],
    reject_infinite_increment: bool,
) -> Result<Vec<u8>, IncrError> {
    // Room for any long double printed with %.17Lf; only the result is allocated.
    let mut out = [0u8; 5 * 1024 + 64];
    let (cp, cl) = current
        .map(|c| (c.as_ptr(), c.len()))
        .unwrap_or((std::ptr::null(), 0));
    // SAFETY: the C function reads exactly cl/incr.len() bytes from the given pointers (copying them
    // into its own NUL-terminated buffer) and writes at most out.len() bytes into out.
    let n = unsafe {
        rustis_ld_incr(
            cp,
            cl,
            increment.as_ptr(),
            increment.len(),
            reject_infinite_increment as i32,
            out.as_mut_ptr(),
            out.len(),
        )
    };
    match n {
        -1 => Err(IncrError::BadCurrent),
        -2 => Err(IncrError::BadIncrement),
        -5 => Err(IncrError::InfiniteIncrement),
        n if n < 0 => Err(IncrError::NotFinite),
        n => Ok(out[..n as usize].to_vec()),
    }
}

/// Formats a double as INCRBYFLOAT stores it: plain decimal notation, shortest form that round-trips,
/// no exponent and no trailing zeros (Redis prints its long double with `%.17Lf` and trims zeros).
/// O(digits).
pub fn format_human_double(d: f64) -> String {
    if d == 0.0 {
        return "0".to_string();
    }
    format!("{d}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"-0"), None);
    }

    #[test]
    fn strtod_reports_what_it_used() {
        assert_eq!(strtod(b"1.5"), (1.5, 3, false));
        assert_eq!(strtod(b" 2x"), (2.0, 2, false));
        assert_eq!(strtod(b"0x10"), (16.0, 4, false));
        assert_eq!(strtod(b"3\0junk"), (3.0, 1, false));
        assert_eq!(strtod(b""), (0.0, 0, false));
        let (v, _, erange) = strtod(b"1e400");
        assert!(v.is_infinite() && erange);
        let long = format!("1{}", "0".repeat(300));
        assert_eq!(strtod(long.as_bytes()), (1e300, 301, false));
    }

    #[test]
    fn doubles_print_as_redis_replies() {
        let mut tmp = [0u8; 64];
        assert_eq!(format_double(1.5, &mut tmp), b"1.5");
        assert_eq!(format_double(0.1, &mut tmp), b"0.10000000000000001");
        assert_eq!(format_double(f64::NEG_INFINITY, &mut tmp), b"-inf");
        assert_eq!(format_double(f64::NAN, &mut tmp), b"nan");
        assert_eq!(format_double(-0.0, &mut tmp), b"-0");
        assert_eq!(format_double(1e300, &mut tmp), b"1.0000000000000001e+300");
    }

    #[test]
    fn human_doubles() {
        assert_eq!(format_human_double(10.5 + 0.1), "10.6");
        assert_eq!(format_human_double(3.0), "3");
        assert_eq!(format_human_double(-0.0), "0");
        assert_eq!(format_human_double(1e20), "100000000000000000000");
    }

    #[test]
    fn long_double_increments_match_redis() {
        assert_eq!(
            long_double_incr(Some(b"10.5"), b"0.1", false).unwrap(),
            b"10.6"
        );
        assert_eq!(
            long_double_incr(Some(b"5.6"), b"1e3", false).unwrap(),
            b"1005.59999999999999998"
        );
        assert_eq!(long_double_incr(None, b"3", false).unwrap(), b"3");
        assert_eq!(
            long_double_incr(Some(b"abc"), b"1", false),
            Err(IncrError::BadCurrent)
        );
        assert_eq!(
            long_double_incr(Some(b"1"), b" 1", false),
            Err(IncrError::BadIncrement)
        );
        assert_eq!(
            long_double_incr(Some(b"1"), b"inf", false),
            Err(IncrError::NotFinite)
        );
        assert_eq!(
            long_double_incr(Some(b"1"), b"inf", true),
            Err(IncrError::InfiniteIncrement)
        );
    }
}
