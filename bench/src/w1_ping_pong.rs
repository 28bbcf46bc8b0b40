//! W1: ping-pong between two actors; nanoseconds per round trip, of the wall
//! clock and of the process's CPU time.
//!
//! The pinger sends a number to the ponger, which sends it back as a message
//! of its own; the pinger checks it and sends the next one, `round_trips`
//! times. One message is in flight at a time. Three flavours:
//!
//! - **W1a**, one thread: kiln's thread-local actors on a one-worker runtime
//!   (`Runtime::spawn_local_on` worker 0);
//!   tokio, kameo and ractor on a `current_thread` runtime; actix on its
//!   `System`'s thread.
//! - **W1b**, two threads, one actor on each, so that every message crosses
//!   threads: kiln's thread-local actors on workers 0 and 1 of a two-worker
//!   runtime (`Runtime::spawn_local_on`; thread-safe actors could both run
//!   on one worker, see W1c); tokio, kameo and ractor on a `current_thread` runtime
//!   on each of two threads; actix on the `System`'s thread and an `Arbiter`.
//! - **W1c**, a runtime with two workers, either of which may run either
//!   actor: kiln's thread-safe actors (`Runtime::spawn`, `num_threads(2)`);
//!   tokio, kameo and ractor on a `multi_thread` runtime with two workers.
//!   Not for actix: its actors stay on the arbiter that started them (W1b).
//!
//! How each system sends:
//!
//! - **kiln**: `actor_fn` actors, `ActorRef::send` into inboxes of 8.
//! - **tokio**: two tasks and two bounded `mpsc` channels of 8.
//! - **actix**: `Actor`s with a `Handler` per message, mailbox capacity set
//!   to 8; `Addr::do_send`, actix's one-way send (`Addr::send` waits for
//!   the handler's result: that is W2).
//! - **kameo**: `Actor`s with a `Message` implementation per message,
//!   bounded mailboxes of 8, `tell`.
//! - **ractor**: `Actor`s, `cast` into ractor's mailboxes, which are all
//!   unbounded (ractor has no bounded mailbox).
//!
//! System `kiln-traced` (not measured unless named in `--systems`) is kiln
//! with tracing on (`Setup::enable_tracing`, into a temporary file): what
//! recording a trace costs.
//!
//! The peers' pingers learn of the ponger from a first message (`Go`), which
//! also starts the clock.

use std::sync::mpsc;

use actix::{Actor as _, ActorContext as _};
use kameo::actor::Spawn as _;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, ThreadSafe};
use tokio::sync::oneshot;

use crate::measure::Stopwatch;
use crate::peer::{self, CAPACITY, ResultSender, report};
use kiln_rt::Spawn;

/// Where the two actors run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Flavour {
    /// W1a: both on one thread.
    OneThread,
    /// W1b: one on each of two threads.
    TwoThreads,
    /// W1c: on a runtime with two workers that may run either.
    TwoWorkers,
}

impl Flavour {
    pub(crate) const ALL: [Flavour; 3] =
        [Flavour::OneThread, Flavour::TwoThreads, Flavour::TwoWorkers];

    /// The workload's name in the results.
    pub(crate) const fn workload(self) -> &'static str {
        match self {
            Flavour::OneThread => "W1a",
            Flavour::TwoThreads => "W1b",
            Flavour::TwoWorkers => "W1c",
        }
    }

    /// Whether `system` has this flavour.
    pub(crate) fn applies_to(self, system: &str) -> bool {
        !(self == Flavour::TwoWorkers && system == "actix")
    }
}

/// Runs `round_trips` round trips on `system`; returns ns per round trip.
pub(crate) fn run(system: &str, flavour: Flavour, round_trips: u64) -> Result<Figures, String> {
    match system {
        "kiln" | "kiln-poll" => kiln(system, flavour, round_trips, false),
        "kiln-traced" => kiln("kiln", flavour, round_trips, true),
        "tokio" => tokio(flavour, round_trips),
        "actix" => actix(flavour, round_trips),
        "kameo" => kameo(flavour, round_trips),
        "ractor" => ractor(flavour, round_trips),
        _ => Err(format!("unknown system {system}")),
    }
}

/// What a run measures: wall-clock and CPU nanoseconds per round trip (the
/// CPU time of the whole process: both sides, and whatever the runtime's
/// threads do meanwhile, such as spinning before they sleep).
pub(crate) type Figures = (f64, f64);

/// The pinger's count, shared by the peers' pingers.
struct Rally {
    /// The number expected back, then sent next.
    next: u64,
    round_trips: u64,
    start: Stopwatch,
}

impl Rally {
    fn new(round_trips: u64) -> Rally {
        Rally {
            next: 0,
            round_trips,
            start: Stopwatch::start(),
        }
    }

    /// Starts the clock; returns the first number to send.
    fn start(&mut self) -> u64 {
        self.start = Stopwatch::start();
        self.next
    }

    /// Checks the reply `m`: the next number to send, or `None` when done.
    fn pong(&mut self, m: u64) -> Result<Option<u64>, String> {
        if m != self.next {
            return Err(format!("expected reply {}, got {m}", self.next));
        }
        self.next += 1;
        Ok((self.next < self.round_trips).then_some(self.next))
    }

    fn per_round_trip(&self) -> Figures {
        self.start.per(self.round_trips)
    }
}

// kiln.

/// The ponger's messages.
enum ToPonger {
    /// Where to send the replies.
    Start(ActorRef<u64>),
    Ping(u64),
}

async fn ponger<RT>(mut ctx: actor::Context<ToPonger, RT>) {
    let Ok(ToPonger::Start(pinger)) = ctx.receive_next().await else {
        return;
    };
    while let Ok(ToPonger::Ping(n)) = ctx.receive_next().await {
        if pinger.send(n).await.is_err() {
            return;
        }
    }
}

async fn pinger<RT>(
    mut ctx: actor::Context<u64, RT>,
    ponger: ActorRef<ToPonger>,
    round_trips: u64,
    result: mpsc::Sender<Result<Figures, String>>,
) {
    if ponger.send(ToPonger::Start(ctx.actor_ref())).await.is_err() {
        let _ = result.send(Err("ponger stopped".into()));
        return;
    }
    let start = Stopwatch::start();
    for n in 0..round_trips {
        if ponger.send(ToPonger::Ping(n)).await.is_err() {
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
    let _ = result.send(Ok(start.per(round_trips)));
}

/// kiln, with tracing (`Setup::enable_tracing`) into a temporary file if
/// `traced`: the system `kiln-traced`, which measures what tracing costs.
fn kiln(system: &str, flavour: Flavour, round_trips: u64, traced: bool) -> Result<Figures, String> {
    let trace = traced.then(|| TempTrace::new(flavour));
    let result = kiln_run(system, flavour, round_trips, trace.as_ref());
    if let (Some(trace), Ok(_)) = (&trace, &result) {
        // Tracing that wrote nothing measured nothing.
        let bytes = std::fs::metadata(&trace.0).map_or(0, |meta| meta.len());
        if bytes < 16 * round_trips {
            return Err(format!("the trace holds only {bytes} bytes"));
        }
    }
    result
}

/// A trace file in the temporary directory, removed when dropped.
struct TempTrace(std::path::PathBuf);

impl TempTrace {
    fn new(flavour: Flavour) -> TempTrace {
        let name = format!(
            "kiln-bench-{}-{}.trace",
            flavour.workload(),
            std::process::id()
        );
        TempTrace(std::env::temp_dir().join(name))
    }
}

impl Drop for TempTrace {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn kiln_run(
    system: &str,
    flavour: Flavour,
    round_trips: u64,
    trace: Option<&TempTrace>,
) -> Result<Figures, String> {
    let (sender, receiver) = mpsc::channel();
    let threads = if flavour == Flavour::OneThread { 1 } else { 2 };
    let mut setup = peer::kiln_setup(system).num_threads(threads);
    if let Some(trace) = trace {
        setup = setup.enable_tracing(&trace.0);
    }
    let mut runtime = setup.build().map_err(|err| err.to_string())?;
    match flavour {
        Flavour::OneThread | Flavour::TwoThreads => {
            // The ponger on worker 1 (or 0), the pinger on worker 0.
            let ponger_worker = usize::from(flavour == Flavour::TwoThreads);
            let options = ActorOptions::default();
            runtime
                .spawn_local_on(ponger_worker, NoSupervisor, actor_fn(ponger), (), options)
                .and_then(|ponger| {
                    let arg = (ponger, round_trips, sender);
                    runtime.spawn_local_on(0, NoSupervisor, actor_fn(pinger), arg, options)
                })
                .map(drop)
        }
        Flavour::TwoWorkers => {
            let ponger = runtime.spawn(
                NoSupervisor,
                actor_fn(ponger::<ThreadSafe>),
                (),
                ActorOptions::default(),
            );
            runtime.spawn(
                NoSupervisor,
                actor_fn(pinger::<ThreadSafe>),
                (ponger, round_trips, sender),
                ActorOptions::default(),
            );
            Ok(())
        }
    }
    .map_err(|err| err.to_string())?;
    runtime.start().map_err(|err| err.to_string())?;
    receiver.recv().map_err(|err| err.to_string())?
}

// tokio.

async fn tokio_ponger(
    mut pings: tokio::sync::mpsc::Receiver<u64>,
    pongs: tokio::sync::mpsc::Sender<u64>,
) {
    while let Some(n) = pings.recv().await {
        if pongs.send(n).await.is_err() {
            return;
        }
    }
}

async fn tokio_pinger(
    pings: tokio::sync::mpsc::Sender<u64>,
    mut pongs: tokio::sync::mpsc::Receiver<u64>,
    round_trips: u64,
) -> Result<Figures, String> {
    let start = Stopwatch::start();
    for n in 0..round_trips {
        pings
            .send(n)
            .await
            .map_err(|_| "ponger stopped".to_owned())?;
        match pongs.recv().await {
            Some(m) if m == n => {}
            other => return Err(format!("expected reply {n}, got {other:?}")),
        }
    }
    Ok(start.per(round_trips))
}

fn tokio(flavour: Flavour, round_trips: u64) -> Result<Figures, String> {
    let (ping_tx, ping_rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
    let (pong_tx, pong_rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
    let ponger = tokio_ponger(ping_rx, pong_tx);
    let pinger = tokio_pinger(ping_tx, pong_rx, round_trips);
    let runtime = match flavour {
        Flavour::OneThread => peer::current_thread()?,
        Flavour::TwoWorkers => peer::two_workers()?,
        Flavour::TwoThreads => {
            let second = peer::on_second_thread(move || tokio::spawn(ponger));
            let result = peer::current_thread()?
                .block_on(async move { tokio::spawn(pinger).await })
                .map_err(|err| err.to_string())?;
            peer::join(second)?.map_err(|err| err.to_string())?;
            return result;
        }
    };
    runtime.block_on(async move {
        let ponger = tokio::spawn(ponger);
        let result = tokio::spawn(pinger).await.map_err(|err| err.to_string())?;
        ponger.await.map_err(|err| err.to_string())?;
        result
    })
}

// actix, kameo and ractor share the messages.

struct Ping(u64);

struct Pong(u64);

// actix.

impl actix::Message for Ping {
    type Result = ();
}

impl actix::Message for Pong {
    type Result = ();
}

struct ActixGo(actix::Addr<ActixPonger>);

impl actix::Message for ActixGo {
    type Result = ();
}

struct ActixPinger {
    ponger: Option<actix::Addr<ActixPonger>>,
    rally: Rally,
    result: Option<ResultSender<Figures>>,
}

impl actix::Actor for ActixPinger {
    type Context = actix::Context<Self>;
}

impl actix::Handler<ActixGo> for ActixPinger {
    type Result = ();

    fn handle(&mut self, ActixGo(ponger): ActixGo, _: &mut actix::Context<Self>) {
        ponger.do_send(Ping(self.rally.start()));
        self.ponger = Some(ponger);
    }
}

impl actix::Handler<Pong> for ActixPinger {
    type Result = ();

    fn handle(&mut self, Pong(m): Pong, ctx: &mut actix::Context<Self>) {
        match (self.rally.pong(m), &self.ponger) {
            (Ok(Some(n)), Some(ponger)) => ponger.do_send(Ping(n)),
            (Ok(Some(_)), None) => {
                report(&mut self.result, Err("pong before go".into()));
                ctx.stop();
            }
            (Ok(None), _) => {
                report(&mut self.result, Ok(self.rally.per_round_trip()));
                ctx.stop();
            }
            (Err(err), _) => {
                report(&mut self.result, Err(err));
                ctx.stop();
            }
        }
    }
}

struct ActixPonger {
    pinger: actix::Addr<ActixPinger>,
}

impl actix::Actor for ActixPonger {
    type Context = actix::Context<Self>;
}

impl actix::Handler<Ping> for ActixPonger {
    type Result = ();

    fn handle(&mut self, Ping(n): Ping, _: &mut actix::Context<Self>) {
        self.pinger.do_send(Pong(n));
    }
}

fn actix(flavour: Flavour, round_trips: u64) -> Result<Figures, String> {
    let system = actix::System::new();
    // W1b: the ponger on an arbiter (a thread) of its own.
    let arbiter = (flavour == Flavour::TwoThreads).then(actix::Arbiter::new);
    let arbiter_handle = arbiter.as_ref().map(actix::Arbiter::handle);
    let result = system.block_on(async move {
        let (sender, receiver) = oneshot::channel();
        let pinger = ActixPinger::create(|ctx| {
            ctx.set_mailbox_capacity(CAPACITY);
            ActixPinger {
                ponger: None,
                rally: Rally::new(round_trips),
                result: Some(sender),
            }
        });
        let new_ponger = {
            let pinger = pinger.clone();
            move |ctx: &mut actix::Context<ActixPonger>| {
                ctx.set_mailbox_capacity(CAPACITY);
                ActixPonger { pinger }
            }
        };
        let ponger = match &arbiter_handle {
            Some(arbiter) => ActixPonger::start_in_arbiter(arbiter, new_ponger),
            None => ActixPonger::create(new_ponger),
        };
        pinger
            .send(ActixGo(ponger))
            .await
            .map_err(|err| err.to_string())?;
        drop(pinger);
        peer::result(receiver).await
    });
    if let Some(arbiter) = arbiter {
        arbiter.stop();
        arbiter
            .join()
            .map_err(|_| "the arbiter panicked".to_owned())?;
    }
    result
}

// kameo.

struct KameoGo(kameo::actor::ActorRef<KameoPonger>);

#[derive(kameo::Actor)]
struct KameoPinger {
    ponger: Option<kameo::actor::ActorRef<KameoPonger>>,
    rally: Rally,
    result: Option<ResultSender<Figures>>,
}

impl kameo::message::Message<KameoGo> for KameoPinger {
    type Reply = ();

    async fn handle(
        &mut self,
        KameoGo(ponger): KameoGo,
        ctx: &mut kameo::message::Context<Self, ()>,
    ) {
        if ponger.tell(Ping(self.rally.start())).await.is_err() {
            report(&mut self.result, Err("ponger stopped".into()));
            ctx.stop();
        }
        self.ponger = Some(ponger);
    }
}

impl kameo::message::Message<Pong> for KameoPinger {
    type Reply = ();

    async fn handle(&mut self, Pong(m): Pong, ctx: &mut kameo::message::Context<Self, ()>) {
        let outcome = match (self.rally.pong(m), &self.ponger) {
            (Ok(Some(n)), Some(ponger)) => match ponger.tell(Ping(n)).await {
                Ok(()) => return,
                Err(_) => Err("ponger stopped".to_owned()),
            },
            (Ok(Some(_)), None) => Err("pong before go".to_owned()),
            (Ok(None), _) => Ok(self.rally.per_round_trip()),
            (Err(err), _) => Err(err),
        };
        report(&mut self.result, outcome);
        ctx.stop();
    }
}

#[derive(kameo::Actor)]
struct KameoPonger {
    pinger: kameo::actor::ActorRef<KameoPinger>,
}

impl kameo::message::Message<Ping> for KameoPonger {
    type Reply = ();

    async fn handle(&mut self, Ping(n): Ping, ctx: &mut kameo::message::Context<Self, ()>) {
        if self.pinger.tell(Pong(n)).await.is_err() {
            ctx.stop();
        }
    }
}

fn kameo_ponger(
    pinger: kameo::actor::ActorRef<KameoPinger>,
) -> kameo::actor::ActorRef<KameoPonger> {
    KameoPonger::spawn_with_mailbox(KameoPonger { pinger }, kameo::mailbox::bounded(CAPACITY))
}

fn kameo(flavour: Flavour, round_trips: u64) -> Result<Figures, String> {
    let runtime = if flavour == Flavour::TwoWorkers {
        peer::two_workers()?
    } else {
        peer::current_thread()?
    };
    runtime.block_on(async move {
        let (sender, receiver) = oneshot::channel();
        let pinger = KameoPinger {
            ponger: None,
            rally: Rally::new(round_trips),
            result: Some(sender),
        };
        let pinger = KameoPinger::spawn_with_mailbox(pinger, kameo::mailbox::bounded(CAPACITY));
        let mut second = None;
        let ponger = if flavour == Flavour::TwoThreads {
            // The ponger on a second thread, which runs until told to stop
            // (or until `stop` is dropped).
            let (ponger_sender, ponger_receiver) = oneshot::channel();
            let (stop, stopped) = oneshot::channel::<()>();
            let pinger = pinger.clone();
            let thread = peer::on_second_thread(move || async move {
                let _ = ponger_sender.send(kameo_ponger(pinger));
                let _ = stopped.await;
            });
            second = Some((thread, stop));
            ponger_receiver
                .await
                .map_err(|_| "no ponger from the second thread".to_owned())?
        } else {
            kameo_ponger(pinger.clone())
        };
        pinger
            .tell(KameoGo(ponger))
            .await
            .map_err(|err| err.to_string())?;
        drop(pinger);
        let result = peer::result(receiver).await;
        if let Some((thread, stop)) = second {
            let _ = stop.send(());
            peer::join(thread)?;
        }
        result
    })
}

// ractor.

enum RactorPingerMsg {
    Go(ractor::ActorRef<u64>),
    Pong(u64),
}

struct RactorPinger;

struct RactorPingerState {
    ponger: Option<ractor::ActorRef<u64>>,
    rally: Rally,
    result: Option<ResultSender<Figures>>,
}

impl ractor::Actor for RactorPinger {
    type Msg = RactorPingerMsg;
    type State = RactorPingerState;
    type Arguments = (u64, ResultSender<Figures>);

    async fn pre_start(
        &self,
        _: ractor::ActorRef<Self::Msg>,
        (round_trips, result): Self::Arguments,
    ) -> Result<Self::State, ractor::ActorProcessingErr> {
        Ok(RactorPingerState {
            ponger: None,
            rally: Rally::new(round_trips),
            result: Some(result),
        })
    }

    async fn handle(
        &self,
        myself: ractor::ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ractor::ActorProcessingErr> {
        let outcome = match msg {
            RactorPingerMsg::Go(ponger) => {
                let first = state.rally.start();
                let sent = ponger.cast(first);
                state.ponger = Some(ponger);
                match sent {
                    Ok(()) => return Ok(()),
                    Err(_) => Err("ponger stopped".to_owned()),
                }
            }
            RactorPingerMsg::Pong(m) => match (state.rally.pong(m), &state.ponger) {
                (Ok(Some(n)), Some(ponger)) => match ponger.cast(n) {
                    Ok(()) => return Ok(()),
                    Err(_) => Err("ponger stopped".to_owned()),
                },
                (Ok(Some(_)), None) => Err("pong before go".to_owned()),
                (Ok(None), _) => Ok(state.rally.per_round_trip()),
                (Err(err), _) => Err(err),
            },
        };
        report(&mut state.result, outcome);
        myself.stop(None);
        Ok(())
    }
}

struct RactorPonger;

impl ractor::Actor for RactorPonger {
    type Msg = u64;
    type State = ractor::ActorRef<RactorPingerMsg>;
    type Arguments = ractor::ActorRef<RactorPingerMsg>;

    async fn pre_start(
        &self,
        _: ractor::ActorRef<Self::Msg>,
        pinger: Self::Arguments,
    ) -> Result<Self::State, ractor::ActorProcessingErr> {
        Ok(pinger)
    }

    async fn handle(
        &self,
        myself: ractor::ActorRef<Self::Msg>,
        n: u64,
        pinger: &mut Self::State,
    ) -> Result<(), ractor::ActorProcessingErr> {
        if pinger.cast(RactorPingerMsg::Pong(n)).is_err() {
            myself.stop(None);
        }
        Ok(())
    }
}

fn ractor(flavour: Flavour, round_trips: u64) -> Result<Figures, String> {
    async fn spawn_ponger(
        pinger: ractor::ActorRef<RactorPingerMsg>,
    ) -> Result<(ractor::ActorRef<u64>, ractor::concurrency::JoinHandle<()>), String> {
        ractor::Actor::spawn(None, RactorPonger, pinger)
            .await
            .map_err(|err| err.to_string())
    }

    let runtime = if flavour == Flavour::TwoWorkers {
        peer::two_workers()?
    } else {
        peer::current_thread()?
    };
    runtime.block_on(async move {
        let (sender, receiver) = oneshot::channel();
        let (pinger, pinger_handle) =
            ractor::Actor::spawn(None, RactorPinger, (round_trips, sender))
                .await
                .map_err(|err| err.to_string())?;
        let (ponger, ponger_handle, second) = if flavour == Flavour::TwoThreads {
            // The ponger on a second thread, which runs until it stops.
            let (ponger_sender, ponger_receiver) = oneshot::channel();
            let pinger = pinger.clone();
            let thread = peer::on_second_thread(move || async move {
                let (ponger, handle) = spawn_ponger(pinger).await?;
                let _ = ponger_sender.send(ponger);
                handle.await.map_err(|err| err.to_string())
            });
            let ponger = ponger_receiver
                .await
                .map_err(|_| "no ponger from the second thread".to_owned())?;
            (ponger, None, Some(thread))
        } else {
            let (ponger, handle) = spawn_ponger(pinger.clone()).await?;
            (ponger, Some(handle), None)
        };
        let result = match pinger.cast(RactorPingerMsg::Go(ponger.clone())) {
            Ok(()) => peer::result(receiver).await,
            Err(_) => Err("pinger stopped".to_owned()),
        };
        // ractor's actors run until stopped.
        ponger.stop(None);
        pinger.stop(None);
        pinger_handle.await.map_err(|err| err.to_string())?;
        if let Some(handle) = ponger_handle {
            handle.await.map_err(|err| err.to_string())?;
        }
        if let Some(thread) = second {
            peer::join(thread)??;
        }
        result
    })
}
