//! Unit tests of the shards: where new processes go, taking from the own
//! shard first, stealing, and finishing into the process's own shard.

use std::future::pending;
use std::time::Duration;

use super::{Shards, SharedProcess, Taken, set_home_of};
use crate::Priority;
use crate::runtime::context;
use crate::runtime::scheduler::process::FutureProcess;
use crate::runtime::scheduler::process_box::ProcessBox;
use crate::spawn::Spawn;

fn process() -> ProcessBox<SharedProcess> {
    ProcessBox::boxed(Box::pin(FutureProcess::new(pending::<()>())))
}

/// Takes a process for the worker of `home` and gives it back, not done;
/// returns the shard it came from.
fn run(shards: &Shards, home: usize, steal_first: bool) -> Option<usize> {
    let taken = shards.take(home, steal_first)?;
    let shard = taken.shard;
    assert!(
        shards
            .finish(taken, Duration::from_micros(1), false)
            .is_none()
    );
    Some(shard)
}

#[test]
fn spawns_go_home_on_a_worker_and_round_robin_elsewhere() {
    let shards = Shards::new(3);
    let (runtime, other) = (0x1000, 0x2000);
    let previous = context::with(|cx| cx.home_shard.get());
    set_home_of(runtime, 2);
    assert_eq!(
        (0..4).map(|_| shards.home_of(runtime)).collect::<Vec<_>>(),
        [2, 2, 2, 2]
    );
    // A worker of another runtime, or no worker: round robin.
    assert_eq!(
        (0..4).map(|_| shards.home_of(other)).collect::<Vec<_>>(),
        [0, 1, 2, 0]
    );
    set_home_of(previous.0, previous.1);
}

#[test]
fn own_shard_first_then_steals() {
    let shards = Shards::new(2);
    shards.add(0, process(), Priority::NORMAL);
    shards.add(1, process(), Priority::NORMAL);
    assert_eq!(shards.counts(), (2, 2));
    // Worker 1 takes its own first, then steals worker 0's.
    assert_eq!(run(&shards, 1, false), Some(1));
    assert_eq!(run(&shards, 1, false), Some(0));
    assert_eq!(run(&shards, 1, false), None);
    assert!(!shards.has_ready());
    assert_eq!(shards.counts(), (2, 0));
}

#[test]
fn steal_first_takes_from_another_shard() {
    let shards = Shards::new(2);
    shards.add(0, process(), Priority::NORMAL);
    shards.add(1, process(), Priority::NORMAL);
    assert_eq!(run(&shards, 0, true), Some(1));
    assert_eq!(run(&shards, 0, true), Some(0));
}

#[test]
fn stolen_process_finishes_into_its_own_shard() {
    let shards = Shards::new(2);
    shards.add(0, process(), Priority::NORMAL);
    let Taken { shard, running } = shards.take(1, false).expect("nothing to steal");
    assert_eq!(shard, 0);
    let pid = running.pid;
    // Woken while it runs on the thief: ready again once given back.
    shards.wake(0, pid);
    let taken = Taken { shard, running };
    assert!(shards.finish(taken, Duration::ZERO, false).is_none());
    assert_eq!(shards.counts(), (1, 1));
    // Its own worker finds it in its own shard, under the same id.
    let again = shards.take(0, false).expect("not back in its shard");
    assert_eq!((again.shard, again.running.pid), (0, pid));
    // Done: removed from its shard.
    assert!(shards.finish(again, Duration::ZERO, true).is_some());
    assert!(shards.is_empty());
}

#[test]
fn stealing_skips_a_locked_shard_and_hints_do_not_block() {
    let shards = Shards::new(2);
    shards.add(1, process(), Priority::NORMAL);
    let guard = shards.queue(1);
    assert!(shards.take(0, false).is_none());
    assert!(!shards.has_ready_hint());
    drop(guard);
    assert!(shards.has_ready_hint());
    assert_eq!(run(&shards, 0, false), Some(1));
}

#[test]
fn ready_hint_follows_every_change_of_a_shard() {
    let shards = Shards::new(2);
    let hints = |shards: &Shards| (shards.ready_hint(0).get(), shards.ready_hint(1).get());
    assert_eq!(hints(&shards), (false, false));
    shards.add(1, process(), Priority::NORMAL);
    assert_eq!(hints(&shards), (false, true));
    // Stolen: nothing ready in shard 1 while it runs.
    let taken = shards.take(0, false).expect("not stolen");
    let pid = taken.running.pid;
    assert_eq!(hints(&shards), (false, false));
    // Woken while it runs: ready only once given back.
    shards.wake(1, pid);
    assert_eq!(hints(&shards), (false, false));
    assert!(shards.finish(taken, Duration::ZERO, false).is_none());
    assert_eq!(hints(&shards), (false, true));
    // Run by its own worker and given back without a wake: idle.
    assert_eq!(run(&shards, 1, false), Some(1));
    assert_eq!(hints(&shards), (false, false));
    // Woken while idle.
    shards.wake(1, pid);
    assert_eq!(hints(&shards), (false, true));
    let taken = shards.take(1, false).expect("not ready");
    assert!(shards.finish(taken, Duration::ZERO, true).is_some());
    assert_eq!(hints(&shards), (false, false));
}

#[test]
fn one_shard_at_least() {
    let shards = Shards::new(0);
    assert_eq!(shards.home_of(0x3000), 0);
    shards.add(0, process(), Priority::NORMAL);
    assert_eq!(run(&shards, 0, true), Some(0));
}

/// Waits for one message, then counts itself in `ran`.
async fn waiting(
    mut ctx: kiln::actor::Context<(), crate::ThreadSafe>,
    ran: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    if ctx.receive_next().await.is_ok() {
        ran.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

#[test]
fn a_runtime_puts_processes_in_the_spawning_workers_shard() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, mpsc};

    use kiln::actor_fn;
    use kiln::supervisor::NoSupervisor;

    use crate::{ActorOptions, Runtime, RuntimeRef};

    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let refs = Arc::new(Mutex::new(Vec::new()));
    let (internals_sender, internals) = mpsc::channel();
    let (spawned, counted) = (refs.clone(), ran.clone());
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), String> {
            // Worker 0 spawns one, worker 1 three: round robin would give
            // the shards two each.
            for _ in 0..=2 * rt.worker_index() {
                let options = ActorOptions::default();
                let arg = counted.clone();
                let actor_ref = rt.spawn(NoSupervisor, actor_fn(waiting), arg, options);
                spawned.lock().unwrap().push(actor_ref);
            }
            internals_sender
                .send(rt.local_internals().shared.clone())
                .map_err(|err| err.to_string())
        })
        .unwrap();
    let internals = internals.recv().unwrap();
    let lens = |internals: &crate::runtime::shared::RuntimeInternals| {
        let shards = &internals.shards;
        (shards.queue(0).len(), shards.queue(1).len())
    };
    assert_eq!(lens(&internals), (1, 3));
    // Off the workers: round robin.
    for _ in 0..4 {
        let arg = ran.clone();
        let actor_ref = runtime.spawn(
            NoSupervisor,
            actor_fn(waiting),
            arg,
            ActorOptions::default(),
        );
        refs.lock().unwrap().push(actor_ref);
    }
    assert_eq!(lens(&internals), (3, 5));
    for actor_ref in refs.lock().unwrap().drain(..) {
        actor_ref.try_send(()).unwrap();
    }
    runtime.start().unwrap();
    assert_eq!(ran.load(Ordering::Acquire), 8);
    assert_eq!(lens(&internals), (0, 0));
}

#[test]
fn empty_only_when_every_shard_is() {
    let shards = Shards::new(3);
    assert!(shards.is_empty());
    shards.add(2, process(), Priority::NORMAL);
    assert!(!shards.is_empty());
    let taken = shards.take(0, false).expect("not stolen");
    // Running (taken out) still counts.
    assert!(!shards.is_empty());
    assert!(shards.finish(taken, Duration::ZERO, true).is_some());
    assert!(shards.is_empty());
}
