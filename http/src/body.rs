//! Response bodies: the [`ResponseBody`] trait, what it writes into
//! ([`BodySink`]), and [`StreamBody`] for bodies made as they go.
//!
//! Bodies own their buffers, as kiln's I/O does: small ones are copied into
//! the connection's output buffer (so that the responses to pipelined
//! requests go out in one send), large ones (64 KiB and more) are handed to
//! the kernel as they are, after the head, in one vectored send.

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;

use bytes::Bytes;
use futures_core::Stream;
use kiln_rt::io::Buf;

use crate::proto::encode::{self, BodyEncoding, LAST_CHUNK};
use crate::server::wire::{FLUSH_AT, Wire};

/// A response body: anything that knows its length (or not) and writes
/// itself into a [`BodySink`].
///
/// Implemented for `()` (no body), `&'static str`, `&'static [u8]`,
/// `String`, `Vec<u8>`, `Cow<'static, str>`, [`Bytes`], [`StreamBody`], and
/// a request's [`RequestBody`](crate::server::RequestBody) (to stream a
/// request back).
pub trait ResponseBody {
    /// The body's length in bytes, if known before it is written: then the
    /// response has `Content-Length`, else it is chunked.
    fn length(&self) -> Option<u64>;

    /// Writes the body. Not called for responses without a body (to
    /// `HEAD`, 204, 304).
    fn write_body(self, sink: &mut BodySink<'_>) -> impl Future<Output = io::Result<()>>;
}

/// Where a [`ResponseBody`] writes: frames the bytes (`Content-Length` or
/// chunked) and sends them once enough are waiting, so a client that reads
/// slowly slows the writer down (backpressure) and memory stays bounded.
pub struct BodySink<'c> {
    wire: &'c Wire,
    encoding: BodyEncoding,
    written: u64,
}

impl<'c> BodySink<'c> {
    pub(crate) const fn new(wire: &'c Wire, encoding: BodyEncoding) -> BodySink<'c> {
        BodySink {
            wire,
            encoding,
            written: 0,
        }
    }

    /// Writes `data` (copied into the connection's output buffer, sent
    /// once 64 KiB are waiting). Fails with
    /// [`io::ErrorKind::InvalidInput`] past the body's declared length.
    pub async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.count(data.len())?;
        let full = match self.encoding {
            BodyEncoding::None => false,
            BodyEncoding::Chunked => self.wire.push_body(data, true),
            BodyEncoding::Length(_) | BodyEncoding::UntilClose => self.wire.push_body(data, false),
        };
        if full {
            self.wire.flush().await?;
        }
        Ok(())
    }

    /// Writes an owned buffer: a small one is copied, a large one is sent
    /// as it is after what waits in the output buffer.
    pub async fn write_buf<B: Buf>(&mut self, buf: B) -> io::Result<()> {
        if buf.len() < FLUSH_AT || self.encoding == BodyEncoding::None {
            return self.write(buf.as_slice()).await;
        }
        self.count(buf.len())?;
        if self.encoding == BodyEncoding::Chunked {
            self.wire.push_chunk_head(buf.len());
            self.wire.send_with(buf).await?;
            self.wire.push_output(encode::CHUNK_END);
            Ok(())
        } else {
            self.wire.send_with(buf).await
        }
    }

    /// Sends what waits in the output buffer now (e.g. before a slow
    /// computation of the next part of a streamed body).
    pub async fn flush(&mut self) -> io::Result<()> {
        self.wire.flush().await
    }

    /// Counts `n` more bytes against the declared length.
    fn count(&mut self, n: usize) -> io::Result<()> {
        self.written += n as u64;
        match self.encoding {
            BodyEncoding::Length(length) if self.written > length => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("response body longer than its length ({length} bytes)"),
            )),
            _ => Ok(()),
        }
    }

    /// Ends the body: the last chunk, or a check that the declared length
    /// was written.
    pub(crate) fn finish(self) -> io::Result<()> {
        match self.encoding {
            BodyEncoding::Chunked => {
                self.wire.push_output(LAST_CHUNK);
                Ok(())
            }
            BodyEncoding::Length(length) if self.written != length => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "response body shorter ({} bytes) than its length ({length} bytes)",
                    self.written
                ),
            )),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for BodySink<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodySink")
            .field("encoding", &self.encoding)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl ResponseBody for () {
    fn length(&self) -> Option<u64> {
        Some(0)
    }

    async fn write_body(self, _: &mut BodySink<'_>) -> io::Result<()> {
        Ok(())
    }
}

/// Implements [`ResponseBody`] for owned buffers kiln's I/O takes.
macro_rules! buf_body {
    ($($ty: ty),*) => {
        $(
            impl ResponseBody for $ty {
                fn length(&self) -> Option<u64> {
                    Some(Buf::len(self) as u64)
                }

                async fn write_body(self, sink: &mut BodySink<'_>) -> io::Result<()> {
                    sink.write_buf(self).await
                }
            }
        )*
    };
}

buf_body!(
    &'static str,
    &'static [u8],
    String,
    Vec<u8>,
    Cow<'static, str>,
    Box<[u8]>
);

impl ResponseBody for Bytes {
    fn length(&self) -> Option<u64> {
        Some(self.len() as u64)
    }

    async fn write_body(self, sink: &mut BodySink<'_>) -> io::Result<()> {
        sink.write(&self).await
    }
}

/// A body made as it is written: the items of a [`Stream`], each written
/// (and, once 64 KiB wait, sent) before the next is asked for, so a slow
/// client slows the stream down. Chunked unless given a length.
///
/// ```
/// use std::io;
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use kiln_http::body::StreamBody;
///
/// /// Counts down to zero, a line each.
/// struct Countdown(u32);
///
/// impl futures_core::Stream for Countdown {
///     type Item = io::Result<String>;
///
///     fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
///         let n = self.0;
///         self.0 = n.saturating_sub(1);
///         Poll::Ready((n > 0).then(|| Ok(format!("{n}\n"))))
///     }
/// }
///
/// let body = StreamBody::new(Countdown(3)); // chunked: "3\n", "2\n", "1\n"
/// # let _ = body;
/// ```
#[derive(Debug)]
pub struct StreamBody<S> {
    stream: S,
    length: Option<u64>,
}

impl<S> StreamBody<S> {
    /// A chunked body of `stream`'s items.
    pub const fn new(stream: S) -> StreamBody<S> {
        StreamBody {
            stream,
            length: None,
        }
    }

    /// A body of `length` bytes, sent with `Content-Length`; the stream
    /// must yield exactly that many (else the response fails and the
    /// connection closes).
    pub const fn with_length(stream: S, length: u64) -> StreamBody<S> {
        StreamBody {
            stream,
            length: Some(length),
        }
    }
}

impl<S> StreamBody<S> {
    /// The stream and the length it was given.
    pub(crate) fn into_parts(self) -> (S, Option<u64>) {
        (self.stream, self.length)
    }
}

impl<S, B> ResponseBody for StreamBody<S>
where
    S: Stream<Item = io::Result<B>>,
    B: AsRef<[u8]>,
{
    fn length(&self) -> Option<u64> {
        self.length
    }

    async fn write_body(self, sink: &mut BodySink<'_>) -> io::Result<()> {
        let mut stream = pin!(self.stream);
        while let Some(item) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            sink.write(item?.as_ref()).await?;
        }
        Ok(())
    }
}
