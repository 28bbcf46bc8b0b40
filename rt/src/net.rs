//! Networking for actors: TCP, UDP and Unix sockets, and [`Server`], the
//! actor-per-connection server, on a TCP address ([`Server::new`]) or a Unix
//! socket path ([`Server::new_unix`]). They run on either I/O driver, io_uring
//! or epoll (see [`IoDriver`](crate::io::IoDriver)), with the same API.
//!
//! # Sockets belong to a ring (or poll)
//!
//! A socket is created with a runtime access (`ctx.runtime()` or a
//! [`RuntimeRef`](crate::RuntimeRef)) and is bound to its driver for life:
//! a thread-local actor's socket uses its worker's ring (or poll instance),
//! a thread-safe or synchronous actor's socket the runtime's shared one. A
//! socket accepted by a listener uses the listener's. Sockets are `Send`,
//! but a socket moved to another worker still has its I/O completed by the
//! first one, so create sockets where they are used.
//!
//! On the poll driver every operation is a non-blocking system call retried
//! when the socket is ready, and `TcpStream::send_file` uses `sendfile(2)`
//! (the file's pages are read in the worker's thread).
//!
//! # Buffers
//!
//! Operations take their buffer by value and hand it back with the result,
//! see [`io`](crate::io). Dropping an operation's future (e.g. when a
//! [`Deadline`](crate::timer::Deadline) passes) cancels it; the socket can
//! be used again right away.
//!
//! # Timeouts
//!
//! A stream's read and write timeouts ([`TcpStream::set_read_timeout`],
//! [`TcpStream::set_write_timeout`], the same on [`UnixStream`]), set once,
//! bound every receive and every send: an operation not done in time fails
//! with [`io::ErrorKind::TimedOut`] and is cancelled as if dropped. A
//! [`Server`] sets them on every connection it accepts
//! ([`ServerSetup::with_read_timeout`], [`ServerSetup::with_write_timeout`]),
//! so that a client that stops sending, or sends and never reads, can't
//! hold its connection (and the runtime's shutdown) for ever. A server also
//! limits the connections open at once
//! ([`ServerSetup::with_max_connections`]).
//!
//! # Creating sockets
//!
//! Creating, binding and configuring a socket are quick system calls that
//! never wait, so they are plain functions (`TcpListener::bind`,
//! `UdpSocket::bind`); operations that wait for the network (`connect`,
//! `accept`, `recv`, `send`) are `async`.

mod budget;
mod incoming;
mod limit;
mod server;
mod socket_ops;
mod stream_ops;
pub mod tcp;
pub(crate) mod timeout;
pub mod udp;
pub mod unix;

pub use budget::{BudgetExceeded, MemoryBudget, Reservation};
pub use incoming::Incoming;
pub use server::{
    DEFAULT_MAX_CONNECTIONS, Listener, Server, ServerError, ServerMessage, ServerSetup,
};
#[doc(no_inline)]
pub use tcp::{TcpListener, TcpStream};
#[doc(no_inline)]
pub use udp::UdpSocket;
#[doc(no_inline)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};

use std::io;
use std::net::SocketAddr;

/// Converts a socket2 address of an IP socket into a std one.
pub(crate) fn ip_addr(address: &socket2::SockAddr) -> io::Result<SocketAddr> {
    address.as_socket().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "socket address is not an IPv4 or IPv6 address",
        )
    })
}

/// Runs `f` with a socket2 view of `fd`, for options and addresses (plain
/// system calls that never wait).
pub(crate) fn with_socket<T>(
    fd: &crate::runtime::io::fd::IoFd,
    f: impl FnOnce(socket2::SockRef<'_>) -> io::Result<T>,
) -> io::Result<T> {
    let fd = fd.borrow()?;
    f(socket2::SockRef::from(&fd))
}
