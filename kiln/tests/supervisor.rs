//! Supervisors: restarts that keep the inbox, panics (in actors and in their
//! `Drop`), closures, `StopSupervisor`, `NoSupervisor`, failed restarts, and
//! restarts being scheduled rather than run inline. `restart_supervisor!`
//! itself is covered in `restart_supervisor.rs`.

use std::any::Any;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{self, Poll};
use std::time::Duration;

use kiln::actor::{self, NoMessages};
use kiln::actor_ref::ActorExit;
use kiln::supervisor::{
    NoSupervisor, StopSupervisor, Supervisor, SupervisorStrategy, panic_message,
};
use kiln::sync::block_on;
use kiln::{ActorFuture, NewActor, actor_fn, restart_supervisor};

mod util;
use util::{Cmd, CountingWaker, Probe, lock, poll_once, run_to_exit, send_all, worker};

#[test]
fn restarted_actor_receives_the_queued_messages_in_order() {
    let probe = Probe::default();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let errors2 = Arc::clone(&errors);
    let probe2 = probe.clone();
    let supervisor = move |err: String| {
        lock(&errors2).push(err);
        SupervisorStrategy::Restart(probe2.clone())
    };
    let (future, actor_ref) = ActorFuture::new(supervisor, actor_fn(worker), probe.clone());
    send_all(
        &actor_ref,
        [
            Cmd::Record(1),
            Cmd::Fail,
            Cmd::Record(3),
            Cmd::Record(4),
            Cmd::Record(5),
            Cmd::Stop,
        ],
    );
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Completed);
    // Only the message being handled at the failure is lost.
    assert_eq!(probe.events(), ["1: 1", "2: 3", "2: 4", "2: 5"]);
    assert_eq!(probe.starts(), 2);
    assert_eq!(*lock(&errors), ["instance 1 failed"]);
}

restart_supervisor!(CloneSupervisor, Probe);
restart_supervisor!(LimitedSupervisor, Probe, 2, Duration::from_secs(60));

#[test]
fn panicking_actor_is_caught_and_restarted() {
    let probe = Probe::default();
    let (future, actor_ref) = ActorFuture::new(
        CloneSupervisor::new(probe.clone()),
        actor_fn(worker),
        probe.clone(),
    );
    send_all(
        &actor_ref,
        [
            Cmd::Record(1),
            Cmd::Panic,
            Cmd::Record(3),
            Cmd::Panic,
            Cmd::Record(5),
            Cmd::Stop,
        ],
    );
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Completed);
    assert_eq!(probe.events(), ["1: 1", "2: 3", "3: 5"]);
}

/// A supervisor that restarts after panics and records their messages.
struct PanicRecorder {
    probe: Probe,
    messages: Arc<Mutex<Vec<String>>>,
}

impl<NA> Supervisor<NA> for PanicRecorder
where
    NA: NewActor<Argument = Probe, Error = std::convert::Infallible>,
    NA::Actor: kiln::Actor<Error = String>,
{
    fn decide(&mut self, error: String) -> SupervisorStrategy<Probe> {
        lock(&self.messages).push(format!("error: {error}"));
        SupervisorStrategy::Stop
    }

    fn decide_on_restart_error(
        &mut self,
        error: std::convert::Infallible,
    ) -> SupervisorStrategy<Probe> {
        match error {}
    }

    fn second_restart_error(&mut self, error: std::convert::Infallible) {
        match error {}
    }

    fn decide_on_panic(
        &mut self,
        panic: Box<dyn Any + Send + 'static>,
    ) -> SupervisorStrategy<Probe> {
        lock(&self.messages).push(format!("panic: {}", panic_message(&*panic)));
        SupervisorStrategy::Restart(self.probe.clone())
    }
}

#[test]
fn supervisor_gets_the_panic_payload() {
    let probe = Probe::default();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let supervisor = PanicRecorder {
        probe: probe.clone(),
        messages: Arc::clone(&messages),
    };
    let (future, actor_ref) = ActorFuture::new(supervisor, actor_fn(worker), probe.clone());
    send_all(
        &actor_ref,
        [Cmd::Panic, Cmd::Record(2), Cmd::Fail, Cmd::Record(4)],
    );
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);
    assert_eq!(
        *lock(&messages),
        ["panic: instance 1 panicked", "error: instance 2 failed"]
    );
    assert_eq!(probe.events(), ["2: 2"]);
}

#[test]
fn panic_message_reads_str_and_string_payloads() {
    let payload: Box<dyn Any + Send> = Box::new("static str");
    assert_eq!(panic_message(&*payload), "static str");
    let payload: Box<dyn Any + Send> = Box::new(String::from("owned string"));
    assert_eq!(panic_message(&*payload), "owned string");
    let payload: Box<dyn Any + Send> = Box::new(42u32);
    assert_eq!(panic_message(&*payload), "<non-string panic payload>");
}

/// Panics when dropped (after recording it), unless already panicking.
struct PanicOnDrop {
    probe: Probe,
    name: String,
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.probe.record(format!("{} dropped", self.name));
        if !std::thread::panicking() {
            panic!("{} panicked in Drop", self.name);
        }
    }
}

/// A worker holding a `PanicOnDrop`: it panics in `Drop` as the actor returns.
async fn holds_panic_on_drop(mut ctx: actor::Context<Cmd>, probe: Probe) -> Result<(), String> {
    let instance = probe.start();
    let _guard = PanicOnDrop {
        probe: probe.clone(),
        name: format!("guard {instance}"),
    };
    while let Ok(cmd) = ctx.receive_next().await {
        match cmd {
            Cmd::Record(n) => probe.record(format!("{instance}: {n}")),
            Cmd::Fail => return Err(format!("instance {instance} failed")),
            Cmd::Panic => panic!("instance {instance} panicked"),
            Cmd::Stop => return Ok(()),
        }
    }
    Ok(())
}

#[test]
fn panic_in_drop_of_an_actors_value_is_a_caught_panic() {
    // The value is dropped as the actor returns, inside its poll: the
    // supervisor sees a panic, and the thread running the actor goes on.
    let probe = Probe::default();
    let (future, actor_ref) = ActorFuture::new(
        LimitedSupervisor::new(probe.clone()),
        actor_fn(holds_panic_on_drop),
        probe.clone(),
    );
    send_all(
        &actor_ref,
        [
            Cmd::Record(1),
            Cmd::Fail,
            Cmd::Record(3),
            Cmd::Stop,
            Cmd::Fail,
        ],
    );
    // Every instance panics in `Drop` as it returns, whether it failed or
    // completed; the third panic finds no restart left.
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Panicked);
    assert_eq!(
        probe.events(),
        [
            "1: 1",
            "guard 1 dropped",
            "2: 3",
            "guard 2 dropped",
            "guard 3 dropped"
        ]
    );
    assert_eq!(probe.starts(), 3);
}

/// A hand-written actor that panics in its own `Drop`.
struct Fragile {
    ctx: actor::Context<Cmd>,
    probe: Probe,
    instance: usize,
}

impl Future for Fragile {
    type Output = Result<(), String>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.ctx.receive_next()).poll(cx) {
                Poll::Ready(Ok(Cmd::Record(n))) => {
                    this.probe.record(format!("{}: {n}", this.instance));
                }
                Poll::Ready(Ok(Cmd::Fail)) => {
                    return Poll::Ready(Err(format!("instance {} failed", this.instance)));
                }
                Poll::Ready(Ok(Cmd::Panic)) => panic!("instance {} panicked", this.instance),
                Poll::Ready(Ok(Cmd::Stop) | Err(NoMessages)) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for Fragile {
    fn drop(&mut self) {
        self.probe.record(format!("{} dropped", self.instance));
        panic!("instance {} panicked in Drop", self.instance);
    }
}

struct NewFragile;

impl NewActor for NewFragile {
    type Message = Cmd;
    type Argument = Probe;
    type Actor = Fragile;
    type Error = std::convert::Infallible;
    type RuntimeAccess = ();

    fn new(
        &mut self,
        ctx: actor::Context<Cmd>,
        probe: Probe,
    ) -> Result<Fragile, std::convert::Infallible> {
        let instance = probe.start();
        Ok(Fragile {
            ctx,
            probe,
            instance,
        })
    }
}

#[test]
fn panic_in_an_actors_drop_does_not_stop_the_restart() {
    let probe = Probe::default();
    let probe2 = probe.clone();
    let restarts = Arc::new(AtomicUsize::new(0));
    let restarts2 = Arc::clone(&restarts);
    let supervisor = move |_: String| {
        if restarts2.fetch_add(1, Ordering::SeqCst) < 1 {
            SupervisorStrategy::Restart(probe2.clone())
        } else {
            SupervisorStrategy::Stop
        }
    };
    let (future, actor_ref) = ActorFuture::new(supervisor, NewFragile, probe.clone());
    send_all(
        &actor_ref,
        [
            Cmd::Record(1),
            Cmd::Fail,
            Cmd::Record(3),
            Cmd::Fail,
            Cmd::Record(5),
        ],
    );
    // Dropping the failed instance panics, on restart and on stop alike;
    // neither panic escapes the future.
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);
    assert_eq!(probe.events(), ["1: 1", "1 dropped", "2: 3", "2 dropped"]);
    assert_eq!(probe.starts(), 2);
    assert!(!actor_ref.is_connected());
}

#[test]
fn actor_panicking_in_drop_does_not_disturb_other_actors_on_the_thread() {
    let fragile_probe = Probe::default();
    let (fragile, fragile_ref) =
        ActorFuture::new(StopSupervisor, NewFragile, fragile_probe.clone());
    let probe = Probe::default();
    let (other, other_ref) = ActorFuture::new(StopSupervisor, actor_fn(worker), probe.clone());
    let mut fragile = pin!(fragile);
    let mut other = pin!(other);

    send_all(&fragile_ref, [Cmd::Fail]);
    send_all(&other_ref, [Cmd::Record(1)]);
    assert!(poll_once(fragile.as_mut()).is_ready());
    assert!(poll_once(other.as_mut()).is_pending());
    send_all(&other_ref, [Cmd::Record(2), Cmd::Stop]);
    assert!(poll_once(other.as_mut()).is_ready());

    assert_eq!(block_on(fragile_ref.join()), ActorExit::Failed);
    assert_eq!(fragile_probe.events(), ["1 dropped"]);
    assert_eq!(block_on(other_ref.join()), ActorExit::Completed);
    assert_eq!(probe.events(), ["1: 1", "1: 2"]);
}

#[test]
fn closure_supervisor_decides_on_each_error() {
    let probe = Probe::default();
    let probe2 = probe.clone();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let errors2 = Arc::clone(&errors);
    let supervisor = move |err: String| {
        let mut errors = lock(&errors2);
        errors.push(err);
        if errors.len() <= 2 {
            SupervisorStrategy::Restart(probe2.clone())
        } else {
            SupervisorStrategy::Stop
        }
    };
    let (future, actor_ref) = ActorFuture::new(supervisor, actor_fn(worker), probe.clone());
    send_all(
        &actor_ref,
        [Cmd::Fail, Cmd::Fail, Cmd::Fail, Cmd::Record(4)],
    );
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);
    assert_eq!(
        *lock(&errors),
        [
            "instance 1 failed",
            "instance 2 failed",
            "instance 3 failed"
        ]
    );
    assert_eq!(probe.starts(), 3);
    assert!(probe.events().is_empty());
}

#[test]
fn closure_supervisor_stops_a_panicking_actor() {
    let probe = Probe::default();
    let probe2 = probe.clone();
    let supervisor = move |_: String| SupervisorStrategy::Restart(probe2.clone());
    let (future, actor_ref) = ActorFuture::new(supervisor, actor_fn(worker), probe.clone());
    send_all(&actor_ref, [Cmd::Panic, Cmd::Record(2)]);
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Panicked);
    assert_eq!(probe.starts(), 1);
}

#[test]
fn stop_supervisor_stops_on_error_and_on_panic() {
    for (cmd, exit) in [
        (Cmd::Fail, ActorExit::Failed),
        (Cmd::Panic, ActorExit::Panicked),
    ] {
        let probe = Probe::default();
        let (future, actor_ref) = ActorFuture::new(StopSupervisor, actor_fn(worker), probe.clone());
        send_all(&actor_ref, [Cmd::Record(1), cmd, Cmd::Record(3)]);
        assert_eq!(run_to_exit(future, &actor_ref), exit);
        assert_eq!(probe.starts(), 1);
        assert_eq!(probe.events(), ["1: 1"]);
    }
}

/// Can't fail: only a panic stops it.
async fn infallible_worker(mut ctx: actor::Context<Cmd>, probe: Probe) {
    let instance = probe.start();
    while let Ok(cmd) = ctx.receive_next().await {
        match cmd {
            Cmd::Record(n) => probe.record(format!("{instance}: {n}")),
            Cmd::Panic | Cmd::Fail => panic!("instance {instance} panicked"),
            Cmd::Stop => return,
        }
    }
}

#[test]
fn no_supervisor_stops_a_panicking_actor() {
    let probe = Probe::default();
    let (future, actor_ref) =
        ActorFuture::new(NoSupervisor, actor_fn(infallible_worker), probe.clone());
    send_all(&actor_ref, [Cmd::Record(1), Cmd::Panic, Cmd::Record(3)]);
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Panicked);
    assert_eq!(probe.events(), ["1: 1"]);
    assert_eq!(probe.starts(), 1);
}

#[test]
fn supervisor_strategy_compares_and_prints() {
    assert_eq!(
        SupervisorStrategy::Restart(1),
        SupervisorStrategy::Restart(1)
    );
    assert_ne!(SupervisorStrategy::Restart(1), SupervisorStrategy::Stop);
    assert_eq!(
        format!("{:?}", SupervisorStrategy::Restart("arg")),
        r#"Restart("arg")"#
    );
    assert_eq!(format!("{:?}", SupervisorStrategy::<()>::Stop), "Stop");
}

/// A `NewActor` whose `new` fails while `failures` is above zero.
struct FlakyNew {
    failures: Arc<AtomicUsize>,
    creations: Arc<AtomicUsize>,
}

type BoxedActor = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

impl NewActor for FlakyNew {
    type Message = Cmd;
    type Argument = Probe;
    type Actor = BoxedActor;
    type Error = String;
    type RuntimeAccess = ();

    fn new(&mut self, ctx: actor::Context<Cmd>, probe: Probe) -> Result<BoxedActor, String> {
        let creation = self.creations.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            Err(format!("creation {creation} failed"))
        } else {
            Ok(Box::pin(worker(ctx, probe)))
        }
    }

    fn name() -> &'static str {
        "flaky"
    }
}

/// A `FlakyNew`, and the handle that makes its next `new` calls fail.
fn flaky() -> (FlakyNew, Arc<AtomicUsize>) {
    let failures = Arc::new(AtomicUsize::new(0));
    let new_actor = FlakyNew {
        failures: Arc::clone(&failures),
        creations: Arc::new(AtomicUsize::new(0)),
    };
    (new_actor, failures)
}

/// Records every call; restarts after errors, and after a failed restart if
/// `restart_after_restart_error`.
struct RecordingSupervisor {
    probe: Probe,
    restart_after_restart_error: bool,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Supervisor<FlakyNew> for RecordingSupervisor {
    fn decide(&mut self, error: String) -> SupervisorStrategy<Probe> {
        lock(&self.calls).push(format!("decide: {error}"));
        SupervisorStrategy::Restart(self.probe.clone())
    }

    fn decide_on_restart_error(&mut self, error: String) -> SupervisorStrategy<Probe> {
        lock(&self.calls).push(format!("restart error: {error}"));
        if self.restart_after_restart_error {
            SupervisorStrategy::Restart(self.probe.clone())
        } else {
            SupervisorStrategy::Stop
        }
    }

    fn second_restart_error(&mut self, error: String) {
        lock(&self.calls).push(format!("second restart error: {error}"));
    }
}

/// Runs a `FlakyNew` actor under a `RecordingSupervisor`: it handles
/// `Record(1)`, then fails with `new_failures` failing creations to follow;
/// `Record(3)` and `Stop` are queued. Returns the exit, the supervisor's
/// calls and the events.
fn run_flaky(
    new_failures: usize,
    restart_after_restart_error: bool,
) -> (ActorExit, Vec<String>, Vec<String>) {
    let probe = Probe::default();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let supervisor = RecordingSupervisor {
        probe: probe.clone(),
        restart_after_restart_error,
        calls: Arc::clone(&calls),
    };
    let (new_actor, failures) = flaky();
    let (future, actor_ref) = ActorFuture::try_new(supervisor, new_actor, probe.clone()).unwrap();
    failures.store(new_failures, Ordering::SeqCst);
    send_all(
        &actor_ref,
        [Cmd::Record(1), Cmd::Fail, Cmd::Record(3), Cmd::Stop],
    );
    let exit = run_to_exit(future, &actor_ref);
    let calls = lock(&calls).clone();
    (exit, calls, probe.events())
}

#[test]
fn failed_restart_is_retried_once_then_stops() {
    let (exit, calls, events) = run_flaky(2, true);
    assert_eq!(exit, ActorExit::Failed);
    assert_eq!(
        calls,
        [
            "decide: instance 1 failed",
            "restart error: creation 2 failed",
            "second restart error: creation 3 failed",
        ]
    );
    assert_eq!(events, ["1: 1"]);
}

#[test]
fn failed_restart_that_succeeds_on_retry_keeps_the_inbox() {
    let (exit, calls, events) = run_flaky(1, true);
    assert_eq!(exit, ActorExit::Completed);
    assert_eq!(
        calls,
        [
            "decide: instance 1 failed",
            "restart error: creation 2 failed"
        ]
    );
    assert_eq!(events, ["1: 1", "2: 3"]);
}

#[test]
fn failed_restart_stops_when_the_supervisor_says_so() {
    let (exit, calls, events) = run_flaky(5, false);
    assert_eq!(exit, ActorExit::Failed);
    assert_eq!(
        calls,
        [
            "decide: instance 1 failed",
            "restart error: creation 2 failed"
        ]
    );
    assert_eq!(events, ["1: 1"]);
}

#[test]
fn failing_first_creation_is_returned_by_new() {
    let (new_actor, failures) = flaky();
    failures.store(1, Ordering::SeqCst);
    let result = ActorFuture::try_new(StopSupervisor, new_actor, Probe::default());
    assert_eq!(result.err(), Some("creation 1 failed".to_owned()));
}

#[test]
fn stop_and_closure_supervisors_stop_on_a_failed_restart() {
    // `StopSupervisor` does not restart at all.
    let (new_actor, failures) = flaky();
    let (future, actor_ref) =
        ActorFuture::try_new(StopSupervisor, new_actor, Probe::default()).unwrap();
    failures.store(1, Ordering::SeqCst);
    send_all(&actor_ref, [Cmd::Fail]);
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);

    // A closure restarts on errors but stops when the restart fails.
    let probe = Probe::default();
    let probe2 = probe.clone();
    let (new_actor, failures) = flaky();
    let creations = Arc::clone(&new_actor.creations);
    let supervisor = move |_: String| SupervisorStrategy::Restart(probe2.clone());
    let (future, actor_ref) = ActorFuture::try_new(supervisor, new_actor, probe.clone()).unwrap();
    failures.store(1, Ordering::SeqCst);
    send_all(&actor_ref, [Cmd::Fail, Cmd::Record(2)]);
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);
    assert_eq!(creations.load(Ordering::SeqCst), 2);
    assert!(probe.events().is_empty());
}

#[test]
fn restart_supervisor_counts_failed_restarts_against_its_limit() {
    let probe = Probe::default();
    let (new_actor, failures) = flaky();
    let creations = Arc::clone(&new_actor.creations);
    let (future, actor_ref) = ActorFuture::try_new(
        LimitedSupervisor::new(probe.clone()),
        new_actor,
        probe.clone(),
    )
    .unwrap();
    // Restart 1 fails to create, restart 2 succeeds; the next error finds
    // no restart left.
    failures.store(1, Ordering::SeqCst);
    send_all(
        &actor_ref,
        [Cmd::Fail, Cmd::Record(2), Cmd::Fail, Cmd::Record(4)],
    );
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);
    assert_eq!(creations.load(Ordering::SeqCst), 3);
    assert_eq!(probe.events(), ["2: 2"]);

    // Two failed creations in a row stop the actor, even with restarts left.
    let probe = Probe::default();
    let (new_actor, failures) = flaky();
    let (future, actor_ref) = ActorFuture::try_new(
        CloneSupervisor::new(probe.clone()),
        new_actor,
        probe.clone(),
    )
    .unwrap();
    failures.store(2, Ordering::SeqCst);
    send_all(&actor_ref, [Cmd::Fail, Cmd::Record(2)]);
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);
    assert!(probe.events().is_empty());
}

/// Fails as soon as it starts.
async fn fails_at_once(_: actor::Context<Cmd>, probe: Probe) -> Result<(), String> {
    let instance = probe.start();
    Err(format!("instance {instance} failed"))
}

#[test]
fn restart_is_scheduled_not_run_inline() {
    const RESTARTS: usize = 100;
    let probe = Probe::default();
    let probe2 = probe.clone();
    let decisions = Arc::new(AtomicUsize::new(0));
    let decisions2 = Arc::clone(&decisions);
    let supervisor = move |_: String| {
        if decisions2.fetch_add(1, Ordering::SeqCst) < RESTARTS {
            SupervisorStrategy::Restart(probe2.clone())
        } else {
            SupervisorStrategy::Stop
        }
    };
    let (future, actor_ref) = ActorFuture::new(supervisor, actor_fn(fails_at_once), probe.clone());
    let mut future = pin!(future);
    let (wakes, waker) = CountingWaker::new();
    let mut cx = task::Context::from_waker(&waker);

    // Each poll runs the actor once: it fails, the restart is created, the
    // future wakes itself and gives the executor back.
    for i in 1..=RESTARTS {
        assert!(future.as_mut().poll(&mut cx).is_pending(), "poll {i}");
        assert_eq!(probe.starts(), i);
        assert_eq!(wakes.count(), i);
    }
    assert!(future.as_mut().poll(&mut cx).is_ready());
    assert_eq!(probe.starts(), RESTARTS + 1);
    assert_eq!(wakes.count(), RESTARTS);
    assert_eq!(block_on(actor_ref.join()), ActorExit::Failed);
}

#[test]
fn restarted_actor_first_runs_on_the_next_poll() {
    let probe = Probe::default();
    let (future, actor_ref) = ActorFuture::new(
        CloneSupervisor::new(probe.clone()),
        actor_fn(worker),
        probe.clone(),
    );
    let mut future = pin!(future);
    let (wakes, waker) = CountingWaker::new();
    let mut cx = task::Context::from_waker(&waker);
    send_all(&actor_ref, [Cmd::Record(1), Cmd::Fail, Cmd::Record(3)]);

    assert!(future.as_mut().poll(&mut cx).is_pending());
    assert_eq!(wakes.count(), 1);
    assert_eq!(probe.events(), ["1: 1"]);
    // Created, not run yet.
    assert_eq!(probe.starts(), 1);

    assert!(future.as_mut().poll(&mut cx).is_pending());
    assert_eq!(probe.events(), ["1: 1", "2: 3"]);
    assert_eq!(probe.starts(), 2);
    // Waiting for a message now: no self-wake.
    assert_eq!(wakes.count(), 1);
}

#[test]
fn restarted_actor_drains_the_inbox_after_every_reference_is_gone() {
    let probe = Probe::default();
    let (future, actor_ref) = ActorFuture::new(
        CloneSupervisor::new(probe.clone()),
        actor_fn(worker),
        probe.clone(),
    );
    send_all(
        &actor_ref,
        [
            Cmd::Record(1),
            Cmd::Fail,
            Cmd::Record(3),
            Cmd::Record(4),
            Cmd::Record(5),
        ],
    );
    drop(actor_ref);
    // The restarted actor gets the queued messages, then `NoMessages`.
    block_on(future);
    assert_eq!(probe.events(), ["1: 1", "2: 3", "2: 4", "2: 5"]);
    assert_eq!(probe.starts(), 2);
}

#[test]
fn waiting_sender_survives_a_restart() {
    let probe = Probe::default();
    let (future, actor_ref) = kiln::future::ActorFutureBuilder::new()
        .with_inbox_size(kiln::InboxSize::ONE)
        .build(
            CloneSupervisor::new(probe.clone()),
            actor_fn(worker),
            probe.clone(),
        );
    let mut future = pin!(future);
    send_all(&actor_ref, [Cmd::Fail]);
    let (wakes, waker) = CountingWaker::new();
    let mut send = pin!(actor_ref.send(Cmd::Record(2)));
    assert!(
        send.as_mut()
            .poll(&mut task::Context::from_waker(&waker))
            .is_pending()
    );

    // The actor takes `Fail` (making room) and fails; the restart is scheduled.
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(wakes.count(), 1);
    assert!(matches!(
        send.as_mut().poll(&mut task::Context::from_waker(&waker)),
        Poll::Ready(Ok(()))
    ));
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(probe.events(), ["2: 2"]);
}

/// Stores its context elsewhere, then fails: its inbox cannot be handed to
/// a restarted actor.
async fn keeps_its_context(
    ctx: actor::Context<Cmd>,
    stash: Arc<Mutex<Option<actor::Context<Cmd>>>>,
) -> Result<(), String> {
    *lock(&stash) = Some(ctx);
    Err("failed after stashing its context".to_owned())
}

#[test]
fn restart_without_the_inbox_stops_the_actor_as_failed() {
    let stash = Arc::new(Mutex::new(None));
    let stash2 = Arc::clone(&stash);
    let supervisor = move |_: String| SupervisorStrategy::Restart(Arc::clone(&stash2));
    let (future, actor_ref) =
        ActorFuture::new(supervisor, actor_fn(keeps_its_context), Arc::clone(&stash));
    let mut future = pin!(future);
    let mut join = pin!(actor_ref.join());
    assert!(poll_once(future.as_mut()).is_pending());
    assert!(poll_once(future.as_mut()).is_ready());
    // The stashed context still holds the inbox open ...
    assert!(poll_once(join.as_mut()).is_pending());
    // ... until it is dropped.
    drop(lock(&stash).take());
    assert_eq!(poll_once(join.as_mut()), Poll::Ready(ActorExit::Failed));
}
