//! [`ResponseBody`]: the body of a client's response, read as it arrives;
//! its connection goes back to the pool once it has been read whole.

use std::fmt;
use std::io;
use std::ops::Range;

use bytes::Bytes;
use kiln_rt::access::Access;

use crate::client::pool::{Conn, Pool};
use crate::proto::decode::Decoder;
use crate::proto::error::{ErrorKind, ParseError};

/// The body of a response from [`Client::request`](crate::client::Client::request):
/// read it as it arrives with [`recv`](ResponseBody::recv) or
/// [`next_chunk`](ResponseBody::next_chunk), or whole with
/// [`recv_all`](ResponseBody::recv_all). Once read whole, its connection
/// goes back to the client's pool; dropped before, the connection is
/// closed (unless the rest of the body had arrived already).
pub struct ResponseBody<'c, RT: Access + Clone> {
    pool: &'c Pool<RT>,
    /// `None` once given back.
    conn: Option<Conn>,
    decoder: Decoder,
    keep_alive: bool,
    length: Option<u64>,
}

impl<'c, RT: Access + Clone> ResponseBody<'c, RT> {
    pub(crate) fn new(pool: &'c Pool<RT>, conn: Conn, decoder: Decoder, keep_alive: bool) -> Self {
        let length = decoder.remaining();
        let mut body = ResponseBody {
            pool,
            conn: Some(conn),
            decoder,
            keep_alive,
            length,
        };
        body.give_back_if_done();
        body
    }

    /// The body's length from `Content-Length` (0 for none); `None` for a
    /// chunked body or one that ends with the connection.
    pub const fn length(&self) -> Option<u64> {
        self.length
    }

    /// Receives the next piece of the body into `buf` (appended); returns
    /// how many bytes came, 0 at the end of the body.
    pub async fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let received = self.piece(|input, piece| {
            buf.extend_from_slice(&input[piece.clone()]);
            piece.len()
        });
        Ok(received.await?.unwrap_or(0))
    }

    /// Receives the next piece of the body as it lies in the connection's
    /// input (no copy); `None` at the end of the body. Drop it before
    /// asking for the next, or the next receive needs a new buffer.
    pub async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        self.piece(|input, piece| input.slice(piece)).await
    }

    /// Calls `f` with the input and where in it the next piece of the body
    /// is; `None` at the end of the body.
    async fn piece<T>(
        &mut self,
        f: impl FnOnce(&Bytes, Range<usize>) -> T,
    ) -> io::Result<Option<T>> {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Ok(None);
            };
            let decoded = self
                .decoder
                .decode(conn.input.bytes(), self.pool.config().limits())?;
            if !decoded.data.is_empty() {
                let result = f(conn.input.bytes(), decoded.data);
                conn.input.consume(decoded.used);
                self.give_back_if_done();
                return Ok(Some(result));
            }
            conn.input.consume(decoded.used);
            if decoded.used > 0 {
                continue;
            }
            if self.decoder.is_done() {
                self.give_back_if_done();
                return Ok(None);
            }
            // Under the stream's read timeout.
            if conn.recv(self.pool.rt(), None).await? == 0 {
                self.decoder.finish()?;
                self.keep_alive = false;
                self.conn = None;
                return Ok(None);
            }
        }
    }

    /// Receives the whole body, up to the client's
    /// [`max_body_size`](crate::Limits::max_body_size) (past it: an
    /// [`io::ErrorKind::InvalidData`] error).
    pub async fn recv_all(mut self) -> io::Result<Bytes> {
        let max = self.pool.config().limits().max_body_size;
        let too_large = || io::Error::from(ParseError::new(ErrorKind::BodyTooLarge));
        if self.length.is_some_and(|n| n > max as u64) {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(self.length.map_or(0, |n| n as usize));
        while self.recv(&mut body).await? > 0 {
            if body.len() > max {
                return Err(too_large());
            }
        }
        Ok(Bytes::from(body))
    }

    /// Gives the connection back to the pool if the body has been read
    /// whole and the connection may be reused.
    fn give_back_if_done(&mut self) {
        if self.decoder.is_done()
            && self.keep_alive
            && let Some(conn) = self.conn.take()
        {
            self.pool.give_back(conn);
        }
    }
}

impl<RT: Access + Clone> Drop for ResponseBody<'_, RT> {
    fn drop(&mut self) {
        // The rest of the body may be here already (a small response).
        if let Some(conn) = &mut self.conn {
            while !self.decoder.is_done() {
                match self
                    .decoder
                    .decode(conn.input.bytes(), self.pool.config().limits())
                {
                    Ok(decoded) if decoded.used > 0 => conn.input.consume(decoded.used),
                    _ => break,
                }
            }
        }
        self.give_back_if_done();
    }
}

impl<RT: Access + Clone> fmt::Debug for ResponseBody<'_, RT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("length", &self.length)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}
