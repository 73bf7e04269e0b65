//! The process: checks the settings, binds the listeners, spawns one worker per core and handles
//! signals. What the workers share lives in [`crate::shared`].

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use mio::{Poll, Waker};
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::{Cli, Params};
use crate::shared::{unix_ms, Shared, WorkerStats, SIGNALLED};
use crate::worker::{mailbox::Mailboxes, Worker, WAKER_TOKEN};

/// A running server: its address and worker threads.
pub struct Server {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    shards: Arc<crate::worker::shard::Shards>,
}

impl Server {
    /// Waits for every worker to exit; then, when a signal (not SHUTDOWN) stopped the server and
    /// save points are configured, saves the data as Redis does on SIGTERM.
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
        if self.shared.persist.exit_was_handled()
            || !crate::command::persist::has_save_points(&self.shared)
        {
            return;
        }
        crate::log_at!(
            Warning,
            "Received a signal: saving the final RDB snapshot before exiting."
        );
        let n = self.shared.workers;
        let got: Vec<usize> = (0..n).filter(|&id| self.shards.acquire(id)).collect();
        if got.len() != n {
            crate::log_at!(
                Warning,
                "Error trying to save the DB: a shard is still in use"
            );
        } else {
            // SAFETY: every shard acquired above (the workers have exited), released below.
            let mut all: Vec<&mut crate::store::Keyspace> = got
                .iter()
                .map(|&id| unsafe { self.shards.held_mut(id) })
                .collect();
            if let Err(e) = crate::command::persist::save_now(&self.shared, &mut all) {
                crate::log_at!(Warning, "Error trying to save the DB: {e}");
            }
        }
        for id in got {
            self.shards.release(id);
        }
    }

    /// Stops the server and waits for it.
    pub fn stop(self) {
        self.shared.request_shutdown();
        self.join();
    }
}

/// Fails with "Address already in use" if anything listens on `addr` already, another Rustis
/// included. Our own listeners share the port through SO_REUSEPORT, which would also let a second
/// process join the group and take half the connections; a socket bound *without* SO_REUSEPORT
/// conflicts with any listener, so binding one first and closing it refuses that, as Redis does.
/// (Two processes started within the same instant could still both pass: the window is the few
/// microseconds between this probe and the first listener's bind.)
fn refuse_taken_port(addr: SocketAddr) -> io::Result<()> {
    let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    probe.set_reuse_address(true)?;
    if addr.is_ipv6() {
        probe.set_only_v6(true)?;
    }
    probe.bind(&addr.into())
}

fn listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(511)?;
    Ok(socket.into())
}

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// Installs SIGINT/SIGTERM handlers that ask the workers to stop, and ignores SIGPIPE.
pub fn install_signal_handlers() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Binds every worker's listener on the same address (SO_REUSEPORT) and starts the workers.
///
/// A setting out of its range fails with [`io::ErrorKind::InvalidInput`] and Redis's startup text
/// (the directive, then the reason) before anything is bound.
pub fn start(cli: &Cli) -> io::Result<Server> {
    let params = Params::new(cli).map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))?;
    crate::log::set_level(&cli.loglevel);
    let workers = cli.worker_count();
    // `bind` as Redis takes it: several addresses; one prefixed with `-` is skipped when the
    // machine does not have it. Every address gets one listener per worker, on the same port
    // (the first address's when port 0 picks one).
    let mut port = cli.port;
    let mut first_addr = None;
    let mut listeners: Vec<Vec<std::net::TcpListener>> = (0..workers).map(|_| Vec::new()).collect();
    for word in cli.bind.split_whitespace() {
        let optional = word.starts_with('-');
        let ip: std::net::IpAddr = word.trim_start_matches('-').parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid --bind address '{word}'"),
            )
        })?;
        let sa = SocketAddr::new(ip, port);
        let unavailable = |e: &io::Error| optional && e.kind() == io::ErrorKind::AddrNotAvailable;
        if port != 0 {
            match refuse_taken_port(sa) {
                Err(e) if unavailable(&e) => continue,
                Err(e) => return Err(e),
                Ok(()) => {}
            }
        }
        let first = match listener(sa) {
            Err(e) if unavailable(&e) => continue,
            other => other?,
        };
        let a = first.local_addr()?;
        port = a.port();
        first_addr.get_or_insert(a);
        listeners[0].push(first);
        for ls in listeners.iter_mut().skip(1) {
            ls.push(listener(a)?);
        }
    }
    let addr = first_addr.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "bind: Cannot assign requested address",
        )
    })?;
    let mut polls = Vec::with_capacity(workers);
    let mut wakers = Vec::with_capacity(workers);
    for _ in 0..workers {
        let poll = Poll::new()?;
        wakers.push(Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?));
        polls.push(poll);
    }
    let mail = Arc::new(Mailboxes::new(workers, wakers.clone()));
    let rnd = unix_ms() ^ (std::process::id() as u64) << 32;
    let shared = Arc::new(Shared {
        params,
        persist: Default::default(),
        workers,
        databases: cli.databases.max(1),
        addr,
        started: Instant::now(),
        run_id: format!(
            "{:016x}{:016x}{:08x}",
            rnd.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            rnd.rotate_left(17),
            rnd as u32
        ),
        next_client_id: AtomicU64::new(1),
        shutdown: AtomicBool::new(false),
        clients: Mutex::new(BTreeMap::new()),
        stats: (0..workers)
            .map(|_| WorkerStats {
                keys: (0..cli.databases.max(1))
                    .map(|_| Default::default())
                    .collect(),
                ext: crate::stats::WorkerExt::new(crate::worker::stats_slots()),
                ..Default::default()
            })
            .collect(),
        stat_base: Mutex::new([0; 9]),
        controls: (0..workers).map(|_| Default::default()).collect(),
        wakers,
        pubsub: Default::default(),
        pause: Default::default(),
        slowlog: Default::default(),
        monitors: Default::default(),
        monitor_count: Default::default(),
        tracking: crate::tracking::Tracking::new(workers),
        info: Default::default(),
        scripts: crate::script::store::Scripts::new(workers),
        acl: Default::default(),
    });
    if !cli.requirepass.is_empty() {
        shared.acl.set_requirepass(cli.requirepass.as_bytes());
    }
    crate::command::config::apply_startup(&shared);
    let mut keyspaces: Vec<crate::store::Keyspace> = (0..workers)
        .map(|id| {
            let mut ks =
                crate::store::Keyspace::new(shared.databases, unix_ms() ^ ((id as u64 + 1) << 40));
            crate::worker::refresh_shard(&mut ks, &shared.params);
            ks
        })
        .collect();
    load_snapshot(&shared, &mut keyspaces)?;
    let shards = crate::worker::shard::Shards::new(keyspaces);
    let mut threads = Vec::with_capacity(workers);
    for (id, (poll, l)) in polls.into_iter().zip(listeners).enumerate() {
        let worker = Worker::new(
            id,
            poll,
            l.into_iter().map(mio::net::TcpListener::from_std).collect(),
            shared.clone(),
            mail.clone(),
            shards.clone(),
        )?;
        let t = std::thread::Builder::new()
            .name(format!("rustis-w{id}"))
            // Room for a script's deeply nested reply (Redis stops at Lua's 8000 stack slots;
            // the conversion recurses once per level). Reserved, not committed.
            .stack_size(64 << 20)
            .spawn(move || worker.run())?;
        threads.push(t);
    }
    Ok(Server {
        addr,
        shared,
        threads,
        shards,
    })
}

/// Loads the RDB file (`dir`/`dbfilename`) into the shards before any worker runs, and logs what
/// was loaded. A damaged file is an [`io::ErrorKind::InvalidData`] error: the server does not
/// start on a partial keyspace, as Redis does not.
fn load_snapshot(shared: &Shared, keyspaces: &mut [crate::store::Keyspace]) -> io::Result<()> {
    let target = crate::command::persist::target(shared);
    let started = Instant::now();
    let limits = keyspaces.first().map(|k| k.limits).unwrap_or_default();
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    let Some(loaded) =
        crate::persist::load::load(&target.path, keyspaces, &limits, target.checksum, unix_ms())
            .map_err(bad)?
    else {
        return Ok(());
    };
    if !loaded.functions.is_empty() {
        crate::command::scripting::restore_libraries(shared, &loaded.functions)
            .map_err(|e| bad(format!("Failed loading the functions of the RDB file: {e}")))?;
    }
    crate::log_at!(
        Notice,
        "DB loaded from disk: {:.3} seconds ({}, RDB version {}{})",
        started.elapsed().as_secs_f64(),
        target.path.display(),
        loaded.version,
        loaded
            .redis_ver
            .as_deref()
            .map(|v| format!(", written by Redis {v}"))
            .unwrap_or_default()
    );
    crate::log_at!(
        Notice,
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        loaded.keys,
        loaded.expired
    );
    shared.persist.status().loaded = (loaded.keys, loaded.expired);
    Ok(())
}
