//! 7: Setting up the runtime.
//!
//! `Runtime::setup()` configures the runtime: its name (used in thread
//! names), the number of worker threads (or one per core), and pinning each
//! worker to a CPU. `run_on_workers` runs a function on every worker, here
//! to start a thread-local actor on each; they report to a thread-safe
//! collector, which prints what it heard once all reported.

use std::convert::Infallible;

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::Spawn;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal, ThreadSafe};

const WORKERS: usize = 2;

fn main() -> Result<(), kiln_rt::Error> {
    let mut runtime = Runtime::setup()
        .with_name("setup-example")
        .num_threads(WORKERS)
        .auto_cpu_affinity()
        .build()?;

    let collector = runtime.spawn(
        NoSupervisor,
        actor_fn(collector),
        WORKERS,
        ActorOptions::default(),
    );
    runtime.run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
        let index = rt.worker_index();
        rt.spawn_local(
            NoSupervisor,
            actor_fn(reporter),
            (index, collector),
            ActorOptions::default(),
        );
        Ok(())
    })?;
    runtime.start()?;
    println!("runtime stopped");
    Ok(())
}

/// Reports the worker it runs on and the name of its thread.
async fn reporter(_: actor::Context<(), ThreadLocal>, index: usize, collector: ActorRef<String>) {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("?");
    let _ = collector
        .send(format!("worker {index} runs on thread '{name}'"))
        .await;
}

/// Prints the reports, sorted, once it has one per worker.
async fn collector(mut ctx: actor::Context<String, ThreadSafe>, expected: usize) {
    let mut reports = Vec::with_capacity(expected);
    while reports.len() < expected {
        match ctx.receive_next().await {
            Ok(report) => reports.push(report),
            Err(_) => break,
        }
    }
    reports.sort();
    for report in reports {
        println!("{report}");
    }
}
