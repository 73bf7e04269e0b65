//! Differential tests of keyspace notifications for the hash commands (HSET, HMSET, HSETNX, HDEL,
//! HINCRBY, HINCRBYFLOAT, and the reads): the same commands on redis-server and Rustis, the
//! events compared in order. No-op and failing calls are included, since they must raise nothing.
//! Keys are spread over both workers (x, y, a, d, e, t on one; z, b, c, w, s on the other).

mod common;
use common::notify::NotifyDiff;
use std::thread::sleep;
use std::time::Duration;

#[test]
fn hset_hmset_hsetnx() {
    for classes in ["KEA", "KEg$hxn", "Eh", "Kg"] {
        let mut n = NotifyDiff::new(classes);
        n.events(
            "
            hset x f v
            # the same value again: still an event, as in Redis
            hset x f v
            hset x f v g w
            hmset x a 1 b 2
            hmset z a 1
            hset z a 2 b 3 c 4
            # errors: nothing happens
            hset x f
            hmset x a 1 b
            hsetnx x f other
            hsetnx x n 1
            hsetnx y f v
            hsetnx y f w
            set s v
            hset s f v
            hmset s f v
            hsetnx s f v
            ",
        );
    }
}

#[test]
fn hdel_and_the_emptied_key() {
    let mut n = NotifyDiff::new("KEg$hxn");
    let ev = n.events(
        "
        hset x f v g w a 1 b 2
        hdel x nosuch
        hdel nosuch f
        hdel x f g nosuch
        # the last fields: hdel, then del
        hdel x a b
        exists x
        hset z f v
        hdel z f f f
        hset b f v g w
        hdel b g nosuch f
        set s v
        hdel s f
        ",
    );
    assert!(
        ev.windows(2)
            .any(|w| w[0] == "__keyevent@0__:hdel x" && w[1] == "__keyspace@0__:x del"),
        "{ev:?}"
    );
    // A hash in its hashtable encoding (more fields than hash-max-listpack-entries).
    let mut script = String::from("hset c");
    for i in 0..200 {
        script.push_str(&format!(" f{i} {i}"));
    }
    script.push_str("\nhdel c");
    for i in 0..200 {
        script.push_str(&format!(" f{i}"));
    }
    n.events(&script);
}

#[test]
fn hincrby_hincrbyfloat() {
    let mut n = NotifyDiff::new("KEg$hxn");
    n.events(
        "
        hincrby x f 1
        hincrby x f -3
        hincrby z f 10
        # errors: nothing happens
        hincrby x f abc
        hset x s str
        hincrby x s 1
        hset x big 9223372036854775807
        hincrby x big 1
        hincrby nosuch f abc
        hincrbyfloat y fl 1.5
        hincrbyfloat y fl 2.5
        hincrbyfloat x f 0.5
        hincrbyfloat b fl 1e3
        hincrbyfloat y fl inf
        hincrbyfloat y fl abc
        hincrbyfloat x s 1
        hset y huge 1e4932
        hincrbyfloat y huge 1e4932
        hincrbyfloat nosuch f nan
        set s v
        hincrby s f 1
        hincrbyfloat s f 1
        ",
    );
}

#[test]
fn reads_raise_only_keymiss() {
    let mut n = NotifyDiff::new("KEAm");
    n.events(
        "
        hset x f v
        hset z g 12
        hget x f
        hget x nosuch
        hget nosuch f
        hmget x f nosuch
        hmget nosuch f
        hgetall x
        hgetall nosuch
        hlen x
        hlen nosuch
        hexists x f
        hexists nosuch f
        hkeys z
        hkeys nosuch
        hvals z
        hvals nosuch
        hstrlen z g
        hstrlen nosuch g
        hrandfield x
        hrandfield x 3
        hrandfield x -3 withvalues
        hrandfield nosuch
        hrandfield nosuch 2
        hrandfield nosuch abc
        hscan x 0
        hscan nosuch 0
        hscan nosuch abc
        hdel nosuch f
        ",
    );
}

#[test]
fn writes_over_expired_keys() {
    let mut n = NotifyDiff::new("KEg$hxn");
    let setup = "
        hset x f v
        hset z f v
        hset y f v
        hset b f v
        hset a f v
        hset c f v
        pexpire x 1
        pexpire z 1
        pexpire y 1
        pexpire b 1
        pexpire a 1
        pexpire c 1
        ";
    n.d.script(setup);
    sleep(Duration::from_millis(20));
    // Whether a key went by active expiry before or by the command's lookup, the events are the
    // same: expired, then what the command did.
    n.events(
        "
        hset x g w
        hsetnx z f v
        hdel y f
        hincrby b f 1
        hincrbyfloat a f 1.5
        hget c f
        ",
    );
}
