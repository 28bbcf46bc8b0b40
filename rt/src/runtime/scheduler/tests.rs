//! Unit tests of the run queue's ordering and fairness.

use std::pin::Pin;
use std::task::{self, Poll};
use std::time::Duration;

use super::{RunQueue, SLEEPER_CREDIT, START_DEBIT};
use crate::runtime::scheduler::process::Process;
use crate::runtime::scheduler::process_box::ProcessBox;
use crate::runtime::wake::ProcessId;
use crate::spawn::Priority;

/// A numbered process that the tests never run.
impl Process for u32 {
    fn name(&self) -> fn() -> &'static str {
        || "u32"
    }

    fn is_actor(&self) -> bool {
        false
    }

    fn run(self: Pin<&mut Self>, _: &mut task::Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

type Queue = RunQueue<u32>;

fn add(queue: &mut Queue, n: u32, priority: Priority) -> ProcessId {
    queue.add(ProcessBox::boxed(Box::pin(n)), priority)
}

fn run(queue: &mut Queue, ran_ms: u64, done: bool) -> u32 {
    let running = queue.next().expect("nothing ready");
    let n = *running.process;
    queue.finish(running, Duration::from_millis(ran_ms), done);
    n
}

#[test]
fn runs_the_least_run_process_first() {
    let mut queue = Queue::new();
    let a = add(&mut queue, 1, Priority::NORMAL);
    let b = add(&mut queue, 2, Priority::NORMAL);
    assert_eq!(run(&mut queue, 10, false), 1);
    assert_eq!(run(&mut queue, 1, false), 2);
    assert!(!queue.has_ready());
    queue.wake(a);
    queue.wake(b);
    // b ran less, so it goes first.
    assert_eq!(run(&mut queue, 1, false), 2);
    assert_eq!(run(&mut queue, 1, false), 1);
}

#[test]
fn busy_process_does_not_starve_others_nor_is_starved() {
    let mut queue = Queue::new();
    let busy = add(&mut queue, 1, Priority::NORMAL);
    let light = add(&mut queue, 2, Priority::NORMAL);
    let (mut busy_runs, mut light_runs) = (0, 0);
    for _ in 0..1000 {
        let running = queue.next().expect("nothing ready");
        // The busy process runs 5 ms a poll, the light one 0.1 ms; both are
        // always ready again.
        let ran = if *running.process == 1 {
            busy_runs += 1;
            Duration::from_millis(5)
        } else {
            light_runs += 1;
            Duration::from_micros(100)
        };
        queue.finish(running, ran, false);
        queue.wake(busy);
        queue.wake(light);
    }
    // Equal shares of run time: 50 light runs per busy one.
    assert!(busy_runs >= 15, "busy ran {busy_runs} times");
    assert!(light_runs >= 900, "light ran {light_runs} times");
}

#[test]
fn new_process_neither_starves_nor_is_starved() {
    let mut queue = Queue::new();
    let old = add(&mut queue, 1, Priority::NORMAL);
    for _ in 0..10 {
        run(&mut queue, 10, false);
        queue.wake(old);
    }
    let new = add(&mut queue, 2, Priority::NORMAL);
    // The new process starts at the minimum, not at zero: the old process
    // still gets a turn within the next few runs.
    let mut order = Vec::new();
    for _ in 0..4 {
        let n = run(&mut queue, 10, false);
        order.push(n);
        queue.wake(if n == 1 { old } else { new });
    }
    assert!(order.contains(&1) && order.contains(&2), "{order:?}");
}

#[test]
fn high_priority_runs_more_often() {
    let mut queue = Queue::new();
    let high = add(&mut queue, 1, Priority::HIGH);
    let low = add(&mut queue, 2, Priority::LOW);
    let (mut highs, mut lows) = (0, 0);
    for _ in 0..400 {
        let n = run(&mut queue, 1, false);
        if n == 1 {
            highs += 1;
            queue.wake(high);
        } else {
            lows += 1;
            queue.wake(low);
        }
    }
    // Charged 0.5 ms against 1.5 ms per run: about three times as often.
    assert!(highs > 2 * lows, "high {highs}, low {lows}");
}

#[test]
fn wake_while_running_requeues_and_stale_ids_are_ignored() {
    let mut queue = Queue::new();
    let pid = add(&mut queue, 1, Priority::NORMAL);
    let running = queue.next().unwrap();
    queue.wake(pid);
    assert!(queue.finish(running, Duration::ZERO, false).is_none());
    assert!(queue.has_ready());
    let running = queue.next().unwrap();
    assert!(queue.finish(running, Duration::ZERO, true).is_some());
    assert_eq!(queue.len(), 0);
    // The slot is reused with a new generation; the old id does nothing.
    let new = add(&mut queue, 2, Priority::NORMAL);
    assert_eq!(new.index, pid.index);
    assert_ne!(new.generation, pid.generation);
    let running = queue.next().unwrap();
    queue.finish(running, Duration::ZERO, false);
    queue.wake(pid);
    assert!(!queue.has_ready());
    queue.wake(new);
    assert!(queue.has_ready());
}

#[test]
fn ready_queue_gives_back_memory_once_idle() {
    let mut queue = Queue::new();
    for n in 0..10_000 {
        add(&mut queue, n, Priority::NORMAL);
    }
    while let Some(running) = queue.next() {
        queue.finish(running, Duration::ZERO, false);
    }
    assert!(queue.ready.capacity() >= 10_000);
    queue.shrink_if_idle();
    assert!(queue.ready.capacity() < 1_000, "{}", queue.ready.capacity());
    // Processes are still there and can be woken.
    assert_eq!(queue.len(), 10_000);
}

#[test]
fn slab_gives_back_its_empty_slots_after_a_peak() {
    let mut queue = Queue::new();
    let first = add(&mut queue, 0, Priority::NORMAL);
    assert_eq!(run(&mut queue, 0, false), 0);
    for n in 1..10_000 {
        add(&mut queue, n, Priority::NORMAL);
    }
    let peak = queue.slots.capacity();
    // All but the first process end.
    while let Some(running) = queue.next() {
        queue.finish(running, Duration::ZERO, true);
    }
    assert_eq!(queue.len(), 1);
    queue.shrink_if_idle();
    assert!(
        queue.slots.capacity() < peak / 8 && queue.free.len() < queue.slots.len(),
        "{} slots ({} free) of capacity {} kept, peak {peak}",
        queue.slots.len(),
        queue.free.len(),
        queue.slots.capacity()
    );
    // The first is still there, and new processes go in the kept slots.
    queue.wake(first);
    assert_eq!(run(&mut queue, 0, false), 0);
    let new = add(&mut queue, 7, Priority::NORMAL);
    assert!((new.index as usize) < queue.slots.len());
    assert_eq!(run(&mut queue, 0, true), 7);
}

/// The virtual run time of `pid`.
fn vruntime(queue: &Queue, pid: ProcessId) -> u64 {
    queue.slots[pid.index as usize].vruntime
}

const DEBIT_NS: u64 = START_DEBIT.as_nanos() as u64;

#[test]
fn new_process_starts_a_debit_above_the_minimum_scaled_by_its_priority() {
    let mut queue = Queue::new();
    let old = add(&mut queue, 1, Priority::NORMAL);
    for _ in 0..5 {
        run(&mut queue, 10, false);
        queue.wake(old);
    }
    // `old` started at the debit and was last picked after 40 ms of runs.
    let min = DEBIT_NS + 40_000_000;
    assert_eq!(queue.min_vruntime, min);
    let normal = add(&mut queue, 2, Priority::NORMAL);
    let high = add(&mut queue, 3, Priority::HIGH);
    let low = add(&mut queue, 4, Priority::LOW);
    assert_eq!(vruntime(&queue, normal), min + DEBIT_NS);
    assert_eq!(vruntime(&queue, high), min + DEBIT_NS / 2);
    assert_eq!(vruntime(&queue, low), min + DEBIT_NS * 3 / 2);
}

#[test]
fn new_process_goes_after_a_woken_one_of_equal_virtual_run_time() {
    let mut queue = Queue::new();
    let first = add(&mut queue, 1, Priority::NORMAL);
    let woken = add(&mut queue, 2, Priority::NORMAL);
    // `first` stops, freeing the slot with the lower index; `woken` runs
    // without being charged and waits.
    assert_eq!(run(&mut queue, 0, true), 1);
    assert_eq!(run(&mut queue, 0, false), 2);
    queue.wake(woken);
    // The new process gets the lower index, which wins ties; with the
    // minimum as its virtual run time it would tie with `woken`, and run
    // first.
    let new = add(&mut queue, 3, Priority::NORMAL);
    assert_eq!(new.index, first.index);
    assert!(vruntime(&queue, new) > vruntime(&queue, woken));
    assert_eq!(run(&mut queue, 0, false), 2);
    assert_eq!(run(&mut queue, 0, false), 3);
}

#[test]
fn woken_process_runs_before_a_burst_of_new_ones() {
    // The scheduler side of `tests/scheduler_spawn_burst.rs`.
    let mut queue = Queue::new();
    let sleeper = add(&mut queue, 0, Priority::NORMAL);
    let spawner = add(&mut queue, 1, Priority::NORMAL);
    // The sleeper runs 1 ms and waits on a timer; the spawner spawns 10,000
    // processes and waits.
    assert_eq!(run(&mut queue, 1, false), 0);
    let running = queue.next().unwrap();
    assert_eq!(*running.process, 1);
    for n in 2..10_002 {
        add(&mut queue, n, Priority::NORMAL);
    }
    queue.finish(running, Duration::from_millis(30), false);
    // Two of the new ones ran before the timer fired.
    assert!(run(&mut queue, 0, true) >= 2);
    assert!(run(&mut queue, 0, true) >= 2);
    queue.wake(sleeper);
    assert_eq!(run(&mut queue, 0, false), 0);
    // The spawner, charged 30 ms for its run, takes its turn after the rest
    // of its burst.
    queue.wake(spawner);
    for _ in 0..9_998 {
        assert!(
            run(&mut queue, 0, true) >= 2,
            "the spawner ran before its burst"
        );
    }
    assert_eq!(run(&mut queue, 0, false), 1);
    assert!(!queue.has_ready());
}

#[test]
fn process_that_ran_longer_than_the_debit_waits_for_the_burst() {
    // Fairness for the heavy: a process charged more than the debit in its
    // last run does not jump ahead of new processes that have not run.
    let mut queue = Queue::new();
    let heavy = add(&mut queue, 0, Priority::NORMAL);
    let running = queue.next().unwrap();
    for n in 1..=100 {
        add(&mut queue, n, Priority::NORMAL);
    }
    queue.finish(running, START_DEBIT + Duration::from_millis(1), false);
    queue.wake(heavy);
    for _ in 0..100 {
        assert_ne!(run(&mut queue, 0, true), 0);
    }
    assert_eq!(run(&mut queue, 0, false), 0);
}

#[test]
fn new_process_runs_once_busy_ones_ran_the_debit() {
    // Not starved: behind processes that are always ready, a new one waits
    // until each ran its debit, then runs.
    let mut queue = Queue::new();
    let busy: Vec<ProcessId> = (0..4)
        .map(|n| add(&mut queue, n, Priority::NORMAL))
        .collect();
    for _ in 0..100 {
        let n = run(&mut queue, 1, false);
        queue.wake(busy[n as usize]);
    }
    add(&mut queue, 9, Priority::NORMAL);
    let mut busy_runs = 0;
    loop {
        let n = run(&mut queue, 1, false);
        if n == 9 {
            break;
        }
        queue.wake(busy[n as usize]);
        busy_runs += 1;
        assert!(busy_runs <= 100, "the new process did not run");
    }
    // Each of the four busy processes ran (about) 2 ms, a run of 1 ms at a
    // time.
    let debit_runs = 4 * (START_DEBIT.as_millis() as usize);
    assert!(
        (debit_runs - 4..=debit_runs + 4).contains(&busy_runs),
        "{busy_runs} busy runs before the new process"
    );
}

#[test]
fn take_woken_takes_a_waiting_process_past_the_ready_ones() {
    let mut queue = Queue::new();
    let waiting = add(&mut queue, 1, Priority::NORMAL);
    assert_eq!(run(&mut queue, 0, false), 1);
    let ready = add(&mut queue, 2, Priority::NORMAL);
    let min = queue.min_vruntime;
    // Waiting: taken at once, the other stays ready, the minimum unmoved.
    let running = queue
        .take_woken(waiting)
        .expect("waiting process not taken");
    assert_eq!(*running.process, 1);
    assert_eq!(queue.ready_len(), 1);
    assert_eq!(queue.min_vruntime, min);
    // Running: woken, so it is ready again once it finishes.
    assert!(queue.take_woken(waiting).is_none());
    queue.finish(running, Duration::from_millis(1), false);
    assert_eq!(queue.ready_len(), 2);
    // Ready: left where it is.
    assert!(queue.take_woken(ready).is_none());
    assert_eq!(queue.ready_len(), 2);
    // Stale, and past the slab: nothing.
    let mut finished = 0;
    while let Some(running) = queue.next() {
        finished += 1;
        queue.finish(running, Duration::ZERO, true);
    }
    assert_eq!(finished, 2);
    assert!(queue.take_woken(waiting).is_none());
    let far = ProcessId {
        index: 99,
        generation: 0,
    };
    assert!(queue.take_woken(far).is_none());
    assert_eq!(queue.len(), 0);
}

#[test]
fn take_woken_gives_a_long_sleeper_no_more_credit_than_a_wake() {
    let mut queue = Queue::new();
    let sleeper = add(&mut queue, 1, Priority::NORMAL);
    assert_eq!(run(&mut queue, 0, false), 1);
    let busy = add(&mut queue, 2, Priority::NORMAL);
    for _ in 0..10 {
        assert_eq!(run(&mut queue, 5, false), 2);
        queue.wake(busy);
    }
    let running = queue.take_woken(sleeper).unwrap();
    let floor = queue.min_vruntime - SLEEPER_CREDIT.as_nanos() as u64;
    assert_eq!(vruntime(&queue, sleeper), floor);
    queue.finish(running, Duration::ZERO, false);
}
