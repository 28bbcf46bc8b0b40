//! kiln-http: an HTTP/1.1 server and client for the [kiln] actor
//! framework, an actor per connection, strict about framing.
//!
//! # About
//!
//! A kiln-http server runs on kiln-rt's
//! [`net::Server`](kiln_rt::net::Server): every worker accepts connections
//! on a listener of its own, and every connection is a thread-local actor
//! on the worker that accepted it, in the Nginx way. It speaks HTTP/1.1 and
//! 1.0 with keep-alive, pipelining (the responses to the requests of one
//! read go out in one send), `Content-Length` and chunked bodies both ways,
//! streaming with backpressure, `Expect: 100-continue`, `HEAD`, and a
//! graceful shutdown. Messages are the [`http`] crate's types
//! ([`Request`](http::Request), [`Response`](http::Response),
//! [`HeaderMap`](http::HeaderMap), ...), so what you know of the Rust HTTP
//! ecosystem carries over; heads are parsed by `httparse`.
//!
//! The framing rules of RFC 9112 that matter against request smuggling are
//! errors, each with a test: `Content-Length` with `Transfer-Encoding`,
//! differing or malformed lengths, a `Transfer-Encoding` that does not end
//! in `chunked`, is repeated, comes in HTTP/1.0 or carries stray
//! whitespace, obsolete line folding, bad chunk sizes, a body cut short.
//! Every limit and timeout is on by default ([`server::ServerConfig`]) and
//! answered with its status (400, 408, 413, 414, 417, 431, 501, 505); at
//! its connection limit a worker stops accepting. A handler that panics
//! gets its request answered with 500.
//!
//! kiln-http uses only kiln-rt's public API, so it runs on both of
//! kiln-rt's I/O drivers: io_uring, and epoll where io_uring is blocked
//! (old kernels, seccomp profiles such as Docker's default). The runtime
//! picks one when it is built ([`IoDriver`](kiln_rt::io::IoDriver):
//! `Setup::with_io_driver`, or `KILN_IO_DRIVER=auto|uring|poll` without a
//! rebuild); a server, a client and their limits behave the same on both,
//! and kiln-http's tests run on both.
//!
//! # Getting started
//!
//! A handler is an `async fn` from a request (its body read whole) to
//! anything that becomes a response; a [`Router`] picks one by method and
//! path:
//!
//! ```no_run
//! use std::io;
//! use bytes::Bytes;
//! use http::Request;
//! use kiln::supervisor::SupervisorStrategy;
//! use kiln_http::server::{Server, ServerConfig};
//! use kiln_http::{PathParams, Router};
//! use kiln_rt::net::ServerError;
//! use kiln_rt::{ActorOptions, Runtime, RuntimeRef};
//!
//! async fn hello(request: Request<Bytes>) -> String {
//!     let name = request.extensions().get::<PathParams>().and_then(|p| p.get("name")).unwrap_or("world");
//!     format!("Hello, {name}!\n")
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let router = Router::builder().get("/hello/{name}", hello).build()?;
//!     let server = Server::new("127.0.0.1:7080".parse()?, router, ServerConfig::default())?;
//!
//!     let mut runtime = Runtime::setup().use_all_cores().build()?;
//!     runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
//!         // A server (with its own listener) on every worker.
//!         let restart = |_: ServerError| SupervisorStrategy::Restart(());
//!         let server_ref = rt.try_spawn_local(restart, server, (), ActorOptions::default())?;
//!         // Ctrl-C stops accepting and shuts the connections down gracefully.
//!         rt.receive_signals(server_ref.try_map());
//!         Ok(())
//!     })?;
//!     runtime.start()?;
//!     Ok(())
//! }
//! ```
//!
//! # Two ways to serve
//!
//! - **Handlers** ([`server::Handler`], given to
//!   [`Server::new`](server::Server::new)): `async fn(Request<Bytes>) ->
//!   impl IntoResponse`, whose bodies are read whole, up to
//!   [`Limits::max_body_size`] (413 past it); `async fn(Request<RequestBody>)
//!   -> impl IntoResponse` made a handler by [`server::streaming`], which
//!   reads the body as it arrives ([`server::RequestBody`]: pieces, or a
//!   `Stream`), with backpressure and no size limit; a [`Router`] of them;
//!   or an actor reached by RPC ([`server::rpc_handler`]) for work that
//!   belongs on another thread or state shared by all workers.
//! - **Connection actors** (given to
//!   [`Server::with_actor`](server::Server::with_actor)): an actor per
//!   connection that loops [`Connection::next_request`](server::Connection::next_request)
//!   / [`respond`](server::Connection::respond), with full control:
//!   request bodies read as they arrive ([`server::RequestBody`]), response
//!   bodies written as they are made ([`body::ResponseBody`],
//!   [`body::StreamBody`]), even the request body streamed back. A client
//!   that reads slowly slows the writer down; memory stays bounded.
//!
//! ```
//! # use std::convert::Infallible;
//! # use std::io;
//! use http::Response;
//! use kiln::actor;
//! use kiln_rt::access::ThreadLocal;
//! use kiln_http::server::Connection;
//!
//! /// Streams every request's body back.
//! async fn echo(_: actor::Context<Infallible, ThreadLocal>, conn: Connection) -> io::Result<()> {
//!     while let Some(request) = conn.next_request().await? {
//!         conn.respond(Response::new(request.into_body())).await?;
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # The client
//!
//! [`client::Client`] sends requests with bodies (whole, or streamed from a
//! `Stream` with [`request_stream`](client::Client::request_stream),
//! chunked), returns the response head as soon as it is read and its body
//! to read as it arrives, keeps connections for reuse in a small pool (one
//! client per worker makes a per-worker pool), and follows redirects only
//! when asked. Its framing is as strict as the server's.
//!
//! # Modules
//!
//! - [`server`] has the [`Server`](server::Server), the
//!   [`Connection`](server::Connection), handlers and the
//!   [`ServerConfig`](server::ServerConfig);
//! - [`router`] the [`Router`] and its [`PathParams`];
//! - [`body`] the response bodies;
//! - [`client`] the [`Client`](client::Client).
//!
//! # Fuzzing
//!
//! The property tests (`src/proto/tests.rs`) feed random splits and random
//! bytes to the parser and decoders on stable Rust with every `cargo test`.
//! For longer runs on nightly, `http/fuzz` is a cargo-fuzz project over the
//! `fuzzing` feature's entry points:
//!
//! ```text
//! cargo install cargo-fuzz
//! cd http && cargo +nightly fuzz run requests      # or: responses
//! ```
//!
//! The examples (`http/examples`, described in its README) run a
//! TechEmpower-style hello server, a router with JSON, a REST service on
//! SQLite and the client.
//!
//! [kiln]: kiln

pub mod body;
pub mod client;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod proto;
pub mod router;
pub mod server;

pub use proto::error::{ErrorKind, ParseError};
pub use proto::limits::Limits;
pub use router::{PathParams, Router};
