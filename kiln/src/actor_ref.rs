//! [`ActorRef`]: the handle through which actors send messages to an actor.
//!
//! An `ActorRef<M>` sends messages of type `M` into the actor's bounded
//! inbox. It is cheap to clone and, when `M: Send`, can be sent to and shared
//! between threads, whatever kind of actor it points to.
//!
//! - [`try_send`](ActorRef::try_send) never waits; when it fails its
//!   [`SendError`] says why and gives the message back.
//! - [`send`](ActorRef::send) waits while the inbox is full (backpressure)
//!   and fails only when the actor is gone.
//! - [`rpc`](ActorRef::rpc) sends a request and waits for the response, see
//!   the [`rpc`] module; its types ([`RpcMessage`], [`RpcResponse`], ...)
//!   are re-exported here.
//! - [`join`](ActorRef::join) waits until the actor has stopped for good and
//!   tells how it ended ([`ActorExit`]).
//! - [`map`](ActorRef::map), [`try_map`](ActorRef::try_map),
//!   [`map_fn`](ActorRef::map_fn) and [`try_map_fn`](ActorRef::try_map_fn)
//!   give a reference that converts messages before sending them; a
//!   conversion that fails gives the message back. For conversions whose
//!   error is not the message (such as the standard `TryFrom`s),
//!   [`try_map_lossy`](ActorRef::try_map_lossy) and
//!   [`try_map_fn_lossy`](ActorRef::try_map_fn_lossy) drop a message they
//!   cannot convert and say so ([`SendError::RejectedConverted`]).
//! - [`ActorGroup`] sends to a group of actors.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{self, Poll};

use kiln_inbox::{InboxId, Sender};

mod error;
mod exit;
mod group;
#[cfg(feature = "test")]
pub(crate) mod loss;
mod mapped;
pub mod rpc;
mod send;

pub use error::SendError;
pub use exit::ActorExit;
pub use group::{ActorGroup, JoinAll, SendToOne};
pub use rpc::{ResponseError, Rpc, RpcError, RpcMessage, RpcResponse};
pub use send::SendValue;

use mapped::{BoxFuture, MappedSend};

/// A reference to an actor, through which messages of type `M` are sent to
/// it.
///
/// See the [module documentation](self).
pub struct ActorRef<M> {
    kind: Kind<M>,
}

enum Kind<M> {
    /// Sends straight into the actor's inbox.
    Direct(Sender<M>),
    /// Converts the message first, see [`ActorRef::map`].
    Mapped(Arc<dyn MappedSend<M>>),
}

impl<M> ActorRef<M> {
    /// Sends a message without waiting.
    ///
    /// Fails with [`SendError::Full`] if the actor's inbox is full and with
    /// [`SendError::Disconnected`] if the actor has stopped; both give the
    /// message back.
    ///
    /// ```
    /// # use kiln::actor_ref::SendError;
    /// # async fn actor(_: kiln::actor::Context<String>) {}
    /// # let (_future, actor_ref) = kiln::ActorFuture::new(kiln::supervisor::NoSupervisor, kiln::actor_fn(actor), ());
    /// match actor_ref.try_send("Hello") {
    ///     Ok(()) => {}
    ///     Err(SendError::Full(msg)) => println!("busy, try `{msg}` again later"),
    ///     Err(err) => println!("can't send: {err}"),
    /// }
    /// ```
    pub fn try_send<Msg: Into<M>>(&self, msg: Msg) -> Result<(), SendError<M>> {
        let msg = msg.into();
        #[cfg(feature = "test")]
        if loss::lose_message() {
            drop(msg);
            return Ok(());
        }
        match &self.kind {
            Kind::Direct(sender) => sender.try_send(msg).map_err(SendError::from)?,
            Kind::Mapped(mapped) => mapped::try_send(&**mapped, msg)?,
        }
        crate::metrics::sent();
        Ok(())
    }

    /// Sends a message, waiting while the actor's inbox is full.
    ///
    /// The future fails only with [`SendError::Disconnected`] (or, for a
    /// mapped reference, a conversion error), giving the message back.
    pub fn send<Msg: Into<M>>(&self, msg: Msg) -> SendValue<'_, M> {
        let msg = msg.into();
        #[cfg(feature = "test")]
        if loss::lose_message() {
            drop(msg);
            return SendValue::lost();
        }
        match &self.kind {
            Kind::Direct(sender) => SendValue::direct(sender.send(msg)),
            Kind::Mapped(mapped) => SendValue::mapped(mapped.send(msg)),
        }
    }

    /// Sends `request` as an [`RpcMessage`] and waits for the response.
    ///
    /// Waits while the inbox is full, like [`send`](ActorRef::send). Fails
    /// with [`RpcError::SendError`] if the actor has stopped and with
    /// [`RpcError::NoResponse`] if the actor dropped the request without
    /// responding. See the [`rpc`] module for an example.
    pub fn rpc<Req, Res>(&self, request: Req) -> Rpc<'_, M, Res>
    where
        M: From<RpcMessage<Req, Res>>,
    {
        let (msg, response) = RpcMessage::new(request);
        Rpc::new(self.send(M::from(msg)), response)
    }

    /// Waits until the actor has stopped for good and tells how it ended.
    ///
    /// A restart is not an end: `join` waits for the restarted actor. Every
    /// clone of an `ActorRef` can join.
    pub fn join(&self) -> Join<'_, M> {
        let state = match &self.kind {
            Kind::Direct(sender) => JoinState::Direct(sender.join()),
            Kind::Mapped(mapped) => JoinState::Mapped(mapped.join()),
        };
        Join { state }
    }

    /// Returns `true` while the actor can still receive messages: it is
    /// running, or being restarted.
    pub fn is_connected(&self) -> bool {
        match &self.kind {
            Kind::Direct(sender) => sender.is_connected(),
            Kind::Mapped(mapped) => mapped.is_connected(),
        }
    }

    /// Returns `true` if `self` and `other` send to the same actor, even if
    /// their message types differ (see [`map`](ActorRef::map)).
    pub fn sends_to<N>(&self, other: &ActorRef<N>) -> bool {
        self.inbox_id() == other.inbox_id()
    }

    /// The identity of the actor's inbox.
    fn inbox_id(&self) -> InboxId {
        match &self.kind {
            Kind::Direct(sender) => sender.id(),
            Kind::Mapped(mapped) => mapped.id(),
        }
    }

    /// Returns a reference that sends messages of type `N`, converting them
    /// into `M` with [`From`].
    ///
    /// ```
    /// # use kiln::actor_ref::ActorRef;
    /// enum Message {
    ///     Greet(String),
    /// }
    ///
    /// impl From<String> for Message {
    ///     fn from(name: String) -> Message {
    ///         Message::Greet(name)
    ///     }
    /// }
    ///
    /// fn greeter_only(actor_ref: ActorRef<Message>) -> ActorRef<String> {
    ///     actor_ref.map()
    /// }
    /// ```
    pub fn map<N>(self) -> ActorRef<N>
    where
        M: From<N> + Send + 'static,
        N: Send + 'static,
    {
        self.mapped(|msg| Ok(M::from(msg)))
    }

    /// Returns a reference that sends messages of type `N`, converting them
    /// into `M` with [`TryFrom`] whose error is the message itself: a
    /// conversion that fails gives the message back in
    /// [`SendError::Rejected`].
    ///
    /// For a conversion with any other error, such as the standard ones
    /// (`u32: TryFrom<u64>`), use [`try_map_lossy`](ActorRef::try_map_lossy).
    pub fn try_map<N>(self) -> ActorRef<N>
    where
        M: TryFrom<N, Error = N> + Send + 'static,
        N: Send + 'static,
    {
        self.mapped(|msg| M::try_from(msg).map_err(Some))
    }

    /// Returns a reference that sends messages of type `N`, converting them
    /// into `M` with [`TryFrom`], whatever its error.
    ///
    /// Lossy: a failed conversion has consumed the message, so it cannot be
    /// given back. The message and the conversion's error are dropped, and
    /// the send fails with [`SendError::RejectedConverted`]. Use
    /// [`try_map_fn_lossy`](ActorRef::try_map_fn_lossy) to look at the error
    /// first (log or count it), and [`try_map`](ActorRef::try_map) with a
    /// conversion that gives the message back to get it back.
    ///
    /// As for every mapped reference, the slot in the inbox is reserved
    /// before converting, so a full inbox or a stopped actor gives back the
    /// unconverted message ([`SendError::Full`], [`SendError::Disconnected`]).
    ///
    /// ```
    /// # use kiln::actor_ref::{ActorRef, SendError};
    /// # async fn actor(_: kiln::actor::Context<u8>) {}
    /// # let (_future, actor_ref) = kiln::ActorFuture::new(kiln::supervisor::NoSupervisor, kiln::actor_fn(actor), ());
    /// // `u8: TryFrom<u32>` fails with `TryFromIntError`.
    /// let wide: ActorRef<u32> = actor_ref.try_map_lossy();
    /// assert_eq!(wide.try_send(200u32), Ok(()));
    /// assert_eq!(wide.try_send(300u32), Err(SendError::RejectedConverted));
    /// ```
    pub fn try_map_lossy<N>(self) -> ActorRef<N>
    where
        M: TryFrom<N> + Send + 'static,
        N: Send + 'static,
    {
        self.try_map_fn_lossy(M::try_from)
    }

    /// Returns a reference that sends messages of type `N`, converting them
    /// into `M` with `map`.
    pub fn map_fn<N, F>(self, map: F) -> ActorRef<N>
    where
        F: Fn(N) -> M + Send + Sync + 'static,
        M: Send + 'static,
        N: Send + 'static,
    {
        self.mapped(move |msg| Ok(map(msg)))
    }

    /// Returns a reference that sends messages of type `N`, converting them
    /// with `map`, which gives the message back (`Err(msg)`) if it cannot be
    /// converted; [`try_send`](ActorRef::try_send) then fails with
    /// [`SendError::Rejected`].
    ///
    /// The slot in the inbox is reserved before `map` is called, so a full
    /// inbox or a stopped actor gives back the unconverted message.
    pub fn try_map_fn<N, F>(self, map: F) -> ActorRef<N>
    where
        F: Fn(N) -> Result<M, N> + Send + Sync + 'static,
        M: Send + 'static,
        N: Send + 'static,
    {
        self.mapped(move |msg| map(msg).map_err(Some))
    }

    /// Returns a reference that sends messages of type `N`, converting them
    /// with `map`, which may fail with any error.
    ///
    /// Lossy, like [`try_map_lossy`](ActorRef::try_map_lossy): when `map`
    /// fails, the message and the error are dropped and the send fails with
    /// [`SendError::RejectedConverted`]. `map` sees the error first, so it can
    /// log or count it:
    ///
    /// ```
    /// # use kiln::actor_ref::{ActorRef, SendError};
    /// # async fn actor(_: kiln::actor::Context<u64>) {}
    /// # let (_future, actor_ref) = kiln::ActorFuture::new(kiln::supervisor::NoSupervisor, kiln::actor_fn(actor), ());
    /// let parsing: ActorRef<&str> = actor_ref.try_map_fn_lossy(|text: &str| {
    ///     text.parse::<u64>()
    ///         .inspect_err(|err| eprintln!("not sending {text:?}: {err}"))
    /// });
    /// assert_eq!(parsing.try_send("12"), Ok(()));
    /// assert_eq!(parsing.try_send("twelve"), Err(SendError::RejectedConverted));
    /// ```
    pub fn try_map_fn_lossy<N, E, F>(self, map: F) -> ActorRef<N>
    where
        F: Fn(N) -> Result<M, E> + Send + Sync + 'static,
        M: Send + 'static,
        N: Send + 'static,
    {
        self.mapped(move |msg| map(msg).map_err(|_: E| None))
    }

    /// A reference that converts with `map`: `Err(Some(msg))` gives the
    /// message back, `Err(None)` means the conversion consumed it.
    fn mapped<N, F>(self, map: F) -> ActorRef<N>
    where
        F: Fn(N) -> Result<M, Option<N>> + Send + Sync + 'static,
        M: Send + 'static,
        N: Send + 'static,
    {
        let mapped: Arc<dyn MappedSend<N>> = match self.kind {
            Kind::Direct(sender) => Arc::new(mapped::Base::new(sender, map)),
            Kind::Mapped(inner) => Arc::new(mapped::Nested::new(inner, map)),
        };
        ActorRef {
            kind: Kind::Mapped(mapped),
        }
    }
}

/// Creates a reference from an inbox sender; for runtimes that create the
/// inbox of the actors they run (see [`kiln::inbox`](crate::inbox)).
impl<M> From<Sender<M>> for ActorRef<M> {
    fn from(sender: Sender<M>) -> ActorRef<M> {
        ActorRef {
            kind: Kind::Direct(sender),
        }
    }
}

impl<M> Clone for ActorRef<M> {
    fn clone(&self) -> ActorRef<M> {
        let kind = match &self.kind {
            Kind::Direct(sender) => Kind::Direct(sender.clone()),
            Kind::Mapped(mapped) => Kind::Mapped(Arc::clone(mapped)),
        };
        ActorRef { kind }
    }
}

impl<M> fmt::Debug for ActorRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("inbox", &self.inbox_id())
            .field("mapped", &matches!(self.kind, Kind::Mapped(_)))
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// The future returned by [`ActorRef::join`].
#[must_use = "futures do nothing unless polled"]
pub struct Join<'r, M> {
    state: JoinState<'r, M>,
}

enum JoinState<'r, M> {
    Direct(kiln_inbox::Join<'r, M>),
    Mapped(BoxFuture<'r, ActorExit>),
}

impl<M> Future for Join<'_, M> {
    type Output = ActorExit;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<ActorExit> {
        match &mut self.get_mut().state {
            JoinState::Direct(join) => Pin::new(join).poll(cx).map(ActorExit::from_status),
            JoinState::Mapped(join) => join.as_mut().poll(cx),
        }
    }
}

impl<M> fmt::Debug for Join<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Join")
    }
}
