//! `spawn_local_on`: a thread-local actor spawned on a chosen worker, written
//! as a user would: a two-worker ping-pong set up from the `Runtime` and from
//! inside an actor, a spawn after `start` onto a worker that has been idle
//! since, messages sent before the actor exists, spawns from thread-safe and
//! synchronous actors, a thousand spawns across workers, bad worker indexes,
//! and failures to create the actor, which go to its supervisor.

use std::fmt;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use kiln::actor::{self, NewActor};
use kiln::actor_ref::{ActorExit, SendError};
use kiln::supervisor::{NoSupervisor, Supervisor, SupervisorStrategy};
use kiln::{ActorRef, actor_fn, sync};
use kiln_rt::timer::Timer;
use kiln_rt::{ActorOptions, Runtime, ThreadLocal, ThreadSafe};

mod util;

/// Starts `runtime` and waits until it returns, at most
/// [`TIMEOUT`](util::timeout::TIMEOUT).
#[track_caller]
fn start(runtime: Runtime) {
    util::runtime::start(runtime).ends();
}

/// Replies to every ping with the next number; reports the worker it ran on.
async fn ponger(
    mut ctx: actor::Context<(u64, ActorRef<u64>), ThreadLocal>,
    ran_on: mpsc::Sender<usize>,
) {
    let _ = ran_on.send(ctx.runtime_ref().worker_index());
    while let Ok((n, pinger)) = ctx.receive_next().await {
        let _ = pinger.send(n + 1).await;
    }
}

/// What a pinger reports: its worker, its ponger's, and the last number.
type PingReport = (usize, usize, u64);

/// Plays `rounds` rounds with `ponger`; reports where it ran, where the
/// ponger ran, and the number it ended with.
async fn play(
    ctx: &mut actor::Context<u64, ThreadLocal>,
    ponger: ActorRef<(u64, ActorRef<u64>)>,
    ponger_ran_on: mpsc::Receiver<usize>,
    rounds: u64,
) -> Option<PingReport> {
    let mut n = 0;
    for _ in 0..rounds {
        ponger.send((n, ctx.actor_ref())).await.ok()?;
        n = ctx.receive_next().await.ok()?;
    }
    let ponger_worker = ponger_ran_on.try_recv().ok()?;
    Some((ctx.runtime_ref().worker_index(), ponger_worker, n))
}

/// Spawns its ponger on worker `other`, from inside the actor, then plays.
async fn pinger(
    mut ctx: actor::Context<u64, ThreadLocal>,
    other: usize,
    rounds: u64,
    report: mpsc::Sender<Option<PingReport>>,
) {
    let (ran_on, ponger_ran_on) = mpsc::channel();
    let options = ActorOptions::default();
    let spawned =
        ctx.runtime()
            .spawn_local_on(other, NoSupervisor, actor_fn(ponger), ran_on, options);
    let result = match spawned {
        Ok(ponger) => play(&mut ctx, ponger, ponger_ran_on, rounds).await,
        Err(err) => panic!("spawn_local_on({other}) failed: {err}"),
    };
    let _ = report.send(result);
}

#[test]
fn ping_pong_between_two_workers_set_up_from_inside_an_actor() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (report, reports) = mpsc::channel();
    let options = ActorOptions::default();
    runtime
        .spawn_local_on(
            0,
            NoSupervisor,
            actor_fn(pinger),
            (1, 1000, report),
            options,
        )
        .unwrap();
    start(runtime);
    assert_eq!(reports.try_recv(), Ok(Some((0, 1, 1000))));
}

#[test]
fn ping_pong_between_two_workers_set_up_from_the_runtime() {
    /// Plays with a ponger it is given.
    async fn given(
        mut ctx: actor::Context<u64, ThreadLocal>,
        ponger: ActorRef<(u64, ActorRef<u64>)>,
        ponger_ran_on: mpsc::Receiver<usize>,
        report: mpsc::Sender<Option<PingReport>>,
    ) {
        let result = play(&mut ctx, ponger, ponger_ran_on, 1000).await;
        let _ = report.send(result);
    }
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (ran_on, ponger_ran_on) = mpsc::channel();
    let (report, reports) = mpsc::channel();
    let options = ActorOptions::default();
    let ponger = runtime
        .spawn_local_on(1, NoSupervisor, actor_fn(ponger), ran_on, options)
        .unwrap();
    let arg = (ponger, ponger_ran_on, report);
    runtime
        .spawn_local_on(0, NoSupervisor, actor_fn(given), arg, options)
        .unwrap();
    start(runtime);
    assert_eq!(reports.try_recv(), Ok(Some((0, 1, 1000))));
}

/// Worker 1 has nothing to do from `start` on; 200 ms later an actor on
/// worker 0 spawns onto it. Idle workers used to stop at once after
/// `start`, and the spawn then failed.
#[test]
fn a_spawn_after_start_reaches_a_worker_idle_since() {
    async fn late(ctx: actor::Context<u64, ThreadLocal>, report: mpsc::Sender<Option<PingReport>>) {
        Timer::after(ctx.runtime_ref().clone(), Duration::from_millis(200)).await;
        pinger(ctx, 1, 10, report).await;
    }
    let mut runtime = Runtime::setup().num_threads(3).build().unwrap();
    let (report, reports) = mpsc::channel();
    let options = ActorOptions::default();
    runtime
        .spawn_local_on(0, NoSupervisor, actor_fn(late), report, options)
        .unwrap();
    start(runtime);
    assert_eq!(reports.try_recv(), Ok(Some((0, 1, 10))));
}

/// Sums what it receives until its inbox is empty and disconnected; reports
/// the sum and its worker.
async fn summer(mut ctx: actor::Context<u64, ThreadLocal>, report: mpsc::Sender<(u64, usize)>) {
    let mut sum = 0;
    while let Ok(n) = ctx.receive_next().await {
        sum += n;
    }
    let _ = report.send((sum, ctx.runtime_ref().worker_index()));
}

/// Spawns a summer on `worker` of `runtime`, reporting to `report`.
fn spawn_summer(
    runtime: &mut Runtime,
    worker: usize,
    report: mpsc::Sender<(u64, usize)>,
) -> Result<ActorRef<u64>, kiln_rt::Error> {
    let options = ActorOptions::default();
    runtime.spawn_local_on(worker, NoSupervisor, actor_fn(summer), report, options)
}

/// The reference comes back before the actor exists on its worker: what is
/// sent meanwhile waits in the inbox.
#[test]
fn messages_sent_before_the_actor_is_created_are_received() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (report, reports) = mpsc::channel();
    let summer_ref = spawn_summer(&mut runtime, 1, report).unwrap();
    for n in 1..=8 {
        summer_ref.try_send(n as u64).unwrap();
    }
    drop(summer_ref);
    start(runtime);
    assert_eq!(reports.try_recv(), Ok((36, 1)));
}

/// On the caller's own worker the actor is created before the call
/// returns.
#[test]
fn spawning_on_the_callers_own_worker() {
    async fn spawner(mut ctx: actor::Context<(), ThreadLocal>, report: mpsc::Sender<(u64, usize)>) {
        let (created, was_created) = mpsc::channel();
        let new_actor = actor_fn(summer).map_arg(move |report| {
            let _ = created.send(());
            report
        });
        let options = ActorOptions::default();
        let summer_ref = ctx
            .runtime()
            .spawn_local_on(1, NoSupervisor, new_actor, report, options)
            .unwrap();
        assert!(
            was_created.try_recv().is_ok(),
            "not created before returning"
        );
        summer_ref.try_send(5u64).unwrap();
    }
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (report, reports) = mpsc::channel();
    runtime
        .spawn_local_on(
            1,
            NoSupervisor,
            actor_fn(spawner),
            report,
            ActorOptions::default(),
        )
        .unwrap();
    start(runtime);
    assert_eq!(reports.try_recv(), Ok((5, 1)));
}

/// A thread-safe actor and a synchronous actor spawn onto worker 1.
#[test]
fn thread_safe_and_synchronous_actors_spawn_on_a_worker() {
    async fn thread_safe(
        mut ctx: actor::Context<(), ThreadSafe>,
        report: mpsc::Sender<(u64, usize)>,
    ) {
        let options = ActorOptions::default();
        let summer_ref = ctx
            .runtime()
            .spawn_local_on(1, NoSupervisor, actor_fn(summer), report, options)
            .unwrap();
        summer_ref.send(1u64).await.unwrap();
    }
    fn synchronous(
        mut ctx: sync::Context<(), kiln_rt::access::Sync>,
        report: mpsc::Sender<(u64, usize)>,
    ) {
        let options = ActorOptions::default();
        let summer_ref = ctx
            .runtime()
            .spawn_local_on(1, NoSupervisor, actor_fn(summer), report, options)
            .unwrap();
        ctx.block_on(summer_ref.send(2u64)).unwrap();
    }
    let reported =
        util::runtime::run_thread_safe_and_sync(actor_fn(thread_safe), actor_fn(synchronous));
    assert_eq!(reported, [(1, 1), (2, 1)]);
}

/// An actor on each worker spawns 500 summers on the other worker, each
/// sent its index; every one arrives, on the right worker.
#[test]
fn a_thousand_spawns_across_two_workers() {
    async fn spawner(mut ctx: actor::Context<(), ThreadLocal>, report: mpsc::Sender<(u64, usize)>) {
        let other = 1 - ctx.runtime_ref().worker_index();
        for n in 0..500 {
            let options = ActorOptions::default();
            let summer_ref = ctx
                .runtime()
                .spawn_local_on(
                    other,
                    NoSupervisor,
                    actor_fn(summer),
                    report.clone(),
                    options,
                )
                .unwrap();
            summer_ref.send(n as u64).await.unwrap();
        }
    }
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (report, reports) = mpsc::channel();
    for worker in 0..2 {
        runtime
            .spawn_local_on(
                worker,
                NoSupervisor,
                actor_fn(spawner),
                report.clone(),
                ActorOptions::default(),
            )
            .unwrap();
    }
    drop(report);
    start(runtime);
    let mut on = [Vec::new(), Vec::new()];
    for (n, worker) in reports.try_iter() {
        on[worker].push(n);
    }
    for (worker, sums) in on.iter_mut().enumerate() {
        sums.sort_unstable();
        assert_eq!(
            *sums,
            (0..500).collect::<Vec<_>>(),
            "summers on worker {worker}"
        );
    }
}

#[test]
fn a_worker_that_does_not_exist_is_an_error() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (report, _reports) = mpsc::channel();
    let err = spawn_summer(&mut runtime, 2, report).unwrap_err();
    assert_eq!(
        err.to_string(),
        "can't spawn an actor on worker 2: the runtime has 2 workers, numbered from 0"
    );
    start(runtime);
}

/// Creates a summer, unless its argument says to fail.
#[derive(Clone)]
struct FallibleSummer;

/// Why a `FallibleSummer` failed.
#[derive(Debug)]
struct CreateError(u32);

impl fmt::Display for CreateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "creation attempt {} failed", self.0)
    }
}

impl NewActor for FallibleSummer {
    type Message = u64;
    /// Fails while the count is not 0; where to report.
    type Argument = (u32, mpsc::Sender<(u64, usize)>);
    type Actor = std::pin::Pin<Box<dyn Future<Output = ()>>>;
    type Error = CreateError;
    type RuntimeAccess = ThreadLocal;

    fn new(
        &mut self,
        ctx: actor::Context<u64, ThreadLocal>,
        (fails, report): Self::Argument,
    ) -> Result<Self::Actor, CreateError> {
        if fails == 0 {
            Ok(Box::pin(summer(ctx, report)))
        } else {
            Err(CreateError(fails))
        }
    }
}

/// Records `decide_on_restart_error` calls (with the worker thread it ran
/// on) and retries once, with one failure less and `retry_report`.
struct Retrier {
    calls: mpsc::Sender<String>,
    retry_report: mpsc::Sender<(u64, usize)>,
}

type SummerArg = (u32, mpsc::Sender<(u64, usize)>);

impl Supervisor<FallibleSummer> for Retrier {
    fn decide(&mut self, err: std::convert::Infallible) -> SupervisorStrategy<SummerArg> {
        match err {}
    }

    fn decide_on_restart_error(&mut self, err: CreateError) -> SupervisorStrategy<SummerArg> {
        let thread = thread::current().name().unwrap_or("?").to_owned();
        let _ = self.calls.send(format!("{err} on {thread}"));
        SupervisorStrategy::Restart((err.0 - 1, self.retry_report.clone()))
    }

    fn second_restart_error(&mut self, err: CreateError) {
        let _ = self.calls.send(format!("second: {err}"));
    }
}

/// Creating the actor fails on the target worker: the supervisor hears of
/// it there. Its retry succeeds (one failure: the actor runs on worker 1),
/// or fails too (two failures: `second_restart_error`, the inbox is closed,
/// the joiner sees `Failed`).
#[test]
fn a_failure_to_create_the_actor_goes_to_its_supervisor() {
    async fn spawner(
        mut ctx: actor::Context<(), ThreadLocal>,
        calls: mpsc::Sender<String>,
        sums: mpsc::Sender<(u64, usize)>,
        exits: mpsc::Sender<(ActorExit, bool)>,
    ) {
        let options = ActorOptions::default();
        let supervisor = Retrier {
            calls: calls.clone(),
            retry_report: sums,
        };
        let arg = (1, mpsc::channel().0);
        let created = ctx
            .runtime()
            .spawn_local_on(1, supervisor, FallibleSummer, arg, options)
            .unwrap();
        created.send(4u64).await.unwrap();
        drop(created);

        let supervisor = Retrier {
            calls,
            retry_report: mpsc::channel().0,
        };
        let arg = (2, mpsc::channel().0);
        let failed = ctx
            .runtime()
            .spawn_local_on(1, supervisor, FallibleSummer, arg, options)
            .unwrap();
        let exit = failed.join().await;
        let disconnected = matches!(failed.try_send(1u64), Err(SendError::Disconnected(_)));
        let _ = exits.send((exit, disconnected));
    }
    let mut runtime = Runtime::setup()
        .with_name("create")
        .num_threads(2)
        .build()
        .unwrap();
    let (calls, called) = mpsc::channel();
    let (sums, summed) = mpsc::channel();
    let (exits, exited) = mpsc::channel();
    let arg = (calls, sums, exits);
    runtime
        .spawn_local_on(
            0,
            NoSupervisor,
            actor_fn(spawner),
            arg,
            ActorOptions::default(),
        )
        .unwrap();
    start(runtime);
    let calls: Vec<String> = called.try_iter().collect();
    assert_eq!(
        calls,
        [
            "creation attempt 1 failed on create:worker:1",
            "creation attempt 2 failed on create:worker:1",
            "second: creation attempt 1 failed",
        ]
    );
    assert_eq!(summed.try_recv(), Ok((4, 1)), "the retried actor");
    assert_eq!(exited.try_recv(), Ok((ActorExit::Failed, true)));
}
