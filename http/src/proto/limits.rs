//! [`Limits`]: the sizes a peer's message head and body may reach.

/// How large the parts of a message may be; every limit is on by default.
///
/// Passing one gets the status RFC 9110 names for it (the connection is
/// closed after the answer): a request line over
/// [`max_request_line`](Limits::max_request_line) 414, a head over
/// [`max_head_size`](Limits::max_head_size) or more headers than
/// [`max_headers`](Limits::max_headers) 431, a buffered body over
/// [`max_body_size`](Limits::max_body_size) 413.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most header lines in a head (and in a trailer section);
    /// 64 by default.
    pub max_headers: usize,
    /// The most bytes of a head, request or status line included (and of a
    /// trailer section); 16 KiB by default.
    pub max_head_size: usize,
    /// The most bytes of a request line; 8 KiB by default.
    pub max_request_line: usize,
    /// The most bytes of a body read whole (`Body::recv_all`, and the
    /// requests a handler gets); 1 MiB by default. Streamed bodies have no
    /// limit: they pass through a buffer of bounded size.
    pub max_body_size: usize,
}

impl Limits {
    /// The longest chunk size line (size, extensions and CRLF).
    pub(crate) const MAX_CHUNK_LINE: usize = 4096;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_headers: 64,
            max_head_size: 16 * 1024,
            max_request_line: 8 * 1024,
            max_body_size: 1024 * 1024,
        }
    }
}
