//! Processes: what the schedulers run.
//!
//! A process is an actor (an [`ActorFuture`], which already handles the
//! actor's errors, panics and restarts) or a spawned future. Schedulers only
//! know the [`Process`] trait; they catch panics around [`Process::run`] (a
//! panic that escapes an `ActorFuture` comes from its supervisor) and around
//! dropping a process, so no user panic takes down a worker.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{self, Poll};

use kiln::actor::{NewActor, name_of};
use kiln::future::ActorFuture;
use kiln::supervisor::{Supervisor, panic_message};
use log::error;
use pin_project_lite::pin_project;

/// A process a scheduler can run.
pub(crate) trait Process {
    /// Returns a function giving a readable name, for logs. A function, as
    /// computing the name is not free and it is needed only on errors.
    fn name(&self) -> fn() -> &'static str;

    /// Returns `true` for an actor, `false` for a spawned future (for the
    /// metrics).
    fn is_actor(&self) -> bool;

    /// Runs the process until it waits (`Pending`) or is done (`Ready`).
    fn run(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()>;

    /// For a process lodged in its actor's inbox, what releases the inbox's
    /// reference once the process is dropped (see
    /// `scheduler/process_box.rs`); `None` for a boxed one.
    ///
    /// Only `process_box::Lodged`, which only `ProcessBox` makes (in a
    /// room), says `Some`: a `ProcessBox` frees its process's memory by
    /// this answer, so any other `Some` would free a box as a room.
    fn lodged(&self) -> Option<unsafe fn(NonNull<u8>)> {
        None
    }
}

impl<S, NA, RT> Process for ActorFuture<S, NA, RT>
where
    S: Supervisor<NA>,
    NA: NewActor<RuntimeAccess = RT>,
    RT: Clone,
{
    fn name(&self) -> fn() -> &'static str {
        NA::name
    }

    fn is_actor(&self) -> bool {
        true
    }

    fn run(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()> {
        self.poll(cx)
    }
}

/// A thread-safe process.
pub(crate) type SharedProcess = dyn Process + Send;

pin_project! {
    /// A spawned future as a process.
    pub(crate) struct FutureProcess<Fut> {
        #[pin]
        future: Fut,
    }
}

impl<Fut> FutureProcess<Fut> {
    pub(crate) const fn new(future: Fut) -> FutureProcess<Fut> {
        FutureProcess { future }
    }
}

impl<Fut: Future<Output = ()>> Process for FutureProcess<Fut> {
    fn name(&self) -> fn() -> &'static str {
        name_of::<Fut>
    }

    fn is_actor(&self) -> bool {
        false
    }

    fn run(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()> {
        self.project().future.poll(cx)
    }
}

/// Runs `process`, catching a panic. Returns `true` when the process is done
/// (completed, or panicked: a panicking process is logged and stopped).
pub(crate) fn run_process<P: Process + ?Sized>(
    mut process: Pin<&mut P>,
    cx: &mut task::Context<'_>,
) -> bool {
    match catch_unwind(AssertUnwindSafe(|| process.as_mut().run(cx))) {
        Ok(Poll::Ready(())) => true,
        Ok(Poll::Pending) => false,
        Err(panic) => {
            // The name is looked up only here: it is not free.
            let name = process.name()();
            error!("'{name}' panicked, stopping it: {}", panic_message(&*panic));
            true
        }
    }
}
