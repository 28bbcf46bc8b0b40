//! 4: Supervisors restart failed actors.
//!
//! `restart_supervisor!` creates a supervisor that restarts an actor at most
//! N times within a sliding window, then stops it. A restarted actor keeps
//! its inbox: messages queued when it failed go to the new instance.
//! `ActorRef::join` tells how the actor finally ended.

use std::time::Duration;

use kiln::{ActorFuture, actor, actor_fn, restart_supervisor};

// Restart the printer at most twice within five seconds, with a clone of its
// argument (the prefix).
restart_supervisor!(PrinterSupervisor, &'static str, 2, Duration::from_secs(5));

enum Message {
    Print(&'static str),
    Fail(&'static str),
}

async fn printer(mut ctx: actor::Context<Message>, prefix: &'static str) -> Result<(), String> {
    println!("{prefix}: started");
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            Message::Print(text) => println!("{prefix}: {text}"),
            Message::Fail(reason) => return Err(reason.to_owned()),
        }
    }
    Ok(())
}

fn main() {
    // Print the supervisor's log messages.
    log::set_logger(&Logger).expect("can't set logger");
    log::set_max_level(log::LevelFilter::Warn);

    let supervisor = PrinterSupervisor::new("printer");
    let (future, actor_ref) = ActorFuture::new(supervisor, actor_fn(printer), "printer");

    // All of these wait in the inbox before the actor first runs; the ones
    // after a failure are handled by the restarted actor.
    for msg in [
        Message::Print("one"),
        Message::Fail("first failure"),
        Message::Print("two"),
        Message::Fail("second failure"),
        Message::Print("three"),
        Message::Fail("third failure"),
        Message::Print("never printed"),
    ] {
        actor_ref
            .try_send(msg)
            .unwrap_or_else(|_| panic!("can't send message"));
    }

    kiln::sync::block_on(future);
    let exit = kiln::sync::block_on(actor_ref.join());
    println!("the printer {exit}");
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
