//! [`yield_now`]: lets the worker run its other actors.
//!
//! kiln's scheduler is cooperative: an actor runs until its future returns
//! `Pending`. A link under a flood of frames always has an event ready, so
//! its loop would never return `Pending`, and the node actor (SWIM probes)
//! and the other links on its worker would wait; a node could be declared
//! dead for being busy. The loop yields after a budget of events.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Events a link handles before it yields.
pub(super) const BUDGET: u32 = 64;

/// Returns `Pending` once (waking itself), so the scheduler runs others.
pub(super) fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
pub(super) struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
