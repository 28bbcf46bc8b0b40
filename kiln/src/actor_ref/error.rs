//! [`SendError`]: why a message could not be sent, with the message given back.

use std::fmt;

/// The error of [`ActorRef::try_send`] and [`ActorRef::send`]: says why the
/// message was not sent and, in all but one documented case, gives it back.
///
/// `Debug` does not need `M: Debug`.
///
/// [`ActorRef::try_send`]: crate::actor_ref::ActorRef::try_send
/// [`ActorRef::send`]: crate::actor_ref::ActorRef::send
#[derive(Clone, PartialEq, Eq)]
pub enum SendError<M> {
    /// The actor's inbox is full. Retry later, or use
    /// [`ActorRef::send`](crate::actor_ref::ActorRef::send) to wait.
    Full(M),
    /// The actor has stopped and will not receive messages any more.
    Disconnected(M),
    /// The reference was made with
    /// [`try_map`](crate::actor_ref::ActorRef::try_map) or
    /// [`try_map_fn`](crate::actor_ref::ActorRef::try_map_fn) and its
    /// conversion did not accept the message (and gave it back).
    Rejected(M),
    /// A conversion of a mapped reference consumed the message and did not
    /// deliver it, so it cannot be given back; it was dropped. Either the
    /// reference was made with
    /// [`try_map_lossy`](crate::actor_ref::ActorRef::try_map_lossy) or
    /// [`try_map_fn_lossy`](crate::actor_ref::ActorRef::try_map_fn_lossy) and
    /// that conversion failed, or the reference was mapped twice (a mapped
    /// reference mapped again), the outer conversion succeeded and the inner
    /// one rejected the converted message.
    RejectedConverted,
}

impl<M> SendError<M> {
    /// Returns the message, if the error holds it (all but
    /// [`SendError::RejectedConverted`] do).
    pub fn into_inner(self) -> Option<M> {
        match self {
            SendError::Full(msg) | SendError::Disconnected(msg) | SendError::Rejected(msg) => {
                Some(msg)
            }
            SendError::RejectedConverted => None,
        }
    }

    /// Returns `true` if the inbox was full.
    pub const fn is_full(&self) -> bool {
        matches!(self, SendError::Full(_))
    }

    /// Returns `true` if the actor has stopped.
    pub const fn is_disconnected(&self) -> bool {
        matches!(self, SendError::Disconnected(_))
    }

    fn kind(&self) -> &'static str {
        match self {
            SendError::Full(_) => "Full",
            SendError::Disconnected(_) => "Disconnected",
            SendError::Rejected(_) => "Rejected",
            SendError::RejectedConverted => "RejectedConverted",
        }
    }
}

impl<M> From<kiln_inbox::SendError<M>> for SendError<M> {
    fn from(err: kiln_inbox::SendError<M>) -> SendError<M> {
        match err {
            kiln_inbox::SendError::Full(msg) => SendError::Full(msg),
            kiln_inbox::SendError::Disconnected(msg) => SendError::Disconnected(msg),
        }
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::RejectedConverted => f.write_str("RejectedConverted"),
            _ => write!(f, "{}(..)", self.kind()),
        }
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Full(_) => "can't send message: the actor's inbox is full",
            SendError::Disconnected(_) => "can't send message: the actor has stopped",
            SendError::Rejected(_) => {
                "can't send message: the mapped actor reference does not accept it"
            }
            SendError::RejectedConverted => {
                "can't send message: the mapped actor reference converted it and then rejected it; it was dropped"
            }
        })
    }
}

impl<M> std::error::Error for SendError<M> {}
