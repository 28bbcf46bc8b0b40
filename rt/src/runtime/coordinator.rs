//! The coordinator: what `Runtime::start` runs on the calling thread.
//!
//! It owns a ring (or, on the epoll driver, a poll instance) of its own, on
//! which it reads process signals (a `signalfd`) and relays them to the
//! registered actors (on SIGUSR2 it also logs the runtime's metrics), and it
//! waits for the worker and synchronous actor threads to finish, which tell
//! it so through a channel and a wake-up of its ring or poll. `start` returns once
//! every thread has finished, or with the first error.
//!
//! The first exit signal an actor accepts starts a graceful shutdown; a
//! second exit signal while the threads are still finishing forces it:
//! `start` returns at once with an error that says so (see
//! [`Signal`](crate::Signal)).
//!
//! Its ring is also the runtime's *shared ring*: the I/O of thread-safe and
//! synchronous actors. Other threads queue operations on it and wake the
//! coordinator (see [`ring_waker`](crate::runtime::io::uring::ring_waker)),
//! whose next poll submits them; completions wake the actors on whichever
//! worker is free. On epoll, its poll instance is the shared one in the
//! same way (other threads register on it without waking it).

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::{Arc, PoisonError, mpsc};
use std::task::{self, Poll, Waker};
use std::thread;
use std::time::Duration;

use kiln::ActorRef;
use kiln::actor_ref::SendError;
use log::{debug, info, warn};

use crate::error::Error;
use crate::runtime::io::DriverWaker;
use crate::runtime::io::setup::CoordinatorIo;
use crate::runtime::shared::RuntimeInternals;
use crate::runtime::worker::ThreadExit;
use crate::signal::Signal;

/// How often to retry delivering a signal to a full inbox.
const SIGNAL_RETRY: Duration = Duration::from_millis(1);

pub(crate) struct Coordinator {
    /// The coordinator's ring or poll instance (also the runtime's shared
    /// one) and how it reads signals.
    io: CoordinatorIo,
    /// Wakes the coordinator: threads that exit, and on io_uring thread-safe
    /// I/O queued on the ring (the shared ring) that only the coordinator
    /// submits.
    waker: Arc<DriverWaker>,
    exits: mpsc::Receiver<ThreadExit>,
    /// Handed to synchronous actor threads.
    exits_sender: mpsc::Sender<ThreadExit>,
    workers: Vec<thread::JoinHandle<()>>,
    sync_threads: Vec<thread::JoinHandle<()>>,
}

impl Coordinator {
    pub(crate) fn new(
        io: CoordinatorIo,
        waker: Arc<DriverWaker>,
        exits: mpsc::Receiver<ThreadExit>,
        exits_sender: mpsc::Sender<ThreadExit>,
        workers: Vec<thread::JoinHandle<()>>,
    ) -> Coordinator {
        Coordinator {
            io,
            waker,
            exits,
            exits_sender,
            workers,
            sync_threads: Vec::new(),
        }
    }

    /// What a synchronous actor thread needs to report its exit.
    pub(crate) fn exit_reporter(&self) -> (mpsc::Sender<ThreadExit>, Arc<DriverWaker>) {
        (self.exits_sender.clone(), self.waker.clone())
    }

    pub(crate) fn add_sync_thread(&mut self, handle: thread::JoinHandle<()>) {
        self.sync_threads.push(handle);
    }

    /// Runs until every worker and synchronous actor thread has finished.
    pub(crate) fn run(mut self, internals: &RuntimeInternals) -> Result<(), Error> {
        let _recording = internals.trace.as_ref().map(|file| {
            crate::runtime::trace::start_thread(
                file,
                crate::runtime::trace::Thread::Coordinator,
                "coordinator",
                internals.shared_io.driver(),
            );
            crate::runtime::trace::StopRecording
        });
        let mut threads = Threads {
            workers_left: self.workers.len(),
            sync_left: self.sync_threads.len(),
            exits: &self.exits,
        };
        let result = match &mut self.io {
            CoordinatorIo::Uring { ring, signals } => {
                let signals = &*signals;
                let mut receive = pin!(signals.receive());
                let next_signal = |cx: &mut task::Context<'_>| match receive.as_mut().poll(cx) {
                    Poll::Ready(Ok(info)) => {
                        receive.set(signals.receive());
                        Poll::Ready(Ok(Signal::from_a10(info.signal())))
                    }
                    Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
                    Poll::Pending => Poll::Pending,
                };
                // A panic in another thread's poll (a buffer's drop) leaves
                // the ring usable.
                let wait = |timeout| {
                    ring.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .poll(timeout)
                };
                threads.run(internals, next_signal, wait)
            }
            CoordinatorIo::Poll { poller, signals } => {
                let next_signal = |cx: &mut task::Context<'_>| {
                    signals
                        .poll_receive(cx)
                        .map(|result| result.map(Signal::from_raw))
                };
                threads.run(internals, next_signal, |timeout| poller.poll(timeout))
            }
        };
        result?;
        for handle in self.workers.drain(..).chain(self.sync_threads.drain(..)) {
            // The threads have reported their exit; this only waits for
            // them to return.
            let _ = handle.join();
        }
        Ok(())
    }
}

/// The threads the coordinator waits for.
struct Threads<'c> {
    workers_left: usize,
    sync_left: usize,
    exits: &'c mpsc::Receiver<ThreadExit>,
}

impl Threads<'_> {
    /// The coordinator's loop, until every thread has finished: relays the
    /// signals `next_signal` gives (`None` for one the runtime does not
    /// handle) and waits with `wait` (at most the timeout given) for a
    /// signal, a thread's exit or, for the shared ring or poll, I/O.
    fn run(
        &mut self,
        internals: &RuntimeInternals,
        mut next_signal: impl FnMut(&mut task::Context<'_>) -> Poll<io::Result<Option<Signal>>>,
        mut wait: impl FnMut(Option<Duration>) -> io::Result<()>,
    ) -> Result<(), Error> {
        // Signals that found a full inbox, to retry.
        let mut undelivered: Vec<(ActorRef<Signal>, Signal)> = Vec::new();
        // The exit signal that started a graceful shutdown, if one did.
        let mut shutting_down: Option<Signal> = None;
        // The driver wakes the loop when a signal arrives: the signal's
        // waker needs to do nothing.
        let mut cx = task::Context::from_waker(Waker::noop());
        loop {
            while let Ok(exit) = self.exits.try_recv() {
                match exit {
                    ThreadExit::Worker(index, result) => {
                        self.workers_left -= 1;
                        debug!("worker {index} finished");
                        result?;
                    }
                    ThreadExit::SyncActor => self.sync_left -= 1,
                }
            }
            if self.workers_left == 0 && self.sync_left == 0 {
                return Ok(());
            }

            if let Poll::Ready(result) = next_signal(&mut cx) {
                if let Some(signal) = result.map_err(Error::coordinator)? {
                    if let Some(first) = shutting_down.filter(|_| signal.should_exit()) {
                        warn!(
                            "received {signal} while shutting down after {first}: stopping at \
                             once, without waiting for {} worker(s) and {} synchronous actor(s) \
                             to finish",
                            self.workers_left, self.sync_left
                        );
                        return Err(Error::forced_exit(signal, first));
                    }
                    if relay(internals, signal, &mut undelivered)? && signal.should_exit() {
                        shutting_down = Some(signal);
                    }
                }
                continue;
            }
            undelivered.retain(|(actor_ref, signal)| match actor_ref.try_send(*signal) {
                Ok(()) => false,
                Err(SendError::Full(_)) => true,
                Err(_) => false,
            });

            let timeout = (!undelivered.is_empty()).then_some(SIGNAL_RETRY);
            match wait(timeout) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(Error::coordinator(err)),
            }
        }
    }
}

/// Sends `signal` to every registered actor and returns whether at least
/// one accepted it. An exit signal that no actor accepts (none registered,
/// or all reject it) is an error: it stops the runtime.
fn relay(
    internals: &RuntimeInternals,
    signal: Signal,
    undelivered: &mut Vec<(ActorRef<Signal>, Signal)>,
) -> Result<bool, Error> {
    let receivers = internals.signal_receivers();
    debug!("relaying {signal} to {} actor(s)", receivers.len());
    if signal == Signal::User2 {
        for line in internals.collect_metrics().to_string().lines() {
            info!(target: "kiln_rt::metrics", "{line}");
        }
    }
    let mut accepted = 0;
    for actor_ref in receivers {
        match actor_ref.try_send(signal) {
            Ok(()) => accepted += 1,
            Err(SendError::Full(signal)) => {
                accepted += 1;
                undelivered.push((actor_ref, signal));
            }
            Err(_) => {}
        }
    }
    crate::runtime::trace::signal(signal.as_raw(), accepted);
    if accepted == 0 && signal != Signal::User2 {
        if signal.should_exit() {
            info!("received {signal} and no actor receives it: stopping the runtime");
            return Err(Error::exit_signal(signal));
        }
        warn!("received {signal}, but no actor receives it; ignoring it");
    }
    Ok(accepted > 0)
}
