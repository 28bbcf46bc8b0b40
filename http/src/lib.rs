//! kiln-http: HTTP/1.1 for kiln.
//!
//! # About
//!
//! Work in progress.

pub mod body;
pub mod client;
mod proto;
pub mod router;
pub mod server;

pub use proto::error::{ErrorKind, ParseError};
pub use proto::limits::Limits;
pub use router::{PathParams, Router};
