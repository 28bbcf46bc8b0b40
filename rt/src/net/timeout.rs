//! Read and write timeouts of stream sockets: the [`Timeouts`] a stream
//! keeps, and [`Timed`], the future every one of its operations goes
//! through.
//!
//! # Why set once, on the stream
//!
//! A [`Deadline`](crate::timer::Deadline) around each call works, but a
//! server must remember it on *every* call: a deadline on `recv` alone
//! lets a client that sends and never reads hold its connection for ever
//! (its `send_all` waits for ever once the socket buffers are full), and
//! keeps the server from stopping. A timeout set once on the stream (by
//! [`Server`](crate::net::Server) for every connection it accepts) cannot
//! be forgotten on one call.
//!
//! # Which timers
//!
//! A stream has no runtime access of its own (it is `Send`, its operations
//! are plain futures), so a timed operation finds its timers through the
//! thread that polls it ([`Context::timers`](crate::runtime::context::Context::timers)): on the worker whose
//! ring (or poll instance) the stream uses (a thread-local actor's stream, the normal case)
//! the worker's own timing wheel, with no lock; anywhere else (a
//! thread-safe actor's stream, a synchronous actor) the runtime's shared
//! timers. A thread-safe process that registered on a worker's wheel and
//! is polled again on another worker can't reach that wheel: it registers
//! on the shared timers instead, and the first entry fires at its deadline
//! as a spurious wake-up and is freed (a token is only ever used on the
//! wheel that issued it). Polled outside a kiln-rt thread, a timed
//! operation fails with [`io::ErrorKind::Unsupported`].
//!
//! # Cost
//!
//! With no timeout set, a poll costs one branch more. With one, a poll
//! that waits reads the clock, and an operation that waits adds one timer
//! (O(1), see [`TimingWheel`](crate::runtime::timers::TimingWheel)) that is removed
//! when it completes; an operation that completes on its first poll adds
//! none.
//!
//! # Cancel safety
//!
//! A timed-out operation ends like one dropped under a `Deadline`: its
//! a10 future is dropped with the `Timed` future, which cancels it, and the
//! buffer stays with a10 until the kernel is done with it (see
//! [`io`](crate::io), "Buffers are passed by value"). The buffer is not
//! handed back, and bytes the kernel received just before the cancellation
//! are lost: after a timeout the stream is out of step, and the connection
//! should be closed.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{self, Poll, Waker};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::runtime::context::{self, ThreadTimers};
use crate::runtime::io::fd::IoFd;
use crate::runtime::timers::{TimerToken, Timers};
use crate::timer::add_or_far;

/// Which of a stream's timeouts applies to an operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Receiving (`recv`, `peek`, ...).
    Read,
    /// Sending (`send`, `send_all`, `send_file`, ...).
    Write,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Read => "read",
            Direction::Write => "write",
        })
    }
}

/// A stream's read and write timeouts; none at first.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Timeouts {
    read: Option<Duration>,
    write: Option<Duration>,
}

impl Timeouts {
    /// No timeouts.
    pub(crate) const NONE: Timeouts = Timeouts {
        read: None,
        write: None,
    };

    /// The timeout of `direction`.
    pub(crate) const fn get(&self, direction: Direction) -> Option<Duration> {
        match direction {
            Direction::Read => self.read,
            Direction::Write => self.write,
        }
    }

    /// Sets the timeout of `direction`; a zero timeout is refused (it
    /// would fail every operation), as std's sockets do.
    pub(crate) fn set(
        &mut self,
        direction: Direction,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {direction} timeout of zero would fail every operation: \
                     use `None` for no timeout"
                ),
            ));
        }
        match direction {
            Direction::Read => self.read = timeout,
            Direction::Write => self.write = timeout,
        }
        Ok(())
    }

    /// `future`, an operation in `direction` on the stream `fd`, under
    /// the timeout of `direction`.
    pub(crate) fn wrap<'r, F>(
        &self,
        direction: Direction,
        fd: &'r IoFd,
        future: F,
    ) -> Timed<'r, F> {
        Timed {
            future,
            fd,
            limit: self.get(direction).map(|timeout| (timeout, direction)),
            deadline: None,
            timer: None,
        }
    }
}

pin_project! {
    /// An operation of a stream under its read or write timeout, see the
    /// [module docs](self).
    #[must_use = "futures do nothing unless polled"]
    pub(crate) struct Timed<'r, F> {
        #[pin]
        future: F,
        // The stream's descriptor: its ring or poll decides which timers to
        // use.
        fd: &'r IoFd,
        // The timeout and what it is for; `None`: no timeout.
        limit: Option<(Duration, Direction)>,
        // Set on the first poll with a limit.
        deadline: Option<Instant>,
        // While the operation waits.
        timer: Option<Registration>,
    }

    impl<'r, F> PinnedDrop for Timed<'r, F> {
        fn drop(this: Pin<&mut Self>) {
            // Before the operation is dropped (and cancelled).
            let this = this.project();
            if let Some(timer) = this.timer.take() {
                timer.remove(this.fd);
            }
        }
    }
}

impl<F, T> Future for Timed<'_, F>
where
    F: Future<Output = io::Result<T>>,
{
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<io::Result<T>> {
        let this = self.project();
        let Some((timeout, direction)) = *this.limit else {
            return this.future.poll(cx);
        };
        // The operation first: one that is done when the deadline passes
        // still returns its result.
        if let Poll::Ready(result) = this.future.poll(cx) {
            if let Some(timer) = this.timer.take() {
                timer.remove(this.fd);
            }
            return Poll::Ready(result);
        }
        let now = Instant::now();
        let deadline = *this
            .deadline
            .get_or_insert_with(|| add_or_far(now, timeout));
        if now >= deadline {
            if let Some(timer) = this.timer.take() {
                timer.remove(this.fd);
            }
            return Poll::Ready(Err(timed_out(direction, timeout)));
        }
        match this.timer {
            Some(timer) if timer.update(this.fd, cx.waker()) => {}
            // Not registered yet, or on a wheel this thread can't reach.
            _ => match Registration::add(this.fd, deadline, cx.waker()) {
                Ok(timer) => *this.timer = Some(timer),
                Err(err) => return Poll::Ready(Err(err)),
            },
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for Timed<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timed")
            .field("limit", &self.limit)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// The error of an operation whose `direction` timeout passed.
fn timed_out(direction: Direction, timeout: Duration) -> io::Error {
    let why = match direction {
        Direction::Read => "nothing was received",
        Direction::Write => "the peer did not take the bytes (is it reading?)",
    };
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("the {direction} timeout of the socket ({timeout:?}) passed: {why}"),
    )
}

/// A timer of a waiting [`Timed`] operation, and the timers it is in.
struct Registration {
    home: Home,
    token: TimerToken,
}

/// The timers a [`Registration`] is in.
enum Home {
    /// The timing wheel of the worker whose ring or poll the stream uses; only
    /// that worker's thread reaches it.
    Worker,
    /// The runtime's shared timers.
    Shared(Arc<dyn Timers + Send + Sync>),
}

/// This thread's worker's timers if `fd` is on that worker's ring or poll.
fn worker_timers<'t>(timers: &'t ThreadTimers, fd: &IoFd) -> Option<&'t dyn Timers> {
    match &timers.worker {
        Some((id, worker)) if fd.is_on(id) => Some(&**worker),
        _ => None,
    }
}

/// Runs `f` with this thread's timers (`None` off the runtime's threads).
/// The borrow is held while `f` runs: only the guards that set and take the
/// timers borrow them mutably, and they run no timed operation.
fn with_timers<R>(f: impl FnOnce(Option<&ThreadTimers>) -> R) -> R {
    let mut f = Some(f);
    let mut call = |timers: Option<&ThreadTimers>| (f.take().expect("`f` is called once"))(timers);
    let result = context::try_with(|cx| {
        cx.timers
            .try_borrow()
            .ok()
            .map(|timers| call(timers.as_ref()))
    });
    match result.flatten() {
        Some(result) => result,
        // The thread is exiting, or its timers are being set or taken.
        None => call(None),
    }
}

impl Registration {
    /// Adds a timer waking `waker` at `deadline`, see the module docs for
    /// where.
    fn add(fd: &IoFd, deadline: Instant, waker: &Waker) -> io::Result<Registration> {
        with_timers(|timers| {
            let Some(timers) = timers else {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "a socket's read and write timeouts work only in a kiln-rt thread (an actor \
                     or future on a worker, or a synchronous actor): poll its operations there, \
                     or set no timeout",
                ));
            };
            Ok(match worker_timers(timers, fd) {
                Some(worker) => Registration {
                    home: Home::Worker,
                    token: worker.add_timer(deadline, waker.clone()),
                },
                None => Registration {
                    token: timers.shared.add_timer(deadline, waker.clone()),
                    home: Home::Shared(timers.shared.clone()),
                },
            })
        })
    }

    /// Makes the timer wake `waker`; `false` if it can't (it fired, or it
    /// is in a worker's wheel this thread can't reach).
    fn update(&self, fd: &IoFd, waker: &Waker) -> bool {
        match &self.home {
            Home::Shared(shared) => shared.update_timer(self.token, waker),
            Home::Worker => with_timers(|timers| {
                timers
                    .and_then(|timers| worker_timers(timers, fd))
                    .is_some_and(|worker| worker.update_timer(self.token, waker))
            }),
        }
    }

    /// Removes the timer; one in a worker's wheel this thread can't reach
    /// is left to fire (a spurious wake-up) and be freed then.
    fn remove(self, fd: &IoFd) {
        match self.home {
            Home::Shared(shared) => shared.remove_timer(self.token),
            Home::Worker => with_timers(|timers| {
                if let Some(worker) = timers.and_then(|timers| worker_timers(timers, fd)) {
                    worker.remove_timer(self.token);
                }
            }),
        }
    }
}
