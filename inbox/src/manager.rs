//! [`Manager`]: keeps an inbox alive across restarts of its actor.
//!
//! A supervisor holds the manager. While it lives the inbox stays connected
//! for senders even without a receiver, queued messages are kept, and
//! [`Manager::new_receiver`] hands the inbox to the restarted actor.

use std::fmt;

use crate::channel::Channel;
use crate::id::InboxId;
use crate::queued::{QueuedMessages, into_channel};
use crate::receiver::Receiver;
use crate::sender::Sender;
use crate::state::MANAGER_ALIVE;

/// Owner of an inbox that outlives its [`Receiver`]s.
pub struct Manager<M> {
    channel: Channel<M>,
}

impl<M> Manager<M> {
    /// Makes an inbox with room for `capacity` messages, with a manager, a
    /// sender and a receiver.
    ///
    /// # Panics
    ///
    /// If `capacity` is not in
    /// [`MIN_CAPACITY`](crate::MIN_CAPACITY)`..=`[`MAX_CAPACITY`](crate::MAX_CAPACITY).
    pub fn new(capacity: usize) -> (Manager<M>, Sender<M>, Receiver<M>) {
        let (sender, receiver, channel) = crate::new_channel(capacity, true, 0);
        (Manager { channel }, sender, receiver)
    }

    /// The manager of `channel`, made with a manager (`MANAGER_ALIVE` set).
    pub(crate) const fn from_channel(channel: Channel<M>) -> Manager<M> {
        Manager { channel }
    }

    /// A new sender for the inbox.
    pub fn new_sender(&self) -> Sender<M> {
        Sender::from_channel(self.channel.clone())
    }

    /// A new receiver for the inbox, or `None` while one exists.
    ///
    /// The new receiver receives the messages still queued.
    pub fn new_receiver(&mut self) -> Option<Receiver<M>> {
        if self.channel.state().try_add_receiver() {
            // SAFETY: we just set `RECEIVER_ALIVE`, which was clear: no other
            // receiver exists.
            Some(unsafe { Receiver::from_channel(self.channel.clone()) })
        } else {
            None
        }
    }

    /// Sets the exit status that [`Sender::join`] returns once the manager and
    /// the receiver are gone.
    pub fn set_exit_status(&self, status: u8) {
        self.channel.set_exit_status(status);
    }

    /// Identity of the inbox, comparable across message types.
    pub fn id(&self) -> InboxId {
        self.channel.id()
    }

    /// Drops the manager, handing back the messages still queued.
    ///
    /// If no receiver exists, this disconnects the inbox, as dropping the
    /// manager would, but the queued messages are returned instead of
    /// dropped, so the caller can deal with a panic in each one's `Drop`
    /// (kiln logs each, naming the actor). If a receiver exists, the inbox
    /// stays connected, its messages stay queued for the receiver and the
    /// iterator is empty.
    ///
    /// ```
    /// use std::panic::{AssertUnwindSafe, catch_unwind};
    ///
    /// use kiln_inbox::Manager;
    ///
    /// let (manager, sender, receiver) = Manager::new(4);
    /// sender.try_send("one").unwrap();
    /// sender.try_send("two").unwrap();
    /// drop(receiver);
    /// for msg in manager.close() {
    ///     if let Err(panic) = catch_unwind(AssertUnwindSafe(|| drop(msg))) {
    ///         eprintln!("dropping a message panicked");
    ///     }
    /// }
    /// assert!(!sender.is_connected());
    /// ```
    pub fn close(self) -> QueuedMessages<M> {
        let channel = into_channel(self, |manager| &manager.channel);
        QueuedMessages::release(channel, MANAGER_ALIVE)
    }
}

impl<M> Drop for Manager<M> {
    fn drop(&mut self) {
        self.channel.drop_consumer(MANAGER_ALIVE);
    }
}

impl<M> fmt::Debug for Manager<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("id", &self.id())
            .field("channel", &self.channel)
            .finish()
    }
}
