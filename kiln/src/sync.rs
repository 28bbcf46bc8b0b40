//! Synchronous actors: actors that may block, and so get a thread of their
//! own.
//!
//! A synchronous actor is a plain (blocking) function whose first argument is
//! a [`sync::Context`](Context), turned into a [`SyncActor`] with
//! [`actor_fn`](crate::actor_fn). It can block (on files, a C library, a
//! lock) without holding up other actors, since it runs on its own thread;
//! `kiln-rt` starts one for each with `Runtime::spawn_sync_actor`.
//! [`SyncActorRunner`] runs one on the current thread and
//! [`SyncActorRunnerBuilder::spawn`] on a new named thread. A synchronous
//! actor waits for futures (an RPC's response, say) by blocking on them:
//! [`Context::block_on`], or [`Context::block_for`] to give up after a
//! timeout ([`block_on`] and [`block_for`] do the same outside an actor).
//!
//! ```
//! use kiln::actor_fn;
//! use kiln::sync::{self, SyncActorRunnerBuilder};
//! use kiln::supervisor::NoSupervisor;
//!
//! fn printer(mut ctx: sync::Context<String>) {
//!     while let Ok(line) = ctx.receive_next() {
//!         println!("{line}");
//!     }
//! }
//!
//! let (thread, actor_ref) = SyncActorRunnerBuilder::new()
//!     .spawn(NoSupervisor, actor_fn(printer), ())
//!     .unwrap();
//! actor_ref.try_send("Hello from a thread of its own").unwrap();
//! drop(actor_ref);
//! thread.join().unwrap();
//! ```

use crate::actor::{ActorFn, ActorResult, name_of};

mod context;
mod park;
mod runner;

pub use context::Context;
pub use park::{block_for, block_on};
pub use runner::{SyncActorRunner, SyncActorRunnerBuilder};

/// An actor that runs on a thread of its own and may block.
///
/// Implemented for functions through [`actor_fn`](crate::actor_fn):
/// `fn(sync::Context<M, RT>, args...)` returning `()` or `Result<(), E>`.
pub trait SyncActor {
    /// The type of message the actor receives.
    type Message;
    /// The argument the actor is started with.
    type Argument;
    /// The error the actor can stop with.
    type Error;
    /// What the actor's [`Context`] gives access to.
    type RuntimeAccess;

    /// Runs the actor until it is done, blocking the thread.
    fn run(
        &self,
        ctx: Context<Self::Message, Self::RuntimeAccess>,
        arg: Self::Argument,
    ) -> Result<(), Self::Error>;

    /// A readable name for the actor, used in logs and as thread name.
    fn name() -> &'static str {
        name_of::<Self>()
    }
}

/// Implements `SyncActor` for functions with `()`, one, or a tuple of
/// arguments after the context; see `impl_new_actor` in `actor/actor_fn.rs`.
macro_rules! impl_sync_actor {
    (()) => {
        impl<F, M, RT, R> SyncActor for ActorFn<F, M, RT, ()>
        where
            F: Fn(Context<M, RT>) -> R,
            R: ActorResult,
        {
            type Message = M;
            type Argument = ();
            type Error = R::Error;
            type RuntimeAccess = RT;

            fn run(&self, ctx: Context<M, RT>, _: ()) -> Result<(), R::Error> {
                (self.f)(ctx).into_result()
            }

            fn name() -> &'static str {
                name_of::<F>()
            }
        }
    };
    (($arg: ident)) => {
        impl<F, M, RT, R, $arg> SyncActor for ActorFn<F, M, RT, ($arg,)>
        where
            F: Fn(Context<M, RT>, $arg) -> R,
            R: ActorResult,
        {
            type Message = M;
            type Argument = $arg;
            type Error = R::Error;
            type RuntimeAccess = RT;

            fn run(&self, ctx: Context<M, RT>, arg: $arg) -> Result<(), R::Error> {
                (self.f)(ctx, arg).into_result()
            }

            fn name() -> &'static str {
                name_of::<F>()
            }
        }
    };
    (($($arg: ident),+)) => {
        impl<F, M, RT, R, $($arg),+> SyncActor for ActorFn<F, M, RT, ($($arg,)+)>
        where
            F: Fn(Context<M, RT>, $($arg),+) -> R,
            R: ActorResult,
        {
            type Message = M;
            type Argument = ($($arg,)+);
            type Error = R::Error;
            type RuntimeAccess = RT;

            #[allow(non_snake_case, reason = "the type parameters name the arguments")]
            fn run(&self, ctx: Context<M, RT>, ($($arg,)+): ($($arg,)+)) -> Result<(), R::Error> {
                (self.f)(ctx, $($arg),+).into_result()
            }

            fn name() -> &'static str {
                name_of::<F>()
            }
        }
    };
}

impl_sync_actor!(());
impl_sync_actor!((A));
impl_sync_actor!((A, B));
impl_sync_actor!((A, B, C));
impl_sync_actor!((A, B, C, D));
impl_sync_actor!((A, B, C, D, E));
