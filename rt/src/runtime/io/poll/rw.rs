//! Reading and writing a pollable descriptor that is not a socket (a pipe,
//! a terminal, a `timerfd`) on the poll driver: `read(2)` and `write(2)`,
//! retried by [`PollFd::io`] when the descriptor is ready. The results
//! match a10's (`read_n` fails with `UnexpectedEof` if the stream ends
//! first, `write_all` with `WriteZero` if the kernel takes no bytes).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use a10::io::{Buf, BufMut};

use crate::runtime::io::poll::fd::PollFd;
use crate::runtime::io::poll::raw::{bytes, check, spare};
use crate::runtime::io::poll::readiness::Direction;

impl PollFd {
    /// Reads into the spare capacity of `buf`.
    pub(crate) async fn read<B: BufMut>(&self, mut buf: B) -> io::Result<B> {
        let n = self.io(Direction::Read, |fd| read(fd, &mut buf)).await?;
        // SAFETY: the kernel wrote `n` bytes to the buffer's spare capacity.
        unsafe { buf.set_init(n) };
        Ok(buf)
    }

    /// Reads until at least `n` bytes were added to `buf`.
    pub(crate) async fn read_n<B: BufMut>(&self, mut buf: B, n: usize) -> io::Result<B> {
        let mut left = n;
        while left > 0 {
            let got = self.io(Direction::Read, |fd| read(fd, &mut buf)).await?;
            if got == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            // SAFETY: as in `read`.
            unsafe { buf.set_init(got) };
            left = left.saturating_sub(got);
        }
        Ok(buf)
    }

    /// Writes some bytes of `buf`; returns it and how many.
    pub(crate) async fn write<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        let n = self.io(Direction::Write, |fd| write(fd, &buf, 0)).await?;
        Ok((buf, n))
    }

    /// Writes all of `buf`; fails with `WriteZero` if the kernel takes none.
    pub(crate) async fn write_all<B: Buf>(&self, buf: B) -> io::Result<B> {
        let mut written = 0;
        while written < buf.len() {
            let n = self
                .io(Direction::Write, |fd| write(fd, &buf, written))
                .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            written += n;
        }
        Ok(buf)
    }
}

/// `read(2)` into the spare capacity of `buf`.
fn read<B: BufMut>(fd: BorrowedFd<'_>, buf: &mut B) -> io::Result<usize> {
    let (ptr, len) = spare(buf);
    // SAFETY: `ptr` is valid for writes of `len` bytes, the buffer's spare
    // capacity.
    check(unsafe { libc::read(fd.as_raw_fd(), ptr.cast(), len) })
}

/// `write(2)` of the bytes of `buf` after the first `skip`.
fn write<B: Buf>(fd: BorrowedFd<'_>, buf: &B, skip: usize) -> io::Result<usize> {
    let (ptr, len) = bytes(buf, skip);
    // SAFETY: `ptr` is valid for reads of `len` bytes of the buffer.
    check(unsafe { libc::write(fd.as_raw_fd(), ptr.cast(), len) })
}
