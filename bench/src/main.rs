//! kiln's benchmarks: workloads run for kiln and its peers (tokio, actix,
//! kameo, ractor) side by side, in one process run, printing one JSON line
//! per measurement and a table of medians with their ratio to kiln.
//!
//! ```text
//! cargo run --release -p kiln-bench -- [--quick] [--fresh] [--only W1,W3] [--systems kiln,tokio]
//! cargo run --release -p kiln-bench -- --only W1a,W7-64B-256c   # one flavour, one W7 configuration
//! cargo run --release -p kiln-bench -- --quick > results.txt
//! cargo run --release -p kiln-bench -- --quick --only W8 --w8-seconds 4   # W8 with 4 s windows
//! cargo run --release -p kiln-bench -- --charts results.txt --out docs/bench
//! ```
//!
//! | workload | what | module |
//! |---|---|---|
//! | W1a, W1b, W1c | ping-pong: one thread, two threads, two-worker runtime | [`w1_ping_pong`] |
//! | W2 | RPC, one caller and one server; p50 and p99 per call | [`w2_rpc`] |
//! | W3 | fan-in: 4 senders to one receiver | [`w3_fan_in`] |
//! | W4 | fan-out: one driver round robin to 100 actors | [`w4_fan_out`] |
//! | W5 | 1,000,000 idle actors: ns per spawn, resident bytes per actor | [`w5_spawn`] |
//! | W6-skynet, W6-skynet-2w | skynet, a tree of 1,111,111 actors ten wide: ms in all, on one thread and on two workers | [`w6_skynet`] |
//! | W6-ring | thread ring: 1,000 actors pass a token 10,000,000 hops; ns per hop | [`w6_thread_ring`] |
//! | W7 | TCP echo over loopback, an actor per connection, server in a child process: requests per second, server CPU µs per request | [`w7_tcp_echo`] |
//! | W8 | HTTP/1.1 plaintext and JSON (TechEmpower), 16 and 256 connections, pipelined or not, against hyper, actix-web and may-minihttp, load from `wrk`: requests per second, server CPU µs per request | [`w8_http`] |
//! | W9-rpc, W9-oneway | actors on two nodes in two processes, mutual TLS: RPC round trip p50 and p99, one-way messages per second; kiln-remote against ractor_cluster | [`w9_remote`] |
//!
//! Each workload checks its own result (a lost, duplicated or reordered
//! message fails the run with a message saying what went wrong). Each
//! measurement is repeated 5 times (3 with `--quick`, which also makes the
//! workloads smaller), in rounds: every system's first run, then every
//! system's second, and so on, so that a slow phase of the machine hits all
//! systems alike. Memory per actor is measured in a fresh child process
//! per run and system (this binary re-run with `--child`), and W7's servers
//! run in one (`--child W7-server <system>`). With `--fresh` every run of
//! every workload is made in a fresh child process (see [`fresh`]): no run
//! inherits a heap that earlier runs grew.
//!
//! `--charts FILE --out DIR` reads the JSON lines of a run (the rest of the
//! file, such as the table, is skipped) and writes an SVG bar chart per
//! workload and metric into `DIR` (see [`chart`]).

use std::env;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

mod chart;
mod fresh;
mod measure;
mod peer;
mod results;
mod server_process;
mod w1_ping_pong;
mod w2_rpc;
mod w3_fan_in;
mod w4_fan_out;
mod w5_spawn;
mod w6_skynet;
mod w6_thread_ring;
mod w7_tcp_echo;
mod w8_http;
mod w9_remote;

use fresh::{Mode, Sampler};
use measure::Measurement;
use w1_ping_pong::Flavour;

/// How long each W8 measurement lasts (wrk takes whole seconds): with
/// `--quick`, 120 runs (8 configurations, 5 systems, 3 runs) take about 3
/// minutes. `--w8-seconds` sets it (one to [`W8_MAX_SECONDS`]).
const W8_SECONDS: u32 = 10;
const W8_QUICK_SECONDS: u32 = 1;
const W8_MAX_SECONDS: u32 = 60;

/// How long each W7 measurement lasts with `--quick`: 60 runs (4
/// configurations, 5 systems, 3 runs) of this and a tenth more of warm-up
/// add about 30 s.
const W7_QUICK_DURATION: Duration = Duration::from_millis(400);

/// The systems measured.
const SYSTEMS: [&str; 5] = ["kiln", "tokio", "actix", "kameo", "ractor"];

/// Systems `--systems` also takes: kiln on its epoll driver (what
/// `--driver poll` or `both` adds), kiln recording a trace (W1 only), to
/// measure the cost of tracing, W8's HTTP servers, and ractor_cluster (W9
/// only; W9 runs it for `ractor` too).
const EXTRA_SYSTEMS: [&str; 6] = [
    "kiln-poll",
    "kiln-traced",
    "hyper",
    "actix-web",
    "may-minihttp",
    "ractor_cluster",
];

const USAGE: &str = "\
usage: kiln-bench [--quick] [--fresh] [--only WORKLOADS] [--systems SYSTEMS] [--driver DRIVER]
                  [--baseline BINARY] [--w8-seconds SECONDS] [--runs N]
       kiln-bench --charts FILE [--out DIR]

  --quick            smaller workloads, 3 runs each (the whole suite in about 2 minutes)
  --fresh            every run in a fresh process (no run reuses a heap an earlier one grew)
  --only WORKLOADS   comma-separated: W1 W1a W1b W1c W2 W3 W4 W5 W6 W6-skynet
                     W6-skynet-2w W6-ring W7 W7-64B-16c W7-64B-256c W7-1KiB-16c W7-1KiB-256c
                     W8 W8-plaintext-16c ... W8-json-256c-p16 (W8 needs wrk: apt-get install wrk)
                     W9 W9-rpc W9-oneway
  --systems SYSTEMS  comma-separated: kiln tokio actix kameo ractor (and kiln-poll; kiln-traced
                     for W1; hyper actix-web may-minihttp for W8; ractor_cluster for W9, which
                     runs it for ractor too, but not with --quick)
  --driver DRIVER    kiln's I/O driver: uring (system kiln), poll (system kiln-poll) or both
                     (default: both, side by side)
  --baseline BINARY  W8 also measures BINARY's kiln server, as system kiln-baseline (a
                     kiln-bench built from an earlier commit: before and after in one run)
  --w8-seconds SECONDS  how long each W8 measurement lasts, 1 to 60 (default 10, 1 with
                     --quick: --quick --only W8 --w8-seconds 4 takes about 10 minutes)
  --runs N           runs per system and workload, 1 to 100 (default 5, 3 with --quick;
                     CI's check that every workload runs: --quick --runs 1)
  --charts FILE      draw SVG charts of the JSON lines in FILE into DIR (default .)

JSON lines go to standard error as measured and to standard output at the end,
followed by a table of medians and their ratio to kiln.";

/// Every name `--only` takes.
fn workload_names() -> Vec<&'static str> {
    let mut names = vec!["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9"];
    names.extend(Flavour::ALL.map(Flavour::workload));
    names.extend([
        w6_skynet::ONE_THREAD,
        w6_skynet::TWO_WORKERS,
        w6_thread_ring::WORKLOAD,
    ]);
    names.extend(w7_tcp_echo::CONFIGS.map(|config| config.workload));
    names.extend(w8_http::CONFIGS.map(|config| config.workload));
    names.extend([w9_remote::RPC, w9_remote::ONE_WAY]);
    names
}

/// `systems` with `kiln` run on the I/O drivers `driver` asks for: `uring`
/// keeps `kiln` (io_uring), `poll` makes it `kiln-poll` (epoll), `both` runs
/// both, side by side.
fn with_drivers(systems: Vec<String>, driver: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(systems.len() + 1);
    for system in systems {
        let expanded: &[&str] = match (system.as_str(), driver) {
            ("kiln", "poll") => &["kiln-poll"],
            ("kiln", "both") => &["kiln", "kiln-poll"],
            _ => &[system.as_str()],
        };
        for name in expanded {
            if !out.iter().any(|s| s == name) {
                out.push((*name).to_owned());
            }
        }
    }
    out
}

/// Checks the command line: every flag known, every flag that takes a value
/// given one, every workload and system known. A typo must not start a
/// 40-minute run of something else.
fn check_args(args: &[String]) -> Result<(), String> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--quick" | "--fresh" => {}
            "--only" | "--systems" | "--charts" | "--out" | "--driver" | "--baseline"
            | "--w8-seconds" | "--runs" => {
                let Some(value) = iter.next().filter(|v| !v.starts_with("--")) else {
                    return Err(format!("{arg} needs a value"));
                };
                if arg == "--baseline" && !Path::new(value).is_file() {
                    return Err(format!(
                        "--baseline: '{value}' is not a file (give the path of a kiln-bench binary)"
                    ));
                }
                if arg == "--w8-seconds" {
                    w8_seconds(value)?;
                }
                if arg == "--runs" {
                    runs_arg(value)?;
                }
                let known: Vec<&str> = match arg.as_str() {
                    "--only" => workload_names(),
                    "--systems" => SYSTEMS.into_iter().chain(EXTRA_SYSTEMS).collect(),
                    "--driver" => vec!["uring", "poll", "both"],
                    _ => continue,
                };
                if let Some(unknown) = value.split(',').find(|v| !known.contains(v)) {
                    return Err(format!(
                        "{arg}: unknown name '{unknown}'; known: {}",
                        known.join(", ")
                    ));
                }
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    // A `--fresh` child is told its workload, system and size only.
    if args.iter().any(|a| a == "--fresh")
        && let Some(flag) = args
            .iter()
            .find(|a| *a == "--baseline" || *a == "--w8-seconds")
    {
        return Err(format!(
            "{flag} is not passed on to --fresh's child processes: run W8 without --fresh"
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if let Err(err) = check_args(&args) {
        eprintln!("kiln-bench: {err}\n\n{USAGE}");
        return ExitCode::from(2);
    }
    if let Some(input) = value_arg(&args, "--charts") {
        let out = value_arg(&args, "--out").unwrap_or(".");
        return match chart::render_file(Path::new(input), Path::new(out)) {
            Ok(written) => {
                for path in written {
                    println!("{}", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("--charts {input}: {err}");
                ExitCode::FAILURE
            }
        };
    }
    let mode = if args.iter().any(|a| a == "--fresh") {
        Mode::Fresh
    } else {
        Mode::InProcess
    };
    run_suite(&args, mode)
}

/// Runs the workloads `args` select, where `mode` says; prints the JSON
/// lines and the table (but as a [`Mode::Child`], which prints only its
/// run's figures).
fn run_suite(args: &[String], mode: Mode) -> ExitCode {
    let quick = args.iter().any(|a| a == "--quick");
    let sampler = Sampler { mode, quick };
    let only = list_arg(args, "--only");
    let systems_given = list_arg(args, "--systems");
    let driver = value_arg(args, "--driver").unwrap_or("both");
    let systems = with_drivers(
        systems_given
            .clone()
            .unwrap_or_else(|| SYSTEMS.map(String::from).to_vec()),
        driver,
    );
    // W8's peers are HTTP servers: its own list unless `--systems` names them.
    let mut w8_systems: Vec<String> = with_drivers(
        match &systems_given {
            Some(given) => given
                .iter()
                .filter(|s| w8_http::SYSTEMS.contains(&s.as_str()))
                .cloned()
                .collect(),
            None => w8_http::SYSTEMS.map(String::from).to_vec(),
        },
        driver,
    );
    let baseline = value_arg(args, "--baseline").map(Path::new);
    if baseline.is_some() {
        w8_systems.insert(1, w8_http::BASELINE.to_owned());
    }
    let runs = match value_arg(args, "--runs").map(runs_arg) {
        Some(Ok(runs)) => runs,
        Some(Err(err)) => {
            eprintln!("kiln-bench: {err}");
            return ExitCode::from(2);
        }
        None if quick => 3,
        None => 5,
    };
    let wants = |workload: &str| {
        only.as_ref()
            .is_none_or(|only| only.iter().any(|w| w == workload))
    };

    let mut results = Vec::new();
    let outcome = (|| {
        if wants("W1") || Flavour::ALL.iter().any(|f| wants(f.workload())) {
            let round_trips = if quick { 20_000 } else { 1_000_000 };
            for flavour in Flavour::ALL {
                if !(wants("W1") || wants(flavour.workload())) {
                    continue;
                }
                let flavour_systems = systems.iter().filter(|s| flavour.applies_to(s));
                let measured =
                    sampler.interleave(runs, flavour.workload(), flavour_systems, |system| {
                        w1_ping_pong::run(system, flavour, round_trips)
                    })?;
                for (system, samples) in measured {
                    let (wall, cpu) = samples.into_iter().unzip();
                    let workload = flavour.workload();
                    record(
                        &mut results,
                        Measurement::new(workload, system, "ns_per_round_trip", wall),
                    );
                    record(
                        &mut results,
                        Measurement::new(workload, system, "cpu_ns_per_round_trip", cpu),
                    );
                }
            }
        }
        if wants("W2") {
            let calls = if quick { 5_000 } else { 200_000 };
            let measured =
                sampler.interleave(runs, "W2", &systems, |system| w2_rpc::run(system, calls))?;
            for (system, samples) in measured {
                let (p50, p99) = samples.into_iter().unzip();
                record(
                    &mut results,
                    Measurement::new("W2", system, "ns_per_call_p50", p50),
                );
                record(
                    &mut results,
                    Measurement::new("W2", system, "ns_per_call_p99", p99),
                );
            }
        }
        if wants("W3") {
            let messages = if quick { 200_000 } else { 10_000_000 };
            let measured = sampler.interleave(runs, "W3", &systems, |system| {
                w3_fan_in::run(system, messages)
            })?;
            for (system, samples) in measured {
                record(
                    &mut results,
                    Measurement::new("W3", system, "msgs_per_sec", samples),
                );
            }
        }
        if wants("W4") {
            let messages = if quick { 20_000 } else { 1_000_000 };
            let measured = sampler.interleave(runs, "W4", &systems, |system| {
                w4_fan_out::run(system, messages)
            })?;
            for (system, samples) in measured {
                record(
                    &mut results,
                    Measurement::new("W4", system, "ns_per_msg", samples),
                );
            }
        }
        if wants("W5") {
            let actors = if quick { 20_000 } else { 1_000_000 };
            let measured = sampler.interleave(runs, "W5", &systems, |system| {
                spawn_child(&["W5", system, &actors.to_string()])
            })?;
            for (system, samples) in measured {
                let (ns, bytes) = samples.into_iter().unzip();
                record(
                    &mut results,
                    Measurement::new("W5", system, "ns_per_spawn", ns),
                );
                record(
                    &mut results,
                    Measurement::new("W5", system, "bytes_per_actor", bytes),
                );
            }
        }
        // `--only W6` runs all three, `--only W6-ring` one.
        for workload in [w6_skynet::ONE_THREAD, w6_skynet::TWO_WORKERS] {
            if !(wants("W6") || wants(workload)) {
                continue;
            }
            let leaves = if quick { 10_000 } else { 1_000_000 };
            let two_workers = workload == w6_skynet::TWO_WORKERS;
            let skynet_systems = systems
                .iter()
                .filter(|s| w6_skynet::applies_to(workload, s));
            let measured = sampler.interleave(runs, workload, skynet_systems, |system| {
                w6_skynet::run(system, two_workers, leaves)
            })?;
            for (system, samples) in measured {
                record(
                    &mut results,
                    Measurement::new(workload, system, "ms_total", samples),
                );
            }
        }
        if wants("W6") || wants(w6_thread_ring::WORKLOAD) {
            let hops = if quick { 100_000 } else { 10_000_000 };
            let measured =
                sampler.interleave(runs, w6_thread_ring::WORKLOAD, &systems, |system| {
                    w6_thread_ring::run(system, hops)
                })?;
            for (system, samples) in measured {
                record(
                    &mut results,
                    Measurement::new(w6_thread_ring::WORKLOAD, system, "ns_per_hop", samples),
                );
            }
        }
        // `--only W7` runs every configuration, `--only W7-64B-256c` one.
        let w7_configs = w7_tcp_echo::CONFIGS
            .into_iter()
            .filter(|config| wants("W7") || wants(config.workload));
        let w7_duration = if quick {
            W7_QUICK_DURATION
        } else {
            Duration::from_secs(10)
        };
        for config in w7_configs {
            let w7_systems = systems
                .iter()
                .filter(|s| w7_tcp_echo::SYSTEMS.contains(&s.as_str()));
            let measured = sampler.interleave(runs, config.workload, w7_systems, |system| {
                w7_tcp_echo::run(system, config, w7_duration)
            })?;
            record_server_runs(&mut results, config.workload, measured);
        }
        // `--only W8` runs every configuration, `--only W8-json-16c` one.
        let w8_configs = w8_http::CONFIGS
            .into_iter()
            .filter(|config| wants("W8") || wants(config.workload));
        let w8_seconds = match value_arg(args, "--w8-seconds") {
            Some(value) => w8_seconds(value)?,
            None if quick => W8_QUICK_SECONDS,
            None => W8_SECONDS,
        };
        for config in w8_configs {
            let measured = sampler.interleave(runs, config.workload, &w8_systems, |system| {
                w8_http::run(system, config, w8_seconds, baseline)
            })?;
            record_server_runs(&mut results, config.workload, measured);
        }
        if wants("W9") || wants(w9_remote::RPC) || wants(w9_remote::ONE_WAY) {
            let (calls, messages) = if quick {
                (2_000, 50_000)
            } else {
                (50_000, 1_000_000)
            };
            // ractor_cluster runs for `ractor` too, except with `--quick`
            // (CI), where building its peer (a workspace of its own, about
            // ten minutes on two cores) must be asked for by name.
            let w9_systems: Vec<String> = w9_remote::SYSTEMS
                .into_iter()
                .filter(|&system| {
                    systems.iter().any(|s| {
                        s == system || (system == "ractor_cluster" && s == "ractor" && !quick)
                    })
                })
                .map(str::to_owned)
                .collect();
            let certs = w9_remote::Certs::new()?;
            let measured = sampler.interleave(runs, "W9", &w9_systems, |system| {
                w9_remote::run(system, &certs, calls, messages)
            })?;
            for (system, samples) in measured {
                let p50 = samples.iter().map(|s| s.0).collect();
                let p99 = samples.iter().map(|s| s.1).collect();
                let per_sec = samples.iter().map(|s| s.2).collect();
                if wants("W9") || wants(w9_remote::RPC) {
                    record(
                        &mut results,
                        Measurement::new(w9_remote::RPC, system, "ns_per_call_p50", p50),
                    );
                    record(
                        &mut results,
                        Measurement::new(w9_remote::RPC, system, "ns_per_call_p99", p99),
                    );
                }
                if wants("W9") || wants(w9_remote::ONE_WAY) {
                    record(
                        &mut results,
                        Measurement::new(w9_remote::ONE_WAY, system, "msgs_per_sec", per_sec),
                    );
                }
            }
        }
        Ok::<(), String>(())
    })();
    if let Err(err) = outcome {
        eprintln!("{err}");
        return ExitCode::FAILURE;
    }
    if mode == Mode::Child {
        return ExitCode::SUCCESS;
    }
    for result in &results {
        println!("{}", result.json());
    }
    measure::print_table(&results);
    ExitCode::SUCCESS
}

/// Adds `measurement` to `results`, telling the progress on standard error
/// (standard output holds only the JSON lines and the table).
fn record(results: &mut Vec<Measurement>, measurement: Measurement) {
    eprintln!("{}", measurement.json());
    results.push(measurement);
}

/// Adds the (requests per second, server CPU µs per request) samples of a
/// server workload (W7, W8) to `results`.
fn record_server_runs(
    results: &mut Vec<Measurement>,
    workload: &'static str,
    measured: Vec<(&str, Vec<(f64, f64)>)>,
) {
    for (system, samples) in measured {
        let (per_sec, cpu) = samples.into_iter().unzip();
        record(
            results,
            Measurement::new(workload, system, "requests_per_sec", per_sec),
        );
        record(
            results,
            Measurement::new(workload, system, "server_cpu_us_per_request", cpu),
        );
    }
}

/// The value after `flag`.
fn value_arg<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let index = args.iter().position(|a| a == flag)?;
    args.get(index + 1).map(String::as_str)
}

/// The value of `--w8-seconds`: whole seconds from 1 to [`W8_MAX_SECONDS`].
fn w8_seconds(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(seconds @ 1..=W8_MAX_SECONDS) => Ok(seconds),
        _ => Err(format!(
            "--w8-seconds: '{value}' is not a whole number of seconds from 1 to {W8_MAX_SECONDS}"
        )),
    }
}

/// The most runs `--runs` takes.
const MAX_RUNS: usize = 100;

/// The number of runs `--runs` gives.
fn runs_arg(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(runs @ 1..=MAX_RUNS) => Ok(runs),
        _ => Err(format!(
            "--runs: '{value}' is not a whole number from 1 to {MAX_RUNS}"
        )),
    }
}

/// The comma-separated values after `flag`.
fn list_arg(args: &[String], flag: &str) -> Option<Vec<String>> {
    let value = value_arg(args, flag)?;
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

/// The child process side of [`spawn_child`], of `--fresh` (see [`fresh`])
/// and W7's and W8's servers.
fn child(args: &[String]) -> ExitCode {
    if let Some(suite) = fresh::child_args(args) {
        return run_suite(&suite, Mode::Child);
    }
    if let [workload, system, dir] = args
        && workload == "W9-server"
        && (system == "kiln" || system == "kiln-poll")
    {
        return match w9_remote::serve(system, Path::new(dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("W9 kiln server: {err}");
                ExitCode::FAILURE
            }
        };
    }
    if let [workload, system] = args
        && (workload == "W7-server" || workload == "W8-server")
    {
        let served = if workload == "W7-server" {
            w7_tcp_echo::serve(system)
        } else {
            w8_http::serve(system)
        };
        return match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("{workload} {system}: {err}");
                ExitCode::FAILURE
            }
        };
    }
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

#[cfg(test)]
mod tests {
    use super::{check_args, fresh, list_arg, value_arg, with_drivers};

    #[test]
    fn drivers_expand_kiln_only() {
        let systems = |list: &str| list.split(',').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            with_drivers(systems("kiln,tokio"), "uring"),
            systems("kiln,tokio")
        );
        assert_eq!(
            with_drivers(systems("kiln,tokio"), "poll"),
            systems("kiln-poll,tokio")
        );
        assert_eq!(
            with_drivers(systems("kiln,tokio"), "both"),
            systems("kiln,kiln-poll,tokio")
        );
        assert_eq!(with_drivers(systems("tokio"), "both"), systems("tokio"));
        assert_eq!(
            with_drivers(systems("kiln-poll,kiln"), "both"),
            systems("kiln-poll,kiln")
        );
    }

    #[test]
    fn a_fresh_child_runs_the_one_system_it_was_given() {
        for system in ["kiln", "kiln-poll", "tokio"] {
            let args = ["sample", "W1a", system, "quick"].map(String::from);
            let suite = fresh::child_args(&args).unwrap();
            let driver = value_arg(&suite, "--driver").unwrap_or("both");
            let systems = with_drivers(list_arg(&suite, "--systems").unwrap(), driver);
            assert_eq!(systems, [system]);
        }
    }

    fn check(line: &str) -> Result<(), String> {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        check_args(&args)
    }

    #[test]
    fn known_arguments_pass() {
        assert_eq!(check(""), Ok(()));
        assert_eq!(check("--quick --only W1a,W6-ring,W7-1KiB-256c"), Ok(()));
        assert_eq!(check("--systems kiln,kiln-traced --only W1"), Ok(()));
        assert_eq!(check("--fresh --quick --only W6-skynet"), Ok(()));
        assert_eq!(
            check("--systems kiln,ractor_cluster --only W9-rpc,W9-oneway"),
            Ok(())
        );
        assert_eq!(check("--charts results.txt --out docs/bench"), Ok(()));
        let this = std::env::current_exe().unwrap();
        assert_eq!(
            check(&format!("--only W8 --baseline {}", this.display())),
            Ok(())
        );
        assert_eq!(check("--driver poll --only W7"), Ok(()));
        assert_eq!(check("--quick --only W8 --w8-seconds 4"), Ok(()));
        assert_eq!(check("--quick --runs 1"), Ok(()));
        assert!(check("--driver kqueue").is_err());
        assert_eq!(
            check("--fresh --only W8 --w8-seconds 4"),
            Err(
                "--w8-seconds is not passed on to --fresh's child processes: run W8 without --fresh"
                    .to_owned()
            )
        );
    }

    #[test]
    fn bad_values_are_refused_with_why() {
        for (line, error) in [
            (
                "--only W8 --baseline /no/such/kiln-bench",
                "--baseline: '/no/such/kiln-bench' is not a file (give the path of a kiln-bench binary)",
            ),
            ("--baseline", "--baseline needs a value"),
            (
                "--w8-seconds 0",
                "--w8-seconds: '0' is not a whole number of seconds from 1 to 60",
            ),
            (
                "--w8-seconds 2.5",
                "--w8-seconds: '2.5' is not a whole number of seconds from 1 to 60",
            ),
            (
                "--quick --runs 0",
                "--runs: '0' is not a whole number from 1 to 100",
            ),
            (
                "--runs many",
                "--runs: 'many' is not a whole number from 1 to 100",
            ),
            ("--runs", "--runs needs a value"),
        ] {
            assert_eq!(check(line), Err(error.to_owned()));
        }
    }

    #[test]
    fn typos_are_refused_with_what_is_known() {
        let err = check("--only W10").unwrap_err();
        assert!(
            err.starts_with("--only: unknown name 'W10'; known: W1, W2"),
            "{err}"
        );
        let err = check("--systems kiln,toikio").unwrap_err();
        assert!(
            err.contains("unknown name 'toikio'") && err.contains("ractor"),
            "{err}"
        );
        assert_eq!(
            check("--qiuck"),
            Err("unknown argument '--qiuck'".to_owned())
        );
        assert_eq!(check("--only"), Err("--only needs a value".to_owned()));
        assert_eq!(
            check("--only --quick"),
            Err("--only needs a value".to_owned())
        );
    }
}
