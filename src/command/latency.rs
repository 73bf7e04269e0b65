//! LATENCY: the latency monitor (LATEST, HISTORY, RESET, GRAPH, DOCTOR: events recorded when
//! something takes at least `latency-monitor-threshold` ms) and the per-command latency histograms
//! (HISTOGRAM), with Redis 7.0's replies.
//!
//! Events recorded: `command` and `fast-command` (a command, by its `fast` flag, whose execution took
//! the threshold or more), `expire-cycle` (an active-expiry pass of one worker). The events and
//! histograms are kept by [`crate::stats`]; this file answers the command.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::ctx::{unknown_subcommand, ConnCtx};
use super::slots::SLOTS;
use super::{cmd, Args, Command, Exec, KeySpec};
use crate::stats::{hist, Series};

/// The sub-commands of LATENCY and their arities.
pub const SUBCOMMANDS: &[super::Sub] = &[
    ("doctor", 2),
    ("graph", 3),
    ("help", 2),
    ("histogram", -2),
    ("history", 3),
    ("latest", 2),
    ("reset", -2),
];

/// The LATENCY command.
pub fn commands() -> Vec<Command> {
    vec![cmd("latency", -2, 0, KeySpec::None, Exec::Conn(latency)).with_subs(SUBCOMMANDS)]
}

fn now_secs() -> u64 {
    crate::shared::unix_ms() / 1000
}

fn latency(c: &mut ConnCtx, a: &Args) {
    let sub = a.get(1).to_ascii_lowercase();
    let info = &c.shared.info;
    match (sub.as_slice(), a.len()) {
        (b"latest", 2) => {
            let m = info.monitor();
            c.reply.array(m.events().len());
            for s in m.events() {
                let (time, ms) = s.latest();
                c.reply.array(4);
                c.reply.bulk(s.name().as_bytes());
                c.reply.int(time as i64);
                c.reply.int(ms as i64);
                c.reply.int(s.max() as i64);
            }
        }
        (b"history", 3) => {
            let m = info.monitor();
            let samples: Vec<(u64, u64)> = m
                .get(a.get(2))
                .map(|s| s.history().collect())
                .unwrap_or_default();
            c.reply.array(samples.len());
            for (time, ms) in samples {
                c.reply.array(2);
                c.reply.int(time as i64);
                c.reply.int(ms as i64);
            }
        }
        (b"reset", _) => {
            let mut m = info.monitor();
            let n = if a.len() == 2 {
                m.reset(None)
            } else {
                a.iter_from(2).map(|e| m.reset(Some(e))).sum()
            };
            c.reply.int(n as i64);
        }
        (b"graph", 3) => {
            let m = info.monitor();
            match m.get(a.get(2)) {
                Some(s) => {
                    let text = graph(s, now_secs());
                    c.reply.verbatim(text.as_bytes())
                }
                None => {
                    let mut msg = b"ERR No samples available for event '".to_vec();
                    msg.extend_from_slice(crate::resp::reply::c_str(a.get(2)));
                    msg.push(b'\'');
                    c.reply.error_bytes(&msg)
                }
            }
        }
        (b"doctor", 2) => {
            let text = doctor(c);
            c.reply.verbatim(text.as_bytes())
        }
        (b"histogram", _) => histogram(c, a),
        (b"help", 2) => {
            let lines = [
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "GRAPH <event>",
                "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]",
                "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied.",
                "HELP",
                "    Prints this help.",
            ];
            c.reply.array(lines.len());
            for l in lines {
                c.reply.simple(l);
            }
        }
        (b"doctor" | b"graph" | b"help" | b"history" | b"latest", _) => {
            let name = String::from_utf8_lossy(&sub).into_owned();
            c.reply.error(&format!(
                "ERR wrong number of arguments for 'latency|{name}' command"
            ))
        }
        _ => unknown_subcommand(&mut c.reply, a),
    }
}

/// LATENCY HISTOGRAM [command ...]: for each command (and each sub-command of a container named)
/// timed since the last CONFIG RESETSTAT, its calls and the cumulative distribution of its latency.
fn histogram(c: &mut ConnCtx, a: &Args) {
    let slots: Vec<usize> = if a.len() == 2 {
        (0..SLOTS.len()).collect()
    } else {
        a.iter_from(2).flat_map(|n| SLOTS.resolve(n)).collect()
    };
    let workers = c.shared.worker_exts();
    let found: Vec<(usize, Vec<u64>)> = slots
        .into_iter()
        .filter_map(|slot| c.shared.info.histogram(&workers, slot).map(|h| (slot, h)))
        .collect();
    c.reply.map(found.len());
    for (slot, h) in found {
        c.reply.bulk(SLOTS.name(slot).as_bytes());
        c.reply.map(2);
        c.reply.bulk(b"calls");
        c.reply.int(h.iter().sum::<u64>() as i64);
        c.reply.bulk(b"histogram_usec");
        let cdf = hist::cdf(&h);
        c.reply.map(cdf.len());
        for (us, n) in cdf {
            c.reply.int(us as i64);
            c.reply.int(n as i64);
        }
    }
}

/// LATENCY GRAPH: an ASCII sparkline of an event's samples (4 rows, 80 columns, filled), labelled
/// with how long ago each sample was taken, under a header line, as Redis draws it.
fn graph(s: &Series, now: u64) -> String {
    let samples: Vec<(u64, u64)> = s.history().collect();
    let (min, max) = samples
        .iter()
        .fold((u64::MAX, 0), |(lo, hi), &(_, v)| (lo.min(v), hi.max(v)));
    let min = if samples.is_empty() { 0 } else { min };
    let mut out = format!(
        "{} - high {max} ms, low {min} ms (all time high {} ms)\n",
        s.name(),
        s.max()
    );
    out.push_str(&"-".repeat(80));
    out.push('\n');
    let labelled: Vec<(f64, String)> = samples
        .iter()
        .map(|&(t, v)| {
            let ago = now.saturating_sub(t);
            let label = if ago < 60 {
                format!("{ago}s")
            } else if ago < 3600 {
                format!("{}m", ago / 60)
            } else if ago < 86400 {
                format!("{}h", ago / 3600)
            } else {
                format!("{}d", ago / 86400)
            };
            (v as f64, label)
        })
        .collect();
    for (i, chunk) in labelled.chunks(80).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        sparkline(&mut out, chunk, min as f64, max as f64, 4);
    }
    out
}

/// Draws one sparkline of up to 80 samples: `rows` rows of `_o#` (and `|` below the top of a bar),
/// a blank row, then the labels written vertically.
fn sparkline(out: &mut String, samples: &[(f64, String)], min: f64, max: f64, rows: usize) {
    const FILL: [char; 3] = ['_', 'o', '#'];
    let steps = (FILL.len() * rows) as i64;
    let range = if max - min == 0.0 { 1.0 } else { max - min };
    let step_of = |v: f64| -> i64 {
        // As C computes `(int)(relval*steps)/relmax`: the product is truncated first.
        let s = (((v - min) * steps as f64) as i64 as f64 / range) as i64;
        s.clamp(0, steps - 1)
    };
    for row in 0..rows {
        for (v, _) in samples {
            let idx = step_of(*v) - ((rows - row - 1) * FILL.len()) as i64;
            out.push(if (0..FILL.len() as i64).contains(&idx) {
                FILL[idx as usize]
            } else if idx >= FILL.len() as i64 {
                '|'
            } else {
                ' '
            });
        }
        out.push('\n');
    }
    if samples.is_empty() {
        return;
    }
    out.push_str(&" ".repeat(samples.len()));
    out.push('\n');
    let tallest = samples.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    for ch in 0..tallest {
        for (_, l) in samples {
            out.push(l.as_bytes().get(ch).map_or(' ', |&b| b as char));
        }
        out.push('\n');
    }
}

/// Whether the process uses transparent huge pages (Redis advises against them).
fn uses_huge_pages() -> bool {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("AnonHugePages:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|n| n.parse::<u64>().ok())
                })
        })
        .is_some_and(|kb| kb > 0)
}

/// LATENCY DOCTOR: Redis's report (statistics of each event and advice), for the events Rustis
/// records.
fn doctor(c: &ConnCtx) -> String {
    let threshold = c
        .shared
        .params
        .latency_monitor_threshold
        .load(Ordering::Relaxed);
    let m = c.shared.info.monitor();
    if m.events().is_empty() && threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string();
    }
    let slowlog = c.shared.params.get_i64("slowlog-log-slower-than");
    let hz = c.shared.params.get_i64("hz");
    let now = now_secs();
    let mut out = String::new();
    let (mut slowlog_enable, mut slowlog_tune, mut slowlog_inspect) = (false, false, false);
    let (mut scheduler, mut hz_advice, mut large_objects) = (false, false, false);
    let mut advices = 0;
    for (n, s) in m.events().iter().enumerate() {
        if n == 0 {
            out.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let samples: Vec<u64> = s.history().map(|(_, v)| v).collect();
        let count = samples.len() as u64;
        let oldest = s.history().map(|(t, _)| t).min().unwrap_or(0);
        let avg = samples.iter().sum::<u64>().checked_div(count).unwrap_or(0);
        let mad = samples
            .iter()
            .map(|&v| avg.abs_diff(v))
            .sum::<u64>()
            .checked_div(count)
            .unwrap_or(0);
        let period = if count > 0 {
            now.saturating_sub(oldest).max(1)
        } else {
            0
        };
        let _ = write!(
            out,
            "{}. {}: {count} latency spikes (average {avg}ms, mean deviation {mad}ms, period {:.2} sec). Worst all time event {}ms.",
            n + 1,
            s.name(),
            period as f64 / count.max(1) as f64,
            s.max()
        );
        match s.name() {
            "command" => {
                if slowlog < 0 {
                    slowlog_enable = true;
                    advices += 1;
                } else if slowlog / 1000 > threshold as i64 {
                    slowlog_tune = true;
                    advices += 1;
                }
                slowlog_inspect = true;
                large_objects = true;
                advices += 2;
            }
            "fast-command" => {
                scheduler = true;
                advices += 1;
            }
            "expire-cycle" => {
                hz_advice = true;
                large_objects = true;
                advices += 2;
            }
            _ => {}
        }
        out.push('\n');
    }
    let huge_pages = uses_huge_pages();
    if huge_pages {
        advices += 1;
    }
    if m.events().is_empty() && advices == 0 {
        out.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
    } else if !m.events().is_empty() && advices == 0 {
        out.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
    } else {
        out.push_str("\nI have a few advices for you:\n\n");
        if slowlog_enable {
            let _ = writeln!(out, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.", threshold * 1000);
        }
        if slowlog_tune {
            let _ = writeln!(out, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {}'.", threshold * 1000);
        }
        if slowlog_inspect {
            out.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        if scheduler {
            out.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        }
        if hz_advice && hz < 100 {
            out.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
        }
        if large_objects {
            out.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
        if huge_pages {
            out.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Monitor;

    #[test]
    fn graph_draws_like_redis() {
        // redis-server 7.0: samples of 12 ms (1 s ago) and 20 ms (now).
        let mut m = Monitor::default();
        m.add("command", 12, 99);
        m.add("command", 20, 100);
        let g = graph(m.get(b"command").unwrap(), 100);
        let expected = format!(
            "command - high 20 ms, low 12 ms (all time high 20 ms)\n{}\n #\n |\n |\n_|\n  \n10\nss\n",
            "-".repeat(80)
        );
        assert_eq!(g, expected);
    }
}
