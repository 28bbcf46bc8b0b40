//! [`RequestBody`]: a request's body, read from its connection as it
//! arrives.

use std::fmt;
use std::io;

use bytes::Bytes;
use http::StatusCode;

use crate::body::{BodySink, ResponseBody};
use crate::proto::error::{ErrorKind, ParseError};
use crate::server::connection::Connection;

/// Bytes read from the body at a time when it is streamed into a response.
const STREAM_CHUNK: usize = 16 * 1024;

/// The body of a request from [`Connection::next_request`]: read it as it
/// arrives with [`recv`](RequestBody::recv), whole with
/// [`recv_all`](RequestBody::recv_all), or pass it to
/// [`Connection::respond`] to stream it back.
///
/// It borrows the connection; once the connection has moved on to the
/// next request, an old body reads as ended. A malformed body (bad chunk
/// framing, cut short) or one too slow is answered by the connection
/// (400, 408, 413) and the read fails.
pub struct RequestBody<'c> {
    conn: &'c Connection,
    /// The number of the request this is the body of.
    request: u64,
    /// Its `Content-Length`, if it has one.
    length: Option<u64>,
}

impl<'c> RequestBody<'c> {
    pub(crate) const fn new(
        conn: &'c Connection,
        request: u64,
        length: Option<u64>,
    ) -> RequestBody<'c> {
        RequestBody {
            conn,
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
        self.is_stale() || self.conn.body_done()
    }

    fn is_stale(&self) -> bool {
        self.conn.current_request() != self.request
    }

    /// Receives the next piece of the body into `buf` (appended); returns
    /// how many bytes came, 0 at the end of the body.
    ///
    /// Sends `100 Continue` first if the client waits for it.
    pub async fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        if self.is_stale() {
            return Ok(0);
        }
        let received = self.conn.body_chunk(|data| {
            buf.extend_from_slice(data);
            data.len()
        });
        Ok(received.await?.unwrap_or(0))
    }

    /// Receives the whole body, up to the server's
    /// [`max_body_size`](crate::Limits::max_body_size): a larger one is
    /// answered with 413 (without reading it, if its length says so) and
    /// fails with [`io::ErrorKind::InvalidData`].
    pub async fn recv_all(mut self) -> io::Result<Bytes> {
        let max = self.conn.config().limits().max_body_size;
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

    async fn too_large(&self) -> io::Error {
        let err = ParseError::new(ErrorKind::BodyTooLarge);
        log::debug!("connection from {}: {err}: 413", self.conn.peer_addr());
        self.conn.set_error(err);
        self.conn
            .answer_current(StatusCode::PAYLOAD_TOO_LARGE)
            .await;
        io::Error::new(io::ErrorKind::InvalidData, err)
    }
}

impl ResponseBody for RequestBody<'_> {
    fn length(&self) -> Option<u64> {
        self.length
    }

    async fn write_body(mut self, sink: &mut BodySink<'_>) -> io::Result<()> {
        let mut chunk = Vec::with_capacity(STREAM_CHUNK);
        loop {
            chunk.clear();
            if self.recv(&mut chunk).await? == 0 {
                return Ok(());
            }
            sink.write(&chunk).await?;
        }
    }
}

impl fmt::Debug for RequestBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("request", &self.request)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}
