//! Per-thread message counts, for runtimes that report metrics.
//!
//! Every thread counts the messages it sends through an
//! [`ActorRef`](crate::ActorRef) and the messages it takes out of an inbox
//! through a [`Context`](crate::actor::Context) (or a synchronous actor's
//! [`sync::Context`](crate::sync::Context)). The counts are plain
//! thread-local cells: counting costs an increment of a thread-local integer,
//! no atomic operation and no lock, so the thread that owns them is the only
//! one that can read them. A runtime reads them on each of its threads, as
//! kiln-rt's workers do once per turn of their loop.
//!
//! What counts:
//! - **sent**: a message accepted into an inbox by
//!   [`try_send`](crate::ActorRef::try_send), or by the future of
//!   [`send`](crate::ActorRef::send) (so also an [`rpc`](crate::ActorRef::rpc)
//!   request, and the members of an [`ActorGroup`](crate::actor_ref::ActorGroup)
//!   that accepted one), on the thread that sent it. A send that fails is not
//!   counted, nor is an RPC response.
//! - **received**: a message taken out of an inbox by `receive_next`,
//!   `try_receive_next` or `receive_messages`, on the thread the receiving
//!   actor runs on.
//!
//! The counts start at zero when a thread starts and wrap around at
//! `u64::MAX`.

use std::cell::Cell;

thread_local! {
    static SENT: Cell<u64> = const { Cell::new(0) };
    static RECEIVED: Cell<u64> = const { Cell::new(0) };
}

/// The number of messages sent from this thread, see the
/// [module documentation](self).
pub fn messages_sent() -> u64 {
    SENT.with(Cell::get)
}

/// The number of messages received on this thread, see the
/// [module documentation](self).
pub fn messages_received() -> u64 {
    RECEIVED.with(Cell::get)
}

/// Counts a message sent from this thread.
#[inline]
pub(crate) fn sent() {
    SENT.with(|sent| sent.set(sent.get().wrapping_add(1)));
}

/// Counts a message received on this thread.
#[inline]
pub(crate) fn received() {
    RECEIVED.with(|received| received.set(received.get().wrapping_add(1)));
}
