//! 5: Timers.
//!
//! - `Timer` is a future that completes at a deadline;
//! - `Deadline` wraps a future and fails it with `DeadlinePassed` (an
//!   `io::Error` of kind `TimedOut`) if it takes too long;
//! - `Interval` is a stream of ticks.
//!
//! Timers are per worker for thread-local actors: a pending timer costs no
//! thread, no syscall and a few dozen bytes.

use std::convert::Infallible;
use std::future::pending;
use std::time::{Duration, Instant};

use futures_core::Stream;
use kiln::supervisor::NoSupervisor;
use kiln::{actor, actor_fn};
use kiln_rt::timer::{Deadline, DeadlinePassed, Interval, Timer};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

async fn timers(ctx: actor::Context<(), ThreadLocal>) {
    let rt = ctx.runtime_ref().clone();
    let start = Instant::now();

    // A timer: waits 20 ms.
    Timer::after(rt.clone(), Duration::from_millis(20)).await;
    println!(
        "timer fired after at least 20 ms: {}",
        start.elapsed() >= Duration::from_millis(20)
    );

    // A deadline: a future that never completes is cut off after 10 ms.
    let never = async { pending::<Result<(), DeadlinePassed>>().await };
    let result = Deadline::after(rt.clone(), Duration::from_millis(10), never).await;
    println!("deadline: {result:?}");

    // An interval: three ticks, 10 ms apart.
    let mut interval = std::pin::pin!(Interval::every(rt, Duration::from_millis(10)));
    for tick in 1..=3 {
        std::future::poll_fn(|cx| interval.as_mut().poll_next(cx)).await;
        println!("tick {tick}");
    }
}

fn main() -> Result<(), kiln_rt::Error> {
    let mut runtime = Runtime::new()?;
    runtime.run_on_workers(|mut rt: RuntimeRef| -> Result<(), Infallible> {
        rt.spawn_local(NoSupervisor, actor_fn(timers), (), ActorOptions::default());
        Ok(())
    })?;
    runtime.start()
}
