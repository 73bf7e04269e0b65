//! LZF, the compression Redis applies to RDB strings longer than 20 bytes (`rdbcompression yes`).
//!
//! The format (liblzf's): a control byte `000LLLLL` starts a literal run of L+1 bytes; `LLLooooo
//! oooooooo` is a back-reference of L+2 bytes (L < 7) at distance o+1; `111ooooo LLLLLLLL oooooooo`
//! one of L+9 bytes. The compressor is a greedy hash-chain-of-one matcher over 3-byte prefixes, as
//! liblzf's "very fast" mode, with a zeroed table, so that it is deterministic (Redis's leaves the
//! table uninitialised, so its output may differ by which matches it finds; both decode the same).

/// Longest literal run.
const MAX_LIT: usize = 1 << 5;
/// Farthest back-reference.
const MAX_OFF: usize = 1 << 13;
/// Longest back-reference.
const MAX_REF: usize = (1 << 8) + (1 << 3);
/// Hash table bits (liblzf's HLOG as Redis builds it).
const HLOG: u32 = 16;

/// The table slot of the 3 bytes whose big-endian value is `h` (liblzf's "very fast" IDX).
#[inline]
fn slot(h: u32) -> usize {
    ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HLOG) - 1)) as usize
}

/// The match table of one thread, reused by every call: each slot holds the call's generation in
/// its high half and a position + 1 in its low half, so a slot written by an earlier call reads as
/// empty, exactly as in a table zeroed for each call, without zeroing 512 KB per string.
struct Table {
    generation: u32,
    slots: Vec<u64>,
}

impl Table {
    /// Starts a call: every slot reads as empty from now on. O(1) (O(table) once in 2^32 calls).
    fn next_call(&mut self) -> u32 {
        if self.slots.is_empty() {
            self.slots = vec![0; 1 << HLOG];
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.fill(0);
            self.generation = 1;
        }
        self.generation
    }
}

thread_local! {
    static TABLE: std::cell::RefCell<Table> = const {
        std::cell::RefCell::new(Table { generation: 0, slots: Vec::new() })
    };
}

/// Compresses `input` into at most `max_out` bytes; None when the result would not fit (Redis
/// then stores the string verbatim). O(len), with a per-thread table reused across calls.
pub fn lzf_compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    if input.is_empty() || max_out == 0 {
        return None;
    }
    TABLE.with(|t| match t.try_borrow_mut() {
        Ok(mut t) => compress_with(&mut t, input, max_out),
        // Only reachable by re-entrance, which compression never does; stay correct anyway.
        Err(_) => compress_with(
            &mut Table {
                generation: 0,
                slots: Vec::new(),
            },
            input,
            max_out,
        ),
    })
}

fn compress_with(t: &mut Table, input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let gen = t.next_call();
    let stamp = (gen as u64) << 32;
    let table = &mut t.slots;
    // Positions + 1 of the last occurrence of each hashed 3-byte prefix in this call (0: none).
    let get = |table: &Vec<u64>, s: usize| -> usize {
        let e = table[s];
        if e >> 32 == gen as u64 {
            (e & 0xffff_ffff) as usize
        } else {
            0
        }
    };
    let mut out: Vec<u8> = Vec::with_capacity(max_out.min(input.len() + input.len() / 32 + 2));
    let n = input.len();
    // Index in `out` of the current literal run's control byte, and the run's length.
    let mut ctrl = 0usize;
    out.push(0);
    let mut lit = 0usize;
    let mut ip = 0usize;
    let first = |p: usize| ((input[p] as u32) << 8) | input[p + 1] as u32;
    let mut h = if n >= 2 { first(0) } else { 0 };
    while ip + 2 < n {
        h = (h << 8) | input[ip + 2] as u32;
        let s = slot(h);
        let candidate = get(table, s);
        table[s] = stamp | (ip as u64 + 1);
        let matched = candidate > 1 && {
            let r = candidate - 1;
            ip - r - 1 < MAX_OFF && input[r..r + 3] == input[ip..ip + 3]
        };
        if matched {
            let r = candidate - 1;
            let off = ip - r - 1;
            let maxlen = (n - ip - 2).min(MAX_REF);
            // liblzf's length scan: 16 unchecked steps when far from the end, then step by step
            // up to maxlen (so a match near the end may run a byte or two past maxlen, as there).
            let mut len = 2;
            let mut mismatch = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[r + len] != input[ip + len] {
                        mismatch = true;
                        break;
                    }
                }
            }
            if !mismatch {
                loop {
                    len += 1;
                    if len >= maxlen || input[r + len] != input[ip + len] {
                        break;
                    }
                }
            }
            // The reference needs up to 3 bytes and a new control byte after it.
            let undo = usize::from(lit == 0);
            if out.len() - undo + 3 + 1 >= max_out {
                return None;
            }
            if lit == 0 {
                out.pop();
            } else {
                out[ctrl] = (lit - 1) as u8;
            }
            let l = len - 2;
            if l < 7 {
                out.push(((off >> 8) + (l << 5)) as u8);
            } else {
                out.push(((off >> 8) + (7 << 5)) as u8);
                out.push((l - 7) as u8);
            }
            out.push(off as u8);
            ctrl = out.len();
            out.push(0);
            lit = 0;
            ip += len;
            if ip + 2 >= n {
                break;
            }
            // Hash the two positions before the new one, as liblzf's very-fast mode does.
            ip -= 2;
            h = first(ip);
            for _ in 0..2 {
                h = (h << 8) | input[ip + 2] as u32;
                table[slot(h)] = stamp | (ip as u64 + 1);
                ip += 1;
            }
        } else {
            if out.len() >= max_out {
                return None;
            }
            lit += 1;
            out.push(input[ip]);
            ip += 1;
            if lit == MAX_LIT {
                out[ctrl] = (lit - 1) as u8;
                ctrl = out.len();
                out.push(0);
                lit = 0;
            }
        }
    }
    if out.len() + 3 > max_out {
        return None;
    }
    while ip < n {
        lit += 1;
        out.push(input[ip]);
        ip += 1;
        if lit == MAX_LIT {
            out[ctrl] = (lit - 1) as u8;
            ctrl = out.len();
            out.push(0);
            lit = 0;
        }
    }
    if lit == 0 {
        out.pop();
    } else {
        out[ctrl] = (lit - 1) as u8;
    }
    (out.len() <= max_out).then_some(out)
}

/// LZF decompression into exactly `len` bytes; None when the input is malformed or does not
/// expand to exactly `len`. Never reads or writes out of bounds. O(len).
pub fn lzf_decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(i..i + run)?;
            if out.len() + run > len {
                return None;
            }
            out.extend_from_slice(lit);
            i += run;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += *input.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let n = n + 2;
            if back > out.len() || out.len() + n > len {
                return None;
            }
            let start = out.len() - back;
            for j in 0..n {
                let b = out[start + j];
                out.push(b);
            }
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_streams() {
        // "aaaaaaaaaa" as LZF: a literal 'a', then a back-reference of 9 at distance 1.
        let lzf = [0x00, b'a', 0xe0, 0x00, 0x00];
        assert_eq!(
            lzf_decompress(&lzf, 10).as_deref(),
            Some(&b"aaaaaaaaaa"[..])
        );
        assert_eq!(lzf_decompress(&lzf, 9), None);
        assert_eq!(lzf_decompress(&[0xe0, 0x05, 0x00], 10), None);
        let c = lzf_compress(&[b'a'; 100], 96).unwrap();
        assert!(c.len() < 10, "{c:?}");
        assert_eq!(lzf_decompress(&c, 100).as_deref(), Some(&[b'a'; 100][..]));
        // Incompressible input does not fit in len - 4.
        let noise: Vec<u8> = (0..64u32).map(|i| (i * 97 + 13) as u8).collect();
        assert_eq!(lzf_compress(&noise, 60), None);
    }

    proptest! {
        #[test]
        fn round_trips(data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..3000)) {
            if let Some(c) = lzf_compress(&data, data.len() + data.len() / 16 + 8) {
                prop_assert_eq!(lzf_decompress(&c, data.len()), Some(data.clone()));
            } else {
                prop_assert!(data.is_empty());
            }
        }
    }
}
