//! What several kinds of socket share besides the stream operations (see
//! [`stream_ops`](super::stream_ops)), written once: the receives of a
//! datagram socket ([`UdpSocket`](crate::net::UdpSocket) and
//! [`UnixDatagram`](crate::net::UnixDatagram)), the IP time-to-live
//! ([`TcpListener`](crate::net::TcpListener) and `UdpSocket`), and the
//! `Debug` form of a socket that shows its address.
//!
//! Macros rather than a generic type for the same reason as `stream_ops`:
//! each socket stays a plain struct with its own inherent, documented
//! methods. A type using them has the field
//! `fd: crate::runtime::io::fd::IoFd`.

use std::fmt;

use crate::runtime::io::fd::IoFd;

/// Expands, inside an `impl` block, to the receives of a datagram socket:
/// `recv` (documented by the attributes given), `peek` and
/// `recv_vectored`.
macro_rules! datagram_receives {
    ($(#[$recv_doc: meta])*) => {
        $(#[$recv_doc])*
        pub async fn recv<B: $crate::io::BufMut>(&self, buf: B) -> ::std::io::Result<B> {
            self.fd
                .recv(buf, $crate::runtime::io::fd::RecvMode::Take)
                .await
        }

        /// Like `recv`, but leaves the datagram in the socket.
        pub async fn peek<B: $crate::io::BufMut>(&self, buf: B) -> ::std::io::Result<B> {
            self.fd
                .recv(buf, $crate::runtime::io::fd::RecvMode::Peek)
                .await
        }

        /// Receives one datagram into several buffers, filling them in order.
        pub async fn recv_vectored<B: $crate::io::BufMutSlice<N>, const N: usize>(
            &self,
            bufs: B,
        ) -> ::std::io::Result<B> {
            self.fd.recv_vectored(bufs).await
        }
    };
}
pub(crate) use datagram_receives;

/// Expands, inside an `impl` block of an IP socket, to `set_ttl`
/// (documented by the attributes given) and `ttl`.
macro_rules! ttl_methods {
    ($(#[$set_doc: meta])*) => {
        $(#[$set_doc])*
        pub fn set_ttl(&self, ttl: u32) -> ::std::io::Result<()> {
            $crate::net::with_socket(&self.fd, |socket| socket.set_ttl_v4(ttl))
        }

        /// The IP time-to-live.
        pub fn ttl(&self) -> ::std::io::Result<u32> {
            $crate::net::with_socket(&self.fd, |socket| socket.ttl_v4())
        }
    };
}
pub(crate) use ttl_methods;

/// Writes the `Debug` form of a socket of type `name`: its descriptor and
/// the address it is bound to (`None` if that can't be read).
pub(crate) fn fmt_socket<A: fmt::Debug>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    fd: &IoFd,
    address: Option<A>,
) -> fmt::Result {
    f.debug_struct(name)
        .field("fd", fd)
        .field("address", &address)
        .finish()
}
