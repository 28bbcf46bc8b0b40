//! [`Block`]: a reference-counted header in one allocation, behind a
//! one-word pointer, with room for one more value if asked.
//!
//! Every inbox is one `Block<Header<M>>` (see [`crate::channel`]): its
//! handles share the channel's header. The slots are allocated apart, on the
//! first send (see "Memory" in [`crate::channel`]), so an inbox nobody ever
//! sent to costs its header only.
//!
//! `std`'s `Arc` would do, but its weak count costs 8 bytes, and its strong
//! count a word of its own. Here the header holds its own count (a 32-bit
//! [`AtomicU32`], see [`Counted`]), so the header's small fields share the
//! count's word instead of padding the header.
//!
//! # The count
//!
//! The count is the number of `Block`s, like `Arc`'s strong count (there are
//! no weak references). A clone adds one with `Relaxed` (it is made from an
//! existing reference, which keeps the allocation alive); a drop subtracts
//! one with `AcqRel`, so the drop that takes it to zero comes after every
//! other reference's last use, and it drops the header and frees the memory.
//! More than `i32::MAX` references abort the process, as `Arc` does on
//! overflow.
//!
//! # Room for one more value
//!
//! A header may ask for *room* after it ([`Counted::room_units`]): up to
//! [`MAX_ROOM_UNITS`] units of [`ROOM_UNIT`] bytes, aligned to
//! [`ROOM_ALIGN`], which the block's owner fills and empties (see
//! [`crate::room`]: an actor's future lodged in its inbox's allocation). The
//! header says how big its room is, so that whichever reference goes last
//! frees the right layout. The block does not drop what is in the room: a
//! value there holds a reference of its own ([`Block::forget`],
//! [`Block::from_room`]), and is dropped before that reference goes.
//!
//! ```text
//!  [ header: H ][ padding ][ room: room_units * ROOM_UNIT bytes ]
//!  ^ ptr                   ^ ptr + ROOM_OFFSET
//! ```

use std::alloc::{Layout, handle_alloc_error};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

use crate::loom::{AtomicU32, Ordering, alloc, dealloc};

/// Above this many references a clone aborts the process; unreachable
/// without leaking references in a loop.
const MAX_COUNT: u32 = i32::MAX as u32;

/// The alignment of a block's room.
pub(crate) const ROOM_ALIGN: usize = 16;

/// The unit of a room's size: 8 bytes, so that a value whose size is a
/// multiple of 8 and not of 16 (an actor's future of 72 bytes, say) gets no
/// padding, which would push the allocation into the allocator's next size
/// class.
pub(crate) const ROOM_UNIT: usize = 8;

/// The most units of room a block has.
pub(crate) const MAX_ROOM_UNITS: u8 = u8::MAX;

/// A header that holds the reference count of its [`Block`].
///
/// # Safety
///
/// [`Counted::count`] must return the same counter every time, made with a
/// count of one with the header and changed only by [`Block`];
/// [`Counted::room_units`] the same number every time.
pub(crate) unsafe trait Counted {
    /// The reference count.
    fn count(&self) -> &AtomicU32;

    /// The size of the room after the header, in units of [`ROOM_UNIT`]
    /// bytes; 0 for none.
    fn room_units(&self) -> u8;
}

/// A shared header `H` in a reference-counted allocation. See the
/// [module docs](self).
pub(crate) struct Block<H: Counted> {
    ptr: NonNull<H>,
    /// Owns the header.
    _owns: PhantomData<H>,
}

// SAFETY: like `Arc`: the header is shared between threads (so `Sync`) and
// dropped by whichever thread drops the last reference (so `Send`).
unsafe impl<H: Counted + Send + Sync> Send for Block<H> {}
// SAFETY: see `Send`; `&Block` only gives out shared references.
unsafe impl<H: Counted + Send + Sync> Sync for Block<H> {}

impl<H: Counted> Block<H> {
    /// Where the room starts.
    pub(crate) const ROOM_OFFSET: usize = size_of::<H>().next_multiple_of(ROOM_ALIGN);

    /// The layout of a block with `room_units` of room.
    fn layout(room_units: u8) -> Layout {
        if room_units == 0 {
            return Layout::new::<H>();
        }
        let size = Self::ROOM_OFFSET + usize::from(room_units) * ROOM_UNIT;
        match Layout::from_size_align(size, align_of::<H>().max(ROOM_ALIGN)) {
            Ok(layout) => layout,
            Err(err) => panic!("a block of {size} bytes: {err}"),
        }
    }

    /// Allocates `header`, whose count must be one, with the room it asks
    /// for (see [`Block::room`]).
    pub(crate) fn new(header: H) -> Block<H> {
        debug_assert_eq!(header.count().load(Ordering::Relaxed), 1);
        let layout = Self::layout(header.room_units());
        assert_ne!(layout.size(), 0, "a counted header is not zero-sized");
        // SAFETY: `layout` is not zero-sized (checked above; it holds a
        // count).
        let raw = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<H>()) else {
            handle_alloc_error(layout)
        };
        // SAFETY: the allocation starts with room for an `H`, aligned for it,
        // and nothing else uses it yet.
        unsafe { ptr.write(header) };
        Block {
            ptr,
            _owns: PhantomData,
        }
    }

    /// Bytes allocated for a block with `room_units` of room.
    #[cfg(test)]
    pub(crate) fn allocation_size(room_units: u8) -> usize {
        Self::layout(room_units).size()
    }

    /// The start of the block's room (see the [module docs](self)): room
    /// units times [`ROOM_UNIT`] bytes, aligned to [`ROOM_ALIGN`], for the
    /// block's owner. Not to be used if the block has no room.
    pub(crate) fn room(&self) -> NonNull<u8> {
        debug_assert_ne!(self.room_units(), 0, "a block without room");
        // SAFETY: with room, `ROOM_OFFSET` is within the allocation (see
        // `layout`), and the pointer is derived from the allocation's, so
        // it may reach past the header. Without room (a bug, asserted
        // above) it is at most 15 bytes past the header's end, still not
        // wrapping the address space: the pointer is never dereferenced
        // then.
        unsafe { self.ptr.cast::<u8>().byte_add(Self::ROOM_OFFSET) }
    }

    /// Gives up this reference without dropping it: the block stays alive
    /// for [`Block::from_room`] to take it back.
    pub(crate) fn forget(self) {
        std::mem::forget(self);
    }

    /// The reference given up with [`Block::forget`] by the owner of the
    /// room at `room`.
    ///
    /// # Safety
    ///
    /// `room` is [`Block::room`] of a block with room, one of whose
    /// references was given up with [`Block::forget`] and is taken back
    /// only by this call.
    pub(crate) unsafe fn from_room(room: NonNull<u8>) -> Block<H> {
        Block {
            // SAFETY: `room` is `ROOM_OFFSET` past the start of the block
            // (it has room), per the caller, and was derived from the
            // allocation's pointer.
            ptr: unsafe { room.byte_sub(Self::ROOM_OFFSET) }.cast::<H>(),
            _owns: PhantomData,
        }
    }

    /// Address of the allocation: the same for all clones.
    pub(crate) fn as_ptr(&self) -> *const () {
        self.ptr.as_ptr().cast_const().cast()
    }

    /// Whether `a` and `b` share one allocation.
    pub(crate) fn ptr_eq(a: &Block<H>, b: &Block<H>) -> bool {
        a.ptr == b.ptr
    }
}

impl<H: Counted> Deref for Block<H> {
    type Target = H;

    fn deref(&self) -> &H {
        // SAFETY: `ptr` points to an initialised header that lives as long as
        // the count is not zero, which our reference guarantees; it is only
        // changed through its interior mutability.
        unsafe { self.ptr.as_ref() }
    }
}

impl<H: Counted> Clone for Block<H> {
    fn clone(&self) -> Block<H> {
        let old = self.count().fetch_add(1, Ordering::Relaxed);
        if old > MAX_COUNT {
            std::process::abort();
        }
        Block {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<H: Counted> Drop for Block<H> {
    fn drop(&mut self) {
        if self.count().fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // Frees the memory even if the header's drop panics.
        let _dealloc = Dealloc {
            ptr: self.ptr.as_ptr().cast::<u8>(),
            layout: Self::layout(self.room_units()),
        };
        // SAFETY: the count was one, so this is the last reference (a new one
        // is only made from an existing one), and our `AcqRel` decrement
        // read the release sequence of every other decrement: their uses
        // happened before. The header is initialised and never used again.
        unsafe { std::ptr::drop_in_place(self.ptr.as_ptr()) };
    }
}

/// Frees an allocation of [`Block`] when dropped.
struct Dealloc {
    ptr: *mut u8,
    layout: Layout,
}

impl Drop for Dealloc {
    fn drop(&mut self) {
        // SAFETY: `ptr` was allocated with `layout` by `Block::new`, and
        // `Block::drop` made this guard for the last reference, whose
        // header is dropped (or abandoned by a panic) before the guard.
        unsafe { dealloc(self.ptr, self.layout) };
    }
}
