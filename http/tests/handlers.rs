//! Handlers over TCP: request bodies read as they arrive ([`streaming`]),
//! with backpressure, passed on to another server with the client; and
//! panics, in handlers and in connection actors, answered with 500.

use std::convert::Infallible;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use kiln::actor::{self, actor_fn};
use kiln_http::Router;
use kiln_http::body::StreamBody;
use kiln_http::client::{Client, ClientConfig};
use kiln_http::server::{Connection, RequestBody, ServerConfig, streaming, worker_runtime};
use kiln_rt::access::ThreadLocal;
use kiln_rt::timer::Timer;

mod util;

use util::{TestServer, connect, exchange, is_closed, read_response};

/// A checksum of `data` that sees the order of the bytes.
fn checksum(data: impl IntoIterator<Item = u8>, mut sum: u64) -> u64 {
    for byte in data {
        sum = sum.wrapping_mul(31).wrapping_add(u64::from(byte));
    }
    sum
}

/// Counts the body's bytes and sums them, a piece at a time.
async fn count(request: Request<RequestBody>) -> Result<String, StatusCode> {
    let mut body = request.into_body();
    let (mut total, mut sum) = (0, 0);
    while let Some(piece) = body
        .next_chunk()
        .await
        .map_err(|_| StatusCode::BAD_REQUEST)?
    {
        total += piece.len();
        sum = checksum(piece.iter().copied(), sum);
    }
    Ok(format!("{total} {sum}"))
}

#[test]
fn a_streaming_handler_reads_a_large_chunked_upload() {
    let router = Router::builder()
        .post("/upload", streaming(count))
        .build()
        .unwrap();
    let server = TestServer::handler(router, ServerConfig::default());
    let mut stream = connect(server.address);
    // Four times the body limit of handlers that read bodies whole.
    let data: Vec<u8> = (0..4 * 1024 * 1024).map(|i: u32| (i % 253) as u8).collect();
    let response = util::post_chunked(&mut stream, "/upload", &data, 70_000);
    let expected = format!("{} {}", data.len(), checksum(data, 0));
    assert_eq!(
        (response.status, String::from_utf8(response.body).unwrap()),
        (200, expected)
    );
    // The connection is kept.
    assert!(!is_closed(&mut stream, Duration::from_millis(100)));
    server.stop();
}

/// Reads nothing for a while, then answers.
async fn sleepy(request: Request<RequestBody>) -> &'static str {
    let rt = worker_runtime().expect("not on a worker");
    Timer::after(rt, Duration::from_secs(3)).await;
    drop(request);
    "done"
}

/// While the handler does not read, the client can send no more than the
/// socket buffers hold: nothing reads the body for it (without
/// backpressure the 256 MiB would go in a fraction of a second).
#[test]
fn a_streaming_handler_that_does_not_read_pushes_back() {
    let server = TestServer::handler(streaming(sleepy), ServerConfig::default());
    // For 2 s (the handler sleeps 3 s).
    util::assert_pushes_back(server.address, "/");
    server.stop();
}

/// Handlers that read whole bodies still get 413 past the limit; a
/// streaming one on the same router is not limited.
#[test]
fn the_body_limit_is_for_bodies_read_whole() {
    async fn whole(request: Request<Bytes>) -> String {
        request.body().len().to_string()
    }
    let router = Router::builder()
        .post("/whole", whole)
        .post("/stream", streaming(count))
        .build()
        .unwrap();
    let server = TestServer::handler(router, ServerConfig::default().with_max_body_size(10));
    let body = "x".repeat(11);
    let (response, _) = exchange(
        server.address,
        format!("POST /whole HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n{body}").as_bytes(),
    );
    assert_eq!(response.expect("no response").status, 413);
    let (response, _) = exchange(
        server.address,
        format!("POST /stream HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n{body}").as_bytes(),
    );
    let response = response.expect("no response");
    assert_eq!(
        (response.status, response.body),
        (
            200,
            format!("11 {}", checksum(body.bytes(), 0)).into_bytes()
        )
    );
    server.stop();
}

/// Passes the request body on, as it arrives, to the server at the
/// `x-upstream` address with the client, and answers with what that server
/// answered.
async fn proxy(request: Request<RequestBody>) -> Result<Bytes, StatusCode> {
    let upstream = request.headers()["x-upstream"].to_str().unwrap().to_owned();
    let client = Client::new(worker_runtime().unwrap(), ClientConfig::default());
    let mut upload = Request::new(StreamBody::new(request.into_body().into_stream()));
    *upload.method_mut() = http::Method::POST;
    *upload.uri_mut() = format!("http://{upstream}/").parse().unwrap();
    let response = client
        .request_stream(upload)
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let body = response.into_body().recv_all().await;
    body.map_err(|_| StatusCode::BAD_GATEWAY)
}

#[test]
fn a_body_streamed_on_to_another_server() {
    let upstream = TestServer::handler(streaming(count), ServerConfig::default());
    let server = TestServer::handler(streaming(proxy), ServerConfig::default());
    let data: Vec<u8> = (0..3 * 1024 * 1024).map(|i: u32| (i % 241) as u8).collect();
    let mut stream = connect(server.address);
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: a\r\nx-upstream: {}\r\nContent-Length: {}\r\n\r\n",
        upstream.address,
        data.len()
    )
    .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sent = data.clone();
    let client = thread::spawn(move || writer.write_all(&sent).unwrap());
    let response = read_response(&mut stream).expect("no response");
    client.join().unwrap();
    let expected = format!("{} {}", data.len(), checksum(data, 0));
    assert_eq!(
        (response.status, String::from_utf8(response.body).unwrap()),
        (200, expected)
    );
    server.stop();
    upstream.stop();
}

/// Panics for `/panic`, answers otherwise.
async fn panicky(request: Request<Bytes>) -> &'static str {
    assert!(request.uri().path() != "/panic", "the handler panicked");
    "fine"
}

#[test]
fn a_panicking_handler_gets_500_and_the_server_carries_on() {
    let server = TestServer::handler(panicky, ServerConfig::default());
    let (response, mut stream) =
        exchange(server.address, b"GET /panic HTTP/1.1\r\nHost: a\r\n\r\n");
    let response = response.expect("the panic closed the connection without a response");
    assert_eq!(response.status, 500);
    assert_eq!(response.header("connection"), Some("close"));
    assert!(is_closed(&mut stream, Duration::from_secs(5)));
    let (response, _) = exchange(server.address, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.expect("no response").body, b"fine");
    server.stop();
}

/// Answers the first request, panics on the second.
async fn panics_second(
    _: actor::Context<Infallible, ThreadLocal>,
    conn: Connection,
) -> io::Result<()> {
    let mut n = 0;
    while let Some(_request) = conn.next_request().await? {
        n += 1;
        assert!(n < 2, "the connection actor panicked");
        conn.respond(Response::new("first")).await?;
    }
    Ok(())
}

#[test]
fn a_panicking_connection_actor_gets_500() {
    let server = TestServer::actor(actor_fn(panics_second), ServerConfig::default());
    let mut stream = connect(server.address);
    // Pipelined: the first response waits for the second's.
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let (first, rest) = util::read_response_after(&mut stream, Vec::new());
    assert_eq!(first.expect("no first response").body, b"first");
    let (second, _) = util::read_response_after(&mut stream, rest);
    let second = second.expect("no response to the request being served");
    assert_eq!(second.status, 500);
    assert!(is_closed(&mut stream, Duration::from_secs(5)));
    server.stop();
}

/// A stream that yields one piece, then panics.
struct PanicsAfterOne(bool);

impl futures_core::Stream for PanicsAfterOne {
    type Item = io::Result<&'static [u8]>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        assert!(!self.0, "the body stream panicked");
        self.0 = true;
        Poll::Ready(Some(Ok(b"half")))
    }
}

/// Starts a chunked response whose body panics half-way.
async fn panics_mid_body(
    _: actor::Context<Infallible, ThreadLocal>,
    conn: Connection,
) -> io::Result<()> {
    while let Some(_request) = conn.next_request().await? {
        let body = StreamBody::new(PanicsAfterOne(false));
        conn.respond(Response::new(body)).await?;
    }
    Ok(())
}

/// A response half written can't become a 500: the connection closes
/// without the half response (the client sees no response, not a short
/// one).
#[test]
fn a_panic_in_the_middle_of_a_response_closes_the_connection() {
    let server = TestServer::actor(actor_fn(panics_mid_body), ServerConfig::default());
    let (response, _) = exchange(server.address, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(response.is_none(), "{response:?}");
    server.stop();
}
