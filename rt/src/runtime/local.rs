//! [`LocalInternals`]: the state of one worker that its thread-local
//! processes reach, through their [`RuntimeRef`](crate::RuntimeRef).

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use crate::runtime::counters::LocalCounters;
use crate::runtime::io::Io;
use crate::runtime::scheduler::RunQueue;
use crate::runtime::scheduler::process::Process;
use crate::runtime::scheduler::process_box::ProcessBox;
use crate::runtime::shared::RuntimeInternals;
use crate::runtime::timers::{TimerToken, Timers, TimingWheel};
use crate::runtime::wake::WakerId;
use crate::spawn::Priority;

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
    /// Whether this worker counts as having local work in the shared state
    /// (see "When workers stop" in `worker.rs`): set with the first process
    /// added, cleared once the queue is seen empty.
    pub(crate) local_work: Cell<bool>,
}

impl LocalInternals {
    /// Adds a thread-local process, ready to run.
    pub(crate) fn add_process(&self, process: ProcessBox<dyn Process>, priority: Priority) {
        self.scheduler.borrow_mut().add(process, priority);
        if !self.local_work.get() {
            self.local_work.set(true);
            self.shared.local_work_started();
        }
    }

    /// Adds a thread-local actor (an `ActorFuture`), ready to run.
    pub(crate) fn add_actor(&self, process: ProcessBox<dyn Process>, priority: Priority) {
        self.add_process(process, priority);
        self.counters.actor_spawned();
    }

    /// Stops counting as having local work if no process is left.
    pub(crate) fn end_local_work_if_idle(&self) {
        if self.local_work.get() && self.scheduler.borrow().len() == 0 {
            self.end_local_work();
        }
    }

    /// Stops counting as having local work (the worker stops).
    pub(crate) fn end_local_work(&self) {
        if self.local_work.replace(false) {
            self.shared.local_work_done();
        }
    }
}

/// The worker's own wheel, for the sockets on its ring (see
/// [`Context::timers`](crate::runtime::context::Context::timers)).
impl Timers for LocalInternals {
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerToken {
        self.timers.borrow_mut().add(deadline, waker)
    }

    fn update_timer(&self, token: TimerToken, waker: &Waker) -> bool {
        self.timers.borrow_mut().update_waker(token, waker)
    }

    fn remove_timer(&self, token: TimerToken) {
        self.timers.borrow_mut().remove(token);
    }
}
