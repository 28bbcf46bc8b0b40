//! [`IoStdio`]: a standard stream of the process on either driver. Never
//! closes fd 0, 1 or 2.
//!
//! On io_uring it is a10's stream (fd 0, 1 or 2 itself). On the poll driver
//! see [`poll::stdio`](super::poll::stdio): a pipe or terminal is opened
//! again as a description of its own and polled; anything else (a regular
//! file, `/dev/null`, a socket) is a duplicate whose operations run on the
//! blocking pool, hence the `Send` bounds on the buffers here.

use std::fmt;
use std::io;

use a10::AsyncFd;
use a10::io::{Buf, BufMut};

use crate::runtime::io::Io;
use crate::runtime::io::poll::stdio::{self as poll_stdio, Stdio};
use crate::runtime::io::uring::{IoRing, rw};

/// Which standard stream.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    In,
    Out,
    Err,
}

impl Stream {
    const fn fd(self) -> libc::c_int {
        match self {
            Stream::In => libc::STDIN_FILENO,
            Stream::Out => libc::STDOUT_FILENO,
            Stream::Err => libc::STDERR_FILENO,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Stream::In => "standard input",
            Stream::Out => "standard output",
            Stream::Err => "standard error",
        }
    }
}

/// A standard stream on either driver; see the [module docs](self).
pub(crate) enum IoStdio {
    Uring {
        fd: A10Stdio,
        ring: IoRing,
    },
    Poll(Stdio),
    /// The stream could not be set up on the poll driver (it is closed,
    /// say): every operation fails with this.
    Failed(io::ErrorKind, String),
}

/// a10's standard streams, which do not close their descriptor.
pub(crate) enum A10Stdio {
    In(a10::io::Stdin),
    Out(a10::io::Stdout),
    Err(a10::io::Stderr),
}

impl A10Stdio {
    fn fd(&self) -> &AsyncFd {
        match self {
            A10Stdio::In(fd) => fd,
            A10Stdio::Out(fd) => fd,
            A10Stdio::Err(fd) => fd,
        }
    }
}

impl IoStdio {
    /// The standard stream `stream` on the driver of `io`.
    pub(crate) fn new(stream: Stream, io: &Io) -> IoStdio {
        match io {
            Io::Uring(ring) => {
                let sq = ring.sq();
                let fd = match stream {
                    Stream::In => A10Stdio::In(a10::io::stdin(sq)),
                    Stream::Out => A10Stdio::Out(a10::io::stdout(sq)),
                    Stream::Err => A10Stdio::Err(a10::io::stderr(sq)),
                };
                IoStdio::Uring {
                    fd,
                    ring: ring.clone(),
                }
            }
            Io::Poll(handle) => match poll_stdio::open(handle, stream.fd()) {
                Ok(stdio) => IoStdio::Poll(stdio),
                Err(err) => {
                    IoStdio::Failed(err.kind(), format!("can't use {}: {err}", stream.name()))
                }
            },
        }
    }

    /// Reads into the spare capacity of `buf`.
    pub(crate) async fn read<B: BufMut + Send>(&self, buf: B) -> io::Result<B> {
        match self {
            IoStdio::Uring { fd, ring } => rw::read(ring, fd.fd(), buf, None).await,
            IoStdio::Poll(Stdio::Polled(fd)) => fd.read(buf).await,
            IoStdio::Poll(Stdio::Blocking(fd)) => fd.read(buf, None).await,
            IoStdio::Failed(kind, message) => Err(io::Error::new(*kind, message.clone())),
        }
    }

    /// Reads at least `n` bytes; fails with `UnexpectedEof` if the stream
    /// ends first.
    pub(crate) async fn read_n<B: BufMut + Send>(&self, buf: B, n: usize) -> io::Result<B> {
        match self {
            IoStdio::Uring { fd, ring } => rw::read_n(ring, fd.fd(), buf, n, None).await,
            IoStdio::Poll(Stdio::Polled(fd)) => fd.read_n(buf, n).await,
            IoStdio::Poll(Stdio::Blocking(fd)) => fd.read_n(buf, n, None).await,
            IoStdio::Failed(kind, message) => Err(io::Error::new(*kind, message.clone())),
        }
    }

    /// Writes some bytes of `buf`; returns it and how many.
    pub(crate) async fn write<B: Buf + Send>(&self, buf: B) -> io::Result<(B, usize)> {
        match self {
            IoStdio::Uring { fd, ring } => rw::write(ring, fd.fd(), buf, None).await,
            IoStdio::Poll(Stdio::Polled(fd)) => fd.write(buf).await,
            IoStdio::Poll(Stdio::Blocking(fd)) => fd.write(buf, None).await,
            IoStdio::Failed(kind, message) => Err(io::Error::new(*kind, message.clone())),
        }
    }

    /// Writes all of `buf`; an empty buffer at once.
    pub(crate) async fn write_all<B: Buf + Send>(&self, buf: B) -> io::Result<B> {
        if buf.is_empty() {
            return Ok(buf); // a10 would fail with `WriteZero`.
        }
        match self {
            IoStdio::Uring { fd, ring } => rw::write_all(ring, fd.fd(), buf, None).await,
            IoStdio::Poll(Stdio::Polled(fd)) => fd.write_all(buf).await,
            IoStdio::Poll(Stdio::Blocking(fd)) => fd.write_all(buf, None).await,
            IoStdio::Failed(kind, message) => Err(io::Error::new(*kind, message.clone())),
        }
    }
}

impl fmt::Debug for IoStdio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoStdio::Uring { fd, .. } => f.debug_tuple("IoStdio").field(fd.fd()).finish(),
            IoStdio::Poll(stdio) => f.debug_tuple("IoStdio").field(stdio).finish(),
            IoStdio::Failed(_, message) => f.debug_tuple("IoStdio").field(message).finish(),
        }
    }
}
