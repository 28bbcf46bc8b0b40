//! Calling the tokio ecosystem from actors (feature `tokio`).
//!
//! Many libraries, most database drivers and HTTP clients among them, are
//! built on tokio: their futures must be polled inside a tokio runtime,
//! whose I/O driver and timers they use, and panic elsewhere ("there is no
//! reactor running"). kiln's workers are not tokio runtimes. [`run`] runs
//! such a future on a tokio runtime that kiln-rt owns and hands its output
//! back as a future the actor awaits; the actor's worker runs other actors
//! meanwhile.
//!
//! ```no_run
//! # use std::io;
//! # use kiln::actor;
//! # use kiln_rt::ThreadLocal;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! /// Asks a server with a tokio-based client (tokio's own `TcpStream`).
//! async fn ask(_: actor::Context<(), ThreadLocal>, question: Vec<u8>) -> io::Result<()> {
//!     let answer = kiln_rt::tokio::run(async move {
//!         let mut stream = tokio::net::TcpStream::connect("127.0.0.1:7000").await?;
//!         stream.write_all(&question).await?;
//!         let mut answer = Vec::new();
//!         stream.read_to_end(&mut answer).await?;
//!         Ok::<_, io::Error>(answer)
//!     })
//!     .await?;
//!     println!("{}", String::from_utf8_lossy(&answer));
//!     Ok(())
//! }
//! ```
//!
//! # The tokio runtime
//!
//! One per process, started by the first [`run`] (or [`handle`]): a
//! multi-thread tokio runtime with two worker threads (one on a machine
//! with one CPU), named `kiln-tokio`, with every driver the build's tokio
//! features provide (the library that needs tokio asks for the ones it
//! uses). Call [`init`] before to choose the number of threads. It is never
//! shut down: its threads sleep while it has nothing to do and end with the
//! process. Keep the work done on it small (I/O, waiting): the actors' own
//! work belongs on kiln's workers, and blocking calls in synchronous actors.
//!
//! # Waking, cancelling, panics
//!
//! - The future [`run`] returns ([`TokioTask`]) wakes the actor awaiting
//!   it, through the actor's waker, when the tokio task is done.
//! - Dropping it before then *aborts* the tokio task: the future stops at
//!   its next `.await` (at once, if it is waiting) and is dropped on a tokio
//!   thread. So an actor that stops, or a
//!   [`Deadline`](crate::timer::Deadline) that passes, cancels the call.
//! - A panic in the future is resumed in the actor awaiting it, as if it
//!   had happened there: the actor's supervisor decides.
//!
//! Nothing ties a call to a kiln runtime, so any actor (thread-local,
//! thread-safe or synchronous, with `sync::Context::block_on`) or thread
//! can use it; the future and its output must be `Send`, as they move to a
//! tokio thread and back.

use std::fmt;
use std::future::Future;
use std::io;
use std::num::NonZeroUsize;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{self, Poll};
use std::thread;

use ::tokio::runtime::{Builder, Handle, Runtime};
use ::tokio::task::JoinHandle;

/// The tokio runtime, once started.
static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The name of the runtime's threads.
const THREAD_NAME: &str = "kiln-tokio";

/// Runs `future` on kiln-rt's tokio runtime (started if it is not yet);
/// the returned future completes with its output. See the
/// [module documentation](self) for waking, cancelling and panics.
///
/// # Panics
///
/// If the tokio runtime is not started yet and cannot be (the system
/// refuses a thread); [`init`] returns that error instead.
pub fn run<Fut>(future: Fut) -> TokioTask<Fut::Output>
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    TokioTask {
        task: runtime().spawn(future),
    }
}

/// A handle to kiln-rt's tokio runtime (started if it is not yet), for
/// what [`run`] does not do: entering its context
/// ([`Handle::enter`]) for a library that must be *created* inside one, or
/// blocking a thread that is not an async actor's on a future
/// ([`Handle::block_on`], e.g. in a synchronous actor).
///
/// # Panics
///
/// As [`run`].
pub fn handle() -> Handle {
    runtime().handle().clone()
}

/// Starts kiln-rt's tokio runtime with `worker_threads` threads, rather
/// than the default two (see the [module documentation](self)).
///
/// Fails if `worker_threads` is 0 (`InvalidInput`), if the runtime is
/// already running (`AlreadyExists`: call `init` before the first [`run`]
/// or [`handle`]), or if it cannot be started.
pub fn init(worker_threads: usize) -> io::Result<()> {
    if worker_threads == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "can't start kiln's tokio runtime with 0 threads: it needs at least 1",
        ));
    }
    let already = || {
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            "kiln's tokio runtime is already running: call `kiln_rt::tokio::init` before \
             the first `run` or `handle`",
        )
    };
    if RUNTIME.get().is_some() {
        return Err(already());
    }
    let runtime = build(worker_threads)?;
    RUNTIME.set(runtime).map_err(|runtime| {
        // Another thread started one meanwhile. Not dropped: dropping a
        // runtime inside another's context panics.
        runtime.shutdown_background();
        already()
    })
}

/// The tokio runtime, started with the default number of threads if it is
/// not running yet.
fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        let threads = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        build(threads.min(2)).unwrap_or_else(|err| panic!("{err}"))
    })
}

/// Builds a tokio runtime with `worker_threads` threads and every driver
/// the build has.
fn build(worker_threads: usize) -> io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(worker_threads)
        .thread_name(THREAD_NAME)
        .enable_all()
        .build()
        .map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("can't start kiln's tokio runtime ({worker_threads} threads): {err}"),
            )
        })
}

/// The future of a call made with [`run`]: the output of the future
/// running on the tokio runtime. Dropping it aborts the tokio task.
#[must_use = "futures do nothing unless polled; dropping it aborts the call"]
pub struct TokioTask<T> {
    task: JoinHandle<T>,
}

impl<T> TokioTask<T> {
    /// Whether the tokio task has finished (its output not yet taken).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl<T> Future for TokioTask<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.task).poll(cx) {
            Poll::Ready(Ok(output)) => Poll::Ready(output),
            Poll::Ready(Err(err)) => match err.try_into_panic() {
                Ok(panic) => resume_unwind(panic),
                // Only a task aborted (by `drop`, after which it is never
                // polled) or a runtime shut down (never) is cancelled.
                Err(err) => panic!("kiln's tokio runtime cancelled a call: {err}"),
            },
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for TokioTask<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<T> fmt::Debug for TokioTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioTask")
            .field("id", &self.task.id())
            .field("finished", &self.task.is_finished())
            .finish()
    }
}
