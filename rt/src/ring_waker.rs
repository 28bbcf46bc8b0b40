//! [`RingWaker`]: wakes a thread blocked polling its io_uring, from any
//! thread, without entering that ring.
//!
//! # Why not a10's `SubmissionQueue::wake`
//!
//! a10 wakes a ring by queuing a `MSG_RING` on it and entering it *from the
//! calling thread*, which submits every operation queued on that ring so far
//! on that thread's behalf. io_uring runs the completion work of an
//! operation (task work) on the thread that submitted it, and with
//! `IORING_SETUP_COOP_TASKRUN` (a10's default) it does not interrupt that
//! thread: an operation submitted by a thread that then blocks elsewhere (on
//! another ring, on a futex) completes only once that thread enters the
//! kernel again. We saw exactly that: receives of thread-safe actors that
//! never completed.
//!
//! So in kiln-rt **a ring is entered only by the thread that polls it**
//! (a worker its own ring, the coordinator the shared ring). Other threads
//! wake it through an `eventfd` on which the ring keeps a read pending: one
//! `write(2)`, no ring entry. The `woken` flag skips the write while a
//! wake-up is already on its way. (The eventfd is blocking: io_uring fails a
//! read of a non-blocking descriptor with `EAGAIN` instead of waiting.)
//!
//! # Ordering
//!
//! The polling thread calls [`RingWaker::reset`] (a read-modify-write)
//! *before its last check for work* and then enters the kernel; a waker
//! publishes its work (or queues its operation) before [`RingWaker::wake`]
//! (also a read-modify-write). Either the waker's RMW comes after the reset
//! and it writes the eventfd, or it comes before and the polling thread,
//! having reset after it, sees the work in its last check (and submits a
//! queued operation when it enters the kernel). The eventfd's counter keeps
//! a write made before the poll starts.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{self, Poll, Waker};

use a10::{AsyncFd, SubmissionQueue};

/// Wakes the thread polling one ring, see the module docs.
pub(crate) struct RingWaker {
    fd: OwnedFd,
    /// Set once the eventfd was written since the last `reset`.
    woken: AtomicBool,
}

impl RingWaker {
    pub(crate) fn new() -> io::Result<RingWaker> {
        // SAFETY: `eventfd` takes no pointers; we check the result.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `eventfd` returned a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(RingWaker {
            fd,
            woken: AtomicBool::new(false),
        })
    }

    /// Wakes the polling thread (or makes its next poll return at once).
    pub(crate) fn wake(&self) {
        if self.woken.swap(true, Ordering::AcqRel) {
            return; // A wake-up is on its way.
        }
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of `one`, which lives across the call.
        let res = unsafe { libc::write(self.fd.as_raw_fd(), (&raw const one).cast(), 8) };
        if res == -1 {
            // The descriptor is valid and the counter can't overflow (it is
            // read on every wake-up), so this is not expected.
            log::warn!("can't wake a ring: {}", io::Error::last_os_error());
        }
    }

    /// Called by the polling thread before it enters the kernel.
    pub(crate) fn reset(&self) {
        self.woken.swap(false, Ordering::AcqRel);
    }

    /// The read side, for the ring of `sq` (a duplicate of the eventfd).
    pub(crate) fn listener(&self, sq: SubmissionQueue) -> io::Result<WakeListener> {
        Ok(WakeListener {
            fd: AsyncFd::new(self.fd.try_clone()?, sq),
        })
    }
}

impl fmt::Debug for RingWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingWaker")
            .field("fd", &self.fd)
            .field("woken", &self.woken.load(Ordering::Relaxed))
            .finish()
    }
}

/// The polling thread's side of a [`RingWaker`]: an eventfd on its ring.
#[derive(Debug)]
pub(crate) struct WakeListener {
    fd: AsyncFd,
}

impl WakeListener {
    /// A pending read of the eventfd; keep it pinned next to the ring and
    /// [`arm`](WakeRead::arm) it before each poll.
    pub(crate) fn read(&self) -> WakeRead<'_> {
        WakeRead {
            fd: &self.fd,
            read: Box::pin(self.fd.read(Vec::with_capacity(8))),
        }
    }
}

/// A read of the eventfd that completes when the ring is woken.
pub(crate) struct WakeRead<'fd> {
    fd: &'fd AsyncFd,
    read: Pin<Box<a10::io::Read<'fd, Vec<u8>>>>,
}

impl WakeRead<'_> {
    /// Makes sure a read is queued on the ring (the ring's next poll submits
    /// it); returns whether a wake-up completed since the last call.
    pub(crate) fn arm(&mut self) -> io::Result<bool> {
        let mut cx = task::Context::from_waker(Waker::noop());
        let mut woken = false;
        loop {
            match self.read.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(mut buf)) => {
                    woken = true;
                    buf.clear();
                    self.read.set(self.fd.read(buf));
                }
                Poll::Ready(Err(err)) => return Err(err),
                Poll::Pending => return Ok(woken),
            }
        }
    }
}

impl fmt::Debug for WakeRead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeRead").field("fd", self.fd).finish()
    }
}
