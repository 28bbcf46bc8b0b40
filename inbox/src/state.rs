//! The inbox's handle state word: who still holds the channel.
//!
//! One [`AtomicUsize`] per channel records which handles exist:
//!
//! ```text
//!  u64 bits:  [ exit status (bits 56..64) | senders (bits 2..56) | MANAGER_ALIVE (bit 1) | RECEIVER_ALIVE (bit 0) ]
//! ```
//!
//! * `senders` counts [`Sender`](crate::Sender)s. Every clone adds
//!   [`SENDER_ONE`], every drop subtracts it. It is what a
//!   [`Receiver`](crate::Receiver) calls "connected": a
//!   [`Manager`](crate::Manager) is not a sender.
//! * `RECEIVER_ALIVE` is set while a [`Receiver`](crate::Receiver) exists.
//!   Only the receiver clears it (when dropped) and only the manager sets it
//!   again ([`Manager::new_receiver`](crate::Manager::new_receiver)), so there
//!   is never more than one receiver.
//! * `MANAGER_ALIVE` is set while the [`Manager`](crate::Manager) exists; it
//!   is cleared once, by the manager's drop.
//! * the *exit status* is set by the manager
//!   ([`Manager::set_exit_status`], a `fetch_xor` that keeps the other bits)
//!   and read by joiners once the consumer side is gone. It used to be a byte of its
//!   own next to this word, which cost every inbox 8 bytes of padding.
//!
//! The receiver and the manager are the *consumer side*: while either lives
//! the channel is connected for the senders (a restarted actor gets the same
//! inbox). The one of the two whose drop clears the last consumer bit (seen
//! atomically in the value its `fetch_and` returns) *disconnects* the channel:
//! see [`Channel::release_consumer`](crate::channel::Channel::release_consumer).
//!
//! All read-modify-writes use `AcqRel` so that a handle's earlier work (for
//! example taking messages, or [`Manager::set_exit_status`]) is visible to
//! whoever observes its bit cleared. The memory itself is reference counted
//! separately, by a [`Block`](crate::block::Block); this word only
//! drives the channel's behaviour.
//!
//! [`Manager::set_exit_status`]: crate::Manager::set_exit_status

use std::fmt;

use crate::loom::{AtomicU64, Ordering};

/// Bit set while a receiver exists.
pub(crate) const RECEIVER_ALIVE: u64 = 0b01;
/// Bit set while the manager exists.
pub(crate) const MANAGER_ALIVE: u64 = 0b10;
/// Both consumer-side bits.
pub(crate) const CONSUMERS: u64 = RECEIVER_ALIVE | MANAGER_ALIVE;
/// One sender in the count.
pub(crate) const SENDER_ONE: u64 = 0b100;
/// Where the exit status starts.
const EXIT_SHIFT: u32 = 56;
/// The bits of the exit status.
const EXIT_MASK: u64 = 0xff << EXIT_SHIFT;
/// Above this many senders a clone aborts the process (like `Arc` does on
/// overflow); unreachable without leaking senders in a loop, and far enough
/// below the exit status (2^54 senders) that clones racing past the check on
/// every thread at once cannot reach it.
const MAX_SENDERS: u64 = 1 << 50;

/// The handle state word, see the [module docs](self).
pub(crate) struct State(AtomicU64);

/// A snapshot of a [`State`].
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot(u64);

impl State {
    /// State of a new channel: one sender, a receiver and, if `manager`, a
    /// manager.
    pub(crate) fn new(manager: bool) -> State {
        let consumers = if manager { CONSUMERS } else { RECEIVER_ALIVE };
        State(AtomicU64::new(SENDER_ONE | consumers))
    }

    /// Current state.
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Adds a sender.
    pub(crate) fn add_sender(&self) {
        // Relaxed is enough: the new sender is made from an existing handle,
        // which keeps the channel alive (the same argument as `Arc::clone`).
        let old = Snapshot(self.0.fetch_add(SENDER_ONE, Ordering::Relaxed));
        if old.senders() > MAX_SENDERS {
            std::process::abort();
        }
    }

    /// Removes a sender; returns the state before.
    pub(crate) fn remove_sender(&self) -> Snapshot {
        Snapshot(self.0.fetch_sub(SENDER_ONE, Ordering::AcqRel))
    }

    /// Clears `bit` (`RECEIVER_ALIVE` or `MANAGER_ALIVE`); returns the state
    /// before.
    pub(crate) fn clear(&self, bit: u64) -> Snapshot {
        Snapshot(self.0.fetch_and(!bit, Ordering::AcqRel))
    }

    /// Sets `RECEIVER_ALIVE` if it is clear (only the manager calls this, so
    /// nothing else can set it meanwhile); returns `true` if it did.
    pub(crate) fn try_add_receiver(&self) -> bool {
        if self.load().has_receiver() {
            return false;
        }
        let old = Snapshot(self.0.fetch_or(RECEIVER_ALIVE, Ordering::AcqRel));
        debug_assert!(!old.has_receiver());
        true
    }

    /// Sets the exit status, keeping the other bits. Only the manager calls
    /// this, so the status bits it reads are its own last ones, and one
    /// `fetch_xor` of the difference sets the new status whatever the count
    /// does meanwhile. Setting the status it already has, 0 over 0 for most
    /// actors, writes nothing.
    pub(crate) fn set_exit_status(&self, status: u8) {
        let old = Snapshot(self.0.load(Ordering::Relaxed)).exit_status();
        if old != status {
            // `AcqRel` like every other RMW here, so joiners that see the
            // consumer side gone (after this) see the status.
            let _ = self
                .0
                .fetch_xor(u64::from(old ^ status) << EXIT_SHIFT, Ordering::AcqRel);
        }
    }
}

impl Snapshot {
    /// The raw bits.
    pub(crate) const fn bits(self) -> u64 {
        self.0
    }

    /// Number of senders.
    pub(crate) const fn senders(self) -> u64 {
        (self.0 & !EXIT_MASK) / SENDER_ONE
    }

    /// The exit status set by the manager (0 if never set).
    pub(crate) const fn exit_status(self) -> u8 {
        // Cannot truncate: the status is the top 8 bits.
        (self.0 >> EXIT_SHIFT) as u8
    }

    /// Whether a receiver exists.
    pub(crate) const fn has_receiver(self) -> bool {
        self.0 & RECEIVER_ALIVE != 0
    }

    /// Whether the manager exists.
    pub(crate) const fn has_manager(self) -> bool {
        self.0 & MANAGER_ALIVE != 0
    }

    /// Whether the receiver or the manager exists: the channel is connected
    /// for the senders.
    pub(crate) const fn has_consumer(self) -> bool {
        self.0 & CONSUMERS != 0
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("senders", &self.senders())
            .field("receiver", &self.has_receiver())
            .field("manager", &self.has_manager())
            .field("exit_status", &self.exit_status())
            .finish()
    }
}
