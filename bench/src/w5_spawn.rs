//! W5: spawn many idle actors, then stop them all; nanoseconds per spawn and
//! resident bytes per actor. Run in a fresh process per system.
//!
//! Every system runs on one thread. Each actor waits for a message; the
//! benchmark keeps a handle to each, lets every actor run once so that it
//! waits on its inbox, measures the resident memory, then stops them all. The
//! time per spawn is that of the loop that spawns them; the bytes per actor
//! are the growth of the resident set over the whole, handles included.
//!
//! - **kiln**: thread-local actors on a one-worker runtime, default inbox of
//!   8; keeps the `ActorRef`s and drops them, which stops the actors.
//! - **tokio**: tasks on a `current_thread` runtime, each with a bounded
//!   `mpsc` channel of 8; keeps the `Sender`s and `JoinHandle`s, drops the
//!   senders and awaits the handles.
//! - **actix**: `Actor`s started on the `System` (`Actor::create`, mailbox
//!   capacity 8); keeps the `Addr`s and drops them, which stops the actors
//!   (counted in their `started` and `stopped` methods).
//! - **kameo**: `Actor`s with bounded mailboxes of 8 on a `current_thread`
//!   runtime; keeps the `ActorRef`s and drops them, which stops the actors
//!   (counted in `on_start` and `on_stop`).
//! - **ractor**: `Actor`s (unbounded mailboxes: ractor has no other) on a
//!   `current_thread` runtime; keeps the `ActorRef`s and `JoinHandle`s, stops
//!   each actor with `stop` and awaits the handles (starts counted in
//!   `post_start`, which runs in the actor's task).

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use actix::Actor as _;
use kameo::actor::Spawn as _;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, RuntimeRef, ThreadLocal};

use crate::measure::resident_bytes;
use crate::peer::{self, CAPACITY};

/// Spawns `n` idle actors on `system`; returns (ns per spawn, bytes per
/// actor).
pub(crate) fn run(system: &str, n: usize) -> Result<(f64, f64), String> {
    match system {
        "kiln" | "kiln-poll" => kiln(system, n),
        "tokio" => tokio(n),
        "actix" => actix(n),
        "kameo" => kameo(n),
        "ractor" => ractor(n),
        _ => Err(format!("unknown system {system}")),
    }
}

async fn idle(mut ctx: actor::Context<u64, ThreadLocal>) {
    while ctx.receive_next().await.is_ok() {}
}

fn kiln(system: &str, n: usize) -> Result<(f64, f64), String> {
    let mut runtime = peer::kiln_setup(system)
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
    let runtime = peer::current_thread()?;
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

/// The peers' actors that have started, and those that have stopped (one
/// process per run, so they start at 0).
static STARTED: AtomicUsize = AtomicUsize::new(0);
static STOPPED: AtomicUsize = AtomicUsize::new(0);

/// Lets the other tasks on this thread run until `count` reaches `n`.
async fn wait_for(count: &AtomicUsize, n: usize, what: &str) -> Result<(), String> {
    // Each turn runs a batch of tasks; a generous limit against a hang.
    for _ in 0..n.max(1_000) {
        if count.load(Ordering::Relaxed) >= n {
            return Ok(());
        }
        tokio::task::yield_now().await;
    }
    Err(format!(
        "only {} of {n} actors {what}",
        count.load(Ordering::Relaxed)
    ))
}

/// ns per spawn and bytes per actor for `n` actors.
fn per_actor(n: usize, elapsed: Duration, before: f64, after: f64) -> (f64, f64) {
    (
        elapsed.as_nanos() as f64 / n as f64,
        (after - before) / n as f64,
    )
}

// actix.

struct ActixIdle;

impl actix::Actor for ActixIdle {
    type Context = actix::Context<Self>;

    fn started(&mut self, _: &mut actix::Context<Self>) {
        STARTED.fetch_add(1, Ordering::Relaxed);
    }

    fn stopped(&mut self, _: &mut actix::Context<Self>) {
        STOPPED.fetch_add(1, Ordering::Relaxed);
    }
}

fn actix(n: usize) -> Result<(f64, f64), String> {
    let system = actix::System::new();
    let before = resident_bytes()?;
    system.block_on(async move {
        let mut addrs = Vec::with_capacity(n);
        let start = Instant::now();
        for _ in 0..n {
            addrs.push(ActixIdle::create(|ctx| {
                ctx.set_mailbox_capacity(CAPACITY);
                ActixIdle
            }));
        }
        let elapsed = start.elapsed();
        wait_for(&STARTED, n, "started").await?;
        let after = resident_bytes()?;
        drop(addrs);
        wait_for(&STOPPED, n, "stopped").await?;
        Ok(per_actor(n, elapsed, before, after))
    })
}

// kameo.

struct KameoIdle;

impl kameo::Actor for KameoIdle {
    type Args = Self;
    type Error = kameo::error::Infallible;

    async fn on_start(
        idle: Self,
        _: kameo::actor::ActorRef<Self>,
    ) -> Result<Self, kameo::error::Infallible> {
        STARTED.fetch_add(1, Ordering::Relaxed);
        Ok(idle)
    }

    async fn on_stop(
        &mut self,
        _: kameo::actor::WeakActorRef<Self>,
        _: kameo::error::ActorStopReason,
    ) -> Result<(), kameo::error::Infallible> {
        STOPPED.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn kameo(n: usize) -> Result<(f64, f64), String> {
    let runtime = peer::current_thread()?;
    let before = resident_bytes()?;
    runtime.block_on(async move {
        let mut refs = Vec::with_capacity(n);
        let start = Instant::now();
        for _ in 0..n {
            refs.push(KameoIdle::spawn_with_mailbox(
                KameoIdle,
                kameo::mailbox::bounded(CAPACITY),
            ));
        }
        let elapsed = start.elapsed();
        wait_for(&STARTED, n, "started").await?;
        let after = resident_bytes()?;
        drop(refs);
        wait_for(&STOPPED, n, "stopped").await?;
        Ok(per_actor(n, elapsed, before, after))
    })
}

// ractor.

struct RactorIdle;

impl ractor::Actor for RactorIdle {
    type Msg = u64;
    type State = ();
    type Arguments = ();

    async fn pre_start(
        &self,
        _: ractor::ActorRef<u64>,
        (): (),
    ) -> Result<(), ractor::ActorProcessingErr> {
        Ok(())
    }

    async fn post_start(
        &self,
        _: ractor::ActorRef<u64>,
        (): &mut (),
    ) -> Result<(), ractor::ActorProcessingErr> {
        STARTED.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn ractor(n: usize) -> Result<(f64, f64), String> {
    let runtime = peer::current_thread()?;
    let before = resident_bytes()?;
    runtime.block_on(async move {
        let mut refs = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        let start = Instant::now();
        for _ in 0..n {
            let (actor_ref, handle) = ractor::Actor::spawn(None, RactorIdle, ())
                .await
                .map_err(|err| err.to_string())?;
            refs.push(actor_ref);
            handles.push(handle);
        }
        let elapsed = start.elapsed();
        wait_for(&STARTED, n, "started").await?;
        let after = resident_bytes()?;
        for actor_ref in refs {
            actor_ref.stop(None);
        }
        for handle in handles {
            handle.await.map_err(|err| err.to_string())?;
        }
        Ok(per_actor(n, elapsed, before, after))
    })
}
