//! [`Registration`]: a descriptor registered with a poll instance, until
//! dropped.

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::task::{self, Poll};

use mio::unix::SourceFd;
use mio::{Interest, Token};

use crate::runtime::io::poll::PollHandle;
use crate::runtime::io::poll::readiness::{Direction, Readiness, Seen};
use crate::runtime::lock::lock;

/// A descriptor registered with a poll instance (edge-triggered, for
/// reading and writing); deregistered when dropped, which its owner does
/// before it closes the descriptor.
#[derive(Debug)]
pub(crate) struct Registration {
    handle: PollHandle,
    token: Token,
    fd: RawFd,
    readiness: Arc<Readiness>,
}

impl Registration {
    /// Registers `fd` (non-blocking) with the poll of `handle`.
    pub(crate) fn new(handle: &PollHandle, fd: RawFd) -> io::Result<Registration> {
        let readiness = Arc::new(Readiness::default());
        let token = lock(&handle.0.sources).insert(readiness.clone());
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(err) = handle
            .0
            .registry
            .register(&mut SourceFd(&fd), token, interest)
        {
            lock(&handle.0.sources).remove(token);
            return Err(err);
        }
        Ok(Registration {
            handle: handle.clone(),
            token,
            fd,
            readiness,
        })
    }

    /// The poll instance this is registered with.
    pub(crate) const fn handle(&self) -> &PollHandle {
        &self.handle
    }

    /// See [`Readiness::poll_ready`].
    pub(crate) fn poll_ready(
        &self,
        direction: Direction,
        cx: &mut task::Context<'_>,
    ) -> Poll<Seen> {
        self.readiness.poll_ready(direction, cx)
    }

    /// See [`Readiness::clear`].
    pub(crate) fn clear(&self, direction: Direction, seen: Seen) {
        self.readiness.clear(direction, seen);
    }

    /// See [`Readiness::clear_ready`].
    pub(crate) fn clear_ready(&self, direction: Direction, seen: Seen) {
        self.readiness.clear_ready(direction, seen);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Fails only if the descriptor was closed already, which the owner
        // does not do; the kernel forgets a closed descriptor anyway.
        let _ = self.handle.0.registry.deregister(&mut SourceFd(&self.fd));
        lock(&self.handle.0.sources).remove(self.token);
        self.readiness.clear_waiters();
    }
}
