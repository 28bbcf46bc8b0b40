//! The receiver's waiting peek (`peek`, `poll_peek`) and `has_manager`.

mod util;

use std::task::Poll;
use std::thread;

use kiln_inbox::{Manager, PeekValue, RecvError};
use util::{CountWaker, block_on, poll_once};

#[test]
fn peek_future_waits_for_a_message_and_leaves_it() {
    let (sender, mut receiver) = kiln_inbox::new(2);
    let (count, waker) = CountWaker::new();
    let mut peek: PeekValue<'_, String> = receiver.peek();
    assert_eq!(poll_once(&mut peek, &waker), Poll::Pending);
    assert_eq!(count.count(), 0);
    sender.try_send(String::from("first")).unwrap();
    assert_eq!(count.count(), 1, "the send did not wake the peek");
    assert_eq!(
        poll_once(&mut peek, &waker).map(|msg| msg.cloned()),
        Poll::Ready(Some(String::from("first")))
    );
    // Left in the inbox: peeked again, then received.
    sender.try_send(String::from("second")).unwrap();
    assert_eq!(block_on(receiver.peek()).map(String::as_str), Some("first"));
    assert_eq!(receiver.try_recv().as_deref(), Ok("first"));
    assert_eq!(
        block_on(receiver.peek()).map(String::as_str),
        Some("second")
    );
    assert_eq!(receiver.try_recv().as_deref(), Ok("second"));
    assert_eq!(receiver.try_peek().unwrap_err(), RecvError::Empty);
}

#[test]
fn peek_future_ends_when_no_sender_is_left() {
    let (sender, mut receiver) = kiln_inbox::new::<u8>(1);
    let (count, waker) = CountWaker::new();
    let mut peek = receiver.peek();
    assert_eq!(poll_once(&mut peek, &waker), Poll::Pending);
    drop(sender);
    assert_eq!(count.count(), 1);
    assert_eq!(poll_once(&mut peek, &waker), Poll::Ready(None));
    drop(peek);
    // A queued message is still peeked after the last sender left.
    let (sender, mut receiver) = kiln_inbox::new::<u8>(1);
    sender.try_send(7).unwrap();
    drop(sender);
    assert_eq!(block_on(receiver.peek()), Some(&7));
    assert_eq!(receiver.try_recv(), Ok(7));
    assert_eq!(block_on(receiver.peek()), None);
}

#[test]
fn poll_peek_passes_over_unused_permits() {
    let (sender, mut receiver) = kiln_inbox::new::<u8>(2);
    let (count, waker) = CountWaker::new();
    let permit = sender.try_reserve().unwrap();
    sender.try_send(1).unwrap();
    // Held up behind the permit, as a receive is.
    let mut cx = std::task::Context::from_waker(&waker);
    assert_eq!(receiver.poll_peek(&mut cx), Poll::Pending);
    drop(permit);
    assert_eq!(count.count(), 1);
    assert_eq!(receiver.poll_peek(&mut cx), Poll::Ready(Some(&1)));
    assert_eq!(receiver.try_recv(), Ok(1));
}

#[test]
fn peek_wakes_across_threads() {
    let (sender, mut receiver) = kiln_inbox::new::<u32>(1);
    let sending = thread::spawn(move || {
        thread::sleep(std::time::Duration::from_millis(10));
        sender.try_send(42).unwrap();
    });
    assert_eq!(block_on(receiver.peek()), Some(&42));
    sending.join().unwrap();
    assert_eq!(receiver.try_recv(), Ok(42));
}

#[test]
fn peek_future_debug_and_auto_traits() {
    fn send_sync<T: Send + Sync + Unpin>(_: &T) {}
    let (_sender, mut receiver) = kiln_inbox::new::<u8>(1);
    let peek = receiver.peek();
    send_sync(&peek);
    assert_eq!(format!("{peek:?}"), "PeekValue { done: false }");
}

#[test]
fn receiver_has_manager_while_the_manager_lives() {
    let (_sender, receiver) = kiln_inbox::new::<()>(1);
    assert!(!receiver.has_manager());
    let (manager, _sender, receiver) = Manager::<()>::new(1);
    assert!(receiver.has_manager());
    drop(manager);
    assert!(!receiver.has_manager());
}
