//! HyperLogLog sketches in Redis 7.0's exact byte format, so that a value made by PFADD here reads
//! the same in Redis (and back) through GET and SET: HLLs are plain strings.
//!
//! Layout: a 16-byte header (`HYLL`, an encoding byte, three unused bytes, the cached cardinality
//! as 8 little-endian bytes whose top bit marks it stale), then the registers: 16384 registers of 6
//! bits each, either *dense* (packed from the least significant bit, 12288 bytes) or *sparse*
//! (run lengths: `00xxxxxx` ZERO of 1-64 zero registers, `01xxxxxx yyyyyyyy` XZERO of 1-16384
//! zero registers, `1vvvvvxx` VAL of 1-4 registers holding 1-32). A new HLL is sparse; it turns
//! dense when a register needs more than 32 or the sparse form would pass `hll-sparse-max-bytes`.
//!
//! Every edit follows Redis's algorithm step by step (the same split of runs, the same merge of
//! neighbours, the same moment of promotion), because clients compare the bytes. Values come from
//! clients and may be corrupt: every walk is bounds-checked and reports [`Corrupt`] where Redis
//! answers INVALIDOBJ; a read one byte past the end sees 0, as C reads the string's terminating
//! NUL there.

/// Header size in bytes.
pub const HDR: usize = 16;
/// Number of registers (2^14).
pub const REGISTERS: usize = 1 << P;
/// Size of a dense HLL, header included.
pub const DENSE_SIZE: usize = HDR + REGISTERS * 6 / 8;
/// Encoding byte of a dense HLL.
pub const DENSE: u8 = 0;
/// Encoding byte of a sparse HLL.
pub const SPARSE: u8 = 1;
/// Default of `hll-sparse-max-bytes`.
pub const SPARSE_MAX_BYTES: usize = 3000;

/// Bits of the hash that choose the register.
const P: u32 = 14;
/// Bits left for the run of zeros.
const Q: usize = 64 - P as usize;
/// Largest value a sparse VAL opcode holds.
const VAL_MAX_VALUE: u8 = 32;
/// Longest run of a VAL opcode.
const VAL_MAX_LEN: usize = 4;
/// Longest run of a ZERO opcode.
const ZERO_MAX_LEN: usize = 64;
/// Longest run of an XZERO opcode.
const XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln(2), the estimator's constant.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The representation is corrupt (Redis's `INVALIDOBJ Corrupted HLL object detected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// Whether `v` passes Redis's isHLLObject test: at least a header, the magic, a known encoding,
/// and the exact size when dense. O(1). (The string may still be corrupt inside.)
pub fn is_hll(v: &[u8]) -> bool {
    v.len() >= HDR
        && &v[..4] == b"HYLL"
        && v[4] <= SPARSE
        && (v[4] != DENSE || v.len() == DENSE_SIZE)
}

/// A new, empty HLL as Redis creates one: sparse, a zero header but the magic, and one XZERO
/// opcode covering every register. O(1).
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 8);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.resize(HDR, 0);
    push_xzero(&mut v, XZERO_MAX_LEN.min(REGISTERS));
    v
}

/// MurmurHash64A (MurmurHash2, 64-bit), reading blocks little-endian, as Redis's copy. O(len).
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut blocks = key.chunks_exact(8);
    for b in &mut blocks {
        let mut k = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register `ele` falls in and the length of its `0...01` pattern (1 to Q + 1), as Redis's
/// hllPatLen. O(len).
#[inline]
pub fn pattern(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Register `i` of packed dense registers `r` (12288 bytes). O(1).
#[inline]
pub fn dense_get(r: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = r[byte] as u16;
    // With fb <= 2 the six bits lie in one byte; the next (past the end for the last register)
    // contributes nothing.
    let b1 = if fb > 2 { r[byte + 1] as u16 } else { 0 };
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

/// Sets register `i` of packed dense registers `r` to `val` (< 64). O(1).
#[inline]
pub fn dense_put(r: &mut [u8], i: usize, val: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = val as u16;
    r[byte] = (r[byte] & !((63u16 << fb) as u8)) | (v << fb) as u8;
    if fb > 2 {
        let fb8 = 8 - fb;
        r[byte + 1] = (r[byte + 1] & !((63u16 >> fb8) as u8)) | (v >> fb8) as u8;
    }
}

/// Raises register `i` to `count` if it is lower; whether it changed. O(1).
#[inline]
pub fn dense_set(r: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(r, i) {
        dense_put(r, i, count);
        true
    } else {
        false
    }
}

/// Byte `i` of `v`, or 0 past its end (C reads the string's terminating NUL there).
#[inline]
fn byte(v: &[u8], i: usize) -> u8 {
    v.get(i).copied().unwrap_or(0)
}

/// One sparse opcode, decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `len` zero registers (ZERO when `wide` is false, XZERO when true).
    Zero { len: usize, wide: bool },
    /// `len` registers holding `val`.
    Val { val: u8, len: usize },
}

impl Op {
    /// Registers covered.
    #[inline]
    fn span(self) -> usize {
        match self {
            Op::Zero { len, .. } | Op::Val { len, .. } => len,
        }
    }

    /// Bytes taken.
    #[inline]
    fn size(self) -> usize {
        match self {
            Op::Zero { wide: true, .. } => 2,
            _ => 1,
        }
    }
}

/// The opcode at `p` of `v` (p < v.len()). O(1).
#[inline]
fn op_at(v: &[u8], p: usize) -> Op {
    let b = v[p];
    if b & 0xc0 == 0 {
        Op::Zero {
            len: (b & 0x3f) as usize + 1,
            wide: false,
        }
    } else if b & 0x80 != 0 {
        Op::Val {
            val: ((b >> 2) & 0x1f) + 1,
            len: (b & 3) as usize + 1,
        }
    } else {
        Op::Zero {
            len: (((b & 0x3f) as usize) << 8 | byte(v, p + 1) as usize) + 1,
            wide: true,
        }
    }
}

/// The byte of a VAL opcode (val 1..=32, len 1..=4).
#[inline]
fn val_byte(val: u8, len: usize) -> u8 {
    0x80 | (val - 1) << 2 | (len as u8 - 1)
}

/// Appends an XZERO opcode of `len` (1..=16384) registers.
fn push_xzero(out: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    out.push(0x40 | (l >> 8) as u8);
    out.push(l as u8);
}

/// The (at most five) opcodes that replace a split run.
#[derive(Default)]
struct Seq {
    bytes: [u8; 5],
    len: usize,
}

impl Seq {
    fn push(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    /// The shortest zero opcode of `len` (1..=16384) registers, as Redis splits a zero run.
    fn zero(&mut self, len: usize) {
        if len > ZERO_MAX_LEN {
            let l = len - 1;
            self.push(0x40 | (l >> 8) as u8);
            self.push(l as u8);
        } else {
            self.push(len as u8 - 1);
        }
    }
}

/// Marks the cached cardinality stale. O(1).
#[inline]
pub fn invalidate(v: &mut [u8]) {
    v[15] |= 0x80;
}

/// The cached cardinality, when it is not stale. O(1).
pub fn cached(v: &[u8]) -> Option<u64> {
    (v[15] & 0x80 == 0).then(|| u64::from_le_bytes(v[8..16].try_into().unwrap_or([0; 8])))
}

/// Stores `card` as the cached cardinality. O(1).
pub fn set_cached(v: &mut [u8], card: u64) {
    v[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Converts a sparse HLL to dense in place (the header, cached cardinality included, is kept);
/// nothing to do when already dense. Err when the runs do not cover exactly the registers.
/// O(len + registers).
pub fn to_dense(v: &mut Vec<u8>) -> Result<(), Corrupt> {
    if v[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&v[..HDR]);
    dense[4] = DENSE;
    let regs = &mut dense[HDR..];
    let mut idx = 0usize;
    let mut p = HDR;
    while p < v.len() {
        let op = op_at(v, p);
        match op {
            Op::Zero { len, .. } => idx += len,
            Op::Val { val, len } => {
                // Redis (as patched for CVE-2025-32023) refuses a run past the last register.
                if idx + len > REGISTERS {
                    return Err(Corrupt);
                }
                for i in idx..idx + len {
                    dense_put(regs, i, val);
                }
                idx += len;
            }
        }
        p += op.size();
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *v = dense;
    Ok(())
}

/// Raises register `index` of a sparse HLL to `count` if lower, editing the runs in place as
/// Redis's hllSparseSet does (split the run holding the register, then merge equal VAL
/// neighbours), or converting to dense when `count` exceeds 32 or the string would grow past
/// `max_bytes`. Whether a register changed; Err when the runs are corrupt. O(len).
pub fn sparse_set(
    v: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    // Step 1: find the opcode covering the register.
    let end = v.len();
    let (mut p, mut first, mut prev) = (HDR, 0usize, None);
    let mut op = None;
    while p < end {
        let o = op_at(v, p);
        op = Some(o);
        if index < first + o.span() {
            break;
        }
        prev = Some(p);
        p += o.size();
        first += o.span();
    }
    let Some(op) = op else {
        return Err(Corrupt);
    };
    if p >= end {
        return Err(Corrupt);
    }
    // Step 2: the trivial cases rewrite one byte.
    match op {
        Op::Val { val, .. } if val >= count => return Ok(false),
        Op::Val { len: 1, .. }
        | Op::Zero {
            len: 1,
            wide: false,
        } => {
            v[p] = val_byte(count, 1);
        }
        _ => {
            // The general case: the run becomes up to three opcodes.
            let last = first + op.span() - 1;
            let mut seq = Seq::default();
            match op {
                Op::Zero { .. } => {
                    if index != first {
                        seq.zero(index - first);
                    }
                    seq.push(val_byte(count, 1));
                    if index != last {
                        seq.zero(last - index);
                    }
                }
                Op::Val { val, .. } => {
                    if index != first {
                        seq.push(val_byte(val, index - first));
                    }
                    seq.push(val_byte(count, 1));
                    if index != last {
                        seq.push(val_byte(val, last - index));
                    }
                }
            }
            let n = seq.len;
            let seq = seq.bytes;
            // Step 3: put the new opcodes in place of the old one.
            let old = op.size();
            let grown = n as isize - old as isize;
            if grown > 0 && end + grown as usize > max_bytes {
                return promote(v, index, count);
            }
            // An XZERO whose second byte was the terminator: what would land past the new
            // length is cut, as Redis's string length cuts it.
            let tail = (p + old).min(end);
            v.splice(p..tail, seq[..n].iter().copied());
            v.truncate((end as isize + grown) as usize);
        }
    }
    // Step 4: merge adjacent VAL opcodes of equal value, up to five opcodes from the previous.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < v.len() && scan > 0 {
        scan -= 1;
        match op_at(v, p) {
            Op::Zero { wide: true, .. } => {
                p += 2;
                continue;
            }
            Op::Zero { .. } => {
                p += 1;
                continue;
            }
            Op::Val { val: v1, len: l1 } => {
                if p + 1 < v.len() {
                    if let Op::Val { val: v2, len: l2 } = op_at(v, p + 1) {
                        if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                            v[p + 1] = val_byte(v1, l1 + l2);
                            v.remove(p);
                            continue;
                        }
                    }
                }
            }
        }
        p += 1;
    }
    invalidate(v);
    Ok(true)
}

/// Converts to dense, then raises register `index` to `count` there.
fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(v)?;
    Ok(dense_set(&mut v[HDR..], index, count))
}

/// Adds `ele` to the HLL `v` (already checked with [`is_hll`]): whether a register changed.
/// O(1) when dense (no allocation), O(len) when sparse.
#[inline]
pub fn add(v: &mut Vec<u8>, ele: &[u8], max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(ele);
    match v[4] {
        DENSE => Ok(dense_set(&mut v[HDR..], index, count)),
        SPARSE => sparse_set(v, index, count, max_bytes),
        _ => Err(Corrupt),
    }
}

/// Raises each of `max` (one byte per register) to the HLL's register, as Redis's hllMerge. Err
/// when the sparse runs do not cover exactly the registers. O(len + registers).
pub fn merge_into(max: &mut [u8; REGISTERS], v: &[u8]) -> Result<(), Corrupt> {
    if v[4] == DENSE {
        // Three bytes hold four registers: unpacked a group at a time, without bounds checks.
        for (c, m) in v[HDR..].chunks_exact(3).zip(max.chunks_exact_mut(4)) {
            let (b0, b1, b2) = (c[0], c[1], c[2]);
            let regs = [
                b0 & 63,
                (b0 >> 6 | b1 << 2) & 63,
                (b1 >> 4 | b2 << 4) & 63,
                b2 >> 2,
            ];
            for (m, r) in m.iter_mut().zip(regs) {
                *m = (*m).max(r);
            }
        }
        return Ok(());
    }
    let mut i = 0usize;
    let mut p = HDR;
    while p < v.len() {
        let op = op_at(v, p);
        match op {
            Op::Zero { len, .. } => i += len,
            Op::Val { val, len } => {
                if i + len > REGISTERS {
                    return Err(Corrupt);
                }
                for m in &mut max[i..i + len] {
                    if val > *m {
                        *m = val;
                    }
                }
                i += len;
            }
        }
        p += op.size();
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// How many registers hold each value (0..64).
pub type Histogram = [u64; 64];

/// The register histogram of an HLL; Err when the sparse runs do not cover exactly the registers.
/// O(len + registers).
pub fn histogram(v: &[u8]) -> Result<Histogram, Corrupt> {
    let mut h = [0u64; 64];
    if v[4] == DENSE {
        for c in v[HDR..].chunks_exact(3) {
            let (b0, b1, b2) = (c[0], c[1], c[2]);
            h[(b0 & 63) as usize] += 1;
            h[((b0 >> 6 | b1 << 2) & 63) as usize] += 1;
            h[((b1 >> 4 | b2 << 4) & 63) as usize] += 1;
            h[(b2 >> 2) as usize] += 1;
        }
        return Ok(h);
    }
    let mut idx = 0u64;
    let mut p = HDR;
    while p < v.len() {
        let op = op_at(v, p);
        match op {
            Op::Zero { len, .. } => h[0] += len as u64,
            Op::Val { val, len } => h[val as usize] += len as u64,
        }
        idx += op.span() as u64;
        p += op.size();
    }
    if idx != REGISTERS as u64 {
        return Err(Corrupt);
    }
    Ok(h)
}

/// The histogram of one-byte registers (a merge of several HLLs). O(registers).
pub fn histogram_raw(max: &[u8; REGISTERS]) -> Histogram {
    let mut h = [0u64; 64];
    for word in max.chunks_exact(8) {
        // Mostly zeros while the union is small: eight registers at once.
        if word.iter().all(|&r| r == 0) {
            h[0] += 8;
        } else {
            for &r in word {
                h[(r & 63) as usize] += 1;
            }
        }
    }
    h
}

/// Ertl's sigma function ("New cardinality estimation algorithms for HyperLogLog sketches").
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

/// Ertl's tau function.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate of a histogram, by Ertl's improved estimator exactly as Redis 7.0
/// computes it, down to C's conversions (a sketch whose registers all exceed 51 estimates
/// infinity, which x86's llroundl turns into 2^63). O(1).
pub fn estimate(h: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    let e = ALPHA_INF * m * m / z;
    // llroundl: out of range (or NaN) gives x86's "integer indefinite", i64::MIN.
    let r = e.round();
    let two63 = (1u64 << 63) as f64;
    let ll = if r.is_nan() || !(-two63..two63).contains(&r) {
        i64::MIN
    } else {
        r as i64
    };
    // Stored in a double, then cast to an unsigned 64-bit integer.
    let d = ll as f64;
    if d < 0.0 {
        (d as i64) as u64
    } else {
        d as u64
    }
}

/// The cardinality of the HLL (ignoring the cache). O(len + registers).
pub fn count(v: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(v)?))
}

/// PFDEBUG DECODE's text of a sparse HLL: `z:N` (ZERO), `Z:N` (XZERO), `v:VAL,N` (VAL),
/// space-separated. O(len).
pub fn decode(v: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    let mut p = HDR;
    while p < v.len() {
        let op = op_at(v, p);
        let _ = match op {
            Op::Zero { len, wide: false } => write!(out, "z:{len} "),
            Op::Zero { len, wide: true } => write!(out, "Z:{len} "),
            Op::Val { val, len } => write!(out, "v:{val},{len} "),
        };
        p += op.size();
    }
    out.pop();
    out
}

/// Every register of a dense HLL, in order. O(registers).
pub fn registers(v: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let regs = &v[HDR..];
    (0..REGISTERS).map(move |i| dense_get(regs, i))
}

/// PFSELFTEST: checks that dense registers keep what is written without touching their
/// neighbours, then that estimates of 1 to 10^7 distinct elements stay within six standard
/// errors, with a sparse and a dense sketch agreeing, as Redis's self test. `random` seeds it.
/// Err carries Redis's failure text. O(10^7).
pub fn selftest(mut random: impl FnMut() -> u64, max_bytes: usize) -> Result<(), String> {
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    let mut bytes = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        let mut bits = 0u64;
        let mut left = 0;
        for (i, b) in bytes.iter_mut().enumerate() {
            if left < 6 {
                bits = random();
                left = 64;
            }
            let r = (bits & 63) as u8;
            bits >>= 6;
            left -= 6;
            *b = r;
            dense_put(&mut dense[HDR..], i, r);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let got = dense_get(&dense[HDR..], i);
            if got != b {
                return Err(format!(
                    "TESTFAILED Register {i} should be {b} but is {got}"
                ));
            }
        }
    }
    dense[HDR..].fill(0);
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = random();
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        let (index, run) = pattern(&ele);
        dense_set(&mut dense[HDR..], index, run);
        add(&mut sparse, &ele, max_bytes).map_err(|_| "TESTFAILED corrupt sketch".to_string())?;
        if j != checkpoint {
            continue;
        }
        if (j as usize) < max_bytes / 2 && sparse[4] != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let d = count(&dense).unwrap_or(0);
        if Ok(d) != count(&sparse) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64).wrapping_sub(d as i64).unsigned_abs();
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_sketch_is_one_xzero() {
        let v = new_sparse();
        assert_eq!(v.len(), 18);
        assert_eq!(&v[16..], &[0x7f, 0xff]);
        assert!(is_hll(&v));
        assert_eq!(count(&v), Ok(0));
        assert_eq!(decode(&v), b"Z:16384");
    }

    #[test]
    fn dense_registers_keep_their_values() {
        let mut r = vec![0u8; REGISTERS * 6 / 8];
        for i in 0..REGISTERS {
            dense_put(&mut r, i, (i * 7 % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&r, i), (i * 7 % 64) as u8);
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut s = new_sparse();
        let mut d = new_sparse();
        to_dense(&mut d).unwrap();
        for i in 0..5000u32 {
            let e = i.to_string();
            let a = add(&mut s, e.as_bytes(), SPARSE_MAX_BYTES).unwrap();
            let b = add(&mut d, e.as_bytes(), SPARSE_MAX_BYTES).unwrap();
            assert_eq!(a, b);
            if i % 97 == 0 {
                assert_eq!(count(&s), count(&d));
            }
        }
        assert_eq!(s[4], DENSE);
    }

    #[test]
    fn merging_unpacks_dense_registers() {
        let mut d = new_sparse();
        to_dense(&mut d).unwrap();
        for i in 0..REGISTERS {
            dense_put(&mut d[HDR..], i, (i % 64) as u8);
        }
        let mut max = [0u8; REGISTERS];
        max[5] = 60;
        merge_into(&mut max, &d).unwrap();
        for (i, &m) in max.iter().enumerate() {
            assert_eq!(m, if i == 5 { 60 } else { (i % 64) as u8 });
        }
        assert_eq!(histogram_raw(&max).iter().sum::<u64>(), REGISTERS as u64);
        assert_eq!(histogram(&d).unwrap()[63], 256);
    }

    #[test]
    fn corrupt_runs_are_reported() {
        let mut v = new_sparse();
        v.push(0x00);
        assert_eq!(count(&v), Err(Corrupt));
        assert_eq!(to_dense(&mut v.clone()), Err(Corrupt));
        let mut max = [0u8; REGISTERS];
        assert_eq!(merge_into(&mut max, &v), Err(Corrupt));
        let mut only_header = new_sparse();
        only_header.truncate(HDR);
        assert_eq!(sparse_set(&mut only_header, 3, 1, 3000), Err(Corrupt));
    }

    #[test]
    fn all_registers_above_51_estimate_like_x86() {
        let mut v = vec![0xffu8; DENSE_SIZE];
        v[..HDR].copy_from_slice(&[b'H', b'Y', b'L', b'L', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(count(&v), Ok(1 << 63));
    }
}
