//! A thread-safe actor next to busy thread-local ones (issue 14, item 5): producers that
//! `try_send` to one thread-safe consumer and yield every 1,024 sends. The consumer used to wait
//! in its shard of the thread-safe scheduler while its worker ran the producers for a whole time
//! slice (2 ms, or 256 runs), and emptied its inbox (8 messages) about once per slice; with two
//! workers it received about 20,000 messages a second while the producers were refused 100
//! million times a second. A worker now gives way to a ready thread-safe process when its
//! thread-local ones have used more of its time (see `rt/src/runtime/scheduler/balance.rs`), so the
//! consumer runs after each poll of the producer on its worker and empties its inbox each time.
//!
//! The first test counts what the consumer received per producer yield on one worker: no timing, so
//! it holds in debug builds and on a loaded machine. Nothing refills the inbox while the consumer
//! runs, so that is the inbox's capacity (8) when the consumer runs between every two polls of
//! the producer; before the fix it was 8 per batch of 256 thread-local runs, 0.03 (debug and
//! release builds alike). The two-worker scenario of the issue, with its messages per second, is
//! in `kiln-stress --only starvation`: there the other worker also refills the inbox while the
//! consumer runs, so what it receives per yield depends on how fast sending is next to receiving
//! (debug builds received more per yield before the fix than release builds do after it).
//!
//! The second test checks the other half of a fair share: with a busy thread-local actor and a
//! busy thread-safe one on one worker, each gets about half the runs (before: the thread-local
//! one ran for a time slice, 100 runs, for every 16 runs of the thread-safe one).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn, yield_now};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, Spawn, ThreadLocal, ThreadSafe};

/// The safety net: the scenario ends by itself well before this.
const TIMEOUT: Duration = Duration::from_secs(60);

/// How long the producer produces.
const RUN: Duration = Duration::from_millis(300);

/// Send attempts between two yields of the producer.
const BATCH: u64 = 1_024;

/// The least the consumer must receive per yield of the producer: half its inbox's capacity (8),
/// which it receives when it runs between every two polls of the producer (measured 7.97 to
/// 8.00; 0.03 before the fix).
const MIN_PER_YIELD: f64 = 4.0;

/// What the actors count.
#[derive(Default)]
struct Counts {
    sent: AtomicU64,
    refused: AtomicU64,
    yields: AtomicU64,
    received: AtomicU64,
}

/// Counts the messages it receives; stops once the producer is gone.
async fn consumer(mut ctx: actor::Context<u64, ThreadSafe>, counts: Arc<Counts>) {
    let mut received = 0;
    while ctx.receive_next().await.is_ok() {
        received += 1;
    }
    counts.received.store(received, Ordering::Release);
}

/// Tries to send to the consumer until `until`, yielding every [`BATCH`] attempts.
async fn producer(
    _: actor::Context<(), ThreadLocal>,
    consumer: ActorRef<u64>,
    counts: Arc<Counts>,
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
    counts.sent.store(sent, Ordering::Release);
    counts.refused.store(refused, Ordering::Release);
    counts.yields.store(yields, Ordering::Release);
}

/// What one run measured.
#[derive(Debug)]
struct Measured {
    sent: u64,
    refused: u64,
    yields: u64,
    received: u64,
    /// Messages received per yield of the producer.
    per_yield: f64,
    received_per_sec: f64,
}

/// Runs a producer and the consumer on a fresh one-worker runtime for [`RUN`].
///
/// The time slice is set far longer than the producer's polls, so that a batch of thread-local
/// runs ends at its run limit (256) and not when the OS preempted the worker thread long enough
/// to use up a 2 ms slice in a poll or two: on a loaded machine such slices made the old
/// scheduler look fair in some runs. The consumer's share must not depend on the time slice.
fn measure() -> Measured {
    let mut runtime = Runtime::setup()
        .with_time_slice(Duration::from_secs(1))
        .build()
        .unwrap();
    let counts = Arc::new(Counts::default());
    let consumer_ref = runtime.spawn(
        NoSupervisor,
        actor_fn(consumer),
        counts.clone(),
        ActorOptions::default(),
    );
    let start = Instant::now();
    let until = start + RUN;
    let producer_counts = counts.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let arg = (consumer_ref.clone(), producer_counts.clone(), until);
            let _ = rt.spawn_local(
                NoSupervisor,
                actor_fn(producer),
                arg,
                ActorOptions::default(),
            );
            Ok(())
        })
        .unwrap();
    runtime.start().unwrap();
    let took = start.elapsed();
    let load = |counter: &AtomicU64| counter.load(Ordering::Acquire);
    let (sent, received, yields) = (
        load(&counts.sent),
        load(&counts.received),
        load(&counts.yields),
    );
    Measured {
        sent,
        refused: load(&counts.refused),
        yields,
        received,
        per_yield: received as f64 / yields.max(1) as f64,
        received_per_sec: received as f64 / took.as_secs_f64(),
    }
}

/// Runs `scenario` on a thread of its own; fails if it does not end within [`TIMEOUT`].
fn with_timeout<T: Send + 'static>(scenario: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(scenario());
    });
    result
        .recv_timeout(TIMEOUT)
        .expect("the scenario did not end in time (or panicked)")
}

#[test]
fn thread_safe_consumer_runs_between_the_polls_of_a_busy_producer() {
    let measured = with_timeout(measure);
    eprintln!(
        "the consumer received {:.2} messages per yield of the producer, {:.0} a second",
        measured.per_yield, measured.received_per_sec
    );
    // Every message the producer got in was received, none twice.
    assert_eq!(measured.sent, measured.received, "{measured:#?}");
    assert_eq!(
        measured.sent + measured.refused,
        measured.yields * BATCH,
        "{measured:#?}"
    );
    assert!(
        measured.per_yield >= MIN_PER_YIELD,
        "the thread-safe consumer received {:.2} messages per yield of the producer, less than \
         {MIN_PER_YIELD} (a fair share gives it its whole inbox, 8): {measured:#?}",
        measured.per_yield
    );
}

/// How long a busy actor works before it yields.
const WORK: Duration = Duration::from_micros(20);

/// Runs of the two busy actors together.
const TOTAL_RUNS: u64 = 5_000;

/// How many times each busy actor ran.
#[derive(Default)]
struct Runs {
    local: AtomicU64,
    shared: AtomicU64,
    total: AtomicU64,
}

/// Works (spins) for [`WORK`] and yields, until the two busy actors ran [`TOTAL_RUNS`] times.
async fn work_and_yield(runs: Arc<Runs>, mine: impl Fn(&Runs) -> &AtomicU64) {
    while runs.total.fetch_add(1, Ordering::AcqRel) < TOTAL_RUNS {
        let end = Instant::now() + WORK;
        while Instant::now() < end {
            std::hint::spin_loop();
        }
        mine(&runs).fetch_add(1, Ordering::AcqRel);
        yield_now().await;
    }
}

async fn busy_local(_: actor::Context<(), ThreadLocal>, runs: Arc<Runs>) {
    work_and_yield(runs, |runs| &runs.local).await;
}

async fn busy_shared(_: actor::Context<(), ThreadSafe>, runs: Arc<Runs>) {
    work_and_yield(runs, |runs| &runs.shared).await;
}

/// Runs a busy thread-local and a busy thread-safe actor on one worker until they ran
/// [`TOTAL_RUNS`] times together; returns their runs.
fn local_and_shared_runs() -> (u64, u64) {
    let mut runtime = Runtime::setup().build().unwrap();
    let runs = Arc::new(Runs::default());
    let local_runs = runs.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let options = ActorOptions::default();
            let arg = local_runs.clone();
            let _ = rt.spawn_local(NoSupervisor, actor_fn(busy_local), arg, options);
            let _ = rt.spawn(
                NoSupervisor,
                actor_fn(busy_shared),
                local_runs.clone(),
                options,
            );
            Ok(())
        })
        .unwrap();
    runtime.start().unwrap();
    let load = |counter: &AtomicU64| counter.load(Ordering::Acquire);
    (load(&runs.local), load(&runs.shared))
}

#[test]
fn busy_thread_local_and_thread_safe_actors_share_a_worker() {
    // Equal run times, so equal shares give equal runs; each side runs about 200 µs (10 runs) at
    // a time. The OS preempting the worker in the middle of a run charges that side more: a few
    // attempts, and a generous bound (before the fix: 6 to 1).
    let mut results = Vec::new();
    for _ in 0..3 {
        let (local, shared) = with_timeout(local_and_shared_runs);
        eprintln!("runs: thread-local {local}, thread-safe {shared}");
        assert_eq!(local + shared, TOTAL_RUNS);
        if local <= 2 * shared && shared <= 2 * local {
            return;
        }
        results.push((local, shared));
    }
    panic!("thread-local and thread-safe runs not within 2 to 1 of each other: {results:?}");
}
