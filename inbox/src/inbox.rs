//! Making an inbox: [`new`], within the [capacity limits](crate::capacity).

use crate::capacity::{MAX_CAPACITY, MIN_CAPACITY};
use crate::channel::Channel;
use crate::receiver::Receiver;
use crate::sender::Sender;

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
    let (sender, receiver, _) = new_channel(capacity, false, 0);
    (sender, receiver)
}

/// Makes a channel, with `room_units` of room (see [`crate::room`]): a
/// sender, the receiver and another reference, for a manager (dropped if
/// `!manager`) or the room.
pub(crate) fn new_channel<M>(
    capacity: usize,
    manager: bool,
    room_units: u8,
) -> (Sender<M>, Receiver<M>, Channel<M>) {
    assert!(
        (MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity),
        "inbox capacity must be in {MIN_CAPACITY}..={MAX_CAPACITY}, got {capacity}"
    );
    let channel = Channel::new(capacity, manager, room_units);
    let sender = Sender {
        channel: channel.clone(),
    };
    // SAFETY: `Channel::new` set `RECEIVER_ALIVE` for this one receiver.
    let receiver = unsafe { Receiver::from_channel(channel.clone()) };
    (sender, receiver, channel)
}
