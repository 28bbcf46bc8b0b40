//! loom models of the inbox and the oneshot channel: every interleaving (and
//! every stale read the memory model allows) of small scenarios.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p kiln-inbox --release --test loom --target-dir target/loom`.
//! A lost wake-up shows up as loom reporting a deadlock (every thread
//! blocked in `block_on`), a data race or use-after-free as a loom panic, a
//! leak as loom's leak check, and a message dropped twice or never as a
//! failed drop count.

#![cfg(loom)]

mod util;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use kiln_inbox::room::Room;
use kiln_inbox::{Manager, RecvError, SendError, oneshot};
use loom::sync::Notify;
use loom::thread;
use util::{DropCounter, drops};

/// A waker that notifies a loom `Notify` (not `thread::unpark`: loom
/// mistakes an unpark of a thread blocked in `join` for the join ending).
struct NotifyWaker(Notify);

impl Wake for NotifyWaker {
    fn wake(self: Arc<Self>) {
        self.0.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.notify();
    }
}

/// Runs `future` to completion, blocking the loom thread while it is
/// pending: if no wake-up comes, loom reports a deadlock.
fn block_on<F: Future>(future: F) -> F::Output {
    let notify = Arc::new(NotifyWaker(Notify::new()));
    let waker = Waker::from(notify.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        notify.0.wait();
    }
}

/// Runs `f` under loom, bounding preemptions to `preemptions` (`None`:
/// exhaustive).
fn model(preemptions: Option<usize>, f: impl Fn() + Send + Sync + 'static) {
    let mut builder = loom::model::Builder::new();
    // `LOOM_MAX_PREEMPTIONS` (read by `Builder::new`) overrides.
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = preemptions;
    }
    builder.check(f);
}

/// Receives until disconnected.
fn recv_all<M>(receiver: &mut kiln_inbox::Receiver<M>) -> Vec<M> {
    let mut received = Vec::new();
    while let Some(msg) = block_on(receiver.recv()) {
        received.push(msg);
    }
    received
}

/// One producer sends `capacity + 1` messages with the `send` future, so it
/// waits for room at least once and wraps round the ring; the consumer
/// receives with the `recv` future until disconnected.
fn one_producer(capacity: usize) {
    model(Some(3), move || {
        let (sender, mut receiver) = kiln_inbox::new::<u32>(capacity);
        let count = capacity as u32 + 1;
        let producer = thread::spawn(move || {
            for n in 0..count {
                block_on(sender.send(n)).unwrap();
            }
        });
        assert_eq!(recv_all(&mut receiver), (0..count).collect::<Vec<_>>());
        producer.join().unwrap();
    });
}

#[test]
fn one_producer_capacity_1() {
    one_producer(1);
}

#[test]
fn one_producer_capacity_2() {
    one_producer(2);
}

#[test]
fn one_producer_capacity_3() {
    one_producer(3);
}

/// Two producers, one message each, sent without waiting (there is room):
/// concurrent publishes, the receiver's waker and the disconnect.
fn two_producers(capacity: usize) {
    model(Some(3), move || {
        let (sender, mut receiver) = kiln_inbox::new::<u32>(capacity);
        let other = sender.clone();
        let producer = thread::spawn(move || other.try_send(2).unwrap());
        sender.try_send(1).unwrap();
        drop(sender);
        let mut received = recv_all(&mut receiver);
        received.sort_unstable();
        assert_eq!(received, [1, 2]);
        producer.join().unwrap();
    });
}

#[test]
fn two_producers_capacity_2() {
    two_producers(2);
}

#[test]
fn two_producers_capacity_3() {
    two_producers(3);
}

/// A receiver waiting in `peek` is woken by a send from another thread, and
/// then by the last sender leaving: the waiting peek re-checks the front
/// slot after arming its waker, as a receive does.
#[test]
fn peek_waits_for_a_send_and_a_disconnect() {
    model(Some(3), || {
        let (sender, mut receiver) = kiln_inbox::new::<u32>(1);
        let producer = thread::spawn(move || sender.try_send(1).unwrap());
        assert_eq!(block_on(receiver.peek()), Some(&1));
        assert_eq!(receiver.try_recv(), Ok(1));
        assert_eq!(block_on(receiver.peek()), None);
        producer.join().unwrap();
    });
}

/// Two producers wait for room in an inbox of one slot.
#[test]
fn two_waiting_producers_capacity_1() {
    model(Some(2), || {
        let (sender, mut receiver) = kiln_inbox::new::<u32>(1);
        let other = sender.clone();
        let producer = thread::spawn(move || block_on(other.send(2)).unwrap());
        let consumer = thread::spawn(move || {
            let mut received = [block_on(receiver.recv()), block_on(receiver.recv())];
            received.sort_unstable();
            received
        });
        block_on(sender.send(1)).unwrap();
        assert_eq!(consumer.join().unwrap(), [Some(1), Some(2)]);
        producer.join().unwrap();
    });
}

/// The waiting sender blocks on a slot whose claim is still in progress (a
/// permit not yet used): the publish and the receiver's free must not lose
/// its wake-up. This is the case that needs the publish to be an RMW.
#[test]
fn waiting_on_a_claim_in_progress() {
    model(Some(3), || {
        let (sender, mut receiver) = kiln_inbox::new::<u32>(1);
        let permit = sender.try_reserve().unwrap();
        let waiter = sender.clone();
        let waiter = thread::spawn(move || block_on(waiter.send(2)).unwrap());
        let consumer =
            thread::spawn(move || [block_on(receiver.recv()), block_on(receiver.recv())]);
        permit.send(1);
        assert_eq!(consumer.join().unwrap(), [Some(1), Some(2)]);
        waiter.join().unwrap();
    });
}

/// A permit dropped unused wakes the receiver and returns the capacity to a
/// waiting sender.
#[test]
fn dropped_permit() {
    model(Some(3), || {
        let (sender, mut receiver) = kiln_inbox::new::<u32>(1);
        let producer = thread::spawn(move || {
            drop(block_on(sender.reserve()).unwrap());
            block_on(sender.send(1)).unwrap();
        });
        assert_eq!(recv_all(&mut receiver), [1]);
        producer.join().unwrap();
    });
}

/// A sender woken for a free slot whose future is then dropped passes the
/// wake-up on to the other waiting sender.
#[test]
fn dropped_woken_sender_passes_wake_up_on() {
    model(Some(3), || {
        let (sender, mut receiver) = kiln_inbox::new::<u32>(1);
        sender.try_send(0).unwrap();
        let quitter = sender.clone();
        let waiter = thread::spawn(move || block_on(sender.send(2)).unwrap());
        // Registers behind or ahead of the waiter.
        let mut send = quitter.send(1);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(Pin::new(&mut send).poll(&mut cx).is_pending());
        // Frees the slot, waking the first registered sender...
        assert_eq!(receiver.try_recv(), Ok(0));
        // ...which may be the quitter, which gives up.
        drop(send);
        assert_eq!(block_on(receiver.recv()), Some(2));
        waiter.join().unwrap();
    });
}

/// A sender waiting on a full inbox is woken with an error when the consumer
/// side goes away.
#[test]
fn waiting_sender_sees_disconnect() {
    model(None, || {
        let (sender, receiver) = kiln_inbox::new::<u32>(1);
        sender.try_send(0).unwrap();
        let producer = thread::spawn(move || block_on(sender.send(1)));
        drop(receiver);
        assert!(matches!(
            producer.join().unwrap(),
            Err(SendError::Disconnected(1))
        ));
    });
}

/// The last sender sends and leaves while the receiver waits: it gets the
/// message, then `None`.
#[test]
fn last_sender_sends_then_leaves() {
    model(None, || {
        let (sender, mut receiver) = kiln_inbox::new::<u32>(2);
        let producer = thread::spawn(move || sender.try_send(1).unwrap());
        assert_eq!(recv_all(&mut receiver), [1]);
        producer.join().unwrap();
        assert_eq!(receiver.try_recv(), Err(RecvError::Disconnected));
    });
}

/// The receiver and the manager go away on two threads while a sender
/// sends: every message is dropped exactly once and the channel is freed
/// (loom checks for leaks).
#[test]
fn disconnect_races_sends() {
    model(Some(3), || {
        let counter = DropCounter::counter();
        let (manager, sender, mut receiver) = Manager::new(2);
        sender.try_send(DropCounter::new(&counter, 0)).unwrap();
        let producer = {
            let counter = counter.clone();
            thread::spawn(move || {
                let _ = sender.try_send(DropCounter::new(&counter, 1));
                let _ = sender.try_send(DropCounter::new(&counter, 2));
            })
        };
        let consumer = thread::spawn(move || {
            let _ = receiver.try_recv();
            drop(receiver);
        });
        drop(manager);
        consumer.join().unwrap();
        producer.join().unwrap();
        assert_eq!(drops(&counter), 3);
    });
}

/// The manager closes the inbox and hands out its messages one at a time
/// while one sender claims and uses a permit and another waits for room: the
/// waiting sender is woken (not left waiting while the messages are handed
/// out), every message is taken from the iterator, dropped with it, given
/// back in an error or dropped with the channel, exactly once, and the
/// channel is freed.
#[test]
fn close_hands_out_messages_while_senders_send() {
    model(Some(3), || {
        let counter = DropCounter::counter();
        let (manager, sender, receiver) = Manager::new(2);
        sender.try_send(DropCounter::new(&counter, 0)).unwrap();
        drop(receiver);
        let permit_sender = {
            let sender = sender.clone();
            let counter = counter.clone();
            thread::spawn(move || match sender.try_reserve() {
                Ok(permit) => {
                    permit.send(DropCounter::new(&counter, 1));
                    1
                }
                Err(_) => 0,
            })
        };
        let waiting_sender = {
            let counter = counter.clone();
            thread::spawn(move || {
                let result = block_on(sender.send(DropCounter::new(&counter, 2)));
                drop(result);
                1
            })
        };
        let mut queued = manager.close();
        let first = queued.next().expect("the message sent before the close");
        assert_eq!(first.value, 0);
        drop(first);
        drop(queued);
        let made = 1 + permit_sender.join().unwrap() + waiting_sender.join().unwrap();
        assert_eq!(drops(&counter), made);
    });
}

/// A joiner completes, with the exit status, once the receiver and the
/// manager are both gone, whichever goes last.
///
/// Bounded at 5 preemptions (40 s here; the other models use 3): since the
/// wait lists are allocated by the first waiter, the exhaustive exploration
/// ran for more than 20 minutes without finishing.
#[test]
fn join() {
    model(Some(5), || {
        let (manager, sender, receiver) = Manager::<u32>::new(1);
        let joiner = thread::spawn(move || block_on(sender.join()));
        let consumer = thread::spawn(move || drop(receiver));
        manager.set_exit_status(5);
        drop(manager);
        consumer.join().unwrap();
        assert_eq!(joiner.join().unwrap(), 5);
    });
}

/// The actor restarts (a new receiver from the manager) while a sender
/// waits for room: nothing is lost.
#[test]
fn restart_while_sending() {
    model(Some(3), || {
        let (mut manager, sender, receiver) = Manager::<u32>::new(1);
        let producer = thread::spawn(move || {
            block_on(sender.send(1)).unwrap();
            block_on(sender.send(2)).unwrap();
        });
        let mut receiver = receiver;
        assert_eq!(block_on(receiver.recv()), Some(1));
        drop(receiver);
        let mut receiver = manager.new_receiver().unwrap();
        assert_eq!(recv_all(&mut receiver), [2]);
        producer.join().unwrap();
    });
}

#[test]
fn oneshot_send_recv() {
    model(None, || {
        let (sender, mut receiver) = oneshot::new::<u32>();
        let producer = thread::spawn(move || sender.try_send(1).unwrap());
        assert_eq!(block_on(receiver.recv()), Some(1));
        producer.join().unwrap();
    });
}

#[test]
fn oneshot_sender_dropped() {
    model(None, || {
        let (sender, mut receiver) = oneshot::new::<u32>();
        let producer = thread::spawn(move || drop(sender));
        assert_eq!(block_on(receiver.recv()), None);
        producer.join().unwrap();
    });
}

/// The receiver goes away while the value is sent: dropped exactly once,
/// either by the sender (it got it back) or with the allocation.
#[test]
fn oneshot_receiver_dropped() {
    model(None, || {
        let counter = DropCounter::counter();
        let (sender, receiver) = oneshot::new();
        let producer = {
            let counter = counter.clone();
            thread::spawn(move || sender.try_send(DropCounter::new(&counter, 1)).is_ok())
        };
        drop(receiver);
        let _sent = producer.join().unwrap();
        assert_eq!(drops(&counter), 1);
    });
}

/// Two rounds on one allocation; the reset races the old sender's wake-up.
#[test]
fn oneshot_reset() {
    model(None, || {
        let counter = DropCounter::counter();
        let (sender, mut receiver) = oneshot::new();
        let first = {
            let counter = counter.clone();
            thread::spawn(move || sender.try_send(DropCounter::new(&counter, 1)).unwrap())
        };
        // Reset as soon as the sender is gone, taken or not.
        let sender = loop {
            if let Some(sender) = receiver.try_reset() {
                break sender;
            }
            thread::yield_now();
        };
        let second = {
            let counter = counter.clone();
            thread::spawn(move || sender.try_send(DropCounter::new(&counter, 2)).unwrap())
        };
        assert_eq!(block_on(receiver.recv()).map(|m| m.value), Some(2));
        first.join().unwrap();
        second.join().unwrap();
        drop(receiver);
        assert_eq!(drops(&counter), 2);
    });
}

/// An actor's future lodged in its inbox's allocation ([`Room`]), holding
/// the receiver: it takes what it finds and is dropped on a thread of its
/// own while a sender sends and leaves and the manager goes. Whichever
/// handle goes last frees the allocation (loom's leak check), after the
/// lodged value was dropped in place (once) and the message too (once,
/// received or left in the ring).
///
/// [`Room`]: kiln_inbox::room::Room
#[test]
fn lodged_value_dropped_while_a_sender_sends() {
    /// The lodged value: a receiver and a drop counter.
    struct Actor {
        receiver: kiln_inbox::Receiver<DropCounter>,
        _counted: DropCounter,
    }

    model(Some(2), || {
        let messages = DropCounter::counter();
        let values = DropCounter::counter();
        let (manager, sender, receiver, room) = Room::<DropCounter, Actor>::new(1).unwrap();
        let lodged = room.put(Actor {
            receiver,
            _counted: DropCounter::new(&values, 0),
        });
        let producer = {
            let messages = messages.clone();
            // Refused or not, the message is dropped once (a refused one
            // comes back in the error, dropped here).
            thread::spawn(move || drop(sender.try_send(DropCounter::new(&messages, 1))))
        };
        let owner = thread::spawn(move || {
            let mut lodged = lodged;
            drop(lodged.as_pin_mut().get_mut().receiver.try_recv());
            drop(lodged);
        });
        drop(manager);
        producer.join().unwrap();
        owner.join().unwrap();
        assert_eq!(drops(&values), 1);
        assert_eq!(drops(&messages), 1);
    });
}
