//! Metrics counted in scripted scenarios: spawn N actors, send M messages,
//! stop K of them, and the figures match; also thread-safe and synchronous
//! actors, futures, timers, I/O, `RuntimeRef::metrics`, and the Prometheus
//! and log formats.

use std::convert::Infallible;
use std::sync::mpsc;
use std::time::Duration;

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::access::Sync;
use kiln_rt::io::IoDriver;
use kiln_rt::metrics::{RuntimeMetrics, WorkerState};
use kiln_rt::timer::Deadline;
use kiln_rt::{
    ActorOptions, FutureOptions, Runtime, RuntimeRef, SyncActorOptions, ThreadLocal, ThreadSafe,
};

mod util;

use kiln_rt::Spawn;
use util::metrics::wait_for;

/// Thread-local receivers spawned.
const N: usize = 10;
/// Messages the driver sends them (round robin).
const M: usize = 100;
/// Receivers the driver then stops.
const K: usize = 4;
/// Thread-safe actors spawned.
const T: usize = 3;

/// The receivers' messages.
#[derive(Debug)]
enum Msg {
    Work(#[allow(dead_code, reason = "only received")] u64),
    Stop,
}

/// Receives until told to stop.
async fn receiver<RT>(mut ctx: actor::Context<Msg, RT>) {
    while let Ok(msg) = ctx.receive_next().await {
        if let Msg::Stop = msg {
            return;
        }
    }
}

/// Sends `M` messages round robin to `receivers`, then `Stop` to the first
/// `K` of them.
async fn driver(_: actor::Context<Infallible, ThreadLocal>, receivers: Vec<ActorRef<Msg>>) {
    for i in 0..M {
        receivers[i % N].send(Msg::Work(i as u64)).await.unwrap();
    }
    for receiver in &receivers[..K] {
        receiver.send(Msg::Stop).await.unwrap();
    }
}

/// Waits (at most an hour, a pending timer) for one message.
async fn waiter(mut ctx: actor::Context<(), ThreadLocal>) {
    let rt = ctx.runtime_ref().clone();
    let receive = async { ctx.receive_next().await.map_err(std::io::Error::other) };
    let _ = Deadline::after(rt, Duration::from_secs(3600), receive).await;
}

/// Writes into a pipe and reads it back: two I/O operations at least.
async fn piper(ctx: actor::Context<Infallible, ThreadLocal>) {
    let (sender, receiver) = kiln_rt::pipe::new(ctx.runtime_ref()).unwrap();
    sender.write_all("hello").await.unwrap();
    let buf = receiver.read(Vec::with_capacity(16)).await.unwrap();
    assert_eq!(buf, b"hello");
}

/// A synchronous actor that waits for one message.
fn sync_waiter(mut ctx: kiln::sync::Context<(), Sync>) {
    let _ = ctx.receive_next();
}

#[test]
fn spawn_n_send_m_stop_k_figures_match() {
    let mut runtime = Runtime::setup().with_name("metrics-test").build().unwrap();
    let before = runtime.metrics();
    assert_eq!(before.name, "metrics-test");
    assert_eq!(before.workers.len(), 1);
    assert_eq!(before.actors(), 0);

    // Thread-safe actors and a thread-safe future, a synchronous actor.
    let thread_safe: Vec<ActorRef<Msg>> = (0..T)
        .map(|_| {
            runtime.spawn(
                NoSupervisor,
                actor_fn(receiver::<ThreadSafe>),
                (),
                ActorOptions::default(),
            )
        })
        .collect();
    let joined = thread_safe[0].clone();
    runtime.spawn_future(
        async move {
            let _ = joined.join().await;
        },
        FutureOptions::default(),
    );
    let sync = runtime
        .spawn_sync_actor(
            NoSupervisor,
            actor_fn(sync_waiter),
            (),
            SyncActorOptions::default(),
        )
        .unwrap();

    // On the worker: N receivers and their driver, a waiter with a timer, a
    // future joining the waiter, and an actor doing I/O.
    let (refs_sender, refs) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let receivers: Vec<ActorRef<Msg>> = (0..N)
                .map(|_| {
                    rt.spawn_local(
                        NoSupervisor,
                        actor_fn(receiver::<ThreadLocal>),
                        (),
                        ActorOptions::default(),
                    )
                })
                .collect();
            rt.spawn_local(
                NoSupervisor,
                actor_fn(driver),
                receivers.clone(),
                ActorOptions::default(),
            );
            let waiter =
                rt.spawn_local(NoSupervisor, actor_fn(waiter), (), ActorOptions::default());
            let joined = waiter.clone();
            rt.spawn_local_future(
                async move {
                    let _ = joined.join().await;
                },
                FutureOptions::default(),
            );
            rt.spawn_local(NoSupervisor, actor_fn(piper), (), ActorOptions::default());
            refs_sender.send((receivers, waiter)).unwrap();
            Ok(())
        })
        .unwrap();
    let (receivers, waiter) = refs.recv().unwrap();

    // The driver sent M + K messages and the receivers took them all; the
    // driver and the piper are done; the worker sleeps.
    let expected_local_actors = (N - K + 1) as u64; // receivers left, waiter
    let metrics = wait_for(&runtime, |m| {
        let w = &m.workers[0];
        w.messages_received == (M + K) as u64
            && w.thread_local_actors == expected_local_actors
            // The piper's write and read: on io_uring each waits for its
            // completion; on epoll they succeed at once, uncounted.
            && (m.io_driver != IoDriver::Uring || w.io_completed >= 2)
            && w.state == WorkerState::Sleeping
            && m.thread_safe_inactive == (T + 1) as u64
    });
    let worker = &metrics.workers[0];
    assert_eq!(worker.index, 0);
    assert_eq!(worker.state, WorkerState::Sleeping, "{metrics}");
    assert_eq!(worker.messages_sent, (M + K) as u64, "{metrics}");
    assert_eq!(worker.messages_received, (M + K) as u64, "{metrics}");
    assert_eq!(
        worker.thread_local_actors, expected_local_actors,
        "{metrics}"
    );
    assert_eq!(worker.thread_local_futures, 1, "{metrics}");
    assert_eq!(worker.ready, 0, "{metrics}");
    assert_eq!(worker.inactive, expected_local_actors + 1, "{metrics}");
    // Every actor and future ran at least once; each receiver once more at
    // least (its inbox holds 8, it got 10 or 11 messages).
    let spawned = (N + 4) as u64; // receivers, driver, waiter, future, piper
    assert!(worker.polls >= spawned + N as u64, "{metrics}");
    assert!(
        worker.thread_safe_polls > T as u64,
        "each thread-safe process ran once at least: {metrics}"
    );
    assert!(worker.turns >= 1, "{metrics}");
    assert_eq!(worker.timers_pending, 1, "the waiter's deadline: {metrics}");
    let next = worker.next_timer.expect("no next timer");
    assert!(
        next > Duration::from_secs(3500) && next <= Duration::from_secs(3600),
        "{metrics}"
    );
    if metrics.io_driver == IoDriver::Uring {
        assert!(worker.io_submitted >= 2, "{metrics}");
    }
    assert_eq!(worker.io_completed, worker.io_submitted, "{metrics}");
    assert_eq!(worker.io_cancelled, 0, "{metrics}");
    assert!(
        worker.cpu_time.is_some_and(|cpu| cpu > Duration::ZERO),
        "{metrics}"
    );

    assert_eq!(metrics.thread_safe_actors, T as u64, "{metrics}");
    assert_eq!(metrics.thread_safe_futures, 1, "{metrics}");
    assert_eq!(metrics.thread_safe_ready, 0, "{metrics}");
    assert_eq!(metrics.thread_safe_inactive, (T + 1) as u64, "{metrics}");
    assert_eq!(metrics.sync_actors, 1, "{metrics}");
    assert_eq!(metrics.shared_timers_pending, 0, "{metrics}");
    assert_eq!(
        metrics.actors(),
        expected_local_actors + T as u64 + 1,
        "{metrics}"
    );
    assert_eq!(metrics.timers_pending(), 1);
    assert!(metrics.uptime > Duration::ZERO);
    assert!(metrics.cpu_time.is_some());

    // Stop one thread-safe actor: its future joining it ends too.
    thread_safe[0].try_send(Msg::Stop).unwrap();
    let metrics = wait_for(&runtime, |m| {
        m.thread_safe_actors == (T - 1) as u64 && m.thread_safe_futures == 0
    });
    assert_eq!(metrics.thread_safe_actors, (T - 1) as u64, "{metrics}");
    assert_eq!(metrics.thread_safe_futures, 0, "{metrics}");

    // Stop everything; the runtime then stops.
    for receiver in receivers.iter().chain(&thread_safe) {
        let _ = receiver.try_send(Msg::Stop);
    }
    waiter.try_send(()).unwrap();
    sync.try_send(()).unwrap();
    let metrics = wait_for(&runtime, |m| {
        m.actors() == 0 && m.workers[0].timers_pending == 0
    });
    assert_eq!(metrics.actors(), 0, "{metrics}");
    assert_eq!(metrics.workers[0].thread_local_futures, 0, "{metrics}");
    assert_eq!(metrics.workers[0].timers_pending, 0, "{metrics}");
    assert_eq!(metrics.workers[0].next_timer, None, "{metrics}");
    drop((receivers, thread_safe, waiter, sync));
    runtime.start().unwrap();
}

#[test]
fn each_worker_counts_its_own_actors() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (refs_sender, refs) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            // Worker i runs 3 + i receivers.
            for _ in 0..3 + rt.worker_index() {
                let receiver = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(receiver::<ThreadLocal>),
                    (),
                    ActorOptions::default(),
                );
                refs_sender.send(receiver).unwrap();
            }
            Ok(())
        })
        .unwrap();
    let receivers: Vec<ActorRef<Msg>> = refs.try_iter().collect();
    assert_eq!(receivers.len(), 7);
    let metrics = wait_for(&runtime, |m| {
        m.workers.iter().all(|w| w.state == WorkerState::Sleeping)
    });
    assert_eq!(metrics.workers.len(), 2);
    assert_eq!(metrics.workers[0].thread_local_actors, 3, "{metrics}");
    assert_eq!(metrics.workers[1].thread_local_actors, 4, "{metrics}");
    assert_eq!(metrics.thread_local_actors(), 7);
    // Messages from this thread count on no worker; receiving them does.
    for receiver in &receivers {
        receiver.try_send(Msg::Work(1)).unwrap();
        receiver.try_send(Msg::Stop).unwrap();
    }
    let metrics = wait_for(&runtime, |m| m.thread_local_actors() == 0);
    assert_eq!(metrics.workers[0].messages_received, 6, "{metrics}");
    assert_eq!(metrics.workers[1].messages_received, 8, "{metrics}");
    assert_eq!(metrics.messages_sent(), 0, "{metrics}");
    drop(receivers);
    runtime.start().unwrap();
}

#[test]
fn actors_read_the_metrics_through_their_runtime_access() {
    async fn reader(ctx: actor::Context<(), ThreadLocal>, sender: mpsc::Sender<RuntimeMetrics>) {
        sender.send(ctx.runtime_ref().metrics()).unwrap();
    }
    async fn thread_safe_reader(
        ctx: actor::Context<(), ThreadSafe>,
        sender: mpsc::Sender<RuntimeMetrics>,
    ) {
        sender.send(ctx.runtime_ref().metrics()).unwrap();
    }

    let mut runtime = Runtime::setup()
        .with_name("readers")
        .num_threads(2)
        .build()
        .unwrap();
    let (sender, metrics) = mpsc::channel();
    runtime.spawn(
        NoSupervisor,
        actor_fn(thread_safe_reader),
        sender.clone(),
        ActorOptions::default(),
    );
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() == 1 {
                rt.spawn_local(
                    NoSupervisor,
                    actor_fn(reader),
                    sender.clone(),
                    ActorOptions::default(),
                );
            }
            Ok(())
        })
        .unwrap();
    runtime.start().unwrap();
    let read: Vec<RuntimeMetrics> = metrics.try_iter().collect();
    assert_eq!(read.len(), 2);
    for metrics in read {
        assert_eq!(metrics.name, "readers");
        assert_eq!(metrics.workers.len(), 2);
        // The reader runs on one of the workers, as of its last turn.
        assert!(
            metrics
                .workers
                .iter()
                .any(|w| w.state == WorkerState::Running),
            "{metrics}"
        );
    }
}

#[test]
fn prometheus_text_and_log_lines() {
    let mut runtime = Runtime::setup().with_name("prom \"test\"").build().unwrap();
    let (refs_sender, refs) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let receiver = rt.spawn_local(
                NoSupervisor,
                actor_fn(receiver::<ThreadLocal>),
                (),
                ActorOptions::default(),
            );
            refs_sender.send(receiver).unwrap();
            Ok(())
        })
        .unwrap();
    let receiver = refs.recv().unwrap();
    let metrics = wait_for(&runtime, |m| m.workers[0].thread_local_actors == 1);

    let mut text = String::new();
    metrics.write_prometheus(&mut text).unwrap();
    let label = "runtime=\"prom \\\"test\\\"\"";
    assert!(
        text.contains(&format!("kiln_actors{{{label},kind=\"thread-local\"}} 1\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("kiln_worker_actors{{{label},worker=\"0\"}} 1\n")),
        "{text}"
    );
    assert!(
        text.contains("# TYPE kiln_worker_polls_total counter\n"),
        "{text}"
    );
    // Every I/O count of `WorkerMetrics`, with its value.
    let worker = &metrics.workers[0];
    for (family, value) in [
        ("worker_io_submitted_total", worker.io_submitted),
        ("worker_io_completed_total", worker.io_completed),
        ("worker_io_cancelled_total", worker.io_cancelled),
    ] {
        assert!(
            text.contains(&format!("# TYPE kiln_{family} counter\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("kiln_{family}{{{label},worker=\"0\"}} {value}\n")),
            "{text}"
        );
    }
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').expect("no value");
        assert!(name.starts_with("kiln_") && name.ends_with('}'), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }

    let log = metrics.to_string();
    let mut lines = log.lines();
    let first = lines.next().unwrap();
    assert!(first.starts_with("runtime 'prom \"test\"': up "), "{log}");
    assert!(
        first.contains("actors: 1 thread-local, 0 thread-safe, 0 synchronous"),
        "{log}"
    );
    let worker = lines.next().unwrap();
    assert!(worker.starts_with("worker 0: "), "{log}");
    assert!(
        worker.contains("1 actors, 0 futures (0 ready, 1 inactive)"),
        "{log}"
    );
    assert_eq!(lines.next(), None);

    receiver.try_send(Msg::Stop).unwrap();
    drop(receiver);
    runtime.start().unwrap();
}
