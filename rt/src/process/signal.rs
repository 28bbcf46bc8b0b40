//! Sending a signal to a child process by its process id: [`ChildSignal`]
//! and [`send_signal`] (`kill(2)`). [`Pidfd`](super::Pidfd) sends through a
//! pidfd instead, which cannot reach another process.

use std::fmt;
use std::io;
use std::process::Child;

use crate::signal::Signal;

/// A signal to send to a child process, with [`send_signal`] or
/// [`Pidfd::send_signal`](super::Pidfd::send_signal): any signal number,
/// the usual ones by name.
///
/// The runtime's [`Signal`] (the signals it relays to actors) converts into
/// one, so `Signal::Terminate` can be passed where a `ChildSignal` is taken.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct ChildSignal(libc::c_int);

impl ChildSignal {
    /// SIGKILL: ends the process at once; it cannot be caught or ignored.
    pub const KILL: ChildSignal = ChildSignal(libc::SIGKILL);
    /// SIGTERM: asks the process to terminate.
    pub const TERMINATE: ChildSignal = ChildSignal(libc::SIGTERM);
    /// SIGINT: interrupt, as Ctrl-C in a terminal.
    pub const INTERRUPT: ChildSignal = ChildSignal(libc::SIGINT);
    /// SIGQUIT: quit, as Ctrl-\ in a terminal.
    pub const QUIT: ChildSignal = ChildSignal(libc::SIGQUIT);
    /// SIGHUP: hang up; many daemons reload their configuration on it.
    pub const HANGUP: ChildSignal = ChildSignal(libc::SIGHUP);
    /// SIGUSR1: user-defined.
    pub const USER1: ChildSignal = ChildSignal(libc::SIGUSR1);
    /// SIGUSR2: user-defined.
    pub const USER2: ChildSignal = ChildSignal(libc::SIGUSR2);
    /// SIGSTOP: pauses the process; it cannot be caught or ignored.
    pub const STOP: ChildSignal = ChildSignal(libc::SIGSTOP);
    /// SIGCONT: resumes a paused process.
    pub const CONTINUE: ChildSignal = ChildSignal(libc::SIGCONT);

    /// The signal with number `signo` (`libc::SIGWINCH`, ...). The number
    /// is not checked here: sending a number that is no signal fails with
    /// [`io::ErrorKind::InvalidInput`]. Number 0 sends nothing and only
    /// checks that the process can be signalled (`kill(2)`).
    pub const fn from_raw(signo: libc::c_int) -> ChildSignal {
        ChildSignal(signo)
    }

    /// The signal's number.
    pub const fn as_raw(self) -> libc::c_int {
        self.0
    }

    /// The signal's name, such as "SIGKILL", for the named ones.
    const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            libc::SIGKILL => "SIGKILL",
            libc::SIGTERM => "SIGTERM",
            libc::SIGINT => "SIGINT",
            libc::SIGQUIT => "SIGQUIT",
            libc::SIGHUP => "SIGHUP",
            libc::SIGUSR1 => "SIGUSR1",
            libc::SIGUSR2 => "SIGUSR2",
            libc::SIGSTOP => "SIGSTOP",
            libc::SIGCONT => "SIGCONT",
            _ => return None,
        })
    }
}

impl From<Signal> for ChildSignal {
    fn from(signal: Signal) -> ChildSignal {
        ChildSignal(signal.as_raw())
    }
}

impl fmt::Display for ChildSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "signal {}", self.0),
        }
    }
}

impl fmt::Debug for ChildSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChildSignal({self})")
    }
}

/// Sends `signal` to `child`, by its process id (`kill(2)`). Does not wait:
/// wait for the child to end with [`wait`](super::wait).
///
/// Spawn the child with [`process::spawn`](super::spawn): a child spawned
/// with `Command::spawn` on a runtime thread has the runtime's signals
/// (SIGTERM, SIGINT, ...) blocked, and they stay pending in it.
///
/// A process id names the child only until the child is *reaped*: once
/// its exit status has been collected ([`wait`](super::wait) returned it,
/// or std's [`Child::wait`]), the id is free and may name another process,
/// which would get the signal. So send this way only to a child not yet
/// waited for. Note that a `wait` future dropped before it completed may
/// still have reaped the child (the kernel can finish the wait just before
/// it sees the cancellation, see [`io`](crate::io)), and std's `Child` does
/// not know of kiln's waits, so std's [`Child::kill`] has the same limit.
/// Where that can happen, open a [`Pidfd`](super::Pidfd) while the child
/// runs, and signal through it: a pidfd names one process for as long as it
/// is open, and a signal through it fails once that process is gone.
///
/// Fails, with the process id and the signal in the message, if the
/// process is gone (`NotFound`), `signal` is no signal number
/// (`InvalidInput`), or this process may not signal it
/// (`PermissionDenied`).
///
/// ```no_run
/// # use std::io;
/// # use kiln::actor;
/// # use kiln_rt::ThreadLocal;
/// use std::process::Command;
/// use kiln_rt::process::{self, ChildSignal};
///
/// async fn stop_sleep(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
///     let child = process::spawn(Command::new("sleep").arg("60"))?;
///     process::send_signal(&child, ChildSignal::TERMINATE)?;
///     let status = process::wait(ctx.runtime_ref(), &child).await?;
///     assert!(!status.success());
///     Ok(())
/// }
/// ```
pub fn send_signal(child: &Child, signal: impl Into<ChildSignal>) -> io::Result<()> {
    let signal = signal.into();
    let pid = child.id();
    let raw_pid = libc::pid_t::try_from(pid).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("can't send {signal} to process {pid}: not a process id"),
        )
    })?;
    // SAFETY: `kill` takes a process id and a signal number and touches no
    // memory of ours; `raw_pid` is positive (a child's id), so it names one
    // process, not a group.
    let res = unsafe { libc::kill(raw_pid, signal.as_raw()) };
    if res == -1 {
        return Err(signal_error(io::Error::last_os_error(), signal, pid));
    }
    Ok(())
}

/// The error of sending `signal` to process `pid`: what failed, the OS's
/// reason and, where the code says more, why.
pub(super) fn signal_error(err: io::Error, signal: ChildSignal, pid: u32) -> io::Error {
    let why = match err.raw_os_error() {
        Some(libc::ESRCH) => " (it has exited and been waited for)",
        Some(libc::EINVAL) => " (not a signal number)",
        Some(libc::EPERM) => " (this process may not signal it)",
        _ => "",
    };
    io::Error::new(
        error_kind(&err),
        format!("can't send {signal} to process {pid}: {err}{why}"),
    )
}

/// The kind of `err`, with ESRCH (no such process), which std leaves
/// uncategorised, as [`io::ErrorKind::NotFound`].
pub(super) fn error_kind(err: &io::Error) -> io::ErrorKind {
    if err.raw_os_error() == Some(libc::ESRCH) {
        io::ErrorKind::NotFound
    } else {
        err.kind()
    }
}
