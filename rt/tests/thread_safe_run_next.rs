//! The run-next slot (`rt/src/runtime/wake/run_next.rs`): a thread-safe actor woken by the
//! thread-safe actor running on a worker runs next on that worker, so two of them passing
//! messages stay on one worker; and at most three run that way in a row, so such a pair does
//! not keep a third actor waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, Spawn, ThreadSafe};

mod util;

use util::runtime::with_timeout;

/// A ball passed between two players: the number of the pass and the thread of the player
/// that sent it.
type Ball = (u64, ThreadId);

/// What a player hands the other at the start: where to send the ball back.
enum ToPonger {
    Start(ActorRef<Ball>),
    Ball(Ball),
}

/// Returns every ball it gets, counting the ones sent from another thread in `hops`.
async fn ponger(mut ctx: actor::Context<ToPonger, ThreadSafe>, hops: Arc<AtomicU64>) {
    let Ok(ToPonger::Start(pinger)) = ctx.receive_next().await else {
        return;
    };
    while let Ok(ToPonger::Ball((n, from))) = ctx.receive_next().await {
        if from != thread::current().id() {
            hops.fetch_add(1, Ordering::Relaxed);
        }
        if pinger.send((n, thread::current().id())).await.is_err() {
            return;
        }
    }
}

/// Passes the ball `passes` times, counting the returns sent from another thread in `hops`.
async fn pinger(
    mut ctx: actor::Context<Ball, ThreadSafe>,
    ponger: ActorRef<ToPonger>,
    passes: u64,
    hops: Arc<AtomicU64>,
) {
    if ponger.send(ToPonger::Start(ctx.actor_ref())).await.is_err() {
        return;
    }
    for n in 0..passes {
        let ball = (n, thread::current().id());
        if ponger.send(ToPonger::Ball(ball)).await.is_err() {
            return;
        }
        let Ok((back, from)) = ctx.receive_next().await else {
            return;
        };
        assert_eq!(back, n);
        if from != thread::current().id() {
            hops.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Two thread-safe actors, spawned from this thread (so into the shards of different workers),
/// pass a ball 20,000 times on two workers: the ball changes thread in fewer than 1 in 100
/// passes (none in 3 runs here, debug build, load average 10). Without the slot every wake
/// went through the woken actor's shard and woke the other worker if it slept, which then
/// raced this one for the actor: 873 to 1,511 of the 40,000 passes changed thread in 3 runs
/// at that load.
#[test]
fn actors_passing_messages_stay_on_one_worker() {
    const PASSES: u64 = 20_000;
    with_timeout("ping-pong", || {
        let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
        let hops = Arc::new(AtomicU64::new(0));
        let ponger = runtime.spawn(
            NoSupervisor,
            actor_fn(ponger),
            hops.clone(),
            ActorOptions::default(),
        );
        let _ = runtime.spawn(
            NoSupervisor,
            actor_fn(pinger),
            (ponger, PASSES, hops.clone()),
            ActorOptions::default(),
        );
        runtime.start().unwrap();
        let hops = hops.load(Ordering::Relaxed);
        assert!(
            hops < 2 * PASSES / 100,
            "the ball changed thread {hops} times in {} passes",
            2 * PASSES
        );
    });
}

/// The number of polls of the pair in `busy_pair` so far.
type Polls = Arc<AtomicU64>;

/// What the pair's first player does at some passes: asks the third actor to report.
const POKE_EVERY: u64 = 37;
/// Passes before the first poke: the pair has run well over the sleeper credit (2 ms) more
/// than the third actor by then, so that the third actor is the one with the least virtual run
/// time whenever it is ready.
const WARM_UP: u64 = 400;
/// Pokes in all.
const POKES: u64 = 20;
/// How long each poll of the pair runs.
const POLL: Duration = Duration::from_micros(20);

/// Runs for about [`POLL`], counting the poll.
fn busy_poll(polls: &AtomicU64) -> u64 {
    let start = Instant::now();
    while start.elapsed() < POLL {
        std::hint::spin_loop();
    }
    polls.fetch_add(1, Ordering::Relaxed) + 1
}

/// The pair's second player: returns the ball.
async fn busy_ponger(mut ctx: actor::Context<ToPonger, ThreadSafe>, polls: Polls) {
    let Ok(ToPonger::Start(pinger)) = ctx.receive_next().await else {
        return;
    };
    while let Ok(ToPonger::Ball(ball)) = ctx.receive_next().await {
        busy_poll(&polls);
        if pinger.send(ball).await.is_err() {
            return;
        }
    }
}

/// The pair's first player: passes the ball, and pokes `third` (before passing, so that the
/// ball's wake is the one held to run next) every [`POKE_EVERY`] passes after [`WARM_UP`],
/// telling it the polls of the pair so far.
async fn busy_pinger(
    mut ctx: actor::Context<Ball, ThreadSafe>,
    ponger: ActorRef<ToPonger>,
    third: ActorRef<u64>,
    polls: Polls,
) {
    if ponger.send(ToPonger::Start(ctx.actor_ref())).await.is_err() {
        return;
    }
    for n in 0..WARM_UP + POKES * POKE_EVERY {
        let poll = busy_poll(&polls);
        if n >= WARM_UP && (n - WARM_UP).is_multiple_of(POKE_EVERY) {
            third.try_send(poll).unwrap();
        }
        let ball = (n, thread::current().id());
        if ponger.send(ToPonger::Ball(ball)).await.is_err() {
            return;
        }
        if ctx.receive_next().await.is_err() {
            return;
        }
    }
}

/// Reports, for each poke, how many polls the pair made between the poke and this actor's run.
async fn third(mut ctx: actor::Context<u64, ThreadSafe>, polls: Polls, report: mpsc::Sender<u64>) {
    while let Ok(poked_at) = ctx.receive_next().await {
        let _ = report.send(polls.load(Ordering::Relaxed) - poked_at);
    }
}

/// On one worker, a pair of thread-safe actors passing a ball (each poll 20 µs) pokes a third
/// thread-safe actor now and then: the third runs after at most three polls of the pair (the
/// most the slot runs in a row), every time. Without the bound it waited for the worker's batch
/// of thread-safe runs (16) to end: 0 to 15 polls of the pair.
#[test]
fn a_pair_passing_messages_does_not_keep_a_third_actor_waiting() {
    with_timeout("pair and third", || {
        let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
        let polls = Polls::default();
        let (report, reports) = mpsc::channel();
        let third = runtime.spawn(
            NoSupervisor,
            actor_fn(third),
            (polls.clone(), report),
            ActorOptions::default(),
        );
        let ponger = runtime.spawn(
            NoSupervisor,
            actor_fn(busy_ponger),
            polls.clone(),
            ActorOptions::default(),
        );
        let _ = runtime.spawn(
            NoSupervisor,
            actor_fn(busy_pinger),
            (ponger, third, polls),
            ActorOptions::default(),
        );
        runtime.start().unwrap();
        let waits: Vec<u64> = reports.try_iter().collect();
        assert_eq!(waits.len() as u64, POKES, "{waits:?}");
        assert!(
            waits.iter().all(|&wait| wait <= 3),
            "polls of the pair between a poke and the third actor's run: {waits:?}"
        );
    });
}
