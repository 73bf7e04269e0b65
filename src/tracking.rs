//! Client-side caching (CLIENT TRACKING): which clients read which keys, and which prefixes
//! broadcasting clients follow, so that a change to a key sends them an invalidation message.
//!
//! The table of read keys is split by the worker owning each key, each part behind its own
//! lock: a key is mostly remembered and invalidated by its owner, so the lock is uncontended
//! then. A key is remembered when the read is dispatched, before it runs: a write that lands
//! between the two costs an extra invalidation, never a stale cache. A key's readers are
//! forgotten when it is invalidated (they must read it again to be told again), as in Redis.
//!
//! While no key is tracked and no client broadcasts, a write pays one load ([`Tracking::active`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One worker's part of the table: each tracked key with the ids of the clients that read it.
type Table = HashMap<Box<[u8]>, Vec<u64>>;

/// Each followed prefix with the ids of the clients that follow it.
type Prefixes = Vec<(Box<[u8]>, Vec<u64>)>;

/// The server's tracking state.
#[derive(Debug)]
pub struct Tracking {
    tables: Vec<Mutex<Table>>,
    /// Tracked keys plus broadcasting clients: what the shards look at before recording
    /// changed keys.
    interest: Arc<AtomicUsize>,
    keys: AtomicUsize,
    items: AtomicUsize,
    /// Clients with tracking on (INFO tracking_clients).
    pub clients: AtomicUsize,
    /// Each prefix broadcasting clients follow, with their ids.
    prefixes: Mutex<Prefixes>,
    bcast_clients: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Tracking {
    /// Empty, for `workers` workers.
    pub fn new(workers: usize) -> Self {
        Tracking {
            tables: (0..workers.max(1)).map(|_| Mutex::default()).collect(),
            interest: Arc::default(),
            keys: AtomicUsize::new(0),
            items: AtomicUsize::new(0),
            clients: AtomicUsize::new(0),
            prefixes: Mutex::default(),
            bcast_clients: AtomicUsize::new(0),
        }
    }

    /// Whether a change to a key may concern anyone: a key is tracked, or a client broadcasts.
    #[inline]
    pub fn active(&self) -> bool {
        self.interest.load(Ordering::Acquire) > 0
    }

    /// The counter behind [`Tracking::active`], for the shards to load.
    pub fn interest(&self) -> Arc<AtomicUsize> {
        self.interest.clone()
    }

    /// Remembers that `client` read `key`, owned by worker `owner`. O(readers of the key).
    pub fn remember(&self, owner: usize, key: &[u8], client: u64) {
        let Some(t) = self.tables.get(owner) else {
            return;
        };
        let mut t = lock(t);
        let ids = t.entry(Box::from(key)).or_insert_with(|| {
            self.keys.fetch_add(1, Ordering::AcqRel);
            self.interest.fetch_add(1, Ordering::AcqRel);
            Vec::new()
        });
        if !ids.contains(&client) {
            ids.push(client);
            self.items.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The clients that read `key` (owned by `owner`) since it last changed, forgotten now.
    /// O(readers).
    pub fn take_readers(&self, owner: usize, key: &[u8]) -> Vec<u64> {
        if self.keys.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let Some(t) = self.tables.get(owner) else {
            return Vec::new();
        };
        match lock(t).remove(key) {
            Some(ids) => {
                self.keys.fetch_sub(1, Ordering::AcqRel);
                self.interest.fetch_sub(1, Ordering::AcqRel);
                self.items.fetch_sub(ids.len(), Ordering::AcqRel);
                ids
            }
            None => Vec::new(),
        }
    }

    /// While more than `max_keys` keys are tracked (0: no limit), forgets up to `effort` of
    /// them, returning each with its readers. O(effort).
    pub fn evict(&self, max_keys: usize, effort: usize) -> Vec<(Box<[u8]>, Vec<u64>)> {
        let mut out = Vec::new();
        if max_keys == 0 {
            return out;
        }
        for t in &self.tables {
            let mut t = lock(t);
            while self.keys.load(Ordering::Acquire) > max_keys && out.len() < effort {
                let Some(key) = t.keys().next().cloned() else {
                    break;
                };
                if let Some(ids) = t.remove(&key) {
                    self.keys.fetch_sub(1, Ordering::AcqRel);
                    self.interest.fetch_sub(1, Ordering::AcqRel);
                    self.items.fetch_sub(ids.len(), Ordering::AcqRel);
                    out.push((key, ids));
                }
            }
        }
        out
    }

    /// Forgets every tracked key (FLUSHDB, FLUSHALL). O(keys).
    pub fn clear(&self) {
        for t in &self.tables {
            let mut t = lock(t);
            self.keys.fetch_sub(t.len(), Ordering::AcqRel);
            self.interest.fetch_sub(t.len(), Ordering::AcqRel);
            self.items
                .fetch_sub(t.values().map(Vec::len).sum(), Ordering::AcqRel);
            t.clear();
        }
    }

    /// `client` follows `prefix` in broadcast mode. O(prefixes).
    pub fn follow(&self, prefix: &[u8], client: u64) {
        let mut p = lock(&self.prefixes);
        match p.iter_mut().find(|(x, _)| **x == *prefix) {
            Some((_, ids)) if !ids.contains(&client) => ids.push(client),
            Some(_) => {}
            None => p.push((Box::from(prefix), vec![client])),
        }
    }

    /// `client` follows none of `prefixes` any more. O(prefixes).
    pub fn unfollow(&self, prefixes: &[Vec<u8>], client: u64) {
        let mut p = lock(&self.prefixes);
        p.retain_mut(|(x, ids)| {
            if prefixes.iter().any(|q| **q == **x) {
                ids.retain(|&i| i != client);
            }
            !ids.is_empty()
        });
    }

    /// Counts a client entering (`+1`) or leaving (`-1`) broadcast mode.
    pub fn count_bcast(&self, entering: bool) {
        if entering {
            self.bcast_clients.fetch_add(1, Ordering::AcqRel);
            self.interest.fetch_add(1, Ordering::AcqRel);
        } else {
            self.bcast_clients.fetch_sub(1, Ordering::AcqRel);
            self.interest.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// For each followed prefix that `keys` match: the prefix's clients and the matching keys,
    /// sorted and without repeats (as Redis sends them). O(prefixes x keys).
    pub fn broadcasts(&self, keys: &[&[u8]]) -> Vec<(Vec<u64>, Vec<Vec<u8>>)> {
        if self.bcast_clients.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let p = lock(&self.prefixes);
        p.iter()
            .filter_map(|(prefix, ids)| {
                let mut hit: Vec<Vec<u8>> = keys
                    .iter()
                    .filter(|k| k.starts_with(prefix))
                    .map(|k| k.to_vec())
                    .collect();
                hit.sort();
                hit.dedup();
                (!hit.is_empty()).then(|| (ids.clone(), hit))
            })
            .collect()
    }

    /// Whether a client broadcasts (BCAST). One load.
    #[inline]
    pub fn broadcasting(&self) -> bool {
        self.bcast_clients.load(Ordering::Acquire) > 0
    }

    /// INFO's tracking_total_keys, tracking_total_items, tracking_total_prefixes.
    pub fn totals(&self) -> (usize, usize, usize) {
        (
            self.keys.load(Ordering::Acquire),
            self.items.load(Ordering::Acquire),
            lock(&self.prefixes).len(),
        )
    }
}

/// A client's tracking settings, as CLIENT TRACKING set them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mode {
    /// The client invalidations go to (0: this one).
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// The prefixes followed in broadcast mode, in the order given.
    pub prefixes: Vec<Vec<u8>>,
    /// The redirect client went away (TRACKINGINFO broken_redirect, CLIENT LIST flag R).
    pub broken_redirect: bool,
}

/// The error for prefixes that overlap (Redis's checkPrefixCollisionsOrReply), or None: none of
/// `new` may be a prefix of an existing one or of another new one, nor the other way round.
pub fn prefix_collision(existing: &[Vec<u8>], new: &[&[u8]]) -> Option<String> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    let text = |b: &[u8]| String::from_utf8_lossy(crate::resp::reply::c_str(b)).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(e) = existing.iter().find(|e| overlap(e, p)) {
            return Some(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                text(p),
                text(e)
            ));
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlap(p, q)) {
            return Some(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                text(p),
                text(q)
            ));
        }
    }
    None
}

/// The invalidation message for `keys` (None: everything, after a flush) as the receiving
/// connection expects it: a RESP3 push `invalidate`, or, for a RESP2 connection that receives
/// the invalidations of another, a message on `__redis__:invalidate`. `null3` is the protocol
/// of the tracking client (its null is the one sent on a flush).
pub fn message(keys: Option<&[Vec<u8>]>, push: bool, null3: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if push {
        out.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else {
        out.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    }
    match keys {
        Some(keys) => {
            out.extend_from_slice(format!("*{}\r\n", keys.len()).as_bytes());
            for k in keys {
                out.extend_from_slice(format!("${}\r\n", k.len()).as_bytes());
                out.extend_from_slice(k);
                out.extend_from_slice(b"\r\n");
            }
        }
        None if null3 => out.extend_from_slice(b"_\r\n"),
        None => out.extend_from_slice(b"$-1\r\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_forgotten_once_told() {
        let t = Tracking::new(2);
        assert!(!t.active());
        t.remember(1, b"k", 7);
        t.remember(1, b"k", 7);
        t.remember(1, b"k", 8);
        assert!(t.active());
        assert_eq!(t.totals(), (1, 2, 0));
        assert_eq!(t.take_readers(1, b"k"), vec![7, 8]);
        assert!(t.take_readers(1, b"k").is_empty());
        assert!(!t.active());
    }

    #[test]
    fn prefixes_collide_as_in_redis() {
        assert!(prefix_collision(&[b"ab".to_vec()], &[b"a"]).is_some());
        assert!(prefix_collision(&[], &[b"a", b"ab"]).is_some());
        assert!(prefix_collision(&[b"x".to_vec()], &[b"a", b"b"]).is_none());
        let t = Tracking::new(1);
        t.follow(b"a", 1);
        t.count_bcast(true);
        let b = t.broadcasts(&[b"ab", b"aa", b"ab", b"z"]);
        assert_eq!(b, vec![(vec![1], vec![b"aa".to_vec(), b"ab".to_vec()])]);
    }
}
