//! Access control: users, their rules, and the decision made before a command runs, as Redis
//! 7.0's ACL (acl.c). Pure data and decisions; the connection's worker asks before routing
//! (`worker::route`), EXEC asks again for each queued command, scripts ask for each
//! `redis.call`.
//!
//! Cost on the hot path: a connection keeps its user (an `Arc` snapshot) and whether that user
//! may run anything (`Auth::open`), valid for one registry epoch; a command pays one atomic
//! load and a compare while nothing changes. Any change to the users (ACL SETUSER, DELUSER,
//! `requirepass`...) bumps the epoch, and each connection refreshes its snapshot at its next
//! command; a connection whose user was deleted is closed (Redis closes them at once: the
//! deleting worker also asks the owners of those connections to close them).

pub mod categories;
pub mod keys;
pub mod rules;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::command::slots::SLOTS;
use crate::command::{flag, Args};
use rules::{sflag, uflag};
pub use rules::{RuleError, Selector, User};

/// What a client of a protected server that is not local reads before being closed.
pub const PROTECTED_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Why a command was refused, with the argument index of the key or channel at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denied {
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(i) => (2, i),
            Denied::Channel(i) => (4, i),
        }
    }

    /// The error of a refused command at top level or queued in MULTI (processCommand).
    pub fn error(self, slot: usize) -> String {
        match self {
            Denied::Command => format!(
                "NOPERM this user has no permissions to run the '{}' command",
                SLOTS.name(slot)
            ),
            Denied::Key(_) => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .into()
            }
            Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
        }
    }

    /// Redis's getAclErrorMessage (scripts: "The user executing the script " + this).
    pub fn message(self) -> &'static str {
        match self {
            Denied::Command => "can't run this command or subcommand",
            Denied::Key(_) => {
                "can't access at least one of the keys mentioned in the command arguments"
            }
            Denied::Channel(_) => "can't publish to the channel mentioned in the command",
        }
    }

    /// EXEC's reason for a queued command no longer allowed.
    pub fn exec_reason(self) -> &'static str {
        match self {
            Denied::Command => "no permission to execute the command or subcommand",
            Denied::Key(_) => "no permission to touch the specified keys",
            Denied::Channel(_) => "no permission to access one of the channels used as arguments",
        }
    }

    /// The ACL LOG reason.
    pub fn reason(self) -> Reason {
        match self {
            Denied::Command => Reason::Command,
            Denied::Key(_) => Reason::Key,
            Denied::Channel(_) => Reason::Channel,
        }
    }

    /// The index of the argument at fault (keys and channels).
    pub fn index(self) -> Option<usize> {
        match self {
            Denied::Command => None,
            Denied::Key(i) | Denied::Channel(i) => Some(i),
        }
    }
}

fn check_selector(
    s: &Selector,
    ci: usize,
    slot: usize,
    args: &Args,
    keys: &mut Option<Vec<(usize, u8)>>,
) -> Result<(), Denied> {
    if s.flags & sflag::ALLCOMMANDS == 0 && SLOTS.flags(slot) & flag::NO_AUTH == 0 && !s.bit(slot) {
        let ok = args.len() >= 2
            && s.firstargs(slot)
                .is_some_and(|l| l.iter().any(|a| a.eq_ignore_ascii_case(args.get(1))));
        if !ok {
            return Err(Denied::Command);
        }
    }
    if s.flags & sflag::ALLKEYS == 0 {
        let list = keys.get_or_insert_with(|| {
            let mut v = Vec::new();
            keys::key_needs(ci, slot, args, &mut v);
            v
        });
        for &(i, need) in list.iter() {
            let key = args.get(i);
            let ok = s
                .patterns
                .iter()
                .any(|p| p.flags & need == need && crate::glob::glob_match(&p.pattern, key, false));
            if !ok {
                return Err(Denied::Key(i));
            }
        }
    }
    if s.flags & sflag::ALLCHANNELS == 0 {
        let mut chans = Vec::new();
        keys::channels(ci, args, &mut chans);
        for (i, pattern) in chans {
            if !channel_allowed(&s.channels, args.get(i), pattern) {
                return Err(Denied::Channel(i));
            }
        }
    }
    Ok(())
}

/// Whether `channel` is allowed by the channel patterns `list`: a channel is matched against
/// them as globs, a pattern (PSUBSCRIBE) literally.
pub fn channel_allowed(list: &[Vec<u8>], channel: &[u8], pattern: bool) -> bool {
    list.iter().any(|p| {
        if pattern {
            p.as_slice() == channel
        } else {
            crate::glob::glob_match(p, channel, false)
        }
    })
}

/// Whether `user` may run command `ci` (slot `slot`) with `args` (ACLCheckAllUserCommandPerm):
/// one selector allowing it is enough; otherwise the most relevant refusal (a channel over a
/// key over the command, the latest argument first).
pub fn check(user: &User, ci: usize, slot: usize, args: &Args) -> Result<(), Denied> {
    let mut keys = None;
    let mut worst = Denied::Command;
    for s in &user.selectors {
        match check_selector(s, ci, slot, args, &mut keys) {
            Ok(()) => return Ok(()),
            Err(d) => {
                if d.rank() > worst.rank() {
                    worst = d;
                }
            }
        }
    }
    Err(worst)
}

/// SORT's own refusal (sort.c): BY with a pattern, or GET, read keys named by the data, which
/// only a user allowed the command with read access to every key may do. The scan stops where
/// the handler would answer a syntax error itself.
pub fn sort_refusal(user: &User, ci: usize, slot: usize, args: &Args) -> Option<&'static str> {
    let store_ok = SLOTS.name(slot) == "sort";
    let mut need: Option<&'static str> = None;
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        if args.is(j, "asc") || args.is(j, "desc") || args.is(j, "alpha") {
        } else if args.is(j, "limit") && left >= 2 {
            if crate::resp::parse_i64(args.get(j + 1)).is_none()
                || crate::resp::parse_i64(args.get(j + 2)).is_none()
            {
                return None;
            }
            j += 2;
        } else if store_ok && args.is(j, "store") && left >= 1 {
            j += 1;
        } else if args.is(j, "by") && left >= 1 {
            if args.get(j + 1).contains(&b'*') {
                need = Some("ERR BY option of SORT denied due to insufficient ACL permissions.");
                break;
            }
            j += 1;
        } else if args.is(j, "get") && left >= 1 {
            need = Some("ERR GET option of SORT denied due to insufficient ACL permissions.");
            break;
        } else {
            return None;
        }
        j += 1;
    }
    let msg = need?;
    let mut keys = None;
    let full = user.selectors.iter().any(|s| {
        check_selector(s, ci, slot, args, &mut keys).is_ok()
            && (s.flags & sflag::ALLKEYS != 0
                || s.patterns
                    .iter()
                    .any(|p| p.flags & rules::READ != 0 && p.pattern == b"*"))
    });
    (!full).then_some(msg)
}

/// Whether `user` may stay subscribed to these channels, patterns and shard channels (after
/// its channel rules changed, Redis closes the subscribers that may not).
pub fn may_keep_subscriptions(
    user: &User,
    channels: &[Vec<u8>],
    patterns: &[Vec<u8>],
    shard: &[Vec<u8>],
) -> bool {
    if user
        .selectors
        .iter()
        .any(|s| s.flags & sflag::ALLCHANNELS != 0)
    {
        return true;
    }
    let all: Vec<Vec<u8>> = user
        .selectors
        .iter()
        .flat_map(|s| s.channels.iter().cloned())
        .collect();
    patterns.iter().all(|p| channel_allowed(&all, p, true))
        && channels
            .iter()
            .chain(shard)
            .all(|c| channel_allowed(&all, c, false))
}

/// ACL LOG reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Command,
    Key,
    Channel,
    Auth,
}

impl Reason {
    /// The name ACL LOG shows.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }
}

/// Where a refusal happened (ACL LOG `context`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
}

impl Context {
    /// The name ACL LOG shows.
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

/// One ACL LOG entry; similar events within a minute are counted in one.
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    pub ctime_ms: u64,
    pub client_info: String,
}

/// Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA.
const GROUPING_MS: u64 = 60_000;

/// The users (by name, in byte order as Redis's radix tree lists them) and the ACL log.
pub struct Registry {
    pub users: BTreeMap<Vec<u8>, Arc<User>>,
    next_id: u64,
    /// Newest first.
    pub log: VecDeque<LogEntry>,
    /// `acl-pubsub-default`: the channel flags a new selector starts with.
    pub pubsub_default: u8,
}

impl Registry {
    fn new() -> Registry {
        let mut users = BTreeMap::new();
        users.insert(b"default".to_vec(), Arc::new(User::default_user(0)));
        Registry {
            users,
            next_id: 1,
            log: VecDeque::new(),
            pubsub_default: 0,
        }
    }

    /// The default user.
    pub fn default_user(&self) -> Arc<User> {
        match self.users.get(b"default".as_slice()) {
            Some(u) => u.clone(),
            None => Arc::new(User::default_user(0)),
        }
    }

    /// Whether connections must authenticate (the default user has a password or is off).
    pub fn auth_required(&self) -> bool {
        let d = self.default_user();
        d.flags & uflag::NOPASS == 0 || d.flags & uflag::DISABLED != 0
    }

    /// ACL SETUSER: applies `ops` to user `name` (created if missing), all or nothing.
    /// Returns the changed user; the error is Redis's text.
    pub fn set_user(&mut self, name: &[u8], ops: &[&[u8]]) -> Result<Arc<User>, Vec<u8>> {
        let merged = rules::merge_selectors(ops).map_err(|j| {
            let mut m = b"ERR Unmatched parenthesis in acl selector starting at '".to_vec();
            m.extend_from_slice(c_str(ops.get(j).copied().unwrap_or_default()));
            m.extend_from_slice(b"'.");
            m
        })?;
        let mut u = match self.users.get(name) {
            Some(u) => (**u).clone(),
            None => {
                let id = self.next_id;
                User::new(id, name, self.pubsub_default)
            }
        };
        for op in &merged {
            u.apply(op, self.pubsub_default).map_err(|e| {
                let mut m = b"ERR Error in ACL SETUSER modifier '".to_vec();
                m.extend_from_slice(c_str(op));
                m.extend_from_slice(b"': ");
                m.extend_from_slice(e.text().as_bytes());
                m
            })?;
        }
        if !self.users.contains_key(name) {
            self.next_id += 1;
        }
        let u = Arc::new(u);
        self.users.insert(name.to_vec(), u.clone());
        Ok(u)
    }

    /// Whether a user (by id) still exists, and its current rules.
    pub fn current(&self, user: &User) -> Option<Arc<User>> {
        self.users
            .get(&user.name)
            .filter(|u| u.id == user.id)
            .cloned()
    }

    /// Adds an entry to the log (or counts it in a similar recent one), keeping at most `max`.
    pub fn log(&mut self, e: LogEntry, max: usize) {
        let found = self.log.iter().take(10).position(|c| {
            c.reason == e.reason
                && c.context == e.context
                && c.ctime_ms.abs_diff(e.ctime_ms) <= GROUPING_MS
                && c.object == e.object
                && c.username == e.username
        });
        if let Some(i) = found {
            if let Some(mut c) = self.log.remove(i) {
                c.count += 1;
                c.ctime_ms = e.ctime_ms;
                c.client_info = e.client_info;
                self.log.push_front(c);
            }
            return;
        }
        self.log.push_front(e);
        self.log.truncate(max);
    }
}

fn c_str(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |i| &s[..i])
}

/// The process-wide ACL state: the registry and its epoch.
pub struct Acl {
    reg: RwLock<Registry>,
    epoch: AtomicU64,
}

impl Default for Acl {
    fn default() -> Self {
        Acl {
            reg: RwLock::new(Registry::new()),
            epoch: AtomicU64::new(1),
        }
    }
}

impl Acl {
    /// The current epoch (changes with every change to the users).
    #[inline]
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Reads the registry.
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.reg.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the registry; the epoch moves on so connections refresh their users.
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.reg.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the log only (the users are untouched: no epoch change).
    pub fn write_log(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.reg.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A new connection's state: the default user, authenticated if it needs no password.
    pub fn new_auth(&self) -> Auth {
        let epoch = self.epoch();
        let reg = self.read();
        let user = reg.default_user();
        let authenticated = !reg.auth_required();
        Auth {
            open: authenticated && user.unrestricted(),
            user,
            authenticated,
            epoch,
        }
    }

    /// `requirepass`: sets the default user's password (empty: nopass), as Redis's
    /// ACLUpdateDefaultUserPassword.
    pub fn set_requirepass(&self, pass: &[u8]) {
        let mut reg = self.write();
        let mut ops: Vec<Vec<u8>> = vec![b"resetpass".to_vec()];
        if pass.is_empty() {
            ops.push(b"nopass".to_vec());
        } else {
            let mut op = b">".to_vec();
            op.extend_from_slice(pass);
            ops.push(op);
        }
        let refs: Vec<&[u8]> = ops.iter().map(|o| o.as_slice()).collect();
        let _ = reg.set_user(b"default", &refs);
    }
}

/// A connection's identity: its user (a snapshot, refreshed when the epoch moves), whether it
/// authenticated, and whether it may run anything without a per-command check.
#[derive(Clone, Debug)]
pub struct Auth {
    pub user: Arc<User>,
    pub authenticated: bool,
    /// The registry epoch `user` and `open` were taken at.
    pub epoch: u64,
    /// Authenticated (or no password needed) and the user is unrestricted.
    pub open: bool,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            user: Arc::new(User::default_user(0)),
            authenticated: true,
            epoch: 0,
            open: false,
        }
    }
}

/// What refreshing a connection's identity found.
pub enum Refresh {
    Current,
    /// Its user was deleted: the connection is to be closed.
    Deleted,
}

impl Auth {
    /// Whether a command may run without any check (the fast path: one load and compares).
    #[inline(always)]
    pub fn fast(&self, acl: &Acl) -> bool {
        self.open && self.epoch == acl.epoch()
    }

    /// Takes the user's current rules if the registry changed since.
    pub fn refresh(&mut self, acl: &Acl) -> Refresh {
        let epoch = acl.epoch();
        if self.epoch == epoch {
            return Refresh::Current;
        }
        let reg = acl.read();
        match reg.current(&self.user) {
            Some(u) => self.user = u,
            None => return Refresh::Deleted,
        }
        let required = !self.authenticated && reg.auth_required();
        self.open = !required && self.user.unrestricted();
        self.epoch = epoch;
        Refresh::Current
    }

    /// Whether this connection must authenticate before running commands not flagged no-auth.
    pub fn auth_required(&self, acl: &Acl) -> bool {
        !self.authenticated && acl.read().auth_required()
    }

    /// Authenticates as `user` (AUTH, HELLO AUTH).
    pub fn become_user(&mut self, user: Arc<User>) {
        self.user = user;
        self.authenticated = true;
        self.epoch = 0;
        self.open = false;
    }
}

/// AUTH's check: the user `name` exists and `password` authenticates it.
pub fn authenticate(acl: &Acl, name: &[u8], password: &[u8]) -> Option<Arc<User>> {
    let reg = acl.read();
    let u = reg.users.get(name)?;
    u.check_password(password).then(|| u.clone())
}
