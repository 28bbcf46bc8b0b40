//! [`RuntimeRef`]: a worker's handle to the runtime, for thread-local work.

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use kiln::ActorRef;

use crate::metrics::RuntimeMetrics;
use crate::runtime::local::LocalInternals;
use crate::runtime::shared::RuntimeInternals;
use crate::signal::Signal;

/// A handle to the runtime on one worker thread.
///
/// Cheap to clone, and `!Send`: it belongs to its worker. It spawns
/// thread-local actors and futures on this worker (`spawn_local`,
/// `spawn_local_future`, or [`Spawn`](crate::Spawn) for an actor with a [`ThreadLocal`](crate::ThreadLocal)
/// context), thread-safe ones on the runtime ([`Spawn`](crate::Spawn) for an actor with a
/// [`ThreadSafe`](crate::ThreadSafe) context, `spawn_future`), and registers
/// actors for process signals.
#[derive(Clone)]
pub struct RuntimeRef {
    internals: Rc<LocalInternals>,
}

impl RuntimeRef {
    pub(crate) const fn from_local(internals: Rc<LocalInternals>) -> RuntimeRef {
        RuntimeRef { internals }
    }

    /// The index of this worker: 0 up to the number of workers.
    pub fn worker_index(&self) -> usize {
        self.internals.index
    }

    /// The worker's state, for `Spawn`.
    pub(crate) const fn local_internals(&self) -> &Rc<LocalInternals> {
        &self.internals
    }

    /// The runtime's shared state, for `Spawn`.
    pub(crate) fn shared_internals(&self) -> &Arc<RuntimeInternals> {
        &self.internals.shared
    }

    /// Registers `actor_ref` to receive process signals; use
    /// [`ActorRef::try_map`] to convert them into the actor's message type.
    pub fn receive_signals(&mut self, actor_ref: ActorRef<Signal>) {
        self.internals.shared.receive_signals(actor_ref);
    }

    /// The metrics of the whole runtime: every worker's as of the end of its
    /// last turn (this worker's too), see [`metrics`](crate::metrics).
    pub fn metrics(&self) -> RuntimeMetrics {
        self.internals.shared.collect_metrics()
    }
}

impl fmt::Debug for RuntimeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeRef")
            .field("runtime", &self.internals.shared.name)
            .field("worker", &self.internals.index)
            .finish()
    }
}
