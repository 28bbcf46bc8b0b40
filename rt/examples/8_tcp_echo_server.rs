//! 8: A TCP echo server, an actor per connection.
//!
//! `Server` runs on every worker, each with its own listener on the shared
//! port (the kernel spreads the connections), and starts an `echo` actor
//! for each connection. A client that sends nothing for the idle timeout is
//! disconnected. Ctrl-C stops the servers; the runtime then waits for open
//! connections to end.
//!
//! Run it, and talk to it with `nc 127.0.0.1 7000`:
//!
//! ```text
//! cargo run --example 8_tcp_echo_server -- [address] [idle timeout in seconds]
//! ```

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use kiln::actor::{self, NewActor};
use kiln::actor_fn;
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::net::{Server, ServerError, TcpStream};
use kiln_rt::timer::Deadline;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// Echoes what the client sends until it closes the connection or stays
/// silent for `idle`.
async fn echo(
    ctx: actor::Context<Infallible, ThreadLocal>,
    stream: TcpStream,
    _peer: SocketAddr,
    idle: Duration,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        // Fails with `TimedOut` if the client is silent for too long.
        buf = Deadline::after(ctx.runtime_ref().clone(), idle, stream.recv(buf)).await?;
        if buf.is_empty() {
            return Ok(()); // The client closed the connection.
        }
        buf = stream.send_all(buf).await?;
    }
}

/// A failed connection is logged and closed; other connections go on.
fn connection_supervisor(err: io::Error) -> SupervisorStrategy<(TcpStream, SocketAddr)> {
    if err.kind() != io::ErrorKind::TimedOut {
        eprintln!("connection failed: {err}");
    }
    SupervisorStrategy::Stop
}

/// A server that can't accept (e.g. out of file descriptors) is restarted;
/// it backs off before accepting again.
fn server_supervisor(err: ServerError) -> SupervisorStrategy<()> {
    eprintln!("{err}; restarting the server");
    SupervisorStrategy::Restart(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let address: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:7000").parse()?;
    let idle = Duration::from_secs(args.next().as_deref().unwrap_or("60").parse()?);

    let mut runtime = Runtime::setup().use_all_cores().build()?;
    let new_actor = actor_fn(echo).map_arg(move |(stream, peer)| (stream, peer, idle));
    let server = Server::new(
        address,
        connection_supervisor,
        new_actor,
        ActorOptions::default(),
    )?;
    let address = server.local_addr();

    runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
        // Binds this worker's listener.
        let server_ref =
            rt.try_spawn_local(server_supervisor, server, (), ActorOptions::default())?;
        // Ctrl-C (and SIGTERM, SIGQUIT) stop the server.
        rt.receive_signals(server_ref.try_map());
        Ok(())
    })?;
    // Every worker's listener is bound now: clients can connect.
    println!("listening on {address}");
    runtime.start()?;
    println!("stopped");
    Ok(())
}
