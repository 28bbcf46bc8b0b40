//! Tests of the spin gate's pauses and the spin budget.

use std::time::{Duration, Instant};

use super::{FIRST_PAUSE, MAX_PAUSE, MIN_BUDGET, SpinGate};

const IDLE_SPIN: Duration = Duration::from_micros(50);

#[test]
fn open_until_a_spin_is_preempted() {
    let mut gate = SpinGate::new(IDLE_SPIN);
    let now = Instant::now();
    assert_eq!(gate.budget(now), IDLE_SPIN);
    gate.found_work();
    assert_eq!(gate.budget(now), IDLE_SPIN);
    gate.preempted(now);
    assert_eq!(gate.budget(now), Duration::ZERO);
    let almost = now + FIRST_PAUSE - Duration::from_micros(1);
    assert_eq!(gate.budget(almost), Duration::ZERO);
    assert_eq!(gate.budget(now + FIRST_PAUSE), IDLE_SPIN);
    assert_eq!(
        gate.budget(now),
        IDLE_SPIN,
        "reopened for good, not only at a later time"
    );
}

/// The pause a preemption at `now` closes the gate for.
fn pause_of(gate: &mut SpinGate, now: Instant) -> Duration {
    gate.preempted(now);
    gate.closed_until.expect("closed") - now
}

#[test]
fn pauses_double_while_preemptions_recur() {
    let mut gate = SpinGate::new(IDLE_SPIN);
    let mut now = Instant::now();
    let mut pauses = Vec::new();
    for _ in 0..10 {
        let pause = pause_of(&mut gate, now);
        pauses.push(pause);
        now += pause;
        assert_eq!(gate.budget(now), IDLE_SPIN, "reopens after the pause");
        // Many short spins end unpreempted before the next preemption, as
        // in a ping-pong: they must not shrink the pause.
        for _ in 0..1000 {
            gate.found_work();
        }
        now += Duration::from_millis(5);
    }
    assert_eq!(pauses[0], FIRST_PAUSE);
    assert_eq!(pauses[1], FIRST_PAUSE * 2);
    assert_eq!(pauses[2], FIRST_PAUSE * 4);
    assert_eq!(*pauses.last().expect("ten"), MAX_PAUSE);
}

#[test]
fn pauses_start_over_once_the_load_went() {
    let mut gate = SpinGate::new(IDLE_SPIN);
    let mut now = Instant::now();
    for _ in 0..10 {
        now += pause_of(&mut gate, now);
        assert_eq!(gate.budget(now), IDLE_SPIN);
    }
    // Open, unpreempted, for longer than the longest pause.
    now += MAX_PAUSE;
    assert_eq!(pause_of(&mut gate, now), FIRST_PAUSE);
}

#[test]
fn budget_halves_down_to_zero_on_spins_that_find_nothing() {
    let mut gate = SpinGate::new(IDLE_SPIN);
    let now = Instant::now();
    gate.timed_out();
    assert_eq!(gate.budget(now), IDLE_SPIN / 2);
    gate.timed_out();
    assert_eq!(gate.budget(now), IDLE_SPIN / 4);
    let mut spins = 2;
    while !gate.budget(now).is_zero() {
        assert!(gate.budget(now) >= MIN_BUDGET);
        gate.timed_out();
        spins += 1;
        assert!(spins < 64, "the budget never ran down");
    }
    // 50 µs halved six times is 0.78 µs, under the least worth spinning.
    assert_eq!(spins, 6);
}

#[test]
fn budget_grows_back_on_spins_that_find_work() {
    let mut gate = SpinGate::new(IDLE_SPIN);
    let now = Instant::now();
    for _ in 0..3 {
        gate.timed_out();
    }
    assert_eq!(gate.budget(now), IDLE_SPIN / 8);
    gate.found_work();
    assert_eq!(gate.budget(now), IDLE_SPIN / 4);
    for _ in 0..10 {
        gate.found_work();
    }
    assert_eq!(gate.budget(now), IDLE_SPIN, "no more than idle_spin");
}

#[test]
fn short_sleeps_grow_a_spent_budget_back() {
    let mut gate = SpinGate::new(IDLE_SPIN);
    let idle = Instant::now();
    for _ in 0..64 {
        gate.timed_out();
    }
    assert_eq!(gate.budget(idle), Duration::ZERO, "ran down");
    // Work that came after longer than a full spin: spinning would not
    // have found it.
    gate.slept(idle, idle + IDLE_SPIN);
    assert_eq!(gate.budget(idle), Duration::ZERO);
    // Work that came soon: a spin would have.
    gate.slept(idle, idle + Duration::from_micros(5));
    assert_eq!(gate.budget(idle), MIN_BUDGET);
    gate.slept(idle, idle + Duration::from_micros(5));
    assert_eq!(gate.budget(idle), MIN_BUDGET * 2);
}

#[test]
fn no_budget_without_idle_spin() {
    let mut gate = SpinGate::new(Duration::ZERO);
    let idle = Instant::now();
    assert_eq!(gate.budget(idle), Duration::ZERO);
    gate.found_work();
    gate.slept(idle, idle);
    assert_eq!(gate.budget(idle), Duration::ZERO);
}
