//! Blocking on futures by parking the thread: the waker behind
//! [`sync::Context`](crate::sync::Context) and [`block_on`].

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{self, Poll, Wake, Waker};
use std::thread::{self, Thread};

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
    let mut future = pin!(future);
    let mut cx = task::Context::from_waker(waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            // An unpark that came before this park makes it return at once,
            // so no wake-up is lost; a spurious return just polls again.
            Poll::Pending => thread::park(),
        }
    }
}

/// Runs `future` to completion on the current thread, parking the thread
/// while the future waits.
///
/// For synchronous actors and tests; inside a synchronous actor prefer
/// [`sync::Context::block_on`](crate::sync::Context::block_on), which reuses
/// its waker.
///
/// ```
/// let answer = kiln::sync::block_on(async { 40 + 2 });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    block_on_with(&thread_waker(), future)
}
