//! [`Listener`]: the kinds of listening socket a [`Server`](super::Server)
//! serves, and what the server needs of each (the sealed [`Listen`]):
//! binding once when the setup is made, a listener for every server actor,
//! accepting, and the connection's settings. Implemented here for TCP and in
//! [`unix_socket`](super::unix_socket) for Unix-domain sockets; `serve` is written once
//! against it.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;

use socket2::Socket;

use crate::net::limit::ConnectionSlot;
use crate::net::tcp::{TcpListener, TcpStream, bound_socket};
use crate::net::timeout::Timeouts;
use crate::runtime::io::Io;

/// A kind of listening socket a [`Server`](super::Server) can serve:
/// [`TcpListener`] (made by [`Server::new`](super::Server::new), the
/// default) or [`UnixListener`](crate::net::UnixListener) (made by
/// [`Server::new_unix`](super::Server::new_unix)). It names the types a
/// connection actor gets: the stream and the peer's address.
///
/// Sealed: kiln implements it for these two only.
pub trait Listener: Listen {}

impl<L: Listen> Listener for L {}

/// What a server needs of a [`Listener`]; public only in name (a sealed
/// supertrait), so that the server's bounds can use it.
#[allow(
    private_interfaces,
    reason = "sealed: users can't name this trait or call its methods, which take the \
              runtime's own types"
)]
pub trait Listen: Sized + Send + 'static {
    /// A connection: the first half of a connection actor's argument.
    type Stream: Send + 'static;
    /// The address of the server and of a peer: the second half of a
    /// connection actor's argument.
    type Address: Clone + fmt::Debug + Send + Sync + 'static;
    /// What a server setup holds for as long as it and its servers live:
    /// made once by [`Server`](super::Server)'s constructors, shared by the
    /// server actors.
    type Bound: fmt::Debug + Send + Sync + 'static;

    /// The address `bound` is bound to.
    fn address(bound: &Self::Bound) -> &Self::Address;

    /// A listener for one server actor, on the driver of `io`.
    fn listen(bound: &Self::Bound, io: &Io) -> io::Result<Self>;

    /// Waits for a connection; returns it and the peer's address.
    fn accept(&self)
    -> impl Future<Output = io::Result<(Self::Stream, Self::Address)>> + Send + '_;

    /// Sets the timeouts of a connection the server accepted, and the slot
    /// it holds under the server's connection limit.
    fn accepted(stream: &mut Self::Stream, timeouts: Timeouts, slot: ConnectionSlot);

    /// Writes `address` for people (logs, errors).
    fn fmt_address(address: &Self::Address, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// Shows an address of listener kind `L` for people.
pub(crate) struct Shown<'a, L: Listen>(pub(crate) &'a L::Address);

impl<L: Listen> fmt::Display for Shown<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        L::fmt_address(self.0, f)
    }
}

/// The socket that reserves a TCP server's port: bound (with
/// `SO_REUSEPORT`) but not listening, so that no other program can take
/// the port while the servers restart, and connections are refused once
/// every server stopped. Each server actor binds a listener of its own to
/// the same port, and the kernel spreads the connections over them.
#[derive(Debug)]
pub struct TcpReservation {
    address: SocketAddr,
    _socket: Socket,
}

impl TcpReservation {
    /// Binds to `address`, resolving port 0 to a free port.
    pub(crate) fn bind(address: SocketAddr) -> io::Result<TcpReservation> {
        let socket = bound_socket(address, true, "a server")?;
        let address = crate::net::ip_addr(&socket.local_addr()?)?;
        Ok(TcpReservation {
            address,
            _socket: socket,
        })
    }
}

#[allow(private_interfaces, reason = "sealed trait, see `Listen`")]
impl Listen for TcpListener {
    type Stream = TcpStream;
    type Address = SocketAddr;
    type Bound = TcpReservation;

    fn address(bound: &TcpReservation) -> &SocketAddr {
        &bound.address
    }

    fn listen(bound: &TcpReservation, io: &Io) -> io::Result<TcpListener> {
        TcpListener::bind_on(io, bound.address, true)
    }

    fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send + '_ {
        TcpListener::accept(self)
    }

    fn accepted(stream: &mut TcpStream, timeouts: Timeouts, slot: ConnectionSlot) {
        stream.accepted_by_server(timeouts, slot);
    }

    fn fmt_address(address: &SocketAddr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(address, f)
    }
}
