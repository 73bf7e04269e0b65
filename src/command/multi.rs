//! Transactions: MULTI opens a block, the commands after it are queued (the worker does that in
//! `route.rs`, where it knows whether a command was refused), EXEC runs the block as one atomic
//! step over every shard it touches (`worker/atomic.rs`), DISCARD drops it. WATCH registers the
//! keys on their shards (`store/watch.rs`); EXEC fails with a null reply when one changed.
//!
//! The texts are Redis 7.0's: clients match on them.

use super::{cmd, flag::*, Args, Command, Exec, KeySpec};
use crate::command::ctx::ConnCtx;

/// EXEC after a command was refused while queueing.
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// The transaction commands.
#[rustfmt::skip] // one declaration a line, as a table
pub fn commands() -> Vec<Command> {
    use Exec::Conn;
    use KeySpec::None as K0;
    vec![
        cmd("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NOT_QUEUED, K0, Conn(multi)),
        cmd("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NOT_QUEUED, K0, Conn(discard)),
        cmd("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | NOT_QUEUED, K0, Exec::Transaction),
        cmd("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NOT_QUEUED, KeySpec::Range(1, -1, 1), Exec::Watch),
        cmd("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, K0, Conn(unwatch)),
    ]
}

fn multi(c: &mut ConnCtx, _: &Args) {
    if c.session.multi.is_some() {
        return c.reply.error("ERR MULTI calls can not be nested");
    }
    c.session.multi = Some(Box::default());
    c.reply.ok();
}

fn discard(c: &mut ConnCtx, _: &Args) {
    if c.session.multi.take().is_none() {
        return c.reply.error("ERR DISCARD without MULTI");
    }
    c.session.unwatch();
    c.reply.ok();
}

fn unwatch(c: &mut ConnCtx, _: &Args) {
    c.session.unwatch();
    c.reply.ok();
}
