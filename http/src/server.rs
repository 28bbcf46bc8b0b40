//! The HTTP/1.1 server: [`Server`] on kiln-rt's `net::Server`, an actor
//! per [`Connection`], and two ways to write a service:
//!
//! 1. a [`Handler`] (an `async fn(Request<Bytes>) -> impl IntoResponse`,
//!    an `async fn(Request<RequestBody>) -> impl IntoResponse` through
//!    [`streaming`] to read bodies as they arrive, a
//!    [`Router`](crate::Router) of them, or an actor reached by RPC
//!    through [`rpc_handler`]) given to [`Server::new`];
//! 2. a connection actor of your own that loops
//!    [`next_request`](Connection::next_request) /
//!    [`respond`](Connection::respond), given to [`Server::with_actor`]:
//!    full control, streaming request and response bodies.
//!
//! Limits and timeouts are in [`ServerConfig`].

mod body;
mod config;
mod connection;
mod handler;
mod panic;
mod setup;
mod shutdown;
pub(crate) mod wire;

pub use body::{BodyStream, RequestBody};
pub use config::ServerConfig;
pub use connection::Connection;
pub use handler::{
    Handler, HandlerActor, HandlerSupervisor, IntoResponse, RpcHandler, Streaming, rpc_handler,
    streaming, worker_runtime,
};
pub use panic::Guarded;
pub use setup::{ConnectionActor, ConnectionSupervisor, Server, ServerSetup};
