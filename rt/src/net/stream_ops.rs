//! The operations of a connected stream socket, written once for
//! [`TcpStream`](crate::net::TcpStream) and
//! [`UnixStream`](crate::net::UnixStream): receiving, sending, shutting
//! down, the pending error, and the read and write timeouts every receive
//! and send runs under (see [`timeout`](crate::net::timeout)).
//!
//! A macro rather than a generic type: each stream stays a plain struct
//! with its own inherent methods (what users see in the docs and what the
//! compiler inlines), and the two cannot drift apart, as they once did
//! (`UnixStream::send_all` of an empty buffer failed with `WriteZero` while
//! `TcpStream`'s returned at once). A type using it has the fields
//! `fd: crate::runtime::io::fd::IoFd`, which runs each operation on the
//! stream's driver, `timeouts: crate::net::timeout::Timeouts` and
//! `slot: Option<crate::net::limit::ConnectionSlot>` (a connection a
//! [`Server`](crate::net::Server) accepted holds its place under the
//! server's connection limit until the stream is dropped).

/// Expands, inside an `impl` block, to the operations every connected
/// stream socket has; see the [module documentation](self).
macro_rules! stream_operations {
    () => {
        /// Receives into the spare capacity of `buf`; returns it with the
        /// bytes received added. No bytes added means the peer closed its
        /// side.
        ///
        /// Dropping the future before it completes cancels the receive,
        /// but on io_uring bytes the kernel received just before the
        /// cancellation are lost with it (see [`io`](crate::io), "Buffers
        /// are passed by value"; on the poll driver a dropped receive has
        /// received nothing). Fails with `TimedOut` once the read timeout passes, if
        /// one is set (see [`set_read_timeout`](Self::set_read_timeout)).
        pub async fn recv<B: $crate::io::BufMut>(&self, buf: B) -> ::std::io::Result<B> {
            self.timed(
                $crate::net::timeout::Direction::Read,
                self.fd.recv(buf, $crate::runtime::io::fd::RecvMode::Take),
            )
            .await
        }

        /// Receives at least `n` bytes; fails with
        /// [`io::ErrorKind::UnexpectedEof`](std::io::ErrorKind::UnexpectedEof)
        /// if the peer closes first.
        pub async fn recv_n<B: $crate::io::BufMut>(
            &self,
            buf: B,
            n: usize,
        ) -> ::std::io::Result<B> {
            self.timed(
                $crate::net::timeout::Direction::Read,
                self.fd.recv_n(buf, n),
            )
            .await
        }

        /// Like `recv`, but leaves the bytes in the socket: the next receive
        /// gets them again.
        pub async fn peek<B: $crate::io::BufMut>(&self, buf: B) -> ::std::io::Result<B> {
            let peek = self.fd.recv(buf, $crate::runtime::io::fd::RecvMode::Peek);
            self.timed($crate::net::timeout::Direction::Read, peek)
                .await
        }

        /// Receives into several buffers, filling them in order.
        pub async fn recv_vectored<B: $crate::io::BufMutSlice<N>, const N: usize>(
            &self,
            bufs: B,
        ) -> ::std::io::Result<B> {
            self.timed(
                $crate::net::timeout::Direction::Read,
                self.fd.recv_vectored(bufs),
            )
            .await
        }

        /// Receives at least `n` bytes into several buffers.
        pub async fn recv_n_vectored<B: $crate::io::BufMutSlice<N>, const N: usize>(
            &self,
            bufs: B,
            n: usize,
        ) -> ::std::io::Result<B> {
            self.timed(
                $crate::net::timeout::Direction::Read,
                self.fd.recv_n_vectored(bufs, n),
            )
            .await
        }

        /// Sends some bytes of `buf`; returns it and how many were sent.
        /// Fails with `TimedOut` once the write timeout passes, if one is
        /// set (see [`set_write_timeout`](Self::set_write_timeout)).
        pub async fn send<B: $crate::io::Buf>(&self, buf: B) -> ::std::io::Result<(B, usize)> {
            let send = self.fd.send(buf);
            self.timed($crate::net::timeout::Direction::Write, send)
                .await
        }

        /// Sends all of `buf`; returns it. An empty buffer is sent at once.
        pub async fn send_all<B: $crate::io::Buf>(&self, buf: B) -> ::std::io::Result<B> {
            let send = self.fd.send_all(buf);
            self.timed($crate::net::timeout::Direction::Write, send)
                .await
        }

        /// Sends some bytes of several buffers; returns them and how many
        /// bytes were sent.
        pub async fn send_vectored<B: $crate::io::BufSlice<N>, const N: usize>(
            &self,
            bufs: B,
        ) -> ::std::io::Result<(B, usize)> {
            let send = self.fd.send_vectored(bufs);
            self.timed($crate::net::timeout::Direction::Write, send)
                .await
        }

        /// Sends all bytes of several buffers; returns them. Empty buffers
        /// are sent at once.
        pub async fn send_all_vectored<B: $crate::io::BufSlice<N>, const N: usize>(
            &self,
            bufs: B,
        ) -> ::std::io::Result<B> {
            let send = self.fd.send_all_vectored(bufs);
            self.timed($crate::net::timeout::Direction::Write, send)
                .await
        }

        /// Sets the read timeout: a receive (`recv`, `recv_n`, `peek`, the
        /// vectored ones) not done `timeout` after it started fails with
        /// [`io::ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut), with
        /// a message that names the read timeout. `None`, the default,
        /// waits for ever. Fails with
        /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for a zero
        /// timeout, as std's sockets do.
        ///
        /// Set it once and every receive is bounded: a client that stops
        /// sending can't hold the connection for ever, and no call can be
        /// forgotten, unlike a [`Deadline`](crate::timer::Deadline) around
        /// each call. [`Server`](crate::net::Server) sets it for every
        /// connection it accepts with `with_read_timeout`.
        ///
        /// A timed-out receive is cancelled like a dropped one (see
        /// [`io`](crate::io)): its buffer is not handed back and, on
        /// io_uring, bytes received just before are lost, so close the
        /// connection after a timeout. The timer is the worker's (or, for a thread-safe or
        /// synchronous actor's socket, the runtime's); polled outside the
        /// runtime's threads a timed operation fails with
        /// [`Unsupported`](std::io::ErrorKind::Unsupported). Takes
        /// `&mut self`: the timeouts are plain fields the operations read,
        /// with no atomic or lock.
        pub fn set_read_timeout(
            &mut self,
            timeout: ::std::option::Option<::std::time::Duration>,
        ) -> ::std::io::Result<()> {
            self.timeouts
                .set($crate::net::timeout::Direction::Read, timeout)
        }

        /// The read timeout, see
        /// [`set_read_timeout`](Self::set_read_timeout).
        pub fn read_timeout(&self) -> ::std::option::Option<::std::time::Duration> {
            self.timeouts.get($crate::net::timeout::Direction::Read)
        }

        /// Sets the write timeout: a send (`send`, `send_all`, the vectored
        /// ones, and `TcpStream::send_file`) not done `timeout` after it
        /// started fails with
        /// [`io::ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut). This
        /// is what disconnects a peer that sends but never reads: once the
        /// socket buffers are full, a send waits for it. The timeout bounds
        /// each call as a whole: a `send_all` of a large buffer to a slow
        /// reader must finish within it too. Otherwise as
        /// [`set_read_timeout`](Self::set_read_timeout).
        pub fn set_write_timeout(
            &mut self,
            timeout: ::std::option::Option<::std::time::Duration>,
        ) -> ::std::io::Result<()> {
            self.timeouts
                .set($crate::net::timeout::Direction::Write, timeout)
        }

        /// The write timeout, see
        /// [`set_write_timeout`](Self::set_write_timeout).
        pub fn write_timeout(&self) -> ::std::option::Option<::std::time::Duration> {
            self.timeouts.get($crate::net::timeout::Direction::Write)
        }

        /// Sets the timeouts of a connection a server accepted, and the slot
        /// it holds under the server's connection limit.
        pub(crate) fn accepted_by_server(
            &mut self,
            timeouts: $crate::net::timeout::Timeouts,
            slot: $crate::net::limit::ConnectionSlot,
        ) {
            self.timeouts = timeouts;
            self.slot = Some(slot);
        }

        /// `op` under the timeout of `direction`.
        fn timed<'r, F>(
            &'r self,
            direction: $crate::net::timeout::Direction,
            op: F,
        ) -> $crate::net::timeout::Timed<'r, F> {
            self.timeouts.wrap(direction, &self.fd, op)
        }

        /// Shuts down the reading, writing or both halves of the
        /// connection. Never waits for the peer, so no timeout applies.
        pub async fn shutdown(&self, how: ::std::net::Shutdown) -> ::std::io::Result<()> {
            self.fd.shutdown(how).await
        }

        /// Takes the pending socket error (`SO_ERROR`), if any.
        pub fn take_error(&self) -> ::std::io::Result<Option<::std::io::Error>> {
            $crate::net::with_socket(&self.fd, |socket| socket.take_error())
        }
    };
}

pub(crate) use stream_operations;
