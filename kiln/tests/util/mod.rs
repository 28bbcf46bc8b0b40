//! Test actors shared by the supervisor tests: a worker that records,
//! fails, panics or stops as told, and what it did; and a logger that
//! captures what kiln logs ([`logs`]).

#![allow(
    dead_code,
    reason = "each test binary uses its own part of this module"
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{self, Poll, Wake, Waker};

use kiln::ActorRef;
use kiln::actor;
use kiln::actor_ref::ActorExit;
use kiln::sync::block_on;

pub(crate) mod logs;
pub(crate) mod recorder;

/// Locks `mutex`, ignoring poisoning (a panicking actor may poison it; the
/// data is still fine for these tests).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the test actors are told to do.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// Record the number.
    Record(u32),
    /// Return an error.
    Fail,
    /// Panic.
    Panic,
    /// Return `Ok(())`.
    Stop,
}

/// Shared record of what the test actors did, given to them as argument.
#[derive(Clone, Default)]
pub(crate) struct Probe {
    starts: Arc<AtomicUsize>,
    events: Arc<Mutex<Vec<String>>>,
}

impl Probe {
    /// Records a start; returns the instance number, from 1.
    pub(crate) fn start(&self) -> usize {
        self.starts.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub(crate) fn starts(&self) -> usize {
        self.starts.load(Ordering::SeqCst)
    }

    pub(crate) fn record(&self, event: String) {
        lock(&self.events).push(event);
    }

    pub(crate) fn events(&self) -> Vec<String> {
        lock(&self.events).clone()
    }
}

/// Records `"instance: n"` for `Record(n)`, and fails, panics or stops as told.
pub(crate) async fn worker(mut ctx: actor::Context<Cmd>, probe: Probe) -> Result<(), String> {
    let instance = probe.start();
    while let Ok(cmd) = ctx.receive_next().await {
        match cmd {
            Cmd::Record(n) => probe.record(format!("{instance}: {n}")),
            Cmd::Fail => return Err(format!("instance {instance} failed")),
            Cmd::Panic => panic!("instance {instance} panicked"),
            Cmd::Stop => return Ok(()),
        }
    }
    Ok(())
}

/// Sends every command in `cmds`.
pub(crate) fn send_all(actor_ref: &ActorRef<Cmd>, cmds: impl IntoIterator<Item = Cmd>) {
    for cmd in cmds {
        actor_ref
            .try_send(cmd)
            .unwrap_or_else(|err| panic!("can't send: {err}"));
    }
}

/// Runs `future` to completion and returns how `actor_ref`'s actor ended.
pub(crate) fn run_to_exit<F: Future<Output = ()>, M>(
    future: F,
    actor_ref: &ActorRef<M>,
) -> ActorExit {
    block_on(future);
    block_on(actor_ref.join())
}

/// Counts its wake-ups.
#[derive(Default)]
pub(crate) struct CountingWaker(AtomicUsize);

impl CountingWaker {
    pub(crate) fn new() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&counter));
        (counter, waker)
    }

    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `future` once with a waker that does nothing.
pub(crate) fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut task::Context::from_waker(Waker::noop()))
}

/// Polls `future` once with `waker`.
pub(crate) fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut task::Context::from_waker(waker))
}
