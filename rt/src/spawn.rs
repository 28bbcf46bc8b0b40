//! Spawning actors: the [`Spawn`] trait, implemented once by everything that
//! can spawn, and the options for spawning.
//!
//! | spawner | thread-local actors (`ThreadLocal` context) | thread-safe actors (`ThreadSafe` context) |
//! |---|---|---|
//! | [`RuntimeRef`] (a worker's handle) | on this worker; on any with `spawn_local_on` | yes |
//! | [`ThreadLocal`] (a thread-local actor's runtime access) | on its worker; on any with `spawn_local_on` | yes |
//! | [`Runtime`], [`ThreadSafe`], [`Sync`] | on a chosen worker: `spawn_local_on` (not through `Spawn`: they are on no worker) | yes |
//! | an actor's [`Context`](kiln::actor::Context) | as its runtime access | as its runtime access |
//! | the test runtime ([`test::TestRuntime`](crate::test::TestRuntime)) | on its worker | yes |
//!
//! Which kind an actor is follows from its context's runtime access
//! (`actor::Context<M, ThreadLocal>` or `actor::Context<M, ThreadSafe>`), so
//! one `spawn` call spawns either, and code generic over the spawner works
//! with all of them:
//!
//! ```
//! use std::convert::Infallible;
//!
//! use kiln::actor::NewActor;
//! use kiln::supervisor::{NoSupervisor, Supervisor};
//! use kiln::{actor, actor_fn, ActorRef};
//! use kiln_rt::spawn::{ActorOptions, Spawn};
//! use kiln_rt::{Runtime, ThreadSafe};
//!
//! async fn counter(mut ctx: actor::Context<u64, ThreadSafe>) {
//!     let mut total = 0;
//!     while let Ok(n) = ctx.receive_next().await {
//!         total += n;
//!     }
//!     assert_eq!(total, 3);
//! }
//!
//! /// Starts an actor from a `Runtime`, a `RuntimeRef`, an actor's context, ...
//! fn start<S, NA>(spawner: &mut S, new_actor: NA) -> ActorRef<NA::Message>
//! where
//!     S: Spawn<NoSupervisor, NA, ThreadSafe>,
//!     NoSupervisor: Supervisor<NA>,
//!     NA: NewActor<Argument = (), Error = Infallible, RuntimeAccess = ThreadSafe>,
//! {
//!     spawner.spawn(NoSupervisor, new_actor, (), ActorOptions::default())
//! }
//!
//! let mut runtime = Runtime::new()?;
//! let counter_ref = start(&mut runtime, actor_fn(counter));
//! counter_ref.try_send(1u64).unwrap();
//! counter_ref.try_send(2u64).unwrap();
//! drop(counter_ref); // The counter stops once its inbox is empty.
//! runtime.start()?;
//! # Ok::<(), kiln_rt::Error>(())
//! ```
//!
//! # A child that gets its parent's reference
//!
//! An actor spawns through its context's runtime access,
//! `ctx.runtime()`, which borrows the whole context mutably while the call
//! runs. So make the actor's own reference (or anything else taken from the
//! context) *before* the call: `ctx.runtime().spawn_local(.., ctx.actor_ref(),
//! ..)` does not compile (E0502; see
//! [`Context::runtime`](kiln::actor::Context::runtime)).
//!
//! ```
//! use kiln::supervisor::NoSupervisor;
//! use kiln::{actor, actor_fn, ActorRef};
//! use kiln_rt::{ActorOptions, ThreadLocal};
//!
//! async fn child(_: actor::Context<(), ThreadLocal>, parent: ActorRef<&'static str>) {
//!     let _ = parent.send("hello, parent").await;
//! }
//!
//! async fn parent(mut ctx: actor::Context<&'static str, ThreadLocal>) {
//!     let me = ctx.actor_ref(); // First, then:
//!     ctx.runtime().spawn_local(NoSupervisor, actor_fn(child), me, ActorOptions::default());
//!     if let Ok(greeting) = ctx.receive_next().await {
//!         println!("{greeting}");
//!     }
//! }
//! # let _ = parent;
//! ```
//!
//! # On a chosen worker
//!
//! `spawn_local_on(worker, ..)` ([`RuntimeRef::spawn_local_on`], and the
//! same method of [`Runtime`], [`ThreadSafe`] and [`Sync`]) spawns a
//! thread-local actor on the worker it names, from anywhere, without
//! waiting for that worker: the reference comes back at once and the actor
//! is created there; a failure to create it goes to its supervisor.
//!
//! `RuntimeRef::spawn_local` stays as the explicit way to spawn a
//! thread-local actor on the current worker; spawning futures (which are not
//! actors) is a method of each spawner (`spawn_future`,
//! `spawn_local_future`).
//!
//! # An `async fn` actor that spawns itself
//!
//! A thread-safe actor's future must be `Send`. An `async fn` actor that
//! spawns itself as a thread-safe actor (or spawns one that spawns it) in its
//! own body asks the compiler whether its future is `Send` while that
//! future's type is still being worked out, which it cannot answer: the call
//! fails with "cannot satisfy `impl Future<Output = ()>: Send`" (E0283). Move
//! the `spawn` call into a plain `fn` outside the actor: the actor's body
//! then only calls that function, and the function's body is checked once
//! the actor's future type is known. Nothing is boxed or wrapped. Thread-local
//! actors need not be `Send`, so they can spawn themselves directly.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//!
//! use kiln::supervisor::NoSupervisor;
//! use kiln::{actor, actor_fn, ActorRef};
//! use kiln_rt::spawn::{ActorOptions, Spawn};
//! use kiln_rt::{Runtime, ThreadSafe};
//!
//! /// Counts itself and spawns two children, `depth` levels down.
//! async fn tree(mut ctx: actor::Context<(), ThreadSafe>, depth: u32, count: Arc<AtomicUsize>) {
//!     count.fetch_add(1, Ordering::Relaxed);
//!     if depth > 0 {
//!         for _ in 0..2 {
//!             // `ctx.spawn(NoSupervisor, actor_fn(tree), ...)` here would not compile.
//!             spawn_tree(&mut ctx, depth - 1, Arc::clone(&count));
//!         }
//!     }
//! }
//!
//! /// Spawns a `tree` actor: a plain function, outside `tree`'s body.
//! fn spawn_tree<M>(
//!     ctx: &mut actor::Context<M, ThreadSafe>,
//!     depth: u32,
//!     count: Arc<AtomicUsize>,
//! ) -> ActorRef<()> {
//!     ctx.spawn(NoSupervisor, actor_fn(tree), (depth, count), ActorOptions::default())
//! }
//!
//! let count = Arc::new(AtomicUsize::new(0));
//! let mut runtime = Runtime::new()?;
//! runtime.spawn(NoSupervisor, actor_fn(tree), (3, Arc::clone(&count)), ActorOptions::default());
//! runtime.start()?;
//! assert_eq!(count.load(Ordering::Relaxed), 15); // 1 + 2 + 4 + 8
//! # Ok::<(), kiln_rt::Error>(())
//! ```
//!
//! [`RuntimeRef`]: crate::RuntimeRef
//! [`RuntimeRef::spawn_local_on`]: crate::RuntimeRef::spawn_local_on
//! [`Runtime`]: crate::Runtime
//! [`ThreadLocal`]: crate::ThreadLocal
//! [`ThreadSafe`]: crate::ThreadSafe
//! [`Sync`]: crate::access::Sync

use std::convert::Infallible;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use kiln::ActorRef;
use kiln::actor::NewActor;
use kiln::future::{ActorFuture, ActorFutureBuilder, ActorInbox};
use kiln::supervisor::Supervisor;
use kiln_inbox::room::Room;

use crate::access::{ThreadLocal, ThreadSafe};
use crate::runtime::local::LocalInternals;
use crate::runtime::scheduler::process::{FutureProcess, Process, SharedProcess};
use crate::runtime::scheduler::process_box::{Lodged, ProcessBox};
use crate::runtime::shared::RuntimeInternals;
use crate::runtime_ref::RuntimeRef;

mod on_worker;
mod options;

pub use options::{ActorOptions, FutureOptions, Priority, SyncActorOptions};

/// Spawns actors whose context carries runtime access `RT`: [`ThreadLocal`]
/// or [`ThreadSafe`]. See the [module documentation](self) for who
/// implements it.
///
/// It is sealed: only kiln-rt's spawners implement it.
pub trait Spawn<S, NA, RT>: PrivateSpawn<S, NA, RT> {
    /// Spawns an actor; fails if creating it ([`NewActor::new`]) fails.
    fn try_spawn(
        &mut self,
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
        options: ActorOptions,
    ) -> Result<ActorRef<NA::Message>, NA::Error>
    where
        S: Supervisor<NA>,
        NA: NewActor<RuntimeAccess = RT>,
    {
        self.try_spawn_setup(SpawnArgs::new(supervisor, new_actor, arg, options))
    }

    /// Spawns an actor that cannot fail to be created.
    fn spawn(
        &mut self,
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
        options: ActorOptions,
    ) -> ActorRef<NA::Message>
    where
        S: Supervisor<NA>,
        NA: NewActor<Error = Infallible, RuntimeAccess = RT>,
    {
        match self.try_spawn_setup(SpawnArgs::new(supervisor, new_actor, arg, options)) {
            Ok(actor_ref) => actor_ref,
            Err(err) => match err {},
        }
    }
}

pub(crate) use private::{PrivateSpawn, SpawnArgs};

mod private {
    use std::fmt;

    use kiln::ActorRef;
    use kiln::actor::NewActor;
    use kiln::supervisor::Supervisor;

    use super::ActorOptions;

    /// The method behind [`Spawn`](super::Spawn); in a private module so
    /// that no one outside kiln-rt can implement it.
    pub trait PrivateSpawn<S, NA, RT> {
        /// Creates the actor and adds it to a scheduler.
        fn try_spawn_setup(
            &mut self,
            args: SpawnArgs<S, NA>,
        ) -> Result<ActorRef<NA::Message>, NA::Error>
        where
            S: Supervisor<NA>,
            NA: NewActor<RuntimeAccess = RT>;
    }

    /// What every spawn of an actor carries, from the public methods down
    /// to where the actor is created: the arguments of
    /// [`Spawn::try_spawn`](super::Spawn::try_spawn).
    pub struct SpawnArgs<S, NA: NewActor> {
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
        options: ActorOptions,
    }

    impl<S, NA: NewActor> fmt::Debug for SpawnArgs<S, NA> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SpawnArgs")
                .field("actor", &NA::name())
                .field("options", &self.options)
                .finish_non_exhaustive()
        }
    }

    impl<S, NA: NewActor> SpawnArgs<S, NA> {
        /// Bundles the arguments of a spawn.
        pub(crate) const fn new(
            supervisor: S,
            new_actor: NA,
            arg: NA::Argument,
            options: ActorOptions,
        ) -> Self {
            SpawnArgs {
                supervisor,
                new_actor,
                arg,
                options,
            }
        }

        /// The options of the spawn.
        pub(crate) const fn options(&self) -> &ActorOptions {
            &self.options
        }

        /// The arguments of the spawn.
        pub(crate) fn into_parts(self) -> (S, NA, NA::Argument, ActorOptions) {
            (self.supervisor, self.new_actor, self.arg, self.options)
        }
    }
}

/// Implements [`Spawn`] (and the sealed method behind it) for `$spawner`:
/// spawning actors whose context has runtime access `$access`, under the
/// bounds `$bounds` on `S` and `NA`, with the body after the closure-like
/// list of names (the spawner, `&mut Self`, and the [`SpawnArgs`]).
macro_rules! impl_spawn {
    (
        $spawner: ty, $access: ty where [$($bounds: tt)*],
        |$this: ident, $args: ident| $body: expr
    ) => {
        impl<S, NA> Spawn<S, NA, $access> for $spawner where $($bounds)* {}

        impl<S, NA> PrivateSpawn<S, NA, $access> for $spawner
        where
            $($bounds)*
        {
            fn try_spawn_setup(
                &mut self,
                $args: SpawnArgs<S, NA>,
            ) -> Result<ActorRef<NA::Message>, NA::Error> {
                let $this = self;
                $body
            }
        }
    };
}
#[cfg(feature = "test")] // For the test runtime.
pub(crate) use impl_spawn;

/// Implements [`Spawn`] of thread-local actors for a type whose
/// `local_internals(&self)` gives its worker's state.
macro_rules! impl_spawn_thread_local {
    ($spawner: ty) => {
        impl_spawn!(
            $spawner, ThreadLocal where [
                S: Supervisor<NA> + 'static,
                NA: NewActor<RuntimeAccess = ThreadLocal> + 'static,
                NA::Message: 'static,
            ],
            |spawner, args| spawn_thread_local(spawner.local_internals(), args)
        );
    };
}

/// Implements [`Spawn`] of thread-safe actors for a type whose
/// `shared_internals(&self)` gives the runtime's shared state.
macro_rules! impl_spawn_thread_safe {
    ($spawner: ty) => {
        impl_spawn!(
            $spawner, ThreadSafe where [
                S: Supervisor<NA> + Send + 'static,
                NA: NewActor<RuntimeAccess = ThreadSafe> + Send + 'static,
                NA::Actor: Send + 'static,
                NA::Message: Send + 'static,
            ],
            |spawner, args| spawn_thread_safe(spawner.shared_internals(), args)
        );
    };
}
#[cfg(feature = "test")] // For the test runtime.
pub(crate) use impl_spawn_thread_safe;

impl_spawn_thread_local!(RuntimeRef);
impl_spawn_thread_local!(ThreadLocal);
impl_spawn_thread_safe!(RuntimeRef);
impl_spawn_thread_safe!(ThreadLocal);
impl_spawn_thread_safe!(crate::Runtime);
impl_spawn_thread_safe!(ThreadSafe);
impl_spawn_thread_safe!(crate::access::Sync);

/// An actor's context spawns as its runtime access does.
impl<M, RT, S, NA, RT2> Spawn<S, NA, RT2> for kiln::actor::Context<M, RT> where RT: Spawn<S, NA, RT2>
{}

impl<M, RT, S, NA, RT2> PrivateSpawn<S, NA, RT2> for kiln::actor::Context<M, RT>
where
    RT: Spawn<S, NA, RT2>,
{
    fn try_spawn_setup(
        &mut self,
        args: SpawnArgs<S, NA>,
    ) -> Result<ActorRef<NA::Message>, NA::Error>
    where
        S: Supervisor<NA>,
        NA: NewActor<RuntimeAccess = RT2>,
    {
        self.runtime().try_spawn_setup(args)
    }
}

/// Spawning on a worker: the explicit thread-local methods, and futures.
impl RuntimeRef {
    /// Spawns a thread-local actor on this worker; fails if creating it
    /// fails. The same as [`Spawn::try_spawn`](crate::Spawn::try_spawn) for an actor with a
    /// [`ThreadLocal`] context, by name.
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
        let args = SpawnArgs::new(supervisor, new_actor, arg, options);
        spawn_thread_local(self.local_internals(), args)
    }

    /// Spawns a thread-local actor that cannot fail to be created on this
    /// worker.
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

    /// Spawns a future on this worker.
    pub fn spawn_local_future<Fut>(&mut self, future: Fut, options: FutureOptions)
    where
        Fut: Future<Output = ()> + 'static,
    {
        spawn_local_future(self.local_internals(), future, options);
    }

    /// Spawns a `Send` future; any worker may run it.
    pub fn spawn_future<Fut>(&mut self, future: Fut, options: FutureOptions)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        spawn_future(self.shared_internals(), future, options);
    }
}

/// Implements `spawn_future` for a spawner off the workers.
macro_rules! spawn_future_method {
    ($spawner: ty) => {
        impl $spawner {
            /// Spawns a `Send` future; any worker may run it.
            pub fn spawn_future<Fut>(&mut self, future: Fut, options: FutureOptions)
            where
                Fut: Future<Output = ()> + Send + 'static,
            {
                spawn_future(self.shared_internals(), future, options);
            }
        }
    };
}

spawn_future_method!(crate::Runtime);
spawn_future_method!(ThreadSafe);
spawn_future_method!(crate::access::Sync);

/// Spawns a thread-local actor on the worker of `local`.
pub(crate) fn spawn_thread_local<S, NA>(
    local: &Rc<LocalInternals>,
    args: SpawnArgs<S, NA>,
) -> Result<ActorRef<NA::Message>, NA::Error>
where
    S: Supervisor<NA> + 'static,
    NA: NewActor<RuntimeAccess = ThreadLocal> + 'static,
    NA::Message: 'static,
{
    let priority = args.options().priority();
    let (process, actor_ref) = actor_process(
        thread_local_builder(local),
        args,
        ProcessBox::lodge_local,
        |future| ProcessBox::<dyn Process>::boxed(Box::pin(future)),
    )?;
    local.add_actor(process, priority);
    Ok(actor_ref)
}

/// The builder of a thread-local actor on the worker of `local`.
pub(crate) fn thread_local_builder(local: &Rc<LocalInternals>) -> ActorFutureBuilder<ThreadLocal> {
    ActorFutureBuilder::new().with_rt(ThreadLocal::new(RuntimeRef::from_local(local.clone())))
}

/// Spawns a thread-safe actor on the runtime of `shared`.
pub(crate) fn spawn_thread_safe<S, NA>(
    shared: &Arc<RuntimeInternals>,
    args: SpawnArgs<S, NA>,
) -> Result<ActorRef<NA::Message>, NA::Error>
where
    S: Supervisor<NA> + Send + 'static,
    NA: NewActor<RuntimeAccess = ThreadSafe> + Send + 'static,
    NA::Actor: Send + 'static,
    NA::Message: Send + 'static,
{
    let priority = args.options().priority();
    let (process, actor_ref) = actor_process(
        ActorFutureBuilder::new().with_rt(ThreadSafe::new(shared.clone())),
        args,
        ProcessBox::lodge_shared,
        |future| ProcessBox::<SharedProcess>::boxed(Box::pin(future)),
    )?;
    shared.metrics.thread_safe_actor_spawned();
    shared.add_process(process, priority);
    Ok(actor_ref)
}

/// An inbox that can hold, in the same allocation, the actor future of
/// `NA` supervised by `S`.
type ActorRoom<S, NA> = Room<Message<NA>, Lodged<Spawned<S, NA>, Message<NA>>>;

/// The future of actor `NA` supervised by `S`, with `NA`'s runtime access.
type Spawned<S, NA> = ActorFuture<S, NA, <NA as NewActor>::RuntimeAccess>;

/// The message type of actor `NA`.
type Message<NA> = <NA as NewActor>::Message;

/// Creates the actor of `args` and its inbox; returns its process and its
/// reference. Thread-local and
/// thread-safe actors differ only in the process box they go in, which
/// `lodge` and `boxed` make.
///
/// The future is lodged in the inbox's allocation where it fits (one
/// allocation for both, see `runtime/scheduler/process_box.rs`), else boxed
/// on its own.
fn actor_process<S, NA, P>(
    builder: ActorFutureBuilder<NA::RuntimeAccess>,
    args: SpawnArgs<S, NA>,
    lodge: impl FnOnce(ActorRoom<S, NA>, Spawned<S, NA>) -> ProcessBox<P>,
    boxed: impl FnOnce(Spawned<S, NA>) -> ProcessBox<P>,
) -> Result<(ProcessBox<P>, ActorRef<NA::Message>), NA::Error>
where
    S: Supervisor<NA>,
    NA: NewActor,
    NA::RuntimeAccess: Clone,
    P: ?Sized + Process,
{
    let (supervisor, new_actor, arg, options) = args.into_parts();
    match ActorRoom::<S, NA>::new(options.inbox_size().get()) {
        Some((manager, sender, receiver, room)) => {
            let inbox = ActorInbox::from_parts(manager, receiver);
            let future = builder.try_build_in(inbox, supervisor, new_actor, arg)?;
            Ok((lodge(room, future), ActorRef::from(sender)))
        }
        None => {
            let (future, actor_ref) = builder
                .with_inbox_size(options.inbox_size())
                .try_build(supervisor, new_actor, arg)?;
            Ok((boxed(future), actor_ref))
        }
    }
}

/// Spawns a future on the worker of `local`.
pub(crate) fn spawn_local_future<Fut>(local: &LocalInternals, future: Fut, options: FutureOptions)
where
    Fut: Future<Output = ()> + 'static,
{
    let process = FutureProcess::new(future);
    local.add_process(ProcessBox::boxed(Box::pin(process)), options.priority());
}

/// Spawns a `Send` future on the runtime of `shared`; any worker may run it.
pub(crate) fn spawn_future<Fut>(shared: &RuntimeInternals, future: Fut, options: FutureOptions)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let process = FutureProcess::new(future);
    shared.add_process(ProcessBox::boxed(Box::pin(process)), options.priority());
}
