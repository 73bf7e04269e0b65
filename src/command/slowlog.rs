//! SLOWLOG GET, LEN, RESET and HELP, with Redis 7.0's replies; the log itself is
//! [`crate::slowlog`], fed by the workers as commands end.

use super::ctx::{unknown_subcommand, ConnCtx};
use super::{cmd, Args, Command, Exec, KeySpec};

/// The sub-commands of SLOWLOG and their arities.
pub const SUBCOMMANDS: &[super::Sub] = &[("get", -2), ("len", 2), ("reset", 2), ("help", 2)];

/// The SLOWLOG command.
pub fn commands() -> Vec<Command> {
    vec![cmd("slowlog", -2, 0, KeySpec::None, Exec::Conn(slowlog)).with_subs(SUBCOMMANDS)]
}

fn slowlog(c: &mut ConnCtx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    match (sub.as_slice(), a.len()) {
        (b"reset", 2) => {
            c.shared.slowlog().reset();
            c.reply.ok()
        }
        (b"len", 2) => {
            let n = c.shared.slowlog().len();
            c.reply.int(n as i64)
        }
        (b"get", 2 | 3) => {
            let count = if a.len() == 3 {
                match crate::resp::parse_i64(a.get(2)) {
                    Some(-1) => usize::MAX,
                    Some(n) if n >= 0 => n as usize,
                    _ => {
                        return c
                            .reply
                            .error("ERR count should be greater than or equal to -1")
                    }
                }
            } else {
                10
            };
            let entries: Vec<crate::slowlog::Entry> =
                c.shared.slowlog().newest(count).cloned().collect();
            c.reply.array(entries.len());
            for e in entries {
                c.reply.array(6);
                c.reply.int(e.id as i64);
                c.reply.int(e.time as i64);
                c.reply.int(e.duration_us as i64);
                c.reply.array(e.args.len());
                for arg in &e.args {
                    c.reply.bulk(arg);
                }
                c.reply.bulk(e.peer.as_bytes());
                c.reply.bulk(e.name.as_bytes());
            }
        }
        (b"help", 2) => {
            let lines = [
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ];
            c.reply.array(lines.len());
            for l in lines {
                c.reply.simple(l);
            }
        }
        (b"get" | b"len" | b"reset" | b"help", _) => {
            let mut msg = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
            msg.extend_from_slice(crate::resp::reply::c_str(a.get(1)));
            msg.extend_from_slice(b"'. Try SLOWLOG HELP.");
            c.reply.error_bytes(&msg)
        }
        _ => unknown_subcommand(&mut c.reply, a),
    }
}
