//! Every message is dropped exactly once, whichever way it leaves the inbox
//! or the oneshot channel.

mod util;

use std::sync::atomic::AtomicUsize;
use std::task::Poll;

use kiln_inbox::{Manager, RecvError, oneshot};
use util::{CountWaker, DropCounter, block_on, drops, poll_once};

fn msg(drops: &std::sync::Arc<AtomicUsize>, value: usize) -> DropCounter {
    DropCounter::new(drops, value)
}

#[test]
fn received_messages() {
    let counter = DropCounter::counter();
    let (sender, mut receiver) = kiln_inbox::new(2);
    for n in 0..10 {
        sender.try_send(msg(&counter, n)).unwrap();
        let received = receiver.try_recv().unwrap();
        assert_eq!(received.value, n);
        assert_eq!(drops(&counter), n);
        drop(received);
        assert_eq!(drops(&counter), n + 1);
    }
    drop((sender, receiver));
    assert_eq!(drops(&counter), 10);
}

#[test]
fn peeked_message_is_not_dropped() {
    let counter = DropCounter::counter();
    let (sender, mut receiver) = kiln_inbox::new(2);
    sender.try_send(msg(&counter, 1)).unwrap();
    assert_eq!(receiver.try_peek().unwrap().value, 1);
    assert_eq!(drops(&counter), 0);
    drop(receiver);
    assert_eq!(drops(&counter), 1);
    drop(sender);
    assert_eq!(drops(&counter), 1);
}

#[test]
fn queued_when_all_handles_drop() {
    for receiver_last in [false, true] {
        let counter = DropCounter::counter();
        let (sender, receiver) = kiln_inbox::new(4);
        // Wrap around once so the queued messages straddle the ring's end.
        let mut receiver = receiver;
        for n in 0..3 {
            sender.try_send(msg(&counter, n)).unwrap();
            drop(receiver.try_recv().unwrap());
        }
        for n in 0..4 {
            sender.try_send(msg(&counter, n)).unwrap();
        }
        assert_eq!(drops(&counter), 3);
        if receiver_last {
            drop(sender);
            assert_eq!(drops(&counter), 3);
            drop(receiver);
        } else {
            drop(receiver);
            // The receiver was the last consumer-side handle.
            assert_eq!(drops(&counter), 7);
            drop(sender);
        }
        assert_eq!(drops(&counter), 7);
    }
}

#[test]
fn queued_when_receiver_and_manager_drop_with_senders_alive() {
    for manager_last in [false, true] {
        let counter = DropCounter::counter();
        let (manager, sender, receiver) = Manager::new(4);
        for n in 0..3 {
            sender.try_send(msg(&counter, n)).unwrap();
        }
        if manager_last {
            drop(receiver);
            assert_eq!(drops(&counter), 0, "kept for a restart");
            drop(manager);
        } else {
            drop(manager);
            assert_eq!(drops(&counter), 0, "the receiver can still read");
            drop(receiver);
        }
        // Dropped right away, while a sender is still alive.
        assert_eq!(drops(&counter), 3);
        let err = sender.try_send(msg(&counter, 3)).unwrap_err();
        assert!(err.is_disconnected());
        assert_eq!(drops(&counter), 3);
        drop(err);
        assert_eq!(drops(&counter), 4);
        drop(sender);
        assert_eq!(drops(&counter), 4);
    }
}

#[test]
fn kept_across_restart() {
    let counter = DropCounter::counter();
    let (mut manager, sender, receiver) = Manager::new(2);
    sender.try_send(msg(&counter, 1)).unwrap();
    drop(receiver);
    let mut receiver = manager.new_receiver().unwrap();
    assert_eq!(drops(&counter), 0);
    assert_eq!(receiver.try_recv().unwrap().value, 1);
    assert_eq!(drops(&counter), 1);
}

#[test]
fn dropped_permit_holds_no_message() {
    let counter = DropCounter::counter();
    let (sender, mut receiver) = kiln_inbox::new(2);
    let permit = sender.try_reserve().unwrap();
    sender.try_send(msg(&counter, 2)).unwrap();
    drop(permit);
    assert_eq!(drops(&counter), 0);
    assert_eq!(receiver.try_recv().unwrap().value, 2);
    assert_eq!(drops(&counter), 1);
    drop(sender.try_reserve().unwrap());
    drop((sender, receiver));
    assert_eq!(drops(&counter), 1);
}

#[test]
fn permit_used_after_disconnect() {
    let counter = DropCounter::counter();
    let (sender, receiver) = kiln_inbox::new(2);
    let permit = sender.try_reserve().unwrap();
    sender.try_send(msg(&counter, 1)).unwrap();
    // The message after the permit's hole is dropped by the disconnect.
    drop(receiver);
    assert_eq!(drops(&counter), 1);
    // In flight during the disconnect: dropped with the channel.
    permit.send(msg(&counter, 0));
    assert_eq!(drops(&counter), 1);
    drop(sender);
    assert_eq!(drops(&counter), 2);
}

#[test]
fn permit_used_after_disconnect_sender_dropped_first() {
    let counter = DropCounter::counter();
    let (manager, sender, receiver) = Manager::new(1);
    let clone = sender.clone();
    let permit = clone.try_reserve().unwrap();
    drop(receiver);
    drop(manager);
    permit.send(msg(&counter, 0));
    drop(sender);
    assert_eq!(drops(&counter), 0);
    drop(clone);
    assert_eq!(drops(&counter), 1);
}

#[test]
fn pending_send_future() {
    let counter = DropCounter::counter();
    let (sender, receiver) = kiln_inbox::new(1);
    sender.try_send(msg(&counter, 0)).unwrap();
    let (_count, waker) = CountWaker::new();
    // Dropped while waiting.
    let mut send = sender.send(msg(&counter, 1));
    assert!(poll_once(&mut send, &waker).is_pending());
    drop(send);
    assert_eq!(drops(&counter), 1);
    // Never polled.
    drop(sender.send(msg(&counter, 2)));
    assert_eq!(drops(&counter), 2);
    // Disconnected while waiting: the error holds the message.
    let mut send = sender.send(msg(&counter, 3));
    assert!(poll_once(&mut send, &waker).is_pending());
    drop(receiver);
    assert_eq!(drops(&counter), 3);
    let Poll::Ready(Err(err)) = poll_once(&mut send, &waker) else {
        panic!("expected an error");
    };
    assert_eq!(drops(&counter), 3);
    assert_eq!(err.into_inner().value, 3);
    assert_eq!(drops(&counter), 4);
    drop(send);
    drop(sender);
    assert_eq!(drops(&counter), 4);
}

#[test]
fn completed_send_future() {
    let counter = DropCounter::counter();
    let (sender, mut receiver) = kiln_inbox::new(1);
    block_on(sender.send(msg(&counter, 0))).unwrap();
    assert_eq!(drops(&counter), 0);
    assert_eq!(receiver.try_recv().unwrap().value, 0);
    assert_eq!(drops(&counter), 1);
    assert_eq!(receiver.try_recv().unwrap_err(), RecvError::Empty);
}

#[test]
fn in_flight_during_disconnect() {
    use std::thread;
    // Senders race the disconnect; every message is dropped exactly once,
    // whether it was rejected, received, drained or left for the channel's
    // drop.
    for round in 0..200 {
        let counter = DropCounter::counter();
        let (manager, sender, mut receiver) = Manager::new(1 + round % 4);
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let sender = sender.clone();
                let counter = counter.clone();
                thread::spawn(move || {
                    let mut made = 0;
                    for n in 0..50 {
                        made += 1;
                        let result = if n % 2 == 0 {
                            sender.try_send(DropCounter::new(&counter, t * 100 + n))
                        } else {
                            match sender.try_reserve() {
                                Ok(permit) => {
                                    permit.send(DropCounter::new(&counter, t * 100 + n));
                                    Ok(())
                                }
                                Err(_) => {
                                    // Made and dropped right away.
                                    drop(DropCounter::new(&counter, t * 100 + n));
                                    Ok(())
                                }
                            }
                        };
                        if let Err(err) = result {
                            if err.is_disconnected() {
                                break;
                            }
                        }
                    }
                    made
                })
            })
            .collect();
        let _ = receiver.try_recv();
        drop(receiver);
        drop(manager);
        let made: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        // Our sender keeps the channel alive: messages published after the
        // drain are still in it.
        assert!(drops(&counter) <= made);
        drop(sender);
        assert_eq!(drops(&counter), made);
    }
}

#[test]
fn oneshot_value_untaken() {
    let counter = DropCounter::counter();
    let (sender, receiver) = oneshot::new();
    sender.try_send(msg(&counter, 1)).unwrap();
    assert_eq!(drops(&counter), 0);
    drop(receiver);
    assert_eq!(drops(&counter), 1);
}

#[test]
fn oneshot_value_taken() {
    let counter = DropCounter::counter();
    let (sender, mut receiver) = oneshot::new();
    sender.try_send(msg(&counter, 1)).unwrap();
    let value = receiver.try_recv().unwrap();
    assert_eq!(drops(&counter), 0);
    drop(value);
    drop(receiver);
    assert_eq!(drops(&counter), 1);
}

#[test]
fn oneshot_receiver_gone() {
    let counter = DropCounter::counter();
    let (sender, receiver) = oneshot::new();
    drop(receiver);
    let value = sender.try_send(msg(&counter, 1)).unwrap_err();
    assert_eq!(drops(&counter), 0);
    drop(value);
    assert_eq!(drops(&counter), 1);
}

#[test]
fn oneshot_reset_with_untaken_value() {
    let counter = DropCounter::counter();
    let (sender, mut receiver) = oneshot::new();
    sender.try_send(msg(&counter, 1)).unwrap();
    let sender = receiver.try_reset().unwrap();
    assert_eq!(drops(&counter), 1);
    sender.try_send(msg(&counter, 2)).unwrap();
    assert_eq!(receiver.try_recv().unwrap().value, 2);
    assert_eq!(drops(&counter), 2);
    let sender = receiver.try_reset().unwrap();
    sender.try_send(msg(&counter, 3)).unwrap();
    drop(receiver);
    assert_eq!(drops(&counter), 3);
}

#[test]
fn oneshot_sender_dropped_unsent() {
    let counter = DropCounter::counter();
    let (sender, mut receiver) = oneshot::new::<DropCounter>();
    drop(sender);
    let sender = receiver.try_reset().unwrap();
    drop(sender);
    drop(receiver);
    assert_eq!(drops(&counter), 0);
}
