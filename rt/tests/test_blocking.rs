//! The blocking `kiln_rt::test` helpers (feature `test`): running a local
//! future or actor on the test runtime until it finishes, joining many
//! actors, spawning a synchronous actor, and kiln's helpers re-exported.

#![cfg(feature = "test")]

use std::cell::Cell;
use std::future::pending;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use kiln::actor::{self, NewActor, NoMessages};
use kiln::actor_fn;
use kiln::actor_ref::{ActorExit, ActorGroup};
use kiln::supervisor::{NoSupervisor, panic_message};
use kiln_rt::test::{self, BlockOnError, JoinTimeout, TestSupervisor};
use kiln_rt::timer::Timer;
use kiln_rt::{ActorOptions, FutureOptions, SyncActorOptions, ThreadLocal};

mod util;

use util::timeout::TIMEOUT;

/// A short wait, for things that must time out.
const SHORT: Duration = Duration::from_millis(20);

/// Sends on its channel when dropped.
struct DropReport(mpsc::Sender<&'static str>);

impl Drop for DropReport {
    fn drop(&mut self) {
        let _ = self.0.send("dropped");
    }
}

/// Runs `f`, which must panic, and returns the panic's message.
fn panic_of(f: impl FnOnce()) -> String {
    let panic = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    panic_message(&*panic).to_owned()
}

#[test]
fn block_on_local_future_runs_a_future_that_is_not_send_on_the_worker() {
    let output = test::block_on_local_future(
        |rt| async move {
            // Not `Send`, and uses the worker's timers.
            let count = Rc::new(Cell::new(0));
            Timer::after(rt.clone(), Duration::from_millis(5)).await;
            count.set(count.get() + 1);
            (count.get(), rt.worker_index(), thread::current().id())
        },
        TIMEOUT,
    );
    let (count, worker, thread) = output.expect("timed out");
    assert_eq!((count, worker), (1, 0));
    assert_ne!(thread, thread::current().id(), "ran on the test's thread");
}

#[test]
fn block_on_local_future_drops_a_future_that_times_out() {
    let (report, reports) = mpsc::channel();
    let start = Instant::now();
    let output = test::block_on_local_future(
        move |_| async move {
            let _report = DropReport(report);
            pending::<()>().await;
        },
        SHORT,
    );
    assert_eq!(output, None);
    assert!(start.elapsed() >= SHORT);
    // Cancelled on the worker once the wait gave up.
    assert_eq!(reports.recv_timeout(TIMEOUT), Ok("dropped"));
}

#[test]
fn block_on_local_future_raises_the_futures_panic_in_the_test() {
    let message = panic_of(|| {
        test::block_on_local_future(|_| async { panic!("panicked on the worker") }, TIMEOUT);
    });
    assert_eq!(message, "panicked on the worker");
}

/// Ends as `how` says after a timer; checks that no message comes.
async fn ends_as(
    mut ctx: actor::Context<u8, ThreadLocal>,
    how: &'static str,
) -> Result<(), String> {
    assert_eq!(ctx.receive_next().await, Err(NoMessages));
    Timer::after(ctx.runtime_ref().clone(), Duration::from_millis(1)).await;
    match how {
        "complete" => Ok(()),
        "fail" => Err("failed as told".to_owned()),
        "panic" => panic!("panicked as told"),
        _ => pending().await,
    }
}

#[test]
fn block_on_local_actor_says_how_the_actor_ended() {
    assert_eq!(
        test::block_on_local_actor(actor_fn(ends_as), "complete", TIMEOUT),
        Ok(())
    );
    let err = test::block_on_local_actor(actor_fn(ends_as), "fail", TIMEOUT).unwrap_err();
    assert_eq!(err, BlockOnError::Failed("failed as told".to_owned()));
    assert_eq!(err.to_string(), "the actor failed: failed as told");
    let err = test::block_on_local_actor(actor_fn(ends_as), "hang", SHORT).unwrap_err();
    assert_eq!(err, BlockOnError::TimedOut);
    assert_eq!(err.to_string(), "the actor did not finish in time");
    let message = panic_of(|| {
        let _ = test::block_on_local_actor(actor_fn(ends_as), "panic", TIMEOUT);
    });
    assert_eq!(message, "panicked as told");
}

/// Refuses to be created.
struct Refuses;

impl NewActor for Refuses {
    type Message = ();
    type Argument = ();
    type Actor = std::future::Ready<()>;
    type Error = &'static str;
    type RuntimeAccess = ThreadLocal;

    fn new(
        &mut self,
        _: actor::Context<(), ThreadLocal>,
        (): (),
    ) -> Result<Self::Actor, &'static str> {
        Err("not today")
    }
}

#[test]
fn block_on_local_actor_returns_the_error_of_new() {
    let err = test::block_on_local_actor(Refuses, (), TIMEOUT).unwrap_err();
    assert_eq!(err, BlockOnError::New("not today"));
    assert_eq!(err.to_string(), "can't create the actor: not today");
}

/// Stops on its first message: fails on `0`, completes otherwise.
async fn stops_on(mut ctx: actor::Context<u8, ThreadLocal>) -> Result<(), String> {
    match ctx.receive_next().await {
        Ok(0) => Err("zero".to_owned()),
        _ => Ok(()),
    }
}

#[test]
fn join_many_and_join_all_wait_for_every_actor() {
    let spawn = || {
        test::spawn_local(
            TestSupervisor,
            actor_fn(stops_on),
            (),
            ActorOptions::default(),
        )
    };
    let refs = [spawn(), spawn(), spawn()];
    assert_eq!(test::join_many(&refs, SHORT), Err(JoinTimeout));
    refs[0].try_send(1u8).unwrap();
    refs[1].try_send(0u8).unwrap();
    // One still runs: the one timeout covers them all.
    assert_eq!(test::join_many(&refs, SHORT), Err(JoinTimeout));
    refs[2].try_send(2u8).unwrap();
    assert_eq!(
        test::join_many(&refs, TIMEOUT),
        Ok(vec![
            ActorExit::Completed,
            ActorExit::Failed,
            ActorExit::Completed
        ])
    );
    let _ = test::take_failures();

    let group: ActorGroup<u8> = [spawn(), spawn()].into_iter().collect();
    assert_eq!(test::join_all(&group, SHORT), Err(JoinTimeout));
    assert_eq!(group.try_send_to_all(5u8), 2);
    assert_eq!(test::join_all(&group, TIMEOUT), Ok(()));
}

/// Spawns a future on the runtime for each number, which reports it.
fn forwarder(mut ctx: kiln::sync::Context<u32, kiln_rt::access::Sync>, out: mpsc::Sender<u32>) {
    while let Ok(n) = ctx.receive_next() {
        let out = out.clone();
        ctx.runtime().spawn_future(
            async move { out.send(n * 10).unwrap() },
            FutureOptions::default(),
        );
    }
}

#[test]
fn spawn_sync_actor_runs_it_on_its_own_thread_with_the_test_runtime() {
    let (out, got) = mpsc::channel();
    let options = SyncActorOptions::default().with_thread_name("test-forwarder");
    let (handle, actor_ref) =
        test::spawn_sync_actor(NoSupervisor, actor_fn(forwarder), out, options).unwrap();
    assert_eq!(handle.thread().name(), Some("test-forwarder"));
    actor_ref.try_send(4u32).unwrap();
    assert_eq!(got.recv_timeout(TIMEOUT), Ok(40));
    drop(actor_ref);
    assert_eq!(handle.join().unwrap(), ActorExit::Completed);
}

#[test]
fn kilns_helpers_are_reexported() {
    let (sender, receiver) = kiln::inbox::new(2);
    let mut ctx = actor::Context::new(receiver, ());
    sender.try_send(3u8).unwrap();
    let mut messages = pin!(ctx.receive_messages());
    assert_eq!(test::poll_next(messages.as_mut()), Poll::Ready(Some(3)));
    assert_eq!(test::poll_next(messages.as_mut()), Poll::Pending);
    assert_eq!(test::block_for(async { 1 }, SHORT), Some(1));
    let _: test::PanicSupervisor = test::PanicSupervisor;
}
