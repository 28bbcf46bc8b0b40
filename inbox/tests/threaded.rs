//! Stress tests: several producer threads, one consumer; every message
//! arrives exactly once and in the order each producer sent it.

mod util;

use std::thread;

use kiln_inbox::{Manager, RecvError, SendError};
use util::block_on;

const PRODUCERS: usize = 4;
const MESSAGES: usize = 100_000;

/// Message: (producer, sequence number).
type Msg = (usize, usize);

/// Checks per-producer order and counts.
struct Checker {
    next: Vec<usize>,
}

impl Checker {
    fn new() -> Checker {
        Checker {
            next: vec![0; PRODUCERS],
        }
    }

    fn check(&mut self, (producer, seq): Msg) {
        assert_eq!(
            seq, self.next[producer],
            "message of producer {producer} out of order"
        );
        self.next[producer] += 1;
    }

    fn done(&self) -> bool {
        self.next.iter().all(|&n| n == MESSAGES)
    }
}

/// Producers spin on `try_send`; the consumer spins on `try_recv`.
fn spinning(capacity: usize) {
    let (sender, mut receiver) = kiln_inbox::new::<Msg>(capacity);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let sender = sender.clone();
            thread::spawn(move || {
                for seq in 0..MESSAGES {
                    let mut msg = (p, seq);
                    loop {
                        match sender.try_send(msg) {
                            Ok(()) => break,
                            Err(SendError::Full(m)) => {
                                msg = m;
                                thread::yield_now();
                            }
                            Err(SendError::Disconnected(_)) => panic!("disconnected"),
                        }
                    }
                }
            })
        })
        .collect();
    drop(sender);
    let mut checker = Checker::new();
    loop {
        match receiver.try_recv() {
            Ok(msg) => checker.check(msg),
            Err(RecvError::Empty) => thread::yield_now(),
            Err(RecvError::Disconnected) => break,
        }
    }
    assert!(checker.done());
    for producer in producers {
        producer.join().unwrap();
    }
}

/// Producers use the `send` future (or `reserve`), the consumer the `recv`
/// future, all driven by a thread-parking `block_on`: a lost wake-up hangs.
fn waiting(capacity: usize) {
    let (sender, mut receiver) = kiln_inbox::new::<Msg>(capacity);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let sender = sender.clone();
            thread::spawn(move || {
                for seq in 0..MESSAGES {
                    if p % 2 == 0 {
                        block_on(sender.send((p, seq))).unwrap();
                    } else {
                        block_on(sender.reserve()).unwrap().send((p, seq));
                    }
                }
            })
        })
        .collect();
    drop(sender);
    let mut checker = Checker::new();
    while let Some(msg) = block_on(receiver.recv()) {
        checker.check(msg);
    }
    assert!(checker.done());
    for producer in producers {
        producer.join().unwrap();
    }
}

#[test]
fn spinning_capacity_8() {
    spinning(8);
}

#[test]
fn spinning_capacity_1024() {
    spinning(1024);
}

#[test]
fn waiting_capacity_1() {
    waiting(1);
}

#[test]
fn waiting_capacity_8() {
    waiting(8);
}

#[test]
fn waiting_capacity_1024() {
    waiting(1024);
}

/// Some reserved permits are dropped unused: the consumer must pass over
/// them and the producers must get the capacity back.
#[test]
fn waiting_with_skipped_permits() {
    let (sender, mut receiver) = kiln_inbox::new::<Msg>(4);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let sender = sender.clone();
            thread::spawn(move || {
                for seq in 0..MESSAGES {
                    drop(block_on(sender.reserve()).unwrap());
                    block_on(sender.reserve()).unwrap().send((p, seq));
                }
            })
        })
        .collect();
    drop(sender);
    let mut checker = Checker::new();
    while let Some(msg) = block_on(receiver.recv()) {
        checker.check(msg);
    }
    assert!(checker.done());
    for producer in producers {
        producer.join().unwrap();
    }
}

/// The actor restarts (new receiver from the manager) while producers send:
/// nothing is lost or duplicated across restarts.
#[test]
fn restarts_while_sending() {
    let (mut manager, sender, receiver) = Manager::<Msg>::new(8);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let sender = sender.clone();
            thread::spawn(move || {
                for seq in 0..MESSAGES {
                    block_on(sender.send((p, seq))).unwrap();
                }
            })
        })
        .collect();
    drop(sender);
    let mut checker = Checker::new();
    let mut receiver = Some(receiver);
    let mut received = 0;
    loop {
        let r = receiver.as_mut().unwrap();
        match block_on(r.recv()) {
            Some(msg) => checker.check(msg),
            None => break,
        }
        received += 1;
        if received % 1000 == 0 {
            // Restart: drop the receiver, get a new one.
            drop(receiver.take());
            receiver = Some(manager.new_receiver().unwrap());
        }
    }
    assert!(checker.done());
    for producer in producers {
        producer.join().unwrap();
    }
}

/// Joiners on other threads complete once the actor stops for good.
#[test]
fn join_from_threads() {
    for _ in 0..100 {
        let (manager, sender, receiver) = Manager::<()>::new(1);
        let joiners: Vec<_> = (0..2)
            .map(|_| {
                let sender = sender.clone();
                thread::spawn(move || block_on(sender.join()))
            })
            .collect();
        manager.set_exit_status(9);
        let t = thread::spawn(move || drop(receiver));
        drop(manager);
        t.join().unwrap();
        for joiner in joiners {
            assert_eq!(joiner.join().unwrap(), 9);
        }
    }
}

/// Oneshot RPC loop across threads, reusing one allocation.
#[test]
fn oneshot_round_trips() {
    let (requests, mut inbox) = kiln_inbox::new::<(usize, kiln_inbox::oneshot::Sender<usize>)>(8);
    let server = thread::spawn(move || {
        while let Some((n, reply)) = block_on(inbox.recv()) {
            reply.try_send(n * 2).unwrap();
        }
    });
    let (first, mut replies) = kiln_inbox::oneshot::new();
    let mut reply = Some(first);
    for n in 0..MESSAGES {
        let sender = reply.take().or_else(|| replies.try_reset()).unwrap();
        block_on(requests.send((n, sender))).unwrap();
        assert_eq!(block_on(replies.recv()), Some(n * 2));
        // The server's sender is gone once it replied; wait for its drop.
        reply = loop {
            if let Some(sender) = replies.try_reset() {
                break Some(sender);
            }
            thread::yield_now();
        };
    }
    drop(requests);
    server.join().unwrap();
}
