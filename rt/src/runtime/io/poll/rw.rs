//! Reading and writing a pollable descriptor that is not a socket (a pipe,
//! a terminal, a `timerfd`) on the poll driver: `read(2)`, `write(2)` and
//! their vectored forms, retried by [`PollFd::io`] when the descriptor is
//! ready. The results match a10's (`read_n` fails with `UnexpectedEof` if
//! the stream ends first, `write_all` with `WriteZero` if the kernel takes
//! no bytes): [`PollFd::read_n_with`] and [`PollFd::write_all_with`] are
//! those loops, for sockets too.
//!
//! The system calls that move bytes (here and in [`socket`](super::socket))
//! return how many they moved and how many they asked to move, for
//! [`PollFd::transfer`]'s short-read rule; those that fill a buffer mark the
//! bytes they received as initialised themselves, so a loop that calls them
//! again never forgets to.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use a10::io::{Buf, BufMut, BufMutSlice, BufSlice};

use crate::runtime::io::poll::fd::PollFd;
use crate::runtime::io::poll::raw::{bytes, check, skip, spare, total_len};
use crate::runtime::io::poll::readiness::Direction;
use crate::runtime::io::vectored::{iovecs, iovecs_mut};

impl PollFd {
    /// Runs `read` (a non-blocking system call that adds bytes to a buffer;
    /// returns how many, and how many it asked for) until it added at least
    /// `n` bytes; fails with `UnexpectedEof` if the stream ends first.
    pub(crate) async fn read_n_with(
        &self,
        n: usize,
        mut read: impl FnMut(BorrowedFd<'_>) -> io::Result<(usize, usize)>,
    ) -> io::Result<()> {
        let mut left = n;
        while left > 0 {
            let got = self.transfer(Direction::Read, &mut read).await?;
            if got == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            left = left.saturating_sub(got);
        }
        Ok(())
    }

    /// Runs `write` (a non-blocking system call that writes the bytes after
    /// the first `written` it is given; returns how many, and how many it
    /// asked to write) until `total` bytes are written; fails with
    /// `WriteZero` if the kernel takes none.
    pub(crate) async fn write_all_with(
        &self,
        total: usize,
        mut write: impl FnMut(BorrowedFd<'_>, usize) -> io::Result<(usize, usize)>,
    ) -> io::Result<()> {
        let mut written = 0;
        while written < total {
            let n = self
                .transfer(Direction::Write, |fd| write(fd, written))
                .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            written += n;
        }
        Ok(())
    }

    /// Reads into the spare capacity of `buf`.
    pub(crate) async fn read<B: BufMut>(&self, mut buf: B) -> io::Result<B> {
        self.transfer(Direction::Read, |fd| read(fd, &mut buf))
            .await?;
        Ok(buf)
    }

    /// Reads until at least `n` bytes were added to `buf`.
    pub(crate) async fn read_n<B: BufMut>(&self, mut buf: B, n: usize) -> io::Result<B> {
        self.read_n_with(n, |fd| read(fd, &mut buf)).await?;
        Ok(buf)
    }

    /// Writes some bytes of `buf`; returns it and how many.
    pub(crate) async fn write<B: Buf>(&self, buf: B) -> io::Result<(B, usize)> {
        let n = self
            .transfer(Direction::Write, |fd| write(fd, &buf, 0))
            .await?;
        Ok((buf, n))
    }

    /// Writes all of `buf`; fails with `WriteZero` if the kernel takes none.
    pub(crate) async fn write_all<B: Buf>(&self, buf: B) -> io::Result<B> {
        self.write_all_with(buf.len(), |fd, written| write(fd, &buf, written))
            .await?;
        Ok(buf)
    }

    /// Reads into several buffers, in order (`readv(2)`).
    pub(crate) async fn read_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        mut bufs: B,
    ) -> io::Result<B> {
        self.transfer(Direction::Read, |fd| readv(fd, &mut bufs))
            .await?;
        Ok(bufs)
    }

    /// Reads until at least `n` bytes were added to several buffers.
    pub(crate) async fn read_n_vectored<B: BufMutSlice<N>, const N: usize>(
        &self,
        mut bufs: B,
        n: usize,
    ) -> io::Result<B> {
        self.read_n_with(n, |fd| readv(fd, &mut bufs)).await?;
        Ok(bufs)
    }

    /// Writes some bytes of several buffers (`writev(2)`); returns them and
    /// how many.
    pub(crate) async fn write_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<(B, usize)> {
        let n = self
            .transfer(Direction::Write, |fd| writev(fd, &bufs, 0))
            .await?;
        Ok((bufs, n))
    }

    /// Writes all bytes of several buffers (empty ones anywhere); fails
    /// with `WriteZero` if the kernel takes none.
    pub(crate) async fn write_all_vectored<B: BufSlice<N>, const N: usize>(
        &self,
        bufs: B,
    ) -> io::Result<B> {
        self.write_all_with(bufs.total_len(), |fd, written| writev(fd, &bufs, written))
            .await?;
        Ok(bufs)
    }
}

/// `read(2)` into the spare capacity of `buf`, the bytes read marked
/// initialised; returns them and the capacity asked for.
fn read<B: BufMut>(fd: BorrowedFd<'_>, buf: &mut B) -> io::Result<(usize, usize)> {
    let (ptr, len) = spare(buf);
    // SAFETY: `ptr` is valid for writes of `len` bytes, the buffer's spare
    // capacity.
    let n = check(unsafe { libc::read(fd.as_raw_fd(), ptr.cast(), len) })?;
    // SAFETY: the kernel wrote `n` bytes to the buffer's spare capacity.
    unsafe { buf.set_init(n) };
    Ok((n, len))
}

/// `write(2)` of the bytes of `buf` after the first `skip`; returns how many
/// were written, and how many it asked to write.
fn write<B: Buf>(fd: BorrowedFd<'_>, buf: &B, skip: usize) -> io::Result<(usize, usize)> {
    let (ptr, len) = bytes(buf, skip);
    // SAFETY: `ptr` is valid for reads of `len` bytes of the buffer.
    let n = check(unsafe { libc::write(fd.as_raw_fd(), ptr.cast(), len) })?;
    Ok((n, len))
}

/// `readv(2)` into the spare capacity of `bufs`, the bytes read marked
/// initialised; returns them and the capacity asked for.
fn readv<B: BufMutSlice<N>, const N: usize>(
    fd: BorrowedFd<'_>,
    bufs: &mut B,
) -> io::Result<(usize, usize)> {
    let iovecs = iovecs_mut(bufs);
    let asked = total_len(&iovecs);
    let count = libc::c_int::try_from(N).unwrap_or(libc::c_int::MAX);
    // SAFETY: `iovecs` describes the buffers' spare capacity, valid for
    // writes for the call.
    let n = check(unsafe { libc::readv(fd.as_raw_fd(), iovecs.as_ptr(), count) })?;
    // SAFETY: the kernel wrote `n` bytes to the buffers' spare capacity, in
    // order.
    unsafe { bufs.set_init(n) };
    Ok((n, asked))
}

/// `writev(2)` of the bytes of `bufs` after the first `skip_bytes`; returns
/// how many were written, and how many it asked to write.
fn writev<B: BufSlice<N>, const N: usize>(
    fd: BorrowedFd<'_>,
    bufs: &B,
    skip_bytes: usize,
) -> io::Result<(usize, usize)> {
    let mut iovecs = iovecs(bufs);
    let left = skip(&mut iovecs, skip_bytes);
    let asked = total_len(left);
    let count = libc::c_int::try_from(left.len()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `left` describes the buffers' bytes from `skip_bytes` on,
    // valid for reads for the call.
    let n = check(unsafe { libc::writev(fd.as_raw_fd(), left.as_ptr(), count) })?;
    Ok((n, asked))
}
