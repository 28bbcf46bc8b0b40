//! [`IoFd`]: an open descriptor on either driver (a socket, a pipe, a
//! `timerfd`), and the operations on it, each matching on the driver once.
//! Files have [`IoFile`](super::file::IoFile) (epoll can't wait for them)
//! and the standard streams [`IoStdio`](super::stdio::IoStdio).
//!
//! On io_uring an operation is a10's, through [`IoRing::op`]; the
//! descriptor holds its ring as an [`FdRing`] after the `AsyncFd`, so its
//! close is counted (see [`uring`](super::uring)). On the poll driver it is
//! a non-blocking system call on a [`PollFd`], retried when the descriptor
//! is ready ([`poll`](super::poll)).
//!
//! # Dropping an operation
//!
//! On io_uring, dropping an operation's future cancels it, but what the
//! kernel did before it saw the cancellation (bytes received, a connection
//! accepted) goes with the future. On the poll driver an operation that
//! would block did nothing, so a dropped future loses nothing. The rule
//! the I/O types document (a dropped `recv` may lose bytes) is io_uring's,
//! and holds on both.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use a10::io::{Buf, BufMut, BufMutSlice, BufSlice};
use a10::{AsyncFd, Extract};

use crate::runtime::io::Io;
use crate::runtime::io::driver_id::DriverId;
use crate::runtime::io::poll::PollFd;
use crate::runtime::io::timerfd::timerfd;
use crate::runtime::io::uring::{FdRing, IoRing, rw};

mod accept;
mod socket;

pub(crate) use accept::Accepts;
pub(crate) use socket::RecvMode;

/// An open descriptor on either driver; see the [module docs](self).
pub(crate) enum IoFd {
    Uring {
        fd: AsyncFd,
        // After `fd`, so dropped after it: counts the close `fd`'s drop
        // queues.
        ring: FdRing,
    },
    Poll(PollFd),
}

impl IoFd {
    /// `fd` on the driver of `io`: on io_uring as it is, on the poll driver
    /// made non-blocking and registered (which fails if epoll refuses it,
    /// as it does regular files).
    pub(crate) fn new(fd: OwnedFd, io: &Io) -> io::Result<IoFd> {
        match io {
            Io::Uring(ring) => Ok(IoFd::uring(AsyncFd::new(fd, ring.sq()), ring.clone())),
            Io::Poll(handle) => PollFd::new(fd, handle).map(IoFd::Poll),
        }
    }

    /// Like [`IoFd::new`], but never fails: a descriptor the poll driver
    /// can't take stays open, and every operation on it fails with why
    /// (`what` names it). For I/O types made by functions that can't fail
    /// (a child process's standard streams).
    pub(crate) fn new_or_unusable(fd: OwnedFd, io: &Io, what: &str) -> MaybeFd {
        match io {
            Io::Uring(ring) => {
                MaybeFd::Usable(IoFd::uring(AsyncFd::new(fd, ring.sq()), ring.clone()))
            }
            Io::Poll(handle) => match PollFd::try_new(fd, handle) {
                Ok(fd) => MaybeFd::Usable(IoFd::Poll(fd)),
                Err((fd, err)) => MaybeFd::Unusable {
                    fd,
                    kind: err.kind(),
                    message: format!("can't use {what} on the poll driver: {err}"),
                },
            },
        }
    }

    /// An a10 descriptor on `ring`.
    pub(crate) const fn uring(fd: AsyncFd, ring: IoRing) -> IoFd {
        IoFd::Uring {
            fd,
            ring: FdRing::new(ring),
        }
    }

    /// Whether the descriptor is on the ring or poll instance `id`.
    pub(crate) fn is_on(&self, id: &DriverId) -> bool {
        match self {
            IoFd::Uring { ring, .. } => ring.is(id),
            IoFd::Poll(fd) => fd.handle().id() == *id,
        }
    }

    /// The descriptor, for plain system calls (options, addresses).
    pub(crate) fn borrow(&self) -> io::Result<BorrowedFd<'_>> {
        match self {
            IoFd::Uring { fd, .. } => fd.as_fd().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "an io_uring direct descriptor has no file descriptor",
                )
            }),
            IoFd::Poll(fd) => Ok(std::os::fd::AsFd::as_fd(fd)),
        }
    }

    /// Reads into the spare capacity of `buf`.
    pub(crate) async fn read<B: BufMut>(&self, buf: B) -> io::Result<B> {
        match self {
            IoFd::Uring { fd, ring } => rw::read(ring, fd, buf, None).await,
            IoFd::Poll(fd) => fd.read(buf).await,
        }
    }

    /// Reads at least `n` bytes; fails with `UnexpectedEof` if the stream
    /// ends first.
    pub(crate) async fn read_n<B: BufMut>(&self, buf: B, n: usize) -> io::Result<B> {
        match self {
            IoFd::Uring { fd, ring } => rw::read_n(ring, fd, buf, n, None).await,
            IoFd::Poll(fd) => fd.read_n(buf, n).await,
        }
    }

    /// Writes some bytes of `buf`; returns it and how many.
    pub(crate) async fn write<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        match self {
            IoFd::Uring { fd, ring } => rw::write(ring, fd, buf, None).await,
            IoFd::Poll(fd) => fd.write(buf).await,
        }
    }

    /// Writes all of `buf`; an empty buffer at once.
    pub(crate) async fn write_all<B: Buf>(&self, buf: B) -> io::Result<B> {
        if buf.is_empty() {
            return Ok(buf); // a10 would fail with `WriteZero`.
        }
        match self {
            IoFd::Uring { fd, ring } => rw::write_all(ring, fd, buf, None).await,
            IoFd::Poll(fd) => fd.write_all(buf).await,
        }
    }

    /// Reads into several buffers, in order (`readv(2)`).
    pub(crate) async fn read_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<B> {
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.read_vectored(bufs)).await,
            IoFd::Poll(fd) => fd.read_vectored(bufs).await,
        }
    }

    /// Reads at least `n` bytes into several buffers.
    pub(crate) async fn read_n_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        bufs: B,
        n: usize,
    ) -> io::Result<B> {
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.read_n_vectored(bufs, n)).await,
            IoFd::Poll(fd) => fd.read_n_vectored(bufs, n).await,
        }
    }

    /// Writes some bytes of several buffers (`writev(2)`); returns them and
    /// how many.
    pub(crate) async fn write_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, usize)> {
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.write_vectored(bufs).extract()).await,
            IoFd::Poll(fd) => fd.write_vectored(bufs).await,
        }
    }

    /// Writes all bytes of several buffers; empty buffers at once.
    pub(crate) async fn write_all_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<B> {
        match self {
            IoFd::Uring { fd, ring } => {
                rw::write_all_vectored(ring, bufs, |bufs| fd.write_all_vectored(bufs).extract())
                    .await
            }
            IoFd::Poll(fd) => fd.write_all_vectored(bufs).await,
        }
    }

    /// Waits `wait` on this descriptor's ring or poll: reads a one-shot
    /// `timerfd`. For an I/O type that has no timers of its own.
    pub(crate) async fn sleep(&self, wait: Duration) -> io::Result<()> {
        let timer = match self {
            IoFd::Uring { ring, .. } => IoFd::new(timerfd(wait)?, &Io::Uring(IoRing::clone(ring)))?,
            IoFd::Poll(fd) => IoFd::Poll(PollFd::new(timerfd(wait)?, fd.handle())?),
        };
        timer.read(Vec::with_capacity(8)).await?;
        Ok(())
    }
}

/// An [`IoFd`], or a descriptor the poll driver could not take; see
/// [`IoFd::new_or_unusable`].
#[derive(Debug)]
pub(crate) enum MaybeFd {
    Usable(IoFd),
    Unusable {
        fd: OwnedFd,
        kind: io::ErrorKind,
        message: String,
    },
}

impl MaybeFd {
    /// The descriptor to run an operation on, or why there is none.
    pub(crate) fn usable(&self) -> io::Result<&IoFd> {
        match self {
            MaybeFd::Usable(fd) => Ok(fd),
            MaybeFd::Unusable { kind, message, .. } => Err(io::Error::new(*kind, message.clone())),
        }
    }

    /// The descriptor, usable or not.
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            MaybeFd::Usable(IoFd::Uring { fd, .. }) => fd
                .as_fd()
                .expect("a descriptor of kiln-rt is a regular file descriptor"),
            MaybeFd::Usable(IoFd::Poll(fd)) => std::os::fd::AsFd::as_fd(fd),
            MaybeFd::Unusable { fd, .. } => std::os::fd::AsFd::as_fd(fd),
        }
    }
}

impl fmt::Debug for IoFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoFd::Uring { fd, .. } => f.debug_tuple("IoFd").field(fd).finish(),
            IoFd::Poll(fd) => f.debug_tuple("IoFd").field(&fd.as_raw_fd()).finish(),
        }
    }
}
