//! The registry: actors registered on this node (with what delivers
//! frames to them), and the entries other nodes own.
//!
//! Each node owns its entries: only it adds or removes them, and it sends
//! them to every node it links to (a snapshot after the `Hello`, then each
//! change), over the same authenticated links as messages. A node that is
//! declared dead, or whose link is lost, takes its entries with it. Names
//! are unique per node; two nodes may register the same name, and a lookup
//! then picks the entry of the node with the smallest name, so every node
//! picks the same one.
//!
//! Why the owner tells every node itself rather than gossiping entries
//! through SWIM (foca's custom broadcasts): every pair of members has a
//! link anyway (messages need one), so one hop reaches everyone; an entry
//! has one writer, so there is nothing to merge; and an entry arrives on
//! the link its messages will use, so a node never knows an actor it has
//! no link to. Gossip would pay off for clusters too large for a full mesh
//! of links, which kiln-remote does not aim at.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kiln::ActorRef;
use kiln::actor_ref::SendError;
use kiln::actor_ref::rpc::RpcMessage;

use crate::Message;
use crate::frame::RpcFailure;

/// A boxed `Send` future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What became of a frame delivered to a local actor.
pub(crate) enum Delivery {
    /// In the actor's inbox.
    Done,
    /// The inbox is full: the future waits for room (order is kept by not
    /// reading the link meanwhile).
    Wait(BoxFuture<Result<(), RpcFailure>>),
    /// The actor has stopped.
    Stopped,
    /// The payload is not a message of the registered type.
    Malformed,
}

/// A local actor that frames are delivered to; implemented for one-way
/// actors and for actors answering requests.
pub(crate) trait LocalTarget: Send + Sync {
    /// The stable name of the message (or request) type.
    fn message_type(&self) -> &'static str;
    /// The stable name of the response type, if it answers requests.
    fn response_type(&self) -> Option<&'static str>;
    /// Decodes `payload` and puts it in the actor's inbox; for an actor
    /// answering requests, also returns the future of its encoded response.
    fn deliver(&self, payload: &[u8]) -> (Delivery, Option<Response>);
    /// Completes once the actor has stopped for good.
    fn stopped(&self) -> BoxFuture<()>;
    /// Whether the actor can still receive messages.
    fn is_connected(&self) -> bool;
}

/// The encoded response to a delivered request.
pub(crate) type Response = BoxFuture<Result<Vec<u8>, RpcFailure>>;

/// A one-way actor.
pub(crate) struct OneWay<M> {
    pub(crate) actor_ref: ActorRef<M>,
}

impl<M: Message> LocalTarget for OneWay<M> {
    fn message_type(&self) -> &'static str {
        M::NAME
    }

    fn response_type(&self) -> Option<&'static str> {
        None
    }

    fn deliver(&self, payload: &[u8]) -> (Delivery, Option<Response>) {
        let Ok(msg) = postcard::from_bytes::<M>(payload) else {
            return (Delivery::Malformed, None);
        };
        (try_deliver(&self.actor_ref, msg), None)
    }

    fn stopped(&self) -> BoxFuture<()> {
        stopped(self.actor_ref.clone())
    }

    fn is_connected(&self) -> bool {
        self.actor_ref.is_connected()
    }
}

/// An actor answering requests `Req` with `Res`; its messages are `A`.
pub(crate) struct Answering<A, Req, Res> {
    pub(crate) actor_ref: ActorRef<A>,
    pub(crate) _types: std::marker::PhantomData<fn(Req) -> Res>,
}

impl<A, Req, Res> LocalTarget for Answering<A, Req, Res>
where
    A: From<RpcMessage<Req, Res>> + Send + 'static,
    Req: Message,
    Res: Message,
{
    fn message_type(&self) -> &'static str {
        Req::NAME
    }

    fn response_type(&self) -> Option<&'static str> {
        Some(Res::NAME)
    }

    fn deliver(&self, payload: &[u8]) -> (Delivery, Option<Response>) {
        let Ok(request) = postcard::from_bytes::<Req>(payload) else {
            return (Delivery::Malformed, None);
        };
        let (msg, mut receiver) = RpcMessage::new(request);
        let delivery = try_deliver(&self.actor_ref, A::from(msg));
        let response: Response = Box::pin(async move {
            match receiver.recv().await {
                Some(response) => postcard::to_stdvec(&response).map_err(|_| RpcFailure::Malformed),
                None => Err(RpcFailure::NoResponse),
            }
        });
        (delivery, Some(response))
    }

    fn stopped(&self) -> BoxFuture<()> {
        stopped(self.actor_ref.clone())
    }

    fn is_connected(&self) -> bool {
        self.actor_ref.is_connected()
    }
}

/// Puts `msg` in the inbox of `actor_ref`, or says how to wait for room.
fn try_deliver<M: Send + 'static>(actor_ref: &ActorRef<M>, msg: M) -> Delivery {
    match actor_ref.try_send(msg) {
        Ok(()) => Delivery::Done,
        Err(SendError::Full(msg)) => {
            let actor_ref = actor_ref.clone();
            Delivery::Wait(Box::pin(async move {
                actor_ref.send(msg).await.map_err(|_| RpcFailure::Stopped)
            }))
        }
        Err(_) => Delivery::Stopped,
    }
}

/// Completes when the actor of `actor_ref` has stopped for good.
fn stopped<M: Send + 'static>(actor_ref: ActorRef<M>) -> BoxFuture<()> {
    Box::pin(async move {
        let _ = actor_ref.join().await;
    })
}

/// An entry another node owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RemoteEntry {
    pub(crate) message_type: Box<str>,
    pub(crate) response_type: Option<Box<str>>,
}

/// Every entry this node knows.
#[derive(Default)]
pub(crate) struct Registry {
    /// This node's own entries.
    pub(crate) local: HashMap<Box<str>, Arc<dyn LocalTarget>>,
    /// Other nodes' entries: name → owning node → entry. The `BTreeMap`
    /// orders the owners, so a lookup picks the same one everywhere.
    pub(crate) remote: HashMap<Box<str>, BTreeMap<Box<str>, RemoteEntry>>,
}

impl Registry {
    /// Adds or replaces `node`'s entry `name`.
    pub(crate) fn add_remote(&mut self, node: &str, name: &str, entry: RemoteEntry) {
        self.remote
            .entry(name.into())
            .or_default()
            .insert(node.into(), entry);
    }

    /// Removes `node`'s entry `name`.
    pub(crate) fn remove_remote(&mut self, node: &str, name: &str) {
        if let Some(owners) = self.remote.get_mut(name) {
            owners.remove(node);
            if owners.is_empty() {
                self.remote.remove(name);
            }
        }
    }

    /// Removes every entry of `node`; returns how many there were.
    pub(crate) fn remove_node(&mut self, node: &str) -> usize {
        let mut removed = 0;
        self.remote.retain(|_, owners| {
            removed += usize::from(owners.remove(node).is_some());
            !owners.is_empty()
        });
        removed
    }

    /// The entry of `name` another node owns: the one of the node with the
    /// smallest name if several do.
    pub(crate) fn find_remote(&self, name: &str) -> Option<(&str, &RemoteEntry)> {
        let (node, entry) = self.remote.get(name)?.iter().next()?;
        Some((node, entry))
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("local", &self.local.keys().collect::<Vec<_>>())
            .field("remote", &self.remote.keys().collect::<Vec<_>>())
            .finish()
    }
}
