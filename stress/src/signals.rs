//! Item 5, signals under load: SIGTERM while at least 10,000 messages are in
//! flight, and signals sent while the runtime starts.
//!
//! Signals are process-wide, so every run is a fresh process: [`run`]
//! re-executes the stress binary (`std::env::current_exe()`) with the hidden
//! arguments `--child signals-under-load` or `--child signals-at-start-up`,
//! which [`child_main`] handles.
//!
//! **Under load** (50 runs, 5 quick). The child builds a runtime of two
//! workers with eight consumers registered for signals (three thread-local
//! actors on each worker and two thread-safe ones, inboxes of 2,048), and two
//! producer threads that send numbered messages to all of them with
//! `send().await` (waiting while an inbox is full) and count what was
//! accepted. Consumers spend about a microsecond on each message, so the
//! inboxes stay full. Once at least 10,000 accepted messages wait in the
//! inboxes the child prints `ready`, and the parent sends SIGTERM at once. The
//! consumer that gets `Terminate` first tells the producers to stop; each
//! producer then sends every consumer a `Done` carrying how many messages it
//! had accepted for that consumer. A consumer stops once it has had
//! `Terminate` and every producer's `Done`; it checks that it handled
//! exactly the messages accepted for it, in order (per producer: 0, 1, 2,
//! ...), and got SIGTERM exactly once. The child exits 0 only if every count
//! matches and `Runtime::start` returned `Ok`; the parent checks that it did
//! so within 2 s of the signal and wrote nothing about a panic.
//!
//! **At start-up** (as many runs). The child builds the runtime, registers a
//! thread-local and a thread-safe actor for signals, prints `built` and
//! waits (without starting the runtime) until the parent's SIGUSR1 and
//! SIGTERM are pending (`sigpending`); then it calls `start`. Both actors
//! must get each signal exactly once and stop; a lost signal leaves them
//! waiting, which the child's watchdog (and the parent's timeout) report.
//!
//! Not promised: a signal that arrives before `Runtime::setup().build()`
//! (the runtime has not blocked it yet, so it gets its default action); a
//! second exit signal after `start` has returned (the runtime unblocks its
//! signals when it is dropped); and how soon an actor handles a signal: it
//! is queued behind the messages already accepted, and an inbox found full
//! is retried every millisecond with `try_send`, while senders waiting in
//! `send().await` take the freed slots first, so under sustained
//! backpressure the signal waits for the inbox to drain (in the runs, the
//! first consumer sometimes handled SIGTERM with only 5 messages left
//! queued in all eight inboxes).

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use kiln::ActorRef;
use kiln::InboxSize;
use kiln::actor::{self, actor_fn};
use kiln::supervisor::NoSupervisor;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, Signal, ThreadLocal, ThreadSafe};

use crate::report::{Figure, Outcome, count, duration};
use kiln_rt::Spawn;

/// The hidden first argument of a child process.
const CHILD: &str = "--child";
/// The child that gets SIGTERM under load.
const UNDER_LOAD: &str = "signals-under-load";
/// The child that gets signals before its runtime starts.
const AT_START_UP: &str = "signals-at-start-up";

/// Runs of each case in the full and the quick version.
const RUNS_FULL: usize = 50;
const RUNS_QUICK: usize = 5;

/// Accepted, not yet handled messages when SIGTERM is sent, at least.
const IN_FLIGHT: u64 = 10_000;
/// The child must exit within this time of the signal.
const EXIT_WITHIN: Duration = Duration::from_secs(2);
/// A child that has not exited this long after the signal is killed.
const KILL_AFTER: Duration = Duration::from_secs(10);
/// How long the child may take to get ready (or `built`).
const READY_WITHIN: Duration = Duration::from_secs(10);
/// The child's own watchdog: it exits with an error after this long.
const CHILD_WATCHDOG: Duration = Duration::from_secs(15);

/// Consumers: thread-local ones per worker, and thread-safe ones.
const WORKERS: usize = 2;
const LOCAL_PER_WORKER: usize = 3;
const SHARED_CONSUMERS: usize = 2;
const CONSUMERS: usize = WORKERS * LOCAL_PER_WORKER + SHARED_CONSUMERS;
/// Producer threads.
const PRODUCERS: usize = 2;
/// The consumers' inbox size: 8 × 2,048 = 16,384 messages can be in flight.
const INBOX: usize = 2_048;
/// Rounds of busy work per message (about a microsecond), so that
/// consumers are slower than producers and the inboxes stay full.
const WORK_ROUNDS: u64 = 400;

/// The consumers' messages.
#[derive(Debug)]
enum Msg {
    /// Message `seq` (0, 1, 2, ... per producer and consumer) of `producer`.
    Work { producer: usize, seq: u64 },
    /// `producer` has stopped after `sent` messages to this consumer.
    Done { producer: usize, sent: u64 },
    /// A process signal.
    Signal(Signal),
}

impl TryFrom<Signal> for Msg {
    type Error = Signal;

    fn try_from(signal: Signal) -> Result<Msg, Signal> {
        Ok(Msg::Signal(signal))
    }
}

/// Runs the scenario: `quick` runs each case 5 times instead of 50.
pub(crate) fn run(quick: bool) -> Outcome {
    let runs = if quick { RUNS_QUICK } else { RUNS_FULL };
    let exe = std::env::current_exe().map_err(|err| format!("no stress binary path: {err}"))?;

    let mut exit_latencies = Vec::with_capacity(runs);
    let mut in_flight = Vec::with_capacity(runs);
    let mut in_flight_at_terminate = Vec::with_capacity(runs);
    let mut handled = Vec::with_capacity(runs);
    let mut drains = Vec::with_capacity(runs);
    for n in 0..runs {
        let run = under_load(&exe).map_err(|err| format!("under load, run {}: {err}", n + 1))?;
        exit_latencies.push(run.exit_latency);
        in_flight.push(run.in_flight);
        in_flight_at_terminate.push(run.in_flight_at_terminate);
        handled.push(run.handled);
        drains.push(run.drain);
    }
    let mut start_up_latencies = Vec::with_capacity(runs);
    for n in 0..runs {
        let latency =
            at_start_up(&exe).map_err(|err| format!("at start-up, run {}: {err}", n + 1))?;
        start_up_latencies.push(latency);
    }

    exit_latencies.sort_unstable();
    in_flight.sort_unstable();
    in_flight_at_terminate.sort_unstable();
    handled.sort_unstable();
    drains.sort_unstable();
    start_up_latencies.sort_unstable();
    Ok(vec![
        Figure::new("runs under load (fresh process each)", runs),
        Figure::new("runs that lost a message or failed", 0),
        Figure::new(
            "messages in flight when SIGTERM was sent (min / median)",
            format!("{} / {}", count(in_flight[0]), count(median(&in_flight))),
        ),
        Figure::new(
            "messages still queued when the first actor handled SIGTERM (min / median)",
            format!(
                "{} / {}",
                count(in_flight_at_terminate[0]),
                count(median(&in_flight_at_terminate))
            ),
        ),
        Figure::new(
            "messages handled per run (min / median)",
            format!("{} / {}", count(handled[0]), count(median(&handled))),
        ),
        Figure::new(
            "SIGTERM to exit 0 (median / max)",
            format!(
                "{} / {}",
                duration(median(&exit_latencies)),
                duration(*exit_latencies.last().expect("no runs"))
            ),
        ),
        Figure::new(
            "first actor's SIGTERM to `start` returning (median / max)",
            format!(
                "{} / {}",
                duration(median(&drains)),
                duration(*drains.last().expect("no runs"))
            ),
        ),
        Figure::new(
            "start-up runs: SIGUSR1 and SIGTERM before start, none lost",
            runs,
        ),
        Figure::new(
            "start-up runs: signal to exit 0 (median / max)",
            format!(
                "{} / {}",
                duration(median(&start_up_latencies)),
                duration(*start_up_latencies.last().expect("no runs"))
            ),
        ),
    ])
}

/// The hidden child processes of this scenario: `--child signals-under-load`
/// and `--child signals-at-start-up` (anywhere in `args`, with or without
/// the program name first). Must be called before the process starts any
/// thread: the runtime blocks the signals in the thread that builds it and
/// the threads started after.
pub(crate) fn child_main(args: &[String]) -> Option<ExitCode> {
    let name = args
        .windows(2)
        .find(|pair| pair[0] == CHILD)
        .map(|pair| pair[1].as_str())?;
    let result = match name {
        UNDER_LOAD => child_under_load(),
        AT_START_UP => child_at_start_up(),
        _ => return None,
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            Some(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("{name}: {err}");
            Some(ExitCode::FAILURE)
        }
    }
}

/// What the parent saw of one run under load.
struct UnderLoad {
    /// From SIGTERM to the child's exit.
    exit_latency: Duration,
    /// Accepted messages not yet handled when the child said `ready`.
    in_flight: u64,
    /// The same when the first consumer got SIGTERM.
    in_flight_at_terminate: u64,
    /// Messages handled in the run.
    handled: u64,
    /// From the first consumer getting SIGTERM to `start` returning.
    drain: Duration,
}

/// One run under load, in a child process.
fn under_load(exe: &std::path::Path) -> Result<UnderLoad, String> {
    let mut child = Running::spawn(exe, UNDER_LOAD)?;
    let ready = child.line(READY_WITHIN)?;
    let in_flight: u64 = ready
        .strip_prefix("ready ")
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("expected `ready <in flight>`, got {ready:?}"))?;
    let sent = Instant::now();
    child.signal(libc::SIGTERM)?;
    let (status, latency) = child.wait(sent)?;
    let (stdout, stderr) = child.output();
    check_exit(status, latency, &stdout, &stderr)?;
    // The child's summary: "handled <n> accepted <n> ...".
    let field = |name: &str| -> Result<u64, String> {
        let words: Vec<&str> = stdout.split_whitespace().collect();
        words
            .windows(2)
            .find(|pair| pair[0] == name)
            .and_then(|pair| pair[1].parse().ok())
            .ok_or_else(|| format!("no `{name}` in the child's output: {stdout:?}"))
    };
    Ok(UnderLoad {
        exit_latency: latency,
        in_flight,
        in_flight_at_terminate: field("in-flight-at-terminate")?,
        handled: field("handled")?,
        drain: Duration::from_micros(field("drained-in-us")?),
    })
}

/// One start-up run, in a child process; returns the time from the first
/// signal to the exit.
fn at_start_up(exe: &std::path::Path) -> Result<Duration, String> {
    let mut child = Running::spawn(exe, AT_START_UP)?;
    let built = child.line(READY_WITHIN)?;
    if built.trim() != "built" {
        return Err(format!("expected `built`, got {built:?}"));
    }
    let sent = Instant::now();
    child.signal(libc::SIGUSR1)?;
    child.signal(libc::SIGTERM)?;
    let (status, latency) = child.wait(sent)?;
    let (stdout, stderr) = child.output();
    check_exit(status, latency, &stdout, &stderr)?;
    if !stdout.contains("both actors got SIGUSR1 and SIGTERM once") {
        return Err(format!("unexpected output: {stdout:?}"));
    }
    Ok(latency)
}

/// Checks that a child exited 0, within [`EXIT_WITHIN`], without a panic.
fn check_exit(
    status: ExitStatus,
    latency: Duration,
    stdout: &str,
    stderr: &str,
) -> Result<(), String> {
    if stderr.contains("panicked") {
        return Err(format!("the child panicked: {stderr}"));
    }
    if !status.success() {
        return Err(format!(
            "the child failed ({status}); stdout: {stdout:?}; stderr: {stderr:?}"
        ));
    }
    if latency > EXIT_WITHIN {
        return Err(format!(
            "the child took {} to exit after the signal (more than {})",
            duration(latency),
            duration(EXIT_WITHIN)
        ));
    }
    Ok(())
}

/// A child process: its stdout read line by line, its stderr collected;
/// killed when dropped if it still runs.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Running {
    fn spawn(exe: &std::path::Path, name: &str) -> Result<Running, String> {
        let mut child = Command::new(exe)
            .args([CHILD, name])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| format!("can't start {}: {err}", exe.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Ok(Running {
            child,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
        })
    }

    /// The next line of the child's output.
    fn line(&mut self, timeout: Duration) -> Result<String, String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.stdout.push(line.clone());
                Ok(line)
            }
            Err(_) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let (stdout, stderr) = self.output();
                Err(format!(
                    "no line from the child within {}; stdout: {stdout:?}; stderr: {stderr:?}",
                    duration(timeout)
                ))
            }
        }
    }

    fn signal(&self, signal: libc::c_int) -> Result<(), String> {
        let pid = libc::pid_t::try_from(self.child.id()).map_err(|_| "pid out of range")?;
        // SAFETY: `kill` takes no pointers; `pid` is our child, not yet
        // waited for, so its id is not reused.
        let res = unsafe { libc::kill(pid, signal) };
        if res == -1 {
            return Err(format!(
                "can't signal the child: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }

    /// Waits for the child to exit; returns its status and the time since
    /// `since`. Kills it after [`KILL_AFTER`].
    fn wait(&mut self, since: Instant) -> Result<(ExitStatus, Duration), String> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok((status, since.elapsed())),
                Ok(None) if since.elapsed() < KILL_AFTER => {
                    thread::sleep(Duration::from_micros(500));
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    let (stdout, stderr) = self.output();
                    return Err(format!(
                        "the child did not exit within {} of the signal (killed); \
                         stdout: {stdout:?}; stderr: {stderr:?}",
                        duration(KILL_AFTER)
                    ));
                }
                Err(err) => return Err(format!("can't wait for the child: {err}")),
            }
        }
    }

    /// The child's whole output so far (stdout) and its stderr (once it has
    /// exited).
    fn output(&mut self) -> (String, String) {
        // The reader thread ends with the child's stdout.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
            self.stdout.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        (self.stdout.join("\n"), stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// State shared by the under-load child's consumers, producers and monitor.
struct Shared {
    /// Set by the first consumer that gets SIGTERM: producers stop.
    stopping: AtomicBool,
    /// Messages accepted by the inboxes (`send` completed).
    accepted: AtomicU64,
    /// Messages handled by the consumers.
    handled: AtomicU64,
    /// When the first consumer got SIGTERM, and the messages in flight then.
    terminated_at: Mutex<Option<(Instant, u64)>>,
    /// Each consumer's report: `Ok(handled)` or what went wrong.
    reports: Mutex<Vec<Result<u64, String>>>,
}

/// The child under load, see the module docs.
fn child_under_load() -> Result<String, String> {
    // First, before any thread starts: blocks the runtime's signals.
    let mut runtime = Runtime::setup()
        .with_name("signals-under-load")
        .num_threads(WORKERS)
        .build()
        .map_err(|err| format!("can't build the runtime: {err}"))?;
    let watchdog = thread::spawn(|| {
        thread::sleep(CHILD_WATCHDOG);
        eprintln!("timed out after {CHILD_WATCHDOG:?}: a signal or message was lost");
        std::process::exit(3);
    });
    drop(watchdog);

    let shared = Arc::new(Shared {
        stopping: AtomicBool::new(false),
        accepted: AtomicU64::new(0),
        handled: AtomicU64::new(0),
        terminated_at: Mutex::new(None),
        reports: Mutex::new(Vec::new()),
    });
    let options = ActorOptions::default().with_inbox_size(InboxSize::fixed(INBOX));

    let (refs_sender, refs) = mpsc::channel::<ActorRef<Msg>>();
    let local_shared = Arc::clone(&shared);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            for _ in 0..LOCAL_PER_WORKER {
                let arg = Arc::clone(&local_shared);
                let actor_ref = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(consumer::<ThreadLocal>),
                    arg,
                    options,
                );
                rt.receive_signals(actor_ref.clone().try_map());
                refs_sender
                    .send(actor_ref)
                    .expect("the main thread waits for the references");
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the consumers: {err}"))?;
    let mut consumers: Vec<ActorRef<Msg>> = refs.try_iter().collect();
    for _ in 0..SHARED_CONSUMERS {
        let actor_ref = runtime.spawn(
            NoSupervisor,
            actor_fn(consumer::<ThreadSafe>),
            Arc::clone(&shared),
            options,
        );
        runtime.receive_signals(actor_ref.clone().try_map());
        consumers.push(actor_ref);
    }
    if consumers.len() != CONSUMERS {
        return Err(format!("{} consumers, not {CONSUMERS}", consumers.len()));
    }

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|producer| {
            let consumers = consumers.clone();
            let shared = Arc::clone(&shared);
            thread::spawn(move || produce(producer, &consumers, &shared))
        })
        .collect();
    drop(consumers);
    let monitor = {
        let shared = Arc::clone(&shared);
        thread::spawn(move || monitor(&shared))
    };

    let result = runtime.start();
    let stopped_at = Instant::now();
    for producer in producers {
        producer
            .join()
            .map_err(|_| "a producer thread panicked".to_owned())?;
    }
    let in_flight_at_ready = monitor
        .join()
        .map_err(|_| "the monitor thread panicked".to_owned())?;
    result.map_err(|err| format!("the runtime failed: {err}"))?;

    let reports = std::mem::take(
        &mut *shared
            .reports
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    if reports.len() != CONSUMERS {
        return Err(format!(
            "{} of {CONSUMERS} consumers reported; the others never stopped",
            reports.len()
        ));
    }
    let mut handled = 0;
    for report in reports {
        handled += report?;
    }
    let accepted = shared.accepted.load(Ordering::Acquire);
    if handled != accepted || shared.handled.load(Ordering::Acquire) != accepted {
        return Err(format!("{accepted} messages accepted, {handled} handled"));
    }
    let in_flight_at_ready =
        in_flight_at_ready.ok_or("the monitor never saw enough messages in flight")?;
    let (terminated_at, in_flight_at_terminate) = shared
        .terminated_at
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .ok_or("no consumer got SIGTERM")?;
    Ok(format!(
        "handled {handled} accepted {accepted} in-flight-at-ready {in_flight_at_ready} \
         in-flight-at-terminate {in_flight_at_terminate} drained-in-us {}",
        stopped_at.duration_since(terminated_at).as_micros()
    ))
}

/// A consumer: handles messages until it has had SIGTERM and every
/// producer's `Done`, checking the order and count of each producer's
/// messages.
async fn consumer<RT>(mut ctx: actor::Context<Msg, RT>, shared: Arc<Shared>) {
    let report = consume(&mut ctx, &shared).await;
    shared
        .reports
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(report);
}

async fn consume<RT>(ctx: &mut actor::Context<Msg, RT>, shared: &Shared) -> Result<u64, String> {
    let mut next = [0_u64; PRODUCERS];
    let mut done = [false; PRODUCERS];
    let mut terminated = false;
    let mut handled = 0;
    while !(terminated && done.iter().all(|&done| done)) {
        let Ok(msg) = ctx.receive_next().await else {
            return Err("the inbox was disconnected before the end".to_owned());
        };
        match msg {
            Msg::Work { producer, seq } => {
                if done[producer] {
                    return Err(format!(
                        "message {seq} of producer {producer} after its end"
                    ));
                }
                if seq != next[producer] {
                    return Err(format!(
                        "producer {producer}: message {seq} where {} was due (lost or reordered)",
                        next[producer]
                    ));
                }
                next[producer] += 1;
                busy_work(seq);
                handled += 1;
                shared.handled.fetch_add(1, Ordering::AcqRel);
            }
            Msg::Done { producer, sent } => {
                if sent != next[producer] {
                    return Err(format!(
                        "producer {producer} had {sent} messages accepted, {} handled",
                        next[producer]
                    ));
                }
                done[producer] = true;
            }
            Msg::Signal(Signal::Terminate) if !terminated => {
                terminated = true;
                let mut at = shared
                    .terminated_at
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                at.get_or_insert_with(|| {
                    let accepted = shared.accepted.load(Ordering::Acquire);
                    let handled = shared.handled.load(Ordering::Acquire);
                    (Instant::now(), accepted.saturating_sub(handled))
                });
                shared.stopping.store(true, Ordering::Release);
            }
            Msg::Signal(signal) => return Err(format!("unexpected signal: {signal}")),
        }
    }
    Ok(handled)
}

/// About a microsecond of work that the optimiser can't remove.
fn busy_work(seed: u64) {
    let mut x = seed;
    for _ in 0..WORK_ROUNDS {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
    std::hint::black_box(x);
}

/// A producer: sends numbered messages to every consumer in turn (waiting
/// while an inbox is full) until told to stop, then a `Done` to each.
fn produce(producer: usize, consumers: &[ActorRef<Msg>], shared: &Shared) {
    let mut sent = vec![0_u64; consumers.len()];
    'produce: loop {
        for (to, consumer) in consumers.iter().enumerate() {
            if shared.stopping.load(Ordering::Acquire) {
                break 'produce;
            }
            let msg = Msg::Work {
                producer,
                seq: sent[to],
            };
            if kiln::sync::block_on(consumer.send(msg)).is_err() {
                // A consumer that stopped early reports why itself.
                break 'produce;
            }
            sent[to] += 1;
            shared.accepted.fetch_add(1, Ordering::AcqRel);
        }
    }
    for (to, consumer) in consumers.iter().enumerate() {
        let _ = kiln::sync::block_on(consumer.send(Msg::Done {
            producer,
            sent: sent[to],
        }));
    }
}

/// Prints `ready <in flight>` once at least [`IN_FLIGHT`] accepted messages
/// wait and the consumers are running; returns that number.
fn monitor(shared: &Shared) -> Option<u64> {
    let give_up = Instant::now() + READY_WITHIN;
    while Instant::now() < give_up {
        let handled = shared.handled.load(Ordering::Acquire);
        let accepted = shared.accepted.load(Ordering::Acquire);
        let in_flight = accepted.saturating_sub(handled);
        if handled > 0 && in_flight >= IN_FLIGHT {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "ready {in_flight}");
            let _ = stdout.flush();
            return Some(in_flight);
        }
        thread::sleep(Duration::from_micros(200));
    }
    None
}

/// What the start-up child's actors got: who, and which signals.
type Got = (&'static str, Vec<Signal>);

/// The start-up child, see the module docs.
fn child_at_start_up() -> Result<String, String> {
    let mut runtime = Runtime::setup()
        .with_name("signals-at-start-up")
        .num_threads(WORKERS)
        .build()
        .map_err(|err| format!("can't build the runtime: {err}"))?;
    thread::spawn(|| {
        thread::sleep(CHILD_WATCHDOG);
        eprintln!("timed out after {CHILD_WATCHDOG:?}: a signal sent at start-up was lost");
        std::process::exit(3);
    });

    let (got_sender, got) = mpsc::channel::<Got>();
    let local_got = got_sender.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() == 0 {
                let arg = ("thread-local", local_got.clone());
                let actor_ref = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(signal_receiver::<ThreadLocal>),
                    arg,
                    ActorOptions::default(),
                );
                rt.receive_signals(actor_ref);
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the actor: {err}"))?;
    let actor_ref = runtime.spawn(
        NoSupervisor,
        actor_fn(signal_receiver::<ThreadSafe>),
        ("thread-safe", got_sender),
        ActorOptions::default(),
    );
    runtime.receive_signals(actor_ref);

    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "built");
        let _ = stdout.flush();
    }
    // The parent signals now; wait until both signals are pending, so that
    // they certainly arrive before `start`.
    let give_up = Instant::now() + READY_WITHIN;
    while !(is_pending(libc::SIGUSR1)? && is_pending(libc::SIGTERM)?) {
        if Instant::now() > give_up {
            return Err("the parent's signals never arrived".to_owned());
        }
        thread::sleep(Duration::from_micros(100));
    }
    runtime
        .start()
        .map_err(|err| format!("the runtime failed: {err}"))?;

    let mut got: Vec<Got> = got.try_iter().collect();
    got.sort_unstable_by_key(|(who, _)| *who);
    for (who, signals) in &mut got {
        signals.sort_unstable_by_key(|signal| signal.as_raw());
        if *signals != [Signal::User1, Signal::Terminate] {
            return Err(format!("the {who} actor got {signals:?}"));
        }
    }
    if got.len() != 2 {
        return Err(format!("only {} actor(s) reported", got.len()));
    }
    Ok("both actors got SIGUSR1 and SIGTERM once".to_owned())
}

/// Receives signals until it has had SIGTERM, then reports them all.
async fn signal_receiver<RT>(
    mut ctx: actor::Context<Signal, RT>,
    who: &'static str,
    got: mpsc::Sender<Got>,
) {
    let mut signals = Vec::new();
    while let Ok(signal) = ctx.receive_next().await {
        signals.push(signal);
        if signal == Signal::Terminate {
            break;
        }
    }
    let _ = got.send((who, signals));
}

/// Whether `signal` is pending (blocked and arrived) for this process.
fn is_pending(signal: libc::c_int) -> Result<bool, String> {
    // SAFETY: all zeroes is a valid `sigset_t`; `sigpending` fills it in.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable `sigset_t`.
    let res = unsafe { libc::sigpending(&raw mut set) };
    if res == -1 {
        return Err(format!(
            "sigpending failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `set` was initialised by `sigpending`; the signal number is valid.
    let member = unsafe { libc::sigismember(&raw const set, signal) };
    Ok(member == 1)
}

fn median<T: Copy>(sorted: &[T]) -> T {
    sorted[sorted.len() / 2]
}
