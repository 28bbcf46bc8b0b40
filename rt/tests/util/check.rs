//! Checks that run inside an actor. A panic there stops only the actor, so
//! such a check returns `Result<(), String>` (built with [`failed`] and
//! [`expect_eq`]) and [`check_in_actor`] or [`check_in_thread_safe_actor`]
//! runs it on a runtime and fails the test with its message.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::mpsc;

use kiln::supervisor::NoSupervisor;
use kiln::{actor, actor_fn};
use kiln_rt::{ActorOptions, Spawn, ThreadLocal, ThreadSafe};

use super::runtime::{run_on_one_worker, run_runtime};

/// Runs `check` in a thread-local actor on a one-worker runtime and fails
/// the test with its error.
#[track_caller]
pub(crate) fn check_in_actor<F, Fut>(check: F)
where
    F: FnOnce(ThreadLocal) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>> + 'static,
{
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        let arg = (check, report);
        rt.spawn_local(
            NoSupervisor,
            actor_fn(checker),
            arg,
            ActorOptions::default(),
        );
    });
    expect_success(&reports);
}

/// Runs `check` in a thread-safe actor on a two-worker runtime (the
/// runtime's shared ring, and either worker may run it) and fails the test
/// with its error.
#[track_caller]
pub(crate) fn check_in_thread_safe_actor<F, Fut>(check: F)
where
    F: FnOnce(ThreadSafe) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let (report, reports) = mpsc::channel();
    run_runtime(2, move |runtime| {
        let arg = (check, report);
        runtime.spawn(
            NoSupervisor,
            actor_fn(checker),
            arg,
            ActorOptions::default(),
        );
    });
    expect_success(&reports);
}

/// Runs `check` with the actor's runtime access and reports its result.
async fn checker<RT, F, Fut>(
    ctx: actor::Context<Infallible, RT>,
    check: F,
    report: mpsc::Sender<Result<(), String>>,
) where
    RT: Clone,
    F: FnOnce(RT) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let result = check(ctx.runtime_ref().clone()).await;
    report.send(result).unwrap();
}

/// Fails the test unless the checker reported success.
#[track_caller]
fn expect_success(reports: &mpsc::Receiver<Result<(), String>>) {
    match reports.try_recv() {
        Ok(Ok(())) => {}
        Ok(Err(err)) => panic!("{err}"),
        Err(_) => panic!("the actor did not finish"),
    }
}

/// Maps an I/O error to a message naming what failed.
pub(crate) fn failed(what: &str) -> impl FnOnce(io::Error) -> String + '_ {
    move |err| format!("{what}: {err}")
}

/// Fails unless `got` equals `expected`.
pub(crate) fn expect_eq<T: PartialEq + fmt::Debug>(
    what: &str,
    got: T,
    expected: T,
) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {expected:?}"))
    }
}
