//! [`ActorInbox`]: an actor's inbox made before the actor, so that a
//! reference to the actor exists before the actor does; and
//! [`ActorFutureBuilder::build_with_inbox`], which creates the actor with it.
//!
//! A runtime that creates actors on another thread than the one that asks
//! for them (kiln-rt's `spawn_local_on`, which starts a thread-local actor
//! on another worker) makes the inbox where it is asked, hands the
//! [`ActorRef`] back at once, and sends the inbox to the thread that will
//! run the actor. There the actor is created ([`NewActor::new`]); nobody
//! waits for that, so an error or a panic of `new` goes to the actor's
//! supervisor, as when a restart fails.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use kiln_inbox::{Manager, Receiver};
use log::{debug, error};

use super::{ActorFuture, ActorFutureBuilder, ActorSlot, close_inbox};
use crate::actor::{Context, NewActor};
use crate::actor_ref::{ActorExit, ActorRef};
use crate::inbox::InboxSize;
use crate::supervisor::{Supervisor, SupervisorStrategy, panic_message};

/// The inbox of an actor that is not created yet, so that a reference to
/// the actor exists before the actor does. `Send` if the messages are, so
/// it can be made on one thread and the actor created on another, with
/// [`ActorFutureBuilder::build_with_inbox`] (for kiln-rt's
/// `spawn_local_on`, which starts a thread-local actor on another worker).
///
/// ```
/// use kiln::future::{ActorFutureBuilder, ActorInbox};
/// use kiln::inbox::InboxSize;
/// use kiln::supervisor::NoSupervisor;
/// use kiln::{actor, actor_fn};
///
/// async fn greeter(mut ctx: actor::Context<&'static str>) {
///     while let Ok(name) = ctx.receive_next().await {
///         println!("Hello, {name}!");
///     }
/// }
///
/// // The reference first: it can be used at once.
/// let (inbox, actor_ref) = ActorInbox::new(InboxSize::DEFAULT);
/// actor_ref.try_send("World").unwrap();
/// // Then the actor, with the inbox, on another thread.
/// std::thread::spawn(move || {
///     let future = ActorFutureBuilder::new().build_with_inbox(inbox, NoSupervisor, actor_fn(greeter), ());
///     kiln::sync::block_on(future);
/// });
/// drop(actor_ref); // The greeter stops once its inbox is empty.
/// ```
pub struct ActorInbox<M> {
    manager: Manager<M>,
    receiver: Receiver<M>,
}

impl<M> ActorInbox<M> {
    /// Makes an inbox of `size` messages and a reference to the actor that
    /// will receive from it. Messages sent before the actor is created wait
    /// in the inbox.
    pub fn new(size: InboxSize) -> (ActorInbox<M>, ActorRef<M>) {
        let (manager, sender, receiver) = Manager::new(size.get());
        (ActorInbox { manager, receiver }, ActorRef::from(sender))
    }

    /// The inbox of a manager and its receiver that the caller made: for a
    /// runtime that makes the inbox itself, such as kiln-rt, which makes it
    /// with room for the actor's future (`kiln_inbox::room`), so that an
    /// actor is one allocation.
    ///
    /// # Panics
    ///
    /// If `receiver` is not the receiver of `manager`'s inbox.
    pub fn from_parts(manager: Manager<M>, receiver: Receiver<M>) -> ActorInbox<M> {
        assert_eq!(
            manager.id(),
            receiver.id(),
            "ActorInbox::from_parts: the receiver of another inbox than the manager's"
        );
        ActorInbox { manager, receiver }
    }
}

impl<M> fmt::Debug for ActorInbox<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorInbox")
            .field("id", &self.manager.id())
            .finish()
    }
}

/// How creating the actor ended.
enum Created<A> {
    Actor(A),
    /// The supervisor stopped it; how it ended, for joiners.
    Stopped(ActorExit),
}

impl<RT> ActorFutureBuilder<RT> {
    /// Creates the actor; fails if [`NewActor::new`] fails.
    pub fn try_build<S, NA>(
        self,
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
    ) -> Result<(ActorFuture<S, NA, RT>, ActorRef<NA::Message>), NA::Error>
    where
        S: Supervisor<NA>,
        NA: NewActor<RuntimeAccess = RT>,
        RT: Clone,
    {
        let (inbox, actor_ref) = ActorInbox::new(self.inbox_size);
        let future = self.try_build_in(inbox, supervisor, new_actor, arg)?;
        Ok((future, actor_ref))
    }

    /// Creates the actor with an inbox made before it ([`ActorInbox`]); fails
    /// if [`NewActor::new`] fails, as [`try_build`](Self::try_build) does
    /// (the error is returned; the supervisor is not asked). The inbox keeps
    /// the size it was made with.
    ///
    /// ```
    /// use kiln::future::{ActorFutureBuilder, ActorInbox};
    /// use kiln::inbox::Manager;
    /// use kiln::supervisor::NoSupervisor;
    /// use kiln::{actor, actor_fn, ActorRef};
    ///
    /// async fn greeter(mut ctx: actor::Context<&'static str>) {
    ///     while let Ok(name) = ctx.receive_next().await {
    ///         println!("Hello, {name}!");
    ///     }
    /// }
    ///
    /// // The inbox, made by the caller (a runtime may make it its own way).
    /// let (manager, sender, receiver) = Manager::new(4);
    /// let inbox = ActorInbox::from_parts(manager, receiver);
    /// let future = ActorFutureBuilder::new()
    ///     .try_build_in(inbox, NoSupervisor, actor_fn(greeter), ())
    ///     .unwrap_or_else(|never| match never {});
    /// let actor_ref = ActorRef::from(sender);
    /// actor_ref.try_send("World").unwrap();
    /// drop(actor_ref);
    /// kiln::sync::block_on(future);
    /// ```
    pub fn try_build_in<S, NA>(
        self,
        inbox: ActorInbox<NA::Message>,
        supervisor: S,
        mut new_actor: NA,
        arg: NA::Argument,
    ) -> Result<ActorFuture<S, NA, RT>, NA::Error>
    where
        S: Supervisor<NA>,
        NA: NewActor<RuntimeAccess = RT>,
        RT: Clone,
    {
        let ActorInbox { manager, receiver } = inbox;
        let ctx = Context::new(receiver, self.rt.clone());
        let actor = new_actor.new(ctx, arg)?;
        Ok(ActorFuture {
            supervisor,
            new_actor,
            inbox: Some(manager),
            rt: self.rt,
            actor: ActorSlot::Running { actor },
        })
    }

    /// Creates the actor with an inbox made before it ([`ActorInbox`]),
    /// returning the future that runs it. The inbox keeps the size it was
    /// made with (the builder's [inbox size](Self::with_inbox_size) is not
    /// used).
    ///
    /// No caller waits for the actor to be created, so its failures go to
    /// the supervisor: an error of [`NewActor::new`] to
    /// [`decide_on_restart_error`](Supervisor::decide_on_restart_error) (and,
    /// if the retry it asks for fails too,
    /// [`second_restart_error`](Supervisor::second_restart_error)), a panic
    /// to [`decide_on_panic`](Supervisor::decide_on_panic). If the supervisor
    /// stops the actor, the inbox is closed at once (sends fail with
    /// `Disconnected`, [`ActorRef::join`] returns
    /// [`Failed`](ActorExit::Failed) or [`Panicked`](ActorExit::Panicked))
    /// and the returned future completes on its first poll.
    pub fn build_with_inbox<S, NA>(
        self,
        inbox: ActorInbox<NA::Message>,
        mut supervisor: S,
        mut new_actor: NA,
        arg: NA::Argument,
    ) -> ActorFuture<S, NA, RT>
    where
        S: Supervisor<NA>,
        NA: NewActor<RuntimeAccess = RT>,
        RT: Clone,
    {
        let ActorInbox {
            mut manager,
            receiver,
        } = inbox;
        let rt = &self.rt;
        let first = create(
            &mut supervisor,
            &mut new_actor,
            rt,
            receiver,
            arg,
            Attempt::First,
        );
        let created = match first {
            Ok(created) => created,
            // The supervisor asked for a retry with `arg`: with the inbox's
            // receiver back (`new` dropped its context).
            Err(arg) => match manager.new_receiver() {
                Some(receiver) => {
                    let retry = Attempt::Retry;
                    match create(&mut supervisor, &mut new_actor, rt, receiver, arg, retry) {
                        Ok(created) => created,
                        // Never: a retry is not retried.
                        Err(_) => Created::Stopped(ActorExit::Failed),
                    }
                }
                None => {
                    error!(
                        "can't create actor '{}' again: its first `NewActor::new` kept the \
                         receiving end of its inbox",
                        NA::name()
                    );
                    Created::Stopped(ActorExit::Failed)
                }
            },
        };
        let (actor, inbox) = match created {
            Created::Actor(actor) => (ActorSlot::Running { actor }, Some(manager)),
            Created::Stopped(exit) => {
                debug!("actor '{}' not created: {exit}", NA::name());
                manager.set_exit_status(exit.to_status());
                close_inbox(manager, NA::name);
                (ActorSlot::Empty, None)
            }
        };
        ActorFuture {
            supervisor,
            new_actor,
            inbox,
            rt: self.rt,
            actor,
        }
    }
}

/// Which attempt at creating the actor.
#[derive(Copy, Clone)]
enum Attempt {
    First,
    /// The retry the supervisor asked for; not retried again.
    Retry,
}

/// Creates the actor with `receiver`, handing a failure to the supervisor:
/// `Err` with the argument of the retry it asked for (only after the
/// first attempt).
fn create<S, NA>(
    supervisor: &mut S,
    new_actor: &mut NA,
    rt: &NA::RuntimeAccess,
    receiver: Receiver<NA::Message>,
    arg: NA::Argument,
    attempt: Attempt,
) -> Result<Created<NA::Actor>, NA::Argument>
where
    S: Supervisor<NA>,
    NA: NewActor,
    NA::RuntimeAccess: Clone,
{
    let ctx = Context::new(receiver, rt.clone());
    let (decision, exit) = match catch_unwind(AssertUnwindSafe(|| new_actor.new(ctx, arg))) {
        Ok(Ok(actor)) => return Ok(Created::Actor(actor)),
        Ok(Err(err)) => match attempt {
            Attempt::First => (supervisor.decide_on_restart_error(err), ActorExit::Failed),
            Attempt::Retry => {
                supervisor.second_restart_error(err);
                return Ok(Created::Stopped(ActorExit::Failed));
            }
        },
        Err(panic) => match attempt {
            Attempt::First => (supervisor.decide_on_panic(panic), ActorExit::Panicked),
            Attempt::Retry => {
                error!(
                    "creating actor '{}' panicked again, stopping it: {}",
                    NA::name(),
                    panic_message(&*panic)
                );
                return Ok(Created::Stopped(ActorExit::Panicked));
            }
        },
    };
    match decision {
        SupervisorStrategy::Restart(arg) => Err(arg),
        SupervisorStrategy::Stop => Ok(Created::Stopped(exit)),
    }
}
