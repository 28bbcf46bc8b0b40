//! Inboxes: how many messages an actor's inbox holds ([`InboxSize`]), and the
//! `kiln-inbox` types that kiln's own signatures use, so that neither users
//! nor runtimes need a direct `kiln-inbox` dependency.
//!
//! Every actor reads its messages from a bounded inbox. Users pick its size
//! ([`InboxSize`], also at the crate root as [`kiln::InboxSize`](crate::InboxSize));
//! everything else here is for code that runs actors itself, as a runtime
//! does: it makes an inbox with a [`Manager`] (which keeps the inbox and
//! its messages across restarts), gives the [`Receiver`] to the actor's
//! context ([`actor::Context::new`](crate::actor::Context::new),
//! [`sync::Context::new`](crate::sync::Context::new)) and turns the
//! [`Sender`] into an [`ActorRef`](crate::ActorRef) with `From`. The
//! [`oneshot`] channel carries RPC responses
//! ([`RpcMessage::new`](crate::actor_ref::RpcMessage::new)).
//!
//! ```
//! use kiln::actor::{self, Context};
//! use kiln::inbox::{InboxSize, Manager};
//! use kiln::ActorRef;
//!
//! // What a runtime does to start an actor by hand.
//! let (mut manager, sender, receiver) = Manager::<&str>::new(InboxSize::fixed(4).get());
//! let actor_ref = ActorRef::from(sender);
//! let mut ctx: actor::Context<&str> = Context::new(receiver, ());
//! actor_ref.try_send("queued").unwrap();
//! assert_eq!(ctx.try_receive_next(), Ok("queued"));
//! // The actor stops; the manager hands the inbox to its restarted instance.
//! drop(ctx);
//! assert!(manager.new_receiver().is_some());
//! ```
//!
//! The types re-exported here are documented in the `kiln-inbox` crate;
//! note that its [`SendError`] and [`SendValue`] are the inbox's own, which
//! [`ActorRef`](crate::ActorRef) wraps in
//! [`actor_ref::SendError`](crate::actor_ref::SendError) and
//! [`actor_ref::SendValue`](crate::actor_ref::SendValue).

mod size;

pub use size::{InboxSize, InvalidInboxSize};

#[doc(no_inline)]
pub use kiln_inbox::{
    DEFAULT_CAPACITY, Disconnected, InboxId, Join, MAX_CAPACITY, MIN_CAPACITY, Manager, PeekValue,
    Permit, QueuedMessages, Receiver, RecvError, RecvValue, Reserve, ReserveError, SendError,
    SendValue, Sender, new, oneshot,
};
