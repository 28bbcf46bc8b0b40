//! [`Join`]: waiting for an actor to stop for good.
//!
//! A join completes once the receiver and the manager of the inbox are both
//! gone. The handle that drops last of the two clears its state bit and then
//! wakes the join wait list (always locking it, so no lock-free argument is
//! needed): a joiner registers under the same lock and then re-reads the
//! state, so it either is in the list when the wake-up comes or sees the bit
//! cleared.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::channel::Channel;
use crate::wait_list::WaitId;

/// Future of [`Sender::join`](crate::Sender::join): resolves to the exit
/// status once the receiver and the manager are gone.
#[must_use = "futures do nothing unless polled"]
pub struct Join<'s, M> {
    channel: &'s Channel<M>,
    wait: Option<WaitId>,
}

impl<'s, M> Join<'s, M> {
    pub(crate) fn new(channel: &'s Channel<M>) -> Join<'s, M> {
        Join {
            channel,
            wait: None,
        }
    }

    /// The exit status if the consumer side is gone.
    fn check(&mut self) -> Option<u8> {
        let state = self.channel.state().load();
        if state.has_consumer() {
            return None;
        }
        if let Some(id) = self.wait.take() {
            let _ = self.channel.join_waiters().remove(id);
        }
        Some(state.exit_status())
    }
}

impl<M> Future for Join<'_, M> {
    type Output = u8;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        let this = self.get_mut();
        if let Some(status) = this.check() {
            return Poll::Ready(status);
        }
        this.wait = Some(
            this.channel
                .join_waiters()
                .register(this.wait, cx.waker())
                .0,
        );
        match this.check() {
            Some(status) => Poll::Ready(status),
            None => Poll::Pending,
        }
    }
}

impl<M> Drop for Join<'_, M> {
    fn drop(&mut self) {
        if let Some(id) = self.wait.take() {
            // All joiners are woken at once, so a wake-up we got needs no
            // passing on.
            let _ = self.channel.join_waiters().remove(id);
        }
    }
}

impl<M> fmt::Debug for Join<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("id", &self.channel.id())
            .field("waiting", &self.wait.is_some())
            .finish()
    }
}
