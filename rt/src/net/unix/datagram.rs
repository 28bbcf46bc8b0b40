//! [`UnixDatagram`]: a Unix datagram socket.
//!
//! Receives go through the I/O driver; sends are plain non-blocking system
//! calls, see "Sending to a full queue" on [`UnixDatagram`].

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

use crate::access::Access;
use crate::io::{Buf, BufMut, BufMutSlice};
use crate::net::socket_ops::{datagram_receives, fmt_socket};
use crate::net::unix::addr::{UnixAddr, address_error, from_path, from_sock_addr, to_sock_addr};
use crate::net::with_socket;
use crate::runtime::io::Io;
use crate::runtime::io::fd::{IoFd, RecvMode};

/// The first wait before sending again to a full queue, see the module docs.
const FIRST_SEND_WAIT: Duration = Duration::from_millis(1);
/// The longest wait before sending again to a full queue.
const MAX_SEND_WAIT: Duration = Duration::from_millis(16);
/// Flags of every send: never wait in the system call, and fail with
/// `EPIPE` rather than raise `SIGPIPE`.
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;

/// A Unix datagram socket: bound to a path with [`UnixDatagram::bind`],
/// unbound ([`UnixDatagram::unbound`], it can send but not be answered
/// unless connected), or one of a connected [`UnixDatagram::pair`].
///
/// Datagrams keep their boundaries: each receive gets one datagram, and the
/// part of a datagram that does not fit the buffer's spare capacity is
/// discarded.
///
/// # Sending to a full queue
///
/// Receives go through the I/O driver like every other operation, but a
/// datagram is sent with a plain non-blocking `send(2)`/`sendto(2)`.
/// Through io_uring, a send that finds the receiver's queue full (it holds
/// `net.unix.max_dgram_qlen` datagrams, 10 by default) is retried by the
/// kernel once there is room, but Linux copies a datagram before it looks at
/// the queue, so the retry sends what is left of the buffer: an empty
/// datagram, and the send reports 0 bytes (seen on Linux 6.18). And the
/// sending socket's readiness does not tell when another socket's queue
/// has room (it does only for the connected peer). So when the queue is
/// full a send waits on the socket's ring or poll (a `timerfd`), 1 ms at
/// first and twice as long each time up to 16 ms, and tries again, on both
/// drivers: no system call waits for room in another socket's queue without
/// blocking the thread. (There are no vectored sends: a plain system call
/// needs the buffers as slices, which a10's `BufSlice` does not give
/// safely.)
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use kiln_rt::net::unix::UnixDatagram;
///
/// async fn echo(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
///     let socket = UnixDatagram::bind(ctx.runtime_ref(), "/tmp/kiln-echo.sock")?;
///     loop {
///         let (buf, peer) = socket.recv_from(Vec::with_capacity(1024)).await?;
///         socket.send_to_addr(buf, &peer).await?;
///     }
/// }
/// ```
pub struct UnixDatagram {
    fd: IoFd,
}

impl UnixDatagram {
    fn from_socket(socket: Socket, io: &Io) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            fd: IoFd::new(socket.into(), io)?,
        })
    }

    /// Creates a socket bound to `path`.
    ///
    /// Fails with [`io::ErrorKind::AddrInUse`] if `path` exists (see the
    /// [module docs](crate::net::unix)); errors keep their
    /// [`io::ErrorKind`] and name the path.
    pub fn bind<RT: Access + ?Sized, P: AsRef<Path>>(rt: &RT, path: P) -> io::Result<UnixDatagram> {
        let address = from_path(path.as_ref(), "bind a Unix datagram socket to")?;
        UnixDatagram::bind_addr(rt, &address)
    }

    /// Like [`bind`](UnixDatagram::bind), to any address, e.g. an abstract
    /// name.
    pub fn bind_addr<RT: Access + ?Sized>(
        rt: &RT,
        address: &SocketAddr,
    ) -> io::Result<UnixDatagram> {
        let socket = Socket::new(Domain::UNIX, Type::DGRAM, None)?;
        to_sock_addr(address)
            .and_then(|sock_addr| socket.bind(&sock_addr))
            .map_err(|err| address_error(err, "bind a Unix datagram socket to", address))?;
        UnixDatagram::from_socket(socket, &rt.io())
    }

    /// Creates a socket bound to no address: it can send to bound sockets,
    /// but its address is unnamed, so no one can answer it. Bind both ends,
    /// or use [`pair`](UnixDatagram::pair), for two-way traffic.
    pub fn unbound<RT: Access + ?Sized>(rt: &RT) -> io::Result<UnixDatagram> {
        let socket = Socket::new(Domain::UNIX, Type::DGRAM, None)?;
        UnixDatagram::from_socket(socket, &rt.io())
    }

    /// A pair of connected, unnamed sockets (`socketpair`), both on the
    /// ring of `rt`.
    pub fn pair<RT: Access + ?Sized>(rt: &RT) -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (one, two) = Socket::pair(Domain::UNIX, Type::DGRAM, None)?;
        let io = rt.io();
        Ok((
            UnixDatagram::from_socket(one, &io)?,
            UnixDatagram::from_socket(two, &io)?,
        ))
    }

    /// Connects the socket to `path`: [`send`](UnixDatagram::send) sends
    /// there and only datagrams from there are received.
    ///
    /// A plain system call: connecting a datagram socket only records the
    /// peer, it never waits. Errors keep their [`io::ErrorKind`] and name
    /// the path.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.connect_addr(&from_path(path.as_ref(), "connect to")?)
    }

    /// Like [`connect`](UnixDatagram::connect), to any address, e.g. an
    /// abstract name.
    pub fn connect_addr(&self, address: &SocketAddr) -> io::Result<()> {
        with_socket(&self.fd, |socket| socket.connect(&to_sock_addr(address)?))
            .map_err(|err| address_error(err, "connect to", address))
    }

    /// Sends `buf` as one datagram to `path`; returns it and how many bytes
    /// were sent. Errors keep their [`io::ErrorKind`] and name the path.
    pub async fn send_to<B: Buf, P: AsRef<Path>>(&self, buf: B, path: P) -> io::Result<(B, usize)> {
        let address = from_path(path.as_ref(), "send to")?;
        self.send_to_addr(buf, &address).await
    }

    /// Like [`send_to`](UnixDatagram::send_to), to any address, e.g. the
    /// one [`recv_from`](UnixDatagram::recv_from) returned.
    pub async fn send_to_addr<B: Buf>(
        &self,
        buf: B,
        address: &SocketAddr,
    ) -> io::Result<(B, usize)> {
        let send_error = |err| address_error(err, "send to", address);
        let sock_addr = to_sock_addr(address).map_err(send_error)?;
        self.send_datagram(buf, Some(&sock_addr))
            .await
            .map_err(send_error)
    }

    /// Receives one datagram into the spare capacity of `buf`; returns it
    /// with the bytes added, and the sender's address (unnamed if the
    /// sender is not bound).
    pub async fn recv_from<B: BufMut>(&self, buf: B) -> io::Result<(B, SocketAddr)> {
        let (buf, UnixAddr(address)) = self.fd.recv_from(buf, RecvMode::Take).await?;
        Ok((buf, address))
    }

    /// Like `recv_from`, but leaves the datagram in the socket: the next
    /// receive gets it again.
    pub async fn peek_from<B: BufMut>(&self, buf: B) -> io::Result<(B, SocketAddr)> {
        let (buf, UnixAddr(address)) = self.fd.recv_from(buf, RecvMode::Peek).await?;
        Ok((buf, address))
    }

    /// Receives one datagram into several buffers, filling them in order;
    /// returns them and the sender's address.
    pub async fn recv_from_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, SocketAddr)> {
        let (bufs, UnixAddr(address)) = self.fd.recv_from_vectored(bufs).await?;
        Ok((bufs, address))
    }

    /// Sends `buf` as one datagram to the connected peer; returns it and how
    /// many bytes were sent.
    pub async fn send<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        self.send_datagram(buf, None).await
    }

    /// Sends `buf` to `address` (or the connected peer), waiting while the
    /// receiver's queue is full, see the module docs.
    async fn send_datagram<B: Buf>(
        &self,
        buf: B,
        address: Option<&SockAddr>,
    ) -> io::Result<(B, usize)> {
        let mut wait = FIRST_SEND_WAIT;
        loop {
            let sent = with_socket(&self.fd, |socket| match address {
                Some(address) => socket.send_to_with_flags(buf.as_slice(), address, SEND_FLAGS),
                None => socket.send_with_flags(buf.as_slice(), SEND_FLAGS),
            });
            match sent {
                Ok(n) => return Ok((buf, n)),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.fd.sleep(wait).await?;
                    wait = (wait * 2).min(MAX_SEND_WAIT);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    datagram_receives!(
        /// Receives one datagram into the spare capacity of `buf`.
    );

    /// Shuts down the reading, writing or both halves of the socket.
    pub async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.fd.shutdown(how).await
    }

    /// The address the socket is bound to (unnamed if unbound).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| from_sock_addr(&socket.local_addr()?))
    }

    /// The address of the connected peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| from_sock_addr(&socket.peer_addr()?))
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        with_socket(&self.fd, |socket| socket.take_error())
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_socket(f, "UnixDatagram", &self.fd, self.local_addr().ok())
    }
}
