//! W5: spawn many idle actors, then stop them all; nanoseconds per spawn and
//! resident bytes per actor. Run in a fresh process per system.
//!
//! Each actor waits for a message; the benchmark keeps a reference to each
//! (kiln: `ActorRef`, tokio: the `mpsc::Sender` of the task's channel), then
//! drops the references, which stops them all.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

use crate::measure::resident_bytes;

/// Spawns `n` idle actors on `system`; returns (ns per spawn, bytes per
/// actor).
pub(crate) fn run(system: &str, n: usize) -> Result<(f64, f64), String> {
    match system {
        "kiln" => kiln(n),
        "tokio" => tokio(n),
        _ => Err(format!("unknown system {system}")),
    }
}

async fn idle(mut ctx: actor::Context<u64, ThreadLocal>) {
    while ctx.receive_next().await.is_ok() {}
}

fn kiln(n: usize) -> Result<(f64, f64), String> {
    let mut runtime = Runtime::setup()
        .num_threads(1)
        .build()
        .map_err(|err| err.to_string())?;
    let (sender, receiver) = mpsc::channel();
    let refs: Arc<Mutex<Vec<ActorRef<u64>>>> = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let keep = refs.clone();
    let before = resident_bytes()?;
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let mut refs = keep.lock().unwrap();
            let start = Instant::now();
            for _ in 0..n {
                refs.push(rt.spawn_local(
                    NoSupervisor,
                    actor_fn(idle),
                    (),
                    ActorOptions::default(),
                ));
            }
            let _ = sender.send(start.elapsed());
            Ok(())
        })
        .map_err(|err| err.to_string())?;
    let elapsed = receiver.recv().map_err(|err| err.to_string())?;
    // Let the worker poll every actor once, so each waits on its inbox.
    std::thread::sleep(Duration::from_millis(200));
    let after = resident_bytes()?;
    refs.lock().unwrap().clear();
    runtime.start().map_err(|err| err.to_string())?;
    Ok((
        elapsed.as_nanos() as f64 / n as f64,
        (after - before) / n as f64,
    ))
}

fn tokio(n: usize) -> Result<(f64, f64), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|err| err.to_string())?;
    let before = resident_bytes()?;
    runtime.block_on(async move {
        let mut senders = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        let start = Instant::now();
        for _ in 0..n {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(8);
            handles.push(tokio::spawn(
                async move { while rx.recv().await.is_some() {} },
            ));
            senders.push(tx);
        }
        let elapsed = start.elapsed();
        // Let every task run once and wait on its channel.
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        let after = resident_bytes()?;
        drop(senders);
        for handle in handles {
            handle.await.map_err(|err| err.to_string())?;
        }
        Ok((
            elapsed.as_nanos() as f64 / n as f64,
            (after - before) / n as f64,
        ))
    })
}
