//! The connection limit on its own: slots counted, the waiting server woken
//! by the slot that makes room, and only then.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use super::ConnectionLimit;

/// Counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker::default());
    (counter.clone(), Waker::from(counter))
}

#[test]
fn room_until_the_limit_then_woken_by_a_slot_given_back() {
    let limit = ConnectionLimit::new(3);
    let (wakes, waker) = waker();
    let mut cx = Context::from_waker(&waker);
    let mut slots = Vec::new();
    for open in 0..3 {
        assert_eq!(limit.open(), open);
        assert_eq!(limit.poll_room(&mut cx), Poll::Ready(()));
        slots.push(limit.take());
    }
    assert_eq!(limit.poll_room(&mut cx), Poll::Pending);
    assert_eq!(wakes.0.load(Ordering::SeqCst), 0);

    drop(slots.pop());
    assert_eq!(
        wakes.0.load(Ordering::SeqCst),
        1,
        "not woken by the freed slot"
    );
    assert_eq!(limit.open(), 2);
    assert_eq!(limit.poll_room(&mut cx), Poll::Ready(()));

    // Below the limit nobody waits: giving a slot back wakes no one.
    drop(slots.pop());
    assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
    drop(slots);
    assert_eq!(limit.open(), 0);
}

#[test]
fn slots_given_back_on_other_threads_wake_the_server() {
    // Many rounds of: fill to the limit, wait, free one slot on another
    // thread. A lost wake-up leaves `poll_room` pending with no wake.
    let limit = ConnectionLimit::new(1);
    for _ in 0..1_000 {
        let (wakes, waker) = waker();
        let mut cx = Context::from_waker(&waker);
        let slot = limit.take();
        let freer = thread::spawn(move || drop(slot));
        if limit.poll_room(&mut cx).is_pending() {
            freer.join().unwrap();
            assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "wake-up lost");
        } else {
            freer.join().unwrap();
        }
        assert_eq!(limit.poll_room(&mut cx), Poll::Ready(()));
    }
}
