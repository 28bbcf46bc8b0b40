//! [`RuntimeInternals`]: the state the workers share. Everything else is
//! per worker.
//!
//! Shared are: the scheduler of thread-safe processes (one shard per worker,
//! see [`shards`]), the timers of thread-safe processes, the handles to wake
//! each worker, the actors that receive process signals,
//! and the start flag. Workers reach these only for thread-safe work; a
//! worker running thread-local actors touches none of it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError};
use std::task::Waker;
use std::time::Instant;

use kiln::ActorRef;

use crate::metrics::RuntimeMetrics;
use crate::runtime::counters::{self, RuntimeCounters};
use crate::runtime::io::Io;
pub(crate) use crate::runtime::lock::lock;
use crate::runtime::scheduler::process::SharedProcess;
use crate::runtime::scheduler::process_box::ProcessBox;
use crate::runtime::timers::{TimerToken, Timers, TimingWheel};
use crate::runtime::trace::TraceFile;
use crate::runtime::wake::{ProcessId, WakeTarget};
use crate::runtime::worker::WorkerHandle;
use crate::signal::Signal;

use crate::runtime::scheduler::shards::Shards;

/// State shared by the workers of one runtime.
pub(crate) struct RuntimeInternals {
    /// The name of the runtime, for thread names and logs.
    pub(crate) name: String,
    /// The driver of thread-safe and synchronous actors' I/O (the shared
    /// ring or poll instance), polled by the coordinator.
    pub(crate) shared_io: Io,
    /// Thread-safe processes, one shard per worker.
    pub(crate) shards: Shards,
    /// Timers of thread-safe and synchronous actors.
    timers: Mutex<TimingWheel>,
    /// One handle per worker, set once the workers are started.
    workers: OnceLock<Vec<Arc<WorkerHandle>>>,
    /// Actors that receive process signals.
    signal_receivers: Mutex<Vec<ActorRef<Signal>>>,
    /// Set by `Runtime::start`: from then on the workers stop once none has
    /// anything to do (see "When workers stop" in `worker.rs`).
    started: AtomicBool,
    /// Number of synchronous actor threads running; workers keep running
    /// while any is (it may spawn thread-safe actors or use timers).
    sync_actors: AtomicUsize,
    /// Number of workers not yet stopped; the last to stop unregisters the
    /// shards' wakers (which hold a reference to these internals).
    running_workers: AtomicUsize,
    /// Local work: workers with thread-local processes, plus spawns sent to
    /// a worker and not yet added there. The workers stop once it is zero
    /// (see "When workers stop" in `worker.rs`).
    local_work: AtomicUsize,
    /// Runtime-wide metrics (see `metrics`).
    pub(crate) metrics: RuntimeCounters,
    /// The trace file, if tracing is enabled (see `trace`).
    pub(crate) trace: Option<Arc<TraceFile>>,
}

impl RuntimeInternals {
    /// Creates the internals for `threads` workers and registers the wakers
    /// of their shards; `None` if the waker registry is full.
    pub(crate) fn new(
        name: String,
        threads: usize,
        shared_io: Io,
        trace: Option<Arc<TraceFile>>,
    ) -> Option<Arc<RuntimeInternals>> {
        let internals = Arc::new(RuntimeInternals {
            name,
            shared_io,
            shards: Shards::new(threads),
            timers: Mutex::new(TimingWheel::new(Instant::now())),
            workers: OnceLock::new(),
            signal_receivers: Mutex::new(Vec::new()),
            started: AtomicBool::new(false),
            sync_actors: AtomicUsize::new(0),
            running_workers: AtomicUsize::new(0),
            local_work: AtomicUsize::new(0),
            metrics: RuntimeCounters::new(),
            trace,
        });
        let target = |shard| -> Arc<dyn WakeTarget> {
            Arc::new(ShardWaker {
                internals: internals.clone(),
                shard,
            })
        };
        internals.shards.register(target)?;
        Some(internals)
    }

    pub(crate) fn set_workers(&self, workers: Vec<Arc<WorkerHandle>>) {
        self.running_workers.store(workers.len(), Ordering::Release);
        let _ = self.workers.set(workers);
    }

    /// A worker stopped. The last one unregisters the shards' wakers:
    /// nothing can run thread-safe processes any more, and the
    /// registry's reference to these internals must go so they are freed.
    pub(crate) fn worker_stopped(&self) {
        if self.running_workers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shards.unregister();
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

    /// Adds a thread-safe process to the shard of this thread's worker (or
    /// the next shard, off the workers) and wakes a worker to run it.
    pub(crate) fn add_process(
        &self,
        process: ProcessBox<SharedProcess>,
        priority: crate::Priority,
    ) {
        let shard = self.shards.home();
        self.shards.add(shard, process, priority);
        self.wake_worker_for(shard);
    }

    /// Locks the shared timers.
    pub(crate) fn timers(&self) -> MutexGuard<'_, TimingWheel> {
        lock(&self.timers)
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

    /// A worker got its first thread-local process, or a spawn on a worker
    /// is under way: local work started.
    pub(crate) fn local_work_started(&self) {
        self.local_work.fetch_add(1, Ordering::AcqRel);
    }

    /// Local work ended. The last wakes every worker, which may now stop.
    pub(crate) fn local_work_done(&self) {
        if self.local_work.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.wake_all_workers();
        }
    }

    /// Counts a spawn sent to a worker as local work until the returned
    /// guard is dropped (once the process is added there).
    pub(crate) fn local_work_pending(self: &Arc<Self>) -> PendingLocalWork {
        self.local_work_started();
        PendingLocalWork {
            shared: self.clone(),
        }
    }

    /// Whether any local work is counted, as far as this thread knows: a
    /// cheap hint.
    pub(crate) fn has_local_work(&self) -> bool {
        self.local_work.load(Ordering::Acquire) != 0
    }

    /// Whether any local work is counted: read with a read-modify-write,
    /// which reads the last value written (see `worker.rs`).
    pub(crate) fn has_local_work_now(&self) -> bool {
        self.local_work.fetch_add(0, Ordering::AcqRel) != 0
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

    /// Wakes thread-safe process `pid` of `shard`: marks it ready and wakes
    /// a worker for it if one sleeps.
    pub(crate) fn wake_thread_safe(&self, shard: usize, pid: ProcessId) {
        log::trace!("waking thread-safe process {pid:?} of shard {shard}");
        self.shards.wake(shard, pid);
        self.wake_worker_for(shard);
    }

    /// After a process of `shard` became ready: wakes the shard's worker if
    /// it sleeps, else another sleeping worker, if any (see [`shards`]).
    pub(crate) fn wake_worker_for(&self, shard: usize) {
        let workers = self.workers();
        if workers
            .get(shard)
            .is_some_and(|worker| worker.wake_if_sleeping())
        {
            return;
        }
        for (index, worker) in workers.iter().enumerate() {
            if index != shard && worker.wake_if_sleeping() {
                return;
            }
        }
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

    /// Reads the metrics of the runtime, see [`metrics`](crate::metrics).
    pub(crate) fn collect_metrics(&self) -> RuntimeMetrics {
        let internals = self;
        let runtime = &internals.metrics;
        let now_instant = Instant::now();
        let now = runtime.nanos(now_instant);
        let workers = internals
            .worker_handles()
            .iter()
            .enumerate()
            .map(|(index, handle)| handle.metrics.read(index, handle.is_sleeping(), now))
            .collect();
        let (processes, ready) = {
            let (processes, ready) = internals.shards.counts();
            (processes as u64, ready as u64)
        };
        let (shared_timers_pending, shared_next) = {
            let timers = internals.timers();
            (timers.len() as u64, timers.next_deadline())
        };
        let thread_safe_actors = runtime
            .thread_safe_actors
            .load(Ordering::Relaxed)
            .min(processes);
        RuntimeMetrics {
            name: internals.name.clone(),
            io_driver: internals.shared_io.driver(),
            uptime: now_instant.saturating_duration_since(runtime.created),
            cpu_time: counters::process_cpu_time(),
            workers,
            thread_safe_actors,
            thread_safe_futures: processes - thread_safe_actors,
            thread_safe_ready: ready,
            thread_safe_inactive: processes.saturating_sub(ready),
            sync_actors: internals.sync_actors() as u64,
            shared_timers_pending,
            shared_next_timer: shared_next.map(|next| next.saturating_duration_since(now_instant)),
        }
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

/// A spawn sent to a worker, counted as local work until dropped; see
/// [`RuntimeInternals::local_work_pending`].
pub(crate) struct PendingLocalWork {
    shared: Arc<RuntimeInternals>,
}

impl Drop for PendingLocalWork {
    fn drop(&mut self) {
        self.shared.local_work_done();
    }
}

/// Wakes the processes of one shard: what a shard's waker id names in the
/// registry of wake targets.
struct ShardWaker {
    internals: Arc<RuntimeInternals>,
    shard: usize,
}

impl WakeTarget for ShardWaker {
    fn wake(&self, pid: ProcessId) {
        self.internals.wake_thread_safe(self.shard, pid);
    }
}

/// The shared timers, for sockets off their worker (see
/// [`Context::timers`](crate::runtime::context::Context::timers)).
impl Timers for RuntimeInternals {
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerToken {
        RuntimeInternals::add_timer(self, deadline, waker)
    }

    fn update_timer(&self, token: TimerToken, waker: &Waker) -> bool {
        self.timers().update_waker(token, waker)
    }

    fn remove_timer(&self, token: TimerToken) {
        self.timers().remove(token);
    }
}
