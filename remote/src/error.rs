//! The errors of kiln-remote: each says why and, for sends, gives the
//! message back.

use std::fmt;

use kiln_rt::timer::DeadlinePassed;

use crate::frame::RpcFailure;

/// Why [`RemoteRef::try_send`](crate::RemoteRef::try_send) or
/// [`send`](crate::RemoteRef::send) did not send; the message is given
/// back. `Debug` does not need `M: Debug`.
///
/// A message that was sent may still be lost if its node fails before
/// handling it: delivery is at most once.
#[derive(Clone, PartialEq, Eq)]
pub enum SendError<M> {
    /// The send queue to the actor's node (or, for an actor on this node,
    /// its inbox) is full. Retry later, or use `send` to wait.
    Full(M),
    /// There is no link to the actor's node: it is down, or being
    /// reconnected.
    Unreachable(M),
    /// The actor (on this node) has stopped.
    Stopped(M),
    /// The message does not encode, or is larger than the frame limit.
    Unencodable(M),
}

impl<M> SendError<M> {
    /// The message that was not sent.
    pub fn into_inner(self) -> M {
        match self {
            SendError::Full(msg)
            | SendError::Unreachable(msg)
            | SendError::Stopped(msg)
            | SendError::Unencodable(msg) => msg,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            SendError::Full(_) => "Full",
            SendError::Unreachable(_) => "Unreachable",
            SendError::Stopped(_) => "Stopped",
            SendError::Unencodable(_) => "Unencodable",
        }
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(..)", self.kind())
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Full(_) => "can't send message: the send queue to the node is full",
            SendError::Unreachable(_) => "can't send message: the node is unreachable",
            SendError::Stopped(_) => "can't send message: the actor has stopped",
            SendError::Unencodable(_) => {
                "can't send message: it does not encode, or is larger than the frame limit"
            }
        })
    }
}

impl<M> std::error::Error for SendError<M> {}

/// Why [`RemoteRef::rpc`](crate::RemoteRef::rpc) got no response.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RpcError {
    /// The request could not be sent: no link to the node, or it does not
    /// encode.
    NotSent,
    /// The link to the node was lost before the response came; the request
    /// may or may not have been handled.
    ConnectionLost,
    /// The actor does not answer requests, or answers with another type
    /// than asked for.
    WrongType,
    /// The remote node answered that it can't respond, and why.
    Failed(RpcFailure),
    /// The response does not decode as the response type.
    Malformed,
    /// The deadline passed (from `kiln_rt::timer::Deadline`).
    Timeout,
}

impl From<DeadlinePassed> for RpcError {
    fn from(_: DeadlinePassed) -> RpcError {
        RpcError::Timeout
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::NotSent => f.write_str("RPC failed: the request could not be sent"),
            RpcError::ConnectionLost => {
                f.write_str("RPC failed: the link to the node was lost before the response")
            }
            RpcError::WrongType => f.write_str(
                "RPC failed: the actor does not answer requests with the expected response type",
            ),
            RpcError::Failed(failure) => write!(f, "RPC failed: {failure}"),
            RpcError::Malformed => f.write_str("RPC failed: the response does not decode"),
            RpcError::Timeout => f.write_str("RPC failed: the deadline passed"),
        }
    }
}

impl std::error::Error for RpcError {}

/// Why [`Node::lookup`](crate::Node::lookup) found no reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// No node of the cluster (that this node knows of) registered the
    /// name.
    NotFound(String),
    /// The name is registered with another message type.
    WrongType {
        /// The name looked up.
        name: String,
        /// The message type it was registered with.
        registered: String,
        /// The message type asked for.
        asked: &'static str,
    },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound(name) => write!(f, "no actor is registered as '{name}'"),
            LookupError::WrongType {
                name,
                registered,
                asked,
            } => write!(
                f,
                "actor '{name}' takes messages of type '{registered}', not '{asked}'"
            ),
        }
    }
}

impl std::error::Error for LookupError {}

/// Why [`Node::register`](crate::Node::register) did not register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// This node has an actor registered under that name; unregister it
    /// first.
    Taken(String),
    /// The name is empty or longer than 255 bytes.
    BadName(String),
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::Taken(name) => {
                write!(f, "an actor is registered as '{name}' on this node already")
            }
            RegisterError::BadName(name) => write!(
                f,
                "can't register '{}': a name is 1 to 255 bytes",
                name.escape_debug()
            ),
        }
    }
}

impl std::error::Error for RegisterError {}

/// Why a node did not start: the configuration, the TLS identity or the
/// listening address. The message says what to change.
#[derive(Debug)]
pub struct StartError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StartError {
    pub(crate) fn new(message: impl Into<String>) -> StartError {
        StartError {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StartError {
        StartError {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "can't start the node: {}: {source}", self.message),
            None => write!(f, "can't start the node: {}", self.message),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}
