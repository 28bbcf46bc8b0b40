//! Measurements: samples, their median, minimum and maximum, printed as JSON
//! lines and as a table with each system's ratio to kiln.

use std::fs;
use std::time::{Duration, Instant};

/// The samples of one metric of one workload and system.
pub(crate) struct Measurement {
    workload: &'static str,
    system: String,
    metric: &'static str,
    samples: Vec<f64>,
}

impl Measurement {
    pub(crate) fn new(
        workload: &'static str,
        system: &str,
        metric: &'static str,
        mut samples: Vec<f64>,
    ) -> Measurement {
        samples.sort_by(f64::total_cmp);
        Measurement {
            workload,
            system: system.to_owned(),
            metric,
            samples,
        }
    }

    pub(crate) fn median(&self) -> f64 {
        let n = self.samples.len();
        if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            self.samples[n / 2]
        } else {
            (self.samples[n / 2 - 1] + self.samples[n / 2]) / 2.0
        }
    }

    pub(crate) fn json(&self) -> String {
        /// A figure, `null` if there is none (JSON has no `NaN`).
        fn figure(value: Option<f64>) -> String {
            match value {
                Some(value) if value.is_finite() => format!("{value:.*}", decimals(value)),
                _ => "null".to_owned(),
            }
        }
        format!(
            r#"{{"workload":"{}","system":"{}","metric":"{}","value":{},"runs":{},"min":{},"max":{}}}"#,
            self.workload,
            self.system,
            self.metric,
            figure(Some(self.median())),
            self.samples.len(),
            figure(self.samples.first().copied()),
            figure(self.samples.last().copied()),
        )
    }
}

/// Prints each metric's medians with their ratio to kiln's.
pub(crate) fn print_table(results: &[Measurement]) {
    println!(
        "\n{:<12} {:<25} {:<12} {:>14} {:>10}",
        "load", "metric", "system", "median", "vs kiln"
    );
    for result in results {
        let kiln = results
            .iter()
            .find(|r| {
                r.workload == result.workload && r.metric == result.metric && r.system == "kiln"
            })
            .map(Measurement::median);
        let ratio = kiln.map_or(String::from("-"), |kiln| {
            format!("{:.2}x", result.median() / kiln)
        });
        let median = result.median();
        println!(
            "{:<12} {:<25} {:<12} {:>14.*} {:>10}",
            result.workload,
            result.metric,
            result.system,
            decimals(median),
            median,
            ratio
        );
    }
}

/// The decimals a figure is printed with: two below 10 (W8's pipelined
/// runs take about 1 µs of CPU per request, where one decimal is a tenth
/// of the figure), one above.
fn decimals(value: f64) -> usize {
    if value.abs() < 10.0 { 2 } else { 1 }
}

/// The resident set size of this process in bytes (from /proc/self/statm).
pub(crate) fn resident_bytes() -> Result<f64, String> {
    let statm = fs::read_to_string("/proc/self/statm").map_err(|err| err.to_string())?;
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .ok_or("malformed /proc/self/statm")?
        .parse()
        .map_err(|err: std::num::ParseFloatError| err.to_string())?;
    Ok(pages * 4096.0)
}

/// Wall-clock and CPU time since it started: the CPU time is the whole
/// process's (every thread, user and system), so a workload's figure
/// includes what its runtime's other threads spend meanwhile (spinning,
/// waking each other), which the wall clock does not show.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Stopwatch {
    wall: Instant,
    cpu: Duration,
}

impl Stopwatch {
    /// Starts it now.
    pub(crate) fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: process_cpu_time(),
        }
    }

    /// The wall-clock and CPU nanoseconds since the start, each divided by
    /// `n` (per round trip, per call).
    pub(crate) fn per(&self, n: u64) -> (f64, f64) {
        let n = n.max(1) as f64;
        let wall = self.wall.elapsed().as_nanos() as f64;
        let cpu = process_cpu_time().saturating_sub(self.cpu).as_nanos() as f64;
        (wall / n, cpu / n)
    }
}

/// The CPU time this process (all its threads) has used so far, to the
/// nanosecond (`CLOCK_PROCESS_CPUTIME_ID`, not the 10 ms ticks of
/// /proc/self/stat: a quick run lasts tens of milliseconds).
fn process_cpu_time() -> Duration {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable `timespec`; the clock exists on
    // every Linux since 2.6.12.
    let result = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut time) };
    if result != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(time.tv_sec).unwrap_or(0),
        u32::try_from(time.tv_nsec).unwrap_or(0),
    )
}
