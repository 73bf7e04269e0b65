//! CLIENT: the connections' own view of themselves and of the others (CLIENT LIST/INFO show each
//! connection's live buffer figures).

use super::ctx::{unknown_subcommand, valid_client_name, ConnCtx};
use super::Args;
use crate::resp::err;
use crate::resp::reply::c_str;

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
    // Redis's letters, in its order: x (in MULTI), d (a watched key changed); N for none.
    let mut flags = String::new();
    if g.multi.load(Relaxed) > 0 {
        flags.push('x');
    }
    if ci.block.as_ref().is_some_and(|t| t.waiting()) {
        flags.push('b');
    }
    if g.dirty_cas.load(Relaxed) {
        flags.push('d');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r{} cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}\n",
        ci.id,
        ci.addr,
        ci.laddr,
        ci.fd,
        ci.name,
        now.saturating_sub(ci.created_ms) / 1000,
        now.saturating_sub(last) / 1000,
        flags,
        ci.db,
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
        (b"unblock", 3 | 4) => unblock(c, a),
        (b"unblock", _) => {
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
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "    Unblock the specified blocked client.",
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
            c.shared.unblocks[worker].push(ticket, error);
            if let Some(w) = c.shared.wakers.get(worker) {
                let _ = w.wake();
            }
            c.reply.int(1)
        }
        _ => c.reply.int(0),
    }
}
