//! Redis Cluster key slots: which worker owns a key.
//!
//! `slot = CRC16(key, or the non-empty {hash tag} inside it) mod 16384`, exactly Redis Cluster's
//! `keyHashSlot`, so hash tags put related keys on one worker and the same function can later answer
//! `CLUSTER KEYSLOT` and route between machines.

/// Number of slots in the keyspace, as in Redis Cluster.
pub const SLOTS: usize = 16384;

/// CRC16-CCITT (XMODEM) tables for slicing by eight: `T[0]` is the byte-at-a-time table (polynomial
/// 0x1021, initial value 0, no reflection), and `T[k][b]` is the CRC of byte `b` followed by `k` zero
/// bytes. CRC is linear, so the CRC of eight bytes is the XOR of each byte's contribution at its
/// distance from the end: eight independent loads instead of a chain of eight dependent ones.
const fn crc16_tables() -> [[u16; 256]; 8] {
    let mut t = [[0u16; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev << 8) ^ t[0][(prev >> 8) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

static CRC16: [[u16; 256]; 8] = crc16_tables();

/// CRC16-XMODEM of `data`. O(len), eight bytes per step.
pub fn crc16(data: &[u8]) -> u16 {
    let t = &CRC16;
    let mut crc = 0u16;
    let mut chunks = data.chunks_exact(8);
    for c in chunks.by_ref() {
        // The running CRC folds into the first two bytes of the block.
        let hi = (crc >> 8) as u8 ^ c[0];
        let lo = crc as u8 ^ c[1];
        crc = t[7][hi as usize]
            ^ t[6][lo as usize]
            ^ t[5][c[2] as usize]
            ^ t[4][c[3] as usize]
            ^ t[3][c[4] as usize]
            ^ t[2][c[5] as usize]
            ^ t[1][c[6] as usize]
            ^ t[0][c[7] as usize];
    }
    crc16_bytewise(crc, chunks.remainder())
}

/// CRC16-XMODEM continued from `crc` over `data`, a byte at a time (tails under eight bytes).
#[inline]
fn crc16_bytewise(crc: u16, data: &[u8]) -> u16 {
    data.iter().fold(crc, |crc, &b| {
        (crc << 8) ^ CRC16[0][((crc >> 8) as u8 ^ b) as usize]
    })
}

/// The hash slot of `key`: CRC16 of the first non-empty `{...}` section if there is one, else of the key.
pub fn key_slot(key: &[u8]) -> u16 {
    const MASK: u16 = SLOTS as u16 - 1;
    if let Some(open) = find_open_brace(key) {
        let rest = &key[open + 1..];
        if let Some(len) = rest.iter().position(|&c| c == b'}') {
            if len > 0 {
                return crc16(&rest[..len]) & MASK;
            }
        }
    }
    crc16(key) & MASK
}

/// The first `{` of `key`, eight bytes at a time (keys are short: setting up a vectorised search
/// costs more than this whole scan).
#[inline]
fn find_open_brace(key: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const BRACES: u64 = ONES * b'{' as u64;
    let mut chunks = key.chunks_exact(8);
    for (i, c) in chunks.by_ref().enumerate() {
        let x = u64::from_le_bytes(c.try_into().unwrap_or([0; 8])) ^ BRACES;
        // A zero byte of x is a '{' in the key (the classic has-zero-byte test).
        if (x.wrapping_sub(ONES) & !x & HIGHS) != 0 {
            return c.iter().position(|&b| b == b'{').map(|p| i * 8 + p);
        }
    }
    let tail = chunks.remainder();
    tail.iter()
        .position(|&b| b == b'{')
        .map(|p| key.len() - tail.len() + p)
}

/// The worker owning `slot` when there are `workers` workers: contiguous slot ranges, as a cluster
/// assigns them.
#[inline]
pub fn slot_owner(slot: u16, workers: usize) -> usize {
    slot as usize * workers / SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_cluster_vectors() {
        assert_eq!(key_slot(b"somekey"), 11058);
        assert_eq!(key_slot(b"foo{hash_tag}"), 2515);
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_eq!(key_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") & 16383);
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo{bar}{zap}"), crc16(b"bar") & 16383);
        assert_eq!(key_slot(b"{}"), crc16(b"{}") & 16383);
        assert_eq!(key_slot(b"a{b"), crc16(b"a{b") & 16383);
        assert_eq!(key_slot(b"}{x}"), crc16(b"x") & 16383);
        assert_eq!(key_slot(b""), 0);
        assert_eq!(key_slot(b"abcdefgh{tag}"), crc16(b"tag") & 16383);
        assert_eq!(key_slot(b"abcdefghijklmnop{tag}x"), crc16(b"tag") & 16383);
        for n in 0..40 {
            let mut k = vec![b'a'; n];
            k.push(b'{');
            k.extend_from_slice(b"t}");
            assert_eq!(find_open_brace(&k), Some(n));
            assert_eq!(find_open_brace(&k[..n]), None);
        }
    }

    #[test]
    fn sliced_crc_matches_bytewise() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..200 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            assert_eq!(crc16(&data), crc16_bytewise(0, &data), "len {len}");
        }
    }

    #[test]
    fn owners_cover_all_workers() {
        assert_eq!(slot_owner(0, 2), 0);
        assert_eq!(slot_owner(16383, 2), 1);
        assert_eq!(slot_owner(8192, 2), 1);
    }
}
