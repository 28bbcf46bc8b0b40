//! Flow control of a link: data frames (messages and requests) are sent
//! against credit the receiver grants as it delivers them, so that
//! control frames (membership, registry, responses, credit itself) never
//! wait behind more than a window of data.
//!
//! # Why
//!
//! SWIM decides a node is dead when its probes go unanswered. Over one TCP
//! stream a probe waits behind every byte sent before it; if the receiver
//! stopped reading because an actor's inbox is full, megabytes of data
//! (its socket buffers) can sit in front of the probe for seconds, and a
//! busy node is declared dead. HTTP/2 solves the same problem the same way:
//! the receiver never stops reading, since the sender never has more than
//! a window of data in flight, and control frames are handled on arrival.
//!
//! # Rules
//!
//! - The sender starts with [`WINDOW`] bytes of credit. A data frame
//!   (length prefix included) takes its size; one that does not fit waits
//!   (the link stops taking messages from its inbox, so senders see
//!   `Full`). A frame larger than the window is sent when the whole window
//!   is free.
//! - The receiver delivers data frames in order; those that can't be
//!   delivered yet (an inbox is full) wait in its backlog while it goes on
//!   reading and handling control frames. It grants the bytes back
//!   (`Credit`) once it has delivered a quarter of the window, or caught
//!   up.
//! - A sender whose message waits for credit, and gets none for the stall
//!   timeout, closes the link: the peer stopped reading (or its actors
//!   stopped taking messages), and its link would hold the queue for ever.
//! - A sender that goes beyond its credit (a backlog over the window plus
//!   one frame) breaks the protocol, and its link is closed.

/// Bytes of data frames a link may have in flight.
pub(crate) const WINDOW: usize = 512 * 1024;

/// The sender's side: credit left.
#[derive(Debug)]
pub(super) struct Credit {
    available: usize,
    /// Grants received: the link's stall check sees progress by it.
    grants: u64,
}

impl Credit {
    pub(super) const fn new() -> Credit {
        Credit {
            available: WINDOW,
            grants: 0,
        }
    }

    /// Takes credit for a frame of `len` bytes, if there is enough.
    pub(super) fn take(&mut self, len: usize) -> bool {
        if self.available >= len || self.available == WINDOW {
            self.available = self.available.saturating_sub(len);
            true
        } else {
            false
        }
    }

    /// Credit granted by the receiver.
    pub(super) fn grant(&mut self, bytes: u64) {
        self.grants = self.grants.wrapping_add(1);
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        self.available = self.available.saturating_add(bytes).min(WINDOW);
    }

    /// How many grants came so far.
    pub(super) const fn grants(&self) -> u64 {
        self.grants
    }
}

/// The receiver's side: bytes delivered not yet granted back.
#[derive(Debug, Default)]
pub(super) struct Grant {
    due: usize,
}

impl Grant {
    /// `len` bytes of data were delivered (or dropped).
    pub(super) const fn delivered(&mut self, len: usize) {
        self.due += len;
    }

    /// The credit to grant now: once a quarter of the window has built up,
    /// or whatever is due once the receiver caught up (`idle`), so the
    /// sender always gets its whole window back eventually.
    pub(super) fn take(&mut self, idle: bool) -> Option<u64> {
        if self.due >= WINDOW / 4 || (idle && self.due > 0) {
            let due = std::mem::take(&mut self.due);
            Some(due as u64)
        } else {
            None
        }
    }
}
