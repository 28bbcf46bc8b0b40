//! UDP: [`UdpSocket`], datagrams to and from any address, or to and from
//! one peer once connected.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

use crate::access::Access;
use crate::io::{Buf, BufMut, BufMutSlice, BufSlice};
use crate::net::socket_ops::{datagram_receives, fmt_socket, ttl_methods};
use crate::net::{ip_addr, with_socket};
use crate::runtime::io::fd::{IoFd, RecvMode};

/// A UDP socket.
///
/// Datagrams keep their boundaries: each receive gets one datagram, and the
/// part of a datagram that does not fit the buffer's spare capacity is
/// discarded (a UDP datagram carries at most 65,507 bytes over IPv4).
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use kiln_rt::net::udp::UdpSocket;
///
/// async fn echo(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
///     let socket = UdpSocket::bind(ctx.runtime_ref(), "127.0.0.1:7001".parse().unwrap())?;
///     let mut buf = Vec::with_capacity(2048);
///     loop {
///         buf.clear();
///         let (received, peer) = socket.recv_from(buf).await?;
///         (buf, _) = socket.send_to(received, peer).await?;
///     }
/// }
/// ```
pub struct UdpSocket {
    fd: IoFd,
}

impl UdpSocket {
    /// Creates a socket bound to `address`. Port 0 picks a free port, see
    /// [`local_addr`](UdpSocket::local_addr).
    ///
    /// A refused bind (address in use, no permission) keeps its
    /// [`io::ErrorKind`] and names the address.
    pub fn bind<RT: Access + ?Sized>(rt: &RT, address: SocketAddr) -> io::Result<UdpSocket> {
        let socket = Socket::new(
            Domain::for_address(address),
            Type::DGRAM,
            Some(Protocol::UDP),
        )?;
        socket.bind(&address.into()).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("can't bind a UDP socket to {address}: {err}"),
            )
        })?;
        Ok(UdpSocket {
            fd: IoFd::new(socket.into(), &rt.io())?,
        })
    }

    /// Connects the socket to `address`: [`send`](UdpSocket::send) sends
    /// there and only datagrams from there are received. Connecting again
    /// changes the peer.
    ///
    /// A plain system call, not `async`: connecting a UDP socket only
    /// records the peer (and picks a route), it never waits for the
    /// network. Errors keep their [`io::ErrorKind`] and name the address.
    pub fn connect(&self, address: SocketAddr) -> io::Result<()> {
        with_socket(&self.fd, |socket| socket.connect(&address.into())).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("can't connect a UDP socket to {address}: {err}"),
            )
        })
    }

    /// Sends `buf` as one datagram to `address`; returns it and how many
    /// bytes were sent.
    pub async fn send_to<B: Buf>(&self, buf: B, address: SocketAddr) -> io::Result<(B, usize)> {
        self.fd.send_to(buf, address).await
    }

    /// Sends several buffers as one datagram to `address`; returns them and
    /// how many bytes were sent.
    pub async fn send_to_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
        address: SocketAddr,
    ) -> io::Result<(B, usize)> {
        self.fd.send_to_vectored(bufs, address).await
    }

    /// Receives one datagram into the spare capacity of `buf`; returns it
    /// with the bytes added, and the sender's address.
    pub async fn recv_from<B: BufMut>(&self, buf: B) -> io::Result<(B, SocketAddr)> {
        self.fd.recv_from(buf, RecvMode::Take).await
    }

    /// Like `recv_from`, but leaves the datagram in the socket: the next
    /// receive gets it again.
    pub async fn peek_from<B: BufMut>(&self, buf: B) -> io::Result<(B, SocketAddr)> {
        self.fd.recv_from(buf, RecvMode::Peek).await
    }

    /// Receives one datagram into several buffers, filling them in order;
    /// returns them and the sender's address.
    pub async fn recv_from_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, SocketAddr)> {
        self.fd.recv_from_vectored(bufs).await
    }

    /// Sends `buf` as one datagram to the connected peer; returns it and how
    /// many bytes were sent.
    pub async fn send<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        self.fd.send(buf).await
    }

    /// Sends several buffers as one datagram to the connected peer.
    pub async fn send_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, usize)> {
        self.fd.send_vectored(bufs).await
    }

    datagram_receives!(
        /// Receives one datagram from the connected peer into the spare
        /// capacity of `buf`.
    );

    /// The address the socket is bound to, with the port the kernel picked
    /// if bound to port 0.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| ip_addr(&socket.local_addr()?))
    }

    /// The address of the connected peer; fails with
    /// [`io::ErrorKind::NotConnected`] if not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.fd, |socket| ip_addr(&socket.peer_addr()?))
    }

    /// Sets `SO_BROADCAST`: allow sending to broadcast addresses.
    pub fn set_broadcast(&self, broadcast: bool) -> io::Result<()> {
        with_socket(&self.fd, |socket| socket.set_broadcast(broadcast))
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        with_socket(&self.fd, |socket| socket.broadcast())
    }

    ttl_methods!(
        /// Sets the IP time-to-live (`IP_TTL`) of datagrams sent from now on.
    );

    /// Takes the pending socket error (`SO_ERROR`), if any: e.g. an ICMP
    /// "port unreachable" for a connected socket.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        with_socket(&self.fd, |socket| socket.take_error())
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_socket(f, "UdpSocket", &self.fd, self.local_addr().ok())
    }
}
