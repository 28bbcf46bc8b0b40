//! `ActorInbox` and `ActorFutureBuilder::build_with_inbox`: the reference
//! before the actor, messages sent before it is created, the actor created
//! on another thread, and creation failures (errors and panics) handed to
//! the supervisor.

use std::any::Any;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{self, Poll, Waker};
use std::time::Duration;

use kiln::actor::{self, NewActor};
use kiln::actor_fn;
use kiln::actor_ref::{ActorExit, SendError};
use kiln::future::{ActorFutureBuilder, ActorInbox};
use kiln::inbox::InboxSize;
use kiln::supervisor::{NoSupervisor, Supervisor, SupervisorStrategy, panic_message};
use kiln::sync::block_on;

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut task::Context::from_waker(Waker::noop()))
}

/// Sums what it receives until its inbox is empty and disconnected, and
/// sends the sum back.
async fn summer(mut ctx: actor::Context<u64>, result: std::sync::mpsc::Sender<u64>) {
    let mut sum = 0;
    while let Ok(n) = ctx.receive_next().await {
        sum += n;
    }
    let _ = result.send(sum);
}

#[test]
fn messages_sent_before_the_actor_is_created_on_another_thread_are_received() {
    let (inbox, actor_ref) = ActorInbox::new(InboxSize::fixed(4));
    actor_ref.try_send(1u64).unwrap();
    actor_ref.try_send(2u64).unwrap();
    let (result, sum) = std::sync::mpsc::channel();
    let runner = std::thread::spawn(move || {
        let future = ActorFutureBuilder::new().build_with_inbox(
            inbox,
            NoSupervisor,
            actor_fn(summer),
            result,
        );
        block_on(future);
    });
    block_on(actor_ref.send(3u64)).unwrap();
    // The last reference: the summer's loop ends once the inbox is empty.
    drop(actor_ref);
    assert_eq!(sum.recv_timeout(Duration::from_secs(30)), Ok(6));
    runner.join().unwrap();
}

/// What `new` does for an argument: 0 fails, 99 panics, others create an
/// actor that records its argument and completes.
#[derive(Clone)]
struct Flaky {
    started: Arc<Mutex<Vec<u32>>>,
}

impl NewActor for Flaky {
    type Message = ();
    type Argument = u32;
    type Actor = Pin<Box<dyn Future<Output = ()>>>;
    type Error = String;
    type RuntimeAccess = ();

    fn new(&mut self, _: actor::Context<(), ()>, arg: u32) -> Result<Self::Actor, String> {
        match arg {
            0 => Err(format!("can't start with {arg}")),
            99 => panic!("new panicked with {arg}"),
            _ => {
                self.started.lock().unwrap().push(arg);
                Ok(Box::pin(async {}))
            }
        }
    }
}

/// Records every call and answers with the decisions it is given, in order.
struct Recorder {
    calls: Arc<Mutex<Vec<String>>>,
    decisions: Vec<SupervisorStrategy<u32>>,
}

impl Recorder {
    fn next(&mut self) -> SupervisorStrategy<u32> {
        if self.decisions.is_empty() {
            SupervisorStrategy::Stop
        } else {
            self.decisions.remove(0)
        }
    }
}

impl Supervisor<Flaky> for Recorder {
    fn decide(
        &mut self,
        _: <<Flaky as NewActor>::Actor as kiln::Actor>::Error,
    ) -> SupervisorStrategy<u32> {
        unreachable!("the actor cannot fail")
    }

    fn decide_on_restart_error(&mut self, error: String) -> SupervisorStrategy<u32> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("restart error: {error}"));
        self.next()
    }

    fn second_restart_error(&mut self, error: String) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("second restart error: {error}"));
    }

    fn decide_on_panic(&mut self, panic: Box<dyn Any + Send + 'static>) -> SupervisorStrategy<u32> {
        let msg = panic_message(&*panic).to_owned();
        self.calls.lock().unwrap().push(format!("panic: {msg}"));
        self.next()
    }
}

/// Builds the actor with argument `arg` and the supervisor's `decisions`;
/// returns the supervisor's calls, the arguments actors started with, how
/// the actor ended, and whether the future completed on its first poll.
fn build(
    arg: u32,
    decisions: Vec<SupervisorStrategy<u32>>,
) -> (Vec<String>, Vec<u32>, ActorExit, bool) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let started = Arc::new(Mutex::new(Vec::new()));
    let supervisor = Recorder {
        calls: calls.clone(),
        decisions,
    };
    let new_actor = Flaky {
        started: started.clone(),
    };
    let (inbox, actor_ref) = ActorInbox::new(InboxSize::DEFAULT);
    let future = ActorFutureBuilder::new().build_with_inbox(inbox, supervisor, new_actor, arg);
    let mut future = pin!(future);
    let first_poll_done = poll_once(future.as_mut()).is_ready();
    if !first_poll_done {
        block_on(future);
    }
    let exit = block_on(actor_ref.join());
    let calls = calls.lock().unwrap().clone();
    let started = started.lock().unwrap().clone();
    (calls, started, exit, first_poll_done)
}

#[test]
fn an_actor_created_at_once_runs() {
    let (calls, started, exit, _) = build(5, vec![]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(started, [5]);
    assert_eq!(exit, ActorExit::Completed);
}

#[test]
fn a_creation_error_goes_to_the_supervisor_which_may_retry() {
    let (calls, started, exit, _) = build(0, vec![SupervisorStrategy::Restart(7)]);
    assert_eq!(calls, ["restart error: can't start with 0"]);
    assert_eq!(started, [7]);
    assert_eq!(exit, ActorExit::Completed);
}

#[test]
fn a_creation_error_the_supervisor_stops_closes_the_inbox_at_once() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let supervisor = Recorder {
        calls: calls.clone(),
        decisions: vec![SupervisorStrategy::Stop],
    };
    let new_actor = Flaky {
        started: Arc::new(Mutex::new(Vec::new())),
    };
    let (inbox, actor_ref) = ActorInbox::new(InboxSize::DEFAULT);
    let future = ActorFutureBuilder::new().build_with_inbox(inbox, supervisor, new_actor, 0);
    // Before the future is polled: the inbox is closed, the exit known.
    assert!(matches!(
        actor_ref.try_send(()),
        Err(SendError::Disconnected(()))
    ));
    assert_eq!(block_on(actor_ref.join()), ActorExit::Failed);
    assert_eq!(
        *calls.lock().unwrap(),
        ["restart error: can't start with 0"]
    );
    let mut future = pin!(future);
    assert!(poll_once(future.as_mut()).is_ready());
}

#[test]
fn a_failed_retry_goes_to_second_restart_error() {
    let (calls, started, exit, first_poll_done) = build(0, vec![SupervisorStrategy::Restart(0)]);
    assert_eq!(
        calls,
        [
            "restart error: can't start with 0",
            "second restart error: can't start with 0"
        ]
    );
    assert!(started.is_empty());
    assert_eq!(exit, ActorExit::Failed);
    assert!(first_poll_done);
}

#[test]
fn a_panic_in_new_goes_to_decide_on_panic() {
    let (calls, started, exit, first_poll_done) = build(99, vec![]);
    assert_eq!(calls, ["panic: new panicked with 99"]);
    assert!(started.is_empty());
    assert_eq!(exit, ActorExit::Panicked);
    assert!(first_poll_done);
    // Restarted after the panic.
    let (calls, started, exit, _) = build(99, vec![SupervisorStrategy::Restart(3)]);
    assert_eq!(calls, ["panic: new panicked with 99"]);
    assert_eq!(started, [3]);
    assert_eq!(exit, ActorExit::Completed);
    // A retry that panics too stops the actor.
    let (calls, _, exit, _) = build(99, vec![SupervisorStrategy::Restart(99)]);
    assert_eq!(calls, ["panic: new panicked with 99"]);
    assert_eq!(exit, ActorExit::Panicked);
}

/// `try_build_in` with an inbox from its parts returns a creation error
/// (the supervisor is not asked), and the inbox goes with it; a creation
/// that works runs.
#[test]
fn try_build_in_returns_the_creation_error() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let started = Arc::new(Mutex::new(Vec::new()));
    for arg in [0, 7] {
        let (manager, sender, receiver) = kiln::inbox::Manager::<()>::new(2);
        let inbox = ActorInbox::from_parts(manager, receiver);
        let supervisor = Recorder {
            calls: calls.clone(),
            decisions: Vec::new(),
        };
        let new_actor = Flaky {
            started: started.clone(),
        };
        match ActorFutureBuilder::new().try_build_in(inbox, supervisor, new_actor, arg) {
            Ok(future) => {
                assert_eq!(arg, 7);
                block_on(future);
            }
            Err(err) => {
                assert_eq!((arg, err.as_str()), (0, "can't start with 0"));
                assert!(sender.try_send(()).unwrap_err().is_disconnected());
            }
        }
    }
    assert!(
        calls.lock().unwrap().is_empty(),
        "the supervisor is not asked"
    );
    assert_eq!(*started.lock().unwrap(), [7]);
}

#[test]
#[should_panic = "the receiver of another inbox than the manager's"]
fn from_parts_refuses_another_inbox_s_receiver() {
    let (manager, _sender, _receiver) = kiln::inbox::Manager::<u64>::new(2);
    let (_other_manager, _other_sender, other_receiver) = kiln::inbox::Manager::<u64>::new(2);
    let _ = ActorInbox::from_parts(manager, other_receiver);
}
