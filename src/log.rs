//! The server log, in Redis's format and levels: `pid:M 01 Dec 2026 21:37:26.308 * message`, where
//! the mark is `.` debug, `-` verbose, `*` notice and `#` warning. Lines go to standard output, as
//! Redis's do when `logfile` is empty. The level is `loglevel`, changeable with CONFIG SET.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// Log levels, most verbose first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);

/// Sets the level from its Redis name (unknown names leave it unchanged).
pub fn set_level(name: &str) {
    let l = match name {
        "debug" => Level::Debug,
        "verbose" => Level::Verbose,
        "notice" => Level::Notice,
        "warning" => Level::Warning,
        _ => return,
    };
    LEVEL.store(l as u8, Ordering::Relaxed);
}

/// Whether a line at `level` is written (check before formatting an expensive message).
#[inline]
pub fn enabled(level: Level) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line at `level` if the level is enabled.
pub fn log(level: Level, msg: std::fmt::Arguments) {
    if !enabled(level) {
        return;
    }
    let mark = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        Level::Warning => '#',
    };
    let line = format!("{}:M {} {mark} {msg}\n", std::process::id(), timestamp());
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

/// Now as Redis prints it: `01 Dec 2026 21:37:26.308` (UTC).
fn timestamp() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{d:02} {} {y} {:02}:{:02}:{:02}.{:03}",
        MONTHS[(m - 1) as usize],
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// (year, month 1-12, day 1-31) of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Logs at a level: `log_at!(Verbose, "Accepted {}", addr)`.
#[macro_export]
macro_rules! log_at {
    ($level:ident, $($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::$level) {
            $crate::log::log($crate::log::Level::$level, format_args!($($arg)*));
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn levels_filter() {
        set_level("warning");
        assert!(enabled(Level::Warning) && !enabled(Level::Notice));
        set_level("debug");
        assert!(enabled(Level::Debug));
        set_level("notice");
    }
}
