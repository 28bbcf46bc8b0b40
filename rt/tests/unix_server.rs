//! `net::Server` on Unix-domain sockets (`Server::new_unix`): echo round
//! trips with hundreds of clients on two workers sharing one listening
//! socket (every byte checked, both workers serving), a thread-safe server
//! on an abstract name, the connection limit, read and write timeouts that
//! disconnect stalled clients, binds refused with a clear error (the path
//! exists, its directory does not) that leave the path alone, stopping on
//! `Terminate` (the socket file removed, but never a file put in its
//! place), and a server restarted after accept errors (out of descriptors,
//! in a child process) that keeps serving. Run on both I/O drivers
//! (`KILN_IO_DRIVER=poll` for epoll).

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream as StdStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use kiln::actor::{self, NewActor, actor_fn};
use kiln::messages::Terminate;
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::net::unix::SocketAddr;
use kiln_rt::net::{Server, ServerSetup, UnixListener, UnixStream};
use kiln_rt::{ActorOptions, Runtime, Spawn, ThreadLocal, ThreadSafe};

mod util;

use util::clients::{echo_client, send_until_closed, unix_echo, wait_closed};
use util::net_server::{assert_spread, fail_server, spawn_on_every_worker};
use util::runtime::start;
use util::server::RunningExample;
use util::temp_dir::TempDir;
use util::timeout::TIMEOUT;
use util::unix::abstract_addr;

/// Fails the test when a connection actor fails.
fn fail_connection(err: io::Error) -> SupervisorStrategy<(UnixStream, SocketAddr)> {
    panic!("connection actor failed: {err}");
}

/// A connection ends routinely (a timeout, the client gone): the actor stops.
fn stop_connection(_: io::Error) -> SupervisorStrategy<(UnixStream, SocketAddr)> {
    SupervisorStrategy::Stop
}

/// A Unix server on `path` that starts `new_actor` for each connection.
fn unix_server<S, NA>(
    path: &Path,
    supervisor: S,
    new_actor: NA,
) -> ServerSetup<S, NA, NA::RuntimeAccess, UnixListener>
where
    NA: NewActor<Argument = (UnixStream, SocketAddr)>,
{
    Server::new_unix(path, supervisor, new_actor, ActorOptions::default())
        .unwrap_or_else(|err| panic!("can't bind a server to {}: {err}", path.display()))
}

/// What the connections of [`echo`] count.
#[derive(Clone, Default)]
struct Counters {
    /// Connections served by each worker.
    per_worker: Arc<[AtomicUsize; 2]>,
    /// Connections open now, and the most ever open at once.
    open: Arc<[AtomicUsize; 2]>,
}

/// Echoes until the peer closes its side; counts the connection.
async fn echo(
    ctx: actor::Context<Infallible, ThreadLocal>,
    stream: UnixStream,
    _: SocketAddr,
    counters: Counters,
) -> io::Result<()> {
    counters.per_worker[ctx.runtime_ref().worker_index()].fetch_add(1, Ordering::Relaxed);
    let now = counters.open[0].fetch_add(1, Ordering::AcqRel) + 1;
    counters.open[1].fetch_max(now, Ordering::AcqRel);
    let result = unix_echo(&stream).await;
    counters.open[0].fetch_sub(1, Ordering::AcqRel);
    result
}

/// [`echo`] as a `NewActor` counting on `counters` (a macro: its type
/// can't be named).
macro_rules! counting_echo {
    ($counters: expr) => {{
        let counters: Counters = $counters.clone();
        actor_fn(echo).map_arg(move |(stream, peer)| (stream, peer, counters.clone()))
    }};
}

/// [`echo`] as a thread-safe actor.
async fn shared_echo(
    _: actor::Context<Infallible, ThreadSafe>,
    stream: UnixStream,
    peer: SocketAddr,
) -> io::Result<()> {
    assert!(
        peer.is_unnamed(),
        "an unbound client has an unnamed address: {peer:?}"
    );
    unix_echo(&stream).await
}

/// Runs `clients` concurrent clients, each connected by `connect`.
fn run_clients(clients: usize, connect: impl Fn() -> StdStream + Send + Sync + 'static) {
    let connect = Arc::new(connect);
    let threads: Vec<_> = (0..clients)
        .map(|seed| {
            let connect = connect.clone();
            thread::spawn(move || echo_client(connect(), seed))
        })
        .collect();
    for thread in threads {
        thread.join().expect("client failed");
    }
}

/// Whether a one-byte echo comes back on `stream` within `wait`.
fn echoed(stream: &mut StdStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(b"x").unwrap();
    let mut buf = [0; 1];
    stream.read_exact(&mut buf).is_ok()
}

#[test]
fn echo_with_256_concurrent_clients_on_two_workers_sharing_one_socket() {
    let dir = TempDir::new("unix-server-echo");
    let path = dir.join("echo.sock");
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let counters = Counters::default();
    let new_actor = counting_echo!(counters);
    let server = unix_server(&path, fail_connection, new_actor);
    assert_eq!(server.local_addr().as_pathname(), Some(path.as_path()));
    let servers = spawn_on_every_worker(&mut runtime, server);
    let started = start(runtime);

    let client_path = path.clone();
    run_clients(256, move || {
        StdStream::connect(&client_path).expect("can't connect")
    });
    for server in &servers {
        server.try_send(Terminate).expect("can't stop the server");
    }
    started.ends();
    // Both workers accept from the one listen queue; with 256 clients at
    // once, one worker serving every connection means the other's accept
    // never ran.
    assert_spread(&counters.per_worker, 256);
    // The servers are gone: so is the socket file they made.
    assert!(!path.exists(), "the socket file is left behind");
}

#[test]
fn thread_safe_server_on_an_abstract_name() {
    let address = abstract_addr("unix-server-abstract");
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let server = Server::new_unix_addr(
        &address,
        fail_connection,
        actor_fn(shared_echo),
        ActorOptions::default(),
    )
    .expect("can't bind to an abstract name");
    // The name is taken while the server lives.
    let err = Server::new_unix_addr(
        &address,
        fail_connection,
        actor_fn(shared_echo),
        ActorOptions::default(),
    )
    .expect_err("bound one abstract name twice");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    assert!(err.to_string().contains("@kiln-rt-"), "{err}");
    let server_ref = runtime
        .try_spawn(fail_server, server, (), ActorOptions::default())
        .expect("can't spawn the server");
    let started = start(runtime);
    run_clients(32, move || {
        StdStream::connect_addr(&address).expect("can't connect to the abstract name")
    });
    server_ref.try_send(Terminate).unwrap();
    started.ends();
}

#[test]
fn at_the_limit_connections_wait_until_one_closes() {
    let dir = TempDir::new("unix-server-limit");
    let path = dir.join("limit.sock");
    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let counters = Counters::default();
    let new_actor = counting_echo!(counters);
    let server = unix_server(&path, fail_connection, new_actor).with_max_connections(2);
    assert_eq!(server.max_connections(), 2);
    let server_ref = spawn_on_every_worker(&mut runtime, server).remove(0);
    let started = start(runtime);

    let connect = || StdStream::connect(&path).expect("can't connect");
    let mut first = connect();
    let mut second = connect();
    assert!(echoed(&mut first, TIMEOUT), "first connection not served");
    assert!(echoed(&mut second, TIMEOUT), "second connection not served");
    // Connected (the backlog), not served: the server is at its limit.
    let mut third = connect();
    assert!(
        !echoed(&mut third, Duration::from_millis(500)),
        "served beyond the limit"
    );
    drop(first);
    // Its byte was queued; the echo comes once the server accepts it.
    let mut buf = [0; 1];
    third.set_read_timeout(Some(TIMEOUT)).unwrap();
    third
        .read_exact(&mut buf)
        .expect("not served after a connection closed");
    assert!(echoed(&mut third, TIMEOUT));
    drop((second, third));
    server_ref.try_send(Terminate).unwrap();
    started.ends();
    assert_eq!(
        counters.open[1].load(Ordering::Relaxed),
        2,
        "connections open at once"
    );
}

#[test]
fn timeouts_disconnect_silent_and_non_reading_clients() {
    const READ: Duration = Duration::from_millis(500);
    const WRITE: Duration = Duration::from_millis(500);
    /// On top of the timeouts, for a noisy machine.
    const SLACK: Duration = Duration::from_secs(10);
    let dir = TempDir::new("unix-server-timeouts");
    let path = dir.join("timeouts.sock");
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let new_actor = counting_echo!(Counters::default());
    let server = unix_server(&path, stop_connection, new_actor)
        .with_read_timeout(READ)
        .with_write_timeout(WRITE);
    assert_eq!(
        (server.read_timeout(), server.write_timeout()),
        (Some(READ), Some(WRITE))
    );
    let servers = spawn_on_every_worker(&mut runtime, server);
    let started = start(runtime);

    let silent: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            thread::spawn(move || {
                let connected = Instant::now();
                let stream = StdStream::connect(&path).expect("can't connect");
                wait_closed(stream, connected, READ + SLACK)
            })
        })
        .collect();
    let deaf: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            thread::spawn(move || {
                let mut stream = StdStream::connect(&path).expect("can't connect");
                let give_up = Instant::now() + WRITE + SLACK;
                send_until_closed(&mut stream, &[b'x'; 64 * 1024], || Instant::now() > give_up).0
            })
        })
        .collect();
    for client in silent {
        let closed = client.join().expect("silent client panicked");
        assert!(closed >= READ, "disconnected early: {closed:?}");
        assert!(closed < READ + SLACK, "disconnected late: {closed:?}");
    }
    for client in deaf {
        let closed = client.join().expect("non-reading client panicked");
        assert!(
            closed.is_some(),
            "a client that never reads is still connected"
        );
    }
    for server in &servers {
        server.try_send(Terminate).unwrap();
    }
    started.ends();
}

#[test]
fn refused_binds_are_clear_errors_and_leave_the_path_alone() {
    let dir = TempDir::new("unix-server-refused");
    let new_actor = || actor_fn(shared_echo);
    // A regular file at the path: refused, and the file kept.
    let file = dir.join("file");
    std::fs::write(&file, "precious").unwrap();
    let err = Server::new_unix(&file, fail_connection, new_actor(), ActorOptions::default())
        .expect_err("bound over a regular file");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    let message = err.to_string();
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("the path exists"), "{message}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    // A socket file left behind (bound, never listened on, closed): refused too.
    let stale = dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let err = Server::new_unix(
        &stale,
        fail_connection,
        new_actor(),
        ActorOptions::default(),
    )
    .expect_err("bound over a socket file");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    assert!(stale.exists(), "removed a socket file it did not make");
    // The directory does not exist.
    let missing = dir.join("missing").join("server.sock");
    let err = Server::new_unix(
        &missing,
        fail_connection,
        new_actor(),
        ActorOptions::default(),
    )
    .expect_err("bound in a missing directory");
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(message.contains("directory does not exist"), "{message}");
}

#[test]
fn stop_on_terminate_removes_the_socket_file_but_not_one_put_in_its_place() {
    let dir = TempDir::new("unix-server-stop");
    let path = dir.join("stop.sock");
    let replaced = dir.join("replaced.sock");
    for (path, replace) in [(&path, false), (&replaced, true)] {
        let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
        let new_actor = counting_echo!(Counters::default());
        let server = unix_server(path, fail_connection, new_actor);
        let servers = spawn_on_every_worker(&mut runtime, server);
        let started = start(runtime);
        let mut open = StdStream::connect(path).unwrap();
        assert!(echoed(&mut open, TIMEOUT), "not served");
        if replace {
            std::fs::remove_file(path).unwrap();
            std::fs::write(path, "not the server's").unwrap();
        }
        for server in &servers {
            server.try_send(Terminate).unwrap();
        }
        // The servers stopped; the open connection is still served.
        thread::sleep(Duration::from_millis(200));
        assert!(
            !started.ended_within(Duration::ZERO),
            "ended with a connection open"
        );
        assert!(
            echoed(&mut open, TIMEOUT),
            "connection not served after the stop"
        );
        drop(open);
        started.ends();
        if replace {
            assert_eq!(std::fs::read_to_string(path).unwrap(), "not the server's");
        } else {
            assert!(!path.exists(), "the socket file is left behind");
            let err = StdStream::connect(path).expect_err("connected after the stop");
            assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        }
    }
}

/// The descriptor limit of the example's process: enough for the runtime
/// and a few connections.
const LIMIT: libc::rlim_t = 48;

#[test]
fn restarted_after_accept_errors_the_server_keeps_serving() {
    let dir = TempDir::new("unix-server-restart");
    let path = dir.join("restart.sock");
    let mut command = Command::new(util::example("rt_15_unix_echo_server"));
    command.arg(&path).arg("60");
    let limit_descriptors = || {
        let limit = libc::rlimit {
            rlim_cur: LIMIT,
            rlim_max: LIMIT,
        };
        // SAFETY: `limit` is a valid `rlimit` that outlives the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: the closure only calls `setrlimit`, which is async-signal-safe
    // and touches only the child's own limits.
    unsafe { command.pre_exec(limit_descriptors) };
    let mut example = RunningExample::spawn("rt_15_unix_echo_server", command);
    assert_eq!(
        example.first_line,
        format!("listening on {}\n", path.display())
    );

    // More connections than the server has descriptors: the kernel queues
    // them all (the backlog), the server runs out of descriptors accepting.
    let held: Vec<StdStream> = (0..2 * LIMIT)
        .map(|_| StdStream::connect(&path).unwrap())
        .collect();
    example.wait_for_stderr_line("Too many open files");
    drop(held);
    // Descriptors free again: after its back-off (at most a second) the
    // restarted server serves, on its one listening socket.
    let give_up = Instant::now() + TIMEOUT;
    loop {
        let mut stream = StdStream::connect(&path).expect("the listening socket is gone");
        if echoed(&mut stream, Duration::from_millis(500)) {
            break;
        }
        assert!(Instant::now() < give_up, "the server did not recover");
    }
    // Every worker's server is back after the longest back-off.
    thread::sleep(Duration::from_millis(1500));
    for seed in 0..20 {
        echo_client(StdStream::connect(&path).unwrap(), seed);
    }
    example.signal(libc::SIGINT);
    let exit = example.exit(TIMEOUT);
    assert!(exit.status.success(), "the example failed: {}", exit.status);
    assert_eq!(exit.stdout, "stopped\n");
    assert!(
        exit.stderr.contains("restarting the server"),
        "{}",
        exit.stderr
    );
    assert!(!path.exists(), "the socket file is left behind");
}
