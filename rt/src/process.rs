//! Child processes: [`wait`] for one to exit without blocking the worker,
//! and send it signals ([`send_signal`], [`Pidfd`]).
//!
//! Spawn the child with [`std::process::Command`] (a quick system call that
//! never waits for the child), talk to it through its standard streams as
//! pipes ([`pipe::Sender::from_child_stdin`],
//! [`pipe::Receiver::from_child_stdout`], ...), and wait for it with
//! [`wait`], which waits on the I/O driver of the runtime access (io_uring's
//! `waitid`, Linux 6.7 or later, or a `pidfd` on the poll driver) rather
//! than in a blocking system call.
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
use std::process::{Child, ExitStatus};

use crate::access::Access;
use crate::runtime::io::process as io_process;

mod pidfd;
mod signal;
mod spawn;

pub use pidfd::Pidfd;
pub use signal::{ChildSignal, send_signal};
pub use spawn::spawn;

/// Waits, on the I/O driver of `rt`, until `child` exits; returns its exit
/// status, as [`Child::wait`] would.
///
/// The child is reaped: its status can be collected once, so do not also
/// wait for it through std ([`Child::wait`], [`Child::try_wait`],
/// [`Child::wait_with_output`]), which then fails, and do not call this
/// again for the same child. Worse, once a child is reaped its process id
/// may be reused, and a later wait on that id could wait for another child.
///
/// Dropping the returned future cancels the wait; the child keeps running,
/// or stays waitable if it already exited, and can be waited for again, on
/// both drivers: neither reaps the child in the kernel (io_uring's `waitid`
/// is submitted with `WNOWAIT`), the reap happens when the future sees that
/// the child exited, so a child that exits between the drop and the moment
/// the cancellation reaches the kernel is not lost with the dropped wait.
///
/// On io_uring this is io_uring's `waitid`, which needs Linux 6.7 or later
/// (before: `InvalidInput`); on the poll driver a `pidfd` (Linux 5.3) that
/// becomes readable when the child exits. Fails if `child` is not a child of
/// this process that has yet to be reaped; the message names the process
/// id.
pub async fn wait<RT: Access + ?Sized>(rt: &RT, child: &Child) -> io::Result<ExitStatus> {
    io_process::wait(&rt.io(), child).await.map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("can't wait for process {}: {err}", child.id()),
        )
    })
}
