//! W4: fan-out, one driver sending round robin to 100 actors on one thread,
//! then asking each for its count; nanoseconds per message.
//!
//! The driver sends message `i` to actor `i % 100`, then asks every actor
//! for the number and the sum of the messages it got, and checks both. The
//! clock runs from the first message to the last answer.
//!
//! - **kiln**: thread-local actors (driver and workers) on a one-worker
//!   runtime; `ActorRef::send` into inboxes of 8, which waits while the
//!   inbox is full; the counts with `ActorRef::rpc`.
//! - **tokio**: 101 tasks on a `current_thread` runtime, a bounded `mpsc`
//!   channel of 8 per worker; the counts through a `oneshot` channel.
//! - **actix**: `Actor`s with mailbox capacity 8 on the `System`; the driver,
//!   a task on the same thread, sends with `Addr::do_send`, actix's one-way
//!   send, which ignores the capacity (see W3), and asks for the counts with
//!   `Addr::send`.
//! - **kameo**: `Actor`s with bounded mailboxes of 8; the driver, a task on
//!   the same `current_thread` runtime, sends with `tell` (which waits while
//!   the mailbox is full) and asks with `ask`.
//! - **ractor**: `Actor`s with ractor's unbounded mailboxes; the driver, a
//!   task on the same `current_thread` runtime, sends with `cast` and asks
//!   with `call!`.

use std::convert::Infallible;
use std::sync::mpsc;
use std::time::Instant;

use actix::Actor as _;
use kameo::actor::Spawn as _;
use kiln::actor_ref::RpcMessage;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn, from_message};
use kiln_rt::{ActorOptions, RuntimeRef, ThreadLocal};
use tokio::sync::oneshot;

use crate::peer::{self, CAPACITY};

/// The number of actors the driver sends to.
const ACTORS: u64 = 100;

/// Sends `messages` messages in all on `system`; returns ns per message.
pub(crate) fn run(system: &str, messages: u64) -> Result<f64, String> {
    if !messages.is_multiple_of(ACTORS) {
        return Err(format!(
            "{messages} messages can't be shared by {ACTORS} actors"
        ));
    }
    match system {
        "kiln" | "kiln-poll" => kiln(system, messages),
        "tokio" => tokio(messages),
        "actix" => actix(messages),
        "kameo" => kameo(messages),
        "ractor" => ractor(messages),
        _ => Err(format!("unknown system {system}")),
    }
}

/// What an actor counts: the number and the sum of its messages.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, kameo::Reply)]
struct Count {
    messages: u64,
    sum: u64,
}

impl Count {
    fn add(&mut self, n: u64) {
        self.messages += 1;
        self.sum += n;
    }

    /// Checks the count of actor `index` after `total` messages in all.
    fn check(self, index: u64, total: u64) -> Result<(), String> {
        // Actor `index` gets index, index + 100, index + 200, ...
        let messages = total / ACTORS;
        let expected = Count {
            messages,
            sum: messages * index + ACTORS * messages * messages.saturating_sub(1) / 2,
        };
        if self == expected {
            Ok(())
        } else {
            Err(format!(
                "actor {index}: expected {expected:?}, got {self:?}"
            ))
        }
    }
}

/// The index of the actor that gets message `i`.
const fn target(i: u64) -> usize {
    (i % ACTORS) as usize
}

/// ns per message, `total` messages since `start`.
fn ns_per_message(start: Instant, total: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / total as f64
}

// kiln.

enum Work {
    Item(u64),
    Count(RpcMessage<(), Count>),
}

from_message!(Work::Item(u64), Work::Count(()) -> Count);

async fn worker(mut ctx: actor::Context<Work, ThreadLocal>) {
    let mut count = Count::default();
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            Work::Item(n) => count.add(n),
            Work::Count(RpcMessage { response, .. }) => {
                let _ = response.respond(count);
            }
        }
    }
}

async fn driver(
    _: actor::Context<(), ThreadLocal>,
    workers: Vec<ActorRef<Work>>,
    total: u64,
    result: mpsc::Sender<Result<f64, String>>,
) {
    let outcome = async {
        let start = Instant::now();
        for i in 0..total {
            workers[target(i)]
                .send(i)
                .await
                .map_err(|err| err.to_string())?;
        }
        for (index, worker) in (0..).zip(&workers) {
            let count: Count = worker.rpc(()).await.map_err(|err| err.to_string())?;
            count.check(index, total)?;
        }
        Ok(ns_per_message(start, total))
    };
    let _ = result.send(outcome.await);
}

fn kiln(system: &str, total: u64) -> Result<f64, String> {
    let (result, outcome) = mpsc::channel();
    let mut runtime = peer::kiln_setup(system)
        .num_threads(1)
        .build()
        .map_err(|err| err.to_string())?;
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let workers = (0..ACTORS)
                .map(|_| {
                    rt.spawn_local(NoSupervisor, actor_fn(worker), (), ActorOptions::default())
                })
                .collect();
            rt.spawn_local(
                NoSupervisor,
                actor_fn(driver),
                (workers, total, result.clone()),
                ActorOptions::default(),
            );
            Ok(())
        })
        .map_err(|err| err.to_string())?;
    runtime.start().map_err(|err| err.to_string())?;
    outcome.recv().map_err(|err| err.to_string())?
}

// tokio.

enum TokioWork {
    Item(u64),
    Count(oneshot::Sender<Count>),
}

fn tokio(total: u64) -> Result<f64, String> {
    peer::current_thread()?.block_on(async move {
        let workers: Vec<_> = (0..ACTORS)
            .map(|_| {
                let (inbox, mut work) = tokio::sync::mpsc::channel(CAPACITY);
                tokio::spawn(async move {
                    let mut count = Count::default();
                    while let Some(msg) = work.recv().await {
                        match msg {
                            TokioWork::Item(n) => count.add(n),
                            TokioWork::Count(response) => {
                                let _ = response.send(count);
                            }
                        }
                    }
                });
                inbox
            })
            .collect();
        let driver = tokio::spawn(async move {
            let start = Instant::now();
            for i in 0..total {
                workers[target(i)]
                    .send(TokioWork::Item(i))
                    .await
                    .map_err(|_| "worker stopped".to_owned())?;
            }
            for (index, worker) in (0..).zip(&workers) {
                let (response, count) = oneshot::channel();
                worker
                    .send(TokioWork::Count(response))
                    .await
                    .map_err(|_| "worker stopped".to_owned())?;
                let count = count.await.map_err(|_| "no count".to_owned())?;
                count.check(index, total)?;
            }
            Ok(ns_per_message(start, total))
        });
        driver.await.map_err(|err| err.to_string())?
    })
}

// actix, kameo and ractor share the messages.

struct Item(u64);

struct GetCount;

// actix.

impl actix::Message for Item {
    type Result = ();
}

impl actix::Message for GetCount {
    type Result = Count;
}

struct ActixWorker {
    count: Count,
}

impl actix::Actor for ActixWorker {
    type Context = actix::Context<Self>;
}

impl actix::Handler<Item> for ActixWorker {
    type Result = ();

    fn handle(&mut self, Item(n): Item, _: &mut actix::Context<Self>) {
        self.count.add(n);
    }
}

impl actix::Handler<GetCount> for ActixWorker {
    type Result = actix::MessageResult<GetCount>;

    fn handle(&mut self, _: GetCount, _: &mut actix::Context<Self>) -> Self::Result {
        actix::MessageResult(self.count)
    }
}

fn actix(total: u64) -> Result<f64, String> {
    actix::System::new().block_on(async move {
        let workers: Vec<_> = (0..ACTORS)
            .map(|_| {
                ActixWorker::create(|ctx| {
                    ctx.set_mailbox_capacity(CAPACITY);
                    ActixWorker {
                        count: Count::default(),
                    }
                })
            })
            .collect();
        let driver = actix::spawn(async move {
            let start = Instant::now();
            for i in 0..total {
                workers[target(i)].do_send(Item(i));
            }
            for (index, worker) in (0..).zip(&workers) {
                let count = worker.send(GetCount).await.map_err(|err| err.to_string())?;
                count.check(index, total)?;
            }
            Ok(ns_per_message(start, total))
        });
        driver.await.map_err(|err| err.to_string())?
    })
}

// kameo.

#[derive(kameo::Actor)]
struct KameoWorker {
    count: Count,
}

impl kameo::message::Message<Item> for KameoWorker {
    type Reply = ();

    async fn handle(&mut self, Item(n): Item, _: &mut kameo::message::Context<Self, ()>) {
        self.count.add(n);
    }
}

impl kameo::message::Message<GetCount> for KameoWorker {
    type Reply = Count;

    async fn handle(&mut self, _: GetCount, _: &mut kameo::message::Context<Self, Count>) -> Count {
        self.count
    }
}

fn kameo(total: u64) -> Result<f64, String> {
    peer::current_thread()?.block_on(async move {
        let workers: Vec<_> = (0..ACTORS)
            .map(|_| {
                KameoWorker::spawn_with_mailbox(
                    KameoWorker {
                        count: Count::default(),
                    },
                    kameo::mailbox::bounded(CAPACITY),
                )
            })
            .collect();
        let driver = tokio::spawn(async move {
            let start = Instant::now();
            for i in 0..total {
                workers[target(i)]
                    .tell(Item(i))
                    .await
                    .map_err(|err| err.to_string())?;
            }
            for (index, worker) in (0..).zip(&workers) {
                let count = worker.ask(GetCount).await.map_err(|err| err.to_string())?;
                count.check(index, total)?;
            }
            Ok(ns_per_message(start, total))
        });
        driver.await.map_err(|err| err.to_string())?
    })
}

// ractor.

enum RactorWork {
    Item(u64),
    Count(ractor::RpcReplyPort<Count>),
}

struct RactorWorker;

impl ractor::Actor for RactorWorker {
    type Msg = RactorWork;
    type State = Count;
    type Arguments = ();

    async fn pre_start(
        &self,
        _: ractor::ActorRef<Self::Msg>,
        (): (),
    ) -> Result<Count, ractor::ActorProcessingErr> {
        Ok(Count::default())
    }

    async fn handle(
        &self,
        _: ractor::ActorRef<Self::Msg>,
        msg: RactorWork,
        count: &mut Count,
    ) -> Result<(), ractor::ActorProcessingErr> {
        match msg {
            RactorWork::Item(n) => count.add(n),
            RactorWork::Count(reply) => {
                let _ = reply.send(*count);
            }
        }
        Ok(())
    }
}

fn ractor(total: u64) -> Result<f64, String> {
    peer::current_thread()?.block_on(async move {
        let mut workers = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..ACTORS {
            let (worker, handle) = ractor::Actor::spawn(None, RactorWorker, ())
                .await
                .map_err(|err| err.to_string())?;
            workers.push(worker);
            handles.push(handle);
        }
        let driver = tokio::spawn(async move {
            let outcome = async {
                let start = Instant::now();
                for i in 0..total {
                    workers[target(i)]
                        .cast(RactorWork::Item(i))
                        .map_err(|_| "worker stopped".to_owned())?;
                }
                for (index, worker) in (0..).zip(&workers) {
                    let count =
                        ractor::call!(worker, RactorWork::Count).map_err(|err| err.to_string())?;
                    count.check(index, total)?;
                }
                Ok(ns_per_message(start, total))
            }
            .await;
            // ractor's actors run until stopped.
            for worker in &workers {
                worker.stop(None);
            }
            outcome
        });
        let result = driver.await.map_err(|err| err.to_string())?;
        for handle in handles {
            handle.await.map_err(|err| err.to_string())?;
        }
        result
    })
}
