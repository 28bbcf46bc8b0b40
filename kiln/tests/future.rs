//! `ActorFuture` on tokio (current-thread and multi-thread runtimes),
//! `ActorFutureBuilder` and `InboxSize`.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{self, Poll, Waker};

use kiln::InboxSize;
use kiln::actor;
use kiln::actor_ref::RpcMessage;
use kiln::actor_ref::{ActorExit, SendError};
use kiln::future::ActorFutureBuilder;
use kiln::supervisor::{NoSupervisor, StopSupervisor, SupervisorStrategy};
use kiln::sync::block_on;
use kiln::{ActorFuture, ActorRef, NewActor, actor_fn, from_message};

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut task::Context::from_waker(Waker::noop()))
}

enum CounterMessage {
    Add(u64),
    Get(RpcMessage<(), u64>),
    Stop,
}

from_message!(CounterMessage::Add(u64), CounterMessage::Get(()) -> u64);

async fn counter(mut ctx: actor::Context<CounterMessage>) {
    let mut total = 0;
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            CounterMessage::Add(n) => total += n,
            CounterMessage::Get(rpc) => {
                let _ = rpc.response.respond(total);
            }
            CounterMessage::Stop => return,
        }
    }
}

/// Spawns `count` counters on tokio, each with an inbox of `inbox_size`.
fn spawn_counters(
    count: usize,
    inbox_size: usize,
) -> Vec<(ActorRef<CounterMessage>, tokio::task::JoinHandle<()>)> {
    (0..count)
        .map(|_| {
            let (future, actor_ref) = ActorFutureBuilder::new()
                .with_inbox_size(InboxSize::fixed(inbox_size))
                .build(NoSupervisor, actor_fn(counter), ());
            (actor_ref, tokio::spawn(future))
        })
        .collect()
}

/// Sends 1..=`adds` to every counter (one task per counter), checks their
/// totals and stops them.
async fn exercise_counters(
    counters: Vec<(ActorRef<CounterMessage>, tokio::task::JoinHandle<()>)>,
    adds: u64,
) {
    let clients: Vec<_> = counters
        .iter()
        .map(|(actor_ref, _)| {
            let actor_ref = actor_ref.clone();
            tokio::spawn(async move {
                for n in 1..=adds {
                    actor_ref
                        .send(n)
                        .await
                        .unwrap_or_else(|_| panic!("counter stopped"));
                }
                actor_ref.rpc(()).await.unwrap()
            })
        })
        .collect();
    for client in clients {
        assert_eq!(client.await.unwrap(), adds * (adds + 1) / 2);
    }
    for (actor_ref, handle) in counters {
        actor_ref
            .send(CounterMessage::Stop)
            .await
            .unwrap_or_else(|_| panic!("counter stopped"));
        handle.await.unwrap();
        assert_eq!(actor_ref.join().await, ActorExit::Completed);
    }
}

#[tokio::test]
async fn many_actors_on_a_current_thread_runtime() {
    exercise_counters(spawn_counters(100, 2), 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_actors_on_a_multi_thread_runtime() {
    exercise_counters(spawn_counters(100, 2), 50).await;
}

/// A pipeline stage: asks the next stage with `request + 1`, or answers it
/// if it is the last stage. Counts the requests it handled.
async fn stage(
    mut ctx: actor::Context<RpcMessage<u64, u64>>,
    next: Option<ActorRef<RpcMessage<u64, u64>>>,
    handled: Arc<AtomicUsize>,
) {
    while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
        handled.fetch_add(1, Ordering::SeqCst);
        let answer = match &next {
            Some(next) => next.rpc(request + 1).await.unwrap(),
            None => request + 1,
        };
        let _ = response.respond(answer);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_pipeline_across_actors_on_a_multi_thread_runtime() {
    const STAGES: usize = 20;
    const REQUESTS: u64 = 50;
    let handled = Arc::new(AtomicUsize::new(0));
    let mut next = None;
    let mut handles = Vec::new();
    for _ in 0..STAGES {
        let (future, actor_ref) = ActorFutureBuilder::new()
            .with_inbox_size(InboxSize::fixed(2))
            .build(
                NoSupervisor,
                actor_fn(stage),
                (next.take(), Arc::clone(&handled)),
            );
        handles.push(tokio::spawn(future));
        next = Some(actor_ref);
    }
    let first = next.unwrap();
    let requests: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let first = first.clone();
            tokio::spawn(async move { first.rpc(i * 1_000).await })
        })
        .collect();
    for (i, request) in (0..REQUESTS).zip(requests) {
        assert_eq!(request.await.unwrap(), Ok(i * 1_000 + STAGES as u64));
    }
    assert_eq!(handled.load(Ordering::SeqCst), STAGES * REQUESTS as usize);

    // Dropping the first stage's reference stops the whole pipeline.
    drop(first);
    for handle in handles {
        handle.await.unwrap();
    }
}

/// Fails as soon as it starts, counting its runs.
async fn crash_looper(_: actor::Context<()>, runs: Arc<AtomicUsize>) -> Result<(), String> {
    runs.fetch_add(1, Ordering::SeqCst);
    Err("crashed".to_owned())
}

#[tokio::test]
async fn crash_loop_does_not_hog_a_current_thread_runtime() {
    const MAX_RUNS: usize = 100_000;
    let runs = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (runs2, stop2) = (Arc::clone(&runs), Arc::clone(&stop));
    let supervisor = move |_: String| {
        if stop2.load(Ordering::SeqCst) || runs2.load(Ordering::SeqCst) >= MAX_RUNS {
            SupervisorStrategy::Stop
        } else {
            SupervisorStrategy::Restart(Arc::clone(&runs2))
        }
    };
    let (looper, looper_ref) =
        ActorFuture::new(supervisor, actor_fn(crash_looper), Arc::clone(&runs));
    let looper = tokio::spawn(looper);
    let (counter, counter_ref) = ActorFuture::new(NoSupervisor, actor_fn(counter), ());
    let counter = tokio::spawn(counter);

    // The counter gets its turns while the other actor keeps crashing.
    for n in 1..=10u64 {
        counter_ref
            .send(n)
            .await
            .unwrap_or_else(|_| panic!("counter stopped"));
        assert_eq!(counter_ref.rpc(()).await, Ok(n * (n + 1) / 2));
    }
    let runs_meanwhile = runs.load(Ordering::SeqCst);
    assert!(
        (1..MAX_RUNS).contains(&runs_meanwhile),
        "the crash loop ran {runs_meanwhile} times"
    );
    assert!(looper_ref.is_connected());

    stop.store(true, Ordering::SeqCst);
    looper.await.unwrap();
    assert_eq!(looper_ref.join().await, ActorExit::Failed);
    drop(counter_ref);
    counter.await.unwrap();
}

#[test]
fn actor_on_a_runtime_that_shuts_down_is_cancelled() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(counter), ());
    runtime.block_on(async {
        let _task = tokio::spawn(future);
        assert_eq!(actor_ref.rpc(()).await, Ok(0));
    });
    assert!(actor_ref.is_connected());
    drop(runtime);
    assert!(!actor_ref.is_connected());
    assert_eq!(block_on(actor_ref.join()), ActorExit::Cancelled);
}

#[test]
fn inbox_size_constants_and_limits() {
    assert_eq!(InboxSize::ONE.get(), 1);
    assert_eq!(InboxSize::DEFAULT.get(), 8);
    assert_eq!(InboxSize::default(), InboxSize::DEFAULT);
    assert_eq!(InboxSize::MAX.get(), 65_536);
    assert_eq!(InboxSize::fixed(1), InboxSize::ONE);
    assert_eq!(InboxSize::fixed(100).get(), 100);
    assert_eq!(InboxSize::try_fixed(65_536), Ok(InboxSize::MAX));
    assert!(InboxSize::ONE < InboxSize::DEFAULT && InboxSize::DEFAULT < InboxSize::MAX);
}

#[test]
fn inbox_size_rejects_zero_and_more_than_max() {
    let zero = InboxSize::try_fixed(0).unwrap_err();
    assert_eq!(
        zero.to_string(),
        "invalid inbox size 0: it must be 1 to 65536"
    );
    let too_large = InboxSize::try_fixed(65_537).unwrap_err();
    assert_eq!(
        too_large.to_string(),
        "invalid inbox size 65537: it must be 1 to 65536"
    );
    assert!(InboxSize::try_fixed(usize::MAX).is_err());
    let boxed: Box<dyn std::error::Error> = Box::new(zero);
    assert!(boxed.to_string().starts_with("invalid inbox size 0"));
}

#[test]
#[should_panic = "inbox size out of range: it must be 1 to 65,536"]
fn inbox_size_fixed_panics_on_zero() {
    let _ = InboxSize::fixed(0);
}

async fn idle(mut ctx: actor::Context<u32>) {
    while ctx.receive_next().await.is_ok() {}
}

/// How many messages an actor built with `inbox_size` accepts before its
/// inbox is full.
fn capacity_of(inbox_size: InboxSize) -> usize {
    let (_future, actor_ref) = ActorFutureBuilder::new().with_inbox_size(inbox_size).build(
        NoSupervisor,
        actor_fn(idle),
        (),
    );
    let mut sent = 0;
    loop {
        match actor_ref.try_send(sent as u32) {
            Ok(()) => sent += 1,
            Err(SendError::Full(n)) => {
                assert_eq!(n, sent as u32);
                return sent;
            }
            Err(err) => panic!("unexpected error: {err}"),
        }
    }
}

#[test]
fn builder_inbox_size_is_the_number_of_messages_accepted() {
    for size in [1, 2, 3, 8, 29, 100, 1_024] {
        assert_eq!(capacity_of(InboxSize::fixed(size)), size);
    }
    assert_eq!(capacity_of(InboxSize::MAX), 65_536);
    assert_eq!(capacity_of(InboxSize::DEFAULT), 8);
    // The default builder, and `ActorFuture::new`, use the default size.
    let (_future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(idle), ());
    assert_eq!(
        (0..8u32).filter(|&n| actor_ref.try_send(n).is_ok()).count(),
        8
    );
    assert!(actor_ref.try_send(8u32).is_err());
}

#[test]
fn builder_runtime_access_reaches_the_actor() {
    async fn reads_rt(ctx: actor::Context<(), (u32, &'static str)>, out: Arc<AtomicUsize>) {
        let (n, s) = *ctx.runtime_ref();
        out.store(n as usize + s.len(), Ordering::SeqCst);
    }
    let out = Arc::new(AtomicUsize::new(0));
    let (future, _actor_ref) = ActorFutureBuilder::default().with_rt((40, "ab")).build(
        NoSupervisor,
        actor_fn(reads_rt),
        Arc::clone(&out),
    );
    block_on(future);
    assert_eq!(out.load(Ordering::SeqCst), 42);
}

/// A `NewActor` whose `new` fails on `true`.
struct Picky;

impl NewActor for Picky {
    type Message = u32;
    type Argument = bool;
    type Actor = std::future::Ready<Result<(), String>>;
    type Error = String;
    type RuntimeAccess = ();

    fn new(&mut self, _: actor::Context<u32>, fail: bool) -> Result<Self::Actor, String> {
        if fail {
            Err("refused to start".to_owned())
        } else {
            Ok(std::future::ready(Ok(())))
        }
    }
}

#[test]
fn try_build_and_try_new_return_the_error_of_new() {
    let result = ActorFutureBuilder::new()
        .with_inbox_size(InboxSize::fixed(4))
        .try_build(StopSupervisor, Picky, true);
    assert_eq!(result.err(), Some("refused to start".to_owned()));
    let result = ActorFuture::try_new(StopSupervisor, Picky, true);
    assert_eq!(result.err(), Some("refused to start".to_owned()));

    let (future, actor_ref) = ActorFutureBuilder::new()
        .try_build(StopSupervisor, Picky, false)
        .unwrap();
    block_on(future);
    assert_eq!(block_on(actor_ref.join()), ActorExit::Completed);
}

#[test]
fn actor_future_debug_shows_the_actor_and_whether_it_runs() {
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(idle), ());
    let mut future = Box::pin(future);
    assert_eq!(
        format!("{future:?}"),
        r#"ActorFuture { actor: "idle", running: true }"#
    );
    drop(actor_ref);
    assert!(poll_once(future.as_mut()).is_ready());
    assert_eq!(
        format!("{future:?}"),
        r#"ActorFuture { actor: "idle", running: false }"#
    );
    // Polling a finished actor future again is harmless.
    assert!(poll_once(future.as_mut()).is_ready());
    assert!(format!("{:?}", ActorFutureBuilder::new()).starts_with("ActorFutureBuilder {"));
}

#[test]
fn actor_future_completes_when_the_actor_does() {
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(counter), ());
    let mut future = pin!(future);
    assert!(poll_once(future.as_mut()).is_pending());
    actor_ref.try_send(5u64).unwrap();
    assert!(poll_once(future.as_mut()).is_pending());
    actor_ref.try_send(CounterMessage::Stop).unwrap();
    assert!(poll_once(future.as_mut()).is_ready());
    assert_eq!(block_on(actor_ref.join()), ActorExit::Completed);
}

/// Counts its wake-ups.
struct WakeCount(AtomicUsize);

impl task::Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn yield_now_is_pending_once_and_wakes_its_task() {
    let count = Arc::new(WakeCount(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&count));
    let mut cx = task::Context::from_waker(&waker);
    let mut yielding = pin!(kiln::yield_now());
    assert_eq!(yielding.as_mut().poll(&mut cx), Poll::Pending);
    assert_eq!(count.0.load(Ordering::SeqCst), 1, "did not wake its task");
    assert_eq!(yielding.as_mut().poll(&mut cx), Poll::Ready(()));
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
}

/// Records `name` `times` times, yielding after each.
async fn takes_turns(
    name: &'static str,
    times: usize,
    log: &std::cell::RefCell<Vec<&'static str>>,
) {
    for _ in 0..times {
        log.borrow_mut().push(name);
        kiln::future::yield_now().await;
    }
}

#[test]
fn yielding_futures_take_turns() {
    let log = std::cell::RefCell::new(Vec::new());
    let mut first = pin!(takes_turns("a", 3, &log));
    let mut second = pin!(takes_turns("b", 3, &log));
    // Polls both until both are done, like `join`.
    let (mut a_done, mut b_done) = (false, false);
    block_on(std::future::poll_fn(|cx| {
        a_done = a_done || first.as_mut().poll(cx).is_ready();
        b_done = b_done || second.as_mut().poll(cx).is_ready();
        if a_done && b_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    assert_eq!(*log.borrow(), ["a", "b", "a", "b", "a", "b"]);
}
