//! `kiln_rt::tokio` (feature `tokio`): actors calling a tokio-based
//! library (tokio's own `TcpStream`, which panics outside a tokio runtime)
//! through the bridge: a tokio client talking to a kiln server on one
//! worker that the call does not block, a call dropped by a deadline
//! aborting its tokio task, a panic reaching the actor's supervisor, calls
//! from thread-safe and synchronous actors, and `init`'s errors.

#![cfg(feature = "tokio")]

use std::any::Any;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kiln::actor::{self, Actor, NewActor};
use kiln::supervisor::{NoSupervisor, Supervisor, SupervisorStrategy, panic_message};
use kiln::{actor_fn, sync};
use kiln_rt::net::TcpListener;
use kiln_rt::timer::Deadline;
use kiln_rt::{ActorOptions, Runtime, Spawn, ThreadLocal, ThreadSafe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod util;

use util::timeout::TIMEOUT;

/// Starts `runtime` and waits until it returns, at most [`TIMEOUT`].
#[track_caller]
fn start(runtime: Runtime) {
    util::runtime::start(runtime).ends();
}

type Report = mpsc::Sender<(&'static str, io::Result<String>)>;

/// Accepts one connection, reads until the client's end and answers with
/// the bytes in upper case.
async fn server(ctx: actor::Context<(), ThreadLocal>, report: Report) {
    let rt = ctx.runtime_ref().clone();
    let result = async {
        let listener = TcpListener::bind(&rt, SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let address = listener.local_addr()?;
        let options = ActorOptions::default();
        let arg = (address, report.clone());
        ctx.runtime_ref()
            .clone()
            .spawn_local(NoSupervisor, actor_fn(tokio_client), arg, options);
        let (stream, _) = listener.accept().await?;
        let mut request = Vec::new();
        loop {
            let len = request.len();
            request.reserve(64);
            request = stream.recv(request).await?;
            if request.len() == len {
                break;
            }
        }
        stream.send_all(request.to_ascii_uppercase()).await?;
        Ok(String::from_utf8_lossy(&request).into_owned())
    };
    let result = Deadline::after(ctx.runtime_ref().clone(), TIMEOUT, result).await;
    let _ = report.send(("server", result));
}

/// Talks to the server with tokio's `TcpStream`, through the bridge;
/// reports the answer and the thread the tokio code ran on.
async fn tokio_client(ctx: actor::Context<(), ThreadLocal>, address: SocketAddr, report: Report) {
    let call = kiln_rt::tokio::run(async move {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        stream.write_all(b"hello from tokio").await?;
        stream.shutdown().await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        let thread = thread::current().name().unwrap_or("?").to_owned();
        Ok(format!("{answer} on {thread}"))
    });
    let result = Deadline::after(ctx.runtime_ref().clone(), TIMEOUT, call).await;
    let _ = report.send(("client", result));
}

/// One worker runs both the kiln server and the actor waiting for the tokio
/// client: the call does not block the worker (else the server could not
/// answer).
#[test]
fn a_tokio_client_talks_to_a_kiln_server_on_the_same_worker() {
    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let (report, reports) = mpsc::channel();
    runtime
        .spawn_local_on(
            0,
            NoSupervisor,
            actor_fn(server),
            report,
            ActorOptions::default(),
        )
        .unwrap();
    start(runtime);
    let mut got: Vec<_> = reports.try_iter().collect();
    got.sort_by_key(|(name, _)| *name);
    let got: Vec<_> = got
        .into_iter()
        .map(|(name, result)| {
            (
                name,
                result.unwrap_or_else(|err| panic!("the {name} failed: {err}")),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("client", "HELLO FROM TOKIO on kiln-tokio".to_owned()),
            ("server", "hello from tokio".to_owned()),
        ]
    );
}

/// Sends on a channel when dropped.
struct DropFlag(mpsc::Sender<Instant>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        let _ = self.0.send(Instant::now());
    }
}

/// A call that would sleep a minute is dropped by a 200 ms deadline: its
/// tokio task is aborted, which drops its future well before the minute.
#[test]
fn dropping_the_call_aborts_the_tokio_task() {
    async fn caller(
        ctx: actor::Context<(), ThreadLocal>,
        flag: DropFlag,
        report: mpsc::Sender<io::ErrorKind>,
    ) {
        let call = kiln_rt::tokio::run(async move {
            let _flag = flag;
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let rt = ctx.runtime_ref().clone();
        let call = async {
            call.await;
            Ok::<(), io::Error>(())
        };
        let result = Deadline::after(rt, Duration::from_millis(200), call).await;
        let _ = report.send(result.map_or_else(|err| err.kind(), |()| io::ErrorKind::Other));
    }
    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let (dropped, was_dropped) = mpsc::channel();
    let (report, reports) = mpsc::channel();
    let start_time = Instant::now();
    let arg = (DropFlag(dropped), report);
    runtime
        .spawn_local_on(
            0,
            NoSupervisor,
            actor_fn(caller),
            arg,
            ActorOptions::default(),
        )
        .unwrap();
    start(runtime);
    assert_eq!(reports.try_recv(), Ok(io::ErrorKind::TimedOut));
    let dropped_at = was_dropped
        .recv_timeout(Duration::from_secs(30))
        .expect("the tokio task's future was not dropped: not aborted");
    assert!(
        dropped_at.duration_since(start_time) < Duration::from_secs(30),
        "dropped only after {:?}",
        dropped_at.duration_since(start_time)
    );
}

/// Records the message of a panic, and stops the actor.
struct PanicRecorder(mpsc::Sender<String>);

impl<NA> Supervisor<NA> for PanicRecorder
where
    NA: NewActor<Error = Infallible>,
    NA::Actor: Actor<Error = Infallible>,
{
    fn decide(&mut self, err: Infallible) -> SupervisorStrategy<NA::Argument> {
        match err {}
    }

    fn decide_on_restart_error(&mut self, err: Infallible) -> SupervisorStrategy<NA::Argument> {
        match err {}
    }

    fn second_restart_error(&mut self, err: Infallible) {
        match err {}
    }

    fn decide_on_panic(
        &mut self,
        panic: Box<dyn Any + Send + 'static>,
    ) -> SupervisorStrategy<NA::Argument> {
        let _ = self.0.send(panic_message(&*panic).to_owned());
        SupervisorStrategy::Stop
    }
}

/// A panic in the tokio future is resumed in the actor: its supervisor
/// gets it.
#[test]
fn a_panic_in_the_call_reaches_the_actors_supervisor() {
    async fn caller(_: actor::Context<(), ThreadSafe>) {
        kiln_rt::tokio::run(async { panic!("the tokio call panicked") }).await;
    }
    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let (panics, panicked) = mpsc::channel();
    runtime.spawn(
        PanicRecorder(panics),
        actor_fn(caller),
        (),
        ActorOptions::default(),
    );
    start(runtime);
    assert_eq!(
        panicked.try_recv(),
        Ok("the tokio call panicked".to_owned())
    );
}

/// Thread-safe and synchronous actors call too; `handle` blocks a
/// synchronous actor's thread on a tokio future.
#[test]
fn thread_safe_and_synchronous_actors_call_tokio() {
    async fn thread_safe(_: actor::Context<(), ThreadSafe>, report: mpsc::Sender<u32>) {
        let n = kiln_rt::tokio::run(async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            1
        })
        .await;
        let _ = report.send(n);
    }
    fn synchronous(mut ctx: sync::Context<(), kiln_rt::access::Sync>, report: mpsc::Sender<u32>) {
        let n = ctx.block_on(kiln_rt::tokio::run(async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            2
        }));
        let _ = report.send(n);
        let n = kiln_rt::tokio::handle().block_on(async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            3
        });
        let _ = report.send(n);
    }
    let reported =
        util::runtime::run_thread_safe_and_sync(actor_fn(thread_safe), actor_fn(synchronous));
    assert_eq!(reported, [1, 2, 3]);
}

#[test]
fn init_refuses_zero_threads_and_comes_too_late_once_running() {
    let err = kiln_rt::tokio::init(0).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let _ = kiln_rt::tokio::handle(); // Started, if no other test did.
    let err = kiln_rt::tokio::init(2).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert!(err.to_string().contains("before the first `run`"), "{err}");
}
