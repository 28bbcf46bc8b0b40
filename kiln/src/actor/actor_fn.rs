//! [`actor_fn`]: turns a function into a [`NewActor`] (and, for blocking
//! functions, a [`SyncActor`](crate::sync::SyncActor)).

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use crate::actor::{ActorResult, Context, NewActor, name_of};

/// Turns a function into an actor factory.
///
/// - An `async fn(actor::Context<M, RT>, ...)` (or a closure returning a
///   future) becomes a [`NewActor`].
/// - A blocking `fn(sync::Context<M, RT>, ...)` becomes a
///   [`SyncActor`](crate::sync::SyncActor).
///
/// The function may take 0 to 5 arguments after its context. With none the
/// actor's argument is `()`, with one it is that argument, with more it is a
/// tuple of them. The function returns `()` if it cannot fail, or
/// `Result<(), E>`.
///
/// ```
/// use kiln::{actor, actor_fn, NewActor};
///
/// async fn greeter(mut ctx: actor::Context<String>, greeting: &'static str, times: usize) {
///     while let Ok(name) = ctx.receive_next().await {
///         for _ in 0..times {
///             println!("{greeting}, {name}!");
///         }
///     }
/// }
///
/// let new_actor = actor_fn(greeter);
/// // The argument is the tuple `(greeting, times)`.
/// # fn check<NA: NewActor<Argument = (&'static str, usize)>>(_: &NA) {}
/// # check(&new_actor);
/// # fn name<NA: NewActor>(_: &NA) -> &'static str { NA::name() }
/// # assert_eq!(name(&new_actor), "greeter");
/// ```
pub const fn actor_fn<F, M, RT, Args>(f: F) -> ActorFn<F, M, RT, Args> {
    ActorFn {
        f,
        _phantom: PhantomData,
    }
}

/// A function used as an actor, see [`actor_fn`].
///
/// `M`, `RT` and `Args` are the message type, runtime access and arguments of
/// the function; they are inferred.
pub struct ActorFn<F, M, RT, Args> {
    pub(crate) f: F,
    _phantom: PhantomData<fn(M, RT, Args)>,
}

impl<F: Clone, M, RT, Args> Clone for ActorFn<F, M, RT, Args> {
    fn clone(&self) -> Self {
        actor_fn(self.f.clone())
    }
}

impl<F: Copy, M, RT, Args> Copy for ActorFn<F, M, RT, Args> {}

impl<F, M, RT, Args> fmt::Debug for ActorFn<F, M, RT, Args> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ActorFn").field(&name_of::<F>()).finish()
    }
}

/// Implements `NewActor` for functions with `()`, one, or a tuple of
/// arguments after the context.
macro_rules! impl_new_actor {
    // No arguments: the actor's argument is `()`.
    (()) => {
        impl<F, M, RT, Fut> NewActor for ActorFn<F, M, RT, ()>
        where
            F: FnMut(Context<M, RT>) -> Fut,
            Fut: Future,
            Fut::Output: ActorResult,
        {
            type Message = M;
            type Argument = ();
            type Actor = Fut;
            type Error = Infallible;
            type RuntimeAccess = RT;

            fn new(&mut self, ctx: Context<M, RT>, _: ()) -> Result<Fut, Infallible> {
                Ok((self.f)(ctx))
            }

            fn name() -> &'static str {
                name_of::<F>()
            }
        }
    };
    // One argument: the actor's argument is that argument, not a 1-tuple.
    (($arg: ident)) => {
        impl<F, M, RT, Fut, $arg> NewActor for ActorFn<F, M, RT, ($arg,)>
        where
            F: FnMut(Context<M, RT>, $arg) -> Fut,
            Fut: Future,
            Fut::Output: ActorResult,
        {
            type Message = M;
            type Argument = $arg;
            type Actor = Fut;
            type Error = Infallible;
            type RuntimeAccess = RT;

            fn new(&mut self, ctx: Context<M, RT>, arg: $arg) -> Result<Fut, Infallible> {
                Ok((self.f)(ctx, arg))
            }

            fn name() -> &'static str {
                name_of::<F>()
            }
        }
    };
    // Several arguments: the actor's argument is a tuple.
    (($($arg: ident),+)) => {
        impl<F, M, RT, Fut, $($arg),+> NewActor for ActorFn<F, M, RT, ($($arg,)+)>
        where
            F: FnMut(Context<M, RT>, $($arg),+) -> Fut,
            Fut: Future,
            Fut::Output: ActorResult,
        {
            type Message = M;
            type Argument = ($($arg,)+);
            type Actor = Fut;
            type Error = Infallible;
            type RuntimeAccess = RT;

            #[allow(non_snake_case, reason = "the type parameters name the arguments")]
            fn new(&mut self, ctx: Context<M, RT>, ($($arg,)+): ($($arg,)+)) -> Result<Fut, Infallible> {
                Ok((self.f)(ctx, $($arg),+))
            }

            fn name() -> &'static str {
                name_of::<F>()
            }
        }
    };
}

impl_new_actor!(());
impl_new_actor!((A));
impl_new_actor!((A, B));
impl_new_actor!((A, B, C));
impl_new_actor!((A, B, C, D));
impl_new_actor!((A, B, C, D, E));
