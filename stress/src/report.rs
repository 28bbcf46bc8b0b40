//! What a scenario reports, and the measuring tools the scenarios share.
//!
//! - [`Figure`] and [`Outcome`]: a scenario's named figures, or why it
//!   failed; `main.rs` prints them as a table and as JSON lines (for
//!   `RELIABILITY.md`).
//! - Formatting: [`count`], [`duration`], [`bytes`], [`percent`].
//! - [`Percentiles`] of a set of latencies.
//! - Memory: [`resident_bytes`] and [`peak_resident_bytes`] (from `/proc`),
//!   and [`heap`], an allocation-counting global allocator that tells how
//!   many heap bytes are live.
//! - [`Rng`]: a small seeded pseudo-random generator, and [`seed`], the
//!   run's seed (`KILN_STRESS_SEED` to repeat a run).
//! - [`run_bounded`]: runs a scenario's work on a thread of its own and gives
//!   up after a time limit, so a hang is reported rather than waited for.
//! - [`INJECTED_PANIC`]: the message of the panics scenarios inject, which
//!   the panic hook installed by `main.rs` keeps quiet.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// One measured figure of a scenario, e.g. `("restarts per second", "12,345")`.
#[derive(Clone, Debug)]
pub(crate) struct Figure {
    /// What was measured, with its unit.
    pub(crate) name: String,
    /// The value, formatted for people.
    pub(crate) value: String,
}

impl Figure {
    pub(crate) fn new(name: impl Into<String>, value: impl ToString) -> Figure {
        Figure {
            name: name.into(),
            value: value.to_string(),
        }
    }
}

/// The result of a scenario: its figures, or why it failed (a lost or
/// duplicated message, a hang, a leak, ...).
pub(crate) type Outcome = Result<Vec<Figure>, String>;

/// The message of panics that scenarios inject on purpose (`panic!("{}",
/// INJECTED_PANIC)`); the panic hook of `main.rs` does not print them.
pub(crate) const INJECTED_PANIC: &str = "kiln-stress: injected panic";

/// Whether a panic payload is an [`INJECTED_PANIC`].
pub(crate) fn is_injected_panic(payload: &(dyn std::any::Any + Send)) -> bool {
    payload
        .downcast_ref::<&str>()
        .is_some_and(|msg| *msg == INJECTED_PANIC)
        || payload
            .downcast_ref::<String>()
            .is_some_and(|msg| msg == INJECTED_PANIC)
}

/// `1234567` as `"1,234,567"`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A duration with a unit that suits it, to three significant digits:
/// `"850 ns"`, `"12.3 µs"`, `"4.56 ms"`, `"250 ms"`, `"7.89 s"`.
pub(crate) fn duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let (value, unit) = if ns < 1_000 {
        return format!("{ns} ns");
    } else if ns < 1_000_000 {
        (ns as f64 / 1e3, "µs")
    } else if ns < 1_000_000_000 {
        (ns as f64 / 1e6, "ms")
    } else {
        (ns as f64 / 1e9, "s")
    };
    if value >= 100.0 {
        format!("{value:.0} {unit}")
    } else if value >= 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

/// A number of bytes: `"512 B"`, `"1.5 KiB"`, `"12.3 MiB"`, `"1.02 GiB"`.
pub(crate) fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f < KIB {
        format!("{n} B")
    } else if f < KIB * KIB {
        format!("{:.1} KiB", f / KIB)
    } else if f < KIB * KIB * KIB {
        format!("{:.1} MiB", f / (KIB * KIB))
    } else {
        format!("{:.2} GiB", f / (KIB * KIB * KIB))
    }
}

/// A signed number of bytes, e.g. a change in memory: `"+1.5 KiB"`, `"-512 B"`.
pub(crate) fn signed_bytes(n: i64) -> String {
    let sign = if n < 0 { '-' } else { '+' };
    format!("{sign}{}", bytes(n.unsigned_abs()))
}

/// `part` of `whole` as a percentage with two decimals: `"1.02%"`.
pub(crate) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "n/a".to_owned();
    }
    format!("{:.2}%", part as f64 * 100.0 / whole as f64)
}

/// `n` events in `elapsed` as a rate: `"12,345 /s"`.
pub(crate) fn rate(n: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs == 0.0 {
        return "n/a".to_owned();
    }
    format!("{} /s", count((n as f64 / secs).round() as u64))
}

/// Percentiles of a set of durations.
#[derive(Clone, Debug, Default)]
pub(crate) struct Percentiles {
    sorted: Vec<Duration>,
}

impl Percentiles {
    /// Sorts `samples`.
    pub(crate) fn new(mut samples: Vec<Duration>) -> Percentiles {
        samples.sort_unstable();
        Percentiles { sorted: samples }
    }

    /// The `p`th percentile (0 to 100, nearest rank); zero without samples.
    pub(crate) fn get(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    /// The median.
    pub(crate) fn p50(&self) -> Duration {
        self.get(50.0)
    }

    /// The 99th percentile.
    pub(crate) fn p99(&self) -> Duration {
        self.get(99.0)
    }

    /// The largest sample.
    pub(crate) fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }

    /// `"p50 / p99 / max"`, formatted.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{} / {} / {}",
            duration(self.p50()),
            duration(self.p99()),
            duration(self.max())
        )
    }
}

/// The process's resident memory (RSS) now, from `/proc/self/statm`.
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

/// The process's peak resident memory (`VmHWM` in `/proc/self/status`),
/// since it started or since [`reset_peak_resident`].
pub(crate) fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak resident memory to the current one (writes `5` to
/// `/proc/self/clear_refs`, Linux 4.0 and later). Returns `false` if that is
/// not allowed here.
pub(crate) fn reset_peak_resident() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Gives the memory the allocator holds but does not use back to the
/// kernel (glibc's `malloc_trim`; nothing elsewhere), so that resident
/// memory measured after it shows what is in use.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn page_size() -> u64 {
    // SAFETY: `sysconf` has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
}

/// An allocation-counting global allocator: the system allocator, plus
/// counters of the bytes allocated and freed while counting is switched on
/// (with [`heap::Counting`]). Off, it costs one relaxed load per call.
pub(crate) mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    /// The allocator of the stress binary.
    #[global_allocator]
    static ALLOCATOR: CountingAllocator = CountingAllocator;

    static ON: AtomicBool = AtomicBool::new(false);
    static ALLOCATED: AtomicU64 = AtomicU64::new(0);
    static FREED: AtomicU64 = AtomicU64::new(0);

    struct CountingAllocator;

    // SAFETY: every call is forwarded to `System` unchanged; the counters
    // only observe.
    unsafe impl GlobalAlloc for CountingAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if ON.load(Ordering::Relaxed) {
                ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
            }
            // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if ON.load(Ordering::Relaxed) {
                FREED.fetch_add(layout.size() as u64, Ordering::Relaxed);
            }
            // SAFETY: the caller upholds `dealloc`'s contract, which we pass on.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            if ON.load(Ordering::Relaxed) {
                ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
            }
            // SAFETY: the caller upholds `alloc_zeroed`'s contract.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if ON.load(Ordering::Relaxed) {
                ALLOCATED.fetch_add(new_size as u64, Ordering::Relaxed);
                FREED.fetch_add(layout.size() as u64, Ordering::Relaxed);
            }
            // SAFETY: the caller upholds `realloc`'s contract, which we pass on.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// Counts allocations while it lives (one at a time).
    #[derive(Debug)]
    pub(crate) struct Counting(());

    impl Counting {
        /// Starts counting, from zero.
        pub(crate) fn start() -> Counting {
            ALLOCATED.store(0, Ordering::Relaxed);
            FREED.store(0, Ordering::Relaxed);
            ON.store(true, Ordering::SeqCst);
            Counting(())
        }

        /// Bytes allocated less bytes freed since counting started: the
        /// change in live heap memory (negative if memory allocated before
        /// was freed).
        pub(crate) fn live_change(&self) -> i64 {
            // Read `FREED` first: a concurrent allocation and free then
            // can only make the change look larger, never smaller.
            let freed = FREED.load(Ordering::SeqCst);
            let allocated = ALLOCATED.load(Ordering::SeqCst);
            allocated as i64 - freed as i64
        }
    }

    impl Drop for Counting {
        fn drop(&mut self) {
            ON.store(false, Ordering::SeqCst);
        }
    }
}

/// A small pseudo-random generator (SplitMix64): reproducible from its
/// seed, good enough to pick failures, deadlines and cancellations.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for stream `stream` of the run's [`seed`].
    pub(crate) fn new(stream: u64) -> Rng {
        let mut rng = Rng(seed() ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next_u64();
        rng
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// `true` with a probability of `percent` %.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A duration in `0..max`.
    pub(crate) fn duration_below(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.below(nanos))
    }
}

/// The seed of this run: `KILN_STRESS_SEED` if set, else made from the
/// clock; the same for the whole process.
pub(crate) fn seed() -> u64 {
    use std::sync::OnceLock;
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        std::env::var("KILN_STRESS_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            })
    })
}

static HUNG: AtomicBool = AtomicBool::new(false);

/// Whether a [`run_bounded`] call gave up on a hang; its thread (and
/// perhaps a runtime) still runs, so later figures would be skewed.
pub(crate) fn hung() -> bool {
    HUNG.load(Ordering::SeqCst)
}

/// Runs `work` on a thread of its own and waits for it at most `limit`.
///
/// Returns `work`'s result, `Err` with the panic's message if it panicked,
/// or `Err` saying that `what` hung if it did not finish in time (the
/// thread is left behind, and [`hung`] returns `true` from then on).
pub(crate) fn run_bounded<T, F>(what: &str, limit: Duration, work: F) -> Result<T, String>
where
    F: FnOnce() -> Result<T, String> + Send + 'static,
    T: Send + 'static,
{
    let (done, result) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name(format!("stress {what}"))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = done.send(outcome);
        });
    if let Err(err) = spawned {
        return Err(format!("{what}: can't start a thread: {err}"));
    }
    match result.recv_timeout(limit) {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(format!(
            "{what} panicked: {}",
            kiln::supervisor::panic_message(&*panic)
        )),
        Err(_) => {
            HUNG.store(true, Ordering::SeqCst);
            Err(format!(
                "{what} did not finish within {} (a hang: a lost wake-up or a call that never ends?)",
                duration(limit)
            ))
        }
    }
}

/// Fails with `message` unless `ok`; for a scenario's checks:
/// `check(lost == 0, || format!("{lost} messages lost"))?`.
pub(crate) fn check(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(message()) }
}

/// Escapes `s` as the contents of a JSON string.
pub(crate) fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                use fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(duration(Duration::from_micros(1500)), "1.50 ms");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(percent(1, 4), "25.00%");
        assert_eq!(json_escape("a\"b\\c\n"), "a\\\"b\\\\c\\n");
    }

    #[test]
    fn percentiles() {
        let p = Percentiles::new((1..=100).map(Duration::from_millis).collect());
        assert_eq!(p.p50(), Duration::from_millis(50));
        assert_eq!(p.p99(), Duration::from_millis(99));
        assert_eq!(p.max(), Duration::from_millis(100));
        assert_eq!(Percentiles::default().p99(), Duration::ZERO);
    }

    #[test]
    fn rng_is_in_range() {
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            assert!(rng.below(7) < 7);
        }
        let hits = (0..100_000).filter(|_| rng.chance(30)).count();
        assert!((27_000..33_000).contains(&hits), "{hits}");
    }
}
