//! http 1: Hello, World! over HTTP/1.1, an actor per connection; the
//! server of kiln-bench's W8.
//!
//! - `GET /plaintext`: `Hello, World!` as text;
//! - `GET /json`: `{"message":"Hello, World!"}`, serialised per request;
//! - `POST /echo`: the request body streamed back as it arrives (chunked,
//!   or with its length), with backpressure: a client that does not read
//!   slows the echo down.
//!
//! Each connection is a thread-local actor that loops
//! `Connection::next_request` / `respond`. Ctrl-C stops accepting; idle
//! connections close at once, busy ones after their response.
//!
//! ```text
//! cargo run --release -p kiln-http --example http_1_hello -- [address] [workers]
//! curl http://127.0.0.1:7080/plaintext
//! curl --data-binary @some-file http://127.0.0.1:7080/echo
//! ```

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};
use kiln::actor::{self, actor_fn};
use kiln::supervisor::SupervisorStrategy;
use kiln_http::server::{Connection, Server, ServerConfig};
use kiln_rt::access::ThreadLocal;
use kiln_rt::net::ServerError;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef};

/// The `Server` header TechEmpower asks for.
const SERVER: HeaderValue = HeaderValue::from_static("kiln");

#[derive(serde::Serialize)]
struct Message {
    message: &'static str,
}

/// Serves one connection until the client closes it.
async fn connection(
    _: actor::Context<Infallible, ThreadLocal>,
    conn: Connection,
) -> io::Result<()> {
    while let Some(request) = conn.next_request().await? {
        let method = request.method().clone();
        match (method, request.uri().path()) {
            (Method::GET | Method::HEAD, "/plaintext") => {
                let response = with_type(Response::new("Hello, World!"), "text/plain");
                conn.respond(response).await?;
            }
            (Method::GET | Method::HEAD, "/json") => {
                let body = serde_json::to_vec(&Message {
                    message: "Hello, World!",
                })
                .map_err(io::Error::other)?;
                conn.respond(with_type(Response::new(body), "application/json"))
                    .await?;
            }
            (Method::POST, "/echo") => {
                let body = request.into_body();
                conn.respond(with_type(Response::new(body), "application/octet-stream"))
                    .await?;
            }
            (_, "/plaintext" | "/json" | "/echo") => {
                let mut response = Response::new("method not allowed\n");
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                let allow = if request.uri().path() == "/echo" {
                    "POST"
                } else {
                    "GET, HEAD"
                };
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                conn.respond(response).await?;
            }
            _ => {
                let mut response = Response::new("not found\n");
                *response.status_mut() = StatusCode::NOT_FOUND;
                conn.respond(response).await?;
            }
        }
    }
    Ok(())
}

/// Adds `Content-Type` and `Server` to `response`.
fn with_type<B>(mut response: Response<B>, content_type: &'static str) -> Response<B> {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::SERVER, SERVER);
    response
}

/// A connection that fails (the client went away mid-response) is closed;
/// the others go on.
fn connection_supervisor(err: io::Error) -> SupervisorStrategy<Connection> {
    log_failure(&err);
    SupervisorStrategy::Stop
}

fn log_failure(err: &io::Error) {
    match err.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::TimedOut => {}
        _ => eprintln!("connection failed: {err}"),
    }
}

/// A server that can't accept (e.g. out of file descriptors) is restarted.
fn server_supervisor(err: ServerError) -> SupervisorStrategy<()> {
    eprintln!("{err}; restarting the server");
    SupervisorStrategy::Restart(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let address: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:7080").parse()?;
    let mut setup = Runtime::setup().with_name("http-hello");
    setup = match args.next() {
        Some(workers) => setup.num_threads(workers.parse()?),
        None => setup.use_all_cores(),
    };
    let mut runtime = setup.build()?;
    let server = Server::with_actor(
        address,
        connection_supervisor,
        actor_fn(connection),
        ServerConfig::default(),
    )?;
    let address = server.local_addr();
    runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
        let server_ref =
            rt.try_spawn_local(server_supervisor, server, (), ActorOptions::default())?;
        // Ctrl-C (and SIGTERM) stop the server and start the graceful
        // shutdown of its connections.
        rt.receive_signals(server_ref.try_map());
        Ok(())
    })?;
    println!("listening on {address}");
    runtime.start()?;
    println!("stopped");
    Ok(())
}
