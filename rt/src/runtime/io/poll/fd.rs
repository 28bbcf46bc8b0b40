//! [`PollFd`]: a non-blocking descriptor registered with a poll instance,
//! and [`PollFd::io`], the loop every operation on it goes through.
//!
//! # A budget
//!
//! On io_uring every operation waits for its completion, so an actor that
//! loops over I/O returns to its worker after each one. On epoll an
//! operation whose data is there completes at once: a server accepting a
//! storm of connections, or a connection reading a fast peer, would run
//! for as long as the kernel has data, and the other actors of its worker
//! would wait (a kiln-stress tcp_abuse storm made thousands of connection
//! actors in one turn of the accepting one). So, as tokio does, operations
//! that complete without waiting count against a budget of [`BUDGET`] per
//! thread: once it is spent, the next operation yields first (wakes its
//! process and returns `Pending`, before its system call, so nothing is
//! lost) and the budget starts again; an operation that waits starts it
//! again too. The count is one thread-local cell, touched only here (the
//! io_uring driver and message passing never pay for it).

use std::cell::Cell;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{self, Poll};

use crate::runtime::context;
use crate::runtime::io::poll::PollHandle;
use crate::runtime::io::poll::readiness::{Direction, Seen};
use crate::runtime::io::poll::registration::Registration;

/// Operations in a row that may complete without waiting before one
/// yields, see the [module docs](self) (tokio's budget is 128 too).
pub(crate) const BUDGET: u32 = 128;

/// A non-blocking descriptor registered with a poll instance.
#[derive(Debug)]
pub(crate) struct PollFd {
    // Before `fd`: deregistered before the descriptor is closed.
    registration: Registration,
    fd: OwnedFd,
    /// Whether this is a stream socket, whose short reads and writes clear
    /// its readiness (see [`PollFd::transfer`]).
    stream: bool,
}

impl PollFd {
    /// Makes `fd` non-blocking and registers it with the poll of `handle`.
    pub(crate) fn new(fd: OwnedFd, handle: &PollHandle) -> io::Result<PollFd> {
        PollFd::try_new(fd, handle).map_err(|(_, err)| err)
    }

    /// Like [`PollFd::new`], but gives the descriptor back with the error.
    pub(crate) fn try_new(
        fd: OwnedFd,
        handle: &PollHandle,
    ) -> Result<PollFd, (OwnedFd, io::Error)> {
        if let Err(err) = set_nonblocking(fd.as_fd()) {
            return Err((fd, err));
        }
        let stream = is_stream_socket(fd.as_fd());
        match Registration::new(handle, fd.as_raw_fd()) {
            Ok(registration) => Ok(PollFd {
                registration,
                fd,
                stream,
            }),
            Err(err) => Err((fd, err)),
        }
    }

    /// Registers `fd`, which is non-blocking already (made with
    /// `SOCK_NONBLOCK`, say), with the poll of `handle`.
    pub(crate) fn new_nonblocking(fd: OwnedFd, handle: &PollHandle) -> io::Result<PollFd> {
        let stream = is_stream_socket(fd.as_fd());
        PollFd::registered(fd, handle, stream)
    }

    /// A connection this listening socket accepted (non-blocking already),
    /// registered with the same poll: a stream socket if this is one.
    pub(crate) fn accepted(&self, fd: OwnedFd) -> io::Result<PollFd> {
        PollFd::registered(fd, self.handle(), self.stream)
    }

    fn registered(fd: OwnedFd, handle: &PollHandle, stream: bool) -> io::Result<PollFd> {
        let registration = Registration::new(handle, fd.as_raw_fd())?;
        Ok(PollFd {
            registration,
            fd,
            stream,
        })
    }

    /// The poll instance the descriptor is registered with.
    pub(crate) const fn handle(&self) -> &PollHandle {
        self.registration.handle()
    }

    /// See [`Registration::poll_ready`].
    pub(crate) fn poll_ready(
        &self,
        direction: Direction,
        cx: &mut task::Context<'_>,
    ) -> Poll<Seen> {
        self.registration.poll_ready(direction, cx)
    }

    /// See [`Registration::clear`].
    pub(crate) fn clear(&self, direction: Direction, seen: Seen) {
        self.registration.clear(direction, seen);
    }

    /// Runs the non-blocking system call `op` until it does not fail with
    /// `EWOULDBLOCK`, waiting for the descriptor to become ready for
    /// `direction` in between.
    ///
    /// Dropping the future at any point is safe and loses nothing: a call
    /// that would block did nothing.
    pub(crate) async fn io<T>(
        &self,
        direction: Direction,
        mut op: impl FnMut(BorrowedFd<'_>) -> io::Result<T>,
    ) -> io::Result<T> {
        let mut pending = Pending::new(self.handle());
        poll_fn(|cx| self.poll_io(direction, cx, &mut pending, &mut op)).await
    }

    /// Runs `op`, a read or write that returns how many bytes it moved and
    /// how many it asked to move, as [`PollFd::io`] does; returns the bytes
    /// moved.
    ///
    /// On a stream socket a short read (some bytes, fewer than asked)
    /// emptied the receive buffer and a short write filled the send buffer,
    /// so the readiness of `direction` is cleared as if the next call had
    /// failed with `EWOULDBLOCK`: the next operation waits for an event
    /// instead of making that call (see [`readiness`](super::readiness)).
    /// An echo server's every request saves a `recv` so. Not on datagram
    /// sockets (a read takes one datagram of many), pipes or terminals (a
    /// terminal's read stops at the end of a line), nor for a peek, which
    /// empties nothing.
    pub(crate) async fn transfer(
        &self,
        direction: Direction,
        mut op: impl FnMut(BorrowedFd<'_>) -> io::Result<(usize, usize)>,
    ) -> io::Result<usize> {
        let stream = self.stream;
        let drained = |&(moved, asked): &(usize, usize)| stream && moved > 0 && moved < asked;
        let mut pending = Pending::new(self.handle());
        poll_fn(|cx| self.poll_io_drained(direction, cx, &mut pending, &mut op, drained))
            .await
            .map(|(moved, _)| moved)
    }

    /// One poll of [`PollFd::io`], for a hand-written future or stream that
    /// keeps its own [`Pending`].
    pub(crate) fn poll_io<T>(
        &self,
        direction: Direction,
        cx: &mut task::Context<'_>,
        pending: &mut Pending,
        op: impl FnMut(BorrowedFd<'_>) -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
        self.poll_io_drained(direction, cx, pending, op, |_| false)
    }

    /// [`PollFd::poll_io`], which also clears the readable or writable bit
    /// after a result that `drained` says emptied or filled the kernel's
    /// buffer (see [`PollFd::transfer`]).
    fn poll_io_drained<T>(
        &self,
        direction: Direction,
        cx: &mut task::Context<'_>,
        pending: &mut Pending,
        mut op: impl FnMut(BorrowedFd<'_>) -> io::Result<T>,
        drained: impl Fn(&T) -> bool,
    ) -> Poll<io::Result<T>> {
        if !pending.waiting && budget_spent() {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        loop {
            let Poll::Ready(seen) = self.registration.poll_ready(direction, cx) else {
                pending.waiting();
                return Poll::Pending;
            };
            match op(self.fd.as_fd()) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.registration.clear(direction, seen);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                result => {
                    if let Ok(value) = &result
                        && drained(value)
                    {
                        self.registration.clear_ready(direction, seen);
                    }
                    pending.done();
                    return Poll::Ready(result);
                }
            }
        }
    }
}

impl AsFd for PollFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for PollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Counts an operation on a poll instance while it waits, in the thread's
/// context, as the io_uring driver counts its operations:
///
/// - on a worker's poll, as *pending* from its first wait until it ends or
///   is dropped: a busy worker polls its poll instance only while an
///   operation of its thread waits;
/// - for the metrics (either poll), as *submitted* when it first waits,
///   *completed* when it returns its result after that, *cancelled* when
///   dropped while waiting.
///
/// An operation that completes without waiting is not counted at all, like
/// a message that never touches the driver.
#[derive(Debug)]
pub(crate) struct Pending {
    worker: bool,
    waiting: bool,
}

impl Pending {
    /// For an operation on the poll of `handle`.
    pub(crate) fn new(handle: &PollHandle) -> Pending {
        Pending {
            worker: !handle.is_shared(),
            waiting: false,
        }
    }

    /// The operation waits for an event.
    fn waiting(&mut self) {
        let _ = context::try_with(|cx| cx.io.ready_streak.set(0));
        if !self.waiting {
            self.waiting = true;
            let worker = self.worker;
            context::with(|cx| {
                increment(&cx.io.submitted);
                if worker {
                    cx.io.pending.set(cx.io.pending.get() + 1);
                }
            });
        }
    }

    /// The operation returned its result (a stream may wait again).
    fn done(&mut self) {
        if self.waiting {
            self.waiting = false;
            let worker = self.worker;
            let _ = context::try_with(|cx| {
                increment(&cx.io.completed);
                if worker {
                    cx.io.pending.set(cx.io.pending.get().saturating_sub(1));
                }
            });
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.waiting {
            let worker = self.worker;
            let _ = context::try_with(|cx| {
                increment(&cx.io.cancelled);
                if worker {
                    cx.io.pending.set(cx.io.pending.get().saturating_sub(1));
                }
            });
        }
    }
}

/// Counts an operation that may complete without waiting: whether the
/// budget is spent (and so starts again), see the [module docs](self).
fn budget_spent() -> bool {
    context::try_with(|cx| {
        let streak = cx.io.ready_streak.get() + 1;
        let spent = streak > BUDGET;
        cx.io.ready_streak.set(if spent { 0 } else { streak });
        spent
    })
    .unwrap_or(false)
}

fn increment(counter: &Cell<u64>) {
    counter.set(counter.get().wrapping_add(1));
}

/// Whether `fd` is a stream socket (`SOCK_STREAM`): one `getsockopt`, which
/// fails for anything that is not a socket.
fn is_stream_socket(fd: BorrowedFd<'_>) -> bool {
    socket2::SockRef::from(&fd)
        .r#type()
        .is_ok_and(|kind| kind == socket2::Type::STREAM)
}

/// Sets `O_NONBLOCK` on `fd`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: `fcntl(F_GETFL)` on a valid descriptor has no other
    // preconditions.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK != 0 {
        return Ok(());
    }
    // SAFETY: as above; the new flags are the old ones plus `O_NONBLOCK`.
    let res = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) };
    if res == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
