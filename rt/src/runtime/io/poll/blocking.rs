//! The blocking pool: threads that run the system calls epoll can't wait
//! for, so that an actor's file I/O never blocks its worker on the poll
//! driver. What tokio does for its files.
//!
//! # Why
//!
//! epoll refuses regular files (`epoll_ctl` fails with `EPERM`): they are
//! always "ready", and a read that has to go to the disk blocks the thread
//! in the kernel. So on the poll driver every file operation (opening,
//! reading, writing, syncing, the directory operations) and standard
//! streams that turn out to be regular files (`< input.txt`) run on these
//! threads, and complete a future the actor waits on ([`run`]).
//!
//! # The pool
//!
//! One pool per process, started on first use: at most [`MAX_THREADS`]
//! threads named `kiln-blocking`, made when a job finds no idle thread, and
//! ended after [`IDLE_TIMEOUT`] without work. Jobs queue up (first in,
//! first out) while all threads are busy. A job is a closure that owns all
//! it needs (the descriptor, the buffer), so it never points into an
//! actor's memory.
//!
//! # Dropping
//!
//! Dropping the future of a job that has not started yet takes it out: it
//! never runs. A job that started runs to its end (a system call can't be
//! taken back), and its result, the buffer included, is dropped on the pool
//! thread: a dropped read may have read bytes, and moved the file's
//! position, for no one, as a dropped operation on io_uring may have (see
//! [`io`](crate::io)).

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{self, Poll, Waker};
use std::thread;
use std::time::Duration;

use log::warn;

use crate::runtime::lock::lock;

/// The most threads the pool runs at once.
pub(crate) const MAX_THREADS: usize = 64;
/// How long a thread of the pool waits for work before it ends.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The process's pool, see the [module docs](self).
static POOL: Pool = Pool::new(MAX_THREADS, IDLE_TIMEOUT);

/// Runs `job` on the blocking pool; the future returns its result.
pub(crate) fn run<T, F>(job: F) -> Blocking<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    POOL.run(job)
}

/// A pool of threads for blocking jobs, see the [module docs](self).
pub(crate) struct Pool {
    state: Mutex<PoolState>,
    /// Signalled when a job is queued.
    work: Condvar,
    max_threads: usize,
    idle_timeout: Duration,
}

struct PoolState {
    jobs: VecDeque<Job>,
    /// Threads running (working or idle).
    threads: usize,
    /// Threads waiting for a job.
    idle: usize,
}

/// A queued job: runs it (`None`), or fails it without running it
/// (`Some(error)`, when no thread could be started).
type Job = Box<dyn FnOnce(Option<io::Error>) + Send>;

impl Pool {
    pub(crate) const fn new(max_threads: usize, idle_timeout: Duration) -> Pool {
        Pool {
            state: Mutex::new(PoolState {
                jobs: VecDeque::new(),
                threads: 0,
                idle: 0,
            }),
            work: Condvar::new(),
            max_threads,
            idle_timeout,
        }
    }

    /// Runs `job` on this pool; the future returns its result.
    pub(crate) fn run<T, F>(&'static self, job: F) -> Blocking<T>
    where
        F: FnOnce() -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot {
            result: None,
            waker: None,
            dropped: false,
        }));
        let job_slot = slot.clone();
        self.queue(Box::new(move |failed: Option<io::Error>| {
            if lock(&job_slot).dropped {
                return; // Dropped before it started: never runs.
            }
            let result = match failed {
                Some(err) => Err(err),
                None => panic::catch_unwind(AssertUnwindSafe(job))
                    .unwrap_or_else(|panic| Err(panicked(&*panic))),
            };
            let mut slot = lock(&job_slot);
            if slot.dropped {
                drop(slot);
                drop(result); // Outside the lock: it may hold a buffer.
                return;
            }
            slot.result = Some(result);
            let waker = slot.waker.take();
            drop(slot);
            if let Some(waker) = waker {
                waker.wake();
            }
        }));
        Blocking { slot }
    }

    /// Queues `job` and makes sure a thread will run it.
    fn queue(&'static self, job: Job) {
        let mut state = lock(&self.state);
        state.jobs.push_back(job);
        // Idle threads that were signalled but have not woken yet count as
        // idle: start a thread only if there are more jobs than they.
        let start = state.jobs.len() > state.idle && state.threads < self.max_threads;
        if start {
            state.threads += 1;
        }
        drop(state);
        self.work.notify_one();
        if start {
            let spawned = thread::Builder::new()
                .name("kiln-blocking".to_owned())
                .spawn(move || self.serve());
            if let Err(err) = spawned {
                self.no_thread(&err);
            }
        }
    }

    /// A thread could not be started: if no thread is left to run the
    /// queued jobs, fails them.
    #[cold]
    fn no_thread(&self, err: &io::Error) {
        let mut state = lock(&self.state);
        state.threads -= 1;
        let jobs = if state.threads == 0 {
            std::mem::take(&mut state.jobs)
        } else {
            VecDeque::new()
        };
        drop(state);
        warn!("can't start a thread for blocking I/O: {err}");
        for job in jobs {
            job(Some(io::Error::new(
                err.kind(),
                format!("can't start a thread for blocking I/O: {err}"),
            )));
        }
    }

    /// A thread of the pool: runs jobs until none came for the idle time.
    fn serve(&self) {
        let mut state = lock(&self.state);
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                job(None);
                state = lock(&self.state);
                continue;
            }
            state.idle += 1;
            let (next, wait) = self
                .work
                .wait_timeout(state, self.idle_timeout)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state = next;
            state.idle -= 1;
            if wait.timed_out() && state.jobs.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }

    /// Threads running and idle, for tests.
    #[cfg(test)]
    fn threads(&self) -> (usize, usize) {
        let state = lock(&self.state);
        (state.threads, state.idle)
    }
}

/// The result of a job: what the future waits for.
struct Slot<T> {
    result: Option<io::Result<T>>,
    waker: Option<Waker>,
    /// The future was dropped.
    dropped: bool,
}

/// The future of a job on the blocking pool, see [`run`].
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Blocking<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Future for Blocking<T> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<io::Result<T>> {
        let mut slot = lock(&self.slot);
        if let Some(result) = slot.result.take() {
            return Poll::Ready(result);
        }
        match &slot.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => slot.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Blocking<T> {
    fn drop(&mut self) {
        let mut slot = lock(&self.slot);
        slot.dropped = true;
        slot.waker = None;
        let result = slot.result.take();
        drop(slot);
        drop(result);
    }
}

impl<T> std::fmt::Debug for Blocking<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blocking")
    }
}

/// The error of a job that panicked.
fn panicked(panic: &(dyn Any + Send)) -> io::Error {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    io::Error::other(format!("a blocking I/O operation panicked: {message}"))
}

#[cfg(test)]
mod tests;
