//! The slots of an inbox's ring, their stamps, and [`Slots`]: the array of
//! them, allocated by the first claim.
//!
//! [`crate::channel`] owns the algorithm that moves slots between states;
//! this module owns their memory. A slot's *stamp* is `position << 2 |
//! state` (see "Algorithm" in [`crate::channel`]).
//!
//! # Allocated on first use
//!
//! Most inboxes are small and many are never sent to (an idle actor waiting
//! for its first message; the leaves of a tree of actors that only send to
//! their parent), so the array is not part of the inbox's allocation: an
//! inbox holds a pointer to it, null until a sender first claims a position
//! ([`Slots::get_or_install`]). That sender allocates the array, sets every
//! slot `WRITABLE` at its index, and installs it with a CAS (`Release`); a
//! sender that loses the race frees its own array and uses the winner's
//! (read with `Acquire`). Every claim is sequenced after the install its
//! claimer saw, so whoever sees a position published (an `Acquire` read of
//! its stamp, through a synchronisation that reached the claimer's publish)
//! also sees the array; a reader that finds the pointer null has seen no
//! publish either, and treats the ring as empty. The array is freed with the
//! inbox.

use std::alloc::{Layout, handle_alloc_error};
use std::mem::MaybeUninit;
use std::ptr::NonNull;

use crate::loom::{AtomicPtr, AtomicU64, Ordering, UnsafeCell, alloc, dealloc};
use crate::unwind::FirstPanic;

/// Slot state: free for (or claimed for) the stamp's position.
pub(crate) const WRITABLE: u64 = 0;
/// Slot state: holds the message of the stamp's position.
pub(crate) const FILLED: u64 = 1;
/// Slot state: the stamp's position was given up by a dropped permit.
pub(crate) const SKIPPED: u64 = 2;
/// Mask of the state in a stamp.
pub(crate) const STATE_MASK: u64 = 0b11;

/// `stamp` of position `pos` in `state`.
pub(crate) const fn stamp(pos: u64, state: u64) -> u64 {
    (pos << 2) | state
}

/// Position of `stamp`.
pub(crate) const fn stamp_pos(stamp: u64) -> u64 {
    stamp >> 2
}

/// One slot of the ring.
pub(crate) struct Slot<M> {
    pub(crate) stamp: AtomicU64,
    value: UnsafeCell<MaybeUninit<M>>,
}

// SAFETY: messages move between threads (so `M: Send`), and are only
// accessed by one thread at a time: the protocol in `crate::channel` hands
// each value cell from its claimer to the consumer. A shared slot never
// gives out `&M` to more than the consumer, so `M: Sync` is not needed.
unsafe impl<M: Send> Send for Slot<M> {}
// SAFETY: see `Send` above; all shared mutation goes through the atomic
// stamp or the value cell, owned as described.
unsafe impl<M: Send> Sync for Slot<M> {}

impl<M> Slot<M> {
    /// Slot of position `pos` before any message: `WRITABLE` at `pos`.
    fn new(pos: u64) -> Slot<M> {
        Slot {
            stamp: AtomicU64::new(stamp(pos, WRITABLE)),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Writes `msg` into the value cell (not publishing it).
    ///
    /// # Safety
    ///
    /// The caller must own the cell (it claimed the slot's position) and the
    /// cell must not hold a value.
    pub(crate) unsafe fn write(&self, msg: M) {
        self.value.with_mut(|cell| {
            // SAFETY: the caller owns the cell, so nobody else accesses it.
            unsafe { (*cell).write(msg) };
        });
    }

    /// Moves the value out of the slot.
    ///
    /// # Safety
    ///
    /// The value must be initialised, the caller must own the cell (see
    /// `crate::channel`) and must make sure it is not read again (by
    /// changing the stamp).
    pub(crate) unsafe fn read(&self) -> M {
        self.value.with(|cell| {
            // SAFETY: `with` gives a valid, aligned pointer, and the caller
            // owns the cell, so nobody writes it meanwhile.
            let cell = unsafe { &*cell };
            // SAFETY: initialised, per the caller.
            unsafe { cell.assume_init_read() }
        })
    }

    /// A reference to the value in the slot.
    ///
    /// # Safety
    ///
    /// The value must be initialised and the caller must own the cell for as
    /// long as the reference lives.
    pub(crate) unsafe fn get(&self) -> &M {
        self.value.with(|cell| {
            // SAFETY: `with` gives a valid, aligned pointer into `self`, and
            // the caller owns the cell while the reference lives.
            let cell = unsafe { &*cell };
            // SAFETY: initialised, per the caller.
            unsafe { cell.assume_init_ref() }
        })
    }
}

impl<M> Drop for Slot<M> {
    fn drop(&mut self) {
        // Exclusive access: only the last handle drops the slots, and its
        // count decrement synchronised with all other handles' drops.
        if self.stamp.load(Ordering::Relaxed) & STATE_MASK == FILLED {
            // SAFETY: `FILLED` means initialised and not yet taken (taking a
            // value always changes the stamp), and we have exclusive access.
            let msg = unsafe { self.read() };
            // The slots are dropped in a loop: see `crate::unwind`.
            let mut panic = FirstPanic::default();
            panic.drop_value(msg);
            panic.resume();
        }
    }
}

/// The array of a channel's slots, null until the first claim; see the
/// [module docs](self). Its owner passes the capacity to every call: the
/// inbox keeps it beside its reference count, where it costs no padding.
pub(crate) struct Slots<M> {
    /// Null, or an array of the capacity's slots allocated with
    /// [`layout`], initialised before it was installed, never changed again
    /// and freed by [`Slots::free`].
    ptr: AtomicPtr<Slot<M>>,
}

/// The layout of an array of `capacity` slots.
fn layout<M>(capacity: usize) -> Layout {
    match Layout::array::<Slot<M>>(capacity) {
        Ok(layout) if layout.size() != 0 => layout,
        _ => panic!("no room for an inbox of {capacity} slots"),
    }
}

impl<M> Slots<M> {
    /// No slots yet.
    pub(crate) fn new() -> Slots<M> {
        Slots {
            ptr: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The slots, if a sender installed them.
    #[inline]
    pub(crate) fn get(&self) -> Option<NonNull<Slot<M>>> {
        // `Acquire`: the array was initialised before it was installed.
        NonNull::new(self.ptr.load(Ordering::Acquire))
    }

    /// The slots, installed by this call if no sender did before.
    #[inline]
    pub(crate) fn get_or_install(&self, capacity: usize) -> NonNull<Slot<M>> {
        match self.get() {
            Some(slots) => slots,
            None => self.install(capacity),
        }
    }

    /// Allocates and installs the slots; see the [module docs](self).
    #[cold]
    fn install(&self, capacity: usize) -> NonNull<Slot<M>> {
        let layout = layout::<M>(capacity);
        // SAFETY: `layout` is not zero-sized (checked by `layout`).
        let raw = unsafe { alloc(layout) }.cast::<Slot<M>>();
        let Some(new) = NonNull::new(raw) else {
            handle_alloc_error(layout)
        };
        for index in 0..capacity {
            // SAFETY: `index < capacity`, in the array `layout` has room for.
            let slot = unsafe { new.add(index) };
            // SAFETY: in the allocation, aligned, not written yet, and nobody
            // else has it. `index as u64` cannot truncate (a capacity is at
            // most `MAX_CAPACITY`).
            unsafe { slot.write(Slot::new(index as u64)) };
        }
        match self.ptr.compare_exchange(
            std::ptr::null_mut(),
            new.as_ptr(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => new,
            Err(installed) => {
                // SAFETY: our array, never installed, holds no value (every
                // slot `WRITABLE`), and nobody else has it.
                unsafe { free_array(new, capacity) };
                // SAFETY: non-null (the CAS failed on it), and our
                // `Acquire` failure read its installing CAS.
                unsafe { NonNull::new_unchecked(installed) }
            }
        }
    }

    /// Drops the slots (and the messages left in them, see [`Slot`]'s
    /// `Drop`) and frees the array.
    ///
    /// # Safety
    ///
    /// `capacity` is the capacity every other call was given, and nobody
    /// uses the slots any more (the inbox's last handle is being dropped).
    pub(crate) unsafe fn free(&mut self, capacity: usize) {
        // A load rather than `get_mut`, which loom's atomics spell otherwise.
        if let Some(slots) = NonNull::new(self.ptr.load(Ordering::Acquire)) {
            // SAFETY: installed, so allocated for `capacity` slots and
            // initialised; ours alone, per the caller.
            unsafe { free_array(slots, capacity) };
        }
    }
}

/// Drops the `capacity` slots at `slots` and frees them, also if a drop
/// panics.
///
/// # Safety
///
/// `slots` was allocated with `layout::<M>(capacity)`, holds `capacity`
/// initialised slots, and nobody uses it any more.
unsafe fn free_array<M>(slots: NonNull<Slot<M>>, capacity: usize) {
    /// Frees the array once its slots are dropped (or one panicked).
    struct Dealloc(*mut u8, Layout);

    impl Drop for Dealloc {
        fn drop(&mut self) {
            // SAFETY: allocated with this layout (see `free_array`), no
            // longer used.
            unsafe { dealloc(self.0, self.1) };
        }
    }

    let _dealloc = Dealloc(slots.as_ptr().cast(), layout::<M>(capacity));
    let array = std::ptr::slice_from_raw_parts_mut(slots.as_ptr(), capacity);
    // SAFETY: initialised, ours alone, never used again (per the caller).
    unsafe { std::ptr::drop_in_place(array) };
}
