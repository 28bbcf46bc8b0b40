//! [`Runtime`]: owns the workers, spawns actors, and runs until they are
//! done; [`RuntimeRef`], a worker's handle; [`Setup`], the builder; and,
//! below them, the engine users never name.
//!
//! # The engine
//!
//! | module | what |
//! |---|---|
//! | [`setup`] | builds the rings, the shared state and the worker threads |
//! | [`shared`] | the state the workers share: shards of thread-safe processes, shared timers, worker handles, signal receivers |
//! | [`worker`] | a worker thread's loop and its per-worker state |
//! | [`coordinator`] | the thread that runs `start`: signals, the shared ring, thread exits |
//! | [`scheduler`] | the run queue (virtual run time), processes, and the shards of thread-safe ones |
//! | [`wake`] | wakers that find their process's worker or shard |
//! | [`clock`] | the clock that times every poll |
//! | [`timers`] | the timing wheel behind the [`timer`](crate::timer) futures |
//! | [`io`] | the I/O driver: rings, operations, wake-ups of a ring's owner |

pub(crate) mod clock;
pub(crate) mod coordinator;
pub(crate) mod io;
mod runtime_ref;
pub(crate) mod scheduler;
mod setup;
pub(crate) mod shared;
pub(crate) mod timers;
pub(crate) mod wake;
pub(crate) mod worker;

pub(crate) use runtime_ref::LocalInternals;
pub use runtime_ref::RuntimeRef;
pub use setup::{MAX_THREADS, Setup};

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, mpsc};
use std::thread;

use kiln::ActorRef;
use kiln::actor::NewActor;
use kiln::supervisor::{Supervisor, SyncSupervisor};
use kiln::sync::{SyncActor, SyncActorRunnerBuilder};
use log::debug;

use crate::access::Sync;
use crate::error::Error;
use crate::metrics::RuntimeMetrics;
use crate::signal::Signal;
use crate::spawn::{ActorOptions, FutureOptions, SyncActorOptions};
use coordinator::Coordinator;
use shared::RuntimeInternals;
use worker::{Control, ExitGuard, RunFn, ThreadExit};

/// The runtime: worker threads running actors, and the coordinator that
/// relays process signals and waits for them to finish.
///
/// Build it with [`Runtime::setup`] (or [`Runtime::new`]), spawn actors on
/// the workers with [`run_on_workers`](Runtime::run_on_workers) (thread-local
/// actors) and [`spawn`](Runtime::spawn) (thread-safe ones), then call
/// [`start`](Runtime::start), which returns once every actor has finished.
pub struct Runtime {
    internals: Arc<RuntimeInternals>,
    /// `None` once started.
    coordinator: Option<Coordinator>,
}

impl Runtime {
    /// Returns a [`Setup`] to configure a runtime.
    pub const fn setup() -> Setup {
        Setup::new()
    }

    /// A runtime with the default setup: one worker thread.
    pub fn new() -> Result<Runtime, Error> {
        Setup::new().build()
    }

    pub(crate) const fn from_parts(
        internals: Arc<RuntimeInternals>,
        coordinator: Coordinator,
    ) -> Runtime {
        Runtime {
            internals,
            coordinator: Some(coordinator),
        }
    }

    #[cfg(feature = "test")]
    pub(crate) const fn internals(&self) -> &Arc<RuntimeInternals> {
        &self.internals
    }

    fn coordinator(&mut self) -> &mut Coordinator {
        self.coordinator.as_mut().expect("runtime already started")
    }

    /// Runs `f` on every worker thread with that worker's [`RuntimeRef`],
    /// e.g. to spawn thread-local actors, and waits for it.
    ///
    /// Fails with the first error `f` returns or the first panic.
    pub fn run_on_workers<F, E>(&mut self, f: F) -> Result<(), Error>
    where
        F: FnOnce(RuntimeRef) -> Result<(), E> + Send + Clone + 'static,
        E: fmt::Display,
    {
        let (reply, replies) = mpsc::channel();
        let mut sent = 0;
        for worker in self.internals.worker_handles() {
            let f = f.clone();
            let run: RunFn = Box::new(move |rt| f(rt).map_err(|err| err.to_string()));
            if worker
                .send_control(Control::Run(run, reply.clone()))
                .is_ok()
            {
                sent += 1;
            }
        }
        drop(reply);
        for _ in 0..sent {
            match replies.recv() {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => return Err(Error::user(msg)),
                Err(_) => return Err(Error::user("a worker stopped before running it".to_owned())),
            }
        }
        Ok(())
    }

    /// Spawns a thread-safe actor; fails if creating it fails.
    pub fn try_spawn<S, NA>(
        &mut self,
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
        options: ActorOptions,
    ) -> Result<ActorRef<NA::Message>, NA::Error>
    where
        S: Supervisor<NA> + Send + 'static,
        NA: NewActor<RuntimeAccess = crate::ThreadSafe> + Send + 'static,
        NA::Actor: Send + 'static,
        NA::Message: Send + 'static,
    {
        shared::try_spawn(&self.internals, supervisor, new_actor, arg, options)
    }

    /// Spawns a thread-safe actor that cannot fail to be created.
    pub fn spawn<S, NA>(
        &mut self,
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
        options: ActorOptions,
    ) -> ActorRef<NA::Message>
    where
        S: Supervisor<NA> + Send + 'static,
        NA: NewActor<Error = Infallible, RuntimeAccess = crate::ThreadSafe> + Send + 'static,
        NA::Actor: Send + 'static,
        NA::Message: Send + 'static,
    {
        match self.try_spawn(supervisor, new_actor, arg, options) {
            Ok(actor_ref) => actor_ref,
            Err(err) => match err {},
        }
    }

    /// Spawns a `Send` future; any worker may run it.
    pub fn spawn_future<Fut>(&mut self, future: Fut, options: FutureOptions)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        shared::spawn_future(&self.internals, future, options);
    }

    /// Spawns a synchronous actor on a thread of its own (named after the
    /// actor, or as the options say). Fails if the thread can't be started.
    pub fn spawn_sync_actor<S, A>(
        &mut self,
        supervisor: S,
        actor: A,
        arg: A::Argument,
        options: SyncActorOptions,
    ) -> Result<ActorRef<A::Message>, Error>
    where
        S: SyncSupervisor<A> + Send + 'static,
        A: SyncActor<RuntimeAccess = Sync> + Send + 'static,
        A::Message: Send + 'static,
        A::Argument: Send + 'static,
    {
        let rt = Sync::new(self.internals.clone());
        let (runner, actor_ref) = SyncActorRunnerBuilder::new()
            .with_rt(rt)
            .with_inbox_size(options.inbox_size())
            .build(supervisor, actor);
        let name = options
            .thread_name()
            .map_or_else(|| A::name().to_owned(), str::to_owned);
        let (exits, coordinator_sq) = self.coordinator().exit_reporter();
        let internals = self.internals.clone();
        internals.sync_actor_started();
        let spawned = thread::Builder::new().name(name.clone()).spawn(move || {
            if let Some(file) = &internals.trace {
                crate::trace::start_thread(file, crate::trace::Thread::SyncActor, &name);
                crate::trace::sync_actor(A::name());
            }
            let _guard = SyncGuard {
                internals,
                _exit: ExitGuard::new(ThreadExit::SyncActor, exits, coordinator_sq),
            };
            let exit = runner.run(arg);
            debug!("synchronous actor '{name}' {exit}");
            crate::trace::finish_thread();
        });
        match spawned {
            Ok(handle) => {
                self.coordinator().add_sync_thread(handle);
                Ok(actor_ref)
            }
            Err(err) => {
                self.internals.sync_actor_stopped();
                Err(Error::start_sync_actor(err))
            }
        }
    }

    /// Registers `actor_ref` to receive process signals (each signal once);
    /// use [`ActorRef::try_map`] to convert them into the actor's messages.
    ///
    /// The first exit signal an actor accepts starts a graceful shutdown; a
    /// second one forces it (see [`Signal`](crate::Signal)).
    pub fn receive_signals(&mut self, actor_ref: ActorRef<Signal>) {
        self.internals.receive_signals(actor_ref);
    }

    /// The metrics of the runtime, see [`metrics`](crate::metrics). Once
    /// the runtime is started, actors read them with
    /// [`RuntimeRef::metrics`] (or `metrics` of `ThreadSafe` and `Sync`),
    /// and SIGUSR2 logs them.
    pub fn metrics(&self) -> RuntimeMetrics {
        crate::metrics::collect(&self.internals)
    }

    /// Runs until every actor, future and synchronous actor has finished,
    /// or until the first error (including an exit signal that no actor
    /// receives, and a second exit signal during a graceful shutdown, which
    /// forces it: see [`Signal`](crate::Signal)).
    pub fn start(mut self) -> Result<(), Error> {
        let coordinator = self.coordinator.take().expect("runtime already started");
        debug!("starting runtime '{}'", self.internals.name);
        self.internals.start();
        let result = coordinator.run(&self.internals);
        // No more signals will be relayed: let the actors waiting for them
        // stop (after an error the workers may still be running).
        self.internals.clear_signal_receivers();
        result
    }
}

/// Marks a synchronous actor thread as stopped when dropped (also when it
/// panics).
struct SyncGuard {
    internals: Arc<RuntimeInternals>,
    _exit: ExitGuard,
}

impl Drop for SyncGuard {
    fn drop(&mut self) {
        self.internals.sync_actor_stopped();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.coordinator.is_some() {
            // Never started: let the workers finish what they have and stop.
            self.internals.start();
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("name", &self.internals.name)
            .field("started", &self.coordinator.is_none())
            .finish()
    }
}
