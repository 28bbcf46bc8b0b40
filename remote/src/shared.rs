//! [`Shared`]: the state of a node that its handle ([`Node`](crate::Node)),
//! its references ([`RemoteRef`](crate::RemoteRef)), its node actor and its
//! link actors all reach: the configuration, the registry, the established
//! links and the watches.
//!
//! Each table has its own mutex, held for a few map operations and never
//! across an `.await` or while taking another of these locks.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use kiln::ActorRef;
use log::debug;

use crate::config::Config;
use crate::event::{MemberEvent, WatchEvent};
use crate::lock::lock;
use crate::msg::{LinkHandle, LinkMsg, NodeMessage};
use crate::registry::{LocalTarget, Registry};
use crate::tls::TlsConfigs;

/// See the [module documentation](self).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// This run of the node: larger than any earlier run's (start time in
    /// nanoseconds since the Unix epoch).
    pub(crate) incarnation: u64,
    /// `None` for plaintext links.
    pub(crate) tls: Option<TlsConfigs>,
    /// The address the node listens on (the port resolved).
    pub(crate) listen: OnceLock<SocketAddr>,
    /// The node actor.
    pub(crate) node_ref: OnceLock<ActorRef<NodeMessage>>,
    pub(crate) registry: Mutex<Registry>,
    /// Bumped on every change of this node's own entries; links compare it
    /// to what they last sent.
    pub(crate) generation: AtomicU64,
    /// The established link to each node, by node name.
    pub(crate) links: Mutex<HashMap<Box<str>, LinkHandle>>,
    /// Request and watch numbers.
    next_id: AtomicU64,
    /// Remote actors watched from this node, by watch number.
    pub(crate) watches: Mutex<HashMap<u64, Watch>>,
    /// Who is told when nodes come and go.
    pub(crate) subscribers: Mutex<Vec<ActorRef<MemberEvent>>>,
    /// The live members (this node excluded), by name.
    pub(crate) members: Mutex<BTreeMap<String, SocketAddr>>,
}

/// A remote actor watched from this node.
#[derive(Debug)]
pub(crate) struct Watch {
    /// The node it runs on.
    pub(crate) node: Box<str>,
    /// Its registered name.
    pub(crate) name: String,
    /// Who is told.
    pub(crate) watcher: ActorRef<WatchEvent>,
}

impl Shared {
    pub(crate) fn new(config: Config, tls: Option<TlsConfigs>, incarnation: u64) -> Shared {
        Shared {
            config,
            incarnation,
            tls,
            listen: OnceLock::new(),
            node_ref: OnceLock::new(),
            registry: Mutex::new(Registry::default()),
            generation: AtomicU64::new(0),
            links: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            watches: Mutex::new(HashMap::new()),
            subscribers: Mutex::new(Vec::new()),
            members: Mutex::new(BTreeMap::new()),
        }
    }

    /// The node's name.
    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    /// The address the node listens on.
    pub(crate) fn listen(&self) -> SocketAddr {
        self.listen.get().copied().unwrap_or(self.config.listen)
    }

    /// A number no other request or watch of this node has.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The established link to `node`.
    pub(crate) fn link(&self, node: &str) -> Option<ActorRef<LinkMsg>> {
        lock(&self.links)
            .get(node)
            .map(|handle| handle.actor.clone())
    }

    /// Sends `frame` to `node` ahead of its queued messages; returns
    /// whether there is a link to it.
    pub(crate) fn send_control(&self, node: &str, frame: Vec<u8>) -> bool {
        let Some(handle) = lock(&self.links).get(node).cloned() else {
            return false;
        };
        handle.control.push(frame);
        // A full inbox means the link is busy: it drains the control queue
        // on its next turn anyway.
        let _ = handle.actor.try_send(LinkMsg::Wake);
        true
    }

    /// Removes this node's entry `name` if it is still `target`.
    pub(crate) fn unregister_if(&self, name: &str, target: &Arc<dyn LocalTarget>) {
        let removed = {
            let mut registry = lock(&self.registry);
            let same = registry
                .local
                .get(name)
                .is_some_and(|current| Arc::ptr_eq(current, target));
            same && registry.local.remove(name).is_some()
        };
        if removed {
            debug!("actor '{name}' stopped; unregistered");
            self.registry_changed();
        }
    }

    /// Tells every link that this node's entries changed.
    pub(crate) fn registry_changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
        for handle in lock(&self.links).values() {
            // A full inbox means the link is busy and looks at the
            // generation on its next turn anyway.
            let _ = handle.actor.try_send(LinkMsg::Wake);
        }
    }

    /// The link to `node` is gone (`link` is the one that ended): forgets
    /// it if it is still the established one, with the node's entries, and
    /// tells the watchers of its actors. Returns whether it was.
    pub(crate) fn link_lost(&self, node: &str, link: &ActorRef<LinkMsg>) -> bool {
        {
            let mut links = lock(&self.links);
            match links.get(node) {
                Some(current) if current.actor.sends_to(link) => {
                    links.remove(node);
                }
                _ => return false,
            }
        }
        let removed = lock(&self.registry).remove_node(node);
        debug!("link to node '{node}' lost; {removed} registry entries removed");
        self.fail_watches(node, WatchEvent::ConnectionLost);
        true
    }

    /// Tells the watchers of `node`'s actors that the node is gone.
    pub(crate) fn fail_watches(&self, node: &str, why: fn(String) -> WatchEvent) {
        let failed: Vec<Watch> = {
            let mut watches = lock(&self.watches);
            let ids: Vec<u64> = watches
                .iter()
                .filter(|(_, watch)| &*watch.node == node)
                .map(|(&id, _)| id)
                .collect();
            ids.into_iter()
                .filter_map(|id| watches.remove(&id))
                .collect()
        };
        for watch in failed {
            let _ = watch.watcher.try_send(why(watch.name));
        }
    }

    /// Tells every subscriber about `event`; forgets those that stopped.
    pub(crate) fn publish(&self, event: &MemberEvent) {
        lock(&self.subscribers).retain(|subscriber| {
            !matches!(
                subscriber.try_send(event.clone()),
                Err(kiln::actor_ref::SendError::Disconnected(_))
            )
        });
    }
}
