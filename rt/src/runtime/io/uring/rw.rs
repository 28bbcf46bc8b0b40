//! Reading and writing a descriptor on io_uring, at its position or at an
//! offset: the a10 operations every descriptor type shares (pipes, files,
//! standard streams), each through [`IoRing::op`]; and [`write_all_vectored`],
//! the vectored write-all of pipes and sockets, with a10's empty-buffer bug
//! worked around.
//!
//! An offset of `None` is the descriptor's position: io_uring's offset -1
//! (`u64::MAX`), which reads or writes at the position and advances it, as
//! `read(2)` and `write(2)` do (`io_uring_prep_read(3)`); a10's operations
//! use that value unless given an offset.

use std::future::Future;
use std::io;

use a10::io::{Buf, BufMut, BufSlice};
use a10::{AsyncFd, Extract};

use crate::runtime::io::uring::ring::IoRing;
use crate::runtime::io::vectored::EmptyFirst;

/// io_uring's offset for "at the descriptor's position", see the [module
/// docs](self).
const AT_POSITION: u64 = u64::MAX;

/// Reads into the spare capacity of `buf`, at `offset` or (`None`) at the
/// position.
pub(crate) async fn read<B: BufMut>(
    ring: &IoRing,
    fd: &AsyncFd,
    buf: B,
    offset: Option<u64>,
) -> io::Result<B> {
    ring.op(fd.read(buf).from(offset.unwrap_or(AT_POSITION)))
        .await
}

/// Reads at least `n` bytes.
pub(crate) async fn read_n<B: BufMut>(
    ring: &IoRing,
    fd: &AsyncFd,
    buf: B,
    n: usize,
    offset: Option<u64>,
) -> io::Result<B> {
    ring.op(fd.read_n(buf, n).from(offset.unwrap_or(AT_POSITION)))
        .await
}

/// Writes some bytes of `buf`; returns it and how many.
pub(crate) async fn write<B: Buf>(
    ring: &IoRing,
    fd: &AsyncFd,
    buf: B,
    offset: Option<u64>,
) -> io::Result<(B, usize)> {
    let write = fd.write(buf).at(offset.unwrap_or(AT_POSITION));
    ring.op(write.extract()).await
}

/// Writes all of `buf` (not empty: a10 fails an empty one with
/// `WriteZero`).
pub(crate) async fn write_all<B: Buf>(
    ring: &IoRing,
    fd: &AsyncFd,
    buf: B,
    offset: Option<u64>,
) -> io::Result<B> {
    let write = fd.write_all(buf).at(offset.unwrap_or(AT_POSITION));
    ring.op(write.extract()).await
}

/// Writes (or sends) all bytes of `bufs` with `write_all`, a10's
/// `write_all_vectored` or `send_all_vectored` (extracted): hands it the
/// buffers with the empty ones first, which a10 gets wrong last (see
/// [`vectored`](crate::runtime::io::vectored)), and returns at once if
/// there are no bytes (a10 would fail with `WriteZero`).
pub(crate) async fn write_all_vectored<B, F, const N: usize>(
    ring: &IoRing,
    bufs: B,
    write_all: impl FnOnce(EmptyFirst<B>) -> F,
) -> io::Result<B>
where
    B: BufSlice<N>,
    F: Future<Output = io::Result<EmptyFirst<B>>>,
{
    if bufs.total_len() == 0 {
        return Ok(bufs);
    }
    Ok(ring.op(write_all(EmptyFirst(bufs))).await?.0)
}
