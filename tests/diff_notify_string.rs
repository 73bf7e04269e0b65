//! Differential tests of keyspace notifications for the string commands (SET and its options,
//! SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, MSET, MSETNX, the counters, APPEND, SETRANGE, and
//! the reads): the same commands on redis-server and Rustis, the events compared in order. No-op
//! and failing calls are included, since they must raise nothing. Keys are spread over both
//! workers (x, y, a, d, e, t on one; z, b, c, w, s on the other).

mod common;
use common::notify::NotifyDiff;
use std::thread::sleep;
use std::time::Duration;

#[test]
fn set_and_its_options() {
    for classes in ["KEA", "KEg$lxn", "E$", "Kg"] {
        let mut n = NotifyDiff::new(classes);
        let ev = n.events(
            "
            set x 1
            set x 2
            # NX on an existing key, XX on a missing one: nothing happens
            set x 3 nx
            set y 1 xx
            set x 4 xx
            set y 5 nx
            set x 6 get
            set z 7 get
            set x 8 ex 100
            set x 9 px 100000
            set x 10 exat 99999999999
            set x 11 pxat 99999999999999
            set x 12 keepttl
            set x 13 nx get
            set b 1 xx get
            set b 1 nx ex 100
            set b 2 xx px 100000 get
            set b 3 keepttl xx
            # errors: nothing happens
            set x 14 ex 0
            set x 15 ex abc
            set x 16 px -1
            set x 17 foo
            set x 18 ex 10 px 10
            set x 19 nx xx
            rpush l a
            set l v get
            set l v nx
            set l v
            ",
        );
        if classes == "KEA" {
            assert!(ev.iter().any(|e| e == "__keyevent@0__:set z"), "{ev:?}");
            assert!(ev.iter().any(|e| e == "__keyevent@0__:expire x"), "{ev:?}");
        }
    }
}

#[test]
fn set_with_a_past_deadline_expires_on_next_touch() {
    let mut n = NotifyDiff::new("KEg$lxn");
    // Redis 7.0 stores the key with its past deadline (set, expire), and it goes by expiry when
    // next touched.
    n.events("set x 1 pxat 1\nget x\nset z 1 exat 1\nexists z");
    n.events("set y 1\nset y 2 pxat 1 xx\nset y 3 nx");
}

#[test]
fn setnx_setex_psetex() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        setnx x 1
        setnx x 2
        setnx z 1
        setex z 100 v
        psetex y 100000 v
        setex b 100 v
        # errors
        setex z 0 v
        setex z abc v
        psetex x -5 v
        psetex x 0 v
        ",
    );
}

#[test]
fn getset_getdel() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        getset x 1
        getset x 2
        getset z 3
        getdel x
        getdel x
        getdel nosuch
        getdel z
        rpush l a
        getdel l
        getset l 1
        ",
    );
}

#[test]
fn getex_options() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        set z v
        getex z
        getex z ex 100
        getex z px 100000
        getex z exat 99999999999
        getex z pxat 99999999999999
        getex z persist
        # no TTL left: PERSIST changes nothing
        getex z persist
        getex nosuch ex 10
        getex nosuch persist
        # errors
        getex z ex 0
        getex z ex abc
        getex z ex 10 px 10
        getex z foo
        # an absolute time already past deletes the key
        set x v
        getex x exat 1
        getex x
        set y v
        getex y pxat 1
        rpush l a
        getex l ex 10
        ",
    );
}

#[test]
fn mset_and_msetnx_over_both_workers() {
    for classes in ["KEA", "KEg$lxn"] {
        let mut n = NotifyDiff::new(classes);
        let ev = n.events(
            "
            mset x 1 z 2 y 3 b 4
            mset x 1 x 2
            mset c 1
            msetnx a 1 w 2
            # fails: a exists, nothing is set
            msetnx d 1 a 2 s 3
            msetnx d 1 s 2 e 3
            msetnx t 1
            msetnx t 2
            mset x 1 z
            msetnx x 1 z
            ",
        );
        if classes == "KEA" {
            let sets: Vec<&String> = ev.iter().filter(|e| e.contains("keyevent")).collect();
            assert_eq!(sets.len(), 4 + 2 + 1 + 2 + 3 + 1, "{ev:?}");
        }
    }
}

#[test]
fn counters() {
    let mut n = NotifyDiff::new("KEg$lxn");
    n.events(
        "
        incr x
        incr x
        decr x
        incrby x 10
        decrby x 5
        incrby z 3
        decrby b 3
        decr c
        # errors: nothing happens
        incrby x abc
        decrby x -9223372036854775808
        set s foo
        incr s
        decr s
        incrby s 2
        set w 9223372036854775807
        incr w
        incrby w 1
        set w -9223372036854775808
        decr w
        rpush l a
        incr l
        ",
    );
    n.events(
        "
        incrbyfloat y 1.5
        incrbyfloat y 2
        incrbyfloat x 1.5
        incrbyfloat t 0
        # errors
        incrbyfloat s 1
        incrbyfloat y abc
        incrbyfloat y inf
        incrbyfloat nosuch abc
        incrbyfloat l 1
        ",
    );
}

#[test]
fn append_and_setrange() {
    let mut n = NotifyDiff::new("KEg$lxn");
    n.events(
        "
        append x foo
        append x bar
        append z 12
        append z 3
        setrange y 0 abc
        setrange y 10 z
        setrange b 2 q
        # errors
        setrange y -1 a
        setrange y abc a
        rpush l a
        append l x
        setrange l 0 x
        ",
    );
    // Empty values: APPEND still raises its event (and creates the key), SETRANGE does not.
    for args in [
        &["append", "x", ""][..],
        &["append", "e", ""],
        &["setrange", "y", "0", ""],
        &["setrange", "y", "100", ""],
        &["setrange", "nosuch", "0", ""],
        &["setrange", "l", "0", ""],
    ] {
        n.d.check(args);
    }
    n.events("exists e nosuch");
}

#[test]
fn reads_raise_only_keymiss() {
    let mut n = NotifyDiff::new("KEAm");
    n.events(
        "
        set x abc
        set z abd
        get x
        get nosuch
        mget x nosuch z y
        strlen nosuch
        strlen x
        getrange nosuch 0 1
        getrange x 0 1
        substr x 0 1
        substr nosuch 0 1
        lcs x z
        lcs nosuch z
        lcs x nosuch
        lcs x z len
        getex nosuch
        getdel nosuch
        getset nosuch 1
        set b 1 get
        ",
    );
}

#[test]
fn writes_over_expired_keys() {
    let mut n = NotifyDiff::new("KEg$lxn");
    let setup = "
        set x 1 px 1
        set z 1 px 1
        set y 1 px 1
        set b 1 px 1
        set a 1 px 1
        set c 1 px 1
        set d 1 px 1
        set w 1 px 1
        set e 1 px 1
        set s 1 px 1
        set t 1 px 1
        set {t}1 1 px 1
        set {t}2 1 px 1
        ";
    n.d.script(setup);
    sleep(Duration::from_millis(20));
    // Whether a key went by active expiry before or by the command's lookup, the events are the
    // same: expired, then what the command did.
    n.events_per_key(
        "
        set x 2
        set z 2 nx
        set y 2 xx
        set b 2 get
        incr a
        append c foo
        setrange d 0 x
        setrange w 0 x
        incrbyfloat e abc
        # both keys on one worker: a step over keys of both workers runs on copies of the live
        # keys only, so it cannot see (and raise `expired` for) an expired one
        msetnx {t}1 1 {t}2 2
        ",
    );
    n.d.script(setup);
    sleep(Duration::from_millis(20));
    n.events_per_key(
        "
        set x 2 keepttl
        setnx z 2
        setex y 10 v
        getset b 2
        getdel a
        getex c persist
        mset d 1 w 2
        incrbyfloat e 1
        decrby s 1
        get t
        lcs {t}1 {t}2
        ",
    );
}
