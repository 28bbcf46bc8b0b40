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
    /// What keeps a server's address bound, in its [`Bound`], while the
    /// setup and its servers live: the reserved port, the listening Unix
    /// socket.
    type Reservation: fmt::Debug + Send + Sync + 'static;

    /// A listener for one server actor on `bound`, on the driver of `io`.
    fn listen(bound: &Bound<Self>, io: &Io) -> io::Result<Self>;

    /// Waits for a connection; returns it and the peer's address.
    fn accept(&self)
    -> impl Future<Output = io::Result<(Self::Stream, Self::Address)>> + Send + '_;

    /// Sets the timeouts of a connection the server accepted, and the slot
    /// it holds under the server's connection limit.
    fn accepted(stream: &mut Self::Stream, timeouts: Timeouts, slot: ConnectionSlot);

    /// Writes `address` for people (logs, errors).
    fn fmt_address(address: &Self::Address, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// What a server setup holds for as long as it and its servers live: the
/// address the servers listen on (for TCP with the port resolved) and what
/// keeps it bound. Made once by [`Server`](super::Server)'s constructors,
/// shared by the server actors.
#[derive(Debug)]
pub(crate) struct Bound<L: Listen> {
    pub(crate) address: L::Address,
    pub(crate) reservation: L::Reservation,
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
    _socket: Socket,
}

impl TcpReservation {
    /// Binds to `address`, resolving port 0 to a free port.
    pub(crate) fn bind(address: SocketAddr) -> io::Result<Bound<TcpListener>> {
        let socket = bound_socket(address, true, "a server")?;
        let address = crate::net::ip_addr(&socket.local_addr()?)?;
        Ok(Bound {
            address,
            reservation: TcpReservation { _socket: socket },
        })
    }
}

/// Implements [`Listen`] for a listener kind: its types, and the two
/// parts that differ between kinds (making a server actor's listener on
/// the [`Bound`] address, and showing an address), written like closures.
/// Accepting and handing the connection its settings forward to the
/// listener's and the stream's own methods, the same for every kind.
macro_rules! impl_listen {
    (
        $listener: ty {
            stream: $stream: ty,
            address: $address: ty,
            reservation: $reservation: ty,
        }
        listen: |$bound: ident, $io: ident| $listen: expr,
        fmt_address: |$shown: ident, $f: ident| $fmt_address: expr $(,)?
    ) => {
        #[allow(private_interfaces, reason = "sealed trait, see `Listen`")]
        impl $crate::net::server::listener::Listen for $listener {
            type Stream = $stream;
            type Address = $address;
            type Reservation = $reservation;

            fn listen(
                $bound: &$crate::net::server::listener::Bound<$listener>,
                $io: &$crate::runtime::io::Io,
            ) -> ::std::io::Result<$listener> {
                $listen
            }

            fn accept(
                &self,
            ) -> impl ::std::future::Future<Output = ::std::io::Result<($stream, $address)>> + Send + '_
            {
                <$listener>::accept(self)
            }

            fn accepted(
                stream: &mut $stream,
                timeouts: $crate::net::timeout::Timeouts,
                slot: $crate::net::limit::ConnectionSlot,
            ) {
                stream.accepted_by_server(timeouts, slot);
            }

            fn fmt_address(
                $shown: &$address,
                $f: &mut ::std::fmt::Formatter<'_>,
            ) -> ::std::fmt::Result {
                $fmt_address
            }
        }
    };
}
pub(crate) use impl_listen;

impl_listen!(
    TcpListener {
        stream: TcpStream,
        address: SocketAddr,
        reservation: TcpReservation,
    }
    listen: |bound, io| TcpListener::bind_on(io, bound.address, true),
    fmt_address: |address, f| fmt::Display::fmt(address, f),
);
