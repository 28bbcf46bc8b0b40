//! Panics in user code: a panicking actor (thread-local, thread-safe or synchronous) goes to its
//! supervisor, which may restart it; a panicking future, or a panic in a `Drop`, is caught and
//! logged. None of them takes down a worker: other actors keep running and `start` returns `Ok`.
//!
//! A logger captures warnings and errors, so the tests can check the panics were logged.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, Once, PoisonError, mpsc};
use std::task::{self, Poll};
use std::thread::{self, ThreadId};
use std::time::Duration;

use kiln::InboxSize;
use kiln::actor::{Actor, NewActor};
use kiln::actor_ref::ActorExit;
use kiln::future::yield_now;
use kiln::supervisor::{NoSupervisor, Supervisor, SupervisorStrategy};
use kiln::{ActorRef, actor, actor_fn, restart_supervisor, sync};
use kiln_rt::Spawn;
use kiln_rt::{
    ActorOptions, FutureOptions, Runtime, RuntimeRef, SyncActorOptions, ThreadLocal, ThreadSafe,
};

mod util;

use util::timeout::TIMEOUT;

/// Warnings and errors logged so far, by all tests.
static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct CaptureLogs;

impl log::Log for CaptureLogs {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = record.args().to_string();
            LOGS.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line);
        }
    }

    fn flush(&self) {}
}

/// Installs the capturing logger (once per test binary).
fn capture_logs() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CaptureLogs).expect("a logger was already set");
        log::set_max_level(log::LevelFilter::Warn);
    });
}

/// Asserts a warning or error containing `needle` was logged.
#[track_caller]
fn assert_logged(needle: &str) {
    let logs = LOGS.lock().unwrap_or_else(PoisonError::into_inner);
    assert!(
        logs.iter().any(|line| line.contains(needle)),
        "nothing logged contains {needle:?}; logged: {logs:#?}"
    );
}

/// Acknowledges each message to `acks` until every reference is gone.
async fn echo(mut ctx: actor::Context<u32, ThreadLocal>, acks: mpsc::Sender<u32>) {
    while let Ok(msg) = ctx.receive_next().await {
        acks.send(msg).unwrap();
    }
}

/// Spawns an [`echo`] actor on every worker and returns references to them with the receiver of
/// their acknowledgements.
fn spawn_echoes(runtime: &mut Runtime) -> (Vec<ActorRef<u32>>, mpsc::Receiver<u32>) {
    let (ack, acks) = mpsc::channel();
    let (refs, echoes) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let options = ActorOptions::default();
            refs.send(rt.spawn_local(NoSupervisor, actor_fn(echo), ack.clone(), options))
                .unwrap();
            Ok(())
        })
        .unwrap();
    (echoes.try_iter().collect(), acks)
}

/// Asserts every echo actor still answers: its worker is alive and running actors.
#[track_caller]
fn assert_echoes(echoes: &[ActorRef<u32>], acks: &mpsc::Receiver<u32>) {
    for (i, echo) in echoes.iter().enumerate() {
        for n in 0..10 {
            let msg = (i * 100 + n) as u32;
            echo.try_send(msg).unwrap();
            assert_eq!(
                acks.recv_timeout(TIMEOUT),
                Ok(msg),
                "echo actor {i} did not answer"
            );
        }
    }
}

/// How an actor ended, once it has (the runtime has finished).
fn exit_of<M>(actor_ref: &ActorRef<M>) -> ActorExit {
    sync::block_on(actor_ref.join())
}

/// The messages of [`flaky`].
#[derive(Debug)]
enum Flaky {
    Handle(u32),
    Panic,
    Stop,
}

restart_supervisor!(
    /// Restarts [`flaky`] at most 5 times a minute.
    FlakySupervisor,
    (Arc<AtomicUsize>, mpsc::Sender<u32>),
    5,
    Duration::from_secs(60)
);

/// Counts its starts, reports each number it handles, panics when told to and stops when told
/// to.
async fn flaky(
    mut ctx: actor::Context<Flaky, ThreadLocal>,
    starts: Arc<AtomicUsize>,
    handled: mpsc::Sender<u32>,
) {
    let start = starts.fetch_add(1, Ordering::AcqRel) + 1;
    loop {
        match ctx.receive_next().await.expect("inbox disconnected early") {
            Flaky::Handle(n) => handled.send(n).unwrap(),
            Flaky::Panic => panic!("flaky thread-local actor panics (start {start})"),
            Flaky::Stop => return,
        }
    }
}

/// [`flaky`] as a thread-safe actor.
async fn shared_flaky(
    mut ctx: actor::Context<Flaky, ThreadSafe>,
    starts: Arc<AtomicUsize>,
    handled: mpsc::Sender<u32>,
) {
    let start = starts.fetch_add(1, Ordering::AcqRel) + 1;
    loop {
        match ctx.receive_next().await.expect("inbox disconnected early") {
            Flaky::Handle(n) => handled.send(n).unwrap(),
            Flaky::Panic => panic!("flaky thread-safe actor panics (start {start})"),
            Flaky::Stop => return,
        }
    }
}

/// The messages [`flaky`] gets: queued at once, so those after a panic wait in the inbox for the
/// restarted actor.
const FLAKY_SCRIPT: [fn() -> Flaky; 6] = [
    || Flaky::Handle(1),
    || Flaky::Panic,
    || Flaky::Handle(2),
    || Flaky::Panic,
    || Flaky::Handle(3),
    || Flaky::Stop,
];

/// Sends [`FLAKY_SCRIPT`].
fn send_script(actor_ref: &ActorRef<Flaky>) {
    for msg in FLAKY_SCRIPT {
        actor_ref.try_send(msg()).unwrap();
    }
}

#[test]
fn panicking_thread_local_actor_is_restarted_by_its_supervisor() {
    capture_logs();
    let mut runtime = Runtime::setup().build().unwrap();
    let (echoes, acks) = spawn_echoes(&mut runtime);
    let starts = Arc::new(AtomicUsize::new(0));
    let (handled, handled_numbers) = mpsc::channel();
    let (refs, flaky_ref) = mpsc::channel();
    let arg = (starts.clone(), handled);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let supervisor = FlakySupervisor::new(arg.clone());
            let actor_ref =
                rt.spawn_local(supervisor, actor_fn(flaky), arg, ActorOptions::default());
            refs.send(actor_ref).unwrap();
            Ok(())
        })
        .unwrap();
    let flaky_ref = flaky_ref.recv().unwrap();
    send_script(&flaky_ref);
    // The worker also keeps running its other actors.
    assert_echoes(&echoes, &acks);
    drop(echoes);
    runtime.start().expect("the runtime failed");

    assert_eq!(
        starts.load(Ordering::Acquire),
        3,
        "two panics, two restarts"
    );
    // No message but the panicking ones is lost over the restarts.
    assert_eq!(handled_numbers.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(exit_of(&flaky_ref), ActorExit::Completed);
    assert_logged("actor 'flaky' panicked, restarting it");
}

restart_supervisor!(
    /// Restarts an actor at most twice a minute.
    TwoRestarts,
    Arc<AtomicUsize>,
    2,
    Duration::from_secs(60)
);

/// Panics every time it starts.
async fn always_panics(_: actor::Context<(), ThreadLocal>, starts: Arc<AtomicUsize>) {
    let start = starts.fetch_add(1, Ordering::AcqRel) + 1;
    panic!("always panics (start {start})");
}

#[test]
fn a_supervisor_stops_an_actor_that_keeps_panicking() {
    capture_logs();
    let mut runtime = Runtime::setup().build().unwrap();
    let starts = Arc::new(AtomicUsize::new(0));
    let (refs, actor_ref) = mpsc::channel();
    let arg = starts.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let supervisor = TwoRestarts::new(arg.clone());
            let actor_ref = rt.spawn_local(
                supervisor,
                actor_fn(always_panics),
                arg,
                ActorOptions::default(),
            );
            refs.send(actor_ref).unwrap();
            Ok(())
        })
        .unwrap();
    let actor_ref = actor_ref.recv().unwrap();
    runtime.start().expect("the runtime failed");
    assert_eq!(
        starts.load(Ordering::Acquire),
        3,
        "the first start and two restarts"
    );
    assert_eq!(exit_of(&actor_ref), ActorExit::Panicked);
    assert_logged("always panics (start 3)");
}

/// Panics, under a supervisor that does not restart it.
async fn unsupervised_panic(_: actor::Context<(), ThreadSafe>) {
    panic!("unsupervised thread-safe actor panics");
}

#[test]
fn panicking_thread_safe_actor_is_restarted_by_its_supervisor() {
    capture_logs();
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (echoes, acks) = spawn_echoes(&mut runtime);
    let starts = Arc::new(AtomicUsize::new(0));
    let (handled, handled_numbers) = mpsc::channel();
    let arg = (starts.clone(), handled);
    let supervisor = FlakySupervisor::new(arg.clone());
    let flaky_ref = runtime.spawn(
        supervisor,
        actor_fn(shared_flaky),
        arg,
        ActorOptions::default(),
    );
    send_script(&flaky_ref);
    // A thread-safe actor that panics without a supervisor to restart it.
    let unsupervised = runtime.spawn(
        NoSupervisor,
        actor_fn(unsupervised_panic),
        (),
        ActorOptions::default(),
    );
    assert_echoes(&echoes, &acks);
    drop(echoes);
    runtime.start().expect("the runtime failed");

    assert_eq!(
        starts.load(Ordering::Acquire),
        3,
        "two panics, two restarts"
    );
    assert_eq!(handled_numbers.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(exit_of(&flaky_ref), ActorExit::Completed);
    assert_eq!(exit_of(&unsupervised), ActorExit::Panicked);
    assert_logged("panicked, stopping it: unsupervised thread-safe actor panics");
}

restart_supervisor!(
    /// Restarts a synchronous actor at most 5 times a minute.
    SyncSupervisor,
    (Arc<AtomicUsize>, mpsc::Sender<ThreadId>),
    5,
    Duration::from_secs(60)
);

/// Reports its thread on each start, and panics on its first three starts.
fn sync_flaky(
    _: sync::Context<(), kiln_rt::access::Sync>,
    starts: Arc<AtomicUsize>,
    threads: mpsc::Sender<ThreadId>,
) {
    threads.send(thread::current().id()).unwrap();
    let start = starts.fetch_add(1, Ordering::AcqRel) + 1;
    if start <= 3 {
        panic!("sync actor panics (start {start})");
    }
}

#[test]
fn panicking_sync_actor_is_restarted_in_its_thread() {
    capture_logs();
    let mut runtime = Runtime::setup().build().unwrap();
    let (report, threads) = mpsc::channel();
    let arg = (Arc::new(AtomicUsize::new(0)), report);
    let actor_ref = runtime
        .spawn_sync_actor(
            SyncSupervisor::new(arg.clone()),
            actor_fn(sync_flaky),
            arg,
            SyncActorOptions::default(),
        )
        .unwrap();
    runtime.start().expect("the runtime failed");
    let threads: Vec<ThreadId> = threads.try_iter().collect();
    assert_eq!(threads.len(), 4, "three panics, three restarts");
    assert!(
        threads.iter().all(|id| *id == threads[0]),
        "restarted on another thread: {threads:?}"
    );
    assert_eq!(exit_of(&actor_ref), ActorExit::Completed);
    assert_logged("sync actor panics (start 3)");
}

#[test]
fn panicking_futures_are_logged_and_the_workers_keep_running() {
    capture_logs();
    for threads in [1, 2] {
        let mut runtime = Runtime::setup().num_threads(threads).build().unwrap();
        let (echoes, acks) = spawn_echoes(&mut runtime);
        let (report, reports) = mpsc::channel();
        let local_report = report.clone();
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                let report = local_report.clone();
                let worker = rt.worker_index();
                rt.spawn_local_future(
                    async move {
                        // Panic on the second poll, after other processes had a turn.
                        yield_now().await;
                        report.send("local").unwrap();
                        panic!("local future boom on worker {worker}");
                    },
                    FutureOptions::default(),
                );
                Ok(())
            })
            .unwrap();
        runtime.spawn_future(
            async move {
                report.send("Send").unwrap();
                panic!("Send future boom");
            },
            FutureOptions::default(),
        );
        for _ in 0..threads + 1 {
            reports.recv_timeout(TIMEOUT).expect("a future did not run");
        }
        // Every worker still runs its actors after the panics.
        assert_echoes(&echoes, &acks);
        drop(echoes);
        runtime.start().expect("the runtime failed");
        for worker in 0..threads {
            assert_logged(&format!(
                "panicked, stopping it: local future boom on worker {worker}"
            ));
        }
        assert_logged("panicked, stopping it: Send future boom");
    }
}

/// A future that is ready at once and panics when dropped (unless already panicking).
struct PanicOnDrop {
    what: &'static str,
    dropped: mpsc::Sender<&'static str>,
}

impl Future for PanicOnDrop {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut task::Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        let _ = self.dropped.send(self.what);
        if !thread::panicking() {
            panic!("{} panics in Drop", self.what);
        }
    }
}

/// A supervisor of infallible actors that panics when dropped, i.e. when its actor is.
struct DropPanicsSupervisor {
    what: &'static str,
    dropped: mpsc::Sender<&'static str>,
}

impl<NA> Supervisor<NA> for DropPanicsSupervisor
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

impl Drop for DropPanicsSupervisor {
    fn drop(&mut self) {
        let _ = self.dropped.send(self.what);
        if !thread::panicking() {
            panic!("{} panics in Drop", self.what);
        }
    }
}

/// Returns when it gets a message, dropping `guard`, whose `Drop` panics: inside the actor's run,
/// so the panic goes to the supervisor.
async fn drops_a_panicking_local(mut ctx: actor::Context<(), ThreadLocal>, guard: PanicOnDrop) {
    let _guard = guard;
    let _ = ctx.receive_next().await;
}

#[test]
fn panics_in_drop_are_caught() {
    capture_logs();
    let mut runtime = Runtime::setup().build().unwrap();
    let (echoes, acks) = spawn_echoes(&mut runtime);
    let (dropped, drops) = mpsc::channel();
    let (refs, local_refs) = mpsc::channel();
    let report = dropped.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let dropped = report.clone();
            let options = ActorOptions::default();
            // A future dropped after it completed.
            let what = "local future";
            rt.spawn_local_future(
                PanicOnDrop {
                    what,
                    dropped: dropped.clone(),
                },
                FutureOptions::default(),
            );
            // An actor (a hand-written future) dropped after it completed.
            let actor = move |_: actor::Context<(), ThreadLocal>| PanicOnDrop {
                what: "thread-local actor",
                dropped: dropped.clone(),
            };
            let _ = rt.spawn_local(NoSupervisor, actor_fn(actor), (), options);
            // A supervisor dropped with its actor.
            let supervisor = DropPanicsSupervisor {
                what: "thread-local supervisor",
                dropped: report.clone(),
            };
            let new_actor = actor_fn(|_: actor::Context<(), ThreadLocal>| async {});
            let _ = rt.spawn_local(supervisor, new_actor, (), options);
            // A panic in a `Drop` run by the actor itself.
            let guard = PanicOnDrop {
                what: "actor's local",
                dropped: report.clone(),
            };
            let actor_ref = rt.spawn_local(
                NoSupervisor,
                actor_fn(drops_a_panicking_local),
                guard,
                options,
            );
            refs.send(actor_ref).unwrap();
            Ok(())
        })
        .unwrap();
    // The same on the shared scheduler.
    let what = "Send future";
    runtime.spawn_future(
        PanicOnDrop {
            what,
            dropped: dropped.clone(),
        },
        FutureOptions::default(),
    );
    let shared_dropped = dropped.clone();
    let actor = move |_: actor::Context<(), ThreadSafe>| PanicOnDrop {
        what: "thread-safe actor",
        dropped: shared_dropped.clone(),
    };
    let _ = runtime.spawn(NoSupervisor, actor_fn(actor), (), ActorOptions::default());
    let supervisor = DropPanicsSupervisor {
        what: "thread-safe supervisor",
        dropped,
    };
    let new_actor = actor_fn(|_: actor::Context<(), ThreadSafe>| async {});
    let _ = runtime.spawn(supervisor, new_actor, (), ActorOptions::default());
    let local_ref = local_refs.recv().unwrap();
    local_ref.try_send(()).unwrap();

    let mut expected = vec![
        "local future",
        "thread-local actor",
        "thread-local supervisor",
        "actor's local",
        "Send future",
        "thread-safe actor",
        "thread-safe supervisor",
    ];
    let mut seen: Vec<&str> = (0..expected.len())
        .map(|_| {
            drops
                .recv_timeout(TIMEOUT)
                .expect("not everything was dropped")
        })
        .collect();
    seen.sort_unstable();
    expected.sort_unstable();
    assert_eq!(seen, expected);
    // The worker survived all of it.
    assert_echoes(&echoes, &acks);
    drop(echoes);
    runtime.start().expect("the runtime failed");

    assert_eq!(
        exit_of(&local_ref),
        ActorExit::Panicked,
        "the panic in the actor's run"
    );
    for what in expected {
        assert_logged(&format!("{what} panics in Drop"));
    }
}

/// Messages queued behind the one each actor of
/// [`queued_messages_whose_drop_panics_are_each_logged`] takes; every other one panics when
/// dropped.
const QUEUED: usize = 200;

/// A message that counts its drop and, if `panics`, then panics.
struct Bomb {
    id: usize,
    panics: bool,
    drops: Arc<AtomicUsize>,
}

impl Bomb {
    /// Drops the message without the panic.
    fn defuse(mut self) {
        self.panics = false;
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("bomb {} panics in Drop", self.id);
        }
    }
}

/// Sends one message for the actor to take, then [`QUEUED`] more, the even ones panicking when
/// dropped; all count their drops in `drops`.
fn send_bombs(actor_ref: &ActorRef<Bomb>, drops: &Arc<AtomicUsize>) {
    for id in 0..=QUEUED {
        let bomb = Bomb {
            id,
            panics: id % 2 == 0,
            drops: Arc::clone(drops),
        };
        assert!(actor_ref.try_send(bomb).is_ok(), "can't send bomb {id}");
    }
}

/// Takes one message and returns.
async fn bombed_local(mut ctx: actor::Context<Bomb, ThreadLocal>) {
    ctx.receive_next().await.unwrap().defuse();
}

/// [`bombed_local`] as a thread-safe actor.
async fn bombed_shared(mut ctx: actor::Context<Bomb, ThreadSafe>) {
    ctx.receive_next().await.unwrap().defuse();
}

/// Takes one message, waits until the others are queued, and returns.
fn bombed_sync(mut ctx: sync::Context<Bomb, kiln_rt::access::Sync>, queued: Arc<Barrier>) {
    ctx.receive_next().unwrap().defuse();
    queued.wait();
}

/// Regression (issue 14, item 2): two queued messages whose `Drop` panics aborted the process
/// when their actor stopped. Each is now dropped under its own guard, and its panic logged once,
/// naming the actor.
#[test]
fn queued_messages_whose_drop_panics_are_each_logged() {
    capture_logs();
    // One worker, which runs the closure below before any of the actors it spawns: their inboxes
    // are full before they take their one message.
    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let options = ActorOptions::default().with_inbox_size(InboxSize::fixed(QUEUED + 1));
    let drops = Arc::new(AtomicUsize::new(0));
    let (refs, actor_refs) = mpsc::channel();
    let worker_drops = Arc::clone(&drops);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let local = rt.spawn_local(NoSupervisor, actor_fn(bombed_local), (), options);
            send_bombs(&local, &worker_drops);
            let shared = rt.spawn(NoSupervisor, actor_fn(bombed_shared), (), options);
            send_bombs(&shared, &worker_drops);
            refs.send([local, shared]).unwrap();
            Ok(())
        })
        .unwrap();
    let queued = Arc::new(Barrier::new(2));
    let sync_ref = runtime
        .spawn_sync_actor(
            NoSupervisor,
            actor_fn(bombed_sync),
            Arc::clone(&queued),
            SyncActorOptions::default().with_inbox_size(InboxSize::fixed(QUEUED + 1)),
        )
        .unwrap();
    send_bombs(&sync_ref, &drops);
    queued.wait();
    runtime.start().expect("the runtime failed");

    let [local, shared] = actor_refs.recv().unwrap();
    for actor_ref in [&local, &shared, &sync_ref] {
        assert_eq!(exit_of(actor_ref), ActorExit::Completed);
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        3 * (QUEUED + 1),
        "every message dropped"
    );
    let logs = LOGS.lock().unwrap_or_else(PoisonError::into_inner);
    for actor in ["bombed_local", "bombed_shared", "bombed_sync"] {
        let prefix = format!(
            "a message left in the inbox of actor '{actor}' panicked while being dropped: bomb "
        );
        let mut ids: Vec<usize> = logs
            .iter()
            .filter_map(|line| line.strip_prefix(&prefix)?.strip_suffix(" panics in Drop"))
            .map(|id| id.parse().unwrap())
            .collect();
        ids.sort_unstable();
        let expected: Vec<usize> = (2..=QUEUED).step_by(2).collect();
        assert_eq!(ids, expected, "each panic of {actor} logged once");
    }
}
