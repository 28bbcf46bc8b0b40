//! [`TcpListener`]: a listening TCP socket, and [`Incoming`], the stream of
//! connections it accepts.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

use crate::access::Access;
use crate::net::incoming;
use crate::net::socket_ops::{fmt_socket, ttl_methods};
use crate::net::tcp::TcpStream;
use crate::net::{ip_addr, with_socket};
use crate::runtime::io::Io;
use crate::runtime::io::fd::IoFd;

/// The backlog of pending connections a listener asks the kernel for (the
/// kernel caps it at `net.core.somaxconn`).
const BACKLOG: i32 = 1024;

/// A TCP socket listening for connections.
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use kiln_rt::net::TcpListener;
///
/// async fn acceptor(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
///     let listener = TcpListener::bind(ctx.runtime_ref(), "127.0.0.1:0".parse().unwrap())?;
///     println!("listening on {}", listener.local_addr()?);
///     let (stream, peer) = listener.accept().await?;
///     stream.send_all(format!("hello {peer}\n")).await?;
///     Ok(())
/// }
/// ```
pub struct TcpListener {
    fd: IoFd,
}

impl TcpListener {
    /// Creates a socket bound to `address` and listening on it (with
    /// `SO_REUSEADDR`, as servers want). Port 0 picks a free port, see
    /// [`local_addr`](TcpListener::local_addr).
    ///
    /// A refused bind (address in use, no permission) keeps its
    /// [`io::ErrorKind`] and names the address.
    pub fn bind<RT: Access + ?Sized>(rt: &RT, address: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind_on(&rt.io(), address, false)
    }

    /// Like `bind`, optionally with `SO_REUSEPORT`: several listeners (one
    /// per worker) on one port, between which the kernel spreads connections.
    pub(crate) fn bind_on(
        io: &Io,
        address: SocketAddr,
        reuse_port: bool,
    ) -> io::Result<TcpListener> {
        let socket = bound_socket(address, reuse_port, "a TCP listener")?;
        socket.listen(BACKLOG)?;
        Ok(TcpListener {
            fd: IoFd::new(socket.into(), io)?,
        })
    }

    /// The address the listener is bound to, with the port the kernel
    /// picked if bound to port 0.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| ip_addr(&socket.local_addr()?))
    }

    /// Waits for a connection; returns it and the peer's address. The
    /// stream uses the listener's ring (or poll).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, address) = self.fd.accept::<SocketAddr>().await?;
        Ok((TcpStream::from_fd(fd), address))
    }

    /// A stream of accepted connections, using a multishot accept on
    /// io_uring (one operation for many connections; an error, e.g. too
    /// many open files, ends it, and the next poll starts a new one), and
    /// `accept4(2)` each time the listener is ready on the poll driver.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming::new(&self.fd, TcpStream::from_fd)
    }

    ttl_methods!(
        /// Sets the IP time-to-live of connections accepted from now on.
    );

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        with_socket(&self.fd, |socket| socket.take_error())
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_socket(f, "TcpListener", &self.fd, self.local_addr().ok())
    }
}

/// A TCP socket bound to `address` with `SO_REUSEADDR` (and `SO_REUSEPORT`
/// if `reuse_port`), not listening yet; a refused bind names `what` was
/// bound and the address.
pub(crate) fn bound_socket(
    address: SocketAddr,
    reuse_port: bool,
    what: &str,
) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&address.into()).map_err(|err| {
        io::Error::new(err.kind(), format!("can't bind {what} to {address}: {err}"))
    })?;
    Ok(socket)
}

/// The connections a [`TcpListener`] accepts, see [`TcpListener::incoming`].
pub type Incoming<'l> = incoming::Incoming<'l, TcpStream>;
