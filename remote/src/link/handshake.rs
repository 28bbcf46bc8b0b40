//! Establishing a link: connect (or take the accepted connection), the TLS
//! handshake, and the `Hello` each way, all under the connect timeout.

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
    Ok((stream, session, peer))
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
