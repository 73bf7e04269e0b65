//! Client-side caching on the worker: remembering the keys a tracking client reads (when its
//! read is dispatched), and sending invalidation messages for the keys a command changed, to
//! each client that read them or follows a prefix they match ([`crate::tracking`]).

use super::*;
use crate::command::ctx::Session;

/// Remembers the keys of read-only command `ci` (`args`) for `session`, if it tracks them:
/// tracking on, not broadcasting, and OPTIN with CLIENT CACHING YES, or OPTOUT without CLIENT
/// CACHING NO, or neither. As Redis, scripts and pub/sub commands are not tracked. O(keys).
pub(super) fn remember_reads(shared: &Shared, n: usize, session: &Session, ci: usize, args: &Args) {
    let cmd = TABLE.get(ci);
    if !tracks_reads(session)
        || cmd.flags & flag::READONLY == 0
        || cmd.flags & flag::PUBSUB != 0
        || matches!(cmd.exec, Exec::Script)
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

/// Whether `session` tracks the keys it reads now: tracking on, not BCAST, and OPTIN with
/// CLIENT CACHING YES, or OPTOUT without CLIENT CACHING NO, or neither.
pub(super) fn tracks_reads(session: &Session) -> bool {
    session.tracking.as_ref().is_some_and(|m| {
        !m.bcast && (!m.optin || session.caching) && (!m.optout || !session.caching)
    })
}

/// Sends the invalidations for `changed` keys to the clients that read them (each key with the
/// client that changed it, for NOLOOP), and, after a flush, the null invalidation to every
/// tracking client (`n` workers). Broadcasting clients are told by [`broadcast`].
/// O(changed keys x readers).
pub(super) fn invalidate(shared: &Shared, n: usize, changed: &[(Box<[u8]>, u64)], flushed: bool) {
    let t = &shared.tracking;
    // Each reader told, with the key and the client that changed it.
    let mut told: Vec<(u64, &[u8], u64)> = Vec::new();
    for (key, writer) in changed {
        let owner = slot_owner(key_slot(key), n);
        for id in t.take_readers(owner, key) {
            told.push((id, key, *writer));
        }
    }
    if flushed {
        t.clear();
    }
    tell(shared, n, told, flushed);
}

/// Past `tracking-table-max-keys` tracked keys: forgets keys, as Redis's
/// trackingLimitUsedSlots does (at most `effort` of them, in no particular order), telling
/// their readers, until the table is back under the limit. O(effort x readers).
pub(super) fn limit_table(shared: &Shared, n: usize, max_keys: usize, effort: usize) {
    let evicted = shared.tracking.evict(max_keys, effort);
    if evicted.is_empty() {
        return;
    }
    let told: Vec<(u64, &[u8], u64)> = evicted
        .iter()
        .flat_map(|(key, ids)| ids.iter().map(move |&id| (id, &key[..], 0)))
        .collect();
    tell(shared, n, told, false);
}

/// Sends each (reader, key, writer) of `told` its invalidation (NOLOOP readers are not told of
/// their own writes, broadcasting ones are told apart), and after a flush the null one to every
/// tracking client.
fn tell(shared: &Shared, n: usize, told: Vec<(u64, &[u8], u64)>, flushed: bool) {
    if told.is_empty() && !flushed {
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
    send(shared, per_worker);
}

/// Sends broadcasting clients the keys changed during this loop iteration (`pending`, each with
/// the client that changed it): for each prefix they match, one message with those keys,
/// sorted and without repeats, as Redis sends them once per event loop; a NOLOOP client is not
/// told of the keys it changed last. O(prefixes x keys).
pub(super) fn broadcast(shared: &Shared, n: usize, pending: &[(Box<[u8]>, u64)]) {
    let keys: Vec<&[u8]> = pending.iter().map(|(k, _)| &**k).collect();
    let hits = shared.tracking.broadcasts(&keys);
    if hits.is_empty() {
        return;
    }
    // The client that changed each key last.
    let last = |k: &[u8]| {
        pending
            .iter()
            .rev()
            .find(|(c, _)| **c == *k)
            .map(|(_, w)| *w)
    };
    let mut per_worker: Vec<crate::shared::Pushes> = vec![Vec::new(); n];
    let mut clients = shared.clients();
    for (ids, keys) in hits {
        for id in ids {
            let Some(mode) = clients.get(&id).and_then(|c| c.tracking.as_ref()) else {
                continue;
            };
            if !mode.bcast {
                continue;
            }
            let keys: Vec<Vec<u8>> = if mode.noloop {
                keys.iter()
                    .filter(|k| last(k) != Some(id))
                    .cloned()
                    .collect()
            } else {
                keys.clone()
            };
            if !keys.is_empty() {
                route(&mut clients, id, Some(&keys), &mut per_worker);
            }
        }
    }
    drop(clients);
    send(shared, per_worker);
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

/// Hands each worker its invalidation messages.
fn send(shared: &Shared, per_worker: Vec<crate::shared::Pushes>) {
    for (w, list) in per_worker.into_iter().enumerate() {
        if !list.is_empty() {
            shared.control(w, crate::shared::Control::Invalidate(list));
        }
    }
}
