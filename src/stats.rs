//! What INFO and LATENCY report about the commands run: per-command counters and latency histograms
//! (INFO commandstats, latencystats, LATENCY HISTOGRAM), error codes (errorstats), the instantaneous
//! rates (`instantaneous_ops_per_sec`...), the memory peak, and the latency monitor's event series.
//!
//! This room knows no command and no worker: it holds numbers by stats slot (the command table lays
//! the slots out, see `command::slots`) and merges the tables it is handed.
//!
//! Cost on the request path: each worker owns one [`CmdTable`], an array indexed by the command's
//! stats slot (its index in the command table, or a sub-command's slot after them). Counting a call is
//! a handful of relaxed loads and stores on that worker's own cache lines (single writer: no atomic
//! read-modify-write, no lock, no hashing, no allocation), timed with two reads of the cheapest
//! monotonic clock ([`ticks`]: the invariant TSC on x86-64). Readers (INFO, LATENCY HISTOGRAM) merge
//! the workers' tables when asked. CONFIG RESETSTAT snapshots the merged totals and later reports
//! subtract the snapshot, so a reset is exact without writing to the workers' tables.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{LazyLock, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use crate::resp::reply::errors;

// ------------------------------------------------------------------------------------------- clock

/// The clock behind [`ticks`]: the TSC when the CPU says it is invariant (constant rate, not stopped
/// in idle states), else nanoseconds of `Instant` since the process started.
struct Clock {
    tsc: bool,
    epoch: Instant,
    epoch_ticks: u64,
}

static CLOCK: LazyLock<Clock> = LazyLock::new(|| {
    let tsc = cfg!(target_arch = "x86_64")
        && std::fs::read_to_string("/proc/cpuinfo")
            .map(|s| {
                s.lines().find(|l| l.starts_with("flags")).is_some_and(|l| {
                    let flags: Vec<&str> = l.split_whitespace().collect();
                    flags.contains(&"constant_tsc") && flags.contains(&"nonstop_tsc")
                })
            })
            .unwrap_or(false);
    let mut c = Clock {
        tsc,
        epoch: Instant::now(),
        epoch_ticks: 0,
    };
    c.epoch_ticks = raw_ticks(tsc, c.epoch);
    if tsc {
        // A first estimate of the TSC rate over 2 ms; every housekeeping tick refines it over the
        // whole time since start (see `recalibrate`).
        let until = c.epoch + std::time::Duration::from_millis(2);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        let t = raw_ticks(true, c.epoch);
        let ns = c.epoch.elapsed().as_nanos() as f64;
        let dt = t.wrapping_sub(c.epoch_ticks).max(1) as f64;
        set_rate(ns / dt);
    }
    c
});

/// Nanoseconds per tick in 32.32 fixed point (integer arithmetic: converting a u64 to a float and
/// back costs more than the multiply); 1.0 when ticks are nanoseconds.
static NS_PER_TICK: AtomicU64 = AtomicU64::new(1 << 32);

fn set_rate(ns_per_tick: f64) {
    NS_PER_TICK.store((ns_per_tick * (1u64 << 32) as f64) as u64, Relaxed);
}

#[inline]
fn raw_ticks(tsc: bool, epoch: Instant) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if tsc {
        // SAFETY: rdtsc has no preconditions; the CPU flags checked above say it is invariant.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    let _ = tsc;
    epoch.elapsed().as_nanos() as u64
}

/// A reading of the monotonic clock, in ticks. Two TSC reads cost about a third of two
/// `Instant::now()` calls on this project's VMs (26 ns against 75 ns).
#[inline]
pub fn ticks() -> u64 {
    let c = &*CLOCK;
    raw_ticks(c.tsc, c.epoch)
}

/// Converts a tick count to nanoseconds.
#[inline]
pub fn ticks_to_ns(t: u64) -> u64 {
    ((t as u128 * NS_PER_TICK.load(Relaxed) as u128) >> 32) as u64
}

/// Refines the tick rate over the whole time since start (called every housekeeping tick by one
/// worker); a no-op when ticks are nanoseconds.
pub fn recalibrate() {
    let c = &*CLOCK;
    if !c.tsc {
        return;
    }
    let ns = c.epoch.elapsed().as_nanos() as f64;
    let dt = raw_ticks(true, c.epoch).wrapping_sub(c.epoch_ticks);
    if dt > 0 && ns > 1e6 {
        set_rate(ns / dt as f64);
    }
}

// --------------------------------------------------------------------------------------- histogram

/// A latency histogram with the layout of Redis's HdrHistogram (1 ns to 1 s, 2 significant digits):
/// values below 256 ns have their own counter, and each power of two above is split in 128 linear
/// sub-buckets. The same layout gives the same percentiles and LATENCY HISTOGRAM buckets as Redis.
pub mod hist {
    /// Counters of one histogram.
    pub const LEN: usize = (BUCKETS + 1) * HALF;
    const HALF: usize = 128;
    const HALF_MAG: u32 = 7;
    const BUCKETS: usize = 23;
    /// Recorded values are clamped to this range (ns), as Redis does.
    pub const MIN: u64 = 1;
    pub const MAX: u64 = 1_000_000_000;

    #[inline]
    fn bucket_of(v: u64) -> u32 {
        (64 - (v | 255).leading_zeros()) - (HALF_MAG + 1)
    }

    /// The counter index of value `v` (ns).
    #[inline]
    pub fn index(v: u64) -> usize {
        let v = v.clamp(MIN, MAX);
        let b = bucket_of(v);
        let sub = (v >> b) as usize;
        (((b as usize) + 1) << HALF_MAG) + sub - HALF
    }

    /// The lowest value counted at index `i`.
    pub fn value_at(i: usize) -> u64 {
        let mut b = (i >> HALF_MAG) as i64 - 1;
        let mut sub = (i & (HALF - 1)) + HALF;
        if b < 0 {
            sub -= HALF;
            b = 0;
        }
        (sub as u64) << b
    }

    /// The highest value equivalent to `v` (the top of its counter's range).
    pub fn highest_equivalent(v: u64) -> u64 {
        let b = bucket_of(v);
        let sub = v >> b;
        let lowest = sub << b;
        let width = if sub >= 2 * HALF as u64 {
            1 << (b + 1)
        } else {
            1 << b
        };
        lowest + width - 1
    }

    /// The value at `percentile` (0-100) of the counts, as HdrHistogram's `hdr_value_at_percentile`.
    pub fn percentile(counts: &[u64], percentile: f64) -> u64 {
        let total: u64 = counts.iter().sum();
        let p = percentile.min(100.0);
        let want = (((p / 100.0) * total as f64) + 0.5) as u64;
        let want = want.max(1);
        let mut seen = 0;
        for (i, &c) in counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                let v = value_at(i);
                return if percentile == 0.0 {
                    v
                } else {
                    highest_equivalent(v)
                };
            }
        }
        0
    }

    /// The cumulative distribution LATENCY HISTOGRAM replies: (µs, cumulative count) at each power of
    /// two from 1024 ns, where the count grew (HdrHistogram's logarithmic iterator, base 2).
    pub fn cdf(counts: &[u64]) -> Vec<(u64, u64)> {
        let total: u64 = counts.iter().sum();
        let mut out = Vec::new();
        let (mut i, mut cum, mut prev) = (0usize, 0u64, 0u64);
        let mut level: u64 = 1024;
        if total == 0 {
            return out;
        }
        cum += counts[0];
        loop {
            let level_low = value_at(index(level));
            while value_at(i) < level_low {
                i += 1;
                if i >= counts.len() {
                    return out;
                }
                cum += counts[i];
            }
            if cum > prev {
                out.push((highest_equivalent(value_at(i)) / 1000, cum));
            }
            prev = cum;
            if cum >= total || level > MAX {
                return out;
            }
            level *= 2;
        }
    }
}

// ---------------------------------------------------------------------------------- command table

/// One command's counters on one worker. Written only by that worker.
#[derive(Default)]
pub struct Cell {
    calls: AtomicU64,
    nanos: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    /// Allocated at the command's first timed call (Redis allocates its histograms lazily too).
    hist: OnceLock<Box<[AtomicU64]>>,
}

/// Adds to a counter only this thread writes: a plain load and store, no locked instruction.
#[inline]
fn bump(a: &AtomicU64, n: u64) {
    a.store(a.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Per-command counters of one worker, indexed by stats slot.
pub struct CmdTable {
    cells: Box<[Cell]>,
}

/// How an execution is counted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// A whole command: a call, its time, whether it failed, its latency.
    Call,
    /// One shard's part of a command counted where it arrived: only the time spent here, and the
    /// failure if this part failed.
    Part,
}

/// What a command's execution started with: the clock and this thread's error count.
#[derive(Clone, Copy)]
pub struct Started {
    ticks: u64,
    errors: u64,
}

impl Started {
    /// Now.
    #[inline]
    pub fn now() -> Self {
        Started {
            errors: errors::count(),
            ticks: ticks(),
        }
    }
}

impl CmdTable {
    /// A table of `slots` zeroed cells.
    pub fn new(slots: usize) -> Self {
        CmdTable {
            cells: (0..slots).map(|_| Cell::default()).collect(),
        }
    }

    /// Counts a command refused before it ran (arity, unknown sub-command arity).
    pub fn reject(&self, slot: usize) {
        if let Some(c) = self.cells.get(slot) {
            bump(&c.rejected, 1);
        }
    }

    /// Accounts for an execution of `slot` that began at `s`; returns its duration in ns.
    #[inline]
    pub fn finish(&self, slot: usize, s: Started, how: Count, track_latency: bool) -> u64 {
        let ns = ticks_to_ns(ticks().saturating_sub(s.ticks));
        let Some(c) = self.cells.get(slot) else {
            return ns;
        };
        bump(&c.nanos, ns);
        if errors::count() != s.errors {
            bump(&c.failed, 1);
        }
        if how == Count::Call {
            bump(&c.calls, 1);
            if track_latency {
                let h = c
                    .hist
                    .get_or_init(|| (0..hist::LEN).map(|_| AtomicU64::new(0)).collect());
                bump(&h[hist::index(ns)], 1);
            }
        }
        ns
    }
}

/// Whether `argc` arguments satisfy a Redis arity (exact if positive, minimum if negative).
#[inline]
pub fn arity_fits(arity: i32, argc: usize) -> bool {
    let argc = argc as i64;
    if arity >= 0 {
        argc == arity as i64
    } else {
        argc >= -(arity as i64)
    }
}

/// CPU time of the calling thread: (user, system) in µs.
pub fn thread_cpu_us() -> (u64, u64) {
    // SAFETY: getrusage writes into the struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_THREAD, &mut ru) != 0 {
            return (0, 0);
        }
        let us = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
        (us(ru.ru_utime), us(ru.ru_stime))
    }
}

/// Resident set size of the process.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

// ----------------------------------------------------------------------------- per-worker extras

/// What a worker publishes beyond its basic counters: its command table, its error tally, and what
/// housekeeping measures (client buffers, table overhead, CPU time).
pub struct WorkerExt {
    pub cmds: CmdTable,
    /// (code, count) of the error replies this worker wrote, and their total.
    errors: Mutex<Vec<(String, u64)>>,
    error_total: AtomicU64,
    /// Read and write system calls that moved data.
    pub reads: AtomicU64,
    pub writes: AtomicU64,
    /// Bytes held by the connections' buffers, and the largest input and output buffer.
    pub client_mem: AtomicU64,
    pub client_max_in: AtomicU64,
    pub client_max_out: AtomicU64,
    /// Bytes of the key tables that hold no key or value (see `Table::overhead_bytes`).
    pub table_overhead: AtomicU64,
    /// CPU time of the worker thread, µs.
    pub cpu_user_us: AtomicU64,
    pub cpu_sys_us: AtomicU64,
    /// Time spent in active expiry, µs.
    pub expire_us: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Default for WorkerExt {
    /// With an empty command table: size it with [`WorkerExt::new`].
    fn default() -> Self {
        Self::new(0)
    }
}

impl WorkerExt {
    /// Zeroed, with a command table of `slots` slots.
    pub fn new(slots: usize) -> Self {
        WorkerExt {
            cmds: CmdTable::new(slots),
            errors: Mutex::default(),
            error_total: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            client_mem: AtomicU64::new(0),
            client_max_in: AtomicU64::new(0),
            client_max_out: AtomicU64::new(0),
            table_overhead: AtomicU64::new(0),
            cpu_user_us: AtomicU64::new(0),
            cpu_sys_us: AtomicU64::new(0),
            expire_us: AtomicU64::new(0),
        }
    }

    /// Publishes this thread's error tally if it changed since the last call. O(codes) then, O(1)
    /// otherwise.
    pub fn publish_errors(&self) {
        let total = errors::count();
        if total == self.error_total.load(Relaxed) {
            return;
        }
        let mut mine = lock(&self.errors);
        errors::with_codes(|codes| {
            mine.clear();
            mine.extend(
                codes
                    .iter()
                    .map(|(k, n)| (String::from_utf8_lossy(k).into_owned(), *n)),
            );
        });
        self.error_total.store(total, Relaxed);
    }
}

/// The workers' tables, as the readers below take them.
pub type Workers<'a> = [&'a WorkerExt];

fn sum(w: &Workers, f: impl Fn(&WorkerExt) -> u64) -> u64 {
    w.iter().map(|x| f(x)).sum()
}

/// The largest value of a counter over the workers.
pub fn max_of(w: &Workers, f: impl Fn(&WorkerExt) -> u64) -> u64 {
    w.iter().map(|x| f(x)).max().unwrap_or(0)
}

// --------------------------------------------------------------------------------- latency monitor

/// Samples kept per event (Redis's LATENCY_TS_LEN).
const SERIES_LEN: usize = 160;

/// One latency-monitor event's time series: at most one sample per second (the highest), the last
/// 160 seconds that had one, and the highest latency ever seen.
pub struct Series {
    name: String,
    /// Next slot to write.
    idx: usize,
    max: u64,
    /// (Unix time in seconds, latency in ms); time 0 is an empty slot.
    samples: Box<[(u64, u64); SERIES_LEN]>,
}

impl Series {
    /// The event's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The highest latency recorded, ms.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The samples (Unix second, ms), oldest first.
    pub fn history(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        (0..SERIES_LEN)
            .map(move |j| self.samples[(self.idx + j) % SERIES_LEN])
            .filter(|s| s.0 != 0)
    }

    /// The latest sample.
    pub fn latest(&self) -> (u64, u64) {
        self.samples[(self.idx + SERIES_LEN - 1) % SERIES_LEN]
    }
}

/// The latency monitor's events, in order of first occurrence.
#[derive(Default)]
pub struct Monitor {
    events: Vec<Series>,
}

impl Monitor {
    /// Records that `event` took `ms` milliseconds at Unix second `now`. O(events).
    pub fn add(&mut self, event: &str, ms: u64, now: u64) {
        let i = match self.events.iter().position(|s| s.name == event) {
            Some(i) => i,
            None => {
                self.events.push(Series {
                    name: event.to_string(),
                    idx: 0,
                    max: 0,
                    samples: Box::new([(0, 0); SERIES_LEN]),
                });
                self.events.len() - 1
            }
        };
        let s = &mut self.events[i];
        s.max = s.max.max(ms);
        let prev = (s.idx + SERIES_LEN - 1) % SERIES_LEN;
        if s.samples[prev].0 == now {
            s.samples[prev].1 = s.samples[prev].1.max(ms);
            return;
        }
        s.samples[s.idx] = (now, ms);
        s.idx = (s.idx + 1) % SERIES_LEN;
    }

    /// Forgets the events named `event` (any case), or all of them; returns how many.
    pub fn reset(&mut self, event: Option<&[u8]>) -> usize {
        let before = self.events.len();
        match event {
            None => self.events.clear(),
            Some(e) => self
                .events
                .retain(|s| !s.name.as_bytes().eq_ignore_ascii_case(e)),
        }
        before - self.events.len()
    }

    /// The event named exactly `name`.
    pub fn get(&self, name: &[u8]) -> Option<&Series> {
        self.events.iter().find(|s| s.name.as_bytes() == name)
    }

    /// The events, in order of first occurrence.
    pub fn events(&self) -> &[Series] {
        &self.events
    }
}

// --------------------------------------------------------------------------------- server-wide

/// Redis's instantaneous metrics: every 100 ms a rate sample goes into a ring of 16; the metric is
/// their average.
const INST_SAMPLES: usize = 16;

#[derive(Default)]
struct Instantaneous {
    last_ms: u64,
    last: [u64; 3],
    idx: usize,
    samples: [[u64; INST_SAMPLES]; 3],
}

/// Totals at the last CONFIG RESETSTAT, subtracted from what is reported since.
#[derive(Default)]
struct Base {
    /// Merged (calls, nanos, rejected, failed) per slot.
    cmds: Vec<[u64; 4]>,
    /// Merged histogram counts per slot, for the slots that had one.
    hists: Vec<Option<Box<[u64]>>>,
    errors: Vec<(String, u64)>,
    error_total: u64,
    reads: u64,
    writes: u64,
    expire_us: u64,
}

/// Server-wide statistics that belong to no worker.
pub struct ServerInfo {
    /// Highest `used_memory` seen (sampled every 100 ms and at each INFO).
    peak: AtomicU64,
    /// `used_memory` when the first worker ended its first loop iteration, before any command ran.
    startup: AtomicU64,
    inst: Mutex<Instantaneous>,
    base: Mutex<Base>,
    latency: Mutex<Monitor>,
}

impl Default for ServerInfo {
    /// Also calibrates the clock, so that the first command does not wait for it.
    fn default() -> Self {
        LazyLock::force(&CLOCK);
        ServerInfo {
            peak: AtomicU64::new(0),
            startup: AtomicU64::new(0),
            inst: Mutex::default(),
            base: Mutex::default(),
            latency: Mutex::default(),
        }
    }
}

/// Merged (calls, nanos, rejected, failed) of every slot, minus the reset base.
fn merged_cmds(w: &Workers, base: &Base) -> Vec<[u64; 4]> {
    let slots = w.first().map_or(0, |x| x.cmds.cells.len());
    let mut out = vec![[0u64; 4]; slots];
    for x in w {
        for (o, c) in out.iter_mut().zip(x.cmds.cells.iter()) {
            o[0] += c.calls.load(Relaxed);
            o[1] += c.nanos.load(Relaxed);
            o[2] += c.rejected.load(Relaxed);
            o[3] += c.failed.load(Relaxed);
        }
    }
    for (o, b) in out.iter_mut().zip(base.cmds.iter()) {
        for i in 0..4 {
            o[i] = o[i].saturating_sub(b[i]);
        }
    }
    out
}

/// The merged histogram of a slot without the reset base, or None if no worker has one.
fn merged_hist_raw(w: &Workers, slot: usize) -> Option<Vec<u64>> {
    let mut out: Option<Vec<u64>> = None;
    for x in w {
        if let Some(h) = x.cmds.cells.get(slot).and_then(|c| c.hist.get()) {
            let o = out.get_or_insert_with(|| vec![0; hist::LEN]);
            for (o, c) in o.iter_mut().zip(h.iter()) {
                *o += c.load(Relaxed);
            }
        }
    }
    out
}

fn merged_hist(w: &Workers, base: &Base, slot: usize) -> Option<Vec<u64>> {
    let mut h = merged_hist_raw(w, slot)?;
    if let Some(Some(b)) = base.hists.get(slot) {
        for (o, b) in h.iter_mut().zip(b.iter()) {
            *o = o.saturating_sub(*b);
        }
    }
    h.iter().any(|&c| c > 0).then_some(h)
}

fn merged_errors(w: &Workers, base: &Base) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for x in w {
        for (k, n) in lock(&x.errors).iter() {
            match out.iter_mut().find(|(o, _)| o == k) {
                Some(e) => e.1 += n,
                None => out.push((k.clone(), *n)),
            }
        }
    }
    for (k, n) in &base.errors {
        if let Some(e) = out.iter_mut().find(|(o, _)| o == k) {
            e.1 = e.1.saturating_sub(*n);
        }
    }
    out.retain(|(_, n)| *n > 0);
    // Redis keeps the codes in a radix tree: INFO lists them in byte order.
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Counters of INFO stats that are kept here, since the last reset.
pub struct Totals {
    pub error_replies: u64,
    pub reads: u64,
    pub writes: u64,
    pub expire_ms: u64,
}

/// The memory figures of INFO memory.
pub struct MemoryFigures {
    pub used: u64,
    pub peak: u64,
    pub startup: u64,
    pub overhead: u64,
    pub clients: u64,
}

impl ServerInfo {
    /// Records `used` as `used_memory_startup`, unless one is already recorded.
    pub fn note_startup(&self, used: u64) {
        let _ = self.startup.compare_exchange(0, used, Relaxed, Relaxed);
    }

    /// Samples the instantaneous metrics from the totals (commands, net input, net output) and
    /// updates the memory peak with `used`. Called every 100 ms by one worker.
    pub fn sample(&self, used: u64, now_ms: u64, totals: [u64; 3]) {
        self.peak.fetch_max(used, Relaxed);
        let mut inst = lock(&self.inst);
        let dt = now_ms.saturating_sub(inst.last_ms);
        if inst.last_ms != 0 {
            let idx = inst.idx;
            for (m, total) in totals.iter().enumerate() {
                let delta = total.saturating_sub(inst.last[m]);
                inst.samples[m][idx] = (delta * 1000).checked_div(dt).unwrap_or(0);
            }
            inst.idx = (idx + 1) % INST_SAMPLES;
        }
        inst.last_ms = now_ms;
        inst.last = totals;
    }

    /// Records a latency-monitor event (`command`, `fast-command`, `expire-cycle`) of `ms`
    /// milliseconds at Unix second `now`.
    pub fn latency_event(&self, event: &str, ms: u64, now: u64) {
        lock(&self.latency).add(event, ms, now);
    }

    /// Locks the latency monitor (poisoning ignored: the data is statistics).
    pub fn monitor(&self) -> MutexGuard<'_, Monitor> {
        lock(&self.latency)
    }

    /// (ops/s, input KB/s, output KB/s), each the average of the last 16 samples.
    pub fn instantaneous(&self) -> (u64, f64, f64) {
        let inst = lock(&self.inst);
        let avg = |m: usize| inst.samples[m].iter().sum::<u64>() / INST_SAMPLES as u64;
        (avg(0), avg(1) as f64 / 1024.0, avg(2) as f64 / 1024.0)
    }

    /// Memory figures, `used` being `used_memory` now. `used_memory_overhead` is an estimate,
    /// computed as Redis lays it out: the memory used at startup, plus what the clients' buffers
    /// hold (read, write and reorder buffers, as last measured by each worker's housekeeping), plus
    /// the key tables' bytes that hold no key or value (directory, tag bytes, empty slots, each
    /// entry's expiry field). It never exceeds `used_memory`; the rest is `used_memory_dataset`.
    pub fn memory(&self, used: u64, w: &Workers) -> MemoryFigures {
        let peak = self.peak.fetch_max(used, Relaxed).max(used);
        let startup = match self.startup.load(Relaxed) {
            0 => used,
            v => v,
        };
        let clients = sum(w, |x| x.client_mem.load(Relaxed));
        let tables = sum(w, |x| x.table_overhead.load(Relaxed));
        MemoryFigures {
            used,
            peak,
            startup,
            overhead: (startup + clients + tables).min(used),
            clients,
        }
    }

    /// Stats counters since the last reset.
    pub fn totals(&self, w: &Workers) -> Totals {
        let base = lock(&self.base);
        Totals {
            error_replies: sum(w, |x| x.error_total.load(Relaxed)).saturating_sub(base.error_total),
            reads: sum(w, |x| x.reads.load(Relaxed)).saturating_sub(base.reads),
            writes: sum(w, |x| x.writes.load(Relaxed)).saturating_sub(base.writes),
            expire_ms: sum(w, |x| x.expire_us.load(Relaxed)).saturating_sub(base.expire_us) / 1000,
        }
    }

    /// CONFIG RESETSTAT: command, error and latency statistics and the instantaneous metrics start
    /// again from zero (the memory peak is kept, as in Redis 7.0).
    pub fn reset(&self, w: &Workers) {
        let mut base = lock(&self.base);
        let zero = Base::default();
        base.cmds = merged_cmds(w, &zero);
        let slots = base.cmds.len();
        base.hists = (0..slots)
            .map(|slot| merged_hist_raw(w, slot).map(Vec::into_boxed_slice))
            .collect();
        base.errors = merged_errors(w, &zero);
        base.error_total = sum(w, |x| x.error_total.load(Relaxed));
        base.reads = sum(w, |x| x.reads.load(Relaxed));
        base.writes = sum(w, |x| x.writes.load(Relaxed));
        base.expire_us = sum(w, |x| x.expire_us.load(Relaxed));
        let mut inst = lock(&self.inst);
        inst.samples = Default::default();
        inst.idx = 0;
    }

    /// The body of INFO commandstats; `name` gives a slot's command name.
    pub fn commandstats<'a>(&self, w: &Workers, name: impl Fn(usize) -> &'a str, out: &mut String) {
        let base = lock(&self.base);
        for (slot, [calls, nanos, rejected, failed]) in
            merged_cmds(w, &base).into_iter().enumerate()
        {
            if calls == 0 && rejected == 0 && failed == 0 {
                continue;
            }
            let usec = nanos / 1000;
            let per_call = if calls > 0 {
                usec as f64 / calls as f64
            } else {
                0.0
            };
            let _ = write!(
                out,
                "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
                name(slot)
            );
        }
    }

    /// The body of INFO errorstats.
    pub fn errorstats(&self, w: &Workers, out: &mut String) {
        let base = lock(&self.base);
        for (code, n) in merged_errors(w, &base) {
            let _ = write!(out, "errorstat_{code}:count={n}\r\n");
        }
    }

    /// The body of INFO latencystats: `percentiles` (with their names as Redis prints them) of
    /// every command timed since the last reset.
    pub fn latencystats<'a>(
        &self,
        w: &Workers,
        percentiles: &[(f64, String)],
        name: impl Fn(usize) -> &'a str,
        out: &mut String,
    ) {
        let base = lock(&self.base);
        let slots = w.first().map_or(0, |x| x.cmds.cells.len());
        for slot in 0..slots {
            let Some(h) = merged_hist(w, &base, slot) else {
                continue;
            };
            let _ = write!(out, "latency_percentiles_usec_{}:", name(slot));
            for (i, (p, label)) in percentiles.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let v = hist::percentile(&h, *p) as f64 / 1000.0;
                let _ = write!(out, "p{label}={v:.3}");
            }
            out.push_str("\r\n");
        }
    }

    /// The merged histogram of a slot since the last reset (LATENCY HISTOGRAM).
    pub fn histogram(&self, w: &Workers, slot: usize) -> Option<Vec<u64>> {
        merged_hist(w, &lock(&self.base), slot)
    }
}

#[cfg(test)]
mod tests {
    use super::hist::*;
    use super::Monitor;

    #[test]
    fn histogram_layout_matches_hdr() {
        // Redis records microseconds as ns: 1 µs reads back as 1.003, 37 µs as 37.119 (as redis-server
        // 7.0 prints them).
        assert_eq!(highest_equivalent(value_at(index(1000))), 1003);
        assert_eq!(highest_equivalent(value_at(index(37_000))), 37_119);
        assert_eq!(highest_equivalent(value_at(index(5_000))), 5_023);
        assert!(index(MAX) < LEN);
        assert_eq!(index(0), index(1));
        for v in [1u64, 255, 256, 257, 1023, 1024, 999_999, 123_456_789] {
            let i = index(v);
            assert!(
                value_at(i) <= v && v <= highest_equivalent(value_at(i)),
                "{v}"
            );
        }
    }

    #[test]
    fn percentiles_and_cdf() {
        let mut h = vec![0u64; LEN];
        h[index(7_000)] += 1;
        assert_eq!(percentile(&h, 50.0), 7_007);
        assert_eq!(cdf(&h), vec![(8, 1)]);
        // As redis-server printed for four INFO calls of about 30, 40, 100 and 200 µs.
        let mut h = vec![0u64; LEN];
        for v in [30_000, 40_000, 100_000, 200_000] {
            h[index(v)] += 1;
        }
        assert_eq!(cdf(&h), vec![(33, 1), (66, 2), (132, 3), (264, 4)]);
    }

    #[test]
    fn one_latency_sample_per_second_the_highest() {
        let mut m = Monitor::default();
        m.add("command", 5, 100);
        m.add("command", 9, 100);
        m.add("command", 3, 100);
        m.add("command", 4, 101);
        let s = m.get(b"command").unwrap();
        assert_eq!(s.history().collect::<Vec<_>>(), vec![(100, 9), (101, 4)]);
        assert_eq!(s.latest(), (101, 4));
        assert_eq!(s.max(), 9);
        assert!(m.get(b"COMMAND").is_none());
        assert_eq!(m.reset(Some(b"COMMAND")), 1);
        assert_eq!(m.reset(None), 0);
    }
}
