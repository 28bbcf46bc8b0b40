//! The messages the node's actors exchange: what a link actor receives
//! ([`LinkMsg`]), what the node actor receives ([`NodeMsg`]), and what
//! they tell each other about a link. Below the actors, so that they import
//! it and not each other.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use kiln::ActorRef;
use kiln::actor_ref::rpc::RpcMessage;
use kiln::from_message;
use kiln_inbox::oneshot;

use crate::frame::RpcFailure;
use crate::lock::lock;
use crate::registry::BoxFuture;

/// What a link actor receives.
pub(crate) enum LinkMsg {
    /// An encoded frame to send.
    Frame(Vec<u8>),
    /// An encoded request to send; its response goes to `reply` (dropped
    /// if the link ends first).
    Request {
        id: u64,
        frame: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, RpcFailure>>,
    },
    /// The response of a local actor to a request from the peer.
    Respond {
        id: u64,
        result: Result<Vec<u8>, RpcFailure>,
    },
    /// A local actor the peer watches has stopped.
    Stopped { watch: u64 },
    /// Look at the shared state: the registry or the control queue
    /// changed.
    Wake,
    /// End the link.
    Close,
}

impl fmt::Debug for LinkMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkMsg::Frame(frame) => write!(f, "Frame({} bytes)", frame.len()),
            LinkMsg::Request { id, .. } => write!(f, "Request({id})"),
            LinkMsg::Respond { id, .. } => write!(f, "Respond({id})"),
            LinkMsg::Stopped { watch } => write!(f, "Stopped({watch})"),
            LinkMsg::Wake => f.write_str("Wake"),
            LinkMsg::Close => f.write_str("Close"),
        }
    }
}

/// The peer of an established link, from its `Hello`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Peer {
    pub(crate) name: String,
    pub(crate) incarnation: u64,
    pub(crate) listen: SocketAddr,
}

/// An established link as the node's references see it.
#[derive(Clone, Debug)]
pub(crate) struct LinkHandle {
    /// The link actor: its inbox is the per-peer send queue.
    pub(crate) actor: ActorRef<LinkMsg>,
    /// Frames that go ahead of the queue.
    pub(crate) control: Arc<Control>,
}

/// The frames a link sends ahead of its queued messages: membership
/// (SWIM) packets, which must not wait behind a full send queue, or a busy
/// link would make its node look dead. Bounded: the oldest go first, like
/// datagrams.
#[derive(Debug, Default)]
pub(crate) struct Control {
    frames: Mutex<VecDeque<Vec<u8>>>,
}

impl Control {
    /// The most frames waiting.
    const LIMIT: usize = 256;

    pub(crate) fn push(&self, frame: Vec<u8>) {
        let mut frames = lock(&self.frames);
        if frames.len() == Self::LIMIT {
            frames.pop_front();
        }
        frames.push_back(frame);
    }

    /// Appends the waiting frames to `out`.
    pub(crate) fn drain_into(&self, out: &mut Vec<u8>) {
        let mut frames = lock(&self.frames);
        for frame in frames.drain(..) {
            out.extend_from_slice(&frame);
        }
    }
}

/// A message for the node actor. Opaque: only kiln-remote sends them.
pub(crate) struct NodeMessage(pub(crate) NodeMsg);

impl fmt::Debug for NodeMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NodeMessage")
    }
}

/// What the node actor receives.
pub(crate) enum NodeMsg {
    /// A link is established: may it stay?
    LinkUp(RpcMessage<LinkUp, bool>),
    /// An established link that stayed has ended.
    LinkDown { peer: Peer, link: ActorRef<LinkMsg> },
    /// An outbound link failed before it was established.
    ConnectFailed {
        address: SocketAddr,
        self_connect: bool,
    },
    /// Membership data from a peer.
    Swim(Vec<u8>),
    /// A future to run on the node's runtime (watching a local actor).
    Spawn(BoxFuture<()>),
    /// Leave the cluster and stop.
    Stop,
}

from_message!(NodeMsg::LinkUp(LinkUp) -> bool);

impl From<NodeMsg> for NodeMessage {
    fn from(msg: NodeMsg) -> NodeMessage {
        NodeMessage(msg)
    }
}

impl From<RpcMessage<LinkUp, bool>> for NodeMessage {
    fn from(msg: RpcMessage<LinkUp, bool>) -> NodeMessage {
        NodeMessage(NodeMsg::LinkUp(msg))
    }
}

/// An established link asking to stay.
pub(crate) struct LinkUp {
    pub(crate) peer: Peer,
    pub(crate) link: LinkHandle,
}
