//! Item 7, starvation: a ping-pong pair next to busy actors keeps a round
//! trip within the worker's time slice.
//!
//! A busy actor is always ready: it works (spins) for 100 µs and yields,
//! over and over. A ping-pong pair plays 20,000 rounds (2,000 quick), for
//! at least [`MIN_GAME`], and on until the busy actors ran (at most
//! [`MAX_GAME`]): the pinger sends the time, the ponger answers
//! at once, the pinger records the round trip. Setups, each on a fresh runtime with the default time slice
//! (2 ms, set explicitly):
//!
//! - **alone**: the pair on one worker, no busy actor (the reference);
//! - **one busy actor** and the pair on one worker;
//! - **four busy actors** and the pair on one worker;
//! - **across workers**: the ponger and a busy actor on worker 0, the
//!   pinger on worker 1, so every ping is a wake-up from another thread,
//!   which a busy worker looks at once per time slice.
//!
//! And a thread-safe consumer next to busy thread-local producers on two
//! workers gets a fair share of its worker (see [`thread_safe`]).
//!
//! The checks: on one worker the round trip's p99 is within the time slice
//! (the scheduler runs the pair, which uses little CPU, before the busy
//! actors, so a round trip waits for at most a busy actor's run or two);
//! across workers within two time slices (a ping may wait for the end of the
//! current slice); and the busy actors keep running (they are not starved
//! either).

use std::convert::Infallible;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use kiln::future::yield_now;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

use crate::report::{self, Figure, Outcome, Percentiles, check};

/// The worker's time slice (the default, set explicitly).
const TIME_SLICE: Duration = Duration::from_millis(2);
/// How often a setup is tried, at most, to get its p99 within the bound.
const ATTEMPTS: usize = 5;
/// How long a busy actor works before it yields.
const WORK: Duration = Duration::from_micros(100);
/// The shortest game. A fair scheduler lets the pair run until each of
/// them has used about as much CPU as a busy actor's run (`WORK`) before the
/// busy actor runs again: a few thousand round trips. A game of a few
/// thousand rounds can therefore end, on a fast run, before any busy actor
/// had its turn, and "the busy actors ran" would prove nothing (or fail for
/// no fault). Over 10 ms of playing, a scheduler that is fair gives the busy
/// actors many runs, and one that starves them gives none.
const MIN_GAME: Duration = Duration::from_millis(10);
/// How long the pair plays on, past [`MIN_GAME`], for the busy actors to
/// get a run. The game is timed by the wall clock, and on a loaded machine
/// the worker's thread may get only a small part of 10 ms: the pair, always
/// ready and first in line, can use it all (a quick CI run failed so, at a
/// load average of 9). A scheduler that starves the busy actors never gives
/// them a run however long the pair plays; one that is fair gives them one
/// as soon as the pair has had about a busy actor's run of CPU time.
const MAX_GAME: Duration = Duration::from_secs(2);

/// Works (spins) for `duration`.
fn work(duration: Duration) {
    let end = Instant::now() + duration;
    while Instant::now() < end {
        spin_loop();
    }
}

/// The busy actors' controls: stop them, count their runs.
#[derive(Clone, Default)]
struct Busy {
    /// How many busy actors there are.
    actors: usize,
    stop: Arc<AtomicBool>,
    runs: Arc<AtomicU64>,
}

/// Works, yields, works, ... until stopped: always ready to run.
async fn busy(_: actor::Context<(), ThreadLocal>, busy: Busy) {
    while !busy.stop.load(Ordering::Acquire) {
        work(WORK);
        busy.runs.fetch_add(1, Ordering::Relaxed);
        yield_now().await;
    }
}

/// A ping: when it was sent, and where to answer.
struct Ping {
    sent: Instant,
    reply: ActorRef<Instant>,
}

/// Answers every ping at once.
async fn ponger(mut ctx: actor::Context<Ping, ThreadLocal>) {
    while let Ok(ping) = ctx.receive_next().await {
        let _ = ping.reply.try_send(ping.sent);
    }
}

/// What the pinger reports: the round trips, and the busy actors' runs
/// during the game with the game's length.
struct Game {
    round_trips: Vec<Duration>,
    busy_runs: u64,
    took: Duration,
}

/// Plays at least `rounds` rounds with the ponger, and on until the game
/// lasted [`MIN_GAME`] and the busy actors ran (for at most [`MAX_GAME`]),
/// then stops the busy actors and reports the game.
async fn pinger(
    mut ctx: actor::Context<Instant, ThreadLocal>,
    ponger: ActorRef<Ping>,
    rounds: usize,
    busy: Busy,
    report: mpsc::Sender<Result<Game, String>>,
) {
    let me = ctx.actor_ref();
    let start = Instant::now();
    let runs_before = busy.runs.load(Ordering::Relaxed);
    let mut round_trips = Vec::with_capacity(rounds);
    let mut result = Ok(());
    let busy_waiting =
        |busy: &Busy| busy.actors > 0 && busy.runs.load(Ordering::Relaxed) == runs_before;
    while round_trips.len() < rounds
        || start.elapsed() < MIN_GAME
        || (busy_waiting(&busy) && start.elapsed() < MAX_GAME)
    {
        let sent = Instant::now();
        if ponger
            .send(Ping {
                sent,
                reply: me.clone(),
            })
            .await
            .is_err()
        {
            result = Err("the ponger stopped".to_owned());
            break;
        }
        match ctx.receive_next().await {
            Ok(echo) if echo == sent => round_trips.push(sent.elapsed()),
            Ok(_) => {
                result = Err("the ponger answered the wrong ping".to_owned());
                break;
            }
            Err(_) => {
                result = Err("the pinger's inbox disconnected".to_owned());
                break;
            }
        }
    }
    let game = Game {
        round_trips,
        busy_runs: busy.runs.load(Ordering::Relaxed) - runs_before,
        took: start.elapsed(),
    };
    busy.stop.store(true, Ordering::Release);
    let _ = report.send(result.map(|()| game));
}

/// One setup: busy actors next to the pair, and where the pinger runs.
#[derive(Copy, Clone, Debug)]
struct Setup {
    name: &'static str,
    busy_actors: usize,
    /// Whether the pinger runs on a second worker.
    across: bool,
    /// The bound on the round trip's p99.
    bound: Duration,
}

const SETUPS: [Setup; 4] = [
    Setup {
        name: "alone",
        busy_actors: 0,
        across: false,
        bound: TIME_SLICE,
    },
    Setup {
        name: "one busy actor",
        busy_actors: 1,
        across: false,
        bound: TIME_SLICE,
    },
    Setup {
        name: "four busy actors",
        busy_actors: 4,
        across: false,
        bound: TIME_SLICE,
    },
    Setup {
        name: "one busy actor, pinger on another worker",
        busy_actors: 1,
        across: true,
        bound: Duration::from_millis(4),
    },
];

/// Runs the scenario: `quick` for the CI-sized version.
pub(crate) fn run(quick: bool) -> Outcome {
    let rounds = if quick { 2_000 } else { 20_000 };
    report::run_bounded("starvation", Duration::from_secs(300), move || {
        let mut figures = vec![Figure::new(
            "time slice / busy actor's run",
            format!(
                "{} / {}",
                report::duration(TIME_SLICE),
                report::duration(WORK)
            ),
        )];
        for setup in SETUPS {
            figures.extend(attempt(setup, rounds)?);
        }
        figures.extend(thread_safe::run(quick)?);
        Ok(figures)
    })
}

/// Plays `setup` until its p99 is within the bound, at most [`ATTEMPTS`]
/// times: the OS may preempt the worker thread in the middle of a busy
/// actor's run (a loaded machine), which skews one attempt but not every
/// one; a scheduler that starves the pair fails them all.
fn attempt(setup: Setup, rounds: usize) -> Result<Vec<Figure>, String> {
    let mut p99s = Vec::new();
    for n in 1..=ATTEMPTS {
        let (round_trips, busy_share) = play(setup, rounds)?;
        p99s.push(report::duration(round_trips.p99()));
        if round_trips.p99() <= setup.bound {
            return Ok(vec![
                Figure::new(
                    format!("{}: round trip p50 / p99 / max", setup.name),
                    round_trips.summary(),
                ),
                Figure::new(
                    format!("{}: p99 bound, busy actors' work, attempts", setup.name),
                    format!(
                        "{}, {busy_share}, {n} (p99 {})",
                        report::duration(setup.bound),
                        p99s.join(", ")
                    ),
                ),
            ]);
        }
    }
    Err(format!(
        "{}: the pair's round trip p99 is above {} in all {ATTEMPTS} attempts: {}",
        setup.name,
        report::duration(setup.bound),
        p99s.join(", ")
    ))
}

/// Plays one setup on a fresh runtime; returns the round trips and the
/// busy actors' share of the run.
fn play(setup: Setup, rounds: usize) -> Result<(Percentiles, String), String> {
    let workers = if setup.across { 2 } else { 1 };
    let mut runtime = Runtime::setup()
        .with_name("starvation")
        .num_threads(workers)
        .with_time_slice(TIME_SLICE)
        .build()
        .map_err(|err| format!("can't build the runtime: {err}"))?;
    let busy_actors = Busy {
        actors: setup.busy_actors,
        ..Busy::default()
    };
    let (report_sender, reports) = mpsc::channel();
    let (ponger_sender, pongers) = mpsc::channel();
    let spawn_busy = busy_actors.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() == 0 {
                for _ in 0..setup.busy_actors {
                    let _ = rt.spawn_local(
                        NoSupervisor,
                        actor_fn(busy),
                        spawn_busy.clone(),
                        ActorOptions::default(),
                    );
                }
                let ponger =
                    rt.spawn_local(NoSupervisor, actor_fn(ponger), (), ActorOptions::default());
                ponger_sender.send(ponger).expect("the scenario waits");
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the busy actors: {err}"))?;
    let ponger_ref = pongers
        .recv()
        .map_err(|_| "the ponger's reference never came".to_owned())?;
    let pinger_worker = usize::from(setup.across);
    let pinger_busy = busy_actors.clone();
    let pinger_ref = Arc::new(Mutex::new(Some(ponger_ref)));
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() == pinger_worker {
                let ponger = pinger_ref
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                    .expect("one pinger");
                let arg = (ponger, rounds, pinger_busy.clone(), report_sender.clone());
                let _ =
                    rt.spawn_local(NoSupervisor, actor_fn(pinger), arg, ActorOptions::default());
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the pinger: {err}"))?;

    runtime
        .start()
        .map_err(|err| format!("the runtime failed: {err}"))?;
    let game = reports
        .try_recv()
        .map_err(|_| "the pinger never reported".to_owned())??;
    let round_trips = game.round_trips;
    check(round_trips.len() >= rounds, || {
        format!("{}: {} of {rounds} rounds", setup.name, round_trips.len())
    })?;
    let round_trips = Percentiles::new(round_trips);
    let busy_runs = game.busy_runs;
    check(setup.busy_actors == 0 || busy_runs > 0, || {
        format!("{}: the busy actors never ran (starved)", setup.name)
    })?;
    let busy_share = if setup.busy_actors == 0 {
        "-".to_owned()
    } else {
        let busy_time = WORK * u32::try_from(busy_runs).unwrap_or(u32::MAX);
        format!(
            "{:.0}% of the game",
            busy_time.as_secs_f64() * 100.0 / game.took.as_secs_f64()
        )
    };
    Ok((round_trips, busy_share))
}

mod thread_safe;
