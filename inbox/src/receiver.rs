//! [`Receiver`]: the single consuming side of an inbox, and its future
//! [`RecvValue`].
//!
//! The receiver is the consumer of [`Channel`]: only it (through `&mut self`)
//! takes messages, which is what makes the channel's unsafe consumer
//! operations sound.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::channel::Channel;
use crate::error::RecvError;
use crate::id::InboxId;
use crate::queued::{QueuedMessages, into_channel};
use crate::sender::Sender;
use crate::state::RECEIVER_ALIVE;

/// Receiving side of an inbox. There is at most one per inbox.
///
/// Dropping the receiver while the [`Manager`](crate::Manager) lives keeps
/// the queued messages for the next receiver
/// ([`Manager::new_receiver`](crate::Manager::new_receiver)). Dropping it
/// when there is no manager disconnects the inbox and drops the queued
/// messages.
pub struct Receiver<M> {
    channel: Channel<M>,
}

impl<M> Receiver<M> {
    /// # Safety
    ///
    /// The caller must have set `RECEIVER_ALIVE` for this receiver: there may
    /// only be one consumer.
    pub(crate) unsafe fn from_channel(channel: Channel<M>) -> Receiver<M> {
        Receiver { channel }
    }

    /// Takes the next message, without waiting.
    ///
    /// # Errors
    ///
    /// [`RecvError::Empty`] if no message is queued, or
    /// [`RecvError::Disconnected`] if none is queued and no [`Sender`] is
    /// left (a [`Manager`](crate::Manager) can still make a new one).
    pub fn try_recv(&mut self) -> Result<M, RecvError> {
        // SAFETY: we are the only receiver and hold `&mut self`.
        unsafe { self.channel.try_recv() }
    }

    /// Receives the next message, waiting for one if needed. Resolves to
    /// `None` once the inbox is empty and no sender is left.
    pub fn recv(&mut self) -> RecvValue<'_, M> {
        RecvValue { receiver: self }
    }

    /// Polls for the next message: `Ready(None)` once the inbox is empty and
    /// no sender is left.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<M>> {
        match self.try_recv() {
            Ok(msg) => return Poll::Ready(Some(msg)),
            Err(RecvError::Disconnected) => return Poll::Ready(None),
            Err(RecvError::Empty) => {}
        }
        let armed = self.channel.register_receiver(cx.waker());
        // Re-check after arming: see `crate::waker`.
        match self.try_recv() {
            Ok(msg) => Poll::Ready(Some(msg)),
            Err(RecvError::Disconnected) => Poll::Ready(None),
            Err(RecvError::Empty) => {
                if !armed {
                    // A wake-up for an earlier registration was in flight and
                    // our waker was not stored: poll again soon.
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
        }
    }

    /// The next message, left in the inbox.
    ///
    /// # Errors
    ///
    /// The same as [`Receiver::try_recv`].
    pub fn peek(&mut self) -> Result<&M, RecvError> {
        // SAFETY: we are the only receiver, and `&mut self` stays borrowed
        // while the returned reference lives, so we do not take it meanwhile.
        unsafe { self.channel.peek() }
    }

    /// A new sender for this inbox.
    pub fn new_sender(&self) -> Sender<M> {
        Sender::from_channel(self.channel.clone())
    }

    /// Whether any [`Sender`] is left.
    pub fn is_connected(&self) -> bool {
        self.channel.state().load().senders() != 0
    }

    /// Identity of the inbox, comparable across message types.
    pub fn id(&self) -> InboxId {
        self.channel.id()
    }

    /// Number of messages the inbox holds at most.
    pub fn capacity(&self) -> usize {
        self.channel.capacity()
    }

    /// Drops the receiver, handing back the messages still queued.
    ///
    /// If there is no [`Manager`](crate::Manager), this disconnects the
    /// inbox, as dropping the receiver would, but the queued messages are
    /// returned instead of dropped, so the caller can deal with a panic in
    /// each one's `Drop`. With a manager the inbox stays connected, its
    /// messages stay queued for the next receiver and the iterator is empty.
    ///
    /// ```
    /// let (sender, receiver) = kiln_inbox::new(4);
    /// sender.try_send(1).unwrap();
    /// sender.try_send(2).unwrap();
    /// assert_eq!(receiver.close().sum::<i32>(), 3);
    /// assert!(sender.try_send(3).unwrap_err().is_disconnected());
    /// ```
    pub fn close(self) -> QueuedMessages<M> {
        let channel = into_channel(self, |receiver| &receiver.channel);
        QueuedMessages::release(channel, RECEIVER_ALIVE)
    }
}

impl<M> Drop for Receiver<M> {
    fn drop(&mut self) {
        self.channel.drop_consumer(RECEIVER_ALIVE);
    }
}

impl<M> fmt::Debug for Receiver<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("id", &self.id())
            .field("capacity", &self.capacity())
            .field("len", &self.channel.len())
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Future of [`Receiver::recv`]: the next message, or `None` once the inbox
/// is empty and no sender is left.
#[must_use = "futures do nothing unless polled"]
pub struct RecvValue<'r, M> {
    receiver: &'r mut Receiver<M>,
}

impl<M> Future for RecvValue<'_, M> {
    type Output = Option<M>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<M>> {
        self.get_mut().receiver.poll_recv(cx)
    }
}

impl<M> fmt::Debug for RecvValue<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvValue")
            .field("receiver", &self.receiver)
            .finish()
    }
}
