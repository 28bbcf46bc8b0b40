//! Bounded multi-producer, single-consumer inbox (and a oneshot channel) for
//! the kiln actor framework.
//!
//! # About
//!
//! Every kiln actor reads its messages from an *inbox*: a bounded queue with
//! many [`Sender`]s (the actor's references) and one [`Receiver`] (the actor).
//! A [`Manager`] (held by the actor's supervisor) keeps the inbox, and the
//! messages in it, across restarts of the actor. The [`oneshot`] channel
//! carries RPC replies. A [`room::Room`] makes an inbox with room in its
//! allocation for the actor's future, so that an actor is one allocation.
//!
//! The inbox is a lock-free ring of slots (after Dmitry Vyukov's bounded
//! queue). Sending is a CAS, a store and one read-modify-write (waking the
//! receiver), receiving a load and one read-modify-write, with no
//! allocation, no lock and no system call.
//! It is checked with [loom] models (`tests/loom.rs`), a property test
//! against a `VecDeque` model, drop counting and multi-threaded stress
//! tests.
//!
//! # Getting started
//!
//! [`new`] makes an inbox with a capacity, returning its first sender and its
//! receiver:
//!
//! ```
//! use kiln_inbox::{RecvError, SendError};
//!
//! let (sender, mut receiver) = kiln_inbox::new::<String>(2);
//! sender.try_send("one".to_owned()).unwrap();
//! sender.try_send("two".to_owned()).unwrap();
//!
//! // The inbox is full: the message is given back.
//! let err = sender.try_send("three".to_owned()).unwrap_err();
//! assert!(err.is_full());
//! assert_eq!(err.into_inner(), "three");
//!
//! assert_eq!(receiver.try_recv().as_deref(), Ok("one"));
//! assert_eq!(receiver.try_recv().as_deref(), Ok("two"));
//! assert_eq!(receiver.try_recv(), Err(RecvError::Empty));
//!
//! // No sender left: disconnected.
//! drop(sender);
//! assert_eq!(receiver.try_recv(), Err(RecvError::Disconnected));
//! # let _: Option<SendError<()>> = None;
//! ```
//!
//! # Waiting
//!
//! [`Sender::send`] returns a future that waits while the inbox is full
//! (backpressure); [`Receiver::recv`] one that waits for a message, and
//! [`Receiver::peek`] one that waits for a message and leaves it in the
//! inbox. Any executor can drive them; here a tiny one:
//!
//! ```
//! # use std::future::Future;
//! # use std::pin::pin;
//! # use std::task::{Context, Poll, Waker};
//! # fn block_on<F: Future>(future: F) -> F::Output {
//! #     let mut future = pin!(future);
//! #     let mut cx = Context::from_waker(Waker::noop());
//! #     loop {
//! #         if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
//! #             return output;
//! #         }
//! #         std::thread::yield_now();
//! #     }
//! # }
//! let (sender, mut receiver) = kiln_inbox::new(1);
//! let producer = std::thread::spawn(move || {
//!     for n in 0..100 {
//!         block_on(sender.send(n)).unwrap();
//!     }
//! });
//! for n in 0..100 {
//!     assert_eq!(block_on(receiver.recv()), Some(n));
//! }
//! producer.join().unwrap();
//! // The sender is gone.
//! assert_eq!(block_on(receiver.recv()), None);
//! ```
//!
//! # Permits
//!
//! [`Sender::try_reserve`] and [`Sender::reserve`] claim a slot first and
//! send into it later, infallibly, with [`Permit::send`]. A permit dropped
//! unused gives its slot back.
//!
//! ```
//! let (sender, mut receiver) = kiln_inbox::new(1);
//! let permit = sender.try_reserve().unwrap();
//! assert!(sender.try_send(1).unwrap_err().is_full());
//! permit.send(2);
//! assert_eq!(receiver.try_recv(), Ok(2));
//! ```
//!
//! # Restarts: the manager
//!
//! [`Manager::new`] makes an inbox with a manager. Dropping the receiver then
//! keeps the inbox connected and its messages queued, and
//! [`Manager::new_receiver`] hands them to the restarted actor. Once both the
//! receiver and the manager are gone the inbox is disconnected: queued
//! messages are dropped, sends fail with [`SendError::Disconnected`] and
//! [`Sender::join`] completes with the status set by
//! [`Manager::set_exit_status`]. [`Manager::close`] (or [`Receiver::close`])
//! drops the handle but hands the queued messages back, one at a time, for
//! the caller to drop.
//!
//! ```
//! use kiln_inbox::Manager;
//!
//! let (mut manager, sender, receiver) = Manager::new(8);
//! sender.try_send("kept").unwrap();
//! drop(receiver); // The actor stopped...
//! assert!(sender.is_connected());
//! let mut receiver = manager.new_receiver().unwrap(); // ...and restarted.
//! assert_eq!(receiver.try_recv(), Ok("kept"));
//!
//! manager.set_exit_status(3);
//! drop(manager);
//! drop(receiver);
//! assert!(!sender.is_connected());
//! assert!(sender.try_send("lost").unwrap_err().is_disconnected());
//! ```
//!
//! # Guarantees
//!
//! * **Bounded.** An inbox holds at most its capacity
//!   ([`MIN_CAPACITY`]`..=`[`MAX_CAPACITY`]) of messages; its memory is a
//!   header allocated by [`new`] or [`Manager::new`] (64 bytes on 64-bit
//!   Linux) and its slots, allocated by the first send, proportional to the
//!   capacity. Later sends and receives never allocate (a task waiting on a
//!   full inbox, or for the actor to stop, may, the first time).
//! * **Order.** Messages from one sender are received in the order they were
//!   sent. Messages are received in the order their slots were claimed, so a
//!   [`Permit`] holds up the messages claimed after it until it is used or
//!   dropped: keep permits short-lived.
//! * **Backpressure.** [`Sender::send`] and [`Sender::reserve`] wait while the
//!   inbox is full. Each freed slot wakes one waiting sender (the longest
//!   waiting); a waiting future dropped after it was woken passes the
//!   wake-up on. A sender that does not wait ([`Sender::try_send`]) may
//!   still take a free slot first.
//! * **Exactly once.** Every message is received or dropped exactly once:
//!   rejected messages are given back in the error, queued messages are
//!   dropped when the inbox disconnects, and a message sent into a permit
//!   claimed before the disconnect is dropped with the inbox's memory.
//! * **Panics in `Drop`.** Queued messages are dropped one by one, each under
//!   its own `catch_unwind`: a message whose `Drop` panics does not keep the
//!   others from being dropped and, however many panic, the process does not
//!   abort. The first panic is resumed once all are dropped (unless the
//!   thread is already unwinding); the others were reported by the panic
//!   hook. To handle every panic, take the messages with [`Manager::close`]
//!   or [`Receiver::close`] and drop them yourself.
//! * **No lost wake-ups.** Without `SeqCst`: the arguments are in the
//!   (private) modules `channel` and `waker`, and `tests/loom.rs` checks them
//!   with [loom]; run it with
//!   `RUSTFLAGS="--cfg loom" cargo test -p kiln-inbox --release --test loom --target-dir target/loom`.
//!
//! [loom]: https://docs.rs/loom

mod block;
mod capacity;
mod channel;
mod error;
mod id;
mod inbox;
mod join;
mod loom;
mod manager;
pub mod oneshot;
mod permit;
mod queued;
mod receiver;
mod recycle;
pub mod room;
mod sender;
mod slot;
mod state;
mod unwind;
mod wait_list;
mod waker;

#[cfg(test)]
mod tests;

pub use capacity::{DEFAULT_CAPACITY, MAX_CAPACITY, MIN_CAPACITY};
pub use error::{Disconnected, RecvError, ReserveError, SendError};
pub use id::InboxId;
pub use inbox::new;
pub(crate) use inbox::new_channel;
pub use join::Join;
pub use manager::Manager;
pub use permit::Permit;
pub use queued::QueuedMessages;
pub use receiver::{PeekValue, Receiver, RecvValue};
pub use sender::{Reserve, SendValue, Sender};
