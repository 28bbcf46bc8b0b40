//! Events a node sends to actors: members coming and going
//! ([`MemberEvent`], see [`Node::subscribe`](crate::Node::subscribe)) and
//! watched remote actors ending ([`WatchEvent`], see
//! [`Node::watch`](crate::Node::watch)).

use std::net::SocketAddr;

/// A node joined or left the cluster, as this node's membership (SWIM)
/// sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberEvent {
    /// The node is a live member.
    Up {
        /// Its name.
        node: String,
        /// Where it listens for links.
        address: SocketAddr,
    },
    /// The node was declared dead (it failed its probes and the
    /// suspicion timeout passed), or left.
    Down {
        /// Its name.
        node: String,
    },
}

/// What became of a watched remote actor. Each watch ends with exactly one
/// event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// The actor stopped, or was not there when the watch arrived.
    Stopped(String),
    /// Its node was declared dead.
    NodeDown(String),
    /// The link to its node was lost, so its fate can't be known (Erlang's
    /// `noconnection`): watch it again once the node is back.
    ConnectionLost(String),
}

impl WatchEvent {
    /// The registered name of the watched actor.
    pub fn name(&self) -> &str {
        match self {
            WatchEvent::Stopped(name)
            | WatchEvent::NodeDown(name)
            | WatchEvent::ConnectionLost(name) => name,
        }
    }
}
