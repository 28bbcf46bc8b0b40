//! [`Setup`]: configures and builds a [`Runtime`].

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use log::debug;

use crate::error::Error;
use crate::io::IoDriver;
use crate::runtime::Runtime;
use crate::runtime::coordinator::Coordinator;
use crate::runtime::io::setup::Drivers;
use crate::runtime::shared::RuntimeInternals;
use crate::runtime::trace::TraceFile;
use crate::runtime::worker::{Tuning, WorkerSetup};

impl Runtime {
    /// Returns a [`Setup`] to configure a runtime.
    pub const fn setup() -> Setup {
        Setup::new()
    }

    /// A runtime with the default setup: one worker thread.
    pub fn new() -> Result<Runtime, Error> {
        Setup::new().build()
    }
}

/// The most workers one runtime may have.
pub const MAX_THREADS: usize = 512;

/// Configures a [`Runtime`]; created by [`Runtime::setup`].
///
/// ```no_run
/// use kiln_rt::Runtime;
///
/// let runtime = Runtime::setup()
///     .with_name("my-service")
///     .use_all_cores()
///     .auto_cpu_affinity()
///     .build()?;
/// # drop(runtime);
/// # Ok::<(), kiln_rt::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "the setup does nothing until `build` is called"]
pub struct Setup {
    name: Option<String>,
    threads: usize,
    auto_cpu_affinity: bool,
    tuning: Tuning,
    trace: Option<PathBuf>,
    io_driver: IoDriver,
}

impl Setup {
    pub(crate) const fn new() -> Setup {
        Setup {
            name: None,
            threads: 1,
            auto_cpu_affinity: false,
            tuning: Tuning::DEFAULT,
            trace: None,
            io_driver: IoDriver::Auto,
        }
    }

    /// Sets the runtime's name, used in thread names and logs. The default is
    /// the program's name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the number of worker threads (default 1; 1 to [`MAX_THREADS`]).
    pub const fn num_threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }

    /// One worker thread per CPU core.
    pub fn use_all_cores(mut self) -> Self {
        self.threads = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        self
    }

    /// Pins worker *i* to CPU *i* (modulo the number of CPUs).
    pub const fn auto_cpu_affinity(mut self) -> Self {
        self.auto_cpu_affinity = true;
        self
    }

    /// Sets how long a worker runs thread-local actors before it looks at
    /// expired timers, I/O and wake-ups of its thread-local actors from other
    /// threads (default 2 ms; also at most 256 runs). Shorter gives timers
    /// and such wake-ups lower latency under load, longer gives busy
    /// thread-local actors more throughput. Thread-safe actors do not wait
    /// for the end of the slice: a worker whose thread-local actors have had
    /// more of its time than its thread-safe ones (by 100 µs) runs the ready
    /// thread-safe actors of its shard (those spawned on it, or given to it
    /// round robin) after the current poll, so when both kinds are busy each
    /// gets about half of the worker.
    pub const fn with_time_slice(mut self, time_slice: Duration) -> Self {
        self.tuning.time_slice = time_slice;
        self
    }

    /// Sets how many thread-safe actor runs a worker makes in each turn of
    /// its loop (default 16, at least 1).
    pub const fn with_thread_safe_runs(mut self, runs: usize) -> Self {
        self.tuning.max_shared_runs = runs;
        self
    }

    /// Sets the capacity of each worker's queue of wake-ups from other
    /// threads (default 1,024; 1 to 65,536). A full queue loses nothing: the
    /// worker then checks all its actors, which costs more the more it has.
    pub const fn with_wake_queue_capacity(mut self, capacity: usize) -> Self {
        self.tuning.wake_queue_capacity = capacity;
        self
    }

    /// Sets how often a busy worker with I/O pending polls its ring for
    /// completions (default 250 µs). Shorter gives I/O lower latency on a
    /// worker kept busy by CPU-bound actors; each poll that finds nothing
    /// costs a system call of about 15 µs. An idle worker always waits for
    /// I/O in the kernel, whatever this is.
    pub const fn with_io_poll_interval(mut self, interval: Duration) -> Self {
        self.tuning.io_poll_interval = interval;
        self
    }

    /// Sets how long a worker that just ran out of work spins, looking for
    /// more, before it sleeps in the kernel (default 50 µs; zero never
    /// spins). Spinning saves the system calls of a wake-up when the next
    /// piece of work (say, the reply to a message sent to another worker)
    /// comes within that time, at the price of that much CPU time each time
    /// a worker goes idle. A worker with I/O pending does not spin, and
    /// neither does one whose spin the kernel preempted, for 10 ms to 1 s
    /// (growing while it keeps happening): on a machine with more runnable
    /// threads than CPUs a preempted spinner waits for a CPU while its peer
    /// takes it for awake and does not wake it.
    pub const fn with_idle_spin(mut self, spin: Duration) -> Self {
        self.tuning.idle_spin = spin;
        self
    }

    /// Sets the I/O driver (default [`IoDriver::Auto`]: io_uring if it can
    /// be used, else epoll); the environment variable `KILN_IO_DRIVER`
    /// (`auto`, `uring` or `poll`) overrides it, so an operator can switch
    /// without a rebuild. See [`IoDriver`].
    pub fn with_io_driver(mut self, driver: IoDriver) -> Self {
        self.io_driver = driver;
        self
    }

    /// Records a trace of the runtime's events (see [`trace`](crate::trace))
    /// into the file at `path`, created (or truncated) by `build`. Convert it
    /// for Perfetto or `chrome://tracing` with the `kiln-trace` tool:
    /// `cargo run -p kiln-trace -- chrome trace.bin trace.json`.
    pub fn enable_tracing(mut self, path: impl Into<PathBuf>) -> Self {
        self.trace = Some(path.into());
        self
    }

    /// The number of worker threads.
    pub const fn get_threads(&self) -> usize {
        self.threads
    }

    /// Builds the runtime: sets up signal handling, one io_uring per worker
    /// and starts the worker threads.
    ///
    /// Call it on the main thread before starting other threads: process
    /// signals are blocked in the calling thread and the threads it starts
    /// from then on (so that the runtime receives them), and a thread that
    /// does not block them gets the signal's default action instead.
    ///
    /// Fails with an error that names the cause if io_uring cannot be used
    /// (an old kernel, a seccomp profile, the memlock limit), or if the
    /// number of threads is 0 or more than [`MAX_THREADS`].
    pub fn build(self) -> Result<Runtime, Error> {
        if self.threads == 0 {
            return Err(Error::invalid_setup(
                "the number of worker threads must be at least 1",
            ));
        }
        if self.threads > MAX_THREADS {
            return Err(Error::invalid_setup(
                "the number of worker threads must be at most 512",
            ));
        }
        if self.tuning.max_shared_runs == 0 {
            return Err(Error::invalid_setup(
                "the number of thread-safe runs per turn must be at least 1",
            ));
        }
        let capacity = self.tuning.wake_queue_capacity;
        if !(kiln_inbox::MIN_CAPACITY..=kiln_inbox::MAX_CAPACITY).contains(&capacity) {
            return Err(Error::invalid_setup(
                "the wake-up queue capacity must be 1 to 65,536",
            ));
        }
        let name = self.name.unwrap_or_else(default_name);
        debug!("building runtime '{name}' with {} workers", self.threads);

        let choice = match IoDriver::from_env() {
            Ok(Some(driver)) => driver,
            Ok(None) => self.io_driver,
            Err(err) => {
                return Err(Error::invalid_setup_owned(format!(
                    "{}: {err}",
                    IoDriver::ENV
                )));
            }
        };
        // Blocks the runtime's signals before any thread starts, so every
        // runtime thread inherits that and none is lost (see `Signal`).
        let drivers = Drivers::new(choice, self.threads)?;
        let trace = match &self.trace {
            Some(path) => Some(
                TraceFile::create(path)
                    .map_err(|err| Error::setup("can't create the trace file", err))?,
            ),
            None => None,
        };
        let internals = RuntimeInternals::new(name, self.threads, drivers.shared, trace)
            .ok_or_else(Error::too_many_workers)?;
        let coordinator_waker = drivers.coordinator_waker;
        let workers: Vec<WorkerSetup> = drivers
            .workers
            .into_iter()
            .enumerate()
            .map(|(index, driver)| WorkerSetup::new(index, driver, self.tuning))
            .collect();
        internals.set_workers(workers.iter().map(WorkerSetup::handle).collect());
        let controls = workers.iter().map(WorkerSetup::control).collect();

        let cpus = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let (exits_sender, exits) = mpsc::channel();
        let mut threads = Vec::with_capacity(workers.len());
        for (index, worker) in workers.into_iter().enumerate() {
            let cpu = self.auto_cpu_affinity.then_some(index % cpus);
            match worker.start(
                Arc::clone(&internals),
                cpu,
                exits_sender.clone(),
                coordinator_waker.clone(),
            ) {
                Ok(handle) => threads.push(handle),
                Err(err) => {
                    // Let the workers that did start stop.
                    internals.start();
                    return Err(Error::setup("can't start a worker thread", err));
                }
            }
        }
        let coordinator = Coordinator::new(
            drivers.coordinator,
            coordinator_waker,
            exits,
            exits_sender,
            threads,
        );
        Ok(Runtime::from_parts(internals, coordinator, controls))
    }
}

/// The program's name, or "kiln".
fn default_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|arg| {
            std::path::Path::new(&arg)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "kiln".to_owned())
}
