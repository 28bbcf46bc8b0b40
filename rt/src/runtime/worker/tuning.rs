//! [`Tuning`]: the worker settings a user can tune through `Setup`.

use std::time::Duration;

/// The worker settings a user can tune, see `Setup`.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Tuning {
    /// The longest a worker runs thread-local processes before it looks at
    /// timers and other threads' wake-ups (it gives way to thread-safe
    /// processes sooner, see `scheduler/balance.rs`).
    pub(crate) time_slice: Duration,
    /// The most thread-local process runs in one turn.
    pub(crate) max_local_runs: usize,
    /// The most thread-safe process runs in one turn.
    pub(crate) max_shared_runs: usize,
    /// Capacity of the queue of wake-ups from other threads.
    pub(crate) wake_queue_capacity: usize,
    /// How often a busy worker with I/O pending polls its ring.
    pub(crate) io_poll_interval: Duration,
    /// How long a worker that just ran out of work spins, looking for more,
    /// before it sleeps in the kernel.
    pub(crate) idle_spin: Duration,
}

impl Tuning {
    pub(crate) const DEFAULT: Tuning = Tuning {
        time_slice: Duration::from_millis(2),
        max_local_runs: 256,
        max_shared_runs: 16,
        wake_queue_capacity: 1024,
        io_poll_interval: Duration::from_micros(250),
        idle_spin: Duration::from_micros(50),
    };
}
