//! Wakers for processes: how a waker finds the worker (or the shared
//! scheduler) that runs its process.
//!
//! A kiln waker allocates nothing and counts nothing: its data word packs a
//! [`WakerId`] (16 bits) and a [`ProcessId`] (index 32 bits, generation 16
//! bits), so cloning and dropping it are free.
//!
//! Waking takes one of three paths:
//! - **Same thread** (the common case: an actor waking another actor on its
//!   worker): the waker id in the thread's [context](crate::runtime::context)
//!   matches the waker's, and the process id is pushed onto the context's
//!   list of woken processes, which the worker drains after every poll. No
//!   atomics, no locks, no syscalls.
//! - **A thread-safe process woken by the thread-safe process running on
//!   this worker**: held in the worker's run-next slot, to run next here
//!   (see [`run_next`]).
//! - **Otherwise** (a process of another worker; a thread-safe one, whose
//!   waker id names its shard, woken in any other way): the waker id is
//!   looked up in the global [`REGISTRY`] of [`WakeTarget`]s (a read lock)
//!   and the target is told;
//!   a worker target queues the process id in a bounded queue and wakes the
//!   worker's io_uring only if it is blocked (see `runtime/worker/handle.rs`).
//!
//! A waker that outlives its process or runtime is harmless: the generation
//! in the process id no longer matches (or the waker id is unregistered), so
//! the wake is ignored. A reused waker id can at worst cause a spurious wake,
//! which futures must tolerate anyway.

use std::sync::{Arc, PoisonError, RwLock};
use std::task::{RawWaker, RawWakerVTable, Waker};

#[cfg(not(target_pointer_width = "64"))]
compile_error!("kiln-rt packs waker data into 64-bit pointers");

use crate::runtime::context;
pub(crate) use crate::runtime::ids::{NO_WAKER_ID, ProcessId, WakerId};

pub(crate) mod run_next;

/// Something that can be told a process is woken: a worker, or the shared
/// scheduler of a runtime.
pub(crate) trait WakeTarget: Send + Sync {
    /// Marks `pid` as ready to run. Called from any thread.
    fn wake(&self, pid: ProcessId);
}

/// Every registered wake target, indexed by [`WakerId`].
static REGISTRY: RwLock<Vec<Option<Arc<dyn WakeTarget>>>> = RwLock::new(Vec::new());

/// Registers `target`, returning its id; `None` if all ids are in use.
pub(crate) fn register(target: Arc<dyn WakeTarget>) -> Option<WakerId> {
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(index) = registry.iter().position(Option::is_none) {
        registry[index] = Some(target);
        return WakerId::try_from(index).ok();
    }
    if registry.len() >= usize::from(NO_WAKER_ID) {
        return None;
    }
    registry.push(Some(target));
    WakerId::try_from(registry.len() - 1).ok()
}

/// Removes the target with `id`; its wakers do nothing from then on.
pub(crate) fn unregister(id: WakerId) {
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(slot) = registry.get_mut(usize::from(id)) {
        *slot = None;
    }
}

/// Makes this thread the worker with waker id `id`: wakers with that id
/// used on this thread take the thread-local path.
pub(crate) fn set_current(id: WakerId) {
    context::with(|cx| cx.waker_id.set(id));
}

/// Hands each process woken on this thread since the last call to `wake`
/// (the worker's scheduler), emptying the list in place: no copy, and the
/// list keeps its capacity.
///
/// `wake` must not wake processes itself (the list is borrowed meanwhile).
pub(crate) fn drain_woken(mut wake: impl FnMut(ProcessId)) {
    context::with(|cx| {
        let mut woken = cx.woken.borrow_mut();
        for pid in woken.drain(..) {
            wake(pid);
        }
    });
}

/// Returns `true` if processes were woken on this thread and not yet taken.
pub(crate) fn has_woken() -> bool {
    context::with(|cx| !cx.woken.borrow().is_empty())
}

/// Returns a waker that wakes `pid` through target `id`.
pub(crate) fn new_waker(id: WakerId, pid: ProcessId) -> Waker {
    let raw = RawWaker::new(pack(id, pid) as *const (), &VTABLE);
    // SAFETY: the vtable functions below uphold the `RawWaker` contract: the
    // data is a plain integer (never dereferenced), so cloning copies it,
    // dropping does nothing, and all functions are thread-safe.
    unsafe { Waker::from_raw(raw) }
}

fn pack(id: WakerId, pid: ProcessId) -> usize {
    (usize::from(id) << 48) | (usize::from(pid.generation) << 32) | pid.index as usize
}

fn unpack(data: usize) -> (WakerId, ProcessId) {
    let id = (data >> 48) as WakerId;
    let generation = (data >> 32) as u16;
    let index = data as u32;
    (id, ProcessId { index, generation })
}

/// Wakes the process behind the packed `data`.
fn wake(data: usize) {
    let (id, pid) = unpack(data);
    let elsewhere = context::with(|cx| {
        if cx.waker_id.get() == id {
            cx.woken.borrow_mut().push(pid);
            None
        } else {
            run_next::hold(cx, id, pid)
        }
    });
    if let Some((id, pid)) = elsewhere {
        wake_through_registry(id, pid);
    }
}

/// Tells the target registered as `id` that `pid` is woken.
fn wake_through_registry(id: WakerId, pid: ProcessId) {
    let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(Some(target)) = registry.get(usize::from(id)) {
        target.wake(pid);
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_raw, wake_raw, wake_raw, drop_raw);

fn clone_raw(data: *const ()) -> RawWaker {
    RawWaker::new(data, &VTABLE)
}

fn wake_raw(data: *const ()) {
    wake(data as usize);
}

fn drop_raw(_: *const ()) {}

#[cfg(test)]
mod tests {
    use super::{ProcessId, pack, unpack};

    #[test]
    fn packing_round_trips() {
        for (id, index, generation) in [
            (0, 0, 0),
            (7, 123_456, 9),
            (u16::MAX - 1, u32::MAX, u16::MAX),
        ] {
            let pid = ProcessId { index, generation };
            assert_eq!(unpack(pack(id, pid)), (id, pid));
        }
    }
}
