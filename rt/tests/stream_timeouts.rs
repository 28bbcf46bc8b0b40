//! Stream timeouts, set once: a `net::Server` with read and write timeouts
//! disconnects clients that send nothing and clients that send but never
//! read, within the timeout, on thread-local and thread-safe servers; the
//! errors are `TimedOut` and name the timeout; a thread-local socket's
//! timers are its worker's own and none is left behind; a Unix stream times
//! out in a thread-local actor and in a synchronous actor (the shared
//! timers); a zero timeout is refused; polled outside the runtime's threads
//! a timed operation fails with `Unsupported`.

use std::convert::Infallible;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

use kiln::ActorRef;
use kiln::actor::{self, NewActor};
use kiln::actor_fn;
use kiln::messages::Terminate;
use kiln::supervisor::{NoSupervisor, SupervisorStrategy};
use kiln_rt::net::{Server, ServerMessage, ServerSetup, TcpStream, UnixStream};
use kiln_rt::{
    ActorOptions, Runtime, RuntimeRef, Spawn, SyncActorOptions, ThreadLocal, ThreadSafe,
};

mod util;

use util::clients::{echo, send_until_closed, silent_client};
use util::metrics::wait_for;
use util::net_server::{fail_server, loopback_server, spawn_on_every_worker};
use util::runtime::start;

/// The servers' read and write timeouts: the timeouts under test.
const STREAM_TIMEOUT: Duration = Duration::from_millis(500);
/// The safety net for waits that should end much sooner (a noisy machine),
/// and the bound of the checks that a timeout fired in time: a
/// disconnection this late is a failure, so this file keeps its own value
/// instead of `util::timeout::TIMEOUT`.
const SLACK: Duration = Duration::from_secs(10);
/// Bytes a non-reading client sends per write.
const CHUNK: usize = 64 * 1024;

/// How a connection ended: `Ok`, or the error's kind and message.
type Ended = Result<(), (ErrorKind, String)>;

/// Echoes until the client closes its side, or an operation fails; reports
/// how it ended on `ended`.
async fn echo_and_report(stream: &TcpStream, ended: &Sender<Ended>) -> io::Result<()> {
    let result = echo(stream).await;
    let _ = ended.send(match &result {
        Ok(()) => Ok(()),
        Err(err) => Err((err.kind(), err.to_string())),
    });
    result
}

async fn local_echo(
    _: actor::Context<Infallible, ThreadLocal>,
    stream: TcpStream,
    _: SocketAddr,
    ended: Sender<Ended>,
) -> io::Result<()> {
    echo_and_report(&stream, &ended).await
}

async fn shared_echo(
    _: actor::Context<Infallible, ThreadSafe>,
    stream: TcpStream,
    _: SocketAddr,
    ended: Sender<Ended>,
) -> io::Result<()> {
    echo_and_report(&stream, &ended).await
}

/// Connection errors are expected here: reported on `ended`.
fn stop_connection(_: io::Error) -> SupervisorStrategy<(TcpStream, SocketAddr)> {
    SupervisorStrategy::Stop
}

/// The supervisor of the connections.
type StopConnection = fn(io::Error) -> SupervisorStrategy<(TcpStream, SocketAddr)>;

/// A server on a free loopback port with both timeouts, starting
/// `new_actor` for each connection.
fn timed_server<NA>(new_actor: NA) -> ServerSetup<StopConnection, NA, NA::RuntimeAccess>
where
    NA: NewActor<Argument = (TcpStream, SocketAddr)>,
{
    loopback_server(stop_connection as StopConnection, new_actor)
        .with_read_timeout(STREAM_TIMEOUT)
        .with_write_timeout(STREAM_TIMEOUT)
}

/// A thread-local server with both timeouts on each of two workers; the
/// runtime is not started, so that the test can read its metrics (workers
/// run thread-local actors before `start`).
struct LocalServer {
    runtime: Runtime,
    address: SocketAddr,
    servers: Vec<ActorRef<ServerMessage>>,
    ended: Receiver<Ended>,
}

impl LocalServer {
    fn start() -> LocalServer {
        let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
        let (report, ended) = mpsc::channel();
        let new_actor =
            actor_fn(local_echo).map_arg(move |(stream, peer)| (stream, peer, report.clone()));
        let server = timed_server(new_actor);
        assert_eq!(server.read_timeout(), Some(STREAM_TIMEOUT));
        assert_eq!(server.write_timeout(), Some(STREAM_TIMEOUT));
        let address = server.local_addr();
        let servers = spawn_on_every_worker(&mut runtime, server);
        LocalServer {
            runtime,
            address,
            servers,
            ended,
        }
    }

    /// Stops the servers and the runtime; every connection must have ended.
    fn stop(self) {
        for server in &self.servers {
            server.try_send(Terminate).unwrap();
        }
        start(self.runtime).ends();
    }
}

/// Sends `CHUNK`s and never reads, until the server closes the connection;
/// returns how long that took and how much was sent.
fn deaf_client(address: SocketAddr) -> (Duration, usize) {
    let mut stream = StdStream::connect(address).expect("can't connect");
    let start = Instant::now();
    let (closed, sent) = send_until_closed(&mut stream, &[b'x'; CHUNK], || start.elapsed() > SLACK);
    let closed = closed.unwrap_or_else(|| {
        panic!("non-reading client still connected after {SLACK:?} ({sent} bytes sent)")
    });
    (closed, sent)
}

/// Collects `n` connection ends, each within `SLACK`.
fn ends(ended: &Receiver<Ended>, n: usize) -> Vec<Ended> {
    (0..n)
        .map(|i| {
            ended
                .recv_timeout(SLACK)
                .unwrap_or_else(|_| panic!("only {i} of {n} connections ended"))
        })
        .collect()
}

/// Every end is a `TimedOut` whose message names the `which` timeout.
#[track_caller]
fn assert_timed_out(ends: &[Ended], which: &str) {
    for end in ends {
        match end {
            Err((ErrorKind::TimedOut, message)) => assert!(
                message.contains(&format!("{which} timeout")),
                "the message does not name the {which} timeout: {message}"
            ),
            other => panic!("expected the {which} timeout, got {other:?}"),
        }
    }
}

#[test]
fn silent_clients_are_disconnected_after_the_read_timeout() {
    let server = LocalServer::start();
    let address = server.address;
    let clients: Vec<_> = (0..20)
        .map(|_| thread::spawn(move || silent_client(address, SLACK)))
        .collect();
    // While the clients wait: one timer per connection, in the workers' own
    // wheels (no lock), none in the shared timers.
    let metrics = wait_for(&server.runtime, |m| {
        m.workers.iter().map(|w| w.timers_pending).sum::<u64>() == 20
    });
    assert_eq!(
        metrics
            .workers
            .iter()
            .map(|w| w.timers_pending)
            .sum::<u64>(),
        20,
        "{metrics}"
    );
    assert_eq!(metrics.shared_timers_pending, 0, "{metrics}");
    for client in clients {
        let closed = client.join().expect("silent client failed");
        assert!(
            closed >= STREAM_TIMEOUT,
            "disconnected early: after {closed:?}"
        );
        assert!(
            closed < STREAM_TIMEOUT + SLACK / 2,
            "disconnected late: after {closed:?}"
        );
    }
    assert_timed_out(&ends(&server.ended, 20), "read");
    server.stop();
}

#[test]
fn clients_that_never_read_are_disconnected_after_the_write_timeout() {
    let server = LocalServer::start();
    let address = server.address;
    let clients: Vec<_> = (0..10)
        .map(|_| thread::spawn(move || deaf_client(address)))
        .collect();
    for client in clients {
        let (closed, sent) = client.join().expect("non-reading client failed");
        // The socket buffers (a few MiB on loopback) filled before the
        // server's send waited.
        assert!(sent > CHUNK, "only {sent} bytes sent");
        assert!(closed < SLACK, "disconnected late: after {closed:?}");
    }
    assert_timed_out(&ends(&server.ended, 10), "write");
    // Every timer was removed when its operation ended.
    let metrics = wait_for(&server.runtime, |m| m.timers_pending() == 0);
    assert_eq!(metrics.timers_pending(), 0, "{metrics}");
    server.stop();
}

#[test]
fn served_clients_leave_no_timers_behind() {
    let server = LocalServer::start();
    let address = server.address;
    let clients: Vec<_> = (0..16)
        .map(|i| {
            thread::spawn(move || {
                let mut stream = StdStream::connect(address).unwrap();
                stream.set_read_timeout(Some(SLACK)).unwrap();
                for round in 0..50 {
                    let message = format!("client {i} round {round}\n");
                    stream.write_all(message.as_bytes()).unwrap();
                    let mut echo = vec![0; message.len()];
                    stream.read_exact(&mut echo).unwrap();
                    assert_eq!(echo, message.as_bytes());
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client failed");
    }
    let ends = ends(&server.ended, 16);
    assert!(ends.iter().all(Result::is_ok), "{ends:?}");
    let metrics = wait_for(&server.runtime, |m| m.timers_pending() == 0);
    assert_eq!(metrics.timers_pending(), 0, "{metrics}");
    server.stop();
}

#[test]
fn thread_safe_server_disconnects_silent_and_non_reading_clients() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (report, ended) = mpsc::channel();
    let new_actor =
        actor_fn(shared_echo).map_arg(move |(stream, peer)| (stream, peer, report.clone()));
    let server = timed_server(new_actor);
    let address = server.local_addr();
    let server_ref = runtime
        .try_spawn(fail_server, server, (), ActorOptions::default())
        .unwrap();
    let started = start(runtime);

    let silent: Vec<_> = (0..10)
        .map(|_| thread::spawn(move || silent_client(address, SLACK)))
        .collect();
    let deaf: Vec<_> = (0..4)
        .map(|_| thread::spawn(move || deaf_client(address)))
        .collect();
    for client in silent {
        let closed = client.join().expect("silent client failed");
        assert!(
            closed >= STREAM_TIMEOUT,
            "disconnected early: after {closed:?}"
        );
    }
    for client in deaf {
        client.join().expect("non-reading client failed");
    }
    let ends = ends(&ended, 14);
    let reads = ends
        .iter()
        .filter(|end| matches!(end, Err((_, m)) if m.contains("read timeout")))
        .count();
    let writes = ends
        .iter()
        .filter(|end| matches!(end, Err((_, m)) if m.contains("write timeout")))
        .count();
    assert_eq!((reads, writes), (10, 4), "{ends:?}");
    server_ref.try_send(Terminate).unwrap();
    started.ends();
}

#[test]
fn unix_stream_timeouts_in_a_thread_local_actor() {
    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let (report, outcome) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let actor = move |ctx: actor::Context<Infallible, ThreadLocal>| {
                let report = report.clone();
                async move {
                    let _ = report.send(unix_timeouts(ctx.runtime_ref()).await);
                }
            };
            rt.spawn_local(NoSupervisor, actor_fn(actor), (), ActorOptions::default());
            Ok(())
        })
        .unwrap();
    let started = start(runtime);
    let outcome = outcome
        .recv_timeout(SLACK)
        .expect("the actor did not report");
    assert_eq!(outcome, Ok(()));
    started.ends();
}

/// A pair of Unix streams whose peer neither sends nor reads: a receive
/// and a `send_all` time out, each after its timeout; setting none waits
/// again; a zero timeout is refused.
async fn unix_timeouts(rt: &RuntimeRef) -> Result<(), String> {
    let (mut stream, _peer) = UnixStream::pair(rt).map_err(|err| err.to_string())?;
    let zero = stream.set_read_timeout(Some(Duration::ZERO));
    match zero {
        Err(err) if err.kind() == ErrorKind::InvalidInput => {}
        other => return Err(format!("a zero read timeout: {other:?}")),
    }
    assert_eq!(stream.read_timeout(), None);
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|err| err.to_string())?;
    stream
        .set_write_timeout(Some(Duration::from_millis(300)))
        .map_err(|err| err.to_string())?;

    let start = Instant::now();
    match stream.recv(Vec::with_capacity(64)).await {
        Err(err)
            if err.kind() == ErrorKind::TimedOut && err.to_string().contains("read timeout") => {}
        other => return Err(format!("recv: expected the read timeout, got {other:?}")),
    }
    let took = start.elapsed();
    if took < Duration::from_millis(200) || took > SLACK {
        return Err(format!("recv timed out after {took:?}"));
    }

    // Far more than the socket buffers hold.
    let start = Instant::now();
    match stream.send_all(vec![0; 64 * 1024 * 1024]).await {
        Err(err)
            if err.kind() == ErrorKind::TimedOut && err.to_string().contains("write timeout") => {}
        other => {
            return Err(format!(
                "send_all: expected the write timeout, got {:?}",
                other.map(|buf| buf.len())
            ));
        }
    }
    let took = start.elapsed();
    if took < Duration::from_millis(300) || took > SLACK {
        return Err(format!("send_all timed out after {took:?}"));
    }
    Ok(())
}

#[test]
fn unix_stream_read_timeout_in_a_synchronous_actor() {
    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let (report, outcome) = mpsc::channel::<Result<Duration, String>>();
    let actor = move |mut ctx: kiln::sync::Context<Infallible, kiln_rt::access::Sync>| {
        let result = (|| {
            let (mut stream, _peer) = UnixStream::pair(ctx.runtime()).map_err(|e| e.to_string())?;
            stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .map_err(|e| e.to_string())?;
            let start = Instant::now();
            match ctx.block_on(stream.recv(Vec::with_capacity(8))) {
                Err(err) if err.kind() == ErrorKind::TimedOut => Ok(start.elapsed()),
                other => Err(format!("expected the read timeout, got {other:?}")),
            }
        })();
        let _ = report.send(result);
    };
    runtime
        .spawn_sync_actor(
            NoSupervisor,
            actor_fn(actor),
            (),
            SyncActorOptions::default(),
        )
        .unwrap();
    let started = start(runtime);
    let took = outcome
        .recv_timeout(SLACK)
        .expect("the synchronous actor did not report")
        .expect("the synchronous actor failed");
    assert!(
        took >= Duration::from_millis(200),
        "timed out early: {took:?}"
    );
    started.ends();
}

#[test]
fn timed_operation_outside_the_runtime_is_unsupported() {
    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let (streams_sender, streams) = mpsc::channel();
    runtime
        .run_on_workers(move |rt: RuntimeRef| -> io::Result<()> {
            streams_sender.send(UnixStream::pair(&rt)?).unwrap();
            Ok(())
        })
        .unwrap();
    let (mut stream, peer) = streams.recv().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    // On a thread of the test's, which the test does not wait for if the
    // receive waits (no error).
    let (report, result) = mpsc::channel();
    thread::spawn(move || {
        let result = kiln::sync::block_on(stream.recv(Vec::with_capacity(8)));
        let _ = report.send(result.map(drop));
        drop((stream, peer));
    });
    match result.recv_timeout(SLACK) {
        Ok(Err(err)) if err.kind() == ErrorKind::Unsupported => {
            assert!(err.to_string().contains("kiln-rt thread"), "{err}");
        }
        Ok(other) => panic!("expected Unsupported, got {other:?}"),
        Err(_) => panic!("the timed receive waited outside the runtime instead of failing"),
    }
    start(runtime).ends();
}

#[test]
fn zero_server_settings_make_the_spawn_fail() {
    let runtime = Runtime::setup().num_threads(1).build().unwrap();
    let (report, _ended) = mpsc::channel();
    let new_actor =
        actor_fn(shared_echo).map_arg(move |(stream, peer)| (stream, peer, report.clone()));
    let server = Server::new(
        "127.0.0.1:0".parse().unwrap(),
        stop_connection,
        new_actor,
        ActorOptions::default(),
    )
    .unwrap();
    let mut runtime = runtime;
    for (setup, what) in [
        (
            server.clone().with_read_timeout(Duration::ZERO),
            "read timeout of zero",
        ),
        (
            server.clone().with_write_timeout(Duration::ZERO),
            "write timeout of zero",
        ),
        (
            server.clone().with_max_connections(0),
            "connection limit of zero",
        ),
    ] {
        match runtime.try_spawn(fail_server, setup, (), ActorOptions::default()) {
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
                assert!(err.to_string().contains(what), "{err}");
            }
            Ok(_) => panic!("spawned a server with a {what}"),
        }
    }
    drop(server);
    let started = start(runtime);
    started.ends();
}
