//! The actor: an asynchronous function that owns its state and receives
//! typed messages from its inbox.
//!
//! An actor is anything that implements [`Actor`]; in practice that is the
//! future returned by an `async fn` whose first argument is a [`Context`]:
//!
//! ```
//! use kiln::actor;
//!
//! async fn greeter(mut ctx: actor::Context<String>) {
//!     while let Ok(name) = ctx.receive_next().await {
//!         println!("Hello, {name}!");
//!     }
//! }
//! # fn is_actor<NA: kiln::NewActor>(_: NA) {}
//! # is_actor(kiln::actor_fn(greeter));
//! ```
//!
//! A runtime does not start an actor from the future directly, it uses a
//! [`NewActor`]: a factory that can create the actor again when a
//! [`Supervisor`](crate::supervisor::Supervisor) decides to restart it.
//! [`actor_fn`] turns an `async fn` into a `NewActor`.
//!
//! This module holds the traits ([`Actor`], [`NewActor`], [`ActorResult`]),
//! the [`Context`] an actor receives its messages through, and [`actor_fn`].
//! It does not run anything: see [`ActorFuture`](crate::future::ActorFuture)
//! for running an actor on any executor, and the `kiln-rt` crate for the
//! runtime.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

mod actor_fn;
mod context;
mod name;
mod new_actor;

pub use actor_fn::{ActorFn, actor_fn};
pub use context::{Context, NoMessages, PeekMessage, ReceiveMessage, ReceiveMessages, RecvError};
pub(crate) use context::{context_accessors, fmt_context};
pub use name::name_of;
pub use new_actor::{ArgMap, NewActor};

/// A running actor.
///
/// Implemented for every [`Future`] whose output is `()` or `Result<(), E>`
/// (see [`ActorResult`]), so the future returned by an `async fn` is an actor.
/// Implement it by hand only for actors that are state machines of their own.
///
/// An actor that returns `Err` is handed to its
/// [`Supervisor`](crate::supervisor::Supervisor), which decides whether to
/// restart it.
pub trait Actor {
    /// The error the actor can stop with; [`Infallible`] if it cannot fail.
    type Error;

    /// Polls the actor, like [`Future::poll`].
    ///
    /// Returns `Poll::Ready(Ok(()))` when the actor is done,
    /// `Poll::Ready(Err(..))` when it failed, `Poll::Pending` while it waits.
    fn try_poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Result<(), Self::Error>>;
}

impl<Fut> Actor for Fut
where
    Fut: Future,
    Fut::Output: ActorResult,
{
    type Error = <Fut::Output as ActorResult>::Error;

    fn try_poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll(cx).map(ActorResult::into_result)
    }
}

/// What an actor may return: `()` for actors that cannot fail, or
/// `Result<(), E>`.
pub trait ActorResult {
    /// The error type; [`Infallible`] for `()`.
    type Error;

    /// Turns the value into a `Result`.
    fn into_result(self) -> Result<(), Self::Error>;
}

impl ActorResult for () {
    type Error = Infallible;

    fn into_result(self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl<E> ActorResult for Result<(), E> {
    type Error = E;

    fn into_result(self) -> Result<(), E> {
        self
    }
}
