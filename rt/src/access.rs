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

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use kiln::ActorRef;
use kiln::actor::NewActor;
use kiln::supervisor::Supervisor;

use crate::runtime::RuntimeRef;
use crate::runtime::io::IoRing;
use crate::runtime::shared::RuntimeInternals;
use crate::runtime::timers::TimerToken;
use crate::signal::Signal;
use crate::spawn::{ActorOptions, FutureOptions};

/// Access to the runtime; implemented by [`ThreadLocal`], [`ThreadSafe`],
/// [`Sync`] and [`RuntimeRef`]. It is sealed: it cannot be implemented
/// outside kiln-rt.
pub trait Access: PrivateAccess {}

pub(crate) use private::PrivateAccess;

mod private {
    use std::task::Waker;
    use std::time::Instant;

    use crate::runtime::io::IoRing;
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
        /// The ring for I/O: the worker's for thread-local access, the
        /// runtime's shared ring otherwise.
        fn io_ring(&self) -> IoRing;
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

    fn io_ring(&self) -> IoRing {
        self.rt.io_ring()
    }
}

/// Implements the shared parts of [`ThreadSafe`] and [`Sync`].
macro_rules! shared_access {
    ($name: ident) => {
        impl $name {
            pub(crate) const fn new(internals: Arc<RuntimeInternals>) -> $name {
                $name { internals }
            }

            /// Spawns a thread-safe actor; fails if creating it fails.
            pub fn try_spawn<S, NA>(
                &mut self,
                supervisor: S,
                new_actor: NA,
                arg: NA::Argument,
                options: ActorOptions,
            ) -> Result<ActorRef<NA::Message>, NA::Error>
            where
                S: Supervisor<NA> + Send + 'static,
                NA: NewActor<RuntimeAccess = ThreadSafe> + Send + 'static,
                NA::Actor: Send + 'static,
                NA::Message: Send + 'static,
            {
                crate::runtime::shared::try_spawn(
                    &self.internals,
                    supervisor,
                    new_actor,
                    arg,
                    options,
                )
            }

            /// Spawns a thread-safe actor that cannot fail to be created.
            pub fn spawn<S, NA>(
                &mut self,
                supervisor: S,
                new_actor: NA,
                arg: NA::Argument,
                options: ActorOptions,
            ) -> ActorRef<NA::Message>
            where
                S: Supervisor<NA> + Send + 'static,
                NA: NewActor<Error = Infallible, RuntimeAccess = ThreadSafe> + Send + 'static,
                NA::Actor: Send + 'static,
                NA::Message: Send + 'static,
            {
                match self.try_spawn(supervisor, new_actor, arg, options) {
                    Ok(actor_ref) => actor_ref,
                    Err(err) => match err {},
                }
            }

            /// Spawns a `Send` future; any worker may run it.
            pub fn spawn_future<Fut>(&mut self, future: Fut, options: FutureOptions)
            where
                Fut: Future<Output = ()> + Send + 'static,
            {
                crate::runtime::shared::spawn_future(&self.internals, future, options);
            }

            /// Registers `actor_ref` to receive process signals.
            pub fn receive_signals(&mut self, actor_ref: ActorRef<Signal>) {
                self.internals.receive_signals(actor_ref);
            }

            /// The metrics of the runtime, see [`metrics`](crate::metrics).
            pub fn metrics(&self) -> crate::metrics::RuntimeMetrics {
                crate::metrics::collect(&self.internals)
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

            fn io_ring(&self) -> IoRing {
                self.internals.shared_ring.clone()
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
#[derive(Clone)]
pub struct Sync {
    internals: Arc<RuntimeInternals>,
}

shared_access!(Sync);
