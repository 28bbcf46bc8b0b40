//! Log records about an actor name it: its failures, panics (with their
//! message), restarts and how it stopped, whichever supervisor it has.

use std::pin::Pin;
use std::task::{self, Poll};

use kiln::actor::{self, NoMessages};
use kiln::supervisor::{NoSupervisor, SupervisorStrategy};
use kiln::{ActorFuture, actor_fn};

mod util;
use util::logs::{capture, logged};

/// Fails on "fail", panics on "panic", completes on anything else.
async fn logs_worker(mut ctx: actor::Context<&'static str>) -> Result<(), String> {
    match ctx.receive_next().await {
        Ok("fail") => Err("it failed".to_owned()),
        Ok("panic") => panic!("it panicked"),
        Ok(_) | Err(NoMessages) => Ok(()),
    }
}

/// Never fails; panics on its first message.
async fn logs_panicker(mut ctx: actor::Context<()>) {
    if ctx.receive_next().await.is_ok() {
        panic!("oops");
    }
}

/// A hand-written actor that is done at once and panics when dropped.
struct Bomb;

impl Future for Bomb {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut task::Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("boom");
    }
}

fn logs_bomb(_: actor::Context<()>) -> Bomb {
    Bomb
}

#[test]
fn runtime_messages_about_an_actor_name_it() {
    capture(log::LevelFilter::Debug);

    // A closure supervisor restarts it twice (it logs nothing itself), then
    // the actor completes.
    let supervisor = |_: String| SupervisorStrategy::Restart(());
    let (future, actor_ref) = ActorFuture::new(supervisor, actor_fn(logs_worker), ());
    for msg in ["fail", "fail", "done"] {
        actor_ref.try_send(msg).unwrap();
    }
    drop(actor_ref);
    kiln::sync::block_on(future);
    assert_eq!(
        logged("logs_worker"),
        [
            "[DEBUG] actor 'logs_worker' failed: its supervisor restarts it",
            "[DEBUG] actor 'logs_worker' failed: its supervisor restarts it",
            "[DEBUG] actor 'logs_worker' completed",
        ]
    );

    // The default on a panic: logged with its message, then stopped.
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(logs_panicker), ());
    actor_ref.try_send(()).unwrap();
    drop(actor_ref);
    kiln::sync::block_on(future);
    assert_eq!(
        logged("logs_panicker"),
        [
            "[ERROR] actor 'logs_panicker' panicked, stopping it: oops",
            "[DEBUG] actor 'logs_panicker' stopped after a panic",
        ]
    );

    // A panic in the actor's `Drop`, as it is stopped: caught and logged
    // with the actor's name (worked out only then).
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(logs_bomb), ());
    drop(actor_ref);
    kiln::sync::block_on(future);
    assert_eq!(
        logged("logs_bomb"),
        [
            "[DEBUG] actor 'logs_bomb' completed",
            "[ERROR] actor 'logs_bomb' panicked while being dropped: boom",
        ]
    );
}
