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

mod failure;
mod restart;

#[doc(hidden)]
pub use failure::Failure;
pub use failure::panic_message;
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

/// The supervisors that stop an actor on every failure and report it:
/// [`StopSupervisor`] logs the failure, `test::PanicSupervisor` turns it
/// into a panic and kiln-rt's `test::TestSupervisor` records it for the
/// test. They differ only in what they do with the report, so each names a
/// function `fn(actor: &'static str, failure: Failure)` and this macro
/// writes the rest.
///
/// Implements [`Supervisor`], for every
/// actor whose errors are `Display`, for `$supervisor`: it calls
/// `$report(actor_name, failure)` (a
/// `fn(&'static str, `[`Failure`]`)`) and stops the actor, on every
/// failure. Not public API: for the supervisors of kiln and kiln-rt.
#[doc(hidden)]
#[macro_export]
macro_rules! __stop_supervisor {
    ($supervisor: ty, $report: expr) => {
        impl<NA> $crate::supervisor::Supervisor<NA> for $supervisor
        where
            NA: $crate::actor::NewActor,
            NA::Error: ::std::fmt::Display,
            <NA::Actor as $crate::actor::Actor>::Error: ::std::fmt::Display,
        {
            fn decide(
                &mut self,
                error: <NA::Actor as $crate::actor::Actor>::Error,
            ) -> $crate::supervisor::SupervisorStrategy<NA::Argument> {
                $crate::__stop_supervisor!(@report NA, $report, Error(&error));
                $crate::supervisor::SupervisorStrategy::Stop
            }

            fn decide_on_restart_error(
                &mut self,
                error: NA::Error,
            ) -> $crate::supervisor::SupervisorStrategy<NA::Argument> {
                $crate::__stop_supervisor!(@report NA, $report, RestartError(&error));
                $crate::supervisor::SupervisorStrategy::Stop
            }

            fn second_restart_error(&mut self, error: NA::Error) {
                $crate::__stop_supervisor!(@report NA, $report, SecondRestartError(&error));
            }

            fn decide_on_panic(
                &mut self,
                panic: ::std::boxed::Box<dyn ::std::any::Any + ::std::marker::Send + 'static>,
            ) -> $crate::supervisor::SupervisorStrategy<NA::Argument> {
                $crate::__stop_supervisor!(@report NA, $report, Panic(panic));
                $crate::supervisor::SupervisorStrategy::Stop
            }
        }
    };
    (@report $na: ident, $report: expr, $failure: ident($cause: expr)) => {{
        let report: fn(&'static str, $crate::supervisor::Failure<'_>) = $report;
        report(
            <$na as $crate::actor::NewActor>::name(),
            $crate::supervisor::Failure::$failure($cause),
        );
    }};
}

/// A supervisor that logs the error (at `warn` level) and stops the actor.
#[derive(Copy, Clone, Debug, Default)]
pub struct StopSupervisor;

__stop_supervisor!(StopSupervisor, log_stopped);

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
        log_stopped(NA::name(), Failure::RestartError(&error));
        SupervisorStrategy::Stop
    }

    fn second_restart_error(&mut self, error: NA::Error) {
        log_stopped(NA::name(), Failure::SecondRestartError(&error));
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

/// Logs that `actor` failed and is stopped: what [`StopSupervisor`] and a
/// closure supervisor do. A panic is logged at `error` level, as
/// [`Supervisor::decide_on_panic`] does by default, the rest at `warn` level.
fn log_stopped(actor: &'static str, failure: Failure<'_>) {
    let (what, cause) = (failure.what(), failure.cause());
    if let Failure::Panic(_) = failure {
        error!("actor '{actor}' {what}, stopping it: {cause}");
    } else {
        warn!("actor '{actor}' {what}, stopping it: {cause}");
    }
}
