//! [`UnixStream`]: a Unix stream socket connection.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use a10::net::RecvFlag;
use a10::{AsyncFd, Extract};
use socket2::{Domain, Socket, Type};

use crate::access::Access;
use crate::io::{Buf, BufMut, BufMutSlice, BufSlice, IoRing};
use crate::net::unix::addr::{UnixAddr, describe, from_sock_addr};
use crate::net::with_socket;

/// A Unix stream socket connection: from [`UnixStream::connect`] or
/// [`UnixStream::pair`], or accepted by a
/// [`UnixListener`](crate::net::unix::UnixListener).
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use kiln_rt::net::unix::UnixStream;
///
/// async fn client(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
///     let stream = UnixStream::connect(ctx.runtime_ref(), "/tmp/kiln.sock").await?;
///     stream.send_all("ping\n").await?;
///     let reply = stream.recv(Vec::with_capacity(64)).await?;
///     println!("got {} bytes", reply.len());
///     Ok(())
/// }
/// ```
pub struct UnixStream {
    fd: AsyncFd,
    ring: IoRing,
}

impl UnixStream {
    pub(crate) const fn from_fd(fd: AsyncFd, ring: IoRing) -> UnixStream {
        UnixStream { fd, ring }
    }

    /// Connects to the listener at `path`. Errors (no such file, refused)
    /// keep their [`io::ErrorKind`] and name the path.
    pub async fn connect<RT: Access + ?Sized, P: AsRef<Path>>(
        rt: &RT,
        path: P,
    ) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let address = SocketAddr::from_pathname(path).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("can't connect to {}: {err}", path.display()),
            )
        })?;
        UnixStream::connect_addr(rt, &address).await
    }

    /// Like [`connect`](UnixStream::connect), to any address, e.g. an
    /// abstract name.
    pub async fn connect_addr<RT: Access + ?Sized>(
        rt: &RT,
        address: &SocketAddr,
    ) -> io::Result<UnixStream> {
        let ring = rt.io_ring();
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        let stream = UnixStream::from_fd(AsyncFd::new(socket.into(), ring.sq()), ring);
        stream
            .ring
            .op(stream.fd.connect(UnixAddr(address.clone())))
            .await
            .map_err(|err| {
                io::Error::new(
                    err.kind(),
                    format!("can't connect to {}: {err}", describe(address)),
                )
            })?;
        Ok(stream)
    }

    /// A pair of connected, unnamed streams (`socketpair`), both on the ring
    /// of `rt`.
    pub fn pair<RT: Access + ?Sized>(rt: &RT) -> io::Result<(UnixStream, UnixStream)> {
        let (one, two) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
        let ring = rt.io_ring();
        let one = UnixStream::from_fd(AsyncFd::new(one.into(), ring.sq()), ring.clone());
        let two = UnixStream::from_fd(AsyncFd::new(two.into(), ring.sq()), ring);
        Ok((one, two))
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
        self.ring
            .op(self.fd.send_all_vectored(bufs).extract())
            .await
    }

    /// Shuts down the reading, writing or both halves of the connection.
    pub async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.ring.op(self.fd.shutdown(how)).await
    }

    /// The address of the peer (a listener's address, or unnamed).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| from_sock_addr(&socket.peer_addr()?))
    }

    /// The local address of the connection (usually unnamed for a client).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| from_sock_addr(&socket.local_addr()?))
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        with_socket(&self.fd, |socket| socket.take_error())
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream").field("fd", &self.fd).finish()
    }
}
