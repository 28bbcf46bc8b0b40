//! Helpers shared by the integration tests: wakers that count, a
//! thread-parking `block_on`, and a message that counts its drops.

#![allow(dead_code, unreachable_pub, reason = "each test file uses a subset")]

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// A waker counting how often it was woken.
#[derive(Debug, Default)]
pub struct CountWaker(AtomicUsize);

impl CountWaker {
    /// A new counter and a waker for it.
    pub fn new() -> (Arc<CountWaker>, Waker) {
        let count = Arc::new(CountWaker::default());
        let waker = Waker::from(count.clone());
        (count, waker)
    }

    /// Number of wake-ups so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `future` once with `waker`.
pub fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Wakes a thread by unparking it.
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread, parking while it is pending.
///
/// Only a wake-up unparks the thread (`park` may also return spuriously,
/// which just polls again), so a lost wake-up shows up as a hang.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

/// A message that counts its drops in a shared counter.
#[derive(Debug)]
pub struct DropCounter {
    drops: Arc<AtomicUsize>,
    pub value: usize,
}

impl DropCounter {
    /// A new shared counter.
    pub fn counter() -> Arc<AtomicUsize> {
        Arc::new(AtomicUsize::new(0))
    }

    /// A message counting into `drops`.
    pub fn new(drops: &Arc<AtomicUsize>, value: usize) -> DropCounter {
        DropCounter {
            drops: drops.clone(),
            value,
        }
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        let _ = self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Drops so far.
pub fn drops(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}
