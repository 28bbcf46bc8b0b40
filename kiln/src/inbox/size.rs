//! [`InboxSize`]: how many messages an actor's inbox holds.

use std::fmt;

/// The capacity of an actor's inbox: how many messages can wait in it before
/// senders get [`SendError::Full`](crate::actor_ref::SendError::Full) (or, with
/// [`ActorRef::send`](crate::actor_ref::ActorRef::send), wait).
///
/// The inbox's memory is proportional to its size and allocated up front, so
/// prefer small inboxes; the default is 8.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InboxSize(u32);

impl InboxSize {
    /// One message.
    pub const ONE: InboxSize = InboxSize(1);
    /// The default: 8 messages.
    pub const DEFAULT: InboxSize = InboxSize(kiln_inbox::DEFAULT_CAPACITY as u32);
    /// The largest inbox: 65,536 messages.
    pub const MAX: InboxSize = InboxSize(kiln_inbox::MAX_CAPACITY as u32);

    /// An inbox of `size` messages.
    ///
    /// # Panics
    ///
    /// If `size` is 0 or larger than [`InboxSize::MAX`]; meant for constants.
    /// Use [`InboxSize::try_fixed`] for sizes from input.
    pub const fn fixed(size: usize) -> InboxSize {
        match InboxSize::try_fixed(size) {
            Ok(size) => size,
            Err(_) => panic!("inbox size out of range: it must be 1 to 65,536"),
        }
    }

    /// An inbox of `size` messages; fails if `size` is 0 or larger than
    /// [`InboxSize::MAX`].
    pub const fn try_fixed(size: usize) -> Result<InboxSize, InvalidInboxSize> {
        if size >= kiln_inbox::MIN_CAPACITY && size <= kiln_inbox::MAX_CAPACITY {
            Ok(InboxSize(size as u32))
        } else {
            Err(InvalidInboxSize(size))
        }
    }

    /// The number of messages.
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

impl Default for InboxSize {
    fn default() -> InboxSize {
        InboxSize::DEFAULT
    }
}

/// The error of [`InboxSize::try_fixed`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InvalidInboxSize(usize);

impl fmt::Display for InvalidInboxSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid inbox size {}: it must be 1 to {}",
            self.0,
            kiln_inbox::MAX_CAPACITY
        )
    }
}

impl std::error::Error for InvalidInboxSize {}
