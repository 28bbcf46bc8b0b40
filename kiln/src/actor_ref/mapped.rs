//! Mapped actor references: the type-erased layer behind
//! [`ActorRef::map`](crate::actor_ref::ActorRef::map) and friends.
//!
//! A mapped `ActorRef<N>` holds an `Arc<dyn MappedSend<N>>`. The innermost
//! layer ([`Base`]) owns the actor's inbox sender; each further mapping adds a
//! [`Nested`] layer. Sending always **reserves the inbox slot first** and only
//! then asks for the message (`produce`) and converts it, so a full inbox or a
//! stopped actor gives the caller back its unconverted message.
//!
//! A conversion returns `Err(Some(msg))` to reject its input and hand it
//! back (through `give_back`), or `Err(None)` when it consumed the input (a
//! lossy conversion, `ActorRef::try_map_lossy`). A message that cannot reach
//! the caller, because a lossy conversion consumed it or an inner layer
//! rejected what an outer layer converted, is reported as
//! [`SendError::RejectedConverted`].

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use kiln_inbox::{InboxId, Permit, ReserveError, Sender};

use crate::actor_ref::{ActorExit, SendError};

/// A boxed, `Send` and `Sync` future (`Sync` so that the futures of
/// `ActorRef::send` and `join` are `Sync` whenever the message is `Send`).
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + Sync + 'a>>;

/// Produces the message for a reserved slot, see [`MappedSend::send_with`].
pub(crate) type Produce<'a, M> = Box<dyn FnOnce() -> Option<M> + Send + Sync + 'a>;

/// Takes back a rejected message, see [`MappedSend::send_with`].
pub(crate) type GiveBack<'a, M> = Box<dyn FnOnce(M) + Send + Sync + 'a>;

/// Why a mapped send failed; whether the caller still has its message
/// depends on whether `give_back` was called.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Failure {
    Full,
    Disconnected,
    Rejected,
}

impl Failure {
    fn with<M>(self, msg: M) -> SendError<M> {
        match self {
            Failure::Full => SendError::Full(msg),
            Failure::Disconnected => SendError::Disconnected(msg),
            Failure::Rejected => SendError::Rejected(msg),
        }
    }
}

impl From<ReserveError> for Failure {
    fn from(err: ReserveError) -> Failure {
        match err {
            ReserveError::Full => Failure::Full,
            ReserveError::Disconnected => Failure::Disconnected,
        }
    }
}

/// A layer of a mapped reference that accepts messages of type `M`.
pub(crate) trait MappedSend<M>: Send + Sync {
    /// Reserves a slot in the actor's inbox without waiting, then calls
    /// `produce` for the message (`None`: an outer layer rejected it and
    /// kept it) and converts it. A message this layer rejects goes to
    /// `give_back`.
    fn try_send_with(
        &self,
        produce: &mut dyn FnMut() -> Option<M>,
        give_back: &mut dyn FnMut(M),
    ) -> Result<(), Failure>;

    /// Like `try_send_with`, but waits for a slot while the inbox is full.
    fn send_with<'a>(
        &'a self,
        produce: Produce<'a, M>,
        give_back: GiveBack<'a, M>,
    ) -> BoxFuture<'a, Result<(), Failure>>;

    /// `ActorRef::send` for a mapped reference: [`send`] for this layer.
    fn send(&self, msg: M) -> BoxFuture<'_, Result<(), SendError<M>>>;

    /// See [`ActorRef::join`](crate::actor_ref::ActorRef::join).
    fn join(&self) -> BoxFuture<'_, ActorExit>;

    /// See [`ActorRef::is_connected`](crate::actor_ref::ActorRef::is_connected).
    fn is_connected(&self) -> bool;

    /// The identity of the actor's inbox.
    fn id(&self) -> InboxId;
}

/// `ActorRef::try_send` for a mapped reference.
pub(crate) fn try_send<M>(mapped: &dyn MappedSend<M>, msg: M) -> Result<(), SendError<M>> {
    let slot = Cell::new(Some(msg));
    let result = mapped.try_send_with(&mut || slot.take(), &mut |msg| slot.set(Some(msg)));
    result.map_err(|failure| match slot.take() {
        Some(msg) => failure.with(msg),
        None => SendError::RejectedConverted,
    })
}

/// `ActorRef::send` for a mapped reference.
fn send<'a, M: Send + 'a>(
    mapped: &'a dyn MappedSend<M>,
    msg: M,
) -> BoxFuture<'a, Result<(), SendError<M>>> {
    // A `Mutex` rather than a `Cell` keeps the future `Send` and `Sync`; it
    // is never contended. Made outside the `async` block so the block does
    // not capture the bare message (that would need `M: Sync` for `Sync`).
    let slot = Mutex::new(Some(msg));
    Box::pin(async move {
        let take = || slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        let result = mapped
            .send_with(
                Box::new(take),
                Box::new(|msg| *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(msg)),
            )
            .await;
        result.map_err(|failure| match take() {
            Some(msg) => failure.with(msg),
            None => SendError::RejectedConverted,
        })
    })
}

/// The innermost layer: converts `M` into the actor's message type `T`
/// (`Err(Some(msg))` gives `msg` back, `Err(None)` consumed it).
pub(crate) struct Base<T, F> {
    sender: Sender<T>,
    map: F,
}

impl<T, F> Base<T, F> {
    pub(crate) const fn new(sender: Sender<T>, map: F) -> Base<T, F> {
        Base { sender, map }
    }

    /// Fills `permit`, a reserved slot in the inbox, with the message
    /// `produce` gives, converted. A message the conversion refuses goes
    /// back through `give_back` (if the conversion returned it), and the
    /// slot is freed.
    fn deliver<M>(
        &self,
        permit: Permit<'_, T>,
        produce: impl FnOnce() -> Option<M>,
        give_back: impl FnOnce(M),
    ) -> Result<(), Failure>
    where
        F: Fn(M) -> Result<T, Option<M>>,
    {
        let Some(msg) = produce() else {
            // Dropping the permit returns the slot.
            return Err(Failure::Rejected);
        };
        match (self.map)(msg) {
            Ok(msg) => {
                permit.send(msg);
                Ok(())
            }
            Err(msg) => {
                if let Some(msg) = msg {
                    give_back(msg);
                }
                Err(Failure::Rejected)
            }
        }
    }
}

impl<M, T, F> MappedSend<M> for Base<T, F>
where
    F: Fn(M) -> Result<T, Option<M>> + Send + Sync,
    T: Send,
    M: Send + 'static,
{
    fn try_send_with(
        &self,
        produce: &mut dyn FnMut() -> Option<M>,
        give_back: &mut dyn FnMut(M),
    ) -> Result<(), Failure> {
        let permit = self.sender.try_reserve()?;
        self.deliver(permit, produce, give_back)
    }

    fn send_with<'a>(
        &'a self,
        produce: Produce<'a, M>,
        give_back: GiveBack<'a, M>,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let permit = self
                .sender
                .reserve()
                .await
                .map_err(|_| Failure::Disconnected)?;
            self.deliver(permit, produce, give_back)
        })
    }

    fn send(&self, msg: M) -> BoxFuture<'_, Result<(), SendError<M>>> {
        send(self, msg)
    }

    fn join(&self) -> BoxFuture<'_, ActorExit> {
        Box::pin(async move { ActorExit::from_status(self.sender.join().await) })
    }

    fn is_connected(&self) -> bool {
        self.sender.is_connected()
    }

    fn id(&self) -> InboxId {
        self.sender.id()
    }
}

/// A mapping of an already mapped reference: converts `N` into the `M` that
/// the inner layer accepts.
pub(crate) struct Nested<M, F> {
    inner: Arc<dyn MappedSend<M>>,
    map: F,
}

impl<M, F> Nested<M, F> {
    pub(crate) fn new(inner: Arc<dyn MappedSend<M>>, map: F) -> Nested<M, F> {
        Nested { inner, map }
    }
}

impl<N, M, F> MappedSend<N> for Nested<M, F>
where
    F: Fn(N) -> Result<M, Option<N>> + Send + Sync,
    M: 'static,
    N: Send + 'static,
{
    fn try_send_with(
        &self,
        produce: &mut dyn FnMut() -> Option<N>,
        give_back: &mut dyn FnMut(N),
    ) -> Result<(), Failure> {
        self.inner.try_send_with(
            &mut || match (self.map)(produce()?) {
                Ok(msg) => Some(msg),
                Err(msg) => {
                    if let Some(msg) = msg {
                        give_back(msg);
                    }
                    None
                }
            },
            // The inner layer rejected a message this layer converted: it
            // cannot be turned back into an `N`.
            &mut drop,
        )
    }

    fn send_with<'a>(
        &'a self,
        produce: Produce<'a, N>,
        give_back: GiveBack<'a, N>,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        let map = &self.map;
        self.inner.send_with(
            Box::new(move || match map(produce()?) {
                Ok(msg) => Some(msg),
                Err(msg) => {
                    if let Some(msg) = msg {
                        give_back(msg);
                    }
                    None
                }
            }),
            Box::new(drop),
        )
    }

    fn send(&self, msg: N) -> BoxFuture<'_, Result<(), SendError<N>>> {
        send(self, msg)
    }

    fn join(&self) -> BoxFuture<'_, ActorExit> {
        self.inner.join()
    }

    fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }

    fn id(&self) -> InboxId {
        self.inner.id()
    }
}
