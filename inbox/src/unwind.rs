//! Dropping messages whose `Drop` may panic, without ever having two panics
//! unwind at once.
//!
//! A message's `Drop` is user code and may panic. The inbox drops messages in
//! loops: the drain when the consumer side goes ([`crate::channel`],
//! "Disconnecting") and the slots when the last handle frees the channel. If
//! a panic unwound out of such a loop, the messages after it would be dropped
//! while that panic unwinds, and a second panic would then abort the process
//! ("panic in a destructor during cleanup"). So each message is dropped
//! under its own `catch_unwind` ([`FirstPanic::drop_value`]); once the loop
//! is done the first panic is resumed ([`FirstPanic::resume`]), so the
//! caller still sees it. The thread may already be unwinding (a handle
//! dropped during another panic); resuming then would abort, so the panic is
//! dropped instead. A dropped panic has been reported by the panic hook
//! already. Callers that want to handle every panic (kiln logs each, naming
//! the actor) take the messages with
//! [`Manager::close`](crate::Manager::close) and drop them one by one.

use std::any::Any;
use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::thread;

/// The payload of a caught panic.
type Payload = Box<dyn Any + Send + 'static>;

/// The first panic caught while dropping values; see the
/// [module docs](self).
#[derive(Default)]
pub(crate) struct FirstPanic(Option<Payload>);

impl FirstPanic {
    /// Drops `value`, catching a panic in its `Drop`: the first one is kept,
    /// later ones are dropped.
    pub(crate) fn drop_value<T>(&mut self, value: T) {
        let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(value))) else {
            return;
        };
        if self.0.is_none() {
            self.0 = Some(panic);
        } else {
            discard(panic);
        }
    }

    /// Resumes the first panic caught, if any, unless this thread is already
    /// unwinding (then it is dropped: resuming would abort).
    pub(crate) fn resume(self) {
        let Some(panic) = self.0 else {
            return;
        };
        if thread::panicking() {
            discard(panic);
        } else {
            resume_unwind(panic);
        }
    }
}

/// Drops a panic's payload that is not resumed. A payload whose own `Drop`
/// panics (which `std` does not guard against either) is leaked rather than
/// allowed to unwind.
fn discard(panic: Payload) {
    if let Err(nested) = catch_unwind(AssertUnwindSafe(move || drop(panic))) {
        mem::forget(nested);
    }
}
