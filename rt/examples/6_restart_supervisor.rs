//! 6: Supervisors on the runtime.
//!
//! A thread-local actor parses numbers; a bad one makes it fail, and
//! `restart_supervisor!` restarts it (at most twice within a second) with the
//! same inbox, so the numbers queued behind the bad one are not lost.

use std::convert::Infallible;
use std::time::Duration;

use kiln::{actor, actor_fn, restart_supervisor};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

restart_supervisor!(ParserSupervisor, (), 2, Duration::from_secs(1));

async fn parser(mut ctx: actor::Context<&'static str, ThreadLocal>) -> Result<(), String> {
    println!("parser started");
    while let Ok(text) = ctx.receive_next().await {
        let n: u64 = text
            .parse()
            .map_err(|err| format!("can't parse '{text}': {err}"))?;
        println!("parsed {n}");
    }
    Ok(())
}

fn main() -> Result<(), kiln_rt::Error> {
    // Print the supervisor's log messages.
    log::set_logger(&Logger).expect("can't set logger");
    log::set_max_level(log::LevelFilter::Warn);

    let mut runtime = Runtime::new()?;
    runtime.run_on_workers(|mut rt: RuntimeRef| -> Result<(), Infallible> {
        let parser = rt.spawn_local(
            ParserSupervisor::new(()),
            actor_fn(parser),
            (),
            ActorOptions::default(),
        );
        for text in ["1", "two", "3", "4"] {
            parser.try_send(text).expect("can't send");
        }
        Ok(())
    })?;
    runtime.start()
}

/// Prints log records to standard output.
struct Logger;

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        println!("[{}] {}", record.level(), record.args());
    }

    fn flush(&self) {}
}
