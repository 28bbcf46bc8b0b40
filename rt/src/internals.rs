//! [`RuntimeInternals`]: the state the workers share. Everything else is
//! per worker.
//!
//! Shared are: the scheduler and timers of thread-safe processes, the
//! handles to wake each worker, the actors that receive process signals,
//! and the start flag. Workers reach these only for thread-safe work; a
//! worker running thread-local actors touches none of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::task::Waker;
use std::time::Instant;

use kiln::ActorRef;
use log::trace;

use crate::io::IoRing;
use crate::metrics::RuntimeCounters;
use crate::scheduler::RunQueue;
use crate::scheduler::process::Process;
use crate::signal::Signal;
use crate::timers::{TimerToken, TimingWheel};
use crate::trace::TraceFile;
use crate::wake::{self, ProcessId, WakeTarget, WakerId};
use crate::worker::WorkerHandle;

/// A thread-safe process.
pub(crate) type SharedProcess = dyn Process + Send;

/// State shared by the workers of one runtime.
pub(crate) struct RuntimeInternals {
    /// The name of the runtime, for thread names and logs.
    pub(crate) name: String,
    /// The ring of thread-safe and synchronous actors' I/O, polled by the
    /// coordinator.
    pub(crate) shared_ring: IoRing,
    /// Thread-safe processes.
    scheduler: Mutex<RunQueue<SharedProcess>>,
    /// Timers of thread-safe and synchronous actors.
    timers: Mutex<TimingWheel>,
    /// Waker id of the shared scheduler, set right after creation.
    waker_id: OnceLock<WakerId>,
    /// One handle per worker, set once the workers are started.
    workers: OnceLock<Vec<Arc<WorkerHandle>>>,
    /// Actors that receive process signals.
    signal_receivers: Mutex<Vec<ActorRef<Signal>>>,
    /// Set by `Runtime::start`: from then on a worker with nothing to do
    /// stops.
    started: AtomicBool,
    /// Number of synchronous actor threads running; workers keep running
    /// while any is (it may spawn thread-safe actors or use timers).
    sync_actors: AtomicUsize,
    /// Number of workers not yet stopped; the last to stop unregisters the
    /// shared waker (which holds a reference to these internals).
    running_workers: AtomicUsize,
    /// Runtime-wide metrics (see `metrics`).
    pub(crate) metrics: RuntimeCounters,
    /// The trace file, if tracing is enabled (see `trace`).
    pub(crate) trace: Option<Arc<TraceFile>>,
}

/// Locks `mutex`, ignoring poisoning: every critical section here leaves the
/// data consistent, and user code never runs while a lock is held.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RuntimeInternals {
    /// Creates the internals and registers the shared scheduler's waker.
    pub(crate) fn new(
        name: String,
        shared_ring: IoRing,
        trace: Option<Arc<TraceFile>>,
    ) -> Option<Arc<RuntimeInternals>> {
        let internals = Arc::new(RuntimeInternals {
            name,
            shared_ring,
            scheduler: Mutex::new(RunQueue::new()),
            timers: Mutex::new(TimingWheel::new(Instant::now())),
            waker_id: OnceLock::new(),
            workers: OnceLock::new(),
            signal_receivers: Mutex::new(Vec::new()),
            started: AtomicBool::new(false),
            sync_actors: AtomicUsize::new(0),
            running_workers: AtomicUsize::new(0),
            metrics: RuntimeCounters::new(),
            trace,
        });
        let id = wake::register(internals.clone())?;
        let _ = internals.waker_id.set(id);
        Some(internals)
    }

    pub(crate) fn set_workers(&self, workers: Vec<Arc<WorkerHandle>>) {
        self.running_workers.store(workers.len(), Ordering::Release);
        let _ = self.workers.set(workers);
    }

    /// A worker stopped. The last one unregisters the shared scheduler's
    /// waker: nothing can run thread-safe processes any more, and the
    /// registry's reference to these internals must go so they are freed.
    pub(crate) fn worker_stopped(&self) {
        if self.running_workers.fetch_sub(1, Ordering::AcqRel) == 1 {
            wake::unregister(self.waker_id());
        }
    }

    /// Drops the references to the actors registered for signals, so they
    /// can stop (after the coordinator stopped relaying).
    pub(crate) fn clear_signal_receivers(&self) {
        let receivers = std::mem::take(&mut *lock(&self.signal_receivers));
        drop(receivers);
    }

    /// The handles of the workers.
    pub(crate) fn worker_handles(&self) -> &[Arc<WorkerHandle>] {
        self.workers()
    }

    fn workers(&self) -> &[Arc<WorkerHandle>] {
        self.workers.get().map_or(&[], Vec::as_slice)
    }

    /// The waker id of the shared scheduler.
    pub(crate) fn waker_id(&self) -> WakerId {
        *self.waker_id.get().expect("shared waker id not set")
    }

    /// Adds a thread-safe process and wakes a worker to run it.
    pub(crate) fn add_process(&self, process: Pin<Box<SharedProcess>>, priority: crate::Priority) {
        lock(&self.scheduler).add(process, priority);
        self.wake_a_worker();
    }

    /// Locks the shared scheduler.
    pub(crate) fn scheduler(&self) -> MutexGuard<'_, RunQueue<SharedProcess>> {
        lock(&self.scheduler)
    }

    /// Locks the shared timers.
    pub(crate) fn timers(&self) -> MutexGuard<'_, TimingWheel> {
        lock(&self.timers)
    }

    /// Whether a thread-safe process is ready, if the shared scheduler is not
    /// locked by another thread (then `false`): for spinning workers, which
    /// must not fight over the lock.
    pub(crate) fn scheduler_has_ready_hint(&self) -> bool {
        match self.scheduler.try_lock() {
            Ok(scheduler) => scheduler.has_ready(),
            Err(TryLockError::Poisoned(err)) => err.into_inner().has_ready(),
            Err(TryLockError::WouldBlock) => false,
        }
    }

    /// Locks the shared timers if no other thread holds them.
    pub(crate) fn timers_try_lock(&self) -> Result<MutexGuard<'_, TimingWheel>, ()> {
        match self.timers.try_lock() {
            Ok(timers) => Ok(timers),
            Err(TryLockError::Poisoned(err)) => Ok(err.into_inner()),
            Err(TryLockError::WouldBlock) => Err(()),
        }
    }

    /// A synchronous actor thread is starting.
    pub(crate) fn sync_actor_started(&self) {
        self.sync_actors.fetch_add(1, Ordering::AcqRel);
    }

    /// A synchronous actor thread stopped; idle workers may now stop.
    pub(crate) fn sync_actor_stopped(&self) {
        self.sync_actors.fetch_sub(1, Ordering::AcqRel);
        self.wake_all_workers();
    }

    /// Number of synchronous actor threads running.
    pub(crate) fn sync_actors(&self) -> usize {
        self.sync_actors.load(Ordering::Acquire)
    }

    /// Adds a shared timer; wakes a worker if it is now the first to expire,
    /// so that a sleeping worker recomputes its timeout.
    pub(crate) fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerToken {
        let mut timers = self.timers();
        let first = timers.next_deadline().is_none_or(|next| deadline < next);
        let token = timers.add(deadline, waker);
        drop(timers);
        if first {
            self.wake_a_worker();
        }
        token
    }

    /// Wakes one sleeping worker, if any sleeps.
    pub(crate) fn wake_a_worker(&self) {
        for worker in self.workers() {
            if worker.wake_if_sleeping() {
                return;
            }
        }
    }

    /// Wakes every worker (e.g. on start, so idle workers can stop).
    pub(crate) fn wake_all_workers(&self) {
        for worker in self.workers() {
            worker.wake();
        }
    }

    pub(crate) fn start(&self) {
        self.started.store(true, Ordering::Release);
        self.wake_all_workers();
    }

    pub(crate) fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Registers an actor to receive process signals.
    pub(crate) fn receive_signals(&self, actor_ref: ActorRef<Signal>) {
        lock(&self.signal_receivers).push(actor_ref);
    }

    /// The actors registered for signals (cloned, so no lock is held while
    /// sending).
    pub(crate) fn signal_receivers(&self) -> Vec<ActorRef<Signal>> {
        let mut receivers = lock(&self.signal_receivers);
        receivers.retain(ActorRef::is_connected);
        receivers.clone()
    }
}

impl WakeTarget for RuntimeInternals {
    fn wake(&self, pid: ProcessId) {
        trace!("waking thread-safe process {pid:?}");
        lock(&self.scheduler).wake(pid);
        self.wake_a_worker();
    }
}

/// Spawns a thread-safe actor on the runtime of `internals`.
pub(crate) fn try_spawn<S, NA>(
    internals: &Arc<RuntimeInternals>,
    supervisor: S,
    new_actor: NA,
    arg: NA::Argument,
    options: crate::ActorOptions,
) -> Result<ActorRef<NA::Message>, NA::Error>
where
    S: kiln::Supervisor<NA> + Send + 'static,
    NA: kiln::NewActor<RuntimeAccess = crate::ThreadSafe> + Send + 'static,
    NA::Actor: Send + 'static,
    NA::Message: Send + 'static,
{
    let rt = crate::ThreadSafe::new(internals.clone());
    let (future, actor_ref) = kiln::future::ActorFutureBuilder::new()
        .with_rt(rt)
        .with_inbox_size(options.inbox_size())
        .try_build(supervisor, new_actor, arg)?;
    internals.metrics.thread_safe_actor_spawned();
    internals.add_process(Box::pin(future), options.priority());
    Ok(actor_ref)
}

/// Spawns a `Send` future on the runtime of `internals`.
pub(crate) fn spawn_future<Fut>(
    internals: &Arc<RuntimeInternals>,
    future: Fut,
    options: crate::FutureOptions,
) where
    Fut: Future<Output = ()> + Send + 'static,
{
    let process = crate::scheduler::process::FutureProcess::new(future);
    internals.add_process(Box::pin(process), options.priority());
}
