//! Differential tests of keyspace notifications for the generic commands (DEL, EXPIRE and its
//! family, PERSIST, RENAME, MOVE, COPY), expiry (lazy and active), `new` and `keymiss` events,
//! and CONFIG's view of `notify-keyspace-events`. Keys are spread over both workers (x, y on one,
//! z, b on the other), so events raised on different workers must still come in command order.
//! The families' own events are in tests/diff_notify_*.rs.

mod common;
use common::notify::NotifyDiff;
use common::Diff;

#[test]
fn config_shows_classes_as_redis_does() {
    let mut d = Diff::new();
    for v in ["KEA", "Elg$", "nmAK", "xn", "", "AKEm", "gKE$lshzxetd"] {
        d.check(&["config", "set", "notify-keyspace-events", v]);
        d.check(&["config", "get", "notify-keyspace-events"]);
    }
    d.check(&["config", "set", "notify-keyspace-events", "KEw"]);
    d.check(&["config", "get", "notify-keyspace-events"]);
}

#[test]
fn generic_commands_raise_redis_events_in_order() {
    let mut n = NotifyDiff::new("KEA");
    n.d.script("set x 1\nset z 2\nset y 3\nflushall");
    let ev = n.events(
        "
        mset x 1 z 2 y 3 b 4
        del x z nosuch y
        set x 1
        expire x 100
        pexpire x 100000
        expireat x 99999999999
        expire x 100 nx
        persist x
        persist x
        expire x -1
        set z 1
        rename z x
        rename x x
        renamenx x y
        set b 1
        move b 2
        set x 5
        copy x b
        copy x y db 3
        copy x b replace
        unlink b y x nosuch
        ",
    );
    assert!(
        ev.iter().any(|e| e == "__keyevent@0__:rename_to x"),
        "{ev:?}"
    );
}

#[test]
fn keyspace_only_and_keyevent_only() {
    for classes in ["Kg", "Eg", "g", "KE$"] {
        let mut n = NotifyDiff::new(classes);
        n.events("set x 1\nexpire x 10\ndel x\nset z 2\nrename z y");
    }
}

#[test]
fn expired_new_and_keymiss_events() {
    let mut n = NotifyDiff::new("KEA");
    // A key set to expire at once: read after it passed, it is an expired event (lazy).
    n.events("set x 1 px 1\nset z 1 px 1");
    std::thread::sleep(std::time::Duration::from_millis(20));
    n.events("get x\nexists z");
    // Keys on two workers, past their deadline, met by one command: each is an expired event.
    n.events("set x 1 px 1\nset z 1 px 1\nset y 1 px 1");
    std::thread::sleep(std::time::Duration::from_millis(20));
    n.events("msetnx x 1 z 2\nrename y b\nexists x z y");
    // `n` beside `A`: CONFIG shows `AKE`, yet new-key events are raised.
    let mut n = NotifyDiff::new("KEAn");
    n.events("set x 1\nset z 1\nset x 2");
    n.d.check(&["config", "get", "notify-keyspace-events"]);
    let mut n = NotifyDiff::new("KEn");
    n.events("set x 1\nset x 2\nset z 1\nrename z y\ncopy y b\nincr counter\nlpush l a\nsadd s a");
    let mut n = NotifyDiff::new("KEm");
    n.events("set x 1\nget x\nget nosuch\nexists nosuch x\ntype nosuch\nmget x z nosuch");
}

#[test]
fn active_expiry_raises_expired_events() {
    let mut n = NotifyDiff::new("Ex");
    n.events("set x 1 px 50\nset z 1 px 50\nset b 1 px 50");
    // Untouched, the keys go by active expiry; DBSIZE reaches 0 once they all went.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        let a = n.d.a.call(&["dbsize"]);
        let b = n.d.b.call(&["dbsize"]);
        if a == b":0\r\n" && b == b":0\r\n" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The order active expiry meets keys in is the table's; compare the sets of events.
    let ev = n.events_unordered();
    assert_eq!(ev.len(), 3, "{ev:?}");
}
