//! AUTH and ACL (SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, GENPASS, LOG, DRYRUN,
//! LOAD, SAVE, HELP) with Redis 7.0's replies and errors. The users and the decisions are
//! [`crate::acl`]; this file is the commands' surface.

use super::ctx::ConnCtx;
use super::{cmd, flag::*, Args, Command, Exec, KeySpec};
use crate::acl::{self, Context, Denied, LogEntry, Reason};
use crate::command::slots::{SubLookup, SLOTS};
use crate::command::TABLE;
use crate::resp::err;

/// The sub-commands of ACL and their arities.
pub const SUBCOMMANDS: &[super::Sub] = &[
    ("cat", -2),
    ("deluser", -3),
    ("dryrun", -4),
    ("genpass", -2),
    ("getuser", 3),
    ("help", 2),
    ("list", 2),
    ("load", 2),
    ("log", -2),
    ("save", 2),
    ("setuser", -3),
    ("users", 2),
    ("whoami", 2),
];

/// AUTH and ACL.
pub fn commands() -> Vec<Command> {
    vec![
        cmd(
            "auth",
            -2,
            NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
            KeySpec::None,
            Exec::Conn(auth),
        ),
        cmd("acl", -2, 0, KeySpec::None, Exec::Conn(acl_cmd)).with_subs(SUBCOMMANDS),
    ]
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Records a refusal in the ACL log.
pub fn log_denial(
    shared: &crate::shared::Shared,
    client: u64,
    reason: Reason,
    context: Context,
    object: &[u8],
    username: &[u8],
    now: u64,
) {
    let client_info = shared
        .clients()
        .get(&client)
        .map(|ci| super::client::client_line(ci, now).trim_end().to_string())
        .unwrap_or_default();
    let max = shared.params.get_i64("acllog-max-len").max(0) as usize;
    shared.acl.write_log().log(
        LogEntry {
            count: 1,
            reason,
            context,
            object: object.to_vec(),
            username: username.to_vec(),
            ctime_ms: crate::shared::unix_ms(),
            client_info,
        },
        max,
    );
}

/// Records a refused command: the command's name, or the key or channel at fault.
pub fn log_denied_command(
    shared: &crate::shared::Shared,
    session: &super::ctx::Session,
    d: Denied,
    context: Context,
    slot: usize,
    args: &Args,
    now: u64,
) {
    let object = match d.index() {
        Some(i) => args.get(i).to_vec(),
        None => SLOTS.name(slot).as_bytes().to_vec(),
    };
    log_denial(
        shared,
        session.id,
        d.reason(),
        context,
        &object,
        &session.auth.user.name,
        now,
    );
}

/// Authenticates the connection as `user` with `pass`: true on success; on failure the attempt
/// is logged (with `object`, the command name as sent).
pub fn try_auth(c: &mut ConnCtx, user: &[u8], pass: &[u8], object: &[u8]) -> bool {
    match acl::authenticate(&c.shared.acl, user, pass) {
        Some(u) => {
            if let Some(ci) = c.shared.clients().get_mut(&c.session.id) {
                ci.user = String::from_utf8_lossy(&u.name).into_owned();
                ci.user_id = u.id;
            }
            c.session.auth.become_user(u);
            true
        }
        None => {
            let ctx = if c.in_exec || c.session.multi.is_some() {
                Context::Multi
            } else {
                Context::Toplevel
            };
            log_denial(
                c.shared,
                c.session.id,
                Reason::Auth,
                ctx,
                object,
                user,
                c.now,
            );
            false
        }
    }
}

fn auth(c: &mut ConnCtx, a: &Args) {
    if a.len() > 3 {
        return c.reply.error(err::SYNTAX);
    }
    let (user, pass): (&[u8], &[u8]) = if a.len() == 2 {
        if c.shared.acl.read().default_user().flags & acl::rules::uflag::NOPASS != 0 {
            return c.reply.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        }
        (b"default", a.get(1))
    } else {
        (a.get(1), a.get(2))
    };
    if try_auth(c, user, pass, a.get(0)) {
        c.reply.ok()
    } else {
        c.reply.error(WRONGPASS)
    }
}

fn acl_cmd(c: &mut ConnCtx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    match (sub.as_slice(), a.len()) {
        (b"setuser", n) if n >= 3 => setuser(c, a),
        (b"deluser", n) if n >= 3 => deluser(c, a),
        (b"getuser", 3) => getuser(c, a),
        (b"list", 2) | (b"users", 2) => {
            let names = sub.as_slice() == b"users";
            let reg = c.shared.acl.read();
            c.reply.array(reg.users.len());
            for u in reg.users.values() {
                if names {
                    c.reply.bulk(&u.name);
                } else {
                    let mut line = b"user ".to_vec();
                    line.extend_from_slice(&u.name);
                    line.push(b' ');
                    line.extend_from_slice(u.describe().as_bytes());
                    c.reply.bulk(&line);
                }
            }
        }
        (b"whoami", 2) => {
            let name = c.session.auth.user.name.clone();
            c.reply.bulk(&name)
        }
        (b"load" | b"save", _) => c.reply.error("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."),
        (b"cat", 2) => {
            c.reply.array(acl::categories::CATEGORIES.len());
            for (name, _) in acl::categories::CATEGORIES {
                c.reply.bulk(name.as_bytes());
            }
        }
        (b"cat", 3) => {
            let Some(cat) = acl::categories::by_name(c_str(a.get(2))) else {
                let mut m = b"ERR Unknown category '".to_vec();
                m.extend_from_slice(crate::resp::reply::c_str_max(a.get(2), 128));
                m.push(b'\'');
                return c.reply.error_bytes(&m);
            };
            let names: Vec<&str> = (0..SLOTS.len())
                .filter(|&s| acl::categories::of(s) & cat != 0)
                .map(|s| SLOTS.name(s))
                .collect();
            c.reply.array(names.len());
            for n in names {
                c.reply.bulk(n.as_bytes());
            }
        }
        (b"genpass", 2 | 3) => {
            let bits = if a.len() == 3 {
                match crate::resp::parse_i64(a.get(2)) {
                    Some(b) => b,
                    None => return c.reply.error(err::NOT_INT),
                }
            } else {
                256
            };
            if bits <= 0 || bits > 4096 {
                return c.reply.error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
            }
            let chars = ((bits + 3) / 4) as usize;
            c.reply.bulk(random_hex(chars).as_bytes());
        }
        (b"log", 2 | 3) => log(c, a),
        (b"dryrun", n) if n >= 4 => dryrun(c, a),
        (b"help", 2) => c.reply.help(
            "ACL",
            &[
                "CAT [<category>]",
                "    List all commands that belong to <category>, or all command categories",
                "    when no category is specified.",
                "DELUSER <username> [<username> ...]",
                "    Delete a list of users.",
                "DRYRUN <username> <command> [<arg> ...]",
                "    Returns whether the user can execute the given command without executing the command.",
                "GETUSER <username>",
                "    Get the user's details.",
                "GENPASS [<bits>]",
                "    Generate a secure 256-bit user password. The optional `bits` argument can",
                "    be used to specify a different size.",
                "LIST",
                "    Show users details in config file format.",
                "LOAD",
                "    Reload users from the ACL file.",
                "LOG [<count> | RESET]",
                "    Show the ACL log entries.",
                "SAVE",
                "    Save the current config to the ACL file.",
                "SETUSER <username> <attribute> [<attribute> ...]",
                "    Create or modify a user with the specified attributes.",
                "USERS",
                "    List all the registered usernames.",
                "WHOAMI",
                "    Return the current connection username.",
            ],
        ),
        _ => subcommand_syntax_error(c, a),
    }
}

/// Redis's addReplySubcommandSyntaxError: a known subcommand with arguments it does not take.
fn subcommand_syntax_error(c: &mut ConnCtx, a: &Args) {
    let mut m = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    m.extend_from_slice(crate::resp::reply::c_str_max(a.get(1), 128));
    m.extend_from_slice(b"'. Try ");
    m.extend(c_str(a.get(0)).iter().map(u8::to_ascii_uppercase));
    m.extend_from_slice(b" HELP.");
    c.reply.error_bytes(&m)
}

fn c_str(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |i| &s[..i])
}

/// `chars` random lower-case hex digits from the kernel's generator.
fn random_hex(chars: usize) -> String {
    let mut buf = vec![0u8; chars.div_ceil(2)];
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let n =
            unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n <= 0 {
            break;
        }
        filled += n as usize;
    }
    let mut s = String::with_capacity(chars);
    for b in &buf {
        s.push_str(&format!("{b:02x}"));
    }
    s.truncate(chars);
    s
}

fn setuser(c: &mut ConnCtx, a: &Args) {
    let name = a.get(2);
    if acl::rules::has_spaces(name) {
        return c
            .reply
            .error("ERR Usernames can't contain spaces or null characters");
    }
    let ops: Vec<&[u8]> = a.iter_from(3).collect();
    let (before, result) = {
        let mut reg = c.shared.acl.write();
        let before = reg.users.get(name).cloned();
        (before, reg.set_user(name, &ops))
    };
    match result {
        Ok(u) => {
            if let Some(before) = before {
                recheck_subscribers(c, &before, &u);
            }
            c.reply.ok()
        }
        Err(m) => c.reply.error_bytes(&m),
    }
}

/// After a user's channel rules changed: its subscribed connections check their subscriptions
/// against the new rules, and close if one is no longer allowed (Redis 7.0 closes them).
fn recheck_subscribers(c: &mut ConnCtx, before: &acl::User, after: &acl::User) {
    let same_channels = before
        .selectors
        .iter()
        .map(|s| (s.flags & acl::rules::sflag::ALLCHANNELS, &s.channels))
        .eq(after
            .selectors
            .iter()
            .map(|s| (s.flags & acl::rules::sflag::ALLCHANNELS, &s.channels)));
    if same_channels {
        return;
    }
    let targets: Vec<(usize, u64)> = c
        .shared
        .clients()
        .values()
        .filter(|ci| ci.user_id == after.id && ci.subs + ci.psubs + ci.ssubs > 0)
        .filter(|ci| ci.id != c.session.id)
        .map(|ci| (ci.worker, ci.id))
        .collect();
    for (w, id) in targets {
        c.shared.control(w, crate::shared::Control::Recheck(id));
    }
}

fn deluser(c: &mut ConnCtx, a: &Args) {
    if a.iter_from(2).any(|n| n == b"default") {
        return c.reply.error("ERR The 'default' user cannot be removed");
    }
    let mut removed = Vec::new();
    {
        let mut reg = c.shared.acl.write();
        for n in a.iter_from(2) {
            if let Some(u) = reg.users.remove(n) {
                removed.push(u.id);
            }
        }
    }
    let me = c.session.id;
    let mut victims = Vec::new();
    let mut close_me = false;
    for ci in c.shared.clients().values() {
        if removed.contains(&ci.user_id) {
            if ci.id == me {
                close_me = true;
            } else {
                victims.push((ci.worker, ci.id));
            }
        }
    }
    for (w, id) in victims {
        c.shared.control(w, crate::shared::Control::Kill(id));
    }
    if close_me {
        c.session.quit = true;
    }
    c.reply.int(removed.len() as i64)
}

fn selector_fields(c: &mut ConnCtx, s: &acl::Selector) {
    c.reply.bulk(b"commands");
    c.reply.bulk(s.describe_commands().as_bytes());
    c.reply.bulk(b"keys");
    c.reply.bulk(s.describe_keys().as_bytes());
    c.reply.bulk(b"channels");
    c.reply.bulk(s.describe_channels().as_bytes());
}

fn getuser(c: &mut ConnCtx, a: &Args) {
    let Some(u) = c.shared.acl.read().users.get(a.get(2)).cloned() else {
        return c.reply.null();
    };
    c.reply.map(6);
    c.reply.bulk(b"flags");
    let flags: Vec<&str> = acl::rules::uflag::NAMES
        .iter()
        .filter(|(_, f)| u.flags & f != 0)
        .map(|(n, _)| *n)
        .collect();
    c.reply.set(flags.len());
    for f in flags {
        c.reply.bulk(f.as_bytes());
    }
    c.reply.bulk(b"passwords");
    c.reply.array(u.passwords.len());
    for p in &u.passwords {
        c.reply.bulk(p);
    }
    selector_fields(c, &u.selectors[0]);
    c.reply.bulk(b"selectors");
    c.reply.array(u.selectors.len() - 1);
    for s in &u.selectors[1..] {
        c.reply.map(3);
        selector_fields(c, s);
    }
}

fn log(c: &mut ConnCtx, a: &Args) {
    let mut count: usize = 10;
    if a.len() == 3 {
        if a.is(2, "reset") {
            c.shared.acl.write_log().log.clear();
            return c.reply.ok();
        }
        match crate::resp::parse_i64(a.get(2)) {
            Some(n) => count = n.max(0) as usize,
            None => return c.reply.error(err::NOT_INT),
        }
    }
    let entries: Vec<LogEntry> = c
        .shared
        .acl
        .read()
        .log
        .iter()
        .take(count)
        .cloned()
        .collect();
    let now = crate::shared::unix_ms();
    c.reply.array(entries.len());
    for e in entries {
        c.reply.map(7);
        c.reply.bulk(b"count");
        c.reply.int(e.count as i64);
        c.reply.bulk(b"reason");
        c.reply.bulk(e.reason.name().as_bytes());
        c.reply.bulk(b"context");
        c.reply.bulk(e.context.name().as_bytes());
        c.reply.bulk(b"object");
        c.reply.bulk(&e.object);
        c.reply.bulk(b"username");
        c.reply.bulk(&e.username);
        c.reply.bulk(b"age-seconds");
        c.reply
            .double(now.saturating_sub(e.ctime_ms) as f64 / 1000.0);
        c.reply.bulk(b"client-info");
        c.reply.bulk(e.client_info.as_bytes());
    }
}

fn dryrun(c: &mut ConnCtx, a: &Args) {
    let Some(u) = c.shared.acl.read().users.get(a.get(2)).cloned() else {
        let mut m = b"ERR User '".to_vec();
        m.extend_from_slice(c_str(a.get(2)));
        m.extend_from_slice(b"' not found");
        return c.reply.error_bytes(&m);
    };
    let inner = a.skip(3);
    let not_found = |c: &mut ConnCtx| {
        let mut m = b"ERR Command '".to_vec();
        m.extend_from_slice(c_str(a.get(3)));
        m.extend_from_slice(b"' not found");
        c.reply.error_bytes(&m)
    };
    let Some((ci, cmd)) = TABLE.lookup(inner.get(0)) else {
        return not_found(c);
    };
    let (slot, arity) = match SLOTS.lookup(ci, &inner) {
        SubLookup::Whole => (ci, cmd.arity),
        SubLookup::Known(s, ar) => (s, ar),
        SubLookup::Unknown => return not_found(c),
    };
    if !crate::stats::arity_fits(arity, inner.len()) {
        return c.reply.error(&format!(
            "ERR wrong number of arguments for '{}' command",
            SLOTS.name(slot)
        ));
    }
    match acl::check(&u, ci, slot, &inner) {
        Ok(()) => c.reply.ok(),
        Err(Denied::Command) => c.reply.bulk(
            format!(
                "This user has no permissions to run the '{}' command",
                SLOTS.name(slot)
            )
            .as_bytes(),
        ),
        Err(Denied::Key(i)) => {
            let mut m = b"This user has no permissions to access the '".to_vec();
            m.extend_from_slice(c_str(inner.get(i)));
            m.extend_from_slice(b"' key");
            c.reply.bulk(&m)
        }
        Err(Denied::Channel(i)) => {
            let mut m = b"This user has no permissions to access the '".to_vec();
            m.extend_from_slice(c_str(inner.get(i)));
            m.extend_from_slice(b"' channel");
            c.reply.bulk(&m)
        }
    }
}
