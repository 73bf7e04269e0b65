//! CONFIG SET of every parameter against redis-server: each value Redis refuses is refused with
//! Redis's text; each value Redis accepts is accepted, unless it asks for a feature Rustis does not
//! have yet, which is refused with a clear error instead of being accepted and ignored.

mod common;

use common::{bulks, start_redis, start_rustis, Conn};

/// Values tried on every parameter.
const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "-2",
    "5",
    "10",
    "11",
    "500",
    "65536",
    "1048575",
    "1mb",
    "2gb",
    "1k",
    "10KB",
    "1xb",
    "+5",
    "007",
    "1.5",
    "abc",
    "yes",
    "no",
    "YES",
    "nothing",
    "debug",
    "warning",
    "allkeys-lru",
    "volatile-ttl",
    "always",
    "sometimes",
    "900 1",
    "900",
    "900 1 300 10",
    "KEA",
    "Q",
    "2147483647",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "/nonexistent",
];

/// Parameters whose CONFIG SET Rustis refuses as immutable where Redis rebinds its listeners.
const REBIND: &[&str] = &["bind", "port"];

/// CONFIG GET * as (name, value) pairs.
fn all_params(c: &mut Conn) -> Vec<(String, String)> {
    let v = bulks(&c.call(&["CONFIG", "GET", "*"]));
    v.chunks(2)
        .map(|p| (p[0].clone(), p.get(1).cloned().unwrap_or_default()))
        .collect()
}

#[test]
fn config_set_refusals_match_redis_for_every_parameter() {
    let redis = start_redis();
    let rustis = start_rustis(2);
    let mut a = Conn::new(redis.port);
    let mut b = Conn::new(rustis.port);
    let theirs = all_params(&mut a);
    let ours = all_params(&mut b);
    assert!(
        ours.len() > 50,
        "CONFIG GET * lists {} parameters",
        ours.len()
    );
    let mut unsupported = Vec::new();
    for (name, default) in &ours {
        let redis_default = theirs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} is not a Redis 7.0 parameter"));
        for &value in VALUES {
            let rb = String::from_utf8_lossy(&b.call(&["CONFIG", "SET", name, value])).into_owned();
            if name == "maxclients" && value.parse::<i64>().is_ok_and(|n| n >= 1 << 30) {
                // Redis lowers its descriptor target 16 at a time from the value asked for: a
                // few billion setrlimit calls. Rustis answers Redis's text at once.
                assert!(
                    rb.contains("not able to handle the specified number of clients")
                        || rb.contains("between 1 and 4294967295"),
                    "{rb}"
                );
                continue;
            }
            if REBIND.contains(&name.as_str()) {
                assert_eq!(
                    rb,
                    format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config\r\n")
                );
                continue;
            }
            if rb.contains("Rustis does not support this value yet") {
                // Must be a value Redis takes: checked on Redis only when it has no side effect
                // on the test itself (files written, passwords, timeouts).
                if !matches!(
                    name.as_str(),
                    "appendonly" | "save" | "requirepass" | "timeout"
                ) {
                    let ra = a.call(&["CONFIG", "SET", name, value]);
                    assert_eq!(
                        ra, b"+OK\r\n",
                        "{name} {value:?}: Rustis says unsupported, Redis refuses"
                    );
                    a.call(&["CONFIG", "SET", name, &redis_default]);
                }
                unsupported.push(format!("{name} {value:?}"));
                continue;
            }
            let ra = String::from_utf8_lossy(&a.call(&["CONFIG", "SET", name, value])).into_owned();
            assert_eq!(
                rb, ra,
                "CONFIG SET {name} {value:?} (left: rustis, right: redis)"
            );
            if ra == "+OK\r\n" {
                let ga = a.call(&["CONFIG", "GET", name]);
                let gb = b.call(&["CONFIG", "GET", name]);
                assert_eq!(
                    String::from_utf8_lossy(&gb),
                    String::from_utf8_lossy(&ga),
                    "CONFIG GET {name} after setting {value:?}"
                );
                assert_eq!(b.call(&["CONFIG", "SET", name, default]), b"+OK\r\n");
                assert_eq!(a.call(&["CONFIG", "SET", name, &redis_default]), b"+OK\r\n");
            }
        }
    }
    // The features not there yet are refused, never accepted and ignored.
    let must = "appendonly \"yes\"";
    assert!(
        unsupported.iter().any(|u| u == must),
        "{must} not refused: {unsupported:?}"
    );
    // The server still serves after all of it.
    assert_eq!(b.call(&["PING"]), b"+PONG\r\n");
}
