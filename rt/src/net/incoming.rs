//! [`Incoming`]: the stream of connections a listening socket accepts
//! ([`TcpListener::incoming`](crate::net::TcpListener::incoming),
//! [`UnixListener::incoming`](crate::net::UnixListener::incoming)): one
//! multishot accept for many connections on io_uring, an `accept4(2)` each
//! time the listener is ready on the poll driver.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{self, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::runtime::io::fd::{Accepts, IoFd};

pin_project! {
    /// The connections a listener accepts, as streams of type `S`
    /// ([`TcpStream`](crate::net::TcpStream) or
    /// [`UnixStream`](crate::net::UnixStream)) using the listener's ring
    /// (or poll). A [`Stream`] that never ends on its own: on io_uring an
    /// error (e.g. too many open files) ends the kernel's operation, and
    /// the next poll starts a new one.
    #[must_use = "streams do nothing unless polled"]
    pub struct Incoming<'l, S> {
        listener: &'l IoFd,
        // Makes a stream of an accepted descriptor.
        stream: fn(IoFd) -> S,
        #[pin]
        accepts: Accepts<'l>,
    }
}

impl<'l, S> Incoming<'l, S> {
    /// Accepts connections on `listener`, a listening socket.
    pub(crate) fn new(listener: &'l IoFd, stream: fn(IoFd) -> S) -> Incoming<'l, S> {
        Incoming {
            listener,
            stream,
            accepts: Accepts::new(listener),
        }
    }
}

impl<S> Stream for Incoming<'_, S> {
    type Item = io::Result<S>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        this.accepts
            .poll_next(cx)
            .map(|result| Some(result.map(*this.stream)))
    }
}

impl<S> fmt::Debug for Incoming<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish()
    }
}
