//! Mapped actor references: `map`, `try_map`, `map_fn`, `try_map_fn`, the
//! lossy `try_map_lossy` and `try_map_fn_lossy`, references mapped twice,
//! and what each gives back when it cannot send.

use std::num::TryFromIntError;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use kiln::ActorRef;
use kiln::actor_ref::SendError;
use kiln::sync::block_on;

mod util;
use util::recorder::{Message, new_recorder, text};
use util::{CountingWaker, poll_once, poll_with};

#[test]
fn sends_to_compares_actors_across_mapped_references() {
    let (_future1, actor1, _recorded1) = new_recorder(4);
    let (_future2, actor2, _recorded2) = new_recorder(4);
    let clone1 = actor1.clone();
    let mapped1: ActorRef<u32> = actor1.clone().map();
    let twice_mapped1: ActorRef<u16> = mapped1.clone().map_fn(u32::from);
    let mapped2: ActorRef<String> = actor2.clone().map();

    assert!(actor1.sends_to(&actor1));
    assert!(actor1.sends_to(&clone1));
    assert!(actor1.sends_to(&mapped1));
    assert!(mapped1.sends_to(&actor1));
    assert!(twice_mapped1.sends_to(&actor1));
    assert!(twice_mapped1.sends_to(&mapped1));
    assert!(!actor1.sends_to(&actor2));
    assert!(!mapped1.sends_to(&mapped2));
    assert!(!twice_mapped1.sends_to(&actor2));
}

#[test]
fn map_converts_with_from() {
    let (future, actor_ref, recorded) = new_recorder(8);
    let numbers: ActorRef<u32> = actor_ref.clone().map();
    let texts: ActorRef<String> = actor_ref.clone().map();
    numbers.try_send(1u32).unwrap();
    texts.try_send("two".to_owned()).unwrap();
    block_on(numbers.send(3u32)).unwrap();
    drop((actor_ref, numbers, texts));
    block_on(future);
    assert_eq!(
        recorded.try_iter().collect::<Vec<_>>(),
        [Message::Number(1), text("two"), Message::Number(3)]
    );
}

#[test]
fn mapped_reference_gives_back_the_unconverted_message_when_full_or_disconnected() {
    let (future, actor_ref, _recorded) = new_recorder(1);
    let conversions = Arc::new(AtomicUsize::new(0));
    let conversions2 = Arc::clone(&conversions);
    let mapped: ActorRef<&'static str> = actor_ref.map_fn(move |s: &'static str| {
        conversions2.fetch_add(1, Ordering::SeqCst);
        text(s)
    });
    assert_eq!(mapped.try_send("first"), Ok(()));
    // The slot is reserved first: a full inbox does not call the conversion.
    assert_eq!(mapped.try_send("second"), Err(SendError::Full("second")));
    assert_eq!(conversions.load(Ordering::SeqCst), 1);

    drop(future);
    assert_eq!(
        mapped.try_send("third"),
        Err(SendError::Disconnected("third"))
    );
    assert_eq!(
        block_on(mapped.send("fourth")),
        Err(SendError::Disconnected("fourth"))
    );
    assert_eq!(conversions.load(Ordering::SeqCst), 1);
}

#[test]
fn try_map_rejects_with_the_original_message_and_the_actor_frees_the_slot() {
    let (future, actor_ref, recorded) = new_recorder(1);
    let mut future = pin!(future);
    let (wakes, waker) = CountingWaker::new();
    assert!(poll_with(future.as_mut(), &waker).is_pending());
    let mapped: ActorRef<i64> = actor_ref.try_map();

    assert_eq!(mapped.try_send(-1i64), Err(SendError::Rejected(-1)));
    // The slot reserved for the rejected message is handed back to the
    // actor's inbox, which is woken to pass over it.
    assert_eq!(wakes.count(), 1);
    assert!(poll_with(future.as_mut(), &waker).is_pending());
    assert_eq!(
        poll_once(pin!(mapped.send(1i64 << 40)).as_mut()),
        Poll::Ready(Err(SendError::Rejected(1 << 40)))
    );
    assert_eq!(wakes.count(), 2);
    assert!(poll_with(future.as_mut(), &waker).is_pending());

    // The whole inbox is available again.
    assert_eq!(mapped.try_send(7i64), Ok(()));
    assert_eq!(mapped.try_send(8i64), Err(SendError::Full(8)));
    drop(mapped);
    assert!(poll_with(future.as_mut(), &waker).is_ready());
    assert_eq!(
        recorded.try_iter().collect::<Vec<_>>(),
        [Message::Number(7)]
    );
}

#[test]
fn try_map_fn_rejects_with_the_original_message() {
    let (future, actor_ref, recorded) = new_recorder(4);
    let mapped: ActorRef<String> = actor_ref.try_map_fn(|s: String| {
        if s.is_empty() {
            Err(s)
        } else {
            Ok(Message::Text(s.to_uppercase()))
        }
    });
    assert_eq!(mapped.try_send("hi".to_owned()), Ok(()));
    assert_eq!(
        mapped.try_send(String::new()),
        Err(SendError::Rejected(String::new()))
    );
    assert_eq!(block_on(mapped.send("there".to_owned())), Ok(()));
    drop(mapped);
    block_on(future);
    assert_eq!(
        recorded.try_iter().collect::<Vec<_>>(),
        [text("HI"), text("THERE")]
    );
}

#[test]
fn send_on_a_mapped_reference_waits_while_full() {
    let (future, actor_ref, recorded) = new_recorder(1);
    let mut future = pin!(future);
    let mapped: ActorRef<u32> = actor_ref.map();
    mapped.try_send(1u32).unwrap();
    let (wakes, waker) = CountingWaker::new();
    let mut send = pin!(mapped.send(2u32));
    assert!(poll_with(send.as_mut(), &waker).is_pending());
    assert_eq!(wakes.count(), 0);
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(wakes.count(), 1);
    assert_eq!(poll_with(send.as_mut(), &waker), Poll::Ready(Ok(())));
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(
        recorded.try_iter().collect::<Vec<_>>(),
        [Message::Number(1), Message::Number(2)]
    );
}

/// A reference to `actor_ref` mapped twice. Inner: only even numbers.
/// Outer: a string's length, refusing empty strings. Counts the outer
/// conversions.
fn map_twice(actor_ref: ActorRef<Message>) -> (ActorRef<&'static str>, Arc<AtomicUsize>) {
    let conversions = Arc::new(AtomicUsize::new(0));
    let conversions2 = Arc::clone(&conversions);
    let even: ActorRef<u32> = actor_ref.try_map_fn(|n: u32| {
        if n % 2 == 0 {
            Ok(Message::Number(n))
        } else {
            Err(n)
        }
    });
    let lengths = even.try_map_fn(move |s: &'static str| {
        conversions2.fetch_add(1, Ordering::SeqCst);
        if s.is_empty() {
            Err(s)
        } else {
            Ok(s.len() as u32)
        }
    });
    (lengths, conversions)
}

#[test]
fn twice_mapped_reference_reports_which_conversion_rejected() {
    let (future, actor_ref, recorded) = new_recorder(8);
    let (lengths, _) = map_twice(actor_ref);

    assert_eq!(lengths.try_send("ab"), Ok(()));
    // The outer conversion rejects: the message comes back.
    assert_eq!(lengths.try_send(""), Err(SendError::Rejected("")));
    // The inner conversion rejects what the outer one made: nothing to give back.
    assert_eq!(lengths.try_send("abc"), Err(SendError::RejectedConverted));
    assert_eq!(
        block_on(lengths.send("xyz")),
        Err(SendError::RejectedConverted)
    );
    assert_eq!(block_on(lengths.send("")), Err(SendError::Rejected("")));
    assert_eq!(block_on(lengths.send("four")), Ok(()));

    drop(lengths);
    block_on(future);
    assert_eq!(
        recorded.try_iter().collect::<Vec<_>>(),
        [Message::Number(2), Message::Number(4)]
    );
}

#[test]
fn twice_mapped_reference_gives_back_the_original_message_when_full() {
    let (future, actor_ref, _recorded) = new_recorder(1);
    let (lengths, conversions) = map_twice(actor_ref);
    assert_eq!(lengths.try_send("ab"), Ok(()));
    assert_eq!(conversions.load(Ordering::SeqCst), 1);
    // Full: the original message, not converted at all.
    assert_eq!(lengths.try_send("cd"), Err(SendError::Full("cd")));
    assert_eq!(lengths.try_send(""), Err(SendError::Full("")));
    assert_eq!(conversions.load(Ordering::SeqCst), 1);
    drop(future);
    assert_eq!(lengths.try_send("ef"), Err(SendError::Disconnected("ef")));
    assert_eq!(conversions.load(Ordering::SeqCst), 1);
}

/// A standard conversion error, not the message: for the lossy mappings.
impl TryFrom<u64> for Message {
    type Error = TryFromIntError;

    fn try_from(n: u64) -> Result<Message, TryFromIntError> {
        u32::try_from(n).map(Message::Number)
    }
}

#[test]
fn try_map_lossy_takes_any_try_from_and_drops_what_it_cannot_convert() {
    let (future, actor_ref, recorded) = new_recorder(1);
    let mut future = Box::pin(future);
    let (wakes, waker) = CountingWaker::new();
    assert!(poll_with(future.as_mut(), &waker).is_pending());
    let wide: ActorRef<u64> = actor_ref.try_map_lossy();

    assert_eq!(wide.try_send(1u64 << 40), Err(SendError::RejectedConverted));
    // The reserved slot goes back to the inbox, as for `try_map`.
    assert_eq!(wakes.count(), 1);
    assert!(poll_with(future.as_mut(), &waker).is_pending());
    assert_eq!(
        poll_once(pin!(wide.send(u64::MAX)).as_mut()),
        Poll::Ready(Err(SendError::RejectedConverted))
    );
    assert!(poll_with(future.as_mut(), &waker).is_pending());

    assert_eq!(wide.try_send(7u64), Ok(()));
    // Full or stopped: the message was not converted, so it comes back.
    assert_eq!(wide.try_send(8u64), Err(SendError::Full(8)));
    assert_eq!(wide.try_send(1u64 << 40), Err(SendError::Full(1 << 40)));
    assert!(poll_with(future.as_mut(), &waker).is_pending());
    drop(future);
    assert_eq!(wide.try_send(9u64), Err(SendError::Disconnected(9)));
    assert_eq!(block_on(wide.send(10u64)), Err(SendError::Disconnected(10)));
    assert_eq!(
        recorded.try_iter().collect::<Vec<_>>(),
        [Message::Number(7)]
    );
}

#[test]
fn try_map_fn_lossy_sees_the_error_and_drops_the_message() {
    let (future, actor_ref, recorded) = new_recorder(4);
    let errors = Arc::new(Mutex::new(Vec::new()));
    let errors2 = Arc::clone(&errors);
    let parsing: ActorRef<Arc<str>> = actor_ref.try_map_fn_lossy(move |text: Arc<str>| {
        text.parse::<u32>()
            .map(Message::Number)
            .inspect_err(|err| errors2.lock().unwrap().push(format!("{text}: {err}")))
    });
    let bad: Arc<str> = Arc::from("twelve");
    assert_eq!(
        parsing.try_send(Arc::clone(&bad)),
        Err(SendError::RejectedConverted)
    );
    assert_eq!(
        block_on(parsing.send(Arc::clone(&bad))),
        Err(SendError::RejectedConverted)
    );
    // Both rejected messages were dropped, not kept anywhere.
    assert_eq!(Arc::strong_count(&bad), 1);
    assert_eq!(parsing.try_send(Arc::from("12")), Ok(()));
    assert_eq!(
        *errors.lock().unwrap(),
        [
            "twelve: invalid digit found in string",
            "twelve: invalid digit found in string"
        ]
    );
    drop(parsing);
    block_on(future);
    assert_eq!(
        recorded.try_iter().collect::<Vec<_>>(),
        [Message::Number(12)]
    );
}

#[test]
fn lossy_and_give_back_mappings_nest() {
    let (future, actor_ref, recorded) = new_recorder(8);
    // Inner lossy, outer gives back: the outer rejection returns the message.
    let wide: ActorRef<u64> = actor_ref.clone().try_map_lossy();
    let nonzero: ActorRef<u64> = wide.try_map_fn(|n: u64| if n == 0 { Err(n) } else { Ok(n) });
    assert_eq!(nonzero.try_send(0u64), Err(SendError::Rejected(0)));
    assert_eq!(
        nonzero.try_send(1u64 << 40),
        Err(SendError::RejectedConverted)
    );
    assert_eq!(nonzero.try_send(3u64), Ok(()));
    // Inner gives back, outer lossy: the inner rejection has nothing to give.
    let small: ActorRef<i64> = actor_ref.try_map();
    let from_text: ActorRef<&str> = small.try_map_fn_lossy(str::parse::<i64>);
    assert_eq!(from_text.try_send("x"), Err(SendError::RejectedConverted));
    assert_eq!(from_text.try_send("-1"), Err(SendError::RejectedConverted));
    assert_eq!(from_text.try_send("5"), Ok(()));
    drop((nonzero, from_text));
    block_on(future);
    assert_eq!(
        recorded.try_iter().collect::<Vec<_>>(),
        [Message::Number(3), Message::Number(5)]
    );
}
