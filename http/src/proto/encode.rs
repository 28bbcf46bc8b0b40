//! Writing message heads and chunked framing into an output buffer.
//!
//! kiln decides the framing headers (`Content-Length`,
//! `Transfer-Encoding`, `Connection`) from the body and the request, so a
//! response can't contradict its own framing: those headers given by the
//! user are not written. `Date` is added unless given (the caller passes
//! its text, see [`date`](crate::proto::date)).

use http::header::{self, HeaderMap};
use http::{Method, StatusCode, Uri};

/// How a response's or request's body goes on the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum BodyEncoding {
    /// No body bytes at all (HEAD, 1xx, 204, 304).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked.
    Chunked,
    /// Plain bytes, ended by closing the connection (an HTTP/1.0 peer and a
    /// body of unknown length).
    UntilClose,
}

/// What the response answers, for its framing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Exchange {
    /// The request was `HEAD`.
    pub(crate) head: bool,
    /// The request was HTTP/1.0.
    pub(crate) http10: bool,
}

/// Writes a response head into `out`; `length` is the body's length if
/// known, `date` the `Date` value to use unless `headers` have one.
/// Returns how to write the body, and whether the connection must close
/// after it (`close`, or forced by a body that ends with the connection).
pub(crate) fn response_head(
    out: &mut Vec<u8>,
    status: StatusCode,
    headers: &HeaderMap,
    length: Option<u64>,
    exchange: Exchange,
    close: bool,
    date: &[u8],
) -> (BodyEncoding, bool) {
    let no_body = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let (encoding, close) = if no_body || exchange.head {
        (BodyEncoding::None, close)
    } else {
        match length {
            Some(n) => (BodyEncoding::Length(n), close),
            None if exchange.http10 => (BodyEncoding::UntilClose, true),
            None => (BodyEncoding::Chunked, close),
        }
    };

    if status == StatusCode::OK {
        // The usual case in one copy of a known length.
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    user_headers(out, headers);
    if !headers.contains_key(header::DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(date);
        out.extend_from_slice(b"\r\n");
    }
    if !no_body {
        match (encoding, length) {
            (BodyEncoding::Length(n), _) | (BodyEncoding::None, Some(n)) => content_length(out, n),
            (BodyEncoding::Chunked, _) => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            _ => {}
        }
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    } else if exchange.http10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    (encoding, close)
}

/// Writes a request head into `out`: origin-form target, `Host` from the
/// URI unless given. `length` is the body's length if known (unknown means
/// chunked). Returns how to write the body.
pub(crate) fn request_head(
    out: &mut Vec<u8>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    length: Option<u64>,
) -> BodyEncoding {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(if target.is_empty() {
        b"/"
    } else {
        target.as_bytes()
    });
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !headers.contains_key(header::HOST)
        && let Some(authority) = uri.authority()
    {
        out.extend_from_slice(b"host: ");
        out.extend_from_slice(authority.as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    user_headers(out, headers);
    let encoding = match length {
        // A request without a body needs no framing header, unless its
        // method usually has one.
        Some(0) if !matches!(*method, Method::POST | Method::PUT | Method::PATCH) => {
            BodyEncoding::None
        }
        Some(n) => {
            content_length(out, n);
            BodyEncoding::Length(n)
        }
        None => {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n");
            BodyEncoding::Chunked
        }
    };
    out.extend_from_slice(b"\r\n");
    encoding
}

/// Writes the user's headers, except those kiln sets from the framing.
fn user_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
        {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

fn content_length(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"content-length: ");
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes the size line of a chunk of `size` bytes (not 0: that is
/// [`LAST_CHUNK`]).
pub(crate) fn chunk_head(out: &mut Vec<u8>, size: usize) {
    debug_assert!(size > 0, "an empty chunk ends the body");
    let mut digits = [0; 16];
    let mut i = digits.len();
    let mut n = size;
    while n > 0 || i == digits.len() {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n % 16];
        n /= 16;
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// What follows a chunk's data.
pub(crate) const CHUNK_END: &[u8] = b"\r\n";

/// The last chunk with an empty trailer section: the end of a chunked body.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";
