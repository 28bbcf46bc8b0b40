//! The engine's per-thread state: one [`Context`] per thread, in one
//! thread-local, instead of a thread-local per need.
//!
//! Every runtime thread (worker, coordinator, synchronous actor) has one,
//! and so has any other thread that touches the engine (one that drops a
//! socket, say): its fields start empty and cost nothing until used. What
//! each field is for, and who may touch it, is said on the field; the
//! modules named there are the only ones that do.
//!
//! A worker fills in its part when it starts and empties it when it stops
//! through one guard, `WorkerThread` (`runtime/worker/worker_thread.rs`), whose
//! `Drop` also runs when the worker's loop panics, so a worker never leaves
//! anything registered behind it. A recording thread's trace log is set and
//! taken the same way (`runtime/trace.rs`), and so are a synchronous actor's
//! thread's timers (`runtime.rs`).
//!
//! All fields are `Cell`s or `RefCell`s: the context is only ever touched by
//! its own thread, and nothing holds a borrow across a call that could touch
//! the same field again (each module says why for its fields).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use a10::Ring;

use crate::runtime::ids::{NO_WAKER_ID, ProcessId, WakerId};
use crate::runtime::io::driver_id::DriverId;
use crate::runtime::io::uring::ledger::Ledger;
use crate::runtime::timers::Timers;
use crate::runtime::trace::log::ThreadLog;

/// The engine's state of one thread; see the [module docs](self).
pub(crate) struct Context {
    /// `wake`: the waker id of the worker running on this thread, or
    /// [`NO_WAKER_ID`]. A wake with this id takes the thread-local path.
    pub(crate) waker_id: Cell<WakerId>,
    /// `wake`: processes woken on this thread by wakers of this thread's
    /// worker, which the worker hands to its scheduler after every poll.
    pub(crate) woken: RefCell<Vec<ProcessId>>,
    /// `scheduler::shards`: the runtime (the address of its shards, 0 for
    /// none) and shard of the worker running on this thread.
    pub(crate) home_shard: Cell<(usize, usize)>,
    /// `wake::run_next`: the worker's run-next slot, see [`RunNextSlot`].
    pub(crate) run_next: RunNextSlot,
    /// `io`: what this thread did on the rings, see [`IoCounts`].
    pub(crate) io: IoCounts,
    /// `io`: the ring of the worker running on this thread, installed by
    /// `io::ring::WorkerRing`, so that an operation can submit it to make
    /// room for cancellations.
    pub(crate) worker_ring: RefCell<Option<Ring>>,
    /// `net::timeout`, for the read and write timeouts of sockets: the
    /// timers of the runtime this thread works for, see [`ThreadTimers`].
    /// Set and taken by `WorkerThread` on a worker, by the synchronous
    /// actor's guard (`runtime.rs`) on its thread; `None` elsewhere.
    pub(crate) timers: RefCell<Option<ThreadTimers>>,
    /// `trace`: this thread's recording, if it records.
    pub(crate) trace_log: RefCell<Option<ThreadLog>>,
    /// `trace`: the id of the actor running on this thread (0: none), for
    /// its user events; a `Cell` of its own, as it is set before every poll.
    pub(crate) trace_actor: Cell<u64>,
}

/// What one thread did on the rings; touched only by `runtime/io`.
pub(crate) struct IoCounts {
    /// Operations on a worker's ring waiting on this thread.
    pub(crate) pending: Cell<usize>,
    /// Set when a close or cancellation was queued on a worker's ring from
    /// this thread (a busy worker polls its ring then, even with no
    /// operation pending).
    pub(crate) unsubmitted: Cell<bool>,
    /// Operations (of either ring) submitted, completed and cancelled on
    /// this thread, for the metrics: submitted when they first wait,
    /// completed when they return a result after that, cancelled when
    /// dropped while waiting.
    pub(crate) submitted: Cell<u64>,
    pub(crate) completed: Cell<u64>,
    pub(crate) cancelled: Cell<u64>,
    /// This thread's entries on its worker's ring and on the shared ring.
    pub(crate) worker_ledger: Ledger,
    pub(crate) shared_ledger: Ledger,
    /// Set while this thread submits a ring to make room for cancellations.
    pub(crate) making_room: Cell<bool>,
    /// Operations on a poll instance in a row that did not wait, see
    /// `io::poll::fd`'s "A budget".
    pub(crate) ready_streak: Cell<u32>,
}

/// A worker's run-next slot: the thread-safe process last woken by the
/// thread-safe process running on this worker, which the worker runs next;
/// touched only by `wake::run_next` (see there).
pub(crate) struct RunNextSlot {
    /// The waker ids of the shards of this worker's runtime, indexed by
    /// shard; empty off workers. Set and cleared by `WorkerThread`.
    pub(crate) shards: RefCell<Vec<WakerId>>,
    /// Set while a thread-safe process runs on this worker: wakes of the
    /// processes of `shards` are held in `held` meanwhile.
    pub(crate) open: Cell<bool>,
    /// The shard and process id of the last wake held.
    pub(crate) held: Cell<Option<(usize, ProcessId)>>,
}

/// The timers a socket's timeout uses on a runtime thread; touched only by
/// `net::timeout` (and set as said on [`Context::timers`]).
pub(crate) struct ThreadTimers {
    /// On a worker: its ring or poll instance (whose sockets' timers go in
    /// its wheel) and its own timing wheel, reached with no lock.
    pub(crate) worker: Option<(DriverId, Rc<dyn Timers>)>,
    /// The runtime's shared timers, for every other socket.
    pub(crate) shared: Arc<dyn Timers + Send + Sync>,
}

impl Context {
    const fn new() -> Context {
        Context {
            waker_id: Cell::new(NO_WAKER_ID),
            woken: RefCell::new(Vec::new()),
            home_shard: Cell::new((0, 0)),
            run_next: RunNextSlot {
                shards: RefCell::new(Vec::new()),
                open: Cell::new(false),
                held: Cell::new(None),
            },
            io: IoCounts {
                pending: Cell::new(0),
                unsubmitted: Cell::new(false),
                submitted: Cell::new(0),
                completed: Cell::new(0),
                cancelled: Cell::new(0),
                worker_ledger: Ledger::new(),
                shared_ledger: Ledger::new(),
                making_room: Cell::new(false),
                ready_streak: Cell::new(0),
            },
            worker_ring: RefCell::new(None),
            timers: RefCell::new(None),
            trace_log: RefCell::new(None),
            trace_actor: Cell::new(0),
        }
    }
}

thread_local! {
    static CONTEXT: Context = const { Context::new() };
}

/// Runs `f` with this thread's context.
///
/// # Panics
///
/// While the thread's thread-locals are being destroyed; use [`try_with`]
/// where that can happen (a drop).
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&Context) -> R) -> R {
    CONTEXT.with(f)
}

/// Runs `f` with this thread's context, or returns `None` once the thread's
/// thread-locals are being destroyed.
#[inline]
pub(crate) fn try_with<R>(f: impl FnOnce(&Context) -> R) -> Option<R> {
    CONTEXT.try_with(f).ok()
}
