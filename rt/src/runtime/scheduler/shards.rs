//! The scheduler of thread-safe processes, in one shard per worker.
//!
//! Thread-safe processes can run on any worker. They used to sit in one
//! [`RunQueue`] behind one mutex, which every worker took for every run and
//! every waker for every wake; with two busy workers that lock was the
//! runtime's hottest spot. Now each worker has a *shard*: a [`RunQueue`]
//! behind its own mutex, registered as its own [`WakeTarget`] with its own
//! waker id.
//!
//! - **A process never changes shard.** Its waker names the shard (the
//!   waker id) and the process in it (the process id), so a waker stays
//!   valid however the process moves between workers. A process spawned on
//!   a worker's thread goes into that worker's shard (its children likely
//!   talk to it, and that worker is running); one spawned from another thread
//!   (the coordinator, a synchronous actor, any thread with a `Runtime`)
//!   into the next shard round robin.
//! - **Workers take from their own shard first**, and from the others
//!   (*stealing*) when theirs has nothing ready, or for the first run of
//!   every [`STEAL_EVERY`]th turn, so that the processes of a worker stuck in
//!   a long poll are not starved by a busy one's own. A stolen process runs
//!   on the thief and goes back into its own shard afterwards (the
//!   [`Taken`] remembers the shard). Stealing only *tries* to lock a shard:
//!   a shard that is locked is being used by its owner (who runs its ready
//!   processes) or a waker (who wakes a worker for it).
//! - **Waking a process** of shard *j* (other than from a thread-safe
//!   process running on a worker, which holds the wake in its run-next slot
//!   and runs the process next: see `wake/run_next.rs`, and
//!   [`Shards::take_woken`]) marks it ready under shard *j*'s lock,
//!   then wakes worker *j* if it sleeps, else another sleeping worker (if
//!   any), so a ready process does not wait for its own worker while another
//!   sleeps. The lost-wake-up argument of `runtime/worker/handle.rs` holds per shard: a
//!   worker sets its `sleeping` flag with a read-modify-write before it
//!   checks *every* shard for ready processes, and a waker reads the flags
//!   with read-modify-writes after it published the process in its shard; if
//!   the waker finds no worker sleeping, every worker will still look at the
//!   shard before it sleeps.
//!
//! - **A ready hint per shard.** Every operation on a shard's queue ends,
//!   still under the lock, by storing whether the queue has a ready process
//!   in the shard's `ready` flag (only when that changed, so a shard whose
//!   state does not change never has its flag's cache line written). The
//!   shard's worker reads the flag (a relaxed load, no lock) before each
//!   poll of a thread-local process, to give way to thread-safe processes
//!   that became ready meanwhile: woken by its own thread-local processes,
//!   or by other threads, which wake a busy worker no other way (see
//!   `scheduler/balance.rs`). The flag is a hint: nothing depends on it for
//!   correctness. Read late, a process waits until the worker's time slice
//!   ends, as it did before the flag; read as set when the process was
//!   taken meanwhile, the worker finds nothing to run and goes back to its
//!   thread-local processes. Decisions that must not miss a ready process
//!   (whether a worker may sleep or stop) lock the queues, as before.
//!
//! Each shard's queue orders its processes by virtual run time as before
//! (see `scheduler.rs`); there is no global order across shards, as there
//! is none across workers' thread-local queues.
//!
//! Not done: moving a process to the shard of the worker that keeps
//! stealing it (its waker would have to stop naming the old shard); reading
//! the ready hints of the other shards before each thread-local poll (a load
//! per shard per poll, of lines their owners keep writing; the worker of a
//! process's own shard gives it a fair share already); and using the ready
//! hints for spinning workers in place of the `try_lock` hints (a lock-free
//! flag for them was tried before the hints existed: no difference
//! measurable in W1c or W6).

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError};
use std::time::Duration;

use crate::runtime::context;
use crate::runtime::lock::lock;
use crate::runtime::scheduler::process::SharedProcess;
use crate::runtime::scheduler::process_box::ProcessBox;
use crate::runtime::scheduler::{RunQueue, Running};
use crate::runtime::wake::{self, ProcessId, WakeTarget, WakerId};

/// A worker steals for the first run of every `STEAL_EVERY`th turn even when
/// its own shard has ready processes.
pub(crate) const STEAL_EVERY: u64 = 8;

/// The shards of one runtime's thread-safe scheduler.
pub(crate) struct Shards {
    shards: Box<[Shard]>,
    /// The shard of the next process spawned off the workers' threads.
    next: AtomicUsize,
}

// Laid out in order (`repr(C)`), from the start of a cache line: `ready`
// shares its line with the lock's word (the first field of a `std` mutex),
// so the thread that writes it already holds that line for the lock it just
// took, and `waker_id`, read for every run, sits on a line nobody writes
// once it is set. (With `ready` on `waker_id`'s line W1c was slower: the
// fastest of 6 interleaved quick runs took 202 ns against 186 ns, and the
// median of their fastest rounds about 700 against 230.) Aligned, so that
// shards share no line either.
#[repr(C, align(64))]
struct Shard {
    /// Whether `queue` has a ready process: a hint, see the module docs.
    /// Written only with `queue` locked.
    ready: AtomicBool,
    queue: Mutex<RunQueue<SharedProcess>>,
    /// Set once registered, right after the runtime's internals are made.
    waker_id: OnceLock<WakerId>,
}

/// A thread-safe process taken out of its shard to run.
pub(crate) struct Taken {
    /// The index of the process's shard, where it goes back.
    pub(crate) shard: usize,
    pub(crate) running: Running<SharedProcess>,
}

/// Makes `shard` of `shards` this thread's shard: processes spawned on
/// this thread go there.
pub(crate) fn set_home(shards: &Shards, shard: usize) {
    set_home_of(address(shards), shard);
}

fn set_home_of(runtime: usize, shard: usize) {
    context::with(|cx| cx.home_shard.set((runtime, shard)));
}

/// This thread is no longer a worker.
pub(crate) fn clear_home() {
    context::with(|cx| cx.home_shard.set((0, 0)));
}

/// The address of `shards`, which names its runtime in the thread's
/// context (`home_shard`).
fn address(shards: &Shards) -> usize {
    std::ptr::from_ref(shards) as usize
}

impl Shards {
    /// `n` empty shards (at least one).
    pub(crate) fn new(n: usize) -> Shards {
        Shards {
            shards: (0..n.max(1))
                .map(|_| Shard {
                    queue: Mutex::new(RunQueue::new()),
                    ready: AtomicBool::new(false),
                    waker_id: OnceLock::new(),
                })
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Registers every shard as a wake target, the one `target` makes for
    /// its index; `None` (and nothing registered) if the registry is full.
    pub(crate) fn register(
        &self,
        mut target: impl FnMut(usize) -> Arc<dyn WakeTarget>,
    ) -> Option<()> {
        for (index, shard) in self.shards.iter().enumerate() {
            let Some(id) = wake::register(target(index)) else {
                self.unregister();
                return None;
            };
            let _ = shard.waker_id.set(id);
        }
        Some(())
    }

    /// Unregisters every shard: their wakers do nothing from then on, and
    /// the registry drops its references to the runtime's internals.
    pub(crate) fn unregister(&self) {
        for shard in &self.shards {
            if let Some(id) = shard.waker_id.get() {
                wake::unregister(*id);
            }
        }
    }

    /// The waker id of `shard`.
    pub(crate) fn waker_id(&self, shard: usize) -> WakerId {
        *self.shards[shard]
            .waker_id
            .get()
            .expect("shard waker id not set")
    }

    /// The shard for a process spawned on this thread: this worker's, if
    /// it is a worker of this runtime, else the next round robin.
    pub(crate) fn home(&self) -> usize {
        self.home_of(address(self))
    }

    /// [`Shards::home`] for the runtime at address `runtime`.
    fn home_of(&self, runtime: usize) -> usize {
        let (home_runtime, shard) = context::with(|cx| cx.home_shard.get());
        if home_runtime == runtime && shard < self.shards.len() {
            shard
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % self.shards.len()
        }
    }

    /// Locks the queue of `shard`; the guard updates the shard's ready hint
    /// when dropped.
    fn queue(&self, shard: usize) -> QueueGuard<'_> {
        let shard = &self.shards[shard];
        QueueGuard {
            queue: lock(&shard.queue),
            ready: &shard.ready,
        }
    }

    /// Locks the queue of `shard` if no other thread holds it.
    fn try_queue(&self, shard: usize) -> Option<QueueGuard<'_>> {
        let shard = &self.shards[shard];
        let queue = match shard.queue.try_lock() {
            Ok(queue) => queue,
            Err(TryLockError::Poisoned(err)) => err.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(QueueGuard {
            queue,
            ready: &shard.ready,
        })
    }

    /// The ready hint of `shard`, see the module docs.
    pub(crate) fn ready_hint(&self, shard: usize) -> ReadyHint<'_> {
        ReadyHint(&self.shards[shard].ready)
    }

    /// Adds a process to `shard`, ready to run.
    pub(crate) fn add(
        &self,
        shard: usize,
        process: ProcessBox<SharedProcess>,
        priority: crate::Priority,
    ) {
        self.queue(shard).add(process, priority);
    }

    /// Marks process `pid` of `shard` ready.
    pub(crate) fn wake(&self, shard: usize, pid: ProcessId) {
        self.queue(shard).wake(pid);
    }

    /// Wakes process `pid` of `shard` to run at once on this thread: takes
    /// it out of the shard if it was waiting, else wakes it as
    /// [`Shards::wake`] does (for the run-next slot, `wake/run_next.rs`).
    pub(crate) fn take_woken(&self, shard: usize, pid: ProcessId) -> Option<Taken> {
        let running = self.queue(shard).take_woken(pid)?;
        Some(Taken { shard, running })
    }

    /// The waker ids of the shards, by shard (for the run-next slot).
    pub(crate) fn waker_ids(&self) -> Vec<WakerId> {
        (0..self.shards.len())
            .map(|shard| self.waker_id(shard))
            .collect()
    }

    /// Takes a ready process to run on the worker of shard `home`: from
    /// `home` first (unless `steal_first`), else from the other shards
    /// whose lock is free.
    pub(crate) fn take(&self, home: usize, steal_first: bool) -> Option<Taken> {
        let n = self.shards.len();
        if let Some(taken) = steal_first.then(|| self.steal(home)).flatten() {
            return Some(taken);
        }
        if let Some(running) = self.queue(home).next() {
            return Some(Taken {
                shard: home,
                running,
            });
        }
        if n == 1 { None } else { self.steal(home) }
    }

    /// Takes a ready process from a shard other than `home`, trying their
    /// locks in turn from the next one.
    fn steal(&self, home: usize) -> Option<Taken> {
        let n = self.shards.len();
        for offset in 1..n {
            let shard = (home + offset) % n;
            let Some(mut queue) = self.try_queue(shard) else {
                continue;
            };
            if let Some(running) = queue.next() {
                return Some(Taken { shard, running });
            }
        }
        None
    }

    /// Gives back a process that ran for `ran` to its shard; returns it if
    /// it is `done` (to be dropped outside the lock).
    pub(crate) fn finish(
        &self,
        taken: Taken,
        ran: Duration,
        done: bool,
    ) -> Option<ProcessBox<SharedProcess>> {
        self.queue(taken.shard).finish(taken.running, ran, done)
    }

    /// Whether a process is ready in any shard (locking each in turn).
    pub(crate) fn has_ready(&self) -> bool {
        (0..self.shards.len()).any(|shard| self.queue(shard).has_ready())
    }

    /// Whether a process is ready in a shard no other thread has locked:
    /// for spinning workers, which must not fight over the locks.
    pub(crate) fn has_ready_hint(&self) -> bool {
        (0..self.shards.len()).any(|shard| self.try_queue(shard).is_some_and(|q| q.has_ready()))
    }

    /// The number of processes (in any state) and of ready ones, over all
    /// shards.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (0..self.shards.len()).fold((0, 0), |(len, ready), shard| {
            let queue = self.queue(shard);
            (len + queue.len(), ready + queue.ready_len())
        })
    }

    /// Whether no shard holds a process, at one instant: the shards are
    /// locked all at once (in index order, the only order in which more than
    /// one is ever held). Checked one after another, a process spawning into
    /// a shard already checked and then ending in its own could make every
    /// shard look empty, and a worker stop while processes remain.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.is_empty_and(|| true)
    }

    /// Whether no shard holds a process and `also` holds, `also` checked
    /// while every shard is locked (no thread-safe process can be added or
    /// finish meanwhile).
    pub(crate) fn is_empty_and(&self, also: impl FnOnce() -> bool) -> bool {
        self.empty_from(0, also)
    }

    /// Whether shards `from..` are empty, holding their locks while checking
    /// the next, and then `also`.
    fn empty_from(&self, from: usize, also: impl FnOnce() -> bool) -> bool {
        if from == self.shards.len() {
            return also();
        }
        let queue = self.queue(from);
        queue.len() == 0 && self.empty_from(from + 1, also)
    }
}

/// Whether a shard has a ready process, read without its lock: a hint, see
/// the module docs. Taken once per batch, so that each read is one load.
#[derive(Copy, Clone)]
pub(crate) struct ReadyHint<'a>(&'a AtomicBool);

impl ReadyHint<'_> {
    /// Whether the shard had a ready process when its queue was last
    /// unlocked.
    pub(crate) fn get(self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A locked shard queue; publishes whether it has a ready process in the
/// shard's hint when dropped (before the lock is released).
struct QueueGuard<'a> {
    queue: MutexGuard<'a, RunQueue<SharedProcess>>,
    ready: &'a AtomicBool,
}

impl Deref for QueueGuard<'_> {
    type Target = RunQueue<SharedProcess>;

    fn deref(&self) -> &Self::Target {
        &self.queue
    }
}

impl DerefMut for QueueGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.queue
    }
}

impl Drop for QueueGuard<'_> {
    fn drop(&mut self) {
        let ready = self.queue.has_ready();
        // Written only when it changes: a relaxed load of a line this thread
        // likely has, where a store would take the line from its readers.
        if self.ready.load(Ordering::Relaxed) != ready {
            self.ready.store(ready, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests;
