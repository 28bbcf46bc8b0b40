//! [`WaitLists`]: tasks waiting for an event that may come from any thread.
//!
//! Every inbox has two lists: senders waiting for a free slot (backpressure
//! of [`Sender::send`](crate::Sender::send) and
//! [`Sender::reserve`](crate::Sender::reserve)) and tasks waiting for the
//! consumer side to go away ([`Sender::join`](crate::Sender::join)). Each is
//! used through a [`WaitList`] view.
//!
//! Both lists live behind one [`Mutex`], and are allocated when the first
//! task waits: every actor's inbox has them and most never hold a waiter, so
//! the empty pair is an atomic count and a mutex around `None` (24 bytes,
//! where two separate lists took 48). Waiting senders and joiners share the
//! lock; nothing holds it while taking it again or while waking a task.
//!
//! The number of waiting senders is copied into an atomic,
//! [`WaitList::has_waiters`], so the receive hot path can check for waiters
//! without locking. The copy is stored while holding the lock, so it is
//! exactly the length of the list at each unlock; readers outside the lock
//! see a value that is at worst stale. Why a stale read cannot lose a wake-up
//! is argued where it is read, in [`crate::channel`]. The joiners need no
//! such copy: they are woken with the lock taken (see [`crate::join`]).
//!
//! Each registration gets an id, unique in its pair of lists. A future keeps
//! its id while registered, so that it can update its waker, learn whether
//! it was woken (its entry is gone) and remove itself when dropped.

use std::collections::VecDeque;
use std::fmt;
use std::task::Waker;

use crate::loom::{AtomicUsize, Mutex, Ordering, lock};

/// Identifies one registration in a [`WaitLists`].
pub(crate) type WaitId = u64;

/// The two lists of waiting tasks of an inbox, see the [module docs](self).
pub(crate) struct WaitLists {
    /// Number of entries in `inner.send`, stored under the lock.
    send_len: AtomicUsize,
    /// `None` until the first registration.
    inner: Mutex<Option<Box<Inner>>>,
}

struct Inner {
    next_id: WaitId,
    send: VecDeque<(WaitId, Waker)>,
    join: VecDeque<(WaitId, Waker)>,
}

/// Which of the two lists.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Senders waiting for a free slot.
    Send,
    /// Tasks waiting for the consumer side to go.
    Join,
}

/// One list of a [`WaitLists`].
#[derive(Copy, Clone)]
pub(crate) struct WaitList<'l> {
    lists: &'l WaitLists,
    kind: Kind,
}

impl WaitLists {
    /// Two empty lists.
    pub(crate) fn new() -> WaitLists {
        WaitLists {
            send_len: AtomicUsize::new(0),
            inner: Mutex::new(None),
        }
    }

    /// Senders waiting for a free slot.
    pub(crate) fn send(&self) -> WaitList<'_> {
        WaitList {
            lists: self,
            kind: Kind::Send,
        }
    }

    /// Tasks waiting for the consumer side to go.
    pub(crate) fn join(&self) -> WaitList<'_> {
        WaitList {
            lists: self,
            kind: Kind::Join,
        }
    }

    /// Wakes (and removes) every waiting sender, then every joiner: what a
    /// disconnect does. One lock for both lists, and nothing more when no
    /// task ever waited (the usual case for an actor that stops): this runs
    /// once per actor, and two `wake_all` calls cost about 180 instructions
    /// per actor in the skynet benchmark (callgrind).
    pub(crate) fn wake_everyone(&self) {
        let Some((send, join)) = ({
            let mut guard = lock(&self.inner);
            guard.as_mut().map(|inner| {
                let lists = (
                    std::mem::take(&mut inner.send),
                    std::mem::take(&mut inner.join),
                );
                self.send_len.store(0, Ordering::Release);
                lists
            })
        }) else {
            return;
        };
        for (_, waker) in send.into_iter().chain(join) {
            waker.wake();
        }
    }
}

impl Inner {
    /// The list of `kind`.
    fn list(&mut self, kind: Kind) -> &mut VecDeque<(WaitId, Waker)> {
        match kind {
            Kind::Send => &mut self.send,
            Kind::Join => &mut self.join,
        }
    }
}

impl WaitList<'_> {
    /// Whether any sender waits (a possibly stale hint, without locking).
    /// Only for the list of senders.
    pub(crate) fn has_waiters(self) -> bool {
        debug_assert_eq!(self.kind, Kind::Send, "only senders are counted");
        self.lists.send_len.load(Ordering::Acquire) != 0
    }

    /// Copies the length of the list of senders, under the lock.
    fn store_len(self, inner: &mut Inner) {
        if self.kind == Kind::Send {
            self.lists
                .send_len
                .store(inner.send.len(), Ordering::Release);
        }
    }

    /// Registers `waker` (or, if `id` is still registered, updates its waker)
    /// and returns the id of the registration.
    ///
    /// Returns `(id, true)` if `id` was still registered, `(new_id, false)` if
    /// it was not (it was woken or is `None`) and a new entry was added.
    pub(crate) fn register(self, id: Option<WaitId>, waker: &Waker) -> (WaitId, bool) {
        let mut guard = lock(&self.lists.inner);
        let inner = guard.get_or_insert_with(|| {
            Box::new(Inner {
                next_id: 0,
                send: VecDeque::new(),
                join: VecDeque::new(),
            })
        });
        if let Some(id) = id {
            if let Some((_, old)) = inner.list(self.kind).iter_mut().find(|(i, _)| *i == id) {
                if !old.will_wake(waker) {
                    old.clone_from(waker);
                }
                return (id, true);
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.list(self.kind).push_back((id, waker.clone()));
        self.store_len(inner);
        (id, false)
    }

    /// Removes registration `id`; returns `false` if it was already removed
    /// by a wake-up.
    pub(crate) fn remove(self, id: WaitId) -> bool {
        let mut guard = lock(&self.lists.inner);
        let Some(inner) = guard.as_mut() else {
            return false;
        };
        let list = inner.list(self.kind);
        let Some(index) = list.iter().position(|(i, _)| *i == id) else {
            return false;
        };
        let _ = list.remove(index);
        self.store_len(inner);
        true
    }

    /// Wakes (and removes) the longest waiting task, if any.
    pub(crate) fn wake_one(self) {
        let waker = {
            let mut guard = lock(&self.lists.inner);
            let Some(inner) = guard.as_mut() else {
                return;
            };
            let waker = inner.list(self.kind).pop_front();
            self.store_len(inner);
            waker
        };
        if let Some((_, waker)) = waker {
            waker.wake();
        }
    }

    /// Wakes (and removes) every waiting task.
    pub(crate) fn wake_all(self) {
        let waiters = {
            let mut guard = lock(&self.lists.inner);
            match guard.as_mut() {
                Some(inner) => {
                    let waiters = std::mem::take(inner.list(self.kind));
                    self.store_len(inner);
                    waiters
                }
                None => VecDeque::new(),
            }
        };
        for (_, waker) in waiters {
            waker.wake();
        }
    }
}

impl fmt::Debug for WaitLists {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitLists")
            .field("send_len", &self.send_len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WaitList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}
