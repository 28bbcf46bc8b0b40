//! How an I/O operation meets the runtime: which ring it goes to
//! ([`IoRing`]), the wrapper ([`Op`]) every kiln-rt I/O future goes
//! through, and the room it keeps in the ring's submission queue for
//! cancellations.
//!
//! # Two kinds of rings
//!
//! - A **worker's ring**, for thread-local actors. The worker polls it when
//!   it sleeps (blocking until I/O completes, a timer expires or another
//!   thread wakes it). A worker with ready work must not make a waiting
//!   kernel call, yet it must not starve I/O either: while busy it polls its
//!   ring only if an operation of this thread is pending (or a close or
//!   cancellation was queued), and then at most once per
//!   `Tuning::io_poll_interval`. The pending count is what [`Op`]
//!   keeps, in a thread-local counter: incremented when an operation first
//!   returns `Pending`, decremented when it completes or is dropped. The
//!   worker hands its ring to this module ([`set_worker_ring`]) and polls it
//!   through [`poll_worker_ring`], so that an operation can submit it too
//!   (see below).
//! - The **shared ring** of the runtime, for thread-safe and synchronous
//!   actors: the coordinator thread polls it, and completions wake the
//!   processes on whichever worker is free. An operation queued on it is
//!   only seen by the kernel when the ring is entered, and only the
//!   coordinator enters it (see [`ring_waker`](crate::runtime::io::ring_waker) for why),
//!   so [`Op`] *kicks* the coordinator after the operation is queued; its
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
//! entering submits the queue). So each thread keeps a [`Ledger`] per kind
//! of ring: how many entries it may have queued on it, and up to which of
//! them the kernel is known to have taken them all. An entry is counted
//! (a thread-local increment, no atomic) when an operation first returns
//! `Pending`, when it is polled again while pending (a multi-step operation
//! such as `send_all` queues its next step then), when it is dropped while
//! pending (its cancellation) and when an I/O type is dropped (its close).
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
//! coordinator, whose poll enters the ring. A dropped [`Op`] counts its
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

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use std::task::{self, Poll, Waker};
use std::thread::{self, LocalKey};
use std::time::{Duration, Instant};

use a10::{Ring, SubmissionQueue};
use log::{debug, warn};
use pin_project_lite::pin_project;

use crate::runtime::io::RING_ENTRIES;
use crate::runtime::io::ring_waker::RingWaker;

/// The ring an I/O source submits its operations to.
#[derive(Clone, Debug)]
pub(crate) struct IoRing {
    sq: SubmissionQueue,
    /// For the runtime's shared ring (polled by the coordinator). `None` for
    /// a worker's ring.
    shared: Option<Arc<SharedRing>>,
}

/// The runtime's shared ring, as the threads that queue operations on it
/// see it.
#[derive(Debug)]
struct SharedRing {
    /// Wakes the coordinator to submit queued operations.
    kick: Arc<RingWaker>,
    /// The ring, which the coordinator owns and polls. Other threads poll it
    /// only to make room (see [`IoRing::make_room`]), when the coordinator
    /// is not polling it.
    ring: Weak<Mutex<Ring>>,
}

impl IoRing {
    /// A worker's ring.
    pub(crate) const fn worker(sq: SubmissionQueue) -> IoRing {
        IoRing { sq, shared: None }
    }

    /// The runtime's shared ring `ring` (with submission queue `sq`), polled
    /// by the thread `kick` wakes.
    pub(crate) fn shared(
        sq: SubmissionQueue,
        kick: Arc<RingWaker>,
        ring: Weak<Mutex<Ring>>,
    ) -> IoRing {
        IoRing {
            sq,
            shared: Some(Arc::new(SharedRing { kick, ring })),
        }
    }

    /// The submission queue, to create a10 types on this ring.
    pub(crate) fn sq(&self) -> SubmissionQueue {
        self.sq.clone()
    }

    /// Wraps an a10 operation on this ring.
    pub(crate) const fn op<F>(&self, op: F) -> Op<'_, F> {
        Op {
            op,
            state: OpState {
                ring: self,
                queued: None,
            },
        }
    }

    /// This thread's ledger of this kind of ring.
    fn ledger(&self) -> &'static LocalKey<Ledger> {
        if self.shared.is_some() {
            &SHARED_LEDGER
        } else {
            &WORKER_LEDGER
        }
    }

    /// The most entries not known to be submitted this thread lets its
    /// ledger of this ring show, see the module docs.
    const fn limit(&self) -> u64 {
        if self.shared.is_some() {
            RING_ENTRIES as u64 / 4
        } else {
            RING_ENTRIES as u64 / 2
        }
    }

    /// Counts an entry this thread (may have) queued on this ring and makes
    /// room if the ledger reaches the limit; returns the entry's stamp (0
    /// while the thread is exiting).
    fn count_entry(&self) -> u64 {
        self.ledger()
            .try_with(|ledger| {
                let stamp = ledger.count();
                if ledger.unsubmitted() >= self.limit() {
                    self.make_room(ledger);
                }
                stamp
            })
            .unwrap_or(0)
    }

    /// Submits this ring and waits until the kernel has taken every entry
    /// this thread counted, see the module docs.
    #[cold]
    fn make_room(&self, ledger: &Ledger) {
        /// Clears `MAKING_ROOM` when dropped, also on a panic.
        struct Done;
        impl Drop for Done {
            fn drop(&mut self) {
                MAKING_ROOM.set(false);
            }
        }
        if MAKING_ROOM.replace(true) {
            // Called from the completions a poll below processes (a
            // resource's drop): that poll submits the ring.
            return;
        }
        let done = Done;
        let counted = ledger.counted.get();
        let start = Instant::now();
        let rounds = match &self.shared {
            None => submit_worker_ring(&self.sq),
            Some(shared) => submit_shared_ring(&self.sq, shared),
        };
        drop(done);
        match rounds {
            Some(rounds) => {
                ledger.submitted_up_to(counted);
                debug!(
                    "submitted the {} ring to make room for cancellations ({rounds} polls, {:?})",
                    if self.shared.is_some() {
                        "shared"
                    } else {
                        "worker's"
                    },
                    start.elapsed(),
                );
            }
            None => debug!("could not submit the ring to make room for cancellations"),
        }
    }

    /// Called after an operation was (possibly) queued on this ring; returns
    /// its stamp.
    fn queued(&self) -> u64 {
        count(&SUBMITTED);
        let stamp = self.count_entry();
        match &self.shared {
            // The coordinator's next poll submits the operation.
            Some(shared) => shared.kick.wake(),
            None => PENDING.with(|pending| pending.set(pending.get() + 1)),
        }
        stamp
    }

    /// Called when an operation that was queued is polled again while
    /// pending: a multi-step operation (`send_all`, `recv_n`) may have
    /// queued its next step, a restarted one its entry again. Counted, but
    /// never a reason to submit the ring: most of these polls queue nothing
    /// (a message woke the actor), and a local message must not cost a
    /// system call.
    fn requeued(&self) {
        let _ = self.ledger().try_with(Ledger::count);
        if let Some(shared) = &self.shared {
            shared.kick.wake();
        }
    }

    /// Called when an operation queued with `stamp` completed: the kernel
    /// has taken its entry, and every entry this thread counted before it.
    fn completed(&self, stamp: u64) {
        let _ = self
            .ledger()
            .try_with(|ledger| ledger.submitted_up_to(stamp));
        self.left();
    }

    /// Called once an operation that was `queued` completed or was dropped.
    fn left(&self) {
        if self.shared.is_none() {
            PENDING.with(|pending| pending.set(pending.get().saturating_sub(1)));
        }
    }

    /// Called when an operation is dropped before it completed, after a10
    /// queued its cancellation.
    fn cancelled(&self) {
        count(&CANCELLED);
        match &self.shared {
            Some(shared) => shared.kick.wake(),
            None => UNSUBMITTED.with(|unsubmitted| unsubmitted.set(true)),
        }
    }
}

/// Dropping an I/O type (a socket, a file) queues its asynchronous close
/// (a10 does that; with the queue full it closes the descriptor at once),
/// and dropping a pending operation queues its cancellation: the ring must
/// be entered for them to happen. For the shared ring that means waking the
/// coordinator; a worker notes it, so that a busy worker polls its ring even
/// if no operation is pending. The close counts as an entry.
impl Drop for IoRing {
    fn drop(&mut self) {
        let _ = self.count_entry();
        match &self.shared {
            Some(shared) => shared.kick.wake(),
            None => {
                let _ = UNSUBMITTED.try_with(|unsubmitted| unsubmitted.set(true));
            }
        }
    }
}

/// The longest [`IoRing::make_room`] waits for the kernel to take its
/// canary: far longer than it takes unless the ring's poller is stuck.
const MAKE_ROOM_TIMEOUT: Duration = Duration::from_secs(1);

/// Submits this thread's worker ring if `sq` is its queue; returns the
/// polls it took, or `None` if it could not.
fn submit_worker_ring(sq: &SubmissionQueue) -> Option<u32> {
    WORKER_RING
        .try_with(|ring| {
            // Borrowed: this runs in the completions the worker's poll
            // processes.
            let mut ring = ring.try_borrow_mut().ok()?;
            let ring = ring.as_mut().filter(|ring| ring.sq() == *sq)?;
            until_taken(sq, || ring.poll(Some(Duration::ZERO)))
        })
        .ok()
        .flatten()
}

/// Submits the shared ring `sq` from this thread, or has the coordinator
/// submit it; returns the polls it took, or `None` if it could not.
fn submit_shared_ring(sq: &SubmissionQueue, shared: &SharedRing) -> Option<u32> {
    // Gone once the runtime stopped: nothing submits the ring any more.
    let ring = shared.ring.upgrade()?;
    until_taken(sq, || {
        let poll = |mut ring: MutexGuard<'_, Ring>| {
            let result = ring.poll(Some(Duration::ZERO));
            drop(ring);
            // So that the coordinator looks at what the poll completed (a
            // signal).
            shared.kick.wake();
            result
        };
        match ring.try_lock() {
            Ok(ring) => poll(ring),
            // A panic while polling (a buffer's drop) leaves the ring usable.
            Err(TryLockError::Poisoned(ring)) => poll(ring.into_inner()),
            // The coordinator is polling it: the wake-up enters the ring (or
            // ends the poll, and the coordinator's next poll enters it).
            Err(TryLockError::WouldBlock) => {
                shared.kick.wake();
                thread::yield_now();
                Ok(())
            }
        }
    })
}

/// Queues the canary (see the module docs) on `sq` and calls `poll` until
/// the kernel completed it, which proves that it took every entry queued
/// before it; returns the calls it took, or `None` on an error or after
/// [`MAKE_ROOM_TIMEOUT`].
fn until_taken(sq: &SubmissionQueue, mut poll: impl FnMut() -> io::Result<()>) -> Option<u32> {
    // The kernel rejects the empty path when it reads the entry (ENOENT);
    // if the queue is full, a10 queues it once a poll made room.
    let mut canary = pin!(a10::fs::open_file(sq.clone(), PathBuf::new()));
    let mut cx = task::Context::from_waker(Waker::noop());
    let start = Instant::now();
    let mut polls = 0;
    loop {
        if canary.as_mut().poll(&mut cx).is_ready() {
            return Some(polls);
        }
        if let Err(err) = poll() {
            warn!("can't poll the ring to make room for cancellations: {err}");
            return None;
        }
        polls += 1;
        if start.elapsed() >= MAKE_ROOM_TIMEOUT {
            warn!("the ring was not submitted in time to make room for cancellations");
            return None;
        }
    }
}

/// What one thread queued on one kind of ring, see the module docs.
///
/// Stamps are per thread: each ledger starts at a base of its own (on its
/// first count), so a stamp from another thread (a thread-safe operation
/// queued on one worker that completes on another) is out of this ledger's
/// range and ignored.
#[derive(Debug)]
struct Ledger {
    /// Entries this thread may have queued on the ring (plus the base).
    counted: Cell<u64>,
    /// Every entry counted up to this number was submitted.
    submitted: Cell<u64>,
}

impl Ledger {
    const fn new() -> Ledger {
        Ledger {
            counted: Cell::new(0),
            submitted: Cell::new(0),
        }
    }

    /// Counts an entry; returns its stamp.
    fn count(&self) -> u64 {
        let mut counted = self.counted.get();
        if counted == 0 {
            // 2^24 thread ledgers of 2^40 entries each.
            static NEXT_BASE: AtomicU64 = AtomicU64::new(1);
            counted = NEXT_BASE.fetch_add(1, Ordering::Relaxed) << 40;
            self.submitted.set(counted);
        }
        counted += 1;
        self.counted.set(counted);
        counted
    }

    /// The entry with `stamp` and every one counted before it were
    /// submitted (ignored if `stamp` is not this ledger's).
    fn submitted_up_to(&self, stamp: u64) {
        if stamp > self.submitted.get() && stamp <= self.counted.get() {
            self.submitted.set(stamp);
        }
    }

    /// Entries counted but not known to be submitted.
    fn unsubmitted(&self) -> u64 {
        self.counted.get() - self.submitted.get()
    }
}

thread_local! {
    /// Number of operations on a worker's ring waiting on this thread.
    static PENDING: Cell<usize> = const { Cell::new(0) };
    /// Set when a close or cancellation was queued on a worker's ring from
    /// this thread, see `Drop for IoRing`.
    static UNSUBMITTED: Cell<bool> = const { Cell::new(false) };
    /// Operations (of either ring) submitted, completed and cancelled on this
    /// thread, for the metrics: submitted when they first wait, completed
    /// when they return a result after that, cancelled when dropped while
    /// waiting.
    static SUBMITTED: Cell<u64> = const { Cell::new(0) };
    static COMPLETED: Cell<u64> = const { Cell::new(0) };
    static CANCELLED: Cell<u64> = const { Cell::new(0) };
    /// This thread's entries on its worker's ring and on the shared ring.
    static WORKER_LEDGER: Ledger = const { Ledger::new() };
    static SHARED_LEDGER: Ledger = const { Ledger::new() };
    /// Set while [`IoRing::make_room`] runs on this thread.
    static MAKING_ROOM: Cell<bool> = const { Cell::new(false) };
    /// The ring of the worker running on this thread, see
    /// [`set_worker_ring`].
    static WORKER_RING: RefCell<Option<Ring>> = const { RefCell::new(None) };
}

fn count(counter: &'static LocalKey<Cell<u64>>) {
    counter.with(|n| n.set(n.get().wrapping_add(1)));
}

/// The operations submitted, completed and cancelled on this thread.
pub(crate) fn io_counts() -> (u64, u64, u64) {
    (
        SUBMITTED.with(Cell::get),
        COMPLETED.with(Cell::get),
        CANCELLED.with(Cell::get),
    )
}

/// Whether a busy worker has a reason to poll its ring: an operation of this
/// thread is pending, or a close or cancellation is queued.
pub(crate) fn io_work_on_this_thread() -> bool {
    PENDING.with(Cell::get) != 0 || UNSUBMITTED.with(Cell::get)
}

/// The worker is about to poll (and so submit) its ring.
pub(crate) fn polling_ring_on_this_thread() {
    UNSUBMITTED.with(|unsubmitted| unsubmitted.set(false));
}

/// Hands the ring of the worker starting on this thread to this module: the
/// worker polls it with [`poll_worker_ring`], and operations on it can
/// submit it to make room (see the module docs).
pub(crate) fn set_worker_ring(ring: Ring) {
    WORKER_RING.with(|worker_ring| *worker_ring.borrow_mut() = Some(ring));
}

/// Takes back the ring [`set_worker_ring`] handed over, to drop it.
pub(crate) fn take_worker_ring() -> Option<Ring> {
    WORKER_RING.with(|ring| ring.borrow_mut().take())
}

/// Polls this thread's worker ring (see [`a10::Ring::poll`]).
pub(crate) fn poll_worker_ring(timeout: Option<Duration>) -> io::Result<()> {
    WORKER_RING.with(|ring| match ring.borrow_mut().as_mut() {
        Some(ring) => ring.poll(timeout),
        None => Err(io::Error::other("no worker ring on this thread")),
    })
}

pin_project! {
    /// An a10 future (`F`) tracked by the runtime, see the module docs.
    #[must_use = "futures do nothing unless polled"]
    pub(crate) struct Op<'r, F> {
        // Dropped before `state`: dropping a pending a10 operation queues its
        // cancellation, which `state`'s drop then has the ring submit.
        #[pin]
        op: F,
        state: OpState<'r>,
    }

    impl<'r, F> PinnedDrop for Op<'r, F> {
        fn drop(this: Pin<&mut Self>) {
            // Before `op` is dropped: counts its cancellation and makes sure
            // the submission queue has room for it.
            let state = this.project().state;
            if state.queued.is_some() {
                let _ = state.ring.count_entry();
            }
        }
    }
}

/// The runtime's side of an [`Op`].
struct OpState<'r> {
    ring: &'r IoRing,
    /// While counted as pending (returned `Pending` at least once, not
    /// done): the stamp of its first entry in this thread's ledger.
    queued: Option<u64>,
}

impl Drop for OpState<'_> {
    fn drop(&mut self) {
        if self.queued.is_some() {
            self.ring.left();
            self.ring.cancelled();
        }
    }
}

impl<F: Future> Future for Op<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let state = this.state;
        match this.op.poll(cx) {
            Poll::Ready(output) => {
                if let Some(stamp) = state.queued.take() {
                    count(&COMPLETED);
                    state.ring.completed(stamp);
                }
                Poll::Ready(output)
            }
            Poll::Pending => {
                if state.queued.is_some() {
                    state.ring.requeued();
                } else {
                    state.queued = Some(state.ring.queued());
                }
                Poll::Pending
            }
        }
    }
}

/// Tracks a multishot operation (a stream of completions) like [`Op`]:
/// counted as pending from its first `Pending` until dropped. Its owner
/// drops the a10 operation before the guard, so the guard counts the
/// cancellation after a10 queued it; the room the limit keeps (see the
/// module docs) is what lets it be queued.
#[derive(Debug)]
pub(crate) struct MultishotGuard {
    ring: IoRing,
    /// The stamp of its first entry while counted as pending.
    queued: Option<u64>,
}

impl MultishotGuard {
    pub(crate) const fn new(ring: IoRing) -> MultishotGuard {
        MultishotGuard { ring, queued: None }
    }

    /// Call with the result of each `poll_next`.
    pub(crate) fn polled<T>(&mut self, poll: &Poll<Option<T>>) {
        match poll {
            Poll::Pending if self.queued.is_none() => {
                self.queued = Some(self.ring.queued());
            }
            Poll::Pending => self.ring.requeued(),
            Poll::Ready(None) => {
                if let Some(stamp) = self.queued.take() {
                    count(&COMPLETED);
                    self.ring.completed(stamp);
                }
            }
            Poll::Ready(Some(_)) => {}
        }
    }
}

impl Drop for MultishotGuard {
    fn drop(&mut self) {
        if self.queued.is_some() {
            let _ = self.ring.count_entry();
            self.ring.left();
            self.ring.cancelled();
        }
    }
}
