//! WATCH: which clients watch which keys of this shard, and marking them when a key changes.
//!
//! A client's watch is one shared flag ([`WatchFlag`]) that every shard holding one of its keys
//! refers to: a change to any of them sets it, from whichever worker made the change, and EXEC on
//! the client's worker reads it. A shard's registry drops a key's watchers once they are marked
//! (as Redis unwatches a client that is dirty) and drops flags their client released (UNWATCH,
//! EXEC, DISCARD, disconnect) lazily: when the key is touched, or by [`Watches::sweep`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One client's watch, shared with the shards holding its watched keys.
#[derive(Debug, Default)]
pub struct WatchFlag {
    /// A watched key changed: EXEC must fail.
    dirty: AtomicBool,
    /// The client no longer watches (shards may drop this flag).
    released: AtomicBool,
}

impl WatchFlag {
    /// Whether a watched key changed since WATCH.
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    /// Marks the watch as broken (a watched key changed).
    pub fn mark(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// The client stopped watching: shards may forget this flag.
    pub fn release(&self) {
        self.released.store(true, Ordering::Relaxed);
    }

    fn is_dead(&self) -> bool {
        self.released.load(Ordering::Relaxed) || self.dirty.load(Ordering::Relaxed)
    }
}

/// A watched key: its database and its name.
type WatchedKey = (usize, Box<[u8]>);

/// The watched keys of one shard: (database, key) to the flags of the clients watching it.
#[derive(Debug, Default)]
pub struct Watches {
    keys: HashMap<WatchedKey, Vec<Arc<WatchFlag>>>,
}

impl Watches {
    /// Whether no key of this shard is watched: what every write checks first. O(1).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `key` of `db` is watched. O(key length).
    pub fn contains(&self, db: usize, key: &[u8]) -> bool {
        !self.keys.is_empty() && self.keys.contains_key(&(db, Box::from(key)))
    }

    /// Registers `flag` as watching `key` of `db`. O(watchers of the key).
    pub fn add(&mut self, db: usize, key: &[u8], flag: Arc<WatchFlag>) {
        let list = self.keys.entry((db, Box::from(key))).or_default();
        list.retain(|f| !f.is_dead());
        if !list.iter().any(|f| Arc::ptr_eq(f, &flag)) {
            list.push(flag);
        }
    }

    /// `key` of `db` changed: marks every client watching it and forgets them. O(watchers).
    pub fn touch(&mut self, db: usize, key: &[u8]) {
        if self.keys.is_empty() {
            return;
        }
        if let Some(list) = self.keys.remove(&(db, Box::from(key))) {
            for f in list {
                f.mark();
            }
        }
    }

    /// Marks the watchers of every watched key of `db` for which `changed(key)` holds (FLUSHDB,
    /// SWAPDB: the keys that existed). O(watched keys of the shard).
    pub fn touch_where(&mut self, db: usize, mut changed: impl FnMut(&[u8]) -> bool) {
        self.keys.retain(|(d, key), list| {
            if *d != db || !changed(key) {
                return true;
            }
            for f in list.iter() {
                f.mark();
            }
            false
        });
    }

    /// Forgets the flags of clients that stopped watching or were already marked. O(watched).
    pub fn sweep(&mut self) {
        self.keys.retain(|_, list| {
            list.retain(|f| !f.is_dead());
            !list.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touch_marks_the_watchers_of_that_key_only() {
        let mut w = Watches::default();
        let (a, b) = (
            Arc::new(WatchFlag::default()),
            Arc::new(WatchFlag::default()),
        );
        w.add(0, b"k", a.clone());
        w.add(0, b"k", a.clone());
        w.add(1, b"k", b.clone());
        w.touch(0, b"other");
        assert!(!a.is_dirty() && !b.is_dirty());
        w.touch(0, b"k");
        assert!(
            a.is_dirty() && !b.is_dirty(),
            "same key, other db: untouched"
        );
        w.touch_where(1, |_| false);
        assert!(!b.is_dirty());
        w.touch_where(1, |k| k == b"k");
        assert!(b.is_dirty());
        assert!(w.is_empty());
    }

    #[test]
    fn released_flags_are_swept() {
        let mut w = Watches::default();
        let a = Arc::new(WatchFlag::default());
        w.add(0, b"k", a.clone());
        a.release();
        w.sweep();
        assert!(w.is_empty());
    }
}
