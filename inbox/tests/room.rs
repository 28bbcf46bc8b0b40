//! A value lodged in its inbox's allocation (`kiln_inbox::room`): dropped
//! once, when its owner drops it, whoever holds the inbox then; the
//! allocation freed once, by whichever goes last; one allocation for the
//! two.
//!
//! A counting global allocator counts this thread's allocations and frees.

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr::NonNull;

use kiln_inbox::room::{Lodged, Room, release_room};
use util::{DropCounter, drops};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

// SAFETY: forwards to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set((n.get().0 + 1, n.get().1)));
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = ALLOCATIONS.try_with(|n| n.set((n.get().0, n.get().1 + 1)));
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (allocations, frees) made on this thread so far.
fn counts() -> (usize, usize) {
    ALLOCATIONS.with(Cell::get)
}

/// What an actor's future holds: the inbox's receiver, and something whose
/// drop is counted.
struct Future {
    receiver: kiln_inbox::Receiver<DropCounter>,
    _dropped: DropCounter,
}

#[test]
fn inbox_and_value_are_one_allocation_freed_by_the_last_of_them() {
    let counter = DropCounter::counter();
    let (before, freed_before) = counts();
    let (manager, sender, receiver, room) = Room::<DropCounter, Future>::new(8).unwrap();
    let mut lodged = room.put(Future {
        receiver,
        _dropped: DropCounter::new(&counter, 0),
    });
    assert_eq!(counts(), (before + 1, freed_before), "one allocation");
    // The value lives where it was put, aligned.
    let address = std::ptr::from_ref(lodged.get()).addr();
    assert_eq!(address % align_of::<Future>(), 0);
    assert_eq!(
        std::ptr::from_mut(lodged.as_pin_mut().get_mut()).addr(),
        address
    );
    sender.try_send(DropCounter::new(&counter, 1)).unwrap();
    sender.try_send(DropCounter::new(&counter, 2)).unwrap();
    let first = lodged.as_pin_mut().get_mut().receiver.try_recv().unwrap();
    assert_eq!(first.value, 1);
    drop(first);
    assert_eq!(drops(&counter), 1);
    // The value goes (with its receiver); the manager keeps the inbox and
    // its message, the sender the allocation.
    drop(lodged);
    assert_eq!(drops(&counter), 2, "the value is dropped with its owner");
    drop(manager);
    assert_eq!(drops(&counter), 3, "the queued message with the inbox");
    assert!(sender.try_send(DropCounter::new(&counter, 4)).is_err());
    assert_eq!(drops(&counter), 4);
    // The block and the slots (allocated by the first send) go with the
    // inbox's last reference: the sender.
    assert_eq!(counts().1, freed_before);
    drop(sender);
    assert_eq!(
        counts(),
        (before + 2, freed_before + 2),
        "block and slots freed"
    );
}

#[test]
fn the_last_sender_can_go_before_the_value() {
    let counter = DropCounter::counter();
    let (before, freed_before) = counts();
    let (manager, sender, receiver, room) = Room::<DropCounter, Future>::new(1).unwrap();
    let lodged = room.put(Future {
        receiver,
        _dropped: DropCounter::new(&counter, 0),
    });
    drop(sender);
    drop(manager);
    assert_eq!(counts().1, freed_before, "the value still holds the inbox");
    drop(lodged);
    assert_eq!(drops(&counter), 1);
    assert_eq!(counts(), (before + 1, freed_before + 1));
}

#[test]
fn a_room_not_used_is_given_up() {
    let (before, freed_before) = counts();
    let (manager, sender, receiver, room) = Room::<u64, [u64; 4]>::new(4).unwrap();
    drop(room);
    drop((manager, receiver));
    assert!(sender.try_send(1).unwrap_err().is_disconnected());
    drop(sender);
    assert_eq!(counts(), (before + 1, freed_before + 1));
}

#[test]
fn raw_values_are_released_by_their_owner() {
    let counter = DropCounter::counter();
    let (before, freed_before) = counts();
    let (manager, sender, receiver, room) = Room::<DropCounter, Future>::new(2).unwrap();
    let raw: NonNull<Future> = room
        .put(Future {
            receiver,
            _dropped: DropCounter::new(&counter, 0),
        })
        .into_raw();
    // Back and forth, as a runtime keeping a `dyn` pointer does.
    // SAFETY: from `into_raw` of a `Lodged<DropCounter, Future>`, not given
    // back before.
    let raw = unsafe { Lodged::<DropCounter, Future>::from_raw(raw) }.into_raw();
    drop((manager, sender));
    // SAFETY: the lodged value, owned here, dropped once and not used again.
    unsafe { raw.drop_in_place() };
    assert_eq!(drops(&counter), 1);
    // SAFETY: the dropped value's address, released once.
    unsafe { release_room::<DropCounter>(raw.cast()) };
    assert_eq!(counts(), (before + 1, freed_before + 1));
}

#[test]
fn what_fits_in_a_room() {
    #[repr(align(32))]
    struct Aligned32(#[allow(dead_code, reason = "only its layout matters")] u8);
    #[repr(align(16))]
    struct Aligned16(#[allow(dead_code, reason = "only its layout matters")] [u8; 2032]);

    const {
        assert!(Room::<u64, u64>::FITS);
        assert!(Room::<u64, Aligned16>::FITS);
        assert!(Room::<u64, [u8; 2040]>::FITS);
        assert!(!Room::<u64, [u8; 2041]>::FITS);
        assert!(!Room::<u64, Aligned32>::FITS);
        // Nothing to lodge.
        assert!(!Room::<u64, ()>::FITS);
    }
    assert!(Room::<u64, Aligned32>::new(8).is_none());
    let (.., room) = Room::<u64, Aligned16>::new(8).unwrap();
    let lodged = room.put(Aligned16([7; 2032]));
    assert_eq!(std::ptr::from_ref(lodged.get()).addr() % 16, 0);
    assert_eq!(lodged.get().0[2031], 7);
}
