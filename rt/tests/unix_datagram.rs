//! Unix datagram sockets on the runtime: an echo server with 200 clients, as thread-local actors
//! on two workers and as thread-safe actors on the shared ring (every byte of every echo checked;
//! clients bound to paths and to abstract names, connected and not), the sockets' operations one
//! by one, and a send to a full datagram queue.
//!
//! The thread-safe echo runs with 20 and with 200 clients: the larger one once found that a ring's
//! wake-up could be lost with its submission queue full (see `rt/src/runtime/io/ring_waker.rs`).

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::net::Shutdown;
use std::os::linux::net::SocketAddrExt;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::mpsc;
use std::task::Poll;
use std::time::Duration;

use kiln::messages::Terminate;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::Spawn;
use kiln_rt::net::unix::{SocketAddr, UnixDatagram};
use kiln_rt::timer::Deadline;
use kiln_rt::{Access, ActorOptions, RuntimeRef, ThreadLocal, ThreadSafe};

mod util;

use util::check::{check_in_actor, expect_eq, failed};
use util::echo::{
    CLIENTS, ROUNDS, Report, SERVER, SHARED_CLIENTS, check_reports, payload, total_bytes,
    unless_stopped,
};
use util::one_at_a_time::one_at_a_time;
use util::runtime::run_runtime;
use util::temp_dir::TempDir;
use util::timeout::TIMEOUT;
use util::unix::abstract_addr;

/// The largest datagram a datagram client sends.
const MAX_DATAGRAM: usize = 2000;
/// The datagram receive buffers' capacity: more than the largest datagram.
const CAPACITY: usize = 4096;

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
        let Some(received) = unless_stopped(ctx, recv.as_mut()).await else {
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
    let echoed = check_reports(&reports, CLIENTS).server;
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
    let echoed = check_reports(&reports, clients).server;
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
