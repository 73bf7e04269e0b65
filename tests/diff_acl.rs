//! Differential tests of authentication and ACL against a real redis-server: AUTH and HELLO AUTH,
//! requirepass, ACL SETUSER rule syntax and errors, GETUSER and LIST formats, DELUSER, CAT,
//! LOG entries, DRYRUN (also on random users and commands, seeded), and the refusals of
//! commands, keys and channels at top level, in MULTI/EXEC and in scripts, with keys on both
//! workers (x, y, a, d, e, t on one; z, b, c, w, s on the other). Protected mode is checked with
//! a client bound to 127.0.0.2 connecting to servers bound to 0.0.0.0.
//!
//! Redis lists single-command rules in its command dictionary's order, which changes with each
//! run (a random hash seed): replies holding such rules are compared with the words of each line
//! sorted.

mod common;
use common::pair::Pair;
use common::{owner, start_redis, start_rustis, start_rustis_with, Conn, Diff, Lcg};

/// Sends a binary command to both servers and asserts identical replies.
fn both_raw(d: &mut Diff, args: &[&[u8]]) -> Vec<u8> {
    d.a.send(args);
    let ra = d.a.read_reply();
    d.b.send(args);
    let rb = d.b.read_reply();
    assert_eq!(
        String::from_utf8_lossy(&rb),
        String::from_utf8_lossy(&ra),
        "reply differs for {:?} (left: rustis, right: redis)",
        args.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
    );
    ra
}

/// A reply with the words of every line sorted (rule lists whose order is Redis's hash order).
fn words_sorted(r: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(r)
        .split("\r\n")
        .map(|l| {
            let mut w: Vec<&str> = l.split(' ').collect();
            w.sort_unstable();
            w.join(" ")
        })
        .collect()
}

/// Sends `args` to both; replies equal once each line's words are sorted.
fn check_words(d: &mut Diff, args: &[&str]) {
    let ra = d.a.call(args);
    let rb = d.b.call(args);
    assert_eq!(
        words_sorted(&rb),
        words_sorted(&ra),
        "reply differs for {args:?} (left: rustis, right: redis)"
    );
}

/// An ACL LOG reply with the fields that differ by nature (age, client info) blanked.
fn log_masked(r: &[u8]) -> String {
    let s = String::from_utf8_lossy(r).into_owned();
    let lines: Vec<&str> = s.split("\r\n").collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        out.push(lines[i].to_string());
        if lines[i] == "age-seconds" || lines[i] == "client-info" {
            // Its value: a length line and the value (RESP2), or one line (RESP3 double).
            if lines.get(i + 1).is_some_and(|l| l.starts_with('$')) {
                i += 2;
            } else {
                i += 1;
            }
            out.push("<masked>".into());
        }
        i += 1;
    }
    out.join("\n")
}

#[test]
fn keys_used_are_on_both_workers() {
    assert_eq!(owner("x1", 2), owner("x1", 2));
    let on: Vec<usize> = ["x", "z", "a", "b"].iter().map(|k| owner(k, 2)).collect();
    assert_eq!(on, vec![1, 0, 1, 0]);
}

/// Runs a script of commands (one per line, words split on blanks); GETUSER and LIST replies
/// are compared with their words sorted.
fn script(d: &mut Diff, text: &str) {
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let args: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("acl getuser") || line == "acl list" {
            check_words(d, &args);
        } else {
            d.check(&args);
        }
    }
}

#[test]
fn setuser_rules_and_errors() {
    let mut d = Diff::new();
    script(
        &mut d,
        "
        acl setuser alice
        acl getuser alice
        acl setuser alice on >secret ~obj:* &chan:* +get
        acl getuser alice
        acl setuser alice -get +@read -@dangerous
        acl getuser alice
        acl setuser bob reset
        acl getuser bob
        acl setuser bob on nopass allkeys allchannels allcommands
        acl getuser bob
        acl setuser bob resetkeys %R~r:* %W~w:* %RW~rw:* ~both:*
        acl getuser bob
        acl setuser bob resetchannels &news.* &alerts
        acl getuser bob
        acl setuser bob nocommands +@hash +@string -hset
        acl getuser bob
        acl setuser bob +@all -@admin
        acl getuser bob
        acl setuser bob clearselectors (+get ~sel:*) (+set %W~w:* &c)
        acl getuser bob
        acl setuser bob clearselectors
        acl getuser bob
        acl setuser carol on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
        acl getuser carol
        acl setuser carol !5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
        acl getuser carol
        acl setuser carol >a >b <a
        acl getuser carol
        acl setuser carol resetpass
        acl getuser carol
        acl setuser carol off skip-sanitize-payload
        acl getuser carol
        acl setuser carol sanitize-payload
        acl getuser carol
        acl setuser dave +nosuchcommand
        acl setuser dave +@nosuchcategory
        acl setuser dave -@nosuchcategory
        acl setuser dave garbage
        acl setuser dave ~a allkeys ~b
        acl setuser dave &a allchannels &b
        acl setuser dave <notapassword
        acl setuser dave #abc
        acl setuser dave #5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8
        acl setuser dave !abc
        acl setuser dave +config|get|x
        acl setuser dave +get|
        acl setuser dave +config|nosuch
        acl setuser dave -get|x
        acl setuser dave (+get ~x
        acl setuser dave (+get ~x) (nosuch)
        acl setuser dave +config|get -config|set +select|0 +select|1
        acl getuser dave
        acl setuser dave +config
        acl getuser dave
        acl setuser dave -config +client|list +client|info
        acl getuser dave
        acl getuser nosuchuser
        acl setuser eve ~sp ace
        acl setuser eve %X~foo
        acl setuser eve %R
        acl getuser eve
        acl deluser default
        acl deluser nosuch1 nosuch2
        acl deluser alice bob
        acl users
        acl cat nosuchcategory
        acl cat
        acl genpass 0
        acl genpass 4097
        acl genpass abc
        acl load
        acl save
        acl nosuchsub
        acl help
        acl whoami
        ",
    );
    d.check(&["acl", "setuser", "sp ace"]);
    d.check(&["acl", "setuser", "nul\0name"]);
    d.check(&["acl", "setuser", "frank", "(", "+get", "~x", ")", "on"]);
    d.check(&["acl", "getuser", "frank"]);
    d.check(&["acl", "setuser", "frank", "(~y", "+set)"]);
    d.check(&["acl", "getuser", "frank"]);
    // Lists of several single commands come in Redis's hash order.
    d.check(&[
        "acl", "setuser", "gina", "on", "-@all", "+get", "+set", "+hget", "~*",
    ]);
    check_words(&mut d, &["acl", "getuser", "gina"]);
    check_words(&mut d, &["acl", "list"]);
    for cat in [
        "read",
        "write",
        "keyspace",
        "dangerous",
        "pubsub",
        "connection",
        "bitmap",
    ] {
        let ra = d.a.call(&["acl", "cat", cat]);
        let rb = d.b.call(&["acl", "cat", cat]);
        // Our table lacks some of Redis's commands (streams...): each of ours must be Redis's.
        let ours = common::sorted_elements(&rb);
        let theirs = common::sorted_elements(&ra);
        for c in ours.iter().skip(1) {
            assert!(theirs.contains(c), "{c} in @{cat} here, not in Redis");
        }
    }
    for bits in ["1", "5", "256", "4096"] {
        let ra = d.a.call(&["acl", "genpass", bits]);
        let rb = d.b.call(&["acl", "genpass", bits]);
        assert_eq!(ra.len(), rb.len(), "genpass {bits}");
    }
}

#[test]
fn auth_hello_and_requirepass() {
    let mut d = Diff::new();
    d.script(
        "
        auth
        auth onlypass
        auth default anything
        auth a b c
        hello 2 auth nosuch pass
        ",
    );
    // The default user has no password: any password authenticates it.
    d.both(&["hello", "3", "auth", "default", "wrong"]);
    d.check(&["acl", "whoami"]);
    d.both(&["hello", "2"]);
    d.check(&["acl", "setuser", "u1", "on", ">p1", "+@all", "~*"]);
    d.check(&["acl", "setuser", "off1", "off", ">p1", "+@all", "~*"]);
    d.script(
        "
        auth u1 wrong
        auth u1 p1
        acl whoami
        auth off1 p1
        acl whoami
        hello 2 auth u1 wrong setname conn2
        client getname
        hello 2 setname bad\x01name
        ",
    );
    d.both(&["hello", "2", "auth", "u1", "p1", "setname", "conn1"]);
    d.check(&["client", "getname"]);
    d.check(&["acl", "whoami"]);
    // Passwords are any bytes.
    let odd: &[u8] = b"p\x00w\xff\r\n \x01";
    let mut op = b">".to_vec();
    op.extend_from_slice(odd);
    both_raw(&mut d, &[b"acl", b"setuser", b"odd", b"on", &op, b"+acl"]);
    both_raw(&mut d, &[b"auth", b"odd", odd]);
    both_raw(&mut d, &[b"acl", b"whoami"]);
    both_raw(&mut d, &[b"auth", b"odd", b"p"]);
    both_raw(&mut d, &[b"acl", b"getuser", b"odd"]);
    both_raw(&mut d, &[b"acl", b"list"]);
    // requirepass through CONFIG SET sets the default user's password.
    d.check(&["auth", "u1", "p1"]);
    d.check(&["config", "set", "requirepass", "s3cret"]);
    d.check(&["acl", "getuser", "default"]);
    d.check(&["config", "get", "requirepass"]);
    d.check(&["auth", "wrong"]);
    d.check(&["auth", "s3cret"]);
    d.check(&["acl", "whoami"]);
    // A new connection must authenticate.
    let mut p = Pair::new(d.redis.port, d.rustis.port, 1);
    for line in [
        "ping",
        "get x",
        "set z 1",
        "multi",
        "exec",
        "client list",
        "hello 3",
        "hello 3 setname n1",
        "auth wrong",
        "auth default wrong",
        "quit",
    ] {
        let args: Vec<&str> = line.split(' ').collect();
        p.call(0, &args);
    }
    let mut p = Pair::new(d.redis.port, d.rustis.port, 1);
    p.call(0, &["multi"]);
    p.call(0, &["set", "x", "1"]);
    p.call(0, &["exec"]);
    p.call(0, &["exec"]);
    p.quiet(0, &["hello", "2", "auth", "default", "s3cret"]);
    p.call(0, &["acl", "whoami"]);
    p.call(0, &["set", "x", "1"]);
    // Back to no password: connections that never authenticated may run commands again.
    let mut q = Pair::new(d.redis.port, d.rustis.port, 1);
    q.call(0, &["get", "x"]);
    d.check(&["config", "set", "requirepass", ""]);
    d.check(&["acl", "getuser", "default"]);
    q.call(0, &["get", "x"]);
    d.check(&["auth", "x"]);
    let ra = d.a.call(&["acl", "log"]);
    let rb = d.b.call(&["acl", "log"]);
    assert_eq!(log_masked(&rb), log_masked(&ra), "acl log");
    d.check(&["acl", "log", "reset"]);
    d.check(&["acl", "log"]);
}

#[test]
fn denials_at_top_level_in_multi_and_scripts() {
    let mut d = Diff::new();
    d.check(&[
        "acl",
        "setuser",
        "w",
        "on",
        ">pw",
        "~x*",
        "~z*",
        "%R~a*",
        "%W~b*",
        "&c*",
        "+@all",
        "-flushall",
        "-config|set",
        "-keys",
    ]);
    d.check(&["set", "a1", "v"]);
    d.check(&["set", "b1", "v"]);
    d.check(&["auth", "w", "pw"]);
    d.script(
        "
        set x1 v
        set z1 v
        set a1 v
        get a1
        set b1 v
        get b1
        getset b1 v
        set b1 v get
        del b1
        del a1
        mset x2 1 z2 2
        mset x3 1 b3 2
        mget x1 z1 a1
        mget x1 z1 b1
        copy x1 z9
        copy a1 z8
        rename x1 b2
        lmove x9 z9 left right
        sunionstore x5 z1 a1
        bitfield a1 get u8 0
        bitfield a1 set u8 0 1
        sort a1
        flushall
        config get maxmemory
        config set maxmemory 0
        publish c1 m
        publish d1 m
        spublish c1 m
        subscribe c2 d2
        psubscribe c* d*
        psubscribe c*
        punsubscribe
        ssubscribe d3
        exists a1 b1
        ",
    );
    d.script(
        "
        multi
        set x5 1
        set q 1
        exec
        multi
        set x6 1
        get a1
        exec
        multi
        flushall
        exec
        ",
    );
    d.script(
        "
        eval return(redis.call('set','x7','1')) 0
        eval return(redis.call('set','q','1')) 0
        eval return(redis.pcall('set','q','1')) 0
        eval return(redis.pcall('flushall')) 0
        eval return(redis.pcall('get','b1')) 0
        eval return(redis.pcall('publish','d','m')) 0
        eval return(redis.call('set',KEYS[1],'1')) 1 b5
        eval return(redis.call('set',KEYS[1],'1')) 1 q5
        ",
    );
    // Rules changed between queueing and EXEC.
    let mut p = Pair::new(d.redis.port, d.rustis.port, 2);
    p.call(0, &["auth", "w", "pw"]);
    p.call(0, &["multi"]);
    p.call(0, &["set", "x8", "1"]);
    p.call(0, &["get", "z8"]);
    p.call(1, &["acl", "setuser", "w", "resetkeys", "~z*"]);
    p.call(0, &["exec"]);
    let ra = d.a.call(&["acl", "log"]);
    let rb = d.b.call(&["acl", "log"]);
    assert_eq!(log_masked(&rb), log_masked(&ra), "acl log");
    let ra = d.a.call(&["acl", "log", "2"]);
    let rb = d.b.call(&["acl", "log", "2"]);
    assert_eq!(log_masked(&rb), log_masked(&ra), "acl log 2");
    d.check(&["acl", "log", "-1"]);
    d.check(&["acl", "log", "x"]);
}

#[test]
fn deleted_and_changed_users() {
    let d = Diff::new();
    let mut p = Pair::new(d.redis.port, d.rustis.port, 3);
    p.call(
        0,
        &["acl", "setuser", "tmp", "on", ">pw", "+@all", "~*", "&*"],
    );
    p.call(1, &["auth", "tmp", "pw"]);
    p.call(2, &["auth", "tmp", "pw"]);
    p.call(2, &["subscribe", "news"]);
    // Changing the user's channels closes its subscriber that is no longer allowed.
    p.call(0, &["acl", "setuser", "tmp", "resetchannels", "&other"]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (ra, rb) = (p.a[2].read_to_close(), p.b[2].read_to_close());
    assert_eq!(rb, ra, "subscriber of a changed user");
    p.call(1, &["ping"]);
    // Deleting the user closes its connections.
    p.call(0, &["acl", "deluser", "tmp"]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let a: &[&[u8]] = &[b"ping"];
    p.a[1].send(a);
    p.b[1].send(a);
    let (ra, rb) = (p.a[1].read_to_close(), p.b[1].read_to_close());
    assert_eq!(rb, ra, "connection of a deleted user");
    // A user deleting itself gets its reply, then the connection closes.
    p.call(0, &["acl", "setuser", "self", "on", "nopass", "+@all"]);
    p.call(0, &["auth", "self", "x"]);
    p.send(0, &["acl", "deluser", "self"]);
    let (ra, rb) = (p.a[0].read_to_close(), p.b[0].read_to_close());
    assert_eq!(
        String::from_utf8_lossy(&rb),
        String::from_utf8_lossy(&ra),
        "self-deletion"
    );
}

#[test]
fn reset_and_pubsub_default() {
    let mut d = Diff::new();
    script(
        &mut d,
        "
        acl setuser ru on >pw +@all ~*
        auth ru pw
        acl whoami
        reset
        acl whoami
        config set acl-pubsub-default allchannels
        config get acl-pubsub-default
        acl setuser newp on nopass +@all
        acl getuser newp
        acl setuser newp reset
        acl getuser newp
        acl setuser newp (+get)
        acl getuser newp
        config set acl-pubsub-default resetchannels
        acl setuser newq
        acl getuser newq
        config set acl-pubsub-default bogus
        config set acllog-max-len 1
        auth nosuch x
        auth nosuch2 x
        ",
    );
    let ra = d.a.call(&["acl", "log"]);
    let rb = d.b.call(&["acl", "log"]);
    assert_eq!(
        log_masked(&rb),
        log_masked(&ra),
        "acl log with acllog-max-len 1"
    );
    d.check(&["config", "set", "requirepass", "pw"]);
    d.check(&["reset"]);
    d.check(&["get", "x"]);
    d.check(&["auth", "pw"]);
    d.check(&["config", "set", "requirepass", ""]);
}

#[test]
fn client_list_shows_the_user() {
    let rustis = start_rustis(2);
    let mut c = Conn::new(rustis.port);
    let r = c.call(&["client", "info"]);
    assert!(String::from_utf8_lossy(&r).contains(" user=default "));
    c.call(&["acl", "setuser", "cl", "on", "nopass", "+@all"]);
    c.call(&["auth", "cl", "x"]);
    let r = c.call(&["client", "list"]);
    assert!(String::from_utf8_lossy(&r).contains(" user=cl "), "{r:?}");
}

/// ACL DRYRUN of random users on random commands, against Redis (seeded, bounded).
#[test]
fn random_decisions_match_redis() {
    let mut d = Diff::new();
    let rules = [
        "+@all",
        "-@all",
        "+@read",
        "+@write",
        "-@write",
        "+@string",
        "-@dangerous",
        "+@hash",
        "-@keyspace",
        "+get",
        "-get",
        "+set",
        "+config|get",
        "-config|set",
        "+client",
        "-client|kill",
        "+select|0",
        "~*",
        "~x*",
        "~z*",
        "%R~a*",
        "%W~b*",
        "%RW~c*",
        "resetkeys",
        "&*",
        "&c*",
        "resetchannels",
        "(+get ~a*)",
        "(+set %W~z*)",
        "(+@pubsub &n*)",
        "clearselectors",
        "allcommands",
        "nocommands",
    ];
    let cmds: &[&[&str]] = &[
        &["get", "x1"],
        &["get", "a1"],
        &["get", "b1"],
        &["set", "z1", "v"],
        &["set", "b1", "v"],
        &["set", "a1", "v", "get"],
        &["mset", "x1", "1", "z1", "2"],
        &["mget", "a1", "b1", "c1"],
        &["del", "b1", "c1"],
        &["hset", "c1", "f", "v"],
        &["hget", "a1", "f"],
        &["config", "get", "maxmemory"],
        &["config", "set", "maxmemory", "0"],
        &["client", "kill", "id", "1"],
        &["client", "list"],
        &["select", "0"],
        &["select", "1"],
        &["publish", "c1", "m"],
        &["publish", "n1", "m"],
        &["subscribe", "c1", "n1"],
        &["psubscribe", "c*"],
        &["flushall"],
        &["keys", "*"],
        &["copy", "a1", "b1"],
        &["lmove", "a1", "b1", "left", "right"],
        &["ping"],
        &["auth", "x"],
        &["sort", "a1", "store", "b1"],
        &["bitfield", "a1", "get", "u8", "0"],
        &["eval", "return 1", "1", "a1"],
        &["nosuchcommand"],
        &["config", "nosuch"],
        &["get"],
    ];
    let mut rng = Lcg(20240601);
    for round in 0..60 {
        let name = format!("r{round}");
        let mut args = vec![
            "acl".to_string(),
            "setuser".into(),
            name.clone(),
            "on".into(),
        ];
        for _ in 0..1 + rng.below(5) {
            args.push(rules[rng.below(rules.len() as u64) as usize].to_string());
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        d.check(&a);
        // GETUSER is not compared here: Redis describes a bitmap with the categories that fit
        // its own command table best, and ours lacks some of its commands.
        for _ in 0..12 {
            let c = cmds[rng.below(cmds.len() as u64) as usize];
            let mut a = vec!["acl", "dryrun", name.as_str()];
            a.extend_from_slice(c);
            d.check(&a);
        }
    }
    d.check(&["acl", "dryrun", "nosuchuser", "get", "x"]);
    d.check(&["acl", "dryrun", "r1"]);
}

/// Reads what a client bound to 127.0.0.2 gets from a server listening on 0.0.0.0 at `port`.
fn from_other_address(port: u16, cmd: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: std::net::SocketAddr = "127.0.0.2:0".parse().unwrap();
    sock.bind(&local.into()).unwrap();
    let remote: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    sock.connect(&remote.into()).unwrap();
    let mut s: std::net::TcpStream = sock.into();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let _ = s.write_all(cmd);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.ends_with(b"\r\n") && !out.starts_with(b"-DENIED") {
                    break;
                }
            }
        }
    }
    out
}

/// A redis-server bound to 0.0.0.0 (protected mode on), on a port of ours.
struct WideRedis(std::process::Child, u16);

impl Drop for WideRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wide_redis() -> WideRedis {
    let port = std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "0.0.0.0",
            "--protected-mode",
            "yes",
            "--dir",
            &common::test_dir("wide-redis"),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    WideRedis(child, port)
}

#[test]
fn protected_mode_refuses_other_addresses() {
    let redis = wide_redis();
    let rustis = start_rustis_with(2, &["--bind", "0.0.0.0"]);
    let ping = b"*1\r\n$4\r\nPING\r\n";
    let ra = from_other_address(redis.1, ping);
    let rb = from_other_address(rustis.port, ping);
    assert!(
        ra.starts_with(b"-DENIED"),
        "{:?}",
        String::from_utf8_lossy(&ra)
    );
    assert_eq!(String::from_utf8_lossy(&rb), String::from_utf8_lossy(&ra));
    // Loopback clients are served.
    let mut c = Conn::new(rustis.port);
    assert_eq!(c.call(&["ping"]), b"+PONG\r\n");
    let mut r = Conn::new(redis.1);
    // With a password on the default user, others are let in (and must authenticate).
    for conn in [&mut c, &mut r] {
        assert_eq!(
            conn.call(&["config", "set", "requirepass", "pw"]),
            b"+OK\r\n"
        );
    }
    let ra = from_other_address(redis.1, ping);
    let rb = from_other_address(rustis.port, ping);
    assert_eq!(String::from_utf8_lossy(&rb), String::from_utf8_lossy(&ra));
    assert!(ra.starts_with(b"-NOAUTH"));
    // protected-mode no lets anyone in.
    for conn in [&mut c, &mut r] {
        assert_eq!(conn.call(&["config", "set", "requirepass", ""]), b"+OK\r\n");
        assert_eq!(
            conn.call(&["config", "set", "protected-mode", "no"]),
            b"+OK\r\n"
        );
    }
    let ra = from_other_address(redis.1, ping);
    let rb = from_other_address(rustis.port, ping);
    assert_eq!(rb, b"+PONG\r\n");
    assert_eq!(rb, ra);
    let s = start_redis();
    drop(s);
}

/// `bind` with several addresses, as Redis takes it: each is served (protected mode lets both
/// loopbacks in), and an address prefixed with `-` that the machine lacks is skipped.
#[test]
fn bind_takes_several_addresses() {
    let rustis = start_rustis_with(2, &["--bind", "127.0.0.1 ::1 -192.0.2.77"]);
    let mut v4 = Conn::new(rustis.port);
    assert_eq!(v4.call(&["ping"]), b"+PONG\r\n");
    let s = std::net::TcpStream::connect(("::1", rustis.port)).expect("served on ::1");
    let mut w = std::io::BufReader::new(s.try_clone().unwrap());
    use std::io::{BufRead, Write};
    (&s).write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
    let mut line = String::new();
    w.read_line(&mut line).unwrap();
    assert_eq!(line, "+PONG\r\n");
    assert_eq!(
        v4.call(&["config", "get", "bind"]),
        b"*2\r\n$4\r\nbind\r\n$25\r\n127.0.0.1 ::1 -192.0.2.77\r\n"
    );
    // Without `-`, an address the machine lacks fails the start.
    use clap::Parser;
    let cli = rustis::config::Cli::try_parse_from([
        "rustis",
        "--port",
        "0",
        "--bind",
        "127.0.0.1 192.0.2.77",
    ])
    .unwrap();
    assert!(rustis::server::start(&cli).is_err());
}
