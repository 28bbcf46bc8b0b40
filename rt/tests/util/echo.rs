//! The echo tests with many clients (`udp.rs`, `unix_stream.rs`,
//! `unix_datagram.rs`): how many clients send how many messages, the
//! messages (every byte checkable), what the server, its connections and the
//! clients report, and the check of those reports; a client as an actor
//! ([`client_actor`]); and running an echo test, as thread-local actors on
//! two workers ([`thread_local_echo`]) or as thread-safe ones
//! ([`thread_safe_echo`]). The datagram echo server is in
//! [`super::datagram_echo`].

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, mpsc};
use std::task::Poll;

use kiln::actor;
use kiln_rt::{Runtime, RuntimeRef};

use super::one_at_a_time::one_at_a_time;
use super::runtime::run_runtime;

/// Clients of an echo server.
pub(crate) const CLIENTS: usize = 200;
/// Clients of an echo server when they are thread-safe actors: the runs
/// with [`CLIENTS`] are the heavier ones (see the test files' docs).
pub(crate) const SHARED_CLIENTS: usize = 20;
/// Messages each client sends, one at a time.
pub(crate) const ROUNDS: usize = 4;
/// The id the server reports its result with.
pub(crate) const SERVER: usize = usize::MAX;
/// The id connection actors report their result with.
pub(crate) const CONNECTION: usize = usize::MAX - 1;

/// Who reports (a client id, [`SERVER`] or [`CONNECTION`]) and the result: a
/// count (bytes or messages echoed, messages sent again: each test says), or
/// what went wrong.
pub(crate) type Report = (usize, Result<usize, String>);

/// The message client `id` sends in `round`: its id and round, then bytes
/// of both; 8 bytes up to `max` in all.
pub(crate) fn payload(id: usize, round: usize, max: usize) -> Vec<u8> {
    let len = 8 + (id * 3137 + round * 7919) % (max - 8);
    let mut buf = Vec::with_capacity(len);
    buf.extend_from_slice(&u32::try_from(id).unwrap().to_be_bytes());
    buf.extend_from_slice(&u32::try_from(round).unwrap().to_be_bytes());
    buf.extend((8..len).map(|i| (i ^ id.wrapping_mul(31) ^ round) as u8));
    buf
}

/// Fails unless `echo` is `sent`, the message of `round`.
pub(crate) fn check_echo(round: usize, echo: &[u8], sent: &[u8]) -> Result<(), String> {
    if echo == sent {
        Ok(())
    } else {
        Err(format!(
            "round {round}: wrong echo of {} bytes (sent {})",
            echo.len(),
            sent.len()
        ))
    }
}

/// The bytes `count` clients send in all, in messages of at most `max`
/// bytes.
pub(crate) fn total_bytes(max: usize, count: usize) -> usize {
    (0..count)
        .flat_map(|id| (0..ROUNDS).map(move |round| payload(id, round, max).len()))
        .sum()
}

/// The sums of the reports, once [`check_reports`] found them all.
#[derive(Debug)]
pub(crate) struct Reports {
    /// What the server reported.
    pub(crate) server: usize,
    /// The sum of what the clients reported.
    pub(crate) clients: usize,
    /// How many connection actors reported.
    pub(crate) connections: usize,
    /// The sum of what they reported.
    pub(crate) connections_total: usize,
}

/// Checks that each of `count` clients reported success once, that the
/// server did once, and that no connection failed; returns the sums.
#[track_caller]
pub(crate) fn check_reports(reports: &mpsc::Receiver<Report>, count: usize) -> Reports {
    let mut reported = vec![false; count];
    let mut server = None;
    let mut clients = 0;
    let mut connections = 0;
    let mut connections_total = 0;
    for (id, result) in reports.try_iter() {
        match id {
            SERVER => {
                assert!(server.is_none(), "two server reports");
                server = Some(result.unwrap_or_else(|err| panic!("the server failed: {err}")));
            }
            CONNECTION => {
                connections += 1;
                connections_total +=
                    result.unwrap_or_else(|err| panic!("a connection failed: {err}"));
            }
            id => {
                clients += result.unwrap_or_else(|err| panic!("client {id} failed: {err}"));
                assert!(!reported[id], "client {id} reported twice");
                reported[id] = true;
            }
        }
    }
    let missing: Vec<_> = (0..count).filter(|&id| !reported[id]).collect();
    assert!(missing.is_empty(), "clients {missing:?} did not finish");
    Reports {
        server: server.expect("the server did not report"),
        clients,
        connections,
        connections_total,
    }
}

/// Awaits `future`, unless the actor's inbox disconnects (every reference to
/// the actor is gone: its clients are done) or a message arrives first:
/// then `None`.
pub(crate) async fn unless_stopped<M, RT, F: Future>(
    ctx: &mut actor::Context<M, RT>,
    mut future: Pin<&mut F>,
) -> Option<F::Output> {
    poll_fn(|cx| {
        if pin!(ctx.receive_next()).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        future.as_mut().poll(cx).map(Some)
    })
    .await
}

/// A client as an actor: runs `client` with the actor's runtime access,
/// reports its result as client `id`, and holds `hold` until then (the
/// server's reference, so that the server stops once every client is done).
pub(crate) async fn client_actor<RT, F, Fut, H>(
    ctx: actor::Context<Infallible, RT>,
    id: usize,
    client: F,
    hold: H,
    reports: mpsc::Sender<Report>,
) where
    RT: Clone,
    F: FnOnce(RT) -> Fut,
    Fut: Future<Output = Result<usize, String>>,
{
    let result = client(ctx.runtime_ref().clone()).await;
    reports.send((id, result)).unwrap();
    drop(hold);
}

/// Runs an echo test with [`CLIENTS`] clients as thread-local actors on a
/// two-worker runtime: `server` runs on worker 0, binds the server's socket,
/// spawns its actor (which reports to the sender it gets) and returns what
/// the clients need; then `client` spawns each client, half of them on each
/// worker (the server's and the other). Returns the reports, checked with
/// [`check_reports`].
#[track_caller]
pub(crate) fn thread_local_echo<T, S, C>(server: S, client: C) -> Reports
where
    T: Send + Sync + 'static,
    S: FnOnce(&mut RuntimeRef, mpsc::Sender<Report>) -> io::Result<T> + Send + Clone + 'static,
    C: Fn(&mut RuntimeRef, usize, &T, &mpsc::Sender<Report>) + Send + Sync + 'static,
{
    // Hundreds of sockets.
    let _one = one_at_a_time();
    let (report, reports) = mpsc::channel();
    run_runtime(2, move |runtime| {
        let (sender, started) = mpsc::channel();
        let server_report = report.clone();
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
                if rt.worker_index() == 0 {
                    sender.send(server(&mut rt, server_report)?).unwrap();
                }
                Ok(())
            })
            .expect("can't start the server");
        let (server, client) = (Arc::new(started.recv().unwrap()), Arc::new(client));
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                for id in (rt.worker_index()..CLIENTS).step_by(2) {
                    client(&mut rt, id, &server, &report);
                }
                Ok(())
            })
            .unwrap();
    });
    check_reports(&reports, CLIENTS)
}

/// Runs an echo test with `clients` clients as thread-safe actors on a
/// two-worker runtime: `spawn` spawns the server (which reports to the
/// sender it gets), which starts the clients. Returns the reports, checked
/// with [`check_reports`].
#[track_caller]
pub(crate) fn thread_safe_echo(
    clients: usize,
    spawn: impl FnOnce(&mut Runtime, mpsc::Sender<Report>) + Send + 'static,
) -> Reports {
    // Hundreds of sockets.
    let _one = one_at_a_time();
    let (report, reports) = mpsc::channel();
    run_runtime(2, move |runtime| spawn(runtime, report));
    check_reports(&reports, clients)
}
