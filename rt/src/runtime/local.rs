//! [`LocalInternals`]: the state of one worker that its thread-local
//! processes reach, through their [`RuntimeRef`](crate::RuntimeRef).

use std::cell::RefCell;
use std::sync::Arc;

use crate::runtime::counters::LocalCounters;
use crate::runtime::io::Io;
use crate::runtime::scheduler::RunQueue;
use crate::runtime::scheduler::process::Process;
use crate::runtime::shared::RuntimeInternals;
use crate::runtime::timers::TimingWheel;
use crate::runtime::wake::WakerId;

/// The state of one worker that thread-local processes reach.
pub(crate) struct LocalInternals {
    /// The worker's index, 0 to the number of workers.
    pub(crate) index: usize,
    /// The waker id of this worker.
    pub(crate) waker_id: WakerId,
    /// Thread-local processes.
    pub(crate) scheduler: RefCell<RunQueue<dyn Process>>,
    /// Timers of thread-local actors.
    pub(crate) timers: RefCell<TimingWheel>,
    pub(crate) shared: Arc<RuntimeInternals>,
    /// The worker's ring or poll instance, for thread-local I/O.
    pub(crate) io: Io,
    /// Counters for the metrics.
    pub(crate) counters: LocalCounters,
}
