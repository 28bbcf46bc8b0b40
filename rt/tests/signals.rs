//! Process signals, with real signals (`kill(getpid(), ..)`), in a binary of its own (no test
//! harness: `harness = false` in `Cargo.toml`) since signals are process-wide; the scenarios run
//! one after another.
//!
//! - Thread-local, thread-safe and synchronous actors, registered through each of `RuntimeRef`,
//!   `Runtime`, `ThreadSafe` and `Sync`, each get SIGHUP, SIGUSR1, SIGUSR2 and SIGINT exactly
//!   once, and stop on SIGINT, so `start` returns `Ok`.
//! - A signal that finds an inbox full is delivered once there is room, exactly once.
//! - SIGTERM with no actor registered stops the runtime with an error naming it.
//! - SIGQUIT that every registered actor rejects (through `try_map`) does the same.
//! - A second exit signal during a graceful shutdown forces it: `start` returns at once, with an
//!   error that says so, whether the actor that got the first signal stopped (and so no actor
//!   receives signals any more) or still runs.
//!
//! Every thread of this process blocks the runtime's signals (they are read through a
//! `signalfd`): `main` blocks them before it starts any thread, and every thread inherits that.

use std::any::Any;
use std::convert::Infallible;
use std::panic::catch_unwind;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use kiln::InboxSize;
use kiln::actor_ref::ActorRef;
use kiln::supervisor::{NoSupervisor, panic_message};
use kiln::{actor, actor_fn, sync};
use kiln_rt::Spawn;
use kiln_rt::{
    ActorOptions, Runtime, RuntimeRef, Signal, SyncActorOptions, ThreadLocal, ThreadSafe,
};

mod util;

use util::timeout::{RUN_TIMEOUT, TIMEOUT};

/// The signals sent to the actors, in order; the last one stops them.
const SENT: [Signal; 4] = [
    Signal::Hangup,
    Signal::User1,
    Signal::User2,
    Signal::Interrupt,
];

fn main() -> ExitCode {
    block_runtime_signals();
    // A watchdog: a hanging scenario fails the binary instead of hanging it.
    thread::spawn(|| {
        thread::sleep(RUN_TIMEOUT);
        println!("signals: timed out after {RUN_TIMEOUT:?}");
        std::process::exit(2);
    });

    let scenarios: [(&str, fn()); 6] = [
        (
            "every_kind_of_actor_gets_each_signal_once",
            every_kind_of_actor_gets_each_signal_once,
        ),
        (
            "a_full_inbox_does_not_lose_a_signal",
            a_full_inbox_does_not_lose_a_signal,
        ),
        (
            "an_exit_signal_without_receivers_is_an_error",
            an_exit_signal_without_receivers_is_an_error,
        ),
        (
            "an_exit_signal_all_receivers_reject_is_an_error",
            an_exit_signal_all_receivers_reject_is_an_error,
        ),
        (
            "a_second_exit_signal_forces_the_shutdown_after_the_receiver_stopped",
            a_second_exit_signal_forces_the_shutdown_after_the_receiver_stopped,
        ),
        (
            "a_second_exit_signal_forces_the_shutdown_while_the_receiver_runs",
            a_second_exit_signal_forces_the_shutdown_while_the_receiver_runs,
        ),
    ];
    // Like the test harness: the arguments that are not options filter the scenarios by name,
    // and `--list` lists them.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args.iter().filter(|arg| !arg.starts_with('-')).collect();
    let selected: Vec<(&str, fn())> = scenarios
        .into_iter()
        .filter(|(name, _)| {
            filters.is_empty() || filters.iter().any(|filter| name.contains(filter.as_str()))
        })
        .collect();
    if args.iter().any(|arg| arg == "--list") {
        for (name, _) in &selected {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }

    println!("\nrunning {} tests", selected.len());
    let mut failed = 0;
    for &(name, scenario) in &selected {
        match catch_unwind(scenario) {
            Ok(()) => println!("test {name} ... ok"),
            Err(panic) => {
                println!("test {name} ... FAILED: {}", panic_message(&*panic));
                failed += 1;
            }
        }
    }
    let passed = selected.len() - failed;
    println!("\n{passed} passed, {failed} failed\n");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Blocks the signals the runtime handles in this thread, and so in every thread it starts.
fn block_runtime_signals() {
    // SAFETY: all zeroes is a valid (if unspecified) `sigset_t`; `sigemptyset` below initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable `sigset_t`.
    let res = unsafe { libc::sigemptyset(&raw mut set) };
    assert_eq!(res, 0, "sigemptyset failed");
    for signal in Signal::ALL {
        // SAFETY: `set` is an initialised `sigset_t` and the signal number is valid.
        let res = unsafe { libc::sigaddset(&raw mut set, signal.as_raw()) };
        assert_eq!(res, 0, "sigaddset failed");
    }
    // SAFETY: `set` is an initialised `sigset_t`; the old mask is not asked for.
    let res =
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()) };
    assert_eq!(res, 0, "pthread_sigmask failed");
}

/// Sends `signal` to this process.
fn send_signal(signal: Signal) {
    let pid = libc::pid_t::try_from(std::process::id()).expect("process id out of range");
    // SAFETY: `kill` has no memory-safety preconditions; the runtime's signals are blocked in
    // every thread, so the signal waits for the runtime's `signalfd`.
    let res = unsafe { libc::kill(pid, signal.as_raw()) };
    assert_eq!(res, 0, "kill failed: {}", std::io::Error::last_os_error());
}

/// Turns a panic payload into a panic again, on this thread.
fn resume(panic: Box<dyn Any + Send>) -> ! {
    panic!("{}", panic_message(&*panic))
}

/// The messages of the actors that are not plain `Signal` receivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Msg {
    Signal(Signal),
    /// Anything else, to fill an inbox.
    Filler,
}

impl TryFrom<Signal> for Msg {
    type Error = Signal;

    fn try_from(signal: Signal) -> Result<Msg, Signal> {
        Ok(Msg::Signal(signal))
    }
}

/// What the actors report: who, and which signal (or the filler) they got.
type Ack = (&'static str, Msg);

/// Which kinds of actor took part, and everything they received.
type Received = (&'static str, Vec<Msg>);

/// Acknowledges every message to `acks`; stops after SIGINT, reporting all it received.
fn on_message(
    who: &'static str,
    msg: Msg,
    log: &mut Vec<Msg>,
    acks: &mpsc::Sender<Ack>,
    done: &mpsc::Sender<Received>,
) -> bool {
    log.push(msg);
    let _ = acks.send((who, msg));
    if msg == Msg::Signal(Signal::Interrupt) {
        done.send((who, std::mem::take(log))).unwrap();
        return true;
    }
    false
}

/// A thread-local actor receiving plain `Signal`s.
async fn local_receiver(
    mut ctx: actor::Context<Signal, ThreadLocal>,
    who: &'static str,
    acks: mpsc::Sender<Ack>,
    done: mpsc::Sender<Received>,
) {
    let mut log = Vec::new();
    while let Ok(signal) = ctx.receive_next().await {
        if on_message(who, Msg::Signal(signal), &mut log, &acks, &done) {
            return;
        }
    }
    panic!("{who}: inbox disconnected before SIGINT");
}

/// A thread-safe actor that registers itself for signals (through `try_map`).
async fn shared_receiver(
    mut ctx: actor::Context<Msg, ThreadSafe>,
    acks: mpsc::Sender<Ack>,
    done: mpsc::Sender<Received>,
) {
    let who = "thread-safe actor (ThreadSafe)";
    let actor_ref = ctx.actor_ref().try_map();
    ctx.runtime().receive_signals(actor_ref);
    acks.send((who, Msg::Filler)).unwrap();
    let mut log = Vec::new();
    while let Ok(msg) = ctx.receive_next().await {
        if on_message(who, msg, &mut log, &acks, &done) {
            return;
        }
    }
    panic!("{who}: inbox disconnected before SIGINT");
}

/// A synchronous actor that registers itself for signals (through `try_map`), unless `register`
/// is false; waits for `go` before it receives anything.
fn sync_receiver(
    mut ctx: sync::Context<Msg, kiln_rt::access::Sync>,
    who: &'static str,
    register: bool,
    go: mpsc::Receiver<()>,
    acks: mpsc::Sender<Ack>,
    done: mpsc::Sender<Received>,
) {
    if register {
        let actor_ref = ctx.actor_ref().try_map();
        ctx.runtime().receive_signals(actor_ref);
        acks.send((who, Msg::Filler)).unwrap();
    }
    go.recv_timeout(TIMEOUT).expect("no go");
    let mut log = Vec::new();
    while let Ok(msg) = ctx.receive_next() {
        if on_message(who, msg, &mut log, &acks, &done) {
            return;
        }
    }
    panic!("{who}: inbox disconnected before SIGINT");
}

/// Waits for one acknowledgement from each of `who`, of `msg`.
#[track_caller]
fn wait_for_acks(acks: &mpsc::Receiver<Ack>, who: &[&'static str], msg: Msg) {
    let mut got: Vec<&str> = Vec::new();
    for _ in who {
        let (from, received) = acks
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("not everyone got {msg:?}; got it: {got:?}"));
        assert_eq!(received, msg, "{from} got something else");
        got.push(from);
    }
    got.sort_unstable();
    let mut who = who.to_vec();
    who.sort_unstable();
    assert_eq!(got, who, "{msg:?} went to the wrong actors");
}

fn every_kind_of_actor_gets_each_signal_once() {
    const LOCAL_REF: &str = "thread-local actor (RuntimeRef)";
    const LOCAL_RUNTIME: &str = "thread-local actor (Runtime)";
    const SHARED: &str = "thread-safe actor (ThreadSafe)";
    const SYNC: &str = "sync actor (Sync)";
    const ALL: [&str; 4] = [LOCAL_REF, LOCAL_RUNTIME, SHARED, SYNC];

    let mut runtime = Runtime::setup()
        .with_name("signals")
        .num_threads(2)
        .build()
        .unwrap();
    let (ack, acks) = mpsc::channel();
    let (done, received) = mpsc::channel();

    // A thread-local actor on each worker: the one on worker 1 registered through its
    // `RuntimeRef`, the one on worker 0 through the `Runtime`.
    let (refs, local_refs) = mpsc::channel();
    let (local_ack, local_done) = (ack.clone(), done.clone());
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let who = if rt.worker_index() == 0 {
                LOCAL_RUNTIME
            } else {
                LOCAL_REF
            };
            let arg = (who, local_ack.clone(), local_done.clone());
            let actor_ref = rt.spawn_local(
                NoSupervisor,
                actor_fn(local_receiver),
                arg,
                ActorOptions::default(),
            );
            if who == LOCAL_REF {
                rt.receive_signals(actor_ref);
            } else {
                refs.send(actor_ref).unwrap();
            }
            Ok(())
        })
        .unwrap();
    let local_ref: ActorRef<Signal> = local_refs.recv().unwrap();
    runtime.receive_signals(local_ref);

    let arg = (ack.clone(), done.clone());
    let _ = runtime.spawn(
        NoSupervisor,
        actor_fn(shared_receiver),
        arg,
        ActorOptions::default(),
    );
    let (go, wait_for_go) = mpsc::channel();
    go.send(()).unwrap();
    let arg = (SYNC, true, wait_for_go, ack, done);
    let _ = runtime
        .spawn_sync_actor(
            NoSupervisor,
            actor_fn(sync_receiver),
            arg,
            SyncActorOptions::default(),
        )
        .unwrap();

    let signaller = thread::spawn(move || {
        // The actors that register themselves say so first.
        wait_for_acks(&acks, &[SHARED, SYNC], Msg::Filler);
        for signal in SENT {
            send_signal(signal);
            wait_for_acks(&acks, &ALL, Msg::Signal(signal));
        }
    });
    let result = runtime.start();
    signaller.join().unwrap_or_else(|panic| resume(panic));
    result.expect("the runtime failed");

    let mut received: Vec<Received> = received.try_iter().collect();
    received.sort_unstable_by_key(|(who, _)| *who);
    let sent: Vec<Msg> = SENT.into_iter().map(Msg::Signal).collect();
    let mut expected: Vec<Received> = ALL.into_iter().map(|who| (who, sent.clone())).collect();
    expected.sort_unstable_by_key(|(who, _)| *who);
    assert_eq!(received, expected);
}

fn a_full_inbox_does_not_lose_a_signal() {
    const SLOW: &str = "sync actor with a full inbox";
    const WITNESS: &str = "thread-local actor";

    let mut runtime = Runtime::setup().build().unwrap();
    let (ack, acks) = mpsc::channel();
    let (done, received) = mpsc::channel();

    // Registered first: the runtime tries it first, and finds its inbox full.
    let (go, wait_for_go) = mpsc::channel();
    let arg = (SLOW, false, wait_for_go, ack.clone(), done.clone());
    let options = SyncActorOptions::default().with_inbox_size(InboxSize::ONE);
    let slow = runtime
        .spawn_sync_actor(NoSupervisor, actor_fn(sync_receiver), arg, options)
        .unwrap();
    slow.try_send(Msg::Filler).unwrap();
    assert!(slow.try_send(Msg::Filler).unwrap_err().is_full());
    runtime.receive_signals(slow.try_map());

    let (refs, witness) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let arg = (WITNESS, ack.clone(), done.clone());
            refs.send(rt.spawn_local(
                NoSupervisor,
                actor_fn(local_receiver),
                arg,
                ActorOptions::default(),
            ))
            .unwrap();
            Ok(())
        })
        .unwrap();
    runtime.receive_signals(witness.recv().unwrap());

    let signaller = thread::spawn(move || {
        send_signal(Signal::User1);
        // The witness got it, so the runtime has tried the slow actor's full inbox.
        wait_for_acks(&acks, &[WITNESS], Msg::Signal(Signal::User1));
        go.send(()).unwrap();
        wait_for_acks(&acks, &[SLOW], Msg::Filler);
        wait_for_acks(&acks, &[SLOW], Msg::Signal(Signal::User1));
        send_signal(Signal::Interrupt);
        wait_for_acks(&acks, &[SLOW, WITNESS], Msg::Signal(Signal::Interrupt));
    });
    let result = runtime.start();
    signaller.join().unwrap_or_else(|panic| resume(panic));
    result.expect("the runtime failed");

    let mut received: Vec<Received> = received.try_iter().collect();
    received.sort_unstable_by_key(|(who, _)| *who);
    let (user1, interrupt) = (Msg::Signal(Signal::User1), Msg::Signal(Signal::Interrupt));
    assert_eq!(
        received,
        [
            (SLOW, vec![Msg::Filler, user1, interrupt]),
            (WITNESS, vec![user1, interrupt])
        ]
    );
}

/// Waits for messages until every reference is gone.
async fn idle(mut ctx: actor::Context<(), ThreadLocal>) {
    while ctx.receive_next().await.is_ok() {}
}

/// Runs a runtime, kept alive by an idle actor, to which `signal` is sent, with `register`
/// registering actors for signals first; returns the error `start` must return.
fn stopped_by(signal: Signal, register: impl FnOnce(&mut Runtime)) -> kiln_rt::Error {
    let mut runtime = Runtime::setup().build().unwrap();
    let (refs, idle_ref) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            refs.send(rt.spawn_local(NoSupervisor, actor_fn(idle), (), ActorOptions::default()))
                .unwrap();
            Ok(())
        })
        .unwrap();
    register(&mut runtime);
    // The idle actor keeps the runtime running until the signal has stopped it.
    let idle_ref: ActorRef<()> = idle_ref.recv().unwrap();
    let (stopped, wait_for_stop) = mpsc::channel::<()>();
    let signaller = thread::spawn(move || {
        send_signal(signal);
        let _ = wait_for_stop.recv_timeout(TIMEOUT);
        drop(idle_ref);
    });
    let result = runtime.start();
    drop(stopped);
    signaller.join().unwrap_or_else(|panic| resume(panic));
    match result {
        Ok(()) => panic!("the runtime ignored {signal}"),
        Err(err) => err,
    }
}

fn an_exit_signal_without_receivers_is_an_error() {
    let err = stopped_by(Signal::Terminate, |_| {});
    assert_eq!(err.exit_signal_received(), Some(Signal::Terminate));
    let msg = err.to_string();
    assert!(msg.contains("SIGTERM"), "{msg}");
    assert!(
        msg.contains("receive_signals"),
        "the error does not say what to do: {msg}"
    );
}

/// Accepts only SIGHUP.
#[derive(Debug)]
struct Reload;

impl TryFrom<Signal> for Reload {
    type Error = Signal;

    fn try_from(signal: Signal) -> Result<Reload, Signal> {
        match signal {
            Signal::Hangup => Ok(Reload),
            signal => Err(signal),
        }
    }
}

/// Waits for reload requests until every reference is gone.
async fn reloader(mut ctx: actor::Context<Reload, ThreadLocal>) {
    while ctx.receive_next().await.is_ok() {}
}

fn an_exit_signal_all_receivers_reject_is_an_error() {
    let err = stopped_by(Signal::Quit, |runtime| {
        let (refs, reloader_ref) = mpsc::channel();
        runtime
            .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
                let actor_ref = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(reloader),
                    (),
                    ActorOptions::default(),
                );
                refs.send(actor_ref).unwrap();
                Ok(())
            })
            .unwrap();
        let reloader_ref: ActorRef<Reload> = reloader_ref.recv().unwrap();
        runtime.receive_signals(reloader_ref.try_map());
    });
    assert_eq!(err.exit_signal_received(), Some(Signal::Quit));
    assert!(err.to_string().contains("SIGQUIT"), "{err}");
}

/// Receives signals, reporting each to `got`; returns after the first exit signal if `stop_on_exit`
/// (a server that stops accepting), otherwise runs until every reference is gone.
async fn shutdown_receiver(
    mut ctx: actor::Context<Signal, ThreadLocal>,
    stop_on_exit: bool,
    got: mpsc::Sender<Signal>,
) {
    while let Ok(signal) = ctx.receive_next().await {
        let _ = got.send(signal);
        if stop_on_exit && signal.should_exit() {
            return;
        }
    }
}

/// Starts a graceful shutdown with SIGTERM, which the receiver gets while an idle actor (an open
/// connection, say) keeps the runtime running, then sends `second`: `start` must return with a
/// forced exit long before the idle actor would stop (it stops only after `TIMEOUT`).
fn second_exit_signal(stop_on_exit: bool, second: Signal) {
    let mut runtime = Runtime::setup().build().unwrap();
    let (refs, spawned) = mpsc::channel();
    let (got, signals_got) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let idle_ref =
                rt.spawn_local(NoSupervisor, actor_fn(idle), (), ActorOptions::default());
            let receiver_ref = rt.spawn_local(
                NoSupervisor,
                actor_fn(shutdown_receiver),
                (stop_on_exit, got.clone()),
                ActorOptions::default(),
            );
            refs.send((idle_ref, receiver_ref)).unwrap();
            Ok(())
        })
        .unwrap();
    let workers = runtime.metrics().workers.len();
    // The idle actors keep the runtime running until `TIMEOUT` after the second signal.
    let mut idle_refs: Vec<ActorRef<()>> = Vec::new();
    for _ in 0..workers {
        let (idle_ref, receiver_ref) = spawned.recv().unwrap();
        idle_refs.push(idle_ref);
        runtime.receive_signals(receiver_ref);
    }
    let (stopped, wait_for_stop) = mpsc::channel::<()>();
    let signaller = thread::spawn(move || {
        send_signal(Signal::Terminate);
        for _ in 0..workers {
            let signal = signals_got
                .recv_timeout(TIMEOUT)
                .expect("SIGTERM not relayed");
            assert_eq!(signal, Signal::Terminate);
        }
        send_signal(second);
        let sent = std::time::Instant::now();
        let _ = wait_for_stop.recv_timeout(TIMEOUT);
        let waited = sent.elapsed();
        drop(idle_refs);
        // The second signal is not relayed to the actors.
        assert_eq!(
            signals_got.try_recv().ok(),
            None,
            "the second signal was relayed"
        );
        waited
    });
    let result = runtime.start();
    drop(stopped);
    let waited = signaller.join().unwrap_or_else(|panic| resume(panic));
    let err = match result {
        Ok(()) => panic!("the runtime waited for its actors after a second {second}"),
        Err(err) => err,
    };
    assert!(err.is_forced_exit(), "not a forced exit: {err}");
    assert_eq!(err.exit_signal_received(), Some(second));
    let msg = err.to_string();
    assert!(
        msg.contains("SIGTERM") && msg.contains(&format!("{second}")) && msg.contains("forces"),
        "the error does not say what happened: {msg}"
    );
    assert!(
        !msg.contains("receive_signals"),
        "the error blames a missing `receive_signals`: {msg}"
    );
    assert!(waited < TIMEOUT / 2, "the forced exit took {waited:?}");
}

fn a_second_exit_signal_forces_the_shutdown_after_the_receiver_stopped() {
    second_exit_signal(true, Signal::Terminate);
}

fn a_second_exit_signal_forces_the_shutdown_while_the_receiver_runs() {
    second_exit_signal(false, Signal::Interrupt);
}
