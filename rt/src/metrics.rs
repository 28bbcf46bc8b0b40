//! Metrics: what the runtime is doing, per worker and as a whole, as plain
//! structs ([`RuntimeMetrics`], [`WorkerMetrics`]).
//!
//! Read them with [`Runtime::metrics`](crate::Runtime::metrics), from an
//! actor with [`RuntimeRef::metrics`](crate::RuntimeRef::metrics) (or the
//! same method of [`ThreadSafe`](crate::ThreadSafe) and
//! [`Sync`](crate::Sync)), or send the process SIGUSR2: the coordinator
//! then logs them (at `info` level, target `kiln_rt::metrics`).
//! [`RuntimeMetrics::write_prometheus`] writes them in Prometheus' text
//! format; `Display` writes the lines that SIGUSR2 logs.
//!
//! # How they are counted, and what it costs
//!
//! Counting must not slow the workers down, and a thread-local actor must
//! not touch an atomic. So:
//!
//! - A worker counts in plain integers that only its thread touches: polls,
//!   turns of its loop and expired timers in the worker's own fields, the
//!   thread-local actors alive in a [`Cell`] of its `LocalInternals` (changed
//!   when one is spawned or stops), messages in kiln's thread-local counters
//!   ([`kiln::metrics`]), I/O operations in kiln-rt's (`io::op`).
//! - Once per turn of its loop (a turn runs up to 256 processes) the worker
//!   copies them, with the sizes of its run queue and timing wheel, into its
//!   `Published` block: relaxed stores into atomics that readers on other
//!   threads load. Nothing is counted or stored per message.
//! - Figures of the whole runtime (thread-safe processes, shared timers,
//!   synchronous actors) are read when the metrics are: under the shared
//!   scheduler's and timers' locks, briefly.
//!
//! A worker's figures are therefore as of the end of its last turn. A worker
//! that is sleeping has published everything; one that is running and whose
//! last turn started long ago ([`WorkerMetrics::since_last_turn`]) is stuck
//! in an actor's poll (a trace, see [`trace`](crate::trace), tells which).
//!
//! # What is counted where
//!
//! - **Polls**: runs of a process by the worker: thread-local ones, and the
//!   thread-safe ones this worker ran.
//! - **Messages**: counted by kiln on the thread that sends or receives
//!   ([`kiln::metrics`]). A worker's `messages_sent` are the messages its
//!   actors (thread-local, and thread-safe ones while it ran them), futures
//!   and `run_on_workers` functions put into an inbox; `messages_received`
//!   are the messages actors running on it took out of their inboxes.
//!   Messages sent from other threads (say `main`) or by synchronous actors
//!   are in no worker's count.
//! - **I/O operations**: an operation is *submitted* when its future first
//!   waits for the kernel, *completed* when it returns its result after
//!   that, *cancelled* when it is dropped before; all counted on the thread
//!   that polled it (a thread-safe actor's operation may be submitted on one
//!   worker and completed on another).
//! - **CPU time**: a worker's from `/proc/self/task/<tid>/schedstat`, the
//!   whole process's from `CLOCK_PROCESS_CPUTIME_ID` (all threads, also
//!   those not of the runtime).

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::runtime::shared::RuntimeInternals;

mod prometheus;

/// "No value" in a published `u64` (no pending timer).
const NONE: u64 = u64::MAX;

/// Metrics of the whole runtime; see the [module documentation](self).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// The runtime's name.
    pub name: String,
    /// Time since the runtime was built.
    pub uptime: Duration,
    /// CPU time of the whole process (all its threads), if it can be read.
    pub cpu_time: Option<Duration>,
    /// One entry per worker, in worker order.
    pub workers: Vec<WorkerMetrics>,
    /// Thread-safe actors alive (running, ready or waiting).
    pub thread_safe_actors: u64,
    /// Thread-safe futures alive.
    pub thread_safe_futures: u64,
    /// Thread-safe processes (actors and futures) ready to run.
    pub thread_safe_ready: u64,
    /// Thread-safe processes waiting to be woken (or running right now).
    pub thread_safe_inactive: u64,
    /// Synchronous actors running, each on a thread of its own.
    pub sync_actors: u64,
    /// Timers pending in the shared timing wheel (of thread-safe and
    /// synchronous actors).
    pub shared_timers_pending: u64,
    /// Time until the first shared timer expires (zero if it is due).
    pub shared_next_timer: Option<Duration>,
}

/// Metrics of one worker, as of the end of its last turn; see the
/// [module documentation](self).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// The worker's index.
    pub index: usize,
    /// Running, sleeping in the kernel, or stopped.
    pub state: WorkerState,
    /// Thread-local actors alive on this worker.
    pub thread_local_actors: u64,
    /// Thread-local futures alive on this worker.
    pub thread_local_futures: u64,
    /// Thread-local processes (actors and futures) ready to run.
    pub ready: u64,
    /// Thread-local processes waiting to be woken.
    pub inactive: u64,
    /// Polls of thread-local processes.
    pub polls: u64,
    /// Polls of thread-safe processes on this worker.
    pub thread_safe_polls: u64,
    /// Turns of the worker's loop.
    pub turns: u64,
    /// Messages sent from this worker's thread.
    pub messages_sent: u64,
    /// Messages received by actors while running on this worker.
    pub messages_received: u64,
    /// Timers pending in this worker's timing wheel.
    pub timers_pending: u64,
    /// Timers of this worker's wheel that expired.
    pub timers_expired: u64,
    /// Time until this worker's first timer expires (zero if it is due).
    pub next_timer: Option<Duration>,
    /// I/O operations submitted from this worker's thread.
    pub io_submitted: u64,
    /// I/O operations completed on this worker's thread.
    pub io_completed: u64,
    /// I/O operations cancelled (dropped before they completed) on this
    /// worker's thread.
    pub io_cancelled: u64,
    /// Time since the worker started its last turn (these figures are as
    /// of the end of that turn). A worker that is running, not sleeping,
    /// and whose last turn started long ago is stuck in one poll.
    pub since_last_turn: Duration,
    /// CPU time of the worker's thread, if it can be read.
    pub cpu_time: Option<Duration>,
}

/// What a worker is doing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WorkerState {
    /// Running processes, or about to.
    Running,
    /// Waiting in the kernel for I/O, a timer or a wake-up.
    Sleeping,
    /// Stopped: nothing was left to run.
    Stopped,
}

impl RuntimeMetrics {
    /// Thread-local actors alive on all workers.
    pub fn thread_local_actors(&self) -> u64 {
        self.sum(|w| w.thread_local_actors)
    }

    /// Actors alive, of all three kinds.
    pub fn actors(&self) -> u64 {
        self.thread_local_actors() + self.thread_safe_actors + self.sync_actors
    }

    /// Polls of all workers, of thread-local and thread-safe processes.
    pub fn polls(&self) -> u64 {
        self.sum(|w| w.polls + w.thread_safe_polls)
    }

    /// Messages sent from all workers.
    pub fn messages_sent(&self) -> u64 {
        self.sum(|w| w.messages_sent)
    }

    /// Messages received on all workers.
    pub fn messages_received(&self) -> u64 {
        self.sum(|w| w.messages_received)
    }

    /// Timers pending, on all workers and shared.
    pub fn timers_pending(&self) -> u64 {
        self.sum(|w| w.timers_pending) + self.shared_timers_pending
    }

    /// Time until the first timer, of any worker or shared, expires.
    pub fn next_timer(&self) -> Option<Duration> {
        self.workers
            .iter()
            .filter_map(|w| w.next_timer)
            .chain(self.shared_next_timer)
            .min()
    }

    /// I/O operations submitted on all workers.
    pub fn io_submitted(&self) -> u64 {
        self.sum(|w| w.io_submitted)
    }

    /// I/O operations completed on all workers.
    pub fn io_completed(&self) -> u64 {
        self.sum(|w| w.io_completed)
    }

    fn sum(&self, f: impl Fn(&WorkerMetrics) -> u64) -> u64 {
        self.workers.iter().map(f).sum()
    }

    /// Writes the metrics in Prometheus' text exposition format (version
    /// 0.0.4), every name prefixed with `kiln_`, per-worker ones labelled
    /// with `worker="<index>"`, all with `runtime="<name>"`.
    pub fn write_prometheus(&self, out: &mut impl fmt::Write) -> fmt::Result {
        prometheus::write(self, out)
    }
}

/// The lines SIGUSR2 logs: one for the runtime, one per worker.
impl fmt::Display for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "runtime '{}': up {:.3?}, cpu {}, actors: {} thread-local, {} thread-safe, {} synchronous; \
             thread-safe: {} ready, {} inactive, {} futures; shared timers: {} (next {})",
            self.name,
            self.uptime,
            OptDuration(self.cpu_time),
            self.thread_local_actors(),
            self.thread_safe_actors,
            self.sync_actors,
            self.thread_safe_ready,
            self.thread_safe_inactive,
            self.thread_safe_futures,
            self.shared_timers_pending,
            OptDuration(self.shared_next_timer),
        )?;
        for worker in &self.workers {
            write!(f, "\n{worker}")?;
        }
        Ok(())
    }
}

impl fmt::Display for WorkerMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "worker {}: {}, last turn started {:.3?} ago, cpu {}; {} actors, {} futures ({} ready, {} inactive); \
             polls {} (+{} thread-safe) in {} turns; messages {} sent, {} received; \
             timers {} pending (next {}), {} expired; I/O {} submitted, {} completed, {} cancelled",
            self.index,
            self.state,
            self.since_last_turn,
            OptDuration(self.cpu_time),
            self.thread_local_actors,
            self.thread_local_futures,
            self.ready,
            self.inactive,
            self.polls,
            self.thread_safe_polls,
            self.turns,
            self.messages_sent,
            self.messages_received,
            self.timers_pending,
            OptDuration(self.next_timer),
            self.timers_expired,
            self.io_submitted,
            self.io_completed,
            self.io_cancelled,
        )
    }
}

impl fmt::Display for WorkerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkerState::Running => "running",
            WorkerState::Sleeping => "sleeping",
            WorkerState::Stopped => "stopped",
        })
    }
}

/// Formats an optional duration, `-` for none.
struct OptDuration(Option<Duration>);

impl fmt::Display for OptDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(duration) => write!(f, "{duration:.3?}"),
            None => f.write_str("-"),
        }
    }
}

/// Runtime-wide counters, in `RuntimeInternals`.
#[derive(Debug)]
pub(crate) struct RuntimeCounters {
    /// When the runtime was built: uptime, and the origin of the published
    /// times.
    pub(crate) created: Instant,
    /// Thread-safe actors alive; changed when one is spawned or stops.
    thread_safe_actors: AtomicU64,
}

impl RuntimeCounters {
    pub(crate) fn new() -> RuntimeCounters {
        RuntimeCounters {
            created: Instant::now(),
            thread_safe_actors: AtomicU64::new(0),
        }
    }

    /// A thread-safe actor was spawned.
    pub(crate) fn thread_safe_actor_spawned(&self) {
        self.thread_safe_actors.fetch_add(1, Ordering::Relaxed);
    }

    /// A thread-safe actor stopped.
    pub(crate) fn thread_safe_actor_stopped(&self) {
        self.thread_safe_actors.fetch_sub(1, Ordering::Relaxed);
    }

    /// Nanoseconds from `created` to `time` (0 before it).
    fn nanos(&self, time: Instant) -> u64 {
        nanos(time.saturating_duration_since(self.created))
    }
}

/// Counters of a worker that its `RuntimeRef` changes (`LocalInternals`).
#[derive(Debug, Default)]
pub(crate) struct LocalCounters {
    /// Thread-local actors alive.
    actors: Cell<u64>,
}

impl LocalCounters {
    /// A thread-local actor was spawned.
    pub(crate) fn actor_spawned(&self) {
        self.actors.set(self.actors.get() + 1);
    }

    /// A thread-local actor stopped.
    pub(crate) fn actor_stopped(&self) {
        self.actors.set(self.actors.get().saturating_sub(1));
    }
}

/// Counters only the worker's loop changes (fields of `Worker`).
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    pub(crate) polls: u64,
    pub(crate) thread_safe_polls: u64,
    pub(crate) turns: u64,
    pub(crate) timers_expired: u64,
}

/// What a worker publishes once per turn for other threads to read; in its
/// `WorkerHandle`. Every access is `Relaxed`: the figures are independent
/// counters, nothing is synchronised through them.
#[derive(Debug)]
pub(crate) struct Published {
    stopped: AtomicBool,
    /// The worker thread's id (`gettid`), for its CPU time; 0 until it runs.
    tid: AtomicU64,
    actors: AtomicU64,
    processes: AtomicU64,
    ready: AtomicU64,
    polls: AtomicU64,
    thread_safe_polls: AtomicU64,
    turns: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    timers_pending: AtomicU64,
    timers_expired: AtomicU64,
    /// Nanoseconds from `RuntimeCounters::created`, or `NONE`.
    next_timer: AtomicU64,
    io_submitted: AtomicU64,
    io_completed: AtomicU64,
    io_cancelled: AtomicU64,
    /// Nanoseconds from `RuntimeCounters::created` to the start of the last
    /// turn.
    last_turn: AtomicU64,
}

/// What a worker's loop hands to [`Published::publish`].
pub(crate) struct Snapshot<'a> {
    pub(crate) counters: &'a WorkerCounters,
    pub(crate) local: &'a LocalCounters,
    /// Thread-local processes alive, and ready.
    pub(crate) processes: usize,
    pub(crate) ready: usize,
    pub(crate) timers_pending: usize,
    pub(crate) next_timer: Option<Instant>,
    pub(crate) now: Instant,
}

impl Published {
    pub(crate) const fn new() -> Published {
        Published {
            stopped: AtomicBool::new(false),
            tid: AtomicU64::new(0),
            actors: AtomicU64::new(0),
            processes: AtomicU64::new(0),
            ready: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            thread_safe_polls: AtomicU64::new(0),
            turns: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            timers_pending: AtomicU64::new(0),
            timers_expired: AtomicU64::new(0),
            next_timer: AtomicU64::new(NONE),
            io_submitted: AtomicU64::new(0),
            io_completed: AtomicU64::new(0),
            io_cancelled: AtomicU64::new(0),
            last_turn: AtomicU64::new(0),
        }
    }

    /// Called on the worker's thread when it starts.
    pub(crate) fn started(&self) {
        // SAFETY: `gettid` has no preconditions and cannot fail.
        let tid = unsafe { libc::gettid() };
        self.tid
            .store(u64::try_from(tid).unwrap_or(0), Ordering::Relaxed);
    }

    /// Called on the worker's thread when it stops.
    pub(crate) fn stopped(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// Publishes the worker's figures; called on the worker's thread once per
    /// turn.
    pub(crate) fn publish(&self, runtime: &RuntimeCounters, s: &Snapshot<'_>) {
        let store = |atomic: &AtomicU64, value: u64| atomic.store(value, Ordering::Relaxed);
        let (submitted, completed, cancelled) = crate::runtime::io::io_counts();
        store(&self.actors, s.local.actors.get());
        store(&self.processes, s.processes as u64);
        store(&self.ready, s.ready as u64);
        store(&self.polls, s.counters.polls);
        store(&self.thread_safe_polls, s.counters.thread_safe_polls);
        store(&self.turns, s.counters.turns);
        store(&self.sent, kiln::metrics::messages_sent());
        store(&self.received, kiln::metrics::messages_received());
        store(&self.timers_pending, s.timers_pending as u64);
        store(&self.timers_expired, s.counters.timers_expired);
        store(
            &self.next_timer,
            s.next_timer.map_or(NONE, |next| runtime.nanos(next)),
        );
        store(&self.io_submitted, submitted);
        store(&self.io_completed, completed);
        store(&self.io_cancelled, cancelled);
        store(&self.last_turn, runtime.nanos(s.now));
    }

    /// Reads what worker `index` published.
    fn read(&self, index: usize, sleeping: bool, now: u64) -> WorkerMetrics {
        let load = |atomic: &AtomicU64| atomic.load(Ordering::Relaxed);
        let state = if self.stopped.load(Ordering::Relaxed) {
            WorkerState::Stopped
        } else if sleeping {
            WorkerState::Sleeping
        } else {
            WorkerState::Running
        };
        let actors = load(&self.actors);
        let processes = load(&self.processes);
        let ready = load(&self.ready);
        let next_timer = match load(&self.next_timer) {
            NONE => None,
            next => Some(Duration::from_nanos(next.saturating_sub(now))),
        };
        let tid = load(&self.tid);
        let cpu_time = if state == WorkerState::Stopped || tid == 0 {
            None
        } else {
            thread_cpu_time(tid)
        };
        WorkerMetrics {
            index,
            state,
            thread_local_actors: actors,
            thread_local_futures: processes.saturating_sub(actors),
            ready,
            inactive: processes.saturating_sub(ready),
            polls: load(&self.polls),
            thread_safe_polls: load(&self.thread_safe_polls),
            turns: load(&self.turns),
            messages_sent: load(&self.sent),
            messages_received: load(&self.received),
            timers_pending: load(&self.timers_pending),
            timers_expired: load(&self.timers_expired),
            next_timer,
            io_submitted: load(&self.io_submitted),
            io_completed: load(&self.io_completed),
            io_cancelled: load(&self.io_cancelled),
            since_last_turn: Duration::from_nanos(now.saturating_sub(load(&self.last_turn))),
            cpu_time,
        }
    }
}

/// Reads the metrics of the runtime of `internals`.
pub(crate) fn collect(internals: &RuntimeInternals) -> RuntimeMetrics {
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
        uptime: now_instant.saturating_duration_since(runtime.created),
        cpu_time: process_cpu_time(),
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

/// Nanoseconds in `duration`, saturating.
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX - 1)
}

/// The CPU time of thread `tid` of this process: the first field of its
/// `schedstat` (nanoseconds on a CPU), or `utime + stime` of its `stat`.
fn thread_cpu_time(tid: u64) -> Option<Duration> {
    if let Ok(schedstat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")) {
        let nanos = schedstat.split_whitespace().next()?.parse().ok()?;
        return Some(Duration::from_nanos(nanos));
    }
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The fields after the command name (which is in parentheses and may hold
    // spaces): utime and stime are the 12th and 13th of them.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: `sysconf` has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|&t| t > 0)?;
    Some(Duration::from_nanos(
        (utime + stime).saturating_mul(1_000_000_000) / ticks,
    ))
}

/// The CPU time of the whole process.
fn process_cpu_time() -> Option<Duration> {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid `timespec` to write to.
    let res = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &raw mut time) };
    if res != 0 {
        return None;
    }
    let secs = u64::try_from(time.tv_sec).ok()?;
    let nanos = u32::try_from(time.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}
