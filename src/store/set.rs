//! Sets: an insertion-ordered hash set, so membership is O(1) and so is picking a random member by
//! index (SPOP, SRANDMEMBER). While Redis 7.0 would keep the set as an intset (every member a
//! canonical integer, at most set-max-intset-entries of them) its members are listed in ascending
//! numeric order, as Redis lists an intset; once converted it stays a hashtable, as in Redis.
//!
//! The set algebra of SINTER, SUNION, SDIFF and SINTERCARD is here too, computed over borrowed sets
//! without copying a member.

use indexmap::IndexSet;

use super::encoding::Elem;
use crate::num::parse_i64;

/// A set. `members` is public for reads and random picks by index; members are added through
/// [`SetValue::add`], which keeps `intset` (the encoding Redis would report) right. Never empty while
/// stored.
#[derive(Debug, Clone, Default)]
pub struct SetValue {
    /// The members, in insertion order (swap-removal moves the last into a hole).
    pub members: IndexSet<Elem, ahash::RandomState>,
    /// Whether Redis would still encode the set as an intset.
    pub intset: bool,
}

/// Whether Redis stores `m` in an intset: a canonical decimal i64 (`string2ll`). O(len).
#[inline]
fn is_int(m: &[u8]) -> bool {
    parse_i64(m).is_some()
}

impl SetValue {
    /// An empty set in the encoding Redis's `setTypeCreate` picks for its first member. O(1).
    pub fn for_first(first: &[u8]) -> SetValue {
        SetValue {
            members: IndexSet::default(),
            intset: is_int(first),
        }
    }

    /// Adds a member, converting the encoding as Redis's `setTypeAdd` does: a non-integer converts an
    /// intset, and so does an integer that was new and took it past `max_intset`. Returns whether the
    /// member was new. O(1); allocates only the stored member.
    pub fn add(&mut self, m: &[u8], max_intset: usize) -> bool {
        let added = self.members.insert(m.into());
        if self.intset && (!is_int(m) || (added && self.members.len() > max_intset)) {
            self.intset = false;
        }
        added
    }

    /// Removes a member (the last one takes its index); returns whether it was there. O(1).
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.members.swap_remove(m)
    }

    /// Every member in the order Redis lists them: ascending for an intset (as Redis iterates one),
    /// table order otherwise. O(N log N) for an intset (its members are sorted into a vector), O(1)
    /// to start and O(N) to walk otherwise.
    pub fn ordered(&self) -> Members<'_> {
        if self.intset {
            let mut v: Vec<(i64, &Elem)> = self
                .members
                .iter()
                .map(|m| (parse_i64(m).unwrap_or(0), m))
                .collect();
            v.sort_unstable_by_key(|p| p.0);
            Members::Sorted(v.into_iter())
        } else {
            Members::Table(self.members.iter())
        }
    }
}

/// The members of a set in Redis's order (see [`SetValue::ordered`]).
pub enum Members<'a> {
    /// An intset's members, sorted by value.
    Sorted(std::vec::IntoIter<(i64, &'a Elem)>),
    /// A hashtable's members, in table order.
    Table(indexmap::set::Iter<'a, Elem>),
}

impl<'a> Iterator for Members<'a> {
    type Item = &'a Elem;

    fn next(&mut self) -> Option<&'a Elem> {
        match self {
            Members::Sorted(it) => it.next().map(|p| p.1),
            Members::Table(it) => it.next(),
        }
    }
}

/// A set-algebra operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// Members of every set (SINTER).
    Inter,
    /// Members of any set (SUNION).
    Union,
    /// Members of the first set and of no other (SDIFF).
    Diff,
}

/// The sets of an intersection, smallest first, or None when one is missing (the result is empty).
/// O(K log K) for K sets.
fn by_size<'d>(sets: &[Option<&'d SetValue>]) -> Option<Vec<&'d SetValue>> {
    let mut v: Vec<&SetValue> = sets.iter().copied().collect::<Option<_>>()?;
    v.sort_by_key(|s| s.members.len());
    Some(v)
}

/// Whether `m` of the smallest set is in every other set of an intersection. O(K).
#[inline]
fn in_all(m: &Elem, rest: &[&SetValue]) -> bool {
    rest.iter().all(|s| s.members.contains(m))
}

/// The members of `op` over `sets` (None: a missing key, an empty set), by reference (nothing is
/// copied), in the order Redis would list them when that order is determined: ascending when Redis
/// iterates an intset, that is the smallest set for an intersection, the result set built by
/// SUNION/SDIFF otherwise (an intset while every member is an integer and there are at most
/// `max_intset` of them). O(N*K) for an intersection (N the smallest cardinality, K the sets),
/// O(total members) for union and difference, plus O(M log M) to sort an integer result of M.
pub fn combine<'d>(sets: &[Option<&'d SetValue>], op: SetOp, max_intset: usize) -> Vec<&'d Elem> {
    let (mut out, ascending): (Vec<&Elem>, bool) = match op {
        SetOp::Inter => match by_size(sets).as_deref() {
            Some([first, rest @ ..]) => (
                first.members.iter().filter(|m| in_all(m, rest)).collect(),
                first.intset,
            ),
            _ => (Vec::new(), false),
        },
        SetOp::Union => {
            // The largest set is taken whole; members of the others are checked against it and against
            // what was already added from them.
            let Some(big) = sets.iter().flatten().max_by_key(|s| s.members.len()) else {
                return Vec::new();
            };
            let mut out: Vec<&Elem> = big.members.iter().collect();
            let mut extra: ahash::HashSet<&[u8]> = Default::default();
            for s in sets.iter().flatten() {
                if std::ptr::eq(*s, *big) {
                    continue;
                }
                for m in &s.members {
                    if !big.members.contains(m) && extra.insert(m) {
                        out.push(m);
                    }
                }
            }
            (out, true)
        }
        SetOp::Diff => match sets.split_first() {
            Some((Some(first), rest)) => (
                first
                    .members
                    .iter()
                    .filter(|m| !rest.iter().flatten().any(|s| s.members.contains(*m)))
                    .collect(),
                true,
            ),
            _ => (Vec::new(), false),
        },
    };
    let ascending = match op {
        SetOp::Inter => ascending,
        _ => out.len() <= max_intset && out.iter().all(|m| is_int(m)),
    };
    if ascending && out.len() > 1 {
        out.sort_by_cached_key(|m| parse_i64(m).unwrap_or(0));
    }
    out
}

/// SINTERCARD: the size of the intersection of `sets`, counted without building it, stopping at
/// `limit` (0: none). O(N*K), N the smallest cardinality, K the sets.
pub fn intersection_card(sets: &[Option<&SetValue>], limit: u64) -> u64 {
    let mut n = 0u64;
    if let Some([first, rest @ ..]) = by_size(sets).as_deref() {
        for m in &first.members {
            if in_all(m, rest) {
                n += 1;
                if n == limit {
                    break;
                }
            }
        }
    }
    n
}

/// A new set holding `members`, encoded as Redis encodes the result of SINTERSTORE and friends (it
/// builds them from an empty intset). O(M).
pub fn from_members(members: &[&Elem], max_intset: usize) -> SetValue {
    let mut s = SetValue {
        members: IndexSet::with_capacity_and_hasher(members.len(), Default::default()),
        intset: true,
    };
    for m in members {
        s.add(m, max_intset);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_follows_set_type_add() {
        let mut s = SetValue::for_first(b"1");
        assert!(s.intset);
        assert!(s.add(b"1", 2));
        assert!(s.add(b"2", 2));
        assert!(!s.add(b"2", 2));
        assert!(s.intset, "a repeated member does not convert");
        assert!(s.add(b"3", 2));
        assert!(!s.intset, "a third integer converts at limit 2");
        let mut t = SetValue::for_first(b"1");
        t.add(b"01", 512);
        assert!(!t.intset, "non-canonical integers are strings");
        assert!(!SetValue::for_first(b"a").intset);
    }

    #[test]
    fn intsets_list_in_numeric_order() {
        let mut s = SetValue::for_first(b"10");
        for m in [&b"10"[..], b"-3", b"2"] {
            s.add(m, 512);
        }
        let order: Vec<&[u8]> = s.ordered().map(|m| &**m).collect();
        assert_eq!(order, [&b"-3"[..], b"2", b"10"]);
        s.add(b"x", 512);
        let order: Vec<&[u8]> = s.ordered().map(|m| &**m).collect();
        assert_eq!(order, [&b"10"[..], b"-3", b"2", b"x"]);
    }

    #[test]
    fn algebra_over_missing_sets() {
        let a = from_members(&[&b"1".as_slice().into(), &b"2".as_slice().into()], 512);
        let b = from_members(&[&b"2".as_slice().into(), &b"3".as_slice().into()], 512);
        let names = |v: Vec<&Elem>| v.into_iter().map(|m| m.to_vec()).collect::<Vec<_>>();
        assert_eq!(
            names(combine(&[Some(&a), Some(&b)], SetOp::Inter, 512)),
            [b"2"]
        );
        assert!(combine(&[Some(&a), None], SetOp::Inter, 512).is_empty());
        assert_eq!(
            names(combine(&[Some(&b), None, Some(&a)], SetOp::Union, 512)),
            [b"1", b"2", b"3"]
        );
        assert_eq!(
            names(combine(&[Some(&a), Some(&b)], SetOp::Diff, 512)),
            [b"1"]
        );
        assert!(combine(&[None, Some(&b)], SetOp::Diff, 512).is_empty());
        assert_eq!(intersection_card(&[Some(&a), Some(&b)], 0), 1);
        assert_eq!(intersection_card(&[Some(&a), Some(&a)], 1), 1);
    }
}
