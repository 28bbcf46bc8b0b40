//! The `kiln_rt::test` helpers (feature `test`), as a user testing their own actors uses them:
//! spawning into the background test runtime, joining with a timeout, and `TestSupervisor`
//! recording why an actor failed.
//!
//! `TestSupervisor`'s failures are process-wide and tests run in parallel, so each test takes only
//! the failures of its own actor (`take_failures_of`): taking them all took those of the test beside
//! it (the panicker's test found none once, on the epoll driver's run in CI).

#![cfg(feature = "test")]

use std::future::pending;
use std::sync::mpsc;
use std::time::Duration;

use kiln::actor::{self, NoMessages};
use kiln::actor_fn;
use kiln::actor_ref::ActorExit;
use kiln_rt::test::{self, JoinTimeout, TestSupervisor};
use kiln_rt::{ActorOptions, FutureOptions, ThreadLocal, ThreadSafe};

mod util;

use util::timeout::TIMEOUT;

/// Adds the two numbers it gets and fails unless they add up to 3.
async fn adder(mut ctx: actor::Context<u32, ThreadLocal>) -> Result<(), String> {
    let a = ctx.receive_next().await.map_err(|err| err.to_string())?;
    let b = ctx.receive_next().await.map_err(|err| err.to_string())?;
    if a + b == 3 {
        Ok(())
    } else {
        Err(format!("adder: {a} + {b} is not 3"))
    }
}

#[test]
fn a_thread_local_actor_runs_to_completion() {
    let actor_ref = test::spawn_local(TestSupervisor, actor_fn(adder), (), ActorOptions::default());
    actor_ref.try_send(1u32).unwrap();
    actor_ref.try_send(2u32).unwrap();
    test::assert_completed(&actor_ref, TIMEOUT);
}

#[test]
fn test_supervisor_records_why_an_actor_failed() {
    let actor_ref = test::spawn_local(TestSupervisor, actor_fn(adder), (), ActorOptions::default());
    actor_ref.try_send(2u32).unwrap();
    actor_ref.try_send(2u32).unwrap();
    assert_eq!(
        test::join_with_timeout(&actor_ref, TIMEOUT),
        Ok(ActorExit::Failed)
    );
    let failures = test::take_failures_of("adder");
    assert!(
        failures
            .iter()
            .any(|failure| failure.contains("adder: 2 + 2 is not 3")),
        "{failures:?}"
    );
}

/// Panics on its first message.
async fn panicker(mut ctx: actor::Context<(), ThreadSafe>) -> Result<(), NoMessages> {
    ctx.receive_next().await?;
    panic!("panicker was told to panic");
}

#[test]
fn test_supervisor_records_a_panic_of_a_thread_safe_actor() {
    let actor_ref = test::try_spawn(
        TestSupervisor,
        actor_fn(panicker),
        (),
        ActorOptions::default(),
    )
    .unwrap_or_else(|err| match err {});
    actor_ref.try_send(()).unwrap();
    assert_eq!(
        test::join_with_timeout(&actor_ref, TIMEOUT),
        Ok(ActorExit::Panicked)
    );
    let failures = test::take_failures_of("panicker");
    assert!(
        failures
            .iter()
            .any(|failure| failure.contains("panicker was told to panic")),
        "{failures:?}"
    );
}

/// Fails at once.
async fn quitter(_: actor::Context<(), ThreadLocal>) -> Result<(), String> {
    Err("quitter quit".to_owned())
}

#[test]
fn taking_one_actors_failures_leaves_the_others() {
    let actor_ref = test::spawn_local(
        TestSupervisor,
        actor_fn(quitter),
        (),
        ActorOptions::default(),
    );
    assert_eq!(
        test::join_with_timeout(&actor_ref, TIMEOUT),
        Ok(ActorExit::Failed)
    );
    // The adder's and the panicker's tests may be taking theirs meanwhile:
    // none of them is the quitter.
    let others = test::take_failures_of("adder");
    assert!(others.iter().all(|f| !f.contains("quitter")), "{others:?}");
    let failures = test::take_failures_of("quitter");
    assert_eq!(failures, ["actor 'quitter' failed: quitter quit"]);
}

#[test]
fn joining_a_running_actor_times_out() {
    let actor_ref = test::spawn_local(TestSupervisor, actor_fn(adder), (), ActorOptions::default());
    // It waits for two numbers and got none.
    assert_eq!(
        test::join_with_timeout(&actor_ref, Duration::from_millis(10)),
        Err(JoinTimeout)
    );
    assert_eq!(
        test::block_on_with_timeout(pending::<()>(), Duration::from_millis(10)),
        None
    );
    // Stop it, for the next tests' sake.
    actor_ref.try_send(1u32).unwrap();
    actor_ref.try_send(2u32).unwrap();
    test::assert_completed(&actor_ref, TIMEOUT);
}

#[test]
fn run_on_worker_returns_the_functions_result() {
    let worker = test::run_on_worker(|rt| rt.worker_index());
    assert_eq!(worker, 0);
}

#[test]
fn spawned_futures_run() {
    let (report, reports) = mpsc::channel();
    test::spawn_future(
        async move { report.send("ran").unwrap() },
        FutureOptions::default(),
    );
    assert_eq!(reports.recv_timeout(TIMEOUT), Ok("ran"));
}
