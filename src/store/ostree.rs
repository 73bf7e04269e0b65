//! An order-statistic B-tree: an ordered set of keys that also answers "how many keys are below this
//! one" ([`OsTree::rank`]) and "which key has rank i" ([`OsTree::select`]) in O(log N), which a plain
//! `BTreeSet` cannot (it walks O(rank)). Sorted sets need both for ZRANK, ZRANGE by index and
//! ZREMRANGEBYRANK, the operations Redis's skiplist answers from its span counts.
//!
//! Layout: a classic B-tree (keys in inner nodes too, so no key is ever copied into a separator) where
//! every inner node keeps, beside its children, the number of keys under each child. Lookups, inserts
//! and removals are O(log N) with O(B) work per level; iterators hold a stack of (node, index) frames
//! and know how many keys they have left (their two ends are ranks), so they are double-ended, exact
//! sized, and skip ahead (`nth`) by re-seeking in O(log N). Safe code only.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::ops::{Bound, RangeBounds};

/// Minimum number of children of an inner node other than the root.
const B: usize = 16;
/// Most keys a node holds.
const MAX_KEYS: usize = 2 * B - 1;
/// Fewest keys a node other than the root holds.
const MIN_KEYS: usize = B - 1;

/// A node: up to [`MAX_KEYS`] ascending keys and, in an inner node, one more child than keys with the
/// key count of each child's subtree.
#[derive(Debug, Clone)]
struct Node<K> {
    keys: Vec<K>,
    /// Empty in a leaf.
    kids: Vec<Node<K>>,
    /// `counts[j]` is the number of keys under `kids[j]`.
    counts: Vec<usize>,
}

impl<K> Node<K> {
    fn leaf() -> Self {
        Node {
            keys: Vec::new(),
            kids: Vec::new(),
            counts: Vec::new(),
        }
    }

    #[inline]
    fn is_leaf(&self) -> bool {
        self.kids.is_empty()
    }

    /// Keys in this subtree. O(B).
    fn size(&self) -> usize {
        self.keys.len() + self.counts.iter().sum::<usize>()
    }

    /// Where `q` is among this node's keys (binary search). O(log B).
    #[inline]
    fn search<Q>(&self, q: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.keys.binary_search_by(|k| k.borrow().cmp(q))
    }
}

/// An ordered set of unique keys with O(log N) rank and select; see the module documentation.
#[derive(Debug, Clone)]
pub struct OsTree<K> {
    root: Node<K>,
    len: usize,
}

impl<K> Default for OsTree<K> {
    fn default() -> Self {
        OsTree {
            root: Node::leaf(),
            len: 0,
        }
    }
}

/// What an insertion below a node reports to its parent.
enum Grow<K> {
    /// The key was already present.
    Dup,
    /// Inserted; the node still fits.
    Fit,
    /// Inserted and the node split: the median key moves up, followed by the new right sibling.
    Split(K, Node<K>),
}

impl<K: Ord> OsTree<K> {
    /// An empty set. O(1), no allocation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys. O(1).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty. O(1).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every key. O(N) to drop them.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Adds `key`; false (and `key` dropped) when an equal key is present. O(log N).
    pub fn insert(&mut self, key: K) -> bool {
        match Self::insert_in(&mut self.root, key) {
            Grow::Dup => false,
            Grow::Fit => {
                self.len += 1;
                true
            }
            Grow::Split(mid, right) => {
                let left = std::mem::replace(&mut self.root, Node::leaf());
                let (ls, rs) = (left.size(), right.size());
                self.root = Node {
                    keys: vec![mid],
                    kids: vec![left, right],
                    counts: vec![ls, rs],
                };
                self.len += 1;
                true
            }
        }
    }

    fn insert_in(node: &mut Node<K>, key: K) -> Grow<K> {
        let i = match node.search(&key) {
            Ok(_) => return Grow::Dup,
            Err(i) => i,
        };
        if node.is_leaf() {
            node.keys.insert(i, key);
        } else {
            let Some(kid) = node.kids.get_mut(i) else {
                return Grow::Dup;
            };
            match Self::insert_in(kid, key) {
                Grow::Dup => return Grow::Dup,
                Grow::Fit => node.counts[i] += 1,
                Grow::Split(mid, right) => {
                    let rs = right.size();
                    // The child gained one key, then gave `rs` keys and the median away.
                    node.counts[i] -= rs;
                    node.keys.insert(i, mid);
                    node.kids.insert(i + 1, right);
                    node.counts.insert(i + 1, rs);
                }
            }
        }
        if node.keys.len() <= MAX_KEYS {
            return Grow::Fit;
        }
        let m = node.keys.len() / 2;
        let right_keys = node.keys.split_off(m + 1);
        let Some(mid) = node.keys.pop() else {
            return Grow::Fit;
        };
        let (kids, counts) = if node.is_leaf() {
            (Vec::new(), Vec::new())
        } else {
            (node.kids.split_off(m + 1), node.counts.split_off(m + 1))
        };
        Grow::Split(
            mid,
            Node {
                keys: right_keys,
                kids,
                counts,
            },
        )
    }

    /// Whether a key equal to `q` is present. O(log N).
    pub fn contains<Q>(&self, q: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get(q).is_some()
    }

    /// The stored key equal to `q`. O(log N).
    pub fn get<Q>(&self, q: &Q) -> Option<&K>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let mut n = &self.root;
        loop {
            match n.search(q) {
                Ok(i) => return n.keys.get(i),
                Err(i) => n = n.kids.get(i)?,
            }
        }
    }

    /// Removes the key equal to `q`; whether one was present. O(log N).
    pub fn remove<Q>(&mut self, q: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.take(q).is_some()
    }

    /// Removes and returns the key equal to `q`. O(log N).
    pub fn take<Q>(&mut self, q: &Q) -> Option<K>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let k = Self::take_in(&mut self.root, q)?;
        self.after_removal();
        Some(k)
    }

    /// Removes and returns the smallest key. O(log N).
    pub fn pop_first(&mut self) -> Option<K> {
        if self.len == 0 {
            return None;
        }
        let k = Self::pop_edge(&mut self.root, false)?;
        self.after_removal();
        Some(k)
    }

    /// Removes and returns the largest key. O(log N).
    pub fn pop_last(&mut self) -> Option<K> {
        if self.len == 0 {
            return None;
        }
        let k = Self::pop_edge(&mut self.root, true)?;
        self.after_removal();
        Some(k)
    }

    /// Removes and returns the key of rank `i` (the `i`-th smallest, from 0). O(log N).
    pub fn remove_at(&mut self, i: usize) -> Option<K> {
        if i >= self.len {
            return None;
        }
        let k = Self::remove_at_in(&mut self.root, i)?;
        self.after_removal();
        Some(k)
    }

    /// Book-keeping after one key left: the count, and the root shrinking when it lost its last key.
    fn after_removal(&mut self) {
        self.len -= 1;
        if self.root.keys.is_empty() {
            if let Some(only) = self.root.kids.pop() {
                self.root = only;
            }
        }
    }

    fn take_in<Q>(node: &mut Node<K>, q: &Q) -> Option<K>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match node.search(q) {
            Ok(i) if node.is_leaf() => Some(node.keys.remove(i)),
            Err(_) if node.is_leaf() => None,
            Ok(i) => {
                // Replace the key by its predecessor, the largest key of the child on its left.
                let pred = Self::pop_edge(node.kids.get_mut(i)?, true)?;
                node.counts[i] -= 1;
                let old = std::mem::replace(&mut node.keys[i], pred);
                Self::refill(node, i);
                Some(old)
            }
            Err(i) => {
                let k = Self::take_in(node.kids.get_mut(i)?, q)?;
                node.counts[i] -= 1;
                Self::refill(node, i);
                Some(k)
            }
        }
    }

    fn remove_at_in(node: &mut Node<K>, mut i: usize) -> Option<K> {
        if node.is_leaf() {
            return (i < node.keys.len()).then(|| node.keys.remove(i));
        }
        for j in 0..node.kids.len() {
            let c = node.counts[j];
            if i < c {
                let k = Self::remove_at_in(&mut node.kids[j], i)?;
                node.counts[j] -= 1;
                Self::refill(node, j);
                return Some(k);
            }
            if i == c {
                let pred = Self::pop_edge(&mut node.kids[j], true)?;
                node.counts[j] -= 1;
                let old = std::mem::replace(node.keys.get_mut(j)?, pred);
                Self::refill(node, j);
                return Some(old);
            }
            i -= c + 1;
        }
        None
    }

    /// Removes the largest (`last`) or smallest key of a non-empty subtree.
    fn pop_edge(node: &mut Node<K>, last: bool) -> Option<K> {
        if node.is_leaf() {
            return if last {
                node.keys.pop()
            } else if node.keys.is_empty() {
                None
            } else {
                Some(node.keys.remove(0))
            };
        }
        let j = if last { node.kids.len() - 1 } else { 0 };
        let k = Self::pop_edge(&mut node.kids[j], last)?;
        node.counts[j] -= 1;
        Self::refill(node, j);
        Some(k)
    }

    /// Restores the minimum fill of `node.kids[i]` after it lost a key: borrows a key through the
    /// parent from a sibling that can spare one, or merges with a sibling. O(B).
    fn refill(node: &mut Node<K>, i: usize) {
        if node.kids[i].keys.len() >= MIN_KEYS {
            return;
        }
        if i > 0 && node.kids[i - 1].keys.len() > MIN_KEYS {
            // Rotate right: the left sibling's last key goes up, the separator comes down.
            let (l, r) = node.kids.split_at_mut(i);
            let (left, kid) = (&mut l[i - 1], &mut r[0]);
            let (Some(up), Some(sep)) = (left.keys.pop(), node.keys.get_mut(i - 1)) else {
                return;
            };
            let down = std::mem::replace(sep, up);
            kid.keys.insert(0, down);
            let mut moved = 0;
            if let (Some(sub), Some(c)) = (left.kids.pop(), left.counts.pop()) {
                kid.kids.insert(0, sub);
                kid.counts.insert(0, c);
                moved = c;
            }
            node.counts[i - 1] -= 1 + moved;
            node.counts[i] += 1 + moved;
        } else if i + 1 < node.kids.len() && node.kids[i + 1].keys.len() > MIN_KEYS {
            // Rotate left: the right sibling's first key goes up, the separator comes down.
            let (l, r) = node.kids.split_at_mut(i + 1);
            let (kid, right) = (&mut l[i], &mut r[0]);
            let up = right.keys.remove(0);
            let down = std::mem::replace(&mut node.keys[i], up);
            kid.keys.push(down);
            let mut moved = 0;
            if !right.kids.is_empty() {
                let sub = right.kids.remove(0);
                let c = right.counts.remove(0);
                kid.kids.push(sub);
                kid.counts.push(c);
                moved = c;
            }
            node.counts[i + 1] -= 1 + moved;
            node.counts[i] += 1 + moved;
        } else if i > 0 {
            Self::merge(node, i - 1);
        } else if i + 1 < node.kids.len() {
            Self::merge(node, i);
        }
    }

    /// Merges `kids[j + 1]` and the separator `keys[j]` into `kids[j]`. O(B).
    fn merge(node: &mut Node<K>, j: usize) {
        let right = node.kids.remove(j + 1);
        let rc = node.counts.remove(j + 1);
        let sep = node.keys.remove(j);
        let left = &mut node.kids[j];
        left.keys.push(sep);
        left.keys.extend(right.keys);
        left.kids.extend(right.kids);
        left.counts.extend(right.counts);
        node.counts[j] += 1 + rc;
    }

    /// The smallest key. O(log N).
    pub fn first(&self) -> Option<&K> {
        let mut n = &self.root;
        while let Some(k) = n.kids.first() {
            n = k;
        }
        n.keys.first()
    }

    /// The largest key. O(log N).
    pub fn last(&self) -> Option<&K> {
        let mut n = &self.root;
        while let Some(k) = n.kids.last() {
            n = k;
        }
        n.keys.last()
    }

    /// Number of keys below `q` (with `inclusive`, at or below `q`). O(log N).
    fn count_below<Q>(&self, q: &Q, inclusive: bool) -> usize
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.count_below_by(|k| k.borrow().cmp(q), inclusive)
    }

    /// Number of keys `k` with `cmp(k)` Less (with `inclusive`, Less or Equal), for a `cmp` that
    /// orders keys against a probe consistently with `K`'s order. O(log N).
    pub fn count_below_by(&self, cmp: impl Fn(&K) -> Ordering, inclusive: bool) -> usize {
        let mut n = &self.root;
        let mut r = 0;
        loop {
            match n.keys.binary_search_by(&cmp) {
                Ok(i) => {
                    let below: usize = n.counts.get(..=i).map_or(0, |c| c.iter().sum());
                    return r + below + i + usize::from(inclusive);
                }
                Err(i) => {
                    r += n.counts[..i.min(n.counts.len())].iter().sum::<usize>() + i;
                    match n.kids.get(i) {
                        Some(k) => n = k,
                        None => return r,
                    }
                }
            }
        }
    }

    /// Number of keys ordered below a probe that `cmp` compares keys with (`cmp(k)` is how `k` orders
    /// against the probe), so a caller can rank a borrowed form without building a key. O(log N).
    pub fn rank_by(&self, cmp: impl Fn(&K) -> Ordering) -> usize {
        self.count_below_by(cmp, false)
    }

    /// Number of keys less than `q`: the 0-based rank `q` has or would have. O(log N).
    pub fn rank<Q>(&self, q: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.count_below(q, false)
    }

    /// The key of rank `i` (the `i`-th smallest, from 0). O(log N).
    pub fn select(&self, mut i: usize) -> Option<&K> {
        if i >= self.len {
            return None;
        }
        let mut n = &self.root;
        'down: loop {
            if n.is_leaf() {
                return n.keys.get(i);
            }
            for (j, &c) in n.counts.iter().enumerate() {
                match i.cmp(&c) {
                    Ordering::Less => {
                        n = &n.kids[j];
                        continue 'down;
                    }
                    Ordering::Equal => return n.keys.get(j),
                    Ordering::Greater => i -= c + 1,
                }
            }
            return None;
        }
    }

    /// Every key, ascending. O(1) to create, O(1) amortised per step.
    pub fn iter(&self) -> Iter<'_, K> {
        self.rank_range(0, self.len)
    }

    /// The keys of ranks `lo..hi` (clamped to the set), ascending. O(1) to create; each end is
    /// positioned in O(log N) when first used.
    pub fn rank_range(&self, lo: usize, hi: usize) -> Iter<'_, K> {
        let hi = hi.min(self.len);
        Iter {
            root: &self.root,
            lo: lo.min(hi),
            hi,
            front: None,
            back: None,
        }
    }

    /// The keys from rank `i` on, ascending. O(log N) to position.
    pub fn iter_from_rank(&self, i: usize) -> Iter<'_, K> {
        self.rank_range(i, self.len)
    }

    /// The ranks `lo..hi` of the keys within `range`. O(log N).
    pub fn rank_bounds<Q, R>(&self, range: R) -> (usize, usize)
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let lo = match range.start_bound() {
            Bound::Unbounded => 0,
            Bound::Included(q) => self.count_below(q, false),
            Bound::Excluded(q) => self.count_below(q, true),
        };
        let hi = match range.end_bound() {
            Bound::Unbounded => self.len,
            Bound::Included(q) => self.count_below(q, true),
            Bound::Excluded(q) => self.count_below(q, false),
        };
        (lo, hi.max(lo))
    }

    /// The keys within `range`, ascending. Unlike `BTreeSet::range`, inverted bounds give an empty
    /// iterator rather than a panic. O(log N) to position.
    pub fn range<Q, R>(&self, range: R) -> Iter<'_, K>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let (lo, hi) = self.rank_bounds(range);
        self.rank_range(lo, hi)
    }

    /// Number of keys within `range`. O(log N).
    pub fn range_len<Q, R>(&self, range: R) -> usize
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let (lo, hi) = self.rank_bounds(range);
        hi - lo
    }
}

impl<K: Ord> FromIterator<K> for OsTree<K> {
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        let mut t = OsTree::new();
        for k in iter {
            t.insert(k);
        }
        t
    }
}

impl<'a, K: Ord> IntoIterator for &'a OsTree<K> {
    type Item = &'a K;
    type IntoIter = Iter<'a, K>;
    fn into_iter(self) -> Iter<'a, K> {
        self.iter()
    }
}

/// A position in the tree: the path of (node, index) frames from the root. The last frame names a key
/// (`keys[index]`); every frame above it names the child the path went down (`kids[index]`).
#[derive(Debug, Clone)]
struct Cursor<'a, K> {
    path: Vec<(&'a Node<K>, usize)>,
}

impl<'a, K> Cursor<'a, K> {
    /// The cursor at rank `i` (empty when out of range). O(log N).
    fn seek(root: &'a Node<K>, mut i: usize) -> Self {
        let mut path = Vec::with_capacity(8);
        let mut n = root;
        'down: loop {
            if n.is_leaf() {
                if i < n.keys.len() {
                    path.push((n, i));
                } else {
                    path.clear();
                }
                break;
            }
            for (j, &c) in n.counts.iter().enumerate() {
                match i.cmp(&c) {
                    Ordering::Less => {
                        path.push((n, j));
                        n = &n.kids[j];
                        continue 'down;
                    }
                    Ordering::Equal => {
                        path.push((n, j));
                        break 'down;
                    }
                    Ordering::Greater => i -= c + 1,
                }
            }
            path.clear();
            break;
        }
        Cursor { path }
    }

    #[inline]
    fn get(&self) -> Option<&'a K> {
        let &(n, i) = self.path.last()?;
        n.keys.get(i)
    }

    /// Moves to the next key (the path empties past the last). O(1) amortised.
    fn advance(&mut self) {
        let Some(top) = self.path.last_mut() else {
            return;
        };
        let (n, i) = *top;
        if !n.is_leaf() {
            // Down the child right of the key, then leftmost.
            top.1 = i + 1;
            let mut c = match n.kids.get(i + 1) {
                Some(c) => c,
                None => return self.path.clear(),
            };
            loop {
                self.path.push((c, 0));
                match c.kids.first() {
                    Some(k) => c = k,
                    None => return,
                }
            }
        }
        if i + 1 < n.keys.len() {
            top.1 = i + 1;
            return;
        }
        self.path.pop();
        // Up until a frame whose child has a key after it.
        while let Some(&(n, j)) = self.path.last() {
            if j < n.keys.len() {
                return;
            }
            self.path.pop();
        }
    }

    /// Moves to the previous key (the path empties before the first). O(1) amortised.
    fn retreat(&mut self) {
        let Some(&(n, i)) = self.path.last() else {
            return;
        };
        if !n.is_leaf() {
            // Down the child left of the key, then rightmost.
            let mut c = match n.kids.get(i) {
                Some(c) => c,
                None => return self.path.clear(),
            };
            loop {
                if c.is_leaf() {
                    self.path.push((c, c.keys.len().saturating_sub(1)));
                    return;
                }
                self.path.push((c, c.kids.len() - 1));
                c = &c.kids[c.kids.len() - 1];
            }
        }
        if i > 0 {
            if let Some(top) = self.path.last_mut() {
                top.1 = i - 1;
            }
            return;
        }
        self.path.pop();
        while let Some(top) = self.path.last_mut() {
            if top.1 > 0 {
                top.1 -= 1;
                return;
            }
            self.path.pop();
        }
    }
}

/// An ascending iterator over the keys of ranks `lo..hi`, double-ended and exact-sized. Each end
/// holds a cursor made on first use (O(log N)); a step costs O(1) amortised; `nth` and `nth_back`
/// re-seek in O(log N), so `skip(offset)` does not walk.
#[derive(Debug, Clone)]
pub struct Iter<'a, K> {
    root: &'a Node<K>,
    lo: usize,
    hi: usize,
    front: Option<Cursor<'a, K>>,
    back: Option<Cursor<'a, K>>,
}

impl<'a, K> Iter<'a, K> {
    /// The rank of the next key `next` would yield. O(1).
    pub fn front_rank(&self) -> usize {
        self.lo
    }

    /// One past the rank of the key `next_back` would yield. O(1).
    pub fn back_rank(&self) -> usize {
        self.hi
    }
}

impl<'a, K> Iterator for Iter<'a, K> {
    type Item = &'a K;

    #[inline]
    fn next(&mut self) -> Option<&'a K> {
        if self.lo >= self.hi {
            return None;
        }
        let lo = self.lo;
        let root = self.root;
        let c = self.front.get_or_insert_with(|| Cursor::seek(root, lo));
        let k = c.get();
        c.advance();
        self.lo += 1;
        k
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.hi - self.lo;
        (n, Some(n))
    }

    fn count(self) -> usize {
        self.hi - self.lo
    }

    fn nth(&mut self, n: usize) -> Option<&'a K> {
        if n > 0 {
            self.lo = self.lo.saturating_add(n).min(self.hi);
            self.front = None;
        }
        self.next()
    }

    fn last(mut self) -> Option<&'a K> {
        self.next_back()
    }
}

impl<K> DoubleEndedIterator for Iter<'_, K> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.lo >= self.hi {
            return None;
        }
        let at = self.hi - 1;
        let root = self.root;
        let c = self.back.get_or_insert_with(|| Cursor::seek(root, at));
        let k = c.get();
        c.retreat();
        self.hi -= 1;
        k
    }

    fn nth_back(&mut self, n: usize) -> Option<Self::Item> {
        if n > 0 {
            self.hi = self.hi.saturating_sub(n).max(self.lo);
            self.back = None;
        }
        self.next_back()
    }
}

impl<K> ExactSizeIterator for Iter<'_, K> {}
impl<K> std::iter::FusedIterator for Iter<'_, K> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// Checks the structural invariants: fill, sorted keys, counts, uniform depth.
    fn check<K: Ord + std::fmt::Debug>(t: &OsTree<K>) {
        fn walk<K: Ord + std::fmt::Debug>(
            n: &Node<K>,
            root: bool,
            depth: usize,
            leaf_depth: &mut Option<usize>,
        ) -> usize {
            assert!(n.keys.len() <= MAX_KEYS);
            if !root {
                assert!(n.keys.len() >= MIN_KEYS, "underfull node");
            }
            assert!(n.keys.windows(2).all(|w| w[0] < w[1]));
            if n.is_leaf() {
                assert!(n.counts.is_empty());
                match leaf_depth {
                    Some(d) => assert_eq!(*d, depth),
                    None => *leaf_depth = Some(depth),
                }
                return n.keys.len();
            }
            assert_eq!(n.kids.len(), n.keys.len() + 1);
            assert_eq!(n.counts.len(), n.kids.len());
            let mut total = n.keys.len();
            for (j, k) in n.kids.iter().enumerate() {
                let s = walk(k, false, depth + 1, leaf_depth);
                assert_eq!(s, n.counts[j]);
                if j < n.keys.len() {
                    assert!(k.keys.last().unwrap() < &n.keys[j]);
                }
                if j > 0 {
                    assert!(k.keys.first().unwrap() > &n.keys[j - 1]);
                }
                total += s;
            }
            total
        }
        let mut d = None;
        assert_eq!(walk(&t.root, true, 0, &mut d), t.len());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        Remove(u16),
        PopFirst,
        PopLast,
        RemoveAt(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => any::<u16>().prop_map(|k| Op::Insert(k % 2000)),
            3 => any::<u16>().prop_map(|k| Op::Remove(k % 2000)),
            1 => Just(Op::PopFirst),
            1 => Just(Op::PopLast),
            1 => any::<u16>().prop_map(Op::RemoveAt),
        ]
    }

    fn bound(kind: u8, v: u16) -> Bound<u16> {
        match kind % 3 {
            0 => Bound::Unbounded,
            1 => Bound::Included(v),
            _ => Bound::Excluded(v),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn matches_btreeset(ops in proptest::collection::vec(op(), 0..3000), probes in proptest::collection::vec((any::<u16>(), any::<u8>(), any::<u16>(), any::<u8>()), 20)) {
            let mut t = OsTree::new();
            let mut m = BTreeSet::new();
            for o in &ops {
                match *o {
                    Op::Insert(k) => prop_assert_eq!(t.insert(k), m.insert(k)),
                    Op::Remove(k) => prop_assert_eq!(t.remove(&k), m.remove(&k)),
                    Op::PopFirst => prop_assert_eq!(t.pop_first(), m.pop_first()),
                    Op::PopLast => prop_assert_eq!(t.pop_last(), m.pop_last()),
                    Op::RemoveAt(i) => {
                        let i = if m.is_empty() { i as usize } else { i as usize % (m.len() + 1) };
                        let want = m.iter().nth(i).copied();
                        if let Some(w) = want { m.remove(&w); }
                        prop_assert_eq!(t.remove_at(i), want);
                    }
                }
                prop_assert_eq!(t.len(), m.len());
            }
            check(&t);
            prop_assert_eq!(t.is_empty(), m.is_empty());
            prop_assert_eq!(t.first(), m.first());
            prop_assert_eq!(t.last(), m.last());
            let all: Vec<u16> = t.iter().copied().collect();
            let want: Vec<u16> = m.iter().copied().collect();
            prop_assert_eq!(&all, &want);
            let rev: Vec<u16> = t.iter().rev().copied().collect();
            prop_assert_eq!(rev, m.iter().rev().copied().collect::<Vec<_>>());
            for (i, k) in want.iter().enumerate() {
                prop_assert_eq!(t.select(i), Some(k));
                prop_assert_eq!(t.rank(k), i);
                prop_assert!(t.contains(k));
            }
            prop_assert_eq!(t.select(want.len()), None);
            for &(a, ka, b, kb) in &probes {
                let (a, b) = (a % 2100, b % 2100);
                prop_assert_eq!(t.rank(&a), m.range(..a).count());
                prop_assert_eq!(t.contains(&a), m.contains(&a));
                prop_assert_eq!(t.get(&a), m.get(&a));
                let i = a as usize % (want.len() + 2);
                prop_assert_eq!(t.iter_from_rank(i).copied().collect::<Vec<_>>(), want.iter().skip(i).copied().collect::<Vec<_>>());
                let (lo, hi) = (bound(ka, a), bound(kb, b));
                let valid = match (lo, hi) {
                    (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) =>
                        x < y || (x == y && matches!((lo, hi), (Bound::Included(_), Bound::Included(_)))),
                    _ => true,
                };
                let got: Vec<u16> = t.range((lo, hi)).copied().collect();
                let model: Vec<u16> = if valid { m.range((lo, hi)).copied().collect() } else { Vec::new() };
                prop_assert_eq!(&got, &model);
                prop_assert_eq!(t.range((lo, hi)).len(), model.len());
                prop_assert_eq!(t.range_len((lo, hi)), model.len());
                // Both ends at once, in an interleaving chosen by the probe.
                let mut it = t.range((lo, hi));
                let (mut f, mut bk) = (Vec::new(), Vec::new());
                let mut step = kb as usize;
                loop {
                    let x = if step.is_multiple_of(3) { it.next_back().map(|x| { bk.push(*x); }) } else { it.next().map(|x| { f.push(*x); }) };
                    if x.is_none() { break; }
                    step = step.wrapping_mul(31).wrapping_add(7);
                }
                bk.reverse();
                f.extend(bk);
                prop_assert_eq!(&f, &model);
                let skip = b as usize % (model.len() + 2);
                prop_assert_eq!(t.range((lo, hi)).skip(skip).copied().collect::<Vec<_>>(), model.iter().skip(skip).copied().collect::<Vec<_>>());
                prop_assert_eq!(t.range((lo, hi)).rev().skip(skip).copied().collect::<Vec<_>>(), model.iter().rev().skip(skip).copied().collect::<Vec<_>>());
                prop_assert_eq!(t.range((lo, hi)).nth(skip), model.get(skip));
                let lo_r = a as usize % (want.len() + 2);
                let hi_r = b as usize % (want.len() + 2);
                let expect: Vec<u16> = if lo_r < hi_r { want[lo_r.min(want.len())..hi_r.min(want.len())].to_vec() } else { Vec::new() };
                prop_assert_eq!(t.rank_range(lo_r, hi_r).copied().collect::<Vec<_>>(), expect);
            }
        }
    }

    #[test]
    fn big_sequential_and_drain() {
        let mut t = OsTree::new();
        for i in 0..100_000u32 {
            assert!(t.insert(i));
        }
        check(&t);
        assert_eq!(t.rank(&50_000), 50_000);
        assert_eq!(t.select(77_777), Some(&77_777));
        assert_eq!(t.iter_from_rank(99_990).count(), 10);
        assert_eq!(
            t.iter_from_rank(99_990).copied().collect::<Vec<_>>(),
            (99_990..100_000).collect::<Vec<_>>()
        );
        for i in (0..100_000u32).step_by(3) {
            assert!(t.remove(&i));
        }
        check(&t);
        let mut n = 0;
        while t.pop_first().is_some() {
            n += 1;
            if n % 10_000 == 0 {
                check(&t);
            }
        }
        assert!(t.is_empty());
        assert_eq!(t.first(), None);
        assert_eq!(t.iter().next(), None);
    }
}
