//! The connection limit of a [`Server`](crate::net::Server) actor: how
//! many of the connections it accepted may be open at once
//! ([`ConnectionLimit`]), the slot each one holds until its stream is
//! dropped ([`ConnectionSlot`]), and the log lines of a server at its limit
//! ([`AtLimit`]).
//!
//! A slot is taken when a connection is accepted and given back when its
//! [`TcpStream`](crate::net::TcpStream) is dropped, wherever that happens
//! (the connection actor ends, fails to start, or hands the stream on).
//! The server, at the limit, waits for [`ConnectionLimit::poll_room`]
//! before it accepts again.
//!
//! # Ordering
//!
//! The count is an atomic (a stream is `Send`, and a thread-safe
//! connection actor drops it on any worker); the server's waker sits
//! behind a mutex that only the server at its limit and a slot given back
//! at the limit take. The server stores its waker, then reads the count; a
//! slot decrements the count, then takes the waker. Both take the mutex in
//! between, so either the server sees the smaller count or the slot sees
//! the waker: no wake-up is lost.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{self, Poll, Waker};
use std::time::{Duration, Instant};

use log::{debug, warn};

use crate::runtime::lock::lock;

/// At the limit, a server logs a warning at most this often (debug lines
/// in between).
const LIMIT_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The open connections of one server actor, and their limit.
#[derive(Clone)]
pub(crate) struct ConnectionLimit {
    shared: Arc<Slots>,
}

/// What a [`ConnectionLimit`] and its slots share.
struct Slots {
    /// Connections open: slots taken and not given back.
    open: AtomicUsize,
    /// The most connections open at once.
    max: usize,
    /// The server waiting for a slot, if it is at the limit.
    waiting: Mutex<Option<Waker>>,
}

impl ConnectionLimit {
    /// A limit of `max` connections, none open.
    pub(crate) fn new(max: usize) -> ConnectionLimit {
        ConnectionLimit {
            shared: Arc::new(Slots {
                open: AtomicUsize::new(0),
                max,
                waiting: Mutex::new(None),
            }),
        }
    }

    /// The most connections open at once.
    pub(crate) fn max(&self) -> usize {
        self.shared.max
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.shared.open.load(Ordering::Acquire)
    }

    /// Ready if fewer than the limit are open; else wakes the task once a
    /// slot is given back.
    pub(crate) fn poll_room(&self, cx: &mut task::Context<'_>) -> Poll<()> {
        if self.open() < self.shared.max {
            return Poll::Ready(());
        }
        *lock(&self.shared.waiting) = Some(cx.waker().clone());
        // Again after storing the waker: see the module docs.
        if self.open() < self.shared.max {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Takes a slot for a connection just accepted.
    pub(crate) fn take(&self) -> ConnectionSlot {
        self.shared.open.fetch_add(1, Ordering::AcqRel);
        ConnectionSlot {
            shared: self.shared.clone(),
        }
    }
}

impl fmt::Debug for ConnectionLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionLimit")
            .field("open", &self.open())
            .field("max", &self.shared.max)
            .finish()
    }
}

/// One open connection of a server; given back when dropped.
pub(crate) struct ConnectionSlot {
    shared: Arc<Slots>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let before = self.shared.open.fetch_sub(1, Ordering::AcqRel);
        if before >= self.shared.max {
            // The server may be waiting for this slot.
            let waker = lock(&self.shared.waiting).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl fmt::Debug for ConnectionSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionSlot")
            .field("max", &self.shared.max)
            .finish()
    }
}

/// Whether a server is at its connection limit, and when it last warned
/// about it.
#[derive(Default)]
pub(crate) struct AtLimit {
    /// At the limit now.
    waiting: bool,
    warned: Option<Instant>,
    /// Times it reached the limit since it last warned.
    since_warning: u64,
}

impl AtLimit {
    /// The server is at its limit of `max` connections: logs it when it
    /// gets there, as a warning at most once per [`LIMIT_WARNING_INTERVAL`].
    pub(crate) fn enter(&mut self, address: impl fmt::Display, max: usize) {
        if self.waiting {
            return;
        }
        self.waiting = true;
        self.since_warning += 1;
        if self
            .warned
            .is_some_and(|warned| warned.elapsed() < LIMIT_WARNING_INTERVAL)
        {
            debug!("server on {address}: {max} connections open, its limit: not accepting");
            return;
        }
        warn!(
            "server on {address}: {max} connections open, its limit (reached {} times since the \
             last warning): not accepting until one closes (new connections wait in the \
             listen backlog)",
            self.since_warning
        );
        self.warned = Some(Instant::now());
        self.since_warning = 0;
    }

    /// The server has room again.
    pub(crate) fn leave(&mut self) {
        self.waiting = false;
    }
}

#[cfg(test)]
mod tests;
