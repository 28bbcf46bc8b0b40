//! [`ActorFuture`]: runs an actor, under its supervisor, as a [`Future`] on
//! any executor; and [`yield_now`], which lets an actor give the executor a
//! turn.
//!
//! This is how kiln's actor model runs without kiln's runtime: the future
//! polls the actor, catches its panics, hands its errors and panics to the
//! supervisor, and restarts it with the same inbox when the supervisor says
//! so. A restart is *scheduled* (the future wakes itself and returns
//! `Pending`) rather than run inline, so an actor in a crash loop cannot hog
//! the executor's thread.
//!
//! A runtime that creates the actor on another thread than the one asking
//! for it makes the inbox first ([`ActorInbox`]), returns the reference, and
//! builds the future where the actor will run
//! ([`ActorFutureBuilder::build_with_inbox`]).
//!
//! ```
//! use kiln::{actor, actor_fn, ActorFuture};
//! use kiln::supervisor::NoSupervisor;
//!
//! async fn greeter(mut ctx: actor::Context<String>) {
//!     while let Ok(name) = ctx.receive_next().await {
//!         println!("Hello, {name}!");
//!     }
//! }
//!
//! let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(greeter), ());
//! actor_ref.try_send("World").unwrap();
//! drop(actor_ref); // The actor stops once its inbox is empty and no reference is left.
//! kiln::sync::block_on(future); // Or spawn it on tokio, smol, ...
//! ```
//!
//! # Creating the actor: `new` or `try_new`
//!
//! [`ActorFuture::new`] and [`ActorFutureBuilder::build`] take a [`NewActor`]
//! that cannot fail, whose `Error` is [`Infallible`] (every `async fn` given
//! to [`actor_fn`](crate::actor_fn)), and return the future and reference
//! directly. [`ActorFuture::try_new`] and [`ActorFutureBuilder::try_build`]
//! take any `NewActor` and return the error of [`NewActor::new`]. The same
//! rule names the rest of kiln: `spawn_local`/`try_spawn_local` in kiln-rt,
//! `init_actor`/`try_init_actor` in the `test` module.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{self, Poll};

use kiln_inbox::Manager;
use log::{debug, error};
use pin_project_lite::pin_project;

use crate::actor::{Actor, Context, NewActor};
use crate::actor_ref::{ActorExit, ActorRef};
use crate::inbox::InboxSize;
use crate::supervisor::{Supervisor, SupervisorStrategy, panic_message};

mod actor_inbox;
mod yield_now;

pub use actor_inbox::ActorInbox;
pub use yield_now::{YieldNow, yield_now};

pin_project! {
    /// An actor, with its supervisor, as a [`Future`]; see the
    /// [module documentation](self).
    ///
    /// The future completes when the actor has stopped for good: it
    /// completed, or it failed and its supervisor stopped it.
    #[must_use = "futures do nothing unless polled"]
    pub struct ActorFuture<S, NA: NewActor, RT = ()> {
        supervisor: S,
        new_actor: NA,
        // `None` once the actor has stopped.
        inbox: Option<Manager<NA::Message>>,
        rt: RT,
        #[pin]
        actor: ActorSlot<NA::Actor>,
    }

    impl<S, NA: NewActor, RT> PinnedDrop for ActorFuture<S, NA, RT> {
        /// Dropped before the actor stopped (the executor dropped it):
        /// drops the actor, then closes the inbox, both with every panic
        /// caught and logged. Joiners see [`ActorExit::Cancelled`].
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            drop_actor(this.actor, NA::name);
            if let Some(inbox) = this.inbox.take() {
                close_inbox(inbox, NA::name);
            }
        }
    }
}

pin_project! {
    /// The running actor, or nothing while it restarts or after it stopped.
    #[project = ActorSlotProj]
    enum ActorSlot<A> {
        Running { #[pin] actor: A },
        Empty,
    }
}

impl<S, NA> ActorFuture<S, NA, ()>
where
    S: Supervisor<NA>,
    NA: NewActor<RuntimeAccess = ()>,
{
    /// Creates the actor of a [`NewActor`] that cannot fail (such as an
    /// `async fn` through [`actor_fn`](crate::actor_fn)) with the default
    /// [`InboxSize`], returning the future that runs it and a reference to
    /// it.
    ///
    /// Use [`try_new`](ActorFuture::try_new) for a `NewActor` that can fail,
    /// and [`ActorFutureBuilder`] to set the runtime access or inbox size.
    pub fn new(
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
    ) -> (ActorFuture<S, NA>, ActorRef<NA::Message>)
    where
        NA: NewActor<Error = Infallible>,
    {
        ActorFutureBuilder::new().build(supervisor, new_actor, arg)
    }

    /// Creates the actor with the default [`InboxSize`], returning the future
    /// that runs it and a reference to it.
    ///
    /// Fails if [`NewActor::new`] fails.
    pub fn try_new(
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
    ) -> Result<(ActorFuture<S, NA>, ActorRef<NA::Message>), NA::Error> {
        ActorFutureBuilder::new().try_build(supervisor, new_actor, arg)
    }
}

impl<S, NA, RT> ActorFuture<S, NA, RT>
where
    S: Supervisor<NA>,
    NA: NewActor<RuntimeAccess = RT>,
    RT: Clone,
{
    /// Handles the supervisor's `decision`, creating the new actor on
    /// restart. Returns `true` if the actor was restarted.
    fn apply(
        mut self: Pin<&mut Self>,
        decision: SupervisorStrategy<NA::Argument>,
        exit: ActorExit,
    ) -> bool {
        let arg = match decision {
            SupervisorStrategy::Restart(arg) => arg,
            SupervisorStrategy::Stop => {
                self.stop(exit);
                return false;
            }
        };
        let what = if exit == ActorExit::Panicked {
            "panicked"
        } else {
            "failed"
        };
        debug!("actor '{}' {what}: its supervisor restarts it", NA::name());
        drop_actor(self.as_mut().project().actor, NA::name);
        match self.as_mut().create(arg) {
            Ok(()) => true,
            Err(err) => {
                let decision = self
                    .as_mut()
                    .project()
                    .supervisor
                    .decide_on_restart_error(err);
                let SupervisorStrategy::Restart(arg) = decision else {
                    self.stop(ActorExit::Failed);
                    return false;
                };
                match self.as_mut().create(arg) {
                    Ok(()) => true,
                    Err(err) => {
                        self.as_mut().project().supervisor.second_restart_error(err);
                        self.stop(ActorExit::Failed);
                        false
                    }
                }
            }
        }
    }

    /// Creates a new actor in the (empty) slot.
    fn create(self: Pin<&mut Self>, arg: NA::Argument) -> Result<(), NA::Error> {
        let mut this = self.project();
        let Some(receiver) = this.inbox.as_mut().and_then(Manager::new_receiver) else {
            error!(
                "can't restart actor '{}': the receiving end of its inbox is still in use \
                 (was its context moved out of the actor?)",
                NA::name()
            );
            // Stopping is the only option; report it as a failure.
            if let Some(inbox) = this.inbox.take() {
                inbox.set_exit_status(ActorExit::Failed.to_status());
                close_inbox(inbox, NA::name);
            }
            return Ok(());
        };
        let ctx = Context::new(receiver, this.rt.clone());
        let actor = this.new_actor.new(ctx, arg)?;
        this.actor.set(ActorSlot::Running { actor });
        Ok(())
    }

    /// Stops the actor for good: drops it, records how it ended and
    /// disconnects its inbox, which wakes those joining it.
    fn stop(self: Pin<&mut Self>, exit: ActorExit) {
        debug!("actor '{}' {exit}", NA::name());
        let this = self.project();
        drop_actor(this.actor, NA::name);
        if let Some(inbox) = this.inbox.take() {
            inbox.set_exit_status(exit.to_status());
            close_inbox(inbox, NA::name);
        }
    }
}

/// Closes the actor's inbox (whose name `name` gives, for the log): wakes
/// those joining the actor, fails later sends, and drops the messages still
/// queued, each under its own `catch_unwind`, logging every panic.
///
/// Dropping them all under one guard aborted the process when two of them
/// panicked: the second panicked while the first unwound (issue 14,
/// `tests/message_drop_panics.rs`). Does nothing to the messages while the
/// actor's receiver lives (its context was moved out of the actor): the
/// inbox stays connected for it, and the inbox drops each message under its
/// own guard when the receiver goes.
pub(crate) fn close_inbox<M>(inbox: Manager<M>, name: fn() -> &'static str) {
    for msg in inbox.close() {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(msg))) {
            error!(
                "a message left in the inbox of actor '{}' panicked while being dropped: {}",
                name(),
                panic_message(&*panic)
            );
        }
    }
}

/// Drops the actor (whose name `name` gives, for the log), catching (and
/// logging) a panic in its `Drop`.
///
/// The name is a function, called only to log: working it out from the type
/// name took about 700 instructions, a fifth of all the work of spawning,
/// running and stopping an actor in skynet (callgrind).
fn drop_actor<A>(mut slot: Pin<&mut ActorSlot<A>>, name: fn() -> &'static str) {
    if let ActorSlot::Empty = &*slot {
        return;
    }
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| slot.set(ActorSlot::Empty))) {
        error!(
            "actor '{}' panicked while being dropped: {}",
            name(),
            panic_message(&*panic)
        );
        slot.set(ActorSlot::Empty);
    }
}

impl<S, NA, RT> Future for ActorFuture<S, NA, RT>
where
    S: Supervisor<NA>,
    NA: NewActor<RuntimeAccess = RT>,
    RT: Clone,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()> {
        let this = self.as_mut().project();
        let ActorSlotProj::Running { actor } = this.actor.project() else {
            // Stopped (or the restart could not get the inbox).
            if this.inbox.is_some() {
                self.stop(ActorExit::Failed);
            }
            return Poll::Ready(());
        };
        let (decision, exit) = match catch_unwind(AssertUnwindSafe(|| actor.try_poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(()))) => {
                self.stop(ActorExit::Completed);
                return Poll::Ready(());
            }
            Ok(Poll::Ready(Err(err))) => {
                let decision = self.as_mut().project().supervisor.decide(err);
                (decision, ActorExit::Failed)
            }
            Err(panic) => {
                let decision = self.as_mut().project().supervisor.decide_on_panic(panic);
                (decision, ActorExit::Panicked)
            }
        };
        if self.as_mut().apply(decision, exit) {
            // Run the restarted actor on the next poll, giving other work on
            // this executor a turn first.
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            if self.inbox.is_some() {
                self.stop(ActorExit::Failed);
            }
            Poll::Ready(())
        }
    }
}

impl<S, NA, RT> fmt::Debug for ActorFuture<S, NA, RT>
where
    NA: NewActor,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorFuture")
            .field("actor", &NA::name())
            .field("running", &matches!(self.actor, ActorSlot::Running { .. }))
            .finish()
    }
}

/// Builds an [`ActorFuture`] with a runtime access and an inbox size.
///
/// ```
/// use kiln::{actor, actor_fn};
/// use kiln::InboxSize;
/// use kiln::future::ActorFutureBuilder;
/// use kiln::supervisor::NoSupervisor;
///
/// async fn actor(ctx: actor::Context<(), &'static str>) {
///     assert_eq!(*ctx.runtime_ref(), "my runtime");
/// }
///
/// let (future, _actor_ref) = ActorFutureBuilder::new()
///     .with_rt("my runtime")
///     .with_inbox_size(InboxSize::fixed(64))
///     .build(NoSupervisor, actor_fn(actor), ());
/// kiln::sync::block_on(future);
/// ```
#[derive(Debug, Clone)]
#[must_use = "the builder does nothing until `build` is called"]
pub struct ActorFutureBuilder<RT = ()> {
    rt: RT,
    inbox_size: InboxSize,
}

impl ActorFutureBuilder<()> {
    /// A builder with no runtime access and the default inbox size.
    pub const fn new() -> ActorFutureBuilder<()> {
        ActorFutureBuilder {
            rt: (),
            inbox_size: InboxSize::DEFAULT,
        }
    }
}

impl Default for ActorFutureBuilder<()> {
    fn default() -> Self {
        ActorFutureBuilder::new()
    }
}

impl<RT> ActorFutureBuilder<RT> {
    /// Sets the runtime access the actor's [`Context`] gives; it is cloned
    /// for every (re)start.
    pub fn with_rt<RT2>(self, rt: RT2) -> ActorFutureBuilder<RT2> {
        ActorFutureBuilder {
            rt,
            inbox_size: self.inbox_size,
        }
    }

    /// Sets the size of the actor's inbox.
    pub const fn with_inbox_size(mut self, inbox_size: InboxSize) -> Self {
        self.inbox_size = inbox_size;
        self
    }

    /// Creates the actor of a [`NewActor`] that cannot fail (its `Error` is
    /// [`Infallible`]).
    pub fn build<S, NA>(
        self,
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
    ) -> (ActorFuture<S, NA, RT>, ActorRef<NA::Message>)
    where
        S: Supervisor<NA>,
        NA: NewActor<Error = Infallible, RuntimeAccess = RT>,
        RT: Clone,
    {
        match self.try_build(supervisor, new_actor, arg) {
            Ok(built) => built,
            Err(err) => match err {},
        }
    }

    // `try_build`, which makes the inbox first, is in `actor_inbox.rs`.
}
