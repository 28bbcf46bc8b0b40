//! Unit tests of the internals: the state word, the waker and the wait list.

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::task::{Wake, Waker};

use crate::state::{MANAGER_ALIVE, RECEIVER_ALIVE, State};
use crate::wait_list::WaitList;
use crate::waker::AtomicWaker;

/// A waker counting its wake-ups.
struct CountWaker(StdAtomicUsize);

impl Wake for CountWaker {
    fn wake(self: StdArc<Self>) {
        self.0.fetch_add(1, StdOrdering::SeqCst);
    }
}

fn count_waker() -> (StdArc<CountWaker>, Waker) {
    let count = StdArc::new(CountWaker(StdAtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

fn wakes(count: &CountWaker) -> usize {
    count.0.load(StdOrdering::SeqCst)
}

#[test]
fn state_bits() {
    let state = State::new(true);
    let s = state.load();
    assert_eq!(
        (s.senders(), s.has_receiver(), s.has_manager()),
        (1, true, true)
    );
    state.add_sender();
    assert_eq!(state.load().senders(), 2);
    assert_eq!(state.remove_sender().senders(), 2);
    assert!(state.clear(RECEIVER_ALIVE).has_receiver());
    assert!(!state.load().has_receiver() && state.load().has_consumer());
    assert!(state.try_add_receiver());
    assert!(!state.try_add_receiver());
    let _ = state.clear(RECEIVER_ALIVE);
    let _ = state.clear(MANAGER_ALIVE);
    assert!(!state.load().has_consumer());
    assert_eq!(state.load().senders(), 1);
    assert!(!State::new(false).load().has_manager());
}

#[test]
fn atomic_waker_wakes_registered_once() {
    let waker = AtomicWaker::new();
    let (count, w) = count_waker();
    waker.wake(); // Nobody registered: only notes it.
    assert!(waker.register(&w));
    waker.wake();
    assert_eq!(wakes(&count), 1);
    waker.wake(); // Not registered again: nothing.
    assert_eq!(wakes(&count), 1);
    assert!(waker.register(&w));
    assert!(waker.register(&w)); // Re-register keeps one registration.
    waker.wake();
    waker.wake();
    assert_eq!(wakes(&count), 2);
}

#[test]
fn atomic_waker_replaces_waker() {
    let waker = AtomicWaker::new();
    let (first, w1) = count_waker();
    let (second, w2) = count_waker();
    assert!(waker.register(&w1));
    assert!(waker.register(&w2));
    waker.wake();
    assert_eq!((wakes(&first), wakes(&second)), (0, 1));
}

#[test]
fn wait_list_register_remove_wake() {
    let list = WaitList::new();
    let (count, w) = count_waker();
    assert!(!list.has_waiters());
    let (a, existed) = list.register(None, &w);
    assert!(!existed);
    let (a2, existed) = list.register(Some(a), &w);
    assert!(existed && a2 == a);
    let (b, _) = list.register(None, &w);
    assert_ne!(a, b);
    assert!(list.has_waiters());
    list.wake_one(); // Wakes `a`, the oldest.
    assert_eq!(wakes(&count), 1);
    assert!(!list.remove(a));
    assert!(list.remove(b));
    assert!(!list.has_waiters());
    list.wake_one();
    assert_eq!(wakes(&count), 1);
    let _ = list.register(None, &w);
    let _ = list.register(None, &w);
    list.wake_all();
    assert_eq!(wakes(&count), 3);
    assert!(!list.has_waiters());
}
