//! Messages sent from other threads: from plain OS threads and from a synchronous actor they wake
//! thread-local, thread-safe and synchronous actors; many messages from two threads arrive exactly
//! once and in each sender's order; more wake-ups than the wake-up queue holds are not lost;
//! thread-local actors on two workers play ping-pong; a thread-safe actor runs on a free worker
//! while another is stuck; and RPCs from every kind of actor to a thread-safe one all complete.

use std::convert::Infallible;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Instant;

use kiln::InboxSize;
use kiln::actor_fn;
use kiln::actor_ref::RpcMessage;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, sync};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, SyncActorOptions, ThreadLocal, ThreadSafe};

mod util;

use kiln_rt::Spawn;
use util::rpc::{client, incrementer};
use util::timeout::TIMEOUT;

/// Messages each echo actor receives before it stops.
const ECHOES: u32 = 200;

/// Acknowledges each message to `acks`; stops after `n` messages.
async fn local_echo(mut ctx: actor::Context<u32, ThreadLocal>, acks: mpsc::Sender<u32>, n: u32) {
    for _ in 0..n {
        let msg = ctx.receive_next().await.expect("inbox disconnected early");
        acks.send(msg).unwrap();
    }
}

/// [`local_echo`] as a thread-safe actor.
async fn shared_echo(mut ctx: actor::Context<u32, ThreadSafe>, acks: mpsc::Sender<u32>, n: u32) {
    for _ in 0..n {
        let msg = ctx.receive_next().await.expect("inbox disconnected early");
        acks.send(msg).unwrap();
    }
}

/// [`local_echo`] as a synchronous actor.
fn sync_echo(mut ctx: sync::Context<u32, kiln_rt::access::Sync>, acks: mpsc::Sender<u32>, n: u32) {
    for _ in 0..n {
        let msg = ctx.receive_next().expect("inbox disconnected early");
        acks.send(msg).unwrap();
    }
}

/// Sends `0..ECHOES` to `actor_ref` one at a time, each only after the previous one was
/// acknowledged, so that the actor waits (and is woken) for every message.
fn echo_round_trips(actor_ref: &ActorRef<u32>, acks: &mpsc::Receiver<u32>) {
    for i in 0..ECHOES {
        actor_ref.try_send(i).expect("can't send");
        assert_eq!(
            acks.recv_timeout(TIMEOUT),
            Ok(i),
            "message {i} was not handled"
        );
    }
}

/// An echo actor of each kind, and the receivers of their acknowledgements.
struct Echoes {
    local: ActorRef<u32>,
    local_acks: mpsc::Receiver<u32>,
    shared: ActorRef<u32>,
    shared_acks: mpsc::Receiver<u32>,
    sync: ActorRef<u32>,
    sync_acks: mpsc::Receiver<u32>,
}

/// Spawns an echo actor of each kind on `runtime`; the thread-local one on the last worker.
fn spawn_echoes(runtime: &mut Runtime, threads: usize) -> Echoes {
    let (local_ack, local_acks) = mpsc::channel();
    let (refs, local_ref) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() == threads - 1 {
                let actor_ref = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(local_echo),
                    (local_ack.clone(), ECHOES),
                    ActorOptions::default(),
                );
                refs.send(actor_ref).unwrap();
            }
            Ok(())
        })
        .unwrap();
    let (shared_ack, shared_acks) = mpsc::channel();
    let shared = runtime.spawn(
        NoSupervisor,
        actor_fn(shared_echo),
        (shared_ack, ECHOES),
        ActorOptions::default(),
    );
    let (sync_ack, sync_acks) = mpsc::channel();
    let sync = runtime
        .spawn_sync_actor(
            NoSupervisor,
            actor_fn(sync_echo),
            (sync_ack, ECHOES),
            SyncActorOptions::default(),
        )
        .unwrap();
    Echoes {
        local: local_ref.recv().unwrap(),
        local_acks,
        shared,
        shared_acks,
        sync,
        sync_acks,
    }
}

#[test]
fn other_threads_wake_each_kind_of_actor() {
    for threads in [1, 2] {
        let mut runtime = Runtime::setup().num_threads(threads).build().unwrap();
        let echoes = spawn_echoes(&mut runtime, threads);
        // One thread per actor, started before the runtime is, running while it runs.
        let senders = [
            (echoes.local, echoes.local_acks),
            (echoes.shared, echoes.shared_acks),
            (echoes.sync, echoes.sync_acks),
        ]
        .map(|(actor_ref, acks)| thread::spawn(move || echo_round_trips(&actor_ref, &acks)));
        runtime.start().expect("the runtime failed");
        for sender in senders {
            sender.join().expect("a sending thread failed");
        }
    }
}

/// Does what [`echo_round_trips`] does, for each actor in turn, from a synchronous actor.
fn sync_driver(
    _: sync::Context<(), kiln_rt::access::Sync>,
    targets: Vec<(ActorRef<u32>, mpsc::Receiver<u32>)>,
    done: mpsc::Sender<usize>,
) {
    for (actor_ref, acks) in &targets {
        echo_round_trips(actor_ref, acks);
    }
    done.send(targets.len()).unwrap();
}

#[test]
fn a_sync_actor_wakes_each_kind_of_actor() {
    for threads in [1, 2] {
        let mut runtime = Runtime::setup().num_threads(threads).build().unwrap();
        let echoes = spawn_echoes(&mut runtime, threads);
        let targets = vec![
            (echoes.local, echoes.local_acks),
            (echoes.shared, echoes.shared_acks),
            (echoes.sync, echoes.sync_acks),
        ];
        let (done, driven) = mpsc::channel();
        let _ = runtime
            .spawn_sync_actor(
                NoSupervisor,
                actor_fn(sync_driver),
                (targets, done),
                SyncActorOptions::default(),
            )
            .unwrap();
        runtime.start().expect("the runtime failed");
        assert_eq!(driven.try_recv(), Ok(3), "{threads} worker(s)");
    }
}

/// The message of [`counter`]: which sending thread, and its sequence number.
type Numbered = (usize, u32);

/// What [`counter`] reports once every reference is gone.
#[derive(Debug, PartialEq, Eq)]
struct Count {
    /// Messages received, per sending thread.
    received: Vec<u32>,
    /// Messages that were not the next one expected from their thread.
    out_of_order: u32,
}

/// Counts messages per sender, checking each sender's messages come in the order it sent them,
/// until every reference is gone.
async fn counter(
    mut ctx: actor::Context<Numbered, ThreadLocal>,
    senders: usize,
    report: mpsc::Sender<Count>,
) {
    let mut count = Count {
        received: vec![0; senders],
        out_of_order: 0,
    };
    while let Ok((sender, seq)) = ctx.receive_next().await {
        if seq != count.received[sender] {
            count.out_of_order += 1;
        }
        count.received[sender] += 1;
    }
    report.send(count).unwrap();
}

#[test]
fn many_messages_from_two_threads_arrive_exactly_once() {
    const SENDERS: usize = 2;
    const PER_SENDER: u32 = 50_000;
    let mut runtime = Runtime::setup().build().unwrap();
    let (report, counts) = mpsc::channel();
    let (refs, counter_ref) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            // A small inbox: the senders keep running into a full one.
            let options = ActorOptions::default().with_inbox_size(InboxSize::fixed(4));
            let actor_ref = rt.spawn_local(
                NoSupervisor,
                actor_fn(counter),
                (SENDERS, report.clone()),
                options,
            );
            refs.send(actor_ref).unwrap();
            Ok(())
        })
        .unwrap();
    let counter_ref: ActorRef<Numbered> = counter_ref.recv().unwrap();
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let counter_ref = counter_ref.clone();
            thread::spawn(move || {
                for seq in 0..PER_SENDER {
                    // Waits while the inbox is full.
                    sync::block_on(counter_ref.send((sender, seq))).expect("can't send");
                }
            })
        })
        .collect();
    // The senders hold the last references: the counter stops once they are done.
    drop(counter_ref);
    runtime.start().expect("the runtime failed");
    for sender in senders {
        sender.join().expect("a sending thread failed");
    }
    let count = counts.try_recv().expect("the counter did not report");
    assert_eq!(
        count,
        Count {
            received: vec![PER_SENDER; SENDERS],
            out_of_order: 0,
        }
    );
}

/// The messages of [`player`].
enum Ball {
    /// The other player; the server (`serve`) starts playing.
    Opponent(ActorRef<Ball>, bool),
    /// The ball, hit for the `n`th time.
    Hit(u32),
}

/// What a [`player`] reports when the game is over.
#[derive(Debug, PartialEq, Eq)]
struct Played {
    worker: usize,
    hits_received: u32,
}

/// Plays ping-pong until the ball has been hit `hits` times, then reports.
async fn player(
    mut ctx: actor::Context<Ball, ThreadLocal>,
    hits: u32,
    report: mpsc::Sender<Played>,
) {
    let worker = ctx.runtime().worker_index();
    let Ok(Ball::Opponent(opponent, serve)) = ctx.receive_next().await else {
        panic!("expected the opponent first");
    };
    if serve {
        opponent.try_send(Ball::Hit(1)).unwrap();
    }
    let mut hits_received = 0;
    loop {
        let Ok(Ball::Hit(n)) = ctx.receive_next().await else {
            panic!("expected the ball");
        };
        hits_received += 1;
        // The opponent may already have stopped after the last hit.
        let _ = opponent.try_send(Ball::Hit(n + 1));
        if n + 1 >= hits {
            break;
        }
    }
    report
        .send(Played {
            worker,
            hits_received,
        })
        .unwrap();
}

#[test]
fn ping_pong_between_two_workers() {
    const ROUND_TRIPS: u32 = 5_000;
    // Hit 1 is the serve; the game ends when hit `2 * ROUND_TRIPS` is sent.
    const HITS: u32 = 2 * ROUND_TRIPS;
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (report, reports) = mpsc::channel();
    let (refs, players) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let actor_ref = rt.spawn_local(
                NoSupervisor,
                actor_fn(player),
                (HITS, report.clone()),
                ActorOptions::default(),
            );
            refs.send((rt.worker_index(), actor_ref)).unwrap();
            Ok(())
        })
        .unwrap();
    let mut players: Vec<(usize, ActorRef<Ball>)> = players.try_iter().collect();
    players.sort_by_key(|(worker, _)| *worker);
    let [(0, server), (1, receiver)] = <[_; 2]>::try_from(players).unwrap() else {
        panic!("expected one player on each worker");
    };
    receiver
        .try_send(Ball::Opponent(server.clone(), false))
        .unwrap();
    server.try_send(Ball::Opponent(receiver, true)).unwrap();
    drop(server);
    runtime.start().expect("the runtime failed");
    let mut played: Vec<Played> = reports.try_iter().collect();
    played.sort_by_key(|played| played.worker);
    // The receiver gets the odd hits and the server the even ones: one of each per round trip.
    assert_eq!(
        played,
        [
            Played {
                worker: 0,
                hits_received: ROUND_TRIPS,
            },
            Played {
                worker: 1,
                hits_received: ROUND_TRIPS,
            },
        ]
    );
}

/// Blocks its worker (it never yields) until `release` is set, then stops.
async fn blocker(
    _: actor::Context<(), ThreadLocal>,
    release: Arc<AtomicBool>,
    blocked: mpsc::Sender<()>,
) {
    blocked.send(()).unwrap();
    let deadline = Instant::now() + TIMEOUT;
    while !release.load(Ordering::Acquire) {
        assert!(Instant::now() < deadline, "never released");
        spin_loop();
    }
}

/// Waits for one message, then counts itself and reports when it is the last of `total`.
async fn woken_once(
    mut ctx: actor::Context<(), ThreadLocal>,
    woken: Arc<AtomicUsize>,
    total: usize,
    report: mpsc::Sender<()>,
) {
    ctx.receive_next().await.expect("inbox disconnected early");
    if woken.fetch_add(1, Ordering::AcqRel) + 1 == total {
        report.send(()).unwrap();
    }
}

/// More wake-ups from another thread than the worker's wake-up queue holds (1024), while the
/// worker is busy and can't take them: none may be lost.
#[test]
fn wake_ups_beyond_the_wake_queue_capacity_are_not_lost() {
    const ACTORS: usize = 5_000;
    let mut runtime = Runtime::setup().build().unwrap();
    let woken = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let (report, all_woken) = mpsc::channel();
    let (blocked, worker_blocked) = mpsc::channel();
    let (refs, actor_refs) = mpsc::channel();
    let arg = (woken.clone(), ACTORS, report);
    let blocker_arg = (release.clone(), blocked);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let options = ActorOptions::default();
            for _ in 0..ACTORS {
                let actor_ref =
                    rt.spawn_local(NoSupervisor, actor_fn(woken_once), arg.clone(), options);
                refs.send(actor_ref).unwrap();
            }
            // Spawned last, so it runs after the others are waiting for their message.
            let _ = rt.spawn_local(
                NoSupervisor,
                actor_fn(blocker),
                blocker_arg.clone(),
                options,
            );
            Ok(())
        })
        .unwrap();
    let actor_refs: Vec<ActorRef<()>> = actor_refs.try_iter().collect();
    worker_blocked
        .recv_timeout(TIMEOUT)
        .expect("the blocker did not run");
    // Every actor is waiting and the worker is stuck in the blocker: all these wake-ups queue up.
    for actor_ref in &actor_refs {
        actor_ref.try_send(()).unwrap();
    }
    release.store(true, Ordering::Release);
    all_woken.recv_timeout(TIMEOUT).unwrap_or_else(|_| {
        panic!(
            "only {} of {ACTORS} actors were woken",
            woken.load(Ordering::Acquire)
        )
    });
    drop(actor_refs);
    runtime.start().expect("the runtime failed");
}

/// Releases the blocker; being thread-safe it may run on any worker.
async fn releaser(_: actor::Context<(), ThreadSafe>, release: Arc<AtomicBool>) {
    release.store(true, Ordering::Release);
}

/// A thread-safe actor runs on another worker while one worker is stuck in a thread-local actor.
#[test]
fn a_thread_safe_actor_runs_on_a_free_worker() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let (blocked, worker_blocked) = mpsc::channel();
    let blocker_arg = (release.clone(), blocked);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() == 0 {
                let options = ActorOptions::default();
                let _ = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(blocker),
                    blocker_arg.clone(),
                    options,
                );
            }
            Ok(())
        })
        .unwrap();
    worker_blocked
        .recv_timeout(TIMEOUT)
        .expect("the blocker did not run");
    // Worker 0 is stuck until the releaser runs: only worker 1 can run it.
    let _ = runtime.spawn(
        NoSupervisor,
        actor_fn(releaser),
        release,
        ActorOptions::default(),
    );
    runtime
        .start()
        .expect("the runtime failed (or the blocker was never released)");
}

/// The RPC client (`util::rpc::client`) as a synchronous actor.
fn sync_client(
    mut ctx: sync::Context<(), kiln_rt::access::Sync>,
    server: ActorRef<RpcMessage<u64, u64>>,
    calls: u64,
    report: mpsc::Sender<u64>,
) {
    let mut right = 0;
    for n in 0..calls {
        if ctx.block_on(server.rpc(n)) == Ok(n + 1) {
            right += 1;
        }
    }
    report.send(right).unwrap();
}

/// A thread-safe actor with a tiny inbox serves RPCs from thread-local actors on both workers
/// and from a synchronous actor at once: its wake-ups come from every thread, and its responses
/// wake actors on every thread.
#[test]
fn rpc_from_every_kind_of_actor_to_a_thread_safe_actor() {
    const CALLS: u64 = 5_000;
    const LOCAL_CLIENTS_PER_WORKER: usize = 2;
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let options = ActorOptions::default().with_inbox_size(InboxSize::fixed(2));
    let server = runtime.spawn(NoSupervisor, actor_fn(incrementer), (), options);
    let (report, reports) = mpsc::channel();
    let arg = (server.clone(), CALLS, report.clone());
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            for _ in 0..LOCAL_CLIENTS_PER_WORKER {
                let options = ActorOptions::default();
                let _ = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(client::<ThreadLocal>),
                    arg.clone(),
                    options,
                );
            }
            Ok(())
        })
        .unwrap();
    let arg = (server, CALLS, report);
    let _ = runtime
        .spawn_sync_actor(
            NoSupervisor,
            actor_fn(sync_client),
            arg,
            SyncActorOptions::default(),
        )
        .unwrap();
    runtime.start().expect("the runtime failed");
    let right: Vec<u64> = reports.try_iter().collect();
    assert_eq!(right, vec![CALLS; 2 * LOCAL_CLIENTS_PER_WORKER + 1]);
}
