//! The workers' poll clock: a cheap monotonic clock to time every poll.
//!
//! The scheduler charges each process the time its polls took (see
//! `scheduler`), and a worker ends its time slice by the clock, so a worker
//! reads a clock after every poll. `Instant::now` (`clock_gettime` through
//! the vDSO) cost about 17 ns a read on this 2-vCPU KVM machine, a tenth of
//! a ping-pong round trip between two actors (two polls): 24% of the
//! worker's time in a profile of that benchmark went to reading the clock.
//!
//! On x86-64 the CPU's time-stamp counter, read with `rdtsc`, is the same
//! clock without the kernel's conversion around it. It is used where it is
//! *invariant*: it ticks at one rate whatever the power state, and the
//! kernel trusts it as its own clock source (`/proc/cpuinfo` flags
//! `constant_tsc` and `nonstop_tsc`, and `tsc` as the current clock source,
//! which Linux only keeps while the counters of all CPUs agree). Its rate
//! is calibrated once per process against `Instant` over 2 ms of sleep;
//! ticks become nanoseconds with one multiplication. Anywhere else
//! (another architecture, a kernel that distrusts the counter) the clock
//! is `Instant`, counted in nanoseconds from an origin.
//!
//! The figures are for scheduling only: the timers, the metrics' times and
//! the traces' timestamps come from `Instant`. A worker that records a trace
//! times its polls with [`PollClock::tracing`], which reads `Instant`: a
//! trace converts each poll's ticks with [`PollClock::instant`], and ticks
//! converted at a calibrated rate drift from `Instant` (a rate off by 10⁻⁴
//! is 100 µs after a second), so polls would not enclose the user events
//! (timed with `Instant`) made inside them.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A reading of the [`PollClock`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Tick(u64);

impl Tick {
    /// The tick `ticks` after this one.
    pub(crate) const fn after(self, ticks: u64) -> Tick {
        Tick(self.0.saturating_add(ticks))
    }
}

/// The clock; [`PollClock::get`] returns the process's.
#[derive(Debug)]
pub(crate) struct PollClock {
    /// Nanoseconds per tick, in 32.32 fixed point; `None`: the ticks are
    /// nanoseconds since `origin`, read from `Instant`.
    tsc_scale: Option<u64>,
    /// The same moment as `origin_tick`.
    origin: Instant,
    origin_tick: Tick,
}

impl PollClock {
    /// The clock of this process, calibrated on first use.
    pub(crate) fn get() -> &'static PollClock {
        static CLOCK: OnceLock<PollClock> = OnceLock::new();
        CLOCK.get_or_init(PollClock::new)
    }

    /// The clock of workers that record a trace: `Instant`, so that the
    /// polls' times convert back exactly (see the module docs).
    pub(crate) fn tracing() -> &'static PollClock {
        static CLOCK: OnceLock<PollClock> = OnceLock::new();
        CLOCK.get_or_init(PollClock::instant_based)
    }

    fn new() -> PollClock {
        match tsc::calibrate() {
            Some((scale, origin, origin_tick)) => {
                log::debug!(
                    "poll clock: the time-stamp counter, {:.4} ns per tick",
                    scale as f64 / 4_294_967_296.0
                );
                PollClock {
                    tsc_scale: Some(scale),
                    origin,
                    origin_tick: Tick(origin_tick),
                }
            }
            None => {
                log::debug!("poll clock: Instant (no invariant time-stamp counter)");
                PollClock::instant_based()
            }
        }
    }

    /// A clock that reads `Instant`.
    fn instant_based() -> PollClock {
        PollClock {
            tsc_scale: None,
            origin: Instant::now(),
            origin_tick: Tick(0),
        }
    }

    /// The time now.
    #[inline]
    pub(crate) fn now(&self) -> Tick {
        if self.tsc_scale.is_some() {
            Tick(tsc::read())
        } else {
            Tick(nanos(self.origin.elapsed()))
        }
    }

    /// Nanoseconds from `start` to `end` (zero if `end` is earlier).
    #[inline]
    pub(crate) fn nanos_between(&self, start: Tick, end: Tick) -> u64 {
        let ticks = end.0.saturating_sub(start.0);
        match self.tsc_scale {
            Some(scale) => ((u128::from(ticks) * u128::from(scale)) >> 32) as u64,
            None => ticks,
        }
    }

    /// The ticks in `duration` (rounded down, at least one).
    pub(crate) fn ticks_in(&self, duration: Duration) -> u64 {
        let nanos = nanos(duration);
        match self.tsc_scale {
            Some(scale) => ((u128::from(nanos) << 32) / u128::from(scale.max(1)))
                .try_into()
                .unwrap_or(u64::MAX)
                .max(1),
            None => nanos.max(1),
        }
    }

    /// The `Instant` of `tick`, for traces.
    pub(crate) fn instant(&self, tick: Tick) -> Instant {
        let since = if tick >= self.origin_tick {
            self.nanos_between(self.origin_tick, tick)
        } else {
            0
        };
        self.origin + Duration::from_nanos(since)
    }
}

/// Nanoseconds in `duration`, saturating.
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(target_arch = "x86_64")]
mod tsc {
    //! The x86-64 time-stamp counter.

    use std::thread;
    use std::time::{Duration, Instant};

    /// The widest reading of a calibration pair: about 17 µs at 3 GHz. Each
    /// pair's midpoint is then off by at most half that, so the scale
    /// measured over 2 ms is off by at most about 1% (the poll clock only
    /// schedules; natively a pair takes a few hundred ticks).
    const MAX_PAIR_TICKS: u64 = 50_000;

    /// Reads the counter.
    #[inline]
    pub(super) fn read() -> u64 {
        // SAFETY: `rdtsc` has no preconditions; every x86-64 CPU has it.
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    /// The counter's scale (nanoseconds per tick, 32.32 fixed point) and an
    /// (`Instant`, tick) pair of one moment, if the counter is invariant.
    pub(super) fn calibrate() -> Option<(u64, Instant, u64)> {
        if !invariant() {
            return None;
        }
        let (start, start_tick) = pair()?;
        thread::sleep(Duration::from_millis(2));
        let (end, end_tick) = pair()?;
        let nanos = u64::try_from((end - start).as_nanos()).ok()?;
        let ticks = end_tick.checked_sub(start_tick).filter(|&t| t > 0)?;
        let scale = u64::try_from((u128::from(nanos) << 32) / u128::from(ticks)).ok()?;
        // Counters run at hundreds of MHz to a few GHz: between 0.1 and 10
        // ns per tick. Anything else is a broken calibration.
        let ns_per_tick = scale as f64 / 4_294_967_296.0;
        (0.1..=10.0)
            .contains(&ns_per_tick)
            .then_some((scale, start, start_tick))
    }

    /// An `Instant` and a counter reading taken together: the tightest of a
    /// hundred tries (the fewest ticks between the counter readings around
    /// the `Instant`), which must be under [`MAX_PAIR_TICKS`].
    ///
    /// Taking the first try under 500 ticks, as this did, failed when
    /// `Instant::now` is slow rather than preempted: under valgrind every
    /// try took thousands of ticks, so the clock fell back to `Instant` and
    /// callgrind counted some 110 instructions per poll for a clock the
    /// program does not read when it runs natively.
    fn pair() -> Option<(Instant, u64)> {
        let mut best: Option<(u64, Instant, u64)> = None;
        for _ in 0..100 {
            let before = read();
            let instant = Instant::now();
            let after = read();
            let window = after.wrapping_sub(before);
            if best.is_none_or(|(tightest, _, _)| window < tightest) {
                best = Some((window, instant, before.wrapping_add(window / 2)));
            }
            if window < 500 {
                break;
            }
        }
        best.filter(|&(window, _, _)| window < MAX_PAIR_TICKS)
            .map(|(_, instant, tick)| (instant, tick))
    }

    /// Whether the kernel says the counter is invariant and uses it.
    fn invariant() -> bool {
        let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else {
            return false;
        };
        let Some(flags) = cpuinfo.lines().find(|line| line.starts_with("flags")) else {
            return false;
        };
        let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
        let source = std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        );
        has("constant_tsc") && has("nonstop_tsc") && source.is_ok_and(|s| s.trim() == "tsc")
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod tsc {
    //! No time-stamp counter: the clock reads `Instant`.

    use std::time::Instant;

    pub(super) fn read() -> u64 {
        0
    }

    pub(super) fn calibrate() -> Option<(u64, Instant, u64)> {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::{Duration, Instant};

    use super::PollClock;

    /// The clock agrees with `Instant` to within 2% over 20 ms, whichever
    /// kind it is.
    fn agrees_with_instant(clock: &PollClock) {
        let start = (Instant::now(), clock.now());
        thread::sleep(Duration::from_millis(20));
        let end = (Instant::now(), clock.now());
        let expected = (end.0 - start.0).as_nanos() as f64;
        let measured = clock.nanos_between(start.1, end.1) as f64;
        assert!(
            (measured / expected - 1.0).abs() < 0.02,
            "{measured} ns measured, {expected} ns by Instant ({clock:?})"
        );
        let instant = clock.instant(end.1);
        let off = instant.max(end.0) - instant.min(end.0);
        assert!(off < Duration::from_micros(500), "{off:?} off ({clock:?})");
    }

    #[test]
    fn the_process_clock_measures_like_instant() {
        agrees_with_instant(PollClock::get());
    }

    #[test]
    fn the_instant_based_clock_measures_like_instant() {
        agrees_with_instant(&PollClock::instant_based());
    }

    #[test]
    fn ticks_in_a_duration_measure_that_duration() {
        for clock in [PollClock::get(), &PollClock::instant_based()] {
            let start = clock.now();
            let ticks = clock.ticks_in(Duration::from_millis(2));
            let nanos = clock.nanos_between(start, start.after(ticks));
            assert!(
                (1_999_000..=2_000_000).contains(&nanos),
                "{nanos} ({clock:?})"
            );
            assert_eq!(clock.ticks_in(Duration::ZERO), 1);
        }
    }

    /// Regression test for traces whose polls did not enclose the user
    /// events made inside them (`rt/tests/trace.rs` failed now and then):
    /// the tracing clock's ticks convert to exactly the `Instant` they were
    /// read at, also long after the clock's origin.
    #[test]
    fn tracing_clock_converts_back_to_the_instant_it_was_read_at() {
        let clock = PollClock::tracing();
        for _ in 0..3 {
            let before = Instant::now();
            let tick = clock.now();
            let after = Instant::now();
            let at = clock.instant(tick);
            assert!(
                before <= at && at <= after,
                "{before:?} <= {at:?} <= {after:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn an_earlier_end_is_no_time() {
        let clock = PollClock::get();
        let now = clock.now();
        assert_eq!(clock.nanos_between(now.after(1_000), now), 0);
    }
}
