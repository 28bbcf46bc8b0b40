//! [`WorkerHandle`]: how other threads reach a worker.
//!
//! Other threads wake a worker through its [`WorkerHandle`]: they publish
//! the wake-up (queue, a shard of the shared scheduler, control channel),
//! then read the worker's `sleeping` flag with a read-modify-write, and only
//! if it is set ask a10 to interrupt the ring's poll. The worker sets
//! `sleeping` with a read-modify-write *before* its last check for work
//! (which looks at every shard). RMWs on one location are totally ordered,
//! so either the worker sees the work, or the waker sees the flag; and a10
//! remembers a wake that comes before the poll starts. A
//! busy worker is never interrupted (see [`ring_waker`](crate::runtime::io::uring::ring_waker)).
//!
//! Other threads also send a worker *errands*: functions to run on its
//! thread with its state, such as creating a thread-local actor there
//! (`spawn_local_on`). The worker runs them at the start of its next turn,
//! and looks for them after setting `sleeping`, as for control messages.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use kiln_inbox::Sender;
use log::trace;

use crate::runtime::counters::Published;
use crate::runtime::io::DriverWaker;
use crate::runtime::wake::{ProcessId, WakeTarget};

/// A function another thread sends to run on a worker's thread, given the
/// worker's state as `&dyn Any`: an `Rc<LocalInternals>`. Not by its type:
/// `LocalInternals` names the shared state, which names this handle, and
/// the engine's files import one way; errands are made where the type can
/// be named (the public `spawn` module), and downcast there.
pub(crate) type Errand = Box<dyn FnOnce(&dyn Any) + Send>;

/// How other threads reach a worker.
pub(crate) struct WorkerHandle {
    pub(crate) index: usize,
    /// Wakes the worker from its ring's or poll's wait.
    pub(crate) waker: DriverWaker,
    /// Set while the worker is (about to be) blocked in the kernel.
    pub(crate) sleeping: AtomicBool,
    /// Process ids woken by other threads.
    pub(crate) remote: Sender<ProcessId>,
    /// Set when `remote` was full: the worker wakes every process.
    pub(crate) overflow: AtomicBool,
    /// What the worker publishes for the metrics, once per turn.
    pub(crate) metrics: Published,
    /// Errands for the worker; the receiver goes with the worker's thread.
    pub(crate) errands: mpsc::Sender<Errand>,
}

impl WorkerHandle {
    /// Whether the worker is (about to be) blocked in the kernel.
    pub(crate) fn is_sleeping(&self) -> bool {
        self.sleeping.load(Ordering::Relaxed)
    }

    /// Interrupts the worker's sleep if it sleeps; returns whether it did.
    pub(crate) fn wake_if_sleeping(&self) -> bool {
        // A read-modify-write, not a load: see the module documentation.
        if self.sleeping.fetch_or(false, Ordering::AcqRel) {
            trace!("waking worker {}", self.index);
            self.waker.wake();
            true
        } else {
            false
        }
    }

    /// Wakes the worker (if it sleeps), e.g. to look at the start flag.
    pub(crate) fn wake(&self) {
        let _ = self.wake_if_sleeping();
    }

    /// Sends `errand` to the worker and wakes it; gives it back if the
    /// worker's thread has ended.
    pub(crate) fn send_errand(&self, errand: Errand) -> Result<(), Errand> {
        self.errands.send(errand).map_err(|err| err.0)?;
        self.wake();
        Ok(())
    }
}

impl WakeTarget for WorkerHandle {
    fn wake(&self, pid: ProcessId) {
        if self.remote.try_send(pid).is_err() {
            // A read-modify-write, so that every overflowing waker's
            // publication is ordered before the worker's swap that clears it.
            let _ = self.overflow.fetch_or(true, Ordering::Release);
        }
        let _ = self.wake_if_sleeping();
    }
}
