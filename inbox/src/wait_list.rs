//! [`WaitLists`]: tasks waiting for an event that may come from any thread.
//!
//! Every inbox has two lists: senders waiting for a free slot (backpressure
//! of [`Sender::send`](crate::Sender::send) and
//! [`Sender::reserve`](crate::Sender::reserve)) and tasks waiting for the
//! consumer side to go away ([`Sender::join`](crate::Sender::join)). Each is
//! used through a [`WaitList`] view.
//!
//! Both lists live behind one [`Mutex`], in a block allocated when the first
//! task waits: every actor's inbox has them and most never hold a waiter, so
//! an inbox holds only a pointer to the block, null until then (8 bytes; the
//! empty pair of an atomic count and a mutex around `None` took 24, two
//! separate lists 48). The first registration installs the block with a CAS
//! (a racing second one frees its own and uses the winner's); it is freed
//! with the inbox. Waiting senders and joiners share the lock; nothing holds
//! it while taking it again or while waking a task.
//!
//! The number of waiting senders is copied into an atomic in the block,
//! [`WaitList::has_waiters`], so the receive hot path can check for waiters
//! without locking: one load of the pointer when nobody ever waited. The copy
//! is stored while holding the lock, so it is exactly the length of the list
//! at each unlock; readers outside the lock see a value that is at worst
//! stale (or a null pointer, before the first registration). The block is
//! installed before the registration it is made for, so whatever makes a
//! registration visible to a reader (see [`crate::channel`], where the
//! argument for why a stale read cannot lose a wake-up is made) makes the
//! pointer visible too. The joiners need no such copy: they are woken with
//! the lock taken (see [`crate::join`]).
//!
//! # Closing
//!
//! The disconnect wakes every waiting task ([`WaitLists::wake_everyone`]),
//! and its argument used to be the lock: a task registers under it and then
//! re-checks the channel, the disconnecting handle marks the channel and
//! then takes the lock to wake, so one of the two sees the other. With the
//! block allocated on first use the disconnecting handle would first *read*
//! the pointer, and a read does not order with a registration installing
//! the block (store buffering: loom found the lost wake-up in
//! `close_hands_out_messages_while_senders_send` of `tests/loom.rs`). So the
//! disconnect installs a *closed* marker in place of a null pointer, with a
//! CAS: both it and an installing registration are read-modify-writes of the
//! pointer, so one comes first. If the registration came first, the
//! disconnect finds the block and wakes under its lock as before; if the
//! disconnect came first, the registration's failed CAS reads the marker,
//! which makes the disconnect (and the channel's state before it) visible to
//! the task's re-check, and it registers nothing.
//!
//! Each registration gets an id, unique in its pair of lists. A future keeps
//! its id while registered, so that it can update its waker, learn whether
//! it was woken (its entry is gone) and remove itself when dropped.

use std::collections::VecDeque;
use std::fmt;
use std::task::Waker;

use crate::loom::{AtomicPtr, AtomicUsize, Mutex, Ordering, lock};

/// Identifies one registration in a [`WaitLists`].
pub(crate) type WaitId = u64;

/// The two lists of waiting tasks of an inbox, see the [module docs](self).
pub(crate) struct WaitLists {
    /// Null until the first registration, then a block from `Box::into_raw`,
    /// never changed again and freed by `Drop`; or [`closed`] if the channel
    /// disconnected before any task registered.
    block: AtomicPtr<Block>,
}

/// The marker of lists closed before any task registered: never a block's
/// address (a dangling, aligned pointer), never dereferenced.
fn closed() -> *mut Block {
    std::ptr::dangling_mut()
}

/// The id a registration gets when the lists are closed: nothing is
/// registered, and the task's re-check sees the channel disconnected.
const NOT_REGISTERED: WaitId = WaitId::MAX;

/// What the first registration allocates.
struct Block {
    /// Number of entries in `inner.send`, stored under the lock.
    send_len: AtomicUsize,
    inner: Mutex<Inner>,
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
            block: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The lists, if a task ever registered.
    fn block(&self) -> Option<&Block> {
        // `Acquire`: the block was written before it was installed.
        let block = self.block.load(Ordering::Acquire);
        // SAFETY: see `as_block`.
        unsafe { as_block(block) }
    }

    /// The lists, allocated on first use; `None` if they are closed.
    fn block_or_install(&self) -> Option<&Block> {
        match self.block.load(Ordering::Acquire) {
            block if block.is_null() => {}
            // SAFETY: see `as_block`.
            block => return unsafe { as_block(block) },
        }
        let new = Box::into_raw(Box::new(Block {
            send_len: AtomicUsize::new(0),
            inner: Mutex::new(Inner {
                next_id: 0,
                send: VecDeque::new(),
                join: VecDeque::new(),
            }),
        }));
        let installed = match self.block.compare_exchange(
            std::ptr::null_mut(),
            new,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => new,
            Err(other) => {
                // SAFETY: `new` came from `Box::into_raw` above and was not
                // installed, so nobody else has it.
                drop(unsafe { Box::from_raw(new) });
                other
            }
        };
        // SAFETY: see `as_block`; installed by us, or by the CAS (or the
        // close) whose value our `Acquire` failure read.
        unsafe { as_block(installed) }
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
    ///
    /// No task can register after this: a registration then gets nothing
    /// (see "Closing" in the [module docs](self)).
    pub(crate) fn wake_everyone(&self) {
        let block = match self.block.compare_exchange(
            std::ptr::null_mut(),
            closed(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // Nobody ever registered, and nobody will.
            Ok(_) => return,
            Err(block) => block,
        };
        // SAFETY: see `as_block`.
        let Some(block) = (unsafe { as_block(block) }) else {
            return;
        };
        let (send, join) = {
            let mut inner = lock(&block.inner);
            let lists = (
                std::mem::take(&mut inner.send),
                std::mem::take(&mut inner.join),
            );
            block.send_len.store(0, Ordering::Release);
            lists
        };
        for (_, waker) in send.into_iter().chain(join) {
            waker.wake();
        }
    }
}

impl Drop for WaitLists {
    fn drop(&mut self) {
        // No other handle exists any more (the inbox is being freed); a load
        // reads the pointer as well as `get_mut` would, in loom too.
        let block = self.block.load(Ordering::Acquire);
        if !block.is_null() && block != closed() {
            // SAFETY: a block from `Box::into_raw` (see `block`), and we have
            // the lists to ourselves.
            drop(unsafe { Box::from_raw(block) });
        }
    }
}

/// The block `block` points to: `None` for a null pointer or [`closed`].
///
/// # Safety
///
/// `block` was read (with `Acquire`) from a [`WaitLists`] whose `&self`
/// the caller holds for the returned lifetime: a block there comes from
/// `Box::into_raw`, was initialised before it was installed (the read
/// synchronised with the installing `Release` CAS) and is freed only by
/// `Drop`, which cannot run while `&self` lives.
unsafe fn as_block<'a>(block: *mut Block) -> Option<&'a Block> {
    if block == closed() {
        return None;
    }
    // SAFETY: per the caller, null or a live, initialised block.
    unsafe { block.as_ref() }
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
        self.lists
            .block()
            .is_some_and(|block| block.send_len.load(Ordering::Acquire) != 0)
    }

    /// Copies the length of the list of senders, under the lock.
    fn store_len(self, block: &Block, inner: &Inner) {
        if self.kind == Kind::Send {
            block.send_len.store(inner.send.len(), Ordering::Release);
        }
    }

    /// Registers `waker` (or, if `id` is still registered, updates its waker)
    /// and returns the id of the registration.
    ///
    /// Returns `(id, true)` if `id` was still registered, `(new_id, false)` if
    /// it was not (it was woken or is `None`) and a new entry was added.
    ///
    /// After the lists closed (the channel disconnected before any task
    /// registered) nothing is registered, and the id returned is not in the
    /// lists: the caller's re-check sees the disconnect.
    pub(crate) fn register(self, id: Option<WaitId>, waker: &Waker) -> (WaitId, bool) {
        let Some(block) = self.lists.block_or_install() else {
            return (NOT_REGISTERED, false);
        };
        let mut guard = lock(&block.inner);
        let inner = &mut *guard;
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
        self.store_len(block, inner);
        (id, false)
    }

    /// Removes registration `id`; returns `false` if it was already removed
    /// by a wake-up.
    pub(crate) fn remove(self, id: WaitId) -> bool {
        let Some(block) = self.lists.block() else {
            return false;
        };
        let mut inner = lock(&block.inner);
        let list = inner.list(self.kind);
        let Some(index) = list.iter().position(|(i, _)| *i == id) else {
            return false;
        };
        let _ = list.remove(index);
        self.store_len(block, &inner);
        true
    }

    /// Wakes (and removes) the longest waiting task, if any.
    pub(crate) fn wake_one(self) {
        let Some(block) = self.lists.block() else {
            return;
        };
        let waker = {
            let mut inner = lock(&block.inner);
            let waker = inner.list(self.kind).pop_front();
            self.store_len(block, &inner);
            waker
        };
        if let Some((_, waker)) = waker {
            waker.wake();
        }
    }

    /// Wakes (and removes) every waiting task.
    pub(crate) fn wake_all(self) {
        let Some(block) = self.lists.block() else {
            return;
        };
        let waiters = {
            let mut inner = lock(&block.inner);
            let waiters = std::mem::take(inner.list(self.kind));
            self.store_len(block, &inner);
            waiters
        };
        for (_, waker) in waiters {
            waker.wake();
        }
    }
}

impl fmt::Debug for WaitLists {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let send_len = self
            .block()
            .map_or(0, |block| block.send_len.load(Ordering::Relaxed));
        f.debug_struct("WaitLists")
            .field("send_len", &send_len)
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
