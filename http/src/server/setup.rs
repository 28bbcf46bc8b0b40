//! [`Server`]: kiln-http on kiln-rt's [`net::Server`], a listener per
//! worker and an actor per connection; the [`ServerSetup`] to spawn on
//! every worker; and the graceful shutdown that follows a server's stop.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use kiln::actor::{Actor, Context, NewActor};
use kiln::supervisor::{Supervisor, SupervisorStrategy};
use kiln_rt::access::ThreadLocal;
use kiln_rt::net::{self, ServerError, ServerMessage, TcpStream};
use kiln_rt::spawn::ActorOptions;
use log::debug;

use crate::server::config::ServerConfig;
use crate::server::connection::Connection;
use crate::server::handler::{Handler, HandlerActor, HandlerSupervisor};
use crate::server::panic::Guarded;
use crate::server::shutdown::{Shutdown, Watch};

/// An HTTP/1.1 server: create one with [`Server::new`] (a [`Handler`],
/// such as a [`Router`](crate::Router)) or [`Server::with_actor`] (a
/// connection actor of your own), then spawn the [`ServerSetup`] on every
/// worker.
///
/// # Design
///
/// kiln-rt's [`net::Server`] underneath: every worker accepts on a listener
/// of its own (`SO_REUSEPORT`), and each connection is a thread-local actor
/// on the worker that accepted it, with a [`Connection`] as its argument.
/// Handlers run on that worker too; work that must run elsewhere is an
/// actor reached by RPC ([`rpc_handler`](crate::server::rpc_handler)).
///
/// Connection actors are thread-local on purpose, not an omission: a
/// connection's socket, buffers and request bodies are shared by `Rc` and
/// `RefCell` within its worker, with no lock or atomic on the path of a
/// request, and the kernel already spreads connections over the workers'
/// listeners. A thread-safe connection actor would pay for a lock on every
/// read and write to be able to move between workers, which an I/O-bound
/// connection has no use for. State shared by all workers lives in a
/// thread-safe or synchronous actor that handlers reach by RPC (example
/// `http_3_todo`).
///
/// # Connection limit
///
/// Each worker's server has at most
/// [`max_connections`](ServerConfig::max_connections) connections open at
/// once; at the limit it stops accepting until one closes (kiln-rt's
/// [`net::Server`] limit, see its "Connection limit"): new connections wait
/// in the listener's backlog, and are served as soon as there is room. It
/// does not accept them to answer 503: under the flood the limit is for,
/// that costs an accept, a read of the request (which may never come
/// whole), a send and a close per connection refused while serving no one
/// better, and a client told 503 must retry where one in the backlog is
/// served once a connection closes. A load balancer in front sees a slow
/// connect rather than an error, and its connect timeout sends the
/// request elsewhere. The limit is per worker, not shared: no counter is
/// touched by two threads.
///
/// # Panics in handlers
///
/// A connection actor (a handler's, or yours) that panics has the request
/// it served answered with 500 and its connection closed; the panic then
/// goes to the connection's supervisor, which logs it (kiln's default
/// `decide_on_panic`).
///
/// # Stopping
///
/// A server stops accepting when it gets a [`ServerMessage`] (from
/// `Terminate` or an exit signal: `rt.receive_signals(server_ref.try_map())`
/// stops it on Ctrl-C). Then the graceful shutdown starts for all the
/// setup's connections on every worker: idle keep-alive connections close
/// at once, busy ones answer their current request (with
/// `Connection: close`) and close, and every wait of a connection ends
/// within [`shutdown_timeout`](ServerConfig::shutdown_timeout). A
/// connection actor still busy then (a handler that takes longer) is
/// dropped and its connection closed: the drain is bounded.
///
/// # Example
///
/// ```no_run
/// use std::io;
/// use bytes::Bytes;
/// use http::{Request, Response};
/// use kiln::supervisor::SupervisorStrategy;
/// use kiln_rt::net::ServerError;
/// use kiln_rt::{ActorOptions, Runtime, RuntimeRef};
/// use kiln_http::server::{Server, ServerConfig};
///
/// async fn hello(_: Request<Bytes>) -> Response<Bytes> {
///     Response::new(Bytes::from_static(b"Hello, World!\n"))
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let mut runtime = Runtime::setup().use_all_cores().build()?;
///     let server = Server::new("127.0.0.1:7080".parse()?, hello, ServerConfig::default())?;
///     runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
///         let restart = |_: ServerError| SupervisorStrategy::Restart(());
///         let server_ref = rt.try_spawn_local(restart, server, (), ActorOptions::default())?;
///         rt.receive_signals(server_ref.try_map());
///         Ok(())
///     })?;
///     runtime.start()?;
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct Server(Infallible);

impl Server {
    #[allow(
        clippy::new_ret_no_self,
        reason = "as kiln-rt's `net::Server`: `Server` names the constructors of a `ServerSetup`"
    )]
    /// Prepares a server on `address` that answers every request with
    /// `handler`. Request bodies are read whole first (up to
    /// [`max_body_size`](crate::Limits::max_body_size), 413 past it).
    ///
    /// Binds a socket to resolve and reserve the address: fails if it is in
    /// use or not ours to bind.
    pub fn new<H: Handler>(
        address: SocketAddr,
        handler: H,
        config: ServerConfig,
    ) -> io::Result<ServerSetup<HandlerSupervisor, HandlerActor<H>>> {
        Server::with_actor(
            address,
            HandlerSupervisor,
            HandlerActor::new(handler),
            config,
        )
    }

    /// Prepares a server on `address` that starts a connection actor with
    /// `new_actor` (its argument a [`Connection`]) and `supervisor` for
    /// every connection: full control over the exchange.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] for a zero timeout or
    /// limit in `config`.
    pub fn with_actor<S, NA>(
        address: SocketAddr,
        supervisor: S,
        new_actor: NA,
        config: ServerConfig,
    ) -> io::Result<ServerSetup<S, NA>>
    where
        NA: NewActor<Argument = Connection, RuntimeAccess = ThreadLocal>,
    {
        config.validate()?;
        let shutdown = Arc::new(Shutdown::default());
        let actor = ConnectionActor {
            new_actor,
            config,
            shutdown: shutdown.clone(),
        };
        let supervisor = ConnectionSupervisor(supervisor);
        let inner = net::Server::new(address, supervisor, actor, ActorOptions::default())?
            .with_max_connections(config.max_connections());
        Ok(ServerSetup {
            inner,
            shutdown,
            config,
        })
    }
}

/// The [`NewActor`] of an HTTP server, from [`Server::new`] or
/// [`Server::with_actor`]: spawn it once per worker (a thread-local actor,
/// in `run_on_workers`). Cloning it makes another server on the same port
/// and with the same shutdown.
pub struct ServerSetup<S, NA> {
    inner: net::ServerSetup<ConnectionSupervisor<S>, ConnectionActor<NA>, ThreadLocal>,
    shutdown: Arc<Shutdown>,
    config: ServerConfig,
}

impl<S, NA> ServerSetup<S, NA> {
    /// The address the server listens on (with the port resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr()
    }
}

impl<S: Clone, NA: Clone> Clone for ServerSetup<S, NA> {
    fn clone(&self) -> Self {
        ServerSetup {
            inner: self.inner.clone(),
            shutdown: self.shutdown.clone(),
            config: self.config,
        }
    }
}

impl<S, NA: NewActor> fmt::Debug for ServerSetup<S, NA> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSetup")
            .field("address", &self.local_addr())
            .field("actor", &NA::name())
            .field("config", &self.config)
            .finish()
    }
}

/// A server actor of kiln-http.
type ServerActor = Pin<Box<dyn Future<Output = Result<(), ServerError>>>>;

impl<S, NA> NewActor for ServerSetup<S, NA>
where
    S: Supervisor<NA> + Clone + 'static,
    NA: NewActor<Argument = Connection, RuntimeAccess = ThreadLocal> + Clone + 'static,
    NA::Error: fmt::Display,
    NA::Message: 'static,
{
    type Message = ServerMessage;
    type Argument = ();
    type Actor = ServerActor;
    type Error = io::Error;
    type RuntimeAccess = ThreadLocal;

    fn new(&mut self, ctx: Context<ServerMessage, ThreadLocal>, (): ()) -> io::Result<ServerActor> {
        let server = self.inner.new(ctx, ())?;
        let shutdown = self.shutdown.clone();
        let drain = self.config.shutdown_timeout();
        let address = self.local_addr();
        Ok(Box::pin(async move {
            let result = server.await;
            if result.is_ok() {
                debug!("HTTP server on {address} stopped: shutting its connections down");
                shutdown.start(drain);
            }
            result
        }))
    }

    fn name() -> &'static str {
        "kiln_http::Server"
    }
}

/// Makes the [`Connection`] of an accepted stream and starts the user's
/// connection actor with it.
pub struct ConnectionActor<NA> {
    new_actor: NA,
    config: ServerConfig,
    shutdown: Arc<Shutdown>,
}

impl<NA: Clone> Clone for ConnectionActor<NA> {
    fn clone(&self) -> Self {
        ConnectionActor {
            new_actor: self.new_actor.clone(),
            config: self.config,
            shutdown: self.shutdown.clone(),
        }
    }
}

impl<NA: NewActor> fmt::Debug for ConnectionActor<NA> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionActor")
            .field("actor", &NA::name())
            .finish_non_exhaustive()
    }
}

impl<NA> NewActor for ConnectionActor<NA>
where
    NA: NewActor<Argument = Connection, RuntimeAccess = ThreadLocal>,
{
    type Message = NA::Message;
    type Argument = (TcpStream, SocketAddr);
    type Actor = Guarded<NA::Actor>;
    type Error = NA::Error;
    type RuntimeAccess = ThreadLocal;

    fn new(
        &mut self,
        ctx: Context<NA::Message, ThreadLocal>,
        (stream, peer): (TcpStream, SocketAddr),
    ) -> Result<Guarded<NA::Actor>, NA::Error> {
        let rt = (**ctx.runtime_ref()).clone();
        let watch = Watch::new(self.shutdown.clone());
        let conn = Connection::with_watch(rt, stream, peer, self.config, watch);
        let wire = conn.wire();
        let actor = self.new_actor.new(ctx, conn)?;
        Ok(Guarded::new(actor, wire))
    }

    fn name() -> &'static str {
        NA::name()
    }
}

/// The user's supervisor of connection actors, made to supervise the
/// [`ConnectionActor`] that wraps them (a restarted connection actor gets a
/// new [`Connection`] for its stream).
#[derive(Clone, Debug)]
pub struct ConnectionSupervisor<S>(S);

impl<S, NA> Supervisor<ConnectionActor<NA>> for ConnectionSupervisor<S>
where
    S: Supervisor<NA>,
    NA: NewActor<Argument = Connection, RuntimeAccess = ThreadLocal>,
{
    fn decide(
        &mut self,
        error: <NA::Actor as Actor>::Error,
    ) -> SupervisorStrategy<(TcpStream, SocketAddr)> {
        if let SupervisorStrategy::Restart(_) = self.0.decide(error) {
            // The stream went with the connection: it can't be restarted.
            debug!(
                "connection actor '{}' failed: its connection is closed, so it is stopped rather than restarted",
                NA::name()
            );
        }
        SupervisorStrategy::Stop
    }

    fn decide_on_restart_error(
        &mut self,
        error: NA::Error,
    ) -> SupervisorStrategy<(TcpStream, SocketAddr)> {
        self.0.second_restart_error(error);
        SupervisorStrategy::Stop
    }

    fn second_restart_error(&mut self, error: NA::Error) {
        self.0.second_restart_error(error);
    }

    fn decide_on_panic(
        &mut self,
        panic: Box<dyn std::any::Any + Send + 'static>,
    ) -> SupervisorStrategy<(TcpStream, SocketAddr)> {
        let _ = self.0.decide_on_panic(panic);
        SupervisorStrategy::Stop
    }
}
