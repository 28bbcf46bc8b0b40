//! The [`Context`] of a synchronous actor: blocking receives, and blocking
//! on futures (with or without a timeout).

use std::fmt;
use std::future::Future;
use std::task::Waker;
use std::time::Duration;

use kiln_inbox::Receiver;

use crate::actor::{NoMessages, RecvError, context_accessors, fmt_context};
use crate::sync::park::{block_for_with, block_on_with, thread_waker};

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
    /// [`ActorRef`](crate::ActorRef) to this actor is gone.
    pub fn receive_next(&mut self) -> Result<M, NoMessages> {
        let inbox = &mut self.inbox;
        let msg = block_on_with(&self.waker, std::future::poll_fn(|cx| inbox.poll_recv(cx)));
        let msg = msg.ok_or(NoMessages)?;
        crate::metrics::received();
        Ok(msg)
    }

    /// The next message, left in the inbox, without waiting; see
    /// [`actor::Context::try_peek_next`](crate::actor::Context::try_peek_next).
    pub fn try_peek_next(&mut self) -> Result<&M, RecvError> {
        self.inbox.try_peek()
    }

    /// Blocks until the next message arrives and returns a reference to it,
    /// leaving it in the inbox: the next receive takes it. Fails with
    /// [`NoMessages`] like [`receive_next`](Context::receive_next).
    pub fn peek_next(&mut self) -> Result<&M, NoMessages> {
        let inbox = &mut self.inbox;
        let found = block_on_with(
            &self.waker,
            std::future::poll_fn(|cx| inbox.poll_peek(cx).map(|msg| msg.is_some())),
        );
        if !found {
            return Err(NoMessages);
        }
        // Still there: only this actor takes its messages.
        self.inbox.try_peek().map_err(|_| NoMessages)
    }

    /// Runs `future` to completion, blocking the thread while it waits; e.g.
    /// to wait for the response of an [`ActorRef::rpc`](crate::ActorRef::rpc).
    pub fn block_on<Fut: Future>(&mut self, future: Fut) -> Fut::Output {
        block_on_with(&self.waker, future)
    }

    /// Runs `future` until it completes (`Some(output)`) or `timeout` has
    /// passed (`None`), blocking the thread while it waits; e.g. to give up
    /// on an [`ActorRef::rpc`](crate::ActorRef::rpc) that takes too long.
    ///
    /// The future is polled at least once and dropped on a timeout; see
    /// [`sync::block_for`](crate::sync::block_for).
    ///
    /// ```
    /// use std::time::Duration;
    /// use kiln::actor_ref::{ActorRef, RpcMessage};
    /// use kiln::sync;
    ///
    /// /// Asks `clock` for the time, giving up after a second.
    /// fn asker(mut ctx: sync::Context<()>, clock: ActorRef<RpcMessage<(), u64>>) -> Result<(), String> {
    ///     match ctx.block_for(clock.rpc(()), Duration::from_secs(1)) {
    ///         Some(Ok(time)) => println!("it is {time}"),
    ///         Some(Err(err)) => return Err(err.to_string()),
    ///         None => return Err("the clock did not answer within a second".to_owned()),
    ///     }
    ///     Ok(())
    /// }
    /// # fn is_sync_actor<A: kiln::SyncActor>(_: A) {}
    /// # is_sync_actor(kiln::actor_fn(asker));
    /// ```
    pub fn block_for<Fut: Future>(
        &mut self,
        future: Fut,
        timeout: Duration,
    ) -> Option<Fut::Output> {
        block_for_with(&self.waker, future, timeout)
    }

    context_accessors!(
        actor_ref:
        /// Returns a reference to this actor.
        runtime:
        /// Returns the runtime access, mutably.
    );
}

impl<M, RT: fmt::Debug> fmt::Debug for Context<M, RT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_context(f, "sync::Context", &self.inbox, &self.rt)
    }
}
