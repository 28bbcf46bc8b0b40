//! `sync::block_for` and `sync::Context::block_for`: blocking on a future
//! with a timeout (done in time, timed out, woken from another thread, and
//! a synchronous actor giving up on an RPC).

use std::future::{pending, ready};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kiln::actor_ref::{ActorExit, ActorRef, RpcMessage};
use kiln::inbox::oneshot;
use kiln::supervisor::NoSupervisor;
use kiln::sync::{self, SyncActorRunnerBuilder, block_for, block_on};
use kiln::{ActorFuture, actor, actor_fn};

/// Generous bound for "returned promptly" on a busy machine.
const PROMPTLY: Duration = Duration::from_secs(5);

#[test]
fn a_ready_future_completes_even_with_a_zero_timeout() {
    assert_eq!(block_for(ready(1), Duration::ZERO), Some(1));
    assert_eq!(block_for(async { 2 }, Duration::MAX), Some(2));
}

#[test]
fn a_pending_future_times_out_no_earlier_than_the_timeout() {
    let timeout = Duration::from_millis(50);
    let start = Instant::now();
    assert_eq!(block_for(pending::<()>(), timeout), None);
    let took = start.elapsed();
    assert!(took >= timeout, "gave up early, after {took:?}");
    assert!(took < PROMPTLY, "gave up late, after {took:?}");
}

#[test]
fn a_future_woken_from_another_thread_completes_before_the_timeout() {
    let (sender, mut receiver) = oneshot::new::<u32>();
    let start = Instant::now();
    let sending = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        sender.try_send(7).unwrap();
    });
    let got = block_for(receiver.recv(), Duration::from_secs(60));
    assert_eq!(got, Some(Some(7)));
    assert!(start.elapsed() < Duration::from_secs(30), "was not woken");
    sending.join().unwrap();
}

/// Keeps every request without answering, reporting for each whether its
/// caller still waits when the next message (or the end) comes.
async fn never_answers(mut ctx: actor::Context<RpcMessage<(), ()>>, waiting: mpsc::Sender<bool>) {
    let mut kept = Vec::new();
    while let Ok(msg) = ctx.receive_next().await {
        kept.push(msg);
    }
    for msg in kept {
        waiting.send(msg.response.is_connected()).unwrap();
    }
}

/// Makes one RPC, giving up after `timeout`; reports whether it timed out.
fn impatient(
    mut ctx: sync::Context<()>,
    server: ActorRef<RpcMessage<(), ()>>,
    timeout: Duration,
) -> Result<(), &'static str> {
    match ctx.block_for(server.rpc(()), timeout) {
        Some(_) => Err("got an answer from an actor that never answers"),
        None => Ok(()),
    }
}

#[test]
fn a_sync_actor_gives_up_on_an_rpc_and_drops_it() {
    let (waiting, waits) = mpsc::channel();
    let (future, server) = ActorFuture::new(NoSupervisor, actor_fn(never_answers), waiting);
    let server_thread = thread::spawn(move || block_on(future));
    let start = Instant::now();
    let (caller, _caller_ref) = SyncActorRunnerBuilder::new()
        .spawn(
            kiln::supervisor::StopSupervisor,
            actor_fn(impatient),
            (server.clone(), Duration::from_millis(50)),
        )
        .unwrap();
    assert_eq!(caller.join().unwrap(), ActorExit::Completed);
    assert!(start.elapsed() >= Duration::from_millis(50));
    // The caller's reference is gone with it; dropping ours stops the server,
    // which then reports that the request it kept has no caller any more.
    drop(server);
    server_thread.join().unwrap();
    assert_eq!(waits.try_iter().collect::<Vec<_>>(), [false]);
}
