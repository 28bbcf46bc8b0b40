//! [`Op`]: the wrapper every kiln-rt I/O future goes through, so that the
//! runtime knows what is pending on a ring and counts the entries an
//! operation queues; [`MultishotGuard`] does the same for a stream of
//! completions. Why, in the [`io`](super) docs.

use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use pin_project_lite::pin_project;

use crate::runtime::io::uring::ring::IoRing;

impl IoRing {
    /// Wraps an a10 operation on this ring.
    pub(crate) const fn op<F>(&self, op: F) -> Op<'_, F> {
        Op {
            op,
            state: OpState {
                ring: self,
                queued: None,
            },
        }
    }
}

pin_project! {
    /// An a10 future (`F`) tracked by the runtime, see the [`io`](super) docs.
    #[must_use = "futures do nothing unless polled"]
    pub(crate) struct Op<'r, F> {
        // Dropped before `state`: dropping a pending a10 operation queues its
        // cancellation, which `state`'s drop then has the ring submit.
        #[pin]
        op: F,
        state: OpState<'r>,
    }

    impl<'r, F> PinnedDrop for Op<'r, F> {
        fn drop(this: Pin<&mut Self>) {
            // Before `op` is dropped: counts its cancellation and makes sure
            // the submission queue has room for it.
            let state = this.project().state;
            if state.queued.is_some() {
                let _ = state.ring.count_entry();
            }
        }
    }
}

/// The runtime's side of an [`Op`].
struct OpState<'r> {
    ring: &'r IoRing,
    /// While counted as pending (returned `Pending` at least once, not
    /// done): the stamp of its first entry in this thread's ledger.
    queued: Option<u64>,
}

impl Drop for OpState<'_> {
    fn drop(&mut self) {
        if self.queued.is_some() {
            self.ring.left();
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
                if let Some(stamp) = state.queued.take() {
                    state.ring.completed(stamp);
                }
                Poll::Ready(output)
            }
            Poll::Pending => {
                if state.queued.is_some() {
                    state.ring.requeued();
                } else {
                    state.queued = Some(state.ring.queued());
                }
                Poll::Pending
            }
        }
    }
}

/// Tracks a multishot operation (a stream of completions) like [`Op`]:
/// counted as pending from its first `Pending` until dropped. Its owner
/// drops the a10 operation before the guard, so the guard counts the
/// cancellation after a10 queued it; the room the limit keeps (see the
/// `io` docs) is what lets it be queued.
#[derive(Debug)]
pub(crate) struct MultishotGuard {
    ring: IoRing,
    /// The stamp of its first entry while counted as pending.
    queued: Option<u64>,
}

impl MultishotGuard {
    pub(crate) const fn new(ring: IoRing) -> MultishotGuard {
        MultishotGuard { ring, queued: None }
    }

    /// Call with the result of each `poll_next`.
    pub(crate) fn polled<T>(&mut self, poll: &Poll<Option<T>>) {
        match poll {
            Poll::Pending if self.queued.is_none() => {
                self.queued = Some(self.ring.queued());
            }
            Poll::Pending => self.ring.requeued(),
            Poll::Ready(None) => {
                if let Some(stamp) = self.queued.take() {
                    self.ring.completed(stamp);
                }
            }
            Poll::Ready(Some(_)) => {}
        }
    }
}

impl Drop for MultishotGuard {
    fn drop(&mut self) {
        if self.queued.is_some() {
            let _ = self.ring.count_entry();
            self.ring.left();
            self.ring.cancelled();
        }
    }
}
