//! Differential tests of MULTI / EXEC / DISCARD against a real redis-server: queueing replies,
//! errors while queueing (EXECABORT), runtime errors returned in place, nesting, SELECT inside a
//! block, EXEC's reply in RESP2 and RESP3, with the block's keys on both workers.

mod common;
use common::{owner, Diff};

const BLOCKS: &str = "
    EXEC
    DISCARD
    MULTI
    SET a 1
    INCR b
    MGET a b
    MSET a 2 b 3
    GET a
    LPUSH a x
    INCR a
    EXEC
    MGET a b
    MULTI
    MULTI
    SET a 5
    EXEC
    GET a
    MULTI
    SET a 6
    NOSUCHCOMMAND x
    GET
    SET a 7
    EXEC
    GET a
    EXEC
    MULTI
    EXEC
    MULTI
    SET a 8
    DISCARD
    GET a
    DISCARD
    MULTI
    SELECT 1
    SET a other-db
    GET a
    SELECT 0
    GET a
    EXEC
    SELECT 1
    GET a
    SELECT 0
    MULTI
    DEL a b nosuch
    RENAME c d
    SET c v
    RENAME c d
    EXISTS a b c d
    EXEC
    MULTI
    SHUTDOWN
    SET z 1
    EXEC
    EXISTS z
    MULTI
    CONFIG GET nosuch
    CONFIG NOSUCH
    EXEC
    MULTI
    PING
    ECHO hi
    DBSIZE
    EXEC
    MULTI
    SET q 1
    RESET
    EXEC
";

#[test]
fn multi_exec_discard_match_redis() {
    assert_ne!(
        owner("a", 2),
        owner("b", 2),
        "a and b must be on different workers"
    );
    assert_ne!(
        owner("c", 2),
        owner("d", 2),
        "c and d must be on different workers"
    );
    let mut d = Diff::new();
    d.script(BLOCKS);
}

#[test]
fn multi_exec_discard_match_redis_resp3() {
    let mut d = Diff::new();
    d.resp3();
    d.script(BLOCKS);
}

/// Requests of one pipeline, with earlier replies still in flight from the other worker when
/// MULTI and EXEC arrive: every reply in order, and the block sees the writes sent before it.
#[test]
fn pipelined_blocks_see_what_came_before() {
    assert_ne!(
        owner("{t0}a", 2),
        owner("{t2}a", 2),
        "the tags must be on different workers"
    );
    let mut d = Diff::new();
    let mut pipeline = Vec::new();
    for i in 0..50 {
        let (ka, kb) = ("a".to_string(), "b".to_string());
        let v = i.to_string();
        for cmd in [
            vec!["SET", ka.as_str(), v.as_str()],
            vec!["INCR", kb.as_str()],
            vec!["MULTI"],
            vec!["GET", ka.as_str()],
            vec!["INCR", kb.as_str()],
            vec!["MSET", ka.as_str(), "x", kb.as_str(), "y"],
            vec!["EXEC"],
            vec!["SET", kb.as_str(), v.as_str()],
            vec!["MGET", ka.as_str(), kb.as_str()],
            // Blocks whose keys share a hash tag: one runs where the connection is, the other
            // on the other worker, sent there whole.
            vec!["MULTI"],
            vec!["INCRBY", "{t0}a", "2"],
            vec!["DECRBY", "{t0}b", "2"],
            vec!["LPUSH", "{t0}a", "x"],
            vec!["MGET", "{t0}a", "{t0}b"],
            vec!["EXEC"],
            vec!["MULTI"],
            vec!["INCRBY", "{t2}a", "3"],
            vec!["GET", "{t2}a"],
            vec!["EXEC"],
        ] {
            let args: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
            pipeline.extend_from_slice(&common::encode(&args));
        }
    }
    d.a.send_raw(&pipeline);
    d.b.send_raw(&pipeline);
    for n in 0..50 * 19 {
        let ra = d.a.read_reply();
        let rb = d.b.read_reply();
        assert_eq!(
            String::from_utf8_lossy(&rb),
            String::from_utf8_lossy(&ra),
            "reply {n} differs (left: rustis, right: redis)"
        );
    }
}

/// WATCH scenarios, each step run by the watching client (`a`) or by another client (`b`) on
/// both servers, with the same replies: a change by anyone, by the client itself, of the key in
/// another database, FLUSHALL and SWAPDB of existing and missing keys, EXPIRE, a key that
/// expires after WATCH, a stale key deleted, DISCARD, UNWATCH, EXEC after EXECABORT, EXEC without
/// MULTI, RENAME onto a watched key. Watched keys are spread over both workers.
const WATCH_STEPS: &str = "
    a FLUSHALL
    a WATCH x
    b SET x 1
    a MULTI
    a GET x
    a EXEC
    a WATCH x
    a MULTI
    a GET x
    a EXEC
    a WATCH x
    a SET x 2
    a MULTI
    a GET x
    a EXEC
    a WATCH x
    b SET x 3
    a UNWATCH
    a MULTI
    a GET x
    a EXEC
    a MULTI
    a WATCH x
    a EXEC
    a WATCH nokey
    b DEL nokey
    a MULTI
    a PING
    a EXEC
    a SET y 1
    a WATCH y
    b FLUSHALL
    a MULTI
    a PING
    a EXEC
    a WATCH y
    b FLUSHALL
    a MULTI
    a PING
    a EXEC
    a SET z 1
    a WATCH z
    b SELECT 1
    b SET z 2
    b SELECT 0
    a MULTI
    a PING
    a EXEC
    a SET e 1
    a WATCH e
    b EXPIRE e 100
    a MULTI
    a PING
    a EXEC
    a SET t 1 PX 30
    a WATCH t
    sleep
    a MULTI
    a PING
    a EXEC
    a SET s 1 PX 1
    sleep
    a WATCH s
    b DEL s
    a MULTI
    a PING
    a EXEC
    a WATCH x
    a MULTI
    a DISCARD
    b SET x 9
    a MULTI
    a PING
    a EXEC
    a SET w 1
    a WATCH w
    b SWAPDB 0 1
    a MULTI
    a PING
    a EXEC
    b SWAPDB 0 1
    a SET r1 1
    a WATCH r2
    b RENAME r1 r2
    a MULTI
    a PING
    a EXEC
    a WATCH m1 m2 m1 x y z
    b SET m2 1
    a MULTI
    a PING
    a EXEC
    a WATCH x
    a MULTI
    a NOSUCH
    a EXEC
    b SET x 10
    a MULTI
    a PING
    a EXEC
    a WATCH x
    a EXEC
    b SET x 11
    a MULTI
    a PING
    a EXEC
    a WATCH x z
    b MSET x 1 z 2
    a MULTI
    a MGET x z
    a EXEC
";

fn run_watch_steps(resp3: bool) {
    assert_ne!(
        owner("x", 2),
        owner("z", 2),
        "x and z must be on different workers"
    );
    assert_ne!(
        owner("r1", 2),
        owner("r2", 2),
        "r1 and r2 must be on different workers"
    );
    let d = Diff::new();
    let mut a = (
        common::Conn::new(d.redis.port),
        common::Conn::new(d.rustis.port),
    );
    let mut b = (
        common::Conn::new(d.redis.port),
        common::Conn::new(d.rustis.port),
    );
    if resp3 {
        a.0.call(&["HELLO", "3"]);
        a.1.call(&["HELLO", "3"]);
    }
    for line in WATCH_STEPS.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.split_whitespace();
        let who = words.next().unwrap();
        let args: Vec<&str> = words.collect();
        let pair = match who {
            "a" => &mut a,
            "b" => &mut b,
            _ => {
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            }
        };
        let want = pair.0.call(&args);
        let got = pair.1.call(&args);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{who} {args:?} (left: rustis, right: redis)"
        );
    }
}

#[test]
fn watch_matches_redis() {
    run_watch_steps(false);
}

#[test]
fn watch_matches_redis_resp3() {
    run_watch_steps(true);
}
