//! The process's standard streams, read and written through the runtime's
//! I/O driver so an actor waiting on them does not block its worker.
//!
//! They write the file descriptors directly: nothing is buffered, and they
//! do not flush what `std::io::stdout` buffered. Dropping them does not close
//! the descriptors.
//!
//! On io_uring they are fd 0, 1 and 2 themselves. On the poll driver (where
//! io_uring is blocked) a stream that is a pipe or a terminal is opened
//! again as a file description of its own, made non-blocking and polled, so
//! that the description the process shares with others (the shell, the
//! other processes of a pipeline) keeps its blocking mode; any other stream
//! (a regular file, as in `< input.txt`, `/dev/null`, a socket) is read and
//! written on the blocking pool, like files (see [`fs`](crate::fs)), which
//! is why the buffers must be `Send`. There, a read dropped after it started
//! still takes the bytes it reads.

use std::fmt;
use std::io;

use crate::access::Access;
use crate::io::{Buf, BufMut};
use crate::runtime::io::stdio::{IoStdio, Stream};

/// Standard input, see [`stdin`].
pub struct Stdin {
    stream: IoStdio,
}

/// Standard output, see [`stdout`].
pub struct Stdout {
    stream: IoStdio,
}

/// Standard error, see [`stderr`].
pub struct Stderr {
    stream: IoStdio,
}

/// Standard input of the process, on the I/O driver of `rt`.
pub fn stdin<RT: Access + ?Sized>(rt: &RT) -> Stdin {
    Stdin {
        stream: IoStdio::new(Stream::In, &rt.io()),
    }
}

/// Standard output of the process, on the I/O driver of `rt`.
pub fn stdout<RT: Access + ?Sized>(rt: &RT) -> Stdout {
    Stdout {
        stream: IoStdio::new(Stream::Out, &rt.io()),
    }
}

/// Standard error of the process, on the I/O driver of `rt`.
pub fn stderr<RT: Access + ?Sized>(rt: &RT) -> Stderr {
    Stderr {
        stream: IoStdio::new(Stream::Err, &rt.io()),
    }
}

impl Stdin {
    /// Reads into the spare capacity of `buf`; returns it with the bytes
    /// read added (none at the end of input, or if `buf` has no spare
    /// capacity).
    pub async fn read<B: BufMut + Send>(&self, buf: B) -> io::Result<B> {
        self.stream.read(buf).await
    }

    /// Reads at least `n` bytes; fails with `UnexpectedEof` if the input
    /// ends first.
    pub async fn read_n<B: BufMut + Send>(&self, buf: B, n: usize) -> io::Result<B> {
        self.stream.read_n(buf, n).await
    }
}

/// The write methods of [`Stdout`] and [`Stderr`].
macro_rules! writer {
    ($name: ident) => {
        impl $name {
            /// Writes some bytes of `buf`; returns it and how many.
            pub async fn write<B: Buf + Send>(&self, buf: B) -> io::Result<(B, usize)> {
                self.stream.write(buf).await
            }

            /// Writes all of `buf`; returns it. Writing an empty buffer
            /// succeeds at once, as with std.
            pub async fn write_all<B: Buf + Send>(&self, buf: B) -> io::Result<B> {
                self.stream.write_all(buf).await
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}

writer!(Stdout);
writer!(Stderr);

impl fmt::Debug for Stdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Stdin")
    }
}
