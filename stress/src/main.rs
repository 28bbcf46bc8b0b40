//! kiln-stress: reliability scenarios, each checking its own counts.
//!
//! ```text
//! cargo run --release -p kiln-stress -- --all            # every scenario, full size
//! cargo run --release -p kiln-stress -- --all --quick    # the CI-sized versions
//! cargo run --release -p kiln-stress -- --only chaos,rpc # some of them
//! cargo run --release -p kiln-stress -- --list           # their names
//! ```
//!
//! Each scenario (one module, one item of `RELIABILITY.md`) runs kiln under
//! faults, overload or bad input, counts every message, call or timer, and
//! fails with a message saying which promise broke. The scenarios run one
//! after another; after each, its figures are printed as a table, and at the
//! end as JSON lines (`{"scenario": .., "quick": .., "figure": .., "value":
//! ..}`) and a summary. The exit status is 1 if any scenario failed, 2 for
//! bad arguments.
//!
//! Scenarios that need a fresh process (signals) re-execute this binary with
//! a hidden argument: each module's `child_main` is asked first whether the
//! arguments are its own.
//!
//! `KILN_STRESS_SEED=<n>` repeats a run's random choices (the seed is
//! printed at the start).

use std::process::ExitCode;
use std::time::{Duration, Instant};

mod report;

mod chaos;
mod fault_injection;
mod intensity;
mod overload;
mod rpc;
mod signals;
mod starvation;
mod tcp_abuse;
mod timers;

use report::{Figure, Outcome};

/// A scenario: its name on the command line, the item of the issue and
/// `RELIABILITY.md` it proves, and how to run it.
struct Scenario {
    name: &'static str,
    item: u32,
    what: &'static str,
    run: fn(bool) -> Outcome,
}

/// Every scenario, in the order they run (the order of `RELIABILITY.md`).
const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "chaos",
        item: 1,
        what: "chaos restarts: nothing lost but the message in flight",
        run: chaos::run,
    },
    Scenario {
        name: "intensity",
        item: 2,
        what: "restart intensity: N restarts within T, then stop",
        run: intensity::run,
    },
    Scenario {
        name: "overload",
        item: 3,
        what: "overload: bounded memory, Full reported, send waits",
        run: overload::run,
    },
    Scenario {
        name: "rpc",
        item: 4,
        what: "RPC without hangs: timeout or NoResponse",
        run: rpc::run,
    },
    Scenario {
        name: "signals",
        item: 5,
        what: "signals under load: every accepted message handled",
        run: signals::run,
    },
    Scenario {
        name: "tcp_abuse",
        item: 6,
        what: "TCP server abuse: descriptors and memory return to baseline",
        run: tcp_abuse::run,
    },
    Scenario {
        name: "starvation",
        item: 7,
        what: "starvation: ping-pong latency next to a busy actor; a thread-safe consumer's share next to busy producers",
        run: starvation::run,
    },
    Scenario {
        name: "timers",
        item: 8,
        what: "timers: never early, cancelled ones freed",
        run: timers::run,
    },
    Scenario {
        name: "fault_injection",
        item: 10,
        what: "fault injection: set_message_loss loses what it says",
        run: fault_injection::run,
    },
];

const USAGE: &str = "\
usage: kiln-stress [--quick] (--all | --only NAME[,NAME...]) | --list

  --all          run every scenario
  --only NAMES   run the named scenarios (comma-separated, see --list)
  --quick        the CI-sized versions (seconds each)
  --list         list the scenarios
  --help         this text

KILN_STRESS_SEED=<n> repeats the random choices of an earlier run.";

/// What the command line asks for.
struct Args {
    quick: bool,
    selected: Vec<&'static Scenario>,
}

/// Parses the command line; `Err` holds the exit code after printing usage,
/// the list, or an error.
fn parse_args(args: &[String]) -> Result<Args, ExitCode> {
    let mut quick = false;
    let mut all = false;
    let mut only: Option<Vec<String>> = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--all" => all = true,
            "--list" => {
                for s in SCENARIOS {
                    println!("{:<16} item {:>2}: {}", s.name, s.item, s.what);
                }
                return Err(ExitCode::SUCCESS);
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return Err(ExitCode::SUCCESS);
            }
            "--only" => match iter.next() {
                Some(names) => only.get_or_insert_with(Vec::new).extend(split(names)),
                None => return Err(usage_error("--only needs a list of scenario names")),
            },
            other => match other.strip_prefix("--only=") {
                Some(names) => only.get_or_insert_with(Vec::new).extend(split(names)),
                None => return Err(usage_error(&format!("unknown argument '{other}'"))),
            },
        }
    }
    let selected = match (all, only) {
        (true, Some(_)) => return Err(usage_error("give --all or --only, not both")),
        (true, None) => SCENARIOS.iter().collect(),
        (false, Some(names)) => {
            let mut selected = Vec::new();
            for name in names {
                match SCENARIOS.iter().find(|s| s.name == name) {
                    Some(s) if !selected.iter().any(|t: &&Scenario| t.name == s.name) => {
                        selected.push(s);
                    }
                    Some(_) => {}
                    None => {
                        let names: Vec<_> = SCENARIOS.iter().map(|s| s.name).collect();
                        return Err(usage_error(&format!(
                            "unknown scenario '{name}' (scenarios: {})",
                            names.join(", ")
                        )));
                    }
                }
            }
            // Run in the documented order, whatever the order given.
            selected.sort_by_key(|s| s.item);
            selected
        }
        (false, None) => return Err(usage_error("say which scenarios to run")),
    };
    Ok(Args { quick, selected })
}

fn split(names: &str) -> impl Iterator<Item = String> + '_ {
    names
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| name.replace('-', "_"))
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("kiln-stress: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}

/// How one scenario went.
struct Ran {
    scenario: &'static Scenario,
    outcome: Outcome,
    took: Duration,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Child processes started by scenarios that need a fresh process.
    if let Some(code) = signals::child_main(&args) {
        return code;
    }
    if let Some(code) = tcp_abuse::child_main(&args) {
        return code;
    }

    let args = match parse_args(&args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    quiet_injected_panics();

    let mode = if args.quick { "quick" } else { "full" };
    println!(
        "kiln-stress: {} scenario(s), {mode} versions, seed {} (KILN_STRESS_SEED to repeat)",
        args.selected.len(),
        report::seed()
    );
    let start = Instant::now();
    let mut ran = Vec::new();
    for scenario in &args.selected {
        if report::hung() {
            ran.push(Ran {
                scenario,
                outcome: Err("not run: an earlier scenario hung and still runs".to_owned()),
                took: Duration::ZERO,
            });
            continue;
        }
        println!(
            "\n== {} (item {}): {}",
            scenario.name, scenario.item, scenario.what
        );
        let began = Instant::now();
        let outcome =
            std::panic::catch_unwind(|| (scenario.run)(args.quick)).unwrap_or_else(|panic| {
                Err(format!(
                    "panicked: {}",
                    kiln::supervisor::panic_message(&*panic)
                ))
            });
        let took = began.elapsed();
        print_figures(scenario, &outcome, took);
        ran.push(Ran {
            scenario,
            outcome,
            took,
        });
    }

    print_json(&ran, args.quick);
    let failed = print_summary(&ran, start.elapsed());
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Installs a panic hook that prints every panic except the ones scenarios
/// inject on purpose ([`report::INJECTED_PANIC`]): those are expected by
/// the thousand.
fn quiet_injected_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !report::is_injected_panic(info.payload()) {
            default(info);
        }
    }));
}

/// Prints one scenario's figures as a table, or why it failed.
fn print_figures(scenario: &Scenario, outcome: &Outcome, took: Duration) {
    match outcome {
        Ok(figures) => {
            let width = figures
                .iter()
                .map(|f| f.name.chars().count())
                .max()
                .unwrap_or(0);
            for Figure { name, value } in figures {
                let pad = width - name.chars().count();
                println!("  {name}{}  {value}", " ".repeat(pad));
            }
            println!("-- {}: passed in {}", scenario.name, report::duration(took));
        }
        Err(why) => println!(
            "-- {}: FAILED after {}: {why}",
            scenario.name,
            report::duration(took)
        ),
    }
}

/// One JSON line per figure and one per scenario's result.
fn print_json(ran: &[Ran], quick: bool) {
    use report::json_escape as esc;
    println!("\n== JSON");
    for Ran {
        scenario,
        outcome,
        took,
    } in ran
    {
        let head = format!(
            "\"scenario\":\"{}\",\"item\":{},\"quick\":{quick}",
            scenario.name, scenario.item
        );
        if let Ok(figures) = outcome {
            for figure in figures {
                println!(
                    "{{{head},\"figure\":\"{}\",\"value\":\"{}\"}}",
                    esc(&figure.name),
                    esc(&figure.value)
                );
            }
        }
        let (status, error) = match outcome {
            Ok(_) => ("passed", String::new()),
            Err(why) => ("failed", format!(",\"error\":\"{}\"", esc(why))),
        };
        println!(
            "{{{head},\"status\":\"{status}\",\"seconds\":{:.3}{error}}}",
            took.as_secs_f64()
        );
    }
}

/// Prints a line per scenario and the total; returns how many failed.
fn print_summary(ran: &[Ran], total: Duration) -> usize {
    println!("\n== summary");
    let mut failed = 0;
    for Ran {
        scenario,
        outcome,
        took,
    } in ran
    {
        let status = if outcome.is_ok() { "passed" } else { "FAILED" };
        println!(
            "  {:<16} item {:>2}  {status}  {:>9}",
            scenario.name,
            scenario.item,
            report::duration(*took)
        );
        if let Err(why) = outcome {
            failed += 1;
            println!("      {why}");
        }
    }
    println!(
        "kiln-stress: {} passed, {failed} failed, in {}",
        ran.len() - failed,
        report::duration(total)
    );
    failed
}
