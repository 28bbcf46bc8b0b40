//! How a message's body is delimited (RFC 9112, section 6): the strict
//! reading of `Content-Length` and `Transfer-Encoding` that requests and
//! responses share, and of `Connection`.
//!
//! The rules that matter against request smuggling are errors here, not
//! guesses: both framing headers at once, differing lengths, a
//! `Transfer-Encoding` that does not end in `chunked` (for requests),
//! `chunked` twice, `Transfer-Encoding` in HTTP/1.0, and whitespace the
//! RFC's grammar does not allow around the values (`chunked\t`, which
//! httparse would trim, is refused by looking at the raw line).

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::proto::error::{ErrorKind, ParseError};

/// How a body is delimited.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Exactly this many bytes (no header at all means 0 for requests).
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Until the connection closes (responses only).
    UntilClose,
}

/// The framing headers of one message, gathered while its headers are
/// converted.
#[derive(Debug, Default)]
pub(crate) struct FramingHeaders {
    /// The `Content-Length` value, once one was seen.
    content_length: Option<u64>,
    /// A `Content-Length` header was malformed or differed.
    content_length_error: Option<ErrorKind>,
    /// `Transfer-Encoding` headers seen.
    transfer_encodings: u8,
    /// The last `Transfer-Encoding` value's verdict.
    transfer_encoding: Option<Result<Coding, ErrorKind>>,
    /// `Connection: close` was seen.
    pub(crate) close: bool,
    /// `Connection: keep-alive` was seen.
    pub(crate) keep_alive: bool,
}

/// What a `Transfer-Encoding` value says.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Coding {
    /// `chunked` alone.
    Chunked,
    /// Other codings, then `chunked`.
    OtherThenChunked,
    /// Ends in something other than `chunked`.
    NotChunked,
}

impl FramingHeaders {
    /// Takes a `Content-Length` header; `trailing_ws` says whether the raw
    /// line had whitespace after the value (which httparse trims).
    pub(crate) fn content_length(&mut self, value: &[u8], trailing_ws: bool) {
        if trailing_ws {
            self.content_length_error
                .get_or_insert(ErrorKind::InvalidContentLength);
            return;
        }
        // A list of identical values is allowed (RFC 9112, section 6.3).
        for item in value.split(|&b| b == b',') {
            let item = item.strip_prefix(b" ").unwrap_or(item);
            let Some(n) = parse_decimal(item) else {
                self.content_length_error
                    .get_or_insert(ErrorKind::InvalidContentLength);
                return;
            };
            match self.content_length {
                Some(seen) if seen != n => {
                    self.content_length_error
                        .get_or_insert(ErrorKind::DifferingContentLengths);
                    return;
                }
                _ => self.content_length = Some(n),
            }
        }
    }

    /// Takes a `Transfer-Encoding` header; `trailing_ws` as for
    /// [`content_length`](FramingHeaders::content_length).
    pub(crate) fn transfer_encoding(&mut self, value: &[u8], trailing_ws: bool) {
        self.transfer_encodings = self.transfer_encodings.saturating_add(1);
        self.transfer_encoding = Some(if trailing_ws {
            Err(ErrorKind::InvalidTransferEncoding)
        } else {
            parse_codings(value)
        });
    }

    /// Takes a `Connection` header: a list of tokens.
    pub(crate) fn connection(&mut self, value: &[u8]) {
        for token in value.split(|&b| b == b',') {
            let token = token.trim_ascii();
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            }
        }
    }

    /// The framing of a request (RFC 9112, section 6.3): no framing header
    /// means no body.
    pub(crate) fn request_framing(&self, http10: bool) -> Result<Framing, ParseError> {
        match self.body_framing(http10, true)? {
            Some(framing) => Ok(framing),
            None => Ok(Framing::Length(0)),
        }
    }

    /// The framing of a response that may have a body: no framing header
    /// means until the connection closes.
    pub(crate) fn response_framing(&self, http10: bool) -> Result<Framing, ParseError> {
        match self.body_framing(http10, false)? {
            Some(framing) => Ok(framing),
            None => Ok(Framing::UntilClose),
        }
    }

    fn body_framing(&self, http10: bool, request: bool) -> Result<Option<Framing>, ParseError> {
        if let Some(coding) = self.transfer_encoding {
            if self.content_length.is_some() || self.content_length_error.is_some() {
                return Err(ErrorKind::ContentLengthAndTransferEncoding.into());
            }
            if http10 {
                return Err(ErrorKind::TransferEncodingInHttp10.into());
            }
            if self.transfer_encodings > 1 {
                return Err(ErrorKind::RepeatedTransferEncoding.into());
            }
            return match coding? {
                Coding::Chunked => Ok(Some(Framing::Chunked)),
                Coding::OtherThenChunked => Err(ErrorKind::UnsupportedTransferCoding.into()),
                // A request's length can't be known; a response's ends
                // with the connection (RFC 9112, section 6.3, rule 4).
                Coding::NotChunked if request => Err(ErrorKind::NotChunked.into()),
                Coding::NotChunked => Ok(Some(Framing::UntilClose)),
            };
        }
        if let Some(kind) = self.content_length_error {
            return Err(kind.into());
        }
        Ok(self.content_length.map(Framing::Length))
    }
}

/// Converts the header lines httparse read from `input` into `map` (its
/// values slices of `input`), and gathers the framing headers. `other`
/// sees every other header first (`Host`, `Expect`) and may refuse it.
pub(crate) fn convert_headers(
    input: &Bytes,
    lines: &[httparse::Header<'_>],
    mut map: HeaderMap,
    mut other: impl FnMut(&HeaderName, &[u8]) -> Result<(), ParseError>,
) -> Result<(HeaderMap, FramingHeaders), ParseError> {
    let buf = &input[..];
    map.clear();
    map.reserve(lines.len());
    let mut framing = FramingHeaders::default();
    for line in lines {
        let name =
            HeaderName::from_bytes(line.name.as_bytes()).map_err(|_| ErrorKind::InvalidHeader)?;
        if name == header::CONTENT_LENGTH {
            framing.content_length(line.value, has_trailing_whitespace(buf, line.value));
        } else if name == header::TRANSFER_ENCODING {
            framing.transfer_encoding(line.value, has_trailing_whitespace(buf, line.value));
        } else if name == header::CONNECTION {
            framing.connection(line.value);
        } else {
            other(&name, line.value)?;
        }
        let value = HeaderValue::from_maybe_shared(slice_of(input, line.value))
            .map_err(|_| ErrorKind::InvalidHeader)?;
        map.append(name, value);
    }
    Ok((map, framing))
}

/// `part`, a slice of `input`'s bytes, as a `Bytes` sharing them.
pub(crate) fn slice_of(input: &Bytes, part: &[u8]) -> Bytes {
    input.slice_ref(part)
}

/// Parses `1*DIGIT` into a `u64`; `None` if empty, not digits, or too large.
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// Reads a `Transfer-Encoding` value: tokens separated by `,` with single
/// spaces allowed after the commas, no parameters.
fn parse_codings(value: &[u8]) -> Result<Coding, ErrorKind> {
    let mut chunked_seen = false;
    let mut last_chunked = false;
    let mut others = false;
    for (i, item) in value.split(|&b| b == b',').enumerate() {
        let item = if i > 0 {
            item.strip_prefix(b" ").unwrap_or(item)
        } else {
            item
        };
        if item.is_empty() || !item.iter().copied().all(is_tchar) {
            return Err(ErrorKind::InvalidTransferEncoding);
        }
        if item.eq_ignore_ascii_case(b"chunked") {
            if chunked_seen {
                return Err(ErrorKind::RepeatedTransferEncoding);
            }
            chunked_seen = true;
            last_chunked = true;
        } else {
            // Applied after `chunked` (`chunked, gzip`): the length of a
            // request then can't be known.
            last_chunked = false;
            others = true;
        }
    }
    Ok(match (last_chunked, others) {
        (true, false) => Coding::Chunked,
        (true, true) => Coding::OtherThenChunked,
        (false, _) => Coding::NotChunked,
    })
}

/// A `tchar` of RFC 9110, section 5.6.2.
pub(crate) const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' |
        b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether the header line whose (trimmed) value `value` lies in `buf`
/// had whitespace after the value: the byte after it is not the line end.
fn has_trailing_whitespace(buf: &[u8], value: &[u8]) -> bool {
    let end = offset_in(buf, value) + value.len();
    !matches!(buf.get(end), Some(b'\r' | b'\n'))
}

/// Where `part`, a slice of `buf`, starts in it.
fn offset_in(buf: &[u8], part: &[u8]) -> usize {
    let offset = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    debug_assert!(
        offset + part.len() <= buf.len(),
        "not a slice of the buffer"
    );
    offset
}
