//! [`RuntimeRef`]: a worker's handle to the runtime, for thread-local work.

use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use kiln::ActorRef;
use kiln::actor::NewActor;
use kiln::future::ActorFutureBuilder;
use kiln::supervisor::Supervisor;

use crate::access::{Access, PrivateAccess, ThreadLocal};
use crate::metrics::{LocalCounters, RuntimeMetrics};
use crate::runtime::io::IoRing;
use crate::runtime::scheduler::RunQueue;
use crate::runtime::scheduler::process::{FutureProcess, Process};
use crate::runtime::shared::{self, RuntimeInternals};
use crate::runtime::timers::{TimerToken, TimingWheel};
use crate::runtime::wake::WakerId;
use crate::signal::Signal;
use crate::spawn::{ActorOptions, FutureOptions};

/// A handle to the runtime on one worker thread.
///
/// Cheap to clone, and `!Send`: it belongs to its worker. It spawns
/// thread-local actors and futures on this worker (`spawn_local`,
/// `spawn_local_future`), thread-safe ones on the runtime (`spawn`,
/// `spawn_future`), and registers actors for process signals.
#[derive(Clone)]
pub struct RuntimeRef {
    internals: Rc<LocalInternals>,
}

/// The state of one worker that thread-local processes reach.
pub(crate) struct LocalInternals {
    /// The worker's index, 0 to the number of workers.
    pub(crate) index: usize,
    /// The waker id of this worker.
    pub(crate) waker_id: WakerId,
    /// Thread-local processes.
    pub(crate) scheduler: RefCell<RunQueue<dyn Process>>,
    /// Timers of thread-local actors.
    pub(crate) timers: RefCell<TimingWheel>,
    pub(crate) shared: Arc<RuntimeInternals>,
    /// The worker's ring, for thread-local I/O.
    pub(crate) ring: IoRing,
    /// Counters for the metrics.
    pub(crate) counters: LocalCounters,
}

impl RuntimeRef {
    pub(crate) fn new(internals: LocalInternals) -> RuntimeRef {
        RuntimeRef {
            internals: Rc::new(internals),
        }
    }

    pub(crate) fn internals(&self) -> &LocalInternals {
        &self.internals
    }

    /// The index of this worker: 0 up to the number of workers.
    pub fn worker_index(&self) -> usize {
        self.internals.index
    }

    /// Spawns a thread-local actor on this worker; fails if creating it
    /// fails.
    pub fn try_spawn_local<S, NA>(
        &mut self,
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
        options: ActorOptions,
    ) -> Result<ActorRef<NA::Message>, NA::Error>
    where
        S: Supervisor<NA> + 'static,
        NA: NewActor<RuntimeAccess = ThreadLocal> + 'static,
        NA::Message: 'static,
    {
        let rt = ThreadLocal::new(self.clone());
        let (future, actor_ref) = ActorFutureBuilder::new()
            .with_rt(rt)
            .with_inbox_size(options.inbox_size())
            .try_build(supervisor, new_actor, arg)?;
        self.internals
            .scheduler
            .borrow_mut()
            .add(Box::pin(future), options.priority());
        self.internals.counters.actor_spawned();
        Ok(actor_ref)
    }

    /// Spawns a thread-local actor that cannot fail to be created.
    pub fn spawn_local<S, NA>(
        &mut self,
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
        options: ActorOptions,
    ) -> ActorRef<NA::Message>
    where
        S: Supervisor<NA> + 'static,
        NA: NewActor<Error = Infallible, RuntimeAccess = ThreadLocal> + 'static,
        NA::Message: 'static,
    {
        match self.try_spawn_local(supervisor, new_actor, arg, options) {
            Ok(actor_ref) => actor_ref,
            Err(err) => match err {},
        }
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
        shared::try_spawn(&self.internals.shared, supervisor, new_actor, arg, options)
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

    /// Spawns a future on this worker.
    pub fn spawn_local_future<Fut>(&mut self, future: Fut, options: FutureOptions)
    where
        Fut: Future<Output = ()> + 'static,
    {
        let process = FutureProcess::new(future);
        self.internals
            .scheduler
            .borrow_mut()
            .add(Box::pin(process), options.priority());
    }

    /// Spawns a `Send` future; any worker may run it.
    pub fn spawn_future<Fut>(&mut self, future: Fut, options: FutureOptions)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        shared::spawn_future(&self.internals.shared, future, options);
    }

    /// Registers `actor_ref` to receive process signals; use
    /// [`ActorRef::try_map`] to convert them into the actor's message type.
    pub fn receive_signals(&mut self, actor_ref: ActorRef<Signal>) {
        self.internals.shared.receive_signals(actor_ref);
    }

    /// The metrics of the whole runtime: every worker's as of the end of its
    /// last turn (this worker's too), see [`metrics`](crate::metrics).
    pub fn metrics(&self) -> RuntimeMetrics {
        crate::metrics::collect(&self.internals.shared)
    }
}

impl Access for RuntimeRef {}

#[allow(private_interfaces, reason = "sealed trait")]
impl PrivateAccess for RuntimeRef {
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerToken {
        self.internals.timers.borrow_mut().add(deadline, waker)
    }

    fn update_timer(&self, token: TimerToken, waker: &Waker) {
        self.internals
            .timers
            .borrow_mut()
            .update_waker(token, waker);
    }

    fn remove_timer(&self, token: TimerToken) {
        self.internals.timers.borrow_mut().remove(token);
    }

    fn io_ring(&self) -> IoRing {
        self.internals.ring.clone()
    }
}

impl fmt::Debug for RuntimeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeRef")
            .field("runtime", &self.internals.shared.name)
            .field("worker", &self.internals.index)
            .finish()
    }
}
