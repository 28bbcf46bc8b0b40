//! [`wait`]: waiting for a child process to exit on either driver, and its
//! exit status as std has it.
//!
//! On io_uring it is io_uring's `waitid` (Linux 6.7 or later); on the poll
//! driver a `pidfd` that becomes readable when the child exits (see
//! [`poll::process`](super::poll::process)).

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};

use a10::process::{ChildStatus, WaitOption};

use crate::runtime::io::Io;
use crate::runtime::io::poll::process::{self as poll_process, ChildEnd};

/// Waits until `child` exits and reaps it; returns its exit status.
pub(crate) async fn wait(io: &Io, child: &Child) -> io::Result<ExitStatus> {
    let end = match io {
        Io::Uring(ring) => {
            let wait = a10::process::wait_on(ring.sq(), child).flags(WaitOption::EXITED);
            let info = ring.op(wait).await?;
            let code = info.code();
            let code = if code == ChildStatus::EXITED {
                libc::CLD_EXITED
            } else if code == ChildStatus::KILLED {
                libc::CLD_KILLED
            } else if code == ChildStatus::DUMPED {
                libc::CLD_DUMPED
            } else {
                return Err(not_exited(child, &format!("{code:?}")));
            };
            ChildEnd {
                code,
                status: info.status().into_raw(),
            }
        }
        Io::Poll(handle) => poll_process::wait(handle, child.id()).await?,
    };
    exit_status(end).ok_or_else(|| not_exited(child, &format!("si_code {}", end.code)))
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
