//! kiln-remote: actors on other machines, encrypted and authenticated by
//! default.
//!
//! # About
//!
//! A [`Node`] runs on a kiln runtime and joins a cluster of nodes. An actor
//! registered on one node ([`Node::register`]) can be looked up from any
//! node ([`Node::lookup`]); the [`RemoteRef`] found sends like a local
//! `ActorRef` (`try_send`, `send`, `rpc`), so code does not change when an
//! actor moves to another machine.
//!
//! - **Secure by default.** Links are mutual TLS 1.3 ([`TlsIdentity`]):
//!   both ends prove their node name with a certificate of a CA the cluster
//!   trusts. Plaintext needs [`Security::InsecurePlaintext`], which logs a
//!   warning at start.
//! - **One link per pair of nodes**, over TCP, reconnected with backoff;
//!   when two nodes dial each other at once, the link is chosen before
//!   either sends anything on it, so no message is lost to the choice.
//! - **Membership** by SWIM: nodes join through seeds, failed nodes are
//!   detected and declared dead within a configurable bound
//!   ([`Config::with_suspect_timeout`]), and actors can subscribe to
//!   members going up and down ([`Node::subscribe`]) or watch a remote
//!   actor ([`Node::watch`]).
//! - **Stated semantics**: at most once, order kept per sender and target,
//!   a bounded send queue per peer (`Full` with the message given back),
//!   visible errors for unreachable nodes (see [`RemoteRef`]).
//! - **Bad input** (oversized or malformed frames, wrong message types)
//!   closes only the link it came on, with a log line; never a panic. A
//!   peer that stops reading fills only its own send queue, and loses its
//!   link after [`Config::with_stall_timeout`].
//! - **On both I/O drivers.** kiln-remote uses only kiln-rt's public API
//!   (sockets with owned buffers, timers, actors), so a node runs on
//!   whichever driver its runtime picked: io_uring, or epoll where
//!   io_uring is blocked (`KILN_IO_DRIVER=auto|uring|poll`,
//!   `Setup::with_io_driver`). Its tests and examples run on both.
//!
//! # Getting started
//!
//! Two nodes in one process (normally they are on two machines), an actor
//! registered on the first, and a message and a request from the second.
//! Plaintext keeps the example short; see [`TlsIdentity`] for TLS.
//!
//! ```
//! use std::time::Duration;
//!
//! use kiln::actor::{self, actor_fn};
//! use kiln::actor_ref::rpc::RpcMessage;
//! use kiln::supervisor::NoSupervisor;
//! use kiln_remote::{Config, Message, Node, Security};
//! use kiln_rt::access::ThreadSafe;
//! use kiln_rt::spawn::{ActorOptions, Spawn};
//! use kiln_rt::timer::{Deadline, Timer};
//! use kiln_rt::Runtime;
//! use serde::{Deserialize, Serialize};
//!
//! /// A request: add `n` to the counter.
//! #[derive(Serialize, Deserialize)]
//! struct Add(u64);
//!
//! impl Message for Add {
//!     const NAME: &'static str = "example.Add";
//! }
//!
//! /// The counter's total.
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Total(u64);
//!
//! impl Message for Total {
//!     const NAME: &'static str = "example.Total";
//! }
//!
//! /// Answers each `Add` with the new total.
//! async fn counter(mut ctx: actor::Context<RpcMessage<Add, Total>, ThreadSafe>) {
//!     let mut total = 0;
//!     while let Ok(RpcMessage { request: Add(n), response }) = ctx.receive_next().await {
//!         total += n;
//!         let _ = response.respond(Total(total));
//!     }
//! }
//!
//! /// Waits for the counter to be known, then calls it.
//! async fn client(ctx: actor::Context<(), ThreadSafe>, a: Node, b: Node) {
//!     let rt = ctx.runtime_ref().clone();
//!     let counter = loop {
//!         match b.lookup::<Add>("counter") {
//!             Ok(counter) => break counter,
//!             Err(_) => Timer::after(rt.clone(), Duration::from_millis(10)).await,
//!         };
//!     };
//!     assert_eq!(counter.node(), "node-a");
//!     let total = Deadline::after(rt.clone(), Duration::from_secs(5), counter.rpc::<Total>(Add(2))).await;
//!     assert_eq!(total, Ok(Total(2)));
//!     a.stop();
//!     b.stop();
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut runtime = Runtime::new()?;
//! let address = "127.0.0.1:0".parse()?;
//! let a = Node::start(&mut runtime, Config::new("demo", "node-a", address, Security::InsecurePlaintext))?;
//! let b = Node::start(
//!     &mut runtime,
//!     Config::new("demo", "node-b", address, Security::InsecurePlaintext).with_seeds([a.address()]),
//! )?;
//! let counter_ref = runtime.spawn(NoSupervisor, actor_fn(counter), (), ActorOptions::default());
//! a.register_rpc::<Add, Total, _>("counter", counter_ref)?;
//! runtime.spawn(NoSupervisor, actor_fn(client), (a, b), ActorOptions::default());
//! runtime.start()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Concepts
//!
//! - [`Message`]: what crosses nodes: a serde type with a stable name.
//! - [`Node`]: start, register, look up, subscribe, watch, stop.
//! - [`RemoteRef`]: sending, and what is guaranteed.
//! - [`Config`]: names, addresses, seeds, limits and SWIM timings.
//! - [`Security`], [`TlsIdentity`]: who is trusted (see [`tls`]).
//! - [`MemberEvent`], [`WatchEvent`]: what subscribers and watchers are told.
//! - [`membership`]: SWIM through foca, usable on its own for simulations.
//!
//! # Dependencies, and why
//!
//! kiln-remote writes only the glue; every protocol piece comes from a
//! well-kept implementation:
//! - **rustls** (with the aws-lc-rs provider) for TLS 1.3: memory-safe, audited,
//!   and sans-I/O, so it runs over kiln's own sockets (see [`tls`]).
//! - **foca** for membership: SWIM with suspicion and gossip, without a
//!   runtime of its own (see [`membership`]).
//! - **serde** + **postcard** for the wire: compact, stable, and decoding
//!   borrows from the input (see the `frame` module).
//! - **rcgen** (tests and examples only) makes certificates.
//!
//! # Wire format
//!
//! Each frame is a 4-byte big-endian length and a postcard-encoded frame;
//! a length over [`Config::with_max_frame_size`] closes the link before
//! anything is buffered. The first frame each way is a `Hello` with the
//! protocol version, the cluster and the node name (which must match the
//! peer's certificate). When two nodes dial each other at once, the one
//! with the smaller name decides which link stays and says so with an
//! `Accept`; the other sends nothing more on a link before it, so nothing
//! sent is lost to the choice.

mod config;
mod error;
mod event;
mod frame;
mod link;
mod lock;
pub mod membership;
mod message;
mod msg;
mod node;
mod registry;
mod remote_ref;
mod shared;
#[cfg(feature = "test")]
pub mod test;
pub mod tls;

pub use config::Config;
pub use error::{LookupError, RegisterError, RpcError, SendError, StartError};
pub use event::{MemberEvent, WatchEvent};
pub use frame::RpcFailure;
pub use message::Message;
pub use node::{Host, Node};
pub use remote_ref::RemoteRef;
#[doc(no_inline)]
pub use tls::{Security, TlsError, TlsIdentity};
