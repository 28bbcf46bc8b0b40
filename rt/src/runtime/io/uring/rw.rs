//! Reading and writing a descriptor on io_uring, at its position or at an
//! offset: the a10 operations every descriptor type shares (pipes, files,
//! standard streams), each through [`IoRing::op`].

use std::io;

use a10::io::{Buf, BufMut};
use a10::{AsyncFd, Extract};

use crate::runtime::io::uring::ring::IoRing;

/// Reads into the spare capacity of `buf`, at `offset` or (`None`) at the
/// position.
pub(crate) async fn read<B: BufMut>(
    ring: &IoRing,
    fd: &AsyncFd,
    buf: B,
    offset: Option<u64>,
) -> io::Result<B> {
    match offset {
        None => ring.op(fd.read(buf)).await,
        Some(offset) => ring.op(fd.read(buf).from(offset)).await,
    }
}

/// Reads at least `n` bytes.
pub(crate) async fn read_n<B: BufMut>(
    ring: &IoRing,
    fd: &AsyncFd,
    buf: B,
    n: usize,
    offset: Option<u64>,
) -> io::Result<B> {
    match offset {
        None => ring.op(fd.read_n(buf, n)).await,
        Some(offset) => ring.op(fd.read_n(buf, n).from(offset)).await,
    }
}

/// Writes some bytes of `buf`; returns it and how many.
pub(crate) async fn write<B: Buf>(
    ring: &IoRing,
    fd: &AsyncFd,
    buf: B,
    offset: Option<u64>,
) -> io::Result<(B, usize)> {
    match offset {
        None => ring.op(fd.write(buf).extract()).await,
        Some(offset) => ring.op(fd.write(buf).at(offset).extract()).await,
    }
}

/// Writes all of `buf` (not empty: a10 fails an empty one with
/// `WriteZero`).
pub(crate) async fn write_all<B: Buf>(
    ring: &IoRing,
    fd: &AsyncFd,
    buf: B,
    offset: Option<u64>,
) -> io::Result<B> {
    match offset {
        None => ring.op(fd.write_all(buf).extract()).await,
        Some(offset) => ring.op(fd.write_all(buf).at(offset).extract()).await,
    }
}
