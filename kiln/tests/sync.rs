//! Synchronous actors: receiving, restarts in the same thread with the same
//! inbox, panics, `block_on` (e.g. an RPC to an asynchronous actor), named
//! threads, and their supervisors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::{self, ThreadId};
use std::time::Duration;

use kiln::InboxSize;
use kiln::actor::{self, NoMessages, RecvError};
use kiln::actor_ref::RpcMessage;
use kiln::actor_ref::{ActorExit, SendError};
use kiln::supervisor::{NoSupervisor, StopSupervisor, SupervisorStrategy};
use kiln::sync::{self, SyncActorRunner, SyncActorRunnerBuilder, block_on};
use kiln::{ActorFuture, ActorRef, SyncActor, actor_fn, restart_supervisor};

/// Records every result of `receive_next`, up to and including the first
/// error.
fn receive_all(mut ctx: sync::Context<u32>, out: mpsc::Sender<Result<u32, NoMessages>>) {
    loop {
        let result = ctx.receive_next();
        out.send(result).unwrap();
        if result.is_err() {
            return;
        }
    }
}

#[test]
fn sync_actor_receives_in_order_until_no_reference_is_left() {
    let (runner, actor_ref) = SyncActorRunner::new(NoSupervisor, actor_fn(receive_all));
    for n in 1..=5u32 {
        actor_ref.try_send(n).unwrap();
    }
    drop(actor_ref);
    let (out, results) = mpsc::channel();
    assert_eq!(runner.run(out), ActorExit::Completed);
    assert_eq!(
        results.try_iter().collect::<Vec<_>>(),
        [Ok(1), Ok(2), Ok(3), Ok(4), Ok(5), Err(NoMessages)]
    );
}

#[test]
fn sync_actor_on_its_own_thread_gets_every_message_under_backpressure() {
    const MESSAGES: u32 = 1_000;
    let (out, results) = mpsc::channel();
    let (thread, actor_ref) = SyncActorRunnerBuilder::new()
        .with_inbox_size(InboxSize::ONE)
        .spawn(NoSupervisor, actor_fn(receive_all), out)
        .unwrap();
    for n in 0..MESSAGES {
        block_on(actor_ref.send(n)).unwrap();
    }
    drop(actor_ref);
    assert_eq!(thread.join().unwrap(), ActorExit::Completed);
    let mut expected: Vec<_> = (0..MESSAGES).map(Ok).collect();
    expected.push(Err(NoMessages));
    assert_eq!(results.try_iter().collect::<Vec<_>>(), expected);
}

#[derive(Debug)]
enum Cmd {
    Record(u32),
    Fail,
    Panic,
    Stop,
}

/// Shared record of what the synchronous test actors did.
#[derive(Clone, Default)]
struct Probe {
    starts: Arc<AtomicUsize>,
    threads: Arc<Mutex<Vec<ThreadId>>>,
    events: Arc<Mutex<Vec<String>>>,
}

impl Probe {
    fn start(&self) -> usize {
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(thread::current().id());
        self.starts.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn starts(&self) -> usize {
        self.starts.load(Ordering::SeqCst)
    }

    fn record(&self, event: String) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    fn events(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn threads(&self) -> Vec<ThreadId> {
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Records `"instance: n"` for `Record(n)`; fails, panics or stops as told.
fn sync_worker(mut ctx: sync::Context<Cmd>, probe: Probe) -> Result<(), String> {
    let instance = probe.start();
    while let Ok(cmd) = ctx.receive_next() {
        match cmd {
            Cmd::Record(n) => probe.record(format!("{instance}: {n}")),
            Cmd::Fail => return Err(format!("instance {instance} failed")),
            Cmd::Panic => panic!("instance {instance} panicked"),
            Cmd::Stop => return Ok(()),
        }
    }
    Ok(())
}

fn send_all(actor_ref: &ActorRef<Cmd>, cmds: impl IntoIterator<Item = Cmd>) {
    for cmd in cmds {
        actor_ref
            .try_send(cmd)
            .unwrap_or_else(|err| panic!("can't send: {err}"));
    }
}

#[test]
fn sync_actor_restarts_in_the_same_thread_with_its_queued_messages() {
    let probe = Probe::default();
    let probe2 = probe.clone();
    let supervisor = move |_: String| SupervisorStrategy::Restart(probe2.clone());
    let (runner, actor_ref) = SyncActorRunner::new(supervisor, actor_fn(sync_worker));
    send_all(
        &actor_ref,
        [
            Cmd::Record(1),
            Cmd::Fail,
            Cmd::Record(3),
            Cmd::Panic,
            Cmd::Record(5),
            Cmd::Stop,
        ],
    );
    let probe3 = probe.clone();
    let thread = thread::spawn(move || (thread::current().id(), runner.run(probe3)));
    let (thread_id, exit) = thread.join().unwrap();

    // The panic stops it: a closure supervisor does not restart after panics.
    assert_eq!(exit, ActorExit::Panicked);
    assert_eq!(probe.events(), ["1: 1", "2: 3"]);
    assert_eq!(probe.threads(), [thread_id, thread_id]);
    assert_eq!(block_on(actor_ref.join()), ActorExit::Panicked);
}

restart_supervisor!(SyncRestarter, Probe, 3, Duration::from_secs(60));

#[test]
fn restart_supervisor_restarts_sync_actors_after_errors_and_panics() {
    let probe = Probe::default();
    let (thread, actor_ref) = SyncActorRunnerBuilder::new()
        .spawn(
            SyncRestarter::new(probe.clone()),
            actor_fn(sync_worker),
            probe.clone(),
        )
        .unwrap();
    send_all(
        &actor_ref,
        [
            Cmd::Record(1),
            Cmd::Fail,
            Cmd::Record(2),
            Cmd::Panic,
            Cmd::Record(3),
            Cmd::Fail,
            Cmd::Record(4),
            Cmd::Fail,
        ],
    );
    // The fourth failure finds no restart left.
    assert_eq!(thread.join().unwrap(), ActorExit::Failed);
    assert_eq!(probe.events(), ["1: 1", "2: 2", "3: 3", "4: 4"]);
    assert_eq!(probe.starts(), 4);
    let threads = probe.threads();
    assert!(threads.iter().all(|id| *id == threads[0]));
    assert_ne!(threads[0], thread::current().id());
}

#[test]
fn sync_closure_supervisor_decides_on_each_error() {
    let probe = Probe::default();
    let probe2 = probe.clone();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let errors2 = Arc::clone(&errors);
    let supervisor = move |err: String| {
        let mut errors = errors2.lock().unwrap();
        errors.push(err);
        if errors.len() < 2 {
            SupervisorStrategy::Restart(probe2.clone())
        } else {
            SupervisorStrategy::Stop
        }
    };
    let (runner, actor_ref) = SyncActorRunner::new(supervisor, actor_fn(sync_worker));
    send_all(&actor_ref, [Cmd::Fail, Cmd::Fail, Cmd::Record(3)]);
    assert_eq!(runner.run(probe.clone()), ActorExit::Failed);
    assert_eq!(
        *errors.lock().unwrap(),
        ["instance 1 failed", "instance 2 failed"]
    );
    assert_eq!(probe.starts(), 2);
}

#[test]
fn stop_supervisor_stops_sync_actors() {
    for (cmd, exit) in [
        (Cmd::Fail, ActorExit::Failed),
        (Cmd::Panic, ActorExit::Panicked),
    ] {
        let probe = Probe::default();
        let (runner, actor_ref) = SyncActorRunner::new(StopSupervisor, actor_fn(sync_worker));
        send_all(&actor_ref, [Cmd::Record(1), cmd, Cmd::Record(3)]);
        assert_eq!(runner.run(probe.clone()), exit);
        assert_eq!(probe.events(), ["1: 1"]);
        assert_eq!(block_on(actor_ref.join()), exit);
        assert_eq!(
            actor_ref
                .try_send(Cmd::Stop)
                .map_err(|err| err.is_disconnected()),
            Err(true)
        );
    }
}

/// Cannot fail; panics on `Panic`.
fn infallible_sync_worker(mut ctx: sync::Context<Cmd>, probe: Probe) {
    let instance = probe.start();
    while let Ok(cmd) = ctx.receive_next() {
        match cmd {
            Cmd::Record(n) => probe.record(format!("{instance}: {n}")),
            Cmd::Panic | Cmd::Fail => panic!("instance {instance} panicked"),
            Cmd::Stop => return,
        }
    }
}

#[test]
fn panicking_sync_actor_ends_with_panicked() {
    let probe = Probe::default();
    let (runner, actor_ref) = SyncActorRunner::new(NoSupervisor, actor_fn(infallible_sync_worker));
    send_all(&actor_ref, [Cmd::Record(1), Cmd::Panic, Cmd::Record(3)]);
    assert_eq!(runner.run(probe.clone()), ActorExit::Panicked);
    assert_eq!(probe.events(), ["1: 1"]);
    assert_eq!(block_on(actor_ref.join()), ActorExit::Panicked);
}

/// Adds each request to a running total and answers with it.
async fn adder(mut ctx: actor::Context<RpcMessage<u64, u64>>) {
    let mut total = 0;
    while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
        total += request;
        let _ = response.respond(total);
    }
}

/// Forwards each number to the adder with an RPC, blocking on the answer.
fn rpc_caller(
    mut ctx: sync::Context<u64>,
    adder: ActorRef<RpcMessage<u64, u64>>,
    out: mpsc::Sender<u64>,
) {
    while let Ok(n) = ctx.receive_next() {
        let total = ctx.block_on(adder.rpc(n)).unwrap();
        out.send(total).unwrap();
    }
}

#[test]
fn sync_actor_blocks_on_an_rpc_to_an_async_actor() {
    let (future, adder_ref) = ActorFuture::new(NoSupervisor, actor_fn(adder), ());
    let adder_thread = thread::spawn(move || block_on(future));
    let (out, totals) = mpsc::channel();
    let (caller_thread, caller_ref) = SyncActorRunnerBuilder::new()
        .spawn(NoSupervisor, actor_fn(rpc_caller), (adder_ref, out))
        .unwrap();
    for n in [1u64, 2, 3, 4] {
        caller_ref.try_send(n).unwrap();
    }
    drop(caller_ref);
    assert_eq!(caller_thread.join().unwrap(), ActorExit::Completed);
    // The caller held the last reference to the adder, so it stops too.
    adder_thread.join().unwrap();
    assert_eq!(totals.try_iter().collect::<Vec<_>>(), [1, 3, 6, 10]);
}

/// Reports the name of its thread.
fn name_reporter(_: sync::Context<()>, out: mpsc::Sender<Option<String>>) {
    out.send(thread::current().name().map(str::to_owned))
        .unwrap();
}

#[test]
fn spawn_names_the_thread() {
    let (out, names) = mpsc::channel();
    let (thread, _actor_ref) = SyncActorRunnerBuilder::new()
        .with_thread_name("kiln test thread")
        .spawn(NoSupervisor, actor_fn(name_reporter), out.clone())
        .unwrap();
    assert_eq!(thread.thread().name(), Some("kiln test thread"));
    assert_eq!(thread.join().unwrap(), ActorExit::Completed);

    // By default the thread is named after the actor.
    let (thread, _actor_ref) = SyncActorRunnerBuilder::new()
        .spawn(NoSupervisor, actor_fn(name_reporter), out)
        .unwrap();
    assert_eq!(thread.join().unwrap(), ActorExit::Completed);
    assert_eq!(
        names.try_iter().collect::<Vec<_>>(),
        [
            Some("kiln test thread".to_owned()),
            Some("name_reporter".to_owned())
        ]
    );
}

/// Reports `try_receive_next` each time the test says `go`.
fn try_receiver(
    mut ctx: sync::Context<u32>,
    go: mpsc::Receiver<()>,
    out: mpsc::Sender<Result<u32, RecvError>>,
) {
    while go.recv().is_ok() {
        let result = ctx.try_receive_next();
        out.send(result).unwrap();
        if result == Err(RecvError::Disconnected) {
            return;
        }
    }
}

#[test]
fn sync_try_receive_next_reports_empty_and_disconnected() {
    let (go, go_receiver) = mpsc::channel();
    let (out, results) = mpsc::channel();
    let (thread, actor_ref) = SyncActorRunnerBuilder::new()
        .spawn(NoSupervisor, actor_fn(try_receiver), (go_receiver, out))
        .unwrap();
    go.send(()).unwrap();
    assert_eq!(results.recv(), Ok(Err(RecvError::Empty)));
    actor_ref.try_send(7u32).unwrap();
    go.send(()).unwrap();
    assert_eq!(results.recv(), Ok(Ok(7)));
    drop(actor_ref);
    go.send(()).unwrap();
    assert_eq!(results.recv(), Ok(Err(RecvError::Disconnected)));
    assert_eq!(thread.join().unwrap(), ActorExit::Completed);
}

/// Uses its runtime access and its own reference.
fn context_user(mut ctx: sync::Context<u32, Vec<u32>>, out: mpsc::Sender<Vec<u32>>) {
    let me = ctx.actor_ref();
    me.try_send(1u32).unwrap();
    me.try_send(2u32).unwrap();
    drop(me);
    while let Ok(n) = ctx.receive_next() {
        ctx.runtime().push(n);
    }
    out.send(ctx.runtime_ref().clone()).unwrap();
}

#[test]
fn sync_context_gives_runtime_access_and_its_own_reference() {
    let (out, reports) = mpsc::channel();
    let (runner, actor_ref) = SyncActorRunnerBuilder::new()
        .with_rt(vec![100])
        .build(NoSupervisor, actor_fn(context_user));
    actor_ref.try_send(0u32).unwrap();
    drop(actor_ref);
    assert_eq!(runner.run(out), ActorExit::Completed);
    assert_eq!(reports.try_recv(), Ok(vec![100, 0, 1, 2]));
}

#[test]
fn sync_builder_sets_the_inbox_size() {
    for size in [1, 3, 8] {
        let (_runner, actor_ref) = SyncActorRunnerBuilder::new()
            .with_inbox_size(InboxSize::fixed(size))
            .build(NoSupervisor, actor_fn(receive_all));
        for n in 0..size as u32 {
            actor_ref.try_send(n).unwrap();
        }
        assert_eq!(
            actor_ref.try_send(99u32),
            Err(SendError::Full(99)),
            "inbox of {size}"
        );
    }
}

/// Takes three arguments.
fn three_args(_: sync::Context<()>, a: u8, b: &'static str, out: mpsc::Sender<String>) {
    out.send(format!("{a} {b}")).unwrap();
}

fn sync_name<A: SyncActor>(_: &A) -> &'static str {
    A::name()
}

#[test]
fn sync_actor_fn_takes_arguments_and_is_named_after_the_function() {
    assert_eq!(sync_name(&actor_fn(three_args)), "three_args");
    assert_eq!(sync_name(&actor_fn(sync_worker)), "sync_worker");
    let (out, reports) = mpsc::channel();
    let (runner, _actor_ref) = SyncActorRunner::new(NoSupervisor, actor_fn(three_args));
    assert_eq!(
        format!("{runner:?}"),
        r#"SyncActorRunner { actor: "three_args" }"#
    );
    assert_eq!(runner.run((7, "seven", out)), ActorExit::Completed);
    assert_eq!(reports.try_recv().as_deref(), Ok("7 seven"));
}

#[test]
fn runner_that_never_runs_is_cancelled() {
    let (runner, actor_ref) = SyncActorRunner::new(NoSupervisor, actor_fn(receive_all));
    assert!(actor_ref.is_connected());
    actor_ref.try_send(1u32).unwrap();
    drop(runner);
    assert!(!actor_ref.is_connected());
    assert_eq!(block_on(actor_ref.join()), ActorExit::Cancelled);
}

#[test]
fn block_on_runs_a_future_woken_from_another_thread() {
    let (future, adder_ref) = ActorFuture::new(NoSupervisor, actor_fn(adder), ());
    let adder_thread = thread::spawn(move || block_on(future));
    assert_eq!(block_on(adder_ref.rpc(5)), Ok(5));
    assert_eq!(block_on(adder_ref.rpc(6)), Ok(11));
    drop(adder_ref);
    adder_thread.join().unwrap();
    assert_eq!(block_on(async { 40 + 2 }), 42);
}
