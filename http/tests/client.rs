//! The client: against kiln's server (bodies both ways, keep-alive reuse,
//! a stale pooled connection) and against raw servers that break the
//! framing rules (strict errors, never a short body), redirects, interim
//! responses.

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use kiln::actor::{self, actor_fn};
use kiln_http::body::StreamBody;
use kiln_http::client::{Client, ClientConfig};
use kiln_http::server::{Connection, ServerConfig};
use kiln_rt::access::ThreadLocal;
use kiln_rt::timer::Timer;

mod util;

use util::{TestServer, raw_server, run_local, send_each};

/// Answers with the request's number on its connection, the method, and
/// the body's length; `/stream` with a chunked body of three parts.
async fn counting(_: actor::Context<Infallible, ThreadLocal>, conn: Connection) -> io::Result<()> {
    let mut n = 0;
    while let Some(request) = conn.next_request().await? {
        n += 1;
        let (parts, body) = request.into_parts();
        let body = body.recv_all().await?;
        if parts.uri.path() == "/stream" {
            let parts = ["one ", "two ", "three"].map(|s| Ok::<_, io::Error>(s.as_bytes()));
            let stream = parts.into_iter();
            conn.respond(Response::new(StreamBody::new(IterStream(stream))))
                .await?;
        } else {
            let text = format!("{n} {} {}", parts.method, body.len());
            conn.respond(Response::new(text)).await?;
        }
    }
    Ok(())
}

/// An iterator as a stream.
struct IterStream<I>(I);

impl<I: Iterator + Unpin> futures_core::Stream for IterStream<I> {
    type Item = I::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<I::Item>> {
        std::task::Poll::Ready(self.0.next())
    }
}

#[test]
fn requests_reuse_pooled_connections() {
    let server = TestServer::actor(actor_fn(counting), ServerConfig::default());
    let uri = format!("http://{}/x", server.address);
    let got = run_local(move |rt| async move {
        let client = Client::new(rt, ClientConfig::default());
        let body = Bytes::from_static(b"12345");
        let requests = [Method::GET, Method::POST, Method::PUT].map(|m| (m, body.clone()));
        send_each(&client, &uri, requests.to_vec()).await
    });
    assert_eq!(
        got,
        [
            ("1 GET 5".to_owned(), 1),
            ("2 POST 5".to_owned(), 1),
            ("3 PUT 5".to_owned(), 1)
        ]
    );
    server.stop();
}

#[test]
fn chunked_responses_stream_in() {
    let server = TestServer::actor(actor_fn(counting), ServerConfig::default());
    let uri = format!("http://{}/stream", server.address);
    let (pieces, whole) = run_local(move |rt| async move {
        let client = Client::new(rt, ClientConfig::default());
        let response = client.get(&uri).await.unwrap();
        let mut body = response.into_body();
        assert_eq!(body.length(), None);
        let mut buf = Vec::new();
        let mut pieces = 0;
        while body.recv(&mut buf).await.unwrap() > 0 {
            pieces += 1;
        }
        drop(body);
        assert_eq!(client.idle_connections(), 1);
        (pieces, String::from_utf8(buf).unwrap())
    });
    assert_eq!(whole, "one two three");
    assert!(pieces >= 1);
    server.stop();
}

#[test]
fn a_stale_pooled_connection_is_replaced() {
    let config = ServerConfig::default().with_idle_timeout(Duration::from_millis(100));
    let server = TestServer::actor(actor_fn(counting), config);
    let uri = format!("http://{}/", server.address);
    let bodies = run_local(move |rt| async move {
        let client = Client::new(rt.clone(), ClientConfig::default());
        let mut bodies = Vec::new();
        for _ in 0..2 {
            let response = client.get(&uri).await.unwrap();
            bodies.push(response.into_body().recv_all().await.unwrap());
            // The server closes the idle connection meanwhile.
            Timer::after(rt.clone(), Duration::from_millis(300)).await;
        }
        bodies
    });
    // Both were the first request of their connection.
    assert_eq!(
        bodies,
        [
            Bytes::from_static(b"1 GET 0"),
            Bytes::from_static(b"1 GET 0")
        ]
    );
    server.stop();
}

/// Sends a GET for `/` to `address` and reads the body whole.
fn get(address: std::net::SocketAddr, config: ClientConfig) -> io::Result<(StatusCode, Bytes)> {
    run_local(move |rt| async move {
        let client = Client::new(rt, config);
        let response = client.get(&format!("http://{address}/")).await?;
        let status = response.status();
        let body = response.into_body().recv_all().await?;
        Ok((status, body))
    })
}

#[test]
fn broken_framing_is_an_error() {
    let cases: [(&'static [u8], io::ErrorKind); 6] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            io::ErrorKind::InvalidData,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            io::ErrorKind::InvalidData,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            io::ErrorKind::UnexpectedEof,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            io::ErrorKind::UnexpectedEof,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            io::ErrorKind::InvalidData,
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
            io::ErrorKind::InvalidData,
        ),
    ];
    for (raw, kind) in cases {
        let address = raw_server(vec![raw]);
        let err = get(address, ClientConfig::default()).unwrap_err();
        assert_eq!(err.kind(), kind, "{}: {err}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn bodies_until_close_and_interim_responses() {
    let address = raw_server(vec![b"HTTP/1.1 200 OK\r\n\r\nuntil the end"]);
    assert_eq!(
        get(address, ClientConfig::default()).unwrap(),
        (StatusCode::OK, Bytes::from_static(b"until the end"))
    );
    let address = raw_server(vec![
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ]);
    assert_eq!(
        get(address, ClientConfig::default()).unwrap(),
        (StatusCode::OK, Bytes::from_static(b"ok"))
    );
}

#[test]
fn redirects_are_followed_only_when_asked() {
    let target = raw_server(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\narrive"]);
    let location: &'static str =
        format!("HTTP/1.1 302 Found\r\nLocation: http://{target}/\r\nContent-Length: 0\r\n\r\n")
            .leak();
    let redirect = raw_server(vec![location.as_bytes(), location.as_bytes()]);
    let (status, _) = get(redirect, ClientConfig::default()).unwrap();
    assert_eq!(status, StatusCode::FOUND);
    let got = get(redirect, ClientConfig::default().with_redirects(2)).unwrap();
    assert_eq!(got, (StatusCode::OK, Bytes::from_static(b"arrive")));
}

#[test]
fn a_body_over_the_limit_is_an_error() {
    let address = raw_server(vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
    ]);
    let config = ClientConfig::default().with_limits(kiln_http::Limits {
        max_body_size: 10,
        ..Default::default()
    });
    let err = get(address, config).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
}

#[test]
fn bad_uris_are_refused() {
    let errors = run_local(|rt| async move {
        let client = Client::new(rt, ClientConfig::default());
        let mut kinds = Vec::new();
        for uri in ["/relative", "https://127.0.0.1/", "not a uri"] {
            kinds.push(client.get(uri).await.unwrap_err().kind());
        }
        kinds
    });
    assert_eq!(
        errors,
        [
            io::ErrorKind::InvalidInput,
            io::ErrorKind::Unsupported,
            io::ErrorKind::InvalidInput
        ]
    );
}

/// `count` pieces of `size` bytes, counting in `taken` how many were taken.
struct Pieces {
    left: usize,
    size: usize,
    taken: std::rc::Rc<std::cell::Cell<usize>>,
}

impl futures_core::Stream for Pieces {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        self.taken.set(self.taken.get() + 1);
        std::task::Poll::Ready(Some(Ok(vec![b'z'; self.size])))
    }
}

/// Sends `pieces` pieces of `size` bytes as a streamed body (with `length`
/// if given) to `uri`, twice on one client; returns the answers, and the
/// idle connections after each.
fn upload(
    uri: String,
    pieces: usize,
    size: usize,
    length: Option<u64>,
) -> io::Result<Vec<(String, usize)>> {
    run_local(move |rt| async move {
        let client = Client::new(rt, ClientConfig::default());
        let mut got = Vec::new();
        for _ in 0..2 {
            let stream = Pieces {
                left: pieces,
                size,
                taken: Default::default(),
            };
            let body = match length {
                Some(length) => StreamBody::with_length(stream, length),
                None => StreamBody::new(stream),
            };
            let mut request = http::Request::new(body);
            *request.method_mut() = Method::POST;
            *request.uri_mut() = uri.parse().unwrap();
            let response = client.request_stream(request).await?;
            let body = response.into_body().recv_all().await?;
            got.push((
                String::from_utf8(body.to_vec()).unwrap(),
                client.idle_connections(),
            ));
        }
        Ok(got)
    })
}

#[test]
fn streamed_uploads_chunked_and_with_a_length() {
    let server = TestServer::actor(actor_fn(counting), ServerConfig::default());
    let uri = format!("http://{}/", server.address);
    // Chunked, many sends' worth (under the server's 1 MiB limit: the
    // counting server reads bodies whole).
    let got = upload(uri.clone(), 60, 15_000, None).unwrap();
    assert_eq!(
        got,
        [
            ("1 POST 900000".to_owned(), 1),
            ("2 POST 900000".to_owned(), 1)
        ],
        "the connection is reused"
    );
    let got = upload(uri.clone(), 10, 1_000, Some(10_000)).unwrap();
    assert_eq!(got[0].0, "1 POST 10000");
    let err = upload(uri.clone(), 10, 1_000, Some(9_999)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let err = upload(uri, 10, 1_000, Some(10_001)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    server.stop();
}

/// A server that accepts and never reads: the upload stops taking pieces
/// once the socket buffers are full, and fails at the write timeout.
#[test]
fn a_streamed_upload_to_a_server_that_does_not_read_pushes_back() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let held = std::thread::spawn(move || listener.accept().map(|(stream, _)| stream));
    let (err, taken) = run_local(move |rt| async move {
        let config = ClientConfig::default().with_write_timeout(Duration::from_millis(500));
        let client = Client::new(rt, config);
        let taken = std::rc::Rc::new(std::cell::Cell::new(0));
        let stream = Pieces {
            left: usize::MAX,
            size: 64 * 1024,
            taken: taken.clone(),
        };
        let mut request = http::Request::new(StreamBody::new(stream));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = format!("http://{address}/").parse().unwrap();
        let err = client.request_stream(request).await.err();
        (err.map(|err| err.kind()), taken.get() * 64 * 1024)
    });
    assert_eq!(err, Some(io::ErrorKind::TimedOut));
    assert!(
        taken < 64 * 1024 * 1024,
        "{taken} bytes taken from the stream"
    );
    drop(held.join());
}

/// A server that answers every request head with `response` and then
/// holds the connection, silent, for 5 s.
fn stalling_server(response: &'static [u8]) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = [0; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(response);
                std::thread::sleep(Duration::from_secs(5));
            });
        }
    });
    address
}

#[test]
fn a_silent_server_times_out() {
    // No response head at all: the response timeout.
    let address = stalling_server(b"");
    let config = ClientConfig::default().with_response_timeout(Duration::from_millis(300));
    let start = std::time::Instant::now();
    let err = get(address, config).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(start.elapsed() < Duration::from_secs(4));
    // A head, then part of the body: the read timeout.
    let address = stalling_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    let config = ClientConfig::default().with_read_timeout(Duration::from_millis(300));
    let start = std::time::Instant::now();
    let err = get(address, config).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(start.elapsed() < Duration::from_secs(4));
}
