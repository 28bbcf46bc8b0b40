//! The [`Context`] of a synchronous actor: blocking receives.

use std::fmt;
use std::future::Future;
use std::task::Waker;

use kiln_inbox::Receiver;

use crate::actor::{NoMessages, RecvError};
use crate::actor_ref::ActorRef;
use crate::sync::park::{block_on_with, thread_waker};

/// The context of a synchronous actor: its inbox, with receives that block
/// the thread, and its runtime access.
///
/// A context belongs to the thread the actor runs on: create it there (the
/// runners do).
pub struct Context<M, RT = ()> {
    inbox: Receiver<M>,
    rt: RT,
    /// Unparks the actor's thread.
    waker: Waker,
}

impl<M, RT> Context<M, RT> {
    /// Creates a context for an actor that runs on the current thread; for
    /// runtimes. The inbox types are in [`kiln::inbox`](crate::inbox).
    pub fn new(inbox: Receiver<M>, rt: RT) -> Context<M, RT> {
        Context {
            inbox,
            rt,
            waker: thread_waker(),
        }
    }

    /// Takes the next message without waiting; see
    /// [`actor::Context::try_receive_next`](crate::actor::Context::try_receive_next).
    pub fn try_receive_next(&mut self) -> Result<M, RecvError> {
        let msg = self.inbox.try_recv()?;
        crate::metrics::received();
        Ok(msg)
    }

    /// Blocks until the next message arrives.
    ///
    /// Fails with [`NoMessages`] once the inbox is empty and every
    /// [`ActorRef`] to this actor is gone.
    pub fn receive_next(&mut self) -> Result<M, NoMessages> {
        let inbox = &mut self.inbox;
        let msg = block_on_with(&self.waker, std::future::poll_fn(|cx| inbox.poll_recv(cx)));
        let msg = msg.ok_or(NoMessages)?;
        crate::metrics::received();
        Ok(msg)
    }

    /// Runs `future` to completion, blocking the thread while it waits; e.g.
    /// to wait for the response of an [`ActorRef::rpc`].
    pub fn block_on<Fut: Future>(&mut self, future: Fut) -> Fut::Output {
        block_on_with(&self.waker, future)
    }

    /// Returns a reference to this actor.
    pub fn actor_ref(&self) -> ActorRef<M> {
        ActorRef::from(self.inbox.new_sender())
    }

    /// Returns the runtime access, mutably.
    pub fn runtime(&mut self) -> &mut RT {
        &mut self.rt
    }

    /// Returns the runtime access.
    pub const fn runtime_ref(&self) -> &RT {
        &self.rt
    }
}

impl<M, RT: fmt::Debug> fmt::Debug for Context<M, RT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("sync::Context")
            .field("inbox", &self.inbox.id())
            .field("rt", &self.rt)
            .finish()
    }
}
