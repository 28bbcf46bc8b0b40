//! [`Connection`]: one HTTP/1.1 connection on the server side, read
//! request by request with [`next_request`](Connection::next_request) and
//! answered with [`respond`](Connection::respond).
//!
//! The connection is a handle to its [`Wire`] (the socket, the buffers and
//! the byte-level rules); a request's [`RequestBody`] is another, so that
//! a body can be streamed into the response that answers it.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use http::{Request, Response};
use kiln_rt::RuntimeRef;
use kiln_rt::net::TcpStream;

use crate::body::{BodySink, ResponseBody};
use crate::proto::encode::BodyEncoding;
use crate::proto::error::ParseError;
use crate::server::body::RequestBody;
use crate::server::config::ServerConfig;
use crate::server::shutdown::Watch;
use crate::server::wire::Wire;

/// One HTTP/1.1 connection of a server: read requests with
/// [`next_request`](Connection::next_request), answer each, in order, with
/// [`respond`](Connection::respond).
///
/// ```no_run
/// # use std::io;
/// # use std::convert::Infallible;
/// use http::Response;
/// use kiln::actor;
/// use kiln_rt::access::ThreadLocal;
/// use kiln_http::server::Connection;
///
/// async fn connection(_: actor::Context<Infallible, ThreadLocal>, conn: Connection) -> io::Result<()> {
///     while let Some(request) = conn.next_request().await? {
///         let body = request.into_body().recv_all().await?;
///         conn.respond(Response::new(format!("got {} bytes\n", body.len()))).await?;
///     }
///     Ok(())
/// }
/// ```
///
/// The connection keeps the rules of HTTP/1.1 for its user:
///
/// - A malformed request, one over a limit, or a head that takes too long
///   is answered with its status (400, 408, 413, 414, 417, 431, 501, 505)
///   and the connection closes: `next_request` returns `Ok(None)`, and
///   [`last_error`](Connection::last_error) says why.
/// - Responses to pipelined requests received in one read are sent in one
///   send; otherwise `respond` sends at once.
/// - A request body the user did not read is read and dropped before the
///   next request (up to 256 KiB; the connection closes after a larger one,
///   or after one whose client still waits for `100 Continue`).
/// - `Expect: 100-continue` is answered when the body is first read.
/// - Responses to `HEAD` have the headers but not the body; HTTP/1.0
///   clients get `Connection: keep-alive` if they asked for it, and bodies
///   of unknown length end with the connection.
/// - Sends are bounded by the [write
///   timeout](ServerConfig::write_timeout), set on the stream.
/// - After a graceful shutdown started, an idle connection closes at once
///   and a busy one after its current response; one still busy at the
///   end of the [drain](ServerConfig::shutdown_timeout) is closed and its
///   actor dropped (for the connections of a
///   [`Server`](crate::server::Server)).
/// - If the connection's actor panics (a handler's, or your own), the
///   request being served is answered with 500 and the connection closes
///   (for the connections of a [`Server`](crate::server::Server)).
pub struct Connection {
    wire: Rc<Wire>,
}

impl Connection {
    /// A connection over `stream`, with its timers on `rt`. kiln-http's
    /// [`Server`](crate::server::Server) makes these; make one by hand for
    /// a stream you accepted yourself. Sets the stream's write timeout
    /// (and `TCP_NODELAY`).
    pub fn new(
        rt: RuntimeRef,
        stream: TcpStream,
        peer: SocketAddr,
        config: ServerConfig,
    ) -> Connection {
        Connection::with_watch(rt, stream, peer, config, Watch::never())
    }

    pub(crate) fn with_watch(
        rt: RuntimeRef,
        stream: TcpStream,
        peer: SocketAddr,
        config: ServerConfig,
        watch: Watch,
    ) -> Connection {
        Connection {
            wire: Rc::new(Wire::new(rt, stream, peer, config, watch)),
        }
    }

    /// The connection's wire, shared.
    pub(crate) fn wire(&self) -> Rc<Wire> {
        self.wire.clone()
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.wire.peer()
    }

    /// The server's limits and timeouts for this connection.
    pub fn config(&self) -> &ServerConfig {
        self.wire.config()
    }

    /// Why the connection was closed early (a malformed request, a limit,
    /// a timeout), if it was.
    pub fn last_error(&self) -> Option<ParseError> {
        self.wire.last_error()
    }

    /// Reads the next request: `Ok(None)` once the connection is done (the
    /// client closed it or asked to, it stayed idle past the idle timeout,
    /// a graceful shutdown started, or a malformed request was answered
    /// with its error status).
    ///
    /// Sends the responses waiting in the buffer before it waits for the
    /// client. The body of the previous request, if not read, is read and
    /// dropped first (or the connection is closed, see [`Connection`]).
    pub async fn next_request(&self) -> io::Result<Option<Request<RequestBody>>> {
        // Keep-alive and pipelined requests whose head is here already.
        if let Some((head, number)) = self.wire.buffered_head() {
            return Ok(Some(self.with_body(head, number)));
        }
        let Some((head, number)) = self.wire.next_head().await? else {
            return Ok(None);
        };
        Ok(Some(self.with_body(head, number)))
    }

    /// The request of `head`, the `number`th of the connection, with its
    /// body.
    fn with_body(&self, head: Request<()>, number: u64) -> Request<RequestBody> {
        let length = self.wire.body_length();
        let body = RequestBody::new(self.wire.clone(), number, length);
        head.map(|()| body)
    }

    /// Answers the oldest request not answered yet with `response`.
    ///
    /// The body is written after the head: known-length bodies with
    /// `Content-Length`, others chunked (or, to an HTTP/1.0 client, until
    /// the connection closes). kiln sets the framing headers
    /// (`Content-Length`, `Transfer-Encoding`, `Connection`) itself and
    /// `Date` unless given. The response waits in the buffer only while
    /// bytes of a next request have been received already (pipelining);
    /// then `next_request` sends it with the responses after it, once it
    /// runs out of complete requests (or 64 KiB of responses wait).
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] if there is no request to
    /// answer or the body's length differs from what it declared (the
    /// connection closes then), and with the I/O error if sending fails (or
    /// times out). If the connection answered the request already (its
    /// body was malformed, too large or too slow), the response is dropped.
    pub async fn respond<B: ResponseBody>(&self, response: Response<B>) -> io::Result<()> {
        let (parts, body) = response.into_parts();
        let started = self
            .wire
            .start_response(parts.status, &parts.headers, body.length())?;
        let Some(encoding) = started else {
            return Ok(());
        };
        let mut sink = BodySink::new(&self.wire, encoding);
        let written = if encoding == BodyEncoding::None {
            Ok(())
        } else {
            body.write_body(&mut sink).await
        };
        if let Err(err) = written.and_then(|()| sink.finish()) {
            self.wire.response_failed();
            return Err(err);
        }
        if self.wire.end_response(parts.headers) {
            self.wire.flush().await?;
        }
        Ok(())
    }

    /// Sends the responses waiting in the buffer.
    pub async fn flush(&self) -> io::Result<()> {
        self.wire.flush().await
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("wire", &self.wire)
            .finish()
    }
}
