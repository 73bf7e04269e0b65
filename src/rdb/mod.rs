//! The pieces of Redis's RDB encoding that payloads share (FUNCTION DUMP now; DUMP/RESTORE and
//! snapshot files build on them): CRC64 (Jones polynomial, as Redis's crc64.c), RDB lengths,
//! RDB strings (plain, integer-encoded, LZF-compressed) and the DUMP trailer. The packed
//! encodings values are saved in (listpack, ziplist, intset, zipmap) are in [`pack`], LZF in
//! [`lzf`], and whole values in [`value`].

pub mod file;
pub mod lzf;
pub mod pack;
pub mod value;

use lzf::lzf_decompress;

/// The RDB version Redis 7.0 writes.
pub const RDB_VERSION: u16 = 10;
/// Opcode of a function library in an RDB stream (Redis 7.0's format; 246 was 7.0-rc's).
pub const OPCODE_FUNCTION2: u8 = 245;
pub const OPCODE_FUNCTION_RC: u8 = 246;

/// The Jones polynomial (0xad93d23594c935a9) bit-reversed, for this LSB-first table: Redis feeds
/// bits LSB first and reflects the result, which comes to the same (init 0, no final xor).
const POLY: u64 = 0x95ac_9329_ac4b_c9b5;

static CRC_TABLE: std::sync::LazyLock<[u64; 256]> = std::sync::LazyLock::new(|| {
    let mut t = [0u64; 256];
    for (i, e) in t.iter_mut().enumerate() {
        let mut c = i as u64;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
        }
        *e = c;
    }
    t
});

/// CRC64 of `data` continuing from `crc` (0 to start), as Redis computes it. O(len).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let t = &*CRC_TABLE;
    for &b in data {
        crc = t[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// Appends an RDB length.
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends an RDB string, uncompressed (every reader accepts it).
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Appends the DUMP trailer to `payload`: the RDB version and the CRC64 of everything before.
pub fn seal(payload: &mut Vec<u8>) {
    payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, payload);
    payload.extend_from_slice(&crc.to_le_bytes());
}

/// The body of a DUMP payload whose trailer checks (an RDB version this server reads, the
/// CRC64), and that version; None when it does not.
pub fn unseal(payload: &[u8]) -> Option<(&[u8], u16)> {
    if payload.len() < 10 {
        return None;
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return None;
    }
    let crc = u64::from_le_bytes(footer[2..10].try_into().ok()?);
    (crc64(0, &payload[..payload.len() - 8]) == crc).then_some((body, version))
}

/// A cursor over RDB bytes.
pub struct Reader<'a> {
    data: &'a [u8],
    pub pos: usize,
}

/// What an RDB length field holds.
enum Len {
    Plain(u64),
    /// A special string encoding (integer or LZF), by its code.
    Encoded(u8),
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// One byte.
    pub fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn len_field(&mut self) -> Option<Len> {
        let b = self.byte()?;
        Some(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain((((b & 0x3f) as u64) << 8) | self.byte()? as u64),
            2 => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.bytes(4)?.try_into().ok()?) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.bytes(8)?.try_into().ok()?)),
                _ => return None,
            },
            _ => Len::Encoded(b & 0x3f),
        })
    }

    /// An RDB length.
    pub fn length(&mut self) -> Option<u64> {
        match self.len_field()? {
            Len::Plain(n) => Some(n),
            Len::Encoded(_) => None,
        }
    }

    /// An RDB string, decoded (integers as their decimal text, LZF decompressed). None when the
    /// bytes are malformed; never panics, and allocates at most what the input can expand to.
    pub fn string(&mut self) -> Option<Vec<u8>> {
        match self.len_field()? {
            Len::Plain(n) => Some(self.bytes(usize::try_from(n).ok()?)?.to_vec()),
            Len::Encoded(0) => Some((self.byte()? as i8).to_string().into_bytes()),
            Len::Encoded(1) => {
                let v = i16::from_le_bytes(self.bytes(2)?.try_into().ok()?);
                Some(v.to_string().into_bytes())
            }
            Len::Encoded(2) => {
                let v = i32::from_le_bytes(self.bytes(4)?.try_into().ok()?);
                Some(v.to_string().into_bytes())
            }
            Len::Encoded(3) => {
                let clen = usize::try_from(self.length()?).ok()?;
                let len = usize::try_from(self.length()?).ok()?;
                let compressed = self.bytes(clen)?;
                // LZF expands at most ~ 264/2 times per control pair: bound the claim.
                if len > compressed.len().saturating_mul(132) + 64 {
                    return None;
                }
                lzf_decompress(compressed, len)
            }
            Len::Encoded(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis() {
        // Redis's crc64.c self-test value.
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn strings_round_trip_and_lzf_decodes() {
        let mut out = Vec::new();
        for s in [&b""[..], b"x", &[7u8; 100], &[9u8; 20000]] {
            out.clear();
            write_string(&mut out, s);
            assert_eq!(Reader::new(&out).string().as_deref(), Some(s));
        }
        // "aaaaaaaaaa" as LZF: a literal 'a', then a back-reference of 9 at distance 1.
        let lzf = [0x00, b'a', 0xe0, 0x00, 0x00];
        assert_eq!(
            lzf_decompress(&lzf, 10).as_deref(),
            Some(&b"aaaaaaaaaa"[..])
        );
        assert_eq!(lzf_decompress(&lzf, 9), None);
        assert_eq!(lzf_decompress(&[0xe0, 0x05, 0x00], 10), None);
        let mut sealed = b"payload".to_vec();
        seal(&mut sealed);
        assert_eq!(unseal(&sealed), Some((&b"payload"[..], RDB_VERSION)));
        sealed[0] ^= 1;
        assert_eq!(unseal(&sealed), None);
    }
}
