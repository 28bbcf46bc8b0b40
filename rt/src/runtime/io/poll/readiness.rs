//! [`Readiness`]: what the poll driver knows of one registered descriptor,
//! and who waits for it to become readable or writable.
//!
//! # State
//!
//! One `AtomicU64`: the low [`BITS`] bits say which events were seen and not
//! yet used up ([`READABLE`], [`WRITABLE`], [`READ_CLOSED`],
//! [`WRITE_CLOSED`], [`ERROR`]), the rest is a *tick* that every event adds
//! one to. The driver ([`Readiness::set_taking`]) ORs bits in and bumps the tick;
//! an operation that got `EWOULDBLOCK` clears the bits of its direction
//! ([`Readiness::clear`]) only if the tick is still the one it read before
//! its system call: an event that came in between (the kernel's
//! edge-triggered notification of new data) is not lost. This is tokio's
//! scheme for edge-triggered epoll.
//!
//! Unlike tokio, an operation that would block clears the closed and error
//! bits of its direction too, not only the readable or writable bit: the
//! kernel just said that nothing is there to be found, so those bits are
//! stale. They do go stale: epoll reports `EPOLLHUP` for a stream socket
//! that is not connected yet (registered before its `connect`, or polled by
//! another thread in between), and a pending error is taken by the first
//! operation that finds it. Kept, such a bit makes every later operation
//! that would block try again at once, for ever: a worker spinning on
//! `EAGAIN` (`a_stale_closed_or_error_bit_is_cleared_by_an_operation_that_would_block`).
//!
//! A read of a stream socket that got fewer bytes than it asked for emptied
//! the receive buffer, and a short write filled the send buffer: the
//! operation clears only the readable or writable bit then
//! ([`Readiness::clear_ready`], with the same tick check), so the next one
//! waits for the next event instead of making a system call that would fail
//! with `EAGAIN` (tokio does the same). The closed and error bits stay: the
//! peer's end of the stream may have come with the bytes just read, and no
//! other event would report it.
//!
//! # Waiting
//!
//! A reader and a writer may wait at once (a connection's receive and send
//! in two futures); each has a slot for its waker under one mutex. A waiter
//! stores its waker under the lock and then reads the state again; the
//! driver sets the bits and then takes the wakers under the lock. The lock
//! orders the two: either the waiter's second read sees the bits, or the
//! driver finds the waker. The lock is taken once per wait and once per
//! event, never per successful operation.
//!
//! # One cache line
//!
//! The poller touches one `Readiness` per event, and a server with many
//! connections finds few of them in the cache: each event's first touch is a
//! miss (`perf` put most of `Poller::poll`'s time of kiln-bench
//! `W7-1KiB-256c` on it). So a `Readiness` is aligned to, and fits in, one
//! 64-byte line: the state and the waiters arrive with one miss, where a
//! 48-byte value at malloc's 16-byte alignment straddled two lines three
//! times in four. The poller takes the wakers out
//! ([`Readiness::set_taking`]) with no reference count touched, so the
//! `Arc`'s counts, in the line before, stay out of the event's path. And
//! the poller prefetches the `Readiness` of every event of a batch before
//! it sets the first (see [`prefetch`](crate::runtime::prefetch)), so their
//! misses overlap.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{self, Poll, Waker};

use crate::runtime::lock::lock;

/// The descriptor can be read (or a connection accepted).
pub(crate) const READABLE: u64 = 0b0_0001;
/// The descriptor can be written (or a connect finished).
pub(crate) const WRITABLE: u64 = 0b0_0010;
/// The peer closed its writing side (reads return 0).
pub(crate) const READ_CLOSED: u64 = 0b0_0100;
/// The descriptor can no longer be written (the peer went away).
pub(crate) const WRITE_CLOSED: u64 = 0b0_1000;
/// An error is pending on the descriptor (`SO_ERROR`).
pub(crate) const ERROR: u64 = 0b1_0000;
/// Bits of the state that are event bits; the rest is the tick.
pub(crate) const BITS: u32 = 5;
const BITS_MASK: u64 = (1 << BITS) - 1;

/// The event bits of a mio event.
pub(crate) fn bits_of(event: &mio::event::Event) -> u64 {
    let mut bits = 0;
    if event.is_readable() {
        bits |= READABLE;
    }
    if event.is_writable() {
        bits |= WRITABLE;
    }
    if event.is_read_closed() {
        bits |= READ_CLOSED;
    }
    if event.is_write_closed() {
        bits |= WRITE_CLOSED;
    }
    if event.is_error() {
        bits |= ERROR;
    }
    bits
}

/// The events that let a waiter of `direction` go on and find out.
const fn wakes(direction: Direction) -> u64 {
    match direction {
        Direction::Read => READABLE | READ_CLOSED | ERROR,
        Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
    }
}

/// Which way an operation goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// What the driver knows of one registered descriptor; see the
/// [module docs](self) (and "One cache line" there for the alignment).
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Readiness {
    state: AtomicU64,
    waiters: Mutex<Waiters>,
}

impl Default for Readiness {
    /// Readable and writable: a new descriptor's first operation tries its
    /// system call at once.
    fn default() -> Readiness {
        Readiness {
            state: AtomicU64::new(READABLE | WRITABLE),
            waiters: Mutex::new(Waiters::default()),
        }
    }
}

#[derive(Debug, Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// The state an operation saw: the tick to clear its event bits with.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Seen {
    tick: u64,
}

impl Readiness {
    /// Called by the driver for an event: adds `bits`, bumps the tick and
    /// pushes the wakers of whoever waits for them onto `wakers`, for the
    /// caller to wake once it holds no lock (a waker may run code: a
    /// thread-safe process's wake takes its shard's lock, and a foreign
    /// waker may drop a registration, which takes the poll's sources lock).
    pub(crate) fn set_taking(&self, bits: u64, wakers: &mut Vec<Waker>) {
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                let tick = (state >> BITS).wrapping_add(1);
                Some((tick << BITS) | (state & BITS_MASK) | bits)
            });
        let mut waiters = lock(&self.waiters);
        if bits & wakes(Direction::Read) != 0
            && let Some(waker) = waiters.reader.take()
        {
            wakers.push(waker);
        }
        if bits & wakes(Direction::Write) != 0
            && let Some(waker) = waiters.writer.take()
        {
            wakers.push(waker);
        }
    }

    /// [`Readiness::set_taking`], waking the wakers taken at once.
    #[cfg(test)]
    pub(crate) fn set(&self, bits: u64) {
        let mut wakers = Vec::new();
        self.set_taking(bits, &mut wakers);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Ready for `direction` (the bits seen, to clear them with if the
    /// operation would block), or `Pending` with `cx`'s waker stored.
    pub(crate) fn poll_ready(
        &self,
        direction: Direction,
        cx: &mut task::Context<'_>,
    ) -> Poll<Seen> {
        if let Some(seen) = self.ready(direction) {
            return Poll::Ready(seen);
        }
        {
            let mut waiters = lock(&self.waiters);
            let slot = match direction {
                Direction::Read => &mut waiters.reader,
                Direction::Write => &mut waiters.writer,
            };
            match slot {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        // Again, after the waker is stored: see the module docs.
        match self.ready(direction) {
            Some(seen) => Poll::Ready(seen),
            None => Poll::Pending,
        }
    }

    /// The state seen now, if it lets `direction` go on.
    fn ready(&self, direction: Direction) -> Option<Seen> {
        let state = self.state.load(Ordering::Acquire);
        let bits = state & BITS_MASK;
        (bits & wakes(direction) != 0).then_some(Seen {
            tick: state >> BITS,
        })
    }

    /// An operation of `direction` would block after it saw `seen`: clears
    /// the bits that let `direction` go on (see the [module docs](self)),
    /// unless an event came since.
    pub(crate) fn clear(&self, direction: Direction, seen: Seen) {
        let bits = wakes(direction);
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                (state >> BITS == seen.tick).then_some(state & !bits)
            });
    }

    /// An operation of `direction` on a stream emptied (read) or filled
    /// (write) the kernel's buffer after it saw `seen`: clears the readable
    /// or writable bit only, unless an event came since (see the [module
    /// docs](self)).
    pub(crate) fn clear_ready(&self, direction: Direction, seen: Seen) {
        let bit = match direction {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        };
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                (state >> BITS == seen.tick).then_some(state & !bit)
            });
    }

    /// Forgets the wakers (the descriptor is being deregistered).
    pub(crate) fn clear_waiters(&self) {
        let mut waiters = lock(&self.waiters);
        waiters.reader = None;
        waiters.writer = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{self, Poll, Wake, Waker};

    use super::{Direction, ERROR, READ_CLOSED, READABLE, Readiness, WRITABLE, WRITE_CLOSED};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    /// A readiness with nothing seen yet.
    fn unready() -> Readiness {
        let readiness = Readiness::default();
        let (_, waker) = waker();
        let mut cx = task::Context::from_waker(&waker);
        for direction in [Direction::Read, Direction::Write] {
            let Poll::Ready(seen) = readiness.poll_ready(direction, &mut cx) else {
                panic!("a new descriptor is not ready");
            };
            readiness.clear(direction, seen);
        }
        readiness
    }

    #[test]
    fn a_readiness_is_one_cache_line() {
        assert_eq!(align_of::<Readiness>(), 64);
        assert_eq!(
            size_of::<Readiness>(),
            64,
            "the state and waiters outgrew a line"
        );
    }

    #[test]
    fn an_event_wakes_the_waiter_of_its_direction_only() {
        let readiness = unready();
        let (reads, read_waker) = waker();
        let (writes, write_waker) = waker();
        let mut cx = task::Context::from_waker(&read_waker);
        assert!(readiness.poll_ready(Direction::Read, &mut cx).is_pending());
        let mut cx = task::Context::from_waker(&write_waker);
        assert!(readiness.poll_ready(Direction::Write, &mut cx).is_pending());
        readiness.set(READABLE);
        assert_eq!(reads.0.load(Ordering::SeqCst), 1);
        assert_eq!(writes.0.load(Ordering::SeqCst), 0);
        let mut cx = task::Context::from_waker(&read_waker);
        assert!(readiness.poll_ready(Direction::Read, &mut cx).is_ready());
    }

    #[test]
    fn clearing_keeps_an_event_that_came_after_the_operation_looked() {
        let readiness = unready();
        readiness.set(READABLE);
        let (_, waker) = waker();
        let mut cx = task::Context::from_waker(&waker);
        let Poll::Ready(seen) = readiness.poll_ready(Direction::Read, &mut cx) else {
            panic!("not ready");
        };
        // New data arrives between the read and its `EWOULDBLOCK`.
        readiness.set(READABLE);
        readiness.clear(Direction::Read, seen);
        assert!(readiness.poll_ready(Direction::Read, &mut cx).is_ready());
        // Without an event in between the bit goes.
        let Poll::Ready(seen) = readiness.poll_ready(Direction::Read, &mut cx) else {
            panic!("not ready");
        };
        readiness.clear(Direction::Read, seen);
        assert!(readiness.poll_ready(Direction::Read, &mut cx).is_pending());
    }

    #[test]
    fn a_drained_stream_keeps_its_closed_and_error_bits() {
        let (_, waker) = waker();
        let mut cx = task::Context::from_waker(&waker);
        for (bits, direction) in [
            (READABLE | READ_CLOSED, Direction::Read),
            (READABLE | ERROR, Direction::Read),
            (WRITABLE | WRITE_CLOSED, Direction::Write),
        ] {
            let readiness = unready();
            readiness.set(bits);
            let Poll::Ready(seen) = readiness.poll_ready(direction, &mut cx) else {
                panic!("{bits:b} does not wake {direction:?}");
            };
            // A short read or write: the bytes are gone, the end is not.
            readiness.clear_ready(direction, seen);
            assert!(
                readiness.poll_ready(direction, &mut cx).is_ready(),
                "{bits:b}: the closed or error bit went with the ready one"
            );
        }
        // Without them, the next operation waits for the next event.
        let readiness = unready();
        readiness.set(READABLE | WRITABLE);
        let Poll::Ready(seen) = readiness.poll_ready(Direction::Read, &mut cx) else {
            panic!("not ready");
        };
        readiness.clear_ready(Direction::Read, seen);
        assert!(readiness.poll_ready(Direction::Read, &mut cx).is_pending());
        assert!(readiness.poll_ready(Direction::Write, &mut cx).is_ready());
    }

    #[test]
    fn a_stale_closed_or_error_bit_is_cleared_by_an_operation_that_would_block() {
        let (_, waker) = waker();
        let mut cx = task::Context::from_waker(&waker);
        // `EPOLLHUP` of a socket not connected yet, a taken error.
        for (bits, direction) in [
            (READ_CLOSED | WRITE_CLOSED, Direction::Read),
            (READ_CLOSED | WRITE_CLOSED, Direction::Write),
            (ERROR, Direction::Read),
            (ERROR, Direction::Write),
        ] {
            let readiness = unready();
            readiness.set(bits);
            let Poll::Ready(seen) = readiness.poll_ready(direction, &mut cx) else {
                panic!("{bits:b} does not wake {direction:?}");
            };
            // The operation got `EWOULDBLOCK`: it waits for the next event
            // instead of trying again at once, for ever.
            readiness.clear(direction, seen);
            assert!(
                readiness.poll_ready(direction, &mut cx).is_pending(),
                "{bits:b} still wakes {direction:?}"
            );
        }
    }
}
