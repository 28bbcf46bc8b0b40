//! [`Link`]: the state of an established link besides the socket and the
//! session, which the loop (`run`, frames out) and `inbound` (frames in)
//! both work on.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use kiln_inbox::oneshot;
use kiln_rt::access::ThreadLocal;

use crate::frame::RpcFailure;
use crate::link::flow::{Credit, Grant};
use crate::msg::LinkMsg;
use crate::registry::{BoxFuture, LocalTarget, RemoteEntry, Response};
use crate::shared::Shared;

/// The state of an established link besides the socket and the session.
pub(super) struct Link<'a> {
    pub(super) shared: &'a Shared,
    pub(super) rt: ThreadLocal,
    /// The peer's node name.
    pub(super) peer: &'a str,
    pub(super) link_ref: kiln::ActorRef<LinkMsg>,
    /// Requests sent, waiting for their responses.
    pub(super) pending: HashMap<u64, oneshot::Sender<Result<Vec<u8>, RpcFailure>>>,
    /// Prune `pending` of abandoned requests when it grows past this.
    pub(super) prune_at: usize,
    /// Responses of local actors to the peer's requests, which the link
    /// waits for itself (at most `inbound::RESPONDING`), by request id.
    pub(super) responding: Vec<(u64, Response)>,
    /// A delivery waiting for room in a local inbox.
    pub(super) delivering: Option<BoxFuture<Result<(), RpcFailure>>>,
    /// Data frames received while a delivery waits, in order.
    pub(super) backlog: VecDeque<Vec<u8>>,
    /// Bytes in `backlog`.
    pub(super) backlog_bytes: usize,
    /// Credit to send data frames.
    pub(super) credit: Credit,
    /// Credit to grant the peer.
    pub(super) grant: Grant,
    /// A message waiting for credit.
    pub(super) held: Option<LinkMsg>,
    /// Local actors by name, valid for `generation`.
    pub(super) targets: HashMap<Box<str>, Arc<dyn LocalTarget>>,
    /// The registry generation `targets` and `told` are of.
    pub(super) generation: u64,
    /// The entries the peer has been told about.
    pub(super) told: HashMap<Box<str>, RemoteEntry>,
    /// `Close` received: send what is queued, then end.
    pub(super) closing: bool,
}
