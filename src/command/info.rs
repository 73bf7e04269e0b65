//! INFO: every section of Redis 7.0's, from what the workers publish.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::ctx::ConnCtx;
use super::slots::SLOTS;
use super::Args;
use crate::shared::{Shared, REDIS_VERSION, VERSION};

/// Totals of the resettable counters: commands, connections, net in, net out, hits, misses, expired,
/// rejected.
pub(super) fn stat_totals(s: &Shared) -> [u64; 9] {
    let mut t = [0u64; 9];
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
            &w.evicted_keys,
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
        let tracking = s
            .tracking
            .clients
            .load(std::sync::atomic::Ordering::Acquire);
        let (blocked, timed) = s
            .clients()
            .values()
            .filter(|c| c.postponed || c.block.as_ref().is_some_and(|t| t.waiting()))
            .fold((0, 0), |(b, t), c| (b + 1, t + c.block_timed as u64));
        section(
            "Clients",
            format!(
                "connected_clients:{connected}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{blocked}\r\ntracking_clients:{tracking}\r\nclients_in_timeout_table:{timed}\r\n",
                s.params.maxclients.load(Ordering::Relaxed),
                max_of(|w| w.client_max_in.load(Ordering::Relaxed)),
                max_of(|w| w.client_max_out.load(Ordering::Relaxed)),
            ),
        );
    }
    if wanted("memory") {
        let m = super::memory::MemoryReport::measure(s);
        let (used, rss, dataset) = (m.used, m.rss, m.dataset());
        let maxmem = s.params.maxmemory.load(Ordering::Relaxed);
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
        // The allocator's view (mimalloc): bytes handed out (the counting wrapper's figure), bytes
        // it has committed, and the process's resident set.
        let (allocated, active, resident) = (used, m.active, m.resident);
        let ratio = super::memory::ratio;
        let diff = |a: u64, b: u64| a as i64 - b as i64;
        let mut b = String::new();
        let _ = write!(
            b,
            "used_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{}\r\nused_memory_startup:{}\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{:.2}%\r\n",
            human_bytes(used),
            human_bytes(rss),
            m.peak,
            human_bytes(m.peak),
            m.peak_percentage(),
            m.overhead,
            m.startup,
            m.dataset_percentage(),
        );
        let _ = write!(
            b,
            "allocator_allocated:{allocated}\r\nallocator_active:{active}\r\nallocator_resident:{resident}\r\ntotal_system_memory:{total}\r\ntotal_system_memory_human:{}\r\n",
            human_bytes(total),
        );
        // One Lua VM per worker, running both EVAL scripts and functions: its memory is shown
        // as EVAL's (used_memory_vm_functions stays 0).
        let sc = &s.scripts;
        let lua = sc.lua_memory();
        let (cached, scripts_bytes) = sc.usage();
        let libs = sc.libraries.all();
        let functions: usize = libs.iter().map(|l| l.functions.len()).sum();
        let functions_bytes: usize = libs
            .iter()
            .map(|l| l.code.len() + 64 * (l.functions.len() + 1))
            .sum();
        let _ = write!(
            b,
            "used_memory_lua:{lua}\r\nused_memory_vm_eval:{lua}\r\nused_memory_lua_human:{}\r\nused_memory_scripts_eval:{scripts_bytes}\r\nnumber_of_cached_scripts:{cached}\r\nnumber_of_functions:{functions}\r\nnumber_of_libraries:{}\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:{lua}\r\nused_memory_vm_total_human:{}\r\nused_memory_functions:{functions_bytes}\r\nused_memory_scripts:{}\r\nused_memory_scripts_human:{}\r\n",
            human_bytes(lua),
            libs.len(),
            human_bytes(lua),
            scripts_bytes + functions_bytes,
            human_bytes((scripts_bytes + functions_bytes) as u64),
        );
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
        // Snapshots (src/persist): no fork, so no copy-on-write figures; no AOF yet.
        section("Persistence", {
            let st = s.persist.status();
            let changes = s.changes_total().saturating_sub(
                s.persist
                    .dirty_base
                    .load(std::sync::atomic::Ordering::Relaxed),
            );
            let ok = st.last.as_ref().is_none_or(|o| o.error.is_none());
            format!("loading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{changes}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
                    st.running.is_some() as u8,
                    st.lastsave,
                    if ok { "ok" } else { "err" },
                    st.last_bgsave_secs,
                    st.running.map_or(-1, |(_, t)| t.elapsed().as_secs() as i64),
                    st.saves,
                    st.loaded.1,
                    st.loaded.0,
                )
        });
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
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{ops}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{in_kbps:.2}\r\ninstantaneous_output_kbps:{out_kbps:.2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:{}\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n",
            d(1), d(0), d(2), d(3), d(7), d(6), more.expire_ms, d(8), d(4), d(5)
        );
        let (tk, ti, tp) = s.tracking.totals();
        let (channels, patterns, shard_channels) = {
            let r = s.pubsub();
            (
                r.channels(None).len(),
                r.numpat(),
                r.shard_channels(None).len(),
            )
        };
        let _ = write!(
            b,
            "pubsub_channels:{channels}\r\npubsub_patterns:{patterns}\r\npubsubshard_channels:{shard_channels}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:{tk}\r\ntracking_total_items:{ti}\r\ntracking_total_prefixes:{tp}\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\nrustis_commands_borrowed:{}\r\nrustis_commands_forwarded:{}\r\nrustis_scripts_wide_runs:{}\r\n",
            more.error_replies, more.reads, more.writes,
            s.stats.iter().map(|w| w.borrowed.load(Ordering::Relaxed)).sum::<u64>(),
            s.stats.iter().map(|w| w.forwarded.load(Ordering::Relaxed)).sum::<u64>(),
            s.scripts.wide_runs.load(Ordering::Relaxed)
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

pub(super) fn info(c: &mut ConnCtx, a: &Args) {
    let sections: Vec<String> = a
        .iter_from(1)
        .map(|x| String::from_utf8_lossy(x).to_ascii_lowercase())
        .collect();
    let text = info_text(c.shared, &sections);
    c.reply.verbatim(text.as_bytes());
}
