//! UDP sockets on the runtime: an echo server with 200 clients, as thread-local actors on two
//! workers and as thread-safe actors on the shared ring (every byte of every echo checked); the
//! socket's operations one by one (peek, vectored, connected, options); a receive dropped when its
//! deadline passes, then the socket used again; and binding to an address in use.
//!
//! The thread-safe echo runs with 20 and with 200 clients: the larger one once found that a
//! ring's wake-up could be lost with its submission queue full (see `rt/src/runtime/io/ring_waker.rs`).

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::pin;
use std::sync::mpsc;
use std::task::Poll;
use std::time::Duration;

use kiln::messages::Terminate;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::Spawn;
use kiln_rt::net::udp::UdpSocket;
use kiln_rt::timer::Deadline;
use kiln_rt::{Access, ActorOptions, RuntimeRef, ThreadLocal, ThreadSafe};

mod util;

use util::check::{check_in_actor, check_in_thread_safe_actor, expect_eq, failed};
use util::one_at_a_time::one_at_a_time;
use util::runtime::run_runtime;
use util::timeout::TIMEOUT;

/// Clients of the echo server.
const CLIENTS: usize = 200;
/// Clients of the echo server when they are thread-safe actors, see the module docs.
const SHARED_CLIENTS: usize = 20;
/// Datagrams each client sends, one at a time.
const ROUNDS: usize = 4;
/// The first wait for an echo before sending again (loopback drops datagrams only when a socket's
/// receive buffer is full); doubled after each retransmission, up to `MAX_WAIT`.
const FIRST_WAIT: Duration = Duration::from_millis(250);
const MAX_WAIT: Duration = Duration::from_secs(2);
/// Retransmissions a client may need in all before it gives up.
const MAX_RETRANSMITS: usize = 20;
/// The receive buffers' capacity: more than the largest payload.
const CAPACITY: usize = 2048;
/// The id the server reports its result with.
const SERVER: usize = usize::MAX;

/// A client's id (or [`SERVER`]) and its result: the client's retransmissions or the server's
/// number of echoes.
type Report = (usize, Result<usize, String>);

fn localhost() -> SocketAddr {
    (Ipv4Addr::LOCALHOST, 0).into()
}

/// The datagram client `id` sends in `round`: its id and round, then bytes of both, 8 to 1,407
/// bytes in all.
fn payload(id: usize, round: usize) -> Vec<u8> {
    let len = 8 + (id * 37 + round * 131) % 1400;
    let mut buf = Vec::with_capacity(len);
    buf.extend_from_slice(&u32::try_from(id).unwrap().to_be_bytes());
    buf.extend_from_slice(&u32::try_from(round).unwrap().to_be_bytes());
    buf.extend((8..len).map(|i| (i ^ id.wrapping_mul(31) ^ round) as u8));
    buf
}

/// Echoes datagrams until its inbox disconnects (its clients hold its references) or it gets a
/// message; returns how many it echoed.
async fn serve<RT: Access + Clone>(
    ctx: &mut actor::Context<Terminate, RT>,
    socket: &UdpSocket,
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
        let (buf, peer) = received.map_err(|err| format!("server can't receive: {err}"))?;
        let (mut buf, sent) = socket
            .send_to(buf, peer)
            .await
            .map_err(|err| format!("server can't send to {peer}: {err}"))?;
        if sent != buf.len() {
            return Err(format!("server sent {sent} of {} bytes", buf.len()));
        }
        echoed += 1;
        buf.clear();
        recv.set(Deadline::after(rt.clone(), TIMEOUT, socket.recv_from(buf)));
    }
}

/// Sends [`ROUNDS`] datagrams to the echo server at `server`, one at a time, and checks every
/// byte of each echo; sends a datagram again if its echo does not come (the wait for it is
/// dropped and the socket used again). Even clients connect their socket and use `send`/`recv`,
/// odd ones `send_to`/`recv_from`. Returns how many datagrams it sent again.
async fn client<RT: Access + Clone>(
    rt: RT,
    id: usize,
    server: SocketAddr,
) -> Result<usize, String> {
    let socket = UdpSocket::bind(&rt, localhost()).map_err(|err| err.to_string())?;
    let connected = id.is_multiple_of(2);
    if connected {
        socket.connect(server).map_err(|err| err.to_string())?;
        let peer = socket.peer_addr().map_err(|err| err.to_string())?;
        if peer != server {
            return Err(format!("connected to {server}, but the peer is {peer}"));
        }
    }
    let mut retransmits = 0;
    let mut buf = Vec::with_capacity(CAPACITY);
    for round in 0..ROUNDS {
        let expected = payload(id, round);
        let mut wait = FIRST_WAIT;
        'send: loop {
            let sent = if connected {
                socket.send(expected.clone()).await
            } else {
                socket.send_to(expected.clone(), server).await
            };
            let (_, n) = sent.map_err(|err| format!("round {round}: can't send: {err}"))?;
            if n != expected.len() {
                return Err(format!(
                    "round {round}: sent {n} of {} bytes",
                    expected.len()
                ));
            }
            loop {
                buf.clear();
                let received = if connected {
                    let recv = Deadline::after(rt.clone(), wait, socket.recv(buf));
                    recv.await.map(|buf| (buf, server))
                } else {
                    Deadline::after(rt.clone(), wait, socket.recv_from(buf)).await
                };
                match received {
                    Ok((echo, from)) => {
                        if from != server {
                            return Err(format!("round {round}: a datagram from {from}"));
                        }
                        let done = echo == expected;
                        // A late echo of a datagram sent again is not an error.
                        if !done && !(0..=round).any(|r| echo == payload(id, r)) {
                            return Err(format!(
                                "round {round}: wrong echo of {} bytes (sent {})",
                                echo.len(),
                                expected.len()
                            ));
                        }
                        buf = echo;
                        if done {
                            break 'send;
                        }
                    }
                    Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                        // The buffer went with the dropped receive.
                        buf = Vec::with_capacity(CAPACITY);
                        retransmits += 1;
                        if retransmits > MAX_RETRANSMITS {
                            return Err(format!(
                                "round {round}: no echo after {retransmits} tries"
                            ));
                        }
                        wait = (wait * 2).min(MAX_WAIT);
                        continue 'send;
                    }
                    Err(err) => return Err(format!("round {round}: can't receive: {err}")),
                }
            }
        }
    }
    Ok(retransmits)
}

async fn local_server(
    mut ctx: actor::Context<Terminate, ThreadLocal>,
    socket: UdpSocket,
    reports: mpsc::Sender<Report>,
) {
    let result = serve(&mut ctx, &socket).await;
    reports.send((SERVER, result)).unwrap();
}

/// Holds the server's reference until it is done.
async fn local_client(
    ctx: actor::Context<Infallible, ThreadLocal>,
    id: usize,
    server: SocketAddr,
    reports: mpsc::Sender<Report>,
    _server_ref: ActorRef<Terminate>,
) {
    let result = client(ctx.runtime_ref().clone(), id, server).await;
    reports.send((id, result)).unwrap();
}

/// Binds its socket on the shared ring and spawns the clients, which hold its references.
async fn shared_server(
    mut ctx: actor::Context<Terminate, ThreadSafe>,
    reports: mpsc::Sender<Report>,
    clients: usize,
) {
    let socket = match UdpSocket::bind(ctx.runtime_ref(), localhost()) {
        Ok(socket) => socket,
        Err(err) => return reports.send((SERVER, Err(err.to_string()))).unwrap(),
    };
    let address = socket.local_addr().unwrap();
    for id in 0..clients {
        let arg = (id, address, reports.clone(), ctx.actor_ref());
        let options = ActorOptions::default();
        ctx.runtime()
            .spawn(NoSupervisor, actor_fn(shared_client), arg, options);
    }
    let result = serve(&mut ctx, &socket).await;
    reports.send((SERVER, result)).unwrap();
}

async fn shared_client(
    ctx: actor::Context<Infallible, ThreadSafe>,
    id: usize,
    server: SocketAddr,
    reports: mpsc::Sender<Report>,
    _server_ref: ActorRef<Terminate>,
) {
    let result = client(ctx.runtime_ref().clone(), id, server).await;
    reports.send((id, result)).unwrap();
}

/// Checks that the server and each of `count` clients reported success once, and that the server
/// echoed every datagram.
fn check_reports(reports: &mpsc::Receiver<Report>, count: usize) {
    let mut clients = vec![false; count];
    let mut echoed = None;
    let mut retransmits = 0;
    for (id, result) in reports.try_iter() {
        if id == SERVER {
            assert!(echoed.is_none(), "two server reports");
            echoed = Some(result.unwrap_or_else(|err| panic!("the server failed: {err}")));
        } else {
            retransmits += result.unwrap_or_else(|err| panic!("client {id} failed: {err}"));
            assert!(!clients[id], "client {id} reported twice");
            clients[id] = true;
        }
    }
    let missing: Vec<_> = (0..count).filter(|&id| !clients[id]).collect();
    assert!(missing.is_empty(), "clients {missing:?} did not finish");
    let echoed = echoed.expect("the server did not report");
    assert!(
        echoed >= count * ROUNDS,
        "the server echoed {echoed} datagrams, fewer than the {} sent",
        count * ROUNDS
    );
    assert!(
        echoed <= count * ROUNDS + retransmits,
        "the server echoed {echoed} datagrams, more than the {} sent",
        count * ROUNDS + retransmits
    );
}

#[test]
fn echo_with_many_thread_local_clients() {
    // Hundreds of sockets.
    let _one = one_at_a_time();
    let (report, reports) = mpsc::channel();
    run_runtime(2, move |runtime| {
        let (server_tx, server_rx) = mpsc::channel();
        let server_report = report.clone();
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
                if rt.worker_index() == 0 {
                    let socket = UdpSocket::bind(&rt, localhost())?;
                    let address = socket.local_addr()?;
                    let arg = (socket, server_report);
                    let options = ActorOptions::default();
                    let server = rt.spawn_local(NoSupervisor, actor_fn(local_server), arg, options);
                    server_tx.send((address, server)).unwrap();
                }
                Ok(())
            })
            .unwrap();
        let (address, server) = server_rx.recv().unwrap();
        // Half the clients on each worker: the one of the server and the other.
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                for id in (rt.worker_index()..CLIENTS).step_by(2) {
                    let arg = (id, address, report.clone(), server.clone());
                    let options = ActorOptions::default();
                    rt.spawn_local(NoSupervisor, actor_fn(local_client), arg, options);
                }
                Ok(())
            })
            .unwrap();
    });
    check_reports(&reports, CLIENTS);
}

/// The server and `clients` clients as thread-safe actors, on two workers.
fn thread_safe_echo(clients: usize) {
    // Hundreds of sockets.
    let _one = one_at_a_time();
    let (report, reports) = mpsc::channel();
    run_runtime(2, move |runtime| {
        let options = ActorOptions::default();
        let arg = (report, clients);
        runtime.spawn(NoSupervisor, actor_fn(shared_server), arg, options);
    });
    check_reports(&reports, clients);
}

#[test]
fn echo_with_thread_safe_clients() {
    thread_safe_echo(SHARED_CLIENTS);
}

#[test]
fn echo_with_many_thread_safe_clients() {
    thread_safe_echo(CLIENTS);
}

#[test]
fn socket_operations() {
    check_in_actor(|rt| async move {
        let a = UdpSocket::bind(&rt, localhost()).map_err(failed("bind a"))?;
        let b = UdpSocket::bind(&rt, localhost()).map_err(failed("bind b"))?;
        let a_addr = a.local_addr().map_err(failed("a's address"))?;
        let b_addr = b.local_addr().map_err(failed("b's address"))?;
        expect_eq("a's IP", a_addr.ip(), Ipv4Addr::LOCALHOST.into())?;
        if a_addr.port() == 0 {
            return Err("bound to port 0".to_owned());
        }

        // Peeking leaves the datagram for the next receive.
        let (_, n) = a
            .send_to("hello", b_addr)
            .await
            .map_err(failed("send_to"))?;
        expect_eq("bytes sent", n, 5)?;
        let (buf, from) = b
            .peek_from(Vec::with_capacity(16))
            .await
            .map_err(failed("peek_from"))?;
        expect_eq("peeked", (&buf[..], from), (&b"hello"[..], a_addr))?;
        let (buf, from) = b
            .recv_from(Vec::with_capacity(16))
            .await
            .map_err(failed("recv_from"))?;
        expect_eq("received", (&buf[..], from), (&b"hello"[..], a_addr))?;

        // Vectored: several buffers make one datagram, and one datagram fills several buffers.
        let bufs: [&'static [u8]; 3] = [b"one ", b"two ", b"three"];
        let (_, n) = a
            .send_to_vectored(bufs, b_addr)
            .await
            .map_err(failed("send_to_vectored"))?;
        expect_eq("bytes sent vectored", n, 13)?;
        let bufs = [Vec::with_capacity(4), Vec::with_capacity(64)];
        let (bufs, from) = b
            .recv_from_vectored(bufs)
            .await
            .map_err(failed("recv_from_vectored"))?;
        expect_eq(
            "received vectored",
            (&bufs[0][..], &bufs[1][..], from),
            (&b"one "[..], &b"two three"[..], a_addr),
        )?;

        // A datagram longer than the buffer is cut; the next one is whole.
        a.send_to(vec![7; 100], b_addr)
            .await
            .map_err(failed("send long"))?;
        a.send_to("next", b_addr)
            .await
            .map_err(failed("send next"))?;
        let (buf, _) = b
            .recv_from(Vec::with_capacity(10))
            .await
            .map_err(failed("recv long"))?;
        expect_eq("cut datagram", &buf[..], &[7; 10][..])?;
        let (buf, _) = b
            .recv_from(Vec::with_capacity(10))
            .await
            .map_err(failed("recv next"))?;
        expect_eq("next datagram", &buf[..], b"next")?;

        // Connected sockets.
        let err = a.peer_addr().expect_err("unconnected socket has a peer");
        expect_eq(
            "peer of an unconnected socket",
            err.kind(),
            io::ErrorKind::NotConnected,
        )?;
        a.connect(b_addr).map_err(failed("connect a"))?;
        b.connect(a_addr).map_err(failed("connect b"))?;
        expect_eq(
            "a's peer",
            a.peer_addr().map_err(failed("a's peer"))?,
            b_addr,
        )?;
        // A connected socket drops datagrams from others.
        let c = UdpSocket::bind(&rt, localhost()).map_err(failed("bind c"))?;
        c.send_to("from c", a_addr)
            .await
            .map_err(failed("c send_to"))?;
        b.send("from b").await.map_err(failed("send"))?;
        let buf = a
            .peek(Vec::with_capacity(16))
            .await
            .map_err(failed("peek"))?;
        expect_eq("peeked connected", &buf[..], b"from b")?;
        let buf = a
            .recv(Vec::with_capacity(16))
            .await
            .map_err(failed("recv"))?;
        expect_eq("received connected", &buf[..], b"from b")?;
        // An empty datagram.
        let (_, n) = b.send(Vec::new()).await.map_err(failed("send empty"))?;
        expect_eq("empty datagram sent", n, 0)?;
        let buf = a
            .recv(Vec::with_capacity(16))
            .await
            .map_err(failed("recv empty"))?;
        expect_eq("empty datagram", buf.len(), 0)?;
        let (_, n) = b
            .send_vectored(["ab", "cd"])
            .await
            .map_err(failed("send_vectored"))?;
        expect_eq("bytes sent vectored", n, 4)?;
        let bufs = a
            .recv_vectored([Vec::with_capacity(1), Vec::with_capacity(8)])
            .await
            .map_err(failed("recv_vectored"))?;
        expect_eq(
            "received vectored",
            (&bufs[0][..], &bufs[1][..]),
            (&b"a"[..], &b"bcd"[..]),
        )?;

        // Options.
        a.set_broadcast(true).map_err(failed("set_broadcast"))?;
        expect_eq(
            "broadcast",
            a.broadcast().map_err(failed("broadcast"))?,
            true,
        )?;
        a.set_broadcast(false).map_err(failed("set_broadcast"))?;
        expect_eq(
            "broadcast",
            a.broadcast().map_err(failed("broadcast"))?,
            false,
        )?;
        a.set_ttl(42).map_err(failed("set_ttl"))?;
        expect_eq("ttl", a.ttl().map_err(failed("ttl"))?, 42)?;
        let error = a.take_error().map_err(failed("take_error"))?;
        expect_eq("pending error", error.map(|err| err.to_string()), None)?;
        if !format!("{a:?}").contains(&a_addr.to_string()) {
            return Err(format!("Debug does not show the address: {a:?}"));
        }
        Ok(())
    });
}

/// Receives time out (their futures are dropped while the kernel waits), then the socket is used
/// again: every datagram sent afterwards arrives whole.
async fn dropped_receives<RT: Access + Clone>(rt: RT) -> Result<(), String> {
    let a = UdpSocket::bind(&rt, localhost()).map_err(failed("bind a"))?;
    let b = UdpSocket::bind(&rt, localhost()).map_err(failed("bind b"))?;
    let a_addr = a.local_addr().map_err(failed("a's address"))?;
    let b_addr = b.local_addr().map_err(failed("b's address"))?;
    for i in 0..10_u8 {
        let wait = Duration::from_millis(20);
        let timed_out = if i % 2 == 0 {
            Deadline::after(rt.clone(), wait, b.recv_from(Vec::with_capacity(64)))
                .await
                .map(|_| ())
        } else {
            Deadline::after(rt.clone(), wait, b.peek(Vec::with_capacity(64)))
                .await
                .map(|_| ())
        };
        match timed_out {
            Err(err) if err.kind() == io::ErrorKind::TimedOut => {}
            Err(err) => return Err(format!("try {i}: the receive failed: {err}")),
            Ok(()) => return Err(format!("try {i}: received a datagram no one sent")),
        }
        let datagram = vec![i; 10 + usize::from(i)];
        a.send_to(datagram.clone(), b_addr)
            .await
            .map_err(failed("send_to"))?;
        let recv = b.recv_from(Vec::with_capacity(64));
        let (buf, from) = Deadline::after(rt.clone(), TIMEOUT, recv)
            .await
            .map_err(|err| format!("try {i}: no datagram after the dropped receive: {err}"))?;
        expect_eq(
            "datagram after a dropped receive",
            (buf, from),
            (datagram, a_addr),
        )?;
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

#[test]
fn bind_to_an_address_in_use_fails_naming_it() {
    check_in_actor(|rt| async move {
        let socket = UdpSocket::bind(&rt, localhost()).map_err(failed("bind"))?;
        let address = socket.local_addr().map_err(failed("address"))?;
        let err = match UdpSocket::bind(&rt, address) {
            Ok(_) => return Err(format!("bound twice to {address}")),
            Err(err) => err,
        };
        expect_eq("error kind", err.kind(), io::ErrorKind::AddrInUse)?;
        let msg = err.to_string();
        if !msg.contains(&address.to_string()) || !msg.contains("UDP") {
            return Err(format!(
                "the error does not name the UDP address {address}: {msg}"
            ));
        }
        Ok(())
    });
}
