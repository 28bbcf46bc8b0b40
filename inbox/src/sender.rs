//! [`Sender`]: the cloneable sending side of an inbox, and its waiting
//! futures [`SendValue`] and [`Reserve`].
//!
//! The non-waiting operations call straight into [`Channel`]; the futures add
//! backpressure by registering in the channel's send wait list (see "Waking
//! waiting senders" in [`crate::channel`] for why no wake-up is lost).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::channel::{Channel, ClaimError};
use crate::error::{Disconnected, ReserveError, SendError};
use crate::id::InboxId;
use crate::join::Join;
use crate::permit::Permit;
use crate::wait_list::WaitId;

/// Sending side of an inbox.
///
/// Cheap to clone; all clones send to the same inbox. Made by [`new`](crate::new),
/// [`Receiver::new_sender`](crate::Receiver::new_sender) or
/// [`Manager::new_sender`](crate::Manager::new_sender).
///
/// Messages from one sender are received in the order they were sent.
pub struct Sender<M> {
    pub(crate) channel: Channel<M>,
}

impl<M> Sender<M> {
    pub(crate) fn from_channel(channel: Channel<M>) -> Sender<M> {
        channel.state().add_sender();
        Sender { channel }
    }

    /// Sends `msg` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// Gives `msg` back in [`SendError::Full`] if the inbox is full, or in
    /// [`SendError::Disconnected`] if the receiver and the manager are gone.
    pub fn try_send(&self, msg: M) -> Result<(), SendError<M>> {
        match self.channel.try_claim() {
            Ok(pos) => {
                // SAFETY: we just claimed `pos`.
                unsafe { self.channel.write(pos, msg) };
                Ok(())
            }
            Err(ClaimError::Full { .. }) => Err(SendError::Full(msg)),
            Err(ClaimError::Disconnected) => Err(SendError::Disconnected(msg)),
        }
    }

    /// Claims a slot for a message sent later with [`Permit::send`], without
    /// waiting.
    ///
    /// # Errors
    ///
    /// [`ReserveError::Full`] if the inbox is full,
    /// [`ReserveError::Disconnected`] if the receiver and the manager are
    /// gone.
    pub fn try_reserve(&self) -> Result<Permit<'_, M>, ReserveError> {
        match self.channel.try_claim() {
            // SAFETY: we just claimed `pos`.
            Ok(pos) => Ok(unsafe { Permit::new(&self.channel, pos) }),
            Err(ClaimError::Full { .. }) => Err(ReserveError::Full),
            Err(ClaimError::Disconnected) => Err(ReserveError::Disconnected),
        }
    }

    /// Sends `msg`, waiting while the inbox is full.
    ///
    /// The returned future resolves to `Err(SendError::Disconnected(msg))` if
    /// the receiver and the manager are gone (never to `Full`). Dropping it
    /// before it completes drops `msg`.
    pub fn send(&self, msg: M) -> SendValue<'_, M> {
        SendValue {
            sender: self,
            msg: Some(msg),
            wait: None,
        }
    }

    /// Claims a slot, waiting while the inbox is full.
    pub fn reserve(&self) -> Reserve<'_, M> {
        Reserve {
            sender: self,
            wait: None,
        }
    }

    /// Waits until the receiver and the manager are both gone (the actor has
    /// stopped for good) and returns the exit status set with
    /// [`Manager::set_exit_status`](crate::Manager::set_exit_status), or `0`.
    pub fn join(&self) -> Join<'_, M> {
        Join::new(&self.channel)
    }

    /// Whether the receiver or the manager still exists, so that messages
    /// may still be received.
    pub fn is_connected(&self) -> bool {
        self.channel.state().load().has_consumer()
    }

    /// Whether the inbox has a [`Manager`](crate::Manager).
    pub fn has_manager(&self) -> bool {
        self.channel.state().load().has_manager()
    }

    /// Whether `self` and `other` send to the same inbox.
    pub fn same_channel(&self, other: &Sender<M>) -> bool {
        self.channel.same(&other.channel)
    }

    /// Identity of the inbox, comparable across message types.
    pub fn id(&self) -> InboxId {
        self.channel.id()
    }

    /// Number of messages the inbox holds at most.
    pub fn capacity(&self) -> usize {
        self.channel.capacity()
    }

    /// Approximate number of queued messages (including claimed permits).
    pub fn len(&self) -> usize {
        self.channel.len()
    }

    /// Whether the inbox is (approximately) empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Claims a position, registering in the send wait list while full. The
    /// waiting part of [`SendValue`] and [`Reserve`].
    fn poll_claim(
        &self,
        wait: &mut Option<WaitId>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<u64, Disconnected>> {
        let waiters = self.channel.send_waiters();
        if let Some(id) = wait.take() {
            // Woken (the entry is gone: this poll uses that wake-up) or
            // polled spuriously: either way start afresh.
            let _ = waiters.remove(id);
        }
        let mut flagged = false;
        loop {
            let result = match self.channel.try_claim() {
                Ok(pos) => Ok(pos),
                Err(ClaimError::Disconnected) => Err(Disconnected),
                Err(ClaimError::Full { .. }) if wait.is_none() => {
                    // Register, then try again: see "Waking waiting senders"
                    // in `crate::channel` for why the receiver's free cannot
                    // miss us after that.
                    *wait = Some(waiters.register(None, cx.waker()).0);
                    continue;
                }
                Err(ClaimError::Full { behind_claim: true }) if !flagged => {
                    // Full behind a claim not yet published: ask its
                    // publisher to wake us, then try again.
                    self.channel.flag_claim_waiter();
                    flagged = true;
                    continue;
                }
                Err(ClaimError::Full { .. }) => return Poll::Pending,
            };
            // Registered in this poll but not needed after all: a wake-up
            // that reached the registration meanwhile belongs to another
            // waiter.
            cancel_wait(&self.channel, wait.take());
            return Poll::Ready(result);
        }
    }
}

/// Gives up registration `wait` of a dropped future; a wake-up it already got
/// is passed on to another waiting sender.
///
/// Inlined as far as the check for a registration: a send that did not wait
/// (nearly all) drops its future with a branch, where the call and the
/// lock's code around it cost about 20 instructions a send (callgrind,
/// W1a).
#[inline]
fn cancel_wait<M>(channel: &Channel<M>, wait: Option<WaitId>) {
    if let Some(id) = wait {
        cancel_registration(channel, id);
    }
}

/// [`cancel_wait`] of a registration.
#[cold]
#[inline(never)]
fn cancel_registration<M>(channel: &Channel<M>, id: WaitId) {
    let waiters = channel.send_waiters();
    if !waiters.remove(id) {
        waiters.wake_one();
    }
}

impl<M> Clone for Sender<M> {
    fn clone(&self) -> Sender<M> {
        Sender::from_channel(self.channel.clone())
    }
}

impl<M> Drop for Sender<M> {
    fn drop(&mut self) {
        self.channel.drop_sender();
    }
}

impl<M> fmt::Debug for Sender<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("id", &self.id())
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Future of [`Sender::send`]: sends a message, waiting while the inbox is
/// full.
#[must_use = "futures do nothing unless polled"]
pub struct SendValue<'s, M> {
    sender: &'s Sender<M>,
    msg: Option<M>,
    wait: Option<WaitId>,
}

impl<M> Future for SendValue<'_, M> {
    type Output = Result<(), SendError<M>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let sender = this.sender;
        // Checked before claiming: a claimed position must be used.
        assert!(this.msg.is_some(), "SendValue polled after completion");
        let result = match sender.poll_claim(&mut this.wait, cx) {
            Poll::Ready(result) => result,
            Poll::Pending => return Poll::Pending,
        };
        let Some(msg) = this.msg.take() else {
            unreachable!("checked above")
        };
        Poll::Ready(match result {
            Ok(pos) => {
                // SAFETY: `poll_claim` just claimed `pos`.
                unsafe { sender.channel.write(pos, msg) };
                Ok(())
            }
            Err(Disconnected) => Err(SendError::Disconnected(msg)),
        })
    }
}

// No structural pinning: the message is only moved out, never pinned.
impl<M> Unpin for SendValue<'_, M> {}

// SAFETY: a `SendValue` is shared, not only sent, between threads when a
// `&SendValue` is (for example when the future is held across an `.await` in
// a future that must be `Sync`). The only fields a `&SendValue` reaches are
// `sender` (`&Sender<M>`, itself `Sync` for `M: Send`), `wait` (a plain id)
// and `msg`, and of `msg` only its discriminant, read by `Debug`
// (`msg.is_none()`): no `&M` is ever made from a `&SendValue`. The message is
// touched only through `Pin<&mut SendValue>` (`poll`) and `&mut SendValue`
// (`drop`), which are exclusive. So, as with `std::sync::Exclusive`, sharing
// a `&SendValue` cannot share the message, and `M: Sync` is not needed; the
// message still moves to the receiving thread, hence `M: Send`. Writing the
// discriminant needs `&mut`, so reading it through `&` cannot race.
unsafe impl<M: Send> Sync for SendValue<'_, M> {}

impl<M> Drop for SendValue<'_, M> {
    #[inline]
    fn drop(&mut self) {
        cancel_wait(&self.sender.channel, self.wait.take());
    }
}

impl<M> fmt::Debug for SendValue<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendValue")
            .field("sender", &self.sender)
            .field("done", &self.msg.is_none())
            .field("waiting", &self.wait.is_some())
            .finish()
    }
}

/// Future of [`Sender::reserve`]: claims a slot, waiting while the inbox is
/// full.
#[must_use = "futures do nothing unless polled"]
pub struct Reserve<'s, M> {
    sender: &'s Sender<M>,
    wait: Option<WaitId>,
}

impl<'s, M> Future for Reserve<'s, M> {
    type Output = Result<Permit<'s, M>, Disconnected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let sender = this.sender;
        match sender.poll_claim(&mut this.wait, cx) {
            // SAFETY: `poll_claim` just claimed `pos`.
            Poll::Ready(Ok(pos)) => Poll::Ready(Ok(unsafe { Permit::new(&sender.channel, pos) })),
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<M> Drop for Reserve<'_, M> {
    #[inline]
    fn drop(&mut self) {
        cancel_wait(&self.sender.channel, self.wait.take());
    }
}

impl<M> fmt::Debug for Reserve<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reserve")
            .field("sender", &self.sender)
            .field("waiting", &self.wait.is_some())
            .finish()
    }
}
