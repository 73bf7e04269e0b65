//! MEMORY: what a key costs (USAGE, run by the key's owner) and what the server uses (STATS,
//! DOCTOR, MALLOC-STATS, PURGE). The server-wide figures are [`MemoryReport`], which INFO memory
//! shows too, so the two always agree.

use std::sync::atomic::Ordering;

use super::{cmd, Args, Command, Ctx, Exec, KeySpec};
use crate::resp::err;
use crate::shared::Shared;
use crate::stats::rss_bytes;
use crate::store::memory::entry_usage;

/// MEMORY's subcommands, with Redis 7.0's arities.
pub const MEMORY_SUBCOMMANDS: &[super::Sub] = &[
    ("doctor", 2),
    ("malloc-stats", 2),
    ("purge", 2),
    ("stats", 2),
    ("usage", -3),
    ("help", 2),
];

/// The MEMORY command (Redis 7.0.15's arity and flags; its key, for USAGE, is the third argument).
pub fn commands() -> Vec<Command> {
    vec![cmd(
        "memory",
        -2,
        0,
        KeySpec::Custom(memory_keys),
        Exec::Keyed(memory),
    )
    .with_subs(MEMORY_SUBCOMMANDS)]
}

/// Only MEMORY USAGE names a key.
fn memory_keys(args: &Args, out: &mut Vec<usize>) {
    if args.len() > 2 && args.is(1, "usage") {
        out.push(2);
    }
}

/// Elements MEMORY USAGE samples by default (Redis's OBJ_COMPUTE_SIZE_DEF_SAMPLES).
const DEFAULT_SAMPLES: usize = 5;

fn memory(ctx: &mut Ctx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"usage" => usage(ctx, a),
        b"stats" => stats(ctx),
        b"doctor" => {
            let report = doctor(&MemoryReport::measure(ctx.shared));
            ctx.reply.verbatim(report.as_bytes())
        }
        b"malloc-stats" => {
            let text = malloc_stats();
            ctx.reply.verbatim(text.as_bytes())
        }
        b"purge" => {
            // SAFETY: mi_collect only walks mimalloc's own heaps and returns their free pages.
            unsafe { libmimalloc_sys::mi_collect(true) };
            ctx.reply.ok()
        }
        b"help" => ctx.reply.help(
            "MEMORY",
            &[
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
            ],
        ),
        _ => super::ctx::unknown_subcommand(&mut ctx.reply, a),
    }
}

/// MEMORY USAGE key [SAMPLES count]: the options are checked before the key is looked up, as in
/// Redis; the lookup counts no hit or miss and does not touch the key. O(samples).
fn usage(ctx: &mut Ctx, a: &Args) {
    let mut samples = DEFAULT_SAMPLES;
    let mut j = 3;
    while j < a.len() {
        if !(a.is(j, "samples") && j + 1 < a.len()) {
            return ctx.reply.error(err::SYNTAX);
        }
        match crate::num::parse_i64(a.get(j + 1)) {
            None => return ctx.reply.error(err::NOT_INT),
            Some(n) if n < 0 => return ctx.reply.error(err::SYNTAX),
            Some(n) => samples = usize::try_from(n).unwrap_or(usize::MAX),
        }
        j += 2;
    }
    let (db, now) = (ctx.db, ctx.now);
    match ctx.ks.dbs[db].peek(a.get(2), now) {
        None => ctx.reply.null(),
        Some(e) => {
            let n = entry_usage(e, samples);
            ctx.reply.int(n as i64)
        }
    }
}

/// MEMORY STATS: Redis 7.0's map, field for field, from [`MemoryReport`].
fn stats(ctx: &mut Ctx) {
    let m = MemoryReport::measure(ctx.shared);
    let r = &mut ctx.reply;
    let dbs: Vec<(usize, u64)> = (0..m.db_keys.len())
        .filter(|&d| m.db_keys[d] > 0)
        .map(|d| (d, m.db_keys[d]))
        .collect();
    r.map(27 + dbs.len());
    let int = |r: &mut crate::resp::Reply, name: &str, v: u64| {
        r.bulk(name.as_bytes());
        r.int(v as i64);
    };
    int(r, "peak.allocated", m.peak);
    int(r, "total.allocated", m.used);
    int(r, "startup.allocated", m.startup);
    int(r, "replication.backlog", 0);
    int(r, "clients.slaves", 0);
    int(r, "clients.normal", m.clients);
    int(r, "cluster.links", 0);
    int(r, "aof.buffer", 0);
    int(r, "lua.caches", m.lua_caches);
    int(r, "functions.caches", m.functions_caches);
    for (d, keys) in dbs {
        r.bulk(format!("db.{d}").as_bytes());
        r.map(3);
        // The table's slack, shared among the databases by their keys (expiry lives in the entry:
        // there is no second table).
        let main = m.tables * keys / m.keys.max(1);
        int(r, "overhead.hashtable.main", main);
        int(r, "overhead.hashtable.expires", 0);
        int(r, "overhead.hashtable.slot-to-keys", 0);
    }
    int(r, "overhead.total", m.overhead);
    int(r, "keys.count", m.keys);
    int(r, "keys.bytes-per-key", m.bytes_per_key());
    int(r, "dataset.bytes", m.dataset());
    r.bulk(b"dataset.percentage");
    r.double(m.dataset_percentage());
    r.bulk(b"peak.percentage");
    r.double(m.peak_percentage());
    int(r, "allocator.allocated", m.used);
    int(r, "allocator.active", m.active);
    int(r, "allocator.resident", m.resident);
    r.bulk(b"allocator-fragmentation.ratio");
    r.double(ratio(m.active, m.used));
    int(
        r,
        "allocator-fragmentation.bytes",
        m.active.saturating_sub(m.used),
    );
    r.bulk(b"allocator-rss.ratio");
    r.double(ratio(m.resident, m.active));
    int(
        r,
        "allocator-rss.bytes",
        m.resident.saturating_sub(m.active),
    );
    r.bulk(b"rss-overhead.ratio");
    r.double(ratio(m.rss, m.resident));
    int(r, "rss-overhead.bytes", m.rss.saturating_sub(m.resident));
    r.bulk(b"fragmentation");
    r.double(ratio(m.rss, m.used));
    int(r, "fragmentation.bytes", m.rss.saturating_sub(m.used));
}

/// `a / b`, 0 when `b` is 0.
pub(super) fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The server's memory, as INFO memory and MEMORY STATS report it. Gathering it is O(workers +
/// databases) plus two reads of /proc.
pub(super) struct MemoryReport {
    /// Bytes allocated (`used_memory`, `total.allocated`).
    pub used: u64,
    /// The highest `used` seen.
    pub peak: u64,
    /// `used` once the server had started.
    pub startup: u64,
    /// Bytes that are not the dataset: startup, clients' buffers, the tables' slack.
    pub overhead: u64,
    /// Clients' buffers and state.
    pub clients: u64,
    /// The key tables' slack (empty slots, tags, directories).
    pub tables: u64,
    /// Bytes the allocator has committed.
    pub active: u64,
    /// Bytes of the allocator resident.
    pub resident: u64,
    /// The process's resident set.
    pub rss: u64,
    /// Keys in all databases, and per database.
    pub keys: u64,
    /// Keys per database.
    pub db_keys: Vec<u64>,
    /// Cached EVAL scripts' bytes.
    pub lua_caches: u64,
    /// Function libraries' bytes.
    pub functions_caches: u64,
    /// Scripts and libraries cached (MEMORY DOCTOR's "many scripts").
    pub scripts: u64,
    /// Connected clients.
    pub connected: u64,
}

impl MemoryReport {
    /// Gathers the figures the workers last published.
    pub fn measure(s: &Shared) -> MemoryReport {
        let rss = rss_bytes();
        let figures = s.info.memory(s.used_memory(), &s.worker_exts());
        let used = figures.used;
        let active = allocator_committed().max(used);
        let db_keys: Vec<u64> = (0..s.databases)
            .map(|db| {
                s.stats
                    .iter()
                    .filter_map(|w| w.keys.get(db))
                    .map(|(k, _)| k.load(Ordering::Relaxed))
                    .sum()
            })
            .collect();
        let tables = s
            .worker_exts()
            .iter()
            .map(|x| x.table_overhead.load(Ordering::Relaxed))
            .sum();
        let (scripts, scripts_bytes) = s.scripts.usage();
        let libs = s.scripts.libraries.all();
        let functions_caches = libs
            .iter()
            .map(|l| l.code.len() + 64 * (l.functions.len() + 1))
            .sum::<usize>() as u64;
        MemoryReport {
            used,
            peak: figures.peak,
            startup: figures.startup,
            overhead: figures.overhead,
            clients: figures.clients,
            tables,
            active,
            resident: rss.max(active),
            rss,
            keys: db_keys.iter().sum(),
            db_keys,
            lua_caches: scripts_bytes as u64,
            functions_caches,
            scripts: scripts as u64,
            connected: s.clients().len() as u64,
        }
    }

    /// Bytes of the dataset: what is allocated beyond the overhead.
    pub fn dataset(&self) -> u64 {
        self.used.saturating_sub(self.overhead)
    }

    /// What was allocated since startup, at least 1.
    fn net(&self) -> u64 {
        self.used.saturating_sub(self.startup).max(1)
    }

    /// The dataset's share of what was allocated since startup, in percent.
    pub fn dataset_percentage(&self) -> f64 {
        self.dataset() as f64 * 100.0 / self.net() as f64
    }

    /// `used` as a percentage of the peak.
    pub fn peak_percentage(&self) -> f64 {
        self.used as f64 * 100.0 / self.peak.max(1) as f64
    }

    /// Bytes allocated since startup per key (0 without keys).
    pub fn bytes_per_key(&self) -> u64 {
        self.net().checked_div(self.keys).unwrap_or(0)
    }
}

/// Bytes mimalloc has committed from the OS (INFO's `allocator_active`).
pub(super) fn allocator_committed() -> u64 {
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

/// MEMORY DOCTOR's report: Redis 7.0's checks and texts, on our figures (no replicas here, so never
/// the replica-buffer finding).
fn doctor(m: &MemoryReport) -> String {
    const MB: u64 = 1 << 20;
    if m.used < 5 * MB {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string();
    }
    let big_peak = ratio(m.peak, m.used) > 1.5;
    let high_frag = ratio(m.rss, m.used) > 1.4 && m.rss.saturating_sub(m.used) > 10 * MB;
    let high_alloc_frag =
        ratio(m.active, m.used) > 1.1 && m.active.saturating_sub(m.used) > 10 * MB;
    let high_alloc_rss =
        ratio(m.resident, m.active) > 1.1 && m.resident.saturating_sub(m.active) > 10 * MB;
    let high_proc_rss =
        ratio(m.rss, m.resident) > 1.1 && m.rss.saturating_sub(m.resident) > 10 * MB;
    let big_client_buf = m.clients / m.connected.max(1) > 200 * 1024;
    let many_scripts = m.scripts > 1000;
    let findings: [(bool, &str); 7] = [
        (big_peak, " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n"),
        (high_frag, " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"mimalloc\".\n\n"),
        (high_alloc_frag, " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n"),
        (high_alloc_rss, " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n"),
        (high_proc_rss, " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n"),
        (big_client_buf, " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n"),
        (many_scripts, " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n"),
    ];
    if !findings.iter().any(|(on, _)| *on) {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string();
    }
    let mut s =
        "Sam, I detected a few issues in this Redis instance memory implants:\n\n".to_string();
    for (_, text) in findings.iter().filter(|(on, _)| *on) {
        s.push_str(text);
    }
    s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    s
}

/// MEMORY MALLOC-STATS: mimalloc's own statistics report.
fn malloc_stats() -> String {
    extern "C" fn append(msg: *const std::ffi::c_char, arg: *mut std::ffi::c_void) {
        // SAFETY: `arg` is the `String` passed below, alive for the whole call; `msg` is a
        // NUL-terminated string mimalloc owns for the duration of this callback.
        unsafe {
            let out = &mut *(arg as *mut String);
            out.push_str(&std::ffi::CStr::from_ptr(msg).to_string_lossy());
        }
    }
    let mut out = String::new();
    // SAFETY: the callback only appends to `out`, which outlives the call.
    unsafe {
        libmimalloc_sys::mi_stats_print_out(Some(append), &mut out as *mut String as *mut _);
    }
    out
}
