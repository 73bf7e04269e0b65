//! Keyspace notifications, as the shard records them: the event classes of
//! `notify-keyspace-events` (Redis's bits and letters) and the events a command or the expiry of a
//! key produced, waiting for the worker to publish them (`__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>`, see `command::notify`).
//!
//! Recording costs one test of a bit mask when the class is off (the default is all off), so a
//! command pays nothing for notifications nobody asked for.

/// `K`: publish on `__keyspace@<db>__:<key>` with the event as the message.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>` with the key as the message.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted-set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: a key deleted because its TTL passed.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key evicted by maxmemory.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: a read of a key that does not exist (not part of `A`).
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module events.
pub const MODULE: u32 = 1 << 13;
/// `n`: a key created (not part of `A`).
pub const NEW: u32 = 1 << 14;
/// `A`: every class but `m` and `n`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The classes named by a `notify-keyspace-events` value, or None when it holds another character
/// (Redis's keyspaceEventsStringToFlags). O(length).
pub fn parse_classes(s: &str) -> Option<u32> {
    let mut flags = 0;
    for c in s.chars() {
        flags |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The value CONFIG GET shows for `flags`, in Redis's order (keyspaceEventsFlagsToString): `A`
/// when every class of it is on, else each class letter, then `K`, `E` and `m`.
pub fn classes_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Whether events of `class` are published under `flags`: the class is on, and so is at least one
/// of the two channel kinds.
#[inline]
pub fn wanted(flags: u32, class: u32) -> bool {
    flags & class != 0 && flags & (KEYSPACE | KEYEVENT) != 0
}

/// One event waiting to be published: its database, event name and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The database the key lives in.
    pub db: usize,
    /// Redis's event name (`set`, `lpush`, `expired`...).
    pub event: &'static str,
    /// The key.
    pub key: Box<[u8]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_trip_in_redis_order() {
        assert_eq!(parse_classes(""), Some(0));
        assert_eq!(parse_classes("KEA"), Some(KEYSPACE | KEYEVENT | ALL));
        assert_eq!(classes_to_string(parse_classes("KEA").unwrap()), "AKE");
        assert_eq!(classes_to_string(parse_classes("Elg$").unwrap()), "g$lE");
        assert_eq!(classes_to_string(parse_classes("nmAK").unwrap()), "AKm");
        assert_eq!(classes_to_string(parse_classes("xn").unwrap()), "xn");
        assert_eq!(parse_classes("KEw"), None);
        assert!(
            !wanted(ALL, GENERIC),
            "neither K nor E: nothing is published"
        );
        assert!(wanted(KEYEVENT | GENERIC, GENERIC));
        assert!(!wanted(KEYEVENT | GENERIC, LIST));
    }
}
