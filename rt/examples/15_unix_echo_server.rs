//! 15: A Unix-domain socket echo server, an actor per connection.
//!
//! Example 8 on a Unix socket path instead of a TCP address: the same
//! `Server`, made with `Server::new_unix`. `AF_UNIX` has no `SO_REUSEPORT`,
//! so the server binds and listens once and every worker's server actor
//! accepts on a duplicate of that socket. Binding fails if the path exists
//! (remove a socket file left by a killed run); when the servers stop, the
//! socket file they made is removed. An argument starting with `@` is an
//! abstract name (Linux), which leaves no file.
//!
//! Run it, and talk to it with `nc -U /tmp/kiln-echo.sock`:
//!
//! ```text
//! cargo run -p kiln-rt --example rt_15_unix_echo_server -- [path or @name] [idle timeout in seconds]
//! ```

use std::convert::Infallible;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::time::Duration;

use kiln::actor::{self, actor_fn};
use kiln::supervisor::SupervisorStrategy;
use kiln_rt::net::unix::SocketAddr;
use kiln_rt::net::{Server, ServerError, UnixListener, UnixStream};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// Echoes what the client sends until it closes the connection; `recv` or
/// `send_all` fail with `TimedOut` after the idle timeout (the stream's read
/// and write timeouts, which the server set).
async fn echo(
    _: actor::Context<Infallible, ThreadLocal>,
    stream: UnixStream,
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

/// A failed connection is closed; other connections go on.
fn connection_supervisor(err: io::Error) -> SupervisorStrategy<(UnixStream, SocketAddr)> {
    match err.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
            log::debug!("connection closed: {err}");
        }
        _ => log::warn!("connection failed: {err}"),
    }
    SupervisorStrategy::Stop
}

/// A server that can't accept (e.g. out of file descriptors) is restarted;
/// it backs off before accepting again.
fn server_supervisor(err: ServerError<UnixListener>) -> SupervisorStrategy<()> {
    log::warn!("{err}; restarting the server");
    SupervisorStrategy::Restart(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let mut args = std::env::args().skip(1);
    let name = args
        .next()
        .unwrap_or_else(|| "/tmp/kiln-echo.sock".to_owned());
    let address = match name.strip_prefix('@') {
        Some(abstract_name) => SocketAddr::from_abstract_name(abstract_name)?,
        None => SocketAddr::from_pathname(&name)?,
    };
    let idle = Duration::try_from_secs_f64(args.next().as_deref().unwrap_or("60").parse()?)?;

    let mut runtime = Runtime::setup().use_all_cores().build()?;
    // Binds and listens: fails if the path exists.
    let server = Server::new_unix_addr(
        &address,
        connection_supervisor,
        actor_fn(echo),
        ActorOptions::default(),
    )?
    .with_read_timeout(idle)
    .with_write_timeout(idle);

    runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
        // Accepts on this worker's duplicate of the listening socket.
        let server_ref =
            rt.try_spawn_local(server_supervisor, server, (), ActorOptions::default())?;
        // Ctrl-C (and SIGTERM, SIGQUIT) stop the server.
        rt.receive_signals(server_ref.try_map());
        Ok(())
    })?;
    println!("listening on {name}");
    runtime.start()?;
    // The servers are gone, and with them the socket file.
    println!("stopped");
    Ok(())
}
