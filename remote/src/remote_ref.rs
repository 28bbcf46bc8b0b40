//! [`RemoteRef`]: a reference to an actor registered on some node of the
//! cluster, that sends like a local `ActorRef`.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use kiln::ActorRef;
use kiln::actor_ref::SendError as LocalSendError;
use kiln_inbox::oneshot;

use crate::Message;
use crate::error::{RpcError, SendError};
use crate::frame::{self, Frame};
use crate::lock::lock;
use crate::msg::LinkMsg;
use crate::registry::{Delivery, LocalTarget};
use crate::shared::Shared;

/// A reference to an actor registered (with
/// [`Node::register`](crate::Node::register)) on a node of the cluster,
/// from [`Node::lookup`](crate::Node::lookup). It sends like an
/// [`ActorRef`]: [`try_send`](RemoteRef::try_send) never waits,
/// [`send`](RemoteRef::send) waits for room, [`rpc`](RemoteRef::rpc)
/// waits for the response; errors say why and give the message back.
///
/// # Guarantees
///
/// - **At most once.** A message is delivered once or not at all: a link
///   that fails loses what it had not delivered, and nothing is sent again.
/// - **Order.** Messages from one sender (one thread or actor) to one
///   target arrive in the order they were sent, as long as the link lives.
/// - **Bounded.** The messages for one node wait in a queue of
///   [`Config::with_send_queue`](crate::Config::with_send_queue) messages;
///   `try_send` fails with [`SendError::Full`] when it is full.
/// - **Visible failure.** Without a link to the node, sends fail with
///   [`SendError::Unreachable`] and calls with [`RpcError::NotSent`]; a
///   call whose link fails before the response ends with
///   [`RpcError::ConnectionLost`].
///
/// An actor registered on this node is reached through the same encoding,
/// so a message means the same wherever its actor runs.
pub struct RemoteRef<M> {
    shared: Arc<Shared>,
    name: Arc<str>,
    target: Target,
    _message: PhantomData<fn(M)>,
}

enum Target {
    Local(Arc<dyn LocalTarget>),
    Remote {
        node: Arc<str>,
        response_type: Option<Arc<str>>,
        /// The link last used; looked up again when it has ended.
        link: Mutex<Option<ActorRef<LinkMsg>>>,
    },
}

impl<M: Message> RemoteRef<M> {
    pub(crate) fn local(shared: Arc<Shared>, name: &str, target: Arc<dyn LocalTarget>) -> Self {
        RemoteRef {
            shared,
            name: name.into(),
            target: Target::Local(target),
            _message: PhantomData,
        }
    }

    pub(crate) fn remote(
        shared: Arc<Shared>,
        name: &str,
        node: &str,
        response_type: Option<&str>,
    ) -> Self {
        let link = shared.link(node);
        RemoteRef {
            shared,
            name: name.into(),
            target: Target::Remote {
                node: node.into(),
                response_type: response_type.map(Into::into),
                link: Mutex::new(link),
            },
            _message: PhantomData,
        }
    }

    /// Sends `msg` without waiting; see [`SendError`] for why it may not.
    pub fn try_send(&self, msg: M) -> Result<(), SendError<M>> {
        match &self.target {
            Target::Local(target) => match deliver_local(&**target, &msg) {
                Some((Delivery::Done, _)) => Ok(()),
                // Dropping the wait drops the decoded copy.
                Some((Delivery::Wait(_), _)) => Err(SendError::Full(msg)),
                Some((Delivery::Stopped, _)) => Err(SendError::Stopped(msg)),
                Some((Delivery::Malformed, _)) | None => Err(SendError::Unencodable(msg)),
            },
            Target::Remote { .. } => {
                let Some(frame) = self.message_frame(&msg) else {
                    return Err(SendError::Unencodable(msg));
                };
                let mut frame = LinkMsg::Frame(frame);
                for _ in 0..2 {
                    let Some(link) = self.link() else { break };
                    match link.try_send(frame) {
                        Ok(()) => return Ok(()),
                        Err(LocalSendError::Full(_)) => return Err(SendError::Full(msg)),
                        Err(err) => match err.into_inner() {
                            // The link ended: look for a new one once.
                            Some(back) => {
                                self.forget_link(&link);
                                frame = back;
                            }
                            None => break,
                        },
                    }
                }
                Err(SendError::Unreachable(msg))
            }
        }
    }

    /// Sends `msg`, waiting while the send queue (or the local inbox) is
    /// full.
    pub async fn send(&self, msg: M) -> Result<(), SendError<M>> {
        match &self.target {
            Target::Local(target) => match deliver_local(&**target, &msg) {
                Some((Delivery::Done, _)) => Ok(()),
                Some((Delivery::Wait(wait), _)) => wait.await.map_err(|_| SendError::Stopped(msg)),
                Some((Delivery::Stopped, _)) => Err(SendError::Stopped(msg)),
                Some((Delivery::Malformed, _)) | None => Err(SendError::Unencodable(msg)),
            },
            Target::Remote { .. } => {
                let Some(frame) = self.message_frame(&msg) else {
                    return Err(SendError::Unencodable(msg));
                };
                match self.send_to_link(LinkMsg::Frame(frame)).await {
                    Ok(()) => Ok(()),
                    Err(()) => Err(SendError::Unreachable(msg)),
                }
            }
        }
    }

    /// Sends `request` to an actor registered with
    /// [`Node::register_rpc`](crate::Node::register_rpc) and waits for its
    /// response of type `Res`.
    ///
    /// Waits while the send queue is full. Put a time limit on it with
    /// `kiln_rt::timer::Deadline` (the error converts into
    /// [`RpcError::Timeout`]); without one it still ends when the link to
    /// the node is lost.
    pub async fn rpc<Res: Message>(&self, request: M) -> Result<Res, RpcError> {
        let bytes = match &self.target {
            Target::Local(target) => {
                if target.response_type() != Some(Res::NAME) {
                    return Err(RpcError::WrongType);
                }
                let (delivery, response) =
                    deliver_local(&**target, &request).ok_or(RpcError::NotSent)?;
                match delivery {
                    Delivery::Done => {}
                    Delivery::Wait(wait) => wait.await.map_err(RpcError::Failed)?,
                    Delivery::Stopped => return Err(RpcError::Failed(frame::RpcFailure::Stopped)),
                    Delivery::Malformed => return Err(RpcError::NotSent),
                }
                let response = response.ok_or(RpcError::WrongType)?;
                response.await.map_err(RpcError::Failed)?
            }
            Target::Remote { response_type, .. } => {
                if response_type.as_deref() != Some(Res::NAME) {
                    return Err(RpcError::WrongType);
                }
                let id = self.shared.next_id();
                let payload = postcard::to_stdvec(&request).map_err(|_| RpcError::NotSent)?;
                let frame = Frame::Request {
                    id,
                    target: &self.name,
                    message_type: M::NAME,
                    response_type: Res::NAME,
                    payload: &payload,
                };
                let frame = frame::encode(&frame, self.shared.config.max_frame)
                    .map_err(|_| RpcError::NotSent)?;
                let (reply, mut response) = oneshot::new();
                self.send_to_link(LinkMsg::Request { id, frame, reply })
                    .await
                    .map_err(|()| RpcError::NotSent)?;
                match response.recv().await {
                    Some(Ok(bytes)) => bytes,
                    Some(Err(failure)) => return Err(RpcError::Failed(failure)),
                    None => return Err(RpcError::ConnectionLost),
                }
            }
        };
        postcard::from_bytes(&bytes).map_err(|_| RpcError::Malformed)
    }

    /// The encoded `Message` frame of `msg`.
    fn message_frame(&self, msg: &M) -> Option<Vec<u8>> {
        let payload = postcard::to_stdvec(msg).ok()?;
        let frame = Frame::Message {
            target: &self.name,
            message_type: M::NAME,
            payload: &payload,
        };
        frame::encode(&frame, self.shared.config.max_frame).ok()
    }
}

impl<M> RemoteRef<M> {
    /// The name the actor is registered under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node the actor runs on.
    pub fn node(&self) -> &str {
        match &self.target {
            Target::Local(_) => self.shared.name(),
            Target::Remote { node, .. } => node,
        }
    }

    /// The link to the actor's node: the one used last, or the current one.
    fn link(&self) -> Option<ActorRef<LinkMsg>> {
        let Target::Remote { node, link, .. } = &self.target else {
            return None;
        };
        let mut cached = lock(link);
        if let Some(link) = cached.as_ref().filter(|link| link.is_connected()) {
            return Some(link.clone());
        }
        *cached = self.shared.link(node);
        cached.clone()
    }

    /// Sends `msg` on the link to the actor's node, waiting for room; if
    /// that link ended, once more on the current one. Fails without a link.
    async fn send_to_link(&self, mut msg: LinkMsg) -> Result<(), ()> {
        for _ in 0..2 {
            let Some(link) = self.link() else { break };
            match link.send(msg).await {
                Ok(()) => return Ok(()),
                Err(err) => match err.into_inner() {
                    Some(back) => {
                        self.forget_link(&link);
                        msg = back;
                    }
                    None => break,
                },
            }
        }
        Err(())
    }

    /// Forgets `ended`, a link that ended, if it is the one cached.
    fn forget_link(&self, ended: &ActorRef<LinkMsg>) {
        if let Target::Remote { link, .. } = &self.target {
            let mut cached = lock(link);
            if cached.as_ref().is_some_and(|link| link.sends_to(ended)) {
                *cached = None;
            }
        }
    }
}

/// Encodes `msg` and delivers it to the local actor `target`, as a frame
/// from another node would be; `None` if it does not encode.
fn deliver_local<M: Message>(
    target: &dyn LocalTarget,
    msg: &M,
) -> Option<(Delivery, Option<crate::registry::Response>)> {
    let payload = postcard::to_stdvec(msg).ok()?;
    Some(target.deliver(&payload))
}

impl<M> Clone for RemoteRef<M> {
    fn clone(&self) -> Self {
        let target = match &self.target {
            Target::Local(target) => Target::Local(target.clone()),
            Target::Remote {
                node,
                response_type,
                link,
            } => Target::Remote {
                node: node.clone(),
                response_type: response_type.clone(),
                link: Mutex::new(lock(link).clone()),
            },
        };
        RemoteRef {
            shared: self.shared.clone(),
            name: self.name.clone(),
            target,
            _message: PhantomData,
        }
    }
}

impl<M> fmt::Debug for RemoteRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node = match &self.target {
            Target::Local(_) => self.shared.name(),
            Target::Remote { node, .. } => node,
        };
        f.debug_struct("RemoteRef")
            .field("name", &self.name)
            .field("node", &node)
            .finish()
    }
}
