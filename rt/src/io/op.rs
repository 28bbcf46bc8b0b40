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
//!   ring only if an operation of this thread is pending (or a close or
//!   cancellation was queued), and then at most once per
//!   `Tuning::io_poll_interval`. The pending count is what [`Op`]
//!   keeps, in a thread-local counter: incremented when an operation first
//!   returns `Pending`, decremented when it completes or is dropped.
//! - The **shared ring** of the runtime, for thread-safe and synchronous
//!   actors: the coordinator thread polls it, and completions wake the
//!   processes on whichever worker is free. An operation queued on it is
//!   only seen by the kernel when the ring is entered, and only the
//!   coordinator enters it (see [`ring_waker`](crate::ring_waker) for why),
//!   so [`Op`] *kicks* the coordinator after the operation is queued; its
//!   next poll submits the queue.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use std::sync::Arc;

use a10::SubmissionQueue;
use pin_project_lite::pin_project;

use crate::ring_waker::RingWaker;

/// The ring an I/O source submits its operations to.
#[derive(Clone, Debug)]
pub(crate) struct IoRing {
    sq: SubmissionQueue,
    /// For the runtime's shared ring (polled by the coordinator): wakes the
    /// coordinator to submit queued operations. `None` for a worker's ring.
    kick: Option<Arc<RingWaker>>,
}

impl IoRing {
    /// A worker's ring.
    pub(crate) const fn worker(sq: SubmissionQueue) -> IoRing {
        IoRing { sq, kick: None }
    }

    /// The runtime's shared ring, polled by the thread `kick` wakes.
    pub(crate) const fn shared(sq: SubmissionQueue, kick: Arc<RingWaker>) -> IoRing {
        IoRing {
            sq,
            kick: Some(kick),
        }
    }

    /// The submission queue, to create a10 types on this ring.
    pub(crate) fn sq(&self) -> SubmissionQueue {
        self.sq.clone()
    }

    /// Wraps an a10 operation on this ring.
    pub(crate) const fn op<F>(&self, op: F) -> Op<'_, F> {
        Op {
            op,
            state: OpState {
                ring: self,
                pending: false,
            },
        }
    }

    /// Called after an operation was (possibly) queued on this ring.
    fn queued(&self) {
        count(&SUBMITTED);
        match &self.kick {
            // The coordinator's next poll submits the operation.
            Some(kick) => kick.wake(),
            None => PENDING.with(|pending| pending.set(pending.get() + 1)),
        }
    }

    /// Called when an operation that was queued is polled again while
    /// pending: a multi-step operation (`send_all`, `recv_n`) may have
    /// queued its next step.
    fn requeued(&self) {
        if let Some(kick) = &self.kick {
            kick.wake();
        }
    }

    /// Called once an operation that was `queued` completed or was dropped.
    fn done(&self) {
        if self.kick.is_none() {
            PENDING.with(|pending| pending.set(pending.get().saturating_sub(1)));
        }
    }

    /// Called when an operation is dropped before it completed: a10 queues
    /// its cancellation.
    fn cancelled(&self) {
        count(&CANCELLED);
        match &self.kick {
            Some(kick) => kick.wake(),
            None => UNSUBMITTED.with(|unsubmitted| unsubmitted.set(true)),
        }
    }
}

/// Dropping an I/O type (a socket, a file) queues its asynchronous close
/// (a10 does that), and dropping a pending operation queues its
/// cancellation: the ring must be entered for them to happen. For the
/// shared ring that means waking the coordinator; a worker notes it, so that
/// a busy worker polls its ring even if no operation is pending.
impl Drop for IoRing {
    fn drop(&mut self) {
        match &self.kick {
            Some(kick) => kick.wake(),
            None => UNSUBMITTED.with(|unsubmitted| unsubmitted.set(true)),
        }
    }
}

thread_local! {
    /// Number of operations on a worker's ring waiting on this thread.
    static PENDING: Cell<usize> = const { Cell::new(0) };
    /// Set when a close or cancellation was queued on a worker's ring from
    /// this thread, see `Drop for IoRing`.
    static UNSUBMITTED: Cell<bool> = const { Cell::new(false) };
    /// Operations (of either ring) submitted, completed and cancelled on this
    /// thread, for the metrics: submitted when they first wait, completed
    /// when they return a result after that, cancelled when dropped while
    /// waiting.
    static SUBMITTED: Cell<u64> = const { Cell::new(0) };
    static COMPLETED: Cell<u64> = const { Cell::new(0) };
    static CANCELLED: Cell<u64> = const { Cell::new(0) };
}

fn count(counter: &'static std::thread::LocalKey<Cell<u64>>) {
    counter.with(|n| n.set(n.get().wrapping_add(1)));
}

/// The operations submitted, completed and cancelled on this thread.
pub(crate) fn io_counts() -> (u64, u64, u64) {
    (
        SUBMITTED.with(Cell::get),
        COMPLETED.with(Cell::get),
        CANCELLED.with(Cell::get),
    )
}

/// Whether a busy worker has a reason to poll its ring: an operation of this
/// thread is pending, or a close or cancellation is queued.
pub(crate) fn io_work_on_this_thread() -> bool {
    PENDING.with(Cell::get) != 0 || UNSUBMITTED.with(Cell::get)
}

/// The worker is about to poll (and so submit) its ring.
pub(crate) fn polling_ring_on_this_thread() {
    UNSUBMITTED.with(|unsubmitted| unsubmitted.set(false));
}

pin_project! {
    /// An a10 future (`F`) tracked by the runtime, see the module docs.
    #[must_use = "futures do nothing unless polled"]
    pub(crate) struct Op<'r, F> {
        // Dropped before `state`: dropping a pending a10 operation queues its
        // cancellation, which `state`'s drop then has the ring submit.
        #[pin]
        op: F,
        state: OpState<'r>,
    }
}

/// The runtime's side of an [`Op`].
struct OpState<'r> {
    ring: &'r IoRing,
    /// Counted as pending (returned `Pending` at least once, not done).
    pending: bool,
}

impl Drop for OpState<'_> {
    fn drop(&mut self) {
        if self.pending {
            self.ring.done();
            self.ring.cancelled();
        }
    }
}

impl<F: Future> Future for Op<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let state = this.state;
        match this.op.poll(cx) {
            Poll::Ready(output) => {
                if state.pending {
                    state.pending = false;
                    count(&COMPLETED);
                    state.ring.done();
                }
                Poll::Ready(output)
            }
            Poll::Pending => {
                if state.pending {
                    state.ring.requeued();
                } else {
                    state.pending = true;
                    state.ring.queued();
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
            Poll::Pending => self.ring.requeued(),
            Poll::Ready(None) if self.pending => {
                self.pending = false;
                count(&COMPLETED);
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
            self.ring.cancelled();
        }
    }
}
