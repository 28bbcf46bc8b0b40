//! Restart intensity (at most N restarts within any window of T) and the
//! [`restart_supervisor!`](crate::restart_supervisor) macro built on it.
//!
//! This is Erlang/OTP's *restart intensity* (`intensity` restarts within
//! `period`): [`RestartIntensity`] keeps the instants of the last `max`
//! restarts and allows a restart only if fewer than `max` of them fall inside
//! the sliding window that ends now. An actor that keeps failing, however
//! slowly, is stopped once its failures come closer together than the window
//! allows; one that fails rarely is restarted every time.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use log::warn;

/// At most `max_restarts` restarts within any sliding window of `window`.
#[derive(Clone, Debug)]
pub struct RestartIntensity {
    max_restarts: usize,
    window: Duration,
    /// Instants of the most recent restarts, oldest first; at most
    /// `max_restarts` of them.
    restarts: VecDeque<Instant>,
}

impl RestartIntensity {
    /// The default of `restart_supervisor!`: 5 restarts.
    pub const DEFAULT_MAX_RESTARTS: usize = 5;
    /// The default of `restart_supervisor!`: within 5 seconds.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(5);

    /// Allows at most `max_restarts` restarts within any window of `window`.
    pub const fn new(max_restarts: usize, window: Duration) -> RestartIntensity {
        RestartIntensity {
            max_restarts,
            window,
            restarts: VecDeque::new(),
        }
    }

    /// The maximum number of restarts within the window.
    pub const fn max_restarts(&self) -> usize {
        self.max_restarts
    }

    /// The length of the sliding window.
    pub const fn window(&self) -> Duration {
        self.window
    }

    /// Records a restart now if the limit allows it, returning how many
    /// restarts are left in the window; `None` means the actor should stop.
    pub fn try_restart(&mut self) -> Option<usize> {
        self.try_restart_at(Instant::now())
    }

    /// [`try_restart`](RestartIntensity::try_restart) at a given instant
    /// (instants must not go back in time).
    pub fn try_restart_at(&mut self, now: Instant) -> Option<usize> {
        // Forget restarts that are out of the window `(now - window, now]`.
        while let Some(oldest) = self.restarts.front() {
            if now.saturating_duration_since(*oldest) >= self.window {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        if self.restarts.len() < self.max_restarts {
            self.restarts.push_back(now);
            Some(self.max_restarts - self.restarts.len())
        } else {
            None
        }
    }
}

/// Decides a restart for the `restart_supervisor!` macro, logging the
/// decision. Not public API.
#[doc(hidden)]
pub fn __restart_decision(
    intensity: &mut RestartIntensity,
    actor: &str,
    what: &str,
    error: &dyn fmt::Display,
) -> bool {
    let (max, window) = (intensity.max_restarts(), intensity.window());
    match intensity.try_restart() {
        Some(left) => {
            warn!(
                "actor '{actor}' {what}, restarting it ({left} of {max} restarts within {window:?} left): {error}"
            );
            true
        }
        None => {
            warn!(
                "actor '{actor}' {what}, stopping it (it was restarted {max} times within {window:?}): {error}"
            );
            false
        }
    }
}

/// Logs that an actor is stopped for the `restart_supervisor!` macro. Not
/// public API.
#[doc(hidden)]
pub fn __restart_stopped(actor: &str, what: &str, error: &dyn fmt::Display) {
    warn!("actor '{actor}' {what}, stopping it: {error}");
}

/// Generates a supervisor that restarts an actor at most `max_restarts`
/// times within any sliding window of `window`, and otherwise stops it.
///
/// Forms:
///
/// ```text
/// restart_supervisor!(Name);                             // argument (), 5 restarts within 5 s
/// restart_supervisor!(Name, Arg);                        // restarts with a clone of the argument
/// restart_supervisor!(Name, Arg, max_restarts, window);  // with its own limit
/// restart_supervisor!(Name, Arg, max_restarts, window, with State => make_arg);
/// ```
///
/// The last form is for arguments that are not `Clone`: the supervisor holds
/// a `State` (given to `Name::new`) and builds each restart's argument with
/// `make_arg`, a non-capturing closure or function of type
/// `fn(&mut State) -> Arg`. Otherwise `Name::new` takes the argument, which
/// is cloned for each restart. Attributes (doc comments) and a visibility may
/// precede `Name`.
///
/// The supervisor implements [`Supervisor`](crate::supervisor::Supervisor)
/// for any [`NewActor`](crate::NewActor) with that argument, and
/// [`SyncSupervisor`](crate::supervisor::SyncSupervisor) for any
/// [`SyncActor`](crate::sync::SyncActor), as long as their errors implement
/// `Display`. It logs (at `warn` level) which actor failed, why, and how many
/// restarts are left.
///
/// ```
/// use std::time::Duration;
/// use kiln::restart_supervisor;
///
/// restart_supervisor!(
///     /// Restarts the connection actor at most 3 times a minute.
///     pub ConnectionSupervisor, (String, u16), 3, Duration::from_secs(60)
/// );
///
/// let supervisor = ConnectionSupervisor::new(("localhost".to_owned(), 6379));
/// # drop(supervisor);
///
/// /// Not `Clone`: built anew for each restart.
/// pub struct Socket(u32);
/// restart_supervisor!(SocketSupervisor, Socket, 2, Duration::from_secs(1), with u32 => |port: &mut u32| Socket(*port));
/// let supervisor = SocketSupervisor::new(8080);
/// # drop(supervisor);
/// ```
#[macro_export]
macro_rules! restart_supervisor {
    ($(#[$meta: meta])* $vis: vis $name: ident $(,)?) => {
        $crate::restart_supervisor!(@impl [$(#[$meta])*] $vis $name, (), (),
            $crate::supervisor::RestartIntensity::DEFAULT_MAX_RESTARTS,
            $crate::supervisor::RestartIntensity::DEFAULT_WINDOW,
            |_: &mut ()| ());
        impl ::std::default::Default for $name {
            fn default() -> $name {
                $name::new(())
            }
        }
    };
    ($(#[$meta: meta])* $vis: vis $name: ident, $arg: ty $(,)?) => {
        $crate::restart_supervisor!(@impl [$(#[$meta])*] $vis $name, $arg, $arg,
            $crate::supervisor::RestartIntensity::DEFAULT_MAX_RESTARTS,
            $crate::supervisor::RestartIntensity::DEFAULT_WINDOW,
            |arg: &mut $arg| ::std::clone::Clone::clone(&*arg));
    };
    ($(#[$meta: meta])* $vis: vis $name: ident, $arg: ty, $max: expr, $window: expr $(,)?) => {
        $crate::restart_supervisor!(@impl [$(#[$meta])*] $vis $name, $arg, $arg, $max, $window,
            |arg: &mut $arg| ::std::clone::Clone::clone(&*arg));
    };
    ($(#[$meta: meta])* $vis: vis $name: ident, $arg: ty, $max: expr, $window: expr, with $state: ty => $make: expr $(,)?) => {
        $crate::restart_supervisor!(@impl [$(#[$meta])*] $vis $name, $arg, $state, $max, $window, $make);
    };
    (@impl [$(#[$meta: meta])*] $vis: vis $name: ident, $arg: ty, $state: ty, $max: expr, $window: expr, $make: expr) => {
        $(#[$meta])*
        $vis struct $name {
            intensity: $crate::supervisor::RestartIntensity,
            state: $state,
        }

        impl $name {
            /// The most restarts allowed within [`Self::MAX_DURATION`].
            $vis const MAX_RESTARTS: usize = $max;
            /// The sliding window in which at most [`Self::MAX_RESTARTS`]
            /// restarts are allowed.
            $vis const MAX_DURATION: ::std::time::Duration = $window;

            /// Creates the supervisor.
            $vis fn new(state: $state) -> $name {
                $name {
                    intensity: $crate::supervisor::RestartIntensity::new(
                        Self::MAX_RESTARTS,
                        Self::MAX_DURATION,
                    ),
                    state,
                }
            }

            /// The argument of the next restart.
            fn restart_argument(&mut self) -> $arg {
                let make: fn(&mut $state) -> $arg = $make;
                make(&mut self.state)
            }

            fn restart_or_stop(
                &mut self,
                actor: &str,
                what: &str,
                error: &dyn ::std::fmt::Display,
            ) -> $crate::supervisor::SupervisorStrategy<$arg> {
                if $crate::supervisor::__restart_decision(&mut self.intensity, actor, what, error) {
                    $crate::supervisor::SupervisorStrategy::Restart(self.restart_argument())
                } else {
                    $crate::supervisor::SupervisorStrategy::Stop
                }
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(::std::stringify!($name))
                    .field("intensity", &self.intensity)
                    .finish_non_exhaustive()
            }
        }

        impl<NA> $crate::supervisor::Supervisor<NA> for $name
        where
            NA: $crate::actor::NewActor<Argument = $arg>,
            NA::Error: ::std::fmt::Display,
            <NA::Actor as $crate::actor::Actor>::Error: ::std::fmt::Display,
        {
            fn decide(
                &mut self,
                error: <NA::Actor as $crate::actor::Actor>::Error,
            ) -> $crate::supervisor::SupervisorStrategy<$arg> {
                self.restart_or_stop(<NA as $crate::actor::NewActor>::name(), "failed", &error)
            }

            fn decide_on_restart_error(
                &mut self,
                error: NA::Error,
            ) -> $crate::supervisor::SupervisorStrategy<$arg> {
                self.restart_or_stop(<NA as $crate::actor::NewActor>::name(), "failed to restart", &error)
            }

            fn second_restart_error(&mut self, error: NA::Error) {
                $crate::supervisor::__restart_stopped(
                    <NA as $crate::actor::NewActor>::name(),
                    "failed to restart a second time",
                    &error,
                );
            }

            fn decide_on_panic(
                &mut self,
                panic: ::std::boxed::Box<dyn ::std::any::Any + ::std::marker::Send + 'static>,
            ) -> $crate::supervisor::SupervisorStrategy<$arg> {
                let msg = $crate::supervisor::panic_message(&*panic);
                self.restart_or_stop(<NA as $crate::actor::NewActor>::name(), "panicked", &msg)
            }
        }

        impl<A> $crate::supervisor::SyncSupervisor<A> for $name
        where
            A: $crate::sync::SyncActor<Argument = $arg>,
            A::Error: ::std::fmt::Display,
        {
            fn decide(&mut self, error: A::Error) -> $crate::supervisor::SupervisorStrategy<$arg> {
                self.restart_or_stop(<A as $crate::sync::SyncActor>::name(), "failed", &error)
            }

            fn decide_on_panic(
                &mut self,
                panic: ::std::boxed::Box<dyn ::std::any::Any + ::std::marker::Send + 'static>,
            ) -> $crate::supervisor::SupervisorStrategy<$arg> {
                let msg = $crate::supervisor::panic_message(&*panic);
                self.restart_or_stop(<A as $crate::sync::SyncActor>::name(), "panicked", &msg)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::RestartIntensity;

    #[test]
    fn sliding_window_limits_restarts() {
        let start = Instant::now();
        let s = Duration::from_secs(1);
        let mut intensity = RestartIntensity::new(3, 10 * s);
        assert_eq!(intensity.try_restart_at(start), Some(2));
        assert_eq!(intensity.try_restart_at(start + s), Some(1));
        assert_eq!(intensity.try_restart_at(start + 2 * s), Some(0));
        // A fourth restart within 10 s of the first is refused.
        assert_eq!(intensity.try_restart_at(start + 9 * s), None);
        // Once the first restart leaves the window one more is allowed ...
        assert_eq!(intensity.try_restart_at(start + 10 * s), Some(0));
        // ... but not two.
        assert_eq!(intensity.try_restart_at(start + 10 * s), None);
        // Much later the window is empty again.
        assert_eq!(intensity.try_restart_at(start + 100 * s), Some(2));
    }

    #[test]
    fn slow_failures_restart_forever_but_fast_ones_stop() {
        let start = Instant::now();
        let mut intensity = RestartIntensity::new(2, Duration::from_secs(1));
        // One failure every 600 ms: at most 2 in any 1 s window, always restarted.
        for i in 0..100 {
            let now = start + Duration::from_millis(600 * i);
            assert!(intensity.try_restart_at(now).is_some(), "restart {i}");
        }
        // Three failures within a second: the third stops the actor.
        let later = start + Duration::from_secs(1000);
        assert!(intensity.try_restart_at(later).is_some());
        assert!(
            intensity
                .try_restart_at(later + Duration::from_millis(100))
                .is_some()
        );
        assert!(
            intensity
                .try_restart_at(later + Duration::from_millis(200))
                .is_none()
        );
    }

    #[test]
    fn zero_restarts_never_restarts() {
        let mut intensity = RestartIntensity::new(0, Duration::from_secs(1));
        assert_eq!(intensity.try_restart(), None);
    }
}
