//! The coordinator: what `Runtime::start` runs on the calling thread.
//!
//! It owns an io_uring of its own, on which it reads process signals (a
//! `signalfd`, through a10) and relays them to the registered actors (on
//! SIGUSR2 it also logs the runtime's metrics), and it
//! waits for the worker and synchronous actor threads to finish, which tell
//! it so through a channel and a wake-up of its ring. `start` returns once
//! every thread has finished, or with the first error.
//!
//! The first exit signal an actor accepts starts a graceful shutdown; a
//! second exit signal while the threads are still finishing forces it:
//! `start` returns at once with an error that says so (see
//! [`Signal`](crate::Signal)).
//!
//! Its ring is also the runtime's *shared ring*: the I/O of thread-safe and
//! synchronous actors. Other threads queue operations on it and wake the
//! coordinator (see [`ring_waker`](crate::runtime::io::ring_waker)), whose next poll
//! submits them; completions wake the actors on whichever worker is free.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::task::{self, Poll, Waker};
use std::thread;
use std::time::Duration;

use a10::Ring;
use a10::process::Signals;
use kiln::ActorRef;
use kiln::actor_ref::SendError;
use log::{debug, info, warn};

use crate::error::Error;
use crate::runtime::io::ring_waker::RingWaker;
use crate::runtime::shared::RuntimeInternals;
use crate::runtime::worker::ThreadExit;
use crate::signal::Signal;

/// How often to retry delivering a signal to a full inbox.
const SIGNAL_RETRY: Duration = Duration::from_millis(1);

pub(crate) struct Coordinator {
    /// Shared with the threads that queue operations on it: they poll it
    /// when they need room in its submission queue and the coordinator is
    /// not polling it (see `runtime/io.rs`).
    ring: Arc<Mutex<Ring>>,
    /// Wakes the coordinator: threads that exit, and thread-safe I/O queued
    /// on the ring (the shared ring) that only the coordinator submits.
    waker: Arc<RingWaker>,
    signals: Signals,
    exits: mpsc::Receiver<ThreadExit>,
    /// Handed to synchronous actor threads.
    exits_sender: mpsc::Sender<ThreadExit>,
    workers: Vec<thread::JoinHandle<()>>,
    sync_threads: Vec<thread::JoinHandle<()>>,
}

impl Coordinator {
    pub(crate) fn new(
        ring: Arc<Mutex<Ring>>,
        waker: Arc<RingWaker>,
        signals: Signals,
        exits: mpsc::Receiver<ThreadExit>,
        exits_sender: mpsc::Sender<ThreadExit>,
        workers: Vec<thread::JoinHandle<()>>,
    ) -> Coordinator {
        Coordinator {
            ring,
            waker,
            signals,
            exits,
            exits_sender,
            workers,
            sync_threads: Vec::new(),
        }
    }

    /// What a synchronous actor thread needs to report its exit.
    pub(crate) fn exit_reporter(&self) -> (mpsc::Sender<ThreadExit>, Arc<RingWaker>) {
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
            );
            crate::runtime::trace::StopRecording
        });
        let mut workers_left = self.workers.len();
        let mut sync_left = self.sync_threads.len();
        // Signals that found a full inbox, to retry.
        let mut undelivered: Vec<(ActorRef<Signal>, Signal)> = Vec::new();
        // The exit signal that started a graceful shutdown, if one did.
        let mut shutting_down: Option<Signal> = None;
        let mut receive = pin!(self.signals.receive());
        let mut cx = task::Context::from_waker(Waker::noop());
        loop {
            while let Ok(exit) = self.exits.try_recv() {
                match exit {
                    ThreadExit::Worker(index, result) => {
                        workers_left -= 1;
                        debug!("worker {index} finished");
                        result?;
                    }
                    ThreadExit::SyncActor => sync_left -= 1,
                }
            }
            if workers_left == 0 && sync_left == 0 {
                break;
            }

            // The signal future is polled every turn; the ring wakes us when
            // a signal arrives (its waker needs to do nothing).
            if let Poll::Ready(result) = receive.as_mut().poll(&mut cx) {
                let info = result.map_err(Error::coordinator)?;
                receive.set(self.signals.receive());
                if let Some(signal) = Signal::from_a10(info.signal()) {
                    if let Some(first) = shutting_down.filter(|_| signal.should_exit()) {
                        warn!(
                            "received {signal} while shutting down after {first}: stopping at \
                             once, without waiting for {workers_left} worker(s) and {sync_left} \
                             synchronous actor(s) to finish"
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
            // A panic in another thread's poll (a buffer's drop) leaves the
            // ring usable.
            let result = self
                .ring
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .poll(timeout);
            match result {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(Error::coordinator(err)),
            }
        }
        for handle in self.workers.drain(..).chain(self.sync_threads.drain(..)) {
            // The threads have reported their exit; this only waits for
            // them to return.
            let _ = handle.join();
        }
        Ok(())
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
