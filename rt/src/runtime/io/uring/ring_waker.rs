//! [`RingWaker`]: wakes the thread blocked polling an io_uring, from any
//! thread.
//!
//! It is a10's wake-up (`SubmissionQueue::wake`): if the ring's owner is
//! polling (or about to), it queues an `IORING_OP_MSG_RING` on that ring and
//! enters it, which posts a completion that ends the owner's wait; a wake
//! that comes before the poll makes the poll return at once. It needs no
//! spare submission slot: with the queue full it enters the ring to submit
//! what is queued, then adds its message.
//!
//! # Why not an eventfd
//!
//! kiln-rt once woke rings through an eventfd the ring kept a read on, so
//! that only the owner would ever enter its ring. That read has to be queued
//! again after each wake-up, and with the submission queue full (a burst of
//! I/O) it could not be: the owner then slept with nothing able to wake it,
//! while the futures waiting for a submission slot waited for it (found by
//! the test of 200 thread-safe UDP clients). a10's wake-up cannot be lost
//! that way.

use a10::SubmissionQueue;

/// Wakes the thread polling one ring.
#[derive(Clone, Debug)]
pub(crate) struct RingWaker {
    sq: SubmissionQueue,
}

impl RingWaker {
    pub(crate) const fn new(sq: SubmissionQueue) -> RingWaker {
        RingWaker { sq }
    }

    /// Wakes the polling thread (or makes its next poll return at once).
    pub(crate) fn wake(&self) {
        self.sq.wake();
    }
}
