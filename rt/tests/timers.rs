//! Timers on the runtime: `Timer`, `Deadline` and `Interval` in
//! thread-local, thread-safe and synchronous actors. Timers never fire
//! early, on an idle worker they fire soon after their deadline, and
//! `change_deadline` moves a pending one either way.

use std::convert::Infallible;
use std::future::Future;
use std::future::pending;
use std::io;
use std::pin::{Pin, pin};
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_core::Stream;
use kiln::actor::NewActor;
use kiln::supervisor::{NoSupervisor, Supervisor};
use kiln::{actor, actor_fn, sync};
use kiln_rt::Spawn;
use kiln_rt::timer::{Deadline, DeadlinePassed, Interval, Timer};
use kiln_rt::{ActorOptions, Runtime, SyncActorOptions, ThreadLocal, ThreadSafe};

mod util;
use util::runtime::run_on_one_worker;

/// How late a timer may fire on an idle worker in this test. The target is
/// about a millisecond; the bound is generous for a loaded CI machine.
const SLACK: Duration = Duration::from_millis(100);

/// Runs the thread-local actor `new_actor`, given where to report, on a
/// one-worker runtime until it is done; returns (the receiving end of) its
/// reports.
fn reports_of<NA, T>(new_actor: NA) -> mpsc::Receiver<T>
where
    NA: NewActor<Argument = mpsc::Sender<T>, Error = Infallible, RuntimeAccess = ThreadLocal>
        + Clone
        + Send
        + 'static,
    NoSupervisor: Supervisor<NA>,
    T: Send + 'static,
{
    let (sender, receiver) = mpsc::channel();
    run_on_one_worker(move |rt| {
        rt.spawn_local(NoSupervisor, new_actor, sender, ActorOptions::default());
    });
    receiver
}

async fn sleeper(
    ctx: actor::Context<(), ThreadLocal>,
    wait: Duration,
    report: mpsc::Sender<Duration>,
) {
    let start = Instant::now();
    Timer::after(ctx.runtime_ref().clone(), wait).await;
    report.send(start.elapsed()).unwrap();
}

#[test]
fn thread_local_timer_is_never_early_and_fires_soon_after_its_deadline() {
    let (sender, receiver) = mpsc::channel();
    run_on_one_worker(move |rt| {
        for ms in [1, 10, 50] {
            rt.spawn_local(
                NoSupervisor,
                actor_fn(sleeper),
                (Duration::from_millis(ms), sender.clone()),
                ActorOptions::default(),
            );
        }
    });
    let mut waited: Vec<Duration> = receiver.try_iter().collect();
    waited.sort();
    assert_eq!(waited.len(), 3);
    for (waited, ms) in waited.into_iter().zip([1, 10, 50]) {
        let wait = Duration::from_millis(ms);
        eprintln!("a {ms} ms timer fired after {waited:?}");
        assert!(
            waited >= wait,
            "a {ms} ms timer fired early, after {waited:?}"
        );
        assert!(
            waited < wait + SLACK,
            "a {ms} ms timer fired late, after {waited:?}"
        );
    }
}

#[test]
fn thousands_of_timers_fire_in_one_actor_never_early() {
    async fn many(ctx: actor::Context<(), ThreadLocal>, report: mpsc::Sender<usize>) {
        let rt = ctx.runtime_ref().clone();
        let start = Instant::now();
        let mut early = 0;
        for i in 0..2_000u64 {
            let deadline = start + Duration::from_micros(i * 10);
            Timer::at(rt.clone(), deadline).await;
            if Instant::now() < deadline {
                early += 1;
            }
        }
        report.send(early).unwrap();
    }
    let receiver = reports_of(actor_fn(many));
    assert_eq!(receiver.try_recv(), Ok(0), "timers fired early");
}

#[test]
fn dropped_timer_does_not_keep_the_runtime_running() {
    async fn drops(ctx: actor::Context<(), ThreadLocal>) {
        // A timer an hour out, polled once (so it is registered) and
        // dropped: the runtime must still stop at once.
        let mut timer = pin!(Timer::after(
            ctx.runtime_ref().clone(),
            Duration::from_secs(3600)
        ));
        let polled = std::future::poll_fn(|cx| {
            let _ = Future::poll(timer.as_mut(), cx);
            Poll::Ready(())
        });
        polled.await;
    }
    let start = Instant::now();
    run_on_one_worker(move |rt| {
        rt.spawn_local(NoSupervisor, actor_fn(drops), (), ActorOptions::default());
    });
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn deadline_passes_results_through_and_times_out() {
    async fn deadlines(ctx: actor::Context<(), ThreadLocal>, report: mpsc::Sender<String>) {
        let rt = ctx.runtime_ref().clone();
        let quick = async { Ok::<_, io::Error>(42) };
        let result = Deadline::after(rt.clone(), Duration::from_secs(10), quick).await;
        report.send(format!("{result:?}")).unwrap();

        let start = Instant::now();
        let never = async { pending::<Result<u8, io::Error>>().await };
        let err = Deadline::after(rt, Duration::from_millis(20), never)
            .await
            .unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(20));
        report.send(format!("{:?}", err.kind())).unwrap();
    }
    let receiver = reports_of(actor_fn(deadlines));
    let results: Vec<String> = receiver.try_iter().collect();
    assert_eq!(results, ["Ok(42)", "TimedOut"]);
    assert_eq!(
        io::Error::from(DeadlinePassed).kind(),
        io::ErrorKind::TimedOut
    );
}

#[test]
fn interval_ticks_on_its_schedule() {
    async fn ticker(ctx: actor::Context<(), ThreadLocal>, report: mpsc::Sender<Duration>) {
        let start = Instant::now();
        let mut interval = pin!(Interval::every(
            ctx.runtime_ref().clone(),
            Duration::from_millis(10)
        ));
        for _ in 0..5 {
            std::future::poll_fn(|cx| interval.as_mut().poll_next(cx)).await;
            report.send(start.elapsed()).unwrap();
        }
    }
    let receiver = reports_of(actor_fn(ticker));
    let ticks: Vec<Duration> = receiver.try_iter().collect();
    assert_eq!(ticks.len(), 5);
    for (n, tick) in ticks.iter().enumerate() {
        let due = Duration::from_millis(10 * (n as u64 + 1));
        assert!(*tick >= due, "tick {n} early: {tick:?}");
    }
}

#[test]
fn thread_safe_and_sync_actors_use_the_shared_timers() {
    async fn thread_safe(ctx: actor::Context<(), ThreadSafe>, report: mpsc::Sender<Duration>) {
        let start = Instant::now();
        Timer::after(ctx.runtime_ref().clone(), Duration::from_millis(20)).await;
        report.send(start.elapsed()).unwrap();
    }
    fn blocking(mut ctx: sync::Context<(), kiln_rt::access::Sync>, report: mpsc::Sender<Duration>) {
        let start = Instant::now();
        let rt = ctx.runtime_ref().clone();
        // Every worker sleeps without a timeout when this timer is added:
        // adding it must wake one to expire it.
        ctx.block_on(Timer::after(rt, Duration::from_millis(30)));
        report.send(start.elapsed()).unwrap();
    }
    let (sender, receiver) = mpsc::channel();
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    runtime.spawn(
        NoSupervisor,
        actor_fn(thread_safe),
        sender.clone(),
        ActorOptions::default(),
    );
    runtime
        .spawn_sync_actor(
            NoSupervisor,
            actor_fn(blocking),
            sender,
            SyncActorOptions::default(),
        )
        .unwrap();
    runtime.start().unwrap();
    let mut waited: Vec<Duration> = receiver.try_iter().collect();
    waited.sort();
    assert_eq!(waited.len(), 2);
    assert!(
        waited[0] >= Duration::from_millis(20) && waited[0] < Duration::from_millis(20) + SLACK,
        "{waited:?}"
    );
    assert!(
        waited[1] >= Duration::from_millis(30) && waited[1] < Duration::from_millis(30) + SLACK,
        "{waited:?}"
    );
}

/// A watchdog: waits for messages, pushing its deadline `quiet` on after each
/// one, and reports when it fired: the messages it got and how long after the
/// last one.
async fn watchdog(
    mut ctx: actor::Context<u32, ThreadLocal>,
    quiet: Duration,
    report: mpsc::Sender<(Vec<u32>, Duration)>,
) {
    let mut timer = Timer::after(ctx.runtime_ref().clone(), quiet);
    let mut got = Vec::new();
    let mut last = Instant::now();
    loop {
        let mut receive = pin!(ctx.receive_next());
        let msg = std::future::poll_fn(|cx| match receive.as_mut().poll(cx) {
            Poll::Ready(msg) => Poll::Ready(msg.ok()),
            Poll::Pending => Pin::new(&mut timer).poll(cx).map(|DeadlinePassed| None),
        })
        .await;
        let Some(n) = msg else { break };
        got.push(n);
        last = Instant::now();
        timer.change_deadline(last + quiet);
    }
    report.send((got, last.elapsed())).unwrap();
}

/// Sends `0..count` to `to`, one every `every`, then keeps `to` connected.
async fn pinger(
    ctx: actor::Context<(), ThreadLocal>,
    to: kiln::ActorRef<u32>,
    every: Duration,
    count: u32,
) {
    for n in 0..count {
        Timer::after(ctx.runtime_ref().clone(), every).await;
        to.try_send(n).unwrap();
    }
    Timer::after(ctx.runtime_ref().clone(), Duration::from_secs(1)).await;
}

#[test]
fn change_deadline_pushes_a_watchdog_back_and_brings_it_forward() {
    let quiet = Duration::from_millis(60);
    let (sender, receiver) = mpsc::channel();
    run_on_one_worker(move |rt| {
        let dog = rt.spawn_local(
            NoSupervisor,
            actor_fn(watchdog),
            (quiet, sender.clone()),
            ActorOptions::default(),
        );
        // Five messages 20 ms apart: 100 ms, longer than the quiet period,
        // but never that quiet.
        rt.spawn_local(
            NoSupervisor,
            actor_fn(pinger),
            (dog, Duration::from_millis(20), 5),
            ActorOptions::default(),
        );
    });
    let (got, after_last) = receiver.try_recv().unwrap();
    assert_eq!(got, [0, 1, 2, 3, 4], "fired before the last message");
    assert!(after_last >= quiet, "fired early: {after_last:?}");
    assert!(after_last < quiet + SLACK, "fired late: {after_last:?}");
}

/// Polls `future` once, in the task, expecting it to wait (which registers
/// its timer with the task's waker).
async fn poll_pending<F: Future + ?Sized>(mut future: Pin<&mut F>) {
    std::future::poll_fn(|cx| {
        assert!(future.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    })
    .await;
}

#[test]
fn change_deadline_on_a_pending_deadline() {
    async fn deadlines(
        ctx: actor::Context<(), ThreadLocal>,
        report: mpsc::Sender<(Result<&'static str, DeadlinePassed>, Duration)>,
    ) {
        let rt = ctx.runtime_ref().clone();
        // Given more time after it was registered with too little.
        let start = Instant::now();
        let work = async {
            Timer::after(rt.clone(), Duration::from_millis(40)).await;
            Ok("done")
        };
        let mut deadline = pin!(Deadline::after(rt.clone(), Duration::from_millis(10), work));
        poll_pending(deadline.as_mut()).await;
        deadline
            .as_mut()
            .change_deadline(Instant::now() + Duration::from_secs(10));
        report.send((deadline.await, start.elapsed())).unwrap();

        // Brought forward from an hour to 20 ms.
        let start = Instant::now();
        let never = pending::<Result<&'static str, DeadlinePassed>>();
        let mut deadline = pin!(Deadline::after(
            rt.clone(),
            Duration::from_secs(3_600),
            never
        ));
        poll_pending(deadline.as_mut()).await;
        deadline
            .as_mut()
            .change_deadline(Instant::now() + Duration::from_millis(20));
        report.send((deadline.await, start.elapsed())).unwrap();
    }
    let receiver = reports_of(actor_fn(deadlines));
    let (extended, took) = receiver.try_recv().unwrap();
    assert_eq!(extended, Ok("done"));
    assert!(took >= Duration::from_millis(40), "{took:?}");
    let (shortened, took) = receiver.try_recv().unwrap();
    assert_eq!(shortened, Err(DeadlinePassed));
    assert!(
        took >= Duration::from_millis(20) && took < Duration::from_millis(20) + SLACK,
        "{took:?}"
    );
}
