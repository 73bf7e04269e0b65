//! Connection and server commands: they run on the connection's own worker and touch no key.
//! (DBSIZE, FLUSHDB, FLUSHALL, SWAPDB run on every shard and live with the keyspace family.)

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::meta::{self, CommandMeta, META};
use super::slots::SLOTS;
use super::{cmd, flag::*, Args, Command, Exec, KeySpec, TABLE};
use crate::config::SetError;
use crate::resp::reply::c_str;
use crate::resp::{err, Reply};
use crate::shared::{Shared, REDIS_VERSION, VERSION};

#[cfg(test)]
use super::ctx::unknown_command_bytes;
use super::ctx::{unknown_subcommand, ConnCtx};

/// The sub-commands of CLIENT, CONFIG, COMMAND and FUNCTION that Rustis implements, with Redis's
/// arities: each is counted apart in INFO commandstats (`cmdstat_config|get`), and a call with the
/// wrong number of arguments is refused before it runs.
pub const CLIENT_SUBCOMMANDS: &[super::Sub] = &[
    ("id", 2),
    ("getname", 2),
    ("setname", 3),
    ("setinfo", 4),
    ("info", 2),
    ("list", -2),
    ("help", 2),
];
pub const CONFIG_SUBCOMMANDS: &[super::Sub] = &[
    ("get", -3),
    ("set", -4),
    ("resetstat", 2),
    ("rewrite", 2),
    ("help", 2),
];
pub const COMMAND_SUBCOMMANDS: &[super::Sub] = &[
    ("count", 2),
    ("list", -2),
    ("info", -2),
    ("docs", -2),
    ("getkeys", -4),
    ("getkeysandflags", -4),
    ("help", 2),
];
pub const FUNCTION_SUBCOMMANDS: &[super::Sub] = &[("flush", -2), ("list", -2)];

/// The connection and server commands.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Conn;
    use KeySpec::None as K0;
    vec![
        cmd("ping", -1, FAST, K0, Conn(ping)),
        cmd("echo", 2, LOADING | STALE | FAST, K0, Conn(echo)),
        cmd("quit", -1, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST, K0, Conn(quit)),
        cmd("reset", 1, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST, K0, Conn(reset)),
        cmd("hello", -1, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST, K0, Conn(hello)),
        cmd("select", 2, LOADING | STALE | FAST, K0, Conn(select)),
        cmd("client", -2, 0, K0, Conn(client)).with_subs(CLIENT_SUBCOMMANDS),
        cmd("config", -2, 0, K0, Conn(config)).with_subs(CONFIG_SUBCOMMANDS),
        cmd("command", -1, LOADING | STALE, K0, Conn(command)).with_subs(COMMAND_SUBCOMMANDS),
        cmd("time", 1, LOADING | STALE | FAST, K0, Conn(time)),
        cmd("info", -1, LOADING | STALE, K0, Conn(info)),
        cmd("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, K0, Conn(shutdown)),
        cmd("function", -2, 0, K0, Conn(function)).with_subs(FUNCTION_SUBCOMMANDS),
    ]
}

fn ping(c: &mut ConnCtx, a: &Args) {
    match a.len() {
        1 => c.reply.simple("PONG"),
        2 => c.reply.bulk(a.get(1)),
        _ => c
            .reply
            .error("ERR wrong number of arguments for 'ping' command"),
    }
}

fn echo(c: &mut ConnCtx, a: &Args) {
    c.reply.bulk(a.get(1));
}

fn quit(c: &mut ConnCtx, _: &Args) {
    c.reply.ok();
    c.session.quit = true;
}

fn reset(c: &mut ConnCtx, _: &Args) {
    c.session.db = 0;
    c.session.resp3 = false;
    c.session.name.clear();
    c.publish();
    c.reply.simple("RESET");
}

fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn hello(c: &mut ConnCtx, a: &Args) {
    let mut proto = if c.session.resp3 { 3 } else { 2 };
    let mut i = 1;
    if a.len() > 1 {
        match a.int(1) {
            None => {
                return c
                    .reply
                    .error("ERR Protocol version is not an integer or out of range")
            }
            Some(v) if !(2..=3).contains(&v) => {
                return c.reply.error("NOPROTO unsupported protocol version")
            }
            Some(v) => proto = v,
        }
        i = 2;
    }
    // Redis 7.0 applies AUTH and SETNAME as it meets them: a later syntax error leaves an earlier name set.
    while i < a.len() {
        let more = a.len() - i - 1;
        if a.is(i, "auth") && more >= 2 {
            if !a.get(i + 1).eq_ignore_ascii_case(b"default") {
                c.publish();
                return c
                    .reply
                    .error("WRONGPASS invalid username-password pair or user is disabled.");
            }
            i += 3;
        } else if a.is(i, "setname") && more >= 1 {
            if !valid_client_name(a.get(i + 1)) {
                c.publish();
                return c.reply.error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            c.session.name = a.get(i + 1).to_vec();
            i += 2;
        } else {
            c.publish();
            let mut msg = b"ERR Syntax error in HELLO option '".to_vec();
            msg.extend_from_slice(c_str(a.get(i)));
            msg.push(b'\'');
            return c.reply.error_bytes(&msg);
        }
    }
    c.session.resp3 = proto == 3;
    c.publish();
    // The reply is written in the protocol just negotiated.
    let h = &mut c.reply;
    h.set_resp3(proto == 3);
    h.map(7);
    h.bulk(b"server");
    h.bulk(b"redis");
    h.bulk(b"version");
    h.bulk(REDIS_VERSION.as_bytes());
    h.bulk(b"proto");
    h.int(proto);
    h.bulk(b"id");
    h.int(c.session.id as i64);
    h.bulk(b"mode");
    h.bulk(b"standalone");
    h.bulk(b"role");
    h.bulk(b"master");
    h.bulk(b"modules");
    h.array(0);
}

fn select(c: &mut ConnCtx, a: &Args) {
    match a.int(1) {
        None => c.reply.error(err::NOT_INT),
        Some(n) if i32::try_from(n).is_err() => c
            .reply
            .error("ERR value is out of range, value must between -2147483648 and 2147483647"),
        Some(n) if n < 0 || n as usize >= c.shared.databases => c.reply.error(err::DB_INDEX),
        Some(n) => {
            c.session.db = n as usize;
            c.publish();
            c.reply.ok()
        }
    }
}

fn time(c: &mut ConnCtx, _: &Args) {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    c.reply.array(2);
    c.reply.bulk(d.as_secs().to_string().as_bytes());
    c.reply.bulk(d.subsec_micros().to_string().as_bytes());
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], parsed as Redis does. Nothing is persisted yet, so
/// SAVE fails the way a failed save fails in Redis (its error, the reason in the log) rather than
/// stopping without the snapshot asked for; without SAVE the server stops (no save points exist).
fn shutdown(c: &mut ConnCtx, a: &Args) {
    let (mut nosave, mut save, mut others, mut abort) = (false, false, false, false);
    for arg in a.iter_from(1) {
        match arg.to_ascii_lowercase().as_slice() {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"now" | b"force" => others = true,
            b"abort" => abort = true,
            _ => return c.reply.error(err::SYNTAX),
        }
    }
    if (abort && (nosave || save || others)) || (nosave && save) {
        return c.reply.error(err::SYNTAX);
    }
    if abort {
        return c.reply.error("ERR No shutdown in progress.");
    }
    if save {
        crate::log_at!(
            Warning,
            "SHUTDOWN SAVE refused: Rustis does not persist data yet (use SHUTDOWN NOSAVE)"
        );
        return c.reply.error("ERR Errors trying to SHUTDOWN. Check logs.");
    }
    // Like Redis, no reply on success.
    c.shared.request_shutdown();
    c.session.quit = true;
}

fn function(c: &mut ConnCtx, a: &Args) {
    if a.is(1, "flush") {
        if a.len() > 3 || (a.len() == 3 && !a.is(2, "async") && !a.is(2, "sync")) {
            return c
                .reply
                .error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        }
        c.reply.ok()
    } else if a.is(1, "list") {
        c.reply.array(0)
    } else {
        unknown_subcommand(&mut c.reply, a)
    }
}

// ---------------------------------------------------------------------------------------------- CLIENT

fn client_line(ci: &crate::shared::ClientInfo, now: u64) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let g = &ci.gauge;
    let last = g.last_ms.load(Relaxed).max(ci.created_ms);
    let cmd = match g.last_cmd.load(Relaxed) {
        0 => "NULL",
        i => crate::command::TABLE
            .commands
            .get(i as usize - 1)
            .map_or("NULL", |c| c.name),
    };
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags=N db={} sub=0 psub=0 ssub=0 multi=-1 qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r{} cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}\n",
        ci.id,
        ci.addr,
        ci.laddr,
        ci.fd,
        ci.name,
        now.saturating_sub(ci.created_ms) / 1000,
        now.saturating_sub(last) / 1000,
        ci.db,
        g.qbuf.load(Relaxed),
        g.qbuf_free.load(Relaxed),
        g.rbs.load(Relaxed),
        g.rbp.load(Relaxed),
        g.obl.load(Relaxed),
        g.oll.load(Relaxed),
        g.omem.load(Relaxed),
        g.tot_mem.load(Relaxed),
        if g.want_write.load(Relaxed) { "w" } else { "" },
        cmd,
        ci.resp,
        ci.lib_name,
        ci.lib_ver
    )
}

fn client(c: &mut ConnCtx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    match (sub.as_slice(), a.len()) {
        (b"id", 2) => c.reply.int(c.session.id as i64),
        (b"getname", 2) => {
            if c.session.name.is_empty() {
                c.reply.null()
            } else {
                c.reply.bulk(&c.session.name.clone())
            }
        }
        (b"setname", 3) => {
            if !valid_client_name(a.get(2)) {
                return c.reply.error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            c.session.name = a.get(2).to_vec();
            c.publish();
            c.reply.ok()
        }
        (b"setinfo", 4) => {
            let v = String::from_utf8_lossy(a.get(3)).into_owned();
            if !v.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
                let attr = String::from_utf8_lossy(a.get(2)).to_ascii_lowercase();
                return c.reply.error(&format!(
                    "ERR {attr} cannot contain spaces, newlines or special characters."
                ));
            }
            if a.is(2, "lib-name") {
                c.session.lib_name = v;
            } else if a.is(2, "lib-ver") {
                c.session.lib_ver = v;
            } else {
                let attr = String::from_utf8_lossy(a.get(2));
                return c.reply.error(&format!("ERR Unrecognized option '{attr}'"));
            }
            c.publish();
            c.reply.ok()
        }
        (b"info", 2) => {
            let line = c
                .shared
                .clients()
                .get(&c.session.id)
                .map(|ci| client_line(ci, c.now))
                .unwrap_or_default();
            c.reply.verbatim(line.as_bytes())
        }
        (b"list", _) => {
            // Redis 7.0: `CLIENT LIST`, `CLIENT LIST TYPE <type>` or `CLIENT LIST ID <id> [<id> ...]`,
            // never both; IDs are listed in the order given (any integer is accepted).
            let mut out = String::new();
            if a.len() == 4 && a.is(2, "type") {
                let t = a.get(3).to_ascii_lowercase();
                if !matches!(
                    t.as_slice(),
                    b"normal" | b"master" | b"replica" | b"slave" | b"pubsub"
                ) {
                    let mut msg = b"ERR Unknown client type '".to_vec();
                    msg.extend_from_slice(c_str(a.get(3)));
                    msg.push(b'\'');
                    return c.reply.error_bytes(&msg);
                }
                if t == b"normal" {
                    for ci in c.shared.clients().values() {
                        out.push_str(&client_line(ci, c.now));
                    }
                }
            } else if a.len() > 3 && a.is(2, "id") {
                let mut ids = Vec::new();
                for x in a.iter_from(3) {
                    match crate::resp::parse_i64(x) {
                        Some(n) => ids.push(n),
                        None => return c.reply.error("ERR Invalid client ID"),
                    }
                }
                let clients = c.shared.clients();
                for id in ids {
                    if let Some(ci) = u64::try_from(id).ok().and_then(|id| clients.get(&id)) {
                        out.push_str(&client_line(ci, c.now));
                    }
                }
            } else if a.len() != 2 {
                return c.reply.error(err::SYNTAX);
            } else {
                for ci in c.shared.clients().values() {
                    out.push_str(&client_line(ci, c.now));
                }
            }
            c.reply.verbatim(out.as_bytes())
        }
        (b"help", 2) => {
            let lines = [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "LIST [TYPE <type>] [ID <id> [<id>...]]",
                "    Return information about client connections.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "SETINFO <LIB-NAME|LIB-VER> <value>",
                "    Set client meta attr.",
                "HELP",
                "    Prints this help.",
            ];
            c.reply.array(lines.len());
            for l in lines {
                c.reply.simple(l);
            }
        }
        (b"id" | b"getname" | b"setname" | b"setinfo" | b"info" | b"help", _) => {
            let name = String::from_utf8_lossy(&sub).into_owned();
            c.reply.error(&format!(
                "ERR wrong number of arguments for 'client|{name}' command"
            ))
        }
        _ => unknown_subcommand(&mut c.reply, a),
    }
}

// ---------------------------------------------------------------------------------------------- CONFIG

fn config(c: &mut ConnCtx, a: &Args) {
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
            c.reply.ok()
        }
        b"resetstat" if a.len() == 2 => {
            let mut base = c.shared.stat_base.lock().unwrap_or_else(|p| p.into_inner());
            *base = stat_totals(c.shared);
            c.shared.info.reset(&c.shared.worker_exts());
            c.reply.ok()
        }
        b"rewrite" if a.len() == 2 => c
            .reply
            .error("ERR The server is running without a config file"),
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

// --------------------------------------------------------------------------------------------- COMMAND

/// A name COMMAND INFO and COMMAND DOCS answer for: a command of the table, or a subcommand of one
/// of its containers (`config|get`), any case.
enum Described {
    Top(&'static Command),
    Sub(&'static CommandMeta),
}

fn describe(name: &[u8]) -> Option<Described> {
    match name.iter().position(|&b| b == b'|') {
        None => TABLE.lookup(name).map(|(_, cmd)| Described::Top(cmd)),
        Some(at) => {
            TABLE.lookup(&name[..at])?;
            META.get(name)
                .filter(|m| m.sub.is_some())
                .map(Described::Sub)
        }
    }
}

/// The ACL categories of a command or subcommand.
fn acl_categories(d: &Described) -> &'static [&'static str] {
    match d {
        Described::Top(cmd) => META
            .get(cmd.name.as_bytes())
            .map_or(&[], |m| m.acl_categories.as_slice()),
        Described::Sub(m) => &m.acl_categories,
    }
}

/// COMMAND INFO's entry: arity, flags and key range from the table, the rest from Redis's data.
fn command_info(r: &mut Reply, cmd: &Command) {
    let (first, last, step) = match cmd.keys {
        KeySpec::Range(f, l, s) => (f, l, s),
        KeySpec::None | KeySpec::Custom(_) => (0, 0, 0),
    };
    let head = meta::InfoHead {
        name: cmd.name,
        arity: cmd.arity as i64,
        flags: cmd.flags,
        first_key: first as i64,
        last_key: last as i64,
        key_step: step as i64,
    };
    meta::write_info(r, &head, META.get(cmd.name.as_bytes()));
}

/// COMMAND DOCS's pair for one command: its name, then its documentation (an empty map for a command
/// the data misses, which a unit test proves none does).
fn command_docs(r: &mut Reply, name: &str, m: Option<&CommandMeta>) {
    r.bulk(name.as_bytes());
    match m {
        Some(m) => meta::write_docs(r, m),
        None => r.map(0),
    }
}

fn command(c: &mut ConnCtx, a: &Args) {
    let table = &*TABLE;
    if a.len() == 1 {
        c.reply.array(table.commands.len());
        for cmd in &table.commands {
            command_info(&mut c.reply, cmd);
        }
        return;
    }
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"count" if a.len() == 2 => c.reply.int(table.commands.len() as i64),
        b"list" => {
            // COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: every command
            // and, as Redis lists them, the subcommands of each container.
            let mut all: Vec<(&str, Described)> = Vec::new();
            for cmd in &table.commands {
                all.push((cmd.name, Described::Top(cmd)));
                if let Some(m) = META.get(cmd.name.as_bytes()) {
                    all.extend(META.subcommands(m).map(|s| (s.name, Described::Sub(s))));
                }
            }
            if a.len() == 5 && a.is(2, "filterby") {
                let arg = a.get(4);
                if a.is(3, "module") {
                    all.clear();
                } else if a.is(3, "aclcat") {
                    let cat = String::from_utf8_lossy(arg).to_ascii_lowercase();
                    all.retain(|(_, d)| acl_categories(d).iter().any(|x| x[1..] == cat));
                } else if a.is(3, "pattern") {
                    all.retain(|(n, _)| crate::glob::glob_match(arg, n.as_bytes(), true));
                } else {
                    return c.reply.error(err::SYNTAX);
                }
            } else if a.len() != 2 {
                return c.reply.error(err::SYNTAX);
            }
            c.reply.array(all.len());
            for (n, _) in all {
                c.reply.bulk(n.as_bytes());
            }
        }
        b"info" => {
            if a.len() == 2 {
                c.reply.array(table.commands.len());
                for cmd in &table.commands {
                    command_info(&mut c.reply, cmd);
                }
                return;
            }
            c.reply.array(a.len() - 2);
            for name in a.iter_from(2) {
                match describe(name) {
                    Some(Described::Top(cmd)) => command_info(&mut c.reply, cmd),
                    Some(Described::Sub(m)) => meta::write_sub_info(&mut c.reply, m),
                    None => c.reply.null(),
                }
            }
        }
        b"docs" => {
            let found: Vec<(&str, Option<&CommandMeta>)> = if a.len() == 2 {
                table
                    .commands
                    .iter()
                    .map(|cmd| (cmd.name, META.get(cmd.name.as_bytes())))
                    .collect()
            } else {
                a.iter_from(2)
                    .filter_map(|n| match describe(n)? {
                        Described::Top(cmd) => Some((cmd.name, META.get(cmd.name.as_bytes()))),
                        Described::Sub(m) => Some((m.name, Some(m))),
                    })
                    .collect()
            };
            c.reply.map(found.len());
            for (name, m) in found {
                command_docs(&mut c.reply, name, m);
            }
        }
        b"getkeys" | b"getkeysandflags" if a.len() >= 4 => {
            // Redis's order of checks: the command, whether it takes keys at all, its arity, then
            // whether these arguments name any (a numkeys of 0 does not, unless keys are optional).
            let Some((_, cmd)) = table.lookup(a.get(2)) else {
                return c.reply.error("ERR Invalid command specified");
            };
            if matches!(cmd.keys, KeySpec::None) {
                return c.reply.error("ERR The command has no key arguments");
            }
            let inner = a.skip(2);
            if !cmd.arity_ok(inner.len()) {
                return c
                    .reply
                    .error("ERR Invalid number of arguments specified for command");
            }
            let mut keys = Vec::new();
            cmd.key_indices(&inner, &mut keys);
            if keys.is_empty() {
                if cmd.flags & NO_MANDATORY_KEYS != 0 {
                    return c.reply.array(0);
                }
                return c.reply.error("ERR Invalid arguments specified for command");
            }
            let with_flags = sub.as_slice() == b"getkeysandflags";
            c.reply.array(keys.len());
            for k in keys {
                if with_flags {
                    c.reply.array(2);
                    c.reply.bulk(inner.get(k));
                    c.reply.set(1);
                    c.reply.simple(if cmd.is_write() { "RW" } else { "RO" });
                } else {
                    c.reply.bulk(inner.get(k));
                }
            }
        }
        b"help" => {
            let lines = [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all Redis commands.",
                "COUNT",
                "    Return the total number of commands in this Redis server.",
                "LIST",
                "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "GETKEYS <full-command>",
                "    Return the keys from a full Redis command.",
                "GETKEYSANDFLAGS <full-command>",
                "    Return the keys and the access flags from a full Redis command.",
                "HELP",
                "    Prints this help.",
            ];
            c.reply.array(lines.len());
            for l in lines {
                c.reply.simple(l);
            }
        }
        b"count" | b"getkeys" | b"getkeysandflags" => {
            let name = String::from_utf8_lossy(&sub).into_owned();
            c.reply.error(&format!(
                "ERR wrong number of arguments for 'command|{name}' command"
            ))
        }
        _ => unknown_subcommand(&mut c.reply, a),
    }
}

// ------------------------------------------------------------------------------------------------ INFO

/// Totals of the resettable counters: commands, connections, net in, net out, hits, misses, expired,
/// rejected.
fn stat_totals(s: &Shared) -> [u64; 8] {
    let mut t = [0u64; 8];
    for w in &s.stats {
        let v = [
            &w.commands,
            &w.total_connections,
            &w.net_input_bytes,
            &w.net_output_bytes,
            &w.keyspace_hits,
            &w.keyspace_misses,
            &w.expired_keys,
            &w.rejected_connections,
        ];
        for (i, x) in v.iter().enumerate() {
            t[i] += x.load(Ordering::Relaxed);
        }
    }
    t
}

fn human_bytes(n: u64) -> String {
    let f = n as f64;
    if n < 1024 {
        format!("{n}B")
    } else if n < 1 << 20 {
        format!("{:.2}K", f / 1024.0)
    } else if n < 1 << 30 {
        format!("{:.2}M", f / 1048576.0)
    } else {
        format!("{:.2}G", f / 1073741824.0)
    }
}

use crate::stats::rss_bytes;

/// Bytes mimalloc has committed from the OS (INFO's `allocator_active`).
fn allocator_committed() -> u64 {
    let mut commit: usize = 0;
    // SAFETY: mi_process_info only writes the out-parameters that are not null.
    unsafe {
        libmimalloc_sys::mi_process_info(
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut commit,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
    }
    commit as u64
}

fn cpu_times() -> (f64, f64) {
    // SAFETY: getrusage writes into the struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        (t(ru.ru_stime), t(ru.ru_utime))
    }
}

/// Builds the INFO text for the requested sections (`default` when none).
pub fn info_text(s: &Shared, sections: &[String]) -> String {
    const DEFAULT: &[&str] = &[
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "errorstats",
        "cluster",
        "keyspace",
    ];
    // As Redis 7.0: `all` and `everything` name every section, `default` (or nothing) the default
    // ones, and they combine with section names (`INFO default commandstats`).
    let all = sections.iter().any(|x| x == "all" || x == "everything");
    let default = sections.is_empty() || sections.iter().any(|x| x == "default");
    let wanted = |name: &str| {
        all || (default && DEFAULT.contains(&name)) || sections.iter().any(|x| x == name)
    };
    let mut out = String::new();
    let mut section = |title: &str, body: String| {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n{body}");
    };
    let now_ms = crate::shared::unix_ms();
    let uptime = s.started.elapsed().as_secs();
    let hz = s.params.get_i64("hz");
    if wanted("server") {
        let mut b = String::new();
        let _ = write!(
            b,
            "redis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{hz}\r\nconfigured_hz:{hz}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:\r\nio_threads_active:0\r\nrustis_version:{VERSION}\r\nrustis_workers:{}\r\n",
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::process::id(),
            s.run_id,
            s.addr.port(),
            now_ms * 1000,
            uptime / 86400,
            (now_ms / 1000) & ((1 << 24) - 1),
            std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
            s.workers
        );
        section("Server", b);
    }
    if wanted("clients") {
        let connected: u64 = s
            .stats
            .iter()
            .map(|w| w.connected_clients.load(Ordering::Relaxed))
            .sum();
        let workers = s.worker_exts();
        let max_of = |f: fn(&crate::stats::WorkerExt) -> u64| crate::stats::max_of(&workers, f);
        section(
            "Clients",
            format!(
                "connected_clients:{connected}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:0\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
                s.params.maxclients.load(Ordering::Relaxed),
                max_of(|w| w.client_max_in.load(Ordering::Relaxed)),
                max_of(|w| w.client_max_out.load(Ordering::Relaxed)),
            ),
        );
    }
    if wanted("memory") {
        let rss = rss_bytes();
        let m = s.info.memory(s.used_memory(), &s.worker_exts());
        let used = m.used;
        let maxmem = s.params.get_i64("maxmemory") as u64;
        let total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines().next().and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|k| k.parse::<u64>().ok())
                })
            })
            .unwrap_or(0)
            * 1024;
        let dataset = used - m.overhead;
        let net = used.saturating_sub(m.startup).max(1);
        // The allocator's view (mimalloc): bytes handed out (the counting wrapper's figure), bytes
        // it has committed, and the process's resident set.
        let (allocated, active) = (used, allocator_committed().max(used));
        let resident = rss.max(active);
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let diff = |a: u64, b: u64| a as i64 - b as i64;
        let mut b = String::new();
        let _ = write!(
            b,
            "used_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{}\r\nused_memory_startup:{}\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{:.2}%\r\n",
            human_bytes(used),
            human_bytes(rss),
            m.peak,
            human_bytes(m.peak),
            used as f64 * 100.0 / m.peak.max(1) as f64,
            m.overhead,
            m.startup,
            dataset as f64 * 100.0 / net as f64,
        );
        let _ = write!(
            b,
            "allocator_allocated:{allocated}\r\nallocator_active:{active}\r\nallocator_resident:{resident}\r\ntotal_system_memory:{total}\r\ntotal_system_memory_human:{}\r\n",
            human_bytes(total),
        );
        // No scripting engine yet: no Lua VM, no script, no function.
        b.push_str("used_memory_lua:0\r\nused_memory_vm_eval:0\r\nused_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\nused_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\n");
        let _ = write!(
            b,
            "maxmemory:{maxmem}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:{:.2}\r\nallocator_frag_bytes:{}\r\nallocator_rss_ratio:{:.2}\r\nallocator_rss_bytes:{}\r\nrss_overhead_ratio:{:.2}\r\nrss_overhead_bytes:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_fragmentation_bytes:{}\r\n",
            human_bytes(maxmem),
            s.params.get("maxmemory-policy").unwrap_or_default(),
            ratio(active, allocated),
            diff(active, allocated),
            ratio(resident, active),
            diff(resident, active),
            ratio(rss, resident),
            diff(rss, resident),
            ratio(rss, used),
            diff(rss, used),
        );
        // No replication, AOF or cluster bus yet: their buffers are empty.
        let _ = write!(
            b,
            "mem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:{}\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:mimalloc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
            m.clients,
        );
        section("Memory", b);
    }
    if wanted("persistence") {
        // Nothing is persisted yet: the figures of a server that never saved nor loaded.
        section(
            "Persistence",
            format!("loading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n", now_ms / 1000 - uptime),
        );
    }
    if wanted("stats") {
        let t = stat_totals(s);
        let base = *s.stat_base.lock().unwrap_or_else(|p| p.into_inner());
        let d = |i: usize| t[i].saturating_sub(base[i]);
        let more = s.info.totals(&s.worker_exts());
        let (ops, in_kbps, out_kbps) = s.info.instantaneous();
        let mut b = String::new();
        let _ = write!(
            b,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{ops}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{in_kbps:.2}\r\ninstantaneous_output_kbps:{out_kbps:.2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n",
            d(1), d(0), d(2), d(3), d(7), d(6), more.expire_ms, d(4), d(5)
        );
        let _ = write!(
            b,
            "pubsub_channels:0\r\npubsub_patterns:0\r\npubsubshard_channels:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\nrustis_commands_borrowed:{}\r\nrustis_commands_forwarded:{}\r\n",
            more.error_replies, more.reads, more.writes,
            s.stats.iter().map(|w| w.borrowed.load(Ordering::Relaxed)).sum::<u64>(),
            s.stats.iter().map(|w| w.forwarded.load(Ordering::Relaxed)).sum::<u64>()
        );
        section("Stats", b);
    }
    if wanted("replication") {
        section("Replication", format!("role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n", &s.run_id[..40.min(s.run_id.len())]));
    }
    if wanted("cpu") {
        let (sys, user) = cpu_times();
        // Redis's main thread runs the commands; here the workers do: their threads' CPU time.
        let (mut wuser, mut wsys) = (0u64, 0u64);
        for w in &s.stats {
            wuser += w.ext.cpu_user_us.load(Ordering::Relaxed);
            wsys += w.ext.cpu_sys_us.load(Ordering::Relaxed);
        }
        section("CPU", format!("used_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{:.6}\r\nused_cpu_user_main_thread:{:.6}\r\n", wsys as f64 / 1e6, wuser as f64 / 1e6));
    }
    if wanted("modules") {
        section("Modules", String::new());
    }
    if wanted("commandstats") {
        let mut b = String::new();
        s.info
            .commandstats(&s.worker_exts(), |slot| SLOTS.name(slot), &mut b);
        section("Commandstats", b);
    }
    if wanted("errorstats") {
        let mut b = String::new();
        s.info.errorstats(&s.worker_exts(), &mut b);
        section("Errorstats", b);
    }
    if wanted("latencystats") {
        // Histograms are listed while latency-tracking is on.
        let mut b = String::new();
        if s.params.latency_tracking.load(Ordering::Relaxed) {
            let percentiles = crate::config::percentiles(
                &s.params
                    .get("latency-tracking-info-percentiles")
                    .unwrap_or_default(),
            );
            s.info.latencystats(
                &s.worker_exts(),
                &percentiles,
                |slot| SLOTS.name(slot),
                &mut b,
            );
        }
        section("Latencystats", b);
    }
    if wanted("cluster") {
        section("Cluster", "cluster_enabled:0\r\n".to_string());
    }
    if wanted("keyspace") {
        let mut b = String::new();
        for db in 0..s.databases {
            let (mut keys, mut expires) = (0u64, 0u64);
            for w in &s.stats {
                if let Some((k, e)) = w.keys.get(db) {
                    keys += k.load(Ordering::Relaxed);
                    expires += e.load(Ordering::Relaxed);
                }
            }
            if keys > 0 {
                let _ = write!(b, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
            }
        }
        section("Keyspace", b);
    }
    out
}

fn info(c: &mut ConnCtx, a: &Args) {
    let sections: Vec<String> = a
        .iter_from(1)
        .map(|x| String::from_utf8_lossy(x).to_ascii_lowercase())
        .collect();
    let text = info_text(c.shared, &sections);
    c.reply.verbatim(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Consecutive ranges of the given lengths.
    fn args(lens: &[usize]) -> Vec<std::ops::Range<usize>> {
        let mut at = 0;
        lens.iter()
            .map(|&n| {
                at += n;
                at - n..at
            })
            .collect()
    }

    #[test]
    fn unknown_command_text_is_byte_exact() {
        let buf = b"NO\xffSUCHa\x00bc";
        let ranges = args(&[7, 3, 1]);
        let msg = unknown_command_bytes(&Args::new(buf, &ranges));
        assert_eq!(
            msg,
            b"ERR unknown command 'NO\xffSUCH', with args beginning with: 'a' 'c' ".to_vec()
        );
        // Arguments are quoted while the list is under 128 bytes, the last one cut to fit.
        let long = [b'x'; 200];
        let ranges = [0..3, 0..200, 0..5];
        let msg = unknown_command_bytes(&Args::new(&long, &ranges));
        let expected = format!(
            "ERR unknown command 'xxx', with args beginning with: '{}' ",
            "x".repeat(128)
        );
        assert_eq!(String::from_utf8(msg).unwrap(), expected);
    }
}
