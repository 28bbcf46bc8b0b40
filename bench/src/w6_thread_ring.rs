//! W6 thread ring: 1,000 actors in a ring pass one token around,
//! 10,000,000 hops (100,000 with `--quick`); nanoseconds per hop.
//!
//! The classic thread-ring benchmark (the Computer Language Benchmarks
//! Game's): actor `i` sends to actor `i + 1`, the last to the first. The
//! token is the number of hops made so far: the first actor gets 0, and the
//! actor that gets `hops` reports it. Each actor checks that the token it
//! gets is its own index modulo 1,000, so a lost, duplicated or skipped hop
//! fails the run, and the benchmark checks the count it gets. The clock runs
//! from the first send to the report, once the ring is built. Then a stop
//! message goes round the ring.
//!
//! Every system runs on one thread; except with tokio, whose channels can
//! all be made first, the first actor learns of the second (the last one
//! built) from a first message (`Link`):
//!
//! - **kiln**: thread-local actors on a one-worker runtime, inboxes of 8,
//!   `ActorRef::send`; a driver actor builds the ring and times it.
//! - **tokio**: a task per actor on a `current_thread` runtime, each with a
//!   bounded `mpsc` channel of 8.
//! - **actix**: `Actor`s on the `System`'s thread (one arbiter), mailbox
//!   capacity 8, `Addr::do_send`.
//! - **kameo**: `Actor`s with bounded mailboxes of 8 on a `current_thread`
//!   runtime, `tell`.
//! - **ractor**: `Actor`s (unbounded mailboxes) on a `current_thread`
//!   runtime, `cast`.
//!
//! The peers' actors report to the benchmark through an unbounded tokio
//! `mpsc` channel (any of them may have to report an error).

use std::convert::Infallible;
use std::sync::mpsc;
use std::time::Instant;

use actix::{Actor as _, ActorContext as _};
use kameo::actor::Spawn as _;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, RuntimeRef, ThreadLocal};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::peer::{self, CAPACITY};

#[cfg(test)]
mod tests;

/// The number of actors in the ring.
const RING: u64 = 1_000;

/// The workload's name.
pub(crate) const WORKLOAD: &str = "W6-ring";

/// Passes the token `hops` hops round the ring on `system`; returns ns per
/// hop.
pub(crate) fn run(system: &str, hops: u64) -> Result<f64, String> {
    match system {
        "kiln" | "kiln-poll" => kiln(system, hops),
        "tokio" => peer::current_thread()?.block_on(tokio(hops)),
        "actix" => actix::System::new().block_on(actix(hops)),
        "kameo" => peer::current_thread()?.block_on(kameo(hops)),
        "ractor" => peer::current_thread()?.block_on(ractor(hops)),
        _ => Err(format!("unknown system {system}")),
    }
}

/// What an actor does with a token.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Pass this token to the next actor.
    Pass(u64),
    /// The last hop: report the token.
    Done,
    /// The token is not one this actor can get.
    Wrong(String),
}

/// What actor `index` does with `token` in a run of `hops` hops.
fn step(index: u64, hops: u64, token: u64) -> Step {
    if token % RING != index {
        Step::Wrong(format!("actor {index} got token {token}"))
    } else if token == hops {
        Step::Done
    } else {
        Step::Pass(token + 1)
    }
}

/// Checks the token reported at the end of a run of `hops` hops; returns ns
/// per hop, `hops` since `start`.
fn check_hops(hops: u64, reported: u64, start: Instant) -> Result<f64, String> {
    let ns = start.elapsed().as_nanos() as f64 / hops as f64;
    if reported == hops {
        Ok(ns)
    } else {
        Err(format!("expected {hops} hops, got {reported}"))
    }
}

/// What an actor reports: the last token, or what went wrong.
type Report = Result<u64, String>;

// kiln.

enum Hop {
    /// The first actor's next actor.
    Link(ActorRef<Hop>),
    Token(u64),
    /// Stop, after telling the next actor to.
    Stop,
}

async fn member(
    mut ctx: actor::Context<Hop, ThreadLocal>,
    index: u64,
    next: Option<ActorRef<Hop>>,
    hops: u64,
    driver: ActorRef<Report>,
) {
    let next = match next {
        Some(next) => next,
        None => match ctx.receive_next().await {
            Ok(Hop::Link(next)) => next,
            _ => return,
        },
    };
    while let Ok(msg) = ctx.receive_next().await {
        let report = match msg {
            Hop::Token(token) => match step(index, hops, token) {
                Step::Pass(token) => match next.send(Hop::Token(token)).await {
                    Ok(()) => continue,
                    Err(_) => Err(format!("actor {index}: the next actor stopped")),
                },
                Step::Done => Ok(token),
                Step::Wrong(err) => Err(err),
            },
            Hop::Link(_) => Err(format!("actor {index} linked twice")),
            Hop::Stop => {
                // The last one's next has stopped already.
                let _ = next.send(Hop::Stop).await;
                return;
            }
        };
        // The driver stopped only if the run failed already.
        let _ = driver.send(report).await;
    }
}

/// Builds the ring, passes the token and stops the ring.
async fn driver(
    mut ctx: actor::Context<Report, ThreadLocal>,
    hops: u64,
    result: mpsc::Sender<Result<f64, String>>,
) {
    let me = ctx.actor_ref();
    let mut spawn = |index, next| {
        ctx.runtime().spawn_local(
            NoSupervisor,
            actor_fn(member),
            (index, next, hops, me.clone()),
            ActorOptions::default(),
        )
    };
    let first = spawn(0, None);
    let mut next = first.clone();
    for index in (1..RING).rev() {
        next = spawn(index, Some(next));
    }
    let outcome = async {
        let stopped = |_| "the first actor stopped".to_owned();
        first.send(Hop::Link(next)).await.map_err(stopped)?;
        let start = Instant::now();
        first.send(Hop::Token(0)).await.map_err(stopped)?;
        let reported = ctx
            .receive_next()
            .await
            .map_err(|_| "the ring stopped without a report".to_owned())??;
        check_hops(hops, reported, start)
    }
    .await;
    let _ = first.send(Hop::Stop).await;
    let _ = result.send(outcome);
}

fn kiln(system: &str, hops: u64) -> Result<f64, String> {
    let (result, outcome) = mpsc::channel();
    let mut runtime = peer::kiln_setup(system)
        .num_threads(1)
        .build()
        .map_err(|err| err.to_string())?;
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            rt.spawn_local(
                NoSupervisor,
                actor_fn(driver),
                (hops, result.clone()),
                ActorOptions::default(),
            );
            Ok(())
        })
        .map_err(|err| err.to_string())?;
    runtime.start().map_err(|err| err.to_string())?;
    outcome.recv().map_err(|err| err.to_string())?
}

// tokio.

enum TokioHop {
    Token(u64),
    Stop,
}

async fn tokio_member(
    index: u64,
    mut inbox: tokio::sync::mpsc::Receiver<TokioHop>,
    next: tokio::sync::mpsc::Sender<TokioHop>,
    hops: u64,
    done: UnboundedSender<Report>,
) {
    while let Some(msg) = inbox.recv().await {
        let report = match msg {
            TokioHop::Token(token) => match step(index, hops, token) {
                Step::Pass(token) => match next.send(TokioHop::Token(token)).await {
                    Ok(()) => continue,
                    Err(_) => Err(format!("actor {index}: the next actor stopped")),
                },
                Step::Done => Ok(token),
                Step::Wrong(err) => Err(err),
            },
            TokioHop::Stop => {
                let _ = next.send(TokioHop::Stop).await;
                return;
            }
        };
        let _ = done.send(report);
    }
}

async fn tokio(hops: u64) -> Result<f64, String> {
    let (done, mut reports) = unbounded_channel();
    let (senders, inboxes): (Vec<_>, Vec<_>) = (0..RING)
        .map(|_| tokio::sync::mpsc::channel(CAPACITY))
        .unzip();
    for ((index, inbox), next) in (0..).zip(inboxes).zip(senders.iter().cycle().skip(1)) {
        tokio::spawn(tokio_member(index, inbox, next.clone(), hops, done.clone()));
    }
    let first = &senders[0];
    let start = Instant::now();
    let stopped = |_| "the first actor stopped".to_owned();
    first.send(TokioHop::Token(0)).await.map_err(stopped)?;
    let outcome = last_report(&mut reports).await;
    let outcome = outcome.and_then(|reported| check_hops(hops, reported, start));
    first.send(TokioHop::Stop).await.map_err(stopped)?;
    outcome
}

// actix, kameo and ractor share the messages and the state.

struct Link<A>(A);

struct Token(u64);

struct Stop;

/// A peer's ring member.
struct Member<A> {
    index: u64,
    hops: u64,
    /// The next actor; the first actor's comes with `Link`.
    next: Option<A>,
    done: UnboundedSender<Report>,
}

impl<A> Member<A> {
    fn new(index: u64, hops: u64, next: Option<A>, done: &UnboundedSender<Report>) -> Member<A> {
        Member {
            index,
            hops,
            next,
            done: done.clone(),
        }
    }

    /// Handles `token`: returns the next actor and the token to send it, or
    /// reports the end of the run or what went wrong.
    fn pass(&self, token: u64) -> Option<(&A, u64)> {
        let report = match (step(self.index, self.hops, token), &self.next) {
            (Step::Pass(token), Some(next)) => return Some((next, token)),
            (Step::Pass(_), None) => Err(format!("actor {} got a token first", self.index)),
            (Step::Done, _) => Ok(token),
            (Step::Wrong(err), _) => Err(err),
        };
        self.report(report);
        None
    }

    fn report(&self, report: Report) {
        // The benchmark stopped waiting only if it failed already.
        let _ = self.done.send(report);
    }
}

/// Waits for the report of the actor that got the last token.
async fn last_report(reports: &mut UnboundedReceiver<Report>) -> Report {
    reports
        .recv()
        .await
        .ok_or_else(|| "the ring stopped without a report".to_owned())?
}

// actix.

impl actix::Message for Link<actix::Addr<ActixMember>> {
    type Result = ();
}

impl actix::Message for Token {
    type Result = ();
}

impl actix::Message for Stop {
    type Result = ();
}

struct ActixMember(Member<actix::Addr<ActixMember>>);

impl actix::Actor for ActixMember {
    type Context = actix::Context<Self>;
}

impl actix::Handler<Link<actix::Addr<ActixMember>>> for ActixMember {
    type Result = ();

    fn handle(&mut self, Link(next): Link<actix::Addr<Self>>, _: &mut actix::Context<Self>) {
        self.0.next = Some(next);
    }
}

impl actix::Handler<Token> for ActixMember {
    type Result = ();

    fn handle(&mut self, Token(token): Token, _: &mut actix::Context<Self>) {
        if let Some((next, token)) = self.0.pass(token) {
            next.do_send(Token(token));
        }
    }
}

impl actix::Handler<Stop> for ActixMember {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut actix::Context<Self>) {
        if let Some(next) = &self.0.next {
            next.do_send(Stop);
        }
        ctx.stop();
    }
}

async fn actix(hops: u64) -> Result<f64, String> {
    let (done, mut reports) = unbounded_channel();
    let spawn = |index, next| {
        ActixMember::create(|ctx| {
            ctx.set_mailbox_capacity(CAPACITY);
            ActixMember(Member::new(index, hops, next, &done))
        })
    };
    let first = spawn(0, None);
    let mut next = first.clone();
    for index in (1..RING).rev() {
        next = spawn(index, Some(next));
    }
    first.do_send(Link(next));
    let start = Instant::now();
    first.do_send(Token(0));
    let outcome = last_report(&mut reports).await;
    first.do_send(Stop);
    check_hops(hops, outcome?, start)
}

// kameo.

struct KameoMember(Member<kameo::actor::ActorRef<KameoMember>>);

impl kameo::Actor for KameoMember {
    type Args = Self;
    type Error = kameo::error::Infallible;

    async fn on_start(
        member: Self,
        _: kameo::actor::ActorRef<Self>,
    ) -> Result<Self, kameo::error::Infallible> {
        Ok(member)
    }
}

impl kameo::message::Message<Link<kameo::actor::ActorRef<KameoMember>>> for KameoMember {
    type Reply = ();

    async fn handle(
        &mut self,
        Link(next): Link<kameo::actor::ActorRef<Self>>,
        _: &mut kameo::message::Context<Self, ()>,
    ) {
        self.0.next = Some(next);
    }
}

impl kameo::message::Message<Token> for KameoMember {
    type Reply = ();

    async fn handle(&mut self, Token(token): Token, _: &mut kameo::message::Context<Self, ()>) {
        if let Some((next, token)) = self.0.pass(token)
            && next.tell(Token(token)).await.is_err()
        {
            let index = self.0.index;
            self.0
                .report(Err(format!("actor {index}: the next actor stopped")));
        }
    }
}

impl kameo::message::Message<Stop> for KameoMember {
    type Reply = ();

    async fn handle(&mut self, _: Stop, ctx: &mut kameo::message::Context<Self, ()>) {
        if let Some(next) = &self.0.next {
            let _ = next.tell(Stop).await;
        }
        ctx.stop();
    }
}

async fn kameo(hops: u64) -> Result<f64, String> {
    let (done, mut reports) = unbounded_channel();
    let spawn = |index, next| {
        KameoMember::spawn_with_mailbox(
            KameoMember(Member::new(index, hops, next, &done)),
            kameo::mailbox::bounded(CAPACITY),
        )
    };
    let first = spawn(0, None);
    let mut next = first.clone();
    for index in (1..RING).rev() {
        next = spawn(index, Some(next));
    }
    first
        .tell(Link(next))
        .await
        .map_err(|err| err.to_string())?;
    let start = Instant::now();
    first.tell(Token(0)).await.map_err(|err| err.to_string())?;
    let outcome = last_report(&mut reports).await;
    first.tell(Stop).await.map_err(|err| err.to_string())?;
    check_hops(hops, outcome?, start)
}

// ractor.

enum RactorHop {
    Link(ractor::ActorRef<RactorHop>),
    Token(u64),
    Stop,
}

struct RactorMember;

impl ractor::Actor for RactorMember {
    type Msg = RactorHop;
    type State = Member<ractor::ActorRef<RactorHop>>;
    type Arguments = Self::State;

    async fn pre_start(
        &self,
        _: ractor::ActorRef<RactorHop>,
        member: Self::Arguments,
    ) -> Result<Self::State, ractor::ActorProcessingErr> {
        Ok(member)
    }

    async fn handle(
        &self,
        myself: ractor::ActorRef<RactorHop>,
        msg: RactorHop,
        member: &mut Self::State,
    ) -> Result<(), ractor::ActorProcessingErr> {
        match msg {
            RactorHop::Link(next) => member.next = Some(next),
            RactorHop::Token(token) => {
                if let Some((next, token)) = member.pass(token)
                    && next.cast(RactorHop::Token(token)).is_err()
                {
                    let index = member.index;
                    member.report(Err(format!("actor {index}: the next actor stopped")));
                }
            }
            RactorHop::Stop => {
                if let Some(next) = &member.next {
                    let _ = next.cast(RactorHop::Stop);
                }
                myself.stop(None);
            }
        }
        Ok(())
    }
}

async fn ractor(hops: u64) -> Result<f64, String> {
    let (done, mut reports) = unbounded_channel();
    let mut handles = Vec::new();
    let mut spawn = async |index, next| {
        let member = Member::new(index, hops, next, &done);
        let (actor_ref, handle) = ractor::Actor::spawn(None, RactorMember, member)
            .await
            .map_err(|err| err.to_string())?;
        handles.push(handle);
        Ok::<_, String>(actor_ref)
    };
    let first = spawn(0, None).await?;
    let mut next = first.clone();
    for index in (1..RING).rev() {
        next = spawn(index, Some(next)).await?;
    }
    let stopped = |_| "the first actor stopped".to_owned();
    first.cast(RactorHop::Link(next)).map_err(stopped)?;
    let start = Instant::now();
    first.cast(RactorHop::Token(0)).map_err(stopped)?;
    let outcome = last_report(&mut reports).await;
    first.cast(RactorHop::Stop).map_err(stopped)?;
    for handle in handles {
        handle.await.map_err(|err| err.to_string())?;
    }
    check_hops(hops, outcome?, start)
}
