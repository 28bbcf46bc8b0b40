//! A loom model of kiln-rt's cross-thread wake-up protocol: another thread
//! wakes a worker that may be (about to be) asleep in the kernel, and the
//! wake-up must never be lost.
//!
//! kiln-rt can't depend on loom (its atomics are `std`'s, and the second
//! half of the protocol is a10's), so the protocol is copied here, operation
//! for operation, with the same orderings, on loom's atomics; the queue of
//! woken process ids is the real one (a `kiln_inbox` channel, which is
//! loom-instrumented in this build). If the runtime's protocol (or a10's
//! `PollingState`) changes, this copy must change with it.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p kiln-inbox --release --test loom_wake --target-dir target/loom`.
//!
//! # What it mirrors
//!
//! Two flags are involved: kiln-rt's `WorkerHandle::sleeping` (so a busy
//! worker is never interrupted) and a10's `PollingState` of the worker's
//! ring (`a10-0.4.3/src/lib.rs`: `IS_POLLING` and `IS_AWOKEN` in one byte),
//! through which `SubmissionQueue::wake` interrupts a poll with an
//! `IORING_OP_MSG_RING` completion, or makes the next poll return at once.
//!
//! The waker's side, `<WorkerHandle as WakeTarget>::wake` in
//! `rt/src/runtime/worker.rs`, is [`Handle::wake`]:
//!
//! | kiln-rt and a10 | here |
//! |---|---|
//! | (the waker published the process's event: an inbox message) | `event[pid].store(true, Release)` |
//! | `if self.remote.try_send(pid).is_err()` | the same, on a `kiln_inbox` channel |
//! | `self.overflow.store(true, Ordering::Release)` | `swap(true, Release)`, see "A loom bug" |
//! | `wake_if_sleeping`: `self.sleeping.fetch_or(false, Ordering::AcqRel)`; if set, `RingWaker::wake`, which is a10's `SubmissionQueue::wake` | the same |
//! | a10 `PollingState::wake`: `fetch_or(IS_AWOKEN, AcqRel) == IS_POLLING \| NOT_AWOKEN`, else return | the same |
//! | a10: queue an `IORING_OP_MSG_RING` to the ring and enter it: a completion is posted | [`CompletionQueue::post`]: one more completion under its lock, notify |
//!
//! The worker's side, `Worker::run_loop` and `Worker::sleep` in
//! `rt/src/runtime/worker.rs` and a10's `Ring::poll` (`src/io_uring/cq.rs`), is
//! [`Worker::run`], [`Worker::sleep`] and [`Worker::poll`]:
//!
//! | kiln-rt and a10 | here |
//! |---|---|
//! | `collect_wakes`: `self.remote.try_recv()` until empty | the same |
//! | `collect_wakes`: `self.handle.overflow.swap(false, AcqRel)`, then `wake_all` | the same, then every process not done runs |
//! | `run_local`: a woken process runs; it finds its message or waits again | a process that runs is done if it sees `event[pid]` (`Acquire`) |
//! | nothing ran: `sleep` | the same |
//! | `sleep`: `self.handle.sleeping.swap(true, AcqRel)` | the same |
//! | `has_work`: `self.remote.try_peek().is_ok() \|\| self.handle.overflow.load(Acquire)` | the same; if so `sleeping.store(false, Release)`, return |
//! | `poll_ring`: a10 `Ring::poll`: completions already there: process them, return | the same |
//! | a10: `polling.set_polling(true)`: `swap(IS_POLLING \| NOT_AWOKEN, AcqRel)`; if it was awoken, the timeout is zero | the same |
//! | a10: `enter(1, GETEVENTS, timeout)`: wait for a completion | [`CompletionQueue::wait`] (no wait with a zero timeout) |
//! | a10: `polling.set_polling(false)`: `swap(NOT_POLLING \| NOT_AWOKEN, AcqRel)`; process the completions | the same |
//! | `self.handle.sleeping.store(false, Release)` | the same |
//!
//! Not modelled: timers and I/O (the poll here ends only with a wake-up's
//! completion, so a lost wake-up leaves the worker asleep for ever, which
//! the model detects, see [`model`]), the worker's control channel (woken
//! the same way), its idle spin (it only delays `sleep`, with `sleeping`
//! clear, so wakers skip the ring and the spin or `sleep`'s own check sees
//! the work), and the kernel side of `MSG_RING` (the completion it posts is
//! seen by the worker's wait, under the completion queue's lock).
//!
//! # A loom bug
//!
//! loom 0.7.2 can let a plain store that races a read-modify-write of the
//! same atomic land between the RMW's read and its write, where it is lost
//! (tokio-rs/loom#254 and #389; the fix, tokio-rs/loom#391, is not
//! released). Neither the C++ memory model nor any hardware allows that. The
//! one such race of the protocol that matters is the waker's
//! `overflow.store(true)` against the worker's `overflow.swap(false)`: with
//! the plain store, loom reports lost wake-ups in executions where the
//! worker's `swap` reads `false` although the store happens-before it. The
//! model writes the store as `swap(true, Release)`: the same value, the
//! same ordering for the write; the value it reads is ignored. (The
//! worker's plain `sleeping.store(false)` also races the waker's
//! `fetch_or`; there the bug can only leave `sleeping` set, which costs a
//! spurious wake-up, never a lost one.)
//!
//! # The mutants
//!
//! Each ordering argument of `worker.rs` and of a10's `PollingState` is
//! checked by breaking it: the tests `mutant_*` run the model with one
//! change each and expect loom to find an execution that loses a wake-up:
//! - the worker's `sleeping` swap as a plain store;
//! - the waker's `sleeping` read-modify-write as a plain load;
//! - a poll that ignores `IS_AWOKEN` (a wake that came before the poll
//!   started is forgotten);
//! - `set_polling(true)` as a load and a store instead of one swap.

#![cfg(loom)]

use std::sync::atomic::Ordering;

use kiln_inbox::{Receiver, Sender};
use loom::sync::atomic::{AtomicBool, AtomicU8};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

/// The protocol, or one of its mutants.
#[derive(Copy, Clone, Debug, Default)]
struct Protocol {
    /// Set `sleeping` with a plain store, not a swap.
    sleeping_store: bool,
    /// Read `sleeping` in the waker with a plain load, not `fetch_or`.
    sleeping_load: bool,
    /// Poll with the full timeout even if `IS_AWOKEN` was set.
    awoken_ignored: bool,
    /// `set_polling(true)` as a load and a store, not a swap.
    polling_load_store: bool,
}

/// a10's `PollingState` bits.
const IS_POLLING: u8 = 0b01;
const IS_AWOKEN: u8 = 0b10;

/// The ring's completion queue, as far as wake-ups go: completions posted
/// by `MSG_RING` and a poll that waits for one.
struct CompletionQueue {
    state: Mutex<Completions>,
    posted: Condvar,
}

struct Completions {
    /// Completions posted and not yet processed.
    pending: u64,
    /// Set by the model once every waker has finished (not part of the
    /// runtime: see [`CompletionQueue::wait`]).
    finished: bool,
}

impl CompletionQueue {
    fn new() -> CompletionQueue {
        CompletionQueue {
            state: Mutex::new(Completions {
                pending: 0,
                finished: false,
            }),
            posted: Condvar::new(),
        }
    }

    /// The kernel posts `MSG_RING`'s completion.
    fn post(&self) {
        let mut state = self.state.lock().unwrap();
        state.pending += 1;
        self.posted.notify_all();
    }

    /// Processes the completions there are; returns whether there were any.
    fn take(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        let any = state.pending != 0;
        state.pending = 0;
        any
    }

    /// `io_uring_enter(GETEVENTS)` with no timeout: waits for a completion;
    /// returns `false` if the worker would wait for ever: every waker has
    /// finished and no completion came.
    fn wait(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        while state.pending == 0 && !state.finished {
            state = self.posted.wait(state).unwrap();
        }
        state.pending != 0
    }

    /// Called by the model after every waker has finished.
    fn finish(&self) {
        let mut state = self.state.lock().unwrap();
        state.finished = true;
        self.posted.notify_all();
    }
}

/// What other threads share with a worker: `WorkerHandle` and its ring's
/// `PollingState` and completion queue.
struct Handle {
    protocol: Protocol,
    /// `WorkerHandle::sleeping`.
    sleeping: AtomicBool,
    /// a10's `PollingState` of the worker's ring.
    polling: AtomicU8,
    /// The worker's ring's completions.
    completions: CompletionQueue,
    /// `WorkerHandle::remote`.
    remote: Sender<usize>,
    /// `WorkerHandle::overflow`.
    overflow: AtomicBool,
    /// Per process: its event happened (a message in its inbox).
    events: Vec<AtomicBool>,
}

impl Handle {
    /// `<WorkerHandle as WakeTarget>::wake`, after the process's event.
    fn wake(&self, pid: usize) {
        self.events[pid].store(true, Ordering::Release);
        if self.remote.try_send(pid).is_err() {
            // `store(true, Release)` in the runtime; see "A loom bug" in the
            // module docs.
            self.overflow.swap(true, Ordering::Release);
        }
        // `wake_if_sleeping`.
        let sleeping = if self.protocol.sleeping_load {
            self.sleeping.load(Ordering::Acquire)
        } else {
            self.sleeping.fetch_or(false, Ordering::AcqRel)
        };
        if sleeping {
            // a10's `SubmissionQueue::wake`: `PollingState::wake`.
            let state = self.polling.fetch_or(IS_AWOKEN, Ordering::AcqRel);
            if state == IS_POLLING {
                // `MSG_RING`.
                self.completions.post();
            }
        }
    }

    /// a10's `PollingState::set_polling`: returns whether a wake-up came.
    fn set_polling(&self, polling: bool) -> bool {
        let new = if polling { IS_POLLING } else { 0 };
        let state = if polling && self.protocol.polling_load_store {
            let state = self.polling.load(Ordering::Acquire);
            self.polling.store(new, Ordering::Release);
            state
        } else {
            self.polling.swap(new, Ordering::AcqRel)
        };
        state & IS_AWOKEN != 0
    }
}

/// The worker's side.
struct Worker {
    handle: Arc<Handle>,
    remote: Receiver<usize>,
    done: Vec<bool>,
}

/// A wake-up was lost: the worker would sleep forever with a process whose
/// event happened not run.
struct Lost;

impl Worker {
    /// `run_loop` until every process has seen its event.
    fn run(&mut self) -> Result<(), Lost> {
        while self.done.iter().any(|done| !done) {
            // `collect_wakes`.
            let mut woken = Vec::new();
            while let Ok(pid) = self.remote.try_recv() {
                woken.push(pid);
            }
            if self.handle.overflow.swap(false, Ordering::AcqRel) {
                woken = (0..self.done.len()).collect();
            }
            // `run_local`: a process that finds its event is done; one woken
            // by an overflow before its event waits again.
            let ran = woken.len();
            for pid in woken {
                if self.handle.events[pid].load(Ordering::Acquire) {
                    self.done[pid] = true;
                }
            }
            if ran == 0 {
                self.sleep()?;
            }
        }
        Ok(())
    }

    /// `Worker::sleep`.
    fn sleep(&mut self) -> Result<(), Lost> {
        let handle = &*self.handle;
        if handle.protocol.sleeping_store {
            handle.sleeping.store(true, Ordering::Release);
        } else {
            handle.sleeping.swap(true, Ordering::AcqRel);
        }
        // `has_work`.
        if self.remote.try_peek().is_ok() || handle.overflow.load(Ordering::Acquire) {
            handle.sleeping.store(false, Ordering::Release);
            return Ok(());
        }
        let result = self.poll();
        handle.sleeping.store(false, Ordering::Release);
        result
    }

    /// a10's `Ring::poll` with no timeout (no timer is due).
    fn poll(&self) -> Result<(), Lost> {
        let handle = &*self.handle;
        // Completions already there: processed, no waiting.
        if handle.completions.take() {
            return Ok(());
        }
        let awoken = handle.set_polling(true) && !handle.protocol.awoken_ignored;
        // `enter` with a zero timeout if awoken, else waiting.
        let completed = awoken || handle.completions.wait();
        handle.set_polling(false);
        let _ = handle.completions.take();
        if completed { Ok(()) } else { Err(Lost) }
    }
}

/// Runs the model: a worker with `processes` processes, each woken once by
/// a thread of its own; the queue of woken ids holds `capacity` (1: the
/// second waker may find it full and take the overflow path). Returns the
/// number of executions explored and in how many a wake-up was lost.
///
/// A lost wake-up would leave the worker asleep forever. Rather than let
/// loom report that as a deadlock (a panic, which can't be expected with
/// `should_panic`: loom aborts while unwinding its threads), the model
/// wakes the worker once every waker has finished, and the worker counts
/// the execution as lost if nothing else had woken it (see
/// [`CompletionQueue::wait`]). That wake-up comes after everything the model checks,
/// so it hides no interleaving.
fn model(protocol: Protocol, processes: usize, capacity: usize) -> (usize, usize) {
    let executions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let lost = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut builder = loom::model::Builder::new();
    // `LOOM_MAX_PREEMPTIONS` (read by `Builder::new`) overrides.
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = Some(3);
    }
    let (counted, lost_in) = (executions.clone(), lost.clone());
    builder.check(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        let (remote, receiver) = kiln_inbox::new(capacity);
        let handle = Arc::new(Handle {
            protocol,
            sleeping: AtomicBool::new(false),
            polling: AtomicU8::new(0),
            completions: CompletionQueue::new(),
            remote,
            overflow: AtomicBool::new(false),
            events: (0..processes).map(|_| AtomicBool::new(false)).collect(),
        });
        let wakers: Vec<_> = (0..processes)
            .map(|pid| {
                let handle = handle.clone();
                thread::spawn(move || handle.wake(pid))
            })
            .collect();
        let mut worker = Worker {
            handle: handle.clone(),
            remote: receiver,
            done: vec![false; processes],
        };
        let worker = thread::spawn(move || worker.run());
        for waker in wakers {
            waker.join().unwrap();
        }
        handle.completions.finish();
        if worker.join().unwrap().is_err() {
            lost_in.fetch_add(1, Ordering::Relaxed);
        }
    });
    (
        executions.load(Ordering::Relaxed),
        lost.load(Ordering::Relaxed),
    )
}

/// Checks the protocol: no execution loses a wake-up.
fn check(processes: usize, capacity: usize) {
    let (executions, lost) = model(Protocol::default(), processes, capacity);
    assert_eq!(lost, 0, "{lost} of {executions} executions lost a wake-up");
}

/// Checks that loom finds the lost wake-up of a mutant.
fn check_mutant(mutant: Protocol, processes: usize, capacity: usize) {
    let (executions, lost) = model(mutant, processes, capacity);
    assert!(
        lost > 0,
        "loom did not find a lost wake-up of {mutant:?} in {executions} executions"
    );
    println!("{mutant:?}: {lost} of {executions} executions lost a wake-up");
}

/// One waker: the basic race of a wake-up with the worker falling asleep.
#[test]
fn one_waker() {
    check(1, 1);
}

/// Two wakers, room for both ids: two rounds of sleep and wake-up, so an
/// `IS_AWOKEN` left over from the first round matters.
#[test]
fn two_wakers() {
    check(2, 2);
}

/// Two wakers, room for one id: the second may take the overflow path.
#[test]
fn two_wakers_overflow() {
    check(2, 1);
}

/// `sleeping` set with a plain store: the waker's RMW may come first in the
/// flag's order and see `false`, while the worker's check misses the
/// published id (store buffering).
#[test]
fn mutant_sleeping_store() {
    check_mutant(
        Protocol {
            sleeping_store: true,
            ..Protocol::default()
        },
        1,
        1,
    );
}

/// The waker reading `sleeping` with a plain load: it may read the old
/// `false` while the worker's check misses the published id.
#[test]
fn mutant_sleeping_load() {
    check_mutant(
        Protocol {
            sleeping_load: true,
            ..Protocol::default()
        },
        1,
        1,
    );
}

/// A poll that forgets a wake-up that came before it started: the waker
/// saw `sleeping` set but the ring not yet polling, so it only set
/// `IS_AWOKEN`, and the worker, having checked for work before the id was
/// published, waits for a completion that never comes.
#[test]
fn mutant_awoken_ignored() {
    check_mutant(
        Protocol {
            awoken_ignored: true,
            ..Protocol::default()
        },
        1,
        1,
    );
}

/// `set_polling(true)` as a load and a store: a wake-up between the two sets
/// `IS_AWOKEN` (no completion: not polling yet), the load missed it and the
/// store wipes it.
#[test]
fn mutant_polling_load_store() {
    check_mutant(
        Protocol {
            polling_load_store: true,
            ..Protocol::default()
        },
        1,
        1,
    );
}
