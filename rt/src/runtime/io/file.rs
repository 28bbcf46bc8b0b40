//! [`IoFile`]: an open file on either driver, and the path operations
//! ([`open`], [`create_dir`], [`remove_file`], [`remove_dir`], [`rename`]).
//!
//! On io_uring every operation is a10's (io_uring runs what would block on
//! kernel threads of its own). epoll can't wait for regular files, so on
//! the poll driver they run on the [blocking pool](super::poll::blocking),
//! as tokio's do; a job owns its buffer, hence the `Send` bounds on the
//! buffers here.

use std::fmt;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;

use a10::AsyncFd;
use a10::io::{Buf, BufMut};

use crate::runtime::io::Io;
use crate::runtime::io::poll::file::{self as poll_file, BlockingFd};
use crate::runtime::io::stat::FileStat;
use crate::runtime::io::uring::{FdRing, rw};

/// An open file on either driver; see the [module docs](self).
pub(crate) enum IoFile {
    Uring {
        fd: AsyncFd,
        // After `fd`, so dropped after it: counts the close `fd`'s drop
        // queues.
        ring: FdRing,
    },
    Blocking(BlockingFd),
}

impl IoFile {
    /// The descriptor, e.g. to send the file on a socket.
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            // Files are opened as regular descriptors (never io_uring's
            // direct descriptors), for which a10 always has one.
            IoFile::Uring { fd, .. } => fd.as_fd().expect("a file is a regular file descriptor"),
            IoFile::Blocking(fd) => std::os::fd::AsFd::as_fd(fd),
        }
    }

    /// Reads into the spare capacity of `buf`, at `offset` or (`None`) at
    /// the file's position.
    pub(crate) async fn read<B: BufMut + Send>(
        &self,
        buf: B,
        offset: Option<u64>,
    ) -> io::Result<B> {
        match self {
            IoFile::Uring { fd, ring } => rw::read(ring, fd, buf, offset).await,
            IoFile::Blocking(fd) => fd.read(buf, offset).await,
        }
    }

    /// Reads at least `n` bytes; fails with `UnexpectedEof` if the file
    /// ends first.
    pub(crate) async fn read_n<B: BufMut + Send>(
        &self,
        buf: B,
        n: usize,
        offset: Option<u64>,
    ) -> io::Result<B> {
        match self {
            IoFile::Uring { fd, ring } => rw::read_n(ring, fd, buf, n, offset).await,
            IoFile::Blocking(fd) => fd.read_n(buf, n, offset).await,
        }
    }

    /// Writes some bytes of `buf`; returns it and how many.
    pub(crate) async fn write<B: Buf + Send>(
        &self,
        buf: B,
        offset: Option<u64>,
    ) -> io::Result<(B, usize)> {
        match self {
            IoFile::Uring { fd, ring } => rw::write(ring, fd, buf, offset).await,
            IoFile::Blocking(fd) => fd.write(buf, offset).await,
        }
    }

    /// Writes all of `buf`; an empty buffer at once.
    pub(crate) async fn write_all<B: Buf + Send>(
        &self,
        buf: B,
        offset: Option<u64>,
    ) -> io::Result<B> {
        if buf.is_empty() {
            return Ok(buf); // a10 would fail with `WriteZero`.
        }
        match self {
            IoFile::Uring { fd, ring } => rw::write_all(ring, fd, buf, offset).await,
            IoFile::Blocking(fd) => fd.write_all(buf, offset).await,
        }
    }

    /// `fsync(2)`, or `fdatasync(2)` if `data_only`.
    pub(crate) async fn sync(&self, data_only: bool) -> io::Result<()> {
        match self {
            IoFile::Uring { fd, ring } if data_only => ring.op(fd.sync_data()).await,
            IoFile::Uring { fd, ring } => ring.op(fd.sync_all()).await,
            IoFile::Blocking(fd) => fd.sync(data_only).await,
        }
    }

    /// The file's metadata.
    pub(crate) async fn metadata(&self) -> io::Result<FileStat> {
        match self {
            IoFile::Uring { fd, ring } => Ok(FileStat::from_a10(&ring.op(fd.metadata()).await?)),
            IoFile::Blocking(fd) => fd.metadata().await,
        }
    }

    /// Truncates or extends the file to `len` bytes.
    pub(crate) async fn set_len(&self, len: u64) -> io::Result<()> {
        match self {
            IoFile::Uring { fd, ring } => ring.op(fd.truncate(len)).await,
            IoFile::Blocking(fd) => fd.set_len(len).await,
        }
    }
}

impl fmt::Debug for IoFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IoFile").field(&self.as_fd()).finish()
    }
}

/// How to open a file: the access and creation flags of `open(2)`.
#[derive(Copy, Clone, Debug)]
pub(crate) struct OpenHow {
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) append: bool,
    pub(crate) truncate: bool,
    pub(crate) create: bool,
    pub(crate) create_new: bool,
    pub(crate) mode: u32,
}

impl OpenHow {
    /// As a10's options.
    fn a10(self) -> a10::fs::OpenOptions {
        let mut options = a10::fs::OpenOptions::new();
        options = match (self.read, self.write) {
            (true, true) => options.write(),
            (false, true) => options.write_only(),
            _ => options, // Read only.
        };
        if self.append {
            options = options.append();
        }
        if self.create_new {
            options = options.create_new();
        } else {
            if self.create {
                options = options.create();
            }
            if self.truncate {
                options = options.truncate();
            }
        }
        options.mode(self.mode)
    }

    /// As the flags of `open(2)` (without `O_CLOEXEC`, which `open` adds).
    fn flags(self) -> libc::c_int {
        let mut flags = match (self.read, self.write) {
            (true, true) => libc::O_RDWR,
            (false, true) => libc::O_WRONLY,
            _ => libc::O_RDONLY,
        };
        if self.append {
            flags |= libc::O_APPEND;
        }
        if self.create_new {
            flags |= libc::O_CREAT | libc::O_EXCL;
        } else {
            if self.create {
                flags |= libc::O_CREAT;
            }
            if self.truncate {
                flags |= libc::O_TRUNC;
            }
        }
        flags
    }
}

/// Opens the file at `path` on the driver of `io`.
pub(crate) async fn open(io: &Io, how: OpenHow, path: PathBuf) -> io::Result<IoFile> {
    match io {
        Io::Uring(ring) => {
            let fd = ring.op(how.a10().open(ring.sq(), path)).await?;
            Ok(IoFile::Uring {
                fd,
                ring: FdRing::new(ring.clone()),
            })
        }
        Io::Poll(_) => {
            let fd = poll_file::open(path, how.flags(), how.mode).await?;
            Ok(IoFile::Blocking(fd))
        }
    }
}

/// Creates the directory `path`.
pub(crate) async fn create_dir(io: &Io, path: PathBuf) -> io::Result<()> {
    match io {
        Io::Uring(ring) => ring.op(a10::fs::create_dir(ring.sq(), path)).await,
        Io::Poll(_) => poll_file::create_dir(path).await,
    }
}

/// Removes the file (or symbolic link) `path`.
pub(crate) async fn remove_file(io: &Io, path: PathBuf) -> io::Result<()> {
    match io {
        Io::Uring(ring) => ring.op(a10::fs::remove_file(ring.sq(), path)).await,
        Io::Poll(_) => poll_file::remove_file(path).await,
    }
}

/// Removes the empty directory `path`.
pub(crate) async fn remove_dir(io: &Io, path: PathBuf) -> io::Result<()> {
    match io {
        Io::Uring(ring) => ring.op(a10::fs::remove_dir(ring.sq(), path)).await,
        Io::Poll(_) => poll_file::remove_dir(path).await,
    }
}

/// Renames `from` to `to`.
pub(crate) async fn rename(io: &Io, from: PathBuf, to: PathBuf) -> io::Result<()> {
    match io {
        Io::Uring(ring) => ring.op(a10::fs::rename(ring.sq(), from, to)).await,
        Io::Poll(_) => poll_file::rename(from, to).await,
    }
}
