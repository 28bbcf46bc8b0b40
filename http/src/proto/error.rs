//! [`ParseError`]: why a request or response could not be read, and the
//! status a server answers it with.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use http::StatusCode;

/// Why an HTTP message could not be read: a malformed head, broken framing,
/// or a limit passed.
///
/// A server answers each with [`status`](ParseError::status) and closes the
/// connection: after a framing error the rest of the byte stream can't be
/// trusted to start at a message boundary (RFC 9112, section 6.3).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    kind: ErrorKind,
}

/// What went wrong, see [`ParseError::kind`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request line is not `method SP request-target SP HTTP-version`.
    InvalidRequestLine,
    /// The status line of a response is malformed.
    InvalidStatusLine,
    /// The request target is not a valid URI.
    InvalidUri,
    /// A header line is malformed: no colon, whitespace before the colon,
    /// obsolete line folding, or a byte not allowed in a header.
    InvalidHeader,
    /// An HTTP/1.1 request without a `Host` header, or a request with more
    /// than one.
    InvalidHost,
    /// A `Content-Length` that is not a decimal number, or overflows.
    InvalidContentLength,
    /// Several `Content-Length` values that differ.
    DifferingContentLengths,
    /// Both `Content-Length` and `Transfer-Encoding` (a request smuggling
    /// vector).
    ContentLengthAndTransferEncoding,
    /// A `Transfer-Encoding` header that is malformed: an empty or
    /// non-token coding, parameters, or stray whitespace.
    InvalidTransferEncoding,
    /// A `Transfer-Encoding` whose last coding is not `chunked`: the
    /// request's length can't be known.
    NotChunked,
    /// `chunked` more than once, or more than one `Transfer-Encoding`
    /// header.
    RepeatedTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 message, whose framing then is
    /// faulty (RFC 9112, section 6.1).
    TransferEncodingInHttp10,
    /// A transfer coding other than `chunked` (such as `gzip`), which kiln
    /// does not decode.
    UnsupportedTransferCoding,
    /// A chunk size that is not hexadecimal, overflows, or has a malformed
    /// extension or line end.
    InvalidChunkSize,
    /// Chunk data not followed by CRLF.
    InvalidChunk,
    /// A malformed trailer section after the last chunk.
    InvalidTrailer,
    /// The peer closed the connection before the end of the body.
    BodyCutShort,
    /// The peer closed the connection in the middle of a message head.
    HeadCutShort,
    /// An `Expect` other than `100-continue`.
    UnsupportedExpectation,
    /// An HTTP version other than 1.0 and 1.1.
    UnsupportedVersion,
    /// The request line is longer than the limit.
    RequestLineTooLong,
    /// The head is larger than the limit.
    HeadTooLarge,
    /// More headers than the limit.
    TooManyHeaders,
    /// The trailer section is larger than the limit.
    TrailersTooLarge,
    /// The body is larger than the limit.
    BodyTooLarge,
}

impl ParseError {
    pub(crate) const fn new(kind: ErrorKind) -> ParseError {
        ParseError { kind }
    }

    /// What went wrong.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The status a server answers with (the connection is closed after
    /// it).
    pub const fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
            ErrorKind::UnsupportedExpectation => StatusCode::EXPECTATION_FAILED,
            ErrorKind::UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            ErrorKind::RequestLineTooLong => StatusCode::URI_TOO_LONG,
            ErrorKind::HeadTooLarge | ErrorKind::TooManyHeaders | ErrorKind::TrailersTooLarge => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            ErrorKind::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Whether the peer closed the connection in the middle of a message,
    /// so that no response can reach it.
    pub const fn is_cut_short(&self) -> bool {
        matches!(self.kind, ErrorKind::BodyCutShort | ErrorKind::HeadCutShort)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            ErrorKind::InvalidRequestLine => "malformed request line",
            ErrorKind::InvalidStatusLine => "malformed status line",
            ErrorKind::InvalidUri => "invalid request target",
            ErrorKind::InvalidHeader => {
                "malformed header line (no colon, space before the colon, line folding or a control byte)"
            }
            ErrorKind::InvalidHost => "an HTTP/1.1 request needs exactly one Host header",
            ErrorKind::InvalidContentLength => "Content-Length is not a valid decimal number",
            ErrorKind::DifferingContentLengths => "differing Content-Length values",
            ErrorKind::ContentLengthAndTransferEncoding => {
                "both Content-Length and Transfer-Encoding"
            }
            ErrorKind::InvalidTransferEncoding => "malformed Transfer-Encoding",
            ErrorKind::NotChunked => "Transfer-Encoding does not end in chunked",
            ErrorKind::RepeatedTransferEncoding => "chunked or Transfer-Encoding more than once",
            ErrorKind::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 message",
            ErrorKind::UnsupportedTransferCoding => {
                "transfer coding not supported (only chunked is)"
            }
            ErrorKind::InvalidChunkSize => "malformed chunk size line",
            ErrorKind::InvalidChunk => "chunk data not followed by CRLF",
            ErrorKind::InvalidTrailer => "malformed trailer section",
            ErrorKind::BodyCutShort => "connection closed before the end of the body",
            ErrorKind::HeadCutShort => "connection closed in the middle of a message head",
            ErrorKind::UnsupportedExpectation => "Expect other than 100-continue",
            ErrorKind::UnsupportedVersion => "HTTP version not supported (only 1.0 and 1.1 are)",
            ErrorKind::RequestLineTooLong => "request line longer than the limit",
            ErrorKind::HeadTooLarge => "message head larger than the limit",
            ErrorKind::TooManyHeaders => "more headers than the limit",
            ErrorKind::TrailersTooLarge => "trailer section larger than the limit",
            ErrorKind::BodyTooLarge => "body larger than the limit",
        })
    }
}

impl StdError for ParseError {}

impl From<ParseError> for io::Error {
    /// [`io::ErrorKind::UnexpectedEof`] for a message cut short,
    /// [`io::ErrorKind::InvalidData`] otherwise, with the `ParseError`
    /// inside.
    fn from(err: ParseError) -> io::Error {
        let kind = if err.is_cut_short() {
            io::ErrorKind::UnexpectedEof
        } else {
            io::ErrorKind::InvalidData
        };
        io::Error::new(kind, err)
    }
}

impl From<ErrorKind> for ParseError {
    fn from(kind: ErrorKind) -> ParseError {
        ParseError::new(kind)
    }
}
