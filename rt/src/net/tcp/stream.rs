//! [`TcpStream`]: a TCP connection.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use a10::net::RecvFlag;
use a10::{AsyncFd, Extract};
use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};

use crate::access::Access;
use crate::io::{Buf, BufMut, BufMutSlice, BufSlice, IoRing};
use crate::net::{ip_addr, with_socket};

/// Bytes moved per splice in [`TcpStream::send_file`]: the default capacity
/// of a pipe.
const SPLICE_CHUNK: u32 = 64 * 1024;

/// A TCP connection: from [`TcpStream::connect`], or accepted by a
/// [`TcpListener`](crate::net::TcpListener).
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use kiln_rt::net::TcpStream;
///
/// async fn client(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
///     let address = "127.0.0.1:7000".parse().unwrap();
///     let stream = TcpStream::connect(ctx.runtime_ref(), address).await?;
///     stream.send_all("ping\n").await?;
///     let reply = stream.recv(Vec::with_capacity(64)).await?;
///     println!("got {} bytes", reply.len());
///     Ok(())
/// }
/// ```
pub struct TcpStream {
    fd: AsyncFd,
    ring: IoRing,
}

impl TcpStream {
    pub(crate) const fn from_fd(fd: AsyncFd, ring: IoRing) -> TcpStream {
        TcpStream { fd, ring }
    }

    /// Connects to `address`. A refused or failed connection keeps its
    /// [`io::ErrorKind`] and names the address.
    pub async fn connect<RT: Access + ?Sized>(
        rt: &RT,
        address: SocketAddr,
    ) -> io::Result<TcpStream> {
        let ring = rt.io_ring();
        let socket = Socket::new(
            Domain::for_address(address),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        let stream = TcpStream::from_fd(AsyncFd::new(socket.into(), ring.sq()), ring);
        stream
            .ring
            .op(stream.fd.connect(address))
            .await
            .map_err(|err| {
                io::Error::new(err.kind(), format!("can't connect to {address}: {err}"))
            })?;
        Ok(stream)
    }

    /// Receives into the spare capacity of `buf`; returns it with the
    /// bytes received added. No bytes added means the peer closed its side.
    pub async fn recv<B: BufMut>(&self, buf: B) -> io::Result<B> {
        self.ring.op(self.fd.recv(buf)).await
    }

    /// Receives at least `n` bytes; fails with
    /// [`io::ErrorKind::UnexpectedEof`] if the peer closes first.
    pub async fn recv_n<B: BufMut>(&self, buf: B, n: usize) -> io::Result<B> {
        self.ring.op(self.fd.recv_n(buf, n)).await
    }

    /// Like `recv`, but leaves the bytes in the socket: the next receive
    /// gets them again.
    pub async fn peek<B: BufMut>(&self, buf: B) -> io::Result<B> {
        self.ring.op(self.fd.recv(buf).flags(RecvFlag::PEEK)).await
    }

    /// Receives into several buffers, filling them in order.
    pub async fn recv_vectored<B: BufMutSlice<N>, const N: usize>(&self, bufs: B) -> io::Result<B> {
        let (bufs, _) = self.ring.op(self.fd.recv_vectored(bufs)).await?;
        Ok(bufs)
    }

    /// Receives at least `n` bytes into several buffers.
    pub async fn recv_n_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        bufs: B,
        n: usize,
    ) -> io::Result<B> {
        self.ring.op(self.fd.recv_n_vectored(bufs, n)).await
    }

    /// Sends some bytes of `buf`; returns it and how many were sent.
    pub async fn send<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        self.ring.op(self.fd.send(buf).extract()).await
    }

    /// Sends all of `buf`; returns it.
    pub async fn send_all<B: Buf>(&self, buf: B) -> io::Result<B> {
        if buf.is_empty() {
            return Ok(buf); // a10 would fail with `WriteZero`.
        }
        self.ring.op(self.fd.send_all(buf).extract()).await
    }

    /// Sends some bytes of several buffers; returns them and how many bytes
    /// were sent.
    pub async fn send_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, usize)> {
        self.ring.op(self.fd.send_vectored(bufs).extract()).await
    }

    /// Sends all bytes of several buffers; returns them.
    pub async fn send_all_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<B> {
        if bufs.total_len() == 0 {
            return Ok(bufs); // a10 would fail with `WriteZero`.
        }
        self.ring
            .op(self.fd.send_all_vectored(bufs).extract())
            .await
    }

    /// Sends `length` bytes of `file` from `offset` without copying them
    /// through user space (the kernel splices them through a pipe). Stops
    /// early at the end of the file; returns how many bytes were sent.
    pub async fn send_file<F: AsFd>(&self, file: &F, offset: u64, length: u64) -> io::Result<u64> {
        let [read_end, write_end] = a10::pipe::sync_pipe()?;
        // Dropped after the pipe's ends (locals drop in reverse order):
        // dropping the ring submits the closes their drops queue.
        let _close_pipe = self.ring.clone();
        let read_end = AsyncFd::new(read_end, self.ring.sq());
        let write_end = AsyncFd::new(write_end, self.ring.sq());
        let socket = self.borrowed_fd()?;
        let file = file.as_fd();
        let mut sent = 0;
        while sent < length {
            let chunk = u32::try_from(length - sent).map_or(SPLICE_CHUNK, |n| n.min(SPLICE_CHUNK));
            let filled = self
                .ring
                .op(write_end.splice_from(file, chunk).from(offset + sent))
                .await?;
            if filled == 0 {
                break; // End of the file.
            }
            let mut left = filled;
            while left > 0 {
                let n = u32::try_from(left).unwrap_or(SPLICE_CHUNK);
                let moved = self.ring.op(read_end.splice_to(socket, n)).await?;
                if moved == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                left -= moved;
            }
            sent += filled as u64;
        }
        Ok(sent)
    }

    /// Shuts down the reading, writing or both halves of the connection.
    pub async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.ring.op(self.fd.shutdown(how)).await
    }

    /// Sets `TCP_NODELAY`: send small writes right away instead of
    /// coalescing them (Nagle's algorithm).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        with_socket(&self.fd, |socket| socket.set_tcp_nodelay(nodelay))
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        with_socket(&self.fd, |socket| socket.tcp_nodelay())
    }

    /// Enables TCP keepalive probes after the connection was idle for
    /// `idle` (`Some`), or disables them (`None`).
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        with_socket(&self.fd, |socket| match idle {
            Some(idle) => socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle)),
            None => socket.set_keepalive(false),
        })
    }

    /// Whether keepalive probes are enabled.
    pub fn keepalive(&self) -> io::Result<bool> {
        with_socket(&self.fd, |socket| socket.keepalive())
    }

    /// The address of the peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| ip_addr(&socket.peer_addr()?))
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| ip_addr(&socket.local_addr()?))
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        with_socket(&self.fd, |socket| socket.take_error())
    }

    fn borrowed_fd(&self) -> io::Result<std::os::fd::BorrowedFd<'_>> {
        self.fd
            .as_fd()
            .ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream").field("fd", &self.fd).finish()
    }
}
