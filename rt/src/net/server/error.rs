//! [`ServerError`]: why a server actor stopped with an error, for its
//! supervisor.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::SocketAddr;

use crate::net::server::listener::{Listener, Shown};
use crate::net::tcp::TcpListener;
use crate::net::unix::{self, UnixListener};

/// Why a server actor stopped with an error: accepting a connection failed
/// (e.g. too many open files). It goes to the server's supervisor, which may
/// restart it; a restarted server backs off before accepting again (see
/// [`Server`](super::Server)).
///
/// `L` is the server's [`Listener`](super::Listener): `ServerError` is a TCP
/// server's error, `ServerError<UnixListener>` a Unix server's.
pub struct ServerError<L: Listener = TcpListener> {
    address: L::Address,
    source: io::Error,
}

impl<L: Listener> ServerError<L> {
    pub(crate) const fn new(address: L::Address, source: io::Error) -> ServerError<L> {
        ServerError { address, source }
    }

    /// The underlying I/O error.
    pub const fn io_error(&self) -> &io::Error {
        &self.source
    }
}

impl ServerError {
    /// The address of the server.
    pub const fn address(&self) -> SocketAddr {
        self.address
    }
}

impl ServerError<UnixListener> {
    /// The address of the server.
    pub const fn address(&self) -> &unix::SocketAddr {
        &self.address
    }
}

impl<L: Listener> fmt::Debug for ServerError<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerError")
            .field("address", &self.address)
            .field("source", &self.source)
            .finish()
    }
}

impl<L: Listener> fmt::Display for ServerError<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server on {}: can't accept a connection: {}",
            Shown::<L>(&self.address),
            self.source
        )
    }
}

impl<L: Listener> StdError for ServerError<L> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

impl<L: Listener> From<ServerError<L>> for io::Error {
    fn from(err: ServerError<L>) -> io::Error {
        io::Error::new(err.source.kind(), err)
    }
}
