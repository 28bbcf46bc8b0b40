//! Item 8, timers: 100,000 timers with random deadlines and random
//! cancellations; none fires early, and cancelled ones free their memory.
//!
//! **Firing.** 100,000 timers (20,000 quick) on a runtime of two workers:
//! 90% in thread-local futures spread over both workers (each worker's own
//! timing wheel), 10% in futures spawned by a thread-safe actor (the shared
//! wheel). Each gets a deadline at a random point of 2 s (1 s quick) that
//! start once every timer is registered (1 s after spawning, 0.5 s quick;
//! a timer registered later is reported); half of them are also cancelled
//! at a random point before their deadline (a `Deadline` around the timer,
//! whose expiry drops it). A timer that completes must find
//! `Instant::now()` at or after its deadline (else it fired early); one
//! that is cancelled must not have completed. Every
//! timer ends exactly one of the two ways. Figures: lateness (completion
//! minus deadline, as the future sees it) p50, p99 and max.
//!
//! **Memory.** An allocation-counting global allocator (`report::heap`)
//! counts the live heap bytes while a future on an otherwise idle runtime
//! registers 100,000 timers due in an hour and then cancels them all, in
//! random order: while they are pending they cost some bytes each; once
//! they are cancelled the live heap must be back where it started (within
//! 16 KiB), long before their deadline. Then 1,000,000 cancellations
//! (100,000 quick) with at most 1,000 timers pending at a time: the live
//! heap must stay within what 1,000 pending timers take, so cancelled
//! timers do not accumulate (their slab entries are reused; a wheel keeps a
//! small slab, up to 4,096 entries, for reuse once it is empty, and hands a
//! bigger one back to the allocator). Both for a worker's wheel
//! (thread-local) and the shared one (thread-safe).

use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use kiln::supervisor::NoSupervisor;
use kiln::{actor, actor_fn};
use kiln_rt::access::Access;
use kiln_rt::timer::{Deadline, DeadlinePassed, Timer};
use kiln_rt::{ActorOptions, FutureOptions, Runtime, RuntimeRef, ThreadSafe};

use crate::report::{self, Figure, Outcome, Percentiles, Rng, check, heap};
use kiln_rt::Spawn;

/// The size of one version of the scenario.
#[derive(Copy, Clone, Debug)]
struct Config {
    timers: u64,
    /// The time from spawning the timers to the epoch their deadlines
    /// count from, for all of them to be registered.
    settle: Duration,
    span: Duration,
    churn: u64,
}

const FULL: Config = Config {
    timers: 100_000,
    settle: Duration::from_millis(1_000),
    span: Duration::from_secs(2),
    churn: 1_000_000,
};

const QUICK: Config = Config {
    timers: 20_000,
    settle: Duration::from_millis(500),
    span: Duration::from_secs(1),
    churn: 100_000,
};

/// Percent of the timers in thread-safe futures (the shared wheel).
const SHARED_PERCENT: u64 = 10;
/// Percent of the timers that are cancelled.
const CANCEL_PERCENT: u64 = 50;
/// Timers pending at a time during the churn.
const CHURN_PENDING: usize = 1_000;
/// How far the live heap may be off its start once every timer is gone.
const LEFT_OVER: i64 = 16 << 10;
/// Timers of the memory test are due this far ahead (and never fire).
const FAR: Duration = Duration::from_secs(3_600);

/// One timer: its deadline and, maybe, when it is cancelled (both from the
/// common epoch).
#[derive(Copy, Clone, Debug)]
struct Plan {
    deadline: Duration,
    cancel: Option<Duration>,
}

impl Plan {
    fn random(rng: &mut Rng, span: Duration) -> Plan {
        let deadline = rng.duration_below(span);
        let cancel = rng
            .chance(CANCEL_PERCENT)
            .then(|| rng.duration_below(deadline));
        Plan { deadline, cancel }
    }
}

/// What the timers of one wheel saw.
#[derive(Debug, Default)]
struct Seen {
    fired: u64,
    cancelled: u64,
    /// Completed before their deadline.
    early: u64,
    /// Cancellations (the `Deadline`'s timer) that came before their time.
    early_cancel: u64,
    /// Planned to be cancelled, but the deadline had passed by the time the
    /// cancellation ran (so the timer completed: that is right).
    fired_before_cancel: u64,
    lateness: Vec<Duration>,
    /// Timers first polled (registered) after the epoch.
    registered_late: u64,
}

type Shared = Arc<Mutex<Seen>>;

fn lock(seen: &Shared) -> std::sync::MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One timer, as planned, from `epoch`.
async fn timer<RT: Access + Clone>(rt: RT, epoch: Instant, plan: Plan, seen: Shared) {
    if Instant::now() >= epoch {
        lock(&seen).registered_late += 1;
    }
    let base = epoch;
    let deadline = base + plan.deadline;
    let fired = match plan.cancel {
        None => {
            Timer::at(rt, deadline).await;
            true
        }
        Some(cancel) => {
            let cancel_at = base + cancel;
            let timer = async {
                Timer::at(rt.clone(), deadline).await;
                Ok::<(), DeadlinePassed>(())
            };
            match Deadline::at(rt.clone(), cancel_at, timer).await {
                Ok(()) => true,
                Err(DeadlinePassed) => {
                    let now = Instant::now();
                    let mut seen = lock(&seen);
                    seen.cancelled += 1;
                    if now < cancel_at {
                        seen.early_cancel += 1;
                    }
                    false
                }
            }
        }
    };
    if fired {
        let now = Instant::now();
        let mut seen = lock(&seen);
        seen.fired += 1;
        if now < deadline {
            seen.early += 1;
        } else {
            seen.lateness.push(now - deadline);
        }
        if plan.cancel.is_some() {
            seen.fired_before_cancel += 1;
        }
    }
}

/// Spawns the thread-safe timers.
async fn shared_timers(
    mut ctx: actor::Context<(), ThreadSafe>,
    epoch: Instant,
    plans: Arc<Vec<Plan>>,
    seen: Shared,
) {
    for plan in plans.iter().copied() {
        let rt = ctx.runtime_ref().clone();
        let future = timer(rt, epoch, plan, Arc::clone(&seen));
        ctx.runtime().spawn_future(future, FutureOptions::default());
    }
}

/// Runs the scenario: `quick` for the CI-sized version.
pub(crate) fn run(quick: bool) -> Outcome {
    let config = if quick { QUICK } else { FULL };
    let limit = config.settle + config.span + Duration::from_secs(120);
    let mut figures = report::run_bounded("timers", limit, move || firing(config))?;
    figures.extend(report::run_bounded(
        "timer memory",
        Duration::from_secs(120),
        move || memory(config),
    )?);
    Ok(figures)
}

/// Timers with random deadlines and cancellations.
fn firing(config: Config) -> Outcome {
    let mut rng = Rng::new(8);
    let mut local_plans = [Vec::new(), Vec::new()];
    let mut shared_plans = Vec::new();
    let mut planned_cancels = 0;
    for i in 0..config.timers {
        let plan = Plan::random(&mut rng, config.span);
        planned_cancels += u64::from(plan.cancel.is_some());
        if rng.chance(SHARED_PERCENT) {
            shared_plans.push(plan);
        } else {
            local_plans[(i % 2) as usize].push(plan);
        }
    }
    let local_plans = Arc::new(local_plans);
    let shared_count = shared_plans.len() as u64;
    let local_seen: Shared = Arc::default();
    let shared_seen: Shared = Arc::default();

    let mut runtime = Runtime::setup()
        .with_name("timers")
        .num_threads(2)
        .build()
        .map_err(|err| format!("can't build the runtime: {err}"))?;
    // The deadlines count from an epoch after every timer has been
    // registered: otherwise timers due early would wait behind the polls
    // that spawn and register the others, which measures spawning, not
    // timers.
    let epoch = Instant::now() + config.settle;
    let spawn_seen = Arc::clone(&local_seen);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            for plan in local_plans[rt.worker_index()].iter().copied() {
                let future = timer(rt.clone(), epoch, plan, Arc::clone(&spawn_seen));
                rt.spawn_local_future(future, FutureOptions::default());
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the timers: {err}"))?;
    let _ = runtime.spawn(
        NoSupervisor,
        actor_fn(shared_timers),
        (epoch, Arc::new(shared_plans), Arc::clone(&shared_seen)),
        ActorOptions::default(),
    );
    let start = Instant::now();
    runtime
        .start()
        .map_err(|err| format!("the runtime failed: {err}"))?;
    let elapsed = start.elapsed();

    let mut lateness = Vec::new();
    let (mut fired, mut cancelled, mut fired_before_cancel) = (0, 0, 0);
    for (wheel, seen, count) in [
        ("thread-local", &local_seen, config.timers - shared_count),
        ("shared", &shared_seen, shared_count),
    ] {
        let mut seen = lock(seen);
        check(seen.registered_late == 0, || {
            format!(
                "{wheel}: {} timers were first polled after the epoch (a busy machine?)",
                seen.registered_late
            )
        })?;
        check(seen.early == 0, || {
            format!("{wheel}: {} timers fired early", seen.early)
        })?;
        check(seen.early_cancel == 0, || {
            format!("{wheel}: {} deadlines passed early", seen.early_cancel)
        })?;
        check(seen.fired + seen.cancelled == count, || {
            format!(
                "{wheel}: {} timers fired and {} were cancelled, of {count}: the others never ended",
                seen.fired, seen.cancelled
            )
        })?;
        fired += seen.fired;
        cancelled += seen.cancelled;
        fired_before_cancel += seen.fired_before_cancel;
        lateness.append(&mut seen.lateness);
    }
    check(cancelled + fired_before_cancel == planned_cancels, || {
        format!(
            "{planned_cancels} cancellations planned, {cancelled} cancelled and \
             {fired_before_cancel} fired first"
        )
    })?;
    let lateness = Percentiles::new(lateness);
    Ok(vec![
        Figure::new(
            "timers (thread-local / shared wheel)",
            format!(
                "{} ({} / {})",
                report::count(config.timers),
                report::count(config.timers - shared_count),
                report::count(shared_count)
            ),
        ),
        Figure::new(
            "deadlines within (from an epoch after all are registered)",
            report::duration(config.span),
        ),
        Figure::new(
            "fired / cancelled / fired before their cancellation",
            format!(
                "{} / {} / {}",
                report::count(fired),
                report::count(cancelled),
                report::count(fired_before_cancel)
            ),
        ),
        Figure::new("fired early", 0),
        Figure::new("lateness p50 / p99 / max", lateness.summary()),
        Figure::new("run time", report::duration(elapsed)),
    ])
}

/// What the memory test measured on one wheel.
#[derive(Debug, Default)]
struct Memory {
    /// Live heap bytes per pending timer (the slab and the `Vec` holding
    /// them).
    per_pending: u64,
    /// Live heap change once all were cancelled.
    after_cancel: i64,
    /// The most live heap during the churn, and its change at the end.
    churn_peak: i64,
    after_churn: i64,
}

/// Registers, then cancels, timers with access `rt`; measures the heap.
async fn measure<RT: Access + Clone>(rt: RT, timers: u64, churn: u64) -> Memory {
    let mut rng = Rng::new(88);
    let mut memory = Memory::default();
    let counting = heap::Counting::start();

    // Register `timers` timers, due in an hour or two.
    let now = Instant::now();
    let mut pending: Vec<Timer<RT>> = (0..timers)
        .map(|_| Timer::at(rt.clone(), now + FAR + rng.duration_below(FAR)))
        .collect();
    register(&mut pending).await;
    let live = counting.live_change();
    memory.per_pending = u64::try_from(live).unwrap_or(0) / timers.max(1);
    // Cancel them, in random order.
    while !pending.is_empty() {
        let i = rng.below(pending.len() as u64) as usize;
        drop(pending.swap_remove(i));
    }
    drop(pending);
    memory.after_cancel = counting.live_change();

    // Churn: a new timer, and a random pending one cancelled, over and over.
    let start = counting.live_change();
    let mut pending: Vec<Timer<RT>> = Vec::with_capacity(CHURN_PENDING + 1);
    for n in 0..churn {
        let mut timer = Timer::at(rt.clone(), Instant::now() + FAR + rng.duration_below(FAR));
        register(std::slice::from_mut(&mut timer)).await;
        pending.push(timer);
        if pending.len() > CHURN_PENDING {
            let i = rng.below(pending.len() as u64) as usize;
            drop(pending.swap_remove(i));
        }
        if n % 1_000 == 0 {
            memory.churn_peak = memory.churn_peak.max(counting.live_change() - start);
        }
    }
    memory.churn_peak = memory.churn_peak.max(counting.live_change() - start);
    drop(pending);
    memory.after_churn = counting.live_change();
    drop(counting);
    memory
}

/// Polls every timer once, so that it is registered with its wheel.
async fn register<RT: Access>(timers: &mut [Timer<RT>]) {
    poll_fn(|cx| {
        for timer in timers.iter_mut() {
            // Due in an hour: pending.
            let _ = Pin::new(timer).poll(cx);
        }
        Poll::Ready(())
    })
    .await;
}

/// The memory test in a thread-safe actor (the shared wheel).
async fn shared_memory(
    ctx: actor::Context<(), ThreadSafe>,
    config: Config,
    result: Arc<Mutex<Option<Memory>>>,
) {
    let memory = measure(ctx.runtime_ref().clone(), config.timers, config.churn).await;
    *result.lock().unwrap_or_else(PoisonError::into_inner) = Some(memory);
}

/// The memory test, on each kind of wheel.
fn memory(config: Config) -> Outcome {
    let mut figures = Vec::new();
    for wheel in ["thread-local", "shared"] {
        let mut runtime = Runtime::setup()
            .with_name("timer-memory")
            .build()
            .map_err(|err| format!("can't build the runtime: {err}"))?;
        let result: Arc<Mutex<Option<Memory>>> = Arc::default();
        if wheel == "shared" {
            let _ = runtime.spawn(
                NoSupervisor,
                actor_fn(shared_memory),
                (config, Arc::clone(&result)),
                ActorOptions::default(),
            );
        } else {
            let local_result = Arc::clone(&result);
            runtime
                .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                    let result = Arc::clone(&local_result);
                    let access = rt.clone();
                    rt.spawn_local_future(
                        async move {
                            let memory = measure(access, config.timers, config.churn).await;
                            *result.lock().unwrap_or_else(PoisonError::into_inner) = Some(memory);
                        },
                        FutureOptions::default(),
                    );
                    Ok(())
                })
                .map_err(|err| format!("can't spawn the test: {err}"))?;
        }
        runtime
            .start()
            .map_err(|err| format!("the runtime failed: {err}"))?;
        let memory = result
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| format!("{wheel}: the memory test never finished"))?;
        check(memory.after_cancel.abs() <= LEFT_OVER, || {
            format!(
                "{wheel} wheel: {} timers cancelled, yet the live heap changed by {} (not freed)",
                report::count(config.timers),
                report::signed_bytes(memory.after_cancel)
            )
        })?;
        let churn_bound = (CHURN_PENDING as u64 * (memory.per_pending + 64)) as i64;
        check(memory.churn_peak <= churn_bound, || {
            format!(
                "{wheel} wheel: with at most {CHURN_PENDING} timers pending the live heap grew by \
                 {} (more than {}): cancelled timers accumulate",
                report::signed_bytes(memory.churn_peak),
                report::signed_bytes(churn_bound)
            )
        })?;
        // A wheel keeps a small slab (up to 4,096 entries) for reuse once
        // it is empty; only a bigger one goes back to the allocator.
        check(memory.after_churn <= churn_bound, || {
            format!(
                "{wheel} wheel: after the churn the live heap changed by {} (more than {})",
                report::signed_bytes(memory.after_churn),
                report::signed_bytes(churn_bound)
            )
        })?;
        figures.push(Figure::new(
            format!("{wheel} wheel: heap per pending timer"),
            format!("{} B", memory.per_pending),
        ));
        figures.push(Figure::new(
            format!(
                "{wheel} wheel: live heap after cancelling {}",
                report::count(config.timers)
            ),
            report::signed_bytes(memory.after_cancel),
        ));
        figures.push(Figure::new(
            format!(
                "{wheel} wheel: {} cancellations, {CHURN_PENDING} pending: peak / end",
                report::count(config.churn)
            ),
            format!(
                "{} / {}",
                report::signed_bytes(memory.churn_peak),
                report::signed_bytes(memory.after_churn)
            ),
        ));
    }
    Ok(figures)
}
