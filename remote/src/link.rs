//! Links: one connection to another node, run by one thread-local actor
//! of the node's worker.
//!
//! A link actor connects (or takes an accepted connection), runs the TLS
//! handshake, exchanges [`Hello`](crate::frame::Hello)s (`handshake`),
//! asks the node actor whether to keep it (one link per pair of nodes, see
//! `node::actor`: the node with the smaller name decides and sends
//! `Accept`, the other waits for it in `handshake` before it asks), and
//! then moves frames both ways until the connection
//! ends (`run`, with `inbound` for the frames from the peer): messages and
//! requests from this node's references arrive in its inbox (bounded: the
//! per-peer send queue) and go out; frames from the peer are delivered to
//! local actors in the order they came.
//!
//! A link that ends, for any reason, is forgotten with the peer's registry
//! entries; the requests waiting on it fail and the watches through it are
//! told (`Shared::link_lost`), and the node actor decides whether to
//! connect again.
//!
//! The files import one way: this one uses `handshake` and `run`; `run`
//! drives the loop over `state` (the link's fields), `inbound`, `flow`,
//! `io` and `session`; `error` is below them all.

use std::sync::Arc;

use kiln::actor;
use kiln_rt::access::ThreadLocal;
use log::{debug, info, warn};

use crate::link::error::LinkError;
use crate::msg::{Control, LinkHandle, LinkMsg, LinkUp, NodeMessage, NodeMsg, Peer};
use crate::shared::Shared;

mod error;
mod flow;
mod handshake;
mod inbound;
mod io;
mod run;
mod session;
mod state;
mod yield_now;

pub(crate) use handshake::{Direction, decides};

/// The link actor; see the [module documentation](self).
pub(crate) async fn link_actor(
    mut ctx: actor::Context<LinkMsg, ThreadLocal>,
    shared: Arc<Shared>,
    direction: Direction,
) {
    let (outbound, inbound) = match &direction {
        Direction::Outbound { address, .. } => (Some(*address), None),
        Direction::Inbound(_, from) => (None, Some(*from)),
    };
    let rt = ctx.runtime().clone();
    let established = handshake::establish(&rt, &shared, direction).await;
    let (stream, mut session, peer) = match established {
        Ok(established) => established,
        Err(err) => {
            match (&err, outbound) {
                (LinkError::SelfConnect, _) => debug!("not linking to this node itself"),
                (LinkError::NotKept, _) => debug!("link not kept: {err}"),
                (_, Some(address)) => debug!("can't link to {address}: {err}"),
                (_, None) => warn!(
                    "refused a link from {}: {err}",
                    inbound.map_or_else(String::new, |from| from.to_string())
                ),
            }
            if let (Some(address), Some(node)) = (outbound, shared.node_ref.get()) {
                let self_connect = matches!(err, LinkError::SelfConnect);
                let _ = node
                    .send(NodeMessage(NodeMsg::ConnectFailed {
                        address,
                        self_connect,
                    }))
                    .await;
            }
            return;
        }
    };

    let Some(node) = shared.node_ref.get().cloned() else {
        return;
    };
    let link_ref = ctx.actor_ref();
    let control = Arc::new(Control::default());
    let up = LinkUp {
        peer: peer.clone(),
        link: LinkHandle {
            actor: link_ref.clone(),
            control: control.clone(),
        },
    };
    let kept = matches!(node.rpc(up).await, Ok(true));
    // The deciding node's word goes first, before any frame the link's
    // loop sends.
    let decider = decides(shared.name(), &peer.name);
    let accepted =
        kept && (!decider || handshake::accept(&mut session, shared.config.max_frame).is_ok());
    if !accepted {
        debug!(
            "link to node '{}' not kept: another link to it is",
            peer.name
        );
        session.close();
        let _ = io::flush(&stream, &mut session).await;
        if kept {
            // In the node's table: take it out again.
            link_gone(&shared, &node, peer, link_ref).await;
        } else if let Some(address) = outbound {
            // The dial ended without a link of its own.
            let _ = node
                .send(NodeMessage(NodeMsg::ConnectFailed {
                    address,
                    self_connect: false,
                }))
                .await;
        }
        return;
    }
    info!(
        "linked to node '{}' at {} ({})",
        peer.name,
        peer.listen,
        if shared.tls.is_some() {
            "mutual TLS"
        } else {
            "plaintext"
        }
    );
    let result = run::run(
        &mut ctx,
        &shared,
        &control,
        &stream,
        &mut session,
        &peer.name,
    )
    .await;
    match &result {
        Ok(()) => info!("link to node '{}' closed", peer.name),
        Err(err) => warn!("link to node '{}' failed: {err}", peer.name),
    }
    link_gone(&shared, &node, peer, link_ref).await;
}

/// The kept link `link` to `peer` has ended: forgets it and tells the node
/// actor, if it was still the established one.
async fn link_gone(
    shared: &Shared,
    node: &kiln::ActorRef<NodeMessage>,
    peer: Peer,
    link: kiln::ActorRef<LinkMsg>,
) {
    if shared.link_lost(&peer.name, &link) {
        let _ = node
            .send(NodeMessage(NodeMsg::LinkDown { peer, link }))
            .await;
    }
}
