//! [`Accepts`]: the connections a listening [`IoFd`] accepts, one after
//! another: on io_uring one multishot accept for many connections, on the
//! poll driver `accept4(2)` each time the listener is readable.

use std::io;
use std::pin::Pin;
use std::task::{self, Poll};

use a10::AsyncFd;
use pin_project_lite::pin_project;

use crate::runtime::io::fd::IoFd;
use crate::runtime::io::poll::PollFd;
use crate::runtime::io::poll::fd::Pending;
use crate::runtime::io::uring::{IoRing, MultishotGuard};

pin_project! {
    /// The connections a listener accepts, each on the listener's ring or
    /// poll; see the [module docs](self). Never ends on its own: an error
    /// (e.g. too many open files) ends io_uring's multishot operation, and
    /// the next poll starts a new one.
    #[project = AcceptsProjection]
    pub(crate) enum Accepts<'l> {
        Uring {
            fd: &'l AsyncFd,
            ring: &'l IoRing,
            #[pin]
            accept: a10::net::MultishotAccept<'l>,
            guard: MultishotGuard,
        },
        Poll {
            fd: &'l PollFd,
            pending: Pending,
        },
    }
}

impl<'l> Accepts<'l> {
    /// Accepts connections on `listener`.
    pub(crate) fn new(listener: &'l IoFd) -> Accepts<'l> {
        match listener {
            IoFd::Uring { fd, ring } => Accepts::Uring {
                fd,
                ring,
                accept: fd.multishot_accept(),
                guard: MultishotGuard::new(IoRing::clone(ring)),
            },
            IoFd::Poll(fd) => Accepts::Poll {
                fd,
                pending: Pending::new(fd.handle()),
            },
        }
    }

    /// The next connection, `Pending` (with `cx` woken) until one comes.
    pub(crate) fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
    ) -> Poll<io::Result<IoFd>> {
        match self.project() {
            AcceptsProjection::Uring {
                fd,
                ring,
                mut accept,
                guard,
            } => loop {
                let poll = accept.as_mut().poll_next(cx);
                guard.polled(&poll);
                return match poll {
                    Poll::Ready(Some(Ok(accepted))) => {
                        Poll::Ready(Ok(IoFd::uring(accepted, IoRing::clone(ring))))
                    }
                    Poll::Ready(Some(Err(err))) => Poll::Ready(Err(err)),
                    // The kernel ended the multishot operation: start another.
                    Poll::Ready(None) => {
                        accept.set(fd.multishot_accept());
                        continue;
                    }
                    Poll::Pending => Poll::Pending,
                };
            },
            AcceptsProjection::Poll { fd, pending } => fd
                .poll_accept(cx, pending)
                .map(|result| result.map(IoFd::Poll)),
        }
    }
}
