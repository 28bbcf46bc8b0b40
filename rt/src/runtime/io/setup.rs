//! Choosing and making a runtime's I/O drivers: [`Drivers::new`].
//!
//! `Auto` tries io_uring: it makes the coordinator's ring, *probes* it (a
//! ring can be made where using it is not allowed: the probe submits an
//! operation and waits for its completion), then one ring per worker. Any
//! error on the way (`ENOSYS`, `EPERM`, `EOPNOTSUPP`, `ENOMEM`, `EMFILE`,
//! ...) drops what was made and falls back to epoll, logging once, at info
//! level, which driver runs and why. A forced `Uring` fails with that error
//! instead ([`Error::io_uring`] explains it); a forced `Poll` never tries
//! io_uring.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{self, Poll, Waker};
use std::time::{Duration, Instant};

use a10::Ring;
use a10::process::Signals;
use log::info;

use crate::error::Error;
use crate::io::IoDriver;
use crate::runtime::io::poll::{Poller, SignalFd};
use crate::runtime::io::uring::ring_waker::RingWaker;
use crate::runtime::io::uring::{IoRing, WorkerRing, new_ring};
use crate::runtime::io::{DriverWaker, Io, WorkerIo};
use crate::signal::Signal;

/// How long the probe of a new ring waits for its operation to complete.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The I/O drivers of a runtime being built: the coordinator's (which is
/// also the shared one, for thread-safe I/O) and one per worker.
pub(crate) struct Drivers {
    pub(crate) coordinator: CoordinatorIo,
    /// Wakes the coordinator (thread exits, and on io_uring, thread-safe
    /// I/O queued on its ring).
    pub(crate) coordinator_waker: Arc<DriverWaker>,
    /// The handle thread-safe and synchronous actors' I/O is created with.
    pub(crate) shared: Io,
    pub(crate) workers: Vec<WorkerDriver>,
}

/// The coordinator's ring or poll instance, and how it reads signals.
pub(crate) enum CoordinatorIo {
    /// The ring is behind a mutex: other threads poll it to make room in its
    /// submission queue when the coordinator does not (see `io/uring.rs`).
    Uring {
        ring: Arc<Mutex<Ring>>,
        signals: Signals,
    },
    Poll {
        poller: Poller,
        signals: SignalFd,
    },
}

/// A worker's driver before its thread starts.
pub(crate) struct WorkerDriver {
    pub(crate) driver: WorkerDriverKind,
    /// Wakes the worker when it sleeps.
    pub(crate) waker: DriverWaker,
    /// The handle its thread-local actors' I/O is created with.
    pub(crate) handle: Io,
}

pub(crate) enum WorkerDriverKind {
    Uring(Ring),
    Poll(Poller),
}

impl WorkerDriver {
    /// A worker's ring.
    pub(crate) fn uring() -> io::Result<WorkerDriver> {
        let ring = new_ring()?;
        Ok(WorkerDriver {
            waker: DriverWaker::Uring(RingWaker::new(ring.sq())),
            handle: Io::Uring(IoRing::worker(ring.sq())),
            driver: WorkerDriverKind::Uring(ring),
        })
    }

    /// A worker's poll instance.
    pub(crate) fn poll() -> io::Result<WorkerDriver> {
        let poller = Poller::new(false)?;
        Ok(WorkerDriver {
            waker: DriverWaker::Poll(poller.handle()),
            handle: Io::Poll(poller.handle()),
            driver: WorkerDriverKind::Poll(poller),
        })
    }
}

impl WorkerDriverKind {
    /// Installs the driver on the worker's thread (a ring goes into the
    /// thread's context, see [`WorkerRing`]).
    pub(crate) fn enter(self) -> WorkerIo {
        match self {
            WorkerDriverKind::Uring(ring) => WorkerIo::Uring(WorkerRing::install(ring)),
            WorkerDriverKind::Poll(poller) => WorkerIo::Poll(poller),
        }
    }
}

impl Drivers {
    /// The drivers `choice` asks for (`Auto`: see the [module docs](self)),
    /// for `threads` workers. Blocks the runtime's signals in this thread,
    /// and so in the threads it starts from now on.
    pub(crate) fn new(choice: IoDriver, threads: usize) -> Result<Drivers, Error> {
        match choice {
            IoDriver::Uring => Drivers::uring(threads).map_err(Error::io_uring),
            IoDriver::Poll => {
                info!("I/O driver: epoll (asked for)");
                Drivers::poll(threads)
            }
            _ => match Drivers::uring(threads) {
                Ok(drivers) => {
                    info!("I/O driver: io_uring");
                    Ok(drivers)
                }
                Err(err) => {
                    info!(
                        "I/O driver: epoll, as io_uring can't be used ({})",
                        Error::io_uring(err)
                    );
                    Drivers::poll(threads)
                }
            },
        }
    }

    /// io_uring, probed; see the [module docs](self).
    fn uring(threads: usize) -> io::Result<Drivers> {
        let mut ring = new_ring()?;
        probe(&mut ring)?;
        let workers = (0..threads)
            .map(|_| WorkerDriver::uring())
            .collect::<io::Result<Vec<_>>>()?;
        // Before any thread starts, so every runtime thread inherits the
        // blocked signals and none is lost (see `Signal`).
        let signals = Signals::from_signals(ring.sq(), Signal::ALL.map(Signal::to_a10))?;
        let coordinator_waker = Arc::new(DriverWaker::Uring(RingWaker::new(ring.sq())));
        let kick = Arc::new(RingWaker::new(ring.sq()));
        let sq = ring.sq();
        let ring = Arc::new(Mutex::new(ring));
        let shared = Io::Uring(IoRing::shared(sq, kick, Arc::downgrade(&ring)));
        Ok(Drivers {
            coordinator: CoordinatorIo::Uring { ring, signals },
            coordinator_waker,
            shared,
            workers,
        })
    }

    /// epoll.
    fn poll(threads: usize) -> Result<Drivers, Error> {
        let setup = |err| Error::setup("can't create an epoll instance", err);
        let poller = Poller::new(true).map_err(setup)?;
        let workers = (0..threads)
            .map(|_| WorkerDriver::poll().map_err(setup))
            .collect::<Result<Vec<_>, Error>>()?;
        let signals = SignalFd::new(&poller.handle(), &Signal::ALL.map(Signal::as_raw))
            .map_err(|err| Error::setup("can't set up signal handling", err))?;
        Ok(Drivers {
            coordinator_waker: Arc::new(DriverWaker::Poll(poller.handle())),
            shared: Io::Poll(poller.handle()),
            coordinator: CoordinatorIo::Poll { poller, signals },
            workers,
        })
    }
}

/// Checks that `ring` can be used: submits an operation that fails as soon
/// as the kernel reads it (`openat` of the empty path: `ENOENT`) and waits
/// for its completion. Fails if entering the ring fails (a seccomp profile
/// may allow making rings and not using them), if the operation gets another
/// error, or after [`PROBE_TIMEOUT`].
fn probe(ring: &mut Ring) -> io::Result<()> {
    let mut open = pin!(a10::fs::open_file(ring.sq(), PathBuf::new()));
    let mut cx = task::Context::from_waker(Waker::noop());
    let start = Instant::now();
    loop {
        if let Poll::Ready(result) = open.as_mut().poll(&mut cx) {
            return match result {
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(err) => Err(err),
                Ok(_) => Err(io::Error::other("the probe of io_uring opened a file")),
            };
        }
        if start.elapsed() >= PROBE_TIMEOUT {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "io_uring did not complete a probe operation",
            ));
        }
        match ring.poll(Some(Duration::ZERO)) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}
