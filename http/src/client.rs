//! The HTTP/1.1 client: [`Client`] sends a request and returns the
//! response head as soon as it is read, with its body to read as it
//! arrives ([`ResponseBody`]); connections are kept for reuse in the
//! client's small pool.
//!
//! The same strict framing as the server's: a response with both
//! `Content-Length` and `Transfer-Encoding`, differing lengths, a bad
//! chunk or a body cut short is an error ([`io::ErrorKind::InvalidData`]
//! with the [`ParseError`] inside, or
//! [`UnexpectedEof`](io::ErrorKind::UnexpectedEof)), never a short body.
//!
//! # Streaming uploads
//!
//! [`Client::request_stream`] sends a body made as it is sent (a
//! [`StreamBody`]: chunked, or with `Content-Length` if given one), an
//! item at a time: the next item is asked for once the previous one is in
//! the output buffer, and the buffer is sent once 64 KiB wait, so a server
//! that reads slowly slows the stream down and memory stays bounded.
//!
//! # A pool per worker
//!
//! A client keeps the connections whose responses were read whole, up to
//! [`max_idle`](ClientConfig::max_idle), for the next request to the same
//! address. Its sockets are bound to the ring of the runtime access it was
//! made with, so make one client per worker (or per actor) rather than
//! sharing one: a thread-local actor's client is that worker's pool.

mod body;
mod config;
mod pool;

pub use body::ResponseBody;
pub use config::ClientConfig;

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_core::Stream;
use http::header::{self, HeaderMap};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode, Uri};
use kiln_rt::access::Access;
use log::debug;

use crate::body::StreamBody;
use crate::client::pool::{Conn, Pool};
use crate::proto::decode::Decoder;
use crate::proto::encode::{self, BodyEncoding};
use crate::proto::error::{ErrorKind, ParseError};
use crate::proto::response::parse_response;

/// Output waiting to be sent is sent once it is this large.
const SEND_AT: usize = 64 * 1024;
/// A streamed body can't be sent twice, so it takes a pooled connection
/// only if that has been idle for less than this (a server closes idle
/// connections after seconds, not less: nginx 75 s, kiln 60 s, node 5 s).
const STREAM_REUSE: Duration = Duration::from_secs(1);

/// An HTTP/1.1 client with a pool of idle connections; see the [module
/// documentation](self).
///
/// ```no_run
/// # use std::io;
/// use http::Request;
/// use kiln_rt::RuntimeRef;
/// use kiln_http::client::{Client, ClientConfig};
///
/// async fn fetch(rt: RuntimeRef) -> io::Result<()> {
///     let client = Client::new(rt, ClientConfig::default());
///     let response = client.get("http://127.0.0.1:7080/").await?;
///     println!("{}", response.status());
///     let body = response.into_body().recv_all().await?;
///     println!("{}", String::from_utf8_lossy(&body));
///     Ok(())
/// }
/// ```
pub struct Client<RT: Access + Clone> {
    pool: Pool<RT>,
}

impl<RT: Access + Clone> Client<RT> {
    /// A client whose sockets and timers use `rt`.
    pub const fn new(rt: RT, config: ClientConfig) -> Client<RT> {
        Client {
            pool: Pool::new(rt, config),
        }
    }

    /// The client's configuration.
    pub const fn config(&self) -> &ClientConfig {
        self.pool.config()
    }

    /// Sends a `GET` request for `uri` (`http://host:port/path`).
    pub async fn get(&self, uri: &str) -> io::Result<Response<ResponseBody<'_, RT>>> {
        let uri: Uri = uri.parse().map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid URI '{uri}': {err}"),
            )
        })?;
        let mut request = Request::new(Bytes::new());
        *request.uri_mut() = uri;
        self.request(request).await
    }

    /// Sends `request` (its URI absolute: `http://host:port/path`) and
    /// reads the response head; the body is read from the returned
    /// response. `Host` is set from the URI unless given, the framing
    /// headers from the body. Follows redirects only if the configuration
    /// says so ([`with_redirects`](ClientConfig::with_redirects)).
    ///
    /// A request on a pooled connection that the server had closed is sent
    /// again on a new connection if its method is idempotent.
    pub async fn request<B: Into<Bytes>>(
        &self,
        request: Request<B>,
    ) -> io::Result<Response<ResponseBody<'_, RT>>> {
        let (mut parts, body) = request.into_parts();
        let mut body: Bytes = body.into();
        let mut redirects = 0;
        loop {
            let response = self.send(&parts, &body).await?;
            if redirects >= self.config().redirects() {
                return Ok(response);
            }
            let status = response.status();
            let Some(location) = redirect_target(&parts.uri, status, response.headers()) else {
                return Ok(response);
            };
            redirects += 1;
            debug!(
                "HTTP client: {status} from {}: following to {location}",
                parts.uri
            );
            // The body of the redirect is dropped (with its connection if
            // it was not read).
            drop(response);
            let see_other = status == StatusCode::SEE_OTHER
                || ((status == StatusCode::MOVED_PERMANENTLY || status == StatusCode::FOUND)
                    && parts.method == Method::POST);
            if see_other {
                parts.method = Method::GET;
                body = Bytes::new();
                parts.headers.remove(header::CONTENT_TYPE);
            }
            if location.authority() != parts.uri.authority() {
                parts.headers.remove(header::AUTHORIZATION);
                parts.headers.remove(header::COOKIE);
            }
            parts.headers.remove(header::HOST);
            parts.uri = location;
        }
    }

    /// Sends `request` with a body made as it is sent (chunked, or with
    /// `Content-Length` if the [`StreamBody`] has a length) and reads the
    /// response head; see the [module documentation](self) for the
    /// backpressure.
    ///
    /// A stream can be sent only once: redirects are returned, not
    /// followed, and the request is not sent again if the connection turns
    /// out closed (a pooled connection is used only if it has been idle
    /// for less than a second; else a new one is made). Fails with the
    /// stream's error if it yields one, and with
    /// [`io::ErrorKind::InvalidInput`] if it yields more or fewer bytes than
    /// its length (the connection is closed then).
    pub async fn request_stream<S, B>(
        &self,
        request: Request<StreamBody<S>>,
    ) -> io::Result<Response<ResponseBody<'_, RT>>>
    where
        S: Stream<Item = io::Result<B>>,
        B: AsRef<[u8]>,
    {
        let (parts, body) = request.into_parts();
        let (stream, length) = body.into_parts();
        let address = resolve(&parts.uri)?;
        let mut head = Vec::with_capacity(256);
        let encoding =
            encode::request_head(&mut head, &parts.method, &parts.uri, &parts.headers, length);
        let mut conn = match self.pool.take(address, STREAM_REUSE) {
            Some(conn) => conn,
            None => self.pool.connect(address).await?,
        };
        send_stream(&mut conn, head, encoding, stream).await?;
        let (response, decoder, keep_alive) = self
            .read_response(&mut conn, &parts.method)
            .await
            .map_err(Retry::into_error)?;
        let body = ResponseBody::new(&self.pool, conn, decoder, keep_alive);
        let (parts, ()) = response.into_parts();
        Ok(Response::from_parts(parts, body))
    }

    /// Sends one request; reads the response head.
    async fn send(
        &self,
        request: &Parts,
        body: &Bytes,
    ) -> io::Result<Response<ResponseBody<'_, RT>>> {
        let address = resolve(&request.uri)?;
        // The request's bytes; made again for a second attempt (a failed
        // send keeps its buffer).
        let bytes = || {
            let mut out = Vec::with_capacity(256 + body.len());
            let encoding = encode::request_head(
                &mut out,
                &request.method,
                &request.uri,
                &request.headers,
                Some(body.len() as u64),
            );
            if encoding != BodyEncoding::None {
                out.extend_from_slice(body);
            }
            out
        };
        let idempotent = matches!(
            request.method,
            Method::GET
                | Method::HEAD
                | Method::PUT
                | Method::DELETE
                | Method::OPTIONS
                | Method::TRACE
        );
        loop {
            let (mut conn, reused) = match self.pool.take(address, Duration::MAX) {
                Some(conn) => (conn, true),
                None => (self.pool.connect(address).await?, false),
            };
            let sent = match conn.stream.send_all(bytes()).await {
                Ok(_) => Ok(()),
                Err(err) => Err(match err.kind() {
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                        Retry::Closed(err)
                    }
                    _ => Retry::Failed(err),
                }),
            };
            let result = match sent {
                Ok(()) => self.read_response(&mut conn, &request.method).await,
                Err(err) => Err(err),
            };
            match result {
                Ok((response, decoder, keep_alive)) => {
                    let body = ResponseBody::new(&self.pool, conn, decoder, keep_alive);
                    let (parts, ()) = response.into_parts();
                    return Ok(Response::from_parts(parts, body));
                }
                // The server closed the pooled connection before it saw the
                // request: safe to send it again if it is idempotent.
                Err(Retry::Closed(err)) if reused && idempotent => {
                    debug!(
                        "HTTP client: pooled connection to {address} was closed ({err}): sending again"
                    );
                }
                Err(err) => return Err(err.into_error()),
            }
        }
    }

    /// Reads the response head on `conn`, skipping interim (1xx)
    /// responses, within the response timeout.
    async fn read_response(
        &self,
        conn: &mut Conn,
        method: &Method,
    ) -> Result<(Response<()>, Decoder, bool), Retry> {
        let deadline = Instant::now() + self.config().response_timeout();
        let mut received_any = false;
        loop {
            let parsed = parse_response(
                conn.input.bytes(),
                self.config().limits(),
                *method == Method::HEAD,
            );
            match parsed {
                Ok(Some(head))
                    if head.response.status().is_informational()
                        && head.response.status() != StatusCode::SWITCHING_PROTOCOLS =>
                {
                    conn.input.consume(head.length);
                    continue;
                }
                Ok(Some(head)) => {
                    conn.input.consume(head.length);
                    let decoder = Decoder::new(head.framing);
                    return Ok((head.response, decoder, head.keep_alive));
                }
                Ok(None) => {}
                Err(err) => return Err(Retry::Failed(err.into())),
            }
            match conn.recv(self.pool.rt(), Some(deadline)).await {
                Ok(0) if !received_any => {
                    return Err(Retry::Closed(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection without a response",
                    )));
                }
                Ok(0) => {
                    return Err(Retry::Failed(
                        ParseError::from(ErrorKind::HeadCutShort).into(),
                    ));
                }
                Ok(_) => received_any = true,
                Err(err) if err.kind() == io::ErrorKind::ConnectionReset && !received_any => {
                    return Err(Retry::Closed(err));
                }
                Err(err) => return Err(Retry::Failed(err)),
            }
        }
    }

    /// The number of idle connections in the pool.
    pub fn idle_connections(&self) -> usize {
        self.pool.len()
    }
}

impl<RT: Access + Clone> fmt::Debug for Client<RT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", self.config())
            .field("idle_connections", &self.idle_connections())
            .finish_non_exhaustive()
    }
}

/// Sends `head` and then the items of `stream` on `conn` (framed as
/// `encoding`), sending whenever [`SEND_AT`] bytes wait.
async fn send_stream<S, B>(
    conn: &mut Conn,
    mut out: Vec<u8>,
    encoding: BodyEncoding,
    stream: S,
) -> io::Result<()>
where
    S: Stream<Item = io::Result<B>>,
    B: AsRef<[u8]>,
{
    let mut stream = pin!(stream);
    let mut written = 0_u64;
    while let Some(item) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        let item = item?;
        let data = item.as_ref();
        if data.is_empty() {
            continue;
        }
        written += data.len() as u64;
        match encoding {
            BodyEncoding::Chunked => {
                encode::chunk_head(&mut out, data.len());
                out.extend_from_slice(data);
                out.extend_from_slice(encode::CHUNK_END);
            }
            BodyEncoding::Length(length) if written <= length => out.extend_from_slice(data),
            BodyEncoding::Length(_) | BodyEncoding::None | BodyEncoding::UntilClose => {
                return Err(wrong_length(written, encoding));
            }
        }
        if out.len() >= SEND_AT {
            out = conn.stream.send_all(out).await?;
            out.clear();
        }
    }
    match encoding {
        BodyEncoding::Chunked => out.extend_from_slice(encode::LAST_CHUNK),
        BodyEncoding::Length(length) if written != length => {
            return Err(wrong_length(written, encoding));
        }
        _ => {}
    }
    conn.stream.send_all(out).await.map(drop)
}

/// The error for a stream that yielded `written` bytes where `encoding`
/// says otherwise.
fn wrong_length(written: u64, encoding: BodyEncoding) -> io::Error {
    let length = match encoding {
        BodyEncoding::Length(length) => length,
        _ => 0,
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("request body stream yielded {written} bytes, not its length of {length}"),
    )
}

/// Why an exchange failed: `Closed` if the connection was closed before a
/// response began (a request on it may be sent again).
enum Retry {
    Closed(io::Error),
    Failed(io::Error),
}

impl Retry {
    fn into_error(self) -> io::Error {
        match self {
            Retry::Closed(err) | Retry::Failed(err) => err,
        }
    }
}

/// The socket address of `uri`'s authority (port 80 by default). Host
/// names go through the system resolver, which blocks: use addresses where
/// that matters.
fn resolve(uri: &Uri) -> io::Result<SocketAddr> {
    match uri.scheme_str() {
        Some("http") => {}
        Some(scheme) => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("'{scheme}' URIs are not supported (only http)"),
            ));
        }
        None => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("URI '{uri}' is not absolute (http://host/path)"),
            ));
        }
    }
    let host = uri.host().unwrap_or_default();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = uri.port_u16().unwrap_or(80);
    (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no address for '{host}'")))
}

/// Where a redirect response points, if it is one with a usable
/// `Location` (absolute, or a path on the same server).
fn redirect_target(base: &Uri, status: StatusCode, headers: &HeaderMap) -> Option<Uri> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location: Uri = headers.get(header::LOCATION)?.to_str().ok()?.parse().ok()?;
    if location.scheme().is_some() {
        return Some(location);
    }
    let path = location.path_and_query()?.clone();
    let mut parts = base.clone().into_parts();
    parts.path_and_query = Some(path);
    Uri::from_parts(parts).ok()
}
