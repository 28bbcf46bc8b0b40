//! [`PanicSupervisor`]: a supervisor that turns every failure of an actor
//! into a panic of the test running it.

use std::any::Any;
use std::fmt;
use std::panic::resume_unwind;

use crate::supervisor::{Failure, SupervisorStrategy, SyncSupervisor};
use crate::sync::SyncActor;

/// A supervisor for tests that panics when the actor fails, so that the test
/// fails with the actor's error.
///
/// An error of the actor (or of its
/// [`NewActor::new`](crate::actor::NewActor::new) on a restart) becomes a
/// panic with the actor's name and the error; a panic of the actor is passed
/// on as it is (with [`resume_unwind`]). It never restarts an actor.
///
/// The panic is raised where the supervisor is called: in the `poll` of the
/// [`ActorFuture`](crate::ActorFuture) (or in
/// [`SyncActorRunner::run`](crate::sync::SyncActorRunner::run)), so it reaches
/// the test when the test runs the actor on its own thread, as
/// [`block_on`](crate::test::block_on) and `SyncActorRunner::run` do. A
/// runtime that catches the panics of the processes it runs (kiln-rt does)
/// only logs it; there, use kiln-rt's `test::TestSupervisor` and
/// `test::assert_completed`.
///
/// ```should_panic
/// use kiln::{actor, actor_fn, test, ActorFuture};
///
/// async fn picky(mut ctx: actor::Context<u32>) -> Result<(), String> {
///     while let Ok(n) = ctx.receive_next().await {
///         if n > 9 {
///             return Err(format!("{n} has too many digits"));
///         }
///     }
///     Ok(())
/// }
///
/// let (future, actor_ref) = ActorFuture::new(test::PanicSupervisor, actor_fn(picky), ());
/// actor_ref.try_send(10u32).unwrap();
/// // Panics: "actor 'picky' failed: 10 has too many digits".
/// test::block_on(future);
/// ```
#[derive(Copy, Clone, Debug, Default)]
pub struct PanicSupervisor;

crate::__stop_supervisor!(PanicSupervisor, panic_with);

/// Panics with `actor`'s `failure`, or passes its panic on.
fn panic_with(actor: &'static str, failure: Failure<'_>) {
    match failure {
        Failure::Panic(panic) => resume_unwind(panic),
        failure => panic!("actor '{actor}' {failure}"),
    }
}

impl<A> SyncSupervisor<A> for PanicSupervisor
where
    A: SyncActor,
    A::Error: fmt::Display,
{
    fn decide(&mut self, error: A::Error) -> SupervisorStrategy<A::Argument> {
        panic!("synchronous actor '{}' failed: {error}", A::name());
    }

    fn decide_on_panic(
        &mut self,
        panic: Box<dyn Any + Send + 'static>,
    ) -> SupervisorStrategy<A::Argument> {
        resume_unwind(panic)
    }
}
