//! [`TcpStream`]: a TCP connection.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};

use crate::access::Access;
use crate::net::limit::ConnectionSlot;
use crate::net::stream_ops::stream_operations;
use crate::net::timeout::{Direction, Timeouts};
use crate::net::{ip_addr, with_socket};
use crate::runtime::io::fd::IoFd;
use crate::runtime::io::file_range::FileRange;

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
    fd: IoFd,
    timeouts: Timeouts,
    /// For a connection a `Server` accepted: its place under the server's
    /// connection limit, given back when the stream is dropped (after its
    /// descriptor).
    slot: Option<ConnectionSlot>,
}

impl TcpStream {
    pub(crate) const fn from_fd(fd: IoFd) -> TcpStream {
        TcpStream {
            fd,
            timeouts: Timeouts::NONE,
            slot: None,
        }
    }

    /// Connects to `address`. A refused or failed connection keeps its
    /// [`io::ErrorKind`] and names the address.
    pub async fn connect<RT: Access + ?Sized>(
        rt: &RT,
        address: SocketAddr,
    ) -> io::Result<TcpStream> {
        let context = |err: io::Error| {
            io::Error::new(err.kind(), format!("can't connect to {address}: {err}"))
        };
        let socket = Socket::new(
            Domain::for_address(address),
            Type::STREAM,
            Some(Protocol::TCP),
        )
        .map_err(context)?;
        let fd = IoFd::connect(socket.into(), &rt.io(), address)
            .await
            .map_err(context)?;
        Ok(TcpStream::from_fd(fd))
    }

    stream_operations!();

    /// Sends `length` bytes of `file` from `offset` without copying them
    /// through user space: on io_uring the kernel splices them through a
    /// pipe, on the poll driver it sends them with `sendfile(2)` (reading
    /// the file's pages in the worker's thread). Stops early at the end of
    /// the file; returns how many bytes were sent. The write timeout, if
    /// set, bounds the whole call.
    pub async fn send_file<F: AsFd>(&self, file: &F, offset: u64, length: u64) -> io::Result<u64> {
        let range = FileRange {
            file: file.as_fd(),
            offset,
            length,
        };
        let send = self.fd.send_file(range);
        self.timed(Direction::Write, send).await
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
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.fd)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}
