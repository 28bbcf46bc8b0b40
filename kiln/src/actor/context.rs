//! The [`Context`] an actor receives its messages through.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use futures_core::Stream;
use kiln_inbox::Receiver;

pub use kiln_inbox::RecvError;

/// The context of a running actor: its inbox and its access to the runtime.
///
/// `M` is the type of message the actor receives; `RT` is what the runtime
/// gives the actor access to (`()` when it runs as a plain future, see
/// [`ActorFuture`](crate::future::ActorFuture); `kiln-rt` gives `ThreadLocal`
/// or `ThreadSafe`, through which the actor can spawn actors and use timers).
///
/// A new context is created each time the actor is (re)started; messages left
/// in the inbox when an actor fails are delivered to its restarted instance.
pub struct Context<M, RT = ()> {
    inbox: Receiver<M>,
    rt: RT,
}

impl<M, RT> Context<M, RT> {
    /// Creates a context from the actor's inbox and its runtime access.
    ///
    /// This is for runtimes: actors get their context from the runtime that
    /// starts them. The inbox types are in [`kiln::inbox`](crate::inbox).
    pub const fn new(inbox: Receiver<M>, rt: RT) -> Context<M, RT> {
        Context { inbox, rt }
    }

    /// Takes the next message without waiting.
    ///
    /// Fails with [`RecvError::Empty`] when no message is queued, and with
    /// [`RecvError::Disconnected`] when the inbox is empty and every
    /// [`ActorRef`](crate::ActorRef) to this actor is gone (no message can arrive any more).
    pub fn try_receive_next(&mut self) -> Result<M, RecvError> {
        let msg = self.inbox.try_recv()?;
        crate::metrics::received();
        Ok(msg)
    }

    /// Waits for the next message.
    ///
    /// The future fails with [`NoMessages`] once the inbox is empty and every
    /// [`ActorRef`](crate::ActorRef) to this actor is gone: the usual signal for an actor to
    /// stop.
    ///
    /// ```
    /// # use kiln::actor;
    /// async fn counter(mut ctx: actor::Context<u64>) {
    ///     let mut total = 0;
    ///     while let Ok(n) = ctx.receive_next().await {
    ///         total += n;
    ///     }
    ///     println!("total: {total}");
    /// }
    /// # fn is_actor<NA: kiln::NewActor>(_: NA) {}
    /// # is_actor(kiln::actor_fn(counter));
    /// ```
    pub fn receive_next(&mut self) -> ReceiveMessage<'_, M> {
        ReceiveMessage {
            inbox: &mut self.inbox,
        }
    }

    /// The next message, left in the inbox, without waiting; the errors are
    /// those of [`try_receive_next`](Context::try_receive_next).
    pub fn try_peek_next(&mut self) -> Result<&M, RecvError> {
        self.inbox.try_peek()
    }

    /// Waits for the next message and returns a reference to it, leaving it
    /// in the inbox: the next [`receive_next`](Context::receive_next) takes
    /// it. Fails with [`NoMessages`] like `receive_next`.
    ///
    /// ```
    /// # use kiln::actor;
    /// /// Handles numbers in batches: waits for the first, then takes every
    /// /// number already queued.
    /// async fn batcher(mut ctx: actor::Context<u64>) {
    ///     while ctx.peek_next().await.is_ok() {
    ///         let mut batch = Vec::new();
    ///         while let Ok(n) = ctx.try_receive_next() {
    ///             batch.push(n);
    ///         }
    ///         println!("a batch of {}", batch.len());
    ///     }
    /// }
    /// # fn is_actor<NA: kiln::NewActor>(_: NA) {}
    /// # is_actor(kiln::actor_fn(batcher));
    /// ```
    pub fn peek_next(&mut self) -> PeekMessage<'_, M> {
        PeekMessage {
            inbox: Some(&mut self.inbox),
        }
    }

    /// Returns the messages as a
    /// [`Stream`](https://docs.rs/futures-core/0.3/futures_core/stream/trait.Stream.html) that ends when
    /// [`receive_next`](Context::receive_next) would fail with [`NoMessages`].
    pub fn receive_messages(&mut self) -> ReceiveMessages<'_, M> {
        ReceiveMessages {
            inbox: &mut self.inbox,
        }
    }

    context_accessors!(
        actor_ref:
        /// Returns a reference to this actor, to hand to other actors.
        ///
        /// Note that an actor holding a reference to itself keeps its inbox
        /// connected, so [`receive_next`](Context::receive_next) will not report
        /// [`NoMessages`] while that reference lives.
        runtime:
        /// Returns the runtime access, mutably.
        ///
        /// The access borrows the whole context for as long as it is used, so
        /// an argument made from the context, such as the actor's own reference
        /// for a child it spawns, must be made *before* the call, not inside its
        /// argument list: `let me = ctx.actor_ref();` then
        /// `ctx.runtime().spawn_local(.., me, ..)`. Written in one expression,
        /// the compiler rejects it (E0502, "cannot borrow `ctx` as immutable
        /// because it is also borrowed as mutable"):
        ///
        /// ```compile_fail,E0502
        /// use kiln::{actor, ActorRef};
        ///
        /// /// A runtime access that spawns children, which get a reference to
        /// /// their parent (the `kiln-rt` crate's spawners work the same way).
        /// struct Spawner;
        ///
        /// impl Spawner {
        ///     fn spawn_child(&mut self, parent: ActorRef<u64>) {}
        /// }
        ///
        /// async fn parent(mut ctx: actor::Context<u64, Spawner>) {
        ///     ctx.runtime().spawn_child(ctx.actor_ref());
        /// }
        /// ```
        ///
        /// Made first, the reference is a value of its own and the borrows do
        /// not overlap:
        ///
        /// ```
        /// # use kiln::{actor, ActorRef};
        /// # struct Spawner;
        /// # impl Spawner {
        /// #     fn spawn_child(&mut self, parent: ActorRef<u64>) {}
        /// # }
        /// async fn parent(mut ctx: actor::Context<u64, Spawner>) {
        ///     let me = ctx.actor_ref();
        ///     ctx.runtime().spawn_child(me);
        /// }
        /// # let _ = parent;
        /// ```
    );
}

impl<M, RT: fmt::Debug> fmt::Debug for Context<M, RT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_context(f, "Context", &self.inbox, &self.rt)
    }
}

/// Expands, inside the `impl` block of a context (an actor's or a
/// [synchronous actor's](crate::sync::Context), with the fields
/// `inbox: Receiver<M>` and `rt: RT`), to the accessors every context has:
/// `actor_ref` and `runtime`, documented by the attributes given, and
/// `runtime_ref`. A macro so that each context keeps its own inherent,
/// documented methods.
macro_rules! context_accessors {
    (
        actor_ref: $(#[$actor_ref_doc: meta])*
        runtime: $(#[$runtime_doc: meta])*
    ) => {
        $(#[$actor_ref_doc])*
        pub fn actor_ref(&self) -> $crate::actor_ref::ActorRef<M> {
            $crate::actor_ref::ActorRef::from(self.inbox.new_sender())
        }

        $(#[$runtime_doc])*
        pub fn runtime(&mut self) -> &mut RT {
            &mut self.rt
        }

        /// Returns the runtime access.
        pub const fn runtime_ref(&self) -> &RT {
            &self.rt
        }
    };
}
pub(crate) use context_accessors;

/// Writes the `Debug` form of a context of type `name`: its inbox's id and
/// its runtime access.
pub(crate) fn fmt_context<M, RT: fmt::Debug>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    inbox: &Receiver<M>,
    rt: &RT,
) -> fmt::Result {
    f.debug_struct(name)
        .field("inbox", &inbox.id())
        .field("rt", rt)
        .finish()
}

/// The error of [`Context::receive_next`]: the inbox is empty and no
/// [`ActorRef`](crate::ActorRef) to the actor is left, so no message will ever arrive.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NoMessages;

impl fmt::Display for NoMessages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no more messages: the inbox is empty and every reference to the actor is gone")
    }
}

impl std::error::Error for NoMessages {}

/// The future returned by [`Context::receive_next`].
#[must_use = "futures do nothing unless polled"]
pub struct ReceiveMessage<'ctx, M> {
    inbox: &'ctx mut Receiver<M>,
}

impl<M> Future for ReceiveMessage<'_, M> {
    type Output = Result<M, NoMessages>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        match self.get_mut().inbox.poll_recv(cx) {
            Poll::Ready(Some(msg)) => {
                crate::metrics::received();
                Poll::Ready(Ok(msg))
            }
            Poll::Ready(None) => Poll::Ready(Err(NoMessages)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<M> fmt::Debug for ReceiveMessage<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReceiveMessage")
    }
}

/// The future returned by [`Context::peek_next`].
#[must_use = "futures do nothing unless polled"]
pub struct PeekMessage<'ctx, M> {
    /// `None` once the future completed.
    inbox: Option<&'ctx mut Receiver<M>>,
}

impl<'ctx, M> Future for PeekMessage<'ctx, M> {
    type Output = Result<&'ctx M, NoMessages>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(inbox) = this.inbox.as_mut() else {
            panic!("PeekMessage polled after completion");
        };
        match inbox.poll_peek(cx).map(|msg| msg.is_some()) {
            Poll::Ready(found) => {
                let inbox = this.inbox.take().filter(|_| found);
                // Still there: only this actor takes its messages.
                Poll::Ready(
                    inbox
                        .and_then(|inbox| inbox.try_peek().ok())
                        .ok_or(NoMessages),
                )
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<M> fmt::Debug for PeekMessage<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PeekMessage")
    }
}

/// The [`Stream`](https://docs.rs/futures-core/0.3/futures_core/stream/trait.Stream.html) returned by
/// [`Context::receive_messages`].
#[must_use = "streams do nothing unless polled"]
pub struct ReceiveMessages<'ctx, M> {
    inbox: &'ctx mut Receiver<M>,
}

impl<M> Stream for ReceiveMessages<'_, M> {
    type Item = M;

    fn poll_next(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Option<M>> {
        let poll = self.get_mut().inbox.poll_recv(cx);
        if let Poll::Ready(Some(_)) = &poll {
            crate::metrics::received();
        }
        poll
    }
}

impl<M> fmt::Debug for ReceiveMessages<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReceiveMessages")
    }
}
