//! Shutdown: `start` returns only once every accepted message was handled (messages sent before
//! and while the runtime runs, from the test thread and another thread, to thread-local and
//! thread-safe actors), once every synchronous actor finished (and what it spawned), and a runtime
//! dropped without being started neither hangs nor drops the work it was given.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use kiln::InboxSize;
use kiln::actor_ref::SendError;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn, sync};
use kiln_rt::Spawn;
use kiln_rt::{
    ActorOptions, FutureOptions, Runtime, RuntimeRef, SyncActorOptions, ThreadLocal, ThreadSafe,
};

mod util;

use util::timeout::TIMEOUT;

/// Messages sent to each actor.
const MESSAGES: usize = 10_000;

/// Counts the messages it handles until every reference is gone.
async fn local_counter(mut ctx: actor::Context<usize, ThreadLocal>, handled: Arc<AtomicUsize>) {
    while ctx.receive_next().await.is_ok() {
        handled.fetch_add(1, Ordering::AcqRel);
    }
}

/// [`local_counter`] as a thread-safe actor.
async fn shared_counter(mut ctx: actor::Context<usize, ThreadSafe>, handled: Arc<AtomicUsize>) {
    while ctx.receive_next().await.is_ok() {
        handled.fetch_add(1, Ordering::AcqRel);
    }
}

/// Sends `count` messages with `try_send`, waiting with `send` when the inbox is full; returns
/// how many were accepted.
fn send_messages(actor_ref: &ActorRef<usize>, count: usize) -> usize {
    let mut accepted = 0;
    for n in 0..count {
        let sent = match actor_ref.try_send(n) {
            Err(SendError::Full(n)) => sync::block_on(actor_ref.send(n)),
            result => result,
        };
        if sent.is_ok() {
            accepted += 1;
        }
    }
    accepted
}

#[test]
fn every_accepted_message_is_handled_before_start_returns() {
    for threads in [1, 2] {
        let mut runtime = Runtime::setup().num_threads(threads).build().unwrap();
        let options = ActorOptions::default().with_inbox_size(InboxSize::fixed(16));
        let local_handled = Arc::new(AtomicUsize::new(0));
        let (refs, local_ref) = mpsc::channel();
        let counter = local_handled.clone();
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                if rt.worker_index() == 0 {
                    let actor_ref = rt.spawn_local(
                        NoSupervisor,
                        actor_fn(local_counter),
                        counter.clone(),
                        options,
                    );
                    refs.send(actor_ref).unwrap();
                }
                Ok(())
            })
            .unwrap();
        let local_ref = local_ref.recv().unwrap();
        let shared_handled = Arc::new(AtomicUsize::new(0));
        let shared_ref = runtime.spawn(
            NoSupervisor,
            actor_fn(shared_counter),
            shared_handled.clone(),
            options,
        );

        // Half of the messages before the runtime starts, from this thread ...
        let mut accepted_before = 0;
        for actor_ref in [&local_ref, &shared_ref] {
            accepted_before += send_messages(actor_ref, MESSAGES / 2);
        }
        // ... and the other half from another thread, while it starts and runs; the last
        // references go with the last messages.
        let sender = thread::spawn(move || {
            send_messages(&local_ref, MESSAGES / 2) + send_messages(&shared_ref, MESSAGES / 2)
        });
        runtime.start().expect("the runtime failed");
        let accepted = accepted_before + sender.join().unwrap();

        assert_eq!(accepted, 2 * MESSAGES, "every message is accepted");
        let handled = [
            local_handled.load(Ordering::Acquire),
            shared_handled.load(Ordering::Acquire),
        ];
        assert_eq!(handled, [MESSAGES, MESSAGES], "{threads} worker(s)");
    }
}

/// Messages the synchronous actor of [`start_waits_for_sync_actors`] gets.
const SYNC_MESSAGES: usize = 1_000;

/// Handles [`SYNC_MESSAGES`] messages, then spawns a thread-safe actor and stops.
fn sync_worker(
    mut ctx: sync::Context<usize, kiln_rt::access::Sync>,
    handled: Arc<AtomicUsize>,
    finished: Arc<AtomicBool>,
    spawned_ran: Arc<AtomicBool>,
) {
    for _ in 0..SYNC_MESSAGES {
        ctx.receive_next().expect("inbox disconnected early");
        handled.fetch_add(1, Ordering::AcqRel);
    }
    // The workers have had nothing to do for a while; this must still run.
    let _ = ctx.runtime().spawn(
        NoSupervisor,
        actor_fn(
            |_: actor::Context<(), ThreadSafe>, ran: Arc<AtomicBool>| async move {
                ran.store(true, Ordering::Release);
            },
        ),
        spawned_ran,
        ActorOptions::default(),
    );
    finished.store(true, Ordering::Release);
}

#[test]
fn start_waits_for_sync_actors() {
    for threads in [1, 2] {
        let mut runtime = Runtime::setup().num_threads(threads).build().unwrap();
        let handled = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicBool::new(false));
        let spawned_ran = Arc::new(AtomicBool::new(false));
        let arg = (handled.clone(), finished.clone(), spawned_ran.clone());
        // An inbox of one: the sender below waits for the actor all the time.
        let options = SyncActorOptions::default().with_inbox_size(InboxSize::ONE);
        let actor_ref = runtime
            .spawn_sync_actor(NoSupervisor, actor_fn(sync_worker), arg, options)
            .unwrap();
        let sender = thread::spawn(move || send_messages(&actor_ref, SYNC_MESSAGES));
        runtime.start().expect("the runtime failed");

        assert!(
            finished.load(Ordering::Acquire),
            "start returned before the sync actor finished"
        );
        assert_eq!(handled.load(Ordering::Acquire), SYNC_MESSAGES);
        assert!(
            spawned_ran.load(Ordering::Acquire),
            "the actor it spawned did not run"
        );
        assert_eq!(sender.join().unwrap(), SYNC_MESSAGES);
    }
}

#[test]
fn a_runtime_with_nothing_to_run_starts_and_returns() {
    for threads in [1, 2] {
        let runtime = Runtime::setup().num_threads(threads).build().unwrap();
        runtime.start().expect("the runtime failed");
    }
}

/// Waits for messages until every reference (including its own) is gone: never, here.
async fn forever(mut ctx: actor::Context<(), ThreadLocal>) {
    let _own_ref = ctx.actor_ref();
    while ctx.receive_next().await.is_ok() {}
}

/// Reports when it gets a message.
async fn late_reporter(mut ctx: actor::Context<(), ThreadSafe>, report: mpsc::Sender<String>) {
    if ctx.receive_next().await.is_ok() {
        report.send("message after the drop".to_owned()).unwrap();
    }
}

#[test]
fn a_runtime_dropped_without_start_finishes_its_work_and_does_not_hang() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (report, reports) = mpsc::channel();
    let local_report = report.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            // An actor that never ends keeps its worker busy (the thread is left behind) ...
            let _ = rt.spawn_local(NoSupervisor, actor_fn(forever), (), ActorOptions::default());
            // ... and actors that do end run all the same.
            let report = local_report.clone();
            let worker = rt.worker_index();
            rt.spawn_local_future(
                async move {
                    report
                        .send(format!("local future on worker {worker}"))
                        .unwrap()
                },
                FutureOptions::default(),
            );
            Ok(())
        })
        .unwrap();
    // A thread-safe actor that gets its message only once the runtime is dropped.
    let late = runtime.spawn(
        NoSupervisor,
        actor_fn(late_reporter),
        report,
        ActorOptions::default(),
    );
    drop(runtime);
    late.try_send(()).unwrap();

    let mut ran: Vec<String> = (0..3)
        .map(|_| reports.recv_timeout(TIMEOUT))
        .collect::<Result<_, _>>()
        .expect("a process given to the dropped runtime did not run");
    ran.sort();
    assert_eq!(
        ran,
        [
            "local future on worker 0",
            "local future on worker 1",
            "message after the drop"
        ]
    );
}
