//! Unix domain sockets on the runtime: stream and datagram echo servers with 200 clients each, as
//! thread-local actors on two workers and as thread-safe actors on the shared ring (every byte of
//! every echo checked; path names and abstract names); the sockets' operations one by one; a
//! receive dropped when its deadline passes, then the socket used again; a send to a full
//! datagram queue; and the errors of binding to a path that exists and of connecting or sending to
//! one that does not.
//!
//! The heavier runs (thread-safe echoes with 200 clients besides 20, and a thread-local stream
//! echo with messages of up to 32 KiB besides 4 KiB) once found that a ring's wake-up could be
//! lost with its submission queue full (see `rt/src/runtime/io/ring_waker.rs`).

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::net::Shutdown;
use std::os::linux::net::SocketAddrExt;
use std::path::{Path, PathBuf};
use std::pin::{Pin, pin};
use std::sync::mpsc;
use std::task::Poll;
use std::time::Duration;

use futures_core::Stream;
use kiln::messages::Terminate;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::Spawn;
use kiln_rt::net::unix::{Incoming, SocketAddr, UnixDatagram, UnixListener, UnixStream};
use kiln_rt::timer::Deadline;
use kiln_rt::{Access, ActorOptions, RuntimeRef, ThreadLocal, ThreadSafe};

mod util;

use util::check::{check_in_actor, check_in_thread_safe_actor, expect_eq, failed};
use util::one_at_a_time::one_at_a_time;
use util::runtime::run_runtime;
use util::temp_dir::TempDir;
use util::timeout::TIMEOUT;

/// Clients of each echo server.
const CLIENTS: usize = 200;
/// Clients of each echo server when they are thread-safe actors, see the module docs.
const SHARED_CLIENTS: usize = 20;
/// Messages each client sends, one at a time.
const ROUNDS: usize = 4;
/// The largest message a stream client sends; the echo comes back in pieces.
const MAX_STREAM_MESSAGE: usize = 4096;
/// The largest message of the heavier stream echo, see the module docs.
const LARGE_STREAM_MESSAGE: usize = 32 * 1024;
/// The largest datagram a datagram client sends.
const MAX_DATAGRAM: usize = 2000;
/// The datagram receive buffers' capacity: more than the largest datagram.
const CAPACITY: usize = 4096;
/// The id the server reports its result with.
const SERVER: usize = usize::MAX;
/// The id connection actors report their result with.
const CONNECTION: usize = usize::MAX - 1;

/// Who reports (a client id, [`SERVER`] or [`CONNECTION`]) and the result: bytes echoed, or what
/// went wrong.
type Report = (usize, Result<usize, String>);

/// An abstract name unique to this process and `name`.
fn abstract_addr(name: &str) -> SocketAddr {
    let name = format!("kiln-rt-{}-{name}", std::process::id());
    SocketAddr::from_abstract_name(name).expect("invalid abstract name")
}

/// The message client `id` sends in `round`: its id and round, then bytes of both; 8 bytes up to
/// `max` in all.
fn payload(id: usize, round: usize, max: usize) -> Vec<u8> {
    let len = 8 + (id * 3137 + round * 7919) % (max - 8);
    let mut buf = Vec::with_capacity(len);
    buf.extend_from_slice(&u32::try_from(id).unwrap().to_be_bytes());
    buf.extend_from_slice(&u32::try_from(round).unwrap().to_be_bytes());
    buf.extend((8..len).map(|i| (i ^ id.wrapping_mul(31) ^ round) as u8));
    buf
}

/// Checks that every client reported success once, that the server did, and returns what the
/// server reported, how many connection actors reported and the bytes they echoed.
fn check_reports(reports: &mpsc::Receiver<Report>, count: usize) -> (usize, usize, usize) {
    let mut clients = vec![false; count];
    let mut server = None;
    let mut connections = 0;
    let mut connection_bytes = 0;
    for (id, result) in reports.try_iter() {
        match id {
            SERVER => {
                assert!(server.is_none(), "two server reports");
                server = Some(result.unwrap_or_else(|err| panic!("the server failed: {err}")));
            }
            CONNECTION => {
                connections += 1;
                connection_bytes +=
                    result.unwrap_or_else(|err| panic!("a connection failed: {err}"));
            }
            id => {
                result.unwrap_or_else(|err| panic!("client {id} failed: {err}"));
                assert!(!clients[id], "client {id} reported twice");
                clients[id] = true;
            }
        }
    }
    let missing: Vec<_> = (0..count).filter(|&id| !clients[id]).collect();
    assert!(missing.is_empty(), "clients {missing:?} did not finish");
    let server = server.expect("the server did not report");
    (server, connections, connection_bytes)
}

/// The bytes `count` clients send in all, in messages of at most `max` bytes.
fn total_bytes(max: usize, count: usize) -> usize {
    (0..count)
        .flat_map(|id| (0..ROUNDS).map(move |round| payload(id, round, max).len()))
        .sum()
}

// Streams.

/// Echoes what the client sends until it closes its side; returns the bytes echoed.
async fn echo_connection<RT: Access + Clone>(rt: RT, stream: UnixStream) -> Result<usize, String> {
    let mut echoed = 0;
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        buf = Deadline::after(rt.clone(), TIMEOUT, stream.recv(buf))
            .await
            .map_err(failed("connection can't receive"))?;
        if buf.is_empty() {
            return Ok(echoed);
        }
        echoed += buf.len();
        buf = stream
            .send_all(buf)
            .await
            .map_err(failed("connection can't send"))?;
    }
}

/// Connects to the server at `path` (by path or, for odd ids, by address), sends [`ROUNDS`]
/// messages one at a time and checks every byte of each echo, then closes its side and waits for
/// the server to close its own.
async fn stream_client<RT: Access + Clone>(
    rt: RT,
    id: usize,
    path: &Path,
    max: usize,
) -> Result<(), String> {
    let stream = if id.is_multiple_of(2) {
        UnixStream::connect(&rt, path).await
    } else {
        let address = SocketAddr::from_pathname(path).map_err(failed("address"))?;
        UnixStream::connect_addr(&rt, &address).await
    }
    .map_err(failed("can't connect"))?;
    let peer = stream.peer_addr().map_err(failed("peer address"))?;
    expect_eq("peer", peer.as_pathname(), Some(path))?;
    let local = stream.local_addr().map_err(failed("local address"))?;
    expect_eq("local address is unnamed", local.is_unnamed(), true)?;
    let mut buf = Vec::with_capacity(max);
    for round in 0..ROUNDS {
        let message = payload(id, round, max);
        let message = stream
            .send_all(message)
            .await
            .map_err(|err| format!("round {round}: can't send: {err}"))?;
        buf.clear();
        buf = Deadline::after(rt.clone(), TIMEOUT, stream.recv_n(buf, message.len()))
            .await
            .map_err(|err| format!("round {round}: can't receive the echo: {err}"))?;
        if buf != message {
            return Err(format!(
                "round {round}: wrong echo of {} bytes (sent {})",
                buf.len(),
                message.len()
            ));
        }
    }
    stream
        .shutdown(Shutdown::Write)
        .await
        .map_err(failed("can't shut down"))?;
    buf.clear();
    let buf = Deadline::after(rt.clone(), TIMEOUT, stream.recv(buf))
        .await
        .map_err(failed("can't receive the end"))?;
    expect_eq("bytes after the end", buf.len(), 0)
}

/// The next connection of `incoming`, or an error if none comes within [`TIMEOUT`].
async fn next_connection<RT: Access>(
    rt: RT,
    incoming: &mut Pin<&mut Incoming<'_>>,
) -> io::Result<UnixStream> {
    let next = poll_fn(|cx| {
        incoming
            .as_mut()
            .poll_next(cx)
            .map(|next| next.unwrap_or_else(|| Err(io::Error::other("incoming ended"))))
    });
    Deadline::after(rt, TIMEOUT, next).await
}

/// Accepts [`CLIENTS`] connections from `incoming` and starts an echo actor for each, next to
/// itself; returns how many it accepted.
async fn local_stream_server(
    mut ctx: actor::Context<Infallible, ThreadLocal>,
    listener: UnixListener,
    reports: mpsc::Sender<Report>,
) {
    let rt = ctx.runtime_ref().clone();
    let mut incoming = pin!(listener.incoming());
    let mut accepted = 0;
    let result = loop {
        if accepted == CLIENTS {
            break Ok(accepted);
        }
        match next_connection(rt.clone(), &mut incoming).await {
            Ok(stream) => {
                accepted += 1;
                let arg = (stream, reports.clone());
                let options = ActorOptions::default();
                ctx.runtime()
                    .spawn_local(NoSupervisor, actor_fn(local_connection), arg, options);
            }
            Err(err) => break Err(format!("can't accept connection {accepted}: {err}")),
        }
    };
    reports.send((SERVER, result)).unwrap();
}

async fn local_connection(
    ctx: actor::Context<Infallible, ThreadLocal>,
    stream: UnixStream,
    reports: mpsc::Sender<Report>,
) {
    let result = echo_connection(ctx.runtime_ref().clone(), stream).await;
    reports.send((CONNECTION, result)).unwrap();
}

async fn local_stream_client(
    ctx: actor::Context<Infallible, ThreadLocal>,
    id: usize,
    path: PathBuf,
    max: usize,
    reports: mpsc::Sender<Report>,
) {
    let result = stream_client(ctx.runtime_ref().clone(), id, &path, max).await;
    reports.send((id, result.map(|()| 0))).unwrap();
}

/// The server, its connections and the clients as thread-local actors on two workers; the clients
/// send messages of at most `max` bytes.
fn thread_local_stream_echo(max: usize) {
    // Hundreds of sockets.
    let _one = one_at_a_time();
    let dir = TempDir::new(&format!("stream-local-{max}"));
    let path = dir.join("server.sock");
    let (report, reports) = mpsc::channel();
    run_runtime(2, move |runtime| {
        let server_report = report.clone();
        let server_path = path.clone();
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
                if rt.worker_index() == 0 {
                    let listener = UnixListener::bind(&rt, &server_path)?;
                    let arg = (listener, server_report);
                    let options = ActorOptions::default();
                    rt.spawn_local(NoSupervisor, actor_fn(local_stream_server), arg, options);
                }
                Ok(())
            })
            .unwrap();
        // Half the clients on each worker: the one of the server and the other.
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                for id in (rt.worker_index()..CLIENTS).step_by(2) {
                    let arg = (id, path.clone(), max, report.clone());
                    let options = ActorOptions::default();
                    rt.spawn_local(NoSupervisor, actor_fn(local_stream_client), arg, options);
                }
                Ok(())
            })
            .unwrap();
    });
    let (accepted, connections, echoed) = check_reports(&reports, CLIENTS);
    assert_eq!(accepted, CLIENTS, "connections accepted");
    assert_eq!(connections, CLIENTS, "connections that ended");
    assert_eq!(echoed, total_bytes(max, CLIENTS), "bytes echoed");
}

#[test]
fn stream_echo_with_many_thread_local_clients() {
    thread_local_stream_echo(MAX_STREAM_MESSAGE);
}

#[test]
fn stream_echo_with_many_thread_local_clients_and_large_messages() {
    thread_local_stream_echo(LARGE_STREAM_MESSAGE);
}

/// Binds a listener on the shared ring, starts `clients` clients, and accepts their connections
/// with `accept`, starting a thread-safe echo actor for each.
async fn shared_stream_server(
    mut ctx: actor::Context<Infallible, ThreadSafe>,
    path: PathBuf,
    reports: mpsc::Sender<Report>,
    clients: usize,
) {
    let listener = match UnixListener::bind(ctx.runtime_ref(), &path) {
        Ok(listener) => listener,
        Err(err) => return reports.send((SERVER, Err(err.to_string()))).unwrap(),
    };
    for id in 0..clients {
        let arg = (id, path.clone(), reports.clone());
        let options = ActorOptions::default();
        ctx.runtime()
            .spawn(NoSupervisor, actor_fn(shared_stream_client), arg, options);
    }
    let rt = ctx.runtime_ref().clone();
    let mut accepted = 0;
    let result = loop {
        if accepted == clients {
            break Ok(accepted);
        }
        match Deadline::after(rt.clone(), TIMEOUT, listener.accept()).await {
            Ok((stream, peer)) if peer.is_unnamed() => {
                accepted += 1;
                let arg = (stream, reports.clone());
                let options = ActorOptions::default();
                ctx.runtime()
                    .spawn(NoSupervisor, actor_fn(shared_connection), arg, options);
            }
            Ok((_, peer)) => break Err(format!("a client with an address: {peer:?}")),
            Err(err) => break Err(format!("can't accept connection {accepted}: {err}")),
        }
    };
    reports.send((SERVER, result)).unwrap();
}

async fn shared_connection(
    ctx: actor::Context<Infallible, ThreadSafe>,
    stream: UnixStream,
    reports: mpsc::Sender<Report>,
) {
    let result = echo_connection(ctx.runtime_ref().clone(), stream).await;
    reports.send((CONNECTION, result)).unwrap();
}

async fn shared_stream_client(
    ctx: actor::Context<Infallible, ThreadSafe>,
    id: usize,
    path: PathBuf,
    reports: mpsc::Sender<Report>,
) {
    let result = stream_client(ctx.runtime_ref().clone(), id, &path, MAX_STREAM_MESSAGE).await;
    reports.send((id, result.map(|()| 0))).unwrap();
}

/// The server, `clients` clients and their connections as thread-safe actors, on two workers.
fn thread_safe_stream_echo(clients: usize) {
    // Hundreds of sockets.
    let _one = one_at_a_time();
    let dir = TempDir::new(&format!("stream-shared-{clients}"));
    let path = dir.join("server.sock");
    let (report, reports) = mpsc::channel();
    run_runtime(2, move |runtime| {
        let arg = (path, report, clients);
        let options = ActorOptions::default();
        runtime.spawn(NoSupervisor, actor_fn(shared_stream_server), arg, options);
    });
    let (accepted, connections, echoed) = check_reports(&reports, clients);
    assert_eq!(accepted, clients, "connections accepted");
    assert_eq!(connections, clients, "connections that ended");
    assert_eq!(
        echoed,
        total_bytes(MAX_STREAM_MESSAGE, clients),
        "bytes echoed"
    );
}

#[test]
fn stream_echo_with_thread_safe_clients() {
    thread_safe_stream_echo(SHARED_CLIENTS);
}

#[test]
fn stream_echo_with_many_thread_safe_clients() {
    thread_safe_stream_echo(CLIENTS);
}

// Datagrams.

/// Echoes datagrams to their senders until its inbox disconnects (its clients hold its
/// references); returns the bytes it echoed.
async fn serve_datagrams<RT: Access + Clone>(
    ctx: &mut actor::Context<Terminate, RT>,
    socket: &UnixDatagram,
) -> Result<usize, String> {
    let rt = ctx.runtime_ref().clone();
    let mut echoed = 0;
    let recv = socket.recv_from(Vec::with_capacity(CAPACITY));
    let mut recv = pin!(Deadline::after(rt.clone(), TIMEOUT, recv));
    loop {
        let received = poll_fn(|cx| {
            if pin!(ctx.receive_next()).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            recv.as_mut().poll(cx).map(Some)
        })
        .await;
        let Some(received) = received else {
            return Ok(echoed);
        };
        let (buf, peer) = received.map_err(failed("server can't receive"))?;
        let (mut buf, sent) = socket
            .send_to_addr(buf, &peer)
            .await
            .map_err(failed("server can't send"))?;
        if sent != buf.len() {
            return Err(format!("server sent {sent} of {} bytes", buf.len()));
        }
        echoed += sent;
        buf.clear();
        recv.set(Deadline::after(rt.clone(), TIMEOUT, socket.recv_from(buf)));
    }
}

/// Binds to a path in `dir` (even ids) or an abstract name (odd ids), sends [`ROUNDS`] datagrams
/// to the server at `server` one at a time and checks every byte of each echo. Clients with
/// `id % 4 < 2` connect and use `send`/`recv`, the others `send_to`/`recv_from`.
async fn datagram_client<RT: Access + Clone>(
    rt: RT,
    id: usize,
    dir: &Path,
    server: &Path,
) -> Result<(), String> {
    let socket = if id.is_multiple_of(2) {
        UnixDatagram::bind(&rt, dir.join(format!("client-{id}.sock")))
    } else {
        let dir_name = dir.file_name().unwrap_or_default().to_string_lossy();
        UnixDatagram::bind_addr(&rt, &abstract_addr(&format!("{dir_name}-client-{id}")))
    }
    .map_err(failed("can't bind"))?;
    let connected = id % 4 < 2;
    if connected {
        socket.connect(server).map_err(failed("can't connect"))?;
        let peer = socket.peer_addr().map_err(failed("peer address"))?;
        expect_eq("peer", peer.as_pathname(), Some(server))?;
    }
    let mut buf = Vec::with_capacity(CAPACITY);
    for round in 0..ROUNDS {
        let datagram = payload(id, round, MAX_DATAGRAM);
        let (datagram, sent) = if connected {
            socket.send(datagram).await
        } else {
            socket.send_to(datagram, server).await
        }
        .map_err(|err| format!("round {round}: can't send: {err}"))?;
        expect_eq("bytes sent", sent, datagram.len())?;
        buf.clear();
        let echo = if connected {
            let recv = Deadline::after(rt.clone(), TIMEOUT, socket.recv(buf));
            recv.await.map(|buf| (buf, None))
        } else {
            let recv = Deadline::after(rt.clone(), TIMEOUT, socket.recv_from(buf));
            recv.await.map(|(buf, from)| (buf, Some(from)))
        };
        let (echo, from) = echo.map_err(|err| format!("round {round}: no echo: {err}"))?;
        if let Some(from) = from {
            expect_eq("sender", from.as_pathname(), Some(server))?;
        }
        if echo != datagram {
            return Err(format!(
                "round {round}: wrong echo of {} bytes (sent {})",
                echo.len(),
                datagram.len()
            ));
        }
        buf = echo;
    }
    Ok(())
}

async fn local_datagram_server(
    mut ctx: actor::Context<Terminate, ThreadLocal>,
    socket: UnixDatagram,
    reports: mpsc::Sender<Report>,
) {
    let result = serve_datagrams(&mut ctx, &socket).await;
    reports.send((SERVER, result)).unwrap();
}

/// Holds the server's reference until it is done.
async fn local_datagram_client(
    ctx: actor::Context<Infallible, ThreadLocal>,
    id: usize,
    dir: PathBuf,
    reports: mpsc::Sender<Report>,
    _server_ref: ActorRef<Terminate>,
) {
    let server = dir.join("server.sock");
    let result = datagram_client(ctx.runtime_ref().clone(), id, &dir, &server).await;
    reports.send((id, result.map(|()| 0))).unwrap();
}

#[test]
fn datagram_echo_with_many_thread_local_clients() {
    // Hundreds of sockets.
    let _one = one_at_a_time();
    let dir = TempDir::new("datagram-local");
    let dir_path = dir.path().to_owned();
    let (report, reports) = mpsc::channel();
    run_runtime(2, move |runtime| {
        let (server_tx, server_rx) = mpsc::channel();
        let server_report = report.clone();
        let server_path = dir_path.join("server.sock");
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
                if rt.worker_index() == 0 {
                    let socket = UnixDatagram::bind(&rt, &server_path)?;
                    let arg = (socket, server_report);
                    let options = ActorOptions::default();
                    let server =
                        rt.spawn_local(NoSupervisor, actor_fn(local_datagram_server), arg, options);
                    server_tx.send(server).unwrap();
                }
                Ok(())
            })
            .unwrap();
        let server = server_rx.recv().unwrap();
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                for id in (rt.worker_index()..CLIENTS).step_by(2) {
                    let arg = (id, dir_path.clone(), report.clone(), server.clone());
                    let options = ActorOptions::default();
                    rt.spawn_local(NoSupervisor, actor_fn(local_datagram_client), arg, options);
                }
                Ok(())
            })
            .unwrap();
    });
    let (echoed, _, _) = check_reports(&reports, CLIENTS);
    assert_eq!(echoed, total_bytes(MAX_DATAGRAM, CLIENTS), "bytes echoed");
}

/// Binds its socket on the shared ring and starts `clients` clients, which hold its references.
async fn shared_datagram_server(
    mut ctx: actor::Context<Terminate, ThreadSafe>,
    dir: PathBuf,
    reports: mpsc::Sender<Report>,
    clients: usize,
) {
    let socket = match UnixDatagram::bind(ctx.runtime_ref(), dir.join("server.sock")) {
        Ok(socket) => socket,
        Err(err) => return reports.send((SERVER, Err(err.to_string()))).unwrap(),
    };
    for id in 0..clients {
        let arg = (id, dir.clone(), reports.clone(), ctx.actor_ref());
        let options = ActorOptions::default();
        ctx.runtime()
            .spawn(NoSupervisor, actor_fn(shared_datagram_client), arg, options);
    }
    let result = serve_datagrams(&mut ctx, &socket).await;
    reports.send((SERVER, result)).unwrap();
}

async fn shared_datagram_client(
    ctx: actor::Context<Infallible, ThreadSafe>,
    id: usize,
    dir: PathBuf,
    reports: mpsc::Sender<Report>,
    _server_ref: ActorRef<Terminate>,
) {
    let server = dir.join("server.sock");
    let result = datagram_client(ctx.runtime_ref().clone(), id, &dir, &server).await;
    reports.send((id, result.map(|()| 0))).unwrap();
}

/// The server and `clients` clients as thread-safe actors, on two workers.
fn thread_safe_datagram_echo(clients: usize) {
    // Hundreds of sockets.
    let _one = one_at_a_time();
    let dir = TempDir::new(&format!("datagram-shared-{clients}"));
    let dir_path = dir.path().to_owned();
    let (report, reports) = mpsc::channel();
    run_runtime(2, move |runtime| {
        let arg = (dir_path, report, clients);
        let options = ActorOptions::default();
        runtime.spawn(NoSupervisor, actor_fn(shared_datagram_server), arg, options);
    });
    let (echoed, _, _) = check_reports(&reports, clients);
    assert_eq!(echoed, total_bytes(MAX_DATAGRAM, clients), "bytes echoed");
}

#[test]
fn datagram_echo_with_thread_safe_clients() {
    thread_safe_datagram_echo(SHARED_CLIENTS);
}

#[test]
fn datagram_echo_with_many_thread_safe_clients() {
    thread_safe_datagram_echo(CLIENTS);
}

// Operations one by one.

#[test]
fn stream_operations() {
    check_in_actor(|rt| async move {
        let (a, b) = UnixStream::pair(&rt).map_err(failed("pair"))?;
        let unnamed = a.peer_addr().map_err(failed("a's peer"))?.is_unnamed();
        expect_eq("a pair's peer is unnamed", unnamed, true)?;

        let (_, n) = a.send("hello").await.map_err(failed("send"))?;
        expect_eq("bytes sent", n, 5)?;
        let buf = b
            .peek(Vec::with_capacity(16))
            .await
            .map_err(failed("peek"))?;
        expect_eq("peeked", &buf[..], b"hello")?;
        let buf = b
            .recv(Vec::with_capacity(16))
            .await
            .map_err(failed("recv"))?;
        expect_eq("received", &buf[..], b"hello")?;

        let (_, n) = a
            .send_vectored(["ab", "cd"])
            .await
            .map_err(failed("send_vectored"))?;
        expect_eq("bytes sent vectored", n, 4)?;
        a.send_all_vectored([&b"ef"[..], &b"gh"[..]])
            .await
            .map_err(failed("send_all_vectored"))?;
        let bufs = [Vec::with_capacity(3), Vec::with_capacity(8)];
        let bufs = b
            .recv_n_vectored(bufs, 8)
            .await
            .map_err(failed("recv_n_vectored"))?;
        expect_eq(
            "received vectored",
            (&bufs[0][..], &bufs[1][..]),
            (&b"abc"[..], &b"defgh"[..]),
        )?;
        // Nothing to send is sent at once (a10 alone fails with
        // `WriteZero`; `UnixStream` once did too, unlike `TcpStream`).
        a.send_all(Vec::new())
            .await
            .map_err(failed("send_all of nothing"))?;
        a.send_all_vectored([Vec::new(), Vec::new()])
            .await
            .map_err(failed("send_all_vectored of nothing"))?;
        a.send_all("ij").await.map_err(failed("send_all"))?;
        let bufs = [Vec::with_capacity(1), Vec::with_capacity(8)];
        let bufs = b
            .recv_vectored(bufs)
            .await
            .map_err(failed("recv_vectored"))?;
        expect_eq(
            "received vectored",
            (&bufs[0][..], &bufs[1][..]),
            (&b"i"[..], &b"j"[..]),
        )?;

        // The end of the stream.
        a.send_all("kl").await.map_err(failed("send_all"))?;
        a.shutdown(Shutdown::Write)
            .await
            .map_err(failed("shutdown"))?;
        let err = b
            .recv_n(Vec::with_capacity(8), 4)
            .await
            .expect_err("read past the end");
        expect_eq(
            "reading past the end",
            err.kind(),
            io::ErrorKind::UnexpectedEof,
        )?;
        let buf = b
            .recv(Vec::with_capacity(8))
            .await
            .map_err(failed("recv at the end"))?;
        expect_eq("bytes at the end", buf.len(), 0)?;

        // A listener on an abstract name.
        let address = abstract_addr("stream-operations");
        let listener = UnixListener::bind_addr(&rt, &address).map_err(failed("bind_addr"))?;
        let local = listener
            .local_addr()
            .map_err(failed("listener's address"))?;
        expect_eq(
            "listener's name",
            local.as_abstract_name(),
            address.as_abstract_name(),
        )?;
        let client = UnixStream::connect_addr(&rt, &address)
            .await
            .map_err(failed("connect"))?;
        let (server, peer) = listener.accept().await.map_err(failed("accept"))?;
        expect_eq("an unbound client is unnamed", peer.is_unnamed(), true)?;
        let peer = client.peer_addr().map_err(failed("client's peer"))?;
        expect_eq(
            "client's peer",
            peer.as_abstract_name(),
            address.as_abstract_name(),
        )?;
        client
            .send_all("over a listener")
            .await
            .map_err(failed("client send"))?;
        let buf = server
            .recv_n(Vec::with_capacity(32), 15)
            .await
            .map_err(failed("server recv"))?;
        expect_eq("received from the client", &buf[..], b"over a listener")?;
        let error = client.take_error().map_err(failed("take_error"))?;
        expect_eq("pending error", error.map(|err| err.to_string()), None)?;
        let debug = format!("{listener:?}");
        if !debug.contains("UnixListener") {
            return Err(format!("Debug of the listener: {debug}"));
        }
        Ok(())
    });
}

#[test]
fn datagram_operations() {
    let dir = TempDir::new("datagram-operations");
    let path = dir.join("a.sock");
    check_in_actor(move |rt| async move {
        // A pair.
        let (a, b) = UnixDatagram::pair(&rt).map_err(failed("pair"))?;
        let (_, n) = a.send("hello").await.map_err(failed("send"))?;
        expect_eq("bytes sent", n, 5)?;
        let buf = b
            .peek(Vec::with_capacity(16))
            .await
            .map_err(failed("peek"))?;
        expect_eq("peeked", &buf[..], b"hello")?;
        let buf = b
            .recv(Vec::with_capacity(16))
            .await
            .map_err(failed("recv"))?;
        expect_eq("received", &buf[..], b"hello")?;
        let (_, n) = b.send("abcd").await.map_err(failed("send"))?;
        expect_eq("bytes sent", n, 4)?;
        let bufs = [Vec::with_capacity(1), Vec::with_capacity(8)];
        let bufs = a
            .recv_vectored(bufs)
            .await
            .map_err(failed("recv_vectored"))?;
        expect_eq(
            "received vectored",
            (&bufs[0][..], &bufs[1][..]),
            (&b"a"[..], &b"bcd"[..]),
        )?;
        // Datagrams keep their boundaries; a long one is cut.
        a.send(vec![7; 100]).await.map_err(failed("send long"))?;
        a.send("next").await.map_err(failed("send next"))?;
        let buf = b
            .recv(Vec::with_capacity(10))
            .await
            .map_err(failed("recv long"))?;
        expect_eq("cut datagram", &buf[..], &[7; 10][..])?;
        let buf = b
            .recv(Vec::with_capacity(10))
            .await
            .map_err(failed("recv next"))?;
        expect_eq("next datagram", &buf[..], b"next")?;

        // Bound to a path; an unbound sender is unnamed.
        let bound = UnixDatagram::bind(&rt, &path).map_err(failed("bind"))?;
        let local = bound.local_addr().map_err(failed("local address"))?;
        expect_eq("bound to", local.as_pathname(), Some(&*path))?;
        let unbound = UnixDatagram::unbound(&rt).map_err(failed("unbound"))?;
        let local = unbound.local_addr().map_err(failed("unbound's address"))?;
        expect_eq("unbound is unnamed", local.is_unnamed(), true)?;
        unbound
            .send_to("from no one", &path)
            .await
            .map_err(failed("send_to"))?;
        let (buf, from) = bound
            .peek_from(Vec::with_capacity(32))
            .await
            .map_err(failed("peek_from"))?;
        expect_eq(
            "peeked",
            (&buf[..], from.is_unnamed()),
            (&b"from no one"[..], true),
        )?;
        let (buf, from) = bound
            .recv_from(Vec::with_capacity(32))
            .await
            .map_err(failed("recv_from"))?;
        expect_eq(
            "received",
            (&buf[..], from.is_unnamed()),
            (&b"from no one"[..], true),
        )?;

        // Abstract names, vectored send_to and recv_from.
        let address = abstract_addr("datagram-operations");
        let named = UnixDatagram::bind_addr(&rt, &address).map_err(failed("bind_addr"))?;
        let local = named.local_addr().map_err(failed("abstract address"))?;
        expect_eq(
            "abstract name",
            local.as_abstract_name(),
            address.as_abstract_name(),
        )?;
        let bound_addr = bound.local_addr().map_err(failed("local address"))?;
        let (_, n) = named
            .send_to_addr("to a path", &bound_addr)
            .await
            .map_err(failed("send_to_addr"))?;
        expect_eq("bytes sent", n, 9)?;
        let bufs = [Vec::with_capacity(2), Vec::with_capacity(16)];
        let (bufs, from) = bound
            .recv_from_vectored(bufs)
            .await
            .map_err(failed("recv_from_vectored"))?;
        expect_eq(
            "received vectored",
            (&bufs[0][..], &bufs[1][..]),
            (&b"to"[..], &b" a path"[..]),
        )?;
        expect_eq(
            "sender's name",
            from.as_abstract_name(),
            address.as_abstract_name(),
        )?;
        // Answer to the address received.
        bound
            .send_to_addr("back", &from)
            .await
            .map_err(failed("send_to_addr"))?;
        let (buf, from) = named
            .recv_from(Vec::with_capacity(16))
            .await
            .map_err(failed("recv_from"))?;
        expect_eq(
            "answer",
            (&buf[..], from.as_pathname()),
            (&b"back"[..], Some(&*path)),
        )?;

        // Connected to an abstract name.
        unbound
            .connect_addr(&address)
            .map_err(failed("connect_addr"))?;
        let peer = unbound.peer_addr().map_err(failed("peer"))?;
        expect_eq("peer", peer.as_abstract_name(), address.as_abstract_name())?;
        unbound
            .send("connected")
            .await
            .map_err(failed("send connected"))?;
        let buf = named
            .recv(Vec::with_capacity(16))
            .await
            .map_err(failed("recv connected"))?;
        expect_eq("received connected", &buf[..], b"connected")?;

        // Shut down: sending fails.
        unbound
            .shutdown(Shutdown::Write)
            .await
            .map_err(failed("shutdown"))?;
        let err = unbound
            .send("after")
            .await
            .expect_err("sent after shutting down");
        expect_eq(
            "sending after shutting down",
            err.kind(),
            io::ErrorKind::BrokenPipe,
        )?;
        let error = bound.take_error().map_err(failed("take_error"))?;
        expect_eq("pending error", error.map(|err| err.to_string()), None)?;
        let debug = format!("{bound:?}");
        if !debug.contains("a.sock") {
            return Err(format!("Debug does not show the path: {debug}"));
        }
        Ok(())
    });
}

/// Receives time out (their futures are dropped while the kernel waits), then the sockets are used
/// again: everything sent afterwards arrives whole.
async fn dropped_receives<RT: Access + Clone>(rt: RT) -> Result<(), String> {
    let (a, b) = UnixStream::pair(&rt).map_err(failed("stream pair"))?;
    let (c, d) = UnixDatagram::pair(&rt).map_err(failed("datagram pair"))?;
    let wait = Duration::from_millis(20);
    for i in 0..10_u8 {
        let timed_out = match i % 4 {
            0 => Deadline::after(rt.clone(), wait, b.recv(Vec::with_capacity(64))).await,
            1 => Deadline::after(rt.clone(), wait, b.recv_n(Vec::with_capacity(64), 2)).await,
            2 => Deadline::after(rt.clone(), wait, d.recv(Vec::with_capacity(64))).await,
            _ => Deadline::after(rt.clone(), wait, d.recv_from(Vec::with_capacity(64)))
                .await
                .map(|(buf, _)| buf),
        };
        match timed_out {
            Err(err) if err.kind() == io::ErrorKind::TimedOut => {}
            Err(err) => return Err(format!("try {i}: the receive failed: {err}")),
            Ok(buf) => return Err(format!("try {i}: received {buf:?}, which no one sent")),
        }
        let message = vec![i; 10 + usize::from(i)];
        a.send_all(message.clone())
            .await
            .map_err(failed("send_all"))?;
        let recv = b.recv_n(Vec::with_capacity(64), message.len());
        let buf = Deadline::after(rt.clone(), TIMEOUT, recv)
            .await
            .map_err(|err| format!("try {i}: no bytes after the dropped receive: {err}"))?;
        expect_eq("bytes after a dropped receive", &buf, &message)?;
        c.send(message.clone()).await.map_err(failed("send"))?;
        let buf = Deadline::after(rt.clone(), TIMEOUT, d.recv(Vec::with_capacity(64)))
            .await
            .map_err(|err| format!("try {i}: no datagram after the dropped receive: {err}"))?;
        expect_eq("datagram after a dropped receive", &buf, &message)?;
    }
    Ok(())
}

#[test]
fn dropped_receive_then_reuse_in_a_thread_local_actor() {
    check_in_actor(dropped_receives);
}

#[test]
fn dropped_receive_then_reuse_in_a_thread_safe_actor() {
    check_in_thread_safe_actor(dropped_receives);
}

// Errors.

/// Fails unless `result` is an error of `kind` whose message names `name`.
fn expect_error<T>(
    what: &str,
    result: io::Result<T>,
    kind: io::ErrorKind,
    name: &str,
) -> Result<(), String> {
    let err = match result {
        Ok(_) => return Err(format!("{what}: succeeded")),
        Err(err) => err,
    };
    expect_eq(what, err.kind(), kind)?;
    let msg = err.to_string();
    if !msg.contains(name) {
        return Err(format!("{what}: the error does not name {name}: {msg}"));
    }
    Ok(())
}

#[test]
fn binding_to_a_path_that_exists_fails_naming_it() {
    let dir = TempDir::new("bind-errors");
    let path = dir.join("taken.sock");
    let file = dir.join("file");
    std::fs::write(&file, "not a socket").unwrap();
    check_in_actor(move |rt| async move {
        let name = path.display().to_string();
        let _listener = UnixListener::bind(&rt, &path).map_err(failed("bind"))?;
        let in_use = io::ErrorKind::AddrInUse;
        expect_error(
            "listener on a socket",
            UnixListener::bind(&rt, &path),
            in_use,
            &name,
        )?;
        expect_error(
            "datagram on a socket",
            UnixDatagram::bind(&rt, &path),
            in_use,
            &name,
        )?;
        let name = file.display().to_string();
        expect_error(
            "listener on a file",
            UnixListener::bind(&rt, &file),
            in_use,
            &name,
        )?;
        expect_error(
            "datagram on a file",
            UnixDatagram::bind(&rt, &file),
            in_use,
            &name,
        )?;
        let address = abstract_addr("bind-errors");
        let _socket = UnixDatagram::bind_addr(&rt, &address).map_err(failed("bind_addr"))?;
        let name = format!("@kiln-rt-{}-bind-errors", std::process::id());
        expect_error(
            "abstract name",
            UnixDatagram::bind_addr(&rt, &address),
            in_use,
            &name,
        )?;
        let long = "x".repeat(200);
        let invalid = io::ErrorKind::InvalidInput;
        expect_error(
            "a path too long",
            UnixListener::bind(&rt, &long),
            invalid,
            &long,
        )?;
        Ok(())
    });
}

#[test]
fn connecting_or_sending_to_a_missing_path_fails_naming_it() {
    let dir = TempDir::new("connect-errors");
    let path = dir.join("missing.sock");
    check_in_actor(move |rt| async move {
        let name = path.display().to_string();
        let not_found = io::ErrorKind::NotFound;
        let connect = UnixStream::connect(&rt, &path).await;
        expect_error("stream connect", connect, not_found, &name)?;
        let socket = UnixDatagram::unbound(&rt).map_err(failed("unbound"))?;
        expect_error("datagram connect", socket.connect(&path), not_found, &name)?;
        let send = socket.send_to("hello", &path).await;
        expect_error("send_to", send, not_found, &name)?;
        // An abstract name no one bound.
        let address = abstract_addr("connect-errors");
        let name = format!("@kiln-rt-{}-connect-errors", std::process::id());
        let refused = io::ErrorKind::ConnectionRefused;
        let connect = UnixStream::connect_addr(&rt, &address).await;
        expect_error("stream connect to a name", connect, refused, &name)?;
        Ok(())
    });
}

/// A receiver's queue holds a few datagrams (`net.unix.max_dgram_qlen`); a send that finds it full
/// waits for room and then sends the whole datagram (through io_uring the kernel sends an empty
/// one, see `kiln_rt::net::unix::UnixDatagram`). Sending to a path, to the connected peer and to
/// an abstract name.
#[test]
fn send_to_a_full_queue_waits_for_room() {
    let dir = TempDir::new("full-queue");
    let path = dir.join("receiver.sock");
    check_in_actor(move |rt| async move {
        for mode in ["path", "connected", "abstract name"] {
            let (receiver, address) = if mode == "abstract name" {
                let address = abstract_addr("full-queue");
                let receiver = UnixDatagram::bind_addr(&rt, &address).map_err(failed("bind"))?;
                (receiver, address)
            } else {
                let _ = std::fs::remove_file(&path);
                let receiver = UnixDatagram::bind(&rt, &path).map_err(failed("bind"))?;
                (receiver, SocketAddr::from_pathname(&path).unwrap())
            };
            let sender = UnixDatagram::unbound(&rt).map_err(failed("unbound"))?;
            if mode == "connected" {
                sender.connect(&path).map_err(failed("connect"))?;
            }
            let (sender_ref, path_ref, address_ref) = (&sender, &path, &address);
            let send = move |n: u8| async move {
                let datagram = vec![n; 100];
                let sent = match mode {
                    "path" => sender_ref.send_to(datagram, path_ref).await,
                    "connected" => sender_ref.send(datagram).await,
                    _ => sender_ref.send_to_addr(datagram, address_ref).await,
                };
                sent.map(|(_, n)| n)
            };
            // Fill the queue: send until a send waits.
            let mut queued = 0_u8;
            let mut waiting = loop {
                let mut send = Box::pin(send(queued));
                match poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx))).await {
                    Poll::Ready(Ok(100)) => queued += 1,
                    Poll::Ready(Ok(n)) => return Err(format!("{mode}: sent {n} of 100 bytes")),
                    Poll::Ready(Err(err)) => return Err(format!("{mode}: can't send: {err}")),
                    Poll::Pending => break send,
                }
                if queued == u8::MAX {
                    return Err(format!(
                        "{mode}: the queue takes more than {queued} datagrams"
                    ));
                }
            };
            // Still waiting a while later.
            let wait = Duration::from_millis(30);
            match Deadline::after(rt.clone(), wait, waiting.as_mut()).await {
                Err(err) if err.kind() == io::ErrorKind::TimedOut => {}
                other => return Err(format!("{mode}: send to a full queue: {other:?}")),
            }
            // Room for one: the waiting send sends its datagram, whole.
            let buf = receiver
                .recv(Vec::with_capacity(200))
                .await
                .map_err(failed("recv"))?;
            expect_eq("first datagram", buf, vec![0; 100])?;
            let sent = Deadline::after(rt.clone(), TIMEOUT, waiting)
                .await
                .map_err(|err| format!("{mode}: the waiting send failed: {err}"))?;
            expect_eq("bytes sent after waiting", sent, 100)?;
            for n in 1..=queued {
                let recv = receiver.recv(Vec::with_capacity(200));
                let buf = Deadline::after(rt.clone(), TIMEOUT, recv)
                    .await
                    .map_err(failed("recv"))?;
                expect_eq("queued datagram", buf, vec![n; 100])?;
            }
        }
        Ok(())
    });
}
