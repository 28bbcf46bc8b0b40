//! [`Host`]: where a node can start.

use std::sync::Arc;
use std::sync::mpsc;

use kiln::supervisor::StopSupervisor;
use kiln_rt::access::ThreadLocal;
use kiln_rt::spawn::{ActorOptions, Priority};
use kiln_rt::{Runtime, RuntimeRef};

use crate::error::StartError;
use crate::node::actor::NodeActor;
use crate::shared::Shared;

pub(crate) use private::PrivateHost;

/// Where a [`Node`](crate::Node) can start: a [`Runtime`] before it
/// starts (the node runs on its first worker), a [`RuntimeRef`] (that
/// worker), or a thread-local actor's [`ThreadLocal`] (its worker). Sealed.
pub trait Host: PrivateHost {}

mod private {
    use std::sync::Arc;

    use crate::error::StartError;
    use crate::shared::Shared;

    /// The method behind [`Host`](super::Host), in a private module so
    /// that no one outside the crate can call or implement it.
    #[allow(private_interfaces, reason = "sealed trait")]
    pub trait PrivateHost {
        /// Spawns the node actor of `shared`.
        fn start_node(&mut self, shared: Arc<Shared>) -> Result<(), StartError>;
    }
}

/// Spawns the node actor of `shared` on the worker of `rt`.
fn start_on(rt: &mut RuntimeRef, shared: Arc<Shared>) -> Result<(), StartError> {
    // High priority: SWIM probes must not wait behind busy links.
    let options = ActorOptions::default()
        .with_inbox_size(kiln::InboxSize::fixed(4096))
        .with_priority(Priority::HIGH);
    rt.try_spawn_local(StopSupervisor, NodeActor { shared }, (), options)
        .map(drop)
        .map_err(|err| StartError::with_source("can't start listening", err))
}

impl Host for RuntimeRef {}

#[allow(private_interfaces, reason = "sealed trait")]
impl PrivateHost for RuntimeRef {
    fn start_node(&mut self, shared: Arc<Shared>) -> Result<(), StartError> {
        start_on(self, shared)
    }
}

impl Host for ThreadLocal {}

#[allow(private_interfaces, reason = "sealed trait")]
impl PrivateHost for ThreadLocal {
    fn start_node(&mut self, shared: Arc<Shared>) -> Result<(), StartError> {
        start_on(self, shared)
    }
}

impl Host for Runtime {}

#[allow(private_interfaces, reason = "sealed trait")]
impl PrivateHost for Runtime {
    fn start_node(&mut self, shared: Arc<Shared>) -> Result<(), StartError> {
        let (started, result) = mpsc::channel();
        self.run_on_workers(move |mut rt: RuntimeRef| -> Result<(), StartError> {
            if rt.worker_index() == 0 {
                let _ = started.send(start_on(&mut rt, shared.clone()));
            }
            Ok(())
        })
        .map_err(|err| StartError::with_source("can't run on the runtime's first worker", err))?;
        result
            .try_recv()
            .map_err(|_| StartError::new("the runtime has no worker 0"))?
    }
}
