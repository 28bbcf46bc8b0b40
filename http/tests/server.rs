//! The server over TCP: keep-alive, pipelining, streaming with
//! backpressure, 100-continue, HEAD, timeouts, limits, many connections,
//! and the graceful shutdown.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use kiln::actor::{self, actor_fn};
use kiln_http::Router;
use kiln_http::server::{Connection, ServerConfig};
use kiln_rt::access::ThreadLocal;
use kiln_rt::timer::Timer;

mod util;

use util::{TestServer, connect, exchange, is_closed, read_response, read_response_after};

/// Answers `GET /` with "hello", `GET /sleep/<ms>` after that many
/// milliseconds, and `POST /len` with the length of the body.
async fn app(request: Request<Bytes>) -> Response<Bytes> {
    let path = request.uri().path();
    if let Some(ms) = path.strip_prefix("/sleep/") {
        // The handler runs on the connection's worker: a thread-local timer.
        thread_local_sleep(Duration::from_millis(ms.parse().unwrap())).await;
        return Response::new(Bytes::from_static(b"slept"));
    }
    match (request.method(), path) {
        (&Method::POST, "/len") => Response::new(Bytes::from(request.body().len().to_string())),
        _ => Response::new(Bytes::from_static(b"hello")),
    }
}

/// Sleeps on the current worker's timers.
async fn thread_local_sleep(duration: Duration) {
    let rt = kiln_http::server::worker_runtime().expect("not on a worker");
    Timer::after(rt, duration).await;
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let server = TestServer::handler(app, ServerConfig::default());
    let mut stream = connect(server.address);
    for i in 0..20 {
        let body = "x".repeat(i);
        write!(
            stream,
            "POST /len HTTP/1.1\r\nHost: a\r\nContent-Length: {i}\r\n\r\n{body}"
        )
        .unwrap();
        let response = read_response(&mut stream).expect("no response");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, i.to_string().as_bytes());
        assert!(response.header("date").is_some(), "{}", response.head);
    }
    assert!(!is_closed(&mut stream, Duration::from_millis(100)));
    drop(stream);
    server.stop();
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::handler(app, ServerConfig::default());
    let mut stream = connect(server.address);
    let mut raw = Vec::new();
    for i in 0..100 {
        write!(
            raw,
            "POST /len HTTP/1.1\r\nHost: a\r\nContent-Length: {i}\r\n\r\n{}",
            "y".repeat(i)
        )
        .unwrap();
    }
    stream.write_all(&raw).unwrap();
    let mut rest = Vec::new();
    for i in 0..100 {
        let (response, after) = read_response_after(&mut stream, rest);
        let response = response.expect("closed early");
        assert_eq!(response.body, i.to_string().as_bytes(), "response {i}");
        rest = after;
    }
    assert!(rest.is_empty());
    server.stop();
}

/// Streams the request body back as the response body.
async fn echo(_: actor::Context<Infallible, ThreadLocal>, conn: Connection) -> io::Result<()> {
    while let Some(request) = conn.next_request().await? {
        let body = request.into_body();
        conn.respond(Response::new(body)).await?;
    }
    Ok(())
}

#[test]
fn streaming_echo_of_a_large_chunked_body() {
    let server = TestServer::actor(actor_fn(echo), ServerConfig::default());
    let mut stream = connect(server.address);
    let data: Vec<u8> = (0..4 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let response = util::post_chunked(&mut stream, "/echo", &data, 100_000);
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.body.len(), data.len());
    assert!(response.body == data, "echo differs");
    server.stop();
}

#[test]
fn a_client_that_does_not_read_slows_the_echo_down() {
    let server = TestServer::actor(actor_fn(echo), ServerConfig::default());
    util::assert_pushes_back(server.address, "/echo");
    server.stop();
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let server = TestServer::handler(app, ServerConfig::default());
    let mut stream = connect(server.address);
    stream
        .write_all(
            b"POST /len HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .unwrap();
    let interim = read_response(&mut stream).expect("no interim response");
    assert_eq!(interim.status, 100);
    stream.write_all(b"hello").unwrap();
    let response = read_response(&mut stream).expect("no response");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"5"[..])
    );
    server.stop();
}

/// Regression: the echo's response head went out before `100 Continue`,
/// which the client then read as chunk data (curl: "Illegal or missing
/// hexadecimal sequence in chunked-encoding").
#[test]
fn expect_100_continue_with_a_streaming_echo() {
    let server = TestServer::actor(actor_fn(echo), ServerConfig::default());
    let mut stream = connect(server.address);
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    // The response's head may follow at once: the echo starts with it.
    let (interim, rest) = read_response_after(&mut stream, Vec::new());
    let interim = interim.expect("no interim response");
    assert_eq!(interim.status, 100, "{}", interim.head);
    stream.write_all(b"5\r\nhello\r\n0\r\n\r\n").unwrap();
    let (response, rest) = read_response_after(&mut stream, rest);
    assert!(rest.is_empty());
    let response = response.expect("no response");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"hello"[..])
    );
    server.stop();
}

#[test]
fn a_body_over_the_limit_gets_413_without_100_continue() {
    let config = ServerConfig::default().with_max_body_size(10);
    let server = TestServer::handler(app, config);
    let (response, mut stream) = exchange(
        server.address,
        b"POST /len HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n",
    );
    assert_eq!(response.expect("no response").status, 413);
    assert!(is_closed(&mut stream, Duration::from_secs(5)));
    server.stop();
}

/// Answers at once, without reading the request body.
async fn impatient(_: actor::Context<Infallible, ThreadLocal>, conn: Connection) -> io::Result<()> {
    while let Some(_request) = conn.next_request().await? {
        conn.respond(Response::new("no thanks")).await?;
    }
    Ok(())
}

/// A body too large to read and drop (over 256 KiB) closes the
/// connection after the response, but lingering: the server reads what the
/// client still sends for a while, so that the kernel does not reset the
/// connection under a client that is still sending (on a real network the
/// reset can destroy the response before the client reads it). Without the
/// lingering, the client's writes after the response fail.
#[test]
fn an_unread_large_body_is_drained_while_closing() {
    let server = TestServer::actor(actor_fn(impatient), ServerConfig::default());
    let mut stream = connect(server.address);
    let size = 4 * 1024 * 1024;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {size}\r\n\r\n"
    )
    .unwrap();
    let response = read_response(&mut stream).expect("no response");
    assert_eq!(response.body, b"no thanks");
    // The server half-closes: end of stream for the client's reads...
    assert!(is_closed(&mut stream, Duration::from_secs(5)));
    // ... while its writes (the rest of the body) are still read.
    let block = vec![1; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        if let Err(err) = stream.write_all(&block) {
            panic!("the client's writes failed after {sent} bytes: {err}");
        }
        sent += block.len();
    }
    server.stop();
}

#[test]
fn head_gets_the_headers_only() {
    let server = TestServer::handler(app, ServerConfig::default());
    let mut stream = connect(server.address);
    stream
        .write_all(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    // `read_response` would read the body by its length: read raw.
    let mut buf = vec![0; 4096];
    let mut got = Vec::new();
    while got.windows(5).filter(|w| w == b"HTTP/").count() < 2 || !got.ends_with(b"hello") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(got).unwrap();
    let (head, get) = text.split_at(text[1..].find("HTTP/1.1").unwrap() + 1);
    assert!(
        head.contains("content-length: 5\r\n") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    assert!(get.ends_with("\r\n\r\nhello"), "{get}");
    server.stop();
}

#[test]
fn a_slow_head_gets_408() {
    let config = ServerConfig::default().with_head_timeout(Duration::from_millis(300));
    let server = TestServer::handler(app, config);
    let mut stream = connect(server.address);
    let start = Instant::now();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap(); // No end.
    let response = read_response(&mut stream).expect("no response");
    assert_eq!(response.status, 408);
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(is_closed(&mut stream, Duration::from_secs(5)));
    server.stop();
}

#[test]
fn a_slow_body_gets_408() {
    let config = ServerConfig::default().with_body_timeout(Duration::from_millis(300));
    let server = TestServer::handler(app, config);
    let (response, mut stream) = exchange(
        server.address,
        b"POST /len HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhalf",
    );
    assert_eq!(response.expect("no response").status, 408);
    assert!(is_closed(&mut stream, Duration::from_secs(5)));
    server.stop();
}

/// A client that never reads its response is disconnected at the write
/// timeout (set on the stream), rather than holding the connection for
/// ever: it then finds less than the whole body, and the end.
#[test]
fn a_client_that_does_not_read_is_disconnected_at_the_write_timeout() {
    const SIZE: usize = 32 * 1024 * 1024;
    async fn large(_: Request<Bytes>) -> Vec<u8> {
        vec![b'x'; SIZE]
    }
    let config = ServerConfig::default().with_write_timeout(Duration::from_millis(300));
    let server = TestServer::handler(large, config);
    let mut stream = connect(server.address);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(1500));
    let mut received = 0;
    let mut buf = vec![0; 1024 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => break,
            Err(err) => panic!("reading the response: {err}"),
        }
    }
    assert!(
        received < SIZE,
        "the whole response came ({received} bytes): no write timeout"
    );
    server.stop();
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let config = ServerConfig::default().with_idle_timeout(Duration::from_millis(300));
    let server = TestServer::handler(app, config);
    let (response, mut stream) = exchange(server.address, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.expect("no response").status, 200);
    let start = Instant::now();
    assert!(is_closed(&mut stream, Duration::from_secs(5)));
    assert!(start.elapsed() >= Duration::from_millis(250));
    server.stop();
}

/// At its connection limit a worker's server stops accepting: a
/// connection past it waits in the listener's backlog (no 503, no reset)
/// and is served once another one closes.
#[test]
fn a_connection_over_the_limit_waits_until_one_closes() {
    let config = ServerConfig::default().with_max_connections(2);
    let server = TestServer::handler(app, config);
    let mut first = connect(server.address);
    let mut second = connect(server.address);
    // Make sure both are accepted before the third.
    for stream in [&mut first, &mut second] {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(stream).unwrap().status, 200);
    }
    let mut third = connect(server.address);
    third
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0; 1];
    match third.read(&mut byte) {
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) => {}
        other => panic!("the connection over the limit was not left waiting: {other:?}"),
    }
    drop(first);
    third.set_read_timeout(Some(util::TIMEOUT)).unwrap();
    let response = read_response(&mut third).expect("not served after a connection closed");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"hello"[..])
    );
    drop((second, third));
    server.stop();
}

#[test]
fn a_thousand_concurrent_keep_alive_connections() {
    let server = TestServer::handler(app, ServerConfig::default());
    let mut streams: Vec<_> = (0..1000).map(|_| connect(server.address)).collect();
    for round in 0..2 {
        for stream in &mut streams {
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                .unwrap();
        }
        for (i, stream) in streams.iter_mut().enumerate() {
            let response = read_response(stream)
                .unwrap_or_else(|| panic!("connection {i} closed in round {round}"));
            assert_eq!(response.body, b"hello");
        }
    }
    drop(streams);
    server.stop();
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests_and_closes_idle_ones() {
    let server = TestServer::handler(app, ServerConfig::default());
    let (response, mut idle) = exchange(server.address, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.unwrap().status, 200);
    let mut busy = connect(server.address);
    busy.write_all(b"GET /sleep/500 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(100)); // The request is in the handler.
    let start = Instant::now();
    let stopper = thread::spawn(move || server.stop());
    assert!(
        is_closed(&mut idle, Duration::from_secs(2)),
        "the idle connection stayed open"
    );
    assert!(
        start.elapsed() < Duration::from_millis(400),
        "idle connection closed late"
    );
    let response = read_response(&mut busy).expect("the in-flight request got no answer");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"slept"[..])
    );
    assert_eq!(response.header("connection"), Some("close"));
    assert!(is_closed(&mut busy, Duration::from_secs(2)));
    stopper.join().unwrap();
}

/// The drain is bounded: a request still in its handler when the
/// shutdown's time is up is dropped, its connection closed, and the
/// runtime stops; a connection made once the shutdown started is refused
/// (the listener is closed).
#[test]
fn the_drain_ends_at_the_shutdown_timeout() {
    let config = ServerConfig::default().with_shutdown_timeout(Duration::from_millis(300));
    let server = TestServer::handler(app, config);
    let address = server.address;
    let mut busy = connect(address);
    busy.write_all(b"GET /sleep/20000 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(100)); // The request is in the handler.
    let start = Instant::now();
    let stopper = thread::spawn(move || server.stop_within(Duration::from_secs(5)));
    assert!(
        is_closed(&mut busy, Duration::from_secs(5)),
        "the busy connection stayed open"
    );
    let closed_after = start.elapsed();
    assert!(
        closed_after >= Duration::from_millis(250) && closed_after < Duration::from_secs(3),
        "closed after {closed_after:?}, not at the shutdown timeout (300 ms)"
    );
    let refused = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1));
    assert!(
        refused.is_err(),
        "a connection was accepted after the shutdown started"
    );
    stopper.join().unwrap();
}

#[test]
fn router_over_tcp() {
    async fn user(request: Request<Bytes>) -> String {
        let id = request
            .extensions()
            .get::<kiln_http::PathParams>()
            .unwrap()
            .get("id")
            .unwrap()
            .to_owned();
        format!("user {id}")
    }
    let router = Router::builder().get("/users/{id}", user).build().unwrap();
    let server = TestServer::handler(router, ServerConfig::default());
    let (response, _) = exchange(server.address, b"GET /users/42 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.unwrap().body, b"user 42");
    let (response, _) = exchange(
        server.address,
        b"PUT /users/42 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    );
    let response = response.unwrap();
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED.as_u16());
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
    let (response, _) = exchange(server.address, b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.unwrap().status, 404);
    server.stop();
}

#[test]
fn a_half_closed_client_still_gets_its_answer() {
    let server = TestServer::handler(app, ServerConfig::default());
    let mut stream = connect(server.address);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_response(&mut stream).unwrap().body, b"hello");
    assert!(is_closed(&mut stream, Duration::from_secs(5)));
    server.stop();
}

#[test]
fn a_zero_timeout_or_limit_is_refused() {
    let address = "127.0.0.1:0".parse().unwrap();
    let configs = [
        (
            ServerConfig::default().with_write_timeout(Duration::ZERO),
            "write_timeout",
        ),
        (
            ServerConfig::default().with_head_timeout(Duration::ZERO),
            "head_timeout",
        ),
        (
            ServerConfig::default().with_max_connections(0),
            "max_connections",
        ),
        (ServerConfig::default().with_max_headers(0), "max_headers"),
    ];
    for (config, name) in configs {
        let err = kiln_http::server::Server::new(address, app, config).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains(name), "{err}");
    }
}

/// Clients at their limits (one trickling its head, one not reading a
/// large response, one sending a malformed request) cost the others
/// nothing: a normal request on the same worker is answered at once.
#[test]
fn clients_at_their_limits_cost_the_others_nothing() {
    async fn answer(request: Request<Bytes>) -> Response<Bytes> {
        match request.uri().path() {
            "/large" => Response::new(Bytes::from(vec![b'x'; 16 * 1024 * 1024])),
            _ => Response::new(Bytes::from_static(b"hello")),
        }
    }
    let server = TestServer::handler(answer, ServerConfig::default());
    let mut slow = connect(server.address);
    slow.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    let mut not_reading = connect(server.address);
    not_reading
        .write_all(b"GET /large HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let (malformed, _) = exchange(
        server.address,
        b"GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n",
    );
    assert_eq!(malformed.expect("no response").status, 400);
    thread::sleep(Duration::from_millis(100));
    for _ in 0..10 {
        let start = Instant::now();
        let (response, _) = exchange(server.address, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(response.expect("no response").body, b"hello");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "answered after {:?}",
            start.elapsed()
        );
    }
    slow.write_all(b"st: a\r\n\r\n").unwrap();
    assert_eq!(
        read_response(&mut slow).expect("no response").body,
        b"hello"
    );
    drop((slow, not_reading));
    server.stop();
}
