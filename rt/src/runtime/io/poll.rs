//! The readiness driver, on epoll (through mio), for where io_uring is
//! blocked.
//!
//! # Shape
//!
//! Like the io_uring driver, there is one poll instance per worker, for the
//! I/O of its thread-local actors, and one shared by the runtime, for
//! thread-safe and synchronous actors, which the coordinator polls. A
//! [`Poller`] is the polling side, owned by its thread: it waits in
//! `epoll_wait` and hands each event to the [`Readiness`](readiness::Readiness) of its descriptor,
//! which wakes whoever waits. A [`PollHandle`] is what I/O types hold: it
//! registers descriptors ([`Registration`]) and wakes the poller. mio's
//! `Registry` may be used from any thread while another waits in the poll,
//! so a thread-safe actor registers its socket on the shared poll with no
//! lock on the poll and no wake-up of the coordinator (unlike an io_uring
//! submission, which only the ring's owner makes).
//!
//! # Operations
//!
//! Descriptors are registered once, edge-triggered, for reading and
//! writing, and are non-blocking. An operation ([`PollFd::io`]) tries its
//! system call; on `EWOULDBLOCK` it clears the readiness it used and waits
//! for the next event (see [`readiness`] for why no event is lost). A new
//! descriptor starts out readable and writable, so its first operation
//! tries the system call at once instead of waiting for the first event.
//! A short read or write of a stream socket clears the readiness too
//! ([`PollFd::transfer`]), which saves the call that would fail with
//! `EWOULDBLOCK`. Operations that complete without waiting count against a
//! budget, after which one yields (see [`fd`]), so an actor that loops over
//! I/O can't keep its worker.
//!
//! Dropping an operation's future is always safe here and loses nothing:
//! nothing was started in the kernel that could complete later. A dropped
//! receive has received nothing; the rule of [`io`](crate::io) about a
//! dropped receive (its bytes may be lost) holds trivially.
//!
//! # Why mio
//!
//! `mio` is tokio's event library: well kept, edge-triggered on Linux (one
//! `epoll_ctl` per descriptor, none per operation), with a `Registry` usable
//! from any thread and an eventfd `Waker`. `polling` (smol's) arms its
//! sources one-shot, which costs an `epoll_ctl` for every operation that has
//! to wait.

use std::io;
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use mio::{Events, Poll};

use crate::runtime::io::driver_id::DriverId;
use crate::runtime::io::poll::polling::PollingState;
use crate::runtime::io::poll::sources::{Sources, WAKE_TOKEN};
use crate::runtime::lock::lock;
use crate::runtime::prefetch::prefetch;

pub(crate) mod blocking;
pub(crate) mod fd;
pub(crate) mod file;
mod polling;
pub(crate) mod process;
mod raw;
pub(crate) mod readiness;
pub(crate) mod registration;
mod rw;
pub(crate) mod signals;
pub(crate) mod socket;
pub(crate) mod sources;
pub(crate) mod stdio;

pub(crate) use fd::PollFd;
pub(crate) use signals::SignalFd;

/// Events taken from the kernel in one `epoll_wait`.
const EVENTS: usize = 1024;

/// What the threads that register descriptors on a poll instance share with
/// the thread that polls it.
#[derive(Debug)]
pub(crate) struct PollShared {
    registry: mio::Registry,
    sources: Mutex<Sources>,
    waker: mio::Waker,
    /// Whether the poller waits, and was woken (see [`polling`]).
    polling: PollingState,
    /// Whether this is the runtime's shared poll (polled by the
    /// coordinator), not a worker's.
    shared: bool,
}

/// A handle to a poll instance, for registering descriptors and waking its
/// poller; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct PollHandle(pub(crate) Arc<PollShared>);

impl PollHandle {
    /// Wakes the thread polling this instance: interrupts its wait if it
    /// waits, else makes its next poll not wait (see [`polling`]).
    pub(crate) fn wake(&self) {
        if self.0.polling.wake()
            && let Err(err) = self.0.waker.wake()
        {
            log::warn!("can't wake a poll driver: {err}");
        }
    }

    /// Which poll instance this is.
    pub(crate) fn id(&self) -> DriverId {
        DriverId::poll(&self.0)
    }

    /// Whether this is the runtime's shared poll.
    pub(crate) fn is_shared(&self) -> bool {
        self.0.shared
    }
}

/// The polling side of a poll instance, owned by the thread that polls it
/// (a worker, or the coordinator for the shared one).
#[derive(Debug)]
pub(crate) struct Poller {
    poll: Poll,
    events: Events,
    /// The wakers the events' descriptors held, taken under one lock of
    /// `sources` per poll and woken after it; kept for its capacity.
    wakers: Vec<Waker>,
    shared: Arc<PollShared>,
}

impl Poller {
    /// A poll instance: a worker's, or the runtime's `shared` one.
    pub(crate) fn new(shared: bool) -> io::Result<Poller> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(Poller {
            poll,
            events: Events::with_capacity(EVENTS),
            // A reader and a writer per event at most.
            wakers: Vec::with_capacity(2 * EVENTS),
            shared: Arc::new(PollShared {
                registry,
                sources: Mutex::new(Sources::default()),
                waker,
                polling: PollingState::default(),
                shared,
            }),
        })
    }

    /// The handle I/O types use.
    pub(crate) fn handle(&self) -> PollHandle {
        PollHandle(self.shared.clone())
    }

    /// Waits at most `timeout` (for ever if `None`) for events, and hands
    /// them to their descriptors' waiters.
    pub(crate) fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = self.shared.polling.start(timeout);
        let result = self.poll.poll(&mut self.events, timeout);
        self.shared.polling.end();
        match result {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(err) => return Err(err),
        }
        {
            let sources = lock(&self.shared.sources);
            // Each event's `Readiness` is a miss on a server with many
            // connections (see `readiness.rs`, "One cache line"); asked
            // for all at once, the misses overlap, where the loop below,
            // whose every turn has a locked instruction, takes them one
            // after the other.
            for event in &self.events {
                if let Some(readiness) = sources.get(event.token()) {
                    prefetch(Arc::as_ptr(readiness));
                }
            }
            for event in &self.events {
                let token = event.token();
                if token == WAKE_TOKEN {
                    continue;
                }
                // Deregistered since the kernel reported it: none.
                if let Some(readiness) = sources.get(token) {
                    readiness.set_taking(readiness::bits_of(event), &mut self.wakers);
                }
            }
        }
        // Woken out of the lock: a waker may register or drop sources.
        for waker in self.wakers.drain(..) {
            waker.wake();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
