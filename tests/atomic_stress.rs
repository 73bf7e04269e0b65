//! Atomicity under concurrency, with keys chosen on different workers (2 and 3 workers): writers
//! and readers race, and every reader checks an invariant that a half-applied command or block
//! would break. Each test runs a bounded number of rounds and stops by itself.

mod common;
use common::{int_of, owner, start_rustis, Conn};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

/// A writer's round `i` on its own connection.
type Writer = Box<dyn FnMut(&mut Conn, usize) + Send>;
/// A reader's check on its own connection.
type Reader = Box<dyn FnMut(&mut Conn) + Send>;

/// Two keys owned by different workers among `workers`, with `prefix`.
fn keys_apart(prefix: &str, workers: usize) -> (String, String) {
    let a = format!("{prefix}:0");
    for i in 1..10_000 {
        let b = format!("{prefix}:{i}");
        if owner(&a, workers) != owner(&b, workers) {
            return (a, b);
        }
    }
    unreachable!("no two keys apart")
}

/// The integers of an array reply (nulls as 0).
fn ints(reply: &[u8]) -> Vec<i64> {
    let text = String::from_utf8_lossy(reply);
    let mut lines = text.split("\r\n");
    let head = lines.next().unwrap_or("");
    assert!(head.starts_with('*'), "not an array: {text:?}");
    let mut out = Vec::new();
    while let Some(l) = lines.next() {
        if let Some(n) = l.strip_prefix(':') {
            out.push(n.parse().unwrap());
        } else if l == "$-1" {
            out.push(0);
        } else if l.starts_with('$') {
            out.push(lines.next().unwrap().parse().unwrap());
        }
    }
    out
}

/// Runs `writers` and `readers` (each given its own connection) concurrently for `rounds`
/// rounds of the writers; readers go on until the writers are done.
fn race(port: u16, writers: Vec<Writer>, readers: Vec<Reader>, rounds: usize) {
    let done = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for mut r in readers {
        let done = done.clone();
        handles.push(thread::spawn(move || {
            let mut c = Conn::new(port);
            let mut n = 0;
            while !done.load(Ordering::Relaxed) || n < 10 {
                r(&mut c);
                n += 1;
            }
        }));
    }
    let mut ws = Vec::new();
    for mut w in writers {
        ws.push(thread::spawn(move || {
            let mut c = Conn::new(port);
            for i in 0..rounds {
                w(&mut c, i);
            }
        }));
    }
    for w in ws {
        w.join().expect("writer");
    }
    done.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("reader");
    }
}

fn transfers_keep_the_total(workers: usize, tagged: bool) {
    let s = start_rustis(workers);
    let (a, b) = if tagged {
        ("{acct}a".to_string(), "{acct}b".to_string())
    } else {
        keys_apart("acct", workers)
    };
    let mut c = Conn::new(s.port);
    c.call(&["MSET", &a, "1000", &b, "1000"]);
    let writer = |a: String, b: String| -> Writer {
        Box::new(move |c: &mut Conn, i: usize| {
            let amount = (i % 7 + 1).to_string();
            c.call(&["MULTI"]);
            c.call(&["DECRBY", &a, &amount]);
            c.call(&["INCRBY", &b, &amount]);
            let r = c.call(&["EXEC"]);
            assert!(r.starts_with(b"*2\r\n"), "{}", String::from_utf8_lossy(&r));
        })
    };
    let block_reader = |a: String, b: String| -> Reader {
        Box::new(move |c: &mut Conn| {
            c.call(&["MULTI"]);
            c.call(&["GET", &a]);
            c.call(&["GET", &b]);
            let v = ints(&c.call(&["EXEC"]));
            assert_eq!(v.iter().sum::<i64>(), 2000, "torn read in MULTI: {v:?}");
        })
    };
    let mget_reader = |a: String, b: String| -> Reader {
        Box::new(move |c: &mut Conn| {
            let v = ints(&c.call(&["MGET", &a, &b]));
            assert_eq!(v.iter().sum::<i64>(), 2000, "torn MGET: {v:?}");
        })
    };
    race(
        s.port,
        vec![writer(a.clone(), b.clone()), writer(b.clone(), a.clone())],
        vec![
            block_reader(a.clone(), b.clone()),
            mget_reader(a.clone(), b.clone()),
        ],
        2000,
    );
    let v = ints(&c.call(&["MGET", &a, &b]));
    assert_eq!(v.iter().sum::<i64>(), 2000);
}

#[test]
fn transfers_keep_the_total_2_workers() {
    transfers_keep_the_total(2, false);
}

/// The same with both keys under one hash tag: blocks run whole on the owner (sent there when it
/// is busy, on its borrowed shard when it is parked).
#[test]
fn transfers_with_a_hash_tag_keep_the_total() {
    transfers_keep_the_total(2, true);
}

#[test]
fn transfers_keep_the_total_3_workers() {
    transfers_keep_the_total(3, false);
}

/// MSET of one value to both keys while readers MGET them: never two different values.
#[test]
fn mset_mget_never_tear() {
    for workers in [2, 3] {
        let s = start_rustis(workers);
        let (a, b) = keys_apart("tear", workers);
        let w = |a: String, b: String| -> Writer {
            Box::new(move |c: &mut Conn, i: usize| {
                let v = i.to_string();
                c.call(&["MSET", &a, &v, &b, &v]);
            })
        };
        let r = |a: String, b: String| -> Reader {
            Box::new(move |c: &mut Conn| {
                let v = ints(&c.call(&["MGET", &a, &b]));
                assert_eq!(v[0], v[1], "torn MGET {v:?}");
            })
        };
        race(
            s.port,
            vec![w(a.clone(), b.clone()), w(b.clone(), a.clone())],
            vec![r(a.clone(), b.clone()), r(b.clone(), a.clone())],
            3000,
        );
    }
}

/// RENAME back and forth between keys on different workers: `EXISTS a b` is always 1.
#[test]
fn rename_back_and_forth_is_never_seen_halfway() {
    let s = start_rustis(2);
    let (a, b) = keys_apart("ren", 2);
    Conn::new(s.port).call(&["SET", &a, "v"]);
    let (wa, wb) = (a.clone(), b.clone());
    let writer: Writer = Box::new(move |c, i| {
        let (from, to) = if i % 2 == 0 { (&wa, &wb) } else { (&wb, &wa) };
        let r = c.call(&["RENAME", from, to]);
        assert_eq!(r, b"+OK\r\n");
    });
    let (ra, rb) = (a.clone(), b.clone());
    let reader: Reader = Box::new(move |c| {
        let r = c.call(&["EXISTS", &ra, &rb]);
        assert_eq!(int_of(&r), Some(1), "EXISTS saw the rename halfway");
    });
    race(s.port, vec![writer], vec![reader], 3000);
}

/// SMOVE between sets on different workers keeps the total; so does LMOVE between lists.
#[test]
fn smove_and_lmove_keep_the_totals() {
    let s = start_rustis(2);
    let (s1, s2) = keys_apart("set", 2);
    let (l1, l2) = keys_apart("list", 2);
    let mut c = Conn::new(s.port);
    for i in 0..20 {
        let m = format!("m{i}");
        c.call(&["SADD", &s1, &m]);
        c.call(&["RPUSH", &l1, &m]);
    }
    let (a, b, la, lb) = (s1.clone(), s2.clone(), l1.clone(), l2.clone());
    let writer: Writer = Box::new(move |c, i| {
        let m = format!("m{}", i % 20);
        let (from, to) = if (i / 20) % 2 == 0 {
            (&a, &b)
        } else {
            (&b, &a)
        };
        c.call(&["SMOVE", from, to, &m]);
        let (lf, lt) = if i % 3 == 0 { (&lb, &la) } else { (&la, &lb) };
        c.call(&["LMOVE", lf, lt, "LEFT", "RIGHT"]);
    });
    let (a, b, la, lb) = (s1.clone(), s2.clone(), l1.clone(), l2.clone());
    let reader: Reader = Box::new(move |c| {
        c.call(&["MULTI"]);
        c.call(&["SCARD", &a]);
        c.call(&["SCARD", &b]);
        c.call(&["LLEN", &la]);
        c.call(&["LLEN", &lb]);
        let v = ints(&c.call(&["EXEC"]));
        assert_eq!(v[0] + v[1], 20, "SMOVE seen halfway: {v:?}");
        assert_eq!(v[2] + v[3], 20, "LMOVE seen halfway: {v:?}");
    });
    race(s.port, vec![writer], vec![reader], 2000);
}

/// A client that disconnects in the middle of MULTI leaves nothing applied.
#[test]
fn a_block_cut_by_a_hang_up_applies_nothing() {
    let s = start_rustis(2);
    let (a, b) = keys_apart("cut", 2);
    {
        let mut c = Conn::new(s.port);
        c.call(&["MULTI"]);
        c.call(&["SET", &a, "1"]);
        c.call(&["SET", &b, "1"]);
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut c = Conn::new(s.port);
    assert_eq!(int_of(&c.call(&["EXISTS", &a, &b])), Some(0));
}

/// Optimistic increments: each client WATCHes a counter pair (on different workers), reads it,
/// and writes both +1 in MULTI, retrying when EXEC fails. No increment may be lost, and the two
/// counters stay equal.
#[test]
fn watch_based_increments_lose_nothing() {
    const CLIENTS: usize = 4;
    const EACH: usize = 150;
    let s = start_rustis(2);
    let (a, b) = keys_apart("cas", 2);
    let mut handles = Vec::new();
    for _ in 0..CLIENTS {
        let (a, b, port) = (a.clone(), b.clone(), s.port);
        handles.push(thread::spawn(move || {
            let mut c = Conn::new(port);
            let mut done = 0;
            while done < EACH {
                c.call(&["WATCH", &a, &b]);
                let v = ints(&c.call(&["MGET", &a, &b]));
                assert_eq!(v[0], v[1], "counters apart: {v:?}");
                let next = (v[0] + 1).to_string();
                c.call(&["MULTI"]);
                c.call(&["SET", &a, &next]);
                c.call(&["SET", &b, &next]);
                let r = c.call(&["EXEC"]);
                if r.starts_with(b"*2\r\n") {
                    done += 1;
                } else {
                    assert_eq!(
                        r,
                        b"*-1\r\n",
                        "EXEC replied {}",
                        String::from_utf8_lossy(&r)
                    );
                }
            }
        }));
    }
    for h in handles {
        h.join().expect("client");
    }
    let v = ints(&Conn::new(s.port).call(&["MGET", &a, &b]));
    assert_eq!(v, vec![(CLIENTS * EACH) as i64; 2]);
}

/// Clients that send a whole block and hang up at once, while EXEC runs (here or sent to the
/// other worker): each block is applied whole or not at all.
#[test]
fn a_hang_up_during_exec_applies_all_or_nothing() {
    use std::io::Write;
    let s = start_rustis(2);
    let (a, b) = keys_apart("hup", 2);
    let tagged = ("{hup}a".to_string(), "{hup}b".to_string());
    for (x, y) in [(a, b), tagged] {
        for _ in 0..200 {
            let mut sock = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
            let mut p = Vec::new();
            for args in [
                vec!["MULTI"],
                vec!["INCR", x.as_str()],
                vec!["INCR", y.as_str()],
                vec!["EXEC"],
            ] {
                let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
                p.extend_from_slice(&common::encode(&a));
            }
            sock.write_all(&p).unwrap();
            drop(sock);
        }
        // Whatever ran, ran whole: both counters are equal once the server is quiet.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let v = ints(&Conn::new(s.port).call(&["MGET", &x, &y]));
        assert_eq!(v[0], v[1], "a block applied in part: {v:?}");
    }
}
