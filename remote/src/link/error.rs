//! [`LinkError`]: why a link ended or never started; the link actor logs
//! it, and only that link ends.

use std::fmt;
use std::io;

use kiln_rt::timer::DeadlinePassed;

use crate::frame::FrameError;

/// Why a link ended or never started.
#[derive(Debug)]
pub(crate) enum LinkError {
    Io(io::Error),
    Frame(FrameError),
    /// The peer broke the protocol; says how.
    Protocol(String),
    /// Connecting, the handshake or the `Hello`s took too long.
    Timeout,
    /// A send made no progress, or no credit came while a message waited
    /// for it, for the stall timeout.
    Stalled,
    /// The address is this node's own.
    SelfConnect,
    /// The peer (the node with the smaller name, which decides) closed the
    /// link before accepting it: it keeps another link to this node.
    NotKept,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Io(err) => write!(f, "{err}"),
            LinkError::Frame(err) => write!(f, "{err}"),
            LinkError::Protocol(why) => write!(f, "protocol error: {why}"),
            LinkError::Timeout => f.write_str("connecting timed out"),
            LinkError::Stalled => {
                f.write_str("the peer stopped reading (no progress for the stall timeout)")
            }
            LinkError::SelfConnect => f.write_str("the address is this node's own"),
            LinkError::NotKept => f.write_str("the peer keeps another link to this node"),
        }
    }
}

impl From<io::Error> for LinkError {
    fn from(err: io::Error) -> LinkError {
        LinkError::Io(err)
    }
}

impl From<FrameError> for LinkError {
    fn from(err: FrameError) -> LinkError {
        LinkError::Frame(err)
    }
}

impl From<DeadlinePassed> for LinkError {
    fn from(_: DeadlinePassed) -> LinkError {
        LinkError::Timeout
    }
}
