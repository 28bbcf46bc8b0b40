//! kiln-http: HTTP/1.1 for kiln.
//!
//! # About
//!
//! Work in progress; see the crate's README section.

#[allow(
    dead_code,
    reason = "the server and client, which use all of it, come next"
)]
mod proto;

pub use proto::error::{ErrorKind, ParseError};
pub use proto::limits::Limits;
