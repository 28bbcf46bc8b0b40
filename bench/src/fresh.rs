//! Where each run is measured: in this process, or in a fresh process per
//! run (`--fresh`).
//!
//! # Why fresh processes
//!
//! Run one after another in one process, later runs reuse a heap that earlier
//! ones grew (and fragmented), while a first run pays the page faults of
//! growing it. Page faults are expensive on this machine: tokio's skynet took
//! 687 ms in the suite's process and 867 ms in a fresh one (issue 20). So a
//! figure measured in-process depends on what ran before it. With `--fresh`
//! every run of every system starts from an empty heap, as a program using
//! the system would, and the order of the workloads no longer matters.
//!
//! # How
//!
//! The parent does the bookkeeping as before (rounds, medians, the table);
//! for each run it starts this binary again as
//! `kiln-bench --child sample WORKLOAD SYSTEM quick|full`, which runs the
//! suite with `--only WORKLOAD --systems SYSTEM`, one run, and prints that
//! run's figures on one line of its standard output, after [`SAMPLE_TAG`].
//! The child goes through the same code as an in-process run, so the two
//! measure the same thing.

use std::env;
use std::process::Command;

/// What starts the line of a child's figures.
const SAMPLE_TAG: &str = "kiln-bench-sample:";

/// Where runs are measured.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every run in this process, one after another.
    InProcess,
    /// Every run in a fresh child process (`--fresh`).
    Fresh,
    /// This is such a child: one run, whose figures are printed.
    Child,
}

/// The figures of one run: one number per metric.
pub(crate) trait Sample: Sized {
    /// The figures, in the order of the workload's metrics.
    fn numbers(&self) -> Vec<f64>;

    /// The sample of `numbers`, or `None` if there are not as many as it
    /// has figures.
    fn from_numbers(numbers: &[f64]) -> Option<Self>;
}

impl Sample for f64 {
    fn numbers(&self) -> Vec<f64> {
        vec![*self]
    }

    fn from_numbers(numbers: &[f64]) -> Option<f64> {
        match numbers {
            [a] => Some(*a),
            _ => None,
        }
    }
}

impl Sample for (f64, f64, f64) {
    fn numbers(&self) -> Vec<f64> {
        vec![self.0, self.1, self.2]
    }

    fn from_numbers(numbers: &[f64]) -> Option<(f64, f64, f64)> {
        match numbers {
            [a, b, c] => Some((*a, *b, *c)),
            _ => None,
        }
    }
}

impl Sample for (f64, f64) {
    fn numbers(&self) -> Vec<f64> {
        vec![self.0, self.1]
    }

    fn from_numbers(numbers: &[f64]) -> Option<(f64, f64)> {
        match numbers {
            [a, b] => Some((*a, *b)),
            _ => None,
        }
    }
}

/// Measures runs where [`Mode`] says.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Sampler {
    pub(crate) mode: Mode,
    /// `--quick`: passed on to the children.
    pub(crate) quick: bool,
}

impl Sampler {
    /// Measures `f` `runs` times for each of `systems`, in rounds: the first
    /// run of every system, then the second of every system, and so on;
    /// returns each system's samples. A slow phase of this shared machine
    /// (they last tens of seconds) then slows one run of every system rather
    /// than all runs of one, so the ratios within a run stay fair. Fails
    /// with the first error, prefixed by the workload and system.
    ///
    /// With [`Mode::Fresh`] each run is a child process (and `f` is not
    /// called here); as such a child ([`Mode::Child`]) it makes one run and
    /// prints its figures.
    pub(crate) fn interleave<'s, T: Sample>(
        self,
        runs: usize,
        workload: &str,
        systems: impl IntoIterator<Item = &'s String>,
        mut f: impl FnMut(&str) -> Result<T, String>,
    ) -> Result<Vec<(&'s str, Vec<T>)>, String> {
        let runs = if self.mode == Mode::Child { 1 } else { runs };
        let mut measured: Vec<(&str, Vec<T>)> = systems
            .into_iter()
            .map(|system| (system.as_str(), Vec::with_capacity(runs)))
            .collect();
        for _ in 0..runs {
            for (system, samples) in &mut measured {
                let sample = match self.mode {
                    Mode::InProcess | Mode::Child => f(system),
                    Mode::Fresh => self.in_child(workload, system),
                }
                .map_err(|err| format!("{workload} {system}: {err}"))?;
                if self.mode == Mode::Child {
                    println!("{SAMPLE_TAG} {}", join(&sample.numbers()));
                }
                samples.push(sample);
            }
        }
        Ok(measured)
    }

    /// One run of `workload` on `system` in a fresh process.
    fn in_child<T: Sample>(self, workload: &str, system: &str) -> Result<T, String> {
        let exe = env::current_exe().map_err(|err| err.to_string())?;
        let size = if self.quick { "quick" } else { "full" };
        let output = Command::new(exe)
            .args(["--child", "sample", workload, system, size])
            .output()
            .map_err(|err| format!("can't start the child process: {err}"))?;
        if !output.status.success() {
            return Err(format!(
                "child process failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        parse(&stdout).ok_or_else(|| format!("child process printed no figures: {stdout:?}"))
    }
}

/// The command line of a child's suite: `sample WORKLOAD SYSTEM quick|full`
/// becomes `--only WORKLOAD --systems SYSTEM` (and `--quick`); `None` for
/// other arguments.
pub(crate) fn child_args(args: &[String]) -> Option<Vec<String>> {
    let [sample, workload, system, size] = args else {
        return None;
    };
    if sample != "sample" {
        return None;
    }
    let mut suite = vec![
        "--only".to_owned(),
        workload.clone(),
        "--systems".to_owned(),
        system.clone(),
        // The parent named the driver in the system (`kiln` or `kiln-poll`):
        // `uring` leaves the name as it is, where the default, `both`,
        // would add `kiln-poll` to `kiln`.
        "--driver".to_owned(),
        "uring".to_owned(),
    ];
    match size.as_str() {
        "quick" => suite.push("--quick".to_owned()),
        "full" => {}
        _ => return None,
    }
    Some(suite)
}

/// The sample in a child's standard output.
fn parse<T: Sample>(stdout: &str) -> Option<T> {
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(SAMPLE_TAG))?;
    let numbers: Vec<f64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    T::from_numbers(&numbers)
}

/// `numbers` separated by spaces, each as Rust prints it (which parses back
/// to the same `f64`).
fn join(numbers: &[f64]) -> String {
    numbers
        .iter()
        .map(f64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::{SAMPLE_TAG, child_args, join, parse};

    #[test]
    fn samples_round_trip_through_the_childs_output() {
        let stdout = format!("something else\n{SAMPLE_TAG} {}\n", join(&[1.5, 0.1 + 0.2]));
        assert_eq!(parse::<(f64, f64)>(&stdout), Some((1.5, 0.1 + 0.2)));
        // One figure where two are expected, and none at all, are refused.
        assert_eq!(parse::<(f64, f64)>(&format!("{SAMPLE_TAG} 3\n")), None);
        assert_eq!(parse::<f64>("no figures\n"), None);
        assert_eq!(parse::<f64>(&format!("{SAMPLE_TAG} 3 x\n")), None);
    }

    #[test]
    fn a_childs_arguments_become_one_workload_on_one_system() {
        let args = |line: &str| line.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            child_args(&args("sample W1a kiln quick")),
            Some(args("--only W1a --systems kiln --driver uring --quick"))
        );
        assert_eq!(
            child_args(&args("sample W6-skynet tokio full")),
            Some(args("--only W6-skynet --systems tokio --driver uring"))
        );
        assert_eq!(child_args(&args("sample W1a kiln huge")), None);
        assert_eq!(child_args(&args("W5 kiln 100")), None);
    }
}
