//! The wire format of a link: length-prefixed postcard frames.
//!
//! Every frame is a 4-byte big-endian length followed by that many bytes of
//! a [postcard]-encoded [`Frame`]. The length is checked against the link's
//! limit *before* anything is buffered for it, so a peer cannot make a node
//! allocate more than the limit per link, and a frame that does not decode
//! is a [`FrameError`] that closes only the link it came on (the caller
//! logs it). Nothing in this module panics on any input: the property tests
//! in `frame/tests.rs` feed it random and truncated bytes.
//!
//! The first frame each way is a [`Hello`] naming the protocol version, the
//! cluster and the node; anything else first, another version or another
//! cluster ends the link before any message is read. The node with the
//! smaller name then sends [`Accept`](Frame::Accept) on the link it keeps,
//! and the other waits for it before sending anything more.
//!
//! postcard was chosen for being compact (varints, no field names), fast,
//! stable as a format (1.0 wire spec) and able to borrow strings and bytes
//! from the input, so decoding a message frame copies nothing but the
//! message itself.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// The version of the protocol spoken in frames; a [`Hello`] with another
/// version is refused.
///
/// 2: the node with the larger name waits for an [`Accept`](Frame::Accept)
/// before it uses a link (version 1 had no `Accept`).
pub(crate) const PROTOCOL_VERSION: u32 = 2;

/// Bytes of the length prefix.
pub(crate) const HEADER: usize = 4;

/// The smallest frame size limit a node accepts: room for a `Hello` with
/// long names.
pub(crate) const MIN_FRAME_LIMIT: usize = 1024;

/// One frame on a link.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Frame<'a> {
    /// The first frame each way.
    #[serde(borrow)]
    Hello(Hello<'a>),
    /// A one-way message for the actor registered as `target`.
    Message {
        /// The registered name.
        target: &'a str,
        /// The message type's stable name, checked against the registration.
        message_type: &'a str,
        /// The message, postcard-encoded.
        payload: &'a [u8],
    },
    /// A request; the answer comes back as a `Response` with the same `id`.
    Request {
        /// Chosen by the caller's node, unique per link.
        id: u64,
        /// The registered name.
        target: &'a str,
        /// The request type's stable name.
        message_type: &'a str,
        /// The response type's stable name.
        response_type: &'a str,
        /// The request, postcard-encoded.
        payload: &'a [u8],
    },
    /// The answer to a `Request`.
    Response {
        /// The request's `id`.
        id: u64,
        /// The response, postcard-encoded, or why there is none.
        result: Result<&'a [u8], RpcFailure>,
    },
    /// The sender registered an actor (or a whole snapshot of them, sent
    /// after the `Hello`): replaces its entry of that name.
    Register(Entry<'a>),
    /// The sender unregistered (or lost) the actor of that name.
    Unregister {
        /// The registered name.
        name: &'a str,
    },
    /// Membership protocol data (SWIM, through foca).
    Swim(&'a [u8]),
    /// Tell me when the actor registered as `name` stops (`Stopped` with
    /// the same `watch`); answered at once if there is no such actor.
    Watch {
        /// The watcher's number for this watch.
        watch: u64,
        /// The registered name.
        name: &'a str,
    },
    /// The actor of a `Watch` stopped (or was never there).
    Stopped {
        /// The watch's number.
        watch: u64,
    },
    /// The sender delivered this many bytes of `Message` and `Request`
    /// frames to its actors: the receiver may send that many more (flow
    /// control, see `link::flow`).
    Credit {
        /// Bytes of frames, length prefixes included.
        bytes: u64,
    },
    /// The node with the smaller name keeps this link: the second frame
    /// it sends, after its `Hello`. The other node uses a link only once
    /// this came, so no frame is ever sent on a link that one of the two
    /// drops (see `node::actor`, "One link per pair").
    Accept,
}

impl Frame<'_> {
    /// Whether the frame is data, which flow control counts: messages and
    /// requests for actors. Everything else is control, which goes ahead.
    pub(crate) const fn is_data(&self) -> bool {
        matches!(self, Frame::Message { .. } | Frame::Request { .. })
    }
}

/// The first frame each way on a link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Hello<'a> {
    /// [`PROTOCOL_VERSION`] of the sender.
    pub(crate) version: u32,
    /// The cluster the sender belongs to.
    pub(crate) cluster: &'a str,
    /// The sender's node name; with TLS its certificate must be valid for it.
    pub(crate) node: &'a str,
    /// Distinguishes runs of one node: a restarted node has a larger one.
    pub(crate) incarnation: u64,
    /// Where the sender listens for links.
    pub(crate) listen: SocketAddr,
}

/// A registry entry as sent on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry<'a> {
    /// The registered name.
    pub(crate) name: &'a str,
    /// The stable name of the message (or request) type.
    pub(crate) message_type: &'a str,
    /// The stable name of the response type, for actors that answer
    /// requests.
    pub(crate) response_type: Option<&'a str>,
}

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RpcFailure {
    /// No actor is registered under that name on the node.
    NotFound,
    /// The actor there takes other requests or answers with another type.
    WrongType,
    /// The actor has stopped.
    Stopped,
    /// The actor dropped the request without responding.
    NoResponse,
    /// The request or response could not be encoded or decoded.
    Malformed,
}

impl fmt::Display for RpcFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RpcFailure::NotFound => "no actor is registered under that name on the remote node",
            RpcFailure::WrongType => "the remote actor takes other requests or responses",
            RpcFailure::Stopped => "the remote actor has stopped",
            RpcFailure::NoResponse => "the remote actor dropped the request without responding",
            RpcFailure::Malformed => "the request or its response could not be decoded",
        })
    }
}

/// Why bytes on a link are not a frame. Each closes the link.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The length prefix is above the link's limit.
    TooLarge {
        /// The length announced.
        length: usize,
        /// The link's limit.
        limit: usize,
    },
    /// The frame's bytes are not a postcard `Frame`.
    Malformed(postcard::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { length, limit } => write!(
                f,
                "frame of {length} bytes is over the limit of {limit} bytes"
            ),
            FrameError::Malformed(err) => write!(f, "malformed frame: {err}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Appends `frame`, with its length prefix, to `out`. Fails (leaving `out`
/// as it was) if it would be larger than `limit`, or does not encode.
pub(crate) fn encode_into(
    frame: &Frame<'_>,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), FrameError> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    if let Err(err) = postcard::to_io(frame, &mut *out) {
        out.truncate(start);
        return Err(FrameError::Malformed(err));
    }
    let length = out.len() - start - HEADER;
    if length > limit {
        out.truncate(start);
        return Err(FrameError::TooLarge { length, limit });
    }
    // `length <= limit`, and limits are `u32`s (see `Config`).
    let prefix = u32::try_from(length).unwrap_or(u32::MAX).to_be_bytes();
    out[start..start + HEADER].copy_from_slice(&prefix);
    Ok(())
}

/// Encodes `frame` alone, with its length prefix.
pub(crate) fn encode(frame: &Frame<'_>, limit: usize) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::new();
    encode_into(frame, &mut out, limit)?;
    Ok(out)
}

/// The frame at the start of `input`, if it is all there, and the bytes it
/// takes (prefix included). `Ok(None)` asks for more bytes; an error means
/// the stream can't be read any further.
pub(crate) fn decode(input: &[u8], limit: usize) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    let Some(length) = frame_length(input, limit)? else {
        return Ok(None);
    };
    let Some(body) = input.get(HEADER..HEADER + length) else {
        return Ok(None);
    };
    match postcard::take_from_bytes(body) {
        Ok((frame, [])) => Ok(Some((frame, HEADER + length))),
        // Bytes after the frame: the sender and we disagree on the format.
        Ok((_, _)) => Err(FrameError::Malformed(
            postcard::Error::DeserializeBadEncoding,
        )),
        Err(err) => Err(FrameError::Malformed(err)),
    }
}

/// The announced length of the frame at the start of `input`, checked
/// against `limit`; `None` if the prefix is not all there.
pub(crate) fn frame_length(input: &[u8], limit: usize) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = input.first_chunk::<HEADER>() else {
        return Ok(None);
    };
    let length = u32::from_be_bytes(*prefix) as usize;
    if length > limit {
        return Err(FrameError::TooLarge { length, limit });
    }
    Ok(Some(length))
}
