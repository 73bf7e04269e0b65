//! SORT and SORT_RO: the elements of a list, set or sorted set, ordered by their own value or by
//! weights read from other keys (`BY weight_*`, `BY h_*->field`), with GET patterns, LIMIT, ASC/DESC,
//! ALPHA and STORE, as Redis 7.0's sortCommandGeneric. The keys the patterns name are found in the
//! data: with several workers such a call holds every shard ([`super::FoundKeys`]).

use std::cmp::Ordering;

use super::{cmd, flag::*, Args, Command, Ctx, Exec, FoundKeys, KeySpec};
use crate::num::strtod;
use crate::resp::err;
use crate::store::notify::{GENERIC, LIST};
use crate::store::{Elem, Keyspace, ListValue, Value, ZSetValue};

/// SORT and SORT_RO (Redis 7.0.15's arities and flags; SORT's keys are the sorted key and its
/// STORE destination).
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    const FOUND: FoundKeys = FoundKeys { reaches: reaches_patterns, keys: pattern_keys };
    vec![
        cmd("sort", -2, WRITE | DENYOOM | MOVABLEKEYS, KeySpec::Custom(sort_keys), Exec::Keyed(sort)).with_found_keys(FOUND),
        cmd("sort_ro", -2, READONLY | MOVABLEKEYS, KeySpec::Range(1, 1, 1), Exec::Keyed(sort_ro)).with_found_keys(FOUND),
    ]
}

/// SORT's keys as Redis's sortGetKeys finds them: the sorted key, and the last STORE's argument
/// (LIMIT's two arguments and GET's and BY's one are skipped over).
fn sort_keys(args: &Args, out: &mut Vec<usize>) {
    out.push(1);
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let skip = if args.is(i, "limit") {
            2
        } else if args.is(i, "get") || args.is(i, "by") {
            1
        } else if args.is(i, "store") {
            if i + 1 < args.len() {
                store = Some(i + 1);
            }
            1
        } else {
            0
        };
        i += 1 + skip;
    }
    out.extend(store);
}

/// What a SORT call asks for.
struct Spec<'a> {
    desc: bool,
    alpha: bool,
    offset: i64,
    count: i64,
    /// Argument index of the STORE destination.
    store: Option<usize>,
    /// The BY pattern, when it has a `*` (a constant one means "do not sort").
    by: Option<&'a [u8]>,
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
}

/// Parses SORT's options left to right, as Redis does: the first bad one decides the error.
fn parse<'a>(a: &Args<'a>, readonly: bool) -> Result<Spec<'a>, &'static str> {
    let mut s = Spec {
        desc: false,
        alpha: false,
        offset: 0,
        count: -1,
        store: None,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        if a.is(j, "asc") {
            s.desc = false;
        } else if a.is(j, "desc") {
            s.desc = true;
        } else if a.is(j, "alpha") {
            s.alpha = true;
        } else if a.is(j, "limit") && left >= 2 {
            let parse = |b: &[u8]| crate::num::parse_i64(b).ok_or(err::NOT_INT);
            s.offset = parse(a.get(j + 1))?;
            s.count = parse(a.get(j + 2))?;
            j += 2;
        } else if !readonly && a.is(j, "store") && left >= 1 {
            s.store = Some(j + 1);
            j += 1;
        } else if a.is(j, "by") && left >= 1 {
            let p = a.get(j + 1);
            if p.contains(&b'*') {
                s.by = Some(p);
                s.dont_sort = false;
            } else {
                s.dont_sort = true;
            }
            j += 1;
        } else if a.is(j, "get") && left >= 1 {
            s.gets.push(a.get(j + 1));
            j += 1;
        } else {
            return Err(err::SYNTAX);
        }
        j += 1;
    }
    Ok(s)
}

/// What a pattern names for one element.
enum Target<'p> {
    /// `#`: the element itself.
    Itself,
    /// No `*`: nothing (a GET of a constant key gives nil, as in Redis).
    Nothing,
    /// A key, and a hash field when the pattern ends in `->field`.
    Key(Vec<u8>, Option<&'p [u8]>),
}

/// Substitutes `elem` for the first `*` of `pattern`, as Redis's lookupKeyByPattern: the text after
/// the first `->` that follows the `*` (when not empty) is a hash field.
fn target<'p>(pattern: &'p [u8], elem: &[u8]) -> Target<'p> {
    if pattern == b"#" {
        return Target::Itself;
    }
    let Some(star) = pattern.iter().position(|&b| b == b'*') else {
        return Target::Nothing;
    };
    let after = &pattern[star + 1..];
    let arrow = after.windows(2).position(|w| w == b"->");
    let (post, field) = match arrow {
        Some(i) if i + 2 < after.len() => (&after[..i], Some(&after[i + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(star + elem.len() + post.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(post);
    Target::Key(key, field)
}

/// The value a pattern gives for `elem`: a string key's value or a hash field's; None for a missing
/// key, field, or a key of another type. The lookup counts as a read (hit or miss).
fn lookup(ks: &mut Keyspace, db: usize, now: u64, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    match target(pattern, elem) {
        Target::Itself => Some(elem.to_vec()),
        Target::Nothing => None,
        Target::Key(key, field) => {
            let e = ks.read_any(db, &key, now)?;
            match (&e.value, field) {
                (Value::Str(s), None) => Some(s.with_bytes(<[u8]>::to_vec)),
                (Value::Hash(h), Some(f)) => h.fields.get(f).map(|v| v.to_vec()),
                _ => None,
            }
        }
    }
}

/// Whether a call's patterns name other keys (a BY with `*` that sorts, or a GET other than `#`).
fn reaches_patterns(a: &Args) -> bool {
    let Ok(s) = parse(a, false) else {
        return false;
    };
    (!s.dont_sort && s.by.is_some()) || s.gets.iter().any(|g| *g != b"#" && g.contains(&b'*'))
}

/// The keys a call's patterns name, over every element of the sorted key. O(N × patterns).
fn pattern_keys(ks: &Keyspace, db: usize, a: &Args, now: u64, out: &mut Vec<Vec<u8>>) {
    let Ok(s) = parse(a, false) else {
        return;
    };
    let Some(e) = ks.dbs[db].peek(a.get(1), now) else {
        return;
    };
    let by = s.by.filter(|_| !s.dont_sort);
    let patterns: Vec<&[u8]> = by.into_iter().chain(s.gets.iter().copied()).collect();
    for_each_element(&e.value, |elem| {
        for p in &patterns {
            if let Target::Key(k, _) = target(p, elem) {
                out.push(k);
            }
        }
    });
}

/// Calls `f` on every element of a list, set or sorted set (nothing for other types).
fn for_each_element(v: &Value, mut f: impl FnMut(&[u8])) {
    match v {
        Value::List(l) => l.items.iter().for_each(|e| f(e)),
        Value::Set(s) => s.members.iter().for_each(|e| f(e)),
        Value::ZSet(z) => z.iter_table().for_each(|(e, _)| f(e)),
        _ => {}
    }
}

/// One element to sort: the element, and what it sorts by.
struct Item {
    elem: Elem,
    score: f64,
    /// ALPHA BY: the weight read (None when missing: sorts first).
    by: Option<Vec<u8>>,
}

/// Bytes up to the first NUL: what C's strcoll sees of a string.
fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// A weight as Redis's strtod check: the whole string (up to a NUL) a number, no overflow, not NaN.
fn weight(b: &[u8]) -> Option<f64> {
    let b = c_str(b);
    let (v, used, erange) = strtod(b);
    (used == b.len() && !erange && !v.is_nan()).then_some(v)
}

fn sort(ctx: &mut Ctx, a: &Args) {
    run(ctx, a, false)
}

fn sort_ro(ctx: &mut Ctx, a: &Args) {
    run(ctx, a, true)
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dst].
/// O(N log N + N × patterns); with a constant BY on a list or sorted set, O(LIMIT).
fn run(ctx: &mut Ctx, a: &Args, readonly: bool) {
    let mut spec = match parse(a, readonly) {
        Ok(s) => s,
        Err(e) => return ctx.reply.error(e),
    };
    let (db, now) = (ctx.db, ctx.now);
    // The elements, and the LIMIT window over them. A list or sorted set that is not sorted is
    // read from the window alone, which then covers all that was read.
    let (elems, win): (Vec<Elem>, Window) =
        match ctx.ks.read_any(db, a.get(1), now).map(|e| &e.value) {
            None => (Vec::new(), None),
            Some(Value::List(l)) => {
                let win = window(spec.offset, spec.count, l.items.len());
                if spec.dont_sort {
                    (list_window(l, win, spec.desc), win.map(|(s, e)| (0, e - s)))
                } else {
                    (l.items.iter().cloned().collect(), win)
                }
            }
            Some(Value::Set(s)) => {
                // A set has no order of its own: stored results are sorted, as in Redis.
                if spec.dont_sort && spec.store.is_some() {
                    spec.dont_sort = false;
                    spec.alpha = true;
                    spec.by = None;
                }
                let elems: Vec<Elem> = s.ordered().map(|e| Elem::from(&e[..])).collect();
                let win = window(spec.offset, spec.count, elems.len());
                (elems, win)
            }
            Some(Value::ZSet(z)) => {
                let win = window(spec.offset, spec.count, z.len());
                if spec.dont_sort {
                    (zset_window(z, win, spec.desc), win.map(|(s, e)| (0, e - s)))
                } else {
                    (z.iter_table().map(|(m, _)| Elem::from(m)).collect(), win)
                }
            }
            Some(_) => return ctx.reply.error(err::WRONGTYPE),
        };
    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            by: None,
        })
        .collect();
    if !spec.dont_sort {
        let mut bad_weight = false;
        for it in &mut items {
            let w = match spec.by {
                Some(p) => match lookup(ctx.ks, db, now, p, &it.elem) {
                    Some(w) => w,
                    None => continue,
                },
                None => it.elem.to_vec(),
            };
            if spec.alpha {
                if spec.by.is_some() {
                    it.by = Some(w);
                }
            } else {
                match weight(&w) {
                    Some(v) => it.score = v,
                    None => bad_weight = true,
                }
            }
        }
        let store = spec.store.is_some();
        let by = spec.by.is_some();
        let cmp = |x: &Item, y: &Item| -> Ordering {
            let c = if !spec.alpha {
                x.score
                    .partial_cmp(&y.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.elem.cmp(&y.elem))
            } else if by {
                match (&x.by, &y.by) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(p), Some(q)) if store => p.cmp(q),
                    (Some(p), Some(q)) => c_str(p).cmp(c_str(q)),
                }
            } else if store {
                x.elem.cmp(&y.elem)
            } else {
                c_str(&x.elem).cmp(c_str(&y.elem))
            };
            if spec.desc {
                c.reverse()
            } else {
                c
            }
        };
        items.sort_by(cmp);
        if bad_weight {
            return ctx
                .reply
                .error("ERR One or more scores can't be converted into double");
        }
    }
    let picked = win.and_then(|(s, e)| items.get(s..=e)).unwrap_or(&[]);
    let per = spec.gets.len().max(1);
    match spec.store {
        None => {
            ctx.reply.array(picked.len() * per);
            for it in picked {
                if spec.gets.is_empty() {
                    ctx.reply.bulk(&it.elem);
                }
                for g in &spec.gets {
                    match lookup(ctx.ks, db, now, g, &it.elem) {
                        Some(v) => ctx.reply.bulk(&v),
                        None => ctx.reply.null(),
                    }
                }
            }
        }
        Some(dst_at) => {
            let mut out = ListValue::with_capacity(picked.len() * per);
            for it in picked {
                if spec.gets.is_empty() {
                    out.push(it.elem.clone(), false);
                }
                for g in &spec.gets {
                    let v = lookup(ctx.ks, db, now, g, &it.elem).unwrap_or_default();
                    out.push(v.into_boxed_slice(), false);
                }
            }
            let n = out.len();
            let dst = a.get(dst_at);
            let d = ctx.db();
            if n > 0 {
                // Redis's setKey: the destination is looked up first (one found expired goes).
                d.get(dst, now);
                d.set(dst, Value::List(Box::new(out)), 0);
                ctx.notify(LIST, "sortstore", dst);
            } else if d.remove(dst, 0).is_some() {
                ctx.notify(GENERIC, "del", dst);
            }
            ctx.reply.int(n as i64);
        }
    }
}

/// The LIMIT window: the first and last index taken, None when it is empty.
type Window = Option<(usize, usize)>;

/// Redis's LIMIT arithmetic over `n` elements.
fn window(offset: i64, count: i64, n: usize) -> Window {
    let len = n as i64;
    let start = offset.max(0).min(len);
    let count = count.max(-1).min(len);
    let end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    let end = end.min(len - 1);
    (start < len && end >= start).then_some((start as usize, end as usize))
}

/// The elements of a list in the window, in list order (from the tail with DESC). O(window).
fn list_window(l: &ListValue, win: Window, desc: bool) -> Vec<Elem> {
    let Some((start, end)) = win else {
        return Vec::new();
    };
    let take = end - start + 1;
    if desc {
        l.items
            .iter()
            .rev()
            .skip(start)
            .take(take)
            .cloned()
            .collect()
    } else {
        l.items.iter().skip(start).take(take).cloned().collect()
    }
}

/// The members of a sorted set in the window, in score order (from the highest with DESC).
fn zset_window(z: &ZSetValue, win: Window, desc: bool) -> Vec<Elem> {
    let Some((start, end)) = win else {
        return Vec::new();
    };
    let take = end - start + 1;
    if desc {
        z.iter()
            .rev()
            .skip(start)
            .take(take)
            .map(|(_, m)| Elem::from(m))
            .collect()
    } else {
        z.rank_range(start, start + take)
            .map(|(_, m)| Elem::from(m))
            .collect()
    }
}
