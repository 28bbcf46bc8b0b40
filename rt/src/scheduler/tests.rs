//! Unit tests of the run queue's ordering and fairness.

use std::pin::Pin;
use std::time::Duration;

use super::RunQueue;
use crate::spawn::Priority;

type Queue = RunQueue<u32>;

fn add(queue: &mut Queue, n: u32, priority: Priority) -> crate::wake::ProcessId {
    queue.add(Box::pin(n), priority)
}

fn run(queue: &mut Queue, ran_ms: u64, done: bool) -> u32 {
    let running = queue.next().expect("nothing ready");
    let n = *Pin::into_inner(running.process.as_ref());
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
fn ready_heap_gives_back_memory_once_idle() {
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
