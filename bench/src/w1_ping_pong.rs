//! W1a: ping-pong between two actors on one thread; nanoseconds per round
//! trip.
//!
//! kiln: two thread-local actors on a one-worker runtime. tokio: two tasks on
//! a `current_thread` runtime talking through bounded `mpsc` channels of the
//! same capacity as kiln's default inbox (8).

use std::convert::Infallible;
use std::sync::mpsc;
use std::time::Instant;

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// Runs `round_trips` round trips on `system`; returns ns per round trip.
pub(crate) fn run(system: &str, round_trips: u64) -> Result<f64, String> {
    match system {
        "kiln" => kiln(round_trips),
        "tokio" => tokio(round_trips),
        _ => Err(format!("unknown system {system}")),
    }
}

enum Pong {
    /// Where to send the replies.
    Start(ActorRef<u64>),
    Ping(u64),
}

async fn ponger(mut ctx: actor::Context<Pong, ThreadLocal>) {
    let Ok(Pong::Start(pinger)) = ctx.receive_next().await else {
        return;
    };
    while let Ok(Pong::Ping(n)) = ctx.receive_next().await {
        if pinger.send(n).await.is_err() {
            return;
        }
    }
}

async fn pinger(
    mut ctx: actor::Context<u64, ThreadLocal>,
    ponger: ActorRef<Pong>,
    round_trips: u64,
    result: mpsc::Sender<Result<f64, String>>,
) {
    if ponger.send(Pong::Start(ctx.actor_ref())).await.is_err() {
        let _ = result.send(Err("ponger stopped".into()));
        return;
    }
    let start = Instant::now();
    for n in 0..round_trips {
        if ponger.send(Pong::Ping(n)).await.is_err() {
            let _ = result.send(Err("ponger stopped".into()));
            return;
        }
        match ctx.receive_next().await {
            Ok(m) if m == n => {}
            Ok(m) => {
                let _ = result.send(Err(format!("expected reply {n}, got {m}")));
                return;
            }
            Err(_) => {
                let _ = result.send(Err("no reply".into()));
                return;
            }
        }
    }
    let elapsed = start.elapsed();
    let _ = result.send(Ok(elapsed.as_nanos() as f64 / round_trips as f64));
}

fn kiln(round_trips: u64) -> Result<f64, String> {
    let (sender, receiver) = mpsc::channel();
    let mut runtime = Runtime::setup()
        .num_threads(1)
        .build()
        .map_err(|err| err.to_string())?;
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let ponger =
                rt.spawn_local(NoSupervisor, actor_fn(ponger), (), ActorOptions::default());
            rt.spawn_local(
                NoSupervisor,
                actor_fn(pinger),
                (ponger, round_trips, sender.clone()),
                ActorOptions::default(),
            );
            Ok(())
        })
        .map_err(|err| err.to_string())?;
    runtime.start().map_err(|err| err.to_string())?;
    receiver.recv().map_err(|err| err.to_string())?
}

fn tokio(round_trips: u64) -> Result<f64, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(async move {
        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(8);
        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(8);
        let ponger = tokio::spawn(async move {
            while let Some(n) = ping_rx.recv().await {
                if pong_tx.send(n).await.is_err() {
                    return;
                }
            }
        });
        let pinger = tokio::spawn(async move {
            let start = Instant::now();
            for n in 0..round_trips {
                ping_tx
                    .send(n)
                    .await
                    .map_err(|_| "ponger stopped".to_owned())?;
                match pong_rx.recv().await {
                    Some(m) if m == n => {}
                    other => return Err(format!("expected reply {n}, got {other:?}")),
                }
            }
            Ok(start.elapsed().as_nanos() as f64 / round_trips as f64)
        });
        let result = pinger.await.map_err(|err| err.to_string())?;
        ponger.await.map_err(|err| err.to_string())?;
        result
    })
}
