//! [`Block`]: a reference-counted header in one allocation, behind a
//! one-word pointer.
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

use std::alloc::{Layout, handle_alloc_error};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

use crate::loom::{AtomicU32, Ordering, alloc, dealloc};

/// Above this many references a clone aborts the process; unreachable
/// without leaking references in a loop.
const MAX_COUNT: u32 = i32::MAX as u32;

/// A header that holds the reference count of its [`Block`].
///
/// # Safety
///
/// [`Counted::count`] must return the same counter every time, made with a
/// count of one with the header and changed only by [`Block`].
pub(crate) unsafe trait Counted {
    /// The reference count.
    fn count(&self) -> &AtomicU32;
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
    const LAYOUT: Layout = Layout::new::<H>();

    /// Allocates `header`, whose count must be one.
    pub(crate) fn new(header: H) -> Block<H> {
        debug_assert_eq!(header.count().load(Ordering::Relaxed), 1);
        assert!(
            Self::LAYOUT.size() != 0,
            "a counted header is not zero-sized"
        );
        // SAFETY: `LAYOUT` is not zero-sized (checked above; it holds a
        // count).
        let raw = unsafe { alloc(Self::LAYOUT) };
        let Some(ptr) = NonNull::new(raw.cast::<H>()) else {
            handle_alloc_error(Self::LAYOUT)
        };
        // SAFETY: the allocation has `H`'s layout and nothing else uses it
        // yet.
        unsafe { ptr.write(header) };
        Block {
            ptr,
            _owns: PhantomData,
        }
    }

    /// Bytes allocated for a block.
    #[cfg(test)]
    pub(crate) const fn allocation_size() -> usize {
        Self::LAYOUT.size()
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
            layout: Self::LAYOUT,
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
