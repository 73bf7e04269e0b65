//! Client-side caching on the worker: remembering the keys a tracking client reads (when its
//! read is dispatched), and sending invalidation messages for the keys a command changed, to
//! each client that read them or follows a prefix they match ([`crate::tracking`]).

use super::*;
use crate::command::ctx::Session;

/// Remembers the keys of read-only command `ci` (`args`) for `session`, if it tracks them:
/// tracking on, not broadcasting, and OPTIN with CLIENT CACHING YES, or OPTOUT without CLIENT
/// CACHING NO, or neither. As Redis, scripts and pub/sub commands are not tracked. O(keys).
pub(super) fn remember_reads(shared: &Shared, n: usize, session: &Session, ci: usize, args: &Args) {
    let Some(mode) = &session.tracking else {
        return;
    };
    let cmd = TABLE.get(ci);
    if mode.bcast
        || cmd.flags & flag::READONLY == 0
        || cmd.flags & flag::PUBSUB != 0
        || matches!(cmd.exec, Exec::Script)
        || (mode.optin && !session.caching)
        || (mode.optout && session.caching)
    {
        return;
    }
    let mut keys = Vec::new();
    cmd.key_indices(args, &mut keys);
    for i in keys {
        let key = args.get(i);
        let owner = slot_owner(key_slot(key), n);
        shared.tracking.remember(owner, key, session.id);
    }
}

/// Sends the invalidations for `changed` keys (each with the client that changed it, for
/// NOLOOP), and, after a flush, the null invalidation to every tracking client (`n` workers).
/// O(changed keys x readers).
pub(super) fn invalidate(shared: &Shared, n: usize, changed: &[(Box<[u8]>, u64)], flushed: bool) {
    {
        let t = &shared.tracking;
        // Each reader told, with the key and the client that changed it.
        let mut told: Vec<(u64, &[u8], u64)> = Vec::new();
        for (key, writer) in changed {
            let owner = slot_owner(key_slot(key), n);
            for id in t.take_readers(owner, key) {
                told.push((id, key, *writer));
            }
        }
        let keys: Vec<&[u8]> = changed.iter().map(|(k, _)| &**k).collect();
        let bcast = t.broadcasts(&keys);
        if flushed {
            t.clear();
        }
        if told.is_empty() && bcast.is_empty() && !flushed {
            return;
        }
        let mut per_worker: Vec<crate::shared::Pushes> = vec![Vec::new(); n];
        let mut clients = shared.clients();
        for (id, key, writer) in told {
            let Some(mode) = clients.get(&id).and_then(|c| c.tracking.as_ref()) else {
                continue;
            };
            if mode.bcast || (mode.noloop && id == writer) {
                continue;
            }
            route(&mut clients, id, Some(&[key.to_vec()]), &mut per_worker);
        }
        for (ids, keys) in bcast {
            for id in ids {
                let Some(mode) = clients.get(&id).and_then(|c| c.tracking.as_ref()) else {
                    continue;
                };
                if !mode.bcast {
                    continue;
                }
                // NOLOOP: the keys this client changed itself are left out.
                let mine = |k: &Vec<u8>| {
                    mode.noloop && changed.iter().any(|(c, w)| **c == **k && *w == id)
                };
                let keys: Vec<Vec<u8>> = keys.iter().filter(|k| !mine(k)).cloned().collect();
                if !keys.is_empty() {
                    route(&mut clients, id, Some(&keys), &mut per_worker);
                }
            }
        }
        if flushed {
            let all: Vec<u64> = clients
                .iter()
                .filter(|(_, c)| c.tracking.is_some())
                .map(|(&id, _)| id)
                .collect();
            for id in all {
                route(&mut clients, id, None, &mut per_worker);
            }
        }
        drop(clients);
        for (w, list) in per_worker.into_iter().enumerate() {
            if !list.is_empty() {
                shared.control(w, crate::shared::Control::Invalidate(list));
            }
        }
    }
}

/// Queues the invalidation of `keys` (None: a flush) for tracking client `id`: to itself in
/// RESP3, or to the client it redirects to (a RESP3 push, or a message on
/// `__redis__:invalidate` for a subscribed RESP2 connection); a redirect to a client that is
/// gone marks it broken and tells it so (RESP3), as Redis's sendTrackingMessage.
fn route(
    clients: &mut std::collections::BTreeMap<u64, crate::shared::ClientInfo>,
    id: u64,
    keys: Option<&[Vec<u8>]>,
    per_worker: &mut [crate::shared::Pushes],
) {
    let Some(c) = clients.get(&id) else {
        return;
    };
    let Some(mode) = &c.tracking else {
        return;
    };
    let resp3 = c.resp == 3;
    let (me_worker, me_token) = (c.worker, c.token);
    if mode.redirect == 0 {
        if resp3 {
            let m = crate::tracking::message(keys, true, true);
            per_worker[me_worker].push((me_token, id, m.into()));
        }
        return;
    }
    let redirect = mode.redirect;
    match clients.get(&redirect) {
        Some(r) => {
            let subscribed = r.subs + r.psubs + r.ssubs > 0;
            if r.resp == 3 || subscribed {
                let m = crate::tracking::message(keys, r.resp == 3, resp3);
                per_worker[r.worker].push((r.token, redirect, m.into()));
            }
        }
        None => {
            if let Some(m) = clients.get_mut(&id).and_then(|c| c.tracking.as_mut()) {
                m.broken_redirect = true;
            }
            if resp3 {
                let mut m = b">2\r\n$21\r\ntracking-redir-broken\r\n".to_vec();
                m.extend_from_slice(format!(":{redirect}\r\n").as_bytes());
                per_worker[me_worker].push((me_token, id, m.into()));
            }
        }
    }
}
