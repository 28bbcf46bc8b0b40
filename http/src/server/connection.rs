//! [`Connection`]: one HTTP/1.1 connection on the server side, read
//! request by request with [`next_request`](Connection::next_request) and
//! answered with [`respond`](Connection::respond).
//!
//! # Shape
//!
//! Every method takes `&self`: a request's [`RequestBody`] borrows the
//! connection while the response is written, so a handler can stream the
//! request body back into the response (`conn.respond(Response::new(body))`)
//! without buffering it. The state sits in `RefCell`s that are never
//! borrowed across an `.await`: buffers the kernel works on are taken out
//! for the operation and put back after it (a cancelled operation leaves
//! the connection marked broken, and it is closed). A connection belongs to
//! a thread-local actor, so nothing here is shared between threads.
//!
//! # I/O and timeouts
//!
//! Receives and sends go through [`Connection::recv`] and
//! [`Connection::send`], the only places that touch the socket, each under
//! a deadline: the idle, head, body or write timeout of the
//! [`ServerConfig`], capped by the drain deadline once a graceful shutdown
//! started.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::mem::take;
use std::net::{Shutdown as Direction, SocketAddr};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use http::{Method, Request, Response, StatusCode, Version, header};
use kiln_rt::RuntimeRef;
use kiln_rt::net::TcpStream;
use kiln_rt::timer::Deadline;
use log::debug;

use crate::body::{BodySink, ResponseBody};
use crate::proto::decode::Decoder;
use crate::proto::encode::{self, BodyEncoding, Exchange};
use crate::proto::error::{ErrorKind, ParseError};
use crate::proto::request::parse_request;
use crate::server::body::RequestBody;
use crate::server::config::ServerConfig;
use crate::server::setup::ConnectionCount;
use crate::server::shutdown::Watch;

/// Bytes of room made in the input buffer before each receive.
const RECV_SIZE: usize = 16 * 1024;
/// Responses are sent once this many bytes are waiting; fewer wait for the
/// other responses of one batch of pipelined requests.
pub(crate) const FLUSH_AT: usize = 64 * 1024;
/// An unread request body up to this size is read and dropped to keep the
/// connection; a larger one closes it.
const DISCARD_LIMIT: u64 = 256 * 1024;
/// How long a closing connection reads what the client still sends, so
/// that the kernel does not reset the connection (losing the last
/// response) because of unread bytes: nginx's "lingering close".
const LINGER: Duration = Duration::from_secs(1);
/// The most bytes read while lingering (the time bounds it first on any
/// real network).
const LINGER_LIMIT: usize = 64 * 1024 * 1024;
/// The interim response to `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

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
/// - After a graceful shutdown started, an idle connection closes at once
///   and a busy one after its current response.
pub struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    rt: RuntimeRef,
    config: ServerConfig,
    watch: RefCell<Watch>,
    read: RefCell<Reader>,
    write: RefCell<Writer>,
    /// The connection closes after the responses owed.
    closing: Cell<bool>,
    /// The input was lost with a cancelled (timed out) receive: nothing
    /// more can be read in step.
    read_lost: Cell<bool>,
    /// The output was lost with a cancelled (timed out) send: nothing more
    /// can be written in step.
    write_lost: Cell<bool>,
    /// Why the connection was closed early.
    error: Cell<Option<ParseError>>,
    /// Closing reads (and drops) what the client still sends for a while
    /// (see [`LINGER`]): after an error answer or an unread body.
    linger: Cell<bool>,
    /// Counts the connection among its server's; `true` if it is over the
    /// server's limit (answered with 503).
    count: Option<(ConnectionCount, Cell<bool>)>,
}

/// The reading side.
#[derive(Debug)]
struct Reader {
    /// Bytes received and not used yet start at `start`.
    input: Vec<u8>,
    start: usize,
    /// The body of the last request read.
    decoder: Decoder,
    /// Requests read so far; the last one's number.
    requests: u64,
    /// The last request's client waits for `100 Continue`.
    continue_pending: bool,
}

/// The writing side.
#[derive(Debug)]
struct Writer {
    /// Responses not sent yet.
    output: Vec<u8>,
    /// The requests read and not answered yet, oldest first.
    owed: VecDeque<Owed>,
}

/// A request still to answer.
#[derive(Copy, Clone, Debug)]
struct Owed {
    exchange: Exchange,
    keep_alive: bool,
    /// The connection answered it already (with an error status).
    answered: bool,
}

/// Which timeout a receive is under.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Between requests (ends early when a shutdown starts).
    Idle,
    /// In a request head, which must be complete by this instant.
    Head(Instant),
    /// In a request body.
    Body,
}

impl Connection {
    /// A connection over `stream`, with its timers on `rt`. kiln-http's
    /// [`Server`](crate::server::Server) makes these; make one by hand for
    /// a stream you accepted yourself.
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
        // Small responses go out at once; pipelined ones are batched by
        // `respond` itself.
        if let Err(err) = stream.set_nodelay(true) {
            debug!("connection from {peer}: can't set TCP_NODELAY: {err}");
        }
        Connection {
            stream,
            peer,
            rt,
            config,
            watch: RefCell::new(watch),
            read: RefCell::new(Reader {
                input: Vec::new(),
                start: 0,
                decoder: Decoder::Done,
                requests: 0,
                continue_pending: false,
            }),
            write: RefCell::new(Writer {
                output: Vec::new(),
                owed: VecDeque::new(),
            }),
            closing: Cell::new(false),
            read_lost: Cell::new(false),
            write_lost: Cell::new(false),
            error: Cell::new(None),
            linger: Cell::new(false),
            count: None,
        }
    }

    /// Counts the connection among its server's; one `over_limit` is
    /// answered with 503 and closed.
    pub(crate) fn count(&mut self, count: ConnectionCount, over_limit: bool) {
        self.count = Some((count, Cell::new(over_limit)));
    }

    /// The client's address.
    pub const fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The server's limits and timeouts for this connection.
    pub const fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Why the connection was closed early (a malformed request, a limit,
    /// a timeout), if it was.
    pub fn last_error(&self) -> Option<ParseError> {
        self.error.get()
    }

    /// Reads the next request: `Ok(None)` once the connection is done (the
    /// client closed it or asked to, it stayed idle past the idle timeout,
    /// a graceful shutdown started, or a malformed request was answered
    /// with its error status).
    ///
    /// Sends the responses waiting in the buffer before it waits for the
    /// client. The body of the previous request, if not read, is read and
    /// dropped first (or the connection is closed, see [`Connection`]).
    pub async fn next_request(&self) -> io::Result<Option<Request<RequestBody<'_>>>> {
        if let Some((_, over_limit)) = &self.count
            && over_limit.replace(false)
        {
            debug!(
                "connection from {}: over the server's connection limit: 503",
                self.peer
            );
            self.answer_error(StatusCode::SERVICE_UNAVAILABLE).await;
            return Ok(None);
        }
        if !self.finish_body().await? {
            // A body left unread: read what comes for a while, so that the
            // kernel does not reset the connection, losing the responses.
            self.linger.set(true);
            self.close().await;
            return Ok(None);
        }
        if self.closing.get() || self.read_lost.get() {
            self.close().await;
            return Ok(None);
        }
        let mut head_deadline = None;
        loop {
            let parsed = {
                let read = self.read.borrow();
                if read.start == read.input.len() {
                    None
                } else {
                    Some(parse_request(
                        &read.input[read.start..],
                        self.config.limits(),
                    ))
                }
            };
            match parsed {
                Some(Ok(Some(head))) => return Ok(Some(self.start_request(head))),
                Some(Err(err)) => {
                    self.fail(err).await;
                    return Ok(None);
                }
                Some(Ok(None)) | None => {}
            }
            // A partial head (or none): send what is waiting, then wait
            // for more bytes.
            self.flush().await?;
            let idle = parsed.is_none();
            if idle && self.watch.borrow().started() {
                debug!(
                    "connection from {}: closing idle connection for the shutdown",
                    self.peer
                );
                return Ok(None);
            }
            let wait = if idle && self.read.borrow().requests > 0 {
                Wait::Idle
            } else {
                let deadline = *head_deadline
                    .get_or_insert_with(|| Instant::now() + self.config.head_timeout());
                Wait::Head(deadline)
            };
            match self.recv(wait).await {
                Ok(0) if idle => return Ok(None), // Closed by the client.
                Ok(0) => {
                    debug!(
                        "connection from {}: closed in the middle of a request head",
                        self.peer
                    );
                    self.error.set(Some(ErrorKind::HeadCutShort.into()));
                    return Ok(None);
                }
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::TimedOut && wait == Wait::Idle => {
                    debug!(
                        "connection from {}: closing after the idle timeout",
                        self.peer
                    );
                    return Ok(None);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {
                    debug!(
                        "connection from {}: closing idle connection for the shutdown",
                        self.peer
                    );
                    return Ok(None);
                }
                Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                    debug!(
                        "connection from {}: request head not complete in time: 408",
                        self.peer
                    );
                    self.answer_error(StatusCode::REQUEST_TIMEOUT).await;
                    return Ok(None);
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Sets up the state for a request whose head was just parsed.
    fn start_request(&self, head: crate::proto::request::RequestHead) -> Request<RequestBody<'_>> {
        let number = {
            let mut read = self.read.borrow_mut();
            read.start += head.length;
            read.decoder = Decoder::new(head.framing);
            read.requests += 1;
            read.continue_pending = head.expect_continue && !read.decoder.is_done();
            read.requests
        };
        let exchange = Exchange {
            head: head.request.method() == Method::HEAD,
            http10: head.request.version() == Version::HTTP_10,
        };
        self.write.borrow_mut().owed.push_back(Owed {
            exchange,
            keep_alive: head.keep_alive,
            answered: false,
        });
        let (parts, ()) = head.request.into_parts();
        let length = self.read.borrow().decoder.remaining();
        Request::from_parts(parts, RequestBody::new(self, number, length))
    }

    /// Reads and drops what is left of the last request's body; `false` if
    /// the connection must close instead.
    async fn finish_body(&self) -> io::Result<bool> {
        {
            let read = self.read.borrow();
            if read.decoder.is_done() {
                return Ok(true);
            }
            if read.continue_pending {
                // The client waits for `100 Continue` before it sends the
                // body: it can't be told apart from the next request.
                return Ok(false);
            }
            if read.decoder.remaining().is_some_and(|n| n > DISCARD_LIMIT) {
                return Ok(false);
            }
        }
        let mut discarded = 0_u64;
        loop {
            match self.body_chunk(|data| data.len()).await {
                Ok(Some(n)) => {
                    discarded += n as u64;
                    if discarded > DISCARD_LIMIT {
                        return Ok(false);
                    }
                }
                Ok(None) => return Ok(true),
                // Answered already (or the client is gone).
                Err(_) => return Ok(false),
            }
        }
    }

    /// Calls `f` with the next piece of the last request's body; `None` at
    /// its end. Sends `100 Continue` first if the client waits for it.
    /// Framing errors and timeouts are answered (400, 408, 413...) and
    /// close the connection.
    pub(crate) async fn body_chunk<T>(&self, f: impl FnOnce(&[u8]) -> T) -> io::Result<Option<T>> {
        // Not needed if body bytes came already (RFC 9110, section 10.1.1).
        let send_continue = take_cell(&self.read, |read| {
            take(&mut read.continue_pending) && read.start == read.input.len()
        });
        if send_continue {
            self.flush().await?;
            self.send_bytes(CONTINUE).await?;
        }
        let mut f = Some(f);
        loop {
            let decoded = {
                let mut read = self.read.borrow_mut();
                let Reader {
                    input,
                    start,
                    decoder,
                    ..
                } = &mut *read;
                if decoder.is_done() {
                    return Ok(None);
                }
                decoder
                    .decode(&input[*start..], self.config.limits())
                    .map(|decoded| {
                        let data = &input[*start + decoded.data.start..*start + decoded.data.end];
                        let result =
                            (!data.is_empty()).then(|| (f.take().expect("called once"))(data));
                        *start += decoded.used;
                        (decoded.used, result)
                    })
            };
            match decoded {
                Ok((_, Some(result))) => return Ok(Some(result)),
                Ok((used, None)) if used > 0 => {}
                Ok(_) => match self.flush_then_recv().await {
                    Ok(0) => {
                        let finished = self.read.borrow_mut().decoder.finish();
                        if let Err(err) = finished {
                            debug!("connection from {}: {err}", self.peer);
                            self.error.set(Some(err));
                            self.closing.set(true);
                            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, err));
                        }
                    }
                    Ok(_) => {}
                    Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                        debug!("connection from {}: request body too slow: 408", self.peer);
                        self.answer_current(StatusCode::REQUEST_TIMEOUT).await;
                        return Err(err);
                    }
                    Err(err) => return Err(err),
                },
                Err(err) => {
                    self.error.set(Some(err));
                    debug!("connection from {}: {err}: {}", self.peer, err.status());
                    self.answer_current(err.status()).await;
                    return Err(io::Error::new(io::ErrorKind::InvalidData, err));
                }
            }
        }
    }

    /// Answers the request whose body failed with `status` if it is the
    /// only one not answered yet (else the connection just closes), and
    /// closes after it; the user's own response to it is dropped.
    pub(crate) async fn answer_current(&self, status: StatusCode) {
        self.closing.set(true);
        let answer = {
            let mut write = self.write.borrow_mut();
            let single = write.owed.len() == 1;
            match write.owed.back_mut() {
                Some(owed) if single && !owed.answered => {
                    owed.answered = true;
                    true
                }
                _ => false,
            }
        };
        if answer {
            self.answer_error(status).await;
        } else {
            self.close().await;
        }
    }

    /// Answers a request that could not be read with its error status and
    /// closes the connection.
    async fn fail(&self, err: ParseError) {
        debug!("connection from {}: {err}: {}", self.peer, err.status());
        self.error.set(Some(err));
        self.answer_error(err.status()).await;
    }

    /// Sends `status` with a short text body and `Connection: close`, then
    /// closes the connection.
    async fn answer_error(&self, status: StatusCode) {
        self.closing.set(true);
        // The client may still be sending what was refused.
        self.linger.set(true);
        if self.write_lost.get() {
            return;
        }
        let reason = status.canonical_reason().unwrap_or("Error");
        let mut response = Response::new(format!("{reason}\n"));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        let exchange = Exchange {
            head: false,
            http10: false,
        };
        {
            let mut write = self.write.borrow_mut();
            let (parts, body) = response.into_parts();
            let length = Some(body.len() as u64);
            encode::response_head(
                &mut write.output,
                parts.status,
                &parts.headers,
                length,
                exchange,
                true,
            );
            write.output.extend_from_slice(body.as_bytes());
        }
        self.close().await;
    }

    /// Answers the oldest request not answered yet with `response`.
    ///
    /// The body is written after the head: known-length bodies with
    /// `Content-Length`, others chunked (or, to an HTTP/1.0 client, until
    /// the connection closes). kiln sets the framing headers
    /// (`Content-Length`, `Transfer-Encoding`, `Connection`) itself and
    /// `Date` unless given. The response waits in the buffer only while a
    /// complete next request has been received already (pipelining); then
    /// `next_request` sends it with the responses after it.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] if there is no request to
    /// answer, and with the I/O error if sending fails (or times out). If
    /// the connection answered the request already (its body was
    /// malformed, too large or too slow), the response is dropped.
    pub async fn respond<B: ResponseBody>(&self, response: Response<B>) -> io::Result<()> {
        let owed = self.write.borrow_mut().owed.pop_front();
        let Some(owed) = owed else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "respond called with no request to answer",
            ));
        };
        if owed.answered {
            debug!(
                "connection from {}: response dropped: the request was answered with an error",
                self.peer
            );
            return Ok(());
        }
        if self.write_lost.get() {
            return Err(lost());
        }
        let (parts, body) = response.into_parts();
        // The client of the request being answered waits for `100
        // Continue`: a success is likely to read the body (an echo), so
        // the interim response goes first; an error is not, and the
        // connection closes after it rather than read a body nobody asked
        // for (see `finish_body`).
        let continue_first = self.write.borrow().owed.is_empty()
            && parts.status.is_success()
            && take_cell(&self.read, |read| take(&mut read.continue_pending));
        if continue_first {
            self.push_output(CONTINUE);
        }
        let close = self.closing.get() || !owed.keep_alive || self.watch.borrow().started();
        let (encoding, close) = {
            let mut write = self.write.borrow_mut();
            encode::response_head(
                &mut write.output,
                parts.status,
                &parts.headers,
                body.length(),
                owed.exchange,
                close,
            )
        };
        if close {
            self.closing.set(true);
        }
        let mut sink = BodySink::new(self, encoding);
        if encoding != BodyEncoding::None
            && let Err(err) = body.write_body(&mut sink).await
        {
            self.closing.set(true);
            return Err(err);
        }
        sink.finish()?;
        let pending = self.write.borrow().output.len();
        if pending >= FLUSH_AT || self.closing.get() || !self.next_head_received() {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends the responses waiting in the buffer.
    pub async fn flush(&self) -> io::Result<()> {
        if self.write.borrow().output.is_empty() {
            return Ok(());
        }
        let output = take(&mut self.write.borrow_mut().output);
        let output = self.send(output).await?;
        self.write.borrow_mut().output = output;
        Ok(())
    }

    /// Whether the input holds a complete request head (the end of the
    /// next request's head) beyond the body being read.
    fn next_head_received(&self) -> bool {
        let read = self.read.borrow();
        if !read.decoder.is_done() {
            return false;
        }
        let rest = &read.input[read.start..];
        rest.windows(4).any(|w| w == b"\r\n\r\n") || rest.windows(2).any(|w| w == b"\n\n")
    }

    /// Appends `data` to the output, sending it once it is large.
    pub(crate) async fn write_output(&self, data: &[u8], chunked: bool) -> io::Result<()> {
        let full = {
            let mut write = self.write.borrow_mut();
            if chunked {
                encode::chunk_head(&mut write.output, data.len());
            }
            write.output.extend_from_slice(data);
            if chunked {
                write.output.extend_from_slice(encode::CHUNK_END);
            }
            write.output.len() >= FLUSH_AT
        };
        if full {
            self.flush().await?;
        }
        Ok(())
    }

    /// Appends raw `bytes` to the output (framing of a body).
    pub(crate) fn push_output(&self, bytes: &[u8]) {
        self.write.borrow_mut().output.extend_from_slice(bytes);
    }

    /// Sends the output and then `buf` (a large body), in one system call
    /// where it fits.
    pub(crate) async fn send_with<B: kiln_rt::io::Buf>(&self, buf: B) -> io::Result<()> {
        if self.write_lost.get() {
            return Err(lost());
        }
        let output = take(&mut self.write.borrow_mut().output);
        self.write_lost.set(true);
        let deadline = self.deadline(self.config.write_timeout());
        let send = self.stream.send_all_vectored((output, buf));
        let result = Deadline::at(self.rt.clone(), deadline, send).await;
        let (mut output, _) = self.check(result)?;
        self.write_lost.set(false);
        output.clear();
        self.write.borrow_mut().output = output;
        Ok(())
    }

    /// Closes the connection after the responses owed: sends them, and
    /// after an error answer or an unread body lingers (see [`LINGER`]).
    async fn close(&self) {
        self.closing.set(true);
        if self.write_lost.get() {
            return;
        }
        if let Err(err) = self.flush().await {
            debug!(
                "connection from {}: can't send the last responses: {err}",
                self.peer
            );
            return;
        }
        if !self.linger.get() {
            return;
        }
        if self.stream.shutdown(Direction::Write).await.is_err() {
            return; // Gone already.
        }
        let deadline = Instant::now() + LINGER;
        let mut buf = take(&mut self.read.borrow_mut().input);
        let mut read = 0;
        while read < LINGER_LIMIT {
            buf.clear();
            buf.reserve(RECV_SIZE);
            match Deadline::at(self.rt.clone(), deadline, self.stream.recv(buf)).await {
                Ok(received) if !received.is_empty() => {
                    read += received.len();
                    buf = received;
                }
                _ => break,
            }
        }
    }

    /// Sends what waits in the output (the client may wait for it, e.g.
    /// for `100 Continue`, before it sends more), then receives more body.
    async fn flush_then_recv(&self) -> io::Result<usize> {
        self.flush().await?;
        self.recv(Wait::Body).await
    }

    /// Receives more bytes into the input under the timeout of `wait`;
    /// returns how many came (0: the client closed its side). A shutdown
    /// that starts during an idle wait ends it with
    /// [`io::ErrorKind::Interrupted`].
    pub(crate) async fn recv(&self, wait: Wait) -> io::Result<usize> {
        if self.read_lost.get() {
            return Err(lost());
        }
        let mut input = {
            let mut read = self.read.borrow_mut();
            let Reader { input, start, .. } = &mut *read;
            if *start > 0 {
                input.drain(..*start);
                *start = 0;
            }
            take(input)
        };
        let before = input.len();
        input.reserve(RECV_SIZE);
        let deadline = match wait {
            Wait::Idle => self.deadline(self.config.idle_timeout()),
            Wait::Head(deadline) => self.cap(deadline),
            Wait::Body => self.deadline(self.config.body_timeout()),
        };
        self.read_lost.set(true);
        let mut recv = pin!(Deadline::at(
            self.rt.clone(),
            deadline,
            self.stream.recv(input)
        ));
        let result = poll_fn(|cx| {
            if let Poll::Ready(result) = recv.as_mut().poll(cx) {
                return Poll::Ready(result);
            }
            if wait == Wait::Idle && self.watch.borrow_mut().poll_started(cx).is_ready() {
                return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
            }
            Poll::Pending
        })
        .await;
        let input = self.check(result)?;
        self.read_lost.set(false);
        let received = input.len() - before;
        self.read.borrow_mut().input = input;
        Ok(received)
    }

    /// Sends `output` under the write timeout; returns it cleared.
    async fn send(&self, output: Vec<u8>) -> io::Result<Vec<u8>> {
        if self.write_lost.get() {
            return Err(lost());
        }
        self.write_lost.set(true);
        let deadline = self.deadline(self.config.write_timeout());
        let result = Deadline::at(self.rt.clone(), deadline, self.stream.send_all(output)).await;
        let mut output = self.check(result)?;
        self.write_lost.set(false);
        output.clear();
        Ok(output)
    }

    /// Sends static bytes under the write timeout.
    async fn send_bytes(&self, bytes: &'static [u8]) -> io::Result<()> {
        if self.write_lost.get() {
            return Err(lost());
        }
        let deadline = self.deadline(self.config.write_timeout());
        let result = Deadline::at(self.rt.clone(), deadline, self.stream.send_all(bytes)).await;
        self.check(result).map(drop)
    }

    /// Marks the connection closing on an I/O error; logs timeouts.
    fn check<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if let Err(err) = &result {
            self.closing.set(true);
            if err.kind() == io::ErrorKind::TimedOut {
                debug!("connection from {}: timed out", self.peer);
            }
        }
        result
    }

    /// `timeout` from now, capped by the drain deadline of a shutdown.
    fn deadline(&self, timeout: Duration) -> Instant {
        self.cap(Instant::now() + timeout)
    }

    fn cap(&self, deadline: Instant) -> Instant {
        match self.watch.borrow().deadline() {
            Some(drain) => deadline.min(drain),
            None => deadline,
        }
    }

    /// Marks the connection as closed early because of `err`.
    pub(crate) fn set_error(&self, err: ParseError) {
        self.error.set(Some(err));
    }

    /// The number of the last request read.
    pub(crate) fn current_request(&self) -> u64 {
        self.read.borrow().requests
    }

    /// Whether the last request's body has been read whole.
    pub(crate) fn body_done(&self) -> bool {
        self.read.borrow().decoder.is_done()
    }
}

/// Runs `f` on the contents of `cell`.
fn take_cell<T, R>(cell: &RefCell<T>, f: impl FnOnce(&mut T) -> R) -> R {
    f(&mut cell.borrow_mut())
}

/// The error of an operation after a cancelled one lost a buffer.
fn lost() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "connection out of step after a timed out operation",
    )
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.peer)
            .field("requests", &self.read.borrow().requests)
            .field("closing", &self.closing.get())
            .finish_non_exhaustive()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let unsent = self.write.get_mut().output.len();
        if unsent > 0 && !self.write_lost.get() {
            debug!(
                "connection from {}: dropped with {unsent} bytes of responses unsent (call `flush` or `next_request` before the end)",
                self.peer
            );
        }
    }
}
