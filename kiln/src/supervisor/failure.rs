//! How an actor failed, for people: [`panic_message`], and the [`Failure`]
//! that the supervisors which stop an actor on every failure report (see
//! `__stop_supervisor!` in the parent module).

use std::any::Any;
use std::fmt;

/// The message of a panic payload: the `&str` or `String` given to
/// `panic!`, or `"<non-string panic payload>"`.
pub fn panic_message<'a>(panic: &'a (dyn Any + Send + 'static)) -> &'a str {
    if let Some(msg) = panic.downcast_ref::<&'static str>() {
        msg
    } else if let Some(msg) = panic.downcast_ref::<String>() {
        msg
    } else {
        "<non-string panic payload>"
    }
}

/// How an actor failed, as a supervisor that stops it reports it. Not public
/// API: for the supervisors of kiln and kiln-rt.
///
/// Shown as `failed: {error}`, `failed to restart: {error}`, ..., to follow
/// `actor '{name}' `.
#[doc(hidden)]
#[non_exhaustive]
pub enum Failure<'a> {
    /// The actor returned this error.
    Error(&'a dyn fmt::Display),
    /// Restarting (or creating) the actor failed: `NewActor::new` returned
    /// this error.
    RestartError(&'a dyn fmt::Display),
    /// The second restart in a row failed with this error.
    SecondRestartError(&'a dyn fmt::Display),
    /// The actor panicked; the panic's payload.
    Panic(Box<dyn Any + Send + 'static>),
}

impl Failure<'_> {
    /// What happened, as a verb phrase: `failed`, `failed to restart`, ...
    pub const fn what(&self) -> &'static str {
        match self {
            Failure::Error(_) => "failed",
            Failure::RestartError(_) => "failed to restart",
            Failure::SecondRestartError(_) => "failed to restart a second time",
            Failure::Panic(_) => "panicked",
        }
    }

    /// Why: the error, or the panic's message.
    pub fn cause(&self) -> impl fmt::Display + '_ {
        Cause(self)
    }
}

/// The cause of a [`Failure`], for people.
struct Cause<'f, 'a>(&'f Failure<'a>);

impl fmt::Display for Cause<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Failure::Error(error)
            | Failure::RestartError(error)
            | Failure::SecondRestartError(error) => error.fmt(f),
            Failure::Panic(panic) => f.write_str(panic_message(&**panic)),
        }
    }
}

impl fmt::Display for Failure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what(), self.cause())
    }
}

impl fmt::Debug for Failure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Failure({self})")
    }
}
