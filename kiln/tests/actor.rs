//! Actors: `actor_fn` with 0 to 5 arguments, actor names, `map_arg`, hand-written
//! actors, and the actor's `Context` (receiving, its own reference, runtime access).

use std::any::type_name;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{self, Poll, Waker};

use futures_core::Stream;
use kiln::actor::{self, ActorResult, NoMessages, RecvError};
use kiln::actor_ref::ActorExit;
use kiln::future::ActorFutureBuilder;
use kiln::supervisor::{NoSupervisor, StopSupervisor, Supervisor, SupervisorStrategy};
use kiln::sync::block_on;
use kiln::{Actor, ActorFuture, ActorRef, NewActor, actor_fn};

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut task::Context::from_waker(Waker::noop()))
}

/// Returns `Pending` once (waking itself), then `Ready`: gives the test that
/// polls the actor by hand control between two steps of the actor.
async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

/// The name `NewActor::name` gives for `new_actor`'s type.
fn name_of<NA: NewActor>(_: &NA) -> &'static str {
    NA::name()
}

/// The type name of `new_actor`'s argument.
fn argument_type<NA: NewActor>(_: &NA) -> &'static str {
    type_name::<NA::Argument>()
}

/// The message of the argument actors: where to report what they got.
type Report = mpsc::Sender<String>;

/// Starts `new_actor` with `arg`, asks it to report twice, and returns the
/// reports.
fn reports<NA>(new_actor: NA, arg: NA::Argument) -> Vec<String>
where
    NA: NewActor<Message = Report, RuntimeAccess = (), Error = Infallible>,
    NoSupervisor: Supervisor<NA>,
{
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, new_actor, arg);
    let (sender, receiver) = mpsc::channel();
    actor_ref.try_send(sender.clone()).unwrap();
    actor_ref.try_send(sender).unwrap();
    drop(actor_ref);
    block_on(future);
    receiver.try_iter().collect()
}

async fn no_args(mut ctx: actor::Context<Report>) {
    while let Ok(out) = ctx.receive_next().await {
        out.send("no arguments".to_owned()).unwrap();
    }
}

async fn one_arg(mut ctx: actor::Context<Report>, a: u8) {
    while let Ok(out) = ctx.receive_next().await {
        out.send(format!("{a}")).unwrap();
    }
}

async fn two_args(mut ctx: actor::Context<Report>, a: u8, b: String) {
    while let Ok(out) = ctx.receive_next().await {
        out.send(format!("{a} {b}")).unwrap();
    }
}

async fn three_args(mut ctx: actor::Context<Report>, a: u8, b: String, c: Vec<u16>) {
    while let Ok(out) = ctx.receive_next().await {
        out.send(format!("{a} {b} {c:?}")).unwrap();
    }
}

async fn four_args(
    mut ctx: actor::Context<Report>,
    a: u8,
    b: String,
    c: Vec<u16>,
    d: (char, bool),
) {
    while let Ok(out) = ctx.receive_next().await {
        out.send(format!("{a} {b} {c:?} {d:?}")).unwrap();
    }
}

async fn five_args(
    mut ctx: actor::Context<Report>,
    a: u8,
    b: String,
    c: Vec<u16>,
    d: (char, bool),
    e: &'static str,
) {
    while let Ok(out) = ctx.receive_next().await {
        out.send(format!("{a} {b} {c:?} {d:?} {e}")).unwrap();
    }
}

#[test]
fn actor_fn_without_arguments_takes_unit() {
    assert_eq!(argument_type(&actor_fn(no_args)), type_name::<()>());
    assert_eq!(
        reports(actor_fn(no_args), ()),
        ["no arguments", "no arguments"]
    );
}

#[test]
fn actor_fn_with_one_argument_takes_it_unwrapped() {
    // The argument is the value itself, not a 1-tuple.
    assert_eq!(argument_type(&actor_fn(one_arg)), type_name::<u8>());
    assert_eq!(reports(actor_fn(one_arg), 7), ["7", "7"]);
}

#[test]
fn actor_fn_with_two_to_five_arguments_takes_a_tuple() {
    assert_eq!(
        argument_type(&actor_fn(two_args)),
        type_name::<(u8, String)>()
    );
    assert_eq!(
        argument_type(&actor_fn(three_args)),
        type_name::<(u8, String, Vec<u16>)>()
    );
    assert_eq!(
        argument_type(&actor_fn(four_args)),
        type_name::<(u8, String, Vec<u16>, (char, bool))>()
    );
    assert_eq!(
        argument_type(&actor_fn(five_args)),
        type_name::<(u8, String, Vec<u16>, (char, bool), &'static str)>()
    );

    assert_eq!(
        reports(actor_fn(two_args), (1, "two".to_owned()))[0],
        "1 two"
    );
    assert_eq!(
        reports(actor_fn(three_args), (1, "two".to_owned(), vec![3, 3]))[0],
        "1 two [3, 3]"
    );
    assert_eq!(
        reports(
            actor_fn(four_args),
            (1, "two".to_owned(), vec![3], ('4', true))
        )[0],
        "1 two [3] ('4', true)"
    );
    assert_eq!(
        reports(
            actor_fn(five_args),
            (1, "two".to_owned(), vec![3], ('4', false), "five")
        ),
        ["1 two [3] ('4', false) five", "1 two [3] ('4', false) five"]
    );
}

async fn greeter(mut ctx: actor::Context<String>) {
    while ctx.receive_next().await.is_ok() {}
}

async fn generic_actor<M>(mut ctx: actor::Context<M>) {
    while ctx.receive_next().await.is_ok() {}
}

#[test]
fn async_fn_actor_is_named_after_the_function() {
    assert_eq!(name_of(&actor_fn(greeter)), "greeter");
    assert_eq!(name_of(&actor_fn(five_args)), "five_args");
    let new_actor = actor_fn(greeter);
    assert_eq!(name_of(&new_actor), "greeter");
    assert_eq!(format!("{new_actor:?}"), r#"ActorFn("greeter")"#);
}

#[test]
fn generic_actor_is_named_without_its_type_parameters() {
    assert_eq!(name_of(&actor_fn(generic_actor::<u32>)), "generic_actor");
    assert_eq!(
        name_of(&actor_fn(generic_actor::<Vec<Option<String>>>)),
        "generic_actor"
    );
}

#[test]
fn closure_actor_is_named_after_the_enclosing_function() {
    let new_actor =
        actor_fn(
            |mut ctx: actor::Context<u8>| async move { while ctx.receive_next().await.is_ok() {} },
        );
    assert_eq!(
        name_of(&new_actor),
        "closure_actor_is_named_after_the_enclosing_function"
    );
}

#[test]
fn map_arg_converts_the_argument_and_keeps_the_name() {
    let new_actor = actor_fn(two_args).map_arg(|n: u8| (n, format!("#{n}")));
    assert_eq!(name_of(&new_actor), "two_args");
    assert_eq!(argument_type(&new_actor), type_name::<u8>());
    assert_eq!(reports(new_actor, 7), ["7 #7", "7 #7"]);
}

/// Records the argument it was started with, and fails on `true`.
async fn records_start(
    mut ctx: actor::Context<bool>,
    arg: u32,
    starts: mpsc::Sender<u32>,
) -> Result<(), String> {
    starts.send(arg).unwrap();
    while let Ok(fail) = ctx.receive_next().await {
        if fail {
            return Err("asked to fail".to_owned());
        }
    }
    Ok(())
}

#[test]
fn map_arg_converts_the_restart_argument_too() {
    let (starts_sender, starts) = mpsc::channel();
    let maps = Arc::new(AtomicUsize::new(0));
    let maps2 = Arc::clone(&maps);
    let new_actor = actor_fn(records_start).map_arg(move |n: u32| {
        maps2.fetch_add(1, Ordering::SeqCst);
        (n * 10, starts_sender.clone())
    });
    // The supervisor deals in the mapped argument type, `u32`.
    let supervisor = |_: String| SupervisorStrategy::Restart(2u32);
    let (future, actor_ref) = ActorFuture::new(supervisor, new_actor, 1);
    actor_ref.try_send(true).unwrap();
    actor_ref.try_send(false).unwrap();
    drop(actor_ref);
    block_on(future);
    assert_eq!(starts.try_iter().collect::<Vec<_>>(), [10, 20]);
    assert_eq!(maps.load(Ordering::SeqCst), 2);
}

/// A hand-written actor: sums its messages until a 0 (or until no reference is
/// left) and reports the total.
struct Summer {
    ctx: actor::Context<u32>,
    total: u32,
    out: mpsc::Sender<u32>,
}

impl Future for Summer {
    type Output = Result<(), String>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.ctx.receive_next()).poll(cx) {
                Poll::Ready(Ok(n)) if n != 0 => this.total += n,
                Poll::Ready(Ok(_) | Err(NoMessages)) => {
                    this.out.send(this.total).unwrap();
                    if this.total > 100 {
                        return Poll::Ready(Err(format!("total too large: {}", this.total)));
                    }
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The `NewActor` of `Summer`.
struct NewSummer;

impl NewActor for NewSummer {
    type Message = u32;
    type Argument = mpsc::Sender<u32>;
    type Actor = Summer;
    type Error = Infallible;
    type RuntimeAccess = ();

    fn new(
        &mut self,
        ctx: actor::Context<u32>,
        out: mpsc::Sender<u32>,
    ) -> Result<Summer, Infallible> {
        Ok(Summer { ctx, total: 0, out })
    }
}

#[test]
fn hand_written_actor_is_named_after_its_type() {
    assert_eq!(NewSummer::name(), "Summer");
}

#[test]
fn hand_written_actor_runs_and_its_error_reaches_the_supervisor() {
    for (messages, expected_exit) in [
        (&[1u32, 2, 3][..], ActorExit::Completed),
        (&[60, 70][..], ActorExit::Failed),
    ] {
        let (out, totals) = mpsc::channel();
        let (future, actor_ref) = ActorFuture::new(StopSupervisor, NewSummer, out);
        for &n in messages {
            actor_ref.try_send(n).unwrap();
        }
        actor_ref.try_send(0u32).unwrap();
        block_on(future);
        assert_eq!(totals.try_recv(), Ok(messages.iter().sum()));
        assert_eq!(block_on(actor_ref.join()), expected_exit);
    }
}

#[test]
fn actor_results_convert_into_results() {
    assert_eq!(().into_result(), Ok::<(), Infallible>(()));
    assert_eq!(Ok::<(), u8>(()).into_result(), Ok(()));
    assert_eq!(Err::<(), u8>(3).into_result(), Err(3));

    // Any future with such an output is an actor.
    let mut unit = pin!(async {});
    assert_eq!(
        unit.as_mut()
            .try_poll(&mut task::Context::from_waker(Waker::noop())),
        Poll::Ready(Ok::<(), Infallible>(()))
    );
    let mut failing = pin!(async { Err::<(), _>("failed") });
    assert_eq!(
        failing
            .as_mut()
            .try_poll(&mut task::Context::from_waker(Waker::noop())),
        Poll::Ready(Err("failed"))
    );
}

/// Reports every result of `receive_next`, up to and including the first
/// error, and a second call after it.
async fn receive_all(mut ctx: actor::Context<u32>, out: mpsc::Sender<Result<u32, NoMessages>>) {
    loop {
        let result = ctx.receive_next().await;
        out.send(result).unwrap();
        if result.is_err() {
            out.send(ctx.receive_next().await).unwrap();
            return;
        }
    }
}

#[test]
fn receive_next_gives_no_messages_once_every_reference_is_gone() {
    let (out, results) = mpsc::channel();
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(receive_all), out);
    let mut future = pin!(future);
    actor_ref.try_send(1u32).unwrap();
    let second_ref = actor_ref.clone();
    second_ref.try_send(2u32).unwrap();
    drop(actor_ref);

    // One reference is left: the actor waits rather than stopping.
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(results.try_iter().collect::<Vec<_>>(), [Ok(1), Ok(2)]);

    second_ref.try_send(3u32).unwrap();
    drop(second_ref);
    assert!(poll_once(future.as_mut()).is_ready());
    assert_eq!(
        results.try_iter().collect::<Vec<_>>(),
        [Ok(3), Err(NoMessages), Err(NoMessages)]
    );
}

#[test]
fn no_messages_error_describes_itself() {
    assert_eq!(
        NoMessages.to_string(),
        "no more messages: the inbox is empty and every reference to the actor is gone"
    );
    assert_eq!(format!("{NoMessages:?}"), "NoMessages");
}

/// Reports `try_receive_next` once per step until the inbox is disconnected.
async fn try_receiver(mut ctx: actor::Context<u32>, out: mpsc::Sender<Result<u32, RecvError>>) {
    loop {
        let result = ctx.try_receive_next();
        out.send(result).unwrap();
        if result == Err(RecvError::Disconnected) {
            return;
        }
        yield_now().await;
    }
}

#[test]
fn try_receive_next_reports_empty_and_disconnected() {
    let (out, results) = mpsc::channel();
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(try_receiver), out);
    let mut future = pin!(future);

    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(results.try_recv(), Ok(Err(RecvError::Empty)));

    actor_ref.try_send(1u32).unwrap();
    actor_ref.try_send(2u32).unwrap();
    assert!(poll_once(future.as_mut()).is_pending());
    assert!(poll_once(future.as_mut()).is_pending());
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(
        results.try_iter().collect::<Vec<_>>(),
        [Ok(1), Ok(2), Err(RecvError::Empty)]
    );

    // Queued messages come first, then `Disconnected`.
    actor_ref.try_send(3u32).unwrap();
    drop(actor_ref);
    assert!(poll_once(future.as_mut()).is_pending());
    assert!(poll_once(future.as_mut()).is_ready());
    assert_eq!(
        results.try_iter().collect::<Vec<_>>(),
        [Ok(3), Err(RecvError::Disconnected)]
    );
}

/// Reports every item of `receive_messages`, polling the stream by hand.
async fn streamer(mut ctx: actor::Context<u32>, out: mpsc::Sender<Option<u32>>) {
    let mut messages = ctx.receive_messages();
    loop {
        let next = poll_fn(|cx| Pin::new(&mut messages).poll_next(cx)).await;
        out.send(next).unwrap();
        if next.is_none() {
            return;
        }
    }
}

#[test]
fn receive_messages_is_a_stream_that_ends_when_references_are_gone() {
    let (out, items) = mpsc::channel();
    let (future, actor_ref) = ActorFuture::new(NoSupervisor, actor_fn(streamer), out);
    let mut future = pin!(future);

    actor_ref.try_send(1u32).unwrap();
    actor_ref.try_send(2u32).unwrap();
    // The stream is pending, not ended, while a reference lives.
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(items.try_iter().collect::<Vec<_>>(), [Some(1), Some(2)]);

    actor_ref.try_send(3u32).unwrap();
    drop(actor_ref);
    assert!(poll_once(future.as_mut()).is_ready());
    assert_eq!(items.try_iter().collect::<Vec<_>>(), [Some(3), None]);
}

enum SelfMessage {
    Hello(u32),
    Stop,
}

/// Hands out a reference to itself, sends itself a message and records what
/// it receives until `Stop`.
async fn self_sender(
    mut ctx: actor::Context<SelfMessage>,
    refs: mpsc::Sender<ActorRef<SelfMessage>>,
    seen: mpsc::Sender<u32>,
) {
    let me = ctx.actor_ref();
    refs.send(me.clone()).unwrap();
    me.try_send(SelfMessage::Hello(0)).unwrap();
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            SelfMessage::Hello(n) => seen.send(n).unwrap(),
            SelfMessage::Stop => return,
        }
    }
}

#[test]
fn actor_ref_from_the_context_sends_to_the_actor_itself() {
    let (refs_sender, refs) = mpsc::channel();
    let (seen_sender, seen) = mpsc::channel();
    let (future, actor_ref) = ActorFuture::new(
        NoSupervisor,
        actor_fn(self_sender),
        (refs_sender, seen_sender),
    );
    let mut future = pin!(future);
    actor_ref.try_send(SelfMessage::Hello(1)).unwrap();

    assert!(poll_once(future.as_mut()).is_pending());
    // The message sent before the actor ran comes first.
    assert_eq!(seen.try_iter().collect::<Vec<_>>(), [1, 0]);
    let own_ref = refs.try_recv().unwrap();
    assert!(own_ref.sends_to(&actor_ref));

    // The actor's own reference keeps it from seeing `NoMessages`.
    drop(actor_ref);
    assert!(poll_once(future.as_mut()).is_pending());
    assert!(poll_once(future.as_mut()).is_pending());

    own_ref.try_send(SelfMessage::Stop).unwrap();
    assert!(poll_once(future.as_mut()).is_ready());
    assert!(!own_ref.is_connected());
}

/// A runtime access for tests: shared start count and per-start state.
#[derive(Clone, Debug)]
struct TestRuntime {
    name: &'static str,
    starts: Arc<AtomicUsize>,
    /// Changed by the actor through `runtime()`; a restart gets a fresh clone.
    local: u32,
}

async fn runtime_user(
    mut ctx: actor::Context<bool, TestRuntime>,
    out: mpsc::Sender<(&'static str, u32, usize)>,
) -> Result<(), String> {
    ctx.runtime().local += 1;
    let starts = ctx.runtime_ref().starts.fetch_add(1, Ordering::SeqCst) + 1;
    let rt = ctx.runtime_ref();
    out.send((rt.name, rt.local, starts)).unwrap();
    // `true`: fail, `false`: stop.
    match ctx.receive_next().await {
        Ok(true) => Err("asked to fail".to_owned()),
        Ok(false) | Err(NoMessages) => Ok(()),
    }
}

#[test]
fn runtime_access_comes_from_the_builder_and_is_cloned_per_start() {
    let (out, reports) = mpsc::channel();
    let rt = TestRuntime {
        name: "test runtime",
        starts: Arc::new(AtomicUsize::new(0)),
        local: 0,
    };
    let starts = Arc::clone(&rt.starts);
    let out2 = out.clone();
    let supervisor = move |_: String| SupervisorStrategy::Restart(out2.clone());
    let (future, actor_ref) =
        ActorFutureBuilder::new()
            .with_rt(rt)
            .build(supervisor, actor_fn(runtime_user), out);
    actor_ref.try_send(true).unwrap();
    actor_ref.try_send(false).unwrap();
    block_on(future);

    // `local` starts from the builder's value on each start; `starts` is
    // shared through the `Arc`.
    assert_eq!(
        reports.try_iter().collect::<Vec<_>>(),
        [("test runtime", 1, 1), ("test runtime", 1, 2)]
    );
    assert_eq!(starts.load(Ordering::SeqCst), 2);
    assert_eq!(block_on(actor_ref.join()), ActorExit::Completed);
}

#[test]
fn context_debug_shows_the_runtime() {
    async fn debug_actor(ctx: actor::Context<(), &'static str>, out: mpsc::Sender<String>) {
        out.send(format!("{ctx:?}")).unwrap();
    }
    let (out, debug) = mpsc::channel();
    let (future, _actor_ref) =
        ActorFutureBuilder::new()
            .with_rt("my rt")
            .build(NoSupervisor, actor_fn(debug_actor), out);
    block_on(future);
    let debug = debug.try_recv().unwrap();
    assert!(debug.starts_with("Context {"), "{debug}");
    assert!(debug.contains(r#"rt: "my rt""#), "{debug}");
}
