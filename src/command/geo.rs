//! The geo command family: positions stored as sorted set scores (52-bit geohashes, see
//! [`crate::store::geohash`]) and searches over them.
//!
//! Everything a client can see follows Redis 7.0.15: option parsing and its errors in Redis's order,
//! scores, distances (`%.4f` as Redis's `fixedpoint_d2string`), coordinates (the decoded cell centre
//! printed as Redis prints a long double, `%.17Lf` without trailing zeros), and the order of search
//! results, which for ties depends on the sort Redis uses: glibc's merge sort for a full sort, and
//! Redis's own partial quicksort (`pqsort`) when COUNT keeps fewer than were found. Both are
//! reproduced here step for step.

use super::{cmd, flag::*, typed, Args, Command, Ctx, Exec, Handled, KeySpec};
use crate::num::{parse_i64, strtod};
use crate::resp::reply::c_str;
use crate::resp::{err, Reply};
use crate::store::geohash::{self, Search, Shape};
use crate::store::notify::{GENERIC, ZSET};
use crate::store::{Value, ZSetValue};

/// The geo commands (Redis 7.0.15's arity, flags and key positions).
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Keyed;
    use KeySpec::Range as K;
    const W: u32 = WRITE | DENYOOM;
    vec![
        cmd("geoadd", -5, W, K(1, 1, 1), Keyed(typed!(geoadd))),
        cmd("geodist", -4, READONLY, K(1, 1, 1), Keyed(typed!(geodist))),
        cmd("geohash", -2, READONLY, K(1, 1, 1), Keyed(typed!(geohash_cmd))),
        cmd("geopos", -2, READONLY, K(1, 1, 1), Keyed(typed!(geopos))),
        cmd("georadius", -6, W | MOVABLEKEYS, KeySpec::Custom(georadius_keys), Keyed(typed!(georadius))),
        cmd("georadiusbymember", -5, W | MOVABLEKEYS, KeySpec::Custom(georadiusbymember_keys), Keyed(typed!(georadiusbymember))),
        cmd("georadius_ro", -6, READONLY, K(1, 1, 1), Keyed(typed!(georadius_ro))),
        cmd("georadiusbymember_ro", -5, READONLY, K(1, 1, 1), Keyed(typed!(georadiusbymember_ro))),
        cmd("geosearch", -7, READONLY, K(1, 1, 1), Keyed(typed!(geosearch))),
        cmd("geosearchstore", -8, W, K(1, 2, 1), Keyed(typed!(geosearchstore))),
    ]
}

/// Key positions of GEORADIUS: see [`radius_keys`].
fn georadius_keys(a: &Args, out: &mut Vec<usize>) {
    radius_keys(a, 6, out)
}

/// Key positions of GEORADIUSBYMEMBER: see [`radius_keys`].
fn georadiusbymember_keys(a: &Args, out: &mut Vec<usize>) {
    radius_keys(a, 5, out)
}

/// Key positions of GEORADIUS and GEORADIUSBYMEMBER, options from `base` on, as Redis's key specs
/// find them (what COMMAND GETKEYS answers): the source, the key after the first `STORE` from `base`
/// on, the key after the first `STOREDIST`. The handler stores into the key after the *last* of
/// these options, so when that one is neither, it is added: every key the command may write is
/// routed with it. O(arguments).
fn radius_keys(a: &Args, base: usize, out: &mut Vec<usize>) {
    if a.len() < 2 {
        return;
    }
    out.push(1);
    // Redis's keyword search: from `base` up to the last argument excluded.
    for kw in ["store", "storedist"] {
        if let Some(i) = (base..a.len().saturating_sub(1)).find(|&i| word(a.get(i), kw)) {
            out.push(i + 1);
        }
    }
    // The handler's walk: COUNT, STORE and STOREDIST take the next argument.
    let mut last = None;
    let mut i = base;
    while i < a.len() {
        let arg = a.get(i);
        if i + 1 < a.len() {
            if word(arg, "store") || word(arg, "storedist") {
                last = Some(i + 1);
                i += 1;
            } else if word(arg, "count") {
                i += 1;
            }
        }
        i += 1;
    }
    if let Some(k) = last {
        if !out[1..].contains(&k) {
            out.push(k);
        }
    }
}

/// Whether an argument is the keyword `w`, compared as C's `strcasecmp` does (up to a NUL byte).
#[inline]
fn word(b: &[u8], w: &str) -> bool {
    c_str(b).eq_ignore_ascii_case(w.as_bytes())
}

/// A double argument, parsed as Redis's `getDoubleFromObject` (`string2d`): the whole argument is a
/// C float, no leading space, no overflow, not NaN.
fn parse_double(b: &[u8]) -> Option<f64> {
    match b.first() {
        None | Some(b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') => return None,
        _ => {}
    }
    let (v, used, erange) = strtod(b);
    if used != b.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        None
    } else {
        Some(v)
    }
}

/// C's `%f` of a double (as Redis's error texts print coordinates). O(digits).
fn c_fixed6(d: f64) -> String {
    let mut buf = [0u8; 400];
    // SAFETY: the format is NUL-terminated and takes one double; snprintf writes at most buf.len()
    // bytes, the terminating NUL included (any double's %f fits in 400 bytes).
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%f".as_ptr(),
            d,
        )
    };
    let n = (n.max(0) as usize).min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A coordinate as Redis's `addReplyHumanLongDouble` writes it: `%.17Lf` (the double's exact
/// value, so `%.17f` gives the same digits) without trailing zeros, `-0` as `0`; a bulk string in
/// RESP2, a double in RESP3. O(1).
fn reply_coord(r: &mut Reply, d: f64) {
    let mut buf = [0u8; 400];
    let s: &[u8] = if d.is_infinite() {
        if d > 0.0 {
            b"inf"
        } else {
            b"-inf"
        }
    } else {
        // SAFETY: as in c_fixed6.
        let n = unsafe {
            libc::snprintf(
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
                c"%.17f".as_ptr(),
                d,
            )
        };
        let mut l = (n.max(0) as usize).min(buf.len() - 1);
        if buf[..l].contains(&b'.') {
            while l > 0 && buf[l - 1] == b'0' {
                l -= 1;
            }
            if l > 0 && buf[l - 1] == b'.' {
                l -= 1;
            }
        }
        if &buf[..l] == b"-0" {
            b"0"
        } else {
            &buf[..l]
        }
    };
    if r.resp3() {
        r.raw(b",");
        r.raw(s);
        r.raw(b"\r\n");
    } else {
        r.bulk(s);
    }
}

/// A distance as Redis's `addReplyDoubleDistance` writes it (`fixedpoint_d2string` with 4 digits:
/// the value times 10^4 rounded with `llrint`, then the digits with a point before the last four),
/// always a bulk string. O(1).
fn reply_distance(r: &mut Reply, d: f64) {
    if d == 0.0 {
        r.bulk(b"0.0000");
        return;
    }
    let scaled = (d * 10000.0).round_ties_even();
    // llrint of a NaN or out-of-range value is x86's "integer indefinite".
    let v = if (-9223372036854775808.0..9223372036854775808.0).contains(&scaled) {
        scaled as i64
    } else {
        i64::MIN
    };
    let u = v.unsigned_abs();
    let s = format!(
        "{}{}.{:04}",
        if v < 0 { "-" } else { "" },
        u / 10000,
        u % 10000
    );
    r.bulk(s.as_bytes());
}

/// A unit's meters (Redis's `extractUnitOrReply`), or its error.
fn unit(b: &[u8]) -> Result<f64, &'static str> {
    if word(b, "m") {
        Ok(1.0)
    } else if word(b, "km") {
        Ok(1000.0)
    } else if word(b, "ft") {
        Ok(0.3048)
    } else if word(b, "mi") {
        Ok(1609.34)
    } else {
        Err("ERR unsupported unit provided. please use M, KM, FT, MI")
    }
}

/// `radius unit` at `i` (Redis's `extractDistanceOrReply`): the radius and the unit's meters.
fn distance_arg(a: &Args, i: usize) -> Result<(f64, f64), &'static str> {
    let r = parse_double(a.get(i)).ok_or("ERR need numeric radius")?;
    if r < 0.0 {
        return Err("ERR radius cannot be negative");
    }
    Ok((r, unit(a.get(i + 1))?))
}

/// `width height unit` at `i` (Redis's `extractBoxOrReply`): width, height and the unit's meters.
fn box_arg(a: &Args, i: usize) -> Result<(f64, f64, f64), &'static str> {
    let w = parse_double(a.get(i)).ok_or("ERR need numeric width")?;
    let h = parse_double(a.get(i + 1)).ok_or("ERR need numeric height")?;
    if h < 0.0 || w < 0.0 {
        return Err("ERR height or width cannot be negative");
    }
    Ok((w, h, unit(a.get(i + 2))?))
}

/// `longitude latitude` at `i` (Redis's `extractLongLatOrReply`): both parsed, then checked against
/// the indexable limits.
fn lonlat_arg(a: &Args, i: usize) -> Result<[f64; 2], String> {
    let lon = parse_double(a.get(i)).ok_or(err::NOT_FLOAT)?;
    let lat = parse_double(a.get(i + 1)).ok_or(err::NOT_FLOAT)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&lon)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return Err(format!(
            "ERR invalid longitude,latitude pair {},{}",
            c_fixed6(lon),
            c_fixed6(lat)
        ));
    }
    Ok([lon, lat])
}

// -------------------------------------------------------------------------------------------- GEOADD

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: Redis turns it into a ZADD of the
/// positions' scores, so options, errors, reply and event ("zadd") are ZADD's after GEOADD's own
/// checks (triples, NX with XX, each position). O(M log N) for M members.
fn geoadd(ctx: &mut Ctx, a: &Args) -> Handled {
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut i = 2;
    while i < a.len() {
        let o = a.get(i);
        if word(o, "nx") {
            nx = true;
        } else if word(o, "xx") {
            xx = true;
        } else if word(o, "ch") {
            ch = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = a.len() - i;
    if !rest.is_multiple_of(3) || (xx && nx) {
        return ctx.error(err::SYNTAX);
    }
    let n = rest / 3;
    let mut scores = Vec::with_capacity(n);
    for j in 0..n {
        match lonlat_arg(a, i + 3 * j) {
            Ok([lon, lat]) => scores.push(geohash::score_of(lon, lat) as f64),
            Err(e) => return ctx.error(&e),
        }
    }
    // ZADD then refuses a call without elements.
    if n == 0 {
        return ctx.error(err::SYNTAX);
    }
    let key = a.get(1);
    let l = ctx.ks.limits;
    let (now, db) = (ctx.now, ctx.db);
    let d = &mut ctx.ks.dbs[db];
    let z = if xx {
        match d.get_as::<ZSetValue>(key, now)? {
            Some(z) => z,
            None => {
                ctx.reply.int(0);
                return Ok(());
            }
        }
    } else {
        let first_len = a.get(i + 2).len();
        d.get_or_create_as::<ZSetValue>(key, now, || {
            Value::ZSet(Box::new(ZSetValue::for_first_member(first_len, &l)))
        })?
    };
    let (mut added, mut updated) = (0i64, 0i64);
    for (j, &s) in scores.iter().enumerate() {
        let m = a.get(i + 3 * j + 2);
        match z.score(m) {
            Some(cur) => {
                if nx {
                    continue;
                }
                if cur != s {
                    z.rescore(m, cur, s);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.add_absent(m, s, &l);
                added += 1;
            }
        }
    }
    ctx.reply.int(if ch { added + updated } else { added });
    if added > 0 || updated > 0 {
        ctx.notify(ZSET, "zadd", key);
    }
    Ok(())
}

// ------------------------------------------------------------------------------ GEODIST, HASH, POS

/// GEODIST key member1 member2 [unit]: the unit is checked first, then the key; null when either
/// member is missing. O(1).
fn geodist(ctx: &mut Ctx, a: &Args) -> Handled {
    let mut to_meter = 1.0;
    if a.len() == 5 {
        match unit(a.get(4)) {
            Ok(u) => to_meter = u,
            Err(e) => return ctx.error(e),
        }
    } else if a.len() > 5 {
        return ctx.error(err::SYNTAX);
    }
    let Some(z) = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)? else {
        ctx.reply.null();
        return Ok(());
    };
    match (z.score(a.get(2)), z.score(a.get(3))) {
        (Some(s1), Some(s2)) => {
            let [x1, y1] = geohash::decode_score(s1);
            let [x2, y2] = geohash::decode_score(s2);
            reply_distance(&mut ctx.reply, geohash::distance(x1, y1, x2, y2) / to_meter);
        }
        _ => ctx.reply.null(),
    }
    Ok(())
}

/// GEOHASH key [member ...]: each member's 11-character geohash string, or null. O(M).
fn geohash_cmd(ctx: &mut Ctx, a: &Args) -> Handled {
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.array(a.len() - 2);
    for m in a.iter_from(2) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => ctx.reply.bulk(&geohash::base32_of_score(s)),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

/// GEOPOS key [member ...]: each member's `[longitude, latitude]`, or a null array. O(M).
fn geopos(ctx: &mut Ctx, a: &Args) -> Handled {
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(1), ctx.now)?;
    ctx.reply.array(a.len() - 2);
    for m in a.iter_from(2) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => {
                let [lon, lat] = geohash::decode_score(s);
                ctx.reply.array(2);
                reply_coord(&mut ctx.reply, lon);
                reply_coord(&mut ctx.reply, lat);
            }
            None => ctx.reply.null_array(),
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------ searches

/// Which search command runs (Redis's `georadiusGeneric` flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS (`store`: STORE/STOREDIST accepted) or GEORADIUS_RO.
    Coords { store: bool },
    /// GEORADIUSBYMEMBER or its _RO form.
    Member { store: bool },
    /// GEOSEARCH.
    Search,
    /// GEOSEARCHSTORE.
    SearchStore,
}

impl Form {
    /// GEOSEARCH or GEOSEARCHSTORE: FROM*/BY* options, no STORE keyword.
    fn geosearch(self) -> bool {
        matches!(self, Form::Search | Form::SearchStore)
    }
    /// GEORADIUS or GEORADIUSBYMEMBER (not _RO): STORE and STOREDIST take a key.
    fn accepts_store(self) -> bool {
        matches!(
            self,
            Form::Coords { store: true } | Form::Member { store: true }
        )
    }
}

/// A point found by a search: its decoded position, distance from the centre (meters, then the
/// unit), score and member.
#[derive(Clone, Copy)]
struct Point<'z> {
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
    member: &'z [u8],
}

/// Redis's `sort_gp_asc`: 1, 0 or -1 by distance (a NaN compares below everything, as there).
#[inline]
fn cmp_asc(a: &Point, b: &Point) -> i32 {
    if a.dist > b.dist {
        1
    } else if a.dist == b.dist {
        0
    } else {
        -1
    }
}

/// glibc's `qsort` (a top-down merge sort, stable, left element first on ties), which Redis uses
/// when every point found is returned. O(N log N).
fn merge_sort<T: Copy>(v: &mut [T], tmp: &mut Vec<T>, cmp: &impl Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    merge_sort(&mut v[..n1], tmp, cmp);
    merge_sort(&mut v[n1..], tmp, cmp);
    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            tmp.push(v[i]);
            i += 1;
        } else {
            tmp.push(v[j]);
            j += 1;
        }
    }
    tmp.extend_from_slice(&v[i..n1]);
    let done = tmp.len();
    v[..done].copy_from_slice(tmp);
}

/// The median of three elements, as Bentley & McIlroy's `med3`.
fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> i32) -> usize {
    if cmp(&v[a], &v[b]) < 0 {
        if cmp(&v[b], &v[c]) < 0 {
            b
        } else if cmp(&v[a], &v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) > 0 {
        b
    } else if cmp(&v[a], &v[c]) < 0 {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements from `a` with the `n` from `b`, pairwise.
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for k in 0..n {
        v.swap(a + k, b + k);
    }
}

/// Redis's `pqsort`: Bentley & McIlroy's quicksort that only recurses into partitions overlapping
/// the wanted index range `want_lo..=want_hi`, on `v[lo..lo + n]`. The order of ties is this
/// algorithm's, which clients see when COUNT cuts a sorted result. O(N log N) worst typical.
fn partial_sort<T: Copy>(
    v: &mut [T],
    lo: usize,
    n: usize,
    cmp: &impl Fn(&T, &T) -> i32,
    want_lo: usize,
    want_hi: usize,
) {
    // Redis recurses into the left partition and loops on the right one. The partitions are
    // disjoint, so the order they are sorted in does not change the result: an explicit stack
    // keeps a degenerate input from exhausting the thread's stack.
    let mut todo = vec![(lo, n)];
    while let Some((mut lo, mut n)) = todo.pop() {
        loop {
            if n < 7 {
                for m in lo + 1..lo + n {
                    let mut p = m;
                    while p > lo && cmp(&v[p - 1], &v[p]) > 0 {
                        v.swap(p, p - 1);
                        p -= 1;
                    }
                }
                break;
            }
            let mut pm = lo + n / 2;
            if n > 7 {
                let mut pl = lo;
                let mut pn = lo + n - 1;
                if n > 40 {
                    let d = n / 8;
                    pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                    pm = med3(v, pm - d, pm, pm + d, cmp);
                    pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
                }
                pm = med3(v, pl, pm, pn, cmp);
            }
            v.swap(lo, pm);
            let (mut pa, mut pb) = (lo + 1, lo + 1);
            let (mut pc, mut pd) = (lo + n - 1, lo + n - 1);
            loop {
                while pb <= pc {
                    let c = cmp(&v[pb], &v[lo]);
                    if c > 0 {
                        break;
                    }
                    if c == 0 {
                        v.swap(pa, pb);
                        pa += 1;
                    }
                    pb += 1;
                }
                while pb <= pc {
                    let c = cmp(&v[pc], &v[lo]);
                    if c < 0 {
                        break;
                    }
                    if c == 0 {
                        v.swap(pc, pd);
                        pd -= 1;
                    }
                    pc -= 1;
                }
                if pb > pc {
                    break;
                }
                v.swap(pb, pc);
                pb += 1;
                pc -= 1;
            }
            let pn = lo + n;
            let r = (pa - lo).min(pb - pa);
            vecswap(v, lo, pb - r, r);
            let r = (pd - pc).min(pn - pd - 1);
            vecswap(v, pb, pn - r, r);
            let r = pb - pa;
            if r > 1 && !(want_hi < lo || want_lo >= lo + r) {
                todo.push((lo, r));
            }
            let r = pd - pc;
            if r > 1 {
                let start = pn - r;
                if !(want_hi < start || want_lo >= start + r) {
                    lo = start;
                    n = r;
                    continue;
                }
            }
            break;
        }
    }
}

/// Result order asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// Every search form (Redis's `georadiusGeneric`). The source is looked up first (WRONGTYPE
/// before anything else), then the centre, then the options left to right, each checked as it is
/// read; then the option conflicts; then a missing source answers (deleting a STORE destination).
/// Cost: O(K log N + P) for the nine score ranges walked, P the points they hold, plus the sort.
fn search(ctx: &mut Ctx, a: &Args, src: usize, form: Form) -> Handled {
    let (now, limits) = (ctx.now, ctx.ks.limits);
    let z = ctx.ks.read::<ZSetValue>(ctx.db, a.get(src), now)?;
    let r = &mut ctx.reply;
    let mut xy = [0.0f64; 2];
    let mut shape = Shape::Circle(0.0);
    let mut conversion = 1.0;
    let mut store_key: Option<usize> = None;
    let mut store_dist = false;
    let base;
    macro_rules! fail {
        ($e:expr) => {{
            r.error(&$e);
            return Ok(());
        }};
    }
    match form {
        Form::Coords { .. } => {
            base = 6;
            match lonlat_arg(a, 2) {
                Ok(p) => xy = p,
                Err(e) => fail!(e),
            }
            match distance_arg(a, 4) {
                Ok((radius, c)) => (shape, conversion) = (Shape::Circle(radius), c),
                Err(e) => fail!(e),
            }
        }
        Form::Member { .. } => {
            base = 5;
            if let Some(z) = z {
                match z.score(a.get(2)) {
                    Some(s) => xy = geohash::decode_score(s),
                    None => fail!("ERR could not decode requested zset member"),
                }
                match distance_arg(a, 3) {
                    Ok((radius, c)) => (shape, conversion) = (Shape::Circle(radius), c),
                    Err(e) => fail!(e),
                }
            }
        }
        Form::Search => base = 2,
        Form::SearchStore => {
            base = 3;
            store_key = Some(1);
        }
    }

    let (mut withdist, mut withhash, mut withcoords) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let remaining = a.len().saturating_sub(base);
    let mut i = 0;
    while i < remaining {
        let at = base + i;
        let arg = a.get(at);
        if word(arg, "withdist") {
            withdist = true;
        } else if word(arg, "withhash") {
            withhash = true;
        } else if word(arg, "withcoord") {
            withcoords = true;
        } else if word(arg, "any") {
            any = true;
        } else if word(arg, "asc") {
            sort = Sort::Asc;
        } else if word(arg, "desc") {
            sort = Sort::Desc;
        } else if word(arg, "count") && i + 1 < remaining {
            match parse_i64(a.get(at + 1)) {
                Some(c) if c > 0 => count = c,
                Some(_) => fail!("ERR COUNT must be > 0"),
                None => fail!(err::NOT_INT),
            }
            i += 1;
        } else if word(arg, "store") && i + 1 < remaining && form.accepts_store() {
            store_key = Some(at + 1);
            store_dist = false;
            i += 1;
        } else if word(arg, "storedist") && i + 1 < remaining && form.accepts_store() {
            store_key = Some(at + 1);
            store_dist = true;
            i += 1;
        } else if word(arg, "storedist") && form == Form::SearchStore {
            store_dist = true;
        } else if word(arg, "frommember") && i + 1 < remaining && form.geosearch() && !fromloc {
            if let Some(z) = z {
                match z.score(a.get(at + 1)) {
                    Some(s) => xy = geohash::decode_score(s),
                    None => fail!("ERR could not decode requested zset member"),
                }
            }
            frommember = true;
            i += 1;
        } else if word(arg, "fromlonlat") && i + 2 < remaining && form.geosearch() && !frommember {
            match lonlat_arg(a, at + 1) {
                Ok(p) => xy = p,
                Err(e) => fail!(e),
            }
            fromloc = true;
            i += 2;
        } else if word(arg, "byradius") && i + 2 < remaining && form.geosearch() && !bybox {
            match distance_arg(a, at + 1) {
                Ok((radius, c)) => (shape, conversion) = (Shape::Circle(radius), c),
                Err(e) => fail!(e),
            }
            byradius = true;
            i += 2;
        } else if word(arg, "bybox") && i + 3 < remaining && form.geosearch() && !byradius {
            match box_arg(a, at + 1) {
                Ok((w, h, c)) => (shape, conversion) = (Shape::Box(w, h), c),
                Err(e) => fail!(e),
            }
            bybox = true;
            i += 3;
        } else {
            fail!(err::SYNTAX);
        }
        i += 1;
    }

    if store_key.is_some() && (withdist || withhash || withcoords) {
        fail!(if form == Form::SearchStore {
            "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        } else {
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        });
    }
    if form.geosearch() && !(frommember || fromloc) {
        let mut msg = b"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ".to_vec();
        msg.extend_from_slice(c_str(a.get(0)));
        r.error_bytes(&msg);
        return Ok(());
    }
    if form.geosearch() && !(byradius || bybox) {
        let mut msg = b"ERR exactly one of BYRADIUS and BYBOX can be specified for ".to_vec();
        msg.extend_from_slice(c_str(a.get(0)));
        r.error_bytes(&msg);
        return Ok(());
    }
    if any && count == 0 {
        fail!("ERR the ANY argument requires COUNT argument");
    }

    let Some(z) = z else {
        match store_key {
            Some(k) => {
                let dst = a.get(k);
                if ctx.ks.dbs[ctx.db].remove(dst, 0).is_some() {
                    ctx.notify(GENERIC, "del", dst);
                }
                ctx.reply.int(0);
            }
            None => ctx.reply.array(0),
        }
        return Ok(());
    };

    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let s = Search {
        xy,
        shape,
        conversion,
    };
    let limit = if any { count as u64 } else { 0 };
    let mut found = collect(z, &s, limit);

    if found.is_empty() && store_key.is_none() {
        r.array(0);
        return Ok(());
    }
    let len = found.len();
    let returned = if count == 0 || (len as u64) < count as u64 {
        len
    } else {
        count as usize
    };
    if sort != Sort::None {
        let desc = |x: &Point, y: &Point| -cmp_asc(x, y);
        if returned == len {
            let mut tmp = Vec::with_capacity(len);
            match sort {
                Sort::Asc => merge_sort(&mut found, &mut tmp, &cmp_asc),
                _ => merge_sort(&mut found, &mut tmp, &desc),
            }
        } else {
            match sort {
                Sort::Asc => partial_sort(&mut found, 0, len, &cmp_asc, 0, returned - 1),
                _ => partial_sort(&mut found, 0, len, &desc, 0, returned - 1),
            }
        }
    }
    found.truncate(returned);
    for p in found.iter_mut() {
        p.dist /= conversion;
    }

    let Some(k) = store_key else {
        let options = withdist as usize + withcoords as usize + withhash as usize;
        r.array(returned);
        for p in &found {
            if options > 0 {
                r.array(options + 1);
            }
            r.bulk(p.member);
            if withdist {
                reply_distance(r, p.dist);
            }
            if withhash {
                r.int(geohash::cvtt_i64(p.score));
            }
            if withcoords {
                r.array(2);
                reply_coord(r, p.lon);
                reply_coord(r, p.lat);
            }
        }
        return Ok(());
    };

    // STORE: a new sorted set of the results (scores, or distances with STOREDIST), encoded as
    // Redis converts it: a listpack when within the limits.
    let result = found.first().map(|first| {
        let mut out = ZSetValue::for_first_member(first.member.len(), &limits);
        for p in &found {
            let score = if store_dist { p.dist } else { p.score };
            if !out.contains(p.member) {
                out.add_absent(p.member, score, &limits);
            }
        }
        out
    });
    drop(found);
    let dst = a.get(k);
    let event = if form.geosearch() {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    let db = &mut ctx.ks.dbs[ctx.db];
    match result {
        Some(out) => {
            // Redis's setKey looks the destination up first: one found expired goes.
            db.get(dst, now);
            db.set(dst, Value::ZSet(Box::new(out)), 0);
            ctx.notify(ZSET, event, dst);
        }
        None => {
            if db.remove(dst, 0).is_some() {
                ctx.notify(GENERIC, "del", dst);
            }
        }
    }
    ctx.reply.int(returned as i64);
    Ok(())
}

/// The points of `z` inside the search, cell by cell in Redis's order (the centre cell, then north,
/// south, east, west, north-east, north-west, south-east, south-west), each cell's members in score
/// order; a cell equal to the one searched just before is skipped. With `limit` (ANY), stops once
/// that many were found. O(9 log N + P).
fn collect<'z>(z: &'z ZSetValue, s: &Search, limit: u64) -> Vec<Point<'z>> {
    let areas = geohash::areas_by_shape(s);
    let n = areas.neighbours;
    let cells = [
        areas.hash,
        n.north,
        n.south,
        n.east,
        n.west,
        n.north_east,
        n.north_west,
        n.south_east,
        n.south_west,
    ];
    let mut out: Vec<Point<'z>> = Vec::new();
    let full = |out: &Vec<Point>| limit != 0 && !out.is_empty() && out.len() as u64 >= limit;
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        if last != 0 && *cell == cells[last] {
            continue;
        }
        if full(&out) {
            break;
        }
        let (min, max) = geohash::score_range(*cell);
        for (score, m) in z.score_run((min, false), (max, true)) {
            let [lon, lat] = geohash::decode_score(score);
            if let Some(dist) = geohash::within(s, [lon, lat]) {
                out.push(Point {
                    lon,
                    lat,
                    dist,
                    score,
                    member: m,
                });
            }
            if full(&out) {
                break;
            }
        }
        last = i;
    }
    out
}

/// GEORADIUS key longitude latitude radius unit [options] [STORE key] [STOREDIST key].
fn georadius(ctx: &mut Ctx, a: &Args) -> Handled {
    search(ctx, a, 1, Form::Coords { store: true })
}

/// GEORADIUSBYMEMBER key member radius unit [options] [STORE key] [STOREDIST key].
fn georadiusbymember(ctx: &mut Ctx, a: &Args) -> Handled {
    search(ctx, a, 1, Form::Member { store: true })
}

/// GEORADIUS_RO: GEORADIUS without STORE.
fn georadius_ro(ctx: &mut Ctx, a: &Args) -> Handled {
    search(ctx, a, 1, Form::Coords { store: false })
}

/// GEORADIUSBYMEMBER_RO: GEORADIUSBYMEMBER without STORE.
fn georadiusbymember_ro(ctx: &mut Ctx, a: &Args) -> Handled {
    search(ctx, a, 1, Form::Member { store: false })
}

/// GEOSEARCH key FROMMEMBER m|FROMLONLAT lon lat BYRADIUS r unit|BYBOX w h unit [options].
fn geosearch(ctx: &mut Ctx, a: &Args) -> Handled {
    search(ctx, a, 1, Form::Search)
}

/// GEOSEARCHSTORE destination source ... [STOREDIST]: GEOSEARCH into a sorted set.
fn geosearchstore(ctx: &mut Ctx, a: &Args) -> Handled {
    search(ctx, a, 2, Form::SearchStore)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(d: &[f64]) -> Vec<Point<'static>> {
        d.iter()
            .enumerate()
            .map(|(i, &dist)| Point {
                lon: 0.0,
                lat: 0.0,
                dist,
                score: i as f64,
                member: b"",
            })
            .collect()
    }

    #[test]
    fn sorts_sort() {
        let mut seed = 12345u64;
        for n in [0usize, 1, 2, 6, 7, 8, 40, 41, 100, 333] {
            let d: Vec<f64> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    ((seed >> 33) % 50) as f64
                })
                .collect();
            let mut want = d.clone();
            want.sort_by(|a, b| a.total_cmp(b));
            let mut v = pts(&d);
            merge_sort(&mut v, &mut Vec::new(), &cmp_asc);
            assert_eq!(v.iter().map(|p| p.dist).collect::<Vec<_>>(), want);
            // Stable: equal distances keep their order.
            assert!(v
                .windows(2)
                .all(|w| w[0].dist < w[1].dist || w[0].score < w[1].score));
            for k in 1..=n.min(12) {
                let mut v = pts(&d);
                partial_sort(&mut v, 0, n, &cmp_asc, 0, k - 1);
                let got: Vec<f64> = v[..k].iter().map(|p| p.dist).collect();
                assert_eq!(got, want[..k]);
            }
        }
    }

    #[test]
    fn formats() {
        assert_eq!(c_fixed6(200.0), "200.000000");
        assert_eq!(c_fixed6(-0.0), "-0.000000");
        let mut out = Vec::new();
        let mut r = Reply::new(&mut out, false);
        reply_distance(&mut r, 166274.15156960033);
        reply_distance(&mut r, 0.00004);
        reply_distance(&mut r, 0.00005);
        reply_coord(&mut r, 13.361389338970184);
        reply_coord(&mut r, -0.0000000000000000001);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "$11\r\n166274.1516\r\n$6\r\n0.0000\r\n$6\r\n0.0000\r\n$20\r\n13.36138933897018433\r\n$1\r\n0\r\n"
        );
    }
}
