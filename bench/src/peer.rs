//! What the workloads share: the runtimes the peers run on, the inbox
//! capacity every system gets, and the channel through which an actor hands
//! its result to the benchmark.
//!
//! tokio, kameo and ractor run on tokio runtimes built here: a
//! `current_thread` runtime for one thread, and a `multi_thread` runtime with
//! two workers for the two-worker flavour. actix builds its own (`System`,
//! `Arbiter`), see the workloads.

use std::future::Future;
use std::thread;

/// The setup of a kiln runtime for `system`: `kiln` runs on io_uring,
/// `kiln-poll` on epoll (the two I/O drivers, see `--driver`). A message
/// between actors never touches the driver, so only W7 should differ.
pub(crate) fn kiln_setup(system: &str) -> kiln_rt::Setup {
    let driver = if system == "kiln-poll" {
        kiln_rt::io::IoDriver::Poll
    } else {
        kiln_rt::io::IoDriver::Uring
    };
    kiln_rt::Runtime::setup().with_io_driver(driver)
}

/// The inbox capacity of every system that has bounded inboxes: kiln's
/// default.
pub(crate) const CAPACITY: usize = 8;

/// Where an actor sends its result (or what went wrong) when it is done; a
/// tokio oneshot, which works across runtimes and inside actix.
pub(crate) type ResultSender<T> = tokio::sync::oneshot::Sender<Result<T, String>>;

/// Sends `result` to `slot`'s receiver, if not done before.
pub(crate) fn report<T>(slot: &mut Option<ResultSender<T>>, result: Result<T, String>) {
    if let Some(sender) = slot.take() {
        // The benchmark stopped waiting only if it failed already.
        let _ = sender.send(result);
    }
}

/// Waits for the result sent through [`report`].
pub(crate) async fn result<T>(
    receiver: tokio::sync::oneshot::Receiver<Result<T, String>>,
) -> Result<T, String> {
    receiver
        .await
        .map_err(|_| "the actor stopped without a result".to_owned())?
}

/// A tokio runtime on the calling thread only.
pub(crate) fn current_thread() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|err| err.to_string())
}

/// A work-stealing tokio runtime with two worker threads.
pub(crate) fn two_workers() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .map_err(|err| err.to_string())
}

/// Runs the future `f` makes on a new thread, on a `current_thread` runtime
/// of its own.
pub(crate) fn on_second_thread<F, Fut>(f: F) -> thread::JoinHandle<Result<Fut::Output, String>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    thread::spawn(move || Ok(current_thread()?.block_on(async move { f().await })))
}

/// Waits for a thread started by [`on_second_thread`].
pub(crate) fn join<T>(handle: thread::JoinHandle<Result<T, String>>) -> Result<T, String> {
    handle
        .join()
        .map_err(|_| "the second thread panicked".to_owned())?
}
