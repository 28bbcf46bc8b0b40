//! The socket operations of [`IoFd`]: receiving, sending, datagrams with
//! addresses, connecting, accepting, shutting down and sending a file.
//! Addresses are a10's [`SocketAddress`] types on both drivers.

use std::io;
use std::net::Shutdown;
use std::os::fd::OwnedFd;

use a10::io::{Buf, BufMut, BufMutSlice, BufSlice};
use a10::net::{RecvFlag, SocketAddress};
use a10::{AsyncFd, Extract};

use crate::runtime::io::Io;
use crate::runtime::io::fd::IoFd;
use crate::runtime::io::file_range::FileRange;
use crate::runtime::io::poll::socket as poll_socket;
use crate::runtime::io::uring::{FdRing, IoRing, rw};

/// Bytes moved per splice in [`IoFd::send_file`] on io_uring: the default
/// capacity of a pipe.
const SPLICE_CHUNK: u32 = 64 * 1024;

/// Whether a receive takes the bytes it returns or leaves them for the next
/// (`MSG_PEEK`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RecvMode {
    Take,
    Peek,
}

impl RecvMode {
    const fn libc(self) -> libc::c_int {
        match self {
            RecvMode::Take => 0,
            RecvMode::Peek => libc::MSG_PEEK,
        }
    }
}

impl IoFd {
    /// Receives into the spare capacity of `buf`.
    pub(crate) async fn recv<B: BufMut>(&self, buf: B, mode: RecvMode) -> io::Result<B> {
        match self {
            IoFd::Uring { fd, ring } => match mode {
                RecvMode::Take => ring.op(fd.recv(buf)).await,
                RecvMode::Peek => ring.op(fd.recv(buf).flags(RecvFlag::PEEK)).await,
            },
            IoFd::Poll(fd) => fd.recv(buf, mode.libc()).await,
        }
    }

    /// Receives at least `n` bytes; fails with `UnexpectedEof` if the peer
    /// closes first.
    pub(crate) async fn recv_n<B: BufMut>(&self, buf: B, n: usize) -> io::Result<B> {
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.recv_n(buf, n)).await,
            IoFd::Poll(fd) => fd.recv_n(buf, n).await,
        }
    }

    /// Receives into several buffers, in order.
    pub(crate) async fn recv_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<B> {
        match self {
            IoFd::Uring { fd, ring } => Ok(ring.op(fd.recv_vectored(bufs)).await?.0),
            IoFd::Poll(fd) => fd.recv_vectored(bufs, 0).await,
        }
    }

    /// Receives at least `n` bytes into several buffers.
    pub(crate) async fn recv_n_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        bufs: B,
        n: usize,
    ) -> io::Result<B> {
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.recv_n_vectored(bufs, n)).await,
            IoFd::Poll(fd) => fd.recv_n_vectored(bufs, n).await,
        }
    }

    /// Receives one datagram into the spare capacity of `buf`; returns it
    /// and the sender's address.
    pub(crate) async fn recv_from<B: BufMut, A: SocketAddress>(
        &self,
        buf: B,
        mode: RecvMode,
    ) -> io::Result<(B, A)> {
        match self {
            IoFd::Uring { fd, ring } => {
                let (buf, address, _) = match mode {
                    RecvMode::Take => ring.op(fd.recv_from(buf)).await?,
                    RecvMode::Peek => ring.op(fd.recv_from(buf).flags(RecvFlag::PEEK)).await?,
                };
                Ok((buf, address))
            }
            IoFd::Poll(fd) => fd.recv_from(buf, mode.libc()).await,
        }
    }

    /// Receives one datagram into several buffers; returns them and the
    /// sender's address.
    pub(crate) async fn recv_from_vectored<B: BufMutSlice<N>, A: SocketAddress, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, A)> {
        match self {
            IoFd::Uring { fd, ring } => {
                let (bufs, address, _) = ring.op(fd.recv_from_vectored(bufs)).await?;
                Ok((bufs, address))
            }
            IoFd::Poll(fd) => fd.recv_from_vectored(bufs, 0).await,
        }
    }

    /// Sends some bytes of `buf`; returns it and how many.
    pub(crate) async fn send<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.send(buf).extract()).await,
            IoFd::Poll(fd) => fd.send(buf).await,
        }
    }

    /// Sends all of `buf`; an empty buffer at once.
    pub(crate) async fn send_all<B: Buf>(&self, buf: B) -> io::Result<B> {
        if buf.is_empty() {
            return Ok(buf); // a10 would fail with `WriteZero`.
        }
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.send_all(buf).extract()).await,
            IoFd::Poll(fd) => fd.send_all(buf).await,
        }
    }

    /// Sends some bytes of several buffers; returns them and how many.
    pub(crate) async fn send_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, usize)> {
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.send_vectored(bufs).extract()).await,
            IoFd::Poll(fd) => fd.send_vectored(bufs).await,
        }
    }

    /// Sends all bytes of several buffers; empty buffers at once.
    pub(crate) async fn send_all_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<B> {
        match self {
            IoFd::Uring { fd, ring } => {
                rw::write_all_vectored(ring, bufs, |bufs| fd.send_all_vectored(bufs).extract())
                    .await
            }
            IoFd::Poll(fd) => fd.send_all_vectored(bufs).await,
        }
    }

    /// Sends `buf` as one datagram to `address`.
    pub(crate) async fn send_to<B: Buf, A: SocketAddress>(
        &self,
        buf: B,
        address: A,
    ) -> io::Result<(B, usize)> {
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.send_to(buf, address).extract()).await,
            IoFd::Poll(fd) => fd.send_to(buf, address).await,
        }
    }

    /// Sends several buffers as one datagram to `address`.
    pub(crate) async fn send_to_vectored<B: BufSlice<N>, A: SocketAddress, const N: usize>(
        &self,
        bufs: B,
        address: A,
    ) -> io::Result<(B, usize)> {
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.send_to_vectored(bufs, address).extract()).await,
            IoFd::Poll(fd) => fd.send_to_vectored(bufs, address).await,
        }
    }

    /// Connects the socket `fd` to `address` on the driver of `io`,
    /// waiting until the connection is made or fails.
    pub(crate) async fn connect<A: SocketAddress>(
        fd: OwnedFd,
        io: &Io,
        address: A,
    ) -> io::Result<IoFd> {
        match io {
            Io::Uring(ring) => {
                // Declared first, so dropped after the socket if the
                // connection fails: counts the close (see `FdRing`).
                let fd_ring = FdRing::new(ring.clone());
                let socket = AsyncFd::new(fd, ring.sq());
                ring.op(socket.connect(address)).await?;
                Ok(IoFd::Uring {
                    fd: socket,
                    ring: fd_ring,
                })
            }
            Io::Poll(handle) => poll_socket::connect(fd, handle, address)
                .await
                .map(IoFd::Poll),
        }
    }

    /// Accepts a connection; returns it, on this descriptor's ring or poll,
    /// and the peer's address.
    pub(crate) async fn accept<A: SocketAddress>(&self) -> io::Result<(IoFd, A)> {
        match self {
            IoFd::Uring { fd, ring } => {
                let (fd, address) = ring.op(fd.accept::<A>()).await?;
                Ok((IoFd::uring(fd, IoRing::clone(ring)), address))
            }
            IoFd::Poll(fd) => {
                let (fd, address) = fd.accept::<A>().await?;
                Ok((IoFd::Poll(fd), address))
            }
        }
    }

    /// Shuts down the reading, writing or both halves of the connection.
    pub(crate) async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            IoFd::Uring { fd, ring } => ring.op(fd.shutdown(how)).await,
            IoFd::Poll(fd) => fd.shutdown(how),
        }
    }

    /// Sends `range` without copying it through user space: on io_uring
    /// spliced through a pipe, on the poll driver with `sendfile(2)`. Stops
    /// early at the end of the file; returns how many bytes were sent.
    pub(crate) async fn send_file(&self, range: FileRange<'_>) -> io::Result<u64> {
        match self {
            IoFd::Uring { fd, ring } => splice_file(fd, ring, range).await,
            IoFd::Poll(fd) => fd.send_file(range).await,
        }
    }
}

/// [`IoFd::send_file`] on io_uring: splices `file` into a pipe and the
/// pipe into `socket`, a chunk at a time.
async fn splice_file(socket: &AsyncFd, ring: &IoRing, range: FileRange<'_>) -> io::Result<u64> {
    let [read_end, write_end] = a10::pipe::sync_pipe()?;
    // Dropped after the pipe's ends (locals drop in reverse order): counts
    // the closes their drops queue, like the `FdRing` of an I/O type.
    let _close_pipe = FdRing::new(ring.clone());
    let read_end = &AsyncFd::new(read_end, ring.sq());
    let write_end = &AsyncFd::new(write_end, ring.sq());
    let socket = socket
        .as_fd()
        .ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))?;
    let file = range.file;
    let send = move |offset: u64, chunk: u64| async move {
        // At most `SPLICE_CHUNK`, which fits.
        let chunk = u32::try_from(chunk).unwrap_or(SPLICE_CHUNK);
        let filled = ring
            .op(write_end.splice_from(file, chunk).from(offset))
            .await?;
        let mut left = filled;
        while left > 0 {
            let n = u32::try_from(left).unwrap_or(SPLICE_CHUNK);
            let moved = ring.op(read_end.splice_to(socket, n)).await?;
            if moved == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            left -= moved;
        }
        Ok(filled as u64)
    };
    range.send_in_chunks(u64::from(SPLICE_CHUNK), send).await
}
