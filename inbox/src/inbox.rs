//! Making an inbox: the capacity limits and [`new`].

use crate::channel::Channel;
use crate::receiver::Receiver;
use crate::sender::Sender;

/// Smallest capacity of an inbox.
pub const MIN_CAPACITY: usize = 1;
/// Largest capacity of an inbox.
pub const MAX_CAPACITY: usize = 65_536;
/// Capacity to use when there is no reason to pick another.
pub const DEFAULT_CAPACITY: usize = 8;

/// Makes an inbox with room for `capacity` messages; returns its first sender
/// and its receiver.
///
/// Memory is proportional to `capacity` and allocated once, here.
///
/// # Panics
///
/// If `capacity` is not in [`MIN_CAPACITY`]`..=`[`MAX_CAPACITY`].
///
/// # Examples
///
/// ```
/// let (sender, mut receiver) = kiln_inbox::new(kiln_inbox::DEFAULT_CAPACITY);
/// sender.try_send("hello").unwrap();
/// assert_eq!(receiver.try_recv(), Ok("hello"));
/// ```
pub fn new<M>(capacity: usize) -> (Sender<M>, Receiver<M>) {
    let (sender, receiver, _) = new_channel(capacity, false);
    (sender, receiver)
}

/// Makes a channel: a sender, the receiver and another reference for a
/// manager (dropped if `!manager`).
pub(crate) fn new_channel<M>(
    capacity: usize,
    manager: bool,
) -> (Sender<M>, Receiver<M>, Channel<M>) {
    assert!(
        (MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity),
        "inbox capacity must be in {MIN_CAPACITY}..={MAX_CAPACITY}, got {capacity}"
    );
    let channel = Channel::new(capacity, manager);
    let sender = Sender {
        channel: channel.clone(),
    };
    // SAFETY: `Channel::new` set `RECEIVER_ALIVE` for this one receiver.
    let receiver = unsafe { Receiver::from_channel(channel.clone()) };
    (sender, receiver, channel)
}
