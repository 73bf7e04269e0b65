//! The command table and the contexts handlers run in.
//!
//! Every command is declared once, in its family's file, with its arity, flags, key positions and how
//! it is routed ([`Exec`]). The worker looks the name up, checks the arity, finds the owners of the
//! keys, and calls the handler where the keys live. What Redis publishes about a command besides
//! (COMMAND DOCS, ACL categories, key specs, subcommands) is data generated from redis-server, in
//! [`meta`]. Adding a command touches its family file (and the family list in [`Table::build`] when the
//! family is new), then `tools/gen_command_meta.py` regenerates the data.

pub mod acl;
pub mod bitmap;
pub mod blocking;
pub mod client;
pub mod config;
pub mod ctx;
pub mod dump;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod info;
pub mod introspection;
pub mod keyspace;
pub mod latency;
pub mod list;
pub mod memory;
pub mod meta;
pub mod multi;
pub mod persist;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod slots;
pub mod slowlog;
pub mod sort;
pub mod stream;
pub mod string;
pub mod zset;

use std::ops::Range;
use std::sync::LazyLock;

use crate::num::parse_i64;
use crate::resp::{err, Reply};
use crate::store::{Db, Keyspace, WrongType};

/// The arguments of one command: ranges into a buffer (a connection's read buffer, an inline scratch
/// buffer, or a forwarded batch). Index 0 is the command name.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    buf: &'a [u8],
    ranges: &'a [Range<usize>],
    /// When the buffer is reference-counted (a big request read into a buffer of its own), a
    /// stored argument can keep a slice of it instead of a copy.
    frozen: Option<&'a bytes::Bytes>,
}

impl<'a> Args<'a> {
    /// Arguments found at `ranges` of `buf`.
    pub fn new(buf: &'a [u8], ranges: &'a [Range<usize>]) -> Self {
        Args {
            buf,
            ranges,
            frozen: None,
        }
    }

    /// Arguments found at `ranges` of a reference-counted buffer: [`Args::shared`] hands out slices
    /// of it without copying.
    pub fn frozen(buf: &'a bytes::Bytes, ranges: &'a [Range<usize>]) -> Self {
        Args {
            buf,
            ranges,
            frozen: Some(buf),
        }
    }

    /// Argument `i` as shared bytes without a copy, when the buffer is reference-counted. O(1).
    #[inline]
    pub fn shared(&self, i: usize) -> Option<bytes::Bytes> {
        self.frozen.map(|b| b.slice(self.ranges[i].clone()))
    }

    /// The reference-counted buffer and the ranges of the arguments in it, when there is one: a
    /// big request crosses to another worker as this, without a copy.
    pub fn shared_parts(&self) -> Option<(&'a bytes::Bytes, &'a [Range<usize>])> {
        self.frozen.map(|b| (b, self.ranges))
    }

    /// Number of arguments, the command name included.
    #[inline]
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether there is no argument at all.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Argument `i` (0 is the command name). Panics if out of range: arity is checked before dispatch.
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.buf[self.ranges[i].clone()]
    }

    /// Iterates the arguments from index `from`.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.ranges[from.min(self.ranges.len())..]
            .iter()
            .map(|r| &self.buf[r.clone()])
    }

    /// The arguments from index `from` on, as a command of their own (COMMAND GETKEYS).
    pub fn skip(&self, from: usize) -> Args<'a> {
        Args {
            buf: self.buf,
            ranges: &self.ranges[from.min(self.ranges.len())..],
            frozen: self.frozen,
        }
    }

    /// The arguments at `indices`, as a command of their own (fan-out sub-commands). `ranges` is
    /// scratch space that the result borrows.
    pub fn pick<'b>(&self, indices: &[usize], ranges: &'b mut Vec<Range<usize>>) -> Args<'b>
    where
        'a: 'b,
    {
        ranges.clear();
        ranges.extend(indices.iter().map(|&i| self.ranges[i].clone()));
        Args {
            buf: self.buf,
            ranges,
            frozen: self.frozen,
        }
    }

    /// Argument `i` parsed as a Redis integer.
    pub fn int(&self, i: usize) -> Option<i64> {
        parse_i64(self.get(i))
    }

    /// Whether argument `i` equals `word`, ignoring ASCII case (option keywords).
    #[inline]
    pub fn is(&self, i: usize, word: &str) -> bool {
        self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }
}

/// Where a keyed handler runs: one shard's databases, the client's selected database, the cached time.
pub struct Ctx<'a> {
    /// The shard (or, for a command whose keys span workers, a temporary shard holding copies).
    pub ks: &'a mut Keyspace,
    /// Selected database index.
    pub db: usize,
    /// Current Unix time in milliseconds (cached once per loop iteration).
    pub now: u64,
    /// Where the reply goes.
    pub reply: Reply<'a>,
    /// This worker's index and the number of workers (SCAN cursors encode the worker).
    pub worker: usize,
    pub workers: usize,
    /// What a blocking command (BLPOP...) may do when it finds nothing, and what it did.
    pub block: Block<'a>,
    /// The server: the few keyed commands that also report on the whole of it (MEMORY STATS,
    /// MEMORY DOCTOR) read its published figures here.
    pub shared: &'a crate::shared::Shared,
}

/// What a blocking command may do when none of its keys has data, and what it did; every other
/// command ignores it. The worker decides (`worker/blocking.rs`): only a command called by a
/// client may wait; inside MULTI or a script it answers as a timeout at once, as in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block<'a> {
    /// Answer as a timeout (Redis's CLIENT_DENY_BLOCKING).
    Never,
    /// Nothing found: write no reply and become [`Block::Waits`].
    May,
    /// Serving a blocked client because this key got data: only this key is looked at, and a
    /// key that is missing or of another type leaves the client waiting.
    Serve(&'a [u8]),
    /// Nothing found: the client waits on its keys (with `source_only`, on the first key alone:
    /// BLMOVE's source, not its destination).
    Waits { source_only: bool },
}

impl Block<'_> {
    /// Whether `key` is one this call looks at.
    #[inline]
    pub fn looks_at(&self, key: &[u8]) -> bool {
        match self {
            Block::Serve(k) => *k == key,
            _ => true,
        }
    }

    /// Whether a key that cannot serve (missing, empty, or of another type while serving) ends
    /// the call as "wait": the caller then writes no reply.
    #[inline]
    pub fn serving(&self) -> bool {
        matches!(self, Block::Serve(_))
    }
}

impl Ctx<'_> {
    /// The selected database.
    #[inline]
    pub fn db(&mut self) -> &mut Db {
        &mut self.ks.dbs[self.db]
    }

    /// After the collection at `key` lost elements: raises `event` of `class`, then, when it is
    /// now `emptied`, deletes the key and raises `del`, as Redis's SREM, LPOP, HDEL, ZREM... do
    /// (Redis never keeps an empty collection). O(1).
    pub fn elements_removed(&mut self, class: u32, key: &[u8], event: &'static str, emptied: bool) {
        self.notify(class, event, key);
        if emptied {
            let now = self.now;
            self.db().remove(key, now);
            self.notify(crate::store::notify::GENERIC, "del", key);
        }
    }

    /// Raises keyspace event `event` of `class` (a [`crate::store::notify`] bit) on `key` of the
    /// selected database, as Redis's notifyKeyspaceEvent; published once the command ends. One
    /// test when the class is off.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        self.ks.note(self.db, class, event, key);
    }

    /// Replies the error `msg` (Redis's text) and ends the handler: the early return of a [`Handled`]
    /// handler that refuses its arguments (`return ctx.error(err::SYNTAX)`). O(len).
    pub fn error(&mut self, msg: &str) -> Handled {
        self.reply.error(msg);
        Ok(())
    }

    /// Ends a handler that returned `outcome`: a key of the wrong type is answered with Redis's
    /// WRONGTYPE error here, for every family ([`typed!`]). O(1).
    #[inline]
    pub fn finish(&mut self, outcome: Handled) {
        if let Err(WrongType) = outcome {
            self.reply.error(err::WRONGTYPE);
        }
    }
}

/// What a family handler that looks keys up by type returns: Ok once it has replied, or
/// Err([`WrongType`]) from a typed lookup (propagated with `?`, before anything was replied), which
/// [`Ctx::finish`] answers.
pub type Handled = Result<(), WrongType>;

/// The table handler ([`KeyedFn`]) of a family handler returning [`Handled`]: runs it, then
/// [`Ctx::finish`] answers its WRONGTYPE error. A closure, because the worker calls plain
/// `fn(&mut Ctx, &Args)` handlers.
macro_rules! typed {
    ($handler:path) => {
        |ctx, args| {
            let outcome = $handler(ctx, args);
            ctx.finish(outcome)
        }
    };
}
pub(crate) use typed;

/// A sub-command of a container command and its Redis arity (counting the container's name and the
/// sub-command's: `CONFIG GET pattern` is arity -3). Only the sub-commands Rustis implements are
/// declared, so an unimplemented one is refused as unknown before it runs, as in Redis (see
/// [`slots`]).
pub type Sub = (&'static str, i32);

/// A handler that needs the keys' shard.
pub type KeyedFn = fn(&mut Ctx, &Args);
/// A handler that needs only the connection and the server (PING, CLIENT, CONFIG...).
pub type ConnFn = fn(&mut ctx::ConnCtx, &Args);
/// A handler that needs every shard at once (SAVE, BGSAVE, SHUTDOWN): see [`Exec::Shards`].
pub type ShardsFn = fn(&mut ctx::ShardsCtx, &Args);

/// How the partial replies of a command run on several shards become one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Integers are added (DEL, EXISTS, DBSIZE).
    SumInts,
    /// `+OK` when every part is `+OK` (MSET, FLUSHALL).
    AllOk,
    /// Array bodies are concatenated in part order (MGET, KEYS).
    ConcatArrays,
    /// One of the non-null parts, picked at random (RANDOMKEY: every shard offers one of its keys,
    /// and each shard is as likely to be picked).
    RandomNonNull,
}

/// How a command is routed.
#[derive(Clone, Copy)]
pub enum Exec {
    /// Runs on the owner of its keys. Keys on several workers: copies are gathered, the handler runs on
    /// them at the connection's worker, and written keys are sent back to their owners.
    Keyed(KeyedFn),
    /// Runs on the connection's worker; touches no key.
    Conn(ConnFn),
    /// Keys on several workers: split into one sub-command per key group of `step` arguments, each run
    /// by its owner with this same handler, and the replies combined.
    Fanout(KeyedFn, Combine),
    /// Runs on every shard; replies combined.
    Broadcast(KeyedFn, Combine),
    /// EXEC: runs the connection's queued MULTI block as one atomic step over every shard it
    /// touches.
    Transaction,
    /// WATCH: registers the keys with the shards that own them, for the connection's next EXEC.
    Watch,
    /// EVAL and its variants: the script runs on the connection's worker, holding the shards of
    /// its keys as one atomic step (every shard when it reaches keys it did not declare).
    Script,
    /// Runs on the connection's worker holding every shard at once, as one atomic step (a
    /// snapshot's logical instant): persistence.
    Shards(ShardsFn),
    /// Runs on the shard its cursor names (SCAN); when that shard's page ends the shard before
    /// enough items were found, the call goes on into the next shard, and the pages are joined
    /// into one reply. The command alone knows its cursor's format: [`CursorSteps`].
    Cursor(KeyedFn, CursorSteps),
}

/// How a cursor command moves between shards. The worker only follows these answers.
#[derive(Clone, Copy)]
pub struct CursorSteps {
    /// The shard the cursor in these arguments names, among `workers` (None: a bad cursor, which
    /// the handler refuses wherever it runs).
    pub shard: fn(args: &Args, workers: usize) -> Option<usize>,
    /// Given the items gathered so far in this call and the cursor a shard's page returned: the
    /// cursor and shard to run next within the same call, or None to answer.
    pub more: fn(args: &Args, gathered: usize, next: u64, workers: usize) -> Option<NextPage>,
}

/// The cursor and shard of a cursor command's next page.
pub type NextPage = (u64, usize);

/// Where the keys of a command are.
#[derive(Clone, Copy)]
pub enum KeySpec {
    /// No keys.
    None,
    /// Redis's (first, last, step) triple; `last` negative counts from the end.
    Range(i32, i32, i32),
    /// Computed from the arguments (commands with a `numkeys` argument).
    Custom(fn(&Args, &mut Vec<usize>)),
}

/// Command flags (the names COMMAND reports).
pub mod flag {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const NO_AUTH: u32 = 1 << 9;
    pub const FAST: u32 = 1 << 10;
    pub const NO_MULTI: u32 = 1 << 11;
    pub const ALLOW_BUSY: u32 = 1 << 12;
    pub const SKIP_MONITOR: u32 = 1 << 13;
    pub const SKIP_SLOWLOG: u32 = 1 << 14;
    pub const ASKING: u32 = 1 << 15;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 16;
    pub const NO_ASYNC_LOADING: u32 = 1 << 17;
    /// Key positions depend on the arguments (a `numkeys`): Redis derives it from the key specs; the
    /// table states it, and a unit test of [`super::meta`] checks the two agree.
    pub const MOVABLEKEYS: u32 = 1 << 18;
    /// Not a Redis flag (COMMAND never shows it): runs at once inside MULTI instead of being
    /// queued (MULTI, EXEC, DISCARD, WATCH, QUIT, RESET, as Redis's processCommand lists them).
    pub const NOT_QUEUED: u32 = 1 << 24;
    /// Not a write, but propagated to replicas all the same (PUBLISH, EVAL...): Redis's
    /// may-replicate, which CLIENT PAUSE WRITE holds as it holds writes. Not shown by COMMAND.
    pub const MAY_REPLICATE: u32 = 1 << 25;
    /// Not a Redis flag (COMMAND never shows it): a container whose sub-commands write keys
    /// (XGROUP), so that watchers and blocked clients hear of its writes as of any write.
    pub const SUB_WRITES: u32 = 1 << 26;
    /// Names in the order Redis 7.0 prints them (its `module` flag aside: Rustis loads no module).
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLEKEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// One command's declaration: what the worker routes on. Its documentation, ACL categories, key specs
/// and subcommands are Redis's published data, in [`meta`].
pub struct Command {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: exact count if positive, minimum count if negative (name included).
    pub arity: i32,
    /// [`flag`] bits. A container command (CONFIG, OBJECT...) has none: as in Redis, flags belong to
    /// its subcommands.
    pub flags: u32,
    /// Key positions.
    pub keys: KeySpec,
    /// Routing and handler.
    pub exec: Exec,
    /// For a container command: the subcommands Rustis implements, with Redis's arities
    /// (dispatch checks them; statistics count each apart, see [`slots`]).
    pub subs: &'static [Sub],
    /// For a command whose key argument may name another database than the selected one (COPY
    /// ... DB n): that database, for the argument index given.
    pub key_db: Option<KeyDbFn>,
    /// For a blocking command (BLPOP...): where its timeout argument is.
    pub block_timeout: Option<blocking::TimeoutArg>,
    /// For a command that also reads keys named by its data (SORT ... BY weight_* GET obj_*):
    /// how to find them.
    pub found_keys: Option<FoundKeys>,
}

/// Keys a command reads beyond its declared ones, named by the values it reads (SORT's BY and GET
/// patterns). With several workers such a call holds every shard: the worker copies the declared
/// keys into a scratch keyspace, asks [`FoundKeys::keys`] which others the call will read, copies
/// those too (they are read, never written back), and runs the handler there.
#[derive(Clone, Copy)]
pub struct FoundKeys {
    /// Whether this call reads any such key (decided from its arguments alone).
    pub reaches: fn(args: &Args) -> bool,
    /// The keys it will read, given the keyspace holding its declared keys and the database.
    pub keys: fn(ks: &Keyspace, db: usize, args: &Args, now: u64, out: &mut Vec<Vec<u8>>),
}

/// The database a key argument lives in, when it is not the selected one (see [`Command::key_db`]).
pub type KeyDbFn = fn(args: &Args, index: usize) -> Option<usize>;

/// Shorthand used by the family files to declare a command.
pub const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, exec: Exec) -> Command {
    Command {
        name,
        arity,
        flags,
        keys,
        exec,
        subs: &[],
        key_db: None,
        block_timeout: None,
        found_keys: None,
    }
}

impl Command {
    /// The same declaration, as a container of these subcommands.
    pub const fn with_subs(mut self, subs: &'static [Sub]) -> Command {
        self.subs = subs;
        self
    }

    /// The same declaration, for a command that reads keys its data names ([`FoundKeys`]).
    pub const fn with_found_keys(mut self, f: FoundKeys) -> Command {
        self.found_keys = Some(f);
        self
    }

    /// Whether this call reads keys beyond its declared ones ([`FoundKeys`]). One load for
    /// every other command.
    #[inline]
    pub fn reaches_found_keys(&self, args: &Args) -> bool {
        self.found_keys.is_some_and(|f| (f.reaches)(args))
    }

    /// The same declaration, with key arguments that may live in another database.
    pub const fn with_key_db(mut self, f: KeyDbFn) -> Command {
        self.key_db = Some(f);
        self
    }

    /// The same declaration, as a blocking command whose timeout is where `timeout` says (the
    /// `blocking` flag of COMMAND INFO).
    pub const fn blocking(mut self, timeout: blocking::TimeoutArg) -> Command {
        self.flags |= flag::BLOCKING;
        self.block_timeout = Some(timeout);
        self
    }

    /// Whether the command may modify keys (coordinated execution writes its keys back).
    pub fn is_write(&self) -> bool {
        self.flags & (flag::WRITE | flag::SUB_WRITES) != 0
    }

    /// Appends the indices of the key arguments of `args` to `out`.
    pub fn key_indices(&self, args: &Args, out: &mut Vec<usize>) {
        match self.keys {
            KeySpec::None => {}
            KeySpec::Range(first, last, step) => {
                let n = args.len() as i32;
                let last = if last < 0 { n + last } else { last.min(n - 1) };
                let mut i = first;
                while i <= last && i < n {
                    out.push(i as usize);
                    i += step.max(1);
                }
            }
            KeySpec::Custom(f) => f(args, out),
        }
    }

    /// The arity error for this command.
    pub fn arity_error(&self) -> String {
        format!("ERR wrong number of arguments for '{}' command", self.name)
    }

    /// Whether `argc` arguments satisfy the arity.
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }
}

/// Key positions for `<cmd> numkeys key [key ...] ...` (numkeys at index 1).
pub fn keys_numkeys_at_1(args: &Args, out: &mut Vec<usize>) {
    keys_numkeys(args, 1, out)
}

/// Key positions for `<cmd> dest numkeys key [key ...] ...` (numkeys at index 2, dest key at index 1).
pub fn keys_dest_numkeys_at_2(args: &Args, out: &mut Vec<usize>) {
    if args.len() > 1 {
        out.push(1);
    }
    keys_numkeys(args, 2, out)
}

pub(crate) fn keys_numkeys(args: &Args, at: usize, out: &mut Vec<usize>) {
    if args.len() <= at {
        return;
    }
    if let Some(n) = args.int(at) {
        // n < len - at - 1 + 1, written so that a huge numkeys cannot overflow.
        if n > 0 && (n as u64) < (args.len() - at) as u64 {
            out.extend(at + 1..at + 1 + n as usize);
        }
    }
}

/// The command table: every command by lower-case name.
pub struct Table {
    pub commands: Vec<Command>,
    /// Open-addressed index of the commands by folded name ([`fold16`]) and length: a lookup folds
    /// the requested name once, hashes that integer, and compares one or two entries, cheaper
    /// than hashing the name's bytes for every request.
    index: Box<[IndexEntry]>,
}

/// One slot of [`Table::index`]; `cmd == u16::MAX` marks an empty slot.
#[derive(Clone, Copy)]
struct IndexEntry {
    folded: u128,
    len: u16,
    cmd: u16,
}

/// Bits of the index slot number: 2048 slots, at most a quarter full.
const INDEX_BITS: u32 = 11;

/// The index slot where probing for a name starts. O(1).
#[inline]
fn index_home(folded: u128, len: usize) -> usize {
    let mixed = (folded as u64) ^ ((folded >> 64) as u64).rotate_left(29) ^ len as u64;
    (mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - INDEX_BITS)) as usize
}

/// `name`'s bytes, ASCII upper case folded to lower case, as one integer: for names of up to 16
/// bytes two integers of equal-length names are equal exactly when the names are equal ignoring
/// case. O(1): two loads that together cover every byte (overlapping when the name is shorter than
/// both), then the bytes of `A..=Z` are folded sixteen at a time (SWAR), without a branch per
/// byte. Longer names fold their first and last eight bytes, and need a full comparison.
#[inline]
fn fold16(name: &[u8]) -> u128 {
    let n = name.len();
    match n {
        0 => 0,
        1..=3 => {
            fold8(name[0] as u64 | (name[n / 2] as u64) << 8 | (name[n - 1] as u64) << 16) as u128
        }
        4..=8 => {
            let first = u32::from_le_bytes([name[0], name[1], name[2], name[3]]);
            let last = u32::from_le_bytes([name[n - 4], name[n - 3], name[n - 2], name[n - 1]]);
            fold8(first as u64 | (last as u64) << 32) as u128
        }
        _ => {
            let mut first = [0u8; 8];
            let mut last = [0u8; 8];
            first.copy_from_slice(&name[..8]);
            last.copy_from_slice(&name[n - 8..]);
            fold8(u64::from_le_bytes(first)) as u128
                | (fold8(u64::from_le_bytes(last)) as u128) << 64
        }
    }
}

/// The eight bytes of `x` with ASCII upper case folded to lower case, all at once (SWAR).
#[inline]
fn fold8(x: u64) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    let low7 = x & (ONES * 0x7f);
    // High bit of each byte: its low seven bits are >= 'A', and > 'Z' (no carry crosses a byte).
    let ge_a = low7 + ONES * (0x80 - b'A' as u64);
    let gt_z = low7 + ONES * (0x80 - b'Z' as u64 - 1);
    let upper = ge_a & !gt_z & !x & (ONES * 0x80);
    x | (upper >> 2)
}

impl Table {
    fn build() -> Self {
        let mut commands = Vec::new();
        commands.extend(string::commands());
        commands.extend(keyspace::commands());
        commands.extend(list::commands());
        commands.extend(set::commands());
        commands.extend(hash::commands());
        commands.extend(zset::commands());
        commands.extend(server::commands());
        commands.extend(latency::commands());
        commands.extend(slowlog::commands());
        commands.extend(multi::commands());
        commands.extend(scripting::commands());
        commands.extend(pubsub::commands());
        commands.extend(memory::commands());
        commands.extend(sort::commands());
        commands.extend(geo::commands());
        commands.extend(bitmap::commands());
        commands.extend(hll::commands());
        commands.extend(dump::commands());
        commands.extend(acl::commands());
        commands.extend(stream::commands());
        commands.extend(persist::commands());
        let empty = IndexEntry {
            folded: 0,
            len: 0,
            cmd: u16::MAX,
        };
        let mask = (1usize << INDEX_BITS) - 1;
        assert!(commands.len() * 4 <= mask + 1, "command index too small");
        let mut index = vec![empty; mask + 1].into_boxed_slice();
        for (i, c) in commands.iter().enumerate() {
            let name = c.name.as_bytes();
            let folded = fold16(name);
            let mut at = index_home(folded, name.len());
            while index[at].cmd != u16::MAX {
                at = (at + 1) & mask;
            }
            index[at] = IndexEntry {
                folded,
                len: name.len() as u16,
                cmd: i as u16,
            };
        }
        Table { commands, index }
    }

    /// Looks a command up by name, any case. O(1) for names of up to 16 bytes, O(name length)
    /// beyond.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<(usize, &Command)> {
        let folded = fold16(name);
        let mask = self.index.len() - 1;
        let mut at = index_home(folded, name.len());
        loop {
            let e = self.index[at];
            if e.cmd == u16::MAX {
                return None;
            }
            if e.folded == folded && e.len as usize == name.len() {
                let i = e.cmd as usize;
                let c = &self.commands[i];
                if name.len() <= 16 || c.name.as_bytes().eq_ignore_ascii_case(name) {
                    return Some((i, c));
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// The command at index `i` (forwarded requests carry the index, not the name).
    #[inline]
    pub fn get(&self, i: usize) -> &Command {
        &self.commands[i]
    }
}

/// The process-wide command table.
pub static TABLE: LazyLock<Table> = LazyLock::new(Table::build);

/// Replies the standard error for a non-integer argument and returns None, or returns the integer.
pub fn int_arg(ctx: &mut Reply, args: &Args, i: usize) -> Option<i64> {
    let v = args.int(i);
    if v.is_none() {
        ctx.error(err::NOT_INT);
    }
    v
}

/// The options of SCAN, SSCAN, HSCAN: `cursor [MATCH pattern] [COUNT count] [TYPE type]`.
pub struct ScanOptions<'a> {
    pub cursor: u64,
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    /// Lower-cased TYPE filter (SCAN only).
    pub typ: Option<Vec<u8>>,
}

impl ScanOptions<'_> {
    /// Whether `name` matches the MATCH pattern (or there is none).
    pub fn matches(&self, name: &[u8]) -> bool {
        self.pattern
            .is_none_or(|p| crate::glob::glob_match(p, name, false))
    }
}

/// Parses the cursor at `at` and the options after it, replying Redis's error and returning None when
/// they are invalid. TYPE is accepted only when `allow_type`.
pub fn parse_scan<'a>(
    r: &mut Reply,
    a: &Args<'a>,
    at: usize,
    allow_type: bool,
) -> Option<ScanOptions<'a>> {
    let Some(cursor) = parse_cursor(a.get(at)) else {
        r.error("ERR invalid cursor");
        return None;
    };
    parse_scan_options(r, a, cursor, at + 1, allow_type)
}

/// Parses the MATCH/COUNT/TYPE options from argument `from` on (SSCAN and HSCAN parse them after the key
/// lookup, as Redis does, so a missing key answers an empty scan whatever the options).
pub fn parse_scan_options<'a>(
    r: &mut Reply,
    a: &Args<'a>,
    cursor: u64,
    from: usize,
    allow_type: bool,
) -> Option<ScanOptions<'a>> {
    let mut o = ScanOptions {
        cursor,
        pattern: None,
        count: 10,
        typ: None,
    };
    let mut i = from;
    while i < a.len() {
        if i + 1 >= a.len() {
            r.error(err::SYNTAX);
            return None;
        }
        if a.is(i, "match") {
            let p = a.get(i + 1);
            // "*" matches everything: skip matching, as Redis does.
            o.pattern = (p != b"*").then_some(p);
        } else if a.is(i, "count") {
            match a.int(i + 1) {
                Some(c) if c >= 1 => o.count = usize::try_from(c).unwrap_or(usize::MAX),
                Some(_) => {
                    r.error(err::SYNTAX);
                    return None;
                }
                None => {
                    r.error(err::NOT_INT);
                    return None;
                }
            }
        } else if allow_type && a.is(i, "type") {
            o.typ = Some(a.get(i + 1).to_ascii_lowercase());
        } else {
            r.error(err::SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(o)
}

/// One SSCAN/HSCAN step over an indexed collection of `len` elements, from the highest index down:
/// a swap-remove during the scan moves the last element into a visited position, never an unvisited
/// one into a visited position, so no element present throughout is missed. Cursor 0 starts at the top;
/// the returned cursor is the next index + 1, 0 when done. O(count).
pub fn scan_down(len: usize, cursor: u64, count: usize, mut visit: impl FnMut(usize)) -> u64 {
    // Cursors are positions, at most the size of a collection (< 2^32 elements): a larger one was
    // never issued, and ends the scan with an empty page rather than starting it over.
    if cursor > u32::MAX as u64 {
        return 0;
    }
    let mut pos = if cursor == 0 {
        len
    } else {
        (cursor as usize).min(len)
    };
    let mut visited = 0;
    while pos > 0 && visited < count {
        pos -= 1;
        visited += 1;
        visit(pos);
    }
    pos as u64
}

/// A small random generator (wyrand) seeded once from the shard's: a handler holding a collection
/// borrows the keyspace, so it cannot call `Keyspace::random` for every pick.
pub struct Rng(pub u64);

impl Rng {
    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = (self.0 as u128).wrapping_mul((self.0 ^ 0xe703_7ed1_a0b4_28db) as u128);
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// A uniform index below `n` (0 when `n` is 0), by multiply-shift.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// `n` distinct random indices below `len` (n <= len): a partial Fisher-Yates shuffle that only
/// remembers the swapped positions. O(n) time and space.
pub fn distinct_indices(len: usize, n: usize, mut random: impl FnMut() -> u64) -> Vec<usize> {
    let mut swapped: ahash::HashMap<usize, usize> = Default::default();
    let mut out = Vec::with_capacity(n);
    for k in 0..n.min(len) {
        let j = k + (random() as usize) % (len - k);
        let vj = *swapped.get(&j).unwrap_or(&j);
        let vk = *swapped.get(&k).unwrap_or(&k);
        swapped.insert(j, vk);
        out.push(vj);
    }
    out
}

/// Parses a SCAN cursor as Redis does, with C's `strtoul`: optional sign (a negative value wraps), an
/// empty string is 0, no leading space, no trailing bytes, no overflow; the text ends at a NUL byte.
pub fn parse_cursor(b: &[u8]) -> Option<u64> {
    // C reads the string up to its first NUL byte.
    let b = b.iter().position(|&c| c == 0).map_or(b, |p| &b[..p]);
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        Some(c) if c.is_ascii_whitespace() => return None,
        _ => (false, b),
    };
    if digits.is_empty() {
        // strtoul parsed nothing: the whole string must be empty for Redis to accept it.
        return if b.is_empty() { Some(0) } else { None };
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_ascii_lower_case_for_every_byte() {
        for len in 1..=16 {
            for b in 0..=255u8 {
                for pos in 0..len {
                    let mut name = vec![b'x'; len];
                    name[pos] = b;
                    let lower = name.to_ascii_lowercase();
                    assert_eq!(fold16(&name), fold16(&lower), "byte {b} at {pos} of {len}");
                    // Equal folds mean equal names: a byte that differs beyond case is seen.
                    let mut other = lower.clone();
                    other[pos] ^= 0x01;
                    assert_ne!(fold16(&other), fold16(&lower), "byte {b} at {pos} of {len}");
                }
            }
        }
    }

    #[test]
    fn lookup_ignores_case_and_only_case() {
        for (i, c) in TABLE.commands.iter().enumerate() {
            let upper = c.name.to_ascii_uppercase();
            assert_eq!(
                TABLE.lookup(upper.as_bytes()).map(|x| x.0),
                Some(i),
                "{upper}"
            );
            let mut wrong = upper.into_bytes();
            let last = wrong.len() - 1;
            wrong[last] ^= 0x80;
            assert!(TABLE.lookup(&wrong).is_none());
            wrong[last] ^= 0x80 | 0x20 ^ 0x01;
            if !TABLE
                .commands
                .iter()
                .any(|d| d.name.as_bytes().eq_ignore_ascii_case(&wrong))
            {
                assert!(
                    TABLE.lookup(&wrong).is_none(),
                    "{:?}",
                    String::from_utf8_lossy(&wrong)
                );
            }
        }
        assert!(TABLE.lookup(b"").is_none());
        assert!(TABLE.lookup(&[b'g'; 40]).is_none());
    }

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b" 5"), None);
        assert_eq!(parse_cursor(b"5x"), None);
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b"12\0junk"), Some(12));
        assert_eq!(parse_cursor(b"-"), None);
    }

    #[test]
    fn the_store_shares_exactly_what_replies_reference() {
        // Strings the store keeps reference-counted are the ones the encoder writes by reference:
        // a smaller store threshold would share values that are then copied anyway, a larger one
        // would copy values the encoder could have referenced.
        assert_eq!(
            crate::store::value::SHARED_MIN,
            crate::resp::reply::ZERO_COPY_MIN
        );
    }

    #[test]
    fn huge_numkeys_do_not_overflow() {
        let buf = b"lmpop9223372036854775807aLEFT";
        let ranges = [0..5, 5..24, 24..25, 25..29];
        let mut out = Vec::new();
        keys_numkeys_at_1(&Args::new(buf, &ranges), &mut out);
        assert!(out.is_empty());
        keys_dest_numkeys_at_2(&Args::new(buf, &ranges), &mut out);
        assert_eq!(out, vec![1]);
    }
}
