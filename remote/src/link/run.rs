//! The established link's loop: frames out from the inbox, frames in to
//! local actors, until either side closes.
//!
//! # Shape
//!
//! One actor does both directions, so the TLS session needs no lock: it
//! keeps at most one receive and one send in flight (both borrow the
//! stream; the buffers they own come back with their results) and waits
//! for whichever completes first, a message, a delivery that waited for
//! room, or the stall timer.
//!
//! # Bounds
//!
//! - Out: messages wait in the link's inbox (the per-peer send queue,
//!   whose `try_send` gives `Full`); the loop takes them only while less
//!   than [`HIGH_WATER`] bytes wait for the socket, so a peer that stops
//!   reading fills the queue, not memory, and after the stall timeout loses
//!   its link. Other links are separate actors and go on.
//! - In: at most one frame (the link's frame limit) plus one receive is
//!   buffered. A local actor whose inbox is full makes the link wait (it
//!   stops reading the socket, so TCP pushes back on the peer) rather than
//!   drop or reorder messages.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::mem::take;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;

use kiln::actor;
use kiln_inbox::oneshot;
use kiln_rt::access::ThreadSafe;
use kiln_rt::net::TcpStream;
use kiln_rt::spawn::FutureOptions;
use kiln_rt::timer::Timer;
use log::{debug, warn};

use crate::frame::{self, Entry, Frame, RpcFailure};
use crate::link::session::Session;
use crate::link::{LinkError, LinkMsg};
use crate::node::actor::{NodeMessage, NodeMsg};
use crate::registry::{BoxFuture, Delivery, LocalTarget, RemoteEntry};
use crate::shared::{Shared, lock};

/// Bytes waiting for the socket above which the link stops taking
/// messages from its inbox.
pub(super) const HIGH_WATER: usize = 1024 * 1024;

/// Room a receive asks for.
const RECV_SIZE: usize = 64 * 1024;

/// Sends everything the session has to send.
pub(super) async fn flush(stream: &TcpStream, session: &mut Session) -> std::io::Result<()> {
    let mut out = Vec::new();
    session.take_output(&mut out)?;
    if !out.is_empty() {
        stream.send_all(out).await?;
    }
    Ok(())
}

/// Receives once into `buf` and hands the bytes to the session; the peer
/// closing is an error here (in the middle of a handshake or `Hello`).
pub(super) async fn recv_into(
    stream: &TcpStream,
    session: &mut Session,
    mut buf: Vec<u8>,
) -> Result<Vec<u8>, LinkError> {
    buf.clear();
    buf.reserve(RECV_SIZE);
    let buf = stream.recv(buf).await?;
    if buf.is_empty() {
        return Err(LinkError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    session.received(&buf)?;
    Ok(buf)
}

/// What woke the loop.
enum Event {
    Received(std::io::Result<Vec<u8>>),
    Sent(std::io::Result<Vec<u8>>),
    Delivered(Result<(), RpcFailure>),
    Message(LinkMsg),
    Stalled,
}

/// The state of an established link besides the socket and the session.
struct Link<'a> {
    shared: &'a Shared,
    rt: ThreadSafe,
    /// The peer's node name.
    peer: &'a str,
    link_ref: kiln::ActorRef<LinkMsg>,
    /// Requests sent, waiting for their responses.
    pending: HashMap<u64, oneshot::Sender<Result<Vec<u8>, RpcFailure>>>,
    /// Prune `pending` of abandoned requests when it grows past this.
    prune_at: usize,
    /// A delivery waiting for room in a local inbox.
    delivering: Option<BoxFuture<Result<(), RpcFailure>>>,
    /// Local actors by name, valid for `generation`.
    targets: HashMap<Box<str>, Arc<dyn LocalTarget>>,
    /// The registry generation `targets` and `told` are of.
    generation: u64,
    /// The entries the peer has been told about.
    told: HashMap<Box<str>, RemoteEntry>,
    /// `Close` received: send what is queued, then end.
    closing: bool,
}

/// Runs the established link until it closes; see the [module
/// docs](self).
pub(super) async fn run(
    ctx: &mut actor::Context<LinkMsg, ThreadSafe>,
    shared: &Shared,
    stream: &TcpStream,
    session: &mut Session,
    peer: &str,
) -> Result<(), LinkError> {
    let mut link = Link {
        shared,
        rt: ctx.runtime().clone(),
        peer,
        link_ref: ctx.actor_ref(),
        pending: HashMap::new(),
        prune_at: 64,
        delivering: None,
        targets: HashMap::new(),
        generation: u64::MAX,
        told: HashMap::new(),
        closing: false,
    };
    let limit = shared.config.max_frame;
    let stall_timeout = shared.config.stall_timeout;

    let mut recv = pin!(None);
    let mut send = pin!(None);
    let mut stall: Option<Timer<ThreadSafe>> = None;
    let mut spare_out = Vec::new();
    let mut spare_in = Vec::with_capacity(RECV_SIZE);
    // Bytes that came with the peer's `Hello`.
    link.process_input(session, limit)?;
    loop {
        link.sync_registry(session, limit)?;
        if send.is_none() {
            session.take_output(&mut spare_out)?;
            if !spare_out.is_empty() {
                send.set(Some(stream.send_all(take(&mut spare_out))));
                stall = Some(Timer::after(link.rt.clone(), stall_timeout));
            } else if link.closing {
                return Ok(());
            }
        }
        if recv.is_none() && link.delivering.is_none() && !session.closed {
            let mut buf = take(&mut spare_in);
            buf.clear();
            buf.reserve(RECV_SIZE);
            recv.set(Some(stream.recv(buf)));
        }
        let take_messages = session.output.len() < HIGH_WATER && !link.closing;
        let event = poll_fn(|cx| {
            if let Some(delivering) = link.delivering.as_mut()
                && let Poll::Ready(result) = delivering.as_mut().poll(cx)
            {
                return Poll::Ready(Event::Delivered(result));
            }
            if let Some(future) = recv.as_mut().as_pin_mut()
                && let Poll::Ready(result) = future.poll(cx)
            {
                return Poll::Ready(Event::Received(result));
            }
            if let Some(future) = send.as_mut().as_pin_mut()
                && let Poll::Ready(result) = future.poll(cx)
            {
                return Poll::Ready(Event::Sent(result));
            }
            if let Some(timer) = stall.as_mut()
                && Pin::new(timer).poll(cx).is_ready()
            {
                return Poll::Ready(Event::Stalled);
            }
            if take_messages && let Poll::Ready(msg) = pin!(ctx.receive_next()).poll(cx) {
                // The link holds a reference to itself: the inbox is never
                // disconnected, so this is a message.
                return Poll::Ready(msg.map_or(Event::Message(LinkMsg::Close), Event::Message));
            }
            Poll::Pending
        })
        .await;
        match event {
            Event::Received(result) => {
                recv.set(None);
                let buf = result?;
                if buf.is_empty() {
                    return Ok(()); // The peer closed the connection.
                }
                session.received(&buf)?;
                spare_in = buf;
                link.process_input(session, limit)?;
                if session.closed {
                    return Ok(());
                }
            }
            Event::Sent(result) => {
                send.set(None);
                stall = None;
                spare_out = result?;
                spare_out.clear();
            }
            Event::Stalled => return Err(LinkError::Stalled),
            Event::Delivered(result) => {
                link.delivering = None;
                if let Err(failure) = result {
                    debug!("message from node '{peer}' dropped: {failure}");
                }
                link.process_input(session, limit)?;
            }
            Event::Message(msg) => {
                link.handle(msg, session, limit)?;
                // More at once: one TLS record and one send for a burst.
                while session.output.len() < HIGH_WATER && !link.closing {
                    match ctx.try_receive_next() {
                        Ok(msg) => link.handle(msg, session, limit)?,
                        Err(_) => break,
                    }
                }
            }
        }
    }
}

impl Link<'_> {
    /// Handles a message from this node.
    fn handle(
        &mut self,
        msg: LinkMsg,
        session: &mut Session,
        limit: usize,
    ) -> Result<(), LinkError> {
        match msg {
            LinkMsg::Frame(frame) => session.output.extend_from_slice(&frame),
            LinkMsg::Request { id, frame, reply } => {
                session.output.extend_from_slice(&frame);
                self.pending.insert(id, reply);
                if self.pending.len() >= self.prune_at {
                    // Callers that stopped waiting (a deadline passed).
                    self.pending.retain(|_, reply| reply.is_connected());
                    self.prune_at = (self.pending.len() * 2).max(64);
                }
            }
            LinkMsg::Respond { id, result } => {
                let frame = Frame::Response {
                    id,
                    result: result.as_deref().map_err(|&failure| failure),
                };
                if let Err(err) = frame::encode_into(&frame, &mut session.output, limit) {
                    warn!("response to node '{}' not sent: {err}", self.peer);
                    let failed = Frame::Response {
                        id,
                        result: Err(RpcFailure::Malformed),
                    };
                    frame::encode_into(&failed, &mut session.output, limit)?;
                }
            }
            LinkMsg::Stopped { watch } => {
                frame::encode_into(&Frame::Stopped { watch }, &mut session.output, limit)?;
            }
            LinkMsg::RegistryChanged => {} // `sync_registry` runs every turn.
            LinkMsg::Close => {
                self.closing = true;
                session.close();
            }
        }
        Ok(())
    }

    /// Tells the peer about changes to this node's entries, and forgets
    /// the cached targets, if the registry changed.
    fn sync_registry(&mut self, session: &mut Session, limit: usize) -> Result<(), LinkError> {
        let generation = self.shared.generation.load(Ordering::Acquire);
        if generation == self.generation {
            return Ok(());
        }
        self.generation = generation;
        self.targets.clear();
        let registry = lock(&self.shared.registry);
        let old = take(&mut self.told);
        for (name, target) in &registry.local {
            let entry = RemoteEntry {
                message_type: target.message_type().into(),
                response_type: target.response_type().map(Into::into),
            };
            if old.get(name) != Some(&entry) {
                let frame = Frame::Register(Entry {
                    name,
                    message_type: target.message_type(),
                    response_type: target.response_type(),
                });
                frame::encode_into(&frame, &mut session.output, limit)?;
            }
            self.told.insert(name.clone(), entry);
        }
        for name in old.keys() {
            if !registry.local.contains_key(name) {
                frame::encode_into(&Frame::Unregister { name }, &mut session.output, limit)?;
            }
        }
        Ok(())
    }

    /// Handles the complete frames in the session's input, stopping at a
    /// delivery that must wait.
    fn process_input(&mut self, session: &mut Session, limit: usize) -> Result<(), LinkError> {
        let input = take(&mut session.input);
        let mut used = 0;
        let result = (|| {
            while self.delivering.is_none() {
                let Some((frame, n)) = frame::decode(&input[used..], limit)? else {
                    break;
                };
                used += n;
                self.receive(frame, session, limit)?;
            }
            Ok(())
        })();
        session.input = input;
        session.input.drain(..used);
        result
    }

    /// Handles one frame from the peer.
    fn receive(
        &mut self,
        frame: Frame<'_>,
        session: &mut Session,
        limit: usize,
    ) -> Result<(), LinkError> {
        match frame {
            Frame::Hello(_) => return Err(LinkError::Protocol("a second Hello".to_owned())),
            Frame::Message {
                target,
                message_type,
                payload,
            } => {
                let Some(local) = self.target(target) else {
                    debug!(
                        "message from node '{}' for unknown actor '{}' dropped",
                        self.peer,
                        target.escape_debug()
                    );
                    return Ok(());
                };
                check_type(&*local, target, message_type)?;
                match local.deliver(payload).0 {
                    Delivery::Done => {}
                    Delivery::Wait(future) => self.delivering = Some(future),
                    Delivery::Stopped => debug!("message for stopped actor '{target}' dropped"),
                    Delivery::Malformed => return Err(malformed(target, message_type)),
                }
            }
            Frame::Request {
                id,
                target,
                message_type,
                response_type,
                payload,
            } => {
                let failure = match self.target(target) {
                    None => Some(RpcFailure::NotFound),
                    Some(local)
                        if local.message_type() != message_type
                            || local.response_type() != Some(response_type) =>
                    {
                        Some(RpcFailure::WrongType)
                    }
                    Some(local) => {
                        let (delivery, response) = local.deliver(payload);
                        match delivery {
                            Delivery::Done | Delivery::Wait(_) => {
                                if let Delivery::Wait(future) = delivery {
                                    self.delivering = Some(future);
                                }
                                // An actor answering requests gives a response.
                                if let Some(response) = response {
                                    self.spawn_response(id, response);
                                }
                                None
                            }
                            Delivery::Stopped => Some(RpcFailure::Stopped),
                            Delivery::Malformed => return Err(malformed(target, message_type)),
                        }
                    }
                };
                if let Some(failure) = failure {
                    let frame = Frame::Response {
                        id,
                        result: Err(failure),
                    };
                    frame::encode_into(&frame, &mut session.output, limit)?;
                }
            }
            Frame::Response { id, result } => {
                if let Some(reply) = self.pending.remove(&id) {
                    let _ = reply.try_send(result.map(<[u8]>::to_vec));
                }
            }
            Frame::Register(entry) => {
                let remote = RemoteEntry {
                    message_type: entry.message_type.into(),
                    response_type: entry.response_type.map(Into::into),
                };
                lock(&self.shared.registry).add_remote(self.peer, entry.name, remote);
            }
            Frame::Unregister { name } => {
                lock(&self.shared.registry).remove_remote(self.peer, name);
            }
            Frame::Swim(data) => {
                if let Some(node) = self.shared.node_ref.get() {
                    // Membership data is best effort, like the datagrams
                    // SWIM was designed for.
                    let _ = node.try_send(NodeMessage(NodeMsg::Swim(data.to_vec())));
                }
            }
            Frame::Watch { watch, name } => match self.target(name) {
                Some(local) if local.is_connected() => self.spawn_watch(watch, local.stopped()),
                _ => frame::encode_into(&Frame::Stopped { watch }, &mut session.output, limit)?,
            },
            Frame::Stopped { watch } => {
                let ended = lock(&self.shared.watches).remove(&watch);
                if let Some(watch) = ended {
                    let _ = watch
                        .watcher
                        .try_send(crate::WatchEvent::Stopped(watch.name));
                }
            }
        }
        Ok(())
    }

    /// The local actor registered as `name`.
    fn target(&mut self, name: &str) -> Option<Arc<dyn LocalTarget>> {
        if let Some(target) = self.targets.get(name) {
            return Some(target.clone());
        }
        let target = lock(&self.shared.registry).local.get(name).cloned()?;
        self.targets.insert(name.into(), target.clone());
        Some(target)
    }

    /// Sends the response of a request once the local actor gives it.
    fn spawn_response(&mut self, id: u64, response: BoxFuture<Result<Vec<u8>, RpcFailure>>) {
        let link_ref = self.link_ref.clone();
        self.rt.spawn_future(
            async move {
                let result = response.await;
                let _ = link_ref.send(LinkMsg::Respond { id, result }).await;
            },
            FutureOptions::default(),
        );
    }

    /// Tells the peer when a local actor stops (or forgets it when the
    /// link ends first).
    fn spawn_watch(&mut self, watch: u64, stopped: BoxFuture<()>) {
        let link_ref = self.link_ref.clone();
        self.rt.spawn_future(
            async move {
                let mut stopped = stopped;
                let ended = {
                    let mut join = pin!(link_ref.join());
                    poll_fn(|cx| {
                        if stopped.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(true);
                        }
                        join.as_mut().poll(cx).map(|_| false)
                    })
                    .await
                };
                if ended {
                    let _ = link_ref.send(LinkMsg::Stopped { watch }).await;
                }
            },
            FutureOptions::default(),
        );
    }
}

/// Checks that a frame's type names match the registration: a mismatch
/// means the peer and this node disagree on the protocol.
fn check_type(local: &dyn LocalTarget, target: &str, message_type: &str) -> Result<(), LinkError> {
    if local.message_type() == message_type {
        return Ok(());
    }
    Err(LinkError::Protocol(format!(
        "message of type '{}' for actor '{}', which takes '{}'",
        message_type.escape_debug(),
        target.escape_debug(),
        local.message_type()
    )))
}

fn malformed(target: &str, message_type: &str) -> LinkError {
    LinkError::Protocol(format!(
        "a '{}' for actor '{}' does not decode",
        message_type.escape_debug(),
        target.escape_debug()
    ))
}
