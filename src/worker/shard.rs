//! A worker's keyspace shard, and how another worker may borrow it while its owner is parked.
//!
//! A worker parked in `poll` does nothing with its shard. Rather than wake it (an eventfd write, a
//! scheduler switch, a poll return, then the same way back with the reply: microseconds), a worker
//! whose client names a key of a parked owner claims the shard with one compare-and-swap, runs the
//! command itself and answers its client at once. When both workers are busy nothing changes:
//! requests travel batched through the rings, shared-nothing.
//!
//! The state machine of one shard (one atomic, on its own cache line):
//!
//! ```text
//!   RUNNING --park (owner, Release)--> PARKED --try_borrow (any, CAS Acquire)--> BORROWED
//!      ^ ^                               |  ^                                      |   |
//!      | +--reclaim (owner, CAS Acquire)-+  +-------release (CAS, Release)---------+   |
//!      |                                                                   reclaim (owner,
//!      +--------release hands over (Release) <---- WANTED <------------ CAS): wants it back
//! ```
//!
//! An owner that wakes while its shard is borrowed marks it WANTED: the borrower, done with its
//! command, hands the shard straight back (RUNNING) instead of freeing it for the next borrower,
//! so a waking owner waits for one command at most and is never starved by a stream of borrows.
//!
//! Memory ordering: every write the owner made to the shard happens before its Release store of
//! PARKED; a borrower's Acquire CAS sees them, and its Release store at the end publishes its own
//! writes to the next borrower or to the owner's Acquire reclaim. The owner touches the shard only
//! between reclaim and park, a borrower only while it holds BORROWED, so the shard is never
//! accessed by two threads at once.
//!
//! Atomic work over several shards (a multi-key command whose keys span workers, a MULTI/EXEC
//! block) holds all of them at once: [`Shards::lock`] takes each in ascending worker order,
//! waiting when needed. A shard whose owner is running is lent at the owner's next safe point
//! (between two connections' input, or before it polls): the owner sees the waiting lock
//! ([`Own::lend_if_asked`]), parks its shard, and reclaims it as from any borrower. The locker
//! first parks its own shard, so it waits holding only shards of smaller ids, and an owner lends
//! only while holding nothing: no cycle of waits can form.
//!
//! What keeps replies and effects in order is the caller's part (see `route.rs`): a connection
//! borrows only when none of its requests is in flight, and only when everything its worker sent
//! that owner has been executed (the ring is empty while the owner is parked: it drains its inbox
//! before it parks and cannot pop while the shard is borrowed).

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;

use crossbeam_utils::CachePadded;

use crate::store::Keyspace;

const RUNNING: u8 = 0;
const PARKED: u8 = 1;
const BORROWED: u8 = 2;
const WANTED: u8 = 3;

/// One shard and its state.
struct Cell {
    state: CachePadded<AtomicU8>,
    /// Workers waiting in [`Shards::lock`] for this shard: its owner lends it at a safe point.
    lockers: CachePadded<AtomicU32>,
    ks: UnsafeCell<Keyspace>,
}

// SAFETY: the keyspace is reached only through `Own` (by the owner, while RUNNING) and `Borrowed`
// (by one other worker, while BORROWED); the state machine above makes those exclusive in time,
// with Release/Acquire edges between them. Keyspace itself is Send.
unsafe impl Sync for Cell {}

/// Every worker's shard.
pub struct Shards {
    cells: Box<[Cell]>,
}

impl Shards {
    /// The shards, one per worker, each RUNNING (held by its owner).
    pub fn new(shards: Vec<Keyspace>) -> Arc<Self> {
        Arc::new(Shards {
            cells: shards
                .into_iter()
                .map(|ks| Cell {
                    state: CachePadded::new(AtomicU8::new(RUNNING)),
                    lockers: CachePadded::new(AtomicU32::new(0)),
                    ks: UnsafeCell::new(ks),
                })
                .collect(),
        })
    }

    /// Worker `id`'s handle on its own shard.
    pub fn own(self: &Arc<Self>, id: usize) -> Own {
        Own {
            shards: self.clone(),
            id,
        }
    }

    /// Shard `id`, if its owner is parked: exclusive until the guard is dropped. One CAS.
    #[inline]
    pub fn try_borrow(&self, id: usize) -> Option<Borrowed<'_>> {
        self.acquire(id).then(|| Borrowed {
            cell: &self.cells[id],
        })
    }

    /// Claims shard `id` if its owner is parked (one CAS); on true the caller holds it until
    /// [`Shards::release`], and may reach it with [`Shards::held_mut`] meanwhile.
    #[inline]
    pub fn acquire(&self, id: usize) -> bool {
        self.cells[id]
            .state
            .compare_exchange(PARKED, BORROWED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes shard `id`, waiting until its owner parks or lends it: held until
    /// [`Shards::release`], as after [`Shards::acquire`]. The caller must hold no shard of a
    /// larger id than `id`, its own included (park it first), and must not be the owner of a
    /// RUNNING `id`. Waits at most for the owner's current connection or batch, or for another
    /// locker's atomic step. (No wake is needed: an owner asleep in poll parked its shard first,
    /// and the CAS takes it.)
    pub fn lock(&self, id: usize) {
        if self.acquire(id) {
            return;
        }
        let cell = &self.cells[id];
        cell.lockers.fetch_add(1, Ordering::SeqCst);
        // A RUNNING owner checks `lockers` at its safe points; one that went to sleep in poll
        // after its last check parked first, so the CAS below takes it then.
        let mut spins = 0u32;
        while !self.acquire(id) {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        cell.lockers.fetch_sub(1, Ordering::SeqCst);
    }

    /// [`Shards::lock`] out of order: for a caller that holds shards of larger ids already (a
    /// script reaching a key it did not declare, after writing). Gives up after `patience`
    /// (false), which breaks the only possible cycle: two such callers waiting for each other.
    pub fn lock_within(&self, id: usize, patience: std::time::Duration) -> bool {
        if self.acquire(id) {
            return true;
        }
        let cell = &self.cells[id];
        cell.lockers.fetch_add(1, Ordering::SeqCst);
        let start = std::time::Instant::now();
        let mut spins = 0u32;
        let got = loop {
            if self.acquire(id) {
                break true;
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else if start.elapsed() >= patience {
                break false;
            } else {
                std::thread::yield_now();
            }
        };
        cell.lockers.fetch_sub(1, Ordering::SeqCst);
        got
    }

    /// Whether the owner of held shard `id` woke and asked for it back (then release it soon).
    #[inline]
    pub fn wanted(&self, id: usize) -> bool {
        self.cells[id].state.load(Ordering::Relaxed) == WANTED
    }

    /// Gives held shard `id` back: PARKED again, or straight to its owner if it asked.
    #[inline]
    pub fn release(&self, id: usize) {
        release(&self.cells[id]);
    }

    /// Held shard `id`'s keyspace.
    ///
    /// # Safety
    /// The caller holds the shard ([`Shards::acquire`] returned true, no [`Shards::release`]
    /// since) and does not keep the reference past its release.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn held_mut(&self, id: usize) -> &mut Keyspace {
        // SAFETY: the caller holds the shard (BORROWED by it), which excludes every other access.
        unsafe { &mut *self.cells[id].ks.get() }
    }
}

/// Back to PARKED, unless the owner woke and wants it: then straight to the owner (RUNNING).
#[inline]
fn release(cell: &Cell) {
    if cell
        .state
        .compare_exchange(BORROWED, PARKED, Ordering::Release, Ordering::Relaxed)
        .is_err()
    {
        cell.state.store(RUNNING, Ordering::Release);
    }
}

/// The owner's handle on its shard: dereferences to the keyspace, which is sound while the owner
/// runs, that is outside `park` .. `reclaim` (the worker loop calls nothing else in between).
pub struct Own {
    shards: Arc<Shards>,
    id: usize,
}

impl Own {
    /// The owner is about to block in poll: others may borrow the shard until [`Own::reclaim`].
    #[inline]
    pub fn park(&self) {
        self.shards.cells[self.id]
            .state
            .store(PARKED, Ordering::Release);
    }

    /// The owner is back: takes the shard, waiting for a borrower to finish its command (one
    /// command: microseconds, rarely more), which then hands it over.
    #[inline]
    pub fn reclaim(&self) {
        let mut spins = 0u32;
        while !self.try_reclaim() {
            spins += 1;
            if spins < 128 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// One step of [`Own::reclaim`]: true once the shard is the owner's again; otherwise it is
    /// asked back, and the owner may do something else meanwhile (answer its clients while a
    /// busy script holds it) before it tries again.
    #[inline]
    pub fn try_reclaim(&self) -> bool {
        let state = &self.shards.cells[self.id].state;
        match state.compare_exchange(PARKED, RUNNING, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) | Err(RUNNING) => true,
            Err(BORROWED) => {
                // Ask for it back; if the borrower released meanwhile, the next round takes it.
                let _ =
                    state.compare_exchange(BORROWED, WANTED, Ordering::Relaxed, Ordering::Relaxed);
                false
            }
            // WANTED: the borrower hands over (stores RUNNING) when its command is done.
            Err(_) => false,
        }
    }
}

impl Own {
    /// A safe point of the owner (it holds no other shard and runs no command): when another
    /// worker waits in [`Shards::lock`] for this shard, lend it, and take it back once that
    /// worker is done. One relaxed load when nobody waits.
    #[inline]
    pub fn lend_if_asked(&self) {
        if self.lend() {
            self.reclaim();
        }
    }

    /// The first half of [`Own::lend_if_asked`]: when a locker waits, parks the shard and lets
    /// it take it; true when lent (then the owner must take it back, [`Own::try_reclaim`]).
    #[inline]
    pub fn lend(&self) -> bool {
        let cell = &self.shards.cells[self.id];
        if cell.lockers.load(Ordering::Relaxed) == 0 {
            return false;
        }
        self.park();
        // Let a waiting locker take it before reclaiming (it spins on the CAS).
        let mut spins = 0u32;
        while cell.state.load(Ordering::Acquire) == PARKED
            && cell.lockers.load(Ordering::Relaxed) > 0
        {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        true
    }
}

impl Deref for Own {
    type Target = Keyspace;
    #[inline]
    fn deref(&self) -> &Keyspace {
        // SAFETY: the owner holds the shard (RUNNING) whenever its code runs; see the type's doc.
        unsafe { &*self.shards.cells[self.id].ks.get() }
    }
}

impl DerefMut for Own {
    #[inline]
    fn deref_mut(&mut self) -> &mut Keyspace {
        // SAFETY: as for Deref; `&mut self` makes the owner's own uses exclusive.
        unsafe { &mut *self.shards.cells[self.id].ks.get() }
    }
}

/// A borrowed shard; released (back to PARKED) when dropped, unwinding included.
pub struct Borrowed<'a> {
    cell: &'a Cell,
}

impl Deref for Borrowed<'_> {
    type Target = Keyspace;
    #[inline]
    fn deref(&self) -> &Keyspace {
        // SAFETY: this guard exists only while the state is BORROWED by us.
        unsafe { &*self.cell.ks.get() }
    }
}

impl DerefMut for Borrowed<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Keyspace {
        // SAFETY: as for Deref, and `&mut self` is exclusive.
        unsafe { &mut *self.cell.ks.get() }
    }
}

impl Drop for Borrowed<'_> {
    #[inline]
    fn drop(&mut self) {
        release(self.cell);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// Two threads each own a shard and repeatedly lock both (in order, their own parked first)
    /// to move one unit from one shard's counter to the other's, while the owner side of each
    /// keeps running and lending at safe points: the total never changes and nobody deadlocks.
    #[test]
    fn lockers_and_lending_owners_never_deadlock_or_overlap() {
        const ROUNDS: u64 = 5_000;
        let shards = Shards::new(vec![Keyspace::new(1, 1), Keyspace::new(1, 2)]);
        let inside = Arc::new([AtomicU8::new(0), AtomicU8::new(0)]);
        let mut threads = Vec::new();
        for me in 0..2usize {
            let (shards, inside) = (shards.clone(), inside.clone());
            threads.push(std::thread::spawn(move || {
                let mut own = shards.own(me);
                for round in 0..ROUNDS {
                    // Owner work on its own shard.
                    assert_eq!(inside[me].fetch_add(1, Ordering::SeqCst), 0);
                    own.stats.keyspace_hits += 1;
                    inside[me].fetch_sub(1, Ordering::SeqCst);
                    own.lend_if_asked();
                    if round % 3 == 0 {
                        own.park();
                        shards.lock(0);
                        shards.lock(1);
                        for id in 0..2 {
                            assert_eq!(inside[id].fetch_add(1, Ordering::SeqCst), 0);
                        }
                        // SAFETY: both held.
                        unsafe {
                            let own_count = &mut shards.held_mut(me).stats.expired_keys;
                            *own_count = own_count.wrapping_add(1);
                            shards.held_mut(1 - me).stats.expired_keys =
                                shards.held_mut(1 - me).stats.expired_keys.wrapping_sub(1);
                        }
                        for id in 0..2 {
                            inside[id].fetch_sub(1, Ordering::SeqCst);
                        }
                        shards.release(1);
                        shards.release(0);
                        own.reclaim();
                    }
                }
                // Keep lending until the other is done too.
                own.park();
            }));
        }
        for t in threads {
            t.join().expect("worker");
        }
        let mut total = 0u64;
        for id in 0..2 {
            shards.lock(id);
            // SAFETY: held.
            total = total.wrapping_add(unsafe { shards.held_mut(id).stats.expired_keys });
            shards.release(id);
        }
        assert_eq!(total, 0);
    }

    #[test]
    fn borrow_only_while_parked() {
        let shards = Shards::new(vec![Keyspace::new(1, 1), Keyspace::new(1, 2)]);
        let own = shards.own(0);
        assert!(shards.try_borrow(0).is_none(), "running: not borrowable");
        own.park();
        {
            let b = shards.try_borrow(0).expect("parked: borrowable");
            assert!(shards.try_borrow(0).is_none(), "one borrower at a time");
            drop(b);
        }
        own.reclaim();
        assert!(shards.try_borrow(0).is_none());
    }

    /// The owner and three borrowers increment one counter in the shard (the shard's RNG state,
    /// through a field every thread reads and writes): no increment may be lost, which fails if
    /// two threads ever hold the shard at once or a write is not published.
    #[test]
    fn owner_and_borrowers_never_overlap() {
        const ROUNDS: u64 = 20_000;
        let shards = Shards::new(vec![Keyspace::new(1, 1)]);
        let mut own = shards.own(0);
        let stop = Arc::new(AtomicBool::new(false));
        let inside = Arc::new(AtomicU8::new(0));
        let borrowed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut threads = Vec::new();
        for _ in 0..3 {
            let (shards, stop, inside, borrowed) = (
                shards.clone(),
                stop.clone(),
                inside.clone(),
                borrowed.clone(),
            );
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(mut ks) = shards.try_borrow(0) {
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        ks.stats.expired_keys += 1;
                        inside.fetch_sub(1, Ordering::SeqCst);
                        borrowed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for _ in 0..ROUNDS {
            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
            own.stats.expired_keys += 1;
            inside.fetch_sub(1, Ordering::SeqCst);
            own.park();
            std::hint::spin_loop();
            own.reclaim();
        }
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("borrower");
        }
        own.reclaim();
        assert_eq!(
            own.stats.expired_keys,
            ROUNDS + borrowed.load(Ordering::Relaxed)
        );
    }
}
