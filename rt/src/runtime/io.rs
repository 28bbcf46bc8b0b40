//! The I/O drivers: io_uring ([`uring`]) and, where io_uring is blocked,
//! readiness through epoll ([`poll`]). Which one a runtime uses is chosen
//! when it is built (see [`IoDriver`](crate::io::IoDriver)); every I/O type
//! works on both, through the handles here, which name the driver:
//!
//! - [`Io`]: what an I/O type is created with (from its runtime access): a
//!   ring, or a poll instance, of a worker or the runtime's shared one.
//! - [`DriverWaker`]: wakes the thread that waits in a ring or poll
//!   instance (a sleeping worker, the coordinator).
//! - [`WorkerIo`]: a worker's own ring or poll instance, which it waits in
//!   when it sleeps and polls while busy.
//!
//! Below them, what both drivers share: the driver-neutral descriptors
//! ([`fd`], [`file`], [`stdio`], [`process`]), which match on the driver
//! once per operation, the reap of an exited child ([`reap`]), and the `iovec`s of vectored buffers
//! ([`vectored`]).
//!
//! A message between actors, a timer, a spawn: nothing but I/O touches the
//! driver, so only I/O depends on which one runs.

use std::io;
use std::time::Duration;

use crate::io::IoDriver;

pub(crate) mod driver_id;
pub(crate) mod fd;
pub(crate) mod file;
pub(crate) mod file_range;
pub(crate) mod poll;
pub(crate) mod process;
pub(crate) mod reap;
pub(crate) mod setup;
pub(crate) mod stat;
pub(crate) mod stdio;
pub(crate) mod timerfd;
pub(crate) mod uring;
pub(crate) mod vectored;

pub(crate) use uring::{RING_ENTRIES, io_counts, io_work_on_this_thread};

use driver_id::DriverId;
use poll::{PollHandle, Poller};
use uring::ring_waker::RingWaker;
use uring::{IoRing, WorkerRing};

/// The driver handle an I/O type is created with; see the [module
/// docs](self).
#[derive(Clone, Debug)]
pub(crate) enum Io {
    Uring(IoRing),
    Poll(PollHandle),
}

impl Io {
    /// Which ring or poll instance this is.
    pub(crate) fn id(&self) -> DriverId {
        match self {
            Io::Uring(ring) => ring.id(),
            Io::Poll(handle) => handle.id(),
        }
    }

    /// Which driver this is.
    pub(crate) const fn driver(&self) -> IoDriver {
        match self {
            Io::Uring(_) => IoDriver::Uring,
            Io::Poll(_) => IoDriver::Poll,
        }
    }
}

/// Wakes the thread waiting in a ring or poll instance; see the [module
/// docs](self).
#[derive(Debug)]
pub(crate) enum DriverWaker {
    Uring(RingWaker),
    Poll(PollHandle),
}

impl DriverWaker {
    /// Wakes the thread if it waits in the kernel (a10 and mio remember a
    /// wake that comes before the wait).
    pub(crate) fn wake(&self) {
        match self {
            DriverWaker::Uring(waker) => waker.wake(),
            DriverWaker::Poll(handle) => handle.wake(),
        }
    }
}

/// A worker's own ring or poll instance; see the [module docs](self).
pub(crate) enum WorkerIo {
    Uring(WorkerRing),
    Poll(Poller),
}

impl WorkerIo {
    /// Processes completions or events, waiting at most `timeout` (for ever
    /// if `None`) for one.
    pub(crate) fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            WorkerIo::Uring(ring) => ring.poll(timeout),
            WorkerIo::Poll(poller) => poller.poll(timeout),
        }
    }
}
