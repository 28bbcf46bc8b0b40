//! Where pending timers are kept: a [`TimingWheel`] per worker for
//! thread-local actors and one, behind a mutex, shared by the runtime for
//! thread-safe and synchronous actors. The futures are in [`crate::timer`].
//!
//! [`Timers`] is either of them for code that reaches timers through the
//! thread it runs on (a socket's timeouts, see
//! [`Context::timers`](crate::runtime::context::Context::timers)) rather than
//! through a runtime access.

pub(crate) mod wheel;

use std::task::Waker;
use std::time::Instant;

pub(crate) use wheel::{TimerToken, TimingWheel};

/// A store of pending timers: a worker's wheel, or the runtime's shared
/// one. A token is only meaningful to the store that issued it.
pub(crate) trait Timers {
    /// Adds a timer that wakes `waker` at `deadline`.
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerToken;
    /// Makes the timer wake `waker`; `false` if it fired already.
    fn update_timer(&self, token: TimerToken, waker: &Waker) -> bool;
    /// Removes (cancels) the timer, if it has not fired.
    fn remove_timer(&self, token: TimerToken);
}
