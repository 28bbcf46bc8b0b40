//! The hot paths do not allocate: sending and receiving, waiting and waking,
//! and reusing a oneshot channel. Making an inbox allocates once, and its
//! first send once more (the slots).
//!
//! A counting global allocator counts this thread's allocations only (the
//! test harness allocates on other threads).

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::task::Poll;

use kiln_inbox::{Manager, oneshot};
use util::{CountWaker, poll_once};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn send_and_receive_do_not_allocate() {
    let (sender, mut receiver) = kiln_inbox::new::<u64>(8);
    let (_count, waker) = CountWaker::new();
    // The first send allocates the slots.
    sender.try_send(0).unwrap();
    assert_eq!(receiver.try_recv(), Ok(0));
    let before = allocations();
    for n in 0..10_000 {
        sender.try_send(n).unwrap();
        sender.try_reserve().unwrap().send(n);
        drop(sender.try_reserve().unwrap());
        assert_eq!(receiver.try_recv(), Ok(n));
        assert_eq!(receiver.try_peek(), Ok(&n));
        assert_eq!(receiver.try_recv(), Ok(n));
        // Waiting receiver, woken by a send.
        let mut recv = receiver.recv();
        assert_eq!(poll_once(&mut recv, &waker), Poll::Pending);
        sender.try_send(n).unwrap();
        assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(Some(n)));
    }
    assert_eq!(allocations(), before);
}

#[test]
fn oneshot_reuse_does_not_allocate() {
    let (sender, mut receiver) = oneshot::new::<u64>();
    drop(sender);
    let (_count, waker) = CountWaker::new();
    let before = allocations();
    for n in 0..10_000 {
        let sender = receiver.try_reset().unwrap();
        let mut recv = receiver.recv();
        assert_eq!(poll_once(&mut recv, &waker), Poll::Pending);
        sender.try_send(n).unwrap();
        assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(Some(n)));
    }
    assert_eq!(allocations(), before, "try_reset reuses the allocation");
}

/// An RPC makes a new oneshot channel per call; the block of the last one
/// is reused, also when the handles went away in the other order or more
/// were in flight at once.
#[test]
#[cfg_attr(kiln_sanitize, ignore = "the cache is off under kiln_sanitize")]
fn oneshot_new_after_one_is_gone_does_not_allocate() {
    // Warm up: the first channels of each size come from the allocator.
    let in_flight: [_; 10] = std::array::from_fn(|_| oneshot::new::<u64>());
    drop(in_flight);
    drop(oneshot::new::<[u64; 6]>());
    let (_count, waker) = CountWaker::new();
    let before = allocations();
    for n in 0..10_000 {
        let (sender, mut receiver) = oneshot::new::<u64>();
        let mut recv = receiver.recv();
        assert_eq!(poll_once(&mut recv, &waker), Poll::Pending);
        sender.try_send(n).unwrap();
        assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(Some(n)));
        // Sender first, receiver last; now the other way round.
        drop(receiver);
        let (sender, receiver) = oneshot::new::<[u64; 6]>();
        drop(receiver);
        assert_eq!(sender.try_send([n; 6]), Err([n; 6]));
    }
    // Ten in flight at once.
    let in_flight: [_; 10] = std::array::from_fn(|_| oneshot::new::<u64>());
    for (n, (sender, mut receiver)) in (0..).zip(in_flight) {
        sender.try_send(n).unwrap();
        assert_eq!(receiver.try_recv(), Ok(n));
    }
    assert_eq!(allocations(), before, "oneshot blocks are recycled");
}

#[test]
fn new_inbox_allocates_once_and_its_first_send_once() {
    for capacity in [1, 8, 100, kiln_inbox::MAX_CAPACITY] {
        let before = allocations();
        let (sender, mut receiver) = kiln_inbox::new::<String>(capacity);
        let (manager, other_sender, mut other_receiver) = Manager::<String>::new(capacity);
        assert_eq!(
            allocations(),
            before + 2,
            "one allocation per inbox, no slots yet (capacity {capacity})"
        );
        // Receiving from, and closing, an inbox never sent to allocates
        // nothing.
        assert!(other_receiver.try_recv().is_err());
        drop(other_sender);
        assert_eq!(
            other_receiver.try_recv(),
            Err(kiln_inbox::RecvError::Disconnected)
        );
        assert_eq!(manager.close().count(), 0);
        drop(other_receiver);
        assert_eq!(allocations(), before + 2);
        let msg = "moved, not copied".to_owned();
        let before = allocations();
        sender.try_send(msg).unwrap();
        sender.try_send(String::new()).unwrap_or_else(|err| {
            assert!(err.is_full() && capacity == 1, "{err:?}");
        });
        assert_eq!(allocations(), before + 1, "the slots, on the first send");
        assert_eq!(receiver.try_recv().unwrap(), "moved, not copied");
    }
}
