//! The io_uring driver: how an I/O operation meets the runtime. Which ring it
//! goes to ([`IoRing`], in [`ring`]), the wrapper ([`Op`](op::Op), in [`op`]) every
//! kiln-rt I/O future goes through, the room it keeps in the ring's
//! submission queue for cancellations (each thread's
//! [`Ledger`](ledger::Ledger)s, in [`ledger`]), and how another thread wakes a ring's owner
//! ([`ring_waker`]).
//!
//! # Two kinds of rings
//!
//! - A **worker's ring**, for thread-local actors. The worker polls it when
//!   it sleeps (blocking until I/O completes, a timer expires or another
//!   thread wakes it). A worker with ready work must not make a waiting
//!   kernel call, yet it must not starve I/O either: while busy it polls its
//!   ring only if an operation of this thread is pending (or a close or
//!   cancellation was queued), and then at most once per
//!   `Tuning::io_poll_interval`. The pending count is what [`Op`](op::Op)
//!   keeps, in a thread-local counter: incremented when an operation first
//!   returns `Pending`, decremented when it completes or is dropped. The
//!   worker installs its ring in its thread's
//!   [context](crate::runtime::context) through a [`WorkerRing`] and polls it
//!   through that, so that an operation can submit it too (see below).
//! - The **shared ring** of the runtime, for thread-safe and synchronous
//!   actors: the coordinator thread polls it, and completions wake the
//!   processes on whichever worker is free. An operation queued on it is
//!   only seen by the kernel when the ring is entered, and only the
//!   coordinator enters it (see [`ring_waker`] for why),
//!   so [`Op`](op::Op) *kicks* the coordinator after the operation is queued; its
//!   next poll submits the queue.
//!
//! # Room for cancellations
//!
//! Dropping an operation's a10 future while the kernel runs the operation
//! queues its cancellation (`IORING_OP_ASYNC_CANCEL`), and a10 0.4.3 skips
//! it, logging at debug level, when the submission queue is full. The
//! operation then runs on: a receive keeps its socket open in the kernel
//! although its descriptor was closed, and its peer never sees the end of
//! the stream. A burst of drops in one actor turn (an idle timeout firing
//! for a thousand connections) fills the 1,024-entry queue by itself, since
//! nothing enters the ring during the turn. So the submission queue must
//! have room *before* an a10 future is dropped.
//!
//! a10 shows neither how full the queue is nor whether a [`Ring::poll`]
//! entered the kernel (it does not when completions are waiting, and only
//! entering submits the queue). So each thread keeps a [`Ledger`](ledger::Ledger) per kind
//! of ring: how many entries it may have queued on it, and up to which of
//! them the kernel is known to have taken them all. An entry is counted
//! (a thread-local increment, no atomic) when an operation first returns
//! `Pending`, when it is polled again while pending (a multi-step operation
//! such as `send_all` queues its next step then), when it is dropped while
//! pending (its cancellation) and when an I/O type is dropped (its close,
//! counted by the [`FdRing`] the type holds after its descriptor).
//! Completions prove submissions for free: the kernel takes the queue in
//! order, so once an operation of this thread completes, every entry this
//! thread counted up to the operation's first one was submitted. When the
//! entries not known to be submitted reach a limit (half the queue for a
//! worker's ring, a quarter per thread for the shared ring) as an operation
//! is queued or cancelled or an I/O type closed, [`IoRing::make_room`]
//! submits the ring from the thread that counts, and proves it with a
//! canary: an operation that fails as soon as the kernel reads it (`openat`
//! of the empty path: `ENOENT`, no descriptor, no file touched). It polls
//! the ring until the canary completes: a worker its own ring; the shared
//! ring if the coordinator is not polling it, else it wakes the
//! coordinator, whose poll enters the ring. A dropped [`Op`](op::Op) counts its
//! cancellation and makes room *before* its a10 future is dropped, so the
//! cancellation always finds a slot: what the ledgers do not count (another
//! thread's wake-up) is far less than the other half of the queue.
//!
//! The normal case costs a few thread-local reads and writes per operation.
//! A ring is submitted from an operation only after hundreds of entries
//! without a completion: in the burst above about once per 512 entries
//! (four times when 1,024 receives and their sockets are dropped in one
//! turn), each time a poll or two that mostly does the cancellations' work.
//! Polling an operation again never submits the ring, so a local message
//! send never touches io_uring. On the shared ring the ledgers are per
//! thread: several threads that each queue up to a quarter of the queue on
//! it while the coordinator does not get to submit it could still fill it.

use a10::Ring;

pub(crate) mod ledger;
pub(crate) mod op;
pub(crate) mod ring;
pub(crate) mod ring_waker;
pub(crate) mod rw;

pub(crate) use op::MultishotGuard;
pub(crate) use ring::{FdRing, IoRing, WorkerRing, io_counts, io_work_on_this_thread};

/// Submission queue entries of each ring. a10's default (32) fills up under
/// a burst of I/O (a server's worth of receives queued between two polls);
/// a full queue costs extra kernel entries, and would make a10 skip
/// cancellations if operations did not keep room for them (see [`op`]).
/// 1,024 entries take about 96 KiB per ring (submissions and twice as many
/// completions).
pub(crate) const RING_ENTRIES: u32 = 1024;

/// A ring for a worker or the coordinator.
pub(crate) fn new_ring() -> std::io::Result<Ring> {
    Ring::config()
        .with_submission_queue_size(RING_ENTRIES)
        .build()
}
