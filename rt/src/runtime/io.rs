//! The I/O driver: how kiln-rt's I/O types reach the kernel.
//!
//! Every worker owns an io_uring ring, and the coordinator owns the
//! runtime's shared ring (see [`op`] for both kinds and for how operations
//! keep room for their cancellations); [`ring_waker`] wakes a ring's owner
//! from another thread.

pub(crate) mod op;
pub(crate) mod ring_waker;

pub(crate) use op::{
    IoRing, MultishotGuard, io_counts, io_work_on_this_thread, poll_worker_ring,
    polling_ring_on_this_thread, set_worker_ring, take_worker_ring,
};
