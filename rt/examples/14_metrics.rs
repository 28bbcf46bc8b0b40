//! 14: Metrics and logs.
//!
//! The runtime counts, per worker, its actors, ready and inactive
//! processes, polls, messages, timers and I/O; `RuntimeRef::metrics()`
//! (and `Runtime::metrics()`) return them as plain structs. Here every
//! worker runs a small workload (a ticker sending to a counter every 10 ms)
//! and serves the metrics in Prometheus' text format over HTTP, an actor per
//! connection (`net::Server`), at `GET /metrics`.
//!
//! Logs go through the `log` facade; here `env_logger` prints them one per
//! line with the time, level, thread (the worker) and target. Runtime
//! messages about an actor name it: a request that is not an HTTP `GET`
//! makes its connection actor fail, and `StopSupervisor` logs
//! `actor 'serve_metrics' failed, stopping it: ...`. Sending the process
//! SIGUSR2 logs the metrics; Ctrl-C stops it.
//!
//! ```text
//! cargo run -p kiln-rt --example rt_14_metrics -- [address]
//! curl http://127.0.0.1:7004/metrics
//! kill -USR2 <pid>
//! RUST_LOG=debug cargo run -p kiln-rt --example rt_14_metrics   # more detail
//! ```

use std::convert::Infallible;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use kiln::messages::Terminate;
use kiln::supervisor::{NoSupervisor, StopSupervisor, SupervisorStrategy};
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::net::{Server, ServerError, TcpStream};
use kiln_rt::timer::{Deadline, Timer};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

/// Answers one HTTP request: the metrics at `GET /metrics`, 404 for other
/// paths; fails on anything but a `GET`.
async fn serve_metrics(
    ctx: actor::Context<Infallible, ThreadLocal>,
    stream: TcpStream,
    _: SocketAddr,
) -> io::Result<()> {
    let rt = ctx.runtime_ref().clone();
    // The request line and headers, within five seconds.
    let mut request = Vec::with_capacity(1024);
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        let before = request.len();
        request = Deadline::after(rt.clone(), Duration::from_secs(5), stream.recv(request)).await?;
        if request.len() == before {
            break; // The client closed its side.
        }
    }
    let request = String::from_utf8_lossy(&request);
    let Some(path) = request
        .strip_prefix("GET ")
        .and_then(|rest| rest.split_whitespace().next())
    else {
        let first = request.lines().next().unwrap_or("");
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an HTTP GET request: '{first}'"),
        ));
    };
    let (status, body) = if path == "/metrics" {
        let mut body = String::new();
        let _ = rt.metrics().write_prometheus(&mut body);
        ("200 OK", body)
    } else {
        ("404 Not Found", format!("no {path} here; try /metrics\n"))
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.send_all(response).await?;
    Ok(())
}

/// Sends a number to `counter` every 10 ms, until a signal stops it.
async fn ticker(mut ctx: actor::Context<Terminate, ThreadLocal>, counter: ActorRef<u64>) {
    let mut n: u64 = 0;
    loop {
        Timer::after(ctx.runtime_ref().clone(), Duration::from_millis(10)).await;
        if ctx.try_receive_next().is_ok() || counter.send(n).await.is_err() {
            return;
        }
        n += 1;
    }
}

/// Receives numbers until the ticker stops.
async fn counter(mut ctx: actor::Context<u64, ThreadLocal>) {
    while ctx.receive_next().await.is_ok() {}
}

fn server_supervisor(err: ServerError) -> SupervisorStrategy<()> {
    log::warn!("{err}; restarting the server");
    SupervisorStrategy::Restart(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One line per record: time, level, thread (a worker's name ends in
    // `worker:<index>`), target and message. `RUST_LOG` overrides the level.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            let thread = std::thread::current();
            writeln!(
                buf,
                "{} {:<5} [{}] {}: {}",
                buf.timestamp_millis(),
                record.level(),
                thread.name().unwrap_or("?"),
                record.target(),
                record.args()
            )
        })
        .init();

    let address: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:7004")
        .parse()?;
    let mut runtime = Runtime::setup()
        .with_name("metrics-example")
        .num_threads(2)
        .build()?;
    let server = Server::new(
        address,
        StopSupervisor,
        actor_fn(serve_metrics),
        ActorOptions::default(),
    )?;
    let address = server.local_addr();
    runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
        let server_ref =
            rt.try_spawn_local(server_supervisor, server, (), ActorOptions::default())?;
        rt.receive_signals(server_ref.try_map());
        let counter = rt.spawn_local(NoSupervisor, actor_fn(counter), (), ActorOptions::default());
        let ticker = rt.spawn_local(
            NoSupervisor,
            actor_fn(ticker),
            counter,
            ActorOptions::default(),
        );
        rt.receive_signals(ticker.try_map());
        Ok(())
    })?;
    log::info!(
        "serving metrics at http://{address}/metrics; SIGUSR2 (kill -USR2 {}) logs them",
        std::process::id()
    );
    println!("listening on {address}");
    runtime.start()?;
    println!("stopped");
    Ok(())
}
