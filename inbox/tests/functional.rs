//! Behaviour of every public item of the inbox and the oneshot channel, on
//! one thread, polling futures by hand.

mod util;

use std::collections::HashSet;
use std::fmt::Debug;
use std::task::Poll;

use kiln_inbox::{
    DEFAULT_CAPACITY, Disconnected, InboxId, Join, MAX_CAPACITY, MIN_CAPACITY, Manager, Permit,
    Receiver, RecvError, RecvValue, Reserve, ReserveError, SendError, SendValue, Sender, oneshot,
};
use util::{CountWaker, block_on, poll_once};

/// A message type without `Debug`, `Clone` or `PartialEq`.
struct Opaque(u32);

#[test]
fn constants() {
    assert_eq!(
        (MIN_CAPACITY, MAX_CAPACITY, DEFAULT_CAPACITY),
        (1, 65_536, 8)
    );
}

/// Fills the inbox, checks it is full, empties it, three laps round.
fn fill_and_drain(capacity: usize) {
    let (sender, mut receiver) = kiln_inbox::new::<usize>(capacity);
    assert_eq!(sender.capacity(), capacity);
    assert_eq!(receiver.capacity(), capacity);
    for lap in 0..3 {
        let base = lap * capacity;
        for n in 0..capacity {
            assert_eq!(sender.len(), n);
            sender.try_send(base + n).unwrap();
        }
        assert_eq!(sender.len(), capacity);
        assert!(!sender.is_empty());
        assert!(matches!(
            sender.try_send(usize::MAX),
            Err(SendError::Full(usize::MAX))
        ));
        assert_eq!(sender.try_reserve().unwrap_err(), ReserveError::Full);
        for n in 0..capacity {
            assert_eq!(receiver.try_recv(), Ok(base + n));
        }
        assert_eq!(receiver.try_recv(), Err(RecvError::Empty));
        assert!(sender.is_empty());
    }
}

#[test]
fn capacity_1() {
    fill_and_drain(1);
}

#[test]
fn capacity_2() {
    fill_and_drain(2);
}

#[test]
fn capacity_8() {
    fill_and_drain(8);
}

#[test]
fn capacity_1024() {
    fill_and_drain(1024);
}

#[test]
fn capacity_max() {
    fill_and_drain(MAX_CAPACITY);
}

#[test]
#[should_panic(expected = "inbox capacity must be in 1..=65536, got 0")]
fn capacity_zero_panics() {
    let _ = kiln_inbox::new::<()>(0);
}

#[test]
#[should_panic(expected = "inbox capacity must be in 1..=65536, got 65537")]
fn capacity_too_large_panics() {
    let _ = kiln_inbox::new::<()>(MAX_CAPACITY + 1);
}

#[test]
#[should_panic(expected = "inbox capacity must be in")]
fn manager_capacity_zero_panics() {
    let _ = Manager::<()>::new(0);
}

#[test]
fn interleaved_send_recv_keeps_order() {
    let (sender, mut receiver) = kiln_inbox::new(3);
    let mut next_in = 0;
    let mut next_out = 0;
    for round in 0..100 {
        for _ in 0..(round % 4) {
            if sender.try_send(next_in).is_ok() {
                next_in += 1;
            }
        }
        for _ in 0..(round % 3) {
            if let Ok(n) = receiver.try_recv() {
                assert_eq!(n, next_out);
                next_out += 1;
            }
        }
    }
    while let Ok(n) = receiver.try_recv() {
        assert_eq!(n, next_out);
        next_out += 1;
    }
    assert_eq!(next_in, next_out);
}

#[test]
fn full_inbox_gives_message_back() {
    let (sender, _receiver) = kiln_inbox::new(1);
    sender.try_send(Opaque(1)).unwrap();
    let err = sender.try_send(Opaque(2)).unwrap_err();
    assert!(err.is_full() && !err.is_disconnected());
    assert_eq!(format!("{err:?}"), "Full(..)");
    assert_eq!(err.to_string(), "inbox is full");
    assert_eq!(err.into_inner().0, 2);
}

#[test]
fn disconnected_inbox_gives_message_back() {
    let (sender, receiver) = kiln_inbox::new(1);
    assert!(sender.is_connected());
    drop(receiver);
    assert!(!sender.is_connected());
    let err = sender.try_send(Opaque(7)).unwrap_err();
    assert!(err.is_disconnected() && !err.is_full());
    assert_eq!(format!("{err:?}"), "Disconnected(..)");
    assert_eq!(
        err.to_string(),
        "actor has stopped: its inbox is disconnected"
    );
    assert_eq!(err.into_inner().0, 7);
    assert_eq!(
        sender.try_reserve().unwrap_err(),
        ReserveError::Disconnected
    );
}

#[test]
fn error_types() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    assert_error(&SendError::Full(Opaque(0)));
    assert_error(&ReserveError::Full);
    assert_error(&Disconnected);
    assert_error(&RecvError::Empty);
    assert_error(&oneshot::RecvError::NoValue);
    assert_eq!(ReserveError::Full.to_string(), "inbox is full");
    assert_eq!(
        ReserveError::Disconnected.to_string(),
        "actor has stopped: its inbox is disconnected"
    );
    assert_eq!(
        Disconnected.to_string(),
        "actor has stopped: its inbox is disconnected"
    );
    assert_eq!(RecvError::Empty.to_string(), "inbox is empty");
    assert_eq!(
        RecvError::Disconnected.to_string(),
        "inbox is empty and every sender is gone"
    );
    assert_eq!(oneshot::RecvError::NoValue.to_string(), "no value sent yet");
    assert_eq!(
        oneshot::RecvError::Disconnected.to_string(),
        "oneshot sender is gone without sending a value"
    );
    let copy = ReserveError::Full;
    let _also = copy;
    assert_eq!(copy, ReserveError::Full);
    let _copy: (Disconnected, Disconnected) = (Disconnected, Disconnected);
    assert_ne!(RecvError::Empty, RecvError::Disconnected);
}

#[test]
fn receiver_disconnected_only_when_empty() {
    let (sender, mut receiver) = kiln_inbox::new(2);
    sender.try_send(1).unwrap();
    assert!(receiver.is_connected());
    drop(sender);
    assert!(!receiver.is_connected());
    assert_eq!(receiver.try_recv(), Ok(1));
    assert_eq!(receiver.try_recv(), Err(RecvError::Disconnected));
    assert_eq!(receiver.try_peek().unwrap_err(), RecvError::Disconnected);
}

#[test]
fn new_sender_from_receiver_reconnects() {
    let (sender, mut receiver) = kiln_inbox::new(2);
    drop(sender);
    assert_eq!(receiver.try_recv(), Err(RecvError::Disconnected));
    let sender = receiver.new_sender();
    assert!(receiver.is_connected());
    sender.try_send(5).unwrap();
    assert_eq!(receiver.try_recv(), Ok(5));
}

#[test]
fn cloned_senders_share_the_inbox() {
    let (sender, mut receiver) = kiln_inbox::new(4);
    let clone = sender.clone();
    assert!(sender.same_channel(&clone));
    sender.try_send(1).unwrap();
    clone.try_send(2).unwrap();
    drop(sender);
    assert!(receiver.is_connected());
    assert_eq!(receiver.try_recv(), Ok(1));
    assert_eq!(receiver.try_recv(), Ok(2));
    drop(clone);
    assert!(!receiver.is_connected());
}

#[test]
fn permit_send() {
    let (sender, mut receiver) = kiln_inbox::new(2);
    let permit: Permit<'_, u32> = sender.try_reserve().unwrap();
    assert_eq!(sender.len(), 1);
    assert!(format!("{permit:?}").starts_with("Permit"));
    permit.send(1);
    assert_eq!(receiver.try_recv(), Ok(1));
}

#[test]
fn permit_keeps_order_of_claims() {
    let (sender, mut receiver) = kiln_inbox::new(3);
    let first = sender.try_reserve().unwrap();
    sender.try_send(2).unwrap();
    // The message after the unused permit waits for it.
    assert_eq!(receiver.try_recv(), Err(RecvError::Empty));
    first.send(1);
    assert_eq!(receiver.try_recv(), Ok(1));
    assert_eq!(receiver.try_recv(), Ok(2));
}

#[test]
fn dropped_permit_is_skipped_and_returns_capacity() {
    let (sender, mut receiver) = kiln_inbox::new(2);
    let permit = sender.try_reserve().unwrap();
    sender.try_send(2).unwrap();
    assert!(sender.try_send(3).unwrap_err().is_full());
    drop(permit);
    assert_eq!(receiver.try_peek().copied(), Ok(2));
    assert_eq!(receiver.try_recv(), Ok(2));
    assert_eq!(receiver.try_recv(), Err(RecvError::Empty));
    // Both slots are free again.
    sender.try_send(4).unwrap();
    sender.try_send(5).unwrap();
    assert!(sender.try_send(6).unwrap_err().is_full());
    assert_eq!(receiver.try_recv(), Ok(4));
    assert_eq!(receiver.try_recv(), Ok(5));
}

#[test]
fn only_skipped_permits() {
    let (sender, mut receiver) = kiln_inbox::new::<u8>(1);
    for _ in 0..10 {
        drop(sender.try_reserve().unwrap());
        assert_eq!(receiver.try_recv(), Err(RecvError::Empty));
    }
    drop(sender.try_reserve().unwrap());
    drop(sender);
    assert_eq!(receiver.try_recv(), Err(RecvError::Disconnected));
}

#[test]
fn dropped_permit_wakes_receiver() {
    let (sender, mut receiver) = kiln_inbox::new(2);
    let permit = sender.try_reserve().unwrap();
    sender.try_send(9).unwrap();
    let (count, waker) = CountWaker::new();
    let mut recv = receiver.recv();
    assert_eq!(poll_once(&mut recv, &waker), Poll::Pending);
    drop(permit);
    assert_eq!(count.count(), 1);
    assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(Some(9)));
}

#[test]
fn peek() {
    let (sender, mut receiver) = kiln_inbox::new(2);
    assert_eq!(receiver.try_peek().unwrap_err(), RecvError::Empty);
    sender.try_send(String::from("a")).unwrap();
    sender.try_send(String::from("b")).unwrap();
    assert_eq!(receiver.try_peek().map(String::as_str), Ok("a"));
    assert_eq!(receiver.try_peek().map(String::as_str), Ok("a"));
    assert_eq!(receiver.try_recv().as_deref(), Ok("a"));
    assert_eq!(receiver.try_peek().map(String::as_str), Ok("b"));
    assert_eq!(receiver.try_recv().as_deref(), Ok("b"));
    assert_eq!(receiver.try_peek().unwrap_err(), RecvError::Empty);
}

#[test]
fn ids() {
    let (mut manager, sender, receiver) = Manager::<u8>::new(2);
    let other: (Sender<String>, Receiver<String>) = kiln_inbox::new(2);
    let id: InboxId = sender.id();
    assert_eq!(id, receiver.id());
    assert_eq!(id, manager.id());
    assert_eq!(id, sender.clone().id());
    assert_ne!(id, other.0.id());
    assert!(!format!("{id:?}").is_empty());
    let set: HashSet<InboxId> = [id, other.1.id(), receiver.new_sender().id()].into();
    assert_eq!(set.len(), 2);
    assert_ne!(id.cmp(&other.0.id()), std::cmp::Ordering::Equal);
    let sender2 = manager.new_sender();
    assert!(sender.same_channel(&sender2));
    drop(receiver);
    let receiver = manager.new_receiver().unwrap();
    assert_eq!(receiver.id(), id);
    let (unrelated, _r) = kiln_inbox::new::<u8>(2);
    assert!(!sender.same_channel(&unrelated));
}

#[test]
fn has_manager() {
    let (sender, _receiver) = kiln_inbox::new::<()>(1);
    assert!(!sender.has_manager());
    let (manager, sender, _receiver) = Manager::<()>::new(1);
    assert!(sender.has_manager());
    drop(manager);
    assert!(!sender.has_manager());
}

#[test]
fn recv_future_waits_for_message() {
    let (sender, mut receiver) = kiln_inbox::new(1);
    let (count, waker) = CountWaker::new();
    let mut recv: RecvValue<'_, u32> = receiver.recv();
    assert_eq!(poll_once(&mut recv, &waker), Poll::Pending);
    assert_eq!(poll_once(&mut recv, &waker), Poll::Pending);
    assert_eq!(count.count(), 0);
    sender.try_send(1).unwrap();
    assert_eq!(count.count(), 1);
    assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(Some(1)));
    sender.try_send(2).unwrap();
    // Not waiting: no wake-up.
    assert_eq!(count.count(), 1);
    assert_eq!(block_on(receiver.recv()), Some(2));
}

#[test]
fn recv_future_ends_on_disconnect() {
    let (sender, mut receiver) = kiln_inbox::new::<u32>(1);
    let clone = sender.clone();
    let (count, waker) = CountWaker::new();
    let mut recv = receiver.recv();
    assert!(format!("{recv:?}").starts_with("RecvValue"));
    assert_eq!(poll_once(&mut recv, &waker), Poll::Pending);
    drop(sender);
    assert_eq!(count.count(), 0);
    drop(clone);
    assert_eq!(count.count(), 1);
    assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(None));
}

#[test]
fn poll_recv() {
    let (sender, mut receiver) = kiln_inbox::new(1);
    let (count, waker) = CountWaker::new();
    let mut cx = std::task::Context::from_waker(&waker);
    assert_eq!(receiver.poll_recv(&mut cx), Poll::Pending);
    sender.try_send(3).unwrap();
    assert_eq!(count.count(), 1);
    assert_eq!(receiver.poll_recv(&mut cx), Poll::Ready(Some(3)));
    drop(sender);
    assert_eq!(receiver.poll_recv(&mut cx), Poll::Ready(None));
}

#[test]
fn send_future_waits_while_full() {
    let (sender, mut receiver) = kiln_inbox::new(1);
    block_on(sender.send(1)).unwrap();
    let (count, waker) = CountWaker::new();
    let mut send: SendValue<'_, u32> = sender.send(2);
    assert!(poll_once(&mut send, &waker).is_pending());
    assert!(poll_once(&mut send, &waker).is_pending());
    assert_eq!(count.count(), 0);
    assert_eq!(receiver.try_recv(), Ok(1));
    assert_eq!(count.count(), 1);
    assert!(matches!(poll_once(&mut send, &waker), Poll::Ready(Ok(()))));
    drop(send);
    assert_eq!(receiver.try_recv(), Ok(2));
}

#[test]
fn send_future_polled_after_completion_panics_without_claiming() {
    let (sender, mut receiver) = kiln_inbox::new(2);
    let (_count, waker) = CountWaker::new();
    let mut send = sender.send(1);
    assert!(matches!(poll_once(&mut send, &waker), Poll::Ready(Ok(()))));
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = poll_once(&mut send, &waker);
    }));
    assert!(again.is_err());
    drop(send);
    // No position was claimed (and left unused) by the second poll.
    sender.try_send(2).unwrap();
    assert_eq!(receiver.try_recv(), Ok(1));
    assert_eq!(receiver.try_recv(), Ok(2));
}

#[test]
fn send_future_errors_on_disconnect() {
    let (sender, receiver) = kiln_inbox::new(1);
    sender.try_send(Opaque(1)).unwrap();
    let (count, waker) = CountWaker::new();
    let mut send = sender.send(Opaque(2));
    assert!(poll_once(&mut send, &waker).is_pending());
    drop(receiver);
    assert_eq!(count.count(), 1);
    match poll_once(&mut send, &waker) {
        Poll::Ready(Err(SendError::Disconnected(msg))) => assert_eq!(msg.0, 2),
        _ => panic!("expected a disconnected error"),
    }
    assert!(matches!(
        block_on(sender.send(Opaque(3))),
        Err(SendError::Disconnected(_))
    ));
}

#[test]
fn reserve_future_waits_while_full() {
    let (sender, mut receiver) = kiln_inbox::new(1);
    let permit = block_on(sender.reserve()).unwrap();
    let (count, waker) = CountWaker::new();
    let mut reserve: Reserve<'_, u32> = sender.reserve();
    assert!(format!("{reserve:?}").starts_with("Reserve"));
    assert!(poll_once(&mut reserve, &waker).is_pending());
    // A dropped permit returns its slot: that frees it for the waiter once
    // the receiver passes over it.
    drop(permit);
    assert_eq!(receiver.try_recv(), Err(RecvError::Empty));
    assert_eq!(count.count(), 1);
    let Poll::Ready(Ok(permit)) = poll_once(&mut reserve, &waker) else {
        panic!("expected a permit");
    };
    permit.send(5);
    assert_eq!(receiver.try_recv(), Ok(5));
}

#[test]
fn reserve_future_errors_on_disconnect() {
    let (manager, sender, receiver) = Manager::new(1);
    sender.try_send(1).unwrap();
    let (count, waker) = CountWaker::new();
    let mut reserve = sender.reserve();
    assert!(poll_once(&mut reserve, &waker).is_pending());
    drop(receiver);
    // The manager keeps the inbox connected.
    assert_eq!(count.count(), 0);
    assert!(poll_once(&mut reserve, &waker).is_pending());
    drop(manager);
    assert_eq!(count.count(), 1);
    assert!(matches!(
        poll_once(&mut reserve, &waker),
        Poll::Ready(Err(Disconnected))
    ));
}

#[test]
fn one_waiter_woken_per_freed_slot() {
    let (sender, mut receiver) = kiln_inbox::new(1);
    sender.try_send(0).unwrap();
    let (count1, waker1) = CountWaker::new();
    let (count2, waker2) = CountWaker::new();
    let mut send1 = sender.send(1);
    let mut send2 = sender.send(2);
    assert!(poll_once(&mut send1, &waker1).is_pending());
    assert!(poll_once(&mut send2, &waker2).is_pending());
    assert_eq!(receiver.try_recv(), Ok(0));
    assert_eq!((count1.count(), count2.count()), (1, 0));
    assert!(poll_once(&mut send1, &waker1).is_ready());
    assert_eq!(receiver.try_recv(), Ok(1));
    assert_eq!((count1.count(), count2.count()), (1, 1));
    assert!(poll_once(&mut send2, &waker2).is_ready());
    assert_eq!(receiver.try_recv(), Ok(2));
}

#[test]
fn dropped_woken_send_future_passes_wake_up_on() {
    let (sender, mut receiver) = kiln_inbox::new(1);
    sender.try_send(0).unwrap();
    let (count1, waker1) = CountWaker::new();
    let (count2, waker2) = CountWaker::new();
    let mut send1 = sender.send(1);
    let mut send2 = sender.send(2);
    assert!(poll_once(&mut send1, &waker1).is_pending());
    assert!(poll_once(&mut send2, &waker2).is_pending());
    assert_eq!(receiver.try_recv(), Ok(0));
    assert_eq!((count1.count(), count2.count()), (1, 0));
    // Woken for the free slot, but dropped without using it.
    drop(send1);
    assert_eq!(count2.count(), 1);
    assert!(poll_once(&mut send2, &waker2).is_ready());
    assert_eq!(receiver.try_recv(), Ok(2));
}

#[test]
fn dropped_pending_send_future_unregisters() {
    let (sender, mut receiver) = kiln_inbox::new(1);
    sender.try_send(0).unwrap();
    let (count1, waker1) = CountWaker::new();
    let (count2, waker2) = CountWaker::new();
    let mut send1 = sender.send(1);
    let mut send2 = sender.send(2);
    assert!(poll_once(&mut send1, &waker1).is_pending());
    assert!(poll_once(&mut send2, &waker2).is_pending());
    drop(send1);
    assert_eq!((count1.count(), count2.count()), (0, 0));
    // The freed slot goes to the one still waiting.
    assert_eq!(receiver.try_recv(), Ok(0));
    assert_eq!((count1.count(), count2.count()), (0, 1));
    assert!(poll_once(&mut send2, &waker2).is_ready());
}

#[test]
fn send_future_updates_waker() {
    let (sender, mut receiver) = kiln_inbox::new(1);
    sender.try_send(0).unwrap();
    let (count1, waker1) = CountWaker::new();
    let (count2, waker2) = CountWaker::new();
    let mut send = sender.send(1);
    assert!(poll_once(&mut send, &waker1).is_pending());
    assert!(poll_once(&mut send, &waker2).is_pending());
    assert_eq!(receiver.try_recv(), Ok(0));
    assert_eq!((count1.count(), count2.count()), (0, 1));
}

#[test]
fn join_after_receiver_and_manager_are_gone() {
    let (manager, sender, receiver) = Manager::<u8>::new(1);
    let (count, waker) = CountWaker::new();
    let mut join: Join<'_, u8> = sender.join();
    assert!(format!("{join:?}").starts_with("Join"));
    assert_eq!(poll_once(&mut join, &waker), Poll::Pending);
    manager.set_exit_status(42);
    drop(receiver);
    // The manager lives: the actor may be restarted.
    assert_eq!(count.count(), 0);
    assert_eq!(poll_once(&mut join, &waker), Poll::Pending);
    drop(manager);
    assert_eq!(count.count(), 1);
    assert_eq!(poll_once(&mut join, &waker), Poll::Ready(42));
    // Later joins complete at once.
    assert_eq!(block_on(sender.join()), 42);
}

#[test]
fn join_manager_dropped_first() {
    let (manager, sender, receiver) = Manager::<u8>::new(1);
    let (count, waker) = CountWaker::new();
    let mut join = sender.join();
    assert_eq!(poll_once(&mut join, &waker), Poll::Pending);
    manager.set_exit_status(7);
    drop(manager);
    assert_eq!(count.count(), 0);
    assert_eq!(poll_once(&mut join, &waker), Poll::Pending);
    drop(receiver);
    assert_eq!(count.count(), 1);
    assert_eq!(poll_once(&mut join, &waker), Poll::Ready(7));
}

#[test]
fn join_without_manager_or_status() {
    let (sender, receiver) = kiln_inbox::new::<u8>(1);
    let (count, waker) = CountWaker::new();
    let mut join = sender.join();
    let mut other_join = sender.join();
    assert_eq!(poll_once(&mut join, &waker), Poll::Pending);
    assert_eq!(poll_once(&mut other_join, &waker), Poll::Pending);
    drop(receiver);
    // All joiners are woken.
    assert_eq!(count.count(), 2);
    assert_eq!(poll_once(&mut join, &waker), Poll::Ready(0));
    assert_eq!(poll_once(&mut other_join, &waker), Poll::Ready(0));
}

#[test]
fn dropped_join_unregisters() {
    let (sender, receiver) = kiln_inbox::new::<u8>(1);
    let (count, waker) = CountWaker::new();
    let mut join = sender.join();
    assert_eq!(poll_once(&mut join, &waker), Poll::Pending);
    drop(join);
    drop(receiver);
    assert_eq!(count.count(), 0);
}

#[test]
fn manager_new_receiver_sees_queued_messages() {
    let (mut manager, sender, receiver) = Manager::new(4);
    assert!(manager.new_receiver().is_none());
    sender.try_send(1).unwrap();
    sender.try_send(2).unwrap();
    let mut receiver = receiver;
    assert_eq!(receiver.try_recv(), Ok(1));
    drop(receiver);
    assert!(sender.is_connected());
    sender.try_send(3).unwrap();
    let mut receiver = manager.new_receiver().unwrap();
    assert!(manager.new_receiver().is_none());
    assert_eq!(receiver.try_recv(), Ok(2));
    assert_eq!(receiver.try_recv(), Ok(3));
    assert_eq!(receiver.try_recv(), Err(RecvError::Empty));
}

#[test]
fn manager_is_not_a_sender() {
    let (manager, sender, mut receiver) = Manager::<u8>::new(1);
    drop(sender);
    assert!(!receiver.is_connected());
    assert_eq!(receiver.try_recv(), Err(RecvError::Disconnected));
    let sender = manager.new_sender();
    sender.try_send(1).unwrap();
    assert_eq!(receiver.try_recv(), Ok(1));
}

#[test]
fn send_waits_across_restart() {
    let (mut manager, sender, receiver) = Manager::new(1);
    sender.try_send(1).unwrap();
    let (count, waker) = CountWaker::new();
    let mut send = sender.send(2);
    assert!(poll_once(&mut send, &waker).is_pending());
    drop(receiver);
    let mut receiver = manager.new_receiver().unwrap();
    assert_eq!(count.count(), 0);
    assert_eq!(receiver.try_recv(), Ok(1));
    assert_eq!(count.count(), 1);
    assert!(poll_once(&mut send, &waker).is_ready());
    assert_eq!(receiver.try_recv(), Ok(2));
}

#[test]
fn disconnect_drops_queue_and_rejects_sends() {
    let (manager, sender, receiver) = Manager::new(4);
    sender.try_send(1).unwrap();
    drop(receiver);
    assert_eq!(sender.len(), 1);
    drop(manager);
    assert!(!sender.is_connected());
    assert!(sender.try_send(2).unwrap_err().is_disconnected());
    assert_eq!(sender.len(), 0);
}

#[test]
fn debug_without_message_debug() {
    let (mut manager, sender, receiver) = Manager::<Opaque>::new(2);
    let permit = sender.try_reserve().unwrap();
    let mut send = sender.send(Opaque(1));
    let mut join = sender.join();
    let (_count, waker) = CountWaker::new();
    assert!(poll_once(&mut join, &waker).is_pending());
    let outputs = [
        format!("{manager:?}"),
        format!("{sender:?}"),
        format!("{receiver:?}"),
        format!("{permit:?}"),
        format!("{send:?}"),
        format!("{join:?}"),
        format!("{:?}", SendError::Full(Opaque(1))),
    ];
    for output in outputs {
        assert!(!output.is_empty());
    }
    assert!(poll_once(&mut send, &waker).is_ready());
    drop(permit);
    drop(receiver);
    let mut receiver = manager.new_receiver().unwrap();
    assert_eq!(receiver.try_recv().map(|m| m.0).ok(), Some(1));
}

#[test]
fn auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    fn unpin<T: Unpin>() {}
    fn debug<T: Debug>() {}
    /// Neither `Sync` nor `Unpin` nor `Debug`.
    struct Awkward {
        _cell: std::cell::Cell<u8>,
        _pin: std::marker::PhantomPinned,
    }
    send_sync::<Sender<Awkward>>();
    send::<Receiver<Awkward>>();
    send::<Manager<Awkward>>();
    send_sync::<Permit<'static, Awkward>>();
    // `Sync` though the message is not: see the `unsafe impl` in `sender.rs`.
    send_sync::<SendValue<'static, Awkward>>();
    send_sync::<Reserve<'static, Awkward>>();
    send_sync::<Join<'static, Awkward>>();
    send::<RecvValue<'static, Awkward>>();
    send::<oneshot::Sender<Awkward>>();
    send::<oneshot::Receiver<Awkward>>();
    unpin::<SendValue<'static, Awkward>>();
    unpin::<Reserve<'static, Awkward>>();
    unpin::<Join<'static, Awkward>>();
    unpin::<RecvValue<'static, Awkward>>();
    unpin::<oneshot::RecvOnce<'static, Awkward>>();
    debug::<Sender<Awkward>>();
    debug::<Receiver<Awkward>>();
    debug::<Manager<Awkward>>();
    debug::<Permit<'static, Awkward>>();
    debug::<SendValue<'static, Awkward>>();
    debug::<Reserve<'static, Awkward>>();
    debug::<Join<'static, Awkward>>();
    debug::<RecvValue<'static, Awkward>>();
    debug::<SendError<Awkward>>();
    debug::<oneshot::Sender<Awkward>>();
    debug::<oneshot::Receiver<Awkward>>();
    debug::<oneshot::RecvOnce<'static, Awkward>>();
}

#[test]
fn oneshot_send_recv() {
    let (sender, mut receiver) = oneshot::new();
    assert!(sender.is_connected());
    assert!(receiver.is_connected());
    assert_eq!(receiver.try_recv(), Err(oneshot::RecvError::NoValue));
    sender.try_send(String::from("reply")).unwrap();
    assert!(!receiver.is_connected());
    assert_eq!(receiver.try_recv().as_deref(), Ok("reply"));
    assert_eq!(receiver.try_recv(), Err(oneshot::RecvError::Disconnected));
}

#[test]
fn oneshot_recv_future() {
    let (sender, mut receiver) = oneshot::new::<u32>();
    let (count, waker) = CountWaker::new();
    let mut recv = receiver.recv();
    assert!(format!("{recv:?}").starts_with("RecvOnce"));
    assert_eq!(poll_once(&mut recv, &waker), Poll::Pending);
    assert_eq!(poll_once(&mut recv, &waker), Poll::Pending);
    sender.try_send(1).unwrap();
    assert_eq!(count.count(), 1);
    assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(Some(1)));
}

#[test]
fn oneshot_sender_dropped_without_sending() {
    let (sender, mut receiver) = oneshot::new::<u32>();
    let (count, waker) = CountWaker::new();
    let mut recv = receiver.recv();
    assert_eq!(poll_once(&mut recv, &waker), Poll::Pending);
    drop(sender);
    assert_eq!(count.count(), 1);
    assert_eq!(poll_once(&mut recv, &waker), Poll::Ready(None));
    assert_eq!(receiver.try_recv(), Err(oneshot::RecvError::Disconnected));
    let mut cx = std::task::Context::from_waker(&waker);
    assert_eq!(receiver.poll_recv(&mut cx), Poll::Ready(None));
}

#[test]
fn oneshot_receiver_dropped() {
    let (sender, receiver) = oneshot::new::<Opaque>();
    drop(receiver);
    assert!(!sender.is_connected());
    assert_eq!(sender.try_send(Opaque(3)).unwrap_err().0, 3);
}

#[test]
fn oneshot_reset() {
    let (sender, mut receiver) = oneshot::new::<usize>();
    assert!(receiver.try_reset().is_none(), "the sender still exists");
    drop(sender);
    for n in 0..1000 {
        let sender = receiver.try_reset().expect("sender is gone");
        assert!(receiver.try_reset().is_none());
        assert!(receiver.is_connected());
        match n % 3 {
            0 => {
                sender.try_send(n).unwrap();
                assert_eq!(receiver.try_recv(), Ok(n));
            }
            1 => sender.try_send(n).unwrap(), // Not taken: reset drops it.
            _ => drop(sender),
        }
    }
    let sender = receiver.try_reset().unwrap();
    sender.try_send(1000).unwrap();
    assert_eq!(block_on(receiver.recv()), Some(1000));
}
