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

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, pending};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread;
use std::time::Duration;

use kiln::ActorRef;
use kiln::actor::{Actor, NewActor};
use kiln::actor_ref::ActorExit;
use kiln::supervisor::{Supervisor, SupervisorStrategy, panic_message};

use crate::runtime::shared::{RuntimeInternals, lock};
use crate::runtime::worker::{Control, RunFn, WorkerControl};
use crate::spawn::{PrivateSpawn, Spawn, spawn_thread_safe};
use crate::{ActorOptions, FutureOptions, Runtime, RuntimeRef, ThreadLocal, ThreadSafe};

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

impl<S, NA> Spawn<S, NA, ThreadLocal> for TestRuntime
where
    S: Supervisor<NA> + Send + 'static,
    NA: NewActor<RuntimeAccess = ThreadLocal> + Send + 'static,
    NA::Argument: Send,
    NA::Error: Send,
    NA::Message: Send + 'static,
{
}

impl<S, NA> PrivateSpawn<S, NA, ThreadLocal> for TestRuntime
where
    S: Supervisor<NA> + Send + 'static,
    NA: NewActor<RuntimeAccess = ThreadLocal> + Send + 'static,
    NA::Argument: Send,
    NA::Error: Send,
    NA::Message: Send + 'static,
{
    fn try_spawn_setup(
        &mut self,
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
        options: ActorOptions,
    ) -> Result<ActorRef<NA::Message>, NA::Error> {
        run_on_worker(move |mut rt| rt.try_spawn_local(supervisor, new_actor, arg, options))
    }
}

impl<S, NA> Spawn<S, NA, ThreadSafe> for TestRuntime
where
    S: Supervisor<NA> + Send + 'static,
    NA: NewActor<RuntimeAccess = ThreadSafe> + Send + 'static,
    NA::Actor: Send + 'static,
    NA::Message: Send + 'static,
{
}

impl<S, NA> PrivateSpawn<S, NA, ThreadSafe> for TestRuntime
where
    S: Supervisor<NA> + Send + 'static,
    NA: NewActor<RuntimeAccess = ThreadSafe> + Send + 'static,
    NA::Actor: Send + 'static,
    NA::Message: Send + 'static,
{
    fn try_spawn_setup(
        &mut self,
        supervisor: S,
        new_actor: NA,
        arg: NA::Argument,
        options: ActorOptions,
    ) -> Result<ActorRef<NA::Message>, NA::Error> {
        spawn_thread_safe(test_runtime(), supervisor, new_actor, arg, options)
    }
}

/// Spawns a thread-local actor on the test runtime's worker; fails if
/// creating it fails. The same as [`TestRuntime`]'s [`Spawn::try_spawn`].
pub fn try_spawn_local<S, NA>(
    supervisor: S,
    new_actor: NA,
    arg: NA::Argument,
    options: ActorOptions,
) -> Result<ActorRef<NA::Message>, NA::Error>
where
    TestRuntime: Spawn<S, NA, ThreadLocal>,
    S: Supervisor<NA>,
    NA: NewActor<RuntimeAccess = ThreadLocal>,
{
    TestRuntime.try_spawn(supervisor, new_actor, arg, options)
}

/// Spawns a thread-local actor that cannot fail to be created on the test
/// runtime's worker.
pub fn spawn_local<S, NA>(
    supervisor: S,
    new_actor: NA,
    arg: NA::Argument,
    options: ActorOptions,
) -> ActorRef<NA::Message>
where
    TestRuntime: Spawn<S, NA, ThreadLocal>,
    S: Supervisor<NA>,
    NA: NewActor<Error = Infallible, RuntimeAccess = ThreadLocal>,
{
    TestRuntime.spawn(supervisor, new_actor, arg, options)
}

/// Spawns a thread-safe actor on the test runtime; fails if creating it
/// fails. The same as [`TestRuntime`]'s [`Spawn::try_spawn`].
pub fn try_spawn<S, NA>(
    supervisor: S,
    new_actor: NA,
    arg: NA::Argument,
    options: ActorOptions,
) -> Result<ActorRef<NA::Message>, NA::Error>
where
    TestRuntime: Spawn<S, NA, ThreadSafe>,
    S: Supervisor<NA>,
    NA: NewActor<RuntimeAccess = ThreadSafe>,
{
    TestRuntime.try_spawn(supervisor, new_actor, arg, options)
}

/// Spawns a `Send` future on the test runtime.
pub fn spawn_future<Fut>(future: Fut, options: FutureOptions)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    crate::spawn::spawn_future(test_runtime(), future, options);
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

/// Runs `future` on this thread until it completes or `timeout` passes; the
/// same as [`kiln::sync::block_for`].
pub fn block_on_with_timeout<Fut: Future>(future: Fut, timeout: Duration) -> Option<Fut::Output> {
    kiln::sync::block_for(future, timeout)
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

/// Takes the failures [`TestSupervisor`] recorded so far.
pub fn take_failures() -> Vec<String> {
    std::mem::take(&mut *lock(&FAILURES))
}

/// A supervisor for tests: stops a failed actor (error or panic) and records
/// why, for [`assert_completed`] and [`take_failures`].
#[derive(Copy, Clone, Debug, Default)]
pub struct TestSupervisor;

impl<NA> Supervisor<NA> for TestSupervisor
where
    NA: NewActor,
    NA::Error: fmt::Display,
    <NA::Actor as Actor>::Error: fmt::Display,
{
    fn decide(&mut self, error: <NA::Actor as Actor>::Error) -> SupervisorStrategy<NA::Argument> {
        lock(&FAILURES).push(format!("actor '{}' failed: {error}", NA::name()));
        SupervisorStrategy::Stop
    }

    fn decide_on_restart_error(&mut self, error: NA::Error) -> SupervisorStrategy<NA::Argument> {
        lock(&FAILURES).push(format!("actor '{}' failed to restart: {error}", NA::name()));
        SupervisorStrategy::Stop
    }

    fn second_restart_error(&mut self, error: NA::Error) {
        lock(&FAILURES).push(format!(
            "actor '{}' failed to restart again: {error}",
            NA::name()
        ));
    }

    fn decide_on_panic(
        &mut self,
        panic: Box<dyn std::any::Any + Send + 'static>,
    ) -> SupervisorStrategy<NA::Argument> {
        lock(&FAILURES).push(format!(
            "actor '{}' panicked: {}",
            NA::name(),
            panic_message(&*panic)
        ));
        SupervisorStrategy::Stop
    }
}
