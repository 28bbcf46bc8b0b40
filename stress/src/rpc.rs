//! Item 4, RPC without hangs: calls that cannot be answered end with a
//! timeout (under a `Deadline`) or `NoResponse`, never a hang.
//!
//! Every call is made under a `Deadline`: 20 ms for the calls that cannot
//! be answered, 1 s for the ones that must end with `NoResponse` or
//! `SendError` at once (those must end before their deadline: one that
//! ends only when its deadline passes was not woken when its request was
//! dropped). A call that has not ended 2 s after its deadline counts as a
//! hang and fails the scenario, as does any wait of the drivers beyond
//! that. Actors stop when their drivers drop their references, so a failed
//! check cannot leave the runtime running. On a runtime of two workers:
//!
//! - **A calls B while B calls A**, for pairs on one worker, pairs across
//!   the two workers, and thread-safe pairs: a driver asks both to call the
//!   other 2 ms later, so each is busy (in the handler of the driver's
//!   request) when the other's request comes. Each call must end with a
//!   timeout or, when the other side timed out first and then answered, a
//!   response; in at least 90% of the rounds a call must time out (the
//!   calls crossed: a deadlock; a round may miss it on a very loaded
//!   machine, if one peer takes the driver's request more than 2 ms after
//!   the other).
//! - **An actor calling itself**: always a timeout.
//! - **A responder that panics**, **returns an error**, or **drops the
//!   request** (restarted by its supervisor each time): the caller gets
//!   `NoResponse`, before the deadline.
//! - **A responder stopped for good with requests queued**: the call being
//!   handled and every queued one end with `NoResponse`, later calls with
//!   `SendError`.
//! - **A full inbox that is not read**: the call waits for room and times
//!   out; the request never enters the inbox.
//!
//! Figures: the calls of each case, how they ended, and the longest call.

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::task::Poll;
use std::time::{Duration, Instant};

use kiln::InboxSize;
use kiln::actor_ref::{RpcError, RpcMessage};
use kiln::supervisor::{NoSupervisor, StopSupervisor};
use kiln::{ActorRef, actor, actor_fn, restart_supervisor};
use kiln_rt::access::Access;
use kiln_rt::timer::{Deadline, DeadlinePassed, Timer};
use kiln_rt::{ActorOptions, FutureOptions, Runtime, RuntimeRef, ThreadLocal, ThreadSafe};

use crate::report::{self, Figure, INJECTED_PANIC, Outcome, check};
use kiln_rt::Spawn;

/// The deadline of the calls that cannot be answered (they time out).
const DEADLINE: Duration = Duration::from_millis(20);
/// The deadline of the calls that must end with `NoResponse` or
/// `SendError` as soon as the request is dropped: long, so that a busy
/// machine does not turn them into timeouts, and a lost wake-up (which a
/// deadline would end with `NoResponse` only when it passes) shows.
const PROMPT_DEADLINE: Duration = Duration::from_secs(1);
/// When both peers of a pair make their call: this long after the driver
/// sent them `Go`, so that both are busy in their `Go` handler by then.
const GO_DELAY: Duration = Duration::from_millis(2);
/// A call (or a driver's wait) not ended this long after its deadline hangs.
const HANG: Duration = Duration::from_secs(2);

/// How a call ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Ended {
    Response,
    Timeout,
    NoResponse,
    SendError,
}

/// A call's end and how long it took.
#[derive(Copy, Clone, Debug)]
struct Call {
    ended: Ended,
    took: Duration,
}

/// The error of a call under a deadline.
enum CallError {
    Rpc(RpcError),
    Timeout,
}

impl From<DeadlinePassed> for CallError {
    fn from(_: DeadlinePassed) -> CallError {
        CallError::Timeout
    }
}

/// Calls `to` with `request` under a deadline of `deadline`.
async fn call<M, RT: Access>(rt: RT, deadline: Duration, to: &ActorRef<M>, request: u32) -> Call
where
    M: From<RpcMessage<u32, u32>>,
{
    let start = Instant::now();
    let rpc = async { to.rpc(request).await.map_err(CallError::Rpc) };
    let ended = match Deadline::after(rt, deadline, rpc).await {
        Ok(_) => Ended::Response,
        Err(CallError::Timeout) => Ended::Timeout,
        Err(CallError::Rpc(RpcError::NoResponse)) => Ended::NoResponse,
        Err(CallError::Rpc(RpcError::SendError)) => Ended::SendError,
    };
    Call {
        ended,
        took: start.elapsed(),
    }
}

/// Waits for `future` at most [`DEADLINE`] + [`HANG`].
async fn bounded<T>(
    rt: &RuntimeRef,
    what: &str,
    future: impl Future<Output = T>,
) -> Result<T, String> {
    let wrapped = async { Ok::<T, DeadlinePassed>(future.await) };
    Deadline::after(rt.clone(), DEADLINE + HANG, wrapped)
        .await
        .map_err(|_| {
            format!(
                "{what}: hung (no end within {})",
                report::duration(DEADLINE + HANG)
            )
        })
}

/// Runs `futures` concurrently; returns their outputs in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Asks a peer to call `to` at `at`; answered with how that call ended.
/// (Peers hold no references to each other between rounds, so they stop
/// once their drivers are done, whatever happened.)
struct Go {
    round: u32,
    to: ActorRef<PeerMsg>,
    at: Instant,
}

/// The messages of [`peer`].
enum PeerMsg {
    /// Make a call.
    Go(RpcMessage<Go, Call>),
    /// A call: answered with the request plus one.
    Call(RpcMessage<u32, u32>),
}

impl From<RpcMessage<Go, Call>> for PeerMsg {
    fn from(msg: RpcMessage<Go, Call>) -> PeerMsg {
        PeerMsg::Go(msg)
    }
}

impl From<RpcMessage<u32, u32>> for PeerMsg {
    fn from(msg: RpcMessage<u32, u32>) -> PeerMsg {
        PeerMsg::Call(msg)
    }
}

/// Counts answers that came too late (the caller had stopped waiting).
#[derive(Debug, Default)]
struct Late(AtomicU64);

/// Calls when told to (waiting in the handler until the time given, so
/// that a peer told at the same time is busy too); answers calls when it is
/// free.
async fn peer<RT: Access + Clone>(mut ctx: actor::Context<PeerMsg, RT>, late: Arc<Late>) {
    let rt = ctx.runtime_ref().clone();
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            PeerMsg::Go(RpcMessage { request, response }) => {
                Timer::at(rt.clone(), request.at).await;
                let ended = call(rt.clone(), DEADLINE, &request.to, request.round).await;
                let _ = response.respond(ended);
            }
            PeerMsg::Call(RpcMessage { request, response }) => {
                if response.respond(request + 1).is_err() {
                    late.0.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// How a responder fails to answer.
#[derive(Copy, Clone, Debug)]
enum Mode {
    Panic,
    Error,
    Drop,
}

/// The error of a failing responder.
#[derive(Debug)]
struct Failure;

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("injected failure")
    }
}

restart_supervisor!(
    /// Always restarts the failing responders.
    ResponderSupervisor,
    Mode,
    1_000_000,
    Duration::from_secs(1)
);

/// Never answers: fails (or drops the request) on every request.
async fn responder(
    mut ctx: actor::Context<RpcMessage<u32, u32>, ThreadLocal>,
    mode: Mode,
) -> Result<(), Failure> {
    while let Ok(request) = ctx.receive_next().await {
        match mode {
            Mode::Panic => panic!("{INJECTED_PANIC}"),
            Mode::Error => return Err(Failure),
            Mode::Drop => drop(request),
        }
    }
    Ok(())
}

/// Does not read its inbox until `until`, then drains it.
async fn stuck(mut ctx: actor::Context<RpcMessage<u32, u32>, ThreadLocal>, until: Duration) {
    Timer::after(ctx.runtime_ref().clone(), until).await;
    while let Ok(request) = ctx.receive_next().await {
        let _ = request.response.respond(0);
    }
}

/// The calls of one case.
#[derive(Clone, Debug, Default)]
struct Tally {
    calls: u64,
    response: u64,
    timeout: u64,
    no_response: u64,
    send_error: u64,
    longest: Duration,
}

impl Tally {
    fn add(&mut self, call: Call) {
        self.calls += 1;
        match call.ended {
            Ended::Response => self.response += 1,
            Ended::Timeout => self.timeout += 1,
            Ended::NoResponse => self.no_response += 1,
            Ended::SendError => self.send_error += 1,
        }
        self.longest = self.longest.max(call.took);
    }

    fn summary(&self) -> String {
        let mut ends = Vec::new();
        for (n, what) in [
            (self.response, "response"),
            (self.timeout, "timeout"),
            (self.no_response, "NoResponse"),
            (self.send_error, "SendError"),
        ] {
            if n > 0 {
                ends.push(format!("{} {what}", report::count(n)));
            }
        }
        format!(
            "{} calls: {}; longest {}",
            report::count(self.calls),
            ends.join(", "),
            report::duration(self.longest)
        )
    }
}

/// The tallies and the first broken promise, shared by the drivers.
#[derive(Default)]
struct Results {
    tallies: Vec<(&'static str, Tally)>,
    /// Per case of A-calls-B-calls-A: rounds in which the deadlock formed
    /// (a call timed out), and rounds played.
    deadlocks: Vec<(&'static str, u64, u64)>,
    error: Option<String>,
}

impl Results {
    fn record(&mut self, case: &'static str, call: Call) {
        let tally = match self.tallies.iter_mut().find(|(name, _)| *name == case) {
            Some((_, tally)) => tally,
            None => {
                self.tallies.push((case, Tally::default()));
                &mut self.tallies.last_mut().expect("just pushed").1
            }
        };
        tally.add(call);
    }

    fn fail(&mut self, error: String) {
        self.error.get_or_insert(error);
    }

    fn deadlocks(&mut self, case: &'static str, deadlocks: u64, rounds: u64) {
        match self.deadlocks.iter_mut().find(|(name, ..)| *name == case) {
            Some((_, d, r)) => {
                *d += deadlocks;
                *r += rounds;
            }
            None => self.deadlocks.push((case, deadlocks, rounds)),
        }
    }
}

type Shared = Arc<Mutex<Results>>;

fn lock(results: &Shared) -> std::sync::MutexGuard<'_, Results> {
    results.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The size of one version of the scenario.
#[derive(Copy, Clone, Debug)]
struct Config {
    /// Pairs (and self-callers, and responders) of each kind.
    pairs: usize,
    /// Rounds each pair plays.
    rounds: u32,
}

const FULL: Config = Config {
    pairs: 100,
    rounds: 50,
};

const QUICK: Config = Config {
    pairs: 10,
    rounds: 5,
};

/// The cases' names.
const SAME_WORKER: &str = "A calls B while B calls A, one worker";
const CROSS_WORKER: &str = "A calls B while B calls A, two workers";
const THREAD_SAFE: &str = "A calls B while B calls A, thread-safe";
const SELF_CALL: &str = "an actor calling itself";
const PANICS: &str = "responder panics";
const ERRORS: &str = "responder returns an error";
const DROPS: &str = "responder drops the request";
const STOPPED: &str = "responder stopped with requests queued";
const FULL_INBOX: &str = "full inbox, never read in time";

/// Runs the scenario: `quick` for the CI-sized version.
pub(crate) fn run(quick: bool) -> Outcome {
    let config = if quick { QUICK } else { FULL };
    report::run_bounded("rpc", Duration::from_secs(120), move || rpc(config))
}

fn rpc(config: Config) -> Outcome {
    let mut runtime = Runtime::setup()
        .with_name("rpc")
        .num_threads(2)
        .build()
        .map_err(|err| format!("can't build the runtime: {err}"))?;
    let late = Arc::new(Late::default());
    let results: Shared = Arc::default();

    // Peers: on each worker, one of each same-worker pair and one side of
    // each cross-worker pair; self-callers on worker 1.
    let (refs_sender, refs) = mpsc::channel::<(usize, &'static str, ActorRef<PeerMsg>)>();
    let spawn_late = Arc::clone(&late);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let worker = rt.worker_index();
            let mut spawn = |case: &'static str| {
                let actor_ref = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(peer::<ThreadLocal>),
                    Arc::clone(&spawn_late),
                    ActorOptions::default(),
                );
                refs_sender
                    .send((worker, case, actor_ref))
                    .expect("the scenario waits for the references");
            };
            for _ in 0..config.pairs {
                if worker == 0 {
                    spawn(SAME_WORKER);
                    spawn(SAME_WORKER);
                } else {
                    spawn(SELF_CALL);
                }
                spawn(CROSS_WORKER);
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the peers: {err}"))?;
    // Only the drivers may hold references once the runtime starts: an
    // actor stops when its last reference is gone.
    let mut pairs: Vec<(&'static str, ActorRef<PeerMsg>, ActorRef<PeerMsg>)> = Vec::new();
    let mut self_callers = Vec::new();
    let (mut same, mut cross) = (Vec::new(), [Vec::new(), Vec::new()]);
    for (worker, case, actor_ref) in refs.try_iter() {
        match case {
            SAME_WORKER => same.push(actor_ref),
            CROSS_WORKER => cross[worker].push(actor_ref),
            _ => self_callers.push(actor_ref),
        }
    }
    while let (Some(a), Some(b)) = (same.pop(), same.pop()) {
        pairs.push((SAME_WORKER, a, b));
    }
    let [cross0, cross1] = cross;
    for (a, b) in cross0.into_iter().zip(cross1) {
        pairs.push((CROSS_WORKER, a, b));
    }
    for _ in 0..config.pairs {
        let mut spawn = || {
            runtime.spawn(
                NoSupervisor,
                actor_fn(peer::<ThreadSafe>),
                Arc::clone(&late),
                ActorOptions::default(),
            )
        };
        let (a, b) = (spawn(), spawn());
        pairs.push((THREAD_SAFE, a, b));
    }
    // Taken by worker 0's run of the closure (the closure is cloned for
    // every worker; the others' copies are dropped when they return).
    let pairs = Arc::new(Mutex::new(pairs));
    let self_callers = Arc::new(Mutex::new(self_callers));

    let drivers_results = Arc::clone(&results);
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() != 0 {
                return Ok(());
            }
            let pairs = std::mem::take(&mut *pairs.lock().unwrap_or_else(PoisonError::into_inner));
            let self_callers =
                std::mem::take(&mut *self_callers.lock().unwrap_or_else(PoisonError::into_inner));
            for (case, a, b) in pairs {
                let future = play(
                    rt.clone(),
                    case,
                    a,
                    b,
                    config.rounds,
                    Arc::clone(&drivers_results),
                );
                rt.spawn_local_future(future, FutureOptions::default());
            }
            for actor_ref in self_callers {
                let future = call_self(
                    rt.clone(),
                    actor_ref,
                    config.rounds,
                    Arc::clone(&drivers_results),
                );
                rt.spawn_local_future(future, FutureOptions::default());
            }
            for (case, mode) in [
                (PANICS, Mode::Panic),
                (ERRORS, Mode::Error),
                (DROPS, Mode::Drop),
            ] {
                for _ in 0..config.pairs {
                    let actor_ref = rt.spawn_local(
                        ResponderSupervisor::new(mode),
                        actor_fn(responder),
                        mode,
                        ActorOptions::default(),
                    );
                    let future = call_failing(
                        rt.clone(),
                        case,
                        actor_ref,
                        config.rounds,
                        Arc::clone(&drivers_results),
                    );
                    rt.spawn_local_future(future, FutureOptions::default());
                }
            }
            for _ in 0..config.pairs {
                let future = stopped_with_queue(rt.clone(), Arc::clone(&drivers_results));
                rt.spawn_local_future(future, FutureOptions::default());
                let future = full_inbox(rt.clone(), Arc::clone(&drivers_results));
                rt.spawn_local_future(future, FutureOptions::default());
            }
            Ok(())
        })
        .map_err(|err| format!("can't spawn the drivers: {err}"))?;

    let start = Instant::now();
    runtime
        .start()
        .map_err(|err| format!("the runtime failed: {err}"))?;
    let elapsed = start.elapsed();

    let results = std::mem::take(&mut *lock(&results));
    if let Some(error) = results.error {
        return Err(error);
    }
    let mut figures = vec![Figure::new(
        "deadline: calls that cannot be answered / that must fail at once; hang after",
        format!(
            "{} / {}; deadline + {}",
            report::duration(DEADLINE),
            report::duration(PROMPT_DEADLINE),
            report::duration(HANG)
        ),
    )];
    let mut total = 0;
    for case in [
        SAME_WORKER,
        CROSS_WORKER,
        THREAD_SAFE,
        SELF_CALL,
        PANICS,
        ERRORS,
        DROPS,
        STOPPED,
        FULL_INBOX,
    ] {
        let (_, tally) = results
            .tallies
            .iter()
            .find(|(name, _)| *name == case)
            .ok_or_else(|| format!("{case}: no calls were made"))?;
        total += tally.calls;
        let mut summary = tally.summary();
        if let Some(&(_, deadlocks, rounds)) = results.deadlocks.iter().find(|(c, ..)| *c == case) {
            // A round without a timeout means the two calls did not cross:
            // it tests nothing. A few may, on a machine so loaded that one
            // peer took its `Go` more than GO_DELAY after the other.
            check(deadlocks * 10 >= rounds * 9, || {
                format!("{case}: the calls crossed in only {deadlocks} of {rounds} rounds")
            })?;
            summary.push_str(&format!("; deadlocked {deadlocks} of {rounds} rounds"));
        }
        figures.push(Figure::new(case, summary));
    }
    figures.push(Figure::new(
        "calls in all, hangs",
        format!("{}, 0", report::count(total)),
    ));
    figures.push(Figure::new(
        "late answers refused (caller gone)",
        report::count(late.0.load(Ordering::Relaxed)),
    ));
    figures.push(Figure::new("run time", report::duration(elapsed)));
    Ok(figures)
}

/// Checks a call made under `deadline`: ended one of the `allowed` ways,
/// within the hang bound; and, if it was to end before its deadline
/// (`NoResponse`, `SendError`), before it.
fn judge(results: &Shared, case: &'static str, deadline: Duration, call: Call, allowed: &[Ended]) {
    let mut results = lock(results);
    results.record(case, call);
    if !allowed.contains(&call.ended) {
        results.fail(format!(
            "{case}: a call ended with {:?} after {} (expected one of {allowed:?})",
            call.ended,
            report::duration(call.took)
        ));
    }
    if call.took > deadline + HANG {
        results.fail(format!(
            "{case}: a call took {} (deadline {}): a hang",
            report::duration(call.took),
            report::duration(deadline)
        ));
    }
    let prompt = matches!(call.ended, Ended::NoResponse | Ended::SendError);
    if prompt && call.took >= deadline {
        results.fail(format!(
            "{case}: a call ended with {:?} only at its deadline, after {}: the caller was not \
             woken when its request was dropped (a lost wake-up)",
            call.ended,
            report::duration(call.took)
        ));
    }
}

/// Rounds of "both call the other at once".
async fn play(
    rt: RuntimeRef,
    case: &'static str,
    a: ActorRef<PeerMsg>,
    b: ActorRef<PeerMsg>,
    rounds: u32,
    results: Shared,
) {
    let mut deadlocks = 0;
    for round in 0..rounds {
        let at = Instant::now() + GO_DELAY;
        let both = join_all(vec![
            a.rpc(Go {
                round,
                to: b.clone(),
                at,
            }),
            b.rpc(Go {
                round,
                to: a.clone(),
                at,
            }),
        ]);
        let calls = match bounded(&rt, case, both).await {
            Ok(calls) => calls,
            Err(err) => return lock(&results).fail(err),
        };
        let mut timeouts = 0;
        for call in calls {
            match call {
                Ok(call) => {
                    timeouts += u32::from(call.ended == Ended::Timeout);
                    let allowed = [Ended::Timeout, Ended::Response];
                    judge(&results, case, DEADLINE, call, &allowed);
                }
                Err(err) => {
                    return lock(&results).fail(format!("{case}: a peer did not report: {err}"));
                }
            }
        }
        deadlocks += u64::from(timeouts > 0);
    }
    lock(&results).deadlocks(case, deadlocks, u64::from(rounds));
}

/// Rounds of "call yourself".
async fn call_self(rt: RuntimeRef, actor_ref: ActorRef<PeerMsg>, rounds: u32, results: Shared) {
    for round in 0..rounds {
        let go = Go {
            round,
            to: actor_ref.clone(),
            at: Instant::now(),
        };
        match bounded(&rt, SELF_CALL, actor_ref.rpc(go)).await {
            Ok(Ok(call)) => judge(&results, SELF_CALL, DEADLINE, call, &[Ended::Timeout]),
            Ok(Err(err)) => return lock(&results).fail(format!("{SELF_CALL}: {err}")),
            Err(err) => return lock(&results).fail(err),
        }
    }
}

/// Calls a responder that never answers: each call must end with
/// `NoResponse` before the deadline.
async fn call_failing(
    rt: RuntimeRef,
    case: &'static str,
    actor_ref: ActorRef<RpcMessage<u32, u32>>,
    rounds: u32,
    results: Shared,
) {
    for round in 0..rounds {
        let call = call(rt.clone(), PROMPT_DEADLINE, &actor_ref, round).await;
        judge(&results, case, PROMPT_DEADLINE, call, &[Ended::NoResponse]);
    }
}

/// Several callers queue requests for a responder that fails on the first
/// one and is stopped: all of them get `NoResponse`, later callers
/// `SendError`.
async fn stopped_with_queue(rt: RuntimeRef, results: Shared) {
    let mut spawner = rt.clone();
    let actor_ref = spawner.spawn_local(
        StopSupervisor,
        actor_fn(responder),
        Mode::Error,
        ActorOptions::default(),
    );
    let calls = (0..5)
        .map(|n| call(rt.clone(), PROMPT_DEADLINE, &actor_ref, n))
        .collect();
    for call in join_all(calls).await {
        judge(
            &results,
            STOPPED,
            PROMPT_DEADLINE,
            call,
            &[Ended::NoResponse],
        );
    }
    let late = call(rt.clone(), PROMPT_DEADLINE, &actor_ref, 5).await;
    judge(
        &results,
        STOPPED,
        PROMPT_DEADLINE,
        late,
        &[Ended::SendError],
    );
}

/// A call to an actor whose inbox (of one) is full and not read before the
/// deadline: it must time out.
async fn full_inbox(rt: RuntimeRef, results: Shared) {
    let mut spawner = rt.clone();
    let actor_ref = spawner.spawn_local(
        NoSupervisor,
        actor_fn(stuck),
        DEADLINE * 3,
        ActorOptions::default().with_inbox_size(InboxSize::fixed(1)),
    );
    let (filler, _response) = RpcMessage::new(0);
    if actor_ref.try_send(filler).is_err() {
        return lock(&results).fail(format!("{FULL_INBOX}: can't fill the inbox"));
    }
    let call = call(rt.clone(), DEADLINE, &actor_ref, 1).await;
    judge(&results, FULL_INBOX, DEADLINE, call, &[Ended::Timeout]);
}
