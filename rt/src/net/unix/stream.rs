//! [`UnixStream`]: a Unix stream socket connection.

use std::fmt;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{Domain, Socket, Type};

use crate::access::Access;
use crate::net::limit::ConnectionSlot;
use crate::net::stream_ops::stream_operations;
use crate::net::timeout::Timeouts;
use crate::net::unix::addr::{UnixAddr, address_error, from_path, from_sock_addr};
use crate::net::with_socket;
use crate::runtime::io::fd::IoFd;

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
    fd: IoFd,
    timeouts: Timeouts,
    /// For a connection a `Server` accepted: its place under the server's
    /// connection limit, given back when the stream is dropped (after its
    /// descriptor).
    slot: Option<ConnectionSlot>,
}

impl UnixStream {
    pub(crate) const fn from_fd(fd: IoFd) -> UnixStream {
        UnixStream {
            fd,
            timeouts: Timeouts::NONE,
            slot: None,
        }
    }

    /// Connects to the listener at `path`. Errors (no such file, refused)
    /// keep their [`io::ErrorKind`] and name the path.
    pub async fn connect<RT: Access + ?Sized, P: AsRef<Path>>(
        rt: &RT,
        path: P,
    ) -> io::Result<UnixStream> {
        let address = from_path(path.as_ref(), "connect to")?;
        UnixStream::connect_addr(rt, &address).await
    }

    /// Like [`connect`](UnixStream::connect), to any address, e.g. an
    /// abstract name.
    pub async fn connect_addr<RT: Access + ?Sized>(
        rt: &RT,
        address: &SocketAddr,
    ) -> io::Result<UnixStream> {
        let context = |err| address_error(err, "connect to", address);
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(context)?;
        let fd = IoFd::connect(socket.into(), &rt.io(), UnixAddr(address.clone()))
            .await
            .map_err(context)?;
        Ok(UnixStream::from_fd(fd))
    }

    /// A pair of connected, unnamed streams (`socketpair`), both on the ring
    /// (or poll) of `rt`.
    pub fn pair<RT: Access + ?Sized>(rt: &RT) -> io::Result<(UnixStream, UnixStream)> {
        let (one, two) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
        let io = rt.io();
        let one = UnixStream::from_fd(IoFd::new(one.into(), &io)?);
        let two = UnixStream::from_fd(IoFd::new(two.into(), &io)?);
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
