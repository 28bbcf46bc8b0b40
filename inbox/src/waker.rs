//! [`AtomicWaker`]: one task waits, any number of threads wake it.
//!
//! The receiver of the inbox and of the oneshot channel park their task here;
//! senders call [`AtomicWaker::wake`] after publishing. It differs from the
//! well-known `futures::task::AtomicWaker` in two ways that matter for the
//! send hot path: when nobody waits, `wake` is a *single* read-modify-write
//! (`fetch_or`), not two; and the state byte has *spare bits* that the owner
//! may use for its own flags, which every `wake` returns for free (the inbox
//! uses one, see "Waking waiting senders" in [`crate::channel`]).
//!
//! # State
//!
//! ```text
//!  u8 bits:  [ spare (bits 2..8) | NOTIFIED (bit 1) | WAITING (bit 0) ]
//! ```
//!
//! * `WAITING`: the registrar stored a waker in the cell and wants a wake-up.
//!   Only the registrar sets it (with a CAS from a state where it is clear).
//! * `NOTIFIED`: some `wake` happened since the registrar last cleared it.
//!   Every `wake` sets it; only the registrar clears it.
//! * spare bits: set and cleared only through [`AtomicWaker::set_spare`] and
//!   [`AtomicWaker::clear_spare`]; every other operation keeps them.
//!
//! Who owns the waker cell (spare bits do not matter):
//!
//! | `WAITING`, `NOTIFIED` | owner of the cell                                              |
//! |-----------------------|----------------------------------------------------------------|
//! | `0, 0` or `0, 1`      | the registrar (nobody else touches the cell)                   |
//! | `1, 0`                | nobody: the registrar may take it back with a CAS clearing `WAITING`, a waker may take it by being the `fetch_or` that sets `NOTIFIED` |
//! | `1, 1`                | the one waker whose `fetch_or` set `NOTIFIED` next to `WAITING`; it takes the waker and hands the cell back by clearing `WAITING` |
//!
//! # Why no wake-up is lost
//!
//! A waker first publishes its news (a `Release` store or RMW elsewhere) and
//! then does its `fetch_or(NOTIFIED, AcqRel)`. The registrar first *arms*
//! (its CAS setting `WAITING` and clearing `NOTIFIED`, `AcqRel`) and then
//! re-checks for news. All writes to the state are read-modify-writes, so
//! they are totally ordered:
//!
//! * If the waker's `fetch_or` comes after the arming CAS, it sees `WAITING`
//!   (and either `NOTIFIED` clear, so it wakes the stored waker, or set, in
//!   which case another waker is already waking the same registration).
//! * If it comes before, then the arming CAS (which replaces a state with
//!   `WAITING` clear, consuming `NOTIFIED` if set) reads the waker's write or
//!   a later RMW of its release sequence, and it acquires; so does any
//!   earlier CAS of the registrar that cleared `NOTIFIED`. So the news
//!   happens-before the registrar's re-check, which sees it.
//!
//! Arming from `0, 1` consumes the notification and arms in one CAS: a
//! registrar woken since its last registration (the usual case for an actor
//! that waits for every message) pays one read-modify-write, not two.
//!
//! If [`register`](AtomicWaker::register) finds `WAITING|NOTIFIED` a waker is
//! busy waking the *previous* registration: it returns `false` and the caller
//! must re-check and, if still waiting, wake its own task (a rare, harmless
//! extra poll).

use std::fmt;
use std::task::Waker;

use crate::loom::{AtomicU8, Ordering, UnsafeCell, spin_loop};

/// A waker is stored and wants to be woken.
const WAITING: u8 = 0b01;
/// A wake-up happened since the registrar last looked.
const NOTIFIED: u8 = 0b10;
/// The bits of the waker protocol; the others are spare.
const PROTOCOL: u8 = WAITING | NOTIFIED;
/// Bits the owner of an [`AtomicWaker`] may use.
pub(crate) const SPARE: u8 = !PROTOCOL;

/// One registered waker, woken by any thread: a state byte and a
/// [`WakerCell`], wherever their owner keeps them. See the
/// [module docs](self).
///
/// The two parts are apart so that the state byte can share a word with
/// its owner's other small fields: in an inbox's header it sits beside the
/// reference count, where it costs nothing, instead of padding a 24-byte
/// `AtomicWaker` of its own to 8 bytes more than it holds.
#[derive(Copy, Clone)]
pub(crate) struct AtomicWaker<'a> {
    state: &'a AtomicU8,
    cell: &'a WakerCell,
}

/// The waker of an [`AtomicWaker`]. Make its state byte with
/// [`AtomicWaker::new_state`].
pub(crate) struct WakerCell {
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the waker cell is shared, but only its owner (see the ownership
// table in the module docs) touches it, and ownership moves by release and
// acquire read-modify-writes on the state byte it is used with (always the
// same one: its owner pairs them). A `Waker` is `Send` and `Sync`.
unsafe impl Sync for WakerCell {}

impl WakerCell {
    /// No waker.
    pub(crate) fn new() -> WakerCell {
        WakerCell {
            waker: UnsafeCell::new(None),
        }
    }
}

impl<'a> AtomicWaker<'a> {
    /// The state byte of a new atomic waker: no waker registered, spare bits
    /// clear.
    pub(crate) fn new_state() -> AtomicU8 {
        AtomicU8::new(0)
    }

    /// The atomic waker of `state` (made by [`AtomicWaker::new_state`]) and
    /// `cell`, which must always be used together.
    pub(crate) fn new(state: &'a AtomicU8, cell: &'a WakerCell) -> AtomicWaker<'a> {
        AtomicWaker { state, cell }
    }

    /// Registers `waker` to be woken by the next [`wake`](Self::wake).
    ///
    /// The caller must re-check its condition afterwards. Returns `false` if
    /// a wake-up of an earlier registration is in progress and `waker` was not
    /// stored; if the re-check still says "wait", the caller must then wake
    /// `waker` itself.
    ///
    /// Only one thread may call this at a time: the single consumer (which
    /// calls it through `&mut self`).
    pub(crate) fn register(self, waker: &Waker) -> bool {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let spare = state & SPARE;
            let next = match state & PROTOCOL {
                // We own the cell (`WAITING` clear): store, then arm, which
                // also consumes a notification (`NOTIFIED`) in the same CAS.
                0 | NOTIFIED => {
                    self.store(waker);
                    spare | WAITING
                }
                // Take the cell back, then store and arm.
                WAITING => spare,
                _ => {
                    // A waker is busy with the previous registration; the
                    // caller will poll again at once: let it finish first
                    // (loom needs this hint to schedule the waker).
                    spin_loop();
                    return false;
                }
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if next & WAITING != 0 => return true,
                Ok(_) => state = next,
                // A wake-up or a spare bit changed meanwhile.
                Err(actual) => state = actual,
            }
        }
    }

    /// Stores `waker` in the cell, keeping the old one if it wakes the same
    /// task. Only while the registrar owns the cell (`WAITING` clear).
    fn store(self, waker: &Waker) {
        self.cell.waker.with_mut(|cell| {
            // SAFETY: `WAITING` is clear, so the registrar (us) owns the
            // cell: see the ownership table in the module docs. Every hand-back
            // to us was a release RMW on the state that our acquiring load or
            // CAS read, so earlier accesses by wakers happen-before this one.
            let cell = unsafe { &mut *cell };
            match cell {
                Some(old) if old.will_wake(waker) => {}
                _ => *cell = Some(waker.clone()),
            }
        });
    }

    /// Wakes the registered waker, if any; a single RMW when nobody waits.
    /// Returns the state before, so the caller can read its spare bits.
    ///
    /// Call this after publishing whatever the registrar waits for.
    pub(crate) fn wake(self) -> u8 {
        let old = self.state.fetch_or(NOTIFIED, Ordering::AcqRel);
        if old & PROTOCOL != WAITING {
            // Nobody waiting, or another waker is already waking them.
            return old;
        }
        let waker = self.cell.waker.with_mut(|cell| {
            // SAFETY: our `fetch_or` set `NOTIFIED` next to `WAITING`, making
            // us the owner of the cell until we clear `WAITING` below. The
            // registrar's arming CAS released the stored waker and our
            // acquiring `fetch_or` read it.
            unsafe { (*cell).take() }
        });
        // Hand the cell back to the registrar.
        let _ = self.state.fetch_and(!WAITING, Ordering::AcqRel);
        if let Some(waker) = waker {
            waker.wake();
        }
        old
    }

    /// Sets `bits` (some of [`SPARE`]), an RMW ordered with all the others.
    pub(crate) fn set_spare(self, bits: u8) {
        debug_assert_eq!(bits & PROTOCOL, 0);
        let _ = self.state.fetch_or(bits, Ordering::AcqRel);
    }

    /// Clears `bits` (some of [`SPARE`]); returns the state before.
    pub(crate) fn clear_spare(self, bits: u8) -> u8 {
        debug_assert_eq!(bits & PROTOCOL, 0);
        self.state.fetch_and(!bits, Ordering::AcqRel)
    }
}

impl fmt::Debug for AtomicWaker<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::Relaxed);
        f.debug_struct("AtomicWaker")
            .field("waiting", &(state & WAITING != 0))
            .field("notified", &(state & NOTIFIED != 0))
            .field("spare", &(state & SPARE))
            .finish()
    }
}
