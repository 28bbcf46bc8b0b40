//! How a worker or synchronous actor thread tells the coordinator it ended:
//! a [`ThreadExit`] sent by an [`ExitGuard`], also when the thread panics.

use std::sync::{Arc, mpsc};

use crate::error::Error;
use crate::runtime::io::DriverWaker;

/// Why a worker or synchronous actor thread ended, sent to the coordinator.
pub(crate) enum ThreadExit {
    Worker(usize, Result<(), Error>),
    SyncActor,
}

/// Sends the thread's exit to the coordinator when dropped, also when the
/// thread panics.
pub(crate) struct ExitGuard {
    exit: Option<ThreadExit>,
    sender: mpsc::Sender<ThreadExit>,
    coordinator: Arc<DriverWaker>,
}

impl ExitGuard {
    pub(crate) const fn new(
        exit: ThreadExit,
        sender: mpsc::Sender<ThreadExit>,
        coordinator: Arc<DriverWaker>,
    ) -> ExitGuard {
        ExitGuard {
            exit: Some(exit),
            sender,
            coordinator,
        }
    }

    pub(crate) fn set(&mut self, exit: ThreadExit) {
        self.exit = Some(exit);
    }
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        if let Some(exit) = self.exit.take() {
            let _ = self.sender.send(exit);
            self.coordinator.wake();
        }
    }
}
