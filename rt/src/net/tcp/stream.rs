//! [`TcpStream`]: a TCP connection.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use a10::AsyncFd;
use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};

use crate::access::Access;
use crate::net::limit::ConnectionSlot;
use crate::net::stream_ops::stream_operations;
use crate::net::timeout::{Direction, Timeouts};
use crate::net::{ip_addr, with_socket};
use crate::runtime::io::{FdRing, IoRing};

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
    // After `fd`, so dropped after it: counts the close `fd`'s drop queues.
    ring: FdRing,
    timeouts: Timeouts,
    /// For a connection a `Server` accepted: its place under the server's
    /// connection limit, given back when the stream is dropped (after its
    /// descriptor).
    _slot: Option<ConnectionSlot>,
}

impl TcpStream {
    pub(crate) const fn from_fd(fd: AsyncFd, ring: IoRing) -> TcpStream {
        TcpStream {
            fd,
            ring: FdRing::new(ring),
            timeouts: Timeouts::NONE,
            _slot: None,
        }
    }

    /// Sets the timeouts of a connection a server accepted, and the slot it
    /// holds under the server's connection limit.
    pub(crate) fn accepted_by_server(&mut self, timeouts: Timeouts, slot: ConnectionSlot) {
        self.timeouts = timeouts;
        self._slot = Some(slot);
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

    stream_operations!();

    /// Sends `length` bytes of `file` from `offset` without copying them
    /// through user space (the kernel splices them through a pipe). Stops
    /// early at the end of the file; returns how many bytes were sent. The
    /// write timeout, if set, bounds the whole call.
    pub async fn send_file<F: AsFd>(&self, file: &F, offset: u64, length: u64) -> io::Result<u64> {
        let send = self.splice_file(file.as_fd(), offset, length);
        self.timed(Direction::Write, send).await
    }

    /// [`send_file`](TcpStream::send_file) without its timeout.
    async fn splice_file(
        &self,
        file: std::os::fd::BorrowedFd<'_>,
        offset: u64,
        length: u64,
    ) -> io::Result<u64> {
        let [read_end, write_end] = a10::pipe::sync_pipe()?;
        // Dropped after the pipe's ends (locals drop in reverse order): counts
        // the closes their drops queue, like the `FdRing` of an I/O type.
        let _close_pipe = FdRing::new(IoRing::clone(&self.ring));
        let read_end = AsyncFd::new(read_end, self.ring.sq());
        let write_end = AsyncFd::new(write_end, self.ring.sq());
        let socket = self.borrowed_fd()?;
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

    fn borrowed_fd(&self) -> io::Result<std::os::fd::BorrowedFd<'_>> {
        self.fd
            .as_fd()
            .ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))
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
