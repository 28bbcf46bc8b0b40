//! [`UnixListener`]: a listening Unix stream socket, and [`Incoming`], the
//! stream of connections it accepts.

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{Domain, Socket, Type};

use crate::access::Access;
use crate::net::incoming;
use crate::net::socket_ops::fmt_socket;
use crate::net::unix::UnixStream;
use crate::net::unix::addr::{UnixAddr, describe, from_path, from_sock_addr, to_sock_addr};
use crate::net::with_socket;
use crate::runtime::io::Io;
use crate::runtime::io::fd::IoFd;

/// The backlog of pending connections a listener asks the kernel for (the
/// kernel caps it at `net.core.somaxconn`).
const BACKLOG: i32 = 1024;

/// A Unix stream socket listening for connections.
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use kiln_rt::net::unix::UnixListener;
///
/// async fn acceptor(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
///     let listener = UnixListener::bind(ctx.runtime_ref(), "/tmp/kiln.sock")?;
///     let (stream, _peer) = listener.accept().await?;
///     stream.send_all("hello\n").await?;
///     Ok(())
/// }
/// ```
pub struct UnixListener {
    fd: IoFd,
}

impl UnixListener {
    /// Creates a socket bound to `path` and listening on it.
    ///
    /// Fails with [`io::ErrorKind::AddrInUse`] if `path` exists (see the
    /// [module docs](crate::net::unix)); errors keep their
    /// [`io::ErrorKind`] and name the path.
    pub fn bind<RT: Access + ?Sized, P: AsRef<Path>>(rt: &RT, path: P) -> io::Result<UnixListener> {
        let address = from_path(path.as_ref(), "bind a Unix listener to")?;
        UnixListener::bind_addr(rt, &address)
    }

    /// Like [`bind`](UnixListener::bind), to any address, e.g. an abstract
    /// name.
    pub fn bind_addr<RT: Access + ?Sized>(
        rt: &RT,
        address: &SocketAddr,
    ) -> io::Result<UnixListener> {
        let socket = bind_listening(address, "a Unix listener")?;
        UnixListener::from_socket(socket.into(), &rt.io())
    }

    /// A listener on `socket`, a listening Unix stream socket, on the
    /// driver of `io`.
    pub(crate) fn from_socket(socket: OwnedFd, io: &Io) -> io::Result<UnixListener> {
        Ok(UnixListener {
            fd: IoFd::new(socket, io)?,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| from_sock_addr(&socket.local_addr()?))
    }

    /// Waits for a connection; returns it and the peer's address (usually
    /// unnamed: clients rarely bind). The stream uses the listener's ring
    /// (or poll).
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (fd, UnixAddr(address)) = self.fd.accept::<UnixAddr>().await?;
        Ok((UnixStream::from_fd(fd), address))
    }

    /// A stream of accepted connections, using a multishot accept on
    /// io_uring (one operation for many connections; an error, e.g. too
    /// many open files, ends it, and the next poll starts a new one), and
    /// `accept4(2)` each time the listener is ready on the poll driver.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming::new(&self.fd, UnixStream::from_fd)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        with_socket(&self.fd, |socket| socket.take_error())
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_socket(f, "UnixListener", &self.fd, self.local_addr().ok())
    }
}

/// A Unix stream socket bound to `address` and listening on it; errors name
/// `what` was bound and the address, and say what to do about the two
/// common ones (the path exists, its directory does not).
pub(crate) fn bind_listening(address: &SocketAddr, what: &str) -> io::Result<Socket> {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    to_sock_addr(address)
        .and_then(|sock_addr| socket.bind(&sock_addr))
        .and_then(|()| socket.listen(BACKLOG))
        .map_err(|err| {
            let hint = match err.kind() {
                io::ErrorKind::AddrInUse if address.as_pathname().is_some() => {
                    " (the path exists: if it is a socket file no program listens on any \
                     more, remove it)"
                }
                io::ErrorKind::AddrInUse => " (another socket has this abstract name)",
                io::ErrorKind::NotFound => " (its directory does not exist)",
                _ => "",
            };
            io::Error::new(
                err.kind(),
                format!("can't bind {what} to {}: {err}{hint}", describe(address)),
            )
        })?;
    Ok(socket)
}

/// The connections a [`UnixListener`] accepts, see [`UnixListener::incoming`].
pub type Incoming<'l> = incoming::Incoming<'l, UnixStream>;
