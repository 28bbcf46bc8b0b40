//! [`Wire`]: the byte level of one server connection: the socket, its
//! input and output buffers, the requests owed a response, and the HTTP
//! rules that live at that level (error answers, `100 Continue`, unread
//! bodies, lingering close). [`Connection`](crate::server::Connection),
//! [`RequestBody`](crate::server::RequestBody) and
//! [`BodySink`](crate::body::BodySink) are built on it; it imports none of
//! them.
//!
//! # Shape
//!
//! Every method takes `&self`, so that a request's body and the response
//! being written can use the connection at the same time (an echo streams
//! the one into the other). The state sits in `RefCell`s that are never
//! borrowed across an `.await`: buffers the kernel works on are taken out
//! for the operation and put back after it (a cancelled operation leaves
//! that direction marked lost, and the connection is closed). A connection
//! belongs to a thread-local actor, so nothing here is shared between
//! threads; it is reference counted (`Rc`) so that a request body can own
//! its way to the connection.
//!
//! # I/O and timeouts
//!
//! [`Wire::recv`] and [`Wire::send`] are the only places that touch the
//! socket. Sends are bounded by the stream's own write timeout (set once,
//! from [`ServerConfig::write_timeout`]). Receives run under a
//! [`Deadline`], because their bound depends on the phase: the idle timeout
//! between requests, one deadline for a whole head (a client that sends a
//! byte at a time must still finish its head in time: the slowloris
//! defence), the body timeout per receive of a body; the stream has one
//! read timeout, and setting it takes `&mut`, which a connection shared
//! with its bodies does not have. Once a graceful shutdown started every
//! wait, sends included, ends by the drain deadline.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::mem::{replace, take};
use std::net::{Shutdown as Direction, SocketAddr};
use std::ops::Range;
use std::pin::pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode, Version};
use kiln_rt::RuntimeRef;
use kiln_rt::io::Buf;
use kiln_rt::net::TcpStream;
use kiln_rt::timer::Deadline;
use log::debug;

use crate::proto::date;
use crate::proto::decode::Decoder;
use crate::proto::encode::{self, BodyEncoding, Exchange};
use crate::proto::error::{ErrorKind, ParseError};
use crate::proto::input::Input;
use crate::proto::request::{RequestHead, parse_request};
use crate::server::config::ServerConfig;
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

/// One server connection at the byte level; see the [module
/// documentation](self).
pub(crate) struct Wire {
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
    /// A response's head is in the output and its body is not complete.
    responding: Cell<bool>,
    /// Why the connection was closed early.
    error: Cell<Option<ParseError>>,
    /// Closing reads (and drops) what the client still sends for a while
    /// (see [`LINGER`]): after an error answer or an unread body.
    linger: Cell<bool>,
}

/// The reading side.
#[derive(Debug)]
struct Reader {
    /// Bytes received and not used yet.
    input: Input,
    /// The body of the last request read.
    decoder: Decoder,
    /// Requests read so far; the last one's number.
    requests: u64,
    /// The last request's client waits for `100 Continue`.
    continue_pending: bool,
    /// The `Date` value was brought up to date since the last receive:
    /// responses to the requests of one receive share one clock read.
    date_fresh: bool,
    /// A header map to parse the next request's headers into: the last
    /// response's, cleared (as hyper does).
    recycled: Option<HeaderMap>,
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
enum Wait {
    /// Between requests (ends early when a shutdown starts).
    Idle,
    /// In a request head, which must be complete by this instant.
    Head(Instant),
    /// In a request body.
    Body,
}

impl Wire {
    /// The wire of a connection over `stream`, with its timers on `rt`.
    pub(crate) fn new(
        rt: RuntimeRef,
        mut stream: TcpStream,
        peer: SocketAddr,
        config: ServerConfig,
        watch: Watch,
    ) -> Wire {
        // Small responses go out at once; pipelined ones are batched by
        // `end_response`.
        if let Err(err) = stream.set_nodelay(true) {
            debug!("connection from {peer}: can't set TCP_NODELAY: {err}");
        }
        if let Err(err) = stream.set_write_timeout(Some(config.write_timeout())) {
            // Only a zero timeout fails, which `Server` refuses.
            debug!("connection from {peer}: no write timeout: {err}");
        }
        Wire {
            stream,
            peer,
            rt,
            config,
            watch: RefCell::new(watch),
            read: RefCell::new(Reader {
                input: Input::default(),
                decoder: Decoder::Done,
                requests: 0,
                continue_pending: false,
                date_fresh: false,
                recycled: None,
            }),
            write: RefCell::new(Writer {
                output: Vec::new(),
                owed: VecDeque::new(),
            }),
            closing: Cell::new(false),
            read_lost: Cell::new(false),
            write_lost: Cell::new(false),
            responding: Cell::new(false),
            error: Cell::new(None),
            linger: Cell::new(false),
        }
    }

    /// The client's address.
    pub(crate) const fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The server's limits and timeouts.
    pub(crate) const fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Why the connection was closed early, if it was.
    pub(crate) fn last_error(&self) -> Option<ParseError> {
        self.error.get()
    }

    /// Marks the connection as closed early because of `err`.
    pub(crate) fn set_error(&self, err: ParseError) {
        self.error.set(Some(err));
    }

    /// Ready with the drain deadline once a graceful shutdown started;
    /// else keeps `cx`'s waker to wake when it starts.
    pub(crate) fn poll_shutdown(&self, cx: &mut Context<'_>) -> Poll<Instant> {
        let mut watch = self.watch.borrow_mut();
        ready!(watch.poll_started(cx));
        // Set before `started` is (see `Shutdown::start`).
        Poll::Ready(watch.deadline().unwrap_or_else(Instant::now))
    }

    /// The runtime of the connection's worker.
    pub(crate) const fn rt(&self) -> &RuntimeRef {
        &self.rt
    }

    /// The number of the last request read.
    pub(crate) fn current_request(&self) -> u64 {
        self.read.borrow().requests
    }

    /// Whether the last request's body has been read whole.
    pub(crate) fn body_done(&self) -> bool {
        self.read.borrow().decoder.is_done()
    }

    // Requests.

    /// The next request's head if it is complete in the input already and
    /// nothing is to be done before it (no body left to read, no close
    /// pending): keep-alive and pipelined requests, without a wait or a
    /// future. `None` sends the caller to [`next_head`](Wire::next_head),
    /// which handles every case (and parses again to answer an error).
    /// Returns the head with its number.
    pub(crate) fn buffered_head(&self) -> Option<(Request<()>, u64)> {
        if self.closing.get() || self.read_lost.get() {
            return None;
        }
        let parsed = {
            let mut read = self.read.borrow_mut();
            let read = &mut *read;
            if !read.decoder.is_done() || read.input.is_empty() {
                return None;
            }
            parse_request(read.input.bytes(), self.config.limits(), &mut read.recycled)
        };
        match parsed {
            Ok(Some(head)) => {
                let number = self.start_request(&head);
                Some((head.request, number))
            }
            Ok(None) | Err(_) => None,
        }
    }

    /// Reads the next request head, see
    /// [`Connection::next_request`](crate::server::Connection::next_request);
    /// returns it with its number.
    pub(crate) async fn next_head(&self) -> io::Result<Option<(Request<()>, u64)>> {
        if !self.body_done() && !self.finish_body().await? {
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
            let idle = self.read.borrow().input.is_empty();
            if !idle {
                let parsed = {
                    let mut read = self.read.borrow_mut();
                    let read = &mut *read;
                    parse_request(read.input.bytes(), self.config.limits(), &mut read.recycled)
                };
                match parsed {
                    Ok(Some(head)) => {
                        let number = self.start_request(&head);
                        return Ok(Some((head.request, number)));
                    }
                    Err(err) => {
                        self.fail(err).await;
                        return Ok(None);
                    }
                    Ok(None) => {}
                }
            }
            // A partial head (or none): send what is waiting, then wait
            // for more bytes.
            self.flush().await?;
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

    /// Sets up the state for a request whose head was just parsed; returns
    /// its number.
    fn start_request(&self, head: &RequestHead) -> u64 {
        let number = {
            let mut read = self.read.borrow_mut();
            read.input.consume(head.length);
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
        number
    }

    /// The length of the last request's body, if known.
    pub(crate) fn body_length(&self) -> Option<u64> {
        self.read.borrow().decoder.remaining()
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
            match self.body_chunk(|_, piece| piece.len()).await {
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

    /// Calls `f` with the input and where in it the next piece of the last
    /// request's body is; `None` at its end. Sends `100 Continue` first if
    /// the client waits for it. Framing errors and timeouts are answered
    /// (400, 408, 413...) and close the connection.
    pub(crate) async fn body_chunk<T>(
        &self,
        f: impl FnOnce(&Bytes, Range<usize>) -> T,
    ) -> io::Result<Option<T>> {
        // Not needed if body bytes came already (RFC 9110, section 10.1.1).
        let send_continue = {
            let mut read = self.read.borrow_mut();
            take(&mut read.continue_pending) && read.input.is_empty()
        };
        if send_continue {
            self.flush().await?;
            self.send(CONTINUE).await?;
        }
        let mut f = Some(f);
        loop {
            let decoded = {
                let mut read = self.read.borrow_mut();
                let Reader { input, decoder, .. } = &mut *read;
                if decoder.is_done() {
                    return Ok(None);
                }
                decoder
                    .decode(input.bytes(), self.config.limits())
                    .map(|decoded| {
                        let piece = decoded.data;
                        let result = (!piece.is_empty())
                            .then(|| (f.take().expect("called once"))(input.bytes(), piece));
                        input.consume(decoded.used);
                        (decoded.used, result)
                    })
            };
            match decoded {
                Ok((_, Some(result))) => return Ok(Some(result)),
                Ok((used, None)) if used > 0 => {}
                Ok(_) => {
                    // Send what waits (the client may wait for it, e.g. for
                    // `100 Continue`, before it sends more), then receive.
                    self.flush().await?;
                    match self.recv(Wait::Body).await {
                        Ok(0) => {
                            let finished = self.read.borrow_mut().decoder.finish();
                            if let Err(err) = finished {
                                debug!("connection from {}: {err}", self.peer);
                                self.error.set(Some(err));
                                self.closing.set(true);
                                // An incomplete request gets no response.
                                self.claim_current();
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
                    }
                }
                Err(err) => {
                    self.error.set(Some(err));
                    debug!("connection from {}: {err}: {}", self.peer, err.status());
                    self.answer_current(err.status()).await;
                    return Err(io::Error::new(io::ErrorKind::InvalidData, err));
                }
            }
        }
    }

    // Error answers.

    /// Answers the request whose body failed with `status` if it is the
    /// only one not answered yet (else the connection just closes), and
    /// closes after it; the user's own response to it is dropped.
    pub(crate) async fn answer_current(&self, status: StatusCode) {
        self.closing.set(true);
        if self.claim_current() {
            self.answer_error(status).await;
        } else {
            self.close().await;
        }
    }

    /// Marks the last request read as answered (so that the user's
    /// response to it is dropped) if it is the only one not answered yet;
    /// `true` if it was.
    fn claim_current(&self) -> bool {
        let mut write = self.write.borrow_mut();
        let single = write.owed.len() == 1;
        match write.owed.back_mut() {
            Some(owed) if single && !owed.answered => {
                owed.answered = true;
                true
            }
            _ => false,
        }
    }

    /// Answers the oldest request not answered yet with 500 after the
    /// connection's actor panicked, and closes the connection. A response
    /// half written can't be completed: the connection just closes then.
    pub(crate) async fn answer_panic(&self) {
        let answer = {
            let mut write = self.write.borrow_mut();
            match write.owed.front_mut() {
                Some(owed) if !owed.answered && !self.responding.get() => {
                    owed.answered = true;
                    true
                }
                _ => false,
            }
        };
        if answer {
            self.answer_error(StatusCode::INTERNAL_SERVER_ERROR).await;
        } else if self.responding.get() {
            // Nothing more of a half-written response can be sent: the
            // client sees the connection close instead.
            self.closing.set(true);
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
        let mut headers = HeaderMap::with_capacity(1);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        let exchange = Exchange {
            head: false,
            http10: false,
        };
        {
            let mut write = self.write.borrow_mut();
            let length = Some(reason.len() as u64 + 1);
            date::with_date(|date| {
                encode::response_head(
                    &mut write.output,
                    status,
                    &headers,
                    length,
                    exchange,
                    true,
                    date,
                );
            });
            write.output.extend_from_slice(reason.as_bytes());
            write.output.push(b'\n');
        }
        self.close().await;
    }

    // Responses.

    /// Starts the response to the oldest request not answered yet: writes
    /// its head (with `100 Continue` first if the client waits for it and
    /// the status is a success). Returns how to write the body, `None` if
    /// the request was answered already (the response is dropped).
    pub(crate) fn start_response(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        length: Option<u64>,
    ) -> io::Result<Option<BodyEncoding>> {
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
            return Ok(None);
        }
        if self.write_lost.get() {
            return Err(lost());
        }
        let close = self.closing.get() || !owed.keep_alive || self.watch.borrow().started();
        let (continue_first, refresh_date) = {
            let mut read = self.read.borrow_mut();
            // The client of the request being answered waits for `100
            // Continue`: a success is likely to read the body (an echo), so
            // the interim response goes first; an error is not, and the
            // connection closes after it rather than read a body nobody
            // asked for (see `finish_body`).
            let continue_first = self.write.borrow().owed.is_empty()
                && status.is_success()
                && take(&mut read.continue_pending);
            (continue_first, !replace(&mut read.date_fresh, true))
        };
        let mut write = self.write.borrow_mut();
        if continue_first {
            write.output.extend_from_slice(CONTINUE);
        }
        let write_head = |date: &[u8]| {
            encode::response_head(
                &mut write.output,
                status,
                headers,
                length,
                owed.exchange,
                close,
                date,
            )
        };
        let (encoding, close) = if refresh_date {
            date::with_date(write_head)
        } else {
            date::with_cached_date(write_head)
        };
        if close {
            self.closing.set(true);
        }
        self.responding.set(true);
        Ok(Some(encoding))
    }

    /// The response's body could not be written whole: the connection
    /// closes after what was written.
    pub(crate) fn response_failed(&self) {
        self.closing.set(true);
    }

    /// Ends a response whose body was written whole; returns whether to
    /// send the output now ([`flush`](Wire::flush)): not while bytes of a
    /// next request were received already (pipelining: the responses to
    /// the requests of one receive go out in one send, when
    /// [`next_head`](Wire::next_head) runs out of complete requests) and
    /// the output is small. `headers`, the response's, are kept for the
    /// next request's head.
    pub(crate) fn end_response(&self, mut headers: HeaderMap) -> bool {
        self.responding.set(false);
        let mut read = self.read.borrow_mut();
        if read.recycled.is_none() {
            headers.clear();
            read.recycled = Some(headers);
        }
        self.closing.get()
            || !read.decoder.is_done()
            || read.input.is_empty()
            || self.write.borrow().output.len() >= FLUSH_AT
    }

    // Output.

    /// Sends the responses waiting in the buffer.
    pub(crate) async fn flush(&self) -> io::Result<()> {
        if self.write.borrow().output.is_empty() {
            return Ok(());
        }
        let output = take(&mut self.write.borrow_mut().output);
        let mut output = self.send(output).await?;
        output.clear();
        self.write.borrow_mut().output = output;
        Ok(())
    }

    /// Appends `data` to the output (as a chunk if `chunked`); returns
    /// whether the output is large enough to send now
    /// ([`flush`](Wire::flush)).
    pub(crate) fn push_body(&self, data: &[u8], chunked: bool) -> bool {
        let mut write = self.write.borrow_mut();
        if chunked {
            encode::chunk_head(&mut write.output, data.len());
        }
        write.output.extend_from_slice(data);
        if chunked {
            write.output.extend_from_slice(encode::CHUNK_END);
        }
        write.output.len() >= FLUSH_AT
    }

    /// Appends the size line of a chunk of `size` bytes to the output.
    pub(crate) fn push_chunk_head(&self, size: usize) {
        encode::chunk_head(&mut self.write.borrow_mut().output, size);
    }

    /// Appends raw `bytes` to the output (framing of a body).
    pub(crate) fn push_output(&self, bytes: &[u8]) {
        self.write.borrow_mut().output.extend_from_slice(bytes);
    }

    /// Sends the output and then `buf` (a large body), in one system call
    /// where it fits.
    pub(crate) async fn send_with<B: Buf>(&self, buf: B) -> io::Result<()> {
        let output = take(&mut self.write.borrow_mut().output);
        let (mut output, _) = self
            .send_op(self.stream.send_all_vectored((output, buf)))
            .await?;
        output.clear();
        self.write.borrow_mut().output = output;
        Ok(())
    }

    /// Sends `buf` whole.
    async fn send<B: Buf>(&self, buf: B) -> io::Result<B> {
        self.send_op(self.stream.send_all(buf)).await
    }

    /// Runs a send: under the stream's write timeout, and the drain
    /// deadline once a shutdown started.
    async fn send_op<T>(&self, send: impl Future<Output = io::Result<T>>) -> io::Result<T> {
        if self.write_lost.get() {
            return Err(lost());
        }
        self.write_lost.set(true);
        let drain = self.watch.borrow().deadline();
        let result = match drain {
            Some(drain) => Deadline::at(self.rt.clone(), drain, send).await,
            None => send.await,
        };
        let sent = self.check(result)?;
        self.write_lost.set(false);
        Ok(sent)
    }

    // Input.

    /// Receives more bytes into the input under the timeout of `wait`;
    /// returns how many came (0: the client closed its side). A shutdown
    /// that starts during an idle wait ends it with
    /// [`io::ErrorKind::Interrupted`].
    async fn recv(&self, wait: Wait) -> io::Result<usize> {
        if self.read_lost.get() {
            return Err(lost());
        }
        let input = self.read.borrow_mut().input.take_buffer(RECV_SIZE);
        let before = input.len();
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
        let mut read = self.read.borrow_mut();
        read.input.put_back(input);
        read.date_fresh = false;
        Ok(received)
    }

    /// Closes the connection after the responses owed: sends them, and
    /// after an error answer or an unread body lingers (see [`LINGER`]).
    pub(crate) async fn close(&self) {
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
        if !self.linger.get() || self.read_lost.get() {
            return;
        }
        if self.stream.shutdown(Direction::Write).await.is_err() {
            return; // Gone already.
        }
        let deadline = Instant::now() + LINGER;
        let mut buf = self.read.borrow_mut().input.take_buffer(RECV_SIZE);
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
        // Nothing is read after this.
        self.read_lost.set(true);
    }

    /// Marks the connection closing on an I/O error; logs timeouts.
    fn check<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if let Err(err) = &result {
            self.closing.set(true);
            if err.kind() == io::ErrorKind::TimedOut {
                debug!("connection from {}: timed out: {err}", self.peer);
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
}

/// The error of an operation after a cancelled one lost a buffer.
fn lost() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "connection out of step after a timed out operation",
    )
}

impl fmt::Debug for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wire")
            .field("peer", &self.peer)
            .field("requests", &self.read.borrow().requests)
            .field("closing", &self.closing.get())
            .finish_non_exhaustive()
    }
}

impl Drop for Wire {
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
