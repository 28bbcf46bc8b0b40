//! The socket side of a link: sending what the session has to send, and
//! receiving into it. Used by the handshake and by the established link.

use kiln_rt::net::TcpStream;

use crate::link::error::LinkError;
use crate::link::session::Session;

/// Room a receive asks for.
pub(super) const RECV_SIZE: usize = 64 * 1024;

/// Sends everything the session has to send.
pub(super) async fn flush(stream: &TcpStream, session: &mut Session) -> std::io::Result<()> {
    let mut out = Vec::new();
    session.take_output(&mut out)?;
    if !out.is_empty() {
        stream.send_all(out).await?;
    }
    Ok(())
}

/// Receives once into `buf` and hands the bytes to the session; the peer
/// closing is an error here (in the middle of a handshake or `Hello`).
pub(super) async fn recv_into(
    stream: &TcpStream,
    session: &mut Session,
    mut buf: Vec<u8>,
) -> Result<Vec<u8>, LinkError> {
    buf.clear();
    buf.reserve(RECV_SIZE);
    let buf = stream.recv(buf).await?;
    if buf.is_empty() {
        return Err(LinkError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    session.received(&buf)?;
    Ok(buf)
}
