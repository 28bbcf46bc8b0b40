//! `kiln-trace`: converts a trace recorded by kiln-rt
//! (`Setup::enable_tracing`) for people to look at.
//!
//! ```text
//! kiln-trace chrome  <trace> [<out.json>]   Chrome Trace Event JSON, for Perfetto or chrome://tracing
//! kiln-trace svg     <trace> [<out.svg>] [--from MS] [--to MS] [--width PX]
//!                                           an SVG timeline (of a window of the trace, in ms)
//! kiln-trace summary <trace>                per-thread and per-actor counts and times
//! ```
//!
//! Without an output file, the output goes to standard output. Open the
//! JSON at <https://ui.perfetto.dev> ("Open trace file") or in
//! `chrome://tracing` ("Load"); the SVG in any browser.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

mod chrome;
mod model;
mod summary;
mod svg;

const USAGE: &str = "usage:
  kiln-trace chrome  <trace> [<out.json>]   Chrome Trace Event JSON (Perfetto, chrome://tracing)
  kiln-trace svg     <trace> [<out.svg>] [--from MS] [--to MS] [--width PX]
                                            an SVG timeline, of a window of the trace in ms
  kiln-trace summary <trace>                counts and times per thread and per actor";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kiln-trace: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    let (flags, positional) = split_flags(rest)?;
    let input = positional.first().ok_or(USAGE)?;
    let recording =
        kiln_rt::trace::read(input).map_err(|err| format!("can't read trace '{input}': {err}"))?;
    let output = positional.get(1);
    let flag = |name: &str| -> Result<Option<f64>, String> {
        flags
            .iter()
            .find(|(flag, _)| flag == name)
            .map(|(_, value)| {
                value
                    .parse::<f64>()
                    .map_err(|_| format!("{name} takes a number, not '{value}'"))
            })
            .transpose()
    };
    match command.as_str() {
        "chrome" => write_to(output, |out| chrome::write(&recording, out)),
        "svg" => {
            let ms = |value: Option<f64>| value.map(|ms| (ms * 1e6).max(0.0) as u64);
            let options = svg::Options {
                from: ms(flag("--from")?),
                to: ms(flag("--to")?),
                width: flag("--width")?.unwrap_or(1600.0).max(400.0),
                title: match (flag("--from")?, flag("--to")?) {
                    (None, None) => format!("kiln trace: {input}"),
                    (from, to) => format!(
                        "kiln trace: {input}, from {} ms to {}",
                        from.unwrap_or(0.0),
                        to.map_or_else(|| "the end".to_owned(), |to| format!("{to} ms"))
                    ),
                },
            };
            write_to(output, |out| svg::write(&recording, &options, out))
        }
        "summary" => write_to(output, |out| summary::write(&recording, out)),
        _ => Err(USAGE.to_owned()),
    }
}

/// Splits `--flag value` pairs from positional arguments.
fn split_flags(args: &[String]) -> Result<(Vec<(String, String)>, Vec<String>), String> {
    let mut flags = Vec::new();
    let mut positional = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg.starts_with("--") {
            let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
            flags.push((arg.clone(), value.clone()));
        } else {
            positional.push(arg.clone());
        }
    }
    Ok((flags, positional))
}

/// Runs `f` on the file `output`, or on standard output.
fn write_to(
    output: Option<&String>,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), String> {
    let result = match output {
        Some(path) => {
            let file = File::create(path).map_err(|err| format!("can't create '{path}': {err}"))?;
            let mut out = BufWriter::new(file);
            f(&mut out).and_then(|()| out.flush())
        }
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            f(&mut out).and_then(|()| out.flush())
        }
    };
    result.map_err(|err| format!("can't write: {err}"))
}
