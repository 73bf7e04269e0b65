//! A global allocator wrapper that counts live heap bytes per thread, for INFO's `used_memory`.
//!
//! Each thread adds what it allocates and subtracts what it frees in a thread-local counter (no atomic,
//! no contention); a block freed by another thread than the one that allocated it simply makes the
//! counters of the two threads move in opposite directions, and the sum over threads stays exact.
//! Workers publish their counter to the shared statistics periodically.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

/// Bytes allocated by threads that exited (their counters are folded in here).
static RETIRED: AtomicIsize = AtomicIsize::new(0);
/// Whether the counting allocator is installed (tests run on the system allocator).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Counts live bytes around an inner allocator.
pub struct Counting<A>(pub A);

unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { self.0.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[inline]
fn add(delta: isize) {
    // try_with: during thread teardown the slot may be gone; count those bytes globally instead.
    if LIVE.try_with(|c| c.set(c.get() + delta)).is_err() {
        RETIRED.fetch_add(delta, Ordering::Relaxed);
    }
}

/// Marks the counting allocator as installed (called by `main`).
pub fn activate() {
    ACTIVE.store(true, Ordering::Relaxed);
}

/// Whether heap bytes are being counted.
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// This thread's net allocated bytes (may be negative: it freed blocks other threads allocated).
pub fn thread_net_bytes() -> isize {
    LIVE.try_with(|c| c.get()).unwrap_or(0)
}

/// Net bytes of threads that have exited, and of the main thread once it publishes.
pub fn retired_bytes() -> isize {
    RETIRED.load(Ordering::Relaxed)
}

/// Moves this thread's count into the global one (the main thread, once the workers run, so that
/// what it allocated for them and they free is not counted twice).
pub fn retire_thread() {
    let mine = LIVE.try_with(|c| c.replace(0)).unwrap_or(0);
    RETIRED.fetch_add(mine, Ordering::Relaxed);
}

/// How the installed allocator returns freed memory to the OS now (set by `main`; none in tests).
static COLLECTOR: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Installs the allocator's "return free memory now" call.
pub fn set_collector(f: fn()) {
    let _ = COLLECTOR.set(f);
}

/// Returns this thread's freed memory to the OS. The allocator only purges while the thread
/// allocates, so an idle worker would otherwise keep the pages of a big value or buffer it freed;
/// workers call this from housekeeping about once a second.
pub fn collect() {
    if let Some(f) = COLLECTOR.get() {
        f();
    }
}
