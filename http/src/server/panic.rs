//! [`Guarded`]: a connection actor that answers for its panics and for
//! overstaying a graceful shutdown.
//!
//! # Panics
//!
//! The request it was serving gets a 500 (not a connection closed without
//! a word), then the panic goes on to the actor's supervisor, which logs
//! it. The actor is polled under `catch_unwind`. After a panic it is
//! dropped there (with the [`Connection`](crate::server::Connection) it
//! owned), and the guard, which holds the connection's [`Wire`] too,
//! answers the oldest request not answered yet with 500 and
//! `Connection: close` (unless a response to it was half written: the
//! connection then just closes), and resumes the panic. Nothing of the
//! connection's own state is left half changed by a panic in the user's
//! code: that state is only changed inside kiln-http's methods, which do
//! not call user code while it is borrowed.
//!
//! # The bounded drain
//!
//! Once a graceful shutdown started, every wait of the connection ends by
//! the drain deadline ([`ServerConfig::shutdown_timeout`]), but the
//! actor's own work (a handler that sleeps, or waits for a database) does
//! not. So the guard arms a timer for the deadline when the shutdown
//! starts; when it fires, the actor is dropped (cancelling whatever it was
//! doing) and the connection closed, so that the runtime can stop.
//!
//! [`ServerConfig::shutdown_timeout`]: crate::server::ServerConfig::shutdown_timeout

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use kiln::actor::Actor;
use kiln_rt::RuntimeRef;
use kiln_rt::timer::Timer;
use log::debug;
use pin_project_lite::pin_project;

use crate::server::wire::Wire;

/// The 500 answer being sent after a panic.
type Answer = Pin<Box<dyn Future<Output = ()>>>;

pin_project! {
    /// A connection actor, answering the request it served with 500 if it
    /// panics, and stopped at the end of a graceful shutdown's drain; see
    /// the [module documentation](self). The actor of a
    /// [`ConnectionActor`](crate::server::ConnectionActor).
    pub struct Guarded<A> {
        #[pin]
        actor: Option<A>,
        wire: Rc<Wire>,
        // The drain deadline's timer, once a shutdown started.
        drain: Option<Timer<RuntimeRef>>,
        // After a panic: the 500 being sent, and the panic to resume.
        answer: Option<(Answer, Box<dyn Any + Send + 'static>)>,
    }
}

impl<A> Guarded<A> {
    pub(crate) const fn new(actor: A, wire: Rc<Wire>) -> Guarded<A> {
        Guarded {
            actor: Some(actor),
            wire,
            drain: None,
            answer: None,
        }
    }
}

impl<A: Actor> Future for Guarded<A> {
    type Output = Result<(), A::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(actor) = this.actor.as_mut().as_pin_mut() {
            match catch_unwind(AssertUnwindSafe(|| actor.try_poll(cx))) {
                Ok(Poll::Ready(result)) => return Poll::Ready(result),
                Ok(Poll::Pending) => {
                    if poll_drain(this.drain, this.wire, cx).is_pending() {
                        return Poll::Pending;
                    }
                    debug!(
                        "connection from {}: still busy at the end of the shutdown's drain: closed",
                        this.wire.peer()
                    );
                    // Drops the actor, and with it the connection.
                    this.actor.set(None);
                    return Poll::Ready(Ok(()));
                }
                Err(panic) => {
                    // Drops the actor, and with it its handle of the
                    // connection and any request body.
                    this.actor.set(None);
                    debug!(
                        "connection from {}: the connection's actor panicked: 500",
                        this.wire.peer()
                    );
                    let wire = this.wire.clone();
                    let answer: Answer = Box::pin(async move { wire.answer_panic().await });
                    *this.answer = Some((answer, panic));
                }
            }
        }
        match this.answer {
            Some((answer, _)) => {
                if answer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let (_, panic) = this.answer.take().expect("answered");
                // To the supervisor (`decide_on_panic`), which logs it.
                resume_unwind(panic)
            }
            // Polled after it completed.
            None => Poll::Ready(Ok(())),
        }
    }
}

/// Ready once the drain of a graceful shutdown has ended: arms `drain`
/// for the deadline when the shutdown starts.
fn poll_drain(
    drain: &mut Option<Timer<RuntimeRef>>,
    wire: &Wire,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let timer = match drain {
        Some(timer) => timer,
        None => {
            let deadline = ready!(wire.poll_shutdown(cx));
            drain.insert(Timer::at(wire.rt().clone(), deadline))
        }
    };
    Pin::new(timer).poll(cx).map(drop)
}

impl<A> fmt::Debug for Guarded<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("panicked", &self.actor.is_none())
            .finish_non_exhaustive()
    }
}
