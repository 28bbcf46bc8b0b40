//! Running a test's runtime so that the test always ends: [`run_runtime`]
//! builds, sets up and starts one on a thread of its own, [`run_on_one_worker`]
//! does so with one worker and a closure run on it, and [`with_timeout`]
//! bounds any scenario the same way. Each fails the test if the run takes
//! longer than [`RUN_TIMEOUT`] (a lost wake-up leaves a runtime running
//! forever), and with the run's own panic if it panics. A test that drives
//! a runtime from outside while it runs (clients on std sockets, messages to
//! its actors) [`start`]s it and waits for it to end with [`Started::ends`].
//! [`run_thread_safe_and_sync`] runs a thread-safe and a synchronous actor
//! that report to the test.

use std::convert::Infallible;
use std::panic::resume_unwind;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use kiln::actor::NewActor;
use kiln::supervisor::{NoSupervisor, Supervisor, SyncSupervisor};
use kiln::sync::SyncActor;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, Spawn, SyncActorOptions, ThreadSafe};

use super::timeout::{RUN_TIMEOUT, TIMEOUT};

/// Runs `scenario` on a thread of its own; fails the test, naming `what`, if
/// it does not end within [`RUN_TIMEOUT`], or with its panic if it panics.
#[track_caller]
pub(crate) fn with_timeout(what: &str, scenario: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let scenario = thread::spawn(move || {
        scenario();
        let _ = done.send(());
    });
    match finished.recv_timeout(RUN_TIMEOUT) {
        // Ended, or panicked (and dropped `done`): show its panic.
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = scenario.join() {
                resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: did not end in {RUN_TIMEOUT:?}"),
    }
}

/// A runtime started on a thread of its own by [`start`].
#[derive(Debug)]
#[must_use = "wait for the runtime to end with `ends`"]
pub(crate) struct Started(mpsc::Receiver<Result<(), String>>);

/// Starts `runtime` on a thread of its own.
pub(crate) fn start(runtime: Runtime) -> Started {
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(runtime.start().map_err(|err| err.to_string()));
    });
    Started(result)
}

impl Started {
    /// Whether the runtime ended within `wait`; fails the test if it ended
    /// with an error.
    #[track_caller]
    pub(crate) fn ended_within(&self, wait: Duration) -> bool {
        match self.0.recv_timeout(wait) {
            Ok(result) => {
                result.unwrap_or_else(|err| panic!("the runtime failed: {err}"));
                true
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the runtime's thread panicked"),
        }
    }

    /// Fails the test unless the runtime ends, without an error, within
    /// [`TIMEOUT`] (the test has stopped what kept it running).
    #[track_caller]
    pub(crate) fn ends(self) {
        assert_eq!(self.0.recv_timeout(TIMEOUT), Ok(Ok(())));
    }
}

/// Builds a runtime with `threads` workers on a thread of its own, runs
/// `setup` and starts it; fails the test if anything fails or the runtime
/// runs for longer than [`RUN_TIMEOUT`].
#[track_caller]
pub(crate) fn run_runtime(threads: usize, setup: impl FnOnce(&mut Runtime) + Send + 'static) {
    with_timeout("the runtime", move || {
        let mut runtime = Runtime::setup()
            .num_threads(threads)
            .build()
            .expect("can't build the runtime");
        setup(&mut runtime);
        if let Err(err) = runtime.start() {
            panic!("the runtime failed: {err}");
        }
    });
}

/// Runs `f` on the one worker of a new runtime, which runs until everything
/// `f` spawned finished; as [`run_runtime`].
#[track_caller]
pub(crate) fn run_on_one_worker(f: impl FnOnce(&mut RuntimeRef) + Send + 'static) {
    // `run_on_workers` takes a closure for each worker: a `Clone` one.
    let f = Arc::new(Mutex::new(Some(f)));
    run_runtime(1, move |runtime| {
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                let f = f.lock().unwrap().take().expect("one worker only");
                f(&mut rt);
                Ok(())
            })
            .expect("run_on_workers failed");
    });
}

/// Runs a thread-safe actor and a synchronous actor, both given the same
/// report channel, on a two-worker runtime (as [`run_runtime`]); returns
/// what they reported, sorted.
#[track_caller]
pub(crate) fn run_thread_safe_and_sync<T, TS, SA>(thread_safe: TS, synchronous: SA) -> Vec<T>
where
    T: Ord + Send + 'static,
    TS: NewActor<Argument = mpsc::Sender<T>, Error = Infallible, RuntimeAccess = ThreadSafe>
        + Send
        + 'static,
    TS::Actor: Send + 'static,
    TS::Message: Send + 'static,
    NoSupervisor: Supervisor<TS>,
    SA: SyncActor<Argument = mpsc::Sender<T>, RuntimeAccess = kiln_rt::access::Sync>
        + Send
        + 'static,
    SA::Message: Send + 'static,
    NoSupervisor: SyncSupervisor<SA>,
{
    let (report, reports) = mpsc::channel();
    run_runtime(2, move |runtime| {
        let options = ActorOptions::default();
        runtime.spawn(NoSupervisor, thread_safe, report.clone(), options);
        runtime
            .spawn_sync_actor(
                NoSupervisor,
                synchronous,
                report,
                SyncActorOptions::default(),
            )
            .expect("can't spawn the synchronous actor");
    });
    let mut reported: Vec<T> = reports.try_iter().collect();
    reported.sort_unstable();
    reported
}
