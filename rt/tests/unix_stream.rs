//! Unix stream sockets on the runtime: an echo server with 200 clients, as thread-local actors on
//! two workers and as thread-safe actors on the shared ring (every byte of every echo checked;
//! clients connecting by path and by address), and the operations of streams and listeners one
//! by one (peek, vectored, the end of the stream, a listener on an abstract name).
//!
//! The heavier runs (a thread-safe echo with 200 clients besides 20, and a thread-local echo with
//! messages of up to 32 KiB besides 4 KiB) once found that a ring's wake-up could be lost with its
//! submission queue full (see `rt/src/runtime/io/ring_waker.rs`).

use std::convert::Infallible;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::linux::net::SocketAddrExt;
use std::path::PathBuf;
use std::pin::{Pin, pin};
use std::sync::mpsc;

use futures_core::Stream;
use kiln::supervisor::NoSupervisor;
use kiln::{actor, actor_fn};
use kiln_rt::Spawn;
use kiln_rt::net::unix::{Incoming, SocketAddr, UnixListener, UnixStream};
use kiln_rt::timer::Deadline;
use kiln_rt::{Access, ActorOptions, ThreadLocal, ThreadSafe};

mod util;

use util::check::{check_in_actor, expect_eq, expect_vectored, failed, peek_then_recv};
use util::echo::{
    CLIENTS, CONNECTION, ROUNDS, Report, Reports, SERVER, SHARED_CLIENTS, check_echo, client_actor,
    payload, thread_local_echo, thread_safe_echo, total_bytes,
};
use util::temp_dir::TempDir;
use util::timeout::TIMEOUT;
use util::unix::abstract_addr;

/// The largest message a stream client sends; the echo comes back in pieces.
const MAX_STREAM_MESSAGE: usize = 4096;
/// The largest message of the heavier stream echo, see the module docs.
const LARGE_STREAM_MESSAGE: usize = 32 * 1024;

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
/// the server to close its own. Reports nothing else (0).
async fn stream_client<RT: Access + Clone>(
    rt: RT,
    id: usize,
    path: PathBuf,
    max: usize,
) -> Result<usize, String> {
    let path = &*path;
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
        check_echo(round, &buf, &message)?;
    }
    stream
        .shutdown(Shutdown::Write)
        .await
        .map_err(failed("can't shut down"))?;
    buf.clear();
    let buf = Deadline::after(rt.clone(), TIMEOUT, stream.recv(buf))
        .await
        .map_err(failed("can't receive the end"))?;
    expect_eq("bytes after the end", buf.len(), 0)?;
    Ok(0)
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
                    .spawn_local(NoSupervisor, actor_fn(connection), arg, options);
            }
            Err(err) => break Err(format!("can't accept connection {accepted}: {err}")),
        }
    };
    reports.send((SERVER, result)).unwrap();
}

/// A server's connection: echoes it, reporting as a [`CONNECTION`].
async fn connection<RT: Access + Clone>(
    ctx: actor::Context<Infallible, RT>,
    stream: UnixStream,
    reports: mpsc::Sender<Report>,
) {
    let result = echo_connection(ctx.runtime_ref().clone(), stream).await;
    reports.send((CONNECTION, result)).unwrap();
}

/// Checks the reports of an echo with `clients` clients that sent messages of at most `max` bytes:
/// the server accepted every client, every connection ended, and every byte came back.
#[track_caller]
fn check_stream_echo(reports: &Reports, clients: usize, max: usize) {
    assert_eq!(reports.server, clients, "connections accepted");
    assert_eq!(reports.connections, clients, "connections that ended");
    let echoed = reports.connections_total;
    assert_eq!(echoed, total_bytes(max, clients), "bytes echoed");
}

/// The server, its connections and the clients as thread-local actors on two workers; the clients
/// send messages of at most `max` bytes.
fn thread_local_stream_echo(max: usize) {
    let dir = TempDir::new(&format!("stream-local-{max}"));
    let path = dir.join("server.sock");
    let server_path = path.clone();
    let reports = thread_local_echo(
        move |rt, server_report| {
            let listener = UnixListener::bind(rt, &server_path)?;
            let arg = (listener, server_report);
            let options = ActorOptions::default();
            rt.spawn_local(NoSupervisor, actor_fn(local_stream_server), arg, options);
            Ok(())
        },
        move |rt, id, (), report| {
            let path = path.clone();
            let client = move |rt| stream_client(rt, id, path, max);
            let arg = (id, client, (), report.clone());
            let options = ActorOptions::default();
            rt.spawn_local(NoSupervisor, actor_fn(client_actor), arg, options);
        },
    );
    check_stream_echo(&reports, CLIENTS, max);
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
        let path = path.clone();
        let client = move |rt| stream_client(rt, id, path, MAX_STREAM_MESSAGE);
        let arg = (id, client, (), reports.clone());
        let options = ActorOptions::default();
        ctx.runtime()
            .spawn(NoSupervisor, actor_fn(client_actor), arg, options);
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
                    .spawn(NoSupervisor, actor_fn(connection), arg, options);
            }
            Ok((_, peer)) => break Err(format!("a client with an address: {peer:?}")),
            Err(err) => break Err(format!("can't accept connection {accepted}: {err}")),
        }
    };
    reports.send((SERVER, result)).unwrap();
}

/// The server, `clients` clients and their connections as thread-safe actors, on two workers.
fn thread_safe_stream_echo(clients: usize) {
    let dir = TempDir::new(&format!("stream-shared-{clients}"));
    let path = dir.join("server.sock");
    let reports = thread_safe_echo(clients, move |runtime, report| {
        let arg = (path, report, clients);
        let options = ActorOptions::default();
        runtime.spawn(NoSupervisor, actor_fn(shared_stream_server), arg, options);
    });
    check_stream_echo(&reports, clients, MAX_STREAM_MESSAGE);
}

#[test]
fn stream_echo_with_thread_safe_clients() {
    thread_safe_stream_echo(SHARED_CLIENTS);
}

#[test]
fn stream_echo_with_many_thread_safe_clients() {
    thread_safe_stream_echo(CLIENTS);
}

#[test]
fn stream_operations() {
    check_in_actor(|rt| async move {
        let (a, b) = UnixStream::pair(&rt).map_err(failed("pair"))?;
        let unnamed = a.peer_addr().map_err(failed("a's peer"))?.is_unnamed();
        expect_eq("a pair's peer is unnamed", unnamed, true)?;

        let (_, n) = a.send("hello").await.map_err(failed("send"))?;
        expect_eq("bytes sent", n, 5)?;
        peek_then_recv!(b, b"hello");

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
        expect_vectored(&bufs, &[b"abc", b"defgh"])?;
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
        expect_vectored(&bufs, &[b"i", b"j"])?;

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
