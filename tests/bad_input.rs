//! Malformed and hostile input, checked against redis-server where its behaviour is observable: the
//! same reply bytes, the connection closed exactly when Redis closes it, every other client still
//! served, and no panic (after each case a fresh connection still gets PONG).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends raw bytes (all at once, or one byte at a time); returns what came back within a short quiet
/// period and whether the server closed the connection.
fn exchange_with(port: u16, bytes: &[u8], byte_by_byte: bool) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    if byte_by_byte {
        for b in bytes {
            if s.write_all(&[*b]).is_err() {
                break;
            }
        }
    } else {
        let _ = s.write_all(bytes);
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return (out, false)
            }
            Err(_) => return (out, true),
        }
    }
}

fn exchange(port: u16, bytes: &[u8]) -> (Vec<u8>, bool) {
    exchange_with(port, bytes, false)
}

/// A fresh connection still gets PONG: the server survived.
fn alive(port: u16) {
    let mut c = common::Conn::new(port);
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n", "server must keep serving");
}

/// Sends `case` to both servers and asserts the same replies and the same close/keep-open outcome.
fn same_as_redis(redis: u16, rustis: u16, case: &[u8], byte_by_byte: bool) {
    let want = exchange_with(redis, case, byte_by_byte);
    let got = exchange_with(rustis, case, byte_by_byte);
    assert_eq!(
        (String::from_utf8_lossy(&got.0), got.1),
        (String::from_utf8_lossy(&want.0), want.1),
        "input {:?} byte_by_byte={byte_by_byte} (left: rustis, right: redis; bool: closed)",
        String::from_utf8_lossy(&case[..case.len().min(200)])
    );
    alive(rustis);
}

/// Runs `f` on every case, each in its own thread (every case waits out a quiet period; they are
/// independent connections).
fn par<T: Sync>(cases: &[T], f: impl Fn(&T) + Sync) {
    std::thread::scope(|s| {
        let handles: Vec<_> = cases.iter().map(|c| s.spawn(|| f(c))).collect();
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

/// Malformed requests and edge cases of both protocols (multibulk and inline).
const CASES: &[&[u8]] = &[
    // Malformed multibulk headers.
    b"*x\r\n",
    b"*\r\n",
    b"* 1\r\n",
    b"*1 \r\n",
    b"*01\r\n",
    b"*2147483648\r\n",
    b"*99999999999999999999\r\n",
    b"*-0\r\n",
    // Malformed bulk headers.
    b"*1\r\n+foo\r\n",
    b"*1\r\n:1\r\n",
    b"*1\r\n*1\r\n",
    b"*1\r\n\r\n",
    b"*1\r\n$-5\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$-0\r\n",
    b"*1\r\n$+5\r\n",
    b"*1\r\n$ 4\r\nPING\r\n",
    b"*1\r\n$04\r\nPING\r\n",
    b"*1\r\n$abc\r\n",
    b"*1\r\n$1x\r\n",
    b"*1\r\n$99999999999999999999\r\n",
    // Beyond proto-max-bulk-len (512 MB): rejected at once.
    b"*1\r\n$536870913\r\n",
    b"*1\r\n$600000000\r\n",
    // Exactly proto-max-bulk-len: accepted, the server waits for the payload.
    b"*1\r\n$536870912\r\n",
    // A huge but valid multibulk count: the server waits for the arguments.
    b"*2147483647\r\n",
    b"*1048576\r\n$4\r\nPING\r\n",
    // Incomplete frames: no reply, connection kept.
    b"*1\r\n$4\r\nPI",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n",
    b"*1\r\n$4\r\n",
    b"*1",
    // Payload terminator not checked, as in Redis (two bytes skipped).
    b"*1\r\n$3\r\nabcXYPING\r\n",
    b"*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n",
    // Empty and degenerate requests.
    b"*0\r\n",
    b"*-5\r\nPING\r\n",
    b"*0\r\n*-1\r\nPING\r\n",
    b"*1\r\n$0\r\n\r\n",
    b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
    b"\r\n\r\nPING\r\n",
    b"\n\n\nPING\n",
    b"  \r\n  \r\nPING\r\n",
    // Inline commands and their quoting.
    b"PING\n",
    b"PING\r\n",
    b"  PING  \r\n",
    b"ping\tx\r\n",
    b"*1\n$4\nPING\n",
    b"SET a \"b c\"\r\nGET a\r\n",
    b"ECHO 'a\\'b'\r\n",
    b"ECHO \"\\x41\\n\"\r\n",
    b"ECHO \"\\x4g\"\r\n",
    b"ECHO \"\\q\"\r\n",
    b"ECHO \"\\\"\"\r\n",
    b"ECHO a\"b\r\n",
    b"ECHO \"a\" \"b\"\r\n",
    b"ECHO \"\"\r\n",
    b"ECHO ''\r\n",
    b"GET\r\n",
    b"SET k\r\n",
    b"PING a b c\r\n",
    // Unbalanced quotes in inline commands: error, then close.
    b"SET \"a b\r\n",
    b"SET 'a\r\n",
    b"SET \"a\"b c\r\n",
    b"ECHO 'a'b\r\n",
    b"\"unbalanced\r\n",
    b"'\r\n",
    b"PING\r\nGARBAGE \"\r\nPING\r\n",
    // A NUL before the newline: Redis's strchr() never sees the newline, the request stays pending.
    b"ECHO \x00\r\n",
    b"\x00\x01\x02\r\n",
    b"PING\r\n\x00PING\r\n",
    // Replies already computed go out before the protocol error; nothing after it runs.
    b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n",
    b"*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    b"SET after 1\r\n*1\r\n$x\r\nSET after 2\r\n",
    // QUIT: reply, then close; later commands are not run.
    b"QUIT\r\nPING\r\n",
    b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n",
];

#[test]
fn protocol_errors_match_redis_and_close() {
    let redis = common::start_redis();
    let rustis = common::start_rustis(2);
    par(CASES, |case| {
        same_as_redis(redis.port, rustis.port, case, false)
    });
    // Both have the same data after all that.
    let mut a = common::Conn::new(redis.port);
    let mut b = common::Conn::new(rustis.port);
    for key in ["k", "a", "after"] {
        assert_eq!(b.call(&["GET", key]), a.call(&["GET", key]), "GET {key}");
    }
}

#[test]
fn split_frames_byte_by_byte_match_redis() {
    let redis = common::start_redis();
    let rustis = common::start_rustis(2);
    let short: Vec<&[u8]> = CASES.iter().copied().filter(|c| c.len() < 64).collect();
    par(&short, |case| {
        same_as_redis(redis.port, rustis.port, case, true)
    });
}

#[test]
fn pipelines_across_workers_then_protocol_error() {
    let redis = common::start_redis();
    let rustis = common::start_rustis(2);
    assert_ne!(common::owner("a", 2), common::owner("b", 2));
    let cases: &[&[u8]] = &[
        b"SET a 1\r\nSET b 2\r\nGET a\r\nGET b\r\nMGET a b c d\r\n*x\r\nGET a\r\n",
        b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$3\r\nGET\r\n$1\r\nd\r\n*1\r\n+x\r\n",
        b"MSET a 1 b 2 c 3 d 4\r\nRENAME a b\r\nCOPY b zz\r\nEXISTS a b c d zz\r\nDEL b zz\r\n\"\r\n",
        b"SET a 1\r\nSET b 2\r\nQUIT\r\nGET a\r\n",
        b"GET a\r\nGET b\r\nGET c\r\nGET d\r\nQUIT\r\n",
        b"MGET a b c d\r\nDEL a b c d\r\nEXISTS a b\r\n*1\r\n$-3\r\n",
    ];
    // Sequential: the cases share keys.
    for case in cases {
        for byte_by_byte in [false, true] {
            same_as_redis(redis.port, rustis.port, case, byte_by_byte);
        }
    }
}

#[test]
fn oversized_inline_and_header_lines() {
    let redis = common::start_redis();
    let rustis = common::start_rustis(2);
    let cases = [
        vec![b'a'; 70 * 1024],
        [b"*".as_slice(), &vec![b'1'; 70 * 1024]].concat(),
        [b"*1\r\n$".as_slice(), &vec![b'1'; 70 * 1024]].concat(),
        // A NUL hides the newline from Redis: the request grows until it is too big.
        [b"PING \x00".as_slice(), &vec![b'\n'; 70 * 1024]].concat(),
    ];
    par(&cases, |case| {
        same_as_redis(redis.port, rustis.port, case, false)
    });
}

#[test]
fn random_garbage_matches_redis() {
    let redis = common::start_redis();
    let rustis = common::start_rustis(2);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Pieces of protocol, so that the garbage often gets past the first byte.
    let pieces: &[&[u8]] = &[
        b"*", b"$", b"\r\n", b"\n", b"\r", b"1", b"2", b"-1", b"0", b" ", b"\"", b"'", b"\\", b"x",
        b"PING", b"ECHO", b"GET", b"+", b":", b"9", b"\t", b"\\x41", b"a",
    ];
    let mut cases = Vec::new();
    for i in 0..60 {
        let case: Vec<u8> = if i % 2 == 0 {
            (0..1 + next() % 24)
                .flat_map(|_| pieces[(next() % pieces.len() as u64) as usize].to_vec())
                .collect()
        } else {
            // Printable-ish bytes (no NUL: see the NUL cases above), UTF-8 or not.
            (0..1 + next() % 48)
                .map(|_| (next() % 255 + 1) as u8)
                .collect()
        };
        cases.push(case);
    }
    par(&cases, |case| {
        let want = exchange(redis.port, case);
        let got = exchange(rustis.port, case);
        // Byte for byte, non-UTF-8 command names included.
        assert_eq!(got, want, "input {case:?} (left: rustis, right: redis)");
    });
    alive(rustis.port);
}

#[test]
fn garbage_and_abandoned_pipelines_leave_the_server_serving() {
    let rustis = common::start_rustis(2);
    let mut seed = 0x1234_5678_9abc_def0u64;
    for _ in 0..50 {
        let bytes: Vec<u8> = (0..512)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = exchange(rustis.port, &bytes);
    }
    alive(rustis.port);
    // Half a pipeline (with keys on every worker), then disconnect without reading.
    for cut in [1, 7, 100, 10_000] {
        let mut s = TcpStream::connect(("127.0.0.1", rustis.port)).unwrap();
        let mut p = Vec::new();
        for i in 0..1000 {
            p.extend_from_slice(&common::encode(&[b"SET", format!("k{i}").as_bytes(), b"v"]));
            p.extend_from_slice(&common::encode(&[
                b"MGET",
                format!("k{i}").as_bytes(),
                b"a",
                b"b",
            ]));
        }
        s.write_all(&p[..(p.len() / 2 + cut).min(p.len())]).unwrap();
        drop(s);
        alive(rustis.port);
    }
    // A whole pipeline sent, the socket closed before any reply is read.
    {
        let mut s = TcpStream::connect(("127.0.0.1", rustis.port)).unwrap();
        let mut p = Vec::new();
        for i in 0..5000 {
            p.extend_from_slice(&common::encode(&[
                b"INCR",
                format!("c{}", i % 50).as_bytes(),
            ]));
        }
        s.write_all(&p).unwrap();
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    alive(rustis.port);
    // The keys written by completed requests are readable from every worker.
    let mut c = common::Conn::new(rustis.port);
    assert_eq!(c.call(&["GET", "k0"]), b"$1\r\nv\r\n");
}

#[test]
fn a_client_that_never_reads_does_not_block_others() {
    let rustis = common::start_rustis(2);
    let mut greedy = TcpStream::connect(("127.0.0.1", rustis.port)).unwrap();
    greedy
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut setup = common::Conn::new(rustis.port);
    setup.call(&["SET", "big", &"x".repeat(64 * 1024)]);
    setup.call(&["SET", "a", "on-worker-1"]);
    setup.call(&["SET", "b", "on-worker-0"]);
    let mut batch = Vec::new();
    for _ in 0..100 {
        batch.extend_from_slice(&common::encode(&[b"GET", b"big"]));
        batch.extend_from_slice(&common::encode(&[b"MGET", b"a", b"b", b"big"]));
    }
    // Keep sending GETs of a 64 KB value without reading any reply, until the socket pushes back.
    for _ in 0..500 {
        if greedy.write_all(&batch).is_err() {
            break;
        }
    }
    // Everyone else is still served, on every worker, while the greedy client stays connected.
    for _ in 0..3 {
        let mut other = common::Conn::new(rustis.port);
        assert_eq!(other.call(&["PING"]), b"+PONG\r\n");
        for i in 0..100 {
            let k = format!("key{i}");
            assert_eq!(other.call(&["SET", &k, "v"]), b"+OK\r\n");
            assert_eq!(other.call(&["GET", &k]), b"$1\r\nv\r\n");
        }
        assert_eq!(
            other.call(&["MGET", "a", "b"]),
            b"*2\r\n$11\r\non-worker-1\r\n$11\r\non-worker-0\r\n"
        );
    }
    // The greedy client's replies are all still coming, in order, once it reads.
    greedy
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = vec![0u8; 16];
    greedy.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"$65536\r\nxxxxxxxx");
    drop(greedy);
    alive(rustis.port);
}

#[test]
fn many_bad_clients_at_once() {
    let rustis = common::start_rustis(3);
    let port = rustis.port;
    let threads: Vec<_> = (0..16)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..20 {
                    let case: &[u8] = match (t + i) % 4 {
                        0 => b"*x\r\n",
                        1 => b"SET \"a\r\n",
                        2 => b"*1\r\n$-5\r\n",
                        _ => b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n+x\r\n",
                    };
                    let (reply, closed) = exchange(port, case);
                    assert!(closed, "protocol error closes the connection");
                    assert!(
                        String::from_utf8_lossy(&reply).contains("-ERR Protocol error"),
                        "{reply:?}"
                    );
                }
            })
        })
        .collect();
    let mut good = common::Conn::new(port);
    for i in 0..200 {
        assert_eq!(good.call(&["INCR", &format!("n{}", i % 7)])[0], b':');
    }
    for t in threads {
        t.join().unwrap();
    }
    alive(port);
}
