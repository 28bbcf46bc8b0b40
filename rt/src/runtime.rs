//! [`Runtime`]: owns the workers, spawns actors, and runs until they are
//! done; and, below it, the engine users never name. The other public
//! handles of the engine are [`RuntimeRef`] (a worker's, in `runtime_ref.rs`)
//! and [`Setup`] (the builder, in `setup.rs`).
//!
//! # The engine
//!
//! | module | what |
//! |---|---|
//! | [`shared`] | the state the workers share: shards of thread-safe processes, shared timers, worker handles, signal receivers |
//! | [`worker`] | a worker thread's loop |
//! | [`local`] | the state of one worker that its thread-local processes reach |
//! | [`coordinator`] | the thread that runs `start`: signals, the shared ring, thread exits |
//! | [`scheduler`] | the run queue (virtual run time), processes, and the shards of thread-safe ones |
//! | [`wake`] | wakers that find their process's worker or shard |
//! | [`ids`] | the process and waker ids a waker packs |
//! | [`context`] | the engine's state of each thread, in one thread-local |
//! | [`clock`] | the clock that times every poll |
//! | [`counters`] | what workers count and publish for the [`metrics`](crate::metrics) |
//! | [`trace`] | the trace recorder behind [`trace`](crate::trace) |
//! | [`lock`] | locking the engine's mutexes |
//! | [`timers`] | the timing wheel behind the [`timer`](crate::timer) futures |
//! | [`io`] | the I/O driver: rings, operations, wake-ups of a ring's owner |

pub(crate) mod clock;
#[cfg(test)]
mod contention;
pub(crate) mod context;
pub(crate) mod coordinator;
pub(crate) mod counters;
pub(crate) mod ids;
pub(crate) mod io;
pub(crate) mod local;
pub(crate) mod lock;
pub(crate) mod prefetch;
pub(crate) mod scheduler;
pub(crate) mod shared;
pub(crate) mod timers;
pub(crate) mod trace;
pub(crate) mod wake;
pub(crate) mod worker;

use std::fmt;
use std::sync::{Arc, mpsc};
use std::thread;

use kiln::ActorRef;
use kiln::supervisor::SyncSupervisor;
use kiln::sync::{SyncActor, SyncActorRunnerBuilder};
use log::debug;

use crate::access::Sync;
use crate::error::Error;
use crate::metrics::RuntimeMetrics;
use crate::runtime_ref::RuntimeRef;
use crate::signal::Signal;
use crate::spawn::SyncActorOptions;
use context::ThreadTimers;
use coordinator::Coordinator;
use shared::RuntimeInternals;
use worker::{Control, ExitGuard, RunFn, ThreadExit, WorkerControl};

/// The runtime: worker threads running actors, and the coordinator that
/// relays process signals and waits for them to finish.
///
/// Build it with [`Runtime::setup`] (or [`Runtime::new`]), spawn actors on
/// the workers with [`run_on_workers`](Runtime::run_on_workers) (thread-local
/// actors) and [`Spawn::spawn`](crate::Spawn::spawn) (thread-safe ones), then call
/// [`start`](Runtime::start), which returns once every actor has finished.
pub struct Runtime {
    internals: Arc<RuntimeInternals>,
    /// `None` once started.
    coordinator: Option<Coordinator>,
    /// Sends control messages to each worker (`run_on_workers`).
    controls: Vec<WorkerControl>,
}

impl Runtime {
    pub(crate) const fn from_parts(
        internals: Arc<RuntimeInternals>,
        coordinator: Coordinator,
        controls: Vec<WorkerControl>,
    ) -> Runtime {
        Runtime {
            internals,
            coordinator: Some(coordinator),
            controls,
        }
    }

    /// What sends control messages to the workers.
    #[cfg(feature = "test")]
    pub(crate) fn controls(&self) -> &[WorkerControl] {
        &self.controls
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
        for worker in &self.controls {
            let f = f.clone();
            let run: RunFn = Box::new(move |local| {
                f(RuntimeRef::from_local(local)).map_err(|err| err.to_string())
            });
            if worker.send(Control::Run(run, reply.clone())).is_ok() {
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

    /// The runtime's shared state, for `Spawn`.
    pub(crate) const fn shared_internals(&self) -> &Arc<RuntimeInternals> {
        &self.internals
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
                trace::start_thread(
                    file,
                    trace::Thread::SyncActor,
                    &name,
                    internals.shared_io.driver(),
                );
                trace::sync_actor(A::name());
            }
            let _guard = SyncGuard::enter(
                internals,
                ExitGuard::new(ThreadExit::SyncActor, exits, coordinator_sq),
            );
            let exit = runner.run(arg);
            debug!("synchronous actor '{name}' {exit}");
            trace::finish_thread();
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
        self.internals.collect_metrics()
    }

    /// Runs until every actor, future and synchronous actor has finished,
    /// or until the first error (including an exit signal that no actor
    /// receives, and a second exit signal during a graceful shutdown, which
    /// forces it: see [`Signal`](crate::Signal)).
    ///
    /// # Actors run before `start`
    ///
    /// The worker threads run from [`Setup::build`](crate::Setup::build) on,
    /// so an actor or future spawned before `start` (thread-local ones
    /// through [`run_on_workers`](Runtime::run_on_workers), thread-safe ones
    /// through [`Spawn`](crate::Spawn), synchronous actors) runs as soon as
    /// it is spawned, not when `start` is called: it may receive and send
    /// messages, do I/O, even finish, before `start`. So give an actor what
    /// it needs before spawning it, not between spawning it and `start`.
    ///
    /// What `start` adds: it marks the runtime started, after which the
    /// workers stop, all together, once none has anything left to run and
    /// nothing could give one work again (before, they wait for work however
    /// idle); it relays process signals to the actors registered for them
    /// (until then signals stay pending); and it waits for the workers.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    ///
    /// use kiln::supervisor::NoSupervisor;
    /// use kiln::{actor, actor_fn};
    /// use kiln_rt::{ActorOptions, Runtime, Spawn, ThreadSafe};
    ///
    /// async fn hello(_: actor::Context<(), ThreadSafe>, ran: mpsc::Sender<&'static str>) {
    ///     ran.send("hello ran").unwrap();
    /// }
    ///
    /// let mut runtime = Runtime::new()?;
    /// let (ran, has_run) = mpsc::channel();
    /// runtime.spawn(NoSupervisor, actor_fn(hello), ran, ActorOptions::default());
    /// // The actor runs without `start`.
    /// assert_eq!(has_run.recv_timeout(Duration::from_secs(30)), Ok("hello ran"));
    /// runtime.start()?;
    /// # Ok::<(), kiln_rt::Error>(())
    /// ```
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
/// panics); until then the shared timers are the thread's timers for
/// sockets' timeouts (see `Context::timers`).
struct SyncGuard {
    internals: Arc<RuntimeInternals>,
    _exit: ExitGuard,
}

impl SyncGuard {
    fn enter(internals: Arc<RuntimeInternals>, exit: ExitGuard) -> SyncGuard {
        let timers = ThreadTimers {
            worker: None,
            shared: internals.clone(),
        };
        context::with(|cx| cx.timers.replace(Some(timers)));
        SyncGuard {
            internals,
            _exit: exit,
        }
    }
}

impl Drop for SyncGuard {
    fn drop(&mut self) {
        // Taken out, then dropped outside the context's borrow.
        drop(context::try_with(|cx| cx.timers.take()));
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
