//! [`InboxId`]: which inbox a handle belongs to.

use std::fmt;

/// Identity of an inbox, shared by all its handles.
///
/// It is derived from the address of the channel, so handles with
/// *different* message types (say an actor reference mapped to another
/// message type) can still be compared. An id is only unique while the inbox
/// exists: the address may be reused afterwards.
///
/// ```
/// let (sender, receiver) = kiln_inbox::new::<u32>(4);
/// assert_eq!(sender.id(), receiver.id());
/// let (other, _r) = kiln_inbox::new::<String>(4);
/// assert_ne!(sender.id(), other.id());
/// ```
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InboxId(usize);

impl InboxId {
    pub(crate) fn new(ptr: *const ()) -> InboxId {
        InboxId(ptr.addr())
    }
}

impl fmt::Debug for InboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InboxId({:#x})", self.0)
    }
}
