//! Errors of the inbox: why a message could not be sent or received.
//!
//! Send errors give the message back ([`SendError::into_inner`]) and their
//! `Debug` does not need `M: Debug`. The oneshot channel's error lives in
//! [`crate::oneshot`].

use std::error::Error;
use std::fmt;

/// Message of a full inbox.
const FULL: &str = "inbox is full";
/// Message of a disconnected inbox, seen from a sender.
const DISCONNECTED: &str = "actor has stopped: its inbox is disconnected";

/// Error of [`Sender::try_send`](crate::Sender::try_send) and
/// [`Sender::send`](crate::Sender::send); holds the message that could not be
/// sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendError<M> {
    /// The inbox is full (only from `try_send`: `send` waits for space).
    Full(M),
    /// The receiver and the manager are gone: nobody will read the message.
    Disconnected(M),
}

impl<M> SendError<M> {
    /// The message that could not be sent.
    pub fn into_inner(self) -> M {
        match self {
            SendError::Full(msg) | SendError::Disconnected(msg) => msg,
        }
    }

    /// Whether the inbox was full.
    pub const fn is_full(&self) -> bool {
        matches!(self, SendError::Full(_))
    }

    /// Whether the inbox was disconnected.
    pub const fn is_disconnected(&self) -> bool {
        matches!(self, SendError::Disconnected(_))
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Full(_) => f.write_str("Full(..)"),
            SendError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_full() { FULL } else { DISCONNECTED })
    }
}

impl<M> Error for SendError<M> {}

/// Error of [`Sender::try_reserve`](crate::Sender::try_reserve).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReserveError {
    /// The inbox is full.
    Full,
    /// The receiver and the manager are gone.
    Disconnected,
}

impl fmt::Display for ReserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReserveError::Full => FULL,
            ReserveError::Disconnected => DISCONNECTED,
        })
    }
}

impl Error for ReserveError {}

/// Error of [`Sender::reserve`](crate::Sender::reserve): the receiver and the
/// manager are gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Disconnected;

impl fmt::Display for Disconnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(DISCONNECTED)
    }
}

impl Error for Disconnected {}

/// Error of [`Receiver::try_recv`](crate::Receiver::try_recv) and
/// [`Receiver::peek`](crate::Receiver::peek).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecvError {
    /// No message is queued (yet).
    Empty,
    /// No message is queued and no sender is left to send one.
    Disconnected,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvError::Empty => "inbox is empty",
            RecvError::Disconnected => "inbox is empty and every sender is gone",
        })
    }
}

impl Error for RecvError {}
