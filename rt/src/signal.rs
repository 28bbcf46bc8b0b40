//! [`Signal`]: process signals, relayed to actors as messages; its docs
//! say how the runtime handles them.

use std::fmt;

/// A process signal, as delivered to actors.
///
/// The runtime handles SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1 and SIGUSR2
/// itself: they are blocked in every runtime thread (set up by
/// [`Setup::build`](crate::Setup::build) before any worker starts, so none is
/// lost at start-up) and read by the coordinator through a `signalfd`. Each
/// signal goes, as a `Signal` message, to every actor registered with
/// `receive_signals` ([`Runtime`](crate::Runtime::receive_signals),
/// [`RuntimeRef`](crate::RuntimeRef::receive_signals), ...), exactly once; a
/// signal that finds an inbox full is kept and delivered once there is room.
///
/// An exit signal (interrupt, terminate, quit) with no actor registered, or
/// rejected by all of them, stops the runtime:
/// [`Runtime::start`](crate::Runtime::start) returns an error that names the
/// signal.
///
/// SIGUSR2 also makes the runtime log its [metrics](crate::metrics) (at
/// `info` level), whether or not an actor receives it.
///
/// A child process inherits the blocked signals of the thread that spawns
/// it: spawn children with [`process::spawn`](crate::process::spawn), which
/// unblocks these signals in the child, or SIGTERM and SIGINT stay pending
/// in most programs instead of stopping them.
///
/// # A second exit signal forces the shutdown
///
/// The first exit signal that an actor accepts starts a graceful shutdown:
/// the actors decide how (a server stops accepting and lets its connections
/// finish), and `start` returns once they have all stopped. A second exit
/// signal (of any of the three kinds) while that shutdown runs means the
/// operator will not wait: `start` returns at once with an error for which
/// [`Error::is_forced_exit`](crate::Error::is_forced_exit) is `true` and whose
/// message names both signals; returning it from `main` ends the process
/// (status 1) and the actors still running with it. This is what a double
/// Ctrl-C does in most servers, and what a service manager's repeated
/// SIGTERM asks for. The second signal is not relayed to the actors.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// SIGINT: interrupt, e.g. Ctrl-C in a terminal.
    Interrupt,
    /// SIGTERM: please terminate, e.g. from `kill` or a service manager.
    Terminate,
    /// SIGQUIT: quit, e.g. Ctrl-\ in a terminal.
    Quit,
    /// SIGHUP: hang up; often used to reload configuration.
    Hangup,
    /// SIGUSR1: user-defined.
    User1,
    /// SIGUSR2: user-defined.
    User2,
}

impl Signal {
    /// Every signal the runtime handles.
    pub const ALL: [Signal; 6] = [
        Signal::Interrupt,
        Signal::Terminate,
        Signal::Quit,
        Signal::Hangup,
        Signal::User1,
        Signal::User2,
    ];

    /// Returns `true` for the signals that ask a process to stop:
    /// interrupt, terminate and quit.
    pub const fn should_exit(self) -> bool {
        matches!(self, Signal::Interrupt | Signal::Terminate | Signal::Quit)
    }

    /// The signal's number (`libc::SIGINT`, ...).
    pub const fn as_raw(self) -> libc::c_int {
        match self {
            Signal::Interrupt => libc::SIGINT,
            Signal::Terminate => libc::SIGTERM,
            Signal::Quit => libc::SIGQUIT,
            Signal::Hangup => libc::SIGHUP,
            Signal::User1 => libc::SIGUSR1,
            Signal::User2 => libc::SIGUSR2,
        }
    }

    /// The signal with number `raw`, if the runtime handles it.
    pub fn from_raw(raw: libc::c_int) -> Option<Signal> {
        Signal::ALL
            .into_iter()
            .find(|signal| signal.as_raw() == raw)
    }

    pub(crate) fn to_a10(self) -> a10::process::Signal {
        match self {
            Signal::Interrupt => a10::process::Signal::INTERRUPT,
            Signal::Terminate => a10::process::Signal::TERMINATION,
            Signal::Quit => a10::process::Signal::QUIT,
            Signal::Hangup => a10::process::Signal::HUP,
            Signal::User1 => a10::process::Signal::USER1,
            Signal::User2 => a10::process::Signal::USER2,
        }
    }

    pub(crate) fn from_a10(signal: a10::process::Signal) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.to_a10() == signal)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "interrupt (SIGINT)",
            Signal::Terminate => "terminate (SIGTERM)",
            Signal::Quit => "quit (SIGQUIT)",
            Signal::Hangup => "hangup (SIGHUP)",
            Signal::User1 => "user-defined 1 (SIGUSR1)",
            Signal::User2 => "user-defined 2 (SIGUSR2)",
        })
    }
}

/// An exit signal converts into kiln's [`Terminate`](kiln::messages::Terminate)
/// message; other signals are given back.
impl TryFrom<Signal> for kiln::messages::Terminate {
    type Error = Signal;

    fn try_from(signal: Signal) -> Result<Self, Signal> {
        if signal.should_exit() {
            Ok(kiln::messages::Terminate)
        } else {
            Err(signal)
        }
    }
}
