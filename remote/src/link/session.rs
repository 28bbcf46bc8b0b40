//! [`Session`]: the bytes of a link without the I/O: TLS (a rustls
//! connection) or plaintext, with the decrypted bytes waiting to be parsed
//! into frames and the frames waiting to be encrypted and sent.
//!
//! rustls is sans-I/O: it takes the bytes received (`read_tls`) and gives
//! the bytes to send (`write_tls`). The link actor moves them over kiln's
//! `TcpStream` with owned buffers, so the same code runs on every I/O
//! driver. Frames are collected in `output` and go through TLS together
//! when the link is about to send, so a burst of small messages makes few
//! TLS records (each up to 16 KiB) instead of one per message.

use std::io::{self, Read, Write};

use rustls::Connection;

/// Bytes a read of decrypted data takes room for at a time.
const READ_CHUNK: usize = 16 * 1024;

/// The state of a link's byte stream; see the [module docs](self).
pub(crate) struct Session {
    /// `None` for a plaintext link.
    tls: Option<Connection>,
    /// Received bytes not yet parsed into frames (decrypted).
    pub(crate) input: Vec<u8>,
    /// Encoded frames not yet handed to TLS (or, plaintext, to the socket).
    pub(crate) output: Vec<u8>,
    /// The peer closed its side cleanly (TLS `close_notify`).
    pub(crate) closed: bool,
}

impl Session {
    pub(crate) fn new(tls: Option<Connection>) -> Session {
        Session {
            tls,
            input: Vec::new(),
            output: Vec::new(),
            closed: false,
        }
    }

    pub(crate) const fn tls(&self) -> Option<&Connection> {
        self.tls.as_ref()
    }

    /// Whether the TLS handshake still runs.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.is_handshaking())
    }

    /// Whether TLS waits for bytes from the peer to go on with the
    /// handshake.
    pub(crate) fn wants_read(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.wants_read())
    }

    /// Takes bytes received from the socket: decrypts them into `input`.
    pub(crate) fn received(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        let Some(tls) = self.tls.as_mut() else {
            self.input.extend_from_slice(bytes);
            return Ok(());
        };
        while !bytes.is_empty() {
            let n = tls.read_tls(&mut bytes)?;
            if n == 0 {
                break;
            }
            let state = tls
                .process_new_packets()
                .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
            if state.peer_has_closed() {
                self.closed = true;
            }
            if state.plaintext_bytes_to_read() > 0 {
                read_plaintext(tls, &mut self.input)?;
            }
        }
        Ok(())
    }

    /// Moves everything waiting to be sent (TLS handshake messages, and the
    /// frames in `output` once the handshake is done) into `out`.
    pub(crate) fn take_output(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let Some(tls) = self.tls.as_mut() else {
            if out.is_empty() {
                std::mem::swap(out, &mut self.output);
            } else {
                out.append(&mut self.output);
            }
            return Ok(());
        };
        if !tls.is_handshaking() && !self.output.is_empty() {
            tls.writer().write_all(&self.output)?;
            self.output.clear();
        }
        while tls.wants_write() {
            tls.write_tls(out)?;
        }
        Ok(())
    }

    /// Queues a TLS `close_notify`: the peer learns the link ends on
    /// purpose, not by a truncation attack.
    pub(crate) fn close(&mut self) {
        if let Some(tls) = self.tls.as_mut() {
            tls.send_close_notify();
        }
    }

    /// Lifts rustls's 64 KiB limit on buffered records once the handshake is
    /// done: the link bounds its own buffers (see `link::run`).
    pub(crate) fn unlimit(&mut self) {
        if let Some(tls) = self.tls.as_mut() {
            tls.set_buffer_limit(None);
        }
    }
}

/// Appends every decrypted byte rustls holds to `input`.
fn read_plaintext(tls: &mut Connection, input: &mut Vec<u8>) -> io::Result<()> {
    loop {
        let start = input.len();
        input.resize(start + READ_CHUNK, 0);
        match tls.reader().read(&mut input[start..]) {
            Ok(n) => {
                input.truncate(start + n);
                if n == 0 {
                    return Ok(()); // Closed cleanly; `closed` says so.
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                input.truncate(start);
                return Ok(());
            }
            Err(err) => {
                input.truncate(start);
                return Err(err);
            }
        }
    }
}
