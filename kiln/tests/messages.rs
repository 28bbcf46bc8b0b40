//! Common messages and `from_message!`: plain and RPC variants, with one or
//! several fields, used through actor references.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::thread;

use kiln::actor::{self, NoMessages};
use kiln::actor_ref::ActorExit;
use kiln::actor_ref::RpcMessage;
use kiln::messages::{Ack, Cancel, Done, Start, Terminate};
use kiln::supervisor::NoSupervisor;
use kiln::sync::block_on;
use kiln::{ActorFuture, ActorRef, actor_fn, from_message};

enum Message {
    Add(u64),
    Name(String),
    Get(RpcMessage<(), u64>),
    IsName(RpcMessage<String, bool>),
    Terminate(Terminate),
}

from_message!(
    Message::Add(u64),
    Message::Name(String),
    Message::Get(()) -> u64,
    Message::IsName(String) -> bool,
    Message::Terminate(Terminate),
);

/// A single item, without trailing comma.
enum Single {
    Only(Start),
}

from_message!(Single::Only(Start));

/// Keeps a total and a name; answers questions about them.
async fn keeper(mut ctx: actor::Context<Message>) {
    let mut total = 0;
    let mut name = String::new();
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            Message::Add(n) => total += n,
            Message::Name(new_name) => name = new_name,
            Message::Get(rpc) => {
                let _ = rpc.handle(|()| async { total }).await;
            }
            Message::IsName(rpc) => {
                let name = &name;
                let _ = rpc.handle(|asked| async move { asked == *name }).await;
            }
            Message::Terminate(Terminate) => return,
        }
    }
}

#[test]
fn from_message_converts_plain_variants() {
    assert!(matches!(Message::from(5u64), Message::Add(5)));
    assert!(matches!(Message::from("kiln".to_owned()), Message::Name(name) if name == "kiln"));
    assert!(matches!(
        Message::from(Terminate),
        Message::Terminate(Terminate)
    ));
    let Single::Only(start) = Single::from(Start);
    assert_eq!(start, Start);
}

#[test]
fn from_message_converts_rpc_variants() {
    let (msg, _response) = RpcMessage::<String, bool>::new("x".to_owned());
    assert!(matches!(Message::from(msg), Message::IsName(rpc) if rpc.request == "x"));
    let (msg, _response) = RpcMessage::<(), u64>::new(());
    assert!(matches!(Message::from(msg), Message::Get(_)));
}

#[test]
fn actor_ref_sends_and_calls_every_variant() {
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(keeper), ());
    let actor = thread::spawn(move || block_on(future));

    actor_ref.try_send(2u64).unwrap();
    block_on(actor_ref.send(3u64)).unwrap();
    actor_ref.try_send("kiln".to_owned()).unwrap();
    // The request type picks the variant, and with it the response type.
    assert_eq!(block_on(actor_ref.rpc(())), Ok(5));
    assert_eq!(block_on(actor_ref.rpc("kiln".to_owned())), Ok(true));
    assert_eq!(block_on(actor_ref.rpc("heph".to_owned())), Ok(false));

    // A reference that only sends `Terminate`.
    let terminator: ActorRef<Terminate> = actor_ref.clone().map();
    terminator.try_send(Terminate).unwrap();
    assert_eq!(block_on(actor_ref.join()), ActorExit::Completed);
    actor.join().unwrap();
}

/// Variants with several fields, plain and RPC, mixed with one-field ones.
enum Shape {
    Point(i32, i32),
    Labelled(String, Vec<u8>, Option<char>),
    Scale(f64),
    Area(RpcMessage<(u32, u32), u64>),
    Contains(RpcMessage<((i32, i32), i32, i32), bool>),
}

from_message!(
    Shape::Point(i32, i32),
    Shape::Labelled(String, Vec<u8>, Option<char>),
    Shape::Scale(f64),
    Shape::Area(u32, u32) -> u64,
    Shape::Contains((i32, i32), i32, i32) -> bool,
);

#[test]
fn from_message_fills_the_fields_of_multi_field_variants() {
    assert!(matches!(Shape::from((1, -2)), Shape::Point(1, -2)));
    assert!(matches!(
        Shape::from(("box".to_owned(), vec![1, 2], Some('x'))),
        Shape::Labelled(label, bytes, Some('x')) if label == "box" && bytes == [1, 2]
    ));
    assert!(matches!(Shape::from(0.5), Shape::Scale(0.5)));
}

/// Answers area and containment questions about rectangles.
async fn geometry(mut ctx: actor::Context<Shape>) {
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            Shape::Area(rpc) => {
                let _ = rpc
                    .handle(|(w, h)| async move { u64::from(w) * u64::from(h) })
                    .await;
            }
            Shape::Contains(rpc) => {
                let _ = rpc
                    .handle(
                        |((x, y), w, h)| async move { (0..w).contains(&x) && (0..h).contains(&y) },
                    )
                    .await;
            }
            _ => {}
        }
    }
}

#[test]
fn multi_argument_rpc_variants_take_a_tuple_request() {
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(geometry), ());
    let actor = thread::spawn(move || block_on(future));
    actor_ref.try_send((3, 4)).unwrap();
    assert_eq!(block_on(actor_ref.rpc((3u32, 4u32))), Ok(12u64));
    assert_eq!(block_on(actor_ref.rpc(((1, 2), 5, 5))), Ok(true));
    assert_eq!(block_on(actor_ref.rpc(((7, 2), 5, 5))), Ok(false));
    drop(actor_ref);
    actor.join().unwrap();
}

/// The traits every common message type has.
fn assert_message_traits<T>()
where
    T: Copy + Clone + Debug + Default + PartialEq + Eq + Hash + Send + Sync + 'static,
{
}

fn check_message<T>(value: T, name: &str)
where
    T: Copy + Debug + Default + PartialEq + Eq + Hash,
{
    assert_eq!(format!("{value:?}"), name);
    assert_eq!(value, T::default());
    let copy = value;
    let set: HashSet<T> = [value, copy].into_iter().collect();
    assert_eq!(set.len(), 1);
}

#[test]
fn common_messages_are_plain_data() {
    assert_message_traits::<Start>();
    assert_message_traits::<Ack>();
    assert_message_traits::<Done>();
    assert_message_traits::<Cancel>();
    assert_message_traits::<Terminate>();
    assert_eq!(size_of::<Start>(), 0);
    assert_eq!(size_of::<Terminate>(), 0);
    check_message(Start, "Start");
    check_message(Ack, "Ack");
    check_message(Done, "Done");
    check_message(Cancel, "Cancel");
    check_message(Terminate, "Terminate");
}

enum Control {
    Start(Start),
    Cancel(Cancel),
    Ack(RpcMessage<Ack, Done>),
}

from_message!(Control::Start(Start), Control::Cancel(Cancel), Control::Ack(Ack) -> Done);

/// Counts `Start`s until `Cancel`; answers `Ack` with `Done`.
async fn controlled(mut ctx: actor::Context<Control>) -> Result<(), String> {
    let mut starts = 0;
    loop {
        match ctx.receive_next().await {
            Ok(Control::Start(Start)) => starts += 1,
            Ok(Control::Ack(rpc)) => {
                let _ = rpc.response.respond(Done);
            }
            Ok(Control::Cancel(Cancel)) if starts == 2 => return Ok(()),
            Ok(Control::Cancel(Cancel)) => return Err(format!("{starts} starts")),
            Err(NoMessages) => return Err("not cancelled".to_owned()),
        }
    }
}

#[test]
fn common_messages_drive_an_actor() {
    let (future, actor_ref) =
        ActorFuture::new(kiln::supervisor::StopSupervisor, actor_fn(controlled), ());
    let actor = thread::spawn(move || block_on(future));
    actor_ref.try_send(Start).unwrap();
    assert_eq!(block_on(actor_ref.rpc(Ack)), Ok(Done));
    actor_ref.try_send(Start).unwrap();
    actor_ref.try_send(Cancel).unwrap();
    assert_eq!(block_on(actor_ref.join()), ActorExit::Completed);
    actor.join().unwrap();
}
