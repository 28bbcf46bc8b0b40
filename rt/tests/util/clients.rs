//! Clients that stall a server, on std's blocking sockets (TCP or Unix): one
//! that never sends, one that sends and never reads, and a reset; and the
//! echo loops the servers under test run, and the client that checks them.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream as StdStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use kiln_rt::net::{TcpStream, UnixStream};
use socket2::SockRef;

use super::timeout::TIMEOUT;

/// Connects and sends nothing; returns when the server closed the
/// connection, measured from just before the connect. Panics if it did not
/// within `limit`.
///
/// From before the connect: the server's timeout starts after the
/// connection is made, so the span measured is never shorter than the one
/// the server waited. Measured from after the connect returns, it was 1 ms
/// short once (`disconnected early: after 499.1ms` for a 500 ms timeout)
/// with the client's thread descheduled between the two, at a load average
/// of 8.
pub(crate) fn silent_client(address: SocketAddr, limit: Duration) -> Duration {
    let connected = Instant::now();
    let stream = StdStream::connect(address).expect("can't connect");
    wait_closed(stream, connected, limit)
}

/// Reads from `stream`, a connection that sends nothing, until the server
/// closes it; returns how long that took from `connected`. Panics if it did
/// not within `limit`. See [`silent_client`].
pub(crate) fn wait_closed(
    mut stream: impl Read + AsFd,
    connected: Instant,
    limit: Duration,
) -> Duration {
    SockRef::from(&stream)
        .set_read_timeout(Some(limit))
        .unwrap();
    let mut buf = [0; 16];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("silent client: expected the server to close, got {other:?}"),
    }
    connected.elapsed()
}

/// Sends `request` again and again on `stream` and never reads, until the
/// server closes the connection: returns how long that took, or `None` if
/// `stop` says so first (it is asked every 100 ms at least). Also returns
/// the bytes sent.
pub(crate) fn send_until_closed(
    stream: &mut (impl Write + AsFd),
    request: &[u8],
    mut stop: impl FnMut() -> bool,
) -> (Option<Duration>, usize) {
    // Short, so that `stop` is asked; a timed-out write is retried.
    SockRef::from(&*stream)
        .set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    let mut sent = 0;
    while !stop() {
        match stream.write(request) {
            Ok(n) => sent += n,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
                ) =>
            {
                return (Some(start.elapsed()), sent);
            }
            Err(err) => panic!("non-reading client: unexpected error {err}"),
        }
    }
    (None, sent)
}

/// Closes `stream` with a reset (`SO_LINGER` 0).
pub(crate) fn reset(stream: StdStream) {
    SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("can't set SO_LINGER");
}

/// Bytes an [`echo_client`] sends (in four writes) and expects back.
const MESSAGE: usize = 8 * 1024;

/// A client of an echo server on `stream` (TCP or Unix): sends `MESSAGE`
/// patterned bytes in four writes, reads them back, closes its side and
/// expects nothing more.
pub(crate) fn echo_client(mut stream: impl Read + Write + AsFd, seed: usize) {
    SockRef::from(&stream)
        .set_read_timeout(Some(TIMEOUT))
        .unwrap();
    let sent: Vec<u8> = (0..MESSAGE).map(|i| ((i * 7 + seed) % 251) as u8).collect();
    for part in sent.chunks(MESSAGE / 4) {
        stream.write_all(part).expect("can't send");
    }
    let mut received = vec![0; MESSAGE];
    stream
        .read_exact(&mut received)
        .expect("can't receive the echo");
    assert!(received == sent, "client {seed}: echo differs");
    SockRef::from(&stream).shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .expect("can't read to the end");
    assert!(
        rest.is_empty(),
        "client {seed}: unexpected bytes after the echo"
    );
}

/// Writes `echo` for each of the stream types: echoes what the peer sends
/// until it closes its side. A macro: the streams share no trait.
macro_rules! echo_loops {
    ($($(#[$doc: meta])* $name: ident($stream: ty);)+) => {$(
        $(#[$doc])*
        pub(crate) async fn $name(stream: &$stream) -> io::Result<()> {
            let mut buf = Vec::with_capacity(4096);
            loop {
                buf.clear();
                buf = stream.recv(buf).await?;
                if buf.is_empty() {
                    return Ok(());
                }
                buf = stream.send_all(buf).await?;
            }
        }
    )+};
}

echo_loops! {
    /// Echoes what the TCP peer sends until it closes its side.
    echo(TcpStream);
    /// Echoes what the Unix peer sends until it closes its side.
    unix_echo(UnixStream);
}
