//! [`IoRing`]: the handle to a ring that I/O types and operations hold, and
//! how a thread makes room in a ring's submission queue; [`FdRing`], the
//! ring as an open descriptor holds it (its drop tells the ring a close was
//! queued); [`WorkerRing`], a worker's own ring in its thread's context. The
//! design is in the [`io`](super) docs.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use std::task::{self, Waker};
use std::thread;
use std::time::{Duration, Instant};

use a10::{Ring, SubmissionQueue};
use log::{debug, warn};

use crate::runtime::context::{self, Context};
use crate::runtime::io::RING_ENTRIES;
use crate::runtime::io::driver_id::DriverId;
use crate::runtime::io::uring::ledger::Ledger;
use crate::runtime::io::uring::ring_waker::RingWaker;

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

    /// Which ring this is.
    pub(crate) fn id(&self) -> DriverId {
        DriverId::Uring(self.sq.clone())
    }

    /// Whether this is the ring `id`.
    pub(crate) fn is(&self, id: &DriverId) -> bool {
        matches!(id, DriverId::Uring(sq) if self.sq == *sq)
    }

    /// This thread's ledger of this kind of ring.
    fn ledger<'c>(&self, cx: &'c Context) -> &'c Ledger {
        if self.shared.is_some() {
            &cx.io.shared_ledger
        } else {
            &cx.io.worker_ledger
        }
    }

    /// The most entries not known to be submitted this thread lets its
    /// ledger of this ring show, see the [`io`](super) docs.
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
    pub(crate) fn count_entry(&self) -> u64 {
        context::try_with(|cx| {
            let ledger = self.ledger(cx);
            let stamp = ledger.count();
            if ledger.unsubmitted() >= self.limit() {
                self.make_room(cx, ledger);
            }
            stamp
        })
        .unwrap_or(0)
    }

    /// Submits this ring and waits until the kernel has taken every entry
    /// this thread counted, see the [`io`](super) docs.
    #[cold]
    fn make_room(&self, cx: &Context, ledger: &Ledger) {
        /// Clears `making_room` when dropped, also on a panic.
        struct Done<'c>(&'c Cell<bool>);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        if cx.io.making_room.replace(true) {
            // Called from the completions a poll below processes (a
            // resource's drop): that poll submits the ring.
            return;
        }
        let done = Done(&cx.io.making_room);
        let counted = ledger.counted.get();
        let start = Instant::now();
        let rounds = match &self.shared {
            None => submit_worker_ring(cx, &self.sq),
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
    pub(crate) fn queued(&self) -> u64 {
        context::with(|cx| increment(&cx.io.submitted));
        let stamp = self.count_entry();
        match &self.shared {
            // The coordinator's next poll submits the operation.
            Some(shared) => shared.kick.wake(),
            None => context::with(|cx| cx.io.pending.set(cx.io.pending.get() + 1)),
        }
        stamp
    }

    /// Called when an operation that was queued is polled again while
    /// pending: a multi-step operation (`send_all`, `recv_n`) may have
    /// queued its next step, a restarted one its entry again. Counted, but
    /// never a reason to submit the ring: most of these polls queue nothing
    /// (a message woke the actor), and a local message must not cost a
    /// system call.
    pub(crate) fn requeued(&self) {
        let _ = context::try_with(|cx| self.ledger(cx).count());
        if let Some(shared) = &self.shared {
            shared.kick.wake();
        }
    }

    /// Called when an operation queued with `stamp` completed: the kernel
    /// has taken its entry, and every entry this thread counted before it.
    pub(crate) fn completed(&self, stamp: u64) {
        let _ = context::try_with(|cx| {
            increment(&cx.io.completed);
            self.ledger(cx).submitted_up_to(stamp);
        });
        self.left();
    }

    /// Called once an operation that was `queued` completed or was dropped.
    pub(crate) fn left(&self) {
        if self.shared.is_none() {
            let _ =
                context::try_with(|cx| cx.io.pending.set(cx.io.pending.get().saturating_sub(1)));
        }
    }

    /// Called when an operation is dropped before it completed, after a10
    /// queued its cancellation.
    pub(crate) fn cancelled(&self) {
        let _ = context::try_with(|cx| increment(&cx.io.cancelled));
        self.closing_queued();
    }

    /// A close or cancellation was queued on this ring: it must be entered
    /// for it to happen. For the shared ring that means waking the
    /// coordinator; a worker notes it, so that a busy worker polls its ring
    /// even if no operation is pending.
    fn closing_queued(&self) {
        match &self.shared {
            Some(shared) => shared.kick.wake(),
            None => {
                let _ = context::try_with(|cx| cx.io.unsubmitted.set(true));
            }
        }
    }
}

/// The ring an open descriptor is on, as an I/O type (a socket, a file, a
/// pipe) holds it: dropping it tells the ring that a close was queued.
///
/// Dropping an a10 `AsyncFd` queues its asynchronous close (a10 does that;
/// with the queue full it closes the descriptor at once), which happens only
/// once the ring is entered. So an I/O type holds its ring as an `FdRing`
/// declared *after* its descriptor: the descriptor drops first (queuing the
/// close), then the `FdRing` counts the close as an entry and has the ring's
/// owner enter the ring. A plain [`IoRing`] means nothing when dropped; this
/// type is the only thing that counts closes.
#[derive(Debug)]
pub(crate) struct FdRing {
    ring: IoRing,
}

impl FdRing {
    /// `ring`, for a descriptor that is (to be) opened on it.
    pub(crate) const fn new(ring: IoRing) -> FdRing {
        FdRing { ring }
    }
}

impl std::ops::Deref for FdRing {
    type Target = IoRing;

    fn deref(&self) -> &IoRing {
        &self.ring
    }
}

impl Drop for FdRing {
    fn drop(&mut self) {
        let _ = self.ring.count_entry();
        self.ring.closing_queued();
    }
}

/// A worker's ring, installed in the thread's [context](crate::runtime::context)
/// for as long as this guard (owned by the worker) lives, so that operations
/// on it can submit it to make room for cancellations; taken out and dropped
/// with the guard.
pub(crate) struct WorkerRing(());

impl WorkerRing {
    /// Installs `ring` as this thread's worker ring.
    pub(crate) fn install(ring: Ring) -> WorkerRing {
        context::with(|cx| *cx.worker_ring.borrow_mut() = Some(ring));
        WorkerRing(())
    }

    /// Polls the ring (see [`a10::Ring::poll`]): processes completions,
    /// waiting at most `timeout` for one.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> io::Result<()> {
        context::with(|cx| {
            // Polled here and nowhere else while the worker runs: an
            // operation's `make_room` only submits it while this is not
            // borrowed (see `submit_worker_ring`).
            cx.io.unsubmitted.set(false);
            match cx.worker_ring.borrow_mut().as_mut() {
                Some(ring) => ring.poll(timeout),
                None => Err(io::Error::other("no worker ring on this thread")),
            }
        })
    }
}

impl Drop for WorkerRing {
    fn drop(&mut self) {
        let ring = context::try_with(|cx| cx.worker_ring.borrow_mut().take()).flatten();
        drop(ring);
    }
}

/// The longest [`IoRing::make_room`] waits for the kernel to take its
/// canary: far longer than it takes unless the ring's poller is stuck.
const MAKE_ROOM_TIMEOUT: Duration = Duration::from_secs(1);

/// Submits this thread's worker ring if `sq` is its queue; returns the
/// polls it took, or `None` if it could not.
fn submit_worker_ring(cx: &Context, sq: &SubmissionQueue) -> Option<u32> {
    // Borrowed: this runs in the completions the worker's poll processes.
    let mut ring = cx.worker_ring.try_borrow_mut().ok()?;
    let ring = ring.as_mut().filter(|ring| ring.sq() == *sq)?;
    until_taken(sq, || ring.poll(Some(Duration::ZERO)))
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

/// Queues the canary (see the [`io`](super) docs) on `sq` and calls `poll` until
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

fn increment(counter: &Cell<u64>) {
    counter.set(counter.get().wrapping_add(1));
}

/// The operations submitted, completed and cancelled on this thread.
pub(crate) fn io_counts() -> (u64, u64, u64) {
    context::with(|cx| {
        (
            cx.io.submitted.get(),
            cx.io.completed.get(),
            cx.io.cancelled.get(),
        )
    })
}

/// Whether a busy worker has a reason to poll its ring: an operation of this
/// thread is pending, or a close or cancellation is queued.
pub(crate) fn io_work_on_this_thread() -> bool {
    context::with(|cx| cx.io.pending.get() != 0 || cx.io.unsubmitted.get())
}
