//! The slow log (SLOWLOG): commands whose execution took at least `slowlog-log-slower-than`
//! microseconds, newest first, at most `slowlog-max-len` of them, kept as Redis keeps them
//! (at most 32 arguments, each cut to 128 bytes, with a note of what was left out).
//!
//! One log for the server behind a lock, taken only when a command was slow or by SLOWLOG.

use std::collections::VecDeque;

/// Arguments kept per entry; the last one kept says how many more there were.
const MAX_ARGS: usize = 32;
/// Bytes kept per argument.
const MAX_STRING: usize = 128;

/// One slow command.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its number, counted from 0 since the server started (RESET does not restart it).
    pub id: u64,
    /// When it ran (Unix seconds).
    pub time: u64,
    /// How long it ran (µs).
    pub duration_us: u64,
    /// Its arguments, as kept.
    pub args: Vec<Vec<u8>>,
    /// The client's address and name.
    pub peer: String,
    pub name: String,
}

/// The slow log.
#[derive(Debug, Default)]
pub struct SlowLog {
    entries: VecDeque<Entry>,
    next_id: u64,
}

impl SlowLog {
    /// Logs a command (`args`) that ran `duration_us`, keeping at most `max_len` entries.
    /// O(kept bytes + entries dropped).
    pub fn push<'a>(
        &mut self,
        args: impl ExactSizeIterator<Item = &'a [u8]>,
        duration_us: u64,
        time: u64,
        peer: String,
        name: String,
        max_len: usize,
    ) {
        let argc = args.len();
        let kept = argc.min(MAX_ARGS);
        let mut out = Vec::with_capacity(kept);
        for (j, a) in args.take(kept).enumerate() {
            if kept != argc && j == kept - 1 {
                out.push(format!("... ({} more arguments)", argc - kept + 1).into_bytes());
            } else if a.len() > MAX_STRING {
                let mut s = a[..MAX_STRING].to_vec();
                s.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes(),
                );
                out.push(s);
            } else {
                out.push(a.to_vec());
            }
        }
        self.entries.push_front(Entry {
            id: self.next_id,
            time,
            duration_us,
            args: out,
            peer,
            name,
        });
        self.next_id += 1;
        self.entries.truncate(max_len);
    }

    /// The newest `count` entries, newest first.
    pub fn newest(&self, count: usize) -> impl Iterator<Item = &Entry> {
        self.entries.iter().take(count)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every entry (SLOWLOG RESET); ids go on.
    pub fn reset(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_commands_are_cut_as_redis_cuts_them() {
        let mut log = SlowLog::default();
        let big = [b'x'; 130];
        let many: Vec<Vec<u8>> = (0..40).map(|i| i.to_string().into_bytes()).collect();
        log.push([&big[..]].into_iter(), 5, 1, "a".into(), String::new(), 2);
        log.push(many.iter().map(|v| &v[..]), 6, 1, "a".into(), "n".into(), 2);
        log.push(
            [&b"get"[..]].into_iter(),
            7,
            1,
            "a".into(),
            String::new(),
            2,
        );
        assert_eq!(log.len(), 2, "max_len keeps the newest");
        let e: Vec<&Entry> = log.newest(10).collect();
        assert_eq!((e[0].id, e[1].id), (2, 1));
        assert_eq!(e[1].args.len(), 32);
        assert_eq!(e[1].args[31], b"... (9 more arguments)");
        log.reset();
        log.push([&big[..]].into_iter(), 5, 1, "a".into(), String::new(), 2);
        let e = log.newest(1).next().unwrap();
        assert_eq!(e.id, 3);
        assert!(e.args[0].ends_with(b"x... (2 more bytes)"));
        assert_eq!(e.args[0].len(), 128 + "... (2 more bytes)".len());
    }
}
