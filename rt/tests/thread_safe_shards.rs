//! Thread-safe actors on the sharded scheduler (a shard per worker): a worker stuck in a long
//! poll does not hold up the thread-safe actors of its shard, neither new ones nor ones woken
//! while it is stuck (another worker steals them); wake-ups from plain threads and from a
//! synchronous actor to actors in every shard are all delivered; thread-safe actors call each
//! other with one, two and three workers; and the metrics count the actors of every shard.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn, sync};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, SyncActorOptions, ThreadLocal, ThreadSafe};

mod util;

use kiln_rt::Spawn;
use util::metrics::wait_for;
use util::rpc::{client, incrementer};
use util::runtime::with_timeout;
use util::timeout::TIMEOUT;

/// The name of the thread this runs on.
fn thread_name() -> String {
    thread::current().name().unwrap_or("?").to_owned()
}

/// Waits for one message, then logs the thread it ran on.
async fn waiting(
    mut ctx: actor::Context<(), ThreadSafe>,
    started: mpsc::Sender<()>,
    ran_on: Arc<Mutex<Vec<String>>>,
) {
    started.send(()).unwrap();
    if ctx.receive_next().await.is_ok() {
        ran_on.lock().unwrap().push(thread_name());
    }
}

/// Logs the thread it ran on.
async fn fresh(_: actor::Context<(), ThreadSafe>, ran_on: Arc<Mutex<Vec<String>>>) {
    ran_on.lock().unwrap().push(thread_name());
}

/// Runs `f` on worker 0 only (as a `run_on_workers` function), so that its
/// spawns go into worker 0's shard.
fn on_worker_0(runtime: &mut Runtime, f: impl FnOnce(&mut RuntimeRef) + Send + Clone + 'static) {
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            if rt.worker_index() == 0 {
                f(&mut rt);
            }
            Ok(())
        })
        .unwrap();
}

/// Keeps the calling worker busy (in a poll or a `run_on_workers` function)
/// until `log` holds `n` names or `limit` passes, and returns them: only the
/// other worker can run thread-safe actors meanwhile.
fn hold_until_logged(log: &Mutex<Vec<String>>, n: usize, limit: Duration) -> Vec<String> {
    let start = Instant::now();
    while log.lock().unwrap().len() < n && start.elapsed() < limit {
        thread::yield_now();
    }
    log.lock().unwrap().clone()
}

/// Worker 0 spawns thread-safe actors (into its shard), then busy-waits in a poll (a function
/// run on it) while it wakes those actors and spawns more: they must all run meanwhile, on
/// worker 1.
#[test]
fn another_worker_runs_the_shard_of_a_stuck_worker() {
    const WAITING: usize = 4;
    const FRESH: usize = 4;
    with_timeout("stealing", || {
        let mut runtime = Runtime::setup()
            .with_name("steal")
            .num_threads(2)
            .build()
            .unwrap();
        let ran_on = Arc::new(Mutex::new(Vec::new()));
        let refs = Arc::new(Mutex::new(Vec::new()));
        let (started, starts) = mpsc::channel();
        let (log, spawned) = (ran_on.clone(), refs.clone());
        on_worker_0(&mut runtime, move |rt| {
            for _ in 0..WAITING {
                let arg = (started.clone(), log.clone());
                let options = ActorOptions::default();
                let actor_ref = rt.spawn(NoSupervisor, actor_fn(waiting), arg, options);
                spawned.lock().unwrap().push(actor_ref);
            }
        });
        // Let them run once and wait for their message.
        for _ in 0..WAITING {
            starts.recv_timeout(TIMEOUT).unwrap();
        }
        let (report, reports) = mpsc::channel();
        let log = ran_on.clone();
        on_worker_0(&mut runtime, move |rt| {
            for actor_ref in refs.lock().unwrap().drain(..) {
                actor_ref.try_send(()).unwrap();
            }
            for _ in 0..FRESH {
                let options = ActorOptions::default();
                let _ = rt.spawn(NoSupervisor, actor_fn(fresh), log.clone(), options);
            }
            // Stuck: only worker 1 can run them now.
            let logged = hold_until_logged(&log, WAITING + FRESH, Duration::from_secs(5));
            report.send(logged).unwrap();
        });
        let while_stuck = reports.recv().unwrap();
        assert_eq!(
            while_stuck,
            vec!["steal:worker:1".to_owned(); WAITING + FRESH],
            "not all ran on worker 1 while worker 0 was stuck"
        );
        runtime.start().unwrap();
    });
}

/// Tells that it ran.
async fn ran_once(_: actor::Context<(), ThreadLocal>, ran: mpsc::Sender<()>) {
    ran.send(()).unwrap();
}

/// Regression test: a worker that found a control message (a `run_on_workers` function) on its
/// way to sleep ran it with its `sleeping` flag set, so wake-ups of its shard's processes went to
/// it (doing nothing) instead of the sleeping worker 1, and the thread-safe actors the function
/// spawned waited for it to return. A long idle spin makes that path certain: worker 0 runs an
/// actor and spins, the function arrives meanwhile (a spinning worker does not look at control
/// messages), and worker 0 finds it when it goes to sleep.
#[test]
fn a_function_found_on_the_way_to_sleep_does_not_hold_up_its_shard() {
    const FRESH: usize = 4;
    with_timeout("control on the way to sleep", || {
        let mut runtime = Runtime::setup()
            .with_name("nap")
            .num_threads(2)
            .with_idle_spin(Duration::from_millis(300))
            .build()
            .unwrap();
        let (ran, runs) = mpsc::channel();
        on_worker_0(&mut runtime, move |rt| {
            let options = ActorOptions::default();
            let _ = rt.spawn_local(NoSupervisor, actor_fn(ran_once), ran.clone(), options);
        });
        // Worker 0 ran the actor and now spins for 300 ms; worker 1 sleeps.
        runs.recv_timeout(TIMEOUT).unwrap();
        let ran_on = Arc::new(Mutex::new(Vec::new()));
        let (report, reports) = mpsc::channel();
        let log = ran_on.clone();
        on_worker_0(&mut runtime, move |rt| {
            for _ in 0..FRESH {
                let options = ActorOptions::default();
                let _ = rt.spawn(NoSupervisor, actor_fn(fresh), log.clone(), options);
            }
            // Held here: only worker 1 can run them, if it is woken.
            let logged = hold_until_logged(&log, FRESH, Duration::from_secs(2));
            report.send(logged).unwrap();
        });
        assert_eq!(
            reports.recv().unwrap(),
            vec!["nap:worker:1".to_owned(); FRESH],
            "worker 1 was not woken for the actors spawned by worker 0's function"
        );
        runtime.start().unwrap();
    });
}

/// Messages each sender sends each counter.
const PER_SENDER: usize = 300;
/// Senders: two plain threads and a synchronous actor.
const SENDERS: usize = 3;

/// Receives `SENDERS * PER_SENDER` messages, counting them in `received`.
async fn counter(mut ctx: actor::Context<usize, ThreadSafe>, received: Arc<AtomicUsize>) {
    for _ in 0..SENDERS * PER_SENDER {
        ctx.receive_next().await.expect("inbox disconnected early");
        received.fetch_add(1, Ordering::AcqRel);
    }
}

/// Sends `PER_SENDER` messages to each of `counters`, round robin, retrying while an inbox is
/// full.
fn send_all(counters: &[ActorRef<usize>]) {
    for i in 0..PER_SENDER * counters.len() {
        let actor_ref = &counters[i % counters.len()];
        while actor_ref.try_send(i).is_err() {
            thread::yield_now();
        }
    }
}

/// [`send_all`] as a synchronous actor.
fn sync_sender(
    _: sync::Context<Infallible, kiln_rt::access::Sync>,
    counters: Vec<ActorRef<usize>>,
) {
    send_all(&counters);
}

/// Counters spread over every shard (spawned from the workers and round robin from this
/// thread) are sent to from two plain threads and a synchronous actor at once: every message
/// arrives, and every counter stops, with one, two and three workers.
#[test]
fn wake_ups_from_other_threads_reach_every_shard() {
    for threads in [1, 2, 3] {
        with_timeout(&format!("{threads} workers"), move || {
            let mut runtime = Runtime::setup().num_threads(threads).build().unwrap();
            let received = Arc::new(AtomicUsize::new(0));
            let refs = Arc::new(Mutex::new(Vec::new()));
            let (count, spawned) = (received.clone(), refs.clone());
            runtime
                .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                    for _ in 0..3 {
                        let options = ActorOptions::default();
                        let actor_ref =
                            rt.spawn(NoSupervisor, actor_fn(counter), count.clone(), options);
                        spawned.lock().unwrap().push(actor_ref);
                    }
                    Ok(())
                })
                .unwrap();
            let mut counters = std::mem::take(&mut *refs.lock().unwrap());
            for _ in 0..5 {
                let options = ActorOptions::default();
                counters.push(runtime.spawn(
                    NoSupervisor,
                    actor_fn(counter),
                    received.clone(),
                    options,
                ));
            }
            let n = counters.len();
            assert_eq!(n, 3 * threads + 5);
            let _ = runtime
                .spawn_sync_actor(
                    NoSupervisor,
                    actor_fn(sync_sender),
                    counters.clone(),
                    SyncActorOptions::default(),
                )
                .unwrap();
            let senders: Vec<_> = (1..SENDERS)
                .map(|_| {
                    let counters = counters.clone();
                    thread::spawn(move || send_all(&counters))
                })
                .collect();
            drop(counters);
            runtime.start().unwrap();
            for sender in senders {
                sender.join().unwrap();
            }
            assert_eq!(received.load(Ordering::Acquire), n * SENDERS * PER_SENDER);
        });
    }
}

/// Thread-safe clients (one per worker, from the worker, and two from this thread) call a
/// thread-safe server: every call is answered, with one, two and three workers.
#[test]
fn thread_safe_actors_call_each_other_on_any_number_of_workers() {
    const CALLS: u64 = 2_000;
    for threads in [1, 2, 3] {
        with_timeout(&format!("{threads} workers"), move || {
            let mut runtime = Runtime::setup().num_threads(threads).build().unwrap();
            let server = runtime.spawn(
                NoSupervisor,
                actor_fn(incrementer),
                (),
                ActorOptions::default(),
            );
            let (report, reports) = mpsc::channel();
            let arg = (server.clone(), CALLS, report.clone());
            runtime
                .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                    let _ = rt.spawn(
                        NoSupervisor,
                        actor_fn(client::<ThreadSafe>),
                        arg,
                        ActorOptions::default(),
                    );
                    Ok(())
                })
                .unwrap();
            for _ in 0..2 {
                let arg = (server.clone(), CALLS, report.clone());
                let _ = runtime.spawn(
                    NoSupervisor,
                    actor_fn(client::<ThreadSafe>),
                    arg,
                    ActorOptions::default(),
                );
            }
            drop((server, report));
            runtime.start().unwrap();
            let right: Vec<u64> = reports.try_iter().collect();
            assert_eq!(right, vec![CALLS; threads + 2]);
        });
    }
}

/// Waits for one message.
async fn idle(mut ctx: actor::Context<(), ThreadSafe>) {
    let _ = ctx.receive_next().await;
}

/// The metrics count the thread-safe actors of all three shards, idle and then stopped.
#[test]
fn metrics_count_thread_safe_actors_of_every_shard() {
    with_timeout("metrics", || {
        let mut runtime = Runtime::setup().num_threads(3).build().unwrap();
        let refs = Arc::new(Mutex::new(Vec::new()));
        let spawned = refs.clone();
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                // 1, 2 and 3 actors on workers 0, 1 and 2.
                for _ in 0..=rt.worker_index() {
                    let actor_ref =
                        rt.spawn(NoSupervisor, actor_fn(idle), (), ActorOptions::default());
                    spawned.lock().unwrap().push(actor_ref);
                }
                Ok(())
            })
            .unwrap();
        for _ in 0..4 {
            let actor_ref =
                runtime.spawn(NoSupervisor, actor_fn(idle), (), ActorOptions::default());
            refs.lock().unwrap().push(actor_ref);
        }
        let idle = wait_for(&runtime, |m| {
            m.thread_safe_ready == 0 && m.thread_safe_actors == 10
        });
        assert_eq!(
            (
                idle.thread_safe_actors,
                idle.thread_safe_ready,
                idle.thread_safe_inactive
            ),
            (10, 0, 10)
        );
        for actor_ref in refs.lock().unwrap().drain(..) {
            actor_ref.try_send(()).unwrap();
        }
        let stopped = wait_for(&runtime, |m| m.thread_safe_actors == 0);
        assert_eq!(
            (stopped.thread_safe_actors, stopped.thread_safe_inactive),
            (0, 0)
        );
        runtime.start().unwrap();
    });
}
