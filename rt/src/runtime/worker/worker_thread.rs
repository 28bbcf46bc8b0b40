//! [`WorkerThread`]: the one guard that makes a thread a worker, in its
//! [context](crate::runtime::context), and undoes it all when dropped, also
//! when the worker's loop panics.
//!
//! Entering registers the worker's waker id (so wakers of its processes
//! find it) and makes it this thread's, makes the worker's shard this
//! thread's home shard and the runtime's shards the ones whose wakes its
//! run-next slot holds, installs the worker's ring, starts the thread's
//! trace and tells the metrics the worker runs; once the worker's state
//! exists, [`WorkerThread::set_timers`] makes its timers the thread's for
//! sockets' timeouts. Dropping the guard stops all of it in reverse, unregisters the waker id (the registry's reference
//! to the worker's handle goes with it) and tells the shared state that the
//! worker stopped, so a panicking worker leaves nothing registered.

use std::rc::Rc;
use std::sync::Arc;
use std::thread;

use crate::error::Error;
use crate::runtime::context::{self, ThreadTimers};
use crate::runtime::io::WorkerIo;
use crate::runtime::io::setup::WorkerDriverKind;
use crate::runtime::local::LocalInternals;
use crate::runtime::scheduler::shards;
use crate::runtime::shared::RuntimeInternals;
use crate::runtime::trace::{self, Thread};
use crate::runtime::wake::{self, NO_WAKER_ID, WakerId, run_next};
use crate::runtime::worker::handle::WorkerHandle;

/// A thread made a worker; see the [module docs](self).
pub(crate) struct WorkerThread {
    waker_id: WakerId,
    shared: Arc<RuntimeInternals>,
    handle: Arc<WorkerHandle>,
    /// Dropped last: a ring is taken out of the context and dropped.
    io: WorkerIo,
}

impl WorkerThread {
    /// Makes this thread worker `handle.index` of the runtime of `shared`,
    /// waiting in `driver`. Fails if the registry of waker ids is full.
    pub(crate) fn enter(
        handle: Arc<WorkerHandle>,
        shared: Arc<RuntimeInternals>,
        driver: WorkerDriverKind,
    ) -> Result<WorkerThread, Error> {
        let waker_id = wake::register(handle.clone()).ok_or_else(Error::too_many_workers)?;
        wake::set_current(waker_id);
        shards::set_home(&shared.shards, handle.index);
        run_next::set_shards(shared.shards.waker_ids());
        handle.metrics.started();
        if let Some(file) = &shared.trace {
            let name = thread::current().name().unwrap_or("worker").to_owned();
            trace::start_thread(
                file,
                Thread::Worker(handle.index),
                &name,
                shared.shared_io.driver(),
            );
        }
        Ok(WorkerThread {
            waker_id,
            shared,
            handle,
            io: driver.enter(),
        })
    }

    /// The waker id of this worker.
    pub(crate) const fn waker_id(&self) -> WakerId {
        self.waker_id
    }

    /// The worker's ring or poll instance.
    pub(crate) const fn io(&mut self) -> &mut WorkerIo {
        &mut self.io
    }

    /// Makes the timers of the worker with state `local` (its wheel for the
    /// sockets on its ring or poll, the shared timers for the others) this thread's
    /// for sockets' timeouts, until the guard is dropped.
    pub(crate) fn set_timers(&self, local: &Rc<LocalInternals>) {
        let timers = ThreadTimers {
            worker: Some((local.io.id(), local.clone())),
            shared: self.shared.clone(),
        };
        context::with(|cx| cx.timers.replace(Some(timers)));
    }
}

impl Drop for WorkerThread {
    fn drop(&mut self) {
        // Taken out, then dropped outside the context's borrow.
        drop(context::try_with(|cx| cx.timers.take()));
        trace::finish_thread();
        self.handle.metrics.stopped();
        wake::set_current(NO_WAKER_ID);
        shards::clear_home();
        run_next::clear();
        wake::unregister(self.waker_id);
        self.shared.worker_stopped();
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Arc;
    use std::thread;

    use super::WorkerThread;
    use crate::runtime::context;
    use crate::runtime::io::Io;
    use crate::runtime::io::poll::Poller;
    use crate::runtime::io::setup::WorkerDriver;
    use crate::runtime::shared::RuntimeInternals;
    use crate::runtime::wake::NO_WAKER_ID;
    use crate::runtime::worker::{Tuning, WorkerSetup};

    /// A worker whose loop panics leaves nothing registered: not its waker id
    /// (whose registry entry holds its handle), not its thread's context.
    fn a_panicking_worker_leaves_nothing_registered(driver: fn() -> std::io::Result<WorkerDriver>) {
        let shared_poll = Poller::new(true).unwrap();
        let internals =
            RuntimeInternals::new("test".to_owned(), 1, Io::Poll(shared_poll.handle()), None)
                .unwrap();
        let setup = WorkerSetup::new(0, driver().unwrap(), Tuning::DEFAULT);
        let handle = setup.handle();
        internals.set_workers(vec![handle.clone()]);
        let handles_before = Arc::strong_count(&handle);
        let worker_driver = driver().unwrap();
        let uring = matches!(worker_driver.handle, Io::Uring(_));
        let (handle2, internals2) = (handle.clone(), internals.clone());
        let (registered, after) = thread::spawn(move || {
            let thread = WorkerThread::enter(handle2, internals2, worker_driver.driver).unwrap();
            let registered = context::with(|cx| {
                (
                    cx.waker_id.get() == thread.waker_id(),
                    cx.worker_ring.borrow().is_some(),
                    cx.home_shard.get().0 != 0,
                )
            });
            let result = catch_unwind(AssertUnwindSafe(move || {
                let _thread = thread;
                panic!("the worker's loop panicked");
            }));
            assert!(result.is_err());
            let after = context::with(|cx| {
                (
                    cx.waker_id.get(),
                    cx.worker_ring.borrow().is_some(),
                    cx.home_shard.get(),
                )
            });
            (registered, after)
        })
        .join()
        .unwrap();
        assert_eq!(registered, (true, uring, true), "not entered");
        assert_eq!(after, (NO_WAKER_ID, false, (0, 0)), "context left set");
        // The registry's clone of the handle went with the waker id (the
        // thread's clone went with the thread).
        assert_eq!(Arc::strong_count(&handle), handles_before);
    }

    #[test]
    fn a_panicking_uring_worker_leaves_nothing_registered() {
        a_panicking_worker_leaves_nothing_registered(WorkerDriver::uring);
    }

    #[test]
    fn a_panicking_poll_worker_leaves_nothing_registered() {
        a_panicking_worker_leaves_nothing_registered(WorkerDriver::poll);
    }
}
