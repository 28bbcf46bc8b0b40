//! Messages whose `Drop` panics (issue 14, item 2): however many are queued
//! when the inbox disconnects, each is dropped exactly once and the process
//! does not abort. The first panic reaches the code that dropped the handle;
//! [`Manager::close`] and [`Receiver::close`] hand the messages out one by
//! one instead. A regression aborts this test binary (SIGABRT, "panic in a
//! destructor during cleanup").

mod util;

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kiln_inbox::{Manager, Sender};
use util::drops;

/// Messages queued in each test; the even ones panic when dropped.
const QUEUED: usize = 100;

/// A message that counts its drop and, if `panics`, then panics.
struct Bomb {
    id: usize,
    panics: bool,
    drops: Arc<AtomicUsize>,
}

impl Bomb {
    /// Drops the message without the panic.
    fn defuse(mut self) -> usize {
        self.panics = false;
        self.id
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("message {} panics in Drop", self.id);
        }
    }
}

/// A message with `id`, panicking when dropped if `id` is even.
fn bomb(drops: &Arc<AtomicUsize>, id: usize) -> Bomb {
    Bomb {
        id,
        panics: id % 2 == 0,
        drops: Arc::clone(drops),
    }
}

/// Sends [`QUEUED`] messages; returns their drop counter.
fn fill(sender: &Sender<Bomb>) -> Arc<AtomicUsize> {
    let counter = Arc::new(AtomicUsize::new(0));
    for id in 0..QUEUED {
        assert!(sender.try_send(bomb(&counter, id)).is_ok(), "can't send");
    }
    counter
}

/// The message of a panic payload.
fn message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("<not a string>")
}

/// Runs `f`, returning the message of the panic it must end with.
#[track_caller]
fn panic_of(f: impl FnOnce()) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => panic!("no panic"),
        Err(panic) => message(&*panic).to_owned(),
    }
}

#[test]
fn receiver_dropped_last() {
    let (sender, receiver) = kiln_inbox::new(QUEUED);
    let counter = fill(&sender);
    assert_eq!(
        panic_of(move || drop(receiver)),
        "message 0 panics in Drop",
        "the first panic is resumed"
    );
    assert_eq!(drops(&counter), QUEUED, "every message dropped");
    assert!(
        sender
            .try_send(bomb(&counter, 1))
            .unwrap_err()
            .is_disconnected()
    );
    drop(sender);
    assert_eq!(drops(&counter), QUEUED + 1);
}

#[test]
fn manager_dropped_last() {
    let (manager, sender, receiver) = Manager::new(QUEUED);
    let counter = fill(&sender);
    drop(receiver);
    assert_eq!(drops(&counter), 0, "kept for a restart");
    assert_eq!(panic_of(move || drop(manager)), "message 0 panics in Drop");
    assert_eq!(drops(&counter), QUEUED);
    drop(sender);
    assert_eq!(drops(&counter), QUEUED);
}

#[test]
fn manager_close_hands_out_each_message() {
    let (manager, sender, receiver) = Manager::new(QUEUED);
    let counter = fill(&sender);
    drop(receiver);
    let mut panicked = Vec::new();
    for msg in manager.close() {
        let id = msg.id;
        if catch_unwind(AssertUnwindSafe(move || drop(msg))).is_err() {
            panicked.push(id);
        }
    }
    assert_eq!(panicked, (0..QUEUED).step_by(2).collect::<Vec<_>>());
    assert_eq!(drops(&counter), QUEUED);
    assert!(!sender.is_connected());
    assert_eq!(sender.len(), 0);
    drop(sender);
    assert_eq!(drops(&counter), QUEUED, "nothing dropped twice");
}

#[test]
fn queued_messages_dropped_half_taken() {
    let (sender, receiver) = kiln_inbox::new(QUEUED);
    let counter = fill(&sender);
    let mut queued = receiver.close();
    assert_eq!(queued.size_hint(), (0, Some(QUEUED)));
    let taken: Vec<Bomb> = queued.by_ref().take(11).collect();
    assert_eq!(queued.size_hint(), (0, Some(QUEUED - 11)));
    assert_eq!(drops(&counter), 0);
    // The first message left, 11, does not panic; 12 does.
    assert_eq!(panic_of(move || drop(queued)), "message 12 panics in Drop");
    assert_eq!(drops(&counter), QUEUED - 11);
    for msg in taken {
        msg.defuse();
    }
    assert_eq!(drops(&counter), QUEUED);
}

#[test]
fn close_while_the_other_consumer_lives_takes_nothing() {
    let (mut manager, sender, receiver) = Manager::new(QUEUED);
    let counter = fill(&sender);
    let mut queued = receiver.close();
    assert_eq!(queued.size_hint(), (0, Some(0)));
    assert!(queued.next().is_none());
    drop(queued);
    assert!(sender.is_connected());
    assert_eq!(sender.len(), QUEUED);
    // The next receiver gets them all.
    let receiver = manager.new_receiver().unwrap();
    assert_eq!(manager.close().count(), 0, "the receiver still lives");
    assert!(sender.is_connected());
    let mut queued = receiver.close();
    assert_eq!(queued.next().map(Bomb::defuse), Some(0));
    assert_eq!(drops(&counter), 1);
    drop(panic_of(move || drop(queued)));
    assert_eq!(drops(&counter), QUEUED);
}

#[test]
fn late_permits_dropped_with_the_inbox() {
    let counter = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = kiln_inbox::new(4);
    let permits: Vec<_> = (0..4).map(|_| sender.try_reserve().unwrap()).collect();
    drop(receiver);
    // Sent after the drain: left in their slots, dropped with the memory.
    for (id, permit) in permits.into_iter().enumerate() {
        permit.send(bomb(&counter, id));
    }
    assert_eq!(drops(&counter), 0);
    assert_eq!(panic_of(move || drop(sender)), "message 0 panics in Drop");
    assert_eq!(drops(&counter), 4);
}

/// Drops its receiver when dropped.
struct DropsReceiver(Option<kiln_inbox::Receiver<Bomb>>);

impl Drop for DropsReceiver {
    fn drop(&mut self) {
        drop(self.0.take());
    }
}

#[test]
fn dropped_while_unwinding() {
    let (sender, receiver) = kiln_inbox::new(QUEUED);
    let counter = fill(&sender);
    let guard = DropsReceiver(Some(receiver));
    // Resuming a message's panic would abort; the unwinding panic goes on.
    let panic = panic_of(move || {
        let _guard = guard;
        panic!("already unwinding");
    });
    assert_eq!(panic, "already unwinding");
    assert_eq!(drops(&counter), QUEUED);
}
