//! [`Ledger`]: what one thread queued on one kind of ring, and up to where
//! the kernel is known to have taken it (see "Room for cancellations" in
//! the [`io`](super) docs).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// What one thread queued on one kind of ring, see the [`io`](super) docs.
///
/// Stamps are per thread: each ledger starts at a base of its own (on its
/// first count), so a stamp from another thread (a thread-safe operation
/// queued on one worker that completes on another) is out of this ledger's
/// range and ignored.
#[derive(Debug)]
pub(crate) struct Ledger {
    /// Entries this thread may have queued on the ring (plus the base).
    pub(crate) counted: Cell<u64>,
    /// Every entry counted up to this number was submitted.
    submitted: Cell<u64>,
}

impl Ledger {
    pub(crate) const fn new() -> Ledger {
        Ledger {
            counted: Cell::new(0),
            submitted: Cell::new(0),
        }
    }

    /// Counts an entry; returns its stamp.
    pub(crate) fn count(&self) -> u64 {
        let mut counted = self.counted.get();
        if counted == 0 {
            // 2^24 thread ledgers of 2^40 entries each.
            static NEXT_BASE: AtomicU64 = AtomicU64::new(1);
            counted = NEXT_BASE.fetch_add(1, Ordering::Relaxed) << 40;
            self.submitted.set(counted);
        }
        counted += 1;
        self.counted.set(counted);
        counted
    }

    /// The entry with `stamp` and every one counted before it were
    /// submitted (ignored if `stamp` is not this ledger's).
    pub(crate) fn submitted_up_to(&self, stamp: u64) {
        if stamp > self.submitted.get() && stamp <= self.counted.get() {
            self.submitted.set(stamp);
        }
    }

    /// Entries counted but not known to be submitted.
    pub(crate) fn unsubmitted(&self) -> u64 {
        self.counted.get() - self.submitted.get()
    }
}
