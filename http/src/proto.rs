//! The HTTP/1.1 wire format as pure code, no I/O: parsing request and
//! response heads, deciding how a body is framed (RFC 9112, section 6),
//! decoding `Content-Length` and chunked bodies incrementally, and writing
//! heads and chunks.
//!
//! The server and the client both drive these functions with the bytes
//! they received; the conformance and property tests (`tests.rs`) drive
//! them with byte strings and random splits.

pub(crate) mod date;
pub(crate) mod decode;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod drive;
pub(crate) mod encode;
pub(crate) mod error;
pub(crate) mod framing;
pub(crate) mod input;
pub(crate) mod limits;
pub(crate) mod request;
pub(crate) mod response;

#[cfg(test)]
mod tests;
