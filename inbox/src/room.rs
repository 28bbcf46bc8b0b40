//! [`Room`]: an inbox made with room in its allocation for one more value,
//! and [`Lodged`]: that value, moved in.
//!
//! An actor is its inbox and the future that runs it (kiln's `ActorFuture`,
//! which holds the inbox's manager and the actor, which holds the receiver).
//! Made apart they are two allocations, and for an actor that is spawned,
//! handles a few messages and stops, the allocator's work for the two is a
//! good part of its whole cost. So a runtime can make the inbox with room
//! for the future ([`Room::new`]), make the future with the inbox's handles,
//! and move it into the room ([`Room::put`]): one allocation per actor.
//!
//! The lodged value holds a reference to the inbox (the room's own), so the
//! allocation lives as long as the value does, and as long as any handle
//! does: a sender that outlives the actor keeps the memory of the stopped
//! future, but not the future (dropping a [`Lodged`] drops the value at
//! once). A value never moves once lodged, so it can be pinned.
//!
//! A room holds a value of at most 2,040 bytes, aligned to at most 16
//! ([`Room::FITS`]); a runtime boxes a larger value as before.
//!
//! ```
//! use kiln_inbox::room::Room;
//!
//! // A value that receives from its own inbox (as an actor's future does).
//! struct Counter {
//!     receiver: kiln_inbox::Receiver<u64>,
//!     total: u64,
//! }
//!
//! let (manager, sender, receiver, room) = Room::<u64, Counter>::new(8).unwrap();
//! let mut counter = room.put(Counter { receiver, total: 0 });
//! sender.try_send(2).unwrap();
//! sender.try_send(3).unwrap();
//! let counter = counter.as_pin_mut().get_mut();
//! while let Ok(n) = counter.receiver.try_recv() {
//!     counter.total += n;
//! }
//! assert_eq!(counter.total, 5);
//! # drop(manager);
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;

use crate::block::{MAX_ROOM_UNITS, ROOM_ALIGN, ROOM_UNIT};
use crate::channel::Channel;
use crate::manager::Manager;
use crate::receiver::Receiver;
use crate::sender::Sender;

/// Room for a value of type `P` in the allocation of an inbox of `M`s,
/// made with the inbox by [`Room::new`]. See the [module docs](self).
///
/// Dropped without [`put`](Room::put) it just gives up the room.
pub struct Room<M, P> {
    /// The room's reference to the inbox.
    channel: Channel<M>,
    _value: PhantomData<P>,
}

impl<M, P> Room<M, P> {
    /// Whether a `P` fits in a room: at most 2,040 bytes, with an alignment
    /// of at most 16, and not zero-sized (which needs no room).
    pub const FITS: bool = size_of::<P>() != 0
        && size_of::<P>() <= MAX_ROOM_UNITS as usize * ROOM_UNIT
        && align_of::<P>() <= ROOM_ALIGN;

    /// The room's size, in units of `ROOM_UNIT` bytes (`FITS` checked).
    const UNITS: u8 = {
        let units = size_of::<P>().div_ceil(ROOM_UNIT);
        if units > MAX_ROOM_UNITS as usize {
            0
        } else {
            // Cannot truncate: at most `MAX_ROOM_UNITS`.
            units as u8
        }
    };

    /// Makes an inbox of `capacity` messages with a manager, as
    /// [`Manager::new`], with room for a `P` in its allocation; `None` if a
    /// `P` does not fit (see [`Room::FITS`]).
    ///
    /// # Panics
    ///
    /// If `capacity` is not in [`MIN_CAPACITY`]`..=`[`MAX_CAPACITY`].
    ///
    /// [`MIN_CAPACITY`]: crate::MIN_CAPACITY
    /// [`MAX_CAPACITY`]: crate::MAX_CAPACITY
    #[allow(
        clippy::type_complexity,
        reason = "the parts of a new inbox, named where used"
    )]
    pub fn new(capacity: usize) -> Option<(Manager<M>, Sender<M>, Receiver<M>, Room<M, P>)> {
        if !Self::FITS {
            return None;
        }
        let (sender, receiver, channel) = crate::new_channel(capacity, true, Self::UNITS);
        let manager = Manager::from_channel(channel.clone());
        let room = Room {
            channel,
            _value: PhantomData,
        };
        Some((manager, sender, receiver, room))
    }

    /// Moves `value` into the room.
    pub fn put(self, value: P) -> Lodged<M, P> {
        let value_ptr = self.channel.room().cast::<P>();
        // SAFETY: the room has room for a `P` (`UNITS` of `ROOM_UNIT`
        // bytes, aligned to `ROOM_ALIGN`, which is at least `P`'s alignment:
        // `new` checked `FITS`), and nobody else uses it: this room is its
        // only owner, and is consumed here.
        unsafe { value_ptr.write(value) };
        // The room's reference goes to the lodged value, which takes it back
        // in `release_room`.
        self.channel.forget();
        Lodged {
            value: value_ptr,
            _owns: PhantomData,
        }
    }
}

impl<M, P> fmt::Debug for Room<M, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Room")
            .field("id", &self.channel.id())
            .finish()
    }
}

/// A value lodged in its inbox's allocation by [`Room::put`]; owns the
/// value as a `Box` would (and pins it: it never moves). See the
/// [module docs](self).
pub struct Lodged<M, P> {
    /// The value, in the room; it holds the room's reference to the inbox.
    value: NonNull<P>,
    /// Owns a `P` and a reference to an inbox of `M`s.
    _owns: PhantomData<(P, Channel<M>)>,
}

// SAFETY: a `Lodged` owns its `P` (so `Send` needs `P: Send`) and a
// reference to an inbox of `M`s, which it drops on whichever thread the
// `Lodged` is dropped (like a `Sender`, so `M: Send`).
unsafe impl<M: Send, P: Send> Send for Lodged<M, P> {}
// SAFETY: `&Lodged` only gives out `&P`.
unsafe impl<M: Send, P: Sync> Sync for Lodged<M, P> {}

impl<M, P> Lodged<M, P> {
    /// The value, pinned: it stays where it is until dropped.
    pub fn as_pin_mut(&mut self) -> Pin<&mut P> {
        // SAFETY: we own the value, and `&mut self` makes this the only
        // reference to it while it lives.
        let value = unsafe { self.value.as_mut() };
        // SAFETY: the value never moves: it is dropped in place, where
        // `Room::put` wrote it.
        unsafe { Pin::new_unchecked(value) }
    }

    /// The value.
    pub fn get(&self) -> &P {
        // SAFETY: we own the value; `&self` allows shared references.
        unsafe { self.value.as_ref() }
    }

    /// Gives up ownership: the caller must drop the value in place and then
    /// call [`release_room`] with its address, or make a `Lodged` of it
    /// again with [`Lodged::from_raw`]. For owners that keep the value
    /// behind a pointer of their own (a runtime's `dyn` process).
    pub fn into_raw(self) -> NonNull<P> {
        let value = self.value;
        std::mem::forget(self);
        value
    }

    /// Takes ownership back from [`Lodged::into_raw`].
    ///
    /// # Safety
    ///
    /// `value` is from [`Lodged::<M, P>::into_raw`](Lodged::into_raw), and
    /// nothing else owns it (it was not given back before).
    pub const unsafe fn from_raw(value: NonNull<P>) -> Lodged<M, P> {
        Lodged {
            value,
            _owns: PhantomData,
        }
    }
}

impl<M, P> Drop for Lodged<M, P> {
    fn drop(&mut self) {
        /// Releases the room also if the value's drop panics.
        struct Release<M>(NonNull<u8>, PhantomData<M>);

        impl<M> Drop for Release<M> {
            fn drop(&mut self) {
                // SAFETY: the address of a lodged value (see below), dropped
                // (or abandoned by a panic) before this guard.
                unsafe { release_room::<M>(self.0) };
            }
        }

        let _release = Release::<M>(self.value.cast(), PhantomData);
        // SAFETY: we own the value, which is initialised, and it is not used
        // again.
        unsafe { self.value.drop_in_place() };
    }
}

impl<M, P: fmt::Debug> fmt::Debug for Lodged<M, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Lodged").field(self.get()).finish()
    }
}

/// Releases the inbox reference of a value lodged in an inbox of `M`s, once
/// its owner dropped the value in place: the other half of
/// [`Lodged::into_raw`]. The inbox's allocation is freed if no handle is
/// left.
///
/// # Safety
///
/// `value` is the address of a value from [`Lodged::into_raw`] on a
/// `Lodged<M, _>` (this `M`), already dropped, and not used again; this is
/// called once for it.
pub unsafe fn release_room<M>(value: NonNull<u8>) {
    // SAFETY: `value` is the room of an inbox of `M`s whose reference
    // `Room::put` gave up for the lodged value, per the caller.
    drop(unsafe { Channel::<M>::from_room(value) });
}
