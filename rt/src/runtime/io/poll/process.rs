//! Waiting for a child process on the poll driver: a `pidfd` (Linux 5.3)
//! becomes readable when the child exits, and `waitid(P_PIDFD, ...,
//! WNOHANG)` (Linux 5.4) then reaps it without waiting (see
//! [`reap`](crate::runtime::io::reap)).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::runtime::io::poll::PollHandle;
use crate::runtime::io::poll::fd::PollFd;
use crate::runtime::io::poll::raw::check_int;
use crate::runtime::io::poll::readiness::Direction;
use crate::runtime::io::reap::{ChildEnd, reap_exited};

/// Waits, on the poll of `handle`, until the child `pid` exits, and reaps
/// it.
pub(crate) async fn wait(handle: &PollHandle, pid: u32) -> io::Result<ChildEnd> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "process id out of range"))?;
    // SAFETY: a plain system call; the result is checked.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let raw = check_int(libc::c_int::try_from(raw).unwrap_or(-1)).map_err(|err| {
        if err.raw_os_error() == Some(libc::ENOSYS) {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "waiting for a process needs pidfd_open (Linux 5.3 or later)",
            )
        } else {
            err
        }
    })?;
    // SAFETY: `pidfd_open` returned a new descriptor nothing else owns.
    let pidfd = PollFd::new(unsafe { OwnedFd::from_raw_fd(raw) }, handle)?;
    pidfd
        .io(Direction::Read, |fd| {
            reap_exited(libc::P_PIDFD, fd.as_raw_fd() as libc::id_t)?
                .ok_or_else(|| io::ErrorKind::WouldBlock.into())
        })
        .await
}
