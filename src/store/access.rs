//! What an entry remembers of its accesses, for maxmemory eviction: a 24-bit LRU clock (ticks of
//! [`TICK_MS`]) or
//! its LFU counter (8-bit logarithmic counter, 16-bit decay time in minutes), packed with the
//! expiry deadline into the entry's one 64-bit word, so that tracking costs no byte per key.
//!
//! The word (`Entry::meta`), when bit 63 is clear: bits 39..63 hold the access field, bits 0..39
//! the deadline as an offset from [`base_ms`] plus one (0: no TTL). The 39-bit offset spans 17
//! years centred on the process start. A deadline outside that span (EXPIREAT far in the future
//! or long past) sets bit 63 and takes the other 63 bits whole; such a key keeps no access field
//! (it reads as just used, or as a fresh LFU counter), a rare key paying a small inexactness
//! rather than every key paying 8 bytes.

use super::table::Entry;

/// The access field's width: Redis's LRU_BITS.
pub const CLOCK_BITS: u32 = 24;
/// Largest LRU clock value (Redis's LRU_CLOCK_MAX).
pub const CLOCK_MAX: u64 = (1 << CLOCK_BITS) - 1;
/// A new key's LFU counter (Redis's LFU_INIT_VAL), so it is not evicted before it had a chance
/// to be read.
pub const LFU_INIT: u64 = 5;
const FAR: u64 = 1 << 63;
const OFFSET_BITS: u32 = 39;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;
const ACCESS_SHIFT: u32 = OFFSET_BITS;

/// The origin of deadline offsets: the process start minus half the offset span (Unix ms).
pub fn base_ms() -> u64 {
    static BASE: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        now.saturating_sub(1 << (OFFSET_BITS - 1))
    });
    *BASE
}

static CLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Publishes the time (Unix ms) the workers' loops read, for the paths that stamp an access
/// field without a clock of their own (Redis's cached `server.lruclock`). One relaxed store.
#[inline]
pub fn set_clock_ms(now: u64) {
    if CLOCK.load(std::sync::atomic::Ordering::Relaxed) < now {
        CLOCK.store(now, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The time last published by [`set_clock_ms`], or the system's when none was.
#[inline]
pub fn clock_ms() -> u64 {
    match CLOCK.load(std::sync::atomic::Ordering::Relaxed) {
        0 => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        t => t,
    }
}

/// How accesses are recorded: the maxmemory policy's kind and the LFU parameters (each shard
/// copies them from the parameters).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Access {
    /// An LFU policy is in force: the field is a counter, else an LRU clock.
    pub lfu: bool,
    /// lfu-log-factor.
    pub log_factor: u32,
    /// lfu-decay-time (minutes per halving step; 0: never decays).
    pub decay_minutes: u32,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            lfu: false,
            log_factor: 10,
            decay_minutes: 1,
        }
    }
}

/// Milliseconds per LRU clock tick. Redis ticks once a second (LRU_CLOCK_RESOLUTION); a finer
/// tick keeps LRU's order among keys written within the same second, which matters at the
/// write rates a multi-threaded server reaches (a 64 MB cache turns over in about 2 s in
/// tools/evictbench.py). The 24-bit clock then wraps every 19 days instead of 194: a key idle
/// longer than that reads as idle for its age modulo 19 days.
pub const TICK_MS: u64 = 100;

/// The LRU clock at `now_ms`: ticks of [`TICK_MS`], wrapping at 24 bits (Redis's getLRUClock).
#[inline]
pub fn lru_clock(now_ms: u64) -> u64 {
    (now_ms / TICK_MS) & CLOCK_MAX
}

/// The LFU decay time at `now_ms`: minutes, wrapping at 16 bits (LFUGetTimeInMinutes).
#[inline]
fn lfu_minutes(now_ms: u64) -> u64 {
    (now_ms / 60_000) & 0xffff
}

impl Access {
    /// The field of a key created at `now_ms` (Redis's createObject).
    #[inline]
    pub fn fresh(&self, now_ms: u64) -> u64 {
        if self.lfu {
            (lfu_minutes(now_ms) << 8) | LFU_INIT
        } else {
            lru_clock(now_ms)
        }
    }

    /// The field after one access at `now_ms` (lookupKey without LOOKUP_NOTOUCH): the clock set
    /// to now, or the counter decayed, then incremented with probability 1/((c-5)*factor+1)
    /// (updateLFU). `rnd` is a uniform random number.
    #[inline]
    pub fn touched(&self, field: u64, now_ms: u64, rnd: u64) -> u64 {
        if !self.lfu {
            return lru_clock(now_ms);
        }
        let mut c = self.counter(field, now_ms);
        if c < 255 {
            let base = c.saturating_sub(LFU_INIT) as f64;
            let p = 1.0 / (base * self.log_factor as f64 + 1.0);
            let r = (rnd >> 11) as f64 / (1u64 << 53) as f64;
            if r < p {
                c += 1;
            }
        }
        (lfu_minutes(now_ms) << 8) | c
    }

    /// The LFU counter of `field` at `now_ms`, decayed by one per lfu-decay-time minutes since
    /// its last access (LFUDecrAndReturn). O(1).
    #[inline]
    pub fn counter(&self, field: u64, now_ms: u64) -> u64 {
        let (ldt, c) = (field >> 8, field & 0xff);
        if self.decay_minutes == 0 {
            return c;
        }
        let now = lfu_minutes(now_ms);
        let elapsed = if now >= ldt {
            now - ldt
        } else {
            0xffff - ldt + now
        };
        let periods = elapsed / self.decay_minutes as u64;
        c.saturating_sub(periods)
    }

    /// The field of a restored key: RESTORE's FREQ under an LFU policy, IDLETIME (seconds) under
    /// another (objectSetLRUOrLFU); None when the option does not apply to the policy.
    pub fn restored(&self, freq: Option<i64>, idle_s: Option<i64>, now_ms: u64) -> Option<u64> {
        if self.lfu {
            freq.map(|f| (lfu_minutes(now_ms) << 8) | (f.clamp(0, 255) as u64))
        } else {
            idle_s.map(|i| {
                let clock = lru_clock(now_ms) as i64;
                let ticks = i.max(0).saturating_mul(1000 / TICK_MS as i64);
                let mut at = clock - (ticks % (CLOCK_MAX as i64 + 1));
                if at < 0 {
                    at += CLOCK_MAX as i64;
                }
                at as u64
            })
        }
    }
}

/// Milliseconds since a key whose LRU clock is `field` was last accessed, at `now_ms`
/// (estimateObjectIdleTime; the clock wraps every 19 days).
#[inline]
pub fn idle_ms(field: u64, now_ms: u64) -> u64 {
    let clock = lru_clock(now_ms);
    if clock >= field {
        (clock - field) * TICK_MS
    } else {
        (clock + (CLOCK_MAX - field)) * TICK_MS
    }
}

impl Entry {
    /// An entry with deadline `expire_at` (Unix ms, 0: none) and an access field of 0 (the
    /// database stamps it when it stores the entry).
    #[inline]
    pub fn new(key: super::Key, value: super::Value, expire_at: u64) -> Entry {
        let mut e = Entry {
            key,
            value,
            meta: 0,
        };
        e.set_expire_at(expire_at);
        e
    }

    /// Its deadline (Unix ms), 0 for none. O(1).
    #[inline]
    pub fn expire_at(&self) -> u64 {
        let m = self.meta;
        if m & FAR != 0 {
            return m & !FAR;
        }
        match m & OFFSET_MASK {
            0 => 0,
            off => base_ms() + off - 1,
        }
    }

    /// Whether it has a deadline. O(1), no decoding.
    #[inline]
    pub fn has_ttl(&self) -> bool {
        self.meta & (FAR | OFFSET_MASK) != 0
    }

    /// Sets its deadline (0: none), keeping the access field when the deadline fits the offset
    /// span. O(1).
    #[inline]
    pub fn set_expire_at(&mut self, at: u64) {
        let access = self.access();
        let base = base_ms();
        if at == 0 {
            self.meta = access << ACCESS_SHIFT;
        } else if at >= base && at - base < OFFSET_MASK {
            self.meta = (access << ACCESS_SHIFT) | (at - base + 1);
        } else {
            self.meta = FAR | at.min(i64::MAX as u64);
        }
    }

    /// Its access field (LRU clock or LFU word); 0 for a key with a far deadline. O(1).
    #[inline]
    pub fn access(&self) -> u64 {
        if self.meta & FAR != 0 {
            0
        } else {
            (self.meta >> ACCESS_SHIFT) & CLOCK_MAX
        }
    }

    /// Whether the access field is kept (false for a key with a far deadline). O(1).
    #[inline]
    pub fn tracks_access(&self) -> bool {
        self.meta & FAR == 0
    }

    /// Sets its access field (ignored for a key with a far deadline). O(1).
    #[inline]
    pub fn set_access(&mut self, field: u64) {
        if self.meta & FAR == 0 {
            self.meta = (self.meta & OFFSET_MASK) | ((field & CLOCK_MAX) << ACCESS_SHIFT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StrValue, Value};

    fn e(at: u64) -> Entry {
        Entry::new(b"k"[..].into(), Value::Str(StrValue::Int(1)), at)
    }

    #[test]
    fn deadlines_round_trip_near_and_far_with_the_access_field() {
        let now = base_ms() + (1 << 38);
        for at in [
            0,
            1,
            5,
            now,
            now + 1,
            now + 86_400_000,
            i64::MAX as u64,
            base_ms(),
        ] {
            let mut x = e(at);
            x.set_access(0xabcdef);
            assert_eq!(x.expire_at(), at, "{at}");
            assert_eq!(x.has_ttl(), at != 0);
            x.set_expire_at(at);
            assert_eq!(x.expire_at(), at);
        }
        let mut near = e(now + 1000);
        near.set_access(0x123456);
        assert_eq!(near.access(), 0x123456);
        near.set_expire_at(0);
        assert_eq!((near.access(), near.expire_at()), (0x123456, 0));
        near.set_expire_at(now + 5);
        assert_eq!((near.access(), near.expire_at()), (0x123456, now + 5));
        assert_eq!(std::mem::size_of::<Option<Entry>>(), 64);
    }

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays() {
        let a = Access {
            lfu: true,
            log_factor: 0,
            decay_minutes: 1,
        };
        let now = 10 * 60_000;
        let mut f = a.fresh(now);
        assert_eq!(a.counter(f, now), 5);
        f = a.touched(f, now, 0);
        assert_eq!(a.counter(f, now), 6);
        assert_eq!(a.counter(f, now + 3 * 60_000), 3);
        assert_eq!(a.counter(f, now + 30 * 60_000), 0);
        let slow = Access {
            log_factor: 10,
            ..a
        };
        let mut f = slow.fresh(now);
        let mut rng = 1u64;
        for _ in 0..1000 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            f = slow.touched(f, now, rng);
        }
        let c = slow.counter(f, now);
        assert!((10..40).contains(&c), "{c}");
    }

    #[test]
    fn lru_idle_time_and_restore() {
        let a = Access::default();
        let now = 1_000_000_000;
        let f = a.fresh(now);
        assert_eq!(idle_ms(f, now + 5000), 5000);
        let r = a.restored(None, Some(100), now);
        assert_eq!(r.map(|f| idle_ms(f, now)), Some(100_000));
        assert_eq!(a.restored(Some(3), None, now), None);
    }
}
