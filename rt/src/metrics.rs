//! Metrics: what the runtime is doing, per worker and as a whole, as plain
//! structs ([`RuntimeMetrics`], [`WorkerMetrics`]).
//!
//! Read them with [`Runtime::metrics`](crate::Runtime::metrics), from an
//! actor with [`RuntimeRef::metrics`](crate::RuntimeRef::metrics) (or the
//! same method of [`ThreadSafe`](crate::ThreadSafe) and
//! [`Sync`](crate::access::Sync)), or send the process SIGUSR2: the coordinator
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
//!   thread-local actors alive in a `Cell` of its `LocalInternals` (changed
//!   when one is spawned or stops), messages in kiln's thread-local counters
//!   ([`kiln::metrics`]), I/O operations in kiln-rt's (`runtime/io/op.rs`); the counting and
//!   publishing code is in `runtime/counters.rs`.
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
//!   worker and completed on another). On io_uring every operation waits
//!   for its completion; on the poll driver an operation whose system call
//!   succeeds at once (the data was there) never waits and is not counted.
//! - **CPU time**: a worker's from `/proc/self/task/<tid>/schedstat`, the
//!   whole process's from `CLOCK_PROCESS_CPUTIME_ID` (all threads, also
//!   those not of the runtime).

use std::fmt;
use std::time::Duration;

use crate::io::driver::IoDriver;

mod prometheus;

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
    /// The I/O driver the runtime runs: [`IoDriver::Uring`] or
    /// [`IoDriver::Poll`] (see [`IoDriver`] for how it is chosen).
    pub io_driver: IoDriver,
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
            "runtime '{}': up {:.3?}, cpu {}, I/O driver {}, actors: {} thread-local, {} thread-safe, {} synchronous; \
             thread-safe: {} ready, {} inactive, {} futures; shared timers: {} (next {})",
            self.name,
            self.uptime,
            OptDuration(self.cpu_time),
            self.io_driver,
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
