//! [`PollFd`]: a non-blocking descriptor registered with a poll instance,
//! and [`PollFd::io`], the loop every operation on it goes through.

use std::cell::Cell;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{self, Poll};

use crate::runtime::context;
use crate::runtime::io::poll::PollHandle;
use crate::runtime::io::poll::readiness::{Direction, Seen};
use crate::runtime::io::poll::registration::Registration;

/// A non-blocking descriptor registered with a poll instance.
#[derive(Debug)]
pub(crate) struct PollFd {
    // Before `fd`: deregistered before the descriptor is closed.
    registration: Registration,
    fd: OwnedFd,
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
        match Registration::new(handle, fd.as_raw_fd()) {
            Ok(registration) => Ok(PollFd { registration, fd }),
            Err(err) => Err((fd, err)),
        }
    }

    /// Registers `fd`, which is non-blocking already (made with
    /// `SOCK_NONBLOCK`, say), with the poll of `handle`.
    pub(crate) fn new_nonblocking(fd: OwnedFd, handle: &PollHandle) -> io::Result<PollFd> {
        let registration = Registration::new(handle, fd.as_raw_fd())?;
        Ok(PollFd { registration, fd })
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

    /// One poll of [`PollFd::io`], for a hand-written future or stream that
    /// keeps its own [`Pending`].
    pub(crate) fn poll_io<T>(
        &self,
        direction: Direction,
        cx: &mut task::Context<'_>,
        pending: &mut Pending,
        mut op: impl FnMut(BorrowedFd<'_>) -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
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

fn increment(counter: &Cell<u64>) {
    counter.set(counter.get().wrapping_add(1));
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
