//! [`spawn`]: starting a child process with the runtime's signals
//! unblocked, so that it reacts to them.

use std::io;
use std::mem::MaybeUninit;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use crate::signal::Signal;

/// Spawns `command` as [`Command::spawn`] does, but with the signals the
/// runtime handles unblocked in the child.
///
/// The runtime blocks the signals it handles ([`Signal::ALL`]: SIGINT,
/// SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2) in all its threads, and in
/// the thread that built it, to read them from a signalfd (see
/// [`Signal`]). A child inherits the signal mask of the thread that spawns
/// it, and std's `Command` does not reset it: a child spawned with
/// `Command::spawn` on a runtime thread starts with these signals blocked,
/// and unless it unblocks them itself (shells do, most programs do not) a
/// SIGTERM from [`send_signal`](super::send_signal), `kill` or a service
/// manager, or the SIGINT of a Ctrl-C in its terminal, stays pending
/// instead of stopping it. `spawn` unblocks them in the child, between
/// `fork` and `exec`; other signals blocked by the caller stay blocked.
///
/// This adds a [`pre_exec`](CommandExt::pre_exec) hook to `command` (so std
/// forks and execs rather than using `posix_spawn`); the hook stays, so
/// spawning the command again with `Command::spawn` unblocks them too.
/// Fails as `Command::spawn` does; the message names the program.
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
///     assert!(!status.success()); // Ended by SIGTERM.
///     Ok(())
/// }
/// ```
pub fn spawn(command: &mut Command) -> io::Result<Child> {
    let signals = runtime_signals()?;
    let unblock = move || {
        // SAFETY: `sigprocmask` is async-signal-safe (this runs in the
        // forked child before `exec`); `signals` is a valid set made before
        // the fork, and the old mask is not asked for.
        let res = unsafe {
            libc::sigprocmask(libc::SIG_UNBLOCK, &raw const signals, std::ptr::null_mut())
        };
        if res == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // SAFETY: the hook calls only `sigprocmask` (async-signal-safe), with
    // data it owns; it allocates nothing and takes no lock.
    unsafe { command.pre_exec(unblock) };
    command.spawn().map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("can't spawn {:?}: {err}", command.get_program()),
        )
    })
}

/// The set of the signals the runtime handles.
fn runtime_signals() -> io::Result<libc::sigset_t> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigemptyset` initialises the set `set` points to.
    if unsafe { libc::sigemptyset(set.as_mut_ptr()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: initialised by `sigemptyset` above.
    let mut set = unsafe { set.assume_init() };
    for signal in Signal::ALL {
        // SAFETY: `set` is an initialised set; the signal number is valid.
        if unsafe { libc::sigaddset(&raw mut set, signal.as_raw()) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(set)
}
