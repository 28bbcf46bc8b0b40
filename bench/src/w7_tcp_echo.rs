//! W7: a TCP echo server, an actor (or task) per connection, over loopback;
//! requests per second, and the server's CPU time per request.
//!
//! The server runs in a child process (this binary re-run with
//! `--child W7-server <system>`) on one worker thread. It prints its port on
//! standard output and serves until its standard input closes. The client
//! runs in the benchmark's process, on a tokio `current_thread` runtime: it
//! opens `C` connections, each a task that sends an `S`-byte message, reads
//! exactly `S` bytes back and checks every one of them (a wrong byte fails
//! the run), in a loop. All connections run from the start; after a warm-up
//! (a tenth of the measured span, at least 100 ms), the requests completed in
//! the measured span over its length make `requests_per_sec`, and the
//! child's CPU time in that span (user and system, of all its threads, from
//! `/proc/<pid>/stat`) over those requests makes
//! `server_cpu_us_per_request`. Then every connection finishes its request
//! and closes; a server that has not answered them all 10 s later fails
//! the run. With one core for the client and one for the server, the
//! client may set the pace, and then the server's cost per request still
//! tells the systems apart. Every run starts a fresh server. Messages of 64 bytes and 1 KiB, over 16 and 256 connections:
//! `W7-64B-16c`, `W7-64B-256c`, `W7-1KiB-16c`, `W7-1KiB-256c`.
//!
//! - **kiln**: a one-worker runtime (`num_threads(1)`) running
//!   `net::Server`, which starts a thread-local actor per connection; the
//!   actor receives into a `Vec` of 4 KiB capacity (`recv`) and sends what
//!   came (`send_all`), as in the runtime's example 8 but without the idle
//!   deadline.
//! - **tokio**: a `current_thread` runtime (all drivers enabled, as
//!   `#[tokio::main(flavor = "current_thread")]` builds it), a
//!   `TcpListener` and a task per connection (`tokio::spawn`) that `read`s
//!   into a 4 KiB buffer and `write_all`s what came.
//! - **actix**: the `System`'s thread, a tokio `TcpListener` in
//!   `System::block_on`, and an `Actor` per connection in actix's own way:
//!   the read half as a stream of chunks (`FramedRead` with `BytesCodec` and
//!   4 KiB of capacity, added with `add_stream`) handled by
//!   `StreamHandler`, each chunk written back through an `actix::io::Writer`
//!   on the write half.
//! - **kameo**: a `current_thread` runtime, the `TcpListener` in
//!   `block_on`, and an `Actor` per connection (bounded mailbox of
//!   [`CAPACITY`]) that splits the stream in `on_start`, keeps the write half
//!   and attaches the read half with `attach_stream` (the same `FramedRead`
//!   as actix's); its `Message<StreamMessage<..>>` handler `write_all`s each
//!   chunk and stops at `Finished`. kameo has no socket support of its own,
//!   and `attach_stream` (a tokio task that `tell`s the actor each item) is
//!   what its docs offer for feeding an actor from a stream, like actix's
//!   `add_stream`; a read loop in `on_start` would keep the actor from ever
//!   starting, and one in a handler would block its mailbox.
//! - **ractor**: the same runtime and listener, and an `Actor` per
//!   connection (`Actor::spawn`, unsupervised) whose state holds the stream
//!   and a 4 KiB buffer; `pre_start` sends the actor a message to itself and
//!   each such message `read`s once, `write_all`s what came and sends the
//!   next. That is ractor's documented way to start work from `pre_start`
//!   (its crate docs' ping-pong) and how `ractor_cluster`'s own frame reader
//!   reads a socket; between two echoes, stop signals and other messages
//!   get their turn.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::{Actor as _, ActorContext as _, AsyncContext as _};
use kameo::actor::Spawn as _;
use kameo::message::StreamMessage;
use kiln::actor::{self, actor_fn};
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::net::Server;
use kiln_rt::{ActorOptions, ThreadLocal};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{BytesCodec, FramedRead};

use crate::peer::CAPACITY;
use crate::server_process::{
    ANY_PORT, ServerProcess, accept_each, cpu_time, exit_when_stdin_closes, run_kiln_server,
    tokio_accept_loop,
};

/// The systems W7 measures.
pub(crate) const SYSTEMS: [&str; 6] = ["kiln", "kiln-poll", "tokio", "actix", "kameo", "ractor"];

/// The servers' receive buffer: what kiln's example uses.
const BUFFER: usize = 4096;

/// The shortest warm-up before a measurement (a tenth of it otherwise), in
/// which every connection already runs requests.
const MIN_WARM_UP: Duration = Duration::from_millis(100);

/// How long the connections may take to finish their last request after
/// the measurement before the run fails: the server has stalled.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One configuration: message size and number of connections.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Config {
    /// The workload's name in the results.
    pub(crate) workload: &'static str,
    /// Bytes per message.
    size: usize,
    /// Connections, each a task in the client.
    connections: usize,
}

/// The configurations measured, in order.
pub(crate) const CONFIGS: [Config; 4] = [
    Config {
        workload: "W7-64B-16c",
        size: 64,
        connections: 16,
    },
    Config {
        workload: "W7-64B-256c",
        size: 64,
        connections: 256,
    },
    Config {
        workload: "W7-1KiB-16c",
        size: 1024,
        connections: 16,
    },
    Config {
        workload: "W7-1KiB-256c",
        size: 1024,
        connections: 256,
    },
];

/// Starts a `system` server in a child process and runs the client against
/// it for `duration`; returns (requests per second, server CPU µs per
/// request).
pub(crate) fn run(system: &str, config: Config, duration: Duration) -> Result<(f64, f64), String> {
    let server = ServerProcess::start(&["W7-server", system])?;
    let result = client(&server, config, duration);
    let stopped = server.stop();
    let (requests, elapsed, cpu) = result?;
    stopped?;
    if requests == 0 {
        return Err("no request completed".to_owned());
    }
    let requests = requests as f64;
    Ok((
        requests / elapsed.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / requests,
    ))
}

// The parent's side.

/// The client: `config.connections` connections to `server`, all running
/// requests from the start; after a warm-up, counts the requests done in
/// `duration` and the server's CPU time in that span. Then every connection
/// finishes its request and closes (none stays open and idle while others
/// still wait: see the note in [`connection`]).
fn client(
    server: &ServerProcess,
    config: Config,
    duration: Duration,
) -> Result<(u64, Duration, Duration), String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(async {
        let mut streams = Vec::with_capacity(config.connections);
        for _ in 0..config.connections {
            let stream = tokio::net::TcpStream::connect(address)
                .await
                .map_err(|err| format!("can't connect to {address}: {err}"))?;
            stream.set_nodelay(true).map_err(|err| err.to_string())?;
            streams.push(stream);
        }
        let requests = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(id, stream)| {
                let (requests, stop) = (requests.clone(), stop.clone());
                tokio::spawn(connection(stream, id, config.size, requests, stop))
            })
            .collect();

        tokio::time::sleep((duration / 10).max(MIN_WARM_UP)).await;
        let requests_before = requests.load(Ordering::Relaxed);
        let cpu_before = cpu_time(server.pid())?;
        let start = Instant::now();
        tokio::time::sleep(duration).await;
        let done = requests.load(Ordering::Relaxed) - requests_before;
        let cpu = cpu_time(server.pid())?.saturating_sub(cpu_before);
        let elapsed = start.elapsed();

        stop.store(true, Ordering::Relaxed);
        let give_up = tokio::time::Instant::now() + STALL_TIMEOUT;
        let mut tasks = tasks.into_iter();
        while let Some(task) = tasks.next() {
            let Ok(joined) = tokio::time::timeout_at(give_up, task).await else {
                let waiting = 1 + tasks.filter(|task| !task.is_finished()).count();
                return Err(format!(
                    "{waiting} of {} connections still wait for an echo {STALL_TIMEOUT:?} \
                     after the measurement: the server stalled ({done} requests in {elapsed:?})",
                    config.connections
                ));
            };
            joined.map_err(|err| err.to_string())??;
        }
        Ok((done, elapsed, cpu))
    })
}

/// One connection of the client: sends a message of `size` bytes, reads it
/// back and checks it, counting the requests in `requests`, until `stop`;
/// then closes the connection. Every message differs from the one before, so
/// that an echo of a stale or misplaced message is caught.
///
/// A connection closes as soon as it stops, rather than staying open and
/// idle while the others finish. With a10 0.4 (under kiln-rt), operations
/// that find a worker's submission queue (32 entries) full wait for a
/// wake-up that comes only when the worker's wait for completions returns;
/// with every operation in flight a receive on an idle connection, that
/// wait never ends. A first version of this benchmark, whose connections
/// idled after a warm-up, stalled kiln's 256-connection server that way
/// every time; kiln's server can still stall with 256 connections (then
/// the run fails, see [`STALL_TIMEOUT`]).
async fn connection(
    mut stream: tokio::net::TcpStream,
    id: usize,
    size: usize,
    requests: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    let mut message = vec![0; size];
    let mut echo = vec![0; size];
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        // Truncation is the point: a byte pattern that shifts per request.
        let seed = (id as u64)
            .wrapping_mul(131)
            .wrapping_add(n.wrapping_mul(7)) as u8;
        for (i, byte) in message.iter_mut().enumerate() {
            *byte = seed.wrapping_add(i as u8);
        }
        stream
            .write_all(&message)
            .await
            .map_err(|err| format!("connection {id}, request {n}: sending: {err}"))?;
        stream
            .read_exact(&mut echo)
            .await
            .map_err(|err| format!("connection {id}, request {n}: receiving: {err}"))?;
        if echo != message {
            let i = (0..size).find(|&i| echo[i] != message[i]).unwrap_or(0);
            return Err(format!(
                "connection {id}, request {n}: byte {i} came back as {}, sent {}",
                echo[i], message[i]
            ));
        }
        n += 1;
        requests.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

// The child's side.

/// The child process: runs a `system` server on a free port of 127.0.0.1,
/// printing the port, until standard input closes.
pub(crate) fn serve(system: &str) -> Result<(), String> {
    if !SYSTEMS.contains(&system) {
        return Err(format!("W7 has no server for {system}"));
    }
    exit_when_stdin_closes();
    match system {
        "kiln" | "kiln-poll" => kiln_server(system),
        "tokio" => tokio_server(),
        "actix" => actix_server(),
        "kameo" => kameo_server(),
        _ => ractor_server(),
    }
}

// kiln.

/// A connection's actor: echoes until the client closes the connection.
async fn kiln_echo(
    _: actor::Context<Infallible, ThreadLocal>,
    stream: kiln_rt::net::TcpStream,
    _: SocketAddr,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(BUFFER);
    loop {
        buf.clear();
        buf = stream.recv(buf).await?;
        if buf.is_empty() {
            return Ok(());
        }
        buf = stream.send_all(buf).await?;
    }
}

fn kiln_server(system: &str) -> Result<(), String> {
    let connection_supervisor = |err: io::Error| {
        eprintln!("W7 kiln server: connection failed: {err}");
        SupervisorStrategy::Stop
    };
    let server = Server::new(
        ANY_PORT,
        connection_supervisor,
        actor_fn(kiln_echo),
        ActorOptions::default(),
    )
    .map_err(|err| err.to_string())?;
    let port = server.local_addr().port();
    run_kiln_server(system, "W7 kiln server", server, port)
}

// tokio.

fn tokio_server() -> Result<(), String> {
    tokio_accept_loop(|stream| async move {
        tokio::spawn(async move {
            if let Err(err) = tokio_echo(stream).await {
                eprintln!("W7 tokio server: connection failed: {err}");
            }
        });
        Ok(())
    })
}

/// A connection's task: echoes until the client closes the connection.
async fn tokio_echo(mut stream: tokio::net::TcpStream) -> io::Result<()> {
    let mut buf = vec![0; BUFFER];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

// actix.

/// A connection's actor: writes back every chunk its stream brings.
struct ActixEcho {
    writer: actix::io::Writer<tokio::net::tcp::OwnedWriteHalf, io::Error>,
}

impl actix::Actor for ActixEcho {
    type Context = actix::Context<Self>;
}

impl actix::io::WriteHandler<io::Error> for ActixEcho {}

impl actix::StreamHandler<io::Result<BytesMut>> for ActixEcho {
    fn handle(&mut self, chunk: io::Result<BytesMut>, ctx: &mut actix::Context<Self>) {
        match chunk {
            Ok(chunk) => self.writer.write(&chunk),
            Err(err) => {
                eprintln!("W7 actix server: connection failed: {err}");
                ctx.stop();
            }
        }
    }
    // The stream's end (the client closed) stops the actor.
}

fn actix_server() -> Result<(), String> {
    let system = actix::System::new();
    system.block_on(accept_each(|stream| async move {
        let (read, write) = stream.into_split();
        ActixEcho::create(|ctx| {
            ctx.add_stream(FramedRead::with_capacity(read, BytesCodec::new(), BUFFER));
            ActixEcho {
                writer: actix::io::Writer::new(write, ctx),
            }
        });
        Ok(())
    }))
}

// kameo.

/// A connection's actor: its stream's read half comes in as
/// `StreamMessage`s; it writes every chunk back on the write half.
struct KameoEcho {
    write: tokio::net::tcp::OwnedWriteHalf,
}

/// What `attach_stream` sends a [`KameoEcho`].
type KameoChunk = StreamMessage<io::Result<BytesMut>, (), ()>;

impl kameo::Actor for KameoEcho {
    type Args = tokio::net::TcpStream;
    type Error = kameo::error::Infallible;

    async fn on_start(
        stream: tokio::net::TcpStream,
        actor_ref: kameo::actor::ActorRef<Self>,
    ) -> Result<Self, kameo::error::Infallible> {
        let (read, write) = stream.into_split();
        // The forwarding task ends with the stream or with the actor.
        drop(actor_ref.attach_stream(
            FramedRead::with_capacity(read, BytesCodec::new(), BUFFER),
            (),
            (),
        ));
        Ok(KameoEcho { write })
    }
}

impl kameo::message::Message<KameoChunk> for KameoEcho {
    type Reply = ();

    async fn handle(&mut self, chunk: KameoChunk, ctx: &mut kameo::message::Context<Self, ()>) {
        let failed = match chunk {
            StreamMessage::Started(()) => return,
            StreamMessage::Next(Ok(chunk)) => match self.write.write_all(&chunk).await {
                Ok(()) => return,
                Err(err) => Some(err),
            },
            StreamMessage::Next(Err(err)) => Some(err),
            // The client closed the connection.
            StreamMessage::Finished(()) => None,
        };
        if let Some(err) = failed {
            eprintln!("W7 kameo server: connection failed: {err}");
        }
        ctx.stop();
    }
}

fn kameo_server() -> Result<(), String> {
    tokio_accept_loop(|stream| async move {
        // The actor runs on when this reference drops: the forwarding task
        // holds one until the stream ends.
        KameoEcho::spawn_with_mailbox(stream, kameo::mailbox::bounded(CAPACITY));
        Ok(())
    })
}

// ractor.

/// A connection's actor: reads once and writes back what came per
/// [`RactorRead`] it sends itself.
struct RactorEcho;

/// The message a [`RactorEcho`] sends itself: read the next chunk.
struct RactorRead;

/// A [`RactorEcho`]'s state: its connection and receive buffer.
struct RactorConnection {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl ractor::Actor for RactorEcho {
    type Msg = RactorRead;
    type State = RactorConnection;
    type Arguments = tokio::net::TcpStream;

    async fn pre_start(
        &self,
        myself: ractor::ActorRef<RactorRead>,
        stream: tokio::net::TcpStream,
    ) -> Result<RactorConnection, ractor::ActorProcessingErr> {
        myself.send_message(RactorRead)?;
        Ok(RactorConnection {
            stream,
            buf: vec![0; BUFFER],
        })
    }

    async fn handle(
        &self,
        myself: ractor::ActorRef<RactorRead>,
        RactorRead: RactorRead,
        connection: &mut RactorConnection,
    ) -> Result<(), ractor::ActorProcessingErr> {
        let echoed = match connection.stream.read(&mut connection.buf).await {
            // The client closed the connection.
            Ok(0) => Ok(false),
            Ok(n) => connection
                .stream
                .write_all(&connection.buf[..n])
                .await
                .map(|()| true),
            Err(err) => Err(err),
        };
        match echoed {
            Ok(true) => myself.send_message(RactorRead)?,
            Ok(false) => myself.stop(None),
            Err(err) => {
                eprintln!("W7 ractor server: connection failed: {err}");
                myself.stop(None);
            }
        }
        Ok(())
    }
}

fn ractor_server() -> Result<(), String> {
    tokio_accept_loop(|stream| async move {
        // The actor runs on when its handles drop.
        ractor::Actor::spawn(None, RactorEcho, stream)
            .await
            .map(drop)
            .map_err(|err| err.to_string())
    })
}
