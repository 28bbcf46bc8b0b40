//! Files on the poll driver: [`BlockingFd`], a descriptor whose operations
//! run on the [blocking pool](super::blocking) (epoll can't wait for
//! regular files), and the path operations (open, create and remove
//! directories, remove and rename files) that run there too.
//!
//! Each operation is one job: `read_n` and `write_all` loop inside it, so a
//! large write is one trip to the pool. Results match a10's (`read_n` fails
//! with `UnexpectedEof` if the file ends first, `write_all` with
//! `WriteZero` if the kernel takes no bytes).

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::Arc;

use a10::io::{Buf, BufMut};

use crate::runtime::io::poll::blocking;
use crate::runtime::io::poll::raw::{bytes, check, check_int, spare};
use crate::runtime::io::stat::FileStat;

/// A descriptor whose operations run on the blocking pool, see the [module
/// docs](self). Shared with the jobs that use it: closed when the last of
/// them and this are gone.
#[derive(Debug)]
pub(crate) struct BlockingFd {
    fd: Arc<OwnedFd>,
}

impl BlockingFd {
    pub(crate) fn new(fd: OwnedFd) -> BlockingFd {
        BlockingFd { fd: Arc::new(fd) }
    }

    /// Reads into the spare capacity of `buf`, at `offset` or (`None`) at
    /// the file's position.
    pub(crate) async fn read<B: BufMut + Send>(
        &self,
        buf: B,
        offset: Option<u64>,
    ) -> io::Result<B> {
        self.read_n(buf, 0, offset).await
    }

    /// Reads until at least `n` bytes were added to `buf` (once, for 0).
    pub(crate) async fn read_n<B: BufMut + Send>(
        &self,
        mut buf: B,
        n: usize,
        offset: Option<u64>,
    ) -> io::Result<B> {
        let fd = self.fd.clone();
        blocking::run(move || {
            let mut read = 0;
            loop {
                let (ptr, len) = spare(&mut buf);
                let got = match offset {
                    // SAFETY: `ptr` is valid for writes of `len` bytes, the
                    // buffer's spare capacity.
                    None => check(unsafe { libc::read(fd.as_raw_fd(), ptr.cast(), len) }),
                    Some(offset) => {
                        let at = file_offset(offset, read)?;
                        // SAFETY: as above.
                        check(unsafe { libc::pread(fd.as_raw_fd(), ptr.cast(), len, at) })
                    }
                };
                let got = match got {
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    result => result?,
                };
                // SAFETY: the kernel wrote `got` bytes to the spare capacity.
                unsafe { buf.set_init(got) };
                read += got;
                if read >= n {
                    return Ok(buf);
                }
                if got == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
        })
        .await
    }

    /// Writes some bytes of `buf`, at `offset` or at the file's position;
    /// returns it and how many.
    pub(crate) async fn write<B: Buf + Send>(
        &self,
        buf: B,
        offset: Option<u64>,
    ) -> io::Result<(B, usize)> {
        let fd = self.fd.clone();
        blocking::run(move || {
            let n = loop {
                match write(fd.as_fd(), &buf, 0, offset) {
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    result => break result?,
                }
            };
            Ok((buf, n))
        })
        .await
    }

    /// Writes all of `buf`, at `offset` or at the file's position.
    pub(crate) async fn write_all<B: Buf + Send>(
        &self,
        buf: B,
        offset: Option<u64>,
    ) -> io::Result<B> {
        let fd = self.fd.clone();
        blocking::run(move || {
            let mut written = 0;
            while written < buf.len() {
                match write(fd.as_fd(), &buf, written, offset) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => written += n,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => return Err(err),
                }
            }
            Ok(buf)
        })
        .await
    }

    /// `fsync(2)`, or `fdatasync(2)` if `data_only`.
    pub(crate) async fn sync(&self, data_only: bool) -> io::Result<()> {
        self.run(move |fd| {
            let res = if data_only {
                // SAFETY: a plain system call on an open descriptor.
                unsafe { libc::fdatasync(fd) }
            } else {
                // SAFETY: as above.
                unsafe { libc::fsync(fd) }
            };
            check_int(res).map(drop)
        })
        .await
    }

    /// The file's metadata (`statx(2)`).
    pub(crate) async fn metadata(&self) -> io::Result<FileStat> {
        self.run(|fd| statx(fd, c"", libc::AT_EMPTY_PATH)).await
    }

    /// `ftruncate(2)`.
    pub(crate) async fn set_len(&self, len: u64) -> io::Result<()> {
        let len = libc::off_t::try_from(len).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("file length {len} is too large"),
            )
        })?;
        // SAFETY: a plain system call on an open descriptor.
        self.run(move |fd| check_int(unsafe { libc::ftruncate(fd, len) }).map(drop))
            .await
    }

    /// Runs `op` with the descriptor on the pool.
    async fn run<T: Send + 'static>(
        &self,
        op: impl Fn(RawFd) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let fd = self.fd.clone();
        blocking::run(move || {
            loop {
                match op(fd.as_raw_fd()) {
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    result => return result,
                }
            }
        })
        .await
    }
}

impl AsFd for BlockingFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `write(2)`, or `pwrite(2)` at `offset`, of the bytes of `buf` after the
/// first `skip`.
fn write<B: Buf>(
    fd: BorrowedFd<'_>,
    buf: &B,
    skip: usize,
    offset: Option<u64>,
) -> io::Result<usize> {
    let (ptr, len) = bytes(buf, skip);
    match offset {
        // SAFETY: `ptr` is valid for reads of `len` bytes of the buffer.
        None => check(unsafe { libc::write(fd.as_raw_fd(), ptr.cast(), len) }),
        Some(offset) => {
            let at = file_offset(offset, skip)?;
            // SAFETY: as above.
            check(unsafe { libc::pwrite(fd.as_raw_fd(), ptr.cast(), len, at) })
        }
    }
}

/// `offset + done` as a file offset.
fn file_offset(offset: u64, done: usize) -> io::Result<libc::off_t> {
    offset
        .checked_add(done as u64)
        .and_then(|at| libc::off_t::try_from(at).ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("file offset {offset} is too large"),
            )
        })
}

/// `statx(2)` of `path` relative to `dir` (`AT_EMPTY_PATH` and an empty
/// path: of `dir` itself).
fn statx(dir: RawFd, path: &std::ffi::CStr, flags: libc::c_int) -> io::Result<FileStat> {
    let mut stat = MaybeUninit::<libc::statx>::uninit();
    // SAFETY: `path` is a C string, `stat` is valid for writes of a `statx`.
    check_int(unsafe {
        libc::statx(
            dir,
            path.as_ptr(),
            flags,
            libc::STATX_BASIC_STATS | libc::STATX_BTIME,
            stat.as_mut_ptr(),
        )
    })?;
    // SAFETY: `statx` succeeded, so it filled `stat`.
    Ok(FileStat::from_statx(&unsafe { stat.assume_init() }))
}

/// Opens `path` with `flags` (`O_CLOEXEC` added) and `mode` on the pool.
pub(crate) async fn open(path: PathBuf, flags: libc::c_int, mode: u32) -> io::Result<BlockingFd> {
    let path = c_path(path)?;
    let fd = blocking::run(move || {
        loop {
            // SAFETY: `path` is a C string; `mode` is passed as the variadic
            // `mode_t` argument `open` reads with `O_CREAT`.
            let raw = unsafe {
                libc::open(
                    path.as_ptr(),
                    flags | libc::O_CLOEXEC,
                    libc::c_uint::from(mode),
                )
            };
            match check_int(raw) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // SAFETY: `open` returned a new descriptor nothing else owns.
                result => return result.map(|raw| unsafe { OwnedFd::from_raw_fd(raw) }),
            }
        }
    })
    .await?;
    Ok(BlockingFd::new(fd))
}

/// Creates the directory `path` (mode `0o777`, before the umask, as std).
pub(crate) async fn create_dir(path: PathBuf) -> io::Result<()> {
    let path = c_path(path)?;
    // SAFETY: `path` is a C string.
    path_op(move || check_int(unsafe { libc::mkdir(path.as_ptr(), 0o777) })).await
}

/// Removes the file (or symbolic link) `path`.
pub(crate) async fn remove_file(path: PathBuf) -> io::Result<()> {
    let path = c_path(path)?;
    // SAFETY: `path` is a C string.
    path_op(move || check_int(unsafe { libc::unlink(path.as_ptr()) })).await
}

/// Removes the empty directory `path`.
pub(crate) async fn remove_dir(path: PathBuf) -> io::Result<()> {
    let path = c_path(path)?;
    // SAFETY: `path` is a C string.
    path_op(move || check_int(unsafe { libc::rmdir(path.as_ptr()) })).await
}

/// Renames `from` to `to`.
pub(crate) async fn rename(from: PathBuf, to: PathBuf) -> io::Result<()> {
    let (from, to) = (c_path(from)?, c_path(to)?);
    // SAFETY: both paths are C strings.
    path_op(move || check_int(unsafe { libc::rename(from.as_ptr(), to.as_ptr()) })).await
}

/// Runs the system call `op` on the pool, again if a signal interrupts it.
async fn path_op(op: impl Fn() -> io::Result<libc::c_int> + Send + 'static) -> io::Result<()> {
    blocking::run(move || {
        loop {
            match op() {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                result => return result.map(drop),
            }
        }
    })
    .await
}

/// `path` as a C string; a path with a NUL byte can't be passed to the
/// kernel.
fn c_path(path: PathBuf) -> io::Result<CString> {
    CString::new(path.into_os_string().into_vec()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "path contains a NUL byte, which the kernel can't take",
        )
    })
}
