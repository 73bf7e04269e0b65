//! Lists: a deque of elements, O(1) at both ends and O(1) by index (Redis's quicklist is O(N) by
//! index; the deque is never slower). Indices follow Redis: negative ones count from the tail.

use std::collections::VecDeque;

use super::encoding::Elem;

/// A list. `items` is the list from head (index 0) to tail; it is public for reads (LRANGE walks a
/// range of it), and every edit a command makes goes through the methods below. Never empty while
/// stored: the command that removes the last element deletes the key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListValue {
    /// The elements, head first.
    pub items: VecDeque<Elem>,
}

impl ListValue {
    /// An empty list with room for `n` elements. O(1) (one allocation).
    pub fn with_capacity(n: usize) -> Self {
        ListValue {
            items: VecDeque::with_capacity(n),
        }
    }

    /// Number of elements. O(1).
    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list has no element. O(1).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds `v` at the head (`left`) or the tail. O(1) amortized.
    #[inline]
    pub fn push(&mut self, v: Elem, left: bool) {
        if left {
            self.items.push_front(v)
        } else {
            self.items.push_back(v)
        }
    }

    /// Removes and returns the head (`left`) or tail element. O(1).
    #[inline]
    pub fn pop(&mut self, left: bool) -> Option<Elem> {
        if left {
            self.items.pop_front()
        } else {
            self.items.pop_back()
        }
    }

    /// The position of Redis index `i` (negative from the tail), None outside the list. O(1).
    pub fn position(&self, i: i64) -> Option<usize> {
        index_of(i, self.items.len())
    }

    /// The element at Redis index `i`. O(1).
    pub fn get(&self, i: i64) -> Option<&Elem> {
        self.position(i).map(|p| &self.items[p])
    }

    /// Replaces the element at Redis index `i`; false (nothing changed) outside the list. O(1).
    pub fn set(&mut self, i: i64, v: Elem) -> bool {
        match self.position(i) {
            Some(p) => {
                self.items[p] = v;
                true
            }
            None => false,
        }
    }

    /// The inclusive positions LRANGE/LTRIM `start stop` select, or None when empty. O(1).
    pub fn range(&self, start: i64, stop: i64) -> Option<(usize, usize)> {
        clamp_range(start, stop, self.items.len())
    }

    /// Keeps only LTRIM's `start..=stop` (the list may end empty). O(removed).
    pub fn trim(&mut self, start: i64, stop: i64) {
        match self.range(start, stop) {
            None => self.items.clear(),
            Some((s, e)) => {
                self.items.truncate(e + 1);
                self.items.drain(..s);
            }
        }
    }

    /// LREM: removes the first `count` elements equal to `v` from the head (count > 0), the last
    /// `-count` from the tail (count < 0), or all of them (0); returns how many. In place, no
    /// allocation. O(N).
    pub fn remove(&mut self, v: &[u8], count: i64) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
        };
        // From the tail: keep the first (matches - limit) matches, remove the rest.
        let mut keep = if count < 0 {
            let matches = self.items.iter().filter(|x| ***x == *v).count();
            matches.saturating_sub(limit)
        } else {
            0
        };
        let mut removed = 0usize;
        self.items.retain(|x| {
            if removed >= limit || **x != *v {
                return true;
            }
            if keep > 0 {
                keep -= 1;
                return true;
            }
            removed += 1;
            false
        });
        removed
    }

    /// LINSERT: inserts `v` before (or `after`) the first element equal to `pivot`; returns the new
    /// length, or None without the pivot. O(N) to find the pivot, O(min(i, N - i)) to insert.
    pub fn insert_at(&mut self, pivot: &[u8], v: Elem, after: bool) -> Option<usize> {
        let p = self.items.iter().position(|x| **x == *pivot)?;
        self.items.insert(if after { p + 1 } else { p }, v);
        Some(self.items.len())
    }

    /// LPOS's search: the positions of the elements equal to `v`, skipping the first `|rank| - 1`
    /// matches and walking from the tail when `rank` is negative; at most `count` of them (None: the
    /// first only; Some(0): all), within the first `maxlen` elements walked (0: all). LPOS refuses
    /// rank 0; here it walks as -1 does. O(N), or O(maxlen).
    pub fn positions(&self, v: &[u8], rank: i64, count: Option<u64>, maxlen: u64) -> Vec<usize> {
        let len = self.items.len();
        // Redis negates a negative rank in a C long: RANK -9223372036854775808 stays negative, so every
        // match qualifies (like RANK -1) and the COUNT test, computed with the same overflow, never
        // stops the walk.
        let min_rank = rank == i64::MIN;
        let skip = if min_rank {
            0
        } else {
            rank.unsigned_abs().saturating_sub(1)
        };
        let want = match count {
            Some(_) if min_rank => u64::MAX,
            Some(0) => u64::MAX,
            Some(c) => c,
            None => 1,
        };
        let limit = if maxlen == 0 {
            len
        } else {
            usize::try_from(maxlen).map_or(len, |m| m.min(len))
        };
        let (mut seen, mut found) = (0u64, Vec::new());
        for step in 0..limit {
            let idx = if rank > 0 { step } else { len - 1 - step };
            if *self.items[idx] != *v {
                continue;
            }
            seen += 1;
            if seen <= skip {
                continue;
            }
            found.push(idx);
            if found.len() as u64 >= want {
                break;
            }
        }
        found
    }
}

/// Clamps Redis start/stop indices (negative from the end) to a list of `len`, as LRANGE and LTRIM do;
/// None when the range is empty. O(1), no overflow for any i64.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let s = if start < 0 { len + start } else { start }.max(0);
    let e = if stop < 0 { len + stop } else { stop };
    if s > e || s >= len {
        return None;
    }
    Some((s as usize, e.min(len - 1) as usize))
}

/// Resolves a possibly negative index against `len`; None when outside the list. O(1).
fn index_of(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> ListValue {
        let mut l = ListValue::default();
        for i in items {
            l.push(i.as_bytes().into(), false);
        }
        l
    }

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(clamp_range(0, -1, 3), Some((0, 2)));
        assert_eq!(clamp_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(clamp_range(2, 1, 3), None);
        assert_eq!(clamp_range(3, 10, 3), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(clamp_range(i64::MIN, i64::MIN, 3), None);
        assert_eq!(clamp_range(0, -1, 0), None);
        assert_eq!(index_of(-1, 3), Some(2));
        assert_eq!(index_of(i64::MIN, 3), None);
        assert_eq!(index_of(i64::MAX, 3), None);
    }

    #[test]
    fn removals_from_either_end() {
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(l.remove(b"a", -2), 2);
        assert_eq!(l, list(&["a", "b", "c"]));
        assert_eq!(l.remove(b"a", 0), 1);
        assert_eq!(l.remove(b"zz", 1), 0);
        assert_eq!(l, list(&["b", "c"]));
    }

    #[test]
    fn positions_follow_rank_count_and_maxlen() {
        let l = list(&["a", "b", "a", "a"]);
        assert_eq!(l.positions(b"a", 1, None, 0), vec![0]);
        assert_eq!(l.positions(b"a", 2, Some(0), 0), vec![2, 3]);
        assert_eq!(l.positions(b"a", -1, Some(2), 0), vec![3, 2]);
        assert_eq!(l.positions(b"a", 1, Some(0), 2), vec![0]);
        assert_eq!(l.positions(b"a", i64::MIN, Some(1), 0), vec![3, 2, 0]);
        assert!(l.positions(b"x", 1, None, 0).is_empty());
    }
}
