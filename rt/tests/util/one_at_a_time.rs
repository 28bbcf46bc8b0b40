//! Tests of one binary that must not overlap: ones that open hundreds or
//! thousands of descriptors (to stay far from a low limit of open files),
//! or that measure how the scheduler shares the CPU (another test running
//! meanwhile would skew it). Each holds [`one_at_a_time`]'s guard while it
//! runs; the others run in parallel as usual.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Waits until no other test of this binary holds the guard, and returns
/// it; a test that failed holding it does not stop the others.
pub(crate) fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}
