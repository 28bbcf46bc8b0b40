//! Property test: random sequences of operations on one thread, checked
//! against a `VecDeque` model of the inbox, with every message's drop
//! counted.

mod util;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::Poll;

use kiln_inbox::{Manager, Permit, Receiver, RecvError, ReserveError, SendError, Sender};
use proptest::prelude::*;
use util::{CountWaker, DropCounter, drops, poll_once};

type Msg = DropCounter;

#[derive(Clone, Debug)]
enum Op {
    TrySend(usize),
    SendFuture(usize),
    TryReserve(usize),
    SendPermit(usize),
    DropPermit(usize),
    TryRecv,
    Peek,
    CloneSender(usize),
    DropSender(usize),
    SenderFromReceiver,
    SenderFromManager,
    DropReceiver,
    NewReceiver,
    DropManager,
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..8usize;
    prop_oneof![
        6 => i.clone().prop_map(Op::TrySend),
        2 => i.clone().prop_map(Op::SendFuture),
        3 => i.clone().prop_map(Op::TryReserve),
        2 => i.clone().prop_map(Op::SendPermit),
        2 => i.clone().prop_map(Op::DropPermit),
        6 => Just(Op::TryRecv),
        2 => Just(Op::Peek),
        1 => i.clone().prop_map(Op::CloneSender),
        1 => i.prop_map(Op::DropSender),
        1 => Just(Op::SenderFromReceiver),
        1 => Just(Op::SenderFromManager),
        1 => Just(Op::DropReceiver),
        1 => Just(Op::NewReceiver),
        1 => Just(Op::DropManager),
    ]
}

/// What the model expects in a position of the queue.
#[derive(Debug, PartialEq)]
enum Entry {
    Msg(usize),
    /// A claimed permit, with its id.
    Hole(usize),
    Skipped,
}

/// A permit with the sender it borrows, owned together.
struct HeldPermit {
    /// Dropped before `sender`.
    permit: Option<Permit<'static, Msg>>,
    sender: *mut Sender<Msg>,
    id: usize,
}

impl HeldPermit {
    fn reserve(sender: Sender<Msg>, id: usize) -> Result<HeldPermit, ReserveError> {
        let sender = Box::into_raw(Box::new(sender));
        // SAFETY: the box stays alive (and is not moved) until `drop`, which
        // drops the permit borrowing it first.
        let borrowed: &'static Sender<Msg> = unsafe { &*sender };
        match borrowed.try_reserve() {
            Ok(permit) => Ok(HeldPermit {
                permit: Some(permit),
                sender,
                id,
            }),
            Err(err) => {
                // SAFETY: from `Box::into_raw` above, and not borrowed any more.
                drop(unsafe { Box::from_raw(sender) });
                Err(err)
            }
        }
    }

    fn send(mut self, msg: Msg) {
        self.permit.take().unwrap().send(msg);
    }
}

impl Drop for HeldPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        // SAFETY: from `Box::into_raw` in `reserve`; the permit borrowing it
        // is gone.
        drop(unsafe { Box::from_raw(self.sender) });
    }
}

struct Test {
    capacity: usize,
    drops: Arc<AtomicUsize>,
    made: usize,
    // The real inbox.
    manager: Option<Manager<Msg>>,
    receiver: Option<Receiver<Msg>>,
    senders: Vec<Sender<Msg>>,
    permits: Vec<HeldPermit>,
    // The model.
    queue: VecDeque<Entry>,
    disconnected: bool,
    next_permit: usize,
}

impl Test {
    fn new(capacity: usize) -> Test {
        let (manager, sender, receiver) = Manager::new(capacity);
        Test {
            capacity,
            drops: DropCounter::counter(),
            made: 0,
            manager: Some(manager),
            receiver: Some(receiver),
            senders: vec![sender],
            permits: Vec::new(),
            queue: VecDeque::new(),
            disconnected: false,
            next_permit: 0,
        }
    }

    fn msg(&mut self) -> Msg {
        self.made += 1;
        DropCounter::new(&self.drops, self.made)
    }

    fn sender_count(&self) -> usize {
        self.senders.len() + self.permits.len()
    }

    fn is_full(&self) -> bool {
        self.queue.len() == self.capacity
    }

    /// Model of receiving: passes over skipped entries; the front message.
    fn model_front(&mut self) -> Result<usize, RecvError> {
        while self.queue.front() == Some(&Entry::Skipped) {
            let _ = self.queue.pop_front();
        }
        match self.queue.front() {
            Some(Entry::Msg(value)) => Ok(*value),
            Some(Entry::Hole(_)) => Err(RecvError::Empty),
            Some(Entry::Skipped) => unreachable!(),
            None if self.sender_count() == 0 => Err(RecvError::Disconnected),
            None => Err(RecvError::Empty),
        }
    }

    fn disconnect_if_no_consumer(&mut self) {
        if self.manager.is_none() && self.receiver.is_none() {
            self.disconnected = true;
            self.queue.clear();
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::TrySend(i) => {
                if self.senders.is_empty() {
                    return;
                }
                let msg = self.msg();
                let value = msg.value;
                let result = self.senders[i % self.senders.len()].try_send(msg);
                if self.disconnected {
                    assert!(matches!(result, Err(SendError::Disconnected(m)) if m.value == value));
                } else if self.is_full() {
                    assert!(matches!(result, Err(SendError::Full(m)) if m.value == value));
                } else {
                    assert!(result.is_ok());
                    self.queue.push_back(Entry::Msg(value));
                }
            }
            Op::SendFuture(i) => {
                if self.senders.is_empty() {
                    return;
                }
                let msg = self.msg();
                let value = msg.value;
                let sender = &self.senders[i % self.senders.len()];
                let (count, waker) = CountWaker::new();
                let mut future = sender.send(msg);
                let result = poll_once(&mut future, &waker);
                if self.disconnected {
                    assert!(matches!(
                        result,
                        Poll::Ready(Err(SendError::Disconnected(_)))
                    ));
                } else if self.is_full() {
                    assert!(result.is_pending());
                } else {
                    assert!(matches!(result, Poll::Ready(Ok(()))));
                    self.queue.push_back(Entry::Msg(value));
                }
                drop(future);
                assert_eq!(count.count(), 0);
            }
            Op::TryReserve(i) => {
                if self.senders.is_empty() {
                    return;
                }
                let sender = self.senders[i % self.senders.len()].clone();
                let id = self.next_permit;
                self.next_permit += 1;
                match HeldPermit::reserve(sender, id) {
                    Ok(permit) => {
                        assert!(!self.disconnected && !self.is_full());
                        self.permits.push(permit);
                        self.queue.push_back(Entry::Hole(id));
                    }
                    Err(ReserveError::Full) => assert!(!self.disconnected && self.is_full()),
                    Err(ReserveError::Disconnected) => assert!(self.disconnected),
                }
            }
            Op::SendPermit(i) | Op::DropPermit(i) => {
                if self.permits.is_empty() {
                    return;
                }
                let permit = self.permits.swap_remove(i % self.permits.len());
                let id = permit.id;
                let entry = if let Op::SendPermit(_) = op {
                    let msg = self.msg();
                    let value = msg.value;
                    permit.send(msg);
                    Entry::Msg(value)
                } else {
                    drop(permit);
                    Entry::Skipped
                };
                if let Some(slot) = self.queue.iter_mut().find(|e| **e == Entry::Hole(id)) {
                    *slot = entry;
                }
            }
            Op::TryRecv => {
                if self.receiver.is_none() {
                    return;
                }
                let expected = self.model_front();
                let receiver = self.receiver.as_mut().unwrap();
                let got = receiver.try_recv().map(|m| m.value);
                assert_eq!(got, expected);
                if got.is_ok() {
                    let _ = self.queue.pop_front();
                }
            }
            Op::Peek => {
                if self.receiver.is_none() {
                    return;
                }
                let expected = self.model_front();
                let receiver = self.receiver.as_mut().unwrap();
                assert_eq!(receiver.try_peek().map(|m| m.value), expected);
            }
            Op::CloneSender(i) => {
                if let Some(sender) = self.senders.get(i % self.senders.len().max(1)) {
                    self.senders.push(sender.clone());
                }
            }
            Op::DropSender(i) => {
                if !self.senders.is_empty() {
                    drop(self.senders.swap_remove(i % self.senders.len()));
                }
            }
            Op::SenderFromReceiver => {
                if let Some(receiver) = &self.receiver {
                    self.senders.push(receiver.new_sender());
                }
            }
            Op::SenderFromManager => {
                if let Some(manager) = &self.manager {
                    self.senders.push(manager.new_sender());
                }
            }
            Op::DropReceiver => {
                if self.receiver.take().is_some() {
                    self.disconnect_if_no_consumer();
                }
            }
            Op::NewReceiver => {
                if let Some(manager) = self.manager.as_mut() {
                    let had_receiver = self.receiver.is_some();
                    let new = manager.new_receiver();
                    assert_eq!(new.is_some(), !had_receiver);
                    if let Some(new) = new {
                        self.receiver = Some(new);
                    }
                }
            }
            Op::DropManager => {
                if self.manager.take().is_some() {
                    self.disconnect_if_no_consumer();
                }
            }
        }
        self.check_invariants();
    }

    fn check_invariants(&self) {
        for sender in &self.senders {
            assert_eq!(sender.is_connected(), !self.disconnected);
            assert_eq!(sender.has_manager(), self.manager.is_some());
            if !self.disconnected {
                assert_eq!(sender.len(), self.queue.len());
            }
            assert_eq!(sender.capacity(), self.capacity);
        }
        if let Some(receiver) = &self.receiver {
            assert_eq!(receiver.is_connected(), self.sender_count() != 0);
        }
        // Messages not in the model's queue were dropped (the model clears
        // its queue on disconnect, when the real inbox drains).
        if !self.disconnected {
            let queued = self
                .queue
                .iter()
                .filter(|e| matches!(e, Entry::Msg(_)))
                .count();
            assert_eq!(drops(&self.drops), self.made - queued);
        }
    }

    fn finish(mut self) {
        let made = self.made;
        let counter = self.drops.clone();
        self.permits.clear();
        self.senders.clear();
        drop(self.receiver.take());
        drop(self.manager.take());
        assert_eq!(drops(&counter), made, "every message dropped exactly once");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn inbox_matches_model(capacity in 1..=4usize, ops in proptest::collection::vec(op(), 0..120)) {
        let mut test = Test::new(capacity);
        for op in ops {
            test.apply(op);
        }
        test.finish();
    }
}
