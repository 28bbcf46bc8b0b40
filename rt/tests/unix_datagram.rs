//! Unix datagram sockets on the runtime: an echo server with 200 clients, as thread-local actors
//! on two workers and as thread-safe actors on the shared ring (every byte of every echo checked;
//! clients bound to paths and to abstract names, connected and not), the sockets' operations one
//! by one, and a send to a full datagram queue.
//!
//! The thread-safe echo runs with 20 and with 200 clients: the larger one once found that a ring's
//! wake-up could be lost with its submission queue full (see `rt/src/runtime/io/ring_waker.rs`).

use std::future::{Future, poll_fn};
use std::io;
use std::net::Shutdown;
use std::os::linux::net::SocketAddrExt;
use std::path::Path;
use std::task::Poll;
use std::time::Duration;

use kiln::actor_fn;
use kiln::supervisor::NoSupervisor;
use kiln_rt::net::unix::{SocketAddr, UnixDatagram};
use kiln_rt::timer::Deadline;
use kiln_rt::{Access, ActorOptions, ThreadSafe};

mod util;

use util::check::{check_in_actor, expect_eq, expect_vectored, failed, peek_then_recv};
use util::datagram_echo::{datagram_server, shared_datagram_echo};
use util::echo::{
    CLIENTS, ROUNDS, Reports, SHARED_CLIENTS, check_echo, client_actor, payload, thread_local_echo,
};
use util::temp_dir::TempDir;
use util::timeout::TIMEOUT;
use util::unix::abstract_addr;

/// The largest datagram a datagram client sends.
const MAX_DATAGRAM: usize = 2000;
/// The datagram receive buffers' capacity: more than the largest datagram.
const CAPACITY: usize = 4096;

/// Binds to a path in `dir` (even ids) or an abstract name (odd ids), sends [`ROUNDS`] datagrams
/// to the server at `server.sock` in `dir` one at a time and checks every byte of each echo.
/// Clients with `id % 4 < 2` connect and use `send`/`recv`, the others `send_to`/`recv_from`.
async fn datagram_client<RT: Access + Clone>(
    rt: RT,
    id: usize,
    dir: &Path,
) -> Result<usize, String> {
    let server = &dir.join("server.sock");
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
        check_echo(round, &echo, &datagram)?;
        buf = echo;
    }
    Ok(0)
}

/// Checks that the server echoed every datagram of `count` clients once.
#[track_caller]
fn check_echoes(reports: &Reports, count: usize) {
    assert_eq!(reports.server, count * ROUNDS, "datagrams echoed");
}

#[test]
fn datagram_echo_with_many_thread_local_clients() {
    let dir = TempDir::new("datagram-local");
    let dir_path = dir.path().to_owned();
    let server_path = dir.join("server.sock");
    let reports = thread_local_echo(
        move |rt, server_report| {
            let socket = UnixDatagram::bind(rt, &server_path)?;
            let arg = (socket, CAPACITY, server_report);
            let options = ActorOptions::default();
            Ok(rt.spawn_local(NoSupervisor, actor_fn(datagram_server), arg, options))
        },
        move |rt, id, server, report| {
            let dir = dir_path.clone();
            let client = move |rt| async move { datagram_client(rt, id, &dir).await };
            let arg = (id, client, server.clone(), report.clone());
            let options = ActorOptions::default();
            rt.spawn_local(NoSupervisor, actor_fn(client_actor), arg, options);
        },
    );
    check_echoes(&reports, CLIENTS);
}

/// The server and `clients` clients as thread-safe actors, on two workers.
fn thread_safe_datagram_echo(clients: usize) {
    let dir = TempDir::new(&format!("datagram-shared-{clients}"));
    let dir_path = dir.path().to_owned();
    let reports = shared_datagram_echo(clients, CAPACITY, move |rt: &ThreadSafe| {
        let socket = UnixDatagram::bind(rt, dir_path.join("server.sock"))?;
        let client = move |rt, id| {
            let dir = dir_path.clone();
            async move { datagram_client(rt, id, &dir).await }
        };
        Ok((socket, client))
    });
    check_echoes(&reports, clients);
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
        peek_then_recv!(b, b"hello");
        let (_, n) = b.send("abcd").await.map_err(failed("send"))?;
        expect_eq("bytes sent", n, 4)?;
        let bufs = [Vec::with_capacity(1), Vec::with_capacity(8)];
        let bufs = a
            .recv_vectored(bufs)
            .await
            .map_err(failed("recv_vectored"))?;
        expect_vectored(&bufs, &[b"a", b"bcd"])?;
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
        expect_vectored(&bufs, &[b"to", b" a path"])?;
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
