//! A recorder actor, which forwards the messages it receives to a channel,
//! and its message type: for the actor reference tests.

use std::future::Future;
use std::sync::mpsc;

use kiln::future::ActorFutureBuilder;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, InboxSize, actor, actor_fn};

/// What the recorder receives.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Message {
    Number(u32),
    Text(String),
    Stop,
}

impl From<u32> for Message {
    fn from(n: u32) -> Message {
        Message::Number(n)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::Text(text)
    }
}

/// Accepts only the numbers that fit in a `u32`.
impl TryFrom<i64> for Message {
    type Error = i64;

    fn try_from(n: i64) -> Result<Message, i64> {
        u32::try_from(n).map(Message::Number).map_err(|_| n)
    }
}

/// Forwards every message to `out` until `Stop` or until no reference is left.
pub(crate) async fn recorder(mut ctx: actor::Context<Message>, out: mpsc::Sender<Message>) {
    while let Ok(msg) = ctx.receive_next().await {
        if msg == Message::Stop {
            return;
        }
        out.send(msg).unwrap();
    }
}

/// A recorder (not yet running) with an inbox of `size` and the receiver of
/// what it records.
pub(crate) fn new_recorder(
    size: usize,
) -> (
    impl Future<Output = ()> + Send + 'static,
    ActorRef<Message>,
    mpsc::Receiver<Message>,
) {
    let (out, recorded) = mpsc::channel();
    let (future, actor_ref) = ActorFutureBuilder::new()
        .with_inbox_size(InboxSize::fixed(size))
        .build(NoSupervisor, actor_fn(recorder), out);
    (future, actor_ref, recorded)
}

/// A `Message::Text`.
pub(crate) fn text(text: &str) -> Message {
    Message::Text(text.to_owned())
}
