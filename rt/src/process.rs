//! Processes: what the schedulers run.
//!
//! A process is an actor (an [`ActorFuture`], which already handles the
//! actor's errors, panics and restarts) or a spawned future. Schedulers only
//! know the [`Process`] trait; they catch panics around [`Process::run`] (a
//! panic that escapes an `ActorFuture` comes from its supervisor) and around
//! dropping a process, so no user panic takes down a worker.

use std::any::type_name;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{self, Poll};

use kiln::actor::NewActor;
use kiln::future::ActorFuture;
use kiln::supervisor::{Supervisor, panic_message};
use log::error;
use pin_project_lite::pin_project;

/// A process a scheduler can run.
pub(crate) trait Process {
    /// A readable name, for logs.
    fn name(&self) -> &'static str;

    /// Runs the process until it waits (`Pending`) or is done (`Ready`).
    fn run(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()>;
}

impl<S, NA, RT> Process for ActorFuture<S, NA, RT>
where
    S: Supervisor<NA>,
    NA: NewActor<RuntimeAccess = RT>,
    RT: Clone,
{
    fn name(&self) -> &'static str {
        NA::name()
    }

    fn run(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()> {
        self.poll(cx)
    }
}

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
    fn name(&self) -> &'static str {
        kiln_short_name(type_name::<Fut>())
    }

    fn run(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()> {
        self.project().future.poll(cx)
    }
}

/// The last path segment of a type name, without generics or closure
/// segments (`app::main::{{closure}}` gives `main`).
fn kiln_short_name(full: &'static str) -> &'static str {
    let mut name = full;
    while let Some(stripped) = name.strip_suffix("::{{closure}}") {
        name = stripped;
    }
    let name = name.split('<').next().unwrap_or(name);
    name.rsplit("::").next().unwrap_or(name)
}

/// Runs `process`, catching a panic. Returns `true` when the process is done
/// (completed, or panicked: a panicking process is logged and stopped).
pub(crate) fn run_process<P: Process + ?Sized>(
    process: Pin<&mut P>,
    cx: &mut task::Context<'_>,
) -> bool {
    let name = process.name();
    match catch_unwind(AssertUnwindSafe(|| process.run(cx))) {
        Ok(Poll::Ready(())) => true,
        Ok(Poll::Pending) => false,
        Err(panic) => {
            error!("'{name}' panicked, stopping it: {}", panic_message(&*panic));
            true
        }
    }
}

/// Drops `process`, catching (and logging) a panic in its `Drop`.
pub(crate) fn drop_process<P: ?Sized + Process>(process: Pin<Box<P>>) {
    let name = process.name();
    if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(process))) {
        error!(
            "'{name}' panicked while being dropped: {}",
            panic_message(&*panic)
        );
    }
}
