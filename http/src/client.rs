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
//! # A pool per worker
//!
//! A client keeps the connections whose responses were read whole, up to
//! [`max_idle`](ClientConfig::max_idle), for the next request to the same
//! address. Its sockets are bound to the ring of the runtime access it was
//! made with, so make one client per worker (or per actor) rather than
//! sharing one: a thread-local actor's client is that worker's pool.

mod body;
mod config;

pub use body::ResponseBody;
pub use config::ClientConfig;

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::mem::take;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::{Method, Request, Response, StatusCode, Uri};
use kiln_rt::access::Access;
use kiln_rt::net::TcpStream;
use kiln_rt::timer::Deadline;
use log::debug;

use crate::proto::decode::Decoder;
use crate::proto::encode;
use crate::proto::error::{ErrorKind, ParseError};
use crate::proto::response::parse_response;

/// Bytes of room made in a connection's input before each receive.
const RECV_SIZE: usize = 16 * 1024;

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
    rt: RT,
    config: ClientConfig,
    pool: RefCell<Vec<Idle>>,
}

/// A connection in the pool.
struct Idle {
    conn: Conn,
    since: Instant,
}

/// A connection of the client.
pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    pub(crate) address: SocketAddr,
    /// Bytes received and not used yet start at `start`.
    pub(crate) input: Vec<u8>,
    pub(crate) start: usize,
}

impl<RT: Access + Clone> Client<RT> {
    /// A client whose sockets and timers use `rt`.
    pub fn new(rt: RT, config: ClientConfig) -> Client<RT> {
        Client {
            rt,
            config,
            pool: RefCell::new(Vec::new()),
        }
    }

    /// The client's configuration.
    pub const fn config(&self) -> &ClientConfig {
        &self.config
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
            let response = self
                .send(&parts.method, &parts.uri, &parts.headers, &body)
                .await?;
            if redirects >= self.config.redirects() {
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

    /// Sends one request; reads the response head.
    async fn send(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> io::Result<Response<ResponseBody<'_, RT>>> {
        let address = resolve(uri)?;
        let mut head = Vec::with_capacity(256 + body.len().min(64 * 1024));
        let encoding =
            encode::request_head(&mut head, method, uri, headers, Some(body.len() as u64));
        let idempotent = matches!(
            *method,
            Method::GET
                | Method::HEAD
                | Method::PUT
                | Method::DELETE
                | Method::OPTIONS
                | Method::TRACE
        );
        loop {
            let (mut conn, reused) = match self.take_idle(address) {
                Some(conn) => (conn, true),
                None => (self.connect(address).await?, false),
            };
            let result = self
                .exchange(&mut conn, method, &head, encoding, body)
                .await;
            match result {
                Ok((response, decoder, keep_alive)) => {
                    let body = ResponseBody::new(self, conn, decoder, keep_alive);
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
                Err(Retry::Closed(err) | Retry::Failed(err)) => return Err(err),
            }
        }
    }

    /// Sends the request on `conn` and reads the response head, skipping
    /// interim (1xx) responses.
    async fn exchange(
        &self,
        conn: &mut Conn,
        method: &Method,
        head: &[u8],
        encoding: encode::BodyEncoding,
        body: &Bytes,
    ) -> Result<(Response<()>, Decoder, bool), Retry> {
        let deadline = Instant::now() + self.config.write_timeout();
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(head);
        if encoding != encode::BodyEncoding::None {
            out.extend_from_slice(body);
        }
        let sent = Deadline::at(self.rt.clone(), deadline, conn.stream.send_all(out)).await;
        if let Err(err) = sent {
            return Err(match err.kind() {
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Retry::Closed(err),
                _ => Retry::Failed(err),
            });
        }
        let deadline = Instant::now() + self.config.response_timeout();
        let mut received_any = false;
        loop {
            let parsed = parse_response(
                &conn.input[conn.start..],
                self.config.limits(),
                *method == Method::HEAD,
            );
            match parsed {
                Ok(Some(head))
                    if head.response.status().is_informational()
                        && head.response.status() != StatusCode::SWITCHING_PROTOCOLS =>
                {
                    conn.start += head.length;
                    continue;
                }
                Ok(Some(head)) => {
                    conn.start += head.length;
                    let decoder = Decoder::new(head.framing);
                    return Ok((head.response, decoder, head.keep_alive));
                }
                Ok(None) => {}
                Err(err) => return Err(Retry::Failed(invalid(err))),
            }
            match conn.recv(&self.rt, deadline).await {
                Ok(0) if !received_any => {
                    return Err(Retry::Closed(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection without a response",
                    )));
                }
                Ok(0) => return Err(Retry::Failed(invalid(ErrorKind::HeadCutShort.into()))),
                Ok(_) => received_any = true,
                Err(err) if err.kind() == io::ErrorKind::ConnectionReset && !received_any => {
                    return Err(Retry::Closed(err));
                }
                Err(err) => return Err(Retry::Failed(err)),
            }
        }
    }

    /// Connects to `address` under the connect timeout.
    async fn connect(&self, address: SocketAddr) -> io::Result<Conn> {
        let connect = TcpStream::connect(&self.rt, address);
        let stream =
            Deadline::after(self.rt.clone(), self.config.connect_timeout(), connect).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            address,
            input: Vec::new(),
            start: 0,
        })
    }

    /// A pooled connection to `address` that has not been idle too long.
    fn take_idle(&self, address: SocketAddr) -> Option<Conn> {
        let mut pool = self.pool.borrow_mut();
        let max_idle = self.config.idle_timeout();
        pool.retain(|idle| idle.since.elapsed() < max_idle);
        let index = pool.iter().rposition(|idle| idle.conn.address == address)?;
        Some(pool.swap_remove(index).conn)
    }

    /// Puts a connection whose response was read whole back in the pool.
    pub(crate) fn give_back(&self, mut conn: Conn) {
        if self.config.max_idle() == 0 || conn.start != conn.input.len() {
            return; // Bytes after the response: out of step, drop it.
        }
        conn.input.clear();
        conn.start = 0;
        let mut pool = self.pool.borrow_mut();
        if pool.len() >= self.config.max_idle() {
            pool.remove(0); // The oldest.
        }
        pool.push(Idle {
            conn,
            since: Instant::now(),
        });
    }

    /// The number of idle connections in the pool.
    pub fn idle_connections(&self) -> usize {
        self.pool.borrow().len()
    }
}

impl<RT: Access + Clone> fmt::Debug for Client<RT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("idle_connections", &self.idle_connections())
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Receives more bytes until `deadline`; returns how many (0: closed).
    pub(crate) async fn recv<RT: Access + Clone>(
        &mut self,
        rt: &RT,
        deadline: Instant,
    ) -> io::Result<usize> {
        if self.start > 0 {
            self.input.drain(..self.start);
            self.start = 0;
        }
        let mut input = take(&mut self.input);
        let before = input.len();
        input.reserve(RECV_SIZE);
        input = Deadline::at(rt.clone(), deadline, self.stream.recv(input)).await?;
        let received = input.len() - before;
        self.input = input;
        Ok(received)
    }
}

/// Why an exchange failed: `Closed` if the connection was closed before a
/// response began (a request on it may be sent again).
enum Retry {
    Closed(io::Error),
    Failed(io::Error),
}

/// An I/O error for a framing error of the response.
pub(crate) fn invalid(err: ParseError) -> io::Error {
    match err.kind() {
        ErrorKind::BodyCutShort | ErrorKind::HeadCutShort => {
            io::Error::new(io::ErrorKind::UnexpectedEof, err)
        }
        _ => io::Error::new(io::ErrorKind::InvalidData, err),
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
