//! Blocking on futures by parking the thread: the waker behind
//! [`sync::Context`](crate::sync::Context), [`block_on`] and [`block_for`].

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{self, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Wakes a parked thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A waker that unparks the current thread.
pub(crate) fn thread_waker() -> Waker {
    Waker::from(Arc::new(ThreadWaker(thread::current())))
}

/// Polls `future` with `waker` (which must unpark this thread) until it
/// completes, parking the thread while it waits.
pub(crate) fn block_on_with<F: Future>(waker: &Waker, future: F) -> F::Output {
    match block_until(waker, future, None) {
        Some(output) => output,
        None => unreachable!("no deadline to pass"),
    }
}

/// [`block_on_with`] that gives up once `timeout` has passed.
pub(crate) fn block_for_with<F: Future>(
    waker: &Waker,
    future: F,
    timeout: Duration,
) -> Option<F::Output> {
    // A timeout too large to add to now is no timeout.
    block_until(waker, future, Instant::now().checked_add(timeout))
}

/// Polls `future` with `waker` until it completes (`Some`) or `deadline`, if
/// any, has passed (`None`), parking the thread in between. The future is
/// polled at least once.
fn block_until<F: Future>(
    waker: &Waker,
    future: F,
    deadline: Option<Instant>,
) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cx = task::Context::from_waker(waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        // An unpark that came before this park makes it return at once, so
        // no wake-up is lost; a spurious return just polls again.
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                thread::park_timeout(left);
            }
        }
    }
}

/// Runs `future` to completion on the current thread, parking the thread
/// while the future waits.
///
/// For synchronous actors and tests; inside a synchronous actor prefer
/// [`sync::Context::block_on`](crate::sync::Context::block_on), which reuses
/// its waker. [`block_for`] gives up after a timeout.
///
/// ```
/// let answer = kiln::sync::block_on(async { 40 + 2 });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    block_on_with(&thread_waker(), future)
}

/// Runs `future` on the current thread until it completes (`Some(output)`)
/// or `timeout` has passed (`None`), parking the thread while the future
/// waits.
///
/// The future is polled at least once, so one that is ready at once
/// completes even with a zero timeout; on a timeout it is dropped (an RPC
/// then stops waiting for its response). A timeout too large to represent
/// waits without limit. Inside a synchronous actor prefer
/// [`sync::Context::block_for`](crate::sync::Context::block_for).
///
/// ```
/// use std::future::pending;
/// use std::time::Duration;
///
/// assert_eq!(kiln::sync::block_for(async { 42 }, Duration::ZERO), Some(42));
/// assert_eq!(kiln::sync::block_for(pending::<()>(), Duration::from_millis(10)), None);
/// ```
pub fn block_for<F: Future>(future: F, timeout: Duration) -> Option<F::Output> {
    block_for_with(&thread_waker(), future, timeout)
}
