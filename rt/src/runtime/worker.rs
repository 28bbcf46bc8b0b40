//! A worker: one thread with its own io_uring ring, scheduler and timers,
//! running thread-local processes and taking thread-safe ones from its shard
//! of the shared scheduler, or stealing them from the other shards.
//!
//! # The loop
//!
//! Each turn a worker
//! 1. runs control messages (functions from `Runtime::run_on_workers`) and
//!    errands from other threads (actors they spawn on this worker, see
//!    [`handle`]);
//! 2. collects wake-ups: from this thread (the thread-local list in
//!    [`wake`](crate::runtime::wake)), from other threads (a bounded queue; if it
//!    overflows, a flag makes the worker mark every process ready, so no
//!    wake-up is lost), and from expired timers;
//! 3. runs ready thread-local processes for at most a time slice (or a
//!    number of runs), then a few thread-safe (see [`Tuning`])
//!    ones, from its own shard first (see
//!    [`shards`](crate::runtime::scheduler::shards)), except that a
//!    thread-safe process woken by the one that just ran runs next (at most
//!    three in a row, see [`run_next`]). Either batch ends early to
//!    give way to the other kind of process when that is ready and has had
//!    less of the worker's time (see
//!    [`balance`](crate::runtime::scheduler::balance)): a thread-safe process
//!    woken while thread-local ones keep the worker busy runs after at
//!    most about 200 µs of their polls, not at the end of the time slice;
//! 4. stops once the runtime has started and there is nothing left to run
//!    on any worker (see below);
//! 5. with nothing ready, **sleeps** in the kernel (`Ring::poll`) until I/O
//!    completes, the next timer expires, or another thread wakes it;
//! 6. busy, but with I/O of its own pending, polls its ring without waiting
//!    at most once per `io_poll_interval` (250 µs by default), so that I/O
//!    completes while CPU-bound actors run. A poll that finds no completion
//!    enters the kernel and costs about 15 µs, so it is never done per
//!    message, and never when no I/O is pending.
//!
//! A worker with ready work never makes a waiting kernel call, and a message
//! sent between actors on one worker never touches io_uring: wake-ups on the
//! same thread are a push onto a thread-local list.
//!
//! # When workers stop
//!
//! Once the runtime has started, the workers stop together, when nothing
//! is left that could run or spawn: no worker has thread-local processes,
//! no thread-safe process is in any shard, no synchronous actor runs, and
//! no spawn sent to a worker (`spawn_local_on`) is under way. An idle worker
//! waits (asleep, at no cost) while others still work, because any actor
//! may still spawn a thread-local actor onto it.
//!
//! The shared state counts *local work*
//! ([`RuntimeInternals::local_work_started`]): a worker counts once while it
//! has thread-local processes (from adding its first until it sees its queue
//! empty at the end of a turn), and every spawn sent to a worker counts from
//! before it is sent until the worker has added the process (or the errand
//! is dropped, if the worker's thread ended). Whatever can spawn a
//! thread-local process is counted in it while it does, or is a thread-safe
//! process (in a shard) or a synchronous actor (counted, and after `start`
//! none is added). So a worker stops when, with every shard locked at once,
//! the shards are empty and the count (read with a read-modify-write, which
//! sees the last value) is zero: from then on nothing exists that could give
//! any worker work again, and every worker comes to the same answer. The
//! last worker to stop counting wakes the others to check.
//!
//! # Waking a sleeping worker
//!
//! See [`handle`]: other threads reach a worker through its
//! [`WorkerHandle`].
//!
//! A busy worker is never interrupted: it finds thread-safe processes made
//! ready in its shard through the shard's ready hint, which it reads before
//! each thread-local poll (see
//! [`balance`](crate::runtime::scheduler::balance)), and wake-ups of its
//! thread-local processes from other threads once per turn.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::task;
use std::thread;
use std::time::{Duration, Instant};

use kiln::supervisor::panic_message;
use kiln_inbox::Receiver;
use log::{debug, error, trace};

use crate::error::Error;
use crate::runtime::clock::PollClock;
use crate::runtime::counters::{LocalCounters, Published, Snapshot, WorkerCounters};
use crate::runtime::io::setup::{WorkerDriver, WorkerDriverKind};
use crate::runtime::io::{self, DriverWaker, Io};

mod control;
mod exit;
pub(crate) mod handle;
mod spin;
mod tuning;
mod worker_thread;

use crate::runtime::local::LocalInternals;
use crate::runtime::scheduler::RunQueue;
use crate::runtime::scheduler::balance::Balance;
use crate::runtime::scheduler::process::run_process;
use crate::runtime::scheduler::process_box::drop_process;
use crate::runtime::scheduler::shards::{STEAL_EVERY, Taken};
use crate::runtime::shared::RuntimeInternals;
use crate::runtime::timers::TimingWheel;
use crate::runtime::wake::{self, ProcessId, run_next};
use crate::trace::RunEnd;
pub(crate) use control::{Control, RunFn, WorkerControl};
pub(crate) use exit::{ExitGuard, ThreadExit};
pub(crate) use handle::{Errand, WorkerHandle};
use spin::{PREEMPTED_GAP, SpinGate};
pub(crate) use tuning::Tuning;
use worker_thread::WorkerThread;

/// A worker before its thread starts: created on the thread that builds the
/// runtime, so io_uring errors surface in `Setup::build`.
pub(crate) struct WorkerSetup {
    index: usize,
    driver: WorkerDriverKind,
    /// The handle of the worker's driver, for its thread-local I/O.
    io: Io,
    handle: Arc<WorkerHandle>,
    remote: Receiver<ProcessId>,
    control: mpsc::Receiver<Control>,
    control_sender: mpsc::Sender<Control>,
    errands: mpsc::Receiver<Errand>,
    tuning: Tuning,
}

impl WorkerSetup {
    pub(crate) fn new(index: usize, driver: WorkerDriver, tuning: Tuning) -> WorkerSetup {
        let WorkerDriver {
            driver,
            waker,
            handle: io,
        } = driver;
        let (remote_sender, remote) = kiln_inbox::new(tuning.wake_queue_capacity);
        let (control_sender, control) = mpsc::channel();
        let (errand_sender, errands) = mpsc::channel();
        let handle = Arc::new(WorkerHandle {
            index,
            waker,
            sleeping: AtomicBool::new(false),
            remote: remote_sender,
            overflow: AtomicBool::new(false),
            metrics: Published::new(),
            errands: errand_sender,
        });
        WorkerSetup {
            index,
            driver,
            io,
            handle,
            remote,
            control,
            control_sender,
            errands,
            tuning,
        }
    }

    pub(crate) fn handle(&self) -> Arc<WorkerHandle> {
        self.handle.clone()
    }

    /// What sends control messages to this worker.
    pub(crate) fn control(&self) -> WorkerControl {
        WorkerControl {
            sender: self.control_sender.clone(),
            handle: self.handle.clone(),
        }
    }

    /// Starts the worker's thread.
    pub(crate) fn start(
        self,
        internals: Arc<RuntimeInternals>,
        cpu: Option<usize>,
        exits: mpsc::Sender<ThreadExit>,
        coordinator: Arc<DriverWaker>,
    ) -> std::io::Result<thread::JoinHandle<()>> {
        let index = self.index;
        let name = format!("{}:worker:{index}", internals.name);
        thread::Builder::new().name(name).spawn(move || {
            let mut guard = ExitGuard::new(
                ThreadExit::Worker(index, Err(Error::worker_panic(index, "unknown".into()))),
                exits,
                coordinator,
            );
            if let Some(cpu) = cpu {
                set_cpu_affinity(cpu);
            }
            let result = match catch_unwind(AssertUnwindSafe(|| self.run(internals))) {
                Ok(result) => result,
                Err(panic) => Err(Error::worker_panic(
                    index,
                    panic_message(&*panic).to_owned(),
                )),
            };
            guard.set(ThreadExit::Worker(index, result));
        })
    }

    fn run(self, shared: Arc<RuntimeInternals>) -> Result<(), Error> {
        let thread = WorkerThread::enter(self.handle.clone(), shared.clone(), self.driver)?;
        let tracing = shared.trace.is_some();
        let clock = if tracing {
            PollClock::tracing()
        } else {
            PollClock::get()
        };
        let local = LocalInternals {
            index: self.index,
            waker_id: thread.waker_id(),
            scheduler: RefCell::new(RunQueue::new()),
            timers: RefCell::new(TimingWheel::new(Instant::now())),
            shared: shared.clone(),
            io: self.io,
            counters: LocalCounters::default(),
            local_work: Cell::new(false),
        };
        let local = Rc::new(local);
        thread.set_timers(&local);
        let mut worker = Worker {
            index: self.index,
            handle: self.handle,
            local,
            shared,
            remote: self.remote,
            control: self.control,
            errands: self.errands,
            woken: Vec::new(),
            tuning: self.tuning,
            last_ring_poll: Instant::now(),
            spin_gate: SpinGate::new(),
            clock,
            time_slice: clock.ticks_in(self.tuning.time_slice),
            tracing,
            counters: WorkerCounters::default(),
            thread,
            balance: Balance::new(),
            unannounced: None,
        };
        let result = worker.run_loop();
        worker.shutdown();
        result
    }
}

/// Pins the current thread to `cpu`; logs (and carries on) on failure.
fn set_cpu_affinity(cpu: usize) {
    // SAFETY: `cpu_set_t` is plain data for which all zeroes is valid.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpu < 8 * size_of::<libc::cpu_set_t>() {
        // SAFETY: `CPU_SET` writes one bit in `set`, which we own; `cpu` is
        // within the set's size (checked above).
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid CPU set of the size passed; 0 means this
    // thread.
    let res = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &raw const set) };
    if res == -1 {
        log::warn!(
            "can't pin worker thread to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// A running worker.
struct Worker {
    index: usize,
    handle: Arc<WorkerHandle>,
    local: Rc<LocalInternals>,
    shared: Arc<RuntimeInternals>,
    remote: Receiver<ProcessId>,
    control: mpsc::Receiver<Control>,
    /// Errands other threads send (see [`handle`]).
    errands: mpsc::Receiver<Errand>,
    /// Scratch space for process ids woken by other threads.
    woken: Vec<ProcessId>,
    tuning: Tuning,
    /// When the ring was last polled.
    last_ring_poll: Instant,
    /// Whether this worker may spin before it sleeps (not while the
    /// machine is oversubscribed, see `spin`).
    spin_gate: SpinGate,
    /// Times every poll (see `clock`).
    clock: &'static PollClock,
    /// `tuning.time_slice` in ticks of `clock`.
    time_slice: u64,
    /// Whether this thread records a trace (see `trace`).
    tracing: bool,
    /// Counters for the metrics, published once per turn.
    counters: WorkerCounters,
    /// How this worker's time went to thread-local and thread-safe processes
    /// (see `scheduler/balance.rs`).
    balance: Balance,
    /// The shard of a process this worker left ready without waking a
    /// worker for it, see [`Worker::hand_back`].
    unannounced: Option<usize>,
    /// What makes this thread a worker; dropped last (after the processes
    /// in `local`), also when the loop panics.
    thread: WorkerThread,
}

impl Worker {
    fn run_loop(&mut self) -> Result<(), Error> {
        debug!("worker {} started", self.index);
        let mut ran_last_turn = false;
        loop {
            self.handle_control();
            self.collect_wakes();
            let now = Instant::now();
            self.expire_timers(now);
            let ran_local = self.run_local();
            let ran_shared = self.run_shared();
            self.publish(now);
            if self.should_stop() {
                debug!("worker {} stopping: nothing left to run", self.index);
                // Sleeping workers may be waiting for the same condition.
                self.shared.wake_all_workers();
                return Ok(());
            }
            // Idle only if no thread-local process is ready either: a turn
            // runs nothing when the worker gave way to a thread-safe process
            // that another worker took meanwhile (a stale ready hint).
            if ran_local == 0 && ran_shared == 0 && !self.local_ready() {
                if !(ran_last_turn && self.spin()) {
                    self.sleep()?;
                }
                ran_last_turn = false;
            } else {
                ran_last_turn = true;
                self.poll_ring_if_due()?;
            }
        }
    }

    /// Runs control messages and errands; returns how many.
    fn handle_control(&mut self) -> usize {
        let mut handled = 0;
        while let Ok(control) = self.control.try_recv() {
            handled += 1;
            self.announce();
            self.run_control(control);
        }
        while let Ok(errand) = self.errands.try_recv() {
            handled += 1;
            self.announce();
            self.run_errand(errand);
        }
        handled
    }

    /// Runs an errand from another thread with this worker's state.
    fn run_errand(&mut self, errand: Errand) {
        let local: &dyn Any = &self.local;
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| errand(local))) {
            error!(
                "worker {}: an actor sent to be spawned here panicked while being spawned: {}",
                self.index,
                panic_message(&*panic)
            );
        }
    }

    /// Runs one control message.
    fn run_control(&mut self, control: Control) {
        match control {
            Control::Run(f, reply) => {
                let local = self.local.clone();
                let result = match catch_unwind(AssertUnwindSafe(move || f(local))) {
                    Ok(result) => result,
                    Err(panic) => Err(format!("panicked: {}", panic_message(&*panic))),
                };
                let _ = reply.send(result);
            }
        }
    }

    /// Moves wake-ups from this thread and other threads into the scheduler.
    fn collect_wakes(&mut self) {
        while let Ok(pid) = self.remote.try_recv() {
            self.woken.push(pid);
        }
        let mut scheduler = self.local.scheduler.borrow_mut();
        wake::drain_woken(|pid| scheduler.wake(pid));
        if self.handle.overflow.swap(false, Ordering::AcqRel) {
            debug!(
                "worker {}: wake-up queue overflowed, waking all processes",
                self.index
            );
            if self.tracing {
                crate::runtime::trace::wake_all(Instant::now());
            }
            scheduler.wake_all();
        }
        for pid in self.woken.drain(..) {
            scheduler.wake(pid);
        }
    }

    fn expire_timers(&mut self, now: Instant) {
        let local = self.local.timers.borrow_mut().expire(now);
        let shared = match self.shared.timers_try_lock() {
            Ok(mut timers) => timers.expire(now),
            Err(()) => 0,
        };
        self.counters.timers_expired += local as u64;
        if self.tracing && local + shared != 0 {
            crate::runtime::trace::timers(local, shared, now);
        }
        // Timer wakers of this worker's processes pushed onto the
        // thread-local list.
        self.collect_wakes();
    }

    /// Runs ready thread-local processes for at most a time slice; returns
    /// how many ran.
    fn run_local(&mut self) -> usize {
        if self.unannounced.is_some() && self.local_ready() {
            self.announce();
        }
        let clock = self.clock;
        let mut start = clock.now();
        let batch_start = start;
        let deadline = start.after(self.time_slice);
        let mut runs = 0;
        let mut ended = RunEnd::RunLimit;
        let shard_ready = self.shared.shards.ready_hint(self.index);
        while runs < self.tuning.max_local_runs {
            // One load per poll; the balance is worked out only when a
            // thread-safe process is ready.
            if shard_ready.get()
                && self
                    .balance
                    .local_gives_way_after(clock.nanos_between(batch_start, start))
            {
                ended = RunEnd::GaveWay;
                break;
            }
            let Some(mut running) = self.local.scheduler.borrow_mut().next() else {
                ended = RunEnd::NothingReady;
                break;
            };
            let waker_id = self.local.waker_id;
            let waker = wake::new_waker(waker_id, running.pid);
            if self.tracing {
                crate::runtime::trace::poll_start(crate::runtime::trace::actor_id(
                    waker_id,
                    running.pid,
                ));
            }
            let done = run_process(
                running.process.as_mut(),
                &mut task::Context::from_waker(&waker),
            );
            let end = clock.now();
            if self.tracing {
                let (start, end) = (clock.instant(start), clock.instant(end));
                crate::runtime::trace::poll_end(running.process.name(), false, done, start, end);
            }
            let ran = Duration::from_nanos(clock.nanos_between(start, end));
            let mut scheduler = self.local.scheduler.borrow_mut();
            if let Some(process) = scheduler.finish(running, ran, done) {
                // Dropped without the scheduler borrowed: an actor's `Drop`
                // may spawn.
                drop(scheduler);
                if process.is_actor() {
                    self.local.counters.actor_stopped();
                }
                drop_process(process);
                scheduler = self.local.scheduler.borrow_mut();
            }
            // Processes this poll (or the drop) woke: messages it sent, mostly.
            wake::drain_woken(|pid| scheduler.wake(pid));
            drop(scheduler);
            start = end;
            runs += 1;
            if end >= deadline {
                ended = RunEnd::TimeSlice;
                break;
            }
        }
        self.counters.polls += runs as u64;
        self.balance
            .ran_local(clock.nanos_between(batch_start, start));
        if self.tracing && runs != 0 {
            let (batch_start, end) = (clock.instant(batch_start), clock.instant(start));
            crate::runtime::trace::run(false, ended, runs, batch_start, end);
        }
        runs
    }

    /// Runs a few ready thread-safe processes, from this worker's shard
    /// first, else stolen from the others (see
    /// [`shards`](crate::runtime::scheduler::shards)); returns how many ran.
    fn run_shared(&mut self) -> usize {
        let shards = &self.shared.shards;
        let mut runs = 0;
        let mut ended = RunEnd::RunLimit;
        let clock = self.clock;
        // First start and last end of the batch, when tracing.
        let mut batch: Option<(Instant, Instant)> = None;
        let steal_turn = self.counters.turns.is_multiple_of(STEAL_EVERY);
        // Whatever this worker left ready without waking a worker for it is
        // taken from here on (see `hand_back`).
        self.unannounced = None;
        // The process the last poll woke, to run next, and how many ran that
        // way in a row (see `wake/run_next.rs`).
        let mut held = None;
        let mut streak = 0;
        while runs < self.tuning.max_shared_runs {
            if self.balance.shared_gives_way() && self.local_ready() {
                ended = RunEnd::GaveWay;
                break;
            }
            let next = self.take_shared(held.take(), &mut streak, steal_turn && runs == 0);
            let Some(mut taken) = next else {
                ended = RunEnd::NothingReady;
                break;
            };
            let start = clock.now();
            let waker_id = shards.waker_id(taken.shard);
            let pid = taken.running.pid;
            let waker = wake::new_waker(waker_id, pid);
            if self.tracing {
                crate::runtime::trace::poll_start(crate::runtime::trace::actor_id(waker_id, pid));
            }
            let process = &mut taken.running.process;
            run_next::open();
            let done = run_process(process.as_mut(), &mut task::Context::from_waker(&waker));
            held = run_next::close();
            if held == Some((taken.shard, pid)) {
                // Woken by itself (a yield): behind the others, as before.
                held = None;
                self.shared.wake_thread_safe(taken.shard, pid);
            }
            let end = clock.now();
            if self.tracing {
                let (start, end) = (clock.instant(start), clock.instant(end));
                crate::runtime::trace::poll_end(process.name(), true, done, start, end);
                batch = Some((batch.map_or(start, |(first, _)| first), end));
            }
            let nanos = clock.nanos_between(start, end);
            self.balance.ran_shared(nanos);
            let ran = Duration::from_nanos(nanos);
            let finished = shards.finish(taken, ran, done);
            if let Some(process) = finished {
                if process.is_actor() {
                    self.shared.metrics.thread_safe_actor_stopped();
                }
                drop_process(process);
            }
            runs += 1;
        }
        if let Some((shard, pid)) = held {
            self.hand_back(shard, pid);
        }
        self.counters.thread_safe_polls += runs as u64;
        if let Some((start, end)) = batch {
            crate::runtime::trace::run(true, ended, runs, start, end);
        }
        if runs != 0 {
            // Thread-safe processes may have woken thread-local ones.
            self.collect_wakes();
        }
        runs
    }

    /// The next thread-safe process to run: `held` (the process the last
    /// poll woke) unless `streak` of those ran in a row already, else the
    /// one the shards give (see `wake/run_next.rs`).
    fn take_shared(
        &self,
        held: Option<(usize, ProcessId)>,
        streak: &mut usize,
        steal_first: bool,
    ) -> Option<Taken> {
        let shards = &self.shared.shards;
        if let Some((shard, pid)) = held {
            if *streak < run_next::MAX_STREAK {
                if let Some(taken) = shards.take_woken(shard, pid) {
                    *streak += 1;
                    return Some(taken);
                }
            } else {
                // Its turn in its shard, by virtual run time; no worker is
                // woken for it: this one takes from the shards right now.
                shards.wake(shard, pid);
            }
        }
        *streak = 0;
        shards.take(self.index, steal_first)
    }

    /// Gives back to its shard the process held to run next that this
    /// batch of thread-safe runs leaves: marked ready there, where any
    /// worker may take it. A sleeping worker is woken for it if this one
    /// has thread-local work ready (which may keep it for up to a time
    /// slice); else this worker takes it on its next turn, and only if
    /// thread-local work comes up before that is a worker woken
    /// ([`Worker::announce`]).
    fn hand_back(&mut self, shard: usize, pid: ProcessId) {
        if self.local_ready() {
            self.shared.wake_thread_safe(shard, pid);
        } else {
            self.shared.shards.wake(shard, pid);
            self.unannounced = Some(shard);
        }
    }

    /// Wakes a sleeping worker (if any) for the process that
    /// [`Worker::hand_back`] left ready without one, before this worker
    /// turns to other work.
    fn announce(&mut self) {
        if let Some(shard) = self.unannounced.take() {
            self.shared.wake_worker_for(shard);
        }
    }

    /// Whether a thread-local process is ready, or woken on this thread and
    /// not yet marked ready (by a thread-safe process that ran here).
    fn local_ready(&self) -> bool {
        wake::has_woken() || self.local.scheduler.borrow().has_ready()
    }

    /// Whether the runtime has started and nothing is left to run on any
    /// worker (see "When workers stop" above). Once it returns `true` the
    /// answer stays: nothing can give a worker work again.
    fn should_stop(&self) -> bool {
        if !self.shared.is_started() || self.local.scheduler.borrow().len() != 0 {
            return false;
        }
        self.local.end_local_work_if_idle();
        // The cheap checks first; the answer is the one under the locks.
        self.shared.sync_actors() == 0
            && !self.shared.has_local_work()
            && self
                .shared
                .shards
                .is_empty_and(|| !self.shared.has_local_work_now())
    }

    /// Returns `true` if there is work to do right now.
    fn has_work(&mut self) -> bool {
        wake::has_woken()
            || self.remote.try_peek().is_ok()
            || self.handle.overflow.load(Ordering::Acquire)
            || self.local.scheduler.borrow().has_ready()
            || self.shared.shards.has_ready()
            || self.should_stop()
    }

    /// Spins for at most `idle_spin`, looking for work from this or other
    /// threads; returns whether some came. A worker that just ran out of work
    /// often gets more a few microseconds later (the reply to a message it
    /// sent); finding it here saves the wake-up system calls on both sides:
    /// a spinning worker is not `sleeping`, so its wakers do not write its
    /// eventfd. Not done with I/O of this thread pending: completions are
    /// only seen by polling the ring. Nor while the machine has more
    /// runnable threads than CPUs (see `worker/spin.rs`).
    fn spin(&mut self) -> bool {
        if self.tuning.idle_spin.is_zero() || io::io_work_on_this_thread() {
            return false;
        }
        let start = Instant::now();
        if !self.spin_gate.is_open(start) {
            return false;
        }
        let found = self.spin_from(start);
        if self.tracing {
            crate::runtime::trace::spin(found, start, Instant::now());
        }
        found
    }

    /// The loop of `spin`, which started at `start`: ends when work comes,
    /// after `idle_spin`, or when the thread was preempted (closing the spin
    /// gate).
    fn spin_from(&mut self, start: Instant) -> bool {
        let mut spins: u32 = 0;
        let mut last_read = start;
        loop {
            if wake::has_woken()
                || self.remote.try_peek().is_ok()
                || self.handle.overflow.load(Ordering::Acquire)
            {
                self.spin_gate.ran_clean();
                return true;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(64) {
                if self.shared.shards.has_ready_hint() {
                    self.spin_gate.ran_clean();
                    return true;
                }
                let now = Instant::now();
                if now.duration_since(last_read) >= PREEMPTED_GAP {
                    // Off the CPU in between: the machine is oversubscribed.
                    trace!("worker {}: spin preempted, sleeping instead", self.index);
                    self.spin_gate.preempted(now);
                    return false;
                }
                if now.duration_since(start) >= self.tuning.idle_spin {
                    self.spin_gate.ran_clean();
                    return false;
                }
                last_read = now;
            }
            std::hint::spin_loop();
        }
    }

    /// Blocks until I/O completes, the next timer expires, or another thread
    /// wakes this worker.
    fn sleep(&mut self) -> Result<(), Error> {
        self.handle.sleeping.swap(true, Ordering::AcqRel);
        // Control messages and wake-ups that came in before the flag was set.
        // A control message runs with the flag cleared: it may run for long
        // (a function from `run_on_workers`), and a waker that takes this
        // worker for a sleeping one wakes it instead of another worker, so
        // thread-safe processes it makes ready would wait for it
        // (rt/tests/thread_safe_shards.rs saw this now and then).
        if let Ok(control) = self.control.try_recv() {
            self.handle.sleeping.store(false, Ordering::Release);
            self.run_control(control);
            return Ok(());
        }
        if let Ok(errand) = self.errands.try_recv() {
            self.handle.sleeping.store(false, Ordering::Release);
            self.run_errand(errand);
            return Ok(());
        }
        if self.has_work() {
            self.handle.sleeping.store(false, Ordering::Release);
            return Ok(());
        }
        self.local.scheduler.borrow_mut().shrink_if_idle();
        let timeout = self.next_timeout();
        trace!("worker {} sleeping (timeout {timeout:?})", self.index);
        let start = self.tracing.then(|| {
            crate::runtime::trace::idle();
            Instant::now()
        });
        let result = self.poll_ring(timeout);
        self.handle.sleeping.store(false, Ordering::Release);
        if let Some(start) = start {
            crate::runtime::trace::sleep(timeout, start, self.last_ring_poll);
        }
        result
    }

    /// Polls the ring without waiting, if this busy worker has I/O pending
    /// and has not polled for `io_poll_interval` (see
    /// [`io`](crate::runtime::io::uring) for why not more often).
    fn poll_ring_if_due(&mut self) -> Result<(), Error> {
        // The cheap check first: this runs after every turn of the loop.
        if !io::io_work_on_this_thread() {
            return Ok(());
        }
        if self.last_ring_poll.elapsed() < self.tuning.io_poll_interval {
            return Ok(());
        }
        trace!("worker {} polling its ring while busy", self.index);
        let start = self.tracing.then(Instant::now);
        let result = self.poll_ring(Some(Duration::ZERO));
        if let Some(start) = start {
            crate::runtime::trace::ring_poll(start, self.last_ring_poll);
        }
        result
    }

    /// Processes completed I/O, waiting at most `timeout` for some.
    fn poll_ring(&mut self, timeout: Option<Duration>) -> Result<(), Error> {
        let result = self.thread.io().poll(timeout);
        self.last_ring_poll = Instant::now();
        match result {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => Ok(()),
            Err(err) => {
                error!("worker {} failed to poll its ring: {err}", self.index);
                Err(Error::worker(self.index, err))
            }
        }
    }

    /// Publishes this worker's metrics at the end of a turn that started at
    /// `now` (see `metrics`).
    fn publish(&mut self, now: Instant) {
        self.counters.turns += 1;
        let internals = &*self.local;
        let scheduler = internals.scheduler.borrow();
        let timers = internals.timers.borrow();
        let snapshot = Snapshot {
            counters: &self.counters,
            local: &internals.counters,
            processes: scheduler.len(),
            ready: scheduler.ready_len(),
            timers_pending: timers.len(),
            next_timer: timers.next_deadline(),
            now,
        };
        self.handle.metrics.publish(&self.shared.metrics, &snapshot);
    }

    /// How long to sleep at most: until the first timer, local or shared.
    fn next_timeout(&self) -> Option<Duration> {
        let local = self.local.timers.borrow().next_deadline();
        let shared = self.shared.timers().next_deadline();
        let next = match (local, shared) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }?;
        Some(next.saturating_duration_since(Instant::now()))
    }

    /// Drops what is left (normally nothing) on this worker.
    fn shutdown(&mut self) {
        let processes = self.local.scheduler.borrow_mut().drain();
        for process in processes {
            drop_process(process);
        }
    }
}

/// A worker that stops, also when its loop panics or fails, no longer
/// counts as having local work, so the other workers can stop.
impl Drop for Worker {
    fn drop(&mut self) {
        self.local.end_local_work();
    }
}
