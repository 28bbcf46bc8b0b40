//! The two numbers a waker packs: which process ([`ProcessId`]) of which
//! worker or shard ([`WakerId`]).

/// Identifies a process within its scheduler: slab index and generation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ProcessId {
    pub(crate) index: u32,
    pub(crate) generation: u16,
}

/// Identifies a wake target (a worker, or a shard of thread-safe
/// processes) in the registry of `wake`.
pub(crate) type WakerId = u16;

/// No waker id: the thread is not a worker.
pub(crate) const NO_WAKER_ID: WakerId = WakerId::MAX;
