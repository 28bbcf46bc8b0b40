//! Spawning each kind of process (thread-local, thread-safe and synchronous actors, local and `Send`
//! futures) from each place that can (`run_on_workers`, the `Runtime` before `start`, and inside
//! thread-local, thread-safe and synchronous actors), on one and two workers.
//!
//! Every spawned process reports what it is, where it was spawned from and, for thread-local ones,
//! which worker it ran on. `start` returns only once all of them finished, so the test checks the
//! complete list of reports right after `start` returns, without waiting.

use std::convert::Infallible;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;

use kiln::actor_fn;
use kiln::supervisor::NoSupervisor;
use kiln::{actor, sync};
use kiln_rt::Spawn;
use kiln_rt::{
    ActorOptions, FutureOptions, Runtime, RuntimeRef, SyncActorOptions, ThreadLocal, ThreadSafe,
};

/// Where processes report what they are.
type Report = mpsc::Sender<String>;

/// Builds a runtime with `threads` workers, lets `setup` spawn on it, runs it until it has nothing
/// left to do and returns the reports, sorted.
fn run(threads: usize, setup: impl FnOnce(&mut Runtime, Report)) -> Vec<String> {
    let mut runtime = Runtime::setup()
        .with_name(format!("spawn-{threads}"))
        .num_threads(threads)
        .build()
        .expect("can't build the runtime");
    let (report, reports) = mpsc::channel();
    setup(&mut runtime, report);
    runtime.start().expect("the runtime failed");
    // Every process has finished, so every report is in.
    let mut reports: Vec<String> = reports.try_iter().collect();
    reports.sort();
    reports
}

/// `expected`, sorted, as owned strings.
fn sorted(expected: &[&str]) -> Vec<String> {
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    expected
}

async fn local_actor(mut ctx: actor::Context<(), ThreadLocal>, report: Report, from: &'static str) {
    let worker = ctx.runtime().worker_index();
    report
        .send(format!("thread-local actor from {from} on worker {worker}"))
        .unwrap();
}

async fn shared_actor(_: actor::Context<(), ThreadSafe>, report: Report, from: &'static str) {
    report
        .send(format!("thread-safe actor from {from}"))
        .unwrap();
}

fn sync_actor(
    _: sync::Context<(), kiln_rt::access::Sync>,
    report: Report,
    thread_name: &'static str,
) {
    let name = thread::current().name().map(str::to_owned);
    report
        .send(format!(
            "sync actor from runtime on thread {name:?}, expected {thread_name:?}"
        ))
        .unwrap();
}

/// Spawns a future that is not `Send` (it holds an `Rc` across an await) on `rt`'s worker.
fn spawn_local_future(rt: &mut RuntimeRef, report: Report, from: &'static str) {
    let worker = rt.worker_index();
    let not_send = Rc::new(format!("local future from {from} on worker {worker}"));
    rt.spawn_local_future(
        async move {
            std::future::ready(()).await;
            report.send((*not_send).clone()).unwrap();
        },
        FutureOptions::default(),
    );
}

/// Spawns a `Send` future, as any of the runtime handles can.
macro_rules! spawn_send_future {
    ($rt: expr, $report: expr, $from: expr) => {{
        let report: Report = $report;
        let from: &'static str = $from;
        $rt.spawn_future(
            async move {
                report.send(format!("Send future from {from}")).unwrap();
            },
            FutureOptions::default(),
        );
    }};
}

#[test]
fn from_run_on_workers() {
    for threads in [1, 2] {
        let reports = run(threads, |runtime, report| {
            runtime
                .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                    let from = "run_on_workers";
                    let _ = rt.spawn_local(
                        NoSupervisor,
                        actor_fn(local_actor),
                        (report.clone(), from),
                        ActorOptions::default(),
                    );
                    let _ = rt.spawn(
                        NoSupervisor,
                        actor_fn(shared_actor),
                        (report.clone(), from),
                        ActorOptions::default(),
                    );
                    spawn_local_future(&mut rt, report.clone(), from);
                    spawn_send_future!(rt, report.clone(), from);
                    Ok(())
                })
                .unwrap();
        });
        let mut expected = Vec::new();
        for worker in 0..threads {
            expected.push(format!(
                "thread-local actor from run_on_workers on worker {worker}"
            ));
            expected.push("thread-safe actor from run_on_workers".to_owned());
            expected.push(format!(
                "local future from run_on_workers on worker {worker}"
            ));
            expected.push("Send future from run_on_workers".to_owned());
        }
        expected.sort();
        assert_eq!(reports, expected, "{threads} worker(s)");
    }
}

#[test]
fn from_runtime_before_start() {
    for threads in [1, 2] {
        let reports = run(threads, |runtime, report| {
            let from = "runtime";
            let _ = runtime.spawn(
                NoSupervisor,
                actor_fn(shared_actor),
                (report.clone(), from),
                ActorOptions::default(),
            );
            let _ = runtime
                .try_spawn(
                    NoSupervisor,
                    actor_fn(shared_actor),
                    (report.clone(), "runtime (try_spawn)"),
                    ActorOptions::default(),
                )
                .unwrap();
            let _ = runtime
                .spawn_sync_actor(
                    NoSupervisor,
                    actor_fn(sync_actor),
                    (report.clone(), "sync_actor"),
                    SyncActorOptions::default(),
                )
                .unwrap();
            let _ = runtime
                .spawn_sync_actor(
                    NoSupervisor,
                    actor_fn(sync_actor),
                    (report.clone(), "named-sync-actor"),
                    SyncActorOptions::default().with_thread_name("named-sync-actor"),
                )
                .unwrap();
            spawn_send_future!(runtime, report, from);
        });
        let expected = sorted(&[
            "thread-safe actor from runtime",
            "thread-safe actor from runtime (try_spawn)",
            r#"sync actor from runtime on thread Some("sync_actor"), expected "sync_actor""#,
            r#"sync actor from runtime on thread Some("named-sync-actor"), expected "named-sync-actor""#,
            "Send future from runtime",
        ]);
        assert_eq!(reports, expected, "{threads} worker(s)");
    }
}

/// Spawns each kind it can through its `ThreadLocal` runtime access.
async fn local_spawner(mut ctx: actor::Context<(), ThreadLocal>, report: Report) {
    let from = "thread-local actor";
    let rt = ctx.runtime();
    let _ = rt.spawn_local(
        NoSupervisor,
        actor_fn(local_actor),
        (report.clone(), from),
        ActorOptions::default(),
    );
    let _ = rt
        .try_spawn_local(
            NoSupervisor,
            actor_fn(local_actor),
            (report.clone(), "thread-local actor (try_spawn_local)"),
            ActorOptions::default(),
        )
        .unwrap();
    let _ = rt.spawn(
        NoSupervisor,
        actor_fn(shared_actor),
        (report.clone(), from),
        ActorOptions::default(),
    );
    spawn_local_future(rt, report.clone(), from);
    spawn_send_future!(rt, report, from);
}

#[test]
fn from_thread_local_actor() {
    for threads in [1, 2] {
        let reports = run(threads, |runtime, report| {
            runtime
                .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                    let _ = rt.spawn_local(
                        NoSupervisor,
                        actor_fn(local_spawner),
                        report.clone(),
                        ActorOptions::default(),
                    );
                    Ok(())
                })
                .unwrap();
        });
        let mut expected = Vec::new();
        for worker in 0..threads {
            // Thread-local processes run on the worker of the actor that spawned them.
            expected.push(format!(
                "thread-local actor from thread-local actor on worker {worker}"
            ));
            expected.push(format!(
                "thread-local actor from thread-local actor (try_spawn_local) on worker {worker}"
            ));
            expected.push("thread-safe actor from thread-local actor".to_owned());
            expected.push(format!(
                "local future from thread-local actor on worker {worker}"
            ));
            expected.push("Send future from thread-local actor".to_owned());
        }
        expected.sort();
        assert_eq!(reports, expected, "{threads} worker(s)");
    }
}

/// Spawns each kind it can through its `ThreadSafe` runtime access.
async fn shared_spawner(mut ctx: actor::Context<(), ThreadSafe>, report: Report) {
    let from = "thread-safe actor";
    let rt = ctx.runtime();
    let _ = rt.spawn(
        NoSupervisor,
        actor_fn(shared_actor),
        (report.clone(), from),
        ActorOptions::default(),
    );
    let _ = rt
        .try_spawn(
            NoSupervisor,
            actor_fn(shared_actor),
            (report.clone(), "thread-safe actor (try_spawn)"),
            ActorOptions::default(),
        )
        .unwrap();
    spawn_send_future!(rt, report, from);
}

#[test]
fn from_thread_safe_actor() {
    for threads in [1, 2] {
        let reports = run(threads, |runtime, report| {
            let _ = runtime.spawn(
                NoSupervisor,
                actor_fn(shared_spawner),
                report,
                ActorOptions::default(),
            );
        });
        let expected = sorted(&[
            "thread-safe actor from thread-safe actor",
            "thread-safe actor from thread-safe actor (try_spawn)",
            "Send future from thread-safe actor",
        ]);
        assert_eq!(reports, expected, "{threads} worker(s)");
    }
}

/// Spawns each kind it can through its `Sync` runtime access.
fn sync_spawner(mut ctx: sync::Context<(), kiln_rt::access::Sync>, report: Report) {
    let from = "sync actor";
    let rt = ctx.runtime();
    let _ = rt.spawn(
        NoSupervisor,
        actor_fn(shared_actor),
        (report.clone(), from),
        ActorOptions::default(),
    );
    let _ = rt
        .try_spawn(
            NoSupervisor,
            actor_fn(shared_actor),
            (report.clone(), "sync actor (try_spawn)"),
            ActorOptions::default(),
        )
        .unwrap();
    spawn_send_future!(rt, report, from);
}

#[test]
fn from_sync_actor() {
    for threads in [1, 2] {
        let reports = run(threads, |runtime, report| {
            let _ = runtime
                .spawn_sync_actor(
                    NoSupervisor,
                    actor_fn(sync_spawner),
                    report,
                    SyncActorOptions::default(),
                )
                .unwrap();
        });
        let expected = sorted(&[
            "thread-safe actor from sync actor",
            "thread-safe actor from sync actor (try_spawn)",
            "Send future from sync actor",
        ]);
        assert_eq!(reports, expected, "{threads} worker(s)");
    }
}

/// A chain of actors of different kinds, each spawning the next: thread-local spawns thread-safe,
/// which spawns a `Send` future, which reports. The runtime must not stop in between.
#[test]
fn nested_spawns_keep_the_runtime_running() {
    async fn first(mut ctx: actor::Context<(), ThreadLocal>, report: Report) {
        let _ = ctx.runtime().spawn(
            NoSupervisor,
            actor_fn(second),
            report,
            ActorOptions::default(),
        );
    }

    async fn second(mut ctx: actor::Context<(), ThreadSafe>, report: Report) {
        ctx.runtime().spawn_future(
            async move { report.send("end of the chain".to_owned()).unwrap() },
            FutureOptions::default(),
        );
    }

    for threads in [1, 2] {
        let reports = run(threads, |runtime, report| {
            runtime
                .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                    let _ = rt.spawn_local(
                        NoSupervisor,
                        actor_fn(first),
                        report.clone(),
                        ActorOptions::default(),
                    );
                    Ok(())
                })
                .unwrap();
        });
        assert_eq!(
            reports,
            vec!["end of the chain".to_owned(); threads],
            "{threads} worker(s)"
        );
    }
}

/// A thread-safe `async fn` actor that spawns itself, and one that spawns
/// the other, through plain functions (see "An `async fn` actor that spawns
/// itself" in the `spawn` module docs); reports `ping <depth>`.
async fn ping(mut ctx: actor::Context<(), ThreadSafe>, depth: u32, report: Report) {
    report.send(format!("ping {depth}")).unwrap();
    if depth > 0 {
        spawn_ping(&mut ctx, depth - 1, report.clone());
        spawn_pong(&mut ctx, depth - 1, report);
    }
}

/// Reports `pong <depth>` and spawns a `ping`.
async fn pong(mut ctx: actor::Context<u8, ThreadSafe>, depth: u32, report: Report) {
    report.send(format!("pong {depth}")).unwrap();
    if depth > 0 {
        spawn_ping(&mut ctx, depth - 1, report);
    }
}

fn spawn_ping<M>(ctx: &mut actor::Context<M, ThreadSafe>, depth: u32, report: Report) {
    let _ = ctx.spawn(
        NoSupervisor,
        actor_fn(ping),
        (depth, report),
        ActorOptions::default(),
    );
}

fn spawn_pong<M>(ctx: &mut actor::Context<M, ThreadSafe>, depth: u32, report: Report) {
    let _ = ctx.spawn(
        NoSupervisor,
        actor_fn(pong),
        (depth, report),
        ActorOptions::default(),
    );
}

#[test]
fn thread_safe_async_fn_actors_spawn_themselves_and_each_other() {
    let reports = run(2, |runtime, report| {
        let _ = runtime.spawn(
            NoSupervisor,
            actor_fn(ping),
            (2, report),
            ActorOptions::default(),
        );
    });
    // ping 2 -> ping 1, pong 1; ping 1 -> ping 0, pong 0; pong 1 -> ping 0.
    assert_eq!(
        reports,
        sorted(&["ping 2", "ping 1", "pong 1", "ping 0", "pong 0", "ping 0"])
    );
}
