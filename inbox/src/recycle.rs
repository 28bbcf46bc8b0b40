//! A per-thread cache of small freed allocations, so that making a oneshot
//! channel for every RPC does not go to the allocator.
//!
//! [`oneshot::new`](crate::oneshot::new) allocates one block per channel and
//! the last handle frees it. An actor calling another in a loop thus frees a
//! block and allocates one of the same size right after; keeping the freed
//! block in a thread-local list and handing it out again costs a few
//! instructions, where the allocator's fast path (glibc's tcache) costs
//! about 150 for the pair, measured with callgrind on W2 of `kiln-bench`.
//!
//! # Size classes
//!
//! Blocks of up to [`MAX_SIZE`] bytes with an alignment of at most
//! [`ALIGN`] are rounded up to a multiple of [`ALIGN`] and allocated with
//! that alignment, so any two requests of the same *class* (rounded size)
//! can share blocks. Each class keeps at most [`KEEP`] free blocks in an
//! intrusive singly linked list (the link is written into the free block
//! itself); a block freed beyond that goes back to the allocator. Larger or
//! more aligned layouts always use the allocator.
//!
//! A block allocated on one thread and freed on another goes into the
//! second thread's list: it is plain memory from the global allocator, so
//! that is fine. Each thread's lists are returned to the allocator when the
//! thread exits; during that exit (the list already gone) blocks go straight
//! to the allocator.
//!
//! Under loom the cache is off: every block comes from loom's allocator,
//! whose leak check then covers the oneshot channel. It is also off with
//! `--cfg kiln_sanitize` (set for the AddressSanitizer and ThreadSanitizer
//! runs, see RELIABILITY.md), so that a use after free of a block is not
//! hidden by its reuse.

use std::alloc::{Layout, handle_alloc_error};
use std::ptr::NonNull;

use crate::loom::{alloc, dealloc};

/// Alignment of cached blocks, and the granularity of their sizes.
const ALIGN: usize = 16;
/// The largest block cached.
const MAX_SIZE: usize = 128;
/// Number of size classes: 16, 32, ..., 128 bytes.
#[cfg_attr(any(loom, kiln_sanitize), allow(dead_code))]
const CLASSES: usize = MAX_SIZE / ALIGN;
/// Free blocks kept per class and thread: enough for that many RPCs in
/// flight from one thread without touching the allocator. (Unused where
/// the cache is off: under loom and the sanitizers.)
#[cfg_attr(any(loom, kiln_sanitize), allow(dead_code))]
const KEEP: u16 = 64;

/// The class of `layout`, or `None` if it is not cached.
const fn class(layout: Layout) -> Option<usize> {
    if layout.size() == 0 || layout.size() > MAX_SIZE || layout.align() > ALIGN {
        None
    } else {
        Some(layout.size().div_ceil(ALIGN) - 1)
    }
}

/// The layout blocks of `class` are allocated with.
const fn class_layout(class: usize) -> Layout {
    match Layout::from_size_align((class + 1) * ALIGN, ALIGN) {
        Ok(layout) => layout,
        Err(_) => panic!("size classes are valid layouts"),
    }
}

/// Allocates a block for `layout`, reusing a free one of its class if this
/// thread has one.
pub(crate) fn allocate(layout: Layout) -> NonNull<u8> {
    let real = match class(layout) {
        Some(class) => {
            #[cfg(not(any(loom, kiln_sanitize)))]
            if let Some(block) = cache::pop(class) {
                return block;
            }
            class_layout(class)
        }
        None => layout,
    };
    // SAFETY: `real` is not zero-sized: `class` refuses zero-sized layouts
    // and the others are the caller's, which holds a state byte at least.
    let raw = unsafe { alloc(real) };
    match NonNull::new(raw) {
        Some(block) => block,
        None => handle_alloc_error(real),
    }
}

/// Frees a block from [`allocate`] with the same `layout`.
///
/// # Safety
///
/// `block` came from `allocate(layout)`, is not used after this call, and
/// holds nothing that needs dropping.
pub(crate) unsafe fn free(block: NonNull<u8>, layout: Layout) {
    let real = match class(layout) {
        Some(class) => {
            #[cfg(not(any(loom, kiln_sanitize)))]
            // SAFETY: `block` is a free block of `class`, per our caller.
            if unsafe { cache::push(class, block) } {
                return;
            }
            class_layout(class)
        }
        None => layout,
    };
    // SAFETY: `allocate` allocated `block` with `real` (the same
    // computation), and our caller gives it up.
    unsafe { dealloc(block.as_ptr(), real) };
}

/// The thread-local lists.
#[cfg(not(any(loom, kiln_sanitize)))]
mod cache {
    use std::cell::Cell;
    use std::ptr::NonNull;

    use super::{CLASSES, KEEP, class_layout};

    /// A free block: its first word links to the next free block.
    struct FreeBlock {
        next: Option<NonNull<FreeBlock>>,
    }

    /// One list per class.
    struct Lists {
        heads: [Cell<Option<NonNull<FreeBlock>>>; CLASSES],
        lens: [Cell<u16>; CLASSES],
    }

    thread_local! {
        static LISTS: Lists = const {
            Lists {
                heads: [const { Cell::new(None) }; CLASSES],
                lens: [const { Cell::new(0) }; CLASSES],
            }
        };
    }

    /// Takes a free block of `class`, if this thread has one.
    pub(super) fn pop(class: usize) -> Option<NonNull<u8>> {
        LISTS
            .try_with(|lists| {
                let block = lists.heads[class].get()?;
                // SAFETY: blocks in the list are free blocks of this thread,
                // each starting with a `FreeBlock` written by `push`.
                let next = unsafe { block.as_ptr().read().next };
                lists.heads[class].set(next);
                lists.lens[class].set(lists.lens[class].get() - 1);
                Some(block.cast())
            })
            .ok()
            .flatten()
    }

    /// Keeps `block` in the list of `class`; `false` if the list is full or
    /// gone (the thread is exiting), and the caller frees it.
    ///
    /// # Safety
    ///
    /// `block` is a block of `class` (allocated with `class_layout(class)`)
    /// that nobody uses any more.
    pub(super) unsafe fn push(class: usize, block: NonNull<u8>) -> bool {
        LISTS
            .try_with(|lists| {
                let len = lists.lens[class].get();
                if len >= KEEP {
                    return false;
                }
                let block = block.cast::<FreeBlock>();
                let next = lists.heads[class].get();
                // SAFETY: the block is at least 16 bytes, 16-aligned and
                // unused (our caller's promise), so it has room for the link.
                unsafe { block.as_ptr().write(FreeBlock { next }) };
                lists.heads[class].set(Some(block));
                lists.lens[class].set(len + 1);
                true
            })
            .unwrap_or(false)
    }

    impl Drop for Lists {
        fn drop(&mut self) {
            for (class, head) in self.heads.iter().enumerate() {
                let mut next = head.take();
                while let Some(block) = next {
                    // SAFETY: a free block of this list, see `pop`.
                    next = unsafe { block.as_ptr().read().next };
                    // SAFETY: allocated with `class_layout(class)` (see
                    // `push`), in no list any more, and never used again.
                    unsafe { std::alloc::dealloc(block.as_ptr().cast(), class_layout(class)) };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::alloc::Layout;

    use super::{ALIGN, MAX_SIZE, allocate, class, free};

    #[test]
    fn classes_round_up_and_refuse_what_they_cannot_hold() {
        let layout = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(class(layout(1, 1)), Some(0));
        assert_eq!(class(layout(16, 8)), Some(0));
        assert_eq!(class(layout(17, 8)), Some(1));
        assert_eq!(class(layout(MAX_SIZE, ALIGN)), Some(MAX_SIZE / ALIGN - 1));
        assert_eq!(class(layout(MAX_SIZE + 1, 8)), None);
        assert_eq!(class(layout(32, 32)), None);
        assert_eq!(class(layout(0, 1)), None);
    }

    #[test]
    #[cfg_attr(kiln_sanitize, ignore = "the cache is off under kiln_sanitize")]
    fn a_freed_block_is_handed_out_again_for_its_class() {
        let layout = Layout::from_size_align(40, 8).unwrap();
        let first = allocate(layout);
        // SAFETY: from `allocate(layout)`, unused.
        unsafe { free(first, layout) };
        // Same class (48 bytes), other size: the same block.
        let again = allocate(Layout::from_size_align(48, 16).unwrap());
        assert_eq!(again, first);
        assert_eq!(again.as_ptr() as usize % ALIGN, 0);
        // SAFETY: from `allocate` of this layout, unused.
        unsafe { free(again, Layout::from_size_align(48, 16).unwrap()) };
    }

    #[test]
    fn large_blocks_use_the_allocator() {
        let layout = Layout::from_size_align(4096, 64).unwrap();
        let block = allocate(layout);
        assert_eq!(block.as_ptr() as usize % 64, 0);
        // SAFETY: from `allocate(layout)`, unused.
        unsafe { free(block, layout) };
    }
}
