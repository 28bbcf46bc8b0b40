//! The run-next slot: a thread-safe process woken by the thread-safe process
//! running on a worker runs next on that worker (tokio's "LIFO slot").
//!
//! # Why
//!
//! Two thread-safe actors passing messages (a ping-pong, an RPC, a chain)
//! used to wake each other through their shards: every wake took the waker
//! registry's read lock, the woken process's shard lock (to mark it ready),
//! and read every worker's `sleeping` flag with a read-modify-write; a
//! sleeping worker was woken (an `eventfd` write) and then raced the waking
//! worker for the process, so the pair ran on either worker, a cache line's
//! trip between cores for each message. `kiln-bench --only W1c` (main at
//! 9d4f7ac, quiet machine): 444 ns a round trip against tokio's 293.
//!
//! # How
//!
//! While a worker polls a thread-safe process the slot in its
//! [context](crate::runtime::context) is *open*: a wake of a process of one
//! of its runtime's shards on this thread is *held* there (a store; no
//! lock, no atomic), not delivered. A second wake in the same poll takes the
//! slot and the one it displaces is delivered as before (a fan-out keeps
//! its parallelism: the other workers get the rest). After the poll the
//! worker (`runtime/worker.rs`) takes the held process out of its shard and
//! runs it next, under the shard's lock as any run (`Shards::take_woken`):
//! if the process is waiting it is taken to run at once, without going
//! through the ready queue; if it is running on another worker or already
//! ready, the wake is applied as a normal one and the worker takes its next
//! process as usual.
//!
//! Fairness: at most [`MAX_STREAK`] processes in a row run from the slot
//! (tokio's `MAX_LIFO_POLLS_PER_TICK`, 3, picked there "out of thin air"),
//! so that two processes waking each other cannot keep the others of the
//! shards waiting: the next one held is marked ready in its shard and the
//! worker takes the process with the least virtual run time, as without the
//! slot. A process waking itself (a yield) is never run from the slot: its
//! wake is delivered as before, so it goes behind the others.
//!
//! Other workers: a held wake is invisible to them, but only for the rest
//! of the poll that made it. At the end of every poll the worker either
//! runs the held process or marks it ready in its shard, where any worker
//! can steal it; and it wakes a sleeping worker for it (as a normal wake
//! does) when it leaves its thread-safe batch with thread-local work ready,
//! which may keep it busy for up to a time slice. Otherwise it does not:
//! the worker is about to take the process itself, and waking a worker to
//! race it for the process is the cost the slot removes. A process marked
//! ready without waking a worker is not lost: the worker that marked it
//! looks at every shard under their locks before it sleeps.
//!
//! Not done: holding wakes made by thread-local processes (a thread-safe
//! process they wake runs after them on their worker within the balance of
//! `scheduler/balance.rs`, see there) or made outside a poll (a process's
//! drop); a slot that other workers can steal from while the waking poll
//! still runs (a poll that sends and then blocks its thread waiting for the
//! reply holds the reply's actor with it: blocking in a poll is not
//! supported, see RELIABILITY.md).

use crate::runtime::context::{self, Context};
use crate::runtime::ids::{ProcessId, WakerId};

/// The most processes a worker runs from its slot in a row.
pub(crate) const MAX_STREAK: usize = 3;

/// Makes `shards` (their waker ids, by shard) the shards whose processes'
/// wakes this thread's slot holds: this thread is a worker of their
/// runtime.
pub(crate) fn set_shards(shards: Vec<WakerId>) {
    context::with(|cx| *cx.run_next.shards.borrow_mut() = shards);
}

/// This thread is no longer a worker: its slot holds nothing.
pub(crate) fn clear() {
    let _ = context::try_with(|cx| {
        cx.run_next.shards.borrow_mut().clear();
        cx.run_next.open.set(false);
        cx.run_next.held.set(None);
    });
}

/// Opens the slot: a thread-safe process is about to be polled on this
/// worker.
pub(crate) fn open() {
    context::with(|cx| cx.run_next.open.set(true));
}

/// Closes the slot after the poll; returns the wake it holds: the shard and
/// process id of the last process of the shards the poll woke.
pub(crate) fn close() -> Option<(usize, ProcessId)> {
    context::with(|cx| {
        cx.run_next.open.set(false);
        cx.run_next.held.take()
    })
}

/// Holds the wake of process `pid` through waker id `id` in `cx`'s slot if
/// the slot is open and `id` names one of its shards. Returns the wake the
/// caller must still deliver: this one if it was not held, the one it
/// displaced from the slot if any.
pub(super) fn hold(cx: &Context, id: WakerId, pid: ProcessId) -> Option<(WakerId, ProcessId)> {
    let slot = &cx.run_next;
    if !slot.open.get() {
        return Some((id, pid));
    }
    let shards = slot.shards.borrow();
    let Some(shard) = shards.iter().position(|&shard_id| shard_id == id) else {
        return Some((id, pid));
    };
    match slot.held.replace(Some((shard, pid))) {
        Some(displaced) if displaced != (shard, pid) => Some((shards[displaced.0], displaced.1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
