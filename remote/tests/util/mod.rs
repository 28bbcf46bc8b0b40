//! Helpers shared by the tests: running a test body on a runtime with a
//! time limit, and message types.

#![allow(dead_code, reason = "each test uses some of the helpers")]

use std::future::Future;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use std::pin::Pin;

use kiln::actor::{self, actor_fn};
use kiln::supervisor::NoSupervisor;
use kiln_remote::{Config, Message, Node, Security, TlsIdentity};
use kiln_rt::Runtime;
use kiln_rt::access::ThreadSafe;
use kiln_rt::spawn::{ActorOptions, Spawn};
use kiln_rt::timer::Timer;
use serde::{Deserialize, Serialize};

pub(crate) mod child;
pub(crate) mod logs;

/// Generous: the machine is a noisy 2-vCPU VM.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// A numbered message.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Numbered {
    pub(crate) from: u32,
    pub(crate) seq: u64,
}

impl Message for Numbered {
    const NAME: &'static str = "test.Numbered";
}

/// A text message.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text(pub(crate) String);

impl Message for Text {
    const NAME: &'static str = "test.Text";
}

/// A request to add.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Add(pub(crate) u64);

impl Message for Add {
    const NAME: &'static str = "test.Add";
}

/// A total.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Total(pub(crate) u64);

impl Message for Total {
    const NAME: &'static str = "test.Total";
}

/// A plaintext node config on a free loopback port, with moderate SWIM
/// timings: the tests that use it end links by stopping nodes (which leave
/// the cluster at once), and a busy machine must not make a node look
/// dead.
pub(crate) fn plain(name: &str) -> Config {
    moderate(Config::new(
        "test",
        name,
        "127.0.0.1:0".parse().unwrap(),
        Security::InsecurePlaintext,
    ))
}

/// A node config with mutual TLS (`identity`) on a free loopback port,
/// with fast SWIM timings.
pub(crate) fn tls(name: &str, identity: TlsIdentity) -> Config {
    fast(Config::new(
        "test",
        name,
        "127.0.0.1:0".parse().unwrap(),
        Security::MutualTls(identity),
    ))
}

/// SWIM timings for nodes in child processes under load (a million
/// messages, a debug build, three processes on two cores): probe every
/// 500 ms, 250 ms for an answer, 1.5 s to refute a suspicion.
pub(crate) fn moderate(config: Config) -> Config {
    config
        .with_probe_period(Duration::from_millis(500))
        .with_probe_timeout(Duration::from_millis(250))
        .with_suspect_timeout(Duration::from_millis(1500))
        .with_reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500))
}

/// Fast SWIM timings for tests.
pub(crate) fn fast(config: Config) -> Config {
    config
        .with_probe_period(Duration::from_millis(300))
        .with_probe_timeout(Duration::from_millis(150))
        .with_suspect_timeout(Duration::from_millis(900))
        .with_reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500))
}

/// A test body: runs as a thread-safe actor.
type Body = Box<dyn FnOnce(ThreadSafe) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

async fn body_actor(ctx: actor::Context<(), ThreadSafe>, body: Body, done: mpsc::Sender<()>) {
    let rt = ctx.runtime_ref().clone();
    body(rt).await;
    let _ = done.send(());
}

/// Builds a runtime, lets `setup` start nodes and actors on it, runs the
/// body it returns as an actor, and fails the test if the body does not
/// finish (or the runtime does not stop after it) within `TIMEOUT`. The
/// body must stop its nodes.
pub(crate) fn run<S, B, F>(setup: S)
where
    S: FnOnce(&mut Runtime) -> B + Send + 'static,
    B: FnOnce(ThreadSafe) -> F + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let (done, finished) = mpsc::channel();
    let handle = thread::spawn(move || {
        let mut runtime = Runtime::new().expect("runtime");
        let body = setup(&mut runtime);
        let body: Body = Box::new(move |rt| Box::pin(body(rt)));
        runtime.spawn(
            NoSupervisor,
            actor_fn(body_actor),
            (body, done),
            ActorOptions::default(),
        );
        runtime.start().expect("runtime failed");
    });
    match finished.recv_timeout(TIMEOUT) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the test body panicked (see its message above)")
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("test body did not finish within {TIMEOUT:?}")
        }
    }
    // The nodes stop: the runtime ends soon after.
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !handle.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "runtime did not stop after the test"
        );
        thread::sleep(Duration::from_millis(10));
    }
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

/// Waits until `check` holds, polling every 10 ms, for at most `TIMEOUT`.
pub(crate) async fn eventually(rt: &ThreadSafe, what: &str, mut check: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check() {
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for: {what}");
        Timer::after(rt.clone(), Duration::from_millis(10)).await;
    }
}

/// Starts a node, panicking with the error.
pub(crate) fn start(runtime: &mut Runtime, config: Config) -> Node {
    Node::start(runtime, config).unwrap_or_else(|err| panic!("{err}"))
}
