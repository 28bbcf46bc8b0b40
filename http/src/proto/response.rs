//! Parsing a response head, for the client: the same strict framing rules
//! as requests (RFC 9112, section 6.3), with the response's own cases (no
//! body for HEAD, 1xx, 204 and 304; until the connection closes when no
//! length is given).

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, Version};

use crate::proto::error::{ErrorKind, ParseError};
use crate::proto::framing::{Framing, convert_headers};
use crate::proto::limits::Limits;
use crate::proto::request::STACK_HEADERS;

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    /// The response, without its body.
    pub(crate) response: Response<()>,
    /// Bytes of the input the head took.
    pub(crate) length: usize,
    /// How the body is delimited.
    pub(crate) framing: Framing,
    /// Whether the connection may be used again after this response.
    pub(crate) keep_alive: bool,
}

/// Parses the response head at the start of `input`, the answer to a
/// `HEAD` request if `head`: `Ok(None)` if it is not complete yet. Header
/// values are slices of `input`.
pub(crate) fn parse_response(
    input: &Bytes,
    limits: &Limits,
    head: bool,
) -> Result<Option<ResponseHead>, ParseError> {
    let buf = &input[..];
    let mut headers = [httparse::EMPTY_HEADER; STACK_HEADERS];
    let max = limits.max_headers.min(STACK_HEADERS);
    let mut parsed = httparse::Response::new(&mut headers[..max]);
    let length = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(length)) if length <= limits.max_head_size => length,
        Ok(httparse::Status::Partial) if buf.len() <= limits.max_head_size => return Ok(None),
        Ok(_) => return Err(ErrorKind::HeadTooLarge.into()),
        Err(httparse::Error::TooManyHeaders) => return Err(ErrorKind::TooManyHeaders.into()),
        Err(httparse::Error::HeaderName | httparse::Error::HeaderValue) => {
            return Err(ErrorKind::InvalidHeader.into());
        }
        Err(httparse::Error::Version) => return Err(ErrorKind::UnsupportedVersion.into()),
        Err(_) => return Err(ErrorKind::InvalidStatusLine.into()),
    };
    let status = parsed
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(ErrorKind::InvalidStatusLine)?;
    let http10 = parsed.version == Some(0);
    let (map, framing) = convert_headers(input, parsed.headers, HeaderMap::new(), |_, _| Ok(()))?;
    let no_body = head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let body_framing = if no_body {
        Framing::Length(0)
    } else {
        framing.response_framing(http10)?
    };
    let keep_alive = body_framing != Framing::UntilClose
        && if http10 {
            framing.keep_alive && !framing.close
        } else {
            !framing.close
        };
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = if http10 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    *response.headers_mut() = map;
    Ok(Some(ResponseHead {
        response,
        length,
        framing: body_framing,
        keep_alive,
    }))
}
