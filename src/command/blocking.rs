//! What the blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX,
//! BZMPOP) share: their timeout argument, and what each does when no key has data ([`Block`]).
//! Waiting, serving and timing out are the worker's (`worker/blocking.rs`).

use super::{Args, Block, Ctx};

/// A blocking call's wait in milliseconds (0: forever), read from its arguments by the
/// connection's worker to time the wait out; None when this call never waits (XREAD without
/// BLOCK). The handler checks the argument too, and refuses a bad one with Redis's text.
pub type TimeoutArg = fn(&Args) -> Option<u64>;

/// The timeout is the last argument, in seconds (BLPOP, BRPOP, BZPOPMIN, BZPOPMAX, BLMOVE,
/// BRPOPLPUSH).
pub fn timeout_last(a: &Args) -> Option<u64> {
    Some(parse_timeout(a.get(a.len() - 1)).unwrap_or(0))
}

/// The timeout is the first argument, in seconds (BLMPOP, BZMPOP).
pub fn timeout_first(a: &Args) -> Option<u64> {
    Some(parse_timeout(a.get(1)).unwrap_or(0))
}

/// A timeout in seconds (decimals allowed) as Redis 7.0's getTimeoutFromObjectOrReply reads it:
/// milliseconds rounded up, 0 for "forever". Errors carry Redis's texts.
pub fn parse_timeout(arg: &[u8]) -> Result<u64, &'static str> {
    const NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
    if arg.is_empty() || arg.len() >= 5 * 1024 || arg[0].is_ascii_whitespace() {
        return Err(NOT_FLOAT);
    }
    let (v, used, erange) = crate::num::strtod(arg);
    if used != arg.len() || v.is_nan() {
        return Err(NOT_FLOAT);
    }
    if erange {
        // Redis reads a long double: 1e400 is finite there (and too big for the millisecond
        // count, which C turns negative); 1e-400 is a positive fraction of a millisecond.
        return match (v == 0.0, arg[0] == b'-') {
            (true, false) => Ok(1),
            (true, true) => Ok(0),
            _ => Err("ERR timeout is negative"),
        };
    }
    let ms = (v * 1000.0).ceil();
    // C converts an out-of-range value to LLONG_MIN on x86-64: negative.
    if !(0.0..9.2e18).contains(&ms) {
        return Err("ERR timeout is negative");
    }
    Ok(ms as u64)
}

/// The deadline of a wait of `timeout_ms` started at `now` (Unix ms), 0 for forever.
pub fn deadline(timeout_ms: u64, now: u64) -> u64 {
    if timeout_ms == 0 {
        0
    } else {
        now.saturating_add(timeout_ms)
    }
}

/// No key had data: inside MULTI or a script, the timeout reply at once (`null_array`: a null
/// array, else a null); otherwise no reply, and the client waits.
pub fn nothing(ctx: &mut Ctx, null_array: bool, source_only: bool) {
    match ctx.block {
        Block::Never => {
            if null_array {
                ctx.reply.null_array()
            } else {
                ctx.reply.null()
            }
        }
        _ => ctx.block = Block::Waits { source_only },
    }
}

/// The parsed arguments of LMPOP/ZMPOP and their blocking forms (`[timeout] numkeys key [key ...]
/// <side> [COUNT count]`, numkeys at `numkeys_at`): the range of key indices, whether the side is
/// the first of the two names accepted (`LEFT`/`MIN`), and the count.
pub struct MpopArgs {
    /// Indices of the key arguments.
    pub keys: std::ops::Range<usize>,
    /// The side named is the first of the two accepted.
    pub first_side: bool,
    /// Elements to pop at most (1 without COUNT).
    pub count: usize,
}

/// Parses MpopArgs in Redis's order: numkeys, the side (one of `sides`), COUNT, then (when
/// `blocking`) the timeout at index 1. Errors carry Redis's texts.
pub fn parse_mpop(
    a: &Args,
    numkeys_at: usize,
    sides: [&str; 2],
    blocking: bool,
) -> Result<MpopArgs, &'static str> {
    let numkeys = match a.int(numkeys_at) {
        Some(n) if n > 0 => n as u64,
        _ => return Err("ERR numkeys should be greater than 0"),
    };
    let where_at = match usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(numkeys_at + 1))
    {
        Some(w) if w < a.len() => w,
        _ => return Err(crate::resp::err::SYNTAX),
    };
    let first_side = if a.is(where_at, sides[0]) {
        true
    } else if a.is(where_at, sides[1]) {
        false
    } else {
        return Err(crate::resp::err::SYNTAX);
    };
    let mut count = None;
    let mut i = where_at + 1;
    while i < a.len() {
        if count.is_none() && i + 1 < a.len() && a.is(i, "count") {
            match a.int(i + 1) {
                Some(n) if n > 0 => count = Some(n as u64),
                _ => return Err("ERR count should be greater than 0"),
            }
            i += 2;
        } else {
            return Err(crate::resp::err::SYNTAX);
        }
    }
    if blocking {
        parse_timeout(a.get(1))?;
    }
    Ok(MpopArgs {
        keys: numkeys_at + 1..where_at,
        first_side,
        count: usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_as_redis_reads_them() {
        assert_eq!(parse_timeout(b"0"), Ok(0));
        assert_eq!(parse_timeout(b"0.1"), Ok(100));
        assert_eq!(parse_timeout(b"0.0001"), Ok(1));
        assert_eq!(parse_timeout(b"1.5"), Ok(1500));
        assert_eq!(parse_timeout(b"0x10"), Ok(16000));
        assert_eq!(parse_timeout(b"-1"), Err("ERR timeout is negative"));
        assert_eq!(parse_timeout(b"inf"), Err("ERR timeout is negative"));
        assert!(parse_timeout(b"abc").is_err());
        assert!(parse_timeout(b" 1").is_err());
        assert!(parse_timeout(b"1 ").is_err());
        assert!(parse_timeout(b"").is_err());
        assert!(parse_timeout(b"nan").is_err());
    }
}
