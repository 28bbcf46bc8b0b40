//! The node actor: listens for links, dials seeds and members, keeps one
//! link per pair of nodes, runs membership (SWIM), and reconnects with
//! backoff.
//!
//! # One link per pair
//!
//! Two nodes that learn of each other may connect to each other at the
//! same time. Of the two, the node with the *smaller name decides* which
//! link stays, and it decides before anything but the `Hello`s has been
//! sent on either link:
//!
//! - Every link established on the deciding node asks this actor whether
//!   to stay (`LinkUp`): the first link to a run of the peer stays, and so
//!   does a link to a newer run (which replaces the old one); a second link
//!   to the same run is closed. A kept link sends `Accept` as its first
//!   frame after the `Hello`.
//! - The other node's link waits for that `Accept` (in `link::handshake`)
//!   before it asks this actor, and sends nothing before; a link closed
//!   instead ends there. So it only ever asks about the link the decider
//!   kept, and keeps it, replacing one to the same run (the decider only
//!   accepts a second link to a run once its end of the first one has
//!   ended) or an older one; only a link from an older run of the decider
//!   is refused.
//!
//! So no message, request or response is ever written on a link that one
//! of the two nodes drops, and the messages between two nodes go on one
//! link, in order, while both live (the regression test
//! `simultaneous_dials_lose_nothing` in `tests/two_nodes.rs`). Before
//! this rule, each node chose between the two links on its own (the same
//! rule on both, but links already in use could be replaced), and the
//! messages and requests in flight on the link closed were lost.
//!
//! To make the race rare, only the node with the smaller name dials a
//! member it learns of through membership; the other dials after a grace
//! period if no link came.
//!
//! # Reconnecting
//!
//! A failed dial is tried again after a backoff that doubles from
//! `reconnect_min` to `reconnect_max`; seeds are dialled until the node
//! has a link, members until membership declares them down.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use kiln::ActorRef;
use kiln::actor::{self, NewActor, actor_fn};
use kiln::actor_ref::rpc::RpcMessage;
use kiln::supervisor::NoSupervisor;
use kiln_inbox::oneshot;
use kiln_rt::access::ThreadLocal;
use kiln_rt::net::TcpListener;
use kiln_rt::spawn::{ActorOptions, FutureOptions};
use kiln_rt::timer::Timer;
use log::{debug, info, warn};

use crate::event::{MemberEvent, WatchEvent};
use crate::frame::{self, Frame};
use crate::link::{Direction, decides, link_actor};
use crate::lock::lock;
use crate::membership::{Change, MemberId, Membership, Timing};
use crate::msg::{LinkMsg, LinkUp, NodeMessage, NodeMsg};
use crate::shared::Shared;

#[cfg(test)]
mod tests;

/// How long the node with the larger name waits for the other to dial.
const DIAL_GRACE: Duration = Duration::from_secs(1);

/// The [`NewActor`] of a node's actor, which [`Node::start`](crate::Node::start)
/// spawns. It binds the node's listener when it is created, so a spawn
/// fails (with the `io::Error`) if the address can't be bound.
pub(crate) struct NodeActor {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for NodeActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeActor")
            .field("node", &self.shared.name())
            .finish()
    }
}

impl NewActor for NodeActor {
    type Message = NodeMessage;
    type Argument = ();
    type Actor = Pin<Box<dyn Future<Output = ()>>>;
    type Error = std::io::Error;
    type RuntimeAccess = ThreadLocal;

    fn new(
        &mut self,
        mut ctx: actor::Context<NodeMessage, ThreadLocal>,
        (): (),
    ) -> std::io::Result<Self::Actor> {
        let listener =
            TcpListener::bind(ctx.runtime(), self.shared.config.listen).map_err(|err| {
                std::io::Error::new(
                    err.kind(),
                    format!("can't listen on {}: {err}", self.shared.config.listen),
                )
            })?;
        let listen = listener.local_addr()?;
        let _ = self.shared.listen.set(listen);
        let _ = self.shared.node_ref.set(ctx.actor_ref());
        Ok(Box::pin(run(ctx, self.shared.clone(), listener)))
    }

    fn name() -> &'static str {
        "kiln_remote::Node"
    }
}

/// An address to dial.
#[derive(Debug)]
struct Dial {
    /// The node expected there, if known.
    expected: Option<String>,
    /// When to dial next; `None` while a dial runs.
    at: Option<Instant>,
    /// Failures in a row.
    failures: u32,
    /// A seed (dialled until the node has a link).
    seed: bool,
}

/// Whether a new link to a run (`new`) of a node replaces the established
/// one to a run (`existing`) of the same node, on the node that `decides`
/// (the smaller name; see the module docs) or on the other. A link to a
/// newer run does, on both; of two links to the same run, the decider keeps
/// the first (the second was never used), the other node takes the one
/// the decider accepted.
fn replaces(new: u64, existing: u64, decides: bool) -> bool {
    new > existing || (new == existing && !decides)
}

/// An established link that stayed.
#[derive(Debug)]
struct Linked {
    incarnation: u64,
    link: ActorRef<LinkMsg>,
}

/// The node actor's state.
struct State {
    shared: Arc<Shared>,
    rt: ThreadLocal,
    membership: Membership,
    dials: HashMap<SocketAddr, Dial>,
    links: HashMap<String, Linked>,
    /// Live members by name.
    members: HashMap<String, MemberId>,
    /// One per future spawned for the node: dropped when the node stops,
    /// which ends the futures.
    stoppers: Vec<oneshot::Sender<()>>,
}

/// What woke the node actor.
enum Event {
    Message(NodeMsg),
    Accepted(std::io::Result<(kiln_rt::net::TcpStream, SocketAddr)>),
    Timer,
}

async fn run(
    mut ctx: actor::Context<NodeMessage, ThreadLocal>,
    shared: Arc<Shared>,
    listener: TcpListener,
) {
    let now = Instant::now();
    let identity = MemberId {
        name: shared.name().to_owned(),
        address: shared.listen(),
        incarnation: shared.incarnation,
    };
    let timing = Timing {
        probe_period: shared.config.probe_period,
        probe_timeout: shared.config.probe_timeout,
        suspect_timeout: shared.config.suspect_timeout,
    };
    let mut state = State {
        rt: ctx.runtime().clone(),
        membership: Membership::new(identity, timing, shared.incarnation, now),
        dials: HashMap::new(),
        links: HashMap::new(),
        members: HashMap::new(),
        stoppers: Vec::new(),
        shared,
    };
    for &seed in &state.shared.config.seeds {
        state.dials.insert(
            seed,
            Dial {
                expected: None,
                at: Some(now),
                failures: 0,
                seed: true,
            },
        );
    }
    info!(
        "node '{}' of cluster '{}' listening on {}",
        state.shared.name(),
        state.shared.config.cluster,
        state.shared.listen()
    );

    let mut accept = pin!(listener.accept());
    loop {
        state.dial_due();
        state.flush_membership();
        let wake = state.next_wake();
        let mut timer = wake.map(|at| Timer::at(state.rt.clone(), at));
        let event = poll_fn(|cx| {
            if let Poll::Ready(msg) = pin!(ctx.receive_next()).poll(cx) {
                return Poll::Ready(
                    msg.map_or(Event::Message(NodeMsg::Stop), |msg| Event::Message(msg.0)),
                );
            }
            if let Poll::Ready(accepted) = accept.as_mut().poll(cx) {
                return Poll::Ready(Event::Accepted(accepted));
            }
            if let Some(timer) = timer.as_mut()
                && Pin::new(timer).poll(cx).is_ready()
            {
                return Poll::Ready(Event::Timer);
            }
            Poll::Pending
        })
        .await;
        drop(timer);
        let now = Instant::now();
        match event {
            Event::Message(NodeMsg::Stop) => break,
            Event::Message(msg) => state.handle(msg, now),
            Event::Accepted(Ok((stream, address))) => {
                accept.set(listener.accept());
                state.spawn_link(Direction::Inbound(stream, address));
            }
            Event::Accepted(Err(err)) => {
                accept.set(listener.accept());
                warn!("node '{}': can't accept a link: {err}", state.shared.name());
                // Out of descriptors, say: don't spin.
                Timer::after(state.rt.clone(), Duration::from_millis(100)).await;
            }
            Event::Timer => state.membership.tick(now),
        }
    }

    info!("node '{}' leaving the cluster", state.shared.name());
    state.membership.leave(Instant::now());
    state.flush_membership();
    for linked in state.links.values() {
        let _ = linked.link.try_send(LinkMsg::Close);
    }
    // Let go of the registered actors: one that stops when its last
    // reference goes can stop now, and the runtime with it.
    let registry = std::mem::take(&mut *lock(&state.shared.registry));
    drop(registry);
    lock(&state.shared.members).clear();
    // Subscribers and watchers hear no more: their inboxes may close.
    lock(&state.shared.subscribers).clear();
    let watches = std::mem::take(&mut *lock(&state.shared.watches));
    drop(watches);
}

impl State {
    fn handle(&mut self, msg: NodeMsg, now: Instant) {
        match msg {
            NodeMsg::LinkUp(RpcMessage { request, response }) => {
                let keep = self.link_up(request, now);
                let _ = response.respond(keep);
            }
            NodeMsg::LinkDown { peer, link } => {
                let current = self
                    .links
                    .get(&peer.name)
                    .is_some_and(|linked| linked.link.sends_to(&link));
                if current {
                    self.links.remove(&peer.name);
                }
                // Dial again while membership thinks it lives.
                if let Some(member) = self.members.get(&peer.name) {
                    let address = member.address;
                    self.want(
                        address,
                        Some(peer.name),
                        false,
                        now + self.shared.config.reconnect_min,
                    );
                }
            }
            NodeMsg::ConnectFailed {
                address,
                self_connect,
            } => {
                let has_links = !self.links.is_empty();
                let Some(dial) = self.dials.get_mut(&address) else {
                    return;
                };
                let member_alive = dial
                    .expected
                    .as_ref()
                    .is_some_and(|name| self.members.contains_key(name));
                let linked = dial
                    .expected
                    .as_ref()
                    .is_some_and(|name| self.links.contains_key(name));
                // A seed is dialled until the node has a link; a member until it is
                // declared down or linked (the link the peer kept, say).
                if self_connect || linked || (!member_alive && (has_links || !dial.seed)) {
                    self.dials.remove(&address);
                    return;
                }
                dial.failures += 1;
                let backoff = self
                    .shared
                    .config
                    .reconnect_min
                    .saturating_mul(1 << (dial.failures - 1).min(16))
                    .min(self.shared.config.reconnect_max);
                dial.at = Some(now + backoff);
            }
            NodeMsg::Swim(packet) => self.membership.receive(&packet, now),
            NodeMsg::Spawn(future) => self.spawn_until_stopped(future),
            NodeMsg::Stop => {}
        }
    }

    /// Decides whether a new link stays; see the [module docs](self).
    fn link_up(&mut self, up: LinkUp, now: Instant) -> bool {
        let LinkUp { peer, link: handle } = up;
        let link = handle.actor.clone();
        if let Some(existing) = self.links.get(&peer.name)
            && existing.link.is_connected()
        {
            let decider = decides(self.shared.name(), &peer.name);
            if !replaces(peer.incarnation, existing.incarnation, decider) {
                return false;
            }
            debug!("link to node '{}' replaces an older one", peer.name);
            let _ = existing.link.try_send(LinkMsg::Close);
            self.shared.link_lost(&peer.name, &existing.link);
        }
        lock(&self.shared.links).insert(peer.name.as_str().into(), handle);
        self.links.insert(
            peer.name.clone(),
            Linked {
                incarnation: peer.incarnation,
                link: link.clone(),
            },
        );
        // The link exists: stop dialling it.
        self.dials.retain(|&address, dial| {
            address != peer.listen && dial.expected.as_deref() != Some(&peer.name)
        });
        // Membership learns of it (and it of us).
        let member = MemberId {
            name: peer.name,
            address: peer.listen,
            incarnation: peer.incarnation,
        };
        self.membership.announce(member, now);
        true
    }

    /// Wants a link to `address`, dialling it at `at` (or sooner if
    /// already wanted).
    fn want(&mut self, address: SocketAddr, expected: Option<String>, seed: bool, at: Instant) {
        if expected
            .as_ref()
            .is_some_and(|name| self.links.contains_key(name))
        {
            return;
        }
        let dial = self.dials.entry(address).or_insert(Dial {
            expected: expected.clone(),
            at: Some(at),
            failures: 0,
            seed,
        });
        if dial.expected.is_none() {
            dial.expected = expected;
        }
        // Sooner if asked, unless a dial runs or is backing off.
        if dial.failures == 0
            && let Some(scheduled) = dial.at
        {
            dial.at = Some(scheduled.min(at));
        }
    }

    /// Starts the dials that are due.
    fn dial_due(&mut self) {
        let now = Instant::now();
        let due: Vec<(SocketAddr, Option<String>)> = self
            .dials
            .iter_mut()
            .filter(|(_, dial)| dial.at.is_some_and(|at| at <= now))
            .map(|(&address, dial)| {
                dial.at = None;
                (address, dial.expected.clone())
            })
            .collect();
        for (address, expected) in due {
            self.spawn_link(Direction::Outbound { address, expected });
        }
    }

    /// When the actor must wake without an event.
    fn next_wake(&self) -> Option<Instant> {
        let dial = self.dials.values().filter_map(|dial| dial.at).min();
        match (dial, self.membership.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sends membership's packets and acts on its changes.
    fn flush_membership(&mut self) {
        let limit = self.shared.config.max_frame;
        let now = Instant::now();
        while let Some((to, packet)) = self.membership.next_packet() {
            // Best effort, like a datagram: no link, no packet. But a member
            // membership wants to talk to is dialled at once, whichever name
            // is smaller: unanswered probes would make it look dead.
            let sent = frame::encode(&Frame::Swim(&packet), limit)
                .is_ok_and(|frame| self.shared.send_control(&to.name, frame));
            if !sent && to.name != self.shared.name() {
                self.want(to.address, Some(to.name), false, now);
            }
        }
        while let Some(change) = self.membership.next_change() {
            match change {
                Change::Up(member) => {
                    info!(
                        "node '{}': member '{}' at {} is up",
                        self.shared.name(),
                        member.name,
                        member.address
                    );
                    let at = if self.shared.name() < member.name.as_str() {
                        now
                    } else {
                        now + DIAL_GRACE
                    };
                    self.want(member.address, Some(member.name.clone()), false, at);
                    self.shared.publish(&MemberEvent::Up {
                        node: member.name.clone(),
                        address: member.address,
                    });
                    lock(&self.shared.members).insert(member.name.clone(), member.address);
                    self.members.insert(member.name.clone(), member);
                }
                Change::Down(member) => {
                    let current = self
                        .members
                        .get(&member.name)
                        .is_some_and(|known| known.incarnation <= member.incarnation);
                    if !current {
                        continue; // An older run; a newer one is up.
                    }
                    warn!(
                        "node '{}': member '{}' is down",
                        self.shared.name(),
                        member.name
                    );
                    self.members.remove(&member.name);
                    lock(&self.shared.members).remove(&member.name);
                    self.dials
                        .retain(|_, dial| dial.expected.as_deref() != Some(&member.name));
                    // Watchers first: closing the link would tell them
                    // `ConnectionLost`, but the node is known to be dead.
                    self.shared.fail_watches(&member.name, WatchEvent::NodeDown);
                    if let Some(linked) = self.links.remove(&member.name) {
                        let _ = linked.link.try_send(LinkMsg::Close);
                        self.shared.link_lost(&member.name, &linked.link);
                    }
                    lock(&self.shared.registry).remove_node(&member.name);
                    self.shared
                        .publish(&MemberEvent::Down { node: member.name });
                }
            }
        }
    }

    /// Runs `future` on the node's runtime until it ends or the node stops.
    fn spawn_until_stopped(&mut self, mut future: crate::registry::BoxFuture<()>) {
        let (stopper, mut stopped) = oneshot::new::<()>();
        if self.stoppers.len() >= 64 && self.stoppers.len().is_power_of_two() {
            self.stoppers.retain(oneshot::Sender::is_connected);
        }
        self.stoppers.push(stopper);
        let run = async move {
            poll_fn(|cx| {
                if future.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                stopped.poll_recv(cx).map(drop)
            })
            .await;
        };
        self.rt.spawn_local_future(run, FutureOptions::default());
    }

    /// Spawns a link actor.
    fn spawn_link(&mut self, direction: Direction) {
        let options = ActorOptions::default()
            .with_inbox_size(kiln::InboxSize::fixed(self.shared.config.send_queue));
        let _: ActorRef<LinkMsg> = self.rt.spawn_local(
            NoSupervisor,
            actor_fn(link_actor),
            (self.shared.clone(), direction),
            options,
        );
    }
}
