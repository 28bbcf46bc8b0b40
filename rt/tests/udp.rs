//! UDP sockets on the runtime: an echo server with 200 clients, as thread-local actors on two
//! workers and as thread-safe actors on the shared ring (every byte of every echo checked); the
//! socket's operations one by one (peek, vectored, connected, options); a receive dropped when its
//! deadline passes, then the socket used again; and binding to an address in use.
//!
//! The thread-safe echo runs with 20 and with 200 clients: the larger one once found that a
//! ring's wake-up could be lost with its submission queue full (see `rt/src/runtime/io/ring_waker.rs`).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use kiln::actor_fn;
use kiln::supervisor::NoSupervisor;
use kiln_rt::net::udp::UdpSocket;
use kiln_rt::timer::Deadline;
use kiln_rt::{Access, ActorOptions, ThreadSafe};

mod util;

use util::check::{
    check_in_actor, check_in_thread_safe_actor, expect_eq, expect_vectored, failed, peek_then_recv,
};
use util::datagram_echo::{datagram_server, shared_datagram_echo};
use util::echo::{
    CLIENTS, ROUNDS, Reports, SHARED_CLIENTS, client_actor, payload, thread_local_echo,
};
use util::timeout::TIMEOUT;

/// The first wait for an echo before sending again (loopback drops datagrams only when a socket's
/// receive buffer is full); doubled after each retransmission, up to `MAX_WAIT`.
const FIRST_WAIT: Duration = Duration::from_millis(250);
const MAX_WAIT: Duration = Duration::from_secs(2);
/// Retransmissions a client may need in all before it gives up.
const MAX_RETRANSMITS: usize = 20;
/// The largest datagram a client sends.
const MAX_DATAGRAM: usize = 1408;
/// The receive buffers' capacity: more than the largest datagram.
const CAPACITY: usize = 2048;

fn localhost() -> SocketAddr {
    (Ipv4Addr::LOCALHOST, 0).into()
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
        let expected = payload(id, round, MAX_DATAGRAM);
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
                        if !done && !(0..=round).any(|r| echo == payload(id, r, MAX_DATAGRAM)) {
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

/// Checks that the server echoed every datagram of `count` clients, and no more than they sent
/// (with the datagrams they sent again).
#[track_caller]
fn check_echoes(reports: &Reports, count: usize) {
    let (echoed, retransmits) = (reports.server, reports.clients);
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
    let reports = thread_local_echo(
        |rt, server_report| {
            let socket = UdpSocket::bind(rt, localhost())?;
            let address = socket.local_addr()?;
            let arg = (socket, CAPACITY, server_report);
            let options = ActorOptions::default();
            let server = rt.spawn_local(NoSupervisor, actor_fn(datagram_server), arg, options);
            Ok((address, server))
        },
        |rt, id, (address, server), report| {
            let address = *address;
            let client = move |rt| client(rt, id, address);
            let arg = (id, client, server.clone(), report.clone());
            let options = ActorOptions::default();
            rt.spawn_local(NoSupervisor, actor_fn(client_actor), arg, options);
        },
    );
    check_echoes(&reports, CLIENTS);
}

/// The server and `clients` clients as thread-safe actors, on two workers.
fn thread_safe_echo(clients: usize) {
    let reports = shared_datagram_echo(clients, CAPACITY, |rt: &ThreadSafe| {
        let socket = UdpSocket::bind(rt, localhost())?;
        let address = socket.local_addr()?;
        Ok((socket, move |rt, id| client(rt, id, address)))
    });
    check_echoes(&reports, clients);
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
        expect_vectored(&bufs, &[b"one ", b"two three"])?;
        expect_eq("sender", from, a_addr)?;

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
        peek_then_recv!(a, b"from b");
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
        expect_vectored(&bufs, &[b"a", b"bcd"])?;

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
