//! [`ActorExit`]: how an actor ended, as reported by [`ActorRef::join`].
//!
//! [`ActorRef::join`]: crate::actor_ref::ActorRef::join

use std::fmt;

/// How an actor ended, reported by [`ActorRef::join`] once the actor has
/// stopped for good (a restart is not an end).
///
/// [`ActorRef::join`]: crate::actor_ref::ActorRef::join
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActorExit {
    /// The actor returned `Ok(())` (or `()`).
    Completed,
    /// The actor returned an error (or could not be restarted) and its
    /// supervisor stopped it.
    Failed,
    /// The actor panicked and its supervisor stopped it.
    Panicked,
    /// The actor was dropped before it ended, for example because the
    /// executor or runtime running it shut down.
    Cancelled,
}

impl ActorExit {
    /// Returns `true` for [`ActorExit::Completed`].
    pub const fn is_completed(self) -> bool {
        matches!(self, ActorExit::Completed)
    }

    /// The status byte stored in the inbox (see
    /// `kiln_inbox::Manager::set_exit_status`). `0`, the status of an inbox
    /// whose actor never set one, is [`ActorExit::Cancelled`].
    pub const fn to_status(self) -> u8 {
        match self {
            ActorExit::Cancelled => 0,
            ActorExit::Completed => 1,
            ActorExit::Failed => 2,
            ActorExit::Panicked => 3,
        }
    }

    /// The inverse of [`ActorExit::to_status`]; unknown values are
    /// [`ActorExit::Cancelled`].
    pub const fn from_status(status: u8) -> ActorExit {
        match status {
            1 => ActorExit::Completed,
            2 => ActorExit::Failed,
            3 => ActorExit::Panicked,
            _ => ActorExit::Cancelled,
        }
    }
}

impl fmt::Display for ActorExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActorExit::Completed => "completed",
            ActorExit::Failed => "stopped after an error",
            ActorExit::Panicked => "stopped after a panic",
            ActorExit::Cancelled => "cancelled before it ended",
        })
    }
}
