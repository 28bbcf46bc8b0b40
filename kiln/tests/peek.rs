//! Peeking at the next message from an actor's context: `peek_next` (which
//! waits) and `try_peek_next`, for asynchronous and synchronous actors.

use std::pin::pin;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use kiln::actor::{self, NoMessages, RecvError};
use kiln::actor_ref::ActorExit;
use kiln::supervisor::NoSupervisor;
use kiln::sync::{self, SyncActorRunnerBuilder};
use kiln::{ActorFuture, actor_fn};

mod util;
use util::poll_once;

/// Reports what it peeks and then receives, until no message can come.
async fn peeker(mut ctx: actor::Context<u32>, report: mpsc::Sender<String>) {
    assert_eq!(ctx.try_peek_next(), Err(RecvError::Empty));
    while let Ok(&peeked) = ctx.peek_next().await {
        report.send(format!("peeked {peeked}")).unwrap();
        assert_eq!(ctx.try_peek_next(), Ok(&peeked));
        let n = ctx.receive_next().await.unwrap();
        report.send(format!("received {n}")).unwrap();
    }
    assert_eq!(ctx.peek_next().await, Err(NoMessages));
    report.send("no more messages".to_owned()).unwrap();
}

#[test]
fn peek_next_waits_and_leaves_the_message_for_receive_next() {
    let (report, reports) = mpsc::channel();
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(peeker), report);
    let mut future = pin!(future);
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(reports.try_iter().count(), 0, "did not wait for a message");
    actor_ref.try_send(1u32).unwrap();
    actor_ref.try_send(2u32).unwrap();
    assert!(poll_once(future.as_mut()).is_pending());
    drop(actor_ref);
    assert!(poll_once(future.as_mut()).is_ready());
    assert_eq!(
        reports.try_iter().collect::<Vec<_>>(),
        [
            "peeked 1",
            "received 1",
            "peeked 2",
            "received 2",
            "no more messages"
        ]
    );
}

/// Peeks (blocking), receives, and reports both, until no message can come.
fn sync_peeker(mut ctx: sync::Context<String>, report: mpsc::Sender<String>) {
    assert_eq!(ctx.try_peek_next(), Err(RecvError::Empty));
    while let Ok(peeked) = ctx.peek_next() {
        let peeked = peeked.clone();
        assert_eq!(ctx.try_peek_next(), Ok(&peeked));
        let received = ctx.receive_next().unwrap();
        report.send(format!("{peeked} = {received}")).unwrap();
    }
    assert_eq!(ctx.peek_next(), Err(NoMessages));
}

#[test]
fn sync_peek_next_blocks_until_a_message_arrives() {
    let (report, reports) = mpsc::channel();
    let (handle, actor_ref) = SyncActorRunnerBuilder::new()
        .spawn(NoSupervisor, actor_fn(sync_peeker), report)
        .unwrap();
    thread::sleep(Duration::from_millis(10));
    actor_ref.try_send("a".to_owned()).unwrap();
    assert_eq!(
        reports.recv_timeout(Duration::from_secs(10)).as_deref(),
        Ok("a = a")
    );
    actor_ref.try_send("b".to_owned()).unwrap();
    drop(actor_ref);
    assert_eq!(handle.join().unwrap(), ActorExit::Completed);
    assert_eq!(reports.try_iter().collect::<Vec<_>>(), ["b = b"]);
}
