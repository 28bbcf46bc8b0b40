//! Handlers: [`Handler`], an `async fn(Request<Bytes>) -> impl
//! IntoResponse` (the body read whole) or, through [`streaming`], an
//! `async fn(Request<RequestBody>) -> impl IntoResponse` (the body read as
//! it arrives); the connection actor that runs one ([`HandlerActor`]);
//! [`IntoResponse`]; and [`rpc_handler`] for an actor reached by RPC.

use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use kiln::ActorRef;
use kiln::actor::{Actor, Context, NewActor};
use kiln::actor_ref::rpc::RpcMessage;
use kiln::supervisor::{Supervisor, SupervisorStrategy};
use kiln_rt::RuntimeRef;
use kiln_rt::access::ThreadLocal;
use log::debug;

use crate::server::body::RequestBody;
use crate::server::connection::Connection;

/// Answers requests: an `async fn(Request<Bytes>) -> R` (or a closure)
/// where `R:` [`IntoResponse`], whose body is read whole first (up to
/// [`max_body_size`](crate::Limits::max_body_size), 413 past it); an
/// `async fn(Request<RequestBody>) -> R` made a handler by [`streaming`],
/// which reads the body as it arrives; a [`Router`](crate::Router) of
/// them; or a type of your own. Runs on the worker of the connection;
/// shared by all connections, so it is `Send + Sync`.
pub trait Handler: Send + Sync + 'static {
    /// Answers `request`, whose body is still to be read (read it, or leave
    /// it: the connection reads and drops an unread body of up to 256 KiB,
    /// and closes after a larger one).
    fn handle(&self, request: Request<RequestBody>) -> impl Future<Output = Response<Bytes>>;
}

impl<F, Fut, R> Handler for F
where
    F: Fn(Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R>,
    R: IntoResponse,
{
    async fn handle(&self, request: Request<RequestBody>) -> Response<Bytes> {
        match read_whole(request).await {
            Some(request) => self(request).await.into_response(),
            None => unanswerable(),
        }
    }
}

/// Makes `handler`, an `async fn(Request<RequestBody>) -> R` (or a
/// closure) where `R:` [`IntoResponse`], a [`Handler`] that gets the
/// request's body unread, to read as it arrives: for bodies too large to
/// hold (uploads), or to handle as they come, with backpressure (see
/// [`RequestBody`]).
///
/// ```
/// use bytes::Bytes;
/// use http::{Request, StatusCode};
/// use kiln_http::Router;
/// use kiln_http::server::{RequestBody, streaming};
///
/// /// Counts the bytes of an upload of any size, a piece at a time.
/// async fn upload(request: Request<RequestBody>) -> Result<String, StatusCode> {
///     let mut body = request.into_body();
///     let mut total = 0;
///     while let Some(piece) = body.next_chunk().await.map_err(|_| StatusCode::BAD_REQUEST)? {
///         total += piece.len(); // E.g. write it to a file here.
///     }
///     Ok(format!("{total} bytes\n"))
/// }
///
/// let router = Router::builder().post("/upload", streaming(upload)).build()?;
/// # Ok::<(), kiln_http::router::RouteError>(())
/// ```
pub const fn streaming<F, Fut, R>(handler: F) -> Streaming<F>
where
    F: Fn(Request<RequestBody>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R>,
    R: IntoResponse,
{
    Streaming(handler)
}

/// A handler that reads request bodies as they arrive, from [`streaming`].
#[derive(Clone)]
pub struct Streaming<F>(F);

impl<F> fmt::Debug for Streaming<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streaming").finish_non_exhaustive()
    }
}

impl<F, Fut, R> Handler for Streaming<F>
where
    F: Fn(Request<RequestBody>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R>,
    R: IntoResponse,
{
    async fn handle(&self, request: Request<RequestBody>) -> Response<Bytes> {
        (self.0)(request).await.into_response()
    }
}

/// `request` with its body read whole; `None` if it could not be (the
/// connection answered it, 400, 408 or 413, or the client went away).
async fn read_whole(request: Request<RequestBody>) -> Option<Request<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.recv_all().await.ok()?;
    Some(Request::from_parts(parts, body))
}

/// The response to a request whose body could not be read: never sent
/// (the connection answered the request already, or it can't be answered),
/// see [`Connection::respond`].
fn unanswerable() -> Response<Bytes> {
    StatusCode::BAD_REQUEST.into_response()
}

/// What a handler may return: a [`Response`] with a body that converts
/// into [`Bytes`], a [`StatusCode`] (its reason as the body), a
/// `(StatusCode, body)` pair, a body alone (200), or a `Result` of two of
/// these.
pub trait IntoResponse {
    /// The response.
    fn into_response(self) -> Response<Bytes>;
}

impl<B: Into<Bytes>> IntoResponse for Response<B> {
    fn into_response(self) -> Response<Bytes> {
        self.map(Into::into)
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response<Bytes> {
        let reason = self.canonical_reason().unwrap_or("");
        (self, format!("{reason}\n")).into_response()
    }
}

impl<B: Into<Bytes>> IntoResponse for (StatusCode, B) {
    fn into_response(self) -> Response<Bytes> {
        let mut response = Response::new(self.1.into());
        *response.status_mut() = self.0;
        response
    }
}

/// Implements [`IntoResponse`] for bodies: 200 with the body, as plain text
/// for text.
macro_rules! body_response {
    ($($ty: ty => $content_type: expr),* $(,)?) => {
        $(
            impl IntoResponse for $ty {
                fn into_response(self) -> Response<Bytes> {
                    let mut response = Response::new(Bytes::from(self));
                    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static($content_type));
                    response
                }
            }
        )*
    };
}

body_response!(
    &'static str => "text/plain; charset=utf-8",
    String => "text/plain; charset=utf-8",
    &'static [u8] => "application/octet-stream",
    Vec<u8> => "application/octet-stream",
    Bytes => "application/octet-stream",
);

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response<Bytes> {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

/// A handler that sends each request to an actor and answers with its
/// reply: for handlers that must not run on the connection's worker
/// (thread-safe or synchronous actors, shared state). 503 if the actor has
/// stopped or drops the request.
///
/// The actor receives `RpcMessage<Request<Bytes>, Response<Bytes>>` (or a
/// message made from it, see kiln's `from_message!`).
pub fn rpc_handler<M>(actor_ref: ActorRef<M>) -> RpcHandler<M>
where
    M: From<RpcMessage<Request<Bytes>, Response<Bytes>>> + Send + 'static,
{
    RpcHandler { actor_ref }
}

/// The handler of [`rpc_handler`].
pub struct RpcHandler<M> {
    actor_ref: ActorRef<M>,
}

impl<M> fmt::Debug for RpcHandler<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcHandler").finish_non_exhaustive()
    }
}

impl<M> Handler for RpcHandler<M>
where
    M: From<RpcMessage<Request<Bytes>, Response<Bytes>>> + Send + 'static,
    ActorRef<M>: Send + Sync,
{
    async fn handle(&self, request: Request<RequestBody>) -> Response<Bytes> {
        let Some(request) = read_whole(request).await else {
            return unanswerable();
        };
        match self.actor_ref.rpc(request).await {
            Ok(response) => response,
            Err(err) => {
                debug!("RPC handler: {err}: 503");
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            }
        }
    }
}

/// The connection actor of a [`Handler`] server: hands each request to
/// the handler and sends its response; made by
/// [`Server::new`](crate::server::Server::new).
pub struct HandlerActor<H> {
    handler: Arc<H>,
}

impl<H> HandlerActor<H> {
    pub(crate) fn new(handler: H) -> HandlerActor<H> {
        HandlerActor {
            handler: Arc::new(handler),
        }
    }
}

impl<H> Clone for HandlerActor<H> {
    fn clone(&self) -> Self {
        HandlerActor {
            handler: self.handler.clone(),
        }
    }
}

impl<H> fmt::Debug for HandlerActor<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerActor").finish_non_exhaustive()
    }
}

/// A connection actor of a handler server.
type HandlerFuture = Pin<Box<dyn Future<Output = io::Result<()>>>>;

impl<H: Handler> NewActor for HandlerActor<H> {
    type Message = Infallible;
    type Argument = Connection;
    type Actor = HandlerFuture;
    type Error = Infallible;
    type RuntimeAccess = ThreadLocal;

    fn new(
        &mut self,
        ctx: Context<Infallible, ThreadLocal>,
        conn: Connection,
    ) -> Result<HandlerFuture, Infallible> {
        WORKER.with(|worker| {
            let mut worker = worker.borrow_mut();
            if worker.is_none() {
                *worker = Some((**ctx.runtime_ref()).clone());
            }
        });
        Ok(Box::pin(serve(conn, self.handler.clone())))
    }

    fn name() -> &'static str {
        "kiln_http::handler"
    }
}

thread_local! {
    /// The runtime of this worker, for its handlers (set by the first
    /// connection a handler server starts on it).
    static WORKER: RefCell<Option<RuntimeRef>> = const { RefCell::new(None) };
}

/// The runtime of the worker a handler runs on: for its timers
/// (`kiln_rt::timer`), sockets and spawning. `None` outside a handler
/// server's worker.
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use http::Request;
/// use kiln_rt::timer::Timer;
///
/// async fn slow(_: Request<Bytes>) -> &'static str {
///     if let Some(rt) = kiln_http::server::worker_runtime() {
///         Timer::after(rt, Duration::from_millis(100)).await;
///     }
///     "done\n"
/// }
/// ```
pub fn worker_runtime() -> Option<RuntimeRef> {
    WORKER.with(|worker| worker.borrow().clone())
}

/// Serves `conn` with `handler` until the connection is done.
async fn serve<H: Handler>(conn: Connection, handler: Arc<H>) -> io::Result<()> {
    while let Some(request) = conn.next_request().await? {
        let response = handler.handle(request).await;
        conn.respond(response).await?;
    }
    Ok(())
}

/// The supervisor of a handler server's connections: logs a failed
/// connection at debug level (they fail when clients go away) and stops it.
#[derive(Copy, Clone, Debug)]
pub struct HandlerSupervisor;

impl<H: Handler> Supervisor<HandlerActor<H>> for HandlerSupervisor {
    fn decide(&mut self, error: <HandlerFuture as Actor>::Error) -> SupervisorStrategy<Connection> {
        debug!("HTTP connection failed: {error}");
        SupervisorStrategy::Stop
    }

    fn decide_on_restart_error(&mut self, error: Infallible) -> SupervisorStrategy<Connection> {
        match error {}
    }

    fn second_restart_error(&mut self, error: Infallible) {
        match error {}
    }
}
