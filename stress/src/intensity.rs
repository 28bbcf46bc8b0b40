//! Item 2, restart intensity: an actor that keeps failing is stopped after
//! N restarts within T, one that fails rarely is restarted for ever, and
//! `join` reports how each ended.
//!
//! Supervisors made by `restart_supervisor!`, on a runtime of two workers:
//!
//! - **Always failing.** Actors that fail as soon as they start, under a
//!   limit of 3 restarts within 1 s: 2,000 thread-local and 1,000
//!   thread-safe ones (200 and 100 quick) and 20 synchronous ones (4
//!   quick), half of each kind returning an error and half panicking. Each
//!   must start exactly 4 times, `join` must report `Failed` (or
//!   `Panicked`), and a later `try_send` must fail with `Disconnected`,
//!   giving the message back.
//! - **Failing on every message, with messages queued.** Ten messages wait
//!   in the inbox of an actor that fails on each: it takes 4 (the first and
//!   3 restarts), is stopped, and the 6 left are dropped with its inbox;
//!   every message is dropped exactly once (no leak), and `join` reports
//!   `Failed`.
//! - **Rarely failing.** An actor under a limit of 3 restarts within 250 ms
//!   fails on a request (its caller gets `NoResponse`) 30 times (8 quick),
//!   one failure at least 100 ms after the previous one: never more than 3
//!   in a window, so it is restarted every time, and answers a ping after
//!   each restart. Then either it is told to stop (`join`: `Completed`), or,
//!   after a quiet 300 ms, it gets 4 failures at once: 3 restarts, then it is
//!   stopped (`join`: `Failed`).

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kiln::InboxSize;
use kiln::actor_ref::{ActorExit, RpcError, RpcMessage, SendError};
use kiln::{ActorRef, actor, actor_fn, restart_supervisor, sync};
use kiln_rt::timer::{Deadline, DeadlinePassed, Timer};
use kiln_rt::{
    ActorOptions, FutureOptions, Runtime, RuntimeRef, SyncActorOptions, ThreadLocal, ThreadSafe,
};

use crate::report::{self, Figure, INJECTED_PANIC, Outcome, check};
use kiln_rt::Spawn;

/// The limit of the always-failing actors: 3 restarts within 1 s.
const FAST_MAX: usize = 3;
const FAST_WINDOW: Duration = Duration::from_secs(1);
/// The limit of the rarely failing actor: 3 restarts within 250 ms ...
const RARE_MAX: usize = 3;
const RARE_WINDOW: Duration = Duration::from_millis(250);
/// ... which fails at most once every 100 ms.
const RARE_SPACING: Duration = Duration::from_millis(100);
/// Messages queued for the actor that fails on every message.
const QUEUED: u64 = 10;
/// The bound on any single wait of the scenario (a hang otherwise).
const WAIT: Duration = Duration::from_secs(10);

restart_supervisor!(
    /// Restarts at most 3 times within 1 s.
    FastSupervisor,
    Arc<Counts>,
    FAST_MAX,
    FAST_WINDOW
);

restart_supervisor!(
    /// Restarts at most 3 times within 250 ms.
    RareSupervisor,
    Arc<Counts>,
    RARE_MAX,
    RARE_WINDOW
);

/// What an actor counts across its restarts.
#[derive(Debug, Default)]
struct Counts {
    starts: AtomicU64,
    taken: AtomicU64,
}

impl Counts {
    fn starts(&self) -> u64 {
        self.starts.load(Ordering::Acquire)
    }

    fn taken(&self) -> u64 {
        self.taken.load(Ordering::Acquire)
    }
}

/// The error of the failing actors.
#[derive(Debug)]
struct Failure;

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("injected failure")
    }
}

/// Fails as soon as it starts: with an error, or by panicking.
async fn always_fails<RT>(
    _: actor::Context<u64, RT>,
    counts: Arc<Counts>,
    panic: bool,
) -> Result<(), Failure> {
    counts.starts.fetch_add(1, Ordering::AcqRel);
    if panic {
        panic!("{INJECTED_PANIC}");
    }
    Err(Failure)
}

/// The synchronous version of [`always_fails`].
fn always_fails_sync(
    _: sync::Context<u64, kiln_rt::access::Sync>,
    counts: Arc<Counts>,
    panic: bool,
) -> Result<(), Failure> {
    counts.starts.fetch_add(1, Ordering::AcqRel);
    if panic {
        panic!("{INJECTED_PANIC}");
    }
    Err(Failure)
}

restart_supervisor!(
    /// [`FastSupervisor`] for actors with a `(counts, panic)` argument.
    FastPairSupervisor,
    (Arc<Counts>, bool),
    FAST_MAX,
    FAST_WINDOW
);

/// A message that counts its drops.
struct Counted(Arc<AtomicU64>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// Fails on every message it takes.
async fn fails_on_message(
    mut ctx: actor::Context<Counted, ThreadLocal>,
    counts: Arc<Counts>,
) -> Result<(), Failure> {
    counts.starts.fetch_add(1, Ordering::AcqRel);
    match ctx.receive_next().await {
        Ok(msg) => {
            counts.taken.fetch_add(1, Ordering::AcqRel);
            drop(msg);
            Err(Failure)
        }
        Err(_) => Ok(()),
    }
}

/// The messages of the rarely failing actor.
enum Cmd {
    /// Fail while handling this request (the caller gets `NoResponse`).
    Fail(RpcMessage<(), ()>),
    /// Fail, for a message sent without waiting.
    FailNow,
    /// Answer with the number of starts.
    Ping(RpcMessage<(), u64>),
    /// Complete.
    Stop,
}

impl From<RpcMessage<(), ()>> for Cmd {
    fn from(msg: RpcMessage<(), ()>) -> Cmd {
        Cmd::Fail(msg)
    }
}

impl From<RpcMessage<(), u64>> for Cmd {
    fn from(msg: RpcMessage<(), u64>) -> Cmd {
        Cmd::Ping(msg)
    }
}

/// Fails when told to, answers pings, completes on `Stop`.
async fn rarely_fails(
    mut ctx: actor::Context<Cmd, ThreadLocal>,
    counts: Arc<Counts>,
) -> Result<(), Failure> {
    let starts = counts.starts.fetch_add(1, Ordering::AcqRel) + 1;
    while let Ok(cmd) = ctx.receive_next().await {
        match cmd {
            Cmd::Fail(request) => {
                counts.taken.fetch_add(1, Ordering::AcqRel);
                drop(request);
                return Err(Failure);
            }
            Cmd::FailNow => {
                counts.taken.fetch_add(1, Ordering::AcqRel);
                return Err(Failure);
            }
            Cmd::Ping(request) => {
                let _ = request.response.respond(starts);
            }
            Cmd::Stop => return Ok(()),
        }
    }
    Ok(())
}

/// The size of one version of the scenario.
#[derive(Copy, Clone, Debug)]
struct Config {
    /// Always-failing actors of each kind (thread-local errors, thread-local
    /// panics, thread-safe).
    always_failing: u64,
    /// Always-failing synchronous actors (each has a thread).
    sync_actors: u64,
    /// Failures of the rarely failing actor.
    rare_failures: u64,
}

const FULL: Config = Config {
    always_failing: 1_000,
    sync_actors: 20,
    rare_failures: 30,
};

const QUICK: Config = Config {
    always_failing: 100,
    sync_actors: 4,
    rare_failures: 8,
};

/// Runs the scenario: `quick` for the CI-sized version.
pub(crate) fn run(quick: bool) -> Outcome {
    let config = if quick { QUICK } else { FULL };
    let limit = Duration::from_secs(120);
    report::run_bounded("intensity", limit, move || intensity(config))
}

fn intensity(config: Config) -> Outcome {
    let mut runtime = Runtime::setup()
        .with_name("intensity")
        .num_threads(2)
        .build()
        .map_err(|err| format!("can't build the runtime: {err}"))?;

    // Synchronous actors are spawned from the runtime itself.
    let mut sync_actors = Vec::new();
    for i in 0..config.sync_actors {
        let counts = Arc::new(Counts::default());
        let panic = i % 2 == 1;
        let actor_ref = runtime
            .spawn_sync_actor(
                FastPairSupervisor::new((Arc::clone(&counts), panic)),
                actor_fn(always_fails_sync),
                (Arc::clone(&counts), panic),
                SyncActorOptions::default(),
            )
            .map_err(|err| format!("can't spawn a synchronous actor: {err}"))?;
        sync_actors.push((actor_ref, counts, panic, Instant::now()));
    }

    let result: Arc<Mutex<Option<Outcome>>> = Arc::new(Mutex::new(None));
    let driver_result = Arc::clone(&result);
    let sync_actors = Arc::new(Mutex::new(Some(sync_actors)));
    runtime
        .run_on_workers(move |rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() == 0 {
                let sync_actors = sync_actors
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                    .unwrap_or_default();
                let result = Arc::clone(&driver_result);
                let mut spawner = rt.clone();
                spawner.spawn_local_future(
                    async move {
                        let outcome = drive(rt, config, sync_actors).await;
                        *result.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
                    },
                    FutureOptions::default(),
                );
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the driver: {err}"))?;
    runtime
        .start()
        .map_err(|err| format!("the runtime failed: {err}"))?;
    let outcome = result.lock().unwrap_or_else(PoisonError::into_inner).take();
    outcome.unwrap_or_else(|| Err("the driver never finished".to_owned()))
}

/// An actor under test: its reference, counts, whether it panics, and when
/// it was spawned.
type Spawned = (ActorRef<u64>, Arc<Counts>, bool, Instant);

/// Runs the cases one after another on worker 0.
async fn drive(mut rt: RuntimeRef, config: Config, sync_actors: Vec<Spawned>) -> Outcome {
    let mut figures = vec![Figure::new(
        "restart limit of the failing actors",
        format!(
            "{FAST_MAX} restarts within {}",
            report::duration(FAST_WINDOW)
        ),
    )];

    // Always failing: thread-local (errors and panics) and thread-safe.
    let mut local = Vec::new();
    let mut shared = Vec::new();
    for i in 0..config.always_failing * 2 {
        let counts = Arc::new(Counts::default());
        let panic = i % 2 == 1;
        let supervisor = FastPairSupervisor::new((Arc::clone(&counts), panic));
        let arg = (Arc::clone(&counts), panic);
        let actor_ref = rt.spawn_local(
            supervisor,
            actor_fn(always_fails::<ThreadLocal>),
            arg,
            ActorOptions::default(),
        );
        local.push((actor_ref, counts, panic, Instant::now()));
    }
    for i in 0..config.always_failing {
        let counts = Arc::new(Counts::default());
        let panic = i % 2 == 1;
        let supervisor = FastPairSupervisor::new((Arc::clone(&counts), panic));
        let arg = (Arc::clone(&counts), panic);
        let actor_ref = rt.spawn(
            supervisor,
            actor_fn(always_fails::<ThreadSafe>),
            arg,
            ActorOptions::default(),
        );
        shared.push((actor_ref, counts, panic, Instant::now()));
    }
    for (kind, actors) in [
        ("thread-local", local),
        ("thread-safe", shared),
        ("synchronous", sync_actors),
    ] {
        let slowest = check_always_failing(&rt, kind, &actors).await?;
        let panics = actors.iter().filter(|a| a.2).count();
        figures.push(Figure::new(
            format!("always failing, {kind}: actors (panicking ones)"),
            format!("{} ({panics})", actors.len()),
        ));
        figures.push(Figure::new(
            format!("always failing, {kind}: starts each, join, slowest stop"),
            format!(
                "{}, Failed/Panicked, {}",
                FAST_MAX + 1,
                report::duration(slowest)
            ),
        ));
    }

    figures.extend(queued_on_stop(&mut rt).await?);
    figures.extend(rarely_failing(&mut rt, config.rare_failures, false).await?);
    figures.extend(rarely_failing(&mut rt, config.rare_failures, true).await?);
    Ok(figures)
}

/// Waits for `future` at most [`WAIT`]; a longer wait is a hang.
async fn bounded<T>(
    rt: &RuntimeRef,
    what: &str,
    future: impl Future<Output = T>,
) -> Result<T, String> {
    let wrapped = async { Ok::<T, DeadlinePassed>(future.await) };
    Deadline::after(rt.clone(), WAIT, wrapped)
        .await
        .map_err(|_| format!("{what} did not end within {}", report::duration(WAIT)))
}

/// Joins every actor: each must have started exactly `FAST_MAX + 1` times
/// and ended as `Failed` or `Panicked`; returns the longest time from spawn
/// to the end of the join.
async fn check_always_failing(
    rt: &RuntimeRef,
    kind: &str,
    actors: &[Spawned],
) -> Result<Duration, String> {
    let mut slowest = Duration::ZERO;
    for (actor_ref, counts, panic, spawned) in actors {
        let exit = bounded(rt, "join of an always-failing actor", actor_ref.join()).await?;
        slowest = slowest.max(spawned.elapsed());
        let expected = if *panic {
            ActorExit::Panicked
        } else {
            ActorExit::Failed
        };
        check(exit == expected, || {
            format!("{kind}: join of an always-failing actor reported {exit:?}, not {expected:?}")
        })?;
        let starts = counts.starts();
        check(starts == FAST_MAX as u64 + 1, || {
            format!(
                "{kind}: an always-failing actor started {starts} times under a limit of \
                 {FAST_MAX} restarts"
            )
        })?;
        match actor_ref.try_send(7_u64) {
            Err(SendError::Disconnected(7)) => {}
            other => {
                return Err(format!(
                    "{kind}: try_send to a stopped actor returned {other:?}, not Disconnected(msg)"
                ));
            }
        }
    }
    Ok(slowest)
}

/// An actor failing on every message, with [`QUEUED`] messages waiting.
async fn queued_on_stop(rt: &mut RuntimeRef) -> Result<Vec<Figure>, String> {
    let counts = Arc::new(Counts::default());
    let dropped = Arc::new(AtomicU64::new(0));
    let actor_ref = rt.spawn_local(
        FastSupervisor::new(Arc::clone(&counts)),
        actor_fn(fails_on_message),
        Arc::clone(&counts),
        ActorOptions::default().with_inbox_size(InboxSize::fixed(16)),
    );
    // The actor has not run yet: all of these wait in its inbox.
    for _ in 0..QUEUED {
        if actor_ref.try_send(Counted(Arc::clone(&dropped))).is_err() {
            return Err("can't queue the messages".to_owned());
        }
    }
    let exit = bounded(
        rt,
        "join of the actor failing on every message",
        actor_ref.join(),
    )
    .await?;
    check(exit == ActorExit::Failed, || {
        format!("join of the actor failing on every message reported {exit:?}")
    })?;
    let (starts, taken) = (counts.starts(), counts.taken());
    check(starts == FAST_MAX as u64 + 1 && taken == starts, || {
        format!("the actor failing on every message started {starts} times and took {taken}")
    })?;
    let dropped_now = dropped.load(Ordering::Acquire);
    check(dropped_now == QUEUED, || {
        format!("{dropped_now} of {QUEUED} queued messages dropped (leaked or dropped twice)")
    })?;
    match actor_ref.try_send(Counted(Arc::clone(&dropped))) {
        Err(SendError::Disconnected(_)) => {}
        other => {
            return Err(format!(
                "try_send to the stopped actor returned {:?}",
                other.map_err(|err| err.to_string())
            ));
        }
    }
    Ok(vec![Figure::new(
        "failing on every message, 10 queued: taken, dropped on stop, join",
        format!("{taken}, {}, {exit:?}", QUEUED - taken),
    )])
}

/// The rarely failing actor: `failures` spaced failures, each answered with
/// `NoResponse` and followed by a ping; then `Stop`, or (`burst`) a quiet
/// window and four failures at once.
async fn rarely_failing(
    rt: &mut RuntimeRef,
    failures: u64,
    burst: bool,
) -> Result<Vec<Figure>, String> {
    let counts = Arc::new(Counts::default());
    let actor_ref = rt.spawn_local(
        RareSupervisor::new(Arc::clone(&counts)),
        actor_fn(rarely_fails),
        Arc::clone(&counts),
        ActorOptions::default(),
    );
    let start = Instant::now();
    for n in 0..failures {
        let failed: Result<(), RpcError> =
            bounded(rt, "a request to the failing actor", actor_ref.rpc(())).await?;
        check(failed == Err(RpcError::NoResponse), || {
            format!("failure {n}: the caller got {failed:?}, not NoResponse")
        })?;
        let starts: Result<u64, RpcError> =
            bounded(rt, "a ping of the restarted actor", actor_ref.rpc(())).await?;
        check(starts == Ok(n + 2), || {
            format!(
                "after failure {n} (limit {RARE_MAX} within {}) the actor answered {starts:?}: \
                 it was not restarted",
                report::duration(RARE_WINDOW)
            )
        })?;
        Timer::after(rt.clone(), RARE_SPACING).await;
    }
    let spaced = start.elapsed();
    let mut figures = Vec::new();
    if burst {
        // Let every restart so far leave the window, then fail 4 times.
        Timer::after(rt.clone(), RARE_WINDOW + Duration::from_millis(50)).await;
        for _ in 0..=RARE_MAX {
            if actor_ref.try_send(Cmd::FailNow).is_err() {
                return Err("can't send the burst of failures".to_owned());
            }
        }
        let exit = bounded(rt, "join of the failing actor", actor_ref.join()).await?;
        let starts = counts.starts();
        let expected = failures + 1 + RARE_MAX as u64;
        check(exit == ActorExit::Failed && starts == expected, || {
            format!(
                "after a burst of {} failures: join {exit:?}, {starts} starts (expected Failed, \
                 {expected})",
                RARE_MAX + 1
            )
        })?;
        figures.push(Figure::new(
            "rarely failing, then a burst of 4: restarts in the burst, join",
            format!("{RARE_MAX}, {exit:?}"),
        ));
    } else {
        if actor_ref.try_send(Cmd::Stop).is_err() {
            return Err("can't send Stop".to_owned());
        }
        let exit = bounded(rt, "join of the failing actor", actor_ref.join()).await?;
        let starts = counts.starts();
        check(
            exit == ActorExit::Completed && starts == failures + 1,
            || format!("after Stop: join {exit:?}, {starts} starts"),
        )?;
        figures.push(Figure::new(
            format!(
                "rarely failing (>= {} apart, limit {RARE_MAX} within {}): restarts, join",
                report::duration(RARE_SPACING),
                report::duration(RARE_WINDOW)
            ),
            format!("{failures} in {}, {exit:?}", report::duration(spaced)),
        ));
    }
    Ok(figures)
}
