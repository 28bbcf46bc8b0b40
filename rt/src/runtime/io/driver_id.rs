//! [`DriverId`]: which ring or poll instance something is on, compared
//! without a reference to it; for the per-thread context, which names a
//! worker's driver (so that a socket's timeout finds its worker's timers)
//! and must not import the drivers that use the context.

use std::sync::Arc;

use a10::SubmissionQueue;

/// A ring (by its submission queue) or a poll instance (by the address of
/// its shared state, which lives as long as any handle to it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DriverId {
    Uring(SubmissionQueue),
    Poll(usize),
}

impl DriverId {
    /// The id of the poll instance whose shared state is `shared`.
    pub(crate) fn poll<T>(shared: &Arc<T>) -> DriverId {
        DriverId::Poll(Arc::as_ptr(shared).addr())
    }
}
