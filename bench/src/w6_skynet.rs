//! W6 skynet: a tree of actors ten wide, 1,111,111 in all; milliseconds to
//! build it and add up what its leaves send.
//!
//! The classic skynet benchmark (<https://github.com/atemerev/skynet>): the
//! root actor spawns 10 children, each of which spawns 10, down to the
//! leaves (1,000,000 of them, 10,000 with `--quick`). Leaf `n` sends `n` to
//! its parent; every other actor adds up its 10 children's numbers and sends
//! the sum to its parent. The benchmark checks that the root's sum is that
//! of `0..leaves` (499,999,500,000 for a million). The clock runs from
//! spawning the root to its sum. Every actor stops once it has sent its
//! number.
//!
//! The full tree needs memory, as many of its actors are alive at once:
//! peak resident memory of the process in one full run (both workloads, one
//! system) was kiln 0.5 GB, tokio 0.7, actix 0.9, kameo and ractor 10 GB
//! each.
//!
//! Two workloads:
//!
//! - **W6-skynet**, one thread: kiln's thread-local actors on a one-worker
//!   runtime (`RuntimeRef::spawn_local` through the context's runtime
//!   access); tokio, kameo and ractor on a `current_thread` runtime; actix
//!   on its `System`'s thread (one arbiter).
//! - **W6-skynet-2w**, a runtime with two workers, either of which may run
//!   any actor: kiln's thread-safe actors (`ThreadSafe::spawn`,
//!   `num_threads(2)`); tokio, kameo and ractor on a `multi_thread` runtime
//!   with two workers. Not for actix, whose actors stay on the arbiter that
//!   started them.
//!
//! How each system builds the tree:
//!
//! - **kiln**: an `actor_fn` actor per node, inboxes of 8, `ActorRef::send`;
//!   a driver actor spawns the root and times it.
//! - **tokio**: a task per node; each parent makes a bounded `mpsc` channel
//!   of 8 for its children's numbers.
//! - **actix**: an `Actor` per node, mailbox capacity 8, which spawns its
//!   children in `started` (`Actor::create`) and sends with `Addr::do_send`.
//! - **kameo**: an `Actor` per node, bounded mailboxes of 8, which spawns
//!   its children in `on_start` and sends with `tell`; a leaf sends from
//!   `on_start`, then stops with `stop_gracefully`.
//! - **ractor**: an `Actor` per node (unbounded mailboxes: ractor has no
//!   other), which spawns its children in `post_start` with `Actor::spawn`
//!   (unsupervised, like every other system's) and sends with `cast`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actix::{Actor as _, ActorContext as _, AsyncContext as _};
use kameo::actor::Spawn as _;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, RuntimeRef, ThreadLocal, ThreadSafe};
use tokio::sync::oneshot;

use crate::peer::{self, CAPACITY, ResultSender, report};
use kiln_rt::Spawn;

#[cfg(test)]
mod tests;

/// How many children every actor but a leaf has.
const FAN_OUT: u64 = 10;

/// The workload on one thread.
pub(crate) const ONE_THREAD: &str = "W6-skynet";
/// The workload on two workers.
pub(crate) const TWO_WORKERS: &str = "W6-skynet-2w";

/// Whether `system` runs `workload` (actix has no two-worker flavour).
pub(crate) fn applies_to(workload: &str, system: &str) -> bool {
    !(workload == TWO_WORKERS && system == "actix")
}

/// Builds a tree with `leaves` leaves on `system`, on one thread or on two
/// workers; returns the milliseconds it took.
pub(crate) fn run(system: &str, two_workers: bool, leaves: u64) -> Result<f64, String> {
    if leaves < FAN_OUT || !is_power_of_fan_out(leaves) {
        return Err(format!("{leaves} leaves is not a power of {FAN_OUT}"));
    }
    let runtime = || {
        if two_workers {
            peer::two_workers()
        } else {
            peer::current_thread()
        }
    };
    let (elapsed, sum) = match (system, two_workers) {
        ("kiln" | "kiln-poll", false) => kiln_local(system, leaves)?,
        ("kiln" | "kiln-poll", true) => kiln_thread_safe(system, leaves)?,
        ("tokio", _) => runtime()?.block_on(tokio(leaves))?,
        ("actix", false) => actix(leaves)?,
        ("kameo", _) => runtime()?.block_on(kameo(leaves))?,
        ("ractor", _) => runtime()?.block_on(ractor(leaves))?,
        _ => return Err(format!("{system} has no such flavour of skynet")),
    };
    check_sum(leaves, sum)?;
    Ok(elapsed.as_secs_f64() * 1000.0)
}

/// Whether `n` is 1, 10, 100, ...
fn is_power_of_fan_out(mut n: u64) -> bool {
    while n > 1 && n.is_multiple_of(FAN_OUT) {
        n /= FAN_OUT;
    }
    n == 1
}

/// Checks the root's `sum` for a tree with `leaves` leaves: that of
/// `0..leaves`.
fn check_sum(leaves: u64, sum: u64) -> Result<(), String> {
    let expected = leaves * (leaves - 1) / 2;
    if sum == expected {
        Ok(())
    } else {
        Err(format!(
            "the sum of {leaves} leaves is {expected}, got {sum}"
        ))
    }
}

/// The first number and the size (number of leaves) of each of the children
/// of the actor with first number `num` and `size` leaves.
fn children(num: u64, size: u64) -> impl Iterator<Item = (u64, u64)> {
    let size = size / FAN_OUT;
    (0..FAN_OUT).map(move |i| (num + i * size, size))
}

/// The time from spawning the root to its sum, and the sum.
type Outcome = (Duration, u64);

// kiln.

/// How a kiln node spawns its children: thread-local or thread-safe.
trait SpawnNode: Sized {
    fn spawn_node(&mut self, parent: ActorRef<u64>, num: u64, size: u64) -> ActorRef<u64>;
}

impl SpawnNode for ThreadLocal {
    fn spawn_node(&mut self, parent: ActorRef<u64>, num: u64, size: u64) -> ActorRef<u64> {
        self.spawn_local(
            NoSupervisor,
            actor_fn(node::<ThreadLocal>),
            (parent, num, size),
            ActorOptions::default(),
        )
    }
}

impl SpawnNode for ThreadSafe {
    fn spawn_node(&mut self, parent: ActorRef<u64>, num: u64, size: u64) -> ActorRef<u64> {
        self.spawn(
            NoSupervisor,
            actor_fn(node::<ThreadSafe>),
            (parent, num, size),
            ActorOptions::default(),
        )
    }
}

/// A node of the tree: sends `num` if a leaf, else its children's sum.
async fn node<RT: SpawnNode>(
    mut ctx: actor::Context<u64, RT>,
    parent: ActorRef<u64>,
    num: u64,
    size: u64,
) {
    if size == 1 {
        // The parent has stopped only if the run failed already.
        let _ = parent.send(num).await;
        return;
    }
    for (num, size) in children(num, size) {
        let me = ctx.actor_ref();
        ctx.runtime().spawn_node(me, num, size);
    }
    let mut sum = 0;
    for _ in 0..FAN_OUT {
        match ctx.receive_next().await {
            Ok(n) => sum += n,
            // A child stopped without its number: the root never answers.
            Err(_) => return,
        }
    }
    let _ = parent.send(sum).await;
}

/// Spawns the root and waits for its sum.
async fn driver<RT: SpawnNode>(
    mut ctx: actor::Context<u64, RT>,
    leaves: u64,
    result: mpsc::Sender<Result<Outcome, String>>,
) {
    let start = Instant::now();
    let me = ctx.actor_ref();
    ctx.runtime().spawn_node(me, 0, leaves);
    let sum = ctx
        .receive_next()
        .await
        .map_err(|_| "the root stopped without a sum".to_owned());
    let _ = result.send(sum.map(|sum| (start.elapsed(), sum)));
}

fn kiln_local(system: &str, leaves: u64) -> Result<Outcome, String> {
    let (result, outcome) = mpsc::channel();
    let mut runtime = peer::kiln_setup(system)
        .num_threads(1)
        .build()
        .map_err(|err| err.to_string())?;
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            rt.spawn_local(
                NoSupervisor,
                actor_fn(driver::<ThreadLocal>),
                (leaves, result.clone()),
                ActorOptions::default(),
            );
            Ok(())
        })
        .map_err(|err| err.to_string())?;
    runtime.start().map_err(|err| err.to_string())?;
    outcome.recv().map_err(|err| err.to_string())?
}

fn kiln_thread_safe(system: &str, leaves: u64) -> Result<Outcome, String> {
    let (result, outcome) = mpsc::channel();
    let mut runtime = peer::kiln_setup(system)
        .num_threads(2)
        .build()
        .map_err(|err| err.to_string())?;
    runtime.spawn(
        NoSupervisor,
        actor_fn(driver::<ThreadSafe>),
        (leaves, result),
        ActorOptions::default(),
    );
    runtime.start().map_err(|err| err.to_string())?;
    outcome.recv().map_err(|err| err.to_string())?
}

// tokio.

/// A node's task.
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` cannot spawn itself: `tokio::spawn` needs its future \
              to be `Send`, which must be declared to be known inside it"
)]
fn tokio_node(
    parent: tokio::sync::mpsc::Sender<u64>,
    num: u64,
    size: u64,
) -> impl Future<Output = ()> + Send + 'static {
    async move {
        if size == 1 {
            let _ = parent.send(num).await;
            return;
        }
        let (inbox, mut numbers) = tokio::sync::mpsc::channel(CAPACITY);
        for (num, size) in children(num, size) {
            tokio::spawn(tokio_node(inbox.clone(), num, size));
        }
        drop(inbox);
        let mut sum = 0;
        for _ in 0..FAN_OUT {
            match numbers.recv().await {
                Some(n) => sum += n,
                None => return,
            }
        }
        let _ = parent.send(sum).await;
    }
}

async fn tokio(leaves: u64) -> Result<Outcome, String> {
    let start = Instant::now();
    let (inbox, mut sum) = tokio::sync::mpsc::channel(1);
    tokio::spawn(tokio_node(inbox, 0, leaves));
    let sum = sum.recv().await.ok_or("the root stopped without a sum")?;
    Ok((start.elapsed(), sum))
}

// actix, kameo and ractor share the messages and the parent.

/// A number for a parent: a leaf's own or a sum.
struct Sum(u64);

/// Where a peer's node sends its number: its parent, or, for the root, the
/// benchmark.
enum Parent<A> {
    Actor(A),
    Bench(Option<ResultSender<u64>>),
}

/// A peer's node's state.
struct Node<A> {
    parent: Parent<A>,
    num: u64,
    size: u64,
    sum: u64,
    /// The number of children whose numbers came.
    received: u64,
}

impl<A> Node<A> {
    fn new(parent: Parent<A>, num: u64, size: u64) -> Node<A> {
        Node {
            parent,
            num,
            size,
            sum: 0,
            received: 0,
        }
    }

    /// Adds a child's number; returns the sum once every child's came.
    fn add(&mut self, n: u64) -> Option<u64> {
        self.sum += n;
        self.received += 1;
        (self.received == FAN_OUT).then_some(self.sum)
    }
}

/// Spawns a peer's root with `spawn_root` and waits for its sum.
async fn peer_root<R>(spawn_root: impl FnOnce(Parent<R>)) -> Result<Outcome, String> {
    let start = Instant::now();
    let (sender, receiver) = oneshot::channel();
    spawn_root(Parent::Bench(Some(sender)));
    let sum = peer::result(receiver).await?;
    Ok((start.elapsed(), sum))
}

// actix.

impl actix::Message for Sum {
    type Result = ();
}

struct ActixNode(Node<actix::Addr<ActixNode>>);

impl ActixNode {
    fn start(parent: Parent<actix::Addr<ActixNode>>, num: u64, size: u64) {
        ActixNode::create(|ctx| {
            ctx.set_mailbox_capacity(CAPACITY);
            ActixNode(Node::new(parent, num, size))
        });
    }

    fn send(&mut self, n: u64, ctx: &mut actix::Context<Self>) {
        match &mut self.0.parent {
            Parent::Actor(parent) => parent.do_send(Sum(n)),
            Parent::Bench(result) => report(result, Ok(n)),
        }
        ctx.stop();
    }
}

impl actix::Actor for ActixNode {
    type Context = actix::Context<Self>;

    fn started(&mut self, ctx: &mut actix::Context<Self>) {
        if self.0.size == 1 {
            self.send(self.0.num, ctx);
            return;
        }
        for (num, size) in children(self.0.num, self.0.size) {
            ActixNode::start(Parent::Actor(ctx.address()), num, size);
        }
    }
}

impl actix::Handler<Sum> for ActixNode {
    type Result = ();

    fn handle(&mut self, Sum(n): Sum, ctx: &mut actix::Context<Self>) {
        if let Some(sum) = self.0.add(n) {
            self.send(sum, ctx);
        }
    }
}

fn actix(leaves: u64) -> Result<Outcome, String> {
    actix::System::new().block_on(peer_root(|parent| ActixNode::start(parent, 0, leaves)))
}

// kameo.

struct KameoNode(Node<kameo::actor::ActorRef<KameoNode>>);

impl KameoNode {
    fn start(parent: Parent<kameo::actor::ActorRef<KameoNode>>, num: u64, size: u64) {
        KameoNode::spawn_with_mailbox(
            KameoNode(Node::new(parent, num, size)),
            kameo::mailbox::bounded(CAPACITY),
        );
    }

    async fn send(&mut self, n: u64) {
        match &mut self.0.parent {
            Parent::Actor(parent) => {
                let _ = parent.tell(Sum(n)).await;
            }
            Parent::Bench(result) => report(result, Ok(n)),
        }
    }
}

impl kameo::Actor for KameoNode {
    type Args = Self;
    type Error = kameo::error::Infallible;

    async fn on_start(
        mut node: Self,
        actor_ref: kameo::actor::ActorRef<Self>,
    ) -> Result<Self, kameo::error::Infallible> {
        if node.0.size == 1 {
            node.send(node.0.num).await;
            let _ = actor_ref.stop_gracefully().await;
        } else {
            for (num, size) in children(node.0.num, node.0.size) {
                KameoNode::start(Parent::Actor(actor_ref.clone()), num, size);
            }
        }
        Ok(node)
    }
}

impl kameo::message::Message<Sum> for KameoNode {
    type Reply = ();

    async fn handle(&mut self, Sum(n): Sum, ctx: &mut kameo::message::Context<Self, ()>) {
        if let Some(sum) = self.0.add(n) {
            self.send(sum).await;
            ctx.stop();
        }
    }
}

async fn kameo(leaves: u64) -> Result<Outcome, String> {
    peer_root(|parent| KameoNode::start(parent, 0, leaves)).await
}

// ractor.

struct RactorNode;

impl RactorNode {
    fn send(node: &mut Node<ractor::ActorRef<u64>>, n: u64, myself: &ractor::ActorRef<u64>) {
        match &mut node.parent {
            Parent::Actor(parent) => {
                let _ = parent.cast(n);
            }
            Parent::Bench(result) => report(result, Ok(n)),
        }
        myself.stop(None);
    }
}

impl ractor::Actor for RactorNode {
    type Msg = u64;
    type State = Node<ractor::ActorRef<u64>>;
    type Arguments = Node<ractor::ActorRef<u64>>;

    async fn pre_start(
        &self,
        _: ractor::ActorRef<u64>,
        node: Self::Arguments,
    ) -> Result<Self::State, ractor::ActorProcessingErr> {
        Ok(node)
    }

    async fn post_start(
        &self,
        myself: ractor::ActorRef<u64>,
        node: &mut Self::State,
    ) -> Result<(), ractor::ActorProcessingErr> {
        if node.size == 1 {
            RactorNode::send(node, node.num, &myself);
            return Ok(());
        }
        for (num, size) in children(node.num, node.size) {
            let child = Node::new(Parent::Actor(myself.clone()), num, size);
            ractor::Actor::spawn(None, RactorNode, child).await?;
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ractor::ActorRef<u64>,
        n: u64,
        node: &mut Self::State,
    ) -> Result<(), ractor::ActorProcessingErr> {
        if let Some(sum) = node.add(n) {
            RactorNode::send(node, sum, &myself);
        }
        Ok(())
    }
}

async fn ractor(leaves: u64) -> Result<Outcome, String> {
    let start = Instant::now();
    let (sender, receiver) = oneshot::channel();
    let root = Node::new(Parent::Bench(Some(sender)), 0, leaves);
    let (_, handle) = ractor::Actor::spawn(None, RactorNode, root)
        .await
        .map_err(|err| err.to_string())?;
    let sum = peer::result(receiver).await?;
    let elapsed = start.elapsed();
    handle.await.map_err(|err| err.to_string())?;
    Ok((elapsed, sum))
}
