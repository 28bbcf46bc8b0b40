//! loom models of the oneshot channel as RPC uses it: the request, with the
//! channel's sender in it, travels through an actor's inbox; the responder
//! answers, fails or stops; the caller waits, changes its waker or gives
//! up.
//!
//! `tests/loom.rs` checks the channel on its own (a value sent or not, the
//! receiver dropped, a reset racing the old sender's wake-up); these models
//! add what `ActorRef::rpc` (`kiln/src/actor_ref/rpc.rs`) puts around it:
//!
//! - a full round trip through a `kiln_inbox` channel;
//! - a responder that drops the request without answering (a panic while
//!   handling it) and one that stops with the request still queued (the
//!   inbox drops it): the caller gets `None` (`RpcError::NoResponse`), not a
//!   hang;
//! - a caller that gives up (a `Deadline` dropping the `Rpc` future) after
//!   registering its waker, while the responder answers: the response is
//!   dropped exactly once, and `respond` says whether it was delivered;
//! - a caller polled with one waker and then another while the response
//!   comes: the latest waker is woken;
//! - a responder that checks `is_connected` (as `RpcMessage::handle` does)
//!   while the caller gives up.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p kiln-inbox --release --test loom_oneshot --target-dir target/loom`.
//! A lost wake-up shows up as loom reporting a deadlock, a use-after-free or
//! data race as a loom panic, a leak as loom's leak check, and a response
//! dropped twice or never as a failed drop count.

#![cfg(loom)]

mod util;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use kiln_inbox::oneshot;
use loom::sync::Notify;
use loom::thread;
use util::{DropCounter, drops};

/// A waker that notifies a loom `Notify`, and counts its wake-ups.
struct NotifyWaker {
    notify: Notify,
    woken: AtomicUsize,
}

impl NotifyWaker {
    fn new() -> Arc<NotifyWaker> {
        Arc::new(NotifyWaker {
            notify: Notify::new(),
            woken: AtomicUsize::new(0),
        })
    }
}

impl Wake for NotifyWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.woken.fetch_add(1, Ordering::SeqCst);
        self.notify.notify();
    }
}

/// Runs `future` to completion, blocking the loom thread while it is
/// pending: if no wake-up comes, loom reports a deadlock.
fn block_on<F: Future>(future: F) -> F::Output {
    let notify = NotifyWaker::new();
    let waker = Waker::from(notify.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        notify.notify.wait();
    }
}

/// Runs `f` under loom with at most `preemptions` preemptions (`None`:
/// exhaustive); `LOOM_MAX_PREEMPTIONS` overrides.
fn model(preemptions: Option<usize>, f: impl Fn() + Send + Sync + 'static) {
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = preemptions;
    }
    builder.check(f);
}

/// A request as `RpcMessage` carries it: the argument and where the
/// response goes.
struct Request {
    argument: u32,
    response: oneshot::Sender<u32>,
}

/// A call through the inbox: the responder (another thread) receives the
/// request and answers; the caller waits for the answer.
#[test]
fn round_trip_through_the_inbox() {
    model(Some(3), || {
        let (inbox, mut requests) = kiln_inbox::new::<Request>(1);
        let responder = thread::spawn(move || {
            let request = block_on(requests.recv()).expect("no request");
            request
                .response
                .try_send(request.argument + 1)
                .expect("the caller is waiting");
        });
        let (response, mut answer) = oneshot::new();
        inbox
            .try_send(Request {
                argument: 1,
                response,
            })
            .unwrap();
        assert_eq!(block_on(answer.recv()), Some(2));
        responder.join().unwrap();
    });
}

/// The responder drops the request without answering (it panicked while
/// handling it): the waiting caller gets `None`.
#[test]
fn responder_drops_the_request() {
    model(None, || {
        let (inbox, mut requests) = kiln_inbox::new::<Request>(1);
        let responder = thread::spawn(move || {
            let request = block_on(requests.recv()).expect("no request");
            drop(request);
        });
        let (response, mut answer) = oneshot::new();
        inbox
            .try_send(Request {
                argument: 1,
                response,
            })
            .unwrap();
        assert_eq!(block_on(answer.recv()), None);
        responder.join().unwrap();
    });
}

/// The responder stops with the request still in its inbox: the inbox
/// drops it, and the waiting caller gets `None`.
#[test]
fn responder_stops_with_the_request_queued() {
    model(None, || {
        let (inbox, requests) = kiln_inbox::new::<Request>(1);
        let (response, mut answer) = oneshot::new();
        inbox
            .try_send(Request {
                argument: 1,
                response,
            })
            .unwrap();
        let responder = thread::spawn(move || drop(requests));
        assert_eq!(block_on(answer.recv()), None);
        responder.join().unwrap();
        drop(inbox);
    });
}

/// The caller registers its waker, then gives up (its `Deadline` passed)
/// while the responder answers: the response is dropped exactly once,
/// and `try_send` gives it back only if the caller was gone first.
#[test]
fn caller_gives_up_while_the_responder_answers() {
    model(None, || {
        let counter = DropCounter::counter();
        let (response, mut answer) = oneshot::new::<DropCounter>();
        let responder = {
            let counter = counter.clone();
            thread::spawn(move || {
                match response.try_send(DropCounter::new(&counter, 1)) {
                    Ok(()) => true,
                    // Given back: dropped here.
                    Err(_response) => false,
                }
            })
        };
        // Polled once (waker registered), then dropped: a timeout.
        {
            let mut recv = answer.recv();
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(value) = Pin::new(&mut recv).poll(&mut cx) {
                // The response came before the timeout.
                assert_eq!(value.map(|value| value.value), Some(1));
            }
        }
        drop(answer);
        let _delivered = responder.join().unwrap();
        assert_eq!(drops(&counter), 1);
    });
}

/// The caller is polled with one waker, then with another (an `Rpc` future
/// moved to another task) while the response comes: the second waker is
/// the one woken, and the value arrives.
#[test]
fn caller_changes_its_waker() {
    model(None, || {
        let (response, mut answer) = oneshot::new::<u32>();
        let responder = thread::spawn(move || response.try_send(7).unwrap());
        let first = NotifyWaker::new();
        let first_waker = Waker::from(first.clone());
        let polled = answer.poll_recv(&mut Context::from_waker(&first_waker));
        if let Poll::Ready(value) = polled {
            assert_eq!(value, Some(7));
        } else {
            // `block_on` registers its own waker; if the first was woken
            // instead of it, loom reports a deadlock.
            assert_eq!(block_on(answer.recv()), Some(7));
        }
        responder.join().unwrap();
    });
}

/// `RpcMessage::handle` checks `is_connected` before it computes a
/// response; the caller gives up meanwhile. Whatever the order, the
/// response (if computed) is dropped once.
#[test]
fn responder_checks_the_caller_while_it_gives_up() {
    model(None, || {
        let counter = DropCounter::counter();
        let (response, answer) = oneshot::new::<DropCounter>();
        let responder = {
            let counter = counter.clone();
            thread::spawn(move || {
                if response.is_connected() {
                    let computed = DropCounter::new(&counter, 1);
                    if let Err(given_back) = response.try_send(computed) {
                        drop(given_back);
                    }
                    1
                } else {
                    0
                }
            })
        };
        drop(answer);
        let computed = responder.join().unwrap();
        assert_eq!(drops(&counter), computed);
    });
}

/// Two calls in a row reusing one allocation (`try_reset`), the second
/// sender travelling through the inbox while the first's wake-up may still
/// be running.
#[test]
fn two_calls_reuse_the_channel() {
    model(Some(2), || {
        let (inbox, mut requests) = kiln_inbox::new::<Request>(2);
        let responder = thread::spawn(move || {
            while let Some(request) = block_on(requests.recv()) {
                let _ = request.response.try_send(request.argument * 10);
            }
        });
        let (response, mut answer) = oneshot::new();
        inbox
            .try_send(Request {
                argument: 1,
                response,
            })
            .unwrap();
        assert_eq!(block_on(answer.recv()), Some(10));
        // The sender is gone once it has sent: reset at once.
        let response = answer.try_reset().expect("the sender is gone");
        inbox
            .try_send(Request {
                argument: 2,
                response,
            })
            .unwrap();
        assert_eq!(block_on(answer.recv()), Some(20));
        drop(inbox);
        responder.join().unwrap();
    });
}

/// Two calls in a row, each on a new channel as `ActorRef::rpc` makes
/// them. In the first the caller takes the answer and drops its receiver
/// while the responder (another thread) may still be waking it or letting
/// go of the block; in the second the caller gives up while the responder
/// answers. Each block is freed once by whichever handle goes last (the
/// receiver without a read-modify-write when the sender let go first), and
/// the second call's block is made while the first responder may still be
/// letting go of its own. Outside loom that block is the first one, taken
/// back from this thread's cache (`inbox/src/recycle.rs`); under loom the
/// cache is off, so a block freed twice or never shows up in loom's
/// allocation tracking, and an answer dropped twice or never in the drop
/// count.
#[test]
fn calls_in_a_row_free_each_reply_block_once() {
    model(Some(2), || {
        let counter = DropCounter::counter();
        let (response, mut answer) = oneshot::new::<DropCounter>();
        let first = {
            let counter = counter.clone();
            thread::spawn(move || response.try_send(DropCounter::new(&counter, 1)).is_ok())
        };
        let value = block_on(answer.recv()).map(|answer| answer.value);
        assert_eq!(value, Some(1));
        drop(answer);
        let (response, answer) = oneshot::new::<DropCounter>();
        let second = {
            let counter = counter.clone();
            thread::spawn(move || response.try_send(DropCounter::new(&counter, 2)).is_ok())
        };
        drop(answer);
        assert!(first.join().unwrap(), "the first caller was waiting");
        let _delivered = second.join().unwrap();
        assert_eq!(drops(&counter), 2);
    });
}
