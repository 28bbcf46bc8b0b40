//! Regression (issue 14, item 2): messages whose `Drop` panics, still queued
//! when their actor stops for good.
//!
//! The whole inbox used to be dropped under one `catch_unwind`: the first
//! panicking message unwound out of the inbox's drain, the second then
//! panicked while that panic was unwinding, and the process aborted ("panic
//! in a destructor during cleanup", exit 134). Now each queued message is
//! dropped under its own guard: nothing aborts (a regression kills this test
//! binary with SIGABRT), every panic is logged once naming the actor, and
//! every message is dropped, however many panic.

use std::convert::Infallible;
use std::future::pending;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kiln::InboxSize;
use kiln::actor::{self, NewActor};
use kiln::actor_ref::ActorExit;
use kiln::future::ActorFutureBuilder;
use kiln::supervisor::{NoSupervisor, Supervisor, SupervisorStrategy};
use kiln::sync::{self, SyncActorRunnerBuilder, block_on};
use kiln::{ActorFuture, ActorRef, actor_fn};

mod util;
use util::logs::{capture, forget, logged};
use util::poll_once;

/// Messages queued behind the one the actor takes; every other one panics
/// when dropped.
const QUEUED: usize = 200;

/// Big enough for the taken message and [`QUEUED`].
const INBOX: InboxSize = InboxSize::fixed(256);

/// A message that counts its drop and, if `panics`, then panics.
struct Msg {
    id: usize,
    panics: bool,
    drops: Arc<AtomicUsize>,
}

impl Msg {
    /// Drops the message without the panic (for the messages an actor takes).
    fn defuse(mut self) {
        self.panics = false;
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("message {} panics in Drop", self.id);
        }
    }
}

/// Sends `taken` messages for the actor to take (ids from [`QUEUED`] on),
/// then [`QUEUED`] more (ids from 0); the even ones panic when dropped.
/// Returns their drop counter.
fn send_messages(actor_ref: &ActorRef<Msg>, taken: usize) -> Arc<AtomicUsize> {
    let drops = Arc::new(AtomicUsize::new(0));
    for id in (QUEUED..QUEUED + taken).chain(0..QUEUED) {
        let msg = Msg {
            id,
            panics: id % 2 == 0,
            drops: Arc::clone(&drops),
        };
        assert!(actor_ref.try_send(msg).is_ok(), "can't send message {id}");
    }
    drops
}

/// Asserts every message was dropped (the `taken` ones by the actor), and the
/// panic of each even queued one was logged exactly once, naming `actor`.
#[track_caller]
fn assert_dropped_and_logged(actor: &str, drops: &AtomicUsize, taken: usize) {
    let dropped = drops.load(Ordering::SeqCst);
    assert_eq!(dropped, QUEUED + taken, "messages not dropped");
    let prefix = format!(
        "[ERROR] a message left in the inbox of actor '{actor}' panicked while being dropped: \
         message "
    );
    let mut ids: Vec<usize> = logged(actor)
        .iter()
        .filter_map(|line| line.strip_prefix(&prefix)?.strip_suffix(" panics in Drop"))
        .map(|id| id.parse().unwrap_or_else(|_| panic!("logged: {id:?}")))
        .collect();
    ids.sort_unstable();
    let expected: Vec<usize> = (0..QUEUED).step_by(2).collect();
    assert_eq!(ids, expected, "each panic logged once");
}

/// Takes one message and returns.
async fn msgdrop_stops(mut ctx: actor::Context<Msg>) {
    ctx.receive_next().await.unwrap().defuse();
}

/// Creates an actor without a supervisor, that takes one message, and sends
/// it the messages (see [`send_messages`]).
fn start<NA>(
    new_actor: NA,
) -> (
    ActorFuture<NoSupervisor, NA>,
    ActorRef<Msg>,
    Arc<AtomicUsize>,
)
where
    NA: NewActor<Message = Msg, Argument = (), Error = Infallible, RuntimeAccess = ()>,
    NoSupervisor: Supervisor<NA>,
{
    capture(log::LevelFilter::Error);
    let (future, actor_ref) =
        ActorFutureBuilder::new()
            .with_inbox_size(INBOX)
            .build(NoSupervisor, new_actor, ());
    let drops = send_messages(&actor_ref, 1);
    (future, actor_ref, drops)
}

#[test]
fn stopping_actor() {
    let (future, actor_ref, drops) = start(actor_fn(msgdrop_stops));
    block_on(future);
    assert_eq!(block_on(actor_ref.join()), ActorExit::Completed);
    assert_dropped_and_logged("msgdrop_stops", &drops, 1);
}

/// Takes one message and waits for ever.
async fn msgdrop_waits(mut ctx: actor::Context<Msg>) {
    ctx.receive_next().await.unwrap().defuse();
    pending::<()>().await;
}

#[test]
fn actor_future_dropped_while_running() {
    let (future, actor_ref, drops) = start(actor_fn(msgdrop_waits));
    let mut future = Box::pin(future);
    assert!(poll_once(future.as_mut()).is_pending());
    drop(future);
    // Not stopped by the actor or its supervisor: cancelled.
    assert_eq!(block_on(actor_ref.join()), ActorExit::Cancelled);
    assert_dropped_and_logged("msgdrop_waits", &drops, 1);
}

/// Takes one message, then fails on its first three starts and completes on
/// the fourth.
async fn msgdrop_restarts(
    mut ctx: actor::Context<Msg>,
    starts: Arc<AtomicUsize>,
) -> Result<(), String> {
    ctx.receive_next().await.unwrap().defuse();
    fail_first(&starts, 3)
}

/// Counts a start in `starts`; fails on the first `failures` starts.
fn fail_first(starts: &AtomicUsize, failures: usize) -> Result<(), String> {
    if starts.fetch_add(1, Ordering::SeqCst) < failures {
        Err("restart me".to_owned())
    } else {
        Ok(())
    }
}

/// A supervisor that always restarts, with `starts` as argument.
fn restarts(
    starts: &Arc<AtomicUsize>,
) -> impl FnMut(String) -> SupervisorStrategy<Arc<AtomicUsize>> {
    let starts = Arc::clone(starts);
    move |_| SupervisorStrategy::Restart(Arc::clone(&starts))
}

#[test]
fn restarting_actor() {
    capture(log::LevelFilter::Error);
    let starts = Arc::new(AtomicUsize::new(0));
    let supervisor = restarts(&starts);
    let (future, actor_ref) = ActorFutureBuilder::new()
        .with_inbox_size(INBOX)
        .try_build(supervisor, actor_fn(msgdrop_restarts), Arc::clone(&starts))
        .unwrap();
    // One message for each of the four starts; the queued ones wait through
    // the restarts.
    let drops = send_messages(&actor_ref, 4);
    block_on(future);
    assert_eq!(starts.load(Ordering::SeqCst), 4);
    assert_eq!(block_on(actor_ref.join()), ActorExit::Completed);
    assert_dropped_and_logged("msgdrop_restarts", &drops, 4);
}

/// Makes an actor that takes one message and fails; every creation after the
/// first fails.
struct NewFailing {
    creations: Arc<AtomicUsize>,
}

type BoxedActor = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

impl NewActor for NewFailing {
    type Message = Msg;
    type Argument = ();
    type Actor = BoxedActor;
    type Error = String;
    type RuntimeAccess = ();

    fn new(&mut self, mut ctx: actor::Context<Msg>, (): ()) -> Result<BoxedActor, String> {
        let creation = self.creations.fetch_add(1, Ordering::SeqCst) + 1;
        if creation > 1 {
            return Err(format!("creation {creation} failed"));
        }
        Ok(Box::pin(async move {
            ctx.receive_next().await.unwrap().defuse();
            Err("restart me".to_owned())
        }))
    }

    fn name() -> &'static str {
        "msgdrop_new"
    }
}

/// Restarts after the actor fails, and after a failed restart if
/// `retry_restart`.
struct RetrySupervisor {
    retry_restart: bool,
}

impl Supervisor<NewFailing> for RetrySupervisor {
    fn decide(&mut self, _: String) -> SupervisorStrategy<()> {
        SupervisorStrategy::Restart(())
    }

    fn decide_on_restart_error(&mut self, _: String) -> SupervisorStrategy<()> {
        if self.retry_restart {
            SupervisorStrategy::Restart(())
        } else {
            SupervisorStrategy::Stop
        }
    }

    fn second_restart_error(&mut self, _: String) {}
}

#[test]
fn restart_that_cannot_create_the_actor() {
    capture(log::LevelFilter::Error);
    // One test, as the two runs log under one actor name.
    for retry_restart in [false, true] {
        forget("msgdrop_new");
        let creations = Arc::new(AtomicUsize::new(0));
        let new_actor = NewFailing {
            creations: Arc::clone(&creations),
        };
        let supervisor = RetrySupervisor { retry_restart };
        let (future, actor_ref) = ActorFutureBuilder::new()
            .with_inbox_size(INBOX)
            .try_build(supervisor, new_actor, ())
            .unwrap();
        let drops = send_messages(&actor_ref, 1);
        block_on(future);
        // The first start, and one or two failed restarts.
        let expected_creations = if retry_restart { 3 } else { 2 };
        assert_eq!(creations.load(Ordering::SeqCst), expected_creations);
        assert_eq!(block_on(actor_ref.join()), ActorExit::Failed);
        assert_dropped_and_logged("msgdrop_new", &drops, 1);
    }
}

/// A synchronous actor: takes one message, fails on its first start and
/// completes on the second.
fn msgdrop_sync(mut ctx: sync::Context<Msg>, starts: Arc<AtomicUsize>) -> Result<(), String> {
    ctx.receive_next().unwrap().defuse();
    fail_first(&starts, 1)
}

#[test]
fn sync_actor() {
    capture(log::LevelFilter::Error);
    let starts = Arc::new(AtomicUsize::new(0));
    let supervisor = restarts(&starts);
    let (runner, actor_ref) = SyncActorRunnerBuilder::new()
        .with_inbox_size(INBOX)
        .build(supervisor, actor_fn(msgdrop_sync));
    let drops = send_messages(&actor_ref, 2);
    assert_eq!(runner.run(Arc::clone(&starts)), ActorExit::Completed);
    assert_eq!(starts.load(Ordering::SeqCst), 2);
    assert_dropped_and_logged("msgdrop_sync", &drops, 2);
}
