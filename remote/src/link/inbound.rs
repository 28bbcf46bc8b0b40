//! The inbound half of a link: frames from the peer, delivered to local
//! actors in order (data) or handled at once (control), see `flow`.

use std::future::{Future, poll_fn};
use std::mem::take;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use kiln_rt::spawn::FutureOptions;
use log::debug;

use crate::frame::{self, Frame, RpcFailure};
use crate::link::error::LinkError;
use crate::link::flow::WINDOW;
use crate::link::session::Session;
use crate::link::state::Link;
use crate::lock::lock;
use crate::msg::LinkMsg;
use crate::msg::{NodeMessage, NodeMsg};
use crate::registry::{BoxFuture, Delivery, LocalTarget, RemoteEntry, Response};

/// Responses the link waits for itself: every wake of the link polls them
/// all, so they are few; more wait in futures of their own.
pub(super) const RESPONDING: usize = 32;

impl Link<'_> {
    /// Handles the complete frames in the session's input: control frames
    /// at once, data frames in order, into the backlog while a delivery
    /// waits (see `flow`).
    pub(super) fn process_input(
        &mut self,
        session: &mut Session,
        limit: usize,
    ) -> Result<(), LinkError> {
        let input = take(&mut session.input);
        let mut used = 0;
        let result = (|| {
            while let Some((frame, n)) = frame::decode(&input[used..], limit)? {
                let raw = &input[used..used + n];
                used += n;
                if frame.is_data() && (self.delivering.is_some() || !self.backlog.is_empty()) {
                    self.backlog_bytes += n;
                    if self.backlog_bytes > WINDOW + limit {
                        return Err(LinkError::Protocol(
                            "the peer sent more data than its credit".to_owned(),
                        ));
                    }
                    self.backlog.push_back(raw.to_vec());
                    continue;
                }
                if frame.is_data() {
                    self.grant.delivered(n);
                }
                self.receive(frame, session, limit)?;
            }
            Ok(())
        })();
        session.input = input;
        session.input.drain(..used);
        result?;
        self.grant_credit(session, limit)
    }

    /// Delivers backlogged data frames until one must wait.
    pub(super) fn drain_backlog(
        &mut self,
        session: &mut Session,
        limit: usize,
    ) -> Result<(), LinkError> {
        while self.delivering.is_none() {
            let Some(raw) = self.backlog.pop_front() else {
                break;
            };
            self.backlog_bytes -= raw.len();
            self.grant.delivered(raw.len());
            // It decoded when it arrived.
            if let Some((frame, _)) = frame::decode(&raw, limit)? {
                self.receive(frame, session, limit)?;
            }
        }
        self.grant_credit(session, limit)
    }

    /// Sends the peer the credit that is due.
    fn grant_credit(&mut self, session: &mut Session, limit: usize) -> Result<(), LinkError> {
        let idle = self.delivering.is_none() && self.backlog.is_empty();
        if let Some(bytes) = self.grant.take(idle) {
            frame::encode_into(&Frame::Credit { bytes }, &mut session.output, limit)?;
        }
        Ok(())
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
            Frame::Accept => return Err(LinkError::Protocol("a late Accept".to_owned())),
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
                                    self.respond_later(id, response);
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
            Frame::Credit { bytes } => self.credit.grant(bytes),
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

    /// Sends the response of a request once the local actor gives it: the
    /// link waits for it itself (the actor's answer wakes the link, one
    /// hop), or, with [`RESPONDING`] waiting already, a future of its own
    /// does and hands it to the link through its inbox.
    fn respond_later(&mut self, id: u64, response: Response) {
        if self.responding.len() < RESPONDING {
            self.responding.push((id, response));
        } else {
            self.spawn_response(id, response);
        }
    }

    /// Sends the response of a request through the link's inbox once the
    /// local actor gives it.
    fn spawn_response(&mut self, id: u64, response: Response) {
        let link_ref = self.link_ref.clone();
        self.rt.spawn_local_future(
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
        self.rt.spawn_local_future(
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
