//! The memory budget on its own: limits held exactly, buffers followed by
//! their reservation, everything given back, and the limit held under
//! concurrent growth.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use super::MemoryBudget;

#[test]
fn grow_within_the_limit_and_refuse_past_it() {
    let budget = MemoryBudget::new(1000);
    let mut one = budget.reservation();
    let mut two = budget.reservation();
    one.try_grow(600).unwrap();
    two.try_grow(400).unwrap();
    assert_eq!(budget.used(), 1000);
    assert_eq!(budget.available(), 0);
    let err = one.try_grow(1).unwrap_err();
    assert_eq!((err.asked(), err.available(), err.limit()), (1, 0, 1000));
    assert_eq!(
        err.to_string(),
        "memory budget exceeded: 1 more bytes asked for, 0 of 1000 left"
    );
    assert_eq!(one.bytes(), 600, "a refused growth changed the reservation");
    two.shrink(150);
    one.try_grow(150).unwrap();
    // Shrinking more than held gives back what is held.
    two.shrink(10_000);
    assert_eq!(two.bytes(), 0);
    assert_eq!(budget.used(), 750);
    drop(one);
    assert_eq!(budget.used(), 0);
    // Overflowing sizes are refused, not wrapped.
    let mut three = budget.reservation();
    three.try_grow(10).unwrap();
    assert!(three.try_grow(usize::MAX).is_err());
    assert_eq!(budget.used(), 10);
}

#[test]
fn buffers_grow_by_doubling_then_exactly_near_the_limit() {
    let budget = MemoryBudget::new(100_000);
    let mut reservation = budget.reservation();
    let mut buf = Vec::new();
    reservation.try_reserve(&mut buf, 1_000).unwrap();
    assert_eq!(buf.capacity(), 1_000);
    buf.resize(1_000, 7);
    // Doubles (2,000) rather than growing by 500.
    reservation.try_reserve(&mut buf, 500).unwrap();
    assert_eq!(buf.capacity(), 2_000);
    assert_eq!(reservation.bytes(), buf.capacity());
    // More than doubling asks for: exactly that.
    buf.resize(2_000, 7);
    reservation.try_reserve(&mut buf, 38_000).unwrap();
    assert_eq!(buf.capacity(), 40_000);
    buf.resize(40_000, 7);
    assert_eq!(budget.used(), 40_000);
    // Doubling to 80,000 fits; the next doubling does not, but what is
    // needed does.
    reservation.try_reserve(&mut buf, 10_000).unwrap();
    assert_eq!(buf.capacity(), 80_000);
    buf.resize(80_000, 7);
    reservation.try_reserve(&mut buf, 15_000).unwrap();
    assert_eq!(buf.capacity(), 95_000);
    assert_eq!(budget.used(), 95_000);
    // Past the limit: refused, the buffer untouched.
    buf.resize(95_000, 7);
    let err = reservation.try_reserve(&mut buf, 10_000).unwrap_err();
    assert_eq!(err.available(), 5_000);
    assert_eq!(buf.capacity(), 95_000);
    assert_eq!(budget.used(), 95_000);
    // Room already there: nothing taken.
    buf.truncate(10);
    reservation.try_reserve(&mut buf, 1_000).unwrap();
    assert_eq!(budget.used(), 95_000);
    // Shrinking gives the difference back.
    reservation.shrink_to(&mut buf, 4_096);
    assert_eq!(buf.capacity(), 4_096);
    assert_eq!(budget.used(), 4_096);
    assert_eq!(reservation.bytes(), 4_096);
    drop(reservation);
    assert_eq!(budget.used(), 0);
}

#[test]
fn the_limit_holds_under_concurrent_growth() {
    const LIMIT: usize = 1 << 20;
    let budget = MemoryBudget::new(LIMIT);
    let refused = AtomicUsize::new(0);
    thread::scope(|scope| {
        for seed in 0..4_usize {
            let budget = budget.clone();
            let refused = &refused;
            scope.spawn(move || {
                let mut reservation = budget.reservation();
                let mut buf = Vec::new();
                for round in 0..2_000 {
                    let additional = ((round * 7_919 + seed * 104_729) % 65_536) + 1;
                    if reservation.try_reserve(&mut buf, additional).is_err() {
                        refused.fetch_add(1, Ordering::Relaxed);
                        reservation.shrink_to(&mut buf, 0);
                        buf.clear();
                        continue;
                    }
                    buf.resize(buf.len() + additional, 1);
                    assert!(budget.used() <= LIMIT, "over the limit: {}", budget.used());
                    assert_eq!(reservation.bytes(), buf.capacity());
                    if round % 16 == 0 {
                        buf.clear();
                        reservation.shrink_to(&mut buf, 0);
                    }
                }
            });
        }
    });
    assert_eq!(budget.used(), 0);
    assert!(
        refused.load(Ordering::Relaxed) > 0,
        "the test never reached the limit"
    );
}
