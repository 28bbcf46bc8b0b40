//! [`timerfd`]: a one-shot `timerfd`, for waits inside an I/O type that has
//! no timers of its own (a Unix datagram send to a full queue, a Unix
//! connect to a full backlog): reading it waits on the type's own driver.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr;
use std::time::Duration;

/// A blocking, close-on-exec `timerfd` that expires once, after `wait`.
///
/// Blocking: io_uring fails a read of a non-blocking one with `EAGAIN`
/// rather than wait; the poll driver makes it non-blocking itself.
pub(crate) fn timerfd(wait: Duration) -> io::Result<OwnedFd> {
    // SAFETY: `timerfd_create` takes no pointers; the result is checked.
    let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_CLOEXEC) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `timerfd_create` returned a new descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // A zero `it_value` would disarm the timer: wait at least 1 ns.
    let wait = wait.max(Duration::from_nanos(1));
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: libc::time_t::try_from(wait.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::from(wait.subsec_nanos() as i32),
        },
    };
    // SAFETY: `spec` lives across the call, and the old value may be null.
    let res = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &raw const spec, ptr::null_mut()) };
    if res == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}
