//! 8: A TCP echo server, an actor per connection.
//!
//! `Server` runs on every worker, each with its own listener on the shared
//! port (the kernel spreads the connections), and starts an `echo` actor
//! for each connection. The server gives every connection's stream a read
//! and a write timeout (the idle timeout), set once: a client that sends
//! nothing for that long, or sends and does not read the echoes, is
//! disconnected, so no client can hold its connection, or the shutdown,
//! for ever. Ctrl-C (or SIGTERM) stops the servers; the runtime then waits
//! for the open connections to end, each at the latest an idle timeout
//! after it last made progress.
//!
//! Routine ends of a connection (the idle timeout, a reset, a broken pipe)
//! are logged at debug level, other failures as warnings (`env_logger`:
//! `RUST_LOG=debug` shows them all).
//!
//! Run it, and talk to it with `nc 127.0.0.1 7000`:
//!
//! ```text
//! cargo run -p kiln-rt --example rt_8_tcp_echo_server -- [address] [idle timeout in seconds]
//! ```

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use kiln::actor::{self, actor_fn};
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::net::{Server, ServerError, TcpStream};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// Echoes what the client sends until it closes the connection. Both calls
/// fail with `TimedOut` after the idle timeout: `recv` if the client sends
/// nothing, `send_all` if it does not read (the stream's read and write
/// timeouts, which the server set).
async fn echo(
    _: actor::Context<Infallible, ThreadLocal>,
    stream: TcpStream,
    _peer: SocketAddr,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        buf = stream.recv(buf).await?;
        if buf.is_empty() {
            return Ok(()); // The client closed the connection.
        }
        buf = stream.send_all(buf).await?;
    }
}

/// A failed connection is closed; other connections go on. Clients that go
/// away or stall are routine: debug level.
fn connection_supervisor(err: io::Error) -> SupervisorStrategy<(TcpStream, SocketAddr)> {
    match err.kind() {
        io::ErrorKind::TimedOut
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => log::debug!("connection closed: {err}"),
        _ => log::warn!("connection failed: {err}"),
    }
    SupervisorStrategy::Stop
}

/// A server that can't accept (e.g. out of file descriptors) is restarted;
/// it backs off before accepting again.
fn server_supervisor(err: ServerError) -> SupervisorStrategy<()> {
    log::warn!("{err}; restarting the server");
    SupervisorStrategy::Restart(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let mut args = std::env::args().skip(1);
    let address: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:7000").parse()?;
    let idle = Duration::try_from_secs_f64(args.next().as_deref().unwrap_or("60").parse()?)?;

    let mut runtime = Runtime::setup().use_all_cores().build()?;
    let server = Server::new(
        address,
        connection_supervisor,
        actor_fn(echo),
        ActorOptions::default(),
    )?
    // Every receive and send of every connection is bounded.
    .with_read_timeout(idle)
    .with_write_timeout(idle);
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
