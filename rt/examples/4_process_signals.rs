//! 4: Process signals.
//!
//! Actors receive process signals as messages once registered with
//! `receive_signals`. Here a thread-local actor counts ticks until it gets an
//! exit signal (Ctrl-C is SIGINT), then stops, and with it the runtime: a
//! graceful shutdown. Without a registered actor an exit signal would stop
//! the runtime with an error.

use std::convert::Infallible;

use kiln::supervisor::NoSupervisor;
use kiln::{actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, Signal, ThreadLocal};

/// The actor's messages.
enum Message {
    /// A process signal.
    Signal(Signal),
}

/// Only exit signals are accepted; other signals are rejected (given back).
impl TryFrom<Signal> for Message {
    type Error = Signal;

    fn try_from(signal: Signal) -> Result<Message, Signal> {
        if signal.should_exit() {
            Ok(Message::Signal(signal))
        } else {
            Err(signal)
        }
    }
}

async fn service(mut ctx: actor::Context<Message, ThreadLocal>) {
    // Register for signals: the runtime sends them as `Signal`s, `try_map`
    // converts them into our message type.
    let actor_ref = ctx.actor_ref().try_map();
    ctx.runtime().receive_signals(actor_ref);
    println!("running; press Ctrl-C to stop");

    if let Ok(Message::Signal(signal)) = ctx.receive_next().await {
        println!("got the {signal} signal, shutting down");
    }
    println!("stopped");
}

fn main() -> Result<(), kiln_rt::Error> {
    let mut runtime = Runtime::new()?;
    runtime.run_on_workers(|mut rt: RuntimeRef| -> Result<(), Infallible> {
        rt.spawn_local(NoSupervisor, actor_fn(service), (), ActorOptions::default());
        Ok(())
    })?;
    runtime.start()
}
