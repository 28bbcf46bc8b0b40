//! `kiln::inbox`: every inbox type in kiln's signatures is reachable from
//! kiln, and runs an actor by hand the way a runtime does.

use kiln::actor::{self, RecvError};
use kiln::actor_ref::RpcMessage;
use kiln::inbox::{InvalidInboxSize, Manager, Receiver, Sender, oneshot};
use kiln::{ActorRef, sync};

#[test]
fn inbox_size_is_at_the_root_and_in_the_inbox_module() {
    // One type under two names.
    let size: kiln::inbox::InboxSize = kiln::InboxSize::fixed(3);
    assert_eq!(size.get(), 3);
    assert_eq!(kiln::InboxSize::default(), kiln::inbox::InboxSize::DEFAULT);
    assert_eq!(kiln::InboxSize::MAX.get(), kiln::inbox::MAX_CAPACITY);
    let err: InvalidInboxSize = kiln::InboxSize::try_fixed(0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid inbox size 0: it must be 1 to 65536"
    );
}

#[test]
fn a_context_and_reference_from_inbox_types() {
    let (mut manager, sender, receiver): (Manager<u32>, Sender<u32>, Receiver<u32>) =
        Manager::new(kiln::InboxSize::fixed(2).get());
    let actor_ref = ActorRef::from(sender);
    let mut ctx = actor::Context::new(receiver, "rt");
    assert_eq!(*ctx.runtime_ref(), "rt");
    actor_ref.try_send(1u32).unwrap();
    assert_eq!(ctx.try_receive_next(), Ok(1));
    assert_eq!(ctx.try_receive_next(), Err(RecvError::Empty));

    // A restart: the manager keeps the queued message for the next context,
    // here a synchronous actor's.
    actor_ref.try_send(2u32).unwrap();
    drop(ctx);
    let mut ctx = sync::Context::new(manager.new_receiver().unwrap(), ());
    assert_eq!(ctx.receive_next(), Ok(2));

    // Stopping for good: the manager hands over what is still queued.
    actor_ref.try_send(3u32).unwrap();
    drop(ctx);
    let queued: kiln::inbox::QueuedMessages<u32> = manager.close();
    assert_eq!(queued.collect::<Vec<_>>(), [3]);
}

#[test]
fn a_plain_inbox_and_an_rpc_response_channel() {
    let (sender, mut receiver) = kiln::inbox::new::<&str>(kiln::inbox::DEFAULT_CAPACITY);
    sender.try_send("hi").unwrap();
    assert_eq!(receiver.try_recv(), Ok("hi"));

    let (msg, mut response): (_, oneshot::Receiver<u8>) = RpcMessage::<(), u8>::new(());
    msg.response.respond(7).unwrap();
    assert_eq!(response.try_recv(), Ok(7));
}
