//! The packed encodings Redis saves small values in, written and read byte for byte as Redis 7.0
//! does: listpack (hashes, sorted sets, list nodes), intset (sets of integers), and, for payloads
//! from older versions, ziplist and zipmap (read only).
//!
//! Readers validate everything they touch (header lengths, entry bounds, back-lengths, the
//! terminator) and answer None on any inconsistency: a RESTORE payload is client input.

/// Bytes of a listpack header: total bytes (u32) and element count (u16), little endian.
const LP_HDR: usize = 6;
/// The element count a listpack header holds when there are 65535 or more.
const LP_COUNT_UNKNOWN: u16 = u16::MAX;
/// A listpack's last byte.
const LP_EOF: u8 = 0xff;

/// Parses `s` as Redis's lpStringToInt64 / string2ll does: a canonical decimal i64 (no sign '+',
/// no leading zero, no spaces, at most 20 bytes). O(len).
pub fn canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Builds a listpack by appending entries, as lpAppend does.
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackWriter {
    /// An empty listpack.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; LP_HDR]);
        ListpackWriter { buf, count: 0 }
    }

    /// Total bytes once finished (header and terminator included).
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no entry was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends `ele`: as an integer when it is a canonical i64 (Redis's choice), else as a string.
    /// O(len).
    pub fn push(&mut self, ele: &[u8]) {
        match canonical_i64(ele) {
            Some(v) => self.push_int(v),
            None => self.push_str(ele),
        }
    }

    /// Appends an integer entry in the smallest of listpack's integer encodings. O(1).
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = if v < 0 { (1 << 13) + v } else { v } as u16;
            b.push(0xc0 | (u >> 8) as u8);
            b.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            b.push(0xf1);
            b.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            b.push(0xf2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
            b.push(0xf3);
            b.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            b.push(0xf4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        self.close_entry(start);
    }

    /// Appends a string entry (never converted to an integer). O(len).
    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xe0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xf0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.close_entry(start);
    }

    /// Writes the back-length of the entry that started at `start`, as lpEncodeBacklen.
    fn close_entry(&mut self, start: usize) {
        let l = (self.buf.len() - start) as u64;
        let b = &mut self.buf;
        if l <= 127 {
            b.push(l as u8);
        } else if l < 16383 {
            b.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]);
        } else if l < 2_097_151 {
            b.extend_from_slice(&[
                (l >> 14) as u8,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ]);
        } else if l < 268_435_455 {
            b.extend_from_slice(&[
                (l >> 21) as u8,
                ((l >> 14) & 127) as u8 | 128,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ]);
        } else {
            b.extend_from_slice(&[
                (l >> 28) as u8,
                ((l >> 21) & 127) as u8 | 128,
                ((l >> 14) & 127) as u8 | 128,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ]);
        }
        self.count += 1;
    }

    /// The finished listpack: header filled in, terminator appended. O(1).
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(LP_EOF);
        let total = self.buf.len() as u32;
        let count = if self.count >= LP_COUNT_UNKNOWN as usize {
            LP_COUNT_UNKNOWN
        } else {
            self.count as u16
        };
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// Bytes needed to hold a back-length of `l`.
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// Reads `n` little-endian bytes at `at` as an unsigned number.
fn le(b: &[u8], at: usize, n: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(n)?)?;
    Some(s.iter().rev().fold(0u64, |v, &x| (v << 8) | x as u64))
}

/// Sign-extends the low `bits` of `v`.
fn signed(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// Every entry of a listpack, integers as their decimal text; None unless the bytes are a
/// well-formed listpack (total length, count when known, entry bounds, back-lengths, terminator).
/// O(bytes).
pub fn read_listpack(lp: &[u8]) -> Option<Vec<Vec<u8>>> {
    if lp.len() < LP_HDR + 1 || le(lp, 0, 4)? as usize != lp.len() || lp[lp.len() - 1] != LP_EOF {
        return None;
    }
    let declared = le(lp, 4, 2)? as u16;
    let end = lp.len() - 1;
    let mut out = Vec::new();
    let mut p = LP_HDR;
    while p < end {
        let b = lp[p];
        let (value, enc_len): (Vec<u8>, usize) = if b & 0x80 == 0 {
            ((b & 0x7f).to_string().into_bytes(), 1)
        } else if b & 0xc0 == 0x80 {
            let n = (b & 0x3f) as usize;
            (lp.get(p + 1..p + 1 + n)?.to_vec(), 1 + n)
        } else if b & 0xe0 == 0xc0 {
            let v = (((b & 0x1f) as u64) << 8) | *lp.get(p + 1)? as u64;
            (signed(v, 13).to_string().into_bytes(), 2)
        } else if b & 0xf0 == 0xe0 {
            let n = (((b & 0x0f) as usize) << 8) | *lp.get(p + 1)? as usize;
            (lp.get(p + 2..p + 2 + n)?.to_vec(), 2 + n)
        } else {
            match b {
                0xf1 => (signed(le(lp, p + 1, 2)?, 16).to_string().into_bytes(), 3),
                0xf2 => (signed(le(lp, p + 1, 3)?, 24).to_string().into_bytes(), 4),
                0xf3 => (signed(le(lp, p + 1, 4)?, 32).to_string().into_bytes(), 5),
                0xf4 => ((le(lp, p + 1, 8)? as i64).to_string().into_bytes(), 9),
                0xf0 => {
                    let n = usize::try_from(le(lp, p + 1, 4)?).ok()?;
                    (lp.get(p + 5..(p + 5).checked_add(n)?)?.to_vec(), 5 + n)
                }
                _ => return None,
            }
        };
        let bl = backlen_size(enc_len);
        let next = p.checked_add(enc_len)?.checked_add(bl)?;
        if next > end {
            return None;
        }
        // The back-length must decode (from its last byte backwards, a set top bit going on to
        // the byte before, as lpDecodeBacklen) to the entry's size in exactly its own bytes: that
        // is, be lpEncodeBacklen's bytes, the first with its top bit clear, the others set.
        let back = &lp[p + enc_len..next];
        let mut v = 0u64;
        for (i, &x) in back.iter().rev().enumerate() {
            let last = i + 1 == back.len();
            if (x & 128 != 0) == last {
                return None;
            }
            v |= ((x & 127) as u64) << (7 * i);
        }
        if v != enc_len as u64 {
            return None;
        }
        out.push(value);
        p = next;
    }
    if declared != LP_COUNT_UNKNOWN && declared as usize != out.len() {
        return None;
    }
    Some(out)
}

/// Every entry of a ziplist (Redis 6 and older), integers as their decimal text; None unless
/// well formed. O(bytes).
pub fn read_ziplist(zl: &[u8]) -> Option<Vec<Vec<u8>>> {
    const HDR: usize = 10;
    if zl.len() < HDR + 1 || le(zl, 0, 4)? as usize != zl.len() || zl[zl.len() - 1] != 0xff {
        return None;
    }
    let declared = le(zl, 8, 2)? as u16;
    let end = zl.len() - 1;
    let mut out = Vec::new();
    let mut p = HDR;
    let mut prev_len = 0usize;
    while p < end {
        let start = p;
        // The previous entry's length: one byte, or 0xfe and four bytes.
        let prev = if zl[p] < 254 {
            p += 1;
            zl[p - 1] as usize
        } else if zl[p] == 254 {
            let v = le(zl, p + 1, 4)? as usize;
            p += 5;
            v
        } else {
            return None;
        };
        if prev != prev_len {
            return None;
        }
        let b = *zl.get(p)?;
        let value = match b >> 6 {
            0 => {
                let n = (b & 0x3f) as usize;
                let v = zl.get(p + 1..p + 1 + n)?.to_vec();
                p += 1 + n;
                v
            }
            1 => {
                let n = (((b & 0x3f) as usize) << 8) | *zl.get(p + 1)? as usize;
                let v = zl.get(p + 2..p + 2 + n)?.to_vec();
                p += 2 + n;
                v
            }
            2 => {
                let n = u32::from_be_bytes(zl.get(p + 1..p + 5)?.try_into().ok()?) as usize;
                let v = zl.get(p + 5..(p + 5).checked_add(n)?)?.to_vec();
                p += 5 + n;
                v
            }
            _ => {
                let (v, n) = match b {
                    0xc0 => (signed(le(zl, p + 1, 2)?, 16), 2),
                    0xd0 => (signed(le(zl, p + 1, 4)?, 32), 4),
                    0xe0 => (le(zl, p + 1, 8)? as i64, 8),
                    0xf0 => (signed(le(zl, p + 1, 3)?, 24), 3),
                    0xfe => (signed(le(zl, p + 1, 1)?, 8), 1),
                    0xf1..=0xfd => ((b & 0x0f) as i64 - 1, 0),
                    _ => return None,
                };
                p += 1 + n;
                v.to_string().into_bytes()
            }
        };
        if p > end {
            return None;
        }
        prev_len = p - start;
        out.push(value);
    }
    if declared != u16::MAX && declared as usize != out.len() {
        return None;
    }
    Some(out)
}

/// The field/value pairs of a zipmap (Redis 2.4 hashes); None unless well formed. O(bytes).
pub fn read_zipmap(zm: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if zm.len() < 2 || zm[zm.len() - 1] != 0xff {
        return None;
    }
    let len_at = |p: &mut usize| -> Option<usize> {
        let b = *zm.get(*p)?;
        if b < 254 {
            *p += 1;
            Some(b as usize)
        } else if b == 254 {
            let v = le(zm, *p + 1, 4)? as usize;
            *p += 5;
            Some(v)
        } else {
            None
        }
    };
    let mut out = Vec::new();
    let mut p = 1;
    while *zm.get(p)? != 0xff {
        let n = len_at(&mut p)?;
        let field = zm.get(p..p.checked_add(n)?)?.to_vec();
        p += n;
        let n = len_at(&mut p)?;
        let free = *zm.get(p)? as usize;
        p += 1;
        let value = zm.get(p..p.checked_add(n)?)?.to_vec();
        p += n + free;
        if p > zm.len() - 1 {
            return None;
        }
        out.push((field, value));
    }
    if out.is_empty() || (zm[0] != 254 && zm[0] as usize != out.len()) {
        return None;
    }
    Some(out)
}

/// An intset blob of `values` (sorted ascending, distinct) in the smallest width that holds them
/// all, as Redis's intset: width (u32), count (u32), then the values, little endian. O(n).
pub fn write_intset(values: &[i64]) -> Vec<u8> {
    let fits = |lo: i64, hi: i64| values.iter().all(|v| (lo..=hi).contains(v));
    let width: usize = if fits(i16::MIN as i64, i16::MAX as i64) {
        2
    } else if fits(i32::MIN as i64, i32::MAX as i64) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// The values of an intset blob; None unless the width is 2, 4 or 8, the length matches the
/// count, and the values ascend strictly (so that no duplicate member is loaded). O(n).
pub fn read_intset(b: &[u8]) -> Option<Vec<i64>> {
    let width = le(b, 0, 4)? as usize;
    let count = le(b, 4, 4)? as usize;
    if !matches!(width, 2 | 4 | 8) || count.checked_mul(width)?.checked_add(8)? != b.len() {
        return None;
    }
    let mut out: Vec<i64> = Vec::with_capacity(count);
    for i in 0..count {
        let v = signed(le(b, 8 + i * width, width)?, (width * 8) as u32);
        if out.last().is_some_and(|&last| last >= v) {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn listpack_bytes_match_redis() {
        // What Redis 7.0 DUMPs for `RPUSH l a 1 -1 300`'s node: header, 4 entries, terminator.
        let mut w = ListpackWriter::new();
        for e in [&b"a"[..], b"1", b"-1", b"300"] {
            w.push(e);
        }
        let lp = w.finish();
        assert_eq!(
            lp,
            [18, 0, 0, 0, 4, 0, 0x81, b'a', 2, 1, 1, 0xdf, 0xff, 2, 0xc1, 0x2c, 2, 0xff]
        );
        let back: Vec<Vec<u8>> = [&b"a"[..], b"1", b"-1", b"300"]
            .iter()
            .map(|s| s.to_vec())
            .collect();
        assert_eq!(read_listpack(&lp), Some(back));
        // A back-length byte with its continuation bit set is refused, as lpValidateNext does.
        let mut bad = lp.clone();
        bad[8] |= 0x80;
        assert_eq!(read_listpack(&bad), None);
    }

    #[test]
    fn canonical_integers() {
        assert_eq!(canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(canonical_i64(b"9223372036854775808"), None);
        for bad in [&b"01"[..], b"+1", b" 1", b"-0", b"", b"-"] {
            assert_eq!(canonical_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn intsets() {
        assert_eq!(write_intset(&[1, 2]), [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0]);
        assert_eq!(
            read_intset(&write_intset(&[-70000, 5])),
            Some(vec![-70000, 5])
        );
        assert_eq!(read_intset(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]), None);
    }

    #[test]
    fn zipmap_from_redis_docs() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        assert_eq!(
            read_zipmap(zm),
            Some(vec![
                (b"foo".to_vec(), b"bar".to_vec()),
                (b"hello".to_vec(), b"world".to_vec())
            ])
        );
        assert_eq!(read_zipmap(&zm[..zm.len() - 2]), None);
    }

    proptest! {
        #[test]
        fn listpacks_round_trip(items in proptest::collection::vec(prop_oneof![
            any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..5000),
        ], 0..40)) {
            let mut w = ListpackWriter::new();
            for i in &items {
                w.push(i);
            }
            let lp = w.finish();
            prop_assert_eq!(read_listpack(&lp), Some(items));
        }

        #[test]
        fn listpack_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = read_listpack(&bytes);
            let _ = read_ziplist(&bytes);
            let _ = read_zipmap(&bytes);
            let _ = read_intset(&bytes);
        }
    }
}
