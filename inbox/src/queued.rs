//! [`QueuedMessages`]: the messages left in an inbox when its consumer side
//! closes it, handed out one at a time.
//!
//! Dropping the last consumer-side handle drops the queued messages itself,
//! each under its own guard, and resumes the first panic of their `Drop`s
//! afterwards (see [`crate::unwind`]). [`Manager::close`] and
//! [`Receiver::close`] hand them to the caller instead, who can then deal
//! with each panic: kiln logs every one, naming the actor. The iterator is
//! the consumer of the disconnected channel ([`Channel::take_queued`]).
//!
//! [`Manager::close`]: crate::Manager::close
//! [`Receiver::close`]: crate::Receiver::close

use std::fmt;
use std::iter::FusedIterator;
use std::mem::ManuallyDrop;
use std::ptr;

use crate::channel::{Channel, Drain};

/// The messages still queued in an inbox when it was disconnected by
/// [`Manager::close`](crate::Manager::close) or
/// [`Receiver::close`](crate::Receiver::close), in the order they were sent.
///
/// Empty if the closed handle was not the last of the consumer side (the
/// messages then stay in the inbox for the other one). Dropping it drops the
/// messages not yet taken, as dropping the handle would have: each under its
/// own `catch_unwind`, resuming the first panic once all are dropped (unless
/// the thread is already unwinding). A message sent into a
/// [`Permit`](crate::Permit) claimed before the inbox was disconnected may
/// be missed (if it was not sent yet when the iterator got to it); it is
/// dropped with the inbox's memory.
///
/// ```
/// use kiln_inbox::Manager;
///
/// let (manager, sender, receiver) = Manager::new(4);
/// sender.try_send(1).unwrap();
/// sender.try_send(2).unwrap();
/// drop(receiver);
/// let queued: Vec<_> = manager.close().collect();
/// assert_eq!(queued, [1, 2]);
/// assert!(sender.try_send(3).unwrap_err().is_disconnected());
/// ```
pub struct QueuedMessages<M> {
    channel: Channel<M>,
    drain: Drain,
}

impl<M> QueuedMessages<M> {
    /// Removes the consumer-side handle whose bit is `bit` (its `Drop` must
    /// not run: see [`into_channel`]) from `channel`, disconnecting it if it
    /// was the last one, and returns the messages still queued then.
    pub(crate) fn release(channel: Channel<M>, bit: u64) -> QueuedMessages<M> {
        let drain = channel.release_consumer(bit);
        QueuedMessages { channel, drain }
    }
}

/// Moves the channel out of `handle` (a [`Manager`](crate::Manager) or
/// [`Receiver`](crate::Receiver), whose only field is the channel that
/// `channel` returns) without running the handle's `Drop`.
pub(crate) fn into_channel<H, M>(handle: H, channel: fn(&H) -> &Channel<M>) -> Channel<M> {
    let handle = ManuallyDrop::new(handle);
    // SAFETY: `handle` is never dropped or used again, so the channel is
    // moved out of it once; it has no other field that would need a drop.
    unsafe { ptr::read(channel(&handle)) }
}

impl<M> Iterator for QueuedMessages<M> {
    type Item = M;

    fn next(&mut self) -> Option<M> {
        // SAFETY: `drain` comes from `release_consumer` on `channel`.
        unsafe { self.channel.take_queued(&mut self.drain) }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Cannot truncate: at most the capacity, an `usize`.
        (0, Some(self.drain.max_left() as usize))
    }
}

impl<M> FusedIterator for QueuedMessages<M> {}

impl<M> Drop for QueuedMessages<M> {
    fn drop(&mut self) {
        // SAFETY: `drain` comes from `release_consumer` on `channel`.
        unsafe { self.channel.drop_queued(&mut self.drain) };
    }
}

impl<M> fmt::Debug for QueuedMessages<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuedMessages")
            .field("id", &self.channel.id())
            .field("left_at_most", &self.drain.max_left())
            .finish()
    }
}
