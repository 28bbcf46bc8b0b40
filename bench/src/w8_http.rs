//! W8: HTTP/1.1 in the TechEmpower way: `GET /plaintext` (`Hello, World!`)
//! and `GET /json` (`{"message":"Hello, World!"}`, serialised per request
//! with serde_json), keep-alive, over 16 and 256 connections, not pipelined
//! and pipelined 16 deep; requests per second and the server's CPU time
//! per request.
//!
//! The server runs in a child process (this binary re-run with `--child
//! W8-server <system>`) with one worker thread, prints its port and serves
//! until its standard input closes. The load comes from `wrk` (the
//! distribution's package: `apt-get install wrk`) with one thread, so the
//! server and the client each have one of the machine's two cores; a
//! pipelined run sends 16 requests per write (a Lua script, as TechEmpower
//! does). The server's CPU time (user and system, from `/proc/<pid>/stat`)
//! over wrk's run divided by the requests wrk counted makes
//! `server_cpu_us_per_request`. A run fails if wrk saw any non-2xx answer
//! or a socket error other than a timeout, or completed no request.
//!
//! - **kiln**: kiln-http's `Server::with_actor` on a one-worker runtime, a
//!   thread-local connection actor looping `next_request` / `respond` (as
//!   kiln-http's example `http_1_hello`).
//! - **hyper**: hyper 1.x's `http1` connection with `pipeline_flush` (as in
//!   TechEmpower's hyper entry) on a tokio `current_thread` runtime, a task
//!   per connection, `service_fn`.
//! - **actix-web**: `HttpServer` with `workers(1)` and two routes.
//! - **may-minihttp**: TechEmpower's fastest Rust entry: an `HttpService`
//!   on `may` coroutines with `set_workers(1)`.
//! - **kiln-baseline** (with `--baseline BINARY`): the kiln server of
//!   another kiln-bench build, to measure a change against its parent in
//!   the same interleaved run.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};
use kiln::actor::{self, actor_fn};
use kiln::supervisor::SupervisorStrategy;
use kiln_http::server::{Connection, Server, ServerConfig};
use kiln_rt::access::ThreadLocal;

use crate::server_process::{
    ANY_PORT, ServerProcess, announce, cpu_time, exit_when_stdin_closes, run_kiln_server,
    tokio_accept_loop,
};

/// The systems W8 measures.
pub(crate) const SYSTEMS: [&str; 5] = ["kiln", "kiln-poll", "hyper", "actix-web", "may-minihttp"];

/// The system name of the kiln server of `--baseline BINARY`: another
/// build of kiln-bench (an earlier commit's), to measure a change against
/// its parent in the same run.
pub(crate) const BASELINE: &str = "kiln-baseline";

/// The plaintext body.
const HELLO: &str = "Hello, World!";

/// The JSON body's value.
#[derive(serde::Serialize)]
struct Message {
    message: &'static str,
}

/// One configuration.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Config {
    /// The workload's name in the results.
    pub(crate) workload: &'static str,
    /// `/plaintext` or `/json`.
    path: &'static str,
    /// Connections.
    connections: usize,
    /// Requests per write (1: not pipelined).
    pipeline: usize,
}

/// The configurations measured, in order.
pub(crate) const CONFIGS: [Config; 8] = [
    config("W8-plaintext-16c", "/plaintext", 16, 1),
    config("W8-plaintext-256c", "/plaintext", 256, 1),
    config("W8-plaintext-16c-p16", "/plaintext", 16, 16),
    config("W8-plaintext-256c-p16", "/plaintext", 256, 16),
    config("W8-json-16c", "/json", 16, 1),
    config("W8-json-256c", "/json", 256, 1),
    config("W8-json-16c-p16", "/json", 16, 16),
    config("W8-json-256c-p16", "/json", 256, 16),
];

const fn config(
    workload: &'static str,
    path: &'static str,
    connections: usize,
    pipeline: usize,
) -> Config {
    Config {
        workload,
        path,
        connections,
        pipeline,
    }
}

/// Starts a `system` server and loads it with wrk for `seconds`; returns
/// (requests per second, server CPU µs per request). [`BASELINE`] is the
/// kiln server of the `baseline` binary.
pub(crate) fn run(
    system: &str,
    config: Config,
    seconds: u32,
    baseline: Option<&Path>,
) -> Result<(f64, f64), String> {
    let server = match (system, baseline) {
        (BASELINE, Some(binary)) => ServerProcess::start_binary(binary, &["W8-server", "kiln"])?,
        (BASELINE, None) => return Err("kiln-baseline needs --baseline BINARY".to_owned()),
        _ => ServerProcess::start(&["W8-server", system])?,
    };
    let result = load(&server, config, seconds);
    let stopped = server.stop();
    let result = result?;
    stopped?;
    Ok(result)
}

/// Runs wrk against `server`.
fn load(server: &ServerProcess, config: Config, seconds: u32) -> Result<(f64, f64), String> {
    let url = format!("http://127.0.0.1:{}{}", server.port, config.path);
    let mut wrk = Command::new("wrk");
    wrk.args(["-t1", "--timeout", "5s"])
        .arg(format!("-c{}", config.connections))
        .arg(format!("-d{seconds}s"));
    let script =
        std::env::temp_dir().join(format!("kiln-bench-w8-pipeline-{}.lua", config.pipeline));
    if config.pipeline > 1 {
        std::fs::write(&script, pipeline_script(config.pipeline)).map_err(|err| err.to_string())?;
        wrk.arg("-s").arg(&script);
    }
    wrk.arg(&url);
    let cpu_before = cpu_time(server.pid())?;
    let output = wrk
        .output()
        .map_err(|err| format!("can't run wrk ({err}): install it with `apt-get install wrk`"))?;
    let cpu = cpu_time(server.pid())?.saturating_sub(cpu_before);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let report = Report::parse(&stdout)?;
    if report.non_2xx > 0 || report.socket_errors > 0 {
        return Err(format!(
            "{} non-2xx answers and {} socket errors:\n{stdout}",
            report.non_2xx, report.socket_errors
        ));
    }
    if report.requests == 0 {
        return Err(format!("no request completed:\n{stdout}"));
    }
    let per_second = report.requests as f64 / report.seconds;
    Ok((per_second, cpu.as_secs_f64() * 1e6 / report.requests as f64))
}

/// A wrk script that sends `depth` requests per write.
fn pipeline_script(depth: usize) -> String {
    format!(
        "init = function(args)\n  local r = {{}}\n  for i = 1, {depth} do r[i] = wrk.format() end\n  \
         req = table.concat(r)\nend\nrequest = function() return req end\n"
    )
}

/// What wrk reports.
#[derive(Debug, PartialEq)]
struct Report {
    requests: u64,
    seconds: f64,
    non_2xx: u64,
    /// Connect, read and write errors (timeouts are counted but allowed:
    /// with 256 connections and one core a few requests may wait 5 s).
    socket_errors: u64,
}

impl Report {
    /// Reads wrk's text report.
    fn parse(text: &str) -> Result<Report, String> {
        let bad = || format!("can't read wrk's report:\n{text}");
        // "  123456 requests in 10.00s, 12.34MB read"
        let line = text
            .lines()
            .find(|l| l.contains(" requests in "))
            .ok_or_else(bad)?;
        let mut words = line.split_whitespace();
        let requests = words.next().and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        let seconds = words
            .nth(2)
            .and_then(|d| d.trim_end_matches(',').strip_suffix('s'))
            .and_then(|d| d.parse().ok())
            .ok_or_else(bad)?;
        let non_2xx = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
            .map_or(Ok(0), |n| n.trim().parse().map_err(|_| bad()))?;
        // "  Socket errors: connect 0, read 0, write 0, timeout 0"
        let mut socket_errors = 0;
        if let Some(errors) = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        {
            for part in errors.split(',') {
                let mut words = part.split_whitespace();
                let (Some(kind), Some(n)) = (words.next(), words.next()) else {
                    return Err(bad());
                };
                let n: u64 = n.parse().map_err(|_| bad())?;
                if kind != "timeout" {
                    socket_errors += n;
                }
            }
        }
        Ok(Report {
            requests,
            seconds,
            non_2xx,
            socket_errors,
        })
    }
}

// The child's side.

/// The child process: runs a `system` server with one worker thread on a
/// free port of 127.0.0.1, printing the port, until standard input closes.
pub(crate) fn serve(system: &str) -> Result<(), String> {
    if !SYSTEMS.contains(&system) {
        return Err(format!("W8 has no server for {system}"));
    }
    exit_when_stdin_closes();
    match system {
        "kiln" | "kiln-poll" => kiln_server(system),
        "hyper" => hyper_server(),
        "actix-web" => actix_web_server(),
        _ => may_minihttp_server(),
    }
}

/// The JSON body, serialised.
fn json_body() -> Vec<u8> {
    serde_json::to_vec(&Message { message: HELLO }).expect("serialisable")
}

// kiln.

/// A connection's actor: answers until the client closes the connection.
async fn kiln_connection(
    _: actor::Context<Infallible, ThreadLocal>,
    conn: Connection,
) -> io::Result<()> {
    const SERVER: HeaderValue = HeaderValue::from_static("kiln");
    while let Some(request) = conn.next_request().await? {
        let get = request.method() == Method::GET;
        match request.uri().path() {
            "/plaintext" if get => {
                let mut response = Response::new(HELLO);
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                response.headers_mut().insert(header::SERVER, SERVER);
                conn.respond(response).await?;
            }
            "/json" if get => {
                let mut response = Response::new(json_body());
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response.headers_mut().insert(header::SERVER, SERVER);
                conn.respond(response).await?;
            }
            _ => {
                let mut response = Response::new(());
                *response.status_mut() = StatusCode::NOT_FOUND;
                conn.respond(response).await?;
            }
        }
    }
    Ok(())
}

fn kiln_server(system: &str) -> Result<(), String> {
    let connection_supervisor = |err: io::Error| {
        if !matches!(
            err.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ) {
            eprintln!("W8 kiln server: connection failed: {err}");
        }
        SupervisorStrategy::Stop
    };
    let server = Server::with_actor(
        ANY_PORT,
        connection_supervisor,
        actor_fn(kiln_connection),
        ServerConfig::default(),
    )
    .map_err(|err| err.to_string())?;
    let port = server.local_addr().port();
    run_kiln_server(system, "W8 kiln server", server, port)
}

// hyper.

/// hyper's service.
async fn hyper_service(
    request: http::Request<hyper::body::Incoming>,
) -> Result<Response<http_body_util::Full<Bytes>>, Infallible> {
    let (body, content_type) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/plaintext") => (Bytes::from_static(HELLO.as_bytes()), "text/plain"),
        (&Method::GET, "/json") => (Bytes::from(json_body()), "application/json"),
        _ => {
            let mut response = Response::new(http_body_util::Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NOT_FOUND;
            return Ok(response);
        }
    };
    let mut response = Response::new(http_body_util::Full::new(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::SERVER, HeaderValue::from_static("hyper"));
    Ok(response)
}

fn hyper_server() -> Result<(), String> {
    tokio_accept_loop(|stream| async move {
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service = hyper::service::service_fn(hyper_service);
            let _ = hyper::server::conn::http1::Builder::new()
                .pipeline_flush(true)
                .serve_connection(io, service)
                .await;
        });
        Ok(())
    })
}

// actix-web.

async fn actix_plaintext() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/plain")
        .insert_header(("server", "actix-web"))
        .body(HELLO)
}

async fn actix_json() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("server", "actix-web"))
        .body(json_body())
}

fn actix_web_server() -> Result<(), String> {
    actix_web::rt::System::new().block_on(async {
        let server = actix_web::HttpServer::new(|| {
            actix_web::App::new()
                .route("/plaintext", actix_web::web::get().to(actix_plaintext))
                .route("/json", actix_web::web::get().to(actix_json))
        })
        .workers(1)
        .bind(ANY_PORT)
        .map_err(|err| err.to_string())?;
        let port = server
            .addrs()
            .first()
            .ok_or("actix-web bound no address")?
            .port();
        announce(port)?;
        server.run().await.map_err(|err| err.to_string())
    })
}

// may-minihttp.

/// may-minihttp's service.
#[derive(Clone)]
struct MayService;

impl may_minihttp::HttpService for MayService {
    fn call(
        &mut self,
        request: may_minihttp::Request<'_, '_, '_>,
        response: &mut may_minihttp::Response<'_>,
    ) -> io::Result<()> {
        match request.path() {
            "/plaintext" => {
                response
                    .header("Content-Type: text/plain")
                    .header("Server: may")
                    .body(HELLO);
            }
            "/json" => {
                response
                    .header("Content-Type: application/json")
                    .header("Server: may");
                response.body_vec(json_body());
            }
            _ => {
                response.status_code(404, "Not Found");
            }
        }
        Ok(())
    }
}

fn may_minihttp_server() -> Result<(), String> {
    may::config().set_workers(1);
    // may-minihttp binds by address: take a free port first.
    let port = TcpListener::bind(ANY_PORT)
        .and_then(|listener| listener.local_addr())
        .map_err(|err| err.to_string())?
        .port();
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let server = may_minihttp::HttpServer(MayService)
        .start(address)
        .map_err(|err| err.to_string())?;
    announce(port)?;
    server
        .join()
        .map_err(|_| "the may-minihttp server panicked".to_owned())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Report;

    #[test]
    fn reads_wrk_reports() {
        let text = "Running 1s test @ http://127.0.0.1:1/plaintext\n  1 threads and 16 connections\n  \
            Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   616.21us  1.20ms  20.27ms   94.91%\n  \
            25504 requests in 1.00s, 3.26MB read\n  Socket errors: connect 0, read 2, write 0, timeout 7\n  \
            Non-2xx or 3xx responses: 3\nRequests/sec:  25504.48\nTransfer/sec:      3.26MB\n";
        assert_eq!(
            Report::parse(text),
            Ok(Report {
                requests: 25504,
                seconds: 1.0,
                non_2xx: 3,
                socket_errors: 2,
            })
        );
        assert!(Report::parse("garbage").is_err());
    }
}
