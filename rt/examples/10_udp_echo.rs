//! 10: A UDP echo server.
//!
//! One thread-local actor, on the only worker, receives datagrams on a
//! `UdpSocket` and sends each back to where it came from. It waits for a
//! datagram and for a message at once, so Ctrl-C (it is registered for
//! process signals) stops it, and with it the runtime, between two
//! datagrams.
//!
//! Run it, and talk to it with `nc -u 127.0.0.1 7001`:
//!
//! ```text
//! cargo run -p kiln-rt --example rt_10_udp_echo -- [address]
//! ```

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;

use kiln::actor;
use kiln::actor_fn;
use kiln::messages::Terminate;
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::net::udp::UdpSocket;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// The largest payload of a UDP datagram over IPv4: a receive buffer this
/// large never cuts a datagram short.
const MAX_DATAGRAM: usize = 65_507;

/// Echoes every datagram to its sender until told to stop.
async fn echo_server(
    mut ctx: actor::Context<Terminate, ThreadLocal>,
    socket: UdpSocket,
) -> io::Result<()> {
    let mut recv = pin!(socket.recv_from(Vec::with_capacity(MAX_DATAGRAM)));
    loop {
        // Wait for a datagram or a message, whichever comes first; a
        // pending receive stays queued across messages.
        let received = poll_fn(|cx| {
            if pin!(ctx.receive_next()).poll(cx).is_ready() {
                return Poll::Ready(None); // Terminate, or no one left to send one.
            }
            recv.as_mut().poll(cx).map(Some)
        })
        .await;
        let Some(received) = received else {
            return Ok(());
        };
        let (buf, peer) = received?;
        let (mut buf, _) = socket.send_to(buf, peer).await?;
        buf.clear();
        recv.set(socket.recv_from(buf));
    }
}

/// A failed server (the socket failed) is reported and stopped.
fn supervisor(err: io::Error) -> SupervisorStrategy<UdpSocket> {
    eprintln!("echo server failed: {err}");
    SupervisorStrategy::Stop
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:7001")
        .parse()?;

    let mut runtime = Runtime::setup().num_threads(1).build()?;
    runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
        // Binding is a plain system call: a bad address fails here, and
        // `main` returns the error.
        let socket = UdpSocket::bind(&rt, address)?;
        println!("listening on {}", socket.local_addr()?);
        let server = rt.spawn_local(
            supervisor,
            actor_fn(echo_server),
            socket,
            ActorOptions::default(),
        );
        // Ctrl-C (and SIGTERM, SIGQUIT) stop the server.
        rt.receive_signals(server.try_map());
        Ok(())
    })?;
    runtime.start()?;
    println!("stopped");
    Ok(())
}
