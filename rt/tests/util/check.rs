//! Checks that run inside an actor. A panic there stops only the actor, so
//! such a check returns its failure instead: a `Result<(), String>` (built
//! with [`failed`] and [`expect_eq`]) that [`check_in_actor`] or
//! [`check_in_thread_safe_actor`] runs and fails the test with, or an
//! `io::Result` (built with [`ensure!`]) that each actor sends to the test
//! under its name ([`Report`]) for [`check_reports`].

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

/// Returns an `io::Error` with the message unless `cond` holds.
#[allow(unused_macros, reason = "each test binary uses some of these")]
macro_rules! ensure {
    ($cond: expr, $($arg: tt)+) => {
        if !$cond {
            return Err(::std::io::Error::other(format!($($arg)+)));
        }
    };
}
#[allow(unused_imports, reason = "each test binary uses some of these")]
pub(crate) use ensure;

/// Checks that `socket` peeks `want` and then receives it: `peek` leaves the
/// bytes for the next receive. A macro: the sockets' `peek` and `recv`
/// share no trait.
#[allow(unused_macros, reason = "each test binary uses some of these")]
macro_rules! peek_then_recv {
    ($socket: expr, $want: expr) => {{
        let want: &[u8] = $want;
        let peek = $socket.peek(Vec::with_capacity(16)).await;
        let buf = peek.map_err($crate::util::check::failed("peek"))?;
        $crate::util::check::expect_eq("peeked", &buf[..], want)?;
        let recv = $socket.recv(Vec::with_capacity(16)).await;
        let buf = recv.map_err($crate::util::check::failed("recv"))?;
        $crate::util::check::expect_eq("received", &buf[..], want)?;
    }};
}
#[allow(unused_imports, reason = "each test binary uses some of these")]
pub(crate) use peek_then_recv;

/// Where an actor sends its name and its result, for [`check_reports`].
pub(crate) type Report = mpsc::Sender<(&'static str, io::Result<()>)>;

/// Checks that exactly the actors `want` (in alphabetical order) reported,
/// all successes.
#[track_caller]
pub(crate) fn check_reports(
    receiver: &mpsc::Receiver<(&'static str, io::Result<()>)>,
    want: &[&str],
) {
    let mut reports: Vec<_> = receiver.try_iter().collect();
    reports.sort_by_key(|(name, _)| *name);
    let names: Vec<_> = reports.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, want, "not every actor reported (did one panic?)");
    let failures: Vec<String> = reports
        .into_iter()
        .filter_map(|(name, result)| result.err().map(|err| format!("the {name} failed: {err}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("; "));
}

/// Maps an I/O error to a message naming what failed.
pub(crate) fn failed(what: &str) -> impl FnOnce(io::Error) -> String + '_ {
    move |err| format!("{what}: {err}")
}

/// Fails unless the buffers of a vectored receive hold `want`, a slice a
/// buffer.
pub(crate) fn expect_vectored(bufs: &[Vec<u8>], want: &[&[u8]]) -> Result<(), String> {
    let got: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
    expect_eq("received vectored", &got[..], want)
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
