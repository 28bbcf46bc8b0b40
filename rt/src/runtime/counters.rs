//! The engine's counters behind [`metrics`](crate::metrics): what workers
//! count in plain integers and what they publish once per turn, which
//! `RuntimeInternals::collect_metrics` reads into a
//! [`RuntimeMetrics`](crate::metrics::RuntimeMetrics). The costs and
//! meaning of each figure are in the `metrics` module's docs.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::metrics::{WorkerMetrics, WorkerState};

/// "No value" in a published `u64` (no pending timer).
const NONE: u64 = u64::MAX;

/// Runtime-wide counters, in `RuntimeInternals`.
#[derive(Debug)]
pub(crate) struct RuntimeCounters {
    /// When the runtime was built: uptime, and the origin of the published
    /// times.
    pub(crate) created: Instant,
    /// Thread-safe actors alive; changed when one is spawned or stops.
    pub(crate) thread_safe_actors: AtomicU64,
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
    pub(crate) fn nanos(&self, time: Instant) -> u64 {
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
    pub(crate) fn read(&self, index: usize, sleeping: bool, now: u64) -> WorkerMetrics {
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
pub(crate) fn process_cpu_time() -> Option<Duration> {
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
