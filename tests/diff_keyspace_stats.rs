//! INFO's keyspace_hits and keyspace_misses against redis-server 7.0.15, after every command of a
//! sequence that reads, writes, misses and type-mismatches keys of every family, on both workers.
//!
//! Redis counts in `lookupKeyRead`: once for every key a command looks up in order to read it (a hit
//! when the key exists, whatever its type, so a WRONGTYPE reply is a hit; a miss otherwise), and not
//! at all for the lookups of commands that write (`lookupKeyWrite`). The sequence covers both kinds in
//! every family, errors raised before and after the lookup, the multi-key reads (MGET, EXISTS, TOUCH,
//! SINTER, LCS), SCAN's TYPE filter and expired keys.
//!
//! Each Rustis worker publishes its counters once per loop iteration, so the worker that did not
//! answer INFO may lag its own replies by an iteration: Rustis's counters are read until they equal
//! Redis's, for at most 2 s. Counters only grow, so a late extra count still fails a later step.

mod common;

use std::time::{Duration, Instant};

use common::{owner, Conn, Diff};

/// A hash tag, `{tN}`, whose keys all belong to worker `w`.
fn tag_on(w: usize) -> String {
    (0..)
        .map(|n| format!("t{n}"))
        .find(|t| owner(t, 2) == w)
        .map(|t| format!("{{{t}}}"))
        .expect("a tag on every worker")
}

/// keyspace_hits and keyspace_misses, as `INFO stats` reports them.
fn counters(c: &mut Conn) -> (u64, u64) {
    let info = String::from_utf8_lossy(&c.call(&["INFO", "stats"])).into_owned();
    let field = |name: &str| -> u64 {
        info.split("\r\n")
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("INFO stats lacks {name}: {info}"))
    };
    (field("keyspace_hits:"), field("keyspace_misses:"))
}

/// Rustis's counters once they equal `want`, or as they are after 2 s.
fn settled(c: &mut Conn, want: (u64, u64)) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let got = counters(c);
        if got == want || Instant::now() >= deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `script` on both servers, one command a line, and compares the counters after each.
/// `@name` stands for the key `{tag}name`; a line starting with `~` is sent to both without comparing
/// the replies (random picks, SCAN pages, idle times); `sleep` waits 20 ms (for keys set with PX 1 to
/// have expired). The replies of the other lines must be identical too.
fn run(d: &mut Diff, tag: &str, script: &str) {
    for line in script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if line == "sleep" {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let (compare, line) = match line.strip_prefix('~') {
            Some(rest) => (false, rest.trim()),
            None => (true, line),
        };
        let words: Vec<String> = line
            .split_whitespace()
            .map(|w| match w.strip_prefix('@') {
                Some(name) => format!("{tag}{name}"),
                None => w.to_string(),
            })
            .collect();
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        if compare {
            d.check(&args);
        } else {
            d.both(&args);
        }
        let want = counters(&mut d.a);
        let got = settled(&mut d.b, want);
        assert_eq!(
            got, want,
            "(keyspace_hits, keyspace_misses) after {args:?} (left: rustis, right: redis)"
        );
    }
}

const STRINGS: &str = "
    SET @s v
    SET @n 5
    RPUSH @l a b c
    GET @s
    GET @nope
    GET @l
    SET @s x
    SET @s x NX
    SET @s y XX
    SET @s z GET
    SET @q x GET
    SET @l x GET
    SET @s x EX abc
    SETNX @s v
    SETEX @x 100 v
    GETSET @s w
    GETSET @g w
    GETDEL @q
    GETDEL @q
    GETEX @s
    GETEX @nope
    GETEX @s PERSIST
    GETEX @s EX abc
    GETEX @s FOO
    GETEX @l
    MGET @s @nope @l @n
    MSET @a 1 @b 2
    MSETNX @a 1 @c 2
    INCR @n
    INCR @i
    INCR @l
    INCRBY @n 2
    DECRBY @n 1
    INCRBYFLOAT @n 1.5
    INCRBYFLOAT @f 1
    INCRBYFLOAT @l 1
    APPEND @s x
    APPEND @ap x
    STRLEN @s
    STRLEN @nope
    STRLEN @l
    GETRANGE @s 0 1
    GETRANGE @nope 0 1
    GETRANGE @s a b
    SUBSTR @s 0 1
    SETRANGE @s 1 x
    SETRANGE @sr 1 x
    LCS @s @n
    LCS @s @nope
    LCS @l @s
    LCS @nope @s
";

const KEYS: &str = "
    TYPE @s
    TYPE @nope
    EXISTS @s @nope @s @l
    TOUCH @s @nope @l
    TTL @s
    PTTL @nope
    EXPIRETIME @s
    PEXPIRETIME @nope
    EXPIRE @s 100
    EXPIRE @nope 100
    ~TTL @s
    PERSIST @s
    PERSIST @nope
    OBJECT ENCODING @s
    OBJECT ENCODING @nope
    ~OBJECT REFCOUNT @s
    ~OBJECT IDLETIME @s
    OBJECT FREQ @s
    OBJECT HELP
    RENAME @a @a2
    RENAME @nope @x2
    RENAMENX @a2 @b
    RENAMENX @a2 @a3
    COPY @b @b2
    COPY @nope @b3
    COPY @b @b2
    COPY @b @b2 REPLACE
    MOVE @b2 1
    MOVE @nope 1
    SELECT 1
    GET @b2
    SELECT 0
    DEL @a3 @b @nope
    UNLINK @c
    ~RANDOMKEY
    ~KEYS *
    DBSIZE
";

const LISTS: &str = "
    LPUSH @l x
    LPUSH @s x
    LPUSHX @nope x
    RPUSHX @l w
    LPOP @l
    LPOP @nope
    RPOP @l 1
    LRANGE @l 0 -1
    LRANGE @nope 0 -1
    LRANGE @s 0 -1
    LRANGE @l a b
    LLEN @l
    LLEN @nope
    LINDEX @l 0
    LINDEX @nope 0
    LINDEX @l x
    LSET @l 0 y
    LSET @nope 0 y
    LREM @l 0 a
    LREM @nope 0 a
    LINSERT @l BEFORE y z
    LINSERT @nope BEFORE y z
    LPOS @l z
    LPOS @nope z
    LPOS @s z
    LPOS @l z RANK 0
    LMOVE @l @l2 LEFT RIGHT
    LMOVE @nope @l2 LEFT RIGHT
    LMOVE @l @s LEFT RIGHT
    RPOPLPUSH @l2 @l
    LMPOP 2 @nope @l LEFT
    LMPOP 2 @nope @nope2 LEFT
    LMPOP 2 @s @l LEFT
    LTRIM @l 0 0
    LTRIM @nope 0 0
";

const SETS: &str = "
    SADD @st 1 2 3
    SADD @st2 2 3 4
    SADD @s 1
    SREM @st 9
    SREM @nope 9
    SMEMBERS @st
    SMEMBERS @nope
    SMEMBERS @s
    SCARD @st
    SCARD @nope
    SISMEMBER @st 1
    SISMEMBER @nope 1
    SMISMEMBER @st 1 5
    SMOVE @st @st2 1
    SMOVE @nope @st2 1
    SMOVE @st @s 2
    SINTER @st @st2
    SINTER @st @nope @st2
    SINTER @nope @st
    SINTER @st @s @st2
    SINTER @s @nope @st
    SUNION @st @nope @st2
    SUNION @st @s @st2
    SDIFF @st @nope @st2
    SDIFF @nope @st
    SINTERSTORE @d @st @st2
    SUNIONSTORE @d @st @nope
    SDIFFSTORE @d @st @st2
    SDIFFSTORE @d @st @s
    SINTERCARD 2 @st @st2
    SINTERCARD 3 @st @nope @st2
    SINTERCARD 2 @st @st2 LIMIT x
    SSCAN @st 0
    SSCAN @nope 0
    SSCAN @st x
    SSCAN @st 0 COUNT 0
    SRANDMEMBER @nope
    ~SRANDMEMBER @st
    ~SRANDMEMBER @st 2
    SRANDMEMBER @st x
    SRANDMEMBER @s 1
    ~SPOP @st2
    SPOP @nope
    SPOP @s
";

const HASHES: &str = "
    HSET @h f v g 1
    HSET @s f 1
    HSETNX @h f 1
    HMSET @h k 2
    HGET @h f
    HGET @h nof
    HGET @nope f
    HGET @s f
    HMGET @h f g x
    HMGET @nope f
    HGETALL @h
    HGETALL @nope
    HDEL @h k
    HDEL @nope f
    HLEN @h
    HLEN @nope
    HEXISTS @h f
    HEXISTS @nope f
    HKEYS @h
    HVALS @nope
    HINCRBY @h g 1
    HINCRBY @nope g 1
    HINCRBY @h g x
    HINCRBYFLOAT @h g 1.5
    HINCRBYFLOAT @hf g 1.5
    HINCRBYFLOAT @s g 1.5
    HINCRBYFLOAT @h f 1.5
    HSTRLEN @h f
    HSTRLEN @nope f
    ~HRANDFIELD @h
    HRANDFIELD @nope
    ~HRANDFIELD @h 2 WITHVALUES
    HRANDFIELD @h x
    HSCAN @h 0
    HSCAN @nope 0
    HSCAN @h x
";

const ZSETS: &str = "
    ZADD @z 1 a 2 b
    ZADD @z 3 c
    ZADD @z XX 4 c
    ZADD @nope XX 1 a
    ZADD @s 1 a
    ZADD @z x c
    ZINCRBY @z 1 a
    ZREM @z c
    ZREM @nope c
    ZSCORE @z a
    ZSCORE @nope a
    ZSCORE @s a
    ZMSCORE @z a b
    ZMSCORE @nope a
    ZCARD @z
    ZCARD @nope
    ZRANK @z a
    ZRANK @nope a
    ZREVRANK @z a
    ZCOUNT @z 0 5
    ZCOUNT @nope 0 5
    ZCOUNT @z x 5
    ZLEXCOUNT @z - +
    ZLEXCOUNT @nope - +
    ZRANGE @z 0 -1
    ZRANGE @z 0 -1 WITHSCORES
    ZRANGE @nope 0 -1
    ZRANGE @s 0 -1
    ZRANGE @z x y
    ZRANGE @z 0 -1 LIMIT 0 1
    ZRANGE @z 0 5 BYSCORE LIMIT 10 1
    ZRANGEBYSCORE @z 0 5
    ZRANGEBYSCORE @nope 0 5
    ZREVRANGEBYSCORE @z 5 0
    ZREVRANGE @z 0 -1
    ZRANGEBYLEX @z - +
    ZREVRANGEBYLEX @nope + -
    ZPOPMIN @z
    ZPOPMAX @nope
    ZPOPMAX @z 2
    ZADD @z 1 a 2 b 3 c
    ZREMRANGEBYSCORE @z 0 1
    ZREMRANGEBYRANK @z 0 0
    ZREMRANGEBYLEX @nope - +
";

const SCANS: &str = "
    ~SCAN 0 COUNT 1000
    ~SCAN 0 TYPE string COUNT 1000
    ~SCAN 0 MATCH *s* TYPE set COUNT 1000
    ~SCAN 0 MATCH nothing* TYPE hash COUNT 1000
";

const EXPIRED: &str = "
    SET @e v PX 1
    SET @e2 v PX 1
    HSET @e3 f v
    PEXPIRE @e3 1
    sleep
    GET @e
    TTL @e2
    HGET @e3 f
";

#[test]
fn hits_and_misses_match_redis_on_both_workers() {
    let mut d = Diff::new();
    let tags = [tag_on(0), tag_on(1)];
    for tag in &tags {
        for script in [STRINGS, KEYS, LISTS, SETS, HASHES, ZSETS] {
            run(&mut d, tag, script);
        }
    }
    // Keys of both workers: every key a SCAN with TYPE visits is a read lookup on its own shard.
    run(&mut d, "", SCANS);
    for tag in &tags {
        run(&mut d, tag, EXPIRED);
    }
    // Commands split into one part per key, each run by the key's owner.
    let (a, b) = (&tags[0], &tags[1]);
    let fanout = format!(
        "
        MGET {a}s {b}s {a}nope {b}nope {a}l
        EXISTS {a}s {b}s {a}nope {b}nope
        TOUCH {a}s {b}nope
        DEL {a}s {b}s {a}nope
        MGET {a}s {b}s
        "
    );
    run(&mut d, "", &fanout);
    // Nothing is counted late.
    std::thread::sleep(Duration::from_millis(50));
    let want = counters(&mut d.a);
    assert_eq!(counters(&mut d.b), want, "counters at the end");
}

/// Multi-key reads whose keys live on different workers run coordinated: the handler runs on copies
/// of the keys in a temporary shard at the connection's worker, whose counters are added to the
/// worker's own.
#[test]
fn coordinated_reads_count_too() {
    let mut d = Diff::new();
    let (a, b) = (tag_on(0), tag_on(1));
    let script = format!(
        "
        SET {a}s abc
        SET {b}s abd
        SADD {a}st 1 2
        SADD {b}st 2 3
        LCS {a}s {b}s
        LCS {a}s {b}nope
        SINTER {a}st {b}st
        SUNION {a}st {b}nope
        SDIFFSTORE {a}d {a}st {b}st
        SINTERCARD 2 {a}st {b}st
        COPY {a}s {b}copy
        COPY {a}nope {b}copy
        "
    );
    run(&mut d, "", &script);
}
