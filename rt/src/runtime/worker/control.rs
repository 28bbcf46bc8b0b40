//! Control messages to a worker: functions from `Runtime::run_on_workers`
//! (and the test runtime) run on the worker's thread, with its state.

use std::rc::Rc;
use std::sync::{Arc, mpsc};

use crate::runtime::local::LocalInternals;
use crate::runtime::worker::handle::WorkerHandle;

/// A function to run on the worker (given the worker's state, which the
/// public layer wraps in a `RuntimeRef`), with where to send its result.
pub(crate) type RunFn = Box<dyn FnOnce(Rc<LocalInternals>) -> Result<(), String> + Send>;

/// Messages to a worker.
pub(crate) enum Control {
    /// Run a function (from `Runtime::run_on_workers`) and reply.
    Run(RunFn, mpsc::Sender<Result<(), String>>),
}

/// Sends control messages to one worker; held by the `Runtime` (and the
/// test runtime), not by the workers' shared state.
#[derive(Clone)]
pub(crate) struct WorkerControl {
    pub(crate) sender: mpsc::Sender<Control>,
    pub(crate) handle: Arc<WorkerHandle>,
}

impl WorkerControl {
    /// Sends a control message and wakes the worker. Fails if the worker has
    /// stopped.
    pub(crate) fn send(&self, control: Control) -> Result<(), ()> {
        self.sender.send(control).map_err(|_| ())?;
        self.handle.wake();
        Ok(())
    }
}
