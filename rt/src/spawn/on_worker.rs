//! `spawn_local_on`: spawning a thread-local actor on a chosen worker, from
//! any spawner, without waiting for that worker.
//!
//! The actor's inbox is made here and its reference returned at once; the
//! actor is created on the worker ([`NewActor::new`] runs there), which gets
//! the inbox and the rest as an *errand* (see the engine's
//! `runtime/worker/handle.rs`). A worker never waits for another: two
//! workers each waiting for the other to spawn would never run again.

use std::any::Any;
use std::rc::Rc;
use std::sync::Arc;

use kiln::ActorRef;
use kiln::actor::NewActor;
use kiln::future::ActorInbox;
use kiln::supervisor::Supervisor;
use log::error;

use crate::access::ThreadLocal;
use crate::error::Error;
use crate::runtime::local::LocalInternals;
use crate::runtime::scheduler::process_box::ProcessBox;
use crate::runtime::shared::RuntimeInternals;
use crate::runtime::worker::Errand;
use crate::runtime_ref::RuntimeRef;
use crate::spawn::{ActorOptions, SpawnArgs, thread_local_builder};

/// Implements `spawn_local_on` for a spawner, whose `$local` (made of
/// `$spawner: &Self`) is the state of the worker it is on, if any.
macro_rules! spawn_local_on_method {
    ($(#[$doc: meta])* $spawner_type: ty, |$spawner: ident| $local: expr) => {
        impl $spawner_type {
            $(#[$doc])*
            pub fn spawn_local_on<S, NA>(
                &mut self,
                worker: usize,
                supervisor: S,
                new_actor: NA,
                arg: NA::Argument,
                options: ActorOptions,
            ) -> Result<ActorRef<NA::Message>, Error>
            where
                S: Supervisor<NA> + Send + 'static,
                NA: NewActor<RuntimeAccess = ThreadLocal> + Send + 'static,
                NA::Argument: Send + 'static,
                NA::Message: Send + 'static,
            {
                let $spawner = &*self;
                let local: Option<&Rc<LocalInternals>> = $local;
                let here = local.filter(|local| local.index == worker);
                let args = SpawnArgs::new(supervisor, new_actor, arg, options);
                spawn_local_on($spawner.shared_internals(), here, worker, args)
            }
        }
    };
    ($spawner_type: ty) => {
        spawn_local_on_method!(
            /// Spawns a thread-local actor on worker `worker` and returns its
            /// reference at once; see
            /// [`RuntimeRef::spawn_local_on`](crate::RuntimeRef::spawn_local_on),
            /// which this is but for where it is called from. Fails if the
            /// runtime has no such worker, or its thread has ended.
            $spawner_type,
            |_spawner| None
        );
    };
}

spawn_local_on_method!(
    /// Spawns a thread-local actor on worker `worker` (0 up to the number of
    /// workers), from this or any other worker, and returns its reference
    /// at once.
    ///
    /// This worker does not wait for the other one: the actor is created
    /// there ([`NewActor::new`] runs on that worker) at the start of its next
    /// turn, and messages sent to the reference meanwhile wait in the inbox.
    /// On this worker (`worker` is [`worker_index`](RuntimeRef::worker_index))
    /// it is created before this returns.
    ///
    /// No caller waits for the actor to be created, so a failure to create
    /// it goes to its **supervisor**, as a failed restart does: an error of
    /// `NewActor::new` to
    /// [`decide_on_restart_error`](Supervisor::decide_on_restart_error) (it
    /// may ask for one retry with another argument; if that fails too,
    /// [`second_restart_error`](Supervisor::second_restart_error)), a panic to
    /// [`decide_on_panic`](Supervisor::decide_on_panic). If the supervisor
    /// stops the actor, its inbox is closed: sends fail with `Disconnected`
    /// and [`ActorRef::join`] returns `Failed` (or `Panicked`). An actor that
    /// cannot fail to be created (an `async fn` through
    /// [`actor_fn`](kiln::actor_fn)) can use
    /// [`NoSupervisor`](kiln::supervisor::NoSupervisor).
    ///
    /// Fails, and spawns nothing, if the runtime has no worker `worker`, or
    /// that worker's thread has ended (it failed). Once the runtime has
    /// started, idle workers wait for the others, and stop only together,
    /// when no worker has anything left to run, so a running actor always
    /// finds the worker it spawns on.
    ///
    /// The supervisor, the `NewActor`, its argument and the messages go to
    /// the other worker's thread, so they must be `Send`; the actor itself
    /// need not be. [`Runtime`](crate::Runtime), [`ThreadSafe`](crate::ThreadSafe)
    /// and [`Sync`](crate::access::Sync) have this method too, and an actor's
    /// [`ThreadLocal`] reaches it through `ctx.runtime()`.
    ///
    /// Two actors that ping-pong a number between workers 0 and 1:
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// use kiln::supervisor::NoSupervisor;
    /// use kiln::{actor, actor_fn, ActorRef};
    /// use kiln_rt::{ActorOptions, Runtime, ThreadLocal};
    ///
    /// async fn ponger(mut ctx: actor::Context<(u32, ActorRef<u32>), ThreadLocal>) {
    ///     while let Ok((n, pinger)) = ctx.receive_next().await {
    ///         let _ = pinger.send(n + 1).await;
    ///     }
    /// }
    ///
    /// async fn pinger(mut ctx: actor::Context<u32, ThreadLocal>, done: mpsc::Sender<(usize, u32)>) {
    ///     // From worker 0, onto worker 1.
    ///     let options = ActorOptions::default();
    ///     let Ok(ponger) = ctx.runtime().spawn_local_on(1, NoSupervisor, actor_fn(ponger), (), options) else {
    ///         return;
    ///     };
    ///     let mut n = 0;
    ///     for _ in 0..100 {
    ///         if ponger.send((n, ctx.actor_ref())).await.is_err() {
    ///             return;
    ///         }
    ///         match ctx.receive_next().await {
    ///             Ok(reply) => n = reply,
    ///             Err(_) => return,
    ///         }
    ///     }
    ///     let _ = done.send((ctx.runtime_ref().worker_index(), n));
    /// }
    ///
    /// let mut runtime = Runtime::setup().num_threads(2).build()?;
    /// let (done, result) = mpsc::channel();
    /// let options = ActorOptions::default();
    /// runtime.spawn_local_on(0, NoSupervisor, actor_fn(pinger), done, options)?;
    /// runtime.start()?;
    /// assert_eq!(result.recv().unwrap(), (0, 100));
    /// # Ok::<(), kiln_rt::Error>(())
    /// ```
    RuntimeRef,
    |spawner| Some(spawner.local_internals())
);

spawn_local_on_method!(crate::Runtime);
spawn_local_on_method!(crate::ThreadSafe);
spawn_local_on_method!(crate::access::Sync);

/// Spawns the thread-local actor of `args` on worker `worker` of the
/// runtime of `shared`: at once if `here` is that worker's state (the
/// caller runs on it), else through an errand, which takes `args` to the
/// worker's thread.
fn spawn_local_on<S, NA>(
    shared: &Arc<RuntimeInternals>,
    here: Option<&Rc<LocalInternals>>,
    worker: usize,
    args: SpawnArgs<S, NA>,
) -> Result<ActorRef<NA::Message>, Error>
where
    SpawnArgs<S, NA>: Send + 'static,
    S: Supervisor<NA>,
    NA: NewActor<RuntimeAccess = ThreadLocal>,
    NA::Message: Send,
{
    let workers = shared.worker_handles();
    let Some(handle) = workers.get(worker) else {
        return Err(Error::no_such_worker(worker, workers.len()));
    };
    let (inbox, actor_ref) = ActorInbox::new(args.options().inbox_size());
    let create = move |local: &Rc<LocalInternals>| {
        let (supervisor, new_actor, arg, options) = args.into_parts();
        let future =
            thread_local_builder(local).build_with_inbox(inbox, supervisor, new_actor, arg);
        local.add_actor(ProcessBox::boxed(Box::pin(future)), options.priority());
    };
    if let Some(local) = here {
        create(local);
        return Ok(actor_ref);
    }
    // Counted as local work until the worker has added the actor, so no
    // worker stops meanwhile; dropped with the errand if it never runs.
    let pending = shared.local_work_pending();
    let errand: Errand = Box::new(move |local: &dyn Any| {
        match local.downcast_ref::<Rc<LocalInternals>>() {
            Some(local) => create(local),
            None => error!("an errand got no worker state (a bug in kiln-rt): actor not created"),
        }
        drop(pending);
    });
    handle
        .send_errand(errand)
        .map_err(|_| Error::worker_stopped(worker))?;
    Ok(actor_ref)
}
