//! Remote procedure calls: a request sent to an actor, and its response.
//!
//! [`ActorRef::rpc`] wraps a request in an [`RpcMessage`] (converted into the
//! actor's message type with `From`) and waits for the response. The actor
//! answers through the message's [`RpcResponse`], or with
//! [`RpcMessage::handle`] (or [`RpcMessage::try_handle`] for work that can
//! fail). The types of this module are re-exported in
//! [`actor_ref`](crate::actor_ref).
//!
//! ```
//! use kiln::actor;
//! use kiln::actor_ref::RpcMessage;
//!
//! /// Adds each request to a running total and answers with the new total.
//! async fn counter(mut ctx: actor::Context<RpcMessage<u64, u64>>) {
//!     let mut total = 0;
//!     while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
//!         total += request;
//!         // The caller may have stopped waiting; that is not our problem.
//!         let _ = response.respond(total);
//!     }
//! }
//!
//! # kiln::sync::block_on(async {
//! # let (future, actor_ref) = kiln::ActorFuture::new(kiln::supervisor::NoSupervisor, kiln::actor_fn(counter), ());
//! # let handle = std::thread::spawn(move || kiln::sync::block_on(future));
//! assert_eq!(actor_ref.rpc(2).await, Ok(2));
//! assert_eq!(actor_ref.rpc(3).await, Ok(5));
//! # drop(actor_ref);
//! # handle.join().unwrap();
//! # });
//! ```
//!
//! [`ActorRef::rpc`]: crate::actor_ref::ActorRef::rpc

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use kiln_inbox::oneshot;

use crate::actor_ref::SendValue;

/// A request and the means to respond to it.
pub struct RpcMessage<Req, Res> {
    /// The request.
    pub request: Req,
    /// Where the response goes.
    pub response: RpcResponse<Res>,
}

impl<Req, Res> RpcMessage<Req, Res> {
    /// Creates a message and the receiving end of its response; for code
    /// that sends requests without [`ActorRef::rpc`](crate::ActorRef::rpc).
    pub fn new(request: Req) -> (RpcMessage<Req, Res>, oneshot::Receiver<Res>) {
        let (sender, receiver) = oneshot::new();
        let msg = RpcMessage {
            request,
            response: RpcResponse { sender },
        };
        (msg, receiver)
    }

    /// Answers the request with the output of `f`.
    ///
    /// If the caller has stopped waiting, `f` is not called and `Ok(())` is
    /// returned: there is nothing to do. If the caller stops waiting while
    /// `f` runs, the response is given back in the error.
    pub async fn handle<F, Fut>(self, f: F) -> Result<(), ResponseError<Res>>
    where
        F: FnOnce(Req) -> Fut,
        Fut: Future<Output = Res>,
    {
        if !self.response.is_connected() {
            return Ok(());
        }
        let response = f(self.request).await;
        self.response.respond(response)
    }

    /// Answers the request with the output of `f`, which may fail.
    ///
    /// Like [`handle`](RpcMessage::handle), but `f` returns a `Result`. If it
    /// succeeds the response is sent, and the inner result says whether the
    /// caller got it. If it fails, nothing is sent: the caller's
    /// [`ActorRef::rpc`] fails with [`RpcError::NoResponse`], and the error
    /// is returned (the outer `Err`) so the actor can fail with it. To send
    /// the error to the caller instead, make it part of the response type
    /// (`Res = Result<T, E>`) and use [`handle`](RpcMessage::handle).
    ///
    /// If the caller has stopped waiting, `f` is not called and `Ok(Ok(()))`
    /// is returned.
    ///
    /// ```
    /// use kiln::actor;
    /// use kiln::actor_ref::RpcMessage;
    ///
    /// /// Parses numbers for its callers; fails (and is restarted or stopped
    /// /// by its supervisor) on input it cannot parse.
    /// async fn parser(
    ///     mut ctx: actor::Context<RpcMessage<String, u64>>,
    /// ) -> Result<(), std::num::ParseIntError> {
    ///     while let Ok(msg) = ctx.receive_next().await {
    ///         // `?` fails the actor with the parse error; a caller that
    ///         // stopped waiting is not our problem (`let _`).
    ///         let _ = msg.try_handle(|text| async move { text.parse() }).await?;
    ///     }
    ///     Ok(())
    /// }
    /// # fn is_actor<NA: kiln::NewActor>(_: NA) {}
    /// # is_actor(kiln::actor_fn(parser));
    /// ```
    ///
    /// [`ActorRef::rpc`]: crate::actor_ref::ActorRef::rpc
    pub async fn try_handle<F, Fut, E>(self, f: F) -> Result<Result<(), ResponseError<Res>>, E>
    where
        F: FnOnce(Req) -> Fut,
        Fut: Future<Output = Result<Res, E>>,
    {
        if !self.response.is_connected() {
            return Ok(Ok(()));
        }
        let response = f(self.request).await?;
        Ok(self.response.respond(response))
    }
}

impl<Req: fmt::Debug, Res> fmt::Debug for RpcMessage<Req, Res> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcMessage")
            .field("request", &self.request)
            .field("response", &self.response)
            .finish()
    }
}

/// The means to respond to a request, see [`RpcMessage`].
pub struct RpcResponse<Res> {
    sender: oneshot::Sender<Res>,
}

impl<Res> RpcResponse<Res> {
    /// Sends the response. Fails, giving `response` back, if the caller has
    /// stopped waiting for it.
    pub fn respond(self, response: Res) -> Result<(), ResponseError<Res>> {
        self.sender.try_send(response).map_err(ResponseError)
    }

    /// Returns `true` while the caller waits for the response.
    pub fn is_connected(&self) -> bool {
        self.sender.is_connected()
    }
}

impl<Res> fmt::Debug for RpcResponse<Res> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcResponse")
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// The error of [`RpcResponse::respond`]: the caller stopped waiting; the
/// response is given back.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseError<Res>(pub Res);

impl<Res> ResponseError<Res> {
    /// Returns the response that was not delivered.
    pub fn into_inner(self) -> Res {
        self.0
    }
}

impl<Res> fmt::Debug for ResponseError<Res> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseError(..)")
    }
}

impl<Res> fmt::Display for ResponseError<Res> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("can't respond: the caller stopped waiting for the response")
    }
}

impl<Res> std::error::Error for ResponseError<Res> {}

/// The error of [`ActorRef::rpc`](crate::ActorRef::rpc).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RpcError {
    /// The request could not be sent: the actor has stopped (or, for a
    /// mapped reference, rejected the request).
    SendError,
    /// The actor dropped the request without responding, for example because
    /// it stopped or failed while handling it.
    NoResponse,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RpcError::SendError => "RPC failed: can't send the request, the actor has stopped",
            RpcError::NoResponse => "RPC failed: the actor dropped the request without responding",
        })
    }
}

impl std::error::Error for RpcError {}

/// The future returned by [`ActorRef::rpc`](crate::ActorRef::rpc).
#[must_use = "futures do nothing unless polled"]
pub struct Rpc<'r, M, Res> {
    /// `Some` until the request is in the actor's inbox.
    send: Option<SendValue<'r, M>>,
    response: oneshot::Receiver<Res>,
}

impl<'r, M, Res> Rpc<'r, M, Res> {
    /// The call whose request `send` sends, and whose response comes
    /// through `response`.
    pub(crate) const fn new(
        send: SendValue<'r, M>,
        response: oneshot::Receiver<Res>,
    ) -> Rpc<'r, M, Res> {
        Rpc {
            send: Some(send),
            response,
        }
    }
}

// Nothing in `Rpc` is structurally pinned.
impl<M, Res> Unpin for Rpc<'_, M, Res> {}

impl<M, Res> Future for Rpc<'_, M, Res> {
    type Output = Result<Res, RpcError>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(send) = this.send.as_mut() {
            match Pin::new(send).poll(cx) {
                Poll::Ready(Ok(())) => this.send = None,
                Poll::Ready(Err(_)) => {
                    this.send = None;
                    return Poll::Ready(Err(RpcError::SendError));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        this.response
            .poll_recv(cx)
            .map(|response| response.ok_or(RpcError::NoResponse))
    }
}

impl<M, Res> fmt::Debug for Rpc<'_, M, Res> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rpc")
            .field("sent", &self.send.is_none())
            .finish()
    }
}
