//! Tests of the timing wheel: exactness, ordering, cancellation, levels, a model-based test and a
//! million timers.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use super::{LEVELS, OVERFLOW, RELEASE_ENTRIES, SLOTS, TimerToken, TimingWheel};

/// Records the ids of woken wakers, in wake order.
#[derive(Default)]
struct Log(Mutex<Vec<u64>>);

impl Log {
    fn waker(self: &Arc<Self>, id: u64) -> Waker {
        Waker::from(Arc::new(Tag {
            id,
            log: Arc::clone(self),
        }))
    }

    fn take(&self) -> Vec<u64> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Tag {
    id: u64,
    log: Arc<Log>,
}

impl Wake for Tag {
    fn wake(self: Arc<Self>) {
        self.log.0.lock().unwrap().push(self.id);
    }
}

/// Counts wakes; one waker shared by many timers.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn us(micros: u64) -> Duration {
    Duration::from_micros(micros)
}

/// The level (or `LEVELS` for overflow) a pending timer is filed at.
fn level_of(wheel: &TimingWheel, token: TimerToken) -> usize {
    let list = usize::from(wheel.entries[token.index as usize].list);
    if list == OVERFLOW {
        LEVELS
    } else {
        list / SLOTS
    }
}

#[test]
fn never_early_and_every_timer_fires() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    let offsets = [
        0, 1, 300, 999, 1_000, 1_001, 1_200, 1_500, 5_300, 5_700, 63_999, 64_000, 70_123,
    ];
    let mut deadlines = HashMap::new();
    for (id, &offset) in (0..).zip(offsets.iter().rev()) {
        let deadline = base + us(offset);
        let _ = wheel.add(deadline, log.waker(id));
        let _ = deadlines.insert(id, deadline);
    }
    let mut now = base;
    while now <= base + us(71_000) {
        let woken = wheel.expire(now);
        let ids = log.take();
        assert_eq!(woken, ids.len());
        for id in &ids {
            let deadline = deadlines.remove(id).expect("woken twice");
            assert!(deadline <= now, "timer {id} woken early");
        }
        // Within one call, wakers are woken in deadline order.
        let order: Vec<u64> = ids
            .iter()
            .map(|id| offsets[offsets.len() - 1 - *id as usize])
            .collect();
        assert!(order.is_sorted(), "{order:?}");
        // Every due timer was woken.
        assert!(deadlines.values().all(|&deadline| deadline > now));
        now += us(250);
    }
    assert!(deadlines.is_empty());
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_deadline(), None);
}

#[test]
fn one_expire_wakes_in_deadline_order() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    let mut rng = Rng(7);
    // Random deadlines over 20 s (levels 0 to 2), many sharing a millisecond.
    let deadlines: Vec<Instant> = (0..2_000)
        .map(|_| base + us(rng.below(20) * 1_000_000 + rng.below(1_000)))
        .collect();
    for (id, &deadline) in (0..).zip(&deadlines) {
        let _ = wheel.add(deadline, log.waker(id));
    }
    assert_eq!(
        wheel.expire(base + ms(10_000)),
        deadlines
            .iter()
            .filter(|&&d| d <= base + ms(10_000))
            .count()
    );
    assert_eq!(
        wheel.expire(base + ms(20_000)),
        deadlines.iter().filter(|&&d| d > base + ms(10_000)).count()
    );
    let woken: Vec<Instant> = log
        .take()
        .into_iter()
        .map(|id| deadlines[id as usize])
        .collect();
    assert_eq!(woken.len(), deadlines.len());
    assert!(woken.is_sorted());
}

#[test]
fn remove_cancels_and_stale_tokens_are_refused() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    let a = wheel.add(base + ms(10), log.waker(0));
    let b = wheel.add(base + ms(10), log.waker(1));
    let c = wheel.add(base + ms(20), log.waker(2));
    assert_eq!(wheel.len(), 3);
    assert!(wheel.remove(b));
    assert!(!wheel.remove(b), "removed twice");
    assert_eq!(wheel.len(), 2);
    assert_eq!(wheel.expire(base + ms(30)), 2);
    let mut woken = log.take();
    woken.sort_unstable();
    assert_eq!(woken, [0, 2]);
    assert!(!wheel.remove(a), "removed after firing");
    assert!(!wheel.remove(c), "removed after firing");

    // A token whose entry was reused by a later timer.
    let d = wheel.add(base + ms(40), log.waker(3));
    assert!(wheel.remove(d));
    let e = wheel.add(base + ms(40), log.waker(4));
    assert_eq!(e.index, d.index, "the test means to reuse the entry");
    assert!(!wheel.remove(d));
    assert_eq!(wheel.len(), 1);
    assert!(wheel.remove(e));
    assert_eq!(wheel.expire(base + ms(50)), 0);
    assert!(log.take().is_empty());
    assert!(wheel.is_empty());
}

#[test]
fn remove_keeps_the_other_timers_of_a_slot() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    let tokens: Vec<_> = (0..5)
        .map(|id| wheel.add(base + ms(7), log.waker(id)))
        .collect();
    // Head, middle and tail of the slot's list.
    assert!(wheel.remove(tokens[4]));
    assert!(wheel.remove(tokens[2]));
    assert!(wheel.remove(tokens[0]));
    assert_eq!(wheel.expire(base + ms(7)), 2);
    let mut woken = log.take();
    woken.sort_unstable();
    assert_eq!(woken, [1, 3]);
}

#[test]
fn update_waker_replaces_the_waker() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    let token = wheel.add(base + ms(5), log.waker(0));
    let new = log.waker(1);
    assert!(wheel.update_waker(token, &new));
    // The same waker again: kept (`will_wake`), still true.
    assert!(wheel.update_waker(token, &new.clone()));
    assert_eq!(wheel.expire(base + ms(5)), 1);
    assert_eq!(log.take(), [1]);
    assert!(!wheel.update_waker(token, &new), "updated after firing");
    assert!(!wheel.update_waker(
        TimerToken {
            index: 99,
            generation: 0
        },
        &new
    ));
}

#[test]
fn next_deadline_is_exact_and_never_busy_loops() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    let _ = wheel.add(base + us(5_300), log.waker(0));
    let _ = wheel.add(base + us(5_700), log.waker(1));
    let _ = wheel.add(base + ms(3_000), log.waker(2));
    assert_eq!(wheel.next_deadline(), Some(base + us(5_300)));
    // Same millisecond, before both.
    assert_eq!(wheel.expire(base + us(5_100)), 0);
    assert_eq!(wheel.next_deadline(), Some(base + us(5_300)));
    assert_eq!(wheel.expire(base + us(5_300)), 1);
    assert_eq!(wheel.next_deadline(), Some(base + us(5_700)));
    assert_eq!(wheel.expire(base + us(5_699)), 0);
    assert!(wheel.next_deadline().unwrap() > base + us(5_699));
    assert_eq!(wheel.expire(base + us(5_700)), 1);
    // Now the only timer is at level 1; its deadline is still exact.
    assert_eq!(wheel.next_deadline(), Some(base + ms(3_000)));
    assert_eq!(wheel.expire(base + ms(3_000) - Duration::from_nanos(1)), 0);
    assert_eq!(wheel.next_deadline(), Some(base + ms(3_000)));
    assert_eq!(wheel.expire(base + ms(3_000)), 1);
    assert_eq!(log.take(), [0, 1, 2]);
    assert_eq!(wheel.next_deadline(), None);
}

#[test]
fn next_deadline_after_removing_the_earliest_is_early_not_late() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    // Both in one level-2 slot.
    let first = wheel.add(base + ms(10_000), log.waker(0));
    let _ = wheel.add(base + ms(11_000), log.waker(1));
    assert!(wheel.remove(first));
    let early = wheel.next_deadline().unwrap();
    assert!(early <= base + ms(11_000));
    // One spurious wake-up, after which the deadline is exact.
    assert_eq!(wheel.expire(early), 0);
    assert_eq!(wheel.next_deadline(), Some(base + ms(11_000)));
}

#[test]
fn deadlines_span_every_level_and_the_overflow() {
    const DAY: u64 = 86_400_000;
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    let cases = [
        (1, 0),
        (50, 0),
        (100, 1),
        (3_000, 1),
        (5_000, 2),
        (240_000, 2),
        (300_000, 3),
        (3 * 3_600_000, 3),
        (5 * 3_600_000, 4),
        (2 * DAY, 4),
        (13 * DAY, LEVELS),
        (30 * DAY, LEVELS),
        (400 * DAY, LEVELS),
    ];
    for (id, &(millis, level)) in (0..).zip(&cases) {
        // A sub-millisecond part, so exactness is tested too.
        let token = wheel.add(base + ms(millis) + us(321), log.waker(id));
        assert_eq!(level_of(&wheel, token), level, "{millis} ms");
    }
    // A worker that sleeps until the next deadline: each wake-up fires exactly one timer.
    for (id, &(millis, _)) in (0..).zip(&cases) {
        let deadline = base + ms(millis) + us(321);
        assert_eq!(wheel.next_deadline(), Some(deadline), "{millis} ms");
        assert_eq!(
            wheel.expire(deadline - Duration::from_nanos(1)),
            0,
            "{millis} ms"
        );
        assert_eq!(wheel.expire(deadline), 1, "{millis} ms");
        assert_eq!(log.take(), [id]);
    }
    assert!(wheel.is_empty());
}

#[test]
fn overflow_timers_fire_after_a_long_jump() {
    const DAY: u64 = 86_400_000;
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    for (id, days) in (0..).zip([15, 40, 41, 90]) {
        let _ = wheel.add(base + ms(days * DAY), log.waker(id));
    }
    // One expire far past two of them.
    assert_eq!(wheel.expire(base + ms(41 * DAY)), 3);
    assert_eq!(log.take(), [0, 1, 2]);
    assert_eq!(wheel.next_deadline(), Some(base + ms(90 * DAY)));
    assert_eq!(wheel.expire(base + ms(90 * DAY)), 1);
}

#[test]
fn near_deadline_across_a_block_boundary() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    let block_end = base + ms(1 << 30);
    assert_eq!(wheel.expire(block_end - ms(1)), 0);
    // Two milliseconds ahead, but in the next block: kept in the overflow list.
    let token = wheel.add(block_end + ms(1), log.waker(0));
    assert_eq!(level_of(&wheel, token), LEVELS);
    assert_eq!(wheel.next_deadline(), Some(block_end + ms(1)));
    assert_eq!(wheel.expire(block_end), 0);
    assert_eq!(level_of(&wheel, token), 0);
    assert_eq!(wheel.next_deadline(), Some(block_end + ms(1)));
    assert_eq!(wheel.expire(block_end + ms(1)), 1);
    assert_eq!(log.take(), [0]);
}

#[test]
fn past_deadlines_fire_on_the_next_expire() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base + ms(1_000));
    let log = Arc::new(Log::default());
    let now = base + ms(11_000);
    assert_eq!(wheel.expire(now), 0);
    let _ = wheel.add(base + ms(2_000), log.waker(0));
    // Before the wheel's origin.
    let _ = wheel.add(base, log.waker(1));
    let _ = wheel.add(now, log.waker(2));
    assert!(wheel.next_deadline().unwrap() <= now);
    assert_eq!(wheel.expire(now), 3);
    let mut woken = log.take();
    woken.sort_unstable();
    assert_eq!(woken, [0, 1, 2]);
}

#[test]
fn time_going_backwards_breaks_nothing() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    assert_eq!(wheel.expire(base + ms(300)), 0);
    let _ = wheel.add(base + ms(260), log.waker(0));
    let _ = wheel.add(base + us(300_500), log.waker(1));
    // Earlier than before: neither is due at this `now`.
    assert_eq!(wheel.expire(base + ms(250)), 0);
    assert_eq!(wheel.expire(base + ms(270)), 1);
    assert_eq!(log.take(), [0]);
    assert_eq!(wheel.expire(base + us(300_400)), 0);
    assert_eq!(wheel.next_deadline(), Some(base + us(300_500)));
    assert_eq!(wheel.expire(base + us(300_500)), 1);
    assert_eq!(log.take(), [1]);
}

#[test]
fn empty_wheel_releases_its_slab_and_old_tokens_stay_stale() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&count));
    let empty = wheel.memory_bytes();
    let tokens: Vec<_> = (0..RELEASE_ENTRIES as u64 * 2)
        .map(|i| wheel.add(base + ms(i % 100), waker.clone()))
        .collect();
    assert!(wheel.memory_bytes() > empty);
    assert_eq!(wheel.expire(base + ms(100)), tokens.len());
    assert_eq!(wheel.memory_bytes(), empty);
    // New timers reuse indexes, never generations.
    let fresh: Vec<_> = (0..10)
        .map(|_| wheel.add(base + ms(200), waker.clone()))
        .collect();
    for token in &tokens[..10] {
        assert!(!fresh.contains(token));
        assert!(!wheel.remove(*token));
        assert!(!wheel.update_waker(*token, &waker));
    }
    assert_eq!(wheel.len(), 10);
}

#[test]
fn debug_does_not_list_entries() {
    let base = Instant::now();
    let mut wheel = TimingWheel::new(base);
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let _ = wheel.add(base + ms(1), Waker::from(count));
    let debug = format!("{wheel:?}");
    assert!(debug.starts_with("TimingWheel { len: 1,"), "{debug}");
}

/// Random adds, removes, waker updates and expires (with time sometimes going backwards),
/// checked against a `BTreeMap` of what should be pending.
#[test]
fn randomized_against_a_model() {
    for seed in [1, 2, 3, 0x9E37_79B9_7F4A_7C15] {
        run_model(seed, 20_000);
    }
}

fn run_model(seed: u64, steps: usize) {
    let base = Instant::now();
    let mut rng = Rng(seed);
    let mut wheel = TimingWheel::new(base);
    let log = Arc::new(Log::default());
    // (deadline, id) -> token; and id -> (deadline, token) for lookups.
    let mut model: BTreeMap<(Instant, u64), TimerToken> = BTreeMap::new();
    let mut by_id: HashMap<u64, Instant> = HashMap::new();
    let mut stale: Vec<TimerToken> = Vec::new();
    let mut now = base;
    let mut next_id = 0;
    let mut fired = 0;
    for step in 0..steps {
        match rng.below(100) {
            0..45 => {
                let scale = [
                    1,
                    1_000,
                    64_000,
                    4_096_000,
                    300_000_000,
                    20_000_000_000,
                    100_000_000_000,
                ][rng.below(7) as usize];
                let ahead = Duration::from_micros(rng.below(scale));
                let deadline = if rng.below(20) == 0 {
                    now.checked_sub(ahead).unwrap_or(base)
                } else {
                    now + ahead
                };
                let id = next_id;
                next_id += 1;
                let token = wheel.add(deadline, log.waker(id));
                let _ = model.insert((deadline, id), token);
                let _ = by_id.insert(id, deadline);
            }
            45..65 if !model.is_empty() => {
                let nth = rng.below(model.len() as u64) as usize;
                let (&key, &token) = model.iter().nth(nth).unwrap();
                assert!(wheel.remove(token), "step {step}");
                let _ = model.remove(&key);
                let _ = by_id.remove(&key.1);
                stale.push(token);
            }
            65..70 if !stale.is_empty() => {
                let token = stale[rng.below(stale.len() as u64) as usize];
                assert!(!wheel.remove(token), "step {step}");
                assert!(
                    !wheel.update_waker(token, &log.waker(u64::MAX)),
                    "step {step}"
                );
            }
            70..75 if !model.is_empty() => {
                let nth = rng.below(model.len() as u64) as usize;
                let (&(_, id), &token) = model.iter().nth(nth).unwrap();
                assert!(wheel.update_waker(token, &log.waker(id)), "step {step}");
            }
            _ => {
                let scale = [1, 1_000, 50_000, 5_000_000, 600_000_000, 30_000_000_000]
                    [rng.below(6) as usize];
                let step_by = Duration::from_micros(rng.below(scale));
                if rng.below(10) == 0 {
                    now = now.checked_sub(step_by).unwrap_or(base).max(base);
                } else {
                    now += step_by;
                }
                let woken = wheel.expire(now);
                let ids = log.take();
                assert_eq!(woken, ids.len(), "step {step}");
                let due: Vec<(Instant, u64)> = model
                    .range(..=(now, u64::MAX))
                    .map(|(&key, _)| key)
                    .collect();
                assert_eq!(ids.len(), due.len(), "step {step}");
                for id in ids {
                    let deadline = by_id.remove(&id).expect("woken twice or cancelled");
                    assert!(deadline <= now, "step {step}: woken early");
                    let token = model.remove(&(deadline, id)).unwrap();
                    stale.push(token);
                }
                fired += woken;
                if let Some(next) = wheel.next_deadline() {
                    assert!(next > now, "step {step}: would busy-loop");
                }
            }
        }
        assert_eq!(wheel.len(), model.len(), "step {step}");
        match (wheel.next_deadline(), model.keys().next()) {
            (None, None) => {}
            (Some(next), Some(&(earliest, _))) => assert!(next <= earliest, "step {step}: late"),
            (next, earliest) => panic!("step {step}: {next:?} vs {earliest:?}"),
        }
        if stale.len() > 1_000 {
            let _ = stale.drain(..500);
        }
    }
    // Drain: a worker sleeping until each next deadline fires everything, never early.
    let mut wake_ups = 0;
    while let Some(next) = wheel.next_deadline() {
        now = now.max(next);
        fired += wheel.expire(now);
        for id in log.take() {
            assert!(by_id.remove(&id).unwrap() <= now);
        }
        wake_ups += 1;
        assert!(wake_ups <= 2 * next_id as usize + 10, "busy loop");
    }
    assert!(by_id.is_empty());
    assert!(wheel.is_empty());
    assert!(fired > 0);
}

/// A million timers with deadlines spread over an hour: add them, cancel half, expire the rest.
/// Prints the figures (run with `--release -- --nocapture` for meaningful times).
#[test]
fn million_timers() {
    const N: usize = 1_000_000;
    let base = Instant::now();
    let mut rng = Rng(42);
    let mut wheel = TimingWheel::new(base);
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&count));
    let deadlines: Vec<Instant> = (0..N)
        .map(|_| base + Duration::from_micros(rng.below(3_600_000_000)))
        .collect();

    let start = Instant::now();
    let tokens: Vec<TimerToken> = deadlines
        .iter()
        .map(|&deadline| wheel.add(deadline, waker.clone()))
        .collect();
    let add = start.elapsed();
    assert_eq!(wheel.len(), N);
    let bytes = wheel.memory_bytes();
    let earliest = deadlines.iter().min().copied();
    assert_eq!(wheel.next_deadline(), earliest);

    let start = Instant::now();
    for token in tokens.iter().step_by(2) {
        assert!(wheel.remove(*token));
    }
    let remove = start.elapsed();
    assert_eq!(wheel.len(), N / 2);

    let start = Instant::now();
    let woken = wheel.expire(base + Duration::from_secs(3_600));
    let expire = start.elapsed();
    assert_eq!(woken, N / 2);
    assert_eq!(count.0.load(Ordering::Relaxed), N / 2);
    assert!(wheel.is_empty());
    assert!(!wheel.remove(tokens[1]));

    let per = |d: Duration| d.as_nanos() as f64 / (N / 2) as f64;
    println!(
        "million_timers: add {N}: {add:?} ({:.0} ns each); remove {}: {remove:?} ({:.0} ns each); \
         expire {}: {expire:?} ({:.0} ns each); {bytes} bytes = {:.1} bytes per pending timer \
         (entry {} bytes); {} bytes once empty",
        per(add) / 2.0,
        N / 2,
        per(remove),
        N / 2,
        per(expire),
        bytes as f64 / N as f64,
        size_of::<super::Entry>(),
        wheel.memory_bytes(),
    );
}
