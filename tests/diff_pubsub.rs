//! Differential tests of pub/sub against redis-server 7.0: SUBSCRIBE, PSUBSCRIBE, their
//! UNSUBSCRIBE forms, PUBLISH counts and the messages each subscriber receives (RESP2 arrays and
//! RESP3 pushes), the commands a subscribed RESP2 connection may run and Redis's error for the
//! others, PING in subscribed mode, PUBSUB's subcommands, RESET, and CLIENT LIST's sub/psub
//! fields. Several subscribers are open at once, so with 2 workers they are spread over both:
//! publisher and subscribers on different workers. A subscriber that never reads is cut at the
//! pubsub output limit while the server keeps serving the others (Rustis only).

mod common;
use common::{start_redis, start_rustis, Conn};

/// The same scenario on both servers, reply by reply.
struct Pair {
    a: Vec<Conn>,
    b: Vec<Conn>,
    bad: Vec<String>,
}

impl Pair {
    fn new(redis: u16, rustis: u16, n: usize) -> Pair {
        Pair {
            a: (0..n).map(|_| Conn::new(redis)).collect(),
            b: (0..n).map(|_| Conn::new(rustis)).collect(),
            bad: Vec::new(),
        }
    }

    /// Sends `args` on connection `i` of both servers.
    fn send(&mut self, i: usize, args: &[&str]) {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.a[i].send(&a);
        self.b[i].send(&a);
    }

    /// Reads one reply (or pushed message) on connection `i` of both and compares.
    fn read(&mut self, i: usize, what: &str) {
        let (ra, rb) = (self.a[i].read_reply(), self.b[i].read_reply());
        if ra != rb {
            self.bad.push(format!(
                "{what} on conn {i}:\n  redis:  {:?}\n  rustis: {:?}",
                String::from_utf8_lossy(&ra),
                String::from_utf8_lossy(&rb)
            ));
        }
    }

    /// Sends and reads `replies` replies.
    fn call(&mut self, i: usize, args: &[&str], replies: usize) {
        self.send(i, args);
        for _ in 0..replies {
            self.read(i, &args.join(" "));
        }
    }

    /// Sends and reads one reply on both without comparing (HELLO: client ids differ).
    fn quiet(&mut self, i: usize, args: &[&str]) {
        self.send(i, args);
        self.a[i].read_reply();
        self.b[i].read_reply();
    }

    fn done(self) {
        assert!(self.bad.is_empty(), "{}", self.bad.join("\n"));
    }
}

/// Subscriptions, messages by channel and by pattern in both protocols, PUBLISH's count, and
/// unsubscribing (all, named, none left).
#[test]
fn subscribe_publish_unsubscribe() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 5);
    p.call(0, &["subscribe", "news", "sport"], 2);
    p.call(1, &["psubscribe", "n*", "s?ort"], 2);
    p.quiet(2, &["hello", "3"]);
    p.call(2, &["subscribe", "news"], 1);
    p.quiet(3, &["hello", "3"]);
    p.call(3, &["psubscribe", "*"], 1);
    p.call(4, &["publish", "news", "hello"], 1);
    p.read(0, "message");
    p.read(1, "pmessage");
    p.read(2, "RESP3 message");
    p.read(3, "RESP3 pmessage");
    p.call(4, &["publish", "sport", "goal"], 1);
    p.read(0, "message");
    p.read(1, "pmessage");
    p.read(3, "pmessage");
    p.call(4, &["publish", "nobody-here", "x"], 1);
    p.read(3, "pmessage");
    // Order is kept per publisher.
    for i in 0..20 {
        p.call(4, &["publish", "news", &format!("m{i}")], 1);
    }
    for _ in 0..20 {
        p.read(0, "ordered message");
        p.read(1, "ordered pmessage");
        p.read(2, "ordered message");
        p.read(3, "ordered pmessage");
    }
    p.call(4, &["pubsub", "numsub", "news", "sport", "none"], 1);
    p.call(4, &["pubsub", "numpat"], 1);
    p.call(4, &["pubsub", "channels", "s*"], 1);
    p.call(4, &["pubsub", "shardchannels"], 1);
    p.call(4, &["pubsub", "shardnumsub", "news"], 1);
    p.call(4, &["pubsub", "help"], 1);
    p.call(4, &["pubsub", "nope"], 1);
    p.call(4, &["pubsub", "numpat", "extra"], 1);
    p.call(0, &["unsubscribe", "sport", "never"], 2);
    p.call(0, &["unsubscribe"], 1);
    p.call(0, &["unsubscribe"], 1);
    p.call(1, &["punsubscribe"], 2);
    p.call(1, &["punsubscribe", "x"], 1);
    p.call(2, &["unsubscribe"], 1);
    p.call(3, &["punsubscribe", "*"], 1);
    p.call(4, &["pubsub", "numpat"], 1);
    p.call(4, &["publish", "news", "gone"], 1);
    p.done();
}

/// Shard channels: SSUBSCRIBE, SPUBLISH (patterns never see them), SUNSUBSCRIBE, their counts
/// (apart from channels and patterns), PUBSUB's SHARD forms, SSUBSCRIBE refused inside EXEC,
/// and subscribed mode entered through a shard channel alone.
#[test]
fn shard_channels() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 4);
    p.call(0, &["ssubscribe", "orders", "stock"], 2);
    p.call(0, &["subscribe", "news"], 1);
    p.call(0, &["ssubscribe", "orders"], 1);
    p.call(1, &["psubscribe", "*"], 1);
    p.quiet(2, &["hello", "3"]);
    p.call(2, &["ssubscribe", "orders"], 1);
    p.call(3, &["spublish", "orders", "o1"], 1);
    p.read(0, "smessage");
    p.read(2, "RESP3 smessage");
    p.call(3, &["publish", "orders", "plain"], 1);
    p.read(1, "pmessage of a plain channel");
    p.call(3, &["spublish", "nobody", "x"], 1);
    p.call(3, &["pubsub", "shardnumsub", "orders", "stock", "news"], 1);
    p.call(3, &["pubsub", "shardchannels", "st*"], 1);
    p.call(3, &["pubsub", "channels"], 1);
    p.call(3, &["multi"], 1);
    p.call(3, &["ssubscribe", "late"], 1);
    p.call(3, &["subscribe", "early"], 1);
    p.call(3, &["exec"], 1);
    p.call(3, &["ping"], 1);
    p.call(3, &["unsubscribe"], 1);
    p.call(3, &["ping"], 1);
    p.call(0, &["get", "x"], 1);
    p.call(0, &["sunsubscribe", "stock", "never"], 2);
    p.call(0, &["sunsubscribe"], 1);
    p.call(0, &["sunsubscribe"], 1);
    p.call(0, &["unsubscribe"], 1);
    p.call(0, &["get", "x"], 1);
    p.call(2, &["sunsubscribe"], 1);
    p.call(3, &["spublish", "orders", "gone"], 1);
    p.call(3, &["spublish", "orders"], 1);
    p.done();
}

/// A subscribed RESP2 connection: only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET run,
/// PING answers ["pong", arg]; in RESP3 anything runs. RESET leaves subscribed mode.
#[test]
fn subscribed_mode_limits_commands() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 3);
    p.call(0, &["subscribe", "c"], 1);
    p.call(0, &["get", "x"], 1);
    p.call(0, &["client", "list"], 1);
    p.call(0, &["ping"], 1);
    p.call(0, &["ping", "hi"], 1);
    p.call(0, &["subscribe"], 1);
    p.call(0, &["psubscribe", "p*"], 1);
    p.call(0, &["reset"], 1);
    p.call(0, &["get", "x"], 1);
    p.call(0, &["ping"], 1);
    p.quiet(1, &["hello", "3"]);
    p.call(1, &["subscribe", "c"], 1);
    p.call(1, &["set", "x", "1"], 1);
    p.call(1, &["get", "x"], 1);
    p.call(1, &["ping"], 1);
    p.call(2, &["publish", "c", "m"], 1);
    p.read(1, "RESP3 push after replies");
    p.call(2, &["publish", "p1", "m"], 1);
    p.done();
}

/// CLIENT LIST shows sub and psub counts and the P flag (compared field by field, ids and
/// addresses aside).
#[test]
fn client_list_shows_subscriptions() {
    let rustis = start_rustis(2);
    let mut s = Conn::new(rustis.port);
    s.call(&["subscribe", "a", "b"]);
    s.read_reply();
    s.call(&["psubscribe", "p*"]);
    let mut o = Conn::new(rustis.port);
    let list = String::from_utf8(o.call(&["client", "list", "type", "pubsub"])).unwrap();
    assert!(list.contains("flags=P "), "{list}");
    assert!(list.contains(" sub=2 psub=1 "), "{list}");
    let normal = String::from_utf8(o.call(&["client", "list", "type", "normal"])).unwrap();
    assert!(!normal.contains("flags=P"), "{normal}");
}

/// A subscriber that never reads is disconnected once its unsent messages pass the pubsub
/// limit (32 MB), and the server keeps answering everyone else.
#[test]
fn a_subscriber_that_never_reads_is_cut_off() {
    let rustis = start_rustis(2);
    let mut slow = Conn::new(rustis.port);
    slow.call(&["subscribe", "flood"]);
    let mut fast = Conn::new(rustis.port);
    fast.call(&["subscribe", "flood"]);
    let fast_stream = fast.stream();
    // Drain the fast subscriber in the background.
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut s = fast_stream;
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
            if total > 80 << 20 {
                break;
            }
        }
        total
    });
    let mut p = Conn::new(rustis.port);
    let payload = "x".repeat(64 * 1024);
    let mut receivers = Vec::new();
    for _ in 0..1200 {
        let r = p.call(&["publish", "flood", &payload]);
        receivers.push(String::from_utf8_lossy(&r).into_owned());
    }
    assert_eq!(receivers.first().map(String::as_str), Some(":2\r\n"));
    assert_eq!(
        receivers.last().map(String::as_str),
        Some(":1\r\n"),
        "the slow subscriber should have been disconnected"
    );
    assert_eq!(p.call(&["ping"]), b"+PONG\r\n");
    assert!(reader.join().unwrap() > 32 << 20);
}

/// `client-output-buffer-limit`: CONFIG SET takes groups of `<class> <hard> <soft> <seconds>`
/// (the classes given replace theirs) and refuses bad ones with Redis's texts; a subscriber
/// held to a small hard limit, or past its soft limit for longer than its seconds, is cut off
/// while the publisher goes on. Compared with redis-server where the outcome is deterministic.
#[test]
fn output_buffer_limits() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 1);
    for v in [
        "pubsub 1mb 512kb 5",
        "normal 0 0 0 replica 100mb 10mb 30",
        "PUBSUB 2gb 1k 0 slave 1 2 3",
        "",
        "pubsub 1mb",
        "bogus 1 2 3",
        "master 1 2 3",
        "pubsub 1xb 0 0",
        "pubsub 1 2 -1",
        "pubsub 1 2 x",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ] {
        p.call(0, &["config", "set", "client-output-buffer-limit", v], 1);
        p.call(0, &["config", "get", "client-output-buffer-limit"], 1);
    }
    p.done();

    for limits in ["pubsub 256kb 0 0", "pubsub 0 128kb 0"] {
        let mut admin = Conn::new(rustis.port);
        admin.call(&["config", "set", "client-output-buffer-limit", limits]);
        let mut slow = Conn::new(rustis.port);
        slow.call(&["subscribe", "flood"]);
        let mut publisher = Conn::new(rustis.port);
        // Well past what the kernel's socket buffers take in.
        let payload = "x".repeat(64 * 1024);
        let mut last = String::new();
        // A soft limit of 0 seconds is passed on the first message past it after the one that
        // reached it; a short pause lets the clock move on between the two.
        for i in 0..400 {
            if i == 200 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            last = String::from_utf8_lossy(&publisher.call(&["publish", "flood", &payload]))
                .into_owned();
        }
        assert_eq!(
            last, ":0\r\n",
            "{limits}: the slow subscriber should be gone"
        );
        assert_eq!(publisher.call(&["ping"]), b"+PONG\r\n");
    }
}
