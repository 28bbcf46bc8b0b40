//! The trace recorder: each runtime thread appends fixed-size records to a
//! buffer of its own and writes it to the runtime's trace file in chunks.
//! What is recorded, what it costs, and the public side (user events,
//! reading a trace) are in [`trace`](crate::trace); the file format is in
//! [`format`](crate::trace::format). A thread's log ([`log`]) lives in its
//! [context](crate::runtime::context); the file ([`file`]) is shared.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::io::driver::IoDriver;
use crate::runtime::context;
use crate::runtime::wake::{ProcessId, WakerId};
use crate::trace::RunEnd;
use crate::trace::format::{self, Record};

pub(crate) mod file;
pub(crate) mod log;

pub(crate) use file::TraceFile;
pub(crate) use log::{Attribute, Thread};
use log::{IDLE_FLUSH, ThreadLog};

/// Whether this thread records a trace.
pub(crate) fn is_recording() -> bool {
    context::with(|cx| cx.trace_log.borrow().is_some())
}

/// Records a user event of the actor running on this thread, if it records.
pub(crate) fn user_event(
    start: Instant,
    end: Instant,
    description: &str,
    attributes: &[(&str, Attribute<'_>)],
) {
    let actor = context::with(|cx| cx.trace_actor.get());
    with_log(|log| log.user_event(actor, start, end, description, attributes));
}

/// Runs `f` with this thread's recording, if it records.
fn with_log(f: impl FnOnce(&mut ThreadLog)) {
    context::with(|cx| {
        // Never re-entered: nothing called with the log borrowed calls back
        // into this module.
        if let Ok(mut log) = cx.trace_log.try_borrow_mut()
            && let Some(log) = log.as_mut()
        {
            f(log);
        }
    });
}

/// Makes this thread record into `file`: its events go into a stream of
/// their own, named `name`.
pub(crate) fn start_thread(file: &Arc<TraceFile>, thread: Thread, name: &str, driver: IoDriver) {
    let log = ThreadLog::new(file, thread, name, driver);
    context::with(|cx| *cx.trace_log.borrow_mut() = Some(log));
}

/// Stops recording on this thread (see [`finish_thread`]) when dropped.
pub(crate) struct StopRecording;

impl Drop for StopRecording {
    fn drop(&mut self) {
        finish_thread();
    }
}

/// Writes what this thread recorded and stops recording on it.
pub(crate) fn finish_thread() {
    let log = context::try_with(|cx| {
        cx.trace_actor.set(0);
        cx.trace_log.borrow_mut().take()
    });
    drop(log); // Flushes.
}

/// The id of process `pid` of the scheduler with waker id `scheduler`
/// (never zero, which means no actor).
pub(crate) fn actor_id(scheduler: WakerId, pid: ProcessId) -> u64 {
    ((u64::from(scheduler) + 1) << 48) | (u64::from(pid.generation) << 32) | u64::from(pid.index)
}

/// A synchronous actor named `name` runs on this thread: gives it an id
/// (zero in the scheduler bits, then a count from 1).
pub(crate) fn sync_actor(name: &str) {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let actor = u64::from(NEXT.fetch_add(1, Ordering::Relaxed));
    context::with(|cx| cx.trace_actor.set(actor));
    with_log(|log| {
        let name = log.intern(name);
        log.push(Record {
            c: name,
            d: actor,
            ..Record::new(format::ACTOR)
        });
    });
}

/// Process `actor` is about to run on this thread.
#[inline]
pub(crate) fn poll_start(actor: u64) {
    context::with(|cx| cx.trace_actor.set(actor));
}

/// The process of the last `poll_start`, named by `name`, ran from `start`
/// to `end`.
pub(crate) fn poll_end(
    name: fn() -> &'static str,
    thread_safe: bool,
    done: bool,
    start: Instant,
    end: Instant,
) {
    let actor = context::with(|cx| cx.trace_actor.replace(0));
    with_log(|log| {
        let name = log.intern_name(name);
        let record = Record {
            a: u8::from(thread_safe) | (u8::from(done) << 1),
            c: name,
            d: actor,
            start: log.nanos(start),
            end: log.nanos(end),
            ..Record::new(format::POLL)
        };
        log.push(record);
    });
}

/// A batch of runs of thread-local (or thread-safe) processes.
pub(crate) fn run(thread_safe: bool, ended: RunEnd, runs: usize, start: Instant, end: Instant) {
    with_log(|log| {
        let record = Record {
            a: u8::from(thread_safe),
            b: ended as u16,
            c: u32::try_from(runs).unwrap_or(u32::MAX),
            start: log.nanos(start),
            end: log.nanos(end),
            ..Record::new(format::RUN)
        };
        log.push(record);
    });
}

/// The worker spun from `start` to `end`, and found work or not.
pub(crate) fn spin(found: bool, start: Instant, end: Instant) {
    span(format::SPIN, u8::from(found), 0, start, end);
}

/// The worker slept in the kernel.
pub(crate) fn sleep(timeout: Option<Duration>, start: Instant, end: Instant) {
    let timeout = timeout.map_or(u64::MAX, |t| {
        u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)
    });
    span(format::SLEEP, 0, timeout, start, end);
}

/// A busy worker polled its ring.
pub(crate) fn ring_poll(start: Instant, end: Instant) {
    span(format::RING_POLL, 0, 0, start, end);
}

/// `local` and `shared` timers expired at `now`.
pub(crate) fn timers(local: usize, shared: usize, now: Instant) {
    with_log(|log| {
        let now = log.nanos(now);
        log.push(Record {
            c: u32::try_from(local).unwrap_or(u32::MAX),
            d: shared as u64,
            start: now,
            end: now,
            ..Record::new(format::TIMERS)
        });
    });
}

/// The wake-up queue overflowed: every process was woken.
pub(crate) fn wake_all(now: Instant) {
    span(format::WAKE_ALL, 0, 0, now, now);
}

/// Signal `signal` was relayed to `receivers` actors.
pub(crate) fn signal(signal: libc::c_int, receivers: usize) {
    with_log(|log| {
        let now = log.nanos(Instant::now());
        log.push(Record {
            a: u8::try_from(signal).unwrap_or(0),
            c: u32::try_from(receivers).unwrap_or(u32::MAX),
            start: now,
            end: now,
            ..Record::new(format::SIGNAL)
        });
    });
}

/// The worker is about to sleep: writes its buffer if it waited long.
pub(crate) fn idle() {
    with_log(|log| {
        if !log.buf.is_empty() && log.last_flush.elapsed() >= IDLE_FLUSH {
            log.flush();
        }
    });
}

fn span(kind: u8, a: u8, d: u64, start: Instant, end: Instant) {
    with_log(|log| {
        let record = Record {
            a,
            d,
            start: log.nanos(start),
            end: log.nanos(end),
            ..Record::new(kind)
        };
        log.push(record);
    });
}
