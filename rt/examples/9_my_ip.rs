//! 9: A TCP server that tells each client its IP address.
//!
//! `Server` runs on every worker and starts a `my_ip` actor for each
//! connection; the actor gets the peer's address as its argument, sends the
//! IP address and a newline, and closes the connection. Ctrl-C stops the
//! servers.
//!
//! Run it, and ask it with `nc 127.0.0.1 7002`:
//!
//! ```text
//! cargo run -p kiln-rt --example rt_9_my_ip -- [address]
//! ```

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use kiln::actor;
use kiln::actor_fn;
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::net::{Server, ServerError, TcpStream};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// Sends the client its IP address; the connection closes when the stream
/// is dropped.
async fn my_ip(
    _: actor::Context<Infallible, ThreadLocal>,
    stream: TcpStream,
    peer: SocketAddr,
) -> io::Result<()> {
    stream.send_all(format!("{}\n", peer.ip())).await?;
    Ok(())
}

/// A failed connection is logged and closed; other connections go on.
fn connection_supervisor(err: io::Error) -> SupervisorStrategy<(TcpStream, SocketAddr)> {
    eprintln!("connection failed: {err}");
    SupervisorStrategy::Stop
}

/// A server that can't accept (e.g. out of file descriptors) is restarted;
/// it backs off before accepting again.
fn server_supervisor(err: ServerError) -> SupervisorStrategy<()> {
    eprintln!("{err}; restarting the server");
    SupervisorStrategy::Restart(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:7002")
        .parse()?;

    let mut runtime = Runtime::setup().use_all_cores().build()?;
    let server = Server::new(
        address,
        connection_supervisor,
        actor_fn(my_ip),
        ActorOptions::default(),
    )?;
    let address = server.local_addr(); // With port 0 resolved.

    runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
        // Binds this worker's listener.
        let server_ref =
            rt.try_spawn_local(server_supervisor, server, (), ActorOptions::default())?;
        // Ctrl-C (and SIGTERM, SIGQUIT) stop the server.
        rt.receive_signals(server_ref.try_map());
        Ok(())
    })?;
    // Every worker listens by now.
    println!("listening on {address}");
    runtime.start()?;
    println!("stopped");
    Ok(())
}
