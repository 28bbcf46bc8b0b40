//! The shared channel: a ring of slots and the bounded MPSC queue algorithm.
//!
//! Every handle ([`Sender`](crate::Sender), [`Receiver`](crate::Receiver),
//! [`Manager`](crate::Manager)) holds a [`Channel`]: a counted reference to
//! the channel's [`Header`] (a [`Block`]), which points to its slots (see
//! [`crate::slot`]). This module owns all of its lock-free logic; the
//! handles only call into it.
//!
//! # Algorithm
//!
//! A bounded array queue after Dmitry Vyukov's "bounded MPMC queue"
//! (<https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>),
//! specialised to one consumer, with a skipped state for unused
//! [`Permit`](crate::Permit)s.
//!
//! Messages get *positions* `0, 1, 2, ...` (an `u64`, which does not wrap in
//! practice: 2⁶² messages). Position `p` lives in slot `p % capacity`. Each
//! slot has a `stamp = p << 2 | state`:
//!
//! | state          | meaning                                                       |
//! |----------------|---------------------------------------------------------------|
//! | `WRITABLE` (0) | free for position `p` (or claimed for `p`, value not yet written) |
//! | `FILLED` (1)   | holds the message of position `p`                              |
//! | `SKIPPED` (2)  | position `p` was claimed by a permit dropped unused            |
//!
//! Slot `i` starts `WRITABLE` at position `i`.
//!
//! * `tail` (senders) is the next position to claim, shifted left one bit;
//!   bit 0 marks the channel disconnected. A sender reads `tail = p`, checks
//!   that slot `p % capacity` is `WRITABLE` at `p`, and claims `p` with a CAS
//!   `tail: p → p + 1`. It then writes the value and *publishes* the stamp
//!   `FILLED` at `p`. If the stamp still holds an older position the inbox is
//!   full; a newer one means `tail` moved on, so the sender retries.
//! * `head` (the one consumer) is the next position to receive. If slot
//!   `head % capacity` is `FILLED` at `head` the consumer takes the value; if
//!   `SKIPPED` it passes over it; either way it *frees* the slot to
//!   `WRITABLE` at `head + capacity` and moves on. `WRITABLE` at `head` means
//!   empty (or a claim in progress: messages are received in position order,
//!   so an unused permit holds up the messages after it).
//!
//! Only the consumer writes `head`, only CAS-es write `tail`, and a slot's
//! value is touched only by the sender that claimed its position (before
//! publishing) and by the consumer (after seeing the publish), so the value
//! cell never races. The publish is a `Release` store and the consumer's
//! check `Acquire`; the free is an `AcqRel` swap (see below) and the
//! claimer's check `Acquire`.
//!
//! Positions claimed by one sender increase, so its messages arrive in the
//! order it sent them.
//!
//! # Waking the receiver
//!
//! After publishing (or skipping) a sender calls [`AtomicWaker::wake`], one
//! `fetch_or`. A waiting receiver arms the waker and then re-checks the front
//! slot; see [`crate::waker`] for why the two cannot miss each other. The last
//! sender to go away does the same after decrementing the sender count, and a
//! receiver that sees the queue empty and no senders re-checks the front slot
//! (its `Acquire` load of the count synchronises with the last sender's
//! decrement, so a message published just before that is seen).
//!
//! # Waking waiting senders (backpressure)
//!
//! A sender that finds the inbox full registers in the senders'
//! [`WaitList`] (storing the list length, under its lock) and then tries to
//! claim again before it sleeps. The consumer frees a slot with a
//! read-modify-write (`swap`, *F*) and then reads the waiter count without
//! locking. This is the store-buffering (Dekker) pattern; it is made safe
//! without `SeqCst` (which loom does not model as stronger than `AcqRel`)
//! as follows. The second attempt finds the slot full at an earlier lap `q`
//! in one of two ways:
//!
//! * **Published** (`FILLED` or `SKIPPED` at `q`). The sender confirms with a
//!   read-modify-write on the stamp, a CAS from the value it saw to the same
//!   value (*R*; if it fails, the slot changed and the sender looks again).
//!   Every write to the stamp after the publish up to and including *F* is a
//!   read-modify-write (other waiters' *R*, the free itself). So if *R*
//!   comes first, *F* reads a value in the release sequence headed by *R*:
//!   *R* synchronises-with *F*, the registration (sequenced before *R*)
//!   happens-before the consumer's read of the count, which sees it and wakes
//!   a waiter. If *F* comes first, *R* fails and the sender claims the slot.
//! * **Behind a claim** (`WRITABLE` at `q`: a claim not yet published). The
//!   publish is a plain `Release` store *P*, which would end the release
//!   sequence between an RMW of the sender and *F*; so here the sender sets
//!   the spare bit `CLAIM_WAITERS` of the receiver's [`AtomicWaker`] (an RMW,
//!   *W*) and then loads the stamp again (*L*) before it sleeps. The
//!   publisher does its `fetch_or` *N* on that word right after *P*, as it
//!   does anyway to wake the receiver. If *N* came before *W* in that word's
//!   modification order (all its writes are RMWs), *N* would
//!   synchronise-with *W*, so *P* would happen-before *L*, which would then
//!   not read the older `WRITABLE`. So *W* comes before *N*: *N* sees the
//!   bit, clears it and wakes **all** waiting senders, which claim again.
//!   (If another publisher cleared the bit in between, it synchronised with
//!   *W*, saw the registration and woke the sender.) No RMW touches the
//!   stamp in this case: it would race the plain store *P*, which is fine in
//!   C++ but which loom 0.7 models wrongly (it lets the store slip between
//!   the RMW's read and write: tokio-rs/loom#254, a false "lost message").
//!
//! loom finds the lost wake-up if either half is left out (a deadlock in
//! `two_waiting_producers_capacity_1` or `waiting_on_a_claim_in_progress` of
//! `tests/loom.rs`). A send thus stays one CAS, one plain store and one RMW
//! (`fetch_or`) when nobody waits, like Vyukov's queue plus the waker:
//! publishing with a `swap` instead (the obvious fix, no flag needed)
//! measured 2.5 times slower with the producer and consumer on two cores.
//!
//! Each freed slot wakes one waiter. A woken waiter either claims a slot,
//! finds the inbox full again (someone else took the slot, and it waits
//! again), or, if its future is dropped first or it got a slot without the
//! wake-up, passes the wake-up on to the next waiter.
//!
//! # Disconnecting
//!
//! When the last consumer-side handle (receiver or manager) goes, it calls
//! [`Channel::close`]: it marks `tail` (no claim succeeds after that) and
//! wakes every waiting sender and joiner. It is then the consumer of a
//! [`Drain`] of the positions between `head` and that `tail`: each `FILLED`
//! one is marked `SKIPPED` as its message is taken ([`Channel::take_queued`]),
//! one at a time, so the caller can drop each message under its own guard
//! ([`Channel::drop_queued`], or a
//! [`QueuedMessages`](crate::QueuedMessages) handed to the user; see
//! [`crate::unwind`]). A message whose `Drop` panics has left its slot
//! already, so nothing drops it again, and the drain goes on with the next
//! slot. A claim made before the mark but published after the drain looked
//! at its slot (a permit used late) stays in its slot; [`Slot`]'s `Drop`
//! drops a `FILLED` slot's message when the last handle goes (each under its
//! own guard too). So every message is dropped exactly once: by the
//! receiver's owner, the drain, or the `Drop`. A drain that is never
//! finished (a leaked [`QueuedMessages`](crate::QueuedMessages)) leaves its
//! messages `FILLED`, for the `Drop`.
//!
//! # Memory
//!
//! An inbox is a [`Block`] holding its reference count, its capacity and
//! the rest of the [`Header`]; its slots are allocated apart, by the first
//! claim (see [`crate::slot`]), so an inbox never sent to costs its header
//! only: an idle actor waiting for its first message, the leaves of a tree
//! of actors that only send to their parent. Both wait lists share one lock
//! and are allocated only when a task first waits, the inbox holding a
//! pointer to them (see [`crate::wait_list`]), and the exit status lives in
//! the handle state word (see [`crate::state`]). On 64-bit Linux the header
//! is 72 bytes, and the slots of 8 `u64` messages 128 more once sent to
//! (checked by `tests.rs`). An inbox used to be an `Arc` of 136 bytes and a
//! separate slice of 128, then one allocation of 216 bytes, slots included.
//!
//! A slot is found with one load more than when the slots followed the
//! header in its allocation (the pointer, on the header's first line, next
//! to `tail` and `head`); the slot itself is a line of its own either way.

use std::fmt;
use std::ptr::NonNull;

use crate::block::{Block, Counted};
use crate::error::RecvError;
use crate::id::InboxId;
use crate::loom::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use crate::slot::{FILLED, SKIPPED, STATE_MASK, Slot, Slots, WRITABLE, stamp, stamp_pos};
use crate::state::{CONSUMERS, State};
use crate::unwind::FirstPanic;
use crate::wait_list::{WaitList, WaitLists};
use crate::waker::{AtomicWaker, WakerCell};

/// Bit of `tail` marking the channel disconnected.
const DISCONNECTED: u64 = 1;

/// Why a sender could not claim a position.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClaimError {
    /// Every slot holds a message (or a claim).
    Full {
        /// The slot found full holds a claim whose message is not published
        /// yet (see "Waking waiting senders" in the module docs).
        behind_claim: bool,
    },
    /// The consumer side is gone.
    Disconnected,
}

/// Spare bit of the receiver's [`AtomicWaker`]: a waiting sender found the
/// inbox full behind a claim not yet published. The next publisher wakes all
/// waiting senders.
const CLAIM_WAITERS: u8 = 0b100 & crate::waker::SPARE;

/// What all handles of a channel share; see the [module docs](self).
///
/// No field is padded to a cache line of its own: every actor has an inbox,
/// most are used by actors on one worker, and padding tail, head and the
/// receiver's waker cost about 570 bytes per actor (the allocation is aligned
/// to 128 bytes) for ~50 ns per message between cores.
struct Header<M> {
    /// The [`Block`]'s reference count.
    count: AtomicU32,
    /// Number of slots minus one (to fit `MAX_CAPACITY`); never changes.
    capacity_minus_one: u16,
    /// The state byte of the receiver's [`AtomicWaker`] (see
    /// [`Channel::recv_waker`]), beside the count rather than in a 24-byte
    /// `AtomicWaker` of its own, where it took 8 bytes.
    recv_state: AtomicU8,
    /// The size of the room after the header (see [`crate::room`]), in
    /// [`Block`] units; 0 for none.
    room_units: u8,
    /// Next position to claim `<< 1`, bit 0: [`DISCONNECTED`]. Written by
    /// senders (CAS) and the disconnecting handle.
    tail: AtomicU64,
    /// Next position to receive. Written only by the consumer: the receiver,
    /// or the holder of the [`Drain`] after disconnecting. Senders read it
    /// for [`Channel::len`].
    head: AtomicU64,
    /// Which handles exist and the exit status, see [`crate::state`].
    state: State,
    /// The waker of the receiver waiting for a message.
    recv_cell: WakerCell,
    /// Senders waiting for a free slot and tasks waiting for the consumer
    /// side to go.
    waiters: WaitLists,
    /// The ring, allocated by the first claim.
    slots: Slots<M>,
}

// SAFETY: `count` is made with a count of one (`Channel::new`) and only
// `Block` touches it.
unsafe impl<M> Counted for Header<M> {
    fn count(&self) -> &AtomicU32 {
        &self.count
    }

    fn room_units(&self) -> u8 {
        self.room_units
    }
}

impl<M> Drop for Header<M> {
    fn drop(&mut self) {
        // SAFETY: the slots were installed with this capacity, and the last
        // handle is going: nobody uses them any more.
        unsafe { self.slots.free(usize::from(self.capacity_minus_one) + 1) };
    }
}

/// A handle's reference to the state shared by all handles of one inbox:
/// the [`Header`] in a [`Block`], and the slots it points to. See the
/// [module docs](self).
///
/// Cloning makes another reference to the same channel (it does not touch
/// the handle [`State`]).
pub(crate) struct Channel<M> {
    shared: Block<Header<M>>,
}

impl<M> Channel<M> {
    /// A new channel with `capacity` slots, one sender, a receiver and, if
    /// `manager`, a manager, and `room_units` of room after its header (see
    /// [`crate::room`]). `capacity` must be valid (checked by callers).
    pub(crate) fn new(capacity: usize, manager: bool, room_units: u8) -> Channel<M> {
        debug_assert!(
            (crate::capacity::MIN_CAPACITY..=crate::capacity::MAX_CAPACITY).contains(&capacity)
        );
        let header = Header {
            count: AtomicU32::new(1),
            // Cannot truncate: at most `MAX_CAPACITY`, 2^16.
            capacity_minus_one: (capacity - 1) as u16,
            recv_state: AtomicWaker::new_state(),
            room_units,
            tail: AtomicU64::new(0),
            head: AtomicU64::new(0),
            state: State::new(manager),
            recv_cell: WakerCell::new(),
            waiters: WaitLists::new(),
            slots: Slots::new(),
        };
        Channel {
            shared: Block::new(header),
        }
    }

    /// The room after the header (see [`crate::room`]); the channel must
    /// have been made with some.
    pub(crate) fn room(&self) -> NonNull<u8> {
        self.shared.room()
    }

    /// Gives up this reference for the value lodged in the room, which
    /// takes it back with [`Channel::from_room`].
    pub(crate) fn forget(self) {
        self.shared.forget();
    }

    /// The reference given up with [`Channel::forget`] by the value lodged
    /// at `room`.
    ///
    /// # Safety
    ///
    /// `room` is [`Channel::room`] of a channel of `M`s whose reference was
    /// given up with [`Channel::forget`], taken back only by this call.
    pub(crate) unsafe fn from_room(room: NonNull<u8>) -> Channel<M> {
        Channel {
            // SAFETY: per the caller.
            shared: unsafe { Block::from_room(room) },
        }
    }

    /// Identity of this channel.
    pub(crate) fn id(&self) -> InboxId {
        InboxId::new(self.shared.as_ptr())
    }

    /// Whether `self` and `other` refer to the same channel.
    pub(crate) fn same(&self, other: &Channel<M>) -> bool {
        Block::ptr_eq(&self.shared, &other.shared)
    }

    /// Which handles exist.
    pub(crate) fn state(&self) -> &State {
        &self.shared.state
    }

    /// Number of slots.
    pub(crate) fn capacity(&self) -> usize {
        usize::from(self.shared.capacity_minus_one) + 1
    }

    /// The receiver's waker.
    fn recv_waker(&self) -> AtomicWaker<'_> {
        AtomicWaker::new(&self.shared.recv_state, &self.shared.recv_cell)
    }

    /// Approximate number of messages (claimed positions) in the queue.
    pub(crate) fn len(&self) -> usize {
        let head = self.shared.head.load(Ordering::Relaxed);
        let tail = self.shared.tail.load(Ordering::Relaxed) >> 1;
        // Cannot truncate: clamped to `capacity`, an `usize`.
        tail.saturating_sub(head).min(self.capacity() as u64) as usize
    }

    /// The slot of position `pos` in `slots`, this channel's slots.
    fn slot(&self, slots: NonNull<Slot<M>>, pos: u64) -> &Slot<M> {
        let capacity = u64::from(self.shared.capacity_minus_one) + 1;
        // A mask for the usual power-of-two capacities (predictable branch,
        // no division on the hot path).
        let index = if capacity & (capacity - 1) == 0 {
            pos & (capacity - 1)
        } else {
            pos % capacity
        };
        // SAFETY: `index < capacity` (and cannot truncate: an `usize`), and
        // `slots` is an array of `capacity` slots (see `crate::slot`).
        let slot = unsafe { slots.add(index as usize) };
        // SAFETY: an initialised slot that lives as long as the channel, so
        // as long as `&self`; only shared references are made to it.
        unsafe { slot.as_ref() }
    }

    /// The slots, which a claim (made before the caller's) installed.
    fn installed_slots(&self) -> NonNull<Slot<M>> {
        match self.shared.slots.get() {
            Some(slots) => slots,
            // Every claim installs the slots first, and the pointer never
            // changes after that.
            None => unreachable!("a claimed position without slots"),
        }
    }

    /// Whether `tail` is marked disconnected.
    pub(crate) fn is_disconnected(&self) -> bool {
        self.shared.tail.load(Ordering::Acquire) & DISCONNECTED != 0
    }

    /// Sets the exit status read by joiners.
    pub(crate) fn set_exit_status(&self, status: u8) {
        self.state().set_exit_status(status);
    }

    /// Tasks waiting for a free slot.
    pub(crate) fn send_waiters(&self) -> WaitList<'_> {
        self.shared.waiters.send()
    }

    /// Tasks waiting for the consumer side to go.
    pub(crate) fn join_waiters(&self) -> WaitList<'_> {
        self.shared.waiters.join()
    }

    /// Claims the next position for the caller to fill with
    /// [`Channel::write`] or give up with [`Channel::skip`].
    ///
    /// Never waits. A `Full` found on a published slot is confirmed by a
    /// read-modify-write on its stamp, a `Full` behind a claim by a plain
    /// load (see "Waking waiting senders" in the module docs).
    pub(crate) fn try_claim(&self) -> Result<u64, ClaimError> {
        let mut tail = self.shared.tail.load(Ordering::Relaxed);
        if tail & DISCONNECTED != 0 {
            return Err(ClaimError::Disconnected);
        }
        let slots = self.shared.slots.get_or_install(self.capacity());
        loop {
            if tail & DISCONNECTED != 0 {
                return Err(ClaimError::Disconnected);
            }
            let pos = tail >> 1;
            let slot = self.slot(slots, pos);
            let current = slot.stamp.load(Ordering::Acquire);
            if current == stamp(pos, WRITABLE) {
                // `Relaxed` is enough: the `Acquire` load of the stamp
                // ordered us after the consumer's free of this slot.
                match self.shared.tail.compare_exchange_weak(
                    tail,
                    tail + 2,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(pos),
                    Err(actual) => tail = actual,
                }
                continue;
            }
            if stamp_pos(current) >= pos {
                // Another sender claimed `pos` already: `tail` moved on.
                tail = self.shared.tail.load(Ordering::Relaxed);
                continue;
            }
            // The slot still holds an earlier lap: full.
            if current & STATE_MASK == WRITABLE {
                // Behind a claim not yet published. No RMW here: it would
                // race the publisher's plain store (which C++ allows, but
                // loom 0.7 models wrongly, tokio-rs/loom#254).
                return Err(ClaimError::Full { behind_claim: true });
            }
            // Published: confirm with an RMW that writes nothing new. It
            // orders a preceding wait-list registration before the
            // consumer's free, and fails if the slot changed meanwhile.
            match slot
                .stamp
                .compare_exchange(current, current, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Err(ClaimError::Full {
                        behind_claim: false,
                    });
                }
                Err(_) => tail = self.shared.tail.load(Ordering::Relaxed),
            }
        }
    }

    /// Writes `msg` at position `pos`, publishes it and wakes the receiver.
    ///
    /// # Safety
    ///
    /// `pos` must come from [`Channel::try_claim`] on this channel and must
    /// not have been written or skipped yet.
    pub(crate) unsafe fn write(&self, pos: u64, msg: M) {
        let slot = self.slot(self.installed_slots(), pos);
        // SAFETY: the caller claimed `pos`; until we publish, nobody else
        // accesses this cell (see the module docs), and it holds no value
        // (the consumer took the previous lap's).
        unsafe { slot.write(msg) };
        slot.stamp.store(stamp(pos, FILLED), Ordering::Release);
        self.wake_receiver();
    }

    /// Marks position `pos` skipped (its permit was dropped) and wakes the
    /// receiver, which may be waiting for this position.
    ///
    /// # Safety
    ///
    /// Same as [`Channel::write`].
    pub(crate) unsafe fn skip(&self, pos: u64) {
        let slot = self.slot(self.installed_slots(), pos);
        slot.stamp.store(stamp(pos, SKIPPED), Ordering::Release);
        self.wake_receiver();
    }

    /// Wakes the receiver after a publish (or skip, or the last sender
    /// leaving), and the senders waiting behind a claim, if flagged.
    fn wake_receiver(&self) {
        if self.recv_waker().wake() & CLAIM_WAITERS != 0
            && self.recv_waker().clear_spare(CLAIM_WAITERS) & CLAIM_WAITERS != 0
        {
            self.send_waiters().wake_all();
        }
    }

    /// Flags that a registered sender found the inbox full behind a claim
    /// (`ClaimError::Full { behind_claim: true }`). The sender must claim
    /// again after this before it sleeps.
    pub(crate) fn flag_claim_waiter(&self) {
        self.recv_waker().set_spare(CLAIM_WAITERS);
    }

    /// Position and slot of the first message, passing over (and freeing)
    /// skipped slots.
    ///
    /// # Safety
    ///
    /// Only the consumer may call this (the receiver, through `&mut self`).
    unsafe fn front(&self) -> Result<(u64, &Slot<M>), RecvError> {
        let mut head = self.shared.head.load(Ordering::Relaxed);
        loop {
            let Some(slots) = self.shared.slots.get() else {
                // No slots, so no claim yet (see `crate::slot`).
                if self.state().load().senders() != 0 {
                    return Err(RecvError::Empty);
                }
                // No sender left: the last one may have installed the slots
                // and published just before leaving; our `Acquire` load of
                // the count synchronised with its decrement.
                if self.shared.slots.get().is_none() {
                    return Err(RecvError::Disconnected);
                }
                continue;
            };
            let slot = self.slot(slots, head);
            let current = slot.stamp.load(Ordering::Acquire);
            if current == stamp(head, FILLED) {
                return Ok((head, slot));
            } else if current == stamp(head, SKIPPED) {
                self.free(slot, head);
                head += 1;
                continue;
            }
            debug_assert_eq!(current, stamp(head, WRITABLE));
            if self.state().load().senders() != 0 {
                return Err(RecvError::Empty);
            }
            // No sender left: the last one may have published just before
            // leaving. Our `Acquire` load of the count synchronised with its
            // decrement, so this load sees that publish.
            if slot.stamp.load(Ordering::Acquire) == stamp(head, WRITABLE) {
                return Err(RecvError::Disconnected);
            }
        }
    }

    /// Frees `slot` of position `head` for the next lap and moves `head`.
    fn free(&self, slot: &Slot<M>, head: u64) {
        let cap = self.capacity() as u64;
        // An RMW: see "Waking waiting senders".
        let _ = slot
            .stamp
            .swap(stamp(head + cap, WRITABLE), Ordering::AcqRel);
        self.shared.head.store(head + 1, Ordering::Relaxed);
        if self.send_waiters().has_waiters() {
            self.send_waiters().wake_one();
        }
    }

    /// Takes the first message.
    ///
    /// # Safety
    ///
    /// Only the consumer may call this.
    pub(crate) unsafe fn try_recv(&self) -> Result<M, RecvError> {
        // SAFETY: the caller is the consumer.
        let (head, slot) = unsafe { self.front() }?;
        // SAFETY: the slot is `FILLED` at `head` (we read the publish with
        // `Acquire`), so it holds an initialised value that only the consumer
        // may touch; `free` below makes sure we read it once.
        let msg = unsafe { slot.read() };
        self.free(slot, head);
        Ok(msg)
    }

    /// The first message, left in the queue.
    ///
    /// # Safety
    ///
    /// Only the consumer may call this, and it must not take or drop
    /// messages while the returned reference lives.
    pub(crate) unsafe fn peek(&self) -> Result<&M, RecvError> {
        // SAFETY: the caller is the consumer.
        let (_, slot) = unsafe { self.front() }?;
        // SAFETY: as in `try_recv`, the value is initialised and only the
        // consumer accesses it; the caller keeps it in place while the
        // reference lives.
        Ok(unsafe { slot.get() })
    }

    /// Arms the receiver waker. See [`AtomicWaker::register`].
    pub(crate) fn register_receiver(&self, waker: &std::task::Waker) -> bool {
        self.recv_waker().register(waker)
    }

    /// Removes one sender; the last one wakes the receiver, so it sees the
    /// channel disconnected.
    pub(crate) fn drop_sender(&self) {
        if self.state().remove_sender().senders() == 1 {
            self.wake_receiver();
        }
    }

    /// Removes the receiver's or the manager's bit (`bit`); if that was the
    /// last consumer-side handle, disconnects the channel and drops the queued
    /// messages (see [`crate::unwind`] for a panic in their `Drop`).
    pub(crate) fn drop_consumer(&self, bit: u64) {
        let mut drain = self.release_consumer(bit);
        // SAFETY: `drain` comes from `release_consumer` on this channel.
        unsafe { self.drop_queued(&mut drain) };
    }

    /// Removes the receiver's or the manager's bit (`bit`); if that was the
    /// last consumer-side handle, disconnects the channel and returns the
    /// [`Drain`] of its queued messages, otherwise an empty one.
    pub(crate) fn release_consumer(&self, bit: u64) -> Drain {
        let old = self.state().clear(bit);
        debug_assert!(old.has_receiver() || old.has_manager());
        if old.bits() & CONSUMERS & !bit == 0 {
            // SAFETY: we cleared the last consumer bit, so no receiver exists
            // or can be made (only the manager makes one, and it is gone).
            unsafe { self.close() }
        } else {
            Drain::EMPTY
        }
    }

    /// Disconnects: no claim succeeds after this and waiters are woken.
    /// Returns the [`Drain`] of the queued messages, which makes its holder
    /// the consumer.
    ///
    /// # Safety
    ///
    /// The caller must be the last consumer-side handle (it is the consumer
    /// now, and nobody else can become one).
    unsafe fn close(&self) -> Drain {
        let tail = self.shared.tail.fetch_or(DISCONNECTED, Ordering::AcqRel) >> 1;
        // Wake before the messages are dropped: a panicking `Drop` of a
        // message, or a drain that is never finished, must not leave anybody
        // waiting.
        self.shared.waiters.wake_everyone();
        Drain {
            next: self.shared.head.load(Ordering::Relaxed),
            end: tail,
            first_unread: None,
        }
    }

    /// Takes the next queued message of `drain`, passing over positions not
    /// (or no longer) `FILLED`; `None` once it has looked at them all.
    ///
    /// # Safety
    ///
    /// `drain` must come from [`Channel::release_consumer`] on this channel
    /// (its holder is the consumer).
    pub(crate) unsafe fn take_queued(&self, drain: &mut Drain) -> Option<M> {
        let Some(slots) = self.shared.slots.get().filter(|_| drain.next < drain.end) else {
            // Nothing (more) to look at; or claims whose slots we do not see
            // installed, so whose publishes we do not see either: for the
            // slots' `Drop`, like claims published late. `len` counts from
            // the first of them.
            if drain.next < drain.end {
                let first = *drain.first_unread.get_or_insert(drain.next);
                self.shared.head.store(first, Ordering::Relaxed);
                drain.next = drain.end;
            }
            return None;
        };
        while drain.next < drain.end {
            let pos = drain.next;
            drain.next += 1;
            let slot = self.slot(slots, pos);
            let filled = slot.stamp.load(Ordering::Acquire) == stamp(pos, FILLED);
            if !filled && drain.first_unread.is_none() {
                // Skipped, or claimed but not published yet: the slot's
                // `Drop` deals with the latter. `len` counts from here.
                drain.first_unread = Some(pos);
            }
            let head = drain.first_unread.unwrap_or(drain.next);
            self.shared.head.store(head, Ordering::Relaxed);
            if filled {
                // SAFETY: `FILLED` at `pos`: initialised, and we are the
                // consumer. Marking the slot skipped below means nothing
                // reads it again.
                let msg = unsafe { slot.read() };
                let _ = slot.stamp.swap(stamp(pos, SKIPPED), Ordering::AcqRel);
                return Some(msg);
            }
        }
        None
    }

    /// Drops the queued messages left in `drain`, each under its own guard;
    /// resumes the first panic afterwards (see [`crate::unwind`]).
    ///
    /// # Safety
    ///
    /// The same as [`Channel::take_queued`].
    pub(crate) unsafe fn drop_queued(&self, drain: &mut Drain) {
        let mut panic = FirstPanic::default();
        // SAFETY: per the caller.
        while let Some(msg) = unsafe { self.take_queued(drain) } {
            panic.drop_value(msg);
        }
        panic.resume();
    }
}

/// The queued positions a disconnected channel's consumer side still has to
/// take (see "Disconnecting" in the [module docs](self)). Made only by
/// [`Channel::release_consumer`]: holding a non-empty one makes its holder
/// the consumer.
#[derive(Debug)]
pub(crate) struct Drain {
    /// Next position to look at.
    next: u64,
    /// `tail` when the channel was disconnected: no position from here on
    /// was claimed.
    end: u64,
    /// First position passed over (not `FILLED` when looked at): `head`
    /// stays there, so [`Channel::len`] still counts a late permit's message.
    first_unread: Option<u64>,
}

impl Drain {
    /// Nothing to take: the consumer side had not gone.
    const EMPTY: Drain = Drain {
        next: 0,
        end: 0,
        first_unread: None,
    };

    /// Most messages left to take.
    pub(crate) fn max_left(&self) -> u64 {
        self.end - self.next
    }
}

#[cfg(all(test, not(loom)))]
impl<M> Channel<M> {
    /// Bytes allocated for a channel, and for its slots (on the first send).
    pub(crate) fn allocation_sizes(capacity: usize) -> (usize, usize) {
        let slots = std::alloc::Layout::array::<Slot<M>>(capacity).map_or(0, |slots| slots.size());
        (Block::<Header<M>>::allocation_size(0), slots)
    }
}

impl<M> Clone for Channel<M> {
    fn clone(&self) -> Channel<M> {
        Channel {
            shared: self.shared.clone(),
        }
    }
}

impl<M> fmt::Debug for Channel<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.id())
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("state", self.state())
            .field("disconnected", &self.is_disconnected())
            .finish_non_exhaustive()
    }
}
