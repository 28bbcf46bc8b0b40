//! The helpers of `kiln::test` (feature `test`): creating, polling and
//! running actors and futures by hand, measuring actors, and the
//! `PanicSupervisor`.
#![cfg(feature = "test")]

use std::convert::Infallible;
use std::future::{pending, ready};
use std::pin::pin;
use std::task::Poll;

use kiln::InboxSize;
use kiln::actor::{self, NoMessages};
use kiln::actor_ref::SendError;
use kiln::sync::SyncActorRunner;
use kiln::{ActorFuture, NewActor, actor_fn, test};

/// Sums its messages; fails unless the total is `expected`.
async fn summer(mut ctx: actor::Context<u32>, expected: u32) -> Result<(), String> {
    let mut total = 0;
    while let Ok(n) = ctx.receive_next().await {
        total += n;
    }
    if total == expected {
        Ok(())
    } else {
        Err(format!("total is {total}"))
    }
}

#[test]
fn init_poll_and_run_an_actor() {
    let (actor, actor_ref) = test::init_actor(actor_fn(summer), 6);
    let mut actor = Box::pin(actor);
    // Nothing to do yet.
    assert_eq!(test::poll_actor(actor.as_mut()), Poll::Pending);
    actor_ref.try_send(1u32).unwrap();
    actor_ref.try_send(2u32).unwrap();
    assert_eq!(test::poll_actor(actor.as_mut()), Poll::Pending);
    actor_ref.try_send(3u32).unwrap();
    drop(actor_ref);
    assert_eq!(test::run_actor(actor), Ok(()));
}

#[test]
fn run_actor_returns_the_actors_error() {
    let (actor, actor_ref) = test::init_actor(actor_fn(summer), 6);
    actor_ref.try_send(5u32).unwrap();
    drop(actor_ref);
    assert_eq!(test::run_actor(actor), Err("total is 5".to_owned()));

    // Polling by hand gives the same result.
    let (actor, actor_ref) = test::init_actor(actor_fn(summer), 6);
    drop(actor_ref);
    assert_eq!(
        test::poll_actor(pin!(actor).as_mut()),
        Poll::Ready(Err("total is 0".to_owned()))
    );
}

#[test]
fn run_actor_waits_for_messages_from_other_threads() {
    let (actor, actor_ref) = test::init_actor(actor_fn(summer), 5050);
    let sender = std::thread::spawn(move || {
        for n in 1..=100u32 {
            test::block_on(actor_ref.send(n)).unwrap();
        }
    });
    assert_eq!(test::run_actor(actor), Ok(()));
    sender.join().unwrap();
}

#[test]
fn init_actor_with_inbox_size_sets_the_capacity() {
    let (_actor, actor_ref) =
        test::init_actor_with_inbox_size(actor_fn(summer), 0, InboxSize::fixed(3));
    for n in 0..3u32 {
        actor_ref.try_send(n).unwrap();
    }
    assert_eq!(actor_ref.try_send(3u32), Err(SendError::Full(3)));

    let (_actor, actor_ref) = test::init_actor(actor_fn(summer), 0);
    assert_eq!(
        (0..9u32).filter(|&n| actor_ref.try_send(n).is_ok()).count(),
        8
    );
}

#[test]
fn dropping_an_initialised_actor_disconnects_its_references() {
    let (actor, actor_ref) = test::init_actor(actor_fn(summer), 0);
    assert!(actor_ref.is_connected());
    drop(actor);
    assert!(!actor_ref.is_connected());
    assert_eq!(actor_ref.try_send(1u32), Err(SendError::Disconnected(1)));
}

/// A `NewActor` that refuses to create its actor.
struct Refuses;

impl NewActor for Refuses {
    type Message = ();
    type Argument = &'static str;
    type Actor = std::future::Ready<()>;
    type Error = String;
    type RuntimeAccess = ();

    fn new(&mut self, _: actor::Context<()>, reason: &'static str) -> Result<Self::Actor, String> {
        Err(reason.to_owned())
    }
}

#[test]
fn try_init_actor_returns_the_error_of_new() {
    assert_eq!(
        test::try_init_actor(Refuses, "no thanks").err(),
        Some("no thanks".to_owned())
    );
    assert_eq!(
        test::try_init_actor_with_inbox_size(Refuses, "nope", InboxSize::ONE).err(),
        Some("nope".to_owned())
    );
}

#[test]
fn poll_future_and_block_on() {
    assert_eq!(test::poll_future(pin!(ready(7)).as_mut()), Poll::Ready(7));
    assert_eq!(
        test::poll_future(pin!(pending::<u8>()).as_mut()),
        Poll::Pending
    );
    assert_eq!(test::block_on(async { ready(20).await + 22 }), 42);
}

async fn small(mut ctx: actor::Context<u8>) {
    while ctx.receive_next().await.is_ok() {}
}

/// Holds a large buffer across an `await`.
async fn large(mut ctx: actor::Context<u8>) -> Result<(), NoMessages> {
    let mut buffer = [0u8; 4096];
    let n = ctx.receive_next().await?;
    buffer[usize::from(n)] = n;
    let n = ctx.receive_next().await?;
    assert_eq!(buffer[usize::from(n)], n);
    Ok(())
}

/// A `NewActor` for a plain future, to compare with `size_of`.
struct Fixed;

impl NewActor for Fixed {
    type Message = ();
    type Argument = ();
    type Actor = std::future::Ready<Result<(), Infallible>>;
    type Error = Infallible;
    type RuntimeAccess = ();

    fn new(&mut self, _: actor::Context<()>, (): ()) -> Result<Self::Actor, Infallible> {
        Ok(ready(Ok(())))
    }
}

#[test]
fn size_of_actor_measures_the_actor_state() {
    assert_eq!(
        test::size_of_actor::<Fixed>(),
        size_of::<std::future::Ready<Result<(), Infallible>>>()
    );
    assert_eq!(
        test::size_of_actor_val(&Fixed),
        test::size_of_actor::<Fixed>()
    );
    let small = test::size_of_actor_val(&actor_fn(small));
    let large = test::size_of_actor_val(&actor_fn(large));
    assert!(small < 256, "small actor takes {small} bytes");
    assert!(large >= 4096, "large actor takes {large} bytes");
    // Const: usable at compile time.
    const FIXED: usize = test::size_of_actor::<Fixed>();
    assert_eq!(FIXED, test::size_of_actor::<Fixed>());
}

/// Runs `f`, which must panic, and returns the panic's message.
fn panic_of(f: impl FnOnce()) -> String {
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("expected a panic");
    kiln::supervisor::panic_message(&*panic).to_owned()
}

#[test]
fn panic_supervisor_panics_with_the_actors_error() {
    let (future, actor_ref) = ActorFuture::new(test::PanicSupervisor, actor_fn(summer), 1);
    actor_ref.try_send(2u32).unwrap();
    drop(actor_ref);
    assert_eq!(
        panic_of(|| test::block_on(future)),
        "actor 'summer' failed: total is 2"
    );
}

/// Panics on its first message.
async fn panicker(mut ctx: actor::Context<&'static str>) {
    if let Ok(msg) = ctx.receive_next().await {
        panic!("{msg}");
    }
}

#[test]
fn panic_supervisor_passes_the_actors_panic_on() {
    let (future, actor_ref) = ActorFuture::new(test::PanicSupervisor, actor_fn(panicker), ());
    actor_ref.try_send("the original panic").unwrap();
    assert_eq!(panic_of(|| test::block_on(future)), "the original panic");
}

#[test]
fn panic_supervisor_lets_a_completing_actor_complete() {
    let (future, actor_ref) = ActorFuture::new(test::PanicSupervisor, actor_fn(summer), 3);
    actor_ref.try_send(3u32).unwrap();
    drop(actor_ref);
    test::block_on(future);
}

/// A synchronous actor that fails with its argument.
fn sync_failer(_: kiln::sync::Context<()>, reason: &'static str) -> Result<(), String> {
    Err(reason.to_owned())
}

#[test]
fn panic_supervisor_panics_with_a_sync_actors_error() {
    let (runner, _actor_ref) = SyncActorRunner::new(test::PanicSupervisor, actor_fn(sync_failer));
    assert_eq!(
        panic_of(|| {
            runner.run("no luck");
        }),
        "synchronous actor 'sync_failer' failed: no luck"
    );
}
