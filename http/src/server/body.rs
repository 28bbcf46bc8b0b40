//! [`RequestBody`]: a request's body, read from its connection as it
//! arrives: into a buffer ([`recv`](RequestBody::recv)), a piece at a time
//! without a copy ([`next_chunk`](RequestBody::next_chunk)), whole
//! ([`recv_all`](RequestBody::recv_all)), or as a [`Stream`]
//! ([`into_stream`](RequestBody::into_stream)).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::StatusCode;

use crate::body::{BodySink, ResponseBody};
use crate::proto::error::{ErrorKind, ParseError};
use crate::server::wire::Wire;

/// The body of a request from
/// [`Connection::next_request`](crate::server::Connection::next_request)
/// (or given to a [`Handler`](crate::server::Handler)): read it as it
/// arrives with [`recv`](RequestBody::recv) or
/// [`next_chunk`](RequestBody::next_chunk), whole with
/// [`recv_all`](RequestBody::recv_all), as a [`Stream`] with
/// [`into_stream`](RequestBody::into_stream), or pass it to
/// [`Connection::respond`](crate::server::Connection::respond) to stream
/// it back.
///
/// # Backpressure
///
/// Nothing is received for the body until it is asked for: a handler that
/// writes each piece somewhere slow before it asks for the next slows the
/// client down (its sends wait once the socket buffers are full), and the
/// connection holds at most one receive's worth (16 KiB) of it. Bodies read
/// this way have no size limit; [`recv_all`](RequestBody::recv_all) has
/// [`max_body_size`](crate::Limits::max_body_size).
///
/// A body belongs to its request: once the connection has moved on to the
/// next request, an old body reads as ended. A malformed body (bad chunk
/// framing, cut short) or one too slow is answered by the connection
/// (400, 408, 413) and the read fails. `Expect: 100-continue` is answered
/// on the first read.
pub struct RequestBody {
    wire: Rc<Wire>,
    /// The number of the request this is the body of.
    request: u64,
    /// Its `Content-Length`, if it has one.
    length: Option<u64>,
}

impl RequestBody {
    pub(crate) const fn new(wire: Rc<Wire>, request: u64, length: Option<u64>) -> RequestBody {
        RequestBody {
            wire,
            request,
            length,
        }
    }

    /// The body's length from `Content-Length` (0 without a body); `None`
    /// for a chunked body.
    pub const fn length(&self) -> Option<u64> {
        self.length
    }

    /// Whether the body has been read whole (or belongs to an older
    /// request).
    pub fn is_done(&self) -> bool {
        self.is_stale() || self.wire.body_done()
    }

    fn is_stale(&self) -> bool {
        self.wire.current_request() != self.request
    }

    /// Receives the next piece of the body into `buf` (appended); returns
    /// how many bytes came, 0 at the end of the body.
    pub async fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        if self.is_stale() {
            return Ok(0);
        }
        let received = self.wire.body_chunk(|input, piece| {
            buf.extend_from_slice(&input[piece.clone()]);
            piece.len()
        });
        Ok(received.await?.unwrap_or(0))
    }

    /// Receives the next piece of the body as it lies in the connection's
    /// input (no copy); `None` at the end of the body.
    ///
    /// The piece shares the connection's receive buffer: drop it before
    /// asking for the next (as a loop that writes each piece away does), or
    /// the next receive needs a new buffer.
    pub async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        if self.is_stale() {
            return Ok(None);
        }
        self.wire
            .body_chunk(|input, piece| input.slice(piece))
            .await
    }

    /// Receives the whole body, up to the server's
    /// [`max_body_size`](crate::Limits::max_body_size): a larger one is
    /// answered with 413 (without reading it, if its length says so) and
    /// fails with [`io::ErrorKind::InvalidData`].
    pub async fn recv_all(mut self) -> io::Result<Bytes> {
        let max = self.wire.config().limits().max_body_size;
        if self.length.is_some_and(|n| n > max as u64) {
            return Err(self.too_large().await);
        }
        let capacity = self.length.map_or(0, |n| n as usize);
        let mut body = Vec::with_capacity(capacity);
        while self.recv(&mut body).await? > 0 {
            if body.len() > max {
                return Err(self.too_large().await);
            }
        }
        Ok(Bytes::from(body))
    }

    /// The body as a [`Stream`] of its pieces, e.g. for a
    /// [`StreamBody`](crate::body::StreamBody) that sends it on (with the
    /// client, to another server). Each piece is asked for when the stream
    /// is polled for it: the same backpressure as
    /// [`next_chunk`](RequestBody::next_chunk).
    pub fn into_stream(self) -> BodyStream {
        BodyStream {
            state: State::Idle(self),
        }
    }

    async fn too_large(&self) -> io::Error {
        let err = ParseError::new(ErrorKind::BodyTooLarge);
        log::debug!("connection from {}: {err}: 413", self.wire.peer());
        self.wire.set_error(err);
        self.wire
            .answer_current(StatusCode::PAYLOAD_TOO_LARGE)
            .await;
        io::Error::new(io::ErrorKind::InvalidData, err)
    }
}

impl ResponseBody for RequestBody {
    fn length(&self) -> Option<u64> {
        self.length
    }

    async fn write_body(mut self, sink: &mut BodySink<'_>) -> io::Result<()> {
        while let Some(chunk) = self.next_chunk().await? {
            sink.write(&chunk).await?;
        }
        Ok(())
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("request", &self.request)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

/// A request body as a [`Stream`] of its pieces, from
/// [`RequestBody::into_stream`]. Ends after the last piece or the first
/// error.
pub struct BodyStream {
    state: State,
}

/// A piece being received, with the body it is received for.
type Receiving = Pin<Box<dyn Future<Output = (RequestBody, io::Result<Option<Bytes>>)>>>;

enum State {
    /// Waiting to be polled.
    Idle(RequestBody),
    /// Receiving a piece.
    Receiving(Receiving),
    /// Ended.
    Done,
}

impl Stream for BodyStream {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Idle(mut body) => {
                    this.state = State::Receiving(Box::pin(async move {
                        let piece = body.next_chunk().await;
                        (body, piece)
                    }));
                }
                State::Receiving(mut receiving) => {
                    let Poll::Ready((body, piece)) = receiving.as_mut().poll(cx) else {
                        this.state = State::Receiving(receiving);
                        return Poll::Pending;
                    };
                    return Poll::Ready(match piece {
                        Ok(Some(piece)) => {
                            this.state = State::Idle(body);
                            Some(Ok(piece))
                        }
                        Ok(None) => None,
                        Err(err) => Some(Err(err)),
                    });
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(_) => "idle",
            State::Receiving(_) => "receiving",
            State::Done => "done",
        };
        f.debug_struct("BodyStream").field("state", &state).finish()
    }
}
