//! Child processes: [`wait`] for one to exit without blocking the worker,
//! and send it signals ([`send_signal`], [`Pidfd`]).
//!
//! Spawn the child with [`std::process::Command`] (a quick system call that
//! never waits for the child), talk to it through its standard streams as
//! pipes ([`pipe::Sender::from_child_stdin`],
//! [`pipe::Receiver::from_child_stdout`], ...), and wait for it with
//! [`wait`], which waits on the ring of the runtime access (io_uring's
//! `waitid`, Linux 6.7 or later) rather than in a blocking system call.
//!
//! Spawn children with [`spawn`] rather than `Command::spawn` where they
//! should react to SIGTERM, SIGINT and the other signals the runtime
//! handles: the runtime blocks those in its threads, and a child inherits
//! that mask.
//!
//! To stop or pause a child, send it a signal ([`ChildSignal`]): with
//! [`send_signal`], by its process id (`kill(2)`), which is right only
//! while the child has not been waited for; or through a [`Pidfd`] opened
//! right after spawning it (`pidfd_send_signal(2)`), which can never reach
//! another process that reused the id. See [`send_signal`] for when that
//! matters.
//!
//! [`pipe::Sender::from_child_stdin`]: crate::pipe::Sender::from_child_stdin
//! [`pipe::Receiver::from_child_stdout`]: crate::pipe::Receiver::from_child_stdout
//!
//! ```no_run
//! # use std::io;
//! # use kiln::actor;
//! # use kiln_rt::ThreadLocal;
//! use std::process::Command;
//! use kiln_rt::process;
//!
//! async fn run_true(ctx: actor::Context<(), ThreadLocal>) -> io::Result<()> {
//!     let child = Command::new("true").spawn()?;
//!     let status = process::wait(ctx.runtime_ref(), &child).await?;
//!     assert!(status.success());
//!     Ok(())
//! }
//! ```

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};

use a10::process::{ChildStatus, WaitOption};

use crate::access::Access;

mod pidfd;
mod signal;
mod spawn;

pub use pidfd::Pidfd;
pub use signal::{ChildSignal, send_signal};
pub use spawn::spawn;

/// Waits, on the ring of `rt`, until `child` exits; returns its exit
/// status, as [`Child::wait`] would.
///
/// The child is reaped: its status can be collected once, so do not also
/// wait for it through std ([`Child::wait`], [`Child::try_wait`],
/// [`Child::wait_with_output`]), which then fails, and do not call this
/// again for the same child. Worse, once a child is reaped its process id
/// may be reused, and a later wait on that id could wait for another child.
///
/// Dropping the returned future before the child exits cancels the wait;
/// the child keeps running and can be waited for again.
///
/// Fails if the kernel lacks io_uring's `waitid` (Linux before 6.7:
/// `InvalidInput`) or `child` is not a child of this process that has yet
/// to be reaped; the message names the process id.
pub async fn wait<RT: Access + ?Sized>(rt: &RT, child: &Child) -> io::Result<ExitStatus> {
    let ring = rt.io_ring();
    let info = ring
        .op(a10::process::wait_on(ring.sq(), child).flags(WaitOption::EXITED))
        .await
        .map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("can't wait for process {}: {err}", child.id()),
            )
        })?;
    // a10 makes its `ExitStatus` from `waitid(2)`'s `si_status` alone, which
    // is the exit code or the signal depending on `si_code`; std's
    // `ExitStatus` is the status word of `waitpid(2)`, so rebuild that.
    let status = info.status().into_raw();
    let code = info.code();
    let wait_status = if code == ChildStatus::EXITED {
        (status & 0xff) << 8
    } else if code == ChildStatus::KILLED {
        status & 0x7f
    } else if code == ChildStatus::DUMPED {
        (status & 0x7f) | 0x80 // WCOREFLAG
    } else {
        return Err(io::Error::other(format!(
            "process {} did not exit but reported {code:?}",
            child.id()
        )));
    };
    Ok(ExitStatus::from_raw(wait_status))
}
