//! Message-loss injection (`kiln::test::set_message_loss`, feature `test`):
//! the percentage of messages lost. In a test binary of its own because the
//! setting is global; the tests here take turns and reset it to 0.
#![cfg(feature = "test")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use kiln::InboxSize;
use kiln::actor;
use kiln::actor_ref::{RpcError, RpcMessage};
use kiln::{ActorRef, actor_fn, test};

/// Makes the tests of this binary take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// Sets the message loss while it lives; resets it to 0 when dropped, also
/// when a test fails.
struct MessageLoss {
    _turn: MutexGuard<'static, ()>,
}

impl MessageLoss {
    fn set(percent: u8) -> MessageLoss {
        let turn = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        test::set_message_loss(percent);
        MessageLoss { _turn: turn }
    }
}

impl Drop for MessageLoss {
    fn drop(&mut self) {
        test::set_message_loss(0);
    }
}

/// Records how many messages it received, checking that they arrive in
/// increasing order.
async fn counter(mut ctx: actor::Context<u32>, received: Arc<AtomicUsize>) -> Result<(), String> {
    let mut last = None;
    while let Ok(n) = ctx.receive_next().await {
        if last.is_some_and(|last| n <= last) {
            return Err(format!("{n} arrived after {last:?}"));
        }
        last = Some(n);
        received.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Sends `messages` messages with `try_send` (each reporting success) and
/// returns how many arrived.
fn delivered(messages: u32) -> usize {
    let received = Arc::new(AtomicUsize::new(0));
    let (actor, actor_ref) = test::init_actor_with_inbox_size(
        actor_fn(counter),
        Arc::clone(&received),
        InboxSize::fixed(messages as usize),
    );
    for n in 0..messages {
        assert_eq!(actor_ref.try_send(n), Ok(()));
    }
    drop(actor_ref);
    assert_eq!(test::run_actor(actor), Ok(()));
    received.load(Ordering::Relaxed)
}

#[test]
fn zero_percent_loses_no_message() {
    let _loss = MessageLoss::set(0);
    assert_eq!(delivered(10_000), 10_000);
}

#[test]
fn hundred_percent_loses_every_message() {
    let _loss = MessageLoss::set(100);
    assert_eq!(delivered(10_000), 0);
}

#[test]
fn more_than_hundred_percent_is_hundred() {
    let _loss = MessageLoss::set(250);
    assert_eq!(delivered(1_000), 0);
}

#[test]
fn fifty_percent_loses_about_half() {
    let _loss = MessageLoss::set(50);
    let delivered = delivered(10_000);
    assert!(
        (4_000..=6_000).contains(&delivered),
        "{delivered} of 10,000 delivered"
    );
}

#[test]
fn loss_matches_the_percentage() {
    const MESSAGES: u32 = 20_000;
    for percent in [1u8, 10, 25, 40, 60, 75, 90, 99] {
        let _loss = MessageLoss::set(percent);
        let lost = MESSAGES as usize - delivered(MESSAGES);
        let lost_percent = lost as f64 * 100.0 / f64::from(MESSAGES);
        // The standard deviation is at most 0.36 points for 20,000 messages.
        assert!(
            (lost_percent - f64::from(percent)).abs() < 2.0,
            "asked to lose {percent}%, lost {lost_percent:.2}%"
        );
    }
}

#[test]
fn turning_loss_off_delivers_everything_again() {
    {
        let _loss = MessageLoss::set(100);
        assert_eq!(delivered(100), 0);
    }
    let _loss = MessageLoss::set(0);
    assert_eq!(delivered(100), 100);
}

/// Answers every request with its double; counts the requests.
async fn doubler(mut ctx: actor::Context<RpcMessage<u32, u32>>, handled: Arc<AtomicUsize>) {
    while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
        handled.fetch_add(1, Ordering::Relaxed);
        let _ = response.respond(request * 2);
    }
}

#[test]
fn lost_send_and_rpc_report_what_the_caller_would_see() {
    let _loss = MessageLoss::set(100);
    let handled = Arc::new(AtomicUsize::new(0));
    let (actor, actor_ref) = test::init_actor(actor_fn(doubler), Arc::clone(&handled));
    // `send` reports success; the request of an RPC is dropped, so there is
    // no response.
    let mapped: ActorRef<RpcMessage<u32, u32>> = actor_ref.clone().map_fn(|msg| msg);
    assert_eq!(test::block_on(mapped.rpc(1)), Err(RpcError::NoResponse));
    assert_eq!(test::block_on(actor_ref.rpc(2)), Err(RpcError::NoResponse));
    let (msg, _response) = RpcMessage::new(3);
    assert!(test::block_on(actor_ref.send(msg)).is_ok());
    drop((actor_ref, mapped));
    test::run_actor(actor).unwrap_or_else(|never| match never {});
    assert_eq!(handled.load(Ordering::Relaxed), 0);
}
