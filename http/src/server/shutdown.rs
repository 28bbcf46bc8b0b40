//! [`Shutdown`]: tells a server's connections that a graceful shutdown
//! started, so that idle ones close at once and busy ones finish within
//! the drain time.
//!
//! One per server setup, shared by its workers. A connection checks an
//! atomic flag (no lock) before it waits; a waiting connection keeps its
//! waker in a slot, locked only when the waker changes (a thread-local
//! actor's waker never does) and when the connection ends.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The shutdown state of one server.
#[derive(Default)]
pub(crate) struct Shutdown {
    started: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When the drain must end, once started.
    deadline: Option<Instant>,
    /// The wakers of waiting connections, by slot.
    wakers: Vec<Option<Waker>>,
    /// Slots free for reuse.
    free: Vec<usize>,
}

impl Shutdown {
    /// Starts the shutdown (once): wakes every waiting connection; their
    /// waits end by `drain` from now.
    pub(crate) fn start(&self, drain: Duration) {
        let wakers = {
            let mut state = self.lock();
            if state.deadline.is_none() {
                state.deadline = Some(Instant::now() + drain);
            }
            self.started.store(true, Ordering::Release);
            state
                .wakers
                .iter_mut()
                .filter_map(Option::take)
                .collect::<Vec<_>>()
        };
        for waker in wakers {
            waker.wake();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("started", &self.started.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A connection's view of its server's [`Shutdown`].
pub(crate) struct Watch {
    shutdown: Arc<Shutdown>,
    /// The slot and the waker last put in it.
    slot: Option<(usize, Waker)>,
}

impl Watch {
    pub(crate) fn new(shutdown: Arc<Shutdown>) -> Watch {
        Watch {
            shutdown,
            slot: None,
        }
    }

    /// A watch whose shutdown never starts (a connection made by hand).
    pub(crate) fn never() -> Watch {
        Watch::new(Arc::default())
    }

    /// Whether the shutdown started.
    pub(crate) fn started(&self) -> bool {
        self.shutdown.started.load(Ordering::Acquire)
    }

    /// When the drain ends, if the shutdown started.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.started() {
            self.shutdown.lock().deadline
        } else {
            None
        }
    }

    /// Ready once the shutdown started; else keeps `cx`'s waker to wake.
    pub(crate) fn poll_started(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.started() {
            return Poll::Ready(());
        }
        if let Some((_, waker)) = &self.slot
            && waker.will_wake(cx.waker())
        {
            return Poll::Pending;
        }
        let mut state = self.shutdown.lock();
        if state.deadline.is_some() {
            return Poll::Ready(()); // Started while we took the lock.
        }
        let index = match &self.slot {
            Some((index, _)) => *index,
            None => state.free.pop().unwrap_or_else(|| {
                state.wakers.push(None);
                state.wakers.len() - 1
            }),
        };
        state.wakers[index] = Some(cx.waker().clone());
        drop(state);
        self.slot = Some((index, cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some((index, _)) = self.slot.take() {
            let mut state = self.shutdown.lock();
            state.wakers[index] = None;
            state.free.push(index);
        }
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("started", &self.started())
            .finish()
    }
}
