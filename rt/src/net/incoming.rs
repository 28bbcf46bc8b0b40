//! [`Incoming`]: the stream of connections a listening socket accepts
//! ([`TcpListener::incoming`](crate::net::TcpListener::incoming),
//! [`UnixListener::incoming`](crate::net::UnixListener::incoming)), one
//! multishot accept for many connections.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{self, Poll};

use a10::AsyncFd;
use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::runtime::io::{IoRing, MultishotGuard};

pin_project! {
    /// The connections a listener accepts, as streams of type `S`
    /// ([`TcpStream`](crate::net::TcpStream) or
    /// [`UnixStream`](crate::net::UnixStream)) using the listener's ring.
    /// A [`Stream`] that never ends on its own: an error (e.g. too many
    /// open files) ends the kernel's operation, and the next poll starts a
    /// new one.
    #[must_use = "streams do nothing unless polled"]
    pub struct Incoming<'l, S> {
        fd: &'l AsyncFd,
        ring: &'l IoRing,
        // Makes a stream of an accepted descriptor.
        stream: fn(AsyncFd, IoRing) -> S,
        #[pin]
        accept: a10::net::MultishotAccept<'l>,
        guard: MultishotGuard,
    }
}

impl<'l, S> Incoming<'l, S> {
    /// Accepts connections on `fd`, a listening socket on `ring`.
    pub(crate) fn new(
        fd: &'l AsyncFd,
        ring: &'l IoRing,
        stream: fn(AsyncFd, IoRing) -> S,
    ) -> Incoming<'l, S> {
        Incoming {
            fd,
            ring,
            stream,
            accept: fd.multishot_accept(),
            guard: MultishotGuard::new(ring.clone()),
        }
    }
}

impl<S> Stream for Incoming<'_, S> {
    type Item = io::Result<S>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            let poll = this.accept.as_mut().poll_next(cx);
            this.guard.polled(&poll);
            return match poll {
                Poll::Ready(Some(Ok(fd))) => {
                    Poll::Ready(Some(Ok((this.stream)(fd, this.ring.clone()))))
                }
                Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err))),
                // The kernel ended the multishot operation: start another.
                Poll::Ready(None) => {
                    this.accept.set(this.fd.multishot_accept());
                    continue;
                }
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl<S> fmt::Debug for Incoming<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.fd)
            .finish()
    }
}
