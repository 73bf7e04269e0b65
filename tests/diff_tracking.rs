//! Differential tests of client-side caching (CLIENT TRACKING) against redis-server 7.0: the
//! invalidation messages a tracking client gets (RESP3 pushes, or `__redis__:invalidate`
//! messages through REDIRECT to a RESP2 subscriber), for keys on both workers, in default,
//! OPTIN, OPTOUT, NOLOOP and BCAST (prefix) modes, after writes, deletes, expiry and flushes;
//! CLIENT CACHING, TRACKINGINFO, GETREDIR, the CLIENT LIST fields, INFO's counters, and every
//! argument error. Several clients are open at once, so with 2 workers the tracking client and
//! the writer are on different workers. Nothing is timed: a message that must come is read (it
//! blocks until it does), one that must not is checked by the next reply being PING's.

mod common;
use common::pair::Pair;
use common::{start_redis, start_rustis, Conn};

#[test]
fn default_mode_resp3_invalidates_once_per_read() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 3);
    p.call(1, &["mset", "x", "1", "z", "2", "y", "3"]);
    p.quiet(0, &["hello", "3"]);
    p.call(0, &["client", "tracking", "on"]);
    p.call(0, &["get", "x"]);
    p.call(0, &["mget", "z", "y"]);
    p.call(0, &["client", "trackinginfo"]);
    p.call(1, &["set", "x", "10"]);
    p.read(0, "invalidate x");
    // Told once: a second write says nothing until the key is read again.
    p.call(1, &["set", "x", "11"]);
    p.nothing_pending(0);
    p.call(1, &["del", "z", "y"]);
    p.read(0, "invalidate z");
    p.read(0, "invalidate y");
    p.call(0, &["get", "x"]);
    p.call(1, &["expire", "x", "100"]);
    p.read(0, "invalidate x after EXPIRE");
    // Its own write: the reply first, then the invalidation.
    p.call(0, &["get", "x"]);
    p.call(0, &["incr", "x"]);
    p.read(0, "invalidate x after its own write");
    // Expiry invalidates too.
    p.call(1, &["set", "t", "1", "px", "30"]);
    p.call(0, &["get", "t"]);
    std::thread::sleep(std::time::Duration::from_millis(60));
    p.call(1, &["get", "t"]);
    p.read(0, "invalidate t after expiry");
    // A flush: one null invalidation.
    p.call(0, &["get", "x"]);
    p.call(1, &["flushall"]);
    p.read(0, "invalidate null after FLUSHALL");
    p.call(0, &["client", "tracking", "off"]);
    p.call(0, &["get", "x"]);
    p.call(1, &["set", "x", "1"]);
    p.nothing_pending(0);
    p.call(0, &["client", "trackinginfo"]);
}

#[test]
fn redirect_to_a_resp2_subscriber() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 3);
    let (ra, rb) = p.ids(2);
    p.call(2, &["subscribe", "__redis__:invalidate"]);
    p.a[0].call(&["client", "tracking", "on", "redirect", &ra]);
    p.b[0].call(&["client", "tracking", "on", "redirect", &rb]);
    let (ga, gb) = p.quiet(0, &["client", "getredir"]);
    assert_eq!((ga, gb), (format!(":{ra}\r\n"), format!(":{rb}\r\n")));
    p.call(0, &["get", "z"]);
    p.call(0, &["get", "x"]);
    p.call(1, &["set", "z", "1"]);
    p.read(2, "invalidate z through redirect");
    p.call(1, &["set", "x", "1"]);
    p.read(2, "invalidate x through redirect");
    p.call(0, &["get", "x"]);
    p.call(1, &["flushdb"]);
    p.read(2, "invalidate null through redirect");
    // The redirect client goes: the tracking client's flag says so once a message was due.
    p.a[2] = Conn::new(redis.port);
    p.b[2] = Conn::new(rustis.port);
    // Each server notices the close on its own time: wait until both have let the old client go.
    for (c, id) in [(&mut p.a[0], &ra), (&mut p.b[0], &rb)] {
        let gone = (0..200).any(|_| {
            let list = c.call(&["client", "list", "id", id]);
            list == b"$0\r\n\r\n" || {
                std::thread::sleep(std::time::Duration::from_millis(5));
                false
            }
        });
        assert!(gone, "client {id} still listed");
    }
    p.call(0, &["get", "x"]);
    p.call(1, &["set", "x", "2"]);
    p.call(1, &["ping"]);
    // Ids differ between the servers: compare the flags.
    let (a, b) = p.quiet(0, &["client", "trackinginfo"]);
    assert!(a.contains("broken_redirect"), "{a}");
    assert!(b.contains("broken_redirect"), "{b}");
    let (a, b) = p.quiet(0, &["client", "list"]);
    assert!(a.contains("flags=tR "), "{a}");
    assert!(b.contains("flags=tR "), "{b}");
}

#[test]
fn optin_optout_noloop_and_bcast() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 3);
    p.quiet(0, &["hello", "3"]);
    p.call(0, &["client", "tracking", "on", "optin"]);
    p.call(0, &["get", "x"]);
    p.call(0, &["client", "caching", "yes"]);
    p.call(0, &["client", "trackinginfo"]);
    p.call(0, &["get", "z"]);
    p.call(1, &["set", "x", "1"]);
    p.call(1, &["set", "z", "1"]);
    p.read(0, "OPTIN: only z was tracked");
    p.nothing_pending(0);
    p.call(0, &["client", "tracking", "off"]);
    p.call(0, &["client", "tracking", "on", "optout", "noloop"]);
    p.call(0, &["client", "caching", "no"]);
    p.call(0, &["get", "x"]);
    p.call(0, &["get", "z"]);
    p.call(0, &["set", "z", "own write"]);
    p.call(1, &["set", "x", "2"]);
    p.call(1, &["set", "z", "3"]);
    p.nothing_pending(0);
    p.call(0, &["client", "tracking", "off"]);
    p.call(
        0,
        &[
            "client", "tracking", "on", "bcast", "prefix", "{u}a", "prefix", "{u}b",
        ],
    );
    p.call(0, &["client", "trackinginfo"]);
    p.call(
        1,
        &[
            "mset", "{u}b2", "1", "{u}a1", "2", "{u}c", "3", "{u}a0", "4",
        ],
    );
    p.read(0, "BCAST: both prefixes");
    p.read(0, "BCAST: both prefixes");
    p.call(1, &["set", "{u}c", "x"]);
    p.nothing_pending(0);
    p.call(0, &["client", "tracking", "on", "bcast", "prefix", "{u}a2"]);
    p.call(0, &["client", "tracking", "on", "bcast", "prefix", "{u}d"]);
    p.call(0, &["client", "trackinginfo"]);
    p.call(0, &["client", "tracking", "on"]);
}

#[test]
fn tracking_arguments_are_checked_as_redis_does() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 1);
    for args in [
        &["client", "tracking"][..],
        &["client", "tracking", "maybe"],
        &["client", "tracking", "on", "bogus"],
        &["client", "tracking", "on", "redirect"],
        &["client", "tracking", "on", "redirect", "x"],
        &["client", "tracking", "on", "redirect", "999999"],
        &["client", "tracking", "on", "prefix", "a"],
        &["client", "tracking", "on", "bcast", "optin"],
        &["client", "tracking", "on", "optin", "optout"],
        &[
            "client", "tracking", "on", "bcast", "prefix", "ab", "prefix", "a",
        ],
        &["client", "caching", "yes"],
        &["client", "caching"],
        &["client", "tracking", "on", "optin"],
        &["client", "caching", "no"],
        &["client", "caching", "maybe"],
        &["client", "tracking", "on", "optout"],
        &["client", "tracking", "on", "bcast"],
        &["client", "tracking", "off"],
        &["client", "tracking", "on", "bcast", "prefix", "a"],
        &["client", "tracking", "on", "bcast", "prefix", "ab"],
        &["client", "tracking", "on"],
        &["client", "getredir"],
        &["client", "tracking", "off", "bogus"],
    ] {
        p.call(0, args);
    }
}
