//! Establishing a link: connect (or take the accepted connection), the TLS
//! handshake, the `Hello` each way and, on the node with the larger name,
//! the peer's `Accept`, all under the connect timeout.
//!
//! Of two nodes, the one with the smaller name decides which link between
//! them stays (see `node::actor`, "One link per pair"): it sends `Accept`
//! on the link it keeps and closes the others. The node with the larger
//! name waits here for that word and sends nothing on the link before it,
//! so no message is ever written on a link that one of the two drops.

use std::net::SocketAddr;
use std::sync::Arc;

use kiln_rt::access::ThreadLocal;
use kiln_rt::net::TcpStream;
use kiln_rt::timer::Deadline;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, Connection, ServerConnection};

use crate::frame::{self, Frame, Hello, PROTOCOL_VERSION};
use crate::link::error::LinkError;
use crate::link::io::{flush, recv_into};
use crate::link::session::Session;
use crate::msg::Peer;
use crate::shared::Shared;
use crate::tls;

/// The name a link's TLS client sends: never checked (the verifier checks
/// the chain, and the name is checked against the peer's `Hello`).
const TLS_NAME: &str = "kiln-remote.invalid";

/// How a link starts.
#[derive(Debug)]
pub(crate) enum Direction {
    /// Connect to `address`; `expected` names the node there, if known.
    Outbound {
        address: SocketAddr,
        expected: Option<String>,
    },
    /// A connection the node's listener accepted.
    Inbound(TcpStream, SocketAddr),
}

/// Connects, shakes hands and exchanges `Hello`s; see the [module
/// docs](self).
pub(super) async fn establish(
    rt: &ThreadLocal,
    shared: &Arc<Shared>,
    direction: Direction,
) -> Result<(TcpStream, Session, Peer), LinkError> {
    let timeout = shared.config.connect_timeout;
    Deadline::after(rt.clone(), timeout, establish_now(rt, shared, direction)).await
}

async fn establish_now(
    rt: &ThreadLocal,
    shared: &Shared,
    direction: Direction,
) -> Result<(TcpStream, Session, Peer), LinkError> {
    let (stream, expected, outbound) = match direction {
        Direction::Outbound { address, expected } => {
            (TcpStream::connect(rt, address).await?, expected, true)
        }
        Direction::Inbound(stream, _) => (stream, None, false),
    };
    stream.set_nodelay(true)?;
    let tls = match &shared.tls {
        None => None,
        Some(configs) if outbound => {
            let name = ServerName::try_from(TLS_NAME).map_err(io_error)?;
            let client = ClientConnection::new(configs.client.clone(), name).map_err(io_error)?;
            Some(Connection::from(client))
        }
        Some(configs) => {
            let server = ServerConnection::new(configs.server.clone()).map_err(io_error)?;
            Some(Connection::from(server))
        }
    };
    let mut session = Session::new(tls);

    // The TLS handshake.
    let mut buf = Vec::with_capacity(16 * 1024);
    while session.is_handshaking() {
        flush(&stream, &mut session).await?;
        if session.wants_read() {
            buf = recv_into(&stream, &mut session, buf).await?;
        }
    }
    session.unlimit();

    // `Hello`s, both ways at once.
    let limit = shared.config.max_frame;
    let hello = Frame::Hello(Hello {
        version: PROTOCOL_VERSION,
        cluster: &shared.config.cluster,
        node: shared.name(),
        incarnation: shared.incarnation,
        listen: shared.listen(),
    });
    frame::encode_into(&hello, &mut session.output, limit)?;
    flush(&stream, &mut session).await?;
    let peer = loop {
        if let Some((frame, used)) = frame::decode(&session.input, limit)? {
            let peer = check_hello(shared, &session, frame, expected.as_deref())?;
            session.input.drain(..used);
            break peer;
        }
        buf = recv_into(&stream, &mut session, buf).await?;
    };
    if !decides(shared.name(), &peer.name) {
        wait_for_accept(&stream, &mut session, buf, limit).await?;
    }
    Ok((stream, session, peer))
}

/// Whether the node `name` decides which of its links to node `peer`
/// stays: the one with the smaller name does.
pub(crate) fn decides(name: &str, peer: &str) -> bool {
    name < peer
}

/// Waits for the deciding peer's `Accept`; the peer closing the link
/// first is [`LinkError::NotKept`]. Bytes after the `Accept` stay in the
/// session's input for the established link.
async fn wait_for_accept(
    stream: &TcpStream,
    session: &mut Session,
    mut buf: Vec<u8>,
    limit: usize,
) -> Result<(), LinkError> {
    loop {
        if let Some((frame, used)) = frame::decode(&session.input, limit)? {
            if frame != Frame::Accept {
                return Err(LinkError::Protocol(
                    "the second frame of the deciding peer is not an Accept".to_owned(),
                ));
            }
            session.input.drain(..used);
            return Ok(());
        }
        if session.closed {
            return Err(LinkError::NotKept);
        }
        buf = match recv_into(stream, session, buf).await {
            Ok(buf) => buf,
            Err(LinkError::Io(err)) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(LinkError::NotKept);
            }
            Err(err) => return Err(err),
        };
    }
}

/// Tells the peer, which waits for it (`wait_for_accept`), that this node
/// keeps the link: the first frame after the `Hello`, put in the session's
/// output before anything else can be.
pub(super) fn accept(session: &mut Session, limit: usize) -> Result<(), LinkError> {
    frame::encode_into(&Frame::Accept, &mut session.output, limit)?;
    Ok(())
}

/// Checks the peer's first frame: a `Hello` of our version and cluster,
/// from the node we expected, with a certificate valid for its name.
fn check_hello(
    shared: &Shared,
    session: &Session,
    frame: Frame<'_>,
    expected: Option<&str>,
) -> Result<Peer, LinkError> {
    let Frame::Hello(hello) = frame else {
        return Err(LinkError::Protocol(
            "the first frame is not a Hello".to_owned(),
        ));
    };
    if hello.version != PROTOCOL_VERSION {
        return Err(LinkError::Protocol(format!(
            "the peer speaks protocol version {}, this node {PROTOCOL_VERSION}",
            hello.version
        )));
    }
    if hello.cluster != shared.config.cluster {
        return Err(LinkError::Protocol(format!(
            "the peer '{}' is of cluster '{}', not '{}'",
            hello.node.escape_debug(),
            hello.cluster.escape_debug(),
            shared.config.cluster
        )));
    }
    if hello.node == shared.name() {
        return Err(LinkError::SelfConnect);
    }
    if let Some(expected) = expected
        && hello.node != expected
    {
        return Err(LinkError::Protocol(format!(
            "expected node '{expected}' but '{}' answered",
            hello.node.escape_debug()
        )));
    }
    if let Some(tls) = session.tls() {
        let cert = tls
            .peer_certificates()
            .and_then(|chain| chain.first())
            .ok_or_else(|| LinkError::Protocol("the peer sent no certificate".to_owned()))?;
        tls::check_name(cert, hello.node).map_err(|why| {
            LinkError::Protocol(format!(
                "the certificate of the peer calling itself '{}' {why}",
                hello.node.escape_debug()
            ))
        })?;
    }
    Ok(Peer {
        name: hello.node.to_owned(),
        incarnation: hello.incarnation,
        listen: hello.listen,
    })
}

fn io_error(err: impl std::error::Error + Send + Sync + 'static) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, err)
}
