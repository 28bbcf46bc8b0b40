//! [`Pidfd`]: a child process named by a file descriptor, so that a signal
//! never reaches another process that reused its id.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::process::Child;

use super::signal::{ChildSignal, error_kind, signal_error};

/// A pidfd (`pidfd_open(2)`): a file descriptor that names one process for
/// as long as it is open.
///
/// A process id is reused once its process has exited and been reaped, so
/// a signal sent by id ([`send_signal`](super::send_signal)) after that may
/// reach another process. A signal sent through a pidfd
/// ([`Pidfd::send_signal`], `pidfd_send_signal(2)`) reaches the process the
/// pidfd was opened for, or fails with [`io::ErrorKind::NotFound`] once it
/// has been reaped. Open it while the child has certainly not been reaped:
/// right after spawning it, before any [`wait`](super::wait).
///
/// Pidfds need Linux 5.3 (the epoll driver's `wait` uses them too), but a
/// seccomp profile may block them; [`Pidfd::open`] then fails and says
/// so, and [`send_signal`](super::send_signal) (`kill(2)`) is what is left.
///
/// ```no_run
/// # use std::io;
/// # use std::time::Duration;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use std::process::Command;
/// use kiln_rt::process::{self, ChildSignal, Pidfd};
/// use kiln_rt::timer::Deadline;
///
/// /// Runs `job`, killing it if it takes more than a minute.
/// async fn supervise(ctx: actor::Context<(), ThreadLocal>, job: String) -> io::Result<()> {
///     let rt = ctx.runtime_ref();
///     let child = process::spawn(&mut Command::new(job))?;
///     let pidfd = Pidfd::open(&child)?; // Before any wait.
///     let minute = Duration::from_secs(60);
///     if let Err(err) = Deadline::after(rt.clone(), minute, process::wait(rt, &child)).await {
///         // Through the pidfd the signal reaches this child or nothing,
///         // never a process that was given its id after a reap.
///         if pidfd.send_signal(ChildSignal::KILL).is_ok() {
///             process::wait(rt, &child).await?;
///         }
///         return Err(err);
///     }
///     Ok(())
/// }
/// ```
pub struct Pidfd {
    fd: OwnedFd,
    pid: u32,
}

impl Pidfd {
    /// Opens a pidfd for `child`. Fails if the child has already been
    /// reaped (`NotFound`), or pidfds are not allowed here (the message
    /// says what to use instead).
    pub fn open(child: &Child) -> io::Result<Pidfd> {
        let pid = child.id();
        let raw_pid = libc::pid_t::try_from(pid).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("can't open a pidfd for process {pid}: not a process id"),
            )
        })?;
        // SAFETY: `pidfd_open` takes a process id and flags (none) and
        // returns a new descriptor, or -1; it touches no memory of ours.
        let res = unsafe { libc::syscall(libc::SYS_pidfd_open, raw_pid, 0 as libc::c_uint) };
        if res == -1 {
            let err = io::Error::last_os_error();
            let why = match err.raw_os_error() {
                Some(libc::ESRCH) => " (it has exited and been waited for)",
                Some(libc::ENOSYS | libc::EPERM) => {
                    " (pidfds need Linux 5.3 and may be blocked by seccomp: \
                     use process::send_signal, which uses kill(2))"
                }
                _ => "",
            };
            return Err(io::Error::new(
                error_kind(&err),
                format!("can't open a pidfd for process {pid}: {err}{why}"),
            ));
        }
        let raw_fd = libc::c_int::try_from(res).map_err(|_| {
            io::Error::other(format!(
                "can't open a pidfd for process {pid}: the kernel returned {res}"
            ))
        })?;
        // SAFETY: `pidfd_open` returned a new descriptor (close-on-exec),
        // which nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw_fd) };
        Ok(Pidfd { fd, pid })
    }

    /// The process id of the process.
    pub const fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends `signal` to the process (`pidfd_send_signal(2)`). Does not
    /// wait: wait for the child to end with [`wait`](super::wait).
    ///
    /// Fails, naming the process and the signal, once the process has been
    /// reaped (`NotFound`: no other process gets the signal), if `signal`
    /// is no signal number (`InvalidInput`), or if this process may not
    /// signal it (`PermissionDenied`).
    pub fn send_signal(&self, signal: impl Into<ChildSignal>) -> io::Result<()> {
        let signal = signal.into();
        // SAFETY: `pidfd_send_signal` takes our open pidfd, a signal number,
        // a null `siginfo_t` (the kernel fills it in as `kill` would) and
        // flags (none); it reads no memory of ours.
        let res = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                signal.as_raw(),
                std::ptr::null::<libc::siginfo_t>(),
                0 as libc::c_uint,
            )
        };
        if res == -1 {
            return Err(signal_error(io::Error::last_os_error(), signal, self.pid));
        }
        Ok(())
    }
}

impl AsFd for Pidfd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl fmt::Debug for Pidfd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pidfd")
            .field("pid", &self.pid)
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}
