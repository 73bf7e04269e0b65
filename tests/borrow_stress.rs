//! The borrowing handoff under contention: clients on both workers increment shared counters on
//! both workers' shards, some one request at a time (the requests that borrow a parked owner's
//! shard), some pipelined (forwarded, batched), while owners park and wake. No increment may be
//! lost or applied twice, and each client must see its own increments in order.

mod common;

use std::thread;

use common::{encode, start_rustis, Conn};

const COUNTERS: usize = 16;
const CLIENTS: usize = 8;
const ROUNDS: usize = 1500;

fn int(reply: &[u8]) -> i64 {
    let s = std::str::from_utf8(reply).expect("utf8");
    s.strip_prefix(':')
        .and_then(|v| v.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {s:?}"))
}

#[test]
fn borrowed_and_forwarded_increments_are_never_lost() {
    let server = start_rustis(2);
    let port = server.port;
    let keys: Vec<String> = (0..COUNTERS).map(|i| format!("{{c{i}}}n")).collect();
    let owners: Vec<usize> = keys
        .iter()
        .map(|k| rustis::keyslot::slot_owner(rustis::keyslot::key_slot(k.as_bytes()), 2))
        .collect();
    assert!(
        owners.contains(&0) && owners.contains(&1),
        "counters on both workers"
    );
    let mut threads = Vec::new();
    for c in 0..CLIENTS {
        let keys = keys.clone();
        threads.push(thread::spawn(move || {
            let mut conn = Conn::new(port);
            let mut last = [0i64; COUNTERS];
            let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ c as u64;
            let mut next = || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            let mut done = 0usize;
            while done < ROUNDS {
                // Odd clients pipeline bursts; even ones send one request at a time.
                let burst = if c % 2 == 1 {
                    1 + (next() % 32) as usize
                } else {
                    1
                };
                let picks: Vec<usize> = (0..burst)
                    .map(|_| (next() % COUNTERS as u64) as usize)
                    .collect();
                let mut req = Vec::new();
                for &p in &picks {
                    req.extend(encode(&[b"INCR", keys[p].as_bytes()]));
                    // A read of the other worker between writes, as real clients mix them.
                    req.extend(encode(&[b"GET", keys[(p + 1) % COUNTERS].as_bytes()]));
                }
                conn.send_raw(&req);
                for &p in &picks {
                    let v = int(&conn.read_reply());
                    assert!(
                        v > last[p],
                        "client {c}: counter {p} went from {} to {v}",
                        last[p]
                    );
                    last[p] = v;
                    let _ = conn.read_reply();
                }
                done += burst;
            }
            done
        }));
    }
    let total: usize = threads.into_iter().map(|t| t.join().expect("client")).sum();
    let mut conn = Conn::new(port);
    let mut sum = 0i64;
    for k in &keys {
        let r = conn.call(&["GET", k]);
        let s = String::from_utf8_lossy(&r).into_owned();
        sum += s
            .lines()
            .nth(1)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
    }
    assert_eq!(sum, total as i64, "increments lost or doubled");
    let info = String::from_utf8_lossy(&conn.call(&["INFO", "stats"])).into_owned();
    let borrowed: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("rustis_commands_borrowed:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("rustis_commands_borrowed");
    eprintln!("{total} increments, {borrowed} commands ran on a borrowed shard");
}
