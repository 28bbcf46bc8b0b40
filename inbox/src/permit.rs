//! [`Permit`]: a claimed slot, to be filled later.
//!
//! Made by [`Sender::try_reserve`](crate::Sender::try_reserve) and
//! [`Sender::reserve`](crate::Sender::reserve). It owns one position of the
//! queue (see [`crate::channel`]): [`Permit::send`] writes it, dropping the
//! permit marks it skipped.

use std::fmt;

use crate::channel::Channel;

/// A claimed slot in an inbox: [`send`](Permit::send) cannot fail or wait.
///
/// Dropping a permit without sending marks its slot *skipped*: the receiver
/// passes over it and the capacity is returned. Permits are claimed in queue
/// order, so messages sent after the permit was claimed are received only
/// once the permit is used or dropped: keep permits short-lived.
#[must_use = "a permit holds a slot of the inbox until it is used or dropped"]
pub struct Permit<'s, M> {
    channel: &'s Channel<M>,
    pos: u64,
}

impl<'s, M> Permit<'s, M> {
    /// # Safety
    ///
    /// `pos` must have just been claimed on `channel` (through a sender, so
    /// that it lives while the permit does).
    pub(crate) const unsafe fn new(channel: &'s Channel<M>, pos: u64) -> Permit<'s, M> {
        Permit { channel, pos }
    }

    /// Sends `msg` in the claimed slot.
    ///
    /// If the inbox was disconnected since the slot was claimed the message
    /// is dropped (at the latest when the last handle of the inbox is
    /// dropped).
    pub fn send(self, msg: M) {
        let (channel, pos) = (self.channel, self.pos);
        std::mem::forget(self);
        // SAFETY: a permit owns its claimed position, and we forgot the
        // permit so its `Drop` does not skip the position.
        unsafe { channel.write(pos, msg) };
    }
}

impl<M> Drop for Permit<'_, M> {
    fn drop(&mut self) {
        // SAFETY: the permit owns its claimed position, unused so far
        // (`send` forgets the permit).
        unsafe { self.channel.skip(self.pos) };
    }
}

impl<M> fmt::Debug for Permit<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("id", &self.channel.id())
            .field("position", &self.pos)
            .finish()
    }
}
