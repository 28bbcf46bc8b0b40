//! The setup's tuning knobs: invalid values are refused with a clear error,
//! and extreme valid ones still run everything (a wake-up queue of one
//! overflows all the time; a zero time slice runs one actor per turn).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

#[test]
fn invalid_tuning_is_refused() {
    let err = Runtime::setup()
        .with_thread_safe_runs(0)
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("thread-safe runs per turn must be at least 1"),
        "{err}"
    );
    for capacity in [0, 65_537] {
        let err = Runtime::setup()
            .with_wake_queue_capacity(capacity)
            .build()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("wake-up queue capacity must be 1 to 65,536"),
            "{err}"
        );
    }
}

/// Counts messages until it has `expected`.
async fn counter(
    mut ctx: actor::Context<u32, ThreadLocal>,
    expected: usize,
    count: Arc<AtomicUsize>,
) {
    while count.load(Ordering::SeqCst) < expected {
        match ctx.receive_next().await {
            Ok(_) => {
                count.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => return,
        }
    }
}

#[test]
fn extreme_tuning_still_delivers_every_message() {
    const ACTORS: usize = 50;
    const MESSAGES: usize = 200;
    let mut runtime = Runtime::setup()
        .num_threads(2)
        .with_time_slice(Duration::ZERO)
        .with_thread_safe_runs(1)
        .with_wake_queue_capacity(1)
        .build()
        .unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = std::sync::mpsc::channel::<ActorRef<u32>>();
    let count2 = count.clone();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            for _ in 0..ACTORS / 2 {
                let actor_ref = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(counter),
                    (MESSAGES, Arc::new(AtomicUsize::new(0))),
                    ActorOptions::default(),
                );
                let _ = actor_ref;
            }
            let actor_ref = rt.spawn_local(
                NoSupervisor,
                actor_fn(counter),
                (usize::MAX, count2.clone()),
                ActorOptions::default(),
            );
            sender.send(actor_ref).unwrap();
            Ok(())
        })
        .unwrap();
    let refs: Vec<ActorRef<u32>> = receiver.try_iter().collect();
    assert_eq!(refs.len(), 2);
    // Senders on other threads: every wake-up goes through the one-slot
    // queue, which overflows; nothing may be lost.
    let senders: Vec<_> = refs
        .into_iter()
        .map(|actor_ref| {
            thread::spawn(move || {
                for n in 0..MESSAGES as u32 {
                    kiln::sync::block_on(actor_ref.send(n)).unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    runtime.start().unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 2 * MESSAGES);
}
