//! Fairness of the scheduler on one worker: a busy actor that is always ready does not starve a
//! ping-pong pair, newly spawned processes, or thread-safe ones; a new busy actor does not starve
//! an old one; and priorities weigh run time as documented.
//!
//! The scheduler charges a process the wall-clock time its run took, so when the OS preempts the
//! worker thread mid-run (a loaded machine) the process running is charged for the wait too. The
//! tests in this file take turns (a lock), so that they do not compete for the CPU with each
//! other, and the tests that check *proportions* run their experiment up to [`ATTEMPTS`] times
//! and pass if one attempt shows them: one unlucky preemption can skew one attempt, but a
//! scheduler that gets the proportions wrong fails every attempt.

use std::convert::Infallible;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use kiln::future::yield_now;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::Spawn;
use kiln_rt::{
    ActorOptions, FutureOptions, Priority, Runtime, RuntimeRef, ThreadLocal, ThreadSafe,
};

mod util;

use util::one_at_a_time::one_at_a_time;
use util::timeout::TIMEOUT;

/// How long a ping-pong game next to a busy actor may take: a bound the test asserts (a scheduler
/// that starves the players takes far longer), shorter than the safety net [`TIMEOUT`].
const GAME_LIMIT: Duration = Duration::from_secs(10);

/// How long a busy actor works before it yields.
const WORK: Duration = Duration::from_micros(50);

/// How often an experiment that checks proportions is tried, at most.
const ATTEMPTS: usize = 5;

/// Runs `experiment` until its result is `good`, at most [`ATTEMPTS`] times; fails the test with
/// every result if none was.
#[track_caller]
fn in_one_of_the_attempts<T: std::fmt::Debug>(
    what: &str,
    mut experiment: impl FnMut() -> T,
    good: impl Fn(&T) -> bool,
) -> T {
    let mut results = Vec::new();
    for _ in 0..ATTEMPTS {
        let result = experiment();
        if good(&result) {
            return result;
        }
        results.push(result);
    }
    panic!("{what}, in none of {ATTEMPTS} attempts: {results:#?}");
}

/// Works (spins) for `duration`.
fn work(duration: Duration) {
    let end = Instant::now() + duration;
    while Instant::now() < end {
        spin_loop();
    }
}

/// A busy actor's controls: stop it, and count its runs.
#[derive(Clone, Default)]
struct Busy {
    stop: Arc<AtomicBool>,
    runs: Arc<AtomicUsize>,
}

impl Busy {
    fn runs(&self) -> usize {
        self.runs.load(Ordering::Acquire)
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Works, yields, works, ... until stopped; always ready to run.
async fn busy(_: actor::Context<(), ThreadLocal>, busy: Busy) {
    while !busy.stop.load(Ordering::Acquire) {
        work(WORK);
        busy.runs.fetch_add(1, Ordering::AcqRel);
        yield_now().await;
    }
}

/// Builds a one-worker runtime and spawns `busy` actors on it.
fn runtime_with_busy_actor(busy_actor: &Busy) -> Runtime {
    let mut runtime = Runtime::setup().build().unwrap();
    let busy_actor = busy_actor.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let options = ActorOptions::default();
            let _ = rt.spawn_local(NoSupervisor, actor_fn(busy), busy_actor.clone(), options);
            Ok(())
        })
        .unwrap();
    runtime
}

/// Waits (at most [`TIMEOUT`]) until the busy actor has run `runs` times.
#[track_caller]
fn wait_for_runs(busy: &Busy, runs: usize) {
    let deadline = Instant::now() + TIMEOUT;
    while busy.runs() < runs {
        assert!(
            Instant::now() < deadline,
            "the busy actor did not run {runs} times"
        );
        std::thread::yield_now();
    }
}

/// The messages of [`player`].
enum Ball {
    /// The other player, and whether to serve.
    Opponent(ActorRef<Ball>, bool),
    /// The ball, hit for the `n`th time.
    Hit(u32),
}

/// What the serving [`player`] reports when the game is over.
#[derive(Debug)]
struct Game {
    took: Duration,
    busy_runs: usize,
}

/// Plays ping-pong until the ball has been hit `hits` times; the server reports how long it took
/// and how often the busy actor ran meanwhile.
async fn player(
    mut ctx: actor::Context<Ball, ThreadLocal>,
    hits: u32,
    busy: Busy,
    report: mpsc::Sender<Game>,
) {
    let Ok(Ball::Opponent(opponent, serve)) = ctx.receive_next().await else {
        panic!("expected the opponent first");
    };
    let start = Instant::now();
    let busy_runs = busy.runs();
    if serve {
        opponent.try_send(Ball::Hit(1)).unwrap();
    }
    loop {
        let Ok(Ball::Hit(n)) = ctx.receive_next().await else {
            panic!("expected the ball");
        };
        let _ = opponent.try_send(Ball::Hit(n + 1));
        if n + 1 >= hits {
            break;
        }
    }
    if serve {
        let game = Game {
            took: start.elapsed(),
            busy_runs: busy.runs() - busy_runs,
        };
        report.send(game).unwrap();
    }
}

/// Plays a ping-pong game of `round_trips` next to a busy actor; fails if it takes longer than
/// [`GAME_LIMIT`].
fn ping_pong_next_to_busy_actor(round_trips: u32) -> Game {
    let busy_actor = Busy::default();
    let mut runtime = runtime_with_busy_actor(&busy_actor);
    // Let the busy actor get going first.
    wait_for_runs(&busy_actor, 100);

    let (report, games) = mpsc::channel();
    let busy_controls = busy_actor.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let arg = (2 * round_trips, busy_controls.clone(), report.clone());
            let options = ActorOptions::default();
            let server = rt.spawn_local(NoSupervisor, actor_fn(player), arg.clone(), options);
            let receiver = rt.spawn_local(NoSupervisor, actor_fn(player), arg, options);
            receiver
                .try_send(Ball::Opponent(server.clone(), false))
                .unwrap();
            server.try_send(Ball::Opponent(receiver, true)).unwrap();
            Ok(())
        })
        .unwrap();
    let game = games.recv_timeout(GAME_LIMIT);
    busy_actor.stop();
    let game = game.expect("the ping-pong pair did not finish in time");
    assert!(game.took < GAME_LIMIT, "{game:?}");
    runtime.start().unwrap();
    game
}

#[test]
fn ping_pong_pair_makes_progress_next_to_a_busy_actor() {
    let _turn = one_at_a_time();
    // The game finishes in time (checked in every attempt), and the busy actor kept running
    // during it: the pair was not merely run first. (A waking process may run ahead of busy ones
    // by up to the scheduler's sleeper credit, 2 ms, so a short game could legitimately run alone;
    // this one takes about 20 ms, a third of it the busy actor's: some 150 runs.)
    in_one_of_the_attempts(
        "the busy actor hardly ran during the game",
        || ping_pong_next_to_busy_actor(10_000),
        |game| game.busy_runs >= 20,
    );
}

/// Reports its name once it runs.
async fn reporter(
    _: actor::Context<(), ThreadLocal>,
    report: mpsc::Sender<&'static str>,
    name: &'static str,
) {
    report.send(name).unwrap();
}

/// [`reporter`] as a thread-safe actor.
async fn shared_reporter(
    _: actor::Context<(), ThreadSafe>,
    report: mpsc::Sender<&'static str>,
    name: &'static str,
) {
    report.send(name).unwrap();
}

/// A busy actor that spawns a [`reporter`] itself after its 100th run.
async fn busy_spawner(
    mut ctx: actor::Context<(), ThreadLocal>,
    busy: Busy,
    report: mpsc::Sender<&'static str>,
) {
    while !busy.stop.load(Ordering::Acquire) {
        work(WORK);
        if busy.runs.fetch_add(1, Ordering::AcqRel) + 1 == 100 {
            let arg = (report.clone(), "spawned by the busy actor");
            let _ = ctx.runtime().spawn_local(
                NoSupervisor,
                actor_fn(reporter),
                arg,
                ActorOptions::default(),
            );
        }
        yield_now().await;
    }
}

#[test]
fn new_processes_run_while_a_busy_actor_keeps_being_ready() {
    let _turn = one_at_a_time();
    let mut runtime = Runtime::setup().build().unwrap();
    let busy_actor = Busy::default();
    let (report, reports) = mpsc::channel();
    let arg = (busy_actor.clone(), report.clone());
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let _ = rt.spawn_local(
                NoSupervisor,
                actor_fn(busy_spawner),
                arg.clone(),
                ActorOptions::default(),
            );
            Ok(())
        })
        .unwrap();
    assert_eq!(
        reports.recv_timeout(TIMEOUT),
        Ok("spawned by the busy actor")
    );

    let runs_before = busy_actor.runs();
    let local_report = report.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let arg = (local_report.clone(), "spawned by run_on_workers");
            let _ = rt.spawn_local(
                NoSupervisor,
                actor_fn(reporter),
                arg,
                ActorOptions::default(),
            );
            let report = local_report.clone();
            rt.spawn_local_future(
                async move { report.send("local future").unwrap() },
                FutureOptions::default(),
            );
            Ok(())
        })
        .unwrap();
    let arg = (report.clone(), "thread-safe actor");
    let _ = runtime.spawn(
        NoSupervisor,
        actor_fn(shared_reporter),
        arg,
        ActorOptions::default(),
    );
    runtime.spawn_future(
        async move { report.send("Send future").unwrap() },
        FutureOptions::default(),
    );

    let mut ran: Vec<&str> = (0..4)
        .map(|_| reports.recv_timeout(TIMEOUT))
        .collect::<Result<_, _>>()
        .expect("a new process did not run");
    ran.sort_unstable();
    assert_eq!(
        ran,
        [
            "Send future",
            "local future",
            "spawned by run_on_workers",
            "thread-safe actor"
        ]
    );
    // The busy actor was ready (and running) all along.
    assert!(busy_actor.runs() > runs_before);
    busy_actor.stop();
    runtime.start().unwrap();
}

/// A busy actor started next to `old`: reports how often `old` ran during its first 200 runs.
async fn newcomer(_: actor::Context<(), ThreadLocal>, old: Busy, report: mpsc::Sender<usize>) {
    let old_runs = old.runs();
    for _ in 0..200 {
        work(WORK);
        yield_now().await;
    }
    report.send(old.runs() - old_runs).unwrap();
}

/// Starts a [`newcomer`] next to a busy actor that has run for a while; returns how often the
/// old one ran during the new one's first 200 runs.
fn old_runs_next_to_newcomer() -> usize {
    let old = Busy::default();
    let mut runtime = runtime_with_busy_actor(&old);
    // The old actor has built up run time that a new one does not have.
    wait_for_runs(&old, 500);
    let (report, reports) = mpsc::channel();
    let arg = (old.clone(), report);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let options = ActorOptions::default();
            let _ = rt.spawn_local(NoSupervisor, actor_fn(newcomer), arg.clone(), options);
            Ok(())
        })
        .unwrap();
    let old_runs = reports.recv_timeout(TIMEOUT);
    old.stop();
    let old_runs = old_runs.expect("the new actor did not finish");
    runtime.start().unwrap();
    old_runs
}

#[test]
fn a_new_busy_actor_does_not_starve_an_old_one() {
    let _turn = one_at_a_time();
    // They take turns: about 200. A new actor that started with no run time at all would run
    // 500 times before the old one ran again: 0.
    in_one_of_the_attempts(
        "the old actor hardly ran during 200 runs of the new one",
        old_runs_next_to_newcomer,
        |old_runs| *old_runs >= 100,
    );
}

/// A busy actor that stops once `total` reaches `limit`.
async fn counted_busy(
    _: actor::Context<(), ThreadLocal>,
    runs: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
    limit: usize,
) {
    while total.fetch_add(1, Ordering::AcqRel) < limit {
        work(WORK);
        runs.fetch_add(1, Ordering::AcqRel);
        yield_now().await;
    }
}

/// Runs a HIGH and a LOW priority busy actor until they ran [`TOTAL_RUNS`] times together;
/// returns how often each ran.
fn high_and_low_runs() -> (usize, usize) {
    let mut runtime = Runtime::setup().build().unwrap();
    let high = Arc::new(AtomicUsize::new(0));
    let low = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicUsize::new(0));
    let (high_runs, low_runs) = (high.clone(), low.clone());
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            for (runs, priority) in [(&high_runs, Priority::HIGH), (&low_runs, Priority::LOW)] {
                let arg = (runs.clone(), total.clone(), TOTAL_RUNS);
                let options = ActorOptions::default().with_priority(priority);
                let _ = rt.spawn_local(NoSupervisor, actor_fn(counted_busy), arg, options);
            }
            Ok(())
        })
        .unwrap();
    runtime.start().unwrap();
    let (high, low) = (high.load(Ordering::Acquire), low.load(Ordering::Acquire));
    assert_eq!(high + low, TOTAL_RUNS);
    (high, low)
}

/// Runs of the two actors of [`high_and_low_runs`] together.
const TOTAL_RUNS: usize = 4_000;

#[test]
fn high_priority_runs_more_often_than_low_priority() {
    let _turn = one_at_a_time();
    // A HIGH run is charged half its time and a LOW one 1.5 times: 3 to 1 expected (3,000 and
    // 1,000 runs); equal priorities would give 1 to 1.
    in_one_of_the_attempts(
        "HIGH did not run (much) more often than LOW",
        high_and_low_runs,
        |(high, low)| high * 2 > low * 3,
    );
}
