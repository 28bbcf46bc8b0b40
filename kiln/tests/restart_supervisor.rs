//! `restart_supervisor!`: its four forms, the restart intensity (at most N
//! restarts within a sliding window), and what supervisors log.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kiln::actor::{self, NoMessages};
use kiln::actor_ref::ActorExit;
use kiln::supervisor::{RestartIntensity, StopSupervisor, SupervisorStrategy};
use kiln::sync::block_on;
use kiln::{ActorFuture, actor_fn, restart_supervisor};

mod util;
use util::logs::{capture, logged};
use util::{Cmd, Probe, run_to_exit, send_all, worker};

restart_supervisor!(CloneSupervisor, Probe);

/// Counts the starts of `unit_worker`; only `default_form_*` uses it.
static UNIT_WORKER_STARTS: AtomicUsize = AtomicUsize::new(0);

/// `worker` without argument.
async fn unit_worker(mut ctx: actor::Context<Cmd>) -> Result<(), String> {
    UNIT_WORKER_STARTS.fetch_add(1, Ordering::SeqCst);
    match ctx.receive_next().await {
        Ok(Cmd::Fail) => Err("failed".to_owned()),
        Ok(Cmd::Panic) => panic!("panicked"),
        Ok(Cmd::Record(_) | Cmd::Stop) | Err(NoMessages) => Ok(()),
    }
}

restart_supervisor!(DefaultSupervisor);

#[test]
fn default_form_restarts_five_times_within_five_seconds() {
    assert_eq!(DefaultSupervisor::MAX_RESTARTS, 5);
    assert_eq!(DefaultSupervisor::MAX_DURATION, Duration::from_secs(5));
    let (future, actor_ref) =
        ActorFuture::new(DefaultSupervisor::default(), actor_fn(unit_worker), ());
    // Failures and panics both count.
    send_all(
        &actor_ref,
        [
            Cmd::Fail,
            Cmd::Panic,
            Cmd::Fail,
            Cmd::Panic,
            Cmd::Fail,
            Cmd::Fail,
            Cmd::Stop,
        ],
    );
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);
    assert_eq!(UNIT_WORKER_STARTS.load(Ordering::SeqCst), 6);
}

#[test]
fn clone_form_restarts_with_a_clone_of_the_argument() {
    assert_eq!(CloneSupervisor::MAX_RESTARTS, 5);
    assert_eq!(CloneSupervisor::MAX_DURATION, Duration::from_secs(5));
    let probe = Probe::default();
    let (future, actor_ref) = ActorFuture::new(
        CloneSupervisor::new(probe.clone()),
        actor_fn(worker),
        probe.clone(),
    );
    send_all(
        &actor_ref,
        [
            Cmd::Fail,
            Cmd::Record(2),
            Cmd::Fail,
            Cmd::Record(4),
            Cmd::Stop,
        ],
    );
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Completed);
    // The clones share the probe's `Arc`s.
    assert_eq!(probe.events(), ["2: 2", "3: 4"]);
}

restart_supervisor!(
    /// Two restarts a minute.
    pub(crate) LimitedSupervisor,
    Probe,
    2,
    Duration::from_secs(60),
);

#[test]
fn limited_form_stops_after_max_restarts_within_the_window() {
    assert_eq!(LimitedSupervisor::MAX_RESTARTS, 2);
    assert_eq!(LimitedSupervisor::MAX_DURATION, Duration::from_secs(60));
    let probe = Probe::default();
    let (future, actor_ref) = ActorFuture::new(
        LimitedSupervisor::new(probe.clone()),
        actor_fn(worker),
        probe.clone(),
    );
    send_all(
        &actor_ref,
        [
            Cmd::Record(1),
            Cmd::Fail,
            Cmd::Record(2),
            Cmd::Panic,
            Cmd::Record(3),
            Cmd::Fail,
            Cmd::Record(4),
        ],
    );
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);
    assert_eq!(probe.starts(), 3);
    assert_eq!(probe.events(), ["1: 1", "2: 2", "3: 3"]);
}

#[test]
fn limited_form_reports_a_panic_as_the_last_failure() {
    let probe = Probe::default();
    let (future, actor_ref) = ActorFuture::new(
        LimitedSupervisor::new(probe.clone()),
        actor_fn(worker),
        probe.clone(),
    );
    send_all(&actor_ref, [Cmd::Fail, Cmd::Fail, Cmd::Panic]);
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Panicked);
    assert_eq!(probe.starts(), 3);
}

#[test]
fn generated_supervisor_debug_shows_its_name_and_intensity() {
    let debug = format!("{:?}", LimitedSupervisor::new(Probe::default()));
    assert!(
        debug.starts_with("LimitedSupervisor { intensity: RestartIntensity {"),
        "{debug}"
    );
    assert!(debug.contains("max_restarts: 2"), "{debug}");
    assert!(debug.contains("window: 60s"), "{debug}");
}

/// Not `Clone`: each restart gets a new one from `TicketSupervisor`.
struct Ticket {
    number: u32,
    probe: Probe,
}

restart_supervisor!(
    TicketSupervisor,
    Ticket,
    3,
    Duration::from_secs(60),
    with (u32, Probe) => |state: &mut (u32, Probe)| {
        state.0 += 1;
        Ticket { number: state.0, probe: state.1.clone() }
    }
);

async fn ticketed(mut ctx: actor::Context<Cmd>, ticket: Ticket) -> Result<(), String> {
    ticket.probe.start();
    ticket.probe.record(format!("ticket {}", ticket.number));
    match ctx.receive_next().await {
        Ok(Cmd::Fail) => Err(format!("ticket {} failed", ticket.number)),
        Ok(Cmd::Panic) => panic!("ticket {} panicked", ticket.number),
        Ok(Cmd::Record(_) | Cmd::Stop) | Err(NoMessages) => Ok(()),
    }
}

#[test]
fn with_state_form_builds_arguments_that_are_not_clone() {
    let probe = Probe::default();
    let supervisor = TicketSupervisor::new((100, probe.clone()));
    let first = Ticket {
        number: 0,
        probe: probe.clone(),
    };
    let (future, actor_ref) = ActorFuture::new(supervisor, actor_fn(ticketed), first);
    send_all(
        &actor_ref,
        [Cmd::Fail, Cmd::Panic, Cmd::Fail, Cmd::Fail, Cmd::Stop],
    );
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);
    assert_eq!(
        probe.events(),
        ["ticket 0", "ticket 101", "ticket 102", "ticket 103"]
    );
}

restart_supervisor!(EveryRestartOutOfWindow, Probe, 1, Duration::ZERO);

#[test]
fn failures_further_apart_than_the_window_are_always_restarted() {
    // With an empty window every earlier restart is out of it: one restart
    // "within the window" is allowed each time, forever.
    let probe = Probe::default();
    let (future, actor_ref) = ActorFuture::new(
        EveryRestartOutOfWindow::new(probe.clone()),
        actor_fn(worker),
        probe.clone(),
    );
    let actor = std::thread::spawn(move || block_on(future));
    for _ in 0..50 {
        block_on(actor_ref.send(Cmd::Fail)).unwrap();
    }
    block_on(actor_ref.send(Cmd::Stop)).unwrap();
    assert_eq!(block_on(actor_ref.join()), ActorExit::Completed);
    actor.join().unwrap();
    assert_eq!(probe.starts(), 51);
}

#[test]
fn restart_intensity_window_slides() {
    let s = Duration::from_secs(1);
    let t0 = Instant::now();
    let mut intensity = RestartIntensity::new(2, 10 * s);
    assert_eq!(intensity.max_restarts(), 2);
    assert_eq!(intensity.window(), 10 * s);
    assert_eq!(intensity.try_restart_at(t0), Some(1));
    assert_eq!(intensity.try_restart_at(t0 + 6 * s), Some(0));
    assert_eq!(intensity.try_restart_at(t0 + 9 * s), None);
    // At 11 s the restart at 0 s has left the window, the one at 6 s has not.
    assert_eq!(intensity.try_restart_at(t0 + 11 * s), Some(0));
    // A fixed window starting at 10 s would allow this one; the sliding
    // window (2 s, 12 s] holds the restarts at 6 s and 11 s.
    assert_eq!(intensity.try_restart_at(t0 + 12 * s), None);
    assert_eq!(intensity.try_restart_at(t0 + 16 * s), Some(0));
    // An actor failing every 6 s is restarted forever.
    let later = t0 + 100 * s;
    for i in 0..100 {
        assert!(
            intensity.try_restart_at(later + 6 * i * s).is_some(),
            "restart {i}"
        );
    }
    // But not one failing every 4 s: three restarts within 10 s.
    let later = t0 + 1_000 * s;
    assert!(intensity.try_restart_at(later).is_some());
    assert!(intensity.try_restart_at(later + 4 * s).is_some());
    assert!(intensity.try_restart_at(later + 8 * s).is_none());
    assert_eq!(
        RestartIntensity::new(0, 10 * s).try_restart_at(t0),
        None,
        "zero restarts allowed"
    );
}

restart_supervisor!(LoggedSupervisor, (), 1, Duration::from_secs(60));

async fn logged_restarted(mut ctx: actor::Context<Cmd>) -> Result<(), String> {
    match ctx.receive_next().await {
        Ok(Cmd::Fail) => Err("boom".to_owned()),
        Ok(Cmd::Panic) => panic!("kaboom"),
        Ok(_) | Err(NoMessages) => Ok(()),
    }
}

async fn logged_stopped(mut ctx: actor::Context<Cmd>) -> Result<(), String> {
    match ctx.receive_next().await {
        Ok(Cmd::Fail) => Err("bang".to_owned()),
        Ok(_) | Err(NoMessages) => Ok(()),
    }
}

async fn logged_panicking(mut ctx: actor::Context<Cmd>) -> Result<(), String> {
    match ctx.receive_next().await {
        Ok(Cmd::Panic) => panic!("crash"),
        Ok(_) | Err(NoMessages) => Ok(()),
    }
}

#[test]
fn supervisors_log_which_actor_failed_why_and_the_restarts_left() {
    capture(log::LevelFilter::Warn);
    let (future, actor_ref) =
        ActorFuture::new(LoggedSupervisor::new(()), actor_fn(logged_restarted), ());
    send_all(&actor_ref, [Cmd::Fail, Cmd::Panic]);
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Panicked);
    assert_eq!(
        logged("logged_restarted"),
        [
            "[WARN] actor 'logged_restarted' failed, restarting it (0 of 1 restarts within 60s left): boom",
            "[WARN] actor 'logged_restarted' panicked, stopping it (it was restarted 1 times within 60s): kaboom",
        ]
    );

    let (future, actor_ref) = ActorFuture::new(StopSupervisor, actor_fn(logged_stopped), ());
    send_all(&actor_ref, [Cmd::Fail]);
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Failed);
    assert_eq!(
        logged("logged_stopped"),
        ["[WARN] actor 'logged_stopped' failed, stopping it: bang"]
    );

    let supervisor = |_: String| SupervisorStrategy::Restart(());
    let (future, actor_ref) = ActorFuture::new(supervisor, actor_fn(logged_panicking), ());
    send_all(&actor_ref, [Cmd::Panic]);
    assert_eq!(run_to_exit(future, &actor_ref), ActorExit::Panicked);
    assert_eq!(
        logged("logged_panicking"),
        ["[ERROR] actor 'logged_panicking' panicked, stopping it: crash"]
    );
}
