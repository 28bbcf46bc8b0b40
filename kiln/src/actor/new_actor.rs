//! [`NewActor`]: the factory a runtime uses to start, and restart, an actor.

use std::fmt;
use std::marker::PhantomData;

use crate::actor::{Actor, Context, name_of};

/// Creates an actor: what a runtime or [`ActorFuture`](crate::future::ActorFuture)
/// calls to start an actor, and again each time its supervisor restarts it.
///
/// Usually created with [`actor_fn`](crate::actor::actor_fn) from an
/// `async fn`; implement it by hand for actors that are their own types.
pub trait NewActor {
    /// The type of message the actor receives.
    type Message;
    /// The argument the actor is started with; `()` for none, a tuple for
    /// several.
    type Argument;
    /// The actor itself.
    type Actor: Actor;
    /// The error of [`new`](NewActor::new): failing to create the actor.
    /// [`Infallible`](std::convert::Infallible) for `async fn`s.
    type Error;
    /// What the actor's [`Context`] gives access to: `()` outside a
    /// runtime, `kiln_rt::ThreadLocal` or `kiln_rt::ThreadSafe` inside one.
    type RuntimeAccess;

    /// Creates the actor with its context and argument.
    #[allow(
        clippy::wrong_self_convention,
        reason = "Heph's name; `self` is the factory"
    )]
    fn new(
        &mut self,
        ctx: Context<Self::Message, Self::RuntimeAccess>,
        arg: Self::Argument,
    ) -> Result<Self::Actor, Self::Error>;

    /// Wraps this `NewActor` so that it takes an `Arg` and converts it with
    /// `f` into the [`Argument`](NewActor::Argument) it needs.
    fn map_arg<F, Arg>(self, f: F) -> ArgMap<Self, F, Arg>
    where
        Self: Sized,
        F: FnMut(Arg) -> Self::Argument,
    {
        ArgMap {
            new_actor: self,
            map: f,
            _arg: PhantomData,
        }
    }

    /// A readable name for the actor, used in logs.
    ///
    /// The default is the name of the [`Actor`](NewActor::Actor) type without
    /// its module path and generic parameters; for an `async fn` that is the
    /// function's name.
    fn name() -> &'static str {
        name_of::<Self::Actor>()
    }
}

/// A [`NewActor`] whose argument is converted first, see
/// [`NewActor::map_arg`].
pub struct ArgMap<NA, F, Arg> {
    new_actor: NA,
    map: F,
    _arg: PhantomData<fn(Arg)>,
}

impl<NA, F, Arg> NewActor for ArgMap<NA, F, Arg>
where
    NA: NewActor,
    F: FnMut(Arg) -> NA::Argument,
{
    type Message = NA::Message;
    type Argument = Arg;
    type Actor = NA::Actor;
    type Error = NA::Error;
    type RuntimeAccess = NA::RuntimeAccess;

    fn new(
        &mut self,
        ctx: Context<Self::Message, Self::RuntimeAccess>,
        arg: Arg,
    ) -> Result<Self::Actor, Self::Error> {
        let arg = (self.map)(arg);
        self.new_actor.new(ctx, arg)
    }

    fn name() -> &'static str {
        NA::name()
    }
}

impl<NA: Clone, F: Clone, Arg> Clone for ArgMap<NA, F, Arg> {
    fn clone(&self) -> Self {
        ArgMap {
            new_actor: self.new_actor.clone(),
            map: self.map.clone(),
            _arg: PhantomData,
        }
    }
}

impl<NA: NewActor, F, Arg> fmt::Debug for ArgMap<NA, F, Arg> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArgMap")
            .field("actor", &NA::name())
            .finish()
    }
}
