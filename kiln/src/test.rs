//! Helpers for testing actors (the `test` feature).
//!
//! - [`init_actor`] creates an actor and a reference to it without running
//!   it ([`try_init_actor`] for a [`NewActor`] that can fail); [`poll_actor`] polls it once and [`run_actor`] runs it to completion
//!   on the current thread.
//! - [`poll_future`] and [`block_on`] do the same for any future, and
//!   [`poll_next`] polls a
//!   [`Stream`](https://docs.rs/futures-core/0.3/futures_core/stream/trait.Stream.html) once;
//!   [`block_for`] gives up after a timeout.
//! - [`size_of_actor`] tells how much memory an actor takes.
//! - [`set_message_loss`] makes [`ActorRef`] drop a percentage of messages,
//!   to test how actors cope with lost messages.
//! - [`PanicSupervisor`] fails the test when an actor fails.
//!
//! ```
//! use std::task::Poll;
//! use kiln::{actor, actor_fn, test};
//!
//! async fn count(mut ctx: actor::Context<u32>) -> Result<(), String> {
//!     let mut total = 0;
//!     while let Ok(n) = ctx.receive_next().await {
//!         total += n;
//!     }
//!     if total == 3 { Ok(()) } else { Err(format!("total is {total}")) }
//! }
//!
//! let (actor, actor_ref) = test::init_actor(actor_fn(count), ());
//! let mut actor = Box::pin(actor);
//! actor_ref.try_send(1u32).unwrap();
//! // The actor handles the message and waits for the next one.
//! assert!(test::poll_actor(actor.as_mut()).is_pending());
//! actor_ref.try_send(2u32).unwrap();
//! drop(actor_ref);
//! assert_eq!(test::run_actor(actor), Ok(()));
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{self, Poll, Waker};

use futures_core::Stream;

use crate::actor::{Actor, Context, NewActor};
use crate::actor_ref::ActorRef;
use crate::inbox::InboxSize;

mod supervisor;

pub use crate::sync::{block_for, block_on};
pub use supervisor::PanicSupervisor;

/// Creates the actor of a [`NewActor`] that cannot fail, with a fresh inbox
/// of the default size, returning it (not running) and a reference to it.
pub fn init_actor<NA>(new_actor: NA, arg: NA::Argument) -> (NA::Actor, ActorRef<NA::Message>)
where
    NA: NewActor<Error = Infallible, RuntimeAccess = ()>,
{
    init_actor_with_inbox_size(new_actor, arg, InboxSize::DEFAULT)
}

/// [`init_actor`] with an inbox of `inbox_size`.
pub fn init_actor_with_inbox_size<NA>(
    new_actor: NA,
    arg: NA::Argument,
    inbox_size: InboxSize,
) -> (NA::Actor, ActorRef<NA::Message>)
where
    NA: NewActor<Error = Infallible, RuntimeAccess = ()>,
{
    match try_init_actor_with_inbox_size(new_actor, arg, inbox_size) {
        Ok(created) => created,
        Err(err) => match err {},
    }
}

/// Creates the actor with a fresh inbox of the default size, returning it
/// (not running) and a reference to it; fails if [`NewActor::new`] fails.
pub fn try_init_actor<NA>(
    new_actor: NA,
    arg: NA::Argument,
) -> Result<(NA::Actor, ActorRef<NA::Message>), NA::Error>
where
    NA: NewActor<RuntimeAccess = ()>,
{
    try_init_actor_with_inbox_size(new_actor, arg, InboxSize::DEFAULT)
}

/// [`try_init_actor`] with an inbox of `inbox_size`.
pub fn try_init_actor_with_inbox_size<NA>(
    mut new_actor: NA,
    arg: NA::Argument,
    inbox_size: InboxSize,
) -> Result<(NA::Actor, ActorRef<NA::Message>), NA::Error>
where
    NA: NewActor<RuntimeAccess = ()>,
{
    let (sender, receiver) = kiln_inbox::new(inbox_size.get());
    let actor = new_actor.new(Context::new(receiver, ()), arg)?;
    Ok((actor, ActorRef::from(sender)))
}

/// Polls `actor` once with a waker that does nothing.
pub fn poll_actor<A: Actor + ?Sized>(actor: Pin<&mut A>) -> Poll<Result<(), A::Error>> {
    actor.try_poll(&mut task::Context::from_waker(Waker::noop()))
}

/// Polls `future` once with a waker that does nothing.
pub fn poll_future<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut task::Context::from_waker(Waker::noop()))
}

/// Polls `stream` once for its next item with a waker that does nothing.
///
/// ```
/// use std::pin::pin;
/// use std::task::Poll;
/// use kiln::{actor, test};
///
/// let (sender, receiver) = kiln::inbox::new(4);
/// let mut ctx = actor::Context::new(receiver, ());
/// sender.try_send(1u8).unwrap();
/// let mut messages = pin!(ctx.receive_messages());
/// assert_eq!(test::poll_next(messages.as_mut()), Poll::Ready(Some(1)));
/// assert_eq!(test::poll_next(messages.as_mut()), Poll::Pending);
/// drop(sender);
/// assert_eq!(test::poll_next(messages.as_mut()), Poll::Ready(None));
/// ```
pub fn poll_next<S: Stream + ?Sized>(stream: Pin<&mut S>) -> Poll<Option<S::Item>> {
    stream.poll_next(&mut task::Context::from_waker(Waker::noop()))
}

/// Runs `actor` to completion on the current thread (without a
/// supervisor), returning its result.
pub fn run_actor<A: Actor>(actor: A) -> Result<(), A::Error> {
    let mut actor = pin!(actor);
    block_on(std::future::poll_fn(|cx| actor.as_mut().try_poll(cx)))
}

/// The size in bytes of the actor `NA` creates, before it first runs. Its
/// inbox and whatever it allocates come on top.
pub const fn size_of_actor<NA: NewActor>() -> usize {
    size_of::<NA::Actor>()
}

/// [`size_of_actor`] for a value, so the type need not be named:
/// `size_of_actor_val(&actor_fn(my_actor))`.
pub const fn size_of_actor_val<NA: NewActor>(_: &NA) -> usize {
    size_of_actor::<NA>()
}

/// Makes every [`ActorRef`] in the process lose `percent` of the messages
/// sent with `try_send`, `send` or `rpc` (chosen at random): the send
/// reports success but the message is dropped. `0` (the default) turns it
/// off; values over 100 are taken as 100.
pub fn set_message_loss(percent: u8) {
    crate::actor_ref::loss::set_message_loss(percent);
}
