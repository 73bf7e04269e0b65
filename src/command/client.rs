//! CLIENT: the connections' own view of themselves and of the others (CLIENT LIST/INFO show each
//! connection's live buffer figures).

use super::ctx::{unknown_subcommand, valid_client_name, ConnCtx};
use super::Args;
use crate::resp::err;
use crate::resp::reply::c_str;

pub(crate) fn client_line(ci: &crate::shared::ClientInfo, now: u64) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let g = &ci.gauge;
    let last = g.last_ms.load(Relaxed).max(ci.created_ms);
    let cmd = match g.last_cmd.load(Relaxed) as usize {
        0 => "NULL",
        i if i <= crate::command::slots::SLOTS.len() => crate::command::slots::SLOTS.name(i - 1),
        _ => "NULL",
    };
    // Redis's letters, in its order: x (in MULTI), d (a watched key changed); N for none.
    let mut flags = String::new();
    if ci.monitor {
        flags.push('O');
    }
    if ci.subs + ci.psubs + ci.ssubs > 0 {
        flags.push('P');
    }
    if g.multi.load(Relaxed) > 0 {
        flags.push('x');
    }
    if ci.postponed || ci.block.as_ref().is_some_and(|t| t.waiting()) {
        flags.push('b');
    }
    if let Some(m) = &ci.tracking {
        flags.push('t');
        if m.broken_redirect {
            flags.push('R');
        }
        if m.bcast {
            flags.push('B');
        }
    }
    if g.dirty_cas.load(Relaxed) {
        flags.push('d');
    }
    if ci.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r{} cmd={} user={} redir={} resp={} lib-name={} lib-ver={}\n",
        ci.id,
        ci.addr,
        ci.laddr,
        ci.fd,
        ci.name,
        now.saturating_sub(ci.created_ms) / 1000,
        now.saturating_sub(last) / 1000,
        flags,
        ci.db,
        ci.subs,
        ci.psubs,
        ci.ssubs,
        g.multi.load(Relaxed) as i64 - 1,
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
        if ci.user.is_empty() { "default" } else { &ci.user },
        ci.tracking.as_ref().map_or(-1, |m| m.redirect as i64),
        ci.resp,
        ci.lib_name,
        ci.lib_ver
    )
}

pub(super) fn client(c: &mut ConnCtx, a: &Args) {
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
                if t == b"normal" || t == b"pubsub" {
                    let pubsub = t == b"pubsub";
                    for ci in c.shared.clients().values() {
                        if (ci.subs + ci.psubs + ci.ssubs > 0) == pubsub {
                            out.push_str(&client_line(ci, c.now));
                        }
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
        (b"unblock", 3 | 4) => unblock(c, a),
        (b"reply", 3) => {
            // OFF and SKIP answer nothing (the reply would be suppressed anyway).
            if a.is(2, "on") {
                c.session.reply_off = false;
                c.session.skip_next = false;
                c.reply.ok()
            } else if a.is(2, "off") {
                c.session.reply_off = true;
            } else if a.is(2, "skip") {
                if !c.session.reply_off {
                    c.session.skip_next = true;
                }
            } else {
                c.reply.error(err::SYNTAX)
            }
        }
        (b"kill", _) => kill(c, a),
        (b"pause", 3 | 4) => pause(c, a),
        (b"unpause", 2) => {
            c.shared.pause.unpause();
            c.shared.wake_all();
            c.reply.ok()
        }
        (b"no-evict", 3) => {
            // Nothing is evicted yet (no maxmemory eviction); the flag is kept and shown.
            let on = if a.is(2, "on") {
                true
            } else if a.is(2, "off") {
                false
            } else {
                return c.reply.error(err::SYNTAX);
            };
            if let Some(ci) = c.shared.clients().get_mut(&c.session.id) {
                ci.no_evict = on;
            }
            c.reply.ok()
        }
        (b"tracking", n) if n >= 3 => tracking(c, a),
        (b"caching", n) if n >= 3 => caching(c, a),
        (b"getredir", 2) => {
            let r = c
                .session
                .tracking
                .as_ref()
                .map_or(-1, |m| m.redirect as i64);
            c.reply.int(r)
        }
        (b"trackinginfo", 2) => trackinginfo(c),
        (b"unblock" | b"pause", _) => {
            let mut msg = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
            msg.extend_from_slice(c_str(a.get(1)));
            msg.extend_from_slice(b"'. Try CLIENT HELP.");
            c.reply.error_bytes(&msg)
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
                "KILL <ip:port>",
                "    Kill connection made from <ip:port>.",
                "KILL <option> <value> [<option> <value> [...]]",
                "    Kill connections. Options are:",
                "    * ADDR (<ip:port>|<unixsocket>:0)",
                "      Kill connections made from the specified address",
                "    * LADDR (<ip:port>|<unixsocket>:0)",
                "      Kill connections made to specified local address",
                "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                "      Kill connections by type.",
                "    * USER <username>",
                "      Kill connections authenticated by <username>.",
                "    * SKIPME (YES|NO)",
                "      Skip killing current connection (default: yes).",
                "REPLY (ON|OFF|SKIP)",
                "    Control the replies sent to the current connection.",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "    Unblock the specified blocked client.",
                "UNPAUSE",
                "    Stop the current client pause, resuming traffic.",
                "PAUSE <timeout> [WRITE|ALL]",
                "    Suspend all, or just write, clients for <timeout> milliseconds.",
                "GETREDIR",
                "    Return the client ID we are redirecting to when tracking is enabled.",
                "CACHING (YES|NO)",
                "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
                "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
                "         [OPTIN] [OPTOUT] [NOLOOP]",
                "    Control server assisted client side caching.",
                "TRACKINGINFO",
                "    Report tracking status for the current connection.",
                "NO-EVICT (ON|OFF)",
                "    Protect current client connection from eviction.",
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

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP]:
/// client-side caching, with Redis 7.0's checks and texts in its order (options first, then
/// the mode and their compatibility).
fn tracking(c: &mut ConnCtx, a: &Args) {
    let mut mode = crate::tracking::Mode::default();
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "redirect") && more {
            j += 1;
            if mode.redirect != 0 {
                return c
                    .reply
                    .error("ERR A client can only redirect to a single other client");
            }
            let Some(id) = a.int(j) else {
                return c.reply.error(err::NOT_INT);
            };
            let exists = u64::try_from(id)
                .ok()
                .is_some_and(|id| c.shared.clients().contains_key(&id));
            if !exists {
                return c
                    .reply
                    .error("ERR The client ID you want redirect to does not exist");
            }
            mode.redirect = id as u64;
        } else if a.is(j, "bcast") {
            mode.bcast = true;
        } else if a.is(j, "optin") {
            mode.optin = true;
        } else if a.is(j, "optout") {
            mode.optout = true;
        } else if a.is(j, "noloop") {
            mode.noloop = true;
        } else if a.is(j, "prefix") && more {
            j += 1;
            prefixes.push(a.get(j));
        } else {
            return c.reply.error(err::SYNTAX);
        }
        j += 1;
    }
    if a.is(2, "off") {
        stop_tracking(c.shared, c.session);
        return c.reply.ok();
    }
    if !a.is(2, "on") {
        return c.reply.error(err::SYNTAX);
    }
    if !mode.bcast && !prefixes.is_empty() {
        return c
            .reply
            .error("ERR PREFIX option requires BCAST mode to be enabled");
    }
    let old = c.session.tracking.clone();
    if old.as_ref().is_some_and(|o| o.bcast != mode.bcast) {
        return c.reply.error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return c
            .reply
            .error("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if mode.optin && mode.optout {
        return c
            .reply
            .error("ERR You can't specify both OPTIN mode and OPTOUT mode");
    }
    if old
        .as_ref()
        .is_some_and(|o| (mode.optin && o.optout) || (mode.optout && o.optin))
    {
        return c.reply.error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    let existing = old.as_ref().map_or(&[][..], |o| &o.prefixes[..]);
    if mode.bcast {
        if let Some(e) = crate::tracking::prefix_collision(existing, &prefixes) {
            return c.reply.error(&e);
        }
    }
    let t = &c.shared.tracking;
    mode.prefixes = existing.to_vec();
    if mode.bcast {
        if prefixes.is_empty() && !mode.prefixes.iter().any(|p| p.is_empty()) {
            prefixes.push(b"");
        }
        for p in prefixes {
            if !mode.prefixes.iter().any(|x| x == p) {
                t.follow(p, c.session.id);
                mode.prefixes.push(p.to_vec());
            }
        }
        if old.is_none() {
            t.count_bcast(true);
        }
    }
    if old.is_none() {
        t.clients.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
    if let Some(ci) = c.shared.clients().get_mut(&c.session.id) {
        ci.tracking = Some(mode.clone());
    }
    c.session.tracking = Some(mode);
    c.reply.ok()
}

/// Turns tracking off for `session` (CLIENT TRACKING OFF, RESET, disconnect): its prefixes are
/// unfollowed and it is counted out. The keys it read stay in the table until they change, as
/// in Redis.
pub fn stop_tracking(shared: &crate::shared::Shared, session: &mut super::ctx::Session) {
    session.caching = false;
    let Some(mode) = session.tracking.take() else {
        return;
    };
    let t = &shared.tracking;
    if mode.bcast {
        t.unfollow(&mode.prefixes, session.id);
        t.count_bcast(false);
    }
    t.clients.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    if let Some(ci) = shared.clients().get_mut(&session.id) {
        ci.tracking = None;
    }
}

/// CLIENT CACHING YES|NO: whether the next command's reads are tracked, in OPTIN (YES) or
/// OPTOUT (NO) mode.
fn caching(c: &mut ConnCtx, a: &Args) {
    let Some(mode) = &c.session.tracking else {
        return c.reply.error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
    };
    if a.is(2, "yes") {
        if !mode.optin {
            return c.reply.error(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            );
        }
    } else if a.is(2, "no") {
        if !mode.optout {
            return c.reply.error(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            );
        }
    } else {
        return c.reply.error(err::SYNTAX);
    }
    c.session.caching = true;
    c.reply.ok()
}

/// CLIENT TRACKINGINFO: flags (a set), redirect, prefixes, as Redis 7.0 lists them.
fn trackinginfo(c: &mut ConnCtx) {
    let broken = c
        .shared
        .clients()
        .get(&c.session.id)
        .and_then(|ci| ci.tracking.as_ref().map(|m| m.broken_redirect))
        .unwrap_or(false);
    let mut flags: Vec<&[u8]> = Vec::new();
    let (redirect, prefixes) = match &c.session.tracking {
        None => {
            flags.push(b"off");
            (-1, Vec::new())
        }
        Some(m) => {
            flags.push(b"on");
            if m.bcast {
                flags.push(b"bcast");
            }
            if m.optin {
                flags.push(b"optin");
                if c.session.caching {
                    flags.push(b"caching-yes");
                }
            }
            if m.optout {
                flags.push(b"optout");
                if c.session.caching {
                    flags.push(b"caching-no");
                }
            }
            if m.noloop {
                flags.push(b"noloop");
            }
            if broken {
                flags.push(b"broken_redirect");
            }
            let mut p = m.prefixes.clone();
            p.sort();
            (m.redirect as i64, p)
        }
    };
    c.reply.map(3);
    c.reply.bulk(b"flags");
    c.reply.set(flags.len());
    for f in flags {
        c.reply.bulk(f);
    }
    c.reply.bulk(b"redirect");
    c.reply.int(redirect);
    c.reply.bulk(b"prefixes");
    c.reply.array(prefixes.len());
    for p in prefixes {
        c.reply.bulk(&p);
    }
}

/// CLIENT PAUSE timeout [WRITE|ALL]: holds every client's commands (ALL, the default), or their
/// writes (WRITE), for `timeout` milliseconds on every worker ([`crate::pause`]). The mode is
/// checked before the timeout, as in Redis 7.0.
fn pause(c: &mut ConnCtx, a: &Args) {
    use crate::pause::Mode;
    let mode = if a.len() == 4 {
        if a.is(3, "write") {
            Mode::Write
        } else if a.is(3, "all") {
            Mode::All
        } else {
            return c.reply.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
        }
    } else {
        Mode::All
    };
    let Some(ms) = crate::resp::parse_i64(a.get(2)) else {
        return c
            .reply
            .error("ERR timeout is not an integer or out of range");
    };
    if ms < 0 {
        return c.reply.error("ERR timeout is negative");
    }
    // As Redis: 0 is a pause that ended already.
    let until = if ms == 0 {
        0
    } else {
        c.now.saturating_add(ms as u64)
    };
    c.shared.pause.pause(mode, until, c.now);
    c.reply.ok()
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: answers a client blocked in BLPOP and the like, wherever it
/// is served, with the timeout reply or the UNBLOCKED error; 1 if it was blocked, else 0. The
/// reason is checked before the id, as in Redis 7.0.
fn unblock(c: &mut ConnCtx, a: &Args) {
    let error = if a.len() == 4 {
        if a.is(3, "timeout") {
            false
        } else if a.is(3, "error") {
            true
        } else {
            return c
                .reply
                .error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        }
    } else {
        false
    };
    let Some(id) = a.int(2) else {
        return c.reply.error(err::NOT_INT);
    };
    let target = u64::try_from(id).ok().and_then(|id| {
        let clients = c.shared.clients();
        let ci = clients.get(&id)?;
        Some((ci.worker, ci.block.clone()?))
    });
    match target {
        Some((worker, ticket)) if ticket.cancel_waiting() => {
            c.shared
                .control(worker, crate::shared::Control::Unblock(ticket, error));
            c.reply.int(1)
        }
        _ => c.reply.int(0),
    }
}

/// CLIENT KILL addr, or CLIENT KILL with filters (ID, TYPE, ADDR, LADDR, USER, SKIPME, and MAXAGE
/// seconds, which Redis 7.4 added): closes every matching connection, whichever worker serves it
/// (it leaves CLIENT LIST at once; its worker closes the socket at its next iteration). The old
/// form answers +OK or "No such client" and may kill the caller; the new one counts, and skips the
/// caller unless SKIPME no. The caller itself closes once this reply is written.
fn kill(c: &mut ConnCtx, a: &Args) {
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut id = 0u64;
    // TYPE: the connections of that type (normal, pubsub; no replicas exist), or None for all.
    let mut kind: Option<Option<bool>> = None;
    let mut maxage: Option<u64> = None;
    // USER: the connections authenticated as that user (by id).
    let mut user: Option<u64> = None;
    let mut skipme = true;
    if a.len() == 3 {
        addr = Some(a.get(2));
        skipme = false;
    } else if a.len() > 3 {
        let mut i = 2;
        while i < a.len() {
            let more = i + 1 < a.len();
            if a.is(i, "id") && more {
                match a.int(i + 1) {
                    Some(n) if n >= 1 => id = n as u64,
                    _ => return c.reply.error("ERR client-id should be greater than 0"),
                }
            } else if a.is(i, "type") && more {
                let t = a.get(i + 1).to_ascii_lowercase();
                match t.as_slice() {
                    b"normal" => kind = Some(Some(false)),
                    b"pubsub" => kind = Some(Some(true)),
                    b"master" | b"slave" | b"replica" => kind = Some(None),
                    _ => {
                        let mut msg = b"ERR Unknown client type '".to_vec();
                        msg.extend_from_slice(c_str(a.get(i + 1)));
                        msg.push(b'\'');
                        return c.reply.error_bytes(&msg);
                    }
                }
            } else if a.is(i, "addr") && more {
                addr = Some(a.get(i + 1));
            } else if a.is(i, "laddr") && more {
                laddr = Some(a.get(i + 1));
            } else if a.is(i, "user") && more {
                match c.shared.acl.read().users.get(a.get(i + 1)) {
                    Some(u) => user = Some(u.id),
                    None => {
                        let mut msg = b"ERR No such user '".to_vec();
                        msg.extend_from_slice(c_str(a.get(i + 1)));
                        msg.push(b'\'');
                        return c.reply.error_bytes(&msg);
                    }
                }
            } else if a.is(i, "skipme") && more {
                if a.is(i + 1, "yes") {
                    skipme = true;
                } else if a.is(i + 1, "no") {
                    skipme = false;
                } else {
                    return c.reply.error(err::SYNTAX);
                }
            } else if a.is(i, "maxage") && more {
                match a.int(i + 1) {
                    Some(n) if n >= 0 => maxage = Some(n as u64),
                    _ => return c.reply.error(err::NOT_INT),
                }
            } else {
                return c.reply.error(err::SYNTAX);
            }
            i += 2;
        }
    } else {
        return c.reply.error(err::SYNTAX);
    }
    let me = c.session.id;
    let now = c.now;
    let mut victims = Vec::new();
    let mut close_me = false;
    {
        let mut clients = c.shared.clients();
        clients.retain(|&cid, ci| {
            let hit = addr.is_none_or(|x| ci.addr.as_bytes() == x)
                && laddr.is_none_or(|x| ci.laddr.as_bytes() == x)
                && kind.is_none_or(|t| t == Some(ci.subs + ci.psubs + ci.ssubs > 0))
                && (id == 0 || cid == id)
                && user.is_none_or(|u| ci.user_id == u)
                && maxage.is_none_or(|m| now.saturating_sub(ci.created_ms) / 1000 >= m)
                && !(cid == me && skipme);
            if !hit {
                return true;
            }
            if cid == me {
                close_me = true;
                return true;
            }
            victims.push((ci.worker, cid));
            false
        });
    }
    let killed = victims.len() + close_me as usize;
    for (worker, cid) in victims {
        c.shared.control(worker, crate::shared::Control::Kill(cid));
    }
    if close_me {
        c.session.quit = true;
    }
    if a.len() == 3 {
        if killed == 0 {
            c.reply.error("ERR No such client")
        } else {
            c.reply.ok()
        }
    } else {
        c.reply.int(killed as i64)
    }
}
