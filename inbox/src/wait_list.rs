//! [`WaitList`]: tasks waiting for an event that may come from any thread.
//!
//! The inbox keeps two: senders waiting for a free slot (backpressure of
//! [`Sender::send`](crate::Sender::send) and
//! [`Sender::reserve`](crate::Sender::reserve)) and tasks waiting for the
//! consumer side to go away ([`Sender::join`](crate::Sender::join)).
//!
//! It is a [`Mutex`] around a FIFO of `(id, waker)` entries plus an atomic
//! copy of the entry count, [`WaitList::has_waiters`], so the receive hot
//! path can check for waiters without locking. The count is stored while
//! holding the lock, so it is exactly the length of the list at each unlock;
//! readers outside the lock see a value that is at worst stale. Why a stale
//! read cannot lose a wake-up is argued where it is read, in
//! [`crate::channel`].
//!
//! The list itself is allocated when the first task waits: every actor's
//! inbox has two wait lists and most never hold a waiter, so an empty list
//! is a mutex around `None` (16 bytes instead of 48).
//!
//! Each registration gets an id, unique in its list. A future keeps its id
//! while registered, so that it can update its waker, learn whether it was
//! woken (its entry is gone) and remove itself when dropped.

use std::collections::VecDeque;
use std::fmt;
use std::task::Waker;

use crate::loom::{AtomicUsize, Mutex, Ordering, lock};

/// Identifies one registration in a [`WaitList`].
pub(crate) type WaitId = u64;

/// A list of waiting tasks, see the [module docs](self).
pub(crate) struct WaitList {
    /// Number of entries in `inner.waiters`, stored under the lock.
    len: AtomicUsize,
    /// `None` until the first registration.
    inner: Mutex<Option<Box<Inner>>>,
}

struct Inner {
    next_id: WaitId,
    waiters: VecDeque<(WaitId, Waker)>,
}

impl WaitList {
    /// An empty list.
    pub(crate) fn new() -> WaitList {
        WaitList {
            len: AtomicUsize::new(0),
            inner: Mutex::new(None),
        }
    }

    /// Whether anybody waits (a possibly stale hint, without locking).
    pub(crate) fn has_waiters(&self) -> bool {
        self.len.load(Ordering::Acquire) != 0
    }

    /// Registers `waker` (or, if `id` is still registered, updates its waker)
    /// and returns the id of the registration.
    ///
    /// Returns `(id, true)` if `id` was still registered, `(new_id, false)` if
    /// it was not (it was woken or is `None`) and a new entry was added.
    pub(crate) fn register(&self, id: Option<WaitId>, waker: &Waker) -> (WaitId, bool) {
        let mut guard = lock(&self.inner);
        let inner = guard.get_or_insert_with(|| {
            Box::new(Inner {
                next_id: 0,
                waiters: VecDeque::new(),
            })
        });
        if let Some(id) = id {
            if let Some((_, old)) = inner.waiters.iter_mut().find(|(i, _)| *i == id) {
                if !old.will_wake(waker) {
                    old.clone_from(waker);
                }
                return (id, true);
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.waiters.push_back((id, waker.clone()));
        self.len.store(inner.waiters.len(), Ordering::Release);
        (id, false)
    }

    /// Removes registration `id`; returns `false` if it was already removed
    /// by a wake-up.
    pub(crate) fn remove(&self, id: WaitId) -> bool {
        let mut guard = lock(&self.inner);
        let Some(inner) = guard.as_mut() else {
            return false;
        };
        let Some(index) = inner.waiters.iter().position(|(i, _)| *i == id) else {
            return false;
        };
        let _ = inner.waiters.remove(index);
        self.len.store(inner.waiters.len(), Ordering::Release);
        true
    }

    /// Wakes (and removes) the longest waiting task, if any.
    pub(crate) fn wake_one(&self) {
        let waker = {
            let mut guard = lock(&self.inner);
            let Some(inner) = guard.as_mut() else {
                return;
            };
            let waker = inner.waiters.pop_front();
            self.len.store(inner.waiters.len(), Ordering::Release);
            waker
        };
        if let Some((_, waker)) = waker {
            waker.wake();
        }
    }

    /// Wakes (and removes) every waiting task.
    pub(crate) fn wake_all(&self) {
        let waiters = {
            let mut guard = lock(&self.inner);
            self.len.store(0, Ordering::Release);
            guard
                .as_mut()
                .map(|inner| std::mem::take(&mut inner.waiters))
                .unwrap_or_default()
        };
        for (_, waker) in waiters {
            waker.wake();
        }
    }
}

impl fmt::Debug for WaitList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("len", &self.len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
