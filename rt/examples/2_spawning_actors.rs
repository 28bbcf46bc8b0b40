//! 2: The three kinds of actors.
//!
//! - A **thread-local** actor stays on the worker that spawned it; it need
//!   not be `Send` and is the cheapest kind.
//! - A **thread-safe** actor may run on any worker.
//! - A **synchronous** actor has a thread of its own and may block.
//!
//! Here the thread-local actor asks the thread-safe one for a greeting, which
//! asks the synchronous one for the name. Any actor can send to any other,
//! whatever its kind.

use std::convert::Infallible;
use std::rc::Rc;

use kiln::actor_ref::RpcMessage;
use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn, sync};
use kiln_rt::Spawn;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, SyncActorOptions, ThreadLocal, ThreadSafe};

fn main() -> Result<(), kiln_rt::Error> {
    let mut runtime = Runtime::setup().num_threads(2).build()?;

    // A synchronous actor: a plain function on its own thread.
    let name_giver = runtime.spawn_sync_actor(
        NoSupervisor,
        actor_fn(name_giver),
        (),
        SyncActorOptions::default().with_thread_name("name giver"),
    )?;

    // A thread-safe actor: any worker may run it.
    let greeter = runtime.spawn(
        NoSupervisor,
        actor_fn(greeter),
        name_giver,
        ActorOptions::default(),
    );

    // A thread-local actor on the first worker.
    runtime.run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
        if rt.worker_index() == 0 {
            let greeter = greeter.clone();
            rt.spawn_local(
                NoSupervisor,
                actor_fn(asker),
                greeter,
                ActorOptions::default(),
            );
        }
        Ok(())
    })?;

    runtime.start()
}

/// Thread-local: may hold values that are not `Send`, such as an `Rc`.
async fn asker(_: actor::Context<(), ThreadLocal>, greeter: ActorRef<RpcMessage<(), String>>) {
    let asked = Rc::new("the thread-local actor");
    let greeting = greeter.rpc(()).await.expect("greeter stopped");
    println!("{asked} got: {greeting}");
}

/// Thread-safe: answers with a greeting for the name it gets from the
/// synchronous actor.
async fn greeter(
    mut ctx: actor::Context<RpcMessage<(), String>, ThreadSafe>,
    name_giver: ActorRef<RpcMessage<(), &'static str>>,
) {
    while let Ok(RpcMessage { response, .. }) = ctx.receive_next().await {
        let name = name_giver.rpc(()).await.expect("name giver stopped");
        println!("the thread-safe actor greets {name}");
        let _ = response.respond(format!("Hello, {name}!"));
    }
}

/// Synchronous: blocks its own thread while waiting for messages.
fn name_giver(mut ctx: sync::Context<RpcMessage<(), &'static str>, kiln_rt::access::Sync>) {
    while let Ok(RpcMessage { response, .. }) = ctx.receive_next() {
        println!("the synchronous actor gives a name");
        let _ = response.respond("World");
    }
}
