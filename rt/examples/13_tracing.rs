//! 13: Tracing.
//!
//! `Setup::enable_tracing` records what the runtime does into a file: every
//! poll of an actor (with its id and name), the scheduler's batches, sleeps,
//! timers and signals. Actors add events of their own through their context
//! with `start_trace` and `finish_trace` (the `kiln_rt::trace::Trace`
//! trait), with attributes; they are tagged with the actor that made them.
//!
//! Here each of two workers runs a driver that sends jobs, a millisecond
//! apart, down a chain of thread-local stage actors; the last stage of both
//! chains hands the jobs to one thread-safe collector. Each stage traces
//! its handling of a job ("handle job"), and within it the work ("work").
//! The program then says how to look at the trace.
//!
//! ```text
//! cargo run -p kiln-rt --example rt_13_tracing -- [trace file]
//! ```

use std::convert::Infallible;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::Spawn;
use kiln_rt::timer::Timer;
use kiln_rt::trace::Trace;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal, ThreadSafe};

const WORKERS: usize = 2;
/// Stages in each worker's chain.
const STAGES: usize = 4;
/// Jobs each driver sends.
const JOBS: u64 = 10;

/// A job going down a chain.
#[derive(Debug)]
struct Job {
    worker: usize,
    number: u64,
}

/// Sends `JOBS` jobs down its chain, a millisecond apart.
async fn driver(ctx: actor::Context<Infallible, ThreadLocal>, first: ActorRef<Job>) {
    let worker = ctx.runtime_ref().worker_index();
    for number in 0..JOBS {
        Timer::after(ctx.runtime_ref().clone(), Duration::from_millis(1)).await;
        if first.send(Job { worker, number }).await.is_err() {
            return;
        }
    }
}

/// A stage of a chain: works on each job, then passes it on.
async fn stage(mut ctx: actor::Context<Job, ThreadLocal>, index: usize, next: ActorRef<Job>) {
    while let Ok(job) = ctx.receive_next().await {
        let handling = ctx.start_trace();
        let work = ctx.start_trace();
        // Some work worth seeing on a timeline: a few microseconds.
        let checksum = (0..2_000 * (index as u64 + 1)).fold(job.number, |sum, i| {
            black_box(sum.wrapping_mul(31).wrapping_add(i))
        });
        ctx.finish_trace(work, "work", &[("checksum", &checksum)]);
        let number = job.number;
        let sent = next.send(job).await;
        ctx.finish_trace(
            handling,
            "handle job",
            &[
                ("stage", &index),
                ("job", &number),
                ("passed on", &sent.is_ok()),
            ],
        );
    }
}

/// Counts the jobs that made it through all chains.
async fn collector(mut ctx: actor::Context<Job, ThreadSafe>) {
    let mut count = 0;
    while let Ok(job) = ctx.receive_next().await {
        let timing = ctx.start_trace();
        count += 1;
        ctx.finish_trace(
            timing,
            "collect",
            &[("worker", &job.worker), ("job", &job.number)],
        );
    }
    println!("the collector got {count} jobs through {WORKERS} chains of {STAGES} actors");
}

fn main() -> Result<(), kiln_rt::Error> {
    let path = std::env::args_os().nth(1).map_or_else(
        || std::env::temp_dir().join("kiln_13_tracing.trace"),
        PathBuf::from,
    );
    let mut runtime = Runtime::setup()
        .with_name("tracing-example")
        .num_threads(WORKERS)
        .enable_tracing(&path)
        .build()?;

    let collector = runtime.spawn(
        NoSupervisor,
        actor_fn(collector),
        (),
        ActorOptions::default(),
    );
    runtime.run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
        // Built from the end: each stage gets the next one's reference.
        let mut next = collector;
        for index in (0..STAGES).rev() {
            next = rt.spawn_local(
                NoSupervisor,
                actor_fn(stage),
                (index, next),
                ActorOptions::default(),
            );
        }
        rt.spawn_local(
            NoSupervisor,
            actor_fn(driver),
            next,
            ActorOptions::default(),
        );
        Ok(())
    })?;
    runtime.start()?;

    let path = path.display();
    println!("wrote the trace to {path}");
    println!("convert it for Perfetto or chrome://tracing with");
    println!("  cargo run -p kiln-trace -- chrome {path} trace.json");
    println!(
        "and open trace.json at https://ui.perfetto.dev (Open trace file) or in chrome://tracing (Load),"
    );
    println!("or draw it as an SVG timeline with");
    println!("  cargo run -p kiln-trace -- svg {path} trace.svg");
    Ok(())
}
