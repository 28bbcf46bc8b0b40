//! Item 7, second part: a thread-safe consumer next to busy thread-local
//! producers gets a fair share of its worker (issue 14, item 5).
//!
//! Two workers each run a thread-local producer that `try_send`s to one
//! thread-safe consumer (spawned on worker 0, so in worker 0's shard) and
//! yields every 1,024 attempts, for [`RUN`] (500 ms quick). The consumer
//! counts what it receives, and its *runs*: the times it emptied its inbox
//! (8 messages) and waited, each the end of a poll. The checks:
//!
//! - every message a producer got in was received, once
//!   (`sent == received`), and every attempt was counted
//!   (`sent + refused == yields × 1,024`);
//! - the consumer ran after at least half of the polls of the producer on
//!   its worker (a fair share of that worker: it is ready after each of
//!   them, as the producer refills its inbox at once). The scheduler used to
//!   run it once per batch of thread-local runs (2 ms or 256 runs): about 1
//!   in 200 polls, 20,000 messages a second.
//!
//! A setup is tried up to [`super::ATTEMPTS`] times and passes if one
//! attempt meets the share, like the ping-pong setups: the OS may preempt a
//! worker thread for longer than a time slice, which skews one attempt.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use kiln::actor::RecvError;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, Spawn, ThreadLocal, ThreadSafe};

use super::{ATTEMPTS, TIME_SLICE, yield_now};
use crate::report::{self, Figure, check};

/// How long the producers produce (full size).
const RUN: Duration = Duration::from_secs(3);
/// How long the producers produce in the quick version.
const QUICK_RUN: Duration = Duration::from_millis(500);
/// Send attempts between two yields of a producer.
const BATCH: u64 = 1_024;
/// The least share of the polls of the producer on its worker after which
/// the consumer must run.
const MIN_RUNS_PER_POLL: f64 = 0.5;

/// What a producer counted.
#[derive(Default)]
struct Produced {
    sent: AtomicU64,
    refused: AtomicU64,
    yields: AtomicU64,
}

/// What the consumer counted.
#[derive(Clone, Copy, Debug, Default)]
struct Consumed {
    received: u64,
    /// Times it emptied its inbox and waited.
    runs: u64,
}

/// Receives until every producer is gone, then reports what it counted.
async fn consumer(mut ctx: actor::Context<u64, ThreadSafe>, report: mpsc::Sender<Consumed>) {
    let mut consumed = Consumed::default();
    loop {
        match ctx.try_receive_next() {
            Ok(_) => consumed.received += 1,
            Err(RecvError::Empty) => {
                consumed.runs += 1;
                match ctx.receive_next().await {
                    Ok(_) => consumed.received += 1,
                    Err(_) => break,
                }
            }
            Err(RecvError::Disconnected) => break,
        }
    }
    let _ = report.send(consumed);
}

/// Tries to send to the consumer until `until`, yielding every [`BATCH`]
/// attempts; counts in `produced[worker]`.
async fn producer(
    _: actor::Context<(), ThreadLocal>,
    consumer: ActorRef<u64>,
    produced: Arc<[Produced; 2]>,
    worker: usize,
    until: Instant,
) {
    let (mut sent, mut refused, mut yields) = (0, 0, 0);
    while Instant::now() < until {
        for n in 0..BATCH {
            if consumer.try_send(n).is_ok() {
                sent += 1;
            } else {
                refused += 1;
            }
        }
        yields += 1;
        yield_now().await;
    }
    let produced = &produced[worker];
    produced.sent.store(sent, Ordering::Release);
    produced.refused.store(refused, Ordering::Release);
    produced.yields.store(yields, Ordering::Release);
}

/// What one attempt measured.
struct Measured {
    took: Duration,
    consumed: Consumed,
    /// Per worker.
    produced: [Produced; 2],
}

impl Measured {
    fn load(&self, worker: usize, counter: impl Fn(&Produced) -> &AtomicU64) -> u64 {
        counter(&self.produced[worker]).load(Ordering::Acquire)
    }

    fn total(&self, counter: impl Fn(&Produced) -> &AtomicU64 + Copy) -> u64 {
        self.load(0, counter) + self.load(1, counter)
    }

    /// The consumer's runs per poll of the producer on its worker (0).
    fn runs_per_poll(&self) -> f64 {
        self.consumed.runs as f64 / self.load(0, |p| &p.yields).max(1) as f64
    }
}

/// Runs the scenario until the consumer's share is met, at most
/// [`ATTEMPTS`] times; returns its figures.
pub(super) fn run(quick: bool) -> Result<Vec<Figure>, String> {
    let run = if quick { QUICK_RUN } else { RUN };
    let mut shares = Vec::new();
    for n in 1..=ATTEMPTS {
        let measured = measure(run)?;
        let share = measured.runs_per_poll();
        let rate = report::rate(measured.consumed.received, measured.took);
        shares.push(format!("{:.0}% ({rate})", share * 100.0));
        if share >= MIN_RUNS_PER_POLL {
            return Ok(figures(&measured, n, &shares));
        }
    }
    Err(format!(
        "thread-safe consumer: ran after fewer than {:.0}% of the polls of the producer on its \
         worker in all {ATTEMPTS} attempts (messages received per second in brackets): {}",
        MIN_RUNS_PER_POLL * 100.0,
        shares.join(", ")
    ))
}

fn figures(measured: &Measured, attempt: usize, shares: &[String]) -> Vec<Figure> {
    let received = measured.consumed.received;
    let yields = measured.total(|p| &p.yields);
    vec![
        Figure::new(
            "thread-safe consumer: messages received, per second",
            format!(
                "{}, {}",
                report::count(received),
                report::rate(received, measured.took)
            ),
        ),
        Figure::new(
            "thread-safe consumer: producers' attempts refused, per second",
            format!(
                "{}, {}",
                report::count(measured.total(|p| &p.refused)),
                report::rate(measured.total(|p| &p.refused), measured.took)
            ),
        ),
        Figure::new(
            "thread-safe consumer: messages per producer yield",
            format!("{:.2}", received as f64 / yields.max(1) as f64),
        ),
        Figure::new(
            "thread-safe consumer: runs per poll of the producer on its worker, bound, attempts",
            format!(
                "{:.0}% ({} of {}), {:.0}%, {attempt} ({})",
                measured.runs_per_poll() * 100.0,
                report::count(measured.consumed.runs),
                report::count(measured.load(0, |p| &p.yields)),
                MIN_RUNS_PER_POLL * 100.0,
                shares.join(", ")
            ),
        ),
    ]
}

/// One attempt on a fresh two-worker runtime: the producers produce for
/// `run`; checks the counts.
fn measure(run: Duration) -> Result<Measured, String> {
    let mut runtime = Runtime::setup()
        .with_name("starvation")
        .num_threads(2)
        .with_time_slice(TIME_SLICE)
        .build()
        .map_err(|err| format!("can't build the runtime: {err}"))?;
    let (report, reports) = mpsc::channel();
    let (consumer_sender, consumers) = mpsc::channel();
    let report = Arc::new(Mutex::new(Some(report)));
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() != 0 {
                return Ok(());
            }
            let report = report.lock().unwrap_or_else(PoisonError::into_inner).take();
            let report = report.expect("one consumer");
            // Spawned on worker 0: in its shard.
            let options = ActorOptions::default();
            let consumer = rt.spawn(NoSupervisor, actor_fn(consumer), report, options);
            consumer_sender.send(consumer).expect("the scenario waits");
            Ok(())
        })
        .map_err(|err| format!("can't spawn the consumer: {err}"))?;
    let consumer_ref = consumers
        .recv()
        .map_err(|_| "the consumer's reference never came".to_owned())?;
    let produced = Arc::new([Produced::default(), Produced::default()]);
    let start = Instant::now();
    let until = start + run;
    let counters = produced.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let worker = rt.worker_index();
            let arg = (consumer_ref.clone(), counters.clone(), worker, until);
            let _ = rt.spawn_local(
                NoSupervisor,
                actor_fn(producer),
                arg,
                ActorOptions::default(),
            );
            Ok(())
        })
        .map_err(|err| format!("can't spawn the producers: {err}"))?;
    runtime
        .start()
        .map_err(|err| format!("the runtime failed: {err}"))?;
    let took = start.elapsed();
    let consumed = reports
        .try_recv()
        .map_err(|_| "the consumer never reported".to_owned())?;
    let measured = Measured {
        took,
        consumed,
        produced: Arc::into_inner(produced).expect("the producers are gone"),
    };
    check(measured.total(|p| &p.sent) == consumed.received, || {
        format!(
            "thread-safe consumer: {} messages sent, {} received",
            measured.total(|p| &p.sent),
            consumed.received
        )
    })?;
    for worker in 0..2 {
        let attempts = measured.load(worker, |p| &p.sent) + measured.load(worker, |p| &p.refused);
        check(
            attempts == measured.load(worker, |p| &p.yields) * BATCH,
            || format!("thread-safe consumer: producer {worker} counted {attempts} attempts"),
        )?;
    }
    Ok(measured)
}
