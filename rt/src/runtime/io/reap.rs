//! How a child ended ([`ChildEnd`]) and the non-blocking `waitid(2)` that
//! reaps an exited child ([`reap_exited`]), which both drivers finish a
//! wait with.
//!
//! Neither driver's wait reaps the child in the kernel: io_uring's `waitid`
//! is submitted with `WNOWAIT` and the poll driver's `pidfd` only becomes
//! readable, and the reap is a system call made when the waiting future is
//! polled. A wait that is dropped after the child exited, but before its
//! cancellation reached the kernel, therefore leaves the child waitable for
//! the next wait.

use std::io;
use std::mem::MaybeUninit;

/// How a child ended: `si_code` (`CLD_EXITED`, `CLD_KILLED`,
/// `CLD_DUMPED`) and `si_status` (the exit code or the signal), as
/// `waitid(2)` reports them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChildEnd {
    pub(crate) code: libc::c_int,
    pub(crate) status: libc::c_int,
}

/// Reaps the child `id` names (`idtype` is `P_PID` or `P_PIDFD`) if it
/// exited; `Ok(None)` if it has not exited yet.
pub(crate) fn reap_exited(idtype: libc::idtype_t, id: libc::id_t) -> io::Result<Option<ChildEnd>> {
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: `info` is valid for writes of a `siginfo_t`.
    let res = unsafe { libc::waitid(idtype, id, info.as_mut_ptr(), libc::WEXITED | libc::WNOHANG) };
    if res == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: zeroed, and filled in by `waitid` if a child exited.
    let info = unsafe { info.assume_init() };
    // SAFETY: `waitid` fills in the fields of `SIGCHLD`, which `si_pid`
    // reads; zeroed if no child exited.
    if unsafe { info.si_pid() } == 0 {
        // `WNOHANG`: the child has not exited yet.
        return Ok(None);
    }
    Ok(Some(ChildEnd {
        code: info.si_code,
        // SAFETY: as above, a child exited.
        status: unsafe { info.si_status() },
    }))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::reap_exited;

    #[test]
    #[expect(clippy::zombie_processes, reason = "reaped by `reap_exited`")]
    fn a_running_child_is_not_reaped_and_an_exited_one_is_once() {
        let mut child = Command::new("sh")
            .args(["-c", "read _; exit 7"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id() as libc::id_t;
        assert_eq!(reap_exited(libc::P_PID, pid).unwrap(), None);
        drop(child.stdin.take());
        let end = loop {
            if let Some(end) = reap_exited(libc::P_PID, pid).unwrap() {
                break end;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert_eq!((end.code, end.status), (libc::CLD_EXITED, 7));
        let err = reap_exited(libc::P_PID, pid).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ECHILD));
    }
}
