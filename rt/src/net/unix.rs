//! Unix domain sockets: [`UnixListener`] accepts connections, [`UnixStream`]
//! is one, [`UnixDatagram`] sends and receives datagrams.
//!
//! # Addresses
//!
//! Addresses are std's [`SocketAddr`]: a path name, an abstract name (Linux;
//! made with [`SocketAddrExt::from_abstract_name`]) or unnamed (an unbound
//! socket). Functions taking a path (`bind`, `connect`, `send_to`) have an
//! `_addr` twin taking a [`SocketAddr`], for abstract names.
//!
//! Binding creates a socket file at the path; it stays after the socket is
//! closed, and binding to a path that exists fails with
//! [`io::ErrorKind::AddrInUse`](std::io::ErrorKind::AddrInUse). Remove the
//! file (`std::fs::remove_file`) to bind there again. Abstract names leave
//! no file behind.
//!
//! [`SocketAddrExt::from_abstract_name`]: std::os::linux::net::SocketAddrExt::from_abstract_name

mod addr;
mod datagram;
mod listener;
mod stream;

pub(crate) use addr::{describe, from_path};
pub use datagram::UnixDatagram;
pub(crate) use listener::bind_listening;
pub use listener::{Incoming, UnixListener};
#[doc(no_inline)]
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;
