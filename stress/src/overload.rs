//! Item 3, overload: producers ten times faster than their consumer, for
//! 30 s (2 s quick). Memory stays within the inbox's bound, `try_send`
//! reports `Full` and gives the message back, `send().await` waits, and
//! every message is either handled or reported as not sent.
//!
//! A thread-local consumer on worker 0 handles 10,000 messages a second (it
//! paces itself with a timer) from an inbox of 1,024. Two producers on
//! worker 1 offer 50,000 messages a second each, so 10 times the consumer's
//! rate in all: one with `try_send` (a `Full` error must hold the very
//! message sent, payload intact), one with `send().await` (which must wait:
//! it counts the sends that returned `Pending` first). Each message is
//! numbered and carries 1 KiB, so an inbox that let messages pile up would
//! grow the process by about 90 MB a second.
//!
//! Resident memory is sampled every 5 ms from `/proc/self/statm` (after
//! `malloc_trim` gave back what earlier scenarios freed; the kernel's own
//! peak, `VmHWM`, is also reset at the start where allowed, and read at the
//! end); its growth over the baseline taken after setting up must stay
//! within the inbox's bound (1,024 messages with their payload) plus 16 MiB
//! for the allocator and the threads. The live heap, counted by the stress
//! binary's allocator (`report::heap`) and sampled likewise, must grow by no
//! more than the bound plus 256 KiB. At the end each producer's accepted messages
//! must be exactly those the consumer handled, in order, unharmed.

use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use kiln::InboxSize;
use kiln::actor_ref::SendError;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::timer::Timer;
use kiln_rt::{ActorOptions, FutureOptions, Runtime, RuntimeRef, ThreadLocal};

use crate::report::{self, Figure, Outcome, check, heap};

/// The consumer's rate, messages per second.
const RATE: u64 = 10_000;
/// Each producer offers this many times the consumer's rate (two of them:
/// ten times in all).
const PRODUCER_FACTOR: u64 = 5;
/// The consumer's inbox.
const INBOX: usize = 1_024;
/// The payload of a message.
const PAYLOAD: usize = 1_024;
/// Room for the allocator's arenas, thread stacks and such.
const SLACK: u64 = 16 << 20;
/// Room for the runtime's own allocations during the run (timers, wake-ups).
const HEAP_SLACK: u64 = 256 << 10;
/// How often resident memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// The producers.
const TRY_SEND: usize = 0;
const SEND: usize = 1;
const PRODUCERS: usize = 2;

/// A numbered message with a payload whose bytes say its number.
struct Msg {
    producer: usize,
    seq: u64,
    payload: Box<[u8]>,
}

impl Msg {
    fn new(producer: usize, seq: u64) -> Msg {
        Msg {
            producer,
            seq,
            payload: vec![seq as u8; PAYLOAD].into_boxed_slice(),
        }
    }

    /// Whether the payload is as made.
    fn intact(&self) -> bool {
        self.payload.len() == PAYLOAD && self.payload.iter().all(|&b| b == self.seq as u8)
    }
}

/// What the consumer saw of one producer.
#[derive(Clone, Debug, Default)]
struct Seen {
    handled: u64,
    seq_sum: u64,
    /// The next sequence number must be above this.
    next: u64,
    out_of_order: u64,
    damaged: u64,
}

/// What a producer counted.
#[derive(Debug, Default)]
struct Produced {
    attempted: AtomicU64,
    accepted: AtomicU64,
    accepted_sum: AtomicU64,
    full: AtomicU64,
    /// `Full` errors that did not hold the message sent.
    wrong_message_back: AtomicU64,
    /// Any other error (`Disconnected`).
    other_errors: AtomicU64,
    /// `send().await` calls that had to wait, and how long they waited.
    waited: AtomicU64,
    waited_nanos: AtomicU64,
}

/// Handles [`RATE`] messages a second, recording what it gets.
async fn consumer(mut ctx: actor::Context<Msg, ThreadLocal>, seen: Arc<Mutex<Vec<Seen>>>) {
    let rt = ctx.runtime_ref().clone();
    let start = Instant::now();
    let mut handled: u64 = 0;
    while let Ok(msg) = ctx.receive_next().await {
        {
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            let seen = &mut seen[msg.producer];
            seen.handled += 1;
            seen.seq_sum += msg.seq;
            if msg.seq < seen.next {
                seen.out_of_order += 1;
            }
            seen.next = msg.seq + 1;
            if !msg.intact() {
                seen.damaged += 1;
            }
        }
        drop(msg);
        handled += 1;
        let due = start + Duration::from_nanos(handled * 1_000_000_000 / RATE);
        if due > Instant::now() {
            Timer::at(rt.clone(), due).await;
        }
    }
}

/// Offers messages with `try_send` at `PRODUCER_FACTOR` times [`RATE`].
async fn try_send_producer(
    rt: RuntimeRef,
    to: ActorRef<Msg>,
    counts: Arc<Produced>,
    run_for: Duration,
) {
    let start = Instant::now();
    let mut seq = 0;
    while start.elapsed() < run_for {
        let target = (start.elapsed().as_nanos() * u128::from(RATE * PRODUCER_FACTOR)
            / 1_000_000_000) as u64;
        while seq < target {
            counts.attempted.fetch_add(1, Ordering::Relaxed);
            match to.try_send(Msg::new(TRY_SEND, seq)) {
                Ok(()) => {
                    counts.accepted.fetch_add(1, Ordering::Relaxed);
                    counts.accepted_sum.fetch_add(seq, Ordering::Relaxed);
                }
                Err(SendError::Full(msg)) => {
                    counts.full.fetch_add(1, Ordering::Relaxed);
                    if msg.seq != seq || msg.producer != TRY_SEND || !msg.intact() {
                        counts.wrong_message_back.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(_) => {
                    counts.other_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            seq += 1;
        }
        Timer::after(rt.clone(), Duration::from_millis(1)).await;
    }
}

/// Offers messages with `send().await` at `PRODUCER_FACTOR` times
/// [`RATE`]: it can only go as fast as the consumer lets it.
async fn send_producer(
    rt: RuntimeRef,
    to: ActorRef<Msg>,
    counts: Arc<Produced>,
    run_for: Duration,
) {
    let start = Instant::now();
    let mut seq = 0;
    while start.elapsed() < run_for {
        counts.attempted.fetch_add(1, Ordering::Relaxed);
        let mut send = to.send(Msg::new(SEND, seq));
        let mut waited = false;
        let began = Instant::now();
        let result = poll_fn(|cx| {
            let poll = Pin::new(&mut send).poll(cx);
            if poll.is_pending() {
                waited = true;
            }
            poll
        })
        .await;
        if waited {
            counts.waited.fetch_add(1, Ordering::Relaxed);
            counts
                .waited_nanos
                .fetch_add(began.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
        match result {
            Ok(()) => {
                counts.accepted.fetch_add(1, Ordering::Relaxed);
                counts.accepted_sum.fetch_add(seq, Ordering::Relaxed);
            }
            Err(_) => {
                counts.other_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        seq += 1;
        let due = start + Duration::from_nanos(seq * 1_000_000_000 / (RATE * PRODUCER_FACTOR));
        if due > Instant::now() {
            Timer::at(rt.clone(), due).await;
        }
    }
}

/// Runs the scenario: `quick` for the CI-sized version.
pub(crate) fn run(quick: bool) -> Outcome {
    let run_for = Duration::from_secs(if quick { 2 } else { 30 });
    let limit = run_for + Duration::from_secs(60);
    report::run_bounded("overload", limit, move || overload(run_for))
}

fn overload(run_for: Duration) -> Outcome {
    let mut runtime = Runtime::setup()
        .with_name("overload")
        .num_threads(2)
        .build()
        .map_err(|err| format!("can't build the runtime: {err}"))?;
    let seen = Arc::new(Mutex::new(vec![Seen::default(); PRODUCERS]));
    let produced: Arc<Vec<Arc<Produced>>> =
        Arc::new((0..PRODUCERS).map(|_| Arc::default()).collect());

    let (refs_sender, refs) = mpsc::channel();
    let consumer_seen = Arc::clone(&seen);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() == 0 {
                let options = ActorOptions::default().with_inbox_size(InboxSize::fixed(INBOX));
                let actor_ref = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(consumer),
                    Arc::clone(&consumer_seen),
                    options,
                );
                refs_sender.send(actor_ref).expect("the scenario waits");
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the consumer: {err}"))?;
    let consumer_ref = refs
        .recv()
        .map_err(|_| "the consumer's reference never came".to_owned())?;

    let producers = Arc::clone(&produced);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() == 1 {
                let try_send = try_send_producer(
                    rt.clone(),
                    consumer_ref.clone(),
                    Arc::clone(&producers[TRY_SEND]),
                    run_for,
                );
                rt.spawn_local_future(try_send, FutureOptions::default());
                let send = send_producer(
                    rt.clone(),
                    consumer_ref.clone(),
                    Arc::clone(&producers[SEND]),
                    run_for,
                );
                rt.spawn_local_future(send, FutureOptions::default());
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the producers: {err}"))?;

    // Memory freed by earlier scenarios of this process goes back to the
    // kernel first, so that resident memory shows what this one uses.
    report::release_free_memory();
    let baseline = report::resident_bytes().ok_or("can't read /proc/self/statm")?;
    let hwm_reset = report::reset_peak_resident();
    let heap = Arc::new(heap::Counting::start());
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop_sampling);
        let heap = Arc::clone(&heap);
        thread::spawn(move || {
            let (mut peak, mut heap_peak) = (0, 0);
            while !stop.load(Ordering::Acquire) {
                peak = peak.max(report::resident_bytes().unwrap_or(0));
                heap_peak = heap_peak.max(heap.live_change());
                thread::sleep(SAMPLE_EVERY);
            }
            (peak, heap_peak)
        })
    };
    let start = Instant::now();
    let result = runtime.start();
    let elapsed = start.elapsed();
    stop_sampling.store(true, Ordering::Release);
    let (sampled_peak, heap_peak) = sampler
        .join()
        .map_err(|_| "the memory sampler panicked".to_owned())?;
    result.map_err(|err| format!("the runtime failed: {err}"))?;
    let hwm = if hwm_reset {
        report::peak_resident_bytes()
    } else {
        None
    };
    let peak = sampled_peak.max(hwm.unwrap_or(0));
    drop(heap);

    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    for (producer, name) in [(TRY_SEND, "try_send"), (SEND, "send().await")] {
        let counts = &produced[producer];
        let seen = &seen[producer];
        let accepted = counts.accepted.load(Ordering::Relaxed);
        let attempted = counts.attempted.load(Ordering::Relaxed);
        let full = counts.full.load(Ordering::Relaxed);
        let other = counts.other_errors.load(Ordering::Relaxed);
        let wrong = counts.wrong_message_back.load(Ordering::Relaxed);
        check(other == 0, || {
            format!("{name}: {other} sends failed other than with Full")
        })?;
        check(wrong == 0, || {
            format!("{name}: {wrong} Full errors did not give the message sent back intact")
        })?;
        check(attempted == accepted + full, || {
            format!("{name}: {attempted} attempts, {accepted} accepted, {full} Full")
        })?;
        check(
            seen.handled == accepted && seen.seq_sum == counts.accepted_sum.load(Ordering::Relaxed),
            || {
                format!(
                    "{name}: {accepted} messages accepted but {} handled (lost without a report)",
                    seen.handled
                )
            },
        )?;
        check(seen.out_of_order == 0 && seen.damaged == 0, || {
            format!(
                "{name}: {} messages out of order, {} damaged",
                seen.out_of_order, seen.damaged
            )
        })?;
    }
    let try_counts = &produced[TRY_SEND];
    let send_counts = &produced[SEND];
    let full = try_counts.full.load(Ordering::Relaxed);
    let waited = send_counts.waited.load(Ordering::Relaxed);
    check(full > 0, || {
        "try_send never reported Full: the consumer was not overloaded".to_owned()
    })?;
    check(waited > 0, || {
        "send().await never waited: the consumer was not overloaded".to_owned()
    })?;

    let per_message = (size_of::<Msg>() + PAYLOAD + 32) as u64;
    let bound = INBOX as u64 * per_message;
    let growth = peak.saturating_sub(baseline);
    check(heap_peak <= (bound + HEAP_SLACK) as i64, || {
        format!(
            "the live heap grew by {}, more than the inbox's bound {} plus {}",
            report::signed_bytes(heap_peak),
            report::bytes(bound),
            report::bytes(HEAP_SLACK)
        )
    })?;
    check(growth <= bound + SLACK, || {
        format!(
            "resident memory grew by {} (baseline {}, peak {}), more than the inbox's bound {} \
             plus {}",
            report::bytes(growth),
            report::bytes(baseline),
            report::bytes(peak),
            report::bytes(bound),
            report::bytes(SLACK)
        )
    })?;

    let handled: u64 = seen.iter().map(|s| s.handled).sum();
    let offered = RATE * PRODUCER_FACTOR * PRODUCERS as u64;
    let mean_wait =
        Duration::from_nanos(send_counts.waited_nanos.load(Ordering::Relaxed) / waited.max(1));
    Ok(vec![
        Figure::new(
            "consumer rate / offered rate",
            format!(
                "{} /s / {} /s (10x), inbox {INBOX}, {PAYLOAD} B messages",
                report::count(RATE),
                report::count(offered)
            ),
        ),
        Figure::new("run time", report::duration(elapsed)),
        Figure::new(
            "try_send: attempts / accepted / Full (message given back)",
            format!(
                "{} / {} / {}",
                report::count(try_counts.attempted.load(Ordering::Relaxed)),
                report::count(try_counts.accepted.load(Ordering::Relaxed)),
                report::count(full)
            ),
        ),
        Figure::new(
            "send().await: sent / had to wait / mean wait",
            format!(
                "{} / {} / {}",
                report::count(send_counts.accepted.load(Ordering::Relaxed)),
                report::count(waited),
                report::duration(mean_wait)
            ),
        ),
        Figure::new(
            "handled by the consumer (= accepted)",
            format!(
                "{} ({})",
                report::count(handled),
                report::rate(handled, elapsed)
            ),
        ),
        Figure::new("lost without a report", 0),
        Figure::new("resident memory: baseline", report::bytes(baseline)),
        Figure::new(
            "resident memory: peak (growth)",
            format!("{} (+{})", report::bytes(peak), report::bytes(growth)),
        ),
        Figure::new(
            "live heap: peak growth (counted by the allocator)",
            report::signed_bytes(heap_peak),
        ),
        Figure::new(
            "bound: inbox capacity x message size (+ slack)",
            format!("{} (+ {})", report::bytes(bound), report::bytes(SLACK)),
        ),
    ])
}
