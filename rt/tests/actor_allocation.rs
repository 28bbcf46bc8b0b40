//! An actor is one allocation: its future lodged in its inbox's (see
//! `rt/src/runtime/scheduler/process_box.rs`), for thread-local and
//! thread-safe actors; a future too big for the room is boxed as before.
//! Either way the actor works, stops, and references that outlive it see it
//! gone.
//!
//! A counting global allocator (`tests/util/counting_alloc.rs`) counts each
//! thread's allocations.

use std::convert::Infallible;
use std::sync::mpsc;

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, Spawn, ThreadLocal, ThreadSafe};

mod util;

use util::counting_alloc::{Counting, allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many actors each test spawns.
const ACTORS: usize = 1_000;

/// Waits for a number, reports it and stops (references may outlive it).
/// `ballast` makes its future big (kept across the `.await`).
async fn adder<RT, const N: usize>(
    mut ctx: actor::Context<u64, RT>,
    total: mpsc::Sender<u64>,
    ballast: [u8; N],
) {
    if let Ok(n) = ctx.receive_next().await {
        total.send(n + u64::from(ballast[N - 1])).unwrap();
    }
}

/// Spawns `ACTORS` thread-local adders with `N` bytes of ballast on one
/// worker, counting that worker's allocations; sends each a number, lets
/// them stop, and checks the sums. Returns the allocations per spawn.
fn thread_local_adders<const N: usize>() -> f64 {
    let mut runtime = Runtime::setup().num_threads(1).build().unwrap();
    let (total, totals) = mpsc::channel();
    let (refs_sender, refs) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let before = allocations();
            let actor_refs: Vec<ActorRef<u64>> = (0..ACTORS)
                .map(|_| {
                    rt.spawn_local(
                        NoSupervisor,
                        actor_fn(adder::<ThreadLocal, N>),
                        (total.clone(), [0; N]),
                        ActorOptions::default(),
                    )
                })
                .collect();
            let made = allocations() - before;
            refs_sender.send((actor_refs, made)).unwrap();
            Ok(())
        })
        .unwrap();
    let (actor_refs, made) = refs.recv().unwrap();
    for (n, actor_ref) in (0u64..).zip(&actor_refs) {
        actor_ref.try_send(n).unwrap();
    }
    // One reference outlives its actor, and the runtime.
    let survivor = actor_refs[0].clone();
    drop(actor_refs);
    runtime.start().unwrap();
    let mut sums: Vec<u64> = totals.try_iter().collect();
    sums.sort_unstable();
    assert_eq!(sums, (0..ACTORS as u64).collect::<Vec<_>>());
    assert!(survivor.try_send(1u64).unwrap_err().is_disconnected());
    drop(survivor);
    made as f64 / ACTORS as f64
}

#[test]
fn a_thread_local_actor_is_one_allocation() {
    let per_spawn = thread_local_adders::<8>();
    // One allocation each, and a few for the run queue's growth (it was
    // two each: the inbox, and the boxed future).
    assert!(per_spawn < 1.1, "{per_spawn} allocations per spawn");
}

#[test]
fn a_future_too_big_for_the_room_is_boxed() {
    let per_spawn = thread_local_adders::<5_000>();
    assert!(
        (2.0..2.1).contains(&per_spawn),
        "{per_spawn} allocations per spawn"
    );
}

/// The same for thread-safe actors, on two workers, spawned from the
/// thread that builds the runtime.
#[test]
fn a_thread_safe_actor_is_one_allocation() {
    let mut runtime = Runtime::setup().num_threads(2).build().unwrap();
    let (total, totals) = mpsc::channel();
    let before = allocations();
    let actor_refs: Vec<ActorRef<u64>> = (0..ACTORS)
        .map(|_| {
            runtime.spawn(
                NoSupervisor,
                actor_fn(adder::<ThreadSafe, 8>),
                (total.clone(), [0; 8]),
                ActorOptions::default(),
            )
        })
        .collect();
    let per_spawn = (allocations() - before) as f64 / ACTORS as f64;
    assert!(per_spawn < 1.1, "{per_spawn} allocations per spawn");
    for (n, actor_ref) in (0u64..).zip(&actor_refs) {
        actor_ref.try_send(n).unwrap();
    }
    let survivor = actor_refs[ACTORS - 1].clone();
    drop(actor_refs);
    drop(total);
    runtime.start().unwrap();
    let mut sums: Vec<u64> = totals.iter().collect();
    sums.sort_unstable();
    assert_eq!(sums, (0..ACTORS as u64).collect::<Vec<_>>());
    assert!(survivor.try_send(1u64).unwrap_err().is_disconnected());
}
