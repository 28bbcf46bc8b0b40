//! [`ThinArc`]: a reference-counted header followed by an array, in one
//! allocation, behind a one-word pointer.
//!
//! Every inbox is one `ThinArc<Header, Slot<M>>` (see [`crate::channel`]):
//! its handles share the channel's header and its `capacity` slots. With the
//! slots in the header's allocation, rather than an `Arc` of the header
//! pointing to a `Box<[Slot]>`, an inbox is one allocation instead of two
//! (one allocator chunk overhead and rounding less), needs no slice pointer,
//! and finds a slot at the allocation's address plus a constant plus the
//! index times the slot size: one load fewer than through the `Box`.
//!
//! `std` cannot do this on stable: `Arc<[T]>` has no header, and an unsized
//! `Arc<Channel<[Slot]>>` can only be made by unsizing a value whose length
//! is known at compile time; it would also make every handle a two-word
//! pointer.
//!
//! # Layout
//!
//! ```text
//!  [ count: u32 | len: u32 | header: H ][ padding ][ T; len ]
//!  ^ ptr                                           ^ ptr + ITEMS_OFFSET
//! ```
//!
//! (The compiler may order the fields of the first part differently; only
//! its size matters.) `ITEMS_OFFSET` is the size of the first part rounded
//! up to `T`'s alignment, so the items are aligned; the allocation's
//! alignment is the larger of the two parts'.
//!
//! * `count` is the number of `ThinArc`s, like `Arc`'s strong count (there
//!   are no weak references). A clone adds one with `Relaxed` (it is made
//!   from an existing reference, which keeps the allocation alive); a drop
//!   subtracts one with `AcqRel`, so the drop that takes it to zero comes
//!   after every other reference's last use, and it drops the header and
//!   the items and frees the memory. More than `i32::MAX` references abort
//!   the process, as `Arc` does on overflow.
//! * `len` never changes.
//!
//! The header is reached through a reference to the first part only; the
//! items through a pointer computed from the allocation's pointer (so that it
//! carries the provenance of the whole allocation), never from a reference
//! to the header.

use std::alloc::{Layout, handle_alloc_error};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::{self, NonNull};
use std::slice;

use crate::loom::{AtomicU32, Ordering, alloc, dealloc};

/// Above this many references a clone aborts the process; unreachable
/// without leaking references in a loop.
const MAX_COUNT: u32 = i32::MAX as u32;

/// The first part of the allocation.
struct Inner<H> {
    /// Number of [`ThinArc`]s.
    count: AtomicU32,
    /// Number of items.
    len: u32,
    header: H,
}

/// A shared header `H` and a fixed number of `T`s in one reference-counted
/// allocation. See the [module docs](self).
pub(crate) struct ThinArc<H, T> {
    ptr: NonNull<Inner<H>>,
    /// Owns the header and the items.
    _owns: PhantomData<(H, T)>,
}

// SAFETY: like `Arc`: the header and the items are shared between threads
// (so `Sync`) and dropped by whichever thread drops the last reference (so
// `Send`).
unsafe impl<H: Send + Sync, T: Send + Sync> Send for ThinArc<H, T> {}
// SAFETY: see `Send`; `&ThinArc` only gives out shared references.
unsafe impl<H: Send + Sync, T: Send + Sync> Sync for ThinArc<H, T> {}

impl<H, T> ThinArc<H, T> {
    /// Offset of the first item from the start of the allocation.
    const ITEMS_OFFSET: usize = size_of::<Inner<H>>().next_multiple_of(align_of::<T>());

    /// Allocates `header` and `len` items, item `i` made by `item(i)`, with
    /// a count of one.
    ///
    /// # Panics
    ///
    /// If `len` does not fit in an `u32` or the allocation would exceed
    /// `isize::MAX` bytes. If `item` panics, the allocation and the items
    /// made so far are leaked.
    pub(crate) fn new(header: H, len: usize, mut item: impl FnMut(usize) -> T) -> ThinArc<H, T> {
        let Ok(len32) = u32::try_from(len) else {
            panic!("ThinArc of {len} items: too many");
        };
        let layout = Self::layout(len);
        // SAFETY: `layout` is not zero-sized: it holds at least an `Inner`,
        // which holds a `count`.
        let raw = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<Inner<H>>()) else {
            handle_alloc_error(layout)
        };
        let inner = Inner {
            count: AtomicU32::new(1),
            len: len32,
            header,
        };
        // SAFETY: the allocation starts with room for an `Inner`, at an
        // address aligned for it (the layout's alignment is at least
        // `Inner`'s), and nothing else uses it yet.
        unsafe { ptr.write(inner) };
        let items = Self::items_ptr(ptr);
        for index in 0..len {
            let value = item(index);
            // SAFETY: `index < len`, so this is item `index` of the array
            // that `layout` has room for after `ITEMS_OFFSET`.
            let slot = unsafe { items.add(index) };
            // SAFETY: in the allocation (see above), aligned (the offset and
            // `size_of::<T>()` are multiples of `align_of::<T>()`), and not
            // written yet.
            unsafe { slot.write(value) };
        }
        ThinArc {
            ptr,
            _owns: PhantomData,
        }
    }

    /// Layout of an allocation of `len` items.
    fn layout(len: usize) -> Layout {
        let layout = Layout::array::<T>(len)
            .and_then(|array| Layout::new::<Inner<H>>().extend(array))
            .map(|(layout, offset)| {
                debug_assert_eq!(offset, Self::ITEMS_OFFSET);
                layout
            });
        match layout {
            Ok(layout) => layout,
            Err(err) => panic!("ThinArc of {len} items: {err}"),
        }
    }

    /// Bytes allocated for `len` items.
    #[cfg(test)]
    pub(crate) fn allocation_size(len: usize) -> usize {
        Self::layout(len).size()
    }

    /// Pointer to the first item of the allocation at `ptr`.
    fn items_ptr(ptr: NonNull<Inner<H>>) -> *mut T {
        // SAFETY: `ITEMS_OFFSET` is at most the size of the allocation (see
        // `layout`), so the result is in it or just past its end.
        unsafe { ptr.as_ptr().cast::<u8>().add(Self::ITEMS_OFFSET) }.cast::<T>()
    }

    /// The first part of the allocation.
    fn inner(&self) -> &Inner<H> {
        // SAFETY: `ptr` points to an initialised `Inner` that lives as long as
        // the count is not zero, which our reference guarantees; it is only
        // changed through atomics (and the header's own interior mutability).
        unsafe { self.ptr.as_ref() }
    }

    /// The items.
    pub(crate) fn items(&self) -> &[T] {
        let len = self.inner().len as usize;
        // SAFETY: the allocation holds `len` initialised items from
        // `items_ptr`, alive while our reference keeps the count up, and
        // changed only through the items' interior mutability. The pointer is
        // derived from the allocation's, so it may reach past the header.
        unsafe { slice::from_raw_parts(Self::items_ptr(self.ptr), len) }
    }

    /// Number of items.
    pub(crate) fn len(&self) -> usize {
        self.inner().len as usize
    }

    /// Address of the allocation: the same for all clones.
    pub(crate) fn as_ptr(&self) -> *const () {
        self.ptr.as_ptr().cast_const().cast()
    }

    /// Whether `a` and `b` share one allocation.
    pub(crate) fn ptr_eq(a: &ThinArc<H, T>, b: &ThinArc<H, T>) -> bool {
        a.ptr == b.ptr
    }

    /// Drops the header and the items and frees the allocation.
    ///
    /// # Safety
    ///
    /// `ptr` must be the last reference to the allocation, whose other
    /// references' uses all happened before, and must not be used again.
    unsafe fn free(ptr: NonNull<Inner<H>>) {
        // SAFETY: initialised, and ours alone (per the caller).
        let len = unsafe { ptr.as_ref() }.len as usize;
        // Frees the memory even if a drop below panics.
        let _dealloc = Dealloc {
            ptr: ptr.as_ptr().cast::<u8>(),
            layout: Self::layout(len),
        };
        let items = ptr::slice_from_raw_parts_mut(Self::items_ptr(ptr), len);
        // SAFETY: initialised and ours alone; never used again.
        unsafe { ptr::drop_in_place(ptr.as_ptr()) };
        // SAFETY: the same for the items.
        unsafe { ptr::drop_in_place(items) };
    }
}

impl<H, T> Deref for ThinArc<H, T> {
    type Target = H;

    fn deref(&self) -> &H {
        &self.inner().header
    }
}

impl<H, T> Clone for ThinArc<H, T> {
    fn clone(&self) -> ThinArc<H, T> {
        let old = self.inner().count.fetch_add(1, Ordering::Relaxed);
        if old > MAX_COUNT {
            std::process::abort();
        }
        ThinArc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<H, T> Drop for ThinArc<H, T> {
    fn drop(&mut self) {
        if self.inner().count.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // SAFETY: the count was one, so this is the last reference (a new one
        // is only made from an existing one), and our `AcqRel` decrement
        // read the release sequence of every other decrement: their uses
        // happened before. `self` is not used after this.
        unsafe { Self::free(self.ptr) };
    }
}

/// Frees an allocation of [`ThinArc`] when dropped.
struct Dealloc {
    ptr: *mut u8,
    layout: Layout,
}

impl Drop for Dealloc {
    fn drop(&mut self) {
        // SAFETY: `ptr` was allocated with `layout` by `ThinArc::new`, and
        // `ThinArc::free` made this guard for the last reference, whose
        // contents are dropped (or abandoned by a panic) before the guard.
        unsafe { dealloc(self.ptr, self.layout) };
    }
}
