//! Runtime access: what an actor's [`Context`](kiln::actor::Context) carries,
//! and through which it reaches the runtime.
//!
//! | type | for | spawns | timers and I/O |
//! |---|---|---|---|
//! | [`ThreadLocal`] | thread-local actors | thread-local and thread-safe actors, futures | its worker's timers and ring |
//! | [`ThreadSafe`] | thread-safe actors | thread-safe actors, `Send` futures | the runtime's shared timers and ring |
//! | [`Sync`] | synchronous actors | thread-safe actors, `Send` futures | the runtime's shared timers and ring |
//!
//! All implement [`Access`], which the [`timer`](crate::timer) types and the
//! I/O types ([`net`](crate::net), [`fs`](crate::fs), ...) take.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use kiln::ActorRef;

use crate::runtime::io::Io;
use crate::runtime::local::LocalInternals;
use crate::runtime::shared::RuntimeInternals;
use crate::runtime::timers::TimerToken;
use crate::runtime_ref::RuntimeRef;
use crate::signal::Signal;

/// Access to the runtime; implemented by [`ThreadLocal`], [`ThreadSafe`],
/// [`Sync`] and [`RuntimeRef`]. It is sealed: it cannot be implemented
/// outside kiln-rt.
pub trait Access: PrivateAccess {}

pub(crate) use private::PrivateAccess;

mod private {
    use std::task::Waker;
    use std::time::Instant;

    use crate::runtime::io::Io;
    use crate::runtime::timers::TimerToken;

    /// The methods behind [`Access`](super::Access). In a private module, so
    /// that no one outside the crate can name, implement or call it.
    #[allow(private_interfaces, reason = "sealed trait, see above")]
    pub trait PrivateAccess {
        /// Adds a timer that wakes `waker` at `deadline`.
        fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerToken;
        /// Replaces the waker of a timer.
        fn update_timer(&self, token: TimerToken, waker: &Waker);
        /// Removes (cancels) a timer.
        fn remove_timer(&self, token: TimerToken);
        /// The I/O driver: the worker's ring or poll instance for
        /// thread-local access, the runtime's shared one otherwise.
        fn io(&self) -> Io;
    }
}

/// The runtime access of thread-local actors: the [`RuntimeRef`] of the
/// worker they run on (it dereferences to one).
#[derive(Clone)]
pub struct ThreadLocal {
    rt: RuntimeRef,
}

impl ThreadLocal {
    pub(crate) const fn new(rt: RuntimeRef) -> ThreadLocal {
        ThreadLocal { rt }
    }

    /// The worker's state, for `Spawn`.
    pub(crate) fn local_internals(&self) -> &Rc<LocalInternals> {
        self.rt.local_internals()
    }

    /// The runtime's shared state, for `Spawn`.
    pub(crate) fn shared_internals(&self) -> &Arc<RuntimeInternals> {
        self.rt.shared_internals()
    }
}

impl Deref for ThreadLocal {
    type Target = RuntimeRef;

    fn deref(&self) -> &RuntimeRef {
        &self.rt
    }
}

impl DerefMut for ThreadLocal {
    fn deref_mut(&mut self) -> &mut RuntimeRef {
        &mut self.rt
    }
}

impl fmt::Debug for ThreadLocal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ThreadLocal").field(&self.rt).finish()
    }
}

impl Access for RuntimeRef {}

#[allow(private_interfaces, reason = "sealed trait")]
impl PrivateAccess for RuntimeRef {
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerToken {
        self.local_internals()
            .timers
            .borrow_mut()
            .add(deadline, waker)
    }

    fn update_timer(&self, token: TimerToken, waker: &Waker) {
        self.local_internals()
            .timers
            .borrow_mut()
            .update_waker(token, waker);
    }

    fn remove_timer(&self, token: TimerToken) {
        self.local_internals().timers.borrow_mut().remove(token);
    }

    fn io(&self) -> Io {
        self.local_internals().io.clone()
    }
}

impl Access for ThreadLocal {}

#[allow(private_interfaces, reason = "sealed trait")]
impl PrivateAccess for ThreadLocal {
    fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerToken {
        self.rt.add_timer(deadline, waker)
    }

    fn update_timer(&self, token: TimerToken, waker: &Waker) {
        self.rt.update_timer(token, waker);
    }

    fn remove_timer(&self, token: TimerToken) {
        self.rt.remove_timer(token);
    }

    fn io(&self) -> Io {
        self.rt.io()
    }
}

/// Implements the shared parts of [`ThreadSafe`] and [`Sync`].
macro_rules! shared_access {
    ($name: ident) => {
        impl $name {
            pub(crate) const fn new(internals: Arc<RuntimeInternals>) -> $name {
                $name { internals }
            }

            /// The runtime's shared state, for `Spawn`.
            pub(crate) fn shared_internals(&self) -> &Arc<RuntimeInternals> {
                &self.internals
            }

            /// Registers `actor_ref` to receive process signals.
            pub fn receive_signals(&mut self, actor_ref: ActorRef<Signal>) {
                self.internals.receive_signals(actor_ref);
            }

            /// The metrics of the runtime, see [`metrics`](crate::metrics).
            pub fn metrics(&self) -> crate::metrics::RuntimeMetrics {
                self.internals.collect_metrics()
            }
        }

        impl Access for $name {}

        #[allow(private_interfaces, reason = "sealed trait")]
        impl PrivateAccess for $name {
            fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerToken {
                self.internals.add_timer(deadline, waker)
            }

            fn update_timer(&self, token: TimerToken, waker: &Waker) {
                self.internals.timers().update_waker(token, waker);
            }

            fn remove_timer(&self, token: TimerToken) {
                self.internals.timers().remove(token);
            }

            fn io(&self) -> Io {
                self.internals.shared_io.clone()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("runtime", &self.internals.name)
                    .finish()
            }
        }
    };
}

/// The runtime access of thread-safe actors: any worker may run them.
#[derive(Clone)]
pub struct ThreadSafe {
    internals: Arc<RuntimeInternals>,
}

shared_access!(ThreadSafe);

/// The runtime access of synchronous actors, which run on a thread of their
/// own.
///
/// Name it through this module, `kiln_rt::access::Sync`: it is not
/// re-exported at the crate root (as [`ThreadLocal`] and [`ThreadSafe`] are),
/// because there a glob import (`use kiln_rt::*;`) would shadow
/// [`std::marker::Sync`], and every `T: Sync` bound in that code would name
/// this type instead of the trait.
///
/// ```
/// use kiln::sync;
/// use kiln_rt::access;
///
/// fn worker(mut ctx: sync::Context<String, access::Sync>) {
///     while let Ok(msg) = ctx.receive_next() {
///         println!("got {msg}");
///     }
/// }
/// # let _ = worker;
/// ```
#[derive(Clone)]
pub struct Sync {
    internals: Arc<RuntimeInternals>,
}

shared_access!(Sync);
