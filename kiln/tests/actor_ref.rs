//! Actor references: `try_send`, `send` with backpressure, `rpc`, `join` and
//! how actors end, `is_connected`, `sends_to`, mapped references, and errors.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::Poll;
use std::thread;

use kiln::InboxSize;
use kiln::actor::{self, NoMessages};
use kiln::actor_ref::{
    ActorExit, ActorGroup, ResponseError, RpcError, RpcMessage, RpcResponse, SendError,
};
use kiln::future::ActorFutureBuilder;
use kiln::supervisor::{NoSupervisor, StopSupervisor, SupervisorStrategy};
use kiln::sync::block_on;
use kiln::{ActorFuture, ActorRef, actor_fn};

mod util;
use util::recorder::{Message, new_recorder, text};
use util::{CountingWaker, poll_once, poll_with};

/// Runs `future` on a new thread.
fn spawn<F: Future<Output = ()> + Send + 'static>(future: F) -> thread::JoinHandle<()> {
    thread::spawn(move || block_on(future))
}

#[test]
fn try_send_reports_full_and_disconnected_giving_the_message_back() {
    let (future, actor_ref, recorded) = new_recorder(2);
    let mut future = Box::pin(future);
    assert_eq!(actor_ref.try_send("a".to_owned()), Ok(()));
    assert_eq!(actor_ref.try_send(text("b")), Ok(()));
    assert_eq!(
        actor_ref.try_send("c".to_owned()),
        Err(SendError::Full(text("c")))
    );

    // The actor empties its inbox: there is room again.
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(actor_ref.try_send(5u32), Ok(()));
    assert_eq!(actor_ref.try_send(6u32), Ok(()));
    assert_eq!(
        actor_ref.try_send(7u32),
        Err(SendError::Full(Message::Number(7)))
    );

    // Dropping the future stops the actor; the queued messages are dropped.
    drop(future);
    assert_eq!(
        actor_ref.try_send("d".to_owned()),
        Err(SendError::Disconnected(text("d")))
    );
    assert_eq!(
        recorded.try_iter().collect::<Vec<_>>(),
        [text("a"), text("b")]
    );
}

#[test]
fn send_waits_while_full_and_completes_once_the_actor_receives() {
    let (future, actor_ref, recorded) = new_recorder(1);
    let mut future = Box::pin(future);
    actor_ref.try_send(1u32).unwrap();

    let (wakes, waker) = CountingWaker::new();
    let mut send = pin!(actor_ref.send(2u32));
    assert!(poll_with(send.as_mut(), &waker).is_pending());
    assert!(poll_with(send.as_mut(), &waker).is_pending());
    assert_eq!(wakes.count(), 0);

    // The actor takes message 1, which frees the slot and wakes the sender.
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(wakes.count(), 1);
    assert_eq!(poll_with(send.as_mut(), &waker), Poll::Ready(Ok(())));

    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(
        recorded.try_iter().collect::<Vec<_>>(),
        [Message::Number(1), Message::Number(2)]
    );
}

#[test]
fn send_across_threads_keeps_order_under_backpressure() {
    const MESSAGES: u32 = 2_000;
    let (future, actor_ref, recorded) = new_recorder(1);
    let actor = spawn(future);
    let sender = thread::spawn(move || {
        for n in 0..MESSAGES {
            block_on(actor_ref.send(n)).unwrap();
        }
    });
    sender.join().unwrap();
    actor.join().unwrap();
    let received: Vec<_> = recorded.try_iter().collect();
    let expected: Vec<_> = (0..MESSAGES).map(Message::Number).collect();
    assert_eq!(received, expected);
}

#[test]
fn send_to_a_stopped_actor_gives_the_message_back() {
    let (future, actor_ref, _recorded) = new_recorder(4);
    actor_ref.try_send(Message::Stop).unwrap();
    block_on(future);
    assert_eq!(
        block_on(actor_ref.send(3u32)),
        Err(SendError::Disconnected(Message::Number(3)))
    );
}

#[test]
fn waiting_send_is_woken_and_fails_when_the_actor_stops() {
    let (future, actor_ref, _recorded) = new_recorder(1);
    actor_ref.try_send(1u32).unwrap();
    let (wakes, waker) = CountingWaker::new();
    let mut send = pin!(actor_ref.send(2u32));
    assert!(poll_with(send.as_mut(), &waker).is_pending());

    drop(future);
    assert!(wakes.count() >= 1, "the waiting sender was not woken");
    assert_eq!(
        poll_with(send.as_mut(), &waker),
        Poll::Ready(Err(SendError::Disconnected(Message::Number(2))))
    );
}

/// Answers each request with the running total; drops the request `0`
/// without answering and stops on `u32::MAX`.
async fn adder(mut ctx: actor::Context<RpcMessage<u32, u32>>) {
    let mut total = 0;
    while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
        match request {
            0 => drop(response),
            u32::MAX => return,
            n => {
                total += n;
                response.respond(total).unwrap();
            }
        }
    }
}

#[test]
fn rpc_gets_the_response() {
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(adder), ());
    let actor = spawn(future);
    assert_eq!(block_on(actor_ref.rpc(2)), Ok(2));
    assert_eq!(block_on(actor_ref.rpc(3)), Ok(5));
    drop(actor_ref);
    actor.join().unwrap();
}

#[test]
fn rpc_without_response_fails_with_no_response() {
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(adder), ());
    let actor = spawn(future);
    assert_eq!(block_on(actor_ref.rpc(0)), Err(RpcError::NoResponse));
    // The actor is still there.
    assert_eq!(block_on(actor_ref.rpc(4)), Ok(4));
    // Stopping while holding the request: no response either.
    assert_eq!(block_on(actor_ref.rpc(u32::MAX)), Err(RpcError::NoResponse));
    actor.join().unwrap();
}

#[test]
fn rpc_to_a_stopped_actor_fails_with_send_error() {
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(adder), ());
    let actor = spawn(future);
    assert_eq!(block_on(actor_ref.rpc(u32::MAX)), Err(RpcError::NoResponse));
    assert_eq!(block_on(actor_ref.join()), ActorExit::Completed);
    assert_eq!(block_on(actor_ref.rpc(1)), Err(RpcError::SendError));
    actor.join().unwrap();
}

#[test]
fn rpc_waits_while_the_inbox_is_full() {
    let (future, actor_ref) = ActorFutureBuilder::new()
        .with_inbox_size(InboxSize::ONE)
        .build(NoSupervisor, actor_fn(adder), ());
    let mut future = pin!(future);
    let mut first = pin!(actor_ref.rpc(1));
    assert!(poll_once(first.as_mut()).is_pending());

    let (wakes, waker) = CountingWaker::new();
    let mut second = pin!(actor_ref.rpc(10));
    assert!(poll_with(second.as_mut(), &waker).is_pending());
    assert_eq!(wakes.count(), 0);

    // The actor answers the first request, making room for the second.
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(poll_once(first.as_mut()), Poll::Ready(Ok(1)));
    assert!(wakes.count() >= 1);
    assert!(poll_with(second.as_mut(), &waker).is_pending());
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(poll_with(second.as_mut(), &waker), Poll::Ready(Ok(11)));
}

#[test]
fn rpc_response_knows_when_the_caller_stopped_waiting() {
    let (msg, receiver) = RpcMessage::<u32, String>::new(5);
    assert_eq!(msg.request, 5);
    assert!(msg.response.is_connected());
    assert_eq!(
        format!("{msg:?}"),
        "RpcMessage { request: 5, response: RpcResponse { connected: true } }"
    );
    drop(receiver);
    assert!(!msg.response.is_connected());
    let err = msg.response.respond("five".to_owned()).unwrap_err();
    assert_eq!(format!("{err:?}"), "ResponseError(..)");
    assert_eq!(
        err.to_string(),
        "can't respond: the caller stopped waiting for the response"
    );
    assert_eq!(err.into_inner(), "five");
}

#[test]
fn rpc_handle_answers_and_skips_callers_that_left() {
    let (msg, mut receiver) = RpcMessage::<u32, u32>::new(20);
    assert_eq!(block_on(msg.handle(|n| async move { n + 1 })), Ok(()));
    assert_eq!(receiver.try_recv().ok(), Some(21));

    let (msg, receiver) = RpcMessage::<u32, u32>::new(20);
    drop(receiver);
    let called = AtomicUsize::new(0);
    let result = block_on(msg.handle(|n| {
        called.fetch_add(1, Ordering::SeqCst);
        async move { n }
    }));
    assert_eq!(result, Ok(()));
    assert_eq!(
        called.load(Ordering::SeqCst),
        0,
        "handler ran without a caller"
    );
}

#[test]
fn dropping_the_rpc_future_disconnects_the_response() {
    let (seen_sender, seen) = mpsc::channel();
    /// Reports whether the caller waits, and whether responding failed.
    async fn checker(
        mut ctx: actor::Context<RpcMessage<(), ()>>,
        seen: mpsc::Sender<(bool, bool)>,
    ) {
        while let Ok(msg) = ctx.receive_next().await {
            let response: RpcResponse<()> = msg.response;
            let connected = response.is_connected();
            let failed = matches!(response.respond(()), Err(ResponseError(())));
            seen.send((connected, failed)).unwrap();
        }
    }
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(checker), seen_sender);
    {
        let mut rpc = pin!(actor_ref.rpc(()));
        assert!(poll_once(rpc.as_mut()).is_pending()); // Sent.
    }
    drop(actor_ref);
    block_on(future);
    assert_eq!(seen.try_iter().collect::<Vec<_>>(), [(false, true)]);
}

async fn ends_as(mut ctx: actor::Context<&'static str>) -> Result<(), String> {
    match ctx.receive_next().await {
        Ok("fail") => Err("asked to fail".to_owned()),
        Ok("panic") => panic!("asked to panic"),
        Ok(_) | Err(NoMessages) => Ok(()),
    }
}

/// Runs an `ends_as` actor told `how` to end; returns what `join` says.
fn exit_after(how: &'static str) -> ActorExit {
    let (future, actor_ref) = ActorFuture::new(StopSupervisor, actor_fn(ends_as), ());
    actor_ref.try_send(how).unwrap();
    let mut join = pin!(actor_ref.join());
    assert!(poll_once(join.as_mut()).is_pending());
    block_on(future);
    match poll_once(join.as_mut()) {
        Poll::Ready(exit) => exit,
        Poll::Pending => panic!("join is pending after the actor stopped"),
    }
}

#[test]
fn join_reports_completed() {
    assert_eq!(exit_after("complete"), ActorExit::Completed);
    assert!(ActorExit::Completed.is_completed());
    assert_eq!(ActorExit::Completed.to_string(), "completed");
}

#[test]
fn join_reports_failed() {
    assert_eq!(exit_after("fail"), ActorExit::Failed);
    assert!(!ActorExit::Failed.is_completed());
    assert_eq!(ActorExit::Failed.to_string(), "stopped after an error");
}

#[test]
fn join_reports_panicked() {
    assert_eq!(exit_after("panic"), ActorExit::Panicked);
    assert_eq!(ActorExit::Panicked.to_string(), "stopped after a panic");
}

#[test]
fn join_reports_cancelled_when_the_future_is_dropped() {
    // Dropped before it ran.
    let (future, actor_ref) = ActorFuture::new(StopSupervisor, actor_fn(ends_as), ());
    drop(future);
    assert_eq!(block_on(actor_ref.join()), ActorExit::Cancelled);

    // Dropped while waiting for a message.
    let (future, actor_ref) = ActorFuture::new(StopSupervisor, actor_fn(ends_as), ());
    let mut future = Box::pin(future);
    assert!(poll_once(future.as_mut()).is_pending());
    drop(future);
    assert_eq!(block_on(actor_ref.join()), ActorExit::Cancelled);
    assert_eq!(
        ActorExit::Cancelled.to_string(),
        "cancelled before it ended"
    );
}

#[test]
fn join_status_round_trips() {
    for exit in [
        ActorExit::Completed,
        ActorExit::Failed,
        ActorExit::Panicked,
        ActorExit::Cancelled,
    ] {
        assert_eq!(ActorExit::from_status(exit.to_status()), exit);
    }
    assert_eq!(ActorExit::from_status(0), ActorExit::Cancelled);
    assert_eq!(ActorExit::from_status(200), ActorExit::Cancelled);
}

#[test]
fn every_clone_and_mapping_can_join() {
    let (future, actor_ref, _recorded) = new_recorder(4);
    let clone = actor_ref.clone();
    let mapped: ActorRef<u32> = actor_ref.clone().map();
    let actor = spawn(future);
    // Join from other threads while the actor runs.
    let joiners: Vec<_> = [clone.clone(), clone]
        .into_iter()
        .map(|r| thread::spawn(move || block_on(r.join())))
        .collect();
    actor_ref.try_send(Message::Stop).unwrap();
    for joiner in joiners {
        assert_eq!(joiner.join().unwrap(), ActorExit::Completed);
    }
    assert_eq!(block_on(mapped.join()), ActorExit::Completed);
    assert_eq!(block_on(actor_ref.join()), ActorExit::Completed);
    actor.join().unwrap();
}

/// Counts its starts; fails on `true`, stops on `false`.
async fn fails_on_true(
    mut ctx: actor::Context<bool>,
    starts: Arc<AtomicUsize>,
) -> Result<(), String> {
    starts.fetch_add(1, Ordering::SeqCst);
    match ctx.receive_next().await {
        Ok(true) => Err("asked to fail".to_owned()),
        Ok(false) | Err(NoMessages) => Ok(()),
    }
}

#[test]
fn join_waits_across_a_restart() {
    let starts = Arc::new(AtomicUsize::new(0));
    let starts2 = Arc::clone(&starts);
    let supervisor = move |_: String| SupervisorStrategy::Restart(Arc::clone(&starts2));
    let (future, actor_ref) =
        ActorFuture::new(supervisor, actor_fn(fails_on_true), Arc::clone(&starts));
    let mut future = pin!(future);
    let mut join = pin!(actor_ref.join());
    actor_ref.try_send(true).unwrap();

    // Fails; the restart is scheduled.
    assert!(poll_once(future.as_mut()).is_pending());
    assert!(actor_ref.is_connected(), "disconnected while restarting");
    assert!(poll_once(join.as_mut()).is_pending());
    // The restarted actor runs and waits for a message.
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(starts.load(Ordering::SeqCst), 2);
    assert!(poll_once(join.as_mut()).is_pending());

    actor_ref.try_send(false).unwrap();
    assert!(poll_once(future.as_mut()).is_ready());
    assert_eq!(poll_once(join.as_mut()), Poll::Ready(ActorExit::Completed));
}

#[test]
fn is_connected_until_the_actor_stops() {
    let (future, actor_ref, _recorded) = new_recorder(4);
    let mapped: ActorRef<u32> = actor_ref.clone().map();
    assert!(actor_ref.is_connected());
    assert!(mapped.is_connected());
    let mut future = Box::pin(future);
    assert!(poll_once(future.as_mut()).is_pending());
    assert!(actor_ref.is_connected());

    actor_ref.try_send(Message::Stop).unwrap();
    assert!(poll_once(future.as_mut()).is_ready());
    assert!(!actor_ref.is_connected());
    assert!(!mapped.is_connected());
}

/// A message type without `Debug`.
#[derive(PartialEq)]
struct Opaque;

#[test]
fn send_error_debug_and_display_do_not_need_the_message() {
    let errors = [
        (
            SendError::Full(Opaque),
            "Full(..)",
            "can't send message: the actor's inbox is full",
        ),
        (
            SendError::Disconnected(Opaque),
            "Disconnected(..)",
            "can't send message: the actor has stopped",
        ),
        (
            SendError::Rejected(Opaque),
            "Rejected(..)",
            "can't send message: the mapped actor reference does not accept it",
        ),
        (
            SendError::RejectedConverted,
            "RejectedConverted",
            "can't send message: the mapped actor reference converted it and then rejected it; it was dropped",
        ),
    ];
    for (err, debug, display) in errors {
        assert_eq!(format!("{err:?}"), debug);
        assert_eq!(err.to_string(), display);
    }
}

#[test]
fn send_error_gives_the_message_back_and_names_the_cause() {
    let full = SendError::Full(1);
    assert!(full.is_full() && !full.is_disconnected());
    assert_eq!(full.into_inner(), Some(1));
    let disconnected = SendError::Disconnected(2);
    assert!(disconnected.is_disconnected() && !disconnected.is_full());
    assert_eq!(disconnected.into_inner(), Some(2));
    let rejected = SendError::Rejected(3);
    assert!(!rejected.is_full() && !rejected.is_disconnected());
    assert_eq!(rejected.into_inner(), Some(3));
    assert_eq!(SendError::<u8>::RejectedConverted.into_inner(), None);
    // Usable as a boxed error.
    let boxed: Box<dyn std::error::Error> = Box::new(SendError::Full(Opaque));
    assert_eq!(
        boxed.to_string(),
        "can't send message: the actor's inbox is full"
    );
}

#[test]
fn rpc_error_display() {
    assert_eq!(
        RpcError::SendError.to_string(),
        "RPC failed: can't send the request, the actor has stopped"
    );
    assert_eq!(
        RpcError::NoResponse.to_string(),
        "RPC failed: the actor dropped the request without responding"
    );
    assert_eq!(format!("{:?}", RpcError::NoResponse), "NoResponse");
}

#[test]
fn actor_ref_debug_shows_mapping_and_connection() {
    let (future, actor_ref, _recorded) = new_recorder(4);
    let mapped: ActorRef<u32> = actor_ref.clone().map();
    let debug = format!("{actor_ref:?}");
    assert!(debug.starts_with("ActorRef { inbox: "), "{debug}");
    assert!(
        debug.ends_with("mapped: false, connected: true }"),
        "{debug}"
    );
    assert!(format!("{mapped:?}").ends_with("mapped: true, connected: true }"));
    drop(future);
    assert!(format!("{actor_ref:?}").ends_with("mapped: false, connected: false }"));
}

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>(_: &T) {}

#[test]
fn references_and_their_futures_are_send_for_send_messages() {
    assert_send_sync::<ActorRef<String>>();
    assert_send_sync::<ActorRef<Message>>();
    assert_send_sync::<ActorRef<RpcMessage<String, Vec<u8>>>>();
    assert_send_sync::<ActorGroup<String>>();
    assert_send_sync::<SendError<String>>();

    let (_future, actor_ref, _recorded) = new_recorder(4);
    let mapped: ActorRef<u32> = actor_ref.clone().map();
    assert_send(&actor_ref.send(1u32));
    assert_send(&mapped.send(1u32));
    assert_send(&actor_ref.join());
    assert_send(&mapped.join());
    let (_future, rpc_ref) = ActorFuture::new(NoSupervisor, actor_fn(adder), ());
    assert_send(&rpc_ref.rpc(1));
}

fn assert_send_sync_val<T: Send + Sync>(_: &T) {}

/// Only ever used to be sent, never looked at.
async fn cell_sink(mut ctx: actor::Context<Cell<u8>>) {
    while ctx.receive_next().await.is_ok() {}
}

/// Answers with a `Cell`.
async fn cell_server(mut ctx: actor::Context<RpcMessage<Cell<u8>, Cell<u8>>>) {
    while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
        let _ = response.respond(request);
    }
}

#[test]
fn futures_are_sync_for_send_messages_that_are_not_sync() {
    let (_future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(cell_sink), ());
    let mapped: ActorRef<u8> = actor_ref.clone().map_fn(Cell::new);
    let lossy: ActorRef<u16> = actor_ref
        .clone()
        .try_map_fn_lossy(|n: u16| u8::try_from(n).map(Cell::new));
    assert_send_sync_val(&actor_ref.send(Cell::new(1)));
    assert_send_sync_val(&mapped.send(1u8));
    assert_send_sync_val(&lossy.send(1u16));
    assert_send_sync_val(&actor_ref.join());
    assert_send_sync_val(&mapped.join());
    let (_future, rpc_ref) = ActorFuture::new(NoSupervisor, actor_fn(cell_server), ());
    assert_send_sync_val(&rpc_ref.rpc::<Cell<u8>, Cell<u8>>(Cell::new(1)));

    // Shared with another thread while pending, then completed here.
    let (future, actor_ref) = ActorFutureBuilder::new()
        .with_inbox_size(InboxSize::ONE)
        .build(NoSupervisor, actor_fn(cell_sink), ());
    actor_ref.try_send(Cell::new(0)).unwrap();
    let mut send = pin!(actor_ref.send(Cell::new(1)));
    assert!(poll_once(send.as_mut()).is_pending());
    let shared = &*send;
    let debug = thread::scope(|scope| scope.spawn(|| format!("{shared:?}")).join().unwrap());
    assert_eq!(debug, "SendValue");
    let mut future = pin!(future);
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(poll_once(send.as_mut()), Poll::Ready(Ok(())));
}

#[test]
fn rpc_handle_gives_the_response_back_if_the_caller_leaves_meanwhile() {
    let (msg, receiver) = RpcMessage::<u32, u32>::new(4);
    let result = block_on(msg.handle(move |n| {
        drop(receiver);
        async move { n * 10 }
    }));
    assert_eq!(result.map_err(ResponseError::into_inner), Err(40));
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Takes one message, then stops.
async fn takes_one(mut ctx: actor::Context<Counted>) {
    let _first = ctx.receive_next().await;
}

#[test]
fn queued_messages_are_dropped_once_when_the_actor_stops() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = || Counted(Arc::clone(&drops));

    // The actor stops after one message: the other three are dropped with
    // the inbox.
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(takes_one), ());
    for _ in 0..4 {
        actor_ref
            .try_send(counted())
            .unwrap_or_else(|_| panic!("full"));
    }
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    block_on(future);
    assert_eq!(drops.load(Ordering::SeqCst), 4);

    // Given back, not dropped, when the actor is gone.
    let err = actor_ref.try_send(counted()).err().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 4);
    drop(err);
    assert_eq!(drops.load(Ordering::SeqCst), 5);

    // Cancelled with messages queued.
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(takes_one), ());
    for _ in 0..3 {
        actor_ref
            .try_send(counted())
            .unwrap_or_else(|_| panic!("full"));
    }
    drop(future);
    assert_eq!(drops.load(Ordering::SeqCst), 8);

    // A waiting send that is dropped drops its message.
    let (_future, actor_ref) = ActorFutureBuilder::new()
        .with_inbox_size(InboxSize::ONE)
        .build(NoSupervisor, actor_fn(takes_one), ());
    actor_ref
        .try_send(counted())
        .unwrap_or_else(|_| panic!("full"));
    {
        let mut send = pin!(actor_ref.send(counted()));
        assert!(poll_once(send.as_mut()).is_pending());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 9);
}

/// Panics when dropped while `armed`.
struct Bomb {
    armed: bool,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.armed && !thread::panicking() {
            panic!("message panicked in Drop");
        }
    }
}

async fn takes_one_bomb(mut ctx: actor::Context<Bomb>) {
    let _first = ctx.receive_next().await;
}

#[test]
fn message_panicking_in_drop_does_not_keep_joiners_waiting() {
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(takes_one_bomb), ());
    let mut future = Box::pin(future);
    actor_ref
        .try_send(Bomb { armed: false })
        .unwrap_or_else(|_| panic!("full"));
    actor_ref
        .try_send(Bomb { armed: true })
        .unwrap_or_else(|_| panic!("full"));
    let mut join = pin!(actor_ref.join());
    assert!(poll_once(join.as_mut()).is_pending());
    // The queued bomb goes off as the stopped actor's inbox is dropped
    // (whether that panic reaches the executor is not what this test checks).
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(future.as_mut())));
    assert_eq!(poll_once(join.as_mut()), Poll::Ready(ActorExit::Completed));
    assert!(!actor_ref.is_connected());
    assert!(poll_once(future.as_mut()).is_ready());
}
