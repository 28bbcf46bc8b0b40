//! Supervisors: what happens when an actor fails.
//!
//! Every actor runs under a supervisor. When the actor returns an error or
//! panics, its supervisor decides: [`SupervisorStrategy::Restart`] with a new
//! argument, or [`SupervisorStrategy::Stop`]. A restarted actor keeps its
//! inbox: the messages queued when it failed are delivered to the new
//! instance; only the message being handled at the failure is lost.
//!
//! Ready-made supervisors:
//! - [`NoSupervisor`] for actors that cannot fail (a panic stops them);
//! - [`StopSupervisor`] logs the error and stops the actor;
//! - [`restart_supervisor!`](crate::restart_supervisor) generates a
//!   supervisor that restarts an actor at most *N* times within any window of
//!   *T* (Erlang's restart intensity), then stops it;
//! - any `FnMut(Error) -> SupervisorStrategy<Argument>` closure.
//!
//! [`Supervisor`] is for asynchronous actors ([`NewActor`]) and
//! [`SyncSupervisor`] for [synchronous actors](crate::sync).

use std::any::Any;
use std::convert::Infallible;
use std::fmt;

use log::{error, warn};

use crate::actor::{Actor, NewActor};
use crate::sync::SyncActor;

mod restart;

pub use restart::RestartIntensity;
#[doc(hidden)]
pub use restart::{__restart_decision, __restart_stopped};

/// The decision of a supervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SupervisorStrategy<Arg> {
    /// Restart the actor with this argument.
    Restart(Arg),
    /// Stop the actor.
    Stop,
}

/// Decides what happens to an asynchronous actor that failed.
///
/// `NA` is the actor's [`NewActor`].
pub trait Supervisor<NA: NewActor> {
    /// The actor returned `error`.
    fn decide(&mut self, error: <NA::Actor as Actor>::Error) -> SupervisorStrategy<NA::Argument>;

    /// Restarting the actor failed: [`NewActor::new`] returned `error`. If
    /// this returns `Restart` and that fails too,
    /// [`second_restart_error`](Supervisor::second_restart_error) is called
    /// and the actor stops.
    ///
    /// Also called when *creating* an actor fails where no caller waits for
    /// it: an actor built with an
    /// [`ActorInbox`](crate::future::ActorInbox) on another thread, such as
    /// one kiln-rt's `spawn_local_on` starts on another worker.
    fn decide_on_restart_error(&mut self, error: NA::Error) -> SupervisorStrategy<NA::Argument>;

    /// The second restart in a row failed; the actor stops.
    fn second_restart_error(&mut self, error: NA::Error);

    /// The actor panicked; `panic` is the panic's payload (see
    /// [`panic_message`]). The default logs the panic and stops the actor.
    fn decide_on_panic(
        &mut self,
        panic: Box<dyn Any + Send + 'static>,
    ) -> SupervisorStrategy<NA::Argument> {
        error!(
            "actor '{}' panicked, stopping it: {}",
            NA::name(),
            panic_message(&*panic)
        );
        SupervisorStrategy::Stop
    }
}

/// Decides what happens to a [synchronous actor](crate::sync) that failed.
pub trait SyncSupervisor<A: SyncActor> {
    /// The actor returned `error`.
    fn decide(&mut self, error: A::Error) -> SupervisorStrategy<A::Argument>;

    /// The actor panicked. The default logs the panic and stops the actor.
    fn decide_on_panic(
        &mut self,
        panic: Box<dyn Any + Send + 'static>,
    ) -> SupervisorStrategy<A::Argument> {
        error!(
            "synchronous actor '{}' panicked, stopping it: {}",
            A::name(),
            panic_message(&*panic)
        );
        SupervisorStrategy::Stop
    }
}

/// The message of a panic payload: the `&str` or `String` given to
/// `panic!`, or `"<non-string panic payload>"`.
pub fn panic_message<'a>(panic: &'a (dyn Any + Send + 'static)) -> &'a str {
    if let Some(msg) = panic.downcast_ref::<&'static str>() {
        msg
    } else if let Some(msg) = panic.downcast_ref::<String>() {
        msg
    } else {
        "<non-string panic payload>"
    }
}

/// The supervisor of actors that cannot fail: their error types are
/// [`Infallible`]. A panic is logged and stops the actor.
#[derive(Copy, Clone, Debug, Default)]
pub struct NoSupervisor;

impl<NA> Supervisor<NA> for NoSupervisor
where
    NA: NewActor<Error = Infallible>,
    NA::Actor: Actor<Error = Infallible>,
{
    fn decide(&mut self, error: Infallible) -> SupervisorStrategy<NA::Argument> {
        match error {}
    }

    fn decide_on_restart_error(&mut self, error: Infallible) -> SupervisorStrategy<NA::Argument> {
        match error {}
    }

    fn second_restart_error(&mut self, error: Infallible) {
        match error {}
    }
}

impl<A> SyncSupervisor<A> for NoSupervisor
where
    A: SyncActor<Error = Infallible>,
{
    fn decide(&mut self, error: Infallible) -> SupervisorStrategy<A::Argument> {
        match error {}
    }
}

/// A supervisor that logs the error (at `warn` level) and stops the actor.
#[derive(Copy, Clone, Debug, Default)]
pub struct StopSupervisor;

impl<NA> Supervisor<NA> for StopSupervisor
where
    NA: NewActor,
    NA::Error: fmt::Display,
    <NA::Actor as Actor>::Error: fmt::Display,
{
    fn decide(&mut self, error: <NA::Actor as Actor>::Error) -> SupervisorStrategy<NA::Argument> {
        warn!("actor '{}' failed, stopping it: {error}", NA::name());
        SupervisorStrategy::Stop
    }

    fn decide_on_restart_error(&mut self, error: NA::Error) -> SupervisorStrategy<NA::Argument> {
        stop_on_restart_error::<NA>(&error)
    }

    fn second_restart_error(&mut self, error: NA::Error) {
        log_second_restart_error::<NA>(&error);
    }
}

impl<A> SyncSupervisor<A> for StopSupervisor
where
    A: SyncActor,
    A::Error: fmt::Display,
{
    fn decide(&mut self, error: A::Error) -> SupervisorStrategy<A::Argument> {
        warn!(
            "synchronous actor '{}' failed, stopping it: {error}",
            A::name()
        );
        SupervisorStrategy::Stop
    }
}

/// A closure deciding on the actor's errors. A failed restart is logged and
/// stops the actor; a panic is logged and stops it.
impl<F, NA> Supervisor<NA> for F
where
    F: FnMut(<NA::Actor as Actor>::Error) -> SupervisorStrategy<NA::Argument>,
    NA: NewActor,
    NA::Error: fmt::Display,
{
    fn decide(&mut self, error: <NA::Actor as Actor>::Error) -> SupervisorStrategy<NA::Argument> {
        self(error)
    }

    fn decide_on_restart_error(&mut self, error: NA::Error) -> SupervisorStrategy<NA::Argument> {
        stop_on_restart_error::<NA>(&error)
    }

    fn second_restart_error(&mut self, error: NA::Error) {
        log_second_restart_error::<NA>(&error);
    }
}

/// A closure deciding on a synchronous actor's errors.
impl<F, A> SyncSupervisor<A> for F
where
    F: FnMut(A::Error) -> SupervisorStrategy<A::Argument>,
    A: SyncActor,
{
    fn decide(&mut self, error: A::Error) -> SupervisorStrategy<A::Argument> {
        self(error)
    }
}

/// Logs (at `warn` level) that actor `NA` failed to restart with `error`,
/// and stops it: what [`StopSupervisor`] and a closure supervisor do.
fn stop_on_restart_error<NA>(error: &NA::Error) -> SupervisorStrategy<NA::Argument>
where
    NA: NewActor,
    NA::Error: fmt::Display,
{
    warn!(
        "actor '{}' failed to restart, stopping it: {error}",
        NA::name()
    );
    SupervisorStrategy::Stop
}

/// Logs (at `warn` level) that actor `NA` failed to restart a second time
/// with `error`; it is stopped.
fn log_second_restart_error<NA>(error: &NA::Error)
where
    NA: NewActor,
    NA::Error: fmt::Display,
{
    warn!(
        "actor '{}' failed to restart a second time, stopping it: {error}",
        NA::name()
    );
}
