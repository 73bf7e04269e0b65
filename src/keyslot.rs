//! Redis Cluster key slots: which worker owns a key.
//!
//! `slot = CRC16(key, or the non-empty {hash tag} inside it) mod 16384`, exactly Redis Cluster's
//! `keyHashSlot`, so hash tags put related keys on one worker and the same function can later answer
//! `CLUSTER KEYSLOT` and route between machines.

/// Number of slots in the keyspace, as in Redis Cluster.
pub const SLOTS: usize = 16384;

const fn crc16_table() -> [u16; 256] {
    // CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection.
    let mut table = [0u16; 256];
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
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC16: [u16; 256] = crc16_table();

/// CRC16-XMODEM of `data`. O(len).
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16[((crc >> 8) as u8 ^ b) as usize]
    })
}

/// The hash slot of `key`: CRC16 of the first non-empty `{...}` section if there is one, else of the key.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match memchr::memchr(b'{', key) {
        Some(open) => match memchr::memchr(b'}', &key[open + 1..]) {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) & (SLOTS as u16 - 1)
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
    }

    #[test]
    fn owners_cover_all_workers() {
        assert_eq!(slot_owner(0, 2), 0);
        assert_eq!(slot_owner(16383, 2), 1);
        assert_eq!(slot_owner(8192, 2), 1);
    }
}
