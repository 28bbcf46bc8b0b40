//! Unit tests of the internals: the state word, the waker, the wait lists,
//! the counted block and the size of a channel's allocations.

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::task::{Wake, Waker};

use crate::block::{Block, Counted};
use crate::loom::AtomicU32;
use crate::state::{MANAGER_ALIVE, RECEIVER_ALIVE, State};
use crate::wait_list::WaitLists;
use crate::waker::{AtomicWaker, WakerCell};

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

/// The exit status shares the state word: setting it keeps the count and
/// the bits, and the count changing keeps the status.
#[test]
fn exit_status_in_the_state_word() {
    let state = State::new(true);
    assert_eq!(state.load().exit_status(), 0);
    state.set_exit_status(0xa5);
    state.add_sender();
    let s = state.load();
    assert_eq!((s.exit_status(), s.senders()), (0xa5, 2));
    assert!(s.has_receiver() && s.has_manager());
    assert_eq!(state.remove_sender().senders(), 2);
    let _ = state.clear(MANAGER_ALIVE);
    state.set_exit_status(1);
    let s = state.load();
    assert_eq!((s.exit_status(), s.senders()), (1, 1));
    assert!(s.has_receiver() && !s.has_manager());
}

#[test]
fn atomic_waker_wakes_registered_once() {
    let (state, cell) = (AtomicWaker::new_state(), WakerCell::new());
    let waker = AtomicWaker::new(&state, &cell);
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
    let (state, cell) = (AtomicWaker::new_state(), WakerCell::new());
    let waker = AtomicWaker::new(&state, &cell);
    let (first, w1) = count_waker();
    let (second, w2) = count_waker();
    assert!(waker.register(&w1));
    assert!(waker.register(&w2));
    waker.wake();
    assert_eq!((wakes(&first), wakes(&second)), (0, 1));
}

#[test]
fn wait_list_register_remove_wake() {
    let lists = WaitLists::new();
    let list = lists.send();
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

#[test]
fn wait_lists_are_separate() {
    let lists = WaitLists::new();
    let (senders, w) = count_waker();
    let (joiners, j) = count_waker();
    let (s, _) = lists.send().register(None, &w);
    let (a, _) = lists.join().register(None, &j);
    let (b, _) = lists.join().register(None, &j);
    assert!(s != a && s != b && a != b, "ids are unique in both lists");
    assert!(lists.send().has_waiters());
    assert!(!lists.send().remove(a), "a joiner is not a sender");
    assert!(lists.join().remove(a));
    lists.join().wake_all();
    assert_eq!((wakes(&senders), wakes(&joiners)), (0, 1));
    assert!(
        lists.send().has_waiters(),
        "joiners do not count as senders"
    );
    lists.join().wake_one();
    lists.send().wake_all();
    assert_eq!((wakes(&senders), wakes(&joiners)), (1, 1));
    assert!(!lists.send().has_waiters());
}

#[test]
fn wake_everyone_wakes_both_lists_once() {
    let (senders, w) = count_waker();
    let (joiners, j) = count_waker();
    let closed = WaitLists::new();
    // Never waited on: nothing to do, nothing allocated, and nobody can
    // register any more (the channel disconnected: see "Closing").
    closed.wake_everyone();
    let (id, registered) = closed.send().register(None, &w);
    assert!(!registered);
    assert!(!closed.send().has_waiters());
    assert!(!closed.send().remove(id), "nothing was registered");
    closed.join().wake_all();
    closed.wake_everyone();
    assert_eq!((wakes(&senders), wakes(&joiners)), (0, 0));

    let lists = WaitLists::new();
    let _ = lists.send().register(None, &w);
    let _ = lists.send().register(None, &w);
    let _ = lists.join().register(None, &j);
    lists.wake_everyone();
    assert_eq!((wakes(&senders), wakes(&joiners)), (2, 1));
    assert!(!lists.send().has_waiters());
    lists.wake_everyone();
    assert_eq!((wakes(&senders), wakes(&joiners)), (2, 1), "woken once");
}

/// Adds one to a shared count when dropped.
struct Dropped(StdArc<StdAtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, StdOrdering::SeqCst);
    }
}

/// A counted header that counts its drops, with `room_units` of room.
struct CountedHeader {
    count: AtomicU32,
    room_units: u8,
    _dropped: Dropped,
}

// SAFETY: `count` starts at one and only `Block` touches it; `room_units`
// never changes.
unsafe impl Counted for CountedHeader {
    fn count(&self) -> &AtomicU32 {
        &self.count
    }

    fn room_units(&self) -> u8 {
        self.room_units
    }
}

#[test]
fn block_shares_and_drops_once() {
    let drops = StdArc::new(StdAtomicUsize::new(0));
    for room_units in [0, 1, 255] {
        let block = Block::new(CountedHeader {
            count: AtomicU32::new(1),
            room_units,
            _dropped: Dropped(drops.clone()),
        });
        let clone = block.clone();
        assert!(Block::ptr_eq(&block, &clone));
        assert_eq!(block.as_ptr(), clone.as_ptr());
        if room_units != 0 {
            // The room is after the header, aligned, and ours to write.
            let room = block.room();
            assert_eq!(room.as_ptr().addr() % 16, 0);
            assert!(room.as_ptr().addr() >= block.as_ptr().addr() + size_of::<CountedHeader>());
            // SAFETY: the room holds `room_units * 8` bytes nobody else uses.
            unsafe { room.write_bytes(0xa5, usize::from(room_units) * 8) };
        }
        let before = drops.load(StdOrdering::SeqCst);
        drop(block);
        assert_eq!(drops.load(StdOrdering::SeqCst), before);
        drop(clone);
        assert_eq!(
            drops.load(StdOrdering::SeqCst),
            before + 1,
            "dropped once, by the last"
        );
    }
    assert_eq!(Block::<CountedHeader>::allocation_size(0), 16);
    assert_eq!(Block::<CountedHeader>::allocation_size(3), 16 + 3 * 8);
}

/// The size of an inbox for `u64` messages on the platform the benchmark
/// figures are measured on (the "Memory" section of `channel.rs`): a
/// 72-byte header (with the block's count and the capacity), and 16 bytes a
/// slot allocated on the first send. It was a 136-byte `Arc` and a separate
/// slice, then one allocation of an 88-byte header and the slots, then of a
/// 64-byte one (the wait lists' empty mutex and count, and the exit status
/// in a byte of its own, out of it).
#[test]
#[cfg(all(target_os = "linux", target_pointer_width = "64", not(loom)))]
fn channel_allocation_size() {
    use crate::channel::Channel;

    assert_eq!(size_of::<WaitLists>(), 8);
    assert_eq!(size_of::<WakerCell>(), 16);
    assert_eq!(Channel::<u64>::allocation_sizes(8), (64, 8 * 16));
    assert_eq!(Channel::<u64>::allocation_sizes(1), (64, 16));
}
