//! The I/O driver: how kiln-rt's I/O types reach the kernel.
//!
//! Every worker owns an io_uring ring, and the coordinator owns the
//! runtime's shared ring (see [`op`] for both kinds and for how operations
//! keep room for their cancellations); [`ring_waker`] wakes a ring's owner
//! from another thread.

use a10::Ring;

pub(crate) mod op;
pub(crate) mod ring_waker;

pub(crate) use op::{
    IoRing, MultishotGuard, io_counts, io_work_on_this_thread, poll_worker_ring,
    polling_ring_on_this_thread, set_worker_ring, take_worker_ring,
};

/// Submission queue entries of each ring. a10's default (32) fills up under
/// a burst of I/O (a server's worth of receives queued between two polls);
/// a full queue costs extra kernel entries, and would make a10 skip
/// cancellations if operations did not keep room for them (see [`op`]).
/// 1,024 entries take about 96 KiB per ring (submissions and twice as many
/// completions).
pub(crate) const RING_ENTRIES: u32 = 1024;

/// A ring for a worker or the coordinator.
pub(crate) fn new_ring() -> std::io::Result<Ring> {
    Ring::config()
        .with_submission_queue_size(RING_ENTRIES)
        .build()
}
