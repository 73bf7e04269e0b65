//! Differential tests of connection and server commands against a real redis-server. Replies that
//! differ by nature (client ids, ports, time, Redis's random dictionary order) are compared loosely.

mod common;
use common::{Conn, Diff};

/// Replaces the value after `id` in a HELLO reply (the client ids of the two servers differ).
fn without_id(reply: &[u8]) -> String {
    let s = String::from_utf8_lossy(reply).into_owned();
    let mut lines: Vec<&str> = s.split("\r\n").collect();
    if let Some(i) = lines.iter().position(|l| *l == "id") {
        lines[i + 1] = ":<id>";
    }
    lines.join("\r\n")
}

/// Sends HELLO `args` to both and compares the replies, client id aside.
fn hello(d: &mut Diff, args: &[&str]) -> String {
    let ra = without_id(&d.a.call(args));
    let rb = without_id(&d.b.call(args));
    assert_eq!(
        rb, ra,
        "reply differs for {args:?} (left: rustis, right: redis)"
    );
    ra
}

/// A map (or flat array of pairs) reply as sorted (key, value) pairs: CONFIG GET with a pattern lists
/// parameters in Redis's dictionary order, which is random per process.
fn pairs(reply: &[u8]) -> (String, Vec<(String, String)>) {
    let s = String::from_utf8_lossy(reply).into_owned();
    let lines: Vec<&str> = s.split("\r\n").collect();
    let mut items = Vec::new();
    let mut i = 1;
    while i + 3 < lines.len() {
        items.push((lines[i + 1].to_string(), lines[i + 3].to_string()));
        i += 4;
    }
    items.sort();
    let n = items.len();
    let header = if lines[0].starts_with('%') {
        format!("%{n}")
    } else {
        format!("*{}", 2 * n)
    };
    assert_eq!(lines[0], header, "pair reply {s:?}");
    (header, items)
}

fn check_pairs(d: &mut Diff, args: &[&str]) {
    let ra = pairs(&d.a.call(args));
    let rb = pairs(&d.b.call(args));
    assert_eq!(
        rb, ra,
        "reply differs for {args:?} (left: rustis, right: redis)"
    );
}

const CONNECTION: &str = "
    PING
    PING hello
    PING a b
    ping
    ECHO hi
    ECHO
    ECHO a b
    SELECT 1
    SELECT 15
    SELECT 16
    SELECT -1
    SELECT x
    SELECT 1.0
    SELECT 9999999999999999999999
    SELECT
    SELECT 0 1
    SET k v
    SELECT 0
    GET k
    SELECT 1
    GET k
    DEL k
    SELECT 0
    CLIENT GETNAME
    CLIENT SETNAME myname
    CLIENT GETNAME
    CLIENT SETNAME with space
    CLIENT SETNAME
    CLIENT GETNAME extra
    CLIENT ID x
    CLIENT INFO x
    CLIENT FOO
    CLIENT nosuch a b
    CLIENT
    CLIENT LIST TYPE foo
    CLIENT LIST foo
    CLIENT LIST ID abc
    CLIENT LIST ID 99999 abc
    CLIENT LIST ID 0
    CLIENT LIST ID -1
    CLIENT LIST ID 99999 0
    CLIENT LIST ID
    CLIENT LIST TYPE
    CLIENT LIST TYPE master
    CLIENT LIST TYPE replica
    CLIENT LIST TYPE pubsub
    CLIENT LIST TYPE pubsub ID 5
    CLIENT LIST ID 99999 TYPE normal
    NOSUCHCOMMAND a b
    nosuchcommand
    GET
    SET k
    get a b
    DBSIZE
    DBSIZE x
    FUNCTION FLUSH
    FUNCTION FLUSH ASYNC
    FUNCTION FLUSH x
    FUNCTION foo
    FUNCTION LIST
    TIME x
    RESET x
";

#[test]
fn connection_commands() {
    let mut d = Diff::new();
    d.script(CONNECTION);
    d.check(&["CLIENT", "SETNAME", ""]);
    d.check(&["CLIENT", "GETNAME"]);
    d.check(&["CLIENT", "SETNAME", "a\nb"]);
    d.check(&["ECHO", ""]);
    d.check(&["ECHO", "bin\0ary\r\n"]);
    d.check(&["PING", ""]);
    d.both(&["CLIENT", "SETNAME", "x"]);
    d.both(&["SELECT", "3"]);
    d.check(&["RESET"]);
    d.check(&["CLIENT", "GETNAME"]);
    d.check(&["GET", "k"]);
}

#[test]
fn connection_commands_resp3() {
    let mut d = Diff::new();
    hello(&mut d, &["HELLO", "3"]);
    d.script(CONNECTION);
    // RESET goes back to RESP2, database 0, no name.
    d.both(&["CLIENT", "SETNAME", "x"]);
    d.both(&["SELECT", "3"]);
    d.check(&["SET", "in3", "v"]);
    d.check(&["RESET"]);
    d.check(&["CLIENT", "GETNAME"]);
    d.check(&["GET", "in3"]);
    d.check(&["GET", "nosuch"]);
}

#[test]
fn hello_negotiation_and_errors() {
    let mut d = Diff::new();
    hello(&mut d, &["HELLO"]);
    for args in [
        &["HELLO", "1"][..],
        &["HELLO", "0"],
        &["HELLO", "-1"],
        &["HELLO", "4"],
        &["HELLO", "x"],
        &["HELLO", "2.0"],
        &["HELLO", "3", "FOO"],
        &["HELLO", "x", "FOO"],
        &["HELLO", "5", "FOO"],
        &["HELLO", "3", "SETNAME"],
        &["HELLO", "3", "AUTH"],
        &["HELLO", "3", "AUTH", "default"],
        &["HELLO", "2", "AUTH", "wronguser", "pass"],
        &["HELLO", "2", "setname"],
    ] {
        d.check(args);
    }
    // Still RESP2 after every failed HELLO.
    d.check(&["GET", "nosuch"]);
    hello(&mut d, &["HELLO", "3"]);
    d.check(&["GET", "nosuch"]);
    hello(&mut d, &["HELLO"]);
    hello(&mut d, &["HELLO", "3", "AUTH", "default", "anypass"]);
    hello(&mut d, &["HELLO", "2"]);
    d.check(&["GET", "nosuch"]);
    hello(&mut d, &["HELLO", "3", "SETNAME", "named"]);
    d.check(&["CLIENT", "GETNAME"]);
    hello(
        &mut d,
        &["HELLO", "2", "setname", "n2", "auth", "default", "x"],
    );
    d.check(&["CLIENT", "GETNAME"]);
    // Redis 7.0 applies SETNAME as soon as it is parsed: a later error leaves the name set.
    d.check(&["HELLO", "3", "SETNAME", "a", "b"]);
    d.check(&["CLIENT", "GETNAME"]);
    d.check(&["HELLO", "3", "SETNAME", "x", "AUTH", "a", "b"]);
    d.check(&["CLIENT", "GETNAME"]);
    d.check(&["HELLO", "2", "SETNAME", "y", "FOO"]);
    d.check(&["CLIENT", "GETNAME"]);
    d.check(&["HELLO", "2", "SETNAME", "a b", "SETNAME", "z"]);
    d.check(&["CLIENT", "GETNAME"]);
    d.check(&["HELLO", "4", "SETNAME", "q"]);
    d.check(&["CLIENT", "GETNAME"]);
    d.check(&["HELLO", "3", "AUTH", "a", "b", "SETNAME", "w"]);
    d.check(&["CLIENT", "GETNAME"]);
    // The failed HELLO 3 calls above did not switch protocol.
    d.check(&["GET", "nosuch"]);
}

#[test]
fn client_id_and_list() {
    let d = Diff::new();
    for port in [d.redis.port, d.rustis.port] {
        let mut c = Conn::new(port);
        let id = String::from_utf8(c.call(&["CLIENT", "ID"])).unwrap();
        assert!(id.starts_with(':'), "{id}");
        let id = id.trim()[1..].parse::<i64>().unwrap();
        assert!(id > 0);
        let mine = String::from_utf8(c.call(&["CLIENT", "LIST", "ID", &id.to_string()])).unwrap();
        assert!(mine.contains(&format!("id={id} ")), "{mine}");
        assert_eq!(mine.matches("id=").count(), 1, "{mine}");
        // IDs are listed in the order given, repeated ones too.
        let twice = String::from_utf8(c.call(&[
            "CLIENT",
            "LIST",
            "ID",
            &id.to_string(),
            "999999",
            &id.to_string(),
        ]))
        .unwrap();
        assert_eq!(twice.matches(&format!("id={id} ")).count(), 2, "{twice}");
        let info = String::from_utf8(c.call(&["CLIENT", "INFO"])).unwrap();
        assert!(
            info.contains(&format!("id={id} ")) && info.contains("db=0"),
            "{info}"
        );
        c.call(&["CLIENT", "SETNAME", "me"]);
        c.call(&["SELECT", "4"]);
        let info = String::from_utf8(c.call(&["CLIENT", "INFO"])).unwrap();
        assert!(info.contains("name=me ") && info.contains("db=4"), "{info}");
        let all = String::from_utf8(c.call(&["CLIENT", "LIST"])).unwrap();
        assert!(
            all.contains("name=me ") && all.contains("addr=127.0.0.1:"),
            "{all}"
        );
        let normal = String::from_utf8(c.call(&["CLIENT", "LIST", "TYPE", "normal"])).unwrap();
        assert!(normal.contains("name=me "), "{normal}");
    }
}

#[test]
fn config_get_set() {
    let mut d = Diff::new();
    d.script(
        "
        CONFIG GET maxmemory
        CONFIG GET maxmemory-policy
        CONFIG GET hash-max-listpack-entries
        CONFIG GET hash-max-ziplist-entries
        CONFIG GET timeout
        CONFIG GET databases
        CONFIG GET proto-max-bulk-len
        CONFIG GET hz
        CONFIG GET maxclients
        CONFIG GET set-max-intset-entries
        CONFIG GET zset-max-listpack-entries
        CONFIG GET zset-max-ziplist-entries
        CONFIG GET nosuch
        CONFIG GET maxmemory maxmemory
        CONFIG GET maxmemory MAXMEMORY
        CONFIG GET MAXMEMORY
        CONFIG GET MaxMemory-Policy
        CONFIG GET
        CONFIG SET maxmemory-policy allkeys-lru
        CONFIG GET maxmemory-policy
        CONFIG SET maxmemory-policy ALLKEYS-LFU
        CONFIG GET maxmemory-policy
        CONFIG SET maxmemory-policy nonsense
        CONFIG SET MAXMEMORY-POLICY nonsense
        CONFIG SET maxmemory-policy noeviction
        CONFIG SET nosuchparam 1
        CONFIG SET hash-max-listpack-entries 64
        CONFIG GET hash-max-listpack-entries
        CONFIG GET hash-max-ziplist-entries
        CONFIG SET hash-max-ziplist-entries 100
        CONFIG GET hash-max-listpack-entries
        CONFIG SET hash-max-listpack-entries abc
        CONFIG SET hash-max-ziplist-entries abc
        CONFIG SET hash-max-listpack-value 10mb
        CONFIG GET hash-max-listpack-value
        CONFIG SET proto-max-bulk-len 1gb
        CONFIG GET proto-max-bulk-len
        CONFIG SET hash-max-listpack-value 100KB
        CONFIG GET hash-max-listpack-value
        CONFIG SET maxmemory abc
        CONFIG SET MAXMEMORY abc
        CONFIG SET maxmemory -1
        CONFIG SET maxmemory 0
        CONFIG SET
        CONFIG SET maxmemory
        CONFIG SET maxmemory 1 maxmemory
        CONFIG SET maxmemory 1 maxmemory 2
        CONFIG SET maxmemory 5 MAXMEMORY 6
        CONFIG SET hash-max-ziplist-entries 5 hash-max-listpack-entries 6
        CONFIG SET timeout 10 nosuch 20
        CONFIG SET maxmemory abc nosuch 1
        CONFIG SET maxmemory abc maxmemory 5
        CONFIG SET maxmemory abc MAXMEMORY 5
        CONFIG SET maxmemory abc databases 3
        CONFIG SET databases 3
        CONFIG SET DATABASES 3 nosuch 1
        CONFIG SET nosuch 1 databases 3
        CONFIG SET hash-max-listpack-value 7 maxmemory-policy bad
        CONFIG GET maxmemory
        CONFIG GET timeout
        CONFIG SET timeout -1
        CONFIG SET timeout 0
        CONFIG SET set-max-intset-entries 1000 zset-max-listpack-entries 256
        CONFIG GET set-max-intset-entries
        CONFIG SET maxmemory 0
        CONFIG RESETSTAT
        CONFIG RESETSTAT x
        CONFIG REWRITE x
        CONFIG FOO
        CONFIG foo bar
        CONFIG
        ",
    );
    // Patterns: compared as sorted pairs (Redis lists them in its random dictionary order).
    check_pairs(&mut d, &["CONFIG", "GET", "*-max-*-entries"]);
    check_pairs(&mut d, &["CONFIG", "GET", "hash-max-*"]);
    check_pairs(&mut d, &["CONFIG", "GET", "*max-listpack-*", "zset-*"]);
    check_pairs(
        &mut d,
        &[
            "CONFIG",
            "GET",
            "HASH-max-ziplist-entries",
            "hash-max-listpack-entries",
        ],
    );
    d.both(&["HELLO", "3"]);
    d.check(&["CONFIG", "GET", "maxmemory"]);
    d.check(&["CONFIG", "GET", "nosuch"]);
    check_pairs(&mut d, &["CONFIG", "GET", "*-max-*-entries"]);
}

#[test]
fn command_introspection() {
    let mut d = Diff::new();
    d.script(
        "
        COMMAND GETKEYS GET k
        COMMAND GETKEYS get k
        COMMAND GETKEYS SET a b
        COMMAND GETKEYS MSET a 1 b 2
        COMMAND GETKEYS MSET a
        COMMAND GETKEYS MGET a b c
        COMMAND GETKEYS DEL a b c
        COMMAND GETKEYS RENAME a b
        COMMAND GETKEYS COPY a b DB 1
        COMMAND GETKEYS EXPIRE a 10
        COMMAND GETKEYS OBJECT ENCODING a
        COMMAND GETKEYS SINTERSTORE d a b
        COMMAND GETKEYS LMOVE a b LEFT RIGHT
        COMMAND GETKEYS PING
        COMMAND GETKEYS NOSUCH a
        COMMAND GETKEYS GET
        COMMAND GETKEYS GET a b
        COMMAND GETKEYS
        COMMAND INFO nosuch
        COMMAND INFO nosuch nosuch2
        COMMAND DOCS nosuch
        COMMAND COUNT x
        COMMAND nosuch
        COMMAND NOSUCH a
        COMMAND LIST FILTERBY
        COMMAND LIST FILTERBY FOO x
        COMMAND LIST FILTERBY MODULE foo
        COMMAND LIST FILTERBY ACLCAT nosuch
        COMMAND LIST x y z
        COMMAND LIST x
        COMMAND HELP
        CONFIG HELP
        OBJECT HELP
        ",
    );
    for pat in ["*expire*", "h*", "rename*", "*incr*", "GET"] {
        d.check_unordered(&["COMMAND", "LIST", "FILTERBY", "PATTERN", pat]);
    }
    for cat in ["string", "STRING"] {
        d.check_unordered(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", cat]);
    }
    // Shapes only: Rustis implements a subset of Redis's commands.
    let mut b = Conn::new(d.rustis.port);
    let count = String::from_utf8(b.call(&["COMMAND", "COUNT"])).unwrap();
    let n = count.trim()[1..].parse::<usize>().unwrap();
    assert!(count.starts_with(':') && n > 100, "{count}");
    // COMMAND LIST names the COUNT commands and, as Redis does, their subcommands (`config|get`).
    let list = String::from_utf8(b.call(&["COMMAND", "LIST"])).unwrap();
    let listed: Vec<&str> = list.split("\r\n").skip(2).step_by(2).collect();
    assert_eq!(
        listed.iter().filter(|l| !l.contains('|')).count(),
        n,
        "COMMAND LIST has COUNT commands"
    );
    assert!(listed.contains(&"config|get"), "{list}");
    let all = String::from_utf8(b.call(&["COMMAND"])).unwrap();
    assert!(all.starts_with(&format!("*{n}\r\n*10\r\n")));
    for (name, arity) in [("get", 2), ("set", -3), ("mget", -2), ("ping", -1)] {
        let r = String::from_utf8(b.call(&["COMMAND", "INFO", name])).unwrap();
        let prefix = format!("*1\r\n*10\r\n${}\r\n{name}\r\n:{arity}\r\n", name.len());
        assert!(r.starts_with(&prefix), "{r}");
    }
    // COMMAND INFO get: same as Redis's (tests/diff_command_meta.rs compares every command whole).
    let ra = String::from_utf8(d.a.call(&["COMMAND", "INFO", "get"])).unwrap();
    let rb = String::from_utf8(d.b.call(&["COMMAND", "INFO", "GET"])).unwrap();
    let head = |s: &str| s.split("$5\r\nflags").next().unwrap().to_string();
    assert_eq!(head(&rb), head(&ra));
    let r = String::from_utf8(b.call(&["COMMAND", "INFO", "get", "nosuch", "set"])).unwrap();
    assert!(
        r.starts_with("*3\r\n*10\r\n") && r.contains("$-1\r\n"),
        "{r}"
    );
    let docs = String::from_utf8(b.call(&["COMMAND", "DOCS", "set"])).unwrap();
    assert!(docs.contains("summary") && docs.contains("string"));
}

#[test]
fn unknown_commands_and_arity() {
    let mut d = Diff::new();
    let long = "x".repeat(200);
    let words = vec!["abcdefghij"; 20].join(" ");
    d.check(&["NOSUCH", &long]);
    d.check(&[&long]);
    d.check(&["NOSUCH", "a b", ""]);
    d.check(&["NOSUCH", "a\r\nb"]);
    d.check(&[""]);
    d.check(&["", "a"]);
    let mut many = vec!["NOSUCH"];
    many.extend(words.split(' '));
    d.check(&many);
    d.script(
        "
        GeT
        CONFIG get
        Config Foo
        CLIENT Foo
        OBJECT Foo
        OBJECT Encoding
        COMMAND Foo
        COMMAND COUNT a
        CLIENT ID a
        client getname a
        FUNCTION
        PING a b
        ECHO
        SELECT
        SWAPDB 1
        FLUSHALL a b
        TIME 1
        QUIT
        ",
    );
}

#[test]
fn dbsize_flush_swapdb() {
    let mut d = Diff::new();
    for i in 0..50 {
        d.check(&["SET", &format!("k{i}"), "v"]);
    }
    d.script(
        "
        DBSIZE
        SELECT 2
        MSET a 1 b 2 c 3
        DBSIZE
        SWAPDB 2 0
        DBSIZE
        SELECT 0
        DBSIZE
        MGET a b c
        SWAPDB 0 2
        DBSIZE
        FLUSHDB
        DBSIZE
        SELECT 2
        DBSIZE
        FLUSHALL
        DBSIZE
        SELECT 0
        DBSIZE
        SET x 1
        FLUSHALL ASYNC
        DBSIZE
        SET x 1
        FLUSHALL SYNC
        DBSIZE
        SET x 1
        FLUSHDB ASYNC
        DBSIZE
        FLUSHDB SYNC
        ",
    );
}

#[test]
fn info_time_and_shapes() {
    let d = Diff::new();
    let mut b = Conn::new(d.rustis.port);
    let info = String::from_utf8(b.call(&["INFO"])).unwrap();
    for field in [
        "# Server",
        "redis_version:7.0.15",
        "tcp_port:",
        "# Clients",
        "connected_clients:",
        "# Memory",
        "used_memory:",
        "# Stats",
        "total_commands_processed:",
        "keyspace_hits:",
        "# Keyspace",
    ] {
        assert!(info.contains(field), "INFO lacks {field}");
    }
    b.call(&["FLUSHALL"]);
    b.call(&["SET", "a", "1"]);
    b.call(&["SET", "b", "1", "EX", "100"]);
    b.call(&["SELECT", "3"]);
    b.call(&["SET", "c", "1"]);
    let ks = String::from_utf8(b.call(&["INFO", "keyspace"])).unwrap();
    assert!(ks.contains("db0:keys=2,expires=1"), "{ks}");
    assert!(ks.contains("db3:keys=1,expires=0"), "{ks}");
    assert!(!ks.contains("# Server"), "{ks}");
    let time = String::from_utf8(b.call(&["TIME"])).unwrap();
    let parts: Vec<&str> = time.split("\r\n").collect();
    assert_eq!(parts[0], "*2");
    let secs: u64 = parts[2].parse().unwrap();
    let micros: u64 = parts[4].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 5 && micros < 1_000_000, "{time}");
    let hello = String::from_utf8(b.call(&["HELLO", "3"])).unwrap();
    assert!(
        hello.starts_with("%7\r\n") && hello.contains("proto\r\n:3"),
        "{hello}"
    );
    let info3 = String::from_utf8(b.call(&["INFO", "server"])).unwrap();
    assert!(
        info3.starts_with('=') && info3.contains("txt:# Server"),
        "{info3}"
    );
    let list = String::from_utf8(b.call(&["CLIENT", "LIST"])).unwrap();
    assert!(list.starts_with('=') && list.contains("resp=3"), "{list}");
}

#[test]
fn quit_closes_the_connection() {
    let d = Diff::new();
    for port in [d.redis.port, d.rustis.port] {
        let mut b = Conn::new(port);
        b.send(&[b"QUIT"]);
        assert_eq!(b.read_to_close(), b"+OK\r\n");
        // Pipelined commands after QUIT are not executed.
        let mut c = Conn::new(port);
        c.send_raw(b"SET afterquit 1\r\nQUIT\r\nSET afterquit 2\r\n");
        assert_eq!(c.read_to_close(), b"+OK\r\n+OK\r\n");
        let mut e = Conn::new(port);
        assert_eq!(e.call(&["GET", "afterquit"]), b"$1\r\n1\r\n");
        e.call(&["DEL", "afterquit"]);
    }
}

#[test]
fn error_messages_quote_raw_bytes() {
    // Redis quotes client bytes verbatim in errors (UTF-8 or not), cut at a NUL as C's %s does.
    let mut d = Diff::new();
    let cases: &[&[&[u8]]] = &[
        &[b"CONFIG", b"a\x00b"],
        &[b"CONFIG", &[0xff; 200]],
        &[b"OBJECT", b"x\xfe"],
        &[b"cOnFiG", b"x\r\ny"],
        &[b"client", &[0xe2, 0x82, 0xe2, 0x82, 0xe2]],
        &[b"COMMAND", b"\x00"],
        &[b"FUNCTION", b"\xff"],
        &[b"EXPIRE", b"k", b"10", b"a\x00b"],
        &[b"EXPIRE", b"k", b"10", b"\xff"],
        &[b"HELLO", b"3", b"\xffz\x00y"],
        &[b"CLIENT", b"LIST", b"TYPE", b"\xff\x00x"],
        &[b"CONFIG", b"SET", b"\xff\x00x", b"1"],
        &[
            b"CONFIG",
            b"SET",
            b"maxmemory",
            b"1",
            b"Maxmemory\xff",
            b"2",
        ],
        &[b"CONFIG", b"SET", b"databases", b"1"],
        &[b"CONFIG", b"SET", b"maxmemory-policy", b"\xff"],
        &[b"COMMAND", b"GETKEYS", b"\xff"],
        &[b"SET", b"k", b"\xff\x00"],
        &[b"GET", b"k"],
    ];
    for args in cases {
        d.a.send(args);
        d.b.send(args);
        let (ra, rb) = (d.a.read_reply(), d.b.read_reply());
        assert_eq!(
            rb, ra,
            "reply differs for {args:?} (left: rustis, right: redis)"
        );
    }
}

/// Differences found by a hostile client, now answered as Redis 7.0 does.
#[test]
fn edge_replies_match_redis() {
    let mut d = Diff::new();
    d.script(
        "
        SELECT 9223372036854775807
        SELECT 2147483648
        SELECT -2147483649
        SELECT -1
        SELECT 16
        SELECT abc
        COMMAND GETKEYS PING x
        COMMAND GETKEYS ECHO x
        COMMAND GETKEYS LMPOP 0 a LEFT
        COMMAND GETKEYS SINTERCARD 0 a
        COMMAND GETKEYS MSET a
        COMMAND GETKEYS NOSUCH a
        SADD n 1 2 3
        SSCAN n 18446744073709551615
        SSCAN n 18446744073709551616
        HSET h a 1
        HSCAN h 18446744073709551615
        CONFIG SET maxmemory-policy allkeys-lfu
        SET f 1
        SET g abc
        OBJECT FREQ f
        OBJECT FREQ g
        OBJECT IDLETIME g
        CONFIG SET maxmemory-policy allkeys-lru
        OBJECT FREQ g
        CONFIG SET maxmemory-policy noeviction
        SHUTDOWN NOSAVE SAVE
        SHUTDOWN ABORT NOW
        SHUTDOWN ABORT
        SHUTDOWN BOGUS
        ",
    );
    // A hashtable-encoded set: Redis visits one bucket chosen by its random hash seed; Rustis never
    // issued such a cursor and ends the scan. Either way the scan is over.
    d.both(&["SADD", "s", "a", "b", "c"]);
    let page = d.b.call(&["SSCAN", "s", "18446744073709551615"]);
    assert!(page.starts_with(b"*2\r\n$1\r\n0\r\n"), "{page:?}");
    // SHUTDOWN SAVE itself (a save, then the exit; or Redis's error and the server serving on
    // when the save fails) is in tests/persist.rs.
}

/// CLIENT REPLY ON right after SKIP answers its OK (it clears SKIP first, as in Redis), and
/// CLIENT INFO's cmd= names a container's subcommand (`client|info`).
#[test]
fn reply_on_after_skip_and_cmd_of_subcommands() {
    let mut d = Diff::new();
    for c in [&mut d.a, &mut d.b] {
        c.send(&[b"client", b"reply", b"skip"]);
        c.send(&[b"client", b"reply", b"on"]);
    }
    let (a, b) = (d.a.read_reply(), d.b.read_reply());
    assert_eq!(String::from_utf8_lossy(&b), String::from_utf8_lossy(&a));
    d.check(&["ping"]);
    let field = |r: Vec<u8>| {
        let s = String::from_utf8_lossy(&r).into_owned();
        s.split(' ')
            .find(|f| f.starts_with("cmd="))
            .unwrap_or("")
            .to_string()
    };
    let a = field(d.a.call(&["client", "info"]));
    let b = field(d.b.call(&["client", "info"]));
    assert_eq!(b, a);
    assert_eq!(a, "cmd=client|info");
}
