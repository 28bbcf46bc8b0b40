//! [`Receiver`]: the single consuming side of an inbox, and its futures
//! [`RecvValue`] and [`PeekValue`].
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
        self.poll_with(cx, Receiver::try_recv)
    }

    /// The next message, left in the inbox, without waiting.
    ///
    /// # Errors
    ///
    /// The same as [`Receiver::try_recv`].
    pub fn try_peek(&mut self) -> Result<&M, RecvError> {
        // SAFETY: we are the only receiver, and `&mut self` stays borrowed
        // while the returned reference lives, so we do not take it meanwhile.
        unsafe { self.channel.peek() }
    }

    /// Waits for the next message and returns a reference to it, leaving it
    /// in the inbox (the next receive takes it). Resolves to `None` once the
    /// inbox is empty and no sender is left.
    pub fn peek(&mut self) -> PeekValue<'_, M> {
        PeekValue {
            receiver: Some(self),
        }
    }

    /// Polls for the next message, leaving it in the inbox: `Ready(None)`
    /// once the inbox is empty and no sender is left.
    pub fn poll_peek(&mut self, cx: &mut Context<'_>) -> Poll<Option<&M>> {
        match self.poll_with(cx, |receiver| receiver.try_peek().map(drop)) {
            // Still there: only we take messages.
            Poll::Ready(Some(())) => Poll::Ready(self.try_peek().ok()),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Polls with `attempt` (a receive or a peek): if the inbox is empty,
    /// arms the receiver's waker and tries again (see `crate::waker` for why
    /// that loses no wake-up).
    fn poll_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut attempt: impl FnMut(&mut Self) -> Result<T, RecvError>,
    ) -> Poll<Option<T>> {
        match attempt(self) {
            Ok(value) => return Poll::Ready(Some(value)),
            Err(RecvError::Disconnected) => return Poll::Ready(None),
            Err(RecvError::Empty) => {}
        }
        let armed = self.channel.register_receiver(cx.waker());
        // Re-check after arming: see `crate::waker`.
        match attempt(self) {
            Ok(value) => Poll::Ready(Some(value)),
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

    /// A new sender for this inbox.
    pub fn new_sender(&self) -> Sender<M> {
        Sender::from_channel(self.channel.clone())
    }

    /// Whether any [`Sender`] is left.
    pub fn is_connected(&self) -> bool {
        self.channel.state().load().senders() != 0
    }

    /// Whether the inbox has a [`Manager`](crate::Manager), which keeps it
    /// (and its messages) when this receiver is dropped, for the next one.
    pub fn has_manager(&self) -> bool {
        self.channel.state().load().has_manager()
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

/// Future of [`Receiver::peek`]: a reference to the next message, left in
/// the inbox, or `None` once the inbox is empty and no sender is left.
#[must_use = "futures do nothing unless polled"]
pub struct PeekValue<'r, M> {
    /// `None` once the future completed (the reference went out with it).
    receiver: Option<&'r mut Receiver<M>>,
}

impl<'r, M> Future for PeekValue<'r, M> {
    type Output = Option<&'r M>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<&'r M>> {
        let this = self.get_mut();
        let Some(receiver) = this.receiver.as_mut() else {
            panic!("PeekValue polled after completion");
        };
        match receiver.poll_peek(cx).map(|msg| msg.is_some()) {
            Poll::Ready(true) => {
                let receiver = this.receiver.take();
                // Still there: only the receiver takes messages.
                Poll::Ready(receiver.and_then(|receiver| receiver.try_peek().ok()))
            }
            Poll::Ready(false) => {
                this.receiver = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<M> fmt::Debug for PeekValue<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeekValue")
            .field("done", &self.receiver.is_none())
            .finish()
    }
}
