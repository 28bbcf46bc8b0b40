//! Helpers for testing actors on the runtime (the `test` feature).
//!
//! A test runtime with one worker runs in the background for the whole test
//! process; the functions here spawn into it and wait for actors with a
//! timeout, so a test of a thread-local actor is a few lines:
//!
//! ```
//! use std::time::Duration;
//! use kiln::{actor, actor_fn};
//! use kiln_rt::{test, ActorOptions, ThreadLocal};
//!
//! /// Adds two numbers, then stops.
//! async fn adder(mut ctx: actor::Context<u32, ThreadLocal>) -> Result<(), String> {
//!     let a = ctx.receive_next().await.map_err(|err| err.to_string())?;
//!     let b = ctx.receive_next().await.map_err(|err| err.to_string())?;
//!     if a + b == 3 { Ok(()) } else { Err(format!("sum is {}", a + b)) }
//! }
//!
//! let actor_ref = test::spawn_local(test::TestSupervisor, actor_fn(adder), (), ActorOptions::default());
//! actor_ref.try_send(1u32).unwrap();
//! actor_ref.try_send(2u32).unwrap();
//! test::assert_completed(&actor_ref, Duration::from_secs(10));
//! ```
//!
//! Note that a reference keeps the actor's inbox connected: an actor that
//! loops until `receive_next` fails stops only once every reference,
//! including the one used to join, is gone. Such an actor is better
//! stopped with a message.
//!
//! [`assert_completed`] fails the test, with the actor's error, unless the
//! actor completed.
//!
//! # The helpers
//!
//! - Running code on the test runtime's worker: [`run_on_worker`];
//!   [`block_on_local_future`] runs a future made there (it may use the
//!   worker's timers and I/O and need not be `Send`) until it completes,
//!   [`block_on_local_actor`] does the same for a thread-local actor and
//!   returns how it ended.
//! - Spawning: [`spawn_local`], [`try_spawn_local`], [`try_spawn`],
//!   [`spawn_future`], [`TestRuntime`] for code generic over
//!   [`Spawn`], and [`spawn_sync_actor`] for a
//!   synchronous actor on a thread of its own.
//! - Waiting, always with a timeout: [`join_with_timeout`], [`join_many`],
//!   [`join_all`], [`assert_completed`], [`block_on_with_timeout`].
//! - Supervising: [`TestSupervisor`] records failures ([`take_failures_of`],
//!   [`take_failures`]).
//! - kiln's own helpers, re-exported: creating and polling actors, futures
//!   and streams by hand ([`init_actor`], [`poll_actor`], [`poll_future`],
//!   [`poll_next`]), [`block_on`], [`block_for`], [`PanicSupervisor`],
//!   [`set_message_loss`], [`size_of_actor`].
//!
//! A future or actor given to `block_on_local_*` runs on the test worker:
//! one that never finishes is dropped when the timeout passes, and a panic in
//! it is raised again in the test.
//!
//! ```
//! use std::time::Duration;
//! use kiln::{actor, actor_fn};
//! use kiln_rt::{test, ThreadLocal};
//! use kiln_rt::timer::Timer;
//!
//! /// Sleeps a little, then fails.
//! async fn sleepy(ctx: actor::Context<(), ThreadLocal>, nap: Duration) -> Result<(), String> {
//!     Timer::after(ctx.runtime_ref().clone(), nap).await;
//!     Err("woke up grumpy".to_owned())
//! }
//!
//! let result = test::block_on_local_actor(actor_fn(sleepy), Duration::from_millis(1), Duration::from_secs(10));
//! assert_eq!(result, Err(test::BlockOnError::Failed("woke up grumpy".to_owned())));
//! ```

use std::any::Any;
use std::convert::Infallible;
use std::fmt;
use std::future::{Future, pending, poll_fn};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::pin;
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use kiln::actor::{self, Actor, NewActor};
use kiln::actor_ref::{ActorExit, ActorGroup};
use kiln::inbox::oneshot;
use kiln::supervisor::{Failure, Supervisor, SyncSupervisor};
use kiln::sync::{SyncActor, SyncActorRunnerBuilder};
use kiln::{ActorRef, InboxSize};

use crate::runtime::shared::{RuntimeInternals, lock};
use crate::runtime::worker::{Control, RunFn, WorkerControl};
use crate::spawn::{
    PrivateSpawn, Spawn, SpawnArgs, impl_spawn, impl_spawn_thread_safe, spawn_thread_local,
    spawn_thread_safe,
};
use crate::{
    ActorOptions, FutureOptions, Runtime, RuntimeRef, SyncActorOptions, ThreadLocal, ThreadSafe,
};

#[doc(no_inline)]
pub use kiln::test::*;

/// The test runtime: built once, started on a background thread, kept alive
/// by a future that never completes.
fn test_runtime() -> &'static Arc<RuntimeInternals> {
    &test_runtime_parts().0
}

/// The test runtime's shared state and what sends control messages to its
/// worker.
fn test_runtime_parts() -> &'static (Arc<RuntimeInternals>, WorkerControl) {
    static RUNTIME: OnceLock<(Arc<RuntimeInternals>, WorkerControl)> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let (sender, receiver) = mpsc::channel();
        thread::Builder::new()
            .name("kiln-rt-test".to_owned())
            .spawn(move || {
                let mut runtime = Runtime::setup()
                    .with_name("kiln-rt-test")
                    .build()
                    .expect("can't build the test runtime");
                runtime.spawn_future(pending::<()>(), FutureOptions::default());
                sender
                    .send((runtime.internals().clone(), runtime.controls()[0].clone()))
                    .expect("can't hand over the test runtime");
                if let Err(err) = runtime.start() {
                    panic!("the test runtime stopped: {err}");
                }
            })
            .expect("can't start the test runtime's thread");
        receiver.recv().expect("the test runtime failed to start")
    })
}

/// Runs `f` on the test runtime's worker and returns its result.
pub fn run_on_worker<F, T>(f: F) -> T
where
    F: FnOnce(RuntimeRef) -> T + Send + 'static,
    T: Send + 'static,
{
    let (sender, receiver) = mpsc::channel();
    let run: RunFn = Box::new(move |local| {
        let _ = sender.send(f(RuntimeRef::from_local(local)));
        Ok(())
    });
    let (reply, _replies) = mpsc::channel();
    test_runtime_parts()
        .1
        .send(Control::Run(run, reply))
        .expect("the test runtime stopped");
    receiver
        .recv()
        .expect("the function panicked on the test worker")
}

/// A handle to the test runtime that implements [`Spawn`], for code that is
/// generic over the spawner: thread-local actors go to its worker (through
/// [`run_on_worker`], so their supervisor, argument and error must be
/// `Send`), thread-safe ones to the runtime.
#[derive(Copy, Clone, Debug, Default)]
pub struct TestRuntime;

impl_spawn!(
    TestRuntime, ThreadLocal where [
        S: Supervisor<NA> + Send + 'static,
        NA: NewActor<RuntimeAccess = ThreadLocal> + Send + 'static,
        NA::Argument: Send,
        NA::Error: Send,
        NA::Message: Send + 'static,
    ],
    |_runtime, args| run_on_worker(move |rt| spawn_thread_local(rt.local_internals(), args))
);

impl TestRuntime {
    /// The test runtime's shared state, which thread-safe actors are spawned
    /// into.
    fn shared_internals(self) -> &'static Arc<RuntimeInternals> {
        test_runtime()
    }
}

impl_spawn_thread_safe!(TestRuntime);

/// Writes the free function `$name`, which spawns an actor with runtime
/// access `$access` on the test runtime through [`TestRuntime`]'s
/// [`Spawn`] method `$method`: the signature of the spawning helpers,
/// written once.
macro_rules! spawn_fn {
    (
        $(#[$doc: meta])*
        $name: ident = $method: ident($access: ty) -> $ret: ty where NA: $new_actor: path
    ) => {
        $(#[$doc])*
        pub fn $name<S, NA>(
            supervisor: S,
            new_actor: NA,
            arg: NA::Argument,
            options: ActorOptions,
        ) -> $ret
        where
            TestRuntime: Spawn<S, NA, $access>,
            S: Supervisor<NA>,
            NA: $new_actor,
        {
            TestRuntime.$method(supervisor, new_actor, arg, options)
        }
    };
}

spawn_fn!(
    /// Spawns a thread-local actor on the test runtime's worker; fails if
    /// creating it fails. The same as [`TestRuntime`]'s [`Spawn::try_spawn`].
    try_spawn_local = try_spawn(ThreadLocal) -> Result<ActorRef<NA::Message>, NA::Error>
        where NA: NewActor<RuntimeAccess = ThreadLocal>
);

spawn_fn!(
    /// Spawns a thread-local actor that cannot fail to be created on the test
    /// runtime's worker.
    spawn_local = spawn(ThreadLocal) -> ActorRef<NA::Message>
        where NA: NewActor<Error = Infallible, RuntimeAccess = ThreadLocal>
);

spawn_fn!(
    /// Spawns a thread-safe actor on the test runtime; fails if creating it
    /// fails. The same as [`TestRuntime`]'s [`Spawn::try_spawn`].
    try_spawn = try_spawn(ThreadSafe) -> Result<ActorRef<NA::Message>, NA::Error>
        where NA: NewActor<RuntimeAccess = ThreadSafe>
);

/// Spawns a `Send` future on the test runtime.
pub fn spawn_future<Fut>(future: Fut, options: FutureOptions)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    crate::spawn::spawn_future(test_runtime(), future, options);
}

/// Spawns a synchronous actor for the test runtime on a thread of its own;
/// returns the thread's handle (its result says how the actor ended) and a
/// reference to the actor. Fails if the thread cannot be started.
///
/// The actor's runtime access reaches the test runtime (to spawn thread-safe
/// actors and futures, or use the shared timers and I/O).
pub fn spawn_sync_actor<S, A>(
    supervisor: S,
    actor: A,
    arg: A::Argument,
    options: SyncActorOptions,
) -> io::Result<(thread::JoinHandle<ActorExit>, ActorRef<A::Message>)>
where
    S: SyncSupervisor<A> + Send + 'static,
    A: SyncActor<RuntimeAccess = crate::access::Sync> + Send + 'static,
    A::Message: Send + 'static,
    A::Argument: Send + 'static,
{
    let mut builder = SyncActorRunnerBuilder::new()
        .with_rt(crate::access::Sync::new(test_runtime().clone()))
        .with_inbox_size(options.inbox_size());
    if let Some(name) = options.thread_name() {
        builder = builder.with_thread_name(name);
    }
    builder.spawn(supervisor, actor, arg)
}

/// Runs the future `make` creates on the test worker until it completes,
/// and returns its output; `None` if it did not complete within `timeout`.
///
/// `make` runs on the worker, so the future may use the worker's runtime
/// access (timers, I/O, spawning thread-local actors) and need not be
/// `Send`; only `make` and the output cross threads. A future that times out
/// is dropped, and a panic in it is raised again here.
pub fn block_on_local_future<F, Fut>(make: F, timeout: Duration) -> Option<Fut::Output>
where
    F: FnOnce(RuntimeRef) -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    match run_local(move |rt| Ok::<_, Infallible>(make(rt)), timeout) {
        Ok(output) => output,
        Err(err) => match err {},
    }
}

/// Runs a thread-local actor on the test worker until it returns, and says
/// how it ended: `Ok(())` if it completed, or why not ([`BlockOnError`]).
///
/// The actor runs without a supervisor and gets no messages from outside:
/// its inbox has no reference but those it makes itself
/// (`ctx.actor_ref()`), so `receive_next` tells it at once that no message
/// will come. Use it for actors that do their work with their arguments (a
/// client connecting to a server, say). An actor that does not finish within
/// `timeout` is dropped; a panic in it is raised again here.
pub fn block_on_local_actor<NA>(
    mut new_actor: NA,
    arg: NA::Argument,
    timeout: Duration,
) -> Result<(), BlockOnError<NA::Error, <NA::Actor as Actor>::Error>>
where
    NA: NewActor<RuntimeAccess = ThreadLocal> + Send + 'static,
    NA::Argument: Send + 'static,
    NA::Error: Send + 'static,
    NA::Actor: 'static,
    <NA::Actor as Actor>::Error: Send + 'static,
{
    let created = run_local(
        move |rt| {
            let (sender, receiver) = kiln::inbox::new(InboxSize::ONE.get());
            drop(sender);
            let ctx = actor::Context::new(receiver, ThreadLocal::new(rt));
            let mut actor = Box::pin(new_actor.new(ctx, arg)?);
            Ok(poll_fn(move |cx| actor.as_mut().try_poll(cx)))
        },
        timeout,
    );
    match created {
        Ok(Some(Ok(()))) => Ok(()),
        Ok(Some(Err(err))) => Err(BlockOnError::Failed(err)),
        Ok(None) => Err(BlockOnError::TimedOut),
        Err(err) => Err(BlockOnError::New(err)),
    }
}

/// Runs the future `make` creates on the test worker, as
/// [`block_on_local_future`] does; fails if `make` does.
fn run_local<F, Fut, E>(make: F, timeout: Duration) -> Result<Option<Fut::Output>, E>
where
    F: FnOnce(RuntimeRef) -> Result<Fut, E> + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
    E: Send + 'static,
{
    // Dropping `_cancel` (when this function returns) stops the future if
    // it is still running, so a timed-out future does not linger.
    let (_cancel, mut cancelled) = oneshot::new::<Infallible>();
    let (done, mut outcome) = oneshot::new::<Result<Fut::Output, Box<dyn Any + Send>>>();
    run_on_worker(move |mut rt| {
        let future = make(rt.clone())?;
        let run = async move {
            let mut future = pin!(future);
            let ended = poll_fn(|cx| {
                if cancelled.poll_recv(cx).is_ready() {
                    return Poll::Ready(None);
                }
                match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(output)) => Poll::Ready(Some(Ok(output))),
                    Err(panic) => Poll::Ready(Some(Err(panic))),
                }
            })
            .await;
            if let Some(ended) = ended {
                // The test may have given up meanwhile; nothing to do then.
                let _ = done.try_send(ended);
            }
        };
        rt.spawn_local_future(run, FutureOptions::default());
        Ok(())
    })?;
    Ok(match block_for(outcome.recv(), timeout) {
        Some(Some(Ok(output))) => Some(output),
        Some(Some(Err(panic))) => resume_unwind(panic),
        Some(None) => panic!("the test runtime dropped the future before it finished"),
        None => None,
    })
}

/// The error of [`block_on_local_actor`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockOnError<NewError, ActorError> {
    /// Creating the actor ([`NewActor::new`]) failed.
    New(NewError),
    /// The actor returned an error.
    Failed(ActorError),
    /// The actor did not finish in time; it was dropped.
    TimedOut,
}

impl<NewError: fmt::Display, ActorError: fmt::Display> fmt::Display
    for BlockOnError<NewError, ActorError>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockOnError::New(err) => write!(f, "can't create the actor: {err}"),
            BlockOnError::Failed(err) => write!(f, "the actor failed: {err}"),
            BlockOnError::TimedOut => f.write_str("the actor did not finish in time"),
        }
    }
}

impl<NewError, ActorError> std::error::Error for BlockOnError<NewError, ActorError>
where
    NewError: fmt::Debug + fmt::Display,
    ActorError: fmt::Debug + fmt::Display,
{
}

/// The error of [`join_with_timeout`]: the actor was still running.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct JoinTimeout;

impl fmt::Display for JoinTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the actor did not stop in time")
    }
}

impl std::error::Error for JoinTimeout {}

/// Waits, blocking this thread, until the actor stops or `timeout` passes.
pub fn join_with_timeout<M>(
    actor_ref: &ActorRef<M>,
    timeout: Duration,
) -> Result<ActorExit, JoinTimeout> {
    block_on_with_timeout(actor_ref.join(), timeout).ok_or(JoinTimeout)
}

/// Waits, blocking this thread, until every actor stops or `timeout` passes
/// (one timeout for all); returns how each ended, in order.
///
/// To wait for actors with different message types, map their references
/// to one type first (`ActorRef::map_fn`).
pub fn join_many<M>(
    actor_refs: &[ActorRef<M>],
    timeout: Duration,
) -> Result<Vec<ActorExit>, JoinTimeout> {
    let join = async {
        let mut exits = Vec::with_capacity(actor_refs.len());
        for actor_ref in actor_refs {
            exits.push(actor_ref.join().await);
        }
        exits
    };
    block_for(join, timeout).ok_or(JoinTimeout)
}

/// Waits, blocking this thread, until every actor in `group` stops or
/// `timeout` passes.
pub fn join_all<M>(group: &ActorGroup<M>, timeout: Duration) -> Result<(), JoinTimeout> {
    block_for(group.join_all(), timeout).ok_or(JoinTimeout)
}

/// Runs `future` on this thread until it completes or `timeout` passes; the
/// same as [`kiln::sync::block_for`].
pub fn block_on_with_timeout<Fut: Future>(future: Fut, timeout: Duration) -> Option<Fut::Output> {
    block_for(future, timeout)
}

/// Waits (at most `timeout`) for the actor to stop and fails the test
/// unless it completed; the message includes what [`TestSupervisor`]
/// recorded about its failures.
#[track_caller]
pub fn assert_completed<M>(actor_ref: &ActorRef<M>, timeout: Duration) {
    match join_with_timeout(actor_ref, timeout) {
        Ok(ActorExit::Completed) => {}
        Ok(exit) => panic!("the actor {exit}; failures: {:?}", take_failures()),
        Err(JoinTimeout) => panic!("the actor did not stop within {timeout:?}"),
    }
}

/// Failures recorded by [`TestSupervisor`].
static FAILURES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Takes the failures [`TestSupervisor`] recorded so far, of every actor.
///
/// The record is process-wide and the test harness runs tests in parallel
/// threads: a test that takes every failure also takes those of the tests
/// running beside it. A test that looks for its own actor's failures
/// should use [`take_failures_of`].
pub fn take_failures() -> Vec<String> {
    std::mem::take(&mut *lock(&FAILURES))
}

/// Takes the failures [`TestSupervisor`] recorded so far of the actors
/// named `actor_name` (their [`NewActor::name`]; for an `async fn` made an
/// actor with `actor_fn`, the function's name), and leaves the others for
/// the tests they belong to.
pub fn take_failures_of(actor_name: &str) -> Vec<String> {
    let prefix = format!("actor '{actor_name}' ");
    let mut failures = lock(&FAILURES);
    let (taken, left) = failures
        .drain(..)
        .partition(|failure: &String| failure.starts_with(&prefix));
    *failures = left;
    taken
}

/// A supervisor for tests: stops a failed actor (error or panic) and records
/// why, for [`assert_completed`] and [`take_failures`].
#[derive(Copy, Clone, Debug, Default)]
pub struct TestSupervisor;

kiln::__stop_supervisor!(TestSupervisor, record_failure);

/// Records `actor`'s `failure` for [`take_failures`].
fn record_failure(actor: &'static str, failure: Failure<'_>) {
    lock(&FAILURES).push(format!("actor '{actor}' {failure}"));
}
