//! [`Node`]: this process's place in a cluster.

use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use kiln::ActorRef;
use kiln::actor_ref::rpc::RpcMessage;
use log::warn;

use crate::Message;
use crate::config::Config;
use crate::error::{LookupError, RegisterError, StartError};
use crate::event::{MemberEvent, WatchEvent};
use crate::frame::{self, Frame};
use crate::lock::lock;
use crate::msg::{NodeMessage, NodeMsg};
use crate::registry::{Answering, LocalTarget, OneWay};
use crate::remote_ref::RemoteRef;
use crate::shared::{Shared, Watch};
use crate::tls::Security;

pub(crate) mod actor;
mod host;

pub use host::Host;

/// A node of a cluster: started on a kiln runtime with [`Node::start`], it
/// links to the other nodes, keeps the cluster's registry, and gives
/// [`RemoteRef`]s to actors anywhere in the cluster.
///
/// `Node` is a cheap handle (`Clone`, `Send`, `Sync`); the node runs as
/// thread-local actors of one worker until [`Node::stop`].
#[derive(Clone)]
pub struct Node {
    shared: Arc<Shared>,
}

impl Node {
    /// Starts a node on `host`: a [`Runtime`](kiln_rt::Runtime) that has
    /// not started yet (the node runs on its first worker), or a worker (a
    /// `RuntimeRef`, or a thread-local actor's `ThreadLocal`). Checks the
    /// configuration and the TLS identity, binds the listening address, and
    /// starts joining the seeds.
    ///
    /// The node's actors (one per link, and one that listens and runs
    /// membership) are thread-local actors of that worker, so their socket
    /// I/O goes straight to its ring; any thread sends through the node.
    ///
    /// With [`Security::InsecurePlaintext`] it logs a warning.
    pub fn start<H: Host + ?Sized>(host: &mut H, config: Config) -> Result<Node, StartError> {
        config.check().map_err(StartError::new)?;
        let tls = match &config.security {
            Security::MutualTls(identity) => {
                identity
                    .check_own_name(&config.name)
                    .map_err(|err| StartError::with_source("bad TLS identity", err))?;
                Some(
                    identity
                        .configs()
                        .map_err(|err| StartError::with_source("bad TLS identity", err))?,
                )
            }
            Security::InsecurePlaintext => None,
        };
        let incarnation = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |since| {
                u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
            });
        let shared = Arc::new(Shared::new(config, tls, incarnation));
        host.start_node(shared.clone())?;
        if shared.tls.is_none() {
            warn!(
                "node '{}': links are NOT encrypted or authenticated (Security::InsecurePlaintext): \
                 anyone who can reach {} can join the cluster and read and send messages",
                shared.name(),
                shared.listen()
            );
        }
        Ok(Node { shared })
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        self.shared.name()
    }

    /// The cluster's name.
    pub fn cluster(&self) -> &str {
        &self.shared.config.cluster
    }

    /// The address the node listens on (with the port resolved).
    pub fn address(&self) -> SocketAddr {
        self.shared.listen()
    }

    /// The live members of the cluster as membership sees them, by name,
    /// this node excluded.
    pub fn members(&self) -> Vec<(String, SocketAddr)> {
        lock(&self.shared.members)
            .iter()
            .map(|(name, &address)| (name.clone(), address))
            .collect()
    }

    /// The nodes this node has a link to, sorted by name.
    pub fn linked_nodes(&self) -> Vec<String> {
        let mut nodes: Vec<String> = lock(&self.shared.links)
            .keys()
            .map(|name| name.to_string())
            .collect();
        nodes.sort();
        nodes
    }

    /// Registers `actor_ref` as `name` for the cluster: other nodes can
    /// look it up and send it messages of type `M`. Fails if this node
    /// registered `name` already.
    ///
    /// A registration ends with [`unregister`](Node::unregister), or when
    /// the actor stops; the other nodes forget it then. The registry holds
    /// a reference to the actor: an actor that stops once no reference is
    /// left stops only after it is unregistered.
    pub fn register<M: Message>(
        &self,
        name: &str,
        actor_ref: ActorRef<M>,
    ) -> Result<(), RegisterError> {
        self.add(name, Arc::new(OneWay { actor_ref }))
    }

    /// Registers `actor_ref` as `name` for requests of type `Req` answered
    /// with `Res` ([`RemoteRef::rpc`]); the actor receives them as
    /// [`RpcMessage`]s (its message type converts from them, e.g. with
    /// `kiln::from_message!`).
    pub fn register_rpc<Req, Res, A>(
        &self,
        name: &str,
        actor_ref: ActorRef<A>,
    ) -> Result<(), RegisterError>
    where
        Req: Message,
        Res: Message,
        A: From<RpcMessage<Req, Res>> + Send + 'static,
    {
        self.add(
            name,
            Arc::new(Answering {
                actor_ref,
                _types: PhantomData,
            }),
        )
    }

    fn add(&self, name: &str, target: Arc<dyn LocalTarget>) -> Result<(), RegisterError> {
        if name.is_empty() || name.len() > 255 {
            return Err(RegisterError::BadName(name.to_owned()));
        }
        {
            let mut registry = lock(&self.shared.registry);
            match registry.local.get(name) {
                // A stopped actor's name is free again.
                Some(existing) if existing.is_connected() => {
                    return Err(RegisterError::Taken(name.to_owned()));
                }
                _ => {}
            }
            registry.local.insert(name.into(), target.clone());
        }
        self.shared.registry_changed();
        // The entry goes when the actor stops.
        let stopped = target.stopped();
        let shared = Arc::downgrade(&self.shared);
        let name = name.to_owned();
        let forget = Box::pin(async move {
            stopped.await;
            if let Some(shared) = shared.upgrade() {
                shared.unregister_if(&name, &target);
            }
        });
        if let Some(node) = self.shared.node_ref.get() {
            let _ = node.try_send(NodeMessage(NodeMsg::Spawn(forget)));
        }
        Ok(())
    }

    /// Removes this node's registration of `name`; returns whether there
    /// was one.
    pub fn unregister(&self, name: &str) -> bool {
        let removed = lock(&self.shared.registry).local.remove(name).is_some();
        if removed {
            self.shared.registry_changed();
        }
        removed
    }

    /// A reference to the actor registered as `name` on any node of the
    /// cluster (this one first), if it takes messages of type `M`.
    ///
    /// The registry is replicated to every node as links come up, so a name
    /// registered a moment ago on another node may not be found yet; and it
    /// is found no more once its node is declared dead or its link lost.
    pub fn lookup<M: Message>(&self, name: &str) -> Result<RemoteRef<M>, LookupError> {
        let registry = lock(&self.shared.registry);
        if let Some(target) = registry
            .local
            .get(name)
            .filter(|target| target.is_connected())
        {
            check_type::<M>(name, target.message_type())?;
            return Ok(RemoteRef::local(self.shared.clone(), name, target.clone()));
        }
        let (node, entry) = registry
            .find_remote(name)
            .ok_or_else(|| LookupError::NotFound(name.to_owned()))?;
        check_type::<M>(name, &entry.message_type)?;
        Ok(RemoteRef::remote(
            self.shared.clone(),
            name,
            node,
            entry.response_type.as_deref(),
        ))
    }

    /// Tells `subscriber` when members come up or go down; first an `Up`
    /// for each live member.
    pub fn subscribe(&self, subscriber: ActorRef<MemberEvent>) {
        for (node, address) in self.members() {
            let _ = subscriber.try_send(MemberEvent::Up { node, address });
        }
        lock(&self.shared.subscribers).push(subscriber);
    }

    /// Tells `watcher` when the actor of `remote` stops, or its node is
    /// declared dead, or the link to it is lost (see [`WatchEvent`]): one
    /// event per watch.
    pub fn watch<M>(&self, remote: &RemoteRef<M>, watcher: ActorRef<WatchEvent>) {
        let name = remote.name().to_owned();
        let node = remote.node();
        if node == self.name() {
            // On this node: no link involved.
            let target = lock(&self.shared.registry)
                .local
                .get(name.as_str())
                .cloned();
            match target {
                Some(target) if target.is_connected() => {
                    let stopped = target.stopped();
                    let notify = Box::pin(async move {
                        stopped.await;
                        let _ = watcher.try_send(WatchEvent::Stopped(name));
                    });
                    if let Some(node) = self.shared.node_ref.get() {
                        let _ = node.try_send(NodeMessage(NodeMsg::Spawn(notify)));
                    }
                }
                _ => {
                    let _ = watcher.try_send(WatchEvent::Stopped(name));
                }
            }
            return;
        }
        let watch = self.shared.next_id();
        let frame = Frame::Watch { watch, name: &name };
        let Ok(frame) = frame::encode(&frame, self.shared.config.max_frame) else {
            let _ = watcher.try_send(WatchEvent::ConnectionLost(name));
            return;
        };
        lock(&self.shared.watches).insert(
            watch,
            Watch {
                node: node.into(),
                name: name.clone(),
                watcher: watcher.clone(),
            },
        );
        if !self.shared.send_control(node, frame) {
            lock(&self.shared.watches).remove(&watch);
            let _ = watcher.try_send(WatchEvent::ConnectionLost(name));
        }
    }

    /// Leaves the cluster (telling the members, so they need not wait for
    /// the failure detector), closes the links and stops listening. The
    /// node's actors end, and with them the runtime if nothing else runs.
    pub fn stop(&self) {
        if let Some(node) = self.shared.node_ref.get() {
            let _ = node.try_send(NodeMessage(NodeMsg::Stop));
        }
    }
}

/// Checks that a registration of `registered` takes `M`.
fn check_type<M: Message>(name: &str, registered: &str) -> Result<(), LookupError> {
    if registered == M::NAME {
        Ok(())
    } else {
        Err(LookupError::WrongType {
            name: name.to_owned(),
            registered: registered.to_owned(),
            asked: M::NAME,
        })
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("cluster", &self.shared.config.cluster)
            .field("name", &self.shared.config.name)
            .field("address", &self.shared.listen())
            .finish()
    }
}
