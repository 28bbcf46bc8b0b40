//! kiln's benchmarks: workloads run for kiln and its peers side by side, in
//! one process run, printing one JSON line per measurement.
//!
//! ```text
//! cargo run --release -p kiln-bench -- [--quick] [--only W1,W5] [--systems kiln,tokio]
//! ```
//!
//! Each workload checks its own result (a lost message fails the run).
//! Memory per actor is measured in a fresh child process per system (this
//! binary re-run with `--child`).

use std::env;
use std::process::{Command, ExitCode};

mod measure;
mod w1_ping_pong;
mod w5_spawn;

use measure::Measurement;

/// The systems measured.
const SYSTEMS: [&str; 2] = ["kiln", "tokio"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let only = list_arg(&args, "--only");
    let systems =
        list_arg(&args, "--systems").unwrap_or_else(|| SYSTEMS.map(String::from).to_vec());
    let runs = if quick { 3 } else { 5 };
    let wants = |workload: &str| {
        only.as_ref()
            .is_none_or(|only| only.iter().any(|w| w == workload))
    };

    let mut results = Vec::new();
    if wants("W1") {
        let round_trips = if quick { 20_000 } else { 1_000_000 };
        for system in &systems {
            let samples = (0..runs)
                .map(|_| w1_ping_pong::run(system, round_trips))
                .collect::<Result<Vec<_>, _>>();
            match samples {
                Ok(samples) => results.push(Measurement::new(
                    "W1a",
                    system,
                    "ns_per_round_trip",
                    samples,
                )),
                Err(err) => {
                    eprintln!("W1a {system}: {err}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    if wants("W5") {
        let actors = if quick { 20_000 } else { 1_000_000 };
        for system in &systems {
            let mut ns = Vec::new();
            let mut bytes = Vec::new();
            for _ in 0..runs {
                match spawn_child(&["W5", system, &actors.to_string()]) {
                    Ok((n, b)) => {
                        ns.push(n);
                        bytes.push(b);
                    }
                    Err(err) => {
                        eprintln!("W5 {system}: {err}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            results.push(Measurement::new("W5", system, "ns_per_spawn", ns));
            results.push(Measurement::new("W5", system, "bytes_per_actor", bytes));
        }
    }
    for result in &results {
        println!("{}", result.json());
    }
    measure::print_table(&results);
    ExitCode::SUCCESS
}

/// The comma-separated values after `flag`.
fn list_arg(args: &[String], flag: &str) -> Option<Vec<String>> {
    let index = args.iter().position(|a| a == flag)?;
    let value = args.get(index + 1)?;
    Some(value.split(',').map(str::to_owned).collect())
}

/// Runs this binary with `--child args`, returning the two numbers it
/// prints.
fn spawn_child(args: &[&str]) -> Result<(f64, f64), String> {
    let exe = env::current_exe().map_err(|err| err.to_string())?;
    let output = Command::new(exe)
        .arg("--child")
        .args(args)
        .output()
        .map_err(|err| err.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut numbers = stdout.split_whitespace().map(str::parse::<f64>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(a)), Some(Ok(b))) => Ok((a, b)),
        _ => Err(format!("unexpected child output: {stdout}")),
    }
}

/// The child process side of [`spawn_child`].
fn child(args: &[String]) -> ExitCode {
    let result = match args {
        [workload, system, n] if workload == "W5" => match n.parse() {
            Ok(n) => w5_spawn::run(system, n),
            Err(err) => Err(err.to_string()),
        },
        _ => Err(format!("unknown child arguments: {args:?}")),
    };
    match result {
        Ok((ns, bytes)) => {
            println!("{ns} {bytes}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}
