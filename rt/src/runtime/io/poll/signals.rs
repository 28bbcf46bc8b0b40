//! [`SignalFd`]: process signals read from a `signalfd` on the shared poll,
//! what a10's `Signals` does on a ring.

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr;
use std::task::{self, Poll};

use crate::runtime::io::poll::PollHandle;
use crate::runtime::io::poll::fd::PollFd;
use crate::runtime::io::poll::readiness::Direction;

/// The signals `signals` blocked in the thread that made it (and so in the
/// threads it starts from then on), read from a non-blocking `signalfd`
/// registered with a poll instance. Dropping it unblocks them in the
/// dropping thread.
#[derive(Debug)]
pub(crate) struct SignalFd {
    fd: PollFd,
    set: libc::sigset_t,
}

impl SignalFd {
    /// Blocks `signals` in this thread and reads them from a `signalfd` on
    /// the poll of `handle`.
    pub(crate) fn new(handle: &PollHandle, signals: &[libc::c_int]) -> io::Result<SignalFd> {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: `sigemptyset` initialises the set it is given.
        if unsafe { libc::sigemptyset(set.as_mut_ptr()) } == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: initialised by `sigemptyset` above.
        let mut set = unsafe { set.assume_init() };
        for &signal in signals {
            // SAFETY: `set` is an initialised set.
            if unsafe { libc::sigaddset(&raw mut set, signal) } == -1 {
                return Err(io::Error::last_os_error());
            }
        }
        // SAFETY: `set` is an initialised set; the old mask is not asked for.
        let res =
            unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, ptr::null_mut()) };
        if res != 0 {
            return Err(io::Error::from_raw_os_error(res));
        }
        // SAFETY: -1 asks for a new descriptor; `set` is initialised.
        let raw =
            unsafe { libc::signalfd(-1, &raw const set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        if raw == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `signalfd` just returned this new descriptor, which nothing
        // else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(SignalFd {
            fd: PollFd::new(fd, handle)?,
            set,
        })
    }

    /// The next signal received, `Pending` (with `cx` woken when one comes)
    /// if none is.
    pub(crate) fn poll_receive(&self, cx: &mut task::Context<'_>) -> Poll<io::Result<libc::c_int>> {
        loop {
            let Poll::Ready(seen) = self.fd.poll_ready(Direction::Read, cx) else {
                return Poll::Pending;
            };
            match self.try_receive() {
                Ok(Some(signal)) => return Poll::Ready(Ok(signal)),
                Ok(None) => self.fd.clear(Direction::Read, seen),
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// Reads one signal, if one is pending.
    fn try_receive(&self) -> io::Result<Option<libc::c_int>> {
        let mut info = MaybeUninit::<libc::signalfd_siginfo>::uninit();
        let size = size_of::<libc::signalfd_siginfo>();
        loop {
            // SAFETY: `info` is valid for writes of `size` bytes.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), info.as_mut_ptr().cast(), size) };
            if n == -1 {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Ok(None),
                    _ => return Err(err),
                }
            }
            if usize::try_from(n).ok() != Some(size) {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "short read from a signalfd",
                ));
            }
            // SAFETY: the kernel filled all `size` bytes (checked above).
            let info = unsafe { info.assume_init() };
            return Ok(libc::c_int::try_from(info.ssi_signo).ok());
        }
    }
}

impl Drop for SignalFd {
    fn drop(&mut self) {
        // SAFETY: `set` is an initialised set; the old mask is not asked for.
        let res = unsafe {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &raw const self.set, ptr::null_mut())
        };
        if res != 0 {
            log::warn!(
                "can't unblock the runtime's signals: {}",
                io::Error::from_raw_os_error(res)
            );
        }
    }
}
