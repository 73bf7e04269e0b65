//! Differential tests of CLIENT PAUSE / UNPAUSE against redis-server 7.0: which commands a WRITE
//! pause holds (writes, PUBLISH, EVAL, an EXEC of a block with a write, a write queued in MULTI)
//! and which run (reads, an EXEC of reads), the held clients counted in INFO blocked_clients,
//! their replies once unpaused, expiry held during a pause, and the argument errors. Several
//! clients are open at once, so with 2 workers the pausing client and the held ones are on
//! different workers. Nothing here is timed: a held command is seen through blocked_clients.

mod common;
use common::pair::Pair;
use common::{start_redis, start_rustis};
use std::time::Duration;

#[test]
fn write_pause_holds_writes_and_lets_reads_run() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 5);
    p.call(0, &["set", "x", "1"]);
    p.call(1, &["multi"]);
    p.call(1, &["set", "z", "queued-before"]);
    p.call(0, &["client", "pause", "100000", "write"]);
    // Reads run at once, from any client.
    for i in 0..5 {
        if i != 1 {
            p.call(i, &["get", "x"]);
            p.call(i, &["ping"]);
        }
    }
    p.call(4, &["multi"]);
    p.call(4, &["get", "x"]);
    p.call(4, &["exec"]);
    // Writes, PUBLISH, EVAL and an EXEC of a block with a write are held.
    p.send(2, &["set", "x", "2"]);
    p.blocked(0, 1);
    p.send(3, &["publish", "ch", "m"]);
    p.blocked(0, 2);
    p.send(1, &["exec"]);
    p.blocked(0, 3);
    p.send(4, &["eval", "return 1", "0"]);
    p.blocked(0, 4);
    p.call(0, &["get", "x"]);
    p.call(0, &["client", "unpause"]);
    p.read(2, "held SET");
    p.read(3, "held PUBLISH");
    p.read(1, "held EXEC");
    p.read(4, "held EVAL");
    p.blocked(0, 0);
    p.call(0, &["mget", "x", "z"]);
}

#[test]
fn all_pause_holds_everything_until_it_ends() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 4);
    p.call(0, &["set", "x", "1"]);
    // A short pause: the held commands run once it ends by itself.
    p.call(0, &["client", "pause", "300"]);
    p.send(1, &["get", "x"]);
    p.send(2, &["set", "z", "2"]);
    p.send(3, &["ping"]);
    p.read(1, "held GET");
    p.read(2, "held SET");
    p.read(3, "held PING");
    p.call(0, &["get", "z"]);
    // A write queued inside MULTI is held too (the pause comes before queueing).
    p.call(1, &["multi"]);
    p.call(0, &["client", "pause", "100000", "write"]);
    p.send(1, &["incr", "n"]);
    p.blocked(0, 1);
    p.call(0, &["client", "unpause"]);
    p.read(1, "held INCR inside MULTI");
    p.call(1, &["exec"]);
}

#[test]
fn expiry_is_held_during_a_pause() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 2);
    p.call(0, &["set", "x", "1", "px", "100"]);
    p.call(0, &["set", "z", "1", "px", "100"]);
    p.call(0, &["client", "pause", "100000", "write"]);
    std::thread::sleep(Duration::from_millis(300));
    // Past their deadline, the keys read as absent, but stay.
    p.call(1, &["get", "x"]);
    p.call(1, &["exists", "z"]);
    p.call(1, &["dbsize"]);
    p.call(0, &["client", "unpause"]);
    p.call(1, &["get", "x"]);
    p.call(1, &["get", "z"]);
}

#[test]
fn pause_arguments_are_checked_as_redis_does() {
    let (redis, rustis) = (start_redis(), start_rustis(2));
    let mut p = Pair::new(redis.port, rustis.port, 1);
    for args in [
        &["client", "pause"][..],
        &["client", "pause", "abc"],
        &["client", "pause", "-1"],
        &["client", "pause", "1.5"],
        &["client", "pause", "10", "read"],
        &["client", "pause", "abc", "read"],
        &["client", "pause", "10", "all", "extra"],
        &["client", "unpause", "x"],
        &["client", "pause", "0", "write"],
        &["client", "unpause"],
        &["client", "no-evict", "on"],
        &["client", "no-evict", "maybe"],
        &["client", "no-evict", "off"],
        &["client", "getredir"],
        &["client", "trackinginfo"],
        &["wait", "0", "0"],
        &["wait", "x", "0"],
        &["wait", "0", "-1"],
        &["wait", "0", "x"],
    ] {
        p.call(0, args);
    }
}
