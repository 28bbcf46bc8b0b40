//! `kiln::yield_now` on kiln-rt, as its docs describe: a yielding actor goes
//! behind the processes that ran less, and an actor busy in a loop that
//! yields does not hold up a timer for more than about a time slice.

use std::cell::RefCell;
use std::hint::spin_loop;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kiln::future::yield_now;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::timer::Timer;
use kiln_rt::{ActorOptions, ThreadLocal};

mod util;
use util::runtime::run_on_one_worker;

/// How late a timer may fire behind a busy actor: a time slice (2 ms) and a
/// generous margin for a loaded machine.
const SLACK: Duration = Duration::from_millis(100);

/// Spins for `duration`.
fn work(duration: Duration) {
    let end = Instant::now() + duration;
    while Instant::now() < end {
        spin_loop();
    }
}

type Log = Rc<RefCell<Vec<&'static str>>>;

/// Logs each message it gets.
async fn logger(mut ctx: actor::Context<&'static str, ThreadLocal>, log: Log) {
    while let Ok(msg) = ctx.receive_next().await {
        log.borrow_mut().push(msg);
    }
}

/// Works 5 ms (so it has run clearly longer than `other`), wakes `other` with a message, yields, and logs that
/// it carried on.
async fn yielder(
    _: actor::Context<(), ThreadLocal>,
    other: ActorRef<&'static str>,
    log: Log,
    report: mpsc::Sender<Vec<&'static str>>,
) {
    work(Duration::from_millis(5));
    other.try_send("the woken actor ran").unwrap();
    drop(other);
    yield_now().await;
    log.borrow_mut().push("the yielder carried on");
    // The logger's turn came before this one; it has stopped (no reference
    // left) by the time the yielder runs again.
    report.send(log.borrow().clone()).unwrap();
}

#[test]
fn a_yielding_actor_lets_an_actor_it_woke_run_first() {
    let (report, reports) = mpsc::channel();
    run_on_one_worker(move |rt| {
        let log = Log::default();
        let other = rt.spawn_local(
            NoSupervisor,
            actor_fn(logger),
            Rc::clone(&log),
            ActorOptions::default(),
        );
        rt.spawn_local(
            NoSupervisor,
            actor_fn(yielder),
            (other, log, report.clone()),
            ActorOptions::default(),
        );
    });
    assert_eq!(
        reports.try_recv().unwrap(),
        ["the woken actor ran", "the yielder carried on"]
    );
}

/// Works for `total` in steps of 50 µs, yielding after each; reports when it
/// finished.
async fn busy(_: actor::Context<(), ThreadLocal>, total: Duration, done: mpsc::Sender<Instant>) {
    let end = Instant::now() + total;
    while Instant::now() < end {
        work(Duration::from_micros(50));
        yield_now().await;
    }
    done.send(Instant::now()).unwrap();
}

/// Waits `wait` on a timer and reports how long it took.
async fn sleeper(
    ctx: actor::Context<(), ThreadLocal>,
    wait: Duration,
    done: mpsc::Sender<Duration>,
) {
    let start = Instant::now();
    Timer::after(ctx.runtime_ref().clone(), wait).await;
    done.send(start.elapsed()).unwrap();
}

#[test]
fn a_busy_actor_that_yields_does_not_hold_up_a_timer() {
    let busy_for = Duration::from_millis(400);
    let wait = Duration::from_millis(10);
    let (busy_done, busy_ended) = mpsc::channel();
    let (sleeper_done, slept) = mpsc::channel();
    let start = Instant::now();
    run_on_one_worker(move |rt| {
        rt.spawn_local(
            NoSupervisor,
            actor_fn(busy),
            (busy_for, busy_done.clone()),
            ActorOptions::default(),
        );
        rt.spawn_local(
            NoSupervisor,
            actor_fn(sleeper),
            (wait, sleeper_done.clone()),
            ActorOptions::default(),
        );
    });
    let slept = slept.try_recv().unwrap();
    let busy_ended = busy_ended.try_recv().unwrap();
    assert!(slept >= wait, "the timer fired early: {slept:?}");
    assert!(
        slept < wait + SLACK,
        "the timer fired {slept:?} after it was set, behind the busy actor"
    );
    assert!(
        busy_ended.duration_since(start) >= busy_for,
        "the busy actor stopped early"
    );
}
