//! [`PollFd`]: a non-blocking descriptor registered with a poll instance,
//! and [`PollFd::io`], the loop every operation on it goes through.

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
        set_nonblocking(fd.as_fd())?;
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
    /// `direction` in between; `op` also gets what was seen (say, that the
    /// peer closed its side).
    ///
    /// Dropping the future at any point is safe and loses nothing: a call
    /// that would block did nothing.
    pub(crate) async fn io<T>(
        &self,
        direction: Direction,
        mut op: impl FnMut(BorrowedFd<'_>, Seen) -> io::Result<T>,
    ) -> io::Result<T> {
        let mut pending = Pending::new(self.handle());
        poll_fn(|cx| {
            loop {
                let Poll::Ready(seen) = self.registration.poll_ready(direction, cx) else {
                    pending.waiting();
                    return Poll::Pending;
                };
                match op(self.fd.as_fd(), seen) {
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        self.registration.clear(direction, seen);
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    result => return Poll::Ready(result),
                }
            }
        })
        .await
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

/// Counts an operation on a worker's poll as pending (in the thread's
/// context) from its first wait until it ends or is dropped: a busy worker
/// polls its poll instance only while an operation of its thread waits, as
/// with io_uring.
struct Pending {
    worker: bool,
    counted: bool,
}

impl Pending {
    fn new(handle: &PollHandle) -> Pending {
        Pending {
            worker: !handle.is_shared(),
            counted: false,
        }
    }

    fn waiting(&mut self) {
        if self.worker && !self.counted {
            self.counted = true;
            context::with(|cx| cx.io.pending.set(cx.io.pending.get() + 1));
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.counted {
            let _ =
                context::try_with(|cx| cx.io.pending.set(cx.io.pending.get().saturating_sub(1)));
        }
    }
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
