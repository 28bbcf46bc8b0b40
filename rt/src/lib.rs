//! kiln-rt is the runtime of the [kiln] actor framework: one worker thread
//! per core, each with its own io_uring ring (or epoll instance, where
//! io_uring is blocked) and scheduler, running thread-local, thread-safe and
//! synchronous actors.
//!
//! # About
//!
//! The runtime is event-driven: nothing runs until an event (a message,
//! completed I/O, a timer) wakes it, and a worker with nothing to do sleeps
//! in the kernel. It is share-nothing where it can be: thread-local actors
//! run on one worker with no locks or atomics in the scheduler's path, and a
//! message between two actors on one worker never touches the I/O driver.
//!
//! The I/O driver is io_uring where it can be used, else epoll (Docker's
//! default seccomp profile blocks io_uring, for one): the runtime chooses
//! when it is built and logs its choice at info level; every I/O type works
//! on both, and the environment variable `KILN_IO_DRIVER` (`auto`, `uring`,
//! `poll`) forces one. See [`IoDriver`](io::IoDriver).
//!
//! # Getting started
//!
//! ```no_run
//! use std::convert::Infallible;
//! use kiln::{actor, actor_fn};
//! use kiln::supervisor::NoSupervisor;
//! use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};
//!
//! async fn greeter(mut ctx: actor::Context<&'static str, ThreadLocal>) {
//!     while let Ok(name) = ctx.receive_next().await {
//!         println!("Hello, {name}!");
//!     }
//! }
//!
//! fn main() -> Result<(), kiln_rt::Error> {
//!     // One worker thread per core.
//!     let mut runtime = Runtime::setup().use_all_cores().build()?;
//!     // Runs on every worker: each spawns a greeter of its own and sends it
//!     // a name, so this prints "Hello, World!" once per worker.
//!     runtime.run_on_workers(|mut rt: RuntimeRef| -> Result<(), Infallible> {
//!         let greeter = rt.spawn_local(NoSupervisor, actor_fn(greeter), (), ActorOptions::default());
//!         greeter.try_send("World").unwrap();
//!         Ok(())
//!     })?;
//!     // Returns once every greeter has ended (its last reference is gone).
//!     runtime.start()
//! }
//! ```
//!
//! The README's "A first actor" and the guide (`docs/guide.md`) go on from
//! here: messages and answers, supervisors, timers, a TCP server and its
//! tests.
//!
//! # Three kinds of actors
//!
//! - **Thread-local** actors ([`RuntimeRef::spawn_local`], context
//!   `actor::Context<M, ThreadLocal>`) stay on the worker that spawned them.
//!   They need not be `Send` and are the cheapest kind: use them by default,
//!   e.g. one per connection, spread over the workers.
//! - **Thread-safe** actors ([`Runtime::spawn`], context
//!   `actor::Context<M, ThreadSafe>`) are `Send` and run on whichever worker
//!   is free: use them for work that must not wait for one busy worker.
//! - **Synchronous** actors ([`Runtime::spawn_sync_actor`], context
//!   `kiln::sync::Context<M, access::Sync>`) get a thread of their own and
//!   may block: use them for blocking libraries or CPU-heavy work. Their runtime access is named through its module,
//!   [`access::Sync`], and is not re-exported at the root like
//!   [`ThreadLocal`] and [`ThreadSafe`]: there it would shadow
//!   [`std::marker::Sync`] in code that imports `kiln_rt::*`.
//!
//! Any [`ActorRef`](kiln::ActorRef) can send to any kind of actor from any
//! thread.
//!
//! # Modules
//!
//! - [`net`]: TCP, UDP and Unix sockets, and [`Server`](net::Server), the
//!   actor-per-connection TCP server.
//! - [`io`]: buffers (passed by value to the kernel and back), the
//!   standard streams and the choice of I/O driver; [`fs`]: files; [`pipe`]: pipes and a child's
//!   standard streams; [`process`]: spawning child processes, waiting for
//!   them and sending them signals.
//! - [`systemd`]: telling systemd the service is ready or stopping
//!   ([`Notify`](systemd::Notify)) and feeding its watchdog
//!   ([`watchdog`](systemd::watchdog)).
//! - [`timer`]: [`Timer`](timer::Timer), [`Deadline`](timer::Deadline),
//!   [`Interval`](timer::Interval).
//! - [`Signal`]: process signals as messages (`receive_signals`).
//! - [`metrics`]: what the runtime is doing, per worker and as a whole
//!   ([`RuntimeMetrics`](metrics::RuntimeMetrics)); SIGUSR2 logs them.
//! - [`trace`]: a trace of runtime and actor events to look at on a
//!   timeline ([`Setup::enable_tracing`]).
//! - [`access`]: the runtime access types actors' contexts carry.
//! - [`spawn`]: options for spawning.
//! - `tokio` (feature `tokio`): running futures that need a tokio runtime
//!   (tokio-based database drivers, HTTP clients, ...) from actors.
//! - `test` (feature `test`): helpers to test actors on a test runtime.
//!
//! The feature-gated modules are documented only when their feature is on:
//! `cargo doc -p kiln-rt --all-features --open`.
//!
//! # Platform
//!
//! Linux. io_uring needs Linux 6.6 or later, allowed (Docker's default
//! seccomp profile blocks it), and [`process::wait`] on io_uring 6.7;
//! elsewhere the runtime runs on epoll (see [`IoDriver`](io::IoDriver)),
//! where [`process::wait`] needs Linux 5.4. A runtime forced onto io_uring
//! where it can't be used fails to build with an error that says why
//! ([`Error::is_io_uring_unavailable`]).
//!
//! [kiln]: kiln

pub mod access;
mod error;
pub mod fs;
pub mod io;
pub mod metrics;
pub mod net;
pub mod pipe;
pub mod process;
mod runtime;
mod runtime_ref;
mod setup;
mod signal;
pub mod spawn;
pub mod systemd;
#[cfg(feature = "test")]
pub mod test;
pub mod timer;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod trace;

// `Sync` (the runtime access of synchronous actors) stays in `access`: at the
// root, `use kiln_rt::*` would shadow `std::marker::Sync`.
#[doc(no_inline)]
pub use access::{Access, ThreadLocal, ThreadSafe};
pub use error::Error;
pub use runtime::Runtime;
pub use runtime_ref::RuntimeRef;
pub use setup::{MAX_THREADS, Setup};
pub use signal::Signal;
#[doc(no_inline)]
pub use spawn::{ActorOptions, FutureOptions, Priority, Spawn, SyncActorOptions};
