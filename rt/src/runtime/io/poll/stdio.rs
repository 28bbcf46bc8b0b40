//! The standard streams on the poll driver, without touching the file
//! descriptions the process shares with others.
//!
//! Standard streams are usually shared: a terminal with the shell and
//! every other process on it, a pipe with the processes of a pipeline.
//! Setting `O_NONBLOCK` on fd 0, 1 or 2 would set it on the shared *file
//! description*, and the others would then get `EAGAIN` from reads and
//! writes they expect to wait. So a stream that is a pipe or a terminal is
//! opened again through `/proc/self/fd/N`, which makes a new description of
//! the same pipe or terminal, and only that one is made non-blocking and
//! registered with the poll. Anything else (a regular file, `/dev/null`,
//! which epoll refuses, a socket, which can't be opened again), or where
//! reopening fails (no `/proc`), is a duplicate of the descriptor whose
//! operations run on the [blocking pool](super::blocking).

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::runtime::io::poll::PollHandle;
use crate::runtime::io::poll::fd::PollFd;
use crate::runtime::io::poll::file::BlockingFd;
use crate::runtime::io::poll::raw::check_int;

/// A standard stream on the poll driver, see the [module docs](self).
#[derive(Debug)]
pub(crate) enum Stdio {
    /// A new description of the pipe or terminal, on the poll.
    Polled(PollFd),
    /// A duplicate of the descriptor, on the blocking pool.
    Blocking(BlockingFd),
}

/// Opens the standard stream `fd` (0, 1 or 2) for the poll of `handle`.
pub(crate) fn open(handle: &PollHandle, fd: RawFd) -> io::Result<Stdio> {
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is valid for writes of a `stat`.
    check_int(unsafe { libc::fstat(fd, stat.as_mut_ptr()) })?;
    // SAFETY: `fstat` succeeded, so it filled `stat`.
    let kind = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
    if kind == libc::S_IFIFO || kind == libc::S_IFCHR {
        let access = if fd == libc::STDIN_FILENO {
            libc::O_RDONLY
        } else {
            libc::O_WRONLY
        };
        if let Ok(reopened) = reopen(fd, access)
            && let Ok(polled) = PollFd::new_nonblocking(reopened, handle)
        {
            return Ok(Stdio::Polled(polled));
        }
    }
    // SAFETY: `fstat` succeeded, so `fd` is open; it is only borrowed to be
    // duplicated.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let duplicate = borrowed.try_clone_to_owned()?;
    Ok(Stdio::Blocking(BlockingFd::new(duplicate)))
}

/// A new, non-blocking description of what `fd` is open to.
fn reopen(fd: RawFd, access: libc::c_int) -> io::Result<OwnedFd> {
    let path = CString::new(format!("/proc/self/fd/{fd}")).map_err(io::Error::other)?;
    let flags = access | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    // SAFETY: `path` is a C string; no mode is needed without `O_CREAT`.
    let raw = check_int(unsafe { libc::open(path.as_ptr(), flags) })?;
    // SAFETY: `open` returned a new descriptor nothing else owns.
    let reopened = unsafe { OwnedFd::from_raw_fd(raw) };
    debug_assert_ne!(reopened.as_raw_fd(), fd);
    Ok(reopened)
}
