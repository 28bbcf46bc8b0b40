//! The established link's loop: frames out from the inbox, frames in to
//! local actors, until either side closes.
//!
//! # Shape
//!
//! One actor does both directions, so the TLS session needs no lock: it
//! keeps at most one receive and one send in flight (both borrow the
//! stream; the buffers they own come back with their results) and waits
//! for whichever completes first: a receive, a send, a message, a
//! delivery that waited for room, a local actor's response to one of the
//! peer's requests (polled here, so the actor's answer wakes the link
//! directly), or a stall timer.
//!
//! # Bounds
//!
//! - Out: messages wait in the link's inbox (the per-peer send queue,
//!   whose `try_send` gives `Full`); the loop takes them only while less
//!   than [`HIGH_WATER`] bytes wait for the socket and the peer's credit
//!   allows (see `flow`), so a peer that stops reading fills the queue, not
//!   memory. When a send makes no progress, or no credit comes while a
//!   message waits for it, for the stall timeout, the link ends
//!   (`LinkError::Stalled`). Other links are separate actors and go on.
//! - In: at most one frame (the link's frame limit) plus one receive is
//!   buffered in the session. Data for a local actor whose inbox is full
//!   waits, in order, in the link's backlog, which the peer's credit bounds
//!   (see `flow`); the link goes on reading, so control frames (SWIM,
//!   responses, credit) are never stuck behind it.

use std::collections::{HashMap, VecDeque};
use std::future::{Future, poll_fn};
use std::mem::take;
use std::pin::{Pin, pin};
use std::sync::atomic::Ordering;
use std::task::Poll;

use kiln::actor;
use kiln_rt::access::ThreadLocal;
use kiln_rt::net::TcpStream;
use kiln_rt::timer::Timer;
use log::{debug, warn};

use crate::frame::{self, Entry, Frame, RpcFailure};
use crate::link::error::LinkError;
use crate::link::flow::{Credit, Grant};
use crate::link::io::RECV_SIZE;
use crate::link::session::Session;
use crate::link::state::Link;
use crate::link::yield_now::{BUDGET, yield_now};
use crate::lock::lock;
use crate::msg::{Control, LinkMsg};
use crate::registry::RemoteEntry;
use crate::shared::Shared;

/// Bytes waiting for the socket above which the link stops taking
/// messages from its inbox.
pub(super) const HIGH_WATER: usize = 256 * 1024;

/// What woke the loop.
enum Event {
    Received(std::io::Result<Vec<u8>>),
    Sent(std::io::Result<Vec<u8>>),
    Delivered(Result<(), RpcFailure>),
    /// The response at that index of `responding` is ready.
    Responded(usize, Result<Vec<u8>, RpcFailure>),
    Message(LinkMsg),
    Stalled,
}

/// Runs the established link until it closes; see the [module
/// docs](self).
pub(super) async fn run(
    ctx: &mut actor::Context<LinkMsg, ThreadLocal>,
    shared: &Shared,
    control: &Control,
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
        responding: Vec::new(),
        delivering: None,
        backlog: VecDeque::new(),
        backlog_bytes: 0,
        credit: Credit::new(),
        grant: Grant::default(),
        held: None,
        targets: HashMap::new(),
        generation: u64::MAX,
        told: HashMap::new(),
        closing: false,
    };
    let limit = shared.config.max_frame;
    let stall_timeout = shared.config.stall_timeout;

    let mut recv = pin!(None);
    let mut send = pin!(None);
    let mut stall: Option<Timer<ThreadLocal>> = None;
    // While a message waits for credit: the timer, and the grants seen.
    let mut starved: Option<(Timer<ThreadLocal>, u64)> = None;
    let mut spare_out = Vec::new();
    let mut spare_in = Vec::with_capacity(RECV_SIZE);
    // Bytes that came with the peer's `Hello`.
    link.process_input(session, limit)?;
    let mut budget = BUDGET;
    loop {
        budget -= 1;
        if budget == 0 {
            budget = BUDGET;
            yield_now().await;
        }
        control.drain_into(&mut session.output);
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
        if let Some(msg) = link.held.take() {
            link.handle(msg, session, limit)?;
        }
        // A message waiting for credit: the peer must grant some within
        // the stall timeout, or it stopped reading.
        let grants = link.credit.grants();
        match (&link.held, &starved) {
            (None, _) => starved = None,
            (Some(_), Some((_, seen))) if *seen == grants => {}
            (Some(_), _) => starved = Some((Timer::after(link.rt.clone(), stall_timeout), grants)),
        }
        if recv.is_none() && !session.closed {
            let mut buf = take(&mut spare_in);
            buf.clear();
            buf.reserve(RECV_SIZE);
            recv.set(Some(stream.recv(buf)));
        }
        let take_messages =
            link.held.is_none() && session.output.len() < HIGH_WATER && !link.closing;
        let event = poll_fn(|cx| {
            if let Some(delivering) = link.delivering.as_mut()
                && let Poll::Ready(result) = delivering.as_mut().poll(cx)
            {
                return Poll::Ready(Event::Delivered(result));
            }
            for (index, (_, response)) in link.responding.iter_mut().enumerate() {
                if let Poll::Ready(result) = response.as_mut().poll(cx) {
                    return Poll::Ready(Event::Responded(index, result));
                }
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
            if let Some((timer, _)) = starved.as_mut()
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
                link.drain_backlog(session, limit)?;
            }
            Event::Responded(index, result) => {
                let (id, _) = link.responding.swap_remove(index);
                link.handle(LinkMsg::Respond { id, result }, session, limit)?;
            }
            Event::Message(msg) => {
                link.handle(msg, session, limit)?;
                // More at once: one TLS record and one send for a burst.
                while link.held.is_none() && session.output.len() < HIGH_WATER && !link.closing {
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
            LinkMsg::Frame(frame) => {
                if !self.credit.take(frame.len()) {
                    self.held = Some(LinkMsg::Frame(frame));
                    return Ok(());
                }
                session.output.extend_from_slice(&frame);
            }
            LinkMsg::Request { id, frame, reply } => {
                if !self.credit.take(frame.len()) {
                    self.held = Some(LinkMsg::Request { id, frame, reply });
                    return Ok(());
                }
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
            LinkMsg::Wake => {} // The loop looks at the shared state every turn.
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
}
