//! [`Server`]: a TCP or Unix-domain socket server that runs every
//! connection as an actor.
//!
//! See [`Server`] for the design, stopping and errors. The server is
//! written once, generic over the kind of listening socket
//! ([`Listener`], in [`listener`]: TCP there, Unix-domain sockets in
//! [`unix_socket`]); [`ServerError`] is in [`error`].

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use kiln::actor::{Context, NewActor};
use kiln::messages::Terminate;
use kiln::supervisor::Supervisor;
use log::{debug, warn};

use crate::access::{Access, ThreadLocal, ThreadSafe};
use crate::net::limit::{AtLimit, ConnectionLimit};
use crate::net::tcp::{TcpListener, TcpStream};
use crate::net::timeout::{Direction, Timeouts};
use crate::net::unix::{self, UnixListener, UnixStream};
use crate::runtime::io::Io;
use crate::runtime::lock::lock;
use crate::signal::Signal;
use crate::spawn::ActorOptions;
use crate::spawn::Spawn;
use crate::timer::Timer;

mod error;
mod listener;
mod unix_socket;

pub use error::ServerError;
pub use listener::Listener;
use listener::{Bound, Shown, TcpReservation};
use unix_socket::UnixSocket;

/// The first wait of a restarted server; doubled after each failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The longest wait of a restarted server.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// The default connection limit of one server actor, see [`Server`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

/// A TCP or Unix-domain socket server that spawns an actor per connection:
/// create one with [`Server::new`] (TCP) or [`Server::new_unix`] (a Unix
/// socket path; [`Server::new_unix_addr`] for an abstract name) and spawn
/// the [`ServerSetup`] it returns. Everything below holds for both, except
/// where it says TCP or Unix.
///
/// # Design
///
/// In the Nginx way, every worker runs a server actor with a listener of its
/// own, and the kernel spreads the connections over them: no lock, no
/// hand-off between threads. Each accepted connection becomes a new actor
/// (thread-local next to its server, or thread-safe for a thread-safe
/// server) that gets the stream and the peer's address as its argument:
/// `(TcpStream, SocketAddr)`, or `(UnixStream, unix::SocketAddr)` (usually
/// unnamed: clients rarely bind).
///
/// TCP: the listeners are bound to one port with `SO_REUSEPORT`.
/// [`Server::new`] binds once to resolve the address (port 0 becomes a free
/// port, the same for every worker) and keeps that socket, bound but not
/// listening, to reserve the port for as long as the setup lives: no other
/// process can take the port while servers restart.
///
/// Unix: `AF_UNIX` has no `SO_REUSEPORT`, so [`Server::new_unix`] binds and
/// listens once, and each server actor accepts on a duplicate of that
/// socket's descriptor, registered with its own worker's ring (or poll): one
/// listen queue, from which the kernel hands each connection to one waiting
/// server. The socket listens for as long as the setup (or a clone, or a
/// server actor) lives. Binding fails with [`io::ErrorKind::AddrInUse`] if
/// the path exists, whatever it is: the server never removes a file it did
/// not make, and the error says to remove a stale socket file. When the
/// setup, its clones and its servers are all gone, the server removes the
/// socket file it made (only if the path still names that socket file, not
/// a file put there since). A process killed with `SIGKILL` leaves it.
/// Abstract names leave no file.
///
/// # Stopping
///
/// A server stops when it receives a [`ServerMessage`] (from
/// [`Terminate`] or an exit [`Signal`]), and when every reference to it is
/// gone. The connection actors it started are not stopped: they finish on
/// their own, and the runtime waits for them. A TCP server's port refuses
/// connections once every server stopped (the reserving socket does not
/// listen); a Unix server's socket is closed, and its file removed, once
/// every server stopped and the setup is dropped.
///
/// # Timeouts
///
/// [`with_read_timeout`](ServerSetup::with_read_timeout) and
/// [`with_write_timeout`](ServerSetup::with_write_timeout) set the
/// timeouts of every connection's stream before its actor starts (see
/// [`TcpStream::set_read_timeout`]): every receive and send of every
/// connection is bounded, so a client that stops sending, or sends and
/// never reads, is disconnected (its operation fails with
/// [`io::ErrorKind::TimedOut`] and the actor ends) instead of holding its
/// connection, and the runtime's shutdown, for ever. There are none by
/// default: a server that faces the internet should set both.
///
/// # Connection limit
///
/// A server actor has at most [`DEFAULT_MAX_CONNECTIONS`] (16,384)
/// connections open at once, or what
/// [`with_max_connections`](ServerSetup::with_max_connections) sets. The
/// limit is per server actor: a thread-local server spawned on each of *n*
/// workers admits up to *n* times the limit. A connection counts from its
/// accept until its [`TcpStream`] is dropped.
///
/// At the limit the server **stops accepting** until a connection closes:
/// new connections wait in the listener's backlog (1,024, capped by the
/// kernel's `net.core.somaxconn`), and beyond that the kernel drops their
/// handshakes, which clients retry (a Unix client's connect waits, or fails
/// with `EAGAIN` if it is non-blocking). It does not accept them to close them:
/// under a flood that would cost an accept, a close and a log line per
/// connection while refusing everyone equally, and a client would see a
/// reset where a short wait in the backlog gets it served once a
/// connection closes. Reaching the limit logs a warning (at most once a
/// minute per server actor; debug lines in between). With
/// `SO_REUSEPORT` the kernel keeps handing a server at its limit its share
/// of new connections, which wait in its backlog although another worker
/// may have room: size the limit for a worker, not for the process. The
/// Unix servers share one backlog, so a server at its limit leaves new
/// connections to the others.
///
/// # Errors
///
/// The constructors fail if the address can't be bound (in use, no
/// permission, a Unix path whose directory does not exist), with the
/// kernel's [`io::ErrorKind`] and a message naming the address. Spawning a
/// TCP server binds its listener, a Unix server duplicates the socket, so
/// the spawn fails (use `try_spawn_local` / `try_spawn`) if that fails, or with
/// [`io::ErrorKind::InvalidInput`] for a zero timeout or connection limit;
/// once spawned, the server accepts connections right away. An accept error
/// (e.g. too many open files) ends the server actor with a [`ServerError`]
/// and goes to its supervisor. A restarted server keeps its
/// listener (no connection is refused in between) and waits before
/// accepting again, twice as long after each failure in a row (10 ms up to
/// 1 s), so a lasting error costs a few wake-ups a second, not a spinning
/// CPU; once descriptors are free again the server serves as before. A
/// connection actor that fails to start is logged and its connection closed;
/// the server carries on.
///
/// # Example
///
/// ```no_run
/// use std::convert::Infallible;
/// use std::io;
/// use std::net::SocketAddr;
/// use std::time::Duration;
/// use kiln::actor::{self, actor_fn};
/// use kiln::supervisor::SupervisorStrategy;
/// use kiln_rt::net::{Server, ServerError, TcpStream};
/// use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};
///
/// async fn echo(_: actor::Context<Infallible, ThreadLocal>, stream: TcpStream, _: SocketAddr) -> io::Result<()> {
///     let mut buf = Vec::with_capacity(4096);
///     loop {
///         buf.clear();
///         buf = stream.recv(buf).await?;
///         if buf.is_empty() {
///             return Ok(());
///         }
///         buf = stream.send_all(buf).await?;
///     }
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let mut runtime = Runtime::setup().use_all_cores().build()?;
///     let stop_connection = |_: io::Error| SupervisorStrategy::Stop;
///     let server = Server::new("127.0.0.1:7000".parse()?, stop_connection, actor_fn(echo), ActorOptions::default())?
///         // A client that stops sending, or never reads, is disconnected.
///         .with_read_timeout(Duration::from_secs(60))
///         .with_write_timeout(Duration::from_secs(60));
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
///
/// A Unix server takes a path instead of an address; the rest is the same
/// (see `rt/examples/15_unix_echo_server.rs`):
///
/// ```no_run
/// # use std::convert::Infallible;
/// # use std::io;
/// # use kiln::actor::{self, actor_fn};
/// # use kiln::supervisor::SupervisorStrategy;
/// use kiln_rt::net::unix::SocketAddr;
/// use kiln_rt::net::{Server, ServerError, UnixListener, UnixStream};
/// # use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};
///
/// async fn hello(_: actor::Context<Infallible, ThreadLocal>, stream: UnixStream, _: SocketAddr) -> io::Result<()> {
///     stream.send_all("hello\n").await?;
///     Ok(())
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut runtime = Runtime::setup().build()?;
/// let stop_connection = |_: io::Error| SupervisorStrategy::Stop;
/// let server = Server::new_unix("/tmp/hello.sock", stop_connection, actor_fn(hello), ActorOptions::default())?;
/// runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
///     let restart = |_: ServerError<UnixListener>| SupervisorStrategy::Restart(());
///     let server_ref = rt.try_spawn_local(restart, server, (), ActorOptions::default())?;
///     rt.receive_signals(server_ref.try_map());
///     Ok(())
/// })?;
/// # runtime.start()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Server(Infallible);

impl Server {
    #[allow(
        clippy::new_ret_no_self,
        reason = "Heph's name: `Server` only names the constructor of a `ServerSetup`"
    )]
    /// Prepares a server on `address` that starts an actor with `new_actor`
    /// and `supervisor` for each connection. The connection actors' kind
    /// (thread-local or thread-safe) is the server's.
    ///
    /// Binds a socket to resolve and reserve the address: fails if the
    /// address is in use by another program or not ours to bind.
    pub fn new<S, NA>(
        address: SocketAddr,
        supervisor: S,
        new_actor: NA,
        options: ActorOptions,
    ) -> io::Result<ServerSetup<S, NA, NA::RuntimeAccess>>
    where
        NA: NewActor<Argument = (TcpStream, SocketAddr)>,
    {
        let bound = TcpReservation::bind(address)?;
        Ok(ServerSetup::new(bound, supervisor, new_actor, options))
    }

    #[allow(
        clippy::new_ret_no_self,
        reason = "as `Server::new`: `Server` only names the constructors of a `ServerSetup`"
    )]
    /// Prepares a server on the Unix socket `path`, as [`Server::new`] does
    /// on a TCP address: binds and listens on `path` now (see [`Server`]
    /// for how the workers share it and who removes the socket file).
    ///
    /// Fails with [`io::ErrorKind::AddrInUse`] if `path` exists, with
    /// [`io::ErrorKind::NotFound`] if its directory does not; errors name
    /// the path.
    pub fn new_unix<S, NA, P>(
        path: P,
        supervisor: S,
        new_actor: NA,
        options: ActorOptions,
    ) -> io::Result<ServerSetup<S, NA, NA::RuntimeAccess, UnixListener>>
    where
        NA: NewActor<Argument = (UnixStream, unix::SocketAddr)>,
        P: AsRef<Path>,
    {
        let address = unix::from_path(path.as_ref(), "bind a server to")?;
        Server::new_unix_addr(&address, supervisor, new_actor, options)
    }

    /// Like [`new_unix`](Server::new_unix), on any Unix socket address,
    /// e.g. an abstract name (Linux; made with
    /// [`SocketAddrExt::from_abstract_name`](std::os::linux::net::SocketAddrExt::from_abstract_name)),
    /// which leaves no file behind.
    pub fn new_unix_addr<S, NA>(
        address: &unix::SocketAddr,
        supervisor: S,
        new_actor: NA,
        options: ActorOptions,
    ) -> io::Result<ServerSetup<S, NA, NA::RuntimeAccess, UnixListener>>
    where
        NA: NewActor<Argument = (UnixStream, unix::SocketAddr)>,
    {
        let bound = UnixSocket::bind(address)?;
        Ok(ServerSetup::new(bound, supervisor, new_actor, options))
    }
}

/// What one server actor keeps across its restarts.
#[derive(Debug)]
struct State<L> {
    /// The listener, handed back by a failed server for its successor.
    listener: Option<L>,
    /// Failures since the last accepted connection.
    failures: u32,
}

impl<L> Default for State<L> {
    fn default() -> State<L> {
        State {
            listener: None,
            failures: 0,
        }
    }
}

impl<L> State<L> {
    fn backoff(&self) -> Duration {
        match self.failures {
            0 => Duration::ZERO,
            n => FIRST_BACKOFF
                .saturating_mul(1 << (n - 1).min(16))
                .min(MAX_BACKOFF),
        }
    }
}

/// The [`NewActor`] of a server, from [`Server::new`] or
/// [`Server::new_unix`]. Spawn it once per worker (a thread-local server,
/// in `run_on_workers`) or once as a thread-safe actor. Cloning it makes
/// another server on the same port or socket.
///
/// `L` is the kind of listening socket: [`TcpListener`] (the default) or
/// [`UnixListener`].
pub struct ServerSetup<S, NA, RT, L: Listener = TcpListener> {
    /// Shared by the clones: the reserved port or the listening Unix
    /// socket.
    bound: Arc<Bound<L>>,
    supervisor: S,
    new_actor: NA,
    options: ActorOptions,
    /// Set on every connection's stream.
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// Per server actor, like `state`.
    limit: ConnectionLimit,
    /// Per server actor: not shared by clones.
    state: Arc<Mutex<State<L>>>,
    _access: PhantomData<fn() -> RT>,
}

impl<S, NA, RT, L: Listener> ServerSetup<S, NA, RT, L> {
    /// A setup with the default settings on `bound`.
    fn new(bound: Bound<L>, supervisor: S, new_actor: NA, options: ActorOptions) -> Self {
        ServerSetup {
            bound: Arc::new(bound),
            supervisor,
            new_actor,
            options,
            read_timeout: None,
            write_timeout: None,
            limit: ConnectionLimit::new(DEFAULT_MAX_CONNECTIONS),
            state: Arc::new(Mutex::new(State::default())),
            _access: PhantomData,
        }
    }

    /// The address the servers listen on (for TCP with the port resolved).
    pub fn local_addr(&self) -> L::Address {
        self.bound.address.clone()
    }

    /// Sets the read timeout of every connection's stream (see
    /// [`TcpStream::set_read_timeout`], the same on [`UnixStream`]): a connection whose client sends
    /// nothing for `timeout` while its actor waits to receive is
    /// disconnected. None by default. A zero timeout makes the spawn fail.
    #[must_use]
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// Sets the write timeout of every connection's stream (see
    /// [`TcpStream::set_write_timeout`]): a connection whose client does
    /// not read what its actor sends for `timeout` is disconnected. None
    /// by default. A zero timeout makes the spawn fail.
    #[must_use]
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = Some(timeout);
        self
    }

    /// Sets how many connections one server actor may have open at once
    /// (default [`DEFAULT_MAX_CONNECTIONS`]); at the limit it stops
    /// accepting until one closes, see [`Server`]. Zero makes the spawn
    /// fail.
    #[must_use]
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.limit = ConnectionLimit::new(max);
        self
    }

    /// The read timeout of the connections, if any.
    pub fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout
    }

    /// The write timeout of the connections, if any.
    pub fn write_timeout(&self) -> Option<Duration> {
        self.write_timeout
    }

    /// How many connections one server actor may have open at once.
    pub fn max_connections(&self) -> usize {
        self.limit.max()
    }

    /// The timeouts to set on every connection; fails for a zero timeout
    /// or connection limit.
    fn checked_settings(&self) -> io::Result<Timeouts> {
        let address = Shown::<L>(&self.bound.address);
        let invalid =
            |err: io::Error| io::Error::new(err.kind(), format!("server on {address}: {err}"));
        let mut timeouts = Timeouts::NONE;
        timeouts
            .set(Direction::Read, self.read_timeout)
            .map_err(invalid)?;
        timeouts
            .set(Direction::Write, self.write_timeout)
            .map_err(invalid)?;
        if self.limit.max() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("server on {address}: a connection limit of zero would accept nothing"),
            ));
        }
        Ok(timeouts)
    }
}

impl<S: Clone, NA: Clone, RT, L: Listener> Clone for ServerSetup<S, NA, RT, L> {
    fn clone(&self) -> Self {
        ServerSetup {
            bound: self.bound.clone(),
            supervisor: self.supervisor.clone(),
            new_actor: self.new_actor.clone(),
            options: self.options,
            read_timeout: self.read_timeout,
            write_timeout: self.write_timeout,
            limit: ConnectionLimit::new(self.limit.max()),
            state: Arc::new(Mutex::new(State::default())),
            _access: PhantomData,
        }
    }
}

impl<S, NA, RT, L: Listener> fmt::Debug for ServerSetup<S, NA, RT, L>
where
    NA: NewActor,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSetup")
            .field("address", &self.bound.address)
            .field("actor", &NA::name())
            .field("read_timeout", &self.read_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("connections", &self.limit)
            .finish()
    }
}

/// A thread-local server actor.
type LocalServer<L> = Pin<Box<dyn Future<Output = Result<(), ServerError<L>>>>>;
/// A thread-safe server actor.
type SharedServer<L> = Pin<Box<dyn Future<Output = Result<(), ServerError<L>>> + Send>>;

impl<S, NA, L> NewActor for ServerSetup<S, NA, ThreadLocal, L>
where
    L: Listener,
    S: Supervisor<NA> + Clone + 'static,
    NA: NewActor<Argument = (L::Stream, L::Address), RuntimeAccess = ThreadLocal> + Clone + 'static,
    NA::Error: fmt::Display,
    NA::Message: 'static,
{
    type Message = ServerMessage;
    type Argument = ();
    type Actor = LocalServer<L>;
    type Error = io::Error;
    type RuntimeAccess = ThreadLocal;

    fn new(
        &mut self,
        ctx: Context<ServerMessage, ThreadLocal>,
        (): (),
    ) -> io::Result<LocalServer<L>> {
        Ok(Box::pin(self.server(ctx)?))
    }

    fn name() -> &'static str {
        "kiln_rt::net::Server"
    }
}

impl<S, NA, L> NewActor for ServerSetup<S, NA, ThreadSafe, L>
where
    L: Listener,
    S: Supervisor<NA> + Clone + Send + Sync + 'static,
    NA: NewActor<Argument = (L::Stream, L::Address), RuntimeAccess = ThreadSafe>
        + Clone
        + Send
        + Sync
        + 'static,
    NA::Actor: Send + 'static,
    NA::Error: fmt::Display + Send,
    NA::Message: Send + 'static,
{
    type Message = ServerMessage;
    type Argument = ();
    type Actor = SharedServer<L>;
    type Error = io::Error;
    type RuntimeAccess = ThreadSafe;

    fn new(
        &mut self,
        ctx: Context<ServerMessage, ThreadSafe>,
        (): (),
    ) -> io::Result<SharedServer<L>> {
        Ok(Box::pin(self.server(ctx)?))
    }

    fn name() -> &'static str {
        "kiln_rt::net::Server"
    }
}

impl<S: Clone, NA: Clone, RT, L: Listener> ServerSetup<S, NA, RT, L> {
    /// A copy for one run of the server actor that shares this setup's state
    /// (unlike `clone`).
    fn share_state(&self) -> ServerSetup<S, NA, RT, L> {
        ServerSetup {
            state: self.state.clone(),
            limit: self.limit.clone(),
            ..self.clone()
        }
    }

    /// The future of one run of the server actor with context `ctx`, which
    /// spawns the connection actors through its runtime access (thread-local
    /// ones on its worker); fails if the settings are wrong or no listener
    /// can be made.
    fn server(
        &mut self,
        ctx: Context<ServerMessage, RT>,
    ) -> io::Result<impl Future<Output = Result<(), ServerError<L>>> + use<S, NA, RT, L>>
    where
        RT: Access + Clone + Spawn<S, NA, RT>,
        S: Supervisor<NA>,
        NA: NewActor<Argument = (L::Stream, L::Address), RuntimeAccess = RT>,
        NA::Error: fmt::Display,
    {
        let timeouts = self.checked_settings()?;
        let listener = ListenerGuard::take(self, &ctx.runtime_ref().io())?;
        let spawn = |rt: &mut RT, supervisor, new_actor, arg, options| {
            rt.try_spawn(supervisor, new_actor, arg, options).map(drop)
        };
        Ok(serve(ctx, self.share_state(), timeouts, listener, spawn))
    }
}

/// What woke the server.
enum Event<L: Listener> {
    Stop,
    Accepted(io::Result<(L::Stream, L::Address)>),
}

/// The server actor: accepts connections and starts an actor for each,
/// until told to stop.
async fn serve<S, NA, RT, L, F>(
    mut ctx: Context<ServerMessage, RT>,
    setup: ServerSetup<S, NA, RT, L>,
    timeouts: Timeouts,
    listener: ListenerGuard<L>,
    mut spawn: F,
) -> Result<(), ServerError<L>>
where
    RT: Access + Clone,
    S: Clone,
    NA: NewActor + Clone,
    NA::Error: fmt::Display,
    L: Listener,
    F: FnMut(&mut RT, S, NA, (L::Stream, L::Address), ActorOptions) -> Result<(), NA::Error>,
{
    let address = Shown::<L>(&setup.bound.address);
    let backoff = lock(&setup.state).backoff();
    if !backoff.is_zero() {
        debug!("server on {address}: waiting {backoff:?} after a failure");
        let mut timer = pin!(Timer::after(ctx.runtime_ref().clone(), backoff));
        let stop = poll_fn(|cx| {
            if pin!(ctx.receive_next()).poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            timer.as_mut().poll(cx).map(|_| false)
        })
        .await;
        if stop {
            return Ok(());
        }
    }

    debug!("server listening on {address}");
    // Created now, queued in the kernel only once polled: never while the
    // server is at its connection limit.
    let mut accept = pin!(listener.accept());
    let mut at_limit = AtLimit::default();
    loop {
        let event = poll_fn(|cx| {
            // Messages first: a stop is not delayed by a stream of
            // connections.
            if pin!(ctx.receive_next()).poll(cx).is_ready() {
                return Poll::Ready(Event::Stop);
            }
            if setup.limit.poll_room(cx).is_pending() {
                at_limit.enter(&address, setup.limit.max());
                return Poll::Pending;
            }
            at_limit.leave();
            accept.as_mut().poll(cx).map(Event::<L>::Accepted)
        })
        .await;
        match event {
            Event::Stop => {
                debug!("server on {address} stopping");
                return Ok(());
            }
            Event::Accepted(Ok((mut stream, peer))) => {
                accept.set(listener.accept());
                lock(&setup.state).failures = 0;
                L::accepted(&mut stream, timeouts, setup.limit.take());
                // A copy (a Unix address is a plain array) for the warning.
                let from = peer.clone();
                let arg = (stream, peer);
                let supervisor = setup.supervisor.clone();
                let new_actor = setup.new_actor.clone();
                if let Err(err) = spawn(ctx.runtime(), supervisor, new_actor, arg, setup.options) {
                    warn!(
                        "server on {address}: can't start {} for the connection from {}: {err}",
                        NA::name(),
                        Shown::<L>(&from),
                    );
                }
            }
            Event::Accepted(Err(err)) => {
                lock(&setup.state).failures += 1;
                return Err(ServerError::new(address.0.clone(), err));
            }
        }
    }
}

/// The server's listener; gives it back to the state when the server
/// actor ends, for a restarted server to use.
struct ListenerGuard<L> {
    listener: Option<L>,
    state: Arc<Mutex<State<L>>>,
}

impl<L: Listener> ListenerGuard<L> {
    /// Takes the listener a failed server left, or makes a new one.
    fn take<S, NA, RT>(setup: &ServerSetup<S, NA, RT, L>, io: &Io) -> io::Result<ListenerGuard<L>> {
        let left = lock(&setup.state).listener.take();
        let listener = match left {
            Some(listener) => listener,
            None => L::listen(&setup.bound, io)?,
        };
        Ok(ListenerGuard {
            listener: Some(listener),
            state: setup.state.clone(),
        })
    }
}

impl<L> Deref for ListenerGuard<L> {
    type Target = L;

    fn deref(&self) -> &L {
        self.listener.as_ref().expect("listener taken")
    }
}

impl<L> Drop for ListenerGuard<L> {
    fn drop(&mut self) {
        lock(&self.state).listener = self.listener.take();
    }
}

/// The message a server receives: stop accepting connections. Made from
/// [`Terminate`] and from exit signals, so that
/// `rt.receive_signals(server_ref.try_map())` stops it on Ctrl-C.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ServerMessage {
    _private: (),
}

impl From<Terminate> for ServerMessage {
    fn from(_: Terminate) -> ServerMessage {
        ServerMessage { _private: () }
    }
}

impl TryFrom<Signal> for ServerMessage {
    type Error = Signal;

    /// Exit signals (interrupt, terminate, quit) stop the server; others
    /// are given back.
    fn try_from(signal: Signal) -> Result<ServerMessage, Signal> {
        if signal.should_exit() {
            Ok(ServerMessage { _private: () })
        } else {
            Err(signal)
        }
    }
}
