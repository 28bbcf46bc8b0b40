//! kiln is an actor framework based on asynchronous functions.
//!
//! # About
//!
//! An actor is an `async fn` that owns its state and receives typed messages
//! from its inbox. Actors talk only by sending messages, through
//! [`ActorRef`]s. When an actor fails or panics its [`supervisor`]
//! decides whether to restart it; a restarted actor keeps its inbox, so
//! queued messages are not lost.
//!
//! This crate holds the actor model and runs actors as plain futures on any
//! executor ([`ActorFuture`]). The `kiln-rt` crate is the runtime built for
//! them: one event loop per core on io_uring, thread-local, thread-safe and
//! synchronous actors, timers and networking.
//!
//! # Getting started
//!
//! ```
//! use kiln::{actor, actor_fn, ActorFuture};
//! use kiln::supervisor::NoSupervisor;
//!
//! // An actor: an async function receiving `String` messages.
//! async fn greeter(mut ctx: actor::Context<String>) {
//!     while let Ok(name) = ctx.receive_next().await {
//!         println!("Hello, {name}!");
//!     }
//! }
//!
//! // Create the actor, and a reference to send it messages.
//! let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(greeter), ());
//! actor_ref.try_send("World").unwrap();
//! // Once every reference is gone the actor's loop ends.
//! drop(actor_ref);
//! // Run it on any executor; here, on this thread.
//! kiln::sync::block_on(future);
//! ```
//!
//! # Concepts
//!
//! - [`actor`]: the [`Actor`], [`NewActor`] (the factory used to (re)start
//!   one), [`actor_fn`], and the [`actor::Context`] an actor receives
//!   messages through.
//! - [`actor_ref`]: [`ActorRef`] to send messages (`try_send`, `send` with
//!   backpressure, `rpc`), learn how an actor ended (`join`), map message
//!   types, and [`ActorGroup`](actor_ref::ActorGroup)s.
//! - [`messages`]: common messages and the
//!   [`from_message!`](crate::from_message) macro.
//! - [`supervisor`]: what happens when an actor fails, including
//!   [`restart_supervisor!`](crate::restart_supervisor).
//! - [`future`]: [`ActorFuture`] runs an actor on any executor;
//!   [`yield_now`] gives the executor a turn in a long computation.
//! - [`inbox`]: the size of an actor's inbox ([`InboxSize`]), and the inbox
//!   types a runtime needs to run actors itself (no direct `kiln-inbox`
//!   dependency needed).
//! - [`sync`]: synchronous actors, which may block and get a thread of their
//!   own.
//! - [`metrics`]: per-thread counts of messages sent and received, which
//!   runtimes report.
//! - `test` (feature `test`): helpers to test actors; documented only with
//!   the feature on (`cargo doc -p kiln --features test --open`).
//!
//! # Differences from Heph
//!
//! kiln follows the design and names of [Heph](https://github.com/Thomasdezeeuw/heph),
//! on stable Rust: [`Infallible`](std::convert::Infallible) where Heph uses
//! `!`, [`futures_core::Stream`][Stream] where Heph uses `AsyncIterator`, named
//! future types where Heph uses `impl Trait` in associated types. Beyond that:
//! - send errors give the message back and say why (`Full`, `Disconnected`);
//! - [`ActorRef::join`] tells how the actor ended ([`ActorExit`](actor_ref::ActorExit));
//! - [`ActorRef::rpc`] waits while the inbox is full instead of failing;
//! - `restart_supervisor!` limits restarts within a *sliding* window
//!   (Erlang's restart intensity) and can build arguments that are not
//!   `Clone`;
//! - inboxes hold 1 to 65,536 messages (Heph: at most 29);
//! - `test::set_message_loss` loses the given percentage of messages.
//!
//! [Stream]: https://docs.rs/futures-core/0.3/futures_core/stream/trait.Stream.html

#![forbid(unsafe_code)]

pub mod actor;
pub mod actor_ref;
pub mod future;
pub mod inbox;
pub mod messages;
pub mod metrics;
pub mod supervisor;
pub mod sync;
#[cfg(feature = "test")]
pub mod test;

#[doc(no_inline)]
pub use actor::{Actor, NewActor, actor_fn};
#[doc(no_inline)]
pub use actor_ref::ActorRef;
#[doc(no_inline)]
pub use future::{ActorFuture, yield_now};
#[doc(no_inline)]
pub use inbox::InboxSize;
#[doc(no_inline)]
pub use supervisor::{Supervisor, SupervisorStrategy};
#[doc(no_inline)]
pub use sync::SyncActor;
