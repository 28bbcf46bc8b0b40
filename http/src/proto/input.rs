//! [`Input`]: the bytes received from a peer and not used yet, for the
//! server's connections and the client's.
//!
//! # Why frozen between receives
//!
//! A message head becomes an [`http::Request`] or [`http::Response`] whose
//! URI and header values are [`Bytes`]. Copying every head into a `Bytes`
//! of its own costs two allocations per message (the copy, and the shared
//! header `Bytes` makes on its first slice). So between receives the input
//! is one frozen [`Bytes`], and heads are slices of it: one allocation per
//! receive (the shared header of the buffer) however many pipelined
//! requests it holds.
//!
//! The kernel fills a `Vec<u8>` (kiln-rt's receives take buffers by
//! value), so before each receive [`Input::take_buffer`] turns the frozen
//! bytes back into a `Vec`: without a copy if nothing else holds a slice of
//! the buffer (the unused bytes are moved to its front), else by copying
//! the unused bytes into a new buffer, leaving the old one to the heads
//! still alive.

use std::mem::take;

use bytes::{Buf as _, Bytes};

/// Bytes received and not used yet; see the [module documentation](self).
#[derive(Debug, Default)]
pub(crate) struct Input {
    bytes: Bytes,
}

impl Input {
    /// The bytes not used yet.
    pub(crate) const fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Whether every byte received has been used.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Marks the first `n` bytes as used.
    pub(crate) fn consume(&mut self, n: usize) {
        self.bytes.advance(n);
    }

    /// The buffer for the next receive: the unused bytes first, then room
    /// for at least `room` more. Give it back with [`Input::put_back`].
    pub(crate) fn take_buffer(&mut self, room: usize) -> Vec<u8> {
        let mut buf = match take(&mut self.bytes).try_into_mut() {
            // Moves the unused bytes to the front, no copy of the buffer.
            Ok(unique) => Vec::from(unique),
            Err(shared) => {
                let mut buf = Vec::with_capacity(shared.len() + room);
                buf.extend_from_slice(&shared);
                buf
            }
        };
        buf.reserve(room);
        buf
    }

    /// Puts the buffer of a receive back: its bytes are the unused ones.
    pub(crate) fn put_back(&mut self, buf: Vec<u8>) {
        self.bytes = Bytes::from(buf);
    }
}
