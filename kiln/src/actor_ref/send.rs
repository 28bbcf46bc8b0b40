//! [`SendValue`]: the future of [`ActorRef::send`](crate::ActorRef::send),
//! direct into the inbox or through a mapped reference.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use crate::actor_ref::SendError;
use crate::actor_ref::mapped::BoxFuture;

/// The future returned by [`ActorRef::send`](crate::ActorRef::send).
///
/// It is `Send` and `Sync` when the message is `Send` (the message need not
/// be `Sync`: the future never shares it).
#[must_use = "futures do nothing unless polled"]
pub struct SendValue<'r, M> {
    state: SendState<'r, M>,
}

impl<'r, M> SendValue<'r, M> {
    /// Sends straight into the inbox.
    pub(crate) const fn direct(send: kiln_inbox::SendValue<'r, M>) -> SendValue<'r, M> {
        SendValue {
            state: SendState::Direct(send),
        }
    }

    /// Sends through a mapped reference.
    pub(crate) fn mapped(send: BoxFuture<'r, Result<(), SendError<M>>>) -> SendValue<'r, M> {
        SendValue {
            state: SendState::Mapped(send),
        }
    }

    /// A message lost on purpose (see `test::set_message_loss`): reports
    /// success.
    #[cfg(feature = "test")]
    pub(crate) const fn lost() -> SendValue<'r, M> {
        SendValue {
            state: SendState::Lost,
        }
    }
}

enum SendState<'r, M> {
    Direct(kiln_inbox::SendValue<'r, M>),
    Mapped(BoxFuture<'r, Result<(), SendError<M>>>),
    /// The message was lost on purpose: the send reports success.
    #[cfg_attr(
        not(feature = "test"),
        allow(dead_code, reason = "used by message loss")
    )]
    Lost,
}

// Nothing in `SendValue` is structurally pinned (the inbox's future is
// `Unpin`, the mapped one is boxed).
impl<M> Unpin for SendValue<'_, M> {}

impl<M> Future for SendValue<'_, M> {
    type Output = Result<(), SendError<M>>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let poll = match &mut self.get_mut().state {
            SendState::Direct(send) => Pin::new(send).poll(cx).map_err(SendError::from),
            SendState::Mapped(send) => send.as_mut().poll(cx),
            SendState::Lost => return Poll::Ready(Ok(())),
        };
        if let Poll::Ready(Ok(())) = &poll {
            crate::metrics::sent();
        }
        poll
    }
}

impl<M> fmt::Debug for SendValue<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendValue")
    }
}
