//! [`UnixStream`]: a Unix stream socket connection.

use std::fmt;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use a10::AsyncFd;
use socket2::{Domain, Socket, Type};

use crate::access::Access;
use crate::net::stream_ops::stream_operations;
use crate::net::timeout::Timeouts;
use crate::net::unix::addr::{UnixAddr, describe, from_sock_addr};
use crate::net::with_socket;
use crate::runtime::io::{FdRing, IoRing};

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
    // After `fd`, so dropped after it: counts the close `fd`'s drop queues.
    ring: FdRing,
    timeouts: Timeouts,
}

impl UnixStream {
    pub(crate) const fn from_fd(fd: AsyncFd, ring: IoRing) -> UnixStream {
        UnixStream {
            fd,
            ring: FdRing::new(ring),
            timeouts: Timeouts::NONE,
        }
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

    stream_operations!();

    /// The address of the peer (a listener's address, or unnamed).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| from_sock_addr(&socket.peer_addr()?))
    }

    /// The local address of the connection (usually unnamed for a client).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| from_sock_addr(&socket.local_addr()?))
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.fd)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}
