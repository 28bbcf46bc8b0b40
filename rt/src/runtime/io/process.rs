//! [`wait`]: waiting for a child process to exit on either driver, and its
//! exit status as std has it.
//!
//! On io_uring it is io_uring's `waitid` (Linux 6.7 or later) with
//! `WNOWAIT`; on the poll driver a `pidfd` that becomes readable when the
//! child exits (see [`poll::process`](super::poll::process)). Either way the
//! child is reaped by [`reap_exited`] when the waiting future is polled.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};

use a10::process::WaitOption;

use crate::runtime::io::Io;
use crate::runtime::io::poll::process as poll_process;
use crate::runtime::io::reap::{ChildEnd, reap_exited};

/// Waits until `child` exits and reaps it; returns its exit status.
pub(crate) async fn wait(io: &Io, child: &Child) -> io::Result<ExitStatus> {
    let end = match io {
        Io::Uring(ring) => {
            // `NO_WAIT` leaves the child waitable: the reap below is made
            // here, when this future sees the completion. A dropped wait
            // whose cancellation reaches the kernel after the child exited
            // completes without reaping it, so a later wait still finds it
            // (see `reap`).
            let wait = a10::process::wait_on(ring.sq(), child).flags(exited_no_wait());
            let info = ring.op(wait).await?;
            let pid = libc::id_t::from(child.id());
            match reap_exited(libc::P_PID, pid)? {
                Some(end) => end,
                None => {
                    return Err(not_exited(
                        child,
                        &format!("{:?} and was not reapable", info.code()),
                    ));
                }
            }
        }
        Io::Poll(handle) => poll_process::wait(handle, child.id()).await?,
    };
    exit_status(end).ok_or_else(|| not_exited(child, &format!("si_code {}", end.code)))
}

/// `WEXITED | WNOWAIT`: a10 0.4 has the two options but no way to combine
/// them.
fn exited_no_wait() -> WaitOption {
    // SAFETY: `WaitOption` is a `#[repr(transparent)]` wrapper of the `u32`
    // options a10 hands to `waitid(2)` unchanged (`transmute` checks the
    // size); these are two of its own values, or-ed as the kernel expects.
    unsafe { std::mem::transmute::<u32, WaitOption>((libc::WEXITED | libc::WNOWAIT) as u32) }
}

/// std's `ExitStatus` is the status word of `waitpid(2)`; `waitid(2)` gives
/// the exit code or the signal depending on how the child ended. `None` if
/// it did not end.
fn exit_status(end: ChildEnd) -> Option<ExitStatus> {
    let status = end.status;
    let wait_status = match end.code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_KILLED => status & 0x7f,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80, // WCOREFLAG
        _ => return None,
    };
    Some(ExitStatus::from_raw(wait_status))
}

fn not_exited(child: &Child, reported: &str) -> io::Error {
    io::Error::other(format!(
        "process {} did not exit but reported {reported}",
        child.id()
    ))
}

#[cfg(test)]
mod tests {
    use super::{ChildEnd, exit_status};

    #[test]
    fn waitid_results_become_std_exit_statuses() {
        let exited = exit_status(ChildEnd {
            code: libc::CLD_EXITED,
            status: 3,
        })
        .unwrap();
        assert_eq!(exited.code(), Some(3));
        let killed = exit_status(ChildEnd {
            code: libc::CLD_KILLED,
            status: libc::SIGKILL,
        })
        .unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&killed),
            Some(libc::SIGKILL)
        );
        let dumped = exit_status(ChildEnd {
            code: libc::CLD_DUMPED,
            status: libc::SIGSEGV,
        })
        .unwrap();
        assert!(std::os::unix::process::ExitStatusExt::core_dumped(&dumped));
        assert!(
            exit_status(ChildEnd {
                code: libc::CLD_STOPPED,
                status: 0
            })
            .is_none()
        );
    }
}
