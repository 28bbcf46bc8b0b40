//! The process's standard streams, read and written through io_uring so an
//! actor waiting on them does not block its worker.
//!
//! They write the file descriptors directly: nothing is buffered, and they
//! do not flush what `std::io::stdout` buffered. Dropping them does not close
//! the descriptors.

use std::fmt;
use std::io;

use crate::access::Access;
use a10::Extract;

use crate::io::{Buf, BufMut};
use crate::runtime::io::IoRing;

/// Standard input, see [`stdin`].
pub struct Stdin {
    fd: a10::io::Stdin,
    ring: IoRing,
}

/// Standard output, see [`stdout`].
pub struct Stdout {
    fd: a10::io::Stdout,
    ring: IoRing,
}

/// Standard error, see [`stderr`].
pub struct Stderr {
    fd: a10::io::Stderr,
    ring: IoRing,
}

/// Standard input of the process, on the ring of `rt`.
pub fn stdin<RT: Access + ?Sized>(rt: &RT) -> Stdin {
    let ring = rt.io_ring();
    Stdin {
        fd: a10::io::stdin(ring.sq()),
        ring,
    }
}

/// Standard output of the process, on the ring of `rt`.
pub fn stdout<RT: Access + ?Sized>(rt: &RT) -> Stdout {
    let ring = rt.io_ring();
    Stdout {
        fd: a10::io::stdout(ring.sq()),
        ring,
    }
}

/// Standard error of the process, on the ring of `rt`.
pub fn stderr<RT: Access + ?Sized>(rt: &RT) -> Stderr {
    let ring = rt.io_ring();
    Stderr {
        fd: a10::io::stderr(ring.sq()),
        ring,
    }
}

impl Stdin {
    /// Reads into the spare capacity of `buf`; returns it with the bytes
    /// read added (none at the end of input, or if `buf` has no spare
    /// capacity).
    pub async fn read<B: BufMut>(&self, buf: B) -> io::Result<B> {
        self.ring.op(self.fd.read(buf)).await
    }

    /// Reads at least `n` bytes; fails with `UnexpectedEof` if the input
    /// ends first.
    pub async fn read_n<B: BufMut>(&self, buf: B, n: usize) -> io::Result<B> {
        self.ring.op(self.fd.read_n(buf, n)).await
    }
}

/// The write methods of [`Stdout`] and [`Stderr`].
macro_rules! writer {
    ($name: ident) => {
        impl $name {
            /// Writes some bytes of `buf`; returns it and how many.
            pub async fn write<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
                self.ring.op(self.fd.write(buf).extract()).await
            }

            /// Writes all of `buf`; returns it. Writing an empty buffer
            /// succeeds at once, as with std.
            pub async fn write_all<B: Buf>(&self, buf: B) -> io::Result<B> {
                if buf.is_empty() {
                    // a10 would fail with `WriteZero`.
                    return Ok(buf);
                }
                self.ring.op(self.fd.write_all(buf).extract()).await
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
