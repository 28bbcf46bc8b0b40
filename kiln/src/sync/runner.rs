//! [`SyncActorRunner`]: runs a synchronous actor on the current thread,
//! restarting it there as its supervisor decides.

use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

use kiln_inbox::Manager;
use log::error;

use crate::actor_ref::{ActorExit, ActorRef};
use crate::future::close_inbox;
use crate::inbox::InboxSize;
use crate::supervisor::{SupervisorStrategy, SyncSupervisor};
use crate::sync::{Context, SyncActor};

/// Runs a [`SyncActor`] on the current thread.
///
/// [`run`](SyncActorRunner::run) blocks until the actor has stopped for
/// good. When the actor fails or panics its supervisor decides; on a restart
/// the actor runs again in the same thread with the same inbox, so queued
/// messages are not lost.
pub struct SyncActorRunner<S, A: SyncActor> {
    supervisor: S,
    actor: A,
    inbox: Manager<A::Message>,
    rt: A::RuntimeAccess,
}

impl<S, A> SyncActorRunner<S, A>
where
    S: SyncSupervisor<A>,
    A: SyncActor<RuntimeAccess = ()>,
{
    /// A runner with the default inbox size, and a reference to the actor.
    pub fn new(supervisor: S, actor: A) -> (SyncActorRunner<S, A>, ActorRef<A::Message>) {
        SyncActorRunnerBuilder::new().build(supervisor, actor)
    }
}

impl<S, A> SyncActorRunner<S, A>
where
    S: SyncSupervisor<A>,
    A: SyncActor,
    A::RuntimeAccess: Clone,
{
    /// Runs the actor with `arg` until it stops for good, and tells how it
    /// ended.
    pub fn run(mut self, mut arg: A::Argument) -> ActorExit {
        let exit = loop {
            let Some(receiver) = self.inbox.new_receiver() else {
                error!(
                    "can't restart synchronous actor '{}': the receiving end of its inbox is \
                     still in use (was its context moved to another thread?)",
                    A::name()
                );
                break ActorExit::Failed;
            };
            let ctx = Context::new(receiver, self.rt.clone());
            let actor = &self.actor;
            let (decision, exit) = match catch_unwind(AssertUnwindSafe(|| actor.run(ctx, arg))) {
                Ok(Ok(())) => break ActorExit::Completed,
                Ok(Err(err)) => (self.supervisor.decide(err), ActorExit::Failed),
                Err(panic) => (self.supervisor.decide_on_panic(panic), ActorExit::Panicked),
            };
            match decision {
                SupervisorStrategy::Restart(new_arg) => arg = new_arg,
                SupervisorStrategy::Stop => break exit,
            }
        };
        self.inbox.set_exit_status(exit.to_status());
        close_inbox(self.inbox, A::name);
        exit
    }
}

impl<S, A: SyncActor> fmt::Debug for SyncActorRunner<S, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncActorRunner")
            .field("actor", &A::name())
            .finish()
    }
}

/// Builds a [`SyncActorRunner`], or spawns a thread running one.
#[derive(Debug, Clone)]
#[must_use = "the builder does nothing until `build` or `spawn` is called"]
pub struct SyncActorRunnerBuilder<RT = ()> {
    rt: RT,
    inbox_size: InboxSize,
    thread_name: Option<String>,
}

impl SyncActorRunnerBuilder<()> {
    /// A builder with no runtime access and the default inbox size.
    pub const fn new() -> SyncActorRunnerBuilder<()> {
        SyncActorRunnerBuilder {
            rt: (),
            inbox_size: InboxSize::DEFAULT,
            thread_name: None,
        }
    }
}

impl Default for SyncActorRunnerBuilder<()> {
    fn default() -> Self {
        SyncActorRunnerBuilder::new()
    }
}

impl<RT> SyncActorRunnerBuilder<RT> {
    /// Sets the runtime access the actor's [`Context`] gives.
    pub fn with_rt<RT2>(self, rt: RT2) -> SyncActorRunnerBuilder<RT2> {
        SyncActorRunnerBuilder {
            rt,
            inbox_size: self.inbox_size,
            thread_name: self.thread_name,
        }
    }

    /// Sets the size of the actor's inbox.
    pub const fn with_inbox_size(mut self, inbox_size: InboxSize) -> Self {
        self.inbox_size = inbox_size;
        self
    }

    /// Sets the name of the thread [`spawn`](SyncActorRunnerBuilder::spawn)
    /// starts; the default is the actor's name.
    pub fn with_thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = Some(name.into());
        self
    }

    /// Creates the runner and a reference to the actor.
    pub fn build<S, A>(
        self,
        supervisor: S,
        actor: A,
    ) -> (SyncActorRunner<S, A>, ActorRef<A::Message>)
    where
        S: SyncSupervisor<A>,
        A: SyncActor<RuntimeAccess = RT>,
    {
        let (inbox, sender, receiver) = Manager::new(self.inbox_size.get());
        // The runner creates a receiver for each (re)start.
        drop(receiver);
        let runner = SyncActorRunner {
            supervisor,
            actor,
            inbox,
            rt: self.rt,
        };
        (runner, ActorRef::from(sender))
    }

    /// Starts a thread that runs the actor with `arg`; returns the thread's
    /// handle (its result says how the actor ended) and a reference to the
    /// actor. Fails if the thread cannot be created.
    pub fn spawn<S, A>(
        self,
        supervisor: S,
        actor: A,
        arg: A::Argument,
    ) -> io::Result<(thread::JoinHandle<ActorExit>, ActorRef<A::Message>)>
    where
        S: SyncSupervisor<A> + Send + 'static,
        A: SyncActor<RuntimeAccess = RT> + Send + 'static,
        A::Message: Send + 'static,
        A::Argument: Send + 'static,
        RT: Clone + Send + 'static,
    {
        let name = self
            .thread_name
            .clone()
            .unwrap_or_else(|| A::name().to_owned());
        let (runner, actor_ref) = self.build(supervisor, actor);
        let handle = thread::Builder::new()
            .name(name)
            .spawn(move || runner.run(arg))?;
        Ok((handle, actor_ref))
    }
}
