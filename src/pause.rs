//! CLIENT PAUSE: the server-wide pause every worker obeys. While it lasts, the commands it covers
//! (every command with `ALL`; with `WRITE`, the ones that write or may be propagated) wait
//! unconsumed in their connections' input, and keys are not expired, so that an operator sees a
//! dataset that does not change (Redis's client pause, used for failovers).
//!
//! One pause state for the whole server, in atomics: a worker reads two of them per command
//! while no pause is set (the mode first, which is 0 then).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// What is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// Nothing.
    Off = 0,
    /// Commands that write or may be propagated (PUBLISH, PFCOUNT, EVAL...).
    Write = 1,
    /// Every command of a client.
    All = 2,
}

/// The server's pause: its mode and end, and a counter of changes (so that waiting connections
/// are looked at again when it changes).
#[derive(Debug, Default)]
pub struct Pause {
    mode: AtomicU8,
    until_ms: AtomicU64,
    epoch: AtomicU64,
    /// Serializes PAUSE and UNPAUSE (readers only load the atomics).
    change: std::sync::Mutex<()>,
}

impl Pause {
    /// Pauses `mode` until `until_ms` (Unix ms), at `now_ms`. A pause still in force keeps the
    /// wider mode and the later end, as Redis's pauseClients; one that ended is replaced.
    pub fn pause(&self, mode: Mode, until_ms: u64, now_ms: u64) {
        let _one = self.change.lock().unwrap_or_else(|e| e.into_inner());
        let (mut m, mut until) = (mode as u8, until_ms);
        if self.mode(now_ms) != Mode::Off {
            m = m.max(self.mode.load(Ordering::Acquire));
            until = until.max(self.until_ms.load(Ordering::Acquire));
        }
        // The end first: a reader that sees the new mode sees its end.
        self.until_ms.store(until, Ordering::Release);
        self.mode.store(m, Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Ends the pause (CLIENT UNPAUSE).
    pub fn unpause(&self) {
        let _one = self.change.lock().unwrap_or_else(|e| e.into_inner());
        self.mode.store(Mode::Off as u8, Ordering::Release);
        self.until_ms.store(0, Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// The mode in force at `now_ms` (Off once the end passed).
    #[inline]
    pub fn mode(&self, now_ms: u64) -> Mode {
        match self.mode.load(Ordering::Acquire) {
            0 => Mode::Off,
            m if self.until_ms.load(Ordering::Acquire) >= now_ms => {
                if m == 1 {
                    Mode::Write
                } else {
                    Mode::All
                }
            }
            _ => Mode::Off,
        }
    }

    /// When the pause ends (Unix ms), if one is set.
    pub fn until(&self) -> Option<u64> {
        (self.mode.load(Ordering::Acquire) != 0).then(|| self.until_ms.load(Ordering::Acquire))
    }

    /// Bumped on every PAUSE and UNPAUSE.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wider_mode_and_later_end_win_until_unpaused() {
        let p = Pause::default();
        assert_eq!(p.mode(0), Mode::Off);
        p.pause(Mode::All, 100, 0);
        p.pause(Mode::Write, 200, 50);
        assert_eq!(p.mode(150), Mode::All);
        assert_eq!(p.mode(201), Mode::Off);
        // Once ended, a new pause replaces it.
        p.pause(Mode::Write, 400, 300);
        assert_eq!(p.mode(350), Mode::Write);
        p.unpause();
        assert_eq!(p.mode(50), Mode::Off);
        assert_eq!(p.until(), None);
    }
}
