//! [`PollingState`]: whether a poll instance's thread waits in `epoll_wait`
//! and whether it was woken, so that a wake-up makes a system call only
//! when it has to.
//!
//! # Why
//!
//! Waking a poll instance's thread is a write to its eventfd (mio's
//! `Waker`): a system call that, when the thread sleeps, also wakes it, tens
//! of microseconds on a loaded virtual machine. A worker is marked asleep
//! from the moment it decides to sleep until its poll returns (see
//! `worker/handle.rs`), and every thread that makes work for it in that
//! window wakes it. Writing the eventfd each time made a thread-safe
//! ping-pong between two workers (kiln-bench W1c) 3 to 15 times slower on
//! epoll than on io_uring, where a10 skips the wake-up while the ring's
//! owner is not yet in the kernel (a10 0.4's `PollingState`, which this
//! copies): the wake-up is a flag then, and the poll that follows does not
//! block.
//!
//! # State
//!
//! One `AtomicU8` with two bits: [`IS_POLLING`], set by the poller from just
//! before `epoll_wait` until it returns, and [`IS_AWOKEN`], set by a
//! wake-up. The poller swaps in `IS_POLLING` (clearing `IS_AWOKEN`) before
//! it waits and waits with a zero timeout if `IS_AWOKEN` was set; it swaps
//! in zero when it returns. A wake-up sets `IS_AWOKEN` and writes the eventfd
//! only if it found `IS_POLLING` alone: the poller waits, and no one wrote
//! since it started.
//!
//! # Why no wake-up is lost
//!
//! Every access is a read-modify-write of the one word, so they are totally
//! ordered, each `AcqRel`. A waker publishes its work (a process woken, a
//! control message) and then sets `IS_AWOKEN`:
//!
//! - before the poller's swap to `IS_POLLING`: the swap returns `IS_AWOKEN`,
//!   so the poll does not block, and the swap (reading the waker's write)
//!   makes the work visible to the poller's thread, which looks for work
//!   after every poll;
//! - after it, with `IS_POLLING` alone: the waker writes the eventfd, which
//!   ends (or prevents) the wait;
//! - after it, with `IS_AWOKEN` already set: an earlier waker wrote the
//!   eventfd (or the poll did not block), and the poll returns;
//! - after the poller's swap to zero: the poller's thread is not waiting;
//!   it finds the work on its next turn, and its next poll does not block
//!   (a spurious non-blocking poll at worst).

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// The poller waits in `epoll_wait` (or is about to).
const IS_POLLING: u8 = 0b01;
/// A wake-up came since the poller last started to poll.
const IS_AWOKEN: u8 = 0b10;

/// Whether a poll instance's thread polls and was woken; see the [module
/// docs](self).
#[derive(Debug, Default)]
pub(crate) struct PollingState(AtomicU8);

impl PollingState {
    /// The poller is about to wait at most `timeout`: returns how long it
    /// may wait (not at all if it was woken).
    pub(crate) fn start(&self, timeout: Option<Duration>) -> Option<Duration> {
        if self.0.swap(IS_POLLING, Ordering::AcqRel) & IS_AWOKEN != 0 {
            Some(Duration::ZERO)
        } else {
            timeout
        }
    }

    /// The poller's wait returned.
    pub(crate) fn end(&self) {
        self.0.swap(0, Ordering::AcqRel);
    }

    /// A wake-up: returns whether the caller must interrupt the wait (write
    /// the eventfd).
    pub(crate) fn wake(&self) -> bool {
        self.0.fetch_or(IS_AWOKEN, Ordering::AcqRel) == IS_POLLING
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::PollingState;

    #[test]
    fn only_the_first_wake_of_a_waiting_poller_interrupts_it() {
        let state = PollingState::default();
        let wait = Some(Duration::from_secs(1));
        assert_eq!(state.start(wait), wait);
        assert!(state.wake(), "the poller waits: interrupt it");
        assert!(!state.wake(), "interrupted already");
        state.end();
        // The next poll waits again.
        assert_eq!(state.start(wait), wait);
        state.end();
    }

    #[test]
    fn a_wake_before_the_poll_makes_it_not_wait() {
        let state = PollingState::default();
        assert!(!state.wake(), "not polling: a flag is enough");
        assert!(!state.wake());
        assert_eq!(state.start(None), Some(Duration::ZERO));
        state.end();
        assert_eq!(state.start(None), None, "the wake-up was used up");
        state.end();
        // After the poll returned, too.
        assert!(!state.wake());
        assert_eq!(state.start(None), Some(Duration::ZERO));
    }
}
