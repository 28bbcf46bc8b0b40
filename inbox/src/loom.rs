//! Facade over the synchronisation primitives, so [loom] can replace them.
//!
//! Every atomic, lock, unsafe cell and raw allocation in this
//! crate comes from here (the same trick as tokio's `src/loom/`). Normally these are the `std`
//! types; when the crate is compiled with `RUSTFLAGS="--cfg loom"` they are
//! loom's, which lets `tests/loom.rs` explore every interleaving (and every
//! memory-model-allowed stale read) of the algorithms in [`crate::channel`],
//! [`crate::waker`], [`crate::wait_list`] and [`crate::oneshot`].
//!
//! loom's `UnsafeCell` only hands out its contents through the closures `with`
//! and `with_mut` (so it can check for data races); [`UnsafeCell`] gives the
//! `std` build the same API. loom's [`alloc`] and [`dealloc`] are `std`'s plus
//! leak tracking, so a [`Block`](crate::block::Block) never freed is
//! reported like a leaked `Arc`.
//!
//! [loom]: https://docs.rs/loom

#[cfg(loom)]
pub(crate) use loom::alloc::{alloc, dealloc};
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::hint::spin_loop;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::alloc::{alloc, dealloc};
#[cfg(not(loom))]
pub(crate) use std::hint::spin_loop;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

pub(crate) use std::sync::atomic::Ordering;

/// `std`'s [`UnsafeCell`](std::cell::UnsafeCell) with loom's closure API.
#[cfg(not(loom))]
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a shared pointer to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a unique pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Locks `mutex`, ignoring poisoning.
///
/// Nothing in this crate panics while holding a lock, and the data behind
/// every lock stays consistent between its statements, so a poisoned lock
/// (a panicking waker, say) is still safe to use.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
