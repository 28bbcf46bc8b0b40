//! W3: fan-in, four senders sending to one receiver on one thread; messages
//! per second (higher is better).
//!
//! Each sender sends its share of the messages, numbered from 0, as fast as
//! the receiver's inbox lets it. The receiver checks that every sender's
//! messages arrive once and in order and, after the last one, reports the
//! time since it was spawned (just before the senders; a few microseconds
//! at most).
//!
//! - **kiln**: thread-local actors (receiver and senders) on a one-worker
//!   runtime; `ActorRef::send` into the receiver's inbox of 8, which waits
//!   while the inbox is full.
//! - **tokio**: five tasks on a `current_thread` runtime sharing one bounded
//!   `mpsc` channel of 8.
//! - **actix**: the receiver is an `Actor` (mailbox capacity 8) on the
//!   `System`; the senders are tasks on the same thread calling
//!   `Addr::do_send`, actix's one-way send, which ignores the mailbox's
//!   capacity (actix has no one-way send that waits for room; `Addr::send`
//!   waits for the handler to run, one message at a time per sender).
//! - **kameo**: the receiver is an `Actor` with a bounded mailbox of 8; the
//!   senders are tasks on the same `current_thread` runtime calling `tell`,
//!   which waits while the mailbox is full.
//! - **ractor**: the receiver is an `Actor`; the senders are tasks on the
//!   same `current_thread` runtime calling `cast`. ractor's mailbox is
//!   unbounded (it has no other), so a sender never waits.
//!
//! In actix and ractor nothing holds the senders back, so each sends all its
//! messages before the receiver runs, and they all wait in the mailbox (about
//! 0.8 GB at the peak for 10,000,000 messages, against a few MB for the
//! others).

use std::convert::Infallible;
use std::sync::mpsc;
use std::time::Instant;

use actix::{Actor as _, ActorContext as _};
use kameo::actor::Spawn as _;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, RuntimeRef, ThreadLocal};
use tokio::sync::oneshot;

use crate::peer::{self, CAPACITY, ResultSender, report};

/// The number of senders.
const SENDERS: usize = 4;

/// Sends `messages` messages in all on `system`; returns messages per
/// second.
pub(crate) fn run(system: &str, messages: u64) -> Result<f64, String> {
    if !messages.is_multiple_of(SENDERS as u64) {
        return Err(format!(
            "{messages} messages can't be shared by {SENDERS} senders"
        ));
    }
    let per_sender = messages / SENDERS as u64;
    match system {
        "kiln" | "kiln-poll" => kiln(system, per_sender),
        "tokio" => tokio(per_sender),
        "actix" => actix(per_sender),
        "kameo" => kameo(per_sender),
        "ractor" => ractor(per_sender),
        _ => Err(format!("unknown system {system}")),
    }
}

/// A message: which sender sent it, and its number.
#[derive(Copy, Clone, Debug)]
struct Item {
    from: usize,
    seq: u64,
}

/// The receiver's check of what it got, shared by every system's receiver.
struct Tally {
    /// The next number expected from each sender.
    next: [u64; SENDERS],
    received: u64,
    per_sender: u64,
    start: Instant,
}

impl Tally {
    /// A tally of `per_sender` messages from each sender, timed from
    /// `start`.
    fn new(per_sender: u64, start: Instant) -> Tally {
        Tally {
            next: [0; SENDERS],
            received: 0,
            per_sender,
            start,
        }
    }

    /// Checks `item`; once every message has arrived, returns messages per
    /// second.
    fn receive(&mut self, Item { from, seq }: Item) -> Result<Option<f64>, String> {
        let next = self
            .next
            .get_mut(from)
            .ok_or_else(|| format!("message from unknown sender {from}"))?;
        if seq != *next {
            return Err(format!("sender {from}: expected message {next}, got {seq}"));
        }
        *next += 1;
        self.received += 1;
        if self.received < self.per_sender * SENDERS as u64 {
            return Ok(None);
        }
        Ok(Some(
            self.received as f64 / self.start.elapsed().as_secs_f64(),
        ))
    }
}

// kiln.

async fn receiver(
    mut ctx: actor::Context<Item, ThreadLocal>,
    (per_sender, start): (u64, Instant),
    result: mpsc::Sender<Result<f64, String>>,
) {
    let mut tally = Tally::new(per_sender, start);
    while let Ok(item) = ctx.receive_next().await {
        match tally.receive(item) {
            Ok(None) => {}
            Ok(Some(rate)) => {
                let _ = result.send(Ok(rate));
                return;
            }
            Err(err) => {
                let _ = result.send(Err(err));
                return;
            }
        }
    }
    let _ = result.send(Err(format!("only {} messages arrived", tally.received)));
}

async fn sender(
    _: actor::Context<(), ThreadLocal>,
    receiver: ActorRef<Item>,
    from: usize,
    count: u64,
) {
    for seq in 0..count {
        if receiver.send(Item { from, seq }).await.is_err() {
            return;
        }
    }
}

fn kiln(system: &str, per_sender: u64) -> Result<f64, String> {
    let (result, outcome) = mpsc::channel();
    let mut runtime = peer::kiln_setup(system)
        .num_threads(1)
        .build()
        .map_err(|err| err.to_string())?;
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let receiver = rt.spawn_local(
                NoSupervisor,
                actor_fn(receiver),
                ((per_sender, Instant::now()), result.clone()),
                ActorOptions::default(),
            );
            for from in 0..SENDERS {
                rt.spawn_local(
                    NoSupervisor,
                    actor_fn(sender),
                    (receiver.clone(), from, per_sender),
                    ActorOptions::default(),
                );
            }
            Ok(())
        })
        .map_err(|err| err.to_string())?;
    runtime.start().map_err(|err| err.to_string())?;
    outcome.recv().map_err(|err| err.to_string())?
}

// tokio.

fn tokio(per_sender: u64) -> Result<f64, String> {
    peer::current_thread()?.block_on(async move {
        let (inbox, mut items) = tokio::sync::mpsc::channel::<Item>(CAPACITY);
        let mut tally = Tally::new(per_sender, Instant::now());
        let receiver = tokio::spawn(async move {
            while let Some(item) = items.recv().await {
                if let Some(rate) = tally.receive(item)? {
                    return Ok(rate);
                }
            }
            Err(format!("only {} messages arrived", tally.received))
        });
        for from in 0..SENDERS {
            let inbox = inbox.clone();
            tokio::spawn(async move {
                for seq in 0..per_sender {
                    if inbox.send(Item { from, seq }).await.is_err() {
                        return;
                    }
                }
            });
        }
        drop(inbox);
        receiver.await.map_err(|err| err.to_string())?
    })
}

// actix.

impl actix::Message for Item {
    type Result = ();
}

struct ActixReceiver {
    tally: Tally,
    result: Option<ResultSender<f64>>,
}

impl actix::Actor for ActixReceiver {
    type Context = actix::Context<Self>;
}

impl actix::Handler<Item> for ActixReceiver {
    type Result = ();

    fn handle(&mut self, item: Item, ctx: &mut actix::Context<Self>) {
        match self.tally.receive(item) {
            Ok(None) => {}
            outcome => {
                report(&mut self.result, outcome.map(Option::unwrap_or_default));
                ctx.stop();
            }
        }
    }
}

fn actix(per_sender: u64) -> Result<f64, String> {
    actix::System::new().block_on(async move {
        let (result, outcome) = oneshot::channel();
        let receiver = ActixReceiver::create(|ctx| {
            ctx.set_mailbox_capacity(CAPACITY);
            ActixReceiver {
                tally: Tally::new(per_sender, Instant::now()),
                result: Some(result),
            }
        });
        for from in 0..SENDERS {
            let receiver = receiver.clone();
            actix::spawn(async move {
                for seq in 0..per_sender {
                    receiver.do_send(Item { from, seq });
                }
            });
        }
        drop(receiver);
        peer::result(outcome).await
    })
}

// kameo.

#[derive(kameo::Actor)]
struct KameoReceiver {
    tally: Tally,
    result: Option<ResultSender<f64>>,
}

impl kameo::message::Message<Item> for KameoReceiver {
    type Reply = ();

    async fn handle(&mut self, item: Item, ctx: &mut kameo::message::Context<Self, ()>) {
        match self.tally.receive(item) {
            Ok(None) => {}
            outcome => {
                report(&mut self.result, outcome.map(Option::unwrap_or_default));
                ctx.stop();
            }
        }
    }
}

fn kameo(per_sender: u64) -> Result<f64, String> {
    peer::current_thread()?.block_on(async move {
        let (result, outcome) = oneshot::channel();
        let receiver = KameoReceiver {
            tally: Tally::new(per_sender, Instant::now()),
            result: Some(result),
        };
        let receiver =
            KameoReceiver::spawn_with_mailbox(receiver, kameo::mailbox::bounded(CAPACITY));
        for from in 0..SENDERS {
            let receiver = receiver.clone();
            tokio::spawn(async move {
                for seq in 0..per_sender {
                    if receiver.tell(Item { from, seq }).await.is_err() {
                        return;
                    }
                }
            });
        }
        drop(receiver);
        peer::result(outcome).await
    })
}

// ractor.

struct RactorReceiver;

struct RactorReceiverState {
    tally: Tally,
    result: Option<ResultSender<f64>>,
}

impl ractor::Actor for RactorReceiver {
    type Msg = Item;
    type State = RactorReceiverState;
    type Arguments = (Tally, ResultSender<f64>);

    async fn pre_start(
        &self,
        _: ractor::ActorRef<Item>,
        (tally, result): Self::Arguments,
    ) -> Result<Self::State, ractor::ActorProcessingErr> {
        Ok(RactorReceiverState {
            tally,
            result: Some(result),
        })
    }

    async fn handle(
        &self,
        myself: ractor::ActorRef<Item>,
        item: Item,
        state: &mut Self::State,
    ) -> Result<(), ractor::ActorProcessingErr> {
        match state.tally.receive(item) {
            Ok(None) => {}
            outcome => {
                report(&mut state.result, outcome.map(Option::unwrap_or_default));
                myself.stop(None);
            }
        }
        Ok(())
    }
}

fn ractor(per_sender: u64) -> Result<f64, String> {
    peer::current_thread()?.block_on(async move {
        let (result, outcome) = oneshot::channel();
        let (receiver, handle) = ractor::Actor::spawn(
            None,
            RactorReceiver,
            (Tally::new(per_sender, Instant::now()), result),
        )
        .await
        .map_err(|err| err.to_string())?;
        for from in 0..SENDERS {
            let receiver = receiver.clone();
            tokio::spawn(async move {
                for seq in 0..per_sender {
                    if receiver.cast(Item { from, seq }).is_err() {
                        return;
                    }
                }
            });
        }
        let result = peer::result(outcome).await;
        receiver.stop(None);
        handle.await.map_err(|err| err.to_string())?;
        result
    })
}
