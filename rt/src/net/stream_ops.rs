//! The operations of a connected stream socket, written once for
//! [`TcpStream`](crate::net::TcpStream) and
//! [`UnixStream`](crate::net::UnixStream): receiving, sending, shutting
//! down and the pending error.
//!
//! A macro rather than a generic type: each stream stays a plain struct
//! with its own inherent methods (what users see in the docs and what the
//! compiler inlines), and the two cannot drift apart, as they once did
//! (`UnixStream::send_all` of an empty buffer failed with `WriteZero` while
//! `TcpStream`'s returned at once). A type using it has the field
//! `fd: crate::runtime::io::fd::IoFd`, which runs each operation on the
//! stream's driver.

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
        /// received nothing).
        pub async fn recv<B: $crate::io::BufMut>(&self, buf: B) -> ::std::io::Result<B> {
            self.fd
                .recv(buf, $crate::runtime::io::fd::RecvMode::Take)
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
            self.fd.recv_n(buf, n).await
        }

        /// Like `recv`, but leaves the bytes in the socket: the next receive
        /// gets them again.
        pub async fn peek<B: $crate::io::BufMut>(&self, buf: B) -> ::std::io::Result<B> {
            self.fd
                .recv(buf, $crate::runtime::io::fd::RecvMode::Peek)
                .await
        }

        /// Receives into several buffers, filling them in order.
        pub async fn recv_vectored<B: $crate::io::BufMutSlice<N>, const N: usize>(
            &self,
            bufs: B,
        ) -> ::std::io::Result<B> {
            self.fd.recv_vectored(bufs).await
        }

        /// Receives at least `n` bytes into several buffers.
        pub async fn recv_n_vectored<B: $crate::io::BufMutSlice<N>, const N: usize>(
            &self,
            bufs: B,
            n: usize,
        ) -> ::std::io::Result<B> {
            self.fd.recv_n_vectored(bufs, n).await
        }

        /// Sends some bytes of `buf`; returns it and how many were sent.
        pub async fn send<B: $crate::io::Buf>(&self, buf: B) -> ::std::io::Result<(B, usize)> {
            self.fd.send(buf).await
        }

        /// Sends all of `buf`; returns it. An empty buffer is sent at once.
        pub async fn send_all<B: $crate::io::Buf>(&self, buf: B) -> ::std::io::Result<B> {
            self.fd.send_all(buf).await
        }

        /// Sends some bytes of several buffers; returns them and how many
        /// bytes were sent.
        pub async fn send_vectored<B: $crate::io::BufSlice<N>, const N: usize>(
            &self,
            bufs: B,
        ) -> ::std::io::Result<(B, usize)> {
            self.fd.send_vectored(bufs).await
        }

        /// Sends all bytes of several buffers; returns them. Empty buffers
        /// are sent at once.
        pub async fn send_all_vectored<B: $crate::io::BufSlice<N>, const N: usize>(
            &self,
            bufs: B,
        ) -> ::std::io::Result<B> {
            self.fd.send_all_vectored(bufs).await
        }

        /// Shuts down the reading, writing or both halves of the connection.
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
