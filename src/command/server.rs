//! Connection and server commands: they run on the connection's own worker and touch no key.
//! Their declarations are here, with the small ones (PING, ECHO, HELLO, SELECT, SHUTDOWN...); the
//! big ones have rooms of their own: `client`, `config`, `introspection` (COMMAND), `info`.
//! (DBSIZE, FLUSHDB, FLUSHALL, SWAPDB run on every shard and live with the keyspace family.)

use super::{cmd, flag::*, Args, Command, Exec, KeySpec};
use crate::resp::err;
use crate::resp::reply::c_str;
use crate::shared::REDIS_VERSION;

use super::client::client;
use super::config::config;
use super::ctx::{valid_client_name, ConnCtx};
use super::info::info;
use super::introspection::command;

/// The sub-commands of CLIENT, CONFIG and COMMAND that Rustis implements, with Redis's
/// arities: each is counted apart in INFO commandstats (`cmdstat_config|get`), and a call with the
/// wrong number of arguments is refused before it runs.
pub const CLIENT_SUBCOMMANDS: &[super::Sub] = &[
    ("id", 2),
    ("getname", 2),
    ("setname", 3),
    ("setinfo", 4),
    ("info", 2),
    ("list", -2),
    ("unblock", -3),
    ("kill", -3),
    ("reply", 3),
    ("pause", -3),
    ("unpause", 2),
    ("no-evict", 3),
    ("getredir", 2),
    ("tracking", -3),
    ("caching", 3),
    ("trackinginfo", 2),
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

/// The connection and server commands.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Conn;
    use KeySpec::None as K0;
    vec![
        cmd("ping", -1, FAST, K0, Conn(ping)),
        cmd("echo", 2, LOADING | STALE | FAST, K0, Conn(echo)),
        cmd("quit", -1, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST | NOT_QUEUED, K0, Conn(quit)),
        cmd("reset", 1, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST | NOT_QUEUED, K0, Conn(reset)),
        cmd("hello", -1, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST, K0, Conn(hello)),
        cmd("select", 2, LOADING | STALE | FAST, K0, Conn(select)),
        cmd("client", -2, 0, K0, Conn(client)).with_subs(CLIENT_SUBCOMMANDS),
        cmd("config", -2, 0, K0, Conn(config)).with_subs(CONFIG_SUBCOMMANDS),
        cmd("command", -1, LOADING | STALE, K0, Conn(command)).with_subs(COMMAND_SUBCOMMANDS),
        cmd("time", 1, LOADING | STALE | FAST, K0, Conn(time)),
        cmd("wait", 3, NOSCRIPT, K0, Conn(wait)),
        cmd("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, K0, Conn(monitor)),
        cmd("info", -1, LOADING | STALE, K0, Conn(info)),
    ]
}

fn ping(c: &mut ConnCtx, a: &Args) {
    if !c.session.resp3 && c.session.subscribed() && a.len() <= 2 {
        // In subscribed mode (RESP2) PING answers as a message would: ["pong", argument].
        c.reply.array(2);
        c.reply.bulk(b"pong");
        return c.reply.bulk(if a.len() == 2 { a.get(1) } else { b"" });
    }
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

/// MONITOR: from now on, this connection is sent a line for every command any client runs
/// (admin commands and those flagged skip-monitor excepted), as Redis formats it. Refused inside
/// EXEC, ignored when already monitoring. O(monitors).
fn monitor(c: &mut ConnCtx, _: &Args) {
    if c.in_exec {
        return c
            .reply
            .error("ERR MONITOR isn't allowed for DENY BLOCKING client");
    }
    if c.session.monitor {
        return;
    }
    c.session.monitor = true;
    {
        let mut m = c.shared.monitors.lock().unwrap_or_else(|e| e.into_inner());
        m.push(crate::pubsub::Subscriber {
            worker: c.worker,
            token: c.session.token,
            client: c.session.id,
        });
        c.shared
            .monitor_count
            .store(m.len(), std::sync::atomic::Ordering::Release);
    }
    if let Some(ci) = c.shared.clients().get_mut(&c.session.id) {
        ci.monitor = true;
    }
    c.reply.ok()
}

fn reset(c: &mut ConnCtx, _: &Args) {
    let who = crate::pubsub::Subscriber {
        worker: c.worker,
        token: c.session.token,
        client: c.session.id,
    };
    c.session.unsubscribe_all(&mut c.shared.pubsub(), who);
    if std::mem::take(&mut c.session.monitor) {
        c.shared.unmonitor(who);
    }
    // Back to the default user, authenticated only if it needs no password (clientSetDefaultAuth).
    c.session.auth = c.shared.acl.new_auth();
    if let Some(ci) = c.shared.clients().get_mut(&c.session.id) {
        ci.subs = 0;
        ci.psubs = 0;
        ci.ssubs = 0;
        ci.monitor = false;
        ci.user = "default".into();
        ci.user_id = c.session.auth.user.id;
    }
    c.session.reply_off = false;
    c.session.skip_next = false;
    super::client::stop_tracking(c.shared, c.session);
    c.session.multi = None;
    c.session.unwatch();
    c.session.db = 0;
    c.session.resp3 = false;
    c.session.name.clear();
    c.publish();
    c.reply.simple("RESET");
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
            if !super::acl::try_auth(c, a.get(i + 1), a.get(i + 2), a.get(0)) {
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
    if c.session.auth.auth_required(&c.shared.acl) {
        c.publish();
        return c.reply.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
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

/// WAIT numreplicas timeout: how many replicas acknowledged this connection's writes. Rustis has
/// no replication, so none ever does: the answer is 0, given at once (where Redis, asked for one
/// replica or more, would first wait out the timeout). The arguments are checked as Redis does.
fn wait(c: &mut ConnCtx, a: &Args) {
    if crate::resp::parse_i64(a.get(1)).is_none() {
        return c.reply.error(err::NOT_INT);
    }
    match crate::resp::parse_i64(a.get(2)) {
        None => c
            .reply
            .error("ERR timeout is not an integer or out of range"),
        Some(t) if t < 0 => c.reply.error("ERR timeout is negative"),
        Some(_) => c.reply.int(0),
    }
}
