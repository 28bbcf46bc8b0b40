//! Item 10, fault injection: `kiln::test::set_message_loss(30)` loses 30%
//! ± 3% of the messages, and a lost request is reported to its caller.
//!
//! With the loss set (it is process-wide; the scenario sets it back to 0
//! when it ends, even on a panic), 10,000 messages are sent to a test
//! actor (`kiln::test::init_actor`) with `try_send`, every send reporting
//! success; the actor counts what arrives, and the loss must be 30% ± 3%
//! (the standard deviation at 10,000 messages is 0.46%, so ± 3% is six and
//! a half of them). The same with `send().await`, and with 10,000 RPCs to an
//! actor that answers every request: 30% ± 3% must end with `NoResponse`
//! (the request was dropped, so its caller is told), the rest with the
//! answer, none may hang. Each is repeated: 100 trials (5 quick), every
//! one within the tolerance. Losses of 0% and 100% must be exact.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use kiln::InboxSize;
use kiln::actor_ref::{RpcError, RpcMessage};
use kiln::{actor, actor_fn, test};

use crate::report::{self, Figure, Outcome, check};

/// The loss the issue asks about, and its tolerance (percentage points).
const LOSS: u8 = 30;
const TOLERANCE: f64 = 3.0;

/// Sets the message loss back to 0 when dropped.
struct LossGuard;

impl LossGuard {
    fn set(percent: u8) -> LossGuard {
        test::set_message_loss(percent);
        LossGuard
    }
}

impl Drop for LossGuard {
    fn drop(&mut self) {
        test::set_message_loss(0);
    }
}

/// The value of a result that cannot be an error.
fn infallible<T>(result: Result<T, Infallible>) -> T {
    match result {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

/// Counts the messages it gets.
async fn counter(mut ctx: actor::Context<u64>, count: Arc<AtomicU64>) {
    while ctx.receive_next().await.is_ok() {
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Answers every request with the request.
async fn echo(mut ctx: actor::Context<RpcMessage<u64, u64>>) {
    while let Ok(RpcMessage { request, response }) = ctx.receive_next().await {
        let _ = response.respond(request);
    }
}

/// How a batch of messages was sent.
#[derive(Copy, Clone, Debug)]
enum Via {
    TrySend,
    Send,
}

/// Messages sent to one counting actor: they all fit in its inbox, so no
/// send meets a full inbox (a `Full` result would be retried, which would
/// roll the dice again).
const BATCH: u64 = 50_000;

/// Sends `n` messages with `percent` loss; returns how many arrived.
fn delivered(n: u64, percent: u8, via: Via) -> Result<u64, String> {
    let mut arrived = 0;
    let mut sent = 0;
    while sent < n {
        let batch = BATCH.min(n - sent);
        let count = Arc::new(AtomicU64::new(0));
        let (actor, actor_ref) =
            test::init_actor_with_inbox_size(actor_fn(counter), Arc::clone(&count), InboxSize::MAX);
        {
            let _loss = LossGuard::set(percent);
            for i in 0..batch {
                let result = match via {
                    Via::TrySend => actor_ref.try_send(i).map_err(|err| err.to_string()),
                    Via::Send => {
                        kiln::sync::block_on(actor_ref.send(i)).map_err(|err| err.to_string())
                    }
                };
                result.map_err(|err| format!("{via:?}: message {i} not sent: {err}"))?;
            }
        }
        // Every reference gone: the actor takes what arrived, then stops.
        drop(actor_ref);
        infallible(test::run_actor(actor));
        arrived += count.load(Ordering::Relaxed);
        sent += batch;
    }
    Ok(arrived)
}

/// Makes `n` calls with `percent` loss; returns (answers, `NoResponse`s).
fn called(n: u64, percent: u8) -> Result<(u64, u64), String> {
    let (actor, actor_ref) = test::init_actor(actor_fn(echo), ());
    let runner = thread::spawn(move || test::run_actor(actor));
    let (done, result) = mpsc::channel();
    let caller = thread::spawn(move || {
        let _loss = LossGuard::set(percent);
        let (mut answers, mut no_response) = (0, 0);
        for i in 0..n {
            match kiln::sync::block_on(actor_ref.rpc(i)) {
                Ok(answer) if answer == i => answers += 1,
                Ok(answer) => return Err(format!("call {i} was answered {answer}")),
                Err(RpcError::NoResponse) => no_response += 1,
                Err(err) => return Err(format!("call {i}: {err}")),
            }
        }
        let _ = done.send(());
        Ok((answers, no_response))
    });
    // A call that never ends would leave the caller waiting for ever.
    let limit = Duration::from_secs(60);
    if result.recv_timeout(limit).is_err() {
        test::set_message_loss(0);
        return Err(format!(
            "the calls did not end within {}: a lost request hangs its caller",
            report::duration(limit)
        ));
    }
    let counts = caller
        .join()
        .map_err(|_| "the calling thread panicked".to_owned())??;
    infallible(
        runner
            .join()
            .map_err(|_| "the echo actor panicked".to_owned())?,
    );
    Ok(counts)
}

/// Checks that `lost` of `n` is `percent` ± [`TOLERANCE`]; returns the
/// measured percentage.
fn within(what: &str, lost: u64, n: u64, percent: u8) -> Result<f64, String> {
    let measured = lost as f64 * 100.0 / n as f64;
    check((measured - f64::from(percent)).abs() <= TOLERANCE, || {
        format!(
            "{what}: set_message_loss({percent}) lost {lost} of {n} ({measured:.2}%), \
             outside {percent}% ± {TOLERANCE}%"
        )
    })?;
    Ok(measured)
}

/// `"min / mean / max"` of percentages.
fn spread(measured: &[f64]) -> String {
    let min = measured.iter().copied().fold(f64::INFINITY, f64::min);
    let max = measured.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = measured.iter().sum::<f64>() / measured.len() as f64;
    format!("{min:.2}% / {mean:.2}% / {max:.2}%")
}

/// Messages (or calls) in one trial.
const MESSAGES: u64 = 10_000;

/// Runs the scenario: `quick` for the CI-sized version.
pub(crate) fn run(quick: bool) -> Outcome {
    let trials = if quick { 5 } else { 100 };
    let mut figures = vec![Figure::new(
        "trials of 10,000 messages (or calls) each",
        trials,
    )];
    for via in [Via::TrySend, Via::Send] {
        let mut measured = Vec::new();
        for _ in 0..trials {
            let arrived = delivered(MESSAGES, LOSS, via)?;
            measured.push(within(
                &format!("{via:?}"),
                MESSAGES - arrived,
                MESSAGES,
                LOSS,
            )?);
        }
        let name = match via {
            Via::TrySend => "try_send",
            Via::Send => "send().await",
        };
        figures.push(Figure::new(
            format!("{name}: set_message_loss({LOSS}) lost, min / mean / max"),
            spread(&measured),
        ));
    }
    let mut measured = Vec::new();
    for _ in 0..trials {
        let (answers, no_response) = called(MESSAGES, LOSS)?;
        check(answers + no_response == MESSAGES, || {
            format!("{answers} answers and {no_response} NoResponse of {MESSAGES} calls")
        })?;
        measured.push(within("rpc", no_response, MESSAGES, LOSS)?);
    }
    figures.push(Figure::new(
        format!("rpc: set_message_loss({LOSS}) ended with NoResponse, min / mean / max"),
        spread(&measured),
    ));
    for percent in [0, 100] {
        let arrived = delivered(MESSAGES, percent, Via::TrySend)?;
        let expected = MESSAGES * (100 - u64::from(percent)) / 100;
        check(arrived == expected, || {
            format!("set_message_loss({percent}): {arrived} of {MESSAGES} messages arrived")
        })?;
        figures.push(Figure::new(
            format!("try_send: set_message_loss({percent}) lost"),
            report::count(MESSAGES - arrived),
        ));
    }
    Ok(figures)
}
