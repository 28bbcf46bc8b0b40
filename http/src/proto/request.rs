//! Parsing a request head: httparse reads the lines, then the strict rules
//! of RFC 9112 decide the framing, and the head becomes an
//! [`http::Request`].
//!
//! The URI and the header values are slices of the input (see
//! [`Input`](crate::proto::input)), not an allocation each; the
//! [`HeaderMap`] may be one recycled from an earlier message.

use std::mem::MaybeUninit;

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::{Method, Request, Uri, Version};

use crate::proto::error::{ErrorKind, ParseError};
use crate::proto::framing::{Framing, convert_headers, slice_of};
use crate::proto::limits::Limits;

/// Header slots on the stack: enough for the default limit (64).
pub(crate) const STACK_HEADERS: usize = 64;

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct RequestHead {
    /// The request, without its body.
    pub(crate) request: Request<()>,
    /// Bytes of the input the head took, up to and including its empty line.
    pub(crate) length: usize,
    /// How the body is delimited.
    pub(crate) framing: Framing,
    /// Whether the connection may stay open after this request.
    pub(crate) keep_alive: bool,
    /// `Expect: 100-continue` in an HTTP/1.1 request.
    pub(crate) expect_continue: bool,
}

/// Parses the request head at the start of `input`: `Ok(None)` if it is
/// not complete yet (and within the limits). The head's header map is
/// `recycled`'s, if it has one (cleared; it keeps its capacity).
pub(crate) fn parse_request(
    input: &Bytes,
    limits: &Limits,
    recycled: &mut Option<HeaderMap>,
) -> Result<Option<RequestHead>, ParseError> {
    let buf = &input[..];
    // On the stack for the usual limits, and not initialised (httparse
    // writes the slots it fills: 2 KiB less to clear per parse); httparse
    // fails with `TooManyHeaders` when the slice is full.
    let mut on_stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut on_heap = Vec::new();
    let headers = if limits.max_headers <= STACK_HEADERS {
        &mut on_stack[..limits.max_headers]
    } else {
        on_heap.resize_with(limits.max_headers, MaybeUninit::uninit);
        &mut on_heap[..]
    };
    let mut parsed = httparse::Request::new(&mut []);
    let length = match parsed.parse_with_uninit_headers(buf, headers) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => {
            check_partial(buf, limits)?;
            return Ok(None);
        }
        Err(err) => {
            check_partial(buf, limits)?;
            return Err(map_error(err, buf));
        }
    };
    if length > limits.max_head_size {
        return Err(ErrorKind::HeadTooLarge.into());
    }
    let method = parsed.method.ok_or(ErrorKind::InvalidRequestLine)?;
    let path = parsed.path.ok_or(ErrorKind::InvalidRequestLine)?;
    // httparse takes exactly one space between the parts (its default):
    // the line's length without scanning it again.
    if method.len() + path.len() + " HTTP/1.1".len() + 1 > limits.max_request_line {
        return Err(ErrorKind::RequestLineTooLong.into());
    }

    let method =
        Method::from_bytes(method.as_bytes()).map_err(|_| ErrorKind::InvalidRequestLine)?;
    let uri = slice_of(input, path.as_bytes());
    let uri = Uri::from_maybe_shared(uri).map_err(|_| ErrorKind::InvalidUri)?;
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        _ => return Err(ErrorKind::UnsupportedVersion.into()),
    };
    let http10 = version == Version::HTTP_10;

    let mut hosts = 0_usize;
    let mut expect_continue = false;
    let map = recycled.take().unwrap_or_default();
    let (map, framing) = convert_headers(input, parsed.headers, map, |name, value| {
        if name == header::HOST {
            hosts += 1;
        } else if name == header::EXPECT {
            if !value.eq_ignore_ascii_case(b"100-continue") {
                return Err(ErrorKind::UnsupportedExpectation.into());
            }
            // An HTTP/1.0 client does not wait (RFC 9110, section 10.1.1).
            expect_continue = !http10;
        }
        Ok(())
    })?;
    if hosts > 1 || (hosts == 0 && !http10) {
        return Err(ErrorKind::InvalidHost.into());
    }
    let framing_kind = framing.request_framing(http10)?;
    let keep_alive = if http10 {
        framing.keep_alive && !framing.close
    } else {
        !framing.close
    };

    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = map;
    Ok(Some(RequestHead {
        request,
        length,
        framing: framing_kind,
        keep_alive,
        expect_continue: expect_continue && framing_kind != Framing::Length(0),
    }))
}

/// The limits an incomplete (or malformed) head may already pass.
fn check_partial(buf: &[u8], limits: &Limits) -> Result<(), ParseError> {
    check_request_line(buf, limits)?;
    if buf.len() > limits.max_head_size {
        return Err(ErrorKind::HeadTooLarge.into());
    }
    Ok(())
}

/// 414 for a request line (after the empty lines a client may send first)
/// longer than the limit, complete or not.
fn check_request_line(buf: &[u8], limits: &Limits) -> Result<(), ParseError> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = &buf[start..];
    let max = limits.max_request_line;
    let end = line.iter().take(max + 2).position(|&b| b == b'\n');
    let length = match end {
        Some(end) => end,
        None if line.len() > max + 1 => line.len(),
        None => return Ok(()),
    };
    let length = length - usize::from(length > 0 && line[length - 1] == b'\r');
    if length > max {
        return Err(ErrorKind::RequestLineTooLong.into());
    }
    Ok(())
}

/// The error for httparse's: a bad version is 505 if it looks like one
/// (`HTTP/2.0`), 400 otherwise.
fn map_error(err: httparse::Error, buf: &[u8]) -> ParseError {
    match err {
        httparse::Error::TooManyHeaders => ErrorKind::TooManyHeaders.into(),
        httparse::Error::Version if looks_like_version(buf) => ErrorKind::UnsupportedVersion.into(),
        httparse::Error::HeaderName | httparse::Error::HeaderValue => {
            ErrorKind::InvalidHeader.into()
        }
        _ => ErrorKind::InvalidRequestLine.into(),
    }
}

/// Whether the request line ends in `HTTP/<digit>.<digit>`.
fn looks_like_version(buf: &[u8]) -> bool {
    let line = buf
        .split(|&b| b == b'\n')
        .find(|line| !line.is_empty() && line != b"\r");
    let Some(line) = line else { return false };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(version) = line.rsplit(|&b| b == b' ').next() else {
        return false;
    };
    matches!(version, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit())
}
