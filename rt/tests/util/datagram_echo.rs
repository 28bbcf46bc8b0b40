//! The datagram echo server of `udp.rs` and `unix_datagram.rs`, over either
//! kind of socket ([`DatagramSocket`]): the echo loop ([`serve_datagrams`]),
//! as a thread-local actor ([`datagram_server`]), and as a thread-safe one
//! that binds its socket on the shared ring and starts its clients
//! ([`shared_datagram_server`], run by [`shared_datagram_echo`]).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::mpsc;

use kiln::actor;
use kiln::actor_fn;
use kiln::messages::Terminate;
use kiln::supervisor::NoSupervisor;
use kiln_rt::net::udp::UdpSocket;
use kiln_rt::net::unix::{self, UnixDatagram};
use kiln_rt::timer::Deadline;
use kiln_rt::{Access, ActorOptions, Spawn, ThreadSafe};

use super::check::failed;
use super::echo::{Report, Reports, SERVER, client_actor, thread_safe_echo, unless_stopped};
use super::timeout::TIMEOUT;

/// A datagram socket an echo server serves on: UDP's or Unix's.
pub(crate) trait DatagramSocket: Send + Sync {
    /// A peer's address.
    type Addr: fmt::Debug + Send + Sync;

    /// Receives a datagram and its sender's address.
    fn recv_from(
        &self,
        buf: Vec<u8>,
    ) -> impl Future<Output = io::Result<(Vec<u8>, Self::Addr)>> + Send;

    /// Sends `buf` to `to`.
    fn send_to(
        &self,
        buf: Vec<u8>,
        to: &Self::Addr,
    ) -> impl Future<Output = io::Result<(Vec<u8>, usize)>> + Send;
}

impl DatagramSocket for UdpSocket {
    type Addr = std::net::SocketAddr;

    fn recv_from(
        &self,
        buf: Vec<u8>,
    ) -> impl Future<Output = io::Result<(Vec<u8>, Self::Addr)>> + Send {
        UdpSocket::recv_from(self, buf)
    }

    fn send_to(
        &self,
        buf: Vec<u8>,
        to: &Self::Addr,
    ) -> impl Future<Output = io::Result<(Vec<u8>, usize)>> + Send {
        UdpSocket::send_to(self, buf, *to)
    }
}

impl DatagramSocket for UnixDatagram {
    type Addr = unix::SocketAddr;

    fn recv_from(
        &self,
        buf: Vec<u8>,
    ) -> impl Future<Output = io::Result<(Vec<u8>, Self::Addr)>> + Send {
        UnixDatagram::recv_from(self, buf)
    }

    fn send_to(
        &self,
        buf: Vec<u8>,
        to: &Self::Addr,
    ) -> impl Future<Output = io::Result<(Vec<u8>, usize)>> + Send {
        UnixDatagram::send_to_addr(self, buf, to)
    }
}

/// Echoes datagrams of up to `capacity` bytes on `socket` to their senders
/// until the actor's inbox disconnects (its clients hold its references) or
/// it gets a message; returns how many it echoed.
pub(crate) async fn serve_datagrams<RT, S>(
    ctx: &mut actor::Context<Terminate, RT>,
    socket: &S,
    capacity: usize,
) -> Result<usize, String>
where
    RT: Access + Clone,
    S: DatagramSocket,
{
    let rt = ctx.runtime_ref().clone();
    let mut echoed = 0;
    let recv = socket.recv_from(Vec::with_capacity(capacity));
    let mut recv = pin!(Deadline::after(rt.clone(), TIMEOUT, recv));
    loop {
        let Some(received) = unless_stopped(ctx, recv.as_mut()).await else {
            return Ok(echoed);
        };
        let (buf, peer) = received.map_err(failed("server can't receive"))?;
        let (mut buf, sent) = socket
            .send_to(buf, &peer)
            .await
            .map_err(|err| format!("server can't send to {peer:?}: {err}"))?;
        if sent != buf.len() {
            return Err(format!("server sent {sent} of {} bytes", buf.len()));
        }
        echoed += 1;
        buf.clear();
        recv.set(Deadline::after(rt.clone(), TIMEOUT, socket.recv_from(buf)));
    }
}

/// [`serve_datagrams`] as an actor, reporting as the [`SERVER`].
pub(crate) async fn datagram_server<RT, S>(
    mut ctx: actor::Context<Terminate, RT>,
    socket: S,
    capacity: usize,
    reports: mpsc::Sender<Report>,
) where
    RT: Access + Clone,
    S: DatagramSocket,
{
    let result = serve_datagrams(&mut ctx, &socket, capacity).await;
    reports.send((SERVER, result)).unwrap();
}

/// A thread-safe datagram echo server: `bind` binds its socket on the
/// shared ring and returns it with the client; it starts `clients` of them
/// as thread-safe actors, which hold its references, and serves them as
/// [`datagram_server`] does.
pub(crate) async fn shared_datagram_server<S, B, C, Fut>(
    mut ctx: actor::Context<Terminate, ThreadSafe>,
    bind: B,
    clients: usize,
    capacity: usize,
    reports: mpsc::Sender<Report>,
) where
    S: DatagramSocket,
    B: FnOnce(&ThreadSafe) -> io::Result<(S, C)>,
    C: Fn(ThreadSafe, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<usize, String>> + Send + 'static,
{
    let (socket, client) = match bind(ctx.runtime_ref()) {
        Ok(bound) => bound,
        Err(err) => return reports.send((SERVER, Err(err.to_string()))).unwrap(),
    };
    for id in 0..clients {
        let client = client.clone();
        let client = move |rt| client(rt, id);
        let arg = (id, client, ctx.actor_ref(), reports.clone());
        let options = ActorOptions::default();
        ctx.runtime()
            .spawn(NoSupervisor, actor_fn(client_actor), arg, options);
    }
    let result = serve_datagrams(&mut ctx, &socket, capacity).await;
    reports.send((SERVER, result)).unwrap();
}

/// Runs a datagram echo test with `clients` clients as thread-safe actors
/// on a two-worker runtime: [`shared_datagram_server`] with `bind` and
/// buffers of `capacity` bytes. Returns the reports, checked.
#[track_caller]
pub(crate) fn shared_datagram_echo<S, B, C, Fut>(
    clients: usize,
    capacity: usize,
    bind: B,
) -> Reports
where
    S: DatagramSocket + 'static,
    B: FnOnce(&ThreadSafe) -> io::Result<(S, C)> + Send + 'static,
    C: Fn(ThreadSafe, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<usize, String>> + Send + 'static,
{
    thread_safe_echo(clients, move |runtime, report| {
        let arg = (bind, clients, capacity, report);
        let options = ActorOptions::default();
        runtime.spawn(NoSupervisor, actor_fn(shared_datagram_server), arg, options);
    })
}
