//! CONFIG GET/SET/RESETSTAT/REWRITE over the parameters of [`crate::config`].

use super::ctx::{unknown_subcommand, ConnCtx};
use super::info::stat_totals;
use super::Args;
use crate::config::SetError;
use crate::resp::err;
use crate::resp::reply::c_str;

/// acl-pubsub-default's effect beyond its value: what `reset` and new users get for channels.
fn set_pubsub_default(shared: &crate::shared::Shared, value: &[u8]) {
    let all = value.eq_ignore_ascii_case(b"allchannels");
    shared.acl.write_log().pubsub_default = if all {
        crate::acl::rules::sflag::ALLCHANNELS
    } else {
        0
    };
}

/// The effects of the settings a server starts with that live outside the parameters (the
/// ACL registry's): called once the shared state exists, before any client.
pub fn apply_startup(shared: &crate::shared::Shared) {
    if let Some(v) = shared.params.get("acl-pubsub-default") {
        set_pubsub_default(shared, v.as_bytes());
    }
    // `user` lines, after requirepass as in Redis: the default user's line starts from reset.
    let mut reg = shared.acl.write();
    for (name, rules) in shared.params.startup_users() {
        let mut ops: Vec<&[u8]> = Vec::with_capacity(rules.len() + 1);
        if name.as_slice() == b"default" {
            ops.push(b"reset");
        }
        ops.extend(rules.iter().map(|r| r.as_slice()));
        // Checked while the file was read.
        let _ = reg.set_user(name, &ops);
    }
}

/// Every user as a `user` line (ACL LIST's form), for CONFIG REWRITE.
fn user_lines(shared: &crate::shared::Shared) -> Vec<Vec<u8>> {
    let reg = shared.acl.read();
    reg.users
        .values()
        .map(|u| {
            let mut line = b"user ".to_vec();
            line.extend_from_slice(&u.name);
            line.push(b' ');
            line.extend_from_slice(u.describe().as_bytes());
            line
        })
        .collect()
}

pub(super) fn config(c: &mut ConnCtx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"get" if a.len() >= 3 => {
            // As Redis 7.0: a name without glob characters is looked up directly and echoed as typed;
            // a pattern lists every matching parameter. Each name appears once (any case).
            let mut seen: Vec<(String, String)> = Vec::new();
            for p in a.iter_from(2) {
                let lower = p.to_ascii_lowercase();
                let exact = !p.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
                for (n, v) in c.shared.params.matching(&lower) {
                    let shown = if exact {
                        String::from_utf8_lossy(p).into_owned()
                    } else {
                        n.to_string()
                    };
                    if !seen.iter().any(|(s, _)| s.eq_ignore_ascii_case(&shown)) {
                        seen.push((shown, v));
                    }
                    if exact {
                        break;
                    }
                }
            }
            c.reply.map(seen.len());
            for (n, v) in seen {
                c.reply.bulk(n.as_bytes());
                c.reply.bulk(v.as_bytes());
            }
        }
        b"set" if a.len() >= 5 && !a.len().is_multiple_of(2) => c.reply.error(err::SYNTAX),
        b"set" if a.len() >= 4 && a.len().is_multiple_of(2) => {
            // As Redis 7.0: every name is checked first (the first unknown, immutable or repeated one
            // fails, named as typed), then every value (the first invalid one fails, named as the
            // parameter's own name); nothing is applied unless all are valid.
            let names: Vec<String> = (2..a.len())
                .step_by(2)
                .map(|i| String::from_utf8_lossy(a.get(i)).into_owned())
                .collect();
            for (k, name) in names.iter().enumerate() {
                let typed = c_str(a.get(2 + 2 * k));
                let Some(settable) = c.shared.params.settable(name) else {
                    let mut msg =
                        b"ERR Unknown option or number of arguments for CONFIG SET - '".to_vec();
                    msg.extend_from_slice(typed);
                    msg.push(b'\'');
                    return c.reply.error_bytes(&msg);
                };
                let why = if let Err(why) = settable {
                    why
                } else if names[..k].iter().any(|p| p.eq_ignore_ascii_case(name)) {
                    "duplicate parameter"
                } else {
                    continue;
                };
                let mut msg = b"ERR CONFIG SET failed (possibly related to argument '".to_vec();
                msg.extend_from_slice(typed);
                msg.extend_from_slice(format!("') - {why}").as_bytes());
                return c.reply.error_bytes(&msg);
            }
            let mut changes = Vec::new();
            for (k, name) in names.iter().enumerate() {
                let value = String::from_utf8_lossy(a.get(2 + 2 * k + 1)).into_owned();
                match c.shared.params.validate(name, &value) {
                    Ok(ch) => changes.push(ch),
                    Err(SetError::Unknown(n)) => {
                        return c.reply.error(&format!(
                            "ERR Unknown option or number of arguments for CONFIG SET - '{n}'"
                        ))
                    }
                    Err(SetError::Invalid(n, why)) => {
                        return c.reply.error(&format!(
                            "ERR CONFIG SET failed (possibly related to argument '{n}') - {why}"
                        ))
                    }
                }
            }
            c.shared.params.apply(&changes);
            for (k, name) in names.iter().enumerate() {
                if name.eq_ignore_ascii_case("acl-pubsub-default") {
                    set_pubsub_default(c.shared, a.get(2 + 2 * k + 1));
                }
                if name.eq_ignore_ascii_case("requirepass") {
                    // The bytes as given (the parameter's text is only what CONFIG GET shows).
                    c.shared.acl.set_requirepass(a.get(2 + 2 * k + 1));
                }
            }
            c.reply.ok()
        }
        b"resetstat" if a.len() == 2 => {
            let mut base = c.shared.stat_base.lock().unwrap_or_else(|p| p.into_inner());
            *base = stat_totals(c.shared);
            c.shared.info.reset(&c.shared.worker_exts());
            c.reply.ok()
        }
        b"rewrite" if a.len() == 2 => match c.shared.params.rewrite(&user_lines(c.shared)) {
            Ok(()) => c.reply.ok(),
            Err(e) => c.reply.error(&e),
        },
        b"help" if a.len() == 2 => {
            let lines = [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
                "HELP",
                "    Prints this help.",
            ];
            c.reply.array(lines.len());
            for l in lines {
                c.reply.simple(l);
            }
        }
        b"get" | b"set" | b"resetstat" | b"rewrite" | b"help" => {
            let name = String::from_utf8_lossy(&sub).into_owned();
            c.reply.error(&format!(
                "ERR wrong number of arguments for 'config|{name}' command"
            ))
        }
        _ => unknown_subcommand(&mut c.reply, a),
    }
}
