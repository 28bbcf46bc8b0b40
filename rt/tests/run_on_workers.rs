//! `Runtime::run_on_workers`: it runs the function once on every worker, on that worker's thread;
//! an error the function returns, or a panic in it, comes back as an `Error` that carries the
//! user's message; and the workers and the runtime carry on afterwards.

use std::convert::Infallible;
use std::error::Error as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use kiln::supervisor::NoSupervisor;
use kiln::{actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

#[test]
fn runs_once_on_every_worker_thread() {
    let mut runtime = Runtime::setup()
        .with_name("row")
        .num_threads(2)
        .build()
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let (report, reports) = mpsc::channel();
    let counter = runs.clone();
    runtime
        .run_on_workers(move |rt: RuntimeRef| -> Result<(), Infallible> {
            counter.fetch_add(1, Ordering::AcqRel);
            let thread = thread::current().name().map(str::to_owned);
            report.send((rt.worker_index(), thread)).unwrap();
            Ok(())
        })
        .unwrap();
    // `run_on_workers` returned: the function has run everywhere.
    assert_eq!(runs.load(Ordering::Acquire), 2);
    let mut ran_on: Vec<(usize, Option<String>)> = reports.try_iter().collect();
    ran_on.sort();
    assert_eq!(
        ran_on,
        [
            (0, Some("row:worker:0".to_owned())),
            (1, Some("row:worker:1".to_owned())),
        ]
    );
    runtime.start().unwrap();
}

#[test]
fn an_error_is_returned_with_the_users_message() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let err = runtime
        .run_on_workers(|rt: RuntimeRef| -> Result<(), String> {
            Err(format!("no config for worker {}", rt.worker_index()))
        })
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("error running a function on the workers: no config for worker "),
        "{msg}"
    );
    assert!(err.source().is_none());
    assert_eq!(err.exit_signal_received(), None);
    assert!(!err.is_io_uring_unavailable());
    // The failure stopped nothing: the runtime still starts and finishes.
    runtime.start().unwrap();
}

#[test]
fn an_error_on_one_worker_is_returned() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let err = runtime
        .run_on_workers(move |rt: RuntimeRef| -> Result<(), &'static str> {
            counter.fetch_add(1, Ordering::AcqRel);
            if rt.worker_index() == 1 {
                Err("worker 1 is not welcome")
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    assert!(err.to_string().contains("worker 1 is not welcome"), "{err}");
    runtime.start().unwrap();
    assert_eq!(
        runs.load(Ordering::Acquire),
        2,
        "the other worker ran it too"
    );
}

#[test]
fn a_panic_is_an_error() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let err = runtime
        .run_on_workers(|rt: RuntimeRef| -> Result<(), Infallible> {
            panic!("boom in setup on worker {}", rt.worker_index());
        })
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("panicked"), "{msg}");
    assert!(msg.contains("boom in setup on worker "), "{msg}");
    assert!(err.source().is_none());
    runtime.start().unwrap();
}

/// Reports once it gets a message.
async fn reporter(mut ctx: actor::Context<(), ThreadLocal>, report: mpsc::Sender<usize>) {
    if ctx.receive_next().await.is_ok() {
        report.send(ctx.runtime().worker_index()).unwrap();
    }
}

#[test]
fn workers_keep_running_after_a_failed_call() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (report, reports) = mpsc::channel();
    // An actor spawned before the failures.
    let before = report.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let actor_ref = rt.spawn_local(
                NoSupervisor,
                actor_fn(reporter),
                before.clone(),
                ActorOptions::default(),
            );
            actor_ref.try_send(()).unwrap();
            Ok(())
        })
        .unwrap();
    runtime
        .run_on_workers(|_: RuntimeRef| -> Result<(), Infallible> { panic!("first failure") })
        .unwrap_err();
    runtime
        .run_on_workers(|_: RuntimeRef| -> Result<(), &'static str> { Err("second failure") })
        .unwrap_err();
    // And one after them, on the workers that caught the panic.
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let actor_ref = rt.spawn_local(
                NoSupervisor,
                actor_fn(reporter),
                report.clone(),
                ActorOptions::default(),
            );
            actor_ref.try_send(()).unwrap();
            Ok(())
        })
        .unwrap();
    runtime.start().unwrap();
    let mut workers: Vec<usize> = reports.try_iter().collect();
    workers.sort_unstable();
    assert_eq!(workers, [0, 0, 1, 1]);
}
