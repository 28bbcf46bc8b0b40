//! [`Error`]: what went wrong running the runtime, and what to do about it.

use std::{fmt, io};

use crate::signal::Signal;

/// An error of the runtime: setting it up, running a worker, a function given
/// to [`Runtime::run_on_workers`](crate::Runtime::run_on_workers), spawning
/// on a worker that does not exist or has failed
/// ([`RuntimeRef::spawn_local_on`](crate::RuntimeRef::spawn_local_on)), or an
/// exit signal nobody handles.
///
/// `Display` says what failed and, where it can, what to do; `source` gives
/// the underlying I/O error.
pub struct Error {
    kind: ErrorKind,
}

#[derive(Debug)]
enum ErrorKind {
    /// io_uring could not be set up.
    IoUring(io::Error),
    /// Another setup step failed.
    Setup(&'static str, io::Error),
    /// A worker thread failed.
    Worker(usize, io::Error),
    /// A worker thread panicked (a bug in kiln-rt).
    WorkerPanic(usize, String),
    /// A synchronous actor's thread could not be started.
    StartSyncActor(io::Error),
    /// The coordinator's event loop failed.
    Coordinator(io::Error),
    /// A function run on the workers failed or panicked.
    User(String),
    /// An exit signal arrived and no actor receives signals.
    ExitSignal(Signal),
    /// A second exit signal (the first) arrived during a graceful shutdown.
    ForcedExit(Signal, Signal),
    /// Too many workers alive in this process.
    TooManyWorkers,
    /// Bad setup value.
    InvalidSetup(&'static str),
    /// Bad setup value, with a message made at run time.
    InvalidSetupOwned(String),
    /// `spawn_local_on` a worker (the first) of a runtime with fewer (the
    /// second).
    NoSuchWorker(usize, usize),
    /// `spawn_local_on` a worker whose thread has ended.
    WorkerStopped(usize),
}

impl Error {
    pub(crate) fn io_uring(err: io::Error) -> Error {
        Error {
            kind: ErrorKind::IoUring(err),
        }
    }

    pub(crate) const fn setup(what: &'static str, err: io::Error) -> Error {
        Error {
            kind: ErrorKind::Setup(what, err),
        }
    }

    pub(crate) const fn worker(index: usize, err: io::Error) -> Error {
        Error {
            kind: ErrorKind::Worker(index, err),
        }
    }

    pub(crate) const fn worker_panic(index: usize, msg: String) -> Error {
        Error {
            kind: ErrorKind::WorkerPanic(index, msg),
        }
    }

    pub(crate) const fn start_sync_actor(err: io::Error) -> Error {
        Error {
            kind: ErrorKind::StartSyncActor(err),
        }
    }

    pub(crate) const fn coordinator(err: io::Error) -> Error {
        Error {
            kind: ErrorKind::Coordinator(err),
        }
    }

    pub(crate) const fn user(msg: String) -> Error {
        Error {
            kind: ErrorKind::User(msg),
        }
    }

    pub(crate) const fn exit_signal(signal: Signal) -> Error {
        Error {
            kind: ErrorKind::ExitSignal(signal),
        }
    }

    pub(crate) const fn forced_exit(signal: Signal, first: Signal) -> Error {
        Error {
            kind: ErrorKind::ForcedExit(signal, first),
        }
    }

    pub(crate) const fn too_many_workers() -> Error {
        Error {
            kind: ErrorKind::TooManyWorkers,
        }
    }

    pub(crate) const fn invalid_setup_owned(what: String) -> Error {
        Error {
            kind: ErrorKind::InvalidSetupOwned(what),
        }
    }

    pub(crate) const fn invalid_setup(what: &'static str) -> Error {
        Error {
            kind: ErrorKind::InvalidSetup(what),
        }
    }

    pub(crate) const fn no_such_worker(worker: usize, workers: usize) -> Error {
        Error {
            kind: ErrorKind::NoSuchWorker(worker, workers),
        }
    }

    pub(crate) const fn worker_stopped(worker: usize) -> Error {
        Error {
            kind: ErrorKind::WorkerStopped(worker),
        }
    }

    /// Returns `true` if the error is io_uring not being available.
    pub fn is_io_uring_unavailable(&self) -> bool {
        matches!(self.kind, ErrorKind::IoUring(_))
    }

    /// The exit signal that stopped the runtime, if that is this error:
    /// an exit signal no actor receives, or a second exit signal that forced
    /// a graceful shutdown to end ([`is_forced_exit`](Error::is_forced_exit)).
    pub fn exit_signal_received(&self) -> Option<Signal> {
        match self.kind {
            ErrorKind::ExitSignal(signal) | ErrorKind::ForcedExit(signal, _) => Some(signal),
            _ => None,
        }
    }

    /// Returns `true` if a second exit signal arrived while the runtime shut
    /// down gracefully after the first, so [`Runtime::start`] returned
    /// without waiting for its actors.
    ///
    /// The worker threads may still be running: returning from `main` ends
    /// them with the process.
    ///
    /// [`Runtime::start`]: crate::Runtime::start
    pub const fn is_forced_exit(&self) -> bool {
        matches!(self.kind, ErrorKind::ForcedExit(..))
    }
}

/// Explains why io_uring setup failed, from its error code.
///
/// kiln-rt's io_uring driver needs Linux 6.6: a10 sets every ring up with
/// `IORING_SETUP_NO_SQARRAY`, new in 6.6, which older kernels refuse with
/// `EINVAL` (kernels without io_uring at all fail with `ENOSYS`).
fn io_uring_hint(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::ENOSYS) => {
            "the kernel does not support io_uring: kiln-rt's io_uring driver needs Linux 6.6 or later"
        }
        Some(libc::EINVAL) => {
            "the kernel refused kiln-rt's io_uring setup: its io_uring driver needs Linux 6.6 or later \
             (`uname -r` shows this one's version)"
        }
        Some(libc::EPERM) => {
            "io_uring is not permitted: it is blocked by a seccomp profile (such as Docker's \
             default; run with a profile that allows io_uring_setup) or disabled by the \
             kernel.io_uring_disabled sysctl"
        }
        Some(libc::ENOMEM) => {
            "not enough locked memory for io_uring: raise the memlock limit (`ulimit -l`, or \
             LimitMEMLOCK= in a systemd unit)"
        }
        Some(libc::EMFILE | libc::ENFILE) => {
            "too many open files to create an io_uring: raise the file descriptor limit (`ulimit -n`)"
        }
        _ => "io_uring could not be set up",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::IoUring(err) => write!(f, "{}: {err}", io_uring_hint(err)),
            ErrorKind::Setup(what, err) => write!(f, "error setting up the runtime: {what}: {err}"),
            ErrorKind::Worker(index, err) => write!(f, "error in worker thread {index}: {err}"),
            ErrorKind::WorkerPanic(index, msg) => {
                write!(f, "worker thread {index} panicked (a bug in kiln-rt, please report it): {msg}")
            }
            ErrorKind::StartSyncActor(err) => {
                write!(f, "can't start a thread for a synchronous actor: {err}")
            }
            ErrorKind::Coordinator(err) => write!(f, "error in the runtime's coordinator: {err}"),
            ErrorKind::User(msg) => write!(f, "error running a function on the workers: {msg}"),
            ErrorKind::ExitSignal(signal) => write!(
                f,
                "received the {signal} signal and no actor receives signals \
                 (use `receive_signals` to shut down gracefully)"
            ),
            ErrorKind::ForcedExit(signal, first) => write!(
                f,
                "received the {signal} signal while shutting down after {first}: stopped at \
                 once, without waiting for the actors still running (a second exit signal \
                 forces the shutdown)"
            ),
            ErrorKind::TooManyWorkers => f.write_str(
                "too many runtime workers in this process (at most 65,534 at a time): drop runtimes that have finished",
            ),
            ErrorKind::InvalidSetup(what) => write!(f, "invalid runtime setup: {what}"),
            ErrorKind::InvalidSetupOwned(what) => write!(f, "invalid runtime setup: {what}"),
            ErrorKind::NoSuchWorker(worker, workers) => write!(
                f,
                "can't spawn an actor on worker {worker}: the runtime has {workers} workers, \
                 numbered from 0"
            ),
            ErrorKind::WorkerStopped(worker) => write!(
                f,
                "can't spawn an actor on worker {worker}: its thread has ended (it failed; \
                 `Runtime::start` returns why)"
            ),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug is what `main` returning `Err` prints: make it readable.
        write!(f, "{self}")
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::IoUring(err)
            | ErrorKind::Setup(_, err)
            | ErrorKind::Worker(_, err)
            | ErrorKind::StartSyncActor(err)
            | ErrorKind::Coordinator(err) => Some(err),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
