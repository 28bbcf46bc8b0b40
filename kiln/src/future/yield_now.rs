//! [`yield_now`]: lets the executor run other work before continuing.

use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

/// Returns a future that is pending once, waking itself, and then completes:
/// the task gives the executor a turn, then carries on.
///
/// Use it in a long computation that does not otherwise wait, so that other
/// actors (and futures) on the same thread get to run in between. Any
/// executor that polls woken tasks supports it; awaiting it is one extra
/// poll of the task.
///
/// # On kiln-rt
///
/// The self-wake puts the process (actor or future) back among the ready
/// ones once its poll returns, charged with the time that poll ran. Which
/// ready process runs next is decided by virtual run time, as in Linux's
/// CFS: every ready process that has run less than the yielding one runs
/// before it, so a process that yields in a loop gets its fair share and no
/// more; if nothing else is ready it runs again at once. A thread-local
/// process stays on its worker; a thread-safe one goes back to the shared
/// queue, where any worker may pick it. Yielding does not make the worker
/// check timers and I/O straight away: it does that after each time slice
/// (2 ms by default) or when no process is ready, so a busy process delays
/// a timer by at most about a time slice.
///
/// ```
/// use kiln::future::yield_now;
///
/// async fn sum_of_squares(n: u64) -> u64 {
///     let mut total = 0;
///     for i in 0..n {
///         total += i * i;
///         if i % 10_000 == 0 {
///             // Let the other actors on this thread run now and then.
///             yield_now().await;
///         }
///     }
///     total
/// }
///
/// assert_eq!(kiln::sync::block_on(sum_of_squares(100_000)), 333_328_333_350_000);
/// ```
pub const fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct YieldNow {
    /// Set by the first poll.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
