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
        ] {
            let args: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
            pipeline.extend_from_slice(&common::encode(&args));
        }
    }
    d.a.send_raw(&pipeline);
    d.b.send_raw(&pipeline);
    for n in 0..50 * 9 {
        let ra = d.a.read_reply();
        let rb = d.b.read_reply();
        assert_eq!(
            String::from_utf8_lossy(&rb),
            String::from_utf8_lossy(&ra),
            "reply {n} differs (left: rustis, right: redis)"
        );
    }
}
