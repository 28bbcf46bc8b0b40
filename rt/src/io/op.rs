//! How an I/O operation meets the runtime: which ring it goes to
//! ([`IoRing`]) and the wrapper ([`Op`]) every kiln-rt I/O future goes
//! through.
//!
//! # Two kinds of rings
//!
//! - A **worker's ring**, for thread-local actors. The worker polls it when
//!   it sleeps (blocking until I/O completes, a timer expires or another
//!   thread wakes it). A worker with ready work must not make a waiting
//!   kernel call, yet it must not starve I/O either: while busy it polls its
//!   ring only if an operation of this thread is pending, and then at most
//!   once per `Tuning::io_poll_interval`. The pending count is what [`Op`]
//!   keeps, in a thread-local counter: incremented when an operation first
//!   returns `Pending`, decremented when it completes or is dropped.
//! - The **shared ring** of the runtime, for thread-safe and synchronous
//!   actors: the coordinator thread polls it, and completions wake the
//!   processes on whichever worker is free. An operation queued on it is
//!   only seen by the kernel when the ring is entered, so [`Op`] *kicks* the
//!   ring after the operation is queued: a10 interrupts the coordinator's
//!   poll (if it is polling), which submits the queue.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use a10::SubmissionQueue;
use pin_project_lite::pin_project;

/// The ring an I/O source submits its operations to.
#[derive(Clone, Debug)]
pub(crate) struct IoRing {
    sq: SubmissionQueue,
    /// The runtime's shared ring (polled by the coordinator) rather than a
    /// worker's own.
    shared: bool,
}

impl IoRing {
    /// A worker's ring.
    pub(crate) const fn worker(sq: SubmissionQueue) -> IoRing {
        IoRing { sq, shared: false }
    }

    /// The runtime's shared ring.
    pub(crate) const fn shared(sq: SubmissionQueue) -> IoRing {
        IoRing { sq, shared: true }
    }

    /// The submission queue, to create a10 types on this ring.
    pub(crate) fn sq(&self) -> SubmissionQueue {
        self.sq.clone()
    }

    /// Wraps an a10 operation on this ring.
    pub(crate) const fn op<F>(&self, op: F) -> Op<'_, F> {
        Op {
            op,
            ring: self,
            pending: false,
        }
    }

    /// Called after an operation was (possibly) queued on this ring.
    fn queued(&self) {
        if self.shared {
            // Interrupts the coordinator's poll, which makes it submit the
            // queued operation; does nothing if it is not polling (it will
            // enter the kernel, and so submit, on its next poll).
            self.sq.wake();
        } else {
            PENDING.with(|pending| pending.set(pending.get() + 1));
        }
    }

    /// Called once an operation that was `queued` completed or was dropped.
    fn done(&self) {
        if !self.shared {
            PENDING.with(|pending| pending.set(pending.get().saturating_sub(1)));
        }
    }
}

thread_local! {
    /// Number of operations on a worker's ring waiting on this thread.
    static PENDING: Cell<usize> = const { Cell::new(0) };
}

/// Number of operations on a worker ring pending on this thread: while it is
/// zero a busy worker never polls its ring.
pub(crate) fn pending_on_this_thread() -> usize {
    PENDING.with(Cell::get)
}

pin_project! {
    /// An a10 future (`F`) tracked by the runtime, see the module docs.
    #[must_use = "futures do nothing unless polled"]
    pub(crate) struct Op<'r, F> {
        #[pin]
        op: F,
        ring: &'r IoRing,
        // Counted as pending (returned `Pending` at least once, not done).
        pending: bool,
    }

    impl<'r, F> PinnedDrop for Op<'r, F> {
        fn drop(this: Pin<&mut Self>) {
            if this.pending {
                this.ring.done();
            }
        }
    }
}

impl<F: Future> Future for Op<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        match this.op.poll(cx) {
            Poll::Ready(output) => {
                if *this.pending {
                    *this.pending = false;
                    this.ring.done();
                }
                Poll::Ready(output)
            }
            Poll::Pending => {
                if *this.pending {
                    if this.ring.shared {
                        // Polled again while waiting (e.g. the actor woke for
                        // a message); the operation may have been requeued.
                        this.ring.sq.wake();
                    }
                } else {
                    *this.pending = true;
                    this.ring.queued();
                }
                Poll::Pending
            }
        }
    }
}

/// Tracks a multishot operation (a stream of completions) like [`Op`]:
/// counted as pending from its first `Pending` until dropped.
#[derive(Debug)]
pub(crate) struct MultishotGuard {
    ring: IoRing,
    pending: bool,
}

impl MultishotGuard {
    pub(crate) const fn new(ring: IoRing) -> MultishotGuard {
        MultishotGuard {
            ring,
            pending: false,
        }
    }

    /// Call with the result of each `poll_next`.
    pub(crate) fn polled<T>(&mut self, poll: &Poll<Option<T>>) {
        match poll {
            Poll::Pending if !self.pending => {
                self.pending = true;
                self.ring.queued();
            }
            Poll::Pending if self.ring.shared => self.ring.sq.wake(),
            Poll::Ready(None) if self.pending => {
                self.pending = false;
                self.ring.done();
            }
            _ => {}
        }
    }
}

impl Drop for MultishotGuard {
    fn drop(&mut self) {
        if self.pending {
            self.ring.done();
        }
    }
}
