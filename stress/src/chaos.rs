//! Item 1, chaos restarts: actors that fail at random lose only the message
//! they were handling when they failed.
//!
//! 1,000 thread-local receiver actors run on two workers, half on each,
//! under a `restart_supervisor!` that always restarts them. Ten sender
//! futures per worker (four quick) send every receiver its share of 10,000
//! messages (1,000 quick) with `send().await`, half of them across workers;
//! every message is `(sender, sequence)`. A receiver fails on 1% of
//! the messages it takes, half of those by panicking and half by returning
//! an error; it notes the message it fails on as lost in flight first.
//!
//! The receivers' logs live outside the actors (so they survive restarts)
//! and record, per receiver, which `(sender, sequence)` arrived and in what
//! order. The checks: every message sent arrived exactly once (handled, or
//! lost in flight), so 0 duplicates and 0 queued messages lost; the messages
//! lost equal the failures; each sender's messages arrived in the order sent;
//! every failure was followed by exactly one restart; and every receiver
//! completed once the senders were done.
//!
//! Figures: messages, failures, restarts per second during the run, restart
//! latency (from the failure to the restarted actor's first instruction:
//! scheduling included, since a restart runs on the actor's next poll), and
//! the restart rate of a crash loop (one actor failing on every message).

use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use kiln::{ActorRef, actor, actor_fn, restart_supervisor};
use kiln_rt::{ActorOptions, FutureOptions, Runtime, RuntimeRef, ThreadLocal};

use crate::report::{self, Figure, INJECTED_PANIC, Outcome, Percentiles, Rng, check};

/// The size of one version of the scenario.
#[derive(Copy, Clone, Debug)]
struct Config {
    receivers: u32,
    senders_per_worker: u32,
    messages_per_receiver: u32,
    /// Messages of the crash loop (each one fails its actor).
    crash_loop_messages: u32,
    limit: Duration,
}

const FULL: Config = Config {
    receivers: 1_000,
    senders_per_worker: 10,
    messages_per_receiver: 10_000,
    crash_loop_messages: 100_000,
    limit: Duration::from_secs(600),
};

const QUICK: Config = Config {
    receivers: 1_000,
    senders_per_worker: 4,
    messages_per_receiver: 1_000,
    crash_loop_messages: 10_000,
    limit: Duration::from_secs(60),
};

const WORKERS: u32 = 2;
/// The chance that a receiver fails on a message, in percent.
const FAILURE_PERCENT: u64 = 1;

/// A message: who sent it, and its number among that sender's messages to
/// this receiver.
#[derive(Copy, Clone, Debug)]
struct Msg {
    sender: u32,
    seq: u32,
}

/// How a receiver fails: the error half of its failures.
#[derive(Debug)]
struct Failure;

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("injected failure")
    }
}

restart_supervisor!(
    /// Always restarts (a million restarts a second is never reached).
    ChaosSupervisor,
    Arc<Mutex<Log>>,
    1_000_000,
    Duration::from_secs(1)
);

/// What happens to a message a receiver takes.
enum Fate {
    Handle,
    Panic,
    Error,
}

/// One receiver's record, kept outside the actor so it survives restarts.
struct Log {
    rng: Rng,
    per_sender: u32,
    /// Bit `sender * per_sender + seq`: the message arrived.
    seen: Vec<u64>,
    /// Per sender: the highest sequence that arrived, plus one.
    next: Vec<u32>,
    handled: u64,
    lost_in_flight: u64,
    panics: u64,
    errors: u64,
    duplicates: u64,
    out_of_order: u64,
    /// Times the actor started: once, plus once per restart.
    starts: u64,
    /// When the actor last failed, until it restarts.
    failed_at: Option<Instant>,
    restart_latencies: Vec<Duration>,
    completed: bool,
}

impl Log {
    fn new(id: u32, senders: u32, per_sender: u32) -> Log {
        let bits = senders as usize * per_sender as usize;
        Log {
            rng: Rng::new(u64::from(id) + 1),
            per_sender,
            seen: vec![0; bits.div_ceil(64)],
            next: vec![0; senders as usize],
            handled: 0,
            lost_in_flight: 0,
            panics: 0,
            errors: 0,
            duplicates: 0,
            out_of_order: 0,
            starts: 0,
            failed_at: None,
            restart_latencies: Vec::new(),
            completed: false,
        }
    }

    /// Records that `msg` arrived, and decides its fate.
    fn arrived(&mut self, msg: Msg) -> Fate {
        let bit = msg.sender as usize * self.per_sender as usize + msg.seq as usize;
        let (word, mask) = (bit / 64, 1 << (bit % 64));
        if self.seen[word] & mask != 0 {
            self.duplicates += 1;
        }
        self.seen[word] |= mask;
        let next = &mut self.next[msg.sender as usize];
        if msg.seq < *next {
            self.out_of_order += 1;
        } else {
            *next = msg.seq + 1;
        }
        if self.rng.chance(FAILURE_PERCENT) {
            self.lost_in_flight += 1;
            self.failed_at = Some(Instant::now());
            if self.rng.chance(50) {
                self.panics += 1;
                Fate::Panic
            } else {
                self.errors += 1;
                Fate::Error
            }
        } else {
            self.handled += 1;
            Fate::Handle
        }
    }

    /// Messages that never arrived.
    fn missing(&self, total: u64) -> u64 {
        let seen: u64 = self.seen.iter().map(|w| u64::from(w.count_ones())).sum();
        total - seen
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A receiver: takes messages until the senders are gone, failing on some.
async fn receiver(
    mut ctx: actor::Context<Msg, ThreadLocal>,
    log: Arc<Mutex<Log>>,
) -> Result<(), Failure> {
    {
        let mut log = lock(&log);
        log.starts += 1;
        if let Some(failed_at) = log.failed_at.take() {
            log.restart_latencies.push(failed_at.elapsed());
        }
    }
    while let Ok(msg) = ctx.receive_next().await {
        let fate = lock(&log).arrived(msg);
        match fate {
            Fate::Handle => {}
            Fate::Panic => panic!("{INJECTED_PANIC}"),
            Fate::Error => return Err(Failure),
        }
    }
    lock(&log).completed = true;
    Ok(())
}

/// What the senders counted.
#[derive(Default)]
struct Sent {
    ok: AtomicU64,
    failed: AtomicU64,
}

/// A sender: message 0 to every receiver, then 1, ..., starting at its own
/// offset so that the senders spread over the receivers.
async fn sender(id: u32, receivers: Arc<Vec<ActorRef<Msg>>>, per_sender: u32, sent: Arc<Sent>) {
    let n = receivers.len();
    let offset = (id as usize * 37) % n;
    for seq in 0..per_sender {
        for i in 0..n {
            let to = &receivers[(offset + i) % n];
            match to.send(Msg { sender: id, seq }).await {
                Ok(()) => sent.ok.fetch_add(1, Ordering::Relaxed),
                Err(_) => sent.failed.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
}

/// Runs the scenario: `quick` for the CI-sized version.
pub(crate) fn run(quick: bool) -> Outcome {
    let config = if quick { QUICK } else { FULL };
    let mut figures = report::run_bounded("chaos", config.limit, move || chaos(config))?;
    let crash_loop = report::run_bounded("crash loop", config.limit, move || crash_loop(config))?;
    figures.extend(crash_loop);
    Ok(figures)
}

/// The main part: many receivers, random failures.
fn chaos(config: Config) -> Outcome {
    let senders = config.senders_per_worker * WORKERS;
    check(config.messages_per_receiver.is_multiple_of(senders), || {
        "messages per receiver must divide among the senders".to_owned()
    })?;
    let per_sender = config.messages_per_receiver / senders;
    let logs: Arc<Vec<Arc<Mutex<Log>>>> = Arc::new(
        (0..config.receivers)
            .map(|id| Arc::new(Mutex::new(Log::new(id, senders, per_sender))))
            .collect(),
    );

    let mut runtime = Runtime::setup()
        .with_name("chaos")
        .num_threads(WORKERS as usize)
        .build()
        .map_err(|err| format!("can't build the runtime: {err}"))?;

    // The receivers, half on each worker; their references come back here.
    let (refs_sender, refs) = mpsc::channel();
    let spawn_logs = Arc::clone(&logs);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let worker = rt.worker_index() as u32;
            for id in (worker..spawn_logs.len() as u32).step_by(WORKERS as usize) {
                let log = Arc::clone(&spawn_logs[id as usize]);
                let supervisor = ChaosSupervisor::new(Arc::clone(&log));
                let actor_ref =
                    rt.spawn_local(supervisor, actor_fn(receiver), log, ActorOptions::default());
                refs_sender
                    .send((id, actor_ref))
                    .expect("the scenario waits for the references");
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the receivers: {err}"))?;
    let mut receivers: Vec<(u32, ActorRef<Msg>)> = refs.try_iter().collect();
    receivers.sort_by_key(|(id, _)| *id);
    check(receivers.len() == config.receivers as usize, || {
        format!("{} receivers spawned", receivers.len())
    })?;
    let receivers: Arc<Vec<ActorRef<Msg>>> =
        Arc::new(receivers.into_iter().map(|(_, r)| r).collect());

    // The senders, on both workers.
    let sent = Arc::new(Sent::default());
    let spawn_sent = Arc::clone(&sent);
    let spawn_receivers = Arc::clone(&receivers);
    let senders_per_worker = config.senders_per_worker;
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let worker = rt.worker_index() as u32;
            for i in 0..senders_per_worker {
                let id = worker * senders_per_worker + i;
                let future = sender(
                    id,
                    Arc::clone(&spawn_receivers),
                    per_sender,
                    Arc::clone(&spawn_sent),
                );
                rt.spawn_local_future(future, FutureOptions::default());
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the senders: {err}"))?;
    // Only the senders hold references now: once they are done, the
    // receivers' inboxes disconnect and the receivers complete.
    drop(receivers);

    let start = Instant::now();
    runtime
        .start()
        .map_err(|err| format!("the runtime failed: {err}"))?;
    let elapsed = start.elapsed();

    let total_sent = u64::from(config.receivers) * u64::from(config.messages_per_receiver);
    let sent_ok = sent.ok.load(Ordering::Relaxed);
    let sent_failed = sent.failed.load(Ordering::Relaxed);
    check(sent_failed == 0, || {
        format!("{sent_failed} sends failed (a receiver stopped for good?)")
    })?;
    check(sent_ok == total_sent, || {
        format!("{sent_ok} of {total_sent} messages sent")
    })?;

    let mut handled = 0;
    let mut lost_in_flight = 0;
    let mut panics = 0;
    let mut errors = 0;
    let mut duplicates = 0;
    let mut out_of_order = 0;
    let mut missing = 0;
    let mut restarts = 0;
    let mut incomplete = 0;
    let mut bad_restarts = 0;
    let mut latencies = Vec::new();
    for log in logs.iter() {
        let mut log = lock(log);
        handled += log.handled;
        lost_in_flight += log.lost_in_flight;
        panics += log.panics;
        errors += log.errors;
        duplicates += log.duplicates;
        out_of_order += log.out_of_order;
        missing += log.missing(u64::from(config.messages_per_receiver));
        restarts += log.starts.saturating_sub(1);
        if log.starts != 1 + log.panics + log.errors {
            bad_restarts += 1;
        }
        if !log.completed {
            incomplete += 1;
        }
        latencies.append(&mut log.restart_latencies);
    }
    let failures = panics + errors;
    let lost = total_sent - handled;

    check(duplicates == 0, || {
        format!("{duplicates} messages duplicated")
    })?;
    check(missing == 0, || {
        format!("{missing} queued messages lost (never arrived)")
    })?;
    check(out_of_order == 0, || {
        format!("{out_of_order} messages arrived after a later one of the same sender")
    })?;
    check(lost == failures && lost_in_flight == failures, || {
        format!("{lost} messages lost but {failures} failures")
    })?;
    check(bad_restarts == 0 && restarts == failures, || {
        format!("{restarts} restarts for {failures} failures ({bad_restarts} receivers off)")
    })?;
    check(incomplete == 0, || {
        format!("{incomplete} receivers did not complete")
    })?;
    // Sanity: the chaos happened (about 1% of the messages).
    let expected = total_sent * FAILURE_PERCENT / 100;
    check(failures > expected / 2 && failures < expected * 2, || {
        format!("{failures} failures, expected about {expected}")
    })?;

    let latencies = Percentiles::new(latencies);
    Ok(vec![
        Figure::new(
            "actors / workers / senders",
            format!("{} / {WORKERS} / {senders}", config.receivers),
        ),
        Figure::new("messages sent", report::count(total_sent)),
        Figure::new(
            "failures (panics + errors)",
            format!(
                "{} ({} + {}), {}",
                report::count(failures),
                report::count(panics),
                report::count(errors),
                report::percent(failures, total_sent)
            ),
        ),
        Figure::new("restarts", report::count(restarts)),
        Figure::new(
            "messages lost (= failures, the one in flight)",
            report::count(lost),
        ),
        Figure::new("queued messages lost", missing),
        Figure::new("duplicates", duplicates),
        Figure::new("per-sender order violations", out_of_order),
        Figure::new("run time", report::duration(elapsed)),
        Figure::new(
            "messages handled per second",
            report::rate(total_sent, elapsed),
        ),
        Figure::new("restarts per second", report::rate(restarts, elapsed)),
        Figure::new("restart latency p50 / p99 / max", latencies.summary()),
    ])
}

/// What the crash-loop actor counts.
#[derive(Default)]
struct Loop {
    starts: AtomicU64,
    messages: AtomicU64,
}

restart_supervisor!(
    /// Always restarts the crash-loop actor (a short window keeps the
    /// supervisor's record of recent restarts small).
    LoopSupervisor,
    (Arc<Loop>, bool),
    1_000_000,
    Duration::from_millis(1)
);

/// Fails on every message it takes: by panicking if `panic`, else by
/// returning an error.
async fn crasher(
    mut ctx: actor::Context<u32, ThreadLocal>,
    counts: Arc<Loop>,
    panic: bool,
) -> Result<(), Failure> {
    counts.starts.fetch_add(1, Ordering::Relaxed);
    if ctx.receive_next().await.is_ok() {
        counts.messages.fetch_add(1, Ordering::Relaxed);
        if panic {
            panic!("{INJECTED_PANIC}");
        }
        return Err(Failure);
    }
    Ok(())
}

/// One actor failing on every message: how many restarts a second a worker
/// makes, for errors and for panics.
fn crash_loop(config: Config) -> Outcome {
    let mut figures = Vec::new();
    for panic in [false, true] {
        let counts = Arc::new(Loop::default());
        let mut runtime = Runtime::setup()
            .with_name("crash-loop")
            .build()
            .map_err(|err| format!("can't build the runtime: {err}"))?;
        let spawn_counts = Arc::clone(&counts);
        let messages = config.crash_loop_messages;
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                let supervisor = LoopSupervisor::new((Arc::clone(&spawn_counts), panic));
                let actor_ref = rt.spawn_local(
                    supervisor,
                    actor_fn(crasher),
                    (Arc::clone(&spawn_counts), panic),
                    ActorOptions::default(),
                );
                rt.spawn_local_future(
                    async move {
                        for n in 0..messages {
                            if actor_ref.send(n).await.is_err() {
                                break;
                            }
                        }
                    },
                    FutureOptions::default(),
                );
                Ok(())
            })
            .map_err(|err| format!("can't spawn the crash loop: {err}"))?;
        let start = Instant::now();
        runtime
            .start()
            .map_err(|err| format!("the runtime failed: {err}"))?;
        let elapsed = start.elapsed();
        let starts = counts.starts.load(Ordering::Relaxed);
        let taken = counts.messages.load(Ordering::Relaxed);
        let kind = if panic { "panic" } else { "error" };
        check(taken == u64::from(messages), || {
            format!(
                "crash loop ({kind}): {taken} of {messages} messages taken; queued ones were lost"
            )
        })?;
        check(starts == taken + 1, || {
            format!("crash loop ({kind}): {starts} starts for {taken} failures")
        })?;
        figures.push(Figure::new(
            format!("crash loop ({kind} on every message): restarts per second"),
            report::rate(taken, elapsed),
        ));
    }
    Ok(figures)
}
