//! 1: Hello, World! on the runtime.
//!
//! A thread-local actor spawned on every worker (here one), greeted once;
//! the runtime stops when the actor has nothing left to do.

use std::convert::Infallible;

use kiln::supervisor::NoSupervisor;
use kiln::{actor, actor_fn};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, ThreadLocal};

fn main() -> Result<(), kiln_rt::Error> {
    let mut runtime = Runtime::setup().build()?;
    runtime.run_on_workers(|mut rt: RuntimeRef| -> Result<(), Infallible> {
        let greeter = rt.spawn_local(
            NoSupervisor,
            actor_fn(greeter),
            "Hello",
            ActorOptions::default(),
        );
        greeter.try_send("World").expect("can't send message");
        // The reference is dropped here, so once the greeter has handled the
        // message it stops, and with it the runtime.
        Ok(())
    })?;
    runtime.start()
}

/// Greets everyone it receives a message about.
async fn greeter(mut ctx: actor::Context<&'static str, ThreadLocal>, greeting: &'static str) {
    while let Ok(name) = ctx.receive_next().await {
        println!("{greeting}, {name}!");
    }
}
