//! Users, selectors and the rule language of ACL SETUSER, as Redis 7.0's acl.c defines them:
//! pure data, no I/O. A user is a set of flags (on/off, nopass...), password hashes and a list of
//! selectors, the first of which (the root) holds the rules given outside parentheses. A selector
//! is a bitmap over the command slots (commands and subcommands, [`crate::command::slots::SLOTS`]),
//! key patterns with read/write permissions, and channel patterns.

use super::categories::{self, CATEGORIES};
use crate::command::slots::SLOTS;

/// User flags, in the order Redis describes them (ACL LIST, GETUSER).
pub mod uflag {
    pub const ENABLED: u8 = 1;
    pub const DISABLED: u8 = 1 << 1;
    pub const NOPASS: u8 = 1 << 2;
    pub const SKIP_SANITIZE: u8 = 1 << 3;
    pub const SANITIZE: u8 = 1 << 4;
    /// Names with their flags, in Redis's order.
    pub const NAMES: &[(&str, u8)] = &[
        ("on", ENABLED),
        ("off", DISABLED),
        ("nopass", NOPASS),
        ("skip-sanitize-payload", SKIP_SANITIZE),
        ("sanitize-payload", SANITIZE),
    ];
}

/// Selector flags.
pub mod sflag {
    pub const ROOT: u8 = 1;
    pub const ALLKEYS: u8 = 1 << 1;
    pub const ALLCOMMANDS: u8 = 1 << 2;
    pub const ALLCHANNELS: u8 = 1 << 3;
}

/// Key permissions of a key pattern (`~`: both, `%R~`, `%W~`).
pub const READ: u8 = 1;
pub const WRITE: u8 = 2;
pub const ALL: u8 = READ | WRITE;

/// Why a rule was refused: Redis's errno for it, and its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    /// ENOENT: unknown command or category.
    UnknownName,
    /// EINVAL: not a rule, or a pattern with spaces.
    Syntax,
    /// EEXIST: a key pattern after `allkeys`.
    AfterAllKeys,
    /// EISDIR: a channel pattern after `allchannels`.
    AfterAllChannels,
    /// ENODEV: removing a password the user does not have.
    NoSuchPassword,
    /// EBADMSG: a `#`/`!` hash that is not 64 lower-case hex digits.
    BadHash,
    /// ECHILD: `+container|sub|arg`.
    FirstArgOfSub,
}

impl RuleError {
    /// Redis's text (`ACLSetUserStringError`).
    pub fn text(self) -> &'static str {
        match self {
            RuleError::UnknownName => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::AfterAllKeys => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::AfterAllChannels => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSub => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// One key pattern with the permissions it grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    pub flags: u8,
    pub pattern: Vec<u8>,
}

/// One selector: commands (a bitmap over command slots plus one bit for commands added later,
/// which only `+@all` sets), allowed first arguments of otherwise denied commands, key and channel
/// patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub flags: u8,
    bits: Vec<u64>,
    /// (slot, first arguments allowed), for commands whose bit is clear.
    firstargs: Vec<(usize, Vec<Vec<u8>>)>,
    pub patterns: Vec<KeyPattern>,
    pub channels: Vec<Vec<u8>>,
}

/// The bit past every slot: "commands that do not exist yet" (set by `+@all` only).
fn future_bit() -> usize {
    SLOTS.len()
}

fn words() -> usize {
    (SLOTS.len() + 1).div_ceil(64)
}

impl Selector {
    /// An empty selector (no command, key or channel).
    pub fn new(flags: u8) -> Selector {
        Selector {
            flags,
            bits: vec![0; words()],
            firstargs: Vec::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    /// Whether the bit of `slot` is set.
    pub fn bit(&self, slot: usize) -> bool {
        self.bits
            .get(slot / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    fn set_bit(&mut self, slot: usize, on: bool) {
        if let Some(w) = self.bits.get_mut(slot / 64) {
            if on {
                *w |= 1 << (slot % 64);
            } else {
                *w &= !(1 << (slot % 64));
                self.flags &= !sflag::ALLCOMMANDS;
            }
        }
    }

    /// Allows or denies a command and, for a container, every subcommand
    /// (`ACLChangeSelectorPerm`).
    fn change(&mut self, slot: usize, on: bool) {
        self.set_bit(slot, on);
        self.firstargs.retain(|(s, _)| *s != slot);
        for sub in SLOTS.subs_of(slot) {
            self.set_bit(sub, on);
        }
    }

    fn set_category(&mut self, cat: u32, on: bool) {
        for slot in 0..SLOTS.len() {
            if categories::of(slot) & cat != 0 {
                self.change(slot, on);
            }
        }
    }

    /// Commands allowed and denied among those of category `cat`.
    fn count_category(&self, cat: u32) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for slot in 0..SLOTS.len() {
            if categories::of(slot) & cat != 0 {
                if self.bit(slot) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    /// The first arguments allowed for `slot`, if any.
    pub fn firstargs(&self, slot: usize) -> Option<&[Vec<u8>]> {
        self.firstargs
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, v)| v.as_slice())
    }

    /// Whether it grants everything (the default user's fast path).
    pub fn unrestricted(&self) -> bool {
        self.flags & (sflag::ALLKEYS | sflag::ALLCOMMANDS | sflag::ALLCHANNELS)
            == sflag::ALLKEYS | sflag::ALLCOMMANDS | sflag::ALLCHANNELS
    }

    /// Applies one selector rule (`ACLSetSelector`).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| c_eq(op, w);
        if is("allkeys") || is("~*") {
            self.flags |= sflag::ALLKEYS;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.flags &= !sflag::ALLKEYS;
            self.patterns.clear();
        } else if is("allchannels") || is("&*") {
            self.flags |= sflag::ALLCHANNELS;
            self.channels.clear();
        } else if is("resetchannels") {
            self.flags &= !sflag::ALLCHANNELS;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.bits.iter_mut().for_each(|w| *w = u64::MAX);
            self.flags |= sflag::ALLCOMMANDS;
            self.firstargs.clear();
        } else if is("nocommands") || is("-@all") {
            self.bits.iter_mut().for_each(|w| *w = 0);
            self.flags &= !sflag::ALLCOMMANDS;
            self.firstargs.clear();
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.flags & sflag::ALLKEYS != 0 {
                return Err(RuleError::AfterAllKeys);
            }
            let mut flags = 0;
            let mut offset = 1;
            if op[0] == b'%' {
                while offset < op.len() {
                    let c = op[offset].to_ascii_uppercase();
                    if c == b'R' && flags & READ == 0 {
                        flags |= READ;
                    } else if c == b'W' && flags & WRITE == 0 {
                        flags |= WRITE;
                    } else if op[offset] == b'~' {
                        offset += 1;
                        break;
                    } else {
                        return Err(RuleError::Syntax);
                    }
                    offset += 1;
                }
                // Redis 7.0 accepts a bare `%` (a pattern granting nothing) and then cannot
                // describe it; refusing it is the safe reading.
                if flags == 0 {
                    return Err(RuleError::Syntax);
                }
            } else {
                flags = ALL;
            }
            let pat = &op[offset.min(op.len())..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            match self.patterns.iter_mut().find(|p| p.pattern == pat) {
                Some(p) => p.flags |= flags,
                None => self.patterns.push(KeyPattern {
                    flags,
                    pattern: pat.to_vec(),
                }),
            }
            self.flags &= !sflag::ALLKEYS;
        } else if op[0] == b'&' {
            if self.flags & sflag::ALLCHANNELS != 0 {
                return Err(RuleError::AfterAllChannels);
            }
            let pat = &op[1..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pat) {
                self.channels.push(pat.to_vec());
            }
            self.flags &= !sflag::ALLCHANNELS;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            let name = c_str(&op[1..]);
            match name.iter().rposition(|&b| b == b'|') {
                None => {
                    let slot = lookup(name).ok_or(RuleError::UnknownName)?;
                    self.change(slot, true);
                }
                Some(bar) => {
                    let (base, sub) = (&name[..bar], &name[bar + 1..]);
                    let slot = lookup(base).ok_or(RuleError::UnknownName)?;
                    if SLOTS.parent(slot) != slot {
                        return Err(RuleError::FirstArgOfSub);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if SLOTS.has_subs(slot) {
                        let s = lookup(name).ok_or(RuleError::UnknownName)?;
                        self.change(s, true);
                    } else {
                        crate::log_at!(
                            Warning,
                            "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
                            String::from_utf8_lossy(name)
                        );
                        match self.firstargs.iter_mut().find(|(s, _)| *s == slot) {
                            Some((_, list)) => {
                                if !list.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                                    list.push(sub.to_vec());
                                }
                            }
                            None => self.firstargs.push((slot, vec![sub.to_vec()])),
                        }
                    }
                }
            }
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let slot = lookup(c_str(&op[1..])).ok_or(RuleError::UnknownName)?;
            self.change(slot, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let cat = categories::by_name(c_str(&op[2..])).ok_or(RuleError::UnknownName)?;
            self.set_category(cat, op[0] == b'+');
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// The command rules that rebuild this selector's bitmap, as ACL GETUSER and LIST show them
    /// (`ACLDescribeSelectorCommandRules`): `+@all` or `-@all`, the categories that fit best,
    /// then single commands (in table order: Redis's is its dictionary's, which varies by run).
    pub fn describe_commands(&self) -> String {
        let additive = !self.bit(future_bit());
        let mut rules = String::new();
        let mut fake = Selector::new(0);
        if additive {
            rules.push_str("-@all ");
            let _ = fake.apply(b"-@all");
        } else {
            rules.push_str("+@all ");
            let _ = fake.apply(b"+@all");
        }
        let mut temp = Selector::new(0);
        temp.bits = self.bits.clone();
        let mut applied = [false; 32];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, (_, cat)) in CATEGORIES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (on, off) = temp.count_category(*cat);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            let (name, cat) = CATEGORIES[j];
            fake.set_category(cat, additive);
            temp.set_category(cat, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(name);
            rules.push(' ');
            applied[j] = true;
        }
        for slot in 0..SLOTS.len() {
            let userbit = self.bit(slot);
            if userbit != fake.bit(slot) {
                rules.push(if userbit { '+' } else { '-' });
                rules.push_str(SLOTS.name(slot));
                rules.push(' ');
                fake.change(slot, userbit);
            }
            if !userbit {
                if let Some(list) = self.firstargs(slot) {
                    for a in list {
                        rules.push('+');
                        rules.push_str(SLOTS.name(slot));
                        rules.push('|');
                        rules.push_str(&String::from_utf8_lossy(a));
                        rules.push(' ');
                    }
                }
            }
        }
        rules.pop();
        rules
    }

    /// Key patterns as GETUSER's `keys` shows them.
    pub fn describe_keys(&self) -> String {
        if self.flags & sflag::ALLKEYS != 0 {
            return "~*".into();
        }
        let v: Vec<String> = self.patterns.iter().map(pattern_string).collect();
        v.join(" ")
    }

    /// Channel patterns as GETUSER's `channels` shows them.
    pub fn describe_channels(&self) -> String {
        if self.flags & sflag::ALLCHANNELS != 0 {
            return "&*".into();
        }
        let v: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        v.join(" ")
    }

    /// The whole selector in rule form (`ACLDescribeSelector`), as ACL LIST shows it.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if self.flags & sflag::ALLKEYS != 0 {
            s.push_str("~* ");
        } else {
            for p in &self.patterns {
                s.push_str(&pattern_string(p));
                s.push(' ');
            }
        }
        if self.flags & sflag::ALLCHANNELS != 0 {
            s.push_str("&* ");
        } else {
            s.push_str("resetchannels ");
            for c in &self.channels {
                s.push('&');
                s.push_str(&String::from_utf8_lossy(c));
                s.push(' ');
            }
        }
        s.push_str(&self.describe_commands());
        s
    }
}

fn pattern_string(p: &KeyPattern) -> String {
    let prefix = match p.flags {
        READ => "%R~",
        WRITE => "%W~",
        _ => "~",
    };
    format!("{prefix}{}", String::from_utf8_lossy(&p.pattern))
}

/// A user: flags, password hashes (lower-case hex SHA-256), selectors (the root first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Unique per creation: connections authenticated as a user that was deleted (even if one of
    /// the same name was made since) are told apart by it.
    pub id: u64,
    pub name: Vec<u8>,
    pub flags: u8,
    pub passwords: Vec<[u8; 64]>,
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user as Redis creates one: off, no password, a root selector that allows nothing.
    pub fn new(id: u64, name: &[u8], pubsub_default: u8) -> User {
        User {
            id,
            name: name.to_vec(),
            flags: uflag::DISABLED,
            passwords: Vec::new(),
            selectors: vec![Selector::new(sflag::ROOT | pubsub_default)],
        }
    }

    /// The `default` user: on, nopass, every key, channel and command.
    pub fn default_user(id: u64) -> User {
        let mut u = User::new(id, b"default", 0);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(op.as_bytes(), 0);
        }
        u
    }

    /// Whether it may run every command on every key and channel (no per-command check needed).
    pub fn unrestricted(&self) -> bool {
        self.selectors.iter().any(Selector::unrestricted)
    }

    /// Applies one rule (`ACLSetUser`); `pubsub_default` is what `reset` leaves for channels.
    pub fn apply(&mut self, op: &[u8], pubsub_default: u8) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |w: &str| c_eq(op, w);
        if is("on") {
            self.flags = (self.flags | uflag::ENABLED) & !uflag::DISABLED;
        } else if is("off") {
            self.flags = (self.flags | uflag::DISABLED) & !uflag::ENABLED;
        } else if is("skip-sanitize-payload") {
            self.flags = (self.flags | uflag::SKIP_SANITIZE) & !uflag::SANITIZE;
        } else if is("sanitize-payload") {
            self.flags = (self.flags | uflag::SANITIZE) & !uflag::SKIP_SANITIZE;
        } else if is("nopass") {
            self.flags |= uflag::NOPASS;
            self.passwords.clear();
        } else if is("resetpass") {
            self.flags &= !uflag::NOPASS;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                hash_password(&op[1..])
            } else {
                parse_hash(&op[1..])?
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.flags &= !uflag::NOPASS;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                hash_password(&op[1..])
            } else {
                parse_hash(&op[1..])?
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut s = Selector::new(pubsub_default);
            let inner = &op[1..op.len() - 1];
            let args = crate::script::store::split_args(inner).unwrap_or_default();
            for a in &args {
                s.apply(a)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for r in ["resetpass", "resetkeys", "resetchannels"] {
                let _ = self.apply(r.as_bytes(), pubsub_default);
            }
            if pubsub_default & sflag::ALLCHANNELS != 0 {
                let _ = self.apply(b"allchannels", pubsub_default);
            }
            for r in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                let _ = self.apply(r.as_bytes(), pubsub_default);
            }
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// The user in rule form, as ACL LIST shows it after `user <name> ` (`ACLDescribeUser`).
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (name, f) in uflag::NAMES {
            if self.flags & f != 0 {
                s.push_str(name);
                s.push(' ');
            }
        }
        for p in &self.passwords {
            s.push('#');
            s.push_str(std::str::from_utf8(p).unwrap_or(""));
            s.push(' ');
        }
        for (i, sel) in self.selectors.iter().enumerate() {
            if i == 0 {
                s.push_str(&sel.describe());
            } else {
                s.push_str(" (");
                s.push_str(&sel.describe());
                s.push(')');
            }
        }
        s
    }

    /// Whether `password` authenticates this user: enabled, and nopass or a matching hash
    /// (compared in constant time).
    pub fn check_password(&self, password: &[u8]) -> bool {
        if self.flags & uflag::DISABLED != 0 {
            return false;
        }
        if self.flags & uflag::NOPASS != 0 {
            return true;
        }
        let h = hash_password(password);
        let mut ok = false;
        for p in &self.passwords {
            let diff = p.iter().zip(h.iter()).fold(0u8, |d, (a, b)| d | (a ^ b));
            ok |= diff == 0;
        }
        ok
    }
}

/// Merges selector rules spread over several arguments (`(~x` `+get)` -> `(~x +get)`), as
/// Redis's ACLMergeSelectorArguments; Err(index) names the argument of an unclosed one.
pub fn merge_selectors(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in args.iter().enumerate() {
        if open.is_none() && op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.to_vec()));
            continue;
        }
        if let Some((_, sel)) = &mut open {
            sel.push(b' ');
            sel.extend_from_slice(c_str(op));
            if op.last() == Some(&b')') {
                out.push(open.take().map(|(_, s)| s).unwrap_or_default());
            }
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}

/// Lower-case hex SHA-256 of `password`.
pub fn hash_password(password: &[u8]) -> [u8; 64] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(password);
    let mut out = [0u8; 64];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn parse_hash(h: &[u8]) -> Result<[u8; 64], RuleError> {
    if h.len() != 64 || !h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(RuleError::BadHash);
    }
    let mut out = [0u8; 64];
    out.copy_from_slice(h);
    Ok(out)
}

/// Whether `s` has blanks or NUL bytes (refused in user names and patterns, as Redis does).
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0))
}

/// `s` up to its first NUL (Redis compares rules as C strings).
fn c_str(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |i| &s[..i])
}

/// strcasecmp of `op` (as a C string) with `w`.
fn c_eq(op: &[u8], w: &str) -> bool {
    c_str(op).eq_ignore_ascii_case(w.as_bytes())
}

/// The slot a rule's command name designates (`get`, `config|get`), as Redis's strict lookup:
/// a subcommand only of a container, one level at most.
pub fn lookup(name: &[u8]) -> Option<usize> {
    let mut parts = name.split(|&b| b == b'|');
    let base = parts.next()?;
    let sub = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let (ci, _) = crate::command::TABLE.lookup(base)?;
    match sub {
        None => Some(ci),
        Some(sub) if SLOTS.has_subs(ci) => SLOTS.sub_slot(ci, sub),
        Some(_) => None,
    }
}
