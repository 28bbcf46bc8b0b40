//! Contention microbenchmarks: what each structure that workers share costs
//! per operation with one thread and with two (the "Past two cores" section
//! of `BENCHMARKS.md` builds its scaling model on these figures).
//!
//! Ignored as tests (they measure, they check nothing that could fail but
//! their own sanity); run them with
//!
//! ```text
//! cargo test -p kiln-rt --release --lib contention -- --ignored --nocapture --test-threads 1
//! ```
//!
//! Each benchmark runs an operation in a loop on 1 thread, then on 2 threads
//! at once (each pinned to its own CPU when there are two), and prints the
//! nanoseconds per operation each thread saw, and the operations per second
//! of all threads together: the median of 5 runs. With one thread the
//! structure's cache lines stay in that core's cache; with two every
//! operation that writes them moves them between the cores, which is what
//! more workers would pay too, only more often. On a shared machine the two
//! threads do not always run at the same time (another process takes a
//! core): each 2-thread run reports how much of it the two threads ran side
//! by side ("overlap"), and only runs with 90% or more count; the first
//! row, `line_transfer`, is the cost of moving one cache line from core to
//! core and back (two threads taking turns at an increment), the physical
//! constant of the model.
//!
//! The structures, and who touches them (see `BENCHMARKS.md` for the
//! model):
//!
//! | benchmark | structure | touched by |
//! |---|---|---|
//! | `registry` | the waker registry's read lock (`runtime/wake.rs`) | every wake-up from another thread |
//! | `wake_queue` | a worker's queue of remote wake-ups (`WorkerHandle::remote`) | every wake of a thread-local process from another thread |
//! | `sleeping_scan` | the workers' `sleeping` flags (`RuntimeInternals::wake_worker_for`) | every thread-safe spawn and wake whose shard's worker is awake |
//! | `shard_own`, `shard_shared` | a shard's lock (`scheduler/shards.rs`) | every thread-safe run (twice), wake and spawn |
//! | `steal_scan` | the other shards' locks, tried | every turn of a worker whose shard has nothing ready |
//! | `shared_timers` | the shared timing wheel's lock, tried | every turn of every worker |
//! | `actor_count` | the count of thread-safe actors (metrics) | every thread-safe spawn and stop |

use std::future::pending;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::Priority;
use crate::runtime::ids::ProcessId;
use crate::runtime::scheduler::process::{FutureProcess, SharedProcess};
use crate::runtime::scheduler::process_box::ProcessBox;
use crate::runtime::scheduler::shards::Shards;
use crate::runtime::timers::TimingWheel;
use crate::runtime::wake::{self, WakeTarget};

/// Operations per thread and measurement.
const OPS: u64 = 2_000_000;

/// Pins the calling thread to `cpu`, if the machine has it (best effort).
fn pin(cpu: usize) {
    let cpus = thread::available_parallelism().map_or(1, usize::from);
    if cpu >= cpus {
        return;
    }
    // SAFETY: `cpu_set_t` is plain data for which all zeroes is valid.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: writes one bit of `set`; `cpu` is below the machine's CPU
    // count, far below the set's size.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: a valid set of the size passed; 0 is this thread.
    let _ = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &raw const set) };
}

/// What a benchmark does: `op(thread, threads)` is one operation of thread
/// `thread` of `threads`.
type Op<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Runs `op` `OPS` times on each of `threads` threads at once; returns the
/// mean nanoseconds per operation the threads saw, and the share of the
/// run during which all of them ran (1 for one thread).
fn run(threads: usize, op: Op<'_>) -> (f64, f64) {
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || {
                    pin(t);
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..OPS {
                        op(t, threads);
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let nanos = spans
        .iter()
        .map(|(start, end)| (*end - *start).as_nanos() as f64 / OPS as f64)
        .sum::<f64>()
        / threads as f64;
    let first = spans.iter().map(|s| s.0).min().expect("a thread");
    let last = spans.iter().map(|s| s.1).max().expect("a thread");
    let together = spans.iter().map(|s| s.0).max().expect("a thread");
    let apart = spans.iter().map(|s| s.1).min().expect("a thread");
    let overlap = apart.saturating_duration_since(together).as_secs_f64()
        / (last - first).as_secs_f64().max(f64::MIN_POSITIVE);
    (nanos, overlap)
}

/// The median of `values` (not empty).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Measures `op` on one thread and on two, the median of 5 runs each (of
/// the 2-thread runs whose threads overlapped for 90% or more, if any), and
/// prints the figures as a table row.
fn bench(name: &str, op: Op<'_>) {
    let one = median((0..5).map(|_| run(1, op).0).collect());
    let runs: Vec<(f64, f64)> = (0..5).map(|_| run(2, op)).collect();
    let side_by_side: Vec<f64> = runs.iter().filter(|r| r.1 >= 0.9).map(|r| r.0).collect();
    let counted = side_by_side.len();
    let two = if side_by_side.is_empty() {
        median(runs.iter().map(|r| r.0).collect())
    } else {
        median(side_by_side)
    };
    let overlap = median(runs.iter().map(|r| r.1).collect());
    println!(
        "| {name} | {one:.1} | {two:.1} | {:.1} | {:.1} | {counted} of 5, median {:.0}% |",
        1_000.0 / one,
        2.0 * 1_000.0 / two,
        overlap * 100.0
    );
    assert!(one.is_finite() && two.is_finite());
}

fn header() {
    println!(
        "\n| benchmark | 1 thread: ns/op | 2 threads: ns/op each | 1 thread: M ops/s | 2 threads: M ops/s together | 2-thread runs side by side (overlap) |"
    );
    println!("|---|---|---|---|---|---|");
}

/// The physical constant: one line, its owner taking turns. Two threads
/// wait for the count to be their turn, then add one: every increment moves
/// the line to the other core. A turn taken while the other thread was not
/// running (another process had its core) waits for it, so the figure is
/// the fastest window of 1,000 increments, the median of 5 runs: what
/// moving a line costs when both cores run.
fn line_transfer() {
    const WINDOW: u64 = 1_000;
    let windows = |turn: &AtomicU64, mine: u64| -> f64 {
        let mut fastest = f64::INFINITY;
        for _ in 0..OPS / WINDOW {
            let start = Instant::now();
            for _ in 0..WINDOW {
                while turn.load(Ordering::Acquire) % 2 != mine {
                    std::hint::spin_loop();
                }
                black_box(turn.fetch_add(1, Ordering::AcqRel));
            }
            fastest = fastest.min(start.elapsed().as_nanos() as f64);
        }
        // Each thread's window holds its own increments and the other's.
        fastest / (2 * WINDOW) as f64
    };
    let runs: Vec<f64> = (0..5)
        .map(|_| {
            let turn = AtomicU64::new(0);
            let barrier = Barrier::new(2);
            thread::scope(|scope| {
                let handles: Vec<_> = (0..2u64)
                    .map(|t| {
                        let (turn, barrier) = (&turn, &barrier);
                        scope.spawn(move || {
                            pin(t as usize);
                            barrier.wait();
                            windows(turn, t)
                        })
                    })
                    .collect();
                let nanos: Vec<f64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
                nanos.iter().copied().fold(f64::INFINITY, f64::min)
            })
        })
        .collect();
    let one = median(
        (0..5)
            .map(|_| {
                run(1, &|_, _| {
                    black_box(AtomicU64::new(0).fetch_add(1, Ordering::AcqRel));
                })
                .0
            })
            .collect(),
    );
    let two = median(runs);
    println!(
        "| line_transfer (turns at an increment; fastest 1,000) | {one:.1} | {two:.1} | {:.1} | {:.1} | windows |",
        1_000.0 / one,
        1_000.0 / two
    );
}

/// A wake target that does nothing: `registry` measures the lookup alone.
struct Nothing;

impl WakeTarget for Nothing {
    fn wake(&self, pid: ProcessId) {
        black_box(pid);
    }
}

#[test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
fn contention() {
    header();

    line_transfer();

    // The waker registry: a wake from a thread that is not the process's
    // worker looks its target up under the registry's read lock.
    let id = wake::register(Arc::new(Nothing)).expect("a waker id");
    let waker = wake::new_waker(
        id,
        ProcessId {
            index: 1,
            generation: 0,
        },
    );
    bench("registry", &|_, _| waker.wake_by_ref());
    wake::unregister(id);

    // A worker's queue of remote wake-ups: a thread-local process woken from
    // another thread. One thread sends and receives each id; with two, one
    // sends them and the other (the worker) receives them.
    let (sender, receiver) = kiln_inbox::new::<ProcessId>(1024);
    let receiver = Mutex::new(receiver);
    let pid = ProcessId {
        index: 7,
        generation: 1,
    };
    let send = || {
        while sender.try_send(pid).is_err() {
            std::hint::spin_loop();
        }
    };
    let receive = || {
        // Only the receiving thread locks: the lock is never contended.
        let mut receiver = receiver.lock().unwrap();
        while receiver.try_recv().is_err() {
            std::hint::spin_loop();
        }
    };
    bench("wake_queue (an id sent and received)", &|t, threads| {
        if threads == 1 {
            send();
            receive();
        } else if t == 0 {
            send();
        } else {
            receive();
        }
    });

    // The workers' `sleeping` flags, each read with a read-modify-write, as
    // `wake_worker_for` does for every thread-safe spawn or wake whose
    // worker is awake (here: of 2 workers; the scan grows with them).
    let sleeping: Vec<AtomicBool> = (0..2).map(|_| AtomicBool::new(false)).collect();
    bench("sleeping_scan (2 workers)", &|_, _| {
        for flag in &sleeping {
            black_box(flag.fetch_or(false, Ordering::AcqRel));
        }
    });

    // A shard's lock: waking an idle process in it (lock, mark ready,
    // publish the ready hint, unlock), then taking and finishing it as a
    // run does. `shard_own`: each thread its own shard; `shard_shared`: one.
    let shards = Shards::new(2);
    let pids: Vec<ProcessId> = (0..2)
        .map(|shard| {
            let process: ProcessBox<SharedProcess> =
                ProcessBox::boxed(Box::pin(FutureProcess::new(pending::<()>())));
            shards.add(shard, process, Priority::NORMAL);
            let taken = shards.take(shard, false).expect("just added");
            let pid = taken.running.pid;
            assert!(shards.finish(taken, Duration::ZERO, false).is_none());
            pid
        })
        .collect();
    let wake_and_run = |shard: usize| {
        shards.wake(shard, pids[shard]);
        if let Some(taken) = shards.take(shard, false) {
            let _ = shards.finish(taken, Duration::ZERO, false);
        }
    };
    bench("shard_own (wake, take, finish)", &|t, _| wake_and_run(t));
    bench("shard_shared (wake, take, finish)", &|_, _| wake_and_run(0));

    // The steal scan of a worker whose shard has nothing ready: its own
    // lock, then a try of every other shard's (here: 2 shards, all idle).
    let empty = Shards::new(2);
    bench("steal_scan (2 shards)", &|t, _| {
        black_box(empty.take(t, false).is_some());
    });

    // The shared timing wheel, tried by every worker every turn.
    let now = Instant::now();
    let timers = Mutex::new(TimingWheel::new(now));
    bench("shared_timers (try_lock, expire)", &|_, _| {
        if let Ok(mut timers) = timers.try_lock() {
            black_box(timers.expire(now));
        }
    });

    // The runtime-wide count of thread-safe actors, for the metrics.
    let count = AtomicU64::new(0);
    bench("actor_count (fetch_add)", &|_, _| {
        black_box(count.fetch_add(1, Ordering::Relaxed));
    });
}
